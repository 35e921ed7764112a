//! Where Bookline keeps its files. One data directory holds the SQLite database and the
//! logs; tests and the demo point it elsewhere with `--data-dir` / `BOOKLINE_DATA_DIR`.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory (spec §5).
pub const DATA_DIR_ENV: &str = "BOOKLINE_DATA_DIR";
/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "bookline.sqlite3";

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
/// `BOOKLINE_DATA_DIR` environment variable, then the OS data directory + `bookline`
/// (`~/.local/share/bookline` on Linux, `~/Library/Application Support/bookline` on macOS,
/// `%APPDATA%\bookline` on Windows). Empty values count as unset. The directory is not
/// created here; `Store::open` creates what it needs.
pub fn data_dir(override_dir: Option<PathBuf>) -> Result<PathBuf, PathsError> {
    if let Some(dir) = override_dir.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("bookline"))
        .ok_or(PathsError::NoDataDir)
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
