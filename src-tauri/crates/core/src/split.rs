//! The pure decisions behind "This and following" and "All appointments" (pure; the
//! store applies them): where a series splits and what its two rules become, and how a
//! moved occurrence moves the whole series.
//!
//! A split at the occurrence `at` (never the first one — that is the whole series):
//! - every `RRULE` of the old series ends one second (timed) or one day (all-day) before
//!   `at`: `UNTIL=YYYYMMDDTHHMMSSZ` in UTC, or `UNTIL=YYYYMMDD` — Google's own forms; a
//!   `COUNT` is replaced by that `UNTIL`;
//! - the new series starts at `at` with the same rule; a `COUNT=n` becomes the remainder
//!   (`n` minus the rule's instances before `at`), an `UNTIL` stays;
//! - `EXDATE` and `RDATE` values go to the side they fall on (values before `at` stay
//!   with the old series, the others go to the new one), keeping their line's
//!   parameters; other lines are kept on both.
//!
//! So `expand(old) ∪ expand(new) == expand(original)` for a split that edits nothing
//! (checked against the Google emulator's independent expansion in the core tests).

use chrono::{Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::model::Timing;
use crate::recurrence::{self, InstanceKey};

/// The two rules of a split series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The old series' lines: ends before the split occurrence.
    pub old_lines: Vec<String>,
    /// The new series' lines: starts at the split occurrence.
    pub new_lines: Vec<String>,
    /// The new series' timing before any edit: the split occurrence's own timing.
    pub new_timing: Timing,
}

/// Splits the series (`timing` in `tz` with `lines`) at its occurrence `at`. Errors (a
/// phrase) when `at` is the series' first occurrence or the rule cannot be read.
pub fn split_lines(
    timing: &Timing,
    tz: Tz,
    lines: &[String],
    at: InstanceKey,
) -> Result<Split, String> {
    let all_day = matches!(timing, Timing::AllDay { .. });
    if at <= recurrence::first_key(timing) {
        return Err("the first occurrence starts the series; split at a later one".into());
    }
    let at_key_kind_ok = matches!(
        (at, all_day),
        (InstanceKey::Date(_), true) | (InstanceKey::Instant(_), false)
    );
    if !at_key_kind_ok {
        return Err("the occurrence's start does not fit the series' kind".into());
    }
    let new_timing = recurrence::instance_timing(timing, tz, at);
    let until = match at {
        InstanceKey::Instant(t) => (t - Duration::seconds(1))
            .format("%Y%m%dT%H%M%SZ")
            .to_string(),
        InstanceKey::Date(d) => (d - Duration::days(1)).format("%Y%m%d").to_string(),
    };
    let mut old_lines = Vec::new();
    let mut new_lines = Vec::new();
    for raw in lines {
        let line = raw.trim();
        let Some((head, value)) = line.split_once(':') else {
            old_lines.push(raw.clone());
            new_lines.push(raw.clone());
            continue;
        };
        let name = head
            .split(';')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match name.as_str() {
            "RRULE" => {
                let parts: Vec<&str> = value.trim().split(';').collect();
                let count = rule_part(&parts, "COUNT").and_then(|c| c.parse::<u64>().ok());
                let before = match count {
                    Some(_) => recurrence::rule_instances_before(timing, tz, value.trim(), at)?,
                    None => 0,
                };
                // Old side: ends before `at` (a COUNT that ends earlier stays as it is).
                if count.is_some_and(|n| before >= n) {
                    old_lines.push(raw.clone());
                } else {
                    old_lines.push(format!(
                        "{head}:{}",
                        replace_end(&parts, Some(format!("UNTIL={until}")))
                    ));
                }
                // New side: the remainder of a COUNT; an UNTIL stays; endless stays.
                match count {
                    Some(n) if before >= n => {}
                    Some(n) => new_lines.push(format!(
                        "{head}:{}",
                        replace_end(&parts, Some(format!("COUNT={}", n - before)))
                    )),
                    None => new_lines.push(raw.clone()),
                }
            }
            "EXDATE" | "RDATE" => {
                let zone = head
                    .split(';')
                    .skip(1)
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("TZID"))
                    .and_then(|(_, v)| v.trim().parse::<Tz>().ok())
                    .unwrap_or(tz);
                let (mut before, mut after) = (Vec::new(), Vec::new());
                for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    match recurrence::date_value_key(v, zone, all_day, tz) {
                        Some(key) if key < at => before.push(v),
                        Some(_) => after.push(v),
                        // Unreadable: keep it on both sides, as it was.
                        None => {
                            before.push(v);
                            after.push(v);
                        }
                    }
                }
                if !before.is_empty() {
                    old_lines.push(format!("{head}:{}", before.join(",")));
                }
                if !after.is_empty() {
                    new_lines.push(format!("{head}:{}", after.join(",")));
                }
            }
            _ => {
                old_lines.push(raw.clone());
                new_lines.push(raw.clone());
            }
        }
    }
    if !new_lines
        .iter()
        .any(|l| l.trim().to_ascii_uppercase().starts_with("RRULE"))
    {
        return Err("the series has no occurrences from there on".into());
    }
    Ok(Split {
        old_lines,
        new_lines,
        new_timing,
    })
}

fn rule_part<'a>(parts: &[&'a str], key: &str) -> Option<&'a str> {
    parts.iter().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// The rule parts with `COUNT`/`UNTIL` replaced by `end` (in the place of the first
/// one, else appended).
fn replace_end(parts: &[&str], end: Option<String>) -> String {
    let is_end = |p: &&str| {
        p.split_once('=').is_some_and(|(k, _)| {
            let k = k.trim();
            k.eq_ignore_ascii_case("COUNT") || k.eq_ignore_ascii_case("UNTIL")
        })
    };
    let mut out: Vec<String> = Vec::new();
    let mut end = end;
    for p in parts {
        if is_end(p) {
            if let Some(e) = end.take() {
                out.push(e);
            }
        } else if !p.trim().is_empty() {
            out.push((*p).to_string());
        }
    }
    if let Some(e) = end {
        out.push(e);
    }
    out.join(";")
}

/// The local calendar date an occurrence starts on.
pub fn local_date(timing: &Timing, tz: Tz) -> NaiveDate {
    match timing {
        Timing::Timed { start, .. } => start.with_timezone(&tz).date_naive(),
        Timing::AllDay { start, .. } => *start,
    }
}

/// How many days an occurrence moved (`before` → `after`, local dates in `tz`).
pub fn day_shift(before: &Timing, after: &Timing, tz: Tz) -> i64 {
    (local_date(after, tz) - local_date(before, tz)).num_days()
}

/// "All appointments" with a moved occurrence: the series' timing moved as the chosen
/// occurrence moved (Google's behaviour). The series' first day moves by the days the
/// occurrence moved; a timed series takes the occurrence's new local time of day and
/// duration (so a 10:00 series stays 10:00 local across DST); an all-day one its number
/// of days. `None` when the new wall time does not exist in `tz` on any day nearby.
pub fn shift_series_timing(
    series: &Timing,
    occurrence_before: &Timing,
    occurrence_after: &Timing,
    tz: Tz,
) -> Option<Timing> {
    let days = day_shift(occurrence_before, occurrence_after, tz);
    let first_day = local_date(series, tz) + Duration::days(days);
    Some(match occurrence_after {
        Timing::Timed { start, end } => {
            let time = start.with_timezone(&tz).time();
            let naive = first_day.and_time(time);
            // A wall time the DST change skips on the first day: the instant an hour on.
            let at = tz
                .from_local_datetime(&naive)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(naive + Duration::hours(1)))
                        .earliest()
                })?
                .with_timezone(&Utc);
            Timing::Timed {
                start: at,
                end: at + (*end - *start),
            }
        }
        Timing::AllDay { start, end } => Timing::AllDay {
            start: first_day,
            end: first_day + (*end - *start),
        },
    })
}

/// The rule lines with every weekly `BYDAY` weekday moved by `days` (an occurrence on
/// Monday moved to Tuesday makes a "weekly on Monday and Wednesday" rule "weekly on
/// Tuesday and Thursday"), so the moved start is still an occurrence of its rule.
/// Other rules, and whole weeks, are left as they are.
pub fn shift_weekdays(lines: &[String], days: i64) -> Vec<String> {
    let shift = days.rem_euclid(7);
    if shift == 0 {
        return lines.to_vec();
    }
    lines
        .iter()
        .map(|raw| {
            let Some((head, value)) = raw.trim().split_once(':') else {
                return raw.clone();
            };
            if !head.trim().eq_ignore_ascii_case("RRULE") {
                return raw.clone();
            }
            let parts: Vec<&str> = value.split(';').collect();
            let weekly =
                rule_part(&parts, "FREQ").is_some_and(|f| f.eq_ignore_ascii_case("WEEKLY"));
            if !weekly {
                return raw.clone();
            }
            let moved: Vec<String> = parts
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("BYDAY") => {
                        let days: Option<Vec<String>> = v
                            .split(',')
                            .map(|d| {
                                let day = weekday(d.trim())?;
                                let mut w = day;
                                for _ in 0..shift {
                                    w = w.succ();
                                }
                                Some(weekday_code(w).to_string())
                            })
                            .collect();
                        match days {
                            Some(days) => format!("{k}={}", days.join(",")),
                            // An ordinal or unknown value: leave the rule as it is.
                            None => (*p).to_string(),
                        }
                    }
                    _ => (*p).to_string(),
                })
                .collect();
            format!("{head}:{}", moved.join(";"))
        })
        .collect()
}

/// The `EXDATE` lines moved with their series (`before` → `after`, each in its own
/// zone): every excluded occurrence moves by the days the series' first day moved and
/// takes the series' new local time of day, so a deleted occurrence stays deleted when
/// the whole series moves. Timed values are written in UTC (`YYYYMMDDTHHMMSSZ`, as
/// Bookline writes them), dates as `VALUE=DATE`; other lines, values that can't be read,
/// and a series that changes between timed and all-day are left as they are.
pub fn move_exdates(
    lines: &[String],
    (before, before_tz): (&Timing, Tz),
    (after, after_tz): (&Timing, Tz),
) -> Vec<String> {
    let all_day = matches!(before, Timing::AllDay { .. });
    if all_day != matches!(after, Timing::AllDay { .. }) {
        return lines.to_vec();
    }
    let days = (local_date(after, after_tz) - local_date(before, before_tz)).num_days();
    let move_value = |value: &str, zone: Tz| -> Option<String> {
        match recurrence::date_value_key(value, zone, all_day, before_tz)? {
            InstanceKey::Date(d) => Some((d + Duration::days(days)).format("%Y%m%d").to_string()),
            InstanceKey::Instant(t) => {
                let Timing::Timed { start, .. } = after else {
                    return None;
                };
                let day = t.with_timezone(&before_tz).date_naive() + Duration::days(days);
                let naive = day.and_time(start.with_timezone(&after_tz).time());
                let at = after_tz
                    .from_local_datetime(&naive)
                    .earliest()
                    .or_else(|| {
                        after_tz
                            .from_local_datetime(&(naive + Duration::hours(1)))
                            .earliest()
                    })?;
                Some(at.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string())
            }
        }
    };
    lines
        .iter()
        .map(|raw| {
            let Some((head, value)) = raw.trim().split_once(':') else {
                return raw.clone();
            };
            let mut params = head.split(';');
            if !params
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("EXDATE"))
            {
                return raw.clone();
            }
            let zone = params
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("TZID"))
                .and_then(|(_, v)| v.trim().parse::<Tz>().ok())
                .unwrap_or(before_tz);
            let moved: Option<Vec<String>> = value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| move_value(v, zone))
                .collect();
            match moved {
                Some(values) if all_day => format!("EXDATE;VALUE=DATE:{}", values.join(",")),
                Some(values) => format!("EXDATE:{}", values.join(",")),
                None => raw.clone(),
            }
        })
        .collect()
}

/// The `EXDATE` lines of a recurrence, trimmed (to tell whether a form kept them).
pub fn exdate_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| l.to_ascii_uppercase().starts_with("EXDATE"))
        .collect()
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Whether two recurrences have the same rule: the same `RRULE` lines (ignoring
/// surrounding whitespace and the `EXDATE`/`RDATE` lines, which a form may not carry).
/// What "the user kept the repeat rule" means for Following and All.
pub fn same_rule(a: &[String], b: &[String]) -> bool {
    let rules = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| l.to_ascii_uppercase().starts_with("RRULE"))
            .collect()
    };
    rules(a) == rules(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone};

    fn berlin() -> Tz {
        chrono_tz::Europe::Berlin
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Monday 2026-03-16 10:00–11:00 Berlin (CET).
    fn weekly() -> Timing {
        Timing::Timed {
            start: utc(2026, 3, 16, 9, 0),
            end: utc(2026, 3, 16, 10, 0),
        }
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn endless_timed_rule_gets_an_utc_until_one_second_before() {
        // Split at 2026-04-06, after the DST change: 10:00 CEST is 08:00 UTC.
        let got = split_lines(
            &weekly(),
            berlin(),
            &lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO"]),
            InstanceKey::Instant(utc(2026, 4, 6, 8, 0)),
        )
        .unwrap();
        assert_eq!(
            got.old_lines,
            lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260406T075959Z"])
        );
        assert_eq!(got.new_lines, lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO"]));
        assert_eq!(
            got.new_timing,
            Timing::Timed {
                start: utc(2026, 4, 6, 8, 0),
                end: utc(2026, 4, 6, 9, 0)
            }
        );
    }

    #[test]
    fn count_is_split_into_until_and_the_remainder() {
        // 10 Mondays; the 4th (2026-04-06) starts the new series with the other 7.
        let got = split_lines(
            &weekly(),
            berlin(),
            &lines(&["RRULE:FREQ=WEEKLY;COUNT=10;INTERVAL=1"]),
            InstanceKey::Instant(utc(2026, 4, 6, 8, 0)),
        )
        .unwrap();
        assert_eq!(
            got.old_lines,
            lines(&["RRULE:FREQ=WEEKLY;UNTIL=20260406T075959Z;INTERVAL=1"])
        );
        assert_eq!(
            got.new_lines,
            lines(&["RRULE:FREQ=WEEKLY;COUNT=7;INTERVAL=1"])
        );
    }

    #[test]
    fn all_day_rule_gets_a_date_until_the_day_before_and_keeps_its_until() {
        let timing = Timing::AllDay {
            start: date(2026, 3, 2),
            end: date(2026, 3, 3),
        };
        let got = split_lines(
            &timing,
            berlin(),
            &lines(&["RRULE:FREQ=WEEKLY;UNTIL=20260330"]),
            InstanceKey::Date(date(2026, 3, 16)),
        )
        .unwrap();
        assert_eq!(got.old_lines, lines(&["RRULE:FREQ=WEEKLY;UNTIL=20260315"]));
        assert_eq!(got.new_lines, lines(&["RRULE:FREQ=WEEKLY;UNTIL=20260330"]));
        assert_eq!(
            got.new_timing,
            Timing::AllDay {
                start: date(2026, 3, 16),
                end: date(2026, 3, 17)
            }
        );
    }

    #[test]
    fn exdates_and_rdates_go_to_their_side() {
        let got = split_lines(
            &weekly(),
            berlin(),
            &lines(&[
                "RRULE:FREQ=WEEKLY",
                "EXDATE;TZID=Europe/Berlin:20260323T100000,20260413T100000",
                "EXDATE:20260420T080000Z",
                "RDATE;TZID=Europe/Berlin:20260318T150000",
            ]),
            InstanceKey::Instant(utc(2026, 4, 6, 8, 0)),
        )
        .unwrap();
        assert_eq!(
            got.old_lines,
            lines(&[
                "RRULE:FREQ=WEEKLY;UNTIL=20260406T075959Z",
                "EXDATE;TZID=Europe/Berlin:20260323T100000",
                "RDATE;TZID=Europe/Berlin:20260318T150000",
            ])
        );
        assert_eq!(
            got.new_lines,
            lines(&[
                "RRULE:FREQ=WEEKLY",
                "EXDATE;TZID=Europe/Berlin:20260413T100000",
                "EXDATE:20260420T080000Z",
            ])
        );
    }

    #[test]
    fn the_first_occurrence_cannot_split() {
        assert!(split_lines(
            &weekly(),
            berlin(),
            &lines(&["RRULE:FREQ=WEEKLY"]),
            InstanceKey::Instant(utc(2026, 3, 16, 9, 0)),
        )
        .is_err());
    }

    #[test]
    fn moving_all_keeps_local_time_across_dst() {
        // The occurrence on 2026-04-06 (10:00 CEST) moves to 11:00: the series' first
        // occurrence (2026-03-16, CET) becomes 11:00 CET, i.e. 10:00 UTC.
        let before = Timing::Timed {
            start: utc(2026, 4, 6, 8, 0),
            end: utc(2026, 4, 6, 9, 0),
        };
        let after = Timing::Timed {
            start: utc(2026, 4, 6, 9, 0),
            end: utc(2026, 4, 6, 10, 30),
        };
        assert_eq!(
            shift_series_timing(&weekly(), &before, &after, berlin()),
            Some(Timing::Timed {
                start: utc(2026, 3, 16, 10, 0),
                end: utc(2026, 3, 16, 11, 30)
            })
        );
        // Moved a day later: the first one moves a day too.
        let next_day = Timing::Timed {
            start: utc(2026, 4, 7, 8, 0),
            end: utc(2026, 4, 7, 9, 0),
        };
        assert_eq!(day_shift(&before, &next_day, berlin()), 1);
        assert_eq!(
            shift_series_timing(&weekly(), &before, &next_day, berlin()),
            Some(Timing::Timed {
                start: utc(2026, 3, 17, 9, 0),
                end: utc(2026, 3, 17, 10, 0)
            })
        );
    }

    #[test]
    fn weekdays_move_with_the_occurrence() {
        assert_eq!(
            shift_weekdays(&lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"]), 1),
            lines(&["RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"])
        );
        assert_eq!(
            shift_weekdays(&lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO"]), -1),
            lines(&["RRULE:FREQ=WEEKLY;BYDAY=SU"])
        );
        // Whole weeks, other rules and ordinals stay.
        assert!(same_rule(
            &lines(&[" RRULE:FREQ=WEEKLY;COUNT=4"]),
            &lines(&["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260323T090000Z"])
        ));
        assert!(!same_rule(
            &lines(&["RRULE:FREQ=WEEKLY;COUNT=5"]),
            &lines(&["RRULE:FREQ=WEEKLY;COUNT=4"])
        ));
        let monthly = lines(&["RRULE:FREQ=MONTHLY;BYDAY=-1FR"]);
        assert_eq!(shift_weekdays(&monthly, 1), monthly);
        let weekly = lines(&["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE:20260323T090000Z"]);
        assert_eq!(shift_weekdays(&weekly, 7), weekly);
    }

    #[test]
    fn exdates_move_with_the_series_in_local_time() {
        // Mondays 10:00 Berlin (CET) → Tuesdays 14:00; a summer EXDATE in the series'
        // zone stays 14:00 local (12:00 UTC), a winter one in UTC too (13:00 UTC).
        let before = weekly();
        let after = Timing::Timed {
            start: utc(2026, 3, 17, 13, 0),
            end: utc(2026, 3, 17, 14, 0),
        };
        let got = move_exdates(
            &lines(&[
                "RRULE:FREQ=WEEKLY;BYDAY=MO",
                "EXDATE;TZID=Europe/Berlin:20260406T100000",
                "EXDATE:20260323T090000Z,20260330T080000Z",
            ]),
            (&before, berlin()),
            (&after, berlin()),
        );
        assert_eq!(
            got,
            lines(&[
                "RRULE:FREQ=WEEKLY;BYDAY=MO",
                "EXDATE:20260407T120000Z",
                "EXDATE:20260324T130000Z,20260331T120000Z",
            ])
        );
    }

    #[test]
    fn all_day_exdates_move_by_days_and_a_change_of_kind_keeps_them() {
        let before = Timing::AllDay {
            start: date(2026, 3, 16),
            end: date(2026, 3, 17),
        };
        let after = Timing::AllDay {
            start: date(2026, 3, 18),
            end: date(2026, 3, 19),
        };
        let exdates = lines(&["RRULE:FREQ=WEEKLY", "EXDATE;VALUE=DATE:20260323,20260330"]);
        assert_eq!(
            move_exdates(&exdates, (&before, berlin()), (&after, berlin())),
            lines(&["RRULE:FREQ=WEEKLY", "EXDATE;VALUE=DATE:20260325,20260401"])
        );
        assert_eq!(
            move_exdates(&exdates, (&before, berlin()), (&weekly(), berlin())),
            exdates
        );
    }
}
