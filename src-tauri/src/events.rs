//! Events from the shell to the window, and the watcher that turns the sync loop's state
//! into them (plus the tray's look and the few desktop notifications worth sending).

use std::time::Duration;

use bookline_core::model::LeadResponse;
use bookline_core::runtime::{SyncLoopStatus, SyncPhase};
use bookline_core::sync::booking::LeadAnswered;
use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use url::Url;

use crate::gui::AppState;
use crate::tray::Tray;
use crate::window_process::WindowLink;

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

/// Sends an event to the window (its own process), if one is open.
pub fn emit<S: Serialize>(app: &AppHandle, event: &str, payload: S) {
    let Some(link) = app.try_state::<WindowLink>() else {
        return;
    };
    match serde_json::to_value(payload) {
        Ok(payload) => link.send_event(event, payload),
        Err(e) => tracing::warn!("event {event} not delivered: {e}"),
    }
}

/// A desktop notification worth interrupting the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: &'static str,
    pub body: String,
}

/// What to notify about when the loop's state goes from `before` to `after`: the account
/// needing a reconnect, a mass delete held, and sync failing for long — each once, when
/// it starts. Routine passes say nothing; the leads' answers are announced from the
/// core's queue (`answer_notices`), not from the loop's state, which keeps only the
/// latest pass's report.
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
    out
}

/// The notifications for answers taken from the core (`App::take_unannounced_lead_answers`):
/// one per decline. Other answers are in the list and the activity log.
pub fn answer_notices(answers: &[LeadAnswered]) -> Vec<Notice> {
    answers
        .iter()
        .filter(|answer| answer.response == LeadResponse::Declined)
        .map(|answer| Notice {
            title: "A lead declined",
            body: answer.sentence.clone(),
        })
        .collect()
}

/// Whether one or more passes ended between `before` and `after`.
pub fn pass_ended(before: &SyncLoopStatus, after: &SyncLoopStatus) -> bool {
    after.passes > before.passes
}

/// Whether the passes that ended between `before` and `after` changed appointments or
/// what a row shows of its booking (a Meet link, a lead's answer): the lists must reload.
/// The loop keeps only the latest report, so when more than one pass ended, the ones
/// before it are assumed to have changed something.
pub fn pass_changed_appointments(before: &SyncLoopStatus, after: &SyncLoopStatus) -> bool {
    if after.passes > before.passes.saturating_add(1) {
        return true;
    }
    pass_ended(before, after)
        && after
            .last_report
            .as_ref()
            .is_some_and(|report| report.changed_anything())
}

/// Takes the leads' answers no one announced yet and notifies the declines: each answer
/// once, whichever pass (or `bookline sync` while the app was closed) brought it in.
fn announce_answers(app: &AppHandle) {
    match app
        .state::<AppState>()
        .app()
        .take_unannounced_lead_answers()
    {
        Ok(answers) => {
            for notice in answer_notices(&answers) {
                notify(app, &notice);
            }
        }
        Err(e) => tracing::warn!("the leads' answers to announce: {}", e.message),
    }
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
        // The answers that came while the app was closed, once.
        announce_answers(&app);
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
                    if pass_ended(&previous, &next) {
                        announce_answers(&app);
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
    app.try_state::<WindowLink>()
        .is_some_and(|link| link.is_open())
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
    fn only_a_decline_interrupts_with_the_core_sentence() {
        let taken = vec![
            answer(LeadResponse::Declined, "Ada declined Demo call — Thu 10:00"),
            answer(
                LeadResponse::Accepted,
                "Grace accepted Pricing review — Fri 9:00",
            ),
            answer(
                LeadResponse::Tentative,
                "Alan tentatively accepted Kickoff — Mon",
            ),
            answer(LeadResponse::Declined, "Grace declined Kickoff — Tue 14:00"),
        ];
        assert_eq!(
            answer_notices(&taken),
            vec![
                Notice {
                    title: "A lead declined",
                    body: "Ada declined Demo call — Thu 10:00".to_owned(),
                },
                Notice {
                    title: "A lead declined",
                    body: "Grace declined Kickoff — Tue 14:00".to_owned(),
                },
            ],
            "only the declines interrupt; the other answers are in the list and the log"
        );
        assert!(answer_notices(&[]).is_empty());
    }

    #[test]
    fn answers_are_taken_after_each_pass_not_on_other_state_changes() {
        let before = status(SyncPhase::Syncing);
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(SyncReport::default()),
            ..status(SyncPhase::Idle)
        };
        assert!(pass_ended(&before, &after));
        // Two passes between two looks: still one take, which gets both passes' answers.
        let two_later = SyncLoopStatus {
            passes: 3,
            ..after.clone()
        };
        assert!(pass_ended(&after, &two_later));
        let syncing = SyncLoopStatus {
            state: SyncPhase::Syncing,
            ..after.clone()
        };
        assert!(!pass_ended(&after, &syncing));
        assert!(!pass_ended(&syncing, &after));
    }

    #[test]
    fn the_report_is_not_where_answers_are_announced_from() {
        // A pass whose report carries a decline, next to a reconnect: the loop's state
        // makes one notice; the decline is announced from the core's queue.
        let before = status(SyncPhase::Syncing);
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(SyncReport {
                lead_answers: vec![answer(
                    LeadResponse::Declined,
                    "Ada declined Demo call — Thu",
                )],
                booking_changes: 1,
                ..SyncReport::default()
            }),
            ..status(SyncPhase::NeedsReconnect)
        };
        let found = notices(&before, &after);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].title.contains("reconnect"));
        // The badge changed, so the lists reload, even though no appointment was written.
        assert!(pass_changed_appointments(&before, &after));
    }

    #[test]
    fn a_pass_that_changed_only_a_booking_reloads_the_lists() {
        let before = status(SyncPhase::Syncing);
        let after = SyncLoopStatus {
            passes: 1,
            last_report: Some(SyncReport {
                booking_changes: 1,
                ..SyncReport::default()
            }),
            ..status(SyncPhase::Idle)
        };
        assert!(pass_changed_appointments(&before, &after));
        assert!(!pass_changed_appointments(&after, &after));
    }

    #[test]
    fn passes_run_between_two_looks_reload_the_lists() {
        // Only the latest report is kept: the one before it may have changed rows.
        let before = SyncLoopStatus {
            passes: 4,
            last_report: Some(SyncReport::default()),
            ..status(SyncPhase::Idle)
        };
        let after = SyncLoopStatus {
            passes: 6,
            ..before.clone()
        };
        assert!(pass_changed_appointments(&before, &after));
        let next = SyncLoopStatus {
            passes: 7,
            ..before.clone()
        };
        assert!(!pass_changed_appointments(&after, &next));
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
