//! Deletions held for the user's decision (spec §3: "A held mass delete doesn't stop the
//! rest of the pass; the window (and tray) ask Delete them / Keep them").
//!
//! When a pass would delete more than the delete guard allows, the engine holds every
//! deletion of that pass (and of later passes, while a decision is pending) in the
//! `held_deletes` table and applies everything else. The table is the only record of a
//! held Google cancellation once the sync token has moved past it, so a row goes only
//! when the user has decided:
//!
//! - **Delete them**: each held item is read from Google as it is now and decided again
//!   (the appointment deleted or cancelled, the event deleted), past the guard.
//! - **Keep them**: each side is restored from the other. An event deleted in Google is
//!   written back from its appointment under the same event id (Google restores a
//!   deleted event that is updated to `confirmed`), so nothing is duplicated; an
//!   appointment deleted in Bookline is re-imported from its event under its old id, so
//!   the link still fits.
//!
//! This module owns the table's SQL.

use chrono::Utc;
use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::google::{CalendarClient, Event, EventStatus};
use crate::model::Appointment;
use crate::model::Timing;
use crate::store::{Result, Store};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::decide::{decide, Mode, PairedBy, Side, Snapshot, SyncItem, SyncKey, SyncOp};
use crate::sync::engine::{
    crm_side, deleted_side, event_id_of, text_of, AccountContext, Planned, SyncEngine, SyncError,
    SyncReport,
};
use crate::sync::fields::{FieldSet, SyncFields};
use crate::sync::links::{self, time_str};
use crate::sync::mapping::{self, MappingContext};
use crate::sync::writer::{Outcome, WriteCall};

/// How many held items `pending` lists by name.
pub const FIRST: usize = 10;

/// The user's answer to a held mass delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum HeldChoice {
    /// Apply the held deletions.
    Delete,
    /// Restore each deleted item from the other side, so both sides agree again.
    Keep,
}

/// One held deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HeldItem {
    /// Where the item would be deleted: `crm` (its event was deleted in Google) or
    /// `google` (its appointment was deleted or cancelled in Bookline).
    #[ts(type = "'crm' | 'google'")]
    pub side: Side,
    pub appointment_id: Option<String>,
    pub event_id: String,
    pub title: String,
    /// When the item takes place: RFC 3339 for timed items, `YYYY-MM-DD` for all-day ones.
    pub starts: Option<String>,
    /// RFC 3339: when the deletion was first held.
    pub held_at: String,
}

/// What is waiting for the user's decision (`held_deletes` in `status --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HeldDeletes {
    /// Appointments that would be deleted (or cancelled) in Bookline.
    pub crm: u32,
    /// Events that would be deleted in Google.
    pub google: u32,
    /// The first few (by start), for the window to name.
    pub first: Vec<HeldItem>,
}

impl HeldDeletes {
    pub fn total(&self) -> u32 {
        self.crm + self.google
    }
}

/// The sentence the status shows while deletions are held.
pub fn sentence(total: u32) -> String {
    match total {
        1 => "Bookline is holding 1 deletion for your decision.".to_owned(),
        n => format!("Bookline is holding {n} deletions for your decision."),
    }
}

fn side_key(side: Side) -> &'static str {
    match side {
        Side::Crm => "crm",
        Side::Google => "google",
    }
}

const COLUMNS: &str = "side, appointment_id, event_id, title, starts, held_at";

/// A held row with the calendar its event lives in.
struct HeldRow {
    calendar_id: String,
    item: HeldItem,
}

fn read_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<HeldItem> {
    let side: String = row.get(0)?;
    Ok(HeldItem {
        side: if side == "google" {
            Side::Google
        } else {
            Side::Crm
        },
        appointment_id: row.get(1)?,
        event_id: row.get(2)?,
        title: row.get(3)?,
        starts: row.get(4)?,
        held_at: row.get(5)?,
    })
}

/// What is held now: counts per side and the first `FIRST` items.
pub fn pending(store: &Store) -> Result<HeldDeletes> {
    store.read(|conn| {
        let fail = |e| store.error("read the held deletions", e);
        let (crm, google): (i64, i64) = conn
            .query_row(
                "SELECT COALESCE(SUM(side = 'crm'), 0), COALESCE(SUM(side = 'google'), 0) \
                 FROM held_deletes",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(fail)?;
        let first = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM held_deletes ORDER BY starts IS NULL, starts, title \
                 LIMIT ?1"
            ))
            .and_then(|mut stmt| {
                stmt.query_map([FIRST as i64], read_item)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(fail)?;
        Ok(HeldDeletes {
            crm: u32::try_from(crm).unwrap_or(u32::MAX),
            google: u32::try_from(google).unwrap_or(u32::MAX),
            first,
        })
    })
}

/// How many deletions are held.
pub fn count(store: &Store, conn: &Connection) -> Result<u32> {
    conn.prepare_cached("SELECT COUNT(*) FROM held_deletes")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)))
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .map_err(|e| store.error("count the held deletions", e))
}

/// Whether a deletion of this appointment is held (on either side).
pub(crate) fn holds_appointment(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM held_deletes WHERE appointment_id = ?1 LIMIT 1")
        .and_then(|mut stmt| stmt.exists([appointment_id]))
        .map_err(|e| store.error("read the held deletions", e))
}

/// Whether the appointment's deletion in Bookline is held for Google (it is gone from
/// the CRM and its event must not be imported again meanwhile).
pub(crate) fn holds_crm_delete(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
) -> Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM held_deletes WHERE appointment_id = ?1 AND side = 'google' LIMIT 1",
    )
    .and_then(|mut stmt| stmt.exists([appointment_id]))
    .map_err(|e| store.error("read the held deletions", e))
}

/// Whether a planned key is a deletion the guard holds: it deletes on a side, and it is
/// not the blind delete of an event whose first sync was never confirmed (no link, no
/// appointment: nothing to show the user, nothing to restore).
pub(crate) fn is_deletion(p: &Planned) -> bool {
    p.ops.iter().any(|op| op.deletes_from().is_some()) && (p.link.is_some() || p.item.crm.is_some())
}

/// Records held keys (replacing an earlier row of the same event) and settles their
/// outbox entries: from now on this row is the record of the deletion.
pub(crate) fn record(
    store: &Store,
    tx: &Transaction<'_>,
    calendar_id: &str,
    held: &[Planned],
) -> Result<()> {
    let fail = |e| store.error("hold the deletions for your decision", e);
    let now = time_str(Utc::now());
    for p in held {
        let Some(side) = p.ops.iter().find_map(SyncOp::deletes_from) else {
            continue;
        };
        let Some(event_id) = event_id_of(p) else {
            continue;
        };
        // A calendar change may have kept the event in the calendar synced before.
        let calendar = p
            .link
            .as_ref()
            .map_or(calendar_id, |l| l.calendar_id.as_str());
        let fields = p
            .item
            .crm
            .as_ref()
            .map(|c| &c.fields)
            .or_else(|| p.item.google.as_ref().map(|g| &g.fields))
            .or_else(|| p.link.as_ref().map(|l| &l.snapshot.crm));
        tx.prepare_cached(
            "INSERT INTO held_deletes \
               (calendar_id, event_id, appointment_id, side, title, starts, held_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (calendar_id, event_id) DO UPDATE SET \
               appointment_id = COALESCE(excluded.appointment_id, appointment_id), \
               side = excluded.side, title = excluded.title, \
               starts = COALESCE(excluded.starts, starts)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                calendar,
                event_id,
                p.item.key.appointment_id,
                side_key(side),
                p.title(),
                fields.map(starts_of),
                now,
            ])
        })
        .map_err(fail)?;
        for seq in &p.outbox {
            store.outbox_complete_in(tx, *seq)?;
        }
        // A Bookline delete held by the pull (its event was listed) has its queued delete
        // settled here too: left queued, it would delete the event after Keep them.
        if let (Side::Google, Some(id)) = (side, p.item.key.appointment_id.as_deref()) {
            store.outbox_forget_deletes_of_in(tx, id)?;
        }
    }
    Ok(())
}

fn starts_of(fields: &SyncFields) -> String {
    match &fields.timing {
        Timing::Timed { start, .. } => time_str(*start),
        Timing::AllDay { start, .. } => start.format("%Y-%m-%d").to_string(),
    }
}

/// Forgets every held deletion (the account was removed).
pub(crate) fn clear(store: &Store, tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM held_deletes", [])
        .map(|_| ())
        .map_err(|e| store.error("forget the held deletions", e))
}

fn rows(store: &Store, conn: &Connection) -> Result<Vec<HeldRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, calendar_id FROM held_deletes ORDER BY calendar_id, event_id"
    ))
    .and_then(|mut stmt| {
        stmt.query_map([], |row| {
            Ok(HeldRow {
                item: read_item(row)?,
                calendar_id: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })
    .map_err(|e| store.error("read the held deletions", e))
}

/// Removes the rows of these (calendar, event) pairs.
fn forget(store: &Store, tx: &Transaction<'_>, events: &[(String, String)]) -> Result<()> {
    let fail = |e| store.error("forget the held deletions", e);
    let mut stmt = tx
        .prepare_cached("DELETE FROM held_deletes WHERE calendar_id = ?1 AND event_id = ?2")
        .map_err(fail)?;
    for (calendar_id, event_id) in events {
        stmt.execute(params![calendar_id, event_id]).map_err(fail)?;
    }
    Ok(())
}

/// Applies the user's decision on every held deletion and reports what it wrote, with
/// `held_deletes` as what is still held after it (items that failed stay held and can be
/// decided again). The caller keeps passes from running meanwhile.
pub async fn resolve(
    engine: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    choice: HeldChoice,
    cancel: &CancellationToken,
) -> std::result::Result<SyncReport, SyncError> {
    let held = store.read(|c| rows(store, c))?;
    let mut report = SyncReport::default();
    if held.is_empty() {
        return Ok(report);
    }
    let writer = engine.writer(client, &ctx.calendar_id, cancel);
    let mode = Mode::Ongoing {
        connected_at: ctx.connected_at,
    };
    // Each event as Google has it now: the decision applies to what is there, not to
    // what was there when the deletion was held.
    let calls: Vec<WriteCall> = held
        .iter()
        .map(|h| WriteCall::Get {
            event_id: h.item.event_id.clone(),
        })
        .collect();
    let calendars: Vec<Option<String>> = held.iter().map(|h| Some(h.calendar_id.clone())).collect();
    let outcomes = writer.run_in(&calls, &calendars).await?;
    let mut events = Vec::with_capacity(held.len());
    for (h, outcome) in held.iter().zip(outcomes) {
        match outcome {
            Outcome::Event(e) => events.push(*e),
            // Gone for good: what Google would list as its deletion record.
            Outcome::Missing | Outcome::Deleted => events.push(Event {
                id: Some(h.item.event_id.clone()),
                status: Some(EventStatus::Cancelled),
                ..Event::default()
            }),
            Outcome::Failed(e) => return Err(SyncError::Google(e)),
            Outcome::Duplicate | Outcome::Stale => {
                return Err(SyncError::Google(
                    crate::google::GoogleError::invalid_response(
                        "an unexpected answer to reading an event",
                    ),
                ))
            }
        }
    }
    let planned = store.read(|conn| plans(store, conn, ctx, &mode, choice, &held, events))?;
    let keys: Vec<(String, String)> = held
        .iter()
        .map(|h| (h.calendar_id.clone(), h.item.event_id.clone()))
        .collect();
    let (crm, google) = held.iter().fold((0, 0), |(c, g), h| match h.item.side {
        Side::Crm => (c + 1, g),
        Side::Google => (c, g + 1),
    });
    let summary = match choice {
        HeldChoice::Delete => format!(
            "You chose Delete them: {crm} held deletion(s) applied in Bookline, {google} in Google"
        ),
        HeldChoice::Keep => format!(
            "You chose Keep them: {crm} event(s) restored in Google, {google} appointment(s) restored in Bookline"
        ),
    };
    engine
        .execute(
            store,
            &writer,
            ctx,
            &mode,
            planned,
            "UTC",
            &mut report,
            None,
            |tx, counts| {
                // An item that failed keeps every row: deciding again re-reads each one,
                // and those already done are no-ops then.
                if counts.errors.is_empty() {
                    forget(store, tx, &keys)?;
                    activity::append(
                        store,
                        tx,
                        &NewActivity::new(ActivityKind::Info, None, summary),
                    )?;
                }
                Ok(())
            },
        )
        .await?;
    report.held_deletes = store.read(|c| count(store, c))?;
    Ok(report)
}

/// The plans of a decision, one per held row, from both sides as they are now. Delete
/// them: the key decided as a pass would decide it, with the deletion record in place
/// (the cancelled event, or the appointment gone or cancelled). Keep them: each side
/// restored from the other.
fn plans(
    store: &Store,
    conn: &Connection,
    ctx: &AccountContext,
    mode: &Mode,
    choice: HeldChoice,
    held: &[HeldRow],
    events: Vec<Event>,
) -> Result<Vec<Planned>> {
    let mut out = Vec::with_capacity(held.len());
    for (row, event) in held.iter().zip(events) {
        let h = &row.item;
        let link = match &h.appointment_id {
            Some(id) => links::by_appointment(store, conn, id)?,
            None => links::by_event(store, conn, &row.calendar_id, &h.event_id)?,
        };
        let appointment = match &h.appointment_id {
            Some(id) => store.get_in(conn, id)?,
            None => None,
        };
        let key = SyncKey {
            appointment_id: h.appointment_id.clone(),
            event_id: Some(h.event_id.clone()),
        };
        let item = |crm| SyncItem {
            key: key.clone(),
            crm,
            google: None,
            base: link.as_ref().map(|l| Box::new(l.snapshot.clone())),
            paired_by: link.as_ref().map(|_| PairedBy::Link),
            series: None,
        };
        if choice == HeldChoice::Delete {
            out.push(delete_plan(ctx, mode, key, link, appointment, &event));
            continue;
        }
        let live_event = !event.is_cancelled();
        let p = match (h.side, appointment, live_event) {
            // Deleted in Google, the appointment is still here: write the event back
            // from it under the same id. Without If-Match: deleting changed the etag.
            (Side::Crm, Some(a), _) => {
                let crm = crm_side(&a);
                let fields = crm.fields.clone();
                let mut p = Planned::new(
                    item(Some(crm)),
                    vec![
                        SyncOp::UpdateGoogle {
                            fields: FieldSet::all(),
                            to: fields.clone(),
                        },
                        SyncOp::Link {
                            snapshot: Snapshot {
                                crm: fields.clone(),
                                google: fields,
                            },
                        },
                    ],
                );
                p.lead = a.lead.clone();
                p.link = link
                    .clone()
                    .map(|l| Box::new(links::Link { etag: None, ..l }));
                p.event_status = Some(EventStatus::Confirmed);
                p
            }
            // Deleted (or cancelled) in Bookline, the event is still in Google: bring
            // the appointment back from it, under its old id.
            (Side::Google, appointment, true) => {
                let lead = appointment
                    .as_ref()
                    .map(|a| a.lead.clone())
                    .unwrap_or_default();
                let mctx = MappingContext {
                    calendar_timezone: "UTC",
                    privacy: &ctx.privacy,
                    lead: &lead,
                };
                let known = link.as_ref().map(|l| &l.snapshot.google);
                let Ok(side) = mapping::google_side(&event, &mctx, known) else {
                    continue;
                };
                let fields = side.fields.clone();
                let restore = match &appointment {
                    Some(_) => SyncOp::UpdateCrm {
                        fields: FieldSet::all(),
                        to: fields.clone(),
                    },
                    None => SyncOp::CreateInCrm {
                        fields: fields.clone(),
                        appointment_id: h.appointment_id.clone(),
                        instance_of: None,
                    },
                };
                let mut p = Planned::new(
                    item(appointment.as_ref().map(crm_side)),
                    vec![
                        restore,
                        SyncOp::Link {
                            snapshot: Snapshot {
                                crm: fields.clone(),
                                google: fields,
                            },
                        },
                    ],
                );
                p.lead = lead;
                p.link = link.clone().map(|l| {
                    Box::new(links::Link {
                        etag: event.etag.clone(),
                        ..l
                    })
                });
                p.event_status = event.status.clone();
                p.google_text = Some(text_of(&event));
                p
            }
            // Nothing left on either side to restore from: forget the pair.
            _ => Planned::new(item(None), vec![SyncOp::Unlink]),
        };
        out.push(p);
    }
    Ok(out)
}

/// Delete them for one key: decided like a pass, past the guard.
fn delete_plan(
    ctx: &AccountContext,
    mode: &Mode,
    key: SyncKey,
    link: Option<links::Link>,
    appointment: Option<Appointment>,
    event: &Event,
) -> Planned {
    let lead = appointment
        .as_ref()
        .map(|a| a.lead.clone())
        .unwrap_or_default();
    let mctx = MappingContext {
        calendar_timezone: "UTC",
        privacy: &ctx.privacy,
        lead: &lead,
    };
    let google = mapping::google_side(event, &mctx, link.as_ref().map(|l| &l.snapshot.google)).ok();
    let crm = match (&appointment, &link) {
        (Some(a), _) => Some(crm_side(a)),
        (None, Some(l)) => Some(deleted_side(l)),
        (None, None) => None,
    };
    let item = SyncItem {
        key,
        crm,
        google,
        base: link.as_ref().map(|l| Box::new(l.snapshot.clone())),
        paired_by: Some(if link.is_some() {
            PairedBy::Link
        } else {
            PairedBy::DerivedEventId
        }),
        series: None,
    };
    let ops = decide(&item, ctx.direction, mode);
    let mut p = Planned::new(item, ops);
    p.lead = lead;
    p.link = link.map(Box::new);
    p.event_status = event.status.clone();
    p.google_text = Some(text_of(event));
    p
}
