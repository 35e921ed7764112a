//! Changing the synced calendar (issue 13 item 3): move Bookline's events or keep them
//! where they are; either way edits of old appointments reach their events, new ones go to
//! the new calendar, switching back and forth duplicates nothing, and `primary` and the
//! primary calendar's id are one calendar.

use std::collections::BTreeMap;

use bookline_core::google::{Event, ListParams};
use bookline_core::store::ChangeSource;
use bookline_core::sync::calendar_change::{
    apply_calendar_change, preview_calendar_change, CalendarChangeChoice, CalendarChangeReport,
};
use bookline_core::sync::engine::SyncReport;
use bookline_core::sync::{ids, Direction};

use crate::engine::{at, timed, World};
use crate::google::stats;

use CalendarChangeChoice::{KeepWhereTheyAre, MoveEvents};

/// Live events of a calendar: id → summary.
async fn events_in(w: &World, calendar: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut page_token = None;
    loop {
        let page = w
            .client
            .list_events(
                calendar,
                &ListParams {
                    page_token: page_token.clone(),
                    max_results: Some(2500),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for e in page.items.into_iter().filter(|e| !e.is_cancelled()) {
            let id = e.id.clone().unwrap();
            assert!(
                out.insert(id.clone(), title(&e)).is_none(),
                "{id} listed twice"
            );
        }
        match page.next_page_token {
            Some(t) => page_token = Some(t),
            None => return out,
        }
    }
}

fn title(e: &Event) -> String {
    e.summary.clone().unwrap_or_default()
}

async fn change(
    w: &World,
    from: &str,
    to: &str,
    choice: CalendarChangeChoice,
) -> CalendarChangeReport {
    let r = apply_calendar_change(&w.store, &w.client, &w.engine, from, to, choice, &w.cancel)
        .await
        .expect("calendar change");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

fn titles(w: &World) -> Vec<String> {
    let mut t: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    t.sort();
    t
}

/// A Bookline appointment and a Google event, both synced in the primary calendar, and a
/// second calendar made through `calendars.insert`.
async fn two_calendars() -> (World, String, String, String, String) {
    let w = World::new(Direction::Both).await;
    let email = w.ctx.calendar_id.clone();
    let a = w.crm_create(timed("Call Ada", at(2, 9)));
    let g = w.google_insert("From Google", at(3, 10)).await;
    let r = w.pass().await;
    assert_eq!((r.created_in_google, r.created_in_crm), (1, 1), "{r:?}");
    let g_id = w
        .crm_all()
        .into_iter()
        .find(|x| x.title == "From Google")
        .unwrap()
        .id;
    assert_eq!(g.summary.as_deref(), Some("From Google"));
    let second = w
        .client
        .insert_calendar("Bookline", Some("UTC"))
        .await
        .unwrap()
        .id;
    (w, email, second, a.id, g_id)
}

#[tokio::test]
async fn moving_events_then_back_keeps_every_appointment_syncing_without_duplicates() {
    let (mut w, email, second, a, g) = two_calendars().await;
    let a_event = ids::event_id_for(&a).unwrap();

    let p = preview_calendar_change(&w.store, &email, &second).unwrap();
    assert!(!p.same_calendar && p.needs_choice, "{p:?}");
    assert_eq!(
        (p.linked_events, p.bookline_events, p.google_origin_events),
        (2, 1, 1)
    );
    assert!(p.move_sentence.contains("1 event"), "{}", p.move_sentence);
    assert!(
        p.keep_sentence.contains("won't come back"),
        "{}",
        p.keep_sentence
    );

    w.reset_stats().await;
    let r = change(&w, &email, &second, MoveEvents).await;
    assert_eq!((r.moved, r.kept), (1, 1), "{r:?}");
    assert_eq!(r.calendar_id, second);
    let s = stats(w.base()).await;
    assert_eq!(s["by_route"]["events.move"], 1, "{s}");
    assert_eq!(s["send_updates"]["none"], 1, "{s}");
    assert_eq!(s["send_updates"]["all"], 0, "{s}");
    // Running it again finds nothing left to move.
    let again = change(&w, &email, &second, MoveEvents).await;
    assert_eq!(again.moved, 0);

    w.ctx.calendar_id = second.clone();
    assert_eq!(
        events_in(&w, &second)
            .await
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec![a_event.clone()]
    );
    // The first pass after the switch reads the new calendar and changes nothing.
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());

    // Edits of both old appointments reach their events, wherever they are.
    w.store
        .update_appointment(&a, timed("Call Ada (moved)", at(2, 9)), ChangeSource::User)
        .unwrap();
    w.store
        .update_appointment(
            &g,
            timed("From Google (edited)", at(3, 10)),
            ChangeSource::User,
        )
        .unwrap();
    let b = w.crm_create(timed("Call Bob", at(4, 9)));
    let r = w.pass().await;
    assert_eq!((r.updated_in_google, r.created_in_google), (2, 1), "{r:?}");
    let in_second = events_in(&w, &second).await;
    assert_eq!(in_second[&a_event], "Call Ada (moved)");
    assert!(in_second.values().any(|t| t == "Call Bob"));
    let in_primary = events_in(&w, &email).await;
    assert_eq!(in_primary.len(), 1, "{in_primary:?}");
    assert!(in_primary.values().any(|t| t == "From Google (edited)"));

    // And back: Bookline's two events return, nothing is duplicated on either side.
    let r = change(&w, &second, &email, MoveEvents).await;
    assert_eq!((r.moved, r.kept), (2, 0), "{r:?}");
    w.ctx.calendar_id = email.clone();
    w.pass().await;
    w.pass().await;
    assert!(events_in(&w, &second).await.is_empty());
    let in_primary = events_in(&w, &email).await;
    assert_eq!(in_primary.len(), 3, "{in_primary:?}");
    assert_eq!(
        titles(&w),
        vec!["Call Ada (moved)", "Call Bob", "From Google (edited)"]
    );
    // Still linked: an edit of Bob goes to the primary calendar.
    w.store
        .update_appointment(&b.id, timed("Call Bob (2)", at(4, 9)), ChangeSource::User)
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    assert!(events_in(&w, &email)
        .await
        .values()
        .any(|t| t == "Call Bob (2)"));
}

#[tokio::test]
async fn keeping_events_where_they_are_still_sends_their_edits_there() {
    let (mut w, email, second, a, g) = two_calendars().await;
    let a_event = ids::event_id_for(&a).unwrap();
    let r = change(&w, &email, &second, KeepWhereTheyAre).await;
    assert_eq!((r.moved, r.kept), (0, 2), "{r:?}");
    w.ctx.calendar_id = second.clone();
    w.pass().await;

    // The bug: every pass failed with "The event no longer exists in Google".
    w.store
        .update_appointment(&a, timed("Call Ada (kept)", at(2, 9)), ChangeSource::User)
        .unwrap();
    w.store
        .update_appointment(
            &g,
            timed("From Google (kept)", at(3, 10)),
            ChangeSource::User,
        )
        .unwrap();
    let b = w.crm_create(timed("Call Bob", at(4, 9)));
    let r = w.pass().await;
    assert_eq!((r.updated_in_google, r.created_in_google), (2, 1), "{r:?}");
    let in_primary = events_in(&w, &email).await;
    assert_eq!(in_primary[&a_event], "Call Ada (kept)");
    assert!(in_primary.values().any(|t| t == "From Google (kept)"));
    let in_second = events_in(&w, &second).await;
    assert_eq!(
        in_second.values().cloned().collect::<Vec<_>>(),
        vec!["Call Bob"]
    );

    // Back to the primary calendar, keeping Bob in the second one.
    let p = preview_calendar_change(&w.store, &second, &email).unwrap();
    assert_eq!((p.linked_events, p.bookline_events), (1, 1), "{p:?}");
    let r = change(&w, &second, &email, KeepWhereTheyAre).await;
    assert_eq!((r.moved, r.kept), (0, 1), "{r:?}");
    w.ctx.calendar_id = email.clone();
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 0, "{r:?}");
    assert_eq!(
        titles(&w),
        vec!["Call Ada (kept)", "Call Bob", "From Google (kept)"]
    );
    w.store
        .update_appointment(&b.id, timed("Call Bob (2)", at(4, 9)), ChangeSource::User)
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    assert_eq!(
        events_in(&w, &second)
            .await
            .values()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["Call Bob (2)"]
    );
    assert_eq!(events_in(&w, &email).await.len(), 2);

    // Now move everything of Bookline's home after all: Bob comes over, once.
    let r = change(&w, &email, &email, MoveEvents).await;
    assert!(r.same_calendar && r.moved == 0);
    let r = change(&w, &second, &email, MoveEvents).await;
    assert_eq!(r.moved, 1, "{r:?}");
    w.pass().await;
    assert!(events_in(&w, &second).await.is_empty());
    assert_eq!(events_in(&w, &email).await.len(), 3);
    assert_eq!(w.crm_all().len(), 3);
}

#[tokio::test]
async fn primary_and_the_primary_calendars_id_are_one_calendar() {
    let mut w = World::new(Direction::Both).await;
    let email = w.ctx.calendar_id.clone();
    w.ctx.calendar_id = "primary".into();
    w.crm_create(timed("Call Ada", at(2, 9)));
    w.google_insert("From Google", at(3, 10)).await;
    w.pass().await;
    assert_eq!(w.crm_all().len(), 2);

    let p = preview_calendar_change(&w.store, "primary", &email).unwrap();
    assert!(p.same_calendar && !p.needs_choice, "{p:?}");
    assert_eq!(p.linked_events, 0);
    let r = change(&w, "primary", &email, KeepWhereTheyAre).await;
    assert!(r.same_calendar, "{r:?}");
    assert_eq!(
        (r.calendar_id.as_str(), r.moved, r.renamed_links),
        (email.as_str(), 0, 2)
    );

    // Synced under the id now: nothing new on either side, no second copy.
    w.ctx.calendar_id = r.calendar_id.clone();
    let r = w.pass().await;
    assert_eq!(r.created_in_crm + r.created_in_google, 0, "{r:?}");
    assert_eq!(w.crm_all().len(), 2);
    // And back to "primary": still the same calendar, saved under its id.
    let r = change(&w, &email, "primary", MoveEvents).await;
    assert!(r.same_calendar);
    assert_eq!(r.calendar_id, email);
    let p = preview_calendar_change(&w.store, &email, "primary").unwrap();
    assert!(p.same_calendar);
    w.pass().await;
    assert_eq!(w.crm_all().len(), 2);
    assert_eq!(events_in(&w, &email).await.len(), 2);
}

#[tokio::test]
async fn a_move_whose_answer_was_lost_is_finished_by_running_it_again() {
    let (mut w, email, second, a, _) = two_calendars().await;
    let a_event = ids::event_id_for(&a).unwrap();
    let b = w.crm_create(timed("Call Bob", at(4, 9)));
    w.pass().await;
    // Google moved Ada's event, but the answer never reached Bookline (crash, lost
    // connection): the link still names the primary calendar.
    w.client
        .move_event(&email, &a_event, &second)
        .await
        .unwrap();
    let r = change(&w, &email, &second, MoveEvents).await;
    assert_eq!((r.moved, r.kept), (2, 1), "{r:?}");
    w.ctx.calendar_id = second.clone();
    w.store
        .update_appointment(&a, timed("Call Ada (2)", at(2, 9)), ChangeSource::User)
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    let in_second = events_in(&w, &second).await;
    assert_eq!(in_second[&a_event], "Call Ada (2)");
    assert!(in_second.values().any(|t| t == "Call Bob"));
    assert_eq!(w.crm_all().len(), 3);
    let _ = b;
}

#[tokio::test]
async fn the_old_calendars_leftover_of_a_moved_event_deletes_nothing() {
    let (mut w, email, second, a, _) = two_calendars().await;
    change(&w, &email, &second, MoveEvents).await;
    w.ctx.calendar_id = second.clone();
    w.pass().await;
    // Back to the primary calendar, but Ada's event stays in the second one: the primary
    // calendar's changes since its last pass show that event as cancelled there.
    change(&w, &second, &email, KeepWhereTheyAre).await;
    w.ctx.calendar_id = email.clone();
    let r = w.pass().await;
    assert_eq!((r.deleted_in_crm, r.deleted_in_google), (0, 0), "{r:?}");
    assert!(w.crm_all().iter().any(|x| x.id == a));
    w.store
        .update_appointment(&a, timed("Call Ada (3)", at(2, 9)), ChangeSource::User)
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    assert!(events_in(&w, &second)
        .await
        .values()
        .any(|t| t == "Call Ada (3)"));
}

#[tokio::test]
async fn a_series_moves_with_its_exceptions_and_both_keep_syncing() {
    use bookline_core::model::{Origin, Recurrence, SeriesInstance};
    let (mut w, email, second, _, _) = two_calendars().await;
    let mut series = timed("Weekly standup", at(1, 9));
    series.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=4".into()],
    });
    let s = w.crm_create(series);
    w.pass().await;
    let moved = w
        .store
        .create_instance_override(
            SeriesInstance {
                series_id: s.id.clone(),
                original_start: "2027-03-08T09:00:00Z".into(),
            },
            timed("Standup (later)", at(8, 11)),
            Origin::Crm,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    let series_event = ids::event_id_for(&s.id).unwrap();
    let instance_event = format!("{series_event}_20270308T090000Z");
    assert_eq!(
        w.client
            .get_event(&email, &instance_event)
            .await
            .unwrap()
            .summary
            .as_deref(),
        Some("Standup (later)")
    );

    let p = preview_calendar_change(&w.store, &email, &second).unwrap();
    assert_eq!((p.linked_events, p.bookline_events), (3, 2), "{p:?}");
    let r = change(&w, &email, &second, MoveEvents).await;
    assert_eq!((r.moved, r.kept), (2, 1), "{r:?}");
    w.ctx.calendar_id = second.clone();
    w.pass().await;

    w.store
        .update_appointment(
            &moved.id,
            timed("Standup (even later)", at(8, 12)),
            ChangeSource::User,
        )
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    let e = w.client.get_event(&second, &instance_event).await.unwrap();
    assert_eq!(e.summary.as_deref(), Some("Standup (even later)"));
    assert!(events_in(&w, &email)
        .await
        .keys()
        .all(|id| !id.starts_with(&series_event)));
    assert_eq!(w.crm_all().len(), 4);
}

#[tokio::test]
async fn a_move_google_keeps_refusing_leaves_the_event_linked_and_a_rerun_finishes_it() {
    let (mut w, email, second, a, _) = two_calendars().await;
    let b = w.crm_create(timed("Call Bob", at(4, 9)));
    w.pass().await;
    // Google fails every move for a while: the first move gives up after its retries.
    crate::google::control(
        w.base(),
        "faults",
        serde_json::json!({"fail_next": 9, "routes": ["events.move"], "kinds": ["backend_503"]}),
    )
    .await;
    let r = apply_calendar_change(
        &w.store, &w.client, &w.engine, &email, &second, MoveEvents, &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!((r.moved, r.errors.len()), (1, 1), "{r:?}");
    assert_eq!(r.kept, 2, "{r:?}");
    // Whatever did not move still syncs where it is.
    w.ctx.calendar_id = second.clone();
    w.store
        .update_appointment(&a, timed("Call Ada (2)", at(2, 9)), ChangeSource::User)
        .unwrap();
    w.store
        .update_appointment(&b.id, timed("Call Bob (2)", at(4, 9)), ChangeSource::User)
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 2, "{r:?}");
    // Running the change again moves the rest.
    let r = change(&w, &email, &second, MoveEvents).await;
    assert_eq!(r.moved, 1, "{r:?}");
    let in_second = events_in(&w, &second).await;
    assert_eq!(
        in_second
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        ["Call Ada (2)".to_owned(), "Call Bob (2)".to_owned()].into()
    );
    w.pass().await;
    assert_eq!(w.crm_all().len(), 3);
}
