//! The Google account: connect (loopback OAuth), status, the Calendar client for sync,
//! the calendar list, reconnect, and Remove Google Account.
//!
//! Where things live:
//! - the refresh token: only in the `SecretStore` (the OS keyring), filed under the email;
//! - the access token: only in memory, in the `TokenManager`;
//! - the email and `connected_at` (the watermark between "old" and "new" items): settings
//!   in the SQLite file, so they change atomically with the data they describe;
//! - needs-reconnect (Google refused the grant, or the keyring entry is gone): a setting
//!   too (a reason and a time, never a token), so a new process — `bookline status`,
//!   `bookline connect` — knows without asking Google; connect and disconnect clear it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;
use url::Url;

use crate::error::{AppError, ErrorCode};
use crate::google::{CalendarClient, CalendarListEntry, Endpoints, TokenSource};
use crate::oauth::{self, OAuthClient, OAuthClientConfig, OAuthError, TokenManager};
use crate::runtime::{SyncLine, SyncPhase, SyncRuntimeHandle};
use crate::secrets::{self, SecretStore};
use crate::store::{Store, StoreError};
use crate::sync::held::{self, HeldDeletes};
use crate::sync::parked::{self, ParkedItem};
use crate::sync::Direction;
use crate::sync::{backfill, links};

/// Setting: the connected account's email (JSON string).
pub const SETTING_EMAIL: &str = "google.email";
/// Setting: when the account was first connected (RFC 3339 UTC, JSON string). Items
/// created before it are "old" and move only by backfill.
pub const SETTING_CONNECTED_AT: &str = "google.connected_at";
/// Setting: end of the last successful sync pass (RFC 3339 UTC, JSON string).
pub const SETTING_LAST_SYNC: &str = "sync.last_sync";
/// Setting: Google no longer accepts the grant (`ReconnectMarker` as JSON). Set when a
/// refresh answers `invalid_grant` or the keyring entry is gone; removed by a successful
/// connect (reconnect) and by Remove Google Account.
pub const SETTING_NEEDS_RECONNECT: &str = "google.needs_reconnect";

/// The persisted needs-reconnect state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconnectMarker {
    /// Why, as a short phrase ("the grant was revoked or expired").
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// How long `connect` waits for the browser by default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The keyring entry probed before sign-in, so a missing keyring fails before the user
/// is sent to Google instead of after.
const KEYRING_PROBE: &str = "bookline-keyring-check";

/// What the window and `status --json` show (the IPC contract's `AppStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppStatus {
    pub connected: bool,
    pub email: Option<String>,
    /// Running against the built-in Google emulator.
    pub demo: bool,
    /// A Google OAuth client is configured (or demo).
    pub client_configured: bool,
    /// Google refused the grant: show Reconnect.
    pub needs_reconnect: bool,
    /// RFC 3339.
    pub connected_at: Option<String>,
    #[ts(type = "'both' | 'google-to-crm' | 'crm-to-google'")]
    pub direction: Direction,
    pub calendar_id: Option<String>,
    /// RFC 3339 of the last successful pass.
    pub last_sync: Option<String>,
    /// Outbox items waiting to be sent.
    pub pending: u32,
    pub sync: SyncLine,
    /// Deletions held for the user's decision (Delete them / Keep them).
    pub held_deletes: HeldDeletes,
    /// Google events Bookline cannot store, set aside with their reason (spec §3); each is
    /// tried again when it changes in Google.
    pub parked: Vec<ParkedItem>,
}

/// What Remove Google Account did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DisconnectReport {
    /// False when Google could not be reached: removal went on anyway.
    pub revoked: bool,
    /// The sentence to show when `revoked` is false.
    pub revoke_error: Option<String>,
    /// Google-originated appointments removed from Bookline.
    pub removed_appointments: u32,
    /// Appointments kept (CRM ones always; Google ones when kept).
    pub kept_appointments: u32,
}

/// One entry of the calendar drop-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CalendarChoice {
    pub id: String,
    pub summary: String,
    pub primary: bool,
    pub writable: bool,
}

impl From<&CalendarListEntry> for CalendarChoice {
    fn from(entry: &CalendarListEntry) -> Self {
        Self {
            id: entry.id.clone(),
            summary: entry.display_name().to_owned(),
            primary: entry.primary.unwrap_or(false),
            writable: entry.is_writable(),
        }
    }
}

/// Whether a sync pass may run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    NotConnected,
    /// The sentence to show.
    NeedsReconnect(String),
    Ready,
}

/// The sync settings `status` shows: direction and calendar. The sync engine owns them;
/// the shell plugs its loader in with `with_sync_view`.
pub type SyncViewFn = dyn Fn(&Store) -> Result<(Direction, Option<String>), AppError> + Send + Sync;

pub struct AccountService {
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    endpoints: Endpoints,
    /// Replaced when the user brings a client file (Use my own Google client…).
    oauth_config: RwLock<Option<OAuthClientConfig>>,
    /// Why no client is configured, for the Connect page.
    config_problem: RwLock<Option<String>>,
    demo: bool,
    tokens: RwLock<Option<Arc<TokenManager>>>,
    runtime: Mutex<Option<SyncRuntimeHandle>>,
    /// One connect or disconnect at a time.
    change: tokio::sync::Mutex<()>,
    sync_view: Box<SyncViewFn>,
    /// Bumped by connect and disconnect: a token manager from before (a call still in
    /// flight with the old grant) must not mark the new connection as needing reconnect.
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService")
            .field("store", &self.store)
            .field("demo", &self.demo)
            .field("client_configured", &self.client_configured())
            .finish_non_exhaustive()
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn storage(e: StoreError) -> AppError {
    e.into()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn not_connected() -> AppError {
    AppError::new(
        ErrorCode::NotConnected,
        "No Google account is connected. Use Connect With Google first.",
    )
}

impl AccountService {
    /// A service over `store`. `oauth_config` is `None` when no Google client is
    /// configured (then `connect` explains what to do); `demo` only marks the status (the
    /// demo brings its own client). An account connected earlier is picked up from the
    /// settings; its access token is fetched from the keyring's refresh token on first use.
    pub fn new(
        store: Arc<Store>,
        secrets: Arc<dyn SecretStore>,
        endpoints: Endpoints,
        oauth_config: Option<OAuthClientConfig>,
        demo: bool,
    ) -> Result<Self, AppError> {
        let service = Self {
            store,
            secrets,
            endpoints,
            oauth_config: RwLock::new(oauth_config),
            config_problem: RwLock::new(None),
            demo,
            tokens: RwLock::new(None),
            runtime: Mutex::new(None),
            change: tokio::sync::Mutex::new(()),
            sync_view: Box::new(|_| Ok((Direction::Both, None))),
            generation: Arc::new(AtomicU64::new(0)),
        };
        if let Some(email) = service.email()? {
            if let Some(oauth) = service.oauth_client()? {
                let mut manager = service.token_manager(oauth, email);
                if let Some(marker) = service.reconnect_marker()? {
                    manager = manager.with_needs_reconnect(marker.reason);
                }
                service.set_tokens(Some(Arc::new(manager)));
            }
        }
        Ok(service)
    }

    /// A token manager for `email` that persists a lasting needs-reconnect.
    fn token_manager(&self, oauth: OAuthClient, email: String) -> TokenManager {
        let store = self.store.clone();
        let generation = self.generation.clone();
        let born = generation.load(Ordering::SeqCst);
        TokenManager::new(oauth, self.secrets.clone(), email).on_needs_reconnect(move |reason| {
            if generation.load(Ordering::SeqCst) != born {
                return;
            }
            let marker = ReconnectMarker {
                reason: reason.to_owned(),
                at: Utc::now(),
            };
            // The in-memory state still stops this process; only a new process would
            // not know, so a failed write is worth a warning, not an error.
            if let Err(e) = store.set_setting(SETTING_NEEDS_RECONNECT, &marker) {
                tracing::warn!("could not save that the account needs reconnecting: {e}");
            }
        })
    }

    /// The persisted needs-reconnect state, if any. A marker that cannot be read counts
    /// as set (with a generic reason): asking the user to reconnect is the safe side.
    pub fn reconnect_marker(&self) -> Result<Option<ReconnectMarker>, AppError> {
        match self
            .store
            .get_setting::<ReconnectMarker>(SETTING_NEEDS_RECONNECT)
        {
            Ok(marker) => Ok(marker),
            Err(StoreError::Setting { .. }) => Ok(Some(ReconnectMarker {
                reason: "access was revoked or has expired".to_owned(),
                at: Utc::now(),
            })),
            Err(e) => Err(storage(e)),
        }
    }

    /// `new` with the OAuth client from `OAuthClientConfig::load(data_dir)` (env, then
    /// `google-client.json`); a missing client is remembered as the Connect page's text.
    pub fn from_data_dir(
        store: Arc<Store>,
        secrets: Arc<dyn SecretStore>,
        endpoints: Endpoints,
        data_dir: &Path,
        demo: bool,
    ) -> Result<Self, AppError> {
        let (config, problem) = match OAuthClientConfig::load(data_dir) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let service = Self::new(store, secrets, endpoints, config, demo)?;
        if !service.client_configured() {
            *write_lock(&service.config_problem) = problem;
        }
        Ok(service)
    }

    /// Where `status` reads the sync direction and calendar (the engine's settings).
    pub fn with_sync_view(
        mut self,
        view: impl Fn(&Store) -> Result<(Direction, Option<String>), AppError> + Send + Sync + 'static,
    ) -> Self {
        self.sync_view = Box::new(view);
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// Called by `SyncRuntime::spawn`.
    pub fn attach_runtime(&self, handle: SyncRuntimeHandle) {
        *self
            .runtime
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
    }

    pub fn runtime(&self) -> Option<SyncRuntimeHandle> {
        self.runtime
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn tokens(&self) -> Option<Arc<TokenManager>> {
        self.tokens
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_tokens(&self, manager: Option<Arc<TokenManager>>) {
        *self
            .tokens
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = manager;
    }

    fn client_configured(&self) -> bool {
        read_lock(&self.oauth_config).is_some()
    }

    /// **Use my own Google client…**: checks the JSON of a Google Cloud client file and,
    /// only when it is a Desktop app client, saves it as `google-client.json` in
    /// `data_dir` and signs in with it from now on (the environment still wins, as at
    /// start-up). Each wrong file gets its own sentence; nothing is saved then.
    pub fn use_client_file(&self, data_dir: &Path, text: &str) -> Result<AppStatus, AppError> {
        if self.demo {
            return Err(AppError::new(
                ErrorCode::Validation,
                "The demo signs in with its own Google client.",
            ));
        }
        if self.email()?.is_some() {
            return Err(AppError::new(
                ErrorCode::Validation,
                "A Google account is connected with the current client. To use another \
                 client, use Remove Google Account first.",
            ));
        }
        oauth::client_file::save(data_dir, text)
            .map_err(|e| AppError::new(ErrorCode::Validation, e.to_string()))?;
        let config = OAuthClientConfig::load(data_dir)?;
        *write_lock(&self.oauth_config) = Some(config);
        *write_lock(&self.config_problem) = None;
        tracing::info!("Google client saved in {}", oauth::CLIENT_FILE);
        self.status()
    }

    fn oauth_client(&self) -> Result<Option<OAuthClient>, AppError> {
        read_lock(&self.oauth_config)
            .clone()
            .map(|c| OAuthClient::new(c, self.endpoints.clone()).map_err(AppError::from))
            .transpose()
    }

    /// The connected account's email.
    pub fn email(&self) -> Result<Option<String>, AppError> {
        self.store.get_setting(SETTING_EMAIL).map_err(storage)
    }

    /// The old/new watermark.
    pub fn connected_at(&self) -> Result<Option<DateTime<Utc>>, AppError> {
        // Watermarks saved before it was kept on the millisecond grid are cut to it here.
        Ok(self
            .store
            .get_setting(SETTING_CONNECTED_AT)
            .map_err(storage)?
            .map(on_millisecond_grid))
    }

    pub fn last_sync(&self) -> Result<Option<DateTime<Utc>>, AppError> {
        self.store.get_setting(SETTING_LAST_SYNC).map_err(storage)
    }

    /// Saved by the sync loop after each successful pass.
    pub fn record_last_sync(&self, at: DateTime<Utc>) -> Result<(), AppError> {
        self.store
            .set_setting(SETTING_LAST_SYNC, &at)
            .map_err(storage)
    }

    pub fn needs_reconnect(&self) -> bool {
        self.tokens().is_some_and(|t| t.needs_reconnect())
    }

    /// Whether the sync loop may run a pass.
    pub fn readiness(&self) -> Readiness {
        match (self.email(), self.tokens()) {
            (Ok(Some(email)), Some(tokens)) => {
                if tokens.needs_reconnect() {
                    Readiness::NeedsReconnect(reconnect_sentence(
                        &email,
                        tokens.needs_reconnect_reason().as_deref(),
                    ))
                } else {
                    Readiness::Ready
                }
            }
            // Connected in an earlier run but no OAuth client now: nothing can refresh.
            (Ok(Some(email)), None) => Readiness::NeedsReconnect(format!(
                "Bookline is connected to {email} but no Google OAuth client is configured, \
                 so it cannot sign in. Configure the client and reconnect."
            )),
            _ => Readiness::NotConnected,
        }
    }

    /// The contract's `AppStatus`.
    pub fn status(&self) -> Result<AppStatus, AppError> {
        let email = self.email()?;
        let connected = email.is_some();
        let connected_at = self.connected_at()?;
        let (direction, calendar_id) = (self.sync_view)(&self.store)?;
        let readiness = self.readiness();
        let needs_reconnect = matches!(readiness, Readiness::NeedsReconnect(_));
        let runtime = self.runtime().map(|r| r.status());
        let last_sync = runtime
            .as_ref()
            .and_then(|r| r.last_sync)
            .or(self.last_sync()?);
        let sync = match (&readiness, runtime) {
            (Readiness::NeedsReconnect(message), _) => SyncLine {
                state: SyncPhase::NeedsReconnect,
                message: Some(message.clone()),
            },
            (Readiness::NotConnected, Some(r)) if r.paused => SyncLine {
                state: SyncPhase::Paused,
                message: None,
            },
            (Readiness::NotConnected, _) => SyncLine {
                state: SyncPhase::Idle,
                message: None,
            },
            (Readiness::Ready, Some(r)) if r.state != SyncPhase::NeedsReconnect => r.line(),
            (Readiness::Ready, _) => SyncLine {
                state: SyncPhase::Idle,
                message: None,
            },
        };
        let pending = self.store.pending_outbox_count().map_err(storage)?;
        let held_deletes = if connected {
            held::pending(&self.store).map_err(storage)?
        } else {
            HeldDeletes::default()
        };
        // The table is the truth (a CLI process without a loop, or a decision just made
        // while the loop's last pass still remembers the held set).
        let sync = match sync.state {
            SyncPhase::Idle if held_deletes.total() > 0 => SyncLine {
                state: SyncPhase::NeedsDecision,
                message: Some(held::sentence(held_deletes.total())),
            },
            SyncPhase::NeedsDecision if held_deletes.total() == 0 => SyncLine {
                state: SyncPhase::Idle,
                message: None,
            },
            _ => sync,
        };
        let parked = if connected {
            parked::list(&self.store).map_err(storage)?
        } else {
            Vec::new()
        };
        Ok(AppStatus {
            connected,
            email,
            demo: self.demo,
            client_configured: self.client_configured(),
            needs_reconnect,
            connected_at: connected_at.map(rfc3339),
            direction,
            calendar_id: if connected {
                calendar_id.or_else(|| Some("primary".to_owned()))
            } else {
                None
            },
            last_sync: if connected {
                last_sync.map(rfc3339)
            } else {
                None
            },
            pending: u32::try_from(pending).unwrap_or(u32::MAX),
            sync,
            held_deletes,
            parked,
        })
    }

    /// The sentence the Connect page shows when no client is configured.
    pub fn configuration_problem(&self) -> Option<String> {
        if self.client_configured() {
            return None;
        }
        Some(read_lock(&self.config_problem).clone().unwrap_or_else(|| {
            format!(
                "No Google OAuth client is configured. Create a \"Desktop app\" OAuth client in \
                 Google Cloud Console and set {} and {} (or save its JSON as {} in Bookline's \
                 data folder) — or try `bookline demo`.",
                oauth::CLIENT_ID_ENV,
                oauth::CLIENT_SECRET_ENV,
                oauth::CLIENT_FILE
            )
        }))
    }

    /// Connect With Google (and Reconnect). Binds the loopback listener, calls
    /// `on_waiting(url)` (the window's "Waiting for Google…" with the URL as fallback),
    /// then `open_browser(url)`, and waits up to `timeout` or until `cancel`.
    ///
    /// A first connect records `connected_at` and clears outbox entries made before it
    /// (they are old: backfill moves them). A reconnect of the same account keeps
    /// `connected_at`, links and sync tokens, and clears needs-reconnect. Signing in as
    /// a different account while one is connected is refused.
    pub async fn connect(
        &self,
        open_browser: impl FnOnce(&Url) -> Result<(), String>,
        on_waiting: impl Fn(&Url),
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<AppStatus, AppError> {
        let _change = self.change.lock().await;
        let Some(oauth) = self.oauth_client()? else {
            return Err(AppError::new(
                ErrorCode::Configuration,
                self.configuration_problem().unwrap_or_default(),
            ));
        };
        // No keyring, no sign-in: fail before the user goes through Google's pages.
        secrets::load(self.secrets.clone(), KEYRING_PROBE).await?;
        let previous = self.email()?;
        let signed_in = oauth::sign_in(
            &oauth,
            previous.as_deref(),
            |url| {
                on_waiting(url);
                open_browser(url)
            },
            timeout,
            cancel,
        )
        .await
        .map_err(connect_error)?;
        let email = signed_in.user.email.trim().to_owned();
        if let Some(previous) = previous.as_deref().filter(|p| *p != email) {
            revoke_quietly(&oauth, &signed_in.refresh_token).await;
            return Err(AppError::new(
                ErrorCode::Validation,
                format!(
                    "You signed in as {email}, but Bookline is connected to {previous}. \
                     To switch accounts, use Remove Google Account first."
                ),
            ));
        }
        if let Err(e) = secrets::save(self.secrets.clone(), &email, &signed_in.refresh_token).await
        {
            // Without the keyring the grant is useless to us; do not leave it at Google.
            revoke_quietly(&oauth, &signed_in.refresh_token).await;
            return Err(e);
        }
        // No pass may see the settings half-written (an email without its tokens).
        let runtime = self.runtime();
        let _hold = match &runtime {
            Some(r) => Some(r.hold().await),
            None => None,
        };
        let first = previous.is_none();
        // The watermark is on the store's millisecond grid, like every `created_at`, so
        // the two compare as they happened (a nanosecond watermark made an appointment
        // stamped later in the same millisecond look older).
        let now = on_millisecond_grid(Utc::now());
        // Managers made before this connect no longer speak for the account.
        self.generation.fetch_add(1, Ordering::SeqCst);
        let stored = self.store.write("save the Google account", |tx| {
            self.store.set_setting_in(tx, SETTING_EMAIL, &email)?;
            self.store.remove_setting_in(tx, SETTING_NEEDS_RECONNECT)?;
            if first {
                self.store.set_setting_in(tx, SETTING_CONNECTED_AT, &now)?;
                // Changes queued before connecting are old: only backfill moves them.
                self.store.outbox_forget_before_in(tx, now)?;
                // Anything stamped from here on is new: leave the watermark's millisecond
                // before the write lock goes (at most a millisecond, once per connect).
                while Utc::now().timestamp_millis() <= now.timestamp_millis() {
                    std::thread::sleep(std::time::Duration::from_micros(100));
                }
            }
            Ok(())
        });
        if let Err(e) = stored {
            if first {
                let _ = secrets::remove(self.secrets.clone(), &email).await;
            }
            return Err(storage(e));
        }
        let manager = self
            .token_manager(oauth, email.clone())
            .with_initial_token(&signed_in.tokens)
            .await;
        self.set_tokens(Some(Arc::new(manager)));
        tracing::info!(
            account = %email,
            reconnect = !first,
            "Google account connected"
        );
        drop(_hold);
        if let Some(runtime) = runtime {
            runtime.refresh();
            runtime.request_sync();
        }
        self.status()
    }

    /// The Calendar client for the sync engine.
    pub fn client(&self) -> Result<CalendarClient, AppError> {
        let tokens = self.tokens().ok_or_else(not_connected)?;
        if self.email()?.is_none() {
            return Err(not_connected());
        }
        let source: Arc<dyn TokenSource> = tokens;
        CalendarClient::new(self.endpoints.clone(), source).map_err(AppError::from)
    }

    /// The account's calendars for the settings drop-down (deleted ones left out),
    /// primary first.
    pub async fn list_calendars(&self) -> Result<Vec<CalendarChoice>, AppError> {
        let client = self.client()?;
        let entries = client.list_calendars().await.map_err(AppError::from)?;
        let mut choices: Vec<CalendarChoice> = entries
            .iter()
            .filter(|e| !e.deleted.unwrap_or(false))
            .map(CalendarChoice::from)
            .collect();
        choices.sort_by_key(|c| !c.primary);
        Ok(choices)
    }

    /// Remove Google Account. Stops sync (the pass in flight is cancelled), revokes the
    /// grant at Google (a failure there is reported, not fatal), deletes the keyring
    /// entry, drops links, sync tokens, backfill jobs and the outbox, and removes
    /// Google-originated appointments unless `keep_imported`. CRM appointments stay; a
    /// kept appointment keeps its event's id (`source_event_id`) for a reconnect.
    pub async fn disconnect(&self, keep_imported: bool) -> Result<DisconnectReport, AppError> {
        let _change = self.change.lock().await;
        let email = self.email()?.ok_or_else(not_connected)?;
        let runtime = self.runtime();
        let _hold = match &runtime {
            Some(r) => Some(r.hold().await),
            None => None,
        };
        // The keyring is read first: if it is locked or missing, stop before anything
        // changes (the entry could not be deleted either).
        let refresh = secrets::load(self.secrets.clone(), &email).await?;
        let revoke = match (self.oauth_client()?, refresh) {
            (Some(oauth), Some(token)) => oauth.revoke_token(&token).await,
            (None, Some(_)) => Err(OAuthError::NotConfigured(
                "no Google OAuth client is configured".to_owned(),
            )),
            // Nothing to revoke: Google's side is already gone for us.
            (_, None) => Ok(()),
        };
        let (revoked, revoke_error) = match revoke {
            Ok(()) => (true, None),
            Err(e) => {
                tracing::warn!(account = %email, "revoking the grant failed: {e}");
                (
                    false,
                    Some(format!(
                        "Bookline could not tell Google to forget its access ({e}). It was \
                         removed here anyway; you can also remove Bookline at \
                         https://myaccount.google.com/permissions."
                    )),
                )
            }
        };
        secrets::remove(self.secrets.clone(), &email).await?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        let (removed, kept) = self
            .store
            .write("remove the Google account", |tx| {
                // Each kept appointment remembers its event, so a reconnect re-links it
                // instead of creating it again on either side: an event Bookline did not
                // create (an imported one, a look-alike a transfer linked) has nothing
                // else that names the appointment.
                links::remember_events_on_appointments(&self.store, tx)?;
                links::forget_all(&self.store, tx)?;
                backfill::forget_all(&self.store, tx)?;
                self.store.outbox_forget_all_in(tx)?;
                held::clear(&self.store, tx)?;
                parked::forget_all(&self.store, tx)?;
                // News and busy times of this account's calendars (the appointments keep
                // their Meet links and the leads' answers).
                crate::sync::booking::forget_unannounced(&self.store, tx)?;
                self.store.forget_busy_cache_in(tx)?;
                // Deleted directly (no outbox rows): this is not a user's delete to send
                // to Google; the events stay in Google.
                let removed = if keep_imported {
                    0
                } else {
                    self.store.delete_google_origin_in(tx)?
                };
                for key in [
                    SETTING_EMAIL,
                    SETTING_CONNECTED_AT,
                    SETTING_LAST_SYNC,
                    SETTING_NEEDS_RECONNECT,
                ] {
                    self.store.remove_setting_in(tx, key)?;
                }
                let kept = self.store.series_count_in(tx)?;
                Ok((removed, kept))
            })
            .map_err(storage)?;
        let removed = u32::try_from(removed).unwrap_or(u32::MAX);
        let kept = u32::try_from(kept).unwrap_or(u32::MAX);
        if let Some(tokens) = self.tokens() {
            tokens.clear().await;
        }
        self.set_tokens(None);
        drop(_hold);
        if let Some(runtime) = runtime {
            runtime.refresh();
        }
        tracing::info!(account = %email, revoked, removed, kept, "Google account removed");
        Ok(DisconnectReport {
            revoked,
            revoke_error,
            removed_appointments: removed,
            kept_appointments: kept,
        })
    }
}

fn reconnect_sentence(email: &str, reason: Option<&str>) -> String {
    let reason = reason.unwrap_or("access was revoked or has expired");
    format!(
        "Google no longer accepts Bookline's sign-in for {email} ({reason}). Reconnect to \
         resume syncing; nothing stored in Bookline was lost."
    )
}

/// Sign-in errors in the words the Connect page shows.
fn connect_error(e: OAuthError) -> AppError {
    AppError::from(e)
}

async fn revoke_quietly(oauth: &OAuthClient, token: &crate::secrets::Secret) {
    if let Err(e) = oauth.revoke_token(token).await {
        tracing::warn!("could not revoke an unused grant: {e}");
    }
}

/// `at` cut to whole milliseconds, the precision the store keeps `created_at` in.
fn on_millisecond_grid(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}
