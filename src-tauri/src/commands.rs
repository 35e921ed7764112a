//! The IPC surface of the window. Each command is a one-line delegation to the core
//! store; errors reach the UI as `{code, message}` (`AppError`'s serialized form).
//!
//! Commands are `async` so Tauri runs them on its runtime instead of the main (GUI)
//! thread: a slow disk must not freeze the window.

use bookline_core::account::AppStatus;
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::model::{
    Appointment, AppointmentId, AppointmentInput, AppointmentPage, ListQuery, Occurrence, Origin,
    Status,
};
use bookline_core::store::{ChangeSource, StoreError};
use chrono::{DateTime, Utc};
use tauri::State;

use crate::gui::AppState;

type Cmd<T> = Result<T, AppError>;

#[tauri::command]
pub async fn list_appointments(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Cmd<AppointmentPage> {
    state
        .store()?
        .list_appointments(&query, Utc::now())
        .map_err(report)
}

#[tauri::command]
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

#[tauri::command]
pub async fn get_appointment(state: State<'_, AppState>, id: AppointmentId) -> Cmd<Appointment> {
    state
        .store()?
        .get_appointment(&id)
        .map_err(report)?
        .ok_or_else(|| not_found(id))
}

#[tauri::command]
pub async fn create_appointment(
    state: State<'_, AppState>,
    input: AppointmentInput,
) -> Cmd<Appointment> {
    state
        .store()?
        .create_appointment(input, Origin::Crm, ChangeSource::User)
        .map_err(report)
}

#[tauri::command]
pub async fn update_appointment(
    state: State<'_, AppState>,
    id: AppointmentId,
    input: AppointmentInput,
) -> Cmd<Appointment> {
    state
        .store()?
        .update_appointment(&id, input, ChangeSource::User)
        .map_err(report)
}

#[tauri::command]
pub async fn set_appointment_status(
    state: State<'_, AppState>,
    id: AppointmentId,
    status: Status,
) -> Cmd<Appointment> {
    state
        .store()?
        .set_status(&id, status, ChangeSource::User)
        .map_err(report)
}

#[tauri::command]
pub async fn delete_appointment(state: State<'_, AppState>, id: AppointmentId) -> Cmd<()> {
    state
        .store()?
        .delete_appointment(&id, ChangeSource::User)
        .map_err(report)
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Cmd<AppStatus> {
    state.app().account().status()
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
