//! Events: validation, create/update/patch/delete, list with paging and sync tokens,
//! recurring instances.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::conference::{self, ConferenceCtx};
use crate::errors::{ApiError, ApiResult};
use crate::recur::{self, Occ, SeriesStart};
use crate::state::{
    now_ms, parse_rfc3339_ms, random_event_id, rfc3339_ms, Calendar, Data, Derived, EventRec,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Google's rule for client-chosen event ids: base32hex characters, 5 to 1024 long.
pub fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

pub fn parse_tz(s: &str) -> Option<chrono_tz::Tz> {
    s.parse::<chrono_tz::Tz>().ok()
}

/// A parsed `start`/`end`.
#[derive(Debug, Clone, Copy)]
enum When {
    Date(NaiveDate),
    Timed { ms: i64, tz: Option<chrono_tz::Tz> },
}

fn date_ms(d: NaiveDate, tz: chrono_tz::Tz) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .and_then(|n| tz.from_local_datetime(&n).earliest())
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok())
}

/// Parses an EventDateTime; `normalize` rewrites zone-less dateTimes with their offset.
fn parse_when(v: Option<&mut Value>, field: &str) -> ApiResult<When> {
    let Some(Value::Object(o)) = v else {
        return Err(ApiError::required(format!("Missing {field} time.")));
    };
    let tz = match o.get("timeZone").and_then(Value::as_str) {
        Some(z) => Some(parse_tz(z).ok_or_else(|| {
            ApiError::invalid(format!("Invalid time zone definition for {field} time."))
        })?),
        None => None,
    };
    if let Some(d) = o.get("date").and_then(Value::as_str) {
        let d = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(format!("Invalid {field} time.")))?;
        return Ok(When::Date(d));
    }
    let Some(s) = o.get("dateTime").and_then(Value::as_str) else {
        return Err(ApiError::required(format!("Missing {field} time.")));
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(When::Timed {
            ms: t.timestamp_millis(),
            tz,
        });
    }
    let n = parse_naive(s).ok_or_else(|| ApiError::invalid(format!("Invalid {field} time.")))?;
    let Some(z) = tz else {
        return Err(ApiError::invalid(format!(
            "Missing time zone definition for {field} time."
        )));
    };
    let t = z
        .from_local_datetime(&n)
        .earliest()
        .ok_or_else(|| ApiError::invalid(format!("Invalid {field} time.")))?;
    o.insert("dateTime".into(), json!(t.fixed_offset().to_rfc3339()));
    Ok(When::Timed {
        ms: t.timestamp_millis(),
        tz,
    })
}

fn when_ms(w: When, cal_tz: chrono_tz::Tz) -> i64 {
    match w {
        When::Date(d) => date_ms(d, cal_tz),
        When::Timed { ms, .. } => ms,
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Validates times and recurrence of a resource about to be stored.
fn validate(res: &mut Map<String, Value>, is_instance: bool) -> ApiResult<()> {
    let start = parse_when(res.get_mut("start"), "start")?;
    let end = parse_when(res.get_mut("end"), "end")?;
    match (start, end) {
        (When::Date(a), When::Date(b)) => {
            if b <= a {
                return Err(ApiError::new(
                    400,
                    "timeRangeEmpty",
                    "The specified time range is empty.",
                ));
            }
        }
        (When::Timed { ms: a, .. }, When::Timed { ms: b, .. }) => {
            if b < a {
                return Err(ApiError::new(
                    400,
                    "timeRangeEmpty",
                    "The specified time range is empty.",
                ));
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "Start and end times must either both be date or both be dateTime.",
            ))
        }
    }
    if let Some(s) = res.get("status") {
        match s.as_str() {
            Some("confirmed" | "tentative" | "cancelled") => {}
            _ => return Err(ApiError::invalid("Invalid value for: status")),
        }
    }
    let rec = string_list(res.get("recurrence"));
    if !rec.is_empty() && !is_instance {
        let series = match start {
            When::Date(d) => SeriesStart::AllDay(d),
            When::Timed { ms, tz } => {
                let Some(tz) = tz else {
                    return Err(ApiError::required(
                        "Missing time zone definition for start time.",
                    ));
                };
                SeriesStart::Timed { ms, tz }
            }
        };
        recur::validate(&rec, series).map_err(ApiError::invalid)?;
    }
    Ok(())
}

/// Recomputes the values derived from `res` (called after every write and after loading).
pub fn derive(e: &mut EventRec, cal_tz: &str) {
    let tz = parse_tz(cal_tz).unwrap_or(chrono_tz::UTC);
    let res = &mut e.res;
    let mut s = res.get("start").cloned();
    let mut en = res.get("end").cloned();
    let start_ms = parse_when(s.as_mut(), "start")
        .map(|w| when_ms(w, tz))
        .unwrap_or(0);
    let end_ms = parse_when(en.as_mut(), "end")
        .map(|w| when_ms(w, tz))
        .unwrap_or(start_ms);
    let mut text = String::new();
    for k in ["summary", "description", "location"] {
        if let Some(v) = res.get(k).and_then(Value::as_str) {
            text.push_str(&v.to_lowercase());
            text.push('\n');
        }
    }
    if let Some(a) = res.get("attendees").and_then(Value::as_array) {
        for at in a {
            for k in ["email", "displayName"] {
                if let Some(v) = at.get(k).and_then(Value::as_str) {
                    text.push_str(&v.to_lowercase());
                    text.push('\n');
                }
            }
        }
    }
    e.derived = Derived {
        json: Arc::from(serde_json::to_string(&*res).unwrap_or_else(|_| "{}".into())),
        start_ms,
        end_ms,
        updated_ms: res
            .get("updated")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_ms)
            .unwrap_or(0),
        cancelled: res.get("status").and_then(Value::as_str) == Some("cancelled"),
        recurring: !string_list(res.get("recurrence")).is_empty(),
        recurring_event_id: res
            .get("recurringEventId")
            .and_then(Value::as_str)
            .map(String::from),
        text,
    };
}

fn html_link(id: &str, cal: &str) -> String {
    let eid = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{id} {cal}"));
    format!("https://www.google.com/calendar/event?eid={eid}")
}

/// Options of a creation path.
#[derive(Debug, Default, Clone)]
pub struct CreateOpts {
    pub import: bool,
    /// Control endpoint only: keep `created`/`updated` from the body.
    pub keep_timestamps: bool,
    /// `conferenceDataVersion` of the write and how conference requests end now.
    pub conference: ConferenceCtx,
}

fn owner_person(cal: &Calendar) -> Value {
    if cal.primary {
        json!({"email": cal.owner, "self": true})
    } else {
        json!({"email": cal.id, "displayName": cal.summary, "self": true})
    }
}

/// The answers an attendee can give (Google's `responseStatus`).
pub const RESPONSES: [&str; 4] = ["needsAction", "declined", "tentative", "accepted"];

/// Stores attendees as Google does: every one needs an email; a missing `responseStatus`
/// is `needsAction`; `organizer` and `self` are Google's to set (read-only for clients):
/// the organizer's own entry gets both, the calendar owner's entry gets `self`.
fn normalize_attendees(res: &mut Map<String, Value>, cal: &Calendar) -> ApiResult<()> {
    let Some(list) = res.get_mut("attendees") else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(ApiError::invalid("Invalid value for: attendees"));
    };
    let organizer = owner_person(cal)["email"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for a in list.iter_mut() {
        let Value::Object(a) = a else {
            return Err(ApiError::invalid("Invalid attendee."));
        };
        let email = match a.get("email").and_then(Value::as_str) {
            Some(e) if !e.trim().is_empty() => e.to_string(),
            _ => return Err(ApiError::required("Missing attendee email.")),
        };
        match a.get("responseStatus") {
            None | Some(Value::Null) => {
                a.insert("responseStatus".into(), json!("needsAction"));
            }
            Some(Value::String(r)) if RESPONSES.contains(&r.as_str()) => {}
            Some(_) => return Err(ApiError::invalid("Invalid attendee response status.")),
        }
        a.remove("organizer");
        a.remove("self");
        if email.eq_ignore_ascii_case(&organizer) {
            a.insert("organizer".into(), json!(true));
            a.insert("self".into(), json!(true));
        } else if email.eq_ignore_ascii_case(&cal.owner) {
            a.insert("self".into(), json!(true));
        }
    }
    Ok(())
}

/// Inserts (or, for import with a known iCalUID, updates) an event; returns its JSON.
pub fn create(
    data: &mut Data,
    cal_id: &str,
    body: Value,
    opts: &CreateOpts,
) -> ApiResult<(u16, Arc<str>)> {
    let Value::Object(mut res) = body else {
        return Err(ApiError::bad_request("Request body must be a JSON object."));
    };
    let id = match res.get("id") {
        Some(Value::String(id)) => {
            if !valid_event_id(id) {
                return Err(ApiError::invalid("Invalid resource id value."));
            }
            Some(id.clone())
        }
        Some(Value::Null) | None => None,
        Some(_) => return Err(ApiError::invalid("Invalid resource id value.")),
    };
    if opts.import {
        let Some(uid) = res.get("iCalUID").and_then(Value::as_str).map(String::from) else {
            return Err(ApiError::required("Missing iCalUID."));
        };
        // Import is idempotent on iCalUID: a second import updates the same event.
        let existing = data.calendars.get(cal_id).and_then(|c| {
            c.events
                .iter()
                .find(|e| {
                    e.str_field("iCalUID") == Some(uid.as_str())
                        && e.derived.recurring_event_id.is_none()
                })
                .map(|e| e.id().to_string())
        });
        if let Some(eid) = existing {
            return update_with(
                data,
                cal_id,
                &eid,
                Value::Object(res),
                None,
                false,
                opts.conference,
            )
            .map(|j| (200, j));
        }
    }
    let seq = data.next_seq();
    let etag = data.next_etag();
    let Some(cal) = data.calendars.get_mut(cal_id) else {
        return Err(ApiError::not_found());
    };
    let id = match id {
        Some(id) => {
            if cal.index.contains_key(&id) {
                return Err(ApiError::duplicate());
            }
            id
        }
        None => loop {
            let id = random_event_id();
            if !cal.index.contains_key(&id) {
                break id;
            }
        },
    };
    res.remove("recurringEventId");
    res.remove("originalStartTime");
    validate(&mut res, false)?;
    normalize_attendees(&mut res, cal)?;
    conference::apply(&mut res, None, &cal.id, &id, opts.conference)?;
    let now = rfc3339_ms(now_ms());
    for k in ["kind", "etag", "htmlLink", "creator", "organizer"] {
        res.remove(k);
    }
    if !opts.keep_timestamps {
        res.remove("created");
        res.remove("updated");
    }
    let created = res
        .get("created")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339_ms)
        .map(rfc3339_ms)
        .unwrap_or_else(|| now.clone());
    let updated = res
        .get("updated")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339_ms)
        .map(rfc3339_ms)
        .unwrap_or_else(|| created.clone());
    let mut out = Map::new();
    out.insert("kind".into(), json!("calendar#event"));
    out.insert("etag".into(), json!(etag));
    out.insert("id".into(), json!(id));
    out.insert(
        "status".into(),
        res.remove("status").unwrap_or_else(|| json!("confirmed")),
    );
    out.insert("htmlLink".into(), json!(html_link(&id, &cal.id)));
    out.insert("created".into(), json!(created));
    out.insert("updated".into(), json!(updated));
    res.remove("created");
    res.remove("updated");
    out.insert("creator".into(), owner_person(cal));
    out.insert("organizer".into(), owner_person(cal));
    let uid = res
        .remove("iCalUID")
        .unwrap_or_else(|| json!(format!("{id}@google.com")));
    let sequence = res.remove("sequence").unwrap_or_else(|| json!(0));
    for (k, v) in res {
        out.insert(k, v);
    }
    out.insert("iCalUID".into(), uid);
    out.insert("sequence".into(), sequence);
    out.entry("reminders")
        .or_insert_with(|| json!({"useDefault": true}));
    out.entry("eventType").or_insert_with(|| json!("default"));
    let mut rec = EventRec {
        res: out,
        mod_seq: seq,
        derived: Derived::default(),
    };
    derive(&mut rec, &cal.time_zone);
    let json = rec.derived.json.clone();
    cal.index.insert(id, cal.events.len());
    cal.events.push(rec);
    Ok((200, json))
}

fn etag_matches(if_match: &str, etag: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    if_match.trim() == "*" || if_match.split(',').any(|t| norm(t) == norm(etag))
}

/// Deep merge used by PATCH: objects merge key by key, other values replace, null removes.
fn merge(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (_, Value::Null) => {
                dst.remove(&k);
            }
            (Some(Value::Object(d)), Value::Object(s)) => merge(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

/// Splits `master_20240101T090000Z` / `master_20240101` into master id and the original
/// start it names.
fn parse_instance_id(id: &str) -> Option<(&str, Occ)> {
    let (master, suffix) = id.rsplit_once('_')?;
    if suffix.len() == 8 {
        let d = NaiveDate::parse_from_str(suffix, "%Y%m%d").ok()?;
        let ms = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        return Some((master, Occ { ms, date: Some(d) }));
    }
    let n = NaiveDateTime::parse_from_str(suffix.strip_suffix('Z')?, "%Y%m%dT%H%M%S").ok()?;
    Some((
        master,
        Occ {
            ms: n.and_utc().timestamp_millis(),
            date: None,
        },
    ))
}

fn series_start(master: &EventRec) -> Option<SeriesStart> {
    let start = master.res.get("start")?;
    if let Some(d) = start.get("date").and_then(Value::as_str) {
        return NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .map(SeriesStart::AllDay);
    }
    let tz = start
        .get("timeZone")
        .and_then(Value::as_str)
        .and_then(parse_tz)
        .unwrap_or(chrono_tz::UTC);
    Some(SeriesStart::Timed {
        ms: master.derived.start_ms,
        tz,
    })
}

fn fmt_in_tz(ms: i64, tz: chrono_tz::Tz) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&tz).fixed_offset().to_rfc3339())
        .unwrap_or_default()
}

/// Builds the resource of one (unmodified) instance of a series.
fn make_instance(master: &EventRec, occ: Occ) -> Map<String, Value> {
    let mut r = master.res.clone();
    r.remove("recurrence");
    let mid = master.id().to_string();
    let dur = master.derived.end_ms - master.derived.start_ms;
    match (occ.date, series_start(master)) {
        (Some(d), Some(SeriesStart::AllDay(s0))) => {
            let days = master
                .res
                .get("end")
                .and_then(|e| e.get("date"))
                .and_then(Value::as_str)
                .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
                .map(|e| (e - s0).num_days())
                .unwrap_or(1);
            let end = d + Duration::days(days);
            r.insert("id".into(), json!(format!("{mid}_{}", d.format("%Y%m%d"))));
            r.insert(
                "start".into(),
                json!({"date": d.format("%Y-%m-%d").to_string()}),
            );
            r.insert(
                "end".into(),
                json!({"date": end.format("%Y-%m-%d").to_string()}),
            );
            r.insert(
                "originalStartTime".into(),
                json!({"date": d.format("%Y-%m-%d").to_string()}),
            );
        }
        _ => {
            let tzname = master
                .res
                .get("start")
                .and_then(|s| s.get("timeZone"))
                .and_then(Value::as_str)
                .unwrap_or("UTC")
                .to_string();
            let tz = parse_tz(&tzname).unwrap_or(chrono_tz::UTC);
            let suffix = Utc
                .timestamp_millis_opt(occ.ms)
                .single()
                .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
                .unwrap_or_default();
            let etz = master
                .res
                .get("end")
                .and_then(|s| s.get("timeZone"))
                .and_then(Value::as_str)
                .unwrap_or(&tzname)
                .to_string();
            let etzp = parse_tz(&etz).unwrap_or(tz);
            r.insert("id".into(), json!(format!("{mid}_{suffix}")));
            r.insert(
                "start".into(),
                json!({"dateTime": fmt_in_tz(occ.ms, tz), "timeZone": tzname}),
            );
            r.insert(
                "end".into(),
                json!({"dateTime": fmt_in_tz(occ.ms + dur, etzp), "timeZone": etz}),
            );
            r.insert(
                "originalStartTime".into(),
                json!({"dateTime": fmt_in_tz(occ.ms, tz), "timeZone": tzname}),
            );
        }
    }
    r.insert("recurringEventId".into(), json!(mid));
    r
}

/// Whether `occ` is an occurrence of the series `master`.
fn is_occurrence(master: &EventRec, occ: Occ) -> bool {
    let Some(start) = series_start(master) else {
        return false;
    };
    let lines = string_list(master.res.get("recurrence"));
    match start {
        SeriesStart::AllDay(_) => {
            let d = occ.date;
            recur::expand(&lines, start, occ.ms, occ.ms + 1, 1)
                .iter()
                .any(|o| o.date == d)
        }
        SeriesStart::Timed { .. } => {
            !recur::expand(&lines, start, occ.ms, occ.ms + 1, 1).is_empty()
        }
    }
}

/// Resolves an event id to a stored record index, materialising an exception record for an
/// unmodified instance of a series when `materialise` is set.
fn find_or_instance(cal: &Calendar, id: &str) -> Option<Result<usize, (usize, Occ)>> {
    if let Some(&i) = cal.index.get(id) {
        return Some(Ok(i));
    }
    let (mid, occ) = parse_instance_id(id)?;
    let &mi = cal.index.get(mid)?;
    let m = &cal.events[mi];
    if !m.derived.recurring || m.derived.cancelled || !is_occurrence(m, occ) {
        return None;
    }
    Some(Err((mi, occ)))
}

pub fn get(data: &Data, cal_id: &str, id: &str) -> ApiResult<Arc<str>> {
    let cal = data.calendars.get(cal_id).ok_or_else(ApiError::not_found)?;
    match find_or_instance(cal, id) {
        Some(Ok(i)) => Ok(cal.events[i].derived.json.clone()),
        Some(Err((mi, occ))) => {
            let inst = make_instance(&cal.events[mi], occ);
            Ok(Arc::from(Value::Object(inst).to_string()))
        }
        None => Err(ApiError::not_found()),
    }
}

fn significant_change(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    ["start", "end", "recurrence", "location"]
        .iter()
        .any(|k| a.get(*k) != b.get(*k))
}

/// PUT (`patch == false`) or PATCH of an event or of one instance of a series, by a
/// client that knows nothing of conferences (`conferenceDataVersion=0`).
pub fn update(
    data: &mut Data,
    cal_id: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
    patch: bool,
) -> ApiResult<Arc<str>> {
    update_with(
        data,
        cal_id,
        id,
        body,
        if_match,
        patch,
        ConferenceCtx::default(),
    )
}

/// `update` with the write's conference context.
pub fn update_with(
    data: &mut Data,
    cal_id: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
    patch: bool,
    conf: ConferenceCtx,
) -> ApiResult<Arc<str>> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request("Request body must be a JSON object."));
    };
    let seq = data.next_seq();
    let etag = data.next_etag();
    let cal = data
        .calendars
        .get_mut(cal_id)
        .ok_or_else(ApiError::not_found)?;
    let (old, idx) = match find_or_instance(cal, id) {
        Some(Ok(i)) => (cal.events[i].res.clone(), Some(i)),
        Some(Err((mi, occ))) => (make_instance(&cal.events[mi], occ), None),
        None => return Err(ApiError::not_found()),
    };
    let old_etag = old
        .get("etag")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(m) = if_match {
        if !etag_matches(m, &old_etag) {
            return Err(ApiError::condition_not_met());
        }
    }
    let is_instance = old.contains_key("recurringEventId");
    let mut new = if patch {
        let mut n = old.clone();
        merge(&mut n, body);
        n
    } else {
        let mut n = body;
        n.entry("status").or_insert_with(|| json!("confirmed"));
        n
    };
    validate(&mut new, is_instance)?;
    normalize_attendees(&mut new, cal)?;
    // Server-owned fields always come from the stored event.
    for k in [
        "id",
        "kind",
        "created",
        "creator",
        "organizer",
        "htmlLink",
        "recurringEventId",
        "originalStartTime",
        "eventType",
    ] {
        match old.get(k) {
            Some(v) => {
                new.insert(k.into(), v.clone());
            }
            None => {
                new.remove(k);
            }
        }
    }
    if is_instance {
        new.remove("recurrence");
    }
    conference::apply(&mut new, Some(&old), &cal.id, id, conf)?;
    if !new.contains_key("iCalUID") {
        if let Some(u) = old.get("iCalUID") {
            new.insert("iCalUID".into(), u.clone());
        }
    }
    new.entry("reminders")
        .or_insert_with(|| json!({"useDefault": true}));
    let old_seq = old.get("sequence").and_then(Value::as_i64).unwrap_or(0);
    let given = new
        .get("sequence")
        .and_then(Value::as_i64)
        .unwrap_or(old_seq);
    let bump = i64::from(significant_change(&old, &new));
    new.insert("sequence".into(), json!(given.max(old_seq) + bump));
    new.insert("etag".into(), json!(etag));
    new.insert("updated".into(), json!(rfc3339_ms(now_ms())));
    let tz = cal.time_zone.clone();
    let rec = match idx {
        Some(i) => {
            let r = &mut cal.events[i];
            r.res = new;
            r.mod_seq = seq;
            derive(r, &tz);
            r
        }
        None => {
            let nid = id.to_string();
            let mut r = EventRec {
                res: new,
                mod_seq: seq,
                derived: Derived::default(),
            };
            derive(&mut r, &tz);
            cal.index.insert(nid, cal.events.len());
            cal.events.push(r);
            let last = cal.events.len() - 1;
            &mut cal.events[last]
        }
    };
    Ok(rec.derived.json.clone())
}

/// Why an attendee's answer could not be set (`POST /_emulator/respond`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    #[error("unknown response {0:?}: expected needsAction, accepted, declined or tentative")]
    UnknownResponse(String),
    #[error("no calendar {0:?}")]
    CalendarNotFound(String),
    #[error("no event {event_id:?} in calendar {calendar_id:?}")]
    EventNotFound {
        calendar_id: String,
        event_id: String,
    },
    #[error("{email:?} is not an attendee of event {event_id:?}")]
    AttendeeNotFound { event_id: String, email: String },
}

/// An attendee answers (the lead accepts, declines…): sets their `responseStatus` (and
/// `comment` when given) as Google does when the guest replies — a write that bumps
/// `updated` and `etag` (so sync tokens return the event) but not `sequence`. An instance
/// id of a series stores an exception, as answering one occurrence does in Google.
pub fn respond(
    data: &mut Data,
    cal_id: &str,
    event_id: &str,
    email: &str,
    response: &str,
    comment: Option<&str>,
) -> Result<Arc<str>, RespondError> {
    if !RESPONSES.contains(&response) {
        return Err(RespondError::UnknownResponse(response.to_string()));
    }
    let not_found = || RespondError::EventNotFound {
        calendar_id: cal_id.to_string(),
        event_id: event_id.to_string(),
    };
    if !data.calendars.contains_key(cal_id) {
        return Err(RespondError::CalendarNotFound(cal_id.to_string()));
    }
    let current: Value = get(data, cal_id, event_id)
        .ok()
        .and_then(|j| serde_json::from_str(&j).ok())
        .ok_or_else(not_found)?;
    if current.get("status").and_then(Value::as_str) == Some("cancelled") {
        return Err(not_found());
    }
    let mut attendees = current
        .get("attendees")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let who = attendees
        .iter_mut()
        .find(|a| {
            a.get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .ok_or_else(|| RespondError::AttendeeNotFound {
            event_id: event_id.to_string(),
            email: email.to_string(),
        })?;
    who["responseStatus"] = json!(response);
    if let Some(c) = comment {
        who["comment"] = json!(c);
    }
    update(
        data,
        cal_id,
        event_id,
        json!({"attendees": attendees}),
        None,
        true,
    )
    .map_err(|_| not_found())
}

/// Completes every pending conference (the fault plan went back to `success`): each such
/// event gets its Meet link, a new `etag` and `updated`, so sync tokens return it.
/// Returns how many were completed.
pub fn complete_pending_conferences(data: &mut Data) -> usize {
    let pending: Vec<(String, usize)> = data
        .calendars
        .values()
        .flat_map(|c| {
            c.events
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.res
                        .get("conferenceData")
                        .and_then(conference::status_code)
                        == Some("pending")
                })
                .map(|(i, _)| (c.id.clone(), i))
        })
        .collect();
    let now = rfc3339_ms(now_ms());
    for (cal_id, i) in &pending {
        let seq = data.next_seq();
        let etag = data.next_etag();
        let Some(cal) = data.calendars.get_mut(cal_id) else {
            continue;
        };
        let tz = cal.time_zone.clone();
        let r = &mut cal.events[*i];
        conference::complete_pending(&mut r.res, cal_id);
        r.res.insert("etag".into(), json!(etag));
        r.res.insert("updated".into(), json!(now.clone()));
        r.mod_seq = seq;
        derive(r, &tz);
    }
    pending.len()
}

pub fn delete(data: &mut Data, cal_id: &str, id: &str, if_match: Option<&str>) -> ApiResult<()> {
    let seq = data.next_seq();
    let etag = data.next_etag();
    let cal = data
        .calendars
        .get_mut(cal_id)
        .ok_or_else(ApiError::not_found)?;
    let tz = cal.time_zone.clone();
    let now = rfc3339_ms(now_ms());
    let i = match find_or_instance(cal, id) {
        Some(Ok(i)) => i,
        Some(Err((mi, occ))) => {
            let mut inst = make_instance(&cal.events[mi], occ);
            if let Some(m) = if_match {
                let e = inst.get("etag").and_then(Value::as_str).unwrap_or("");
                if !etag_matches(m, e) {
                    return Err(ApiError::condition_not_met());
                }
            }
            inst.insert("status".into(), json!("cancelled"));
            inst.insert("etag".into(), json!(etag));
            inst.insert("updated".into(), json!(now));
            let mut r = EventRec {
                res: inst,
                mod_seq: seq,
                derived: Derived::default(),
            };
            derive(&mut r, &tz);
            cal.index.insert(id.to_string(), cal.events.len());
            cal.events.push(r);
            return Ok(());
        }
        None => return Err(ApiError::not_found()),
    };
    let rec = &cal.events[i];
    if rec.derived.cancelled {
        return Err(ApiError::deleted());
    }
    if let Some(m) = if_match {
        if !etag_matches(m, rec.str_field("etag").unwrap_or("")) {
            return Err(ApiError::condition_not_met());
        }
    }
    let master_id = rec.id().to_string();
    let was_master = rec.derived.recurring;
    let cancel = |r: &mut EventRec| {
        r.res.insert("status".into(), json!("cancelled"));
        r.res.insert("etag".into(), json!(etag.clone()));
        r.res.insert("updated".into(), json!(now.clone()));
        r.mod_seq = seq;
        derive(r, &tz);
    };
    cancel(&mut cal.events[i]);
    if was_master {
        for r in cal.events.iter_mut() {
            if r.derived.recurring_event_id.as_deref() == Some(master_id.as_str())
                && !r.derived.cancelled
            {
                cancel(r);
            }
        }
    }
    Ok(())
}

fn cannot_move_instance() -> ApiError {
    ApiError::new(
        400,
        "cannotChangeOrganizerOfInstance",
        "Cannot change the organizer of an instance.",
    )
}

/// `events.move`: the event (a series with its exceptions) leaves `src_id` — which keeps
/// a cancelled record, so its sync tokens see it go — and arrives in `dst_id` with the same
/// id, a new etag and the destination as organizer. Instances can't move (Google's `400
/// cannotChangeOrganizerOfInstance`); a deleted or unknown event is `404`.
pub fn move_event(data: &mut Data, src_id: &str, id: &str, dst_id: &str) -> ApiResult<Arc<str>> {
    let src = data.calendars.get(src_id).ok_or_else(ApiError::not_found)?;
    let i = match find_or_instance(src, id) {
        Some(Ok(i)) => i,
        Some(Err(_)) => return Err(cannot_move_instance()),
        None => return Err(ApiError::not_found()),
    };
    let rec = &src.events[i];
    if rec.derived.cancelled {
        return Err(ApiError::not_found());
    }
    if rec.derived.recurring_event_id.is_some() {
        return Err(cannot_move_instance());
    }
    if src_id == dst_id {
        return Ok(rec.derived.json.clone());
    }
    // The event and, for a series, its stored exceptions.
    let moving: Vec<usize> = std::iter::once(i)
        .chain(
            src.events
                .iter()
                .enumerate()
                .filter(|(_, r)| r.derived.recurring_event_id.as_deref() == Some(id))
                .map(|(n, _)| n),
        )
        .collect();
    let dst = data.calendars.get(dst_id).ok_or_else(ApiError::not_found)?;
    for &n in &moving {
        if let Some(d) = dst.get(src.events[n].id()) {
            if !d.derived.cancelled {
                return Err(ApiError::duplicate());
            }
        }
    }
    let records: Vec<Map<String, Value>> =
        moving.iter().map(|&n| src.events[n].res.clone()).collect();
    let seq = data.next_seq();
    let now = rfc3339_ms(now_ms());
    let mut etags = Vec::with_capacity(moving.len() * 2);
    for _ in 0..moving.len() * 2 {
        etags.push(data.next_etag());
    }
    let mut etags = etags.into_iter();
    // Source: cancelled records.
    let src = data
        .calendars
        .get_mut(src_id)
        .ok_or_else(ApiError::not_found)?;
    let src_tz = src.time_zone.clone();
    for &n in &moving {
        let r = &mut src.events[n];
        r.res.insert("status".into(), json!("cancelled"));
        r.res.insert("etag".into(), json!(etags.next()));
        r.res.insert("updated".into(), json!(now.clone()));
        r.mod_seq = seq;
        derive(r, &src_tz);
    }
    // Destination: the same resources, organised by the destination calendar.
    let dst = data
        .calendars
        .get_mut(dst_id)
        .ok_or_else(ApiError::not_found)?;
    let organizer = owner_person(dst);
    let dst_tz = dst.time_zone.clone();
    let mut first = None;
    for mut res in records {
        let eid = res
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        res.insert("organizer".into(), organizer.clone());
        res.insert("etag".into(), json!(etags.next()));
        res.insert("updated".into(), json!(now.clone()));
        res.insert("htmlLink".into(), json!(html_link(&eid, &dst.id)));
        let mut r = EventRec {
            res,
            mod_seq: seq,
            derived: Derived::default(),
        };
        derive(&mut r, &dst_tz);
        if first.is_none() {
            first = Some(r.derived.json.clone());
        }
        match dst.index.get(&eid) {
            Some(&n) => dst.events[n] = r,
            None => {
                dst.index.insert(eid, dst.events.len());
                dst.events.push(r);
            }
        }
    }
    first.ok_or_else(ApiError::not_found)
}

/// Query parameters of `events.list` and `events.instances`.
#[derive(Debug, Default)]
pub struct ListParams {
    pub max_results: usize,
    pub page_token: Option<String>,
    pub sync_token: Option<String>,
    pub show_deleted: bool,
    pub single_events: bool,
    pub order_by: Option<String>,
    pub time_min: Option<i64>,
    pub time_max: Option<i64>,
    pub updated_min: Option<i64>,
    pub q: Option<String>,
    pub private_props: Vec<(String, String)>,
    pub shared_props: Vec<(String, String)>,
    pub ical_uid: Option<String>,
    pub original_start: Option<i64>,
}

fn parse_bool(v: &str) -> ApiResult<bool> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::invalid(format!("Invalid boolean value: {v}"))),
    }
}

fn parse_time_param(name: &str, v: &str) -> ApiResult<i64> {
    parse_rfc3339_ms(v).ok_or_else(|| ApiError::bad_request(format!("Invalid value for: {name}")))
}

fn parse_prop(name: &str, v: &str) -> ApiResult<(String, String)> {
    v.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| ApiError::invalid(format!("Invalid value for: {name}")))
}

impl ListParams {
    pub fn parse(query: &[(String, String)]) -> ApiResult<ListParams> {
        let mut p = ListParams {
            max_results: 250,
            ..Default::default()
        };
        for (k, v) in query {
            match k.as_str() {
                "maxResults" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| ApiError::invalid("Invalid value for: maxResults"))?;
                    if n < 1 {
                        return Err(ApiError::invalid("Invalid value for: maxResults"));
                    }
                    p.max_results = usize::try_from(n.min(2500)).unwrap_or(2500);
                }
                "pageToken" => p.page_token = Some(v.clone()),
                "syncToken" => p.sync_token = Some(v.clone()),
                "showDeleted" => p.show_deleted = parse_bool(v)?,
                "singleEvents" => p.single_events = parse_bool(v)?,
                "orderBy" => match v.as_str() {
                    "startTime" | "updated" => p.order_by = Some(v.clone()),
                    _ => return Err(ApiError::invalid("Invalid value for: orderBy")),
                },
                "timeMin" => p.time_min = Some(parse_time_param("timeMin", v)?),
                "timeMax" => p.time_max = Some(parse_time_param("timeMax", v)?),
                "updatedMin" => p.updated_min = Some(parse_time_param("updatedMin", v)?),
                "originalStart" => p.original_start = Some(parse_time_param("originalStart", v)?),
                "q" => p.q = Some(v.to_lowercase()),
                "privateExtendedProperty" => p.private_props.push(parse_prop(k, v)?),
                "sharedExtendedProperty" => p.shared_props.push(parse_prop(k, v)?),
                "iCalUID" => p.ical_uid = Some(v.clone()),
                _ => {}
            }
        }
        if p.sync_token.is_some() {
            let bad = [
                ("iCalUID", p.ical_uid.is_some()),
                ("orderBy", p.order_by.is_some()),
                ("privateExtendedProperty", !p.private_props.is_empty()),
                ("q", p.q.is_some()),
                ("sharedExtendedProperty", !p.shared_props.is_empty()),
                ("timeMin", p.time_min.is_some()),
                ("timeMax", p.time_max.is_some()),
                ("updatedMin", p.updated_min.is_some()),
            ];
            if let Some((name, _)) = bad.iter().find(|(_, b)| *b) {
                return Err(ApiError::invalid(format!(
                    "Sync token cannot be used together with the parameter {name}."
                )));
            }
        }
        if p.order_by.as_deref() == Some("startTime") && !p.single_events {
            return Err(ApiError::bad_request(
                "The requested ordering is not available for the particular query.",
            ));
        }
        if let (Some(a), Some(b)) = (p.time_min, p.time_max) {
            if b <= a {
                return Err(ApiError::new(
                    400,
                    "timeRangeEmpty",
                    "The specified time range is empty.",
                ));
            }
        }
        Ok(p)
    }
}

struct PageTok {
    offset: usize,
    snapshot: u64,
    since: Option<u64>,
    /// The calendar's sync generation when the listing began: a later page of a
    /// `syncToken` listing answers 410 fullSyncRequired once the tokens were expired,
    /// as Google may at any page.
    generation: u64,
}

fn encode_page(t: &PageTok) -> String {
    let since = t.since.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    B64.encode(format!(
        "p1:{}:{}:{}:{}",
        t.offset, t.snapshot, since, t.generation
    ))
}

fn decode_page(s: &str) -> ApiResult<PageTok> {
    let bad = || ApiError::invalid("Invalid page token value.");
    let raw = B64.decode(s).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = raw.split(':').collect();
    if parts.len() != 5 || parts[0] != "p1" {
        return Err(bad());
    }
    Ok(PageTok {
        offset: parts[1].parse().map_err(|_| bad())?,
        snapshot: parts[2].parse().map_err(|_| bad())?,
        since: if parts[3] == "-" {
            None
        } else {
            Some(parts[3].parse().map_err(|_| bad())?)
        },
        generation: parts[4].parse().map_err(|_| bad())?,
    })
}

pub fn encode_sync(cal: &Calendar, seq: u64) -> String {
    B64.encode(format!("s1:{}:{}:{}", cal.sync_generation, seq, cal.id))
}

/// Checks a sync token for `cal`: its change counter, or 400/410.
fn decode_sync(cal: &Calendar, s: &str) -> ApiResult<u64> {
    let bad = || ApiError::invalid("Invalid sync token value.");
    let raw = B64.decode(s).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut it = raw.splitn(4, ':');
    let (Some("s1"), Some(gen), Some(seq), Some(cid)) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(bad());
    };
    let gen: u64 = gen.parse().map_err(|_| bad())?;
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    if cid != cal.id {
        return Err(bad());
    }
    if gen != cal.sync_generation {
        return Err(ApiError::full_sync_required());
    }
    Ok(seq)
}

fn props_match(res: &Map<String, Value>, kind: &str, props: &[(String, String)]) -> bool {
    if props.is_empty() {
        return true;
    }
    let map = res.get("extendedProperties").and_then(|e| e.get(kind));
    props
        .iter()
        .all(|(k, v)| map.and_then(|m| m.get(k)).and_then(Value::as_str) == Some(v.as_str()))
}

/// Filters that look at an event's content (not its time).
fn content_match(rec: &EventRec, p: &ListParams) -> bool {
    if let Some(u) = &p.ical_uid {
        if rec.str_field("iCalUID") != Some(u.as_str()) {
            return false;
        }
    }
    if let Some(q) = &p.q {
        if !q.split_whitespace().all(|w| rec.derived.text.contains(w)) {
            return false;
        }
    }
    if let Some(m) = p.updated_min {
        if rec.derived.updated_ms < m {
            return false;
        }
    }
    props_match(&rec.res, "private", &p.private_props)
        && props_match(&rec.res, "shared", &p.shared_props)
}

fn time_match(start: i64, end: i64, p: &ListParams) -> bool {
    // timeMin is compared with the event's end, timeMax with its start (both exclusive);
    // a zero-length event at timeMin still matches.
    if let Some(min) = p.time_min {
        if end < min || (end == min && end != start) {
            return false;
        }
    }
    if let Some(max) = p.time_max {
        if start >= max {
            return false;
        }
    }
    true
}

/// Default expansion horizon when no timeMax is given.
/// (Two years past today or past the series start, whichever is later.)
fn horizon(p: &ListParams, series_start_ms: i64) -> (i64, i64) {
    let from = p.time_min.unwrap_or(i64::MIN / 4);
    let to = p
        .time_max
        .unwrap_or_else(|| now_ms().max(series_start_ms) + 2 * 365 * 24 * 3600 * 1000);
    (from, to)
}

fn expand_master(cal: &Calendar, m: &EventRec, p: &ListParams, limit: usize) -> Vec<(i64, Value)> {
    let Some(start) = series_start(m) else {
        return Vec::new();
    };
    let lines = string_list(m.res.get("recurrence"));
    let dur = m.derived.end_ms - m.derived.start_ms;
    let (from, to) = horizon(p, m.derived.start_ms);
    let tz = parse_tz(&cal.time_zone).unwrap_or(chrono_tz::UTC);
    let mut out = Vec::new();
    for occ in recur::expand(
        &lines,
        start,
        from.saturating_sub(dur.max(0) + 2 * 86_400_000),
        to.saturating_add(2 * 86_400_000),
        limit,
    ) {
        let (s, e) = match occ.date {
            Some(d) if matches!(start, SeriesStart::AllDay(_)) => {
                let s = date_ms(d, tz);
                (s, s + dur)
            }
            _ => (occ.ms, occ.ms + dur),
        };
        if !time_match(s, e, p) {
            continue;
        }
        let inst = make_instance(m, occ);
        let iid = inst.get("id").and_then(Value::as_str).unwrap_or("");
        if cal.index.contains_key(iid) {
            // A stored exception replaces this instance; it is listed on its own.
            continue;
        }
        out.push((s, Value::Object(inst)));
    }
    out
}

fn list_head(cal: &Calendar, kind: &str) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("kind".into(), json!(kind));
    h.insert(
        "etag".into(),
        json!(format!(
            "\"{}\"",
            cal.events.len() as u64 * 7 + cal.sync_generation
        )),
    );
    h.insert("summary".into(), json!(cal.summary));
    h.insert("description".into(), json!(cal.description));
    h.insert("updated".into(), json!(rfc3339_ms(now_ms())));
    h.insert("timeZone".into(), json!(cal.time_zone));
    h.insert("accessRole".into(), json!(cal.access_role));
    h.insert("defaultReminders".into(), json!([]));
    h
}

fn finish(
    mut head: Map<String, Value>,
    items: Vec<Arc<str>>,
    next_page: Option<String>,
    next_sync: Option<String>,
) -> String {
    if let Some(t) = next_page {
        head.insert("nextPageToken".into(), json!(t));
    }
    if let Some(t) = next_sync {
        head.insert("nextSyncToken".into(), json!(t));
    }
    let mut s = Value::Object(head).to_string();
    s.pop();
    let cap: usize = items.iter().map(|i| i.len() + 1).sum();
    s.reserve(cap + 16);
    s.push_str(",\"items\":[");
    for (n, it) in items.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str(it);
    }
    s.push_str("]}");
    s
}

/// `events.list`.
pub fn list(data: &Data, cal_id: &str, p: &ListParams) -> ApiResult<String> {
    let cal = data.calendars.get(cal_id).ok_or_else(ApiError::not_found)?;
    let page = p.page_token.as_deref().map(decode_page).transpose()?;
    let since = match (&page, &p.sync_token) {
        (Some(pg), _) if pg.since.is_some() && pg.generation != cal.sync_generation => {
            return Err(ApiError::full_sync_required());
        }
        (Some(pg), _) if pg.since.is_some() => pg.since,
        (_, Some(t)) => Some(decode_sync(cal, t)?),
        _ => None,
    };
    let snapshot = page.as_ref().map(|pg| pg.snapshot).unwrap_or(data.seq);
    let offset = page.as_ref().map(|pg| pg.offset).unwrap_or(0);
    let include_cancelled = since.is_some() || p.show_deleted || p.updated_min.is_some();
    let head = list_head(cal, "calendar#events");
    let max = p.max_results;

    let base_pass = |r: &EventRec| -> bool {
        if let Some(s) = since {
            return r.mod_seq > s;
        }
        if r.derived.cancelled && !include_cancelled {
            // Cancelled instances of a series stay visible in a non-expanded list.
            return !p.single_events
                && r.derived.recurring_event_id.is_some()
                && content_match(r, p);
        }
        content_match(r, p)
    };

    if !p.single_events && p.order_by.is_none() {
        let mut items: Vec<Arc<str>> = Vec::with_capacity(max.min(cal.events.len()));
        let mut i = offset;
        let mut next = None;
        while i < cal.events.len() {
            let r = &cal.events[i];
            let ok = base_pass(r)
                && (since.is_some()
                    || if r.derived.recurring {
                        (p.time_min.is_none() && p.time_max.is_none())
                            || !expand_master(cal, r, p, 1).is_empty()
                    } else {
                        time_match(r.derived.start_ms, r.derived.end_ms, p)
                    });
            if ok {
                if items.len() == max {
                    next = Some(i);
                    break;
                }
                items.push(r.derived.json.clone());
            }
            i += 1;
        }
        return Ok(match next {
            Some(o) => finish(
                head,
                items,
                Some(encode_page(&PageTok {
                    offset: o,
                    snapshot,
                    since,
                    generation: cal.sync_generation,
                })),
                None,
            ),
            None => finish(head, items, None, Some(encode_sync(cal, snapshot))),
        });
    }

    // Expanded (or ordered) listing: build the whole result, then cut the page.
    let mut all: Vec<(i64, i64, Arc<str>)> = Vec::new();
    for r in &cal.events {
        if !base_pass(r) {
            continue;
        }
        if p.single_events && r.derived.recurring && !r.derived.cancelled {
            for (s, v) in expand_master(cal, r, p, recur::MAX_INSTANCES) {
                all.push((s, r.derived.updated_ms, Arc::from(v.to_string())));
            }
            continue;
        }
        if r.derived.cancelled && r.derived.recurring_event_id.is_some() && !include_cancelled {
            continue;
        }
        if since.is_none()
            && !r.derived.recurring
            && !time_match(r.derived.start_ms, r.derived.end_ms, p)
        {
            continue;
        }
        all.push((
            r.derived.start_ms,
            r.derived.updated_ms,
            r.derived.json.clone(),
        ));
    }
    match p.order_by.as_deref() {
        Some("startTime") => all.sort_by_key(|a| a.0),
        Some("updated") => all.sort_by_key(|a| a.1),
        _ => {}
    }
    let end = (offset + max).min(all.len());
    let items: Vec<Arc<str>> = all
        .get(offset.min(all.len())..end)
        .unwrap_or(&[])
        .iter()
        .map(|a| a.2.clone())
        .collect();
    Ok(if end < all.len() {
        finish(
            head,
            items,
            Some(encode_page(&PageTok {
                offset: end,
                snapshot,
                since,
                generation: cal.sync_generation,
            })),
            None,
        )
    } else {
        finish(head, items, None, Some(encode_sync(cal, snapshot)))
    })
}

/// Whether the calendar's owner declined `res` (their attendee entry says so): Google
/// shows declined events as free.
fn declined_by_owner(res: &Map<String, Value>, cal: &Calendar) -> bool {
    res.get("attendees")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter().any(|a| {
                let me = a.get("self").and_then(Value::as_bool) == Some(true)
                    || a.get("email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.eq_ignore_ascii_case(&cal.owner));
                me && a.get("responseStatus").and_then(Value::as_str) == Some("declined")
            })
        })
}

/// The time spans (ms, unmerged, unclipped) during which `cal` is busy within
/// [`min`, `max`): events that are not cancelled, not `transparency: transparent` and not
/// declined by the owner; series expanded with their exceptions. All-day events span
/// local midnight to midnight in the calendar's zone.
pub fn busy_spans(cal: &Calendar, min: i64, max: i64) -> Vec<(i64, i64)> {
    let tz = parse_tz(&cal.time_zone).unwrap_or(chrono_tz::UTC);
    let p = ListParams {
        time_min: Some(min),
        time_max: Some(max),
        single_events: true,
        ..Default::default()
    };
    let free = |r: &EventRec| {
        r.derived.cancelled
            || r.str_field("transparency") == Some("transparent")
            || declined_by_owner(&r.res, cal)
    };
    let mut out = Vec::new();
    for r in &cal.events {
        if free(r) {
            continue;
        }
        if r.derived.recurring && r.derived.recurring_event_id.is_none() {
            for (s, mut inst) in expand_master(cal, r, &p, recur::MAX_INSTANCES) {
                let e = parse_when(inst.get_mut("end"), "end")
                    .map(|w| when_ms(w, tz))
                    .unwrap_or(s);
                out.push((s, e));
            }
        } else if time_match(r.derived.start_ms, r.derived.end_ms, &p) {
            out.push((r.derived.start_ms, r.derived.end_ms));
        }
    }
    out
}

/// `events.instances`.
pub fn instances(data: &Data, cal_id: &str, id: &str, p: &ListParams) -> ApiResult<String> {
    let cal = data.calendars.get(cal_id).ok_or_else(ApiError::not_found)?;
    let m = cal.get(id).ok_or_else(ApiError::not_found)?;
    if m.derived.cancelled {
        return Err(ApiError::deleted());
    }
    let page = p.page_token.as_deref().map(decode_page).transpose()?;
    let offset = page.as_ref().map(|pg| pg.offset).unwrap_or(0);
    let mut all: Vec<(i64, Arc<str>)> = Vec::new();
    if m.derived.recurring {
        for (s, v) in expand_master(cal, m, p, recur::MAX_INSTANCES) {
            all.push((s, Arc::from(v.to_string())));
        }
        for r in &cal.events {
            if r.derived.recurring_event_id.as_deref() == Some(id)
                && (!r.derived.cancelled || p.show_deleted)
                && time_match(r.derived.start_ms, r.derived.end_ms, p)
            {
                all.push((r.derived.start_ms, r.derived.json.clone()));
            }
        }
        if let Some(os) = p.original_start {
            all.retain(|(_, j)| {
                serde_json::from_str::<Value>(j)
                    .ok()
                    .and_then(|v| v.get("originalStartTime").cloned())
                    .and_then(|mut o| parse_when(Some(&mut o), "originalStart").ok())
                    .map(|w| when_ms(w, chrono_tz::UTC) == os)
                    .unwrap_or(false)
            });
        }
        all.sort_by_key(|a| a.0);
    } else {
        all.push((m.derived.start_ms, m.derived.json.clone()));
    }
    let mut head = list_head(cal, "calendar#events");
    head.remove("nextSyncToken");
    let end = (offset + p.max_results).min(all.len());
    let items = all
        .get(offset.min(all.len())..end)
        .unwrap_or(&[])
        .iter()
        .map(|a| a.1.clone())
        .collect();
    let next = (end < all.len()).then(|| {
        encode_page(&PageTok {
            offset: end,
            snapshot: data.seq,
            since: None,
            generation: cal.sync_generation,
        })
    });
    Ok(finish(head, items, next, None))
}
