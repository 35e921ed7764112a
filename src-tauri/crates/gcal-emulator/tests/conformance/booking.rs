//! Issue #17 "Book with the lead": the "would have emailed" record, attendees and their
//! answers, conference creation and freeBusy.

use gcal_emulator::{MailKind, WouldBeMail};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

fn with_guests(id: &str, guests: &[&str]) -> Value {
    let mut ev = timed("Demo call", "2030-03-07T10:00:00Z", "2030-03-07T10:30:00Z");
    ev["id"] = json!(id);
    ev["attendees"] = json!(guests
        .iter()
        .map(|g| json!({"email": g}))
        .collect::<Vec<_>>());
    ev
}

async fn batch(c: &Ctx, parts: &[(&str, String, Option<Value>)]) -> String {
    let boundary = "b0undary";
    let mut body = String::new();
    for (n, (method, path, event)) in parts.iter().enumerate() {
        let event = event.as_ref().map(Value::to_string).unwrap_or_default();
        body.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\n{method} /calendar/v3/{path} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{event}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let r = c
        .http
        .post(format!("{}/batch/calendar/v3", c.base))
        .bearer_auth(&c.token)
        .header(
            "Content-Type",
            format!("multipart/mixed; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn mail(method: &str, event: &str, to: &[&str], kind: MailKind, mode: &str) -> WouldBeMail {
    WouldBeMail {
        method: method.into(),
        calendar_id: "sam@example.com".into(),
        event_id: event.into(),
        recipients: to.iter().map(|s| s.to_string()).collect(),
        kind,
        send_updates: mode.into(),
    }
}

#[tokio::test]
async fn mail_outbox_records_writes_that_would_email_guests() {
    let c = ctx().await;
    let emu = c.emu.as_ref().expect("running");
    let ev = "calendars/primary/events";
    // sendUpdates none or missing: nobody is mailed, whatever the guests.
    for (q, id) in [("?sendUpdates=none", "mail00001"), ("", "mail00002")] {
        let r = c
            .call(
                Method::POST,
                &format!("{ev}{q}"),
                Some(with_guests(id, &["ada@lead.com"])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // all, but no guest besides the organizer: nobody to mail.
    let r = c
        .call(
            Method::POST,
            &format!("{ev}?sendUpdates=all"),
            Some(with_guests("mail00003", &["sam@example.com"])),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(emu.mail_outbox(), vec![]);

    // The invitation, then an update and a cancellation.
    let r = c
        .call(
            Method::POST,
            &format!("{ev}?sendUpdates=all&conferenceDataVersion=0"),
            Some(with_guests(
                "mail00004",
                &["sam@example.com", "ada@lead.com", "bob@example.com"],
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .call(
            Method::PATCH,
            &format!("{ev}/mail00004?sendUpdates=externalOnly"),
            Some(json!({"summary": "Demo call (moved)"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .call(
            Method::PATCH,
            &format!("{ev}/mail00004?sendUpdates=none"),
            Some(json!({"summary": "quiet"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .call(
            Method::DELETE,
            &format!("{ev}/mail00004?sendUpdates=all"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    // A failed write mails nobody; import never mails.
    let r = c
        .call(
            Method::DELETE,
            &format!("{ev}/mail00004?sendUpdates=all"),
            None,
        )
        .await;
    assert_eq!(r.status, 410);
    let mut imp = with_guests("mail00005", &["ada@lead.com"]);
    imp["iCalUID"] = json!("imported-1@example.com");
    let r = c
        .call(
            Method::POST,
            &format!("{ev}/import?sendUpdates=all"),
            Some(imp),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The deprecated sendNotifications=true mails like all.
    let r = c
        .call(
            Method::PUT,
            &format!("{ev}/mail00002?sendNotifications=true"),
            Some(with_guests("mail00002", &["ada@lead.com", "cy@lead.com"])),
        )
        .await;
    assert_eq!(r.status, 200);
    let expected = vec![
        mail(
            "insert",
            "mail00004",
            &["ada@lead.com", "bob@example.com"],
            MailKind::Invitation,
            "all",
        ),
        mail(
            "patch",
            "mail00004",
            &["ada@lead.com"],
            MailKind::Update,
            "externalOnly",
        ),
        mail(
            "delete",
            "mail00004",
            &["ada@lead.com", "bob@example.com"],
            MailKind::Cancellation,
            "all",
        ),
        mail(
            "update",
            "mail00002",
            &["cy@lead.com"],
            MailKind::Invitation,
            "all",
        ),
        mail(
            "update",
            "mail00002",
            &["ada@lead.com"],
            MailKind::Update,
            "all",
        ),
    ];
    assert_eq!(emu.mail_outbox(), expected);
    // The same record in the stats, beside the existing counters.
    let s = c.stats().await;
    assert_eq!(s["mail_outbox"], serde_json::to_value(&expected).unwrap());
    assert_eq!(s["mail_outbox"][0]["kind"], "invitation");
    assert!(s["send_updates"]["all"].as_u64().unwrap() >= 3);
    // A stats reset keeps the record; a full reset clears it.
    c.control("stats/reset", json!({})).await;
    assert_eq!(emu.mail_outbox().len(), 5);
    c.control("reset", json!({})).await;
    assert_eq!(emu.mail_outbox(), vec![]);
    assert_eq!(c.stats().await["mail_outbox"], json!([]));
    c.shutdown().await;
}

#[tokio::test]
async fn mail_outbox_counts_batch_parts_and_moves() {
    let c = ctx().await;
    let emu = c.emu.as_ref().expect("running");
    let dest = c
        .call(
            Method::POST,
            "calendars",
            Some(json!({"summary": "Bookings"})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = batch(
        &c,
        &[
            (
                "POST",
                "calendars/primary/events?sendUpdates=all".into(),
                Some(with_guests("batch0001", &["ada@lead.com"])),
            ),
            (
                "POST",
                "calendars/primary/events?sendUpdates=none".into(),
                Some(with_guests("batch0002", &["ada@lead.com"])),
            ),
            (
                "PATCH",
                "calendars/primary/events/nosuch0001?sendUpdates=all".into(),
                Some(json!({"summary": "x"})),
            ),
        ],
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    let r = c
        .call(
            Method::POST,
            &format!("calendars/primary/events/batch0002/move?destination={dest}&sendUpdates=all"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let out = emu.mail_outbox();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[0],
        mail(
            "insert",
            "batch0001",
            &["ada@lead.com"],
            MailKind::Invitation,
            "all"
        )
    );
    assert_eq!(
        (
            out[1].method.as_str(),
            out[1].calendar_id.as_str(),
            out[1].kind
        ),
        ("move", dest.as_str(), MailKind::Update)
    );
    c.shutdown().await;
}
