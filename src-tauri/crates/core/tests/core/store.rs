//! The store on real SQLite files: CRUD, validation, outbox, list, occurrences, settings,
//! migrations.

use std::path::PathBuf;

use bookline_core::error::{AppError, ErrorCode};
use bookline_core::model::{
    AppointmentInput, Lead, ListQuery, Origin, Period, Recurrence, SeriesInstance, Status,
    SyncState, Timing,
};
use bookline_core::store::{self, ChangeSource, OutboxOp, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use rusqlite::Connection;
use tempfile::TempDir;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

struct Fixture {
    _dir: TempDir,
    path: PathBuf,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("nested")
        .join("data")
        .join("bookline.sqlite3");
    let store = Store::open(&path).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
    }
}

fn timed(title: &str, start: DateTime<Utc>, minutes: i64) -> AppointmentInput {
    AppointmentInput {
        title: title.into(),
        timing: Timing::Timed {
            start,
            end: start + Duration::minutes(minutes),
        },
        timezone: "Europe/Berlin".into(),
        location: String::new(),
        notes: String::new(),
        lead: Lead::default(),
        status: Status::Booked,
        recurrence: None,
    }
}

fn full_input() -> AppointmentInput {
    AppointmentInput {
        title: "Quarterly review with ACME".into(),
        timing: Timing::Timed {
            start: Utc.timestamp_millis_opt(1_780_000_000_123).unwrap(),
            end: Utc.timestamp_millis_opt(1_780_003_600_123).unwrap(),
        },
        timezone: "America/New_York".into(),
        location: "ACME HQ, 1 Main St, Springfield".into(),
        notes: "Bring the renewal contract.\nAsk about the Q3 numbers — ünïcödé ✓".into(),
        lead: Lead {
            name: "Grace Hopper".into(),
            email: "grace@acme.example".into(),
            phone: "+1 (555) 010-9999".into(),
        },
        status: Status::Booked,
        recurrence: Some(Recurrence {
            lines: vec![
                "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T235959Z".into(),
                "EXDATE;TZID=America/New_York:20260609T090000".into(),
            ],
        }),
    }
}

fn counts(store: &Store) -> (u64, u64) {
    (
        store.appointment_count().unwrap(),
        store.pending_outbox_count().unwrap(),
    )
}

fn raw(path: &std::path::Path) -> Connection {
    Connection::open(path).unwrap()
}

#[test]
fn open_creates_folders_and_configures_sqlite() {
    let f = fixture();
    assert!(f.path.exists());
    assert_eq!(f.store.path(), f.path.as_path());
    assert_eq!(f.store.schema_version().unwrap(), store::SCHEMA_VERSION);
    assert_eq!(f.store.migrations_applied_on_open(), store::SCHEMA_VERSION);
    let mode: String = f
        .store
        .read(|c| {
            Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap())
        })
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = f
        .store
        .read(|c| {
            Ok(c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap())
        })
        .unwrap();
    assert_eq!(fk, 1);
}

#[test]
fn reopening_runs_no_migration_and_keeps_data() {
    let f = fixture();
    let a = f
        .store
        .create_appointment(full_input(), Origin::Crm, ChangeSource::User)
        .unwrap();
    let path = f.path.clone();
    drop(f.store);
    let again = Store::open(&path).unwrap();
    assert_eq!(again.migrations_applied_on_open(), 0);
    assert_eq!(again.schema_version().unwrap(), store::SCHEMA_VERSION);
    assert_eq!(again.get_appointment(&a.id).unwrap(), Some(a));
    assert_eq!(again.pending_outbox_count().unwrap(), 1);
}

#[test]
fn a_version_1_database_migrates_and_its_rows_become_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        let mut conn = raw(&path);
        store::migrations().to_version(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO appointments (id, title, all_day, start_ms, end_ms, span_end_ms, \
             timezone, lead_name, status, origin, created_at_ms, updated_at_ms) \
             VALUES ('0190f000-0000-7000-8000-000000000001', 'Legacy demo', 0, \
             1780000000000, 1780003600000, 1780003600000, 'UTC', 'Old Lead', 'booked', 'crm', \
             1700000000000, 1700000000000)",
            [],
        )
        .unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.migrations_applied_on_open(),
        store::SCHEMA_VERSION - 1
    );
    assert_eq!(store.schema_version().unwrap(), store::SCHEMA_VERSION);
    let page = store
        .list_appointments(
            &ListQuery {
                search: Some("old lea".into()),
                period: Period::All,
                limit: 10,
                ..ListQuery::default()
            },
            utc(2026, 1, 1, 0, 0),
        )
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].appointment.title, "Legacy demo");
}

#[test]
fn a_database_from_a_newer_bookline_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite3");
    raw(&path)
        .execute_batch("CREATE TABLE x (a); PRAGMA user_version = 99;")
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer Bookline"), "{err}");
    assert_eq!(AppError::from(err).code, ErrorCode::Storage);
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.sqlite3");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

/// Ids come from uuid's thread-local generator (`fast-rng`), not a system call each:
/// a burst of them is still distinct version-7 ids, in the order they were made.
#[test]
fn ids_made_in_a_burst_are_distinct_v7_in_creation_order() {
    let f = fixture();
    let ids: Vec<String> = (0..300)
        .map(|_| {
            f.store
                .create_appointment(full_input(), Origin::Crm, ChangeSource::User)
                .unwrap()
                .id
        })
        .collect();
    for id in &ids {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "distinct, and ordered as made");
}

#[test]
fn crud_round_trips_every_field() {
    let f = fixture();
    let s = &f.store;
    let created = s
        .create_appointment(full_input(), Origin::Google, ChangeSource::Sync)
        .unwrap();
    assert_eq!(created.id.len(), 36);
    assert_eq!(
        uuid::Uuid::parse_str(&created.id)
            .unwrap()
            .get_version_num(),
        7
    );
    let input = full_input();
    assert_eq!(created.title, input.title);
    assert_eq!(created.timing, input.timing);
    assert_eq!(created.timezone, input.timezone);
    assert_eq!(created.location, input.location);
    assert_eq!(created.notes, input.notes);
    assert_eq!(created.lead, input.lead);
    assert_eq!(created.status, Status::Booked);
    assert_eq!(created.origin, Origin::Google);
    assert_eq!(created.recurrence, input.recurrence);
    assert_eq!(created.instance_of, None);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        s.get_appointment(&created.id).unwrap().as_ref(),
        Some(&created)
    );

    // All-day, no lead, no recurrence.
    let all_day = AppointmentInput {
        title: "Trade fair".into(),
        timing: Timing::AllDay {
            start: date(2026, 5, 3),
            end: date(2026, 5, 6),
        },
        timezone: "Asia/Tokyo".into(),
        location: String::new(),
        notes: String::new(),
        lead: Lead::default(),
        status: Status::Done,
        recurrence: None,
    };
    let day = s
        .create_appointment(all_day.clone(), Origin::Crm, ChangeSource::User)
        .unwrap();
    let got = s.get_appointment(&day.id).unwrap().unwrap();
    assert_eq!(got, day);
    assert_eq!(got.timing, all_day.timing);
    assert_eq!(got.status, Status::Done);

    // Update replaces every editable field, keeps id/origin/created_at.
    let mut changed = all_day.clone();
    changed.title = "  Trade fair (moved)  ".into();
    changed.timing = Timing::Timed {
        start: utc(2026, 5, 4, 7, 0),
        end: utc(2026, 5, 4, 15, 0),
    };
    changed.timezone = "Europe/Paris".into();
    changed.location = "Hall 4".into();
    changed.notes = "Stand B12".into();
    changed.lead = Lead {
        name: "Linus".into(),
        email: "linus@example.org".into(),
        phone: "030 1234567".into(),
    };
    changed.status = Status::Booked;
    changed.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=DAILY;COUNT=3".into()],
    });
    std::thread::sleep(std::time::Duration::from_millis(5));
    let updated = s
        .update_appointment(&day.id, changed.clone(), ChangeSource::User)
        .unwrap();
    assert_eq!(updated.id, day.id);
    assert_eq!(updated.origin, Origin::Crm);
    assert_eq!(updated.created_at, day.created_at);
    assert!(updated.updated_at > day.updated_at);
    assert_eq!(updated.title, "Trade fair (moved)");
    assert_eq!(updated.timing, changed.timing);
    assert_eq!(updated.timezone, "Europe/Paris");
    assert_eq!(updated.lead, changed.lead);
    assert_eq!(updated.recurrence, changed.recurrence);
    assert_eq!(s.get_appointment(&day.id).unwrap(), Some(updated.clone()));

    let cancelled = s
        .set_status(&day.id, Status::Cancelled, ChangeSource::User)
        .unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(cancelled.title, updated.title);

    s.delete_appointment(&day.id, ChangeSource::User).unwrap();
    assert_eq!(s.get_appointment(&day.id).unwrap(), None);
    let err = s
        .delete_appointment(&day.id, ChangeSource::User)
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(AppError::from(err).code, ErrorCode::NotFound);
    assert!(matches!(
        s.update_appointment("nope", all_day, ChangeSource::User),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.set_status("nope", Status::Done, ChangeSource::Sync),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.get_appointment("nope").unwrap(), None);
}

#[test]
fn invalid_input_writes_nothing() {
    let f = fixture();
    let s = &f.store;
    let kept = s
        .create_appointment(full_input(), Origin::Crm, ChangeSource::User)
        .unwrap();
    let before = counts(s);
    let mut cases: Vec<(AppointmentInput, &str)> = Vec::new();
    let mut i = full_input();
    i.title = "   ".into();
    cases.push((i, "title"));
    let mut i = full_input();
    i.notes = "n".repeat(1024 * 1024);
    cases.push((i, "notes"));
    let mut i = full_input();
    i.timezone = "Moon/Base".into();
    cases.push((i, "time zone"));
    let mut i = full_input();
    i.lead.email = "grace at acme".into();
    cases.push((i, "lead email"));
    let mut i = full_input();
    i.lead.phone = "ask reception".into();
    cases.push((i, "lead phone"));
    let mut i = full_input();
    i.timing = Timing::Timed {
        start: utc(2026, 3, 2, 10, 0),
        end: utc(2026, 3, 2, 9, 0),
    };
    cases.push((i, "end"));
    let mut i = full_input();
    i.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=FORTNIGHTLY".into()],
    });
    cases.push((i, "repeat rule"));
    for (input, field) in cases {
        let err = s
            .create_appointment(input.clone(), Origin::Crm, ChangeSource::User)
            .unwrap_err();
        match &err {
            StoreError::Validation { field: f, message } => {
                assert_eq!(*f, field, "{message}");
                assert!(!message.is_empty());
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(AppError::from(err).code, ErrorCode::Validation);
        let err = s
            .update_appointment(&kept.id, input, ChangeSource::User)
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation { .. }), "{err:?}");
        assert_eq!(counts(s), before, "{field}");
        assert_eq!(s.get_appointment(&kept.id).unwrap(), Some(kept.clone()));
    }
}

#[test]
fn outbox_rows_follow_user_changes_but_not_sync_changes() {
    let f = fixture();
    let s = &f.store;
    let synced = s
        .create_appointment(
            timed("From Google", utc(2026, 4, 1, 9, 0), 30),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    s.update_appointment(
        &synced.id,
        timed("From Google, edited there", utc(2026, 4, 1, 9, 0), 30),
        ChangeSource::Sync,
    )
    .unwrap();
    s.set_status(&synced.id, Status::Cancelled, ChangeSource::Sync)
        .unwrap();
    s.delete_appointment(&synced.id, ChangeSource::Sync)
        .unwrap();
    assert_eq!(s.pending_outbox_count().unwrap(), 0);

    let mine = s
        .create_appointment(
            timed("Mine", utc(2026, 4, 2, 9, 0), 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    s.update_appointment(
        &mine.id,
        timed("Mine, longer", utc(2026, 4, 2, 9, 0), 60),
        ChangeSource::User,
    )
    .unwrap();
    s.set_status(&mine.id, Status::Done, ChangeSource::User)
        .unwrap();
    s.delete_appointment(&mine.id, ChangeSource::User).unwrap();
    let due = s.outbox_due(Utc::now(), 100).unwrap();
    let ops: Vec<(String, OutboxOp)> = due
        .iter()
        .map(|e| (e.appointment_id.clone(), e.op))
        .collect();
    assert_eq!(
        ops,
        vec![
            (mine.id.clone(), OutboxOp::Upsert),
            (mine.id.clone(), OutboxOp::Upsert),
            (mine.id.clone(), OutboxOp::Upsert),
            (mine.id.clone(), OutboxOp::Delete),
        ]
    );
    assert!(due.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(due
        .iter()
        .all(|e| e.attempts == 0 && e.last_error.is_none()));

    // The consumer side: a failure postpones, completion removes.
    let first = due[0].seq;
    let retry_at = Utc::now() + Duration::minutes(5);
    s.outbox_failed(first, "Google answered 503", retry_at)
        .unwrap();
    let now_due = s.outbox_due(Utc::now(), 100).unwrap();
    assert_eq!(now_due.len(), 3);
    let later = s.outbox_due(retry_at, 100).unwrap();
    assert_eq!(later[0].seq, first);
    assert_eq!(later[0].attempts, 1);
    assert_eq!(later[0].last_error.as_deref(), Some("Google answered 503"));
    for entry in later {
        s.outbox_complete(entry.seq).unwrap();
    }
    assert_eq!(s.pending_outbox_count().unwrap(), 0);
}

#[test]
fn the_outbox_row_commits_with_the_change_or_not_at_all() {
    let f = fixture();
    // Make every outbox insert fail, from outside the store: the appointment written
    // just before it in the same transaction must roll back.
    raw(&f.path)
        .execute_batch(
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox \
             BEGIN SELECT RAISE(ABORT, 'outbox refused'); END;",
        )
        .unwrap();
    let err = f
        .store
        .create_appointment(
            timed("Never saved", utc(2026, 4, 2, 9, 0), 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    assert_eq!(counts(&f.store), (0, 0));
    // Sync changes do not touch the outbox, so they still go through.
    f.store
        .create_appointment(
            timed("From Google", utc(2026, 4, 2, 9, 0), 30),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    assert_eq!(counts(&f.store), (1, 0));
}

/// 40 appointments around a fixed "now": 20 past, 20 upcoming, alternating status and
/// origin, with leads to search for.
fn seed_list(s: &Store, now: DateTime<Utc>) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..40i64 {
        let start = now + Duration::hours(i - 20) * 5;
        let mut input = timed(&format!("Meeting {i:02}"), start, 30);
        input.lead = Lead {
            name: if i % 10 == 3 {
                "Zoë O'Brien".into()
            } else {
                format!("Lead {i}")
            },
            email: format!("lead{i}@corp{}.example", i % 4),
            phone: format!("+49 30 {:07}", 1000 + i),
        };
        input.status = if i % 3 == 0 {
            Status::Cancelled
        } else {
            Status::Booked
        };
        let origin = if i % 2 == 0 {
            Origin::Crm
        } else {
            Origin::Google
        };
        ids.push(
            s.create_appointment(input, origin, ChangeSource::Sync)
                .unwrap()
                .id,
        );
    }
    ids
}

fn titles(page: &bookline_core::model::AppointmentPage) -> Vec<String> {
    page.rows
        .iter()
        .map(|r| r.appointment.title.clone())
        .collect()
}

#[test]
fn list_pages_upcoming_and_past_in_the_right_order() {
    let f = fixture();
    let s = &f.store;
    let now = utc(2026, 6, 1, 12, 0);
    seed_list(s, now);
    let upcoming = ListQuery {
        period: Period::Upcoming,
        limit: 5,
        ..ListQuery::default()
    };
    let page = s.list_appointments(&upcoming, now).unwrap();
    // Meeting 20 starts exactly now and has not ended: it is upcoming.
    assert_eq!(page.total, 20);
    assert_eq!(
        titles(&page),
        [
            "Meeting 20",
            "Meeting 21",
            "Meeting 22",
            "Meeting 23",
            "Meeting 24"
        ]
    );
    assert!(page
        .rows
        .iter()
        .all(|r| r.sync_state == SyncState::NotConnected && r.google_event_id.is_none()));
    let page2 = s
        .list_appointments(
            &ListQuery {
                offset: 18,
                ..upcoming.clone()
            },
            now,
        )
        .unwrap();
    assert_eq!(titles(&page2), ["Meeting 38", "Meeting 39"]);

    let past = s
        .list_appointments(
            &ListQuery {
                period: Period::Past,
                limit: 3,
                ..ListQuery::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(past.total, 20);
    assert_eq!(titles(&past), ["Meeting 19", "Meeting 18", "Meeting 17"]);

    // One that is running right now counts as upcoming until it ends.
    let running = now - Duration::minutes(10);
    let r = s
        .create_appointment(
            timed("Running", running, 30),
            Origin::Crm,
            ChangeSource::Sync,
        )
        .unwrap();
    let page = s.list_appointments(&upcoming, now).unwrap();
    assert_eq!(page.rows[0].appointment.id, r.id);

    let all = s
        .list_appointments(
            &ListQuery {
                period: Period::All,
                limit: 10_000,
                ..ListQuery::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(all.total, 41);
    assert_eq!(all.rows.len(), 41);
}

#[test]
fn list_limit_is_clamped_to_500() {
    let f = fixture();
    let now = utc(2026, 6, 1, 12, 0);
    f.store
        .write("seed", |tx| {
            for i in 0..520 {
                tx.execute(
                    "INSERT INTO appointments (id, title, all_day, start_ms, end_ms, span_end_ms, \
                     timezone, status, origin, created_at_ms, updated_at_ms) \
                     VALUES (?1, ?2, 0, ?3, ?3 + 60000, ?3 + 60000, 'UTC', 'booked', 'crm', 0, 0)",
                    rusqlite::params![
                        format!("id-{i:04}"),
                        format!("Bulk {i}"),
                        now.timestamp_millis() + i * 60_000
                    ],
                )
                .unwrap();
            }
            Ok(())
        })
        .unwrap();
    let page = f
        .store
        .list_appointments(
            &ListQuery {
                limit: u32::MAX,
                ..ListQuery::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(page.total, 520);
    assert_eq!(page.rows.len(), 500);
}

#[test]
fn search_and_filters_combine() {
    let f = fixture();
    let s = &f.store;
    let now = utc(2026, 6, 1, 12, 0);
    seed_list(s, now);
    let q = |search: &str| ListQuery {
        search: Some(search.into()),
        period: Period::All,
        limit: 100,
        ..ListQuery::default()
    };
    // Title, case-insensitive substring.
    assert_eq!(s.list_appointments(&q("MEETING 1"), now).unwrap().total, 10);
    assert_eq!(s.list_appointments(&q("eting 07"), now).unwrap().total, 1);
    // Lead name with non-ASCII case folding and a quote.
    let zoe = s.list_appointments(&q("zoË o'b"), now).unwrap();
    assert_eq!(
        titles(&zoe),
        ["Meeting 03", "Meeting 13", "Meeting 23", "Meeting 33"]
    );
    // Lead email and phone.
    assert_eq!(s.list_appointments(&q("@CORP2."), now).unwrap().total, 10);
    assert_eq!(s.list_appointments(&q("30 0001007"), now).unwrap().total, 1);
    // Short queries scan instead of using the trigram index.
    assert_eq!(s.list_appointments(&q("39"), now).unwrap().total, 1);
    // Characters that mean something to LIKE or FTS are taken literally.
    for literal in ["%", "_", "\"", "a\"b", "*", "AND", "NOT", "NEAR(", "\\"] {
        assert_eq!(
            s.list_appointments(&q(literal), now).unwrap().total,
            0,
            "{literal}"
        );
    }
    assert_eq!(s.list_appointments(&q("   "), now).unwrap().total, 40);

    let cancelled_google = ListQuery {
        status: Some(Status::Cancelled),
        origin: Some(Origin::Google),
        period: Period::Upcoming,
        limit: 100,
        ..ListQuery::default()
    };
    // i in 20..40, i % 3 == 0 and odd: 21, 27, 33, 39.
    let page = s.list_appointments(&cancelled_google, now).unwrap();
    assert_eq!(
        titles(&page),
        ["Meeting 21", "Meeting 27", "Meeting 33", "Meeting 39"]
    );
    let page = s
        .list_appointments(
            &ListQuery {
                search: Some("zoë".into()),
                ..cancelled_google
            },
            now,
        )
        .unwrap();
    assert_eq!(titles(&page), ["Meeting 33"]);

    // Edits keep the search index current.
    let id = s.list_appointments(&q("Meeting 33"), now).unwrap().rows[0]
        .appointment
        .id
        .clone();
    s.update_appointment(&id, timed("Renamed", now, 30), ChangeSource::User)
        .unwrap();
    assert_eq!(s.list_appointments(&q("Meeting 33"), now).unwrap().total, 0);
    assert_eq!(s.list_appointments(&q("renamed"), now).unwrap().total, 1);
    s.delete_appointment(&id, ChangeSource::User).unwrap();
    assert_eq!(s.list_appointments(&q("renamed"), now).unwrap().total, 0);
}

/// Rows waiting to be indexed: noted by the triggers, or above the index's mark.
pub(crate) const SEARCH_WAITING: &str = "SELECT (SELECT COUNT(*) FROM search_pending) + \
     (SELECT COUNT(*) FROM appointments \
      WHERE row_key > (SELECT indexed_upto FROM search_mark WHERE id = 1))";

/// Whether the search index holds exactly the text of every row (FTS5's integrity check
/// with a non-zero rank compares the index with the content table) and no change is
/// waiting to be indexed.
fn search_index_exact(path: &std::path::Path) -> Result<(), String> {
    let conn = raw(path);
    let pending: i64 = conn.query_row(SEARCH_WAITING, [], |r| r.get(0)).unwrap();
    conn.execute(
        "INSERT INTO appointment_search (appointment_search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .map_err(|e| format!("index differs from the rows: {e}"))?;
    if pending > 0 {
        return Err(format!("{pending} row(s) not indexed yet"));
    }
    Ok(())
}

#[test]
fn the_search_index_is_exact_after_every_committed_write() {
    let f = fixture();
    let s = &f.store;
    let now = utc(2026, 6, 1, 12, 0);
    let check = |step: &str| {
        search_index_exact(&f.path).unwrap_or_else(|e| panic!("after {step}: {e}"));
    };
    let q = |search: &str| ListQuery {
        search: Some(search.into()),
        period: Period::All,
        limit: 100,
        ..ListQuery::default()
    };
    let hits = |search: &str| s.list_appointments(&q(search), now).unwrap().total;

    let mut input = timed("Pricing call", now, 30);
    input.lead = Lead {
        name: "Ada Lovelace".into(),
        email: "ada@engines.example".into(),
        phone: "+44 20 7946 0000".into(),
    };
    let a = s
        .create_appointment(input.clone(), Origin::Crm, ChangeSource::User)
        .unwrap();
    check("a user create");
    assert_eq!(hits("lovelace"), 1);

    input.title = "Contract call".into();
    input.lead.name = "Charles Babbage".into();
    s.update_appointment(&a.id, input.clone(), ChangeSource::User)
        .unwrap();
    check("a user edit");
    assert_eq!(
        (hits("lovelace"), hits("babbage"), hits("pricing")),
        (0, 1, 0)
    );

    s.set_status(&a.id, Status::Cancelled, ChangeSource::User)
        .unwrap();
    check("a status change");

    // A series with a moved instance; deleting the series cascades to the instance.
    let series = s
        .create_appointment(full_input(), Origin::Google, ChangeSource::Sync)
        .unwrap();
    let instance = s
        .create_instance_override(
            SeriesInstance {
                series_id: series.id.clone(),
                original_start: "2026-06-02T13:00:00Z".into(),
            },
            timed("Moved review", utc(2026, 6, 2, 15, 0), 60),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    check("a sync create of a series and its moved instance");
    assert_eq!(hits("moved rev"), 1);
    s.exclude_instance(&series.id, "2026-06-02T13:00:00Z", ChangeSource::User)
        .unwrap();
    check("excluding an instance");
    assert_eq!(hits("moved rev"), 0);
    assert!(s.get_appointment(&instance.id).unwrap().is_none());
    let again = s
        .create_instance_override(
            SeriesInstance {
                series_id: series.id.clone(),
                original_start: "2026-06-09T13:00:00Z".into(),
            },
            timed("Moved again", utc(2026, 6, 9, 15, 0), 60),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    s.delete_appointment(&series.id, ChangeSource::Sync)
        .unwrap();
    check("deleting a series (its instance goes with it)");
    assert!(s.get_appointment(&again.id).unwrap().is_none());
    assert_eq!((hits("quarterly"), hits("moved again")), (0, 0));

    // A failed write leaves nothing behind; a rolled-back savepoint neither.
    let mut bad = input.clone();
    bad.title = String::new();
    assert!(s
        .create_appointment(bad, Origin::Crm, ChangeSource::User)
        .is_err());
    s.write("test", |tx| {
        tx.execute_batch(
            "SAVEPOINT one; UPDATE appointments SET title = 'Rolled back'; ROLLBACK TO one; \
             RELEASE one;",
        )
        .unwrap();
        tx.execute(
            "UPDATE appointments SET lead_phone = '+1 555 0100' WHERE id = ?1",
            [&a.id],
        )
        .unwrap();
        Ok(())
    })
    .unwrap();
    check("a write with a rolled-back savepoint");
    assert_eq!((hits("rolled back"), hits("555 0100")), (0, 1));

    // Plain SQL through `Store::write` (as removing the account does).
    for i in 0..5 {
        s.create_appointment(
            timed(&format!("Imported {i}"), now, 30),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    }
    s.write("test", |tx| {
        tx.execute("DELETE FROM appointments WHERE origin = 'google'", [])
            .unwrap();
        Ok(())
    })
    .unwrap();
    check("a plain-SQL delete through Store::write");
    assert_eq!(hits("imported"), 0);

    // The highest row deleted after it was indexed: SQLite gives its key to the next row,
    // which must still be indexed (the mark came down with the delete) and the old text
    // be gone.
    let newest = s
        .create_appointment(
            timed("Newest call", now, 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    check("a create");
    let key = |id: &str| -> i64 {
        raw(&f.path)
            .query_row(
                "SELECT row_key FROM appointments WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let newest_key = key(&newest.id);
    s.delete_appointment(&newest.id, ChangeSource::User)
        .unwrap();
    check("deleting the highest row");
    let reused = s
        .create_appointment(
            timed("Reused key", now, 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    assert_eq!(key(&reused.id), newest_key, "SQLite reuses the highest key");
    check("a create on a reused key");
    assert_eq!((hits("newest"), hits("reused key")), (0, 1));
    s.delete_appointment(&reused.id, ChangeSource::User)
        .unwrap();
    check("deleting it again");

    // A writer that bypasses the store: its change waits (the check sees it), and the
    // store indexes it when it next opens or writes.
    raw(&f.path)
        .execute(
            "UPDATE appointments SET title = 'Edited elsewhere' WHERE id = ?1",
            [&a.id],
        )
        .unwrap();
    assert!(search_index_exact(&f.path).is_err());
    let reopened = Store::open(&f.path).unwrap();
    check("reopening after an outside write");
    assert_eq!(
        reopened
            .list_appointments(&q("elsewhere"), now)
            .unwrap()
            .total,
        1
    );
    assert_eq!(s.appointment_count().unwrap(), 1);
}

#[test]
fn a_zero_length_event_from_google_is_stored_but_a_user_must_give_an_end() {
    let f = fixture();
    let s = &f.store;
    let at = utc(2026, 6, 8, 0, 0);
    let reminder = timed("Reminder: send the quote", at, 0);
    let err = s
        .create_appointment(reminder.clone(), Origin::Crm, ChangeSource::User)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Validation { field: "end", .. }),
        "{err:?}"
    );
    let a = s
        .create_appointment(reminder.clone(), Origin::Google, ChangeSource::Sync)
        .unwrap();
    assert_eq!(a.timing, reminder.timing);
    assert_eq!(s.get_appointment(&a.id).unwrap(), Some(a.clone()));
    // The user cannot edit it into zero length either, but sync can keep it so.
    let mut renamed = reminder.clone();
    renamed.title = "Reminder: call back".into();
    assert!(s
        .update_appointment(&a.id, renamed.clone(), ChangeSource::User)
        .is_err());
    s.update_appointment(&a.id, renamed, ChangeSource::Sync)
        .unwrap();
    // An end before the start stays refused from either side.
    let mut backwards = reminder.clone();
    backwards.timing = Timing::Timed {
        start: at,
        end: at - Duration::minutes(1),
    };
    assert!(s
        .create_appointment(backwards, Origin::Google, ChangeSource::Sync)
        .is_err());

    // Listed: upcoming before it, past after; in a week that starts at its instant.
    let list = |period, now| {
        s.list_appointments(
            &ListQuery {
                period,
                limit: 10,
                ..ListQuery::default()
            },
            now,
        )
        .unwrap()
    };
    assert_eq!(
        titles(&list(Period::Upcoming, at - Duration::hours(1))),
        ["Reminder: call back"]
    );
    assert_eq!(
        titles(&list(Period::Past, at + Duration::hours(1))),
        ["Reminder: call back"]
    );
    let week = s.occurrences(at, at + Duration::days(7)).unwrap();
    assert_eq!(week.len(), 1);
    assert_eq!(week[0].timing, reminder.timing);
    assert!(s
        .occurrences(at - Duration::days(7), at)
        .unwrap()
        .is_empty());
    // An ordinary appointment that ends at the window's start is not in it.
    s.create_appointment(
        timed("Ends at the start", at - Duration::hours(1), 60),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(s.occurrences(at, at + Duration::days(7)).unwrap().len(), 1);
}

#[test]
fn a_version_5_file_rebuilds_its_table_with_rows_links_and_search_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite3");
    let series_id = "0190f000-0000-7000-8000-0000000000a1";
    let instance_id = "0190f000-0000-7000-8000-0000000000a2";
    {
        let mut conn = raw(&path);
        store::migrations().to_version(&mut conn, 5).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let insert = "INSERT INTO appointments (id, title, all_day, start_ms, end_ms, \
            span_end_ms, timezone, lead_name, lead_email, status, origin, recurrence, series_id, \
            original_start, created_at_ms, updated_at_ms) VALUES (?1, ?2, 0, 1780000000000, \
            1780003600000, ?3, 'UTC', ?4, 'lead@example.com', 'booked', 'google', ?5, ?6, ?7, \
            1700000000000, 1700000000000)";
        conn.execute(
            insert,
            rusqlite::params![
                series_id,
                "Weekly pipeline",
                i64::MAX,
                "Series Lead",
                r#"["RRULE:FREQ=WEEKLY"]"#,
                None::<String>,
                None::<String>
            ],
        )
        .unwrap();
        conn.execute(
            insert,
            rusqlite::params![
                instance_id,
                "Pipeline (moved)",
                1780003600000i64,
                "Instance Lead",
                None::<String>,
                Some(series_id),
                Some("2026-05-28T20:26:40Z")
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO links (appointment_id, calendar_id, event_id, etag, crm_snapshot, \
             google_snapshot, synced_at) VALUES (?1, 'primary', 'series1', '\"1\"', '{}', '{}', \
             '2026-01-01T00:00:00.000Z')",
            [series_id],
        )
        .unwrap();
        // A change a writer left for the index (the rebuild covers it).
        conn.execute(
            "UPDATE appointments SET lead_phone = '+49 30 1234' WHERE id = ?1",
            [instance_id],
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), store::SCHEMA_VERSION);
    let (fk, fk_problems, sql): (i64, i64, String) = s
        .read(|c| {
            Ok((
                c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                    .unwrap(),
                c.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .unwrap(),
                c.query_row(
                    "SELECT sql FROM sqlite_schema WHERE name = 'appointments'",
                    [],
                    |r| r.get(0),
                )
                .unwrap(),
            ))
        })
        .unwrap();
    assert_eq!((fk, fk_problems), (1, 0));
    assert!(sql.contains("end_ms >= start_ms"), "{sql}");
    let index_count: i64 = s
        .read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE tbl_name = 'appointments' \
                 AND type IN ('index', 'trigger') AND sql IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap();
    assert_eq!(
        index_count,
        6 + 2 + 1,
        "version 4's indices, the update and delete triggers (version 15 has no insert \
         trigger) and version 11's index"
    );
    search_index_exact(&path).unwrap();

    let series = s.get_appointment(series_id).unwrap().unwrap();
    assert_eq!(series.lead.name, "Series Lead");
    let instance = s.get_appointment(instance_id).unwrap().unwrap();
    assert_eq!(instance.instance_of.unwrap().series_id, series_id);
    let linked: String = s
        .read(|c| {
            Ok(c.query_row(
                "SELECT event_id FROM links WHERE appointment_id = ?1",
                [series_id],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap();
    assert_eq!(linked, "series1");
    let q = |search: &str| ListQuery {
        search: Some(search.into()),
        period: Period::All,
        limit: 10,
        ..ListQuery::default()
    };
    let now = utc(2026, 1, 1, 0, 0);
    assert_eq!(
        s.list_appointments(&q("series lead"), now).unwrap().total,
        1
    );
    assert_eq!(s.list_appointments(&q("30 1234"), now).unwrap().total, 1);
    // The series' reference survived the rename: deleting it takes its instance along.
    s.delete_appointment(series_id, ChangeSource::Sync).unwrap();
    assert_eq!(s.appointment_count().unwrap(), 0);
    search_index_exact(&path).unwrap();
    // Rows after the migration may be zero-length when sync writes them.
    s.create_appointment(timed("Instant", now, 0), Origin::Google, ChangeSource::Sync)
        .unwrap();
    drop(s);
    let check: String = raw(&path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn a_running_series_is_upcoming_until_its_last_instance() {
    let f = fixture();
    let s = &f.store;
    let now = utc(2026, 6, 1, 12, 0);
    let mut endless = timed("Weekly stand-up", utc(2025, 1, 6, 9, 0), 15);
    endless.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY".into()],
    });
    let mut finished = timed("Old series", utc(2025, 1, 6, 9, 0), 15);
    finished.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=3".into()],
    });
    s.create_appointment(endless, Origin::Crm, ChangeSource::User)
        .unwrap();
    s.create_appointment(finished, Origin::Crm, ChangeSource::User)
        .unwrap();
    let q = |period| ListQuery {
        period,
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(
        titles(&s.list_appointments(&q(Period::Upcoming), now).unwrap()),
        ["Weekly stand-up"]
    );
    assert_eq!(
        titles(&s.list_appointments(&q(Period::Past), now).unwrap()),
        ["Old series"]
    );
}

#[test]
fn occurrences_apply_exdates_and_moved_instances_across_dst() {
    let f = fixture();
    let s = &f.store;
    // Mondays 10:00–11:00 Berlin from 2026-03-16; Berlin moves to summer time on 03-29.
    let mut weekly = timed("Pipeline review", utc(2026, 3, 16, 9, 0), 60);
    weekly.recurrence = Some(Recurrence {
        lines: vec![
            "RRULE:FREQ=WEEKLY;BYDAY=MO".into(),
            "EXDATE;TZID=Europe/Berlin:20260323T100000".into(),
        ],
    });
    let series = s
        .create_appointment(weekly, Origin::Crm, ChangeSource::User)
        .unwrap();
    // The 04-06 instance moves to Tuesday 04-07 14:00 Berlin and gets a new title.
    let moved = s
        .create_instance_override(
            SeriesInstance {
                series_id: series.id.clone(),
                original_start: "2026-04-06T10:00:00+02:00".into(),
            },
            timed("Pipeline review (moved)", utc(2026, 4, 7, 12, 0), 60),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    // The 04-13 instance moves out of the window entirely.
    s.create_instance_override(
        SeriesInstance {
            series_id: series.id.clone(),
            original_start: "2026-04-13T08:00:00Z".into(),
        },
        timed("Pipeline review (much later)", utc(2026, 6, 1, 8, 0), 60),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    let single = s
        .create_appointment(
            timed("Lunch with Ada", utc(2026, 3, 31, 11, 0), 90),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    s.create_appointment(
        timed("Outside the window", utc(2026, 5, 1, 11, 0), 90),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();

    let got = s
        .occurrences(utc(2026, 3, 15, 0, 0), utc(2026, 4, 20, 0, 0))
        .unwrap();
    let summary: Vec<(String, DateTime<Utc>, Option<String>)> = got
        .iter()
        .map(|o| match o.timing {
            Timing::Timed { start, .. } => (o.title.clone(), start, o.series_id.clone()),
            Timing::AllDay { .. } => panic!("unexpected all-day occurrence"),
        })
        .collect();
    let sid = Some(series.id.clone());
    assert_eq!(
        summary,
        vec![
            (
                "Pipeline review".into(),
                utc(2026, 3, 16, 9, 0),
                sid.clone()
            ),
            // 03-23 is an EXDATE; from 03-30 on, 10:00 Berlin is 08:00 UTC.
            (
                "Pipeline review".into(),
                utc(2026, 3, 30, 8, 0),
                sid.clone()
            ),
            ("Lunch with Ada".into(), utc(2026, 3, 31, 11, 0), None),
            (
                "Pipeline review (moved)".into(),
                utc(2026, 4, 7, 12, 0),
                sid.clone()
            ),
            // 04-13 moved out of the window.
        ]
    );
    assert_eq!(got[2].appointment_id, single.id);
    assert_eq!(got[3].appointment_id, moved.id);
    assert_eq!(got[0].appointment_id, series.id);

    // An override must point at a real series.
    let before = counts(s);
    let err = s
        .create_instance_override(
            SeriesInstance {
                series_id: single.id.clone(),
                original_start: "2026-03-31T11:00:00Z".into(),
            },
            timed("x", utc(2026, 4, 1, 11, 0), 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation {
                field: "series",
                ..
            }
        ),
        "{err:?}"
    );
    let err = s
        .create_instance_override(
            SeriesInstance {
                series_id: series.id.clone(),
                original_start: "next monday".into(),
            },
            timed("x", utc(2026, 4, 1, 11, 0), 30),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation {
                field: "original start",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(counts(s), before);

    // Deleting the moved instance deletes that instance for good (the series gains an
    // EXDATE); the original 04-06 instance must not come back.
    let outbox_before = s.pending_outbox_count().unwrap();
    s.delete_appointment(&moved.id, ChangeSource::User).unwrap();
    let lines = s
        .get_appointment(&series.id)
        .unwrap()
        .unwrap()
        .recurrence
        .unwrap()
        .lines;
    assert!(
        lines.contains(&"EXDATE:20260406T080000Z".to_string()),
        "{lines:?}"
    );
    // Removing a plain occurrence from the week view.
    let updated = s
        .exclude_instance(&series.id, "2026-03-30T10:00:00+02:00", ChangeSource::User)
        .unwrap();
    assert_eq!(updated.recurrence.unwrap().lines.len(), 4);
    // delete(moved) + upsert(series), then upsert(series).
    assert_eq!(s.pending_outbox_count().unwrap(), outbox_before + 3);
    let left: Vec<(String, DateTime<Utc>)> = s
        .occurrences(utc(2026, 3, 15, 0, 0), utc(2026, 4, 20, 0, 0))
        .unwrap()
        .into_iter()
        .map(|o| match o.timing {
            Timing::Timed { start, .. } => (o.title, start),
            Timing::AllDay { .. } => panic!("unexpected all-day occurrence"),
        })
        .collect();
    assert_eq!(
        left,
        vec![
            ("Pipeline review".to_string(), utc(2026, 3, 16, 9, 0)),
            ("Lunch with Ada".to_string(), utc(2026, 3, 31, 11, 0)),
        ]
    );
    let before = counts(s);
    let err = s
        .exclude_instance(&series.id, "2026-03-30", ChangeSource::User)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation {
                field: "original start",
                ..
            }
        ),
        "{err:?}"
    );
    let err = s
        .exclude_instance(&single.id, "2026-03-31T11:00:00Z", ChangeSource::User)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation {
                field: "series",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(counts(s), before);

    // Deleting the series removes its remaining moved instance (04-13) and queues a
    // delete for each.
    let outbox_before = s.pending_outbox_count().unwrap();
    s.delete_appointment(&series.id, ChangeSource::User)
        .unwrap();
    assert_eq!(s.appointment_count().unwrap(), 2);
    assert_eq!(s.pending_outbox_count().unwrap(), outbox_before + 2);
    let left = s
        .occurrences(utc(2026, 3, 15, 0, 0), utc(2026, 4, 20, 0, 0))
        .unwrap();
    assert_eq!(left.len(), 1);
}

#[test]
fn a_sync_delete_of_a_moved_instance_leaves_the_series_rule_verbatim() {
    let f = fixture();
    let s = &f.store;
    let mut weekly = timed("From Google", utc(2026, 3, 16, 9, 0), 60);
    let lines = vec!["RRULE:FREQ=WEEKLY;COUNT=3".to_string()];
    weekly.recurrence = Some(Recurrence {
        lines: lines.clone(),
    });
    let series = s
        .create_appointment(weekly, Origin::Google, ChangeSource::Sync)
        .unwrap();
    let moved = s
        .create_instance_override(
            SeriesInstance {
                series_id: series.id.clone(),
                original_start: "2026-03-23T09:00:00Z".into(),
            },
            timed("From Google (moved)", utc(2026, 3, 24, 9, 0), 60),
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    s.delete_appointment(&moved.id, ChangeSource::Sync).unwrap();
    let after = s.get_appointment(&series.id).unwrap().unwrap();
    assert_eq!(after.recurrence.unwrap().lines, lines);
    assert_eq!(after.updated_at, series.updated_at);
    assert_eq!(s.pending_outbox_count().unwrap(), 0);
    assert_eq!(
        s.occurrences(utc(2026, 3, 1, 0, 0), utc(2026, 4, 30, 0, 0))
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn all_day_series_occurrences_stay_on_their_dates() {
    let f = fixture();
    let s = &f.store;
    let series = s
        .create_appointment(
            AppointmentInput {
                title: "Site visit".into(),
                timing: Timing::AllDay {
                    start: date(2026, 3, 27),
                    end: date(2026, 3, 28),
                },
                timezone: "America/Los_Angeles".into(),
                location: String::new(),
                notes: String::new(),
                lead: Lead::default(),
                status: Status::Booked,
                recurrence: Some(Recurrence {
                    lines: vec![
                        "RRULE:FREQ=DAILY;COUNT=4".into(),
                        "EXDATE;VALUE=DATE:20260328".into(),
                    ],
                }),
            },
            Origin::Google,
            ChangeSource::Sync,
        )
        .unwrap();
    s.create_instance_override(
        SeriesInstance {
            series_id: series.id.clone(),
            original_start: "2026-03-29".into(),
        },
        AppointmentInput {
            title: "Site visit (two days)".into(),
            timing: Timing::AllDay {
                start: date(2026, 3, 29),
                end: date(2026, 3, 31),
            },
            timezone: "America/Los_Angeles".into(),
            location: String::new(),
            notes: String::new(),
            lead: Lead::default(),
            status: Status::Booked,
            recurrence: None,
        },
        Origin::Google,
        ChangeSource::Sync,
    )
    .unwrap();
    let got = s
        .occurrences(utc(2026, 3, 1, 0, 0), utc(2026, 5, 1, 0, 0))
        .unwrap();
    let days: Vec<(String, NaiveDate, NaiveDate)> = got
        .iter()
        .map(|o| match o.timing {
            Timing::AllDay { start, end } => (o.title.clone(), start, end),
            Timing::Timed { .. } => panic!("unexpected timed occurrence"),
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("Site visit".into(), date(2026, 3, 27), date(2026, 3, 28)),
            (
                "Site visit (two days)".into(),
                date(2026, 3, 29),
                date(2026, 3, 31)
            ),
            ("Site visit".into(), date(2026, 3, 30), date(2026, 3, 31)),
        ]
    );
}

#[test]
fn a_rule_bookline_cannot_expand_is_kept_and_reported() {
    let f = fixture();
    let s = &f.store;
    let mut input = timed("Odd Google series", utc(2026, 3, 16, 9, 0), 60);
    let lines = vec![
        "RRULE:FREQ=WEEKLY;BYDAY=MO".to_string(),
        "EXRULE:FREQ=MONTHLY;BYMONTHDAY=1".to_string(),
    ];
    input.recurrence = Some(Recurrence {
        lines: lines.clone(),
    });
    // A user may not type it…
    let err = s
        .create_appointment(input.clone(), Origin::Crm, ChangeSource::User)
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Validation {
            field: "repeat rule",
            ..
        }
    ));
    // …but Google's copy is stored verbatim.
    let a = s
        .create_appointment(input, Origin::Google, ChangeSource::Sync)
        .unwrap();
    assert_eq!(
        s.get_appointment(&a.id)
            .unwrap()
            .unwrap()
            .recurrence
            .unwrap()
            .lines,
        lines
    );
    let report = s
        .occurrences_with_report(utc(2026, 3, 1, 0, 0), utc(2026, 6, 1, 0, 0))
        .unwrap();
    assert_eq!(report.occurrences.len(), 1);
    assert_eq!(
        report.occurrences[0].timing,
        Timing::Timed {
            start: utc(2026, 3, 16, 9, 0),
            end: utc(2026, 3, 16, 10, 0)
        }
    );
    assert_eq!(report.unexpanded.len(), 1);
    assert_eq!(report.unexpanded[0].title, "Odd Google series");
    assert!(report.unexpanded[0].reason.contains("EXRULE"));
    assert_eq!(
        s.occurrences(utc(2026, 3, 1, 0, 0), utc(2026, 6, 1, 0, 0))
            .unwrap()
            .len(),
        1
    );
    // An empty or reversed window is simply empty.
    assert!(s
        .occurrences(utc(2026, 6, 1, 0, 0), utc(2026, 3, 1, 0, 0))
        .unwrap()
        .is_empty());
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Account {
    email: String,
    connected_at: DateTime<Utc>,
}

#[test]
fn settings_round_trip_as_json() {
    let f = fixture();
    let s = &f.store;
    assert_eq!(s.get_setting::<String>("direction").unwrap(), None);
    s.set_setting("direction", "both").unwrap();
    assert_eq!(
        s.get_setting::<String>("direction").unwrap().as_deref(),
        Some("both")
    );
    s.set_setting("direction", &"crm-to-google").unwrap();
    assert_eq!(
        s.get_setting::<String>("direction").unwrap().as_deref(),
        Some("crm-to-google")
    );
    let account = Account {
        email: "sales@example.com".into(),
        connected_at: utc(2026, 3, 1, 8, 0),
    };
    s.set_setting("account", &account).unwrap();
    assert_eq!(s.get_setting::<Account>("account").unwrap(), Some(account));
    let err = s.get_setting::<u32>("account").unwrap_err();
    assert!(matches!(err, StoreError::Setting { .. }), "{err:?}");
    assert!(s.remove_setting("account").unwrap());
    assert!(!s.remove_setting("account").unwrap());
    assert_eq!(s.get_setting::<Account>("account").unwrap(), None);
    // Settings survive reopening.
    let path = f.path.clone();
    drop(f.store);
    assert_eq!(
        Store::open(&path)
            .unwrap()
            .get_setting::<String>("direction")
            .unwrap()
            .as_deref(),
        Some("crm-to-google")
    );
}

#[test]
fn store_is_shareable_between_threads_and_processes() {
    let f = fixture();
    let store = std::sync::Arc::new(f.store);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    store
                        .create_appointment(
                            timed(&format!("T{t} #{i}"), utc(2026, 4, 1, 9, 0), 30),
                            Origin::Crm,
                            ChangeSource::User,
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    // A second connection (the CLI while the app runs) writes at the same time.
    let second = Store::open(&f.path).unwrap();
    for i in 0..10 {
        second
            .create_appointment(
                timed(&format!("CLI #{i}"), utc(2026, 4, 1, 9, 0), 30),
                Origin::Crm,
                ChangeSource::User,
            )
            .unwrap();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(counts(&store), (50, 50));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever valid timing goes in comes back out of the file unchanged.
    #[test]
    fn stored_timings_round_trip(
        start_s in -2_208_988_800i64..7_258_118_400i64,
        minutes in 1i64..(60 * 24 * 10),
        all_day in any::<bool>(),
        days in 1i64..30,
        tz in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/Santiago", "Asia/Kolkata", "Pacific/Chatham"]),
    ) {
        thread_local! {
            static FIXTURE: Fixture = fixture();
        }
        let start = Utc.timestamp_opt(start_s, 0).unwrap();
        let timing = if all_day {
            let d = start.date_naive();
            Timing::AllDay { start: d, end: d + Duration::days(days) }
        } else {
            Timing::Timed { start, end: start + Duration::minutes(minutes) }
        };
        let mut input = timed("Round trip", start, 1);
        input.timing = timing.clone();
        input.timezone = tz.to_string();
        FIXTURE.with(|f| {
            let a = f.store.create_appointment(input, Origin::Crm, ChangeSource::Sync).unwrap();
            let got = f.store.get_appointment(&a.id).unwrap().unwrap();
            prop_assert_eq!(&got.timing, &timing);
            prop_assert_eq!(got, a);
            Ok(())
        })?;
    }
}

/// Version 9 rebuilds `links` as a rowid table: the links of a version 8 file survive
/// with every column, and both of its keys stay unique (a link written again for the
/// same event or the same appointment replaces the old one, as `links::upsert` needs).
#[test]
fn a_version_8_file_keeps_its_links_and_their_keys_in_the_rowid_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.sqlite3");
    {
        let mut conn = raw(&path);
        store::migrations().to_version(&mut conn, 8).unwrap();
        for (appointment, event) in [("a1", "event1"), ("a2", "event2")] {
            conn.execute(
                "INSERT INTO links (appointment_id, calendar_id, event_id, etag, crm_snapshot, \
                 google_snapshot, synced_at, last_error, google_summary, google_description) \
                 VALUES (?1, 'primary', ?2, '\"7\"', '{\"a\":1}', '{\"b\":2}', \
                 '2026-01-01T00:00:00.000Z', 'it failed', 'Summary', 'Description')",
                [appointment, event],
            )
            .unwrap();
        }
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), store::SCHEMA_VERSION);
    let rows = |s: &Store| -> Vec<(String, String, String, String, String, String)> {
        s.read(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT appointment_id, event_id, etag, crm_snapshot || google_snapshot, \
                     last_error, google_summary || google_description FROM links \
                     ORDER BY appointment_id",
                )
                .unwrap();
            Ok(stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap())
        })
        .unwrap()
    };
    let row = |a: &str, e: &str| {
        (
            a.to_owned(),
            e.to_owned(),
            "\"7\"".to_owned(),
            "{\"a\":1}{\"b\":2}".to_owned(),
            "it failed".to_owned(),
            "SummaryDescription".to_owned(),
        )
    };
    assert_eq!(rows(&s), vec![row("a1", "event1"), row("a2", "event2")]);
    let without_rowid: bool = s
        .read(|c| {
            Ok(c.query_row(
                "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = 'links'",
                [],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap();
    assert!(!without_rowid);
    // The same event for another appointment, and the same appointment for another event.
    s.write("relink", |tx| {
        for (appointment, event) in [("a3", "event1"), ("a2", "event9")] {
            tx.execute(
                "INSERT OR REPLACE INTO links (appointment_id, calendar_id, event_id, etag, \
                 crm_snapshot, google_snapshot, synced_at, last_error, google_summary, \
                 google_description) VALUES (?1, 'primary', ?2, '\"7\"', '{\"a\":1}', \
                 '{\"b\":2}', '2026-01-01T00:00:00.000Z', 'it failed', 'Summary', 'Description')",
                [appointment, event],
            )
            .unwrap();
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(rows(&s), vec![row("a2", "event9"), row("a3", "event1")]);
}

/// A transfer's larger page cache is its own: the connection has SQLite's default again
/// once the guard goes, so Bookline in the tray does not keep 16 MiB of pages.
#[test]
fn the_bulk_page_cache_lasts_as_long_as_its_guard() {
    let f = fixture();
    let cache_size = |s: &Store| -> i64 {
        s.read(|c| Ok(c.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap()))
            .unwrap()
    };
    assert_eq!(cache_size(&f.store), -2000);
    {
        let _cache = f.store.bulk_cache();
        assert_eq!(cache_size(&f.store), -16 * 1024);
        f.store
            .create_appointment(
                timed("During a transfer", utc(2026, 6, 1, 12, 0), 30),
                Origin::Google,
                ChangeSource::Sync,
            )
            .unwrap();
    }
    assert_eq!(cache_size(&f.store), -2000);
}
