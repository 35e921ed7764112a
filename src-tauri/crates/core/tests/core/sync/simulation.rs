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
    ReshapeCrm(usize, Reshape),
    ReshapeGoogle(usize, Reshape),
}

/// Edits of timing and recurrence, not only of text: moved, made all-day or timed again,
/// made to repeat or not.
#[derive(Debug, Clone, Copy)]
enum Reshape {
    Move(i64),
    AllDay,
    Timed,
    Repeat,
    StopRepeating,
}

fn arb_reshape() -> impl Strategy<Value = Reshape> {
    prop_oneof![
        (-3i64..=3).prop_map(Reshape::Move),
        Just(Reshape::AllDay),
        Just(Reshape::Timed),
        Just(Reshape::Repeat),
        Just(Reshape::StopRepeating),
    ]
}

fn reshape(f: &mut SyncFields, r: Reshape) {
    match (r, f.timing.clone()) {
        (Reshape::Move(n), Timing::Timed { start, end }) => {
            f.timing = Timing::Timed {
                start: start + ChronoDuration::hours(n),
                end: end + ChronoDuration::hours(n),
            }
        }
        (Reshape::Move(n), Timing::AllDay { start, end }) => {
            f.timing = Timing::AllDay {
                start: start + ChronoDuration::days(n),
                end: end + ChronoDuration::days(n),
            }
        }
        (Reshape::AllDay, Timing::Timed { start, .. }) => {
            let day = start.date_naive();
            f.timing = Timing::AllDay {
                start: day,
                end: day + ChronoDuration::days(1),
            }
        }
        (Reshape::Timed, Timing::AllDay { start, .. }) => {
            let at = start.and_hms_opt(9, 0, 0).unwrap().and_utc();
            f.timing = Timing::Timed {
                start: at,
                end: at + ChronoDuration::hours(1),
            }
        }
        (Reshape::Repeat, _) => f.recurrence = vec!["RRULE:FREQ=WEEKLY;COUNT=4".to_owned()],
        (Reshape::StopRepeating, _) => f.recurrence.clear(),
        // Already all-day / already timed.
        _ => {}
    }
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
        (0..8usize, arb_reshape()).prop_map(|(i, r)| Edit::ReshapeCrm(i, r)),
        (0..8usize, arb_reshape()).prop_map(|(i, r)| Edit::ReshapeGoogle(i, r)),
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
            Edit::RetitleCrm(i, _) | Edit::NotesCrm(i) | Edit::ReshapeCrm(i, _)
                if self.nth_live_crm(i).is_some() =>
            {
                let id = self.nth_live_crm(i).unwrap();
                let c = self.crm.get_mut(&id).unwrap();
                match *e {
                    Edit::RetitleCrm(_, title) => c.fields.title = TITLES[title].into(),
                    Edit::ReshapeCrm(_, r) => reshape(&mut c.fields, r),
                    _ => c.fields.notes = format!("crm note {now}"),
                }
                c.updated_at = now;
            }
            Edit::RetitleGoogle(i, _) | Edit::NotesGoogle(i) | Edit::ReshapeGoogle(i, _)
                if self.nth_live_google(i).is_some() =>
            {
                let id = self.nth_live_google(i).unwrap();
                let g = self.google.get_mut(&id).unwrap();
                match *e {
                    Edit::RetitleGoogle(_, title) => g.fields.title = TITLES[title].into(),
                    Edit::ReshapeGoogle(_, r) => reshape(&mut g.fields, r),
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
        self.crm
            .retain(|id, c| !(c.deleted && (handled.contains(id) || !self.links.contains_key(id))));
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
