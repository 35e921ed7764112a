//! Tests of the sync engine's pure parts: decisions (table-driven per arm, and
//! properties), join, the delete guard, event ids, privacy rendering, the rate limiter
//! and backoff, and the engine's SQL schema on a real SQLite file.

use bookline_core::model::{Origin, Timing};
use bookline_core::sync::fields::{Field, FieldSet, SyncFields, SyncStatus};
use bookline_core::sync::ids;
use bookline_core::sync::{
    decide, decide_all, guard_deletes, join, CrmSide, Decision, DeletePolicy, Direction,
    GoogleSide, LinkRecord, Mode, PairedBy, Side, SkipReason, Snapshot, Summary, SyncItem, SyncKey,
    SyncOp, TimeRange,
};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};

const APPT: &str = "01936f5e-8a4b-7c3d-9e2f-0123456789ab";

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).single().unwrap() + ChronoDuration::minutes(minutes)
}

fn connected() -> DateTime<Utc> {
    t(0)
}

fn ongoing() -> Mode {
    Mode::Ongoing {
        connected_at: connected(),
    }
}

fn backfill(direction: Direction) -> Mode {
    Mode::Backfill {
        direction,
        range: None,
    }
}

fn fields(title: &str) -> SyncFields {
    SyncFields {
        title: title.to_owned(),
        timing: Timing::Timed {
            start: t(24 * 60),
            end: t(25 * 60),
        },
        timezone: "Europe/Berlin".to_owned(),
        location: String::new(),
        notes: String::new(),
        status: SyncStatus::Active,
        recurrence: Vec::new(),
    }
}

fn with(f: &SyncFields, edit: impl FnOnce(&mut SyncFields)) -> SyncFields {
    let mut f = f.clone();
    edit(&mut f);
    f
}

fn crm(f: SyncFields, created: i64, updated: i64) -> CrmSide {
    CrmSide {
        appointment_id: APPT.to_owned(),
        fields: f,
        origin: Origin::Crm,
        created_at: t(created),
        updated_at: t(updated),
        deleted: false,
        source_event_id: None,
        instance_of: None,
    }
}

fn deleted(c: CrmSide) -> CrmSide {
    CrmSide { deleted: true, ..c }
}

fn google(f: SyncFields, created: i64, updated: i64) -> GoogleSide {
    GoogleSide {
        event_id: "googleevent1".to_owned(),
        fields: f,
        created: t(created),
        updated: t(updated),
        cancelled: false,
        bookline_appointment_id: None,
        instance_of: None,
    }
}

fn cancelled(g: GoogleSide) -> GoogleSide {
    GoogleSide {
        cancelled: true,
        // Google's deletion records in a sync-token answer may carry only the id.
        fields: with(&g.fields, |f| {
            f.title.clear();
            f.status = SyncStatus::Cancelled;
        }),
        ..g
    }
}

fn snap(c: &SyncFields, g: &SyncFields) -> Snapshot {
    Snapshot {
        crm: c.clone(),
        google: g.clone(),
    }
}

fn item(
    crm: Option<CrmSide>,
    google: Option<GoogleSide>,
    base: Option<Snapshot>,
    paired_by: Option<PairedBy>,
) -> SyncItem {
    SyncItem {
        key: SyncKey {
            appointment_id: crm.as_ref().map(|c| c.appointment_id.clone()),
            event_id: google.as_ref().map(|g| g.event_id.clone()),
        },
        crm,
        google,
        base,
        paired_by,
        series: None,
    }
}

fn linked(crm: Option<CrmSide>, google: Option<GoogleSide>, base: Snapshot) -> SyncItem {
    item(crm, google, Some(base), Some(PairedBy::Link))
}

fn set(fields: &[Field]) -> FieldSet {
    fields.iter().copied().collect()
}

fn skip(reason: SkipReason) -> Vec<SyncOp> {
    vec![SyncOp::Skip { reason }]
}

mod decide_table {
    use super::*;

    struct Case {
        name: &'static str,
        item: SyncItem,
        direction: Direction,
        mode: Mode,
        expect: Vec<SyncOp>,
    }

    fn cases() -> Vec<Case> {
        let f0 = fields("Call with Ann");
        let renamed = with(&f0, |f| f.title = "Call with Ann (moved)".into());
        let located = with(&f0, |f| f.location = "Office".into());
        let cancelled_f = with(&f0, |f| f.status = SyncStatus::Cancelled);
        let base = snap(&f0, &f0);
        let google_origin = |c: CrmSide| CrmSide {
            origin: Origin::Google,
            ..c
        };
        vec![
            // ---- linked ----
            Case {
                name: "backfill leaves linked items alone",
                item: linked(Some(crm(renamed.clone(), 1, 5)), None, base.clone()),
                direction: Direction::Both,
                mode: backfill(Direction::Both),
                expect: skip(SkipReason::AlreadyLinked),
            },
            Case {
                name: "deleted on both sides: unlink",
                item: linked(
                    Some(deleted(crm(f0.clone(), 1, 5))),
                    Some(cancelled(google(f0.clone(), 1, 5))),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::Unlink],
            },
            Case {
                name: "CRM delete deletes the event",
                item: linked(Some(deleted(crm(f0.clone(), 1, 5))), None, base.clone()),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: vec![SyncOp::DeleteInGoogle, SyncOp::Unlink],
            },
            Case {
                name: "CRM delete when the event is already cancelled: unlink only",
                item: linked(
                    Some(deleted(crm(f0.clone(), 1, 5))),
                    None,
                    snap(&f0, &cancelled_f),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::Unlink],
            },
            Case {
                name: "CRM delete under google-to-crm keeps a tombstone link",
                item: linked(
                    Some(deleted(crm(f0.clone(), 1, 5))),
                    Some(google(f0.clone(), 1, 1)),
                    base.clone(),
                ),
                direction: Direction::GoogleToCrm,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&cancelled_f, &f0),
                }],
            },
            Case {
                name: "linked, no news from either side",
                item: linked(None, None, base.clone()),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "linked, nothing changed",
                item: linked(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(google(f0.clone(), 1, 1)),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "CRM edit goes to Google",
                item: linked(Some(crm(renamed.clone(), 1, 5)), None, base.clone()),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::UpdateGoogle {
                        fields: set(&[Field::Title]),
                        to: renamed.clone(),
                    },
                    SyncOp::Link {
                        snapshot: snap(&renamed, &renamed),
                    },
                ],
            },
            Case {
                name: "Google edit goes to the CRM",
                item: linked(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(google(located.clone(), 1, 5)),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::UpdateCrm {
                        fields: set(&[Field::Location]),
                        to: located.clone(),
                    },
                    SyncOp::Link {
                        snapshot: snap(&located, &located),
                    },
                ],
            },
            Case {
                name: "different fields on both sides merge",
                item: linked(
                    Some(crm(renamed.clone(), 1, 9)),
                    Some(google(located.clone(), 1, 5)),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: {
                    let merged = with(&renamed, |f| f.location = "Office".into());
                    vec![
                        SyncOp::UpdateGoogle {
                            fields: set(&[Field::Title]),
                            to: merged.clone(),
                        },
                        SyncOp::UpdateCrm {
                            fields: set(&[Field::Location]),
                            to: merged.clone(),
                        },
                        SyncOp::Link {
                            snapshot: snap(&merged, &merged),
                        },
                    ]
                },
            },
            Case {
                name: "same field on both: the later edit wins, conflict recorded",
                item: linked(
                    Some(crm(renamed.clone(), 1, 5)),
                    Some(google(with(&f0, |f| f.title = "Lunch".into()), 1, 9)),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: {
                    let lunch = with(&f0, |f| f.title = "Lunch".into());
                    vec![
                        SyncOp::RecordConflict {
                            field: Field::Title,
                            winner: Side::Google,
                        },
                        SyncOp::UpdateCrm {
                            fields: set(&[Field::Title]),
                            to: lunch.clone(),
                        },
                        SyncOp::Link {
                            snapshot: snap(&lunch, &lunch),
                        },
                    ]
                },
            },
            Case {
                name: "same change on both sides: no conflict, just the new snapshot",
                item: linked(
                    Some(crm(renamed.clone(), 1, 5)),
                    Some(google(renamed.clone(), 1, 9)),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&renamed, &renamed),
                }],
            },
            Case {
                name: "crm-to-google: a Google edit stays in Google, snapshot updated",
                item: linked(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(google(renamed.clone(), 1, 5)),
                    base.clone(),
                ),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&f0, &renamed),
                }],
            },
            Case {
                name: "google-to-crm: a CRM edit stays in the CRM",
                item: linked(Some(crm(renamed.clone(), 1, 5)), None, base.clone()),
                direction: Direction::GoogleToCrm,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&renamed, &f0),
                }],
            },
            Case {
                name: "event deleted in Google: CRM-made appointment is cancelled",
                item: linked(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(cancelled(google(f0.clone(), 1, 5))),
                    base.clone(),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::CancelInCrm,
                    SyncOp::Link {
                        snapshot: snap(&cancelled_f, &cancelled_f),
                    },
                ],
            },
            Case {
                name: "event deleted in Google: imported appointment is deleted",
                item: linked(
                    Some(google_origin(crm(f0.clone(), 1, 1))),
                    Some(cancelled(google(f0.clone(), 1, 5))),
                    base.clone(),
                ),
                direction: Direction::GoogleToCrm,
                mode: ongoing(),
                expect: vec![SyncOp::DeleteInCrm, SyncOp::Unlink],
            },
            Case {
                name: "appointment cancelled in the CRM deletes the event",
                item: linked(Some(crm(cancelled_f.clone(), 1, 5)), None, base.clone()),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::DeleteInGoogle,
                    SyncOp::Link {
                        snapshot: snap(&cancelled_f, &cancelled_f),
                    },
                ],
            },
            Case {
                name: "un-cancelled in the CRM restores the event",
                item: linked(
                    Some(crm(f0.clone(), 1, 9)),
                    None,
                    snap(&cancelled_f, &cancelled_f),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::UpdateGoogle {
                        fields: FieldSet::all(),
                        to: f0.clone(),
                    },
                    SyncOp::Link {
                        snapshot: snap(&f0, &f0),
                    },
                ],
            },
            Case {
                name: "edits to a cancelled event are not sent",
                item: linked(
                    Some(crm(with(&cancelled_f, |f| f.notes = "x".into()), 1, 9)),
                    None,
                    snap(&cancelled_f, &cancelled_f),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&with(&cancelled_f, |f| f.notes = "x".into()), &cancelled_f),
                }],
            },
            Case {
                name: "CRM row gone without a deletion record: not written, not deleted",
                item: linked(None, Some(google(renamed.clone(), 1, 5)), base.clone()),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&f0, &renamed),
                }],
            },
            Case {
                name: "both: a difference left by a one-way period is settled by the later edit",
                item: linked(
                    Some(crm(renamed.clone(), 1, 9)),
                    Some(google(with(&f0, |f| f.notes = "n".into()), 1, 5)),
                    snap(&renamed, &f0),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: {
                    let merged = with(&renamed, |f| f.notes = "n".into());
                    vec![
                        SyncOp::UpdateGoogle {
                            fields: set(&[Field::Title]),
                            to: merged.clone(),
                        },
                        SyncOp::UpdateCrm {
                            fields: set(&[Field::Notes]),
                            to: merged.clone(),
                        },
                        SyncOp::Link {
                            snapshot: snap(&merged, &merged),
                        },
                    ]
                },
            },
            // ---- never linked ----
            Case {
                name: "nothing at all",
                item: item(None, None, None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "deleted before it was ever synced",
                item: item(Some(deleted(crm(f0.clone(), 1, 2))), None, None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "a cancelled event never linked",
                item: item(None, Some(cancelled(google(f0.clone(), 1, 2))), None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "gone on both sides before a link was written",
                item: item(
                    Some(deleted(crm(f0.clone(), 1, 2))),
                    Some(cancelled(google(f0.clone(), 1, 2))),
                    None,
                    Some(PairedBy::DerivedEventId),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![],
            },
            Case {
                name: "new CRM appointment goes to Google",
                item: item(Some(crm(f0.clone(), 1, 1)), None, None, None),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: vec![
                    SyncOp::CreateInGoogle {
                        fields: f0.clone(),
                        instance: None,
                    },
                    SyncOp::Link {
                        snapshot: base.clone(),
                    },
                ],
            },
            Case {
                name: "old CRM appointment waits for backfill",
                item: item(Some(crm(f0.clone(), -10, -10)), None, None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: skip(SkipReason::OldWaitsForBackfill),
            },
            Case {
                name: "new CRM appointment under google-to-crm stays",
                item: item(Some(crm(f0.clone(), 1, 1)), None, None, None),
                direction: Direction::GoogleToCrm,
                mode: ongoing(),
                expect: skip(SkipReason::DirectionExcludes),
            },
            Case {
                name: "a cancelled appointment is not created anywhere",
                item: item(Some(crm(cancelled_f.clone(), 1, 1)), None, None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: skip(SkipReason::Cancelled),
            },
            Case {
                name: "backfill moves an old CRM appointment",
                item: item(Some(crm(f0.clone(), -10, -10)), None, None, None),
                direction: Direction::GoogleToCrm,
                mode: backfill(Direction::CrmToGoogle),
                expect: vec![
                    SyncOp::CreateInGoogle {
                        fields: f0.clone(),
                        instance: None,
                    },
                    SyncOp::Link {
                        snapshot: base.clone(),
                    },
                ],
            },
            Case {
                name: "backfill outside its range",
                item: item(Some(crm(f0.clone(), -10, -10)), None, None, None),
                direction: Direction::Both,
                mode: Mode::Backfill {
                    direction: Direction::Both,
                    range: Some(TimeRange {
                        start: Some(t(48 * 60)),
                        end: None,
                    }),
                },
                expect: skip(SkipReason::OutsideRange),
            },
            Case {
                name: "new Google event comes to the CRM",
                item: item(None, Some(google(f0.clone(), 1, 1)), None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::CreateInCrm {
                        fields: f0.clone(),
                        appointment_id: None,
                        instance_of: None,
                    },
                    SyncOp::Link {
                        snapshot: base.clone(),
                    },
                ],
            },
            Case {
                name: "old Google event waits for backfill",
                item: item(None, Some(google(f0.clone(), -5, 3)), None, None),
                direction: Direction::Both,
                mode: ongoing(),
                expect: skip(SkipReason::OldWaitsForBackfill),
            },
            Case {
                name: "new Google event under crm-to-google stays",
                item: item(None, Some(google(f0.clone(), 1, 1)), None, None),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: skip(SkipReason::DirectionExcludes),
            },
            Case {
                name: "ongoing sync never imports Bookline's own event",
                item: item(
                    None,
                    Some(GoogleSide {
                        bookline_appointment_id: Some(APPT.into()),
                        ..google(f0.clone(), 1, 1)
                    }),
                    None,
                    None,
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: skip(SkipReason::BooklineEventWithoutAppointment),
            },
            Case {
                name: "backfill restores Bookline's event under its appointment id",
                item: item(
                    None,
                    Some(GoogleSide {
                        bookline_appointment_id: Some(APPT.into()),
                        ..google(f0.clone(), -5, -5)
                    }),
                    None,
                    None,
                ),
                direction: Direction::Both,
                mode: backfill(Direction::GoogleToCrm),
                expect: vec![
                    SyncOp::CreateInCrm {
                        fields: f0.clone(),
                        appointment_id: Some(APPT.into()),
                        instance_of: None,
                    },
                    SyncOp::Link {
                        snapshot: base.clone(),
                    },
                ],
            },
            Case {
                name: "deleted before the link was written: delete our event",
                item: item(
                    Some(deleted(crm(f0.clone(), 1, 3))),
                    Some(google(f0.clone(), 1, 1)),
                    None,
                    Some(PairedBy::DerivedEventId),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::DeleteInGoogle],
            },
            Case {
                name: "deleted before the link was written, google-to-crm: tombstone link",
                item: item(
                    Some(deleted(crm(f0.clone(), 1, 3))),
                    Some(google(f0.clone(), 1, 1)),
                    None,
                    Some(PairedBy::DerivedEventId),
                ),
                direction: Direction::GoogleToCrm,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&cancelled_f, &f0),
                }],
            },
            Case {
                name: "event deleted before the link was written: cancel and link",
                item: item(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(cancelled(google(f0.clone(), 1, 3))),
                    None,
                    Some(PairedBy::BooklineProperty),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::CancelInCrm,
                    SyncOp::Link {
                        snapshot: snap(&cancelled_f, &with(&cancelled_f, |f| f.title.clear())),
                    },
                ],
            },
            Case {
                name: "imported appointment whose event was deleted before linking: delete",
                item: item(
                    Some(google_origin(crm(f0.clone(), 1, 1))),
                    Some(cancelled(google(f0.clone(), 1, 3))),
                    None,
                    Some(PairedBy::SourceEventId),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![SyncOp::DeleteInCrm],
            },
            Case {
                name: "event deleted before linking, crm-to-google: just link",
                item: item(
                    Some(crm(f0.clone(), 1, 1)),
                    Some(cancelled(google(f0.clone(), 1, 3))),
                    None,
                    Some(PairedBy::DerivedEventId),
                ),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&f0, &with(&cancelled_f, |f| f.title.clear())),
                }],
            },
            Case {
                name: "equal on both sides: link",
                item: item(
                    Some(crm(f0.clone(), -9, -9)),
                    Some(google(f0.clone(), -8, -8)),
                    None,
                    Some(PairedBy::EqualContent),
                ),
                direction: Direction::Both,
                mode: backfill(Direction::Both),
                expect: vec![SyncOp::Link {
                    snapshot: base.clone(),
                }],
            },
            Case {
                name: "look-alikes with different notes: link, overwrite nothing",
                item: item(
                    Some(crm(with(&f0, |f| f.notes = "mine".into()), -9, -1)),
                    Some(google(f0.clone(), -8, -8)),
                    None,
                    Some(PairedBy::EqualContent),
                ),
                direction: Direction::Both,
                mode: backfill(Direction::Both),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&with(&f0, |f| f.notes = "mine".into()), &f0),
                }],
            },
            Case {
                name: "our event after a crash, edited in the CRM since: update and link",
                item: item(
                    Some(crm(renamed.clone(), 1, 9)),
                    Some(GoogleSide {
                        bookline_appointment_id: Some(APPT.into()),
                        ..google(f0.clone(), 1, 2)
                    }),
                    None,
                    Some(PairedBy::BooklineProperty),
                ),
                direction: Direction::Both,
                mode: ongoing(),
                expect: vec![
                    SyncOp::UpdateGoogle {
                        fields: set(&[Field::Title]),
                        to: renamed.clone(),
                    },
                    SyncOp::Link {
                        snapshot: snap(&renamed, &renamed),
                    },
                ],
            },
            Case {
                name: "re-linked by id, Google later but direction crm-to-google: link only",
                item: item(
                    Some(crm(renamed.clone(), 1, 2)),
                    Some(google(f0.clone(), 1, 9)),
                    None,
                    Some(PairedBy::SourceEventId),
                ),
                direction: Direction::CrmToGoogle,
                mode: ongoing(),
                expect: vec![SyncOp::Link {
                    snapshot: snap(&renamed, &f0),
                }],
            },
        ]
    }

    #[test]
    fn every_arm() {
        let cases = cases();
        let mut failures = Vec::new();
        for case in &cases {
            let got = decide(&case.item, case.direction, &case.mode);
            if got != case.expect {
                failures.push(format!(
                    "{}:\n  expected {:?}\n  got      {:?}",
                    case.name, case.expect, got
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(cases.len() >= 40);
    }
}

mod join_tests {
    use super::*;

    fn crm_with_id(id: &str, f: SyncFields) -> CrmSide {
        CrmSide {
            appointment_id: id.to_owned(),
            ..crm(f, -5, -5)
        }
    }

    fn google_with_id(id: &str, f: SyncFields) -> GoogleSide {
        GoogleSide {
            event_id: id.to_owned(),
            ..google(f, -5, -5)
        }
    }

    const A2: &str = "01936f5e-8a4b-7c3d-9e2f-000000000002";
    const A3: &str = "01936f5e-8a4b-7c3d-9e2f-000000000003";
    const A4: &str = "01936f5e-8a4b-7c3d-9e2f-000000000004";
    const A5: &str = "01936f5e-8a4b-7c3d-9e2f-000000000005";

    fn inputs() -> (Vec<CrmSide>, Vec<GoogleSide>, Vec<LinkRecord>) {
        let f = fields("Demo");
        let crm = vec![
            crm_with_id(APPT, f.clone()),
            crm_with_id(A2, fields("Two")),
            CrmSide {
                source_event_id: Some("importedfromgoogle".into()),
                ..crm_with_id(A3, fields("Three"))
            },
            crm_with_id(A4, fields("Look-alike")),
            crm_with_id(A5, fields("Alone")),
        ];
        let google = vec![
            google_with_id("linkedevent", f.clone()),
            GoogleSide {
                bookline_appointment_id: Some(A2.into()),
                ..google_with_id("someotherid", fields("Two"))
            },
            google_with_id("importedfromgoogle", fields("Three")),
            google_with_id("lookalike", fields("Look-alike")),
            google_with_id("unmatched", fields("Nobody")),
        ];
        let links = vec![LinkRecord {
            appointment_id: APPT.into(),
            event_id: "linkedevent".into(),
            snapshot: snap(&f, &f),
        }];
        (crm, google, links)
    }

    fn pairs(items: &[SyncItem]) -> Vec<(Option<String>, Option<String>, Option<PairedBy>)> {
        items
            .iter()
            .map(|i| {
                (
                    i.key.appointment_id.clone(),
                    i.key.event_id.clone(),
                    i.paired_by,
                )
            })
            .collect()
    }

    #[test]
    fn pairs_by_link_property_source_and_in_backfill_by_content() {
        let (c, g, l) = inputs();
        let items = join(c, g, l, &backfill(Direction::Both));
        let got = pairs(&items);
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(
            got,
            vec![
                (None, s("unmatched"), None),
                (s(A2), s("someotherid"), Some(PairedBy::BooklineProperty)),
                (
                    s(A3),
                    s("importedfromgoogle"),
                    Some(PairedBy::SourceEventId)
                ),
                (s(A4), s("lookalike"), Some(PairedBy::EqualContent)),
                (s(A5), None, None),
                (s(APPT), s("linkedevent"), Some(PairedBy::Link)),
            ]
        );
        assert!(items[5].base.is_some());
    }

    #[test]
    fn ongoing_does_not_pair_look_alikes() {
        let (c, g, l) = inputs();
        let items = join(c, g, l, &ongoing());
        assert!(items
            .iter()
            .all(|i| i.paired_by != Some(PairedBy::EqualContent)));
        assert!(items
            .iter()
            .any(|i| i.key.event_id.as_deref() == Some("lookalike")
                && i.key.appointment_id.is_none()));
    }

    #[test]
    fn pairs_by_derived_event_id() {
        let crm = vec![crm_with_id(A2, fields("X"))];
        let google = vec![google_with_id(&ids::event_id_for(A2).unwrap(), fields("Y"))];
        let items = join(crm, google, vec![], &ongoing());
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].paired_by, Some(PairedBy::DerivedEventId));
    }

    #[test]
    fn input_order_does_not_matter() {
        let (c, g, l) = inputs();
        let a = join(c.clone(), g.clone(), l.clone(), &backfill(Direction::Both));
        let b = join(
            c.into_iter().rev().collect(),
            g.into_iter().rev().collect(),
            l,
            &backfill(Direction::Both),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn look_alikes_pair_one_to_one() {
        let crm = vec![
            crm_with_id(A2, fields("Same")),
            crm_with_id(A3, fields("Same")),
        ];
        let google = vec![
            google_with_id("ga", fields("Same")),
            google_with_id("gb", fields("Same")),
            google_with_id("gc", fields("Same")),
        ];
        let items = join(crm, google, vec![], &backfill(Direction::Both));
        let paired: Vec<_> = items
            .iter()
            .filter(|i| i.paired_by == Some(PairedBy::EqualContent))
            .collect();
        assert_eq!(paired.len(), 2);
        assert_eq!(paired[0].key.appointment_id.as_deref(), Some(A2));
        assert_eq!(paired[0].key.event_id.as_deref(), Some("ga"));
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn backfill_preview_counts() {
        let (c, g, l) = inputs();
        let decisions = decide_all(c, g, l, Direction::Both, &backfill(Direction::Both));
        let s = Summary::of(&decisions);
        assert_eq!(s.create_in_google, 1, "{s:?}"); // A5
        assert_eq!(s.create_in_crm, 1, "{s:?}"); // unmatched
        assert_eq!(s.linked, 3, "{s:?}"); // A2, A3, A4
        assert_eq!(s.skipped.get(&SkipReason::AlreadyLinked), Some(&1));
    }
}

mod guard {
    use super::*;

    fn deletes(n: usize, op: SyncOp) -> Vec<Decision> {
        (0..n)
            .map(|i| Decision {
                key: SyncKey {
                    appointment_id: Some(format!("a{i}")),
                    event_id: None,
                },
                ops: vec![op.clone(), SyncOp::Unlink],
            })
            .collect()
    }

    #[test]
    fn thresholds() {
        let p = DeletePolicy::default();
        let g = guard_deletes(&deletes(21, SyncOp::DeleteInGoogle), 10_000, 10_000, &p);
        assert_eq!((g.google_deletes, g.crm_deletes), (21, 0));
        assert!(g.needs_confirmation);
        assert!(
            !guard_deletes(&deletes(20, SyncOp::DeleteInGoogle), 10_000, 10_000, &p)
                .needs_confirmation
        );
        // 6 of 50 is over 10 %.
        assert!(guard_deletes(&deletes(6, SyncOp::CancelInCrm), 50, 1000, &p).needs_confirmation);
        // 5 of 10 is half, but five deletes is an ordinary edit session.
        assert!(!guard_deletes(&deletes(5, SyncOp::DeleteInCrm), 10, 10, &p).needs_confirmation);
        assert!(!guard_deletes(&[], 0, 0, &p).needs_confirmation);
    }

    /// Spec §3: more than 20 items, or more than 10 % of the calendar, asks first.
    #[test]
    fn boundaries_of_the_spec() {
        let p = DeletePolicy::default();
        let asks = |crm: usize, google: usize, crm_total: usize, google_total: usize| {
            bookline_core::sync::decide::guard_totals(crm, google, crm_total, google_total, &p)
                .needs_confirmation
        };
        // 20 never asks by count; 21 always does, on either side.
        assert!(!asks(20, 0, 100_000, 100_000));
        assert!(asks(21, 0, 100_000, 100_000));
        assert!(!asks(0, 20, 100_000, 100_000));
        assert!(asks(0, 21, 100_000, 100_000));
        // 10 % of 100 is 10: 10 does not ask, 11 does.
        assert!(!asks(10, 0, 100, 100));
        assert!(asks(11, 0, 100, 100));
        assert!(!asks(0, 10, 100, 100));
        assert!(asks(0, 11, 100, 100));
        // 10 % of 150 is 15: 15 does not ask, 16 does.
        assert!(!asks(0, 15, 150, 150));
        assert!(asks(0, 16, 150, 150));
        // Each side against its own size: 15 of 1,000 appointments is 1.5 %.
        assert!(!asks(15, 0, 1000, 100));
        // Both sides under their limits together: no ask.
        assert!(!asks(20, 10, 10_000, 100));
        // A few deletes in a tiny calendar are an ordinary edit (at most 5).
        assert!(!asks(5, 0, 6, 6));
        assert!(asks(6, 0, 30, 30));
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// One key's world: what each side really holds, what this read reports, and the
    /// stored link.
    #[derive(Debug, Clone)]
    struct World {
        crm: Option<CrmSide>,
        google: Option<GoogleSide>,
        google_reported: bool,
        link: Option<Snapshot>,
        paired_by: Option<PairedBy>,
    }

    impl World {
        fn item(&self) -> SyncItem {
            SyncItem {
                key: SyncKey {
                    appointment_id: self.crm.as_ref().map(|c| c.appointment_id.clone()),
                    event_id: self.google.as_ref().map(|g| g.event_id.clone()),
                },
                crm: self.crm.clone(),
                google: if self.google_reported {
                    self.google.clone()
                } else {
                    None
                },
                base: self.link.clone(),
                paired_by: self.paired_by,
                series: None,
            }
        }

        /// What the I/O layer does with the ops, on a model of both sides.
        fn apply(&mut self, ops: &[SyncOp]) {
            let now = t(10_000);
            for op in ops {
                match op {
                    SyncOp::CreateInGoogle { fields, .. } => {
                        let c = self.crm.as_ref().expect("create in Google needs a CRM row");
                        self.google = Some(GoogleSide {
                            event_id: ids::event_id_for(&c.appointment_id).unwrap(),
                            fields: fields.clone(),
                            created: now,
                            updated: now,
                            cancelled: false,
                            bookline_appointment_id: Some(c.appointment_id.clone()),
                            instance_of: None,
                        });
                        self.paired_by = Some(PairedBy::DerivedEventId);
                    }
                    SyncOp::UpdateGoogle { fields, to } => {
                        let g = self.google.as_mut().expect("update of a missing event");
                        g.fields.take_fields(to, *fields);
                        if fields.contains(Field::Status) && to.status == SyncStatus::Active {
                            g.cancelled = false;
                        }
                        g.updated = now;
                    }
                    SyncOp::DeleteInGoogle => {
                        let g = self.google.as_mut().expect("delete of a missing event");
                        g.cancelled = true;
                        g.fields.status = SyncStatus::Cancelled;
                        g.updated = now;
                    }
                    SyncOp::CreateInCrm {
                        fields,
                        appointment_id,
                        ..
                    } => {
                        let g = self.google.as_ref().expect("create in CRM needs an event");
                        self.crm = Some(CrmSide {
                            appointment_id: appointment_id.clone().unwrap_or_else(|| APPT.into()),
                            fields: fields.clone(),
                            origin: Origin::Google,
                            created_at: now,
                            updated_at: now,
                            deleted: false,
                            source_event_id: Some(g.event_id.clone()),
                            instance_of: None,
                        });
                        self.paired_by = Some(PairedBy::SourceEventId);
                    }
                    SyncOp::UpdateCrm { fields, to } => {
                        let c = self.crm.as_mut().expect("update of a missing row");
                        assert!(!c.deleted, "update of a deleted row");
                        c.fields.take_fields(to, *fields);
                        c.updated_at = now;
                    }
                    SyncOp::CancelInCrm => {
                        let c = self.crm.as_mut().expect("cancel of a missing row");
                        c.fields.status = SyncStatus::Cancelled;
                        c.updated_at = now;
                    }
                    SyncOp::DeleteInCrm => self.crm = None,
                    SyncOp::Link { snapshot } => self.link = Some(snapshot.clone()),
                    SyncOp::Unlink => self.link = None,
                    SyncOp::RecordConflict { .. } | SyncOp::Skip { .. } => {}
                }
            }
            // The pass consumed the CRM's deletion record: the row is gone.
            if self.crm.as_ref().is_some_and(|c| c.deleted) {
                self.crm = None;
            }
            if self.link.is_some() {
                self.paired_by = Some(PairedBy::Link);
            }
            self.google_reported = true;
        }

        fn converged(&self) -> bool {
            let crm_live = self
                .crm
                .as_ref()
                .filter(|c| !c.deleted && !c.fields.is_cancelled());
            let google_live = self
                .google
                .as_ref()
                .filter(|g| !g.cancelled && !g.fields.is_cancelled());
            match (crm_live, google_live) {
                (None, None) => true,
                (Some(c), Some(g)) => c.fields.same_as(&g.fields),
                _ => false,
            }
        }
    }

    fn arb_fields(allow_cancelled: bool) -> impl Strategy<Value = SyncFields> {
        (
            0..3usize,
            0..4usize,
            0..2usize,
            0..2usize,
            0..2usize,
            prop::bool::weighted(if allow_cancelled { 0.2 } else { 0.0 }),
            0..2usize,
        )
            .prop_map(|(title, timing, tz, loc, notes, cancelled, rec)| {
                let d = |day| NaiveDate::from_ymd_opt(2026, 6, day).unwrap();
                SyncFields {
                    title: ["Call", "Demo", "Lunch"][title].into(),
                    timing: match timing {
                        0 => Timing::Timed {
                            start: t(60),
                            end: t(120),
                        },
                        1 => Timing::Timed {
                            start: t(60),
                            end: t(90),
                        },
                        2 => Timing::AllDay {
                            start: d(3),
                            end: d(4),
                        },
                        _ => Timing::AllDay {
                            start: d(3),
                            end: d(6),
                        },
                    },
                    timezone: ["Europe/Berlin", "America/New_York"][tz].into(),
                    location: ["", "Office"][loc].into(),
                    notes: ["", "bring slides"][notes].into(),
                    status: if cancelled {
                        SyncStatus::Cancelled
                    } else {
                        SyncStatus::Active
                    },
                    recurrence: if rec == 1 {
                        vec!["RRULE:FREQ=WEEKLY;COUNT=3".into()]
                    } else {
                        vec![]
                    },
                }
            })
    }

    #[derive(Debug, Clone, Copy)]
    enum CrmKind {
        Absent,
        Live,
        Deleted,
    }

    #[derive(Debug, Clone, Copy)]
    enum GoogleKind {
        Absent,
        Live,
        Cancelled,
    }

    /// Worlds. `deletions`: whether deletion records (CRM deletes or cancels, cancelled
    /// events) may appear. `converged_base`: links start with equal sides. `new_only`:
    /// everything was created after connecting; no CRM row vanishes without a record.
    fn arb_world(deletions: bool, new_only: bool) -> impl Strategy<Value = World> {
        (
            any::<bool>(),
            arb_fields(deletions),
            arb_fields(deletions),
            arb_fields(deletions),
            arb_fields(deletions),
            prop_oneof![
                Just(CrmKind::Absent),
                Just(CrmKind::Live),
                Just(CrmKind::Deleted)
            ],
            prop_oneof![
                Just(GoogleKind::Absent),
                Just(GoogleKind::Live),
                Just(GoogleKind::Cancelled)
            ],
            any::<bool>(),
            any::<bool>(),
            (-50i64..50, -50i64..50, -50i64..50, -50i64..50),
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        )
            .prop_map(
                move |(
                    is_linked,
                    base_crm,
                    base_google,
                    crm_now,
                    google_now,
                    mut ck,
                    mut gk,
                    reported,
                    converged_base,
                    (cc, cu, gc, gu),
                    (crm_unchanged, google_unchanged, google_origin, bookline_event),
                )| {
                    if !deletions {
                        if matches!(ck, CrmKind::Deleted) {
                            ck = CrmKind::Live;
                        }
                        if matches!(gk, GoogleKind::Cancelled) {
                            gk = GoogleKind::Live;
                        }
                    }
                    if new_only && is_linked && matches!(ck, CrmKind::Absent) {
                        ck = CrmKind::Live;
                    }
                    let (cc, gc) = if new_only {
                        (cc.abs() + 1, gc.abs() + 1)
                    } else {
                        (cc, gc)
                    };
                    let base_google = if converged_base || new_only {
                        base_crm.clone()
                    } else {
                        base_google
                    };
                    let link = is_linked.then(|| snap(&base_crm, &base_google));
                    let crm_fields = if is_linked && crm_unchanged {
                        base_crm.clone()
                    } else {
                        crm_now
                    };
                    let google_fields = if is_linked && google_unchanged {
                        base_google.clone()
                    } else {
                        google_now
                    };
                    let crm = match ck {
                        CrmKind::Absent => None,
                        kind => Some(CrmSide {
                            appointment_id: APPT.into(),
                            fields: crm_fields,
                            origin: if google_origin {
                                Origin::Google
                            } else {
                                Origin::Crm
                            },
                            created_at: t(cc),
                            updated_at: t(cc + cu.abs()),
                            deleted: matches!(kind, CrmKind::Deleted),
                            source_event_id: None,
                            instance_of: None,
                        }),
                    };
                    // A linked event that was not read is as in the snapshot.
                    let google = match (gk, is_linked) {
                        (GoogleKind::Absent, false) => None,
                        (GoogleKind::Absent, true) => Some(google_side(
                            base_google.clone(),
                            gc,
                            gu,
                            base_google.is_cancelled(),
                            bookline_event,
                        )),
                        (GoogleKind::Live, _) => {
                            Some(google_side(google_fields, gc, gu, false, bookline_event))
                        }
                        (GoogleKind::Cancelled, _) => {
                            Some(google_side(google_fields, gc, gu, true, bookline_event))
                        }
                    };
                    let google_reported = !matches!(gk, GoogleKind::Absent) || reported;
                    let paired_by = match (&crm, &google, is_linked) {
                        (_, _, true) => Some(PairedBy::Link),
                        (Some(_), Some(_), false) => Some(PairedBy::DerivedEventId),
                        _ => None,
                    };
                    World {
                        crm,
                        google,
                        google_reported,
                        link,
                        paired_by,
                    }
                },
            )
    }

    fn google_side(
        fields: SyncFields,
        created: i64,
        updated: i64,
        cancelled: bool,
        bookline_event: bool,
    ) -> GoogleSide {
        let mut fields = fields;
        if cancelled {
            fields.status = SyncStatus::Cancelled;
        } else {
            // A live event is never "cancelled": that status is Google's deletion.
            fields.status = SyncStatus::Active;
        }
        GoogleSide {
            event_id: if bookline_event {
                ids::event_id_for(APPT).unwrap()
            } else {
                "googleevent1".into()
            },
            fields,
            created: t(created),
            updated: t(created + updated.abs()),
            cancelled,
            bookline_appointment_id: bookline_event.then(|| APPT.into()),
            instance_of: None,
        }
    }

    fn arb_direction() -> impl Strategy<Value = Direction> {
        prop_oneof![
            Just(Direction::Both),
            Just(Direction::GoogleToCrm),
            Just(Direction::CrmToGoogle)
        ]
    }

    fn arb_mode() -> impl Strategy<Value = Mode> {
        prop_oneof![Just(ongoing()), arb_direction().prop_map(backfill),]
    }

    fn effective_direction(direction: Direction, mode: &Mode) -> Direction {
        match mode {
            Mode::Ongoing { .. } => direction,
            Mode::Backfill { direction, .. } => *direction,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn one_way_never_writes_the_wrong_side(
            world in arb_world(true, false),
            direction in arb_direction(),
            mode in arb_mode(),
        ) {
            let ops = decide(&world.item(), direction, &mode);
            let dir = effective_direction(direction, &mode);
            for op in &ops {
                if let Some(side) = op.writes_to() {
                    prop_assert!(dir.writes(side), "{op:?} under {dir:?}");
                }
            }
        }

        #[test]
        fn nothing_changed_means_no_ops(
            world in arb_world(true, false),
            direction in arb_direction(),
        ) {
            let mut world = world;
            let Some(base) = world.link.clone() else { return Ok(()) };
            // Both sides exactly as in the snapshot.
            if let Some(c) = world.crm.as_mut() {
                c.fields = base.crm.clone();
                c.deleted = false;
            }
            if let Some(g) = world.google.as_mut() {
                g.fields = base.google.clone();
                g.cancelled = base.google.is_cancelled();
            }
            let ops = decide(&world.item(), direction, &ongoing());
            prop_assert!(ops.is_empty(), "{ops:?}");
        }

        #[test]
        fn both_converges(world in arb_world(true, true)) {
            let mut world = world;
            // A new Google event not created by Bookline (Bookline's own are never
            // imported by ongoing sync, by design).
            if world.crm.is_none() {
                if let Some(g) = world.google.as_mut() {
                    g.bookline_appointment_id = None;
                    g.event_id = "googleevent1".into();
                }
            }
            let ops = decide(&world.item(), Direction::Both, &ongoing());
            world.apply(&ops);
            prop_assert!(world.converged(), "ops {ops:?}\nworld {world:?}");
        }

        #[test]
        fn link_snapshot_is_what_the_sides_hold(
            world in arb_world(true, false),
            direction in arb_direction(),
        ) {
            let mut world = world;
            let ops = decide(&world.item(), direction, &ongoing());
            world.apply(&ops);
            if let (Some(SyncOp::Link { snapshot }), Some(c)) = (ops.last(), world.crm.as_ref()) {
                prop_assert_eq!(&snapshot.crm, &c.fields);
            }
            if let (Some(SyncOp::Link { snapshot }), Some(g)) = (ops.last(), world.google.as_ref()) {
                if !g.cancelled {
                    prop_assert_eq!(&snapshot.google, &g.fields);
                }
            }
        }

        #[test]
        fn deciding_again_after_applying_does_nothing(
            world in arb_world(true, false),
            direction in arb_direction(),
            mode in arb_mode(),
        ) {
            let mut world = world;
            let ops = decide(&world.item(), direction, &mode);
            world.apply(&ops);
            let again: Vec<_> = decide(&world.item(), direction, &mode)
                .into_iter()
                .filter(SyncOp::is_effective)
                .collect();
            prop_assert!(again.is_empty(), "first {ops:?}\nagain {again:?}\nworld {world:?}");
        }

        #[test]
        fn no_delete_without_a_deletion_record(
            world in arb_world(false, false),
            direction in arb_direction(),
            mode in arb_mode(),
        ) {
            let mut world = world;
            // No deletion record anywhere, the snapshots included.
            if let Some(base) = world.link.as_mut() {
                base.crm.status = SyncStatus::Active;
                base.google.status = SyncStatus::Active;
            }
            if let Some(c) = world.crm.as_mut() {
                c.fields.status = SyncStatus::Active;
            }
            let ops = decide(&world.item(), direction, &mode);
            for op in &ops {
                prop_assert!(op.deletes_from().is_none(), "{op:?} in {ops:?}");
            }
        }

        #[test]
        fn absence_never_deletes(
            world in arb_world(true, false),
            direction in arb_direction(),
        ) {
            let mut world = world;
            // Neither side says anything: no CRM row, no event in this read.
            world.crm = None;
            world.google_reported = false;
            let ops = decide(&world.item(), direction, &ongoing());
            for op in &ops {
                prop_assert!(op.writes_to().is_none(), "{op:?}");
            }
        }

        #[test]
        fn whole_batches_in_one_way_stay_one_way(
            worlds in prop::collection::vec(arb_world(true, false), 0..12),
            direction in arb_direction(),
            mode in arb_mode(),
        ) {
            // Through join as well: distinct ids per world.
            let mut crm = Vec::new();
            let mut google = Vec::new();
            let mut links = Vec::new();
            for (i, w) in worlds.into_iter().enumerate() {
                let appointment_id = format!("01936f5e-8a4b-7c3d-9e2f-{i:012}");
                let event_id = ids::event_id_for(&appointment_id).unwrap();
                if let Some(mut c) = w.crm {
                    c.appointment_id = appointment_id.clone();
                    crm.push(c);
                }
                if let Some(mut g) = w.google {
                    g.event_id = event_id.clone();
                    g.bookline_appointment_id = g.bookline_appointment_id.map(|_| appointment_id.clone());
                    if w.google_reported {
                        google.push(g);
                    }
                }
                if let Some(snapshot) = w.link {
                    links.push(LinkRecord { appointment_id, event_id, snapshot });
                }
            }
            let dir = effective_direction(direction, &mode);
            for d in decide_all(crm, google, links, direction, &mode) {
                for op in &d.ops {
                    if let Some(side) = op.writes_to() {
                        prop_assert!(dir.writes(side));
                    }
                }
            }
        }
    }
}

mod fields_tests {
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
}

mod ids_tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    #[test]
    fn known_values() {
        assert_eq!(
            ids::event_id_for_uuid(&Uuid::nil()),
            format!("bl{}", "0".repeat(26))
        );
        assert_eq!(
            ids::event_id_for_uuid(&Uuid::max()),
            format!("bl{}s", "v".repeat(25))
        );
        assert_eq!(ids::event_id_for("not a uuid"), None);
        let upper = APPT.to_uppercase();
        assert_eq!(ids::event_id_for(&upper), ids::event_id_for(APPT));
        assert_eq!(
            ids::uuid_from_event_id(&format!("bl{}t", "v".repeat(25))),
            None,
            "non-canonical tail"
        );
        assert_eq!(ids::uuid_from_event_id("blshort"), None);
        assert_eq!(ids::uuid_from_event_id(&"0".repeat(28)), None, "no prefix");
        assert!(!ids::is_valid_event_id("abcd"));
        assert!(!ids::is_valid_event_id("abcdw"));
        assert!(ids::is_valid_event_id("abcde"));
    }

    proptest! {
        #[test]
        fn valid_stable_and_invertible(bytes in any::<[u8; 16]>()) {
            let u = Uuid::from_bytes(bytes);
            let id = ids::event_id_for_uuid(&u);
            prop_assert!(ids::is_valid_event_id(&id), "{id}");
            prop_assert_eq!(id.len(), 28);
            prop_assert_eq!(&ids::event_id_for_uuid(&u), &id);
            // Invertible, hence injective.
            prop_assert_eq!(ids::uuid_from_event_id(&id), Some(u));
            prop_assert_eq!(ids::appointment_id_from_event_id(&id), Some(u.hyphenated().to_string()));
        }

        #[test]
        fn distinct_uuids_distinct_ids(a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
            prop_assume!(a != b);
            prop_assert_ne!(
                ids::event_id_for_uuid(&Uuid::from_bytes(a)),
                ids::event_id_for_uuid(&Uuid::from_bytes(b))
            );
        }

        #[test]
        fn decoding_garbage_never_panics(s in "[a-z0-9]{0,40}") {
            if let Some(u) = ids::uuid_from_event_id(&s) {
                prop_assert_eq!(ids::event_id_for_uuid(&u), s);
            }
        }
    }
}

mod privacy_tests {
    use bookline_core::model::Lead;
    use bookline_core::sync::privacy::{
        parse_description, PrivacySettings, TemplateError, LEAD_BLOCK_MARKER,
    };
    use proptest::prelude::*;

    fn ann() -> Lead {
        Lead {
            name: "Ann Smith".into(),
            email: "ann@example.com".into(),
            phone: "+49 30 1234".into(),
        }
    }

    fn with_template(t: &str) -> PrivacySettings {
        PrivacySettings {
            title_template: t.into(),
            ..PrivacySettings::default()
        }
    }

    #[test]
    fn default_shares_nothing_about_the_lead() {
        let p = PrivacySettings::default();
        assert_eq!(
            p.render("Call", "notes", &ann()),
            ("Call".into(), "notes".into())
        );
    }

    #[test]
    fn title_template() {
        let p = with_template("{title} — {lead_name}");
        assert_eq!(p.render_summary("Call", &ann()), "Call — Ann Smith");
        assert_eq!(p.parse_summary("Call — Ann Smith", &ann()), "Call");
        // No lead name: no dangling separator, and the title reads back.
        assert_eq!(p.render_summary("Call", &Lead::default()), "Call");
        assert_eq!(p.parse_summary("Call", &Lead::default()), "Call");
        // Renamed in Google without the frame: taken as the new title whole.
        assert_eq!(p.parse_summary("Lunch", &ann()), "Lunch");
        let q = with_template("[{lead_phone}] {title}");
        assert_eq!(q.render_summary("Call", &ann()), "[+49 30 1234] Call");
        assert_eq!(q.parse_summary("[+49 30 1234] Call", &ann()), "Call");
    }

    #[test]
    fn template_validation() {
        assert_eq!(
            with_template("{lead_name}").validate(),
            Err(TemplateError::TitleCount)
        );
        assert_eq!(
            with_template("{title}{title}").validate(),
            Err(TemplateError::TitleCount)
        );
        assert_eq!(
            with_template("{title} {x}").validate(),
            Err(TemplateError::Unknown("x".into()))
        );
        assert!(with_template("{title} — {lead_email}").validate().is_ok());
        // An invalid stored template never leaks or breaks the title.
        assert_eq!(
            with_template("{lead_name}").render_summary("Call", &ann()),
            "Call"
        );
    }

    #[test]
    fn lead_block() {
        let p = PrivacySettings {
            include_lead_name: true,
            include_lead_phone: true,
            include_lead_email: false,
            ..PrivacySettings::default()
        };
        let d = p.render_description("Bring slides", &ann());
        assert_eq!(
            d,
            format!("Bring slides\n\n{LEAD_BLOCK_MARKER}\nName: Ann Smith\nPhone: +49 30 1234")
        );
        assert_eq!(parse_description(&d), "Bring slides");
        let only_block = p.render_description("", &ann());
        assert!(only_block.starts_with(LEAD_BLOCK_MARKER));
        assert_eq!(parse_description(&only_block), "");
        // Round trip twice: no stacked blocks.
        let again = p.render_description(&parse_description(&d), &ann());
        assert_eq!(again, d);
        // A user's edit below the block makes it not Bookline's block any more.
        let edited = format!("{d}\nsee you");
        assert_eq!(parse_description(&edited), edited);
    }

    proptest! {
        #[test]
        fn round_trips(
            title in ".{0,30}",
            notes in ".{0,60}|(.{0,20}\n){0,4}",
            name in "[ A-Za-z\n]{0,12}",
            phone in "[0-9 +]{0,12}",
            flags in any::<(bool, bool, bool)>(),
            template in prop_oneof![Just("{title}"), Just("{title} — {lead_name}"), Just("{lead_name}: {title}"), Just("{title} ({lead_phone}, {lead_email})")],
        ) {
            prop_assume!(!notes.contains(LEAD_BLOCK_MARKER));
            let lead = Lead { name, email: "x@y.z".into(), phone };
            let p = PrivacySettings {
                title_template: template.into(),
                include_lead_name: flags.0,
                include_lead_phone: flags.1,
                include_lead_email: flags.2,
            };
            let (summary, description) = p.render(&title, &notes, &lead);
            prop_assert_eq!(p.parse_summary(&summary, &lead), title);
            prop_assert_eq!(parse_description(&description), notes);
        }
    }
}

mod ratelimit_tests {
    use bookline_core::ratelimit::{Backoff, RateLimiter, RetryClass, TokenBucket};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::time::Duration;

    #[test]
    fn bucket_refills_at_its_rate() {
        let mut b = TokenBucket::new(3.0, 2.0, Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(b.try_acquire(1, Duration::ZERO), Ok(()));
        }
        let wait = b.try_acquire(1, Duration::ZERO).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(b.try_acquire(1, Duration::from_millis(499)).is_err());
        assert_eq!(b.try_acquire(1, Duration::from_millis(500)), Ok(()));
        // Idle time fills the bucket up to its capacity, not beyond.
        let later = Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(b.try_acquire(1, later), Ok(()));
        }
        assert!(b.try_acquire(1, later).is_err());
    }

    #[test]
    fn batches_larger_than_the_bucket_pass_and_pay_later() {
        let mut b = TokenBucket::new(10.0, 10.0, Duration::ZERO);
        assert_eq!(b.try_acquire(50, Duration::ZERO), Ok(()));
        // 40 tokens of debt plus one: 4.1 s at 10/s.
        assert_eq!(
            b.try_acquire(1, Duration::ZERO),
            Err(Duration::from_millis(4100))
        );
    }

    /// Simulate a greedy client and count requests in every window: never over quota,
    /// and the steady rate is the safety share of it.
    #[test]
    fn quota_sizing_never_exceeds_any_window() {
        let window = Duration::from_secs(60);
        let mut b = TokenBucket::for_quota(600, window, 0.9, Duration::ZERO);
        assert_eq!(b.capacity(), 60.0);
        assert!((b.refill_per_sec() - 9.0).abs() < 1e-9);
        let mut now = Duration::ZERO;
        let mut sent = Vec::new();
        while now < Duration::from_secs(300) {
            match b.try_acquire(1, now) {
                Ok(()) => sent.push(now),
                Err(wait) => now += wait,
            }
        }
        let max_in_window = sent
            .iter()
            .map(|start| {
                sent.iter()
                    .filter(|t| **t >= *start && **t < *start + window)
                    .count()
            })
            .max()
            .unwrap();
        assert!(max_in_window <= 600, "{max_in_window}");
        // Over five minutes: burst + 9/s.
        assert!(sent.len() >= 60 + 9 * 299, "{}", sent.len());
    }

    #[tokio::test]
    async fn async_limiter_sleeps() {
        // Real time (paused time needs tokio's test-util feature): burst 100, then
        // 100/s for the other 50 — about half a second.
        let limiter = RateLimiter::for_quota(200, Duration::from_secs(1), 0.5);
        let start = std::time::Instant::now();
        for _ in 0..150 {
            limiter.acquire(1).await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(480) && took <= Duration::from_millis(1500),
            "{took:?}"
        );
    }

    #[test]
    fn backoff_bounds_growth_cap_and_attempts() {
        let p = Backoff {
            base: Duration::from_millis(100),
            rate_limit_base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            max_retries: 8,
        };
        let server = RetryClass::ServerError;
        let limited = RetryClass::RateLimited { retry_after: None };
        let ceilings: Vec<_> = (0..8).map(|k| p.ceiling(k, server)).collect();
        assert_eq!(ceilings[0], Duration::from_millis(100));
        assert_eq!(ceilings[3], Duration::from_millis(800));
        assert_eq!(ceilings[7], Duration::from_secs(10), "capped");
        assert!(ceilings.windows(2).all(|w| w[0] <= w[1]));
        assert!(p.ceiling(0, limited) > p.ceiling(0, server));
        assert_eq!(p.ceiling(1000, server), Duration::from_secs(10));

        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for k in 0..8 {
            for class in [server, limited, RetryClass::Network] {
                let d = p.delay(k, class, &mut rng).unwrap();
                assert!(d <= p.ceiling(k, class), "{k} {d:?}");
            }
        }
        assert_eq!(p.delay(8, server, &mut rng), None);
        let after = RetryClass::RateLimited {
            retry_after: Some(Duration::from_secs(5)),
        };
        assert!(p.delay(0, after, &mut rng).unwrap() >= Duration::from_secs(5));
    }

    #[test]
    fn backoff_is_jittered_and_deterministic_per_seed() {
        let p = Backoff::default();
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..6)
                .map(|k| p.delay(k, RetryClass::ServerError, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        // Full jitter spreads over the whole range: the mean of many draws at retry 5
        // is near half the ceiling, and later retries wait longer on average.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mean = |k: u32, rng: &mut ChaCha8Rng| {
            (0..2000)
                .map(|_| {
                    p.delay(k, RetryClass::ServerError, rng)
                        .unwrap()
                        .as_secs_f64()
                })
                .sum::<f64>()
                / 2000.0
        };
        let m0 = mean(0, &mut rng);
        let m5 = mean(5, &mut rng);
        let half = p.ceiling(5, RetryClass::ServerError).as_secs_f64() / 2.0;
        assert!((m5 - half).abs() < half * 0.1, "{m5} vs {half}");
        assert!(m5 > m0 * 8.0);
    }
}

mod schema_tests {
    use bookline_core::sync::SCHEMA_SQL;

    #[test]
    fn schema_applies_and_enforces_uniqueness() {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("bookline.db")).unwrap();
        conn.execute_batch(SCHEMA_SQL).unwrap();
        let insert = "INSERT INTO links (appointment_id, calendar_id, event_id, crm_snapshot, google_snapshot, synced_at) VALUES (?1, 'primary', ?2, '{}', '{}', '2026-05-01T00:00:00Z')";
        conn.execute(insert, ["a1", "e1"]).unwrap();
        assert!(
            conn.execute(insert, ["a1", "e2"]).is_err(),
            "one link per appointment"
        );
        assert!(
            conn.execute(insert, ["a2", "e1"]).is_err(),
            "one link per event"
        );
        assert!(conn
            .execute("INSERT INTO links (appointment_id, calendar_id, event_id, crm_snapshot, google_snapshot, synced_at) VALUES ('a3', 'primary', 'e3', 'not json', '{}', 'x')", [])
            .is_err());
        let job = "INSERT INTO backfill_jobs (calendar_id, direction, created_at, updated_at) VALUES ('primary', 'both', 'x', 'x')";
        conn.execute(job, []).unwrap();
        assert!(conn.execute(job, []).is_err(), "one open backfill job");
        conn.execute("UPDATE backfill_jobs SET state = 'done'", [])
            .unwrap();
        conn.execute(job, []).unwrap();
    }

    /// Two processes that both imported one new Google event (before the sync lock) each
    /// made an appointment and a link; the second link silently replaced the first and
    /// left a duplicate appointment behind. The link writer refuses a second appointment
    /// for one event, and still moves an appointment's own link (another event id or
    /// calendar).
    #[test]
    fn a_link_never_moves_an_event_to_a_second_appointment() {
        use bookline_core::store::Store;
        use bookline_core::sync::links::{self, Link};
        use bookline_core::sync::Snapshot;

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("bookline.sqlite3")).unwrap();
        let link = |appointment: &str, calendar: &str, event: &str| Link {
            appointment_id: appointment.to_owned(),
            calendar_id: calendar.to_owned(),
            event_id: event.to_owned(),
            etag: None,
            snapshot: Snapshot {
                crm: super::fields("Call"),
                google: super::fields("Call"),
            },
            synced_at: chrono::Utc::now(),
            last_error: None,
            google_text: None,
        };
        let write = |l: Link| store.write("test", |tx| links::upsert(&store, tx, &l));
        write(link("a1", "cal", "e1")).unwrap();
        assert!(
            write(link("a2", "cal", "e1")).is_err(),
            "a second appointment for one event is refused"
        );
        let kept = store
            .read(|c| links::by_event(&store, c, "cal", "e1"))
            .unwrap()
            .unwrap();
        assert_eq!(kept.appointment_id, "a1");
        // The appointment's own link may change: a new etag, another event, a calendar.
        let mut again = link("a1", "cal", "e1");
        again.etag = Some("\"2\"".to_owned());
        write(again).unwrap();
        write(link("a1", "other", "e9")).unwrap();
        let moved = store
            .read(|c| links::by_appointment(&store, c, "a1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (moved.calendar_id.as_str(), moved.event_id.as_str()),
            ("other", "e9")
        );
        assert_eq!(store.read(|c| links::count(&store, c, "cal")).unwrap(), 0);
    }
}

mod mapping_tests {
    use super::*;
    use bookline_core::google::{Attendee, Event, EventDateTime, EventPerson, EventStatus};
    use bookline_core::model::Lead;
    use bookline_core::sync::mapping::{
        apply_to_event, event_for_insert, fields_from_event, google_side, patch_body,
        MappingContext, MappingError, APPOINTMENT_ID_PROPERTY,
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
        let broken: Event =
            serde_json::from_value(json!({"id": "x1", "status": "confirmed"})).unwrap();
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

    fn arb_sync_fields() -> impl Strategy<Value = SyncFields> {
        (
            "[A-Za-z ]{0,12}",
            any::<bool>(),
            0i64..5_000_000,
            1i64..200_000,
            prop::sample::select(vec![
                "Europe/Berlin",
                "America/New_York",
                "Australia/Lord_Howe",
                "Asia/Kathmandu",
                "UTC",
            ]),
            "[a-z\n]{0,20}",
            0u64..3,
        )
            .prop_map(|(title, all_day, start_min, len_min, zone, notes, days)| {
                let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
                    + ChronoDuration::minutes(start_min);
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
                    location: String::new(),
                    notes,
                    status: SyncStatus::Active,
                    recurrence: vec![],
                }
            })
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
        use gcal_emulator::{Emulator, EmulatorOptions};
        use std::sync::Arc;

        let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
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
}

mod occurrences {
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
        use bookline_core::sync::mapping::{
            event_for_insert, google_side, patch_body, MappingContext,
        };
        use bookline_core::sync::privacy::PrivacySettings;
        use gcal_emulator::{Emulator, EmulatorOptions};
        use std::sync::Arc;

        let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
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
}

mod lead_changes {
    use super::*;
    use bookline_core::google::Event;
    use bookline_core::model::Lead;
    use bookline_core::sync::mapping::{google_side, MappingContext};
    use bookline_core::sync::privacy::PrivacySettings;

    /// The lead was renamed in the CRM after Bookline wrote "Call — Ann" to Google: the
    /// event must still read as title "Call", not as a title edit "Call — Ann".
    #[test]
    fn renamed_lead_does_not_read_as_a_title_edit() {
        let p = PrivacySettings {
            title_template: "{title} — {lead_name}".into(),
            ..PrivacySettings::default()
        };
        assert!(p.is_framed_title("Call — Ann", "Call"));
        assert!(p.is_framed_title("Call — Follow-up — Ann", "Call — Follow-up"));
        assert!(p.is_framed_title("Call", "Call"));
        assert!(!p.is_framed_title("Lunch — Ann", "Call"));
        assert!(!p.is_framed_title("Call — ", "Call"));

        let new_lead = Lead {
            name: "Anne Miller".into(),
            ..Lead::default()
        };
        let ctx = MappingContext {
            calendar_timezone: "UTC",
            privacy: &p,
            lead: &new_lead,
        };
        let known = fields("Call");
        let event: Event = serde_json::from_value(serde_json::json!({
            "id": "e1", "summary": "Call — Ann",
            "start": {"dateTime": "2026-05-02T09:00:00Z"}, "end": {"dateTime": "2026-05-02T10:00:00Z"}
        }))
        .unwrap();
        assert_eq!(
            google_side(&event, &ctx, Some(&known))
                .unwrap()
                .fields
                .title,
            "Call"
        );
        // A real edit in Google still reads as one.
        let edited: Event = serde_json::from_value(serde_json::json!({
            "id": "e1", "summary": "Lunch",
            "start": {"dateTime": "2026-05-02T09:00:00Z"}, "end": {"dateTime": "2026-05-02T10:00:00Z"}
        }))
        .unwrap();
        assert_eq!(
            google_side(&edited, &ctx, Some(&known))
                .unwrap()
                .fields
                .title,
            "Lunch"
        );
    }
}

/// Whole passes over a model of both sides: random edits on either side between passes,
/// and crashes that lose the link writes of some decisions (the side writes happened,
/// the link was never stored). After the edits stop and a few clean passes run, both
/// sides are equal, nothing is duplicated, and one more pass has nothing to do.
mod simulation {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Edit {
        NewInCrm(usize),
        NewInGoogle(usize),
        RetitleCrm(usize, usize),
        RetitleGoogle(usize, usize),
        NotesCrm(usize),
        NotesGoogle(usize),
        DeleteInCrm(usize),
        CancelInCrm(usize),
        DeleteInGoogle(usize),
    }

    fn arb_edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (0..3usize).prop_map(Edit::NewInCrm),
            (0..3usize).prop_map(Edit::NewInGoogle),
            (0..8usize, 0..3usize).prop_map(|(i, t)| Edit::RetitleCrm(i, t)),
            (0..8usize, 0..3usize).prop_map(|(i, t)| Edit::RetitleGoogle(i, t)),
            (0..8usize).prop_map(Edit::NotesCrm),
            (0..8usize).prop_map(Edit::NotesGoogle),
            (0..8usize).prop_map(Edit::DeleteInCrm),
            (0..8usize).prop_map(Edit::CancelInCrm),
            (0..8usize).prop_map(Edit::DeleteInGoogle),
        ]
    }

    const TITLES: [&str; 3] = ["Call", "Demo", "Lunch"];

    #[derive(Default, Debug)]
    struct Sides {
        crm: BTreeMap<String, CrmSide>,
        google: BTreeMap<String, GoogleSide>,
        links: BTreeMap<String, LinkRecord>,
        clock: i64,
        next_id: u64,
    }

    impl Sides {
        fn tick(&mut self) -> DateTime<Utc> {
            self.clock += 1;
            t(self.clock)
        }

        fn new_appointment_id(&mut self) -> String {
            self.next_id += 1;
            format!("01936f5e-8a4b-7c3d-9e2f-{:012}", self.next_id)
        }

        fn nth_live_crm(&self, i: usize) -> Option<String> {
            let live: Vec<_> = self.crm.values().filter(|c| !c.deleted).collect();
            (!live.is_empty()).then(|| live[i % live.len()].appointment_id.clone())
        }

        fn nth_live_google(&self, i: usize) -> Option<String> {
            let live: Vec<_> = self.google.values().filter(|g| !g.cancelled).collect();
            (!live.is_empty()).then(|| live[i % live.len()].event_id.clone())
        }

        fn edit(&mut self, e: &Edit) {
            let now = self.tick();
            match *e {
                Edit::NewInCrm(title) => {
                    let id = self.new_appointment_id();
                    let c = CrmSide {
                        appointment_id: id.clone(),
                        created_at: now,
                        updated_at: now,
                        ..crm(fields(TITLES[title]), 0, 0)
                    };
                    self.crm.insert(id, c);
                }
                Edit::NewInGoogle(title) => {
                    self.next_id += 1;
                    let id = format!("googlemade{}", self.next_id);
                    let g = GoogleSide {
                        event_id: id.clone(),
                        created: now,
                        updated: now,
                        ..google(fields(TITLES[title]), 0, 0)
                    };
                    self.google.insert(id, g);
                }
                Edit::RetitleCrm(i, _) | Edit::NotesCrm(i) if self.nth_live_crm(i).is_some() => {
                    let id = self.nth_live_crm(i).unwrap();
                    let c = self.crm.get_mut(&id).unwrap();
                    match *e {
                        Edit::RetitleCrm(_, title) => c.fields.title = TITLES[title].into(),
                        _ => c.fields.notes = format!("crm note {now}"),
                    }
                    c.updated_at = now;
                }
                Edit::RetitleGoogle(i, _) | Edit::NotesGoogle(i)
                    if self.nth_live_google(i).is_some() =>
                {
                    let id = self.nth_live_google(i).unwrap();
                    let g = self.google.get_mut(&id).unwrap();
                    match *e {
                        Edit::RetitleGoogle(_, title) => g.fields.title = TITLES[title].into(),
                        _ => g.fields.notes = format!("google note {now}"),
                    }
                    g.updated = now;
                }
                Edit::DeleteInCrm(i) => {
                    if let Some(id) = self.nth_live_crm(i) {
                        let c = self.crm.get_mut(&id).unwrap();
                        c.deleted = true;
                        c.updated_at = now;
                    }
                }
                Edit::CancelInCrm(i) => {
                    if let Some(id) = self.nth_live_crm(i) {
                        let c = self.crm.get_mut(&id).unwrap();
                        c.fields.status = SyncStatus::Cancelled;
                        c.updated_at = now;
                    }
                }
                Edit::DeleteInGoogle(i) => {
                    if let Some(id) = self.nth_live_google(i) {
                        let g = self.google.get_mut(&id).unwrap();
                        g.cancelled = true;
                        g.fields.status = SyncStatus::Cancelled;
                        g.updated = now;
                    }
                }
                _ => {}
            }
        }

        fn decide(&self) -> Vec<Decision> {
            decide_all(
                self.crm.values().cloned().collect(),
                self.google.values().cloned().collect(),
                self.links.values().cloned().collect(),
                Direction::Both,
                &ongoing(),
            )
        }

        /// Applies a pass. `crash(i)`: the link write of decision `i` is lost.
        fn apply(&mut self, decisions: &[Decision], crash: impl Fn(usize) -> bool) {
            for (i, d) in decisions.iter().enumerate() {
                let mut appointment_id = d.key.appointment_id.clone();
                let mut event_id = d.key.event_id.clone();
                for op in &d.ops {
                    let now = self.tick();
                    match op {
                        SyncOp::CreateInGoogle { fields, .. } => {
                            let a = appointment_id.clone().unwrap();
                            let id = ids::event_id_for(&a).unwrap();
                            // An existing id answers 409: the earlier insert counts.
                            self.google.entry(id.clone()).or_insert(GoogleSide {
                                event_id: id.clone(),
                                fields: fields.clone(),
                                created: now,
                                updated: now,
                                cancelled: false,
                                bookline_appointment_id: Some(a),
                                instance_of: None,
                            });
                            event_id = Some(id);
                        }
                        SyncOp::UpdateGoogle { fields, to } => {
                            let g = self.google.get_mut(event_id.as_ref().unwrap()).unwrap();
                            g.fields.take_fields(to, *fields);
                            g.cancelled = g.fields.is_cancelled();
                            g.updated = now;
                        }
                        SyncOp::DeleteInGoogle => {
                            let g = self.google.get_mut(event_id.as_ref().unwrap()).unwrap();
                            g.cancelled = true;
                            g.fields.status = SyncStatus::Cancelled;
                            g.updated = now;
                        }
                        SyncOp::CreateInCrm {
                            fields,
                            appointment_id: reuse,
                            ..
                        } => {
                            let a = reuse.clone().unwrap_or_else(|| self.new_appointment_id());
                            self.crm.insert(
                                a.clone(),
                                CrmSide {
                                    appointment_id: a.clone(),
                                    fields: fields.clone(),
                                    origin: Origin::Google,
                                    created_at: now,
                                    updated_at: now,
                                    deleted: false,
                                    source_event_id: event_id.clone(),
                                    instance_of: None,
                                },
                            );
                            appointment_id = Some(a);
                        }
                        SyncOp::UpdateCrm { fields, to } => {
                            let c = self.crm.get_mut(appointment_id.as_ref().unwrap()).unwrap();
                            c.fields.take_fields(to, *fields);
                            c.updated_at = now;
                        }
                        SyncOp::CancelInCrm => {
                            let c = self.crm.get_mut(appointment_id.as_ref().unwrap()).unwrap();
                            c.fields.status = SyncStatus::Cancelled;
                        }
                        SyncOp::DeleteInCrm => {
                            self.crm.remove(appointment_id.as_ref().unwrap());
                        }
                        SyncOp::Link { snapshot } if !crash(i) => {
                            let a = appointment_id.clone().unwrap();
                            self.links.insert(
                                a.clone(),
                                LinkRecord {
                                    appointment_id: a,
                                    event_id: event_id.clone().unwrap(),
                                    snapshot: snapshot.clone(),
                                },
                            );
                        }
                        SyncOp::Unlink if !crash(i) => {
                            if let Some(a) = &appointment_id {
                                self.links.remove(a);
                            }
                        }
                        _ => {}
                    }
                }
            }
            // Deletion records are consumed once the pass has run over them — unless
            // the crash lost their decision's link write (the outbox entry stays).
            let handled: Vec<String> = decisions
                .iter()
                .enumerate()
                .filter(|(i, _)| !crash(*i))
                .filter_map(|(_, d)| d.key.appointment_id.clone())
                .collect();
            self.crm.retain(|id, c| {
                !(c.deleted && (handled.contains(id) || !self.links.contains_key(id)))
            });
        }

        fn check_converged(&self) -> Result<(), String> {
            let live_crm: Vec<_> = self
                .crm
                .values()
                .filter(|c| !c.deleted && !c.fields.is_cancelled())
                .collect();
            let live_google: Vec<_> = self
                .google
                .values()
                .filter(|g| !g.cancelled && !g.fields.is_cancelled())
                .collect();
            if live_crm.len() != live_google.len() {
                return Err(format!(
                    "{} live appointments but {} live events",
                    live_crm.len(),
                    live_google.len()
                ));
            }
            for c in live_crm {
                let link = self
                    .links
                    .get(&c.appointment_id)
                    .ok_or_else(|| format!("{} not linked", c.appointment_id))?;
                let g = self
                    .google
                    .get(&link.event_id)
                    .ok_or_else(|| format!("{} links a missing event", c.appointment_id))?;
                if !c.fields.same_as(&g.fields) {
                    return Err(format!(
                        "{} differs: {:?} vs {:?}",
                        c.appointment_id, c.fields, g.fields
                    ));
                }
            }
            let mut events: Vec<_> = self.links.values().map(|l| &l.event_id).collect();
            events.sort();
            events.dedup();
            if events.len() != self.links.len() {
                return Err("one event linked twice".into());
            }
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn passes_with_edits_and_crashes_converge_without_duplicates(
            rounds in prop::collection::vec(
                (prop::collection::vec(arb_edit(), 0..5), prop::collection::vec(any::<bool>(), 0..8)),
                1..8,
            ),
        ) {
            let mut sides = Sides::default();
            for (edits, crashes) in &rounds {
                for e in edits {
                    sides.edit(e);
                }
                let decisions = sides.decide();
                sides.apply(&decisions, |i| crashes.get(i).copied().unwrap_or(false));
            }
            for _ in 0..3 {
                let decisions = sides.decide();
                sides.apply(&decisions, |_| false);
            }
            if let Err(e) = sides.check_converged() {
                return Err(TestCaseError::fail(format!("{e}\n{sides:#?}")));
            }
            let left: Vec<_> = sides
                .decide()
                .into_iter()
                .filter(|d| d.ops.iter().any(SyncOp::is_effective))
                .collect();
            prop_assert!(left.is_empty(), "{left:?}");
        }
    }
}

/// `StandaloneIndex` lets a backfill import a Google event before the rest of the
/// listing is read. Sound only if the whole-listing `join` would leave every such event
/// unpaired too, whatever else the CRM and the listing hold.
mod standalone_tests {
    use super::*;
    use bookline_core::sync::StandaloneIndex;
    use proptest::prelude::*;

    fn appointment_id(n: usize) -> String {
        format!("01936f5e-8a4b-7c3d-9e2f-{n:012x}")
    }

    fn look(title: usize, timing: usize) -> SyncFields {
        with(&fields(["Call", "Demo", " Call "][title]), |f| {
            if timing == 1 {
                f.timing = Timing::Timed {
                    start: t(60),
                    end: t(90),
                };
            } else if timing == 2 {
                f.timing = Timing::AllDay {
                    start: NaiveDate::from_ymd_opt(2026, 6, 3).unwrap(),
                    end: NaiveDate::from_ymd_opt(2026, 6, 4).unwrap(),
                };
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn a_standalone_event_stays_unpaired_in_the_whole_join(
            crm_looks in prop::collection::vec((0..3usize, 0..3usize, any::<bool>()), 0..6),
            // (title, timing, kind, target): kind 0 plain, 1 linked to CRM item `target`,
            // 2 created by Bookline for `target` (derived id), 3 Bookline property only,
            // 4 cancelled, 5 an occurrence of a series, 6 a series.
            google_looks in prop::collection::vec((0..3usize, 0..3usize, 0..7usize, 0..6usize), 0..10),
            direction in prop_oneof![Just(Direction::GoogleToCrm), Just(Direction::Both)],
        ) {
            let crm_sides: Vec<CrmSide> = crm_looks
                .iter()
                .enumerate()
                .map(|(n, (title, timing, is_cancelled))| {
                    let mut f = look(*title, *timing);
                    if *is_cancelled {
                        f.status = SyncStatus::Cancelled;
                    }
                    CrmSide { appointment_id: appointment_id(n), ..crm(f, 0, 0) }
                })
                .collect();
            let mut links = Vec::new();
            let mut google_sides = Vec::new();
            for (n, (title, timing, kind, target)) in google_looks.iter().enumerate() {
                let target_id = (*target < crm_sides.len()).then(|| appointment_id(*target));
                let mut g = GoogleSide {
                    event_id: format!("plainevent{n}"),
                    ..google(look(*title, *timing), 0, 0)
                };
                match (kind, &target_id) {
                    (1, Some(a)) if !links.iter().any(|l: &LinkRecord| &l.appointment_id == a) => {
                        links.push(LinkRecord {
                            appointment_id: a.clone(),
                            event_id: g.event_id.clone(),
                            snapshot: snap(&g.fields, &g.fields),
                        });
                    }
                    (2, Some(a)) => g.event_id = ids::event_id_for(a).unwrap(),
                    (3, Some(a)) => g.bookline_appointment_id = Some(a.clone()),
                    (4, _) => g = cancelled(g),
                    (5, _) => {
                        g.instance_of = Some(bookline_core::sync::GoogleInstance {
                            series_event_id: "someseries".into(),
                            original_start: "2026-06-03T10:00:00Z".into(),
                        })
                    }
                    (6, _) => g.fields.recurrence = vec!["RRULE:FREQ=WEEKLY".into()],
                    _ => {}
                }
                if !google_sides.iter().any(|o: &GoogleSide| o.event_id == g.event_id) {
                    google_sides.push(g);
                }
            }
            let index = StandaloneIndex::new(&crm_sides, links.iter().map(|l| l.event_id.as_str()));
            let standalone: Vec<String> = google_sides
                .iter()
                .filter(|g| index.stands_alone(g))
                .map(|g| g.event_id.clone())
                .collect();
            let items = join(crm_sides, google_sides, links, &backfill(direction));
            for event_id in standalone {
                let item = items
                    .iter()
                    .find(|i| i.key.event_id.as_deref() == Some(event_id.as_str()))
                    .expect("every event is an item");
                prop_assert!(item.crm.is_none(), "{event_id} paired with {:?}", item.crm);
                prop_assert!(item.paired_by.is_none() && item.base.is_none(), "{item:?}");
            }
        }
    }
}
