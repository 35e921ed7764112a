//! Checks an appointment before anything is written. Pure functions: no I/O, no clock.
//!
//! Messages are written for a salesperson, name the field in plain words, and say what
//! to do. Input typed by the user (`ChangeSource::User`) gets every check; items arriving
//! from Google (`ChangeSource::Sync`) get only the checks that protect the database
//! (generous size bounds, time zone, end not before start) — Google already accepted them,
//! and refusing an odd-but-real event (a 350-character title, a rule Bookline can't
//! expand, an unusual phone format) would stall the sync for no gain. Limits meant for
//! typing (a 300-character title, 64 KB of notes) are the user's, not Google's. What the
//! store still refuses from Google is parked by the sync engine (`sync::parked`).

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::model::{Appointment, AppointmentInput, Lead, Recurrence, Timing};
use crate::recurrence;

/// Who is making a change. Decides how strict validation is and whether the change is
/// queued for Google (see the store's outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeSource {
    /// The salesperson, through the window or the CLI: fully validated, queued for Google.
    User,
    /// The sync engine applying what Google sent: not queued again (no echo).
    Sync,
}

pub const MAX_TITLE_CHARS: usize = 300;
/// What the store accepts from Google in one text field (title, location, notes): far
/// above any real event, and a bound so one row cannot bloat every list and search.
pub const MAX_SYNCED_TEXT_BYTES: usize = 512 * 1024;
/// 64 KiB of UTF-8. A page of meeting notes is a few KiB; a megabyte is a paste accident.
pub const MAX_NOTES_BYTES: usize = 64 * 1024;
pub const MAX_LOCATION_CHARS: usize = 1000;
pub const MAX_LEAD_NAME_CHARS: usize = 200;
/// RFC 5321's limit for a whole address.
pub const MAX_LEAD_EMAIL_CHARS: usize = 254;
pub const MAX_LEAD_PHONE_CHARS: usize = 50;
pub const MIN_USER_YEAR: i32 = 1900;
pub const MAX_USER_YEAR: i32 = 2200;
/// Bounds the stored recurrence so a pathological series cannot bloat every list query.
pub const MAX_RECURRENCE_LINES: usize = 1000;
pub const MAX_RECURRENCE_BYTES: usize = 64 * 1024;

/// One problem with the input: which field (in the user's words) and a sentence saying
/// what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Validates a whole input; returns the first problem found, in form order.
pub fn validate_appointment(
    input: &AppointmentInput,
    source: ChangeSource,
) -> Result<(), ValidationError> {
    validate_with(input, source, Kept::default())
}

/// `validate_appointment` for an edit of `before`: the typing limits hold for what the
/// user changes, not for a text left as it was — an appointment imported from Google
/// with a 350-character title can have its time edited without being asked to shorten
/// the title (which would then be written back over the user's event).
pub fn validate_edit(
    input: &AppointmentInput,
    before: &Appointment,
    source: ChangeSource,
) -> Result<(), ValidationError> {
    let kept = Kept {
        title: input.title.trim() == before.title.trim(),
        location: input.location == before.location,
        notes: input.notes == before.notes,
    };
    validate_with(input, source, kept)
}

/// Texts an edit leaves as they were.
#[derive(Debug, Clone, Copy, Default)]
struct Kept {
    title: bool,
    location: bool,
    notes: bool,
}

fn validate_with(
    input: &AppointmentInput,
    source: ChangeSource,
    kept: Kept,
) -> Result<(), ValidationError> {
    let typed = |kept: bool| source == ChangeSource::User && !kept;
    if typed(kept.title) || input.title.trim().is_empty() {
        // Never empty, from anyone (the engine gives an untitled event a stand-in).
        validate_title(&input.title)?;
    } else {
        // Google's title is kept whole: storing it truncated would later write the
        // shortened title back over the user's event.
        check_synced_text("title", "title", &input.title)?;
    }
    let tz = validate_timezone(&input.timezone)?;
    validate_timing(&input.timing, source)?;
    if typed(kept.location) {
        validate_location(&input.location)?;
    } else {
        check_synced_text("location", "location", &input.location)?;
    }
    if typed(kept.notes) {
        validate_notes(&input.notes)?;
    } else {
        check_synced_text("notes", "description", &input.notes)?;
    }
    validate_lead(&input.lead, source)?;
    if let Some(recurrence) = &input.recurrence {
        validate_recurrence(recurrence, &input.timing, tz, source)?;
    }
    Ok(())
}

pub fn validate_title(title: &str) -> Result<(), ValidationError> {
    let trimmed = title.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(
            "title",
            "Title is required: give the appointment a short name.",
        ));
    }
    let chars = trimmed.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(ValidationError::new(
            "title",
            format!(
                "Title is too long ({chars} characters); keep it under {MAX_TITLE_CHARS} and put details in the notes."
            ),
        ));
    }
    Ok(())
}

/// Returns the parsed zone so later checks (recurrence) can use it.
pub fn validate_timezone(timezone: &str) -> Result<chrono_tz::Tz, ValidationError> {
    if timezone.trim().is_empty() {
        return Err(ValidationError::new(
            "time zone",
            "Time zone is required, for example Europe/Berlin or America/New_York.",
        ));
    }
    chrono_tz::Tz::from_str(timezone).map_err(|_| {
        ValidationError::new(
            "time zone",
            format!(
                "\"{timezone}\" is not a time zone Bookline knows; use a name like Europe/Berlin or America/New_York."
            ),
        )
    })
}

pub fn validate_timing(timing: &Timing, source: ChangeSource) -> Result<(), ValidationError> {
    match timing {
        Timing::Timed { start, end } => {
            if source == ChangeSource::User {
                check_year("start", start.year())?;
                check_year("end", end.year())?;
            }
            // Google has zero-length events (reminders, `endTimeUnspecified`): sync
            // keeps them as they are. A user still gives an end after the start.
            let too_early = match source {
                ChangeSource::User => end <= start,
                ChangeSource::Sync => end < start,
            };
            if too_early {
                return Err(ValidationError::new(
                    "end",
                    "The end must be after the start.",
                ));
            }
        }
        Timing::AllDay { start, end } => {
            if source == ChangeSource::User {
                check_year("start date", start.year())?;
                check_year("end date", end.year())?;
            }
            if end <= start {
                return Err(ValidationError::new(
                    "end date",
                    "The end date must be after the start date (the end date is the first day after the appointment).",
                ));
            }
        }
    }
    Ok(())
}

fn check_year(field: &'static str, year: i32) -> Result<(), ValidationError> {
    if !(MIN_USER_YEAR..=MAX_USER_YEAR).contains(&year) {
        return Err(ValidationError::new(
            field,
            format!(
                "The {field} is in the year {year}; pick a date between {MIN_USER_YEAR} and {MAX_USER_YEAR}."
            ),
        ));
    }
    Ok(())
}

/// Checks that a year typed by the user is in the supported range; used by the input
/// parsers too, before a wall time is resolved in a zone.
pub fn validate_user_date(field: &'static str, date: NaiveDate) -> Result<(), ValidationError> {
    check_year(field, date.year())
}

/// Same as [`validate_user_date`] for an instant.
pub fn validate_user_instant(
    field: &'static str,
    instant: DateTime<Utc>,
) -> Result<(), ValidationError> {
    check_year(field, instant.year())
}

pub fn validate_location(location: &str) -> Result<(), ValidationError> {
    check_chars("location", "Location", location, MAX_LOCATION_CHARS)
}

pub fn validate_notes(notes: &str) -> Result<(), ValidationError> {
    if notes.len() > MAX_NOTES_BYTES {
        return Err(ValidationError::new(
            "notes",
            format!(
                "Notes are too long ({} KB); keep them under {} KB.",
                notes.len().div_ceil(1024),
                MAX_NOTES_BYTES / 1024
            ),
        ));
    }
    Ok(())
}

pub fn validate_lead(lead: &Lead, source: ChangeSource) -> Result<(), ValidationError> {
    check_chars("lead name", "Lead name", &lead.name, MAX_LEAD_NAME_CHARS)?;
    check_chars(
        "lead email",
        "Lead email",
        &lead.email,
        MAX_LEAD_EMAIL_CHARS,
    )?;
    check_chars(
        "lead phone",
        "Lead phone",
        &lead.phone,
        MAX_LEAD_PHONE_CHARS,
    )?;
    if source == ChangeSource::User {
        validate_email(&lead.email)?;
        validate_phone(&lead.phone)?;
    }
    Ok(())
}

/// The database's bound on a text field that came from Google (`google_name`: what
/// Google calls it).
fn check_synced_text(
    field: &'static str,
    google_name: &str,
    value: &str,
) -> Result<(), ValidationError> {
    if value.len() > MAX_SYNCED_TEXT_BYTES {
        return Err(ValidationError::new(
            field,
            format!(
                "Google's {google_name} is too long for Bookline to store ({} KB; the limit is {} KB).",
                value.len().div_ceil(1024),
                MAX_SYNCED_TEXT_BYTES / 1024
            ),
        ));
    }
    Ok(())
}

fn check_chars(
    field: &'static str,
    label: &str,
    value: &str,
    max: usize,
) -> Result<(), ValidationError> {
    // Byte length bounds char count from above, so most values skip the count.
    if value.len() > max {
        let chars = value.chars().count();
        if chars > max {
            return Err(ValidationError::new(
                field,
                format!("{label} is too long ({chars} characters); the limit is {max}."),
            ));
        }
    }
    Ok(())
}

/// A pragmatic check that catches typos (missing `@`, missing domain, spaces), not a full
/// RFC 5322 parser: an address that passes may still bounce, one that fails is surely wrong.
/// Empty means "no email" and is fine.
pub fn validate_email(email: &str) -> Result<(), ValidationError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(());
    }
    let bad = || {
        ValidationError::new(
            "lead email",
            format!(
                "\"{email}\" is not a valid email address; it should look like name@example.com."
            ),
        )
    };
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') || local.len() > 64 {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|label| {
            label.is_empty()
                || label.starts_with('-')
                || label.ends_with('-')
                || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return Err(bad());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad());
    }
    Ok(())
}

/// Digits with the usual separators (`+ - . ( ) /` and spaces); no letters. At least
/// three digits so "+" or "()" alone is refused. Empty means "no phone".
pub fn validate_phone(phone: &str) -> Result<(), ValidationError> {
    let phone = phone.trim();
    if phone.is_empty() {
        return Ok(());
    }
    let allowed = |c: char| c.is_ascii_digit() || " +-.()/".contains(c);
    if !phone.chars().all(allowed) {
        return Err(ValidationError::new(
            "lead phone",
            format!(
                "\"{phone}\" is not a phone number; use digits, spaces and + - ( ) only (no letters)."
            ),
        ));
    }
    if phone.chars().filter(char::is_ascii_digit).count() < 3 {
        return Err(ValidationError::new(
            "lead phone",
            format!("\"{phone}\" is too short to be a phone number."),
        ));
    }
    Ok(())
}

pub fn validate_recurrence(
    recurrence: &Recurrence,
    timing: &Timing,
    tz: chrono_tz::Tz,
    source: ChangeSource,
) -> Result<(), ValidationError> {
    let bytes: usize = recurrence.lines.iter().map(|line| line.len()).sum();
    if recurrence.lines.len() > MAX_RECURRENCE_LINES || bytes > MAX_RECURRENCE_BYTES {
        return Err(ValidationError::new(
            "repeat rule",
            "The repeat rule is too long for Bookline to store.",
        ));
    }
    if source == ChangeSource::Sync {
        // Kept verbatim even if Bookline cannot expand it (spec §3).
        return Ok(());
    }
    if recurrence.lines.is_empty() {
        return Err(ValidationError::new(
            "repeat rule",
            "The repeat rule is empty; remove it or give a rule like RRULE:FREQ=WEEKLY.",
        ));
    }
    recurrence::check_lines(&recurrence.lines, timing, tz).map_err(|reason| {
        ValidationError::new(
            "repeat rule",
            format!("The repeat rule is not valid: {reason}."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use chrono::TimeZone;

    fn input() -> AppointmentInput {
        AppointmentInput {
            title: "Demo with ACME".into(),
            timing: Timing::Timed {
                start: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
                end: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
            },
            timezone: "Europe/Berlin".into(),
            location: "Office".into(),
            notes: "Bring the contract".into(),
            lead: Lead {
                name: "Ada Lovelace".into(),
                email: "ada@example.com".into(),
                phone: "+44 20 7946 0958".into(),
            },
            status: Status::Booked,
            recurrence: None,
        }
    }

    fn field_of(input: &AppointmentInput, source: ChangeSource) -> &'static str {
        validate_appointment(input, source)
            .expect_err("input should be rejected")
            .field
    }

    #[test]
    fn accepts_a_complete_appointment() {
        assert_eq!(validate_appointment(&input(), ChangeSource::User), Ok(()));
    }

    #[test]
    fn rejects_empty_and_whitespace_titles() {
        for title in ["", "   ", "\t\n"] {
            let mut i = input();
            i.title = title.into();
            assert_eq!(field_of(&i, ChangeSource::User), "title");
            assert_eq!(field_of(&i, ChangeSource::Sync), "title");
        }
    }

    #[test]
    fn title_limit_counts_characters_not_bytes() {
        let mut i = input();
        i.title = "é".repeat(MAX_TITLE_CHARS);
        assert!(validate_appointment(&i, ChangeSource::User).is_ok());
        i.title.push('é');
        let err = validate_appointment(&i, ChangeSource::User).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.message.contains("301 characters"), "{}", err.message);
    }

    #[test]
    fn an_edit_holds_only_the_changed_texts_to_the_typing_limits() {
        let mut long = input();
        long.title = "x".repeat(350);
        let before = Appointment {
            id: "a".into(),
            title: long.title.clone(),
            timing: long.timing.clone(),
            timezone: long.timezone.clone(),
            location: long.location.clone(),
            notes: long.notes.clone(),
            lead: long.lead.clone(),
            status: long.status,
            origin: crate::model::Origin::Google,
            recurrence: None,
            instance_of: None,
            created_at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        };
        let mut moved = long.clone();
        moved.timing = Timing::Timed {
            start: Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap(),
        };
        assert_eq!(validate_edit(&moved, &before, ChangeSource::User), Ok(()));
        moved.title.push('y');
        let err = validate_edit(&moved, &before, ChangeSource::User).unwrap_err();
        assert_eq!(err.field, "title");
    }

    #[test]
    fn typing_limits_do_not_apply_to_what_google_holds() {
        let mut i = input();
        i.title = "x".repeat(350);
        i.location = "l".repeat(MAX_LOCATION_CHARS + 1);
        i.notes = "n".repeat(MAX_NOTES_BYTES + 1);
        assert_eq!(field_of(&i, ChangeSource::User), "title");
        assert_eq!(validate_appointment(&i, ChangeSource::Sync), Ok(()));
        i.title = "x".repeat(MAX_SYNCED_TEXT_BYTES + 1);
        let err = validate_appointment(&i, ChangeSource::Sync).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(
            err.message.contains("too long for Bookline to store"),
            "{err}"
        );
    }

    #[test]
    fn rejects_a_one_megabyte_note_and_accepts_64_kib() {
        let mut i = input();
        i.notes = "x".repeat(MAX_NOTES_BYTES);
        assert!(validate_appointment(&i, ChangeSource::User).is_ok());
        i.notes = "x".repeat(1024 * 1024);
        let err = validate_appointment(&i, ChangeSource::Sync).unwrap_err();
        assert_eq!(err.field, "notes");
        assert!(err.message.contains("1024 KB"), "{}", err.message);
    }

    #[test]
    fn rejects_long_location_and_lead_fields() {
        let mut i = input();
        i.location = "a".repeat(MAX_LOCATION_CHARS + 1);
        assert_eq!(field_of(&i, ChangeSource::User), "location");
        let mut i = input();
        i.lead.name = "a".repeat(MAX_LEAD_NAME_CHARS + 1);
        assert_eq!(field_of(&i, ChangeSource::Sync), "lead name");
        let mut i = input();
        i.lead.email = format!("{}@example.com", "a".repeat(MAX_LEAD_EMAIL_CHARS));
        assert_eq!(field_of(&i, ChangeSource::Sync), "lead email");
        let mut i = input();
        i.lead.phone = "1".repeat(MAX_LEAD_PHONE_CHARS + 1);
        assert_eq!(field_of(&i, ChangeSource::Sync), "lead phone");
    }

    #[test]
    fn email_check_catches_typos() {
        for good in [
            "",
            "a@b.co",
            "first.last+tag@sub.example.org",
            "jörg@exämple.de",
        ] {
            assert_eq!(validate_email(good), Ok(()), "{good}");
        }
        for bad in [
            "plainaddress",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@@example.com",
            "a@example..com",
            "a@-example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@exa_mple.com",
        ] {
            assert_eq!(
                validate_email(bad).unwrap_err().field,
                "lead email",
                "{bad}"
            );
        }
    }

    #[test]
    fn phone_with_letters_is_rejected_for_users_only() {
        for good in ["", "+1 (555) 010-9999", "030/1234567", "555.0100"] {
            assert_eq!(validate_phone(good), Ok(()), "{good}");
        }
        for bad in ["call me", "555-CALL", "+", "12", "555 0100 ext 2"] {
            assert_eq!(
                validate_phone(bad).unwrap_err().field,
                "lead phone",
                "{bad}"
            );
        }
        let mut i = input();
        i.lead.phone = "555-CALL".into();
        i.lead.email = "not an email".into();
        assert_eq!(field_of(&i, ChangeSource::User), "lead email");
        assert!(validate_appointment(&i, ChangeSource::Sync).is_ok());
    }

    #[test]
    fn rejects_unknown_time_zones() {
        for tz in ["", "Mars/Olympus", "Europe/Berlinn", "CEST"] {
            let mut i = input();
            i.timezone = tz.into();
            assert_eq!(field_of(&i, ChangeSource::Sync), "time zone", "{tz}");
        }
    }

    #[test]
    fn end_must_follow_start_for_timed_and_all_day() {
        let mut i = input();
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        i.timing = Timing::Timed { start: t, end: t };
        assert_eq!(field_of(&i, ChangeSource::User), "end");
        // Google's zero-length events (reminders) are kept as they are.
        assert!(validate_appointment(&i, ChangeSource::Sync).is_ok());
        i.timing = Timing::Timed {
            start: t,
            end: t - chrono::Duration::seconds(1),
        };
        assert_eq!(field_of(&i, ChangeSource::Sync), "end");
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        i.timing = Timing::AllDay { start: d, end: d };
        assert_eq!(field_of(&i, ChangeSource::User), "end date");
        i.timing = Timing::AllDay {
            start: d,
            end: d.succ_opt().unwrap(),
        };
        assert!(validate_appointment(&i, ChangeSource::User).is_ok());
    }

    #[test]
    fn years_outside_1900_to_2200_are_user_errors_only() {
        let mut i = input();
        i.timing = Timing::Timed {
            start: Utc.with_ymd_and_hms(1899, 12, 31, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(1899, 12, 31, 10, 0, 0).unwrap(),
        };
        assert_eq!(field_of(&i, ChangeSource::User), "start");
        assert!(validate_appointment(&i, ChangeSource::Sync).is_ok());
        i.timing = Timing::AllDay {
            start: NaiveDate::from_ymd_opt(2200, 12, 31).unwrap(),
            end: NaiveDate::from_ymd_opt(2201, 1, 1).unwrap(),
        };
        assert_eq!(field_of(&i, ChangeSource::User), "end date");
    }

    #[test]
    fn recurrence_must_parse_for_users_but_is_kept_from_google() {
        let mut i = input();
        i.recurrence = Some(Recurrence {
            lines: vec!["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10".into()],
        });
        assert!(validate_appointment(&i, ChangeSource::User).is_ok());
        for bad in [
            vec![],
            vec!["RRULE:FREQ=SOMETIMES".to_string()],
            vec!["FREQ=WEEKLY".to_string()],
            vec!["EXDATE:20260309T090000Z".to_string()],
            vec!["RRULE:FREQ=WEEKLY;BYDAY=XX".to_string()],
        ] {
            i.recurrence = Some(Recurrence { lines: bad.clone() });
            assert_eq!(field_of(&i, ChangeSource::User), "repeat rule", "{bad:?}");
            if !bad.is_empty() {
                assert!(validate_appointment(&i, ChangeSource::Sync).is_ok());
            }
        }
        i.recurrence = Some(Recurrence {
            lines: vec!["RRULE:FREQ=DAILY".into(); MAX_RECURRENCE_LINES + 1],
        });
        assert_eq!(field_of(&i, ChangeSource::Sync), "repeat rule");
    }
}
