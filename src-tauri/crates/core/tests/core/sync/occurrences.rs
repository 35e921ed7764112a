use super::*;
use bookline_core::model::SeriesInstance;
use bookline_core::sync::decide::{GoogleInstance, InstanceRef};

const SERIES_APPT: &str = "01936f5e-8a4b-7c3d-9e2f-00000000000a";
const OCC_APPT: &str = "01936f5e-8a4b-7c3d-9e2f-00000000000b";
const ORIGINAL: &str = "2026-05-08T08:00:00Z";

fn series_event() -> String {
    ids::event_id_for(SERIES_APPT).unwrap()
}

fn series_link() -> LinkRecord {
    let f = with(&fields("Weekly"), |f| {
        f.recurrence = vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()]
    });
    LinkRecord {
        appointment_id: SERIES_APPT.into(),
        event_id: series_event(),
        snapshot: snap(&f, &f),
    }
}

fn series_ref() -> InstanceRef {
    InstanceRef {
        series_appointment_id: SERIES_APPT.into(),
        series_event_id: series_event(),
        original_start: ORIGINAL.into(),
    }
}

fn occurrence_row(f: SyncFields) -> CrmSide {
    CrmSide {
        appointment_id: OCC_APPT.into(),
        // Made before connecting: occurrences are changes of their series, not new
        // items, so that does not hold them back.
        instance_of: Some(SeriesInstance {
            series_id: SERIES_APPT.into(),
            original_start: ORIGINAL.into(),
        }),
        ..crm(f, -30, -30)
    }
}

fn occurrence_event(f: SyncFields) -> GoogleSide {
    GoogleSide {
        event_id: ids::instance_event_id(&series_event(), ORIGINAL).unwrap(),
        instance_of: Some(GoogleInstance {
            series_event_id: series_event(),
            original_start: ORIGINAL.into(),
        }),
        ..google(f, -30, 5)
    }
}

#[test]
fn instance_ids() {
    assert_eq!(
        ids::instance_event_id("abc123", "2026-05-08T10:00:00+02:00").as_deref(),
        Some("abc123_20260508T080000Z")
    );
    assert_eq!(
        ids::instance_event_id("abc123", "2026-05-08").as_deref(),
        Some("abc123_20260508")
    );
    assert_eq!(ids::instance_event_id("abc123", "next tuesday"), None);
}

#[test]
fn join_finds_the_series_and_pairs_occurrences() {
    let moved = fields("Weekly (moved)");
    let items = join(
        vec![occurrence_row(moved.clone())],
        vec![occurrence_event(moved.clone())],
        vec![series_link()],
        &ongoing(),
    );
    let occ: Vec<_> = items.iter().filter(|i| i.base.is_none()).collect();
    assert_eq!(occ.len(), 1);
    assert_eq!(occ[0].paired_by, Some(PairedBy::InstanceId));
    assert_eq!(occ[0].series, Some(series_ref()));
    // Equal on both sides: just linked.
    assert_eq!(
        decide(occ[0], Direction::Both, &ongoing()),
        vec![SyncOp::Link {
            snapshot: snap(&moved, &moved)
        }]
    );
}

#[test]
fn decisions() {
    let moved = fields("Weekly (moved)");
    let cancelled_occ = with(&moved, |f| f.status = SyncStatus::Cancelled);
    let with_series = |crm: Option<CrmSide>, google: Option<GoogleSide>, series: bool| {
        let mut i = item(crm, google, None, None);
        i.series = series.then(series_ref);
        i
    };
    let cases: Vec<(&str, SyncItem, Direction, Mode, Vec<SyncOp>)> = vec![
        (
            "CRM occurrence of a linked series goes to its Google occurrence",
            with_series(Some(occurrence_row(moved.clone())), None, true),
            Direction::Both,
            ongoing(),
            vec![
                SyncOp::CreateInGoogle {
                    fields: moved.clone(),
                    instance: Some(series_ref()),
                },
                SyncOp::Link {
                    snapshot: snap(&moved, &moved),
                },
            ],
        ),
        (
            "a cancelled CRM occurrence cancels the Google occurrence",
            with_series(Some(occurrence_row(cancelled_occ.clone())), None, true),
            Direction::CrmToGoogle,
            ongoing(),
            vec![
                SyncOp::CreateInGoogle {
                    fields: cancelled_occ.clone(),
                    instance: Some(series_ref()),
                },
                SyncOp::Link {
                    snapshot: snap(&cancelled_occ, &cancelled_occ),
                },
            ],
        ),
        (
            "CRM occurrence of a series not linked waits",
            with_series(Some(occurrence_row(moved.clone())), None, false),
            Direction::Both,
            ongoing(),
            skip(SkipReason::SeriesNotLinked),
        ),
        (
            "CRM occurrence under google-to-crm stays",
            with_series(Some(occurrence_row(moved.clone())), None, true),
            Direction::GoogleToCrm,
            ongoing(),
            skip(SkipReason::DirectionExcludes),
        ),
        (
            "Google occurrence moved: an occurrence row in the CRM",
            with_series(None, Some(occurrence_event(moved.clone())), true),
            Direction::Both,
            ongoing(),
            vec![
                SyncOp::CreateInCrm {
                    fields: moved.clone(),
                    appointment_id: None,
                    instance_of: Some(series_ref().series_instance()),
                },
                SyncOp::Link {
                    snapshot: snap(&moved, &moved),
                },
            ],
        ),
        (
            "Google occurrence cancelled: a cancelled occurrence row",
            with_series(
                None,
                Some(GoogleSide {
                    cancelled: true,
                    ..occurrence_event(cancelled_occ.clone())
                }),
                true,
            ),
            Direction::GoogleToCrm,
            ongoing(),
            vec![
                SyncOp::CreateInCrm {
                    fields: cancelled_occ.clone(),
                    appointment_id: None,
                    instance_of: Some(series_ref().series_instance()),
                },
                SyncOp::Link {
                    snapshot: snap(&cancelled_occ, &cancelled_occ),
                },
            ],
        ),
        (
            "Google occurrence of a series not linked waits",
            with_series(None, Some(occurrence_event(moved.clone())), false),
            Direction::Both,
            ongoing(),
            skip(SkipReason::SeriesNotLinked),
        ),
        (
            "Google occurrence under crm-to-google stays",
            with_series(None, Some(occurrence_event(moved.clone())), true),
            Direction::CrmToGoogle,
            ongoing(),
            skip(SkipReason::DirectionExcludes),
        ),
        (
            "backfill range applies to occurrences too",
            with_series(None, Some(occurrence_event(moved.clone())), true),
            Direction::Both,
            Mode::Backfill {
                direction: Direction::Both,
                range: Some(TimeRange {
                    start: None,
                    end: Some(t(-100)),
                }),
            },
            skip(SkipReason::OutsideRange),
        ),
    ];
    let mut failures = Vec::new();
    for (name, item, direction, mode, expect) in &cases {
        let got = decide(item, *direction, mode);
        if &got != expect {
            failures.push(format!(
                "{name}:\n  expected {expect:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mapping_reads_occurrences() {
    use bookline_core::google::Event;
    use bookline_core::sync::mapping::{google_side, MappingContext};
    use bookline_core::sync::privacy::PrivacySettings;
    let p = PrivacySettings::default();
    let l = bookline_core::model::Lead::default();
    let ctx = MappingContext {
        calendar_timezone: "Europe/Berlin",
        privacy: &p,
        lead: &l,
    };
    let moved: Event = serde_json::from_value(serde_json::json!({
        "id": "series1_20260508T080000Z", "status": "confirmed", "summary": "Weekly",
        "recurringEventId": "series1",
        "originalStartTime": {"dateTime": "2026-05-08T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "start": {"dateTime": "2026-05-08T12:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-05-08T13:00:00+02:00", "timeZone": "Europe/Berlin"},
    }))
    .unwrap();
    let g = google_side(&moved, &ctx, None).unwrap();
    assert_eq!(
        g.instance_of,
        Some(GoogleInstance {
            series_event_id: "series1".into(),
            original_start: "2026-05-08T08:00:00Z".into()
        })
    );
    assert_eq!(
        ids::instance_event_id("series1", &g.instance_of.unwrap().original_start).as_deref(),
        Some("series1_20260508T080000Z")
    );
    // A cancelled occurrence as a sync-token answer may send it: no start/end.
    let stub: Event = serde_json::from_value(serde_json::json!({
        "id": "series2_20260509", "status": "cancelled",
        "recurringEventId": "series2", "originalStartTime": {"date": "2026-05-09"},
    }))
    .unwrap();
    let g = google_side(&stub, &ctx, None).unwrap();
    assert!(g.cancelled);
    assert_eq!(g.instance_of.as_ref().unwrap().original_start, "2026-05-09");
    assert_eq!(
        g.fields.timing,
        Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 5, 9).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 5, 10).unwrap()
        }
    );
}

/// Writing a CRM occurrence to its Google occurrence id on the emulator: the answer
/// reads back as an occurrence of the same series and original start.
#[tokio::test]
async fn occurrence_round_trip_on_the_emulator() {
    use bookline_core::google::{CalendarClient, Endpoints, StaticTokenSource};
    use bookline_core::sync::mapping::{event_for_insert, google_side, patch_body, MappingContext};
    use bookline_core::sync::privacy::PrivacySettings;
    use std::sync::Arc;

    let emu = crate::google::start().await;
    let account: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_emulator/accounts", emu.base_url()))
        .json(&serde_json::json!({"email": "occ@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = CalendarClient::new(
        Endpoints::from_base(emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(
            account["access_token"].as_str().unwrap(),
        )),
    )
    .unwrap();
    let p = PrivacySettings::default();
    let l = bookline_core::model::Lead::default();
    let ctx = MappingContext {
        calendar_timezone: "UTC",
        privacy: &p,
        lead: &l,
    };
    // Weekly from 2026-05-01 08:00 UTC; the second occurrence is 2026-05-08 08:00 UTC.
    let series = SyncFields {
        timing: Timing::Timed {
            start: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap(),
        },
        timezone: "UTC".into(),
        recurrence: vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()],
        ..fields("Weekly")
    };
    let body = event_for_insert(&SERIES_APPT.to_owned(), &series, &l, &p).unwrap();
    client.insert_event("primary", &body).await.unwrap();

    let moved = SyncFields {
        title: "Weekly (moved)".into(),
        timing: Timing::Timed {
            start: Utc.with_ymd_and_hms(2026, 5, 8, 11, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 5, 8, 12, 0, 0).unwrap(),
        },
        recurrence: vec![],
        ..series.clone()
    };
    let occurrence_id = series_ref().event_id().unwrap();
    let written = client
        .patch_event(
            "primary",
            &occurrence_id,
            &patch_body(
                [Field::Title, Field::Timing].into_iter().collect(),
                &moved,
                &l,
                &p,
                None,
            ),
            None,
        )
        .await
        .unwrap();
    let g = google_side(&written, &ctx, None).unwrap();
    assert_eq!(g.event_id, occurrence_id);
    assert_eq!(
        g.instance_of,
        Some(GoogleInstance {
            series_event_id: series_event(),
            original_start: ORIGINAL.into()
        })
    );
    assert_eq!(g.fields.title, "Weekly (moved)");
    assert_eq!(g.fields.timing, moved.timing);
    emu.shutdown().await;
}

/// A Google series Bookline does not hold yet and its moved and cancelled
/// occurrences, decided in one batch (a page, a transfer's plan or chunk).
mod new_series_in_one_batch {
    use super::*;
    use bookline_core::sync::decide::pair_new_series;

    const NEW_SERIES_APPT: &str = "01936f5e-8a4b-7c3d-9e2f-00000000000c";
    const SECOND: &str = "2026-05-15T08:00:00Z";

    fn weekly() -> SyncFields {
        with(&fields("Weekly"), |f| {
            f.recurrence = vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()]
        })
    }

    fn master(created: i64) -> GoogleSide {
        GoogleSide {
            event_id: "googleseries1".into(),
            ..google(weekly(), created, created)
        }
    }

    fn occurrence(f: SyncFields, original: &str, cancelled: bool) -> GoogleSide {
        GoogleSide {
            event_id: ids::instance_event_id("googleseries1", original).unwrap(),
            instance_of: Some(GoogleInstance {
                series_event_id: "googleseries1".into(),
                original_start: original.into(),
            }),
            cancelled,
            ..google(f, -30, 5)
        }
    }

    /// `join` + `decide` + `pair_new_series`, with one id for a new series.
    fn plan(
        crm: Vec<CrmSide>,
        google: Vec<GoogleSide>,
        direction: Direction,
        mode: &Mode,
    ) -> (Vec<(SyncItem, Vec<SyncOp>)>, usize) {
        let decided = join(crm, google, vec![], mode)
            .into_iter()
            .map(|item| {
                let ops = decide(&item, direction, mode);
                (item, ops)
            })
            .collect();
        let mut ids_given = 0;
        let out = pair_new_series(
            decided,
            |(item, ops)| (item, ops),
            direction,
            mode,
            || {
                ids_given += 1;
                NEW_SERIES_APPT.to_owned()
            },
        );
        (out, ids_given)
    }

    fn series_instance(series: &str, original: &str) -> Option<SeriesInstance> {
        Some(SeriesInstance {
            series_id: series.into(),
            original_start: original.into(),
        })
    }

    #[test]
    fn land_together_with_the_series_first_whatever_the_order() {
        let moved = fields("Weekly (moved)");
        let cancelled = with(&fields("Weekly"), |f| f.status = SyncStatus::Cancelled);
        let events = vec![
            occurrence(cancelled.clone(), SECOND, true),
            master(5),
            occurrence(moved.clone(), ORIGINAL, false),
        ];
        for rotation in 0..events.len() {
            let mut google = events.clone();
            google.rotate_left(rotation);
            let (out, ids_given) = plan(vec![], google, Direction::Both, &ongoing());
            assert_eq!(ids_given, 1);
            let keys: Vec<_> = out
                .iter()
                .map(|(i, _)| i.key.event_id.clone().unwrap())
                .collect();
            assert_eq!(keys[0], "googleseries1", "the series first: {keys:?}");
            assert_eq!(
                out[0].1,
                vec![
                    SyncOp::CreateInCrm {
                        fields: weekly(),
                        appointment_id: Some(NEW_SERIES_APPT.into()),
                        instance_of: None,
                    },
                    SyncOp::Link {
                        snapshot: snap(&weekly(), &weekly()),
                    },
                ]
            );
            let ops_of = |original: &str| {
                let id = ids::instance_event_id("googleseries1", original).unwrap();
                out.iter()
                    .find(|(i, _)| i.key.event_id.as_deref() == Some(id.as_str()))
                    .map(|(_, ops)| ops.clone())
                    .unwrap()
            };
            assert_eq!(
                ops_of(ORIGINAL),
                vec![
                    SyncOp::CreateInCrm {
                        fields: moved.clone(),
                        appointment_id: None,
                        instance_of: series_instance(NEW_SERIES_APPT, ORIGINAL),
                    },
                    SyncOp::Link {
                        snapshot: snap(&moved, &moved),
                    },
                ]
            );
            assert_eq!(
                ops_of(SECOND),
                vec![
                    SyncOp::CreateInCrm {
                        fields: cancelled.clone(),
                        appointment_id: None,
                        instance_of: series_instance(NEW_SERIES_APPT, SECOND),
                    },
                    SyncOp::Link {
                        snapshot: snap(&cancelled, &cancelled),
                    },
                ]
            );
        }
    }

    #[test]
    fn wait_with_a_series_that_does_not_move() {
        let moved = fields("Weekly (moved)");
        // Made before connecting: ongoing sync leaves the series to a transfer, and
        // its occurrence waits with it.
        let (out, ids_given) = plan(
            vec![],
            vec![master(-60), occurrence(moved.clone(), ORIGINAL, false)],
            Direction::Both,
            &ongoing(),
        );
        assert_eq!(ids_given, 0);
        assert_eq!(out[0].1, skip(SkipReason::OldWaitsForBackfill));
        assert_eq!(out[1].1, skip(SkipReason::SeriesNotLinked));
        // A direction that does not write Bookline.
        let (out, ids_given) = plan(
            vec![],
            vec![master(5), occurrence(moved, ORIGINAL, false)],
            Direction::CrmToGoogle,
            &ongoing(),
        );
        assert_eq!(ids_given, 0);
        assert!(out
            .iter()
            .all(|(_, ops)| !ops.iter().any(|op| op.writes_to() == Some(Side::Crm))));
    }

    #[test]
    fn wait_for_a_series_linked_to_an_appointment_bookline_has() {
        // The old series was typed into both sides: the transfer links it. Its
        // moved occurrence is not created beside an occurrence row the CRM series
        // may already have for the same start.
        let moved = fields("Weekly (moved)");
        let crm_series = CrmSide {
            appointment_id: SERIES_APPT.into(),
            ..crm(weekly(), -60, -60)
        };
        let mode = backfill(Direction::GoogleToCrm);
        let (out, ids_given) = plan(
            vec![crm_series],
            vec![master(-60), occurrence(moved, ORIGINAL, false)],
            Direction::GoogleToCrm,
            &mode,
        );
        assert_eq!(ids_given, 0);
        let series = out
            .iter()
            .find(|(i, _)| i.key.appointment_id.as_deref() == Some(SERIES_APPT))
            .unwrap();
        assert_eq!(series.0.paired_by, Some(PairedBy::EqualContent));
        assert!(out
            .iter()
            .filter(|(i, _)| i.key.appointment_id.is_none())
            .all(|(_, ops)| *ops == skip(SkipReason::SeriesNotLinked)));
    }
}
