//! "This appointment / This and following / All appointments" in the store: exceptions,
//! splits and series edits of recurring appointments, on a real SQLite file.

use bookline_core::model::{
    Appointment, AppointmentInput, Lead, Occurrence, OccurrenceScope, Recurrence, Status, Timing,
};
use bookline_core::store::{ChangeSource, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use tempfile::TempDir;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bookline.sqlite3")).unwrap();
    (dir, store)
}

/// "Pipeline review", Mondays 10:00–11:00 Berlin from 2026-03-16 (CET; CEST from the
/// 29th, the last Sunday of March), `rule`.
fn weekly(s: &Store, rule: &str) -> Appointment {
    s.create_appointment(
        AppointmentInput {
            title: "Pipeline review".into(),
            timing: Timing::Timed {
                start: utc(2026, 3, 16, 9, 0),
                end: utc(2026, 3, 16, 10, 0),
            },
            timezone: "Europe/Berlin".into(),
            location: "Room 1".into(),
            notes: String::new(),
            lead: Lead::default(),
            status: Status::Booked,
            recurrence: Some(Recurrence {
                lines: vec![format!("RRULE:{rule}")],
            }),
        },
        bookline_core::model::Origin::Crm,
        ChangeSource::User,
    )
    .unwrap()
}

fn input_of(a: &Appointment, timing: Timing) -> AppointmentInput {
    AppointmentInput {
        title: a.title.clone(),
        timing,
        timezone: a.timezone.clone(),
        location: a.location.clone(),
        notes: a.notes.clone(),
        lead: a.lead.clone(),
        status: a.status,
        recurrence: None,
    }
}

fn hour(start: DateTime<Utc>) -> Timing {
    Timing::Timed {
        start,
        end: start + Duration::hours(1),
    }
}

fn window(s: &Store) -> Vec<Occurrence> {
    s.occurrences(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0))
        .unwrap()
}

fn starts(occurrences: &[Occurrence]) -> Vec<DateTime<Utc>> {
    occurrences
        .iter()
        .map(|o| match o.timing {
            Timing::Timed { start, .. } => start,
            Timing::AllDay { .. } => panic!("all-day"),
        })
        .collect()
}

fn lines(a: &Appointment) -> Vec<String> {
    a.recurrence.clone().unwrap().lines
}

fn get(s: &Store, id: &str) -> Appointment {
    s.get_appointment(id).unwrap().unwrap()
}

/// Every row, for "nothing changed".
fn snapshot(s: &Store) -> (Vec<Appointment>, u64) {
    let page = s
        .list_appointments(
            &bookline_core::model::ListQuery {
                period: bookline_core::model::Period::All,
                limit: 500,
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    (
        page.rows.into_iter().map(|r| r.appointment).collect(),
        s.pending_outbox_count().unwrap(),
    )
}

#[test]
fn occurrences_name_their_original_start() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=3");
    let occ = window(&s);
    let originals: Vec<_> = occ.iter().map(|o| o.original_start.clone()).collect();
    assert_eq!(
        originals,
        vec![
            Some("2026-03-16T09:00:00Z".to_string()),
            Some("2026-03-23T09:00:00Z".to_string()),
            Some("2026-03-30T08:00:00Z".to_string()),
        ]
    );
    // A moved occurrence keeps naming where it came from; a single one names nothing.
    let moved = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T10:00:00+01:00",
            input_of(&series, hour(utc(2026, 3, 24, 15, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    let single = s
        .create_appointment(
            input_of(&series, hour(utc(2026, 3, 25, 9, 0))),
            bookline_core::model::Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    let occ = window(&s);
    let row = |id: &str| occ.iter().find(|o| o.appointment_id == id).unwrap();
    assert_eq!(
        row(&moved.id).original_start.as_deref(),
        Some("2026-03-23T09:00:00Z")
    );
    assert_eq!(
        row(&moved.id).series_id.as_deref(),
        Some(series.id.as_str())
    );
    assert_eq!(row(&single.id).original_start, None);
}

#[test]
fn this_makes_an_exception_and_edits_it_again() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=3");
    let outbox = s.pending_outbox_count().unwrap();
    let mut input = input_of(&series, hour(utc(2026, 3, 24, 15, 0)));
    input.title = "Pipeline review (moved)".into();
    // The UI may send the series' rule along; an occurrence does not repeat on its own.
    input.recurrence = series.recurrence.clone();
    let moved = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            input,
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(moved.instance_of.as_ref().unwrap().series_id, series.id);
    assert_eq!(moved.recurrence, None);
    assert_eq!(s.pending_outbox_count().unwrap(), outbox + 1);
    // Editing it again (by its original start) updates the same row.
    let again = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            input_of(&moved, hour(utc(2026, 3, 24, 16, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(again.id, moved.id);
    assert_eq!(
        starts(&window(&s)),
        vec![
            utc(2026, 3, 16, 9, 0),
            utc(2026, 3, 24, 16, 0),
            utc(2026, 3, 30, 8, 0)
        ]
    );
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;COUNT=3"]
    );
}

#[test]
fn cancel_this_is_a_cancelled_exception_and_delete_this_an_exdate() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=3");
    s.cancel_occurrence(
        &series.id,
        "2026-03-23T09:00:00Z",
        OccurrenceScope::This,
        ChangeSource::User,
    )
    .unwrap();
    let occ = window(&s);
    assert_eq!(occ.len(), 3);
    assert_eq!(occ[1].status, Status::Cancelled);
    assert_ne!(occ[1].appointment_id, series.id);
    assert_eq!(
        occ[1].original_start.as_deref(),
        Some("2026-03-23T09:00:00Z")
    );
    // Cancelling it again changes nothing more; deleting it removes it for good.
    s.cancel_occurrence(
        &series.id,
        "2026-03-23T09:00:00Z",
        OccurrenceScope::This,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(window(&s).len(), 3);
    s.delete_occurrence(
        &series.id,
        "2026-03-23T09:00:00Z",
        OccurrenceScope::This,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(
        starts(&window(&s)),
        vec![utc(2026, 3, 16, 9, 0), utc(2026, 3, 30, 8, 0)]
    );
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20260323T090000Z"]
    );
    assert_eq!(snapshot(&s).0.len(), 1, "the cancelled row went with it");
}

#[test]
fn following_splits_the_series_across_dst_and_keeps_local_times() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=6");
    let before = starts(&window(&s));
    // An exception after the split moves to the new series.
    let later = s
        .edit_occurrence(
            &series.id,
            "2026-04-13T08:00:00Z",
            input_of(&series, hour(utc(2026, 4, 14, 8, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    // No edit: the two series hold exactly the original occurrences.
    let new_series = s
        .edit_occurrence(
            &series.id,
            "2026-04-06T10:00:00+02:00",
            input_of(&series, hour(utc(2026, 4, 6, 8, 0))),
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_ne!(new_series.id, series.id);
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;UNTIL=20260406T075959Z"]
    );
    assert_eq!(lines(&new_series), vec!["RRULE:FREQ=WEEKLY;COUNT=3"]);
    assert_eq!(new_series.timing, hour(utc(2026, 4, 6, 8, 0)));
    let occ = window(&s);
    let mut expected = before.clone();
    expected[4] = utc(2026, 4, 14, 8, 0);
    assert_eq!(starts(&occ), expected);
    assert!(s.get_appointment(&later.id).unwrap().is_none());
    let moved = occ
        .iter()
        .find(|o| o.original_start.as_deref() == Some("2026-04-13T08:00:00Z"))
        .unwrap();
    assert_eq!(moved.series_id.as_deref(), Some(new_series.id.as_str()));
    assert_ne!(moved.appointment_id, new_series.id);
    // All occurrences at 10:00 Berlin time, before and after the change to summer time.
    assert_eq!(
        &starts(&occ)[..4],
        &[
            utc(2026, 3, 16, 9, 0),
            utc(2026, 3, 23, 9, 0),
            utc(2026, 3, 30, 8, 0),
            utc(2026, 4, 6, 8, 0)
        ]
    );
}

#[test]
fn following_with_a_moved_weekday_and_time_moves_the_rest() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;BYDAY=MO");
    let mut input = input_of(&series, hour(utc(2026, 3, 24, 13, 0)));
    input.title = "Pipeline review (Tuesdays)".into();
    let new_series = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            input,
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(lines(&new_series), vec!["RRULE:FREQ=WEEKLY;BYDAY=TU"]);
    let occ: Vec<_> = s
        .occurrences(utc(2026, 3, 1, 0, 0), utc(2026, 4, 8, 0, 0))
        .unwrap();
    assert_eq!(
        starts(&occ),
        vec![
            utc(2026, 3, 16, 9, 0),
            utc(2026, 3, 24, 13, 0),
            // 14:00 Berlin stays 14:00 in summer time.
            utc(2026, 3, 31, 12, 0),
            utc(2026, 4, 7, 12, 0),
        ]
    );
    assert_eq!(occ[1].title, "Pipeline review (Tuesdays)");
    assert_eq!(occ[0].title, "Pipeline review");
}

/// The window sends the rule the editor shows; the same RRULE (without the series'
/// EXDATEs) is "the same rule": the store still divides the COUNT and moves the EXDATEs.
/// A changed rule is the new series' own.
#[test]
fn following_with_the_rule_the_form_shows() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=6");
    s.delete_occurrence(
        &series.id,
        "2026-04-13T08:00:00Z",
        OccurrenceScope::This,
        ChangeSource::User,
    )
    .unwrap();
    let before = starts(&window(&s));
    let mut input = input_of(&series, hour(utc(2026, 4, 6, 8, 0)));
    input.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=6".into()],
    });
    let new_series = s
        .edit_occurrence(
            &series.id,
            "2026-04-06T08:00:00Z",
            input.clone(),
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(
        lines(&new_series),
        vec!["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20260413T080000Z"]
    );
    assert_eq!(starts(&window(&s)), before);
    // A new rule from the 2nd occurrence of the new series on.
    input.timing = hour(utc(2026, 4, 20, 8, 0));
    input.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=DAILY;COUNT=2".into()],
    });
    let daily = s
        .edit_occurrence(
            &new_series.id,
            "2026-04-20T08:00:00Z",
            input,
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(lines(&daily), vec!["RRULE:FREQ=DAILY;COUNT=2"]);
    assert_eq!(
        starts(&window(&s)),
        vec![
            utc(2026, 3, 16, 9, 0),
            utc(2026, 3, 23, 9, 0),
            utc(2026, 3, 30, 8, 0),
            utc(2026, 4, 6, 8, 0),
            utc(2026, 4, 20, 8, 0),
            utc(2026, 4, 21, 8, 0),
        ]
    );
}

#[test]
fn following_on_the_first_occurrence_is_all() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=3");
    let mut input = input_of(&series, hour(utc(2026, 3, 16, 10, 0)));
    input.title = "Renamed".into();
    let got = s
        .edit_occurrence(
            &series.id,
            "2026-03-16T09:00:00Z",
            input,
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(got.id, series.id);
    assert_eq!(snapshot(&s).0.len(), 1);
    assert_eq!(
        starts(&window(&s)),
        vec![
            utc(2026, 3, 16, 10, 0),
            utc(2026, 3, 23, 10, 0),
            utc(2026, 3, 30, 9, 0)
        ]
    );
}

#[test]
fn all_shifts_the_series_by_the_occurrences_move_in_local_time() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;BYDAY=MO;COUNT=4");
    let kept = s
        .cancel_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .map(|_| ());
    kept.unwrap();
    // The summer occurrence (10:00 CEST) moves to Tuesday 11:30 CEST.
    let mut input = input_of(
        &series,
        Timing::Timed {
            start: utc(2026, 4, 7, 9, 30),
            end: utc(2026, 4, 7, 10, 0),
        },
    );
    input.notes = "New agenda".into();
    let got = s
        .edit_occurrence(
            &series.id,
            "2026-04-06T08:00:00Z",
            input,
            OccurrenceScope::All,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(got.id, series.id);
    assert_eq!(got.notes, "New agenda");
    // The first occurrence: Tuesday 11:30 CET = 10:30 UTC, half an hour long.
    assert_eq!(
        got.timing,
        Timing::Timed {
            start: utc(2026, 3, 17, 10, 30),
            end: utc(2026, 3, 17, 11, 0)
        }
    );
    assert_eq!(lines(&got), vec!["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"]);
    let occ = window(&s);
    // The cancelled exception is kept (its original start is the old Monday).
    assert!(occ.iter().any(|o| o.status == Status::Cancelled
        && o.original_start.as_deref() == Some("2026-03-23T09:00:00Z")));
    let booked: Vec<_> = occ
        .iter()
        .filter(|o| o.status == Status::Booked)
        .cloned()
        .collect();
    assert_eq!(
        starts(&booked),
        vec![
            utc(2026, 3, 17, 10, 30),
            utc(2026, 3, 24, 10, 30),
            utc(2026, 3, 31, 9, 30),
            utc(2026, 4, 7, 9, 30),
        ]
    );
}

#[test]
fn an_all_day_series_splits_and_moves_on_dates() {
    let (_d, s) = store();
    let series = s
        .create_appointment(
            AppointmentInput {
                title: "Trade fair".into(),
                timing: Timing::AllDay {
                    start: date(2026, 3, 20),
                    end: date(2026, 3, 21),
                },
                timezone: "Europe/Berlin".into(),
                location: String::new(),
                notes: String::new(),
                lead: Lead::default(),
                status: Status::Booked,
                recurrence: Some(Recurrence {
                    lines: vec!["RRULE:FREQ=WEEKLY;UNTIL=20260417".into()],
                }),
            },
            bookline_core::model::Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    let days = |s: &Store| -> Vec<NaiveDate> {
        window(s)
            .iter()
            .map(|o| match o.timing {
                Timing::AllDay { start, .. } => start,
                Timing::Timed { .. } => panic!("timed"),
            })
            .collect()
    };
    let before = days(&s);
    assert_eq!(before.len(), 5);
    let originals: Vec<_> = window(&s)
        .into_iter()
        .map(|o| o.original_start.unwrap())
        .collect();
    assert_eq!(originals[1], "2026-03-27");
    // Split at the 3rd (2026-04-03), after the DST change: dates, not instants.
    let new_series = s
        .edit_occurrence(
            &series.id,
            "2026-04-03",
            input_of(
                &series,
                Timing::AllDay {
                    start: date(2026, 4, 3),
                    end: date(2026, 4, 4),
                },
            ),
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;UNTIL=20260402"]
    );
    assert_eq!(lines(&new_series), vec!["RRULE:FREQ=WEEKLY;UNTIL=20260417"]);
    assert_eq!(days(&s), before);
    // All on the new series: two days long from the 4th occurrence on.
    let got = s
        .edit_occurrence(
            &new_series.id,
            "2026-04-10",
            input_of(
                &new_series,
                Timing::AllDay {
                    start: date(2026, 4, 10),
                    end: date(2026, 4, 12),
                },
            ),
            OccurrenceScope::All,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(
        got.timing,
        Timing::AllDay {
            start: date(2026, 4, 3),
            end: date(2026, 4, 5)
        }
    );
    // Cancel following on the old series' second occurrence: it ends after the first.
    s.cancel_occurrence(
        &series.id,
        "2026-03-27",
        OccurrenceScope::Following,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;UNTIL=20260326"]
    );
    assert_eq!(
        days(&s),
        vec![
            date(2026, 3, 20),
            date(2026, 4, 3),
            date(2026, 4, 10),
            date(2026, 4, 17)
        ]
    );
}

#[test]
fn delete_following_truncates_and_drops_later_exceptions() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=5");
    let early = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            input_of(&series, hour(utc(2026, 3, 23, 12, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    let late = s
        .edit_occurrence(
            &series.id,
            "2026-04-13T08:00:00Z",
            input_of(&series, hour(utc(2026, 4, 13, 12, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    s.delete_occurrence(
        &series.id,
        "2026-03-30T08:00:00Z",
        OccurrenceScope::Following,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec!["RRULE:FREQ=WEEKLY;UNTIL=20260330T075959Z"]
    );
    assert!(s.get_appointment(&early.id).unwrap().is_some());
    assert!(s.get_appointment(&late.id).unwrap().is_none());
    assert_eq!(
        starts(&window(&s)),
        vec![utc(2026, 3, 16, 9, 0), utc(2026, 3, 23, 12, 0)]
    );
    // All: the series and its exceptions.
    s.delete_occurrence(
        &series.id,
        "2026-03-16T09:00:00Z",
        OccurrenceScope::All,
        ChangeSource::User,
    )
    .unwrap();
    assert!(snapshot(&s).0.is_empty());
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;COUNT=3");
    let single = s
        .create_appointment(
            input_of(&series, hour(utc(2026, 3, 25, 9, 0))),
            bookline_core::model::Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    let moved = s
        .edit_occurrence(
            &series.id,
            "2026-03-23T09:00:00Z",
            input_of(&series, hour(utc(2026, 3, 23, 12, 0))),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    let before = snapshot(&s);
    let input = input_of(&series, hour(utc(2026, 3, 16, 12, 0)));
    for scope in [
        OccurrenceScope::This,
        OccurrenceScope::Following,
        OccurrenceScope::All,
    ] {
        let cases: Vec<(&str, &str, &str)> = vec![
            // Not an occurrence (10 minutes off; after the end; a date on a timed series).
            (&series.id, "2026-03-23T09:10:00Z", "original start"),
            (&series.id, "2026-04-06T08:00:00Z", "original start"),
            (&series.id, "2026-03-23", "original start"),
            // Not a series.
            (&single.id, "2026-03-25T09:00:00Z", "series"),
            (&moved.id, "2026-03-23T09:00:00Z", "series"),
        ];
        for (id, start, field) in cases {
            let errors = [
                s.edit_occurrence(id, start, input.clone(), scope, ChangeSource::User)
                    .map(|_| ())
                    .unwrap_err(),
                s.cancel_occurrence(id, start, scope, ChangeSource::User)
                    .unwrap_err(),
                s.delete_occurrence(id, start, scope, ChangeSource::User)
                    .unwrap_err(),
            ];
            for err in errors {
                assert!(
                    matches!(&err, StoreError::Validation { field: f, .. } if *f == field),
                    "{id} {start} {scope:?}: {err:?}"
                );
            }
        }
        let err = s
            .cancel_occurrence(
                "no-such-id",
                "2026-03-23T09:00:00Z",
                scope,
                ChangeSource::User,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }
    assert_eq!(snapshot(&s), before);
}

/// A split that edits nothing leaves the occurrences as they were, whatever the rule
/// and wherever it splits (Bookline's expansion of the two series against the original).
mod properties {
    use super::*;

    fn rule() -> impl Strategy<Value = String> {
        let freq = prop_oneof![
            Just("FREQ=DAILY".to_string()),
            Just("FREQ=WEEKLY".to_string()),
            Just("FREQ=WEEKLY;BYDAY=MO,TH".to_string()),
            Just("FREQ=MONTHLY".to_string()),
            Just("FREQ=MONTHLY;BYDAY=-1MO".to_string()),
        ];
        let end = prop_oneof![
            Just(String::new()),
            (2u32..30).prop_map(|n| format!(";COUNT={n}")),
            Just(";UNTIL=20261201T000000Z".to_string()),
        ];
        (freq, 1u32..4, end).prop_map(|(f, i, e)| format!("{f};INTERVAL={i}{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
        #[test]
        fn a_split_without_edits_keeps_every_occurrence(rule in rule(), at in 1usize..40) {
            let (_d, s) = store();
            let series = weekly(&s, &rule);
            let before = window(&s);
            prop_assume!(before.len() > 1);
            let at = at % (before.len() - 1) + 1;
            let chosen = before[at].clone();
            s.edit_occurrence(
                &series.id,
                chosen.original_start.as_deref().unwrap(),
                input_of(&series, chosen.timing.clone()),
                OccurrenceScope::Following,
                ChangeSource::User,
            )
            .unwrap();
            let after = window(&s);
            prop_assert_eq!(starts(&after), starts(&before), "{}", rule);
            prop_assert_eq!(after.iter().filter(|o| o.appointment_id == series.id).count(), at);
        }
    }
}

/// The split's two rules against the Google emulator's own expansion (an implementation
/// of RFC 5545 apart from Bookline's expander): the old series' occurrences and the new
/// series' together are the original series' occurrences, timed (Berlin, across both DST
/// changes) and all-day, with COUNT, UNTIL and EXDATE.
mod against_the_emulator {
    use super::*;
    use bookline_core::recurrence::InstanceKey;
    use bookline_core::split::split_lines;
    use gcal_emulator::recur::{expand, SeriesStart};

    const FROM: i64 = 0;
    const TO: i64 = 4_102_444_800_000; // 2100-01-01

    fn starts(lines: &[String], timing: &Timing) -> Vec<i64> {
        let start = match timing {
            Timing::Timed { start, .. } => SeriesStart::Timed {
                ms: start.timestamp_millis(),
                tz: chrono_tz::Europe::Berlin,
            },
            Timing::AllDay { start, .. } => SeriesStart::AllDay(*start),
        };
        expand(lines, start, FROM, TO, 2000)
            .into_iter()
            .map(|o| o.ms)
            .collect()
    }

    fn key_of(ms: i64, timing: &Timing) -> InstanceKey {
        let t = DateTime::from_timestamp_millis(ms).unwrap();
        match timing {
            Timing::Timed { .. } => InstanceKey::Instant(t),
            Timing::AllDay { .. } => InstanceKey::Date(t.date_naive()),
        }
    }

    fn rule() -> impl Strategy<Value = String> {
        let freq = prop_oneof![
            Just("FREQ=DAILY".to_string()),
            Just("FREQ=WEEKLY".to_string()),
            Just("FREQ=WEEKLY;BYDAY=MO,WE,FR".to_string()),
            Just("FREQ=MONTHLY;BYMONTHDAY=16".to_string()),
            Just("FREQ=MONTHLY;BYDAY=3MO".to_string()),
            Just("FREQ=YEARLY".to_string()),
        ];
        let end = prop_oneof![
            (2u32..40).prop_map(|n| format!(";COUNT={n}")),
            Just(";UNTIL=20281231T000000Z".to_string()),
        ];
        (freq, 1u32..4, end).prop_map(|(f, i, e)| format!("RRULE:{f};INTERVAL={i}{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]
        #[test]
        fn old_and_new_together_are_the_original(
            rule in rule(),
            all_day in any::<bool>(),
            at in 1usize..400,
            exdate in proptest::option::of(1usize..400),
        ) {
            // Monday 2026-03-16, 10:00 Berlin or the whole day.
            let timing = if all_day {
                Timing::AllDay { start: date(2026, 3, 16), end: date(2026, 3, 17) }
            } else {
                Timing::Timed { start: utc(2026, 3, 16, 9, 0), end: utc(2026, 3, 16, 10, 0) }
            };
            let mut lines = vec![rule.clone()];
            let plain = starts(&lines, &timing);
            prop_assume!(plain.len() > 2);
            if let Some(i) = exdate {
                let ms = plain[i % plain.len()];
                let t = DateTime::from_timestamp_millis(ms).unwrap();
                lines.push(if all_day {
                    format!("EXDATE;VALUE=DATE:{}", t.format("%Y%m%d"))
                } else {
                    format!("EXDATE:{}", t.format("%Y%m%dT%H%M%SZ"))
                });
            }
            let original = starts(&lines, &timing);
            prop_assume!(original.len() > 1);
            let at = original[at % (original.len() - 1) + 1];
            let split = split_lines(&timing, chrono_tz::Europe::Berlin, &lines, key_of(at, &timing))
                .map_err(|e| TestCaseError::fail(format!("{rule}: {e}")))?;
            let mut together = starts(&split.old_lines, &timing);
            prop_assert!(together.iter().all(|&ms| ms < at), "{:?}", split.old_lines);
            together.extend(starts(&split.new_lines, &split.new_timing));
            prop_assert_eq!(together, original, "{:?} → {:?} + {:?}", lines, split.old_lines, split.new_lines);
        }
    }
}

/// A deleted occurrence is an `EXDATE` at the occurrence's start; when the whole series
/// moves (from the list, or "All appointments" from an occurrence), the `EXDATE` moves
/// with it — else the deleted occurrence comes back beside the moved series.
#[test]
fn a_deleted_occurrence_stays_deleted_when_the_series_moves() {
    let (_d, s) = store();
    let series = weekly(&s, "FREQ=WEEKLY;BYDAY=MO;COUNT=4");
    s.delete_occurrence(
        &series.id,
        "2026-03-23T09:00:00Z",
        OccurrenceScope::This,
        ChangeSource::User,
    )
    .unwrap();
    // From the list: 10:00 → 14:00 local, the rule as stored (the form sends it back).
    let stored = get(&s, &series.id);
    let mut input = input_of(&stored, hour(utc(2026, 3, 16, 13, 0)));
    input.recurrence = stored.recurrence.clone();
    let moved = s
        .update_appointment(&series.id, input, ChangeSource::User)
        .unwrap();
    assert_eq!(
        lines(&moved),
        vec![
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
            "EXDATE:20260323T130000Z"
        ]
    );
    assert_eq!(
        starts(&window(&s)),
        vec![
            utc(2026, 3, 16, 13, 0),
            utc(2026, 3, 30, 12, 0),
            utc(2026, 4, 6, 12, 0)
        ]
    );
    // "All appointments" from the 30th: to Tuesday 09:00 local.
    s.edit_occurrence(
        &series.id,
        "2026-03-30T12:00:00Z",
        input_of(&moved, hour(utc(2026, 3, 31, 7, 0))),
        OccurrenceScope::All,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(
        lines(&get(&s, &series.id)),
        vec![
            "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "EXDATE:20260324T080000Z"
        ]
    );
    assert_eq!(
        starts(&window(&s)),
        vec![
            utc(2026, 3, 17, 8, 0),
            utc(2026, 3, 31, 7, 0),
            utc(2026, 4, 7, 7, 0)
        ]
    );
    // A rule whose EXDATEs the user typed differently is theirs: kept as given.
    let mut typed = input_of(&get(&s, &series.id), hour(utc(2026, 3, 17, 9, 0)));
    typed.recurrence = Some(Recurrence {
        lines: vec![
            "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4".into(),
            "EXDATE:20260407T080000Z".into(),
        ],
    });
    let typed = s
        .update_appointment(&series.id, typed, ChangeSource::User)
        .unwrap();
    assert_eq!(
        lines(&typed),
        vec![
            "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "EXDATE:20260407T080000Z"
        ]
    );
}
