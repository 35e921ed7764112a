//! Everything one Bookline process needs, wired once: the store, the OS keyring, the
//! Google endpoints (real Google, `BOOKLINE_GOOGLE_BASE_URL`, or the in-process demo
//! emulator), the account service and one sync engine. The desktop shell and the CLI both
//! build this, so a command behaves the same in the window and in a terminal.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::account::AccountService;
use crate::demo::{DemoConsent, DemoEnvironment};
use crate::error::{AppError, ErrorCode};
use crate::google::Endpoints;
use crate::paths;
use crate::runtime::{RuntimeConfig, SyncRuntime, SyncRuntimeHandle};
use crate::secrets::{KeyringSecretStore, SecretStore};
use crate::store::Store;
use crate::sync::engine::{EngineOptions, SyncEngine, SyncReport};
use crate::sync::held::{self, HeldChoice, HeldDeletes};
use crate::sync::service::{resolve_held, run_pass, status_view, EnginePass};
use crate::sync::settings;

/// How to build the context.
pub struct AppOptions {
    pub data_dir: PathBuf,
    /// `--google-base-url` / `BOOKLINE_GOOGLE_BASE_URL`; `None` means real Google (or the
    /// demo emulator when `demo` is set).
    pub google_base_url: Option<String>,
    /// Start the built-in Google emulator with demo data and point everything at it.
    pub demo: Option<DemoConsent>,
    /// The OS keyring unless a test supplies another store.
    pub secrets: Option<Arc<dyn SecretStore>>,
    pub engine: EngineOptions,
}

impl AppOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            google_base_url: None,
            demo: None,
            secrets: None,
            engine: EngineOptions::default(),
        }
    }
}

pub struct App {
    data_dir: PathBuf,
    store: Arc<Store>,
    account: Arc<AccountService>,
    engine: Arc<SyncEngine>,
    /// Taken out by `shutdown`, which may run while the app is still shared (Quit from
    /// the tray: the Tauri shell holds the `App` in managed state and never drops it).
    demo: Mutex<Option<DemoEnvironment>>,
}

impl App {
    pub async fn open(options: AppOptions) -> Result<App, AppError> {
        let store = Arc::new(Store::open(&paths::database_path(&options.data_dir))?);
        let demo = match options.demo {
            Some(consent) => Some(DemoEnvironment::start(&options.data_dir, consent).await?),
            None => None,
        };
        let endpoints = match (&demo, options.google_base_url.as_deref()) {
            (Some(env), _) => env.endpoints().clone(),
            (None, base) => Endpoints::from_override(base).map_err(|e| {
                AppError::new(
                    ErrorCode::Configuration,
                    format!("The Google base URL is not usable: {e}"),
                )
            })?,
        };
        let secrets = options
            .secrets
            .unwrap_or_else(|| Arc::new(KeyringSecretStore::new()));
        let account = AccountService::from_data_dir(
            store.clone(),
            secrets,
            endpoints,
            &options.data_dir,
            demo.is_some(),
        )?
        .with_sync_view(status_view);
        Ok(App {
            data_dir: options.data_dir,
            store,
            account: Arc::new(account),
            engine: Arc::new(SyncEngine::new(options.engine)),
            demo: Mutex::new(demo),
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

    /// The in-process demo emulator's base URL, when running `bookline demo` (until
    /// `shutdown`).
    pub fn demo_base_url(&self) -> Option<String> {
        self.demo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|env| env.base_url().to_owned())
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
            Arc::new(EnginePass::new(self.engine.clone())),
            config,
        ))
    }

    /// One ongoing-sync pass without the background loop (`bookline sync`);
    /// `confirmed` lets it past the mass-delete guard.
    pub async fn sync_once(
        &self,
        confirmed: bool,
        cancel: &CancellationToken,
    ) -> Result<SyncReport, AppError> {
        run_pass(&self.engine, &self.account, cancel, confirmed).await
    }

    /// The deletions held for the user's decision.
    pub fn held_deletes(&self) -> Result<HeldDeletes, AppError> {
        Ok(held::pending(&self.store)?)
    }

    /// Applies the user's decision on the held deletions (Delete them / Keep them). A
    /// running background loop must be held by the caller meanwhile.
    pub async fn resolve_held_deletes(
        &self,
        choice: HeldChoice,
        cancel: &CancellationToken,
    ) -> Result<SyncReport, AppError> {
        resolve_held(&self.engine, &self.account, choice, cancel).await
    }

    /// Stops the demo emulator when there is one, saving its state at once (its own
    /// autosave runs only every 5 s, so a change made just before quitting would be
    /// lost). Later calls do nothing.
    pub async fn shutdown(&self) {
        let demo = self
            .demo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(env) = demo {
            env.shutdown().await;
        }
    }

    /// `shutdown`, for an owner that is done with the context.
    pub async fn close(self) {
        self.shutdown().await;
    }
}
