use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn seed(c: &Ctx, n: usize) {
    for i in 0..n {
        let day = 1 + (i % 28);
        let mut ev = timed(
            &format!("Meeting {i}"),
            &format!("2030-02-{day:02}T10:00:00Z"),
            &format!("2030-02-{day:02}T11:00:00Z"),
        );
        ev["id"] = json!(eid(i));
        ev["extendedProperties"] =
            json!({"private": {"parity": if i % 2 == 0 { "even" } else { "odd" }}});
        assert_eq!(c.insert("primary", ev).await.status, 200);
    }
}

#[tokio::test]
async fn paging_and_sync_tokens() {
    let c = ctx().await;
    seed(&c, 10).await;
    let (items, reqs, last) = list_all(&c, "primary", "maxResults=3").await;
    assert_eq!((items.len(), reqs), (10, 4));
    let sync = last["nextSyncToken"].as_str().unwrap().to_string();
    assert_eq!(last["kind"], "calendar#events");
    // Default page size 250.
    let r = c.get("calendars/primary/events").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 10);
    // Nothing changed yet.
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync}"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["items"].as_array().unwrap().is_empty());
    // Change, delete, insert: all three come back, the deleted one cancelled.
    c.call(
        Method::PATCH,
        &format!("calendars/primary/events/{}", eid(1)),
        Some(json!({"summary": "changed"})),
    )
    .await;
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("calendars/primary/events/{}", eid(2)),
            None
        )
        .await
        .status,
        204
    );
    let mut ev = timed("new", "2030-03-01T10:00:00Z", "2030-03-01T11:00:00Z");
    ev["id"] = json!(eid(99));
    c.insert("primary", ev).await;
    let (items, _, last) = list_all(&c, "primary", &format!("syncToken={sync}&maxResults=2")).await;
    let mut ids: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().into(),
                i["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            (eid(1), "confirmed".into()),
            (eid(2), "cancelled".into()),
            (eid(99), "confirmed".into())
        ]
    );
    let sync2 = last["nextSyncToken"].as_str().unwrap().to_string();
    assert_ne!(sync, sync2);
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync2}"))
        .await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    // The deleted event is gone from a normal list, back with showDeleted.
    let r = c.get("calendars/primary/events").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 10);
    let r = c.get("calendars/primary/events?showDeleted=true").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 11);
    // Incompatible parameters.
    for extra in [
        "q=x",
        "timeMin=2030-01-01T00:00:00Z",
        "timeMax=2030-01-01T00:00:00Z",
        "updatedMin=2030-01-01T00:00:00Z",
        "iCalUID=x",
        "orderBy=updated",
        "privateExtendedProperty=a%3Db",
        "sharedExtendedProperty=a%3Db",
    ] {
        let r = c
            .get(&format!(
                "calendars/primary/events?syncToken={sync2}&{extra}"
            ))
            .await;
        assert_eq!((r.status.as_u16(), r.reason()), (400, "invalid"), "{extra}");
    }
    // Expired tokens.
    let f = c
        .control("faults", json!({"expire_sync_tokens": true}))
        .await;
    assert!(f["calendars_expired"].as_u64().unwrap() >= 1);
    let r = c
        .get(&format!("calendars/primary/events?syncToken={sync2}"))
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (410, "fullSyncRequired"));
    let r = c.get("calendars/primary/events?syncToken=garbage").await;
    assert_eq!(r.status, 400);
    // A fresh full sync gives a working token again.
    let (_, _, last) = list_all(&c, "primary", "").await;
    let sync3 = last["nextSyncToken"].as_str().unwrap();
    assert_eq!(
        c.get(&format!("calendars/primary/events?syncToken={sync3}"))
            .await
            .status,
        200
    );
    c.shutdown().await;
}

#[tokio::test]
async fn max_results_bounds_and_bad_page_token() {
    let c = ctx().await;
    seed(&c, 3).await;
    let r = c.get("calendars/primary/events?maxResults=0").await;
    assert_eq!(r.status, 400);
    let r = c.get("calendars/primary/events?maxResults=99999").await;
    assert_eq!(r.status, 200);
    let r = c.get("calendars/primary/events?pageToken=%21%21").await;
    assert_eq!(r.status, 400);
    let r = c.get("calendars/primary/events?orderBy=startTime").await;
    assert_eq!(r.status, 400);
    c.shutdown().await;
}

#[tokio::test]
async fn filters() {
    let c = ctx().await;
    seed(&c, 28).await;
    let mut ev = timed(
        "Lunch with Zoe",
        "2030-02-10T12:00:00Z",
        "2030-02-10T13:00:00Z",
    );
    ev["location"] = json!("Kantine Nord");
    ev["attendees"] = json!([{"email": "zoe@lead.example", "displayName": "Zoe Lead"}]);
    c.insert("primary", ev).await;
    let count = |r: &Resp| r.body["items"].as_array().unwrap().len();
    // timeMin compares with the end (exclusive), timeMax with the start.
    let r = c
        .get("calendars/primary/events?timeMin=2030-02-10T11:00:00Z&timeMax=2030-02-11T10:00:00Z")
        .await;
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["Lunch with Zoe"]);
    let r = c
        .get("calendars/primary/events?timeMin=2030-02-10T10:30:00Z&timeMax=2030-02-11T10:00:01Z")
        .await;
    assert_eq!(count(&r), 3);
    let r = c.get("calendars/primary/events?q=zoe").await;
    assert_eq!(count(&r), 1);
    let r = c.get("calendars/primary/events?q=kantine%20nord").await;
    assert_eq!(count(&r), 1);
    let r = c.get("calendars/primary/events?q=meeting").await;
    assert_eq!(count(&r), 28);
    let r = c
        .get("calendars/primary/events?privateExtendedProperty=parity%3Deven")
        .await;
    assert_eq!(count(&r), 14);
    let r = c
        .get(&format!(
            "calendars/primary/events?iCalUID={}@google.com",
            eid(5)
        ))
        .await;
    assert_eq!(count(&r), 1);
    let r = c
        .get("calendars/primary/events?updatedMin=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(count(&r), 29);
    let r = c
        .get("calendars/primary/events?updatedMin=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(count(&r), 0);
    let r = c
        .get("calendars/primary/events?singleEvents=true&orderBy=startTime&maxResults=5")
        .await;
    let starts: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["start"]["dateTime"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert!(r.body["nextPageToken"].is_string());
    let r = c.get("calendars/primary/events?timeMin=bogus").await;
    assert_eq!(r.status, 400);
    c.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_events_in_four_pages() {
    let c = ctx().await;
    // Fill through the control endpoint (no quota, no stats) to keep the test quick.
    for i in 0..10_000usize {
        let mut ev = timed(
            &format!("E{i}"),
            "2030-01-01T10:00:00Z",
            "2030-01-01T11:00:00Z",
        );
        ev["id"] = json!(eid(i));
        let r = c
            .http
            .post(format!("{}/_emulator/events/sam@example.com", c.base))
            .json(&ev)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let (items, reqs, last) = list_all(&c, "primary", "maxResults=2500").await;
    assert_eq!(items.len(), 10_000);
    assert_eq!(reqs, 4);
    assert!(last["nextSyncToken"].is_string());
    let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10_000, "no duplicates across pages");
    // How fast: examples/bench.rs (a release build), not a wall-clock bound here.
    c.shutdown().await;
}

/// Tokens expired while a `syncToken` listing is paging: the next page answers 410
/// fullSyncRequired (Google may at any page), not the rest of the old listing.
#[tokio::test]
async fn a_later_page_of_a_sync_listing_answers_410_once_tokens_expire() {
    let c = ctx().await;
    seed(&c, 3).await;
    let (_, _, last) = list_all(&c, "primary", "").await;
    let sync = last["nextSyncToken"].as_str().unwrap().to_owned();
    for i in 0..5 {
        let r = c
            .insert(
                "primary",
                timed(
                    &format!("new {i}"),
                    "2030-02-01T10:00:00Z",
                    "2030-02-01T11:00:00Z",
                ),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let page1 = c
        .get(&format!(
            "calendars/primary/events?syncToken={sync}&maxResults=2"
        ))
        .await;
    assert_eq!(page1.status, 200, "{}", page1.text);
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 2);
    let next = page1.body["nextPageToken"].as_str().unwrap().to_owned();
    // Without expiry the next page is served.
    let page2 = c
        .get(&format!(
            "calendars/primary/events?pageToken={next}&maxResults=2"
        ))
        .await;
    assert_eq!(page2.status, 200, "{}", page2.text);
    c.control("faults", json!({"expire_sync_tokens": true}))
        .await;
    let r = c
        .get(&format!(
            "calendars/primary/events?pageToken={next}&maxResults=2"
        ))
        .await;
    assert_eq!((r.status.as_u16(), r.reason()), (410, "fullSyncRequired"));
    // A full listing's pages are not tied to sync tokens.
    let (items, pages, _) = list_all(&c, "primary", "maxResults=3").await;
    assert_eq!((items.len(), pages), (8, 3));
    c.shutdown().await;
}
