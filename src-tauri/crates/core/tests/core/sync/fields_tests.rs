use super::*;

#[test]
fn diff_and_take() {
    let a = fields("A");
    let b = with(&a, |f| {
        f.title = "B".into();
        f.recurrence = vec!["RRULE:FREQ=DAILY".into()];
    });
    let d = a.diff(&b);
    assert_eq!(d, set(&[Field::Title, Field::Recurrence]));
    assert_eq!(a.with_fields_from(&b, d), b);
    assert!(a.with_fields_from(&b, set(&[Field::Title])).diff(&b) == set(&[Field::Recurrence]));
}

#[test]
fn timezone_does_not_matter_for_all_day() {
    let day = |d| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
    let a = with(&fields("A"), |f| {
        f.timing = Timing::AllDay {
            start: day(1),
            end: day(2),
        }
    });
    let b = with(&a, |f| f.timezone = "Asia/Tokyo".into());
    assert!(a.same_as(&b));
    let timed = fields("A");
    let timed_tokyo = with(&timed, |f| f.timezone = "Asia/Tokyo".into());
    assert_eq!(timed.diff(&timed_tokyo), set(&[Field::Timezone]));
}

#[test]
fn field_set_serializes_as_names() {
    let s = set(&[Field::Notes, Field::Title]);
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"["title","notes"]"#);
    let back: FieldSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(FieldSet::all().len(), Field::ALL.len());
}

#[test]
fn snapshot_round_trips_through_json() {
    let f = with(&fields("A"), |f| {
        f.recurrence = vec![
            "RRULE:FREQ=WEEKLY".into(),
            "EXDATE;TZID=Europe/Berlin:20260608T100000".into(),
        ]
    });
    let json = serde_json::to_string(&snap(&f, &f)).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap(&f, &f));
}

#[test]
fn status_mapping() {
    use bookline_core::model::Status;
    assert_eq!(SyncStatus::from_crm(Status::Done), SyncStatus::Active);
    assert_eq!(
        SyncStatus::from_crm(Status::Cancelled),
        SyncStatus::Cancelled
    );
    assert_eq!(SyncStatus::Active.to_crm(Status::Done), Status::Done);
    assert_eq!(SyncStatus::Active.to_crm(Status::Cancelled), Status::Booked);
    assert_eq!(
        SyncStatus::Cancelled.to_crm(Status::Done),
        Status::Cancelled
    );
    assert_eq!(SyncStatus::from_google("tentative"), SyncStatus::Active);
    assert_eq!(SyncStatus::from_google("cancelled"), SyncStatus::Cancelled);
    assert_eq!(SyncStatus::Active.to_google(Some("tentative")), "tentative");
    assert_eq!(SyncStatus::Active.to_google(Some("cancelled")), "confirmed");
    assert_eq!(SyncStatus::Cancelled.to_google(None), "cancelled");
}

#[test]
fn direction_serde_names() {
    for (d, name) in [
        (Direction::Both, "\"both\""),
        (Direction::GoogleToCrm, "\"google-to-crm\""),
        (Direction::CrmToGoogle, "\"crm-to-google\""),
    ] {
        assert_eq!(serde_json::to_string(&d).unwrap(), name);
        assert_eq!(serde_json::from_str::<Direction>(name).unwrap(), d);
    }
}

#[test]
fn time_range_overlap() {
    let r = TimeRange {
        start: Some(t(0)),
        end: Some(t(60)),
    };
    assert!(r.contains(&Timing::Timed {
        start: t(-10),
        end: t(1)
    }));
    assert!(!r.contains(&Timing::Timed {
        start: t(-10),
        end: t(0)
    }));
    assert!(!r.contains(&Timing::Timed {
        start: t(60),
        end: t(70)
    }));
    let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    assert!(r.contains(&Timing::AllDay {
        start: day,
        end: day.succ_opt().unwrap()
    }));
    assert!(TimeRange::default().contains(&Timing::Timed {
        start: t(-1000),
        end: t(-999)
    }));
}
