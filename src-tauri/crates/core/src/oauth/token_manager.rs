//! `TokenManager`: the access token in memory, refreshed from the keyring's refresh token.
//!
//! - The access token lives only here (never on disk) and is refreshed `REFRESH_MARGIN`
//!   before it expires.
//! - Refreshes are single-flight: callers queue on one async mutex, and whoever gets it
//!   after a refresh finds the fresh token instead of refreshing again.
//! - `invalid_grant` on refresh, or a 401 for a token that was itself fetched because the
//!   previous one got a 401 and has not worked since (within `FRESH_TOKEN_WINDOW`), means
//!   the grant is gone: the
//!   manager flips to needs-reconnect and answers `ErrorCode::NeedsReconnect` until
//!   `reset_needs_reconnect`. A single 401 only drops the token: after a laptop sleeps,
//!   Google has expired a token the monotonic clock still thinks young.
//! - Expiry is judged on the wall clock (which runs on during suspend), age on the
//!   monotonic clock.
//! - Needs-reconnect states that cannot heal by themselves (`invalid_grant`, the keyring
//!   entry gone) are reported to the `on_needs_reconnect` hook, which the account service
//!   uses to persist them: a new process (`bookline status`) then knows without asking
//!   Google. `with_needs_reconnect` starts a manager in that state.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{OAuthClient, OAuthError, TokenSet};
use crate::error::{AppError, ErrorCode};
use crate::google::{AccessToken, TokenFuture, TokenSource};
use crate::secrets::{self, Secret, SecretStore};

/// Refresh this long before the access token expires, so a request never leaves with a
/// token that dies on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// A second 401 this soon after re-fetching a refused token means the grant is refused.
pub const FRESH_TOKEN_WINDOW: Duration = Duration::from_secs(120);
/// Assumed lifetime when Google omits `expires_in` (it sends 3599).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Whether a token expiring at `expires_at` must be refreshed at `now`.
pub fn needs_refresh(expires_at: SystemTime, now: SystemTime, margin: Duration) -> bool {
    now + margin >= expires_at
}

struct Current {
    token: AccessToken,
    expires_at: SystemTime,
    obtained_at: Instant,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    /// The last token was refused; the next refresh is a retry.
    rejected: bool,
}

/// Called once when the manager flips to needs-reconnect for a reason that lasts, with
/// that reason (a short phrase, never a token).
pub type NeedsReconnectHook = Box<dyn Fn(&str) + Send + Sync>;

pub struct TokenManager {
    oauth: OAuthClient,
    secrets: Arc<dyn SecretStore>,
    account: String,
    state: Mutex<State>,
    needs_reconnect: AtomicBool,
    /// Why needs-reconnect is set (shown in the error), when it is.
    reconnect_reason: std::sync::Mutex<Option<String>>,
    on_needs_reconnect: Option<NeedsReconnectHook>,
    /// The token fetched because its predecessor got a 401, until Google accepts it.
    /// A std mutex: `token_accepted` is synchronous and only compares.
    unconfirmed: std::sync::Mutex<Option<AccessToken>>,
    refresh_margin: Duration,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("account", &self.account)
            .field("needs_reconnect", &self.needs_reconnect())
            .field("access_token", &"[redacted]")
            .finish()
    }
}

impl TokenManager {
    /// A manager for `account` (the Google email: the keyring entry's name).
    pub fn new(
        oauth: OAuthClient,
        secrets: Arc<dyn SecretStore>,
        account: impl Into<String>,
    ) -> Self {
        Self {
            oauth,
            secrets,
            account: account.into(),
            state: Mutex::new(State::default()),
            needs_reconnect: AtomicBool::new(false),
            reconnect_reason: std::sync::Mutex::new(None),
            on_needs_reconnect: None,
            unconfirmed: std::sync::Mutex::new(None),
            refresh_margin: REFRESH_MARGIN,
        }
    }

    /// Starts in needs-reconnect (a state persisted by an earlier process): no refresh is
    /// tried until `reset_needs_reconnect`.
    pub fn with_needs_reconnect(self, reason: impl Into<String>) -> Self {
        *self.reason_slot() = Some(reason.into());
        self.needs_reconnect.store(true, Ordering::SeqCst);
        self
    }

    /// `hook(reason)` runs when Google refuses the grant (`invalid_grant`) or the keyring
    /// entry is gone — the states a new process must also know about.
    pub fn on_needs_reconnect(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_needs_reconnect = Some(Box::new(hook));
        self
    }

    /// Starts with the access token from the code exchange, so connecting does not cost
    /// an immediate refresh.
    pub async fn with_initial_token(self, token_set: &TokenSet) -> Self {
        self.install(token_set).await;
        self
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    pub fn needs_reconnect(&self) -> bool {
        self.needs_reconnect.load(Ordering::SeqCst)
    }

    /// Why the manager needs a reconnect, when it does.
    pub fn needs_reconnect_reason(&self) -> Option<String> {
        if !self.needs_reconnect() {
            return None;
        }
        self.reason_slot().clone()
    }

    /// After a reconnect stored a new refresh token.
    pub async fn reset_needs_reconnect(&self) {
        *self.state.lock().await = State::default();
        *self.unconfirmed_slot() = None;
        *self.reason_slot() = None;
        self.needs_reconnect.store(false, Ordering::SeqCst);
    }

    /// Flips to needs-reconnect; `lasting` reasons go to the hook (once per flip).
    fn mark_needs_reconnect(&self, why: &str, lasting: bool) -> AppError {
        *self.reason_slot() = Some(why.to_owned());
        let was = self.needs_reconnect.swap(true, Ordering::SeqCst);
        if lasting && !was {
            if let Some(hook) = &self.on_needs_reconnect {
                hook(why);
            }
        }
        self.reconnect_error(why)
    }

    fn reason_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // Replaced whole only, so a poisoned slot is still consistent.
        self.reconnect_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets the in-memory access token (disconnect).
    pub async fn clear(&self) {
        *self.state.lock().await = State::default();
        *self.unconfirmed_slot() = None;
    }

    async fn install(&self, token_set: &TokenSet) {
        *self.unconfirmed_slot() = None;
        *self.state.lock().await = State {
            current: Some(Current {
                token: token_set.access_token.clone(),
                expires_at: SystemTime::now() + token_set.expires_in.unwrap_or(DEFAULT_LIFETIME),
                obtained_at: Instant::now(),
            }),
            rejected: false,
        };
    }

    fn reconnect_error(&self, why: &str) -> AppError {
        AppError::new(
            ErrorCode::NeedsReconnect,
            format!(
                "Google no longer accepts Bookline's sign-in for {} ({why}). \
                 Reconnect your Google account; nothing local was lost.",
                self.account
            ),
        )
    }

    /// A valid access token, refreshing it if it is missing or about to expire.
    pub async fn get_token(&self) -> Result<AccessToken, AppError> {
        if self.needs_reconnect() {
            let why = self
                .reason_slot()
                .clone()
                .unwrap_or_else(|| "marked for reconnect".to_owned());
            return Err(self.reconnect_error(&why));
        }
        let mut state = self.state.lock().await;
        if let Some(c) = state.current.as_ref() {
            if !needs_refresh(c.expires_at, SystemTime::now(), self.refresh_margin) {
                return Ok(c.token.clone());
            }
        }
        // Still holding the lock: concurrent callers wait here and then reuse this token.
        let refresh_token = secrets::load(self.secrets.clone(), &self.account)
            .await?
            .ok_or_else(|| {
                self.mark_needs_reconnect(
                    "its saved sign-in is missing from the system keyring",
                    true,
                )
            })?;
        let fresh = match self.oauth.refresh_access_token(&refresh_token).await {
            Ok(fresh) => fresh,
            Err(OAuthError::InvalidGrant(_)) => {
                tracing::warn!(account = %self.account, "refresh refused with invalid_grant");
                return Err(self.mark_needs_reconnect("the grant was revoked or expired", true));
            }
            Err(other) => return Err(other.into()),
        };
        // Google may rotate the refresh token; keep the newest one.
        if let Some(rotated) = &fresh.refresh_token {
            if rotated != &refresh_token {
                secrets::save(self.secrets.clone(), &self.account, rotated).await?;
            }
        }
        let token = fresh.access_token.clone();
        if std::mem::take(&mut state.rejected) {
            *self.unconfirmed_slot() = Some(token.clone());
        }
        state.current = Some(Current {
            token: fresh.access_token,
            expires_at: SystemTime::now() + fresh.expires_in.unwrap_or(DEFAULT_LIFETIME),
            obtained_at: Instant::now(),
        });
        tracing::debug!(account = %self.account, "access token refreshed");
        Ok(token)
    }

    /// Google refused `token` with 401. The first refusal drops the token so the next call
    /// refreshes; a refusal of that replacement means the grant is gone (needs reconnect).
    pub async fn reject(&self, token: &AccessToken) -> Result<(), AppError> {
        let mut state = self.state.lock().await;
        match state.current.as_ref() {
            Some(c) if &c.token == token => {
                let refused_again = self.unconfirmed_slot().as_ref() == Some(token)
                    && c.obtained_at.elapsed() < FRESH_TOKEN_WINDOW;
                state.current = None;
                if refused_again {
                    state.rejected = false;
                    tracing::warn!(account = %self.account, "401 for a freshly refreshed token");
                    // Not persisted: a new process refreshes once and learns from Google
                    // itself (invalid_grant) whether the grant is really gone.
                    Err(self.mark_needs_reconnect(
                        "a freshly refreshed access token was refused",
                        false,
                    ))
                } else {
                    state.rejected = true;
                    Ok(())
                }
            }
            // Someone already replaced it: retrying with the new one is worth it.
            _ => Ok(()),
        }
    }

    /// Revokes the grant at Google (refresh token from the keyring, else the access
    /// token) and forgets the access token. Does not delete the keyring entry: the caller
    /// does, even when this fails on the network.
    pub async fn revoke(&self) -> Result<(), AppError> {
        let refresh = secrets::load(self.secrets.clone(), &self.account).await?;
        let access = self.state.lock().await.current.take().map(|c| c.token);
        let token: Option<Secret> = refresh.or(access);
        match token {
            Some(token) => self
                .oauth
                .revoke_token(&token)
                .await
                .map_err(AppError::from),
            None => Ok(()),
        }
    }

    fn unconfirmed_slot(&self) -> std::sync::MutexGuard<'_, Option<AccessToken>> {
        // Poisoning cannot leave this slot inconsistent: it is only ever replaced whole.
        self.unconfirmed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Google accepted `token`: it is no longer a suspect.
    pub fn accept(&self, token: &AccessToken) {
        let mut slot = self.unconfirmed_slot();
        if slot.as_ref() == Some(token) {
            *slot = None;
        }
    }

    #[cfg(test)]
    fn with_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }
}

impl TokenSource for TokenManager {
    fn access_token(&self) -> TokenFuture<'_, AccessToken> {
        Box::pin(self.get_token())
    }

    fn token_rejected<'a>(&'a self, token: &'a AccessToken) -> TokenFuture<'a, ()> {
        Box::pin(self.reject(token))
    }

    fn token_accepted(&self, token: &AccessToken) {
        self.accept(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::Endpoints;
    use crate::oauth::OAuthClientConfig;
    use crate::secrets::MemorySecretStore;

    fn manager(store: Arc<dyn SecretStore>) -> TokenManager {
        let oauth = OAuthClient::new(
            OAuthClientConfig::new("id", "secret"),
            // Nothing listens on port 9 of 127.0.0.1; these tests never reach it.
            Endpoints::from_base("http://127.0.0.1:9").unwrap(),
        )
        .unwrap();
        TokenManager::new(oauth, store, "a@example.com")
    }

    fn set(token: &str, secs: u64) -> TokenSet {
        TokenSet {
            access_token: Secret::new(token),
            refresh_token: None,
            expires_in: Some(Duration::from_secs(secs)),
            scopes: None,
        }
    }

    #[test]
    fn refresh_decision() {
        let now = SystemTime::now();
        assert!(!needs_refresh(
            now + Duration::from_secs(3599),
            now,
            REFRESH_MARGIN
        ));
        assert!(!needs_refresh(
            now + Duration::from_secs(61),
            now,
            REFRESH_MARGIN
        ));
        assert!(needs_refresh(
            now + Duration::from_secs(60),
            now,
            REFRESH_MARGIN
        ));
        assert!(needs_refresh(now, now, REFRESH_MARGIN));
    }

    #[tokio::test]
    async fn initial_token_is_served_without_refresh_and_debug_is_redacted() {
        let m = manager(Arc::new(MemorySecretStore::new()))
            .with_initial_token(&set("ya29.initial", 3599))
            .await;
        assert_eq!(m.get_token().await.unwrap().expose(), "ya29.initial");
        assert!(!format!("{m:?}").contains("ya29"));
    }

    #[tokio::test]
    async fn missing_keyring_entry_means_reconnect() {
        let m =
            manager(Arc::new(MemorySecretStore::new())).with_margin(Duration::from_secs(10_000));
        let m = m.with_initial_token(&set("old", 3599)).await;
        let err = m.get_token().await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NeedsReconnect);
        assert!(m.needs_reconnect());
        m.reset_needs_reconnect().await;
        assert!(!m.needs_reconnect());
    }

    #[tokio::test]
    async fn unavailable_keyring_is_a_keyring_error() {
        let m = manager(Arc::new(MemorySecretStore::unavailable()));
        assert_eq!(m.get_token().await.unwrap_err().code, ErrorCode::Keyring);
        assert!(!m.needs_reconnect());
    }

    #[tokio::test]
    async fn first_401_drops_the_token_and_stale_reports_are_ignored() {
        let m = manager(Arc::new(MemorySecretStore::new()))
            .with_initial_token(&set("t1", 3599))
            .await;
        assert!(m.reject(&Secret::new("not-current")).await.is_ok());
        assert_eq!(m.get_token().await.unwrap().expose(), "t1");
        assert!(m.reject(&Secret::new("t1")).await.is_ok());
        assert!(!m.needs_reconnect());
        // The token is gone; the refresh finds no keyring entry.
        let err = m.get_token().await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NeedsReconnect);
        assert!(!err.message.contains("t1"));
    }
}
