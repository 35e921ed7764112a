//! The sync engine against the gcal-emulator and a real SQLite file: ongoing sync in each
//! direction, no echo, merge and conflicts, token expiry, faults, crashes, delete guard.

use std::sync::Arc;
use std::time::Duration;

use bookline_core::google::{
    CalendarClient, Endpoints, Event, EventDateTime, ListParams, StaticTokenSource,
};
use bookline_core::model::{
    AppointmentInput, Lead, Origin, Recurrence, SeriesInstance, Status, Timing,
};
use bookline_core::ratelimit::Backoff;
use bookline_core::store::{ChangeSource, Store};
use bookline_core::sync::activity::{self, ActivityKind};
use bookline_core::sync::engine::{
    AccountContext, ApplyHook, EngineOptions, SyncEngine, SyncError, SyncReport,
};
use bookline_core::sync::held::{self, HeldChoice};
use bookline_core::sync::ids;
use bookline_core::sync::links;
use bookline_core::sync::mapping::APPOINTMENT_ID_PROPERTY;
use bookline_core::sync::parked;
use bookline_core::sync::privacy::PrivacySettings;
use bookline_core::sync::writer::WriterOptions;
use bookline_core::sync::{Direction, Side};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use crate::google::{account, control, start, stats, TestEmulator};

pub(crate) fn fast_options() -> EngineOptions {
    EngineOptions {
        quota_per_window: 600,
        quota_window: Duration::from_millis(1000),
        writer: WriterOptions {
            backoff: Backoff {
                base: Duration::from_millis(5),
                rate_limit_base: Duration::from_millis(20),
                cap: Duration::from_millis(200),
                max_retries: 8,
            },
            ..WriterOptions::default()
        },
        ..EngineOptions::default()
    }
}

pub(crate) struct World {
    pub emu: TestEmulator,
    pub _dir: TempDir,
    pub store: Store,
    pub client: CalendarClient,
    pub ctx: AccountContext,
    pub engine: SyncEngine,
    pub cancel: CancellationToken,
}

pub(crate) fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, day, hour, 0, 0).unwrap()
}

pub(crate) fn timed(title: &str, start: DateTime<Utc>) -> AppointmentInput {
    AppointmentInput {
        title: title.into(),
        timing: Timing::Timed {
            start,
            end: start + ChronoDuration::hours(1),
        },
        timezone: "Europe/Berlin".into(),
        location: String::new(),
        notes: String::new(),
        lead: Lead::default(),
        status: Status::Booked,
        recurrence: None,
    }
}

impl World {
    pub(crate) async fn new(direction: Direction) -> World {
        Self::with_options(direction, fast_options()).await
    }

    pub(crate) async fn with_options(direction: Direction, options: EngineOptions) -> World {
        let emu = start().await;
        let base = emu.base_url().to_owned();
        control(
            &base,
            "quota",
            json!({"per_user_per_minute": 600, "per_project_per_minute": 0, "window_ms": 1000}),
        )
        .await;
        let acct = account(&base, "sync@example.com").await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("bookline.sqlite3")).unwrap();
        store
            .set_setting(
                bookline_core::store::GOOGLE_ACCOUNT_SETTING,
                "sync@example.com",
            )
            .unwrap();
        let client = CalendarClient::new(
            Endpoints::from_base(&base).unwrap(),
            Arc::new(StaticTokenSource::new(acct.access_token.clone())),
        )
        .unwrap();
        // Connected a moment ago: what exists now is "old".
        let connected_at = Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        World {
            emu,
            _dir: dir,
            store,
            client,
            ctx: AccountContext {
                calendar_id: acct.calendar_id,
                connected_at,
                direction,
                privacy: PrivacySettings::default(),
                default_reminder_minutes: None,
            },
            engine: SyncEngine::new(options),
            cancel: CancellationToken::new(),
        }
    }

    pub(crate) fn base(&self) -> &str {
        self.emu.base_url()
    }

    pub(crate) async fn try_pass(&self) -> Result<SyncReport, SyncError> {
        self.engine
            .run_pass(&self.store, &self.client, &self.ctx, &self.cancel)
            .await
    }

    pub(crate) async fn pass(&self) -> SyncReport {
        let r = self.try_pass().await.expect("pass");
        assert!(r.errors.is_empty(), "errors: {:?}", r.errors);
        r
    }

    pub(crate) async fn reset_stats(&self) {
        reqwest::Client::new()
            .post(format!("{}/_emulator/stats/reset", self.base()))
            .send()
            .await
            .unwrap();
    }

    /// Requests per route since the last reset (batch parts counted by their route).
    pub(crate) async fn routes(&self) -> Value {
        stats(self.base()).await["by_route"].clone()
    }

    pub(crate) async fn route(&self, name: &str) -> u64 {
        self.routes().await[name].as_u64().unwrap_or(0)
    }

    /// Live events in Google (not cancelled), read straight from the emulator.
    pub(crate) async fn google_events(&self) -> Vec<Event> {
        let mut all = Vec::new();
        let mut page_token = None;
        loop {
            let page = self
                .client
                .list_events(
                    &self.ctx.calendar_id,
                    &ListParams {
                        page_token: page_token.clone(),
                        max_results: Some(2500),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            all.extend(page.items.into_iter().filter(|e| !e.is_cancelled()));
            match page.next_page_token {
                Some(t) => page_token = Some(t),
                None => return all,
            }
        }
    }

    pub(crate) async fn google_insert(&self, summary: &str, start: DateTime<Utc>) -> Event {
        let event = Event {
            summary: Some(summary.into()),
            start: Some(EventDateTime::timed(
                start.fixed_offset(),
                Some("UTC".into()),
            )),
            end: Some(EventDateTime::timed(
                (start + ChronoDuration::hours(1)).fixed_offset(),
                Some("UTC".into()),
            )),
            ..Default::default()
        };
        self.client
            .insert_event(&self.ctx.calendar_id, &event)
            .await
            .unwrap()
    }

    /// An event that looks as if it was made long before the account was connected.
    pub(crate) async fn google_old(&self, summary: &str, start: DateTime<Utc>) -> Value {
        let body = json!({
            "summary": summary,
            "start": {"dateTime": start.to_rfc3339(), "timeZone": "UTC"},
            "end": {"dateTime": (start + ChronoDuration::hours(1)).to_rfc3339(), "timeZone": "UTC"},
            "created": "2020-01-01T00:00:00.000Z",
            "updated": "2020-01-01T00:00:00.000Z",
        });
        control(
            self.base(),
            &format!("events/{}", self.ctx.calendar_id),
            body,
        )
        .await
    }

    pub(crate) async fn google_patch(&self, event_id: &str, body: Value) -> Event {
        self.client
            .patch_event(&self.ctx.calendar_id, event_id, &body, None)
            .await
            .unwrap()
    }

    pub(crate) async fn google_delete(&self, event_id: &str) {
        self.client
            .delete_event(&self.ctx.calendar_id, event_id, None)
            .await
            .unwrap()
    }

    pub(crate) fn crm_all(&self) -> Vec<bookline_core::model::Appointment> {
        let page = self
            .store
            .list_appointments(
                &bookline_core::model::ListQuery {
                    period: bookline_core::model::Period::All,
                    limit: 500,
                    ..Default::default()
                },
                Utc::now(),
            )
            .unwrap();
        page.rows.into_iter().map(|r| r.appointment).collect()
    }

    pub(crate) fn link_count(&self) -> usize {
        self.store
            .read(|c| links::count(&self.store, c, &self.ctx.calendar_id))
            .unwrap()
    }

    pub(crate) fn crm_create(&self, input: AppointmentInput) -> bookline_core::model::Appointment {
        self.store
            .create_appointment(input, Origin::Crm, ChangeSource::User)
            .unwrap()
    }
}

/// The search index holds exactly the rows' text (FTS5's content integrity check) and
/// nothing waits to be indexed.
fn assert_search_exact(w: &World) {
    let conn = rusqlite::Connection::open(w.store.path()).unwrap();
    conn.execute(
        "INSERT INTO appointment_search (appointment_search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the search index matches the rows");
    let pending: i64 = conn
        .query_row(crate::store::SEARCH_WAITING, [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 0);
}

fn title_of(e: &Event) -> &str {
    e.summary.as_deref().unwrap_or("")
}

#[tokio::test]
async fn new_crm_appointment_goes_to_google_once_without_echo() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Call Ada", at(2, 9)));
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.created_in_google, 1);
    assert_eq!(w.route("events.insert").await, 1, "{}", w.routes().await);
    let events = w.google_events().await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.id.as_deref(), ids::event_id_for(&a.id).as_deref());
    assert_eq!(
        e.private_property(APPOINTMENT_ID_PROPERTY),
        Some(a.id.as_str())
    );
    assert_eq!(title_of(e), "Call Ada");
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);

    // The next pass reads the event back (it changed since the token) and does nothing.
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());
    assert_eq!(w.route("events.list").await, 1);
    assert_eq!(stats(w.base()).await["total"], 1, "{}", w.routes().await);
    // Idle: one list request per pass.
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(stats(w.base()).await["total"], 1);

    // Row state: synced, with the event id.
    let page = w
        .store
        .list_appointments(
            &bookline_core::model::ListQuery {
                period: bookline_core::model::Period::All,
                limit: 10,
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    assert_eq!(
        page.rows[0].sync_state,
        bookline_core::model::SyncState::Synced
    );
    assert_eq!(page.rows[0].google_event_id, ids::event_id_for(&a.id));
}

#[tokio::test]
async fn edits_and_deletes_cost_one_request_each() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Demo", at(3, 10)));
    w.pass().await;
    let event_id = ids::event_id_for(&a.id).unwrap();

    // Title + time + zone in one edit → one patch.
    let mut edit = timed("Demo (moved)", at(3, 14));
    edit.timezone = "America/New_York".into();
    w.store
        .update_appointment(&a.id, edit, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1);
    assert_eq!(w.route("events.patch").await, 1);
    let e = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(title_of(&e), "Demo (moved)");
    let start = e.start.as_ref().unwrap();
    assert_eq!(start.time_zone.as_deref(), Some("America/New_York"));
    assert_eq!(start.date_time.unwrap().with_timezone(&Utc), at(3, 14));

    // Timed → all-day.
    let mut all_day = timed("Demo (moved)", at(3, 14));
    all_day.timing = Timing::AllDay {
        start: NaiveDate::from_ymd_opt(2027, 3, 4).unwrap(),
        end: NaiveDate::from_ymd_opt(2027, 3, 5).unwrap(),
    };
    w.store
        .update_appointment(&a.id, all_day, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 1);
    let e = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(
        e.start.as_ref().unwrap().date,
        NaiveDate::from_ymd_opt(2027, 3, 4)
    );
    assert!(e.start.as_ref().unwrap().date_time.is_none());

    // No echo of either edit.
    w.reset_stats().await;
    assert_eq!(w.pass().await, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1);

    // Delete → one delete; the link goes.
    w.store
        .delete_appointment(&a.id, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.deleted_in_google, 1);
    assert_eq!(w.route("events.delete").await, 1);
    assert!(w.google_events().await.is_empty());
    assert_eq!(w.link_count(), 0);
    w.reset_stats().await;
    assert_eq!(w.pass().await, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1);
}

#[tokio::test]
async fn google_changes_arrive_in_the_crm_and_old_events_stay() {
    let w = World::new(Direction::Both).await;
    w.google_old("Old lunch", at(1, 12)).await;
    let e = w.google_insert("New call", at(5, 9)).await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_search_exact(&w);
    let crm = w.crm_all();
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0].title, "New call");
    assert_eq!(crm[0].origin, Origin::Google);

    // Title and time change in Google.
    let id = e.id.clone().unwrap();
    w.google_patch(
        &id,
        json!({"summary": "New call (moved)",
               "start": {"dateTime": at(5, 11).to_rfc3339(), "timeZone": "Asia/Tokyo"},
               "end": {"dateTime": at(5, 12).to_rfc3339(), "timeZone": "Asia/Tokyo"}}),
    )
    .await;
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_crm, 1);
    assert_eq!(
        stats(w.base()).await["total"],
        1,
        "an update from Google costs no write"
    );
    let a = &w.crm_all()[0];
    assert_eq!(a.title, "New call (moved)");
    assert_search_exact(&w);
    assert_eq!(a.timezone, "Asia/Tokyo");
    assert_eq!(
        a.timing,
        Timing::Timed {
            start: at(5, 11),
            end: at(5, 12)
        }
    );

    // Deleted in Google → the Google-made appointment goes.
    w.google_delete(&id).await;
    let r = w.pass().await;
    assert_eq!(r.deleted_in_crm, 1);
    assert!(w.crm_all().is_empty());
    assert_eq!(w.link_count(), 0);
    assert_search_exact(&w);

    // The old event never moved; an old CRM appointment edited now doesn't either.
    assert_eq!(w.google_events().await.len(), 1);
}

#[tokio::test]
async fn a_zero_length_google_event_imports_and_round_trips_unchanged() {
    let w = World::new(Direction::Both).await;
    let instant = at(9, 8);
    let event = Event {
        summary: Some("Reminder: renew the contract".into()),
        start: Some(EventDateTime::timed(
            instant.fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        end: Some(EventDateTime::timed(
            instant.fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        end_time_unspecified: Some(true),
        ..Default::default()
    };
    let event = w
        .client
        .insert_event(&w.ctx.calendar_id, &event)
        .await
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    let crm = w.crm_all();
    assert_eq!(crm.len(), 1);
    assert_eq!(
        crm[0].timing,
        Timing::Timed {
            start: instant,
            end: instant
        }
    );
    assert_eq!(w.link_count(), 1);
    // Shown in the list and the week view.
    let upcoming = w
        .store
        .list_appointments(
            &bookline_core::model::ListQuery {
                period: bookline_core::model::Period::Upcoming,
                limit: 10,
                ..Default::default()
            },
            instant - ChronoDuration::days(1),
        )
        .unwrap();
    assert_eq!(upcoming.total, 1);
    assert_eq!(
        w.store
            .occurrences(
                instant - ChronoDuration::days(1),
                instant + ChronoDuration::days(1)
            )
            .unwrap()
            .len(),
        1
    );

    // Nothing to do next pass: no write "fixes" the end.
    w.reset_stats().await;
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(stats(w.base()).await["total"], 1, "one list request");

    // A title change in Bookline goes to Google and leaves the instant alone.
    let mut edit = timed("Reminder: renew the contract today", instant);
    edit.timing = Timing::Timed {
        start: instant,
        end: instant + ChronoDuration::minutes(15),
    };
    w.store
        .update_appointment(&crm[0].id, edit, ChangeSource::User)
        .unwrap();
    w.pass().await;
    let id = event.id.clone().unwrap();
    let after = w.client.get_event(&w.ctx.calendar_id, &id).await.unwrap();
    assert_eq!(
        after.summary.as_deref(),
        Some("Reminder: renew the contract today")
    );
    // Google's side moves back to zero length; the CRM follows without a loop.
    w.google_patch(
        &id,
        json!({"end": {"dateTime": instant.to_rfc3339(), "timeZone": "Europe/Berlin"}}),
    )
    .await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_crm, 1, "{r:?}");
    assert_eq!(
        w.crm_all()[0].timing,
        Timing::Timed {
            start: instant,
            end: instant
        }
    );
    w.reset_stats().await;
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(stats(w.base()).await["total"], 1);
}

fn with_lead(title: &str, start: DateTime<Utc>, name: &str, phone: &str) -> AppointmentInput {
    AppointmentInput {
        lead: Lead {
            name: name.into(),
            email: String::new(),
            phone: phone.into(),
        },
        ..timed(title, start)
    }
}

/// Privacy settings decide what a Google event shows of its appointment. A change of
/// them, or of the lead, changes no synced field, yet the events must show it: exactly
/// the events whose text changes are patched, one request each, none for the others.
#[tokio::test]
async fn privacy_and_lead_changes_patch_exactly_the_events_whose_text_changes() {
    use bookline_core::sync::settings::{self, SyncSettings};
    let mut w = World::new(Direction::Both).await;
    let ann = w.crm_create(with_lead("Call A", at(20, 9), "Ann Archer", "+1 555 0101"));
    let bob = w.crm_create(with_lead("Call B", at(20, 11), "Bob Baker", ""));
    let internal = w.crm_create(timed("Internal sync", at(20, 13)));
    w.pass().await;
    let event = |id: &str| ids::event_id_for(id).unwrap();
    let text = |w: &World, id: String| {
        let client = w.client.clone();
        let cal = w.ctx.calendar_id.clone();
        async move {
            let e = client.get_event(&cal, &id).await.unwrap();
            (
                e.summary.unwrap_or_default(),
                e.description.unwrap_or_default(),
            )
        }
    };
    assert_eq!(
        text(&w, event(&ann.id)).await,
        ("Call A".to_owned(), String::new()),
        "nothing about the lead leaves by default"
    );

    let shown = SyncSettings {
        calendar_id: w.ctx.calendar_id.clone(),
        title_template: "{title} — {lead_name}".into(),
        include_lead_phone: true,
        ..SyncSettings::default()
    };
    let saved = settings::save(&w.store, &shown).unwrap();
    assert_eq!(
        w.store.pending_outbox_count().unwrap(),
        2,
        "Ann's and Bob's events change; the internal one has no lead to show"
    );
    w.ctx.privacy = saved.privacy();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 2, "{r:?}");
    assert_eq!(w.route("events.patch").await, 2);
    assert_eq!(stats(w.base()).await["total"], 3, "one list, two patches");
    assert_eq!(
        text(&w, event(&ann.id)).await,
        (
            "Call A — Ann Archer".to_owned(),
            "--- Bookline lead ---\nPhone: +1 555 0101".to_owned()
        )
    );
    assert_eq!(
        text(&w, event(&bob.id)).await,
        ("Call B — Bob Baker".to_owned(), String::new())
    );
    assert_eq!(
        text(&w, event(&internal.id)).await,
        ("Internal sync".to_owned(), String::new())
    );
    // No echo, and the CRM titles stay the titles.
    w.reset_stats().await;
    assert_eq!(w.pass().await, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1);
    assert_eq!(
        w.store.get_appointment(&ann.id).unwrap().unwrap().title,
        "Call A"
    );
    // Saving the same settings again queues nothing.
    settings::save(&w.store, &saved).unwrap();
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);

    // A lead edit reaches the event under the current settings: one patch.
    w.store
        .update_appointment(
            &ann.id,
            with_lead("Call A", at(20, 9), "Ann Archer", "+1 555 0199"),
            ChangeSource::User,
        )
        .unwrap();
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 1);
    assert_eq!(
        text(&w, event(&ann.id)).await,
        (
            "Call A — Ann Archer".to_owned(),
            "--- Bookline lead ---\nPhone: +1 555 0199".to_owned()
        )
    );
    // A lead detail the settings do not show changes nothing in Google.
    let mut hidden = with_lead("Call A", at(20, 9), "Ann Archer", "+1 555 0199");
    hidden.lead.email = "ann@example.com".into();
    w.store
        .update_appointment(&ann.id, hidden, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 0);
    // A renamed lead: title and description follow.
    w.store
        .update_appointment(
            &bob.id,
            with_lead("Call B", at(20, 11), "Robert Baker", "+1 555 0102"),
            ChangeSource::User,
        )
        .unwrap();
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 1);
    assert_eq!(
        text(&w, event(&bob.id)).await,
        (
            "Call B — Robert Baker".to_owned(),
            "--- Bookline lead ---\nPhone: +1 555 0102".to_owned()
        )
    );

    // Back to private: both lead-bearing events are rewritten, nothing else.
    let private = SyncSettings {
        calendar_id: w.ctx.calendar_id.clone(),
        ..SyncSettings::default()
    };
    w.ctx.privacy = settings::save(&w.store, &private).unwrap().privacy();
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 2);
    assert_eq!(
        text(&w, event(&ann.id)).await,
        ("Call A".to_owned(), String::new())
    );
    w.reset_stats().await;
    assert_eq!(w.pass().await, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1);

    // A direction that does not write to Google queues nothing.
    let one_way = SyncSettings {
        direction: Direction::GoogleToCrm,
        include_lead_name: true,
        ..private
    };
    settings::save(&w.store, &one_way).unwrap();
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
}

/// The direction matrix: create, edit and delete on each side travel only the allowed way.
#[tokio::test]
async fn each_direction_moves_only_its_way() {
    for direction in [
        Direction::Both,
        Direction::GoogleToCrm,
        Direction::CrmToGoogle,
    ] {
        let w = World::new(direction).await;
        let a = w.crm_create(timed("From CRM", at(8, 9)));
        let g = w.google_insert("From Google", at(8, 11)).await;
        w.pass().await;
        let events = w.google_events().await;
        let crm = w.crm_all();
        let to_google = direction.writes_google();
        let to_crm = direction.writes_crm();
        assert_eq!(
            events.iter().any(|e| title_of(e) == "From CRM"),
            to_google,
            "{direction:?}"
        );
        assert_eq!(
            crm.iter().any(|c| c.title == "From Google"),
            to_crm,
            "{direction:?}"
        );

        // Edit both sides' originals on their own side.
        let mut edit = timed("From CRM, edited", at(8, 9));
        edit.location = "Room 1".into();
        w.store
            .update_appointment(&a.id, edit, ChangeSource::User)
            .unwrap();
        w.google_patch(
            g.id.as_deref().unwrap(),
            json!({"summary": "From Google, edited"}),
        )
        .await;
        w.pass().await;
        let events = w.google_events().await;
        let crm = w.crm_all();
        assert_eq!(
            events.iter().any(|e| title_of(e) == "From CRM, edited"),
            to_google,
            "{direction:?}"
        );
        assert_eq!(
            crm.iter().any(|c| c.title == "From Google, edited"),
            to_crm,
            "{direction:?}"
        );
        // The wrong way never happened: the other side still has its own version.
        assert!(events.iter().any(|e| title_of(e) == "From Google, edited"));
        assert!(crm.iter().any(|c| c.title == "From CRM, edited"));

        // Delete the copies on the receiving side: travels back only in `both`.
        let crm_copy = w.crm_all().into_iter().find(|c| c.origin == Origin::Google);
        let google_copy = ids::event_id_for(&a.id).filter(|_| to_google);
        if let Some(copy) = &crm_copy {
            w.store
                .delete_appointment(&copy.id, ChangeSource::User)
                .unwrap();
        }
        if let Some(copy) = &google_copy {
            w.google_delete(copy).await;
        }
        w.pass().await;
        let events = w.google_events().await;
        let original = w.store.get_appointment(&a.id).unwrap().unwrap();
        if crm_copy.is_some() {
            assert_eq!(
                events.iter().any(|e| e.id == g.id),
                !to_google,
                "{direction:?}: a CRM delete reaches Google only when allowed"
            );
        }
        if google_copy.is_some() {
            assert_eq!(
                original.status == Status::Cancelled,
                to_crm,
                "{direction:?}: a Google delete reaches the CRM only when allowed"
            );
        }

        // Delete the originals on their own side: nothing is left anywhere.
        w.store
            .delete_appointment(&a.id, ChangeSource::User)
            .unwrap();
        if events.iter().any(|e| e.id == g.id) {
            w.google_delete(g.id.as_deref().unwrap()).await;
        }
        w.pass().await;
        let events = w.google_events().await;
        assert!(events.is_empty(), "{direction:?}: {events:?}");
        assert!(w.crm_all().is_empty(), "{direction:?}");

        // Settled: the next pass writes nothing.
        w.reset_stats().await;
        let r = w.pass().await;
        assert!(!r.changed_anything(), "{direction:?}: {r:?}");
        assert_eq!(stats(w.base()).await["total"], 1, "{direction:?}");
    }
}

/// Widening the direction leaves nothing behind: what was created on the side the
/// narrower direction did not send from is new since connecting, so the next pass moves
/// it (once); what existed before connecting still waits for a transfer.
async fn widening_moves_what_was_created_meanwhile(from: Direction) {
    use bookline_core::sync::settings;
    let mut w = World::new(from).await;
    w.store
        .set_setting(
            bookline_core::account::SETTING_CONNECTED_AT,
            &w.ctx.connected_at,
        )
        .unwrap();
    let narrow = settings::SyncSettings {
        direction: from,
        ..settings::load(&w.store).unwrap()
    };
    settings::save(&w.store, &narrow).unwrap();
    w.google_old("Old lunch", at(4, 12)).await;
    w.crm_create(timed("Call made meanwhile", at(4, 9)));
    w.google_insert("Lunch made meanwhile", at(4, 11)).await;
    w.pass().await;
    w.pass().await;

    let widened = settings::SyncSettings {
        direction: Direction::Both,
        ..settings::load(&w.store).unwrap()
    };
    settings::save(&w.store, &widened).unwrap();
    w.ctx.direction = Direction::Both;
    let r = w.pass().await;
    let moved = match from {
        Direction::GoogleToCrm => r.created_in_google,
        _ => r.created_in_crm,
    };
    assert_eq!(moved, 1, "{from:?}: {r:?}");

    let mut in_google: Vec<String> = w
        .google_events()
        .await
        .iter()
        .map(|e| title_of(e).to_owned())
        .collect();
    in_google.sort();
    assert_eq!(
        in_google,
        ["Call made meanwhile", "Lunch made meanwhile", "Old lunch"],
        "{from:?}"
    );
    let mut in_crm: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    in_crm.sort();
    assert_eq!(
        in_crm,
        ["Call made meanwhile", "Lunch made meanwhile"],
        "{from:?}"
    );
    assert_eq!(w.link_count(), 2, "{from:?}");
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{from:?}: {r:?}");
}

#[tokio::test]
async fn widening_google_to_crm_to_both_sends_what_was_created_meanwhile() {
    widening_moves_what_was_created_meanwhile(Direction::GoogleToCrm).await;
}

#[tokio::test]
async fn widening_crm_to_google_to_both_imports_what_was_created_meanwhile() {
    widening_moves_what_was_created_meanwhile(Direction::CrmToGoogle).await;
}

/// A world whose settings say `direction`, connected (so widening offers what the
/// narrower direction left).
async fn narrow_world(direction: Direction) -> World {
    use bookline_core::sync::settings;
    let w = World::new(direction).await;
    w.store
        .set_setting(
            bookline_core::account::SETTING_CONNECTED_AT,
            &w.ctx.connected_at,
        )
        .unwrap();
    let narrow = settings::SyncSettings {
        direction,
        ..settings::load(&w.store).unwrap()
    };
    settings::save(&w.store, &narrow).unwrap();
    w
}

/// Saves `both` as the direction, as the window does, and runs the engine with it.
fn widen_to_both(w: &mut World) {
    use bookline_core::sync::settings;
    let widened = settings::SyncSettings {
        direction: Direction::Both,
        ..settings::load(&w.store).unwrap()
    };
    settings::save(&w.store, &widened).unwrap();
    w.ctx.direction = Direction::Both;
}

/// A pass after the sides settled: nothing changes, nothing is duplicated.
async fn assert_settled(w: &World, events: usize, appointments: usize) {
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(w.google_events().await.len(), events);
    assert_eq!(w.crm_all().len(), appointments);
    assert_eq!(w.link_count(), appointments);
}

/// google-to-crm: a CRM delete of a linked appointment stays in Bookline while the
/// direction excludes Google; widening to both deletes the event on the next pass.
#[tokio::test]
async fn widening_google_to_crm_to_both_carries_a_crm_delete_made_meanwhile() {
    let mut w = narrow_world(Direction::GoogleToCrm).await;
    let kept = w.google_insert("Kept lunch", at(4, 10)).await;
    let gone = w
        .google_insert("Lunch deleted in Bookline", at(4, 11))
        .await;
    w.pass().await;
    let crm = w.crm_all();
    assert_eq!(crm.len(), 2);
    let a = crm
        .iter()
        .find(|a| a.title == "Lunch deleted in Bookline")
        .unwrap();
    w.store
        .delete_appointment(&a.id, ChangeSource::User)
        .unwrap();
    w.pass().await;
    w.pass().await;
    // The direction excludes Google: the event stays.
    let live: Vec<Option<String>> = w.google_events().await.into_iter().map(|e| e.id).collect();
    assert!(live.contains(&gone.id), "{live:?}");

    widen_to_both(&mut w);
    let r = w.pass().await;
    assert_eq!(r.deleted_in_google, 1, "{r:?}");
    let live: Vec<Option<String>> = w.google_events().await.into_iter().map(|e| e.id).collect();
    assert_eq!(live, vec![kept.id.clone()]);
    assert_eq!(w.crm_all().len(), 1);
    assert_settled(&w, 1, 1).await;
}

/// google-to-crm: a CRM edit of a linked appointment stays in Bookline while the
/// direction excludes Google; widening to both patches the event on the next pass.
#[tokio::test]
async fn widening_google_to_crm_to_both_carries_a_crm_edit_made_meanwhile() {
    let mut w = narrow_world(Direction::GoogleToCrm).await;
    let event = w.google_insert("Lunch", at(4, 11)).await;
    w.pass().await;
    let a = w.crm_all().pop().unwrap();
    let mut edit = timed("Lunch with Ada", at(4, 11));
    edit.timezone = a.timezone.clone();
    w.store
        .update_appointment(&a.id, edit, ChangeSource::User)
        .unwrap();
    w.pass().await;
    w.pass().await;
    let id = event.id.clone().unwrap();
    let now = w.client.get_event(&w.ctx.calendar_id, &id).await.unwrap();
    assert_eq!(title_of(&now), "Lunch", "the direction excludes Google");

    widen_to_both(&mut w);
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    let now = w.client.get_event(&w.ctx.calendar_id, &id).await.unwrap();
    assert_eq!(title_of(&now), "Lunch with Ada");
    assert_eq!(
        w.store.get_appointment(&a.id).unwrap().unwrap().title,
        "Lunch with Ada"
    );
    assert_settled(&w, 1, 1).await;
}

/// crm-to-google: a Google edit of a linked event stays in Google while the direction
/// excludes Bookline; widening to both brings it in on the next pass.
#[tokio::test]
async fn widening_crm_to_google_to_both_carries_a_google_edit_made_meanwhile() {
    let mut w = narrow_world(Direction::CrmToGoogle).await;
    let a = w.crm_create(timed("Call", at(4, 9)));
    w.pass().await;
    let event_id = ids::event_id_for(&a.id).unwrap();
    w.google_patch(&event_id, json!({"summary": "Call with Grace"}))
        .await;
    w.pass().await;
    w.pass().await;
    assert_eq!(
        w.store.get_appointment(&a.id).unwrap().unwrap().title,
        "Call",
        "the direction excludes Bookline"
    );

    widen_to_both(&mut w);
    let r = w.pass().await;
    assert_eq!(r.updated_in_crm, 1, "{r:?}");
    assert_eq!(
        w.store.get_appointment(&a.id).unwrap().unwrap().title,
        "Call with Grace"
    );
    let now = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(title_of(&now), "Call with Grace");
    assert_settled(&w, 1, 1).await;
}

/// crm-to-google: a Google delete of a linked event leaves the appointment while the
/// direction excludes Bookline; widening to both cancels it on the next pass.
#[tokio::test]
async fn widening_crm_to_google_to_both_carries_a_google_delete_made_meanwhile() {
    let mut w = narrow_world(Direction::CrmToGoogle).await;
    let kept = w.crm_create(timed("Kept call", at(4, 8)));
    let a = w.crm_create(timed("Call", at(4, 9)));
    w.pass().await;
    w.google_delete(&ids::event_id_for(&a.id).unwrap()).await;
    w.pass().await;
    w.pass().await;
    let now = w.store.get_appointment(&a.id).unwrap().unwrap();
    assert_eq!(
        now.status,
        Status::Booked,
        "the direction excludes Bookline"
    );

    widen_to_both(&mut w);
    let r = w.pass().await;
    assert_eq!(r.deleted_in_crm, 1, "{r:?}");
    let now = w.store.get_appointment(&a.id).unwrap().unwrap();
    assert_eq!(now.status, Status::Cancelled);
    let live: Vec<Option<String>> = w.google_events().await.into_iter().map(|e| e.id).collect();
    assert_eq!(live, vec![ids::event_id_for(&kept.id)]);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(w.google_events().await.len(), 1);
    assert_eq!(w.crm_all().len(), 2);
}

#[tokio::test]
async fn concurrent_edits_merge_by_field_and_log_the_conflict() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Review", at(9, 9)));
    w.pass().await;
    let event_id = ids::event_id_for(&a.id).unwrap();

    // Different fields: location in the CRM, title in Google → both kept.
    let mut edit = timed("Review", at(9, 9));
    edit.location = "Berlin office".into();
    w.store
        .update_appointment(&a.id, edit, ChangeSource::User)
        .unwrap();
    w.google_patch(&event_id, json!({"summary": "Quarterly review"}))
        .await;
    let r = w.pass().await;
    assert_eq!(r.conflicts, 0, "{r:?}");
    let crm = w.store.get_appointment(&a.id).unwrap().unwrap();
    assert_eq!(crm.title, "Quarterly review");
    assert_eq!(crm.location, "Berlin office");
    let e = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(title_of(&e), "Quarterly review");
    assert_eq!(e.location.as_deref(), Some("Berlin office"));

    // Same field: Google edits last → Google wins, the conflict is logged.
    let mut edit = timed("CRM title", at(9, 9));
    edit.location = "Berlin office".into();
    w.store
        .update_appointment(&a.id, edit, ChangeSource::User)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    w.google_patch(&event_id, json!({"summary": "Google title"}))
        .await;
    let r = w.pass().await;
    assert_eq!(r.conflicts, 1, "{r:?}");
    assert_eq!(
        w.store.get_appointment(&a.id).unwrap().unwrap().title,
        "Google title"
    );
    let e = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(title_of(&e), "Google title");
    let log = activity::list(&w.store, 50, None).unwrap();
    assert!(
        log.iter()
            .any(|e| e.kind == ActivityKind::Conflict && e.summary.contains("title")),
        "{log:?}"
    );
    // Converged: nothing more to do.
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
}

/// A user's edit that lands while a pull applies — after the pull read the row, before
/// its transaction — is not taken as synced: an edit of another field stays next to
/// Google's change, an edit of the same field is the later edit and wins, and both are
/// pushed to Google.
#[tokio::test]
async fn an_edit_made_while_a_pull_applies_is_pushed_not_lost() {
    type Edit = Box<dyn FnOnce() + Send>;
    let armed: Arc<std::sync::Mutex<Option<Edit>>> = Arc::default();
    let slot = armed.clone();
    let options = EngineOptions {
        before_apply: Some(ApplyHook(Arc::new(move || {
            let edit = slot.lock().unwrap().take();
            if let Some(edit) = edit {
                edit();
            }
        }))),
        ..fast_options()
    };
    let w = World::with_options(Direction::Both, options).await;
    let ada = w.crm_create(timed("Call Ada", at(2, 9)));
    let bob = w.crm_create(timed("Call Bob", at(3, 9)));
    w.pass().await;
    w.pass().await;
    let ada_event = ids::event_id_for(&ada.id).unwrap();
    let bob_event = ids::event_id_for(&bob.id).unwrap();

    w.google_patch(&ada_event, json!({"location": "Room 1"}))
        .await;
    w.google_patch(&bob_event, json!({"summary": "Call Bob (Google)"}))
        .await;
    // The user edits both titles while the pull that brings those changes applies
    // (another connection, as the window's would be).
    let path = w.store.path().to_owned();
    let (ada_id, bob_id) = (ada.id.clone(), bob.id.clone());
    *armed.lock().unwrap() = Some(Box::new(move || {
        let window = Store::open(&path).unwrap();
        window
            .update_appointment(
                &ada_id,
                timed("Call Ada (Bookline)", at(2, 9)),
                ChangeSource::User,
            )
            .unwrap();
        window
            .update_appointment(
                &bob_id,
                timed("Call Bob (Bookline)", at(3, 9)),
                ChangeSource::User,
            )
            .unwrap();
    }));
    w.pass().await;
    assert!(
        armed.lock().unwrap().is_none(),
        "the edit landed in the pass"
    );
    w.pass().await;

    let ada_now = w.store.get_appointment(&ada.id).unwrap().unwrap();
    assert_eq!(
        (ada_now.title.as_str(), ada_now.location.as_str()),
        ("Call Ada (Bookline)", "Room 1")
    );
    let bob_now = w.store.get_appointment(&bob.id).unwrap().unwrap();
    assert_eq!(bob_now.title, "Call Bob (Bookline)");
    let ada_google = w
        .client
        .get_event(&w.ctx.calendar_id, &ada_event)
        .await
        .unwrap();
    assert_eq!(title_of(&ada_google), "Call Ada (Bookline)");
    assert_eq!(ada_google.location.as_deref(), Some("Room 1"));
    let bob_google = w
        .client
        .get_event(&w.ctx.calendar_id, &bob_event)
        .await
        .unwrap();
    assert_eq!(title_of(&bob_google), "Call Bob (Bookline)");
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
    // Converged.
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
}

#[tokio::test]
async fn expired_sync_token_relists_without_duplicates() {
    let w = World::with_options(
        Direction::Both,
        EngineOptions {
            page_size: 7,
            ..fast_options()
        },
    )
    .await;
    for i in 0..10 {
        w.google_insert(
            &format!("G{i}"),
            at(10, 8) + ChronoDuration::minutes(i * 90),
        )
        .await;
    }
    for i in 0..5 {
        w.crm_create(timed(
            &format!("C{i}"),
            at(11, 8) + ChronoDuration::hours(i),
        ));
    }
    w.pass().await;
    assert_eq!(w.crm_all().len(), 15);
    assert_eq!(w.google_events().await.len(), 15);

    // Token expires; meanwhile one more event arrives in Google.
    control(w.base(), "faults", json!({"expire_sync_tokens": true})).await;
    w.google_insert("G-late", at(12, 8)).await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(r.created_in_google, 0);
    assert_eq!(w.crm_all().len(), 16);
    assert_eq!(w.google_events().await.len(), 16);
    assert_eq!(w.link_count(), 16);
    let log = activity::list(&w.store, 100, None).unwrap();
    assert!(log.iter().any(|e| e.summary.contains("full resync")));
}

#[tokio::test]
async fn faults_until_converged_leave_both_sides_equal() {
    let w = World::new(Direction::Both).await;
    let mut crm_ids = Vec::new();
    for i in 0..25 {
        crm_ids.push(
            w.crm_create(timed(
                &format!("CRM {i}"),
                at(15, 0) + ChronoDuration::hours(i),
            ))
            .id,
        );
    }
    for i in 0..25 {
        w.google_insert(&format!("Google {i}"), at(20, 0) + ChronoDuration::hours(i))
            .await;
    }
    control(
        w.base(),
        "faults",
        json!({"seed": 7, "rate": 0.15, "kinds": [
            "backend_500", "backend_503", "rate_limit_429", "rate_limit_403",
            "user_rate_limit_403", "drop_connection"
        ]}),
    )
    .await;
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 40, "no convergence");
        match w.try_pass().await {
            Ok(r) if r.errors.is_empty() && w.store.pending_outbox_count().unwrap() == 0 => {
                if !r.changed_anything() {
                    break;
                }
            }
            // Errors are retried by the next pass (the outbox keeps the work). Failed
            // items wait for their retry time; make them due now.
            _ => {
                w.store
                    .write("test", |tx| {
                        tx.execute("UPDATE outbox SET next_attempt_at = NULL", [])
                            .unwrap();
                        Ok(())
                    })
                    .unwrap();
            }
        }
    }
    control(w.base(), "faults", json!({})).await;
    let events = w.google_events().await;
    let crm = w.crm_all();
    assert_eq!(events.len(), 50, "no duplicate, nothing lost in Google");
    assert_eq!(crm.len(), 50, "no duplicate, nothing lost in the CRM");
    assert_eq!(w.link_count(), 50);
    let mut g: Vec<&str> = events.iter().map(title_of).collect();
    let mut c: Vec<&str> = crm.iter().map(|a| a.title.as_str()).collect();
    g.sort_unstable();
    c.sort_unstable();
    assert_eq!(g, c);
    let injected = stats(w.base()).await["faults_injected"].clone();
    assert!(
        injected.as_object().is_some_and(|m| !m.is_empty()),
        "faults were injected"
    );
}

#[tokio::test]
async fn crash_between_outbox_and_push_and_between_push_and_link() {
    let w = World::new(Direction::Both).await;
    // Crash 1: the change is in the outbox, nothing was sent. Reopen the file: it's there.
    let a = w.crm_create(timed("Crash one", at(16, 9)));
    let path = w.store.path().to_path_buf();
    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.pending_outbox_count().unwrap(), 1);
    drop(reopened);

    // Crash 2: the insert reached Google, but the process died before the link was
    // written (simulated by inserting the very same event ourselves).
    let b = w.crm_create(timed("Crash two", at(16, 11)));
    let mut event = bookline_core::sync::mapping::event_for_insert(
        &b.id,
        &bookline_core::sync::engine::fields_of(&b),
        &b.lead,
        &PrivacySettings::default(),
    )
    .unwrap();
    event.etag = None;
    w.client
        .insert_event(&w.ctx.calendar_id, &event)
        .await
        .unwrap();

    let r = w.pass().await;
    assert_eq!(r.created_in_google, 1, "{r:?}");
    let events = w.google_events().await;
    assert_eq!(events.len(), 2, "no duplicate: {events:?}");
    assert_eq!(w.link_count(), 2);
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
    assert!(w.store.get_appointment(&a.id).unwrap().is_some());
    let r = w.pass().await;
    assert!(!r.changed_anything());
}

/// The status of the event under `event_id` as Google holds it (a deleted event still
/// answers, as `cancelled`), or `None` when there never was one.
/// The event Bookline's insert of `a` would have made, put into Google unless it is
/// there already: for tests where an insert was abandoned in flight and may or may not
/// have arrived.
pub(crate) async fn put_as_inserted(w: &World, a: &bookline_core::model::Appointment) {
    let event_id = ids::event_id_for(&a.id).unwrap();
    let mut event = bookline_core::sync::mapping::event_for_insert(
        &a.id,
        &bookline_core::sync::engine::fields_of(a),
        &a.lead,
        &PrivacySettings::default(),
    )
    .unwrap();
    event.etag = None;
    if event_status(w, &event_id).await.is_none() {
        w.client
            .insert_event(&w.ctx.calendar_id, &event)
            .await
            .unwrap();
    }
}

/// The user deletes appointment `appointment_id`, whose insert may have reached Google
/// unanswered: the next pass lists and sends exactly one delete, to the event id derived
/// from the appointment, and the event is gone from Google.
pub(crate) async fn delete_reaches_google(w: &World, appointment_id: &str, label: &str) {
    let event_id = ids::event_id_for(appointment_id).unwrap();
    w.store
        .delete_appointment(appointment_id, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.deleted_in_google, 1, "{label}: {r:?}");
    assert_eq!(
        w.routes().await,
        json!({"events.list": 1, "events.delete": 1}),
        "{label}: the pull's listing and one delete, nothing else"
    );
    assert_eq!(
        event_status(w, &event_id).await.as_deref(),
        Some("cancelled"),
        "{label}: the event is gone from Google"
    );
}

pub(crate) async fn event_status(w: &World, event_id: &str) -> Option<String> {
    w.client
        .get_event(&w.ctx.calendar_id, event_id)
        .await
        .ok()
        .map(|e| e.status.map(|s| s.to_string()).unwrap_or_default())
}

/// The outbox rows of an appointment: (op, attempts, next_attempt_at set).
fn outbox_rows(w: &World, appointment_id: &str) -> Vec<(String, i64, bool)> {
    w.store
        .read(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT op, attempts, next_attempt_at IS NOT NULL FROM outbox \
                     WHERE appointment_id = ?1 ORDER BY seq",
                )
                .unwrap();
            let rows = stmt
                .query_map([appointment_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            Ok(rows)
        })
        .unwrap()
}

/// An insert reaches Google but its answer is lost (broken body: not retried), so the
/// appointment stays unlinked; the user deletes it before the retry. The delete goes to
/// the event id derived from the appointment: one delete request, the event is gone, and
/// nothing else is written. The soak's "known engine gap".
#[tokio::test]
async fn a_delete_after_a_lost_insert_answer_deletes_the_event() {
    let w = World::new(Direction::Both).await;
    for kind in ["malformed_json", "truncated_json"] {
        let a = w.crm_create(timed(&format!("Lost answer ({kind})"), at(17, 10)));
        let event_id = ids::event_id_for(&a.id).unwrap();
        control(
            w.base(),
            "faults",
            json!({"fail_next": 1, "kinds": [kind], "routes": ["events.insert"]}),
        )
        .await;
        let r = w.try_pass().await.expect("pass");
        control(w.base(), "faults", json!({})).await;
        assert_eq!(r.errors.len(), 1, "{kind}: {r:?}");
        assert_eq!(
            w.link_count(),
            0,
            "{kind}: the answer was lost, nothing linked"
        );
        assert_eq!(
            event_status(&w, &event_id).await.as_deref(),
            Some("confirmed"),
            "{kind}: the insert reached Google"
        );
        assert_eq!(outbox_rows(&w, &a.id), vec![("upsert".to_owned(), 1, true)]);

        // The failed upsert waits for its retry time; the delete is due at once.
        delete_reaches_google(&w, &a.id, kind).await;
        assert!(outbox_rows(&w, &a.id).is_empty(), "{kind}: all settled");
        assert!(w.google_events().await.is_empty());
        assert_eq!(w.link_count(), 0);
        let logged = activity::list(&w.store, 5, None).unwrap();
        assert!(
            logged.iter().any(|e| e.kind == ActivityKind::Deleted
                && e.appointment_id.as_deref() == Some(a.id.as_str())),
            "{kind}: the delete is in the activity log: {logged:?}"
        );

        // Nothing echoes: the next pass only lists.
        w.reset_stats().await;
        assert_eq!(w.pass().await, SyncReport::default());
        assert_eq!(w.routes().await, json!({"events.list": 1}));
    }
}

/// The process dies while the insert is on its way (here: the pass is dropped while the
/// emulator holds the insert back), so no answer and no failure is recorded; the event
/// got to Google anyway. The entry was marked as sent before the write left, so the
/// user's delete still reaches Google.
#[tokio::test]
async fn a_delete_after_a_crash_during_the_insert_deletes_the_event() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Crash during insert", at(18, 10)));
    control(w.base(), "faults", json!({"latency_ms": 1500})).await;
    {
        let pass = w.try_pass();
        tokio::pin!(pass);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            tokio::select! {
                r = &mut pass => panic!("the pass ended before the insert was sent: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            if outbox_rows(&w, &a.id).iter().any(|(_, _, marked)| *marked) {
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
    assert_eq!(outbox_rows(&w, &a.id), vec![("upsert".to_owned(), 0, true)]);
    // The stats count from the moment the emulator says the abandoned request is over
    // (no sleep racing its latency on a busy machine).
    assert!(
        w.emu.wait_until_idle(Duration::from_secs(60)).await,
        "the held insert never finished"
    );
    // Whether the emulator finished the abandoned request or not, the insert is taken to
    // have arrived (it may have).
    put_as_inserted(&w, &a).await;
    delete_reaches_google(&w, &a.id, "crash").await;
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
}

/// An appointment created and deleted between two passes was never sent: its delete
/// sends nothing (the pass only lists), and nothing is logged as deleted in Google.
#[tokio::test]
async fn a_delete_of_a_never_pushed_appointment_sends_nothing() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Never sent", at(19, 10)));
    w.store
        .delete_appointment(&a.id, ChangeSource::User)
        .unwrap();
    assert_eq!(outbox_rows(&w, &a.id).len(), 2);
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());
    assert_eq!(
        w.routes().await,
        json!({"events.list": 1}),
        "no delete sent"
    );
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
    let id = ids::event_id_for(&a.id).unwrap();
    assert_eq!(event_status(&w, &id).await, None, "never in Google");

    // The same with an insert that failed before reaching Google would send a delete
    // (404 there): the engine cannot tell a lost answer from a refused call in general.
    // An insert that succeeded and was linked deletes through its link as always.
    let b = w.crm_create(timed("Sent and linked", at(19, 12)));
    w.pass().await;
    w.store
        .delete_appointment(&b.id, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.deleted_in_google, 1);
    assert_eq!(
        w.routes().await,
        json!({"events.list": 1, "events.delete": 1})
    );
}

/// Both sides agree: every appointment has exactly one live Google event under its link
/// and every live event belongs to exactly one appointment.
fn assert_sides_agree(
    w: &World,
    appointments: &[bookline_core::model::Appointment],
    events: &[Event],
) {
    let mut event_ids: Vec<&str> = events.iter().filter_map(|e| e.id.as_deref()).collect();
    event_ids.sort_unstable();
    let before = event_ids.len();
    event_ids.dedup();
    assert_eq!(before, event_ids.len(), "duplicate events");
    assert_eq!(
        appointments.len(),
        events.len(),
        "one event per appointment"
    );
    for a in appointments {
        let link = w
            .store
            .read(|c| links::by_appointment(&w.store, c, &a.id))
            .unwrap()
            .unwrap_or_else(|| panic!("“{}” has no link", a.title));
        assert!(
            event_ids.contains(&link.event_id.as_str()),
            "“{}” is linked to an event that is not live",
            a.title
        );
        assert_ne!(a.status, Status::Cancelled, "“{}” was cancelled", a.title);
    }
    let mut titles: Vec<&str> = appointments.iter().map(|a| a.title.as_str()).collect();
    titles.sort_unstable();
    let n = titles.len();
    titles.dedup();
    assert_eq!(n, titles.len(), "duplicate appointments");
}

/// 30 events imported from Google; then 25 of them deleted in Google, one new event in
/// Google and one appointment edited in Bookline. The pass goes on: the new event and
/// the edit sync, the 25 deletions are held.
async fn google_mass_delete_world() -> (World, Vec<Event>) {
    let w = World::new(Direction::Both).await;
    let mut events = Vec::new();
    for i in 0..30 {
        events.push(
            w.google_insert(
                &format!("Imported {i}"),
                at(18, 0) + ChronoDuration::minutes(i * 30),
            )
            .await,
        );
    }
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 30);
    assert_eq!(r.held_deletes, 0);
    for e in &events[..25] {
        w.google_delete(e.id.as_deref().unwrap()).await;
    }
    w.google_insert("New in Google", at(20, 9)).await;
    let kept = w
        .crm_all()
        .into_iter()
        .find(|a| a.title == "Imported 27")
        .unwrap();
    let mut input = timed("Imported 27 (moved)", at(21, 10));
    input.timezone = kept.timezone.clone();
    w.store
        .update_appointment(&kept.id, input, ChangeSource::User)
        .unwrap();

    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    assert_eq!(
        r.deleted_in_crm, 0,
        "nothing deleted before the decision: {r:?}"
    );
    assert_eq!(r.held_deletes, 25, "{r:?}");
    assert_eq!(w.crm_all().len(), 31);
    let moved = w
        .google_events()
        .await
        .into_iter()
        .find(|e| e.summary.as_deref() == Some("Imported 27 (moved)"));
    assert!(moved.is_some(), "the edit reached Google");
    let held = held::pending(&w.store).unwrap();
    assert_eq!((held.crm, held.google), (25, 0), "{held:?}");
    assert_eq!(held.first.len(), 10);
    assert!(held.first.iter().all(|i| i.side == Side::Crm));
    assert!(held.first.iter().all(|i| i.title.starts_with("Imported ")));

    // Later passes keep holding and sync everything else; new deletes join the held set.
    w.google_insert("Also new in Google", at(22, 9)).await;
    w.google_delete(events[25].id.as_deref().unwrap()).await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(r.deleted_in_crm, 0, "{r:?}");
    assert_eq!(r.held_deletes, 26, "{r:?}");
    assert_eq!(w.crm_all().len(), 32);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(r.held_deletes, 26);
    (w, events)
}

#[tokio::test]
async fn a_google_mass_delete_is_held_and_delete_them_applies_it() {
    let (w, _) = google_mass_delete_world().await;
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Delete,
        &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!(r.deleted_in_crm, 26, "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.held_deletes, 0);
    assert_eq!(held::pending(&w.store).unwrap().crm, 0);
    assert_eq!(w.crm_all().len(), 6);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_sides_agree(&w, &w.crm_all(), &w.google_events().await);
}

#[tokio::test]
async fn a_google_mass_delete_is_held_and_keep_them_restores_the_events() {
    let (w, _) = google_mass_delete_world().await;
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Keep,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.deleted_in_crm, 0, "{r:?}");
    assert_eq!(r.held_deletes, 0);
    assert_eq!(held::pending(&w.store).unwrap().crm, 0);
    assert_eq!(w.crm_all().len(), 32);
    let events = w.google_events().await;
    assert_eq!(events.len(), 32);
    assert_sides_agree(&w, &w.crm_all(), &events);
    // Nothing comes back on the next passes (no echo, no re-delete).
    let r = w.pass().await;
    assert_eq!(
        r.deleted_in_crm + r.created_in_crm + r.created_in_google,
        0,
        "{r:?}"
    );
    w.pass().await;
    assert_sides_agree(&w, &w.crm_all(), &w.google_events().await);
}

/// 30 appointments sent to Google; then 25 of them deleted in Bookline, one new
/// appointment in Bookline and one event edited in Google.
async fn crm_mass_delete_world() -> (World, Vec<String>) {
    let w = World::new(Direction::Both).await;
    let mut ids_ = Vec::new();
    for i in 0..30 {
        ids_.push(
            w.crm_create(timed(
                &format!("Bulk {i}"),
                at(17, 0) + ChronoDuration::minutes(i * 30),
            ))
            .id,
        );
    }
    w.pass().await;
    for id in &ids_[..25] {
        w.store.delete_appointment(id, ChangeSource::User).unwrap();
    }
    w.crm_create(timed("New in Bookline", at(23, 9)));
    let edited = ids::event_id_for(&ids_[28]).unwrap();
    w.google_patch(&edited, json!({"summary": "Bulk 28 (renamed in Google)"}))
        .await;

    let r = w.pass().await;
    assert_eq!(r.created_in_google, 1, "{r:?}");
    assert_eq!(r.updated_in_crm, 1, "{r:?}");
    assert_eq!(
        r.deleted_in_google, 0,
        "nothing deleted before the decision: {r:?}"
    );
    assert_eq!(r.held_deletes, 25, "{r:?}");
    assert_eq!(w.google_events().await.len(), 31);
    let held = held::pending(&w.store).unwrap();
    assert_eq!((held.crm, held.google), (0, 25), "{held:?}");
    assert!(held.first.iter().all(|i| i.side == Side::Google));
    assert!(held.first.iter().all(|i| i
        .appointment_id
        .as_deref()
        .is_some_and(|id| ids_[..25].iter().any(|x| x == id))));

    // The next pass still holds, and syncs the rest.
    w.crm_create(timed("Also new in Bookline", at(24, 9)));
    let r = w.pass().await;
    assert_eq!(r.created_in_google, 1, "{r:?}");
    assert_eq!(r.deleted_in_google, 0, "{r:?}");
    assert_eq!(r.held_deletes, 25);
    assert_eq!(w.google_events().await.len(), 32);
    (w, ids_)
}

#[tokio::test]
async fn a_bookline_mass_delete_is_held_and_delete_them_applies_it() {
    let (w, _) = crm_mass_delete_world().await;
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Delete,
        &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!(r.deleted_in_google, 25, "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.held_deletes, 0);
    assert_eq!(w.google_events().await.len(), 7);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_sides_agree(&w, &w.crm_all(), &w.google_events().await);
}

#[tokio::test]
async fn a_bookline_mass_delete_is_held_and_keep_them_reimports_the_events() {
    let (w, ids_) = crm_mass_delete_world().await;
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Keep,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.deleted_in_google, 0, "{r:?}");
    assert_eq!(r.created_in_crm, 25, "{r:?}");
    assert_eq!(r.held_deletes, 0);
    let all = w.crm_all();
    assert_eq!(all.len(), 32);
    // Re-imported under their old ids: the links and Google's event ids still fit.
    for id in &ids_[..25] {
        assert!(all.iter().any(|a| &a.id == id), "{id} is back");
    }
    assert_eq!(w.google_events().await.len(), 32);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_sides_agree(&w, &w.crm_all(), &w.google_events().await);
}

/// Bookline's own events deleted in Google: Keep them writes them back under the same
/// ids; deleted again, Delete them cancels the appointments (they were made in Bookline,
/// so their lead details stay).
#[tokio::test]
async fn bookline_events_deleted_in_google_are_kept_then_cancelled() {
    let w = World::new(Direction::Both).await;
    let mut ids_ = Vec::new();
    for i in 0..30 {
        ids_.push(
            w.crm_create(timed(
                &format!("Pitch {i}"),
                at(17, 0) + ChronoDuration::minutes(i * 30),
            ))
            .id,
        );
    }
    w.pass().await;
    let delete_25 = || async {
        for id in &ids_[..25] {
            w.google_delete(&ids::event_id_for(id).unwrap()).await;
        }
    };
    delete_25().await;
    let r = w.pass().await;
    assert_eq!(r.held_deletes, 25, "{r:?}");
    assert_eq!(r.deleted_in_crm, 0, "{r:?}");
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Keep,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.held_deletes, 0);
    let events = w.google_events().await;
    assert_eq!(events.len(), 30);
    for id in &ids_ {
        let event_id = ids::event_id_for(id).unwrap();
        assert!(events
            .iter()
            .any(|e| e.id.as_deref() == Some(event_id.as_str())));
    }
    assert!(!w.pass().await.changed_anything());
    assert_sides_agree(&w, &w.crm_all(), &w.google_events().await);

    delete_25().await;
    assert_eq!(w.pass().await.held_deletes, 25);
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Delete,
        &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!(r.deleted_in_crm, 25, "{r:?}");
    let all = w.crm_all();
    assert_eq!(all.len(), 30, "made in Bookline: cancelled, not removed");
    assert_eq!(
        all.iter().filter(|a| a.status == Status::Cancelled).count(),
        25
    );
    assert!(!w.pass().await.changed_anything());
    assert_eq!(w.google_events().await.len(), 5);
}

/// Appointments whose events a calendar change kept in the calendar synced before: their
/// held deletion is decided there — Keep them re-imports from that calendar, Delete them
/// deletes there.
#[tokio::test]
async fn held_deletions_of_events_kept_in_an_earlier_calendar_are_decided_there() {
    use bookline_core::sync::calendar_change::{apply_calendar_change, CalendarChangeChoice};
    let mut w = World::new(Direction::Both).await;
    let first = w.ctx.calendar_id.clone();
    let mut ids_ = Vec::new();
    for i in 0..30 {
        ids_.push(
            w.crm_create(timed(
                &format!("Kept {i}"),
                at(17, 0) + ChronoDuration::minutes(i * 30),
            ))
            .id,
        );
    }
    w.pass().await;
    let second = w
        .client
        .insert_calendar("Bookline", Some("UTC"))
        .await
        .unwrap()
        .id;
    let r = apply_calendar_change(
        &w.store,
        &w.client,
        &w.engine,
        &first,
        &second,
        CalendarChangeChoice::KeepWhereTheyAre,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    w.ctx.calendar_id = second.clone();
    w.pass().await;
    let live_in = |calendar: String| {
        let w = &w;
        async move {
            w.client
                .list_events(
                    &calendar,
                    &ListParams {
                        max_results: Some(2500),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .filter(|e| !e.is_cancelled())
                .count()
        }
    };

    for id in &ids_[..25] {
        w.store.delete_appointment(id, ChangeSource::User).unwrap();
    }
    assert_eq!(w.pass().await.held_deletes, 25);
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Keep,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.created_in_crm, 25, "{r:?}");
    assert_eq!(w.crm_all().len(), 30);
    assert_eq!(live_in(first.clone()).await, 30);
    assert!(!w.pass().await.changed_anything());

    for id in &ids_[..25] {
        w.store.delete_appointment(id, ChangeSource::User).unwrap();
    }
    assert_eq!(w.pass().await.held_deletes, 25);
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Delete,
        &w.cancel,
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.deleted_in_google, 25, "{r:?}");
    assert_eq!(live_in(first).await, 5);
    assert_eq!(live_in(second).await, 0);
    assert_eq!(w.crm_all().len(), 5);
    assert!(!w.pass().await.changed_anything());
}

/// Bookline deletions held while the pull lists their events (a full listing after the
/// sync token was lost): the deletion waits in the held set only, so Keep them is not
/// undone by the queued delete on the next pass.
#[tokio::test]
async fn bookline_deletions_held_during_a_full_listing_stay_kept() {
    let w = World::new(Direction::Both).await;
    let mut ids_ = Vec::new();
    for i in 0..30 {
        ids_.push(
            w.crm_create(timed(
                &format!("Listed {i}"),
                at(17, 0) + ChronoDuration::minutes(i * 30),
            ))
            .id,
        );
    }
    w.pass().await;
    for id in &ids_[..25] {
        w.store.delete_appointment(id, ChangeSource::User).unwrap();
    }
    w.store
        .write("forget the token", |tx| {
            links::clear_sync_token(&w.store, tx, &w.ctx.calendar_id)
        })
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.held_deletes, 25, "{r:?}");
    assert_eq!(r.deleted_in_google, 0, "{r:?}");
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Keep,
        &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!(r.created_in_crm, 25, "{r:?}");
    let r = w.pass().await;
    assert_eq!(r.deleted_in_google, 0, "{r:?}");
    assert_eq!(r.held_deletes, 0, "{r:?}");
    assert_eq!(w.google_events().await.len(), 30);
    assert_eq!(w.crm_all().len(), 30);
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
}

/// The guard weighs the whole pass: 25 deletions from Google arriving over three pages
/// of 10 (each page alone under the limit of 20) are all held, none applied.
#[tokio::test]
async fn a_mass_delete_spread_over_pages_is_held_before_any_page_applies() {
    let options = EngineOptions {
        page_size: 10,
        delete_policy: bookline_core::sync::DeletePolicy {
            max_items: 20,
            max_fraction: 1.0,
            min_items_for_fraction: 5,
        },
        ..fast_options()
    };
    let w = World::with_options(Direction::Both, options).await;
    let mut events = Vec::new();
    for i in 0..30 {
        events.push(
            w.google_insert(
                &format!("Imported {i}"),
                at(18, 0) + ChronoDuration::minutes(i * 30),
            )
            .await,
        );
    }
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 30);
    for e in &events[..25] {
        w.google_delete(e.id.as_deref().unwrap()).await;
    }
    let r = w.pass().await;
    assert_eq!(r.deleted_in_crm, 0, "{r:?}");
    assert_eq!(r.held_deletes, 25, "{r:?}");
    assert_eq!(w.crm_all().len(), 30, "no page applied before the decision");
    // Asking again holds again.
    assert_eq!(w.pass().await.held_deletes, 25);
    let r = held::resolve(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        HeldChoice::Delete,
        &w.cancel,
    )
    .await
    .unwrap();
    assert_eq!(r.deleted_in_crm, 25, "{r:?}");
    assert_eq!(w.crm_all().len(), 5);
    // Small deletions stay ordinary edits.
    w.google_delete(events[25].id.as_deref().unwrap()).await;
    let r = w.pass().await;
    assert_eq!(r.deleted_in_crm, 1);
    assert_eq!(r.held_deletes, 0);
}

/// `run_pass_confirmed` (`bookline sync --yes` before the decision existed) still lets a
/// mass delete through at once.
#[tokio::test]
async fn a_confirmed_pass_deletes_without_holding() {
    let w = World::new(Direction::Both).await;
    let mut ids_ = Vec::new();
    for i in 0..30 {
        ids_.push(
            w.crm_create(timed(
                &format!("Bulk {i}"),
                at(17, 0) + ChronoDuration::minutes(i * 30),
            ))
            .id,
        );
    }
    w.pass().await;
    for id in &ids_[..25] {
        w.store.delete_appointment(id, ChangeSource::User).unwrap();
    }
    let r = w
        .engine
        .run_pass_confirmed(&w.store, &w.client, &w.ctx, &w.cancel)
        .await
        .unwrap();
    assert_eq!(r.deleted_in_google, 25);
    assert_eq!(r.held_deletes, 0);
    assert_eq!(w.google_events().await.len(), 5);
}

#[tokio::test]
async fn recurring_series_and_all_day_round_trip() {
    let w = World::new(Direction::Both).await;
    let mut series = timed("Weekly standup", at(1, 9));
    series.recurrence = Some(Recurrence {
        lines: vec![
            "RRULE:FREQ=WEEKLY;COUNT=6".into(),
            "EXDATE;TZID=Europe/Berlin:20270308T100000".into(),
        ],
    });
    let s = w.crm_create(series);
    w.pass().await;
    let e = w
        .client
        .get_event(&w.ctx.calendar_id, &ids::event_id_for(&s.id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        e.recurrence.as_deref().unwrap_or_default(),
        [
            "RRULE:FREQ=WEEKLY;COUNT=6",
            "EXDATE;TZID=Europe/Berlin:20270308T100000"
        ]
    );

    // A Google all-day multi-day event and a recurring one arrive intact.
    let all_day = Event {
        summary: Some("Trade fair".into()),
        start: Some(EventDateTime::all_day(
            NaiveDate::from_ymd_opt(2027, 3, 22).unwrap(),
        )),
        end: Some(EventDateTime::all_day(
            NaiveDate::from_ymd_opt(2027, 3, 25).unwrap(),
        )),
        ..Default::default()
    };
    w.client
        .insert_event(&w.ctx.calendar_id, &all_day)
        .await
        .unwrap();
    let mut weekly = Event {
        summary: Some("Gym".into()),
        start: Some(EventDateTime::timed(
            at(2, 18).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        end: Some(EventDateTime::timed(
            at(2, 19).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        ..Default::default()
    };
    weekly.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;BYDAY=TU".into()]);
    w.client
        .insert_event(&w.ctx.calendar_id, &weekly)
        .await
        .unwrap();
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 2);
    let crm = w.crm_all();
    let fair = crm.iter().find(|a| a.title == "Trade fair").unwrap();
    assert_eq!(
        fair.timing,
        Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2027, 3, 22).unwrap(),
            end: NaiveDate::from_ymd_opt(2027, 3, 25).unwrap()
        }
    );
    let gym = crm.iter().find(|a| a.title == "Gym").unwrap();
    assert_eq!(
        gym.recurrence.as_ref().unwrap().lines,
        ["RRULE:FREQ=WEEKLY;BYDAY=TU"]
    );
    assert!(!w.pass().await.changed_anything());
}

#[tokio::test]
async fn revoked_grant_stops_the_pass_and_keeps_the_work() {
    let w = World::new(Direction::Both).await;
    w.crm_create(timed("Pending", at(18, 9)));
    control(
        w.base(),
        "faults",
        json!({"revoke_grants_for": ["sync@example.com"]}),
    )
    .await;
    let err = w.try_pass().await.unwrap_err();
    assert!(err.needs_reconnect(), "{err:?}");
    assert_eq!(w.store.pending_outbox_count().unwrap(), 1);
}

#[tokio::test]
async fn moved_and_cancelled_instances_of_a_google_series_arrive() {
    let w = World::new(Direction::Both).await;
    let mut weekly = Event {
        summary: Some("Weekly 1:1".into()),
        start: Some(EventDateTime::timed(
            at(1, 9).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        end: Some(EventDateTime::timed(
            (at(1, 9) + ChronoDuration::minutes(30)).fixed_offset(),
            Some("Europe/Berlin".into()),
        )),
        ..Default::default()
    };
    weekly.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;COUNT=5".into()]);
    let master = w
        .client
        .insert_event(&w.ctx.calendar_id, &weekly)
        .await
        .unwrap();
    let master_id = master.id.clone().unwrap();
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1);
    let series = w.crm_all().into_iter().next().unwrap();

    // Move the second occurrence by two hours; delete the third.
    let second = format!("{master_id}_20270308T090000Z");
    w.google_patch(
        &second,
        json!({
            "start": {"dateTime": (at(8, 11)).to_rfc3339(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (at(8, 11) + ChronoDuration::minutes(30)).to_rfc3339(), "timeZone": "Europe/Berlin"}
        }),
    )
    .await;
    w.google_delete(&format!("{master_id}_20270315T090000Z"))
        .await;
    let r = w.pass().await;
    // Google's shape: the moved and the cancelled occurrence each become an occurrence
    // row of the series; the cancelled one with status cancelled.
    assert_eq!(r.created_in_crm, 2, "{r:?}");
    let crm = w.crm_all();
    let occurrences: Vec<_> = crm.iter().filter(|a| a.instance_of.is_some()).collect();
    assert_eq!(occurrences.len(), 2);
    assert!(occurrences
        .iter()
        .all(|o| o.instance_of.as_ref().unwrap().series_id == series.id));
    let moved = occurrences
        .iter()
        .find(|a| a.status != Status::Cancelled)
        .expect("the moved occurrence");
    assert_eq!(
        moved.timing,
        Timing::Timed {
            start: at(8, 11),
            end: at(8, 11) + ChronoDuration::minutes(30)
        }
    );
    assert!(occurrences.iter().any(|a| a.status == Status::Cancelled));
    assert!(!w.pass().await.changed_anything());
}

/// A weekly series of three in Google ("Weekly review", Mondays 09:00 UTC from March 1st,
/// in Berlin time), its second occurrence moved to 13:00 and its third deleted. With
/// `old`, the series looks as if it was made long before the account was connected (only a
/// transfer moves it). Returns the series' event id.
pub(crate) async fn google_series_with_exceptions(w: &World, old: bool) -> String {
    let start = at(1, 9);
    let body = json!({
        "summary": "Weekly review",
        "start": {"dateTime": start.to_rfc3339(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (start + ChronoDuration::minutes(30)).to_rfc3339(), "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
    });
    let master_id = if old {
        let mut body = body;
        body["created"] = json!("2020-01-01T00:00:00.000Z");
        body["updated"] = json!("2020-01-01T00:00:00.000Z");
        control(w.base(), &format!("events/{}", w.ctx.calendar_id), body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        let event: Event = serde_json::from_value(body).unwrap();
        w.client
            .insert_event(&w.ctx.calendar_id, &event)
            .await
            .unwrap()
            .id
            .unwrap()
    };
    w.google_patch(
        &format!("{master_id}_20270308T090000Z"),
        json!({
            "start": {"dateTime": at(8, 13).to_rfc3339(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (at(8, 13) + ChronoDuration::minutes(30)).to_rfc3339(), "timeZone": "Europe/Berlin"}
        }),
    )
    .await;
    w.google_delete(&format!("{master_id}_20270315T090000Z"))
        .await;
    master_id
}

/// Bookline holds the series of `google_series_with_exceptions` whole: the series, the
/// moved occurrence at 13:00 and the cancelled one, both occurrence rows of the series;
/// the week's occurrences show the first at 09:00, the second at 13:00 and nothing booked
/// on the third.
pub(crate) fn assert_series_with_exceptions(w: &World) {
    let crm = w.crm_all();
    let series: Vec<_> = crm.iter().filter(|a| a.recurrence.is_some()).collect();
    assert_eq!(series.len(), 1, "{crm:#?}");
    let series = series[0];
    assert_eq!(series.title, "Weekly review");
    let occurrences: Vec<_> = crm.iter().filter(|a| a.instance_of.is_some()).collect();
    assert_eq!(
        occurrences.len(),
        2,
        "moved + cancelled occurrence rows: {crm:#?}"
    );
    assert!(occurrences
        .iter()
        .all(|o| o.instance_of.as_ref().unwrap().series_id == series.id));
    let moved = occurrences
        .iter()
        .find(|a| a.status != Status::Cancelled)
        .expect("the moved occurrence");
    assert_eq!(
        moved.timing,
        Timing::Timed {
            start: at(8, 13),
            end: at(8, 13) + ChronoDuration::minutes(30)
        }
    );
    assert!(
        occurrences.iter().any(|a| a.status == Status::Cancelled),
        "the cancelled occurrence: {crm:#?}"
    );
    assert_eq!(crm.len(), 3, "nothing else: {crm:#?}");

    let week: Vec<(DateTime<Utc>, Status)> = w
        .store
        .occurrences(at(1, 0), at(22, 0))
        .unwrap()
        .into_iter()
        .map(|o| match o.timing {
            Timing::Timed { start, .. } => (start, o.status),
            Timing::AllDay { .. } => panic!("unexpected all-day occurrence"),
        })
        .collect();
    let booked: Vec<DateTime<Utc>> = week
        .iter()
        .filter(|(_, status)| *status != Status::Cancelled)
        .map(|(start, _)| *start)
        .collect();
    // The moved occurrence at its new time; none left at 09:00 on the 8th or the 15th.
    assert_eq!(booked, vec![at(1, 9), at(8, 13)], "{week:?}");
}

/// The series, a moved and a cancelled occurrence all exist before Bookline's first pass
/// sees the series: one pass brings all three, and the next changes nothing.
#[tokio::test]
async fn a_google_series_with_exceptions_arrives_whole_in_one_pass() {
    let w = World::new(Direction::Both).await;
    google_series_with_exceptions(&w, false).await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 3, "{r:?}");
    assert_series_with_exceptions(&w);
    assert_eq!(w.link_count(), 3);
    assert!(!w.pass().await.changed_anything());
    assert_series_with_exceptions(&w);
}

/// The same on small pages: the series and its exceptions arrive on different pages of
/// one listing, and still land together in one pass.
#[tokio::test]
async fn a_google_series_with_exceptions_arrives_whole_across_pages() {
    for page_size in [1, 2] {
        let w = World::with_options(
            Direction::GoogleToCrm,
            EngineOptions {
                page_size,
                ..fast_options()
            },
        )
        .await;
        google_series_with_exceptions(&w, false).await;
        let r = w.pass().await;
        assert_eq!(r.created_in_crm, 3, "page size {page_size}: {r:?}");
        assert_series_with_exceptions(&w);
        assert!(!w.pass().await.changed_anything(), "page size {page_size}");
        assert_series_with_exceptions(&w);
    }
}

/// A weekly series of three in Bookline ("Weekly planning", Mondays 09:00 UTC from March
/// 1st, in Berlin time), its second occurrence moved to 13:00 and its third cancelled —
/// both occurrence rows of the series, as the window and the store make them. Returns the
/// series' appointment id.
pub(crate) fn crm_series_with_exceptions(w: &World) -> String {
    let mut series = timed("Weekly planning", at(1, 9));
    series.timing = Timing::Timed {
        start: at(1, 9),
        end: at(1, 9) + ChronoDuration::minutes(30),
    };
    series.recurrence = Some(Recurrence {
        lines: vec!["RRULE:FREQ=WEEKLY;COUNT=3".into()],
    });
    let series = w.crm_create(series);
    let occurrence = |original_start: &str, start: DateTime<Utc>, status: Status| {
        let mut input = timed("Weekly planning", start);
        input.timing = Timing::Timed {
            start,
            end: start + ChronoDuration::minutes(30),
        };
        input.status = status;
        w.store
            .create_instance_override(
                SeriesInstance {
                    series_id: series.id.clone(),
                    original_start: original_start.into(),
                },
                input,
                Origin::Crm,
                ChangeSource::User,
            )
            .unwrap();
    };
    occurrence("2027-03-08T09:00:00Z", at(8, 13), Status::Booked);
    occurrence("2027-03-15T09:00:00Z", at(15, 9), Status::Cancelled);
    series.id
}

/// Google holds the series of `crm_series_with_exceptions` whole, once: one series event
/// (Bookline's id), its second occurrence moved to 13:00 under its instance id, its third
/// cancelled; nothing else.
pub(crate) async fn assert_google_series_with_exceptions(w: &World, series_id: &str) {
    let series_event = ids::event_id_for(series_id).unwrap();
    let mut expanded = Vec::new();
    let mut page_token = None;
    loop {
        let page = w
            .client
            .list_events(
                &w.ctx.calendar_id,
                &ListParams {
                    page_token: page_token.clone(),
                    single_events: Some(true),
                    max_results: Some(2500),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        expanded.extend(page.items.into_iter().filter(|e| !e.is_cancelled()));
        match page.next_page_token {
            Some(t) => page_token = Some(t),
            None => break,
        }
    }
    let starts: Vec<(String, DateTime<Utc>)> = expanded
        .iter()
        .map(|e| {
            let start = e.start.as_ref().and_then(|s| s.date_time).unwrap();
            (e.id.clone().unwrap(), start.with_timezone(&Utc))
        })
        .collect();
    assert_eq!(
        starts,
        vec![
            (format!("{series_event}_20270301T090000Z"), at(1, 9)),
            (format!("{series_event}_20270308T090000Z"), at(8, 13)),
        ],
        "the first at 09:00, the second moved to 13:00, the third cancelled"
    );
    let third = w
        .client
        .get_event(
            &w.ctx.calendar_id,
            &format!("{series_event}_20270315T090000Z"),
        )
        .await
        .unwrap();
    assert!(third.is_cancelled(), "{third:?}");
    // One series and its moved occurrence; no duplicate, no stray single event.
    let live = w.google_events().await;
    let ids_live: Vec<String> = live.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(live.len(), 2, "{ids_live:?}");
    assert!(ids_live.contains(&series_event), "{ids_live:?}");
}

/// A Bookline series whose second occurrence is moved and third cancelled before any
/// pass sends it: the series and both exceptions reach Google in the same pass, nothing
/// waits in the outbox, and the next pass changes nothing.
#[tokio::test]
async fn a_bookline_series_with_exceptions_reaches_google_whole_in_one_pass() {
    let w = World::new(Direction::Both).await;
    let series_id = crm_series_with_exceptions(&w);
    let r = w.pass().await;
    // The series, and each occurrence written under its instance id.
    assert_eq!(r.created_in_google, 3, "{r:?}");
    assert_google_series_with_exceptions(&w, &series_id).await;
    assert_eq!(
        w.link_count(),
        3,
        "the series and both occurrences are linked"
    );
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
    assert!(!w.pass().await.changed_anything());
    assert_google_series_with_exceptions(&w, &series_id).await;
    assert_eq!(w.crm_all().len(), 3, "nothing came back as new");
}

/// The same in direction crm-to-google, and with the occurrences edited after the series
/// (their outbox entries behind the series') and before (the series' entry re-queued
/// last by an edit of the series).
#[tokio::test]
async fn a_bookline_series_with_exceptions_reaches_google_whole_in_each_writing_direction() {
    for (direction, edit_series_last) in [
        (Direction::CrmToGoogle, false),
        (Direction::CrmToGoogle, true),
        (Direction::Both, true),
    ] {
        let w = World::new(direction).await;
        let series_id = crm_series_with_exceptions(&w);
        if edit_series_last {
            let s = w.store.get_appointment(&series_id).unwrap().unwrap();
            let mut input = timed("Weekly planning (team)", at(1, 9));
            input.timing = s.timing.clone();
            input.recurrence = s.recurrence.clone();
            w.store
                .update_appointment(&series_id, input, ChangeSource::User)
                .unwrap();
        }
        w.pass().await;
        assert_google_series_with_exceptions(&w, &series_id).await;
        assert_eq!(w.store.pending_outbox_count().unwrap(), 0, "{direction:?}");
        assert!(!w.pass().await.changed_anything(), "{direction:?}");
        assert_google_series_with_exceptions(&w, &series_id).await;
    }
}

/// The series' insert fails in the first pass (refused before Google ran it, or run but
/// its answer lost): its occurrences fail with it, saying they wait for it, their outbox
/// entries stay, and the next pass brings the series and both exceptions, once.
#[tokio::test]
async fn a_bookline_series_whose_insert_fails_takes_its_exceptions_along_next_pass() {
    for (kind, fail_next) in [("backend_500", 20), ("malformed_json", 1)] {
        let w = World::new(Direction::Both).await;
        let series_id = crm_series_with_exceptions(&w);
        control(
            w.base(),
            "faults",
            json!({"fail_next": fail_next, "kinds": [kind], "routes": ["events.insert"]}),
        )
        .await;
        let r = w.try_pass().await.expect("pass");
        control(w.base(), "faults", json!({})).await;
        assert_eq!(
            r.errors.len(),
            3,
            "{kind}: the series and its two occurrences: {r:?}"
        );
        assert!(
            r.errors
                .iter()
                .filter(|e| e.contains("waits for its repeating series"))
                .count()
                == 2,
            "{kind}: {r:?}"
        );
        assert_eq!(w.link_count(), 0, "{kind}");
        assert_eq!(
            w.store.pending_outbox_count().unwrap(),
            3,
            "{kind}: nothing lost"
        );

        // Their retry time has come.
        w.store
            .write("test", |tx| {
                tx.execute("UPDATE outbox SET next_attempt_at = NULL", [])
                    .unwrap();
                Ok(())
            })
            .unwrap();
        w.pass().await;
        assert_google_series_with_exceptions(&w, &series_id).await;
        assert_eq!(w.link_count(), 3, "{kind}");
        assert_eq!(w.store.pending_outbox_count().unwrap(), 0, "{kind}");
        assert!(!w.pass().await.changed_anything(), "{kind}");
    }
}

/// An old Bookline series (only the transfer moves it) with exceptions: ongoing sync sends
/// neither the series nor its exceptions, but keeps the exceptions' outbox entries; once
/// the transfer has sent the series with them, the next pass settles the entries and
/// writes nothing.
#[tokio::test]
async fn the_exceptions_of_an_old_bookline_series_wait_in_the_outbox_for_the_transfer() {
    let mut w = World::new(Direction::Both).await;
    let series_id = crm_series_with_exceptions(&w);
    w.ctx.connected_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(!w.pass().await.changed_anything());
    assert!(!w.pass().await.changed_anything());
    assert!(w.google_events().await.is_empty());
    assert_eq!(
        w.store.pending_outbox_count().unwrap(),
        2,
        "the two exceptions wait for their series"
    );
    bookline_core::sync::backfill::start(
        &w.engine,
        &w.store,
        &w.client,
        &w.ctx,
        &bookline_core::sync::backfill::BackfillRequest {
            direction: Direction::CrmToGoogle,
            since: None,
            until: None,
        },
        |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_google_series_with_exceptions(&w, &series_id).await;
    w.reset_stats().await;
    assert!(!w.pass().await.changed_anything());
    assert_eq!(w.routes().await, json!({"events.list": 1}));
    assert_eq!(w.store.pending_outbox_count().unwrap(), 0);
    assert_google_series_with_exceptions(&w, &series_id).await;
}

/// A series that cannot be stored yet takes its moved and cancelled occurrences down
/// with it — the sync token stays before them all — and once the series is fixed in
/// Google, the next pass brings the series and its occurrences together.
#[tokio::test]
async fn occurrences_of_a_parked_series_land_with_it_once_it_is_fixed() {
    for page_size in [2500, 1] {
        let w = World::with_options(
            Direction::Both,
            EngineOptions {
                page_size,
                ..fast_options()
            },
        )
        .await;
        let master_id = google_series_with_exceptions(&w, false).await;
        // A repeat rule longer than Bookline stores (Google accepts it): the series is
        // parked, and its occurrences, which cannot land without it, are not passed by.
        w.google_patch(&master_id, json!({ "recurrence": oversized_weekly_rule() }))
            .await;
        let r = w.try_pass().await.expect("pass");
        assert_eq!(r.created_in_crm, 0, "page size {page_size}: {r:?}");
        assert!(
            r.errors.is_empty(),
            "a parked series is not an error of the pass: {r:?}"
        );
        assert!(w.crm_all().is_empty());
        let parked = parked::list(&w.store).unwrap();
        assert!(
            parked.iter().any(|p| p.event_id == master_id),
            "page size {page_size}: {parked:?}"
        );

        // Fixed in Google: the series lands, and its occurrences with it, although they
        // did not change themselves (the token moved past them while they waited).
        w.google_patch(
            &master_id,
            json!({"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}),
        )
        .await;
        let r = w.pass().await;
        assert_eq!(r.created_in_crm, 3, "page size {page_size}: {r:?}");
        assert_series_with_exceptions(&w);
        assert!(parked::list(&w.store).unwrap().is_empty());
        assert!(!w.pass().await.changed_anything());
    }
}

#[tokio::test]
async fn activity_pages_newest_first_and_prunes_oldest() {
    let w = World::new(Direction::Both).await;
    for i in 0..5 {
        w.crm_create(timed(
            &format!("Logged {i}"),
            at(19, 8) + ChronoDuration::hours(i),
        ));
    }
    w.pass().await;
    let first = activity::list(&w.store, 3, None).unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.windows(2).all(|p| p[0].id > p[1].id), "newest first");
    assert!(first.iter().all(|e| e.kind == ActivityKind::Created));
    let rest = activity::list(&w.store, 10, Some(first[2].id)).unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest[0].id < first[2].id);
    let v = serde_json::to_value(&first[0]).unwrap();
    for key in [
        "id",
        "at",
        "kind",
        "side",
        "appointment_id",
        "summary",
        "detail",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["side"], "google");
    assert_eq!(activity::prune(&w.store, 2).unwrap(), 3);
    let kept = activity::list(&w.store, 10, None).unwrap();
    assert_eq!(
        kept.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![first[0].id, first[1].id]
    );
}

/// Bookline's typing limits are for typing: a 350-character title that Google already
/// holds is imported in full, the pass reports no error, the sync token moves on, and
/// the title is never written back to Google (the user's event stays as it is).
#[tokio::test]
async fn a_long_google_title_imports_in_full_and_is_not_written_back() {
    let w = World::new(Direction::Both).await;
    let long = "x".repeat(350);
    let e = w.google_insert(&long, at(5, 9)).await;
    let id = e.id.clone().unwrap();
    w.google_insert("Call booked meanwhile", at(6, 10)).await;
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 2, "{r:?}");
    let mut titles: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    titles.sort();
    assert_eq!(titles, ["Call booked meanwhile".to_owned(), long.clone()]);

    // The token moved on: an idle pass is one request, and changes nothing.
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1, "{}", w.routes().await);
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());

    // Nothing was written back: the event in Google is as the user left it.
    let now = w.client.get_event(&w.ctx.calendar_id, &id).await.unwrap();
    assert_eq!(now.summary.as_deref(), Some(long.as_str()));
    assert_eq!(now.etag, e.etag, "the event was not touched");

    // The user moves it: the title they did not touch is not held to the typing limit,
    // and only the time goes to Google.
    let a = w.crm_all().into_iter().find(|a| a.title == long).unwrap();
    let mut input = timed(&long, at(5, 11));
    input.timezone = a.timezone.clone();
    w.store
        .update_appointment(&a.id, input, ChangeSource::User)
        .expect("editing the time keeps the long title");
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    let now = w.client.get_event(&w.ctx.calendar_id, &id).await.unwrap();
    assert_eq!(now.summary.as_deref(), Some(long.as_str()));
    assert_eq!(
        now.start.and_then(|s| s.date_time).map(|t| t.to_utc()),
        Some(at(5, 11))
    );
}

/// Activity rows about one Google event.
fn activity_about(w: &World, event_id: &str) -> i64 {
    w.store
        .read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM activity WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )
            .unwrap())
        })
        .unwrap()
}

/// A recurrence of 1,001 lines: Google holds it, Bookline's store refuses it (the bound
/// that keeps every list query fast).
fn oversized_recurrence() -> Vec<String> {
    let mut lines = vec!["RRULE:FREQ=DAILY".to_owned()];
    let day = NaiveDate::from_ymd_opt(2027, 4, 1).unwrap();
    for i in 0..1000u64 {
        let d = day + chrono::Days::new(i);
        lines.push(format!("EXDATE:{}T090000Z", d.format("%Y%m%d")));
    }
    lines
}

/// An event Bookline truly cannot store is parked: the pass succeeds and the token moves
/// on, other events still arrive, the item is listed with its reason and logged once (not
/// on every pass, nor when a full relist reads it again unchanged), and once it changes in
/// Google it is tried again, imported and unparked.
#[tokio::test]
async fn an_event_bookline_cannot_store_is_parked_once_and_retried_when_it_changes() {
    let w = World::new(Direction::Both).await;
    let series = w
        .google_patch(
            &w.google_insert("Daily stand-up", at(5, 9)).await.id.unwrap(),
            json!({
                "start": {"dateTime": at(5, 9).to_rfc3339(), "timeZone": "UTC"},
                "end": {"dateTime": (at(5, 9) + ChronoDuration::hours(1)).to_rfc3339(), "timeZone": "UTC"},
                "recurrence": oversized_recurrence(),
            }),
        )
        .await;
    let id = series.id.clone().unwrap();
    w.google_insert("Call booked meanwhile", at(6, 10)).await;

    let r = w.try_pass().await.expect("pass");
    assert!(
        r.errors.is_empty(),
        "a parked item is not an error of the pass: {r:?}"
    );
    assert_eq!(r.created_in_crm, 1, "the other event arrives: {r:?}");
    let parked = parked::list(&w.store).unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event_id, id);
    assert_eq!(parked[0].title, "Daily stand-up");
    assert!(parked[0].reason.contains("repeat rule"), "{parked:?}");
    let since = parked[0].since.clone();
    let v = serde_json::to_value(&parked[0]).unwrap();
    for key in ["event_id", "title", "reason", "since"] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(activity_about(&w, &id), 1);

    // The token moved on: an idle pass is one request; another event still arrives.
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());
    assert_eq!(stats(w.base()).await["total"], 1, "{}", w.routes().await);
    w.google_insert("Another call", at(7, 10)).await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(activity_about(&w, &id), 1, "logged once over three passes");

    // A full relist reads it again unchanged: still parked, still logged once.
    w.store
        .write("forget the token", |tx| {
            links::clear_sync_token(&w.store, tx, &w.ctx.calendar_id)
        })
        .unwrap();
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    let again = parked::list(&w.store).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].since, since, "parked since the first time");
    assert_eq!(activity_about(&w, &id), 1);

    // Fixed in Google: tried again, imported, unparked.
    w.google_patch(&id, json!({"recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]}))
        .await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert!(parked::list(&w.store).unwrap().is_empty());
    let mut titles: Vec<String> = w.crm_all().into_iter().map(|a| a.title).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Another call", "Call booked meanwhile", "Daily stand-up"]
    );
    assert!(!w.pass().await.changed_anything());
}

/// The weekly rule of `google_series_with_exceptions` with 1,000 EXDATE lines far from
/// the series' own dates: Google accepts it, Bookline's store refuses it (so the series is
/// parked) while its instances stay what they are.
pub(crate) fn oversized_weekly_rule() -> Vec<String> {
    let mut rule = vec!["RRULE:FREQ=WEEKLY;COUNT=3".to_owned()];
    rule.extend(
        oversized_recurrence()
            .into_iter()
            .skip(1)
            .map(|exdate| exdate.replacen("EXDATE:202", "EXDATE:203", 1)),
    );
    rule
}

/// The occurrences of a parked series are parked with it, with the reason they wait, and
/// logged once: a full relist reads them again without a word, an occurrence changed in
/// Google while its series stays parked is parked again (its new version logged once),
/// not passed by; once the series is fixed all of it lands, and nothing stays parked.
#[tokio::test]
async fn the_occurrences_of_a_parked_series_wait_with_it_logged_once() {
    let w = World::new(Direction::Both).await;
    let master_id = google_series_with_exceptions(&w, false).await;
    w.google_patch(&master_id, json!({ "recurrence": oversized_weekly_rule() }))
        .await;
    let moved = format!("{master_id}_20270308T090000Z");
    let cancelled = format!("{master_id}_20270315T090000Z");

    let r = w.try_pass().await.expect("pass");
    assert!(r.errors.is_empty(), "{r:?}");
    assert!(!r.changed_anything(), "{r:?}");
    let parked = parked::list(&w.store).unwrap();
    let mut ids: Vec<&str> = parked.iter().map(|p| p.event_id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![master_id.as_str(), moved.as_str(), cancelled.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "{parked:?}");
    for p in parked.iter().filter(|p| p.event_id != master_id) {
        assert!(
            p.reason.contains("waits for its repeating series"),
            "{parked:?}"
        );
    }
    for id in [&master_id, &moved, &cancelled] {
        assert_eq!(activity_about(&w, id), 1, "{id}");
    }

    // A full relist: the same versions again, nothing new parked or logged.
    w.store
        .write("forget the token", |tx| {
            links::clear_sync_token(&w.store, tx, &w.ctx.calendar_id)
        })
        .unwrap();
    let r = w.pass().await;
    assert!(!r.changed_anything() && r.errors.is_empty(), "{r:?}");
    assert_eq!(parked::list(&w.store).unwrap(), parked);
    for id in [&master_id, &moved, &cancelled] {
        assert_eq!(activity_about(&w, id), 1, "{id}");
    }

    // The moved occurrence changes while its series stays parked: parked again, as news.
    w.google_patch(&moved, json!({"description": "Bring the numbers"}))
        .await;
    let r = w.pass().await;
    assert!(!r.changed_anything() && r.errors.is_empty(), "{r:?}");
    assert_eq!(parked::list(&w.store).unwrap().len(), 3);
    assert_eq!(activity_about(&w, &moved), 2);
    assert_eq!(activity_about(&w, &master_id), 1);
    let r = w.pass().await;
    assert_eq!(r, SyncReport::default());
    assert_eq!(activity_about(&w, &moved), 2);

    // Fixed in Google: everything lands in one pass and nothing stays parked.
    w.google_patch(
        &master_id,
        json!({"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}),
    )
    .await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 3, "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_series_with_exceptions(&w);
    assert!(parked::list(&w.store).unwrap().is_empty());
    // Its two parked versions and its creation: no failure logged on the way.
    assert_eq!(activity_about(&w, &moved), 3);
    assert!(!w.pass().await.changed_anything());
}

/// A parked series deleted in Google takes its waiting occurrences off the parked list:
/// there is nothing left for them to wait for.
#[tokio::test]
async fn a_parked_series_deleted_in_google_leaves_nothing_parked() {
    let w = World::new(Direction::Both).await;
    let master_id = google_series_with_exceptions(&w, false).await;
    w.google_patch(&master_id, json!({ "recurrence": oversized_weekly_rule() }))
        .await;
    let r = w.try_pass().await.expect("pass");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(parked::list(&w.store).unwrap().len(), 3);

    w.google_delete(&master_id).await;
    let r = w.pass().await;
    assert!(r.errors.is_empty(), "{r:?}");
    assert!(
        parked::list(&w.store).unwrap().is_empty(),
        "{:?}",
        parked::list(&w.store).unwrap()
    );
    assert!(w.crm_all().is_empty());
    assert!(!w.pass().await.changed_anything());
}

/// The link's etag as stored.
fn link_etag(w: &World, appointment_id: &str) -> Option<String> {
    w.store
        .read(|c| links::by_appointment(&w.store, c, appointment_id))
        .unwrap()
        .and_then(|l| l.etag)
}

/// A pull that reads an event changed in Google keeps Google's new etag on the link, so
/// the next write from Bookline goes through with `If-Match` and no re-read.
#[tokio::test]
async fn a_pull_keeps_the_links_etag_current() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Demo", at(8, 9)));
    w.pass().await;
    let event_id = ids::event_id_for(&a.id).unwrap();
    let edited = w
        .google_patch(&event_id, json!({"location": "Room 4"}))
        .await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_crm, 1, "{r:?}");
    assert_eq!(link_etag(&w, &a.id), edited.etag);

    // A change in Google that touches no synced field (a colour): nothing to apply, and
    // the etag still follows Google.
    let coloured = w.google_patch(&event_id, json!({"colorId": "5"})).await;
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
    assert_eq!(link_etag(&w, &a.id), coloured.etag);

    let mut input = timed("Demo v2", at(8, 9));
    input.location = "Room 4".into();
    w.store
        .update_appointment(&a.id, input, ChangeSource::User)
        .unwrap();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.updated_in_google, 1, "{r:?}");
    assert_eq!(w.route("events.patch").await, 1, "{}", w.routes().await);
    assert_eq!(
        w.route("events.get").await,
        0,
        "no 412, no re-read: {}",
        w.routes().await
    );
    let now = w
        .client
        .get_event(&w.ctx.calendar_id, &event_id)
        .await
        .unwrap();
    assert_eq!(now.summary.as_deref(), Some("Demo v2"));
    assert_eq!(now.color_id.as_deref(), Some("5"));
    assert_eq!(link_etag(&w, &a.id), now.etag);
}

/// A CRM delete whose event was edited in Google after the last pull (the edit landed
/// between the pull's listing and the push): the delete carries `If-Match`, Google answers
/// 412, and Bookline reads the event again and decides with what Google holds now —
/// instead of deleting blindly. The decision table (decide.rs, "Deleted in the CRM")
/// still deletes a live event when the user deleted the appointment; what the re-read
/// guarantees is that the decision saw the edit.
#[tokio::test]
async fn a_crm_delete_after_an_unseen_google_edit_reads_the_event_again() {
    let w = World::new(Direction::Both).await;
    let a = w.crm_create(timed("Review", at(9, 9)));
    w.pass().await;
    let event_id = ids::event_id_for(&a.id).unwrap();
    w.google_patch(&event_id, json!({"location": "Moved to Room 9"}))
        .await;
    // The pull of the next pass does not see that edit: move the stored token past it,
    // as if the edit had come in after the pull's listing.
    let token = w
        .store
        .read(|c| links::sync_token(&w.store, c, &w.ctx.calendar_id))
        .unwrap();
    let page = w
        .client
        .list_events(
            &w.ctx.calendar_id,
            &ListParams {
                sync_token: token,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let next = page.next_sync_token.unwrap();
    w.store
        .write("move the token", |tx| {
            links::save_sync_token(&w.store, tx, &w.ctx.calendar_id, &next)
        })
        .unwrap();
    w.store
        .delete_appointment(&a.id, ChangeSource::User)
        .unwrap();

    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(
        w.route("events.delete").await,
        2,
        "the first delete is refused (412), the second goes with the current etag: {}",
        w.routes().await
    );
    assert_eq!(w.route("events.get").await, 1, "{}", w.routes().await);
    // What the decision table says for a CRM delete of a live event: delete it.
    assert_eq!(r.deleted_in_google, 1, "{r:?}");
    assert!(w.google_events().await.is_empty());
    assert_eq!(w.link_count(), 0);
    assert!(!w.pass().await.changed_anything());
}

/// Serves `pages` as the answers to `events.list`, one per request in order (the last
/// again once they run out): Google can hold events the emulator (rightly) refuses to
/// create, such as one whose end comes before its start.
async fn google_serving(pages: Vec<Value>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = pages[n.min(pages.len() - 1)].to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (base, served)
}

/// An event whose times cannot be read is parked when the listing is read: the pass
/// succeeds and the token moves on, the other event arrives, the same version read again
/// is not logged again, and a new version that reads is imported and unparked.
#[tokio::test]
async fn an_event_whose_times_cannot_be_read_is_parked_and_retried_when_it_changes() {
    let now = Utc::now();
    let stamp = (now + ChronoDuration::seconds(1)).to_rfc3339();
    let event = |id: &str, etag: &str, summary: &str, end: &str| {
        json!({
            "id": id, "etag": etag, "status": "confirmed", "summary": summary,
            "created": stamp, "updated": stamp,
            "start": {"dateTime": "2027-03-05T10:00:00Z"},
            "end": {"dateTime": end},
        })
    };
    let page = |items: Vec<Value>, token: &str| json!({"kind": "calendar#events", "timeZone": "UTC", "items": items, "nextSyncToken": token});
    let broken = event(
        "brokenevent1",
        "\"e1\"",
        "Backwards",
        "2027-03-05T09:00:00Z",
    );
    let (base, served) = google_serving(vec![
        page(
            vec![
                broken.clone(),
                event("goodevent1", "\"g1\"", "Fine", "2027-03-05T11:00:00Z"),
            ],
            "t1",
        ),
        // The same version again (as a full relist would bring it), then a new one.
        page(vec![broken], "t2"),
        page(
            vec![event(
                "brokenevent1",
                "\"e2\"",
                "Backwards",
                "2027-03-05T10:30:00Z",
            )],
            "t3",
        ),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bookline.sqlite3")).unwrap();
    let client = CalendarClient::new(
        Endpoints::from_base(&base).unwrap(),
        Arc::new(StaticTokenSource::new("token".to_owned())),
    )
    .unwrap();
    let ctx = AccountContext {
        calendar_id: "cal@example.com".into(),
        connected_at: now,
        direction: Direction::Both,
        privacy: PrivacySettings::default(),
        default_reminder_minutes: None,
    };
    let engine = SyncEngine::new(fast_options());
    let cancel = CancellationToken::new();
    let token = || {
        store
            .read(|c| links::sync_token(&store, c, &ctx.calendar_id))
            .unwrap()
    };
    let logged = || {
        store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM activity WHERE event_id = 'brokenevent1'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap())
            })
            .unwrap()
    };

    let r = engine
        .run_pass(&store, &client, &ctx, &cancel)
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(token().as_deref(), Some("t1"));
    let parked = parked::list(&store).unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event_id, "brokenevent1");
    assert_eq!(parked[0].title, "Backwards");
    assert!(
        parked[0].reason.contains("ends before it starts"),
        "{parked:?}"
    );
    assert_eq!(logged(), 1);

    let r = engine
        .run_pass(&store, &client, &ctx, &cancel)
        .await
        .unwrap();
    assert!(r.errors.is_empty() && !r.changed_anything(), "{r:?}");
    assert_eq!(token().as_deref(), Some("t2"));
    assert_eq!(parked::list(&store).unwrap().len(), 1);
    assert_eq!(logged(), 1, "the same version is not logged again");

    let r = engine
        .run_pass(&store, &client, &ctx, &cancel)
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.created_in_crm, 1, "{r:?}");
    assert_eq!(token().as_deref(), Some("t3"));
    assert!(parked::list(&store).unwrap().is_empty());
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
}

impl World {
    /// The sync token the store holds for the account's calendar.
    pub(crate) fn stored_sync_token(&self) -> Option<String> {
        self.store
            .read(|c| links::sync_token(&self.store, c, &self.ctx.calendar_id))
            .unwrap()
    }

    /// Titles of the CRM's appointments, sorted (duplicates stay visible).
    pub(crate) fn crm_titles(&self) -> Vec<String> {
        let mut titles: Vec<String> = self.crm_all().into_iter().map(|a| a.title).collect();
        titles.sort();
        titles
    }
}

/// "A sync token is saved only after the last page": an ongoing listing of 10 changes in
/// pages of 3 fails after page 1 (every retry of page 2 fails too). The stored token is
/// the one from before, nothing of page 1 was applied, and the next pass lists from
/// page 1 again (4 pages under the old token) and ends with each event once.
#[tokio::test]
async fn a_fault_after_page_one_keeps_the_token_and_the_next_pass_reads_page_one_again() {
    let w = World::with_options(
        Direction::Both,
        EngineOptions {
            page_size: 3,
            ..fast_options()
        },
    )
    .await;
    w.pass().await;
    let token_before = w.stored_sync_token();
    assert!(token_before.is_some(), "the first pass saves a token");
    let mut expected = Vec::new();
    for i in 0..10 {
        let title = format!("Paged {i:02}");
        w.google_insert(&title, at(10, 8) + ChronoDuration::minutes(i * 90))
            .await;
        expected.push(title);
    }
    w.reset_stats().await;
    // Page 1 is served; page 2 and every retry of it fail (more than the writer's 8
    // retries).
    control(
        w.base(),
        "faults",
        json!({"routes": ["events.list"], "skip_first": 1, "fail_next": 50}),
    )
    .await;
    let failed = w.try_pass().await;
    assert!(
        failed.is_err(),
        "a listing that cannot finish fails the pass: {failed:?}"
    );
    let st = stats(w.base()).await;
    let listed_ok = st["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["route"] == "events.list" && r["status"] == 200)
        .map(|r| r["count"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(listed_ok, 1, "exactly page 1 was read: {st}");
    assert_eq!(
        w.stored_sync_token(),
        token_before,
        "the token did not move"
    );
    assert!(w.crm_all().is_empty(), "nothing of page 1 was applied");

    control(w.base(), "faults", json!({})).await;
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 10, "{r:?}");
    // All 10 changes again from page 1: ceil(10 / 3) pages under the old token.
    assert_eq!(w.route("events.list").await, 4);
    assert_eq!(w.crm_titles(), expected);
    assert_eq!(w.link_count(), 10);
    assert_ne!(w.stored_sync_token(), token_before);
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
}

/// Google drops the sync token in the middle of paging (410 fullSyncRequired on page 2):
/// the pass lists the calendar again in full and ends with every change once — the new
/// events, an edit and a deletion — with nothing lost and nothing duplicated.
#[tokio::test]
async fn a_410_in_the_middle_of_paging_resyncs_in_full_without_loss_or_duplicates() {
    let w = World::with_options(
        Direction::Both,
        EngineOptions {
            page_size: 3,
            ..fast_options()
        },
    )
    .await;
    let mut old = Vec::new();
    for i in 0..4 {
        old.push(
            w.google_insert(&format!("Old {i}"), at(9, 8) + ChronoDuration::hours(i))
                .await,
        );
        w.crm_create(timed(
            &format!("CRM {i}"),
            at(9, 14) + ChronoDuration::hours(i),
        ));
    }
    w.pass().await;
    assert_eq!(w.crm_all().len(), 8);
    let old_id = |i: usize| old[i].id.clone().unwrap();
    for i in 0..7 {
        w.google_insert(&format!("New {i}"), at(10, 8) + ChronoDuration::hours(i))
            .await;
    }
    w.google_patch(&old_id(0), json!({"summary": "Old 0 renamed"}))
        .await;
    w.google_delete(&old_id(1)).await;
    w.reset_stats().await;
    control(
        w.base(),
        "faults",
        json!({"routes": ["events.list"], "kinds": ["full_sync_required_410"],
               "skip_first": 1, "fail_next": 1}),
    )
    .await;
    w.pass().await;
    assert_eq!(
        stats(w.base()).await["faults_injected"]["full_sync_required_410"],
        1,
        "the 410 came on page 2"
    );
    let log = activity::list(&w.store, 100, None).unwrap();
    assert!(log.iter().any(|e| e.summary.contains("full resync")));
    let mut expected: Vec<String> = ["Old 0 renamed", "Old 2", "Old 3"]
        .into_iter()
        .map(String::from)
        .chain((0..4).map(|i| format!("CRM {i}")))
        .chain((0..7).map(|i| format!("New {i}")))
        .collect();
    expected.sort();
    assert_eq!(w.crm_titles(), expected);
    let mut google: Vec<String> = w
        .google_events()
        .await
        .iter()
        .map(|e| title_of(e).to_owned())
        .collect();
    google.sort();
    assert_eq!(google.len(), expected.len(), "{google:?}");
    assert_eq!(w.link_count(), expected.len());
    let r = w.pass().await;
    assert!(!r.changed_anything(), "{r:?}");
}

/// The same promise when the user cancels between pages: every listing call is held
/// 400 ms, the test cancels as soon as page 1 has come back (page 2 is then held). The
/// pass ends cancelled, the stored token and the CRM are as before, and the next pass
/// lists all 10 changes from page 1 under the old token.
#[tokio::test]
async fn a_cancel_after_page_one_keeps_the_token_and_the_next_pass_reads_page_one_again() {
    let mut w = World::with_options(
        Direction::Both,
        EngineOptions {
            page_size: 3,
            ..fast_options()
        },
    )
    .await;
    w.pass().await;
    let token_before = w.stored_sync_token();
    let mut expected = Vec::new();
    for i in 0..10 {
        let title = format!("Cancelled paging {i:02}");
        w.google_insert(&title, at(11, 8) + ChronoDuration::minutes(i * 90))
            .await;
        expected.push(title);
    }
    w.reset_stats().await;
    control(w.base(), "faults", json!({"latency_ms": 400})).await;
    let listed_ok = |st: &Value| -> u64 {
        st["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["route"] == "events.list" && r["status"] == 200)
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let base = w.base().to_owned();
    let cancel = w.cancel.clone();
    let watcher = tokio::spawn(async move {
        loop {
            if listed_ok(&stats(&base).await) >= 1 {
                cancel.cancel();
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let cancelled = w.try_pass().await;
    watcher.await.unwrap();
    assert!(
        matches!(cancelled, Err(SyncError::Cancelled)),
        "{cancelled:?}"
    );
    assert!(
        listed_ok(&stats(w.base()).await) < 4,
        "the listing was not finished when the pass was cancelled"
    );
    assert_eq!(
        w.stored_sync_token(),
        token_before,
        "the token did not move"
    );
    assert!(w.crm_all().is_empty(), "nothing of page 1 was applied");

    control(w.base(), "faults", json!({})).await;
    assert!(w.emu.wait_until_idle(Duration::from_secs(60)).await);
    w.cancel = CancellationToken::new();
    w.reset_stats().await;
    let r = w.pass().await;
    assert_eq!(r.created_in_crm, 10, "{r:?}");
    assert_eq!(w.route("events.list").await, 4, "from page 1 again");
    assert_eq!(w.crm_titles(), expected);
    assert_ne!(w.stored_sync_token(), token_before);
}
