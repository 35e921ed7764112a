//! Turning what a person types (CLI flags, dialog fields) into domain values, and the
//! JSON shape the CLI prints (spec §5).
//!
//! Accepted times:
//! - RFC 3339 with an offset (`2026-03-02T10:00:00+01:00`, `…Z`): that exact instant.
//! - `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD HH:MM[:SS]`: a wall-clock time in the
//!   appointment's time zone. A time that does not exist (the hour skipped when clocks
//!   jump forward) is refused with a sentence saying so; a time that exists twice (the
//!   hour repeated when clocks go back) means the *earlier* one, as Google Calendar does.
//! - `YYYY-MM-DD` for all-day appointments. The end date is exclusive like Google's
//!   (`--start 2026-05-03 --end 2026-05-04` is one day), and an end equal to the start
//!   also means that single day, because that is what people type for a one-day event.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{
    Appointment, Booking, LeadResponse, MeetState, Occurrence, Origin, Recurrence, Status,
    SyncState, Timing,
};
use crate::validation::{self, ChangeSource, ValidationError};

/// Builds a validated `Timing` from strings (see the module docs for the formats).
pub fn parse_timing(
    start: &str,
    end: &str,
    all_day: bool,
    timezone: &str,
) -> Result<Timing, ValidationError> {
    let tz = validation::validate_timezone(timezone)?;
    let timing = if all_day {
        let start = parse_date(start, "start date")?;
        let mut end = parse_date(end, "end date")?;
        if end == start {
            end = start
                .succ_opt()
                .ok_or_else(|| ValidationError::new("end date", "The end date is out of range."))?;
        }
        Timing::AllDay { start, end }
    } else {
        let start = parse_instant(start, tz, "start")?;
        let end = parse_instant(end, tz, "end")?;
        Timing::Timed { start, end }
    };
    validation::validate_timing(&timing, ChangeSource::User)?;
    Ok(timing)
}

/// A `YYYY-MM-DD` date, year 1900–2200.
pub fn parse_date(value: &str, field: &'static str) -> Result<NaiveDate, ValidationError> {
    let value = value.trim();
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            field,
            format!("The {field} \"{value}\" is not a date; write it as YYYY-MM-DD, for example 2026-05-03."),
        )
    })?;
    validation::validate_user_date(field, date)?;
    Ok(date)
}

/// An instant: RFC 3339 with offset, or a wall-clock time in `tz`.
pub fn parse_instant(
    value: &str,
    tz: Tz,
    field: &'static str,
) -> Result<DateTime<Utc>, ValidationError> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        let t = t.with_timezone(&Utc);
        validation::validate_user_instant(field, t)?;
        return Ok(t);
    }
    let naive = parse_wall_time(value).ok_or_else(|| {
        let hint = if NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
            " Add a time (YYYY-MM-DD HH:MM) or make it an all-day appointment."
        } else {
            ""
        };
        ValidationError::new(
            field,
            format!(
                "The {field} \"{value}\" is not a date and time; write it as YYYY-MM-DD HH:MM, for example 2026-05-03 14:30.{hint}"
            ),
        )
    })?;
    validation::validate_user_date(field, naive.date())?;
    resolve_wall_time(naive, tz, field)
}

/// A window bound for `appointments list --from/--to`: a date (its midnight in `tz`) or
/// any form `parse_instant` takes.
pub fn parse_window_bound(
    value: &str,
    tz: Tz,
    field: &'static str,
) -> Result<DateTime<Utc>, ValidationError> {
    match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        Ok(date) => {
            validation::validate_user_date(field, date)?;
            Ok(crate::recurrence::day_start(date, tz))
        }
        Err(_) => parse_instant(value, tz, field),
    }
}

fn parse_wall_time(value: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
}

/// Wall time → instant in `tz`: a skipped time is an error, a repeated one the earlier.
pub fn resolve_wall_time(
    naive: NaiveDateTime,
    tz: Tz,
    field: &'static str,
) -> Result<DateTime<Utc>, ValidationError> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => {
            // Find where the gap ends so the message can suggest a real time.
            let after = (1..=180)
                .map(|m| naive + Duration::minutes(m))
                .find_map(|n| tz.from_local_datetime(&n).earliest());
            let suggestion = after
                .map(|t| format!(" The first valid time after it is {}.", t.format("%H:%M")))
                .unwrap_or_default();
            Err(ValidationError::new(
                field,
                format!(
                    "{} does not exist in {} because the clocks jump forward then.{suggestion}",
                    naive.format("%Y-%m-%d %H:%M"),
                    tz.name()
                ),
            ))
        }
    }
}

/// `--rrule` as typed: `FREQ=WEEKLY;BYDAY=MO` or full lines (`RRULE:…`, `EXDATE…`),
/// several separated by newlines. Empty means "no recurrence".
pub fn parse_recurrence_arg(value: &str) -> Option<Recurrence> {
    let lines: Vec<String> = value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let upper = l.to_ascii_uppercase();
            if ["RRULE:", "EXDATE", "RDATE", "EXRULE:"]
                .iter()
                .any(|p| upper.starts_with(p))
            {
                l.to_string()
            } else {
                format!("RRULE:{l}")
            }
        })
        .collect();
    (!lines.is_empty()).then_some(Recurrence { lines })
}

/// One appointment (or occurrence) as `appointments list --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentJson {
    pub id: String,
    /// For an occurrence of a recurring series (and a moved instance): the series' id.
    pub series_id: Option<String>,
    pub title: String,
    /// RFC 3339 with the offset of `timezone` for timed appointments; `YYYY-MM-DD` for
    /// all-day ones.
    pub start: String,
    /// Like `start`; for all-day appointments the day after the last day (exclusive).
    pub end: String,
    pub all_day: bool,
    pub timezone: String,
    pub origin: Origin,
    pub status: Status,
    pub location: String,
    pub notes: String,
    pub lead_name: String,
    pub lead_email: String,
    pub lead_phone: String,
    pub google_event_id: Option<String>,
    /// `not_connected`, `not_synced`, `pending`, `synced` or `error`.
    pub sync_state: String,
    /// The reason when `sync_state` is `error`.
    pub sync_error: Option<String>,
    /// The series' `RRULE:` line(s), newline-separated; null if not recurring.
    pub rrule: Option<String>,
    /// Every recurrence line verbatim (RRULE, EXDATE, RDATE).
    pub recurrence: Option<Vec<String>>,
    /// For an occurrence of a series (generated or moved/edited) and a moved/edited
    /// instance: the start it has in the series without exceptions (RFC 3339 UTC for
    /// timed series, `YYYY-MM-DD` for all-day ones); what `--occurrence` takes.
    pub original_start: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Google's Meet link, or null.
    pub meet_link: Option<String>,
    /// The Meet link's state (`{"state": "failed", "message": …}` and so on).
    pub meet: MeetState,
    /// `needsAction`, `accepted`, `declined`, `tentative`; null when the lead wasn't invited.
    pub lead_response: Option<LeadResponse>,
}

impl AppointmentJson {
    /// The same item with the appointment's booking (Meet link, the lead's answer).
    pub fn with_booking(mut self, booking: &Booking) -> Self {
        self.meet_link = booking.meet.link().map(str::to_owned);
        self.meet = booking.meet.clone();
        self.lead_response = booking.lead_response;
        self
    }

    pub fn from_appointment(
        appointment: &Appointment,
        sync_state: &SyncState,
        google_event_id: Option<&str>,
    ) -> Self {
        let (start, end) = format_timing(&appointment.timing, &appointment.timezone);
        let (sync_state, sync_error) = sync_state_parts(sync_state);
        let rrule_lines: Vec<&str> = appointment
            .recurrence
            .iter()
            .flat_map(|r| r.lines.iter())
            .map(String::as_str)
            .filter(|l| l.to_ascii_uppercase().starts_with("RRULE"))
            .collect();
        Self {
            id: appointment.id.clone(),
            series_id: appointment
                .instance_of
                .as_ref()
                .map(|i| i.series_id.clone()),
            title: appointment.title.clone(),
            start,
            end,
            all_day: matches!(appointment.timing, Timing::AllDay { .. }),
            timezone: appointment.timezone.clone(),
            origin: appointment.origin,
            status: appointment.status,
            location: appointment.location.clone(),
            notes: appointment.notes.clone(),
            lead_name: appointment.lead.name.clone(),
            lead_email: appointment.lead.email.clone(),
            lead_phone: appointment.lead.phone.clone(),
            google_event_id: google_event_id.map(str::to_string),
            sync_state,
            sync_error,
            rrule: (!rrule_lines.is_empty()).then(|| rrule_lines.join("\n")),
            recurrence: appointment.recurrence.as_ref().map(|r| r.lines.clone()),
            original_start: appointment
                .instance_of
                .as_ref()
                .map(|i| i.original_start.clone()),
            created_at: appointment
                .created_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            updated_at: appointment
                .updated_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            meet_link: None,
            meet: MeetState::None,
            lead_response: None,
        }
    }

    /// An occurrence in a `--from/--to` window. `source` is the appointment it came from:
    /// the series for a generated instance, the instance's own row for a moved one, the
    /// appointment itself for a single one. Title, times and status are the occurrence's.
    pub fn from_occurrence(
        occurrence: &Occurrence,
        source: &Appointment,
        sync_state: &SyncState,
        google_event_id: Option<&str>,
    ) -> Self {
        let mut json = Self::from_appointment(source, sync_state, google_event_id);
        let (start, end) = format_timing(&occurrence.timing, &occurrence.timezone);
        json.id = occurrence.appointment_id.clone();
        json.series_id = occurrence.series_id.clone();
        json.title = occurrence.title.clone();
        json.start = start;
        json.end = end;
        json.all_day = matches!(occurrence.timing, Timing::AllDay { .. });
        json.timezone = occurrence.timezone.clone();
        json.status = occurrence.status;
        json.origin = occurrence.origin;
        json.original_start = occurrence.original_start.clone();
        json
    }
}

/// `(start, end)` as spec §5 prints them. An unknown zone (impossible after validation)
/// falls back to UTC rather than failing a listing.
pub fn format_timing(timing: &Timing, timezone: &str) -> (String, String) {
    match timing {
        Timing::Timed { start, end } => {
            let tz: Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
            (rfc3339_in(*start, tz), rfc3339_in(*end, tz))
        }
        Timing::AllDay { start, end } => (
            start.format("%Y-%m-%d").to_string(),
            end.format("%Y-%m-%d").to_string(),
        ),
    }
}

/// RFC 3339 with the zone's offset. Offsets are whole minutes in RFC 3339; the few
/// historical ones with seconds (local mean time before ~1920) print in UTC instead of
/// silently shifting the instant.
fn rfc3339_in(t: DateTime<Utc>, tz: Tz) -> String {
    use chrono::Offset;
    let local = t.with_timezone(&tz);
    if local.offset().fix().local_minus_utc() % 60 == 0 {
        local.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    } else {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }
}

fn sync_state_parts(state: &SyncState) -> (String, Option<String>) {
    let name = match state {
        SyncState::NotConnected => "not_connected",
        SyncState::NotSynced => "not_synced",
        SyncState::Pending => "pending",
        SyncState::Synced => "synced",
        SyncState::Error { .. } => "error",
    };
    let error = match state {
        SyncState::Error { message } => Some(message.clone()),
        _ => None,
    };
    (name.to_string(), error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Lead, SeriesInstance};

    fn berlin() -> &'static str {
        "Europe/Berlin"
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn wall_times_are_read_in_the_zone() {
        let t = parse_timing("2026-03-02 10:00", "2026-03-02T11:30", false, berlin()).unwrap();
        assert_eq!(
            t,
            Timing::Timed {
                start: utc(2026, 3, 2, 9, 0),
                end: utc(2026, 3, 2, 10, 30)
            }
        );
        let t = parse_timing(
            "2026-07-02T10:00:00+02:00",
            "2026-07-02 11:00:30",
            false,
            berlin(),
        )
        .unwrap();
        assert_eq!(
            t,
            Timing::Timed {
                start: utc(2026, 7, 2, 8, 0),
                end: Utc.with_ymd_and_hms(2026, 7, 2, 9, 0, 30).unwrap()
            }
        );
    }

    #[test]
    fn dst_gap_is_refused_and_overlap_takes_the_earlier_instant() {
        let err =
            parse_timing("2026-03-29 02:30", "2026-03-29 04:00", false, berlin()).unwrap_err();
        assert_eq!(err.field, "start");
        assert!(err.message.contains("does not exist"), "{}", err.message);
        assert!(err.message.contains("03:00"), "{}", err.message);
        // 02:30 happens twice on 2026-10-25 in Berlin: first at 00:30Z (CEST).
        let t = parse_timing("2026-10-25 02:30", "2026-10-25 04:00", false, berlin()).unwrap();
        assert_eq!(
            t,
            Timing::Timed {
                start: utc(2026, 10, 25, 0, 30),
                end: utc(2026, 10, 25, 3, 0)
            }
        );
    }

    #[test]
    fn all_day_end_is_exclusive_and_equal_end_means_one_day() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 5, day).unwrap();
        let one = Timing::AllDay {
            start: d(3),
            end: d(4),
        };
        assert_eq!(
            parse_timing("2026-05-03", "2026-05-04", true, "UTC").unwrap(),
            one
        );
        assert_eq!(
            parse_timing("2026-05-03", "2026-05-03", true, "UTC").unwrap(),
            one
        );
        let err = parse_timing("2026-05-03", "2026-05-02", true, "UTC").unwrap_err();
        assert_eq!(err.field, "end date");
        let err = parse_timing("2026-05-03 10:00", "2026-05-04", true, "UTC").unwrap_err();
        assert_eq!(err.field, "start date");
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let cases = [
            ("tomorrow", "2026-03-02 11:00", false, berlin(), "start"),
            (
                "2026-03-02 10:00",
                "2026-03-02 09:00",
                false,
                berlin(),
                "end",
            ),
            (
                "2026-03-02 10:00",
                "2026-03-02 11:00",
                false,
                "Berlin",
                "time zone",
            ),
            ("2026-03-02", "2026-03-02 11:00", false, berlin(), "start"),
            (
                "1800-03-02 10:00",
                "1800-03-02 11:00",
                false,
                berlin(),
                "start",
            ),
            ("2026-03-02", "2301-03-02", true, berlin(), "end date"),
        ];
        for (start, end, all_day, tz, field) in cases {
            let err = parse_timing(start, end, all_day, tz).unwrap_err();
            assert_eq!(err.field, field, "{start} {end}: {}", err.message);
        }
        let err = parse_timing("2026-03-02", "2026-03-02 11:00", false, berlin()).unwrap_err();
        assert!(err.message.contains("all-day"), "{}", err.message);
    }

    #[test]
    fn recurrence_arg_accepts_bare_rules_and_lines() {
        assert_eq!(parse_recurrence_arg("  "), None);
        assert_eq!(
            parse_recurrence_arg("FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260309T090000Z")
                .unwrap()
                .lines,
            vec!["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE:20260309T090000Z"]
        );
    }

    fn appointment(timing: Timing) -> Appointment {
        Appointment {
            id: "0190a0a0-0000-7000-8000-000000000001".into(),
            title: "Weekly check-in".into(),
            timing,
            timezone: berlin().into(),
            location: "Call".into(),
            notes: "".into(),
            lead: Lead {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                phone: "".into(),
            },
            status: Status::Booked,
            origin: Origin::Crm,
            recurrence: Some(Recurrence {
                lines: vec!["RRULE:FREQ=WEEKLY".into(), "EXDATE:20260309T090000Z".into()],
            }),
            instance_of: None,
            created_at: utc(2026, 1, 1, 0, 0),
            updated_at: utc(2026, 1, 1, 0, 0),
        }
    }

    #[test]
    fn json_prints_offsets_in_the_appointment_zone_and_dates_for_all_day() {
        let a = appointment(Timing::Timed {
            start: utc(2026, 3, 2, 9, 0),
            end: utc(2026, 3, 2, 10, 0),
        });
        let json = AppointmentJson::from_appointment(&a, &SyncState::NotConnected, None);
        assert_eq!(json.start, "2026-03-02T10:00:00+01:00");
        assert_eq!(json.end, "2026-03-02T11:00:00+01:00");
        assert_eq!(json.rrule.as_deref(), Some("RRULE:FREQ=WEEKLY"));
        assert_eq!(json.sync_state, "not_connected");
        let value = serde_json::to_value(&json).unwrap();
        for key in [
            "id",
            "title",
            "start",
            "end",
            "all_day",
            "timezone",
            "origin",
            "google_event_id",
            "sync_state",
            "rrule",
            "series_id",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["origin"], "crm");
        assert_eq!(value["google_event_id"], serde_json::Value::Null);

        let mut moved = appointment(Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
        });
        moved.recurrence = None;
        moved.instance_of = Some(SeriesInstance {
            series_id: "series".into(),
            original_start: "2026-05-02".into(),
        });
        let json = AppointmentJson::from_appointment(
            &moved,
            &SyncState::Error {
                message: "Google said no".into(),
            },
            Some("abc"),
        );
        assert_eq!(
            (json.start.as_str(), json.end.as_str()),
            ("2026-05-03", "2026-05-04")
        );
        assert!(json.all_day);
        assert_eq!(json.series_id.as_deref(), Some("series"));
        assert_eq!(json.rrule, None);
        assert_eq!(json.sync_error.as_deref(), Some("Google said no"));
    }

    #[test]
    fn occurrence_json_uses_the_occurrence_times() {
        let a = appointment(Timing::Timed {
            start: utc(2026, 3, 2, 9, 0),
            end: utc(2026, 3, 2, 10, 0),
        });
        let occurrence = Occurrence {
            appointment_id: a.id.clone(),
            series_id: Some(a.id.clone()),
            title: a.title.clone(),
            timing: Timing::Timed {
                start: utc(2026, 4, 6, 8, 0),
                end: utc(2026, 4, 6, 9, 0),
            },
            timezone: a.timezone.clone(),
            status: Status::Booked,
            origin: Origin::Crm,
            original_start: Some("2026-04-06T08:00:00Z".into()),
            meet_link: None,
            lead_response: None,
        };
        let json =
            AppointmentJson::from_occurrence(&occurrence, &a, &SyncState::NotConnected, None);
        assert_eq!(json.start, "2026-04-06T10:00:00+02:00");
        assert_eq!(json.original_start.as_deref(), Some("2026-04-06T08:00:00Z"));
        assert_eq!(json.series_id.as_deref(), Some(a.id.as_str()));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const ZONES: [&str; 6] = [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
        ];

        fn wall_time() -> impl Strategy<Value = NaiveDateTime> {
            (1900i32..=2199, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60).prop_map(
                |(y, mo, d, h, mi)| {
                    NaiveDate::from_ymd_opt(y, mo, d)
                        .and_then(|date| date.and_hms_opt(h, mi, 0))
                        .expect("components are in range")
                },
            )
        }

        proptest! {
            /// A wall time either resolves to an instant that shows the same wall time
            /// in the zone, or is refused as a DST gap; never anything else.
            #[test]
            fn wall_times_round_trip_or_name_the_gap(
                start in wall_time(),
                minutes in 1i64..(60 * 24 * 3),
                zone in prop::sample::select(ZONES.to_vec()),
            ) {
                let end = start + Duration::minutes(minutes);
                let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
                let tz: Tz = zone.parse().unwrap();
                match parse_timing(&fmt(start), &fmt(end), false, zone) {
                    Ok(Timing::Timed { start: s, end: e }) => {
                        prop_assert_eq!(s.with_timezone(&tz).naive_local(), start);
                        prop_assert_eq!(e.with_timezone(&tz).naive_local(), end);
                        // What the CLI prints parses back to the same instants.
                        let (ps, pe) = format_timing(&Timing::Timed { start: s, end: e }, zone);
                        prop_assert_eq!(
                            parse_timing(&ps, &pe, false, zone).unwrap(),
                            Timing::Timed { start: s, end: e }
                        );
                    }
                    Ok(other) => prop_assert!(false, "unexpected timing {:?}", other),
                    Err(err) => {
                        let gap = tz.from_local_datetime(&start).single().is_none()
                            || tz.from_local_datetime(&end).single().is_none();
                        let reversed = tz.from_local_datetime(&end).earliest()
                            <= tz.from_local_datetime(&start).earliest();
                        prop_assert!(
                            gap || reversed || end.year() > MAX_YEAR,
                            "{} {}: {}", start, end, err.message
                        );
                    }
                }
            }

            #[test]
            fn all_day_dates_round_trip(
                start in wall_time(),
                days in 0i64..400,
                zone in prop::sample::select(ZONES.to_vec()),
            ) {
                let start = start.date();
                let end = start + Duration::days(days);
                let fmt = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
                let result = parse_timing(&fmt(start), &fmt(end), true, zone);
                if end.year() > MAX_YEAR {
                    prop_assert_eq!(result.unwrap_err().field, "end date");
                } else {
                    let timing = result.unwrap();
                    let expected_end = if days == 0 { start + Duration::days(1) } else { end };
                    prop_assert_eq!(
                        &timing,
                        &Timing::AllDay { start, end: expected_end }
                    );
                    let (ps, pe) = format_timing(&timing, zone);
                    prop_assert_eq!(parse_timing(&ps, &pe, true, zone).unwrap(), timing);
                }
            }
        }

        const MAX_YEAR: i32 = crate::validation::MAX_USER_YEAR;
        use chrono::Datelike;
    }
}
