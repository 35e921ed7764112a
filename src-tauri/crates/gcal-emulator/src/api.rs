//! Calendar API v3 dispatch: routing, authentication, quota, faults, then the handlers.
//! Shared by direct requests and by the parts of a batch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{json, Value};

use crate::conference::ConferenceCtx;
use crate::errors::{ApiError, ApiResp, ApiResult};
use crate::events::{self, CreateOpts, ListParams};
use crate::runtime::{FaultKind, Runtime};
use crate::state::{Calendar, Data};

pub struct Shared {
    pub data: RwLock<Data>,
    pub rt: Mutex<Runtime>,
    pub dirty: AtomicBool,
    /// Event writes since the emulator started, by `sendUpdates` (the order of
    /// `SendUpdatesCounts`). Unlike `Stats`, neither a stats reset nor `/_emulator/reset`
    /// clears them: a test asks at its end whether anything could have emailed anyone.
    pub writes_by_send_updates: [AtomicU64; 4],
    /// Calendar API and batch requests being handled now (a request a client gave up on
    /// counts until the emulator finished or dropped it).
    pub in_flight: AtomicU64,
}

impl Shared {
    pub fn new(data: Data) -> Self {
        Shared {
            data: RwLock::new(data),
            rt: Mutex::new(Runtime::default()),
            dirty: AtomicBool::new(false),
            writes_by_send_updates: Default::default(),
            in_flight: AtomicU64::new(0),
        }
    }
    // A panic while holding a lock must not take the whole emulator down: the state is
    // still consistent enough for a test server, so poisoned locks are recovered.
    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.dirty.store(true, Ordering::Relaxed);
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }
    /// Counts a request as in flight until the returned guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }
    pub fn rt(&self) -> MutexGuard<'_, Runtime> {
        self.rt.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request in `Shared::in_flight`; dropped when its handler ends or is cancelled.
pub struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One Calendar API call.
pub struct Call<'a> {
    pub method: &'a str,
    /// Path below `/calendar/v3/`, still percent-encoded, without query.
    pub path: &'a str,
    pub query: &'a str,
    /// Value of the Authorization header.
    pub auth: Option<&'a str>,
    pub if_match: Option<&'a str>,
    pub body: &'a [u8],
}

/// The result of a call: route name for stats, the response, and a response-corrupting
/// fault still to apply by the transport.
pub struct Outcome {
    pub route: &'static str,
    pub resp: ApiResp,
    pub body_fault: Option<FaultKind>,
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

enum Route {
    CalendarListList,
    CalendarListGet(String),
    CalendarsGet(String),
    CalendarsInsert,
    CalendarsDelete(String),
    EventsList(String),
    EventsInsert(String),
    EventsImport(String),
    EventsGet(String, String),
    EventsUpdate(String, String),
    EventsPatch(String, String),
    EventsDelete(String, String),
    EventsInstances(String, String),
    EventsMove(String, String),
    FreeBusy,
}

impl Route {
    fn name(&self) -> &'static str {
        match self {
            Route::CalendarListList => "calendarList.list",
            Route::CalendarListGet(_) => "calendarList.get",
            Route::CalendarsGet(_) => "calendars.get",
            Route::CalendarsInsert => "calendars.insert",
            Route::CalendarsDelete(_) => "calendars.delete",
            Route::EventsList(_) => "events.list",
            Route::EventsInsert(_) => "events.insert",
            Route::EventsImport(_) => "events.import",
            Route::EventsGet(..) => "events.get",
            Route::EventsUpdate(..) => "events.update",
            Route::EventsPatch(..) => "events.patch",
            Route::EventsDelete(..) => "events.delete",
            Route::EventsInstances(..) => "events.instances",
            Route::EventsMove(..) => "events.move",
            Route::FreeBusy => "freebusy.query",
        }
    }

    /// Calls that write events: counted in stats by their `sendUpdates` value.
    fn writes_events(&self) -> bool {
        matches!(
            self,
            Route::EventsInsert(_)
                | Route::EventsImport(_)
                | Route::EventsUpdate(..)
                | Route::EventsPatch(..)
                | Route::EventsDelete(..)
                | Route::EventsMove(..)
        )
    }
}

/// Scopes (after `https://www.googleapis.com/auth/`) that allow a method, from the
/// discovery document `calendar.v3.json`.
fn allowed_scopes(route: &str) -> &'static [&'static str] {
    const READ_EVENTS: &[&str] = &[
        "calendar",
        "calendar.app.created",
        "calendar.events",
        "calendar.events.freebusy",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.events.public.readonly",
        "calendar.events.readonly",
        "calendar.readonly",
    ];
    const WRITE_EVENTS: &[&str] = &[
        "calendar",
        "calendar.app.created",
        "calendar.events",
        "calendar.events.owned",
    ];
    match route {
        "calendarList.list" => &[
            "calendar",
            "calendar.calendarlist",
            "calendar.calendarlist.readonly",
            "calendar.readonly",
        ],
        "calendarList.get" => &[
            "calendar",
            "calendar.app.created",
            "calendar.calendarlist",
            "calendar.calendarlist.readonly",
            "calendar.readonly",
        ],
        "calendars.get" => &[
            "calendar",
            "calendar.app.created",
            "calendar.calendars",
            "calendar.calendars.readonly",
            "calendar.readonly",
        ],
        "calendars.insert" | "calendars.delete" => {
            &["calendar", "calendar.app.created", "calendar.calendars"]
        }
        "events.list" | "events.get" | "events.instances" => READ_EVENTS,
        "freebusy.query" => &[
            "calendar",
            "calendar.events.freebusy",
            "calendar.freebusy",
            "calendar.readonly",
        ],
        _ => WRITE_EVENTS,
    }
}

fn scope_ok(granted: &str, route: &str) -> bool {
    let allowed = allowed_scopes(route);
    granted.split_whitespace().any(|g| {
        g.strip_prefix("https://www.googleapis.com/auth/")
            .is_some_and(|short| allowed.contains(&short))
    })
}

fn route(method: &str, path: &str) -> Option<Route> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let o = |x: &str| x.to_string();
    Some(match (method, s.as_slice()) {
        ("GET", ["users", "me", "calendarList"]) => Route::CalendarListList,
        ("GET", ["users", "me", "calendarList", c]) => Route::CalendarListGet(o(c)),
        ("GET", ["calendars", c]) => Route::CalendarsGet(o(c)),
        ("POST", ["calendars"]) => Route::CalendarsInsert,
        ("DELETE", ["calendars", c]) => Route::CalendarsDelete(o(c)),
        ("GET", ["calendars", c, "events"]) => Route::EventsList(o(c)),
        ("POST", ["calendars", c, "events"]) => Route::EventsInsert(o(c)),
        ("POST", ["calendars", c, "events", "import"]) => Route::EventsImport(o(c)),
        ("GET", ["calendars", c, "events", e]) => Route::EventsGet(o(c), o(e)),
        ("PUT", ["calendars", c, "events", e]) => Route::EventsUpdate(o(c), o(e)),
        ("PATCH", ["calendars", c, "events", e]) => Route::EventsPatch(o(c), o(e)),
        ("DELETE", ["calendars", c, "events", e]) => Route::EventsDelete(o(c), o(e)),
        ("GET", ["calendars", c, "events", e, "instances"]) => Route::EventsInstances(o(c), o(e)),
        ("POST", ["calendars", c, "events", e, "move"]) => Route::EventsMove(o(c), o(e)),
        ("POST", ["freeBusy"]) => Route::FreeBusy,
        _ => return None,
    })
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The user behind a bearer token (header or `access_token` query parameter), with the
/// scopes granted to it.
pub fn authenticate_scoped(
    data: &Data,
    auth: Option<&str>,
    query: &[(String, String)],
) -> ApiResult<(String, String)> {
    let token = match auth {
        Some(h) => {
            let t = h
                .strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .ok_or_else(ApiError::auth_error)?;
            t.trim()
        }
        None => match query.iter().find(|(k, _)| k == "access_token") {
            Some((_, v)) => v.as_str(),
            None => return Err(ApiError::login_required()),
        },
    };
    let t = data
        .access_tokens
        .get(token)
        .ok_or_else(ApiError::auth_error)?;
    if t.expires_at_ms <= data.clock_ms() {
        return Err(ApiError::auth_error());
    }
    let grant = data.grants.get(&t.grant);
    if grant.is_some_and(|g| g.revoked) {
        return Err(ApiError::auth_error());
    }
    Ok((
        t.email.clone(),
        grant.map(|g| g.scope.clone()).unwrap_or_default(),
    ))
}

/// The user behind a bearer token (header or `access_token` query parameter).
pub fn authenticate(
    data: &Data,
    auth: Option<&str>,
    query: &[(String, String)],
) -> ApiResult<String> {
    authenticate_scoped(data, auth, query).map(|(email, _)| email)
}

/// Resolves `primary` and checks that the calendar belongs to `user`.
fn resolve<'d>(data: &'d Data, user: &str, cal: &str) -> ApiResult<&'d Calendar> {
    let id = if cal == "primary" { user } else { cal };
    match data.calendars.get(id) {
        Some(c) if c.owner == user => Ok(c),
        _ => Err(ApiError::not_found()),
    }
}

fn resolve_writable(data: &Data, user: &str, cal: &str) -> ApiResult<String> {
    let c = resolve(data, user, cal)?;
    if !c.writable() {
        return Err(ApiError::forbidden());
    }
    Ok(c.id.clone())
}

fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::new(400, "parseError", "Parse Error"))
}

fn calendar_list_entry(c: &Calendar) -> Value {
    let mut v = json!({
        "kind": "calendar#calendarListEntry",
        "etag": format!("\"{}\"", 1_600_000_000_000u64 + c.id.len() as u64),
        "id": c.id,
        "summary": c.summary,
        "description": c.description,
        "timeZone": c.time_zone,
        "colorId": c.color_id,
        "backgroundColor": c.background_color,
        "foregroundColor": "#000000",
        "selected": true,
        "accessRole": c.access_role,
        "defaultReminders": if c.primary { json!([{"method": "popup", "minutes": 10}]) } else { json!([]) },
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    });
    if c.primary {
        v["primary"] = json!(true);
    }
    v
}

fn calendar_resource(c: &Calendar) -> Value {
    json!({
        "kind": "calendar#calendar",
        "etag": format!("\"{}\"", 1_600_000_000_000u64 + c.id.len() as u64),
        "id": c.id,
        "summary": c.summary,
        "description": c.description,
        "timeZone": c.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    })
}

fn role_rank(r: &str) -> u8 {
    match r {
        "freeBusyReader" => 0,
        "reader" => 1,
        "writer" => 2,
        _ => 3,
    }
}

/// An event write that may mail someone: the event before and after it, for the
/// "would have emailed" record (`mail.rs`). Only filled when the write's `sendUpdates`
/// mails anyone, so writes with `none` pay nothing for it.
pub struct Written {
    pub method: &'static str,
    pub calendar_id: String,
    pub event_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn parsed(j: &str) -> Option<Value> {
    serde_json::from_str(j).ok()
}

/// The event (or generated instance) as it is now, for the mail record.
fn snapshot(data: &Data, cal: &str, id: &str) -> Option<Value> {
    events::get(data, cal, id).ok().and_then(|j| parsed(&j))
}

/// The conference context of a write: its `conferenceDataVersion` and the fault plan's
/// `conference` mode (read before the data lock is taken).
fn conference_ctx(shared: &Shared, q: &[(String, String)]) -> ApiResult<ConferenceCtx> {
    Ok(ConferenceCtx {
        version: crate::conference::parse_version(q)?,
        fault: shared.rt().plan.conference,
    })
}

fn dispatch(
    shared: &Shared,
    user: &str,
    r: &Route,
    q: &[(String, String)],
    call: &Call,
    written: &mut Option<Written>,
) -> ApiResult<ApiResp> {
    let mails = crate::mail::mailing_mode(q).is_some();
    let send_updates = q.iter().find(|(k, _)| k == "sendUpdates");
    if let Some((_, v)) = send_updates {
        if !matches!(v.as_str(), "all" | "externalOnly" | "none") {
            return Err(ApiError::invalid("Invalid value for: sendUpdates"));
        }
    }
    match r {
        Route::CalendarListList => {
            let data = shared.read();
            let min_role = q
                .iter()
                .find(|(k, _)| k == "minAccessRole")
                .map(|(_, v)| role_rank(v))
                .unwrap_or(0);
            let items: Vec<Value> = data
                .calendars
                .values()
                .filter(|c| c.owner == user && role_rank(&c.access_role) >= min_role)
                .map(calendar_list_entry)
                .collect();
            Ok(ApiResp::value(
                200,
                &json!({"kind": "calendar#calendarList", "etag": "\"p33c9lsnl2s8ug0g\"", "nextSyncToken": "CAAQAA==", "items": items}),
            ))
        }
        Route::CalendarListGet(c) => {
            let data = shared.read();
            Ok(ApiResp::value(
                200,
                &calendar_list_entry(resolve(&data, user, c)?),
            ))
        }
        Route::CalendarsGet(c) => {
            let data = shared.read();
            Ok(ApiResp::value(
                200,
                &calendar_resource(resolve(&data, user, c)?),
            ))
        }
        Route::CalendarsInsert => {
            let body = parse_body(call.body)?;
            let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
            let summary = text("summary")
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ApiError::required("Missing title."))?;
            let mut data = shared.write();
            let tz = match text("timeZone") {
                Some(z) => {
                    events::parse_tz(&z).ok_or_else(|| ApiError::invalid("Invalid time zone."))?;
                    z
                }
                // A new calendar takes the zone of the user's primary calendar.
                None => resolve(&data, user, "primary")
                    .map(|c| c.time_zone.clone())
                    .unwrap_or_else(|_| "UTC".into()),
            };
            let description = text("description").unwrap_or_default();
            let c = data.insert_calendar(user, &summary, &description, &tz);
            Ok(ApiResp::value(200, &calendar_resource(c)))
        }
        Route::CalendarsDelete(c) => {
            let mut data = shared.write();
            let cal = resolve(&data, user, c)?;
            if cal.primary {
                return Err(ApiError::new(
                    403,
                    "cannotDeletePrimaryCalendar",
                    "Cannot delete primary calendar.",
                ));
            }
            if cal.access_role != "owner" {
                return Err(ApiError::forbidden());
            }
            let id = cal.id.clone();
            data.calendars.remove(&id);
            Ok(ApiResp::empty(204))
        }
        Route::EventsList(c) => {
            let p = ListParams::parse(q)?;
            let data = shared.read();
            let id = resolve(&data, user, c)?.id.clone();
            Ok(ApiResp::json(200, events::list(&data, &id, &p)?))
        }
        Route::EventsInstances(c, e) => {
            let mut p = ListParams::parse(q)?;
            p.single_events = true;
            let data = shared.read();
            let id = resolve(&data, user, c)?.id.clone();
            Ok(ApiResp::json(200, events::instances(&data, &id, e, &p)?))
        }
        Route::EventsGet(c, e) => {
            let data = shared.read();
            let id = resolve(&data, user, c)?.id.clone();
            Ok(ApiResp::json(200, events::get(&data, &id, e)?.to_string()))
        }
        Route::EventsInsert(c) | Route::EventsImport(c) => {
            let body = parse_body(call.body)?;
            let mut data = shared.write();
            let id = resolve_writable(&data, user, c)?;
            let opts = CreateOpts {
                import: matches!(r, Route::EventsImport(_)),
                keep_timestamps: false,
                conference: conference_ctx(shared, q)?,
            };
            let (status, j) = events::create(&mut data, &id, body, &opts)?;
            // `events.import` never mails (Google's rule).
            if mails && !opts.import {
                let after = parsed(&j);
                *written = Some(Written {
                    method: "insert",
                    calendar_id: id,
                    event_id: after
                        .as_ref()
                        .and_then(|a| a.get("id"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    before: None,
                    after,
                });
            }
            Ok(ApiResp::json(status, j.to_string()))
        }
        Route::EventsUpdate(c, e) | Route::EventsPatch(c, e) => {
            let conf = conference_ctx(shared, q)?;
            let body = parse_body(call.body)?;
            let mut data = shared.write();
            let id = resolve_writable(&data, user, c)?;
            let patch = matches!(r, Route::EventsPatch(..));
            let before = mails.then(|| snapshot(&data, &id, e)).flatten();
            let j = events::update_with(&mut data, &id, e, body, call.if_match, patch, conf)?;
            if mails {
                *written = Some(Written {
                    method: if patch { "patch" } else { "update" },
                    calendar_id: id,
                    event_id: e.clone(),
                    before,
                    after: parsed(&j),
                });
            }
            Ok(ApiResp::json(200, j.to_string()))
        }
        Route::EventsDelete(c, e) => {
            let mut data = shared.write();
            let id = resolve_writable(&data, user, c)?;
            let before = mails.then(|| snapshot(&data, &id, e)).flatten();
            events::delete(&mut data, &id, e, call.if_match)?;
            if mails {
                *written = Some(Written {
                    method: "delete",
                    calendar_id: id,
                    event_id: e.clone(),
                    before,
                    after: None,
                });
            }
            Ok(ApiResp::empty(204))
        }
        Route::FreeBusy => {
            let body = parse_body(call.body)?;
            let data = shared.read();
            Ok(ApiResp::value(
                200,
                &crate::freebusy::query(&data, user, &body)?,
            ))
        }
        Route::EventsMove(c, e) => {
            let Some((_, dest)) = q.iter().find(|(k, _)| k == "destination") else {
                return Err(ApiError::required("Required parameter: destination"));
            };
            let mut data = shared.write();
            let src = resolve_writable(&data, user, c)?;
            let dst = resolve_writable(&data, user, dest)?;
            let before = mails.then(|| snapshot(&data, &src, e)).flatten();
            let j = events::move_event(&mut data, &src, e, &dst)?;
            if mails {
                *written = Some(Written {
                    method: "move",
                    calendar_id: dst,
                    event_id: e.clone(),
                    before,
                    after: parsed(&j),
                });
            }
            Ok(ApiResp::json(200, j.to_string()))
        }
    }
}

/// Runs one Calendar API call end to end (auth → quota → faults → handler).
pub fn handle(shared: &Shared, call: &Call, in_batch: bool) -> Outcome {
    let Some(r) = route(call.method, call.path) else {
        return Outcome {
            route: "unknown",
            resp: ApiError::not_found().into_resp(),
            body_fault: None,
        };
    };
    let name = r.name();
    let q = parse_query(call.query);
    let user = {
        let data = shared.read();
        authenticate_scoped(&data, call.auth, &q)
    };
    let user = match user {
        Ok((u, scope)) if scope_ok(&scope, name) => u,
        Ok(_) => {
            return Outcome {
                route: name,
                resp: ApiError::new(
                    403,
                    "insufficientPermissions",
                    "Request had insufficient authentication scopes.",
                )
                .into_resp(),
                body_fault: None,
            }
        }
        Err(e) => {
            return Outcome {
                route: name,
                resp: e.into_resp(),
                body_fault: None,
            }
        }
    };
    let clock_ms = shared.read().clock_ms();
    let fault = {
        let mut rt = shared.rt();
        if let Err(e) = rt.quota_check(&user, clock_ms) {
            return Outcome {
                route: name,
                resp: e.into_resp(),
                body_fault: None,
            };
        }
        rt.decide_fault(name, !in_batch)
    };
    if let Some(k) = fault.filter(|k| k.is_status()) {
        return Outcome {
            route: name,
            resp: k.error().into_resp(),
            body_fault: None,
        };
    }
    let mut written = None;
    let resp = match dispatch(shared, &user, &r, &q, call, &mut written) {
        Ok(resp) => resp,
        Err(e) => e.into_resp(),
    };
    if r.writes_events() && (200..300).contains(&resp.status) {
        let send_updates = q
            .iter()
            .find(|(k, _)| k == "sendUpdates")
            .map(|(_, v)| v.as_str());
        let bucket = crate::runtime::send_updates_bucket(send_updates);
        shared.writes_by_send_updates[bucket].fetch_add(1, Ordering::Relaxed);
        let mut rt = shared.rt();
        rt.stats.send_updates[bucket] += 1;
        if let (Some(w), Some(mode)) = (written, crate::mail::mailing_mode(&q)) {
            rt.mail_outbox.extend(crate::mail::would_be_mails(
                w.method,
                mode,
                &user,
                &w.calendar_id,
                &w.event_id,
                w.before.as_ref(),
                w.after.as_ref(),
            ));
        }
    }
    Outcome {
        route: name,
        resp,
        body_fault: fault,
    }
}
