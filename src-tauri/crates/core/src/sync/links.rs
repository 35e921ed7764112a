//! The link table (one row per synced pair, with both sides' last-synced snapshot and
//! Google's etag) and the per-calendar sync tokens.
//!
//! Functions take the connection (or a transaction: it derefs to one) so the engine can
//! write a page of changes, their links and the sync token in one transaction.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::store::{Result, Store, StoreError};
use crate::sync::decide::{LinkRecord, Snapshot};
use crate::sync::fields::SyncFields;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub appointment_id: String,
    pub calendar_id: String,
    pub event_id: String,
    pub etag: Option<String>,
    pub snapshot: Snapshot,
    pub synced_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The event's summary and description as Bookline last wrote or read them;
    /// `None` when not known (links older than schema version 7).
    pub google_text: Option<GoogleText>,
}

/// What a Google event shows of an appointment: the summary and the description, as
/// rendered through the privacy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleText {
    pub summary: String,
    pub description: String,
}

impl Link {
    pub fn record(&self) -> LinkRecord {
        LinkRecord {
            appointment_id: self.appointment_id.clone(),
            event_id: self.event_id.clone(),
            snapshot: self.snapshot.clone(),
        }
    }
}

const COLUMNS: &str = "appointment_id, calendar_id, event_id, etag, crm_snapshot, \
    google_snapshot, synced_at, last_error, google_summary, google_description";

type RawLink = (
    (String, String, String, Option<String>),
    (String, String, String, Option<String>),
    (Option<String>, Option<String>),
);

fn read_raw(row: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok((
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?),
        (row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?),
        (row.get(8)?, row.get(9)?),
    ))
}

fn from_raw(raw: RawLink) -> Result<Link> {
    let (
        (appointment_id, calendar_id, event_id, etag),
        (crm, google, synced_at, last_error),
        (google_summary, google_description),
    ) = raw;
    let google_text = match (google_summary, google_description) {
        (Some(summary), Some(description)) => Some(GoogleText {
            summary,
            description,
        }),
        _ => None,
    };
    let snapshot = |json: &str| {
        serde_json::from_str::<SyncFields>(json)
            .map_err(|e| StoreError::BadRow(format!("the sync snapshot of {appointment_id}: {e}")))
    };
    Ok(Link {
        snapshot: Snapshot {
            crm: snapshot(&crm)?,
            google: snapshot(&google)?,
        },
        synced_at: parse_time(&synced_at)?,
        appointment_id,
        calendar_id,
        event_id,
        etag,
        last_error,
        google_text,
    })
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::BadRow(format!("bad time \"{s}\"")))
}

pub(crate) fn time_str(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Every link of a calendar.
pub fn all(store: &Store, conn: &Connection, calendar_id: &str) -> Result<Vec<Link>> {
    all_but(store, conn, calendar_id, |_| false)
}

/// Every link of every calendar.
pub fn every(store: &Store, conn: &Connection) -> Result<Vec<Link>> {
    let fail = |e| store.error("read the sync links", e);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links ORDER BY appointment_id"
        ))
        .map_err(fail)?;
    let raws = stmt
        .query_map([], read_raw)
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    raws.into_iter().map(from_raw).collect()
}

/// Every link of a calendar except those whose event id `skip` names; a skipped link's
/// snapshots are not decoded (a transfer leaves out the thousands it linked itself).
pub fn all_but(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    skip: impl Fn(&str) -> bool,
) -> Result<Vec<Link>> {
    all_but_with(store, conn, calendar_id, skip, |_| {})
}

/// `all_but`, with `skipped` handed each skipped link's appointment id: a transfer
/// learns which appointments it settled from the same pass over the links, instead of
/// reading every link a second time.
pub fn all_but_with(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    skip: impl Fn(&str) -> bool,
    mut skipped_appointment: impl FnMut(&str),
) -> Result<Vec<Link>> {
    let fail = |e| store.error("read the sync links", e);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE calendar_id = ?1"
        ))
        .map_err(fail)?;
    let mut rows = stmt.query([calendar_id]).map_err(fail)?;
    let mut raws = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        // The event id is looked at in place: a skipped row's text is never copied.
        let skipped = row.get_ref(2).map_err(fail)?.as_str().is_ok_and(&skip);
        if !skipped {
            raws.push(read_raw(row).map_err(fail)?);
            continue;
        }
        // Column 0 is `appointment_id` (`COLUMNS`).
        match row.get_ref(0).map_err(fail)?.as_str() {
            Ok(id) => skipped_appointment(id),
            // Not text: read as a String, so the error names the row.
            Err(_) => skipped_appointment(&row.get::<_, String>(0).map_err(fail)?),
        }
    }
    raws.into_iter().map(from_raw).collect()
}

/// How many links a calendar has.
pub fn count(store: &Store, conn: &Connection, calendar_id: &str) -> Result<usize> {
    conn.query_row(
        "SELECT COUNT(*) FROM links WHERE calendar_id = ?1",
        [calendar_id],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
    .map_err(|e| store.error("count the sync links", e))
}

pub fn by_appointment(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
) -> Result<Option<Link>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE appointment_id = ?1"
        ))
        .and_then(|mut stmt| stmt.query_row([appointment_id], read_raw).optional())
        .map_err(|e| store.error("read a sync link", e))?;
    raw.map(from_raw).transpose()
}

pub fn by_event(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    event_id: &str,
) -> Result<Option<Link>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE calendar_id = ?1 AND event_id = ?2"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![calendar_id, event_id], read_raw)
                .optional()
        })
        .map_err(|e| store.error("read a sync link", e))?;
    raw.map(from_raw).transpose()
}

/// Writes the link, replacing any link of the same appointment or the same event.
pub fn upsert(store: &Store, conn: &Connection, link: &Link) -> Result<()> {
    let encode = |f: &SyncFields| {
        serde_json::to_string(f)
            .map_err(|e| StoreError::BadRow(format!("a sync snapshot could not be encoded: {e}")))
    };
    let crm = encode(&link.snapshot.crm)?;
    // Both sides agree right after a sync (every imported event): encoded once.
    let google = if link.snapshot.google == link.snapshot.crm {
        crm.clone()
    } else {
        encode(&link.snapshot.google)?
    };
    // Not `INSERT OR REPLACE`: that would also replace the link of *another*
    // appointment holding this event, leaving that appointment behind as a duplicate
    // (two processes importing one new event did exactly that). An appointment's own link
    // is updated in place (a new etag, event or calendar); an event already linked to
    // another appointment fails on the (calendar_id, event_id) key.
    conn.prepare_cached(&format!(
        "INSERT INTO links ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (appointment_id) DO UPDATE SET calendar_id = excluded.calendar_id, \
           event_id = excluded.event_id, etag = excluded.etag, \
           crm_snapshot = excluded.crm_snapshot, google_snapshot = excluded.google_snapshot, \
           synced_at = excluded.synced_at, last_error = excluded.last_error, \
           google_summary = excluded.google_summary, \
           google_description = excluded.google_description"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            link.appointment_id,
            link.calendar_id,
            link.event_id,
            link.etag,
            crm,
            google,
            time_str(link.synced_at),
            link.last_error,
            link.google_text.as_ref().map(|t| t.summary.as_str()),
            link.google_text.as_ref().map(|t| t.description.as_str()),
        ])
    })
    .map_err(|e| store.error("save a sync link", e))?;
    Ok(())
}

/// Copies each linked appointment's event id into `appointments.source_event_id`
/// (before the links go with the account), so a reconnect re-links it instead of
/// creating it again.
pub fn remember_events_on_appointments(store: &Store, conn: &Connection) -> Result<()> {
    conn.execute(
        "UPDATE appointments SET source_event_id = \
         (SELECT l.event_id FROM links l WHERE l.appointment_id = appointments.id) \
         WHERE id IN (SELECT appointment_id FROM links)",
        [],
    )
    .map_err(|e| store.error("remember the Google events of the appointments", e))?;
    Ok(())
}

/// Every link and sync token (Remove Google Account).
pub fn forget_all(store: &Store, conn: &Connection) -> Result<()> {
    for sql in ["DELETE FROM links", "DELETE FROM sync_tokens"] {
        conn.execute(sql, [])
            .map_err(|e| store.error("forget the sync links", e))?;
    }
    Ok(())
}

/// Removes the link of an appointment; returns whether there was one.
pub fn delete_by_appointment(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
) -> Result<bool> {
    conn.execute(
        "DELETE FROM links WHERE appointment_id = ?1",
        [appointment_id],
    )
    .map(|n| n > 0)
    .map_err(|e| store.error("remove a sync link", e))
}

/// Removes every link (and the sync token) of a calendar, e.g. on disconnect.
pub fn delete_calendar(store: &Store, conn: &Connection, calendar_id: &str) -> Result<usize> {
    let n = conn
        .execute("DELETE FROM links WHERE calendar_id = ?1", [calendar_id])
        .map_err(|e| store.error("remove the sync links", e))?;
    clear_sync_token(store, conn, calendar_id)?;
    Ok(n)
}

/// The event's etag after a write that changed nothing the link compares (a booking
/// write: the conference or the guests), so the next write's `If-Match` is current.
pub fn set_etag(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
    etag: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("UPDATE links SET etag = ?2 WHERE appointment_id = ?1")
        .and_then(|mut stmt| stmt.execute(params![appointment_id, etag]))
        .map_err(|e| store.error("save a sync link", e))?;
    Ok(())
}

/// Records (or clears, with `None`) the error shown on the appointment's row.
pub fn set_error(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
    error: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE links SET last_error = ?2 WHERE appointment_id = ?1",
        params![appointment_id, error],
    )
    .map_err(|e| store.error("record a sync error", e))?;
    Ok(())
}

pub fn sync_token(store: &Store, conn: &Connection, calendar_id: &str) -> Result<Option<String>> {
    conn.query_row(
        "SELECT token FROM sync_tokens WHERE calendar_id = ?1",
        [calendar_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| store.error("read the sync token", e))
}

pub fn save_sync_token(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
    token: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_tokens (calendar_id, token, saved_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (calendar_id) DO UPDATE SET token = excluded.token, \
         saved_at = excluded.saved_at",
        params![calendar_id, token, time_str(Utc::now())],
    )
    .map_err(|e| store.error("save the sync token", e))?;
    Ok(())
}

pub fn clear_sync_token(store: &Store, conn: &Connection, calendar_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM sync_tokens WHERE calendar_id = ?1",
        [calendar_id],
    )
    .map_err(|e| store.error("forget the sync token", e))?;
    Ok(())
}

/// Forgets the sync token of every calendar: the next pass lists the calendar in full.
pub fn clear_sync_tokens(store: &Store, conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM sync_tokens", [])
        .map_err(|e| store.error("forget the sync token", e))?;
    Ok(())
}

/// The link of an event in whichever calendar (event ids are unique per calendar, and
/// Bookline syncs one calendar at a time).
pub fn by_event_any(store: &Store, conn: &Connection, event_id: &str) -> Result<Option<Link>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM links WHERE event_id = ?1 LIMIT 1"
        ))
        .and_then(|mut stmt| stmt.query_row([event_id], read_raw).optional())
        .map_err(|e| store.error("read a sync link", e))?;
    raw.map(from_raw).transpose()
}

/// One link as a calendar change sees it: where its event is and where the appointment
/// came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedLink {
    pub appointment_id: String,
    pub calendar_id: String,
    pub event_id: String,
    /// The appointment was made in Bookline (origin `crm`); `false` for Google's own
    /// events and for links whose appointment row is gone.
    pub bookline_origin: bool,
}

/// Every link whose calendar is not `calendar_id`, in event-id order (a series' event id
/// sorts before its instances' `{series}_{start}` ids).
pub fn placed_outside(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
) -> Result<Vec<PlacedLink>> {
    let fail = |e| store.error("read the sync links", e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.appointment_id, l.calendar_id, l.event_id, a.origin = 'crm' \
             FROM links l LEFT JOIN appointments a ON a.id = l.appointment_id \
             WHERE l.calendar_id <> ?1 ORDER BY l.calendar_id, l.event_id",
        )
        .map_err(fail)?;
    let rows = stmt
        .query_map([calendar_id], |r| {
            Ok(PlacedLink {
                appointment_id: r.get(0)?,
                calendar_id: r.get(1)?,
                event_id: r.get(2)?,
                bookline_origin: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
            })
        })
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    Ok(rows)
}

/// Renames a calendar in the links and the sync tokens (`primary` → the id Google gives
/// it). A token already saved under `to` is kept; returns how many links changed.
pub fn rename_calendar(store: &Store, conn: &Connection, from: &str, to: &str) -> Result<usize> {
    if from == to {
        return Ok(0);
    }
    let n = conn
        .execute(
            "UPDATE OR IGNORE links SET calendar_id = ?2 WHERE calendar_id = ?1",
            params![from, to],
        )
        .map_err(|e| store.error("rename the calendar of the sync links", e))?;
    conn.execute(
        "UPDATE OR IGNORE sync_tokens SET calendar_id = ?2 WHERE calendar_id = ?1",
        params![from, to],
    )
    .map_err(|e| store.error("rename the calendar of a sync token", e))?;
    clear_sync_token(store, conn, from)?;
    Ok(n)
}

/// Records that an event (and, for a series, its instances) now lives in `to`: the
/// links of `event_id` and of `{event_id}_…` in `from` move with it. `etag` is the moved
/// event's (the instances' etags changed too; a stale one costs one re-read).
pub fn move_event_links(
    store: &Store,
    conn: &Connection,
    from: &str,
    event_id: &str,
    to: &str,
    etag: Option<&str>,
) -> Result<usize> {
    let fail = |e| store.error("move a sync link to another calendar", e);
    let n = conn
        .execute(
            "UPDATE links SET calendar_id = ?3, etag = COALESCE(?4, etag) \
             WHERE calendar_id = ?1 AND event_id = ?2",
            params![from, event_id, to, etag],
        )
        .map_err(fail)?;
    let prefix = format!("{event_id}_");
    let m = conn
        .execute(
            "UPDATE links SET calendar_id = ?3 \
             WHERE calendar_id = ?1 AND substr(event_id, 1, length(?2)) = ?2",
            params![from, prefix, to],
        )
        .map_err(fail)?;
    Ok(n + m)
}
