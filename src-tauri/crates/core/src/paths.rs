//! Where Bookline keeps its files. One data directory holds the SQLite database and the
//! logs; tests and the demo point it elsewhere with `--data-dir` / `BOOKLINE_DATA_DIR`.

use std::path::{Path, PathBuf};

use crate::platform::Os;

/// Environment variable that overrides the data directory (spec §5).
pub const DATA_DIR_ENV: &str = "BOOKLINE_DATA_DIR";
/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "bookline.sqlite3";
/// The data directory's name inside the OS's per-user data folder.
const APP_DIR: &str = "bookline";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathsError {
    #[error("Bookline could not find a data folder for this user; set BOOKLINE_DATA_DIR or pass --data-dir.")]
    NoDataDir,
}

impl From<PathsError> for crate::error::AppError {
    fn from(err: PathsError) -> Self {
        crate::error::AppError::new(crate::error::ErrorCode::Configuration, err.to_string())
    }
}

/// The data directory: an explicit override (the `--data-dir` flag) wins, then the
/// `BOOKLINE_DATA_DIR` environment variable, then the OS's default ([`default_data_dir`]).
/// Empty values count as unset. On Windows, data an older Bookline kept in the roaming
/// AppData is moved to the local one the first time ([`move_data_dir`]). The directory is
/// not created here; `Store::open` creates what it needs.
pub fn data_dir(override_dir: Option<PathBuf>) -> Result<PathBuf, PathsError> {
    if let Some(dir) = override_dir.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let os_dirs = OsDirs::current();
    let dir = default_data_dir(Os::current(), &os_dirs).ok_or(PathsError::NoDataDir)?;
    Ok(match former_data_dir(Os::current(), &os_dirs) {
        Some(former) => settle_data_dir(&former, dir),
        None => dir,
    })
}

/// The OS's per-user folders, as the `dirs` crate finds them; a parameter so the choice
/// is tested for every OS.
#[derive(Debug, Clone, Default)]
pub struct OsDirs {
    /// `~/.local/share`, `~/Library/Application Support`, `%APPDATA%` (roaming).
    pub data: Option<PathBuf>,
    /// The same on Linux and macOS; `%LOCALAPPDATA%` on Windows.
    pub data_local: Option<PathBuf>,
}

impl OsDirs {
    /// This user's folders on this OS.
    pub fn current() -> Self {
        Self {
            data: dirs::data_dir(),
            data_local: dirs::data_local_dir(),
        }
    }
}

/// This OS's default data dir for this user, whatever overrides are set.
pub fn os_default_data_dir() -> Option<PathBuf> {
    default_data_dir(Os::current(), &OsDirs::current())
}

/// Where Bookline keeps its data by default: `bookline` in `~/.local/share` on Linux, in
/// `~/Library/Application Support` on macOS, and in the *local* AppData on Windows.
/// Not the roaming one: Windows copies a roaming profile to a server at logoff (or keeps
/// it on a network share with folder redirection), and SQLite in WAL mode needs a local
/// disk — shared-memory locking on a network file system corrupts databases.
pub fn default_data_dir(os: Os, dirs: &OsDirs) -> Option<PathBuf> {
    let base = match os {
        Os::Windows => dirs.data_local.as_ref(),
        Os::Linux | Os::MacOs => dirs.data.as_ref(),
    };
    base.map(|d| d.join(APP_DIR))
}

/// Where an older Bookline kept its data by default, when that differs from today's
/// place: the roaming AppData on Windows.
pub fn former_data_dir(os: Os, dirs: &OsDirs) -> Option<PathBuf> {
    let former = match os {
        Os::Windows => dirs.data.as_ref()?.join(APP_DIR),
        Os::Linux | Os::MacOs => return None,
    };
    (Some(&former) != default_data_dir(os, dirs).as_ref()).then_some(former)
}

/// The data dir to use given a former place: moves the former data over when there is
/// some; if that fails, goes on with the former dir (the user's data is there; the move
/// is tried again at the next start) rather than with an empty new one.
fn settle_data_dir(former: &Path, dir: PathBuf) -> PathBuf {
    match move_data_dir(former, &dir) {
        Ok(DataDirMove::Moved) => {
            tracing::info!(
                "moved the data dir {} to {}",
                former.display(),
                dir.display()
            );
            dir
        }
        Ok(DataDirMove::NothingToMove | DataDirMove::AlreadyThere) => dir,
        Err(e) => {
            tracing::warn!(
                "could not move the data dir {} to {}: {e}; using it where it is",
                former.display(),
                dir.display()
            );
            former.to_path_buf()
        }
    }
}

/// What [`move_data_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirMove {
    /// The former dir had Bookline data; it is now in the new dir.
    Moved,
    /// No former dir, or one without a database.
    NothingToMove,
    /// The new dir already has a database: it wins, the former dir is left alone.
    AlreadyThere,
}

/// Moves a former data dir's contents into `to`, once: only when `from` holds a database
/// and `to` does not (so a second start, or data created in the new place since, is never
/// overwritten). Entry by entry, so a move interrupted halfway finishes at the next start;
/// a rename where possible (same disk: instant, and the database, its WAL and its shared
/// memory file go over untouched), else a copy and then the removal of the original.
pub fn move_data_dir(from: &Path, to: &Path) -> std::io::Result<DataDirMove> {
    if !database_path(from).is_file() {
        return Ok(DataDirMove::NothingToMove);
    }
    if database_path(to).exists() {
        return Ok(DataDirMove::AlreadyThere);
    }
    std::fs::create_dir_all(to)?;
    // The database last: until it arrives, a restart sees the move as not done yet.
    let mut entries = std::fs::read_dir(from)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name() == DATABASE_FILE);
    for entry in entries {
        let target = to.join(entry.file_name());
        if target.exists() {
            // Written in the new place already (the log of a start before the move).
            continue;
        }
        move_entry(&entry.path(), &target)?;
    }
    // Only empty now if everything went over; otherwise it keeps what stayed behind.
    let _ = std::fs::remove_dir(from);
    Ok(DataDirMove::Moved)
}

fn move_entry(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    // Another volume (a redirected AppData on a network share): copy, then remove.
    copy_tree(from, to)?;
    if from.is_dir() {
        std::fs::remove_dir_all(from)
    } else {
        std::fs::remove_file(from)
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE_FILE)
}

pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os_dirs(root: &Path) -> OsDirs {
        OsDirs {
            data: Some(root.join("AppData/Roaming")),
            data_local: Some(root.join("AppData/Local")),
        }
    }

    #[test]
    fn windows_keeps_data_in_the_local_appdata_and_remembers_the_roaming_one() {
        let root = Path::new("C:/Users/ann");
        let dirs = os_dirs(root);
        assert_eq!(
            default_data_dir(Os::Windows, &dirs),
            Some(root.join("AppData/Local/bookline"))
        );
        assert_eq!(
            former_data_dir(Os::Windows, &dirs),
            Some(root.join("AppData/Roaming/bookline"))
        );
        // Linux and macOS: one data folder, nothing to move.
        let same = OsDirs {
            data: Some(root.join("share")),
            data_local: Some(root.join("share")),
        };
        for os in [Os::Linux, Os::MacOs] {
            assert_eq!(
                default_data_dir(os, &same),
                Some(root.join("share/bookline"))
            );
            assert_eq!(
                default_data_dir(os, &dirs),
                Some(root.join("AppData/Roaming/bookline"))
            );
            assert_eq!(former_data_dir(os, &dirs), None);
        }
        assert_eq!(default_data_dir(Os::Windows, &OsDirs::default()), None);
    }

    #[test]
    fn roaming_data_moves_to_the_local_dir_once_and_never_over_newer_data() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = os_dirs(tmp.path());
        let from = former_data_dir(Os::Windows, &dirs).unwrap();
        let to = default_data_dir(Os::Windows, &dirs).unwrap();
        assert_eq!(
            move_data_dir(&from, &to).unwrap(),
            DataDirMove::NothingToMove
        );

        std::fs::create_dir_all(from.join("logs")).unwrap();
        std::fs::write(database_path(&from), "db").unwrap();
        std::fs::write(from.join("bookline.sqlite3-wal"), "wal").unwrap();
        std::fs::write(from.join("logs/bookline.log"), "old log").unwrap();
        // A start before the move already wrote a log in the new place: it stays.
        std::fs::create_dir_all(to.join("logs")).unwrap();
        std::fs::write(to.join("logs/bookline.log"), "new log").unwrap();

        assert_eq!(settle_data_dir(&from, to.clone()), to);
        assert_eq!(std::fs::read_to_string(database_path(&to)).unwrap(), "db");
        assert_eq!(
            std::fs::read_to_string(to.join("bookline.sqlite3-wal")).unwrap(),
            "wal"
        );
        assert_eq!(
            std::fs::read_to_string(to.join("logs/bookline.log")).unwrap(),
            "new log"
        );
        assert!(!database_path(&from).exists());

        // Once moved, a second start finds the data in place; roaming data that shows up
        // again (a profile sync) never overwrites it.
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(database_path(&from), "stale").unwrap();
        assert_eq!(
            move_data_dir(&from, &to).unwrap(),
            DataDirMove::AlreadyThere
        );
        assert_eq!(std::fs::read_to_string(database_path(&to)).unwrap(), "db");
    }

    #[test]
    fn a_failed_move_keeps_using_the_former_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("roaming/bookline");
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(database_path(&from), "db").unwrap();
        // The new place cannot be a directory: a file is in the way.
        let blocked = tmp.path().join("local");
        std::fs::write(&blocked, "not a dir").unwrap();
        let to = blocked.join("bookline");
        assert_eq!(settle_data_dir(&from, to), from);
        assert_eq!(std::fs::read_to_string(database_path(&from)).unwrap(), "db");
    }

    #[test]
    fn explicit_override_wins_and_files_live_inside() {
        let dir = data_dir(Some(PathBuf::from("/tmp/custom"))).unwrap();
        assert_eq!(dir, PathBuf::from("/tmp/custom"));
        assert_eq!(
            database_path(&dir),
            PathBuf::from("/tmp/custom/bookline.sqlite3")
        );
        assert_eq!(log_dir(&dir), PathBuf::from("/tmp/custom/logs"));
    }

    #[test]
    fn without_override_a_directory_named_bookline_or_the_env_is_used() {
        // The environment is process-wide, so this test only reads it.
        let dir = data_dir(None).unwrap();
        match std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            Some(env) => assert_eq!(dir, PathBuf::from(env)),
            None => assert!(dir.ends_with("bookline"), "{}", dir.display()),
        }
        assert_eq!(data_dir(Some(PathBuf::new())).unwrap(), dir);
    }
}
