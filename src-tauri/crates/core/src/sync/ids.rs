//! Google event ids for events Bookline creates, derived from the appointment id.
//!
//! Google lets a client choose an event id (base32hex: `a-v` and `0-9`, 5–1024 chars) and
//! answers `409 duplicate` when it exists — even after the event was deleted. Deriving
//! the id from the appointment makes every retry of an insert (after a timeout or a
//! crash) hit the same id, so a push can never create a duplicate.
//!
//! Format: `bl` + the 16 bytes of the UUID in lowercase base32hex without padding
//! (26 characters), 28 characters in all. The prefix keeps these ids apart from the
//! 26-character ids Google generates itself.

use crate::model::AppointmentId;
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
const PREFIX: &str = "bl";
const ENCODED_LEN: usize = 26;

/// The event id for an appointment UUID.
pub fn event_id_for_uuid(id: &Uuid) -> String {
    let mut out = String::with_capacity(PREFIX.len() + ENCODED_LEN);
    out.push_str(PREFIX);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &byte in id.as_bytes() {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The event id for an appointment id; `None` when the id is not a UUID (the store only
/// makes UUIDs, so that means the input came from somewhere else).
pub fn event_id_for(appointment_id: &str) -> Option<String> {
    Uuid::parse_str(appointment_id)
        .ok()
        .map(|u| event_id_for_uuid(&u))
}

/// The appointment UUID an event id was derived from, if it is one of Bookline's ids.
/// Only the canonical encoding is accepted, so this is the exact inverse.
pub fn uuid_from_event_id(event_id: &str) -> Option<Uuid> {
    let body = event_id.strip_prefix(PREFIX)?;
    if body.len() != ENCODED_LEN {
        return None;
    }
    let mut bytes = [0u8; 16];
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut n = 0;
    for c in body.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            if n == bytes.len() {
                return None;
            }
            bytes[n] = ((acc >> bits) & 0xff) as u8;
            n += 1;
        }
        acc &= (1 << bits) - 1;
    }
    // 26 chars carry 130 bits; the last 2 must be zero for the canonical form.
    if n != bytes.len() || acc != 0 {
        return None;
    }
    Some(Uuid::from_bytes(bytes))
}

/// The appointment id (hyphenated lowercase, as the store writes it) an event id was
/// derived from.
pub fn appointment_id_from_event_id(event_id: &str) -> Option<AppointmentId> {
    uuid_from_event_id(event_id).map(|u| u.hyphenated().to_string())
}

/// Whether `id` is acceptable to Google as a client-chosen event id.
pub fn is_valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| ALPHABET.contains(&b))
}

/// Google's id for one occurrence of a recurring event: `{series}_{start}`, the start in
/// UTC basic format (`20260601T100000Z`) for timed series, `YYYYMMDD` for all-day ones.
/// `original_start` is RFC 3339 (any offset) or `YYYY-MM-DD`; `None` when it is neither.
pub fn instance_event_id(series_event_id: &str, original_start: &str) -> Option<String> {
    let suffix = if let Ok(at) = chrono::DateTime::parse_from_rfc3339(original_start) {
        at.with_timezone(&chrono::Utc)
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    } else {
        chrono::NaiveDate::parse_from_str(original_start, "%Y-%m-%d")
            .ok()?
            .format("%Y%m%d")
            .to_string()
    };
    Some(format!("{series_event_id}_{suffix}"))
}
