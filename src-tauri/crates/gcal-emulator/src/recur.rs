//! Expansion of RRULE/RDATE/EXDATE into occurrences, for `singleEvents` and `instances`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rrule::{RRule, Tz as RTz, Unvalidated};

/// Safety cap on occurrences produced for one series in one request.
pub const MAX_INSTANCES: usize = 2000;

/// The start of a series: a wall-clock instant in a zone, or a date for all-day series.
#[derive(Debug, Clone, Copy)]
pub enum SeriesStart {
    Timed { ms: i64, tz: chrono_tz::Tz },
    AllDay(NaiveDate),
}

/// One occurrence: its start instant (all-day: the date, at midnight UTC in `ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occ {
    pub ms: i64,
    pub date: Option<NaiveDate>,
}

fn fix_until(rule: &str, all_day: bool) -> String {
    // Google accepts UNTIL as a date (all-day series) or local time; the rrule crate wants
    // UTC, so widen a date to the end of that day and read local times as UTC.
    rule.split(';')
        .map(|part| {
            if let Some(v) = part.strip_prefix("UNTIL=") {
                if v.len() == 8 {
                    return format!("UNTIL={v}T235959Z");
                }
                if !v.ends_with('Z') {
                    return format!("UNTIL={v}Z");
                }
                let _ = all_day;
            }
            part.to_string()
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Parses the values of an RDATE/EXDATE line into instants (ms) or dates.
fn parse_date_list(line: &str, tz: chrono_tz::Tz) -> Vec<Occ> {
    let Some((params, values)) = line.split_once(':') else {
        return Vec::new();
    };
    let line_tz = params
        .split(';')
        .find_map(|p| p.strip_prefix("TZID="))
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(tz);
    values
        .split(',')
        .filter_map(|v| {
            let v = v.trim();
            if v.len() == 8 {
                let d = NaiveDate::parse_from_str(v, "%Y%m%d").ok()?;
                let ms = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
                return Some(Occ { ms, date: Some(d) });
            }
            if let Some(u) = v.strip_suffix('Z') {
                let n = NaiveDateTime::parse_from_str(u, "%Y%m%dT%H%M%S").ok()?;
                return Some(Occ {
                    ms: n.and_utc().timestamp_millis(),
                    date: Some(n.date()),
                });
            }
            let n = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?;
            let t = line_tz.from_local_datetime(&n).earliest()?;
            Some(Occ {
                ms: t.timestamp_millis(),
                date: Some(n.date()),
            })
        })
        .collect()
}

/// Checks recurrence lines the way Google does on write: known properties, parseable rules.
pub fn validate(lines: &[String], start: SeriesStart) -> Result<(), String> {
    for l in lines {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("RRULE:") {
            rule_set(&l[6..], start).map_err(|e| format!("Invalid recurrence rule: {e}"))?;
        } else if !(upper.starts_with("EXDATE")
            || upper.starts_with("RDATE")
            || upper.starts_with("EXRULE:"))
        {
            return Err(format!("Invalid recurrence rule: {l}"));
        }
    }
    Ok(())
}

fn rule_set(rule: &str, start: SeriesStart) -> Result<rrule::RRuleSet, String> {
    let all_day = matches!(start, SeriesStart::AllDay(_));
    let parsed: RRule<Unvalidated> = fix_until(rule, all_day)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let dt: DateTime<RTz> = match start {
        SeriesStart::Timed { ms, tz } => {
            let utc = Utc.timestamp_millis_opt(ms).single().ok_or("bad start")?;
            utc.with_timezone(&RTz::from(tz))
        }
        SeriesStart::AllDay(d) => {
            let n = d.and_hms_opt(0, 0, 0).ok_or("bad start")?;
            RTz::UTC.from_utc_datetime(&n)
        }
    };
    parsed.build(dt).map_err(|e| format!("{e}"))
}

/// Occurrences of a series whose start lies in `[from_ms, to_ms)`, sorted, at most `limit`.
/// For all-day series the bounds compare against midnight UTC of each date.
pub fn expand(
    lines: &[String],
    start: SeriesStart,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
) -> Vec<Occ> {
    let tz = match start {
        SeriesStart::Timed { tz, .. } => tz,
        SeriesStart::AllDay(_) => chrono_tz::UTC,
    };
    let mut out: Vec<Occ> = Vec::new();
    let mut exdates: Vec<Occ> = Vec::new();
    let to_rtz = |ms: i64| -> Option<DateTime<RTz>> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(|u| u.with_timezone(&RTz::UTC))
    };
    for l in lines {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("RRULE:") {
            let Ok(set) = rule_set(&l[6..], start) else {
                continue;
            };
            let mut set = set;
            if let Some(a) = to_rtz(from_ms.saturating_sub(1)) {
                set = set.after(a);
            }
            if let Some(b) = to_rtz(to_ms.saturating_sub(1)) {
                set = set.before(b);
            }
            let lim = u16::try_from(limit.min(MAX_INSTANCES)).unwrap_or(u16::MAX);
            for d in set.all(lim).dates {
                let ms = d.timestamp_millis();
                let date = match start {
                    SeriesStart::AllDay(_) => Some(d.date_naive()),
                    SeriesStart::Timed { .. } => None,
                };
                out.push(Occ { ms, date });
            }
        } else if upper.starts_with("RDATE") {
            for o in parse_date_list(l, tz) {
                if o.ms >= from_ms && o.ms < to_ms {
                    out.push(match start {
                        SeriesStart::AllDay(_) => o,
                        SeriesStart::Timed { .. } => Occ {
                            ms: o.ms,
                            date: None,
                        },
                    });
                }
            }
        } else if upper.starts_with("EXDATE") {
            exdates.extend(parse_date_list(l, tz));
        }
    }
    // The first instance is always the series start itself (RFC 5545), rule match or not.
    let first = match start {
        SeriesStart::Timed { ms, .. } => Occ { ms, date: None },
        SeriesStart::AllDay(d) => Occ {
            ms: d
                .and_hms_opt(0, 0, 0)
                .map(|n| n.and_utc().timestamp_millis())
                .unwrap_or(0),
            date: Some(d),
        },
    };
    if first.ms >= from_ms && first.ms < to_ms {
        out.push(first);
    }
    out.sort_by_key(|o| o.ms);
    out.dedup_by_key(|o| o.ms);
    out.retain(|o| {
        !exdates.iter().any(|x| match (o.date, x.date) {
            (Some(a), Some(b)) if matches!(start, SeriesStart::AllDay(_)) => a == b,
            _ => x.ms == o.ms,
        })
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_timed_and_monthly_all_day() {
        let start = SeriesStart::Timed {
            ms: 1_894_005_000_000,
            tz: chrono_tz::Europe::Berlin,
        };
        let lines = vec!["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5".to_string()];
        assert_eq!(validate(&lines, start), Ok(()));
        let occ = expand(&lines, start, i64::MIN / 4, i64::MAX / 4, 100);
        assert_eq!(occ.len(), 5, "{occ:?}");
        let d = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        let lines = vec![
            "RRULE:FREQ=MONTHLY;UNTIL=20300601".to_string(),
            "EXDATE;VALUE=DATE:20300301".to_string(),
        ];
        assert_eq!(validate(&lines, SeriesStart::AllDay(d)), Ok(()));
        assert_eq!(
            expand(&lines, SeriesStart::AllDay(d), 0, i64::MAX / 4, 100).len(),
            5
        );
    }
}
