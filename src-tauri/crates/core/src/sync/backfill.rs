//! Backfill ("Synchronize Google Calendar"): the one-off transfer of old, unlinked items
//! in the direction the user picks, as a resumable job.

use rusqlite::{params, Connection};

use crate::store::{Result, Store};

/// Marks one item of a job (`done`, `failed`, `skipped`), in the caller's transaction.
pub(crate) fn mark_item(
    store: &Store,
    conn: &Connection,
    job: i64,
    seq: i64,
    state: &str,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE backfill_items SET state = ?3, error = ?4, attempts = attempts + 1 \
         WHERE job_id = ?1 AND seq = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![job, seq, state, error]))
    .map_err(|e| store.error("record the transfer's progress", e))?;
    Ok(())
}
