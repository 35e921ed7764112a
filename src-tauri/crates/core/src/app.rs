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

use crate::account::{AccountService, AppStatus, CalendarChoice, DisconnectReport, Readiness};
use crate::error::{AppError, ErrorCode};
use crate::google::Endpoints;
use crate::oauth::OAuthClientConfig;
use crate::paths;
use crate::runtime::{RuntimeConfig, SyncRuntime, SyncRuntimeHandle};
use crate::secrets::{KeyringSecretStore, SecretStore};
use crate::store::Store;
use crate::sync::backfill::{
    self, BackfillPreview, BackfillProgress, BackfillRequest, ProgressState,
};
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
