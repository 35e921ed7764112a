//! The application API: what the window's commands, the tray and the command line call.
//! A front parses, calls one of these and shows the answer; when two fronts would hold
//! the same `if`, it belongs here (GitButler's `but-api` serves its Tauri app and its CLI
//! the same way).
//!
//! `App` wires one Bookline process once — the store, the OS keyring, the Google
//! endpoints, the account service, one sync engine (one rate limiter), the data dir's
//! sync lock — and answers: `sync_once`, `begin_transfer` + `transfer` (Synchronize
//! Google Calendar: hold the background loop, resume-or-start, one at a time, latest
//! progress), `transfer_preview`, `save_settings` (validation and the calendar rules),
//! `connect`, `disconnect`, `status`.
//!
//! Every pass and every transfer runs under the sync lock (`sync_lock`), so the tray
//! app and a terminal's `bookline sync` never run one at the same time on one data dir.
//!
//! The demo (the built-in emulator, its OAuth client, sample data) is wired by the app
//! crate: it hands `open` the endpoints, the client and a shutdown hook.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::account::{AccountService, AppStatus, CalendarChoice, DisconnectReport, Readiness};
use crate::busy::{self, BusyBlock, BusyTimes};
use crate::error::{AppError, ErrorCode};
use crate::google::Endpoints;
use crate::google::{FreeBusyItem, FreeBusyRequest};
use crate::model::{Appointment, AppointmentId, AppointmentInput, BookingRequest, Timing};
use crate::oauth::OAuthClientConfig;
use crate::paths;
use crate::runtime::SyncPhase;
use crate::runtime::{RuntimeConfig, SyncRuntime, SyncRuntimeHandle};
use crate::secrets::{KeyringSecretStore, SecretStore};
use crate::store::Store;
use crate::store::StoreError;
use crate::sync::backfill::{
    self, BackfillPreview, BackfillProgress, BackfillRequest, ProgressState,
};
use crate::sync::booking::{self, validate_invite, LeadAnswered};
use crate::sync::calendar_change::{
    apply_calendar_change, preview_calendar_change, CalendarChangeChoice, CalendarChangePreview,
    CalendarChangeReport,
};
use crate::sync::engine::{EngineOptions, SyncEngine, SyncReport};
use crate::sync::held::{self, HeldChoice, HeldDeletes};
use crate::sync::service::{account_context, run_pass, status_view, EnginePass};
use crate::sync::settings::{self, SyncSettings};
use crate::sync_lock::{SyncLock, SyncLockGuard};

/// Runs once when the app shuts down (the demo saves its emulator's state).
pub type ShutdownHook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// How long a transfer waits for another process's pass or transfer to end.
const TRANSFER_LOCK_WAIT: Duration = Duration::from_secs(60);

/// How to build the context.
pub struct AppOptions {
    pub data_dir: PathBuf,
    /// `--google-base-url` / `BOOKLINE_GOOGLE_BASE_URL`; `None` means real Google.
    pub google_base_url: Option<String>,
    /// Endpoints the front already has (the demo's in-process emulator); win over
    /// `google_base_url`.
    pub endpoints: Option<Endpoints>,
    /// The OAuth client the front chose (the demo's); `None` reads the environment and
    /// `google-client.json` in the data dir.
    pub oauth_client: Option<OAuthClientConfig>,
    /// Running against the built-in emulator (shown in the status).
    pub demo: bool,
    /// The OS keyring unless a test supplies another store.
    pub secrets: Option<Arc<dyn SecretStore>>,
    pub engine: EngineOptions,
    /// This process in words, for another process waiting on the sync lock: "the
    /// Bookline window", "bookline sync in a terminal".
    pub holder: String,
    pub on_shutdown: Option<ShutdownHook>,
}

impl AppOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            google_base_url: None,
            endpoints: None,
            oauth_client: None,
            demo: false,
            secrets: None,
            engine: EngineOptions::default(),
            holder: "another Bookline process".to_owned(),
            on_shutdown: None,
        }
    }
}

/// What `save_settings` did: the settings before and as saved, and what a change of
/// calendar did with the linked events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsChange {
    pub previous: SyncSettings,
    pub saved: SyncSettings,
    pub calendar_change: Option<CalendarChangeReport>,
}

/// How long a calendar change waits for a pass or transfer of another process.
const CALENDAR_CHANGE_LOCK_WAIT: Duration = Duration::from_secs(60);

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferOutcome {
    pub progress: BackfillProgress,
    /// An interrupted transfer was finished instead of the one asked for.
    pub resumed: bool,
}

/// The transfer this process runs, and its latest progress (a window hidden and shown
/// again asks for it).
#[derive(Debug)]
struct TransferRun {
    cancel: CancellationToken,
    progress: Option<BackfillProgress>,
}

type TransferSlot = Arc<Mutex<Option<TransferRun>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The right to run the one transfer of this process; from `App::begin_transfer`.
/// Dropping it (the transfer ended, or never started) frees the slot.
#[derive(Debug)]
pub struct TransferTicket {
    slot: TransferSlot,
    cancel: CancellationToken,
}

impl Drop for TransferTicket {
    fn drop(&mut self) {
        lock(&self.slot).take();
    }
}

pub struct App {
    data_dir: PathBuf,
    store: Arc<Store>,
    account: Arc<AccountService>,
    engine: Arc<SyncEngine>,
    sync_lock: Arc<SyncLock>,
    transfer: TransferSlot,
    /// Taken out by `shutdown`, which may run while the app is still shared (Quit from
    /// the tray: the Tauri shell holds the `App` in managed state and never drops it).
    on_shutdown: Mutex<Option<ShutdownHook>>,
}

impl App {
    pub async fn open(options: AppOptions) -> Result<App, AppError> {
        let store = Arc::new(Store::open(&paths::database_path(&options.data_dir))?);
        let endpoints = match options.endpoints {
            Some(endpoints) => endpoints,
            None => Endpoints::from_override(options.google_base_url.as_deref()).map_err(|e| {
                AppError::new(
                    ErrorCode::Configuration,
                    format!("The Google base URL is not usable: {e}"),
                )
            })?,
        };
        let secrets = options
            .secrets
            .unwrap_or_else(|| Arc::new(KeyringSecretStore::new()));
        let account = match options.oauth_client {
            Some(client) => AccountService::new(
                store.clone(),
                secrets,
                endpoints,
                Some(client),
                options.demo,
            )?,
            None => AccountService::from_data_dir(
                store.clone(),
                secrets,
                endpoints,
                &options.data_dir,
                options.demo,
            )?,
        }
        .with_sync_view(status_view);
        Ok(App {
            sync_lock: Arc::new(SyncLock::new(&options.data_dir, options.holder)),
            data_dir: options.data_dir,
            store,
            account: Arc::new(account),
            engine: Arc::new(SyncEngine::new(options.engine)),
            transfer: Arc::new(Mutex::new(None)),
            on_shutdown: Mutex::new(options.on_shutdown),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn account(&self) -> &Arc<AccountService> {
        &self.account
    }

    pub fn engine(&self) -> &Arc<SyncEngine> {
        &self.engine
    }

    /// Starts the background sync loop with the saved poll interval.
    pub fn spawn_runtime(&self) -> Result<SyncRuntimeHandle, AppError> {
        self.spawn_runtime_every(None)
    }

    /// Starts the background sync loop; `poll_interval` replaces the saved interval
    /// (which is at least 15 s) for tests and measurements that need a faster clock.
    pub fn spawn_runtime_every(
        &self,
        poll_interval: Option<Duration>,
    ) -> Result<SyncRuntimeHandle, AppError> {
        let saved = settings::load(&self.store)?;
        let config = RuntimeConfig {
            poll_interval: poll_interval
                .unwrap_or_else(|| Duration::from_secs(saved.poll_interval_secs.into())),
            ..Default::default()
        };
        Ok(SyncRuntime::spawn(
            self.account.clone(),
            Arc::new(EnginePass::new(self.engine.clone(), self.sync_lock.clone())),
            config,
        ))
    }

    // ---- Status and account ----

    pub fn status(&self) -> Result<AppStatus, AppError> {
        self.account.status()
    }

    /// **Copy diagnostics** / `bookline diagnostics`: version, OS, folders, connection
    /// state, direction, last sync and the latest errors — no token, no appointment
    /// contents (`diagnostics::report`). `version` is the front's (the app's) version.
    pub fn diagnostics(&self, version: &str) -> Result<String, AppError> {
        let status = self.status()?;
        let activity = crate::sync::activity::list(&self.store, 200, None)?;
        Ok(crate::diagnostics::report(
            &crate::diagnostics::DiagnosticsInput {
                version,
                os: &crate::diagnostics::this_os(),
                data_dir: &self.data_dir,
                log_dir: &paths::log_dir(&self.data_dir),
                status: &status,
                activity: &activity,
            },
        ))
    }

    /// The About dialog's facts; `version` is the front's.
    pub fn about(&self, version: &str) -> crate::diagnostics::AboutInfo {
        crate::diagnostics::AboutInfo::new(version, &self.data_dir, &paths::log_dir(&self.data_dir))
    }

    /// **Use my own Google client…**: the JSON of the client file the user chose; see
    /// `AccountService::use_client_file`. Saved in this data dir only when valid.
    pub fn use_google_client_file(&self, json: &str) -> Result<AppStatus, AppError> {
        self.account.use_client_file(&self.data_dir, json)
    }

    /// Fails with the sentence to show when no pass or transfer can run now.
    pub fn require_ready(&self) -> Result<(), AppError> {
        match self.account.readiness() {
            Readiness::Ready => Ok(()),
            Readiness::NotConnected => Err(AppError::new(
                ErrorCode::NotConnected,
                "No Google account is connected. Connect With Google first \
                 (`bookline connect` on the command line).",
            )),
            Readiness::NeedsReconnect(why) => Err(AppError::new(ErrorCode::NeedsReconnect, why)),
        }
    }

    /// Connect With Google (and Reconnect); see `AccountService::connect`.
    pub async fn connect(
        &self,
        open_browser: impl FnOnce(&Url) -> Result<(), String>,
        on_waiting: impl Fn(&Url),
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<AppStatus, AppError> {
        self.account
            .connect(open_browser, on_waiting, timeout, cancel)
            .await
    }

    /// Remove Google Account. A transfer of this process is cancelled first (its job
    /// rows go with the account); the background loop is held by the account service.
    pub async fn disconnect(&self, keep_imported: bool) -> Result<DisconnectReport, AppError> {
        self.cancel_transfer();
        self.account.disconnect(keep_imported).await
    }

    pub async fn list_calendars(&self) -> Result<Vec<CalendarChoice>, AppError> {
        self.account.list_calendars().await
    }

    // ---- Sync ----

    /// One ongoing-sync pass now, outside the background loop (`bookline sync`, the
    /// headless demo): under the sync lock, its time recorded. `confirmed` lets it past
    /// the mass-delete guard. `on_wait` hears who holds the lock if it must wait.
    pub async fn sync_once(
        &self,
        confirmed: bool,
        cancel: &CancellationToken,
        on_wait: impl FnOnce(&str),
    ) -> Result<SyncReport, AppError> {
        self.require_ready()?;
        run_pass(
            &self.engine,
            &self.account,
            &self.sync_lock,
            cancel,
            confirmed,
            on_wait,
        )
        .await
    }

    /// The leads' answers no one announced yet, oldest first, each returned once
    /// (`booking::take_unannounced`): the shell takes them after every pass and at start,
    /// and notifies the declines.
    pub fn take_unannounced_lead_answers(&self) -> Result<Vec<LeadAnswered>, AppError> {
        Ok(booking::take_unannounced(&self.store)?)
    }

    /// The deletions held for the user's decision (a mass delete the guard stopped).
    pub fn held_deletes(&self) -> Result<HeldDeletes, AppError> {
        Ok(held::pending(&self.store)?)
    }

    /// The user's decision on the held deletions: Delete them applies them, Keep them
    /// restores each item from the other side. Like a transfer it holds the background
    /// loop and takes the sync lock; afterwards the loop runs a pass, so its state (and
    /// the tray) follow at once.
    pub async fn resolve_held_deletes(
        &self,
        choice: HeldChoice,
        cancel: &CancellationToken,
        on_wait: impl FnOnce(&str),
    ) -> Result<SyncReport, AppError> {
        self.require_ready()?;
        let runtime = self.account.runtime();
        let report = {
            let _hold = match &runtime {
                Some(runtime) => Some(runtime.hold().await),
                None => None,
            };
            let _lock: SyncLockGuard = self
                .sync_lock
                .acquire(
                    "a decision on held deletions",
                    TRANSFER_LOCK_WAIT,
                    cancel,
                    on_wait,
                )
                .await?;
            let ctx = account_context(&self.account)?;
            let client = self.account.client()?;
            held::resolve(&self.engine, &self.store, &client, &ctx, choice, cancel)
                .await
                .map_err(AppError::from)?
        };
        if let Some(runtime) = runtime {
            runtime.request_sync();
        }
        Ok(report)
    }

    // ---- Appointments, booked with their lead ----

    /// Saves a new appointment with what the user asked of its booking (a Meet link, the
    /// lead's invitation). An invitation without a usable lead email is refused before
    /// anything is saved or sent. The appointment and its booking commit together; the
    /// background loop (if any) sends them to Google soon.
    pub fn create_appointment(
        &self,
        input: AppointmentInput,
        booking: BookingRequest,
    ) -> Result<Appointment, AppError> {
        let waiting = self.meet_waiting_reason()?;
        let created = booking::create_booked(&self.store, input, &booking, waiting)?;
        self.crm_changed();
        Ok(created)
    }

    /// Saves an edit with what the user asked of its booking: a Meet link or an
    /// invitation asked for now, or (`notify_lead`, for an invited lead) that Google
    /// emails the lead this change. Unticking never removes a link or a guest.
    pub fn update_appointment(
        &self,
        id: &str,
        input: AppointmentInput,
        booking: BookingRequest,
    ) -> Result<Appointment, AppError> {
        let waiting = self.meet_waiting_reason()?;
        let updated = booking::update_booked(&self.store, id, input, &booking, waiting)?;
        self.crm_changed();
        Ok(updated)
    }

    fn crm_changed(&self) {
        if let Some(runtime) = self.account.runtime() {
            runtime.crm_changed();
        }
    }

    /// The sentence the dialog shows before saving: whom Google will email and what
    /// (`None`: nobody). For an edit, `invitation_notice_for` knows whether the lead is
    /// invited already; without the id, `notify_lead` stands for an edit of an invited
    /// appointment (the dialog offers it only there).
    pub fn invitation_notice(
        &self,
        input: &AppointmentInput,
        booking: &BookingRequest,
    ) -> Result<Option<String>, AppError> {
        self.notice(input, booking, booking.notify_lead, 0)
    }

    /// `invitation_notice` for the appointment `id` (`None`: a new one).
    pub fn invitation_notice_for(
        &self,
        id: Option<&str>,
        input: &AppointmentInput,
        booking: &BookingRequest,
    ) -> Result<Option<String>, AppError> {
        let (already_invited, other_guests) = match id {
            Some(id) => {
                let row = self.store.booking_row(id)?;
                (row.invitation_sent, row.other_guests)
            }
            None => (false, 0),
        };
        self.notice(input, booking, already_invited, other_guests)
    }

    fn notice(
        &self,
        input: &AppointmentInput,
        booking: &BookingRequest,
        already_invited: bool,
        other_guests: u32,
    ) -> Result<Option<String>, AppError> {
        validate_invite(&input.lead, booking).map_err(StoreError::from)?;
        let saved = settings::load(&self.store)?;
        let email = self.account.email()?;
        Ok(booking::invitation_notice(
            &input.lead.email,
            booking,
            &booking::NoticeContext {
                account_email: email.as_deref(),
                direction: saved.direction,
                online: self.online(),
                already_invited,
                other_guests,
            },
        ))
    }

    /// A pass could reach Google now: connected, and the loop (if any) not offline.
    fn online(&self) -> bool {
        if self.account.readiness() != Readiness::Ready {
            return false;
        }
        match self.account.runtime() {
            Some(runtime) => runtime.subscribe().borrow().state != SyncPhase::Offline,
            None => true,
        }
    }

    /// What a Meet link not asked of Google yet says.
    fn meet_waiting_reason(&self) -> Result<&'static str, AppError> {
        let saved = settings::load(&self.store)?;
        Ok(booking::meet_waiting_reason(
            saved.direction,
            Some(self.online()),
        ))
    }

    /// The Google busy blocks of local `day` in `timezone`: the synced calendar's, and
    /// with `other_calendars` those of the account's other calendars. Without Google
    /// (offline, an error) the last answer for that day, marked stale with its age; the
    /// appointment being edited (`exclude_appointment`) is not busy against itself.
    pub async fn busy_times(
        &self,
        day: NaiveDate,
        timezone: String,
        other_calendars: bool,
        exclude_appointment: Option<AppointmentId>,
    ) -> Result<BusyTimes, AppError> {
        let tz: Tz = timezone.parse().map_err(|_| {
            AppError::new(
                ErrorCode::Validation,
                format!("\"{timezone}\" is not a time zone Bookline knows."),
            )
        })?;
        if self.account.readiness() == Readiness::NotConnected {
            return Ok(BusyTimes {
                message: Some(busy::NOT_CONNECTED.to_owned()),
                ..BusyTimes::default()
            });
        }
        let saved = settings::load(&self.store)?;
        let (from, to) = busy::day_window(day, tz);
        let day_key = day.format("%Y-%m-%d").to_string();
        // Its own event's time is not a conflict, in the calendar its event is in.
        let excluded: Option<(String, busy::Span)> = match exclude_appointment {
            Some(id) => {
                let appointment = self.store.get_appointment(&id)?;
                let link = self
                    .store
                    .read(|c| crate::sync::links::by_appointment(&self.store, c, &id))?;
                match (appointment, link) {
                    (Some(a), Some(link)) => {
                        let atz: Tz = a.timezone.parse().unwrap_or(chrono_tz::UTC);
                        Some((link.calendar_id, busy::timing_span(&a.timing, atz)))
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let fetched = self
            .fetch_busy(&saved.calendar_id, other_calendars, from, to)
            .await;
        let mut answers: Vec<CachedBusy> = Vec::new();
        let (fetched_at, stale, message) = match fetched {
            Ok(calendars) => {
                let now = Utc::now();
                for c in calendars {
                    let json = serde_json::to_string(&c).map_err(|e| {
                        AppError::new(ErrorCode::Internal, format!("busy times: {e}"))
                    })?;
                    self.store.cache_busy(
                        &c.calendar_id,
                        &day_key,
                        &timezone,
                        &busy::rfc3339(now),
                        &json,
                    )?;
                    answers.push(c);
                }
                (Some(now), false, None)
            }
            Err(BusyFailure::Scope) => (None, false, Some(busy::RECONNECT_FOR_BUSY.to_owned())),
            Err(BusyFailure::Unavailable(why)) => {
                tracing::info!(%why, "busy times from the cache");
                let mut oldest: Option<DateTime<Utc>> = None;
                let synced = &saved.calendar_id;
                for id in self.store.cached_busy_calendars(&day_key, &timezone)? {
                    if let Some((at, json)) = self.store.cached_busy(&id, &day_key, &timezone)? {
                        if let Ok(c) = serde_json::from_str::<CachedBusy>(&json) {
                            let is_synced =
                                c.calendar_id == *synced || (synced == "primary" && c.primary);
                            if !other_calendars && !is_synced {
                                continue;
                            }
                            let at = DateTime::parse_from_rfc3339(&at)
                                .ok()
                                .map(|t| t.with_timezone(&Utc));
                            oldest = match (oldest, at) {
                                (Some(o), Some(a)) => Some(o.min(a)),
                                (o, a) => o.or(a),
                            };
                            answers.push(c);
                        }
                    }
                }
                (
                    oldest,
                    true,
                    Some(busy::offline_message(oldest, Utc::now())),
                )
            }
        };
        let mut blocks = Vec::new();
        for c in answers {
            let mut spans = c.busy;
            if let Some((calendar, cut)) = &excluded {
                if *calendar == c.calendar_id || (c.primary && calendar == "primary") {
                    spans = busy::subtract(spans, *cut);
                }
            }
            for s in busy::merge(spans, from, to) {
                blocks.push(BusyBlock {
                    start: busy::rfc3339(s.start),
                    end: busy::rfc3339(s.end),
                    calendar_id: c.calendar_id.clone(),
                    calendar_name: c.calendar_name.clone(),
                });
            }
        }
        blocks.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(a.calendar_id.cmp(&b.calendar_id))
        });
        Ok(BusyTimes {
            blocks,
            fetched_at: fetched_at.map(busy::rfc3339),
            stale,
            message,
        })
    }

    /// The busy blocks an appointment at `timing` overlaps (the dialog's warning).
    pub fn busy_overlap(busy: &BusyTimes, timing: &Timing, timezone: &str) -> Vec<BusyBlock> {
        busy::overlaps(busy, timing, timezone)
    }

    async fn fetch_busy(
        &self,
        synced: &str,
        other_calendars: bool,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CachedBusy>, BusyFailure> {
        let unavailable = |e: AppError| BusyFailure::Unavailable(e.message);
        let client = self.account.client().map_err(unavailable)?;
        let calendars = self.account.list_calendars().await.map_err(unavailable)?;
        let synced_entry = if synced == "primary" {
            calendars.iter().find(|c| c.primary)
        } else {
            calendars.iter().find(|c| c.id == synced)
        };
        let mut asked: Vec<(String, String, bool)> = vec![(
            synced_entry.map_or_else(|| synced.to_owned(), |c| c.id.clone()),
            synced_entry.map_or_else(|| synced.to_owned(), |c| c.summary.clone()),
            synced_entry.is_some_and(|c| c.primary),
        )];
        if other_calendars {
            for c in &calendars {
                if !asked.iter().any(|(id, _, _)| *id == c.id) {
                    asked.push((c.id.clone(), c.summary.clone(), c.primary));
                }
            }
        }
        asked.truncate(50);
        let request = FreeBusyRequest {
            time_min: from,
            time_max: to,
            time_zone: None,
            items: asked
                .iter()
                .map(|(id, _, _)| FreeBusyItem { id: id.clone() })
                .collect(),
        };
        let answer = client.free_busy(&request).await.map_err(|e| {
            if e.status == Some(403)
                && e.reason.as_deref().is_some_and(|r| {
                    r == "insufficientPermissions" || r == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
                })
            {
                BusyFailure::Scope
            } else {
                BusyFailure::Unavailable(e.to_string())
            }
        })?;
        Ok(asked
            .into_iter()
            .filter_map(|(id, name, primary)| {
                let entry = answer.calendars.get(&id)?;
                if !entry.errors.is_empty() {
                    tracing::info!(calendar = %id, "freeBusy could not read a calendar");
                    return None;
                }
                Some(CachedBusy {
                    busy: entry
                        .busy
                        .iter()
                        .map(|p| busy::Span {
                            start: p.start,
                            end: p.end,
                        })
                        .collect(),
                    calendar_id: id,
                    calendar_name: name,
                    primary,
                })
            })
            .collect())
    }

    // ---- Settings ----

    /// What changing the synced calendar to `to` would mean for the linked events: how
    /// many, whose, and whether the user must choose to move or keep them (the window's
    /// settings dialog and `bookline settings --calendar` show it before saving).
    pub fn calendar_change_preview(&self, to: &str) -> Result<CalendarChangePreview, AppError> {
        let current = settings::load(&self.store)?;
        Ok(preview_calendar_change(
            &self.store,
            &current.calendar_id,
            to,
        )?)
    }

    /// Validates and saves the sync settings, with the calendar rules: when connected,
    /// the calendar must be one of the account's, and writable when the direction writes
    /// to Google; a new calendar is a decision (`calendar_choice`: move Bookline's linked
    /// events there, or keep them linked where they are), required when linked events
    /// exist elsewhere, and carried out here under the sync lock with the background loop
    /// held, so no pass sees half-moved links. `primary` is saved as the calendar's real
    /// id. The background loop picks up a new poll interval at once.
    pub async fn save_settings(
        &self,
        mut wanted: SyncSettings,
        calendar_choice: Option<CalendarChangeChoice>,
    ) -> Result<SettingsChange, AppError> {
        let previous = settings::load(&self.store)?;
        wanted.validate()?;
        if wanted.calendar_id != previous.calendar_id || wanted.direction != previous.direction {
            self.check_calendar(&wanted).await?;
        }
        let mut calendar_change = None;
        if wanted.calendar_id != previous.calendar_id {
            let preview =
                preview_calendar_change(&self.store, &previous.calendar_id, &wanted.calendar_id)?;
            let choice = match calendar_choice {
                Some(choice) => choice,
                None if preview.needs_choice => {
                    return Err(AppError::new(
                        ErrorCode::Validation,
                        preview.question("choose whether to move", "to keep them where they are."),
                    ))
                }
                None => CalendarChangeChoice::KeepWhereTheyAre,
            };
            if self.account.readiness() == Readiness::Ready {
                let report = self
                    .change_calendar(&previous.calendar_id, &wanted.calendar_id, choice)
                    .await?;
                wanted.calendar_id = report.calendar_id.clone();
                calendar_change = Some(report);
            }
        }
        let saved = settings::save(&self.store, &wanted)?;
        if let Some(runtime) = self.account.runtime() {
            runtime.set_poll_interval(Duration::from_secs(saved.poll_interval_secs.into()));
            runtime.refresh();
        }
        tracing::info!(
            direction = ?saved.direction,
            calendar = %saved.calendar_id,
            poll = saved.poll_interval_secs,
            "sync settings saved"
        );
        Ok(SettingsChange {
            previous,
            saved,
            calendar_change,
        })
    }

    async fn change_calendar(
        &self,
        from: &str,
        to: &str,
        choice: CalendarChangeChoice,
    ) -> Result<CalendarChangeReport, AppError> {
        let cancel = CancellationToken::new();
        let _hold = match self.account.runtime() {
            Some(runtime) => Some(runtime.hold().await),
            None => None,
        };
        let _lock = self
            .sync_lock
            .acquire(
                "a change of calendar",
                CALENDAR_CHANGE_LOCK_WAIT,
                &cancel,
                |_| {},
            )
            .await?;
        let client = self.account.client()?;
        apply_calendar_change(
            &self.store,
            &client,
            &self.engine,
            from,
            to,
            choice,
            &cancel,
        )
        .await
        .map_err(AppError::from)
    }

    /// The calendar rules of `save_settings`. Without a ready connection they wait for
    /// the first pass (which reports a calendar Google does not know).
    async fn check_calendar(&self, wanted: &SyncSettings) -> Result<(), AppError> {
        if self.account.readiness() != Readiness::Ready {
            return Ok(());
        }
        let calendars = self.account.list_calendars().await?;
        let found = if wanted.calendar_id == "primary" {
            calendars.iter().find(|c| c.primary)
        } else {
            calendars.iter().find(|c| c.id == wanted.calendar_id)
        };
        let Some(found) = found else {
            let known: Vec<&str> = calendars.iter().map(|c| c.id.as_str()).collect();
            return Err(AppError::new(
                ErrorCode::Validation,
                format!(
                    "Google has no calendar {:?} for this account; choose one of: primary, {}",
                    wanted.calendar_id,
                    known.join(", ")
                ),
            ));
        };
        if wanted.direction.writes_google() && !found.writable {
            return Err(AppError::new(
                ErrorCode::Validation,
                format!(
                    "The calendar {:?} is read-only for this account, so Bookline cannot write \
                     to it; choose a writable calendar or the direction Google → Bookline only",
                    found.summary
                ),
            ));
        }
        Ok(())
    }

    // ---- Synchronize Google Calendar (the transfer) ----

    /// What a transfer in `request`'s direction would do; nothing is written.
    pub async fn transfer_preview(
        &self,
        request: &BackfillRequest,
        cancel: &CancellationToken,
    ) -> Result<BackfillPreview, AppError> {
        self.require_ready()?;
        let ctx = account_context(&self.account)?;
        let client = self.account.client()?;
        backfill::preview(&self.engine, &self.store, &client, &ctx, request, cancel)
            .await
            .map_err(AppError::from)
    }

    /// Claims the one transfer this process may run, checking first that one can run
    /// (connected, ready): the window hears "already running" or "not connected" before
    /// it starts anything in the background. `cancel` stops the transfer (it keeps its
    /// place and resumes next time).
    pub fn begin_transfer(&self, cancel: CancellationToken) -> Result<TransferTicket, AppError> {
        self.require_ready()?;
        account_context(&self.account)?;
        let mut slot = lock(&self.transfer);
        if slot.is_some() {
            return Err(AppError::new(
                ErrorCode::Validation,
                "A Synchronize Google Calendar transfer is already running.",
            ));
        }
        *slot = Some(TransferRun {
            cancel: cancel.clone(),
            progress: None,
        });
        Ok(TransferTicket {
            slot: self.transfer.clone(),
            cancel,
        })
    }

    /// Runs the claimed transfer to its end: the background loop is held meanwhile (a
    /// pass never sees a half-written page), the sync lock keeps other processes out, and
    /// an interrupted transfer is finished first (starting anew would plan it again).
    /// `on_progress` hears every page.
    pub async fn transfer(
        &self,
        ticket: TransferTicket,
        request: &BackfillRequest,
        on_progress: impl Fn(&BackfillProgress),
        on_wait: impl FnOnce(&str),
    ) -> Result<TransferOutcome, AppError> {
        let cancel = ticket.cancel.clone();
        let _hold = match self.account.runtime() {
            Some(runtime) => Some(runtime.hold().await),
            None => None,
        };
        let _lock: SyncLockGuard = self
            .sync_lock
            .acquire(
                "Synchronize Google Calendar",
                TRANSFER_LOCK_WAIT,
                &cancel,
                on_wait,
            )
            .await?;
        let ctx = account_context(&self.account)?;
        let client = self.account.client()?;
        let on_page = |progress: &BackfillProgress| {
            if let Some(run) = lock(&ticket.slot).as_mut() {
                run.progress = Some(progress.clone());
            }
            on_progress(progress);
        };
        let unfinished = backfill::status(&self.store)?.is_some();
        let result = if unfinished {
            backfill::resume(&self.engine, &self.store, &client, &ctx, on_page, &cancel).await
        } else {
            backfill::start(
                &self.engine,
                &self.store,
                &client,
                &ctx,
                request,
                on_page,
                &cancel,
            )
            .await
        };
        let progress = result.map_err(AppError::from)?;
        drop(ticket);
        Ok(TransferOutcome {
            progress,
            resumed: unfinished,
        })
    }

    /// The transfer an earlier run left unfinished, if any.
    pub fn unfinished_transfer(&self) -> Result<Option<BackfillProgress>, AppError> {
        Ok(backfill::status(&self.store)?)
    }

    /// The running transfer's progress, else the stored one of an unfinished transfer.
    /// While a running transfer still reads both calendars (no page done yet) it is
    /// "running" at zero, so the window does not take its fresh job row for an
    /// interrupted one.
    pub fn transfer_progress(&self) -> Result<Option<BackfillProgress>, AppError> {
        let live = lock(&self.transfer).as_ref().map(|run| {
            run.progress.clone().unwrap_or_else(|| {
                nothing_done(
                    ProgressState::Running,
                    Some("Reading both calendars…".to_owned()),
                )
            })
        });
        match live {
            Some(progress) => Ok(Some(progress)),
            None => self.unfinished_transfer(),
        }
    }

    /// The last progress of a transfer that stopped with `error`: the counts it reached
    /// (a cancelled or failed transfer keeps its place), the state, and the sentence.
    pub fn stopped_progress(&self, error: AppError) -> BackfillProgress {
        let reached = self.unfinished_transfer().ok().flatten();
        let state = if error.code == ErrorCode::Cancelled {
            ProgressState::Cancelled
        } else {
            ProgressState::Failed
        };
        BackfillProgress {
            state,
            eta_secs: None,
            message: Some(error.message),
            ..reached.unwrap_or_else(|| nothing_done(state, None))
        }
    }

    /// Whether this process runs a transfer now.
    pub fn transfer_running(&self) -> bool {
        lock(&self.transfer).is_some()
    }

    /// Asks the running transfer to stop (it saves its place).
    pub fn cancel_transfer(&self) {
        if let Some(run) = lock(&self.transfer).as_ref() {
            run.cancel.cancel();
        }
    }

    // ---- Shutdown ----

    /// Runs the shutdown hook (the demo saves its emulator's state at once: its own
    /// autosave runs only every 5 s, so a change made just before quitting would be
    /// lost). Later calls do nothing.
    pub async fn shutdown(&self) {
        let hook = lock(&self.on_shutdown).take();
        if let Some(hook) = hook {
            hook().await;
        }
    }

    /// `shutdown`, for an owner that is done with the context.
    pub async fn close(self) {
        self.shutdown().await;
    }
}

/// One calendar's busy answer as cached (`busy_cache.busy`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct CachedBusy {
    calendar_id: String,
    calendar_name: String,
    #[serde(default)]
    primary: bool,
    busy: Vec<busy::Span>,
}

/// Why Google gave no busy times.
enum BusyFailure {
    /// The account did not grant the busy-times scope.
    Scope,
    /// Offline, or Google failed: the cache answers.
    Unavailable(String),
}

/// A transfer's progress before its first page.
fn nothing_done(state: ProgressState, message: Option<String>) -> BackfillProgress {
    BackfillProgress {
        state,
        total: 0,
        done: 0,
        created_in_google: 0,
        created_in_crm: 0,
        linked: 0,
        failed: 0,
        eta_secs: None,
        message,
    }
}
