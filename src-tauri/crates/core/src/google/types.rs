//! Calendar v3 resources as serde types.
//!
//! Every field is optional and skipped when unset, so the same `Event` serves as a full
//! resource, an insert body and (serialized) a patch body. Unknown fields are kept in
//! `extra` and written back, so an `update` never drops what Google added (conference data,
//! attachments, …). Enum-like fields accept values Bookline does not know.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `status` of an event. Values Google may add later land in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum EventStatus {
    Confirmed,
    Tentative,
    Cancelled,
    Other(String),
}

impl From<String> for EventStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "confirmed" => Self::Confirmed,
            "tentative" => Self::Tentative,
            "cancelled" => Self::Cancelled,
            _ => Self::Other(value),
        }
    }
}

impl From<EventStatus> for String {
    fn from(value: EventStatus) -> Self {
        match value {
            EventStatus::Confirmed => "confirmed".to_owned(),
            EventStatus::Tentative => "tentative".to_owned(),
            EventStatus::Cancelled => "cancelled".to_owned(),
            EventStatus::Other(other) => other,
        }
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from(self.clone()))
    }
}

/// `start`, `end` and `originalStartTime`: either `dateTime` (+ optional `timeZone`) for a
/// timed event or `date` for an all-day one (end exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDateTime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_time: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl EventDateTime {
    pub fn timed(at: DateTime<FixedOffset>, time_zone: Option<String>) -> Self {
        Self {
            date_time: Some(at),
            date: None,
            time_zone,
        }
    }

    pub fn all_day(date: NaiveDate) -> Self {
        Self {
            date_time: None,
            date: Some(date),
            time_zone: None,
        }
    }

    pub fn is_all_day(&self) -> bool {
        self.date_time.is_none() && self.date.is_some()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `needsAction`, `declined`, `tentative`, `accepted` (kept as text: new values must
    /// not break parsing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<bool>,
    #[serde(default, rename = "self", skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `organizer` and `creator`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPerson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, rename = "self", skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
}

/// An event resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EventStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<EventDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EventDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_unspecified: Option<bool>,
    /// `RRULE:`, `EXRULE:`, `RDATE:` and `EXDATE:` lines, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start_time: Option<EventDateTime>,
    #[serde(default, rename = "iCalUID", skip_serializing_if = "Option::is_none")]
    pub ical_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_properties: Option<ExtendedProperties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<Attendee>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<EventPerson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<EventPerson>,
    /// `opaque` / `transparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency: Option<String>,
    /// `default` / `public` / `private` / `confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_id: Option<String>,
    /// The Meet link of the event's conference (read only: Google sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hangout_link: Option<String>,
    /// The conference (`createRequest` with its status, `entryPoints`, …), as Google has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_data: Option<Value>,
    /// Fields this type does not name, kept so they round-trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Event {
    pub fn is_cancelled(&self) -> bool {
        self.status == Some(EventStatus::Cancelled)
    }

    /// `extendedProperties.private[key]`.
    pub fn private_property(&self, key: &str) -> Option<&str> {
        self.extended_properties
            .as_ref()?
            .private
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    /// Sets `extendedProperties.private[key] = value`, creating the maps as needed.
    pub fn set_private_property(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.extended_properties
            .get_or_insert_with(ExtendedProperties::default)
            .private
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
    }
}

/// One page of `events.list`. `next_sync_token` comes only on the last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    #[serde(default)]
    pub items: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// An entry of `users/me/calendarList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarListEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `owner`, `writer`, `reader`, `freeBusyReader` (text: new roles must not break parsing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CalendarListEntry {
    /// The name the user sees: their override, else the calendar's own.
    pub fn display_name(&self) -> &str {
        self.summary_override
            .as_deref()
            .or(self.summary.as_deref())
            .unwrap_or(&self.id)
    }

    /// Whether Bookline may write events into this calendar.
    pub fn is_writable(&self) -> bool {
        matches!(self.access_role.as_deref(), Some("owner" | "writer"))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CalendarListPage {
    #[serde(default)]
    pub items: Vec<CalendarListEntry>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_event_round_trips_including_unknown_fields() {
        let raw = json!({
            "kind": "calendar#event",
            "id": "bk0123456789abcdefghijklmnopqrstuv",
            "etag": "\"3181161784712000\"",
            "status": "confirmed",
            "summary": "Demo with Ada",
            "start": {"dateTime": "2026-03-29T01:30:00+01:00", "timeZone": "Europe/London"},
            "end": {"dateTime": "2026-03-29T03:30:00+01:00", "timeZone": "Europe/London"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/London:20260405T013000"],
            "created": "2026-01-01T10:00:00.000Z",
            "updated": "2026-01-02T10:00:00.123Z",
            "sequence": 2,
            "extendedProperties": {"private": {"bookline_id": "abc"}, "shared": {"x": "y"}},
            "attendees": [{"email": "ada@example.com", "responseStatus": "someNewValue", "self": true, "additionalGuests": 1}],
            "organizer": {"email": "me@example.com", "self": true},
            "conferenceData": {"entryPoints": []},
            "iCalUID": "uid@google.com",
            "transparency": "opaque"
        });
        let event: Event = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(event.status, Some(EventStatus::Confirmed));
        assert_eq!(event.private_property("bookline_id"), Some("abc"));
        assert_eq!(event.attendees.as_ref().unwrap()[0].is_self, Some(true));
        // The conference is named now (the Meet link is read from it) and round-trips.
        assert_eq!(event.conference_data, Some(json!({"entryPoints": []})));
        let back = serde_json::to_value(&event).unwrap();
        let again: Event = serde_json::from_value(back).unwrap();
        assert_eq!(again, event);
    }

    #[test]
    fn unknown_status_and_all_day_and_cancelled_stub() {
        let e: Event = serde_json::from_value(json!({
            "id": "x1", "status": "somethingNew",
            "start": {"date": "2026-05-03"}, "end": {"date": "2026-05-04"}
        }))
        .unwrap();
        assert_eq!(e.status, Some(EventStatus::Other("somethingNew".into())));
        assert!(e.start.as_ref().unwrap().is_all_day());
        let stub: Event =
            serde_json::from_value(json!({"id": "gone1", "status": "cancelled"})).unwrap();
        assert!(stub.is_cancelled());
        assert!(stub.start.is_none());
    }

    #[test]
    fn insert_body_skips_unset_fields() {
        let mut e = Event {
            id: Some("abcde".into()),
            summary: Some("S".into()),
            start: Some(EventDateTime::all_day(
                NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            )),
            ..Default::default()
        };
        e.set_private_property("bookline", "1");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({"id": "abcde", "summary": "S", "start": {"date": "2026-01-02"},
                   "extendedProperties": {"private": {"bookline": "1"}}})
        );
    }

    #[test]
    fn calendar_list_entry_tolerates_unknown_role() {
        let c: CalendarListEntry = serde_json::from_value(json!({
            "id": "primary@example.com", "summary": "Me", "accessRole": "superOwner", "primary": true,
            "conferenceProperties": {}
        }))
        .unwrap();
        assert_eq!(c.display_name(), "Me");
        assert!(!c.is_writable());
    }
}

/// The body of `freeBusy.query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyRequest {
    pub time_min: DateTime<Utc>,
    pub time_max: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    pub items: Vec<FreeBusyItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyItem {
    pub id: String,
}

/// The answer of `freeBusy.query`: per calendar id as asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyResponse {
    #[serde(default)]
    pub calendars: BTreeMap<String, FreeBusyCalendar>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyCalendar {
    #[serde(default)]
    pub busy: Vec<TimePeriod>,
    /// Why Google could not answer for this calendar (`notFound`, …).
    #[serde(default)]
    pub errors: Vec<FreeBusyError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimePeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyError {
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub reason: String,
}
