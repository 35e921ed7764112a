//! Backfill ("Synchronize Google Calendar"): the one-off transfer of old, unlinked items
//! in the direction the user picks, as a resumable job.
//!
//! No second engine: the plan is `join` + `decide` in `Mode::Backfill`, and the items run
//! through the engine's `execute` (the same writer, limiter, batches, links, activity).
//! The plan is stored (`backfill_jobs`/`backfill_items`); every chunk of items commits its
//! CRM writes, links and item states in one transaction. Events created in Google get
//! the id derived from the appointment, so an item interrupted between the insert and
//! its commit is found (409, or in the listing) and linked on resume — never duplicated.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{NaiveDate, NaiveTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::google::{CalendarClient, Event, GoogleError, GoogleErrorKind, ListParams};
use crate::model::Lead;
use crate::ratelimit::RetryClass;
use crate::store::{Result as StoreResult, Store, StoreError};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::decide::{
    decide, join, pair_new_series, CrmSide, Direction, Mode, PairedBy, Side, SkipReason,
    StandaloneIndex, SyncItem, SyncKey, SyncOp, TimeRange,
};
use crate::sync::engine::{
    crm_side, google_side_of, new_appointment_id, series_ref, AccountContext, Planned, StoreItems,
    SyncEngine, SyncError, SyncReport,
};
use crate::sync::ids;
use crate::sync::links::{self, time_str, Link};
use crate::sync::writer::Writer;

/// The match rule, in the words the dialog shows.
pub const MATCH_RULE: &str = "An appointment and a Google event with the same start, end and \
    title are the same item: they are linked, not copied.";

/// Items per transaction (and per progress report) when nothing is written to Google.
const CHUNK: usize = 1000;

/// Items per transaction when the job writes to Google: its links are committed as each
/// chunk completes, so a crash leaves at most this many events to find and link again on
/// resume, and the progress bar moves in steps the user can see at the quota's pace.
const GOOGLE_CHUNK: usize = 200;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BackfillRequest {
    pub direction: Direction,
    /// First day included (`YYYY-MM-DD`), none = from the beginning.
    pub since: Option<NaiveDate>,
    /// Last day included, none = no end.
    pub until: Option<NaiveDate>,
}

impl BackfillRequest {
    fn range(&self) -> Option<TimeRange> {
        if self.since.is_none() && self.until.is_none() {
            return None;
        }
        Some(TimeRange {
            start: self.since.map(|d| d.and_time(NaiveTime::MIN).and_utc()),
            end: self
                .until
                .and_then(|d| d.succ_opt())
                .map(|d| d.and_time(NaiveTime::MIN).and_utc()),
        })
    }

    fn mode(&self) -> Mode {
        Mode::Backfill {
            direction: self.direction,
            range: self.range(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CannotTransfer {
    pub reason: String,
    pub count: u32,
}

/// The UI contract's `BackfillPreview`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BackfillPreview {
    pub create_in_google: u32,
    pub create_in_crm: u32,
    pub already_linked: u32,
    pub matched_equal: u32,
    pub cannot_transfer: Vec<CannotTransfer>,
    pub match_rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ProgressState {
    Running,
    Finished,
    Cancelled,
    Failed,
}

/// The UI contract's `BackfillProgress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BackfillProgress {
    pub state: ProgressState,
    pub total: u32,
    pub done: u32,
    pub created_in_google: u32,
    pub created_in_crm: u32,
    pub linked: u32,
    pub failed: u32,
    #[ts(type = "number | null")]
    pub eta_secs: Option<u64>,
    pub message: Option<String>,
}

/// The job's stored summary: the request, the preview and the running counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct JobSummary {
    preview: BackfillPreview,
    created_in_google: u32,
    created_in_crm: u32,
    linked: u32,
}

/// Every key decided, with both sides read in full.
struct Plan {
    items: Vec<(SyncItem, Vec<SyncOp>)>,
    preview: BackfillPreview,
}

/// Reads the CRM and decides every key in backfill mode, with `events` the whole listing
/// of the calendar.
#[allow(clippy::too_many_arguments)]
async fn plan(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    request: &BackfillRequest,
    events: &HashMap<String, Event>,
    calendar_tz: &str,
    settled: &HashSet<String>,
) -> Result<Plan, SyncError> {
    let mode = request.mode();
    // A direction that writes to Google cannot write into a calendar the account may only
    // read: those items are counted as "can't be transferred" here, with the reason,
    // instead of each failing with a 403 at run time.
    let read_only = if request.direction.writes_google() {
        read_only_reason(engine, w).await?
    } else {
        None
    };
    let mut cannot: HashMap<String, u32> = HashMap::new();
    // Keys the job settled already (events imported while the listing was read, and the
    // appointments made for them) are left out: planned, they would only come out linked.
    let (crm, links_now, leads) = store.read(|conn| {
        // One pass over the links gives both the links to plan with and the appointments
        // settled through them; the skipped rows' text is looked at in place.
        let mut settled_appointments: HashSet<String> = HashSet::new();
        let links_now = links::all_but_with(
            store,
            conn,
            &ctx.calendar_id,
            |e| settled.contains(e),
            |a| {
                settled_appointments.insert(a.to_owned());
            },
        )?;
        let appointments = appointments_except(store, conn, &settled_appointments)?;
        let leads = appointments
            .iter()
            .map(|a| (a.id.clone(), a.lead.clone()))
            .collect::<HashMap<_, _>>();
        let crm = crm_sides(store, conn, &appointments)?;
        Ok((crm, links_now, leads))
    })?;
    let by_event: HashMap<&str, &Link> =
        links_now.iter().map(|l| (l.event_id.as_str(), l)).collect();
    let mut google = Vec::with_capacity(events.len());
    for (event_id, e) in events {
        if settled.contains(event_id) {
            continue;
        }
        let link = e.id.as_deref().and_then(|id| by_event.get(id));
        let lead = link
            .and_then(|l| leads.get(&l.appointment_id))
            .cloned()
            .unwrap_or_default();
        match google_side_of(
            e,
            calendar_tz,
            &ctx.privacy,
            &lead,
            link.map(|l| &l.snapshot.google),
        ) {
            Ok(side) => google.push(side),
            Err(_) => {
                *cannot
                    .entry("the Google event could not be read".into())
                    .or_default() += 1
            }
        }
    }
    let records = links_now.iter().map(Link::record).collect();
    let mut preview = BackfillPreview {
        match_rule: MATCH_RULE.to_owned(),
        ..BackfillPreview::default()
    };
    let decided: Vec<(SyncItem, Vec<SyncOp>)> = join(crm, google, records, &mode)
        .into_iter()
        .map(|item| {
            let ops = decide(&item, request.direction, &mode);
            (item, ops)
        })
        .collect();
    // An old series and its moved or cancelled occurrences move together: the
    // occurrences are planned (right behind their series) instead of waiting for a
    // series that is only linked by this transfer. The ids given here are the plan's
    // only; the run decides each chunk again (`run_chunk`).
    let decided = pair_new_series(
        decided,
        |(item, ops)| (item, ops),
        request.direction,
        &mode,
        new_appointment_id,
    );
    let mut items = Vec::new();
    for (item, ops) in decided {
        if let Some(reason) = &read_only {
            if ops.iter().any(|op| op.writes_to() == Some(Side::Google)) {
                *cannot.entry(reason.clone()).or_default() += 1;
                continue;
            }
        }
        let creates = ops.iter().any(|op| {
            matches!(
                op,
                SyncOp::CreateInGoogle { .. } | SyncOp::CreateInCrm { .. }
            )
        });
        for op in &ops {
            match op {
                SyncOp::CreateInGoogle { .. } => preview.create_in_google += 1,
                SyncOp::CreateInCrm { .. } => preview.create_in_crm += 1,
                SyncOp::Link { .. } if !creates => preview.matched_equal += 1,
                SyncOp::Skip { reason } => match reason {
                    SkipReason::AlreadyLinked => preview.already_linked += 1,
                    SkipReason::Cancelled | SkipReason::BooklineEventWithoutAppointment => {
                        *cannot.entry(reason.describe().to_owned()).or_default() += 1
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        if ops.iter().any(SyncOp::is_effective) {
            items.push((item, ops));
        }
    }
    let mut cannot: Vec<CannotTransfer> = cannot
        .into_iter()
        .map(|(reason, count)| CannotTransfer { reason, count })
        .collect();
    cannot.sort_by(|a, b| a.reason.cmp(&b.reason));
    preview.cannot_transfer = cannot;
    Ok(Plan { items, preview })
}

/// Every event of the calendar (full listing, `maxResults` 2500), by id.
async fn list_all(
    engine: &SyncEngine,
    w: &Writer<'_>,
) -> Result<(HashMap<String, Event>, String), SyncError> {
    let mut events = HashMap::new();
    let mut tz = None;
    let mut page_token: Option<String> = None;
    loop {
        let page = w
            .list_page(&ListParams {
                page_token: page_token.clone(),
                max_results: Some(engine.options().page_size.clamp(1, 2500)),
                ..ListParams::default()
            })
            .await?;
        if tz.is_none() {
            tz = page.time_zone.clone();
        }
        for e in page.items {
            if let Some(id) = e.id.clone() {
                events.insert(id, e);
            }
        }
        match page.next_page_token {
            Some(next) if Some(&next) != page_token.as_ref() => page_token = Some(next),
            _ => break,
        }
    }
    Ok((events, tz.unwrap_or_else(|| "UTC".to_owned())))
}

/// Why the calendar refuses Bookline's writes (`accessRole` `reader`/`freeBusyReader`),
/// from the calendar list; `None` when it is writable or not in the list (then the writes
/// themselves say what is wrong).
async fn read_only_reason(
    engine: &SyncEngine,
    w: &Writer<'_>,
) -> Result<Option<String>, SyncError> {
    let mut retry = 0;
    let calendars = loop {
        if w.cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        tokio::select! {
            _ = w.cancel.cancelled() => return Err(SyncError::Cancelled),
            _ = w.limiter.acquire(1) => {}
        }
        match w.client.list_calendars().await {
            Ok(list) => break list,
            Err(e) => {
                let wait = RetryClass::of(&e).and_then(|class| {
                    engine
                        .options()
                        .writer
                        .backoff
                        .delay(retry, class, &mut rand::rng())
                });
                match wait {
                    Some(wait) => {
                        retry += 1;
                        tokio::select! {
                            _ = w.cancel.cancelled() => return Err(SyncError::Cancelled),
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                    None => return Err(calendar_list_error(e)),
                }
            }
        }
    };
    let entry = calendars
        .iter()
        .find(|c| c.id == w.calendar || (w.calendar == "primary" && c.primary == Some(true)));
    Ok(entry.filter(|c| !c.is_writable()).map(|c| {
        format!(
            "the calendar “{}” is read-only for this account (access: {}); choose a \
             writable calendar to copy appointments into Google",
            c.display_name(),
            c.access_role.as_deref().unwrap_or("none")
        )
    }))
}

/// A failed calendar-list read as the pass's error: a grant that is gone asks for a
/// reconnect, like every other call of the engine.
fn calendar_list_error(e: GoogleError) -> SyncError {
    let account = match &e.kind {
        GoogleErrorKind::Token(app) if app.code != crate::error::ErrorCode::Network => {
            Some(app.clone())
        }
        _ if e.is_auth() => Some(crate::error::AppError::from(e.clone())),
        _ => None,
    };
    match account {
        Some(app) => SyncError::Account(app),
        None => SyncError::Google(e),
    }
}

/// The event ids a job's items name, and the number its next item gets.
fn job_events(store: &Store, conn: &Connection, job: i64) -> StoreResult<(HashSet<String>, i64)> {
    let fail = |e| store.error("read the transfer's items", e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT event_id FROM backfill_items WHERE job_id = ?1 AND event_id IS NOT NULL",
        )
        .map_err(fail)?;
    let known: HashSet<String> = stmt
        .query_map([job], |r| r.get(0))
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    let next_seq: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(seq) + 1, 0) FROM backfill_items WHERE job_id = ?1",
            [job],
            |r| r.get(0),
        )
        .map_err(fail)?;
    Ok((known, next_seq))
}

/// The event ids linked in a calendar.
fn linked_event_ids(
    store: &Store,
    conn: &Connection,
    calendar_id: &str,
) -> StoreResult<Vec<String>> {
    let fail = |e| store.error("read the sync links", e);
    let mut stmt = conn
        .prepare_cached("SELECT event_id FROM links WHERE calendar_id = ?1")
        .map_err(fail)?;
    let ids = stmt
        .query_map([calendar_id], |r| r.get(0))
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    Ok(ids)
}

/// The transfer's appointments, occurrence rows of series included, except those in
/// `skip`.
fn appointments_except(
    store: &Store,
    conn: &Connection,
    skip: &HashSet<String>,
) -> StoreResult<Vec<crate::model::Appointment>> {
    let mut out = Vec::new();
    for id in appointment_ids(store, conn, skip)? {
        if let Some(a) = store.get_in(conn, &id)? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The engine's view of `appointments`, each with the event it remembers from before
/// the account was removed (so `join` re-links it by id).
fn crm_sides(
    store: &Store,
    conn: &Connection,
    appointments: &[crate::model::Appointment],
) -> StoreResult<Vec<CrmSide>> {
    // Nothing to look up (a transfer that settled every appointment itself): the
    // sources are a pass over every appointment.
    if appointments.is_empty() {
        return Ok(Vec::new());
    }
    let mut sources = store.source_event_ids_in(conn)?;
    Ok(appointments
        .iter()
        .map(|a| CrmSide {
            source_event_id: sources.remove(&a.id),
            ..crm_side(a)
        })
        .collect())
}

/// The appointments' ids in start order, except those in `skip` (looked at in place, so
/// a skipped id is never copied).
fn appointment_ids(
    store: &Store,
    conn: &Connection,
    skip: &HashSet<String>,
) -> StoreResult<Vec<String>> {
    // Moved and cancelled occurrences of a series are read too: they go to Google with
    // their series (`pair_new_series` plans them right behind it), as changes of it.
    // Left out, an old series' exceptions would never be sent: ongoing sync leaves an
    // old series to the transfer. They never pair by the match rule (`join`).
    let fail = |e| store.error("read the appointments", e);
    let mut stmt = conn
        .prepare("SELECT id FROM appointments ORDER BY start_ms, id")
        .map_err(fail)?;
    let mut rows = stmt.query([]).map_err(fail)?;
    let mut ids = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        match row.get_ref(0).map_err(fail)?.as_str() {
            Ok(id) if skip.contains(id) => {}
            Ok(id) => ids.push(id.to_owned()),
            // Not text: read as before, so the error names the row.
            Err(_) => ids.push(row.get::<_, String>(0).map_err(fail)?),
        }
    }
    Ok(ids)
}

/// What a backfill would do, without writing anything (the dialog's preview,
/// `backfill --dry-run`).
pub async fn preview(
    engine: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    request: &BackfillRequest,
    cancel: &CancellationToken,
) -> Result<BackfillPreview, SyncError> {
    let w = engine.writer(client, &ctx.calendar_id, cancel);
    let (events, calendar_tz) = list_all(engine, &w).await?;
    Ok(plan(
        engine,
        store,
        &w,
        ctx,
        request,
        &events,
        &calendar_tz,
        &HashSet::new(),
    )
    .await?
    .preview)
}

/// An open job.
struct Job {
    id: i64,
    /// `planned` while its plan is not stored in full yet (it is being read from
    /// Google), `running` after.
    state: String,
    direction: Direction,
    range_start: Option<String>,
    range_end: Option<String>,
    summary: JobSummary,
}

fn open_job(store: &Store, conn: &Connection) -> StoreResult<Option<Job>> {
    let row = conn
        .query_row(
            "SELECT id, direction, range_start, range_end, summary, state FROM backfill_jobs \
             WHERE state IN ('planned', 'running') ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()
        .map_err(|e| store.error("read the transfer job", e))?;
    row.map(|(id, direction, range_start, range_end, summary, state)| {
        let direction = serde_json::from_value(serde_json::Value::String(direction))
            .map_err(|e| StoreError::BadRow(format!("transfer job {id}: {e}")))?;
        let summary = summary
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::BadRow(format!("transfer job {id}: {e}")))?
            .unwrap_or_default();
        Ok(Job {
            id,
            state,
            direction,
            range_start,
            range_end,
            summary,
        })
    })
    .transpose()
}

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Both => "both",
        Direction::GoogleToCrm => "google-to-crm",
        Direction::CrmToGoogle => "crm-to-google",
    }
}

fn save_summary(store: &Store, conn: &Connection, job: i64, s: &JobSummary) -> StoreResult<()> {
    let json = serde_json::to_string(s)
        .map_err(|e| StoreError::BadRow(format!("transfer summary: {e}")))?;
    conn.execute(
        "UPDATE backfill_jobs SET summary = ?2, updated_at = ?3 WHERE id = ?1",
        params![job, json, time_str(Utc::now())],
    )
    .map_err(|e| store.error("save the transfer's progress", e))?;
    Ok(())
}

/// Counts of a job's items.
#[derive(Debug, Clone, Copy)]
struct ItemCounts {
    total: u32,
    /// `done` or `skipped`.
    finished: u32,
    failed: u32,
}

fn item_counts(store: &Store, conn: &Connection, job: i64) -> StoreResult<ItemCounts> {
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(state IN ('done', 'skipped')), 0), \
         COALESCE(SUM(state = 'failed'), 0) FROM backfill_items WHERE job_id = ?1",
        [job],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )
    .map(|(t, d, f)| {
        let n = |v: i64| u32::try_from(v).unwrap_or(0);
        ItemCounts {
            total: n(t),
            finished: n(d),
            failed: n(f),
        }
    })
    .map_err(|e| store.error("read the transfer's progress", e))
}

fn progress_from(
    job: &Job,
    counts: ItemCounts,
    state: ProgressState,
    eta_secs: Option<u64>,
    message: Option<String>,
) -> BackfillProgress {
    BackfillProgress {
        state,
        total: counts.total,
        done: counts.finished + counts.failed,
        created_in_google: job.summary.created_in_google,
        created_in_crm: job.summary.created_in_crm,
        linked: job.summary.linked,
        failed: counts.failed,
        eta_secs,
        message,
    }
}

/// The transfer ?1's entry in the activity log, which `log_transfer` replaces.
pub(crate) const FORGET_TRANSFER_ENTRY_SQL: &str =
    "DELETE FROM activity WHERE transfer_id = ?1 AND kind = 'info'";

/// Makes `summary` the transfer's one entry of the activity log: the entry it had (started,
/// running) gives way to this one, newest, so the log holds one line per transfer however
/// many items it moved, and that line says where the transfer stands.
fn log_transfer(store: &Store, conn: &Connection, job: i64, summary: String) -> StoreResult<()> {
    conn.prepare_cached(FORGET_TRANSFER_ENTRY_SQL)
        .and_then(|mut stmt| stmt.execute([job]))
        .map_err(|e| store.error("write the sync activity log", e))?;
    activity::append(
        store,
        conn,
        &NewActivity::new(ActivityKind::Info, None, summary).transfer(job),
    )?;
    Ok(())
}

/// The line a finished transfer leaves in the activity log ("Imported 280 events from
/// Google"): what it moved, the parts that are zero left out.
fn finished_summary(p: &BackfillProgress) -> String {
    let events = |n: u32| {
        if n == 1 {
            "1 event".to_owned()
        } else {
            format!("{n} events")
        }
    };
    let mut parts = Vec::new();
    if p.created_in_crm > 0 {
        parts.push(format!("imported {} from Google", events(p.created_in_crm)));
    }
    if p.created_in_google > 0 {
        parts.push(format!("sent {} to Google", events(p.created_in_google)));
    }
    if p.linked > 0 {
        parts.push(format!("linked {}", events(p.linked)));
    }
    if p.failed > 0 {
        parts.push(format!("{} failed", p.failed));
    }
    let mut line = if parts.is_empty() {
        "Synchronize Google Calendar found nothing to transfer".to_owned()
    } else {
        parts.join(", ")
    };
    if let Some(first) = line.get(..1) {
        line = first.to_uppercase() + &line[1..];
    }
    line
}

/// What a transfer did with one item, as its entry in Sync activity lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TransferAction {
    CreateInGoogle,
    CreateInCrm,
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TransferItemState {
    Pending,
    Done,
    Failed,
    Skipped,
}

/// One item of a transfer, for the activity log's transfer entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TransferItem {
    #[ts(type = "number")]
    pub seq: i64,
    pub action: TransferAction,
    pub state: TransferItemState,
    /// The appointment (created by the transfer, sent or linked by it); none while an
    /// imported event is not stored yet, or when the appointment was deleted since.
    pub appointment_id: Option<String>,
    pub title: Option<String>,
    pub error: Option<String>,
}

/// Items per page of `transfer_items`.
pub const TRANSFER_ITEMS_PAGE: u32 = 200;

/// Up to `limit` items of transfer `transfer_id` after item `after_seq` (from the first
/// when `None`), in the order the transfer planned them. The transfer's own rows hold
/// them; an imported event's appointment is found through its link.
pub fn transfer_items(
    store: &Store,
    transfer_id: i64,
    after_seq: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<TransferItem>> {
    let limit = limit.clamp(1, 1000);
    store.read(|conn| {
        let fail = |e| store.error("read the transfer's items", e);
        let mut stmt = conn.prepare_cached(TRANSFER_ITEMS_SQL).map_err(fail)?;
        let rows = stmt
            .query_map(params![transfer_id, after_seq.unwrap_or(-1), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        rows.into_iter()
            .map(|(seq, action, state, appointment_id, title, error)| {
                let bad = |what: &str, v: &str| {
                    StoreError::BadRow(format!("transfer {transfer_id} item {seq}: {what} {v}"))
                };
                Ok(TransferItem {
                    seq,
                    action: match action.as_str() {
                        "create_in_google" => TransferAction::CreateInGoogle,
                        "create_in_crm" => TransferAction::CreateInCrm,
                        "link" => TransferAction::Link,
                        other => return Err(bad("action", other)),
                    },
                    state: match state.as_str() {
                        "pending" => TransferItemState::Pending,
                        "done" => TransferItemState::Done,
                        "failed" => TransferItemState::Failed,
                        "skipped" => TransferItemState::Skipped,
                        other => return Err(bad("state", other)),
                    },
                    appointment_id: title.as_ref().and(appointment_id),
                    title,
                    error,
                })
            })
            .collect()
    })
}

/// A transfer's items with their appointments: the item's own, or for an imported event
/// the one its link (in the transfer's calendar) points at.
pub(crate) const TRANSFER_ITEMS_SQL: &str =
    "SELECT i.seq, i.action, i.state, COALESCE(i.appointment_id, l.appointment_id), a.title, \
     i.error FROM backfill_items i \
     JOIN backfill_jobs j ON j.id = i.job_id \
     LEFT JOIN links l ON i.appointment_id IS NULL AND l.calendar_id = j.calendar_id \
     AND l.event_id = i.event_id \
     LEFT JOIN appointments a ON a.id = COALESCE(i.appointment_id, l.appointment_id) \
     WHERE i.job_id = ?1 AND i.seq > ?2 ORDER BY i.seq LIMIT ?3";

/// The unfinished job (to offer "resume"), if there is one.
pub fn status(store: &Store) -> StoreResult<Option<BackfillProgress>> {
    store.read(|conn| {
        let Some(job) = open_job(store, conn)? else {
            return Ok(None);
        };
        let counts = item_counts(store, conn, job.id)?;
        Ok(Some(progress_from(
            &job,
            counts,
            ProgressState::Cancelled,
            None,
            Some("The transfer was interrupted; resume it to finish.".into()),
        )))
    })
}

/// Whether a transfer tried to insert the appointment into Google: an insert item that
/// failed or was marked as sent before its chunk left (a done item wrote a link).
pub(crate) fn insert_tried(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
) -> StoreResult<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM backfill_items WHERE appointment_id = ?1 \
         AND action = 'create_in_google' AND (state = 'failed' OR sent_at IS NOT NULL))",
    )
    .and_then(|mut stmt| stmt.query_row([appointment_id], |r| r.get(0)))
    .map_err(|e| store.error("read the transfers", e))
}

/// Every transfer job and its items (Remove Google Account).
pub(crate) fn forget_all(store: &Store, conn: &Connection) -> StoreResult<()> {
    for sql in ["DELETE FROM backfill_items", "DELETE FROM backfill_jobs"] {
        conn.execute(sql, [])
            .map_err(|e| store.error("forget the transfers", e))?;
    }
    Ok(())
}

/// Gives up the unfinished job (what is done stays done).
pub fn discard(store: &Store) -> StoreResult<bool> {
    store.write("give up the transfer", |tx| {
        tx.execute(
            "UPDATE backfill_jobs SET state = 'cancelled', finished_at = ?1, updated_at = ?1 \
             WHERE state IN ('planned', 'running')",
            [time_str(Utc::now())],
        )
        .map(|n| n > 0)
        .map_err(|e| store.error("give up the transfer", e))
    })
}

/// Plans a new job and runs it. An unfinished job must be resumed or discarded first.
pub async fn start(
    engine: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    request: &BackfillRequest,
    progress: impl Fn(&BackfillProgress),
    cancel: &CancellationToken,
) -> Result<BackfillProgress, SyncError> {
    let _cache = store.bulk_cache();
    if store.read(|c| open_job(store, c))?.is_some() {
        return Err(SyncError::Store(StoreError::Validation {
            field: "transfer",
            message: "An earlier transfer is unfinished: resume it (or discard it) first.".into(),
        }));
    }
    let w = engine.writer(client, &ctx.calendar_id, cancel);
    let ctx = AccountContext {
        direction: request.direction,
        ..ctx.clone()
    };
    let preview = BackfillPreview {
        match_rule: MATCH_RULE.to_owned(),
        ..BackfillPreview::default()
    };
    let (job, listing) = if request.direction.writes_crm() {
        let mut job = create_job(store, &ctx, request, &preview)?;
        match import_while_listing(engine, store, &w, &ctx, request, &mut job, &progress).await {
            Ok(listing) => (job, listing),
            Err(e) => return stopped(&job, store, e, &progress),
        }
    } else {
        // Nothing is written before the whole listing is read: the job starts after it.
        let (events, calendar_tz) = list_all(engine, &w).await?;
        (
            create_job(store, &ctx, request, &preview)?,
            Listing {
                events,
                calendar_tz,
                settled: None,
            },
        )
    };
    let Listing {
        events,
        calendar_tz,
        settled,
    } = listing;
    finish_plan(
        engine,
        store,
        &w,
        &ctx,
        request,
        &job,
        &events,
        &calendar_tz,
        settled,
    )
    .await?;
    run(
        engine,
        store,
        &w,
        &ctx,
        Some(events),
        &calendar_tz,
        progress,
    )
    .await
}

/// The transfer's job, `planned` until `finish_plan` has stored all of its items.
fn create_job(
    store: &Store,
    ctx: &AccountContext,
    request: &BackfillRequest,
    preview: &BackfillPreview,
) -> StoreResult<Job> {
    let summary = JobSummary {
        preview: preview.clone(),
        ..JobSummary::default()
    };
    let summary_json = serde_json::to_string(&summary)
        .map_err(|e| StoreError::BadRow(format!("transfer summary: {e}")))?;
    let now = time_str(Utc::now());
    let id = store.write("plan the transfer", |tx| {
        tx.execute(
            "INSERT INTO backfill_jobs (calendar_id, direction, range_start, range_end, state, \
             created_at, updated_at, summary) VALUES (?1, ?2, ?3, ?4, 'planned', ?5, ?5, ?6)",
            params![
                ctx.calendar_id,
                direction_str(request.direction),
                request.since.map(|d| d.to_string()),
                request.until.map(|d| d.to_string()),
                now,
                summary_json
            ],
        )
        .map_err(|e| store.error("plan the transfer", e))?;
        let id = tx.last_insert_rowid();
        log_transfer(
            store,
            tx,
            id,
            "Synchronize Google Calendar started".to_owned(),
        )?;
        Ok(id)
    })?;
    Ok(Job {
        id,
        state: "planned".to_owned(),
        direction: request.direction,
        range_start: request.since.map(|d| d.to_string()),
        range_end: request.until.map(|d| d.to_string()),
        summary,
    })
}

/// The progress a run ends with when `e` stopped it: cancelled (the job stays to
/// resume) or failed.
fn stopped(
    job: &Job,
    store: &Store,
    e: SyncError,
    progress: &impl Fn(&BackfillProgress),
) -> Result<BackfillProgress, SyncError> {
    let counts = store.read(|c| item_counts(store, c, job.id))?;
    let cancelled = matches!(e, SyncError::Cancelled);
    let state = if cancelled {
        ProgressState::Cancelled
    } else {
        ProgressState::Failed
    };
    let message = if cancelled {
        "Cancelled; run the transfer again to finish it.".to_owned()
    } else {
        e.to_string()
    };
    let p = progress_from(job, counts, state, None, Some(message));
    progress(&p);
    if cancelled {
        Ok(p)
    } else {
        Err(e)
    }
}

/// Reads the calendar page by page and imports each page's new events while the next
/// page is on its way, so the import costs little more than the read. Only events no
/// other part of the listing can change the fate of go now (`StandaloneIndex`); every
/// other key waits for the whole plan (`finish_plan`), which finds these linked.
/// Returns the listing.
async fn import_while_listing(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    request: &BackfillRequest,
    job: &mut Job,
    progress: &impl Fn(&BackfillProgress),
) -> Result<Listing, SyncError> {
    let mode = request.mode();
    let index = store.read(|conn| {
        let appointments = appointments_except(store, conn, &HashSet::new())?;
        let crm: Vec<CrmSide> = crm_sides(store, conn, &appointments)?;
        let linked = linked_event_ids(store, conn, &ctx.calendar_id)?;
        Ok(StandaloneIndex::new(
            &crm,
            linked.iter().map(String::as_str),
        ))
    })?;
    // A resumed job keeps what it planned before: its events are not planned twice, and
    // new items are numbered after its last one.
    let (known, mut next_seq) = store.read(|conn| job_events(store, conn, job.id))?;
    let mut counts = store.read(|c| item_counts(store, c, job.id))?;
    // Each page is read on a task of its own (`list_page_on_task`): while this task
    // decides and stores page n, page n+1 is on its way and decoded on another thread,
    // one page ahead at most (the next request leaves only when this page is in hand).
    let list = |page_token: Option<String>| async move {
        w.list_page_on_task(&ListParams {
            page_token,
            max_results: Some(engine.options().page_size.clamp(1, 2500)),
            ..ListParams::default()
        })
        .await
    };
    // The events the plan still needs (`finish_plan`, `run`): not those imported while
    // listing, which are settled (their items are done) and are only remembered by id,
    // so a second copy on a later page is not imported twice.
    let mut events: HashMap<String, Event> = HashMap::new();
    let mut imported: HashSet<String> = HashSet::new();
    let mut calendar_tz: Option<String> = None;
    let mut page_token: Option<String> = None;
    let mut page = list(None).await?;
    loop {
        let tz = calendar_tz
            .get_or_insert_with(|| page.time_zone.clone().unwrap_or_else(|| "UTC".to_owned()))
            .clone();
        let next_token = page
            .next_page_token
            .take()
            .filter(|next| Some(next) != page_token.as_ref());
        let items = std::mem::take(&mut page.items);
        let more = next_token.is_some();
        let import = async {
            // Lets the next page's request leave before this page's work holds the
            // thread.
            tokio::task::yield_now().await;
            // Decided here, once: an event that stands alone has no appointment, link or
            // series to look up, so what `item_plan` would read back is what is known
            // now (the transfer holds the sync lock; nothing links it meanwhile).
            let mut new_events: Vec<Planned> = Vec::with_capacity(items.len());
            let mut on_this_page: HashSet<&str> = HashSet::with_capacity(items.len());
            for e in &items {
                let Ok(side) = google_side_of(e, &tz, &ctx.privacy, &Lead::default(), None) else {
                    continue;
                };
                // An event listed twice (on two pages, as a listing of a changing
                // calendar may) is planned once; the whole plan sees the later copy.
                if !index.stands_alone(&side)
                    || known.contains(&side.event_id)
                    || events.contains_key(&side.event_id)
                    || imported.contains(&side.event_id)
                    || !e.id.as_deref().is_some_and(|id| on_this_page.insert(id))
                {
                    continue;
                }
                let item = SyncItem {
                    key: SyncKey {
                        appointment_id: None,
                        event_id: Some(side.event_id.clone()),
                    },
                    crm: None,
                    google: Some(side),
                    base: None,
                    paired_by: None,
                    series: None,
                };
                let ops = decide(&item, ctx.direction, &mode);
                if ops
                    .iter()
                    .any(|op| matches!(op, SyncOp::CreateInCrm { .. }))
                {
                    let mut p = Planned::new(item, ops);
                    p.event_status = e.status.clone();
                    new_events.push(p);
                }
            }
            drop(on_this_page);
            // Written in event id order, so the links' unique (calendar, event id) index
            // takes each page's rows in order rather than scattered over its pages. By a
            // copy of the key: a plan is 1.7 KB, and a sort that swaps the plans
            // themselves moved ~25 MB for a page of 1,000 (4 ms of an import of 1,000);
            // this one sorts the keys and moves each plan once.
            new_events.sort_by_cached_key(|p| p.item.key.event_id.clone());
            let mut imported_here: HashSet<&str> = HashSet::with_capacity(new_events.len());
            imported_here.extend(
                new_events
                    .iter()
                    .filter_map(|p| p.item.key.event_id.as_deref()),
            );
            imported.reserve(imported_here.len());
            for e in items {
                match e.id.clone() {
                    Some(id) if imported_here.contains(id.as_str()) => {
                        imported.insert(id);
                    }
                    Some(id) if !imported.contains(&id) => {
                        events.insert(id, e);
                    }
                    _ => {}
                }
            }
            drop(imported_here);
            if new_events.is_empty() {
                return Ok(());
            }
            let first_seq = next_seq;
            let rows = new_event_items(
                first_seq,
                new_events
                    .iter()
                    .filter_map(|p| p.item.key.event_id.as_deref()),
            );
            next_seq = next_seq.saturating_add(i64::try_from(rows.len()).unwrap_or(i64::MAX));
            counts.total += u32::try_from(rows.len()).unwrap_or(u32::MAX);
            for (p, row) in new_events.iter_mut().zip(&rows) {
                p.job_item = Some((job.id, row.seq));
            }
            // The items commit with the appointments and links they stand for, already
            // done: a crash before that commit leaves neither, and the resumed listing
            // imports those events again.
            let job_id = job.id;
            let store_items = |tx: &Transaction<'_>| {
                let items: Vec<NewItem<'_>> = rows
                    .iter()
                    .map(|item| NewItem {
                        seq: item.seq,
                        action: "create_in_crm",
                        appointment_id: None,
                        event_id: item.event_id.as_deref(),
                    })
                    .collect();
                write_items(store, tx, job_id, &items, ItemState::Done)
            };
            run_planned(
                engine,
                store,
                w,
                ctx,
                &mode,
                &tz,
                job,
                new_events,
                0,
                &mut counts,
                Some(&store_items),
            )
            .await?;
            // The log is folded in now, while the next page is on its way, rather than
            // by the commit of a later page (`Store::bulk_cache`): after the last page
            // nothing is left to overlap.
            if more {
                store.checkpoint();
            }
            Ok::<(), SyncError>(())
        };
        let next = match &next_token {
            Some(token) => {
                let (next, imported) = tokio::join!(list(Some(token.clone())), import);
                imported?;
                Some(next?)
            }
            None => {
                import.await?;
                None
            }
        };
        // How many items there are is known once the listing is read; until then the
        // bar counts the page on its way as still to do, so it never shows full early.
        let ahead = if next.is_some() {
            engine.options().page_size.clamp(1, 2500)
        } else {
            0
        };
        progress(&progress_from(
            job,
            ItemCounts {
                total: counts.total.saturating_add(ahead),
                ..counts
            },
            ProgressState::Running,
            None,
            None,
        ));
        match next {
            Some(next) => {
                page_token = next_token;
                page = next;
            }
            None => break,
        }
    }
    // The job's items are the earlier process's and this listing's: handed to
    // `finish_plan` as they are, rather than read back from the job.
    // The smaller set goes into the larger (on a fresh job, `known` is empty).
    let (mut settled, rest) = if known.len() >= imported.len() {
        (known, imported)
    } else {
        (imported, known)
    };
    settled.extend(rest);
    Ok(Listing {
        events,
        calendar_tz: calendar_tz.unwrap_or_else(|| "UTC".to_owned()),
        settled: Some(Settled { settled, next_seq }),
    })
}

/// What the listing read, and (when it imported while reading) what the job settled.
struct Listing {
    events: HashMap<String, Event>,
    calendar_tz: String,
    settled: Option<Settled>,
}

/// The event ids a job's items name, and the number its next item gets.
struct Settled {
    settled: HashSet<String>,
    next_seq: i64,
}

/// The job items (`create_in_crm`) of events imported while the listing is read,
/// numbered from `first_seq`.
fn new_event_items<'a>(first_seq: i64, event_ids: impl Iterator<Item = &'a str>) -> Vec<ItemRow> {
    // Sized for the most there can be: a filtered iterator's lower bound is 0, and
    // growing the vector from there reallocates it a dozen times for a page.
    let mut rows = Vec::with_capacity(event_ids.size_hint().1.unwrap_or(0));
    rows.extend(event_ids.enumerate().map(|(i, event_id)| ItemRow {
        seq: first_seq.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
        appointment_id: None,
        event_id: Some(event_id.to_owned()),
        failed: false,
    }));
    rows
}

/// Decides every key with the whole listing and stores the items the job does not hold
/// yet (events imported while listing come out linked), then marks the job `running`.
#[allow(clippy::too_many_arguments)]
async fn finish_plan(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    request: &BackfillRequest,
    job: &Job,
    events: &HashMap<String, Event>,
    calendar_tz: &str,
    settled: Option<Settled>,
) -> Result<(), SyncError> {
    // Items already in the job (imported while listing, or failed there and to be tried
    // again by the run) are neither planned nor stored twice. The listing hands them
    // over when it imported; read back from the job, they cost a pass over every item
    // (a tenth of the plan at 10,000 events).
    let (known, first_seq) = match settled {
        Some(Settled { settled, next_seq }) => {
            debug_assert_eq!(
                store.read(|conn| job_events(store, conn, job.id)).ok(),
                Some((settled.clone(), next_seq)),
                "the listing's account of the job's items differs from the job's"
            );
            (settled, next_seq)
        }
        None => store.read(|conn| job_events(store, conn, job.id))?,
    };
    let planned = plan(engine, store, w, ctx, request, events, calendar_tz, &known).await?;
    store.write("plan the transfer", |tx| {
        let fail = |e| store.error("plan the transfer", e);
        insert_items(store, tx, job.id, first_seq, &planned.items)?;
        // The events imported while listing are not in the plan; the preview counts them
        // as what they were: events to create in Bookline.
        let streamed = u32::try_from(known.len()).unwrap_or(u32::MAX);
        let mut preview = planned.preview.clone();
        preview.create_in_crm += streamed;
        let summary = JobSummary {
            preview: preview.clone(),
            ..job.summary.clone()
        };
        save_summary(store, tx, job.id, &summary)?;
        tx.execute(
            "UPDATE backfill_jobs SET state = 'running' WHERE id = ?1",
            [job.id],
        )
        .map_err(fail)?;
        log_transfer(
            store,
            tx,
            job.id,
            format!(
                "Synchronize Google Calendar running: {} to create in Google, {} in Bookline, {} to link",
                preview.create_in_google, preview.create_in_crm, preview.matched_equal
            ),
        )?;
        Ok(())
    })?;
    Ok(())
}

/// Job items per multi-row INSERT (5 parameters each, far below SQLite's limit).
const ITEMS_PER_INSERT: usize = 200;

/// Stores the plan's items as job `job`, in the caller's transaction: a few hundred rows
/// per statement, since an import plans one item per event and a statement per row cost
/// more than the rows.
fn insert_items(
    store: &Store,
    conn: &Connection,
    job: i64,
    first_seq: i64,
    items: &[(SyncItem, Vec<SyncOp>)],
) -> StoreResult<()> {
    let rows: Vec<NewItem<'_>> = items
        .iter()
        .enumerate()
        .map(|(i, (item, ops))| NewItem {
            seq: first_seq.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
            action: item_action(ops),
            appointment_id: item.key.appointment_id.as_deref(),
            event_id: item.key.event_id.as_deref(),
        })
        .collect();
    write_items(store, conn, job, &rows, ItemState::Pending)
}

/// The state job items are written in: to do, or done by the transaction that writes
/// them (`SyncEngine::execute`).
#[derive(Clone, Copy)]
enum ItemState {
    Pending,
    Done,
}

/// A job item to store.
struct NewItem<'a> {
    seq: i64,
    action: &'static str,
    appointment_id: Option<&'a str>,
    event_id: Option<&'a str>,
}

/// Writes job items, `ITEMS_PER_INSERT` rows per statement.
fn write_items(
    store: &Store,
    conn: &Connection,
    job: i64,
    items: &[NewItem<'_>],
    state: ItemState,
) -> StoreResult<()> {
    // A done item was tried once, as `mark_items` counts.
    let row = match state {
        ItemState::Pending => "(?, ?, ?, ?, ?, 'pending', 0)",
        ItemState::Done => "(?, ?, ?, ?, ?, 'done', 1)",
    };
    for rows in items.chunks(ITEMS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO backfill_items \
             (job_id, seq, action, appointment_id, event_id, state, attempts) VALUES ",
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 5);
        for (i, item) in rows.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(row);
            values.push(&job);
            values.push(&item.seq);
            values.push(&item.action);
            values.push(&item.appointment_id);
            values.push(&item.event_id);
        }
        conn.prepare_cached(&sql)
            .and_then(|mut stmt| stmt.execute(values.as_slice()))
            .map_err(|e| store.error("plan the transfer", e))?;
    }
    Ok(())
}

/// What a planned item does, as `backfill_items.action` says it.
fn item_action(ops: &[SyncOp]) -> &'static str {
    if ops
        .iter()
        .any(|o| matches!(o, SyncOp::CreateInGoogle { .. }))
    {
        "create_in_google"
    } else if ops.iter().any(|o| matches!(o, SyncOp::CreateInCrm { .. })) {
        "create_in_crm"
    } else {
        "link"
    }
}

/// Continues the unfinished job (after a crash, a quit or a cancel).
pub async fn resume(
    engine: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    progress: impl Fn(&BackfillProgress),
    cancel: &CancellationToken,
) -> Result<BackfillProgress, SyncError> {
    let _cache = store.bulk_cache();
    let w = engine.writer(client, &ctx.calendar_id, cancel);
    let Some(job) = store.read(|c| open_job(store, c))? else {
        return Err(SyncError::Store(StoreError::NotFound {
            id: "backfill job".into(),
        }));
    };
    // A resumed job reads Google again: events created before the interruption are
    // found there (by their derived ids) and linked instead of created twice.
    let mut job = job;
    let planning = job.state == "planned";
    let job_ctx = AccountContext {
        direction: job.direction,
        ..ctx.clone()
    };
    let Listing {
        events,
        calendar_tz,
        settled,
    } = if planning && job.direction.writes_crm() {
        // Interrupted while Google was being read: go on importing while reading, so a
        // job interrupted again and again still gets further each time.
        let request = job_request(&job);
        match import_while_listing(engine, store, &w, &job_ctx, &request, &mut job, &progress).await
        {
            Ok(listing) => listing,
            Err(e) => return stopped(&job, store, e, &progress),
        }
    } else {
        let (events, calendar_tz) = list_all(engine, &w).await?;
        Listing {
            events,
            calendar_tz,
            settled: None,
        }
    };
    if planning {
        // Plan what was not imported while reading.
        let ctx = job_ctx;
        finish_plan(
            engine,
            store,
            &w,
            &ctx,
            &job_request(&job),
            &job,
            &events,
            &calendar_tz,
            settled,
        )
        .await?;
    }
    run(engine, store, &w, ctx, Some(events), &calendar_tz, progress).await
}

/// What the user asked for when they started `job`.
fn job_request(job: &Job) -> BackfillRequest {
    BackfillRequest {
        direction: job.direction,
        since: job.range_start.as_deref().and_then(|s| s.parse().ok()),
        until: job.range_end.as_deref().and_then(|s| s.parse().ok()),
    }
}

async fn run(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    events: Option<HashMap<String, Event>>,
    calendar_tz: &str,
    progress: impl Fn(&BackfillProgress),
) -> Result<BackfillProgress, SyncError> {
    let Some(mut job) = store.read(|c| open_job(store, c))? else {
        return Err(SyncError::Store(StoreError::NotFound {
            id: "backfill job".into(),
        }));
    };
    let (events, calendar_tz) = match events {
        Some(e) => (e, calendar_tz.to_owned()),
        None => list_all(engine, w).await?,
    };
    let mode = job_request(&job).mode();
    let ctx = AccountContext {
        direction: job.direction,
        ..ctx.clone()
    };
    let chunk = if job.direction.writes_google() {
        GOOGLE_CHUNK
    } else {
        CHUNK
    };
    let started = Instant::now();
    // Counted once here and kept up to date from each committed chunk's own items, not
    // recounted over the whole job for every progress report.
    let mut counts = store.read(|c| item_counts(store, c, job.id))?;
    let already = counts.finished;
    let mut done_here: u32 = 0;
    progress(&progress_from(
        &job,
        counts,
        ProgressState::Running,
        None,
        None,
    ));
    loop {
        if w.cancel.is_cancelled() {
            let p = progress_from(
                &job,
                counts,
                ProgressState::Cancelled,
                None,
                Some("Cancelled; run the transfer again to finish it.".into()),
            );
            progress(&p);
            return Ok(p);
        }
        // Read ahead, so a chunk can end behind the occurrences of its last series.
        let items = store.read(|conn| pending_items(store, conn, job.id, chunk * 2))?;
        let items = keep_series_whole(items, chunk, &events);
        if items.is_empty() {
            break;
        }
        let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let result = run_chunk(
            engine,
            store,
            w,
            &ctx,
            &mode,
            &events,
            &calendar_tz,
            &mut job,
            items,
            &mut counts,
        )
        .await;
        if let Err(e) = result {
            let cancelled = matches!(e, SyncError::Cancelled);
            let state = if cancelled {
                ProgressState::Cancelled
            } else {
                ProgressState::Failed
            };
            let p = progress_from(&job, counts, state, None, Some(e.to_string()));
            progress(&p);
            return if cancelled { Ok(p) } else { Err(e) };
        }
        done_here += count;
        let remaining = counts.total.saturating_sub(already + done_here);
        let elapsed = started.elapsed().as_secs_f64();
        let eta = (done_here > 0)
            .then(|| (elapsed / f64::from(done_here) * f64::from(remaining)).ceil() as u64);
        progress(&progress_from(
            &job,
            counts,
            ProgressState::Running,
            eta,
            None,
        ));
    }
    let now = time_str(Utc::now());
    let final_progress = store.write("finish the transfer", |tx| {
        tx.execute(
            "UPDATE backfill_jobs SET state = 'done', finished_at = ?2, updated_at = ?2 WHERE id = ?1",
            params![job.id, now],
        )
        .map_err(|e| store.error("finish the transfer", e))?;
        let p = progress_from(&job, counts, ProgressState::Finished, Some(0), None);
        log_transfer(store, tx, job.id, finished_summary(&p))?;
        Ok(p)
    })?;
    progress(&final_progress);
    Ok(final_progress)
}

/// Runs `items` of the job as one chunk: each decided again with both sides as they
/// are now, the writes done, and the items' states, the job's counts and the CRM writes
/// committed together. `job.summary` and `counts` follow what was committed.
#[allow(clippy::too_many_arguments)]
async fn run_chunk(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    mode: &Mode,
    events: &HashMap<String, Event>,
    calendar_tz: &str,
    job: &mut Job,
    items: Vec<ItemRow>,
    counts: &mut ItemCounts,
) -> Result<(), SyncError> {
    let failed_before = u32::try_from(items.iter().filter(|i| i.failed).count()).unwrap_or(0);
    let planned = store.read(|conn| {
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(item_plan(
                store,
                conn,
                ctx,
                mode,
                events,
                calendar_tz,
                job.id,
                item.seq,
                item.appointment_id.clone(),
                item.event_id.clone(),
            )?);
        }
        Ok(out)
    })?;
    run_planned(
        engine,
        store,
        w,
        ctx,
        mode,
        calendar_tz,
        job,
        planned,
        failed_before,
        counts,
        None,
    )
    .await
}

/// Runs a chunk of decided job items (`job_item` set on each): Google's writes, then
/// one transaction that applies them, marks the items and saves the job's counts.
/// `failed_before`: how many of them had failed on an earlier run.
#[allow(clippy::too_many_arguments)]
async fn run_planned(
    engine: &SyncEngine,
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    mode: &Mode,
    calendar_tz: &str,
    job: &mut Job,
    planned: Vec<Planned>,
    failed_before: u32,
    counts: &mut ItemCounts,
    store_items: Option<StoreItems<'_>>,
) -> Result<(), SyncError> {
    let seqs: Vec<i64> = planned
        .iter()
        .filter_map(|p| p.job_item.map(|(_, seq)| seq))
        .collect();
    // Occurrences whose series this chunk creates go with it, behind it.
    let planned = pair_new_series(
        planned,
        |p| (&mut p.item, &mut p.ops),
        ctx.direction,
        mode,
        new_appointment_id,
    );
    let mut report = SyncReport::default();
    let effective = |p: &Planned| p.ops.iter().any(SyncOp::is_effective);
    // Split only when there is something to split off: a page of imports is all
    // effective, and each partition moves every 1.7 KB plan into new memory.
    let (to_run, nothing): (Vec<Planned>, Vec<Planned>) = if planned.iter().all(effective) {
        (planned, Vec::new())
    } else {
        planned.into_iter().partition(effective)
    };
    let job_id = job.id;
    mark_inserts_sent(store, job_id, &to_run)?;
    let before = job.summary.clone();
    let mut saved: Option<(JobSummary, (u32, u32, u32))> = None;
    engine
        .execute(
            store,
            w,
            ctx,
            mode,
            to_run,
            calendar_tz,
            &mut report,
            store_items,
            |tx, counts| {
                let skipped: Vec<i64> = nothing
                    .iter()
                    .filter_map(|p| p.job_item.map(|(_, seq)| seq))
                    .collect();
                mark_items(store, tx, job_id, &skipped, "skipped")?;
                // Counted from what this transaction applied, not from the plan: an
                // insert that met 409 (the event arrived in an earlier, interrupted
                // attempt) is re-decided as a link and counts as linked, and the counts
                // commit with the items, so a crash can never count a chunk twice or
                // not at all. None of the chunk's items was `done` before it ran.
                let states = chunk_states(store, tx, job_id, &seqs)?;
                let applied = states.0;
                let created = counts.created_in_google + counts.created_in_crm;
                let summary = JobSummary {
                    created_in_google: before.created_in_google + counts.created_in_google,
                    created_in_crm: before.created_in_crm + counts.created_in_crm,
                    linked: before.linked + applied.saturating_sub(created),
                    preview: before.preview.clone(),
                };
                save_summary(store, tx, job_id, &summary)?;
                saved = Some((summary, states));
                Ok(())
            },
        )
        .await?;
    if let Some((summary, (done, skipped, failed))) = saved {
        job.summary = summary;
        counts.finished += done + skipped;
        counts.failed = (counts.failed + failed).saturating_sub(failed_before);
    }
    Ok(())
}

/// The first `chunk` of `items`, plus the items right behind them that are occurrences
/// of a series in the chunk (the plan puts them there, `pair_new_series`): a series and
/// its occurrences commit together, so an occurrence never runs after its series failed
/// and is skipped as waiting for a series that is not linked.
fn keep_series_whole(
    mut items: Vec<ItemRow>,
    chunk: usize,
    events: &HashMap<String, Event>,
) -> Vec<ItemRow> {
    let series_of = |item: &ItemRow| {
        let event = events.get(item.event_id.as_deref()?)?;
        event.recurring_event_id.clone()
    };
    let mut end = chunk.min(items.len());
    if end > 0 {
        let in_chunk: HashSet<&str> = items[..end]
            .iter()
            .filter_map(|i| i.event_id.as_deref())
            .collect();
        let extra = items[end..]
            .iter()
            .take_while(|i| series_of(i).is_some_and(|s| in_chunk.contains(s.as_str())))
            .count();
        end += extra;
    }
    items.truncate(end);
    items
}

/// A job item still to do.
struct ItemRow {
    seq: i64,
    appointment_id: Option<String>,
    event_id: Option<String>,
    /// Tried before and failed (it counts among the job's failures until it succeeds).
    failed: bool,
}

/// Items still to do; failed ones are tried again (a few times) on each run.
fn pending_items(
    store: &Store,
    conn: &Connection,
    job: i64,
    limit: usize,
) -> StoreResult<Vec<ItemRow>> {
    let fail = |e| store.error("read the transfer's items", e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, appointment_id, event_id, state = 'failed' FROM backfill_items \
             WHERE job_id = ?1 AND (state = 'pending' OR (state = 'failed' AND attempts < 3)) \
             ORDER BY seq LIMIT ?2",
        )
        .map_err(fail)?;
    let rows = stmt
        .query_map(
            params![job, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(ItemRow {
                    seq: r.get(0)?,
                    appointment_id: r.get(1)?,
                    event_id: r.get(2)?,
                    failed: r.get(3)?,
                })
            },
        )
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    Ok(rows)
}

/// One item decided again with both sides as they are now: a resumed item already done
/// in Google (or linked by ongoing sync meanwhile) comes out as a link or a skip.
#[allow(clippy::too_many_arguments)]
fn item_plan(
    store: &Store,
    conn: &Connection,
    ctx: &AccountContext,
    mode: &Mode,
    events: &HashMap<String, Event>,
    calendar_tz: &str,
    job: i64,
    seq: i64,
    appointment_id: Option<String>,
    event_id: Option<String>,
) -> StoreResult<Planned> {
    let appointment = match &appointment_id {
        Some(id) => store.get_in(conn, id)?,
        None => None,
    };
    let link = match (&appointment_id, &event_id) {
        (Some(a), _) => links::by_appointment(store, conn, a)?,
        (None, Some(e)) => links::by_event(store, conn, &ctx.calendar_id, e)?,
        _ => None,
    };
    let event_id = event_id
        .or_else(|| link.as_ref().map(|l| l.event_id.clone()))
        .or_else(|| appointment_id.as_deref().and_then(ids::event_id_for));
    let source_event_id = match (&appointment, &link) {
        (Some(a), None) => store.source_event_id_in(conn, &a.id)?,
        _ => None,
    };
    let lead = appointment
        .as_ref()
        .map(|a| a.lead.clone())
        .unwrap_or_else(Lead::default);
    let event = event_id.as_deref().and_then(|e| events.get(e));
    let google = event.and_then(|e| {
        google_side_of(
            e,
            calendar_tz,
            &ctx.privacy,
            &lead,
            link.as_ref().map(|l| &l.snapshot.google),
        )
        .ok()
    });
    let paired_by = match (&link, &appointment, &google) {
        (Some(_), _, _) => Some(PairedBy::Link),
        (None, Some(a), Some(g)) if ids::event_id_for(&a.id).as_deref() == Some(&g.event_id) => {
            Some(PairedBy::DerivedEventId)
        }
        (None, Some(_), Some(g)) if g.bookline_appointment_id.is_some() => {
            Some(PairedBy::BooklineProperty)
        }
        (None, Some(_), Some(g)) if source_event_id.as_ref() == Some(&g.event_id) => {
            Some(PairedBy::SourceEventId)
        }
        (None, Some(_), Some(_)) => Some(PairedBy::EqualContent),
        _ => None,
    };
    let item = SyncItem {
        key: SyncKey {
            appointment_id: appointment.as_ref().map(|a| a.id.clone()),
            event_id: if google.is_some() || link.is_some() {
                event_id
            } else {
                None
            },
        },
        crm: appointment.as_ref().map(|a| CrmSide {
            source_event_id,
            ..crm_side(a)
        }),
        google,
        base: link.as_ref().map(|l| Box::new(l.snapshot.clone())),
        paired_by,
        series: None,
    };
    let series = series_ref(store, conn, item.crm.as_ref(), item.google.as_ref())?;
    let item = SyncItem { series, ..item };
    let ops = decide(&item, ctx.direction, mode);
    let mut p = Planned::new(item, ops);
    p.lead = lead;
    p.event_status = event.and_then(|e| e.status.clone());
    p.link = link.map(Box::new);
    p.job_item = Some((job, seq));
    Ok(p)
}

/// Marks one item of a job (`done`, `failed`, `skipped`), in the caller's transaction.
pub(crate) fn mark_item(
    store: &Store,
    conn: &Connection,
    job: i64,
    seq: i64,
    state: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE backfill_items SET state = ?3, error = ?4, attempts = attempts + 1 \
         WHERE job_id = ?1 AND seq = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![job, seq, state, error]))
    .map_err(|e| store.error("record the transfer's progress", e))?;
    Ok(())
}

/// Marks items of jobs `done`, one statement per job (a page of an import is one job),
/// in the caller's transaction.
pub(crate) fn mark_done(
    store: &Store,
    conn: &Connection,
    items: impl IntoIterator<Item = (i64, i64)>,
) -> StoreResult<()> {
    let mut by_job: HashMap<i64, Vec<i64>> = HashMap::new();
    for (job, seq) in items {
        by_job.entry(job).or_default().push(seq);
    }
    for (job, seqs) in by_job {
        mark_items(store, conn, job, &seqs, "done")?;
    }
    Ok(())
}

/// Marks the items `seqs` of one job with `state` (clearing any earlier error), in one
/// statement.
fn mark_items(
    store: &Store,
    conn: &Connection,
    job: i64,
    seqs: &[i64],
    state: &str,
) -> StoreResult<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE backfill_items SET state = ?3, error = NULL, attempts = attempts + 1 \
         WHERE job_id = ?1 AND seq IN (SELECT value FROM json_each(?2))",
    )
    .and_then(|mut stmt| stmt.execute(params![job, seq_list(seqs), state]))
    .map_err(|e| store.error("record the transfer's progress", e))?;
    Ok(())
}

/// Marks the chunk's inserts into Google as sent, in a commit of their own before they
/// leave: if the process dies before their answers are recorded, an event may exist in
/// Google with nothing linking it, and a delete of the appointment meanwhile must still
/// reach it (`engine::orphan_delete` reads the mark).
fn mark_inserts_sent(store: &Store, job: i64, chunk: &[Planned]) -> StoreResult<()> {
    let seqs: Vec<i64> = chunk
        .iter()
        .filter(|p| {
            p.ops
                .iter()
                .any(|op| matches!(op, SyncOp::CreateInGoogle { instance: None, .. }))
        })
        .filter_map(|p| p.job_item.map(|(_, seq)| seq))
        .collect();
    if seqs.is_empty() {
        return Ok(());
    }
    store.write("record the transfer's progress", |tx| {
        tx.prepare_cached(
            "UPDATE backfill_items SET sent_at = ?3 \
             WHERE job_id = ?1 AND sent_at IS NULL AND seq IN (SELECT value FROM json_each(?2))",
        )
        .and_then(|mut stmt| stmt.execute(params![job, seq_list(&seqs), time_str(Utc::now())]))
        .map_err(|e| store.error("record the transfer's progress", e))?;
        Ok(())
    })
}

/// Item numbers as the JSON array `json_each` reads.
fn seq_list(seqs: &[i64]) -> String {
    let mut out = String::with_capacity(seqs.len() * 6 + 2);
    out.push('[');
    for (i, seq) in seqs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&seq.to_string());
    }
    out.push(']');
    out
}

/// States of a chunk's items: (done, skipped, failed). Looked up by key, so a chunk costs
/// its own size, not the job's.
fn chunk_states(
    store: &Store,
    conn: &Connection,
    job: i64,
    seqs: &[i64],
) -> StoreResult<(u32, u32, u32)> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(state = 'done'), 0), COALESCE(SUM(state = 'skipped'), 0), \
         COALESCE(SUM(state = 'failed'), 0) FROM backfill_items \
         WHERE job_id = ?1 AND seq IN (SELECT value FROM json_each(?2))",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![job, seq_list(seqs)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
    })
    .map(|(d, s, f)| {
        let n = |v: i64| u32::try_from(v).unwrap_or(0);
        (n(d), n(s), n(f))
    })
    .map_err(|e| store.error("read the transfer's progress", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(created_in_crm: u32, created_in_google: u32, linked: u32, failed: u32) -> String {
        finished_summary(&BackfillProgress {
            state: ProgressState::Finished,
            total: created_in_crm + created_in_google + linked + failed,
            done: created_in_crm + created_in_google + linked + failed,
            created_in_google,
            created_in_crm,
            linked,
            failed,
            eta_secs: Some(0),
            message: None,
        })
    }

    #[test]
    fn a_finished_transfer_says_what_it_moved_in_one_line() {
        assert_eq!(finished(280, 0, 0, 0), "Imported 280 events from Google");
        assert_eq!(finished(1, 0, 0, 0), "Imported 1 event from Google");
        assert_eq!(
            finished(0, 12, 1, 2),
            "Sent 12 events to Google, linked 1 event, 2 failed"
        );
        assert_eq!(
            finished(0, 0, 0, 0),
            "Synchronize Google Calendar found nothing to transfer"
        );
    }
}
