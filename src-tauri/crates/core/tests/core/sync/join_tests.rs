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
        .any(|i| i.key.event_id.as_deref() == Some("lookalike") && i.key.appointment_id.is_none()));
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
