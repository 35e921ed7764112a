//! One sync pass or transfer at a time per data dir, across processes: the tray app's
//! background pass and a terminal's `bookline sync` (or `backfill`) must not read the
//! same sync token and import the same new Google event twice.
//!
//! Two layers:
//! - in the process, an async mutex, so the background loop, "Sync now" and a transfer
//!   queue without blocking a thread;
//! - across processes, an OS file lock on `sync.lock` in the data dir (`flock` on Unix,
//!   `LockFileEx` on Windows, through std's `File::try_lock`): the OS drops it when the
//!   holder exits, also on a crash or SIGKILL, so a dead process never leaves the data dir
//!   locked. Beside it `sync.owner` says who holds it ("bookline sync in a terminal",
//!   "the Bookline window"), for the sentence a waiting process shows; it is only ever a
//!   hint and never trusted for the locking itself.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{AppError, ErrorCode};

/// The lock file in the data dir.
pub const LOCK_FILE: &str = "sync.lock";
/// Who holds the lock, in words (a hint for the waiting side).
pub const OWNER_FILE: &str = "sync.owner";

/// How often a waiting process tries the file lock again.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// The data dir's sync lock. Cheap to share (`Arc`); one per `App`.
#[derive(Debug)]
pub struct SyncLock {
    lock_path: PathBuf,
    owner_path: PathBuf,
    /// This process, in words: "the Bookline window", "bookline sync in a terminal".
    holder: String,
    local: Arc<Mutex<()>>,
}

/// Held while a pass or a transfer runs; dropping it lets the next one in (closing the
/// file releases the OS lock).
#[derive(Debug)]
pub struct SyncLockGuard {
    _file: File,
    _local: OwnedMutexGuard<()>,
}

impl SyncLock {
    pub fn new(data_dir: &Path, holder: impl Into<String>) -> Self {
        Self {
            lock_path: data_dir.join(LOCK_FILE),
            owner_path: data_dir.join(OWNER_FILE),
            holder: holder.into(),
            local: Arc::new(Mutex::new(())),
        }
    }

    /// Who holds the lock now, as its holder described itself; `None` when nobody does
    /// (or the hint is unreadable).
    pub fn current_owner(&self) -> Option<String> {
        std::fs::read_to_string(&self.owner_path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Takes the lock for `what` ("a sync pass", "Synchronize Google Calendar"), waiting
    /// up to `wait` for another process to finish. `on_wait` is called once, with the
    /// other holder's description, when this call has to wait for another process.
    /// Fails with `ErrorCode::Busy` after `wait`, `Cancelled` when `cancel` fires.
    pub async fn acquire(
        &self,
        what: &str,
        wait: Duration,
        cancel: &CancellationToken,
        on_wait: impl FnOnce(&str),
    ) -> Result<SyncLockGuard, AppError> {
        let cancelled = || AppError::new(ErrorCode::Cancelled, "Sync was cancelled.");
        let local = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled()),
            g = self.local.clone().lock_owned() => g,
        };
        let file = self.open()?;
        let deadline = Instant::now() + wait;
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => {
                    return Err(AppError::new(
                        ErrorCode::Storage,
                        format!(
                            "Bookline could not lock {} to sync: {e}",
                            self.lock_path.display()
                        ),
                    ))
                }
            }
            let owner = self.owner_words();
            if let Some(f) = on_wait.take() {
                tracing::info!(owner = %owner, "{what} waits for another Bookline process");
                f(&owner);
            }
            if Instant::now() >= deadline {
                return Err(AppError::new(
                    ErrorCode::Busy,
                    format!(
                        "A sync is running in {owner}; Bookline did not start {what} \
                         meanwhile. Try again when it has finished."
                    ),
                ));
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(cancelled()),
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
        // Only a hint: a failure to write it changes nothing about the lock. Written only
        // when it names someone else, so an idle poll of the same process writes nothing.
        let hint = format!("{} (pid {})", self.holder, std::process::id());
        if self.current_owner().as_deref() != Some(hint.as_str()) {
            if let Err(e) = std::fs::write(&self.owner_path, hint) {
                tracing::debug!("could not write {}: {e}", self.owner_path.display());
            }
        }
        Ok(SyncLockGuard {
            _file: file,
            _local: local,
        })
    }

    fn open(&self) -> Result<File, AppError> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Storage,
                    format!(
                        "Bookline could not open {} to sync: {e}",
                        self.lock_path.display()
                    ),
                )
            })
    }

    fn owner_words(&self) -> String {
        self.current_owner()
            .unwrap_or_else(|| "another Bookline process".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_then_reports_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let window = SyncLock::new(dir.path(), "the Bookline window");
        // A second `SyncLock` on the same dir stands for a second process: the OS lock
        // is per open file, so it conflicts within one process too.
        let terminal = SyncLock::new(dir.path(), "bookline sync in a terminal");
        let cancel = CancellationToken::new();
        let held = window
            .acquire("a sync pass", Duration::ZERO, &cancel, |_| {})
            .await
            .unwrap();
        let mut told = None;
        let err = terminal
            .acquire("a sync pass", Duration::from_millis(120), &cancel, |o| {
                told = Some(o.to_owned())
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Busy);
        assert!(
            err.message
                .starts_with("A sync is running in the Bookline window (pid "),
            "{}",
            err.message
        );
        assert!(told.unwrap().starts_with("the Bookline window"));
        drop(held);
        terminal
            .acquire("a sync pass", Duration::ZERO, &cancel, |_| {})
            .await
            .expect("free once the first one is done");
    }

    #[tokio::test]
    async fn a_waiting_holder_gets_the_lock_when_it_is_released_and_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let a = SyncLock::new(dir.path(), "a");
        let b = SyncLock::new(dir.path(), "b");
        let cancel = CancellationToken::new();
        let held = a
            .acquire("x", Duration::ZERO, &cancel, |_| {})
            .await
            .unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(held);
        });
        b.acquire("x", Duration::from_secs(10), &cancel, |_| {})
            .await
            .expect("acquired after the release");
        release.await.unwrap();

        let c = SyncLock::new(dir.path(), "c");
        let stop = CancellationToken::new();
        stop.cancel();
        let err = c
            .acquire("x", Duration::from_secs(10), &stop, |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Cancelled);
    }
}
