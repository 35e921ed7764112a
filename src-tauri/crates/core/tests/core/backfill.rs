//! Backfill against the emulator and a real SQLite file: each direction moves exactly
//! its side's old items, equal items are linked, twice changes nothing, interrupted runs
//! resume without duplicates, faults change nothing, recurring and all-day arrive intact.

use std::sync::Mutex;
use std::time::Duration;

use bookline_core::model::{Origin, Recurrence, Timing};
use bookline_core::sync::backfill::{self, BackfillProgress, BackfillRequest, ProgressState};
use bookline_core::sync::parked;
use bookline_core::sync::Direction;
use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::{at, timed, World};
use crate::google::control;

fn request(direction: Direction) -> BackfillRequest {
    BackfillRequest {
        direction,
        since: None,
        until: None,
    }
}

/// A world with old items on both sides: `crm` appointments and `google` events made
/// before connecting, plus one pair typed into both (same start, end and title).
async fn old_world(direction: Direction, crm: i64, google: i64) -> World {
    let mut w = World::new(direction).await;
    for i in 0..crm {
        w.crm_create(timed(
            &format!("Old CRM {i}"),
            at(1, 0) + ChronoDuration::hours(i),
        ));
    }
    for i in 0..google {
        w.google_old(
            &format!("Old Google {i}"),
            at(20, 0) + ChronoDuration::hours(i),
        )
        .await;
    }
    w.crm_create(timed("Typed twice", at(25, 9)));
    w.google_old("Typed twice", at(25, 9)).await;
    // The store queued the CRM rows; ongoing sync would skip them as old anyway. Connect now.
    w.ctx.connected_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    w
}

async fn run_start(w: &World, req: &BackfillRequest) -> BackfillProgress {
    backfill::start(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        req,
        |_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("backfill runs")
}

/// Starts `req`, cancels it after a random delay from `delays` (seeded), and resumes it
/// the same way until it finishes; `after_interruption` looks at the world after each
/// interrupted run (the job must stay resumable). Returns the number of runs and the
/// last progress reported.
async fn run_with_interruptions(
    w: &World,
    req: &BackfillRequest,
    seed: u64,
    delays: std::ops::Range<u64>,
    mut after_interruption: impl FnMut(&World),
) -> (u32, BackfillProgress) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut runs = 0;
    let last = Mutex::new(None::<BackfillProgress>);
    loop {
        runs += 1;
        assert!(runs < 80, "did not finish");
        let cancel = CancellationToken::new();
        let delay = Duration::from_millis(rng.random_range(delays.clone()));
        let killer = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                cancel.cancel();
            })
        };
        let record = |p: &BackfillProgress| *last.lock().unwrap() = Some(p.clone());
        let result = if runs == 1 {
            backfill::start(&w.engine, &w.store, &w.client, &w.ctx, req, record, &cancel).await
        } else {
            backfill::resume(&w.engine, &w.store, &w.client, &w.ctx, record, &cancel).await
        };
        killer.abort();
        match result {
            Ok(p) if p.state == ProgressState::Finished => break,
            Ok(p) => assert_eq!(p.state, ProgressState::Cancelled),
            Err(bookline_core::sync::SyncError::Cancelled) => {}
            Err(e) => panic!("run {runs}: {e}"),
        }
        assert!(
            backfill::status(&w.store).unwrap().is_some(),
            "an interrupted job stays resumable"
        );
        after_interruption(w);
    }
    let last = last.lock().unwrap().clone().expect("progress was reported");
    (runs, last)
}

async fn run_resume(w: &World) -> BackfillProgress {
    backfill::resume(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        |_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("the resumed transfer runs")
}

#[tokio::test]
async fn each_direction_moves_exactly_its_sides_old_items() {
    for direction in [
        Direction::Both,
        Direction::GoogleToCrm,
        Direction::CrmToGoogle,
    ] {
        // Ongoing sync runs in `both`: it must not move old items either way.
        let w = old_world(Direction::Both, 4, 3).await;
        let r = w.pass().await;
        assert!(
            !r.changed_anything(),
            "{direction:?}: ongoing sync moved old items: {r:?}"
        );
        assert_eq!(w.google_events().await.len(), 4);
        assert_eq!(w.crm_all().len(), 5);

        let req = request(direction);
        let p = backfill::preview(&w.engine, &w.store, &w.client, &w.ctx, &req, &w.cancel)
            .await
            .unwrap();
        let to_google = if direction.writes_google() { 4 } else { 0 };
        let to_crm = if direction.writes_crm() { 3 } else { 0 };
        assert_eq!(p.create_in_google, to_google, "{direction:?}: {p:?}");
        assert_eq!(p.create_in_crm, to_crm, "{direction:?}: {p:?}");
        assert_eq!(p.matched_equal, 1, "{direction:?}: {p:?}");
        assert!(p.match_rule.contains("same start, end and title"));

        let done = run_start(&w, &req).await;
        assert_eq!(done.state, ProgressState::Finished);
        assert_eq!(done.created_in_google, to_google);
        assert_eq!(done.created_in_crm, to_crm);
        assert_eq!(done.failed, 0);
        let events = w.google_events().await;
        let crm = w.crm_all();
        assert_eq!(events.len() as u32, 4 + to_google, "{direction:?}");
        assert_eq!(crm.len() as u32, 5 + to_crm, "{direction:?}");
        assert_eq!(
            w.link_count() as u32,
            1 + to_google + to_crm,
            "{direction:?}"
        );
        assert_eq!(
            crm.iter().filter(|a| a.origin == Origin::Google).count() as u32,
            to_crm
        );

        // Twice: nothing new.
        let p = backfill::preview(&w.engine, &w.store, &w.client, &w.ctx, &req, &w.cancel)
            .await
            .unwrap();
        assert_eq!(
            (p.create_in_google, p.create_in_crm, p.matched_equal),
            (0, 0, 0),
            "{p:?}"
        );
        assert_eq!(p.already_linked, 1 + to_google + to_crm);
        let again = run_start(&w, &req).await;
        assert_eq!(
            (again.created_in_google, again.created_in_crm, again.total),
            (0, 0, 0)
        );
        assert_eq!(w.google_events().await.len() as u32, 4 + to_google);
        assert_eq!(w.crm_all().len() as u32, 5 + to_crm);
        // And ongoing sync finds nothing to do after it (no echo of the transfer).
        w.reset_stats().await;
        let r = w.pass().await;
        assert!(!r.changed_anything(), "{direction:?}: {r:?}");
    }
}

/// A transfer is one entry of Sync activity ("Imported 3 events from Google, …"), not one
/// per item, and its items open from that entry: what each did, to which appointment.
#[tokio::test]
async fn a_transfer_is_one_activity_entry_that_opens_onto_its_items() {
    use bookline_core::sync::activity::{self, ActivityKind};
    use bookline_core::sync::backfill::{TransferAction, TransferItemState};

    let w = old_world(Direction::Both, 2, 3).await;
    let before = activity::list(&w.store, 1000, None).unwrap().len();
    let done = run_start(&w, &request(Direction::Both)).await;
    assert_eq!(done.state, ProgressState::Finished);
    assert_eq!(
        (done.created_in_google, done.created_in_crm, done.linked),
        (2, 3, 1)
    );

    let log = activity::list(&w.store, 1000, None).unwrap();
    let new: Vec<_> = log.iter().take(log.len() - before).collect();
    assert_eq!(new.len(), 1, "one entry for the whole transfer: {new:#?}");
    let entry = new[0];
    assert_eq!(entry.kind, ActivityKind::Info);
    assert_eq!(
        entry.summary,
        "Imported 3 events from Google, sent 2 events to Google, linked 1 event"
    );
    let transfer = entry.transfer_id.expect("the entry names its transfer");

    let items = backfill::transfer_items(&w.store, transfer, None, 100).unwrap();
    assert_eq!(items.len(), 6, "{items:#?}");
    assert!(
        items.iter().all(|i| i.state == TransferItemState::Done),
        "{items:#?}"
    );
    let titles = |action: TransferAction| {
        let mut t: Vec<String> = items
            .iter()
            .filter(|i| i.action == action)
            .map(|i| i.title.clone().expect("each item names its appointment"))
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        titles(TransferAction::CreateInCrm),
        ["Old Google 0", "Old Google 1", "Old Google 2"]
    );
    assert_eq!(
        titles(TransferAction::CreateInGoogle),
        ["Old CRM 0", "Old CRM 1"]
    );
    assert_eq!(titles(TransferAction::Link), ["Typed twice"]);
    let crm_ids: Vec<String> = w.crm_all().into_iter().map(|a| a.id).collect();
    assert!(items.iter().all(|i| i
        .appointment_id
        .as_ref()
        .is_some_and(|id| crm_ids.contains(id))));
    // Paged by item number.
    let first = backfill::transfer_items(&w.store, transfer, None, 4).unwrap();
    let rest = backfill::transfer_items(&w.store, transfer, Some(first[3].seq), 4).unwrap();
    assert_eq!((first.len(), rest.len()), (4, 2));
    assert_eq!(
        first.iter().chain(&rest).map(|i| i.seq).collect::<Vec<_>>(),
        items.iter().map(|i| i.seq).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn interrupted_runs_resume_to_exactly_n_events_and_links() {
    const N: i64 = 300;
    let w = old_world(Direction::Both, N, 0).await;
    // Slow Google down a little so cancellations land mid-run, mid-batch.
    control(w.base(), "faults", json!({"latency_ms": 15})).await;
    let (runs, final_progress) =
        run_with_interruptions(&w, &request(Direction::CrmToGoogle), 42, 5..120, |_| {}).await;
    assert!(runs > 2, "the schedule interrupted the job ({runs} runs)");
    control(w.base(), "faults", json!({})).await;
    let events = w.google_events().await;
    assert_eq!(events.len() as i64, N + 1, "N events + the one typed twice");
    assert_eq!(w.link_count() as i64, N + 1);
    assert!(backfill::status(&w.store).unwrap().is_none());
    assert_eq!(final_progress.state, ProgressState::Finished);
    assert_eq!(final_progress.failed, 0);
}

#[tokio::test]
async fn faults_do_not_change_the_result() {
    let w = old_world(Direction::Both, 120, 80).await;
    control(
        w.base(),
        "faults",
        json!({"seed": 3, "rate": 0.15, "kinds": [
            "backend_500", "backend_503", "rate_limit_429", "rate_limit_403",
            "user_rate_limit_403", "drop_connection"
        ]}),
    )
    .await;
    let req = request(Direction::Both);
    let mut p = run_start(&w, &req).await;
    let mut runs = 1;
    while p.failed > 0 || p.state != ProgressState::Finished {
        runs += 1;
        assert!(runs < 10, "{p:?}");
        p = run_start(&w, &req).await;
    }
    control(w.base(), "faults", json!({})).await;
    assert_eq!(w.google_events().await.len(), 81 + 120);
    assert_eq!(w.crm_all().len(), 121 + 80);
    assert_eq!(w.link_count(), 201);
}

#[tokio::test]
async fn recurring_and_all_day_arrive_intact() {
    let mut w = World::new(Direction::Both).await;
    let cal = w.ctx.calendar_id.clone();
    control(
        w.base(),
        &format!("events/{cal}"),
        json!({
            "summary": "Company offsite",
            "start": {"date": "2027-04-05"}, "end": {"date": "2027-04-08"},
            "created": "2020-01-01T00:00:00.000Z", "updated": "2020-01-01T00:00:00.000Z"
        }),
    )
    .await;
    control(
        w.base(),
        &format!("events/{cal}"),
        json!({
            "summary": "Team sync",
            "start": {"dateTime": "2027-04-06T10:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2027-04-06T10:30:00+02:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=10", "EXDATE;TZID=Europe/Berlin:20270413T100000"],
            "created": "2020-01-01T00:00:00.000Z", "updated": "2020-01-01T00:00:00.000Z"
        }),
    )
    .await;
    let mut series = timed("CRM weekly", at(2, 8));
    series.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=DAILY;COUNT=3".into()],
    });
    w.crm_create(series);
    let mut day = timed("CRM holiday", at(2, 8));
    day.timing = Timing::AllDay {
        start: NaiveDate::from_ymd_opt(2027, 5, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2027, 5, 2).unwrap(),
    };
    w.crm_create(day);
    w.ctx.connected_at = Utc::now();

    let p = run_start(&w, &request(Direction::Both)).await;
    assert_eq!((p.created_in_crm, p.created_in_google), (2, 2), "{p:?}");
    let crm = w.crm_all();
    let offsite = crm.iter().find(|a| a.title == "Company offsite").unwrap();
    assert_eq!(
        offsite.timing,
        Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2027, 4, 5).unwrap(),
            end: NaiveDate::from_ymd_opt(2027, 4, 8).unwrap()
        }
    );
    let team = crm.iter().find(|a| a.title == "Team sync").unwrap();
    assert_eq!(team.timezone, "Europe/Berlin");
    assert_eq!(
        team.recurrence.as_ref().unwrap().lines,
        [
            "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=10",
            "EXDATE;TZID=Europe/Berlin:20270413T100000"
        ]
    );
    let events = w.google_events().await;
    let holiday = events
        .iter()
        .find(|e| e.summary.as_deref() == Some("CRM holiday"))
        .unwrap();
    assert_eq!(
        holiday.start.as_ref().unwrap().date,
        NaiveDate::from_ymd_opt(2027, 5, 1)
    );
    let weekly = events
        .iter()
        .find(|e| e.summary.as_deref() == Some("CRM weekly"))
        .unwrap();
    assert_eq!(
        weekly.recurrence.as_deref().unwrap(),
        ["RRULE:FREQ=DAILY;COUNT=3"]
    );
    assert!(!w.pass().await.changed_anything());
}

/// An old series whose second occurrence was moved and third deleted in Google arrives
/// whole through the transfer into Bookline, in each direction that writes Bookline, on
/// one page and on pages of one event: the moved occurrence at its new time, the
/// cancelled one cancelled. Running it again and the next pass change nothing.
#[tokio::test]
async fn an_old_series_with_exceptions_transfers_whole() {
    for (direction, page_size) in [
        (Direction::GoogleToCrm, 2500),
        (Direction::Both, 2500),
        (Direction::GoogleToCrm, 1),
        (Direction::Both, 1),
    ] {
        let mut w = World::with_options(
            Direction::Both,
            bookline_core::sync::engine::EngineOptions {
                page_size,
                ..crate::engine::fast_options()
            },
        )
        .await;
        crate::engine::google_series_with_exceptions(&w, true).await;
        w.ctx.connected_at = Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Ongoing sync leaves the old series alone, exceptions included.
        assert!(!w.pass().await.changed_anything());
        assert!(w.crm_all().is_empty());

        let p = run_start(&w, &request(direction)).await;
        assert_eq!(p.state, ProgressState::Finished);
        assert_eq!(
            p.created_in_crm, 3,
            "{direction:?}, page size {page_size}: {p:?}"
        );
        assert_eq!(p.failed, 0, "{p:?}");
        crate::engine::assert_series_with_exceptions(&w);
        assert_eq!(w.link_count(), 3);

        let again = run_start(&w, &request(direction)).await;
        assert_eq!(again.created_in_crm, 0, "{again:?}");
        assert!(!w.pass().await.changed_anything());
        crate::engine::assert_series_with_exceptions(&w);
    }
}

/// An old Bookline series whose second occurrence was moved and third cancelled before
/// connecting transfers whole into Google, in each direction that writes Google: the
/// series, the moved occurrence at its new time, the cancelled one cancelled. Running it
/// again and the next pass change nothing.
#[tokio::test]
async fn an_old_bookline_series_with_exceptions_transfers_whole() {
    for direction in [Direction::CrmToGoogle, Direction::Both] {
        let mut w = World::new(Direction::Both).await;
        let series_id = crate::engine::crm_series_with_exceptions(&w);
        w.ctx.connected_at = Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Ongoing sync leaves the old series alone, exceptions included.
        w.pass().await;
        assert!(w.google_events().await.is_empty(), "{direction:?}");

        let p = run_start(&w, &request(direction)).await;
        assert_eq!(p.state, ProgressState::Finished);
        assert_eq!(p.failed, 0, "{direction:?}: {p:?}");
        crate::engine::assert_google_series_with_exceptions(&w, &series_id).await;
        assert_eq!(w.link_count(), 3, "{direction:?}");

        let again = run_start(&w, &request(direction)).await;
        assert_eq!(again.created_in_google, 0, "{direction:?}: {again:?}");
        w.pass().await;
        assert!(!w.pass().await.changed_anything(), "{direction:?}");
        crate::engine::assert_google_series_with_exceptions(&w, &series_id).await;
        assert_eq!(w.store.pending_outbox_count().unwrap(), 0, "{direction:?}");
    }
}

/// An old series Bookline cannot store (a repeat rule over the store's bounds) fails in a
/// transfer, and its moved and cancelled occurrences fail with it, saying they wait for it
/// (not that their series "no longer exists"); the rest of the transfer goes on. Once the
/// series is fixed in Google, the next transfer (which reads the whole calendar again)
/// brings the series and its occurrences together.
#[tokio::test]
async fn an_old_series_bookline_cannot_store_fails_with_its_occurrences_then_transfers_whole() {
    let mut w = World::new(Direction::Both).await;
    let master_id = crate::engine::google_series_with_exceptions(&w, true).await;
    w.google_patch(
        &master_id,
        json!({ "recurrence": crate::engine::oversized_weekly_rule() }),
    )
    .await;
    w.google_old("Old call", at(20, 9)).await;
    w.ctx.connected_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let p = run_start(&w, &request(Direction::GoogleToCrm)).await;
    assert_eq!(p.state, ProgressState::Finished, "{p:?}");
    assert_eq!((p.created_in_crm, p.failed), (1, 3), "{p:?}");
    let titles: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    assert_eq!(titles, ["Old call"]);
    let errors: Vec<String> = bookline_core::sync::activity::list(&w.store, 100, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == bookline_core::sync::activity::ActivityKind::Error)
        .map(|e| e.detail.unwrap_or_default())
        .collect();
    // (A failed item is tried again within the run, so each may be logged more than once.)
    assert!(
        errors
            .iter()
            .any(|d| d.contains("waits for its repeating series")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|d| d.contains("waits for its repeating series")
                || d.contains("repeat rule is too long")),
        "{errors:?}"
    );

    w.google_patch(
        &master_id,
        json!({"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}),
    )
    .await;
    let p = run_start(&w, &request(Direction::GoogleToCrm)).await;
    assert_eq!((p.created_in_crm, p.failed), (3, 0), "{p:?}");
    let crm = w.crm_all();
    assert_eq!(crm.len(), 4, "{crm:#?}");
    assert_eq!(w.link_count(), 4);
    assert!(!w.pass().await.changed_anything());
}

/// A new series parked by ongoing sync, with its occurrences waiting for it, that is
/// fixed in Google and then brought by a transfer before the next pass: the transfer
/// stores the three and takes them off the parked list; the next pass changes nothing.
#[tokio::test]
async fn a_transfer_that_stores_a_parked_series_unparks_it_and_its_occurrences() {
    let w = World::new(Direction::Both).await;
    let master_id = crate::engine::google_series_with_exceptions(&w, false).await;
    w.google_patch(
        &master_id,
        json!({ "recurrence": crate::engine::oversized_weekly_rule() }),
    )
    .await;
    let r = w.pass().await;
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(parked::list(&w.store).unwrap().len(), 3);

    w.google_patch(
        &master_id,
        json!({"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}),
    )
    .await;
    let p = run_start(&w, &request(Direction::GoogleToCrm)).await;
    assert_eq!((p.created_in_crm, p.failed), (3, 0), "{p:?}");
    crate::engine::assert_series_with_exceptions(&w);
    assert!(
        parked::list(&w.store).unwrap().is_empty(),
        "{:?}",
        parked::list(&w.store).unwrap()
    );
    assert!(!w.pass().await.changed_anything());
    crate::engine::assert_series_with_exceptions(&w);
}

/// A calendar the account may only read: the preview counts the items that would have to
/// be written there as "can't be transferred", with the reason, and the run leaves them
/// alone instead of failing each with a 403.
#[tokio::test]
async fn read_only_calendar_is_reported_in_the_preview_not_failed_at_run_time() {
    let mut w = World::new(Direction::Both).await;
    let accounts = reqwest::get(format!("{}/_emulator/accounts", w.base()))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let holidays = accounts["accounts"][0]["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["accessRole"] == "reader")
        .and_then(|c| c["id"].as_str())
        .expect("a read-only calendar")
        .to_owned();
    for i in 0..3 {
        w.crm_create(timed(&format!("Old CRM {i}"), at(1, 8 + i)));
    }
    for i in 0..2 {
        control(
            w.base(),
            &format!("events/{holidays}"),
            json!({
                "summary": format!("Holiday {i}"),
                "start": {"date": format!("2027-04-0{}", i + 1)},
                "end": {"date": format!("2027-04-0{}", i + 2)},
                "created": "2020-01-01T00:00:00.000Z", "updated": "2020-01-01T00:00:00.000Z"
            }),
        )
        .await;
    }
    w.ctx.calendar_id = holidays;
    w.ctx.connected_at = Utc::now();

    let preview = |direction| {
        let w = &w;
        async move {
            backfill::preview(
                &w.engine,
                &w.store,
                &w.client,
                &w.ctx,
                &request(direction),
                &w.cancel,
            )
            .await
            .unwrap()
        }
    };
    let p = preview(Direction::CrmToGoogle).await;
    assert_eq!(p.create_in_google, 0, "{p:?}");
    assert_eq!(p.cannot_transfer.len(), 1, "{p:?}");
    assert_eq!(p.cannot_transfer[0].count, 3, "{p:?}");
    assert!(
        p.cannot_transfer[0].reason.contains("read-only")
            && p.cannot_transfer[0].reason.contains("reader"),
        "{p:?}"
    );
    let p = preview(Direction::Both).await;
    assert_eq!((p.create_in_google, p.create_in_crm), (0, 2), "{p:?}");
    assert_eq!(p.cannot_transfer[0].count, 3, "{p:?}");
    // Reading from a read-only calendar is fine: nothing to report.
    let p = preview(Direction::GoogleToCrm).await;
    assert_eq!(p.create_in_crm, 2, "{p:?}");
    assert!(p.cannot_transfer.is_empty(), "{p:?}");

    w.reset_stats().await;
    let done = run_start(&w, &request(Direction::Both)).await;
    assert_eq!(done.state, ProgressState::Finished);
    assert_eq!((done.created_in_google, done.created_in_crm), (0, 2));
    assert_eq!((done.failed, done.total), (0, 2), "{done:?}");
    assert_eq!(w.route("events.insert").await, 0);
    assert_eq!(w.route("batch").await, 0);
    assert_eq!(w.crm_all().len(), 5);
}

/// An insert that Google already holds (the first attempt arrived, its answer was lost)
/// meets 409 on retry and is linked: it counts as linked, so created + linked is every
/// item, and the summary matches Google and the links.
#[tokio::test]
async fn an_insert_met_by_409_counts_as_linked() {
    const N: u32 = 120;
    let w = old_world(Direction::Both, i64::from(N), 0).await;
    // The first batch is executed, then its connection is cut: the retry meets 409 for
    // every part of it.
    control(
        w.base(),
        "faults",
        json!({"routes": ["batch"], "kinds": ["drop_connection"], "fail_next": 1}),
    )
    .await;
    let done = run_start(&w, &request(Direction::CrmToGoogle)).await;
    control(w.base(), "faults", json!({})).await;
    assert_eq!(done.state, ProgressState::Finished, "{done:?}");
    assert_eq!(done.failed, 0, "{done:?}");
    assert!(
        done.linked > 1,
        "the 409s were not counted as linked: {done:?}"
    );
    // Every item is either created or linked, once: N new events, plus the pair typed
    // into both sides.
    assert_eq!(done.created_in_google + done.linked, N + 1, "{done:?}");
    assert_eq!(w.google_events().await.len() as u32, N + 1);
    assert_eq!(w.link_count() as u32, N + 1);
    let stats = crate::google::stats(w.base()).await;
    assert_eq!(stats["faults_injected"]["drop_connection"], 1, "{stats}");
}

/// Whether the transfer item of `appointment_id` was marked as sent.
fn item_marked_sent(w: &World, appointment_id: &str) -> bool {
    w.store
        .read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM backfill_items WHERE appointment_id = ?1 \
                 AND sent_at IS NOT NULL)",
                [appointment_id],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap()
}

/// The transfer dies while an insert is on its way (here: the run is dropped while the
/// emulator holds the insert back), so no answer and no link is recorded, though the
/// event got to Google. The user deletes the appointment before resuming: the delete
/// still reaches the event (one request), and the resumed transfer creates nothing.
#[tokio::test]
async fn a_delete_after_a_transfer_died_during_its_insert_deletes_the_event() {
    let w = old_world(Direction::Both, 1, 0).await;
    let a = w
        .crm_all()
        .into_iter()
        .find(|a| a.title == "Old CRM 0")
        .unwrap();
    let event_id = bookline_core::sync::ids::event_id_for(&a.id).unwrap();
    control(w.base(), "faults", json!({"latency_ms": 1500})).await;
    {
        let req = request(Direction::CrmToGoogle);
        let cancel = CancellationToken::new();
        let run = backfill::start(
            &w.engine,
            &w.store,
            &w.client,
            &w.ctx,
            &req,
            |_| {},
            &cancel,
        );
        tokio::pin!(run);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                r = &mut run => panic!("the transfer ended before the insert was sent: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            if item_marked_sent(&w, &a.id) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never marked as sent"
            );
        }
        // Dropped here: the insert is in flight and its answer will never be read.
    }
    control(w.base(), "faults", json!({})).await;
    assert_eq!(w.link_count(), 0, "no answer, nothing linked");
    // Whether the emulator finished the abandoned request or not, the insert is taken to
    // have arrived (it may have).
    // The emulator says when the abandoned request is over (no sleep racing its
    // latency on a busy machine).
    assert!(
        w.emu.wait_until_idle(Duration::from_secs(60)).await,
        "the held insert never finished"
    );
    crate::engine::put_as_inserted(&w, &a).await;
    crate::engine::delete_reaches_google(&w, &a.id, "transfer").await;
    // The resumed transfer finishes without bringing the event back.
    let done = run_resume(&w).await;
    assert_eq!(done.state, ProgressState::Finished, "{done:?}");
    assert_eq!(done.created_in_google, 0, "{done:?}");
    let titles: Vec<String> = w
        .google_events()
        .await
        .into_iter()
        .filter(|e| e.status != Some(bookline_core::google::EventStatus::Cancelled))
        .filter_map(|e| e.summary)
        .collect();
    assert_eq!(
        titles,
        ["Typed twice"],
        "only the pair typed into both sides"
    );
    assert_eq!(
        crate::engine::event_status(&w, &event_id).await.as_deref(),
        Some("cancelled")
    );
}

/// A world whose Google calendar holds `n` old events ("Imported 0", …), listed `page_size`
/// to a page.
async fn old_google_world(n: i64, page_size: u32) -> World {
    let w = World::with_options(
        Direction::Both,
        bookline_core::sync::engine::EngineOptions {
            page_size,
            ..crate::engine::fast_options()
        },
    )
    .await;
    for i in 0..n {
        w.google_old(
            &format!("Imported {i}"),
            at(2, 0) + ChronoDuration::minutes(45 * i),
        )
        .await;
    }
    w
}

/// An import runs while Google is still being read (page by page, each page's new events
/// while the next is on its way). Interrupted at random points — during the listing too,
/// when the job's plan is not stored in full — and resumed, it ends with every event
/// exactly once in Bookline, linked, plus the pair typed into both sides linked, not
/// copied; events that look like a CRM item wait for the whole plan and are linked.
#[tokio::test]
async fn an_import_interrupted_while_reading_google_resumes_without_duplicates() {
    const N: i64 = 240;
    let mut w = old_google_world(N, 25).await;
    w.crm_create(timed("Typed twice", at(25, 9)));
    w.google_old("Typed twice", at(25, 9)).await;
    w.ctx.connected_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    control(w.base(), "faults", json!({"latency_ms": 10})).await;
    let mut interrupted_while_planning = 0;
    let (runs, done) =
        run_with_interruptions(&w, &request(Direction::GoogleToCrm), 7, 5..300, |w| {
            let planning: bool = w
                .store
                .read(|c| {
                    Ok(c.query_row(
                        "SELECT EXISTS (SELECT 1 FROM backfill_jobs WHERE state = 'planned')",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap())
                })
                .unwrap();
            interrupted_while_planning += usize::from(planning);
        })
        .await;
    control(w.base(), "faults", json!({})).await;
    assert!(runs > 2, "the schedule interrupted the job ({runs} runs)");
    assert!(
        interrupted_while_planning > 0,
        "no run was interrupted while Google was being read ({runs} runs)"
    );
    let titles: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    let mut unique = titles.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), titles.len(), "no duplicates");
    assert_eq!(
        titles.len() as i64,
        N + 1,
        "every event once, the pair once"
    );
    assert_eq!(w.link_count() as i64, N + 1);
    assert_eq!(
        w.google_events().await.len() as i64,
        N + 1,
        "Google untouched"
    );
    assert_eq!(done.state, ProgressState::Finished);
    assert_eq!(done.failed, 0, "{done:?}");
    assert_eq!(done.created_in_crm as i64, N, "{done:?}");
    assert_eq!(done.linked, 1, "{done:?}");
    assert_eq!(
        i64::from(done.total),
        N + 1,
        "one job item per key, however often planning was resumed: {done:?}"
    );
    assert!(backfill::status(&w.store).unwrap().is_none());
}

/// The process dies between storing a page's items and importing them (here: an item is
/// left pending by hand, as that crash leaves it). Resuming the job, which is still
/// reading Google, does not plan that event a second time: one item and one appointment
/// per event.
#[tokio::test]
async fn resuming_while_reading_google_plans_no_event_twice() {
    const N: i64 = 60;
    let mut w = old_google_world(N, 25).await;
    w.ctx.connected_at = Utc::now();
    // Stop after the first page was imported.
    let cancel = CancellationToken::new();
    let stop = |p: &BackfillProgress| {
        if p.done > 0 {
            cancel.cancel();
        }
    };
    let first = backfill::start(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        &request(Direction::GoogleToCrm),
        stop,
        &cancel,
    )
    .await;
    assert!(
        matches!(&first, Ok(p) if p.state == ProgressState::Cancelled)
            || matches!(first, Err(bookline_core::sync::SyncError::Cancelled)),
        "{first:?}"
    );
    let imported = w.crm_all().len() as i64;
    assert!(imported > 0 && imported < N, "one page in: {imported}");
    // An event of a later page, stored as the job's item but never imported.
    let linked: Vec<String> = w
        .store
        .read(|c| {
            let mut stmt = c.prepare("SELECT event_id FROM links").unwrap();
            Ok(stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap())
        })
        .unwrap();
    let pending_event = w
        .google_events()
        .await
        .into_iter()
        .filter_map(|e| e.id)
        .find(|id| !linked.contains(id))
        .unwrap();
    w.store
        .write("leave an item pending", |tx| {
            tx.execute(
                "INSERT INTO backfill_items (job_id, seq, action, event_id) \
                 SELECT id, (SELECT MAX(seq) + 1 FROM backfill_items), 'create_in_crm', ?1 \
                 FROM backfill_jobs WHERE state = 'planned'",
                [&pending_event],
            )
            .unwrap();
            Ok(())
        })
        .unwrap();

    let done = run_resume(&w).await;
    assert_eq!(done.state, ProgressState::Finished, "{done:?}");
    assert_eq!(i64::from(done.total), N, "one item per event: {done:?}");
    assert_eq!(i64::from(done.created_in_crm), N, "{done:?}");
    assert_eq!(w.crm_all().len() as i64, N);
    assert_eq!(w.link_count() as i64, N);
}

/// The same old events, with a series and its exceptions among them, in a calendar of its
/// own: each event's body differs by `i` (time zone, place, notes, all-day, zero length),
/// and "Taken" comes first. Returns the id of "Taken".
async fn events_to_import(w: &World, n: i64) -> String {
    let route = format!("events/{}", w.ctx.calendar_id);
    let post = |body: serde_json::Value| control(w.base(), &route, body);
    let old = |mut body: serde_json::Value| {
        body["created"] = json!("2020-01-01T00:00:00.000Z");
        body["updated"] = json!("2020-01-01T00:00:00.000Z");
        body
    };
    let start = at(2, 9);
    let taken = post(old(json!({
        "summary": "Taken",
        "start": {"dateTime": start.to_rfc3339(), "timeZone": "UTC"},
        "end": {"dateTime": (start + ChronoDuration::hours(1)).to_rfc3339(), "timeZone": "UTC"},
    })))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..n {
        let start = at(3, 0) + ChronoDuration::minutes(50 * i);
        let end = start + ChronoDuration::minutes(if i % 7 == 6 { 0 } else { 45 });
        let body = match i % 4 {
            0 => json!({
                "summary": format!("Import {i}"),
                "start": {"dateTime": start.to_rfc3339(), "timeZone": "UTC"},
                "end": {"dateTime": end.to_rfc3339(), "timeZone": "UTC"},
            }),
            1 => json!({
                "summary": format!("  Import {i} with a place  "),
                "location": format!("Room {i}"),
                "description": format!("Notes of {i}\nsecond line"),
                "start": {"dateTime": start.to_rfc3339(), "timeZone": "Europe/Berlin"},
                "end": {"dateTime": end.to_rfc3339(), "timeZone": "Europe/Berlin"},
            }),
            2 => {
                let day = NaiveDate::from_ymd_opt(2027, 4, 1).unwrap() + ChronoDuration::days(i);
                json!({
                    "summary": format!("Import {i} all day"),
                    "start": {"date": day.to_string()},
                    "end": {"date": (day + ChronoDuration::days(1 + i % 3)).to_string()},
                })
            }
            _ => json!({
                "summary": format!("Import {i} tentative"),
                "status": "tentative",
                "start": {"dateTime": start.to_rfc3339(), "timeZone": "America/New_York"},
                "end": {"dateTime": end.to_rfc3339(), "timeZone": "America/New_York"},
            }),
        };
        post(old(body)).await;
        if i == n / 2 {
            crate::engine::google_series_with_exceptions(w, true).await;
        }
    }
    taken
}

/// What an import stored, without what differs between two calendars and two runs (ids,
/// times of writing, etags, the order the emulator lists events in): each appointment's
/// row and each link's, sorted, the series of an occurrence by its title. Leaves out the
/// rows of the appointment titled `without` and of its link.
fn stored_rows(w: &World, without: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let conn = rusqlite::Connection::open(w.store.path()).unwrap();
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt
            .query_map([without], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect()
            })
            .unwrap()
            .collect::<Result<Vec<Vec<String>>, _>>()
            .unwrap();
        rows.sort();
        rows
    };
    let appointments = rows(
        "SELECT a.title, a.all_day, a.start_ms, a.end_ms, a.start_date, a.end_date, \
         a.span_end_ms, a.timezone, a.location, a.notes, a.lead_name, a.lead_email, \
         a.lead_phone, a.status, a.origin, a.recurrence, s.title, a.original_start, \
         a.source_event_id, a.created_at_ms = a.updated_at_ms \
         FROM appointments a LEFT JOIN appointments s ON s.id = a.series_id \
         WHERE a.title <> ?1",
    );
    let links = rows(
        "SELECT a.title, l.crm_snapshot, l.google_snapshot, l.last_error, l.google_summary, \
         l.google_description, l.etag IS NULL, l.calendar_id = (SELECT calendar_id FROM links \
         LIMIT 1) FROM links l JOIN appointments a ON a.id = l.appointment_id \
         WHERE a.title <> ?1",
    );
    (appointments, links)
}

/// A page is applied in one transaction with no savepoint (the fast path); when a row of
/// it is refused, the page is applied again item by item, each under a savepoint. Both
/// store the same rows: one calendar is imported with every page on the fast path; the
/// same events in another calendar, where a row of the first page is refused (another
/// process linked "Taken" between the plan and the write), are imported item by item for
/// that page — "Taken" fails alone and every other event arrives, row for row the same.
/// A fast path that writes its rows another way (several per statement) must keep this.
#[tokio::test]
async fn a_page_applied_item_by_item_after_a_refused_row_stores_what_the_fast_path_stores() {
    const N: i64 = 90;
    let options = || bookline_core::sync::engine::EngineOptions {
        page_size: 60,
        ..crate::engine::fast_options()
    };
    let mut fast = World::with_options(Direction::Both, options()).await;
    events_to_import(&fast, N).await;
    fast.ctx.connected_at = Utc::now();

    tokio::time::sleep(Duration::from_millis(5)).await;
    let p = run_start(&fast, &request(Direction::GoogleToCrm)).await;
    assert_eq!(p.state, ProgressState::Finished, "{p:?}");
    assert_eq!(p.failed, 0, "{p:?}");
    // The link planted in the other calendar holds a snapshot that reads back.
    let snapshot: String = rusqlite::Connection::open(fast.store.path())
        .unwrap()
        .query_row("SELECT crm_snapshot FROM links LIMIT 1", [], |r| r.get(0))
        .unwrap();

    type Plant = Box<dyn FnOnce() + Send>;
    let planted: std::sync::Arc<Mutex<Option<Plant>>> = Default::default();
    let slot = planted.clone();
    let mut one_by_one = World::with_options(
        Direction::Both,
        bookline_core::sync::engine::EngineOptions {
            before_apply: Some(bookline_core::sync::engine::ApplyHook(std::sync::Arc::new(
                move || {
                    if let Some(plant) = slot.lock().unwrap().take() {
                        plant();
                    }
                },
            ))),
            ..options()
        },
    )
    .await;
    let taken = events_to_import(&one_by_one, N).await;
    one_by_one.ctx.connected_at = Utc::now();
    let calendar = one_by_one.ctx.calendar_id.clone();
    let path = one_by_one.store.path().to_owned();
    *planted.lock().unwrap() = Some(Box::new(move || {
        let other = bookline_core::store::Store::open(&path).unwrap();
        other
            .write("plant", |tx| {
                tx.execute(
                    "INSERT INTO links (appointment_id, calendar_id, event_id, crm_snapshot, \
                     google_snapshot, synced_at) \
                     VALUES ('elsewhere', ?1, ?2, ?3, ?3, '2027-01-01T00:00:00.000Z')",
                    [&calendar, &taken, &snapshot],
                )
                .unwrap();
                Ok(())
            })
            .unwrap();
    }));
    tokio::time::sleep(Duration::from_millis(5)).await;

    let q = run_start(&one_by_one, &request(Direction::GoogleToCrm)).await;
    assert_eq!(q.state, ProgressState::Finished, "{q:?}");
    assert!(planted.lock().unwrap().is_none(), "the row was planted");
    let refused: Vec<String> = bookline_core::sync::activity::list(&one_by_one.store, 500, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == bookline_core::sync::activity::ActivityKind::Error)
        .map(|e| e.summary)
        .collect();
    assert!(
        !refused.is_empty() && refused.iter().all(|s| s.contains("Taken")),
        "only Taken failed: {refused:?}"
    );

    let (fast_appointments, fast_links) = stored_rows(&fast, "Taken");
    let (appointments, links) = stored_rows(&one_by_one, "Taken");
    // N events, the series and its two exceptions.
    assert_eq!(fast_appointments.len() as i64, N + 3);
    assert_eq!(fast_links.len() as i64, N + 3);
    assert_eq!(appointments, fast_appointments);
    assert_eq!(links, fast_links);
}
