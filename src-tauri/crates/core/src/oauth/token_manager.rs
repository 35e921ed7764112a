//! `TokenManager`: the access token in memory, refreshed from the keyring's refresh token.
//!
//! - The access token lives only here (never on disk) and is refreshed `REFRESH_MARGIN`
//!   before it expires.
//! - Refreshes are single-flight: callers queue on one async mutex, and whoever gets it
//!   after a refresh finds the fresh token instead of refreshing again.
//! - `invalid_grant` on refresh, or a 401 for a token obtained within
//!   `FRESH_TOKEN_WINDOW`, means the grant is gone: the manager flips to needs-reconnect
//!   and answers `ErrorCode::NeedsReconnect` until `reset_needs_reconnect`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{OAuthClient, OAuthError, TokenSet};
use crate::error::{AppError, ErrorCode};
use crate::google::{AccessToken, TokenFuture, TokenSource};
use crate::secrets::{self, Secret, SecretStore};

/// Refresh this long before the access token expires, so a request never leaves with a
/// token that dies on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// A 401 for a token this young is not "expired": the grant itself was refused.
pub const FRESH_TOKEN_WINDOW: Duration = Duration::from_secs(120);
/// Assumed lifetime when Google omits `expires_in` (it sends 3599).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Whether a token expiring at `expires_at` must be refreshed at `now`.
pub fn needs_refresh(expires_at: Instant, now: Instant, margin: Duration) -> bool {
    now + margin >= expires_at
}

struct Current {
    token: AccessToken,
    expires_at: Instant,
    obtained_at: Instant,
}

pub struct TokenManager {
    oauth: OAuthClient,
    secrets: Arc<dyn SecretStore>,
    account: String,
    current: Mutex<Option<Current>>,
    needs_reconnect: AtomicBool,
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
            current: Mutex::new(None),
            needs_reconnect: AtomicBool::new(false),
            refresh_margin: REFRESH_MARGIN,
        }
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

    /// After a reconnect stored a new refresh token.
    pub async fn reset_needs_reconnect(&self) {
        *self.current.lock().await = None;
        self.needs_reconnect.store(false, Ordering::SeqCst);
    }

    /// Forgets the in-memory access token (disconnect).
    pub async fn clear(&self) {
        *self.current.lock().await = None;
    }

    async fn install(&self, token_set: &TokenSet) {
        let now = Instant::now();
        *self.current.lock().await = Some(Current {
            token: token_set.access_token.clone(),
            expires_at: now + token_set.expires_in.unwrap_or(DEFAULT_LIFETIME),
            obtained_at: now,
        });
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
            return Err(self.reconnect_error("marked for reconnect"));
        }
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            if !needs_refresh(c.expires_at, Instant::now(), self.refresh_margin) {
                return Ok(c.token.clone());
            }
        }
        // Still holding the lock: concurrent callers wait here and then reuse this token.
        let refresh_token = secrets::load(self.secrets.clone(), &self.account)
            .await?
            .ok_or_else(|| {
                self.needs_reconnect.store(true, Ordering::SeqCst);
                self.reconnect_error("its saved sign-in is missing from the system keyring")
            })?;
        let fresh = match self.oauth.refresh_access_token(&refresh_token).await {
            Ok(fresh) => fresh,
            Err(OAuthError::InvalidGrant(_)) => {
                self.needs_reconnect.store(true, Ordering::SeqCst);
                tracing::warn!(account = %self.account, "refresh refused with invalid_grant");
                return Err(self.reconnect_error("the grant was revoked or expired"));
            }
            Err(other) => return Err(other.into()),
        };
        // Google may rotate the refresh token; keep the newest one.
        if let Some(rotated) = &fresh.refresh_token {
            if rotated != &refresh_token {
                secrets::save(self.secrets.clone(), &self.account, rotated).await?;
            }
        }
        let now = Instant::now();
        let token = fresh.access_token.clone();
        *current = Some(Current {
            token: fresh.access_token,
            expires_at: now + fresh.expires_in.unwrap_or(DEFAULT_LIFETIME),
            obtained_at: now,
        });
        tracing::debug!(account = %self.account, "access token refreshed");
        Ok(token)
    }

    /// Google refused `token` with 401. A young token means the grant is gone
    /// (needs reconnect); an older one is dropped so the next call refreshes.
    pub async fn reject(&self, token: &AccessToken) -> Result<(), AppError> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(c) if &c.token == token => {
                if c.obtained_at.elapsed() < FRESH_TOKEN_WINDOW {
                    self.needs_reconnect.store(true, Ordering::SeqCst);
                    *current = None;
                    tracing::warn!(account = %self.account, "401 for a fresh access token");
                    Err(self.reconnect_error("a fresh access token was refused"))
                } else {
                    *current = None;
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
        let access = self.current.lock().await.take().map(|c| c.token);
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
        let now = Instant::now();
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
    async fn fresh_401_means_reconnect_and_other_token_is_retryable() {
        let m = manager(Arc::new(MemorySecretStore::new()))
            .with_initial_token(&set("t1", 3599))
            .await;
        assert!(m.reject(&Secret::new("not-current")).await.is_ok());
        let err = m.reject(&Secret::new("t1")).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NeedsReconnect);
        assert!(!err.message.contains("t1"));
        assert!(m.get_token().await.is_err());
    }
}
