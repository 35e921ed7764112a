//! Google event ↔ `SyncFields`.
//!
//! - Timed events keep their instant; the zone is the event's `timeZone`, else the
//!   calendar's. Bookline writes `dateTime` in that zone's offset plus `timeZone`, so the
//!   event reads naturally in Google and recurrences expand in the right zone.
//! - All-day events are dates (end exclusive) and carry no zone at all, so they stay on
//!   the same dates wherever the user or the calendar is.
//! - Recurrence lines pass through verbatim (a rule Bookline cannot expand survives).
//! - Summary and description go through the privacy settings; reading them back strips
//!   what Bookline added.
//! - Events Bookline creates carry the private extended property
//!   `bookline_appointment_id`. Attendees, organizer and every field Bookline does not
//!   name are never written, so invitations keep their guests.

use crate::google::{Event, EventDateTime, EventStatus};
use crate::model::{AppointmentId, Lead, Timing};
use crate::sync::decide::{GoogleInstance, GoogleSide};
use crate::sync::fields::{Field, FieldSet, SyncFields, SyncStatus};
use crate::sync::ids;
use crate::sync::privacy::{parse_description, PrivacySettings};
use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

/// The private extended property naming the appointment an event was created for.
pub const APPOINTMENT_ID_PROPERTY: &str = "bookline_appointment_id";

/// What the mapping needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct MappingContext<'a> {
    /// The calendar's zone (`events.list` answers with it): used for timed events that
    /// name none, and as the zone of appointments made from all-day events.
    pub calendar_timezone: &'a str,
    pub privacy: &'a PrivacySettings,
    /// The lead of the linked appointment (empty for an event not linked yet): needed to
    /// recognise the title template's frame around the title.
    pub lead: &'a Lead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the event has no id")]
    MissingId,
    #[error("event {0} has no start")]
    MissingStart(String),
    #[error("event {0} mixes an all-day start with a timed end (or the reverse)")]
    MixedTiming(String),
    #[error("event {0} ends before it starts")]
    EndBeforeStart(String),
}

/// The event's content as `SyncFields`.
pub fn fields_from_event(
    event: &Event,
    ctx: &MappingContext<'_>,
) -> Result<SyncFields, MappingError> {
    let id = || event.id.clone().unwrap_or_default();
    let start = event
        .start
        .as_ref()
        .ok_or_else(|| MappingError::MissingStart(id()))?;
    let (timing, timezone) = match (start.date_time, start.date) {
        (Some(start_at), _) => {
            let start_utc = start_at.with_timezone(&Utc);
            let end_utc = match event.end.as_ref() {
                Some(EventDateTime {
                    date_time: Some(end_at),
                    ..
                }) => end_at.with_timezone(&Utc),
                Some(EventDateTime { date: Some(_), .. }) => {
                    return Err(MappingError::MixedTiming(id()))
                }
                // `endTimeUnspecified` events have no real end: treat as instantaneous.
                _ => start_utc,
            };
            if end_utc < start_utc {
                return Err(MappingError::EndBeforeStart(id()));
            }
            let zone = start
                .time_zone
                .clone()
                .filter(|z| !z.is_empty())
                .unwrap_or_else(|| ctx.calendar_timezone.to_owned());
            (
                Timing::Timed {
                    start: start_utc,
                    end: end_utc,
                },
                zone,
            )
        }
        (None, Some(start_date)) => {
            let end_date = match event.end.as_ref() {
                Some(EventDateTime {
                    date: Some(end), ..
                }) => *end,
                Some(EventDateTime {
                    date_time: Some(_), ..
                }) => return Err(MappingError::MixedTiming(id())),
                _ => next_day(start_date),
            };
            if end_date < start_date {
                return Err(MappingError::EndBeforeStart(id()));
            }
            // Google refuses an empty all-day span on insert, but an answer carrying one
            // means the single day it starts on (as typed input does): never an empty
            // span the store would refuse.
            let end_date = if end_date == start_date {
                next_day(start_date)
            } else {
                end_date
            };
            (
                Timing::AllDay {
                    start: start_date,
                    end: end_date,
                },
                ctx.calendar_timezone.to_owned(),
            )
        }
        (None, None) => return Err(MappingError::MissingStart(id())),
    };
    Ok(SyncFields {
        title: ctx
            .privacy
            .parse_summary(event.summary.as_deref().unwrap_or(""), ctx.lead),
        timing,
        timezone,
        location: event.location.clone().unwrap_or_default(),
        notes: parse_description(event.description.as_deref().unwrap_or("")),
        status: status_from_event(event.status.as_ref()),
        recurrence: event.recurrence.clone().unwrap_or_default(),
    })
}

fn status_from_event(status: Option<&EventStatus>) -> SyncStatus {
    match status {
        Some(EventStatus::Cancelled) => SyncStatus::Cancelled,
        _ => SyncStatus::Active,
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1)).unwrap_or(date)
}

/// The event as the decision function sees it. `known`: the link's Google snapshot
/// when the event is linked.
///
/// A cancelled event in a sync-token answer may be a stub with only its id; its fields
/// then come from `known` (the link's Google snapshot, or the paired appointment) with
/// status cancelled — `decide` reads only the cancellation from such a record. Missing
/// `created`/`updated` (stubs again) read as the Unix epoch: as old as possible, so a
/// stub never wins a last-edit comparison or counts as new.
pub fn google_side(
    event: &Event,
    ctx: &MappingContext<'_>,
    known: Option<&SyncFields>,
) -> Result<GoogleSide, MappingError> {
    let event_id = event.id.clone().ok_or(MappingError::MissingId)?;
    let cancelled = event.is_cancelled();
    let fields = match fields_from_event(event, ctx) {
        Ok(mut f) => {
            // The frame did not match the current lead (its details changed in the CRM
            // since the summary was written) but fits the last-synced title: the title
            // did not change.
            if let (Some(known), Some(summary)) = (known, event.summary.as_deref()) {
                if f.title == summary
                    && f.title != known.title
                    && ctx.privacy.is_framed_title(summary, &known.title)
                {
                    f.title.clone_from(&known.title);
                }
            }
            f
        }
        Err(_) if cancelled => {
            let mut f = known.cloned().unwrap_or_else(|| SyncFields {
                title: String::new(),
                // A cancelled occurrence stub still says which occurrence it was.
                timing: event
                    .original_start_time
                    .as_ref()
                    .and_then(occurrence_timing)
                    .unwrap_or(Timing::AllDay {
                        start: NaiveDate::MIN,
                        end: next_day(NaiveDate::MIN),
                    }),
                timezone: ctx.calendar_timezone.to_owned(),
                location: String::new(),
                notes: String::new(),
                status: SyncStatus::Cancelled,
                recurrence: Vec::new(),
            });
            f.status = SyncStatus::Cancelled;
            f
        }
        Err(e) => return Err(e),
    };
    Ok(GoogleSide {
        event_id,
        fields,
        created: event.created.unwrap_or(DateTime::UNIX_EPOCH),
        updated: event.updated.unwrap_or(DateTime::UNIX_EPOCH),
        cancelled,
        bookline_appointment_id: event
            .private_property(APPOINTMENT_ID_PROPERTY)
            .map(str::to_owned),
        instance_of: match (&event.recurring_event_id, &event.original_start_time) {
            (Some(series), Some(original)) => {
                original_start_string(original).map(|original_start| GoogleInstance {
                    series_event_id: series.clone(),
                    original_start,
                })
            }
            _ => None,
        },
    })
}

/// `originalStartTime` in the form `SeriesInstance` uses: RFC 3339 UTC (`…Z`) for a
/// timed series, `YYYY-MM-DD` for an all-day one.
pub fn original_start_string(original: &EventDateTime) -> Option<String> {
    match (original.date_time, original.date) {
        (Some(at), _) => Some(
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
        (None, Some(date)) => Some(date.format("%Y-%m-%d").to_string()),
        (None, None) => None,
    }
}

/// A zero-length timed span or a one-day all-day span at an occurrence's original start.
fn occurrence_timing(original: &EventDateTime) -> Option<Timing> {
    match (original.date_time, original.date) {
        (Some(at), _) => {
            let at = at.with_timezone(&Utc);
            Some(Timing::Timed { start: at, end: at })
        }
        (None, Some(date)) => Some(Timing::AllDay {
            start: date,
            end: next_day(date),
        }),
        (None, None) => None,
    }
}

/// `start`/`end` for a timing. Timed: the instant in the zone's own offset, plus the
/// zone (UTC when the zone is not a known IANA name — Google would refuse it).
fn event_times(timing: &Timing, timezone: &str) -> (EventDateTime, EventDateTime) {
    match timing {
        Timing::Timed { start, end } => {
            let tz = timezone.parse::<Tz>().ok();
            let zone = if tz.is_some() { timezone } else { "UTC" };
            let at = |t: &DateTime<Utc>| match tz {
                Some(tz) => t.with_timezone(&tz).fixed_offset(),
                None => t.fixed_offset(),
            };
            (
                EventDateTime::timed(at(start), Some(zone.to_owned())),
                EventDateTime::timed(at(end), Some(zone.to_owned())),
            )
        }
        Timing::AllDay { start, end } => {
            (EventDateTime::all_day(*start), EventDateTime::all_day(*end))
        }
    }
}

/// The body of `events.insert` for an appointment: the derived id, the private
/// property, `confirmed`. `None` when the appointment id is not a UUID (no derived id,
/// so an insert could not be retried safely).
pub fn event_for_insert(
    appointment_id: &AppointmentId,
    fields: &SyncFields,
    lead: &Lead,
    privacy: &PrivacySettings,
) -> Option<Event> {
    let id = ids::event_id_for(appointment_id)?;
    let mut event = Event {
        id: Some(id),
        status: Some(EventStatus::Confirmed),
        ..Event::default()
    };
    write_fields(&mut event, FieldSet::all(), fields, lead, privacy);
    event.set_private_property(APPOINTMENT_ID_PROPERTY, appointment_id.clone());
    Some(event)
}

/// Writes the given fields of `to` into a full event (for `events.update`), leaving
/// everything else — attendees, organizer, reminders, unknown fields — as it is.
pub fn apply_to_event(
    event: &mut Event,
    fields: FieldSet,
    to: &SyncFields,
    lead: &Lead,
    privacy: &PrivacySettings,
) {
    write_fields(event, fields, to, lead, privacy);
}

fn write_fields(
    event: &mut Event,
    fields: FieldSet,
    to: &SyncFields,
    lead: &Lead,
    privacy: &PrivacySettings,
) {
    for field in fields.iter() {
        match field {
            Field::Title => event.summary = Some(privacy.render_summary(&to.title, lead)),
            Field::Notes => event.description = Some(privacy.render_description(&to.notes, lead)),
            Field::Location => event.location = Some(to.location.clone()),
            Field::Timing | Field::Timezone => {
                let (start, end) = event_times(&to.timing, &to.timezone);
                event.start = Some(start);
                event.end = Some(end);
            }
            Field::Status => {
                let current = event.status.as_ref().map(|s| String::from(s.clone()));
                event.status = Some(EventStatus::from(
                    to.status.to_google(current.as_deref()).to_owned(),
                ));
            }
            Field::Recurrence => event.recurrence = Some(to.recurrence.clone()),
        }
    }
}

/// The body of `events.patch` that changes exactly `fields` (as JSON: Google merges
/// nested objects in a patch, so `start`/`end` carry the other kind's keys as explicit
/// nulls — otherwise switching between timed and all-day would leave both `date` and
/// `dateTime` set). `current_status` keeps a tentative event tentative.
pub fn patch_body(
    fields: FieldSet,
    to: &SyncFields,
    lead: &Lead,
    privacy: &PrivacySettings,
    current_status: Option<&EventStatus>,
) -> Value {
    let mut event = Event {
        status: current_status.cloned(),
        ..Event::default()
    };
    let plain = fields.difference([Field::Timing, Field::Timezone].into_iter().collect());
    write_fields(&mut event, plain, to, lead, privacy);
    if !fields.contains(Field::Status) {
        event.status = None;
    }
    let mut body = match serde_json::to_value(&event) {
        Ok(Value::Object(map)) => map,
        // An `Event` always serializes to an object; an empty patch is the safe answer.
        _ => serde_json::Map::new(),
    };
    if fields.contains(Field::Timing) || fields.contains(Field::Timezone) {
        let (start, end) = event_times(&to.timing, &to.timezone);
        body.insert("start".into(), patch_time(&start));
        body.insert("end".into(), patch_time(&end));
    }
    Value::Object(body)
}

fn patch_time(t: &EventDateTime) -> Value {
    json!({
        "dateTime": t.date_time.map(|d| d.to_rfc3339()),
        "date": t.date.map(|d| d.format("%Y-%m-%d").to_string()),
        "timeZone": t.time_zone,
    })
}
