//! The command line as a script uses it: `--json` in, JSON out, one-line errors and a
//! non-zero exit on bad input, nothing written when the input is refused.

use serde_json::Value;

use super::{bookline, bookline_json};

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn all(dir: &std::path::Path) -> Vec<Value> {
    match bookline_json(dir, &["appointments", "list", "--json"]) {
        Value::Array(items) => items,
        other => panic!("list --json printed {other}, not an array"),
    }
}

#[test]
fn add_list_edit_cancel_delete_round_trip() {
    let dir = data_dir();
    let dir = dir.path();
    let added = bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "Demo for Acme",
            "--start",
            "2030-05-06T10:00",
            "--end",
            "2030-05-06T11:30",
            "--timezone",
            "Europe/Berlin",
            "--location",
            "Acme HQ",
            "--notes",
            "Bring the pricing sheet",
            "--lead-name",
            "Jane Roe",
            "--lead-email",
            "jane@acme.example",
            "--lead-phone",
            "+49 30 123",
        ],
    );
    let id = added["id"].as_str().expect("id").to_owned();
    assert_eq!(added["title"], "Demo for Acme");
    // 10:00 in Berlin in May is 08:00 UTC; the JSON keeps the instant.
    let start = chrono::DateTime::parse_from_rfc3339(added["start"].as_str().expect("start"))
        .expect("start is RFC 3339");
    assert_eq!(start.to_utc().to_rfc3339(), "2030-05-06T08:00:00+00:00");
    assert_eq!(added["all_day"], false);
    assert_eq!(added["timezone"], "Europe/Berlin");
    assert_eq!(added["origin"], "crm");
    assert_eq!(added["status"], "booked");
    assert_eq!(added["google_event_id"], Value::Null);

    let listed = all(dir);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("sync_state").is_some(), "{}", listed[0]);

    // Only the title changes; every other field is kept.
    let edited = bookline_json(
        dir,
        &[
            "appointments",
            "edit",
            &id,
            "--title",
            "Demo for Acme (2nd)",
            "--json",
        ],
    );
    assert_eq!(edited["title"], "Demo for Acme (2nd)");
    assert_eq!(edited["start"], added["start"]);
    assert_eq!(edited["end"], added["end"]);
    assert_eq!(edited["timezone"], "Europe/Berlin");
    assert_eq!(all(dir)[0]["title"], "Demo for Acme (2nd)");

    let cancelled = bookline_json(dir, &["appointments", "cancel", &id, "--json"]);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(all(dir)[0]["status"], "cancelled");

    let out = bookline(dir, &["appointments", "delete", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all(dir).is_empty());

    // Deleting again names the problem in one line.
    let out = bookline(dir, &["appointments", "delete", &id]);
    assert!(!out.status.success());
    assert_one_line(&out.stderr);
}

#[test]
fn all_day_appointment_keeps_its_dates() {
    let dir = data_dir();
    let added = bookline_json(
        dir.path(),
        &[
            "appointments",
            "add",
            "--json",
            "--all-day",
            "--title",
            "Trade fair",
            "--start",
            "2030-03-04",
            "--end",
            "2030-03-06",
            "--timezone",
            "America/New_York",
        ],
    );
    assert_eq!(added["all_day"], true);
    assert_eq!(added["start"], "2030-03-04");
    // End exclusive, like Google.
    assert_eq!(added["end"], "2030-03-06");
}

/// Every refused input: non-zero exit, one line on stderr saying what is wrong, and
/// nothing in the database afterwards.
#[test]
fn bad_input_is_refused_in_one_line_and_writes_nothing() {
    let dir = data_dir();
    let dir = dir.path();
    // A single argument is limited to 128 KiB on Linux (MAX_ARG_STRLEN), so the
    // oversized note is the largest a command line can carry — far beyond any sane note.
    let huge_note = "x".repeat(120_000);
    let base = |title: &'static str| {
        vec![
            "appointments",
            "add",
            "--title",
            title,
            "--start",
            "2030-05-06T10:00",
            "--end",
            "2030-05-06T11:00",
            "--timezone",
            "UTC",
        ]
    };
    const TITLE: &str = "bookline: Title is required: give the appointment a short name.";
    const END: &str = "bookline: The end must be after the start.";
    // The words docs/bad-input.md shows ("CLI arguments"), in full.
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("empty title", base(""), TITLE),
        ("blank title", base("   "), TITLE),
        ("end before start", {
            let mut a = base("Backwards");
            a[5] = "2030-05-06T12:00";
            a
        }, END),
        ("end equal to start", {
            let mut a = base("Zero length");
            a[7] = "2030-05-06T10:00";
            a
        }, END),
        ("unknown time zone", {
            let mut a = base("Where");
            a[9] = "Mars/Olympus_Mons";
            a
        }, "bookline: \"Mars/Olympus_Mons\" is not a time zone Bookline knows; use a name like Europe/Berlin or America/New_York."),
        ("malformed email", {
            let mut a = base("Bad email");
            a.extend(["--lead-email", "jane-at-acme"]);
            a
        }, "bookline: \"jane-at-acme\" is not a valid email address; it should look like name@example.com."),
        ("absurd note", {
            let mut a = base("Long note");
            a.extend(["--notes", huge_note.as_str()]);
            a
        }, "bookline: Notes are too long (118 KB); keep them under 64 KB."),
        ("malformed start", {
            let mut a = base("Bad start");
            a[5] = "next tuesday";
            a
        }, "bookline: The start \"next tuesday\" is not a date and time; write it as YYYY-MM-DD HH:MM, for example 2026-05-03 14:30."),
    ];
    for (what, args, sentence) in cases {
        let out = bookline(dir, &args);
        assert!(!out.status.success(), "{what}: accepted");
        assert_one_line(&out.stderr);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            sentence,
            "{what}"
        );
        assert!(out.stdout.is_empty(), "{what}: printed {:?}", out.stdout);
    }
    assert!(all(dir).is_empty(), "refused input was written");
}

#[test]
fn list_window_expands_a_weekly_series() {
    let dir = data_dir();
    let dir = dir.path();
    let series = bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "Weekly pipeline review",
            "--start",
            "2030-01-07T09:00",
            "--end",
            "2030-01-07T09:30",
            "--timezone",
            "Europe/Berlin",
            "--rrule",
            "FREQ=WEEKLY;COUNT=10",
        ],
    );
    let series_id = series["id"].as_str().expect("id").to_owned();
    assert!(
        series["rrule"]
            .as_str()
            .is_some_and(|r| r.contains("FREQ=WEEKLY")),
        "{series}"
    );
    let single = bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "One-off",
            "--start",
            "2030-01-15T14:00",
            "--end",
            "2030-01-15T15:00",
            "--timezone",
            "Europe/Berlin",
        ],
    );

    let window = bookline_json(
        dir,
        &[
            "appointments",
            "list",
            "--from",
            "2030-01-02",
            "--to",
            "2030-01-30",
            "--json",
        ],
    );
    let items = window.as_array().expect("array");
    let weekly: Vec<&Value> = items
        .iter()
        .filter(|o| o["series_id"] == series_id.as_str())
        .collect();
    // Mondays Jan 7, 14, 21, 28 — 09:00 Berlin = 08:00 UTC.
    let starts: Vec<String> = weekly
        .iter()
        .map(|o| {
            chrono::DateTime::parse_from_rfc3339(o["start"].as_str().expect("start"))
                .expect("RFC 3339")
                .to_utc()
                .to_rfc3339()
        })
        .collect();
    assert_eq!(
        starts,
        [
            "2030-01-07T08:00:00+00:00",
            "2030-01-14T08:00:00+00:00",
            "2030-01-21T08:00:00+00:00",
            "2030-01-28T08:00:00+00:00"
        ]
    );
    assert!(items.iter().any(|o| o["id"] == single["id"]), "{window}");
    assert_eq!(items.len(), 5);

    // A window before the series starts is empty.
    let before = bookline_json(
        dir,
        &[
            "appointments",
            "list",
            "--from",
            "2029-12-01",
            "--to",
            "2029-12-31",
            "--json",
        ],
    );
    assert_eq!(before, Value::Array(vec![]));

    // A bad window is refused like any other input.
    let out = bookline(
        dir,
        &[
            "appointments",
            "list",
            "--from",
            "2030-02-01",
            "--to",
            "2030-01-01",
        ],
    );
    assert!(!out.status.success());
    assert_one_line(&out.stderr);
}

/// `--occurrence START [--following]` on edit, cancel and delete, START copied from
/// `list --from/--to --json`'s `original_start` (or typed as a local time).
#[test]
fn occurrences_are_edited_cancelled_and_deleted_this_and_following() {
    let dir = data_dir();
    let dir = dir.path();
    let series = bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "Weekly pipeline review",
            "--start",
            "2030-03-18T10:00",
            "--end",
            "2030-03-18T11:00",
            "--timezone",
            "Europe/Berlin",
            "--rrule",
            "FREQ=WEEKLY;COUNT=6",
        ],
    );
    let series_id = series["id"].as_str().expect("id").to_owned();
    let window = || -> Vec<Value> {
        bookline_json(
            dir,
            &[
                "appointments",
                "list",
                "--from",
                "2030-03-01",
                "--to",
                "2030-05-31",
                "--json",
            ],
        )
        .as_array()
        .expect("array")
        .clone()
    };
    let items = window();
    let originals: Vec<&str> = items
        .iter()
        .map(|o| o["original_start"].as_str().expect("original_start"))
        .collect();
    // 10:00 Berlin; summer time from 2030-03-31.
    assert_eq!(
        originals,
        [
            "2030-03-18T09:00:00Z",
            "2030-03-25T09:00:00Z",
            "2030-04-01T08:00:00Z",
            "2030-04-08T08:00:00Z",
            "2030-04-15T08:00:00Z",
            "2030-04-22T08:00:00Z"
        ]
    );
    // The text list names the occurrence too.
    let text = bookline(
        dir,
        &[
            "appointments",
            "list",
            "--from",
            "2030-03-01",
            "--to",
            "2030-03-20",
        ],
    );
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("--occurrence 2030-03-18T09:00:00Z"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // This: move the 2nd to 15:00 (given as a local time of the series' zone).
    let moved = bookline_json(
        dir,
        &[
            "appointments",
            "edit",
            &series_id,
            "--occurrence",
            "2030-03-25T10:00",
            "--start",
            "2030-03-25T15:00",
            "--end",
            "2030-03-25T16:00",
            "--title",
            "Moved review",
            "--json",
        ],
    );
    assert_eq!(moved["series_id"], series_id.as_str(), "{moved}");
    assert_eq!(moved["original_start"], "2030-03-25T09:00:00Z");
    // Cancel the 3rd.
    let out = bookline(
        dir,
        &[
            "appointments",
            "cancel",
            &series_id,
            "--occurrence",
            originals[2],
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // This and following from the 5th: a new series with the new title.
    let new_series = bookline_json(
        dir,
        &[
            "appointments",
            "edit",
            &series_id,
            "--occurrence",
            originals[4],
            "--following",
            "--title",
            "Review (new room)",
            "--json",
        ],
    );
    assert_ne!(new_series["id"], series_id.as_str());
    assert_eq!(
        new_series["recurrence"],
        serde_json::json!(["RRULE:FREQ=WEEKLY;COUNT=2"])
    );
    let items = window();
    let summary: Vec<(String, String, String)> = items
        .iter()
        .map(|o| {
            (
                o["start"].as_str().unwrap().to_owned(),
                o["title"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |start: &str, title: &str, status: &str| {
        (start.to_owned(), title.to_owned(), status.to_owned())
    };
    assert_eq!(
        summary,
        [
            row(
                "2030-03-18T10:00:00+01:00",
                "Weekly pipeline review",
                "booked"
            ),
            row("2030-03-25T15:00:00+01:00", "Moved review", "booked"),
            row(
                "2030-04-01T10:00:00+02:00",
                "Weekly pipeline review",
                "cancelled"
            ),
            row(
                "2030-04-08T10:00:00+02:00",
                "Weekly pipeline review",
                "booked"
            ),
            row("2030-04-15T10:00:00+02:00", "Review (new room)", "booked"),
            row("2030-04-22T10:00:00+02:00", "Review (new room)", "booked"),
        ]
    );
    // Delete following on the old series' 4th: it ends after the 3rd.
    let out = bookline(
        dir,
        &[
            "appointments",
            "delete",
            &series_id,
            "--occurrence",
            originals[3],
            "--following",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(window().len(), 5);
    // Delete this on the new series' last occurrence.
    let new_id = new_series["id"].as_str().unwrap();
    let out = bookline(
        dir,
        &[
            "appointments",
            "delete",
            new_id,
            "--occurrence",
            originals[5],
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(window().len(), 4);

    // Not an occurrence: refused in one line, nothing written.
    let before = window();
    for args in [
        &[
            "appointments",
            "cancel",
            &series_id,
            "--occurrence",
            "2030-03-19T09:00:00Z",
        ][..],
        &[
            "appointments",
            "delete",
            &series_id,
            "--occurrence",
            "yesterday",
        ][..],
        &[
            "appointments",
            "edit",
            &series_id,
            "--occurrence",
            "2031-01-01T09:00:00Z",
            "--title",
            "x",
        ][..],
    ] {
        let out = bookline(dir, args);
        assert!(!out.status.success(), "{args:?}");
        assert_one_line(&out.stderr);
    }
    // --following without --occurrence is a usage error.
    let out = bookline(dir, &["appointments", "delete", &series_id, "--following"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(window(), before);
}

/// `--invite-lead` needs a lead email Google can send to: without one the command fails
/// in one line and nothing is saved (or queued for Google).
#[test]
fn an_invitation_without_a_valid_lead_email_is_refused_and_saves_nothing() {
    let dir = data_dir();
    let dir = dir.path();
    for (email, shown) in [(None, ""), (Some("ada"), "ada"), (Some("ada@"), "ada@")] {
        let mut args = vec![
            "appointments",
            "add",
            "--title",
            "Demo call",
            "--start",
            "2030-05-09T10:00",
            "--end",
            "2030-05-09T11:00",
            "--timezone",
            "Europe/Berlin",
            "--lead-name",
            "Ada",
            "--invite-lead",
        ];
        if let Some(email) = email {
            args.extend(["--lead-email", email]);
        }
        let out = bookline(dir, &args);
        assert!(!out.status.success(), "{email:?} was accepted");
        assert_one_line(&out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim(),
            format!(
                "bookline: Bookline can't invite the lead: \"{shown}\" is not an email address."
            )
        );
    }
    assert!(all(dir).is_empty());
    // A valid one is saved, with no Meet link and no answer yet.
    let added = bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "Demo call",
            "--start",
            "2030-05-09T10:00",
            "--end",
            "2030-05-09T11:00",
            "--timezone",
            "Europe/Berlin",
            "--lead-email",
            "ada@example.com",
            "--invite-lead",
            "--meet",
        ],
    );
    assert_eq!(added["meet_link"], Value::Null, "{added}");
    assert_eq!(added["meet"]["state"], "waiting", "{added}");
    assert_eq!(added["lead_response"], Value::Null, "{added}");
    // An edit that invites with a bad email is refused and changes nothing.
    let id = added["id"].as_str().unwrap();
    let out = bookline(
        dir,
        &[
            "appointments",
            "edit",
            id,
            "--title",
            "Renamed",
            "--lead-email",
            "nope",
            "--invite-lead",
        ],
    );
    assert!(!out.status.success());
    assert_one_line(&out.stderr);
    assert_eq!(all(dir)[0]["title"], "Demo call");
}

#[test]
fn usage_errors_are_one_line_too() {
    let dir = data_dir();
    for args in [
        &["appointments", "add", "--title", "No times"][..],
        &["appointments", "list", "--from", "2030-01-01"][..],
        &["appointments", "frobnicate"][..],
    ] {
        let out = bookline(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_line(&out.stderr);
    }
    let help = bookline(dir.path(), &["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("appointments"));
}

fn assert_one_line(stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim_end();
    assert!(!text.is_empty(), "no error message");
    assert!(!text.contains('\n'), "more than one line: {text:?}");
    assert!(text.len() < 400, "not a short message: {text:?}");
}

/// The Google commands end to end: the built binary against an emulator running in this
/// test process, with the real Secret Service (gnome-keyring in the session `make test`
/// starts). The test plays the user's browser with automatic consent.
mod google {
    use std::collections::BTreeSet;
    use std::io::{BufRead, BufReader, Read};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use serde_json::{json, Value};

    use super::assert_one_line;
    use crate::harness::{connect_playing_the_browser, emulator_with_account, Bookline};

    fn titles(items: &[Value], origin: &str) -> BTreeSet<String> {
        items
            .iter()
            .filter(|i| i["origin"] == origin)
            .filter_map(|i| i["title"].as_str().map(str::to_owned))
            .collect()
    }

    /// Every access and refresh token the emulator ever issued, from its saved state.
    fn issued_tokens(state_file: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(state_file).expect("the emulator saved its state");
        let state: Value = serde_json::from_str(&text).expect("state is JSON");
        let mut tokens = Vec::new();
        for map in ["grants", "access_tokens"] {
            if let Some(entries) = state["data"][map].as_object() {
                tokens.extend(entries.keys().cloned());
            }
        }
        tokens
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn connect_sync_backfill_disconnect_with_the_real_keyring() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let state_dir = tempfile::tempdir().expect("temp dir");
        let state_file = state_dir.path().join("emulator.json");
        let (emulator, base_url, email, control_token) =
            emulator_with_account(&rt, Some(state_file.clone()), 0);
        let http = reqwest::Client::new();
        let events_url = format!("{base_url}/calendar/v3/calendars/{email}/events");

        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };

        // Before connecting: one CRM appointment and one Google event, both "old".
        app.json(&[
            "appointments",
            "add",
            "--json",
            "--title",
            "Old CRM meeting",
            "--start",
            "2026-02-03T10:00",
            "--end",
            "2026-02-03T11:00",
            "--timezone",
            "UTC",
        ]);
        rt.block_on(async {
            let old = http
                .post(format!("{base_url}/_emulator/events/{email}"))
                .json(&json!({
                    "summary": "Old deal from Google",
                    "start": { "dateTime": "2026-01-10T10:00:00Z" },
                    "end": { "dateTime": "2026-01-10T11:00:00Z" },
                    "created": "2020-01-01T00:00:00.000Z",
                    "updated": "2020-01-01T00:00:00.000Z",
                }))
                .send()
                .await
                .expect("old event");
            assert!(old.status().is_success(), "{}", old.status());
        });
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["connected"], false);

        // Sync before connecting: non-zero, one line.
        let out = app.run(&["sync", "--json"]);
        assert!(!out.status.success());
        assert_one_line(&out.stderr);

        connect_playing_the_browser(&mut app, &rt, &email);

        let status = app.json(&["status", "--json"]);
        assert_eq!(status["connected"], true, "{status}");
        assert_eq!(status["email"], email.as_str());
        assert_eq!(status["needs_reconnect"], false);
        assert_eq!(status["direction"], "both");
        assert_eq!(status["calendar_id"], "primary");
        assert!(status.get("last_sync").is_some() && status.get("pending").is_some());

        // Settings: shown, changed with a sentence, bad values refused in one line.
        let settings = app.json(&["settings", "--json"]);
        assert_eq!(settings["poll_interval_secs"], 60);
        let out = app.run(&["settings", "--poll-interval", "120"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("every 120 seconds"));
        let out = app.run(&["settings", "--poll-interval", "1"]);
        assert!(!out.status.success());
        assert_one_line(&out.stderr);
        let out = app.run(&["settings", "--calendar", "no-such-calendar"]);
        assert!(!out.status.success());
        assert_one_line(&out.stderr);
        assert_eq!(app.json(&["settings", "--json"])["calendar_id"], "primary");

        // New on both sides after connecting: one pass moves both.
        app.json(&[
            "appointments",
            "add",
            "--json",
            "--title",
            "New pitch",
            "--start",
            "2030-04-02T09:00",
            "--end",
            "2030-04-02T10:00",
            "--timezone",
            "UTC",
        ]);
        rt.block_on(async {
            let created = http
                .post(&events_url)
                .bearer_auth(&control_token)
                .query(&[("sendUpdates", "none")])
                .json(&json!({
                    "summary": "Customer call from Google",
                    "start": { "dateTime": "2030-04-03T14:00:00Z" },
                    "end": { "dateTime": "2030-04-03T14:30:00Z" },
                }))
                .send()
                .await
                .expect("new event");
            assert!(created.status().is_success(), "{}", created.status());
        });
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["created_in_google"], 1, "{report}");
        assert_eq!(report["created_in_crm"], 1, "{report}");
        assert_eq!(report["errors"], json!([]));
        let google_titles = |rt: &tokio::runtime::Runtime| -> BTreeSet<String> {
            rt.block_on(async {
                let listed: Value = http
                    .get(&events_url)
                    .bearer_auth(&control_token)
                    .send()
                    .await
                    .expect("list events")
                    .json()
                    .await
                    .expect("events JSON");
                listed["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i["summary"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
        };
        assert!(google_titles(&rt).contains("New pitch"));
        assert!(!google_titles(&rt).contains("Old CRM meeting"));
        let listed = app.list();
        assert!(titles(&listed, "google").contains("Customer call from Google"));
        assert!(!titles(&listed, "google").contains("Old deal from Google"));
        assert!(app.json(&["status", "--json"])["last_sync"].is_string());
        // The occurrence view carries the link too.
        let window = app.json(&[
            "appointments",
            "list",
            "--from",
            "2030-04-01",
            "--to",
            "2030-04-05",
            "--json",
        ]);
        let pitch = window
            .as_array()
            .and_then(|items| items.iter().find(|i| i["title"] == "New pitch"))
            .unwrap_or_else(|| panic!("New pitch not in the window: {window}"));
        assert!(pitch["google_event_id"].is_string(), "{pitch}");

        // Backfill: the dry run counts the old items and writes nothing.
        let preview = app.json(&["backfill", "--direction", "both", "--dry-run", "--json"]);
        assert_eq!(preview["create_in_google"], 1, "{preview}");
        assert_eq!(preview["create_in_crm"], 1, "{preview}");
        assert!(preview["match_rule"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        assert!(!titles(&app.list(), "google").contains("Old deal from Google"));
        let done = app.json(&["backfill", "--direction", "google-to-crm", "--json"]);
        assert_eq!(done["state"], "finished", "{done}");
        assert_eq!(done["created_in_crm"], 1, "{done}");
        assert_eq!(done["created_in_google"], 0, "{done}");
        assert!(titles(&app.list(), "google").contains("Old deal from Google"));
        assert!(!google_titles(&rt).contains("Old CRM meeting"));
        // Twice is the same as once.
        let again = app.json(&["backfill", "--direction", "google-to-crm", "--json"]);
        assert_eq!(again["created_in_crm"], 0, "{again}");
        let bad = app.run(&["backfill", "--direction", "both", "--since", "yesterday"]);
        assert!(!bad.status.success());
        assert_one_line(&bad.stderr);

        // Every token issued so far, before disconnect revokes them (the emulator drops
        // revoked access tokens): restart it on the same port from its saved state.
        let port: u16 = base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        rt.block_on(emulator.shutdown());
        let tokens = issued_tokens(&state_file);
        assert!(tokens.len() >= 2, "no tokens issued? {tokens:?}");
        let (emulator, ..) = emulator_with_account(&rt, Some(state_file.clone()), port);

        // Disconnect: refuses to ask without a terminal, then removes with --yes.
        let out = app.run(&["disconnect"]);
        assert!(!out.status.success());
        assert_one_line(&out.stderr);
        assert_eq!(app.json(&["status", "--json"])["connected"], true);
        let removed = app.json(&["disconnect", "--yes", "--json"]);
        assert_eq!(removed["revoked"], true, "{removed}");
        assert_eq!(removed["removed_appointments"], 2, "{removed}");
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["connected"], false);
        assert_eq!(status["email"], Value::Null);
        let listed = app.list();
        assert!(titles(&listed, "google").is_empty(), "{listed:?}");
        let crm = titles(&listed, "crm");
        assert!(crm.contains("Old CRM meeting") && crm.contains("New pitch"));
        rt.block_on(emulator.shutdown());

        // No token anywhere: database, WAL, logs, or anything printed.
        let mut files = Vec::new();
        files_under(data.path(), &mut files);
        assert!(
            files
                .iter()
                .any(|f| f.starts_with(data.path().join("logs"))),
            "no log written: {files:?}"
        );
        for token in &tokens {
            for file in &files {
                let bytes = std::fs::read(file).expect("readable file");
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(token.as_str()),
                    "a token is in {}",
                    file.display()
                );
            }
            for output in &app.outputs {
                assert!(!output.contains(token.as_str()), "a token was printed");
            }
        }
    }

    /// Google revokes the grant: the next `bookline sync` (a new process, so its refresh
    /// meets `invalid_grant`) fails in one line, and from then on every new process knows —
    /// `status` shows needs-reconnect with the reason, `connect` reconnects instead of
    /// saying "Already connected" — until the reconnect clears it.
    #[test]
    fn needs_reconnect_is_remembered_until_connect_reconnects() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, _token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        connect_playing_the_browser(&mut app, &rt, &email);
        let out = app.run(&["connect", "--no-browser"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Already connected"), "{text}");

        let http = reqwest::Client::new();
        rt.block_on(async {
            let revoked = http
                .post(format!("{base_url}/_emulator/faults"))
                .json(&json!({ "revoke_grants_for": [email] }))
                .send()
                .await
                .expect("revoke");
            assert!(revoked.status().is_success(), "{}", revoked.status());
        });
        let out = app.run(&["sync", "--json"]);
        assert!(!out.status.success(), "sync with a revoked grant fails");
        assert_one_line(&out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Reconnect"), "{stderr}");

        // New processes: status says so, with the reason, in one line.
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["connected"], true, "{status}");
        assert_eq!(status["needs_reconnect"], true, "{status}");
        assert_eq!(status["sync"]["state"], "needs_reconnect", "{status}");
        let out = app.run(&["status"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.starts_with("Needs reconnect:"))
            .unwrap_or_else(|| panic!("no needs-reconnect line: {text}"));
        assert!(line.contains("revoked"), "{line}");
        assert!(line.contains("bookline connect"), "{line}");

        // `connect` reconnects (it does not say "Already connected").
        connect_playing_the_browser(&mut app, &rt, &email);
        assert!(
            app.outputs
                .iter()
                .any(|o| o.contains(&format!("Reconnecting {email}."))),
            "connect took the reconnect path"
        );
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["needs_reconnect"], false, "{status}");
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        let out = app.run(&["status"]);
        assert!(!String::from_utf8_lossy(&out.stdout).contains("Needs reconnect"));

        let disconnected = app.json(&["disconnect", "--yes", "--json"]);
        assert_eq!(disconnected["revoked"], true);
        rt.block_on(emulator.shutdown());
    }

    /// Booking with the lead end to end: `--meet --invite-lead` is one invitation mail
    /// (the only one), the lead declines through the emulator's control API, `sync` brings
    /// the answer back, and `list --json` shows it with the Meet link.
    #[test]
    fn the_leads_decline_comes_back_into_list_json() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, _token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url,
            outputs: Vec::new(),
        };
        connect_playing_the_browser(&mut app, &rt, &email);
        let added = app.json(&[
            "appointments",
            "add",
            "--json",
            "--title",
            "Demo call",
            "--start",
            "2030-05-09T10:00",
            "--end",
            "2030-05-09T11:00",
            "--timezone",
            "Europe/Berlin",
            "--lead-name",
            "Ada",
            "--lead-email",
            "ada@example.com",
            "--meet",
            "--invite-lead",
        ]);
        let id = added["id"].as_str().expect("id").to_owned();
        emulator.expect_mail(gcal_emulator::MailKind::Invitation, &["ada@example.com"]);
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        assert_eq!(emulator.mail_outbox().len(), 1);
        let item = |app: &mut Bookline| {
            app.list()
                .into_iter()
                .find(|i| i["id"] == json!(id))
                .expect("the appointment is listed")
        };
        let listed = item(&mut app);
        let link = listed["meet_link"]
            .as_str()
            .expect("a Meet link")
            .to_owned();
        assert!(link.starts_with("https://meet.google.com/"), "{link}");
        assert_eq!(listed["lead_response"], "needsAction", "{listed}");
        let event_id = listed["google_event_id"]
            .as_str()
            .expect("linked")
            .to_owned();

        emulator
            .respond("primary", &event_id, "ada@example.com", "declined")
            .expect("the lead answers");
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        assert_eq!(
            report["lead_answers"][0]["sentence"], "Ada declined Demo call — Thu 10:00",
            "{report}"
        );
        // Only the booking changed: counted, so the pass is not "nothing happened".
        assert_eq!(report["booking_changes"], 1, "{report}");
        assert_eq!(report["updated_in_crm"], 0, "{report}");
        // The text output says it too (the lead's answer, in the core's sentence).
        emulator
            .respond("primary", &event_id, "ada@example.com", "accepted")
            .expect("the lead changes their mind");
        let out = app.run(&["sync"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Bookings changed: 1\n")
                && text.contains("Lead's answer: Ada accepted Demo call — Thu 10:00\n"),
            "{text}"
        );
        emulator
            .respond("primary", &event_id, "ada@example.com", "declined")
            .expect("and declines again");
        app.json(&["sync", "--json"]);
        let listed = item(&mut app);
        assert_eq!(listed["lead_response"], "declined", "{listed}");
        assert_eq!(listed["meet_link"], json!(link), "{listed}");
        // An edit without --notify-lead emails nobody; with it, the lead gets the change.
        let out = app.run(&["appointments", "edit", &id, "--title", "Demo call (room 2)"]);
        assert!(out.status.success());
        app.json(&["sync", "--json"]);
        assert_eq!(emulator.mail_outbox().len(), 1);
        let out = app.run(&[
            "appointments",
            "edit",
            &id,
            "--title",
            "Demo call (room 3)",
            "--notify-lead",
        ]);
        assert!(out.status.success());
        emulator.expect_mail(gcal_emulator::MailKind::Update, &["ada@example.com"]);
        app.json(&["sync", "--json"]);
        assert_eq!(emulator.mail_outbox().len(), 2);
        app.json(&["disconnect", "--yes", "--json"]);
        rt.block_on(emulator.shutdown());
    }

    /// A Google event Bookline cannot store (a recurrence of 1,001 lines) does not fail
    /// `bookline sync`: it is parked, and `status --json` lists it with its reason.
    #[test]
    fn an_unstorable_event_is_parked_and_listed_by_status() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        connect_playing_the_browser(&mut app, &rt, &email);
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["parked"], json!([]), "{status}");

        let mut recurrence = vec!["RRULE:FREQ=DAILY".to_owned()];
        for day in 0..1000 {
            let date =
                chrono::NaiveDate::from_ymd_opt(2030, 5, 1).expect("date") + chrono::Days::new(day);
            recurrence.push(format!("EXDATE:{}T090000Z", date.format("%Y%m%d")));
        }
        let http = reqwest::Client::new();
        let events_url = format!("{base_url}/calendar/v3/calendars/{email}/events");
        let event_id = rt.block_on(async {
            let mut id = String::new();
            for (summary, recurrence) in [
                ("Daily stand-up", Some(recurrence)),
                ("Customer call", None),
            ] {
                let mut body = json!({
                    "summary": summary,
                    "start": { "dateTime": "2030-05-01T09:00:00Z", "timeZone": "UTC" },
                    "end": { "dateTime": "2030-05-01T09:30:00Z", "timeZone": "UTC" },
                });
                if let Some(lines) = recurrence {
                    body["recurrence"] = json!(lines);
                }
                let created: Value = http
                    .post(&events_url)
                    .bearer_auth(&token)
                    .query(&[("sendUpdates", "none")])
                    .json(&body)
                    .send()
                    .await
                    .expect("new event")
                    .json()
                    .await
                    .expect("event JSON");
                if id.is_empty() {
                    id = created["id"].as_str().expect("event id").to_owned();
                }
            }
            id
        });
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        assert_eq!(report["created_in_crm"], 1, "{report}");

        let status = app.json(&["status", "--json"]);
        let parked = status["parked"].as_array().expect("a parked array");
        assert_eq!(parked.len(), 1, "{status}");
        assert_eq!(parked[0]["event_id"], event_id.as_str());
        assert_eq!(parked[0]["title"], "Daily stand-up");
        assert!(
            parked[0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("repeat rule")),
            "{status}"
        );
        assert!(parked[0]["since"].is_string(), "{status}");
        let out = app.run(&["status"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("Daily stand-up"), "{text}");
        // The next run succeeds again and logs nothing new.
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        rt.block_on(emulator.shutdown());
    }

    /// A mass delete in Google is held, not applied: `sync` says so and exits non-zero,
    /// `status --json` lists it, `sync --keep` restores the events and `sync --yes`
    /// deletes the appointments.
    #[test]
    fn a_held_mass_delete_is_decided_with_keep_or_yes() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        connect_playing_the_browser(&mut app, &rt, &email);
        let http = reqwest::Client::new();
        let events_url = format!("{base_url}/calendar/v3/calendars/{email}/events");
        let ids: Vec<String> = rt.block_on(async {
            let mut ids = Vec::new();
            for i in 0..25 {
                let created: Value = http
                    .post(&events_url)
                    .bearer_auth(&token)
                    .query(&[("sendUpdates", "none")])
                    .json(&json!({
                        "summary": format!("Visit {i:02}"),
                        "start": { "dateTime": format!("2030-05-{:02}T10:00:00Z", i + 1) },
                        "end": { "dateTime": format!("2030-05-{:02}T11:00:00Z", i + 1) },
                    }))
                    .send()
                    .await
                    .expect("insert")
                    .json()
                    .await
                    .expect("insert JSON");
                ids.push(created["id"].as_str().expect("id").to_owned());
            }
            ids
        });
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["created_in_crm"], 25, "{report}");
        let delete_22 = |rt: &tokio::runtime::Runtime| {
            rt.block_on(async {
                for id in &ids[..22] {
                    let r = http
                        .delete(format!("{events_url}/{id}"))
                        .bearer_auth(&token)
                        .query(&[("sendUpdates", "none")])
                        .send()
                        .await
                        .expect("delete");
                    assert!(r.status().is_success(), "{}", r.status());
                }
            })
        };
        let live_events = |rt: &tokio::runtime::Runtime| -> usize {
            rt.block_on(async {
                let listed: Value = http
                    .get(&events_url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("list")
                    .json()
                    .await
                    .expect("list JSON");
                listed["items"].as_array().map_or(0, Vec::len)
            })
        };

        // Held: the pass itself ran, the command asks for a decision in one line.
        delete_22(&rt);
        let out = app.run(&["sync", "--json"]);
        assert!(!out.status.success(), "sync asks for a decision");
        assert_one_line(&out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--yes") && stderr.contains("--keep"),
            "{stderr}"
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("the report");
        assert_eq!(report["held_deletes"], 22, "{report}");
        assert_eq!(report["deleted_in_crm"], 0, "{report}");
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["held_deletes"]["crm"], 22, "{status}");
        assert_eq!(status["held_deletes"]["google"], 0, "{status}");
        assert_eq!(
            status["held_deletes"]["first"].as_array().map(Vec::len),
            Some(10)
        );
        assert_eq!(status["held_deletes"]["first"][0]["title"], "Visit 00");
        assert_eq!(status["sync"]["state"], "needs_decision", "{status}");
        assert_eq!(app.list().len(), 25);
        let out = app.run(&["sync", "--yes", "--keep"]);
        assert!(!out.status.success());
        assert_one_line(&out.stderr);

        // --keep: the events are written back; nothing is held any more.
        let report = app.json(&["sync", "--keep", "--json"]);
        assert_eq!(report["held_deletes"], 0, "{report}");
        assert_eq!(report["deleted_in_crm"], 0, "{report}");
        assert_eq!(live_events(&rt), 25);
        assert_eq!(app.list().len(), 25);
        let status = app.json(&["status", "--json"]);
        assert_eq!(status["held_deletes"]["crm"], 0, "{status}");
        assert_eq!(status["sync"]["state"], "idle", "{status}");

        // Deleted again, and this time --yes: the appointments go.
        delete_22(&rt);
        let report = app.json(&["sync", "--yes", "--json"]);
        assert_eq!(report["deleted_in_crm"], 22, "{report}");
        assert_eq!(report["held_deletes"], 0, "{report}");
        assert_eq!(app.list().len(), 3);
        assert_eq!(live_events(&rt), 3);
        rt.block_on(emulator.shutdown());
    }

    /// `BOOKLINE_GOOGLE_QUOTA_PER_MINUTE` sets the engine's own quota: at 60 a minute
    /// (a burst of 2, then about one request a second) a pass of one listing and three
    /// inserts must wait about two seconds; with the default the same pass waits for
    /// nothing. Bad values are refused in one line, and `--help` documents it.
    #[test]
    fn quota_per_minute_from_the_environment_paces_the_engine() {
        if crate::no_secret_service() {
            return;
        }
        const QUOTA_ENV: &str = "BOOKLINE_GOOGLE_QUOTA_PER_MINUTE";
        let help = Command::new(env!("CARGO_BIN_EXE_bookline"))
            .arg("--help")
            .output()
            .expect("the bookline binary runs");
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        assert!(
            help.contains("--google-quota-per-minute") && help.contains(QUOTA_ENV),
            "{help}"
        );

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, _token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        for value in ["0", "-5", "many"] {
            let out = app
                .command(&["status"])
                .env(QUOTA_ENV, value)
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(2), "{value} is refused");
            assert_one_line(&out.stderr);
        }
        connect_playing_the_browser(&mut app, &rt, &email);
        let mut timed_sync = |quota: Option<&str>, round: usize| {
            for i in 0..3 {
                let title = format!("Paced {round}.{i}");
                app.json(&[
                    "appointments",
                    "add",
                    "--json",
                    "--title",
                    &title,
                    "--start",
                    "2030-04-02T10:00",
                    "--end",
                    "2030-04-02T11:00",
                    "--timezone",
                    "UTC",
                ]);
            }
            let mut cmd = app.command(&["sync", "--json"]);
            if let Some(q) = quota {
                cmd.env(QUOTA_ENV, q);
            } else {
                cmd.env_remove(QUOTA_ENV);
            }
            let started = std::time::Instant::now();
            let out = cmd.output().expect("sync runs");
            let elapsed = started.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
            assert_eq!(report["created_in_google"], 3, "{report}");
            elapsed
        };
        let slow = timed_sync(Some("60"), 0);
        let default = timed_sync(None, 1);
        assert!(
            slow >= std::time::Duration::from_millis(1_800),
            "60 a minute paces the pass: {slow:?}"
        );
        assert!(default < slow, "default {default:?} vs. paced {slow:?}");
        let disconnected = app.json(&["disconnect", "--yes", "--json"]);
        assert_eq!(disconnected["revoked"], true);
        rt.block_on(emulator.shutdown());
    }

    /// `demo --headless`: the built-in emulator, automatic consent, a sync pass and a
    /// backfill dry run that finds the sample appointments (old: booked before connecting).
    #[test]
    fn headless_demo_connects_syncs_and_previews() {
        if crate::no_secret_service() {
            return;
        }
        let data = tempfile::tempdir().expect("temp dir");
        let out = Command::new(env!("CARGO_BIN_EXE_bookline"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["demo", "--headless", "--json"])
            .env_remove("BOOKLINE_DATA_DIR")
            .env_remove("BOOKLINE_GOOGLE_BASE_URL")
            // A client configured for real Google must not leak into the demo.
            .env(
                "BOOKLINE_GOOGLE_CLIENT_ID",
                "real-client.apps.googleusercontent.com",
            )
            .env("BOOKLINE_GOOGLE_CLIENT_SECRET", "real-secret")
            .stdin(Stdio::null())
            .output()
            .expect("the bookline binary runs");
        assert!(
            out.status.success(),
            "demo --headless failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(report["demo"]["status"]["connected"], true, "{report}");
        assert_eq!(report["demo"]["status"]["demo"], true);
        assert_eq!(report["sync"]["errors"], json!([]));
        let preview = &report["backfill_preview"];
        assert!(
            preview["create_in_google"].as_u64().is_some_and(|n| n >= 5),
            "{preview}"
        );
        assert!(
            preview["create_in_crm"].as_u64().is_some_and(|n| n >= 1),
            "{preview}"
        );
    }

    /// Ctrl-C stops a backfill cleanly; running it again says it resumes and finishes
    /// without a duplicate in Google.
    #[test]
    fn backfill_interrupted_by_ctrl_c_resumes_without_duplicates() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        const OLD: usize = 6;
        for i in 0..OLD {
            let start = format!("2026-03-{:02}T10:00", i + 2);
            let end = format!("2026-03-{:02}T11:00", i + 2);
            let title = format!("Old meeting {i}");
            app.json(&[
                "appointments",
                "add",
                "--json",
                "--title",
                &title,
                "--start",
                &start,
                "--end",
                &end,
                "--timezone",
                "UTC",
            ]);
        }
        connect_playing_the_browser(&mut app, &rt, &email);
        let http = reqwest::Client::new();
        let faults = |latency_ms: u64| {
            rt.block_on(async {
                let set = http
                    .post(format!("{base_url}/_emulator/faults"))
                    .json(&json!({ "seed": 1, "rate": 0.0, "latency_ms": latency_ms }))
                    .send()
                    .await
                    .expect("faults");
                assert!(set.status().is_success(), "{}", set.status());
            })
        };
        // Slow Google down so the transfer is still running when Ctrl-C arrives.
        faults(2_000);
        let mut child = app
            .command(&["backfill", "--direction", "crm-to-google"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("backfill starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut printed = String::new();
        loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).expect("read backfill's stdout");
            assert!(n > 0, "backfill ended before showing progress: {printed}");
            printed.push_str(&line);
            if line.contains(" items: ") {
                break;
            }
        }
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        stdout.read_to_string(&mut printed).expect("rest of stdout");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        let exit = child.wait().expect("backfill ends");
        app.outputs.push(printed.clone());
        app.outputs.push(stderr.clone());
        assert!(
            !exit.success(),
            "a cancelled transfer exits non-zero: {printed}"
        );
        assert!(stderr.contains("cancelled"), "{stderr}");
        assert_one_line(stderr.as_bytes());

        faults(0);
        let out = app.run(&["backfill", "--direction", "crm-to-google"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("Resuming the unfinished transfer"), "{text}");
        let listed: Value = rt.block_on(async {
            http.get(format!("{base_url}/calendar/v3/calendars/{email}/events"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("JSON")
        });
        let mut summaries: Vec<String> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["summary"].as_str().map(str::to_owned))
            .collect();
        summaries.sort();
        let expected: Vec<String> = (0..OLD).map(|i| format!("Old meeting {i}")).collect();
        assert_eq!(summaries, expected, "each appointment once in Google");
        let again = app.json(&["backfill", "--direction", "crm-to-google", "--json"]);
        assert_eq!(again["created_in_google"], 0, "{again}");
        assert_eq!(again["resumed"], false);
        let disconnected = app.json(&["disconnect", "--yes", "--json"]);
        assert_eq!(disconnected["revoked"], true);
        rt.block_on(emulator.shutdown());
    }

    /// `settings --calendar`: with linked events elsewhere the user must choose (one line
    /// naming both flags and the counts, exit 1, nothing saved); `--move-events` moves
    /// Bookline's events, `--keep-events` leaves them linked where they are, and
    /// `primary` ↔ the account's email is no change at all.
    #[test]
    fn changing_the_calendar_asks_to_move_or_keep_the_linked_events() {
        if crate::no_secret_service() {
            return;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let mut app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        connect_playing_the_browser(&mut app, &rt, &email);
        let http = reqwest::Client::new();
        let second: String = rt.block_on(async {
            let made: Value = http
                .post(format!("{base_url}/calendar/v3/calendars"))
                .bearer_auth(&token)
                .json(&json!({ "summary": "Bookline", "timeZone": "UTC" }))
                .send()
                .await
                .expect("calendars.insert")
                .json()
                .await
                .expect("calendar JSON");
            made["id"].as_str().expect("calendar id").to_owned()
        });
        let event_ids = |rt: &tokio::runtime::Runtime, calendar: &str| -> BTreeSet<String> {
            rt.block_on(async {
                let listed: Value = http
                    .get(format!(
                        "{base_url}/calendar/v3/calendars/{calendar}/events"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("list events")
                    .json()
                    .await
                    .expect("events JSON");
                listed["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter(|i| i["status"] != "cancelled")
                            .filter_map(|i| i["summary"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
        };
        for (title, day) in [("Pitch", "2030-04-02"), ("Demo", "2030-04-03")] {
            app.json(&[
                "appointments",
                "add",
                "--json",
                "--title",
                title,
                "--start",
                &format!("{day}T09:00"),
                "--end",
                &format!("{day}T10:00"),
                "--timezone",
                "UTC",
            ]);
        }
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["created_in_google"], 2, "{report}");

        // primary ↔ the account's email: the same calendar, no question asked.
        let out = app.run(&["settings", "--calendar", &email]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            app.json(&["settings", "--json"])["calendar_id"],
            email.as_str()
        );
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["created_in_crm"], 0, "{report}");
        assert_eq!(report["created_in_google"], 0, "{report}");

        // Another calendar: a choice is needed.
        let out = app.run(&["settings", "--calendar", &second]);
        assert_eq!(out.status.code(), Some(1));
        assert_one_line(&out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--move-events") && stderr.contains("--keep-events"),
            "{stderr}"
        );
        assert!(stderr.contains("2 linked event"), "{stderr}");
        assert_eq!(
            app.json(&["settings", "--json"])["calendar_id"],
            email.as_str()
        );
        let out = app.run(&[
            "settings",
            "--calendar",
            &second,
            "--move-events",
            "--keep-events",
        ]);
        assert!(!out.status.success());

        let out = app.run(&["settings", "--calendar", &second, "--move-events"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Moved 2 event"));
        assert_eq!(
            app.json(&["status", "--json"])["calendar_id"],
            second.as_str()
        );
        assert_eq!(
            event_ids(&rt, &second),
            BTreeSet::from(["Pitch".to_owned(), "Demo".to_owned()])
        );
        assert!(event_ids(&rt, &email).is_empty());

        // Back to primary, keeping them where they are: an edit still reaches its event.
        let out = app.run(&["settings", "--calendar", "primary", "--keep-events"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            app.json(&["settings", "--json"])["calendar_id"],
            email.as_str()
        );
        let listed = app.list();
        let pitch = listed
            .iter()
            .find(|i| i["title"] == "Pitch")
            .and_then(|i| i["id"].as_str())
            .expect("Pitch")
            .to_owned();
        app.json(&[
            "appointments",
            "edit",
            &pitch,
            "--title",
            "Pitch (2)",
            "--json",
        ]);
        let report = app.json(&["sync", "--json"]);
        assert_eq!(report["errors"], json!([]), "{report}");
        assert_eq!(report["updated_in_google"], 1, "{report}");
        assert!(event_ids(&rt, &second).contains("Pitch (2)"));
        assert_eq!(app.list().len(), 2);
        rt.block_on(emulator.shutdown());
    }
}

/// The start-at-login entry runs `bookline --minimized`: the flag must parse (a usage
/// error there would make every login start fail silently).
#[test]
fn the_login_items_minimized_flag_is_accepted() {
    let dir = data_dir();
    let out = bookline(
        dir.path(),
        &["--minimized", "appointments", "list", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(all(dir.path()), Vec::<Value>::new());
}

/// Support: `--version`, and `diagnostics` with the facts support needs and no appointment
/// contents; `settings --start-at-login` saves the setting the window applies.
#[test]
fn version_diagnostics_and_start_at_login() {
    let dir = data_dir();
    let dir = dir.path();
    let version = bookline(dir, &["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("bookline {}", env!("CARGO_PKG_VERSION"))
    );

    bookline_json(
        dir,
        &[
            "appointments",
            "add",
            "--json",
            "--title",
            "Secret deal with Initech",
            "--start",
            "2030-05-06T10:00",
            "--end",
            "2030-05-06T11:00",
        ],
    );
    let out = bookline(dir, &["diagnostics"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for fact in [
        format!("Bookline: {}", env!("CARGO_PKG_VERSION")),
        format!("Data folder: {}", dir.display()),
        format!("Log folder: {}", dir.join("logs").display()),
        "Google account: not connected".to_owned(),
        "Last sync: never".to_owned(),
        "Recent errors: none".to_owned(),
    ] {
        assert!(text.contains(&fact), "{fact:?} missing in:\n{text}");
    }
    assert!(!text.contains("Initech"), "{text}");

    let saved = bookline_json(dir, &["settings", "--start-at-login", "true", "--json"]);
    assert_eq!(saved["start_at_login"], true);
    let shown = bookline(dir, &["settings"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Start at login: yes"));
}
