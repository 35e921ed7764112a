//! What Bookline gives back to the system while it lives in the tray (issue 19).
//!
//! Freed memory is not given back by itself: glibc's malloc keeps what a burst freed in
//! its arenas (one per thread that allocated), so after a 10,000-event import, or once a
//! window's GTK and WebKit objects are gone, the process would stay at its peak for the
//! rest of the day. Bookline asks the allocator for the free pages back
//! (`heap_trim::release_free_heap`) at the quiet points after a burst: the first pass
//! that changed nothing after passes that changed appointments, the end of a transfer,
//! and once the window and WebKit's network process are gone. Idle polls trim nothing (a
//! trim walks every arena: cheap, but not free, and an idle poll frees next to nothing).

use bookline_core::runtime::SyncLoopStatus;
use tauri::{AppHandle, Manager};

use crate::events::pass_changed_appointments;
use crate::gui::AppState;

/// Decides, pass by pass, when a burst of passes that changed appointments is over.
#[derive(Debug, Default)]
pub struct AfterBursts {
    /// Passes changed appointments since the last trim.
    pending: bool,
}

impl AfterBursts {
    /// Whether to release the heap now that the loop went from `before` to `after`: at
    /// the first pass that changed nothing after one or more that changed appointments
    /// (an import arrives over many polls: one trim at its end, not one per pass).
    pub fn observe(&mut self, before: &SyncLoopStatus, after: &SyncLoopStatus) -> bool {
        if after.passes <= before.passes {
            return false;
        }
        if pass_changed_appointments(before, after) {
            self.pending = true;
            return false;
        }
        std::mem::take(&mut self.pending)
    }
}

/// Releases the allocator's free pages on a blocking thread (the walk locks each arena
/// for a moment; never on the main thread, which draws the tray and the window), and
/// logs what it gave back.
pub fn release_free_heap(why: &'static str) {
    tauri::async_runtime::spawn_blocking(move || {
        let before = private_resident_kib();
        let released = heap_trim::release_free_heap();
        let after = private_resident_kib();
        match (before, after) {
            (Some(before), Some(after)) => tracing::info!(
                released,
                "heap released ({why}): private memory {} -> {} MiB",
                before / 1024,
                after / 1024
            ),
            _ => tracing::info!(released, "heap released ({why})"),
        }
    });
}

/// Follows the sync loop and releases the heap after each burst of changing passes.
pub fn spawn_release_after_bursts(app: &AppHandle) {
    let mut rx = app.state::<AppState>().runtime().subscribe();
    tauri::async_runtime::spawn(async move {
        let mut previous = rx.borrow_and_update().clone();
        let mut bursts = AfterBursts::default();
        while rx.changed().await.is_ok() {
            let next = rx.borrow_and_update().clone();
            if bursts.observe(&previous, &next) {
                release_free_heap("after the passes that changed appointments");
            }
            previous = next;
        }
    });
}

/// This process's private resident memory (heap, stacks, other anonymous pages) in KiB,
/// from `/proc/self/status`; `None` where there is no such file.
fn private_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_rss_anon(&status)
}

/// The `RssAnon:` line of a `/proc/PID/status` text, in KiB.
pub fn parse_rss_anon(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookline_core::runtime::{SyncPhase, SyncReport};

    fn status(passes: u64, created_in_crm: u32) -> SyncLoopStatus {
        SyncLoopStatus {
            state: SyncPhase::Idle,
            message: None,
            last_sync: None,
            last_report: Some(SyncReport {
                created_in_crm,
                ..SyncReport::default()
            }),
            paused: false,
            failing_since: None,
            failing_long: false,
            passes,
            held_deletes: 0,
        }
    }

    #[test]
    fn one_release_at_the_end_of_a_burst_of_changing_passes() {
        let mut bursts = AfterBursts::default();
        // Idle polls: nothing to give back.
        assert!(!bursts.observe(&status(1, 0), &status(2, 0)));
        // An import over three polls, then a quiet one: one release, at its end.
        assert!(!bursts.observe(&status(2, 0), &status(3, 500)));
        assert!(!bursts.observe(&status(3, 500), &status(4, 500)));
        assert!(!bursts.observe(&status(4, 500), &status(5, 2)));
        assert!(bursts.observe(&status(5, 2), &status(6, 0)));
        assert!(!bursts.observe(&status(6, 0), &status(7, 0)));
    }

    #[test]
    fn state_changes_within_a_pass_are_not_passes() {
        let mut bursts = AfterBursts::default();
        assert!(!bursts.observe(&status(1, 0), &status(2, 10)));
        let mut syncing = status(2, 10);
        syncing.state = SyncPhase::Syncing;
        assert!(!bursts.observe(&status(2, 10), &syncing));
        assert!(!bursts.observe(&syncing, &status(2, 10)));
        assert!(bursts.observe(&status(2, 10), &status(3, 0)));
    }

    #[test]
    fn rss_anon_is_read_from_proc_status() {
        let text = "VmRSS:\t  120000 kB\nRssAnon:\t   40960 kB\nRssFile:\t   79040 kB\n";
        assert_eq!(parse_rss_anon(text), Some(40960));
        assert_eq!(parse_rss_anon("VmRSS: 1 kB\n"), None);
    }
}
