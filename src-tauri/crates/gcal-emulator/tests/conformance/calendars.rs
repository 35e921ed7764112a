//! `events.move`, `calendars.insert`/`delete`, `primary` as an alias of the primary
//! calendar's id, and the `send_updates` counters of `/_emulator/stats`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

async fn sync_token(c: &Ctx, cal: &str) -> String {
    let (_, _, last) = list_all(c, cal, "maxResults=2500").await;
    last["nextSyncToken"].as_str().unwrap().to_string()
}

async fn changes(c: &Ctx, cal: &str, token: &str) -> Vec<Value> {
    let (items, _, _) = list_all(c, cal, &format!("syncToken={token}")).await;
    items
}

async fn new_calendar(c: &Ctx, summary: &str) -> String {
    let r = c
        .call(
            Method::POST,
            "calendars",
            Some(json!({"summary": summary, "timeZone": "Europe/Paris"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn calendars_insert_lists_it_as_owner_and_delete_removes_it() {
    let c = ctx().await;
    let r = c
        .call(
            Method::POST,
            "calendars",
            Some(json!({"summary": "Bookline", "timeZone": "Europe/Paris", "description": "d"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["kind"], "calendar#calendar");
    assert_eq!(r.body["summary"], "Bookline");
    assert_eq!(r.body["timeZone"], "Europe/Paris");
    assert_eq!(r.body["description"], "d");
    assert!(r.body["etag"].as_str().unwrap().starts_with('"'));
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.ends_with("@group.calendar.google.com"), "{id}");
    let list = c.get("users/me/calendarList").await;
    let entry = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .cloned()
        .expect("the new calendar is in calendarList");
    assert_eq!(entry["accessRole"], "owner");
    assert!(entry.get("primary").is_none());
    let g = c.get(&format!("calendars/{id}")).await;
    assert_eq!(
        (g.status.as_u16(), g.body["summary"].clone()),
        (200, json!("Bookline"))
    );
    // Events can be written to it.
    let ev = c
        .insert(
            &id,
            timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"),
        )
        .await;
    assert_eq!(ev.status, 200, "{}", ev.text);
    assert_eq!(ev.body["organizer"]["email"], id.as_str());

    // Two calendars get two ids.
    let other = new_calendar(&c, "Bookline").await;
    assert_ne!(other, id);

    let d = c
        .call(Method::DELETE, &format!("calendars/{id}"), None)
        .await;
    assert_eq!(d.status, 204, "{}", d.text);
    assert!(d.text.is_empty());
    let g = c.get(&format!("calendars/{id}")).await;
    assert_eq!((g.status.as_u16(), g.reason()), (404, "notFound"));
    let g = c.get(&format!("calendars/{id}/events")).await;
    assert_eq!(g.status, 404);
    let list = c.get("users/me/calendarList").await;
    assert!(!list.text.contains(&id));
    let d = c
        .call(Method::DELETE, &format!("calendars/{id}"), None)
        .await;
    assert_eq!((d.status.as_u16(), d.reason()), (404, "notFound"));
    c.shutdown().await;
}

#[tokio::test]
async fn calendars_insert_and_delete_errors() {
    let c = ctx().await;
    let r = c
        .call(Method::POST, "calendars", Some(json!({"timeZone": "UTC"})))
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "required"));
    let r = c
        .call(
            Method::POST,
            "calendars",
            Some(json!({"summary": "x", "timeZone": "Mars/Olympus"})),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    // The primary calendar can't be deleted, by either name.
    for name in ["primary", "sam@example.com", "sam%40example.com"] {
        let d = c
            .call(Method::DELETE, &format!("calendars/{name}"), None)
            .await;
        assert_eq!(
            (d.status.as_u16(), d.reason()),
            (403, "cannotDeletePrimaryCalendar"),
            "{name}"
        );
    }
    assert_eq!(c.get("calendars/primary").await.status, 200);
    // Another user's calendar is not found; a subscribed (reader) one is forbidden.
    let d = c
        .call(Method::DELETE, "calendars/nobody@example.com", None)
        .await;
    assert_eq!(d.status, 404);
    let list = c.get("users/me/calendarList").await;
    let reader = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["accessRole"] == "reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = c
        .call(Method::DELETE, &format!("calendars/{reader}"), None)
        .await;
    assert_eq!(d.status, 403);
    // Creating calendars needs the full calendar scope, not calendar.events.
    let a = c
        .control(
            "accounts",
            json!({"email": "narrow@example.com", "scope": "https://www.googleapis.com/auth/calendar.events"}),
        )
        .await;
    let t = a["access_token"].as_str().unwrap();
    let r = c
        .call_with(
            Method::POST,
            "calendars",
            Some(json!({"summary": "x"})),
            t,
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.reason()),
        (403, "insufficientPermissions")
    );
    c.shutdown().await;
}

#[tokio::test]
async fn move_changes_organizer_keeps_id_and_sync_tokens_see_both_sides() {
    let c = ctx().await;
    let dest = new_calendar(&c, "Bookline").await;
    let mut ev = timed("Call", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("move00001");
    ev["extendedProperties"] = json!({"private": {"bookline_id": "9"}});
    let v1 = c.insert("primary", ev).await.body;
    let src_tok = sync_token(&c, "primary").await;
    let dst_tok = sync_token(&c, &dest).await;

    let r = c
        .call(
            Method::POST,
            &format!("calendars/primary/events/move00001/move?destination={dest}&sendUpdates=none"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = r.body;
    assert_eq!(m["id"], "move00001");
    assert_eq!(m["status"], "confirmed");
    assert_ne!(m["etag"], v1["etag"]);
    assert_eq!(m["organizer"]["email"], dest.as_str());
    assert_eq!(m["summary"], "Call");
    assert_eq!(m["iCalUID"], v1["iCalUID"]);
    assert_eq!(m["created"], v1["created"]);
    assert_eq!(m["extendedProperties"]["private"]["bookline_id"], "9");

    // The destination has it, the source no longer lists it.
    let g = c.get(&format!("calendars/{dest}/events/move00001")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["etag"], m["etag"]);
    let (items, _, _) = list_all(&c, "primary", "maxResults=2500").await;
    assert!(items.iter().all(|e| e["id"] != "move00001"));
    // Incremental lists: cancelled in the source, new in the destination.
    let src = changes(&c, "primary", &src_tok).await;
    assert_eq!(src.len(), 1, "{src:?}");
    assert_eq!(
        (src[0]["id"].clone(), src[0]["status"].clone()),
        (json!("move00001"), json!("cancelled"))
    );
    let dst = changes(&c, &dest, &dst_tok).await;
    assert_eq!(dst.len(), 1, "{dst:?}");
    assert_eq!(
        (dst[0]["id"].clone(), dst[0]["status"].clone()),
        (json!("move00001"), json!("confirmed"))
    );

    // Moving it again from the source: not found there any more.
    let r = c
        .call(
            Method::POST,
            &format!("calendars/primary/events/move00001/move?destination={dest}"),
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    // Writes now go to the destination; the id is still taken in the source.
    let p = c
        .call(
            Method::PATCH,
            &format!("calendars/{dest}/events/move00001"),
            Some(json!({"summary": "Call 2"})),
        )
        .await;
    assert_eq!(p.status, 200);
    // And back to the primary calendar, by its id this time.
    let r = c
        .call(
            Method::POST,
            &format!("calendars/{dest}/events/move00001/move?destination=sam%40example.com"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["summary"], "Call 2");
    assert_eq!(r.body["organizer"]["email"], "sam@example.com");
    let g = c.get("calendars/primary/events/move00001").await;
    assert_eq!(
        (g.status.as_u16(), g.body["status"].clone()),
        (200, json!("confirmed"))
    );
    c.shutdown().await;
}

#[tokio::test]
async fn move_errors_as_google() {
    let c = ctx().await;
    let dest = new_calendar(&c, "Bookline").await;
    let mut ev = timed("Call", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("move00002");
    assert_eq!(c.insert("primary", ev).await.status, 200);
    let cr = &c;
    let mv = |path: String| async move { cr.call(Method::POST, &path, None).await };
    // destination is required.
    let r = mv("calendars/primary/events/move00002/move".into()).await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "required"));
    // Unknown event, source or destination calendar.
    let r = mv(format!(
        "calendars/primary/events/nothere1/move?destination={dest}"
    ))
    .await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    let r = mv(format!(
        "calendars/nobody@example.com/events/move00002/move?destination={dest}"
    ))
    .await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    let r =
        mv("calendars/primary/events/move00002/move?destination=nobody@example.com".into()).await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    let r =
        mv("calendars/primary/events/move00002/move?destination=primary&sendUpdates=never".into())
            .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    // A deleted event is gone for a move.
    c.call(Method::DELETE, "calendars/primary/events/move00002", None)
        .await;
    let r = mv(format!(
        "calendars/primary/events/move00002/move?destination={dest}"
    ))
    .await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));

    // Instances of a series can't change organizer; the whole series can.
    let mut s = json!({"id": "series0001", "summary": "Weekly",
        "start": {"dateTime": "2030-01-07T09:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2030-01-07T10:00:00+01:00", "timeZone": "Europe/Paris"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]});
    assert_eq!(c.insert("primary", s.take()).await.status, 200);
    let inst = "series0001_20300114T080000Z";
    let p = c
        .call(
            Method::PATCH,
            &format!("calendars/primary/events/{inst}"),
            Some(json!({"summary": "Moved one"})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    for id in [inst, "series0001_20300121T080000Z"] {
        let r = mv(format!(
            "calendars/primary/events/{id}/move?destination={dest}"
        ))
        .await;
        assert_eq!(
            (r.status.as_u16(), r.reason()),
            (400, "cannotChangeOrganizerOfInstance"),
            "{id}: {}",
            r.text
        );
    }
    let r = mv(format!(
        "calendars/primary/events/series0001/move?destination={dest}"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (items, _, _) = list_all(&c, &dest, "singleEvents=true").await;
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items.iter().any(|e| e["summary"] == "Moved one"));
    let (items, _, _) = list_all(&c, "primary", "singleEvents=true").await;
    assert!(items.is_empty(), "{items:?}");

    // A read-only destination is refused.
    let list = c.get("users/me/calendarList").await;
    let reader = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["accessRole"] == "reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("move00003");
    assert_eq!(c.insert("primary", ev).await.status, 200);
    let r = mv(format!(
        "calendars/primary/events/move00003/move?destination={reader}"
    ))
    .await;
    assert_eq!(r.status, 403);
    c.shutdown().await;
}

#[tokio::test]
async fn primary_and_its_id_are_one_calendar() {
    let c = ctx().await;
    let tok = sync_token(&c, "primary").await;
    let mut ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("alias0001");
    assert_eq!(c.insert("sam@example.com", ev).await.status, 200);
    // A token issued under `primary` works under the id, and the other way round.
    let items = changes(&c, "sam@example.com", &tok).await;
    assert_eq!(items.len(), 1);
    let tok2 = sync_token(&c, "sam@example.com").await;
    assert!(changes(&c, "primary", &tok2).await.is_empty());
    assert_eq!(
        c.get("calendars/primary/events/alias0001").await.status,
        200
    );
    assert_eq!(
        c.get("calendars/primary").await.body["id"],
        "sam@example.com"
    );
    assert_eq!(
        c.get("users/me/calendarList/primary").await.body["id"],
        "sam@example.com"
    );
    // Moving from one name of the calendar to the other changes nothing.
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events/alias0001/move?destination=sam%40example.com",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "confirmed");
    let g = c.get("calendars/primary/events/alias0001").await;
    assert_eq!(g.body["status"], "confirmed");
    c.shutdown().await;
}

#[tokio::test]
async fn stats_count_event_writes_by_send_updates() {
    let c = ctx().await;
    let dest = new_calendar(&c, "Bookline").await;
    c.http
        .post(format!("{}/_emulator/stats/reset", c.base))
        .send()
        .await
        .unwrap();
    let s = c.stats().await;
    assert_eq!(
        s["send_updates"],
        json!({"none": 0, "all": 0, "externalOnly": 0, "missing": 0})
    );
    let mk = |id: &str| {
        let mut ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        ev["id"] = json!(id);
        ev
    };
    let cr = &c;
    let post = |path: &'static str, body: Value| async move {
        cr.call(Method::POST, path, Some(body)).await
    };
    assert_eq!(
        post("calendars/primary/events?sendUpdates=none", mk("stat00001"))
            .await
            .status,
        200
    );
    assert_eq!(
        post("calendars/primary/events?sendUpdates=all", mk("stat00002"))
            .await
            .status,
        200
    );
    assert_eq!(
        post("calendars/primary/events", mk("stat00003"))
            .await
            .status,
        200
    );
    let r = c
        .call(
            Method::PATCH,
            "calendars/primary/events/stat00001?sendUpdates=externalOnly",
            Some(json!({"summary": "y"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .call(
            Method::PUT,
            "calendars/primary/events/stat00002?sendUpdates=none",
            Some(mk("stat00002")),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .call(
            Method::DELETE,
            "calendars/primary/events/stat00003?sendUpdates=none",
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c
        .call(
            Method::POST,
            &format!("calendars/primary/events/stat00002/move?destination={dest}&sendUpdates=none"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    // Reads and failed writes are not event writes.
    c.get("calendars/primary/events").await;
    assert_eq!(
        post("calendars/primary/events?sendUpdates=all", mk("stat00001"))
            .await
            .status,
        409
    );
    // Parts of a batch count one by one.
    let boundary = "b0undary";
    let mut body = String::new();
    for (n, (q, id)) in [
        ("?sendUpdates=none", "stat00004"),
        ("", "stat00005"),
        ("?sendUpdates=all", "stat00006"),
    ]
    .iter()
    .enumerate()
    {
        let ev = mk(id).to_string();
        body.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\nPOST /calendar/v3/calendars/primary/events{q} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{ev}\r\n"
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
    // Batch updates, patches and deletes count one by one too, and a part that fails
    // (a patch of an event that does not exist) is no write.
    let mut body = String::new();
    for (n, (method, path, event)) in [
        ("PUT", "stat00004", Some(mk("stat00004"))),
        (
            "PATCH",
            "stat00005?sendUpdates=all",
            Some(json!({"summary": "z"})),
        ),
        ("DELETE", "stat00006?sendUpdates=none", None),
        (
            "PATCH",
            "nosuch0001?sendUpdates=all",
            Some(json!({"summary": "z"})),
        ),
    ]
    .iter()
    .enumerate()
    {
        let event = event.as_ref().map(Value::to_string).unwrap_or_default();
        body.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\n{method} /calendar/v3/calendars/primary/events/{path} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{event}\r\n"
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
    let answer = r.text().await.unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 204").count(), 1, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 404").count(), 1, "{answer}");
    let s = c.stats().await;
    assert_eq!(
        s["send_updates"],
        json!({"none": 6, "all": 3, "externalOnly": 1, "missing": 3}),
        "{s}"
    );
    // The emulator's own tally since it started says the same, and survives a stats
    // reset and a full reset (tests ask it at their very end).
    let emu = c.emu.as_ref().expect("running");
    let lifetime = gcal_emulator::SendUpdatesCounts {
        none: 6,
        all: 3,
        external_only: 1,
        missing: 3,
    };
    assert_eq!(emu.writes_by_send_updates(), lifetime);
    assert_eq!(lifetime.may_send_mail(), 7);
    c.http
        .post(format!("{}/_emulator/stats/reset", c.base))
        .send()
        .await
        .unwrap();
    c.control("reset", json!({})).await;
    assert_eq!(c.stats().await["send_updates"]["all"], 0);
    assert_eq!(emu.writes_by_send_updates(), lifetime);
    c.shutdown().await;
}
