//! Google Calendar API v3, hand-written on reqwest + serde.
//!
//! `Endpoints` says where Google lives (the real one, or the emulator through
//! `BOOKLINE_GOOGLE_BASE_URL`); `CalendarClient` makes the calls; `GoogleError` classifies
//! what went wrong so the sync engine can decide between retrying, backing off, resyncing
//! and asking the user to reconnect.

mod batch;
mod client;
mod error;
mod types;

pub use batch::{
    build_batch_body, parse_batch_response, BatchCall, BatchOp, BatchParseError, BatchResponse,
    BatchResult, MAX_RECOMMENDED_BATCH,
};
pub use client::{
    decode_events_page, AccessToken, CalendarClient, ListParams, SendUpdates, StaticTokenSource,
    TokenFuture, TokenSource, WriteOptions,
};
pub use error::{GoogleError, GoogleErrorKind};
pub use types::{
    Attendee, CalendarListEntry, Event, EventDateTime, EventPerson, EventStatus, EventsPage,
    ExtendedProperties, FreeBusyCalendar, FreeBusyError, FreeBusyItem, FreeBusyRequest,
    FreeBusyResponse, TimePeriod,
};

use url::Url;

/// Environment variable that points Bookline at another Google (the emulator).
pub const BASE_URL_ENV: &str = "BOOKLINE_GOOGLE_BASE_URL";

/// Every URL Bookline talks to at Google.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub oauth_auth_url: Url,
    pub token_url: Url,
    pub revoke_url: Url,
    pub userinfo_url: Url,
    /// `…/calendar/v3`, without a trailing slash.
    pub calendar_base: Url,
    pub batch_url: Url,
}

impl Endpoints {
    /// Real Google.
    pub fn google() -> Self {
        Self {
            oauth_auth_url: fixed("https://accounts.google.com/o/oauth2/v2/auth"),
            token_url: fixed("https://oauth2.googleapis.com/token"),
            revoke_url: fixed("https://oauth2.googleapis.com/revoke"),
            userinfo_url: fixed("https://openidconnect.googleapis.com/v1/userinfo"),
            calendar_base: fixed("https://www.googleapis.com/calendar/v3"),
            batch_url: fixed("https://www.googleapis.com/batch/calendar/v3"),
        }
    }

    /// Google's paths on one base URL, as the emulator serves them
    /// (`http://127.0.0.1:PORT` → `http://127.0.0.1:PORT/token`, …).
    pub fn from_base(base: &str) -> Result<Self, GoogleError> {
        let trimmed = base.trim().trim_end_matches('/');
        let parsed = Url::parse(trimmed).map_err(|e| {
            GoogleError::configuration(format!("The Google base URL {trimmed:?} is not a URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(GoogleError::configuration(format!(
                "The Google base URL {trimmed:?} must be an http(s) URL with a host"
            )));
        }
        let join = |path: &str| {
            Url::parse(&format!("{trimmed}{path}")).map_err(|e| {
                GoogleError::configuration(format!("Cannot build {path} on {trimmed:?}: {e}"))
            })
        };
        Ok(Self {
            oauth_auth_url: join("/o/oauth2/v2/auth")?,
            token_url: join("/token")?,
            revoke_url: join("/revoke")?,
            userinfo_url: join("/v1/userinfo")?,
            calendar_base: join("/calendar/v3")?,
            batch_url: join("/batch/calendar/v3")?,
        })
    }

    /// `from_base(url)` when given an override (the CLI's `--google-base-url`, else
    /// `BOOKLINE_GOOGLE_BASE_URL`), real Google otherwise.
    pub fn from_override(base: Option<&str>) -> Result<Self, GoogleError> {
        match base.map(str::trim).filter(|b| !b.is_empty()) {
            Some(base) => Self::from_base(base),
            None => Ok(Self::google()),
        }
    }

    /// `from_override` with `BOOKLINE_GOOGLE_BASE_URL`.
    pub fn from_env() -> Result<Self, GoogleError> {
        Self::from_override(std::env::var(BASE_URL_ENV).ok().as_deref())
    }
}

/// Parses one of the constant Google URLs above; they are literals, so this cannot fail at
/// run time, and a test (`google_endpoints_parse`) proves it.
fn fixed(url: &'static str) -> Url {
    Url::parse(url).unwrap_or_else(|_| unreachable!("constant URL {url} parses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_endpoints_parse() {
        let e = Endpoints::google();
        assert_eq!(e.token_url.as_str(), "https://oauth2.googleapis.com/token");
        assert_eq!(
            e.batch_url.as_str(),
            "https://www.googleapis.com/batch/calendar/v3"
        );
    }

    #[test]
    fn from_base_builds_google_paths() {
        let e = Endpoints::from_base("http://127.0.0.1:4567/").unwrap();
        assert_eq!(
            e.oauth_auth_url.as_str(),
            "http://127.0.0.1:4567/o/oauth2/v2/auth"
        );
        assert_eq!(e.token_url.as_str(), "http://127.0.0.1:4567/token");
        assert_eq!(e.revoke_url.as_str(), "http://127.0.0.1:4567/revoke");
        assert_eq!(e.userinfo_url.as_str(), "http://127.0.0.1:4567/v1/userinfo");
        assert_eq!(
            e.calendar_base.as_str(),
            "http://127.0.0.1:4567/calendar/v3"
        );
        assert_eq!(
            e.batch_url.as_str(),
            "http://127.0.0.1:4567/batch/calendar/v3"
        );
    }

    #[test]
    fn from_base_rejects_non_urls() {
        assert!(Endpoints::from_base("not a url").is_err());
        assert!(Endpoints::from_base("ftp://x").is_err());
        assert_eq!(
            Endpoints::from_override(Some("  ")).unwrap(),
            Endpoints::google()
        );
    }
}
