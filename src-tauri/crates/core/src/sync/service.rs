//! The seam between the account service / background runtime and the engine: one
//! ongoing-sync pass for the connected account, with the user's current settings.
//!
//! Settings are read at the start of every pass (not cached), so a change made in
//! Calendar Sync Settings applies from the next pass without restarting anything.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::account::AccountService;
use crate::error::{AppError, ErrorCode};
use crate::runtime::{PassFuture, SyncPass};
use crate::store::Store;
use crate::sync::decide::Direction;
use crate::sync::engine::{AccountContext, SyncEngine, SyncReport};
use crate::sync::held::{self, HeldChoice};
use crate::sync::settings;

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
    })
}

/// The direction and calendar `AppStatus` shows (`AccountService::with_sync_view`).
pub fn status_view(store: &Store) -> Result<(Direction, Option<String>), AppError> {
    let settings = settings::load(store)?;
    Ok((settings.direction, Some(settings.calendar_id)))
}

/// One ongoing-sync pass for the connected account with its saved settings;
/// `confirmed` lets it past the mass-delete guard (the user said yes).
pub async fn run_pass(
    engine: &SyncEngine,
    account: &AccountService,
    cancel: &CancellationToken,
    confirmed: bool,
) -> Result<SyncReport, AppError> {
    let ctx = account_context(account)?;
    let client = account.client()?;
    let store = account.store();
    let result = if confirmed {
        engine
            .run_pass_confirmed(store, &client, &ctx, cancel)
            .await
    } else {
        engine.run_pass(store, &client, &ctx, cancel).await
    };
    result.map_err(AppError::from)
}

/// The user's decision on the held deletions (Delete them / Keep them) for the connected
/// account. The caller keeps passes from running meanwhile.
pub async fn resolve_held(
    engine: &SyncEngine,
    account: &AccountService,
    choice: HeldChoice,
    cancel: &CancellationToken,
) -> Result<SyncReport, AppError> {
    let ctx = account_context(account)?;
    let client = account.client()?;
    held::resolve(engine, account.store(), &client, &ctx, choice, cancel)
        .await
        .map_err(AppError::from)
}

/// The real `SyncPass`: one engine (and so one rate limiter) per account, shared by the
/// background loop and "Sync now".
pub struct EnginePass {
    engine: Arc<SyncEngine>,
}

impl EnginePass {
    pub fn new(engine: Arc<SyncEngine>) -> Self {
        Self { engine }
    }

    pub fn engine(&self) -> &Arc<SyncEngine> {
        &self.engine
    }
}

impl SyncPass for EnginePass {
    fn run<'a>(&'a self, account: &'a AccountService, cancel: CancellationToken) -> PassFuture<'a> {
        Box::pin(async move { run_pass(&self.engine, account, &cancel, false).await })
    }
}
