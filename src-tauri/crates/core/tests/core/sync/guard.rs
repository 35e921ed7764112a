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
        !guard_deletes(&deletes(20, SyncOp::DeleteInGoogle), 10_000, 10_000, &p).needs_confirmation
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
