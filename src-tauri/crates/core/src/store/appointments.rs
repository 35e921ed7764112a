//! Appointment rows: create, update, status, delete, get, and the paged list.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::outbox::{enqueue, OutboxOp};
use super::{from_ms, now_ms};
use super::{Result, Store, StoreError};
use crate::model::{
    Appointment, AppointmentInput, AppointmentPage, AppointmentRow, Lead, ListQuery, Origin,
    Period, Recurrence, SeriesInstance, Status, SyncState, Timing,
};
use crate::recurrence::{self, InstanceKey};
use crate::split;
use crate::validation::{validate_appointment, validate_edit, ChangeSource, ValidationError};

/// The largest page the list returns; the UI asks for windows of rows as it scrolls.
pub const MAX_PAGE: u32 = 500;

pub(super) const COLUMNS: &str = "id, title, all_day, start_ms, end_ms, start_date, end_date, \
    timezone, location, notes, lead_name, lead_email, lead_phone, status, origin, recurrence, \
    series_id, original_start, created_at_ms, updated_at_ms";

/// Every column the store writes for one appointment, derived from validated input.
struct RowValues {
    title: String,
    all_day: bool,
    start_ms: i64,
    end_ms: i64,
    start_date: Option<String>,
    end_date: Option<String>,
    span_end_ms: i64,
    recurrence_json: Option<String>,
}

impl Store {
    /// Validates and stores a new appointment with a fresh UUID v7 id. With
    /// `ChangeSource::User` the same transaction queues an `upsert` for the sync engine.
    pub fn create_appointment(
        &self,
        input: AppointmentInput,
        origin: Origin,
        source: ChangeSource,
    ) -> Result<Appointment> {
        self.insert(input, origin, source, None)
    }

    /// Stores a moved or edited instance of a recurring series: it replaces the series'
    /// instance at `instance_of.original_start` in `occurrences` (Google's exception
    /// event). The series must exist and repeat; the instance itself cannot repeat.
    pub fn create_instance_override(
        &self,
        instance_of: SeriesInstance,
        input: AppointmentInput,
        origin: Origin,
        source: ChangeSource,
    ) -> Result<Appointment> {
        self.insert(input, origin, source, Some(instance_of))
    }

    fn insert(
        &self,
        input: AppointmentInput,
        origin: Origin,
        source: ChangeSource,
        instance_of: Option<SeriesInstance>,
    ) -> Result<Appointment> {
        self.write("save the appointment", |tx| {
            self.insert_in(tx, input, origin, source, instance_of, None)
        })
    }

    /// `create_appointment` inside the caller's transaction, so the sync engine can store
    /// a page of Google events and their links atomically. `id`: reuse this id (a
    /// Bookline event re-imported after a reinstall); `None` makes a fresh UUID v7.
    pub(crate) fn insert_in(
        &self,
        tx: &Transaction<'_>,
        input: AppointmentInput,
        origin: Origin,
        source: ChangeSource,
        instance_of: Option<SeriesInstance>,
        id: Option<String>,
    ) -> Result<Appointment> {
        validate_appointment(&input, source)?;
        if instance_of.is_some() && input.recurrence.is_some() {
            return Err(ValidationError::new(
                "repeat rule",
                "A single instance of a repeating appointment cannot repeat on its own.",
            )
            .into());
        }
        let input = normalize(input);
        let values = row_values(&input, source == ChangeSource::Sync)?;
        let now = now_ms();
        let id = id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        {
            if let Some(instance) = &instance_of {
                check_series(tx, self, instance)?;
            }
            // Cached: a backfill inserts thousands of rows in one transaction, and
            // compiling this INSERT (with its search-index trigger) costs more than running it.
            tx.prepare_cached(
                "INSERT INTO appointments (id, title, all_day, start_ms, end_ms, start_date, \
                 end_date, span_end_ms, timezone, location, notes, lead_name, lead_email, \
                 lead_phone, status, origin, recurrence, series_id, original_start, \
                 created_at_ms, updated_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20, ?20)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    values.title,
                    values.all_day,
                    values.start_ms,
                    values.end_ms,
                    values.start_date,
                    values.end_date,
                    values.span_end_ms,
                    input.timezone,
                    input.location,
                    input.notes,
                    input.lead.name,
                    input.lead.email,
                    input.lead.phone,
                    status_str(input.status),
                    origin_str(origin),
                    values.recurrence_json,
                    instance_of.as_ref().map(|i| i.series_id.as_str()),
                    instance_of.as_ref().map(|i| i.original_start.as_str()),
                    now,
                ])
            })
            .map_err(|e| self.error("save the appointment", e))?;
            if source == ChangeSource::User {
                enqueue(tx, self, &id, OutboxOp::Upsert, now)?;
            }
        }
        let stamp = from_ms(now)?;
        Ok(Appointment {
            id,
            title: values.title,
            timing: input.timing,
            timezone: input.timezone,
            location: input.location,
            notes: input.notes,
            lead: input.lead,
            status: input.status,
            origin,
            recurrence: input.recurrence,
            instance_of,
            created_at: stamp,
            updated_at: stamp,
        })
    }

    /// Replaces every user-editable field of appointment `id`; origin, id, series link
    /// and creation time stay.
    pub fn update_appointment(
        &self,
        id: &str,
        input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        self.write("save the appointment", |tx| {
            self.update_in(tx, id, input, source)
        })
    }

    /// `update_appointment` inside the caller's transaction.
    pub(crate) fn update_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        let existing = load(tx, self, id)?.ok_or_else(|| not_found(id))?;
        validate_edit(&input, &existing, source)?;
        let input = normalize(move_deleted_occurrences(input, &existing, source));
        let values = row_values(&input, source == ChangeSource::Sync)?;
        let now = now_ms();
        {
            if existing.instance_of.is_some() && input.recurrence.is_some() {
                return Err(ValidationError::new(
                    "repeat rule",
                    "A single instance of a repeating appointment cannot repeat on its own.",
                )
                .into());
            }
            tx.execute(
                "UPDATE appointments SET title = ?2, all_day = ?3, start_ms = ?4, end_ms = ?5, \
                 start_date = ?6, end_date = ?7, span_end_ms = ?8, timezone = ?9, location = ?10, \
                 notes = ?11, lead_name = ?12, lead_email = ?13, lead_phone = ?14, status = ?15, \
                 recurrence = ?16, updated_at_ms = ?17 WHERE id = ?1",
                params![
                    id,
                    values.title,
                    values.all_day,
                    values.start_ms,
                    values.end_ms,
                    values.start_date,
                    values.end_date,
                    values.span_end_ms,
                    input.timezone,
                    input.location,
                    input.notes,
                    input.lead.name,
                    input.lead.email,
                    input.lead.phone,
                    status_str(input.status),
                    values.recurrence_json,
                    now,
                ],
            )
            .map_err(|e| self.error("save the appointment", e))?;
            if source == ChangeSource::User {
                enqueue(tx, self, id, OutboxOp::Upsert, now)?;
            }
            load(tx, self, id)?.ok_or_else(|| not_found(id))
        }
    }

    /// Books, cancels or marks done. Cancelling keeps the appointment (and tells Google).
    pub fn set_status(
        &self,
        id: &str,
        status: Status,
        source: ChangeSource,
    ) -> Result<Appointment> {
        self.write("change the appointment's status", |tx| {
            self.set_status_in(tx, id, status, source)
        })
    }

    /// `set_status` inside the caller's transaction.
    pub(crate) fn set_status_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        status: Status,
        source: ChangeSource,
    ) -> Result<Appointment> {
        let now = now_ms();
        {
            let changed = tx
                .execute(
                    "UPDATE appointments SET status = ?2, updated_at_ms = ?3 WHERE id = ?1",
                    params![id, status_str(status), now],
                )
                .map_err(|e| self.error("change the appointment's status", e))?;
            if changed == 0 {
                return Err(not_found(id));
            }
            if source == ChangeSource::User {
                enqueue(tx, self, id, OutboxOp::Upsert, now)?;
            }
            load(tx, self, id)?.ok_or_else(|| not_found(id))
        }
    }

    /// Deletes appointment `id`; for a series also its moved instances (as Google does).
    /// When the user deletes a moved instance, that instance leaves its series for good:
    /// the series gains an `EXDATE` for it, or the instance would reappear at its
    /// original time. With `ChangeSource::User` a `delete` is queued for each removed row
    /// (and an `upsert` for a series that gained an `EXDATE`). A `Sync` delete removes
    /// rows only.
    pub fn delete_appointment(&self, id: &str, source: ChangeSource) -> Result<()> {
        self.write("delete the appointment", |tx| {
            self.delete_in(tx, id, source).map(|_| ())
        })
    }

    /// `delete_appointment` inside the caller's transaction; returns the ids removed
    /// (the appointment first, then its moved instances).
    pub(crate) fn delete_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        source: ChangeSource,
    ) -> Result<Vec<String>> {
        let now = now_ms();
        {
            let row = load(tx, self, id)?.ok_or_else(|| not_found(id))?;
            let mut ids = override_ids(tx, self, id, None)?;
            tx.execute("DELETE FROM appointments WHERE id = ?1", [id])
                .map_err(|e| self.error("delete the appointment", e))?;
            ids.insert(0, id.to_string());
            for removed in &ids {
                self.delete_booking_in(tx, removed)?;
            }
            if source == ChangeSource::User {
                for removed in &ids {
                    enqueue(tx, self, removed, OutboxOp::Delete, now)?;
                }
            }
            // Only for the user: the sync engine mirrors Google's own shape (a cancelled
            // instance is a row with status Cancelled) and keeps Google's lines verbatim.
            let user_instance = row
                .instance_of
                .as_ref()
                .filter(|_| source == ChangeSource::User);
            if let Some(instance) = user_instance {
                if let Some(series) = load(tx, self, &instance.series_id)? {
                    let all_day = matches!(series.timing, Timing::AllDay { .. });
                    if let Some(key) =
                        recurrence::parse_original_start(&instance.original_start, all_day)
                    {
                        add_exdate(tx, self, &series, key, source, now)?;
                    }
                }
            }
            Ok(ids)
        }
    }

    /// Removes one instance of a recurring series (the week view's "delete this
    /// occurrence"): the series gains an `EXDATE` for `original_start` (RFC 3339 for
    /// timed series, `YYYY-MM-DD` for all-day ones) and a moved copy of that instance, if
    /// any, is deleted. Returns the updated series.
    pub fn exclude_instance(
        &self,
        series_id: &str,
        original_start: &str,
        source: ChangeSource,
    ) -> Result<Appointment> {
        let now = now_ms();
        self.write("remove the occurrence", |tx| {
            let series = load(tx, self, series_id)?.ok_or_else(|| not_found(series_id))?;
            if series.recurrence.is_none() {
                return Err(StoreError::Validation {
                    field: "series",
                    message: format!("\"{}\" does not repeat; delete it instead.", series.title),
                });
            }
            let all_day = matches!(series.timing, Timing::AllDay { .. });
            let key = recurrence::parse_original_start(original_start, all_day)
                .ok_or_else(|| bad_original_start(original_start, all_day))?;
            for removed in override_ids(tx, self, series_id, Some((key, all_day)))? {
                tx.execute("DELETE FROM appointments WHERE id = ?1", [&removed])
                    .map_err(|e| self.error("remove the occurrence", e))?;
                if source == ChangeSource::User {
                    enqueue(tx, self, &removed, OutboxOp::Delete, now)?;
                }
            }
            add_exdate(tx, self, &series, key, source, now)
        })
    }

    pub fn get_appointment(&self, id: &str) -> Result<Option<Appointment>> {
        self.read(|conn| load(conn, self, id))
    }

    /// `get_appointment` on the caller's connection or transaction.
    pub(crate) fn get_in(
        &self,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<Appointment>> {
        load(conn, self, id)
    }

    /// The Google event an unlinked appointment was linked to when the account was
    /// Deletes every appointment that came from Google, without outbox entries (Remove
    /// Google Account: not a user's delete to send; the events stay in Google). Returns
    /// how many.
    pub(crate) fn delete_google_origin_in(&self, tx: &Transaction<'_>) -> Result<usize> {
        tx.execute("DELETE FROM appointments WHERE origin = 'google'", [])
            .map_err(|e| self.error("remove the appointments that came from Google", e))
    }

    /// Whether any appointment remembers the event it was linked to before the account
    /// was removed (`source_event_id_in`).
    pub(crate) fn remembers_events_in(&self, conn: &Connection) -> Result<bool> {
        conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM appointments WHERE source_event_id IS NOT NULL)",
        )
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| self.error("read the appointments", e))
    }

    /// Appointments that are not occurrence rows of a series.
    pub(crate) fn series_count_in(&self, tx: &Transaction<'_>) -> Result<u64> {
        tx.query_row(
            "SELECT COUNT(*) FROM appointments WHERE series_id IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(|e| self.error("count the appointments", e))
    }

    /// removed (Remove Google Account keeps it; a reconnect re-links by it).
    pub(crate) fn source_event_id_in(
        &self,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<String>> {
        conn.prepare_cached(
            "SELECT source_event_id FROM appointments WHERE id = ?1 \
             AND source_event_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM links WHERE links.appointment_id = ?1)",
        )
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
        .map_err(|e| self.error("read the appointment", e))
    }

    /// `source_event_id_in` of every unlinked appointment that has one, by appointment id.
    pub(crate) fn source_event_ids_in(
        &self,
        conn: &rusqlite::Connection,
    ) -> Result<std::collections::HashMap<String, String>> {
        let fail = |e| self.error("read the appointments", e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, source_event_id FROM appointments a \
                 WHERE source_event_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM links l WHERE l.appointment_id = a.id)",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(fail)?;
        Ok(rows)
    }

    /// The unlinked appointment whose `source_event_id_in` is `event_id`.
    pub(crate) fn by_source_event_in(
        &self,
        conn: &rusqlite::Connection,
        event_id: &str,
    ) -> Result<Option<Appointment>> {
        let id: Option<String> = conn
            .prepare_cached(BY_SOURCE_EVENT)
            .and_then(|mut stmt| stmt.query_row([event_id], |r| r.get(0)).optional())
            .map_err(|e| self.error("read the appointment", e))?;
        match id {
            Some(id) => load(conn, self, &id),
            None => Ok(None),
        }
    }

    /// Forgets the remembered event of an appointment linked again.
    pub(crate) fn clear_source_event_in(
        &self,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<()> {
        conn.prepare_cached(
            "UPDATE appointments SET source_event_id = NULL \
             WHERE id = ?1 AND source_event_id IS NOT NULL",
        )
        .and_then(|mut stmt| stmt.execute([id]))
        .map_err(|e| self.error("save the appointment", e))?;
        Ok(())
    }

    /// How many appointments are stored (series count once).
    pub fn appointment_count(&self) -> Result<u64> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM appointments", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| self.error("count appointments", e))
        })
    }

    /// One page of the list. Upcoming: not yet ended (a series until its last instance
    /// ends), soonest first. Past: ended, most recent first. All: by start. `limit` is
    /// clamped to 500; `total` counts every matching row.
    pub fn list_appointments(
        &self,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<AppointmentPage> {
        let (count_sql, page_sql, args) = list_statements(query, now.timestamp_millis());
        let limit = query.limit.min(MAX_PAGE);
        self.read(|conn| {
            let total: i64 = conn
                .prepare_cached(&count_sql)
                .and_then(|mut stmt| {
                    stmt.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                })
                .map_err(|e| self.error("list appointments", e))?;
            let mut page_args = args.clone();
            page_args.push(Value::Integer(i64::from(limit)));
            page_args.push(Value::Integer(i64::from(query.offset)));
            let mut stmt = conn
                .prepare_cached(&page_sql)
                .map_err(|e| self.error("list appointments", e))?;
            let raws = stmt
                .query_map(rusqlite::params_from_iter(page_args.iter()), RawRow::read)
                .map_err(|e| self.error("list appointments", e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.error("list appointments", e))?;
            let connected = conn
                .query_row(
                    "SELECT 1 FROM settings WHERE key = ?1",
                    [super::GOOGLE_ACCOUNT_SETTING],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.error("list appointments", e))?
                .is_some();
            let rows = raws
                .into_iter()
                .map(|raw| {
                    let appointment = raw.into_appointment()?;
                    let (sync_state, google_event_id) = if connected {
                        row_sync_state(conn, self, &appointment.id)?
                    } else {
                        (SyncState::NotConnected, None)
                    };
                    let booking = self.booking_row_in(conn, &appointment.id)?.booking();
                    Ok(AppointmentRow {
                        appointment,
                        sync_state,
                        google_event_id,
                        booking,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(AppointmentPage {
                rows,
                total: u32::try_from(total).unwrap_or(u32::MAX),
            })
        })
    }
}

impl Store {
    /// How one appointment stands with Google, as `list_appointments` reports it for
    /// each row (`NotConnected` when no account is connected); for the CLI's single-item
    /// and occurrence output.
    pub fn sync_state_of(&self, id: &str) -> Result<(SyncState, Option<String>)> {
        self.read(|conn| {
            let connected = conn
                .query_row(
                    "SELECT 1 FROM settings WHERE key = ?1",
                    [super::GOOGLE_ACCOUNT_SETTING],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.error("read the sync state", e))?
                .is_some();
            if connected {
                row_sync_state(conn, self, id)
            } else {
                Ok((SyncState::NotConnected, None))
            }
        })
    }
}

/// The list's statements for `query`: the count of every matching row, and one page of
/// them in the period's order (its two parameters after `args` are LIMIT and OFFSET).
/// Apart so the query plan test holds the very SQL the list runs to an index.
pub(super) fn list_statements(query: &ListQuery, now_ms: i64) -> (String, String, Vec<Value>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let order = match query.period {
        Period::Upcoming => {
            args.push(Value::Integer(now_ms));
            conditions.push(format!("span_end_ms > ?{}", args.len()));
            "start_ms ASC, id ASC"
        }
        Period::Past => {
            args.push(Value::Integer(now_ms));
            conditions.push(format!("span_end_ms <= ?{}", args.len()));
            "start_ms DESC, id DESC"
        }
        Period::All => "start_ms ASC, id ASC",
    };
    if let Some(status) = query.status {
        args.push(Value::Text(status_str(status).into()));
        conditions.push(format!("status = ?{}", args.len()));
    }
    if let Some(origin) = query.origin {
        args.push(Value::Text(origin_str(origin).into()));
        conditions.push(format!("origin = ?{}", args.len()));
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        conditions.push(search_condition(search, &mut args));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let count = format!("SELECT COUNT(*) FROM appointments {filter}");
    let page = format!(
        "SELECT {COLUMNS} FROM appointments {filter} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
        args.len() + 1,
        args.len() + 2
    );
    (count, page, args)
}

/// The unlinked appointment that remembers event ?1 (reconnecting re-links it by id).
pub(super) const BY_SOURCE_EVENT: &str = "SELECT id FROM appointments a \
     WHERE source_event_id = ?1 \
     AND NOT EXISTS (SELECT 1 FROM links l WHERE l.appointment_id = a.id) ORDER BY id LIMIT 1";

/// The moved and cancelled instances of series ?1.
pub(super) const OVERRIDES_OF_SERIES: &str =
    "SELECT id, original_start FROM appointments WHERE series_id = ?1";

/// How one row stands with Google: an outbox entry waiting (its last error, if the last
/// attempt failed), else its link (with the link's last error), else not synced.
fn row_sync_state(
    conn: &rusqlite::Connection,
    store: &Store,
    id: &str,
) -> Result<(SyncState, Option<String>)> {
    let fail = |e| store.error("read the sync state", e);
    let link: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT event_id, last_error FROM links WHERE appointment_id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(fail)?;
    // The newest entry's error is the one that matters: older ones were coalesced into it.
    let queued: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT last_error FROM outbox WHERE appointment_id = ?1 ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
        .map_err(fail)?;
    let event_id = link.as_ref().map(|(e, _)| e.clone());
    let state = match (queued, link) {
        (Some(Some(message)), _) => SyncState::Error { message },
        (Some(None), _) => SyncState::Pending,
        (None, Some((_, Some(message)))) => SyncState::Error { message },
        (None, Some((_, None))) => SyncState::Synced,
        (None, None) => SyncState::NotSynced,
    };
    Ok((state, event_id))
}

/// Title, lead name, email or phone contains `search`, ignoring case. Three characters
/// or more use the trigram index; shorter ones (which trigrams cannot index) scan with
/// LIKE, which folds ASCII case only.
fn search_condition(search: &str, args: &mut Vec<Value>) -> String {
    if search.chars().count() >= 3 {
        args.push(Value::Text(format!("\"{}\"", search.replace('"', "\"\""))));
        format!(
            "row_key IN (SELECT rowid FROM appointment_search WHERE appointment_search MATCH ?{})",
            args.len()
        )
    } else {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(Value::Text(format!("%{escaped}%")));
        let n = args.len();
        format!(
            "(title LIKE ?{n} ESCAPE '\\' OR lead_name LIKE ?{n} ESCAPE '\\' \
             OR lead_email LIKE ?{n} ESCAPE '\\' OR lead_phone LIKE ?{n} ESCAPE '\\')"
        )
    }
}

/// Ids of the moved instances of `series_id` (those standing for `only`, if given).
pub(super) fn override_ids(
    tx: &Transaction<'_>,
    store: &Store,
    series_id: &str,
    only: Option<(InstanceKey, bool)>,
) -> Result<Vec<String>> {
    let fail = |e| store.error("read the series' instances", e);
    let mut stmt = tx.prepare_cached(OVERRIDES_OF_SERIES).map_err(fail)?;
    let rows = stmt
        .query_map([series_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    Ok(rows
        .into_iter()
        .filter(|(_, original)| match only {
            None => true,
            Some((key, all_day)) => {
                recurrence::parse_original_start(original, all_day) == Some(key)
            }
        })
        .map(|(id, _)| id)
        .collect())
}

/// Adds an `EXDATE` for `key` to the series (UTC form for timed series — unambiguous
/// even in the repeated hour of a DST change; `VALUE=DATE` for all-day ones).
pub(super) fn add_exdate(
    tx: &Transaction<'_>,
    store: &Store,
    series: &Appointment,
    key: InstanceKey,
    source: ChangeSource,
    now: i64,
) -> Result<Appointment> {
    let Some(recurrence) = &series.recurrence else {
        return Ok(series.clone());
    };
    let line = match key {
        InstanceKey::Instant(t) => format!("EXDATE:{}", t.format("%Y%m%dT%H%M%SZ")),
        InstanceKey::Date(d) => format!("EXDATE;VALUE=DATE:{}", d.format("%Y%m%d")),
    };
    let mut lines = recurrence.lines.clone();
    if !lines.contains(&line) {
        lines.push(line);
    }
    set_series_lines(tx, store, series, lines, source, now)
}

/// Replaces the series' recurrence lines (and its stored span), leaving every other
/// field as it is; with `ChangeSource::User` queues its `upsert`.
pub(super) fn set_series_lines(
    tx: &Transaction<'_>,
    store: &Store,
    series: &Appointment,
    lines: Vec<String>,
    source: ChangeSource,
    now: i64,
) -> Result<Appointment> {
    // Only the timing, zone and rule matter for the stored span.
    let input = AppointmentInput {
        title: series.title.clone(),
        timing: series.timing.clone(),
        timezone: series.timezone.clone(),
        location: String::new(),
        notes: String::new(),
        lead: Lead::default(),
        status: series.status,
        recurrence: Some(Recurrence { lines }),
    };
    // The series' own timing, already stored (a zero-length one came from Google).
    let values = row_values(&input, true)?;
    tx.execute(
        "UPDATE appointments SET recurrence = ?2, span_end_ms = ?3, updated_at_ms = ?4 \
         WHERE id = ?1",
        params![series.id, values.recurrence_json, values.span_end_ms, now],
    )
    .map_err(|e| store.error("update the series", e))?;
    if source == ChangeSource::User {
        enqueue(tx, store, &series.id, OutboxOp::Upsert, now)?;
    }
    load(tx, store, &series.id)?.ok_or_else(|| not_found(&series.id))
}

fn bad_original_start(value: &str, all_day: bool) -> StoreError {
    let expected = if all_day {
        "a date (YYYY-MM-DD)"
    } else {
        "a date and time with offset (RFC 3339)"
    };
    StoreError::Validation {
        field: "original start",
        message: format!("The original start \"{value}\" of the instance should be {expected}."),
    }
}

fn check_series(tx: &Transaction<'_>, store: &Store, instance: &SeriesInstance) -> Result<()> {
    let series = load(tx, store, &instance.series_id)?.ok_or_else(|| StoreError::Validation {
        field: "series",
        message: "The repeating appointment this instance belongs to no longer exists.".into(),
    })?;
    if series.recurrence.is_none() {
        return Err(StoreError::Validation {
            field: "series",
            message: format!(
                "\"{}\" does not repeat, so it has no instances to move.",
                series.title
            ),
        });
    }
    let series_all_day = matches!(series.timing, Timing::AllDay { .. });
    if recurrence::parse_original_start(&instance.original_start, series_all_day).is_none() {
        return Err(bad_original_start(&instance.original_start, series_all_day));
    }
    Ok(())
}

/// Trims the title and drops sub-millisecond precision, so what `create` returns equals
/// what a later `get` reads back.
fn normalize(mut input: AppointmentInput) -> AppointmentInput {
    input.title = input.title.trim().to_string();
    if let Timing::Timed { start, end } = &mut input.timing {
        *start = truncate_ms(*start);
        *end = truncate_ms(*end);
    }
    input
}

/// A user's edit that moves a whole series with its deleted occurrences (`EXDATE`s) as
/// they were: the `EXDATE`s move with the series (`split::move_exdates`), or the deleted
/// occurrences would come back at their old times beside the moved ones. `EXDATE`s the
/// user changed are theirs, and Google's writes (sync) are stored as Google sends them.
fn move_deleted_occurrences(
    mut input: AppointmentInput,
    existing: &Appointment,
    source: ChangeSource,
) -> AppointmentInput {
    let (Some(new), Some(old)) = (input.recurrence.as_mut(), existing.recurrence.as_ref()) else {
        return input;
    };
    let kept = split::exdate_lines(&new.lines);
    let moved = input.timing != existing.timing || input.timezone != existing.timezone;
    if source != ChangeSource::User
        || !moved
        || kept.is_empty()
        || kept != split::exdate_lines(&old.lines)
    {
        return input;
    }
    if let (Ok(before_tz), Ok(after_tz)) = (
        existing.timezone.parse::<Tz>(),
        input.timezone.parse::<Tz>(),
    ) {
        new.lines = split::move_exdates(
            &new.lines,
            (&existing.timing, before_tz),
            (&input.timing, after_tz),
        );
    }
    input
}

fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// `zero_length_ok`: a timed row may end when it starts (what sync writes from Google;
/// validation has already held a user's input to an end after the start).
fn row_values(input: &AppointmentInput, zero_length_ok: bool) -> Result<RowValues> {
    let tz = Tz::from_str(&input.timezone).map_err(|_| StoreError::Validation {
        field: "time zone",
        message: format!("\"{}\" is not a time zone Bookline knows.", input.timezone),
    })?;
    let (start, end) = recurrence::timing_bounds(&input.timing, tz);
    let (start_date, end_date) = match &input.timing {
        Timing::AllDay { start, end } => (Some(date_str(*start)), Some(date_str(*end))),
        Timing::Timed { .. } => (None, None),
    };
    let span_end_ms = match &input.recurrence {
        Some(r) => recurrence::series_end(&input.timing, tz, &r.lines).map_or(i64::MAX, |t| {
            t.timestamp_millis().max(end.timestamp_millis())
        }),
        None => end.timestamp_millis(),
    };
    let recurrence_json = input
        .recurrence
        .as_ref()
        .map(|r| serde_json::to_string(&r.lines))
        .transpose()
        .map_err(|e| StoreError::BadRow(format!("recurrence could not be encoded: {e}")))?;
    let timed = matches!(input.timing, Timing::Timed { .. });
    if end < start || (end == start && !(timed && zero_length_ok)) {
        // An all-day span whose midnights collapse (impossible for real zones) would
        // break the table's CHECK with a cryptic message; say it plainly instead.
        return Err(ValidationError::new("end", "The end must be after the start.").into());
    }
    Ok(RowValues {
        title: input.title.clone(),
        all_day: matches!(input.timing, Timing::AllDay { .. }),
        start_ms: start.timestamp_millis(),
        end_ms: end.timestamp_millis(),
        start_date,
        end_date,
        span_end_ms,
        recurrence_json,
    })
}

pub(super) fn load(
    conn: &rusqlite::Connection,
    store: &Store,
    id: &str,
) -> Result<Option<Appointment>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM appointments WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], RawRow::read).optional())
        .map_err(|e| store.error("read the appointment", e))?;
    raw.map(RawRow::into_appointment).transpose()
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound { id: id.to_string() }
}

fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::BadRow(format!("bad date \"{s}\"")))
}

pub(super) fn status_str(status: Status) -> &'static str {
    match status {
        Status::Booked => "booked",
        Status::Cancelled => "cancelled",
        Status::Done => "done",
    }
}

pub(super) fn origin_str(origin: Origin) -> &'static str {
    match origin {
        Origin::Crm => "crm",
        Origin::Google => "google",
    }
}

fn parse_status(s: &str) -> Result<Status> {
    match s {
        "booked" => Ok(Status::Booked),
        "cancelled" => Ok(Status::Cancelled),
        "done" => Ok(Status::Done),
        other => Err(StoreError::BadRow(format!("unknown status \"{other}\""))),
    }
}

fn parse_origin(s: &str) -> Result<Origin> {
    match s {
        "crm" => Ok(Origin::Crm),
        "google" => Ok(Origin::Google),
        other => Err(StoreError::BadRow(format!("unknown origin \"{other}\""))),
    }
}

/// A row as SQLite hands it over; converted outside the rusqlite closure so conversion
/// errors can say what is wrong.
pub(super) struct RawRow {
    id: String,
    title: String,
    all_day: bool,
    start_ms: i64,
    end_ms: i64,
    start_date: Option<String>,
    end_date: Option<String>,
    timezone: String,
    location: String,
    notes: String,
    lead_name: String,
    lead_email: String,
    lead_phone: String,
    status: String,
    origin: String,
    recurrence: Option<String>,
    series_id: Option<String>,
    original_start: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl RawRow {
    /// Reads the columns in the order of `COLUMNS`.
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            id: row.get(0)?,
            title: row.get(1)?,
            all_day: row.get(2)?,
            start_ms: row.get(3)?,
            end_ms: row.get(4)?,
            start_date: row.get(5)?,
            end_date: row.get(6)?,
            timezone: row.get(7)?,
            location: row.get(8)?,
            notes: row.get(9)?,
            lead_name: row.get(10)?,
            lead_email: row.get(11)?,
            lead_phone: row.get(12)?,
            status: row.get(13)?,
            origin: row.get(14)?,
            recurrence: row.get(15)?,
            series_id: row.get(16)?,
            original_start: row.get(17)?,
            created_at_ms: row.get(18)?,
            updated_at_ms: row.get(19)?,
        })
    }

    pub(super) fn start_ms(&self) -> i64 {
        self.start_ms
    }

    pub(super) fn end_ms(&self) -> i64 {
        self.end_ms
    }

    pub(super) fn into_appointment(self) -> Result<Appointment> {
        let timing = if self.all_day {
            match (&self.start_date, &self.end_date) {
                (Some(s), Some(e)) => Timing::AllDay {
                    start: parse_date(s)?,
                    end: parse_date(e)?,
                },
                _ => return Err(StoreError::BadRow(format!("{} lacks its dates", self.id))),
            }
        } else {
            Timing::Timed {
                start: from_ms(self.start_ms)?,
                end: from_ms(self.end_ms)?,
            }
        };
        let recurrence = self
            .recurrence
            .as_deref()
            .map(|json| {
                serde_json::from_str::<Vec<String>>(json)
                    .map(|lines| Recurrence { lines })
                    .map_err(|e| StoreError::BadRow(format!("recurrence of {}: {e}", self.id)))
            })
            .transpose()?;
        let instance_of = match (self.series_id, self.original_start) {
            (Some(series_id), Some(original_start)) => Some(SeriesInstance {
                series_id,
                original_start,
            }),
            _ => None,
        };
        Ok(Appointment {
            status: parse_status(&self.status)?,
            origin: parse_origin(&self.origin)?,
            id: self.id,
            title: self.title,
            timing,
            timezone: self.timezone,
            location: self.location,
            notes: self.notes,
            lead: Lead {
                name: self.lead_name,
                email: self.lead_email,
                phone: self.lead_phone,
            },
            recurrence,
            instance_of,
            created_at: from_ms(self.created_at_ms)?,
            updated_at: from_ms(self.updated_at_ms)?,
        })
    }
}
