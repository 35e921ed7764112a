//! Proof that bad conditions end in a clear sentence and lose nothing: a full disk, a
//! locked database, an old schema, bad user input for every field, odd Google answers,
//! tampered OAuth callbacks, and a token scan of everything a full connect leaves behind.
//! Everything runs against real SQLite files and the real emulator.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bookline_core::error::{AppError, ErrorCode};
use bookline_core::google::{CalendarClient, Endpoints, Event, ListParams, StaticTokenSource};
use bookline_core::input;
use bookline_core::model::{AppointmentInput, Lead, Origin, Recurrence, Status, Timing};
use bookline_core::oauth::{self, LoopbackListener, OAuthClient, OAuthClientConfig};
use bookline_core::secrets::{self, MemorySecretStore, SecretStore};
use bookline_core::store::{self, ChangeSource, Store, StoreError};
use bookline_core::sync::fields::{SyncFields, SyncStatus};
use bookline_core::sync::mapping::{fields_from_event, google_side, MappingContext};
use bookline_core::sync::privacy::PrivacySettings;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::google::{account, control, start};

// ---------------------------------------------------------------------------------------
// SQLite: disk full, locks, old schemas
// ---------------------------------------------------------------------------------------

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn input_with_notes(title: &str, notes_bytes: usize) -> AppointmentInput {
    AppointmentInput {
        title: title.into(),
        timing: Timing::Timed {
            start: at(1_780_000_000_000),
            end: at(1_780_003_600_000),
        },
        timezone: "Europe/Berlin".into(),
        location: "Berlin office".into(),
        notes: "n".repeat(notes_bytes),
        lead: Lead {
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            phone: "+49 30 1234567".into(),
        },
        status: Status::Booked,
        recurrence: None,
    }
}

fn counts(s: &Store) -> (u64, u64) {
    (
        s.appointment_count().unwrap(),
        s.pending_outbox_count().unwrap(),
    )
}

fn integrity(path: &Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Fills the store with big appointments until a write fails; returns the error and the
/// counts right before the failing write.
fn fill_until_error(s: &Store, notes: usize, limit: usize) -> (StoreError, (u64, u64)) {
    for n in 0..limit {
        let before = counts(s);
        match s.create_appointment(
            input_with_notes(&format!("Filler {n}"), notes),
            Origin::Crm,
            ChangeSource::User,
        ) {
            Ok(_) => continue,
            Err(e) => return (e, before),
        }
    }
    panic!("{limit} writes of {notes} bytes never filled the database");
}

fn assert_disk_full_then_recoverable(s: &Store, path: &Path, err: StoreError, before: (u64, u64)) {
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
    let sentence = err.to_string();
    assert_eq!(
        sentence,
        "The disk is full, so Bookline could not save. Free some space and try again."
    );
    assert_eq!(AppError::from(err).code, ErrorCode::Storage);
    // The failed transaction left neither the appointment nor its outbox row behind.
    assert_eq!(counts(s), before);
    assert_eq!(integrity(path), "ok");
}

#[test]
fn disk_full_by_page_limit_is_a_clear_sentence_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookline.sqlite3");
    let s = Store::open(&path).unwrap();
    s.create_appointment(
        input_with_notes("Kept", 10),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    // The connection may grow by only a few pages: the next big rows hit SQLITE_FULL
    // exactly as a full disk would.
    s.read(|conn| {
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.query_row(&format!("PRAGMA max_page_count = {}", pages + 8), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
        Ok(())
    })
    .unwrap();
    let (err, before) = fill_until_error(&s, 16 * 1024, 100);
    assert_disk_full_then_recoverable(&s, &path, err, before);
    // Edits of existing rows fail the same way and leave the row as it was.
    let kept = s
        .list_appointments(
            &bookline_core::model::ListQuery {
                search: Some("Kept".into()),
                period: bookline_core::model::Period::All,
                limit: 5,
                ..Default::default()
            },
            at(0),
        )
        .unwrap()
        .rows
        .remove(0)
        .appointment;
    let grown = input_with_notes("Kept", 60 * 1024);
    let err = s
        .update_appointment(&kept.id, grown, ChangeSource::User)
        .unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
    assert_eq!(s.get_appointment(&kept.id).unwrap(), Some(kept));

    // Space again → the same write succeeds.
    s.read(|conn| {
        conn.query_row("PRAGMA max_page_count = 1073741823", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
        Ok(())
    })
    .unwrap();
    s.create_appointment(
        input_with_notes("After", 16 * 1024),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    assert_eq!(counts(&s).0, before.0 + 1);
    drop(s);
    assert_eq!(integrity(&path), "ok");
}

/// Unmounts the tmpfs when the test ends, even by panic.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn disk_full_on_a_real_tmpfs() {
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("small");
    std::fs::create_dir(&mount_point).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mount_point)
        .output();
    let _guard = match mounted {
        Ok(out) if out.status.success() => Mounted(mount_point.clone()),
        // Where mounting is not allowed the page-limit test above still runs; CI must
        // be able to mount (root or CAP_SYS_ADMIN), so there this is a failure.
        Ok(out) => {
            crate::skip_or_fail_in_ci(&format!(
                "mounting a 1 MB tmpfs is not permitted here ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return;
        }
        Err(e) => {
            crate::skip_or_fail_in_ci(&format!("`mount` could not run ({e})"));
            return;
        }
    };
    let path = mount_point.join("bookline.sqlite3");
    let s = Store::open(&path).unwrap();
    let (err, before) = fill_until_error(&s, 32 * 1024, 200);
    assert!(before.0 > 0, "nothing fit on the tmpfs before it was full");
    assert_disk_full_then_recoverable(&s, &path, err, before);
    drop(s);
    // Reopening on the full disk still reads every row that was saved.
    let s = Store::open(&path).unwrap();
    assert_eq!(counts(&s), before);
}

/// An exclusive lock on the database held outside the store until `release`.
enum LockHolder {
    Process(std::process::Child),
    Connection(Connection),
}

impl LockHolder {
    fn take(path: &Path) -> LockHolder {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        const SCRIPT: &str = "import sqlite3, sys\n\
c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
c.execute('BEGIN EXCLUSIVE')\n\
print('locked', flush=True)\n\
sys.stdin.read()\n\
c.execute('COMMIT')\n";
        let spawned = Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        match spawned {
            Ok(mut child) => {
                let mut line = String::new();
                if let Some(out) = child.stdout.take() {
                    BufReader::new(out).read_line(&mut line).unwrap();
                }
                assert_eq!(line.trim(), "locked", "the locking process did not start");
                LockHolder::Process(child)
            }
            Err(e) => {
                println!("python3 unavailable ({e}); holding the lock from a second connection");
                let c = Connection::open(path).unwrap();
                c.execute_batch("BEGIN EXCLUSIVE").unwrap();
                LockHolder::Connection(c)
            }
        }
    }

    fn release(self) {
        match self {
            LockHolder::Process(mut child) => {
                // Closing its stdin lets the process commit and exit.
                drop(child.stdin.take());
                assert!(child.wait().unwrap().success());
            }
            LockHolder::Connection(c) => c.execute_batch("COMMIT").unwrap(),
        }
    }
}

#[test]
fn a_database_locked_by_another_process_is_busy_then_works_after_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookline.sqlite3");
    let s = Store::open(&path).unwrap();
    s.create_appointment(
        input_with_notes("First", 10),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    let before = counts(&s);

    // Another process holds the write lock: Python's sqlite3 when available (a real second
    // process), else a second connection of this one.
    let holder = LockHolder::take(&path);
    let started = Instant::now();
    let err = s
        .create_appointment(
            input_with_notes("Blocked", 10),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap_err();
    // It waited for the busy timeout before giving up.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The Bookline database is busy in another window or process. Try again in a moment."
    );
    holder.release();
    assert_eq!(counts(&s), before);

    // A lock released while the store waits is simply waited out.
    let holder = std::thread::spawn({
        let path = path.clone();
        move || {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE").unwrap();
            std::thread::sleep(Duration::from_millis(800));
            c.execute_batch("COMMIT").unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    s.create_appointment(
        input_with_notes("Waited", 10),
        Origin::Crm,
        ChangeSource::User,
    )
    .unwrap();
    holder.join().unwrap();
    assert_eq!(counts(&s).0, before.0 + 1);
    drop(s);
    assert_eq!(integrity(&path), "ok");
}

#[test]
fn every_older_schema_version_migrates_with_rows_intact() {
    for version in 1..store::SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            store::migrations().to_version(&mut conn, version).unwrap();
            for n in 0..3 {
                conn.execute(
                    "INSERT INTO appointments (id, title, all_day, start_ms, end_ms, span_end_ms, \
                     timezone, lead_name, notes, status, origin, created_at_ms, updated_at_ms) \
                     VALUES (?1, ?2, 0, 1780000000000, 1780003600000, 1780003600000, \
                     'Europe/Berlin', 'Old Lead', 'notes ✓', 'booked', 'crm', \
                     1700000000000, 1700000000000)",
                    rusqlite::params![
                        format!("0190f000-0000-7000-8000-00000000000{n}"),
                        format!("Legacy {version}.{n}")
                    ],
                )
                .unwrap();
            }
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.migrations_applied_on_open(),
            store::SCHEMA_VERSION - version,
            "from v{version}"
        );
        assert_eq!(s.schema_version().unwrap(), store::SCHEMA_VERSION);
        assert_eq!(s.appointment_count().unwrap(), 3, "from v{version}");
        let a = s
            .get_appointment("0190f000-0000-7000-8000-000000000001")
            .unwrap()
            .unwrap();
        assert_eq!(a.title, format!("Legacy {version}.1"));
        assert_eq!(a.notes, "notes ✓");
        assert_eq!(a.lead.name, "Old Lead");
        drop(s);
        assert_eq!(integrity(&path), "ok", "from v{version}");
    }
}

// ---------------------------------------------------------------------------------------
// User input: every field of an appointment × bad values
// ---------------------------------------------------------------------------------------

fn good_input() -> AppointmentInput {
    input_with_notes("Quarterly review", 100)
}

type Edit = fn(&mut AppointmentInput);

/// (field the error must name, what is wrong, the edit that makes it wrong).
fn bad_inputs() -> Vec<(&'static str, &'static str, Edit)> {
    vec![
        ("title", "empty", |i| i.title = String::new()),
        ("title", "only spaces", |i| i.title = " \t ".into()),
        ("title", "301 characters", |i| i.title = "t".repeat(301)),
        ("time zone", "empty", |i| i.timezone = String::new()),
        ("time zone", "unknown", |i| {
            i.timezone = "Mars/Olympus".into()
        }),
        ("time zone", "offset, not a zone", |i| {
            i.timezone = "+02:00".into()
        }),
        ("end", "before start", |i| {
            i.timing = Timing::Timed {
                start: at(1_780_003_600_000),
                end: at(1_780_000_000_000),
            }
        }),
        ("end", "equal to start", |i| {
            i.timing = Timing::Timed {
                start: at(1_780_000_000_000),
                end: at(1_780_000_000_000),
            }
        }),
        ("start", "year 1800", |i| {
            i.timing = Timing::Timed {
                start: at(-5_364_662_400_000),
                end: at(1_780_000_000_000),
            }
        }),
        ("end", "year 9999", |i| {
            i.timing = Timing::Timed {
                start: at(1_780_000_000_000),
                end: at(253_402_214_400_000),
            }
        }),
        ("end date", "all-day end not after start", |i| {
            let d = chrono::NaiveDate::from_ymd_opt(2026, 5, 3).unwrap_or_default();
            i.timing = Timing::AllDay { start: d, end: d }
        }),
        ("location", "1001 characters", |i| {
            i.location = "l".repeat(1001)
        }),
        ("notes", "over 64 KiB", |i| {
            i.notes = "n".repeat(64 * 1024 + 1)
        }),
        ("lead name", "201 characters", |i| {
            i.lead.name = "n".repeat(201)
        }),
        ("lead email", "no @", |i| {
            i.lead.email = "ada.example.com".into()
        }),
        ("lead email", "two @", |i| {
            i.lead.email = "a@b@example.com".into()
        }),
        ("lead email", "255 characters", |i| {
            i.lead.email = format!("{}@example.com", "a".repeat(243))
        }),
        ("lead phone", "letters", |i| {
            i.lead.phone = "call reception".into()
        }),
        ("lead phone", "51 characters", |i| {
            i.lead.phone = "1".repeat(51)
        }),
        ("repeat rule", "unknown frequency", |i| {
            i.recurrence = Some(Recurrence {
                lines: vec!["RRULE:FREQ=FORTNIGHTLY".into()],
            })
        }),
        ("repeat rule", "not an RRULE line", |i| {
            i.recurrence = Some(Recurrence {
                lines: vec!["every tuesday".into()],
            })
        }),
        ("repeat rule", "empty", |i| {
            i.recurrence = Some(Recurrence { lines: vec![] })
        }),
    ]
}

#[test]
fn every_appointment_field_with_bad_input_is_named_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookline.sqlite3");
    let s = Store::open(&path).unwrap();
    let kept = s
        .create_appointment(good_input(), Origin::Crm, ChangeSource::User)
        .unwrap();
    let before = counts(&s);
    let mut unnamed = Vec::new();
    for (field, what, edit) in bad_inputs() {
        let mut bad = good_input();
        edit(&mut bad);
        for (op, result) in [
            (
                "create",
                s.create_appointment(bad.clone(), Origin::Crm, ChangeSource::User),
            ),
            (
                "edit",
                s.update_appointment(&kept.id, bad.clone(), ChangeSource::User),
            ),
        ] {
            match result {
                Err(StoreError::Validation {
                    field: named,
                    message,
                }) => {
                    if named != field {
                        unnamed.push(format!("{op} {field} ({what}): named {named}: {message}"));
                    }
                    assert!(message.ends_with('.'), "{message}");
                    assert!(message.len() < 400, "{message}");
                }
                other => unnamed.push(format!("{op} {field} ({what}): {other:?}")),
            }
            assert_eq!(counts(&s), before, "{op} {field} ({what})");
        }
        assert_eq!(s.get_appointment(&kept.id).unwrap(), Some(kept.clone()));
    }
    assert!(unnamed.is_empty(), "{unnamed:#?}");
    drop(s);
    assert_eq!(integrity(&path), "ok");
}

#[test]
fn typed_times_and_dates_name_their_field() {
    let cases = [
        (
            "2026-05-03 10:00",
            "2026-05-03 09:00",
            false,
            "Europe/Berlin",
            "end",
        ),
        (
            "tomorrow",
            "2026-05-03 09:00",
            false,
            "Europe/Berlin",
            "start",
        ),
        ("2026-05-03 10:00", "25:00", false, "Europe/Berlin", "end"),
        (
            "2026-02-30",
            "2026-03-01",
            true,
            "Europe/Berlin",
            "start date",
        ),
        (
            "2026-03-01",
            "2026-02-01",
            true,
            "Europe/Berlin",
            "end date",
        ),
        (
            "1776-07-04 10:00",
            "1776-07-04 11:00",
            false,
            "UTC",
            "start",
        ),
        (
            "2026-05-03 10:00",
            "2026-05-03 11:00",
            false,
            "Atlantis/Lost",
            "time zone",
        ),
        ("", "", false, "UTC", "start"),
    ];
    for (start, end, all_day, tz, field) in cases {
        let err = input::parse_timing(start, end, all_day, tz).unwrap_err();
        assert_eq!(err.field, field, "{start} {end} {tz}: {err}");
        assert!(!err.message.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Google answers
// ---------------------------------------------------------------------------------------

fn ctx<'a>(privacy: &'a PrivacySettings, lead: &'a Lead) -> MappingContext<'a> {
    MappingContext {
        calendar_timezone: "Europe/Berlin",
        privacy,
        lead,
    }
}

fn event(v: Value) -> Event {
    serde_json::from_value(v).unwrap()
}

/// What the sync engine stores for a Google event (origin google, no outbox echo).
fn input_from(f: &SyncFields) -> AppointmentInput {
    AppointmentInput {
        title: f.title.clone(),
        timing: f.timing.clone(),
        timezone: f.timezone.clone(),
        location: f.location.clone(),
        notes: f.notes.clone(),
        lead: Lead::default(),
        status: if f.status == SyncStatus::Cancelled {
            Status::Cancelled
        } else {
            Status::Booked
        },
        recurrence: (!f.recurrence.is_empty()).then(|| Recurrence {
            lines: f.recurrence.clone(),
        }),
    }
}

#[test]
fn malformed_and_incomplete_event_json_is_an_error_not_a_panic() {
    let privacy = PrivacySettings::default();
    let lead = Lead::default();
    // Not JSON, or JSON of the wrong shape: serde says so.
    for text in [
        "",
        "{",
        r#"{"id": "abc", "start": {"dateTime": "2026-05-03T10:00:00"#,
        r#"{"id": 5}"#,
        r#"{"id": "abc", "start": {"dateTime": "not a time"}}"#,
        r#"{"id": "abc", "start": {"date": "2026-02-30"}}"#,
        r#"{"id": "abc", "start": "2026-05-03"}"#,
        "[1, 2, 3]",
    ] {
        let parsed = serde_json::from_str::<Event>(text);
        assert!(parsed.is_err(), "{text} parsed");
    }
    // Valid JSON missing what Bookline needs: a named mapping error.
    let cases = [
        (json!({"id": "abc"}), "has no start"),
        (json!({"start": {"date": "2026-05-03"}}), "no id"),
        (
            json!({"id": "abc", "start": {"date": "2026-05-03"}, "end": {"dateTime": "2026-05-04T10:00:00Z"}}),
            "mixes",
        ),
        (
            json!({"id": "abc", "start": {"dateTime": "2026-05-03T10:00:00Z"}, "end": {"dateTime": "2026-05-03T09:00:00Z"}}),
            "ends before it starts",
        ),
    ];
    for (v, expect) in cases {
        let e = event(v.clone());
        let err = google_side(&e, &ctx(&privacy, &lead), None).unwrap_err();
        assert!(err.to_string().contains(expect), "{v}: {err}");
    }
    // A cancelled stub with only an id is a deletion record, not an error.
    let stub = event(json!({"id": "gone123", "status": "cancelled"}));
    let side = google_side(&stub, &ctx(&privacy, &lead), None).unwrap();
    assert!(side.cancelled);
}

#[test]
fn odd_but_real_events_are_kept_verbatim() {
    let privacy = PrivacySettings::default();
    let lead = Lead::default();
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("bookline.sqlite3")).unwrap();

    // Unknown enum values and unknown fields: kept, not refused.
    let e = event(json!({
        "id": "odd1", "status": "postponed", "eventType": "focusTime",
        "transparency": "translucent", "visibility": "secret-ish",
        "summary": "Odd", "start": {"dateTime": "2026-05-03T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-05-03T11:00:00+02:00", "timeZone": "Europe/Berlin"},
        "conferenceData": {"x": [1, 2]}, "attendees": [{"email": "a@b.c", "responseStatus": "maybe-later"}]
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).unwrap();
    assert_eq!(f.title, "Odd");
    let round = serde_json::to_value(&e).unwrap();
    assert_eq!(round["status"], "postponed");
    assert_eq!(round["conferenceData"]["x"][1], 2);
    assert_eq!(round["attendees"][0]["responseStatus"], "maybe-later");

    // An unknown time zone name: the mapping keeps the instants and the name as Google
    // has it; the store refuses the name in its own words and writes nothing
    // (docs/bad-input.md, "invalid time zone name in an event").
    let e = event(json!({
        "id": "tz1", "summary": "Zone", "start": {"dateTime": "2026-05-03T10:00:00+02:00", "timeZone": "Mars/Olympus"},
        "end": {"dateTime": "2026-05-03T11:00:00+02:00", "timeZone": "Mars/Olympus"}
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).expect("the instants can be read");
    assert_eq!(
        f.timing,
        Timing::Timed {
            start: at(1_777_795_200_000),
            end: at(1_777_798_800_000)
        }
    );
    assert_eq!(f.timezone, "Mars/Olympus");
    let before = counts(&s);
    match s.create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync) {
        Err(StoreError::Validation { field, message }) => {
            assert_eq!(field, "time zone");
            assert_eq!(
                message,
                "\"Mars/Olympus\" is not a time zone Bookline knows; use a name like \
                 Europe/Berlin or America/New_York."
            );
        }
        other => panic!("the store must refuse the zone by name: {other:?}"),
    }
    assert_eq!(counts(&s), before);

    // 1 MB description: mapped in full; the store refuses over-long notes by name
    // (Google's copy stays in Google, nothing half-written).
    let huge = "d".repeat(1024 * 1024);
    let e = event(json!({
        "id": "big1", "summary": "Big", "description": huge,
        "start": {"date": "2026-05-03"}, "end": {"date": "2026-05-04"}
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).unwrap();
    assert_eq!(f.notes.len(), huge.len());
    let before = counts(&s);
    match s.create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync) {
        Err(StoreError::Validation { field, message }) => {
            assert_eq!(field, "notes", "{message}")
        }
        other => panic!("a 1 MB description must be refused by name: {other:?}"),
    }
    assert_eq!(counts(&s), before);

    // Year 9999: a real Google date; stored from Google as it is.
    let e = event(json!({
        "id": "far1", "summary": "Far future",
        "start": {"dateTime": "9999-12-31T10:00:00Z"}, "end": {"dateTime": "9999-12-31T11:00:00Z"}
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).unwrap();
    let a = s
        .create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync)
        .unwrap();
    assert_eq!(a.timing, f.timing);
    let e = event(json!({
        "id": "far2", "summary": "Last day",
        "start": {"date": "9999-12-30"}, "end": {"date": "9999-12-31"}
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).unwrap();
    s.create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync)
        .unwrap();

    // RRULEs Bookline can't expand: lines pass through and are stored verbatim.
    let odd_rules = vec![
        "RRULE:FREQ=SECONDLY;INTERVAL=7".to_string(),
        "EXRULE:FREQ=MONTHLY;BYMONTHDAY=1".to_string(),
        "RDATE;VALUE=PERIOD:20260601T100000Z/PT1H".to_string(),
        "X-UNKNOWN-LINE:whatever".to_string(),
    ];
    let e = event(json!({
        "id": "rule1", "summary": "Odd series", "recurrence": odd_rules,
        "start": {"dateTime": "2026-05-03T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-05-03T11:00:00+02:00", "timeZone": "Europe/Berlin"}
    }));
    let f = fields_from_event(&e, &ctx(&privacy, &lead)).unwrap();
    assert_eq!(f.recurrence, odd_rules);
    let a = s
        .create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync)
        .unwrap();
    assert_eq!(
        s.get_appointment(&a.id)
            .unwrap()
            .unwrap()
            .recurrence
            .unwrap()
            .lines,
        odd_rules
    );
    // …and the week view reports it instead of failing.
    let report = s
        .occurrences_with_report(at(1_777_000_000_000), at(1_790_000_000_000))
        .unwrap();
    assert!(
        report.unexpanded.iter().any(|u| u.series_id == a.id),
        "{report:?}"
    );
}

#[tokio::test]
async fn odd_events_through_the_emulator_round_trip() {
    let emu = start().await;
    let base = emu.base_url().to_owned();
    let acct = account(&base, "odd@example.com").await;
    let client = CalendarClient::new(
        Endpoints::from_base(&base).unwrap(),
        Arc::new(StaticTokenSource::new(acct.access_token.clone())),
    )
    .unwrap();
    let cal = acct.calendar_id.clone();
    let huge = "é".repeat(512 * 1024);
    let far: Event = event(json!({
        "summary": "Year 9999", "description": huge,
        "start": {"dateTime": "9999-12-31T10:00:00Z"}, "end": {"dateTime": "9999-12-31T11:00:00Z"}
    }));
    let stored = client.insert_event(&cal, &far).await.unwrap();
    assert_eq!(
        stored.description.as_deref().map(str::len),
        Some(huge.len())
    );

    // Google refuses an unknown zone; the error reads as such and nothing is created.
    let bad_tz: Event = event(json!({
        "summary": "Bad zone",
        "start": {"dateTime": "2026-05-03T10:00:00+02:00", "timeZone": "Mars/Olympus"},
        "end": {"dateTime": "2026-05-03T11:00:00+02:00", "timeZone": "Mars/Olympus"}
    }));
    let err = client.insert_event(&cal, &bad_tz).await.unwrap_err();
    assert_eq!(err.status, Some(400), "{err:?}");
    // Google's message, then the status and reason (docs/bad-input.md).
    assert_eq!(
        AppError::from(err).message,
        "Invalid time zone definition for start time. (HTTP 400, invalid)"
    );

    let page = client
        .list_events(
            &cal,
            &ListParams {
                max_results: Some(2500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let privacy = PrivacySettings::default();
    let lead = Lead::default();
    let f = fields_from_event(&page.items[0], &ctx(&privacy, &lead)).unwrap();
    assert_eq!(f.notes, huge);

    // The batch envelope cut in half or garbled: a clear error, then the retry works.
    for kind in ["truncated_json", "malformed_json"] {
        control(
            &base,
            "faults",
            json!({"fail_next": 1, "kinds": [kind], "routes": ["batch"]}),
        )
        .await;
        let calls = vec![bookline_core::google::BatchCall::get(
            stored.id.clone().unwrap_or_default(),
        )];
        // Both read as an envelope without its closing delimiter.
        match client.batch(&cal, calls).await {
            Err(e) => assert_eq!(
                e.message, "Google's batch answer could not be read: the batch answer was cut off",
                "{kind}"
            ),
            Ok(parts) => panic!(
                "{kind}: a garbled batch answer read as {} parts",
                parts.len()
            ),
        }
    }
    control(&base, "faults", json!({})).await;
    let again = client
        .batch(
            &cal,
            vec![bookline_core::google::BatchCall::get(
                stored.id.clone().unwrap_or_default(),
            )],
        )
        .await
        .unwrap();
    assert!(again[0].is_ok());
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// OAuth callback: the cases tests/core/oauth.rs does not cover already
// ---------------------------------------------------------------------------------------

async fn raw_request(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(port: u16, target: &str) -> String {
    raw_request(
        port,
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
    )
    .await
}

#[tokio::test]
async fn callback_tampering_cases_keep_the_wait_going() {
    let listener = LoopbackListener::bind().await.unwrap();
    let port = listener.port();
    let state = "expected-state-0123456789";
    let wait = tokio::spawn(async move {
        listener
            .wait_for_code(state, Duration::from_secs(30), CancellationToken::new())
            .await
    });
    let refused = [
        // The right state twice, or the right one plus a forged one.
        format!("/callback?state={state}&state={state}&code=c"),
        format!("/callback?state=forged&state={state}&code=c"),
        // Two codes: someone appended theirs.
        format!("/callback?state={state}&code=a&code=b"),
        // Right state, empty code.
        format!("/callback?state={state}&code="),
        // Right state, no code and no error.
        format!("/callback?state={state}"),
        // The state as a prefix or with a suffix.
        format!("/callback?state={state}x&code=c"),
        "/callback?state=expected-state&code=c".to_string(),
    ];
    for target in &refused {
        let answer = get(port, target).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{target}: {answer}");
        assert!(!wait.is_finished(), "{target} ended the wait");
    }
    // Other paths under the callback, and a HEAD probe.
    for target in ["/callback/extra", "/callbackx", "/CALLBACK"] {
        assert!(
            get(port, target).await.starts_with("HTTP/1.1 404"),
            "{target}"
        );
    }
    let head = raw_request(
        port,
        format!("HEAD /callback?state={state}&code=c HTTP/1.1\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert!(!wait.is_finished());

    // Another error code from Google, with markup in it: ends the wait, shown sanitized.
    let answer = get(
        port,
        &format!("/callback?state={state}&error=server_error%3Cscript%3Ealert(1)%3C/script%3E"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("<script>"), "{answer}");
    let err = wait.await.unwrap().unwrap_err();
    let text = AppError::from(err.clone()).message;
    assert!(text.contains("server_error"), "{text}");
    assert!(!text.contains('<'), "{text}");
}

// ---------------------------------------------------------------------------------------
// Token scan: connect, use, revoke — no token string anywhere it could leak
// ---------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn no_token_in_the_data_dir_the_database_or_the_logs_after_a_full_connect() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_ansi(false)
        .finish();
    let data = tempfile::tempdir().unwrap();
    let db_path = data.path().join("bookline.sqlite3");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Current-thread runtime + scoped default: every span and event of the flow, the
    // client, the listener and the store lands in `logs`.
    let (access, refresh, issued) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let emu = start().await;
            let base = emu.base_url().to_owned();
            account(&base, "scan@example.com").await;
            control(&base, "consent", json!({"auto": "allow"})).await;
            let endpoints = Endpoints::from_base(&base).unwrap();
            let oauth = OAuthClient::new(
                OAuthClientConfig::new("bookline-scan.apps.googleusercontent.com", "scan-secret"),
                endpoints.clone(),
            )
            .unwrap();
            let signed = oauth::sign_in(
                &oauth,
                Some("scan@example.com"),
                |url| {
                    let url = url.clone();
                    tokio::spawn(async move {
                        let http = reqwest::Client::builder()
                            .redirect(reqwest::redirect::Policy::none())
                            .build()
                            .unwrap();
                        let resp = http.get(url).send().await.unwrap();
                        let location = resp.headers()["location"].to_str().unwrap().to_owned();
                        http.get(location).send().await.unwrap();
                    });
                    Ok(())
                },
                Duration::from_secs(30),
                CancellationToken::new(),
            )
            .await
            .unwrap();
            let access = signed.tokens.access_token.expose().to_owned();
            let refresh = signed.refresh_token.expose().to_owned();

            let secret_store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
            secrets::save(secret_store.clone(), &signed.user.email, &signed.refresh_token)
                .await
                .unwrap();
            let manager = Arc::new(
                oauth::TokenManager::new(oauth.clone(), secret_store.clone(), &signed.user.email)
                    .with_initial_token(&signed.tokens)
                    .await,
            );
            let client = CalendarClient::new(endpoints.clone(), manager.clone()).unwrap();
            let store = Store::open(&db_path).unwrap();
            store
                .set_setting("account_email", &signed.user.email)
                .unwrap();
            let calendars = client.list_calendars().await.unwrap();
            assert!(calendars.len() > 1);
            let cal = signed.user.email.clone();
            let inserted = client
                .insert_event(
                    &cal,
                    &event(json!({
                        "summary": "Scan", "start": {"date": "2026-05-03"}, "end": {"date": "2026-05-04"}
                    })),
                )
                .await
                .unwrap();
            let page = client.list_events(&cal, &ListParams::default()).await.unwrap();
            let privacy = PrivacySettings::default();
            let lead = Lead::default();
            for e in &page.items {
                let f = fields_from_event(e, &ctx(&privacy, &lead)).unwrap();
                store
                    .create_appointment(input_from(&f), Origin::Google, ChangeSource::Sync)
                    .unwrap();
            }
            // A 401 path: the token manager refreshes, logging as it goes.
            control(&base, "tokens", json!({"expire_now": true})).await;
            client
                .get_event(&cal, inserted.id.as_deref().unwrap_or_default())
                .await
                .unwrap();
            manager.revoke().await.unwrap();
            secrets::remove(secret_store, &signed.user.email).await.unwrap();
            drop(store);
            // Every token of the run, the refreshed access token included.
            let issued = emu.issued_tokens();
            emu.shutdown().await;
            (access, refresh, issued)
        })
    });
    assert!(access.len() > 8 && refresh.len() > 8);
    assert!(issued.contains(&access) && issued.contains(&refresh));
    assert!(
        issued.iter().filter(|t| t.starts_with("ya29.")).count() >= 2,
        "the forced refresh issued a second access token: {} tokens",
        issued.len()
    );
    let logs = logs.0.lock().unwrap().clone();
    assert!(
        !logs.is_empty(),
        "the flow logged nothing: the scan would prove nothing"
    );
    let mut files = Vec::new();
    files_under(data.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("bookline.sqlite3")));
    for token in &issued {
        assert!(!contains(&logs, token), "a token is in the logs");
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(!contains(&bytes, token), "a token is in {}", file.display());
        }
    }
}
