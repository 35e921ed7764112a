//! Expands recurring appointments into instances (pure; the store applies moved instances).
//!
//! A series is stored as Google carries it: `RRULE:`, `EXDATE…` and `RDATE…` lines without
//! a `DTSTART` — the start comes from the appointment itself. Expansion runs in the series'
//! own IANA zone, so a weekly 10:00 meeting in Berlin stays at 10:00 local time across the
//! DST change (its UTC instant moves by an hour), exactly as Google shows it.
//!
//! The `rrule` crate expands `RRULE`s. `EXDATE` and `RDATE` are handled here because the
//! crate reads a value without `TZID` in the *machine's* zone and ignores `VALUE=DATE`;
//! Google writes both forms.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::RRuleSet;

use crate::model::Timing;

/// More instances than this in one window means a rule like `FREQ=SECONDLY`; it is
/// reported as not expandable instead of flooding the week view.
pub const MAX_INSTANCES_PER_WINDOW: usize = 20_000;
/// Instances walked from the series' start to reach a window (a daily rule from 1900 to
/// 2200 is ~110,000).
const MAX_WALKED: usize = 200_000;

/// What identifies one instance of a series: its original start, as Google's
/// `originalStartTime` does (an instant for timed series, a date for all-day ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Instant(DateTime<Utc>),
    Date(NaiveDate),
}

/// One generated instance of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub key: InstanceKey,
    pub timing: Timing,
}

/// The instants an appointment occupies. Timed: its own instants. All-day: from midnight
/// of the first day to midnight after the last, in the appointment's zone — used for
/// ordering and window queries; the dates themselves stay the truth.
pub fn timing_bounds(timing: &Timing, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    match timing {
        Timing::Timed { start, end } => (*start, *end),
        Timing::AllDay { start, end } => (day_start(*start, tz), day_start(*end, tz)),
    }
}

/// The first instant of `date` in `tz`. A few zones skip midnight on DST days
/// (e.g. America/Santiago); then the day starts at the first wall time that exists.
pub fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    for hour in 0..=3 {
        if let Some(t) = tz
            .from_local_datetime(&(midnight + Duration::hours(hour)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&midnight)
}

/// Parses an exception's `original_start` for a series of the given kind.
pub fn parse_original_start(value: &str, all_day: bool) -> Option<InstanceKey> {
    if all_day {
        NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .ok()
            .map(InstanceKey::Date)
    } else {
        DateTime::parse_from_rfc3339(value.trim())
            .ok()
            .map(|t| InstanceKey::Instant(t.with_timezone(&Utc)))
    }
}

/// A date or date-time value of an `EXDATE`/`RDATE` line, resolved against the zones
/// that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateValue {
    Instant(DateTime<Utc>),
    Date(NaiveDate),
}

#[derive(Debug, Default)]
struct Lines {
    rrules: Vec<String>,
    exdates: Vec<DateValue>,
    rdates: Vec<DateValue>,
}

/// Checks that a rule typed by a user can be expanded from the appointment's start.
/// The error is a phrase for "The repeat rule is not valid: …".
pub fn check_lines(lines: &[String], timing: &Timing, tz: Tz) -> Result<(), String> {
    let parsed = parse_lines(lines, tz)?;
    if parsed.rrules.is_empty() {
        return Err("it needs an RRULE line, for example RRULE:FREQ=WEEKLY".into());
    }
    build_set(&parsed.rrules, timing, tz)?;
    Ok(())
}

/// The instances of a series that overlap `[from, to)`, with `EXDATE`s removed, sorted by
/// start. The series' own start always counts as its first instance (RFC 5545, and what
/// Google shows). Errors name what Bookline cannot expand; the caller keeps the series
/// and shows its first occurrence only.
pub fn expand(
    timing: &Timing,
    tz: Tz,
    lines: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Instance>, String> {
    let parsed = parse_lines(lines, tz)?;
    let set = build_set(&parsed.rrules, timing, tz)?;
    let all_day = matches!(timing, Timing::AllDay { .. });

    let mut keys: Vec<InstanceKey> = vec![first_key(timing)];
    for rdate in &parsed.rdates {
        keys.push(value_to_key(*rdate, all_day, tz));
    }
    if let Some(set) = set {
        for (walked, occurrence) in (&set).into_iter().enumerate() {
            let key = if all_day {
                InstanceKey::Date(occurrence.date_naive())
            } else {
                InstanceKey::Instant(occurrence.with_timezone(&Utc))
            };
            let instance = instance_at(timing, tz, key);
            let (start, end) = timing_bounds(&instance.timing, tz);
            if start >= to {
                break;
            }
            if end > from {
                keys.push(key);
            }
            if walked > MAX_WALKED || keys.len() > MAX_INSTANCES_PER_WINDOW {
                // A sub-daily rule over decades, or a window full of instances:
                // expanding on would stall the caller.
                return Err("the rule repeats too often for Bookline to show".into());
            }
        }
    }
    keys.sort();
    keys.dedup();
    let mut instances = Vec::new();
    for key in keys {
        if is_excluded(key, &parsed.exdates, tz) {
            continue;
        }
        let instance = instance_at(timing, tz, key);
        let (start, end) = timing_bounds(&instance.timing, tz);
        if start < to && end > from {
            instances.push(instance);
            if instances.len() > MAX_INSTANCES_PER_WINDOW {
                return Err("the rule repeats too often for Bookline to show".into());
            }
        }
    }
    Ok(instances)
}

/// When the last instance of a series ends; `None` if the rule never ends. A rule that
/// cannot be expanded ends with its first instance.
pub fn series_end(timing: &Timing, tz: Tz, lines: &[String]) -> Option<DateTime<Utc>> {
    let (first_start, first_end) = timing_bounds(timing, tz);
    let Ok(parsed) = parse_lines(lines, tz) else {
        return Some(first_end);
    };
    if build_set(&parsed.rrules, timing, tz).is_err() {
        return Some(first_end);
    }
    let endless = parsed.rrules.iter().any(|rule| {
        let upper = rule.to_ascii_uppercase();
        !upper.contains("COUNT=") && !upper.contains("UNTIL=")
    });
    if endless {
        return None;
    }
    let horizon = Utc.with_ymd_and_hms(9000, 1, 1, 0, 0, 0).single()?;
    match expand(timing, tz, lines, first_start, horizon) {
        Ok(instances) => instances
            .iter()
            .map(|i| timing_bounds(&i.timing, tz).1)
            .max()
            .or(Some(first_end)),
        Err(_) => Some(first_end),
    }
}

/// An instance's original start in the form `SeriesInstance.original_start` and Google's
/// `originalStartTime` mapping use: RFC 3339 UTC with seconds (`2026-03-23T09:00:00Z`)
/// for timed series, `YYYY-MM-DD` for all-day ones.
pub fn key_string(key: InstanceKey) -> String {
    match key {
        InstanceKey::Instant(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        InstanceKey::Date(d) => d.format("%Y-%m-%d").to_string(),
    }
}

/// The timing of the series' instance at `key` (the series' duration).
pub fn instance_timing(timing: &Timing, tz: Tz, key: InstanceKey) -> Timing {
    instance_at(timing, tz, key).timing
}

/// Whether `key` is an instance of the series (after its `EXDATE`s). Errors name what
/// Bookline cannot expand.
pub fn is_instance(
    timing: &Timing,
    tz: Tz,
    lines: &[String],
    key: InstanceKey,
) -> Result<bool, String> {
    let at = timing_bounds(&instance_at(timing, tz, key).timing, tz).0;
    let instances = expand(timing, tz, lines, at, at + Duration::seconds(1))?;
    Ok(instances.iter().any(|i| i.key == key))
}

/// How many instances the single rule `rule` (an `RRULE` value, no `EXDATE`s — what a
/// `COUNT` counts) generates before `at`.
pub fn rule_instances_before(
    timing: &Timing,
    tz: Tz,
    rule: &str,
    at: InstanceKey,
) -> Result<u64, String> {
    let all_day = matches!(timing, Timing::AllDay { .. });
    let Some(set) = build_set(&[rule.to_string()], timing, tz)? else {
        return Ok(0);
    };
    let mut n = 0u64;
    for (walked, occurrence) in (&set).into_iter().enumerate() {
        let key = if all_day {
            InstanceKey::Date(occurrence.date_naive())
        } else {
            InstanceKey::Instant(occurrence.with_timezone(&Utc))
        };
        if key >= at {
            break;
        }
        n += 1;
        if walked > MAX_WALKED {
            return Err("the rule repeats too often for Bookline to split".into());
        }
    }
    Ok(n)
}

/// The instance key an `EXDATE`/`RDATE` value stands for (`zone`: its line's `TZID`,
/// else the series' zone `tz`).
pub fn date_value_key(value: &str, zone: Tz, all_day: bool, tz: Tz) -> Option<InstanceKey> {
    parse_date_value(value, zone).map(|v| value_to_key(v, all_day, tz))
}

/// The key of a series' first instance (its own start).
pub fn first_key(timing: &Timing) -> InstanceKey {
    match timing {
        Timing::Timed { start, .. } => InstanceKey::Instant(*start),
        Timing::AllDay { start, .. } => InstanceKey::Date(*start),
    }
}

/// The instance of the series that starts at `key`, with the series' duration (an exact
/// duration for timed series, a number of days for all-day ones).
fn instance_at(timing: &Timing, tz: Tz, key: InstanceKey) -> Instance {
    let timing = match (timing, key) {
        (Timing::Timed { start, end }, InstanceKey::Instant(at)) => Timing::Timed {
            start: at,
            end: at + (*end - *start),
        },
        (Timing::AllDay { start, end }, InstanceKey::Date(day)) => Timing::AllDay {
            start: day,
            end: day + (*end - *start),
        },
        // A date key on a timed series (an RDATE;VALUE=DATE): the day at the series'
        // local start time.
        (Timing::Timed { start, end }, InstanceKey::Date(day)) => {
            let local_time = start.with_timezone(&tz).time();
            let at = tz
                .from_local_datetime(&day.and_time(local_time))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| day_start(day, tz));
            Timing::Timed {
                start: at,
                end: at + (*end - *start),
            }
        }
        (Timing::AllDay { start, end }, InstanceKey::Instant(at)) => {
            let day = at.with_timezone(&tz).date_naive();
            Timing::AllDay {
                start: day,
                end: day + (*end - *start),
            }
        }
    };
    let key = match (&timing, key) {
        (Timing::Timed { start, .. }, _) => InstanceKey::Instant(*start),
        (Timing::AllDay { start, .. }, _) => InstanceKey::Date(*start),
    };
    Instance { key, timing }
}

fn value_to_key(value: DateValue, all_day: bool, tz: Tz) -> InstanceKey {
    match (value, all_day) {
        (DateValue::Date(d), true) => InstanceKey::Date(d),
        (DateValue::Instant(t), true) => InstanceKey::Date(t.with_timezone(&tz).date_naive()),
        (DateValue::Instant(t), false) => InstanceKey::Instant(t),
        (DateValue::Date(d), false) => InstanceKey::Date(d),
    }
}

fn is_excluded(key: InstanceKey, exdates: &[DateValue], tz: Tz) -> bool {
    exdates.iter().any(|ex| match (key, ex) {
        (InstanceKey::Instant(a), DateValue::Instant(b)) => a.timestamp() == b.timestamp(),
        (InstanceKey::Date(a), DateValue::Date(b)) => a == *b,
        // Mixed forms (a date EXDATE on a timed series): compare the local day.
        (InstanceKey::Instant(a), DateValue::Date(b)) => a.with_timezone(&tz).date_naive() == *b,
        (InstanceKey::Date(a), DateValue::Instant(b)) => b.with_timezone(&tz).date_naive() == a,
    })
}

fn parse_lines(lines: &[String], tz: Tz) -> Result<Lines, String> {
    let mut parsed = Lines::default();
    for raw in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (head, value) = line
            .split_once(':')
            .ok_or_else(|| format!("\"{line}\" should start with RRULE:, EXDATE: or RDATE:"))?;
        let mut head_parts = head.split(';');
        let name = head_parts.next().unwrap_or_default().to_ascii_uppercase();
        let params: Vec<(String, String)> = head_parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().to_string()))
            .collect();
        match name.as_str() {
            "RRULE" => parsed.rrules.push(value.trim().to_string()),
            "EXDATE" => parsed
                .exdates
                .extend(parse_date_values(&name, value, &params, tz)?),
            "RDATE" => parsed
                .rdates
                .extend(parse_date_values(&name, value, &params, tz)?),
            "EXRULE" => return Err("EXRULE lines are not supported".into()),
            _ => {
                return Err(format!(
                    "\"{line}\" should start with RRULE:, EXDATE: or RDATE:"
                ))
            }
        }
    }
    Ok(parsed)
}

fn parse_date_values(
    name: &str,
    value: &str,
    params: &[(String, String)],
    series_tz: Tz,
) -> Result<Vec<DateValue>, String> {
    let mut zone = series_tz;
    for (key, val) in params {
        match key.as_str() {
            "TZID" => {
                zone = Tz::from_str(val)
                    .map_err(|_| format!("{name} names an unknown time zone \"{val}\""))?
            }
            "VALUE"
                if val.eq_ignore_ascii_case("DATE") || val.eq_ignore_ascii_case("DATE-TIME") => {}
            "VALUE" => return Err(format!("{name} values of type {val} are not supported")),
            _ => {}
        }
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| parse_date_value(v, zone).ok_or_else(|| format!("{name} has a bad date \"{v}\"")))
        .collect()
}

fn parse_date_value(value: &str, zone: Tz) -> Option<DateValue> {
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()
            .map(DateValue::Date);
    }
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(DateValue::Instant(Utc.from_utc_datetime(&naive)));
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| DateValue::Instant(t.with_timezone(&Utc)))
}

/// Builds the `rrule` set with a `DTSTART` taken from the appointment; `None` when there
/// is no `RRULE` (a series made of `RDATE`s only).
fn build_set(rrules: &[String], timing: &Timing, tz: Tz) -> Result<Option<RRuleSet>, String> {
    if rrules.is_empty() {
        return Ok(None);
    }
    let mut text = match timing {
        Timing::Timed { start, .. } => format!(
            "DTSTART;TZID={}:{}",
            tz.name(),
            start.with_timezone(&tz).format("%Y%m%dT%H%M%S")
        ),
        // All-day series expand on dates; midnight UTC is just a neutral carrier.
        Timing::AllDay { start, .. } => format!("DTSTART:{}T000000Z", start.format("%Y%m%d")),
    };
    for rule in rrules {
        text.push_str("\nRRULE:");
        text.push_str(&normalize_until(rule, timing, tz)?);
    }
    let set = RRuleSet::from_str(&text).map_err(|e| describe_rrule_error(&e.to_string()))?;
    Ok(Some(set.limit()))
}

/// The `rrule` crate insists on a UTC `UNTIL` for a zoned `DTSTART`; Google writes
/// date-only `UNTIL`s for all-day series and some clients write floating ones. Rewrite
/// those to the UTC instant they mean (inclusive, per RFC 5545).
fn normalize_until(rule: &str, timing: &Timing, tz: Tz) -> Result<String, String> {
    let all_day = matches!(timing, Timing::AllDay { .. });
    let mut parts = Vec::new();
    for part in rule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            parts.push(part.to_string());
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("UNTIL") || value.ends_with(['Z', 'z']) {
            parts.push(part.to_string());
            continue;
        }
        let bad = || format!("UNTIL has a bad date \"{value}\"");
        let until_utc = if value.len() == 8 {
            let date = NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| bad())?;
            if all_day {
                Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
            } else {
                let next = date.succ_opt().ok_or_else(bad)?;
                day_start(next, tz) - Duration::seconds(1)
            }
        } else {
            let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
            if all_day {
                Utc.from_utc_datetime(&naive)
            } else {
                tz.from_local_datetime(&naive)
                    .earliest()
                    .ok_or_else(bad)?
                    .with_timezone(&Utc)
            }
        };
        parts.push(format!("UNTIL={}", until_utc.format("%Y%m%dT%H%M%SZ")));
    }
    Ok(parts.join(";"))
}

/// The crate's messages quote its own grammar; keep the useful part, lowercase first word
/// so it reads inside "The repeat rule is not valid: …".
fn describe_rrule_error(message: &str) -> String {
    let trimmed = message.trim().trim_end_matches('.');
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => "it could not be read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Tz {
        chrono_tz::Europe::Berlin
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn weekly_timed() -> Timing {
        // Monday 2026-03-16 10:00 Berlin (CET, UTC+1).
        Timing::Timed {
            start: utc(2026, 3, 16, 9, 0),
            end: utc(2026, 3, 16, 10, 0),
        }
    }

    fn starts(instances: &[Instance]) -> Vec<DateTime<Utc>> {
        instances
            .iter()
            .map(|i| timing_bounds(&i.timing, berlin()).0)
            .collect()
    }

    #[test]
    fn weekly_series_keeps_local_time_across_dst() {
        let lines = vec!["RRULE:FREQ=WEEKLY;COUNT=4".to_string()];
        let got = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        )
        .unwrap();
        // Berlin switches to CEST on 2026-03-29: 10:00 local becomes 08:00 UTC.
        assert_eq!(
            starts(&got),
            vec![
                utc(2026, 3, 16, 9, 0),
                utc(2026, 3, 23, 9, 0),
                utc(2026, 3, 30, 8, 0),
                utc(2026, 4, 6, 8, 0)
            ]
        );
    }

    #[test]
    fn exdates_in_every_form_remove_instances() {
        for exdate in [
            "EXDATE;TZID=Europe/Berlin:20260323T100000",
            "EXDATE:20260323T090000Z",
            "EXDATE:20260323T100000",
            "EXDATE;VALUE=DATE:20260323",
        ] {
            let lines = vec!["RRULE:FREQ=WEEKLY;COUNT=3".to_string(), exdate.to_string()];
            let got = expand(
                &weekly_timed(),
                berlin(),
                &lines,
                utc(2026, 1, 1, 0, 0),
                utc(2027, 1, 1, 0, 0),
            )
            .unwrap();
            assert_eq!(
                starts(&got),
                vec![utc(2026, 3, 16, 9, 0), utc(2026, 3, 30, 8, 0)],
                "{exdate}"
            );
        }
    }

    #[test]
    fn window_is_half_open_and_overlap_based() {
        let lines = vec!["RRULE:FREQ=DAILY".to_string()];
        // The 2026-03-17 instance runs 09:00–10:00 UTC; a window starting 09:30 overlaps it.
        let got = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 3, 17, 9, 30),
            utc(2026, 3, 18, 9, 0),
        )
        .unwrap();
        assert_eq!(starts(&got), vec![utc(2026, 3, 17, 9, 0)]);
    }

    #[test]
    fn all_day_series_with_date_until_and_exdate() {
        let timing = Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
        };
        let lines = vec![
            "RRULE:FREQ=WEEKLY;UNTIL=20260323".to_string(),
            "EXDATE;VALUE=DATE:20260309".to_string(),
        ];
        let got = expand(
            &timing,
            berlin(),
            &lines,
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        )
        .unwrap();
        let keys: Vec<InstanceKey> = got.iter().map(|i| i.key).collect();
        let d = |day| InstanceKey::Date(NaiveDate::from_ymd_opt(2026, 3, day).unwrap());
        assert_eq!(keys, vec![d(2), d(16), d(23)]);
        assert_eq!(
            series_end(&timing, berlin(), &lines),
            Some(day_start(
                NaiveDate::from_ymd_opt(2026, 3, 24).unwrap(),
                berlin()
            ))
        );
    }

    #[test]
    fn rdate_adds_an_instance() {
        let lines = vec![
            "RRULE:FREQ=WEEKLY;COUNT=1".to_string(),
            "RDATE;TZID=Europe/Berlin:20260318T150000".to_string(),
        ];
        let got = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        )
        .unwrap();
        assert_eq!(
            starts(&got),
            vec![utc(2026, 3, 16, 9, 0), utc(2026, 3, 18, 14, 0)]
        );
    }

    #[test]
    fn series_end_is_none_for_endless_rules() {
        let lines = vec!["RRULE:FREQ=WEEKLY".to_string()];
        assert_eq!(series_end(&weekly_timed(), berlin(), &lines), None);
        let lines = vec!["RRULE:FREQ=WEEKLY;UNTIL=20260331T000000Z".to_string()];
        assert_eq!(
            series_end(&weekly_timed(), berlin(), &lines),
            Some(utc(2026, 3, 30, 9, 0))
        );
    }

    #[test]
    fn unexpandable_rules_are_errors_not_panics() {
        for lines in [
            vec!["RRULE:FREQ=SOMETIMES".to_string()],
            vec!["EXRULE:FREQ=DAILY".to_string()],
            vec!["X-WR-WHATEVER:1".to_string()],
            vec!["RRULE:FREQ=YEARLY;BYMONTH=13".to_string()],
            vec!["EXDATE;TZID=Nowhere/Land:20260323T100000".to_string()],
        ] {
            assert!(
                expand(
                    &weekly_timed(),
                    berlin(),
                    &lines,
                    utc(2026, 1, 1, 0, 0),
                    utc(2027, 1, 1, 0, 0)
                )
                .is_err(),
                "{lines:?}"
            );
            assert_eq!(
                series_end(&weekly_timed(), berlin(), &lines),
                Some(utc(2026, 3, 16, 10, 0))
            );
        }
    }

    #[test]
    fn a_rule_that_floods_the_window_is_reported() {
        let lines = vec!["RRULE:FREQ=MINUTELY".to_string()];
        let err = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 3, 16, 0, 0),
            utc(2026, 4, 16, 0, 0),
        )
        .unwrap_err();
        assert!(err.contains("too often"), "{err}");
        // A small window of the same rule is fine.
        let got = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 3, 16, 12, 0),
            utc(2026, 3, 16, 12, 3),
        )
        .unwrap();
        // Instances last an hour: those starting 11:01..=12:02 overlap [12:00, 12:03).
        assert_eq!(got.len(), 62);
    }

    #[test]
    fn impossible_rule_terminates() {
        // February 30th never happens; the crate's iteration limit must end the search.
        let lines = vec!["RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30".to_string()];
        let got = expand(
            &weekly_timed(),
            berlin(),
            &lines,
            utc(2026, 1, 1, 0, 0),
            utc(2030, 1, 1, 0, 0),
        );
        if let Ok(instances) = got {
            assert_eq!(starts(&instances), vec![utc(2026, 3, 16, 9, 0)]);
        }
    }

    #[test]
    fn check_lines_wants_an_rrule() {
        assert!(check_lines(
            &["RRULE:FREQ=DAILY;COUNT=2".into()],
            &weekly_timed(),
            berlin()
        )
        .is_ok());
        let err = check_lines(
            &["RDATE:20260318T150000Z".into()],
            &weekly_timed(),
            berlin(),
        )
        .unwrap_err();
        assert!(err.contains("RRULE"), "{err}");
    }

    #[test]
    fn original_start_parses_by_series_kind() {
        assert_eq!(
            parse_original_start("2026-03-23T10:00:00+01:00", false),
            Some(InstanceKey::Instant(utc(2026, 3, 23, 9, 0)))
        );
        assert_eq!(
            parse_original_start("2026-03-23", true),
            Some(InstanceKey::Date(
                NaiveDate::from_ymd_opt(2026, 3, 23).unwrap()
            ))
        );
        assert_eq!(parse_original_start("2026-03-23", false), None);
    }
}
