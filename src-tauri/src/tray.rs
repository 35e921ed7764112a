//! The tray icon: its image follows the sync state, and its menu holds every action
//! (Linux delivers no click events on tray icons). The words and the state are pure
//! functions of the runtime's `SyncLoopStatus`, tested below; the Tauri part only applies them.

use bookline_core::platform::{click_opens_window, Os};
use bookline_core::runtime::{SyncLoopStatus, SyncPhase};
use chrono::{DateTime, Utc};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::gui::{self, AppState};

/// What the icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    Synced,
    Syncing,
    Paused,
    /// Reconnect needed, passes keep failing, or deletions wait for a decision.
    Attention,
}

/// The icon for a status. Offline is not the user's problem to solve (the loop retries
/// when the network comes back), so it shows as synced-with-a-note, not as attention,
/// until it has lasted long enough for `failing_long`.
pub fn tray_state(status: &SyncLoopStatus) -> TrayState {
    if matches!(
        status.state,
        SyncPhase::NeedsReconnect | SyncPhase::NeedsDecision
    ) || status.failing_long
    {
        return TrayState::Attention;
    }
    match status.state {
        SyncPhase::Syncing => TrayState::Syncing,
        SyncPhase::Paused => TrayState::Paused,
        SyncPhase::Error => TrayState::Attention,
        SyncPhase::Idle
        | SyncPhase::Offline
        | SyncPhase::NeedsReconnect
        | SyncPhase::NeedsDecision => {
            if status.paused {
                TrayState::Paused
            } else {
                TrayState::Synced
            }
        }
    }
}

/// The disabled status line of the menu: when it last synced, or the problem in a few
/// words.
pub fn status_line(status: &SyncLoopStatus, connected: bool, now: DateTime<Utc>) -> String {
    if !connected {
        return "Google Calendar not connected".to_owned();
    }
    match status.state {
        SyncPhase::NeedsReconnect => return "Reconnect Google to keep syncing".to_owned(),
        SyncPhase::Offline => return "Offline — will retry".to_owned(),
        SyncPhase::Error => return "Sync is failing — open Bookline".to_owned(),
        SyncPhase::Syncing => return "Syncing…".to_owned(),
        SyncPhase::NeedsDecision => {
            return match status.held_deletes {
                1 => "1 deletion waits for your decision — open Bookline".to_owned(),
                n => format!("{n} deletions wait for your decision — open Bookline"),
            }
        }
        SyncPhase::Paused | SyncPhase::Idle => {}
    }
    let prefix = if status.paused { "Paused · " } else { "" };
    match status.last_sync {
        None => format!("{prefix}Not synced yet"),
        Some(at) => format!("{prefix}Last synced {}", ago(now - at)),
    }
}

fn ago(elapsed: chrono::Duration) -> String {
    let minutes = elapsed.num_minutes();
    match minutes {
        i64::MIN..=0 => "just now".to_owned(),
        1 => "1 min ago".to_owned(),
        2..=59 => format!("{minutes} min ago"),
        60..=119 => "1 hour ago".to_owned(),
        120..=1439 => format!("{} hours ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

/// Whether the status line is a menu entry that opens the window (a decision is needed
/// there); otherwise it is a disabled line of text.
pub fn status_opens_window(status: &SyncLoopStatus) -> bool {
    status.state == SyncPhase::NeedsDecision
}

/// The label of the pause item.
pub fn pause_label(status: &SyncLoopStatus) -> &'static str {
    if status.paused {
        "Resume sync"
    } else {
        "Pause sync"
    }
}

/// The tooltip: the app's name and the status line.
pub fn tooltip(line: &str) -> String {
    format!("Bookline — {line}")
}

fn icon(state: TrayState) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match state {
        TrayState::Synced => include_bytes!("../../icons/tray-synced.png"),
        TrayState::Syncing => include_bytes!("../../icons/tray-syncing.png"),
        TrayState::Paused => include_bytes!("../../icons/tray-paused.png"),
        TrayState::Attention => include_bytes!("../../icons/tray-attention.png"),
    };
    Image::from_bytes(bytes)
}

const MENU_OPEN: &str = "open";
const MENU_SYNC: &str = "sync-now";
const MENU_PAUSE: &str = "pause";
const MENU_STATUS: &str = "status";
const MENU_QUIT: &str = "quit";

/// The parts of the tray that change, kept in managed state.
pub struct Tray {
    icon: TrayIcon,
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    shown: std::sync::Mutex<Shown>,
}

/// What the tray shows now: only changes are sent to the tray host (each one is a D-Bus
/// round of the menu or icon, and the host redraws).
#[derive(Default)]
struct Shown {
    state: Option<TrayState>,
    line: String,
    pause: &'static str,
    line_enabled: bool,
}

/// Builds the tray icon and its menu.
/// A left click (on release, as Windows' own icons do) or a left double click.
fn opens_window(event: &TrayIconEvent) -> bool {
    matches!(
        event,
        TrayIconEvent::Click {
            button: MouseButton::Left,
            button_state: MouseButtonState::Up,
            ..
        } | TrayIconEvent::DoubleClick {
            button: MouseButton::Left,
            ..
        }
    )
}

pub fn create(app: &AppHandle) -> tauri::Result<Tray> {
    let open = MenuItem::with_id(app, MENU_OPEN, "Open Bookline", true, None::<&str>)?;
    let sync = MenuItem::with_id(app, MENU_SYNC, "Sync now", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, MENU_PAUSE, "Pause sync", true, None::<&str>)?;
    let status = MenuItem::with_id(app, MENU_STATUS, "Starting…", false, None::<&str>)?;
    let quit = MenuItem::with_id(app, MENU_QUIT, "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &open,
            &PredefinedMenuItem::separator(app)?,
            &status,
            &sync,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("bookline")
        .icon(icon(TrayState::Synced)?)
        .tooltip("Bookline")
        .menu(&menu)
        .show_menu_on_left_click(!click_opens_window(Os::current()))
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if click_opens_window(Os::current()) && opens_window(&event) {
                gui::show_main_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(Tray {
        icon,
        status,
        pause,
        shown: std::sync::Mutex::new(Shown::default()),
    })
}

impl Tray {
    /// Brings the icon, the status line, the pause label and the tooltip up to date.
    pub fn update(&self, status: &SyncLoopStatus, connected: bool) {
        let state = tray_state(status);
        let line = status_line(status, connected, Utc::now());
        let pause = pause_label(status);
        let mut shown = self
            .shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shown.state != Some(state) {
            match icon(state).and_then(|image| self.icon.set_icon(Some(image))) {
                Ok(()) => {
                    tracing::info!(?state, "tray icon");
                    shown.state = Some(state);
                }
                Err(e) => tracing::warn!("the tray icon could not change: {e}"),
            }
        }
        if shown.line != line {
            let set = self
                .status
                .set_text(&line)
                .and_then(|()| self.icon.set_tooltip(Some(tooltip(&line))));
            match set {
                Ok(()) => shown.line = line,
                Err(e) => tracing::warn!("the tray menu could not change: {e}"),
            }
        }
        let line_enabled = status_opens_window(status);
        if shown.line_enabled != line_enabled {
            match self.status.set_enabled(line_enabled) {
                Ok(()) => shown.line_enabled = line_enabled,
                Err(e) => tracing::warn!("the tray menu could not change: {e}"),
            }
        }
        if shown.pause != pause {
            match self.pause.set_text(pause) {
                Ok(()) => shown.pause = pause,
                Err(e) => tracing::warn!("the tray menu could not change: {e}"),
            }
        }
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        // The status line is enabled only when it asks for a decision in the window.
        MENU_OPEN | MENU_STATUS => gui::show_main_window(app),
        MENU_SYNC => {
            let runtime = app.state::<AppState>().runtime().clone();
            // The report reaches the window through the status and appointments events.
            tauri::async_runtime::spawn(async move {
                if let Err(e) = runtime.sync_now().await {
                    tracing::info!("Sync now from the tray: {}", e.message);
                }
            });
        }
        MENU_PAUSE => {
            let runtime = app.state::<AppState>().runtime().clone();
            tauri::async_runtime::spawn(async move {
                let result = if runtime.status().paused {
                    runtime.resume().await
                } else {
                    runtime.pause().await
                };
                if let Err(e) = result {
                    tracing::warn!("pause/resume from the tray: {}", e.message);
                }
            });
        }
        MENU_QUIT => gui::quit(app),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: SyncPhase) -> SyncLoopStatus {
        SyncLoopStatus {
            state,
            message: None,
            last_sync: None,
            last_report: None,
            paused: state == SyncPhase::Paused,
            failing_since: None,
            failing_long: false,
            passes: 0,
            held_deletes: 0,
        }
    }

    #[test]
    fn the_icon_follows_the_phase() {
        assert_eq!(tray_state(&status(SyncPhase::Idle)), TrayState::Synced);
        assert_eq!(tray_state(&status(SyncPhase::Syncing)), TrayState::Syncing);
        assert_eq!(tray_state(&status(SyncPhase::Paused)), TrayState::Paused);
        assert_eq!(tray_state(&status(SyncPhase::Offline)), TrayState::Synced);
        assert_eq!(tray_state(&status(SyncPhase::Error)), TrayState::Attention);
        assert_eq!(
            tray_state(&status(SyncPhase::NeedsReconnect)),
            TrayState::Attention
        );
    }

    #[test]
    fn held_deletions_need_attention_and_the_line_opens_the_window() {
        let mut s = status(SyncPhase::NeedsDecision);
        s.held_deletes = 25;
        assert_eq!(tray_state(&s), TrayState::Attention);
        assert_eq!(
            status_line(&s, true, Utc::now()),
            "25 deletions wait for your decision — open Bookline"
        );
        assert!(status_opens_window(&s));
        assert!(!status_opens_window(&status(SyncPhase::Idle)));
    }

    #[test]
    fn failing_for_long_needs_attention_even_when_offline() {
        let mut s = status(SyncPhase::Offline);
        s.failing_long = true;
        assert_eq!(tray_state(&s), TrayState::Attention);
    }

    #[test]
    fn a_sync_now_while_paused_shows_syncing_then_paused() {
        let mut s = status(SyncPhase::Syncing);
        s.paused = true;
        assert_eq!(tray_state(&s), TrayState::Syncing);
        assert_eq!(pause_label(&s), "Resume sync");
        s.state = SyncPhase::Idle;
        assert_eq!(tray_state(&s), TrayState::Paused);
    }

    #[test]
    fn the_status_line_says_when_or_what() {
        let now = Utc::now();
        let mut s = status(SyncPhase::Idle);
        assert_eq!(status_line(&s, false, now), "Google Calendar not connected");
        assert_eq!(status_line(&s, true, now), "Not synced yet");
        s.last_sync = Some(now - chrono::Duration::seconds(20));
        assert_eq!(status_line(&s, true, now), "Last synced just now");
        s.last_sync = Some(now - chrono::Duration::minutes(2));
        assert_eq!(status_line(&s, true, now), "Last synced 2 min ago");
        s.last_sync = Some(now - chrono::Duration::minutes(185));
        assert_eq!(status_line(&s, true, now), "Last synced 3 hours ago");
        s.paused = true;
        s.state = SyncPhase::Paused;
        assert_eq!(
            status_line(&s, true, now),
            "Paused · Last synced 3 hours ago"
        );
        assert_eq!(
            status_line(&status(SyncPhase::NeedsReconnect), true, now),
            "Reconnect Google to keep syncing"
        );
        assert_eq!(
            status_line(&status(SyncPhase::Offline), true, now),
            "Offline — will retry"
        );
        assert_eq!(
            tooltip("Last synced 2 min ago"),
            "Bookline — Last synced 2 min ago"
        );
    }
}
