//! `GoogleError`: what went wrong talking to the Calendar API, classified.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{AppError, ErrorCode};

/// Where an error came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleErrorKind {
    /// Google answered with a non-success HTTP status (`status` and maybe `reason` set).
    Api,
    /// The request never got an answer: connection refused or reset, DNS, TLS, timeout.
    Transport { timeout: bool, connect: bool },
    /// Google answered, but not in a shape Bookline can read (malformed or truncated JSON,
    /// a broken batch answer).
    InvalidResponse,
    /// No access token could be had; the `AppError` says why (needs reconnect, keyring,
    /// network during refresh, not connected).
    Token(AppError),
    /// The endpoints or a request were set up wrongly by Bookline or its configuration.
    Configuration,
}

/// An error from the Calendar API. Never carries a token: messages come from Google's
/// error envelope or from Bookline, never from request headers.
#[derive(Clone, PartialEq, Eq)]
pub struct GoogleError {
    pub kind: GoogleErrorKind,
    /// HTTP status, when Google answered.
    pub status: Option<u16>,
    /// `error.errors[0].reason` from Google's JSON envelope (`rateLimitExceeded`,
    /// `fullSyncRequired`, `duplicate`, …).
    pub reason: Option<String>,
    /// A sentence: Google's `error.message`, or Bookline's description.
    pub message: String,
    /// `Retry-After` in seconds, when Google sent one.
    pub retry_after: Option<Duration>,
}

impl GoogleError {
    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Self {
            kind: GoogleErrorKind::Configuration,
            status: None,
            reason: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid_response(message: impl Into<String>) -> Self {
        Self {
            kind: GoogleErrorKind::InvalidResponse,
            status: None,
            reason: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn token(error: AppError) -> Self {
        Self {
            kind: GoogleErrorKind::Token(error.clone()),
            status: None,
            reason: None,
            message: error.message,
            retry_after: None,
        }
    }

    pub(crate) fn transport(error: &reqwest::Error) -> Self {
        let timeout = error.is_timeout();
        let connect = error.is_connect();
        let what = if timeout {
            "Google did not answer in time"
        } else if connect {
            "Could not reach Google"
        } else {
            "The connection to Google failed"
        };
        // reqwest's Display names the URL (no tokens are ever in Bookline's URLs) and the
        // cause; its source chain holds the I/O detail worth keeping for the log.
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        Self {
            kind: GoogleErrorKind::Transport { timeout, connect },
            status: error.status().map(|s| s.as_u16()),
            reason: None,
            message: format!("{what} ({detail})"),
            retry_after: None,
        }
    }

    /// Builds the error for a non-success answer from its status and body.
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let (reason, message) = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope {
                error: ErrorBody::Full(full),
            }) => {
                let first = full.errors.into_iter().next();
                let reason = first
                    .as_ref()
                    .and_then(|e| e.reason.clone())
                    .or(full.status.clone());
                let message = full
                    .message
                    .or_else(|| first.and_then(|e| e.message))
                    .unwrap_or_else(|| default_message(status));
                (reason, message)
            }
            // OAuth-style `{"error": "invalid_token", "error_description": "…"}`.
            Ok(Envelope {
                error: ErrorBody::Code(code),
            }) => (Some(code), default_message(status)),
            Err(_) => (
                None,
                format!(
                    "{} (the answer was not Google's JSON error, {} bytes)",
                    default_message(status),
                    body.len()
                ),
            ),
        };
        Self {
            kind: GoogleErrorKind::Api,
            status: Some(status),
            reason,
            message,
            retry_after,
        }
    }

    fn reason_is(&self, reason: &str) -> bool {
        self.reason.as_deref() == Some(reason)
    }

    /// 403 or 429 with `rateLimitExceeded` / `userRateLimitExceeded` (and any 429): slow
    /// down and retry with backoff. `quotaExceeded` (the daily quota) is not a rate limit.
    pub fn is_rate_limit(&self) -> bool {
        match self.status {
            Some(429) => !self.reason_is("quotaExceeded"),
            Some(403) => {
                self.reason_is("rateLimitExceeded") || self.reason_is("userRateLimitExceeded")
            }
            _ => false,
        }
    }

    /// Worth retrying later: 5xx, rate limits, connection failures, and token refreshes
    /// that failed on the network.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            GoogleErrorKind::Transport { .. } => true,
            GoogleErrorKind::Token(app) => app.code == ErrorCode::Network,
            GoogleErrorKind::Api => {
                self.status.is_some_and(|s| (500..600).contains(&s)) || self.is_rate_limit()
            }
            GoogleErrorKind::InvalidResponse | GoogleErrorKind::Configuration => false,
        }
    }

    /// 401: the access token was refused.
    pub fn is_auth(&self) -> bool {
        self.status == Some(401)
    }

    /// The grant is gone (refresh refused, or 401 right after a fresh token): the user
    /// must reconnect; sync stops writing.
    pub fn is_needs_reconnect(&self) -> bool {
        matches!(&self.kind, GoogleErrorKind::Token(app) if app.code == ErrorCode::NeedsReconnect)
    }

    /// 410 `fullSyncRequired`: the sync token expired; drop it and list in full.
    pub fn is_full_sync_required(&self) -> bool {
        self.status == Some(410) && self.reason_is("fullSyncRequired")
    }

    /// 409: an event with this id exists (even a deleted one).
    pub fn is_duplicate(&self) -> bool {
        self.status == Some(409)
    }

    /// 410 `deleted`: the event is already deleted. A 410 without a reason that is not a
    /// sync-token answer is treated the same.
    pub fn is_gone(&self) -> bool {
        self.status == Some(410) && !self.is_full_sync_required()
    }

    /// 412 `conditionNotMet`: the `If-Match` etag is stale.
    pub fn is_precondition_failed(&self) -> bool {
        self.status == Some(412)
    }

    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }
}

fn default_message(status: u16) -> String {
    match status {
        400 => "Google rejected the request as invalid".to_owned(),
        401 => "Google refused the sign-in".to_owned(),
        403 => "Google refused the request".to_owned(),
        404 => "Google does not know this item".to_owned(),
        409 => "The item already exists at Google".to_owned(),
        410 => "The item is gone at Google".to_owned(),
        412 => "The item changed at Google since it was read".to_owned(),
        429 => "Google asks Bookline to slow down".to_owned(),
        500..=599 => format!("Google had a temporary problem (HTTP {status})"),
        _ => format!("Google answered HTTP {status}"),
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    Full(FullError),
    Code(String),
}

#[derive(Deserialize)]
struct FullError {
    #[serde(default)]
    errors: Vec<ErrorItem>,
    message: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: Option<String>,
    message: Option<String>,
}

impl fmt::Display for GoogleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.status, &self.reason) {
            (Some(status), Some(reason)) => write!(f, " (HTTP {status}, {reason})"),
            (Some(status), None) => write!(f, " (HTTP {status})"),
            (None, Some(reason)) => write!(f, " ({reason})"),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for GoogleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleError")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for GoogleError {}

impl From<GoogleError> for AppError {
    fn from(error: GoogleError) -> Self {
        if let GoogleErrorKind::Token(app) = &error.kind {
            return app.clone();
        }
        let code = if error.is_auth() {
            ErrorCode::NeedsReconnect
        } else if error.is_not_found() || error.is_gone() {
            ErrorCode::NotFound
        } else if error.is_retryable() || matches!(error.kind, GoogleErrorKind::InvalidResponse) {
            ErrorCode::Network
        } else if error.kind == GoogleErrorKind::Configuration {
            ErrorCode::Configuration
        } else if error.status == Some(400) {
            ErrorCode::Validation
        } else {
            ErrorCode::Internal
        };
        let message = if error.is_auth() {
            format!("Google no longer accepts Bookline's sign-in; reconnect your Google account. ({error})")
        } else if error.is_rate_limit() {
            format!("Google asked Bookline to slow down; sync will retry shortly. ({error})")
        } else {
            error.to_string()
        };
        AppError::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, reason: &str) -> GoogleError {
        let body = format!(
            r#"{{"error":{{"errors":[{{"domain":"global","reason":"{reason}","message":"m"}}],"code":{status},"message":"Msg {reason}"}}}}"#
        );
        GoogleError::from_response(status, body.as_bytes(), None)
    }

    #[test]
    fn parses_google_envelope() {
        let e = api(404, "notFound");
        assert_eq!(e.status, Some(404));
        assert_eq!(e.reason.as_deref(), Some("notFound"));
        assert_eq!(e.message, "Msg notFound");
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "Msg notFound (HTTP 404, notFound)");
    }

    #[test]
    fn classification_table() {
        let cases: &[(u16, &str, [bool; 7])] = &[
            // rate, retry, auth, fullsync, dup, gone, precond
            (
                403,
                "rateLimitExceeded",
                [true, true, false, false, false, false, false],
            ),
            (
                403,
                "userRateLimitExceeded",
                [true, true, false, false, false, false, false],
            ),
            (
                429,
                "rateLimitExceeded",
                [true, true, false, false, false, false, false],
            ),
            (
                403,
                "quotaExceeded",
                [false, false, false, false, false, false, false],
            ),
            (
                403,
                "forbidden",
                [false, false, false, false, false, false, false],
            ),
            (
                401,
                "authError",
                [false, false, true, false, false, false, false],
            ),
            (
                410,
                "fullSyncRequired",
                [false, false, false, true, false, false, false],
            ),
            (
                410,
                "deleted",
                [false, false, false, false, false, true, false],
            ),
            (
                409,
                "duplicate",
                [false, false, false, false, true, false, false],
            ),
            (
                412,
                "conditionNotMet",
                [false, false, false, false, false, false, true],
            ),
            (
                500,
                "backendError",
                [false, true, false, false, false, false, false],
            ),
            (
                503,
                "backendError",
                [false, true, false, false, false, false, false],
            ),
            (
                400,
                "badRequest",
                [false, false, false, false, false, false, false],
            ),
        ];
        for (status, reason, expected) in cases {
            let e = api(*status, reason);
            let got = [
                e.is_rate_limit(),
                e.is_retryable(),
                e.is_auth(),
                e.is_full_sync_required(),
                e.is_duplicate(),
                e.is_gone(),
                e.is_precondition_failed(),
            ];
            assert_eq!(&got, expected, "{status} {reason}");
        }
    }

    #[test]
    fn malformed_and_truncated_bodies_do_not_panic() {
        for body in [
            &b""[..],
            b"<html>502 Bad Gateway</html>",
            b"{\"error\": {\"errors\": [",
            b"{\"error\": 5}",
            b"\xff\xfe",
        ] {
            let e = GoogleError::from_response(502, body, None);
            assert_eq!(e.status, Some(502));
            assert!(e.reason.is_none());
            assert!(e.is_retryable());
            assert!(
                e.message.contains("not Google's JSON error"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn oauth_style_error_body() {
        let e = GoogleError::from_response(400, br#"{"error":"invalid_token"}"#, None);
        assert_eq!(e.reason.as_deref(), Some("invalid_token"));
    }

    #[test]
    fn converts_to_app_error_codes() {
        assert_eq!(
            AppError::from(api(401, "authError")).code,
            ErrorCode::NeedsReconnect
        );
        assert_eq!(
            AppError::from(api(429, "rateLimitExceeded")).code,
            ErrorCode::Network
        );
        assert_eq!(
            AppError::from(api(404, "notFound")).code,
            ErrorCode::NotFound
        );
        assert_eq!(
            AppError::from(api(400, "invalid")).code,
            ErrorCode::Validation
        );
        assert_eq!(
            AppError::from(api(409, "duplicate")).code,
            ErrorCode::Internal
        );
        let token = GoogleError::token(AppError::new(ErrorCode::NeedsReconnect, "reconnect"));
        assert!(token.is_needs_reconnect());
        assert_eq!(AppError::from(token).code, ErrorCode::NeedsReconnect);
    }
}
