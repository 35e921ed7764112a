//! The sync activity log: what sync did, where, when; conflicts and errors. Newest first
//! in the UI, paged by id. Kept small by pruning the oldest rows, never by skipping
//! entries.

use chrono::Utc;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Result, Store};
use crate::sync::decide::Side;
use crate::sync::links::{parse_time, time_str};

/// Rows kept by `prune` by default: months of ordinary use, a few MB at most.
pub const DEFAULT_KEEP: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ActivityKind {
    Created,
    Updated,
    Deleted,
    Conflict,
    Error,
    Linked,
    Info,
    /// The lead answered an invitation (accepted, declined, tentative).
    LeadAnswer,
}

impl ActivityKind {
    fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Updated => "updated",
            ActivityKind::Deleted => "deleted",
            ActivityKind::Conflict => "conflict",
            ActivityKind::Error => "error",
            ActivityKind::Linked => "linked",
            ActivityKind::Info => "info",
            ActivityKind::LeadAnswer => "lead_answer",
        }
    }

    fn parse(s: &str) -> ActivityKind {
        match s {
            "created" => ActivityKind::Created,
            "updated" => ActivityKind::Updated,
            "deleted" | "cancelled" => ActivityKind::Deleted,
            "conflict" => ActivityKind::Conflict,
            "error" => ActivityKind::Error,
            "linked" | "unlinked" => ActivityKind::Linked,
            "lead_answer" => ActivityKind::LeadAnswer,
            // The table allows a few more kinds (skipped, pass) that the UI shows as info.
            _ => ActivityKind::Info,
        }
    }
}

/// One entry, as the UI contract's `ActivityEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActivityEntry {
    /// A rowid: far below 2^53, so a JavaScript number holds it.
    #[ts(type = "number")]
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub kind: ActivityKind,
    pub side: Option<Side>,
    pub appointment_id: Option<String>,
    pub summary: String,
    pub detail: Option<String>,
    /// The transfer ("Synchronize Google Calendar") this entry stands for: its items open
    /// from it (`backfill::transfer_items`).
    #[ts(type = "number | null")]
    pub transfer_id: Option<i64>,
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub side: Option<Side>,
    pub appointment_id: Option<String>,
    pub event_id: Option<String>,
    pub summary: String,
    pub detail: Option<String>,
    pub transfer_id: Option<i64>,
}

impl NewActivity {
    pub fn new(kind: ActivityKind, side: Option<Side>, summary: impl Into<String>) -> Self {
        Self {
            kind,
            side,
            appointment_id: None,
            event_id: None,
            summary: summary.into(),
            detail: None,
            transfer_id: None,
        }
    }

    pub fn transfer(mut self, id: i64) -> Self {
        self.transfer_id = Some(id);
        self
    }

    pub fn appointment(mut self, id: Option<&str>) -> Self {
        self.appointment_id = id.map(str::to_owned);
        self
    }

    pub fn event(mut self, id: Option<&str>) -> Self {
        self.event_id = id.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Crm => "crm",
        Side::Google => "google",
    }
}

/// Appends inside the caller's transaction (so an entry commits with what it describes).
pub fn append(store: &Store, conn: &Connection, entry: &NewActivity) -> Result<i64> {
    // The column holds JSON; a plain sentence is stored as a JSON string.
    let detail = entry
        .detail
        .as_ref()
        .map(|d| serde_json::Value::String(d.clone()).to_string());
    conn.prepare_cached(
        "INSERT INTO activity (at, kind, side, appointment_id, event_id, summary, detail, \
         transfer_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            time_str(Utc::now()),
            entry.kind.as_str(),
            entry.side.map(side_str),
            entry.appointment_id,
            entry.event_id,
            entry.summary,
            detail,
            entry.transfer_id,
        ])
    })
    .map_err(|e| store.error("write the sync activity log", e))?;
    Ok(conn.last_insert_rowid())
}

/// Rows per multi-row INSERT of `append_many` (8 parameters each, far below SQLite's
/// limit of 32,766).
const ROWS_PER_INSERT: usize = 100;

/// Appends entries in the caller's transaction, in order (ids ascend with the slice),
/// a hundred rows per statement: an import logs one row per item, and a statement per
/// row cost more than the rows themselves.
pub fn append_many(store: &Store, conn: &Connection, entries: &[NewActivity]) -> Result<()> {
    let at = time_str(Utc::now());
    for rows in entries.chunks(ROWS_PER_INSERT) {
        let details: Vec<Option<String>> = rows
            .iter()
            .map(|e| {
                e.detail
                    .as_ref()
                    .map(|d| serde_json::Value::String(d.clone()).to_string())
            })
            .collect();
        let kinds: Vec<&'static str> = rows.iter().map(|e| e.kind.as_str()).collect();
        let sides: Vec<Option<&'static str>> = rows.iter().map(|e| e.side.map(side_str)).collect();
        let mut sql = String::from(
            "INSERT INTO activity (at, kind, side, appointment_id, event_id, summary, detail, \
             transfer_id) VALUES ",
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 8);
        for (i, e) in rows.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?)");
            values.push(&at);
            values.push(&kinds[i]);
            values.push(&sides[i]);
            values.push(&e.appointment_id);
            values.push(&e.event_id);
            values.push(&e.summary);
            values.push(&details[i]);
            values.push(&e.transfer_id);
        }
        conn.prepare_cached(&sql)
            .and_then(|mut stmt| stmt.execute(values.as_slice()))
            .map_err(|e| store.error("write the sync activity log", e))?;
    }
    Ok(())
}

/// Appends entries in their own transaction.
pub fn append_all(store: &Store, entries: &[NewActivity]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    store.write("write the sync activity log", |tx| {
        for e in entries {
            append(store, tx, e)?;
        }
        Ok(())
    })
}

/// A page of the log, newest first: up to ?2 entries older than entry ?1.
pub(crate) const LIST_SQL: &str =
    "SELECT id, at, kind, side, appointment_id, summary, detail, transfer_id FROM activity \
     WHERE id < ?1 ORDER BY id DESC LIMIT ?2";

/// All but the newest ?1 entries.
pub(crate) const PRUNE_SQL: &str =
    "DELETE FROM activity WHERE id <= (SELECT id FROM activity ORDER BY id DESC LIMIT 1 OFFSET ?1)";

/// Up to `limit` entries older than `before_id` (all when `None`), newest first.
pub fn list(store: &Store, limit: u32, before_id: Option<i64>) -> Result<Vec<ActivityEntry>> {
    let limit = limit.clamp(1, 1000);
    store.read(|conn| {
        let fail = |e| store.error("read the sync activity log", e);
        let mut stmt = conn.prepare_cached(LIST_SQL).map_err(fail)?;
        let rows = stmt
            .query_map(params![before_id.unwrap_or(i64::MAX), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        rows.into_iter()
            .map(
                |(id, at, kind, side, appointment_id, summary, detail, transfer_id)| {
                    // Normalize the stored time so the UI always gets one RFC 3339 shape.
                    let at = time_str(parse_time(&at)?);
                    Ok(ActivityEntry {
                        id,
                        at,
                        kind: ActivityKind::parse(&kind),
                        side: match side.as_deref() {
                            Some("crm") => Some(Side::Crm),
                            Some("google") => Some(Side::Google),
                            _ => None,
                        },
                        appointment_id,
                        summary,
                        detail: detail.map(|d| match serde_json::from_str::<String>(&d) {
                            Ok(text) => text,
                            Err(_) => d,
                        }),
                        transfer_id,
                    })
                },
            )
            .collect()
    })
}

/// Deletes all but the newest `keep` entries; returns how many were removed.
pub fn prune(store: &Store, keep: usize) -> Result<usize> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    store.write("prune the sync activity log", |tx| {
        tx.execute(PRUNE_SQL, [keep])
            .map_err(|e| store.error("prune the sync activity log", e))
    })
}
