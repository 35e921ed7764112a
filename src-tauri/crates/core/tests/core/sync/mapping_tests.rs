use super::*;
use bookline_core::google::{Attendee, Event, EventDateTime, EventPerson, EventStatus};
use bookline_core::model::Lead;
use bookline_core::sync::mapping::{
    apply_to_event, event_for_insert, fields_from_event, google_side, patch_body, MappingContext,
    MappingError, APPOINTMENT_ID_PROPERTY,
};
use bookline_core::sync::privacy::PrivacySettings;
use chrono::FixedOffset;
use proptest::prelude::*;
use serde_json::json;

fn lead() -> Lead {
    Lead {
        name: "Ann Smith".into(),
        email: "ann@example.com".into(),
        phone: "+1 555 0100".into(),
    }
}

fn privacy() -> PrivacySettings {
    PrivacySettings {
        title_template: "{title} — {lead_name}".into(),
        include_lead_name: true,
        include_lead_phone: true,
        include_lead_email: false,
    }
}

/// Through JSON, as the event would travel to Google and back.
fn via_json(e: &Event) -> Event {
    serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn insert_body_and_round_trip_timed_with_zone() {
    let p = privacy();
    let l = lead();
    let f = SyncFields {
        title: "Demo".into(),
        timing: Timing::Timed {
            start: Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).unwrap(),
        },
        timezone: "Europe/Berlin".into(),
        location: "Office".into(),
        notes: "Bring the contract".into(),
        status: SyncStatus::Active,
        recurrence: vec![],
    };
    let e = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["id"], json!(ids::event_id_for(APPT).unwrap()));
    assert_eq!(v["status"], json!("confirmed"));
    assert_eq!(v["summary"], json!("Demo — Ann Smith"));
    assert_eq!(
        v["start"],
        json!({"dateTime": "2026-07-01T10:00:00+02:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(
        v["extendedProperties"]["private"][APPOINTMENT_ID_PROPERTY],
        json!(APPT)
    );
    assert!(v.get("attendees").is_none() && v.get("organizer").is_none());
    let ctx = MappingContext {
        calendar_timezone: "America/New_York",
        privacy: &p,
        lead: &l,
    };
    assert_eq!(fields_from_event(&via_json(&e), &ctx).unwrap(), f);
}

#[test]
fn all_day_events_keep_their_dates_in_every_zone() {
    let p = PrivacySettings::default();
    let l = Lead::default();
    let f = with(&fields("Offsite"), |f| {
        f.timing = Timing::AllDay {
            start: day(2026, 3, 28),
            end: day(2026, 3, 31),
        }
    });
    let e = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["start"], json!({"date": "2026-03-28"}));
    assert_eq!(v["end"], json!({"date": "2026-03-31"}));
    for zone in [
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Europe/London",
        "UTC",
    ] {
        let ctx = MappingContext {
            calendar_timezone: zone,
            privacy: &p,
            lead: &l,
        };
        let back = fields_from_event(&via_json(&e), &ctx).unwrap();
        assert_eq!(back.timing, f.timing, "{zone}");
        assert!(back.same_as(&f), "{zone}");
    }
}

#[test]
fn offsets_without_zone_and_missing_end_date() {
    let p = PrivacySettings::default();
    let l = Lead::default();
    let ctx = MappingContext {
        calendar_timezone: "Asia/Kolkata",
        privacy: &p,
        lead: &l,
    };
    let e: Event = serde_json::from_value(json!({
        "id": "abc123", "summary": "Call", "status": "tentative",
        "start": {"dateTime": "2026-05-01T10:00:00+05:30"},
        "end": {"dateTime": "2026-05-01T11:00:00+05:30"},
    }))
    .unwrap();
    let f = fields_from_event(&e, &ctx).unwrap();
    assert_eq!(
        f.timing,
        Timing::Timed {
            start: Utc.with_ymd_and_hms(2026, 5, 1, 4, 30, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 5, 1, 5, 30, 0).unwrap(),
        }
    );
    assert_eq!(f.timezone, "Asia/Kolkata");
    assert_eq!(f.status, SyncStatus::Active);
    let one_day: Event = serde_json::from_value(json!({
        "id": "abc124", "start": {"date": "2026-05-03"}
    }))
    .unwrap();
    assert_eq!(
        fields_from_event(&one_day, &ctx).unwrap().timing,
        Timing::AllDay {
            start: day(2026, 5, 3),
            end: day(2026, 5, 4)
        }
    );
    let mixed: Event = serde_json::from_value(json!({
        "id": "m1", "start": {"date": "2026-05-03"}, "end": {"dateTime": "2026-05-03T10:00:00Z"}
    }))
    .unwrap();
    assert_eq!(
        fields_from_event(&mixed, &ctx),
        Err(MappingError::MixedTiming("m1".into()))
    );
    let backwards: Event = serde_json::from_value(json!({
        "id": "b1", "start": {"date": "2026-05-03"}, "end": {"date": "2026-05-01"}
    }))
    .unwrap();
    assert_eq!(
        fields_from_event(&backwards, &ctx),
        Err(MappingError::EndBeforeStart("b1".into()))
    );
}

#[test]
fn recurrence_lines_pass_through_verbatim() {
    let p = PrivacySettings::default();
    let l = Lead::default();
    let lines = vec![
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T235959Z".to_owned(),
        "EXDATE;TZID=Europe/Berlin:20260608T100000".to_owned(),
        // Not expandable by Bookline: must survive anyway.
        "RRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;X-NAME=odd".to_owned(),
    ];
    let f = with(&fields("Standup"), |f| f.recurrence = lines.clone());
    let e = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
    let ctx = MappingContext {
        calendar_timezone: "Europe/Berlin",
        privacy: &p,
        lead: &l,
    };
    assert_eq!(
        fields_from_event(&via_json(&e), &ctx).unwrap().recurrence,
        lines
    );
}

#[test]
fn google_side_of_events_and_stubs() {
    let p = PrivacySettings::default();
    let l = Lead::default();
    let ctx = MappingContext {
        calendar_timezone: "UTC",
        privacy: &p,
        lead: &l,
    };
    let f = fields("Call");
    let mut e = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
    e.created = Some(t(1));
    e.updated = Some(t(2));
    let g = google_side(&via_json(&e), &ctx, None).unwrap();
    assert_eq!(g.bookline_appointment_id.as_deref(), Some(APPT));
    assert!(g.is_bookline_created() && !g.cancelled);
    assert_eq!((g.created, g.updated), (t(1), t(2)));
    // A deletion record with only the id: fields from what is known, cancelled.
    let stub: Event =
        serde_json::from_value(json!({"id": "gone1", "status": "cancelled"})).unwrap();
    let g = google_side(&stub, &ctx, Some(&f)).unwrap();
    assert!(g.cancelled);
    assert_eq!(g.fields, with(&f, |f| f.status = SyncStatus::Cancelled));
    assert_eq!(g.updated, DateTime::<Utc>::UNIX_EPOCH);
    assert!(google_side(&stub, &ctx, None)
        .unwrap()
        .fields
        .is_cancelled());
    let broken: Event = serde_json::from_value(json!({"id": "x1", "status": "confirmed"})).unwrap();
    assert_eq!(
        google_side(&broken, &ctx, None),
        Err(MappingError::MissingStart("x1".into()))
    );
    assert_eq!(
        google_side(&Event::default(), &ctx, None),
        Err(MappingError::MissingId)
    );
}

#[test]
fn updates_leave_guests_and_unknown_fields_alone() {
    let p = PrivacySettings::default();
    let l = Lead::default();
    let mut e: Event = serde_json::from_value(json!({
        "id": "invite1", "status": "tentative", "summary": "Old",
        "start": {"dateTime": "2026-05-01T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-05-01T11:00:00Z", "timeZone": "UTC"},
        "attendees": [{"email": "boss@example.com", "responseStatus": "accepted"}],
        "organizer": {"email": "boss@example.com"},
        "conferenceData": {"entryPoints": [{"uri": "https://meet.example/x"}]}
    }))
    .unwrap();
    let before = e.clone();
    let to = with(&fields("New title"), |f| {
        f.timing = Timing::AllDay {
            start: day(2026, 5, 2),
            end: day(2026, 5, 3),
        }
    });
    apply_to_event(
        &mut e,
        [Field::Title, Field::Timing, Field::Status]
            .into_iter()
            .collect(),
        &to,
        &l,
        &p,
    );
    assert_eq!(e.summary.as_deref(), Some("New title"));
    assert_eq!(e.start, Some(EventDateTime::all_day(day(2026, 5, 2))));
    assert_eq!(
        e.status,
        Some(EventStatus::Tentative),
        "tentative stays tentative"
    );
    assert_eq!(e.attendees, before.attendees);
    assert_eq!(e.organizer, before.organizer);
    assert_eq!(e.extra, before.extra);
    assert_eq!(e.location, None, "fields not listed are not touched");
    let _ = (
        Attendee::default(),
        EventPerson::default(),
        FixedOffset::east_opt(0),
    );
}

#[test]
fn patch_bodies_change_exactly_the_listed_fields() {
    let p = privacy();
    let l = lead();
    let to = with(&fields("Call"), |f| {
        f.timing = Timing::AllDay {
            start: day(2026, 5, 2),
            end: day(2026, 5, 3),
        };
        f.notes = "n".into();
    });
    let body = patch_body(
        set(&[Field::Title]),
        &to,
        &l,
        &p,
        Some(&EventStatus::Confirmed),
    );
    assert_eq!(body, json!({"summary": "Call — Ann Smith"}));
    let body = patch_body(set(&[Field::Timing]), &to, &l, &p, None);
    assert_eq!(
        body,
        json!({
            "start": {"date": "2026-05-02", "dateTime": null, "timeZone": null},
            "end": {"date": "2026-05-03", "dateTime": null, "timeZone": null},
        })
    );
    let body = patch_body(
        set(&[Field::Status]),
        &fields("x"),
        &l,
        &p,
        Some(&EventStatus::Tentative),
    );
    assert_eq!(body, json!({"status": "tentative"}));
    let body = patch_body(
        set(&[Field::Status]),
        &fields("x"),
        &l,
        &p,
        Some(&EventStatus::Cancelled),
    );
    assert_eq!(
        body,
        json!({"status": "confirmed"}),
        "restoring a deleted event"
    );
    let body = patch_body(set(&[Field::Notes, Field::Recurrence]), &to, &l, &p, None);
    assert_eq!(
        body,
        json!({"description": "n\n\n--- Bookline lead ---\nName: Ann Smith\nPhone: +1 555 0100", "recurrence": []})
    );
}

/// Instants at the edges of daylight saving time, where a wall-clock reading is missing
/// (spring gap) or twice there (autumn overlap), in the zones the generator uses.
const DST_EDGES: [&str; 8] = [
    "2026-03-29T00:30:00Z", // Europe/Berlin: 01:30 CET, just before the gap
    "2026-03-29T01:00:00Z", // 03:00 CEST: the gap's end (02:xx never happens)
    "2026-10-25T00:30:00Z", // 02:30 CEST, first pass through the overlap
    "2026-10-25T01:30:00Z", // 02:30 CET, second pass
    "2026-03-08T07:00:00Z", // America/New_York: 03:00 EDT, the gap's end
    "2026-03-08T06:59:00Z", // 01:59 EST, just before it
    "2026-11-01T05:30:00Z", // 01:30 EDT, first pass through the overlap
    "2026-11-01T06:30:00Z", // 01:30 EST, second pass
];

fn arb_start() -> impl Strategy<Value = chrono::DateTime<Utc>> {
    prop_oneof![
        // Anywhere in about ten years …
        (0i64..5_000_000).prop_map(
            |m| Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + ChronoDuration::minutes(m)
        ),
        // … and on purpose at a DST edge, give or take an hour.
        (prop::sample::select(DST_EDGES.to_vec()), -60i64..=60).prop_map(|(edge, m)| {
            chrono::DateTime::parse_from_rfc3339(edge)
                .unwrap()
                .with_timezone(&Utc)
                + ChronoDuration::minutes(m)
        }),
    ]
}

fn arb_sync_fields() -> impl Strategy<Value = SyncFields> {
    (
        (
            "[A-Za-z ]{0,12}",
            any::<bool>(),
            arb_start(),
            1i64..200_000,
            prop::sample::select(vec![
                "Europe/Berlin",
                "America/New_York",
                "Australia/Lord_Howe",
                "Asia/Kathmandu",
                "UTC",
            ]),
        ),
        (
            "[a-z\n]{0,20}",
            0u64..3,
            prop_oneof![Just(String::new()), "[A-Za-z0-9 ,.-]{1,40}"],
            prop_oneof![3 => Just(SyncStatus::Active), 1 => Just(SyncStatus::Cancelled)],
            prop_oneof![
                2 => Just(Vec::new()),
                1 => Just(vec!["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6".to_owned()]),
                1 => Just(vec![
                    "RRULE:FREQ=DAILY;INTERVAL=2".to_owned(),
                    "EXDATE;TZID=Europe/Berlin:20260330T090000".to_owned(),
                ]),
            ],
        ),
    )
        .prop_map(
            |(
                (title, all_day, start, len_min, zone),
                (notes, days, location, status, recurrence),
            )| {
                let timing = if all_day {
                    let d = start.date_naive();
                    Timing::AllDay {
                        start: d,
                        end: d.checked_add_days(chrono::Days::new(days + 1)).unwrap(),
                    }
                } else {
                    Timing::Timed {
                        start,
                        end: start + ChronoDuration::minutes(len_min),
                    }
                };
                SyncFields {
                    title,
                    timing,
                    timezone: zone.to_owned(),
                    location,
                    notes,
                    status,
                    recurrence,
                }
            },
        )
}

proptest! {
    #[test]
    fn fields_round_trip_through_an_event(f in arb_sync_fields(), cal_zone in prop::sample::select(vec!["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])) {
        let p = privacy();
        let l = lead();
        let e = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
        let ctx = MappingContext { calendar_timezone: cal_zone, privacy: &p, lead: &l };
        let back = fields_from_event(&via_json(&e), &ctx).unwrap();
        prop_assert!(back.same_as(&f), "{back:?} vs {f:?}");
    }
}

/// The same bodies against the emulator: insert with the derived id, a retried insert
/// answers 409, a timed → all-day patch reads back as all-day, and an update keeps
/// Google's other fields.
#[tokio::test]
async fn bodies_work_against_the_emulator() {
    use bookline_core::google::{CalendarClient, Endpoints, StaticTokenSource};
    use std::sync::Arc;

    let emu = crate::google::start().await;
    let account: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_emulator/accounts", emu.base_url()))
        .json(&json!({"email": "sync@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = account["access_token"].as_str().unwrap().to_owned();
    let client = CalendarClient::new(
        Endpoints::from_base(emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(token)),
    )
    .unwrap();
    let p = privacy();
    let l = lead();
    let ctx = MappingContext {
        calendar_timezone: "UTC",
        privacy: &p,
        lead: &l,
    };
    let f = SyncFields {
        recurrence: vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()],
        notes: "Agenda".into(),
        ..fields("Kickoff")
    };
    let body = event_for_insert(&APPT.to_owned(), &f, &l, &p).unwrap();
    let created = client.insert_event("primary", &body).await.unwrap();
    let side = google_side(&created, &ctx, None).unwrap();
    assert_eq!(side.event_id, ids::event_id_for(APPT).unwrap());
    assert_eq!(side.bookline_appointment_id.as_deref(), Some(APPT));
    assert!(side.fields.same_as(&f), "{:?}", side.fields);

    let again = client.insert_event("primary", &body).await.unwrap_err();
    assert!(again.is_duplicate(), "{again:?}");

    let all_day = with(&f, |f| {
        f.timing = Timing::AllDay {
            start: day(2026, 5, 2),
            end: day(2026, 5, 4),
        }
    });
    let patched = client
        .patch_event(
            "primary",
            &side.event_id,
            &patch_body(
                set(&[Field::Timing]),
                &all_day,
                &l,
                &p,
                created.status.as_ref(),
            ),
            created.etag.as_deref(),
        )
        .await
        .unwrap();
    let read = fields_from_event(&patched, &ctx).unwrap();
    assert!(read.same_as(&all_day), "{read:?}");
    assert!(patched.start.as_ref().unwrap().date_time.is_none());

    let mut full = client.get_event("primary", &side.event_id).await.unwrap();
    full.attendees = Some(vec![Attendee {
        email: Some("guest@example.com".into()),
        ..Attendee::default()
    }]);
    let full = client
        .update_event("primary", &side.event_id, &full, None)
        .await
        .unwrap();
    let mut edited = full.clone();
    apply_to_event(
        &mut edited,
        set(&[Field::Title]),
        &with(&all_day, |f| f.title = "Kickoff v2".into()),
        &l,
        &p,
    );
    let updated = client
        .update_event("primary", &side.event_id, &edited, full.etag.as_deref())
        .await
        .unwrap();
    assert_eq!(updated.summary.as_deref(), Some("Kickoff v2 — Ann Smith"));
    assert_eq!(updated.attendees, full.attendees);
    emu.shutdown().await;
}
