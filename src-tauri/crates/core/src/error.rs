//! The error shape the UI and the CLI see: a `code` the UI can act on and a sentence
//! for the user. Each layer keeps its own typed error (store, Google, OAuth, secrets,
//! sync) and converts into `AppError` at the boundary.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Only codes the UI (or a script using `--json`) acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// The user's input is wrong; the message says which field and why.
    Validation,
    NotFound,
    /// Local storage failed (disk full, database locked, corrupt file).
    Storage,
    /// No Google account is connected.
    NotConnected,
    /// Google refused the grant (revoked, expired): the user must reconnect.
    NeedsReconnect,
    /// The OS keyring (Secret Service, Keychain, Credential Manager) is unavailable.
    Keyring,
    /// Google or the network failed; retrying later may help.
    Network,
    /// The user cancelled, or a wait timed out.
    Cancelled,
    /// Another pass or transfer holds this data dir's sync lock (another Bookline process,
    /// e.g. the tray app while `bookline sync` runs); trying again later works.
    Busy,
    /// OAuth client id/secret missing or rejected.
    Configuration,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
