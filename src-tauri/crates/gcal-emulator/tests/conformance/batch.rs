use serde_json::{json, Value};

use crate::common::*;

fn part(id: &str, method: &str, path: &str, body: Option<&Value>) -> String {
    let mut s = format!("--XBOUND\r\nContent-Type: application/http\r\nContent-ID: <{id}>\r\n\r\n{method} {path} HTTP/1.1\r\n");
    match body {
        Some(b) => s.push_str(&format!("Content-Type: application/json\r\n\r\n{b}\r\n")),
        None => s.push_str("\r\n"),
    }
    s
}

/// Splits a multipart answer into (Content-ID, status, JSON body) per part.
fn parse_answer(content_type: &str, body: &str) -> Vec<(String, u16, Value)> {
    let b = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    body.split(&format!("--{b}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|p| {
            let cid = p
                .lines()
                .find_map(|l| l.strip_prefix("Content-ID: "))
                .unwrap()
                .to_string();
            let http = p.split("\r\n\r\n").nth(1).unwrap();
            let status: u16 = http.split(' ').nth(1).unwrap().parse().unwrap();
            let json_body = p.splitn(3, "\r\n\r\n").nth(2).unwrap_or("").trim();
            (
                cid,
                status,
                serde_json::from_str(json_body).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test]
async fn batch_parts_have_their_own_status() {
    let c = ctx().await;
    let mut ev = timed("batched", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("batch0001");
    let mut body = String::new();
    body.push_str(&part(
        "item1:1",
        "POST",
        "/calendar/v3/calendars/primary/events",
        Some(&ev),
    ));
    body.push_str(&part(
        "item2:1",
        "POST",
        "/calendar/v3/calendars/primary/events",
        Some(&ev),
    ));
    body.push_str(&part(
        "item3:1",
        "GET",
        "/calendar/v3/calendars/primary/events/missing01",
        None,
    ));
    body.push_str(&part(
        "item4:1",
        "PATCH",
        "/calendar/v3/calendars/primary/events/batch0001",
        Some(&json!({"summary": "patched"})),
    ));
    body.push_str(&part(
        "item5:1",
        "DELETE",
        "/calendar/v3/calendars/primary/events/batch0001",
        None,
    ));
    body.push_str("--XBOUND--\r\n");
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .bearer_auth(&c.token)
        .header("Content-Type", "multipart/mixed; boundary=XBOUND")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("multipart/mixed"));
    let parts = parse_answer(&ct, &r.text().await.unwrap());
    let got: Vec<(&str, u16)> = parts.iter().map(|(c, s, _)| (c.as_str(), *s)).collect();
    assert_eq!(
        got,
        vec![
            ("<response-item1:1>", 200),
            ("<response-item2:1>", 409),
            ("<response-item3:1>", 404),
            ("<response-item4:1>", 200),
            ("<response-item5:1>", 204)
        ]
    );
    assert_eq!(parts[1].2["error"]["errors"][0]["reason"], "duplicate");
    assert_eq!(parts[3].2["summary"], "patched");
    let st = c.stats().await;
    assert_eq!(st["batches"]["count"], 1);
    assert_eq!(st["batches"]["sizes"][0], 5);
    assert_eq!(st["by_route"]["events.insert"], 2);
    assert_eq!(st["by_route"]["batch"], 1);
    c.shutdown().await;
}

#[tokio::test]
async fn batch_limits_quota_and_lf_line_endings() {
    let c = ctx().await;
    // LF-only parts, auth per part, full URLs: as some clients send them.
    let mut body = String::new();
    for i in 0..3 {
        body.push_str(&format!(
            "--b1\nContent-Type: application/http\nContent-ID: <x+{i}>\n\nGET https://www.googleapis.com/calendar/v3/calendars/primary HTTP/1.1\nAuthorization: Bearer {}\n\n\n",
            c.token
        ));
    }
    body.push_str("--b1--\n");
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .header("Content-Type", "multipart/mixed; boundary=\"b1\"")
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let parts = parse_answer(&ct, &r.text().await.unwrap());
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p.1 == 200));
    assert_eq!(parts[2].0, "<response-x+2>");
    // Each part counts against the quota.
    c.control(
        "quota",
        json!({"per_user_per_minute": 4, "window_ms": 60000}),
    )
    .await;
    let mut body = String::new();
    for i in 0..6 {
        body.push_str(&part(
            &format!("q{i}"),
            "GET",
            "/calendar/v3/calendars/primary",
            None,
        ));
    }
    body.push_str("--XBOUND--\r\n");
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .bearer_auth(&c.token)
        .header("Content-Type", "multipart/mixed; boundary=XBOUND")
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let statuses: Vec<u16> = parse_answer(&ct, &r.text().await.unwrap())
        .iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 200, 403, 403]);
    c.control(
        "quota",
        json!({"per_user_per_minute": 0, "per_project_per_minute": 0}),
    )
    .await;
    // More than 1000 parts is refused.
    let mut body = String::new();
    for i in 0..1001 {
        body.push_str(&part(
            &format!("p{i}"),
            "GET",
            "/calendar/v3/calendars/primary",
            None,
        ));
    }
    body.push_str("--XBOUND--\r\n");
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .bearer_auth(&c.token)
        .header("Content-Type", "multipart/mixed; boundary=XBOUND")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    c.shutdown().await;
}
