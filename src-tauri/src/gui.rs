//! The desktop app's tray process: builds the Tauri app with its plugins and the tray,
//! puts the core context in managed state, and answers the window's calls (`ipc`).
//!
//! Lifecycle: this process — store, sync loop, tray — never builds a webview; the window
//! is a process of its own (`window_process`), started when it is asked for and ended
//! when it is closed, which frees everything WebKit loaded, while sync, a running transfer
//! and the tray go on. Open Bookline (tray), a second start with the same data dir, or
//! `show_main_window` from anywhere opens it again on the same state. Quit in the tray
//! menu stops the sync loop, ends the window process and exits, and so does every other
//! way out the OS has (Windows log-off: `RunEvent::Exit`; SIGTERM). Started at login
//! (`--minimized`), no window exists until one is opened. A second start with the same
//! data dir shows the running window instead, or says that it runs
//! (`bookline_core::instance_lock`).

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bookline_core::app::{App, AppOptions, TransferTicket};
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::instance_lock::{self, InstanceLock, InstanceLockError};
use bookline_core::paths;
use bookline_core::platform::Os;
use bookline_core::runtime::SyncRuntimeHandle;
use bookline_core::store::Store;
use bookline_core::sync::backfill::{BackfillProgress, BackfillRequest, ProgressState};
use bookline_core::sync::settings;
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt as _};
use tauri_plugin_notification::NotificationExt as _;
use tokio_util::sync::CancellationToken;

use crate::demo::google::{DemoConsent, DemoEnvironment};
use crate::events::{self, Notice, BACKFILL_PROGRESS};
use crate::window_process::{self, WindowArgs, WindowLink};
use crate::{commands, memory, tray};

/// The argument the login item starts Bookline with: straight to the tray.
pub const MINIMIZED_ARG: &str = "--minimized";
/// Replaces the saved poll interval (at least 15 s) with this many milliseconds: for the
/// end-to-end tests and the idle measurement, which need many polls in little time.
pub const POLL_INTERVAL_ENV: &str = "BOOKLINE_POLL_INTERVAL_MS";
/// How long Quit waits for a cancelled transfer to save its place.
const BACKFILL_STOP_WAIT: Duration = Duration::from_secs(10);
/// How long Quit waits for the sync pass in flight to stop.
const SYNC_STOP_WAIT: Duration = Duration::from_secs(10);
/// How long Quit waits for the demo emulator's state to be written.
const SAVE_STOP_WAIT: Duration = Duration::from_secs(5);

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
    /// The clean shutdown, run once whichever way out comes first (Quit, SIGTERM,
    /// `RunEvent::Exit`); a later caller waits for the one under way.
    stopped: tokio::sync::OnceCell<()>,
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

    /// The clean shutdown, exactly once however many ways out are taken, each step
    /// bounded: stop a running transfer (it keeps its place and resumes at the next
    /// start), stop the sync loop (the pass in flight is cancelled between writes; the
    /// outbox keeps what was not sent), save the demo emulator's state.
    pub async fn stop(&self) {
        self.stopped
            .get_or_init(|| async {
                tracing::info!("quitting: stopping sync");
                stop_backfill(self).await;
                // The pass in flight stops at its next write; a request hanging on a dead
                // network is abandoned after a while (each write is its own transaction,
                // and the outbox still holds what was not confirmed).
                if tokio::time::timeout(SYNC_STOP_WAIT, self.runtime().shutdown())
                    .await
                    .is_err()
                {
                    tracing::warn!("the sync pass did not stop in time; abandoned");
                }
                if tokio::time::timeout(SAVE_STOP_WAIT, self.app().shutdown())
                    .await
                    .is_err()
                {
                    tracing::warn!("the demo state was not saved in time");
                }
                tracing::info!("quitting: sync stopped");
            })
            .await;
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
    memory::release_free_heap("the transfer ended");
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

/// Shows the window, opening it first when there is none (closed to the tray, or started
/// at login): `window_process::show`. The one way every front opens the window: the tray,
/// a second start, a notification, the platform's reopen.
pub fn show_main_window(app: &AppHandle) {
    window_process::show(app);
}

/// The Tauri context (config, icons, the UI's files), built once for both processes.
pub fn context() -> tauri::Context {
    tauri::generate_context!()
}

/// Quit from the tray (or SIGTERM, as a session logout sends): the clean shutdown
/// (`AppState::stop`), then exit.
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
        tracing::info!("quitting");
        app.state::<AppState>().stop().await;
        window_process::close_window(&app);
        app.exit(0);
    });
}

/// The event loop is ending — after Quit, or without it: Windows log-off or shutdown,
/// anything else that calls `exit`. The process ends when
/// this returns, so the shutdown runs here, on this thread (each step is bounded); after
/// Quit it is done already and this returns at once.
fn stop_at_exit(app: &AppHandle) {
    if let Some(state) = app.try_state::<AppState>() {
        tauri::async_runtime::block_on(state.stop());
    }
    window_process::close_window(app);
    crate::logging::flush();
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

/// Start at login saved on (by `bookline settings --start-at-login true`, or in the
/// window) makes sure the login item exists and starts this binary: after a reinstall to
/// another place it would otherwise start a path that is gone. Only ever adds: a data dir
/// with the setting off (a test's, a benchmark's) must not remove the login item of the
/// user's own Bookline. The demo never touches it.
fn ensure_login_item(app: &AppHandle) {
    let state = app.state::<AppState>();
    let wanted = match state
        .store()
        .and_then(|store| settings::load(store).map_err(commands::report))
    {
        Ok(saved) => saved.start_at_login,
        Err(e) => {
            tracing::warn!("start at login not checked: {e}");
            return;
        }
    };
    if wanted {
        // The error is logged inside; the app runs without the login item.
        let _ = apply_start_at_login(app, true);
    }
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
    if std::env::var_os(window_process::KEEP_WINDOW_ENV).is_some_and(|v| v == "1") {
        tracing::info!(
            "closing the window hides it ({}=1)",
            window_process::KEEP_WINDOW_ENV
        );
    }
    // One window per data dir: our lock decides; the single-instance plugin is only how a
    // second start hands over (shows the running window and exits), where it can tell
    // data dirs apart.
    let hand_over = instance_lock::hand_over_possible(
        Os::current(),
        &options.data_dir,
        paths::os_default_data_dir().as_deref(),
    );
    let mut instance_lock = match InstanceLock::acquire(&options.data_dir) {
        Ok(lock) => Some(lock),
        // The plugin, set up first below, hands over to the running window and exits.
        Err(InstanceLockError::Held { .. }) if hand_over => None,
        // Also in the log: a GUI start on Windows has no stderr to show it.
        Err(e) => {
            tracing::error!("{e}");
            return Err(e.into());
        }
    };
    let mut builder = tauri::Builder::default();
    if hand_over {
        // First, so a second start hands over before anything else is set up.
        builder = builder.plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id(&options.data_dir))
                .callback(|app, _args, _cwd| show_main_window(app))
                .build(),
        );
    }
    let app = builder
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED_ARG]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .build(context())?;
    // macOS: the tray process keeps out of the Dock; the window process, a regular app,
    // has the Dock icon while the window is open.
    #[cfg(target_os = "macos")]
    let app = {
        let mut app = app;
        app.set_activation_policy(tauri::ActivationPolicy::Accessory);
        app
    };
    // The plugin let this process go on, so the other window was on its way out (or is
    // not a window the plugin knows): the lock must be ours now, or this start ends.
    if instance_lock.is_none() {
        match InstanceLock::acquire(&options.data_dir) {
            Ok(lock) => instance_lock = Some(lock),
            Err(e) => {
                tracing::error!("{e}");
                return Err(e.into());
            }
        }
    }
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
            stopped: tokio::sync::OnceCell::new(),
        })
    })?;
    app.manage(state);
    app.manage(WindowLink::default());
    app.manage(WindowArgs {
        data_dir: options.data_dir.clone(),
    });
    let handle = app.handle();
    match tray::create(handle) {
        Ok(tray) => {
            app.manage(tray);
        }
        // No tray host (a bare X server): the app still works from its window.
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
    if !options.demo {
        ensure_login_item(handle);
    }
    events::spawn_status_watcher(handle.clone());
    memory::spawn_release_after_bursts(handle);
    // Every notification Bookline sends asks the user to open it: a click does.
    let opener = handle.clone();
    if let Err(e) = handle
        .notification()
        .on_action(move |_| show_main_window(&opener))
    {
        tracing::warn!("notification clicks will not open the window: {e}");
    }
    #[cfg(unix)]
    quit_on_sigterm(handle);
    // Started at login: the tray only; no webview (nor WebKit process) until it is opened.
    if !minimized {
        show_main_window(handle);
        // The time to the window is the process's, as before this window was lazy.
        app.state::<WindowLink>().asked_at(started);
    }
    app.run(|app, event| match event {
        RunEvent::ExitRequested {
            code: None, api, ..
        } => {
            // The last window closing is not a reason to stop: the app lives in the tray.
            api.prevent_exit();
        }
        RunEvent::Exit => stop_at_exit(app),
        // macOS: a click on the Dock icon or a second `open` while the window is hidden.
        #[cfg(target_os = "macos")]
        RunEvent::Reopen { .. } => show_main_window(app),
        _ => {}
    });
    drop(instance_lock);
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

    /// Quit's shutdown under way, then the OS ends the event loop (`RunEvent::Exit`):
    /// the exit path must wait until the shutdown has finished (the process ends when it
    /// returns), and the shutdown runs once.
    #[tokio::test]
    async fn the_exit_path_waits_for_the_one_clean_shutdown() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let saves = Arc::new(AtomicUsize::new(0));
        let counted = saves.clone();
        let options = AppOptions {
            secrets: Some(Arc::new(bookline_core::secrets::MemorySecretStore::new())),
            on_shutdown: Some(Box::new(move || {
                Box::pin(async move {
                    // Saving the demo state takes a while.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    counted.fetch_add(1, Ordering::SeqCst);
                })
            })),
            ..AppOptions::new(dir.path().to_path_buf())
        };
        let app = App::open(options).await.unwrap();
        let runtime = app.spawn_runtime_every(None).unwrap();
        let state = Arc::new(AppState {
            app,
            runtime,
            connect: Mutex::new(None),
            quitting: AtomicBool::new(false),
            stopped: tokio::sync::OnceCell::new(),
        });
        let quit = tokio::spawn({
            let state = state.clone();
            async move { state.stop().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        state.stop().await;
        assert_eq!(
            saves.load(Ordering::SeqCst),
            1,
            "the exit path returned early"
        );
        assert!(state.runtime().is_stopped());
        quit.await.unwrap();
        state.stop().await;
        assert_eq!(saves.load(Ordering::SeqCst), 1);
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
