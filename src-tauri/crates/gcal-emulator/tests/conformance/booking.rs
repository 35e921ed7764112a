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

async fn respond_http(c: &Ctx, body: Value) -> (u16, Value) {
    let r = c
        .http
        .post(format!("{}/_emulator/respond", c.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn attendees_get_response_status_and_organizer_flags() {
    let c = ctx().await;
    let mut ev = with_guests("guest0001", &[]);
    ev["attendees"] = json!([
        {"email": "sam@example.com"},
        {"email": "ada@lead.com", "displayName": "Ada", "self": true, "organizer": true},
        {"email": "bo@lead.com", "responseStatus": "tentative", "optional": true},
    ]);
    let r = c.insert("primary", ev).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["attendees"],
        json!([
            {"email": "sam@example.com", "responseStatus": "needsAction", "organizer": true, "self": true},
            {"email": "ada@lead.com", "displayName": "Ada", "responseStatus": "needsAction"},
            {"email": "bo@lead.com", "responseStatus": "tentative", "optional": true},
        ])
    );
    assert_eq!(
        r.body["organizer"],
        json!({"email": "sam@example.com", "self": true})
    );
    // On a secondary calendar the calendar organises; the user is only `self`.
    let team = c.get("users/me/calendarList").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["summary"] == "Team")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .insert(
            &team,
            with_guests("guest0002", &["sam@example.com", "ada@lead.com"]),
        )
        .await;
    assert_eq!(r.body["attendees"][0]["self"], true);
    assert!(r.body["attendees"][0].get("organizer").is_none());
    // Patching the guests keeps the rules.
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/guest0001",
            Some(json!({"attendees": [{"email": "ada@lead.com", "responseStatus": "accepted"}]})),
        )
        .await;
    assert_eq!(
        r.body["attendees"],
        json!([{"email": "ada@lead.com", "responseStatus": "accepted"}])
    );
    // Bad guests are refused.
    let mut bad = with_guests("guest0003", &[]);
    bad["attendees"] = json!([{"displayName": "No mail"}]);
    let r = c.insert("primary", bad.clone()).await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "required"));
    bad["attendees"] = json!([{"email": "x@lead.com", "responseStatus": "maybe"}]);
    let r = c.insert("primary", bad).await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    c.shutdown().await;
}

#[tokio::test]
async fn a_guest_answers_through_the_control_api_and_sync_tokens_see_it() {
    let c = ctx().await;
    let emu = c.emu.as_ref().expect("running");
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?sendUpdates=all",
            Some(with_guests("ansr00001", &["ada@lead.com"])),
        )
        .await;
    assert_eq!(r.status, 200);
    let inserted = r.body;
    let (_, _, last) = list_all(&c, "primary", "maxResults=50").await;
    let sync = last["nextSyncToken"].as_str().unwrap().to_string();

    let (status, ev) = respond_http(
        &c,
        json!({"calendar_id": "primary", "event_id": "ansr00001", "email": "Ada@Lead.com",
               "response": "declined", "comment": "Can't make it"}),
    )
    .await;
    assert_eq!(status, 200, "{ev}");
    assert_eq!(ev["attendees"][0]["responseStatus"], "declined");
    assert_eq!(ev["attendees"][0]["comment"], "Can't make it");
    assert_ne!(ev["etag"], inserted["etag"]);
    assert_ne!(ev["updated"], inserted["updated"]);
    assert_eq!(ev["sequence"], inserted["sequence"]);
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync}"))
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["attendees"][0]["responseStatus"], "declined");
    let sync = r.body["nextSyncToken"].as_str().unwrap().to_string();

    // The Rust handle, by the real calendar id.
    let ev = emu
        .respond("sam@example.com", "ansr00001", "ada@lead.com", "accepted")
        .unwrap();
    assert_eq!(ev["attendees"][0]["responseStatus"], "accepted");
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync}"))
        .await;
    assert_eq!(
        r.body["items"][0]["attendees"][0]["responseStatus"],
        "accepted"
    );
    // Answers are not writes by the user: nothing more is mailed.
    assert_eq!(emu.mail_outbox().len(), 1);

    // Errors: unknown response 400, unknown event or attendee 404.
    let (status, e) = respond_http(
        &c,
        json!({"calendar_id": "primary", "event_id": "ansr00001", "email": "ada@lead.com", "response": "maybe"}),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("maybe"));
    for (event, email) in [("nosuch001", "ada@lead.com"), ("ansr00001", "zed@lead.com")] {
        let (status, e) = respond_http(
            &c,
            json!({"calendar_id": "primary", "event_id": event, "email": email, "response": "accepted"}),
        )
        .await;
        assert_eq!(status, 404, "{e}");
        assert!(e["error"].is_string());
    }
    assert!(matches!(
        emu.respond("primary", "ansr00001", "zed@lead.com", "accepted"),
        Err(gcal_emulator::RespondError::AttendeeNotFound { .. })
    ));
    assert!(matches!(
        emu.respond("primary", "ansr00001", "ada@lead.com", "yes"),
        Err(gcal_emulator::RespondError::UnknownResponse(_))
    ));
    // A deleted event can't be answered.
    c.call(Method::DELETE, "calendars/primary/events/ansr00001", None)
        .await;
    assert!(matches!(
        emu.respond("primary", "ansr00001", "ada@lead.com", "accepted"),
        Err(gcal_emulator::RespondError::EventNotFound { .. })
    ));
    c.shutdown().await;
}

#[tokio::test]
async fn answering_one_occurrence_stores_an_exception() {
    let c = ctx().await;
    let emu = c.emu.as_ref().expect("running");
    let mut ev = with_guests("series001", &["ada@lead.com"]);
    ev["start"] = json!({"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Berlin"});
    ev["end"] = json!({"dateTime": "2030-03-04T11:00:00+01:00", "timeZone": "Europe/Berlin"});
    ev["recurrence"] = json!(["RRULE:FREQ=WEEKLY;COUNT=3"]);
    assert_eq!(c.insert("primary", ev).await.status, 200);
    let ev = emu
        .respond(
            "primary",
            "series001_20300311T090000Z",
            "ada@lead.com",
            "tentative",
        )
        .unwrap();
    assert_eq!(ev["recurringEventId"], "series001");
    let r = c.get("calendars/primary/events/series001/instances").await;
    let answers: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["attendees"][0]["responseStatus"].as_str().unwrap())
        .collect();
    assert_eq!(answers, ["needsAction", "tentative", "needsAction"]);
    c.shutdown().await;
}

fn meet_request(rid: &str) -> Value {
    json!({"createRequest": {"requestId": rid, "conferenceSolutionKey": {"type": "hangoutsMeet"}}})
}

fn is_meet_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [3, 4, 3]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
}

#[tokio::test]
async fn conference_creation_with_conference_data_version_1() {
    let c = ctx().await;
    let mut ev = with_guests("meet00001", &[]);
    ev["conferenceData"] = meet_request("req-1");
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?conferenceDataVersion=1&sendUpdates=none",
            Some(ev.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = r.body["hangoutLink"].as_str().unwrap().to_string();
    let code = link.strip_prefix("https://meet.google.com/").unwrap();
    assert!(is_meet_code(code), "{link}");
    assert_eq!(
        r.body["conferenceData"],
        json!({
            "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"},
                              "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": link, "label": format!("meet.google.com/{code}")}],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"},
            "conferenceId": code,
        })
    );
    let stored = c.get("calendars/primary/events/meet00001").await.body;
    assert_eq!(stored, r.body);

    // Without conferenceDataVersion=1 the body's conferenceData is ignored: none on
    // insert, the existing one kept on patch/update.
    for (q, id) in [("", "meet00002"), ("?conferenceDataVersion=0", "meet00003")] {
        let mut ev = with_guests(id, &[]);
        ev["conferenceData"] = meet_request("req-x");
        let r = c
            .call(
                Method::POST,
                &format!("calendars/primary/events{q}"),
                Some(ev),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.body.get("conferenceData").is_none(), "{}", r.text);
        assert!(r.body.get("hangoutLink").is_none());
    }
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/meet00001",
            Some(json!({"summary": "renamed", "conferenceData": meet_request("req-2")})),
        )
        .await;
    assert_eq!(r.body["hangoutLink"], link.as_str());
    let mut put = timed("put", "2030-03-07T11:00:00Z", "2030-03-07T12:00:00Z");
    let r = c
        .call(
            Method::PUT,
            "calendars/primary/events/meet00001",
            Some(put.clone()),
        )
        .await;
    assert_eq!(r.body["hangoutLink"], link.as_str());
    assert_eq!(r.body["conferenceData"], stored["conferenceData"]);
    // With version 1: a body that keeps the conference keeps it; the same requestId is
    // the same conference; a new requestId a new one.
    put["conferenceData"] = r.body["conferenceData"].clone();
    let r = c
        .call(
            Method::PUT,
            "calendars/primary/events/meet00001?conferenceDataVersion=1",
            Some(put),
        )
        .await;
    assert_eq!(r.body["hangoutLink"], link.as_str());
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/meet00001?conferenceDataVersion=1",
            Some(json!({"summary": "again"})),
        )
        .await;
    assert_eq!(r.body["hangoutLink"], link.as_str());
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/meet00001?conferenceDataVersion=1",
            Some(json!({"conferenceData": meet_request("req-1")})),
        )
        .await;
    assert_eq!(r.body["hangoutLink"], link.as_str());
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/meet00002?conferenceDataVersion=1",
            Some(json!({"conferenceData": meet_request("req-1")})),
        )
        .await;
    let other = r.body["hangoutLink"].as_str().unwrap();
    assert_ne!(other, link, "another event, another conference");

    // Bad input.
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/meet00003?conferenceDataVersion=2",
            Some(json!({"summary": "x"})),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    let mut zoom = with_guests("meet00004", &[]);
    zoom["conferenceData"] =
        json!({"createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "addOn"}}});
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?conferenceDataVersion=1",
            Some(zoom),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    assert_eq!(r.body["error"]["message"], "Invalid conference type value.");
    c.shutdown().await;
}

#[tokio::test]
async fn conference_fault_failure_and_pending() {
    let c = ctx().await;
    c.control("faults", json!({"conference": "failure"})).await;
    assert_eq!(
        c.http
            .get(format!("{}/_emulator/faults", c.base))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["plan"]["conference"],
        "failure"
    );
    let mut ev = with_guests("conf00001", &[]);
    ev["conferenceData"] = meet_request("try-1");
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?conferenceDataVersion=1",
            Some(ev),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["conferenceData"],
        json!({"createRequest": {"requestId": "try-1", "conferenceSolutionKey": {"type": "hangoutsMeet"},
                                 "status": {"statusCode": "failure"}}})
    );
    assert!(r.body.get("hangoutLink").is_none());
    // Failures are not completed later; a retry with a new requestId is.
    c.control("faults", json!({})).await;
    let r = c.get("calendars/primary/events/conf00001").await;
    assert_eq!(
        r.body["conferenceData"]["createRequest"]["status"]["statusCode"],
        "failure"
    );
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/conf00001?conferenceDataVersion=1",
            Some(json!({"conferenceData": meet_request("try-2")})),
        )
        .await;
    assert!(r.body["hangoutLink"].is_string(), "{}", r.text);

    // Pending: no link until the plan is set back to success, then a change for sync.
    c.control("faults", json!({"conference": "pending"})).await;
    let mut ev = with_guests("conf00002", &[]);
    ev["conferenceData"] = meet_request("wait-1");
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?conferenceDataVersion=1",
            Some(ev),
        )
        .await;
    assert_eq!(
        r.body["conferenceData"]["createRequest"]["status"]["statusCode"],
        "pending"
    );
    assert!(r.body.get("hangoutLink").is_none());
    let pending_etag = r.body["etag"].clone();
    let (_, _, last) = list_all(&c, "primary", "maxResults=50").await;
    let sync = last["nextSyncToken"].as_str().unwrap().to_string();
    // Another plan that still says pending completes nothing.
    let a = c
        .control("faults", json!({"conference": "pending", "latency_ms": 0}))
        .await;
    assert_eq!(a["conferences_completed"], 0);
    let a = c.control("faults", json!({})).await;
    assert_eq!(a["conferences_completed"], 1);
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync}"))
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["id"], "conf00002");
    assert_ne!(items[0]["etag"], pending_etag);
    assert_eq!(
        items[0]["conferenceData"]["createRequest"]["status"]["statusCode"],
        "success"
    );
    let link = items[0]["hangoutLink"].as_str().unwrap();
    assert_eq!(items[0]["conferenceData"]["entryPoints"][0]["uri"], link);
    c.shutdown().await;
}

async fn free_busy(c: &Ctx, token: &str, body: Value) -> Resp {
    c.call_with(Method::POST, "freeBusy", Some(body), token, None)
        .await
}

#[tokio::test]
async fn free_busy_merges_clips_and_expands() {
    let c = ctx().await;
    let ins = |id: &str, s: &str, e: &str, extra: Value| {
        let mut ev = timed(id, s, e);
        ev["id"] = json!(id);
        if let Value::Object(m) = extra {
            for (k, v) in m {
                ev[k] = v;
            }
        }
        ev
    };
    for ev in [
        // Overlapping and touching: one block 09:00–13:00, clipped to the window start.
        ins(
            "blk000001",
            "2030-03-07T08:00:00Z",
            "2030-03-07T11:00:00Z",
            json!({}),
        ),
        ins(
            "blk000002",
            "2030-03-07T10:30:00Z",
            "2030-03-07T12:00:00Z",
            json!({}),
        ),
        ins(
            "blk000003",
            "2030-03-07T12:00:00Z",
            "2030-03-07T13:00:00Z",
            json!({}),
        ),
        // Not busy: transparent, declined by the user, deleted (below).
        ins(
            "free00001",
            "2030-03-07T14:00:00Z",
            "2030-03-07T15:00:00Z",
            json!({"transparency": "transparent"}),
        ),
        ins(
            "free00002",
            "2030-03-07T15:00:00Z",
            "2030-03-07T16:00:00Z",
            json!({"attendees": [{"email": "sam@example.com", "responseStatus": "declined"}, {"email": "x@lead.com"}]}),
        ),
        ins(
            "free00003",
            "2030-03-07T16:00:00Z",
            "2030-03-07T17:00:00Z",
            json!({}),
        ),
        // Tentative is busy; zero-length is nothing.
        ins(
            "blk000004",
            "2030-03-07T17:30:00+01:00",
            "2030-03-07T18:00:00+01:00",
            json!({"status": "tentative"}),
        ),
        ins(
            "free00004",
            "2030-03-07T19:00:00Z",
            "2030-03-07T19:00:00Z",
            json!({}),
        ),
        // A daily series: one occurrence cancelled, one moved.
        ins(
            "rec000001",
            "2030-03-06T20:00:00+01:00",
            "2030-03-06T21:00:00+01:00",
            json!({"start": {"dateTime": "2030-03-06T20:00:00+01:00", "timeZone": "Europe/Berlin"},
                   "end": {"dateTime": "2030-03-06T21:00:00+01:00", "timeZone": "Europe/Berlin"},
                   "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]}),
        ),
    ] {
        let r = c.insert("primary", ev).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    c.call(Method::DELETE, "calendars/primary/events/free00003", None)
        .await;
    c.call(
        Method::DELETE,
        "calendars/primary/events/rec000001_20300307T190000Z",
        None,
    )
    .await;
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/rec000001_20300308T190000Z",
            Some(json!({"start": {"dateTime": "2030-03-08T06:00:00Z"}, "end": {"dateTime": "2030-03-08T07:00:00Z"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An all-day event on a calendar in Berlin: local midnight to midnight.
    let berlin = c
        .call(
            Method::POST,
            "calendars",
            Some(json!({"summary": "Berlin", "timeZone": "Europe/Berlin"})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut all_day =
        json!({"summary": "Fair", "start": {"date": "2030-03-07"}, "end": {"date": "2030-03-08"}});
    assert_eq!(c.insert(&berlin, all_day.clone()).await.status, 200);
    all_day["transparency"] = json!("transparent");
    all_day["start"] = json!({"date": "2030-03-08"});
    all_day["end"] = json!({"date": "2030-03-09"});
    assert_eq!(c.insert(&berlin, all_day).await.status, 200);

    let r = free_busy(
        &c,
        &c.token,
        json!({"timeMin": "2030-03-07T09:00:00Z", "timeMax": "2030-03-09T00:00:00+01:00",
               "timeZone": "Europe/Berlin",
               "items": [{"id": "primary"}, {"id": berlin}, {"id": "nobody@example.com"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let busy = |start: &str, end: &str| json!({"start": start, "end": end});
    assert_eq!(
        r.body,
        json!({
            "kind": "calendar#freeBusy",
            "timeMin": "2030-03-07T09:00:00.000Z",
            "timeMax": "2030-03-08T23:00:00.000Z",
            "calendars": {
                "primary": {"busy": [
                    busy("2030-03-07T09:00:00Z", "2030-03-07T13:00:00Z"),
                    busy("2030-03-07T16:30:00Z", "2030-03-07T17:00:00Z"),
                    busy("2030-03-08T06:00:00Z", "2030-03-08T07:00:00Z"),
                ]},
                // Berlin's 7 March runs 23:00 UTC to 23:00 UTC, clipped to the window.
                berlin.clone(): {"busy": [busy("2030-03-07T09:00:00Z", "2030-03-07T23:00:00Z")]},
                "nobody@example.com": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []},
            },
        }),
        "{}",
        r.text
    );
    // A later window sees the rest of the series (the 9th and 10th at 19:00 UTC).
    let r = free_busy(
        &c,
        &c.token,
        json!({"timeMin": "2030-03-09T00:00:00Z", "timeMax": "2030-03-11T00:00:00Z",
               "items": [{"id": "sam@example.com"}]}),
    )
    .await;
    assert_eq!(
        r.body["calendars"]["sam@example.com"]["busy"],
        json!([
            busy("2030-03-09T19:00:00Z", "2030-03-09T20:00:00Z"),
            busy("2030-03-10T19:00:00Z", "2030-03-10T20:00:00Z"),
        ])
    );
    // Another user's calendar is not readable.
    let other = c
        .control("accounts", json!({"email": "kim@example.com"}))
        .await;
    let r = free_busy(
        &c,
        other["access_token"].as_str().unwrap(),
        json!({"timeMin": "2030-03-07T00:00:00Z", "timeMax": "2030-03-08T00:00:00Z",
               "items": [{"id": "sam@example.com"}, {"id": "primary"}]}),
    )
    .await;
    assert_eq!(
        r.body["calendars"]["sam@example.com"]["errors"][0]["reason"],
        "notFound"
    );
    assert_eq!(r.body["calendars"]["primary"], json!({"busy": []}));
    c.shutdown().await;
}

#[tokio::test]
async fn free_busy_bad_requests_stats_and_faults() {
    let c = ctx().await;
    let window = |extra: Value| {
        let mut b = json!({"timeMin": "2030-03-07T00:00:00Z", "timeMax": "2030-03-08T00:00:00Z",
                           "items": [{"id": "primary"}]});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                b[k] = v;
            }
        }
        b
    };
    let mut no_min = window(json!({}));
    no_min.as_object_mut().unwrap().remove("timeMin");
    let r = free_busy(&c, &c.token, no_min).await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "required"));
    let r = free_busy(
        &c,
        &c.token,
        window(json!({"timeMax": "2030-03-07T00:00:00Z"})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "timeRangeEmpty"));
    assert_eq!(
        r.body["error"]["message"],
        "The specified time range is empty."
    );
    let many: Vec<Value> = (0..51)
        .map(|n| json!({"id": format!("c{n}@example.com")}))
        .collect();
    let r = free_busy(&c, &c.token, window(json!({"items": many}))).await;
    assert_eq!(
        (r.status.as_u16(), r.reason()),
        (400, "tooManyCalendarsRequested")
    );
    let fifty: Vec<Value> = (0..50)
        .map(|n| json!({"id": format!("c{n}@example.com")}))
        .collect();
    let r = free_busy(&c, &c.token, window(json!({"items": fifty}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["calendars"].as_object().unwrap().len(), 50);
    // Counted, subject to faults and quota like any route.
    c.control(
        "faults",
        json!({"routes": ["freebusy.query"], "fail_next": 1}),
    )
    .await;
    let r = free_busy(&c, &c.token, window(json!({}))).await;
    assert_eq!((r.status.as_u16(), r.reason()), (503, "backendError"));
    assert_eq!(free_busy(&c, &c.token, window(json!({}))).await.status, 200);
    let s = c.stats().await;
    assert_eq!(s["by_route"]["freebusy.query"], 6, "{s}");
    assert_eq!(s["send_updates"]["none"], 0, "freeBusy is no write");
    c.shutdown().await;
}

#[tokio::test]
async fn free_busy_needs_a_busy_time_scope() {
    let c = ctx().await;
    let body = json!({"timeMin": "2030-03-07T00:00:00Z", "timeMax": "2030-03-08T00:00:00Z",
                      "items": [{"id": "primary"}]});
    let scope = |s: &str| format!("https://www.googleapis.com/auth/{s}");
    for (granted, ok) in [
        ("calendar.events", false),
        ("calendar.calendarlist.readonly", false),
        ("calendar.events.freebusy", true),
        ("calendar.freebusy", true),
        ("calendar.readonly", true),
        ("calendar", true),
    ] {
        let a = c
            .control(
                "accounts",
                json!({"email": "sam@example.com", "scope": format!("openid {}", scope(granted))}),
            )
            .await;
        let r = free_busy(&c, a["access_token"].as_str().unwrap(), body.clone()).await;
        if ok {
            assert_eq!(r.status, 200, "{granted}: {}", r.text);
        } else {
            assert_eq!(
                (r.status.as_u16(), r.reason()),
                (403, "insufficientPermissions"),
                "{granted}"
            );
            assert_eq!(
                r.body["error"]["message"],
                "Request had insufficient authentication scopes."
            );
        }
    }
    // Control-made accounts get every scope Bookline asks for, freebusy included.
    let refreshed = c
        .http
        .post(format!("{}/token", c.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", c.refresh.as_str()),
            ("client_id", "any"),
            ("client_secret", "any"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let granted = refreshed["scope"].as_str().unwrap();
    for s in [
        "calendar.events",
        "calendar.events.freebusy",
        "calendar.calendarlist.readonly",
    ] {
        assert!(
            granted.split(' ').any(|g| g == scope(s)),
            "{s} in {granted}"
        );
    }
    // The consent flow grants calendar.events.freebusy when asked for (and ticked).
    let asked = format!(
        "{} {} openid email",
        scope("calendar.events"),
        scope("calendar.events.freebusy")
    );
    for (ticked, ok) in [(None, true), (Some(scope("calendar.events")), false)] {
        c.control("consent", json!({"auto": "allow", "scopes": ticked}))
            .await;
        let mut u = url::Url::parse(&format!("{}/o/oauth2/v2/auth", c.base)).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", "bookline")
            .append_pair("redirect_uri", "http://127.0.0.1:45678/cb")
            .append_pair("response_type", "code")
            .append_pair("scope", &asked);
        let r = c.http.get(u.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let code = loc
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let t: Value = c
            .http
            .post(format!("{}/token", c.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:45678/cb"),
                ("client_id", "bookline"),
                ("client_secret", "any"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = free_busy(&c, t["access_token"].as_str().unwrap(), body.clone()).await;
        assert_eq!(r.status.as_u16(), if ok { 200 } else { 403 }, "{t}");
    }
    c.shutdown().await;
}
