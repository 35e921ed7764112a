//! The `bookings` table: what the user asked of an appointment's booking (a Meet link,
//! the lead's invitation, a notification of a change) and what Google answered (the
//! link or why there is none, the lead's answer). One module owns its SQL.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Result, Store};
use crate::model::{Booking, LeadResponse, MeetState};

/// One row, as the sync engine reads and writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingRow {
    pub appointment_id: String,
    /// The user asked for a Meet link.
    pub meet_wanted: bool,
    /// The `requestId` of the last `createRequest` sent.
    pub meet_request_id: Option<String>,
    pub meet: MeetState,
    /// Unix ms of the last write that asked Google for a conference.
    pub meet_asked_ms: Option<i64>,
    pub invite_lead: bool,
    pub invitation_sent: bool,
    /// The next Google write of the appointment may email the lead (the user said so).
    pub notify_pending: bool,
    pub lead_response: Option<LeadResponse>,
    /// Guests Google has besides the lead and the organizer (they are emailed too by a
    /// write that emails the lead).
    pub other_guests: u32,
}

impl BookingRow {
    pub fn new(appointment_id: impl Into<String>) -> Self {
        Self {
            appointment_id: appointment_id.into(),
            ..Self::default()
        }
    }

    /// What the UI shows.
    pub fn booking(&self) -> Booking {
        Booking {
            meet: self.meet.clone(),
            invite_lead: self.invite_lead,
            invitation_sent: self.invitation_sent,
            lead_response: self.lead_response,
        }
    }
}

const COLUMNS: &str = "appointment_id, meet_wanted, meet_request_id, meet_state, meet_text, \
    meet_asked_ms, invite_lead, invitation_sent, notify_pending, lead_response, other_guests";

fn meet_columns(meet: &MeetState) -> (&'static str, Option<&str>) {
    match meet {
        MeetState::None => ("none", None),
        MeetState::Waiting { reason } => ("waiting", Some(reason)),
        MeetState::Ready { link } => ("ready", Some(link)),
        MeetState::Failed { message } => ("failed", Some(message)),
    }
}

fn meet_from(state: &str, text: Option<String>) -> MeetState {
    let text = text.unwrap_or_default();
    match state {
        "waiting" => MeetState::Waiting { reason: text },
        "ready" => MeetState::Ready { link: text },
        "failed" => MeetState::Failed { message: text },
        _ => MeetState::None,
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BookingRow> {
    let state: String = r.get(3)?;
    let response: Option<String> = r.get(9)?;
    Ok(BookingRow {
        appointment_id: r.get(0)?,
        meet_wanted: r.get(1)?,
        meet_request_id: r.get(2)?,
        meet: meet_from(&state, r.get(4)?),
        meet_asked_ms: r.get(5)?,
        invite_lead: r.get(6)?,
        invitation_sent: r.get(7)?,
        notify_pending: r.get(8)?,
        lead_response: response.as_deref().and_then(LeadResponse::from_google),
        other_guests: r.get(10)?,
    })
}

impl Store {
    /// The booking of appointment `id` (the default when nothing was asked or known).
    pub fn booking_of(&self, id: &str) -> Result<Booking> {
        self.read(|conn| Ok(self.booking_row_in(conn, id)?.booking()))
    }

    /// The stored row of `id`, or a fresh one.
    pub fn booking_row(&self, id: &str) -> Result<BookingRow> {
        self.read(|conn| self.booking_row_in(conn, id))
    }

    pub(crate) fn booking_row_in(&self, conn: &Connection, id: &str) -> Result<BookingRow> {
        Ok(self
            .find_booking_in(conn, id)?
            .unwrap_or_else(|| BookingRow::new(id)))
    }

    pub(crate) fn find_booking_in(
        &self,
        conn: &Connection,
        id: &str,
    ) -> Result<Option<BookingRow>> {
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM bookings WHERE appointment_id = ?1"
        ))
        .and_then(|mut stmt| stmt.query_row([id], read_row).optional())
        .map_err(|e| self.error("read the appointment's booking", e))
    }

    /// Saves `row` (replacing the stored one).
    pub fn save_booking(&self, row: &BookingRow) -> Result<()> {
        self.write("save the appointment's booking", |tx| {
            self.save_booking_in(tx, row)
        })
    }

    pub(crate) fn save_booking_in(&self, conn: &Connection, row: &BookingRow) -> Result<()> {
        let (state, text) = meet_columns(&row.meet);
        conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO bookings ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))
        .and_then(|mut stmt| {
            stmt.execute(params![
                row.appointment_id,
                row.meet_wanted,
                row.meet_request_id,
                state,
                text,
                row.meet_asked_ms,
                row.invite_lead,
                row.invitation_sent,
                row.notify_pending,
                row.lead_response.map(LeadResponse::as_google),
                row.other_guests,
            ])
        })
        .map_err(|e| self.error("save the appointment's booking", e))?;
        Ok(())
    }

    /// The rows with work left for Google: a Meet link not there yet, or an invitation
    /// not sent yet.
    pub(crate) fn bookings_with_work_in(&self, conn: &Connection) -> Result<Vec<BookingRow>> {
        let fail = |e| self.error("read the bookings", e);
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM bookings WHERE (meet_wanted = 1 AND meet_state != 'ready') \
                 OR (invite_lead = 1 AND invitation_sent = 0)"
            ))
            .map_err(fail)?;
        let rows = stmt
            .query_map([], read_row)
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        Ok(rows)
    }

    /// Forgets the booking of a deleted appointment.
    pub(crate) fn delete_booking_in(&self, tx: &Transaction<'_>, id: &str) -> Result<()> {
        tx.prepare_cached("DELETE FROM bookings WHERE appointment_id = ?1")
            .and_then(|mut stmt| stmt.execute([id]))
            .map_err(|e| self.error("remove the appointment's booking", e))?;
        Ok(())
    }

    /// The last busy answer cached for `(calendar, day, timezone)`: when Google answered
    /// (RFC 3339) and the JSON of its blocks.
    pub fn cached_busy(
        &self,
        calendar_id: &str,
        day: &str,
        timezone: &str,
    ) -> Result<Option<(String, String)>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT fetched_at, busy FROM busy_cache \
                 WHERE calendar_id = ?1 AND day = ?2 AND timezone = ?3",
            )
            .and_then(|mut stmt| {
                stmt.query_row([calendar_id, day, timezone], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.error("read the cached busy times", e))
        })
    }

    /// The calendars with a cached answer for `(day, timezone)`.
    pub fn cached_busy_calendars(&self, day: &str, timezone: &str) -> Result<Vec<String>> {
        self.read(|conn| {
            let fail = |e| self.error("read the cached busy times", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT calendar_id FROM busy_cache WHERE day = ?1 AND timezone = ?2 \
                     ORDER BY calendar_id",
                )
                .map_err(fail)?;
            let ids = stmt
                .query_map([day, timezone], |r| r.get(0))
                .map_err(fail)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(fail)?;
            Ok(ids)
        })
    }

    /// Forgets every cached busy answer (Remove Google Account: they are that account's),
    /// in the caller's transaction.
    pub(crate) fn forget_busy_cache_in(&self, tx: &rusqlite::Transaction<'_>) -> Result<()> {
        tx.execute("DELETE FROM busy_cache", [])
            .map_err(|e| self.error("forget the busy times", e))?;
        Ok(())
    }

    /// Keeps Google's latest busy answer for `(calendar, day, timezone)`.
    pub fn cache_busy(
        &self,
        calendar_id: &str,
        day: &str,
        timezone: &str,
        fetched_at: &str,
        busy_json: &str,
    ) -> Result<()> {
        self.write("cache the busy times", |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO busy_cache (calendar_id, day, timezone, fetched_at, busy) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| stmt.execute([calendar_id, day, timezone, fetched_at, busy_json]))
            .map_err(|e| self.error("cache the busy times", e))?;
            Ok(())
        })
    }
}
