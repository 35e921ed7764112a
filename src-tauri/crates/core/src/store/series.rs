//! "This appointment / This and following / All appointments": editing, cancelling and
//! deleting one occurrence of a recurring series, as Google Calendar does it. Each
//! operation is one transaction, and with `ChangeSource::User` it queues exactly the
//! outbox entries the sync engine needs to make Google's own shapes:
//!
//! - **This**: an exception row (`instance_of` = series + original start; Google's
//!   instance event `{series}_{start}` with `originalStartTime`). Editing an occurrence
//!   that already is an exception updates that row. *Cancel* makes (or marks) the
//!   exception row `Cancelled` — exactly what Google sends for an instance cancelled or
//!   deleted there, so it round-trips; the week view shows it as cancelled, like a
//!   cancelled single appointment. *Delete* adds an `EXDATE` to the series and removes an
//!   exception row of that occurrence (`exclude_instance`): the occurrence is gone from
//!   both calendars and Google keeps the line verbatim.
//! - **Following**: a split (`crate::split`). The old series gets `UNTIL` before the
//!   occurrence; a new series (a new appointment, inserted in Google as a new event)
//!   starts at it with the edits. Exceptions at or after the split move to the new
//!   series when their original start is an occurrence of it (an edit that keeps the
//!   rule and the time of day), and are dropped otherwise (what Google does with them).
//!   Cancel and delete only truncate the old series (dropping its exceptions from the
//!   split on). On the first occurrence, Following is All.
//! - **All**: the series. An edit moves the series by as many days as the chosen
//!   occurrence moved, at the occurrence's new local time of day (Google's behaviour;
//!   weekly weekdays move along); the exceptions are kept. Cancel marks the series
//!   cancelled, delete deletes it with its exceptions.
//!
//! For Following and All, an `input.recurrence` that is `None` or has the series' `RRULE`
//! lines means "the same rule" (the store splits or moves it, `EXDATE`s included); a
//! different one replaces it (for Following, it is the new series' rule verbatim). For
//! This it is ignored (an occurrence cannot repeat).

use std::str::FromStr;

use chrono_tz::Tz;
use rusqlite::{params, Transaction};

use super::appointments::{load, override_ids, set_series_lines};
use super::outbox::{enqueue, OutboxOp};
use super::{now_ms, Result, Store, StoreError};
use crate::model::{
    Appointment, AppointmentInput, OccurrenceScope, Recurrence, SeriesInstance, Status, Timing,
};
use crate::recurrence::{self, InstanceKey};
use crate::split;
use crate::validation::ChangeSource;

/// The series and the occurrence an operation names, checked.
struct Target {
    series: Appointment,
    tz: Tz,
    lines: Vec<String>,
    key: InstanceKey,
    /// The exception row standing for the occurrence, if it was moved or edited before.
    exception: Option<Appointment>,
    /// The occurrence's timing in the series (without its exception).
    instance_timing: Timing,
    first: bool,
}

impl Store {
    /// Edits one occurrence of the series `series_id` — the one whose original start is
    /// `original_start` (`Occurrence::original_start`) — for `scope`. Returns the
    /// appointment that now holds the edited occurrence: the exception row (This), the
    /// new series (Following), the series (All).
    pub fn edit_occurrence(
        &self,
        series_id: &str,
        original_start: &str,
        input: AppointmentInput,
        scope: OccurrenceScope,
        source: ChangeSource,
    ) -> Result<Appointment> {
        self.write("save the occurrence", |tx| {
            let target = self.target(tx, series_id, original_start)?;
            match scope {
                OccurrenceScope::This => self.edit_this(tx, &target, input, source),
                OccurrenceScope::Following if !target.first => {
                    self.edit_following(tx, &target, input, source)
                }
                OccurrenceScope::Following | OccurrenceScope::All => {
                    self.edit_all(tx, &target, input, source)
                }
            }
        })
    }

    /// Cancels one occurrence (This: a cancelled exception), the occurrences from it on
    /// (Following: the series ends before it) or the series (All: status cancelled).
    pub fn cancel_occurrence(
        &self,
        series_id: &str,
        original_start: &str,
        scope: OccurrenceScope,
        source: ChangeSource,
    ) -> Result<()> {
        self.write("cancel the occurrence", |tx| {
            let target = self.target(tx, series_id, original_start)?;
            match scope {
                OccurrenceScope::This => {
                    match &target.exception {
                        Some(exception) => {
                            self.set_status_in(tx, &exception.id, Status::Cancelled, source)?;
                        }
                        None => {
                            let mut input = series_input(&target.series);
                            input.timing = target.instance_timing.clone();
                            input.status = Status::Cancelled;
                            // The series' own texts (maybe Google's, longer than a
                            // user may type): stored whole, queued below.
                            let row =
                                self.insert_exception(tx, &target, input, ChangeSource::Sync)?;
                            if source == ChangeSource::User {
                                enqueue(tx, self, &row.id, OutboxOp::Upsert, now_ms())?;
                            }
                        }
                    }
                    Ok(())
                }
                OccurrenceScope::Following if !target.first => self.truncate(tx, &target, source),
                OccurrenceScope::Following | OccurrenceScope::All => self
                    .set_status_in(tx, &target.series.id, Status::Cancelled, source)
                    .map(|_| ()),
            }
        })
    }

    /// Deletes one occurrence (This: an `EXDATE`), the occurrences from it on
    /// (Following: the series ends before it) or the series with its exceptions (All).
    pub fn delete_occurrence(
        &self,
        series_id: &str,
        original_start: &str,
        scope: OccurrenceScope,
        source: ChangeSource,
    ) -> Result<()> {
        self.write("delete the occurrence", |tx| {
            let target = self.target(tx, series_id, original_start)?;
            match scope {
                OccurrenceScope::This => {
                    let now = now_ms();
                    let all_day = matches!(target.series.timing, Timing::AllDay { .. });
                    for removed in
                        override_ids(tx, self, &target.series.id, Some((target.key, all_day)))?
                    {
                        self.remove_row(tx, &removed, source, now)?;
                    }
                    super::appointments::add_exdate(
                        tx,
                        self,
                        &target.series,
                        target.key,
                        source,
                        now,
                    )?;
                    Ok(())
                }
                OccurrenceScope::Following if !target.first => self.truncate(tx, &target, source),
                OccurrenceScope::Following | OccurrenceScope::All => {
                    self.delete_in(tx, &target.series.id, source).map(|_| ())
                }
            }
        })
    }

    /// The occurrence of `series_id` at `original_start` as it stands: its exception row,
    /// else the series with the occurrence's timing (what an edit of it starts from).
    pub fn occurrence_appointment(
        &self,
        series_id: &str,
        original_start: &str,
    ) -> Result<Appointment> {
        self.write("read the occurrence", |tx| {
            let target = self.target(tx, series_id, original_start)?;
            Ok(match target.exception {
                Some(exception) => exception,
                None => Appointment {
                    timing: target.instance_timing,
                    ..target.series
                },
            })
        })
    }

    fn target(
        &self,
        tx: &Transaction<'_>,
        series_id: &str,
        original_start: &str,
    ) -> Result<Target> {
        let series = load(tx, self, series_id)?.ok_or_else(|| StoreError::NotFound {
            id: series_id.to_string(),
        })?;
        if let Some(instance) = &series.instance_of {
            return Err(StoreError::Validation {
                field: "series",
                message: format!(
                    "\"{}\" is one occurrence of a repeating appointment; name its series \
                     ({}) and the occurrence's original start instead.",
                    series.title, instance.series_id
                ),
            });
        }
        let Some(recurrence) = series.recurrence.clone() else {
            return Err(StoreError::Validation {
                field: "series",
                message: format!(
                    "\"{}\" does not repeat, so it has no occurrences; change the appointment itself.",
                    series.title
                ),
            });
        };
        let all_day = matches!(series.timing, Timing::AllDay { .. });
        let key = recurrence::parse_original_start(original_start, all_day).ok_or_else(|| {
            let expected = if all_day {
                "a date (YYYY-MM-DD)"
            } else {
                "a date and time with offset (RFC 3339)"
            };
            StoreError::Validation {
                field: "original start",
                message: format!(
                    "The occurrence \"{original_start}\" should be {expected}, as the list shows it."
                ),
            }
        })?;
        let tz = Tz::from_str(&series.timezone).map_err(|_| StoreError::Validation {
            field: "time zone",
            message: format!("\"{}\" is not a time zone Bookline knows.", series.timezone),
        })?;
        let exception = match override_ids(tx, self, &series.id, Some((key, all_day)))?.first() {
            Some(id) => load(tx, self, id)?,
            None => None,
        };
        if exception.is_none() {
            let is = recurrence::is_instance(&series.timing, tz, &recurrence.lines, key).map_err(
                |reason| StoreError::Validation {
                    field: "repeat rule",
                    message: format!(
                        "Bookline cannot work with the occurrences of \"{}\": {reason}.",
                        series.title
                    ),
                },
            )?;
            if !is {
                return Err(StoreError::Validation {
                    field: "original start",
                    message: format!(
                        "\"{}\" has no occurrence starting {original_start}.",
                        series.title
                    ),
                });
            }
        }
        Ok(Target {
            instance_timing: recurrence::instance_timing(&series.timing, tz, key),
            first: key == recurrence::first_key(&series.timing),
            lines: recurrence.lines,
            series,
            tz,
            key,
            exception,
        })
    }

    fn edit_this(
        &self,
        tx: &Transaction<'_>,
        target: &Target,
        mut input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        input.recurrence = None;
        match &target.exception {
            Some(exception) => self.update_in(tx, &exception.id, input, source),
            None => self.insert_exception(tx, target, input, source),
        }
    }

    fn insert_exception(
        &self,
        tx: &Transaction<'_>,
        target: &Target,
        input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        let instance_of = SeriesInstance {
            series_id: target.series.id.clone(),
            original_start: recurrence::key_string(target.key),
        };
        self.insert_in(
            tx,
            input,
            target.series.origin,
            source,
            Some(instance_of),
            None,
        )
    }

    fn edit_all(
        &self,
        tx: &Transaction<'_>,
        target: &Target,
        mut input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        // Where the occurrence was before this edit: its exception's time, else its time
        // in the series.
        let before = target
            .exception
            .as_ref()
            .map_or(&target.instance_timing, |e| &e.timing);
        let occurrence_timing = input.timing.clone();
        let days = split::day_shift(before, &occurrence_timing, target.tz);
        let unchanged_time = *before == occurrence_timing;
        let same_rule = input
            .recurrence
            .as_ref()
            .is_none_or(|r| split::same_rule(&r.lines, &target.lines));
        if let Some(exception) = &target.exception {
            let mut own = input.clone();
            own.recurrence = None;
            self.update_in(tx, &exception.id, own, source)?;
        }
        if unchanged_time {
            input.timing = target.series.timing.clone();
        } else {
            input.timing = split::shift_series_timing(
                &target.series.timing,
                before,
                &occurrence_timing,
                target.tz,
            )
            .ok_or_else(|| StoreError::Validation {
                field: "start",
                message: "That time does not exist on the series' first day (a DST change); \
                          choose another time."
                    .into(),
            })?;
        }
        if same_rule {
            input.recurrence = Some(Recurrence {
                lines: split::shift_weekdays(&target.lines, days),
            });
        }
        self.update_in(tx, &target.series.id, input, source)
    }

    fn edit_following(
        &self,
        tx: &Transaction<'_>,
        target: &Target,
        mut input: AppointmentInput,
        source: ChangeSource,
    ) -> Result<Appointment> {
        let cut = split::split_lines(&target.series.timing, target.tz, &target.lines, target.key)
            .map_err(|reason| StoreError::Validation {
            field: "repeat rule",
            message: format!(
                "\"{}\" cannot be split at that occurrence: {reason}.",
                target.series.title
            ),
        })?;
        let same_rule = input
            .recurrence
            .as_ref()
            .is_none_or(|r| split::same_rule(&r.lines, &target.lines));
        if same_rule {
            let days = split::day_shift(&cut.new_timing, &input.timing, target.tz);
            input.recurrence = Some(Recurrence {
                lines: split::shift_weekdays(&cut.new_lines, days),
            });
        }
        let now = now_ms();
        set_series_lines(tx, self, &target.series, cut.old_lines, source, now)?;
        let new_series = self.insert_in(tx, input, target.series.origin, source, None, None)?;
        // The exceptions from the split on: to the new series when they are still one of
        // its occurrences, else dropped (as Google drops them).
        let new_tz = Tz::from_str(&new_series.timezone).unwrap_or(target.tz);
        let new_lines = new_series
            .recurrence
            .as_ref()
            .map(|r| r.lines.clone())
            .unwrap_or_default();
        for exception in self.exceptions_from(tx, target)? {
            let Some(instance) = &exception.instance_of else {
                continue;
            };
            self.remove_row(tx, &exception.id, source, now)?;
            let new_all_day = matches!(new_series.timing, Timing::AllDay { .. });
            let Some(key) = recurrence::parse_original_start(&instance.original_start, new_all_day)
            else {
                continue;
            };
            if key == target.key {
                // The split occurrence itself is the new series' first one.
                continue;
            }
            let keeps = recurrence::is_instance(&new_series.timing, new_tz, &new_lines, key)
                .unwrap_or(false);
            if keeps {
                let moved = AppointmentInput {
                    title: exception.title.clone(),
                    timing: exception.timing.clone(),
                    timezone: exception.timezone.clone(),
                    location: exception.location.clone(),
                    notes: exception.notes.clone(),
                    lead: exception.lead.clone(),
                    status: exception.status,
                    recurrence: None,
                };
                let instance_of = SeriesInstance {
                    series_id: new_series.id.clone(),
                    original_start: instance.original_start.clone(),
                };
                // Its fields were valid when stored; keep them whole (as sync would).
                self.insert_in(
                    tx,
                    moved,
                    exception.origin,
                    ChangeSource::Sync,
                    Some(instance_of),
                    None,
                )
                .and_then(|row| {
                    if source == ChangeSource::User {
                        enqueue(tx, self, &row.id, OutboxOp::Upsert, now)?;
                    }
                    Ok(row)
                })?;
            }
        }
        load(tx, self, &new_series.id)?.ok_or_else(|| StoreError::NotFound {
            id: new_series.id.clone(),
        })
    }

    /// Cancel/delete "this and following": the series ends before the occurrence; its
    /// exceptions from there on are dropped.
    fn truncate(&self, tx: &Transaction<'_>, target: &Target, source: ChangeSource) -> Result<()> {
        let cut = split::split_lines(&target.series.timing, target.tz, &target.lines, target.key)
            .map_err(|reason| StoreError::Validation {
            field: "repeat rule",
            message: format!(
                "\"{}\" cannot be ended at that occurrence: {reason}.",
                target.series.title
            ),
        })?;
        let now = now_ms();
        set_series_lines(tx, self, &target.series, cut.old_lines, source, now)?;
        for exception in self.exceptions_from(tx, target)? {
            self.remove_row(tx, &exception.id, source, now)?;
        }
        Ok(())
    }

    /// The series' exception rows whose original start is at or after the target's.
    fn exceptions_from(&self, tx: &Transaction<'_>, target: &Target) -> Result<Vec<Appointment>> {
        let all_day = matches!(target.series.timing, Timing::AllDay { .. });
        let mut out = Vec::new();
        for id in override_ids(tx, self, &target.series.id, None)? {
            let Some(row) = load(tx, self, &id)? else {
                continue;
            };
            let at_or_after = row
                .instance_of
                .as_ref()
                .and_then(|i| recurrence::parse_original_start(&i.original_start, all_day))
                .is_some_and(|k| k >= target.key);
            if at_or_after {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Deletes one row (an exception) without touching its series; queues its `delete`.
    fn remove_row(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        source: ChangeSource,
        now: i64,
    ) -> Result<()> {
        tx.execute("DELETE FROM appointments WHERE id = ?1", params![id])
            .map_err(|e| self.error("remove the occurrence", e))?;
        if source == ChangeSource::User {
            enqueue(tx, self, id, OutboxOp::Delete, now)?;
        }
        Ok(())
    }
}

/// The series' own fields as an input (for a cancelled exception of an occurrence).
fn series_input(series: &Appointment) -> AppointmentInput {
    AppointmentInput {
        title: series.title.clone(),
        timing: series.timing.clone(),
        timezone: series.timezone.clone(),
        location: series.location.clone(),
        notes: series.notes.clone(),
        lead: series.lead.clone(),
        status: series.status,
        recurrence: None,
    }
}
