//! The background sync loop with tokio's paused clock and a fake pass: poll cadence,
//! pause, Sync now, debounce, backoff while offline, needs-reconnect, hold, shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bookline_core::account::{AccountService, SETTING_EMAIL};
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::google::Endpoints;
use bookline_core::oauth::OAuthClientConfig;
use bookline_core::runtime::{
    PassFuture, RuntimeConfig, SyncPass, SyncPhase, SyncReport, SyncRuntime, SyncRuntimeHandle,
};
use bookline_core::secrets::MemorySecretStore;
use bookline_core::store::Store;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const POLL: Duration = Duration::from_secs(60);

/// What the fake pass does on its n-th call (the last entry repeats).
#[derive(Clone)]
enum Step {
    Ok,
    /// Succeeds, holding this many deletions for the user's decision.
    Held(u32),
    Fail(ErrorCode),
    /// Runs until cancelled.
    Hang,
}

#[derive(Default)]
struct Log {
    starts: Vec<Instant>,
    cancelled: usize,
}

struct FakePass {
    script: Vec<Step>,
    log: Arc<Mutex<Log>>,
}

impl SyncPass for FakePass {
    fn run<'a>(
        &'a self,
        _account: &'a AccountService,
        cancel: CancellationToken,
    ) -> PassFuture<'a> {
        Box::pin(async move {
            let n = {
                let mut log = self.log.lock().unwrap();
                log.starts.push(Instant::now());
                log.starts.len() - 1
            };
            let step = self
                .script
                .get(n)
                .or(self.script.last())
                .cloned()
                .unwrap_or(Step::Ok);
            match step {
                Step::Ok => Ok(SyncReport {
                    created_in_google: 1,
                    ..Default::default()
                }),
                Step::Held(n) => Ok(SyncReport {
                    held_deletes: n,
                    ..Default::default()
                }),
                Step::Fail(code) => Err(AppError::new(code, format!("fake failure {code:?}"))),
                Step::Hang => {
                    cancel.cancelled().await;
                    self.log.lock().unwrap().cancelled += 1;
                    Err(AppError::new(ErrorCode::Cancelled, "cancelled"))
                }
            }
        })
    }
}

struct Rig {
    handle: SyncRuntimeHandle,
    log: Arc<Mutex<Log>>,
    t0: Instant,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn passes(&self) -> usize {
        self.log.lock().unwrap().starts.len()
    }

    /// Pass start times relative to the rig's start.
    fn offsets(&self) -> Vec<Duration> {
        self.log
            .lock()
            .unwrap()
            .starts
            .iter()
            .map(|s| s.duration_since(self.t0))
            .collect()
    }
}

/// A connected account (settings say so; the fake pass never talks to Google).
fn connected_account(dir: &tempfile::TempDir) -> Arc<AccountService> {
    let store = Arc::new(Store::open(&dir.path().join("bookline.sqlite3")).unwrap());
    store.set_setting(SETTING_EMAIL, "ada@example.com").unwrap();
    Arc::new(
        AccountService::new(
            store,
            Arc::new(MemorySecretStore::new()),
            // Nothing listens on port 9; the fake pass never calls Google.
            Endpoints::from_base("http://127.0.0.1:9").unwrap(),
            Some(OAuthClientConfig::new("id", "secret")),
            false,
        )
        .unwrap(),
    )
}

fn rig(script: Vec<Step>, config: RuntimeConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let account = connected_account(&dir);
    let log = Arc::new(Mutex::new(Log::default()));
    let pass = Arc::new(FakePass {
        script,
        log: log.clone(),
    });
    let t0 = Instant::now();
    let handle = SyncRuntime::spawn(account, pass, config);
    Rig {
        handle,
        log,
        t0,
        _dir: dir,
    }
}

fn config(run_at_start: bool) -> RuntimeConfig {
    RuntimeConfig {
        poll_interval: POLL,
        run_at_start,
        ..Default::default()
    }
}

async fn settle() {
    // Lets the loop's task run what is due without moving the clock much.
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn polls_exactly_once_per_interval() {
    let r = rig(vec![Step::Ok], config(true));
    tokio::time::sleep(POLL * 10 + POLL / 2).await;
    // One at start, then one per interval: 0, 60, …, 600 s.
    assert_eq!(r.passes(), 11);
    let offsets = r.offsets();
    for (i, at) in offsets.iter().enumerate() {
        assert_eq!(at.as_secs(), 60 * i as u64, "pass {i} at {at:?}");
    }
    let status = r.handle.status();
    assert_eq!(status.state, SyncPhase::Idle);
    assert_eq!(status.passes, 11);
    assert!(status.last_sync.is_some());
    assert_eq!(status.last_report.unwrap().created_in_google, 1);
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn no_polls_while_paused_and_resume_syncs_at_once() {
    let r = rig(vec![Step::Ok], config(true));
    tokio::time::sleep(POLL / 2).await;
    assert_eq!(r.passes(), 1);
    r.handle.pause().await.unwrap();
    assert_eq!(r.handle.status().state, SyncPhase::Paused);
    // CRM changes while paused wait in the outbox; they do not wake the loop.
    r.handle.crm_changed();
    r.handle.wake();
    tokio::time::sleep(POLL * 5).await;
    assert_eq!(r.passes(), 1, "no pass while paused");
    assert_eq!(r.handle.status().state, SyncPhase::Paused);

    let resumed_at = Instant::now();
    r.handle.resume().await.unwrap();
    settle().await;
    assert_eq!(r.passes(), 2);
    assert!(r.offsets()[1] <= resumed_at.duration_since(r.t0) + Duration::from_millis(1));
    assert_eq!(r.handle.status().state, SyncPhase::Idle);
    tokio::time::sleep(POLL).await;
    assert_eq!(r.passes(), 3, "polling again after resume");
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn sync_now_wakes_the_loop_and_returns_the_report() {
    let r = rig(vec![Step::Ok], config(false));
    tokio::time::sleep(POLL / 2).await;
    assert_eq!(r.passes(), 0);
    let before = Instant::now();
    let report = r.handle.sync_now().await.unwrap();
    assert_eq!(report.created_in_google, 1);
    assert_eq!(r.passes(), 1);
    assert_eq!(Instant::now(), before, "no waiting for the poll");
    // Sync now while paused still runs (the user asked) and leaves the loop paused.
    r.handle.pause().await.unwrap();
    r.handle.sync_now().await.unwrap();
    assert_eq!(r.passes(), 2);
    assert_eq!(r.handle.status().state, SyncPhase::Paused);
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn debounce_coalesces_ten_changes_into_one_pass() {
    let r = rig(vec![Step::Ok], config(false));
    for _ in 0..10 {
        r.handle.crm_changed();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The last change came at 2.7 s; the pass follows 2 s of quiet.
    assert_eq!(r.passes(), 0, "still inside the debounce window");
    tokio::time::sleep(Duration::from_millis(3350)).await;
    assert_eq!(r.passes(), 1);
    assert_eq!(r.offsets()[0].as_millis(), 2700 + 2000);
    // A steady stream (one edit every 0.7 s from 6.35 s to 26.65 s) still syncs within
    // debounce_max (10 s) of the first unsent edit.
    for _ in 0..30 {
        r.handle.crm_changed();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let ms: Vec<u128> = r.offsets().iter().map(|d| d.as_millis()).collect();
    assert_eq!(ms, vec![4700, 16350, 26850]);
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_the_pass_in_flight_promptly() {
    let r = rig(vec![Step::Hang], config(true));
    settle().await;
    assert_eq!(r.handle.status().state, SyncPhase::Syncing);
    let before = Instant::now();
    r.handle.shutdown().await;
    assert!(Instant::now().duration_since(before) < Duration::from_millis(10));
    assert_eq!(r.log.lock().unwrap().cancelled, 1);
    assert!(r.handle.is_stopped());
    let err = r.handle.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn offline_backs_off_and_flags_long_failures_then_recovers() {
    let cfg = RuntimeConfig {
        failing_threshold: Duration::from_secs(5 * 60),
        ..config(true)
    };
    let mut script = vec![Step::Fail(ErrorCode::Network); 5];
    script.push(Step::Ok);
    let r = rig(script, cfg);
    settle().await;
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::Offline);
    assert!(
        s.message.as_deref().unwrap().starts_with("Offline"),
        "{s:?}"
    );
    assert!(!s.failing_long);
    // The fourth failure (at 420 s) is more than 5 minutes after the first: notify.
    tokio::time::sleep(Duration::from_secs(430)).await;
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::Offline);
    assert!(s.failing_long, "{s:?}");
    // Tries at 0, 60, 60+120, 180+240, 420+480 and then the 15-minute cap: the wait
    // doubles. The sixth try works and clears the failure.
    tokio::time::sleep(Duration::from_secs(1800 - 430 + 30)).await;
    let secs: Vec<u64> = r.offsets().iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, vec![0, 60, 180, 420, 900, 1800]);
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::Idle);
    assert!(!s.failing_long);
    assert!(s.failing_since.is_none());
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn repeated_errors_set_the_failing_long_flag() {
    let cfg = RuntimeConfig {
        failing_threshold: Duration::from_secs(5 * 60),
        ..config(true)
    };
    let r = rig(vec![Step::Fail(ErrorCode::Internal)], cfg);
    settle().await;
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::Error);
    assert_eq!(s.message.as_deref(), Some("fake failure Internal"));
    assert!(!s.failing_long);
    tokio::time::sleep(Duration::from_secs(420 + 1)).await;
    let s = r.handle.status();
    assert!(s.failing_long, "{s:?}");
    assert!(s.failing_since.is_some());
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn needs_reconnect_is_reported_in_words() {
    let r = rig(vec![Step::Fail(ErrorCode::NeedsReconnect)], config(true));
    settle().await;
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::NeedsReconnect);
    assert!(s.message.unwrap().contains("NeedsReconnect"));
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn held_deletions_need_a_decision_and_polling_goes_on() {
    let r = rig(
        vec![Step::Held(25), Step::Held(25), Step::Held(25), Step::Ok],
        config(true),
    );
    settle().await;
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::NeedsDecision);
    assert_eq!(s.held_deletes, 25);
    assert_eq!(
        s.message.as_deref(),
        Some("Bookline is holding 25 deletions for your decision.")
    );
    assert!(s.last_sync.is_some(), "the pass itself succeeded");
    // Polling goes on (the rest of the calendar keeps syncing) and the state stays.
    tokio::time::sleep(POLL + POLL / 2).await;
    assert_eq!(r.passes(), 2);
    assert_eq!(r.handle.status().state, SyncPhase::NeedsDecision);
    // Pausing and resuming does not forget it.
    r.handle.pause().await.unwrap();
    assert_eq!(r.handle.status().state, SyncPhase::Paused);
    r.handle.resume().await.unwrap();
    settle().await;
    assert_eq!(r.handle.status().state, SyncPhase::NeedsDecision);
    // Decided: the next pass holds nothing and the state is back to idle.
    r.handle.sync_now().await.unwrap();
    let s = r.handle.status();
    assert_eq!(s.state, SyncPhase::Idle);
    assert_eq!(s.held_deletes, 0);
    assert_eq!(s.message, None);
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn hold_cancels_the_pass_and_blocks_new_ones_until_dropped() {
    let r = rig(vec![Step::Hang, Step::Ok], config(true));
    settle().await;
    assert_eq!(r.passes(), 1);
    let guard = r.handle.hold().await;
    assert_eq!(r.log.lock().unwrap().cancelled, 1);
    r.handle.request_sync();
    tokio::time::sleep(POLL * 3).await;
    assert_eq!(r.passes(), 1, "no pass while held");
    drop(guard);
    // The poll that was waiting runs, then one pass serves both queued requests.
    let report = r.handle.sync_now().await.unwrap();
    assert_eq!(report.created_in_google, 1);
    assert_eq!(r.passes(), 3);
    r.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn not_connected_skips_passes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("bookline.sqlite3")).unwrap());
    let account = Arc::new(
        AccountService::new(
            store,
            Arc::new(MemorySecretStore::new()),
            Endpoints::from_base("http://127.0.0.1:9").unwrap(),
            Some(OAuthClientConfig::new("id", "secret")),
            false,
        )
        .unwrap(),
    );
    let log = Arc::new(Mutex::new(Log::default()));
    let pass = Arc::new(FakePass {
        script: vec![Step::Ok],
        log: log.clone(),
    });
    let handle = SyncRuntime::spawn(account.clone(), pass, config(true));
    tokio::time::sleep(POLL * 3).await;
    assert!(log.lock().unwrap().starts.is_empty());
    assert_eq!(handle.status().state, SyncPhase::Idle);
    assert_eq!(
        handle.sync_now().await.unwrap_err().code,
        ErrorCode::NotConnected
    );
    let status = account.status().unwrap();
    assert!(!status.connected);
    assert_eq!(status.sync.state, SyncPhase::Idle);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_new_poll_interval_counts_from_the_last_poll() {
    let r = rig(vec![Step::Ok], config(true));
    tokio::time::sleep(Duration::from_secs(10)).await;
    r.handle.set_poll_interval(Duration::from_secs(15));
    tokio::time::sleep(Duration::from_secs(40)).await;
    let secs: Vec<u64> = r.offsets().iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, vec![0, 15, 30, 45]);
    r.handle.shutdown().await;
}
