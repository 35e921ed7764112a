//! `freebusy.query` (`POST /calendar/v3/freeBusy`): when the user's calendars are busy.
//!
//! Busy = events that are not cancelled, not `transparency: transparent` and not declined
//! by the calendar's owner, series expanded with their exceptions, overlapping
//! [timeMin, timeMax), clipped to it, merged when they overlap or touch, sorted, in UTC
//! (`…Z`). A calendar the user can't read answers `errors: [notFound]` for that id, not a
//! failed request.

use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::errors::{ApiError, ApiResult};
use crate::events;
use crate::state::{parse_rfc3339_ms, rfc3339_ms, Data};

/// Google's limit on calendars per request.
pub const MAX_CALENDARS: usize = 50;

/// Sorts spans, drops empty ones, clips them to [min, max) and merges those that overlap
/// or touch.
pub fn merge_busy(mut spans: Vec<(i64, i64)>, min: i64, max: i64) -> Vec<(i64, i64)> {
    spans.retain(|&(s, e)| e > s && s < max && e > min);
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        let (s, e) = (s.max(min), e.min(max));
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn utc(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

fn time_param(body: &Value, name: &str) -> ApiResult<i64> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::required(format!("Missing {name}."))),
        Some(Value::String(s)) => parse_rfc3339_ms(s)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid value for: {name}"))),
        Some(_) => Err(ApiError::bad_request(format!("Invalid value for: {name}"))),
    }
}

fn too_many() -> ApiError {
    ApiError::new(
        400,
        "tooManyCalendarsRequested",
        "The number of calendars requested is too large.",
    )
}

/// Answers one `freebusy.query` of `user`.
pub fn query(data: &Data, user: &str, body: &Value) -> ApiResult<Value> {
    if !body.is_object() {
        return Err(ApiError::bad_request("Request body must be a JSON object."));
    }
    let min = time_param(body, "timeMin")?;
    let max = time_param(body, "timeMax")?;
    if max <= min {
        return Err(ApiError::new(
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
        ));
    }
    if let Some(z) = body.get("timeZone").and_then(Value::as_str) {
        // Accepted and checked; answers are in UTC like Google's default.
        events::parse_tz(z).ok_or_else(|| ApiError::invalid("Invalid time zone."))?;
    }
    let limit = match body.get("calendarExpansionMax") {
        None | Some(Value::Null) => MAX_CALENDARS,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=50) => usize::try_from(n).unwrap_or(MAX_CALENDARS),
            _ => return Err(ApiError::invalid("Invalid value for: calendarExpansionMax")),
        },
    };
    let items = match body.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(ApiError::invalid("Invalid value for: items")),
    };
    if items.len() > limit {
        return Err(too_many());
    }
    let mut calendars = Map::new();
    for item in &items {
        let Some(id) = item.get("id").and_then(Value::as_str) else {
            return Err(ApiError::required("Missing calendar id."));
        };
        let real = if id == "primary" { user } else { id };
        let answer = match data.calendars.get(real) {
            Some(cal) if cal.owner == user => {
                let busy: Vec<Value> = merge_busy(events::busy_spans(cal, min, max), min, max)
                    .into_iter()
                    .map(|(s, e)| json!({"start": utc(s), "end": utc(e)}))
                    .collect();
                json!({"busy": busy})
            }
            _ => json!({
                "errors": [{"domain": "global", "reason": "notFound"}],
                "busy": [],
            }),
        };
        calendars.insert(id.to_string(), answer);
    }
    Ok(json!({
        "kind": "calendar#freeBusy",
        "timeMin": rfc3339_ms(min),
        "timeMax": rfc3339_ms(max),
        "calendars": calendars,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching_spans_and_clips_to_the_window() {
        let spans = vec![
            (50, 120),
            (0, 10),
            (10, 20),
            (30, 40),
            (35, 38),
            (60, 60),
            (200, 300),
        ];
        assert_eq!(
            merge_busy(spans, 5, 100),
            vec![(5, 20), (30, 40), (50, 100)]
        );
        assert_eq!(merge_busy(vec![(0, 5)], 5, 10), vec![]);
        assert_eq!(merge_busy(vec![], 0, 10), vec![]);
    }

    #[test]
    fn busy_times_are_utc_seconds() {
        assert_eq!(utc(1_900_000_000_000), "2030-03-17T17:46:40Z");
        assert_eq!(utc(1_900_000_000_500), "2030-03-17T17:46:40.500Z");
    }
}
