//! The sign-in flow against the gcal-emulator, with the test playing the browser; the
//! loopback listener's bad-input cases; token endpoint failures; the token manager; and
//! the real OS keyring.

use std::sync::Arc;
use std::time::Duration;

use bookline_core::error::{AppError, ErrorCode};
use bookline_core::google::{CalendarClient, Endpoints, TokenSource};
use bookline_core::oauth::{
    AuthorizationRequest, LoopbackListener, OAuthClient, OAuthClientConfig, OAuthError,
    TokenManager, MAX_REQUEST_BYTES,
};
use bookline_core::secrets::{self, KeyringSecretStore, MemorySecretStore, Secret, SecretStore};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::google::{account, control, start, stats};

fn config() -> OAuthClientConfig {
    OAuthClientConfig::new("bookline-test.apps.googleusercontent.com", "test-secret")
}

/// A browser that does not follow redirects, so the test can take the `Location`.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GETs the authorization URL and returns where Google (the emulator) redirects.
async fn consent_redirect(url: &url::Url) -> String {
    let resp = browser().get(url.clone()).send().await.unwrap();
    assert!(resp.status().is_redirection(), "status {}", resp.status());
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// Sends raw bytes to the listener and returns its whole answer.
async fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(port: u16, target: &str) -> String {
    raw(
        port,
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
    )
    .await
}

struct Started {
    port: u16,
    state: String,
    request: AuthorizationRequest,
    wait: tokio::task::JoinHandle<Result<bookline_core::oauth::CallbackCode, OAuthError>>,
    cancel: CancellationToken,
}

async fn start_listener(endpoints: &Endpoints, timeout: Duration) -> Started {
    let listener = LoopbackListener::bind().await.unwrap();
    assert_eq!(listener.local_addr().ip().to_string(), "127.0.0.1");
    let request =
        AuthorizationRequest::new(&config(), endpoints, &listener.redirect_uri()).unwrap();
    let port = listener.port();
    let state = request.state().to_owned();
    let cancel = CancellationToken::new();
    let wait = {
        let state = state.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move { listener.wait_for_code(&state, timeout, cancel).await })
    };
    Started {
        port,
        state,
        request,
        wait,
        cancel,
    }
}

#[tokio::test]
async fn full_loopback_flow_with_auto_consent_then_replay_finds_nobody() {
    let emu = start().await;
    let base = emu.base_url().to_owned();
    let endpoints = Endpoints::from_base(&base).unwrap();
    account(&base, "ada@example.com").await;
    control(&base, "consent", json!({"auto": "allow"})).await;

    let s = start_listener(&endpoints, Duration::from_secs(30)).await;
    let location = consent_redirect(s.request.url()).await;
    assert!(location.starts_with(&format!("http://127.0.0.1:{}/callback?", s.port)));

    // The browser's favicon probe and a stray path come first and change nothing.
    assert!(get(s.port, "/favicon.ico")
        .await
        .starts_with("HTTP/1.1 404"));
    assert!(get(s.port, "/something").await.starts_with("HTTP/1.1 404"));

    let page = browser().get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["connection"], "close");
    let html = page.text().await.unwrap();
    assert!(html.contains("Bookline is connected — you can close this tab"));

    let code = s.wait.await.unwrap().unwrap();
    assert!(!format!("{code:?}").contains("emu"));

    // Replay: the listener is gone.
    let replay = browser().get(&location).send().await;
    assert!(
        replay.is_err(),
        "a second callback must find nobody listening"
    );

    let oauth = OAuthClient::new(config(), endpoints.clone()).unwrap();
    let tokens = oauth.exchange_code(&s.request, code).await.unwrap();
    let refresh = tokens
        .refresh_token
        .clone()
        .expect("prompt=consent gives a refresh token");
    assert!(tokens.expires_in.is_some());
    let info = oauth.fetch_userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(info.email, "ada@example.com");

    let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
    secrets::save(store.clone(), &info.email, &refresh)
        .await
        .unwrap();
    let manager = Arc::new(
        TokenManager::new(oauth.clone(), store.clone(), &info.email)
            .with_initial_token(&tokens)
            .await,
    );
    let client = CalendarClient::new(endpoints.clone(), manager.clone()).unwrap();
    let cals = client.list_calendars().await.unwrap();
    assert!(cals.iter().any(|c| c.id == "ada@example.com"));

    // Nothing printable carries a token.
    let printed = format!(
        "{tokens:?} {manager:?} {client:?} {oauth:?} {:?}",
        s.request
    );
    assert!(!printed.contains(tokens.access_token.expose()));
    assert!(!printed.contains(refresh.expose()));
    assert!(!printed.contains(&s.state));

    // Disconnect: revoke, then the refresh token is dead.
    manager.revoke().await.unwrap();
    let after = oauth.refresh_access_token(&refresh).await.unwrap_err();
    assert!(matches!(after, OAuthError::InvalidGrant(_)), "{after:?}");
    assert_eq!(AppError::from(after).code, ErrorCode::NeedsReconnect);
    // Revoking again is not an error (Google says invalid_token).
    oauth.revoke_token(&refresh).await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_and_missing_state_are_refused_and_the_real_callback_still_works() {
    let endpoints = Endpoints::from_base("http://127.0.0.1:9").unwrap();
    let s = start_listener(&endpoints, Duration::from_secs(30)).await;

    let wrong = get(s.port, "/callback?state=forged&code=attacker-code").await;
    assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
    assert!(wrong.contains("does not belong to the sign-in"));
    let missing = get(s.port, "/callback?code=attacker-code").await;
    assert!(missing.starts_with("HTTP/1.1 400"));
    let denied_forged = get(s.port, "/callback?error=access_denied&state=forged").await;
    assert!(denied_forged.starts_with("HTTP/1.1 400"));
    assert!(
        !s.wait.is_finished(),
        "tampered callbacks must not end the wait"
    );

    let good = get(
        s.port,
        &format!("/callback?state={}&code=real-code", s.state),
    )
    .await;
    assert!(good.starts_with("HTTP/1.1 200"));
    assert!(good.contains("Connection: close"));
    let code = s.wait.await.unwrap().unwrap();
    assert_eq!(code.into_secret().expose(), "real-code");
}

#[tokio::test]
async fn access_denied_ends_the_wait_with_a_clear_message() {
    let emu = start().await;
    let base = emu.base_url().to_owned();
    let endpoints = Endpoints::from_base(&base).unwrap();
    control(&base, "consent", json!({"auto": "deny"})).await;

    let s = start_listener(&endpoints, Duration::from_secs(30)).await;
    let location = consent_redirect(s.request.url()).await;
    assert!(location.contains("error=access_denied"));
    let page = browser()
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("not allowed"), "{page}");
    let err = s.wait.await.unwrap().unwrap_err();
    assert_eq!(err, OAuthError::AccessDenied);
    let app = AppError::from(err);
    assert_eq!(app.code, ErrorCode::Cancelled);
    assert!(app
        .message
        .contains("chose not to let Bookline use your calendar"));
    emu.shutdown().await;
}

#[tokio::test]
async fn oversize_and_garbage_requests_are_refused_and_waiting_continues() {
    let endpoints = Endpoints::from_base("http://127.0.0.1:9").unwrap();
    let s = start_listener(&endpoints, Duration::from_secs(30)).await;

    let huge = format!(
        "GET /callback?state={}&code=c HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
        s.state,
        "a".repeat(MAX_REQUEST_BYTES + 100)
    );
    let answer = raw(s.port, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let garbage = raw(s.port, b"\x16\x03\x01 not http\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400"));
    let post = raw(
        s.port,
        format!("POST /callback?state={}&code=c HTTP/1.1\r\n\r\n", s.state).as_bytes(),
    )
    .await;
    assert!(post.starts_with("HTTP/1.1 405"));
    // An idle connection (a browser preconnect) does not block the real redirect.
    let _idle = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    assert!(!s.wait.is_finished());

    let good = get(s.port, &format!("/callback?state={}&code=ok", s.state)).await;
    assert!(good.starts_with("HTTP/1.1 200"));
    assert!(s.wait.await.unwrap().is_ok());
}

#[tokio::test]
async fn timeout_and_cancel() {
    let endpoints = Endpoints::from_base("http://127.0.0.1:9").unwrap();
    let timed = start_listener(&endpoints, Duration::from_millis(300)).await;
    let err = timed.wait.await.unwrap().unwrap_err();
    assert_eq!(err, OAuthError::Timeout);
    assert_eq!(AppError::from(err).code, ErrorCode::Cancelled);
    // The port is closed once the wait is over.
    assert!(TcpStream::connect(("127.0.0.1", timed.port)).await.is_err());

    let cancelled = start_listener(&endpoints, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancelled.cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(2), cancelled.wait)
        .await
        .expect("cancel is prompt")
        .unwrap()
        .unwrap_err();
    assert_eq!(err, OAuthError::Cancelled);
    assert!(TcpStream::connect(("127.0.0.1", cancelled.port))
        .await
        .is_err());
}

/// A one-answer HTTP server for token-endpoint failures the emulator does not fake.
pub(crate) async fn canned_server(answer: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            // Read the request head and form body (small) before answering.
            let _ = tokio::time::timeout(Duration::from_millis(200), async {
                let mut seen = 0;
                loop {
                    match stream.read(&mut buf[seen..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen += n,
                    }
                }
            })
            .await;
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (base, task)
}

#[tokio::test]
async fn token_endpoint_400_500_and_malformed_answers() {
    let emu = start().await;
    let endpoints = Endpoints::from_base(emu.base_url()).unwrap();
    let oauth = OAuthClient::new(config(), endpoints).unwrap();
    // The emulator's 400: an unknown refresh token.
    let e400 = oauth
        .refresh_access_token(&Secret::new("1//not-a-real-refresh-token"))
        .await
        .unwrap_err();
    assert!(matches!(e400, OAuthError::InvalidGrant(_)), "{e400:?}");
    assert!(!e400.to_string().contains("not-a-real-refresh-token"));

    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "500 Internal Server Error",
            "text/html",
            "<html>oops 500</html>",
            "500",
        ),
        (
            "200 OK",
            "application/json",
            r#"{"access_token": "ya29.leaky", "expires_in":"#,
            "cut off",
        ),
        (
            "200 OK",
            "application/json",
            r#"{"access_token": "ya29.leaky", !}"#,
            "not valid JSON",
        ),
        (
            "400 Bad Request",
            "application/json",
            r#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#,
            "invalid_client",
        ),
    ];
    for (status, content_type, body, expect) in cases {
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (base, server) = canned_server(answer).await;
        let oauth = OAuthClient::new(config(), Endpoints::from_base(&base).unwrap()).unwrap();
        let err = oauth
            .refresh_access_token(&Secret::new("1//refresh-secret"))
            .await
            .unwrap_err();
        let text = format!("{err} {err:?} {:?}", AppError::from(err.clone()));
        assert!(text.contains(expect), "{expect}: {text}");
        assert!(!text.contains("ya29.leaky"), "{text}");
        assert!(!text.contains("refresh-secret"), "{text}");
        if expect == "500" {
            assert!(err.is_retryable());
            assert_eq!(AppError::from(err).code, ErrorCode::Network);
        } else if expect == "invalid_client" {
            assert_eq!(AppError::from(err).code, ErrorCode::Configuration);
        } else {
            assert!(matches!(
                err,
                OAuthError::InvalidResponse {
                    status: Some(200),
                    ..
                }
            ));
        }
        server.abort();
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn token_manager_refreshes_single_flight_and_detects_a_dead_grant() {
    let emu = start().await;
    let base = emu.base_url().to_owned();
    let endpoints = Endpoints::from_base(&base).unwrap();
    let acct = account(&base, "tm@example.com").await;
    let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
    secrets::save(
        store.clone(),
        "tm@example.com",
        &Secret::new(acct.refresh_token.clone()),
    )
    .await
    .unwrap();
    let oauth = OAuthClient::new(config(), endpoints.clone()).unwrap();
    let lasting: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = lasting.clone();
    let manager = Arc::new(
        TokenManager::new(oauth, store.clone(), "tm@example.com")
            .on_needs_reconnect(move |why| seen.lock().unwrap().push(why.to_owned())),
    );

    // Ten callers at once: one refresh.
    let before = stats(&base).await["by_route"]["oauth.token"]
        .as_u64()
        .unwrap_or(0);
    let mut handles = Vec::new();
    for _ in 0..10 {
        let m = manager.clone();
        handles.push(tokio::spawn(async move { m.get_token().await }));
    }
    let mut tokens = Vec::new();
    for h in handles {
        tokens.push(h.await.unwrap().unwrap().into_inner());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    let after = stats(&base).await["by_route"]["oauth.token"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(after - before, 1, "single-flight refresh");

    // A token that expires within the margin is refreshed before use.
    let short = TokenManager::new(
        OAuthClient::new(config(), endpoints.clone()).unwrap(),
        store.clone(),
        "tm@example.com",
    )
    .with_initial_token(&bookline_core::oauth::TokenSet {
        access_token: Secret::new("about-to-expire"),
        refresh_token: None,
        expires_in: Some(Duration::from_secs(30)),
        scopes: None,
    })
    .await;
    assert_ne!(short.get_token().await.unwrap().expose(), "about-to-expire");

    // Google expires the token early (e.g. after a laptop slept): one 401, one refresh,
    // and the call succeeds.
    let client = CalendarClient::new(endpoints.clone(), manager.clone()).unwrap();
    control(&base, "tokens", json!({"expire_now": true})).await;
    client.list_calendars().await.unwrap();
    assert!(!manager.needs_reconnect());

    // 401 for a token fetched right after a 401: the grant is refused.
    let t1 = manager.get_token().await.unwrap();
    manager.token_rejected(&t1).await.unwrap();
    let t2 = manager.get_token().await.unwrap();
    assert_ne!(t1, t2);
    let err = manager.token_rejected(&t2).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect);
    assert!(manager.needs_reconnect());
    assert!(
        lasting.lock().unwrap().is_empty(),
        "a refused fresh token is not reported as lasting: a new process asks again"
    );
    manager.reset_needs_reconnect().await;
    assert_eq!(manager.needs_reconnect_reason(), None);

    // Revoked grant: the refresh answers invalid_grant → needs reconnect, and the
    // calendar call says so.
    control(
        &base,
        "faults",
        json!({"revoke_grants_for": ["tm@example.com"]}),
    )
    .await;
    let e = client.list_calendars().await.unwrap_err();
    assert!(e.is_needs_reconnect(), "{e:?}");
    assert!(manager.needs_reconnect());
    assert!(manager.get_token().await.is_err());
    assert_eq!(
        *lasting.lock().unwrap(),
        ["the grant was revoked or expired"],
        "reported once, with the reason"
    );
    assert_eq!(
        manager.needs_reconnect_reason().as_deref(),
        Some("the grant was revoked or expired")
    );

    // A manager restored in that state (a new process) refuses without asking Google.
    let before = stats(&base).await["total"].as_u64().unwrap_or(0);
    let restored = TokenManager::new(
        OAuthClient::new(config(), endpoints.clone()).unwrap(),
        store.clone(),
        "tm@example.com",
    )
    .with_needs_reconnect("the grant was revoked or expired");
    let err = restored.get_token().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NeedsReconnect);
    assert!(err.message.contains("revoked"), "{}", err.message);
    assert_eq!(stats(&base).await["total"].as_u64().unwrap_or(0), before);
    let printed = format!("{e} {e:?} {manager:?}");
    assert!(!printed.contains(&acct.refresh_token));
    assert!(!printed.contains(&acct.access_token));
    for t in &tokens {
        assert!(!printed.contains(t.as_str()));
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn userinfo_with_a_bad_token_is_refused() {
    let emu = start().await;
    let oauth = OAuthClient::new(config(), Endpoints::from_base(emu.base_url()).unwrap()).unwrap();
    let acct = account(emu.base_url(), "who@example.com").await;
    let me = oauth
        .fetch_userinfo(&Secret::new(acct.access_token.clone()))
        .await
        .unwrap();
    assert_eq!(me.email, "who@example.com");
    let err = oauth
        .fetch_userinfo(&Secret::new("ya29.bogus"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("ya29.bogus"));
    emu.shutdown().await;
}

/// The real OS keyring. Runs where a session bus exists; CI runs it inside
/// `dbus-run-session` with an unlocked gnome-keyring (see architecture.md).
#[tokio::test]
async fn real_keyring_round_trip() {
    if crate::no_secret_service() {
        return;
    }
    let store: Arc<dyn SecretStore> = Arc::new(KeyringSecretStore::with_service("bookline-test"));
    let account = format!("keyring-test-{}@example.com", std::process::id());
    let secret = Secret::new(format!("1//refresh-{}", std::process::id()));
    secrets::save(store.clone(), &account, &secret)
        .await
        .unwrap();
    let read = secrets::load(store.clone(), &account).await.unwrap();
    assert_eq!(read.as_ref().map(Secret::expose), Some(secret.expose()));
    // A second store object sees the same entry: it is really in the keyring.
    let other = KeyringSecretStore::with_service("bookline-test");
    assert_eq!(
        other.get(&account).unwrap().as_deref(),
        Some(secret.expose())
    );
    secrets::remove(store.clone(), &account).await.unwrap();
    assert!(secrets::load(store.clone(), &account)
        .await
        .unwrap()
        .is_none());
    // Deleting a missing entry is fine.
    secrets::remove(store, &account).await.unwrap();
}

/// With the session bus pointing nowhere, the keyring is unavailable: a clear
/// `ErrorCode::Keyring` error and nothing written anywhere else. Runs in a child process
/// because the keyring crate connects once per process.
#[test]
fn keyring_unavailable_is_a_clear_error() {
    if std::env::var_os("BOOKLINE_KEYRING_CHILD").is_some() {
        let store = KeyringSecretStore::with_service("bookline-test");
        let err = store.set("nobody@example.com", "secret-value").unwrap_err();
        assert_eq!(err.code, ErrorCode::Keyring);
        assert!(
            err.message
                .starts_with("The system keyring is not available"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("secret-value"));
        assert_eq!(
            store.get("nobody@example.com").unwrap_err().code,
            ErrorCode::Keyring
        );
        assert!(KeyringSecretStore::check_available().is_err());
        return;
    }
    // Every place a fallback could write to — HOME and each XDG base directory — is an
    // empty directory of the test's own, so "nothing written elsewhere" can be checked.
    let dir = tempfile::tempdir().unwrap();
    let place = |name: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir(&p).unwrap();
        p
    };
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "oauth::keyring_unavailable_is_a_clear_error",
            "--exact",
            "--nocapture",
        ])
        .env("BOOKLINE_KEYRING_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", dir.path().display()),
        );
    for (var, name) in [
        ("HOME", "home"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_RUNTIME_DIR", "runtime"),
    ] {
        child.env(var, place(name));
    }
    let out = child.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
    // No plain-text fallback: not one file anywhere under those directories.
    fn files_under(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    files_under(dir.path(), &mut found);
    assert!(found.is_empty(), "written outside the keyring: {found:?}");
}

#[tokio::test]
async fn sign_in_helper_runs_the_whole_flow() {
    let emu = start().await;
    let base = emu.base_url().to_owned();
    account(&base, "first@example.com").await;
    account(&base, "hinted@example.com").await;
    control(&base, "consent", json!({"auto": "allow"})).await;
    let oauth = OAuthClient::new(config(), Endpoints::from_base(&base).unwrap()).unwrap();

    let signed = bookline_core::oauth::sign_in(
        &oauth,
        Some("hinted@example.com"),
        |url| {
            // The test is the browser: follow Google's redirect to the listener.
            let url = url.clone();
            tokio::spawn(async move {
                let location = consent_redirect(&url).await;
                browser().get(&location).send().await.unwrap();
            });
            Ok(())
        },
        Duration::from_secs(30),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(signed.user.email, "hinted@example.com");
    assert!(!format!("{signed:?}").contains(signed.refresh_token.expose()));

    let failed = bookline_core::oauth::sign_in(
        &oauth,
        None,
        |_| Err("no browser installed".to_owned()),
        Duration::from_secs(5),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(failed.to_string().contains("no browser installed"));
    emu.shutdown().await;
}
