//! Why a pass (or a transfer) stops before its end, for the engine and the Google
//! writer alike (a module of its own, so the writer does not depend on the engine).

use crate::error::{AppError, ErrorCode};
use crate::google::GoogleError;
use crate::store::StoreError;

/// Why a pass stopped before its end. Item-level failures are not errors of the pass:
/// they are in `SyncReport::errors`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading Google failed even after retries; nothing was decided from the partial read.
    #[error("Bookline could not read your Google calendar: {0}")]
    Google(GoogleError),
    /// The grant is gone (needs reconnect), or the keyring is unavailable: nothing more
    /// is written until the user fixes it. Nothing is lost: the outbox keeps the work.
    #[error("{}", .0.message)]
    Account(AppError),
    #[error("Sync was cancelled.")]
    Cancelled,
}

impl SyncError {
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, SyncError::Account(app) if app.code == ErrorCode::NeedsReconnect)
    }
}

impl From<SyncError> for AppError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Store(e) => e.into(),
            SyncError::Google(e) => {
                let app = AppError::from(e);
                AppError::new(
                    app.code,
                    format!(
                        "Bookline could not read your Google calendar: {}",
                        app.message
                    ),
                )
            }
            SyncError::Account(app) => app,
            SyncError::Cancelled => AppError::new(ErrorCode::Cancelled, "Sync was cancelled."),
        }
    }
}
