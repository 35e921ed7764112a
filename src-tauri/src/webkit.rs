//! WebKitGTK keeps its network process running after the last webview is gone: Tauri keeps
//! the web context for the life of the app on Linux (tauri#14626, so windows built again
//! share one network process instead of leaking one each), and WebKit never ends that
//! process by itself. For an app that spends its day in the tray that is tens of MiB for
//! nothing, so once the window is freed Bookline ends it; WebKit starts a new one for the
//! next window, as it does after a network process crash. The window keeps nothing in
//! web storage (cookies, localStorage), so nothing is lost with it.

use std::path::Path;

/// How WebKit's network process shows in `/proc/PID/comm` (15 characters at most).
const NETWORK_PROCESS_COMM: &str = "WebKitNetworkPr";

/// Whether a process name (`/proc/PID/comm`) is WebKit's network process.
pub fn is_network_process(comm: &str) -> bool {
    comm.trim_end() == NETWORK_PROCESS_COMM
}

/// The pids in a `/proc/PID/task/TID/children` file.
pub fn parse_children(text: &str) -> Vec<u32> {
    text.split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

/// This process's descendants (WebKit may start its helpers inside a bubblewrap sandbox,
/// one level down).
fn descendants(proc_root: &Path, pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        let Ok(tasks) = std::fs::read_dir(proc_root.join(parent.to_string()).join("task")) else {
            continue;
        };
        for task in tasks.filter_map(Result::ok) {
            let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in parse_children(&text) {
                found.push(child);
                parents.push(child);
            }
        }
    }
    found
}

/// Ends the WebKit network processes this process started. Call it only while no webview
/// exists (on the main thread, where windows are built, so none appears meanwhile).
pub fn end_network_processes() {
    let proc_root = Path::new("/proc");
    for pid in descendants(proc_root, std::process::id()) {
        let comm = std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
            .unwrap_or_default();
        if !is_network_process(&comm) {
            continue;
        }
        // kill(1) rather than libc: the workspace forbids unsafe code. Its output goes
        // nowhere: it must not hold the app's stdout or stderr (a caller's pipe).
        match std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Ok(status) if status.success() => {
                tracing::info!(pid, "ended WebKit's idle network process");
            }
            Ok(status) => tracing::warn!(pid, "kill of WebKit's network process: {status}"),
            Err(e) => tracing::warn!(pid, "kill of WebKit's network process: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_process_is_found_by_its_short_name() {
        assert!(is_network_process("WebKitNetworkPr\n"));
        assert!(!is_network_process("WebKitWebProces\n"));
        assert!(!is_network_process("bookline\n"));
    }

    #[test]
    fn children_files_list_pids() {
        assert_eq!(parse_children("1234 5678 \n"), [1234, 5678]);
        assert!(parse_children("").is_empty());
    }

    #[test]
    fn descendants_are_read_through_the_sandbox_level() {
        let root = tempfile::tempdir().expect("temp dir");
        let write = |pid: u32, children: &str| {
            let task = root.path().join(format!("{pid}/task/{pid}"));
            std::fs::create_dir_all(&task).expect("task dir");
            std::fs::write(task.join("children"), children).expect("children file");
        };
        write(10, "11 12 ");
        write(11, "");
        write(12, "13 ");
        write(13, "");
        let mut found = descendants(root.path(), 10);
        found.sort_unstable();
        assert_eq!(found, [11, 12, 13]);
    }
}
