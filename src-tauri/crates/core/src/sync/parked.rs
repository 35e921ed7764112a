//! Google events Bookline cannot store ("parked"). Stub: filled in by the fix.

use serde::{Deserialize, Serialize};

use crate::store::{Result, Store};

/// One parked Google event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedItem {
    pub calendar_id: String,
    pub event_id: String,
    pub title: String,
    pub reason: String,
    pub since: String,
}

/// Every parked event.
pub fn list(_store: &Store) -> Result<Vec<ParkedItem>> {
    Ok(Vec::new())
}
