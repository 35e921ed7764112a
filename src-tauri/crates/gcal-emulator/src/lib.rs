//! gcal-emulator: a local stand-in for Google OAuth 2.0 and Calendar API v3, with
//! injectable faults, quotas and request statistics. See README.md for the routes and the
//! control endpoints.
//!
//! Booking with the lead (#17) added:
//! - attendees with `responseStatus` (`needsAction` by default) and Google's
//!   `organizer`/`self` flags; `POST /_emulator/respond {"calendar_id", "event_id",
//!   "email", "response", "comment"?}` and [`Emulator::respond`] let a guest answer;
//! - Meet conferences from `conferenceData.createRequest` with `conferenceDataVersion=1`
//!   (`hangoutLink`, `conferenceData.entryPoints`); the fault plan key `"conference":
//!   "success" | "failure" | "pending"` ([`ConferenceFault`]);
//! - the "would have emailed" record: `mail_outbox` in `GET /_emulator/stats` and
//!   [`Emulator::mail_outbox`] ([`WouldBeMail`]);
//! - `POST /calendar/v3/freeBusy` (route `freebusy.query`), with Google's scopes.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod batch;
mod conference;
mod control;
mod demo;
mod errors;
mod events;
mod freebusy;
mod mail;
mod oauth;
pub mod recur;
mod runtime;
mod state;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{Call, Shared};
use crate::errors::{ApiError, ApiResp};
use crate::runtime::FaultKind;

pub use crate::conference::ConferenceFault;
pub use crate::events::RespondError;
pub use crate::mail::{MailKind, WouldBeMail};

/// How to start an emulator.
#[derive(Clone, Debug, Default)]
pub struct EmulatorOptions {
    /// 0 = any free port.
    pub port: u16,
    /// Create `demo@example.com` with a realistic calendar (unless the state file has it).
    pub seed_demo: bool,
    /// Load state from this JSON file at start, save it periodically and on shutdown.
    pub state_file: Option<PathBuf>,
}

/// Event writes (insert, import, update, patch, delete, move; batch parts one by one) that
/// succeeded, by their `sendUpdates` parameter. Only `none` keeps Google from emailing
/// attendees: every other value, and a missing parameter, may send mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendUpdatesCounts {
    pub none: u64,
    pub all: u64,
    pub external_only: u64,
    /// No `sendUpdates` parameter at all.
    pub missing: u64,
}

impl SendUpdatesCounts {
    /// Writes that may have emailed someone: everything but `sendUpdates=none`.
    pub fn may_send_mail(&self) -> u64 {
        self.all + self.external_only + self.missing
    }
}

/// A running emulator on 127.0.0.1.
pub struct Emulator {
    base_url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    saver: Option<JoinHandle<()>>,
    state_file: Option<PathBuf>,
}

/// Command-line arguments of the emulator (`gcal-emulator`, `bookline emulator`).
#[derive(clap::Args, Debug, Clone)]
pub struct EmulatorArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed demo@example.com with a realistic calendar.
    #[arg(long)]
    pub seed_demo: bool,
    /// Persist state to this JSON file (loaded at start, saved periodically and on exit).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
}

const SAVE_EVERY: Duration = Duration::from_secs(5);

impl Emulator {
    pub async fn start(opts: EmulatorOptions) -> anyhow::Result<Emulator> {
        let mut data = match &opts.state_file {
            Some(p) => state::load_state(p)?.unwrap_or_default(),
            None => state::Data::default(),
        };
        if opts.seed_demo && data.account(demo::DEMO_EMAIL).is_none() {
            demo::seed(&mut data);
        }
        let shared = Arc::new(Shared::new(data));
        if opts.seed_demo {
            shared.dirty.store(true, Ordering::Relaxed);
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let addr = listener.local_addr()?;
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!("emulator server stopped: {e}");
            }
        });
        let saver = opts.state_file.clone().map(|path| {
            let shared = shared.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(SAVE_EVERY).await;
                    if shared.dirty.swap(false, Ordering::Relaxed) {
                        save(&shared, &path).await;
                    }
                }
            })
        });
        Ok(Emulator {
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            shared,
            stop: Some(tx),
            server,
            saver,
            state_file: opts.state_file,
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every event write since this emulator started, by `sendUpdates`. Neither
    /// `/_emulator/stats/reset` nor `/_emulator/reset` clears these, so a test can check
    /// at its end that nothing it did could have emailed anyone.
    pub fn writes_by_send_updates(&self) -> SendUpdatesCounts {
        let [none, all, external_only, missing] = self
            .shared
            .writes_by_send_updates
            .each_ref()
            .map(|c| c.load(Ordering::Relaxed));
        SendUpdatesCounts {
            none,
            all,
            external_only,
            missing,
        }
    }

    /// The mails Google would have sent for the event writes since start (or since
    /// `/_emulator/reset`): one per write and kind, with `sendUpdates=all` or
    /// `externalOnly` and at least one recipient (see `WouldBeMail`). Empty means no
    /// write could have emailed anyone.
    pub fn mail_outbox(&self) -> Vec<WouldBeMail> {
        self.shared.rt().mail_outbox.clone()
    }

    /// A guest answers an invitation, as `POST /_emulator/respond` does: sets the
    /// `responseStatus` (`needsAction`, `accepted`, `declined` or `tentative`) of the
    /// attendee `email` (case-insensitive) of the event, bumping its `updated` and `etag`
    /// but not `sequence`, so the next sync-token listing returns it. `calendar_id` may be
    /// `primary` (the primary calendar holding the event). Answers the event as stored.
    pub fn respond(
        &self,
        calendar_id: &str,
        event_id: &str,
        email: &str,
        response: &str,
    ) -> Result<serde_json::Value, RespondError> {
        self.respond_with_comment(calendar_id, event_id, email, response, None)
    }

    /// `respond` with the guest's `comment` (kept on their attendee entry).
    pub fn respond_with_comment(
        &self,
        calendar_id: &str,
        event_id: &str,
        email: &str,
        response: &str,
        comment: Option<&str>,
    ) -> Result<serde_json::Value, RespondError> {
        let j = control::respond_in(
            &self.shared,
            calendar_id,
            event_id,
            email,
            response,
            comment,
        )?;
        Ok(serde_json::from_str(&j).unwrap_or(serde_json::Value::Null))
    }

    /// Calendar API and batch requests the emulator is handling now. A test that gave up
    /// on a request (dropped the future) waits for this to reach 0 instead of sleeping
    /// out the request's latency.
    pub fn requests_in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Waits (polling, up to `limit`) until no Calendar API or batch request is in
    /// flight; false if some still are at the limit.
    pub async fn wait_until_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.requests_in_flight() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Every access and refresh token this emulator issued since it started (or since
    /// `/_emulator/reset`), revoked and expired ones included: what a test scans logs and
    /// files for.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.read().issued_tokens.clone()
    }

    /// Stops the server (open connections get a short grace period) and saves the state.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let abort = self.server.abort_handle();
        if tokio::time::timeout(Duration::from_secs(3), &mut self.server)
            .await
            .is_err()
        {
            abort.abort();
        }
        if let Some(s) = self.saver.take() {
            s.abort();
        }
        if let Some(p) = &self.state_file {
            save(&self.shared, p).await;
        }
    }
}

async fn save(shared: &Arc<Shared>, path: &std::path::Path) {
    let shared = shared.clone();
    let path = path.to_path_buf();
    let r = tokio::task::spawn_blocking(move || {
        let data = shared.read();
        state::save_state(&path, &data)
    })
    .await;
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("saving emulator state failed: {e}"),
        Err(e) => tracing::warn!("saving emulator state failed: {e}"),
    }
}

/// Runs the emulator until Ctrl-C or SIGTERM. Prints `listening on http://127.0.0.1:PORT`
/// as the first line of stdout.
pub async fn run_cli(args: EmulatorArgs) -> anyhow::Result<()> {
    let emu = Emulator::start(EmulatorOptions {
        port: args.port,
        seed_demo: args.seed_demo,
        state_file: args.state,
    })
    .await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", emu.base_url())?;
        out.flush()?;
    }
    wait_for_signal().await;
    emu.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::auth_get))
        .route("/o/oauth2/v2/auth/decide", post(oauth::auth_decide))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/v1/userinfo", get(oauth::userinfo))
        .route("/oauth2/v3/userinfo", get(oauth::userinfo))
        .route("/calendar/v3/{*rest}", any(calendar_api))
        .route("/batch/calendar/v3", post(batch_handler))
        .route("/batch", post(batch_handler))
        .route(
            "/_emulator/accounts",
            post(control::create_account).get(control::list_accounts),
        )
        .route("/_emulator/clients", post(control::register_client))
        .route(
            "/_emulator/faults",
            post(control::set_faults).get(control::get_faults),
        )
        .route(
            "/_emulator/quota",
            post(control::set_quota).get(control::get_quota),
        )
        .route(
            "/_emulator/stats",
            get(control::stats).delete(control::reset_stats),
        )
        .route("/_emulator/stats/reset", post(control::reset_stats))
        .route("/_emulator/consent", post(control::consent))
        .route("/_emulator/reset", post(control::reset))
        .route("/_emulator/tokens", post(control::tokens))
        .route("/_emulator/clock", post(control::clock))
        .route("/_emulator/respond", post(control::respond))
        .route("/_emulator/events/{calendar_id}", post(control::put_event))
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(shared)
}

/// Turns an API response into an HTTP response, applying a response-corrupting fault.
pub(crate) fn to_response(r: ApiResp, fault: Option<FaultKind>) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match fault {
        Some(FaultKind::DropConnection) => {
            // Headers go out, then the body stream fails: the client sees the connection
            // die mid-response.
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: connection dropped",
                ))
            });
            Body::from_stream(stream)
        }
        Some(FaultKind::TruncatedJson) => {
            let cut = r.body.len() / 2;
            let mut b = r.body.into_bytes();
            b.truncate(cut);
            Body::from(b)
        }
        Some(FaultKind::MalformedJson) => {
            Body::from("{\"kind\": \"calendar#event\", \"items\": [{,]}<html>")
        }
        _ => Body::from(r.body),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    if fault.is_some() && !h.contains_key(header::CONTENT_TYPE) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
    }
    resp
}

async fn latency(s: &Shared) {
    let ms = s.rt().plan.latency_ms;
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn calendar_api(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = s.enter();
    latency(&s).await;
    let path = uri.path().strip_prefix("/calendar/v3/").unwrap_or("");
    let call = Call {
        method: method.as_str(),
        path,
        query: uri.query().unwrap_or(""),
        auth: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        if_match: headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()),
        body: &body,
    };
    let o = api::handle(&s, &call, false);
    s.rt().record(method.as_str(), o.route, o.resp.status);
    to_response(o.resp, o.body_fault)
}

async fn batch_handler(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = s.enter();
    latency(&s).await;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let fail = |e: ApiError, s: &Shared| {
        s.rt().record("POST", "batch", e.code);
        to_response(e.into_resp(), None)
    };
    let Some(boundary) = batch::boundary(ct) else {
        return fail(
            ApiError::bad_request("Content-Type must be multipart/mixed with a boundary."),
            &s,
        );
    };
    let text = String::from_utf8_lossy(&body);
    let parts = match batch::parse(&text, &boundary) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                ApiError::bad_request(format!("Malformed batch body: {e}")),
                &s,
            )
        }
    };
    if parts.is_empty() {
        return fail(ApiError::bad_request("The batch is empty."), &s);
    }
    if parts.len() > batch::MAX_PARTS {
        return fail(
            ApiError::bad_request(format!(
                "A batch may hold at most {} calls.",
                batch::MAX_PARTS
            )),
            &s,
        );
    }
    let fault = s.rt().decide_fault("batch", true);
    if let Some(k) = fault.filter(|k| k.is_status()) {
        return fail(k.error(), &s);
    }
    s.rt().stats.batch_sizes.push(parts.len());
    let outer_auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (out, b) = batch::run(&s, &parts, outer_auth);
    s.rt().record("POST", "batch", 200);
    let mut r = ApiResp::empty(200);
    r.headers
        .push(("Content-Type", format!("multipart/mixed; boundary={b}")));
    r.body = out;
    let mut resp = to_response(r, fault);
    if fault.is_some() {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/mixed; boundary={b}"))
                .unwrap_or(HeaderValue::from_static("multipart/mixed")),
        );
    }
    resp.into_response()
}
