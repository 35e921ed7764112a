//! One Bookline window per data dir, on every OS: an OS file lock on `instance.lock` in
//! the data dir, held for the window process's whole life.
//!
//! Tauri's single-instance plugin finds a running app by a D-Bus name on Linux (which we
//! derive from the data dir), but by the bundle identifier on Windows (a named mutex) and
//! macOS (a socket in /tmp) — there the demo and the real app, or two test data dirs,
//! would take each other for the running instance. The rule itself is ours: this lock
//! decides, and the plugin is only how a second start hands over to the first where its
//! key is the data dir (see `hand_over_possible`).
//!
//! Like `sync.lock` (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::try_lock`): the OS drops the lock when the process ends, also on a crash, so a
//! dead window never blocks the next start. `instance.owner` beside it says who holds it,
//! for the message; a hint only (on Windows a locked file cannot even be read).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::platform::Os;

/// The lock file in the data dir.
pub const LOCK_FILE: &str = "instance.lock";
/// Who holds it ("pid 1234"), for the second start's message.
pub const OWNER_FILE: &str = "instance.owner";

/// Held by the running window; dropping it (or the process ending) frees the data dir.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    /// Another Bookline window runs with this data dir.
    #[error("Bookline is already running with the data folder {} ({owner}); use that window (it is in the {tray}), or quit it first.", .data_dir.display())]
    Held {
        data_dir: PathBuf,
        owner: String,
        tray: &'static str,
    },
    #[error("Bookline could not lock its data folder {}: {source}", .data_dir.display())]
    Io {
        data_dir: PathBuf,
        source: std::io::Error,
    },
}

impl InstanceLock {
    /// Takes the data dir for this process (creating the dir if needed), or says who has
    /// it. Never waits: a second window start is answered at once.
    pub fn acquire(data_dir: &Path) -> Result<Self, InstanceLockError> {
        let io = |source| InstanceLockError::Io {
            data_dir: data_dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let owner = std::fs::read_to_string(data_dir.join(OWNER_FILE))
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "another process".to_owned());
                return Err(InstanceLockError::Held {
                    data_dir: data_dir.to_path_buf(),
                    owner,
                    tray: crate::platform::tray_word(Os::current()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Only a hint: failing to write it changes nothing about the lock.
        let owner = format!("pid {}", std::process::id());
        if let Err(e) = std::fs::write(data_dir.join(OWNER_FILE), owner) {
            tracing::debug!("could not write {OWNER_FILE}: {e}");
        }
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a second start can hand over to the running window (show it, then exit)
/// through the single-instance plugin: only where the plugin's key is the data dir —
/// always on Linux (its D-Bus name is derived from the data dir), and on Windows and macOS
/// only for the default data dir, the one instance the bundle identifier stands for.
/// Elsewhere the plugin is not used and a second start ends with `InstanceLockError::Held`.
pub fn hand_over_possible(os: Os, data_dir: &Path, default_data_dir: Option<&Path>) -> bool {
    match os {
        Os::Linux => true,
        Os::Windows | Os::MacOs => default_data_dir == Some(data_dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_window_on_the_same_data_dir_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("bookline");
        let first = InstanceLock::acquire(&data_dir).expect("the first start");
        // A second open of the lock file stands for a second process: the OS lock is per
        // open file, so it conflicts within one process too.
        let err = InstanceLock::acquire(&data_dir).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, InstanceLockError::Held { .. }), "{err:?}");
        assert!(
            message.contains(&format!("(pid {})", std::process::id())),
            "{message}"
        );
        // Another data dir (the demo beside the real app) is its own instance.
        let other = InstanceLock::acquire(&dir.path().join("demo")).expect("another dir");
        drop(first);
        InstanceLock::acquire(&data_dir).expect("free once the first window is gone");
        drop(other);
    }

    #[test]
    fn the_plugin_hands_over_only_where_its_key_is_the_data_dir() {
        let default = Path::new("/home/ann/.local/share/bookline");
        let demo = Path::new("/home/ann/.local/share/bookline/demo");
        assert!(hand_over_possible(Os::Linux, demo, Some(default)));
        assert!(hand_over_possible(Os::Linux, default, Some(default)));
        for os in [Os::Windows, Os::MacOs] {
            assert!(hand_over_possible(os, default, Some(default)));
            assert!(!hand_over_possible(os, demo, Some(default)));
            assert!(!hand_over_possible(os, default, None));
        }
    }
}
