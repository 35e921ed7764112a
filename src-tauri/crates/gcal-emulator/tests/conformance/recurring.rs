use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn weekly_series_with_moved_and_cancelled_instances() {
    let c = ctx().await;
    let ev = json!({
        "id": "series001",
        "summary": "Stand-up",
        "start": {"dateTime": "2030-01-07T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-07T09:45:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5"],
    });
    let r = c.insert("primary", ev).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .get("calendars/primary/events?singleEvents=true&orderBy=startTime")
        .await;
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["id"], "series001_20300107T083000Z");
    assert_eq!(items[0]["recurringEventId"], "series001");
    assert_eq!(
        items[0]["originalStartTime"]["dateTime"],
        "2030-01-07T09:30:00+01:00"
    );
    assert!(items[0].get("recurrence").is_none());
    assert_eq!(items[4]["start"]["dateTime"], "2030-02-04T09:30:00+01:00");
    // Move the 2nd instance to Tuesday, cancel the 3rd.
    let moved = c
        .call(
            Method::PATCH,
            "calendars/primary/events/series001_20300114T083000Z",
            Some(json!({
                "start": {"dateTime": "2030-01-15T10:00:00+01:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2030-01-15T10:15:00+01:00", "timeZone": "Europe/Berlin"},
            })),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["recurringEventId"], "series001");
    assert_eq!(
        moved.body["originalStartTime"]["dateTime"],
        "2030-01-14T09:30:00+01:00"
    );
    let del = c
        .call(
            Method::DELETE,
            "calendars/primary/events/series001_20300121T083000Z",
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    let r = c
        .call(
            Method::DELETE,
            "calendars/primary/events/series001_20300121T083000Z",
            None,
        )
        .await;
    assert_eq!(r.status, 410);
    // Not an occurrence.
    let r = c
        .get("calendars/primary/events/series001_20300122T083000Z")
        .await;
    assert_eq!(r.status, 404);
    let r = c
        .get("calendars/primary/events/series001_20300128T083000Z")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["recurringEventId"], "series001");

    let r = c
        .get("calendars/primary/events?singleEvents=true&orderBy=startTime")
        .await;
    let items = r.body["items"].as_array().unwrap();
    let starts: Vec<&str> = items
        .iter()
        .map(|i| i["start"]["dateTime"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        vec![
            "2030-01-07T09:30:00+01:00",
            "2030-01-15T10:00:00+01:00",
            "2030-01-28T09:30:00+01:00",
            "2030-02-04T09:30:00+01:00"
        ]
    );
    let r = c
        .get("calendars/primary/events?singleEvents=true&showDeleted=true")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 5);
    // Not expanded: the master plus its exceptions (the cancelled one included).
    let r = c.get("calendars/primary/events").await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["recurrence"][0],
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5"
    );
    assert!(items
        .iter()
        .any(|i| i["status"] == "cancelled" && i["recurringEventId"] == "series001"));
    // instances
    let r = c.get("calendars/primary/events/series001/instances").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 4);
    let r = c
        .get("calendars/primary/events/series001/instances?maxResults=3")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let tok = r.body["nextPageToken"].as_str().unwrap().to_string();
    let r = c
        .get(&format!(
            "calendars/primary/events/series001/instances?maxResults=3&pageToken={tok}"
        ))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = c
        .get("calendars/primary/events/series001/instances?timeMin=2030-01-20T00:00:00Z")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = c
        .get("calendars/primary/events/series001/instances?originalStart=2030-01-14T08:30:00Z")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // Windowed expansion.
    let r = c.get("calendars/primary/events?singleEvents=true&timeMin=2030-01-20T00:00:00Z&timeMax=2030-02-01T00:00:00Z").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // Deleting the series cancels everything.
    assert_eq!(
        c.call(Method::DELETE, "calendars/primary/events/series001", None)
            .await
            .status,
        204
    );
    let r = c.get("calendars/primary/events?singleEvents=true").await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    c.shutdown().await;
}

#[tokio::test]
async fn all_day_series_with_exdate() {
    let c = ctx().await;
    let ev = json!({
        "id": "allda0001",
        "summary": "Review day",
        "start": {"date": "2030-01-01"},
        "end": {"date": "2030-01-02"},
        "recurrence": ["RRULE:FREQ=MONTHLY;UNTIL=20300601", "EXDATE;VALUE=DATE:20300301"],
    });
    assert_eq!(c.insert("primary", ev).await.status, 200);
    let r = c.get("calendars/primary/events/allda0001/instances").await;
    let items = r.body["items"].as_array().unwrap();
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["start"]["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        vec![
            "2030-01-01",
            "2030-02-01",
            "2030-04-01",
            "2030-05-01",
            "2030-06-01"
        ]
    );
    assert_eq!(items[0]["id"], "allda0001_20300101");
    assert_eq!(items[0]["end"]["date"], "2030-01-02");
    assert_eq!(items[0]["originalStartTime"]["date"], "2030-01-01");
    c.shutdown().await;
}
