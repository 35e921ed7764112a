//! "This / following / all" made in Bookline reach Google in Google's own shapes (instance
//! events with `originalStartTime`, a split as a series ended with `UNTIL` plus a new
//! series) and read back unchanged; a split made in Google's UI arrives as two series.
//! On the emulator and a real SQLite file.

use bookline_core::google::{Event, EventDateTime, ListParams};
use bookline_core::model::{
    Appointment, AppointmentInput, OccurrenceScope, Recurrence, Status, Timing,
};
use bookline_core::store::ChangeSource;
use bookline_core::sync::ids;
use bookline_core::sync::Direction;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;

use crate::engine::{at, timed, World};

/// Mondays 10:00 Berlin from 2027-03-01, six times (CET until the 28th, then CEST:
/// the 29th and April 5th are at 08:00 UTC).
fn weekly_input() -> AppointmentInput {
    let mut input = timed("Weekly planning", at(1, 9));
    input.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=6".into()],
    });
    input
}

fn april(day: u32, hour: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2027, 4, day, hour, 0, 0).unwrap()
}

fn hour_at(start: DateTime<Utc>) -> Timing {
    Timing::Timed {
        start,
        end: start + ChronoDuration::hours(1),
    }
}

fn edited(series: &Appointment, timing: Timing, title: &str) -> AppointmentInput {
    AppointmentInput {
        title: title.into(),
        timing,
        timezone: series.timezone.clone(),
        location: series.location.clone(),
        notes: series.notes.clone(),
        lead: series.lead.clone(),
        status: Status::Booked,
        recurrence: None,
    }
}

/// Google's expansion (`singleEvents`), live occurrences only: (id, start, title).
async fn google_occurrences(w: &World) -> Vec<(String, DateTime<Utc>, String)> {
    let page = w
        .client
        .list_events(
            &w.ctx.calendar_id,
            &ListParams {
                single_events: Some(true),
                max_results: Some(2500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out: Vec<_> = page
        .items
        .into_iter()
        .filter(|e| !e.is_cancelled())
        .map(|e| {
            let start = e.start.as_ref().and_then(|s| s.date_time).unwrap();
            (
                e.id.clone().unwrap(),
                start.with_timezone(&Utc),
                e.summary.clone().unwrap_or_default(),
            )
        })
        .collect();
    out.sort_by_key(|o| o.1);
    out
}

/// Bookline's occurrences in March–April 2027: (start, title, status).
fn crm_occurrences(w: &World) -> Vec<(DateTime<Utc>, String, Status)> {
    w.store
        .occurrences(at(1, 0), april(30, 0))
        .unwrap()
        .into_iter()
        .map(|o| match o.timing {
            Timing::Timed { start, .. } => (start, o.title, o.status),
            Timing::AllDay { .. } => panic!("all-day"),
        })
        .collect()
}

async fn settled(w: &World) {
    let r = w.pass().await;
    if r.changed_anything() {
        for a in w.crm_all() {
            eprintln!(
                "CRM {} {:?} {:?} {:?} {}",
                a.id, a.timing, a.status, a.instance_of, a.title
            );
        }
    }
    assert!(!r.changed_anything(), "the next pass writes nothing: {r:?}");
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
}

#[tokio::test]
async fn a_bookline_exception_cancel_and_split_reach_google_and_read_back_the_same() {
    let w = World::new(Direction::Both).await;
    let series = w.crm_create(weekly_input());
    w.pass().await;
    let series_event = ids::event_id_for(&series.id).unwrap();

    // This: the 2nd moved to 14:00 Berlin, the 3rd cancelled.
    let moved = w
        .store
        .edit_occurrence(
            &series.id,
            "2027-03-08T09:00:00Z",
            edited(&series, hour_at(at(8, 13)), "Weekly planning (moved)"),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    w.store
        .cancel_occurrence(
            &series.id,
            "2027-03-15T10:00:00+01:00",
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.errors.len(), 0);
    settled(&w).await;
    let second = w
        .client
        .get_event(
            &w.ctx.calendar_id,
            &format!("{series_event}_20270308T090000Z"),
        )
        .await
        .unwrap();
    assert_eq!(
        second.recurring_event_id.as_deref(),
        Some(series_event.as_str())
    );
    assert_eq!(
        second
            .original_start_time
            .as_ref()
            .and_then(|o| o.date_time)
            .map(|t| t.with_timezone(&Utc)),
        Some(at(8, 9))
    );
    assert_eq!(second.summary.as_deref(), Some("Weekly planning (moved)"));
    let third = w
        .client
        .get_event(
            &w.ctx.calendar_id,
            &format!("{series_event}_20270315T090000Z"),
        )
        .await
        .unwrap();
    assert!(third.is_cancelled(), "{third:?}");
    let google = google_occurrences(&w).await;
    let starts: Vec<_> = google.iter().map(|o| o.1).collect();
    assert_eq!(
        starts,
        vec![at(1, 9), at(8, 13), at(22, 9), at(29, 8), april(5, 8)]
    );
    assert_eq!(w.crm_all().len(), 3, "the series and its two exceptions");
    let before_split = crm_occurrences(&w);

    // Following: from the 5th (after the DST change), with a new title; the 6th moved
    // before moves along to the new series.
    w.store
        .edit_occurrence(
            &series.id,
            "2027-04-05T08:00:00Z",
            edited(&series, hour_at(april(5, 12)), "Weekly planning (late)"),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    let new_series = w
        .store
        .edit_occurrence(
            &series.id,
            "2027-03-29T08:00:00Z",
            edited(&series, hour_at(at(29, 8)), "Weekly planning (new)"),
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    settled(&w).await;

    let old = w.store.get_appointment(&series.id).unwrap().unwrap();
    assert_eq!(
        old.recurrence.unwrap().lines,
        vec!["RRULE:FREQ=WEEKLY;UNTIL=20270329T075959Z"]
    );
    let new_event = ids::event_id_for(&new_series.id).unwrap();
    let old_in_google = w
        .client
        .get_event(&w.ctx.calendar_id, &series_event)
        .await
        .unwrap();
    assert_eq!(
        old_in_google.recurrence,
        Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20270329T075959Z".to_string()])
    );
    let new_in_google = w
        .client
        .get_event(&w.ctx.calendar_id, &new_event)
        .await
        .unwrap();
    assert_eq!(
        new_in_google.recurrence,
        Some(vec!["RRULE:FREQ=WEEKLY;COUNT=2".to_string()])
    );
    // Two series (no duplicate), the moved 2nd and the moved 6th (now the new series').
    let live = w.google_events().await;
    let masters: Vec<_> = live.iter().filter(|e| e.recurrence.is_some()).collect();
    assert_eq!(masters.len(), 2, "{live:?}");
    assert_eq!(live.len(), 4, "{live:?}");
    let sixth = w
        .client
        .get_event(&w.ctx.calendar_id, &format!("{new_event}_20270405T080000Z"))
        .await
        .unwrap();
    assert_eq!(
        sixth.recurring_event_id.as_deref(),
        Some(new_event.as_str())
    );
    assert_eq!(sixth.summary.as_deref(), Some("Weekly planning (late)"));
    // Together the two series hold the original occurrences (times as before the split).
    let google = google_occurrences(&w).await;
    let starts: Vec<_> = google.iter().map(|o| o.1).collect();
    assert_eq!(
        starts,
        vec![at(1, 9), at(8, 13), at(22, 9), at(29, 8), april(5, 12)]
    );
    let titles: Vec<_> = google.iter().map(|o| o.2.as_str()).collect();
    assert_eq!(titles[3], "Weekly planning (new)");
    let after = crm_occurrences(&w);
    assert_eq!(after.len(), before_split.len(), "{after:?}");
    let crm_starts: Vec<_> = after
        .iter()
        .filter(|o| o.2 != Status::Cancelled)
        .map(|o| o.0)
        .collect();
    assert_eq!(crm_starts, starts);
    assert_eq!(
        w.crm_all().len(),
        5,
        "two series, three exceptions; nothing came back new"
    );
    assert!(w.store.get_appointment(&moved.id).unwrap().is_some());
}

#[tokio::test]
async fn cancel_following_and_delete_this_reach_google() {
    let w = World::new(Direction::Both).await;
    let series = w.crm_create(weekly_input());
    w.pass().await;
    let series_event = ids::event_id_for(&series.id).unwrap();
    w.store
        .delete_occurrence(
            &series.id,
            "2027-03-08T09:00:00Z",
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    w.store
        .cancel_occurrence(
            &series.id,
            "2027-03-22T09:00:00Z",
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    settled(&w).await;
    let starts: Vec<_> = google_occurrences(&w).await.iter().map(|o| o.1).collect();
    assert_eq!(starts, vec![at(1, 9), at(15, 9)]);
    let g = w
        .client
        .get_event(&w.ctx.calendar_id, &series_event)
        .await
        .unwrap();
    assert_eq!(
        g.recurrence,
        Some(vec![
            "RRULE:FREQ=WEEKLY;UNTIL=20270322T085959Z".to_string(),
            "EXDATE:20270308T090000Z".to_string()
        ])
    );
}

/// Google's UI splits "this and following" by ending the series with UNTIL and inserting
/// a new series; Bookline gets two series with the right occurrences.
#[tokio::test]
async fn a_google_made_split_arrives_as_two_series() {
    let w = World::new(Direction::Both).await;
    let mut weekly = Event {
        summary: Some("Weekly 1:1".into()),
        start: Some(EventDateTime::timed(
            at(1, 9).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        end: Some(EventDateTime::timed(
            (at(1, 9) + ChronoDuration::hours(1)).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        ..Default::default()
    };
    weekly.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;COUNT=6".into()]);
    let master = w
        .client
        .insert_event(&w.ctx.calendar_id, &weekly)
        .await
        .unwrap();
    let master_id = master.id.clone().unwrap();
    w.pass().await;
    let before = crm_occurrences(&w);
    assert_eq!(before.len(), 6);
    // The 5th was moved in Google before the split.
    w.google_patch(
        &format!("{master_id}_20270329T080000Z"),
        json!({
            "start": {"dateTime": at(29, 12).to_rfc3339(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": at(29, 13).to_rfc3339(), "timeZone": "Europe/Berlin"}
        }),
    )
    .await;
    w.pass().await;
    assert_eq!(w.crm_all().len(), 2);

    // "This and following" from the 4th (March 22nd), moved to 11:00 Berlin and renamed;
    // like Google's UI, the old series' exceptions from there on go.
    w.google_patch(
        &master_id,
        json!({"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20270321T225959Z"]}),
    )
    .await;
    w.google_delete(&format!("{master_id}_20270329T080000Z"))
        .await;
    let mut following = weekly.clone();
    following.summary = Some("Weekly 1:1 (11:00)".into());
    following.start = Some(EventDateTime::timed(
        at(22, 10).fixed_offset(),
        Some("Europe/Berlin".into()),
    ));
    following.end = Some(EventDateTime::timed(
        at(22, 11).fixed_offset(),
        Some("Europe/Berlin".into()),
    ));
    following.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;COUNT=3".into()]);
    w.client
        .insert_event(&w.ctx.calendar_id, &following)
        .await
        .unwrap();
    w.pass().await;
    settled(&w).await;
    let series: Vec<_> = w
        .crm_all()
        .into_iter()
        .filter(|a| a.recurrence.is_some())
        .collect();
    assert_eq!(series.len(), 2);
    let after = crm_occurrences(&w);
    assert_eq!(
        after,
        vec![
            (at(1, 9), "Weekly 1:1".to_string(), Status::Booked),
            (at(8, 9), "Weekly 1:1".to_string(), Status::Booked),
            (at(15, 9), "Weekly 1:1".to_string(), Status::Booked),
            (at(22, 10), "Weekly 1:1 (11:00)".to_string(), Status::Booked),
            (at(29, 9), "Weekly 1:1 (11:00)".to_string(), Status::Booked),
            (
                april(5, 9),
                "Weekly 1:1 (11:00)".to_string(),
                Status::Booked
            ),
        ]
    );
}

/// Deleting a moved occurrence that Google already holds: Google cancels the instance
/// and the series gains an EXDATE; the cancelled instance read back is no new (cancelled)
/// occurrence in Bookline — it stands for no occurrence of the series any more.
#[tokio::test]
async fn deleting_a_moved_occurrence_google_holds_does_not_come_back_cancelled() {
    let w = World::new(Direction::Both).await;
    let series = w.crm_create(weekly_input());
    w.pass().await;
    w.store
        .edit_occurrence(
            &series.id,
            "2027-03-08T09:00:00Z",
            edited(&series, hour_at(at(8, 13)), "Weekly planning (moved)"),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    settled(&w).await;
    w.store
        .delete_occurrence(
            &series.id,
            "2027-03-08T09:00:00Z",
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    settled(&w).await;
    assert_eq!(w.crm_all().len(), 1, "{:?}", w.crm_all());
    let starts: Vec<_> = google_occurrences(&w).await.iter().map(|o| o.1).collect();
    assert_eq!(
        starts,
        vec![at(1, 9), at(15, 9), at(22, 9), at(29, 8), april(5, 8)]
    );
}

/// An all-day series split "this and following" with a moved day before the split: Google
/// gets an all-day series ended with a DATE `UNTIL`, a new all-day series and the moved
/// day as an all-day instance; both sides show the same days, and a pass after it writes
/// nothing.
#[tokio::test]
async fn an_all_day_split_and_exception_reach_google_on_their_dates() {
    use chrono::NaiveDate;
    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    let w = World::new(Direction::Both).await;
    let mut input = timed("Trade fair", at(1, 9));
    input.timing = Timing::AllDay {
        start: day(3, 19),
        end: day(3, 20),
    };
    input.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()],
    });
    let series = w.crm_create(input);
    w.pass().await;
    let whole = |start: NaiveDate| Timing::AllDay {
        start,
        end: start.succ_opt().unwrap(),
    };
    w.store
        .edit_occurrence(
            &series.id,
            "2027-03-26",
            edited(&series, whole(day(3, 25)), "Trade fair (Thursday)"),
            OccurrenceScope::This,
            ChangeSource::User,
        )
        .unwrap();
    let new_series = w
        .store
        .edit_occurrence(
            &series.id,
            "2027-04-02",
            edited(&series, whole(day(4, 2)), "Trade fair (spring)"),
            OccurrenceScope::Following,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    settled(&w).await;
    let old = w
        .client
        .get_event(&w.ctx.calendar_id, &ids::event_id_for(&series.id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        old.recurrence,
        Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20270401".to_string()])
    );
    let new = w
        .client
        .get_event(
            &w.ctx.calendar_id,
            &ids::event_id_for(&new_series.id).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        new.recurrence,
        Some(vec!["RRULE:FREQ=WEEKLY;COUNT=2".to_string()])
    );
    let page = w
        .client
        .list_events(
            &w.ctx.calendar_id,
            &ListParams {
                single_events: Some(true),
                max_results: Some(2500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut google: Vec<(NaiveDate, String)> = page
        .items
        .into_iter()
        .filter(|e| !e.is_cancelled())
        .map(|e| {
            (
                e.start.as_ref().and_then(|s| s.date).unwrap(),
                e.summary.unwrap_or_default(),
            )
        })
        .collect();
    google.sort();
    let expected = vec![
        (day(3, 19), "Trade fair".to_string()),
        (day(3, 25), "Trade fair (Thursday)".to_string()),
        (day(4, 2), "Trade fair (spring)".to_string()),
        (day(4, 9), "Trade fair (spring)".to_string()),
    ];
    assert_eq!(google, expected);
    let crm: Vec<(NaiveDate, String)> = w
        .store
        .occurrences(at(1, 0), april(30, 0))
        .unwrap()
        .into_iter()
        .map(|o| match o.timing {
            Timing::AllDay { start, .. } => (start, o.title),
            Timing::Timed { .. } => panic!("timed"),
        })
        .collect();
    assert_eq!(crm, expected);
    assert_eq!(w.crm_all().len(), 3);
}
