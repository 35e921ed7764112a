use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn fail_next_kinds_in_order_then_clear() {
    let c = ctx().await;
    c.control("faults", json!({"fail_next": 4, "kinds": ["backend_500", "backend_503", "rate_limit_429", "user_rate_limit_403"]})).await;
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = c.get("calendars/primary").await;
        got.push((r.status.as_u16(), r.reason().to_string()));
    }
    assert_eq!(
        got,
        vec![
            (500, "backendError".into()),
            (503, "backendError".into()),
            (429, "rateLimitExceeded".into()),
            (403, "userRateLimitExceeded".into()),
            (200, "".into()),
        ]
    );
    let st = c.stats().await;
    assert_eq!(st["faults_injected"]["backend_500"], 1);
    assert_eq!(st["faults_injected"]["user_rate_limit_403"], 1);
    // Route filter: only inserts fail.
    c.control("faults", json!({"rate": 1.0, "routes": ["events.insert"]}))
        .await;
    assert_eq!(c.get("calendars/primary").await.status, 200);
    let r = c
        .insert(
            "primary",
            timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (503, "backendError"));
    // A failed call did not happen.
    let l = c.get("calendars/primary/events").await;
    assert!(l.body["items"].as_array().unwrap().is_empty());
    c.control("faults", json!({})).await;
    let r = c
        .insert(
            "primary",
            timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"),
        )
        .await;
    assert_eq!(r.status, 200);
    c.shutdown().await;
}

#[tokio::test]
async fn seeded_random_faults_are_reproducible() {
    let c = ctx().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        c.control(
            "faults",
            json!({"seed": 7, "rate": 0.5, "kinds": ["backend_503", "rate_limit_403"]}),
        )
        .await;
        let mut seq = Vec::new();
        for _ in 0..30 {
            seq.push(c.get("calendars/primary").await.status.as_u16());
        }
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&200) && runs[0].iter().any(|s| *s != 200));
    c.shutdown().await;
}

#[tokio::test]
async fn corrupted_bodies_and_dropped_connections_after_the_write() {
    let c = ctx().await;
    c.control(
        "faults",
        json!({"fail_next": 1, "kinds": ["truncated_json"]}),
    )
    .await;
    let mut ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("fault0001");
    let r = c.insert("primary", ev.clone()).await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "truncated: {}",
        r.text
    );
    // The insert happened: a retry with the same id is a duplicate.
    assert_eq!(c.insert("primary", ev).await.status, 409);
    c.control(
        "faults",
        json!({"fail_next": 1, "kinds": ["malformed_json"]}),
    )
    .await;
    let r = c.get("calendars/primary/events/fault0001").await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    c.control(
        "faults",
        json!({"fail_next": 1, "kinds": ["drop_connection"]}),
    )
    .await;
    let res = async {
        let r = c
            .http
            .get(format!("{}/calendar/v3/calendars/primary/events", c.base))
            .bearer_auth(&c.token)
            .send()
            .await?;
        r.text().await
    }
    .await;
    assert!(res.is_err(), "the connection must fail");
    assert_eq!(c.get("calendars/primary").await.status, 200);
    c.shutdown().await;
}

#[tokio::test]
async fn latency_and_revoked_grants() {
    let c = ctx().await;
    c.control("faults", json!({"latency_ms": 150})).await;
    let t = Instant::now();
    assert_eq!(c.get("calendars/primary").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let f = c
        .control("faults", json!({"revoke_grants_for": ["sam@example.com"]}))
        .await;
    assert_eq!(f["grants_revoked"], 1);
    assert_eq!(f["plan"]["latency_ms"], 0);
    let r = c.get("calendars/primary").await;
    assert_eq!((r.status.as_u16(), r.reason()), (401, "authError"));
    let r = c
        .http
        .post(format!("{}/token", c.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", c.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_grant");
    let r = c
        .http
        .post(format!("{}/_emulator/faults", c.base))
        .json(&json!({"rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .http
        .post(format!("{}/_emulator/faults", c.base))
        .json(&json!({"kinds": ["meteor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    c.shutdown().await;
}

#[tokio::test]
async fn quotas_per_user_and_per_project_with_short_window() {
    let c = ctx().await;
    // A window no busy machine rolls over by accident; the test ends it by advancing the
    // emulator's clock.
    c.control(
        "quota",
        json!({"per_user_per_minute": 3, "per_project_per_minute": 5, "window_ms": 60000}),
    )
    .await;
    let mut s = Vec::new();
    for _ in 0..4 {
        let r = c.get("calendars/primary").await;
        s.push((r.status.as_u16(), r.reason().to_string()));
    }
    assert_eq!(s[3], (403, "userRateLimitExceeded".into()));
    // A second user still has room until the project limit.
    let other = c
        .control("accounts", json!({"email": "bo@example.com"}))
        .await;
    let t = other["access_token"].as_str().unwrap();
    let a = c
        .call_with(Method::GET, "calendars/primary", None, t, None)
        .await;
    let b = c
        .call_with(Method::GET, "calendars/primary", None, t, None)
        .await;
    let d = c
        .call_with(Method::GET, "calendars/primary", None, t, None)
        .await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert_eq!((d.status.as_u16(), d.reason()), (429, "rateLimitExceeded"));
    // Still the same window 50 s in …
    c.control("clock", json!({"advance_ms": 50_000})).await;
    assert_eq!(c.get("calendars/primary").await.status, 403);
    // … and a fresh one after its 60 s.
    c.control("clock", json!({"advance_ms": 10_000})).await;
    assert_eq!(c.get("calendars/primary").await.status, 200);
    let st = c.stats().await;
    assert_eq!(st["quota_rejections"]["user"], 2);
    assert_eq!(st["quota_rejections"]["project"], 1);
    let q: Value = c
        .http
        .get(format!("{}/_emulator/quota", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["window_ms"], 60000);
    c.shutdown().await;
}

#[tokio::test]
async fn stats_and_reset() {
    let c = ctx().await;
    c.get("calendars/primary/events").await;
    c.get("calendars/primary/events").await;
    c.get("calendars/primary/events/nope00001").await;
    let st = c.stats().await;
    let rows = st["requests"].as_array().unwrap();
    let find = |route: &str, status: u64| {
        rows.iter()
            .find(|r| r["route"] == route && r["status"] == status && r["method"] == "GET")
            .map(|r| r["count"].as_u64().unwrap())
    };
    assert_eq!(find("events.list", 200), Some(2));
    assert_eq!(find("events.get", 404), Some(1));
    assert_eq!(st["total"], 3);
    let r = c
        .http
        .post(format!("{}/_emulator/stats/reset", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.stats().await["total"], 0);
    c.control("reset", json!({})).await;
    let r = c.get("calendars/primary").await;
    assert_eq!(r.status, 401, "reset forgets accounts and tokens");
    let a: Value = c
        .http
        .get(format!("{}/_emulator/accounts", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(a["accounts"].as_array().unwrap().is_empty());
    c.shutdown().await;
}

/// `skip_first` lets the first eligible calls through: page 1 of a listing is read, the
/// pages after it fail (what a fault between pages looks like to a client).
#[tokio::test]
async fn skip_first_lets_the_first_calls_through_then_fails() {
    let c = ctx().await;
    c.control(
        "faults",
        json!({"routes": ["events.list"], "skip_first": 2, "fail_next": 2}),
    )
    .await;
    // Other routes are not eligible, so they neither fail nor use up the skips.
    assert_eq!(c.get("calendars/primary").await.status, 200);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(c.get("calendars/primary/events").await.status.as_u16());
    }
    assert_eq!(got, vec![200, 200, 503, 503, 200]);
    assert_eq!(c.stats().await["faults_injected"]["backend_503"], 2);
    c.shutdown().await;
}
