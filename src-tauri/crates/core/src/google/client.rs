//! `CalendarClient`: the Calendar v3 calls Bookline makes.
//!
//! The client never sees a refresh token: it asks a `TokenSource` for an access token per
//! request, and on a 401 tells the source, which either supplies a new token (one retry)
//! or decides the grant is gone. Other retries (5xx, rate limits) are the caller's
//! business, because the sync engine owns the backoff and the rate limiter.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, CONTENT_TYPE, IF_MATCH, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::batch::{
    build_batch_body, encode_segment, match_to_calls, parse_batch_response, BatchCall, BatchResult,
    MAX_BATCH,
};
use super::error::GoogleError;
use super::types::{
    CalendarListEntry, CalendarListPage, Event, EventsPage, FreeBusyRequest, FreeBusyResponse,
};
use super::Endpoints;
use crate::error::{AppError, ErrorCode};
use crate::secrets::Secret;

/// An OAuth access token (redacted in `Debug`/`Display`).
pub type AccessToken = Secret;

/// The boxed future a `TokenSource` returns.
pub type TokenFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

/// Supplies access tokens to the client.
pub trait TokenSource: Send + Sync {
    /// A currently valid access token.
    fn access_token(&self) -> TokenFuture<'_, AccessToken>;

    /// Google answered 401 to a request made with `token`. `Ok(())`: the next
    /// `access_token()` will be a different one, worth one retry. `Err`: give up (usually
    /// `ErrorCode::NeedsReconnect`).
    fn token_rejected<'a>(&'a self, token: &'a AccessToken) -> TokenFuture<'a, ()>;

    /// Google accepted `token` (any non-401 answer). Lets a source tell a token that
    /// works from one that was only just fetched. Called on every answer: keep it cheap.
    fn token_accepted(&self, _token: &AccessToken) {}
}

/// A fixed token (tests, and the emulator's ready-made accounts). A 401 means the token
/// is dead for good.
pub struct StaticTokenSource(AccessToken);

impl StaticTokenSource {
    pub fn new(token: impl Into<String>) -> Self {
        Self(Secret::new(token.into()))
    }
}

impl fmt::Debug for StaticTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticTokenSource([redacted])")
    }
}

impl TokenSource for StaticTokenSource {
    fn access_token(&self) -> TokenFuture<'_, AccessToken> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn token_rejected<'a>(&'a self, _token: &'a AccessToken) -> TokenFuture<'a, ()> {
        Box::pin(async {
            Err(AppError::new(
                ErrorCode::NeedsReconnect,
                "Google no longer accepts this access token; reconnect your Google account.",
            ))
        })
    }
}

/// Query of `events.list`. `sync_token` cannot be combined with the time, property,
/// `order_by`, `q`, `ical_uid` or `updated_min` filters (Google answers 400).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub sync_token: Option<String>,
    pub page_token: Option<String>,
    /// Google's default is 250, its maximum 2500.
    pub max_results: Option<u32>,
    pub show_deleted: Option<bool>,
    pub single_events: Option<bool>,
    pub time_min: Option<DateTime<Utc>>,
    pub time_max: Option<DateTime<Utc>>,
    pub updated_min: Option<DateTime<Utc>>,
    /// `key=value` filters on private extended properties (all must match).
    pub private_extended_property: Vec<String>,
    /// `startTime` (needs `single_events`) or `updated`.
    pub order_by: Option<String>,
    pub q: Option<String>,
    pub ical_uid: Option<String>,
}

impl ListParams {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Some(v) = &self.sync_token {
            q.push(("syncToken", v.clone()));
        }
        if let Some(v) = &self.page_token {
            q.push(("pageToken", v.clone()));
        }
        if let Some(v) = self.max_results {
            q.push(("maxResults", v.to_string()));
        }
        if let Some(v) = self.show_deleted {
            q.push(("showDeleted", v.to_string()));
        }
        if let Some(v) = self.single_events {
            q.push(("singleEvents", v.to_string()));
        }
        if let Some(v) = &self.time_min {
            q.push(("timeMin", time(v)));
        }
        if let Some(v) = &self.time_max {
            q.push(("timeMax", time(v)));
        }
        if let Some(v) = &self.updated_min {
            q.push(("updatedMin", time(v)));
        }
        for v in &self.private_extended_property {
            q.push(("privateExtendedProperty", v.clone()));
        }
        if let Some(v) = &self.order_by {
            q.push(("orderBy", v.clone()));
        }
        if let Some(v) = &self.q {
            q.push(("q", v.clone()));
        }
        if let Some(v) = &self.ical_uid {
            q.push(("iCalUID", v.clone()));
        }
        q
    }
}

/// Whom Google emails about a write (`sendUpdates`). `None` unless the user consented to
/// this very write (an invitation, or "notify the lead" on an edit): Bookline never emails
/// anyone on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SendUpdates {
    #[default]
    None,
    /// Every guest but the organizer.
    All,
}

impl SendUpdates {
    pub fn as_query(self) -> &'static str {
        match self {
            SendUpdates::None => "none",
            SendUpdates::All => "all",
        }
    }
}

/// Query options of an event write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WriteOptions {
    pub send_updates: SendUpdates,
    /// `conferenceDataVersion=1`: Google reads (and creates) the body's `conferenceData`;
    /// without it the body's conference is ignored.
    pub conference_data: bool,
}

impl WriteOptions {
    fn query(self) -> Vec<(&'static str, &'static str)> {
        let mut query = vec![("sendUpdates", self.send_updates.as_query())];
        if self.conference_data {
            query.push(("conferenceDataVersion", "1"));
        }
        query
    }
}

/// Calendar v3 over HTTPS (or the emulator's HTTP).
#[derive(Clone)]
pub struct CalendarClient {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    tokens: Arc<dyn TokenSource>,
}

impl fmt::Debug for CalendarClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalendarClient")
            .field("calendar_base", &self.endpoints.calendar_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Connection set-up limit; a slow network still connects in this time.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request limit; a 2500-event page or a 50-call batch finishes well within it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl CalendarClient {
    pub fn new(endpoints: Endpoints, tokens: Arc<dyn TokenSource>) -> Result<Self, GoogleError> {
        Ok(Self::with_http_client(
            endpoints,
            tokens,
            Self::http_client()?,
        ))
    }

    /// Uses a caller-built client (it should not follow redirects either).
    pub fn with_http_client(
        endpoints: Endpoints,
        tokens: Arc<dyn TokenSource>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            http,
            endpoints: Arc::new(endpoints),
            tokens,
        }
    }

    /// The HTTP client Bookline uses for Google: no redirects (a redirect would carry the
    /// bearer token elsewhere), connect and request timeouts.
    pub fn http_client() -> Result<reqwest::Client, GoogleError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("Bookline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GoogleError::configuration(format!("Cannot set up HTTPS: {e}")))
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn url(&self, segments: &[&str]) -> String {
        let mut url = self
            .endpoints
            .calendar_base
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        for segment in segments {
            url.push('/');
            url.push_str(&encode_segment(segment));
        }
        url
    }

    /// Sends one request with a bearer token; on 401 asks the token source and retries
    /// once. Returns the success body, or the classified error.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<(HeaderMap, Vec<u8>), GoogleError> {
        let mut retried = false;
        loop {
            let token = self
                .tokens
                .access_token()
                .await
                .map_err(GoogleError::token)?;
            let response = build(&self.http)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| GoogleError::transport(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|e| GoogleError::transport(&e))?;
            if status == StatusCode::UNAUTHORIZED {
                self.tokens
                    .token_rejected(&token)
                    .await
                    .map_err(GoogleError::token)?;
                if !retried {
                    retried = true;
                    continue;
                }
            } else {
                self.tokens.token_accepted(&token);
            }
            if !status.is_success() {
                return Err(GoogleError::from_response(
                    status.as_u16(),
                    &body,
                    retry_after(&headers),
                ));
            }
            // Not `to_vec`: the collected body's buffer becomes the Vec when it can (a
            // page of 1,000 events is ~1 MB, otherwise copied into fresh memory).
            return Ok((headers, Vec::from(body)));
        }
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<T, GoogleError> {
        let (_, body) = self.send(build).await?;
        decode(&body)
    }

    /// Every calendar in the user's calendar list (all pages).
    pub async fn list_calendars(&self) -> Result<Vec<CalendarListEntry>, GoogleError> {
        let url = self.url(&["users", "me", "calendarList"]);
        let mut all = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let page: CalendarListPage = self
                .send_json(|http| {
                    let mut req = http.get(&url).query(&[("maxResults", "250")]);
                    if let Some(token) = &page_token {
                        req = req.query(&[("pageToken", token)]);
                    }
                    req
                })
                .await?;
            all.extend(page.items);
            match page.next_page_token {
                Some(next) if Some(&next) != page_token.as_ref() => page_token = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// One page of `events.list`.
    pub async fn list_events(
        &self,
        calendar: &str,
        params: &ListParams,
    ) -> Result<EventsPage, GoogleError> {
        let url = self.url(&["calendars", calendar, "events"]);
        let query = params.query();
        self.send_json(|http| http.get(&url).query(&query)).await
    }

    /// `list_events` with the answer left undecoded (`decode_events_page` reads it): the
    /// wait for the network can go on another task while the events are decoded where
    /// they are used.
    pub async fn list_events_body(
        &self,
        calendar: &str,
        params: &ListParams,
    ) -> Result<Vec<u8>, GoogleError> {
        let url = self.url(&["calendars", calendar, "events"]);
        let query = params.query();
        let (_, body) = self.send(|http| http.get(&url).query(&query)).await?;
        Ok(body)
    }

    pub async fn get_event(&self, calendar: &str, event_id: &str) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events", event_id]);
        self.send_json(|http| http.get(&url)).await
    }

    /// `events.insert` with the id in `event.id` (client-chosen, base32hex) and
    /// `sendUpdates=none`. Inserting an id that exists answers 409 (`is_duplicate`).
    pub async fn insert_event(&self, calendar: &str, event: &Event) -> Result<Event, GoogleError> {
        self.insert_event_with(calendar, event, WriteOptions::default())
            .await
    }

    /// `insert_event` with the caller's `sendUpdates` and `conferenceDataVersion`.
    pub async fn insert_event_with(
        &self,
        calendar: &str,
        event: &Event,
        options: WriteOptions,
    ) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events"]);
        let query = options.query();
        self.send_json(|http| json_body(http.post(&url).query(&query), event))
            .await
    }

    /// `events.import`: a private copy of an existing event, keeping its `iCalUID`.
    pub async fn import_event(&self, calendar: &str, event: &Event) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events", "import"]);
        self.send_json(|http| json_body(http.post(&url), event))
            .await
    }

    /// `events.patch`: `body` holds only the fields to change (explicit `null`s clear).
    pub async fn patch_event(
        &self,
        calendar: &str,
        event_id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Event, GoogleError> {
        self.patch_event_with(calendar, event_id, body, if_match, WriteOptions::default())
            .await
    }

    /// `patch_event` with the caller's `sendUpdates` and `conferenceDataVersion`.
    pub async fn patch_event_with(
        &self,
        calendar: &str,
        event_id: &str,
        body: &Value,
        if_match: Option<&str>,
        options: WriteOptions,
    ) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events", event_id]);
        let query = options.query();
        self.send_json(|http| {
            let req = http.request(Method::PATCH, &url).query(&query);
            json_body(with_if_match(req, if_match), body)
        })
        .await
    }

    /// `events.update`: replaces the whole event.
    pub async fn update_event(
        &self,
        calendar: &str,
        event_id: &str,
        event: &Event,
        if_match: Option<&str>,
    ) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events", event_id]);
        self.send_json(|http| {
            let req = http.put(&url).query(&[("sendUpdates", "none")]);
            json_body(with_if_match(req, if_match), event)
        })
        .await
    }

    /// `events.delete`. An already deleted event answers 410 (`is_gone`).
    pub async fn delete_event(
        &self,
        calendar: &str,
        event_id: &str,
        if_match: Option<&str>,
    ) -> Result<(), GoogleError> {
        let url = self.url(&["calendars", calendar, "events", event_id]);
        self.send(|http| {
            with_if_match(
                http.delete(&url).query(&[("sendUpdates", "none")]),
                if_match,
            )
        })
        .await
        .map(|_| ())
    }

    /// `calendarList.get`: one entry of the user's calendar list. `"primary"` answers the
    /// primary calendar under its real id (the account's email), which is how Bookline
    /// tells that `primary` and that id are one calendar.
    pub async fn get_calendar_list_entry(
        &self,
        calendar: &str,
    ) -> Result<CalendarListEntry, GoogleError> {
        let url = self.url(&["users", "me", "calendarList", calendar]);
        self.send_json(|http| http.get(&url)).await
    }

    /// `events.move` with `sendUpdates=none`: the event (a whole series with its
    /// exceptions) leaves `calendar` for `destination`, keeping its id; the answer is the
    /// moved event with its new etag. Google refuses to move one instance of a series
    /// (`400 cannotChangeOrganizerOfInstance`) and answers 404 for an event that is not
    /// (or no longer) in `calendar`.
    pub async fn move_event(
        &self,
        calendar: &str,
        event_id: &str,
        destination: &str,
    ) -> Result<Event, GoogleError> {
        let url = self.url(&["calendars", calendar, "events", event_id, "move"]);
        self.send_json(|http| {
            http.post(&url)
                .query(&[("destination", destination), ("sendUpdates", "none")])
        })
        .await
    }

    /// `calendars.insert`: a new secondary calendar owned by the user (needs the full
    /// `calendar` scope, which Bookline's own grant does not ask for: tests and tools).
    pub async fn insert_calendar(
        &self,
        summary: &str,
        time_zone: Option<&str>,
    ) -> Result<CalendarListEntry, GoogleError> {
        let url = self.url(&["calendars"]);
        let mut body = serde_json::json!({ "summary": summary });
        if let Some(zone) = time_zone {
            body["timeZone"] = Value::from(zone);
        }
        self.send_json(|http| json_body(http.post(&url), &body))
            .await
    }

    /// `freeBusy.query`: the busy spans of each calendar in `[time_min, time_max)`. A
    /// calendar Google cannot read answers with `errors` in its entry, not a failure.
    pub async fn free_busy(
        &self,
        request: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleError> {
        let url = self.url(&["freeBusy"]);
        self.send_json(|http| json_body(http.post(&url), request))
            .await
    }

    /// `calendars.delete` of a secondary calendar (the primary one answers 403
    /// `cannotDeletePrimaryCalendar`).
    pub async fn delete_calendar(&self, calendar: &str) -> Result<(), GoogleError> {
        let url = self.url(&["calendars", calendar]);
        self.send(|http| http.delete(&url)).await.map(|_| ())
    }

    /// Several calls on one calendar in one request (keep to `MAX_RECOMMENDED_BATCH`).
    /// The outer `Err` means the batch as a whole failed; otherwise there is one result per
    /// call, in call order. Each call still counts against Google's quota.
    pub async fn batch(
        &self,
        calendar: &str,
        calls: Vec<BatchCall>,
    ) -> Result<Vec<BatchResult>, GoogleError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        if calls.len() > MAX_BATCH {
            return Err(GoogleError::configuration(format!(
                "A batch holds at most {MAX_BATCH} calls, not {}",
                calls.len()
            )));
        }
        let boundary = format!("batch_bookline_{:016x}", rand::rng().random::<u64>());
        let api_path = self.endpoints.calendar_base.path().to_owned();
        let body = build_batch_body(&boundary, &api_path, calendar, &calls)?;
        let url = self.endpoints.batch_url.clone();
        let content_type = format!("multipart/mixed; boundary={boundary}");
        let (headers, answer) = self
            .send(|http| {
                http.post(url.clone())
                    .header(CONTENT_TYPE, content_type.as_str())
                    .body(body.clone())
            })
            .await?;
        let answer_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let parts = parse_batch_response(answer_type, &answer)?;
        Ok(match_to_calls(parts, calls.len()))
    }
}

fn with_if_match(req: RequestBuilder, if_match: Option<&str>) -> RequestBuilder {
    match if_match {
        Some(etag) => req.header(IF_MATCH, etag),
        None => req,
    }
}

/// Serializes here rather than with `RequestBuilder::json` so an encoding failure is an
/// error we shape, and the body is sent with Google's content type.
fn json_body<T: Serialize + ?Sized>(req: RequestBuilder, body: &T) -> RequestBuilder {
    match serde_json::to_vec(body) {
        Ok(bytes) => req
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(bytes),
        // `json` records the same serialization error inside the builder; `send` then
        // reports it as a request error instead of sending anything.
        Err(_) => req.json(body),
    }
}

/// A page of `events.list` as `list_events_body` returned it.
pub fn decode_events_page(body: &[u8]) -> Result<EventsPage, GoogleError> {
    decode(body)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, GoogleError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_eof() {
            "was cut off"
        } else if e.is_syntax() {
            "is not valid JSON"
        } else {
            "has an unexpected shape"
        };
        GoogleError::invalid_response(format!(
            "Google's answer {what} (line {}, column {}: {e})",
            e.line(),
            e.column()
        ))
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_query_names() {
        let p = ListParams {
            sync_token: Some("s".into()),
            max_results: Some(10),
            show_deleted: Some(true),
            time_min: Some(
                DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                    .unwrap()
                    .into(),
            ),
            private_extended_property: vec!["a=b".into(), "c=d".into()],
            ical_uid: Some("u".into()),
            ..Default::default()
        };
        let q = p.query();
        assert!(q.contains(&("syncToken", "s".into())));
        assert!(q.contains(&("maxResults", "10".into())));
        assert!(q.contains(&("showDeleted", "true".into())));
        assert!(q.contains(&("timeMin", "2026-01-01T00:00:00Z".into())));
        assert_eq!(
            q.iter()
                .filter(|(k, _)| *k == "privateExtendedProperty")
                .count(),
            2
        );
        assert!(q.contains(&("iCalUID", "u".into())));
    }

    #[test]
    fn decode_errors_are_classified_not_panics() {
        let cut: Result<Event, _> = decode(br#"{"id": "abc", "summ"#);
        assert!(cut.unwrap_err().message.contains("cut off"));
        let junk: Result<Event, _> = decode(b"<html>");
        assert!(junk.unwrap_err().message.contains("not valid JSON"));
        let shape: Result<EventsPage, _> = decode(br#"{"items": 5}"#);
        assert!(shape.unwrap_err().message.contains("unexpected shape"));
    }

    #[test]
    fn static_source_debug_is_redacted() {
        let s = StaticTokenSource::new("ya29.secret");
        assert!(!format!("{s:?}").contains("ya29"));
    }
}

#[cfg(test)]
mod proxy_tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use super::*;

    /// Set in the child process of the proxy test: there the environment names the proxy.
    const PROXY_CHILD_ENV: &str = "BOOKLINE_TEST_PROXY_CHILD";
    const PROXY_TEST: &str = "google_requests_go_through_the_https_proxy_of_the_environment";

    /// On a company network Google is reachable only through its proxy, so the client
    /// must take the proxy from HTTPS_PROXY (a client built with `.no_proxy()` would
    /// not). The environment is process-wide, so the request is made by a child process
    /// (this test binary running this test, with the variable set) while this process
    /// plays the proxy and checks that the child asked it for a tunnel to Google.
    #[test]
    fn google_requests_go_through_the_https_proxy_of_the_environment() {
        if std::env::var_os(PROXY_CHILD_ENV).is_some() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let http = CalendarClient::http_client().unwrap();
                // The proxy refuses the tunnel; only the way the request went matters.
                let _ = http
                    .get("https://www.googleapis.com/calendar/v3/users/me/calendarList")
                    .send()
                    .await;
            });
            return;
        }
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = proxy.local_addr().unwrap();
        proxy.set_nonblocking(true).unwrap();
        let child_done = Arc::new(AtomicBool::new(false));
        let proxy_side = {
            let child_done = child_done.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !child_done.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let Ok((mut stream, _)) = proxy.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                        head.push(byte[0]);
                    }
                    let _ =
                        stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                    return Some(String::from_utf8_lossy(&head).into_owned());
                }
                None
            })
        };
        let test_name = concat!(module_path!(), "::")
            .split_once("::")
            .map(|(_crate, path)| format!("{path}{PROXY_TEST}"))
            .unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
            .env(PROXY_CHILD_ENV, "1")
            .env("HTTPS_PROXY", format!("http://{address}"));
        for unset in [
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            child.env_remove(unset);
        }
        let status = child.status().unwrap();
        child_done.store(true, Ordering::SeqCst);
        assert!(status.success(), "the child test failed: {status}");
        let head = proxy_side
            .join()
            .unwrap()
            .expect("the request did not go to the HTTPS_PROXY");
        assert!(
            head.starts_with("CONNECT www.googleapis.com:443 HTTP/1.1\r\n"),
            "{head}"
        );
    }
}
