//! Domain types shared by the store, the CLI, the UI (via ts-rs) and the sync engine.
//!
//! An appointment's time is either a *timed* span (two UTC instants plus the IANA zone the
//! user thinks in) or an *all-day* span (dates, end exclusive like Google). Storing instants
//! in UTC keeps ordering and range queries simple; keeping the zone keeps recurrence and
//! display honest across DST changes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable id of an appointment: a UUID (v7, so ids sort by creation time) in its
/// hyphenated lowercase form. Google event ids for Bookline-created events are derived
/// from it (see `google_event_id_for`), which is what makes pushes idempotent.
pub type AppointmentId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Status {
    Booked,
    Cancelled,
    Done,
}

/// Which side an appointment was first created on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Origin {
    Crm,
    Google,
}

/// When an appointment happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Timing {
    /// A span between two instants; `start < end`.
    Timed {
        #[ts(type = "string")]
        start: DateTime<Utc>,
        #[ts(type = "string")]
        end: DateTime<Utc>,
    },
    /// Whole days; `end` is exclusive (a one-day event on May 3 has end May 4), as in Google.
    AllDay {
        #[ts(type = "string")]
        start: NaiveDate,
        #[ts(type = "string")]
        end: NaiveDate,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Lead {
    pub name: String,
    pub email: String,
    pub phone: String,
}

/// A recurring series: the RFC 5545 lines as Google carries them in `recurrence`
/// (`RRULE:…`, `EXDATE…`, `RDATE…`). Kept verbatim so a rule Bookline cannot expand
/// still round-trips unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Recurrence {
    pub lines: Vec<String>,
}

/// One instance of a series that was moved or edited on its own (Google's "exception"
/// event with `recurringEventId` + `originalStartTime`). An instance cancelled in Google
/// arrives as such a row with status `Cancelled` (Google's own shape, so it round-trips);
/// EXDATEs typed in the CRM stay lines of the series' `Recurrence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SeriesInstance {
    pub series_id: AppointmentId,
    /// The start the instance would have had without the exception (RFC 3339 for timed
    /// series, `YYYY-MM-DD` for all-day ones).
    pub original_start: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Appointment {
    pub id: AppointmentId,
    pub title: String,
    pub timing: Timing,
    /// IANA zone the appointment was booked in (for display and recurrence expansion).
    pub timezone: String,
    pub location: String,
    pub notes: String,
    pub lead: Lead,
    pub status: Status,
    pub origin: Origin,
    pub recurrence: Option<Recurrence>,
    /// Set when this appointment is a moved/edited instance of a recurring series.
    pub instance_of: Option<SeriesInstance>,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
}

/// What a user (or the sync engine) supplies to create or replace an appointment.
/// Validated by the store before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppointmentInput {
    pub title: String,
    pub timing: Timing,
    pub timezone: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub lead: Lead,
    pub status: Status,
    pub recurrence: Option<Recurrence>,
}

/// Which part of the timeline a list shows. Upcoming lists soonest first; past lists most
/// recent first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Period {
    #[default]
    Upcoming,
    Past,
    All,
}

/// One page of the appointment list. The UI asks for windows of rows as the user
/// scrolls, so 10,000 appointments never become 10,000 rows in memory or the DOM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ListQuery {
    /// Matches title, lead name, lead email or lead phone (case-insensitive substring).
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub origin: Option<Origin>,
    #[serde(default)]
    pub period: Period,
    #[serde(default)]
    pub offset: u32,
    /// At most 500; the store clamps larger values.
    pub limit: u32,
}

/// How an appointment stands with Google.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum SyncState {
    /// No Google account is connected.
    NotConnected,
    /// Connected, but this appointment is not linked and not queued (e.g. an old one
    /// waiting for "Synchronize Google Calendar").
    NotSynced,
    /// A change is waiting in the outbox.
    Pending,
    Synced,
    /// The last attempt failed; `message` says why in words.
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppointmentRow {
    pub appointment: Appointment,
    pub sync_state: SyncState,
    pub google_event_id: Option<String>,
    /// The Meet link, the lead's invitation and answer.
    pub booking: Booking,
}

/// A lead's answer to an invitation (Google's attendee `responseStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum LeadResponse {
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
}

impl LeadResponse {
    /// Google's `responseStatus` word (also how the store keeps it).
    pub fn as_google(self) -> &'static str {
        match self {
            LeadResponse::NeedsAction => "needsAction",
            LeadResponse::Accepted => "accepted",
            LeadResponse::Declined => "declined",
            LeadResponse::Tentative => "tentative",
        }
    }

    /// Google's `responseStatus`; `None` for a word Google may add later.
    pub fn from_google(word: &str) -> Option<LeadResponse> {
        match word {
            "needsAction" => Some(LeadResponse::NeedsAction),
            "accepted" => Some(LeadResponse::Accepted),
            "declined" => Some(LeadResponse::Declined),
            "tentative" => Some(LeadResponse::Tentative),
            _ => None,
        }
    }
}

/// The Meet link of an appointment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum MeetState {
    /// Not asked for (and Google has none).
    #[default]
    None,
    /// Asked for; waits for Google (offline, Google still creating it, or a one-way mode
    /// that doesn't write Google). `reason` says which, in words.
    Waiting { reason: String },
    /// Google's `hangoutLink` (or the conference's video entry point).
    Ready { link: String },
    /// Google refused to create one; retried on the next pass. `message` says why.
    Failed { message: String },
}

impl MeetState {
    pub fn link(&self) -> Option<&str> {
        match self {
            MeetState::Ready { link } => Some(link),
            _ => None,
        }
    }
}

/// What Bookline knows about booking an appointment with its lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Booking {
    pub meet: MeetState,
    /// The lead is (to be) an attendee: the user asked to invite them.
    pub invite_lead: bool,
    /// Google has the lead as an attendee (the invitation went out).
    pub invitation_sent: bool,
    /// The lead's answer; `None` while not invited.
    pub lead_response: Option<LeadResponse>,
}

/// What the user asks for when saving an appointment (Add / Edit dialog, CLI flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct BookingRequest {
    /// Want a Meet link (false on an edit never removes an existing link).
    pub meet: bool,
    /// Add the lead as an attendee and let Google email them once (the invitation).
    pub invite_lead: bool,
    /// An edit of an invited appointment: let Google email the lead the change.
    pub notify_lead: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AppointmentPage {
    pub rows: Vec<AppointmentRow>,
    /// Rows matching the query in all (for the scrollbar of the virtualized list).
    pub total: u32,
}

/// One concrete occurrence in a time window: a single appointment, or one instance of a
/// recurring series after its exceptions are applied (week view, `list --from/--to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Occurrence {
    pub appointment_id: AppointmentId,
    /// Set when the occurrence comes from a recurring series.
    pub series_id: Option<AppointmentId>,
    /// The start this occurrence has in the series without exceptions (RFC 3339 for timed
    /// series, `YYYY-MM-DD` for all-day ones): what edits and cancels of one occurrence name.
    /// Null for a single appointment.
    pub original_start: Option<String>,
    pub title: String,
    pub timing: Timing,
    pub timezone: String,
    pub status: Status,
    pub origin: Origin,
    /// The appointment's Meet link, when Google made one.
    pub meet_link: Option<String>,
    /// The lead's answer, when the lead was invited.
    pub lead_response: Option<LeadResponse>,
}

/// Which occurrences of a series an edit, cancel or delete of one occurrence applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum OccurrenceScope {
    This,
    Following,
    All,
}
