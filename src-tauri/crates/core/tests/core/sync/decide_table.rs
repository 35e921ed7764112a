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
