//! The desktop window: builds the Tauri app, puts the store in managed state and
//! registers the IPC commands.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bookline_core::error::{AppError, ErrorCode};
use bookline_core::store::Store;
use tauri::webview::PageLoadEvent;

use crate::commands;

/// Everything the IPC commands reach. The store is behind a mutex because SQLite
/// connections are not `Sync`; each command holds it for one short query.
pub struct AppState {
    store: Mutex<Store>,
    /// Where the Google endpoints live (the emulator in tests and demo). Used by the
    /// Connect and sync issues; kept here so the GUI and the CLI agree on it.
    pub google_base_url: Option<String>,
    /// True when started by `bookline demo`.
    pub demo: bool,
}

impl AppState {
    pub fn new(store: Store, google_base_url: Option<String>, demo: bool) -> Self {
        Self {
            store: Mutex::new(store),
            google_base_url,
            demo,
        }
    }

    pub fn store(&self) -> Result<MutexGuard<'_, Store>, AppError> {
        // A panic while holding the lock left the connection in an unknown state; say so
        // instead of propagating the panic to every later command.
        self.store.lock().map_err(|_| {
            AppError::new(
                ErrorCode::Internal,
                "The database became unusable after an internal error; restart Bookline.",
            )
        })
    }
}

/// Opens the main window (declared in tauri.conf.json) and runs until it is closed.
/// `started` is when the process began, for the start-up time in the log (the benchmark
/// reads it from there).
pub fn run(state: AppState, started: Instant) -> Result<(), tauri::Error> {
    tracing::info!(demo = state.demo, "starting the window");
    tauri::Builder::default()
        .manage(state)
        .on_page_load(move |webview, payload| {
            if payload.event() == PageLoadEvent::Finished {
                tracing::info!(
                    window = webview.label(),
                    "window loaded after {} ms",
                    started.elapsed().as_millis()
                );
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_appointments,
            commands::week_occurrences,
            commands::get_appointment,
            commands::create_appointment,
            commands::update_appointment,
            commands::set_appointment_status,
            commands::delete_appointment,
            commands::app_status,
        ])
        .run(tauri::generate_context!())
}
