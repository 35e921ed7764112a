//! The store's error: what went wrong, in a sentence a salesperson understands, with the
//! technical cause kept as `source` for the log.

use rusqlite::ErrorCode as SqliteCode;

use crate::error::{AppError, ErrorCode};
use crate::validation::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input is wrong; `field` names it in the user's words, `message` says why.
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    #[error("That appointment no longer exists (it may have been deleted).")]
    NotFound { id: String },
    #[error("The disk is full, so Bookline could not save. Free some space and try again.")]
    DiskFull { source: rusqlite::Error },
    #[error("The Bookline database is busy in another window or process. Try again in a moment.")]
    Busy { source: rusqlite::Error },
    #[error("The Bookline database file is damaged or is not a Bookline database ({path}).")]
    Corrupt {
        path: String,
        source: rusqlite::Error,
    },
    #[error("The Bookline database is read-only; check the permissions of {path}.")]
    ReadOnly {
        path: String,
        source: rusqlite::Error,
    },
    #[error("This database was written by a newer Bookline (schema {found}, this version knows up to {known}). Update Bookline.")]
    NewerSchema { found: usize, known: usize },
    #[error("Bookline could not create its data folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("Bookline could not update its database to the new version: {source}")]
    Migration { source: rusqlite_migration::Error },
    #[error("The saved setting \"{key}\" could not be read or written: {source}")]
    Setting {
        key: String,
        source: serde_json::Error,
    },
    #[error("Bookline could not {action}: {source}")]
    Sqlite {
        action: &'static str,
        source: rusqlite::Error,
    },
    /// A stored row that this version cannot interpret (e.g. a status written by a
    /// future version, or a hand-edited file).
    #[error("A stored appointment could not be read: {0}")]
    BadRow(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<ValidationError> for StoreError {
    fn from(err: ValidationError) -> Self {
        StoreError::Validation {
            field: err.field,
            message: err.message,
        }
    }
}

impl StoreError {
    /// Classifies a SQLite error raised while doing `action` (a phrase: "save the
    /// appointment") so disk-full and lock errors read as what they are.
    pub(crate) fn sqlite(
        action: &'static str,
        path: &std::path::Path,
        err: rusqlite::Error,
    ) -> Self {
        let code = err.sqlite_error_code();
        match code {
            Some(SqliteCode::DiskFull) => StoreError::DiskFull { source: err },
            Some(SqliteCode::DatabaseBusy | SqliteCode::DatabaseLocked) => {
                StoreError::Busy { source: err }
            }
            Some(SqliteCode::DatabaseCorrupt | SqliteCode::NotADatabase) => StoreError::Corrupt {
                path: path.display().to_string(),
                source: err,
            },
            Some(SqliteCode::ReadOnly) => StoreError::ReadOnly {
                path: path.display().to_string(),
                source: err,
            },
            _ => StoreError::Sqlite {
                action,
                source: err,
            },
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::Validation { .. } => ErrorCode::Validation,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::BadRow(_) => ErrorCode::Internal,
            _ => ErrorCode::Storage,
        };
        AppError::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite_error(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn disk_full_and_locks_read_as_sentences() {
        let path = std::path::Path::new("/data/bookline.sqlite3");
        let full = StoreError::sqlite("save the appointment", path, sqlite_error(ffi::SQLITE_FULL));
        assert!(matches!(full, StoreError::DiskFull { .. }));
        assert!(full.to_string().contains("disk is full"), "{full}");
        for code in [ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED] {
            let busy = StoreError::sqlite("save the appointment", path, sqlite_error(code));
            assert!(matches!(busy, StoreError::Busy { .. }));
            assert!(busy.to_string().contains("busy"), "{busy}");
        }
        let ro = StoreError::sqlite(
            "save the appointment",
            path,
            sqlite_error(ffi::SQLITE_READONLY),
        );
        assert!(ro.to_string().contains("/data/bookline.sqlite3"), "{ro}");
        let other = StoreError::sqlite(
            "save the appointment",
            path,
            sqlite_error(ffi::SQLITE_IOERR),
        );
        assert!(
            other
                .to_string()
                .starts_with("Bookline could not save the appointment"),
            "{other}"
        );
        let app = AppError::from(full);
        assert_eq!(app.code, ErrorCode::Storage);
    }
}
