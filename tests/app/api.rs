//! The application API (`bookline_core::App`) as every front uses it: one rule, one
//! sentence, whether the window's command or the command line asks; one pass at a time
//! per data dir across processes; the demo wired by the app crate.
//!
//! The window's IPC commands are one-line delegations to `App` (src-tauri/src/commands.rs),
//! so calling `App` here is calling what the window calls; the CLI is run as the built
//! binary. Tests that sign in need the real Secret Service (`make test` runs them inside
//! dbus-run-session with gnome-keyring) and skip without a session bus.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;

use bookline_app::demo::google::{
    run_headless_demo, DemoConsent, DemoEnvironment, EMULATOR_STATE_FILE,
};
use bookline_core::app::{App, AppOptions};
use bookline_core::error::ErrorCode;
use bookline_core::oauth::OAuthClientConfig;
use bookline_core::secrets::{MemorySecretStore, SecretStore};
use bookline_core::sync::settings;
use serde_json::{json, Value};

use crate::harness::{connect_playing_the_browser, emulator_with_account, Bookline};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn no_session_bus() -> bool {
    crate::no_secret_service()
}

/// The `App` the window would open on the CLI test's data dir: the same emulator and
/// OAuth client, the real keyring the CLI's `connect` filled.
async fn window_app(app: &Bookline) -> App {
    App::open(AppOptions {
        google_base_url: Some(app.base_url.clone()),
        oauth_client: Some(OAuthClientConfig::new(
            "cli-test.apps.googleusercontent.com",
            "cli-test-secret",
        )),
        holder: "the Bookline window".to_owned(),
        ..AppOptions::new(app.dir.clone())
    })
    .await
    .expect("the app opens")
}

/// The calendar of the account that only lets it read.
fn read_only_calendar(rt: &tokio::runtime::Runtime, base_url: &str, email: &str) -> String {
    let accounts: Value = rt.block_on(async {
        reqwest::get(format!("{base_url}/_emulator/accounts"))
            .await
            .expect("accounts")
            .json()
            .await
            .expect("JSON")
    });
    accounts["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["email"] == email)
        .and_then(|a| a["calendars"].as_array())
        .and_then(|cals| cals.iter().find(|c| c["accessRole"] == "reader"))
        .and_then(|c| c["id"].as_str())
        .expect("a read-only calendar")
        .to_owned()
}

/// Calendar Sync Settings → a read-only calendar with the direction both: refused, in
/// the same words, from the window (which used to save it) and from `bookline settings`;
/// nothing is saved either way. With the direction Google → Bookline it is allowed.
#[test]
fn the_window_and_the_cli_refuse_a_read_only_calendar_alike() {
    if no_session_bus() {
        return;
    }
    let rt = runtime();
    let (emulator, base_url, email, _token) = emulator_with_account(&rt, None, 0);
    let data = tempfile::tempdir().expect("temp dir");
    let mut cli = Bookline {
        dir: data.path().to_path_buf(),
        base_url: base_url.clone(),
        outputs: Vec::new(),
    };
    connect_playing_the_browser(&mut cli, &rt, &email);
    let holidays = read_only_calendar(&rt, &base_url, &email);

    let out = cli.run(&["settings", "--calendar", &holidays]);
    assert!(!out.status.success(), "the CLI saved a read-only calendar");
    let cli_error = String::from_utf8_lossy(&out.stderr).trim().to_owned();

    let window = rt.block_on(window_app(&cli));
    let mut wanted = settings::load(window.store()).expect("settings");
    wanted.calendar_id = holidays.clone();
    let refused = rt
        .block_on(window.save_settings(wanted.clone(), None))
        .expect_err("the window saved a read-only calendar");
    assert_eq!(refused.code, ErrorCode::Validation);
    assert!(
        refused.message.contains("is read-only for this account"),
        "{}",
        refused.message
    );
    assert!(
        cli_error.ends_with(&refused.message),
        "the CLI said {cli_error:?}, the window {:?}",
        refused.message
    );
    assert_eq!(
        settings::load(window.store())
            .expect("settings")
            .calendar_id,
        "primary",
        "nothing saved"
    );

    // Reading from it is fine: Google → Bookline only.
    wanted.direction = bookline_core::sync::Direction::GoogleToCrm;
    let change = rt
        .block_on(window.save_settings(wanted, None))
        .expect("a read-only calendar for google-to-crm");
    assert_eq!(change.saved.calendar_id, holidays);
    assert_eq!(change.previous.calendar_id, "primary");
    rt.block_on(window.close());
    rt.block_on(emulator.shutdown());
}

/// The tray app's pass and a terminal's `bookline sync` at the same moment used to import
/// a new Google event twice (2 of 5 tries). With the data dir's sync lock, two `sync`
/// processes started together, five times with a new event each time, import each event
/// exactly once — and a pass of the window's `App` meanwhile waits its turn too.
/// An invitation without a valid lead email: the window's `App` and the command line
/// refuse it with the same sentence, and neither saves anything.
#[test]
fn the_window_and_the_cli_refuse_an_invitation_without_a_lead_email_alike() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = rt.block_on(async {
        App::open(AppOptions {
            secrets: Some(Arc::new(MemorySecretStore::new())),
            oauth_client: Some(OAuthClientConfig::new(
                "cli-test.apps.googleusercontent.com",
                "cli-test-secret",
            )),
            ..AppOptions::new(dir.path().to_path_buf())
        })
        .await
        .expect("the app opens")
    });
    let input: bookline_core::model::AppointmentInput = serde_json::from_value(json!({
        "title": "Demo call",
        "timing": {"kind": "timed", "start": "2030-05-09T08:00:00Z", "end": "2030-05-09T09:00:00Z"},
        "timezone": "Europe/Berlin",
        "lead": {"name": "Ada", "email": "ada(at)example.com", "phone": ""},
        "status": "booked",
        "recurrence": null
    }))
    .expect("an input");
    let booking = bookline_core::model::BookingRequest {
        invite_lead: true,
        ..Default::default()
    };
    let window = app.create_appointment(input, booking).expect_err("refused");
    assert_eq!(window.code, ErrorCode::Validation);
    rt.block_on(app.close());
    let out = crate::bookline(
        dir.path(),
        &[
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
            "--lead-email",
            "ada(at)example.com",
            "--invite-lead",
        ],
    );
    assert!(!out.status.success());
    let cli = String::from_utf8_lossy(&out.stderr);
    assert_eq!(cli.trim(), format!("bookline: {}", window.message));
    assert_eq!(
        window.message,
        "Bookline can't invite the lead: \"ada(at)example.com\" is not an email address."
    );
    let listed = crate::bookline_json(dir.path(), &["appointments", "list", "--json"]);
    assert_eq!(listed, json!([]));
}

#[test]
fn two_processes_syncing_at_once_import_each_new_event_once() {
    if no_session_bus() {
        return;
    }
    let rt = runtime();
    let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
    let data = tempfile::tempdir().expect("temp dir");
    let mut cli = Bookline {
        dir: data.path().to_path_buf(),
        base_url: base_url.clone(),
        outputs: Vec::new(),
    };
    connect_playing_the_browser(&mut cli, &rt, &email);
    let window = rt.block_on(window_app(&cli));
    let http = reqwest::Client::new();
    let events_url = format!("{base_url}/calendar/v3/calendars/{email}/events");
    for round in 0..5 {
        let start = chrono::Utc::now() + chrono::Duration::days(round + 1);
        let created = rt.block_on(async {
            http.post(&events_url)
                .bearer_auth(&token)
                .query(&[("sendUpdates", "none")])
                .json(&json!({
                    "summary": format!("Booked by phone {round}"),
                    "start": {"dateTime": start.to_rfc3339()},
                    "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
                }))
                .send()
                .await
                .expect("insert")
                .status()
        });
        assert!(created.is_success(), "{created}");
        let children: Vec<_> = (0..2)
            .map(|_| {
                cli.command(&["sync", "--json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("sync starts")
            })
            .collect();
        // The window's own pass joins in on odd rounds.
        let window_pass = (round % 2 == 1).then(|| {
            rt.block_on(window.sync_once(false, &Default::default(), |_| {}))
                .expect("the window's pass")
        });
        let mut created_in_crm = window_pass.map_or(0, |r| r.created_in_crm);
        for child in children {
            let out = child.wait_with_output().expect("sync ends");
            let report = crate::success_json(&["sync", "--json"], &out);
            created_in_crm += report["created_in_crm"].as_u64().unwrap_or(0) as u32;
        }
        assert_eq!(created_in_crm, 1, "round {round}: one import in all");
        let items = cli.list();
        let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
        let unique: BTreeSet<&str> = titles.iter().copied().collect();
        assert_eq!(titles.len(), unique.len(), "duplicates: {titles:?}");
        assert_eq!(titles.len(), round as usize + 1, "{titles:?}");
    }
    rt.block_on(window.close());
    rt.block_on(emulator.shutdown());
}

/// Two `App`s on one data dir stand for two processes (the OS lock is per open file, so
/// they exclude each other like processes do), and here their passes start at the same
/// instant: without the lock both list the new event before either stores it, and both
/// import it (failed every round when the lock was taken out).
#[test]
fn two_apps_passing_at_the_same_instant_import_each_new_event_once() {
    let rt = runtime();
    rt.block_on(async {
        let emulator = crate::harness::start_emulator(gcal_emulator::EmulatorOptions {
            port: 0,
            seed_demo: false,
            state_file: None,
        })
        .await;
        let base = emulator.base_url().to_owned();
        let http = reqwest::Client::new();
        http.post(format!("{base}/_emulator/consent"))
            .json(&json!({ "auto": "allow" }))
            .send()
            .await
            .expect("consent");
        let account: Value = http
            .post(format!("{base}/_emulator/accounts"))
            .json(&json!({ "email": "twice@example.com" }))
            .send()
            .await
            .expect("account")
            .json()
            .await
            .expect("JSON");
        let token = account["access_token"].as_str().expect("token").to_owned();
        let dir = tempfile::tempdir().unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
        let open = |holder: &str| {
            App::open(AppOptions {
                google_base_url: Some(base.clone()),
                oauth_client: Some(OAuthClientConfig::new("twice", "twice-secret")),
                secrets: Some(secrets.clone()),
                holder: holder.to_owned(),
                ..AppOptions::new(dir.path().to_path_buf())
            })
        };
        let tray = open("the Bookline window").await.unwrap();
        tray.connect(
            |url| {
                let url = url.clone();
                tokio::spawn(async move { bookline_core::oauth::follow_consent(&url).await });
                Ok(())
            },
            |_| {},
            std::time::Duration::from_secs(20),
            Default::default(),
        )
        .await
        .expect("connected");
        let tray = Arc::new(tray);
        let terminal = Arc::new(open("`bookline sync` in a terminal").await.unwrap());
        for round in 0..5 {
            let start = chrono::Utc::now() + chrono::Duration::days(round + 1);
            let created = http
                .post(format!(
                    "{base}/calendar/v3/calendars/twice@example.com/events"
                ))
                .bearer_auth(&token)
                .query(&[("sendUpdates", "none")])
                .json(&json!({
                    "summary": format!("Booked by phone {round}"),
                    "start": {"dateTime": start.to_rfc3339()},
                    "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
                }))
                .send()
                .await
                .expect("insert");
            assert!(created.status().is_success());
            // Two tasks on two worker threads: truly at the same time, as two processes.
            let pass = |app: &Arc<App>| {
                let app = app.clone();
                tokio::spawn(async move { app.sync_once(false, &Default::default(), |_| {}).await })
            };
            let (a, b) = (pass(&tray), pass(&terminal));
            let a = a.await.unwrap().expect("the tray's pass");
            let b = b.await.unwrap().expect("the terminal's pass");
            assert!(a.errors.is_empty() && b.errors.is_empty(), "{a:?} {b:?}");
            assert_eq!(a.created_in_crm + b.created_in_crm, 1, "round {round}");
            assert_eq!(tray.store().appointment_count().unwrap(), round as u64 + 1);
        }
        tray.shutdown().await;
        terminal.shutdown().await;
        emulator.shutdown().await;
    });
}

/// `demo --headless` through the application API: it connects once, and a second run
/// reuses the account (the emulator's saved state holds the grant; Bookline's database
/// never holds a token).
#[test]
fn headless_demo_connects_once_and_reuses_the_account() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
    let first = rt
        .block_on(run_headless_demo(dir.path(), secrets.clone()))
        .unwrap();
    assert!(first.signed_in, "{first}");
    assert_eq!(first.status.email.as_deref(), Some("demo@example.com"));
    assert!(first.status.demo);
    assert!(first.calendars.iter().any(|c| c.primary));
    assert!(first.sync.errors.is_empty(), "{:?}", first.sync);
    assert!(first.backfill_preview.create_in_crm >= 1);
    assert!(dir.path().join(EMULATOR_STATE_FILE).exists());
    let second = rt
        .block_on(run_headless_demo(dir.path(), secrets.clone()))
        .unwrap();
    assert!(!second.signed_in, "{second}");
    assert_eq!(second.status.connected_at, first.status.connected_at);
    let refresh = secrets.get("demo@example.com").unwrap().unwrap();
    let db = std::fs::read(dir.path().join("bookline.sqlite3")).unwrap();
    assert!(
        !db.windows(refresh.len()).any(|w| w == refresh.as_bytes()),
        "a token in the database"
    );
}

/// The desktop's Quit: `App::shutdown` (through a shared reference, as the shell holds
/// the app) runs the demo's hook, which saves the emulator's state at once — a
/// Google-side change made a moment before is in the state file — and a second call does
/// nothing.
#[test]
fn quitting_saves_the_demo_emulator_state_at_once() {
    let rt = runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let env = DemoEnvironment::start(dir.path(), DemoConsent::AutoAllow)
            .await
            .unwrap();
        let base = env.base_url().to_owned();
        let app = App::open(env.into_app_options(AppOptions {
            secrets: Some(Arc::new(MemorySecretStore::new())),
            ..AppOptions::new(dir.path().to_path_buf())
        }))
        .await
        .unwrap();
        assert!(app.status().unwrap().demo);
        let runtime = app.spawn_runtime().unwrap();
        let start = chrono::Utc::now() + chrono::Duration::days(1);
        let answer = reqwest::Client::new()
            .post(format!("{base}/_emulator/events/demo@example.com"))
            .json(&json!({
                "summary": "Written just before Quit",
                "start": {"dateTime": start.to_rfc3339()},
                "end": {"dateTime": (start + chrono::Duration::hours(1)).to_rfc3339()},
            }))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());

        runtime.shutdown().await;
        assert!(runtime.is_stopped());
        app.shutdown().await;
        let saved = std::fs::read_to_string(dir.path().join(EMULATOR_STATE_FILE)).unwrap();
        assert!(saved.contains("Written just before Quit"));
        assert!(
            reqwest::get(format!("{base}/_emulator/stats"))
                .await
                .is_err(),
            "the emulator is stopped"
        );
        // Quit twice (a second click, SIGTERM meanwhile): nothing left to do.
        app.shutdown().await;
        app.close().await;
    });
}
