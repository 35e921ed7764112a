//! The background sync loop (no Tauri): one tokio task that runs a sync pass every poll
//! interval and otherwise sleeps.
//!
//! - Sleeping is `tokio::select!` over a command channel, a shutdown token and one
//!   `sleep_until` for the next due time; nothing spins while idle.
//! - It wakes on `sync_now`, on `wake` (the machine resumed, the network came back), on
//!   `resume`, and on `crm_changed` after a short debounce (a burst of edits is one pass;
//!   a steady stream still syncs after `debounce_max`).
//! - A network failure puts the state to `offline` and the next tries back off; other
//!   failures show `error` with the sentence and back off the same way. A refused grant
//!   shows `needs_reconnect`, and no pass runs (nothing is written) until the account is
//!   reconnected.
//! - The state is published on a `watch` channel; the shell maps it to the
//!   `status-changed` event and the tray icon.
//! - `shutdown` cancels the pass in flight through its `CancellationToken` (the engine
//!   stops between writes; the outbox keeps what was not sent) and waits for the task.
//!
//! The pass itself is behind `SyncPass`, so the loop is tested with a fake pass and the
//! real engine is plugged in by the shell.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch, OwnedMutexGuard};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::account::{AccountService, Readiness};
use crate::error::{AppError, ErrorCode};

/// What one sync pass did: the engine's report, one type for every front.
pub use crate::sync::engine::SyncReport;

/// The boxed future a `SyncPass` returns.
pub type PassFuture<'a> = Pin<Box<dyn Future<Output = Result<SyncReport, AppError>> + Send + 'a>>;

/// One ongoing-sync pass. The runtime calls it only when an account is connected and not
/// waiting for a reconnect; `cancel` fires on shutdown or when the account is being
/// removed, and the pass should return soon after (with `ErrorCode::Cancelled`).
pub trait SyncPass: Send + Sync {
    fn run<'a>(&'a self, account: &'a AccountService, cancel: CancellationToken) -> PassFuture<'a>;
}

/// The loop's state, as the UI and the tray show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SyncPhase {
    Idle,
    Syncing,
    Paused,
    Offline,
    Error,
    NeedsReconnect,
    /// Passes go on, but deletions are held until the user chooses Delete them or Keep
    /// them (`sync::held`).
    NeedsDecision,
}

/// `AppStatus.sync`: the phase and, when there is something to say, a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncLine {
    pub state: SyncPhase,
    pub message: Option<String>,
}

/// Everything the loop publishes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncLoopStatus {
    pub state: SyncPhase,
    pub message: Option<String>,
    /// End of the last successful pass.
    pub last_sync: Option<DateTime<Utc>>,
    pub last_report: Option<SyncReport>,
    /// The user paused sync (the state may still be `syncing` for an explicit Sync now).
    pub paused: bool,
    /// When the current run of failed passes began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Passes have failed for longer than `RuntimeConfig::failing_threshold`: time for a
    /// desktop notification.
    pub failing_long: bool,
    /// Passes run since start (successful or not).
    pub passes: u64,
    /// Deletions held for the user's decision, as the last successful pass left them.
    pub held_deletes: u32,
}

impl SyncLoopStatus {
    pub fn line(&self) -> SyncLine {
        SyncLine {
            state: self.state,
            message: self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Time between the starts of two polls.
    pub poll_interval: Duration,
    /// Quiet time after a CRM change before the pass that sends it.
    pub debounce: Duration,
    /// Longest a change waits while edits keep coming.
    pub debounce_max: Duration,
    /// Longest wait between tries while offline or failing.
    pub backoff_max: Duration,
    /// Failing this long sets `failing_long`.
    pub failing_threshold: Duration,
    /// Run a pass as soon as the loop starts (the app just opened).
    pub run_at_start: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(60),
            debounce: Duration::from_secs(2),
            debounce_max: Duration::from_secs(10),
            backoff_max: Duration::from_secs(15 * 60),
            failing_threshold: Duration::from_secs(10 * 60),
            run_at_start: true,
        }
    }
}

enum Command {
    SyncNow(Option<oneshot::Sender<Result<SyncReport, AppError>>>),
    Wake,
    CrmChanged,
    Pause(oneshot::Sender<()>),
    Resume(oneshot::Sender<()>),
    SetPollInterval(Duration),
    Refresh,
}

struct Shared {
    /// Held by a running pass, and by `hold()` while the account is being changed.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// The running pass's token, and how many `hold()`s are waiting or active. One mutex
    /// so a pass either sees a holder (and does not start) or a holder sees its token.
    current: Mutex<Current>,
    shutdown: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Current {
    cancel: Option<CancellationToken>,
    holders: usize,
}

impl Shared {
    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        // Only replaced field by field under the lock: a panic elsewhere leaves it usable.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Controls the loop; cheap to clone.
#[derive(Clone)]
pub struct SyncRuntimeHandle {
    tx: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<SyncLoopStatus>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SyncRuntimeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRuntimeHandle")
            .field("status", &*self.status.borrow())
            .finish()
    }
}

/// Keeps passes from running while the account is connected or removed. Dropping it lets
/// the loop go on.
pub struct PassGuard {
    _gate: OwnedMutexGuard<()>,
    shared: Arc<Shared>,
}

impl Drop for PassGuard {
    fn drop(&mut self) {
        let mut current = self.shared.current();
        current.holders = current.holders.saturating_sub(1);
    }
}

fn stopped() -> AppError {
    AppError::new(ErrorCode::Cancelled, "Background sync has stopped.")
}

impl SyncRuntimeHandle {
    /// The state right now.
    pub fn status(&self) -> SyncLoopStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every change (`changed().await`).
    pub fn subscribe(&self) -> watch::Receiver<SyncLoopStatus> {
        self.status.clone()
    }

    /// Runs a pass now (also while paused: the user asked explicitly) and returns its
    /// report. A pass already running finishes first; this one follows it.
    pub async fn sync_now(&self) -> Result<SyncReport, AppError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::SyncNow(Some(tx)))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Asks for a pass soon without waiting for it (after connecting, for instance).
    pub fn request_sync(&self) {
        let _ = self.tx.send(Command::SyncNow(None));
    }

    /// The machine woke from sleep or the network came back: try now unless paused.
    pub fn wake(&self) {
        let _ = self.tx.send(Command::Wake);
    }

    /// An appointment changed in the CRM; a pass follows after the debounce.
    pub fn crm_changed(&self) {
        let _ = self.tx.send(Command::CrmChanged);
    }

    /// Stops polling until `resume`. Returns once the new state is published. A pass in
    /// flight finishes.
    pub async fn pause(&self) -> Result<(), AppError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Pause(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// Polls again, starting with a pass right away.
    pub async fn resume(&self) -> Result<(), AppError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Resume(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// The user saved a new poll interval.
    pub fn set_poll_interval(&self, interval: Duration) {
        let _ = self.tx.send(Command::SetPollInterval(interval));
    }

    /// Republish the state after the account changed (connected, removed).
    pub fn refresh(&self) {
        let _ = self.tx.send(Command::Refresh);
    }

    /// Cancels the pass in flight, waits for it to return, and keeps new ones from
    /// starting until the guard is dropped.
    pub async fn hold(&self) -> PassGuard {
        {
            let mut current = self.shared.current();
            current.holders += 1;
            if let Some(cancel) = &current.cancel {
                cancel.cancel();
            }
        }
        let gate = self.shared.gate.clone().lock_owned().await;
        PassGuard {
            _gate: gate,
            shared: self.shared.clone(),
        }
    }

    /// Stops the loop: the pass in flight is cancelled and the task awaited.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let task = self
            .shared
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::warn!("the sync loop ended abnormally: {e}");
            }
        }
    }

    /// Whether the loop's task has ended.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }
}

pub struct SyncRuntime;

impl SyncRuntime {
    /// Starts the loop on the current tokio runtime and attaches it to `account` (so
    /// `disconnect` can stop sync and `status` can show it).
    pub fn spawn(
        account: Arc<AccountService>,
        pass: Arc<dyn SyncPass>,
        config: RuntimeConfig,
    ) -> SyncRuntimeHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let initial = SyncLoopStatus {
            state: SyncPhase::Idle,
            message: None,
            last_sync: account.last_sync().ok().flatten(),
            last_report: None,
            paused: false,
            failing_since: None,
            failing_long: false,
            passes: 0,
            held_deletes: 0,
        };
        let (status_tx, status_rx) = watch::channel(initial);
        let shared = Arc::new(Shared {
            gate: Arc::new(tokio::sync::Mutex::new(())),
            current: Mutex::new(Current::default()),
            shutdown: CancellationToken::new(),
            task: Mutex::new(None),
        });
        let handle = SyncRuntimeHandle {
            tx,
            status: status_rx,
            shared: shared.clone(),
        };
        let worker = Worker {
            account: account.clone(),
            pass,
            config,
            rx,
            status: status_tx,
            shared: shared.clone(),
            paused: false,
            failures: 0,
            failing_since: None,
            next_poll: None,
            change_deadline: None,
            first_change: None,
            waiters: Vec::new(),
        };
        let task = tokio::spawn(worker.run());
        *shared
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
        account.attach_runtime(handle.clone());
        handle
    }
}

struct Worker {
    account: Arc<AccountService>,
    pass: Arc<dyn SyncPass>,
    config: RuntimeConfig,
    rx: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<SyncLoopStatus>,
    shared: Arc<Shared>,
    paused: bool,
    failures: u32,
    failing_since: Option<(Instant, DateTime<Utc>)>,
    /// When the next poll is due (None while paused).
    next_poll: Option<Instant>,
    change_deadline: Option<Instant>,
    first_change: Option<Instant>,
    waiters: Vec<oneshot::Sender<Result<SyncReport, AppError>>>,
}

impl Worker {
    async fn run(mut self) {
        let now = Instant::now();
        self.next_poll = Some(if self.config.run_at_start {
            now
        } else {
            now + self.config.poll_interval
        });
        self.publish_idle();
        loop {
            let wake_at = if self.paused {
                None
            } else {
                match (self.next_poll, self.change_deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            let mut run = tokio::select! {
                biased;
                _ = self.shared.shutdown.cancelled() => break,
                cmd = self.rx.recv() => match cmd {
                    None => break,
                    Some(cmd) => self.command(cmd),
                },
                _ = sleep_until_opt(wake_at) => true,
            };
            // Whatever else is already queued (Sync now clicked twice, a burst of wakes)
            // is served by the same pass.
            while let Ok(cmd) = self.rx.try_recv() {
                run |= self.command(cmd);
            }
            if run && !self.pass().await {
                break;
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(Err(stopped()));
        }
        tracing::debug!("sync loop stopped");
    }

    /// Applies a command; true when a pass should run now.
    fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::SyncNow(waiter) => {
                if let Some(w) = waiter {
                    self.waiters.push(w);
                }
                true
            }
            Command::Wake => !self.paused,
            Command::CrmChanged => {
                if !self.paused {
                    let now = Instant::now();
                    let first = *self.first_change.get_or_insert(now);
                    self.change_deadline =
                        Some((now + self.config.debounce).min(first + self.config.debounce_max));
                }
                false
            }
            Command::Pause(ack) => {
                self.paused = true;
                self.change_deadline = None;
                self.first_change = None;
                self.publish_idle();
                let _ = ack.send(());
                false
            }
            Command::Resume(ack) => {
                let was_paused = std::mem::replace(&mut self.paused, false);
                self.publish_idle();
                let _ = ack.send(());
                was_paused
            }
            Command::SetPollInterval(interval) => {
                let interval = interval.max(Duration::from_secs(1));
                let old = self.config.poll_interval;
                self.config.poll_interval = interval;
                // Keep the last poll as the reference point: a shorter interval may make
                // the next one due now.
                if let Some(next) = self.next_poll {
                    self.next_poll = Some(next.checked_sub(old).unwrap_or(next) + interval);
                }
                false
            }
            Command::Refresh => {
                self.failures = 0;
                self.failing_since = None;
                self.publish_idle();
                false
            }
        }
    }

    /// The resting state: paused, not connected, needs reconnect, or as the last pass
    /// left it.
    fn publish_idle(&self) {
        let readiness = self.account.readiness();
        self.status.send_modify(|s| {
            s.paused = self.paused;
            match readiness {
                Readiness::NeedsReconnect(message) => {
                    s.state = SyncPhase::NeedsReconnect;
                    s.message = Some(message);
                }
                Readiness::NotConnected => {
                    s.state = if self.paused {
                        SyncPhase::Paused
                    } else {
                        SyncPhase::Idle
                    };
                    s.message = None;
                    s.failing_since = None;
                    s.failing_long = false;
                    // The tray must not say "Last synced …" for an account that is gone.
                    s.last_sync = None;
                    s.last_report = None;
                    s.held_deletes = 0;
                }
                Readiness::Ready if self.paused => {
                    s.state = SyncPhase::Paused;
                    s.message = Some("Sync is paused.".to_owned());
                }
                // After a failure the error stays shown until a pass succeeds.
                Readiness::Ready if self.failures == 0 && s.held_deletes > 0 => {
                    s.state = SyncPhase::NeedsDecision;
                    s.message = Some(crate::sync::held::sentence(s.held_deletes));
                }
                Readiness::Ready if self.failures == 0 => {
                    s.state = SyncPhase::Idle;
                    s.message = None;
                }
                Readiness::Ready => {}
            }
        });
    }

    fn interval_after_failures(&self) -> Duration {
        if self.failures == 0 {
            return self.config.poll_interval;
        }
        let factor = 1u32 << self.failures.saturating_sub(1).min(16);
        self.config
            .poll_interval
            .saturating_mul(factor)
            .min(self.config.backoff_max.max(self.config.poll_interval))
    }

    /// Runs one pass (or explains why not). False when the loop must stop.
    async fn pass(&mut self) -> bool {
        let started = Instant::now();
        let waiters = std::mem::take(&mut self.waiters);
        self.change_deadline = None;
        self.first_change = None;
        let gate = self.shared.gate.clone();
        let _guard = tokio::select! {
            biased;
            _ = self.shared.shutdown.cancelled() => {
                reply(waiters, Err(stopped()));
                return false;
            }
            g = gate.lock_owned() => g,
        };
        let cancel = {
            let mut current = self.shared.current();
            if current.holders > 0 {
                None
            } else {
                let token = self.shared.shutdown.child_token();
                current.cancel = Some(token.clone());
                Some(token)
            }
        };
        let Some(cancel) = cancel else {
            // The account is being connected or removed; try again at the next poll.
            self.next_poll = Some(started + self.config.poll_interval);
            reply(
                waiters,
                Err(AppError::new(
                    ErrorCode::Cancelled,
                    "Sync was skipped while the Google account is being changed.",
                )),
            );
            return true;
        };
        let result = match self.account.readiness() {
            Readiness::NotConnected => Err(AppError::new(
                ErrorCode::NotConnected,
                "No Google account is connected.",
            )),
            Readiness::NeedsReconnect(message) => {
                Err(AppError::new(ErrorCode::NeedsReconnect, message))
            }
            Readiness::Ready => {
                self.status.send_modify(|s| {
                    s.state = SyncPhase::Syncing;
                    s.message = None;
                });
                let result = self.pass.run(&self.account, cancel.clone()).await;
                // The count and the pass's report change together: a watcher on another
                // thread that sees the count advance (the shell's, between this change
                // and `settle`'s) reads this pass's report, not the one before it.
                self.status.send_modify(|s| {
                    s.passes += 1;
                    if let Ok(report) = &result {
                        s.last_report = Some(report.clone());
                    }
                });
                // One line per pass at debug level: the idle measurement and the
                // end-to-end tests count polls with it (`BOOKLINE_LOG`).
                tracing::debug!(
                    passes = self.status.borrow().passes,
                    ok = result.is_ok(),
                    ms = started.elapsed().as_millis() as u64,
                    "sync pass"
                );
                result
            }
        };
        self.shared.current().cancel = None;
        drop(_guard);
        if self.shared.shutdown.is_cancelled() {
            reply(waiters, Err(stopped()));
            return false;
        }
        self.settle(&result, started);
        reply(waiters, result);
        true
    }

    /// Publishes the outcome and schedules the next poll.
    fn settle(&mut self, result: &Result<SyncReport, AppError>, started: Instant) {
        let rest = if self.paused {
            SyncPhase::Paused
        } else {
            SyncPhase::Idle
        };
        match result {
            Ok(report) => {
                self.failures = 0;
                self.failing_since = None;
                // The pass saved its time (`sync::service::run_pass`); this is the loop's view.
                let now = Utc::now();
                let message = match report.errors.len() {
                    0 if self.paused => Some("Sync is paused.".to_owned()),
                    0 if report.held_deletes > 0 => {
                        Some(crate::sync::held::sentence(report.held_deletes))
                    }
                    0 => None,
                    1 => Some("1 item could not be synced; see Sync activity.".to_owned()),
                    n => Some(format!("{n} items could not be synced; see Sync activity.")),
                };
                let state = if report.held_deletes > 0 && !self.paused {
                    SyncPhase::NeedsDecision
                } else {
                    rest
                };
                self.status.send_modify(|s| {
                    s.held_deletes = report.held_deletes;
                    s.state = state;
                    s.message = message;
                    s.last_sync = Some(now);
                    s.last_report = Some(report.clone());
                    s.failing_since = None;
                    s.failing_long = false;
                });
            }
            Err(e) if e.code == ErrorCode::NotConnected => {
                self.failures = 0;
                self.failing_since = None;
                self.publish_idle();
            }
            Err(e) if e.code == ErrorCode::Cancelled => self.publish_idle(),
            // Another process (a terminal's `bookline sync` or `backfill`) holds the data
            // dir's sync lock: not a failure of this loop, so no backoff; the next poll
            // tries again, and the sentence says why nothing happened meanwhile.
            Err(e) if e.code == ErrorCode::Busy => {
                self.publish_idle();
                let message = e.message.clone();
                self.status.send_modify(|s| s.message = Some(message));
            }
            Err(e) if e.code == ErrorCode::NeedsReconnect => {
                let message = e.message.clone();
                self.status.send_modify(|s| {
                    s.state = SyncPhase::NeedsReconnect;
                    s.message = Some(message);
                });
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                let now = (Instant::now(), Utc::now());
                let since = *self.failing_since.get_or_insert(now);
                let failing_long = now.0.duration_since(since.0) >= self.config.failing_threshold;
                let retry = self.interval_after_failures();
                let (state, message) = if e.code == ErrorCode::Network {
                    (
                        SyncPhase::Offline,
                        format!(
                            "Offline: Bookline cannot reach Google right now. It will try again in {}.",
                            words(retry)
                        ),
                    )
                } else {
                    (SyncPhase::Error, e.message.clone())
                };
                self.status.send_modify(|s| {
                    s.state = if self.paused {
                        SyncPhase::Paused
                    } else {
                        state
                    };
                    s.message = Some(message);
                    s.failing_since = Some(since.1);
                    s.failing_long = failing_long;
                });
            }
        }
        self.next_poll = Some(started + self.interval_after_failures());
    }
}

fn reply(
    waiters: Vec<oneshot::Sender<Result<SyncReport, AppError>>>,
    result: Result<SyncReport, AppError>,
) {
    for w in waiters {
        let _ = w.send(result.clone());
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// "45 seconds", "2 minutes", "1 hour".
fn words(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs < 90 {
        (secs, "second")
    } else if secs < 90 * 60 {
        ((secs + 30) / 60, "minute")
    } else {
        ((secs + 1800) / 3600, "hour")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::words;
    use std::time::Duration;

    #[test]
    fn durations_in_words() {
        assert_eq!(words(Duration::from_secs(1)), "1 second");
        assert_eq!(words(Duration::from_secs(60)), "60 seconds");
        assert_eq!(words(Duration::from_secs(120)), "2 minutes");
        assert_eq!(words(Duration::from_secs(3600)), "60 minutes");
        assert_eq!(words(Duration::from_secs(7200)), "2 hours");
    }
}
