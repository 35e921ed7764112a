//! Changing the synced Google calendar (Calendar Sync Settings → another calendar).
//!
//! A change is a decision with its consequences shown: `preview_calendar_change` counts
//! the linked events that live outside the new calendar and says, in two sentences, what
//! each choice does; `apply_calendar_change` carries the choice out.
//!
//! - `MoveEvents`: the events Bookline created are moved to the new calendar with
//!   `events.move` (`sendUpdates=none`; a series moves with its exceptions) and their
//!   links follow, one small transaction per event right after Google answered, so a
//!   change stopped midway (crash, cancel, network) is finished by running it again. An
//!   event Google no longer finds in its old calendar but that is already in the new one
//!   (an earlier run moved it, the answer was lost) is recognised by reading the new
//!   calendar. Events that came from Google stay in the calendar they were made in, linked
//!   there.
//! - `KeepWhereTheyAre`: nothing moves; every link keeps naming its calendar.
//!
//! Either way the engine writes each linked appointment to the calendar its link names,
//! and new appointments to the new calendar; it reads changes only from the new calendar,
//! so edits made in Google to events left in another calendar no longer come back (the
//! preview says so).
//!
//! `primary` and the primary calendar's id (the account's email) are one calendar: both
//! sides are resolved through `calendarList.get`, links saved under `primary` are renamed
//! to the real id, and a switch between the two names changes nothing else. The caller
//! saves the settings with `CalendarChangeReport::calendar_id` (the resolved id), so the
//! engine, the links and the sync tokens all use one name.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::error::AppError;
use crate::google::{CalendarClient, Event, GoogleError};
use crate::store::{Store, StoreError, GOOGLE_ACCOUNT_SETTING};
use crate::sync::activity::{self, ActivityKind, NewActivity};
use crate::sync::decide::Side;
use crate::sync::engine::{SyncEngine, SyncError};
use crate::sync::links::{self, PlacedLink};
use crate::sync::writer::Writer;

/// Google's name for the user's main calendar.
pub const PRIMARY: &str = "primary";

/// What to do with the linked events that are not in the new calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CalendarChangeChoice {
    /// Move the events Bookline created to the new calendar (`events.move`).
    MoveEvents,
    /// Leave every event where it is, still linked there.
    KeepWhereTheyAre,
}

/// What a calendar change would touch, for the dialog (or the CLI) to show first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CalendarChangePreview {
    pub from: String,
    pub to: String,
    /// `from` and `to` name one calendar (`primary` and its id): nothing to decide.
    pub same_calendar: bool,
    /// Linked events outside the new calendar.
    pub linked_events: usize,
    /// Of those, the ones Bookline created: `MoveEvents` moves them.
    pub bookline_events: usize,
    /// Of those, events that came from Google: they stay in their calendar either way.
    pub google_origin_events: usize,
    /// Whether the user has to choose (`linked_events > 0` and not the same calendar).
    pub needs_choice: bool,
    /// What `MoveEvents` does, in the user's words.
    pub move_sentence: String,
    /// What `KeepWhereTheyAre` does, in the user's words.
    pub keep_sentence: String,
}

impl CalendarChangePreview {
    /// The question a front asks when `needs_choice`: how many linked events are where,
    /// and the two answers in the front's own words (buttons, or command-line flags):
    /// `move_words` is followed by "Bookline's N to <calendar>", `keep_words` ends it.
    pub fn question(&self, move_words: &str, keep_words: &str) -> String {
        format!(
            "{} linked event(s) are in {} ({} made in Bookline, {} from Google): {move_words} \
             Bookline's {} to {} or {keep_words}",
            self.linked_events,
            self.from,
            self.bookline_events,
            self.google_origin_events,
            self.bookline_events,
            self.to
        )
    }
}

/// What `apply_calendar_change` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarChangeReport {
    /// The new calendar's real id (`primary` resolved): save this in the settings.
    pub calendar_id: String,
    pub same_calendar: bool,
    /// Events moved to the new calendar (a series counts once).
    pub moved: usize,
    /// Linked events left where they are (and still synced there).
    pub kept: usize,
    /// Links renamed from `primary` to the real id.
    pub renamed_links: usize,
    /// One sentence per event that could not be moved (it stays linked where it is).
    pub errors: Vec<String>,
}

/// Why a calendar change stopped.
#[derive(Debug, thiserror::Error)]
pub enum CalendarChangeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Bookline could not ask Google about the calendar: {0}")]
    Google(GoogleError),
    /// The grant is gone, or the user cancelled: what was moved is recorded, run it
    /// again to finish.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<CalendarChangeError> for AppError {
    fn from(e: CalendarChangeError) -> Self {
        match e {
            CalendarChangeError::Store(e) => e.into(),
            CalendarChangeError::Google(e) => {
                let app = AppError::from(e);
                AppError::new(
                    app.code,
                    format!(
                        "Bookline could not ask Google about the calendar: {}",
                        app.message
                    ),
                )
            }
            CalendarChangeError::Sync(e) => e.into(),
        }
    }
}

/// Whether two calendar ids name one calendar, as far as the store knows: equal, or
/// `primary` and the connected account's email (the primary calendar's id).
pub fn same_calendar(store: &Store, a: &str, b: &str) -> Result<bool, StoreError> {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return Ok(true);
    }
    if a != PRIMARY && b != PRIMARY {
        return Ok(false);
    }
    let email: Option<String> = store.get_setting(GOOGLE_ACCOUNT_SETTING)?;
    let other = if a == PRIMARY { b } else { a };
    Ok(email.is_some_and(|e| e.eq_ignore_ascii_case(other)))
}

/// Links outside `to` (also not under `to`'s other name).
fn outside(store: &Store, to: &str) -> Result<Vec<PlacedLink>, StoreError> {
    let placed = store.read(|c| links::placed_outside(store, c, to))?;
    let mut out = Vec::with_capacity(placed.len());
    for l in placed {
        if !same_calendar(store, &l.calendar_id, to)? {
            out.push(l);
        }
    }
    Ok(out)
}

/// An instance id (`{series}_{start}`) whose series is linked in the same calendar: it
/// moves with its series.
fn moves_with_series(l: &PlacedLink, all: &[PlacedLink]) -> bool {
    l.event_id.rsplit_once('_').is_some_and(|(series, _)| {
        all.iter()
            .any(|s| s.event_id == series && s.calendar_id == l.calendar_id)
    })
}

/// What changing the synced calendar from `from` to `to` would touch. Reads only the
/// store: `primary` and the account's email are taken as one calendar.
pub fn preview_calendar_change(
    store: &Store,
    from: &str,
    to: &str,
) -> Result<CalendarChangePreview, StoreError> {
    let (from, to) = (from.trim(), to.trim());
    let same = same_calendar(store, from, to)?;
    let placed = if same {
        Vec::new()
    } else {
        outside(store, to)?
    };
    let counted: Vec<&PlacedLink> = placed
        .iter()
        .filter(|l| !moves_with_series(l, &placed))
        .collect();
    let bookline = counted.iter().filter(|l| l.bookline_origin).count();
    let google = counted.len() - bookline;
    let n = counted.len();
    let events = |n: usize| {
        if n == 1 {
            "1 event".to_owned()
        } else {
            format!("{n} events")
        }
    };
    let move_sentence = if google == 0 {
        format!(
            "Move: Bookline moves its {} from {from} to {to} (no one is emailed) and keeps \
             syncing them there.",
            events(bookline)
        )
    } else {
        format!(
            "Move: Bookline moves its {} from {from} to {to} (no one is emailed); the {} that \
             came from Google stay in {from}, still linked: edits made in Bookline still reach \
             them, but changes made in Google to them won't come back to Bookline.",
            events(bookline),
            events(google)
        )
    };
    let keep_sentence = format!(
        "Keep: the {} stay in {from}, still linked: edits made in Bookline still reach them \
         there and new appointments go to {to}, but changes made in Google to these {n} \
         events in {from} won't come back to Bookline.",
        events(n)
    );
    Ok(CalendarChangePreview {
        from: from.to_owned(),
        to: to.to_owned(),
        same_calendar: same,
        linked_events: n,
        bookline_events: bookline,
        google_origin_events: google,
        needs_choice: !same && n > 0,
        move_sentence,
        keep_sentence,
    })
}

/// The real id of a calendar: `primary` resolved through `calendarList.get`.
pub async fn resolve_calendar_id(
    client: &CalendarClient,
    calendar_id: &str,
) -> Result<String, GoogleError> {
    let id = calendar_id.trim();
    if id != PRIMARY {
        return Ok(id.to_owned());
    }
    Ok(client.get_calendar_list_entry(PRIMARY).await?.id)
}

/// Carries out a change of the synced calendar from `from` to `to` (see the module
/// docs). Paced by the engine's rate limiter and retried like a sync pass; `cancel`
/// stops between two events. Save the settings with the report's `calendar_id` after it
/// returns `Ok`.
pub async fn apply_calendar_change(
    store: &Store,
    client: &CalendarClient,
    engine: &SyncEngine,
    from: &str,
    to: &str,
    choice: CalendarChangeChoice,
    cancel: &CancellationToken,
) -> Result<CalendarChangeReport, CalendarChangeError> {
    let writer = engine.writer(client, PRIMARY, cancel);
    let primary = match writer
        .retried(|| client.get_calendar_list_entry(PRIMARY))
        .await?
    {
        Ok(entry) => entry.id,
        Err(e) => return Err(CalendarChangeError::Google(e)),
    };
    let real = |id: &str| {
        let id = id.trim();
        if id == PRIMARY {
            primary.clone()
        } else {
            id.to_owned()
        }
    };
    let (from, to) = (real(from), real(to));
    let renamed = store.write("use one name for the primary calendar", |tx| {
        links::rename_calendar(store, tx, PRIMARY, &primary)
    })?;
    let mut report = CalendarChangeReport {
        calendar_id: to.clone(),
        same_calendar: from == to,
        renamed_links: renamed,
        ..Default::default()
    };
    if report.same_calendar {
        return Ok(report);
    }
    let placed = store.read(|c| links::placed_outside(store, c, &to))?;
    for l in placed.iter().filter(|l| !moves_with_series(l, &placed)) {
        if choice == CalendarChangeChoice::KeepWhereTheyAre || !l.bookline_origin {
            report.kept += 1;
            continue;
        }
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled.into());
        }
        match move_one(&writer, client, l, &to).await? {
            Ok(event) => {
                store.write("record a moved event", |tx| {
                    links::move_event_links(
                        store,
                        tx,
                        &l.calendar_id,
                        &l.event_id,
                        &to,
                        event.etag.as_deref(),
                    )?;
                    activity::append(
                        store,
                        tx,
                        &NewActivity::new(
                            ActivityKind::Info,
                            Some(Side::Google),
                            format!("Moved an event from {} to {to}", l.calendar_id),
                        )
                        .event(Some(&l.event_id)),
                    )?;
                    Ok(())
                })?;
                report.moved += 1;
            }
            Err(message) => {
                report.kept += 1;
                report.errors.push(message);
            }
        }
    }
    if !report.errors.is_empty() {
        let log: Vec<NewActivity> = report
            .errors
            .iter()
            .map(|m| NewActivity::new(ActivityKind::Error, Some(Side::Google), m.clone()))
            .collect();
        activity::append_all(store, &log)?;
    }
    Ok(report)
}

/// Moves one event; `Ok(Err(sentence))` when Google refuses (the event stays linked where
/// it is).
async fn move_one(
    w: &Writer<'_>,
    client: &CalendarClient,
    l: &PlacedLink,
    to: &str,
) -> Result<Result<Event, String>, SyncError> {
    let moved = w
        .retried(|| client.move_event(&l.calendar_id, &l.event_id, to))
        .await?;
    let e = match moved {
        Ok(event) => return Ok(Ok(event)),
        Err(e) => e,
    };
    if e.is_not_found() || e.is_gone() {
        // Already moved by an earlier run whose answer was lost?
        if let Ok(event) = w.retried(|| client.get_event(to, &l.event_id)).await? {
            if !event.is_cancelled() {
                return Ok(Ok(event));
            }
        }
        return Ok(Err(format!(
            "The event {} is no longer in {}; its appointment stays linked there",
            l.event_id, l.calendar_id
        )));
    }
    Ok(Err(format!(
        "Google did not move the event {} to {to}: {}",
        l.event_id,
        AppError::from(e).message
    )))
}
