//! The desktop window: builds the Tauri app, puts the store in managed state and
//! registers the IPC commands.

use std::path::PathBuf;
use std::time::Instant;

use bookline_core::app::{App, AppOptions};
use bookline_core::demo::DemoConsent;
use bookline_core::error::AppError;
use bookline_core::runtime::SyncRuntimeHandle;
use bookline_core::store::Store;
use tauri::webview::PageLoadEvent;

use crate::commands;

/// How the window's process was started.
pub struct GuiOptions {
    pub data_dir: PathBuf,
    /// `--google-base-url` / `BOOKLINE_GOOGLE_BASE_URL`.
    pub google_base_url: Option<String>,
    /// `bookline demo`: the built-in Google emulator with demo data, consent in the
    /// system browser.
    pub demo: bool,
}

/// Everything the IPC commands reach: the core context and the background sync loop.
pub struct AppState {
    app: App,
    runtime: SyncRuntimeHandle,
}

impl AppState {
    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn runtime(&self) -> &SyncRuntimeHandle {
        &self.runtime
    }

    /// The store is `Sync` (one connection behind its own lock); commands share it.
    pub fn store(&self) -> Result<&Store, AppError> {
        Ok(self.app.store())
    }
}

/// Opens the main window (declared in tauri.conf.json) and runs until it is closed.
/// `started` is when the process began, for the start-up time in the log (the benchmark
/// reads it from there).
pub fn run(options: GuiOptions, started: Instant) -> anyhow::Result<()> {
    tracing::info!(demo = options.demo, "starting the window");
    // Built on Tauri's own tokio runtime, which outlives the window: the demo emulator
    // and the sync loop run on it.
    let state = tauri::async_runtime::block_on(async {
        let mut app_options = AppOptions::new(options.data_dir);
        app_options.google_base_url = options.google_base_url;
        app_options.demo = options.demo.then_some(DemoConsent::Browser);
        let app = App::open(app_options).await?;
        let runtime = app.spawn_runtime()?;
        Ok::<_, AppError>(AppState { app, runtime })
    })?;
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
        .run(tauri::generate_context!())?;
    Ok(())
}
