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
            base: self.link.clone().map(Box::new),
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
