//! An experiment of issue 19, off unless `BOOKLINE_RESTART_IN_TRAY=1`: once the window is
//! freed (and no transfer runs), Bookline starts itself afresh in the tray — `exec` of its
//! own binary, same process id, `--minimized` — after the clean shutdown of sync.
//!
//! Why: freeing the window gives back the webview and WebKit's processes, but not what the
//! first webview loaded into this process for good. WebKitGTK opens an EGL display for the
//! life of the process (a `pthread_once` singleton in the UI process), which loads Mesa's
//! driver and, with it, LLVM; their pages, and the pages of WebKit's and JavaScriptCore's
//! libraries the window touched, stay mapped until the process ends. Measured (release,
//! Xvfb, scripts/tray-bench.sh): 85 MiB for a tray that never had a window, against about
//! 186 MiB once it had one — 43 MiB of it libLLVM alone. Only a new process image gives
//! that back.
//!
//! What it costs, and why it is not the default: the tray icon goes and comes back (a new
//! StatusNotifierItem), a pass in flight is cancelled by the clean shutdown (safe: each
//! write is its own transaction, the outbox keeps the rest) and the new image runs one
//! pass at start, a notification's click that arrives during the restart is lost. A
//! window asked for while the restart is under way is opened by the new image.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::gui::{AppState, MINIMIZED_ARG};

/// Set to `1`: restart in the tray once the window is freed.
pub const RESTART_IN_TRAY_ENV: &str = "BOOKLINE_RESTART_IN_TRAY";

/// Set while this process is stopping to restart: a window asked for meanwhile is left to
/// the new image (`WINDOW_WANTED`).
static RESTARTING: AtomicBool = AtomicBool::new(false);
static WINDOW_WANTED: AtomicBool = AtomicBool::new(false);

/// Whether the environment turns the restart on.
pub fn enabled(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| v == "1")
}

/// The new image's arguments: this start's own, with `--minimized` unless a window was
/// asked for during the restart (then the new image opens it, as a plain start does).
pub fn restart_args(args: &[OsString], window_wanted: bool) -> Vec<OsString> {
    let mut out: Vec<OsString> = args
        .iter()
        .filter(|a| a.as_os_str() != MINIMIZED_ARG)
        .cloned()
        .collect();
    if !window_wanted {
        out.push(MINIMIZED_ARG.into());
    }
    out
}

/// Called by `show_main_window`: true when the restart is under way and the window is
/// left to the new image.
pub fn defer_window() -> bool {
    if RESTARTING.load(Ordering::SeqCst) {
        WINDOW_WANTED.store(true, Ordering::SeqCst);
        tracing::info!("the window will open after the restart in the tray");
        return true;
    }
    false
}

/// Once no window exists (the window was freed, or a transfer ended while it was closed):
/// restarts in the tray when turned on and nothing would be interrupted but the sync loop.
pub fn after_window_freed(app: &AppHandle) {
    if !enabled(std::env::var_os(RESTART_IN_TRAY_ENV).as_deref()) {
        return;
    }
    let state = app.state::<AppState>();
    if state.app().transfer_running() {
        tracing::info!("no restart in the tray: a transfer runs");
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) if exe.exists() => exe,
        other => {
            tracing::warn!("no restart in the tray: this binary is not found ({other:?})");
            return;
        }
    };
    if RESTARTING.swap(true, Ordering::SeqCst) {
        return;
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tracing::info!("restarting in the tray (the window's libraries stay mapped otherwise)");
        app.state::<AppState>().stop().await;
        // The log's writer thread gets its last lines out before the image is replaced.
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A window built meanwhile (asked for just before the restart began) is built
        // again by the new image.
        let window_wanted =
            WINDOW_WANTED.load(Ordering::SeqCst) || !app.webview_windows().is_empty();
        let args = restart_args(&args, window_wanted);
        exec(&exe, &args, &app);
    });
}

#[cfg(unix)]
fn exec(exe: &std::path::Path, args: &[OsString], app: &AppHandle) {
    use std::os::unix::process::CommandExt as _;
    // Returns only on failure. Sync is stopped by then: quit rather than stay in the tray
    // without syncing.
    let err = std::process::Command::new(exe).args(args).exec();
    tracing::error!("the restart in the tray failed: {err}; quitting");
    app.exit(1);
}

#[cfg(not(unix))]
fn exec(_exe: &std::path::Path, _args: &[OsString], app: &AppHandle) {
    tracing::error!("no restart in the tray on this OS; quitting");
    app.exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_new_image_starts_in_the_tray_with_the_same_arguments() {
        assert_eq!(
            restart_args(&args(&["--data-dir", "/d"]), false),
            args(&["--data-dir", "/d", "--minimized"])
        );
        // Started at login already: `--minimized` once.
        assert_eq!(
            restart_args(&args(&["--minimized", "--data-dir", "/d"]), false),
            args(&["--data-dir", "/d", "--minimized"])
        );
    }

    #[test]
    fn a_window_asked_for_during_the_restart_opens_in_the_new_image() {
        assert_eq!(
            restart_args(&args(&["--minimized", "--data-dir", "/d"]), true),
            args(&["--data-dir", "/d"])
        );
    }

    #[test]
    fn only_1_turns_it_on() {
        use std::ffi::OsStr;
        assert!(enabled(Some(OsStr::new("1"))));
        assert!(!enabled(Some(OsStr::new("0"))));
        assert!(!enabled(None));
    }
}
