//! Busy times while booking: Google's `freeBusy` answer for one local day, merged, with
//! the last answer kept per calendar and day so the dialog still shows something (and
//! how old it is) offline. The overlap check is a pure function the dialog and tests use.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::Timing;

/// The sentence shown when the account did not grant the busy-times scope.
pub const RECONNECT_FOR_BUSY: &str =
    "Reconnect and allow Bookline to see when you're busy to see busy times here.";
pub const NOT_CONNECTED: &str = "Not connected to Google.";

/// The busy blocks of one day, as the booking dialog shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BusyTimes {
    /// Merged per calendar, within the local day, by start.
    pub blocks: Vec<BusyBlock>,
    /// RFC 3339: when Google answered (null when it never did for this day).
    pub fetched_at: Option<String>,
    /// Offline: this is the last known answer.
    pub stale: bool,
    /// "Offline: busy times from 12 minutes ago.", the reconnect sentence, "Not connected
    /// to Google."; null when the answer is fresh and complete.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BusyBlock {
    /// RFC 3339 UTC.
    pub start: String,
    /// RFC 3339 UTC.
    pub end: String,
    pub calendar_id: String,
    pub calendar_name: String,
}

/// A busy span, before it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `[start, end)` of local `day` in `tz` (a DST day is 23 or 25 hours long).
pub fn day_window(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&local)
            .earliest()
            // A zone that skips midnight (rare): an hour later exists.
            .or_else(|| {
                tz.from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
    };
    let next = day.succ_opt().unwrap_or(day);
    (midnight(day), midnight(next))
}

/// Sorts, clips to `[from, to)` and merges spans that overlap or touch.
pub fn merge(mut spans: Vec<Span>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
    spans.retain(|s| s.start < to && s.end > from && s.start < s.end);
    for s in &mut spans {
        s.start = s.start.max(from);
        s.end = s.end.min(to);
    }
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// `spans` without `[cut.start, cut.end)`: the appointment being edited is not busy
/// against itself.
pub fn subtract(spans: Vec<Span>, cut: Span) -> Vec<Span> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    for s in spans {
        if s.end <= cut.start || s.start >= cut.end {
            out.push(s);
            continue;
        }
        if s.start < cut.start {
            out.push(Span {
                start: s.start,
                end: cut.start,
            });
        }
        if s.end > cut.end {
            out.push(Span {
                start: cut.end,
                end: s.end,
            });
        }
    }
    out
}

/// The instants an appointment's timing covers (all-day: local midnights in `tz`).
pub fn timing_span(timing: &Timing, tz: Tz) -> Span {
    let (start, end) = crate::recurrence::timing_bounds(timing, tz);
    Span { start, end }
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The blocks the appointment at `timing` overlaps (touching is not overlapping): what
/// the dialog warns about before saving ("Overlaps Busy 10:00–11:00 in Work").
pub fn overlaps(busy: &BusyTimes, timing: &Timing, timezone: &str) -> Vec<BusyBlock> {
    let tz: Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let span = timing_span(timing, tz);
    busy.blocks
        .iter()
        .filter(|b| match (parse(&b.start), parse(&b.end)) {
            (Some(start), Some(end)) => start < span.end && end > span.start,
            _ => false,
        })
        .cloned()
        .collect()
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "just now", "1 minute ago", "12 minutes ago", "3 hours ago", "2 days ago".
pub fn age_text(age: Duration) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    let minutes = age.num_minutes();
    if minutes < 1 {
        "just now".to_owned()
    } else if minutes < 60 {
        plural(minutes, "minute")
    } else if minutes < 48 * 60 {
        plural(age.num_hours(), "hour")
    } else {
        plural(age.num_days(), "day")
    }
}

/// The sentence of a cached answer shown offline.
pub fn offline_message(fetched_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match fetched_at {
        Some(at) => format!("Offline: busy times from {}.", age_text(now - at)),
        None => "Offline: Bookline has no busy times for this day yet.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 5, h, m, 0).unwrap()
    }

    fn span(a: (u32, u32), b: (u32, u32)) -> Span {
        Span {
            start: at(a.0, a.1),
            end: at(b.0, b.1),
        }
    }

    #[test]
    fn spans_merge_when_they_overlap_or_touch_and_are_clipped() {
        let merged = merge(
            vec![
                span((13, 0), (14, 0)),
                span((9, 0), (10, 0)),
                span((10, 0), (10, 30)),
                span((9, 30), (9, 45)),
                span((22, 0), (23, 59)),
                span((3, 0), (4, 0)),
            ],
            at(8, 0),
            at(23, 0),
        );
        assert_eq!(
            merged,
            vec![
                span((9, 0), (10, 30)),
                span((13, 0), (14, 0)),
                span((22, 0), (23, 0))
            ]
        );
    }

    #[test]
    fn the_edited_appointment_is_cut_out() {
        let spans = vec![span((9, 0), (11, 0))];
        assert_eq!(
            subtract(spans.clone(), span((10, 0), (11, 0))),
            vec![span((9, 0), (10, 0))]
        );
        assert_eq!(
            subtract(spans.clone(), span((9, 30), (10, 0))),
            vec![span((9, 0), (9, 30)), span((10, 0), (11, 0))]
        );
        assert_eq!(subtract(spans.clone(), span((12, 0), (13, 0))), spans);
    }

    #[test]
    fn overlap_is_strict_and_all_day_covers_the_local_day() {
        let busy = BusyTimes {
            blocks: vec![BusyBlock {
                start: "2026-03-05T09:00:00Z".into(),
                end: "2026-03-05T10:00:00Z".into(),
                calendar_id: "work".into(),
                calendar_name: "Work".into(),
            }],
            ..BusyTimes::default()
        };
        let timed = |a, b| Timing::Timed {
            start: at(a, 0),
            end: at(b, 0),
        };
        assert_eq!(overlaps(&busy, &timed(9, 11), "UTC").len(), 1);
        assert!(overlaps(&busy, &timed(10, 11), "UTC").is_empty());
        assert!(overlaps(&busy, &timed(8, 9), "UTC").is_empty());
        let day = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        let all_day = Timing::AllDay {
            start: day,
            end: day.succ_opt().unwrap(),
        };
        assert_eq!(overlaps(&busy, &all_day, "Europe/Berlin").len(), 1);
        // In Tokyo, March 5 ends at 15:00 UTC on the 4th... and starts 15:00 UTC on the 4th.
        let next = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        let tokyo_next = Timing::AllDay {
            start: next,
            end: next.succ_opt().unwrap(),
        };
        assert!(overlaps(&busy, &tokyo_next, "Asia/Tokyo").is_empty());
    }

    #[test]
    fn a_day_window_follows_the_zone_and_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let (from, to) = day_window(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(), berlin);
        assert_eq!(rfc3339(from), "2026-03-28T23:00:00Z");
        assert_eq!(to - from, Duration::hours(23));
    }

    #[test]
    fn ages_read_as_words() {
        assert_eq!(age_text(Duration::seconds(20)), "just now");
        assert_eq!(age_text(Duration::minutes(1)), "1 minute ago");
        assert_eq!(age_text(Duration::minutes(12)), "12 minutes ago");
        assert_eq!(age_text(Duration::minutes(185)), "3 hours ago");
        assert_eq!(age_text(Duration::days(3)), "3 days ago");
        assert_eq!(
            offline_message(Some(at(10, 0)), at(10, 12)),
            "Offline: busy times from 12 minutes ago."
        );
    }
}
