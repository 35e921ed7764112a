//! Concrete occurrences in a time window: single appointments plus the instances of
//! recurring series, with cancelled instances (EXDATE) removed and moved/edited instances
//! (rows whose `series_id` points at the series) replacing the instance they stand for.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::params;

use super::appointments::{RawRow, COLUMNS};
use super::{Result, Store};
use crate::model::{Appointment, Occurrence, Timing};
use crate::recurrence::{self, InstanceKey};

/// A series whose rule Bookline cannot expand: it is kept verbatim and shown by its
/// first occurrence only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnexpandedSeries {
    pub series_id: String,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OccurrenceReport {
    /// Sorted by start.
    pub occurrences: Vec<Occurrence>,
    pub unexpanded: Vec<UnexpandedSeries>,
}

/// The week view's window `[?1, ?2)` in milliseconds: single appointments in it (one
/// that ends at its start only when it has no length), series that may have occurrences
/// in it, and every exception of those series. Named so the query plan test holds them
/// to an index.
pub(super) const WINDOW_SINGLES: &str =
    "WHERE recurrence IS NULL AND start_ms < ?2 AND span_end_ms >= ?1";
pub(super) const WINDOW_SERIES: &str =
    "WHERE recurrence IS NOT NULL AND start_ms < ?2 AND span_end_ms > ?1";
pub(super) const WINDOW_EXCEPTIONS: &str =
    "SELECT e.series_id, e.original_start FROM appointments e \
     JOIN appointments s ON s.id = e.series_id \
     WHERE s.recurrence IS NOT NULL AND s.start_ms < ?2 AND s.span_end_ms > ?1";

impl Store {
    /// Occurrences overlapping `[from, to)`, sorted by start. Series whose rule cannot
    /// be expanded contribute their first occurrence and are logged as warnings; use
    /// [`Store::occurrences_with_report`] to show them to the user.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Occurrence>> {
        let report = self.occurrences_with_report(from, to)?;
        for series in &report.unexpanded {
            tracing::warn!(
                series_id = %series.series_id,
                title = %series.title,
                reason = %series.reason,
                "repeat rule could not be expanded; showing its first occurrence only"
            );
        }
        Ok(report.occurrences)
    }

    pub fn occurrences_with_report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<OccurrenceReport> {
        if to <= from {
            return Ok(OccurrenceReport::default());
        }
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let (singles, series, exceptions) = self.read(|conn| {
            let fail = |e| self.error("read the calendar", e);
            let singles = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM appointments {WINDOW_SINGLES}"
                ))
                .and_then(|mut s| {
                    s.query_map(params![from_ms, to_ms], RawRow::read)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(fail)?;
            let series = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM appointments {WINDOW_SERIES}"
                ))
                .and_then(|mut s| {
                    s.query_map(params![from_ms, to_ms], RawRow::read)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(fail)?;
            // Every exception of those series, wherever it was moved to: an instance
            // moved out of the window must disappear from it too.
            let exceptions = conn
                .prepare_cached(WINDOW_EXCEPTIONS)
                .and_then(|mut s| {
                    s.query_map(params![from_ms, to_ms], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(fail)?;
            Ok((singles, series, exceptions))
        })?;

        let mut report = OccurrenceReport::default();
        for raw in singles {
            // `>=` above lets a zero-length appointment (from Google) at `from` itself
            // in; one that merely ends at `from` is not in `[from, to)`.
            if raw.end_ms() == from_ms && raw.start_ms() < from_ms {
                continue;
            }
            let a = raw.into_appointment()?;
            let series_id = a.instance_of.as_ref().map(|i| i.series_id.clone());
            let original_start = a.instance_of.as_ref().map(|i| i.original_start.clone());
            report.occurrences.push(occurrence(
                &a,
                a.id.clone(),
                series_id,
                a.timing.clone(),
                original_start,
            ));
        }

        let mut moved: HashMap<String, Vec<String>> = HashMap::new();
        for (series_id, original_start) in exceptions {
            moved.entry(series_id).or_default().push(original_start);
        }
        for raw in series {
            let a = raw.into_appointment()?;
            self.expand_series(&a, from, to, &moved, &mut report);
        }
        // The week view shows each occurrence's Meet link and the lead's answer (an
        // occurrence of a series has its series' booking).
        self.read(|conn| {
            let mut known: HashMap<String, crate::model::Booking> = HashMap::new();
            for o in &mut report.occurrences {
                if !known.contains_key(&o.appointment_id) {
                    let booking = self.booking_row_in(conn, &o.appointment_id)?.booking();
                    known.insert(o.appointment_id.clone(), booking);
                }
                if let Some(booking) = known.get(&o.appointment_id) {
                    o.meet_link = booking.meet.link().map(str::to_owned);
                    o.lead_response = booking.lead_response;
                }
            }
            Ok(())
        })?;
        report.occurrences.sort_by(|x, y| {
            start_of(x)
                .cmp(&start_of(y))
                .then_with(|| x.appointment_id.cmp(&y.appointment_id))
        });
        Ok(report)
    }

    fn expand_series(
        &self,
        series: &Appointment,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        moved: &HashMap<String, Vec<String>>,
        report: &mut OccurrenceReport,
    ) {
        let all_day = matches!(series.timing, Timing::AllDay { .. });
        let replaced: HashSet<InstanceKey> = moved
            .get(&series.id)
            .into_iter()
            .flatten()
            .filter_map(|s| recurrence::parse_original_start(s, all_day))
            .collect();
        let lines = series
            .recurrence
            .as_ref()
            .map(|r| r.lines.as_slice())
            .unwrap_or_default();
        let expanded = Tz::from_str(&series.timezone)
            .map_err(|_| format!("unknown time zone \"{}\"", series.timezone))
            .and_then(|tz| {
                recurrence::expand(&series.timing, tz, lines, from, to).map(|v| (tz, v))
            });
        match expanded {
            Ok((_, instances)) => {
                for instance in instances {
                    if replaced.contains(&instance.key) {
                        continue;
                    }
                    report.occurrences.push(occurrence(
                        series,
                        series.id.clone(),
                        Some(series.id.clone()),
                        instance.timing,
                        Some(recurrence::key_string(instance.key)),
                    ));
                }
            }
            Err(reason) => {
                let tz = Tz::from_str(&series.timezone).unwrap_or(chrono_tz::UTC);
                let (start, end) = recurrence::timing_bounds(&series.timing, tz);
                if start < to && end > from {
                    report.occurrences.push(occurrence(
                        series,
                        series.id.clone(),
                        Some(series.id.clone()),
                        series.timing.clone(),
                        Some(recurrence::key_string(recurrence::first_key(
                            &series.timing,
                        ))),
                    ));
                }
                report.unexpanded.push(UnexpandedSeries {
                    series_id: series.id.clone(),
                    title: series.title.clone(),
                    reason,
                });
            }
        }
    }
}

fn occurrence(
    a: &Appointment,
    appointment_id: String,
    series_id: Option<String>,
    timing: Timing,
    original_start: Option<String>,
) -> Occurrence {
    Occurrence {
        appointment_id,
        series_id,
        original_start,
        title: a.title.clone(),
        timing,
        timezone: a.timezone.clone(),
        status: a.status,
        origin: a.origin,
        meet_link: None,
        lead_response: None,
    }
}

fn start_of(o: &Occurrence) -> DateTime<Utc> {
    let tz = Tz::from_str(&o.timezone).unwrap_or(chrono_tz::UTC);
    recurrence::timing_bounds(&o.timing, tz).0
}
