use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use gcal_emulator::EmulatorOptions;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn state_file_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emu.json");
    let c = ctx_with(EmulatorOptions {
        state_file: Some(path.clone()),
        ..Default::default()
    })
    .await;
    let mut ev = timed("persisted", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("persist01");
    assert_eq!(c.insert("primary", ev).await.status, 200);
    let (_, _, last) = list_all(&c, "primary", "").await;
    let sync = last["nextSyncToken"].as_str().unwrap().to_string();
    let token = c.token.clone();
    c.shutdown().await;
    assert!(path.exists());
    let emu = gcal_emulator::Emulator::start(EmulatorOptions {
        state_file: Some(path.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/calendar/v3/calendars/primary/events/persist01",
            emu.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["summary"], "persisted");
    let r = http
        .get(format!(
            "{}/calendar/v3/calendars/primary/events?syncToken={sync}",
            emu.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "sync tokens stay valid across restarts");
    emu.shutdown().await;
}

#[tokio::test]
async fn seed_demo_is_realistic() {
    let c = ctx_with(EmulatorOptions {
        seed_demo: true,
        ..Default::default()
    })
    .await;
    let a = c
        .control("accounts", json!({"email": "demo@example.com"}))
        .await;
    let t = a["access_token"].as_str().unwrap().to_string();
    let mut d = Ctx {
        emu: None,
        base: c.base.clone(),
        http: c.http.clone(),
        token: t,
        refresh: String::new(),
    };
    let (items, _, _) = list_all(&d, "primary", "maxResults=2500").await;
    assert!(items.len() >= 200, "{} events", items.len());
    assert!(
        items.iter().any(|i| i["start"]["date"].is_string()),
        "all-day"
    );
    assert!(items.iter().any(|i| i["recurrence"].is_array()), "series");
    assert!(items.iter().any(|i| i["status"] == "tentative"));
    assert!(items
        .iter()
        .any(|i| i["attendees"].as_array().is_some_and(|a| a
            .iter()
            .any(|x| x["self"] == true && x["responseStatus"] == "declined"))));
    assert!(items
        .iter()
        .any(|i| i["start"]["timeZone"] == "America/New_York"));
    assert!(items
        .iter()
        .any(|i| i["recurringEventId"].is_string() && i["status"] == "cancelled"));
    let (expanded, _, _) = list_all(&d, "primary", "singleEvents=true&maxResults=2500").await;
    assert!(expanded.len() > items.len());
    d.token.clear();
    c.shutdown().await;
}

#[tokio::test]
async fn binary_prints_its_url_first() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gcal-emulator"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    let r = reqwest::Client::new()
        .post(format!("{url}/_emulator/accounts"))
        .json(&json!({"email": "a@b.c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
