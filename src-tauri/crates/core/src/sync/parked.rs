//! Parked Google events: what Google holds and Bookline truly cannot store.
//!
//! Spec §3: an item that can't be stored must not stop the others or pin the sync
//! token (before this, one such event failed every pass and `bookline sync` exited 1 for
//! good). The pull parks it instead: a row here, with its reason, shown in the window and
//! in `status --json`, logged once in the activity log, while the pass succeeds and the
//! token moves on. It is tried again when Google sends a new version of the event (its
//! etag changes); reading the same version again (a full relist) does not log it again.
//!
//! "Truly can't be stored" is narrow: Bookline's typing limits do not apply to what
//! Google holds (see `validation`), so what is left is an event whose times cannot be
//! mapped (no start, an all-day start with a timed end, an end before the start) and what
//! the store refuses to protect the database (e.g. a recurrence over its bounds).
//!
//! This module owns the `parked` table (migration 10).

use std::collections::HashMap;

use chrono::Utc;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Result, Store};
use crate::sync::links::time_str;

/// One parked Google event, as the window and `status --json` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ParkedItem {
    pub calendar_id: String,
    pub event_id: String,
    /// The event's title in Google ("(no title)" when it has none).
    pub title: String,
    /// Why Bookline could not store it, in a sentence.
    pub reason: String,
    /// RFC 3339: when it was parked (as Google holds it now: a new version that still
    /// cannot be stored is parked anew).
    pub since: String,
}

/// Every parked event, oldest first.
pub fn list(store: &Store) -> Result<Vec<ParkedItem>> {
    store.read(|conn| {
        let fail = |e| store.error("read the events set aside", e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT calendar_id, event_id, title, reason, since FROM parked \
                 ORDER BY since, event_id",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ParkedItem {
                    calendar_id: r.get(0)?,
                    event_id: r.get(1)?,
                    title: r.get(2)?,
                    reason: r.get(3)?,
                    since: r.get(4)?,
                })
            })
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        Ok(rows)
    })
}

/// Whether a calendar has parked events (most passes: no, and then nothing else here
/// needs to run).
pub(crate) fn any(store: &Store, conn: &Connection, calendar_id: &str) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM parked WHERE calendar_id = ?1)")
        .and_then(|mut stmt| stmt.query_row([calendar_id], |r| r.get(0)))
        .map_err(|e| store.error("read the events set aside", e))
}

/// Parks `event_id` at `version` (its etag). Returns whether this is news — the event
/// was not parked, or was parked at another version — which is when the caller logs it;
/// the same version again changes nothing (and keeps `since`); another is parked anew.
pub(crate) fn park(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    event_id: &str,
    title: &str,
    reason: &str,
    version: Option<&str>,
) -> Result<bool> {
    let fail = |e| store.error("set aside an event Bookline cannot store", e);
    let known: Option<Option<String>> = conn
        .prepare_cached("SELECT version FROM parked WHERE calendar_id = ?1 AND event_id = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![calendar_id, event_id], |r| r.get(0))
                .optional()
        })
        .map_err(fail)?;
    // Without an etag there is no telling versions apart: every read is news.
    if matches!(&known, Some(Some(v)) if Some(v.as_str()) == version) {
        // The same version, set aside for another reason now (an occurrence that waited
        // for its series and is refused on its own once the series lands): that is news.
        let changed = conn
            .prepare_cached(
                "UPDATE parked SET title = ?3, reason = ?4 \
                 WHERE calendar_id = ?1 AND event_id = ?2 AND reason <> ?4",
            )
            .and_then(|mut stmt| stmt.execute(params![calendar_id, event_id, title, reason]))
            .map_err(fail)?;
        return Ok(changed > 0);
    }
    conn.prepare_cached(
        "INSERT INTO parked (calendar_id, event_id, title, reason, version, since) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (calendar_id, event_id) DO UPDATE SET title = excluded.title, \
         reason = excluded.reason, version = excluded.version, since = excluded.since",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            calendar_id,
            event_id,
            title,
            reason,
            version,
            time_str(Utc::now())
        ])
    })
    .map_err(fail)?;
    Ok(true)
}

/// Forgets the parked events of `listed` (event id, etag as read now) whose version
/// changed: Google sent a new version, so it is tried again as news (parked again, and
/// logged again, if it still cannot be stored).
pub(crate) fn forget_changed<'a>(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    listed: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<()> {
    // Few rows here, many events in a listing: compare in memory, delete what changed.
    let known = versions(store, conn, calendar_id)?;
    for (event_id, version) in listed {
        match known.get(event_id) {
            // Same etag: the same version read again. No etag: no telling, try again.
            Some(Some(v)) if Some(v.as_str()) == version => {}
            Some(_) => forget(store, conn, calendar_id, event_id)?,
            None => {}
        }
    }
    Ok(())
}

/// The parked events of a calendar (event id → the version it was parked at).
pub(crate) fn versions(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
) -> Result<HashMap<String, Option<String>>> {
    conn.prepare_cached("SELECT event_id, version FROM parked WHERE calendar_id = ?1")
        .and_then(|mut stmt| {
            stmt.query_map([calendar_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(|e| store.error("read the events set aside", e))
}

/// Whether `event_id` is parked (at any version).
pub(crate) fn is_parked(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    event_id: &str,
) -> Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM parked WHERE calendar_id = ?1 AND event_id = ?2)",
    )
    .and_then(|mut stmt| stmt.query_row(params![calendar_id, event_id], |r| r.get(0)))
    .map_err(|e| store.error("read the events set aside", e))
}

/// Forgets a parked event that has now been stored.
pub(crate) fn forget(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    event_id: &str,
) -> Result<()> {
    conn.prepare_cached("DELETE FROM parked WHERE calendar_id = ?1 AND event_id = ?2")
        .and_then(|mut stmt| stmt.execute(params![calendar_id, event_id]))
        .map_err(|e| store.error("update the events set aside", e))?;
    Ok(())
}

/// Forgets every parked event (Remove Google Account).
pub(crate) fn forget_all(store: &Store, conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM parked", [])
        .map_err(|e| store.error("update the events set aside", e))?;
    Ok(())
}
