//! One ongoing-sync pass: pull Google's changes, push the outbox.
//!
//! Shape (Yaak's compute/apply split, vdirsyncer's status table): read both sides for a
//! set of keys → `join` + `decide` (pure) → write to Google (paced, batched, retried) →
//! one SQLite transaction that applies the CRM side, writes the links, completes the
//! outbox entries and logs the activity. A link is written only after the Google write
//! it records succeeded; a crash in between is retried, and the event id derived from
//! the appointment id turns the retried insert into a harmless 409.
//!
//! Backfill (`sync::backfill`) runs its items through the same `execute`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::google::{CalendarClient, Event, EventStatus, EventsPage, ListParams, WriteOptions};
use crate::model::{Appointment, AppointmentInput, Lead, Origin, Recurrence, Status};
use crate::ratelimit::RateLimiter;
use crate::store::{BookingRow, OutboxOp, Store, StoreError};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::booking::{self, LeadAnswered};
use crate::sync::decide::{
    decide, guard_totals, join, pair_new_series, CrmSide, DeletePolicy, Direction, GoogleSide,
    InstanceRef, LinkRecord, Mode, PairedBy, Side, SkipReason, Snapshot, SyncItem, SyncKey, SyncOp,
};
pub use crate::sync::error::SyncError;
use crate::sync::fields::{Field, FieldSet, SyncFields, SyncStatus};
use crate::sync::held;
use crate::sync::ids;
use crate::sync::links::{self, GoogleText, Link};
use crate::sync::mapping::{self, MappingContext, APPOINTMENT_ID_PROPERTY};
use crate::sync::parked;
use crate::sync::privacy::PrivacySettings;
use crate::sync::writer::{Outcome, WriteCall, Writer, WriterOptions};
use crate::validation::ChangeSource;

/// What the engine needs to know about the connected account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountContext {
    pub calendar_id: String,
    /// Items created in Google or the CRM after this are *new*; older ones wait for
    /// backfill.
    pub connected_at: DateTime<Utc>,
    pub direction: Direction,
    pub privacy: PrivacySettings,
    /// The popup reminder written on events Bookline inserts (`None`: the calendar's
    /// default reminders).
    pub default_reminder_minutes: Option<u32>,
}

/// What a pass did (the UI contract's `SyncReport`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncReport {
    pub created_in_google: u32,
    pub updated_in_google: u32,
    pub deleted_in_google: u32,
    pub created_in_crm: u32,
    pub updated_in_crm: u32,
    pub deleted_in_crm: u32,
    pub conflicts: u32,
    /// One sentence per item that failed (it stays queued and is retried next pass).
    pub errors: Vec<String>,
    /// Deletions held for the user's decision after this pass (`sync::held`): the pass
    /// would have deleted more than the delete guard allows, or a decision was pending.
    #[serde(default)]
    pub held_deletes: u32,
    /// The leads' answers this pass brought in. The shell announces them from
    /// `booking::take_unannounced` (this report is published only as the loop's latest,
    /// so a pass's answers here can be overwritten by the next pass before anyone reads
    /// them); here they are for `bookline sync --json` and the tests.
    #[serde(default)]
    pub lead_answers: Vec<LeadAnswered>,
    /// Appointments whose booking — what the list and the dialog show of their Meet link,
    /// invitation and lead's answer — the pass changed: a link Google made on a retry or
    /// completed, a lead's answer. Counted apart from the writes above: a pass can change
    /// these alone.
    #[serde(default)]
    pub booking_changes: u32,
}

impl SyncReport {
    /// Whether the pass wrote anything anywhere, or changed what an appointment shows of
    /// its booking (the window's lists reload on it).
    pub fn changed_anything(&self) -> bool {
        self.created_in_google
            + self.updated_in_google
            + self.deleted_in_google
            + self.created_in_crm
            + self.updated_in_crm
            + self.deleted_in_crm
            + self.booking_changes
            > 0
    }

    /// Adds what a later step (a decision on held deletions after the pass) did; what is
    /// held is what the later step left.
    pub fn absorb(&mut self, later: SyncReport) {
        let held = later.held_deletes;
        merge_counts(self, later);
        self.held_deletes = held;
    }
}

/// Tuning of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Google's per-user quota (600 per minute).
    pub quota_per_window: u32,
    /// The quota's window (a minute at Google; tests shorten it).
    pub quota_window: Duration,
    /// The share of the quota Bookline lets itself use.
    pub quota_safety: f64,
    pub writer: WriterOptions,
    pub delete_policy: DeletePolicy,
    /// `maxResults` of `events.list` (Google's maximum is 2500).
    pub page_size: u32,
    /// Outbox entries (appointments) handled per transaction.
    pub push_chunk: usize,
    /// Runs right before a batch's CRM side is applied (after the batch was planned and
    /// its Google writes are done): a seam for tests to land a user's edit in that
    /// window. `None` in the app.
    pub before_apply: Option<ApplyHook>,
}

/// `EngineOptions::before_apply`.
#[derive(Clone)]
pub struct ApplyHook(pub std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for ApplyHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApplyHook")
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            quota_per_window: 600,
            quota_window: Duration::from_secs(60),
            quota_safety: 0.97,
            writer: WriterOptions::default(),
            delete_policy: DeletePolicy::default(),
            page_size: 2500,
            push_chunk: 500,
            before_apply: None,
        }
    }
}

/// The sync engine: holds the rate limiter, so one engine per account must be shared by
/// everything that talks to that account's calendar (passes and backfill).
#[derive(Debug)]
pub struct SyncEngine {
    limiter: RateLimiter,
    options: EngineOptions,
}

/// Deletes a set of plans would make on each side.
#[derive(Debug, Clone, Copy, Default)]
struct DeleteCounts {
    crm: usize,
    google: usize,
}

impl DeleteCounts {
    fn add(&mut self, planned: &[Planned]) {
        for op in planned.iter().flat_map(|p| &p.ops) {
            match op.deletes_from() {
                Some(Side::Crm) => self.crm += 1,
                Some(Side::Google) => self.google += 1,
                None => {}
            }
        }
    }
}

/// The mass-delete guard of one pass (spec: more than 20 items or 10% of a side needs
/// the user's yes). It weighs every delete of the pass — the pull's whole listing and
/// then the push — against the sizes the sides had when the pass started, so deletes
/// spread over pages or over pull and push add up. Once it trips, every further
/// deletion of the pass is held (`sync::held`) and the rest of the pass goes on; while
/// a decision is pending, every deletion of later passes is held too.
#[derive(Debug)]
struct PassGuard {
    confirmed: bool,
    /// Deletions are being held: the guard tripped, or a decision was pending.
    holding: bool,
    /// Deletes already let through in this pass.
    allowed: DeleteCounts,
    /// (appointments, linked events) when first needed.
    totals: Option<(usize, usize)>,
}

impl PassGuard {
    fn new(confirmed: bool, holding: bool) -> Self {
        Self {
            confirmed,
            holding: holding && !confirmed,
            allowed: DeleteCounts::default(),
            totals: None,
        }
    }

    /// Lets `more` deletes through (false), or says to hold them (true; nothing of `more`
    /// applied yet).
    fn check(
        &mut self,
        engine: &SyncEngine,
        store: &Store,
        ctx: &AccountContext,
        more: DeleteCounts,
    ) -> Result<bool, SyncError> {
        if self.confirmed || (more.crm == 0 && more.google == 0) {
            return Ok(false);
        }
        if self.holding {
            return Ok(true);
        }
        let (crm_total, google_total) = match self.totals {
            Some(t) => t,
            None => {
                let crm = usize::try_from(store.appointment_count()?).unwrap_or(usize::MAX);
                let google = store.read(|c| links::count(store, c, &ctx.calendar_id))?;
                *self.totals.get_or_insert((crm, google))
            }
        };
        let crm_deletes = self.allowed.crm + more.crm;
        let google_deletes = self.allowed.google + more.google;
        let g = guard_totals(
            crm_deletes,
            google_deletes,
            crm_total,
            google_total,
            &engine.options.delete_policy,
        );
        if g.needs_confirmation {
            tracing::info!(
                crm_deletes,
                google_deletes,
                "mass delete held for a decision"
            );
            self.holding = true;
            return Ok(true);
        }
        self.allowed = DeleteCounts {
            crm: crm_deletes,
            google: google_deletes,
        };
        Ok(false)
    }
}

/// One key on its way through `execute`.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub item: SyncItem,
    pub ops: Vec<SyncOp>,
    /// The appointment's lead (the privacy template needs it on both ways).
    pub lead: Lead,
    /// Boxed: a plan is moved whole into each vector a page goes through, and a transfer's
    /// imports (most plans) have no link; inline it was 480 of the plan's 1,730 bytes.
    pub link: Option<Box<Link>>,
    /// The event as last read, when known (keeps a tentative event tentative).
    pub event_status: Option<EventStatus>,
    /// Outbox entries this key settles.
    pub outbox: Vec<i64>,
    /// The backfill item (job id, seq) this key is.
    pub job_item: Option<(i64, i64)>,
    /// The event's summary and description as read in this pass, if it was read.
    pub google_text: Option<GoogleText>,
    /// The event's etag as read in this pass (listing or re-read), if it was read: the
    /// version the decision saw. Sent as `If-Match` and kept on the link, so a write is
    /// made only on the version it was decided on (else 412, read again, decide again).
    pub google_etag: Option<String>,
    /// Read from the pull's listing: when the store refuses what Google holds, the event
    /// is parked (`sync::parked`) instead of failing every pass.
    pub park_on_refusal: bool,
}

impl Planned {
    pub(crate) fn new(item: SyncItem, ops: Vec<SyncOp>) -> Self {
        Self {
            item,
            ops,
            lead: Lead::default(),
            link: None,
            event_status: None,
            outbox: Vec::new(),
            job_item: None,
            google_text: None,
            google_etag: None,
            park_on_refusal: false,
        }
    }

    pub(crate) fn title(&self) -> String {
        let from_ops = self.ops.iter().find_map(|op| match op {
            SyncOp::CreateInGoogle { fields, .. } | SyncOp::CreateInCrm { fields, .. } => {
                Some(fields.title.clone())
            }
            SyncOp::UpdateGoogle { to, .. } | SyncOp::UpdateCrm { to, .. } => {
                Some(to.title.clone())
            }
            SyncOp::Link { snapshot } => Some(snapshot.crm.title.clone()),
            _ => None,
        });
        from_ops
            .or_else(|| self.item.crm.as_ref().map(|c| c.fields.title.clone()))
            .or_else(|| self.item.google.as_ref().map(|g| g.fields.title.clone()))
            .or_else(|| self.link.as_ref().map(|l| l.snapshot.crm.title.clone()))
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "(no title)".to_owned())
    }

    fn google_write(&self) -> Option<&SyncOp> {
        self.ops
            .iter()
            .find(|op| op.writes_to() == Some(Side::Google))
    }
}

/// The Google half of a key, once done.
#[derive(Debug, Clone)]
enum GoogleDone {
    /// No Google write was needed.
    Nothing,
    /// Written; the event as Google answered.
    Written(Box<Event>),
    Deleted,
}

/// Where one key ended after the Google phase.
enum Ready {
    Apply(Planned, GoogleDone),
    Failed(Planned, String),
}

impl Default for SyncEngine {
    fn default() -> Self {
        Self::new(EngineOptions::default())
    }
}

impl SyncEngine {
    pub fn new(options: EngineOptions) -> Self {
        let limit = (f64::from(options.quota_per_window) * options.quota_safety.clamp(0.1, 1.0))
            .floor()
            .max(1.0) as u32;
        Self {
            // A burst of 5% and a steady 95% of `limit`: no window of the quota's length
            // ever sees more than `limit`, and `quota_safety` keeps a margin under
            // Google's own count for clock differences.
            limiter: RateLimiter::for_quota(limit, options.quota_window, 0.95),
            options,
        }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    pub(crate) fn writer<'a>(
        &'a self,
        client: &'a CalendarClient,
        calendar: &'a str,
        cancel: &'a CancellationToken,
    ) -> Writer<'a> {
        Writer {
            client,
            calendar,
            limiter: &self.limiter,
            options: &self.options.writer,
            cancel,
        }
    }

    /// One ongoing-sync pass. When it would delete more than the delete guard allows, the
    /// deletions are held for the user's decision (`sync::held`) and the rest applies;
    /// `run_pass_confirmed` lets new deletions through.
    pub async fn run_pass(
        &self,
        store: &Store,
        client: &CalendarClient,
        ctx: &AccountContext,
        cancel: &CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        self.pass(store, client, ctx, cancel, false).await
    }

    /// `run_pass` after the user confirmed a mass delete.
    pub async fn run_pass_confirmed(
        &self,
        store: &Store,
        client: &CalendarClient,
        ctx: &AccountContext,
        cancel: &CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        self.pass(store, client, ctx, cancel, true).await
    }

    async fn pass(
        &self,
        store: &Store,
        client: &CalendarClient,
        ctx: &AccountContext,
        cancel: &CancellationToken,
        confirmed: bool,
    ) -> Result<SyncReport, SyncError> {
        let writer = self.writer(client, &ctx.calendar_id, cancel);
        let mut report = SyncReport::default();
        let mode = Mode::Ongoing {
            connected_at: ctx.connected_at,
        };
        let pending = store.read(|c| held::count(store, c))?;
        let mut guard = PassGuard::new(confirmed, pending > 0);
        let started = Utc::now();
        self.pull(store, &writer, ctx, &mode, &mut guard, &mut report)
            .await?;
        self.push(store, &writer, ctx, &mode, &mut guard, &mut report)
            .await?;
        booking::follow_up(store, &writer, ctx, started, &mut report).await?;
        report.held_deletes = store.read(|c| held::count(store, c))?;
        if report.changed_anything() || !report.errors.is_empty() {
            // Only after passes that logged something: an idle poll writes nothing.
            activity::prune(store, activity::DEFAULT_KEEP)?;
        }
        Ok(report)
    }

    // ---- Pull ----

    async fn pull(
        &self,
        store: &Store,
        w: &Writer<'_>,
        ctx: &AccountContext,
        mode: &Mode,
        guard: &mut PassGuard,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let cal = ctx.calendar_id.as_str();
        let mut resynced = false;
        'listing: loop {
            let token = store.read(|c| links::sync_token(store, c, cal))?;
            let full = token.is_none();
            // The whole listing is read before any of it is applied, so the delete
            // guard weighs every deletion of the pass at once: a mass deletion in
            // Google spread over pages is not applied page by page below the limit.
            let mut pages: Vec<EventsPage> = Vec::new();
            let mut page_token: Option<String> = None;
            loop {
                let params = ListParams {
                    sync_token: token.clone(),
                    page_token: page_token.clone(),
                    max_results: Some(self.options.page_size.clamp(1, 2500)),
                    // A full relist must show deletions of linked events.
                    show_deleted: full.then_some(true),
                    ..ListParams::default()
                };
                let page = match w.list_page(&params).await {
                    Ok(page) => page,
                    Err(SyncError::Google(e)) if e.is_full_sync_required() && !resynced => {
                        // The token expired: forget it and list everything again. Links
                        // re-pair events by id, so nothing is duplicated.
                        store.write("forget the sync token", |tx| {
                            links::clear_sync_token(store, tx, cal)?;
                            activity::append(
                                store,
                                tx,
                                &NewActivity::new(
                                    ActivityKind::Info,
                                    Some(Side::Google),
                                    "Google asked for a full resync; reading the calendar again",
                                ),
                            )?;
                            Ok(())
                        })?;
                        resynced = true;
                        continue 'listing;
                    }
                    Err(e) => return Err(e),
                };
                let next_page = page.next_page_token.clone();
                pages.push(page);
                match next_page {
                    Some(next) if Some(&next) != page_token.as_ref() => page_token = Some(next),
                    _ => break,
                }
            }
            gather_series(&mut pages);
            read_waiting_occurrences(store, w, cal, &mut pages).await?;
            self.guard_listing(store, ctx, mode, &pages, guard)?;
            // Whether an item of this listing failed to apply (see the token save below).
            let listing_failed = std::sync::atomic::AtomicBool::new(false);
            for page in pages {
                let calendar_tz = page.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
                let sync_token = if page.next_page_token.is_none() {
                    page.next_sync_token.clone()
                } else {
                    None
                };
                let listed: Vec<Listed> = page.items.iter().filter_map(Listed::of).collect();
                let booked: Vec<Event> =
                    page.items.iter().filter_map(booking::listed_part).collect();
                let problems_before = report.errors.len();
                let (mut planned, problems) =
                    self.plan_events(store, ctx, mode, &calendar_tz, page.items)?;
                // Held keys are recorded with the page (and its sync token): a Google
                // cancellation behind the token is never listed again.
                let held_keys: Vec<Planned> = if guard.holding {
                    let (held_keys, rest) = planned.into_iter().partition(held::is_deletion);
                    planned = rest;
                    held_keys
                } else {
                    Vec::new()
                };
                // An event whose times cannot be read can't be stored at all: it is
                // parked, not an error of the pass (the token moves past it).
                let (unreadable, problems): (Vec<_>, Vec<_>) = problems
                    .into_iter()
                    .partition(|p| p.kind == ActivityKind::Error && p.event_id.is_some());
                park_listed(store, cal, &listed, &unreadable)?;
                for p in &problems {
                    if p.kind == ActivityKind::Error {
                        report.errors.push(p.summary.clone());
                    }
                }
                activity::append_all(store, &problems)?;
                if report.errors.len() > problems_before {
                    // An event Bookline could not read: same rule as a failed apply.
                    listing_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                self.execute(
                    store,
                    w,
                    ctx,
                    mode,
                    planned,
                    &calendar_tz,
                    report,
                    None,
                    |tx, page| {
                        held::record(store, tx, cal, &held_keys)?;
                        if !page.errors.is_empty() {
                            listing_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        match &sync_token {
                            // Saving the token would skip the changes that failed: they would
                            // come back only if they changed again in Google. Keeping the old
                            // token reads them again next pass (the rest are no-ops by then),
                            // and their errors keep showing until they apply.
                            Some(_)
                                if listing_failed.load(std::sync::atomic::Ordering::Relaxed) => {}
                            Some(token) => links::save_sync_token(store, tx, cal, token)?,
                            None => {}
                        }
                        Ok(())
                    },
                )
                .await?;
                booking::observe_listed(store, cal, &booked, report)?;
            }
            break;
        }
        Ok(())
    }

    /// The delete guard over a whole listing, before any of it is applied. Deletions in
    /// a pull come from cancelled events and from appointments deleted in Bookline
    /// (queued deletes); a listing with neither (an import of new events) needs no
    /// planning here.
    fn guard_listing(
        &self,
        store: &Store,
        ctx: &AccountContext,
        mode: &Mode,
        pages: &[EventsPage],
        guard: &mut PassGuard,
    ) -> Result<(), SyncError> {
        if guard.confirmed || guard.holding {
            return Ok(());
        }
        let cancelled = pages
            .iter()
            .any(|p| p.items.iter().any(Event::is_cancelled));
        if !cancelled && !store.read(|c| store.outbox_any_delete_in(c))? {
            return Ok(());
        }
        let mut deletes = DeleteCounts::default();
        for page in pages {
            let calendar_tz = page.time_zone.as_deref().unwrap_or("UTC");
            // Planned read-only (nothing logged): the apply plans each page again after
            // the pages before it are stored.
            let (planned, _) =
                self.plan_events(store, ctx, mode, calendar_tz, page.items.clone())?;
            deletes.add(&planned);
        }
        guard.check(self, store, ctx, deletes).map(|_| ())
    }

    /// Reads what the CRM knows about a page of events and decides each key.
    fn plan_events(
        &self,
        store: &Store,
        ctx: &AccountContext,
        mode: &Mode,
        calendar_tz: &str,
        events: Vec<Event>,
    ) -> Result<(Vec<Planned>, Vec<NewActivity>), SyncError> {
        let cal = ctx.calendar_id.as_str();
        let mut problems = Vec::new();
        let gathered = store.read(|conn| {
            // Appointments kept by Remove Google Account remember their events: the
            // events are paired with them by id (`PairedBy::SourceEventId`).
            let remembered = store.remembers_events_in(conn)?;
            let mut crm = Vec::new();
            let mut google = Vec::new();
            let mut records = Vec::new();
            let mut extra: HashMap<String, Extra> = HashMap::new();
            let mut series_links: Vec<LinkRecord> = Vec::new();
            // Unlinked occurrences whose series is parked (they wait for it), unless the
            // series is deleted in this listing (then nothing is left to wait for).
            let mut series_parked: HashSet<String> = HashSet::new();
            let deleted: HashSet<&str> = events
                .iter()
                .filter(|e| e.is_cancelled())
                .filter_map(|e| e.id.as_deref())
                .collect();
            for event in &events {
                let Some(event_id) = event.id.clone() else {
                    continue;
                };
                let link = links::by_event(store, conn, cal, &event_id)?;
                // An occurrence of a series: `join` pairs it through the series' link.
                if let (Some(master), None) = (&event.recurring_event_id, &link) {
                    if let Some(series) = links::by_event(store, conn, cal, master)? {
                        series_links.push(series.record());
                    } else if !deleted.contains(master.as_str())
                        && parked::is_parked(store, conn, cal, master)?
                    {
                        series_parked.insert(event_id.clone());
                    }
                }
                let candidate = link
                    .as_ref()
                    .map(|l| l.appointment_id.clone())
                    .or_else(|| {
                        event
                            .private_property(APPOINTMENT_ID_PROPERTY)
                            .map(str::to_owned)
                    })
                    .or_else(|| ids::appointment_id_from_event_id(&event_id));
                if let (None, Some(id)) = (&link, &candidate) {
                    if links::by_appointment(store, conn, id)?.is_some_and(|l| l.calendar_id != cal)
                    {
                        // The appointment is linked to its event in another calendar (moved
                        // there, or kept there by a calendar change): what this calendar
                        // shows under its id is a move's cancelled leftover or a copy.
                        continue;
                    }
                }
                let mut appointment = match &candidate {
                    Some(id) => store.get_in(conn, id)?,
                    None => None,
                };
                let mut source_event_id = None;
                if remembered && appointment.is_none() && link.is_none() {
                    appointment = store.by_source_event_in(conn, &event_id)?;
                    source_event_id = appointment.as_ref().map(|_| event_id.clone());
                }
                let lead = appointment
                    .as_ref()
                    .map(|a| a.lead.clone())
                    .unwrap_or_default();
                let mctx = MappingContext {
                    calendar_timezone: calendar_tz,
                    privacy: &ctx.privacy,
                    lead: &lead,
                };
                let side = match mapping::google_side(
                    event,
                    &mctx,
                    link.as_ref().map(|l| &l.snapshot.google),
                ) {
                    Ok(side) => side,
                    Err(e) => {
                        problems.push(
                            NewActivity::new(
                                ActivityKind::Error,
                                Some(Side::Google),
                                format!("An event in Google could not be read: {e}"),
                            )
                            .event(Some(&event_id))
                            .detail(e.to_string()),
                        );
                        continue;
                    }
                };
                match &appointment {
                    Some(a) => crm.push(CrmSide {
                        source_event_id,
                        ..crm_side(a)
                    }),
                    None => {
                        if let Some(l) = &link {
                            if store.outbox_delete_pending_in(conn, &l.appointment_id)?
                                || held::holds_crm_delete(store, conn, &l.appointment_id)?
                            {
                                crm.push(deleted_side(l));
                            }
                        }
                    }
                }
                if let Some(l) = &link {
                    records.push(l.record());
                }
                extra.insert(
                    event_id,
                    (
                        lead,
                        link,
                        event.status.clone(),
                        Some(text_of(event)),
                        event.etag.clone(),
                    ),
                );
                google.push(side);
            }
            for l in series_links {
                if !records
                    .iter()
                    .any(|r: &LinkRecord| r.appointment_id == l.appointment_id)
                {
                    records.push(l);
                }
            }
            Ok((crm, google, records, extra, series_parked))
        })?;
        let (crm, google, records, mut extra, series_parked) = gathered;
        let decided: Vec<(SyncItem, Vec<SyncOp>)> = join(crm, google, records, mode)
            .into_iter()
            .map(|item| {
                let ops = decide(&item, ctx.direction, mode);
                (item, ops)
            })
            .collect();
        // A series new in this page and its moved or cancelled occurrences land together
        // (the occurrences after the series, in the page's one transaction).
        let decided = pair_new_series(
            decided,
            |(item, ops)| (item, ops),
            ctx.direction,
            mode,
            new_appointment_id,
        );
        let mut planned = Vec::new();
        for (item, ops) in decided {
            if let (
                [SyncOp::Skip {
                    reason: SkipReason::SeriesNotLinked,
                }],
                Some(event_id),
            ) = (ops.as_slice(), &item.key.event_id)
            {
                if series_parked.contains(event_id) {
                    // Its series is parked and not in this listing: the occurrence is
                    // parked with it (`park_listed`), not passed by the token, and lands
                    // with the series (`read_waiting_occurrences`).
                    problems.push(
                        NewActivity::new(
                            ActivityKind::Error,
                            Some(Side::Google),
                            "An occurrence in Google waits for its repeating series, which \
                             Bookline set aside",
                        )
                        .event(Some(event_id))
                        .detail(WAITS_FOR_PARKED_SERIES),
                    );
                    continue;
                }
            }
            if ops.iter().all(|op| !op.is_effective()) {
                // Nothing to do — but a linked event changed in Google in what Bookline
                // does not sync (a colour, guests) has a new etag. With nothing decided
                // the snapshot still says what both sides hold, so the link takes the
                // new etag (`apply_one`); else the next write from Bookline would be
                // refused (412) and cost a re-read.
                let stale_etag = ops.is_empty()
                    && item
                        .key
                        .event_id
                        .as_ref()
                        .and_then(|e| extra.get(e))
                        .is_some_and(|(_, link, _, _, etag)| {
                            etag.is_some() && link.as_ref().is_some_and(|l| l.etag != *etag)
                        });
                if !stale_etag {
                    continue;
                }
            }
            let mut p = Planned::new(item, ops);
            if let Some((lead, link, status, text, etag)) =
                p.item.key.event_id.as_ref().and_then(|e| extra.remove(e))
            {
                p.lead = lead;
                p.link = link.map(Box::new);
                p.event_status = status;
                p.google_text = text;
                p.google_etag = etag;
            }
            // Planned from the pull's listing: see `Planned::park_on_refusal`.
            p.park_on_refusal = true;
            planned.push(p);
        }
        Ok((planned, problems))
    }

    // ---- Push ----

    async fn push(
        &self,
        store: &Store,
        w: &Writer<'_>,
        ctx: &AccountContext,
        mode: &Mode,
        guard: &mut PassGuard,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let entries = store.outbox_due(Utc::now(), u32::MAX)?;
        if entries.is_empty() {
            return Ok(());
        }
        // Coalesce by appointment: the latest entry says what to do, all are settled.
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, (Vec<i64>, OutboxOp)> = HashMap::new();
        for e in entries {
            let g = groups.entry(e.appointment_id.clone()).or_insert_with(|| {
                order.push(e.appointment_id.clone());
                (Vec::new(), e.op)
            });
            g.0.push(e.seq);
            g.1 = e.op;
        }
        let planned = store.read(|conn| {
            let mut out = Vec::with_capacity(order.len());
            for id in &order {
                let Some((seqs, op)) = groups.remove(id) else {
                    continue;
                };
                // Waits for the user's decision on its held deletion (its outbox entries
                // stay, and are sent after it).
                if held::holds_appointment(store, conn, id)? {
                    continue;
                }
                let link = links::by_appointment(store, conn, id)?;
                if op == OutboxOp::Delete && link.is_none() && ctx.direction.writes_google() {
                    if let Some(p) = orphan_delete(store, conn, id, seqs.clone())? {
                        out.push(p);
                        continue;
                    }
                }
                let row = match op {
                    OutboxOp::Upsert => store.get_in(conn, id)?,
                    OutboxOp::Delete => None,
                };
                let crm = match (&row, &link) {
                    (Some(a), _) => Some(crm_side(a)),
                    (None, Some(l)) => Some(deleted_side(l)),
                    (None, None) => None,
                };
                let series = series_ref(store, conn, crm.as_ref(), None)?;
                let item = SyncItem {
                    key: SyncKey {
                        appointment_id: Some(id.clone()),
                        event_id: link.as_ref().map(|l| l.event_id.clone()),
                    },
                    crm,
                    google: None,
                    base: link.as_ref().map(|l| Box::new(l.snapshot.clone())),
                    paired_by: link.as_ref().map(|_| PairedBy::Link),
                    series,
                };
                let mut ops = decide(&item, ctx.direction, mode);
                let lead = row.map(|a| a.lead).unwrap_or_default();
                if ctx.direction.writes_google() {
                    if let (Some(crm), Some(link)) = (&item.crm, &link) {
                        rerender(&mut ops, crm, link, &lead, &ctx.privacy);
                    }
                }
                let mut p = Planned::new(item, ops);
                p.lead = lead;
                p.link = link.map(Box::new);
                p.outbox = seqs;
                out.push(p);
            }
            Ok(out)
        })?;
        // A series sent for the first time and the occurrences moved or cancelled in
        // Bookline before it went: the occurrences are written right after the series
        // (`pair_new_series`, `execute`), in this pass.
        let planned = pair_new_series(
            planned,
            |p| (&mut p.item, &mut p.ops),
            ctx.direction,
            mode,
            new_appointment_id,
        );
        // An occurrence whose series is still not linked (it waits for the transfer, or
        // its insert failed and waits for its retry) keeps its outbox entries untouched:
        // settling them here would lose the occurrence for good. It is planned again on
        // each pass and sent once its series is linked.
        let mut planned: Vec<Planned> = planned
            .into_iter()
            .filter(|p| {
                !(ctx.direction.writes_google()
                    && matches!(
                        p.ops.as_slice(),
                        [SyncOp::Skip {
                            reason: SkipReason::SeriesNotLinked
                        }]
                    ))
            })
            .collect();
        if !guard.confirmed {
            let mut deletes = DeleteCounts::default();
            deletes.add(&planned);
            if guard.check(self, store, ctx, deletes)? {
                let (held_keys, rest): (Vec<Planned>, Vec<Planned>) =
                    planned.into_iter().partition(held::is_deletion);
                planned = rest;
                store.write("hold the deletions for your decision", |tx| {
                    held::record(store, tx, &ctx.calendar_id, &held_keys)
                })?;
            }
        }
        let mut rest = planned;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(self.options.push_chunk.max(1)));
            let chunk = std::mem::replace(&mut rest, tail);
            mark_inserts_sent(store, &chunk)?;
            self.execute(store, w, ctx, mode, chunk, "UTC", report, None, |_, _| {
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    // ---- Apply ----

    /// Writes the Google side of every key (batched), re-reads and re-decides the keys
    /// Google answered 409 or 412 for, then applies the CRM side, the links, the outbox
    /// and the activity in one transaction, plus `finish` (e.g. the sync token).
    ///
    /// `store_items`, if given, runs first in each transaction that applies the chunk:
    /// it writes the chunk's job items, already `done`, so they commit with what they
    /// stand for or not at all (a transfer importing events as it lists them; no separate
    /// commit of pending items, and no second write of each to mark it). Those items are
    /// then not marked done again; one that fails is marked failed as usual.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn execute(
        &self,
        store: &Store,
        w: &Writer<'_>,
        ctx: &AccountContext,
        mode: &Mode,
        planned: Vec<Planned>,
        calendar_tz: &str,
        report: &mut SyncReport,
        store_items: Option<StoreItems<'_>>,
        finish: impl FnOnce(&Transaction<'_>, &SyncReport) -> Result<(), StoreError>,
    ) -> Result<(), SyncError> {
        let mut ready: Vec<Ready> = Vec::with_capacity(planned.len());
        let mut round = planned;
        let mut attempt = 0;
        while !round.is_empty() {
            // An occurrence of a series this round inserts (`pair_new_series`) is patched
            // under its instance id, which exists only once the insert has succeeded; a
            // batch does not keep its calls in order, so it goes in the next round.
            // Bounded: a series is inserted in one round only (a 409 re-decides it as a
            // link), so an occurrence waits one round, or two after a re-read.
            let inserted = if attempt < 4 {
                series_inserted(&round)
            } else {
                HashSet::new()
            };
            // Split only when some series is inserted: each partition moves every plan
            // into new memory, and a page of imports inserts none.
            let (now, waiting): (Vec<Planned>, Vec<Planned>) = if inserted.is_empty() {
                (round, Vec::new())
            } else {
                round
                    .into_iter()
                    .partition(|p| occurrence_series(p).is_none_or(|s| !inserted.contains(s)))
            };
            round = now;
            let mut calls = Vec::new();
            let mut calendars = Vec::new();
            let mut call_of: Vec<Option<usize>> = Vec::with_capacity(round.len());
            let mut build_errors: HashMap<usize, String> = HashMap::new();
            let booking_rows = booking::rows_of(
                store,
                round
                    .iter()
                    .filter(|p| p.google_write().is_some() || !p.outbox.is_empty())
                    .filter_map(|p| p.item.key.appointment_id.as_deref()),
            )?;
            let mut sent_of: Vec<Option<booking::Sent>> = Vec::with_capacity(round.len());
            for (i, p) in round.iter().enumerate() {
                match p.google_write() {
                    None => {
                        call_of.push(None);
                        sent_of.push(None);
                    }
                    Some(op) => match write_call(p, op, &ctx.privacy) {
                        Ok(mut call) => {
                            let row = p
                                .item
                                .key
                                .appointment_id
                                .as_deref()
                                .and_then(|id| booking_rows.get(id));
                            sent_of.push(shape_booking(&mut call, op, row, &p.lead, ctx));
                            call_of.push(Some(calls.len()));
                            calls.push(call);
                            calendars.push(store.read(|c| linked_calendar(store, c, p))?);
                        }
                        Err(message) => {
                            build_errors.insert(i, message);
                            call_of.push(None);
                            sent_of.push(None);
                        }
                    },
                }
            }
            let mut outcomes: Vec<Option<Outcome>> = w
                .run_in(&calls, &calendars)
                .await?
                .into_iter()
                .map(Some)
                .collect();
            // What the writes answered for booked appointments (a conference, the lead as
            // a guest) goes on their booking rows.
            let mut written: Vec<booking::Written> = Vec::new();
            for (i, p) in round.iter().enumerate() {
                let (Some(c), Some(id)) = (call_of[i], p.item.key.appointment_id.as_deref()) else {
                    continue;
                };
                if let Some(Some(Outcome::Event(event))) = outcomes.get(c) {
                    let sent = sent_of.get(i).cloned().flatten();
                    if sent.is_some() || booking_rows.contains_key(id) {
                        written.push(booking::Written {
                            appointment_id: id.to_owned(),
                            event: (**event).clone(),
                            sent,
                        });
                    }
                }
            }
            booking::record_written(store, written, report)?;
            // "Notify the lead" is consent for the write of that edit only: an edit that
            // needed no Google write leaves nothing to notify, and a later change (a
            // cancel, Google's own edit) must not email the lead on its strength.
            let unwritten: Vec<&str> = round
                .iter()
                .enumerate()
                .filter(|(i, p)| call_of[*i].is_none() && !p.outbox.is_empty())
                .filter_map(|(_, p)| p.item.key.appointment_id.as_deref())
                .filter(|id| booking_rows.get(*id).is_some_and(|r| r.notify_pending))
                .collect();
            booking::forget_notify(store, &unwritten)?;
            let mut refetch: Vec<Planned> = Vec::new();
            for (i, p) in round.into_iter().enumerate() {
                if let Some(message) = build_errors.remove(&i) {
                    ready.push(Ready::Failed(p, message));
                    continue;
                }
                let outcome = call_of[i].and_then(|c| outcomes.get_mut(c).and_then(Option::take));
                match outcome {
                    None => ready.push(Ready::Apply(p, GoogleDone::Nothing)),
                    Some(Outcome::Event(e)) => ready.push(Ready::Apply(p, GoogleDone::Written(e))),
                    Some(Outcome::Deleted) => ready.push(Ready::Apply(p, GoogleDone::Deleted)),
                    Some(Outcome::Duplicate | Outcome::Stale) if attempt < 2 => refetch.push(p),
                    Some(Outcome::Duplicate | Outcome::Stale) => ready.push(Ready::Failed(
                        p,
                        "The event kept changing in Google; Bookline will try again".to_owned(),
                    )),
                    Some(Outcome::Missing) => ready.push(Ready::Failed(
                        p,
                        "The event no longer exists in Google".to_owned(),
                    )),
                    Some(Outcome::Failed(e)) => ready.push(Ready::Failed(p, e.to_string())),
                }
            }
            round = self
                .refetch(store, w, ctx, mode, refetch, calendar_tz, &mut ready)
                .await?;
            // The occurrences of a series whose insert failed fail with it (their outbox
            // entries wait and are sent with the series); the others follow their series.
            let failed_series: HashSet<&str> = ready
                .iter()
                .filter_map(|r| match r {
                    Ready::Failed(p, _) => p.item.key.appointment_id.as_deref(),
                    Ready::Apply(..) => None,
                })
                .collect();
            let (orphans, follow): (Vec<Planned>, Vec<Planned>) = waiting
                .into_iter()
                .partition(|p| occurrence_series(p).is_some_and(|s| failed_series.contains(s)));
            drop(failed_series);
            for p in orphans {
                ready.push(Ready::Failed(p, WAITS_FOR_UNSENT_SERIES.to_owned()));
            }
            round.extend(follow);
            attempt += 1;
        }
        self.apply(store, ctx, ready, calendar_tz, report, store_items, finish)?;
        Ok(())
    }

    /// Reads back the events of keys Google refused as duplicate (409) or stale (412)
    /// and decides them again with what Google holds now.
    #[allow(clippy::too_many_arguments)]
    async fn refetch(
        &self,
        store: &Store,
        w: &Writer<'_>,
        ctx: &AccountContext,
        mode: &Mode,
        keys: Vec<Planned>,
        calendar_tz: &str,
        ready: &mut Vec<Ready>,
    ) -> Result<Vec<Planned>, SyncError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let calls: Vec<WriteCall> = keys
            .iter()
            .map(|p| WriteCall::Get {
                event_id: event_id_of(p).unwrap_or_default(),
            })
            .collect();
        let calendars = store.read(|c| {
            keys.iter()
                .map(|p| linked_calendar(store, c, p))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let outcomes = w.run_in(&calls, &calendars).await?;
        let mut next = Vec::new();
        for (mut p, outcome) in keys.into_iter().zip(outcomes) {
            let event = match outcome {
                Outcome::Event(e) => *e,
                Outcome::Failed(e) => {
                    ready.push(Ready::Failed(p, e.to_string()));
                    continue;
                }
                _ => {
                    ready.push(Ready::Failed(
                        p,
                        "The event no longer exists in Google".to_owned(),
                    ));
                    continue;
                }
            };
            let mctx = MappingContext {
                calendar_timezone: calendar_tz,
                privacy: &ctx.privacy,
                lead: &p.lead,
            };
            let known = p.link.as_ref().map(|l| &l.snapshot.google);
            let side = match mapping::google_side(&event, &mctx, known) {
                Ok(side) => side,
                Err(e) => {
                    ready.push(Ready::Failed(p, e.to_string()));
                    continue;
                }
            };
            p.item.key.event_id = Some(side.event_id.clone());
            if p.item.base.is_none() {
                p.item.paired_by = Some(PairedBy::DerivedEventId);
            }
            if let Some(link) = &mut p.link {
                link.etag = event.etag.clone();
            }
            p.google_etag = event.etag.clone();
            p.event_status = event.status.clone();
            p.google_text = Some(text_of(&event));
            p.item.google = Some(side);
            p.ops = decide(&p.item, ctx.direction, mode);
            // A pushed change keeps its re-rendering against the event as it is now.
            if !p.outbox.is_empty() && ctx.direction.writes_google() {
                if let (Some(crm), Some(link)) = (&p.item.crm, &p.link) {
                    let link = Link {
                        google_text: p.google_text.clone(),
                        ..Link::clone(link)
                    };
                    rerender(&mut p.ops, crm, &link, &p.lead, &ctx.privacy);
                }
            }
            next.push(p);
        }
        Ok(next)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        store: &Store,
        ctx: &AccountContext,
        ready: Vec<Ready>,
        calendar_tz: &str,
        report: &mut SyncReport,
        store_items: Option<StoreItems<'_>>,
        finish: impl FnOnce(&Transaction<'_>, &SyncReport) -> Result<(), StoreError>,
    ) -> Result<(), SyncError> {
        const ACTION: &str = "save what sync changed";
        if let Some(hook) = &self.options.before_apply {
            (hook.0)();
        }
        let mut finish = Some(finish);
        let mut run_finish = |tx: &Transaction<'_>, counts: &SyncReport| match finish.take() {
            Some(f) => f(tx, counts),
            None => Ok(()),
        };
        // Fast path: every item of the page in one transaction, with no savepoint of our
        // own. Items rarely fail, so the rollback an item failure needs is the whole
        // transaction's: then the page is applied again, item by item under savepoints,
        // in a second transaction, so the failing item rolls back alone. (A savepoint
        // around the page made SQLite keep every page it touched in one statement
        // journal and walk that journal at the end of each statement: quadratic in the
        // page, over a third of a 10,000-event import.)
        let mut item_failed = false;
        let fast = store.write(ACTION, |tx| {
            if let Some(write_items) = store_items {
                write_items(tx)?;
            }
            let mut counts = SyncReport::default();
            let mut log = Vec::new();
            for r in &ready {
                let Ready::Apply(p, done) = r else { continue };
                if let Err(e) =
                    apply_one(store, tx, ctx, p, done, calendar_tz, &mut counts, &mut log)
                {
                    item_failed = true;
                    return Err(e);
                }
            }
            // The page's activity rows go in a few multi-row INSERTs.
            if let Err(e) = activity::append_many(store, tx, &log) {
                item_failed = true;
                return Err(e);
            }
            unpark_applied(
                store,
                tx,
                ctx,
                ready.iter().filter_map(|r| match r {
                    Ready::Apply(p, _) => Some(p),
                    Ready::Failed(..) => None,
                }),
            )?;
            // The job items of the page are marked in one statement, not one per item
            // (unless `store_items` wrote them done).
            if store_items.is_none() {
                crate::sync::backfill::mark_done(
                    store,
                    tx,
                    ready.iter().filter_map(|r| match r {
                        Ready::Apply(p, _) => p.job_item,
                        Ready::Failed(..) => None,
                    }),
                )?;
            }
            for r in &ready {
                if let Ready::Failed(p, message) = r {
                    record_failure(store, tx, p, message, &mut counts)?;
                }
            }
            run_finish(tx, &counts)?;
            Ok(counts)
        });
        let counts = match fast {
            Ok(counts) => counts,
            Err(e) if !item_failed => return Err(e.into()),
            Err(_) => store.write(ACTION, |tx| {
                let sql = |tx: &Transaction<'_>, statement: &str| {
                    tx.prepare_cached(statement)
                        .and_then(|mut s| s.execute([]))
                        .map(|_| ())
                        .map_err(|e| store.error(ACTION, e))
                };
                if let Some(write_items) = store_items {
                    write_items(tx)?;
                }
                let mut counts = SyncReport::default();
                // The new series of this page that did not apply (→ whether it was parked):
                // their occurrences (right behind them, `pair_new_series`) cannot land
                // without them and go the same way — parked, or failed (a transfer, an
                // error of the disk) — rather than being refused as occurrences of a
                // series that "no longer exists".
                let mut refused_series: HashMap<String, bool> = HashMap::new();
                for r in &ready {
                    match r {
                        Ready::Failed(p, message) => {
                            record_failure(store, tx, p, message, &mut counts)?;
                        }
                        Ready::Apply(p, _)
                            if series_created(p, true)
                                .is_some_and(|s| refused_series.contains_key(s)) =>
                        {
                            let series_parked = series_created(p, true)
                                .and_then(|s| refused_series.get(s))
                                .copied()
                                .unwrap_or(false);
                            match p.item.key.event_id.as_deref() {
                                Some(event_id) if series_parked && p.park_on_refusal => {
                                    park_refused(
                                        store,
                                        tx,
                                        ctx,
                                        p,
                                        event_id,
                                        WAITS_FOR_PARKED_SERIES,
                                    )?
                                }
                                _ => record_failure(
                                    store,
                                    tx,
                                    p,
                                    WAITS_FOR_FAILED_SERIES,
                                    &mut counts,
                                )?,
                            }
                        }
                        Ready::Apply(p, done) => {
                            sql(tx, "SAVEPOINT item")?;
                            let mut item_counts = SyncReport::default();
                            let mut item_log = Vec::new();
                            let applied = apply_one(
                                store,
                                tx,
                                ctx,
                                p,
                                done,
                                calendar_tz,
                                &mut item_counts,
                                &mut item_log,
                            )
                            .and_then(|()| activity::append_many(store, tx, &item_log));
                            match applied {
                                Ok(()) => {
                                    sql(tx, "RELEASE item")?;
                                    merge_counts(&mut counts, item_counts);
                                    if store_items.is_none() {
                                        crate::sync::backfill::mark_done(store, tx, p.job_item)?;
                                    }
                                    unpark_applied(store, tx, ctx, [p])?;
                                }
                                Err(e) => {
                                    sql(tx, "ROLLBACK TO item")?;
                                    sql(tx, "RELEASE item")?;
                                    // The store refuses what Google holds (the checks
                                    // that protect the database): retrying the same
                                    // version can only fail again, so it is parked and
                                    // the pass goes on. Anything else (the disk, a lock)
                                    // may pass next time: a failure, read again.
                                    match (&e, p.item.key.event_id.as_deref()) {
                                        (StoreError::Validation { .. }, Some(event_id))
                                            if p.park_on_refusal =>
                                        {
                                            if let Some(series) = series_created(p, false) {
                                                refused_series.insert(series.to_owned(), true);
                                            }
                                            park_refused(
                                                store,
                                                tx,
                                                ctx,
                                                p,
                                                event_id,
                                                &e.to_string(),
                                            )?;
                                        }
                                        _ => {
                                            if let Some(series) = series_created(p, false) {
                                                refused_series.insert(series.to_owned(), false);
                                            }
                                            record_failure(
                                                store,
                                                tx,
                                                p,
                                                &e.to_string(),
                                                &mut counts,
                                            )?;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                run_finish(tx, &counts)?;
                Ok(counts)
            })?,
        };
        merge_counts(report, counts);
        Ok(())
    }
}

/// Writes a chunk's job items in the transaction that applies it (`SyncEngine::execute`).
pub(crate) type StoreItems<'a> = &'a (dyn Fn(&Transaction<'_>) -> Result<(), StoreError> + Sync);

fn merge_counts(into: &mut SyncReport, from: SyncReport) {
    into.created_in_google += from.created_in_google;
    into.updated_in_google += from.updated_in_google;
    into.deleted_in_google += from.deleted_in_google;
    into.created_in_crm += from.created_in_crm;
    into.updated_in_crm += from.updated_in_crm;
    into.deleted_in_crm += from.deleted_in_crm;
    into.conflicts += from.conflicts;
    into.errors.extend(from.errors);
    into.lead_answers.extend(from.lead_answers);
    into.booking_changes += from.booking_changes;
}

/// The calendar a key's event lives in when it is linked: its link's (a calendar change
/// may have kept it in the calendar synced before), or for a new exception of a series
/// the series'. `None`: the pass's calendar.
fn linked_calendar(
    store: &Store,
    conn: &Connection,
    p: &Planned,
) -> Result<Option<String>, StoreError> {
    if let Some(link) = &p.link {
        return Ok(Some(link.calendar_id.clone()));
    }
    let series = p.ops.iter().find_map(|op| match op {
        SyncOp::CreateInGoogle {
            instance: Some(series),
            ..
        } => Some(series),
        _ => None,
    });
    match series {
        Some(s) => Ok(
            links::by_appointment(store, conn, &s.series_appointment_id)?.map(|l| l.calendar_id),
        ),
        None => Ok(None),
    }
}

/// The event id a key's Google writes go to.
pub(crate) fn event_id_of(p: &Planned) -> Option<String> {
    let occurrence = p.ops.iter().find_map(|op| match op {
        SyncOp::CreateInGoogle {
            instance: Some(series),
            ..
        } => series.event_id(),
        _ => None,
    });
    if occurrence.is_some() && p.item.key.event_id.is_none() {
        return occurrence;
    }
    p.item
        .key
        .event_id
        .clone()
        .or_else(|| p.link.as_ref().map(|l| l.event_id.clone()))
        .or_else(|| {
            p.item
                .key
                .appointment_id
                .as_deref()
                .and_then(ids::event_id_for)
        })
}

/// The etag to send as `If-Match` with a write to `event_id`: the version this key's
/// decision read (this pass's listing or re-read), else the link's. Only an etag of that
/// same event: another event's would make every attempt fail with 412.
fn if_match_for(p: &Planned, event_id: &str) -> Option<String> {
    let read = p
        .google_etag
        .clone()
        .filter(|_| p.item.key.event_id.as_deref() == Some(event_id));
    read.or_else(|| {
        p.link
            .as_ref()
            .filter(|l| l.event_id == event_id)
            .and_then(|l| l.etag.clone())
    })
}

/// Adds what the appointment's booking asks to the engine's write of it (a conference,
/// the invitation, the default reminder on insert; the consented notification on an
/// edit). Returns what was sent, for the booking's row. Occurrence patches and deletes
/// go as they are.
fn shape_booking(
    call: &mut WriteCall,
    op: &SyncOp,
    row: Option<&BookingRow>,
    lead: &Lead,
    ctx: &AccountContext,
) -> Option<booking::Sent> {
    match (call, op) {
        (WriteCall::Insert(event, options), SyncOp::CreateInGoogle { instance: None, .. }) => {
            let (shaped, sent) =
                booking::shape_insert(event, row, lead, ctx.default_reminder_minutes, || {
                    uuid::Uuid::new_v4().to_string()
                });
            *options = shaped;
            sent
        }
        (WriteCall::Patch { options, .. }, SyncOp::UpdateGoogle { .. }) => {
            let (shaped, sent) = booking::shape_patch(row);
            *options = shaped;
            sent
        }
        _ => None,
    }
}

fn write_call(p: &Planned, op: &SyncOp, privacy: &PrivacySettings) -> Result<WriteCall, String> {
    match op {
        SyncOp::CreateInGoogle {
            fields,
            instance: Some(series),
        } => {
            // The occurrence exists in Google as part of its series: patching it under
            // its instance id makes it an exception (or cancels it).
            let event_id = series
                .event_id()
                .ok_or_else(|| "The occurrence's original start cannot be read".to_owned())?;
            Ok(WriteCall::Patch {
                event_id,
                body: mapping::patch_body(
                    FieldSet::all(),
                    fields,
                    &p.lead,
                    privacy,
                    Some(&EventStatus::Confirmed),
                ),
                if_match: None,
                options: WriteOptions::default(),
            })
        }
        SyncOp::CreateInGoogle { fields, .. } => {
            let id = p
                .item
                .key
                .appointment_id
                .clone()
                .ok_or_else(|| "The appointment has no id".to_owned())?;
            mapping::event_for_insert(&id, fields, &p.lead, privacy)
                .map(|e| WriteCall::Insert(Box::new(e), WriteOptions::default()))
                .ok_or_else(|| format!("The appointment id {id} cannot name a Google event"))
        }
        SyncOp::UpdateGoogle { fields, to } => {
            let event_id = event_id_of(p).ok_or_else(|| "The event id is unknown".to_owned())?;
            let status = p.event_status.clone().or(Some(EventStatus::Confirmed));
            let if_match = if_match_for(p, &event_id);
            Ok(WriteCall::Patch {
                event_id,
                body: mapping::patch_body(*fields, to, &p.lead, privacy, status.as_ref()),
                if_match,
                options: WriteOptions::default(),
            })
        }
        SyncOp::DeleteInGoogle => {
            let event_id = event_id_of(p).ok_or_else(|| "The event id is unknown".to_owned())?;
            // A delete, too, only of the version it was decided on: an event edited in
            // Google since is read again (412 → `refetch`) and decided again.
            let if_match = if_match_for(p, &event_id);
            Ok(WriteCall::Delete { event_id, if_match })
        }
        _ => Err("not a Google write".to_owned()),
    }
}

/// Whether the key would store a *cancelled* occurrence of a series that no longer has
/// that occurrence: one Bookline deleted (the series has an `EXDATE` for it), or one past
/// the end of a series that was ended there ("this and following", in Bookline or in
/// Google). Google reports such an instance as cancelled; it cancels nothing, and storing
/// it would show a cancelled ghost beside the series (or beside the new series of a
/// split). A series Bookline cannot expand, or does not hold, keeps the old behaviour.
fn cancels_no_occurrence(
    store: &Store,
    tx: &Transaction<'_>,
    p: &Planned,
) -> Result<bool, StoreError> {
    let Some((fields, instance)) = p.ops.iter().find_map(|op| match op {
        SyncOp::CreateInCrm {
            fields,
            instance_of: Some(instance),
            ..
        } => Some((fields, instance)),
        _ => None,
    }) else {
        return Ok(false);
    };
    if fields.status != SyncStatus::Cancelled {
        return Ok(false);
    }
    let Some(series) = store.get_in(tx, &instance.series_id)? else {
        return Ok(false);
    };
    let Some(recurrence) = &series.recurrence else {
        return Ok(false);
    };
    let all_day = matches!(series.timing, crate::model::Timing::AllDay { .. });
    let (Some(key), Ok(tz)) = (
        crate::recurrence::parse_original_start(&instance.original_start, all_day),
        series.timezone.parse::<chrono_tz::Tz>(),
    ) else {
        return Ok(false);
    };
    Ok(crate::recurrence::is_instance(&series.timing, tz, &recurrence.lines, key) == Ok(false))
}

/// Applies one key's CRM ops and link; counts what it did and hands back its activity
/// rows (the caller writes a page's rows together).
#[allow(clippy::too_many_arguments)]
fn apply_one(
    store: &Store,
    tx: &Transaction<'_>,
    ctx: &AccountContext,
    p: &Planned,
    done: &GoogleDone,
    calendar_tz: &str,
    counts: &mut SyncReport,
    activity_out: &mut Vec<NewActivity>,
) -> Result<(), StoreError> {
    if cancels_no_occurrence(store, tx, p)? {
        // Stands for no occurrence of the series any more: nothing to store or link.
        return Ok(());
    }
    let title = p.title();
    let mut appointment_id = p.item.key.appointment_id.clone();
    let mut crm_after: Option<SyncFields> = None;
    let mut lead = p.lead.clone();
    let mut log = Vec::new();
    for op in &p.ops {
        match op {
            SyncOp::CreateInCrm {
                fields,
                appointment_id: reuse,
                instance_of,
            } => {
                let input = input_from(
                    fields,
                    Lead::default(),
                    fields.status.to_crm(Status::Booked),
                );
                let created = store.insert_in(
                    tx,
                    input,
                    Origin::Google,
                    ChangeSource::Sync,
                    instance_of.clone(),
                    reuse.clone(),
                )?;
                counts.created_in_crm += 1;
                // A transfer's creation is logged by the transfer's one entry (see the
                // end of this function): not even its sentence is made.
                if p.job_item.is_none() {
                    log.push(
                        NewActivity::new(
                            ActivityKind::Created,
                            Some(Side::Crm),
                            format!("Created “{}” in Bookline", created.title),
                        )
                        .appointment(Some(&created.id)),
                    );
                }
                crm_after = Some(fields_of(&created));
                appointment_id = Some(created.id);
            }
            SyncOp::UpdateCrm { fields, to } => {
                let id = appointment_id.clone().unwrap_or_default();
                let current = store
                    .get_in(tx, &id)?
                    .ok_or(StoreError::NotFound { id: id.clone() })?;
                lead = current.lead.clone();
                // The user's edits since the plan are the later ones: their fields keep
                // the user's values and wait in the outbox to be pushed.
                let edited = edited_since_plan(p, &current);
                let apply = fields.difference(edited);
                let mut merged = fields_of(&current);
                merged.take_fields(to, apply);
                let saved = if apply.is_empty() {
                    current
                } else {
                    let status = merged.status.to_crm(current.status);
                    let input = AppointmentInput {
                        lead: current.lead.clone(),
                        ..input_from(&merged, current.lead.clone(), status)
                    };
                    let updated = store.update_in(tx, &id, input, ChangeSource::Sync)?;
                    counts.updated_in_crm += 1;
                    log.push(
                        NewActivity::new(
                            ActivityKind::Updated,
                            Some(Side::Crm),
                            format!("Updated “{}” in Bookline", updated.title),
                        )
                        .appointment(Some(&id))
                        .detail(changed_fields(apply)),
                    );
                    updated
                };
                crm_after = Some(synced_crm(p, &saved, edited, Some(to), *fields));
            }
            SyncOp::CancelInCrm => {
                let id = appointment_id.clone().unwrap_or_default();
                let before = store.get_in(tx, &id)?;
                let cancelled =
                    store.set_status_in(tx, &id, Status::Cancelled, ChangeSource::Sync)?;
                counts.deleted_in_crm += 1;
                log.push(
                    NewActivity::new(
                        ActivityKind::Deleted,
                        Some(Side::Crm),
                        format!(
                            "Cancelled “{}” in Bookline (deleted in Google)",
                            cancelled.title
                        ),
                    )
                    .appointment(Some(&id)),
                );
                let mut edited = before.map(|b| edited_since_plan(p, &b)).unwrap_or_default();
                edited.remove(Field::Status);
                crm_after = Some(synced_crm(p, &cancelled, edited, None, FieldSet::default()));
            }
            SyncOp::DeleteInCrm => {
                let id = appointment_id.clone().unwrap_or_default();
                store.delete_in(tx, &id, ChangeSource::Sync)?;
                counts.deleted_in_crm += 1;
                log.push(
                    NewActivity::new(
                        ActivityKind::Deleted,
                        Some(Side::Crm),
                        format!("Deleted “{title}” in Bookline (deleted in Google)"),
                    )
                    .appointment(Some(&id)),
                );
            }
            SyncOp::CreateInGoogle { .. } => {
                counts.created_in_google += 1;
                log.push(
                    NewActivity::new(
                        ActivityKind::Created,
                        Some(Side::Google),
                        format!("Created “{title}” in Google"),
                    )
                    .appointment(appointment_id.as_deref()),
                );
            }
            SyncOp::UpdateGoogle { fields, .. } => {
                counts.updated_in_google += 1;
                log.push(
                    NewActivity::new(
                        ActivityKind::Updated,
                        Some(Side::Google),
                        format!("Updated “{title}” in Google"),
                    )
                    .appointment(appointment_id.as_deref())
                    .detail(changed_fields(*fields)),
                );
            }
            SyncOp::DeleteInGoogle => {
                counts.deleted_in_google += 1;
                // Without a link and a row (`orphan_delete`) the title is not known any
                // more, and Google may have had no event to delete.
                let summary = if p.link.is_none() && p.item.crm.is_none() {
                    "Deleted in Google the event of a deleted appointment whose first sync \
                     was not confirmed"
                        .to_owned()
                } else {
                    format!("Deleted “{title}” in Google")
                };
                log.push(
                    NewActivity::new(ActivityKind::Deleted, Some(Side::Google), summary)
                        .appointment(appointment_id.as_deref()),
                );
            }
            SyncOp::RecordConflict { field, winner } => {
                counts.conflicts += 1;
                let kept = match winner {
                    Side::Crm => "Bookline's",
                    Side::Google => "Google's",
                };
                log.push(
                    NewActivity::new(
                        ActivityKind::Conflict,
                        None,
                        format!(
                            "“{title}”: the {field} changed in both Bookline and Google; kept {kept} (the later edit)"
                        ),
                    )
                    .appointment(appointment_id.as_deref()),
                );
            }
            SyncOp::Link { .. } | SyncOp::Unlink | SyncOp::Skip { .. } => {}
        }
    }

    let event_id = event_id_of(p);
    let written = match done {
        GoogleDone::Written(e) => Some(e),
        _ => None,
    };
    let link_op = p.ops.iter().rev().find_map(|op| match op {
        SyncOp::Link { snapshot } => Some(Some(snapshot)),
        SyncOp::Unlink => Some(None),
        _ => None,
    });
    match (link_op, appointment_id.as_deref(), event_id.as_deref()) {
        (Some(None), Some(id), _) => {
            links::delete_by_appointment(store, tx, id)?;
        }
        (Some(Some(snapshot)), Some(id), Some(event_id)) => {
            // Store what each side really holds: the CRM row as saved, the event as
            // Google answered (mapped the way the next read will map it), so the next
            // pass sees no change and nothing echoes.
            let google = written
                .and_then(|e| {
                    let mctx = MappingContext {
                        calendar_timezone: calendar_tz,
                        privacy: &ctx.privacy,
                        lead: &lead,
                    };
                    mapping::fields_from_event(e, &mctx).ok()
                })
                .unwrap_or_else(|| snapshot.google.clone());
            // The snapshot records the event as written or as read in this pass: the
            // etag is that version's, so the next write's `If-Match` matches it.
            let etag = written
                .and_then(|e| e.etag.clone())
                .or_else(|| p.google_etag.clone())
                .or_else(|| p.link.as_ref().and_then(|l| l.etag.clone()));
            let is_new = p.link.is_none();
            links::upsert(
                store,
                tx,
                &Link {
                    appointment_id: id.to_owned(),
                    calendar_id: linked_calendar(store, tx, p)?
                        .unwrap_or_else(|| ctx.calendar_id.clone()),
                    event_id: event_id.to_owned(),
                    etag,
                    snapshot: Snapshot {
                        crm: crm_after.clone().unwrap_or_else(|| snapshot.crm.clone()),
                        google,
                    },
                    synced_at: Utc::now(),
                    last_error: None,
                    google_text: written
                        .map(|e| text_of(e))
                        .or_else(|| p.google_text.clone())
                        .or_else(|| p.link.as_ref().and_then(|l| l.google_text.clone())),
                },
            )?;
            let created = p.ops.iter().any(|op| {
                matches!(
                    op,
                    SyncOp::CreateInGoogle { .. } | SyncOp::CreateInCrm { .. }
                )
            });
            if is_new && !created {
                if p.item.paired_by == Some(PairedBy::SourceEventId) {
                    // Linked again: the link says which event it is from now on.
                    store.clear_source_event_in(tx, id)?;
                }
                log.push(
                    NewActivity::new(
                        ActivityKind::Linked,
                        None,
                        format!("Linked “{title}” with its Google event"),
                    )
                    .appointment(Some(id))
                    .event(Some(event_id)),
                );
            }
        }
        _ => {
            if let (Some(id), Some(link)) = (appointment_id.as_deref(), &p.link) {
                // Nothing decided (`plan_events` kept the key for its new etag only):
                // the snapshot still holds, the etag follows Google.
                let read = p.google_etag.clone().filter(|_| p.ops.is_empty());
                match written.and_then(|e| e.etag.clone()).or(read) {
                    Some(etag) if Some(&etag) != link.etag.as_ref() => {
                        let mut l = link.clone();
                        l.etag = Some(etag);
                        l.last_error = None;
                        l.google_text = written
                            .map(|e| text_of(e))
                            .or_else(|| p.google_text.clone())
                            .or_else(|| link.google_text.clone());
                        links::upsert(store, tx, &l)?;
                    }
                    _ if link.last_error.is_some() => links::set_error(store, tx, id, None)?,
                    _ => {}
                }
            }
        }
    }
    for seq in &p.outbox {
        store.outbox_complete_in(tx, *seq)?;
    }
    // A transfer's item is logged by the transfer's one entry, which opens onto its
    // items (`backfill::transfer_items`): a row per imported event cost a third of the
    // floor of an import and pushed everything else out of Sync activity. What needs the
    // user's eye (conflicts, errors) is still logged on its own.
    let logged_by_transfer = |kind: ActivityKind| {
        p.job_item.is_some()
            && matches!(
                kind,
                ActivityKind::Created | ActivityKind::Linked | ActivityKind::Updated
            )
    };
    activity_out.extend(
        log.into_iter()
            .filter(|entry| !logged_by_transfer(entry.kind))
            .map(|entry| entry.event(event_id.as_deref())),
    );
    Ok(())
}

/// The synced fields of `row` that changed since the plan read it: a user's edit that
/// landed between plan and apply (it queued its own outbox entry).
fn edited_since_plan(p: &Planned, row: &Appointment) -> FieldSet {
    match p.item.crm.as_ref().filter(|c| !c.deleted) {
        Some(planned) => planned.fields.diff(&fields_of(row)),
        None => FieldSet::default(),
    }
}

/// The CRM snapshot of a link after a CRM write: the row as saved, except that fields
/// the user edited since the plan (`edited`) hold what the plan knew of them, with
/// `to`'s values for the planned `fields`. So the snapshot never claims that the user's
/// new value was synced, and the next push sends it.
fn synced_crm(
    p: &Planned,
    saved: &Appointment,
    edited: FieldSet,
    to: Option<&SyncFields>,
    fields: FieldSet,
) -> SyncFields {
    let mut after = fields_of(saved);
    let Some(planned) = p.item.crm.as_ref().filter(|_| !edited.is_empty()) else {
        return after;
    };
    let mut known = planned.fields.clone();
    if let Some(to) = to {
        known.take_fields(to, fields);
    }
    after.take_fields(&known, edited);
    after
}

/// How long a failed outbox entry waits before the next pass tries it again.
fn retry_delay(attempts: u32) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.min(6));
    chrono::Duration::seconds(secs.min(3600))
}

fn record_failure(
    store: &Store,
    tx: &Transaction<'_>,
    p: &Planned,
    message: &str,
    counts: &mut SyncReport,
) -> Result<(), StoreError> {
    let title = p.title();
    let sentence = format!("“{title}” could not be synced: {message}");
    counts.errors.push(sentence.clone());
    let now = Utc::now();
    for seq in &p.outbox {
        let attempts = store.outbox_attempts_in(tx, *seq)?;
        store.outbox_failed_in(tx, *seq, message, now + retry_delay(attempts))?;
    }
    if let Some(id) = p.item.key.appointment_id.as_deref() {
        links::set_error(store, tx, id, Some(message))?;
    }
    if let Some((job, seq)) = p.job_item {
        crate::sync::backfill::mark_item(store, tx, job, seq, "failed", Some(message))?;
    }
    activity::append(
        store,
        tx,
        &NewActivity::new(ActivityKind::Error, None, sentence)
            .appointment(p.item.key.appointment_id.as_deref())
            .event(event_id_of(p).as_deref())
            .detail(message),
    )?;
    Ok(())
}

/// The reason an occurrence is parked while its series is parked.
const WAITS_FOR_PARKED_SERIES: &str =
    "it waits for its repeating series, which Bookline set aside; it arrives with the series";

/// The reason an occurrence fails in a transfer when its series failed.
const WAITS_FOR_FAILED_SERIES: &str =
    "it waits for its repeating series, which could not be stored";

/// The reason an occurrence of a Bookline series fails when its series' insert failed.
const WAITS_FOR_UNSENT_SERIES: &str =
    "it waits for its repeating series, which could not be sent to Google; it is sent with it";

/// The appointments whose series `round` inserts into Google.
fn series_inserted(round: &[Planned]) -> HashSet<String> {
    round
        .iter()
        .filter(|p| {
            matches!(
                p.google_write(),
                Some(SyncOp::CreateInGoogle { instance: None, .. })
            )
        })
        .filter_map(|p| p.item.key.appointment_id.clone())
        .collect()
}

/// The series appointment whose occurrence this key writes into Google, if it does.
fn occurrence_series(p: &Planned) -> Option<&str> {
    match p.google_write() {
        Some(SyncOp::CreateInGoogle {
            instance: Some(series),
            ..
        }) => Some(series.series_appointment_id.as_str()),
        _ => None,
    }
}

/// The appointment a key creates in Bookline for a new series (`instance: false`), or the
/// series appointment a new occurrence is created in (`instance: true`), if it does.
fn series_created(p: &Planned, instance: bool) -> Option<&str> {
    p.ops.iter().find_map(|op| match op {
        SyncOp::CreateInCrm {
            appointment_id,
            instance_of,
            fields,
        } => match instance_of {
            Some(i) if instance => Some(i.series_id.as_str()),
            None if !instance && !fields.recurrence.is_empty() => appointment_id.as_deref(),
            _ => None,
        },
        _ => None,
    })
}

/// Adds to the listing the parked occurrences of the series it holds, read again by id
/// (Google names an occurrence `{series}_{original start}`): they were parked with their
/// series (`WAITS_FOR_PARKED_SERIES`) and the token moved past them, so when the series
/// comes back changed they are read with it and land with it (`pair_new_series`) — or are
/// parked with it again, logging nothing new. A series still parked at the version listed
/// can only be parked again: its occurrences are not read. The occurrences of a series
/// deleted in Google, and occurrences gone from Google, wait for nothing any more.
async fn read_waiting_occurrences(
    store: &Store,
    w: &Writer<'_>,
    calendar_id: &str,
    pages: &mut [EventsPage],
) -> Result<(), SyncError> {
    let has_series = |p: &EventsPage| {
        p.items
            .iter()
            .any(|e| e.recurrence.as_ref().is_some_and(|r| !r.is_empty()) || e.is_cancelled())
    };
    if !pages.iter().any(has_series) {
        return Ok(());
    }
    let parked = store.read(|c| {
        if parked::any(store, c, calendar_id)? {
            parked::versions(store, c, calendar_id)
        } else {
            Ok(HashMap::new())
        }
    })?;
    if parked.is_empty() {
        return Ok(());
    }
    let listed: HashSet<&str> = pages
        .iter()
        .flat_map(|p| p.items.iter().filter_map(|e| e.id.as_deref()))
        .collect();
    let mut wanted: Vec<(usize, String)> = Vec::new();
    let mut forget: Vec<String> = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        for e in &page.items {
            let Some(id) = e.id.as_deref() else { continue };
            let cancelled = e.is_cancelled();
            if !cancelled && e.recurrence.as_ref().is_none_or(|r| r.is_empty()) {
                continue;
            }
            if matches!(parked.get(id), Some(Some(v)) if Some(v) == e.etag.as_ref()) {
                continue;
            }
            let prefix = format!("{id}_");
            for occurrence in parked.keys().filter(|k| k.starts_with(&prefix)) {
                if cancelled {
                    forget.push(occurrence.clone());
                } else if !listed.contains(occurrence.as_str()) {
                    wanted.push((i, occurrence.clone()));
                }
            }
        }
    }
    if !wanted.is_empty() {
        let calls: Vec<WriteCall> = wanted
            .iter()
            .map(|(_, id)| WriteCall::Get {
                event_id: id.clone(),
            })
            .collect();
        let outcomes = w.run_in(&calls, &[]).await?;
        for ((i, id), outcome) in wanted.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Event(e) => pages[i].items.push(*e),
                // A failed read is the pass's error: the token stays before the series,
                // which is read again with its occurrences next pass.
                Outcome::Failed(e) => return Err(SyncError::Google(e)),
                _ => forget.push(id),
            }
        }
    }
    if !forget.is_empty() {
        store.write("update the events set aside", |tx| {
            for id in &forget {
                parked::forget(store, tx, calendar_id, id)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// An event of a listing page, as parking needs it.
struct Listed {
    id: String,
    etag: Option<String>,
    title: String,
}

impl Listed {
    fn of(event: &Event) -> Option<Listed> {
        Some(Listed {
            id: event.id.clone()?,
            etag: event.etag.clone(),
            title: event.summary.clone().unwrap_or_default(),
        })
    }
}

/// The activity entry of a newly parked event (written once per version of the event).
fn parked_entry(title: &str, reason: &str) -> NewActivity {
    NewActivity::new(
        ActivityKind::Error,
        Some(Side::Google),
        format!(
            "“{title}” in Google can't be stored in Bookline; it is set aside until it \
             changes in Google: {reason}"
        ),
    )
    .detail(reason)
}

/// Before a listing page is applied: forgets the parked events Google sent a new version
/// of (they are tried again as news), and parks the page's events whose times could not
/// be read (`unreadable`: their problems from `plan_events`), logging each once.
fn park_listed(
    store: &Store,
    calendar_id: &str,
    listed: &[Listed],
    unreadable: &[NewActivity],
) -> Result<(), StoreError> {
    if unreadable.is_empty() && !store.read(|c| parked::any(store, c, calendar_id))? {
        return Ok(());
    }
    store.write("set aside the events Bookline cannot store", |tx| {
        parked::forget_changed(
            store,
            tx,
            calendar_id,
            listed.iter().map(|l| (l.id.as_str(), l.etag.as_deref())),
        )?;
        for problem in unreadable {
            let Some(event_id) = problem.event_id.as_deref() else {
                continue;
            };
            let event = listed.iter().find(|l| l.id == event_id);
            let title = event
                .map(|l| l.title.trim())
                .filter(|t| !t.is_empty())
                .unwrap_or("(no title)");
            let reason = problem.detail.as_deref().unwrap_or(&problem.summary);
            let version = event.and_then(|l| l.etag.as_deref());
            if parked::park(store, tx, calendar_id, event_id, title, reason, version)? {
                activity::append(
                    store,
                    tx,
                    &parked_entry(title, reason).event(Some(event_id)),
                )?;
            }
        }
        Ok(())
    })
}

/// Parks a key of the pull whose Google side the store refused (see `apply`).
fn park_refused(
    store: &Store,
    tx: &Transaction<'_>,
    ctx: &AccountContext,
    p: &Planned,
    event_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let title = p.title();
    let appointment_id = p.item.key.appointment_id.as_deref();
    if let Some(id) = appointment_id {
        // A linked appointment keeps what it had; its row says why Google's change did
        // not arrive (cleared when a later version applies and rewrites the link).
        links::set_error(store, tx, id, Some(reason))?;
    }
    let version = p.google_etag.as_deref();
    if parked::park(
        store,
        tx,
        &ctx.calendar_id,
        event_id,
        &title,
        reason,
        version,
    )? {
        activity::append(
            store,
            tx,
            &parked_entry(&title, reason)
                .appointment(appointment_id)
                .event(Some(event_id)),
        )?;
    }
    Ok(())
}

/// Unparks the events of the pull's and the transfer's keys that applied (one parked at
/// this version that now applies: e.g. its series arrived since).
fn unpark_applied<'a>(
    store: &Store,
    tx: &Transaction<'_>,
    ctx: &AccountContext,
    applied: impl IntoIterator<Item = &'a Planned>,
) -> Result<(), StoreError> {
    let mut applied = applied
        .into_iter()
        // A transfer's keys too: a parked event the transfer stored is parked no more.
        .filter(|p| p.park_on_refusal || p.job_item.is_some())
        .filter_map(|p| p.item.key.event_id.as_deref())
        .peekable();
    if applied.peek().is_none() || !parked::any(store, tx, &ctx.calendar_id)? {
        return Ok(());
    }
    for event_id in applied {
        parked::forget(store, tx, &ctx.calendar_id, event_id)?;
    }
    Ok(())
}

fn changed_fields(fields: FieldSet) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    format!("Changed: {}", names.join(", "))
}

/// Makes sure a linked event's summary and description are written again when what
/// Bookline would render for them (title and notes through the privacy settings, with
/// the lead) differs from what the event holds: after a change of the lead or of the
/// privacy settings no synced field changed, so `decide` sees nothing to do. Widens a
/// Google update the decision already makes, or adds one; adds nothing when the text
/// is the same, when the item goes away, or when the decision writes nothing to
/// Google for a reason (e.g. the event was deleted there).
fn rerender(
    ops: &mut Vec<SyncOp>,
    crm: &CrmSide,
    link: &Link,
    lead: &Lead,
    privacy: &PrivacySettings,
) {
    if crm.deleted || crm.fields.status == SyncStatus::Cancelled {
        return;
    }
    let (summary, description) = privacy.render(&crm.fields.title, &crm.fields.notes, lead);
    let same = link
        .google_text
        .as_ref()
        .is_some_and(|t| t.summary == summary && t.description == description);
    if same {
        return;
    }
    let text = FieldSet::from_iter([Field::Title, Field::Notes]);
    if let Some(SyncOp::UpdateGoogle { fields, .. }) = ops
        .iter_mut()
        .find(|op| matches!(op, SyncOp::UpdateGoogle { .. }))
    {
        *fields = fields.union(text);
        return;
    }
    // Only when the decision had nothing else to do: any other op (a delete, a skip,
    // a conflict) says why Google is not to be written.
    if ops.iter().all(|op| matches!(op, SyncOp::Link { .. })) {
        ops.insert(
            0,
            SyncOp::UpdateGoogle {
                fields: text,
                to: crm.fields.clone(),
            },
        );
    }
}

/// Records, before the chunk's writes go out, that each unlinked appointment about to be
/// inserted into Google has been tried: `next_attempt_at` set to now (still due, so
/// nothing waits longer). A failure overwrites it with the retry time and a success
/// removes the entry, so a set `next_attempt_at` on an upsert means "an insert may have
/// reached Google" even when the process died before the answer was recorded — which
/// `orphan_delete` needs to know.
fn mark_inserts_sent(store: &Store, chunk: &[Planned]) -> Result<(), StoreError> {
    let seqs: Vec<i64> = chunk
        .iter()
        .filter(|p| p.link.is_none())
        .filter(|p| {
            p.ops
                .iter()
                .any(|op| matches!(op, SyncOp::CreateInGoogle { instance: None, .. }))
        })
        .flat_map(|p| p.outbox.iter().copied())
        .collect();
    if seqs.is_empty() {
        return Ok(());
    }
    store.outbox_mark_tried(&seqs, Utc::now())
}

/// The delete of an appointment that has no link but whose insert may have reached
/// Google: the insert was sent, and its answer was lost (a timeout, a cut connection, a
/// broken body) or the process died before recording it; then the user deleted the
/// appointment before a retry or a pull could link the event. Without this the delete
/// would find nothing to delete and the event would stay in Google for good (the pull
/// leaves a Bookline event without an appointment alone). The event can only be under
/// the id derived from the appointment id, so the delete goes there: one request, and
/// 404/410 counts as done.
///
/// `None` — nothing is sent — when no insert was ever tried: the appointment was created
/// and deleted between two passes, or it was never Bookline's to send.
fn orphan_delete(
    store: &Store,
    conn: &Connection,
    appointment_id: &str,
    due: Vec<i64>,
) -> Result<Option<Planned>, StoreError> {
    let Some(event_id) = ids::event_id_for(appointment_id) else {
        return Ok(None);
    };
    // Tried by a pass: an upsert with a failed attempt or marked by `mark_inserts_sent`.
    // Tried by a transfer: an insert item that failed or was marked as sent before its
    // chunk left (`backfill::mark_inserts_sent`; a done item wrote a link).
    let attempted = store.outbox_upsert_tried_in(conn, appointment_id)?
        || crate::sync::backfill::insert_tried(store, conn, appointment_id)?;
    if !attempted {
        return Ok(None);
    }
    // Every entry of the appointment is settled with the delete, also those not due yet
    // (a failed upsert waiting for its retry): the delete supersedes them, and an upsert
    // left behind would find no row and be dropped, forgetting that it was tried.
    let mut seqs = store.outbox_seqs_of_in(conn, appointment_id)?;
    for seq in due {
        if !seqs.contains(&seq) {
            seqs.push(seq);
        }
    }
    let item = SyncItem {
        key: SyncKey {
            appointment_id: Some(appointment_id.to_owned()),
            event_id: Some(event_id),
        },
        crm: None,
        google: None,
        base: None,
        paired_by: None,
        series: None,
    };
    let mut p = Planned::new(item, vec![SyncOp::DeleteInGoogle]);
    p.outbox = seqs;
    Ok(Some(p))
}

/// Moves each occurrence of a series (an event with `recurringEventId`) onto the page
/// of the listing that holds its series, wherever either was listed. Pages are planned
/// and applied one at a time, and an occurrence of a series Bookline does not hold yet
/// can only be paired with it (`pair_new_series`) in the same plan: planned on a page
/// before its series, it would wait for a series that is not linked, and the listing's
/// sync token would pass it for good. The token is saved with the last page, after
/// every page applied, so moving events between pages changes nothing else.
fn gather_series(pages: &mut [EventsPage]) {
    let occurrences = pages
        .iter()
        .any(|p| p.items.iter().any(|e| e.recurring_event_id.is_some()));
    if !occurrences || pages.len() < 2 {
        return;
    }
    let page_of: HashMap<String, usize> = pages
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.items.iter().filter_map(move |e| Some((e.id.clone()?, i))))
        .collect();
    for i in 0..pages.len() {
        let mut stay = Vec::new();
        for e in std::mem::take(&mut pages[i].items) {
            match e.recurring_event_id.as_ref().and_then(|m| page_of.get(m)) {
                Some(&j) if j != i => pages[j].items.push(e),
                _ => stay.push(e),
            }
        }
        pages[i].items = stay;
    }
}

/// A fresh appointment id, as the store makes them: for a series created by sync whose
/// occurrences must name it before it exists (`pair_new_series`).
pub(crate) fn new_appointment_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The synced fields of an appointment.
pub fn fields_of(a: &Appointment) -> SyncFields {
    SyncFields {
        title: a.title.clone(),
        timing: a.timing.clone(),
        timezone: a.timezone.clone(),
        location: a.location.clone(),
        notes: a.notes.clone(),
        status: SyncStatus::from_crm(a.status),
        recurrence: a
            .recurrence
            .as_ref()
            .map(|r| r.lines.clone())
            .unwrap_or_default(),
    }
}

pub(crate) fn crm_side(a: &Appointment) -> CrmSide {
    CrmSide {
        appointment_id: a.id.clone(),
        fields: fields_of(a),
        origin: a.origin,
        created_at: a.created_at,
        updated_at: a.updated_at,
        deleted: false,
        source_event_id: None,
        instance_of: a.instance_of.clone(),
    }
}

/// The deletion record of a linked appointment that is gone from the CRM.
pub(crate) fn deleted_side(link: &Link) -> CrmSide {
    CrmSide {
        appointment_id: link.appointment_id.clone(),
        fields: link.snapshot.crm.clone(),
        origin: Origin::Crm,
        created_at: link.synced_at,
        updated_at: Utc::now(),
        deleted: true,
        source_event_id: None,
        instance_of: None,
    }
}

/// An appointment input for synced fields. Google allows what the CRM refuses from a
/// user (an empty title, a zone name Bookline does not know); the row gets a stand-in
/// and the link's snapshot records both sides as they are.
pub(crate) fn input_from(fields: &SyncFields, lead: Lead, status: Status) -> AppointmentInput {
    let title = if fields.title.trim().is_empty() {
        "(no title)".to_owned()
    } else {
        fields.title.clone()
    };
    let timezone = if fields.timezone.parse::<chrono_tz::Tz>().is_ok() {
        fields.timezone.clone()
    } else {
        "UTC".to_owned()
    };
    AppointmentInput {
        title,
        timing: fields.timing.clone(),
        timezone,
        location: fields.location.clone(),
        notes: fields.notes.clone(),
        lead,
        status,
        recurrence: (!fields.recurrence.is_empty()).then(|| Recurrence {
            lines: fields.recurrence.clone(),
        }),
    }
}

/// The Google side as the decision function sees it, for backfill's listing.
pub(crate) fn google_side_of(
    event: &Event,
    calendar_tz: &str,
    privacy: &PrivacySettings,
    lead: &Lead,
    known: Option<&SyncFields>,
) -> Result<GoogleSide, mapping::MappingError> {
    mapping::google_side(
        event,
        &MappingContext {
            calendar_timezone: calendar_tz,
            privacy,
            lead,
        },
        known,
    )
}

/// What `plan_events` keeps per event for the plan (the last: its etag).
type Extra = (
    Lead,
    Option<Link>,
    Option<EventStatus>,
    Option<GoogleText>,
    Option<String>,
);

/// What an event shows: its summary and description.
pub(crate) fn text_of(event: &Event) -> GoogleText {
    GoogleText {
        summary: event.summary.clone().unwrap_or_default(),
        description: event.description.clone().unwrap_or_default(),
    }
}

/// The series of an occurrence, when the series is linked (what `join` fills in).
pub(crate) fn series_ref(
    store: &Store,
    conn: &Connection,
    crm: Option<&CrmSide>,
    google: Option<&GoogleSide>,
) -> Result<Option<InstanceRef>, StoreError> {
    if let Some(i) = google.and_then(|g| g.instance_of.as_ref()) {
        if let Some(series) = links::by_event_any(store, conn, &i.series_event_id)? {
            return Ok(Some(InstanceRef {
                series_appointment_id: series.appointment_id,
                series_event_id: i.series_event_id.clone(),
                original_start: i.original_start.clone(),
            }));
        }
    }
    if let Some(i) = crm.and_then(|c| c.instance_of.as_ref()) {
        if let Some(series) = links::by_appointment(store, conn, &i.series_id)? {
            return Ok(Some(InstanceRef {
                series_appointment_id: i.series_id.clone(),
                series_event_id: series.event_id,
                original_start: i.original_start.clone(),
            }));
        }
    }
    Ok(None)
}
