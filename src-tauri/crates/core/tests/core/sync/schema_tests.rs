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
