//! Staying under Google's per-user quota, and waiting well when Google says slow down.
//!
//! `TokenBucket` is the pure core (time is passed in, so tests use a fake clock);
//! `RateLimiter` wraps it for async callers. `Backoff` is the pure retry policy.

use crate::google::{GoogleError, GoogleErrorKind};
use rand::Rng;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: holds up to `capacity` tokens, refilled continuously at
/// `refill_per_sec`. A request for more tokens than the capacity waits for a full bucket
/// and then goes into debt, so large batches pass but the long-run rate still holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    /// Time of the last refill, on the caller's clock.
    last: Duration,
}

impl TokenBucket {
    /// A full bucket at time `now`. `capacity` ≥ 1 and `refill_per_sec` > 0 are
    /// enforced (a zero rate would wait forever).
    pub fn new(capacity: f64, refill_per_sec: f64, now: Duration) -> Self {
        let capacity = capacity.max(1.0);
        Self {
            capacity,
            refill_per_sec: refill_per_sec.max(f64::MIN_POSITIVE),
            tokens: capacity,
            last: now,
        }
    }

    /// Sized so that no window of length `window` ever sees more than `limit` requests:
    /// a steady rate of `limit × safety` per window plus a burst of the rest. With
    /// Google's 600/minute and a safety factor of 0.9: 9 requests/s and a burst of 60.
    pub fn for_quota(limit: u32, window: Duration, safety: f64, now: Duration) -> Self {
        let safety = safety.clamp(0.01, 1.0);
        let limit = f64::from(limit.max(1));
        // The epsilon keeps 600 × (1 − 0.9) = 59.999… from flooring to 59.
        let capacity = (limit * (1.0 - safety) + 1e-6).floor().max(1.0);
        let window_secs = window.as_secs_f64().max(0.001);
        let rate = (limit - capacity).max(1.0) / window_secs;
        Self::new(capacity, rate, now)
    }

    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    pub fn refill_per_sec(&self) -> f64 {
        self.refill_per_sec
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let elapsed = (now - self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
            self.last = now;
        }
    }

    /// Takes `n` tokens at time `now`, or says how long to wait before trying again.
    pub fn try_acquire(&mut self, n: u32, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        let n = f64::from(n);
        let needed = n.min(self.capacity);
        if self.tokens >= needed {
            self.tokens -= n;
            Ok(())
        } else {
            let secs = (needed - self.tokens) / self.refill_per_sec;
            // Round up to a whole microsecond so the retry is never a hair too early.
            Err(Duration::from_micros((secs * 1e6).ceil() as u64).max(Duration::from_micros(1)))
        }
    }
}

/// An async, shareable limiter around a `TokenBucket` on the tokio clock (so paused-time
/// tests can drive it).
#[derive(Debug)]
pub struct RateLimiter {
    origin: Instant,
    bucket: Mutex<TokenBucket>,
}

impl RateLimiter {
    /// See `TokenBucket::for_quota`.
    pub fn for_quota(limit: u32, window: Duration, safety: f64) -> Self {
        Self {
            origin: Instant::now(),
            bucket: Mutex::new(TokenBucket::for_quota(
                limit,
                window,
                safety,
                Duration::ZERO,
            )),
        }
    }

    /// Google's per-user quota: `requests_per_minute` × `safety`.
    pub fn per_minute(requests_per_minute: u32, safety: f64) -> Self {
        Self::for_quota(requests_per_minute, Duration::from_secs(60), safety)
    }

    /// Waits until `n` requests may be sent (a batch of 50 calls counts as 50).
    pub async fn acquire(&self, n: u32) {
        loop {
            let wait = {
                let mut bucket = self.bucket.lock().await;
                match bucket.try_acquire(n, self.origin.elapsed()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Why a request failed in a way worth retrying (the Google client classifies errors
/// into this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// 403 `rateLimitExceeded`/`userRateLimitExceeded` or 429; `retry_after` when the
    /// answer had a `Retry-After` header.
    RateLimited { retry_after: Option<Duration> },
    /// 500/502/503/504 (`backendError`).
    ServerError,
    /// Connection reset, timeout: the request may or may not have arrived.
    Network,
}

impl RetryClass {
    /// How a Google error should be retried, or `None` when retrying cannot help
    /// (4xx other than rate limits, a broken answer, a grant that needs reconnecting).
    pub fn of(error: &GoogleError) -> Option<RetryClass> {
        if error.is_rate_limit() {
            Some(RetryClass::RateLimited {
                retry_after: error.retry_after,
            })
        } else if !error.is_retryable() {
            None
        } else if matches!(error.kind, GoogleErrorKind::Api) {
            Some(RetryClass::ServerError)
        } else {
            Some(RetryClass::Network)
        }
    }
}

/// Exponential backoff with full jitter: attempt k (0-based) waits a uniformly random
/// time in [0, min(cap, base × 2^k)]. Rate limits start from a larger base than server
/// errors — the quota refills per minute, so hammering it again soon only burns requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub rate_limit_base: Duration,
    pub cap: Duration,
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            rate_limit_base: Duration::from_secs(1),
            cap: Duration::from_secs(32),
            max_retries: 6,
        }
    }
}

impl Backoff {
    /// The ceiling of the wait before retry number `retry` (0-based).
    pub fn ceiling(&self, retry: u32, class: RetryClass) -> Duration {
        let base = match class {
            RetryClass::RateLimited { .. } => self.rate_limit_base,
            RetryClass::ServerError | RetryClass::Network => self.base,
        };
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        base.checked_mul(factor).unwrap_or(self.cap).min(self.cap)
    }

    /// How long to wait before retry number `retry` (0-based), or `None` when the
    /// retries are used up. A `Retry-After` from Google is a floor, never shortened.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry: u32,
        class: RetryClass,
        rng: &mut R,
    ) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        let ceiling = self.ceiling(retry, class).as_millis() as u64;
        let jittered = Duration::from_millis(rng.random_range(0..=ceiling));
        Some(match class {
            RetryClass::RateLimited {
                retry_after: Some(after),
            } => jittered.max(after),
            _ => jittered,
        })
    }
}
