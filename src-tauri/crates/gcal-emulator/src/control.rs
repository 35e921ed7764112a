//! Control endpoints under `/_emulator/` (tests only; no auth, not counted in stats).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::Shared;
use crate::conference::{ConferenceCtx, ConferenceFault};
use crate::errors::ApiError;
use crate::events::{self, CreateOpts, RespondError};
use crate::runtime::{FaultPlan, QuotaConfig, Runtime};
use crate::state::{Data, CONTROL_SCOPE};

fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn bad(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": msg.to_string()}).to_string(),
    )
        .into_response()
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, serde_json::Error> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body)
}

#[derive(Deserialize)]
struct AccountReq {
    email: String,
    /// Space-separated scopes for the grant (default: full calendar access).
    scope: Option<String>,
}

pub async fn create_account(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: AccountReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    if !req.email.contains('@') {
        return bad("email must contain @");
    }
    let mut data = s.write();
    data.ensure_account(&req.email);
    // Control-issued grants are not bound to a client, so any registered client may
    // refresh them.
    let scope = req.scope.as_deref().unwrap_or(CONTROL_SCOPE);
    let t = data.issue_grant(&req.email, "", scope);
    ok(json!({
        "email": req.email,
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "expires_in": t.expires_in,
        "calendar_id": req.email,
    }))
}

pub async fn list_accounts(State(s): State<Arc<Shared>>) -> Response {
    let data = s.read();
    let accounts: Vec<Value> = data
        .accounts
        .iter()
        .map(|a| {
            let cals: Vec<Value> = data
                .calendars
                .values()
                .filter(|c| c.owner == a.email)
                .map(|c| json!({"id": c.id, "summary": c.summary, "accessRole": c.access_role, "primary": c.primary, "events": c.events.len()}))
                .collect();
            json!({"email": a.email, "sub": a.sub, "calendars": cals})
        })
        .collect();
    ok(json!({"accounts": accounts}))
}

#[derive(Deserialize)]
struct ClientReq {
    client_id: String,
    client_secret: String,
}

pub async fn register_client(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: ClientReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    s.write()
        .clients
        .insert(req.client_id.clone(), req.client_secret);
    ok(json!({"client_id": req.client_id}))
}

pub async fn set_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut plan: FaultPlan = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    if !(0.0..=1.0).contains(&plan.rate) {
        return bad("rate must be within [0, 1]");
    }
    let mut expired = 0;
    let mut revoked = 0;
    let mut conferences_completed = 0;
    if plan.conference == ConferenceFault::Success {
        conferences_completed = events::complete_pending_conferences(&mut s.write());
    }
    if plan.expire_sync_tokens || !plan.revoke_grants_for.is_empty() {
        let mut data = s.write();
        if plan.expire_sync_tokens {
            for c in data.calendars.values_mut() {
                c.sync_generation += 1;
                expired += 1;
            }
        }
        for e in &plan.revoke_grants_for {
            revoked += data.revoke_email(e);
        }
    }
    // One-shot actions are done; the stored plan keeps only the standing parts.
    plan.expire_sync_tokens = false;
    plan.revoke_grants_for.clear();
    let mut rt = s.rt();
    rt.set_plan(plan);
    ok(
        json!({"plan": rt.plan, "calendars_expired": expired, "grants_revoked": revoked,
              "conferences_completed": conferences_completed}),
    )
}

pub async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    ok(json!({"plan": s.rt().plan}))
}

pub async fn set_quota(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let q: QuotaConfig = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let mut rt = s.rt();
    rt.set_quota(q);
    ok(json!(rt.quota))
}

pub async fn get_quota(State(s): State<Arc<Shared>>) -> Response {
    ok(json!(s.rt().quota))
}

pub async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let mut v = {
        let rt = s.rt();
        let mut v = rt.stats.to_json();
        v["mail_outbox"] = json!(rt.mail_outbox);
        v
    };
    v["in_flight"] = json!(s.in_flight.load(std::sync::atomic::Ordering::SeqCst));
    ok(v)
}

pub async fn reset_stats(State(s): State<Arc<Shared>>) -> Response {
    s.rt().stats = Default::default();
    ok(json!({"reset": true}))
}

#[derive(Deserialize)]
struct ConsentReq {
    auto: Option<String>,
    /// The scopes the user leaves ticked on the consent page (space-separated); absent or
    /// null: all that the app asks for.
    scopes: Option<String>,
}

pub async fn consent(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: ConsentReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    match req.auto.as_deref() {
        None | Some("allow") | Some("deny") => {}
        Some(other) => {
            return bad(format!(
                "auto must be \"allow\", \"deny\" or null, not {other:?}"
            ))
        }
    }
    let mut data = s.write();
    data.consent_auto = req.auto.clone();
    data.consent_scopes = req.scopes.clone();
    ok(json!({"auto": req.auto, "scopes": req.scopes}))
}

pub async fn reset(State(s): State<Arc<Shared>>) -> Response {
    *s.write() = Data::default();
    *s.rt() = Runtime::default();
    ok(json!({"reset": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensReq {
    access_ttl_secs: Option<u64>,
    #[serde(default)]
    expire_now: bool,
    email: Option<String>,
}

pub async fn tokens(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: TokensReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let mut data = s.write();
    if let Some(t) = req.access_ttl_secs {
        data.access_ttl_secs = t;
    }
    let mut expired = 0;
    if req.expire_now {
        let now = data.clock_ms();
        for t in data.access_tokens.values_mut() {
            if req.email.as_deref().is_none_or(|e| e == t.email) && t.expires_at_ms > now {
                t.expires_at_ms = now;
                expired += 1;
            }
        }
    }
    ok(json!({"access_ttl_secs": data.access_ttl_secs, "expired": expired}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockReq {
    advance_ms: u64,
}

/// Moves the clock that access-token lifetimes and quota windows are measured on ahead by
/// `advance_ms` (never back): a test expires a token or ends a quota window without
/// sleeping.
pub async fn clock(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: ClockReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let Ok(advance) = i64::try_from(req.advance_ms) else {
        return bad("advance_ms is too large");
    };
    let mut data = s.write();
    data.clock_offset_ms = data.clock_offset_ms.saturating_add(advance);
    ok(json!({"offset_ms": data.clock_offset_ms}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RespondReq {
    calendar_id: String,
    event_id: String,
    email: String,
    response: String,
    comment: Option<String>,
}

/// Sets an attendee's answer (see `events::respond`). `primary` names the primary calendar
/// that holds the event (the control API has no signed-in user).
pub(crate) fn respond_in(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    email: &str,
    response: &str,
    comment: Option<&str>,
) -> Result<std::sync::Arc<str>, RespondError> {
    let mut data = shared.write();
    let cal = if calendar_id == "primary" {
        data.calendars
            .values()
            .find(|c| c.primary && events::get(&data, &c.id, event_id).is_ok())
            .map(|c| c.id.clone())
            .ok_or_else(|| RespondError::EventNotFound {
                calendar_id: calendar_id.to_string(),
                event_id: event_id.to_string(),
            })?
    } else {
        calendar_id.to_string()
    };
    events::respond(&mut data, &cal, event_id, email, response, comment)
}

/// `POST /_emulator/respond`: a guest answers an invitation.
pub async fn respond(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: RespondReq = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    match respond_in(
        &s,
        &req.calendar_id,
        &req.event_id,
        &req.email,
        &req.response,
        req.comment.as_deref(),
    ) {
        Ok(j) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            j.to_string(),
        )
            .into_response(),
        Err(e @ RespondError::UnknownResponse(_)) => bad(e),
        Err(e) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": e.to_string()}).to_string(),
        )
            .into_response(),
    }
}

/// Inserts an event as its owner would, but keeps `created`/`updated` from the body so
/// tests can make events that look older than a connection.
pub async fn put_event(
    State(s): State<Arc<Shared>>,
    Path(cal): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    // Read before taking the data lock: no path holds the data lock while it takes the
    // runtime lock, so the two can never deadlock.
    let fault = s.rt().plan.conference;
    let mut data = s.write();
    if !data.calendars.contains_key(&cal) {
        return ApiErrorResp(ApiError::not_found()).into_response();
    }
    // As a user in Google's own UI: conference data in the body is honoured (a
    // `createRequest` makes a Meet conference, full `conferenceData` is copied).
    let opts = CreateOpts {
        import: false,
        keep_timestamps: true,
        conference: ConferenceCtx { version: 1, fault },
    };
    match events::create(&mut data, &cal, v, &opts) {
        Ok((_, j)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            j.to_string(),
        )
            .into_response(),
        Err(e) => ApiErrorResp(e).into_response(),
    }
}

pub struct ApiErrorResp(pub ApiError);

impl IntoResponse for ApiErrorResp {
    fn into_response(self) -> Response {
        let r = self.0.into_resp();
        crate::to_response(r, None)
    }
}
