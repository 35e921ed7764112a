//! Calendar Sync Settings: direction, calendar, poll interval, privacy, start at login.
//! Stored as one JSON value in the store's settings table, so a settings change and the
//! data it governs live in the same file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::Status;
use crate::store::{Result, Store, StoreError};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::decide::{Direction, Side, Snapshot};
use crate::sync::links;
use crate::sync::privacy::{PrivacySettings, DEFAULT_TITLE_TEMPLATE};

/// The settings key the whole `SyncSettings` value is stored under.
pub const SETTINGS_KEY: &str = "sync_settings";
pub const DEFAULT_POLL_INTERVAL_SECS: u32 = 60;
/// Polling faster than this buys nothing (Google's own clients poll every few minutes)
/// and spends the user's quota.
pub const MIN_POLL_INTERVAL_SECS: u32 = 15;
/// A day: a longer interval would read as "sync is broken".
pub const MAX_POLL_INTERVAL_SECS: u32 = 86_400;

/// Google's limit for a reminder: four weeks before the start.
pub const MAX_REMINDER_MINUTES: u32 = 40_320;

/// Serializes exactly as the UI contract's `SyncSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct SyncSettings {
    pub direction: Direction,
    pub calendar_id: String,
    pub poll_interval_secs: u32,
    pub title_template: String,
    pub include_lead_name: bool,
    pub include_lead_email: bool,
    pub include_lead_phone: bool,
    pub start_at_login: bool,
    /// "Add Google Meet" is ticked for a new appointment.
    pub meet_by_default: bool,
    /// "Send the lead an invitation" is ticked for a new appointment (off unless the
    /// user turns it on: nothing is emailed to a lead without them seeing it first).
    pub invite_lead_by_default: bool,
    /// The popup reminder of events Bookline creates, in minutes before the start;
    /// `None`: the calendar's own default reminders.
    pub default_reminder_minutes: Option<u32>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            direction: Direction::Both,
            calendar_id: "primary".to_owned(),
            poll_interval_secs: DEFAULT_POLL_INTERVAL_SECS,
            title_template: DEFAULT_TITLE_TEMPLATE.to_owned(),
            include_lead_name: false,
            include_lead_email: false,
            include_lead_phone: false,
            start_at_login: false,
            meet_by_default: false,
            invite_lead_by_default: false,
            default_reminder_minutes: None,
        }
    }
}

impl SyncSettings {
    /// What goes into Google events.
    pub fn privacy(&self) -> PrivacySettings {
        PrivacySettings {
            title_template: self.title_template.clone(),
            include_lead_name: self.include_lead_name,
            include_lead_phone: self.include_lead_phone,
            include_lead_email: self.include_lead_email,
        }
    }

    /// Checks every field; the error names the field in the user's words.
    pub fn validate(&self) -> Result<()> {
        let invalid =
            |field: &'static str, message: String| StoreError::Validation { field, message };
        if self.calendar_id.trim().is_empty() {
            return Err(invalid(
                "calendar",
                "Choose the Google calendar to sync with.".to_owned(),
            ));
        }
        if !(MIN_POLL_INTERVAL_SECS..=MAX_POLL_INTERVAL_SECS).contains(&self.poll_interval_secs) {
            return Err(invalid(
                "poll interval",
                format!(
                    "Check Google every {MIN_POLL_INTERVAL_SECS} seconds at the most often and \
                     once a day at the least (you asked for every {} seconds).",
                    self.poll_interval_secs
                ),
            ));
        }
        if let Some(minutes) = self.default_reminder_minutes {
            if minutes > MAX_REMINDER_MINUTES {
                return Err(invalid(
                    "default reminder",
                    format!(
                        "Google allows reminders up to four weeks (40320 minutes) before the \
                         start (you asked for {minutes} minutes)."
                    ),
                ));
            }
        }
        self.privacy()
            .validate()
            .map_err(|e| invalid("title template", capitalize(&e.to_string())))
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The saved settings, or the defaults when none were saved.
pub fn load(store: &Store) -> Result<SyncSettings> {
    Ok(store
        .get_setting::<SyncSettings>(SETTINGS_KEY)?
        .unwrap_or_default())
}

/// Validates and saves; returns what was saved (the calendar id trimmed).
///
/// When the privacy settings change and the direction writes to Google, the same
/// transaction queues an upsert for every linked appointment whose Google summary or
/// description would read differently, so the next pass patches exactly those events
/// (and no others).
///
/// When the direction widens while an account is connected, what the narrower direction
/// passed by is not left behind: it was created after connecting, so it is ongoing
/// sync's (not a transfer's) and the next pass moves it. Newly sending to Google queues
/// an upsert of every unlinked appointment created since connecting (their entries were
/// settled as "the direction excludes it"); newly bringing Google's events in forgets the
/// sync token, so the next pass reads the calendar in full and finds the events created
/// since connecting that the token had passed (linked ones re-pair by id, old ones still
/// wait for a transfer). Changes of linked items made on the side the narrower
/// direction did not send from are carried over too (`carry_held_back`): a delete or
/// edit made in Bookline is queued, an edit made in Google is read again.
pub fn save(store: &Store, settings: &SyncSettings) -> Result<SyncSettings> {
    let mut settings = settings.clone();
    settings.calendar_id = settings.calendar_id.trim().to_owned();
    settings.validate()?;
    store.write("save the sync settings", |tx| {
        let old: SyncSettings = store.get_setting_in(tx, SETTINGS_KEY)?.unwrap_or_default();
        store.set_setting_in(tx, SETTINGS_KEY, &settings)?;
        let (before, after) = (old.privacy(), settings.privacy());
        if before != after && settings.direction.writes_google() {
            queue_rerendered(store, tx, &settings.calendar_id, &before, &after)?;
        }
        offer_what_was_excluded(store, tx, old.direction, &settings)?;
        Ok(())
    })?;
    Ok(settings)
}

/// Queues the linked appointments of `calendar_id` whose event text changes from
/// `before` to `after`; returns how many. What the event holds is the text on the link,
/// or (links made before Bookline kept it) the rendering under `before`.
fn queue_rerendered(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
    calendar_id: &str,
    before: &PrivacySettings,
    after: &PrivacySettings,
) -> Result<usize> {
    let mut queued = 0;
    for link in links::all(store, tx, calendar_id)? {
        let Some(a) = store.get_in(tx, &link.appointment_id)? else {
            continue;
        };
        if a.status == Status::Cancelled {
            continue;
        }
        let held = match &link.google_text {
            Some(t) => (t.summary.clone(), t.description.clone()),
            None => before.render(&a.title, &a.notes, &a.lead),
        };
        if after.render(&a.title, &a.notes, &a.lead) != held {
            store.queue_upsert_in(tx, &a.id)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The widening part of `save`: queues or re-reads what `old` kept from moving and
/// `settings.direction` moves, and says so in the activity log.
fn offer_what_was_excluded(
    store: &Store,
    tx: &rusqlite::Transaction<'_>,
    old: Direction,
    settings: &SyncSettings,
) -> Result<()> {
    let to_google = settings.direction.writes_google() && !old.writes_google();
    let to_crm = settings.direction.writes_crm() && !old.writes_crm();
    if !to_google && !to_crm {
        return Ok(());
    }
    let Some(connected_at) =
        store.get_setting_in::<DateTime<Utc>>(tx, crate::account::SETTING_CONNECTED_AT)?
    else {
        // Not connected: connecting starts afresh.
        return Ok(());
    };
    let mut notes = Vec::new();
    if to_google {
        let fail = |e| store.error("save the sync settings", e);
        let ids: Vec<String> = tx
            .prepare(
                "SELECT id FROM appointments a WHERE created_at_ms > ?1 \
                 AND NOT EXISTS (SELECT 1 FROM links l WHERE l.appointment_id = a.id) \
                 ORDER BY created_at_ms, id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([connected_at.timestamp_millis()], |r| r.get(0))?
                    .collect()
            })
            .map_err(fail)?;
        for id in &ids {
            store.queue_upsert_in(tx, id)?;
        }
        if !ids.is_empty() {
            notes.push(format!(
                "{} appointment(s) made in Bookline while it did not send to Google are queued",
                ids.len()
            ));
        }
        let changed = carry_held_back(store, tx, Side::Crm)?;
        if changed > 0 {
            notes.push(format!(
                "{changed} change(s) of synced appointments made in Bookline while it did not \
                 send to Google are queued"
            ));
        }
    }
    if to_crm {
        let changed = carry_held_back(store, tx, Side::Google)?;
        if changed > 0 {
            notes.push(format!(
                "{changed} change(s) of synced events made in Google while it did not bring \
                 them in are read again"
            ));
        }
        // Every calendar's: `primary` and its id name one calendar.
        links::clear_sync_tokens(store, tx)?;
        notes.push(
            "Google is read again in full to bring in the events made there while it did not"
                .to_owned(),
        );
    }
    if !notes.is_empty() {
        activity::append(
            store,
            tx,
            &NewActivity::new(
                ActivityKind::Info,
                None,
                format!("The sync direction was widened: {}", notes.join("; ")),
            ),
        )?;
    }
    Ok(())
}

/// Carries over what the narrower direction held back on linked appointments: changes
/// made on `from` (the side it did not send from) while it did not. Such a change was
/// settled into the link's snapshot, which then holds the two sides apart and would
/// read as "no change" from then on. The snapshot's `from` side is put back to what the
/// other side last received, so the change reads as a change of `from` again and the
/// next pass sends it. From Bookline, the link is queued (a delete for an appointment
/// deleted meanwhile: the row is gone, the link its tombstone); from Google, the full
/// read after the forgotten sync token finds it. Returns how many links.
fn carry_held_back(store: &Store, tx: &rusqlite::Transaction<'_>, from: Side) -> Result<usize> {
    let mut carried = 0;
    for mut link in links::every(store, tx)? {
        let Snapshot { crm, google } = &link.snapshot;
        if crm.same_as(google) || (crm.is_cancelled() && google.is_cancelled()) {
            continue;
        }
        let deleted = store.get_in(tx, &link.appointment_id)?.is_none();
        match (from, deleted) {
            // Deleted in Bookline: the delete is the change (only a deletion record
            // deletes; a row gone without one is left alone).
            (Side::Crm, true) if crm.is_cancelled() => {
                store.queue_delete_in(tx, &link.appointment_id)?;
            }
            (Side::Crm, false) => {
                link.snapshot.crm = google.clone();
                links::upsert(store, tx, &link)?;
                store.queue_upsert_in(tx, &link.appointment_id)?;
            }
            (Side::Google, false) => {
                link.snapshot.google = crm.clone();
                links::upsert(store, tx, &link)?;
            }
            _ => continue,
        }
        carried += 1;
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_reminder_is_within_googles_four_weeks() {
        let with = |m| SyncSettings {
            default_reminder_minutes: m,
            ..SyncSettings::default()
        };
        assert!(with(None).validate().is_ok());
        assert!(with(Some(0)).validate().is_ok());
        assert!(with(Some(MAX_REMINDER_MINUTES)).validate().is_ok());
        let e = with(Some(MAX_REMINDER_MINUTES + 1)).validate().unwrap_err();
        assert!(e.to_string().contains("four weeks"), "{e}");
    }

    #[test]
    fn serializes_as_the_ui_contract() {
        let v = serde_json::to_value(SyncSettings::default()).unwrap();
        assert_eq!(
            v,
            json!({
                "direction": "both", "calendar_id": "primary", "poll_interval_secs": 60,
                "title_template": "{title}", "include_lead_name": false,
                "include_lead_email": false, "include_lead_phone": false,
                "start_at_login": false, "meet_by_default": false,
                "invite_lead_by_default": false, "default_reminder_minutes": null
            })
        );
        let partial: SyncSettings =
            serde_json::from_value(json!({"direction": "crm-to-google"})).unwrap();
        assert_eq!(partial.direction, Direction::CrmToGoogle);
        assert_eq!(partial.poll_interval_secs, 60);
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = SyncSettings {
            poll_interval_secs: 5,
            ..Default::default()
        };
        assert!(matches!(
            s.validate(),
            Err(StoreError::Validation {
                field: "poll interval",
                ..
            })
        ));
        s.poll_interval_secs = 15;
        s.title_template = "{lead_name}".into();
        assert!(matches!(
            s.validate(),
            Err(StoreError::Validation {
                field: "title template",
                ..
            })
        ));
        s.title_template = "{title} — {lead_name}".into();
        s.calendar_id = " ".into();
        assert!(matches!(
            s.validate(),
            Err(StoreError::Validation {
                field: "calendar",
                ..
            })
        ));
        s.calendar_id = "work@example.com".into();
        assert!(s.validate().is_ok());
    }
}
