//! Booking an appointment with its lead (issue #17): a Meet link, the lead's invitation
//! and their answer, the default reminder.
//!
//! The rule this module keeps: nothing is emailed to a lead unless the user consented to
//! that very write (the invitation, or "notify the lead" on an edit of an invited
//! appointment). Only those writes carry `sendUpdates=all`, and they go as requests of
//! their own (never in a batch). Every other write leaves Google's guests, reminders and
//! conference as they are.
//!
//! The decisions are pure functions (`shape_insert`, `shape_patch`, `follow_up_body`,
//! `observe`, `invitation_notice`, `lead_response_of`, `meet_of`); the I/O around them
//! (`record_written`, `observe_listed`, `follow_up`) reads and writes the `bookings` table
//! (`store::bookings`) and talks to Google through the engine's writer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use crate::google::{Attendee, Event, SendUpdates, WriteOptions};
use crate::model::{
    Appointment, AppointmentInput, BookingRequest, Lead, LeadResponse, MeetState, Origin, Timing,
};
use crate::store::{BookingRow, Store, StoreError};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::decide::{Direction, Side};
use crate::sync::engine::{AccountContext, SyncReport};
use crate::sync::error::SyncError;
use crate::sync::links;
use crate::sync::writer::Writer;
use crate::validation::{validate_email, ChangeSource, ValidationError};

/// Google's conference type for Meet.
pub const MEET_SOLUTION: &str = "hangoutsMeet";

/// `MeetState::Failed`'s sentence.
pub const MEET_FAILED: &str =
    "Google couldn't create the Meet link; Bookline will ask again on the next sync.";
/// `MeetState::Waiting` while Google is still creating the conference.
pub const MEET_PENDING: &str = "Google is still creating the Meet link.";
/// `MeetState::Waiting` right after saving, online.
pub const MEET_ASKS_NEXT_SYNC: &str = "Bookline asks Google for the link on the next sync.";
/// `MeetState::Waiting` before Bookline could ask Google.
pub const MEET_WAITS_ONLINE: &str = "Waits until Bookline is online.";
/// `MeetState::Waiting` in the one-way mode that never writes Google.
pub const MEET_WAITS_ONE_WAY: &str =
    "Sync writes only into Bookline, so Google can't add a Meet link.";

/// A lead's answer the pass brought in: an activity entry, a `SyncReport::lead_answers`
/// item, and for the shell a desktop notification (a decline), which it takes from the
/// queue of answers not announced yet (`take_unannounced`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LeadAnswered {
    pub appointment_id: String,
    pub title: String,
    /// The lead's name, else their email.
    pub lead_name: String,
    pub response: LeadResponse,
    /// The appointment's start in its zone, e.g. "Thu 10:00" (all-day: "Thu").
    pub start_text: String,
    /// The notification's text: "Ada declined Demo call — Thu 10:00".
    pub sentence: String,
}

/// The settings key of the answers not announced yet (a JSON array of `LeadAnswered`,
/// oldest first).
const SETTING_UNANNOUNCED: &str = "lead_answers_unannounced";

/// The most answers kept for announcing: without a shell taking them (only `bookline
/// sync` for months), the oldest go (they stay in the activity log and the list); a
/// start after that says at most this much.
pub const MAX_UNANNOUNCED: usize = 50;

/// Takes the leads' answers not announced yet, oldest first, and forgets them: each
/// answer a pass brings in is returned by exactly one take, however many passes ran
/// between two takes, in whichever process (the app, `bookline sync`) the pass ran. The
/// queue is in the database, so the answers that came while the app was closed are
/// returned by the first take after it starts, once.
pub fn take_unannounced(store: &Store) -> Result<Vec<LeadAnswered>, StoreError> {
    // An idle poll finds nothing and writes nothing.
    let queued: Option<Vec<LeadAnswered>> = store.get_setting(SETTING_UNANNOUNCED)?;
    if queued.is_none_or(|q| q.is_empty()) {
        return Ok(Vec::new());
    }
    // Read and removed in one transaction: a concurrent take gets none of them.
    store.write("take the leads' answers", |tx| {
        let queued: Option<Vec<LeadAnswered>> = store.get_setting_in(tx, SETTING_UNANNOUNCED)?;
        store.remove_setting_in(tx, SETTING_UNANNOUNCED)?;
        Ok(queued.unwrap_or_default())
    })
}

/// Forgets the answers not announced yet (Remove Google Account), in the caller's
/// transaction: they are news of that account's events.
pub(crate) fn forget_unannounced(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
) -> Result<(), StoreError> {
    store.remove_setting_in(tx, SETTING_UNANNOUNCED)?;
    Ok(())
}

/// Queues `answer` for `take_unannounced`, in the transaction that logs it.
fn queue_unannounced(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
    answer: &LeadAnswered,
) -> Result<(), StoreError> {
    let mut queued: Vec<LeadAnswered> = store
        .get_setting_in(tx, SETTING_UNANNOUNCED)?
        .unwrap_or_default();
    queued.push(answer.clone());
    let over = queued.len().saturating_sub(MAX_UNANNOUNCED);
    queued.drain(..over);
    store.set_setting_in(tx, SETTING_UNANNOUNCED, &queued)
}

// ---- Pure decisions ----

/// Refuses an invitation without a usable lead email: before anything is saved or sent.
pub fn validate_invite(lead: &Lead, request: &BookingRequest) -> Result<(), ValidationError> {
    if !request.invite_lead {
        return Ok(());
    }
    let email = lead.email.trim();
    if email.is_empty() || validate_email(email).is_err() {
        return Err(ValidationError::new(
            "lead_email",
            format!("Bookline can't invite the lead: \"{email}\" is not an email address."),
        ));
    }
    Ok(())
}

/// What the booking dialog needs to word its notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeContext<'a> {
    /// The connected Google account (the organizer the invitation comes from).
    pub account_email: Option<&'a str>,
    pub direction: Direction,
    /// A pass could write now (connected, not offline).
    pub online: bool,
    /// The appointment is an edit whose lead Google already has as a guest.
    pub already_invited: bool,
    /// Guests Google has besides the lead and the organizer: Google emails them too.
    pub other_guests: u32,
}

/// The exact sentence shown before saving: whom Google will email, and what; `None`
/// when nothing will be emailed.
pub fn invitation_notice(
    lead_email: &str,
    request: &BookingRequest,
    ctx: &NoticeContext<'_>,
) -> Option<String> {
    let lead = lead_email.trim();
    let invites = request.invite_lead && !ctx.already_invited;
    let notifies = request.notify_lead && ctx.already_invited;
    if !invites && !notifies {
        return None;
    }
    if !ctx.direction.writes_google() {
        return Some(
            "Google won't email anyone: sync only brings Google's events into Bookline.".to_owned(),
        );
    }
    let when = if ctx.online {
        ""
    } else {
        " when Bookline is next online"
    };
    let others = match ctx.other_guests {
        0 => String::new(),
        1 => "1 other guest".to_owned(),
        n => format!("{n} other guests"),
    };
    Some(if invites {
        let from = ctx
            .account_email
            .map_or_else(|| "your Google account".to_owned(), str::to_owned);
        if others.is_empty() {
            format!("Google will email {lead} an invitation from {from}{when}.")
        } else {
            format!(
                "Google will email {lead} an invitation from {from}{when}, and tell {others} \
                 about the change."
            )
        }
    } else if others.is_empty() {
        format!("Google will email {lead} the change{when}.")
    } else {
        format!("Google will email {lead} and {others} the change{when}.")
    })
}

/// The booking row after the user saved `request`: a new wish for Meet or an invitation
/// is recorded (unticking never removes a link or a guest Google has); "notify the lead"
/// is remembered for the next write of an invited appointment. `waiting`: the sentence a
/// Meet link not asked of Google yet shows.
pub fn apply_request(
    mut row: BookingRow,
    request: &BookingRequest,
    editing: bool,
    waiting: &str,
) -> BookingRow {
    if request.meet && !row.meet_wanted && row.meet.link().is_none() {
        row.meet_wanted = true;
        row.meet = MeetState::Waiting {
            reason: waiting.to_owned(),
        };
    }
    if request.invite_lead && !row.invite_lead {
        row.invite_lead = true;
    }
    row.notify_pending = editing && request.notify_lead && row.invitation_sent;
    row
}

/// Whether a row holds nothing worth a table row.
pub fn is_empty(row: &BookingRow) -> bool {
    *row == BookingRow::new(row.appointment_id.clone())
}

/// The Meet link of an event as Google has it: the `hangoutLink` or the conference's
/// video entry point (`Ready`), a `createRequest` that failed (`Failed`) or is still
/// pending (`Waiting`); `None` without a conference.
pub fn meet_of(event: &Event) -> MeetState {
    if let Some(link) = event.hangout_link.as_ref().filter(|l| !l.is_empty()) {
        return MeetState::Ready { link: link.clone() };
    }
    let Some(conference) = &event.conference_data else {
        return MeetState::None;
    };
    let video = conference
        .get("entryPoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("entryPointType").and_then(Value::as_str) == Some("video"))
        .and_then(|p| p.get("uri").and_then(Value::as_str));
    if let Some(uri) = video {
        return MeetState::Ready {
            link: uri.to_owned(),
        };
    }
    match conference
        .pointer("/createRequest/status/statusCode")
        .and_then(Value::as_str)
    {
        Some("failure") => MeetState::Failed {
            message: MEET_FAILED.to_owned(),
        },
        Some("pending") => MeetState::Waiting {
            reason: MEET_PENDING.to_owned(),
        },
        _ => MeetState::None,
    }
}

/// The lead's attendee entry (email equal, ignoring case and spaces).
fn lead_attendee<'a>(event: &'a Event, lead_email: &str) -> Option<&'a Attendee> {
    let lead = lead_email.trim();
    if lead.is_empty() {
        return None;
    }
    event.attendees.as_ref()?.iter().find(|a| {
        a.email
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(lead))
    })
}

/// The lead's answer, when Google has them as a guest (an unknown word reads as "not
/// answered yet").
pub fn lead_response_of(event: &Event, lead_email: &str) -> Option<LeadResponse> {
    lead_attendee(event, lead_email).map(|a| {
        a.response_status
            .as_deref()
            .and_then(LeadResponse::from_google)
            .unwrap_or(LeadResponse::NeedsAction)
    })
}

/// Guests besides the lead and the organizer (Google emails them too when it emails
/// the lead).
pub fn other_guests(event: &Event, lead_email: &str) -> u32 {
    let lead = lead_email.trim();
    let count = event
        .attendees
        .iter()
        .flatten()
        .filter(|a| a.organizer != Some(true) && a.is_self != Some(true))
        .filter(|a| {
            a.email
                .as_deref()
                .is_none_or(|e| lead.is_empty() || !e.trim().eq_ignore_ascii_case(lead))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// What the last write for a row sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The `createRequest`'s id, when the write asked for a conference.
    pub request_id: Option<String>,
    /// The write went with `sendUpdates=all`.
    pub consented: bool,
}

/// The row after reading `event` (as a write answered it, or as listed). Returns the
/// lead's new answer when it changed to one worth telling (accepted, declined, tentative).
pub fn observe(
    row: &BookingRow,
    event: &Event,
    lead_email: &str,
    sent: Option<&Sent>,
    now_ms: i64,
) -> (BookingRow, Option<LeadResponse>) {
    let mut next = row.clone();
    if let Some(sent) = sent {
        if let Some(id) = &sent.request_id {
            next.meet_request_id = Some(id.clone());
            next.meet_asked_ms = Some(now_ms);
        }
        // The edit that was to notify the lead has been written (or needed no write).
        next.notify_pending = false;
    }
    let meet = meet_of(event);
    next.meet = match meet {
        MeetState::None => match &row.meet {
            // Removed in Google: the user's choice there is kept (not added back).
            MeetState::Ready { .. } => {
                next.meet_wanted = false;
                MeetState::None
            }
            other => other.clone(),
        },
        found => found,
    };
    next.other_guests = other_guests(event, lead_email);
    match lead_response_of(event, lead_email) {
        Some(response) => {
            next.invitation_sent = true;
            next.lead_response = Some(response);
        }
        None => {
            if row.invitation_sent {
                // The lead was removed from the guests in Google: not invited again.
                next.invite_lead = false;
            }
            next.invitation_sent = false;
            next.lead_response = None;
        }
    }
    let answered = match next.lead_response {
        Some(r) if r != LeadResponse::NeedsAction && row.lead_response != Some(r) => Some(r),
        _ => None,
    };
    (next, answered)
}

fn create_request(request_id: &str) -> Value {
    json!({
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": MEET_SOLUTION},
        }
    })
}

fn lead_as_attendee(lead: &Lead) -> Attendee {
    Attendee {
        email: Some(lead.email.trim().to_owned()),
        display_name: Some(lead.name.trim().to_owned()).filter(|n| !n.is_empty()),
        ..Attendee::default()
    }
}

/// Shapes the engine's insert of a new appointment's event: the default reminder, and
/// what the booking asks (a conference; the lead as a guest, the one write that emails
/// them). Returns the write's options and what was sent.
pub fn shape_insert(
    event: &mut Event,
    row: Option<&BookingRow>,
    lead: &Lead,
    default_reminder_minutes: Option<u32>,
    new_request_id: impl FnOnce() -> String,
) -> (WriteOptions, Option<Sent>) {
    if let Some(minutes) = default_reminder_minutes {
        event.reminders = Some(json!({
            "useDefault": false,
            "overrides": [{"method": "popup", "minutes": minutes}],
        }));
    }
    let mut options = WriteOptions::default();
    let Some(row) = row else {
        return (options, None);
    };
    let mut sent = Sent::default();
    if row.meet_wanted && row.meet.link().is_none() {
        let id = new_request_id();
        event.conference_data = Some(create_request(&id));
        options.conference_data = true;
        sent.request_id = Some(id);
    }
    if row.invite_lead && !row.invitation_sent && !lead.email.trim().is_empty() {
        event.attendees = Some(vec![lead_as_attendee(lead)]);
        options.send_updates = SendUpdates::All;
        sent.consented = true;
    }
    (options, Some(sent))
}

/// The options of the engine's patch of an edit: `sendUpdates=all` only when the user
/// asked to notify an invited lead of this edit. The body never carries guests.
pub fn shape_patch(row: Option<&BookingRow>) -> (WriteOptions, Option<Sent>) {
    match row {
        Some(row) if row.notify_pending && row.invitation_sent => (
            WriteOptions {
                send_updates: SendUpdates::All,
                conference_data: false,
            },
            Some(Sent {
                request_id: None,
                consented: true,
            }),
        ),
        Some(_) => (WriteOptions::default(), Some(Sent::default())),
        None => (WriteOptions::default(), None),
    }
}

/// The patch that does what a booking still waits for on an event Google already has:
/// ask for a conference (a fresh `requestId`: a repeated one names the failed request),
/// add the lead to the guests Google has (the invitation: `sendUpdates=all`). `None`
/// when nothing is left to write.
pub fn follow_up_body(
    event: &Event,
    row: &BookingRow,
    lead: &Lead,
    new_request_id: impl FnOnce() -> String,
) -> Option<(Value, WriteOptions, Sent)> {
    let mut body = serde_json::Map::new();
    let mut options = WriteOptions::default();
    let mut sent = Sent::default();
    let has_conference = !matches!(meet_of(event), MeetState::None | MeetState::Failed { .. });
    if row.meet_wanted && !has_conference {
        let id = new_request_id();
        body.insert("conferenceData".into(), create_request(&id));
        options.conference_data = true;
        sent.request_id = Some(id);
    }
    if row.invite_lead
        && !lead.email.trim().is_empty()
        && lead_attendee(event, &lead.email).is_none()
    {
        let mut guests = event.attendees.clone().unwrap_or_default();
        guests.push(lead_as_attendee(lead));
        body.insert(
            "attendees".into(),
            serde_json::to_value(guests).unwrap_or(Value::Array(Vec::new())),
        );
        options.send_updates = SendUpdates::All;
        sent.consented = true;
    }
    (!body.is_empty()).then_some((Value::Object(body), options, sent))
}

/// "Thu 10:00" in the appointment's zone; "Thu" for an all-day one.
pub fn start_text(timing: &Timing, timezone: &str) -> String {
    match timing {
        Timing::Timed { start, .. } => {
            let tz: Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
            start.with_timezone(&tz).format("%a %H:%M").to_string()
        }
        Timing::AllDay { start, .. } => start.format("%a").to_string(),
    }
}

/// The notification and activity sentence: "Ada declined Demo call — Thu 10:00".
pub fn answer_sentence(lead_name: &str, response: LeadResponse, title: &str, when: &str) -> String {
    let verb = match response {
        LeadResponse::Accepted => "accepted",
        LeadResponse::Declined => "declined",
        LeadResponse::Tentative => "tentatively accepted",
        LeadResponse::NeedsAction => "has not answered",
    };
    format!("{lead_name} {verb} {title} — {when}")
}

fn lead_answered(a: &Appointment, response: LeadResponse) -> LeadAnswered {
    let lead_name = if a.lead.name.trim().is_empty() {
        a.lead.email.trim().to_owned()
    } else {
        a.lead.name.trim().to_owned()
    };
    let when = start_text(&a.timing, &a.timezone);
    LeadAnswered {
        appointment_id: a.id.clone(),
        title: a.title.clone(),
        sentence: answer_sentence(&lead_name, response, &a.title, &when),
        lead_name,
        response,
        start_text: when,
    }
}

// ---- Saving an appointment with its booking (App, CLI) ----

/// What a Meet link not asked of Google yet says: `online` is whether a pass could
/// reach Google now (`None`: unknown, e.g. the command line).
pub fn meet_waiting_reason(direction: Direction, online: Option<bool>) -> &'static str {
    if !direction.writes_google() {
        MEET_WAITS_ONE_WAY
    } else if online == Some(false) {
        MEET_WAITS_ONLINE
    } else {
        MEET_ASKS_NEXT_SYNC
    }
}

/// Saves a new CRM appointment and what the user asked of its booking in one
/// transaction; an invitation without a usable lead email is refused first (nothing is
/// saved, nothing queued).
pub fn create_booked(
    store: &Store,
    input: AppointmentInput,
    request: &BookingRequest,
    waiting: &str,
) -> Result<Appointment, StoreError> {
    validate_invite(&input.lead, request)?;
    store.write("save the appointment", |tx| {
        let appointment =
            store.insert_in(tx, input, Origin::Crm, ChangeSource::User, None, None)?;
        let row = apply_request(BookingRow::new(&appointment.id), request, false, waiting);
        if !is_empty(&row) {
            store.save_booking_in(tx, &row)?;
        }
        Ok(appointment)
    })
}

/// Saves an edit and what the user asked of the booking (a Meet link or an invitation
/// asked for now; `notify_lead` for an invited lead) in one transaction, after the same
/// check as `create_booked`.
pub fn update_booked(
    store: &Store,
    id: &str,
    input: AppointmentInput,
    request: &BookingRequest,
    waiting: &str,
) -> Result<Appointment, StoreError> {
    validate_invite(&input.lead, request)?;
    store.write("save the appointment", |tx| {
        let appointment = store.update_in(tx, id, input, ChangeSource::User)?;
        let before = store.booking_row_in(tx, id)?;
        let row = apply_request(before.clone(), request, true, waiting);
        if row != before {
            store.save_booking_in(tx, &row)?;
        }
        Ok(appointment)
    })
}

// ---- I/O around the engine ----

/// Saves `next` over `row` when it differs, counting it in the report when what the
/// appointment shows changed (`SyncReport::booking_changes`).
fn save_changed(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
    row: &BookingRow,
    next: &BookingRow,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    if next != row {
        store.save_booking_in(tx, next)?;
        // Bookkeeping alone (a request id, when it was asked) changes no row on screen.
        if next.booking() != row.booking() {
            report.booking_changes += 1;
        }
    }
    Ok(())
}

/// Saves `next` when it differs from `row`, and logs a lead's answer and queues it for
/// the shell's notification, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn store_observed(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
    row: &BookingRow,
    next: &BookingRow,
    appointment: &Appointment,
    event_id: Option<&str>,
    answered: Option<LeadResponse>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    save_changed(store, tx, row, next, report)?;
    if let Some(response) = answered {
        let answer = lead_answered(appointment, response);
        let mut entry = NewActivity::new(
            ActivityKind::LeadAnswer,
            Some(Side::Google),
            &answer.sentence,
        );
        entry.appointment_id = Some(appointment.id.clone());
        entry.event_id = event_id.map(str::to_owned);
        activity::append(store, tx, &entry)?;
        queue_unannounced(store, tx, &answer)?;
        report.lead_answers.push(answer);
    }
    Ok(())
}

/// The bookings of `ids` that have a row.
pub(crate) fn rows_of<'a>(
    store: &Store,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, BookingRow>, StoreError> {
    store.read(|conn| {
        let mut out = HashMap::new();
        for id in ids {
            if let Some(row) = store.find_booking_in(conn, id)? {
                out.insert(id.to_owned(), row);
            }
        }
        Ok(out)
    })
}

/// What a write of the engine answered for an appointment with a booking (or one whose
/// event carries a conference or guests): recorded on its row.
pub(crate) struct Written {
    pub appointment_id: String,
    pub event: Event,
    pub sent: Option<Sent>,
}

/// Records the events the engine's writes answered with.
pub(crate) fn record_written(
    store: &Store,
    written: Vec<Written>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    if written.is_empty() {
        return Ok(());
    }
    let now = Utc::now().timestamp_millis();
    store.write("save the appointments' bookings", |tx| {
        for w in &written {
            let Some(appointment) = store.get_in(tx, &w.appointment_id)? else {
                continue;
            };
            let row = store.booking_row_in(tx, &w.appointment_id)?;
            let (next, answered) = observe(
                &row,
                &w.event,
                &appointment.lead.email,
                w.sent.as_ref(),
                now,
            );
            if is_empty(&next) && store.find_booking_in(tx, &w.appointment_id)?.is_none() {
                continue;
            }
            store_observed(
                store,
                tx,
                &row,
                &next,
                &appointment,
                w.event.id.as_deref(),
                answered,
                report,
            )?;
        }
        Ok(())
    })
}

/// Clears "notify the lead" of appointments whose edit needed no Google write.
pub(crate) fn forget_notify(store: &Store, ids: &[&str]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    store.write("save the appointments' bookings", |tx| {
        for id in ids {
            let row = store.booking_row_in(tx, id)?;
            if row.notify_pending {
                store.save_booking_in(
                    tx,
                    &BookingRow {
                        notify_pending: false,
                        ..row
                    },
                )?;
            }
        }
        Ok(())
    })
}

/// Whether a listed event may change a booking: it has a conference or guests. An event
/// without either matters only to an appointment that has a booking row.
fn carries_booking(event: &Event) -> bool {
    event.hangout_link.is_some() || event.conference_data.is_some() || event.attendees.is_some()
}

/// The part of a listed event a booking reads (the listing's events go to the engine).
pub(crate) fn listed_part(event: &Event) -> Option<Event> {
    if event.is_cancelled() {
        return None;
    }
    Some(Event {
        id: event.id.clone(),
        etag: event.etag.clone(),
        hangout_link: event.hangout_link.clone(),
        conference_data: event.conference_data.clone(),
        attendees: event.attendees.clone(),
        ..Event::default()
    })
}

/// Reads the bookings of the linked appointments out of a page of listed events (after
/// the engine applied it, so events made in Google have their appointments): Meet links
/// made in Google, the lead's answers.
pub(crate) fn observe_listed(
    store: &Store,
    calendar: &str,
    events: &[Event],
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let now = Utc::now().timestamp_millis();
    store.write("save the appointments' bookings", |tx| {
        for event in events {
            let Some(event_id) = event.id.as_deref() else {
                continue;
            };
            let Some(link) = links::by_event(store, tx, calendar, event_id)? else {
                continue;
            };
            let existing = store.find_booking_in(tx, &link.appointment_id)?;
            if existing.is_none() && !carries_booking(event) {
                continue;
            }
            let Some(appointment) = store.get_in(tx, &link.appointment_id)? else {
                continue;
            };
            let row = existing.unwrap_or_else(|| BookingRow::new(&link.appointment_id));
            let (next, answered) = observe(&row, event, &appointment.lead.email, None, now);
            if is_empty(&next) && is_empty(&row) {
                continue;
            }
            store_observed(
                store,
                tx,
                &row,
                &next,
                &appointment,
                Some(event_id),
                answered,
                report,
            )?;
        }
        Ok(())
    })
}

/// After a pass's pull and push: what bookings still wait for on events Google has — a
/// Meet link asked for on an edit or refused on an earlier pass (retried once per pass,
/// with a new `requestId`), an invitation asked for on an edit. One request each (the
/// invitation is the only one with `sendUpdates=all`). In a mode that doesn't write
/// Google, a wanted Meet link waits and says why.
pub(crate) async fn follow_up(
    store: &Store,
    w: &Writer<'_>,
    ctx: &AccountContext,
    pass_started: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let rows = store.read(|conn| store.bookings_with_work_in(conn))?;
    if rows.is_empty() {
        return Ok(());
    }
    if !ctx.direction.writes_google() {
        store.write("save the appointments' bookings", |tx| {
            for row in &rows {
                if row.meet_wanted && row.meet.link().is_none() {
                    let next = BookingRow {
                        meet: MeetState::Waiting {
                            reason: MEET_WAITS_ONE_WAY.to_owned(),
                        },
                        ..row.clone()
                    };
                    save_changed(store, tx, row, &next, report)?;
                }
            }
            Ok(())
        })?;
        return Ok(());
    }
    let started_ms = pass_started.timestamp_millis();
    for row in rows {
        let invite_left = row.invite_lead && !row.invitation_sent;
        // A failure of this pass is retried on the next one; a pending conference is
        // completed by Google itself (the listing brings it).
        let meet_left = row.meet_wanted
            && match &row.meet {
                MeetState::Ready { .. } => false,
                MeetState::Failed { .. } => row.meet_asked_ms.is_none_or(|t| t < started_ms),
                MeetState::Waiting { reason } => {
                    reason != MEET_PENDING || row.meet_request_id.is_none()
                }
                MeetState::None => true,
            };
        if !invite_left && !meet_left {
            continue;
        }
        let (link, appointment) = store.read(|conn| {
            Ok((
                links::by_appointment(store, conn, &row.appointment_id)?,
                store.get_in(conn, &row.appointment_id)?,
            ))
        })?;
        let (Some(link), Some(appointment)) = (link, appointment) else {
            // Not in Google yet: its insert carries what the booking asks.
            continue;
        };
        let calendar = link.calendar_id.as_str();
        let event = match w
            .retried(|| w.client.get_event(calendar, &link.event_id))
            .await?
        {
            Ok(event) => event,
            Err(e) => {
                report.errors.push(format!(
                    "Could not read \u{201c}{}\u{201d} to add its Meet link or invitation: {e}",
                    appointment.title
                ));
                continue;
            }
        };
        let row = if meet_left {
            row
        } else {
            BookingRow {
                meet_wanted: false,
                ..row
            }
        };
        let new_id = || uuid::Uuid::new_v4().to_string();
        let (answer, sent) = match follow_up_body(&event, &row, &appointment.lead, new_id) {
            None => (Ok(event), None),
            Some((body, options, sent)) => {
                let asked = sent.request_id.is_some();
                let result = w
                    .retried(|| {
                        w.client.patch_event_with(
                            calendar,
                            &link.event_id,
                            &body,
                            event.etag.as_deref(),
                            options,
                        )
                    })
                    .await?;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, asked, "a booking write failed");
                }
                (result, Some(sent))
            }
        };
        let stored = store.booking_row(&row.appointment_id)?;
        let now = Utc::now().timestamp_millis();
        match answer {
            Ok(event) => {
                store.write("save the appointment's booking", |tx| {
                    let (next, answered) =
                        observe(&stored, &event, &appointment.lead.email, sent.as_ref(), now);
                    store_observed(
                        store,
                        tx,
                        &stored,
                        &next,
                        &appointment,
                        event.id.as_deref(),
                        answered,
                        report,
                    )?;
                    links::set_etag(store, tx, &appointment.id, event.etag.as_deref())
                })?;
            }
            Err(e) => {
                let message = format!(
                    "Google refused the Meet link or invitation of \u{201c}{}\u{201d}: {e}. \
                     Bookline will try again on the next sync.",
                    appointment.title
                );
                store.write("save the appointment's booking", |tx| {
                    let mut next = stored.clone();
                    if sent.as_ref().is_some_and(|s| s.request_id.is_some()) {
                        next.meet = MeetState::Failed {
                            message: message.clone(),
                        };
                        next.meet_asked_ms = Some(now);
                    }
                    save_changed(store, tx, &stored, &next, report)?;
                    let mut entry =
                        NewActivity::new(ActivityKind::Error, Some(Side::Google), &message);
                    entry.appointment_id = Some(appointment.id.clone());
                    activity::append(store, tx, &entry)?;
                    Ok(())
                })?;
                report.errors.push(message);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lead() -> Lead {
        Lead {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            phone: String::new(),
        }
    }

    fn with_attendee(status: Option<&str>) -> Event {
        Event {
            attendees: Some(vec![Attendee {
                email: Some("ADA@example.com ".into()),
                response_status: status.map(str::to_owned),
                ..Attendee::default()
            }]),
            ..Event::default()
        }
    }

    fn notice_ctx(already_invited: bool) -> NoticeContext<'static> {
        NoticeContext {
            account_email: Some("you@example.com"),
            direction: Direction::Both,
            online: true,
            already_invited,
            other_guests: 0,
        }
    }

    #[test]
    fn the_notice_says_whom_google_emails_and_what() {
        let invite = BookingRequest {
            invite_lead: true,
            ..BookingRequest::default()
        };
        assert_eq!(
            invitation_notice("ada@example.com", &invite, &notice_ctx(false)).as_deref(),
            Some("Google will email ada@example.com an invitation from you@example.com.")
        );
        let notify = BookingRequest {
            notify_lead: true,
            ..BookingRequest::default()
        };
        assert_eq!(
            invitation_notice("ada@example.com", &notify, &notice_ctx(true)).as_deref(),
            Some("Google will email ada@example.com the change.")
        );
        // Already invited: ticking "invite" again emails nobody; notify without an
        // invitation neither.
        assert_eq!(
            invitation_notice("ada@example.com", &invite, &notice_ctx(true)),
            None
        );
        assert_eq!(
            invitation_notice("ada@example.com", &notify, &notice_ctx(false)),
            None
        );
        assert_eq!(
            invitation_notice(
                "ada@example.com",
                &BookingRequest::default(),
                &notice_ctx(false)
            ),
            None
        );
        let offline = NoticeContext {
            online: false,
            ..notice_ctx(false)
        };
        assert_eq!(
            invitation_notice("ada@example.com", &invite, &offline).as_deref(),
            Some(
                "Google will email ada@example.com an invitation from you@example.com when \
                 Bookline is next online."
            )
        );
        let with_guests = |n| NoticeContext {
            other_guests: n,
            ..notice_ctx(false)
        };
        assert_eq!(
            invitation_notice("ada@example.com", &invite, &with_guests(1)).as_deref(),
            Some(
                "Google will email ada@example.com an invitation from you@example.com, and \
                 tell 1 other guest about the change."
            )
        );
        let notify_guests = NoticeContext {
            other_guests: 2,
            ..notice_ctx(true)
        };
        assert_eq!(
            invitation_notice("ada@example.com", &notify, &notify_guests).as_deref(),
            Some("Google will email ada@example.com and 2 other guests the change.")
        );
        let one_way = NoticeContext {
            direction: Direction::GoogleToCrm,
            ..notice_ctx(false)
        };
        assert_eq!(
            invitation_notice("ada@example.com", &invite, &one_way).as_deref(),
            Some("Google won't email anyone: sync only brings Google's events into Bookline.")
        );
    }

    #[test]
    fn an_invitation_needs_a_lead_email() {
        let invite = BookingRequest {
            invite_lead: true,
            ..BookingRequest::default()
        };
        for bad in ["", "  ", "ada", "ada@", "a da@example.com"] {
            let lead = Lead {
                email: bad.into(),
                ..lead()
            };
            let e = validate_invite(&lead, &invite).unwrap_err();
            assert_eq!(e.field, "lead_email");
            assert_eq!(
                e.message,
                format!(
                    "Bookline can't invite the lead: \"{}\" is not an email address.",
                    bad.trim()
                )
            );
        }
        assert!(validate_invite(&lead(), &invite).is_ok());
        let no_invite = Lead {
            email: "nope".into(),
            ..lead()
        };
        assert!(validate_invite(&no_invite, &BookingRequest::default()).is_ok());
    }

    #[test]
    fn other_guests_are_everyone_but_the_lead_and_the_organizer() {
        let guest = |email: &str, organizer: bool| Attendee {
            email: Some(email.into()),
            organizer: organizer.then_some(true),
            ..Attendee::default()
        };
        let event = Event {
            attendees: Some(vec![
                guest("me@example.com", true),
                guest("Ada@Example.com", false),
                guest("bob@example.com", false),
            ]),
            ..Event::default()
        };
        assert_eq!(other_guests(&event, "ada@example.com"), 1);
        assert_eq!(other_guests(&event, ""), 2);
        assert_eq!(other_guests(&Event::default(), "ada@example.com"), 0);
    }

    #[test]
    fn responses_map_from_googles_words() {
        for (word, response) in [
            (Some("accepted"), LeadResponse::Accepted),
            (Some("declined"), LeadResponse::Declined),
            (Some("tentative"), LeadResponse::Tentative),
            (Some("needsAction"), LeadResponse::NeedsAction),
            (None, LeadResponse::NeedsAction),
            (Some("somethingNew"), LeadResponse::NeedsAction),
        ] {
            assert_eq!(
                lead_response_of(&with_attendee(word), "ada@example.com"),
                Some(response)
            );
        }
        assert_eq!(
            lead_response_of(&with_attendee(Some("accepted")), "bob@example.com"),
            None
        );
        assert_eq!(lead_response_of(&Event::default(), "ada@example.com"), None);
        assert_eq!(lead_response_of(&with_attendee(Some("accepted")), ""), None);
    }

    #[test]
    fn the_meet_link_comes_from_the_hangout_link_or_the_video_entry_point() {
        let linked = Event {
            hangout_link: Some("https://meet.google.com/abc-defg-hij".into()),
            ..Event::default()
        };
        assert_eq!(
            meet_of(&linked),
            MeetState::Ready {
                link: "https://meet.google.com/abc-defg-hij".into()
            }
        );
        let entry = Event {
            conference_data: Some(json!({"entryPoints": [
                {"entryPointType": "phone", "uri": "tel:+1"},
                {"entryPointType": "video", "uri": "https://meet.google.com/xyz-abcd-efg"}
            ]})),
            ..Event::default()
        };
        assert_eq!(
            meet_of(&entry).link(),
            Some("https://meet.google.com/xyz-abcd-efg")
        );
        let failed = Event {
            conference_data: Some(json!({"createRequest": {"requestId": "r",
                "status": {"statusCode": "failure"}}})),
            ..Event::default()
        };
        assert!(matches!(meet_of(&failed), MeetState::Failed { .. }));
        let pending = Event {
            conference_data: Some(json!({"createRequest": {"status": {"statusCode": "pending"}}})),
            ..Event::default()
        };
        assert_eq!(
            meet_of(&pending),
            MeetState::Waiting {
                reason: MEET_PENDING.into()
            }
        );
        assert_eq!(meet_of(&Event::default()), MeetState::None);
    }

    #[test]
    fn observing_records_answers_once_and_keeps_googles_removals() {
        let row = BookingRow {
            invite_lead: true,
            invitation_sent: true,
            lead_response: Some(LeadResponse::NeedsAction),
            ..BookingRow::new("a1")
        };
        let (next, answered) = observe(
            &row,
            &with_attendee(Some("declined")),
            "ada@example.com",
            None,
            1,
        );
        assert_eq!(next.lead_response, Some(LeadResponse::Declined));
        assert_eq!(answered, Some(LeadResponse::Declined));
        // The same answer read again is not news.
        let (_, again) = observe(
            &next,
            &with_attendee(Some("declined")),
            "ada@example.com",
            None,
            2,
        );
        assert_eq!(again, None);
        // Removed from the guests in Google: not invited again.
        let (removed, _) = observe(&next, &Event::default(), "ada@example.com", None, 3);
        assert!(!removed.invite_lead && !removed.invitation_sent);
        assert_eq!(removed.lead_response, None);
        // A link removed in Google is not asked for again.
        let ready = BookingRow {
            meet_wanted: true,
            meet: MeetState::Ready {
                link: "https://meet.google.com/a".into(),
            },
            ..BookingRow::new("a2")
        };
        let (gone, _) = observe(&ready, &Event::default(), "", None, 4);
        assert!(!gone.meet_wanted);
        assert_eq!(gone.meet, MeetState::None);
        // A wanted link that Google has not made yet keeps waiting.
        let waiting = BookingRow {
            meet_wanted: true,
            meet: MeetState::Waiting {
                reason: MEET_WAITS_ONLINE.into(),
            },
            ..BookingRow::new("a3")
        };
        let (still, _) = observe(&waiting, &Event::default(), "", None, 5);
        assert_eq!(still.meet, waiting.meet);
    }

    #[test]
    fn only_the_consented_writes_email() {
        let mut event = Event::default();
        let (options, sent) = shape_insert(&mut event, None, &lead(), Some(10), || "r".into());
        assert_eq!(options, WriteOptions::default());
        assert_eq!(sent, None);
        assert_eq!(
            event.reminders,
            Some(json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 10}]}))
        );
        assert_eq!(event.attendees, None);

        let row = BookingRow {
            meet_wanted: true,
            invite_lead: true,
            ..BookingRow::new("a1")
        };
        let mut event = Event::default();
        let (options, sent) = shape_insert(&mut event, Some(&row), &lead(), None, || "r1".into());
        assert_eq!(options.send_updates, SendUpdates::All);
        assert!(options.conference_data);
        assert_eq!(event.reminders, None);
        assert_eq!(event.attendees.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            event.conference_data,
            Some(json!({"createRequest": {"requestId": "r1",
                "conferenceSolutionKey": {"type": "hangoutsMeet"}}}))
        );
        assert_eq!(sent.map(|s| s.consented), Some(true));

        // A Meet alone never emails.
        let meet_only = BookingRow {
            meet_wanted: true,
            ..BookingRow::new("a1")
        };
        let (options, _) = shape_insert(
            &mut Event::default(),
            Some(&meet_only),
            &lead(),
            None,
            || "r".into(),
        );
        assert_eq!(options.send_updates, SendUpdates::None);

        // Edits: all only with notify on an invited appointment.
        let invited = BookingRow {
            invite_lead: true,
            invitation_sent: true,
            ..BookingRow::new("a1")
        };
        assert_eq!(
            shape_patch(Some(&invited)).0.send_updates,
            SendUpdates::None
        );
        let notify = BookingRow {
            notify_pending: true,
            ..invited.clone()
        };
        assert_eq!(shape_patch(Some(&notify)).0.send_updates, SendUpdates::All);
        assert_eq!(shape_patch(None).0, WriteOptions::default());
    }

    #[test]
    fn a_follow_up_keeps_googles_guests_and_asks_once_per_need() {
        let event = Event {
            attendees: Some(vec![Attendee {
                email: Some("colleague@example.com".into()),
                ..Attendee::default()
            }]),
            ..Event::default()
        };
        let row = BookingRow {
            invite_lead: true,
            meet_wanted: true,
            ..BookingRow::new("a1")
        };
        let (body, options, sent) = follow_up_body(&event, &row, &lead(), || "r2".into()).unwrap();
        assert_eq!(body["attendees"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["attendees"][0]["email"], "colleague@example.com");
        assert_eq!(body["conferenceData"]["createRequest"]["requestId"], "r2");
        assert_eq!(options.send_updates, SendUpdates::All);
        assert!(sent.consented);
        // Meet only: no guests in the body, nobody emailed.
        let meet_only = BookingRow {
            invite_lead: false,
            ..row.clone()
        };
        let (body, options, _) =
            follow_up_body(&event, &meet_only, &lead(), || "r3".into()).unwrap();
        assert!(body.get("attendees").is_none());
        assert_eq!(options.send_updates, SendUpdates::None);
        // Nothing left: no write.
        let done = Event {
            hangout_link: Some("https://meet.google.com/a".into()),
            ..with_attendee(None)
        };
        assert_eq!(follow_up_body(&done, &row, &lead(), || "r4".into()), None);
    }

    #[test]
    fn the_answer_sentence_names_lead_title_and_local_start() {
        let start = Utc.with_ymd_and_hms(2026, 3, 5, 9, 0, 0).unwrap();
        let timing = Timing::Timed {
            start,
            end: start + chrono::Duration::hours(1),
        };
        let when = start_text(&timing, "Europe/Berlin");
        assert_eq!(when, "Thu 10:00");
        assert_eq!(
            answer_sentence("Ada", LeadResponse::Declined, "Demo call", &when),
            "Ada declined Demo call — Thu 10:00"
        );
    }
}
