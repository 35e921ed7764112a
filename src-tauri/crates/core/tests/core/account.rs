//! Connect / status / reconnect / Remove Google Account against the gcal-emulator, with a
//! real SQLite file and the test playing the browser; the real keyring.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bookline_core::account::{
    AccountService, ReconnectMarker, SETTING_CONNECTED_AT, SETTING_EMAIL, SETTING_NEEDS_RECONNECT,
};
use bookline_core::error::ErrorCode;
use bookline_core::google::Endpoints;
use bookline_core::model::{AppointmentInput, Origin, Status, Timing};
use bookline_core::oauth::follow_consent;
use bookline_core::oauth::{OAuthClient, OAuthClientConfig, OAuthError};
use bookline_core::runtime::{
    PassFuture, RuntimeConfig, SyncPass, SyncPhase, SyncReport, SyncRuntime, SyncRuntimeHandle,
};
use bookline_core::secrets::{KeyringSecretStore, MemorySecretStore, Secret, SecretStore};
use bookline_core::store::{ChangeSource, Store};
use chrono::{DateTime, Utc};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::google::{account, control, start, stats};

const ADA: &str = "ada@example.com";

struct Setup {
    emu: crate::google::TestEmulator,
    account: AccountService,
    store: Arc<Store>,
    dir: tempfile::TempDir,
}

fn config() -> OAuthClientConfig {
    OAuthClientConfig::new("bookline-test.apps.googleusercontent.com", "test-secret")
}

async fn setup(secrets: Arc<dyn SecretStore>) -> Setup {
    setup_with(secrets, |_| {}).await
}

async fn setup_with(secrets: Arc<dyn SecretStore>, tweak: fn(&mut Endpoints)) -> Setup {
    let emu = start().await;
    account(emu.base_url(), ADA).await;
    control(emu.base_url(), "consent", json!({"auto": "allow"})).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("bookline.sqlite3")).unwrap());
    let mut endpoints = Endpoints::from_base(emu.base_url()).unwrap();
    tweak(&mut endpoints);
    let account =
        AccountService::new(store.clone(), secrets, endpoints, Some(config()), false).unwrap();
    Setup {
        emu,
        account,
        store,
        dir,
    }
}

/// The browser: follows the consent redirect (auto-consent) to the loopback listener.
fn auto_browser(url: &Url) -> Result<(), String> {
    let url = url.clone();
    tokio::spawn(async move { follow_consent(&url).await.expect("browser step") });
    Ok(())
}

async fn connect(account: &AccountService) -> bookline_core::account::AppStatus {
    account
        .connect(
            auto_browser,
            |_| {},
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .expect("connect")
}

fn input(title: &str) -> AppointmentInput {
    let start = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    AppointmentInput {
        title: title.to_owned(),
        timing: Timing::Timed {
            start,
            end: start + chrono::Duration::hours(1),
        },
        timezone: "Europe/Berlin".to_owned(),
        location: String::new(),
        notes: String::new(),
        lead: Default::default(),
        status: Status::Booked,
        recurrence: None,
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .read(|c| {
            Ok(
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                    .unwrap(),
            )
        })
        .unwrap()
}

/// Sync state as the engine would leave it: links, a sync token, a backfill job.
fn insert_sync_state(store: &Store, appointment_ids: &[&str]) {
    store
        .write("test", |tx| {
            for (i, id) in appointment_ids.iter().enumerate() {
                tx.execute(
                    "INSERT INTO links (appointment_id, calendar_id, event_id, etag, \
                     crm_snapshot, google_snapshot, synced_at) \
                     VALUES (?1, 'primary', ?2, '\"1\"', '{}', '{}', '2026-03-01T00:00:00Z')",
                    rusqlite::params![id, format!("ev{i}")],
                )
                .unwrap();
            }
            tx.execute(
                "INSERT INTO sync_tokens VALUES ('primary', 'tok', '2026-03-01T00:00:00Z')",
                [],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO backfill_jobs (calendar_id, direction, created_at, updated_at) \
                 VALUES ('primary', 'both', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z')",
                [],
            )
            .unwrap();
            Ok(())
        })
        .unwrap();
}

/// Every byte of every file in the data dir (database, WAL, shared memory).
fn data_dir_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn connect_stores_the_refresh_token_only_in_the_secret_store() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    let before = s.account.status().unwrap();
    assert!(!before.connected);
    assert!(before.client_configured);
    assert_eq!(before.email, None);

    // An appointment made before connecting is old: its queued upsert is dropped.
    s.store
        .create_appointment(input("Old call"), Origin::Crm, ChangeSource::User)
        .unwrap();
    assert_eq!(s.store.pending_outbox_count().unwrap(), 1);

    let waited = std::sync::Mutex::new(None);
    let status = s
        .account
        .connect(
            auto_browser,
            |url| *waited.lock().unwrap() = Some(url.clone()),
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let auth_url = waited.lock().unwrap().clone().expect("on_waiting called");
    assert!(auth_url
        .as_str()
        .starts_with(&format!("{}/o/oauth2/v2/auth?", s.emu.base_url())));
    assert!(status.connected);
    assert_eq!(status.email.as_deref(), Some(ADA));
    assert!(!status.needs_reconnect);
    assert_eq!(status.pending, 0);
    assert_eq!(status.calendar_id.as_deref(), Some("primary"));
    let connected_at: DateTime<Utc> = s.store.get_setting(SETTING_CONNECTED_AT).unwrap().unwrap();
    assert!((Utc::now() - connected_at).num_seconds() < 30);
    assert_eq!(
        status.connected_at.as_deref(),
        Some(
            connected_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str()
        )
    );

    // New changes after connecting are queued.
    s.store
        .create_appointment(input("New call"), Origin::Crm, ChangeSource::User)
        .unwrap();
    assert_eq!(s.account.status().unwrap().pending, 1);

    // The access token works: the calendar list comes back.
    let calendars = s.account.list_calendars().await.unwrap();
    assert!(calendars[0].primary);
    assert!(calendars[0].writable);
    assert_eq!(calendars[0].id, ADA);

    let refresh = secrets
        .get(ADA)
        .unwrap()
        .expect("refresh token in the store");
    assert!(!refresh.is_empty());
    let bytes = data_dir_bytes(s.dir.path());
    assert!(!contains(&bytes, &refresh), "refresh token found on disk");
    let settings: Vec<String> = s
        .store
        .read(|c| {
            let mut stmt = c.prepare("SELECT key || value FROM settings").unwrap();
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            Ok(rows)
        })
        .unwrap();
    assert!(settings.iter().all(|row| !row.contains(&refresh)));
    assert!(!format!("{:?}", s.account).contains(&refresh));
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains(&refresh));
}

#[tokio::test]
async fn access_denied_cancel_and_timeout_store_nothing() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;

    control(s.emu.base_url(), "consent", json!({"auto": "deny"})).await;
    let denied = s
        .account
        .connect(
            auto_browser,
            |_| {},
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(denied.code, ErrorCode::Cancelled);
    assert!(denied.message.contains("not allowed"), "{}", denied.message);

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let cancelled = s
        .account
        .connect(|_| Ok(()), |_| {}, Duration::from_secs(30), cancel)
        .await
        .unwrap_err();
    assert_eq!(cancelled.code, ErrorCode::Cancelled);
    assert!(
        cancelled.message.contains("cancelled"),
        "{}",
        cancelled.message
    );

    let timed_out = s
        .account
        .connect(
            |_| Ok(()),
            |_| {},
            Duration::from_millis(300),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(timed_out.code, ErrorCode::Cancelled);
    assert!(
        timed_out.message.contains("in time"),
        "{}",
        timed_out.message
    );

    assert!(!s.account.status().unwrap().connected);
    assert_eq!(secrets.get(ADA).unwrap(), None);
    assert_eq!(s.store.get_setting::<String>(SETTING_EMAIL).unwrap(), None);
}

#[tokio::test]
async fn keyring_unavailable_fails_before_sign_in_and_stores_nothing() {
    let s = setup(Arc::new(MemorySecretStore::unavailable())).await;
    let err = s
        .account
        .connect(
            auto_browser,
            |_| panic!("must not open the browser without a keyring"),
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Keyring);
    assert!(err.message.contains("keyring"), "{}", err.message);
    assert!(!s.account.status().unwrap().connected);
    assert_eq!(s.store.get_setting::<String>(SETTING_EMAIL).unwrap(), None);
    let st = stats(s.emu.base_url()).await;
    assert!(st["by_route"].get("oauth.authorize").is_none(), "{st}");
    assert!(st["by_route"].get("oauth.token").is_none(), "{st}");
}

/// Google's granular consent lets the user untick calendar access. Such a sign-in is not
/// kept (no account, nothing in the keyring, the grant revoked at Google), the sentence
/// says what to tick, and connecting again with everything ticked works.
#[tokio::test]
async fn a_sign_in_without_calendar_access_is_not_kept() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    control(
        s.emu.base_url(),
        "consent",
        json!({"auto": "allow", "scopes": "openid email"}),
    )
    .await;
    let refused = s
        .account
        .connect(
            auto_browser,
            |_| {},
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Validation);
    assert!(
        refused
            .message
            .contains("View and edit events on all your calendars"),
        "{}",
        refused.message
    );
    assert!(!s.account.status().unwrap().connected);
    assert_eq!(s.store.get_setting::<String>(SETTING_EMAIL).unwrap(), None);
    assert!(secrets.get(ADA).unwrap().is_none(), "a token was kept");
    let st = stats(s.emu.base_url()).await;
    assert_eq!(st["by_route"]["oauth.revoke"], 1, "{st}");

    // The events scope alone is not enough either: the calendar list offers the choice.
    control(
        s.emu.base_url(),
        "consent",
        json!({"auto": "allow", "scopes": "openid email https://www.googleapis.com/auth/calendar.events"}),
    )
    .await;
    let half = s
        .account
        .connect(
            auto_browser,
            |_| {},
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(half.code, ErrorCode::Validation);
    assert!(!s.account.status().unwrap().connected);
    assert!(secrets.get(ADA).unwrap().is_none(), "a token was kept");

    // Try again, everything ticked.
    control(s.emu.base_url(), "consent", json!({"auto": "allow"})).await;
    let status = connect(&s.account).await;
    assert!(status.connected);
    assert_eq!(status.email.as_deref(), Some(ADA));
}

#[tokio::test]
async fn no_client_configured_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("bookline.sqlite3")).unwrap());
    let account = AccountService::new(
        store,
        Arc::new(MemorySecretStore::new()),
        Endpoints::google(),
        None,
        false,
    )
    .unwrap();
    let status = account.status().unwrap();
    assert!(!status.client_configured);
    assert!(!status.demo);
    let err = account
        .connect(
            |_| panic!("no browser without a client"),
            |_| {},
            Duration::from_secs(1),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Configuration);
    assert!(err.message.contains("Desktop app"), "{}", err.message);
    assert_eq!(
        account.list_calendars().await.unwrap_err().code,
        ErrorCode::NotConnected
    );
}

/// **Use my own Google client…** from "no client" to connected: a wrong file is refused
/// with its sentence and saves nothing; Google Cloud's Desktop download is saved as
/// google-client.json and Connect goes on with it. (Reads the process environment like
/// the app: run without BOOKLINE_GOOGLE_CLIENT_ID set, as CI does.)
#[tokio::test]
async fn a_client_file_the_user_brings_is_checked_saved_and_used() {
    let emu = start().await;
    account(emu.base_url(), ADA).await;
    control(emu.base_url(), "consent", json!({"auto": "allow"})).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("bookline.sqlite3")).unwrap());
    let account = AccountService::from_data_dir(
        store,
        Arc::new(MemorySecretStore::new()),
        Endpoints::from_base(emu.base_url()).unwrap(),
        dir.path(),
        false,
    )
    .unwrap();
    assert!(!account.status().unwrap().client_configured);
    let saved = dir.path().join("google-client.json");

    for (file, words) in [
        (
            r#"{"web":{"client_id":"w.apps.googleusercontent.com","client_secret":"s"}}"#,
            "Web application",
        ),
        (r#"{"installed":{"client_secret":"s"}}"#, "no client_id"),
        ("client_id: nope", "not JSON"),
    ] {
        let refused = account.use_client_file(dir.path(), file).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Validation);
        assert!(refused.message.contains(words), "{}", refused.message);
        assert!(!saved.exists(), "a refused file was saved");
        assert!(!account.status().unwrap().client_configured);
    }

    let desktop = r#"{"installed":{"client_id":"bookline-test.apps.googleusercontent.com","project_id":"p","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","client_secret":"GOCSPX-test","redirect_uris":["http://localhost"]}}"#;
    let status = account.use_client_file(dir.path(), desktop).unwrap();
    assert!(status.client_configured);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), desktop);
    assert_eq!(account.configuration_problem(), None);

    let connected = connect(&account).await;
    assert!(connected.connected);
    assert_eq!(connected.email.as_deref(), Some(ADA));
    // Connected with that client, another one is refused until Remove Google Account.
    let busy = account.use_client_file(dir.path(), desktop).unwrap_err();
    assert!(
        busy.message.contains("Remove Google Account"),
        "{}",
        busy.message
    );
}

async fn disconnect_case(keep_imported: bool) {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let refresh = Secret::new(secrets.get(ADA).unwrap().unwrap());

    let crm = s
        .store
        .create_appointment(input("CRM call"), Origin::Crm, ChangeSource::User)
        .unwrap();
    let google = s
        .store
        .create_appointment(input("From Google"), Origin::Google, ChangeSource::Sync)
        .unwrap();
    insert_sync_state(&s.store, &[&crm.id, &google.id]);
    assert_eq!(count(&s.store, "links"), 2);
    assert_eq!(s.store.pending_outbox_count().unwrap(), 1);

    let report = s.account.disconnect(keep_imported).await.unwrap();
    assert!(report.revoked, "{report:?}");
    assert_eq!(report.revoke_error, None);
    if keep_imported {
        assert_eq!(report.removed_appointments, 0);
        assert_eq!(report.kept_appointments, 2);
        assert!(s.store.get_appointment(&google.id).unwrap().is_some());
    } else {
        assert_eq!(report.removed_appointments, 1);
        assert_eq!(report.kept_appointments, 1);
        assert!(s.store.get_appointment(&google.id).unwrap().is_none());
    }
    assert!(s.store.get_appointment(&crm.id).unwrap().is_some());
    for table in ["links", "sync_tokens", "backfill_jobs", "outbox"] {
        assert_eq!(count(&s.store, table), 0, "{table}");
    }
    // Removing Google-originated rows is not a user's delete: nothing queued for Google.
    assert_eq!(s.store.pending_outbox_count().unwrap(), 0);
    assert_eq!(secrets.get(ADA).unwrap(), None);

    let status = s.account.status().unwrap();
    assert!(!status.connected);
    assert_eq!(status.email, None);
    assert_eq!(status.connected_at, None);
    assert_eq!(status.last_sync, None);
    assert_eq!(status.sync.state, SyncPhase::Idle);
    assert_eq!(
        s.account.client().unwrap_err().code,
        ErrorCode::NotConnected
    );

    // Revoked at Google: the refresh token no longer works.
    let oauth =
        OAuthClient::new(config(), Endpoints::from_base(s.emu.base_url()).unwrap()).unwrap();
    let refused = oauth.refresh_access_token(&refresh).await.unwrap_err();
    assert!(
        matches!(refused, OAuthError::InvalidGrant(_)),
        "{refused:?}"
    );
    let st = stats(s.emu.base_url()).await;
    assert_eq!(st["by_route"]["oauth.revoke"], 1, "{st}");

    // Connecting again is a first connect: a new watermark.
    let again = connect(&s.account).await;
    assert!(again.connected);
}

#[tokio::test]
async fn disconnect_removes_google_appointments_keeps_crm_ones_and_revokes() {
    disconnect_case(false).await;
}

#[tokio::test]
async fn disconnect_keeping_imported_appointments() {
    disconnect_case(true).await;
}

#[tokio::test]
async fn revoke_network_failure_does_not_block_removal() {
    let secrets = Arc::new(MemorySecretStore::new());
    // Only the revoke URL points where nothing listens (port 9 on 127.0.0.1).
    let s = setup_with(secrets.clone(), |e| {
        e.revoke_url = Url::parse("http://127.0.0.1:9/revoke").unwrap();
    })
    .await;
    connect(&s.account).await;
    s.store
        .create_appointment(input("From Google"), Origin::Google, ChangeSource::Sync)
        .unwrap();
    let report = s.account.disconnect(false).await.unwrap();
    assert!(!report.revoked);
    let why = report.revoke_error.expect("a sentence");
    assert!(why.contains("removed here anyway"), "{why}");
    assert_eq!(report.removed_appointments, 1);
    assert!(!s.account.status().unwrap().connected);
    assert_eq!(secrets.get(ADA).unwrap(), None);
}

#[tokio::test]
async fn reconnect_after_revoked_grant_keeps_data_and_watermark() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let connected_at: DateTime<Utc> = s.store.get_setting(SETTING_CONNECTED_AT).unwrap().unwrap();
    let crm = s
        .store
        .create_appointment(input("CRM call"), Origin::Crm, ChangeSource::User)
        .unwrap();
    insert_sync_state(&s.store, &[&crm.id]);

    control(
        s.emu.base_url(),
        "faults",
        json!({"revoke_grants_for": [ADA]}),
    )
    .await;
    let err = s.account.list_calendars().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect, "{err:?}");
    let status = s.account.status().unwrap();
    assert!(status.connected);
    assert!(status.needs_reconnect);
    assert_eq!(status.sync.state, SyncPhase::NeedsReconnect);
    assert!(status
        .sync
        .message
        .as_deref()
        .unwrap()
        .contains("Reconnect"));
    assert_eq!(status.pending, 1, "local data untouched");

    // Reconnect: same account (login_hint), data and watermark kept.
    let status = connect(&s.account).await;
    assert!(status.connected);
    assert!(!status.needs_reconnect);
    assert_eq!(status.sync.state, SyncPhase::Idle);
    assert_eq!(status.pending, 1);
    let after: DateTime<Utc> = s.store.get_setting(SETTING_CONNECTED_AT).unwrap().unwrap();
    assert_eq!(after, connected_at);
    assert_eq!(count(&s.store, "links"), 1);
    assert_eq!(count(&s.store, "sync_tokens"), 1);
    assert!(!s.account.list_calendars().await.unwrap().is_empty());
}

fn marker(store: &Store) -> Option<ReconnectMarker> {
    store.get_setting(SETTING_NEEDS_RECONNECT).unwrap()
}

/// Needs-reconnect outlives the process that found it: a new `AccountService` over the
/// same file (a new `bookline status`) reports it, with the reason, without asking
/// Google; a reconnect clears it, and so does Remove Google Account.
#[tokio::test]
async fn needs_reconnect_is_remembered_across_processes_until_reconnected() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    assert_eq!(marker(&s.store), None);
    let endpoints = Endpoints::from_base(s.emu.base_url()).unwrap();
    let process = || {
        AccountService::new(
            s.store.clone(),
            secrets.clone(),
            endpoints.clone(),
            Some(config()),
            false,
        )
        .unwrap()
    };

    control(
        s.emu.base_url(),
        "faults",
        json!({"revoke_grants_for": [ADA]}),
    )
    .await;
    let err = s.account.list_calendars().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect, "{err:?}");
    let saved = marker(&s.store).expect("persisted");
    assert_eq!(saved.reason, "the grant was revoked or expired");
    let raw: serde_json::Value = s
        .store
        .get_setting(SETTING_NEEDS_RECONNECT)
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["at", "reason"],
        "a reason and a time, nothing else (no token)"
    );

    // A new process: it knows at once, without a request to Google.
    control(s.emu.base_url(), "stats/reset", json!({})).await;
    let second = process();
    let status = second.status().unwrap();
    assert!(status.connected && status.needs_reconnect, "{status:?}");
    assert_eq!(status.sync.state, SyncPhase::NeedsReconnect);
    let why = status.sync.message.unwrap();
    assert!(
        why.contains("the grant was revoked or expired") && why.contains("Reconnect"),
        "{why}"
    );
    assert!(!why.contains('\n'));
    let err = second.list_calendars().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect);
    assert_eq!(
        stats(s.emu.base_url()).await["total"],
        0,
        "Google not asked"
    );

    // Reconnecting (from that process) clears it, here and for the next process.
    let status = connect(&second).await;
    assert!(!status.needs_reconnect);
    assert_eq!(marker(&s.store), None);
    assert!(!process().status().unwrap().needs_reconnect);
    assert!(!second.list_calendars().await.unwrap().is_empty());

    // Revoked again, then removed: nothing of it is left.
    control(
        s.emu.base_url(),
        "faults",
        json!({"revoke_grants_for": [ADA]}),
    )
    .await;
    assert!(second.list_calendars().await.is_err());
    assert!(marker(&s.store).is_some());
    second.disconnect(false).await.unwrap();
    assert_eq!(marker(&s.store), None);
    let status = process().status().unwrap();
    assert!(!status.connected && !status.needs_reconnect);
}

/// The keyring entry gone (removed by hand, another tool) is lasting too.
#[tokio::test]
async fn a_missing_keyring_entry_is_remembered_too() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    secrets.delete(ADA).unwrap();
    control(s.emu.base_url(), "tokens", json!({"expire_now": true})).await;
    let err = s.account.list_calendars().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect, "{err:?}");
    let saved = marker(&s.store).expect("persisted");
    assert!(saved.reason.contains("keyring"), "{saved:?}");
    let second = AccountService::new(
        s.store.clone(),
        secrets.clone(),
        Endpoints::from_base(s.emu.base_url()).unwrap(),
        Some(config()),
        false,
    )
    .unwrap();
    assert!(second.status().unwrap().needs_reconnect);
}

#[tokio::test]
async fn signing_in_as_another_account_is_refused() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    // The emulator's auto-consent honours login_hint; a different account comes from a
    // consent page answered for someone else, which the test plays by editing the URL.
    let err = s
        .account
        .connect(
            |url| {
                let mut url = url.clone();
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "login_hint")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs)
                    .append_pair("login_hint", "bob@example.com");
                auto_browser(&url)
            },
            |_| {},
            Duration::from_secs(30),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message.contains("Remove Google Account"),
        "{}",
        err.message
    );
    assert_eq!(s.account.email().unwrap().as_deref(), Some(ADA));
    assert_eq!(secrets.get("bob@example.com").unwrap(), None);
}

/// The real OS keyring (Secret Service). Runs where a session bus exists; run it inside
/// `dbus-run-session` with an unlocked gnome-keyring (see architecture.md).
#[tokio::test]
async fn connect_and_disconnect_with_the_real_keyring() {
    if crate::no_secret_service() {
        return;
    }
    let service = format!("bookline-account-test-{}", std::process::id());
    let keyring: Arc<dyn SecretStore> = Arc::new(KeyringSecretStore::with_service(&service));
    let s = setup(keyring.clone()).await;
    connect(&s.account).await;
    // A separate store object reads the entry: it is really in the keyring.
    let other = KeyringSecretStore::with_service(&service);
    let refresh = other.get(ADA).unwrap().expect("entry in the keyring");
    let bytes = data_dir_bytes(s.dir.path());
    assert!(!contains(&bytes, &refresh));
    assert!(!s.account.list_calendars().await.unwrap().is_empty());
    let report = s.account.disconnect(false).await.unwrap();
    assert!(report.revoked);
    assert_eq!(other.get(ADA).unwrap(), None);
}

/// A pass that talks to Google the way the engine does: through `account.client()`.
struct ListPass {
    runs: Arc<AtomicUsize>,
}

impl SyncPass for ListPass {
    fn run<'a>(
        &'a self,
        account: &'a AccountService,
        _cancel: CancellationToken,
    ) -> PassFuture<'a> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            account.list_calendars().await?;
            Ok(SyncReport::default())
        })
    }
}

/// A pass that runs until cancelled.
struct HangPass {
    runs: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
}

impl SyncPass for HangPass {
    fn run<'a>(
        &'a self,
        _account: &'a AccountService,
        cancel: CancellationToken,
    ) -> PassFuture<'a> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            cancel.cancelled().await;
            self.cancelled.fetch_add(1, Ordering::SeqCst);
            Err(bookline_core::error::AppError::new(
                ErrorCode::Cancelled,
                "cancelled",
            ))
        })
    }
}

fn fast_polls() -> RuntimeConfig {
    RuntimeConfig {
        poll_interval: Duration::from_millis(200),
        ..Default::default()
    }
}

async fn wait_for_phase(handle: &SyncRuntimeHandle, phase: SyncPhase) {
    let mut rx = handle.subscribe();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.state == phase))
        .await
        .unwrap_or_else(|_| panic!("no {phase:?} within 10 s: {:?}", handle.status()))
        .unwrap();
}

#[tokio::test]
async fn disconnect_stops_the_pass_in_flight_and_no_pass_follows() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let account = Arc::new(s.account);
    let runs = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let handle = SyncRuntime::spawn(
        account.clone(),
        Arc::new(HangPass {
            runs: runs.clone(),
            cancelled: cancelled.clone(),
        }),
        fast_polls(),
    );
    wait_for_phase(&handle, SyncPhase::Syncing).await;
    let report = account.disconnect(false).await.unwrap();
    assert!(report.revoked);
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "no pass without an account");
    assert_eq!(handle.status().state, SyncPhase::Idle);
    assert_eq!(account.status().unwrap().sync.state, SyncPhase::Idle);
    handle.shutdown().await;
}

#[tokio::test]
async fn revoked_grant_stops_the_loop_until_reconnected() {
    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let base = s.emu.base_url().to_owned();
    let account = Arc::new(s.account);
    let runs = Arc::new(AtomicUsize::new(0));
    let handle = SyncRuntime::spawn(
        account.clone(),
        Arc::new(ListPass { runs: runs.clone() }),
        fast_polls(),
    );
    handle.sync_now().await.unwrap();
    assert_eq!(handle.status().state, SyncPhase::Idle);

    control(&base, "faults", json!({"revoke_grants_for": [ADA]})).await;
    wait_for_phase(&handle, SyncPhase::NeedsReconnect).await;
    let status = account.status().unwrap();
    assert!(status.needs_reconnect);
    assert_eq!(status.sync.state, SyncPhase::NeedsReconnect);
    let stopped_at = runs.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        stopped_at,
        "no pass (no writes) while the grant is refused"
    );

    let status = connect(&account).await;
    assert!(!status.needs_reconnect);
    let mut rx = handle.subscribe();
    tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|st| st.state == SyncPhase::Idle && st.passes as usize > stopped_at),
    )
    .await
    .expect("a pass after reconnecting")
    .unwrap();
    assert!(runs.load(Ordering::SeqCst) > stopped_at);
    assert!(account.status().unwrap().last_sync.is_some());
    handle.shutdown().await;
}

/// The JSON the UI receives has exactly the contract's fields (IPC-CONTRACT.md).
#[tokio::test]
async fn status_and_reports_serialize_to_the_contract_shapes() {
    let s = setup(Arc::new(MemorySecretStore::new())).await;
    let status = connect(&s.account).await;
    let v = serde_json::to_value(&status).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "calendar_id",
            "client_configured",
            "connected",
            "connected_at",
            "demo",
            "direction",
            "email",
            "held_deletes",
            "last_sync",
            "needs_reconnect",
            "parked",
            "pending",
            "sync"
        ]
    );
    assert_eq!(v["direction"], "both");
    assert_eq!(v["sync"], json!({"state": "idle", "message": null}));
    assert_eq!(
        v["held_deletes"],
        json!({"crm": 0, "google": 0, "first": []})
    );
    let calendars = serde_json::to_value(s.account.list_calendars().await.unwrap()).unwrap();
    assert_eq!(
        calendars[0],
        json!({"id": ADA, "summary": calendars[0]["summary"], "primary": true, "writable": true})
    );
    let report = serde_json::to_value(s.account.disconnect(true).await.unwrap()).unwrap();
    assert_eq!(
        report,
        json!({"revoked": true, "revoke_error": null, "removed_appointments": 0, "kept_appointments": 0})
    );
}

/// A `MakeWriter` that collects every log line in memory.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Connect → sync passes → disconnect with every log line of every crate (TRACE)
/// captured: no access token (`ya29.emu-…`) or refresh token (`1//emu-…`) shows up in
/// the logs, the data dir, or anything the service returns.
#[tokio::test]
async fn full_run_leaves_no_token_in_logs_or_files() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // With exactly one live dispatcher, tracing-core works out a new callsite's interest
    // from the default of the thread that first reaches it: a parallel test (no
    // subscriber) reaching `connect`'s log line first would cache it as "never" for every
    // thread. A second live dispatcher makes it ask all of them instead.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    // The test runs on one thread (current_thread runtime), so a thread default sees
    // everything the service and its HTTP clients log.
    let _default = tracing::subscriber::set_default(subscriber);
    tracing::info!("log capture works");

    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    let status = connect(&s.account).await;
    let dir = s.dir.path().to_path_buf();
    let account = Arc::new(s.account);
    let runs = Arc::new(AtomicUsize::new(0));
    let handle = SyncRuntime::spawn(
        account.clone(),
        Arc::new(ListPass { runs: runs.clone() }),
        fast_polls(),
    );
    handle.sync_now().await.unwrap();
    // An expired access token forces a refresh through the keyring's refresh token.
    control(s.emu.base_url(), "tokens", json!({"expire_now": true})).await;
    handle.sync_now().await.unwrap();
    let calendars = account.list_calendars().await.unwrap();
    let report = account.disconnect(false).await.unwrap();
    handle.shutdown().await;

    let st = stats(s.emu.base_url()).await;
    assert!(st["by_route"]["oauth.token"].as_u64().unwrap() >= 2, "{st}");
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("log capture works"));
    assert!(logs.contains("Google account connected"), "{logs}");
    let mut seen = vec![logs];
    seen.push(format!(
        "{status:?} {calendars:?} {report:?} {:?}",
        handle.status()
    ));
    seen.push(String::from_utf8_lossy(&data_dir_bytes(&dir)).into_owned());
    for text in &seen {
        for prefix in ["ya29.emu-", "1//emu-"] {
            assert!(!text.contains(prefix), "a token ({prefix}…) leaked");
        }
    }
}

/// The real engine behind the runtime: after connecting, a CRM appointment made in
/// Bookline reaches Google on "Sync now", an event a second client adds in Google comes
/// back as a Google-origin appointment, and an idle pass costs one list request.
#[tokio::test]
async fn runtime_with_the_engine_moves_new_items_both_ways() {
    use bookline_core::google::{
        CalendarClient, Event, EventDateTime, ListParams, StaticTokenSource,
    };
    use bookline_core::sync::engine::{EngineOptions, SyncEngine};
    use bookline_core::sync::service::EnginePass;
    use bookline_core::sync_lock::SyncLock;

    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let account = Arc::new(s.account);
    let lock_dir = tempfile::tempdir().unwrap();
    let handle = SyncRuntime::spawn(
        account.clone(),
        Arc::new(EnginePass::new(
            Arc::new(SyncEngine::new(EngineOptions::default())),
            Arc::new(SyncLock::new(lock_dir.path(), "the test")),
        )),
        RuntimeConfig {
            poll_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    );

    // The loop runs a first pass as soon as it starts; let it finish so the passes below
    // are the ones that carry the changes (and their reports count them).
    let first = handle.sync_now().await.expect("initial pass");
    assert!(!first.changed_anything(), "{first:?}");

    let made = s
        .store
        .create_appointment(input("Demo call with Ada"), Origin::Crm, ChangeSource::User)
        .unwrap();
    let report = handle.sync_now().await.expect("first pass");
    assert_eq!(report.created_in_google, 1, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");

    // A second client (the user's phone) sees the event and adds one of its own.
    let phone = crate::google::account(s.emu.base_url(), ADA).await;
    let google = CalendarClient::new(
        Endpoints::from_base(s.emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(phone.access_token.clone())),
    )
    .unwrap();
    let listed = google
        .list_events(&phone.calendar_id, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(
        listed.items[0].summary.as_deref(),
        Some("Demo call with Ada")
    );
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let event = Event {
        summary: Some("Lunch booked on the phone".into()),
        start: Some(EventDateTime::timed(
            start.fixed_offset(),
            Some("UTC".into()),
        )),
        end: Some(EventDateTime::timed(
            (start + chrono::Duration::hours(1)).fixed_offset(),
            Some("UTC".into()),
        )),
        ..Default::default()
    };
    google
        .insert_event(&phone.calendar_id, &event)
        .await
        .unwrap();

    let report = handle.sync_now().await.expect("second pass");
    assert_eq!(report.created_in_crm, 1, "{report:?}");
    assert_eq!(report.created_in_google, 0, "no echo: {report:?}");
    let page = s
        .store
        .list_appointments(
            &bookline_core::model::ListQuery {
                period: bookline_core::model::Period::All,
                limit: 50,
                ..Default::default()
            },
            chrono::Utc::now(),
        )
        .unwrap();
    assert_eq!(page.total, 2);
    assert!(page
        .rows
        .iter()
        .any(|r| r.appointment.origin == Origin::Google
            && r.appointment.title == "Lunch booked on the phone"));
    assert!(page.rows.iter().any(|r| r.appointment.id == made.id
        && matches!(r.sync_state, bookline_core::model::SyncState::Synced)));

    control(s.emu.base_url(), "stats/reset", json!({})).await;
    let report = handle.sync_now().await.expect("idle pass");
    assert!(!report.changed_anything(), "{report:?}");
    let st = stats(s.emu.base_url()).await;
    assert_eq!(st["total"], 1, "an idle pass is one events.list: {st}");
    handle.shutdown().await;
}

/// Remove Google Account with "keep imported", then connect the same account again: the
/// appointment imported from Google and the one Bookline pushed are re-linked to their
/// events (by event id, and by the private property) — never created again on either
/// side, whether the first thing after reconnecting is a pass or a transfer in both
/// directions. The imported appointment was edited while disconnected, so it no longer
/// looks like its event: only its event id can find it.
async fn reconnect_after_keep_imported(transfer_first: bool) {
    use bookline_core::google::{
        CalendarClient, Event, EventDateTime, ListParams, StaticTokenSource,
    };
    use bookline_core::sync::backfill::{self, BackfillRequest, ProgressState};
    use bookline_core::sync::engine::{EngineOptions, SyncEngine};
    use bookline_core::sync::links;
    use bookline_core::sync::service::account_context;
    use bookline_core::sync::Direction;

    let secrets = Arc::new(MemorySecretStore::new());
    let s = setup(secrets.clone()).await;
    connect(&s.account).await;
    let engine = SyncEngine::new(EngineOptions::default());
    let cancel = CancellationToken::new();
    let pass = || async {
        let ctx = account_context(&s.account).unwrap();
        let client = s.account.client().unwrap();
        let report = engine
            .run_pass(&s.store, &client, &ctx, &cancel)
            .await
            .expect("pass");
        assert!(report.errors.is_empty(), "{report:?}");
        report
    };
    let transfer = || async {
        let ctx = account_context(&s.account).unwrap();
        let client = s.account.client().unwrap();
        let request = BackfillRequest {
            direction: Direction::Both,
            since: None,
            until: None,
        };
        let preview = backfill::preview(&engine, &s.store, &client, &ctx, &request, &cancel)
            .await
            .expect("preview");
        let done = backfill::start(&engine, &s.store, &client, &ctx, &request, |_| {}, &cancel)
            .await
            .expect("transfer");
        assert_eq!(done.state, ProgressState::Finished, "{done:?}");
        (preview, done)
    };

    // The user's phone: another client of the same calendar.
    let phone = crate::google::account(s.emu.base_url(), ADA).await;
    let google = CalendarClient::new(
        Endpoints::from_base(s.emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(phone.access_token.clone())),
    )
    .unwrap();
    let live_events = || async {
        google
            .list_events(&phone.calendar_id, &ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| !e.is_cancelled())
            .collect::<Vec<Event>>()
    };
    let start = Utc::now() + chrono::Duration::days(2);
    let lunch = google
        .insert_event(
            &phone.calendar_id,
            &Event {
                summary: Some("Lunch booked on the phone".into()),
                start: Some(EventDateTime::timed(
                    start.fixed_offset(),
                    Some("UTC".into()),
                )),
                end: Some(EventDateTime::timed(
                    (start + chrono::Duration::hours(1)).fixed_offset(),
                    Some("UTC".into()),
                )),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let lunch_id = lunch.id.clone().unwrap();
    let call = s
        .store
        .create_appointment(input("Call with Ada"), Origin::Crm, ChangeSource::User)
        .unwrap();
    let r = pass().await;
    assert_eq!((r.created_in_crm, r.created_in_google), (1, 1), "{r:?}");
    assert_eq!(count(&s.store, "links"), 2);
    let imported = s
        .store
        .read(|c| links::by_event_any(&s.store, c, &lunch_id))
        .unwrap()
        .expect("the imported event is linked")
        .appointment_id;

    let report = s.account.disconnect(true).await.unwrap();
    assert_eq!(report.kept_appointments, 2);
    assert_eq!(count(&s.store, "links"), 0);
    // Edited while disconnected: it no longer looks like its event.
    let mut edit = input("Lunch with Ada and Bob");
    let kept = s.store.get_appointment(&imported).unwrap().unwrap();
    edit.timing = kept.timing.clone();
    edit.timezone = kept.timezone.clone();
    s.store
        .update_appointment(&imported, edit, ChangeSource::User)
        .unwrap();

    connect(&s.account).await;
    if transfer_first {
        let (preview, done) = transfer().await;
        assert_eq!(
            (preview.create_in_crm, preview.create_in_google),
            (0, 0),
            "{preview:?}"
        );
        assert_eq!(
            (done.created_in_crm, done.created_in_google),
            (0, 0),
            "{done:?}"
        );
        pass().await;
    } else {
        let r = pass().await;
        assert_eq!((r.created_in_crm, r.created_in_google), (0, 0), "{r:?}");
        // The first pass reads the whole calendar and re-links both.
        assert_eq!(count(&s.store, "links"), 2);
        let (preview, done) = transfer().await;
        assert_eq!(
            (preview.create_in_crm, preview.create_in_google),
            (0, 0),
            "{preview:?}"
        );
        assert_eq!(
            (done.created_in_crm, done.created_in_google),
            (0, 0),
            "{done:?}"
        );
    }
    pass().await;

    // No duplicate on either side, and both links made again, to the same events.
    assert_eq!(count(&s.store, "appointments"), 2);
    let events = live_events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(count(&s.store, "links"), 2);
    let link_of = |id: &str| {
        s.store
            .read(|c| links::by_appointment(&s.store, c, id))
            .unwrap()
            .unwrap_or_else(|| panic!("{id} is linked"))
            .event_id
    };
    assert_eq!(link_of(&imported), lunch_id);
    assert_eq!(
        Some(link_of(&call.id)),
        bookline_core::sync::ids::event_id_for(&call.id)
    );
    // The edit made while disconnected is the later one: it reached the event.
    let lunch_now = events
        .iter()
        .find(|e| e.id.as_deref() == Some(lunch_id.as_str()))
        .unwrap();
    assert_eq!(lunch_now.summary.as_deref(), Some("Lunch with Ada and Bob"));
}

#[tokio::test]
async fn reconnect_after_keep_imported_relinks_on_the_first_pass() {
    reconnect_after_keep_imported(false).await;
}

#[tokio::test]
async fn reconnect_after_keep_imported_relinks_in_a_transfer() {
    reconnect_after_keep_imported(true).await;
}

/// The old/new watermark and `created_at` are compared at the store's precision
/// (milliseconds): an appointment made the instant Connect returns — within the same
/// millisecond — is new and syncs, never "old, waits for Synchronize Google Calendar".
/// (Seen in CI: the watermark kept nanoseconds, the appointment's stamp was cut to its
/// millisecond, so the later appointment compared as older.)
#[tokio::test]
async fn an_appointment_made_right_after_connecting_is_new() {
    let s = setup(Arc::new(MemorySecretStore::new())).await;
    connect(&s.account).await;
    let connected_at: DateTime<Utc> = s.store.get_setting(SETTING_CONNECTED_AT).unwrap().unwrap();
    assert_eq!(
        connected_at.timestamp_subsec_nanos() % 1_000_000,
        0,
        "the watermark is on the store's millisecond grid: {connected_at:?}"
    );
    assert_eq!(s.account.connected_at().unwrap(), Some(connected_at));
    let made = s
        .store
        .create_appointment(input("Booked at once"), Origin::Crm, ChangeSource::User)
        .unwrap();
    assert!(
        made.created_at > connected_at,
        "{:?} must be after the watermark {connected_at:?}",
        made.created_at
    );
}
