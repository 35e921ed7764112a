//! End-to-end: the real app in a real WebKitGTK window, driven through tauri-driver +
//! WebKitWebDriver with a small W3C WebDriver client. Needs a display (Xvfb), the
//! `tauri-driver` binary and WebKitWebDriver; `make test` provides all three.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by `make test`"]
async fn add_an_appointment_through_the_window() {
    let data = tempfile::tempdir().expect("temp dir");
    // A few appointments booked from the CLI first, so the window starts with a list (and
    // the screenshot shows a realistic week), all relative to today so they are upcoming.
    let day = |n: i64| (chrono::Local::now().date_naive() + chrono::Duration::days(n)).to_string();
    for (title, start, end, extra) in [
        (
            "Discovery call — Northwind Traders",
            format!("{}T15:00", day(1)),
            format!("{}T15:30", day(1)),
            vec![
                "--lead-name",
                "Maria Anders",
                "--lead-email",
                "maria@northwind.example",
            ],
        ),
        (
            "Product demo — Contoso",
            format!("{}T10:00", day(2)),
            format!("{}T11:00", day(2)),
            vec!["--lead-name", "Ana Trujillo", "--location", "Video call"],
        ),
        (
            "Weekly pipeline review",
            format!("{}T09:00", day(3)),
            format!("{}T09:30", day(3)),
            vec!["--rrule", "FREQ=WEEKLY;COUNT=8"],
        ),
        ("Trade fair — Hall B", day(5), day(6), vec!["--all-day"]),
    ] {
        let mut args = vec![
            "appointments",
            "add",
            "--title",
            title,
            "--start",
            &start,
            "--end",
            &end,
        ];
        args.extend(extra);
        super::bookline_json(data.path(), &[args.as_slice(), &["--json"]].concat());
    }

    let driver = TauriDriver::start();
    let wd = WebDriver::session(&driver, data.path()).await;

    wd.wait_for("add-appointment").await.click(&wd).await;
    wd.wait_for("appointment-dialog").await;
    let title = "Contract signing — Acme";
    let date = day(4);
    wd.find("field-title").await.type_text(&wd, title).await;
    wd.set_value("field-start-date", &date).await;
    wd.set_value("field-start-time", "14:00").await;
    wd.set_value("field-end-date", &date).await;
    wd.set_value("field-end-time", "15:00").await;
    wd.find("field-lead-name")
        .await
        .type_text(&wd, "Jane Roe")
        .await;
    wd.find("field-lead-email")
        .await
        .type_text(&wd, "jane@acme.example")
        .await;
    wd.find("save-appointment").await.click(&wd).await;

    // The new row appears in the list (the dialog closed without an error).
    let row = wd
        .poll("a list row with the new title", || async {
            if let Some(error) = wd.try_find("dialog-error").await {
                let text = error.text(&wd).await;
                if !text.trim().is_empty() {
                    panic!("the dialog refused the appointment: {text}");
                }
            }
            for row in wd.find_all("appointment-row").await {
                if row.text_content(&wd).await.contains(title) {
                    return Some(row);
                }
            }
            None
        })
        .await;
    let id = row
        .attribute(&wd, "data-id")
        .await
        .expect("row has data-id");

    let shot = screenshot_path("add-appointment.png");
    wd.screenshot(&shot).await;

    // The appointment is in SQLite: read back through the CLI while the app still runs
    // (WAL lets a second connection read).
    let listed = super::bookline_json(data.path(), &["appointments", "list", "--json"]);
    let stored = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in the database: {listed}"))
        .clone();
    assert_eq!(stored["title"], title);
    assert_eq!(stored["origin"], "crm");
    assert_eq!(stored["lead_email"], "jane@acme.example");
    // And straight from the SQLite file, read-only beside the running app.
    let db = rusqlite::Connection::open_with_flags(
        data.path().join("bookline.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file opens");
    let in_file: String = db
        .query_row("SELECT title FROM appointments WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .expect("the row is in the appointments table");
    assert_eq!(in_file, title);

    // The week view (fed by `week_occurrences`) shows it too.
    wd.find("tab-week").await.click(&wd).await;
    let week = wd.wait_for("week-view").await;
    // The view opens on this week (Monday first); from Thursday on, four days ahead is
    // next week, so step forward to the appointment's week.
    use chrono::Datelike;
    let monday = |d: chrono::NaiveDate| {
        d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()))
    };
    let today = chrono::Local::now().date_naive();
    let target: chrono::NaiveDate = date.parse().expect("the date the test typed");
    let weeks_ahead = (monday(target) - monday(today)).num_days() / 7;
    for _ in 0..weeks_ahead {
        wd.find("week-next").await.click(&wd).await;
    }
    wd.poll("the new appointment in the week view", || async {
        let text = week.text_content(&wd).await;
        (text.contains(title) && !text.contains("Loading")).then_some(())
    })
    .await;
    wd.screenshot(&screenshot_path("week-view.png")).await;

    wd.close().await;
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by `make test`"]
async fn the_dialog_refuses_an_empty_title() {
    let data = tempfile::tempdir().expect("temp dir");
    let driver = TauriDriver::start();
    let wd = WebDriver::session(&driver, data.path()).await;

    wd.wait_for("add-appointment").await.click(&wd).await;
    wd.wait_for("appointment-dialog").await;
    wd.set_value("field-start-date", "2030-05-06").await;
    wd.set_value("field-start-time", "10:00").await;
    wd.set_value("field-end-date", "2030-05-06").await;
    wd.set_value("field-end-time", "11:00").await;
    wd.find("save-appointment").await.click(&wd).await;
    let error = wd.wait_for("dialog-error").await;
    let message = wd
        .poll("an error message", || async {
            let text = error.text(&wd).await;
            (!text.trim().is_empty()).then_some(text)
        })
        .await;
    assert!(message.to_lowercase().contains("title"), "{message}");
    wd.screenshot(&screenshot_path("empty-title.png")).await;

    let listed = super::bookline_json(data.path(), &["appointments", "list", "--json"]);
    assert_eq!(listed, json!([]), "a refused appointment was written");
    wd.close().await;
}

/// The Google side end to end: Connect With Google against the emulator (the test plays
/// the browser: `curl -sL` follows the authorization URL, auto-consent redirects to the
/// app's loopback listener), Synchronize Google Calendar with B (Google → Bookline),
/// preview, run, summary, the imported rows; then Remove Google Account.
/// No Google client configured: the Connect page explains it and offers **Use my own
/// Google client…**. A Web client's file is refused with its sentence (nothing saved);
/// Google Cloud's Desktop download is saved and Connect goes on to the connected account.
#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn use_my_own_google_client() {
    let emulator = gcal_emulator::Emulator::start(gcal_emulator::EmulatorOptions {
        seed_demo: true,
        ..Default::default()
    })
    .await
    .expect("the emulator starts");
    let base = emulator.base_url().to_owned();
    let consent = reqwest::Client::new()
        .post(format!("{base}/_emulator/consent"))
        .json(&json!({"auto": "allow"}))
        .send()
        .await
        .expect("the emulator answers");
    assert!(consent.status().is_success(), "auto-consent: {consent:?}");

    let web = r#"{"web":{"client_id":"1-web.apps.googleusercontent.com","client_secret":"GOCSPX-w","redirect_uris":["https://example.com/cb"]}}"#;
    let desktop = r#"{"installed":{"client_id":"1-desktop.apps.googleusercontent.com","project_id":"bookline","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","client_secret":"GOCSPX-d","redirect_uris":["http://localhost"]}}"#;

    let data = tempfile::tempdir().expect("temp dir");
    let driver = TauriDriver::start_with_env(&[
        ("BOOKLINE_GOOGLE_BASE_URL", base.as_str()),
        ("BOOKLINE_GOOGLE_CLIENT_ID", ""),
        ("BOOKLINE_GOOGLE_CLIENT_SECRET", ""),
        (
            "BOOKLINE_OPEN_URL_COMMAND",
            "curl -sSL --max-time 30 -o /dev/null",
        ),
    ]);
    let wd = WebDriver::session(&driver, data.path()).await;

    wd.wait_for("authenticate-google").await.click(&wd).await;
    wd.wait_for("connect-setup").await;
    wd.wait_for("use-own-client").await;
    wd.choose_file("client-file-input", "client_secret_web.json", web)
        .await;
    let refused = wd
        .poll("the refusal of the Web client", || async {
            let error = wd.try_find("client-file-error").await?;
            let text = error.text_content(&wd).await;
            (!text.trim().is_empty()).then_some(text)
        })
        .await;
    assert!(refused.contains("Web application"), "{refused}");
    assert!(!data.path().join("google-client.json").exists());
    wd.screenshot(&screenshot_path("own-client-wrong-file.png"))
        .await;

    wd.choose_file("client-file-input", "client_secret_desktop.json", desktop)
        .await;
    wd.poll("the connected account", || async {
        if let Some(error) = wd.try_find("connect-error").await {
            let text = error.text_content(&wd).await;
            if !text.trim().is_empty() {
                panic!("connecting failed: {text}");
            }
        }
        let account = wd.try_find("google-account").await?;
        account
            .text_content(&wd)
            .await
            .contains("demo@example.com")
            .then_some(())
    })
    .await;
    let saved = std::fs::read_to_string(data.path().join("google-client.json"))
        .expect("the client file is saved in the data dir");
    assert!(saved.contains("1-desktop.apps.googleusercontent.com"));
    wd.screenshot(&screenshot_path("own-client-connected.png"))
        .await;

    // About: the version and the data folder; Copy diagnostics copies (or, without
    // clipboard access in this webview, shows the text to copy) — no client secret in it.
    wd.find("open-about").await.click(&wd).await;
    let version = wd.wait_for("about-version").await.text_content(&wd).await;
    assert_eq!(version.trim(), env!("CARGO_PKG_VERSION"));
    wd.find("copy-diagnostics").await.click(&wd).await;
    let outcome = wd
        .poll("diagnostics copied or shown", || async {
            if let Some(text) = wd.try_find("diagnostics-text").await {
                return Some(wd_value(&wd, &text).await);
            }
            let button = wd.find("copy-diagnostics").await.text_content(&wd).await;
            (button.trim() == "Copied").then(String::new)
        })
        .await;
    // Empty: the clipboard took it ("Copied"); else the text shown to copy by hand.
    if !outcome.is_empty() {
        assert!(outcome.contains("Google account: connected"), "{outcome}");
        assert!(!outcome.contains("GOCSPX"), "{outcome}");
        assert!(!outcome.contains("demo@example.com"), "{outcome}");
    }
    wd.screenshot(&screenshot_path("about.png")).await;
    wd.close().await;
}

/// A form control's current value (the `value` property: a textarea's text is not an
/// attribute).
async fn wd_value(wd: &WebDriver, element: &Element) -> String {
    wd.call(
        reqwest::Method::GET,
        &format!("/element/{}/property/value", element.0),
        None,
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn connect_backfill_and_remove_google() {
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions {
        seed_demo: true,
        ..Default::default()
    })
    .await;
    let base = emulator.base_url().to_owned();
    let http = reqwest::Client::new();
    let consent = http
        .post(format!("{base}/_emulator/consent"))
        .json(&json!({"auto": "allow"}))
        .send()
        .await
        .expect("the emulator answers");
    assert!(consent.status().is_success(), "auto-consent: {consent:?}");

    let data = tempfile::tempdir().expect("temp dir");
    let driver = TauriDriver::start_with_env(&[
        ("BOOKLINE_GOOGLE_BASE_URL", base.as_str()),
        (
            "BOOKLINE_GOOGLE_CLIENT_ID",
            "bookline-e2e.apps.googleusercontent.com",
        ),
        ("BOOKLINE_GOOGLE_CLIENT_SECRET", "bookline-e2e-secret"),
        (
            "BOOKLINE_OPEN_URL_COMMAND",
            "curl -sSL --max-time 30 -o /dev/null",
        ),
    ]);
    let wd = WebDriver::session(&driver, data.path()).await;

    // Connect.
    wd.wait_for("authenticate-google").await.click(&wd).await;
    wd.wait_for("connect-google").await.click(&wd).await;
    let account = wd
        .poll("the connected account", || async {
            if let Some(error) = wd.try_find("connect-error").await {
                let text = error.text_content(&wd).await;
                if !text.trim().is_empty() {
                    panic!("connecting failed: {text}");
                }
            }
            let account = wd.try_find("google-account").await?;
            account
                .text_content(&wd)
                .await
                .contains("demo@example.com")
                .then_some(account)
        })
        .await;
    for button in ["sync-google", "sync-settings", "remove-google"] {
        wd.wait_for(button).await;
    }
    wd.screenshot(&screenshot_path("google-connected.png"))
        .await;
    let _ = account;

    // Synchronize Google Calendar: B, preview, run, summary.
    wd.find("sync-google").await.click(&wd).await;
    wd.wait_for("backfill-dialog").await;
    wd.set_value("backfill-direction", "google-to-crm").await;
    wd.wait_for("backfill-preview-button")
        .await
        .click(&wd)
        .await;
    let preview = wd.wait_for("backfill-preview").await;
    let preview_text = wd
        .poll("the preview", || async {
            if let Some(error) = wd.try_find("backfill-error").await {
                let text = error.text_content(&wd).await;
                if !text.trim().is_empty() {
                    panic!("the preview failed: {text}");
                }
            }
            let text = preview.text_content(&wd).await;
            (!text.trim().is_empty()).then_some(text)
        })
        .await;
    wd.screenshot(&screenshot_path("backfill-preview.png"))
        .await;
    wd.find("backfill-run").await.click(&wd).await;
    let summary = wd
        .poll("the transfer summary", || async {
            let summary = wd.try_find("backfill-summary").await?;
            let state = summary.attribute(&wd, "data-state").await?;
            (state != "running").then_some((summary, state))
        })
        .await;
    assert_eq!(
        summary.1,
        "finished",
        "the transfer ended as {}: {} (preview: {preview_text})",
        summary.1,
        summary.0.text_content(&wd).await
    );
    wd.screenshot(&screenshot_path("backfill-summary.png"))
        .await;
    wd.find("backfill-done").await.click(&wd).await;

    // The imported events are appointments now, in the window and in SQLite.
    let db = rusqlite::Connection::open_with_flags(
        data.path().join("bookline.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file opens");
    let imported: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM appointments WHERE origin = 'google'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(imported > 0, "nothing was imported from Google");
    wd.poll("imported rows in the list", || async {
        let rows = wd.find_all("appointment-row").await;
        (!rows.is_empty()).then_some(())
    })
    .await;
    wd.screenshot(&screenshot_path("backfill-imported.png"))
        .await;

    // The activity log (activity_log) lists what the transfer did.
    wd.find("tab-activity").await.click(&wd).await;
    wd.wait_for("activity-entry").await;
    wd.screenshot(&screenshot_path("activity.png")).await;
    wd.find("tab-list").await.click(&wd).await;

    // Calendar Sync Settings: Start at login adds the login item, starting in the tray.
    wd.find("sync-settings").await.click(&wd).await;
    wd.wait_for("settings-start-at-login")
        .await
        .click(&wd)
        .await;
    wd.find("settings-save").await.click(&wd).await;
    let login_item = wd
        .poll("the login item", || async {
            std::fs::read_dir(driver.home.path().join(".config").join("autostart"))
                .ok()?
                .filter_map(Result::ok)
                .find_map(|e| std::fs::read_to_string(e.path()).ok())
        })
        .await;
    assert!(login_item.contains("--minimized"), "{login_item}");
    wd.poll("the settings dialog to close", || async {
        match wd.try_find("settings-dialog").await {
            None => Some(()),
            Some(dialog) => dialog.attribute(&wd, "open").await.is_none().then_some(()),
        }
    })
    .await;

    // Remove Google Account: confirm, report, back to not connected.
    wd.find("remove-google").await.click(&wd).await;
    wd.wait_for("remove-dialog").await;
    wd.screenshot(&screenshot_path("remove-confirm.png")).await;
    wd.find("remove-confirm").await.click(&wd).await;
    wd.poll("the removal report", || async {
        if let Some(error) = wd.try_find("remove-error").await {
            let text = error.text_content(&wd).await;
            if !text.trim().is_empty() {
                panic!("removal failed: {text}");
            }
        }
        wd.try_find("remove-report").await
    })
    .await;
    assert!(
        wd.try_find("remove-revoke-failed").await.is_none(),
        "the emulator was reachable: the grant should have been revoked"
    );
    wd.screenshot(&screenshot_path("remove-report.png")).await;
    wd.find("remove-done").await.click(&wd).await;
    wd.wait_for("authenticate-google").await;
    let left: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM appointments WHERE origin = 'google'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "imported appointments stay only when kept");
    wd.screenshot(&screenshot_path("google-removed.png")).await;

    wd.close().await;
    emulator.shutdown().await;
}

/// A mass delete in Google is held, not applied: the window shows the decision (counts,
/// the first titles, Delete them / Keep them), and Keep them writes the events back so
/// SQLite and Google agree again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn a_mass_delete_waits_for_a_decision_in_the_window() {
    let email = "held-e2e@example.com";
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions::default()).await;
    let google = Google::new(emulator.base_url());
    // Created first, so automatic consent signs in as this account; its token lets the
    // test play the user deleting events in Google.
    let account = google.control("accounts", json!({ "email": email })).await;
    let token = account["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;

    // 30 events booked in Google after connecting come into Bookline.
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    let mut event_ids = Vec::new();
    for i in 0..30 {
        let at = start + chrono::Duration::hours(i);
        let event = google
            .control(
                &format!("events/{email}"),
                json!({
                    "summary": format!("Client visit {i:02}"),
                    "start": {"dateTime": at.to_rfc3339()},
                    "end": {"dateTime": (at + chrono::Duration::minutes(30)).to_rfc3339()},
                }),
            )
            .await;
        event_ids.push(event["id"].as_str().expect("an event id").to_owned());
    }
    let sync = Command::new(app_binary())
        .arg("--data-dir")
        .arg(data.path())
        .args(["sync", "--json"])
        .env_remove("BOOKLINE_DATA_DIR")
        .envs(google_env(&google.base))
        .output()
        .expect("bookline sync runs");
    let report = super::success_json(&["sync", "--json"], &sync);
    assert_eq!(report["created_in_crm"], 30, "{report}");

    // 25 of them deleted in Google: more than the delete guard lets through.
    let events_url = format!("{}/calendar/v3/calendars/{email}/events", google.base);
    for id in &event_ids[..25] {
        let deleted = google
            .http
            .delete(format!("{events_url}/{id}"))
            .bearer_auth(&token)
            .query(&[("sendUpdates", "none")])
            .send()
            .await
            .expect("events.delete");
        assert!(deleted.status().is_success(), "{deleted:?}");
    }

    let env = google_env(&google.base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let driver = TauriDriver::start_with_env(&env);
    let wd = WebDriver::session(&driver, data.path()).await;

    // The first pass holds the 25 and the window asks.
    let panel = wd.wait_for("held-deletes").await;
    let text = wd
        .poll("the held deletions", || async {
            let text = panel.text_content(&wd).await;
            text.contains("25 deletions").then_some(text)
        })
        .await;
    assert!(text.contains("25 events were deleted in Google"), "{text}");
    assert_eq!(wd.find_all("held-item").await.len(), 10, "{text}");
    assert!(text.contains("Client visit 00"), "{text}");
    assert!(text.contains("and 15 more"), "{text}");
    let sync_state = wd.wait_for("sync-state").await;
    wd.poll("the needs-decision state", || async {
        (sync_state.attribute(&wd, "data-state").await.as_deref() == Some("needs_decision"))
            .then_some(())
    })
    .await;
    let db = rusqlite::Connection::open_with_flags(
        data.path().join("bookline.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file opens");
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count("SELECT COUNT(*) FROM appointments"),
        30,
        "nothing deleted yet"
    );
    assert_eq!(count("SELECT COUNT(*) FROM held_deletes"), 25);
    wd.screenshot(&screenshot_path("mass-delete-decision.png"))
        .await;

    // Keep them: the events come back in Google, and the question goes away.
    wd.find("held-keep").await.click(&wd).await;
    wd.poll("the decision to be applied", || async {
        if wd.try_find("held-deletes").await.is_some() {
            return None;
        }
        (count("SELECT COUNT(*) FROM held_deletes") == 0).then_some(())
    })
    .await;
    assert_eq!(count("SELECT COUNT(*) FROM appointments"), 30);
    assert_eq!(
        count("SELECT COUNT(*) FROM appointments WHERE status = 'cancelled'"),
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM links"), 30);
    let listed: Value = google
        .http
        .get(&events_url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("events.list")
        .json()
        .await
        .expect("events.list is JSON");
    let live: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["status"] != "cancelled")
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(live.len(), 30, "every event is back, none twice: {listed}");
    for id in &event_ids {
        assert!(
            live.contains(&id.as_str()),
            "{id} was restored under its own id"
        );
    }
    wd.poll("the synced state", || async {
        (sync_state.attribute(&wd, "data-state").await.as_deref() == Some("idle")).then_some(())
    })
    .await;
    wd.screenshot(&screenshot_path("mass-delete-kept.png"))
        .await;

    wd.close().await;
    emulator.shutdown().await;
}

/// Recurring appointments in the window: the repeat editor writes the rule its sentence
/// says, and moving one occurrence in the week view ("This appointment") reaches Google as
/// Google's own exception — an instance of the series with `originalStartTime` = the old
/// start — while the series itself is unchanged. Also takes the screenshots of the editor,
/// the three-way question and the week with the moved occurrence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn move_one_occurrence_in_the_week_view() {
    use chrono::{DateTime, Datelike, FixedOffset};
    let email = "recurring-e2e@example.com";
    let emulator = gcal_emulator::Emulator::start(gcal_emulator::EmulatorOptions::default())
        .await
        .expect("the emulator starts");
    let google = Google::new(emulator.base_url());
    let account = google.control("accounts", json!({ "email": email })).await;
    let token = account["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;

    // A series on Mondays and Thursdays that started two weeks ago at 10:00 UTC, so this
    // week's Monday and Thursday, the week the view opens on, have an occurrence each.
    let today = chrono::Local::now().date_naive();
    let this_monday =
        today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = this_monday - chrono::Duration::days(14);
    let rule = "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=12";
    let args = [
        "appointments",
        "add",
        "--title",
        "Pipeline review — Fabrikam",
        "--start",
        &format!("{first}T10:00"),
        "--end",
        &format!("{first}T11:00"),
        "--timezone",
        "UTC",
        "--rrule",
        rule,
        "--json",
    ];
    super::bookline_json(data.path(), &args);
    let sync = Command::new(app_binary())
        .arg("--data-dir")
        .arg(data.path())
        .args(["sync", "--json"])
        .env_remove("BOOKLINE_DATA_DIR")
        .envs(google_env(&google.base))
        .output()
        .expect("bookline sync runs");
    let report = super::success_json(&["sync", "--json"], &sync);
    assert_eq!(report["created_in_google"], 1, "{report}");

    let events_url = format!("{}/calendar/v3/calendars/{email}/events", google.base);
    let list_events = || async {
        let listed: Value = google
            .http
            .get(&events_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("events.list")
            .json()
            .await
            .expect("events.list is JSON");
        listed["items"].as_array().cloned().unwrap_or_default()
    };
    let before = list_events().await;
    assert_eq!(before.len(), 1, "one series in Google: {before:?}");
    let series_before = before[0].clone();
    let series_event_id = series_before["id"]
        .as_str()
        .expect("an event id")
        .to_owned();
    assert_eq!(
        series_before["recurrence"],
        json!([format!("RRULE:{rule}")])
    );

    let env = google_env(&google.base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let driver = TauriDriver::start_with_env(&env);
    let wd = WebDriver::session(&driver, data.path()).await;

    // The repeat editor: weekly on two days with an end, then monthly on the last Friday.
    // (A click that lands while the window is still settling is repeated.)
    let add = wd.wait_for("add-appointment").await;
    wd.poll("the Add dialog", || async {
        if wd.try_find("appointment-dialog").await.is_some() {
            return Some(());
        }
        add.click(&wd).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        None
    })
    .await;
    wd.find("field-title")
        .await
        .type_text(&wd, "Key account check-in")
        .await;
    let next_monday = this_monday + chrono::Duration::days(7);
    wd.set_value("field-start-date", &next_monday.to_string())
        .await;
    wd.set_value("field-repeat", "weekly").await;
    wd.find("repeat-day-WE").await.click(&wd).await;
    wd.find("repeat-end-count").await.click(&wd).await;
    wd.set_value("repeat-count", "8").await;
    let sentence = wd.find("repeat-sentence").await;
    wd.poll("the weekly sentence", || async {
        (sentence.text(&wd).await == "↻ Weekly on Mon and Wed, 8 times").then_some(())
    })
    .await;
    scroll_into_view(&wd, "repeat-editor").await;
    wd.screenshot(&screenshot_path("repeat-editor-weekly.png"))
        .await;
    wd.set_value("field-repeat", "monthly").await;
    wd.set_value("repeat-monthly-mode", "weekday").await;
    wd.set_value("repeat-month-nth", "-1").await;
    wd.set_value("repeat-month-weekday", "FR").await;
    wd.find("repeat-end-never").await.click(&wd).await;
    let sentence = wd.find("repeat-sentence").await;
    wd.poll("the monthly sentence", || async {
        (sentence.text(&wd).await == "↻ Monthly on the last Friday").then_some(())
    })
    .await;
    scroll_into_view(&wd, "repeat-editor").await;
    wd.screenshot(&screenshot_path("repeat-editor-monthly.png"))
        .await;
    wd.find("dialog-close").await.click(&wd).await;
    wd.poll("the dialog to close", || async {
        wd.try_find("appointment-dialog")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // This week's occurrence of the series, in the week view.
    wd.find("tab-week").await.click(&wd).await;
    let week = wd.wait_for("week-view").await;
    let old_start: DateTime<FixedOffset> =
        format!("{this_monday}T10:00:00Z").parse().expect("a start");
    let occurrence = wd
        .poll("this week's occurrence of the series", || async {
            let text = week.text_content(&wd).await;
            if text.contains("Loading") {
                return None;
            }
            for event in wd.find_all("week-event").await {
                let original = event.attribute(&wd, "data-original-start").await;
                let parsed = original
                    .as_deref()
                    .and_then(|o| DateTime::parse_from_rfc3339(o).ok());
                if parsed == Some(old_start) {
                    return Some(event);
                }
            }
            None
        })
        .await;
    occurrence.click(&wd).await;
    wd.wait_for("appointment-dialog").await;
    assert_eq!(
        input_value(&wd, "field-start-date").await,
        this_monday.to_string(),
        "the dialog opens on the clicked occurrence, not the series' first date"
    );
    assert_eq!(input_value(&wd, "field-start-time").await, "10:00");
    wd.set_value("field-start-time", "14:00").await;
    wd.set_value("field-end-time", "15:00").await;
    wd.find("save-appointment").await.click(&wd).await;
    wd.wait_for("scope-dialog").await;
    wd.find("scope-this").await.click(&wd).await;
    wd.screenshot(&screenshot_path("occurrence-scope.png"))
        .await;
    wd.find("scope-confirm").await.click(&wd).await;
    wd.poll("the dialogs to close", || async {
        (wd.try_find("scope-dialog").await.is_none()
            && wd.try_find("appointment-dialog").await.is_none())
        .then_some(())
    })
    .await;

    // The app sends the change by itself: Google gets one exception of the series.
    let new_start: DateTime<FixedOffset> =
        format!("{this_monday}T14:00:00Z").parse().expect("a start");
    let deadline = Instant::now() + Duration::from_secs(120);
    let items = loop {
        let items = list_events().await;
        if items.iter().any(|e| e["recurringEventId"].is_string()) {
            break items;
        }
        assert!(
            Instant::now() < deadline,
            "the moved occurrence never reached Google: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let instant = |v: &Value| {
        v["dateTime"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    };
    let exceptions: Vec<&Value> = items
        .iter()
        .filter(|e| e["recurringEventId"].is_string())
        .collect();
    assert_eq!(exceptions.len(), 1, "exactly one exception: {items:?}");
    let moved = exceptions[0];
    assert_eq!(
        moved["recurringEventId"],
        series_event_id.as_str(),
        "{moved}"
    );
    assert_eq!(
        instant(&moved["originalStartTime"]),
        Some(old_start),
        "{moved}"
    );
    assert_eq!(instant(&moved["start"]), Some(new_start), "{moved}");
    assert_ne!(moved["status"], "cancelled", "{moved}");
    let series: Vec<&Value> = items
        .iter()
        .filter(|e| e["recurrence"].is_array())
        .collect();
    assert_eq!(series.len(), 1, "no second series: {items:?}");
    assert_eq!(series[0]["id"], series_event_id.as_str());
    assert_eq!(
        series[0]["recurrence"], series_before["recurrence"],
        "the rule is unchanged"
    );
    assert_eq!(
        instant(&series[0]["start"]),
        instant(&series_before["start"]),
        "the series start is unchanged"
    );
    assert_eq!(series[0]["status"], series_before["status"]);

    // Google expands the series with the one instance moved and the others in place.
    let instances: Value = google
        .http
        .get(format!("{events_url}/{series_event_id}/instances"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("events.instances")
        .json()
        .await
        .expect("events.instances is JSON");
    let starts: Vec<DateTime<FixedOffset>> = instances["items"]
        .as_array()
        .expect("instances")
        .iter()
        .filter(|e| e["status"] != "cancelled")
        .filter_map(|e| instant(&e["start"]))
        .collect();
    let expected: Vec<DateTime<FixedOffset>> = (0..6)
        .flat_map(|week| {
            let monday = first + chrono::Duration::weeks(week);
            [monday, monday + chrono::Duration::days(3)]
        })
        .map(|day| {
            let time = if day == this_monday { "14:00" } else { "10:00" };
            format!("{day}T{time}:00Z").parse().expect("a start")
        })
        .collect();
    assert_eq!(starts, expected, "{instances}");

    // The week shows the occurrence at its new time (14:00: 14 hour rows of 48 px down),
    // as a changed occurrence of the series.
    wd.poll("the moved occurrence in the week view", || async {
        for event in wd.find_all("week-event").await {
            let original = event.attribute(&wd, "data-original-start").await;
            let parsed = original
                .as_deref()
                .and_then(|o| DateTime::parse_from_rfc3339(o).ok());
            if parsed != Some(old_start) {
                continue;
            }
            let label = event.attribute(&wd, "aria-label").await.unwrap_or_default();
            let style = event.attribute(&wd, "style").await.unwrap_or_default();
            if label.contains("Weekly on Mon and Thu, 12 times (changed occurrence)")
                && style.contains("top: 672px")
            {
                return Some(());
            }
        }
        None
    })
    .await;
    wd.screenshot(&screenshot_path("week-moved-occurrence.png"))
        .await;

    wd.close().await;
    emulator.shutdown().await;
}

/// Booking with the lead (#17): the Add dialog asks Google (freeBusy) for the day's busy
/// blocks, and a 10:30 slot against a 10:00–11:00 meeting in Google warns before anything
/// is saved — in the real window. A slot that only touches the meeting does not warn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn the_dialog_warns_of_a_busy_overlap() {
    let email = "busy-e2e@example.com";
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions::default()).await;
    let google = Google::new(emulator.base_url());
    google.control("accounts", json!({ "email": email })).await;
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;

    // A meeting made in Google tomorrow, 10:00–11:00 UTC.
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    google
        .control(
            &format!("events/{email}"),
            json!({
                "summary": "Team stand-up",
                "start": {"dateTime": format!("{day}T10:00:00Z")},
                "end": {"dateTime": format!("{day}T11:00:00Z")},
            }),
        )
        .await;

    let env = google_env(&google.base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let driver = TauriDriver::start_with_env(&env);
    let wd = WebDriver::session(&driver, data.path()).await;

    let add = wd.wait_for("add-appointment").await;
    wd.poll("the Add dialog", || async {
        if wd.try_find("appointment-dialog").await.is_some() {
            return Some(());
        }
        add.click(&wd).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        None
    })
    .await;
    wd.find("field-title")
        .await
        .type_text(&wd, "Demo call — Lovelace")
        .await;
    wd.set_value("field-timezone", "UTC").await;
    wd.set_value("field-start-date", &day.to_string()).await;
    wd.set_value("field-start-time", "10:30").await;
    wd.set_value("field-end-date", &day.to_string()).await;
    wd.set_value("field-end-time", "11:30").await;

    // The meeting is listed with its calendar, and the slot warns.
    let busy = wd.wait_for("busy-times").await;
    let listed = wd
        .poll("the day's busy block", || async {
            let text = busy.text_content(&wd).await;
            text.contains("10:00–11:00").then_some(text)
        })
        .await;
    assert!(
        listed.contains(email),
        "the block names its calendar: {listed}"
    );
    let warning = wd
        .poll("the overlap warning", || async {
            let element = wd.try_find("overlap-warning").await?;
            Some(element.text_content(&wd).await)
        })
        .await;
    assert!(
        warning.contains(&format!("Overlaps Busy 10:00–11:00 in {email}.")),
        "{warning}"
    );
    scroll_into_view(&wd, "busy-times").await;
    wd.screenshot(&screenshot_path("booking-overlap-warning.png"))
        .await;

    // 11:00–12:00 only touches the meeting: no warning.
    wd.set_value("field-end-time", "12:00").await;
    wd.set_value("field-start-time", "11:00").await;
    wd.poll("the warning to go", || async {
        wd.try_find("overlap-warning").await.is_none().then_some(())
    })
    .await;

    // "Include my other calendars": a 15:00–16:00 event in another calendar of the
    // account shows, under that calendar's name, only when asked for.
    let accounts: Value = google
        .http
        .get(format!("{}/_emulator/accounts", google.base))
        .send()
        .await
        .expect("accounts")
        .json()
        .await
        .expect("accounts are JSON");
    let other = accounts["accounts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["email"] == email))
        .and_then(|a| a["calendars"].as_array())
        .and_then(|cals| {
            cals.iter()
                .find(|c| c["id"] != email && c["primary"] != true)
        })
        .cloned()
        .expect("a second calendar in the account");
    let other_id = other["id"].as_str().expect("a calendar id");
    let other_name = other["summary"].as_str().unwrap_or(other_id).to_owned();
    google
        .control(
            &format!("events/{other_id}"),
            json!({
                "summary": "Dentist",
                "start": {"dateTime": format!("{day}T15:00:00Z")},
                "end": {"dateTime": format!("{day}T16:00:00Z")},
            }),
        )
        .await;
    let text = busy.text_content(&wd).await;
    assert!(!text.contains("15:00–16:00"), "not asked for yet: {text}");
    wd.find("busy-other-calendars").await.click(&wd).await;
    let text = wd
        .poll("the other calendar's block", || async {
            let text = busy.text_content(&wd).await;
            text.contains("15:00–16:00").then_some(text)
        })
        .await;
    assert!(
        text.contains(&format!("Busy · {other_name}")),
        "the block names its calendar ({other_name}): {text}"
    );

    wd.close().await;
    emulator.shutdown().await;
}

/// Booking with the lead (#17), the whole round trip in the real window: Add with Google
/// Meet and "Send the lead an invitation" shows what Google will email before saving; the
/// saved event has the Meet link (Join/Copy in the list) and the lead as a guest, with
/// exactly one email (the invitation). The lead declines in Google: the row is raised as
/// Declined and the desktop gets a notification. Editing then asks whether to notify the
/// lead, and "No" emails nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver, a notification daemon and a Secret Service: run by `make test`"]
async fn book_with_the_lead_and_see_the_decline() {
    let email = "booking-e2e@example.com";
    let lead = "ada@example.com";
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions::default()).await;
    let google = Google::new(emulator.base_url());
    let account = google.control("accounts", json!({ "email": email })).await;
    let token = account["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;
    let notifications = NotificationMonitor::start();

    let mut env = google_env(&google.base);
    env.push(("BOOKLINE_POLL_INTERVAL_MS", "1000".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let driver = TauriDriver::start_with_env(&env);
    let wd = WebDriver::session(&driver, data.path()).await;

    let add = wd.wait_for("add-appointment").await;
    wd.poll("the Add dialog", || async {
        if wd.try_find("appointment-dialog").await.is_some() {
            return Some(());
        }
        add.click(&wd).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        None
    })
    .await;
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    wd.find("field-title")
        .await
        .type_text(&wd, "Demo call")
        .await;
    wd.set_value("field-timezone", "UTC").await;
    wd.set_value("field-start-date", &day.to_string()).await;
    wd.set_value("field-start-time", "14:00").await;
    wd.set_value("field-end-date", &day.to_string()).await;
    wd.set_value("field-end-time", "15:00").await;
    wd.set_value("field-lead-name", "Ada Lovelace").await;
    // No valid email, no invitation: the box is off limits and says why.
    wd.set_value("field-lead-email", "ada@").await;
    let reason = wd.wait_for("invite-reason").await;
    let why = reason.text_content(&wd).await;
    assert!(why.contains("\"ada@\" is not an email address"), "{why}");
    wd.set_value("field-lead-email", lead).await;
    scroll_into_view(&wd, "booking").await;
    wd.find("field-meet").await.click(&wd).await;
    wd.find("field-invite").await.click(&wd).await;
    let notice = wd
        .poll("the invitation notice", || async {
            let element = wd.try_find("invitation-notice").await?;
            let text = element.text_content(&wd).await;
            text.contains("Google will email").then_some(text)
        })
        .await;
    assert!(
        notice.contains(&format!(
            "Google will email {lead} an invitation from {email}."
        )),
        "{notice}"
    );
    assert!(
        emulator.mail_outbox().is_empty(),
        "nothing is sent before saving"
    );
    wd.screenshot(&screenshot_path("booking-invitation-notice.png"))
        .await;
    // The user consents to one email: the invitation.
    emulator.expect_mail(gcal_emulator::MailKind::Invitation, &[lead]);
    wd.find("save-appointment").await.click(&wd).await;
    wd.poll("the dialog to close", || async {
        wd.try_find("appointment-dialog")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Google has the event with a Meet link and the lead as a guest; one email went out.
    let events_url = format!("{}/calendar/v3/calendars/{email}/events", google.base);
    let deadline = Instant::now() + Duration::from_secs(120);
    let event = loop {
        let listed: Value = google
            .http
            .get(&events_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("events.list")
            .json()
            .await
            .expect("events.list is JSON");
        let found = listed["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|e| e["summary"] == "Demo call" && e["hangoutLink"].is_string())
                .cloned()
        });
        if let Some(event) = found {
            break event;
        }
        assert!(
            Instant::now() < deadline,
            "the event never reached Google with a Meet link: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let link = event["hangoutLink"].as_str().expect("a link").to_owned();
    assert!(link.starts_with("https://meet.google.com/"), "{event}");
    assert_eq!(event["attendees"][0]["email"], lead, "{event}");
    let event_id = event["id"].as_str().expect("an event id").to_owned();
    let outbox = emulator.mail_outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(
        outbox[0].kind,
        gcal_emulator::MailKind::Invitation,
        "{outbox:?}"
    );
    assert_eq!(outbox[0].recipients, vec![lead.to_owned()], "{outbox:?}");

    // The list shows the link (Join and Copy) and that the lead is invited.
    wd.poll(
        "the Meet link and the invited badge in the list",
        || async {
            let row = wd.try_find("appointment-row").await?;
            let text = row.text_content(&wd).await;
            let meet = wd.try_find("meet-link").await?;
            let shown = meet.attribute(&wd, "data-link").await;
            (shown.as_deref() == Some(link.as_str())
                && text.contains("Invited")
                && wd.try_find("meet-join").await.is_some()
                && wd.try_find("meet-copy").await.is_some())
            .then_some(())
        },
    )
    .await;

    // The lead declines in Google: the row is raised, and the desktop is told.
    emulator
        .respond(email, &event_id, lead, "declined")
        .expect("the guest answers");
    wd.poll("the declined row", || async {
        let row = wd.try_find("appointment-row").await?;
        let answer = row.attribute(&wd, "data-response").await;
        let class = row.attribute(&wd, "class").await.unwrap_or_default();
        let badge = wd.try_find("row-response").await?.text_content(&wd).await;
        (answer.as_deref() == Some("declined")
            && class.contains("is-declined")
            && badge == "Declined")
            .then_some(())
    })
    .await;
    wd.screenshot(&screenshot_path("booking-declined.png"))
        .await;
    let sent = wait_until_long("the decline notification on D-Bus", || {
        let text = notifications.text();
        text.contains("declined Demo call").then_some(text)
    });
    assert!(sent.contains("A lead declined"), "{sent}");

    // An edit of the invited appointment asks first; "No" emails nobody.
    wd.find("row-edit").await.click(&wd).await;
    wd.wait_for("appointment-dialog").await;
    wd.set_value("field-end-time", "15:30").await;
    wd.find("save-appointment").await.click(&wd).await;
    let question = wd.wait_for("notify-dialog").await;
    let asked = question.text_content(&wd).await;
    assert!(
        asked.contains("Notify the lead about this change?")
            && asked.contains(&format!("Google will email {lead} the change.")),
        "{asked}"
    );
    wd.find("notify-no").await.click(&wd).await;
    wd.poll("the dialogs to close", || async {
        (wd.try_find("notify-dialog").await.is_none()
            && wd.try_find("appointment-dialog").await.is_none())
        .then_some(())
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let event: Value = google
            .http
            .get(format!("{events_url}/{event_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("events.get")
            .json()
            .await
            .expect("events.get is JSON");
        if event["end"]["dateTime"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            == Some(
                format!("{day}T15:30:00Z")
                    .parse::<chrono::DateTime<chrono::FixedOffset>>()
                    .expect("an end"),
            )
        {
            assert_eq!(
                event["attendees"][0]["email"], lead,
                "the guest stays: {event}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edit never reached Google: {event}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        emulator.mail_outbox().len(),
        1,
        "the unnotified edit emailed nobody: {:?}",
        emulator.mail_outbox()
    );

    wd.close().await;
    emulator.shutdown().await;
}

/// Bad input from Google (#17): conference creation fails
/// (`conferenceData.createRequest.status` failure). The appointment is saved and in
/// Google, the list and the dialog say why there is no Meet link and that Bookline asks
/// again; once Google creates conferences again, the link appears with Join and Copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `make test`"]
async fn a_meet_link_google_refuses_is_explained_and_retried() {
    let email = "meet-fail-e2e@example.com";
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions::default()).await;
    let google = Google::new(emulator.base_url());
    let account = google.control("accounts", json!({ "email": email })).await;
    let token = account["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;
    google
        .control("faults", json!({ "conference": "failure" }))
        .await;

    let mut env = google_env(&google.base);
    env.push(("BOOKLINE_POLL_INTERVAL_MS", "1000".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let driver = TauriDriver::start_with_env(&env);
    let wd = WebDriver::session(&driver, data.path()).await;

    let add = wd.wait_for("add-appointment").await;
    wd.poll("the Add dialog", || async {
        if wd.try_find("appointment-dialog").await.is_some() {
            return Some(());
        }
        add.click(&wd).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        None
    })
    .await;
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(3);
    wd.find("field-title").await.type_text(&wd, "Kickoff").await;
    wd.set_value("field-timezone", "UTC").await;
    wd.set_value("field-start-date", &day.to_string()).await;
    wd.set_value("field-start-time", "09:00").await;
    wd.set_value("field-end-date", &day.to_string()).await;
    wd.set_value("field-end-time", "09:30").await;
    scroll_into_view(&wd, "booking").await;
    wd.find("field-meet").await.click(&wd).await;
    wd.find("save-appointment").await.click(&wd).await;
    wd.poll("the dialog to close", || async {
        wd.try_find("appointment-dialog")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Saved and synced, without a link: the row says so, its tooltip says why.
    let why = wd
        .poll("the failed Meet link in the list", || async {
            let state = wd.try_find("row-meet-state").await?;
            let text = state.text_content(&wd).await;
            let title = state.attribute(&wd, "title").await.unwrap_or_default();
            (text == "Meet: failed, retrying").then_some(title)
        })
        .await;
    assert!(
        why.contains("Google couldn't create the Meet link"),
        "{why}"
    );
    let row = wd.find("row-sync").await;
    assert_eq!(
        row.text_content(&wd).await,
        "Synced",
        "the appointment itself is in Google"
    );

    // The dialog says it in full.
    wd.find("row-edit").await.click(&wd).await;
    wd.wait_for("appointment-dialog").await;
    let state = wd.wait_for("meet-state").await.text_content(&wd).await;
    assert!(
        state.contains(
            "Google couldn't create the Meet link; Bookline will ask again on the next sync."
        ),
        "{state}"
    );
    scroll_into_view(&wd, "booking").await;
    wd.screenshot(&screenshot_path("booking-meet-failed.png"))
        .await;
    wd.find("dialog-close").await.click(&wd).await;

    // Google creates conferences again: the next pass asks again (a new requestId) and
    // Google's event gets the link.
    google
        .control("faults", json!({ "conference": "success" }))
        .await;
    let events_url = format!("{}/calendar/v3/calendars/{email}/events", google.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    let in_google = loop {
        let listed: Value = google
            .http
            .get(&events_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("events.list")
            .json()
            .await
            .expect("events.list is JSON");
        let link = listed["items"].as_array().and_then(|items| {
            items
                .iter()
                .find_map(|e| e["hangoutLink"].as_str().map(str::to_owned))
        });
        if let Some(link) = link {
            break link;
        }
        assert!(
            Instant::now() < deadline,
            "the Meet link was never asked for again: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The list shows it by itself.
    let link = wd
        .poll("the Meet link after the retry", || async {
            let meet = wd.try_find("meet-link").await?;
            wd.try_find("meet-join").await?;
            meet.attribute(&wd, "data-link").await
        })
        .await;
    assert_eq!(link, in_google);
    assert!(wd.try_find("row-meet-state").await.is_none());

    wd.close().await;
    emulator.shutdown().await;
}

/// What an input holds now (its `value` property; the attribute keeps the first value).
async fn input_value(wd: &WebDriver, test_id: &str) -> String {
    let element = wd.find(test_id).await;
    wd.call(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({"script": "return arguments[0].value;", "args": [{ELEMENT_KEY: element.0}]})),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Scrolls a part of a long dialog into view before a screenshot.
async fn scroll_into_view(wd: &WebDriver, test_id: &str) {
    let element = wd.find(test_id).await;
    wd.call(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({
            "script": "arguments[0].scrollIntoView({block: 'center'}); return true;",
            "args": [{ELEMENT_KEY: element.0}],
        })),
    )
    .await;
}

/// Single instance: a second start with the same data dir hands over to the running app
/// (which shows its window) and exits, without opening a window of its own.
#[test]
#[ignore = "needs a display and a D-Bus session: run by `make test`"]
fn a_second_start_hands_over_to_the_running_app() {
    let data = tempfile::tempdir().expect("temp dir");
    let home = tempfile::tempdir().expect("temp dir");
    let start = || {
        Command::new(app_binary())
            .arg("--data-dir")
            .arg(data.path())
            .env_remove("BOOKLINE_DATA_DIR")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bookline starts")
    };
    let mut first = KillOnDrop(start());
    wait_until("the first window to load", || {
        (window_loads(data.path()) == 1).then_some(())
    });

    let mut second = KillOnDrop(start());
    let status = wait_until("the second start to exit", || {
        second.0.try_wait().expect("second start waitable")
    });
    assert!(status.success(), "the second start failed: {status}");
    assert!(
        first.0.try_wait().expect("first start waitable").is_none(),
        "the first instance went away"
    );
    assert_eq!(
        window_loads(data.path()),
        1,
        "the second start opened a window of its own"
    );
}

/// Stops a started app at the end of a test, passed or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How many times the app's log says a window finished loading.
fn window_loads(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("logs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .map(|text| text.matches("window loaded after").count())
                .sum()
        })
        .unwrap_or(0)
}

fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The app under test: cargo's build of it, or `BOOKLINE_E2E_APP` — a copy taken right
/// after the build, for runs where a target dir shared with other checkouts may be
/// rebuilt from another branch while the tests run.
fn app_binary() -> PathBuf {
    std::env::var_os("BOOKLINE_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bookline")))
}

fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("e2e")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// tauri-driver on free ports; stopped (with its WebKitWebDriver) when dropped.
struct TauriDriver {
    child: Child,
    url: String,
    /// The app's HOME: its window state and login item (~/.config) stay out of the real one.
    home: tempfile::TempDir,
}

impl TauriDriver {
    fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// tauri-driver passes its environment down through WebKitWebDriver to the app.
    fn start_with_env(env: &[(&str, &str)]) -> Self {
        assert!(
            std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
            "the end-to-end tests need a display: run them under xvfb-run (make test does)"
        );
        let port = free_port();
        let native_port = free_port();
        let home = tempfile::tempdir().expect("temp dir");
        let child = Command::new("tauri-driver")
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("tauri-driver is installed (cargo install tauri-driver --locked)");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            home,
        }
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: tauri-driver stops WebKitWebDriver on a signal it can catch.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The few W3C WebDriver calls the tests need, over plain HTTP + JSON.
struct WebDriver {
    http: reqwest::Client,
    session: String,
    /// The app's data dir: unique per test, so it names the app's process exactly.
    data_dir: PathBuf,
}

impl Drop for WebDriver {
    /// Closing the window leaves Bookline in the tray, so the app outlives its WebDriver
    /// session; stop it, or it keeps the test run's output pipe open.
    fn drop(&mut self) {
        stop_apps_using(&self.data_dir);
    }
}

/// Ends every Bookline process started with `--data-dir <data_dir>` (SIGTERM, then
/// SIGKILL after 3 s).
fn stop_apps_using(data_dir: &Path) {
    let marker = {
        let mut m = b"--data-dir\0".to_vec();
        m.extend_from_slice(data_dir.as_os_str().as_encoded_bytes());
        m.push(0);
        m
    };
    let pids = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let pid = e.file_name().to_string_lossy().into_owned();
                pid.chars().all(|c| c.is_ascii_digit()).then_some(pid)
            })
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|cmd| cmd.windows(marker.len()).any(|w| w == marker.as_slice()))
                    .unwrap_or(false)
            })
            .collect()
    };
    for signal in ["-TERM", "-KILL"] {
        let running = pids();
        if running.is_empty() {
            return;
        }
        let _ = Command::new("kill").arg(signal).args(&running).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && !pids().is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[derive(Clone)]
struct Element(String);

impl WebDriver {
    async fn session(driver: &TauriDriver, data_dir: &Path) -> Self {
        // No WebDriver call takes a minute; without a timeout a window that never
        // appears would hang the test instead of failing it.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let app = app_binary();
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": app,
            "args": ["--data-dir", data_dir],
        }}}});
        // tauri-driver needs a moment to listen; the first window takes a few seconds.
        let deadline = Instant::now() + WAIT;
        let session = loop {
            match http
                .post(format!("{}/session", driver.url))
                .json(&caps)
                .send()
                .await
            {
                Ok(response) => {
                    let body: Value = response.json().await.expect("session answer is JSON");
                    match body["value"]["sessionId"].as_str() {
                        Some(id) => break id.to_owned(),
                        None => panic!("no WebDriver session: {body}"),
                    }
                }
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("tauri-driver did not answer: {error}"),
            }
        };
        Self {
            http,
            session: format!("{}/session/{session}", driver.url),
            data_dir: data_dir.to_path_buf(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return json!({"error": body["value"]["error"], "message": body["value"]["message"], "status": status.as_u16()});
        }
        body["value"].clone()
    }

    async fn try_find(&self, test_id: &str) -> Option<Element> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": selector(test_id)})),
            )
            .await;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    async fn find(&self, test_id: &str) -> Element {
        self.try_find(test_id)
            .await
            .unwrap_or_else(|| panic!("no element [data-testid={test_id}]"))
    }

    async fn find_all(&self, test_id: &str) -> Vec<Element> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": selector(test_id)})),
            )
            .await;
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn wait_for(&self, test_id: &str) -> Element {
        self.poll(&format!("[data-testid={test_id}]"), || {
            self.try_find(test_id)
        })
        .await
    }

    async fn poll<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if Instant::now() > deadline {
                let shot = screenshot_path("timeout.png");
                self.screenshot(&shot).await;
                panic!(
                    "gave up waiting for {what}; screen saved to {}",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Date and time pickers take no keystrokes portably: set the value as the page's
    /// own code would see it and fire the events Svelte's bindings listen to.
    async fn set_value(&self, test_id: &str, value: &str) {
        let element = self.find(test_id).await;
        let script = "const [el, v] = arguments; \
            el.value = v; \
            el.dispatchEvent(new Event('input', {bubbles: true})); \
            el.dispatchEvent(new Event('change', {bubbles: true})); \
            return el.value;";
        let result = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": script, "args": [{ELEMENT_KEY: element.0}, value]})),
            )
            .await;
        assert_eq!(result, json!(value), "setting {test_id}");
    }

    /// A file chooser is the desktop's dialog, out of WebDriver's reach: hand the file
    /// input the chosen file as the dialog would (a `File` with `content`) and fire the
    /// `change` the page listens to.
    async fn choose_file(&self, test_id: &str, name: &str, content: &str) {
        let element = self.find(test_id).await;
        let script = "const [el, name, text] = arguments; \
            const files = new DataTransfer(); \
            files.items.add(new File([text], name, {type: 'application/json'})); \
            el.files = files.files; \
            const chosen = el.files.length; \
            el.dispatchEvent(new Event('change', {bubbles: true})); \
            return chosen;";
        let result = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": script, "args": [{ELEMENT_KEY: element.0}, name, content]})),
            )
            .await;
        assert_eq!(result, json!(1), "choosing {name} in {test_id}: {result}");
    }

    async fn screenshot(&self, path: &Path) {
        // The DOM can be ahead of the screen: let WebKit paint two frames first.
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1]; \
                    requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                "args": [],
            })),
        )
        .await;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("the screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
        // `self` drops here, which stops the app hidden in the tray.
    }
}

impl Element {
    async fn click(&self, wd: &WebDriver) {
        let result = wd
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/click", self.0),
                Some(json!({})),
            )
            .await;
        assert!(result.get("error").is_none(), "click failed: {result}");
    }

    async fn type_text(&self, wd: &WebDriver, text: &str) {
        let result = wd
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/value", self.0),
                Some(json!({"text": text})),
            )
            .await;
        assert!(result.get("error").is_none(), "typing failed: {result}");
    }

    async fn text(&self, wd: &WebDriver) -> String {
        wd.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", self.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The DOM text, including cells WebDriver's "rendered text" skips (WebKit leaves out
    /// text it considers clipped, such as ellipsized table cells).
    async fn text_content(&self, wd: &WebDriver) -> String {
        wd.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "return arguments[0].textContent;",
                "args": [{ELEMENT_KEY: self.0}],
            })),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn attribute(&self, wd: &WebDriver, name: &str) -> Option<String> {
        wd.call(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", self.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }
}

fn selector(test_id: &str) -> String {
    format!("[data-testid=\"{test_id}\"]")
}

// ---------------------------------------------------------------------------------------
// The tray, closing to it, Pause/Resume, reconnect notifications, Quit — the real app on
// a minimal desktop (scripts/desktop-session.sh: openbox, xfce4-panel's system tray,
// notification-daemon) and a session bus, as `make test` provides. The app is driven the
// way a user drives it: the window manager closes the window, and the tray host's own
// D-Bus calls (com.canonical.dbusmenu `Event`, what xfce4-panel sends when a menu item is
// clicked) press the menu items. WebDriver is not used: closing its window ends its session.
// ---------------------------------------------------------------------------------------

/// How the tray tests wait for the app to reach a state: long, for a loaded 2-core machine.
const TRAY_WAIT: Duration = Duration::from_secs(60);
/// The shortened poll clock of the tray tests (`BOOKLINE_POLL_INTERVAL_MS`).
const TEST_POLL: Duration = Duration::from_millis(1000);

/// Close to the tray, keep syncing, second start, Pause/Resume, one list request per poll,
/// revoked grant → needs attention + a notification on D-Bus, Quit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus with a tray host, a window manager and a Secret Service: run by `make test`"]
async fn the_app_lives_in_the_tray() {
    let email = "tray-e2e@example.com";
    let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions::default()).await;
    let google = Google::new(emulator.base_url());
    // Created first, so automatic consent signs in as this account.
    google.control("accounts", json!({ "email": email })).await;
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;

    let app = TrayApp::start(data.path(), &google.base, &[]);
    let tray = wait_until_long("the tray item", || TrayItem::of(app.pid()));
    wait_until_long("the first window", || app.window());
    wait_until_long("the first sync pass", || (app.passes() >= 1).then_some(()));
    // Between two polls (a pass shows the syncing image while it runs).
    wait_until_long("the synced icon", || {
        (tray.icon_state().as_deref() == Some("synced")).then_some(())
    });
    assert!(
        tray.status_line().starts_with("Last synced"),
        "{}",
        tray.status_line()
    );

    // Closed the way a user closes it: the window manager asks the window to close.
    let window = app.window().expect("a window");
    wm_close(&window);
    wait_until_long("the window to hide", || {
        app.window().is_none().then_some(())
    });
    assert!(app.is_running(), "closing the window ended the app");

    // A change made in Google meanwhile reaches SQLite.
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let event = google
        .control(
            &format!("events/{email}"),
            json!({
                "summary": "Booked while in the tray",
                "start": {"dateTime": start.to_rfc3339()},
                "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
            }),
        )
        .await;
    let db = rusqlite::Connection::open_with_flags(
        data.path().join("bookline.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file opens");
    wait_until_long("the Google event in SQLite", || {
        db.query_row(
            "SELECT COUNT(*) FROM appointments WHERE title = 'Booked while in the tray' AND origin = 'google'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .filter(|n| *n == 1)
    });
    assert!(app.is_running(), "the app went away while hidden");
    let _ = event;

    // A second start hands over: it exits, and the first one's window shows again.
    let mut second = KillOnDrop(app.command().spawn().expect("a second start"));
    let status = wait_until_long("the second start to exit", || {
        second.0.try_wait().expect("second start waitable")
    });
    assert!(status.success(), "the second start failed: {status}");
    wait_until_long("the first window to show again", || app.window());
    assert!(app.is_running());

    // Pause from the tray menu: nothing reaches Google for three poll intervals.
    tray.click("Pause sync");
    wait_until_long("the menu to offer Resume", || {
        tray.labels()
            .contains(&"Resume sync".to_owned())
            .then_some(())
    });
    wait_until_long("the paused icon", || {
        (tray.icon_state().as_deref() == Some("paused")).then_some(())
    });
    // Paused is acknowledged only between passes: nothing is in flight from here on.
    google.reset_stats().await;
    tokio::time::sleep(TEST_POLL * 3 + Duration::from_millis(500)).await;
    let stats = google.stats().await;
    assert_eq!(stats["total"], 0, "requests while paused: {stats}");
    // The log is written by a background thread: let it catch up before counting.
    let passes = settled(|| app.passes());

    // Resume: polling again, at once and then every interval — one events.list per poll
    // for the one synced calendar, and nothing else while idle.
    tray.click("Resume sync");
    wait_until_long("five more passes", || {
        (app.passes() >= passes + 5).then_some(())
    });
    tray.click("Pause sync");
    wait_until_long("the menu to offer Resume", || {
        tray.labels()
            .contains(&"Resume sync".to_owned())
            .then_some(())
    });
    let polls = settled(|| app.passes()) - passes;
    let stats = google.stats().await;
    assert_eq!(
        stats["by_route"],
        json!({ "events.list": polls }),
        "{polls} idle polls of 1 calendar: {stats}"
    );
    tray.click("Resume sync");
    wait_until_long("the menu to offer Pause", || {
        tray.labels()
            .contains(&"Pause sync".to_owned())
            .then_some(())
    });

    // Google revokes the grant: needs attention in the tray, and one notification.
    let notifications = NotificationMonitor::start();
    google
        .control("faults", json!({ "revoke_grants_for": [email] }))
        .await;
    google
        .control("tokens", json!({ "expire_now": true, "email": email }))
        .await;
    wait_until_long("the tray to ask for a reconnect", || {
        (tray.status_line() == "Reconnect Google to keep syncing").then_some(())
    });
    wait_until_long("the attention icon", || {
        (tray.icon_state().as_deref() == Some("attention")).then_some(())
    });
    let sent = wait_until_long("the notification on D-Bus", || {
        let text = notifications.text();
        text.contains("Bookline needs you to reconnect Google")
            .then_some(text)
    });
    assert!(sent.contains("member=Notify"), "not a Notify call: {sent}");

    // Quit from the tray: the app stops its sync loop and exits by itself.
    tray.click("Quit");
    let status = wait_until_long("the app to exit after Quit", || app.exited());
    assert!(status.success(), "Quit ended with {status}");
    assert!(
        app.log().contains("quitting: sync stopped"),
        "the sync loop was not stopped before exiting"
    );
    // The window was open at Quit: its process ended by itself once its stdin closed.
    assert!(
        !app.log().contains("did not end by itself"),
        "the window process had to be killed at Quit"
    );
    emulator.shutdown().await;
}

/// Closing the window frees it (issue 19): the webview's WebKit processes end, the app
/// stays in the tray and keeps syncing (a Google change reaches SQLite), and the window
/// built again — from the tray menu, then by a second start — lists it. Each close frees
/// WebKit again. The list's content is read from the app's log line for the first list
/// paint (its count), not through WebDriver: a WebDriver session belongs to the window it
/// started with and ends when that window is destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus with a tray host, a window manager and a Secret Service: run by `make test`"]
async fn closing_the_window_frees_webkit_and_reopening_shows_what_synced() {
    let email = "tray-free@example.com";
    let emulator = gcal_emulator::Emulator::start(gcal_emulator::EmulatorOptions::default())
        .await
        .expect("the emulator starts");
    let google = Google::new(emulator.base_url());
    google.control("accounts", json!({ "email": email })).await;
    google.control("consent", json!({ "auto": "allow" })).await;
    let data = tempfile::tempdir().expect("temp dir");
    connect_through_cli(data.path(), &google).await;

    let app = TrayApp::start(data.path(), &google.base, &[]);
    let tray = wait_until_long("the tray item", || TrayItem::of(app.pid()));
    wait_until_long("the first list paint", || {
        (lists_shown(&app.log()) == [0]).then_some(())
    });
    let first_webkit = webkit_pids(app.pid());
    assert!(
        !first_webkit.is_empty(),
        "no WebKit process under the app while its window is open: {:?}",
        process_tree(app.pid())
    );
    // The window is a process of its own: the app's own process never loads the GL stack
    // a webview brings (Mesa's EGL driver, which links LLVM) and keeps for good.
    assert!(
        !maps_gl_stack(app.pid()),
        "the tray process loaded the webview's GL stack"
    );

    // The user gives the window a size of their own; it comes back with the window.
    let window = app.window().expect("a window");
    resize(&window, 900, 620);
    wait_until_long("the new size", || {
        (window_size(&window) == Some((900, 620))).then_some(())
    });
    wm_close(&window);
    wait_until_long("the window to go", || app.window().is_none().then_some(()));
    wait_until_long("the WebKit processes to end", || {
        (webkit_processes(app.pid()).is_empty() && all_ended(&first_webkit)).then_some(())
    });
    assert!(app.is_running(), "closing the window ended the app");
    // Logged once the window process has ended (its last WebKit process may end first).
    wait_until_long("the window process to end", || {
        app.log().contains("window closed and freed").then_some(())
    });

    // Sync goes on without a window: a change made in Google reaches SQLite.
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    google
        .control(
            &format!("events/{email}"),
            json!({
                "summary": "Booked while the window was freed",
                "start": {"dateTime": start.to_rfc3339()},
                "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
            }),
        )
        .await;
    let db = rusqlite::Connection::open_with_flags(
        data.path().join("bookline.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file opens");
    wait_until_long("the Google event in SQLite", || {
        db.query_row(
            "SELECT COUNT(*) FROM appointments WHERE title = 'Booked while the window was freed' AND origin = 'google'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .filter(|n| *n == 1)
    });

    // Open Bookline in the tray builds the window again; its list holds the new event.
    tray.click("Open Bookline");
    let window = wait_until_long("the window built again", || app.window());
    wait_until_long("the reopened list", || {
        (lists_shown(&app.log()) == [0, 1]).then_some(())
    });
    assert_eq!(
        window_size(&window),
        Some((900, 620)),
        "the window came back at another size"
    );
    let second_webkit = webkit_pids(app.pid());
    assert!(!second_webkit.is_empty());

    // Again, reopened by a second start this time (it hands over and exits).
    wm_close(&app.window().expect("a window"));
    wait_until_long("the WebKit processes to end again", || {
        (webkit_processes(app.pid()).is_empty() && all_ended(&second_webkit)).then_some(())
    });
    let mut second = KillOnDrop(app.command().spawn().expect("a second start"));
    let status = wait_until_long("the second start to exit", || {
        second.0.try_wait().expect("second start waitable")
    });
    assert!(status.success(), "the second start failed: {status}");
    wait_until_long("the window built by the second start", || app.window());
    wait_until_long("the list again", || {
        (lists_shown(&app.log()) == [0, 1, 1]).then_some(())
    });
    let third_webkit = webkit_pids(app.pid());
    wm_close(&app.window().expect("a window"));
    wait_until_long("the WebKit processes to end a third time", || {
        (webkit_processes(app.pid()).is_empty() && all_ended(&third_webkit)).then_some(())
    });
    assert!(
        !maps_gl_stack(app.pid()),
        "the tray process loaded the webview's GL stack"
    );

    tray.click("Quit");
    let status = wait_until_long("the app to exit after Quit", || app.exited());
    assert!(status.success(), "Quit ended with {status}");
    emulator.shutdown().await;
}

/// Resizes a window the way a user's drag does (through the window manager).
fn resize(window: &str, width: u32, height: u32) {
    let status = Command::new("wmctrl")
        .args([
            "-i",
            "-r",
            window,
            "-e",
            &format!("0,-1,-1,{width},{height}"),
        ])
        .status()
        .expect("wmctrl runs");
    assert!(status.success(), "wmctrl -e on {window}: {status}");
}

/// A window's size as the window manager reports it (`wmctrl -l -G`).
fn window_size(window: &str) -> Option<(u32, u32)> {
    let out = Command::new("wmctrl").args(["-l", "-G"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = u64::from_str_radix(fields.first()?.trim_start_matches("0x"), 16).ok()?;
            let wanted = u64::from_str_radix(window.trim_start_matches("0x"), 16).ok()?;
            (id == wanted)
                .then(|| Some((fields.get(4)?.parse().ok()?, fields.get(5)?.parse().ok()?)))?
        })
}

/// The appointment counts of the app's "list shown" log lines, one per window built.
fn lists_shown(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find("list shown after ")?..];
            let open = rest.find('(')?;
            rest[open + 1..].split_whitespace().next()?.parse().ok()
        })
        .collect()
}

/// A process and all its descendants (WebKit's processes may sit under a sandbox).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut next = 0;
    while next < all.len() {
        let parent = all[next];
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.filter_map(Result::ok) {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    all
}

/// The WebKit processes' ids (web, network, GPU) under the app.
fn webkit_pids(pid: u32) -> Vec<u32> {
    process_tree(pid)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|name| name.contains("WebKit"))
        })
        .collect()
}

/// Whether every one of these processes has ended (an orphan would leave the app's tree
/// and still run); a zombie waiting for its reaper has ended.
fn all_ended(pids: &[u32]) -> bool {
    pids.iter().all(|p| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |stat| {
            // The state follows the command name's closing parenthesis.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    })
}

/// Whether the process has the webview's GL stack mapped (Mesa's EGL or GLX driver, or
/// the LLVM it links).
fn maps_gl_stack(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|maps| {
        ["libEGL_mesa", "libGLX_mesa", "libLLVM"]
            .iter()
            .any(|l| maps.contains(l))
    })
}

/// The WebKit processes (web, network, GPU) under the app.
fn webkit_processes(pid: u32) -> Vec<String> {
    process_tree(pid)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.contains("WebKit"))
        .collect()
}

#[test]
fn the_list_shown_lines_give_their_counts() {
    let log = "2026-12-02T21:00:00Z  INFO bookline_app::commands: list shown after 412 ms (0 appointments)\n\
               other line\n\
               2026-12-02T21:01:00Z  INFO bookline_app::commands: list shown after 380 ms (10000 appointments)\n";
    assert_eq!(lists_shown(log), [0, 10000]);
}

/// The window process goes with the app however the app ends — here killed outright, with
/// no clean Quit: its stdin reaches end-of-file and it ends, and WebKit's processes with
/// it. No window lingers without the app behind it (its calls would have nobody to answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus with a tray host, a window manager and a Secret Service: run by `make test`"]
async fn the_window_goes_when_the_app_is_killed() {
    let emulator = gcal_emulator::Emulator::start(gcal_emulator::EmulatorOptions::default())
        .await
        .expect("the emulator starts");
    let google = Google::new(emulator.base_url());
    let data = tempfile::tempdir().expect("temp dir");
    let app = TrayApp::start(data.path(), &google.base, &[]);
    wait_until_long("the first list paint", || {
        (lists_shown(&app.log()) == [0]).then_some(())
    });
    let window = app.window().expect("a window");
    let window_pid: u32 = Command::new("wmctrl")
        .args(["-l", "-p"])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find(|line| line.starts_with(&window))
                .and_then(|line| line.split_whitespace().nth(2)?.parse().ok())
        })
        .expect("the window's process id");
    assert_ne!(
        window_pid,
        app.pid(),
        "the window is in the app's own process"
    );
    let webkit = webkit_pids(app.pid());
    assert!(
        !webkit.is_empty(),
        "no WebKit process while the window is open"
    );

    let killed = Command::new("kill")
        .args(["-KILL", &app.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    wait_until_long("the app to die", || app.exited());
    wait_until_long("the window process and WebKit's to end", || {
        all_ended(&[window_pid]).then_some(())
    });
    wait_until_long("WebKit's processes to end", || {
        all_ended(&webkit).then_some(())
    });
    wait_until_long("the window to go from the screen", || {
        let listed = Command::new("wmctrl").arg("-l").output().ok()?;
        (!String::from_utf8_lossy(&listed.stdout).contains(&window)).then_some(())
    });
    emulator.shutdown().await;
}

/// Quit in the demo saves the built-in emulator's state at once: a Google-side change made
/// just before Quit is in the state file (its own autosave runs only every 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb and a session bus with a tray host: run by `make test`"]
async fn quit_saves_the_demo_emulator() {
    let data = tempfile::tempdir().expect("temp dir");
    let app = TrayApp::start_demo(data.path());
    let tray = wait_until_long("the tray item", || TrayItem::of(app.pid()));
    let url = wait_until_long("the demo emulator's address in the log", || {
        let log = app.log();
        let at = log.find("demo emulator listening url=")?;
        let rest = &log[at + "demo emulator listening url=".len()..];
        Some(rest.split_whitespace().next()?.trim_matches('"').to_owned())
    });
    let google = Google::new(&url);
    // Whatever the first autosave picks up is written by now.
    wait_until_long("the demo state file", || {
        data.path()
            .join("demo-google-state.json")
            .exists()
            .then_some(())
    });
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    google
        .control(
            "events/demo@example.com",
            json!({
                "summary": "Saved by Quit",
                "start": {"dateTime": start.to_rfc3339()},
                "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
            }),
        )
        .await;
    tray.click("Quit");
    let status = wait_until_long("the demo to exit after Quit", || app.exited());
    assert!(status.success(), "Quit ended with {status}");
    let saved = std::fs::read_to_string(data.path().join("demo-google-state.json"))
        .expect("the demo state file");
    assert!(
        saved.contains("Saved by Quit"),
        "the change made before Quit is not in the saved state"
    );
}

/// The emulator's control API and stats, from the test.
struct Google {
    base: String,
    http: reqwest::Client,
}

impl Google {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("/_emulator/{path}: {e}"));
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "/_emulator/{path}: {status} {answer}");
        answer
    }

    async fn reset_stats(&self) {
        self.control("stats/reset", json!({})).await;
    }

    async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_emulator/stats", self.base))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats are JSON")
    }
}

/// `bookline connect --no-browser`, the test playing the browser (automatic consent).
async fn connect_through_cli(data_dir: &Path, google: &Google) {
    // Its output goes to a file: a pipe closed early would break its last println.
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let child = Command::new(app_binary())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["connect", "--no-browser"])
        .env_remove("BOOKLINE_DATA_DIR")
        .envs(google_env(&google.base))
        .stdout(out.reopen().expect("reopen"))
        .stderr(out.reopen().expect("reopen"))
        .spawn()
        .expect("bookline connect starts");
    let mut child = KillOnDrop(child);
    let printed = || std::fs::read_to_string(out.path()).unwrap_or_default();
    let url = wait_until_long("the sign-in URL", || {
        printed()
            .lines()
            .find_map(|line| line.strip_prefix("Open this URL: ").map(str::to_owned))
    });
    let browser = reqwest::get(&url).await.expect("the consent redirect");
    assert!(browser.status().is_success(), "{}", browser.status());
    let status = wait_until_long("connect to finish", || child.0.try_wait().ok().flatten());
    assert!(status.success(), "connect failed: {status}: {}", printed());
}

fn google_env(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BOOKLINE_GOOGLE_BASE_URL", base.to_owned()),
        (
            "BOOKLINE_GOOGLE_CLIENT_ID",
            "bookline-e2e.apps.googleusercontent.com".to_owned(),
        ),
        (
            "BOOKLINE_GOOGLE_CLIENT_SECRET",
            "bookline-e2e-secret".to_owned(),
        ),
    ]
}

/// The app under test, started directly (no WebDriver), killed at the end if still running.
struct TrayApp {
    child: std::sync::Mutex<KillOnDrop>,
    pid: u32,
    data_dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// HOME, XDG_CONFIG_HOME and TMPDIR (the tray icon's image files) of its own.
    _home: tempfile::TempDir,
}

impl TrayApp {
    fn start(data_dir: &Path, google_base: &str, extra: &[&str]) -> Self {
        let env = google_env(google_base)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self::spawn(
            data_dir,
            extra.iter().map(|s| (*s).to_owned()).collect(),
            env,
        )
    }

    fn start_demo(data_dir: &Path) -> Self {
        Self::spawn(data_dir, vec!["demo".to_owned()], Vec::new())
    }

    fn spawn(data_dir: &Path, args: Vec<String>, mut env: Vec<(String, String)>) -> Self {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the tray tests need a display: run them under xvfb-run (make test does)"
        );
        let home = tempfile::tempdir().expect("temp dir");
        let tmp = home.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        env.extend([
            ("HOME".to_owned(), home.path().display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                home.path().join(".config").display().to_string(),
            ),
            ("TMPDIR".to_owned(), tmp.display().to_string()),
            (
                "BOOKLINE_POLL_INTERVAL_MS".to_owned(),
                TEST_POLL.as_millis().to_string(),
            ),
            (
                "BOOKLINE_LOG".to_owned(),
                "info,bookline_core::runtime=debug,tao=warn,wry=warn".to_owned(),
            ),
        ]);
        let mut app = Self {
            child: std::sync::Mutex::new(KillOnDrop(
                Command::new("true").spawn().expect("true runs"),
            )),
            pid: 0,
            data_dir: data_dir.to_path_buf(),
            args,
            env,
            _home: home,
        };
        let child = app.command().spawn().expect("bookline starts");
        app.pid = child.id();
        app.child = std::sync::Mutex::new(KillOnDrop(child));
        app
    }

    /// The same start again (a second instance).
    fn command(&self) -> Command {
        let mut command = Command::new(app_binary());
        command
            .args(&self.args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("BOOKLINE_DATA_DIR")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .try_wait()
            .expect("the app is waitable")
    }

    fn is_running(&self) -> bool {
        self.exited().is_none()
    }

    fn log(&self) -> String {
        std::fs::read_dir(self.data_dir.join("logs"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sync passes the loop has run (its debug line per pass).
    fn passes(&self) -> usize {
        self.log().matches("sync pass").count()
    }

    /// The app's window, while the window manager shows it (a hidden window is unmapped
    /// and leaves the window manager's client list): its process is the app's window
    /// process, a child of the app.
    fn window(&self) -> Option<String> {
        let out = Command::new("wmctrl").args(["-l", "-p"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                let id = fields.next()?;
                let _desktop = fields.next()?;
                let pid: u32 = fields.next()?.parse().ok()?;
                (line.contains("Bookline") && process_tree(self.pid).contains(&pid))
                    .then(|| id.to_owned())
            })
    }
}

/// The window manager's close (`_NET_CLOSE_WINDOW`, which it turns into WM_DELETE_WINDOW),
/// as the title bar's close button does.
fn wm_close(window: &str) {
    let status = Command::new("wmctrl")
        .args(["-i", "-c", window])
        .status()
        .expect("wmctrl runs (scripts/setup.sh installs it)");
    assert!(status.success(), "wmctrl -c {window}: {status}");
}

/// `busctl --user --json=short ARGS` on the test's session bus: the answer, if any (a
/// method without a reply answers `Null`); `None` when the call failed.
fn busctl(args: &[&str]) -> Option<Value> {
    let out = Command::new("busctl")
        .args(["--user", "--json=short", "--"])
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Null);
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The app's StatusNotifierItem as the tray host sees it, and its D-Bus menu.
struct TrayItem {
    service: String,
    path: String,
    menu: String,
}

impl TrayItem {
    /// The item that process `pid` registered with the tray host, once it has.
    fn of(pid: u32) -> Option<TrayItem> {
        let items = busctl(&[
            "get-property",
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ])?;
        items["data"].as_array()?.iter().find_map(|item| {
            let (service, path) = item.as_str()?.split_once('/')?;
            let owner = busctl(&[
                "call",
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "GetConnectionUnixProcessID",
                "s",
                service,
            ])?;
            if owner["data"][0].as_u64() != Some(u64::from(pid)) {
                return None;
            }
            let path = format!("/{path}");
            let menu = busctl(&[
                "get-property",
                service,
                &path,
                "org.kde.StatusNotifierItem",
                "Menu",
            ])?;
            Some(TrayItem {
                service: service.to_owned(),
                path,
                menu: menu["data"].as_str()?.to_owned(),
            })
        })
    }

    /// The menu's items: (id, label, enabled).
    fn items(&self) -> Vec<(i64, String, bool)> {
        let Some(layout) = busctl(&[
            "call",
            &self.service,
            &self.menu,
            "com.canonical.dbusmenu",
            "GetLayout",
            "iias",
            "0",
            "-1",
            "0",
        ]) else {
            return Vec::new();
        };
        layout["data"][1][2]
            .as_array()
            .map(|children| {
                children
                    .iter()
                    .filter_map(|child| {
                        let node = &child["data"];
                        let label = node[1]["label"]["data"].as_str()?.to_owned();
                        let enabled = node[1]["enabled"]["data"].as_bool().unwrap_or(true);
                        Some((node[0].as_i64()?, label, enabled))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn labels(&self) -> Vec<String> {
        self.items()
            .into_iter()
            .map(|(_, label, _)| label)
            .collect()
    }

    /// The disabled line that says when it last synced, or what is wrong.
    fn status_line(&self) -> String {
        self.items()
            .into_iter()
            .find(|(_, _, enabled)| !enabled)
            .map(|(_, label, _)| label)
            .unwrap_or_default()
    }

    /// What the tray host is told to click when the user picks `label`.
    fn click(&self, label: &str) {
        let id = wait_until_long(&format!("the menu item {label:?}"), || {
            self.items()
                .into_iter()
                .find(|(_, l, _)| l == label)
                .map(|(id, _, _)| id)
        });
        let id = id.to_string();
        let answer = busctl(&[
            "call",
            &self.service,
            &self.menu,
            "com.canonical.dbusmenu",
            "Event",
            "isvu",
            &id,
            "clicked",
            "s",
            "",
            "0",
        ]);
        assert!(answer.is_some(), "clicking {label:?} failed");
    }

    /// Which of the app's tray images the host is showing: the item's icon file compared
    /// pixel by pixel (ImageMagick) with icons/tray-*.png.
    fn icon_state(&self) -> Option<String> {
        let icon = busctl(&[
            "get-property",
            &self.service,
            &self.path,
            "org.kde.StatusNotifierItem",
            "IconName",
        ])?;
        let shown = icon["data"].as_str()?.to_owned();
        ["synced", "syncing", "paused", "attention"]
            .into_iter()
            .find(|state| {
                let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("icons")
                    .join(format!("tray-{state}.png"));
                Command::new("compare")
                    .args(["-metric", "AE"])
                    .arg(&shown)
                    .arg(&reference)
                    .arg("null:")
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .map(str::to_owned)
    }
}

/// `dbus-monitor` on the session bus, watching for Notify calls to the notification
/// daemon (what tauri-plugin-notification sends on Linux).
struct NotificationMonitor {
    child: KillOnDrop,
    out: tempfile::NamedTempFile,
}

impl NotificationMonitor {
    fn start() -> Self {
        let out = tempfile::NamedTempFile::new().expect("temp file");
        let child = Command::new("dbus-monitor")
            .arg("--session")
            .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(out.reopen().expect("reopen"))
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor runs");
        let monitor = Self {
            child: KillOnDrop(child),
            out,
        };
        // It prints NameLost once it has become a monitor; calls before that are missed.
        wait_until_long("dbus-monitor to listen", || {
            monitor.text().contains("NameLost").then_some(())
        });
        monitor
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.out.path()).unwrap_or_default()
    }
}

impl Drop for NotificationMonitor {
    fn drop(&mut self) {
        let _ = self.child.0.kill();
    }
}

/// A count that has stopped changing (read twice, half a second apart, the same).
fn settled(mut count: impl FnMut() -> usize) -> usize {
    let mut last = count();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = count();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn wait_until_long<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TRAY_WAIT;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
