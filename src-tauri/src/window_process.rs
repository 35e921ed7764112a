//! The window in a process of its own (issue 19).
//!
//! Bookline lives in the tray, syncing; the window is looked at now and then. A webview
//! loads WebKit, and WebKitGTK opens a GL display (Mesa, which links LLVM) that it never
//! closes: once a process has shown a webview it keeps ~100 MiB of libraries mapped for
//! good. So the tray process — store, sync loop, tray, notifications — never builds a
//! webview. Opening the window starts this same program as `bookline window-process`;
//! closing the window ends that process, and with it everything WebKit loaded.
//!
//! The two talk over the child's stdin and stdout, one JSON object per line (`ToWindow`,
//! `FromWindow`): the window forwards every call of the UI (`ipc::dispatch` answers it in
//! the tray process) and tells when its page has loaded and when it is closing; the tray
//! process sends the answers, the events for the UI (`events::emit`), and "show" when the
//! window is asked for while it is open. Pipes, not a socket: private to the two processes
//! on every OS, nothing to listen on, and the window process sees end-of-file — and ends —
//! when the tray process goes, however it goes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::ipc::{InvokeBody, InvokeResolver};
use tauri::{
    AppHandle, Emitter, Manager, RunEvent, WebviewWindow, WebviewWindowBuilder, WindowEvent, Wry,
};
use tauri_plugin_window_state::{AppHandleExt as _, StateFlags};

use crate::gui;
use crate::{ipc, memory};

/// The hidden subcommand that runs the window.
pub const SUBCOMMAND: &str = "window-process";
/// Set to `1`, closing the window only hides it (the window process stays), as Bookline
/// did before issue 19: the benchmark measures both ways in the same run
/// (`scripts/tray-bench.sh`).
pub const KEEP_WINDOW_ENV: &str = "BOOKLINE_KEEP_WINDOW";
const MAIN_WINDOW: &str = "main";
/// WebKitGTK draws the page with Skia on the CPU instead of through GL: a window process
/// is new at every open, and setting up GL in it (Mesa, whose drivers link LLVM, and the
/// first frame's shaders) cost about 300 ms of each reopen — median 1.2 s to the first
/// list paint against 0.9 s on the CPU (release build, Xvfb; `scripts/tray-bench.sh`). A
/// list of appointments needs no GPU. Set only when the user has not set it.
#[cfg(target_os = "linux")]
const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";
/// How long Quit waits for the window process to end after its stdin closed.
const WINDOW_STOP_WAIT: Duration = Duration::from_secs(3);
/// What the window-state plugin keeps. Visibility is not restored: a window hidden at
/// quit time (BOOKLINE_KEEP_WINDOW) must not make the next start invisible.
const WINDOW_STATE: StateFlags = StateFlags::all().difference(StateFlags::VISIBLE);

/// From the tray process to the window process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ToWindow {
    /// The answer to call `id`: the command's value, or the error to reject with.
    Answer { id: u64, ok: bool, value: Value },
    /// An event for the UI (`status-changed`, `appointments-changed`, …).
    Event { name: String, payload: Value },
    /// The window was asked for again: show, unminimize and focus it.
    Show,
}

/// From the window process to the tray process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FromWindow {
    /// A call of the UI: command name and its arguments object.
    Call {
        id: u64,
        command: String,
        args: Value,
    },
    /// The page finished loading.
    Loaded,
    /// The user closed the window: the process is on its way out, so the next request for
    /// a window starts a new one.
    Closing,
}

fn line<T: Serialize>(message: &T) -> Option<String> {
    match serde_json::to_string(message) {
        Ok(mut text) => {
            text.push('\n');
            Some(text)
        }
        Err(e) => {
            tracing::warn!(
                "a message between the window and the tray process was not written: {e}"
            );
            None
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------
// The tray process's side.

/// The window process, as the tray process sees it: at most one open at a time.
#[derive(Default)]
pub struct WindowLink {
    open: Mutex<Option<OpenWindow>>,
    /// Windows the user closed whose processes have not ended yet. Their stdin stays
    /// open until they end by themselves: closing it would make the process exit while
    /// its window is still being torn down, before the window-state plugin has saved the
    /// size and position (a reopened window then came back at the default size).
    closing: Mutex<Vec<OpenWindow>>,
    /// Tells one window process from the next (an old one's end must not forget a new one).
    generation: AtomicU64,
    /// When the window now loading was asked for (its load and first list paint are
    /// logged against it: the benchmark's reopen time).
    asked: Mutex<Option<Instant>>,
}

struct OpenWindow {
    generation: u64,
    /// Lines for the window's stdin, written by a thread of their own so that no caller
    /// ever blocks on a slow window.
    to_window: Sender<String>,
    child: Arc<Mutex<Child>>,
}

/// How the tray process was started, which its window process needs again.
pub struct WindowArgs {
    pub data_dir: PathBuf,
}

impl WindowLink {
    /// Whether a window is open (not closing).
    pub fn is_open(&self) -> bool {
        lock(&self.open).is_some()
    }

    /// Time since the window now loading was asked for.
    pub fn since_asked(&self) -> Duration {
        lock(&self.asked).map_or(Duration::ZERO, |at| at.elapsed())
    }

    /// Sets when the window now loading was asked for (start-up: the process's start).
    pub fn asked_at(&self, at: Instant) {
        *lock(&self.asked) = Some(at);
    }

    /// Sends an event to the window, if one is open; nothing otherwise (a new window asks
    /// for what it shows when it mounts).
    pub fn send_event(&self, name: &str, payload: Value) {
        self.send(&ToWindow::Event {
            name: name.to_owned(),
            payload,
        });
    }

    fn send(&self, message: &ToWindow) -> bool {
        self.send_to(None, message)
    }

    /// Sends to the open window; with `generation`, only if it is still that one (an
    /// answer to a window that has closed since is for nobody). The link holds the only
    /// sender of the window's stdin, so forgetting the window closes its stdin.
    fn send_to(&self, generation: Option<u64>, message: &ToWindow) -> bool {
        let Some(text) = line(message) else {
            return false;
        };
        lock(&self.open)
            .as_ref()
            .filter(|open| generation.is_none_or(|g| g == open.generation))
            .is_some_and(|open| open.to_window.send(text).is_ok())
    }

    /// Ends the window process (Quit): its stdin closes, it ends by itself; killed if it
    /// has not within a few seconds.
    pub fn close(&self) {
        let mut windows: Vec<OpenWindow> = std::mem::take(&mut *lock(&self.closing));
        windows.extend(lock(&self.open).take());
        let deadline = Instant::now() + WINDOW_STOP_WAIT;
        for window in windows {
            drop(window.to_window);
            loop {
                match lock(&window.child).try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        tracing::warn!("the window process did not end by itself: killed");
                        let mut child = lock(&window.child);
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

/// Shows the window: an open one is brought to the front, otherwise a window process is
/// started. The one way every front opens the window: the tray, a second start, a
/// notification, the platform's reopen.
pub fn show(app: &AppHandle) {
    let link = app.state::<WindowLink>();
    if link.send(&ToWindow::Show) {
        return;
    }
    let mut open = lock(&link.open);
    if open.is_some() {
        // Open, but its stdin is gone: it is ending; a new one replaces it below.
        open.take();
    }
    *lock(&link.asked) = Some(Instant::now());
    match start(app, &link) {
        Ok(started) => {
            tracing::info!("window process started");
            *open = Some(started);
        }
        Err(e) => tracing::warn!("the window could not be opened: {e}"),
    }
}

fn start(app: &AppHandle, link: &WindowLink) -> std::io::Result<OpenWindow> {
    let args = app.state::<WindowArgs>();
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg(SUBCOMMAND)
        .arg("--data-dir")
        .arg(&args.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    #[cfg(target_os = "linux")]
    if std::env::var_os(CPU_RENDERING_ENV).is_none() {
        command.env(CPU_RENDERING_ENV, "1");
    }
    let mut child = command.spawn()?;
    let generation = link.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err(std::io::Error::other("the window process has no pipes"));
    };
    let (to_window, lines) = mpsc::channel::<String>();
    std::thread::Builder::new()
        .name("to-window".into())
        .spawn(move || {
            for text in lines {
                if stdin
                    .write_all(text.as_bytes())
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    break;
                }
            }
        })?;
    let child = Arc::new(Mutex::new(child));
    let reader = ReaderContext {
        app: app.clone(),
        generation,
        child: child.clone(),
    };
    std::thread::Builder::new()
        .name("from-window".into())
        .spawn(move || reader.run(BufReader::new(stdout)))?;
    Ok(OpenWindow {
        generation,
        to_window,
        child,
    })
}

struct ReaderContext {
    app: AppHandle,
    generation: u64,
    child: Arc<Mutex<Child>>,
}

impl ReaderContext {
    fn run(self, stdout: impl BufRead) {
        for text in stdout.lines() {
            let Ok(text) = text else { break };
            match serde_json::from_str::<FromWindow>(&text) {
                Ok(message) => self.handle(message),
                // Something in the window process printed to stdout: not ours.
                Err(_) => tracing::debug!("window process stdout: {text}"),
            }
        }
        let status = lock(&self.child).wait();
        self.forget();
        tracing::info!("window closed and freed");
        if let Err(e) = status {
            tracing::warn!("the window process: {e}");
        }
        memory::release_free_heap("the window was freed");
    }

    fn handle(&self, message: FromWindow) {
        match message {
            FromWindow::Call { id, command, args } => {
                tracing::debug!(
                    "window call {command} after {} ms",
                    self.app.state::<WindowLink>().since_asked().as_millis()
                );
                let app = self.app.clone();
                let generation = self.generation;
                tauri::async_runtime::spawn(async move {
                    let began = Instant::now();
                    let result = ipc::dispatch(&app, &command, args).await;
                    tracing::debug!(
                        "window call {command} answered in {} ms",
                        began.elapsed().as_millis()
                    );
                    let answer = match result {
                        Ok(value) => ToWindow::Answer {
                            id,
                            ok: true,
                            value,
                        },
                        Err(value) => ToWindow::Answer {
                            id,
                            ok: false,
                            value,
                        },
                    };
                    // The window may have closed meanwhile: nobody waits any more.
                    app.state::<WindowLink>().send_to(Some(generation), &answer);
                });
            }
            FromWindow::Loaded => {
                let link = self.app.state::<WindowLink>();
                tracing::info!("window loaded after {} ms", link.since_asked().as_millis());
            }
            FromWindow::Closing => {
                let link = self.app.state::<WindowLink>();
                let mut open = lock(&link.open);
                if open
                    .as_ref()
                    .is_some_and(|o| o.generation == self.generation)
                {
                    if let Some(closing) = open.take() {
                        lock(&link.closing).push(closing);
                    }
                }
            }
        }
    }

    /// This window process has ended: it is neither the open window nor a closing one.
    fn forget(&self) {
        let link = self.app.state::<WindowLink>();
        let mut open = lock(&link.open);
        if open
            .as_ref()
            .is_some_and(|o| o.generation == self.generation)
        {
            open.take();
        }
        drop(open);
        lock(&link.closing).retain(|c| c.generation != self.generation);
    }
}

/// The clean shutdown's last step: the window process goes with the tray process.
pub fn close_window(app: &AppHandle) {
    if let Some(link) = app.try_state::<WindowLink>() {
        link.close();
    }
}

// ---------------------------------------------------------------------------------------
// The window process's side.

/// Runs the window until it is closed (or the tray process goes): every call of the UI
/// goes to the tray process on stdout, its answers and events come on stdin.
pub fn run_window(started: Instant) -> anyhow::Result<()> {
    let keep_window = std::env::var_os(KEEP_WINDOW_ENV).is_some_and(|v| v == "1");
    let out: Arc<Mutex<std::io::Stdout>> = Arc::new(Mutex::new(std::io::stdout()));
    let waiting: Arc<Mutex<HashMap<u64, InvokeResolver<Wry>>>> = Arc::default();
    let next_id = Arc::new(AtomicU64::new(1));
    let send = {
        let out = out.clone();
        move |message: &FromWindow| -> bool {
            let Some(text) = line(message) else {
                return false;
            };
            let mut out = lock(&out);
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_ok()
        }
    };
    let forward = {
        let send = send.clone();
        let waiting = waiting.clone();
        move |invoke: tauri::ipc::Invoke<Wry>| -> bool {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let command = invoke.message.command().to_owned();
            let args = match invoke.message.payload() {
                InvokeBody::Json(value) => value.clone(),
                InvokeBody::Raw(_) => Value::Null,
            };
            lock(&waiting).insert(id, invoke.resolver);
            if !send(&FromWindow::Call { id, command, args }) {
                if let Some(resolver) = lock(&waiting).remove(&id) {
                    resolver.reject(serde_json::json!({
                        "code": "internal",
                        "message": "Bookline's tray process is gone; start Bookline again.",
                    }));
                }
            }
            true
        }
    };
    let on_close = send.clone();
    let on_load = send.clone();
    let app = tauri::Builder::default()
        .plugin(
            // Size and position are restored as the window is built and saved when it is
            // closed, in the config dir the tray process shares.
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(WINDOW_STATE)
                .build(),
        )
        .on_window_event(move |window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if keep_window {
                    api.prevent_close();
                    if let Err(e) = window.hide() {
                        tracing::warn!("the window could not hide: {e}");
                    }
                } else {
                    on_close(&FromWindow::Closing);
                }
            }
        })
        .on_page_load(move |_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                tracing::info!(
                    "window process: page loaded after {} ms",
                    started.elapsed().as_millis()
                );
                on_load(&FromWindow::Loaded);
            }
        })
        .invoke_handler(forward)
        .build(gui::context())?;
    tracing::info!(
        "window process: Tauri up after {} ms",
        started.elapsed().as_millis()
    );
    let handle = app.handle().clone();
    std::thread::Builder::new()
        .name("from-tray".into())
        .spawn(move || answer_from_tray(&handle, &waiting))?;
    build_main_window(app.handle())?;
    tracing::info!(
        "window process: window built after {} ms",
        started.elapsed().as_millis()
    );
    app.run(|app, event| {
        if let RunEvent::WindowEvent {
            event: WindowEvent::Destroyed,
            ..
        } = event
        {
            if let Err(e) = app.save_window_state(WINDOW_STATE) {
                tracing::warn!("the window's size and position were not saved: {e}");
            }
            app.exit(0);
        }
    });
    Ok(())
}

/// Reads the tray process's lines until its end: answers resolve the UI's calls, events
/// go to the page, Show brings the window up. End-of-file (Quit, or the tray process gone)
/// ends the window process.
fn answer_from_tray(app: &AppHandle, waiting: &Mutex<HashMap<u64, InvokeResolver<Wry>>>) {
    for text in std::io::stdin().lock().lines() {
        let Ok(text) = text else { break };
        match serde_json::from_str::<ToWindow>(&text) {
            Ok(ToWindow::Answer { id, ok, value }) => {
                if let Some(resolver) = lock(waiting).remove(&id) {
                    if ok {
                        resolver.resolve(value);
                    } else {
                        resolver.reject(value);
                    }
                }
            }
            Ok(ToWindow::Event { name, payload }) => {
                if let Err(e) = app.emit(&name, payload) {
                    tracing::warn!("event {name} not delivered: {e}");
                }
            }
            Ok(ToWindow::Show) => {
                let handle = app.clone();
                let _ = app.run_on_main_thread(move || {
                    if let Some(window) = handle.get_webview_window(MAIN_WINDOW) {
                        show_window(&window);
                    }
                });
            }
            Err(e) => tracing::warn!("an unreadable line from the tray process: {e}"),
        }
    }
    app.exit(0);
}

fn show_window(window: &WebviewWindow) {
    let shown = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(e) = shown {
        tracing::warn!("the window could not be shown: {e}");
    }
}

/// The main window as tauri.conf.json describes it (`"create": false`: built here, not by
/// Tauri at start-up). The window-state plugin restores its size and position.
fn build_main_window(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        .ok_or(tauri::Error::WindowNotFound)?
        .clone();
    WebviewWindowBuilder::from_config(app, &config)?.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_json_object_per_line() {
        let call = FromWindow::Call {
            id: 7,
            command: "list_appointments".into(),
            args: serde_json::json!({"query": {"limit": 50}}),
        };
        let text = line(&call).expect("written");
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert_eq!(
            serde_json::from_str::<FromWindow>(text.trim_end()).ok(),
            Some(call)
        );
        for message in [
            ToWindow::Answer {
                id: 7,
                ok: false,
                value: serde_json::json!({"code": "validation", "message": "two\nlines"}),
            },
            ToWindow::Event {
                name: "status-changed".into(),
                payload: serde_json::json!({"state": "idle"}),
            },
            ToWindow::Show,
        ] {
            let text = line(&message).expect("written");
            assert_eq!(text.matches('\n').count(), 1, "{text}");
            assert_eq!(
                serde_json::from_str::<ToWindow>(text.trim_end()).ok(),
                Some(message)
            );
        }
    }

    #[test]
    fn a_line_that_is_not_a_message_is_not_taken_for_one() {
        for noise in [
            "",
            "Gtk-Message: 10:00:00.000: Failed to load module",
            "{}",
            "[1]",
        ] {
            assert!(
                serde_json::from_str::<FromWindow>(noise).is_err(),
                "{noise}"
            );
        }
    }
}
