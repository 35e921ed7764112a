//! Google sign-in for an installed app: authorization URL with PKCE, a loopback listener
//! for the redirect, code exchange, refresh, revoke, userinfo, and a `TokenManager` that
//! hands the Calendar client fresh access tokens.
//!
//! The flow (the shell opens the browser between steps 2 and 3):
//! 1. `LoopbackListener::bind()` — before anything is shown, so the port is ours.
//! 2. `AuthorizationRequest::new(&config, &endpoints, &listener.redirect_uri())`.
//! 3. `listener.wait_for_code(request.state(), timeout, cancel)`.
//! 4. `OAuthClient::exchange_code(&request, code)` → `TokenSet`; `fetch_userinfo` → email.
//! 5. Refresh token into the `SecretStore`; `TokenManager` from there on.

pub mod client_file;
mod listener;
mod token_manager;

pub use listener::{CallbackCode, LoopbackListener, CALLBACK_PATH, MAX_REQUEST_BYTES};
pub use token_manager::{
    needs_refresh, NeedsReconnectHook, TokenManager, FRESH_TOKEN_WINDOW, REFRESH_MARGIN,
};

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, HttpRequest, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use url::Url;

use crate::error::{AppError, ErrorCode};
use crate::google::Endpoints;
use crate::secrets::Secret;

/// The scopes Bookline asks for: its events, the calendar list (to offer a choice), the
/// account's email, and (optional) when the user is busy, for the booking dialog.
pub const SCOPES: [&str; 5] = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "openid",
    "email",
    FREEBUSY_SCOPE,
];

/// Busy times for the booking dialog (`freeBusy.query`). Optional: a sign-in without it
/// is kept, and the dialog asks to reconnect to show busy times.
pub const FREEBUSY_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events.freebusy";

/// The scopes without which Bookline cannot sync. Google's consent screen lets the user
/// untick each; a sign-in that comes back without them is not kept.
pub const CALENDAR_SCOPES: [&str; 2] = [SCOPES[0], SCOPES[1]];

/// The calendar scopes the token endpoint did not grant. An answer without `scope` grants
/// what was asked for (RFC 6749 §5.1); Google always sends it.
pub fn missing_calendar_scopes(granted: Option<&[String]>) -> Vec<&'static str> {
    let Some(granted) = granted else {
        return Vec::new();
    };
    CALENDAR_SCOPES
        .into_iter()
        .filter(|needed| !granted.iter().any(|g| g == needed))
        .collect()
}

pub const CLIENT_ID_ENV: &str = "BOOKLINE_GOOGLE_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "BOOKLINE_GOOGLE_CLIENT_SECRET";
/// The settings file in the data dir holding the OAuth client.
pub const CLIENT_FILE: &str = "google-client.json";

/// What went wrong signing in. Never holds a token or an authorization code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    NotConfigured(String),
    #[error("Google sign-in was not allowed: you chose not to let Bookline use your calendar.")]
    AccessDenied,
    #[error("Google refused the sign-in ({0}). Check the OAuth client settings and try again.")]
    AuthorizationFailed(String),
    #[error("The browser did not come back from Google in time. Try connecting again.")]
    Timeout,
    #[error("Connecting to Google was cancelled.")]
    Cancelled,
    #[error(
        "Bookline did not connect: Google was not given access to your calendar. Connect \
             again and, on Google's page, tick both \"View and edit events on all your \
             calendars\" and \"See the list of Google calendars you're subscribed to\"."
    )]
    CalendarNotGranted,
    #[error("Google no longer accepts Bookline's sign-in{}; reconnect your Google account.", .0.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    InvalidGrant(Option<String>),
    #[error("Google's sign-in server answered {}: {error}{}", .status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "an error".to_owned()), .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenEndpoint {
        status: Option<u16>,
        error: String,
        description: Option<String>,
    },
    #[error("Google's sign-in server sent an answer Bookline could not read{}: {what}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    InvalidResponse { status: Option<u16>, what: String },
    #[error("Could not reach Google's sign-in server: {0}")]
    Network(String),
    #[error("The sign-in listener failed: {0}")]
    Listener(String),
}

impl OAuthError {
    /// Worth trying again later (network, Google's 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network(_) => true,
            Self::TokenEndpoint { status, .. } | Self::InvalidResponse { status, .. } => {
                status.is_none_or(|s| s >= 500)
            }
            _ => false,
        }
    }
}

impl From<OAuthError> for AppError {
    fn from(error: OAuthError) -> Self {
        let code = match &error {
            OAuthError::NotConfigured(_) | OAuthError::AuthorizationFailed(_) => {
                ErrorCode::Configuration
            }
            OAuthError::AccessDenied | OAuthError::Timeout | OAuthError::Cancelled => {
                ErrorCode::Cancelled
            }
            OAuthError::InvalidGrant(_) => ErrorCode::NeedsReconnect,
            OAuthError::CalendarNotGranted => ErrorCode::Validation,
            OAuthError::TokenEndpoint { error, .. }
                if error == "invalid_client" || error == "unauthorized_client" =>
            {
                ErrorCode::Configuration
            }
            e if e.is_retryable() => ErrorCode::Network,
            OAuthError::Listener(_) => ErrorCode::Internal,
            _ => ErrorCode::Network,
        };
        AppError::new(code, error.to_string())
    }
}

/// The OAuth client of a Google Cloud "Desktop app". Its secret is not secret for an
/// installed app (PKCE protects the code), but it is still kept out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClientConfig {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for OAuthClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl OAuthClientConfig {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// From `BOOKLINE_GOOGLE_CLIENT_ID`/`_SECRET`, else `<data_dir>/google-client.json`,
    /// else the client built in at compile time (`client_file::choose`).
    pub fn load(data_dir: &Path) -> Result<Self, OAuthError> {
        let id = std::env::var(CLIENT_ID_ENV).ok();
        let secret = std::env::var(CLIENT_SECRET_ENV).ok();
        Self::from_sources(
            id.as_deref(),
            secret.as_deref(),
            data_dir,
            client_file::built_in(),
        )
    }

    /// `load` with the environment and the built-in client passed in (testable without
    /// touching the process env or rebuilding).
    pub fn from_sources(
        env_id: Option<&str>,
        env_secret: Option<&str>,
        data_dir: &Path,
        built_in: Option<OAuthClientConfig>,
    ) -> Result<Self, OAuthError> {
        client_file::choose(
            env_id,
            env_secret,
            client_file::read_saved(data_dir),
            built_in,
            &data_dir.join(CLIENT_FILE),
        )
        .map(|(client, _source)| client)
    }
}

/// One sign-in attempt: the URL to open, and the `state` and PKCE verifier to check the
/// answer against.
pub struct AuthorizationRequest {
    url: Url,
    state: Secret,
    pkce_verifier: Secret,
    redirect_uri: String,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// A fresh request: new random `state`, new PKCE S256 pair, offline access with a
    /// consent prompt (so Google always returns a refresh token).
    pub fn new(
        config: &OAuthClientConfig,
        endpoints: &Endpoints,
        redirect_uri: &str,
    ) -> Result<Self, OAuthError> {
        Self::build(config, endpoints, redirect_uri, None)
    }

    /// As `new`, suggesting an account (`login_hint`), e.g. when reconnecting.
    pub fn with_login_hint(
        config: &OAuthClientConfig,
        endpoints: &Endpoints,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<Self, OAuthError> {
        Self::build(config, endpoints, redirect_uri, Some(login_hint))
    }

    fn build(
        config: &OAuthClientConfig,
        endpoints: &Endpoints,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let client = oauth_client(config, endpoints, Some(redirect_uri))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, state) = request.url();
        Ok(Self {
            url,
            state: Secret::new(state.secret().clone()),
            pkce_verifier: Secret::new(verifier.secret().clone()),
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// The URL to open in the system browser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `state` the redirect must carry back.
    pub fn state(&self) -> &str {
        self.state.expose()
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

type ConfiguredClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn oauth_client(
    config: &OAuthClientConfig,
    endpoints: &Endpoints,
    redirect_uri: Option<&str>,
) -> Result<ConfiguredClient, OAuthError> {
    let bad = |what: &str, e: &dyn fmt::Display| {
        OAuthError::NotConfigured(format!("The {what} is not a valid URL: {e}"))
    };
    let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(config.client_secret.clone()))
        .set_auth_uri(
            AuthUrl::new(endpoints.oauth_auth_url.to_string())
                .map_err(|e| bad("authorization URL", &e))?,
        )
        .set_token_uri(
            TokenUrl::new(endpoints.token_url.to_string()).map_err(|e| bad("token URL", &e))?,
        )
        // Google documents the client credentials as form fields, not HTTP Basic.
        .set_auth_type(AuthType::RequestBody);
    if let Some(uri) = redirect_uri {
        client = client.set_redirect_uri(
            RedirectUrl::new(uri.to_owned()).map_err(|e| bad("redirect URI", &e))?,
        );
    }
    Ok(client)
}

/// What the token endpoint handed out. `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Present after consent (always, with `prompt=consent`); usually absent on refresh.
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<Duration>,
    pub scopes: Option<Vec<String>>,
}

/// `GET /v1/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    pub email: String,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

/// Talks to Google's token, revoke and userinfo endpoints.
#[derive(Clone)]
pub struct OAuthClient {
    config: OAuthClientConfig,
    endpoints: Endpoints,
    http: reqwest::Client,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("config", &self.config)
            .field("token_url", &self.endpoints.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    pub fn new(config: OAuthClientConfig, endpoints: Endpoints) -> Result<Self, OAuthError> {
        let http = crate::google::CalendarClient::http_client()
            .map_err(|e| OAuthError::Network(e.to_string()))?;
        Ok(Self {
            config,
            endpoints,
            http,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Trades the code from the redirect for tokens, proving possession of the PKCE
    /// verifier made with `request`.
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        code: CallbackCode,
    ) -> Result<TokenSet, OAuthError> {
        let client = oauth_client(&self.config, &self.endpoints, Some(&request.redirect_uri))?;
        let status = AtomicU16::new(0);
        let http = StatusRecorder {
            http: &self.http,
            status: &status,
        };
        let result = client
            .exchange_code(AuthorizationCode::new(code.into_secret().into_inner()))
            .set_pkce_verifier(PkceCodeVerifier::new(
                request.pkce_verifier.expose().to_owned(),
            ))
            .request_async(&http)
            .await;
        // A refused code is a failed sign-in, not a lost grant: no "reconnect" wording.
        match token_set(result, status.load(Ordering::Relaxed)) {
            Err(OAuthError::InvalidGrant(description)) => Err(OAuthError::TokenEndpoint {
                status: Some(400),
                error: "invalid_grant".to_owned(),
                description,
            }),
            other => other,
        }
    }

    /// A new access token from the refresh token. `invalid_grant` → `InvalidGrant` (the
    /// user must reconnect).
    pub async fn refresh_access_token(
        &self,
        refresh_token: &Secret,
    ) -> Result<TokenSet, OAuthError> {
        let client = oauth_client(&self.config, &self.endpoints, None)?;
        let status = AtomicU16::new(0);
        let http = StatusRecorder {
            http: &self.http,
            status: &status,
        };
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let result = client
            .exchange_refresh_token(&token)
            .request_async(&http)
            .await;
        token_set(result, status.load(Ordering::Relaxed))
    }

    /// Revokes the grant behind `token` (refresh or access token). A token Google no
    /// longer knows (400 `invalid_token`) counts as revoked.
    pub async fn revoke_token(&self, token: &Secret) -> Result<(), OAuthError> {
        let response = self
            .http
            .post(self.endpoints.revoke_url.clone())
            .form(&[("token", token.expose())])
            .send()
            .await
            .map_err(|e| OAuthError::Network(transport_detail(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| OAuthError::Network(transport_detail(&e)))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let parsed: Option<OAuthErrorBody> = serde_json::from_slice(&body).ok();
        match parsed {
            Some(err) if status == 400 && err.error == "invalid_token" => Ok(()),
            Some(err) => Err(OAuthError::TokenEndpoint {
                status: Some(status),
                error: err.error,
                description: err.error_description,
            }),
            None => Err(OAuthError::InvalidResponse {
                status: Some(status),
                what: format!("the revoke answer is not JSON ({} bytes)", body.len()),
            }),
        }
    }

    /// The signed-in account's email.
    pub async fn fetch_userinfo(&self, access_token: &Secret) -> Result<UserInfo, OAuthError> {
        let response = self
            .http
            .get(self.endpoints.userinfo_url.clone())
            .bearer_auth(access_token.expose())
            .send()
            .await
            .map_err(|e| OAuthError::Network(transport_detail(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| OAuthError::Network(transport_detail(&e)))?;
        if status == 401 {
            return Err(OAuthError::InvalidGrant(Some(
                "the userinfo endpoint refused the access token".to_owned(),
            )));
        }
        if !(200..300).contains(&status) {
            return Err(OAuthError::TokenEndpoint {
                status: Some(status),
                error: "userinfo failed".to_owned(),
                description: None,
            });
        }
        let info: UserInfo =
            serde_json::from_slice(&body).map_err(|e| OAuthError::InvalidResponse {
                status: Some(status),
                what: json_problem(&e),
            })?;
        if info.email.trim().is_empty() {
            return Err(OAuthError::InvalidResponse {
                status: Some(status),
                what: "the userinfo answer has no email".to_owned(),
            });
        }
        Ok(info)
    }
}

/// The outcome of a completed sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserInfo,
    pub tokens: TokenSet,
    /// The refresh token (also in `tokens`), checked to be present: store it in the
    /// keyring under `user.email`.
    pub refresh_token: Secret,
}

/// The whole loopback flow: bind the listener, build the request, let `open_browser` show
/// the URL (system browser, or print it for `--no-browser`), wait for the redirect, trade
/// the code, and read the account's email. `open_browser` failing ends the flow with
/// `OAuthError::Listener` (the caller may prefer to print the URL instead of failing).
pub async fn sign_in(
    oauth: &OAuthClient,
    login_hint: Option<&str>,
    open_browser: impl FnOnce(&Url) -> Result<(), String>,
    timeout: Duration,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<SignedIn, OAuthError> {
    let listener = LoopbackListener::bind().await?;
    let redirect_uri = listener.redirect_uri();
    let request = match login_hint {
        Some(hint) => AuthorizationRequest::with_login_hint(
            &oauth.config,
            &oauth.endpoints,
            &redirect_uri,
            hint,
        )?,
        None => AuthorizationRequest::new(&oauth.config, &oauth.endpoints, &redirect_uri)?,
    };
    open_browser(request.url())
        .map_err(|e| OAuthError::Listener(format!("the browser could not be opened: {e}")))?;
    let code = listener
        .wait_for_code(request.state(), timeout, cancel)
        .await?;
    let tokens = oauth.exchange_code(&request, code).await?;
    let missing = missing_calendar_scopes(tokens.scopes.as_deref());
    if !missing.is_empty() {
        // Not connected half-way: the grant Google made without the calendar goes back.
        tracing::info!(?missing, "sign-in without the calendar scopes; not kept");
        if let Some(refresh) = &tokens.refresh_token {
            if let Err(e) = oauth.revoke_token(refresh).await {
                tracing::warn!("could not revoke the partial grant: {e}");
            }
        }
        return Err(OAuthError::CalendarNotGranted);
    }
    let refresh_token = tokens
        .refresh_token
        .clone()
        .ok_or(OAuthError::InvalidResponse {
            status: Some(200),
            what: "Google returned no refresh token".to_owned(),
        })?;
    let user = oauth.fetch_userinfo(&tokens.access_token).await?;
    Ok(SignedIn {
        user,
        tokens,
        refresh_token,
    })
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Wraps reqwest for the oauth2 crate and remembers the HTTP status of the answer, which
/// oauth2 does not report for unreadable error bodies (a 500 with an HTML page).
struct StatusRecorder<'a> {
    http: &'a reqwest::Client,
    status: &'a AtomicU16,
}

impl<'c> AsyncHttpClient<'c> for StatusRecorder<'_> {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = AsyncHttpClient::call(self.http, request).await?;
            self.status
                .store(response.status().as_u16(), Ordering::Relaxed);
            Ok(response)
        })
    }
}

type TokenResult = Result<
    oauth2::basic::BasicTokenResponse,
    RequestTokenError<oauth2::HttpClientError<reqwest::Error>, oauth2::basic::BasicErrorResponse>,
>;

/// Maps oauth2's answer. Written so that neither the response body (which may hold tokens)
/// nor serde's message (which may quote a value) ends up in the error.
fn token_set(result: TokenResult, status: u16) -> Result<TokenSet, OAuthError> {
    let status = (status != 0).then_some(status);
    match result {
        Ok(response) => Ok(TokenSet {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_in: response.expires_in(),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect()),
        }),
        Err(RequestTokenError::ServerResponse(err)) => match err.error() {
            BasicErrorResponseType::InvalidGrant => {
                Err(OAuthError::InvalidGrant(err.error_description().cloned()))
            }
            other => Err(OAuthError::TokenEndpoint {
                status,
                error: other.to_string(),
                description: err.error_description().cloned(),
            }),
        },
        Err(RequestTokenError::Request(e)) => Err(OAuthError::Network(match &e {
            oauth2::HttpClientError::Reqwest(inner) => transport_detail(inner),
            other => other.to_string(),
        })),
        Err(RequestTokenError::Parse(e, _body)) => Err(OAuthError::InvalidResponse {
            status,
            what: format!("{} at `{}`", json_problem(e.inner()), e.path()),
        }),
        Err(RequestTokenError::Other(what)) => Err(OAuthError::InvalidResponse { status, what }),
    }
}

/// A serde_json error described without quoting the input.
fn json_problem(e: &serde_json::Error) -> String {
    let what = if e.is_eof() {
        "the JSON was cut off"
    } else if e.is_syntax() {
        "it is not valid JSON"
    } else {
        "a field is missing or has the wrong type"
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

fn transport_detail(e: &reqwest::Error) -> String {
    let mut detail = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

/// Plays the browser for an authorization server that consents at once (the emulator
/// with auto-consent: the headless demo, tests): opens the authorization URL without
/// following the redirect, then delivers the redirect to the loopback listener.
pub async fn follow_consent(auth_url: &Url) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let consent = http
        .get(auth_url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !consent.status().is_redirection() {
        return Err(format!(
            "the consent page answered {} instead of redirecting (is auto-consent on?)",
            consent.status()
        ));
    }
    let location = consent
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("the consent redirect has no Location")?
        .to_owned();
    let page = http
        .get(&location)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !page.status().is_success() {
        return Err(format!("the loopback listener answered {}", page.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_url_has_pkce_state_offline_consent_and_scopes() {
        let config = OAuthClientConfig::new("cid.apps.googleusercontent.com", "sec");
        let endpoints = Endpoints::google();
        let a = AuthorizationRequest::new(&config, &endpoints, "http://127.0.0.1:5555/callback")
            .unwrap();
        let b = AuthorizationRequest::new(&config, &endpoints, "http://127.0.0.1:5555/callback")
            .unwrap();
        assert_ne!(a.state(), b.state());
        let q: std::collections::HashMap<_, _> = a.url().query_pairs().into_owned().collect();
        assert_eq!(a.url().host_str(), Some("accounts.google.com"));
        assert_eq!(q["client_id"], "cid.apps.googleusercontent.com");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:5555/callback");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43);
        assert_eq!(q["state"], a.state());
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["scope"], SCOPES.join(" "));
        assert!(!q.contains_key("client_secret"));
        let hinted = AuthorizationRequest::with_login_hint(
            &config,
            &endpoints,
            "http://127.0.0.1:5555/callback",
            "ada@example.com",
        )
        .unwrap();
        assert!(hinted
            .url()
            .as_str()
            .contains("login_hint=ada%40example.com"));
        assert!(!format!("{a:?}").contains(a.state()));
    }

    #[test]
    fn config_from_env_file_and_google_download() {
        let dir = tempfile::tempdir().unwrap();
        let missing = OAuthClientConfig::from_sources(None, None, dir.path(), None).unwrap_err();
        assert!(matches!(missing, OAuthError::NotConfigured(_)));
        assert_eq!(
            AppError::from(missing.clone()).code,
            ErrorCode::Configuration
        );
        assert!(missing.to_string().contains(CLIENT_ID_ENV));

        let half = OAuthClientConfig::from_sources(Some("id"), None, dir.path(), None).unwrap_err();
        assert!(half.to_string().contains("set both"));

        let env =
            OAuthClientConfig::from_sources(Some(" id "), Some("s"), dir.path(), None).unwrap();
        assert_eq!(env, OAuthClientConfig::new("id", "s"));
        assert!(!format!("{env:?}").contains("\"s\""));

        std::fs::write(
            dir.path().join(CLIENT_FILE),
            r#"{"client_id":"f","client_secret":"g"}"#,
        )
        .unwrap();
        let file = OAuthClientConfig::from_sources(None, None, dir.path(), None).unwrap();
        assert_eq!(file, OAuthClientConfig::new("f", "g"));

        std::fs::write(
            dir.path().join(CLIENT_FILE),
            r#"{"installed":{"client_id":"i","client_secret":"j","redirect_uris":["http://localhost"]}}"#,
        )
        .unwrap();
        let downloaded = OAuthClientConfig::from_sources(None, None, dir.path(), None).unwrap();
        assert_eq!(downloaded, OAuthClientConfig::new("i", "j"));

        std::fs::write(dir.path().join(CLIENT_FILE), "{not json").unwrap();
        assert!(
            OAuthClientConfig::from_sources(None, None, dir.path(), None)
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        std::fs::write(dir.path().join(CLIENT_FILE), r#"{"client_id":"only"}"#).unwrap();
        assert!(OAuthClientConfig::from_sources(None, None, dir.path(), None).is_err());
    }

    #[test]
    fn the_calendar_scopes_must_be_granted() {
        let granted = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(missing_calendar_scopes(None).is_empty());
        assert!(missing_calendar_scopes(Some(granted(&SCOPES).as_slice())).is_empty());
        assert_eq!(
            missing_calendar_scopes(Some(granted(&["openid", "email"]).as_slice())),
            CALENDAR_SCOPES.to_vec()
        );
        assert_eq!(
            missing_calendar_scopes(Some(granted(&[SCOPES[1], "openid"]).as_slice())),
            vec![SCOPES[0]]
        );
        assert_eq!(
            AppError::from(OAuthError::CalendarNotGranted).code,
            ErrorCode::Validation
        );
    }

    #[test]
    fn app_error_codes() {
        assert_eq!(
            AppError::from(OAuthError::InvalidGrant(None)).code,
            ErrorCode::NeedsReconnect
        );
        assert_eq!(
            AppError::from(OAuthError::AccessDenied).code,
            ErrorCode::Cancelled
        );
        assert_eq!(
            AppError::from(OAuthError::Timeout).code,
            ErrorCode::Cancelled
        );
        let server = OAuthError::TokenEndpoint {
            status: Some(503),
            error: "server_error".into(),
            description: None,
        };
        assert!(server.is_retryable());
        assert_eq!(AppError::from(server).code, ErrorCode::Network);
        let client = OAuthError::TokenEndpoint {
            status: Some(401),
            error: "invalid_client".into(),
            description: None,
        };
        assert_eq!(AppError::from(client).code, ErrorCode::Configuration);
    }
}
