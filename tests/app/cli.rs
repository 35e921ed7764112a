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
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("empty title", base("")),
        ("blank title", base("   ")),
        ("end before start", {
            let mut a = base("Backwards");
            a[5] = "2030-05-06T12:00";
            a
        }),
        ("end equal to start", {
            let mut a = base("Zero length");
            a[7] = "2030-05-06T10:00";
            a
        }),
        ("unknown time zone", {
            let mut a = base("Where");
            a[9] = "Mars/Olympus_Mons";
            a
        }),
        ("malformed email", {
            let mut a = base("Bad email");
            a.extend(["--lead-email", "jane-at-acme"]);
            a
        }),
        ("absurd note", {
            let mut a = base("Long note");
            a.extend(["--notes", huge_note.as_str()]);
            a
        }),
        ("malformed start", {
            let mut a = base("Bad start");
            a[5] = "next tuesday";
            a
        }),
    ];
    for (what, args) in cases {
        let out = bookline(dir, &args);
        assert!(!out.status.success(), "{what}: accepted");
        assert_one_line(&out.stderr);
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
