//! Events from the shell to the window, and the watcher that turns the sync loop's state
//! into them (plus the tray's look and the few desktop notifications worth sending).

use std::time::Duration;

use bookline_core::model::LeadResponse;
use bookline_core::runtime::{SyncLoopStatus, SyncPhase};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use url::Url;

use crate::gui::AppState;
use crate::tray::Tray;

pub const STATUS_CHANGED: &str = "status-changed";
pub const APPOINTMENTS_CHANGED: &str = "appointments-changed";
pub const CONNECT_WAITING: &str = "connect-waiting";
pub const BACKFILL_PROGRESS: &str = "backfill-progress";

/// How often the tray's "Last synced N min ago" is rewritten when nothing else changes.
const TRAY_REFRESH: Duration = Duration::from_secs(30);
/// A pass shorter than this never shows the syncing image: an idle poll takes
/// milliseconds, and turning the icon over twice per poll (a PNG written, the tray host
/// told over D-Bus and redrawing) would cost more than the poll itself.
const SYNCING_SHOWN_AFTER: Duration = Duration::from_millis(1500);

/// The `connect-waiting` event: the sign-in URL was opened in the system browser.
#[derive(Serialize, Clone, ts_rs::TS)]
#[ts(export)]
pub struct ConnectWaiting {
    pub auth_url: String,
}

/// Pushes the current `AppStatus` to the window.
pub fn status_changed(app: &AppHandle) {
    match app.state::<AppState>().app().status() {
        Ok(status) => emit(app, STATUS_CHANGED, status),
        Err(e) => tracing::warn!("status for the window: {}", e.message),
    }
}

/// Tells the window to reload its lists.
pub fn appointments_changed(app: &AppHandle) {
    emit(app, APPOINTMENTS_CHANGED, ());
}

pub fn connect_waiting(app: &AppHandle, url: &Url) {
    emit(
        app,
        CONNECT_WAITING,
        ConnectWaiting {
            auth_url: url.to_string(),
        },
    );
}

pub fn emit<S: Serialize + Clone>(app: &AppHandle, event: &str, payload: S) {
    if let Err(e) = app.emit(event, payload) {
        tracing::warn!("event {event} not delivered: {e}");
    }
}

/// A desktop notification worth interrupting the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: &'static str,
    pub body: String,
}

/// What to notify about when the loop's state goes from `before` to `after`: the account
/// needing a reconnect, and sync failing for long — each once, when it starts — and each
/// lead who declined an invitation in the pass that just ended. Routine passes (and other
/// answers, which are in the activity log and the list) say nothing.
pub fn notices(before: &SyncLoopStatus, after: &SyncLoopStatus) -> Vec<Notice> {
    let mut out = Vec::new();
    if after.state == SyncPhase::NeedsReconnect && before.state != SyncPhase::NeedsReconnect {
        out.push(Notice {
            title: "Bookline needs you to reconnect Google",
            body: "Google no longer accepts Bookline's access. Open Bookline and choose \
                   Reconnect; nothing has been lost."
                .to_owned(),
        });
    } else if after.held_deletes > 0 && before.held_deletes == 0 {
        out.push(Notice {
            title: "Bookline is holding a mass delete for your decision",
            body: format!(
                "{} Open Bookline to delete them or keep them; everything else keeps syncing.",
                bookline_core::sync::held::sentence(after.held_deletes)
            ),
        });
    } else if after.failing_long && !before.failing_long {
        out.push(Notice {
            title: "Google Calendar sync keeps failing",
            body: after
                .message
                .clone()
                .unwrap_or_else(|| "Bookline has not been able to sync for a while.".to_owned()),
        });
    }
    out.extend(new_report(before, after).into_iter().flat_map(|report| {
        report
            .lead_answers
            .iter()
            .filter(|answer| answer.response == LeadResponse::Declined)
            .map(|answer| Notice {
                title: "A lead declined",
                body: answer.sentence.clone(),
            })
    }));
    out
}

/// The report of a pass that ended between `before` and `after` (none when the state
/// changed without a new pass, so nothing is announced twice).
fn new_report<'a>(
    before: &SyncLoopStatus,
    after: &'a SyncLoopStatus,
) -> Option<&'a bookline_core::runtime::SyncReport> {
    (after.passes > before.passes)
        .then_some(after.last_report.as_ref())
        .flatten()
}

/// Whether the pass that just ended changed appointments, or brought in a lead's answer
/// (the lists must reload: the row's badge changes).
pub fn pass_changed_appointments(before: &SyncLoopStatus, after: &SyncLoopStatus) -> bool {
    new_report(before, after)
        .is_some_and(|report| report.changed_anything() || !report.lead_answers.is_empty())
}

pub fn notify(app: &AppHandle, notice: &Notice) {
    tracing::info!(title = notice.title, "desktop notification");
    if let Err(e) = app
        .notification()
        .builder()
        .title(notice.title)
        .body(&notice.body)
        .show()
    {
        tracing::warn!("notification not shown: {e}");
    }
}

/// Follows the sync loop's state for the life of the app.
pub fn spawn_status_watcher(app: AppHandle) {
    let mut rx = app.state::<AppState>().runtime().subscribe();
    tauri::async_runtime::spawn(async move {
        let mut previous = rx.borrow_and_update().clone();
        update_tray(&app, &previous);
        let mut tick = tokio::time::interval(TRAY_REFRESH);
        // When the pass now running began, until the tray shows it.
        let mut syncing_since: Option<tokio::time::Instant> = None;
        loop {
            let show_syncing = async {
                match syncing_since {
                    Some(at) => tokio::time::sleep_until(at + SYNCING_SHOWN_AFTER).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let next = rx.borrow_and_update().clone();
                    // A hidden window is brought up to date when it is shown again.
                    if window_visible(&app) {
                        status_changed(&app);
                    }
                    if pass_changed_appointments(&previous, &next) {
                        appointments_changed(&app);
                    }
                    for notice in notices(&previous, &next) {
                        notify(&app, &notice);
                    }
                    if next.state == SyncPhase::Syncing {
                        syncing_since.get_or_insert_with(tokio::time::Instant::now);
                    } else {
                        syncing_since = None;
                        update_tray(&app, &next);
                    }
                    previous = next;
                }
                () = show_syncing => {
                    syncing_since = None;
                    update_tray(&app, &previous);
                }
                _ = tick.tick() => {
                    if syncing_since.is_none() {
                        update_tray(&app, &previous);
                    }
                }
            }
        }
    });
}

fn window_visible(app: &AppHandle) -> bool {
    app.webview_windows()
        .values()
        .any(|window| window.is_visible().unwrap_or(true))
}

fn update_tray(app: &AppHandle, status: &SyncLoopStatus) {
    let Some(tray) = app.try_state::<Tray>() else {
        return;
    };
    let connected = app
        .state::<AppState>()
        .app()
        .account()
        .email()
        .ok()
        .flatten()
        .is_some();
    tray.update(status, connected);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookline_core::runtime::SyncReport;
    use bookline_core::sync::booking::LeadAnswered;

    fn status(state: SyncPhase) -> SyncLoopStatus {
        SyncLoopStatus {
            state,
            message: None,
            last_sync: None,
            last_report: None,
            paused: false,
            failing_since: None,
            failing_long: false,
            passes: 0,
            held_deletes: 0,
        }
    }

    #[test]
    fn reconnect_is_announced_once() {
        let idle = status(SyncPhase::Idle);
        let lost = status(SyncPhase::NeedsReconnect);
        let found = notices(&idle, &lost);
        assert_eq!(found.len(), 1);
        assert!(found[0].title.contains("reconnect"));
        assert!(notices(&lost, &lost).is_empty());
    }

    #[test]
    fn failing_long_is_announced_when_it_starts() {
        let failing = SyncLoopStatus {
            message: Some("Google could not be reached.".into()),
            ..status(SyncPhase::Error)
        };
        let long = SyncLoopStatus {
            failing_long: true,
            ..failing.clone()
        };
        assert!(notices(&failing, &failing).is_empty());
        let found = notices(&failing, &long);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].body, "Google could not be reached.");
        assert!(notices(&long, &long).is_empty());
    }

    #[test]
    fn a_held_mass_delete_is_announced_once() {
        let idle = status(SyncPhase::Idle);
        let held = SyncLoopStatus {
            held_deletes: 25,
            passes: 1,
            ..status(SyncPhase::NeedsDecision)
        };
        let found = notices(&idle, &held);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].body.contains("holding 25 deletions"),
            "{:?}",
            found[0]
        );
        // Later passes that still hold (through syncing and back) say nothing.
        let syncing = SyncLoopStatus {
            state: SyncPhase::Syncing,
            ..held.clone()
        };
        assert!(notices(&held, &syncing).is_empty());
        assert!(notices(&syncing, &held).is_empty());
    }

    #[test]
    fn routine_passes_are_silent() {
        let before = status(SyncPhase::Syncing);
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(SyncReport::default()),
            ..status(SyncPhase::Idle)
        };
        assert!(notices(&before, &after).is_empty());
        assert!(!pass_changed_appointments(&before, &after));
    }

    fn answer(response: LeadResponse, sentence: &str) -> LeadAnswered {
        LeadAnswered {
            appointment_id: "a1".into(),
            title: "Demo call".into(),
            lead_name: "Ada".into(),
            response,
            start_text: "Thu 10:00".into(),
            sentence: sentence.into(),
        }
    }

    #[test]
    fn a_decline_is_announced_once_with_the_core_sentence() {
        let before = status(SyncPhase::Syncing);
        let report = SyncReport {
            lead_answers: vec![
                answer(LeadResponse::Declined, "Ada declined Demo call — Thu 10:00"),
                answer(
                    LeadResponse::Accepted,
                    "Grace accepted Pricing review — Fri 9:00",
                ),
                answer(
                    LeadResponse::Tentative,
                    "Alan answered maybe to Kickoff — Mon",
                ),
            ],
            ..SyncReport::default()
        };
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(report),
            ..status(SyncPhase::Idle)
        };
        assert_eq!(
            notices(&before, &after),
            vec![Notice {
                title: "A lead declined",
                body: "Ada declined Demo call — Thu 10:00".to_owned(),
            }],
            "only the decline interrupts; the other answers are in the list and the log"
        );
        // The badge changed, so the lists reload, even though no appointment was written.
        assert!(pass_changed_appointments(&before, &after));
        // The same report seen again (no new pass) is not announced again.
        let later = SyncLoopStatus {
            state: SyncPhase::Syncing,
            ..after.clone()
        };
        assert!(notices(&after, &later).is_empty());
        assert!(notices(&later, &after).is_empty());
    }

    #[test]
    fn a_decline_comes_with_a_reconnect_notice_in_the_same_pass() {
        let before = status(SyncPhase::Syncing);
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(SyncReport {
                lead_answers: vec![answer(
                    LeadResponse::Declined,
                    "Ada declined Demo call — Thu",
                )],
                ..SyncReport::default()
            }),
            ..status(SyncPhase::NeedsReconnect)
        };
        let found = notices(&before, &after);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].title.contains("reconnect"));
        assert_eq!(found[1].body, "Ada declined Demo call — Thu");
    }

    #[test]
    fn a_pass_that_wrote_reloads_the_lists() {
        let before = status(SyncPhase::Syncing);
        let report = SyncReport {
            created_in_crm: 2,
            ..SyncReport::default()
        };
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(report.clone()),
            ..status(SyncPhase::Idle)
        };
        assert!(pass_changed_appointments(&before, &after));
        // The same report seen again (a state change without a new pass) does not.
        assert!(!pass_changed_appointments(&after, &after));
    }
}
