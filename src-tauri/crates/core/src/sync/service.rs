//! The seam between the account service / background runtime and the engine: one
//! ongoing-sync pass for the connected account, with the user's current settings.
//!
//! Settings are read at the start of every pass (not cached), so a change made in
//! Calendar Sync Settings applies from the next pass without restarting anything.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::account::AccountService;
use crate::error::{AppError, ErrorCode};
use crate::runtime::{PassFuture, SyncPass};
use crate::store::Store;
use crate::sync::decide::Direction;
use crate::sync::engine::{AccountContext, SyncEngine, SyncReport};
use crate::sync::settings;
use crate::sync_lock::SyncLock;

/// How long a pass waits for another process's pass or transfer on the same data dir
/// before it reports `ErrorCode::Busy` (a pass takes a second or two; a transfer may take
/// minutes, and the background loop then simply tries again at its next poll).
pub const PASS_LOCK_WAIT: Duration = Duration::from_secs(30);

/// What the engine needs about the connected account, from the account's watermark and
/// the saved sync settings.
pub fn account_context(account: &AccountService) -> Result<AccountContext, AppError> {
    let connected_at = account.connected_at()?.ok_or_else(|| {
        AppError::new(
            ErrorCode::NotConnected,
            "No Google account is connected. Use Authenticate Google Calendar first.",
        )
    })?;
    let settings = settings::load(account.store())?;
    Ok(AccountContext {
        calendar_id: settings.calendar_id.clone(),
        connected_at,
        direction: settings.direction,
        privacy: settings.privacy(),
        default_reminder_minutes: settings.default_reminder_minutes,
    })
}

/// The direction and calendar `AppStatus` shows (`AccountService::with_sync_view`).
pub fn status_view(store: &Store) -> Result<(Direction, Option<String>), AppError> {
    let settings = settings::load(store)?;
    Ok((settings.direction, Some(settings.calendar_id)))
}

/// One ongoing-sync pass for the connected account with its saved settings, under the
/// data dir's sync lock (one pass or transfer at a time across processes); records the
/// time of a pass that ran to its end. `confirmed` lets it past the mass-delete guard
/// (the user said yes). `on_wait` hears who holds the lock when the pass has to wait.
/// Every front runs its passes through here: the background loop, Sync now, the CLI.
pub async fn run_pass(
    engine: &SyncEngine,
    account: &AccountService,
    lock: &SyncLock,
    cancel: &CancellationToken,
    confirmed: bool,
    on_wait: impl FnOnce(&str),
) -> Result<SyncReport, AppError> {
    let ctx = account_context(account)?;
    let client = account.client()?;
    let _lock = lock
        .acquire("a sync pass", PASS_LOCK_WAIT, cancel, on_wait)
        .await?;
    let store = account.store();
    let result = if confirmed {
        engine
            .run_pass_confirmed(store, &client, &ctx, cancel)
            .await
    } else {
        engine.run_pass(store, &client, &ctx, cancel).await
    };
    let report = result.map_err(AppError::from)?;
    // The pass itself succeeded: a failed write of its time is worth a warning only.
    if let Err(e) = account.record_last_sync(Utc::now()) {
        tracing::warn!("could not save the last sync time: {e}");
    }
    Ok(report)
}

/// The real `SyncPass`: one engine (and so one rate limiter) per account, shared by the
/// background loop and "Sync now".
pub struct EnginePass {
    engine: Arc<SyncEngine>,
    lock: Arc<SyncLock>,
}

impl EnginePass {
    pub fn new(engine: Arc<SyncEngine>, lock: Arc<SyncLock>) -> Self {
        Self { engine, lock }
    }

    pub fn engine(&self) -> &Arc<SyncEngine> {
        &self.engine
    }
}

impl SyncPass for EnginePass {
    fn run<'a>(&'a self, account: &'a AccountService, cancel: CancellationToken) -> PassFuture<'a> {
        Box::pin(async move {
            run_pass(&self.engine, account, &self.lock, &cancel, false, |_| {}).await
        })
    }
}
