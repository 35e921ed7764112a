use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::*;

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

const REDIRECT: &str = "http://127.0.0.1:45678/callback";

fn auth_url(base: &str, verifier: &str, hint: Option<&str>) -> String {
    let mut u = url::Url::parse(&format!("{base}/o/oauth2/v2/auth")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", "bookline-test.apps.googleusercontent.com")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair(
            "scope",
            "https://www.googleapis.com/auth/calendar.events openid email",
        )
        .append_pair("state", "st4te")
        .append_pair("code_challenge", &challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent");
    if let Some(h) = hint {
        u.query_pairs_mut().append_pair("login_hint", h);
    }
    u.to_string()
}

async fn token(c: &Ctx, form: &[(&str, &str)]) -> (u16, Value) {
    let r = c
        .http
        .post(format!("{}/token", c.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn code_for(c: &Ctx, verifier: &str, hint: Option<&str>) -> String {
    let r = c
        .http
        .get(auth_url(&c.base, verifier, hint))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(REDIRECT));
    let q = query_of(&loc);
    assert_eq!(get(&q, "state"), Some("st4te"));
    get(&q, "code").unwrap().to_string()
}

#[tokio::test]
async fn full_code_flow_with_pkce_refresh_and_revoke() {
    let c = ctx().await;
    c.control(
        "clients",
        json!({"client_id": "bookline-test.apps.googleusercontent.com", "client_secret": "s3cret"}),
    )
    .await;
    c.control("consent", json!({"auto": "allow"})).await;
    let verifier = "a-long-verifier-string-of-at-least-43-characters-xyz";
    let code = code_for(&c, verifier, Some("pat@example.com")).await;
    let cid = "bookline-test.apps.googleusercontent.com";
    // Wrong verifier, wrong redirect and wrong secret are refused.
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", cid),
            ("client_secret", "s3cret"),
            ("code_verifier", "nope"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/other"),
            ("client_id", cid),
            ("client_secret", "s3cret"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("redirect_uri_mismatch"))
    );
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", cid),
            ("client_secret", "wrong"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", cid),
            ("client_secret", "s3cret"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3599);
    assert!(b["id_token"].as_str().unwrap().split('.').count() == 3);
    let access = b["access_token"].as_str().unwrap().to_string();
    let refresh = b["refresh_token"].as_str().unwrap().to_string();
    // Codes are single-use.
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", cid),
            ("client_secret", "s3cret"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // userinfo names the account picked by login_hint.
    let ui: Value = c
        .http
        .get(format!("{}/v1/userinfo", c.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["email"], "pat@example.com");
    assert!(ui["sub"].as_str().is_some_and(|s| !s.is_empty()));
    // Scopes are enforced as in the discovery document: calendar.events alone reads and
    // writes events but neither lists calendars nor reads calendar metadata.
    let r = c
        .call_with(
            reqwest::Method::GET,
            "calendars/primary/events",
            None,
            &access,
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["summary"], "pat@example.com");
    for path in ["calendars/primary", "users/me/calendarList"] {
        let r = c
            .call_with(reqwest::Method::GET, path, None, &access, None)
            .await;
        assert_eq!(
            (r.status.as_u16(), r.reason()),
            (403, "insufficientPermissions"),
            "{path}"
        );
    }
    // Refresh via HTTP Basic client authentication.
    let r = c
        .http
        .post(format!("{}/token", c.base))
        .basic_auth(cid, Some("s3cret"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let access2 = b["access_token"].as_str().unwrap().to_string();
    assert_ne!(access2, access);
    assert!(b.get("refresh_token").is_none());
    // Revoke the grant: the refresh token and its access tokens die.
    let r = c
        .http
        .post(format!("{}/revoke", c.base))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", cid),
            ("client_secret", "s3cret"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let r = c
        .call_with(
            reqwest::Method::GET,
            "calendars/primary",
            None,
            &access2,
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.reason(), "authError");
    let r = c
        .http
        .post(format!("{}/revoke", c.base))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_token");
    c.shutdown().await;
}

#[tokio::test]
async fn deny_and_manual_consent_page() {
    let c = ctx().await;
    c.control("consent", json!({"auto": "deny"})).await;
    let r = c
        .http
        .get(auth_url(&c.base, "v", None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(get(&q, "error"), Some("access_denied"));
    assert_eq!(get(&q, "state"), Some("st4te"));
    assert_eq!(get(&q, "code"), None);

    c.control("consent", json!({"auto": null})).await;
    let url = auth_url(&c.base, "verifier-manual", None);
    let r = c.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Allow") && html.contains("Deny") && html.contains("sam@example.com"));
    // Submit the form as a browser would: the original parameters plus the choice.
    let mut form: Vec<(String, String)> = query_of(&url);
    form.push(("account".into(), "sam@example.com".into()));
    form.push(("decision".into(), "allow".into()));
    let r = c
        .http
        .post(format!("{}/o/oauth2/v2/auth/decide", c.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    let code = get(&q, "code").unwrap().to_string();
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "bookline-test.apps.googleusercontent.com"),
            ("code_verifier", "verifier-manual"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let mut form = query_of(&url);
    form.push(("decision".into(), "deny".into()));
    let r = c
        .http
        .post(format!("{}/o/oauth2/v2/auth/decide", c.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=access_denied"));
    c.shutdown().await;
}

#[tokio::test]
async fn bad_authorization_requests_and_grants() {
    let c = ctx().await;
    c.control(
        "clients",
        json!({"client_id": "known", "client_secret": "x"}),
    )
    .await;
    c.control("consent", json!({"auto": "allow"})).await;
    // Unknown client with clients registered: an error page, no redirect.
    let r = c
        .http
        .get(auth_url(&c.base, "v", None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let bad = format!("{}/o/oauth2/v2/auth?client_id=known&redirect_uri=https://evil.example/cb&response_type=code&scope=openid", c.base);
    assert_eq!(c.http.get(bad).send().await.unwrap().status(), 400);
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", "4/garbage"),
            ("redirect_uri", REDIRECT),
            ("client_id", "known"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "1//nope"),
            ("client_id", "known"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert!(b["error_description"].as_str().is_some());
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "password"),
            ("client_id", "known"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    // Control-issued refresh tokens work with any registered client.
    let (s, _) = token(
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &c.refresh),
            ("client_id", "known"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    c.shutdown().await;
}

#[tokio::test]
async fn access_tokens_expire_and_missing_token_is_401() {
    let c = ctx().await;
    let r = c
        .call_with(
            reqwest::Method::GET,
            "users/me/calendarList",
            None,
            "",
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], 401);
    assert_eq!(r.body["error"]["errors"][0]["location"], "Authorization");
    let r = c
        .call_with(
            reqwest::Method::GET,
            "users/me/calendarList",
            None,
            "ya29.bogus",
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (401, "authError"));
    // A 60 s lifetime, ended by advancing the emulator's clock (no sleep, no race with
    // a busy machine).
    let t = c.control("tokens", json!({"access_ttl_secs": 60})).await;
    assert_eq!(t["access_ttl_secs"], 60);
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &c.refresh),
        ],
    )
    .await;
    assert_eq!((s, b["expires_in"].as_u64()), (200, Some(60)));
    let short = b["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        c.call_with(
            reqwest::Method::GET,
            "calendars/primary",
            None,
            &short,
            None
        )
        .await
        .status,
        200
    );
    let clock = c.control("clock", json!({"advance_ms": 50_000})).await;
    assert_eq!(clock["offset_ms"], 50_000);
    assert_eq!(
        c.call_with(
            reqwest::Method::GET,
            "calendars/primary",
            None,
            &short,
            None
        )
        .await
        .status,
        200,
        "still alive 50 s into its 60"
    );
    c.control("clock", json!({"advance_ms": 10_000})).await;
    let r = c
        .call_with(
            reqwest::Method::GET,
            "calendars/primary",
            None,
            &short,
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (401, "authError"));
    // expire_now ends every live token at once.
    assert_eq!(c.get("calendars/primary").await.status, 200);
    let e = c
        .control(
            "tokens",
            json!({"expire_now": true, "email": "sam@example.com"}),
        )
        .await;
    assert!(e["expired"].as_u64().unwrap() >= 1);
    assert_eq!(c.get("calendars/primary").await.status, 401);
    c.shutdown().await;
}

/// Google's granular consent: the user unticks calendar access. Google still redirects
/// with a code; the redirect's and the token response's `scope` hold only what was ticked.
#[tokio::test]
async fn granular_consent_grants_only_the_ticked_scopes() {
    let c = ctx().await;
    c.control(
        "consent",
        json!({"auto": "allow", "scopes": "openid email"}),
    )
    .await;
    let verifier = "a-long-verifier-string-of-at-least-43-characters-xyz";
    let r = c
        .http
        .get(auth_url(&c.base, verifier, Some("pat@example.com")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(get(&q, "scope"), Some("openid email"));
    let code = get(&q, "code").unwrap().to_string();
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "bookline-test.apps.googleusercontent.com"),
            ("client_secret", "any"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "openid email");

    // Back to everything ticked: the full scope again.
    c.control("consent", json!({"auto": "allow"})).await;
    let code = code_for(&c, verifier, Some("pat@example.com")).await;
    let (s, b) = token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "bookline-test.apps.googleusercontent.com"),
            ("client_secret", "any"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["scope"],
        "https://www.googleapis.com/auth/calendar.events openid email"
    );
}
