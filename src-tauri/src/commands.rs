//! The IPC surface of the window (routed by name in `ipc`). Each command is a one-line
//! delegation to the core; errors reach the UI as `{code, message}` (`AppError`'s
//! serialized form).
//!
//! Commands that change an appointment tell the sync loop (`crm_changed`), which sends
//! the change to Google after a short debounce.
//!
//! Commands are `async` so Tauri runs them on its runtime instead of the main (GUI)
//! thread: a slow disk must not freeze the window.

use std::time::Duration;

use bookline_core::account::{AppStatus, CalendarChoice, DisconnectReport};
use bookline_core::busy::BusyTimes;
use bookline_core::diagnostics::AboutInfo;
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::model::{
    Appointment, AppointmentId, AppointmentInput, AppointmentPage, BookingRequest, ListQuery,
    Occurrence, OccurrenceScope, Status,
};
use bookline_core::store::{ChangeSource, StoreError};
use bookline_core::sync::activity::{self, ActivityEntry};
use bookline_core::sync::backfill::{
    self, BackfillPreview, BackfillProgress, BackfillRequest, TransferItem,
};
use bookline_core::sync::calendar_change::{CalendarChangeChoice, CalendarChangePreview};
use bookline_core::sync::decide::Direction;
use bookline_core::sync::held::{HeldChoice, HeldDeletes};
use bookline_core::sync::settings::{self, SyncSettings};
use bookline_core::sync::SyncReport;
use chrono::{DateTime, NaiveDate, Utc};
use tauri::{AppHandle, Manager, State};
use tokio_util::sync::CancellationToken;

use crate::gui::AppState;
use crate::window_process::WindowLink;
use crate::{browser, events};

type Cmd<T> = Result<T, AppError>;

pub async fn list_appointments(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Cmd<AppointmentPage> {
    state
        .store()?
        .list_appointments(&query, Utc::now())
        .map_err(report)
}

/// The window's list has painted its first page: logged with the time since the window
/// was asked for (the reopen time `scripts/tray-bench.sh` reads), and how many
/// appointments the list holds.
pub async fn list_shown(app: AppHandle, total: u64) -> Cmd<()> {
    tracing::info!(
        "list shown after {} ms ({total} appointments)",
        app.state::<WindowLink>().since_asked().as_millis()
    );
    Ok(())
}

pub async fn week_occurrences(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> Cmd<Vec<Occurrence>> {
    state
        .store()?
        .occurrences(instant(&from, "from")?, instant(&to, "to")?)
        .map_err(report)
}

pub async fn get_appointment(state: State<'_, AppState>, id: AppointmentId) -> Cmd<Appointment> {
    state
        .store()?
        .get_appointment(&id)
        .map_err(report)?
        .ok_or_else(|| not_found(id))
}

/// Adds an appointment with what the user asked of its booking (a Meet link, inviting
/// the lead); the core refuses an invitation without a valid lead email before saving.
pub async fn create_appointment(
    state: State<'_, AppState>,
    input: AppointmentInput,
    booking: BookingRequest,
) -> Cmd<Appointment> {
    state
        .app()
        .create_appointment(input, booking)
        .inspect(|_| state.runtime().crm_changed())
}

/// Saves an edit; `booking.notify_lead` is the user's Yes to "Notify the lead about this
/// change?" (the only edit Google may email the lead about).
pub async fn update_appointment(
    state: State<'_, AppState>,
    id: AppointmentId,
    input: AppointmentInput,
    booking: BookingRequest,
) -> Cmd<Appointment> {
    state
        .app()
        .update_appointment(&id, input, booking)
        .inspect(|_| state.runtime().crm_changed())
}

/// The sentence the dialog shows before saving: what Google will email to whom if this
/// is saved (`null`: nobody). `id` is the edited appointment (null when adding), so an
/// invited lead is not told of a second invitation.
pub async fn invitation_notice(
    state: State<'_, AppState>,
    input: AppointmentInput,
    booking: BookingRequest,
    id: Option<AppointmentId>,
) -> Cmd<Option<String>> {
    state
        .app()
        .invitation_notice_for(id.as_deref(), &input, &booking)
}

/// The user's Google busy blocks on local `day` (`YYYY-MM-DD` in `timezone`), for the
/// dialog's busy times and overlap warning; the edited appointment's own event is left out.
pub async fn busy_times(
    state: State<'_, AppState>,
    day: String,
    timezone: String,
    other_calendars: bool,
    exclude_appointment: Option<AppointmentId>,
) -> Cmd<BusyTimes> {
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| {
        AppError::new(
            ErrorCode::Validation,
            format!("`day` must be a date (YYYY-MM-DD), got {day:?}."),
        )
    })?;
    state
        .app()
        .busy_times(day, timezone, other_calendars, exclude_appointment)
        .await
}

pub async fn set_appointment_status(
    state: State<'_, AppState>,
    id: AppointmentId,
    status: Status,
) -> Cmd<Appointment> {
    state
        .store()?
        .set_status(&id, status, ChangeSource::User)
        .map_err(report)
        .inspect(|_| state.runtime().crm_changed())
}

pub async fn delete_appointment(state: State<'_, AppState>, id: AppointmentId) -> Cmd<()> {
    state
        .store()?
        .delete_appointment(&id, ChangeSource::User)
        .map_err(report)
        .inspect(|_| state.runtime().crm_changed())
}

/// Edits one occurrence of a recurring series ("This appointment / This and following /
/// All appointments"); returns the exception row, the new series or the series.
pub async fn edit_occurrence(
    state: State<'_, AppState>,
    series_id: AppointmentId,
    original_start: String,
    input: AppointmentInput,
    scope: OccurrenceScope,
) -> Cmd<Appointment> {
    state
        .store()?
        .edit_occurrence(
            &series_id,
            &original_start,
            input,
            scope,
            ChangeSource::User,
        )
        .map_err(report)
        .inspect(|_| state.runtime().crm_changed())
}

pub async fn cancel_occurrence(
    state: State<'_, AppState>,
    series_id: AppointmentId,
    original_start: String,
    scope: OccurrenceScope,
) -> Cmd<()> {
    state
        .store()?
        .cancel_occurrence(&series_id, &original_start, scope, ChangeSource::User)
        .map_err(report)
        .inspect(|_| state.runtime().crm_changed())
}

pub async fn delete_occurrence(
    state: State<'_, AppState>,
    series_id: AppointmentId,
    original_start: String,
    scope: OccurrenceScope,
) -> Cmd<()> {
    state
        .store()?
        .delete_occurrence(&series_id, &original_start, scope, ChangeSource::User)
        .map_err(report)
        .inspect(|_| state.runtime().crm_changed())
}

pub async fn app_status(state: State<'_, AppState>) -> Cmd<AppStatus> {
    state.app().status()
}

/// What this OS calls the place of the status icon ("tray"; "menu bar" on macOS), for
/// the UI's sentences.
pub async fn tray_word() -> Cmd<&'static str> {
    Ok(bookline_core::platform::tray_word(
        bookline_core::platform::Os::current(),
    ))
}

/// **Join** on a Google Meet link (list and dialog): opened in the user's browser by the
/// shell, since the window has no opener permission. Only Google's own Meet links are
/// opened, so a link that came from an event in Google can't make Bookline open anything
/// else.
pub async fn open_meet_link(app: AppHandle, link: String) -> Cmd<()> {
    let url = meet_url(&link)?;
    browser::open(&app, &url).map_err(|message| AppError::new(ErrorCode::Internal, message))
}

/// `link` as a URL when it is `https://meet.google.com/…` (no credentials, no other port).
fn meet_url(link: &str) -> Result<url::Url, AppError> {
    let refused = || {
        AppError::new(
            ErrorCode::Validation,
            format!(
                "Bookline opens only Google Meet links (https://meet.google.com/…), not {link:?}."
            ),
        )
    };
    let url = url::Url::parse(link.trim()).map_err(|_| refused())?;
    let is_meet = url.scheme() == "https"
        && url.host_str() == Some("meet.google.com")
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if is_meet {
        Ok(url)
    } else {
        Err(refused())
    }
}

/// The week view sends its window as RFC 3339 instants (with the user's offset).
fn instant(value: &str, field: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::new(
                ErrorCode::Validation,
                format!("`{field}` must be an RFC 3339 date-time, got {value:?}."),
            )
        })
}

/// Converts a core error into what the user sees, logging the technical cause chain
/// (SQLite's own message, file paths) that the sentence leaves out.
pub fn report<E>(error: E) -> AppError
where
    E: std::error::Error + Into<AppError>,
{
    let mut chain = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        chain.push_str(": ");
        chain.push_str(&inner.to_string());
        cause = inner.source();
    }
    let shown = error.into();
    if matches!(shown.code, ErrorCode::Validation | ErrorCode::NotFound) {
        tracing::info!(code = ?shown.code, "refused: {chain}");
    } else {
        tracing::warn!(code = ?shown.code, "failed: {chain}");
    }
    shown
}

pub fn not_found(id: AppointmentId) -> AppError {
    report(StoreError::NotFound { id })
}

// ---- Google: connect, remove, settings, sync, backfill, activity ----------------------

/// How long Connect With Google waits for the browser to come back.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub async fn connect_google(app: AppHandle, state: State<'_, AppState>) -> Cmd<AppStatus> {
    let cancel = state.begin_connect();
    let emitter = app.clone();
    let result = state
        .app()
        .connect(
            |url| browser::open(&app, url),
            move |url| events::connect_waiting(&emitter, url),
            CONNECT_TIMEOUT,
            cancel,
        )
        .await;
    state.end_connect();
    let status = result?;
    events::status_changed(&app);
    Ok(status)
}

/// The About dialog: version, data folder, log file.
pub async fn about(state: State<'_, AppState>) -> Cmd<AboutInfo> {
    Ok(state.app().about(env!("CARGO_PKG_VERSION")))
}

/// **Copy diagnostics**: the text `bookline diagnostics` prints.
pub async fn diagnostics(state: State<'_, AppState>) -> Cmd<String> {
    state.app().diagnostics(env!("CARGO_PKG_VERSION"))
}

/// **Use my own Google client…**: the text of the JSON file the user chose in the window
/// (read there, so no file dialog plugin and no file system access for the webview).
pub async fn use_google_client(
    app: AppHandle,
    state: State<'_, AppState>,
    json: String,
) -> Cmd<AppStatus> {
    let status = state.app().use_google_client_file(&json)?;
    events::status_changed(&app);
    Ok(status)
}

pub async fn cancel_connect(state: State<'_, AppState>) -> Cmd<()> {
    state.cancel_connect();
    Ok(())
}

pub async fn disconnect_google(
    app: AppHandle,
    state: State<'_, AppState>,
    keep_imported: bool,
) -> Cmd<DisconnectReport> {
    let report = state.app().disconnect(keep_imported).await?;
    events::status_changed(&app);
    events::appointments_changed(&app);
    Ok(report)
}

pub async fn list_calendars(state: State<'_, AppState>) -> Cmd<Vec<CalendarChoice>> {
    state.app().list_calendars().await
}

pub async fn get_sync_settings(state: State<'_, AppState>) -> Cmd<SyncSettings> {
    settings::load(state.store()?).map_err(report)
}

pub async fn save_sync_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: SyncSettings,
    calendar_choice: Option<CalendarChangeChoice>,
) -> Cmd<SyncSettings> {
    let change = state
        .app()
        .save_settings(settings, calendar_choice)
        .await
        .map_err(report)?;
    // The login item is the desktop's, not the core's.
    crate::gui::apply_start_at_login(&app, change.saved.start_at_login)?;
    events::status_changed(&app);
    Ok(change.saved)
}

/// What changing the synced calendar would do with the linked events (the settings
/// dialog asks "move or keep" when `needs_choice`).
pub async fn calendar_change_preview(
    state: State<'_, AppState>,
    to: String,
) -> Cmd<CalendarChangePreview> {
    state.app().calendar_change_preview(&to)
}

pub async fn sync_now(state: State<'_, AppState>) -> Cmd<SyncReport> {
    state.runtime().sync_now().await
}

pub async fn held_deletes(state: State<'_, AppState>) -> Cmd<HeldDeletes> {
    state.app().held_deletes()
}

/// Delete them / Keep them for the held mass delete.
pub async fn resolve_held_deletes(
    app: AppHandle,
    state: State<'_, AppState>,
    choice: HeldChoice,
) -> Cmd<SyncReport> {
    let decided = state
        .app()
        .resolve_held_deletes(choice, &CancellationToken::new(), |_| {})
        .await;
    events::status_changed(&app);
    events::appointments_changed(&app);
    decided
}

pub async fn pause_sync(state: State<'_, AppState>) -> Cmd<AppStatus> {
    state.runtime().pause().await?;
    state.app().status()
}

pub async fn resume_sync(state: State<'_, AppState>) -> Cmd<AppStatus> {
    state.runtime().resume().await?;
    state.app().status()
}

pub async fn backfill_preview(
    state: State<'_, AppState>,
    direction: Direction,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Cmd<BackfillPreview> {
    let request = BackfillRequest {
        direction,
        since,
        until,
    };
    state
        .app()
        .transfer_preview(&request, &CancellationToken::new())
        .await
        .map_err(report)
}

/// Starts (or resumes, when an earlier job is unfinished) the transfer on Tauri's runtime
/// and returns at once: progress arrives as `backfill-progress` events, and the task goes
/// on while the window is hidden to the tray.
pub async fn backfill_start(
    app: AppHandle,
    state: State<'_, AppState>,
    direction: Direction,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Cmd<()> {
    let request = BackfillRequest {
        direction,
        since,
        until,
    };
    // Claimed here, so the dialog hears "not connected" or "already running" at once
    // instead of as a failed progress event.
    let ticket = state.app().begin_transfer(CancellationToken::new())?;
    tauri::async_runtime::spawn(crate::gui::run_backfill(app, ticket, request));
    Ok(())
}

pub async fn backfill_cancel(state: State<'_, AppState>) -> Cmd<()> {
    state.app().cancel_transfer();
    Ok(())
}

pub async fn backfill_status(state: State<'_, AppState>) -> Cmd<Option<BackfillProgress>> {
    state.app().transfer_progress().map_err(report)
}

pub async fn activity_log(
    state: State<'_, AppState>,
    limit: u32,
    before_id: Option<i64>,
) -> Cmd<Vec<ActivityEntry>> {
    activity::list(state.store()?, limit.clamp(1, 500), before_id).map_err(report)
}

/// The items of a transfer, opened from its entry in Sync activity, a page at a time.
pub async fn transfer_items(
    state: State<'_, AppState>,
    transfer_id: i64,
    after_seq: Option<i64>,
) -> Cmd<Vec<TransferItem>> {
    backfill::transfer_items(
        state.store()?,
        transfer_id,
        after_seq,
        backfill::TRANSFER_ITEMS_PAGE,
    )
    .map_err(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_google_meet_links_are_opened() {
        let ok = meet_url("https://meet.google.com/abc-defg-hij").expect("a Meet link");
        assert_eq!(ok.as_str(), "https://meet.google.com/abc-defg-hij");
        assert!(meet_url(" https://meet.google.com/abc-defg-hij?authuser=1 ").is_ok());
        for bad in [
            "http://meet.google.com/abc-defg-hij",
            "https://meet.google.com.evil.example/abc",
            "https://evil.example/?https://meet.google.com/abc",
            "https://user:pw@meet.google.com/abc",
            "https://meet.google.com:8443/abc",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "",
        ] {
            let refused = meet_url(bad).expect_err(bad);
            assert_eq!(refused.code, ErrorCode::Validation, "{bad}");
            assert!(
                refused.message.contains("only Google Meet links"),
                "{refused:?}"
            );
        }
    }
}
