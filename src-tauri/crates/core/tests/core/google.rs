//! `CalendarClient` against the gcal-emulator: ids, etags, paging, sync tokens, batch,
//! faults and their classification.

use std::sync::{Arc, Mutex};

use bookline_core::error::{AppError, ErrorCode};
use bookline_core::google::{
    BatchCall, CalendarClient, Endpoints, Event, EventDateTime, GoogleErrorKind, ListParams,
    StaticTokenSource,
};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use gcal_emulator::{Emulator, EmulatorOptions, MailKind};
use serde_json::{json, Value};

pub(crate) async fn start() -> TestEmulator {
    TestEmulator {
        emu: Some(
            Emulator::start(EmulatorOptions {
                port: 0,
                ..Default::default()
            })
            .await
            .expect("emulator starts"),
        ),
        opted_in: Mutex::new(Vec::new()),
    }
}

/// A mail a test consented to (an invitation, a notified change): its kind and recipients.
pub(crate) type ExpectedMail = (MailKind, Vec<String>);

/// The emulator of a core test. "Nothing is emailed without consent": when the test ends
/// — by `shutdown` or by dropping it, as `World` does — the emulator's "would have
/// emailed" record (`mail_outbox`) must hold exactly the mails the test opted into
/// (`expect_mail`), in order; a test that opted into none must also have written every
/// event with `sendUpdates=none`. Every test that talks to Google gets the check without
/// calling anything.
pub(crate) struct TestEmulator {
    emu: Option<Emulator>,
    opted_in: Mutex<Vec<ExpectedMail>>,
}

impl TestEmulator {
    pub(crate) async fn shutdown(mut self) {
        let opted_in = std::mem::take(&mut *self.opted_in.lock().unwrap());
        if let Some(emu) = self.emu.take() {
            assert_mail(&emu, &opted_in);
            emu.shutdown().await;
        }
    }

    /// The test consents to one mail of `kind` to `recipients` (the user asked for it).
    pub(crate) fn expect_mail(&self, kind: MailKind, recipients: &[&str]) {
        self.opted_in
            .lock()
            .unwrap()
            .push((kind, recipients.iter().map(|r| (*r).to_owned()).collect()));
    }
}

impl std::ops::Deref for TestEmulator {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        self.emu.as_ref().expect("the emulator is running")
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        // A test that already failed keeps its own message.
        if let Some(emu) = &self.emu {
            if !std::thread::panicking() {
                let opted_in = self.opted_in.lock().map(|m| m.clone()).unwrap_or_default();
                assert_mail(emu, &opted_in);
            }
        }
    }
}

/// Fails unless the emulator's would-be mails are exactly `opted_in`; with none opted
/// into, every event write must have carried `sendUpdates=none`.
pub(crate) fn assert_mail(emu: &Emulator, opted_in: &[ExpectedMail]) {
    let sent: Vec<ExpectedMail> = emu
        .mail_outbox()
        .into_iter()
        .map(|m| (m.kind, m.recipients))
        .collect();
    assert_eq!(
        sent, opted_in,
        "Google would have emailed other mails than the test consented to"
    );
    if opted_in.is_empty() {
        assert_no_mail(emu);
    }
}

/// Fails unless every event write the emulator saw carried `sendUpdates=none`.
pub(crate) fn assert_no_mail(emu: &Emulator) {
    let writes = emu.writes_by_send_updates();
    // Printed for the record (`--no-capture`): what the run wrote, by sendUpdates.
    eprintln!("emulator writes by sendUpdates: {writes:?}");
    assert!(emu.mail_outbox().is_empty(), "{:?}", emu.mail_outbox());
    assert_eq!(
        writes.may_send_mail(),
        0,
        "Bookline wrote to Google without sendUpdates=none, which may email attendees: \
         {writes:?}"
    );
}

pub(crate) async fn control(base: &str, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}/_emulator/{path}"))
        .json(&body)
        .send()
        .await
        .expect("control call");
    let status = resp.status();
    let answer: Value = resp.json().await.expect("control JSON");
    assert!(status.is_success(), "control {path}: {status} {answer}");
    answer
}

pub(crate) async fn stats(base: &str) -> Value {
    reqwest::get(format!("{base}/_emulator/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON")
}

pub(crate) struct Account {
    pub access_token: String,
    pub refresh_token: String,
    pub calendar_id: String,
}

pub(crate) async fn account(base: &str, email: &str) -> Account {
    let v = control(base, "accounts", json!({ "email": email })).await;
    let s = |k: &str| v[k].as_str().expect(k).to_owned();
    Account {
        access_token: s("access_token"),
        refresh_token: s("refresh_token"),
        calendar_id: s("calendar_id"),
    }
}

async fn client_for(emu: &Emulator, email: &str) -> (CalendarClient, Account) {
    let acct = account(emu.base_url(), email).await;
    let client = CalendarClient::new(
        Endpoints::from_base(emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(acct.access_token.clone())),
    )
    .unwrap();
    (client, acct)
}

fn timed_event(id: &str, summary: &str, start: DateTime<Utc>) -> Event {
    let mut e = Event {
        id: Some(id.to_owned()),
        summary: Some(summary.to_owned()),
        start: Some(EventDateTime::timed(
            start.fixed_offset(),
            Some("UTC".into()),
        )),
        end: Some(EventDateTime::timed(
            (start + ChronoDuration::hours(1)).fixed_offset(),
            Some("UTC".into()),
        )),
        ..Default::default()
    };
    e.set_private_property("bookline", "1");
    e
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// No token string may appear in what an error prints.
fn assert_no_token(text: &str, acct: &Account) {
    assert!(
        !text.contains(&acct.access_token),
        "access token leaked: {text}"
    );
    assert!(
        !text.contains(&acct.refresh_token),
        "refresh token leaked: {text}"
    );
}

#[tokio::test]
async fn insert_with_client_id_then_retry_is_duplicate() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "dup@example.com").await;
    let event = timed_event("bk00000000000000000001", "Call Ada", t0());

    let created = client
        .insert_event(&acct.calendar_id, &event)
        .await
        .unwrap();
    assert_eq!(created.id.as_deref(), Some("bk00000000000000000001"));
    assert!(created.etag.is_some());
    assert_eq!(created.private_property("bookline"), Some("1"));
    assert!(created.created.is_some());

    let again = client
        .insert_event(&acct.calendar_id, &event)
        .await
        .unwrap_err();
    assert!(again.is_duplicate(), "{again:?}");
    assert!(!again.is_retryable());
    assert_eq!(again.status, Some(409));
    assert_eq!(again.reason.as_deref(), Some("duplicate"));
    assert_no_token(&format!("{again} {again:?}"), &acct);

    let fetched = client
        .get_event(&acct.calendar_id, "bk00000000000000000001")
        .await
        .unwrap();
    assert_eq!(fetched.summary.as_deref(), Some("Call Ada"));
    emu.shutdown().await;
}

#[tokio::test]
async fn stale_if_match_is_precondition_failed_and_delete_twice_is_gone() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "etag@example.com").await;
    let cal = &acct.calendar_id;
    let created = client
        .insert_event(cal, &timed_event("bk00000000000000000002", "v1", t0()))
        .await
        .unwrap();
    let etag1 = created.etag.clone().unwrap();

    let patched = client
        .patch_event(
            cal,
            "bk00000000000000000002",
            &json!({"summary": "v2"}),
            Some(&etag1),
        )
        .await
        .unwrap();
    assert_eq!(patched.summary.as_deref(), Some("v2"));
    assert_ne!(patched.etag.as_deref(), Some(etag1.as_str()));
    // Unchanged fields survive a patch.
    assert_eq!(patched.private_property("bookline"), Some("1"));

    let stale = client
        .patch_event(
            cal,
            "bk00000000000000000002",
            &json!({"summary": "v3"}),
            Some(&etag1),
        )
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed(), "{stale:?}");
    assert_eq!(AppError::from(stale).code, ErrorCode::Internal);

    let mut full = patched.clone();
    full.summary = Some("v4 via update".into());
    let updated = client
        .update_event(
            cal,
            "bk00000000000000000002",
            &full,
            patched.etag.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(updated.summary.as_deref(), Some("v4 via update"));

    let stale_delete = client
        .delete_event(cal, "bk00000000000000000002", Some(&etag1))
        .await
        .unwrap_err();
    assert!(stale_delete.is_precondition_failed());

    client
        .delete_event(cal, "bk00000000000000000002", updated.etag.as_deref())
        .await
        .unwrap();
    let twice = client
        .delete_event(cal, "bk00000000000000000002", None)
        .await
        .unwrap_err();
    assert!(twice.is_gone(), "{twice:?}");
    assert!(!twice.is_full_sync_required());

    let missing = client.get_event(cal, "bknotthere00").await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(AppError::from(missing).code, ErrorCode::NotFound);
    emu.shutdown().await;
}

#[tokio::test]
async fn list_pages_then_sync_token_then_full_sync_required() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "paging@example.com").await;
    let cal = &acct.calendar_id;
    for i in 0..7 {
        let id = format!("bk0000000000000000010{i}");
        let start = t0() + ChronoDuration::days(i);
        client
            .insert_event(cal, &timed_event(&id, &format!("E{i}"), start))
            .await
            .unwrap();
    }

    let mut params = ListParams {
        max_results: Some(3),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    let sync_token = loop {
        let page = client.list_events(cal, &params).await.unwrap();
        pages += 1;
        seen.extend(page.items.iter().filter_map(|e| e.id.clone()));
        match page.next_page_token {
            Some(next) => {
                assert!(
                    page.next_sync_token.is_none(),
                    "sync token only on the last page"
                );
                params.page_token = Some(next);
            }
            None => break page.next_sync_token.expect("last page has a sync token"),
        }
    };
    assert_eq!(pages, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);

    // Nothing changed: an empty answer and a new token.
    let quiet = client
        .list_events(
            cal,
            &ListParams {
                sync_token: Some(sync_token.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(quiet.items.is_empty());
    let token2 = quiet.next_sync_token.expect("token");

    client
        .patch_event(
            cal,
            "bk00000000000000000101",
            &json!({"summary": "moved"}),
            None,
        )
        .await
        .unwrap();
    client
        .delete_event(cal, "bk00000000000000000102", None)
        .await
        .unwrap();
    let changes = client
        .list_events(
            cal,
            &ListParams {
                sync_token: Some(token2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut changed: Vec<(String, bool)> = changes
        .items
        .iter()
        .map(|e| (e.id.clone().unwrap(), e.is_cancelled()))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        vec![
            ("bk00000000000000000101".to_owned(), false),
            ("bk00000000000000000102".to_owned(), true)
        ]
    );
    let token3 = changes.next_sync_token.expect("token");

    // Filters that cannot go with a sync token.
    let bad = client
        .list_events(
            cal,
            &ListParams {
                sync_token: Some(token3.clone()),
                time_min: Some(t0()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.status, Some(400));
    assert_eq!(AppError::from(bad).code, ErrorCode::Validation);

    control(
        emu.base_url(),
        "faults",
        json!({"expire_sync_tokens": true}),
    )
    .await;
    let expired = client
        .list_events(
            cal,
            &ListParams {
                sync_token: Some(token3),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(expired.is_full_sync_required(), "{expired:?}");
    assert!(!expired.is_gone());

    // Time window and property filters on a full list.
    let window = client
        .list_events(
            cal,
            &ListParams {
                time_min: Some(t0() + ChronoDuration::days(3)),
                time_max: Some(t0() + ChronoDuration::days(5)),
                single_events: Some(true),
                order_by: Some("startTime".into()),
                private_extended_property: vec!["bookline=1".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = window.items.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(
        ids,
        vec!["bk00000000000000000103", "bk00000000000000000104"]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn batch_with_mixed_part_results() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "batch@example.com").await;
    let cal = &acct.calendar_id;
    let existing = client
        .insert_event(cal, &timed_event("bk00000000000000000201", "old", t0()))
        .await
        .unwrap();
    let stale_etag = existing.etag.clone().unwrap();
    client
        .patch_event(
            cal,
            "bk00000000000000000201",
            &json!({"summary": "newer"}),
            None,
        )
        .await
        .unwrap();

    let mut all_day = Event {
        id: Some("bk00000000000000000202".into()),
        summary: Some("Trade fair".into()),
        start: Some(EventDateTime::all_day(
            NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
        )),
        end: Some(EventDateTime::all_day(
            NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
        )),
        ..Default::default()
    };
    all_day.set_private_property("bookline", "1");
    let calls = vec![
        BatchCall::insert(&all_day).unwrap(),
        BatchCall::insert(&timed_event("bk00000000000000000201", "dup", t0())).unwrap(),
        BatchCall::patch(
            "bk00000000000000000201",
            json!({"summary": "x"}),
            Some(&stale_etag),
        ),
        BatchCall::delete("bknotthere01", None),
        BatchCall::get("bk00000000000000000201"),
    ];
    let results = client.batch(cal, calls).await.unwrap();
    assert_eq!(results.len(), 5);
    let inserted = results[0].as_ref().unwrap().event().unwrap();
    assert_eq!(inserted.id.as_deref(), Some("bk00000000000000000202"));
    assert!(inserted.start.unwrap().is_all_day());
    assert!(results[1].as_ref().unwrap_err().is_duplicate());
    assert!(results[2].as_ref().unwrap_err().is_precondition_failed());
    assert!(results[3].as_ref().unwrap_err().is_not_found());
    assert_eq!(
        results[4]
            .as_ref()
            .unwrap()
            .event()
            .unwrap()
            .summary
            .as_deref(),
        Some("newer")
    );

    let s = stats(emu.base_url()).await;
    assert_eq!(s["batches"]["count"], json!(1));
    assert_eq!(s["batches"]["parts"], json!(5));
    assert!(client.batch(cal, Vec::new()).await.unwrap().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_are_classified() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "faults@example.com").await;
    let cal = acct.calendar_id.clone();
    let list = || {
        let client = client.clone();
        let cal = cal.clone();
        async move { client.list_events(&cal, &ListParams::default()).await }
    };

    for (kind, status, rate_limit) in [
        ("rate_limit_429", 429, true),
        ("rate_limit_403", 403, true),
        ("user_rate_limit_403", 403, true),
        ("backend_500", 500, false),
        ("backend_503", 503, false),
    ] {
        control(
            emu.base_url(),
            "faults",
            json!({"fail_next": 1, "kinds": [kind]}),
        )
        .await;
        let e = list().await.unwrap_err();
        assert_eq!(e.status, Some(status), "{kind}");
        assert_eq!(e.is_rate_limit(), rate_limit, "{kind}");
        assert!(e.is_retryable(), "{kind}");
        assert_eq!(AppError::from(e).code, ErrorCode::Network, "{kind}");
    }

    for kind in ["truncated_json", "malformed_json"] {
        control(
            emu.base_url(),
            "faults",
            json!({"fail_next": 1, "kinds": [kind]}),
        )
        .await;
        let e = list().await.unwrap_err();
        assert_eq!(e.kind, GoogleErrorKind::InvalidResponse, "{kind}: {e:?}");
        assert!(e.message.contains("Google's answer"), "{kind}: {e}");
    }

    control(
        emu.base_url(),
        "faults",
        json!({"fail_next": 1, "kinds": ["drop_connection"]}),
    )
    .await;
    let dropped = list().await.unwrap_err();
    assert!(
        matches!(
            dropped.kind,
            GoogleErrorKind::Transport { .. } | GoogleErrorKind::InvalidResponse
        ),
        "{dropped:?}"
    );

    control(emu.base_url(), "faults", json!({})).await;
    assert!(list().await.is_ok());

    // The per-user quota answers with a rate-limit error the sync engine backs off on.
    control(
        emu.base_url(),
        "quota",
        json!({"per_user_per_minute": 2, "per_project_per_minute": 0, "window_ms": 60000}),
    )
    .await;
    let mut limited = None;
    for _ in 0..4 {
        if let Err(e) = list().await {
            limited = Some(e);
            break;
        }
    }
    let limited = limited.expect("quota kicks in");
    assert!(limited.is_rate_limit(), "{limited:?}");
    assert!(limited.is_retryable());
    emu.shutdown().await;
}

#[tokio::test]
async fn calendar_list_and_revoked_token_needs_reconnect() {
    let emu = start().await;
    let (client, acct) = client_for(&emu, "cals@example.com").await;
    let cals = client.list_calendars().await.unwrap();
    let primary = cals
        .iter()
        .find(|c| c.primary == Some(true))
        .expect("a primary calendar");
    assert_eq!(primary.id, acct.calendar_id);
    assert!(primary.is_writable());

    control(
        emu.base_url(),
        "faults",
        json!({"revoke_grants_for": ["cals@example.com"]}),
    )
    .await;
    let e = client.list_calendars().await.unwrap_err();
    assert!(e.is_needs_reconnect(), "{e:?}");
    let app = AppError::from(e.clone());
    assert_eq!(app.code, ErrorCode::NeedsReconnect);
    assert_no_token(&format!("{e} {e:?} {app} {app:?} {client:?}"), &acct);
    emu.shutdown().await;
}

#[tokio::test]
async fn unreachable_google_is_a_retryable_transport_error() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = CalendarClient::new(
        Endpoints::from_base(&format!("http://127.0.0.1:{port}")).unwrap(),
        Arc::new(StaticTokenSource::new("ya29.unreachable-token")),
    )
    .unwrap();
    let e = client.get_event("primary", "abcde").await.unwrap_err();
    assert!(
        matches!(e.kind, GoogleErrorKind::Transport { connect: true, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert!(!format!("{e} {e:?}").contains("ya29.unreachable-token"));
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_bearer_token_stays_home() {
    // Where a followed redirect would go: counts connections.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_addr = trap.local_addr().unwrap();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let trap_task = tokio::spawn(async move {
        while let Ok((_stream, _)) = trap.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let answer = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://{trap_addr}/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (base, server) = crate::oauth::canned_server(answer).await;
    let client = CalendarClient::new(
        Endpoints::from_base(&base).unwrap(),
        Arc::new(StaticTokenSource::new("ya29.must-not-travel")),
    )
    .unwrap();
    let e = client.get_event("primary", "abcde").await.unwrap_err();
    assert_eq!(e.status, Some(302));
    assert!(!e.is_retryable());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    server.abort();
    trap_task.abort();
}
