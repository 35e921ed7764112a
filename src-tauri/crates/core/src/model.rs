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
/// event with `recurringEventId` + `originalStartTime`). Cancelled instances are EXDATEs
/// in the series' `Recurrence` instead.
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
