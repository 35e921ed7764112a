//! What the window shows in its header: whether a Google account is connected. Lives in
//! the shell because it combines core state (account) with shell state (demo mode).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppStatus {
    /// A Google account is connected (always false until the Connect issue lands).
    pub connected: bool,
    /// The connected account's address.
    pub email: Option<String>,
    /// The app runs against the built-in Google emulator with sample data.
    pub demo: bool,
}
