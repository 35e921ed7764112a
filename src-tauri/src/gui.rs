//! The desktop app: builds the Tauri app with its plugins, the tray and the window, puts
//! the core context in managed state and registers the IPC commands.
//!
//! Lifecycle: closing the window hides it to the tray (sync and a running transfer go
//! on); Quit in the tray menu stops the sync loop and exits. A second start of the app
//! with the same data dir shows the running window instead.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bookline_core::app::{App, AppOptions, TransferTicket};
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::runtime::SyncRuntimeHandle;
use bookline_core::store::Store;
use bookline_core::sync::backfill::{BackfillProgress, BackfillRequest, ProgressState};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt as _};
use tokio_util::sync::CancellationToken;

use crate::demo::google::{DemoConsent, DemoEnvironment};
use crate::events::{self, Notice, BACKFILL_PROGRESS};
use crate::{commands, tray};

/// The argument the login item starts Bookline with: straight to the tray.
pub const MINIMIZED_ARG: &str = "--minimized";
const MAIN_WINDOW: &str = "main";
/// Replaces the saved poll interval (at least 15 s) with this many milliseconds: for the
/// end-to-end tests and the idle measurement, which need many polls in little time.
pub const POLL_INTERVAL_ENV: &str = "BOOKLINE_POLL_INTERVAL_MS";
/// How long Quit waits for a cancelled transfer to save its place.
const BACKFILL_STOP_WAIT: Duration = Duration::from_secs(10);
/// How long Quit waits for the sync pass in flight to stop.
const SYNC_STOP_WAIT: Duration = Duration::from_secs(10);

/// How the window's process was started.
pub struct GuiOptions {
    pub data_dir: PathBuf,
    /// `--google-base-url` / `BOOKLINE_GOOGLE_BASE_URL`.
    pub google_base_url: Option<String>,
    /// `bookline demo`: the built-in Google emulator with demo data, consent in the
    /// system browser.
    pub demo: bool,
    /// `--google-quota-per-minute`: the engine's client-side quota instead of Google's
    /// 600 (tests and benchmarks against the emulator).
    pub quota_per_minute: Option<u32>,
}

/// Everything the IPC commands reach: the application API, the background sync loop,
/// and the sign-in the window can cancel (the transfer's own state is `App`'s).
pub struct AppState {
    app: App,
    runtime: SyncRuntimeHandle,
    connect: Mutex<Option<CancellationToken>>,
    /// Set by the first Quit; a second click (or a SIGTERM meanwhile) does nothing.
    quitting: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// A new sign-in replaces (cancels) one still waiting.
    pub fn begin_connect(&self) -> CancellationToken {
        let token = CancellationToken::new();
        if let Some(old) = lock(&self.connect).replace(token.clone()) {
            old.cancel();
        }
        token
    }

    pub fn end_connect(&self) {
        lock(&self.connect).take();
    }

    pub fn cancel_connect(&self) {
        if let Some(token) = lock(&self.connect).take() {
            token.cancel();
        }
    }
}

/// Runs a claimed transfer to its end (`App::transfer`), reporting every page to the
/// window, then announces how it ended.
pub async fn run_backfill(app: AppHandle, ticket: TransferTicket, request: BackfillRequest) {
    let state = app.state::<AppState>();
    let on_page = |progress: &BackfillProgress| {
        events::emit(&app, BACKFILL_PROGRESS, progress.clone());
        events::appointments_changed(&app);
    };
    let last = match state
        .app()
        .transfer(ticket, &request, on_page, |owner| {
            tracing::info!("the transfer waits for {owner}")
        })
        .await
    {
        Ok(outcome) => outcome.progress,
        Err(error) => state.app().stopped_progress(commands::report(error)),
    };
    events::emit(&app, BACKFILL_PROGRESS, last.clone());
    events::appointments_changed(&app);
    events::status_changed(&app);
    if let Some(notice) = backfill_notice(&last) {
        events::notify(&app, &notice);
    }
}

/// Only a finished transfer is announced; a cancel was the user's own doing.
pub fn backfill_notice(progress: &BackfillProgress) -> Option<Notice> {
    match progress.state {
        ProgressState::Finished => Some(Notice {
            title: "Synchronize Google Calendar finished",
            body: format!(
                "{} created in Google, {} in Bookline, {} linked{}.",
                progress.created_in_google,
                progress.created_in_crm,
                progress.linked,
                if progress.failed > 0 {
                    format!(", {} failed", progress.failed)
                } else {
                    String::new()
                }
            ),
        }),
        ProgressState::Failed => Some(Notice {
            title: "Synchronize Google Calendar stopped",
            body: progress
                .message
                .clone()
                .unwrap_or_else(|| "The transfer stopped; open Bookline to resume it.".into()),
        }),
        ProgressState::Running | ProgressState::Cancelled => None,
    }
}

/// Shows, unminimizes and focuses the main window.
pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::warn!("the window could not be shown: {e}");
        }
        // While hidden it was not sent the sync state (see events::spawn_status_watcher).
        events::status_changed(app);
    }
}

/// Quit from the tray (or SIGTERM, as a session logout sends): stop a running transfer
/// (it keeps its place and resumes at the next start), stop the sync loop (the pass in
/// flight is cancelled between writes; the outbox keeps what was not sent), save the demo
/// emulator's state, then exit.
pub fn quit(app: &AppHandle) {
    if app
        .state::<AppState>()
        .quitting
        .swap(true, Ordering::SeqCst)
    {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tracing::info!("quitting: stopping sync");
        let state = app.state::<AppState>();
        stop_backfill(&state).await;
        // The pass in flight stops at its next write; a request hanging on a dead network
        // is abandoned after a while (each write is its own transaction, and the outbox
        // still holds what was not confirmed).
        if tokio::time::timeout(SYNC_STOP_WAIT, state.runtime().shutdown())
            .await
            .is_err()
        {
            tracing::warn!("quitting: the sync pass did not stop in time; abandoned");
        }
        state.app().shutdown().await;
        tracing::info!("quitting: sync stopped");
        app.exit(0);
    });
}

/// Cancels a running transfer and waits (bounded) until it has saved its place.
async fn stop_backfill(state: &AppState) {
    if !state.app().transfer_running() {
        return;
    }
    state.app().cancel_transfer();
    let deadline = Instant::now() + BACKFILL_STOP_WAIT;
    while state.app().transfer_running() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM (logout, `kill`) takes the same way out as Quit.
#[cfg(unix)]
fn quit_on_sigterm(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                if term.recv().await.is_some() {
                    tracing::info!("SIGTERM");
                    quit(&app);
                }
            }
            Err(e) => tracing::warn!("SIGTERM is not handled: {e}"),
        }
    });
}

/// The poll interval override of `POLL_INTERVAL_ENV`, if set and valid.
fn poll_override() -> Option<Duration> {
    let value = std::env::var(POLL_INTERVAL_ENV).ok()?;
    match value.trim().parse::<u64>() {
        Ok(ms) if ms >= 100 => {
            tracing::info!("poll interval {ms} ms ({POLL_INTERVAL_ENV})");
            Some(Duration::from_millis(ms))
        }
        _ => {
            tracing::warn!("{POLL_INTERVAL_ENV}={value:?} ignored: milliseconds, at least 100");
            None
        }
    }
}

/// Adds or removes the login item.
pub fn apply_start_at_login(app: &AppHandle, on: bool) -> Result<(), AppError> {
    let launcher = app.autolaunch();
    let result = if on {
        launcher.enable()
    } else {
        match launcher.is_enabled() {
            Ok(true) => launcher.disable(),
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        }
    };
    result.map_err(|e| {
        tracing::warn!("start at login ({on}): {e}");
        AppError::new(
            ErrorCode::Internal,
            format!("Bookline could not change Start at login ({e})."),
        )
    })
}

/// One running Bookline per data dir: the demo (its own data dir) and the real app may
/// run side by side, and so may tests with their temporary data dirs.
fn instance_id(data_dir: &std::path::Path) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    format!("app.bookline.desktop.d{:016x}", hasher.finish())
}

/// Opens the main window (declared in tauri.conf.json) and runs until Quit.
/// `started` is when the process began, for the start-up time in the log (the benchmark
/// reads it from there).
pub fn run(options: GuiOptions, started: Instant) -> anyhow::Result<()> {
    tracing::info!(demo = options.demo, "starting the window");
    let minimized = std::env::args_os().any(|a| a == MINIMIZED_ARG);
    let instance = instance_id(&options.data_dir);
    let app = tauri::Builder::default()
        // First, so a second start hands over before anything else is set up.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance)
                .callback(|app, _args, _cwd| show_main_window(app))
                .build(),
        )
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED_ARG]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            // Visibility is not restored: a window hidden to the tray at quit time must
            // not make the next start invisible.
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        .difference(tauri_plugin_window_state::StateFlags::VISIBLE),
                )
                .build(),
        )
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // Close means "to the tray": sync and a running transfer go on.
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::warn!("the window could not hide: {e}");
                }
            }
        })
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
            commands::connect_google,
            commands::cancel_connect,
            commands::disconnect_google,
            commands::list_calendars,
            commands::get_sync_settings,
            commands::save_sync_settings,
            commands::calendar_change_preview,
            commands::sync_now,
            commands::held_deletes,
            commands::resolve_held_deletes,
            commands::pause_sync,
            commands::resume_sync,
            commands::backfill_preview,
            commands::backfill_start,
            commands::backfill_cancel,
            commands::backfill_status,
            commands::activity_log,
            commands::transfer_items,
        ])
        .build(tauri::generate_context!())?;
    // Only now, after the single-instance plugin has let this process go on: a second
    // start must not open the store or start a sync loop, even briefly.
    // Built on Tauri's own tokio runtime, which outlives the window: the demo emulator
    // and the sync loop run on it.
    let state = tauri::async_runtime::block_on(async {
        let mut app_options = AppOptions {
            google_base_url: options.google_base_url,
            holder: "the Bookline window".to_owned(),
            ..AppOptions::new(options.data_dir.clone())
        };
        if let Some(n) = options.quota_per_minute {
            app_options.engine.quota_per_window = n;
        }
        if options.demo {
            let env = DemoEnvironment::start(&options.data_dir, DemoConsent::Browser).await?;
            tracing::info!(url = env.base_url(), "demo emulator listening");
            app_options = env.into_app_options(app_options);
        }
        let app = App::open(app_options).await?;
        let runtime = app.spawn_runtime_every(poll_override())?;
        Ok::<_, AppError>(AppState {
            app,
            runtime,
            connect: Mutex::new(None),
            quitting: AtomicBool::new(false),
        })
    })?;
    app.manage(state);
    let handle = app.handle();
    match tray::create(handle) {
        Ok(tray) => {
            app.manage(tray);
        }
        // No tray host (a bare X server): the app still works from its window.
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
    events::spawn_status_watcher(handle.clone());
    #[cfg(unix)]
    quit_on_sigterm(handle);
    if minimized {
        if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
            window.hide()?;
        }
    }
    app.run(|_app, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            // The last window closing is not a reason to stop: the app lives in the tray.
            api.prevent_exit();
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(state: ProgressState) -> BackfillProgress {
        BackfillProgress {
            state,
            total: 10,
            done: 10,
            created_in_google: 0,
            created_in_crm: 7,
            linked: 3,
            failed: 0,
            eta_secs: None,
            message: None,
        }
    }

    #[test]
    fn a_finished_transfer_is_announced_with_its_counts() {
        let notice = backfill_notice(&progress(ProgressState::Finished)).expect("a notice");
        assert_eq!(notice.body, "0 created in Google, 7 in Bookline, 3 linked.");
        assert!(backfill_notice(&progress(ProgressState::Cancelled)).is_none());
        assert!(backfill_notice(&progress(ProgressState::Running)).is_none());
    }

    #[test]
    fn each_data_dir_is_its_own_instance() {
        let a = instance_id(std::path::Path::new("/home/a/.local/share/bookline"));
        let b = instance_id(std::path::Path::new("/home/a/.local/share/bookline/demo"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            instance_id(std::path::Path::new("/home/a/.local/share/bookline"))
        );
        // A valid D-Bus well-known name: dot-separated, no element starting with a digit.
        assert!(a
            .split('.')
            .all(|e| !e.starts_with(|c: char| c.is_ascii_digit())));
    }
}
