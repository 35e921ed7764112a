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
