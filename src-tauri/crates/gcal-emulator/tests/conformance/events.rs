use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn insert_with_client_id_get_and_resource_fields() {
    let c = ctx().await;
    let mut ev = timed(
        "Demo with Alice",
        "2030-05-01T10:00:00+02:00",
        "2030-05-01T11:00:00+02:00",
    );
    ev["id"] = json!("bkl0000000001");
    ev["extendedProperties"] = json!({"private": {"bookline_id": "42"}});
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?sendUpdates=none",
            Some(ev),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["kind"], "calendar#event");
    assert_eq!(b["id"], "bkl0000000001");
    assert_eq!(b["status"], "confirmed");
    assert_eq!(b["sequence"], 0);
    assert_eq!(b["iCalUID"], "bkl0000000001@google.com");
    assert_eq!(b["organizer"]["email"], "sam@example.com");
    assert_eq!(b["extendedProperties"]["private"]["bookline_id"], "42");
    assert!(b["etag"].as_str().unwrap().starts_with('"'));
    assert_eq!(b["created"], b["updated"]);
    assert!(b["created"].as_str().unwrap().ends_with('Z'));
    let g = c
        .get("calendars/sam@example.com/events/bkl0000000001")
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    // Percent-encoded calendar ids work too.
    let g = c
        .get("calendars/sam%40example.com/events/bkl0000000001")
        .await;
    assert_eq!(g.status, 200);
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events?sendUpdates=sometimes",
            Some(timed("x", "2030-01-01T00:00:00Z", "2030-01-01T01:00:00Z")),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"));
    c.shutdown().await;
}

#[tokio::test]
async fn event_id_validation() {
    let c = ctx().await;
    let base = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    for bad in [
        "abcd",
        "ABCDEF",
        "abcdw1",
        "abc-def",
        "abc_def1",
        &"a".repeat(1025),
    ] {
        let mut ev = base.clone();
        ev["id"] = json!(bad);
        let r = c.insert("primary", ev).await;
        assert_eq!(r.status, 400, "id {bad:?} must be refused");
        assert_eq!(r.reason(), "invalid");
        assert_eq!(r.body["error"]["code"], 400);
        assert_eq!(r.body["error"]["errors"][0]["domain"], "global");
        assert!(r.body["error"]["message"].as_str().is_some());
    }
    for good in [
        "abcde",
        "0123456789abcdefghijklmnopqrstuv",
        &"v".repeat(1024),
    ] {
        let mut ev = base.clone();
        ev["id"] = json!(good);
        assert_eq!(c.insert("primary", ev).await.status, 200, "id {good:?}");
    }
    c.shutdown().await;
}

#[tokio::test]
async fn duplicate_deleted_and_not_found() {
    let c = ctx().await;
    let mut ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("dup00001");
    assert_eq!(c.insert("primary", ev.clone()).await.status, 200);
    let r = c.insert("primary", ev.clone()).await;
    assert_eq!((r.status.as_u16(), r.reason()), (409, "duplicate"));
    let r = c
        .call(
            Method::DELETE,
            "calendars/primary/events/dup00001?sendUpdates=none",
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    let r = c
        .call(Method::DELETE, "calendars/primary/events/dup00001", None)
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (410, "deleted"));
    // Deleted ids stay taken.
    let r = c.insert("primary", ev).await;
    assert_eq!((r.status.as_u16(), r.reason()), (409, "duplicate"));
    let g = c.get("calendars/primary/events/dup00001").await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["status"], "cancelled");
    let r = c.get("calendars/primary/events/nothere1").await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    let r = c
        .call(Method::DELETE, "calendars/primary/events/nothere1", None)
        .await;
    assert_eq!(r.status, 404);
    let r = c.get("calendars/nobody@example.com/events").await;
    assert_eq!((r.status.as_u16(), r.reason()), (404, "notFound"));
    c.shutdown().await;
}

#[tokio::test]
async fn etags_if_match_sequence_and_patch() {
    let c = ctx().await;
    let mut ev = timed("Call", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    ev["id"] = json!("etag00001");
    ev["extendedProperties"] = json!({"private": {"a": "1", "b": "2"}});
    let v1 = c.insert("primary", ev).await.body;
    let e1 = v1["etag"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // PATCH merges objects and keeps the rest.
    let p = c
        .call_with(
            Method::PATCH,
            "calendars/primary/events/etag00001",
            Some(
                json!({"summary": "Call (renamed)", "extendedProperties": {"private": {"b": "3"}}}),
            ),
            &c.token,
            Some(&e1),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["summary"], "Call (renamed)");
    assert_eq!(p.body["extendedProperties"]["private"]["a"], "1");
    assert_eq!(p.body["extendedProperties"]["private"]["b"], "3");
    assert_eq!(
        p.body["sequence"], 0,
        "a title change does not bump sequence"
    );
    assert_eq!(p.body["created"], v1["created"]);
    assert_ne!(p.body["updated"], v1["updated"]);
    let e2 = p.body["etag"].as_str().unwrap().to_string();
    assert_ne!(e1, e2);
    // Stale etag → 412 for PUT, PATCH and DELETE.
    let put = timed("Moved", "2030-01-02T10:00:00Z", "2030-01-02T11:00:00Z");
    for (m, body) in [
        (Method::PUT, Some(put.clone())),
        (Method::PATCH, Some(json!({"summary": "z"}))),
        (Method::DELETE, None),
    ] {
        let r = c
            .call_with(
                m,
                "calendars/primary/events/etag00001",
                body,
                &c.token,
                Some(&e1),
            )
            .await;
        assert_eq!((r.status.as_u16(), r.reason()), (412, "conditionNotMet"));
    }
    // PUT replaces: time change bumps sequence, the extended properties not sent are gone.
    let r = c
        .call_with(
            Method::PUT,
            "calendars/primary/events/etag00001",
            Some(put),
            &c.token,
            Some(&e2),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["sequence"], 1);
    assert_eq!(r.body["summary"], "Moved");
    assert!(r.body.get("extendedProperties").is_none());
    assert_eq!(r.body["id"], "etag00001");
    assert_eq!(r.body["iCalUID"], "etag00001@google.com");
    let e3 = r.body["etag"].as_str().unwrap().to_string();
    let r = c
        .call_with(
            Method::DELETE,
            "calendars/primary/events/etag00001",
            None,
            &c.token,
            Some(&e3),
        )
        .await;
    assert_eq!(r.status, 204);
    c.shutdown().await;
}

#[tokio::test]
async fn times_all_day_time_zones_and_validation() {
    let c = ctx().await;
    let r = c.insert("primary", json!({"summary": "Offsite", "start": {"date": "2030-03-10"}, "end": {"date": "2030-03-12"}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["start"]["date"], "2030-03-10");
    let r = c.insert("primary", json!({"summary": "Tokyo", "start": {"dateTime": "2030-03-10T09:00:00", "timeZone": "Asia/Tokyo"}, "end": {"dateTime": "2030-03-10T10:00:00", "timeZone": "Asia/Tokyo"}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["start"]["dateTime"], "2030-03-10T09:00:00+09:00");
    assert_eq!(r.body["start"]["timeZone"], "Asia/Tokyo");
    let cases = [
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00Z"}}),
            "required",
        ),
        (
            json!({"end": {"dateTime": "2030-03-10T09:00:00Z"}}),
            "required",
        ),
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00Z"}, "end": {"dateTime": "2030-03-10T08:00:00Z"}}),
            "timeRangeEmpty",
        ),
        (
            json!({"start": {"date": "2030-03-10"}, "end": {"date": "2030-03-10"}}),
            "timeRangeEmpty",
        ),
        (
            json!({"start": {"date": "2030-03-10"}, "end": {"dateTime": "2030-03-10T08:00:00Z"}}),
            "invalid",
        ),
        (
            json!({"start": {"dateTime": "tomorrow"}, "end": {"dateTime": "2030-03-10T08:00:00Z"}}),
            "invalid",
        ),
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00", "timeZone": "Mars/Olympus"}, "end": {"dateTime": "2030-03-10T10:00:00Z"}}),
            "invalid",
        ),
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00Z"}, "end": {"dateTime": "2030-03-10T10:00:00Z"}, "recurrence": ["RRULE:FREQ=WEEKLY"]}),
            "required",
        ),
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00Z", "timeZone": "UTC"}, "end": {"dateTime": "2030-03-10T10:00:00Z"}, "recurrence": ["RRULE:FREQ=SOMETIMES"]}),
            "invalid",
        ),
        (
            json!({"start": {"dateTime": "2030-03-10T09:00:00Z"}, "end": {"dateTime": "2030-03-10T10:00:00Z"}, "status": "maybe"}),
            "invalid",
        ),
    ];
    for (body, reason) in cases {
        let r = c.insert("primary", body.clone()).await;
        assert_eq!((r.status.as_u16(), r.reason()), (400, reason), "{body}");
    }
    // A body that is not JSON.
    let r = c
        .http
        .post(format!("{}/calendar/v3/calendars/primary/events", c.base))
        .bearer_auth(&c.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    c.shutdown().await;
}

#[tokio::test]
async fn calendars_list_get_and_read_only_calendar() {
    let c = ctx().await;
    let r = c.get("users/me/calendarList").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["kind"], "calendar#calendarList");
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let primary: Vec<_> = items.iter().filter(|i| i["primary"] == true).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["id"], "sam@example.com");
    assert_eq!(primary[0]["accessRole"], "owner");
    let reader = items.iter().find(|i| i["accessRole"] == "reader").unwrap();
    let reader_id = reader["id"].as_str().unwrap().to_string();
    let writable = items
        .iter()
        .find(|i| i["accessRole"] == "owner" && i["primary"] != true)
        .unwrap();
    let second = writable["id"].as_str().unwrap().to_string();
    let r = c.get("users/me/calendarList?minAccessRole=writer").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = c.get("users/me/calendarList/primary").await;
    assert_eq!(r.body["id"], "sam@example.com");
    let r = c.get("calendars/primary").await;
    assert_eq!(r.body["kind"], "calendar#calendar");
    assert_eq!(r.body["id"], "sam@example.com");
    assert!(r.body["timeZone"].as_str().is_some());
    // Writes to the reader calendar are forbidden; the second calendar takes them.
    let ev = timed("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    let r = c.insert(&reader_id, ev.clone()).await;
    assert_eq!((r.status.as_u16(), r.reason()), (403, "forbidden"));
    assert_eq!(
        c.get(&format!("calendars/{reader_id}/events")).await.status,
        200
    );
    let r = c.insert(&second, ev).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["organizer"]["email"], second.as_str());
    // Another user's calendars are invisible.
    let other = c
        .control("accounts", json!({"email": "other@example.com"}))
        .await;
    let t = other["access_token"].as_str().unwrap();
    let r = c
        .call_with(
            Method::GET,
            "calendars/sam@example.com/events",
            None,
            t,
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    c.shutdown().await;
}

#[tokio::test]
async fn import_is_idempotent_on_ical_uid_and_created_override() {
    let c = ctx().await;
    let mut ev = timed("Imported", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    let r = c
        .call(
            Method::POST,
            "calendars/primary/events/import",
            Some(ev.clone()),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (400, "required"));
    ev["iCalUID"] = json!("crm-appointment-77@bookline");
    let a = c
        .call(
            Method::POST,
            "calendars/primary/events/import",
            Some(ev.clone()),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["iCalUID"], "crm-appointment-77@bookline");
    ev["summary"] = json!("Imported again");
    let b = c
        .call(Method::POST, "calendars/primary/events/import", Some(ev))
        .await;
    assert_eq!(b.body["id"], a.body["id"]);
    assert_eq!(b.body["summary"], "Imported again");
    let l = c
        .get("calendars/primary/events?iCalUID=crm-appointment-77@bookline")
        .await;
    assert_eq!(l.body["items"].as_array().unwrap().len(), 1);
    // Control endpoint: an event that looks a year old.
    let mut old = timed("Old", "2029-01-01T10:00:00Z", "2029-01-01T11:00:00Z");
    old["created"] = json!("2029-01-01T00:00:00Z");
    old["updated"] = json!("2029-01-02T00:00:00Z");
    old["id"] = json!("old000001");
    let r = c
        .http
        .post(format!("{}/_emulator/events/sam@example.com", c.base))
        .json(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let g = c.get("calendars/primary/events/old000001").await;
    assert_eq!(g.body["created"], "2029-01-01T00:00:00.000Z");
    assert_eq!(g.body["updated"], "2029-01-02T00:00:00.000Z");
    c.shutdown().await;
}
