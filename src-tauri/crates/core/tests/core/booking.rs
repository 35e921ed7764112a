//! Booking with the lead (#17) against the gcal-emulator: Meet links, the lead's
//! invitation (the only mail, and only with consent), their answer coming back, a
//! conference Google fails to create, reminders, busy times online and offline.
//!
//! The harness (`google::TestEmulator`) fails every test whose emulator "would have
//! emailed" anything but the mails the test declared with `expect_mail`.

use std::sync::Arc;
use std::time::Duration;

use bookline_core::app::{App, AppOptions};
use bookline_core::busy;
use bookline_core::error::ErrorCode;
use bookline_core::google::{CalendarClient, Endpoints, Event, StaticTokenSource, WriteOptions};
use bookline_core::model::Origin;
use bookline_core::model::{
    Appointment, BookingRequest, Lead, LeadResponse, ListQuery, MeetState, Period, Timing,
};
use bookline_core::oauth::{follow_consent, OAuthClientConfig};
use bookline_core::secrets::MemorySecretStore;
use bookline_core::store::{BookingRow, ChangeSource};
use bookline_core::sync::activity::{self, ActivityKind};
use bookline_core::sync::booking::{self, MEET_FAILED};
use bookline_core::sync::links;
use bookline_core::sync::Direction;
use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use gcal_emulator::MailKind;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::engine::{at, timed, World};
use crate::google::{account, control, start, TestEmulator};

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";

fn with_lead(title: &str, start: chrono::DateTime<Utc>) -> bookline_core::model::AppointmentInput {
    let mut input = timed(title, start);
    input.lead = Lead {
        name: "Ada".into(),
        email: ADA.into(),
        phone: String::new(),
    };
    input
}

/// What `App::create_appointment` stores, on the engine tests' store.
fn book(
    w: &World,
    input: bookline_core::model::AppointmentInput,
    req: BookingRequest,
) -> Appointment {
    let a = w
        .store
        .create_appointment(input, Origin::Crm, ChangeSource::User)
        .unwrap();
    let row = booking::apply_request(BookingRow::new(&a.id), &req, false, "waits");
    w.store.save_booking(&row).unwrap();
    a
}

/// What `App::update_appointment` stores.
fn edit(w: &World, a: &Appointment, title: &str, req: BookingRequest) {
    let mut input = with_lead(title, start_of(a));
    input.lead = a.lead.clone();
    w.store
        .update_appointment(&a.id, input, ChangeSource::User)
        .unwrap();
    let row = booking::apply_request(w.store.booking_row(&a.id).unwrap(), &req, true, "waits");
    w.store.save_booking(&row).unwrap();
}

fn start_of(a: &Appointment) -> chrono::DateTime<Utc> {
    match a.timing {
        Timing::Timed { start, .. } => start,
        Timing::AllDay { .. } => unreachable!("timed in these tests"),
    }
}

fn event_id(w: &World, id: &str) -> String {
    w.store
        .read(|c| links::by_appointment(&w.store, c, id))
        .unwrap()
        .expect("linked")
        .event_id
}

async fn google_event(w: &World, id: &str) -> Event {
    w.client
        .get_event(&w.ctx.calendar_id, &event_id(w, id))
        .await
        .unwrap()
}

fn meet() -> BookingRequest {
    BookingRequest {
        meet: true,
        ..BookingRequest::default()
    }
}

fn invite() -> BookingRequest {
    BookingRequest {
        invite_lead: true,
        ..BookingRequest::default()
    }
}

#[tokio::test]
async fn a_crm_appointment_with_meet_gets_its_link_after_a_pass_and_nobody_is_emailed() {
    let w = World::new(Direction::Both).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), meet());
    assert!(matches!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Waiting { .. }
    ));
    w.pass().await;
    let event = google_event(&w, &a.id).await;
    let link = event.hangout_link.clone().expect("Google made a Meet link");
    assert!(link.starts_with("https://meet.google.com/"), "{link}");
    let booking = w.store.booking_of(&a.id).unwrap();
    assert_eq!(booking.meet, MeetState::Ready { link: link.clone() });
    assert!(!booking.invitation_sent);
    assert_eq!(booking.lead_response, None);
    // The lead was not made a guest: no invitation without consent.
    assert_eq!(event.attendees, None);
    // The list and the week view show it.
    let page = w
        .store
        .list_appointments(
            &ListQuery {
                period: Period::All,
                limit: 10,
                ..ListQuery::default()
            },
            Utc::now(),
        )
        .unwrap();
    assert_eq!(page.rows[0].booking.meet.link(), Some(link.as_str()));
    let week = w.store.occurrences(at(1, 0), at(8, 0)).unwrap();
    assert_eq!(week[0].meet_link.as_deref(), Some(link.as_str()));
    // Another pass changes nothing.
    w.pass().await;
    assert_eq!(google_event(&w, &a.id).await.hangout_link, Some(link));
}

#[tokio::test]
async fn an_invitation_is_one_mail_edits_mail_only_when_the_user_says_so() {
    let w = World::new(Direction::Both).await;
    let a = book(
        &w,
        with_lead("Demo call", at(4, 9)),
        BookingRequest {
            meet: true,
            invite_lead: true,
            notify_lead: false,
        },
    );
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 1);
    let mail = &w.emu.mail_outbox()[0];
    assert_eq!(mail.event_id, event_id(&w, &a.id));
    let event = google_event(&w, &a.id).await;
    let guests: Vec<_> = event
        .attendees
        .iter()
        .flatten()
        .filter_map(|g| g.email.clone())
        .collect();
    assert_eq!(guests, vec![ADA.to_owned()]);
    assert!(event.hangout_link.is_some());
    let booking = w.store.booking_of(&a.id).unwrap();
    assert!(booking.invite_lead && booking.invitation_sent);
    assert_eq!(booking.lead_response, Some(LeadResponse::NeedsAction));

    // An edit without "notify the lead": Google's guests stay, nobody is emailed.
    edit(&w, &a, "Demo call (moved room)", BookingRequest::default());
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 1);
    let event = google_event(&w, &a.id).await;
    assert_eq!(event.summary.as_deref(), Some("Demo call (moved room)"));
    assert_eq!(event.attendees.as_ref().map(Vec::len), Some(1));
    // A pass with nothing to do writes nothing either.
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 1);

    // With "notify the lead": one update mail, to the lead.
    edit(
        &w,
        &a,
        "Demo call (new agenda)",
        BookingRequest {
            notify_lead: true,
            ..BookingRequest::default()
        },
    );
    w.emu.expect_mail(MailKind::Update, &[ADA]);
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 2);
    assert!(!w.store.booking_row(&a.id).unwrap().notify_pending);
    // The next edit without it is silent again.
    edit(&w, &a, "Demo call (final)", BookingRequest::default());
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 2);
}

#[tokio::test]
async fn meet_and_the_invitation_asked_for_on_an_edit_go_in_one_write_each_need() {
    let w = World::new(Direction::Both).await;
    let a = book(
        &w,
        with_lead("Demo call", at(4, 9)),
        BookingRequest::default(),
    );
    w.pass().await;
    assert_eq!(google_event(&w, &a.id).await.attendees, None);
    // A guest added in Google stays a guest.
    w.google_patch(
        &event_id(&w, &a.id),
        json!({"attendees": [{"email": "sync@example.com", "organizer": true, "self": true}]}),
    )
    .await;
    w.pass().await;
    edit(
        &w,
        &a,
        "Demo call",
        BookingRequest {
            meet: true,
            invite_lead: true,
            notify_lead: false,
        },
    );
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    let event = google_event(&w, &a.id).await;
    let guests: Vec<String> = event
        .attendees
        .iter()
        .flatten()
        .filter_map(|g| g.email.clone())
        .collect();
    assert_eq!(guests, vec!["sync@example.com".to_owned(), ADA.to_owned()]);
    let link = event.hangout_link.expect("a Meet link");
    let booking = w.store.booking_of(&a.id).unwrap();
    assert_eq!(booking.meet, MeetState::Ready { link });
    assert!(booking.invitation_sent);
    // Nothing left to do: the next passes write nothing more.
    w.reset_stats().await;
    w.pass().await;
    assert_eq!(w.route("events.patch").await, 0);
    assert_eq!(w.emu.mail_outbox().len(), 1);
}

#[tokio::test]
async fn guests_added_in_google_are_counted_for_the_notice_and_told_with_the_lead() {
    let w = World::new(Direction::Both).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), invite());
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    // The salesperson adds a colleague in Google (without emailing anyone).
    let mut guests = google_event(&w, &a.id).await.attendees.unwrap();
    guests.push(bookline_core::google::Attendee {
        email: Some("bob@example.com".into()),
        ..Default::default()
    });
    w.google_patch(&event_id(&w, &a.id), json!({ "attendees": guests }))
        .await;
    w.pass().await;
    let row = w.store.booking_row(&a.id).unwrap();
    assert_eq!(row.other_guests, 1);
    let notify = BookingRequest {
        notify_lead: true,
        ..BookingRequest::default()
    };
    let notice = booking::invitation_notice(
        ADA,
        &notify,
        &booking::NoticeContext {
            account_email: Some("sync@example.com"),
            direction: Direction::Both,
            online: true,
            already_invited: row.invitation_sent,
            other_guests: row.other_guests,
        },
    );
    assert_eq!(
        notice.as_deref(),
        Some("Google will email ada@example.com and 1 other guest the change.")
    );
    // Which is what Google does.
    edit(&w, &a, "Demo call (new time)", notify);
    w.emu
        .expect_mail(MailKind::Update, &[ADA, "bob@example.com"]);
    w.pass().await;
}

#[tokio::test]
async fn notify_is_consent_for_that_edit_only() {
    let w = World::new(Direction::Both).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), invite());
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    // "Notify the lead" on an edit that changes nothing Google holds: no write, no mail,
    // and nothing left over for a later change.
    edit(
        &w,
        &a,
        "Demo call",
        BookingRequest {
            notify_lead: true,
            ..BookingRequest::default()
        },
    );
    assert!(w.store.booking_row(&a.id).unwrap().notify_pending);
    w.pass().await;
    assert!(!w.store.booking_row(&a.id).unwrap().notify_pending);
    w.store
        .set_status(
            &a.id,
            bookline_core::model::Status::Cancelled,
            ChangeSource::User,
        )
        .unwrap();
    w.pass().await;
    assert_eq!(w.emu.mail_outbox().len(), 1);
    assert_eq!(
        google_event(&w, &a.id).await.status,
        Some(bookline_core::google::EventStatus::Cancelled)
    );
}

#[tokio::test]
async fn the_leads_decline_comes_back_as_state_activity_and_an_event() {
    let w = World::new(Direction::Both).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), invite());
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    w.emu
        .respond(&w.ctx.calendar_id, &event_id(&w, &a.id), ADA, "declined")
        .unwrap();
    let report = w.pass().await;
    assert_eq!(report.lead_answers.len(), 1, "{report:?}");
    let answer = &report.lead_answers[0];
    assert_eq!(answer.appointment_id, a.id);
    assert_eq!(answer.response, LeadResponse::Declined);
    assert_eq!(answer.lead_name, "Ada");
    assert_eq!(answer.title, "Demo call");
    // March 4, 2027 09:00 UTC is Thursday 10:00 in Berlin.
    assert_eq!(answer.start_text, "Thu 10:00");
    assert_eq!(answer.sentence, "Ada declined Demo call — Thu 10:00");
    let booking = w.store.booking_of(&a.id).unwrap();
    assert_eq!(booking.lead_response, Some(LeadResponse::Declined));
    let log = activity::list(&w.store, 50, None).unwrap();
    let entry = log
        .iter()
        .find(|e| e.kind == ActivityKind::LeadAnswer)
        .expect("an activity entry");
    assert_eq!(entry.summary, "Ada declined Demo call — Thu 10:00");
    assert_eq!(entry.appointment_id.as_deref(), Some(a.id.as_str()));
    // Told once: the next pass has no news.
    assert!(w.pass().await.lead_answers.is_empty());
    // Accepting later is news again (an activity entry; the shell notifies declines).
    w.emu
        .respond(&w.ctx.calendar_id, &event_id(&w, &a.id), ADA, "accepted")
        .unwrap();
    let report = w.pass().await;
    assert_eq!(report.lead_answers[0].response, LeadResponse::Accepted);
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().lead_response,
        Some(LeadResponse::Accepted)
    );
}

#[tokio::test]
async fn answers_are_announced_once_each_even_when_passes_run_between_two_takes() {
    let w = World::new(Direction::Both).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), invite());
    let b = book(&w, with_lead("Pricing review", at(5, 9)), invite());
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.emu.expect_mail(MailKind::Invitation, &[ADA]);
    w.pass().await;
    // Invitations sent, nobody answered yet: nothing to announce.
    assert_eq!(booking::take_unannounced(&w.store).unwrap(), vec![]);
    // Two passes, each bringing a decline, before the shell looks (the runtime's
    // `last_report` then holds only the second pass's).
    w.emu
        .respond(&w.ctx.calendar_id, &event_id(&w, &a.id), ADA, "declined")
        .unwrap();
    let first = w.pass().await;
    w.emu
        .respond(&w.ctx.calendar_id, &event_id(&w, &b.id), ADA, "declined")
        .unwrap();
    let second = w.pass().await;
    assert_eq!(first.lead_answers.len(), 1);
    assert_eq!(second.lead_answers.len(), 1);
    let taken = booking::take_unannounced(&w.store).unwrap();
    let sentences: Vec<&str> = taken.iter().map(|t| t.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        vec![
            "Ada declined Demo call — Thu 10:00",
            "Ada declined Pricing review — Fri 10:00"
        ]
    );
    assert!(taken.iter().all(|t| t.response == LeadResponse::Declined));
    assert_eq!(taken[0].appointment_id, a.id);
    // Taken once: the next take, and a pass with no news, have nothing.
    assert_eq!(booking::take_unannounced(&w.store).unwrap(), vec![]);
    w.pass().await;
    assert_eq!(booking::take_unannounced(&w.store).unwrap(), vec![]);
}

/// Ada (the account) invites Grace to "Demo call" (one invitation mail), a pass sends it
/// and announces nothing, Grace declines in Google, and a pass brings the answer in
/// (queued, not taken).
async fn grace_declines_demo_call(emu: &TestEmulator, app: &App) -> Appointment {
    let mut input = with_lead("Demo call", at(4, 9));
    input.lead = Lead {
        name: "Grace".into(),
        email: GRACE.into(),
        phone: String::new(),
    };
    let a = app.create_appointment(input, invite()).unwrap();
    emu.expect_mail(MailKind::Invitation, &[GRACE]);
    let cancel = CancellationToken::new();
    app.sync_once(false, &cancel, |_| {}).await.unwrap();
    assert_eq!(app.take_unannounced_lead_answers().unwrap(), vec![]);
    let calendar = app.status().unwrap().calendar_id.expect("a calendar");
    let event = app
        .store()
        .read(|c| links::by_appointment(app.store(), c, &a.id))
        .unwrap()
        .expect("linked")
        .event_id;
    emu.respond(&calendar, &event, GRACE, "declined").unwrap();
    app.sync_once(false, &cancel, |_| {}).await.unwrap();
    a
}

#[tokio::test]
async fn an_answer_that_came_while_the_app_was_closed_is_announced_once_at_the_next_start() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = connected_app(&emu, &dir, None).await;
    // A pass while the window's app is closed (`bookline sync`), then the app starts.
    grace_declines_demo_call(&emu, &app).await;
    app.close().await;
    let app = open_app(&emu, &dir).await;
    let taken = app.take_unannounced_lead_answers().unwrap();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].sentence, "Grace declined Demo call — Thu 10:00");
    assert_eq!(app.take_unannounced_lead_answers().unwrap(), vec![]);
    app.close().await;
    let app = open_app(&emu, &dir).await;
    assert_eq!(app.take_unannounced_lead_answers().unwrap(), vec![]);
    app.close().await;
}

/// Remove Google Account forgets what came from that account and is not an
/// appointment: a lead's answer not announced yet (announced after a reconnect, perhaps
/// as another account, it would be news from nowhere) and the cached busy times.
#[tokio::test]
async fn removing_the_account_forgets_unannounced_answers_and_busy_times() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = connected_app(&emu, &dir, None).await;
    let a = grace_declines_demo_call(&emu, &app).await;
    let day = NaiveDate::from_ymd_opt(2027, 3, 4).unwrap();
    let busy = app
        .busy_times(day, "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert_eq!(busy.blocks.len(), 1, "{busy:?}");
    let cached = || -> i64 {
        app.store()
            .read(|c| {
                Ok(
                    c.query_row("SELECT COUNT(*) FROM busy_cache", [], |r| r.get(0))
                        .unwrap(),
                )
            })
            .unwrap()
    };
    assert_eq!(cached(), 1);

    app.disconnect(true).await.unwrap();
    assert_eq!(app.take_unannounced_lead_answers().unwrap(), vec![]);
    assert_eq!(cached(), 0, "busy times of the removed account");
    // The appointment stays, with what is known of it (kept imported and CRM items).
    assert!(app.store().get_appointment(&a.id).unwrap().is_some());
    app.close().await;
}

#[tokio::test]
async fn a_failed_conference_is_saved_shown_and_retried_until_google_makes_it() {
    let w = World::new(Direction::Both).await;
    control(w.base(), "faults", json!({"conference": "failure"})).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), meet());
    w.pass().await;
    // The appointment is in Google; its link is not, and the user sees why.
    let first = google_event(&w, &a.id).await;
    assert!(first.hangout_link.is_none());
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Failed {
            message: MEET_FAILED.into()
        }
    );
    let first_request = w.store.booking_row(&a.id).unwrap().meet_request_id;
    assert!(first_request.is_some());

    // The next pass asks again, with a new requestId (a repeated one names the failed
    // request); still failing.
    w.pass().await;
    let second_request = w.store.booking_row(&a.id).unwrap().meet_request_id;
    assert_ne!(first_request, second_request);
    assert!(matches!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Failed { .. }
    ));
    let event = google_event(&w, &a.id).await;
    assert_eq!(
        event.conference_data.as_ref().unwrap()["createRequest"]["requestId"],
        json!(second_request.unwrap())
    );

    // Google works again: the next pass gets the link.
    control(w.base(), "faults", json!({})).await;
    w.pass().await;
    let event = google_event(&w, &a.id).await;
    let link = event.hangout_link.expect("the link after the retry");
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Ready { link }
    );
}

#[tokio::test]
async fn a_pending_conference_waits_for_google_without_asking_again() {
    let w = World::new(Direction::Both).await;
    control(w.base(), "faults", json!({"conference": "pending"})).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), meet());
    w.pass().await;
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Waiting {
            reason: booking::MEET_PENDING.into()
        }
    );
    let asked = w.store.booking_row(&a.id).unwrap().meet_request_id;
    w.pass().await;
    assert_eq!(w.store.booking_row(&a.id).unwrap().meet_request_id, asked);
    // Google completes it; the listing brings the link: a pass that changed only what
    // the appointment shows, counted as a change (the window reloads on it).
    control(w.base(), "faults", json!({"conference": "success"})).await;
    let completed = w.pass().await;
    assert_eq!(completed.booking_changes, 1, "{completed:?}");
    assert!(completed.changed_anything(), "{completed:?}");
    // A pass with nothing new changes nothing.
    let idle = w.pass().await;
    assert_eq!(idle.booking_changes, 0, "{idle:?}");
    assert!(!idle.changed_anything(), "{idle:?}");
    let link = google_event(&w, &a.id)
        .await
        .hangout_link
        .expect("completed");
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Ready { link }
    );
}

#[tokio::test]
async fn the_default_reminder_is_written_on_insert_and_googles_reminders_are_kept() {
    let mut w = World::new(Direction::Both).await;
    w.ctx.default_reminder_minutes = Some(15);
    let a = book(
        &w,
        with_lead("Demo call", at(4, 9)),
        BookingRequest::default(),
    );
    w.pass().await;
    let event = google_event(&w, &a.id).await;
    assert_eq!(
        event.reminders,
        Some(json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 15}]}))
    );
    // The user sets their own reminder in Google; an edit in Bookline keeps it.
    let theirs = json!({"useDefault": false, "overrides": [{"method": "email", "minutes": 60}]});
    w.google_patch(&event_id(&w, &a.id), json!({ "reminders": theirs }))
        .await;
    w.pass().await;
    edit(&w, &a, "Demo call (edited)", BookingRequest::default());
    w.pass().await;
    let event = google_event(&w, &a.id).await;
    assert_eq!(event.summary.as_deref(), Some("Demo call (edited)"));
    assert_eq!(event.reminders, Some(theirs));
    // Without the setting, Google's calendar default applies (nothing written).
    w.ctx.default_reminder_minutes = None;
    let b = book(&w, timed("Other call", at(5, 9)), BookingRequest::default());
    w.pass().await;
    let event = google_event(&w, &b.id).await;
    assert_ne!(
        event.reminders,
        Some(json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 15}]}))
    );
}

#[tokio::test]
async fn a_meet_link_made_in_google_is_shown_and_kept() {
    let w = World::new(Direction::Both).await;
    let event = Event {
        summary: Some("Call from Google".into()),
        start: Some(bookline_core::google::EventDateTime::timed(
            at(4, 9).fixed_offset(),
            Some("UTC".into()),
        )),
        end: Some(bookline_core::google::EventDateTime::timed(
            (at(4, 9) + ChronoDuration::hours(1)).fixed_offset(),
            Some("UTC".into()),
        )),
        conference_data: Some(json!({"createRequest": {"requestId": "made-in-google",
            "conferenceSolutionKey": {"type": "hangoutsMeet"}}})),
        ..Event::default()
    };
    let made = w
        .client
        .insert_event_with(
            &w.ctx.calendar_id,
            &event,
            WriteOptions {
                conference_data: true,
                ..WriteOptions::default()
            },
        )
        .await
        .unwrap();
    let link = made.hangout_link.clone().expect("Google made a link");
    w.pass().await;
    let imported = w
        .crm_all()
        .into_iter()
        .find(|a| a.title == "Call from Google")
        .expect("imported");
    assert_eq!(
        w.store.booking_of(&imported.id).unwrap().meet,
        MeetState::Ready { link: link.clone() }
    );
    // An edit in Bookline keeps Google's conference.
    edit(
        &w,
        &imported,
        "Call from Google (edited)",
        BookingRequest::default(),
    );
    w.pass().await;
    let after = google_event(&w, &imported.id).await;
    assert_eq!(after.summary.as_deref(), Some("Call from Google (edited)"));
    assert_eq!(after.hangout_link, Some(link));
    assert_eq!(after.conference_data, made.conference_data);
}

#[tokio::test]
async fn meet_waits_and_says_why_in_the_one_way_mode_that_does_not_write_google() {
    let w = World::new(Direction::GoogleToCrm).await;
    let a = book(&w, with_lead("Demo call", at(4, 9)), meet());
    w.pass().await;
    assert_eq!(
        w.store.booking_of(&a.id).unwrap().meet,
        MeetState::Waiting {
            reason: booking::MEET_WAITS_ONE_WAY.into()
        }
    );
}

// ---- App: validation, the notice, busy times ----

fn config() -> OAuthClientConfig {
    OAuthClientConfig::new("bookline-test.apps.googleusercontent.com", "test-secret")
}

fn auto_browser(url: &Url) -> Result<(), String> {
    let url = url.clone();
    tokio::spawn(async move { follow_consent(&url).await.expect("browser step") });
    Ok(())
}

async fn open_app(emu: &TestEmulator, dir: &tempfile::TempDir) -> App {
    let mut options = AppOptions::new(dir.path().to_owned());
    options.endpoints = Some(Endpoints::from_base(emu.base_url()).unwrap());
    options.oauth_client = Some(config());
    options.secrets = Some(Arc::new(MemorySecretStore::new()));
    App::open(options).await.unwrap()
}

/// An app connected as Ada; `scopes`: what she leaves ticked on the consent screen.
async fn connected_app(emu: &TestEmulator, dir: &tempfile::TempDir, scopes: Option<&str>) -> App {
    account(emu.base_url(), ADA).await;
    control(
        emu.base_url(),
        "consent",
        json!({"auto": "allow", "scopes": scopes}),
    )
    .await;
    let app = open_app(emu, dir).await;
    app.connect(
        auto_browser,
        |_| {},
        Duration::from_secs(30),
        CancellationToken::new(),
    )
    .await
    .expect("connect");
    app
}

#[tokio::test]
async fn an_invalid_lead_email_is_refused_before_anything_is_saved_or_sent() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = connected_app(&emu, &dir, None).await;
    for bad in ["", "ada", "ada@", "ada @example.com"] {
        let mut input = with_lead("Demo call", at(4, 9));
        input.lead.email = bad.into();
        let e = app.create_appointment(input.clone(), invite()).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(
            e.message,
            format!(
                "Bookline can't invite the lead: \"{}\" is not an email address.",
                bad.trim()
            )
        );
        assert!(app.invitation_notice(&input, &invite()).is_err());
    }
    assert_eq!(app.store().appointment_count().unwrap(), 0);
    assert_eq!(app.store().pending_outbox_count().unwrap(), 0);
    // An edit is refused the same way and leaves the appointment as it was.
    let a = app
        .create_appointment(with_lead("Demo call", at(4, 9)), BookingRequest::default())
        .unwrap();
    let mut bad = with_lead("Renamed", at(4, 9));
    bad.lead.email = "nope".into();
    assert!(app.update_appointment(&a.id, bad, invite()).is_err());
    assert_eq!(
        app.store().get_appointment(&a.id).unwrap().unwrap().title,
        "Demo call"
    );
    assert!(!app.store().booking_of(&a.id).unwrap().invite_lead);
    app.sync_once(false, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    // The notice says exactly what Google will do.
    assert_eq!(
        app.invitation_notice(&with_lead("Demo call", at(4, 9)), &invite())
            .unwrap()
            .as_deref(),
        Some("Google will email ada@example.com an invitation from ada@example.com.")
    );
    assert_eq!(
        app.invitation_notice(&with_lead("Demo call", at(4, 9)), &meet())
            .unwrap(),
        None
    );
    app.close().await;
    emu.shutdown().await;
}

async fn ada_client(emu: &TestEmulator) -> CalendarClient {
    let acct = account(emu.base_url(), ADA).await;
    CalendarClient::new(
        Endpoints::from_base(emu.base_url()).unwrap(),
        Arc::new(StaticTokenSource::new(acct.access_token)),
    )
    .unwrap()
}

fn event_at(summary: &str, start: chrono::DateTime<Utc>, minutes: i64) -> Event {
    Event {
        summary: Some(summary.into()),
        start: Some(bookline_core::google::EventDateTime::timed(
            start.fixed_offset(),
            Some("UTC".into()),
        )),
        end: Some(bookline_core::google::EventDateTime::timed(
            (start + ChronoDuration::minutes(minutes)).fixed_offset(),
            Some("UTC".into()),
        )),
        ..Event::default()
    }
}

#[tokio::test]
async fn busy_times_online_then_offline_from_the_cache_with_their_age() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = connected_app(&emu, &dir, None).await;
    let google = ada_client(&emu).await;
    google
        .insert_event(ADA, &event_at("Standup", at(4, 9), 60))
        .await
        .unwrap();
    google
        .insert_event(
            ADA,
            &event_at("Review", at(4, 9) + ChronoDuration::minutes(30), 90),
        )
        .await
        .unwrap();
    google
        .insert_event(ADA, &event_at("Next day", at(5, 9), 60))
        .await
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2027, 3, 4).unwrap();
    let online = app
        .busy_times(day, "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert!(!online.stale);
    assert_eq!(online.message, None);
    assert!(online.fetched_at.is_some());
    assert_eq!(online.blocks.len(), 1, "{online:?}");
    let block = &online.blocks[0];
    assert_eq!(block.start, "2027-03-04T09:00:00Z");
    assert_eq!(block.end, "2027-03-04T11:00:00Z");
    assert_eq!(block.calendar_id, ADA);
    assert!(!block.calendar_name.is_empty());
    // The dialog's warning.
    let overlapping = Timing::Timed {
        start: at(4, 10),
        end: at(4, 12),
    };
    assert_eq!(
        App::busy_overlap(&online, &overlapping, "Europe/Berlin").len(),
        1
    );
    let free = Timing::Timed {
        start: at(4, 11),
        end: at(4, 12),
    };
    assert!(App::busy_overlap(&online, &free, "Europe/Berlin").is_empty());

    // Offline: the last answer, stale, with its age.
    control(
        emu.base_url(),
        "faults",
        json!({"rate": 1.0, "kinds": ["backend_503"], "routes": ["freebusy.query", "calendarList.list"]}),
    )
    .await;
    let twelve_minutes_ago = busy::rfc3339(Utc::now() - ChronoDuration::minutes(12));
    app.store()
        .write("test", |tx| {
            tx.execute(
                "UPDATE busy_cache SET fetched_at = ?1",
                [&twelve_minutes_ago],
            )
            .unwrap();
            Ok(())
        })
        .unwrap();
    let offline = app
        .busy_times(day, "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert!(offline.stale);
    assert_eq!(offline.blocks, online.blocks);
    assert_eq!(
        offline.fetched_at.as_deref(),
        Some(twelve_minutes_ago.as_str())
    );
    assert_eq!(
        offline.message.as_deref(),
        Some("Offline: busy times from 12 minutes ago.")
    );
    // A day never fetched: nothing known, and it says so.
    let other = app
        .busy_times(day.succ_opt().unwrap(), "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert!(other.stale && other.blocks.is_empty());
    assert!(other.message.unwrap().contains("no busy times"));
    control(emu.base_url(), "faults", json!({})).await;

    // Other calendars of the account, by choice, named.
    let work = google.insert_calendar("Work", Some("UTC")).await.unwrap();
    google
        .insert_event(&work.id, &event_at("Team lunch", at(4, 12), 60))
        .await
        .unwrap();
    let synced_only = app
        .busy_times(day, "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert_eq!(synced_only.blocks, online.blocks);
    let everything = app
        .busy_times(day, "Europe/Berlin".into(), true, None)
        .await
        .unwrap();
    let lunch = everything
        .blocks
        .iter()
        .find(|b| b.calendar_id == work.id)
        .expect("the other calendar's block");
    assert_eq!(lunch.calendar_name, "Work");
    assert_eq!(
        (lunch.start.as_str(), lunch.end.as_str()),
        ("2027-03-04T12:00:00Z", "2027-03-04T13:00:00Z")
    );
    assert_eq!(everything.blocks.len(), 2);

    // The appointment being edited is not busy against itself.
    let mine = app
        .create_appointment(with_lead("Mine", at(4, 14)), BookingRequest::default())
        .unwrap();
    app.sync_once(false, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    let with_mine = app
        .busy_times(day, "Europe/Berlin".into(), false, None)
        .await
        .unwrap();
    assert_eq!(with_mine.blocks.len(), 2);
    let without = app
        .busy_times(day, "Europe/Berlin".into(), false, Some(mine.id.clone()))
        .await
        .unwrap();
    assert_eq!(without.blocks, online.blocks, "{without:?} {with_mine:?}");
    app.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn busy_times_without_the_freebusy_scope_ask_to_reconnect() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    // Ada unticks the busy-times permission: connecting still works.
    let app = connected_app(
        &emu,
        &dir,
        Some(
            "https://www.googleapis.com/auth/calendar.events \
             https://www.googleapis.com/auth/calendar.calendarlist.readonly openid email",
        ),
    )
    .await;
    assert!(app.status().unwrap().connected);
    let busy = app
        .busy_times(
            NaiveDate::from_ymd_opt(2027, 3, 4).unwrap(),
            "Europe/Berlin".into(),
            false,
            None,
        )
        .await
        .unwrap();
    assert!(busy.blocks.is_empty());
    assert!(!busy.stale);
    assert_eq!(busy.message.as_deref(), Some(busy::RECONNECT_FOR_BUSY));
    app.close().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn busy_times_without_an_account_say_so() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = open_app(&emu, &dir).await;
    let busy = app
        .busy_times(
            NaiveDate::from_ymd_opt(2027, 3, 4).unwrap(),
            "Europe/Berlin".into(),
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(busy.message.as_deref(), Some(busy::NOT_CONNECTED));
    app.close().await;
    emu.shutdown().await;
}
