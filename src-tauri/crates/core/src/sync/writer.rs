//! Talking to Google for the sync engine and backfill: every call goes through the rate
//! limiter, transient failures (5xx, 403/429 rate limits, dropped connections) are retried
//! with exponential backoff and jitter, bulk writes go in batches of at most 50, and one
//! failing item never stops the others — its outcome says what happened to it.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::{AppError, ErrorCode};

use crate::google::{
    decode_events_page, BatchCall, BatchResult, CalendarClient, Event, EventsPage, GoogleError,
    GoogleErrorKind, ListParams, WriteOptions, MAX_RECOMMENDED_BATCH,
};
use crate::ratelimit::{Backoff, RateLimiter, RetryClass};
use crate::sync::error::SyncError;

/// One write (or read-back) for one item.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteCall {
    /// `events.insert` with the client-chosen id in the event.
    Insert(Box<Event>, WriteOptions),
    /// `events.patch` with `If-Match` when the etag is known.
    Patch {
        event_id: String,
        body: Value,
        if_match: Option<String>,
        options: WriteOptions,
    },
    /// `events.delete` with `If-Match` when the etag is known: an event edited in
    /// Google since it was read is not deleted (412 → `Outcome::Stale`).
    Delete {
        event_id: String,
        if_match: Option<String>,
    },
    Get {
        event_id: String,
    },
}

impl WriteCall {
    /// A write that may email someone or create a conference goes as a request of its
    /// own, never in a batch (`BatchCall` always sends `sendUpdates=none`).
    pub fn goes_alone(&self) -> bool {
        match self {
            WriteCall::Insert(_, options) | WriteCall::Patch { options, .. } => {
                *options != WriteOptions::default()
            }
            WriteCall::Delete { .. } | WriteCall::Get { .. } => false,
        }
    }

    fn to_batch(&self) -> Result<BatchCall, GoogleError> {
        Ok(match self {
            WriteCall::Insert(event, _) => BatchCall::insert(event)?,
            WriteCall::Patch {
                event_id,
                body,
                if_match,
                ..
            } => BatchCall::patch(event_id.clone(), body.clone(), if_match.as_deref()),
            WriteCall::Delete { event_id, if_match } => {
                BatchCall::delete(event_id.clone(), if_match.as_deref())
            }
            WriteCall::Get { event_id } => BatchCall::get(event_id.clone()),
        })
    }
}

/// What became of one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Insert, patch or get answered with the event.
    Event(Box<Event>),
    /// The delete worked, or the event was already gone (410/404): either way it is gone.
    Deleted,
    /// 409 on insert: the id exists (an earlier attempt arrived). Read it back and link.
    Duplicate,
    /// 412 on a patch or delete: the event changed in Google since it was read. Read it
    /// back and decide again.
    Stale,
    /// 404/410 on a patch or get: the event does not exist (any more).
    Missing,
    /// Failed for good, or still failing after the retries.
    Failed(GoogleError),
}

/// Limits and pacing.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub backoff: Backoff,
    /// Fewer calls than this go one by one; more go in batches (a batch answer is
    /// slower to build and parse, and one call gains nothing from it).
    pub batch_min: usize,
    pub batch_size: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            batch_min: 4,
            batch_size: MAX_RECOMMENDED_BATCH,
        }
    }
}

/// Google access for one calendar, paced and retried.
pub struct Writer<'a> {
    pub client: &'a CalendarClient,
    pub calendar: &'a str,
    pub limiter: &'a RateLimiter,
    pub options: &'a WriterOptions,
    pub cancel: &'a CancellationToken,
}

/// A spawned task that is aborted when its handle is dropped: a read ahead that nobody
/// waits for any more (the transfer was cancelled or failed) stops with it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Errors that end the whole pass instead of one item: the grant is gone (or the keyring
/// is unavailable), or the user cancelled.
fn fatal(error: &GoogleError) -> Option<SyncError> {
    match &error.kind {
        GoogleErrorKind::Token(app) if app.code != ErrorCode::Network => {
            Some(SyncError::Account(app.clone()))
        }
        _ if error.is_auth() => Some(SyncError::Account(AppError::from(error.clone()))),
        _ => None,
    }
}

impl Writer<'_> {
    async fn pause(&self, wait: Duration) -> Result<(), SyncError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(SyncError::Cancelled),
            _ = tokio::time::sleep(wait) => Ok(()),
        }
    }

    async fn acquire(&self, n: usize) -> Result<(), SyncError> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        tokio::select! {
            _ = self.cancel.cancelled() => Err(SyncError::Cancelled),
            _ = self.limiter.acquire(n) => Ok(()),
        }
    }

    /// Runs `call` under the limiter, retrying transient failures. `Err` only for
    /// fatal errors; a failure that retrying could not fix is `Ok(Err(..))`.
    pub(crate) async fn retried<T, F, Fut>(
        &self,
        mut call: F,
    ) -> Result<Result<T, GoogleError>, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, GoogleError>>,
    {
        let mut retry = 0;
        loop {
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            self.acquire(1).await?;
            match call().await {
                Ok(v) => return Ok(Ok(v)),
                Err(e) => {
                    if let Some(f) = fatal(&e) {
                        return Err(f);
                    }
                    let Some(class) = RetryClass::of(&e) else {
                        return Ok(Err(e));
                    };
                    let Some(wait) = self.options.backoff.delay(retry, class, &mut rand::rng())
                    else {
                        return Ok(Err(e));
                    };
                    tracing::debug!(retry, ?wait, error = %e, "retrying a Google call");
                    retry += 1;
                    self.pause(wait).await?;
                }
            }
        }
    }

    /// One page of `events.list`, retried. A failure here fails the read (and the pass):
    /// a partial read must never be taken for the whole calendar.
    pub async fn list_page(&self, params: &ListParams) -> Result<EventsPage, SyncError> {
        match self
            .retried(|| self.client.list_events(self.calendar, params))
            .await?
        {
            Ok(page) => Ok(page),
            Err(e) => Err(SyncError::Google(e)),
        }
    }

    /// `list_page` with each attempt's request and the wait for its answer on a task of
    /// their own, so they go on while the caller's task is busy (a transfer stores one page
    /// while the next is read). The answer is decoded here, on the caller's task: decoded
    /// on another thread, the events' memory stayed in that thread's allocator arena after
    /// the transfer (+40 MB resident after a 10,000-event import). Pacing, retries and
    /// cancellation are `list_page`'s; dropping the future stops the task.
    pub async fn list_page_on_task(&self, params: &ListParams) -> Result<EventsPage, SyncError> {
        let attempt = || {
            let client = self.client.clone();
            let calendar = self.calendar.to_owned();
            let params = params.clone();
            let task = AbortOnDrop(tokio::spawn(async move {
                client.list_events_body(&calendar, &params).await
            }));
            async move {
                let mut task = task;
                match (&mut task.0).await {
                    Ok(body) => body.and_then(|body| decode_events_page(&body)),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutting down cancels it (we hold the handle).
                    Err(_) => Err(GoogleError {
                        kind: GoogleErrorKind::Transport {
                            timeout: false,
                            connect: false,
                        },
                        status: None,
                        reason: None,
                        message: "The read of the calendar was stopped".to_owned(),
                        retry_after: None,
                    }),
                }
            }
        };
        match self.retried(attempt).await? {
            Ok(page) => Ok(page),
            Err(e) => Err(SyncError::Google(e)),
        }
    }

    /// Runs the calls, in batches when there are enough of them. One outcome per call,
    /// in order.
    pub async fn run(&self, calls: &[WriteCall]) -> Result<Vec<Outcome>, SyncError> {
        if !calls.iter().any(WriteCall::goes_alone) {
            return self.run_plain(calls).await;
        }
        let (alone, rest): (Vec<usize>, Vec<usize>) =
            (0..calls.len()).partition(|&i| calls[i].goes_alone());
        let rest_calls: Vec<WriteCall> = rest.iter().map(|&i| calls[i].clone()).collect();
        let mut out: Vec<Option<Outcome>> = vec![None; calls.len()];
        for (i, outcome) in rest.into_iter().zip(self.run_plain(&rest_calls).await?) {
            out[i] = Some(outcome);
        }
        for i in alone {
            out[i] = Some(self.one(&calls[i]).await?);
        }
        Ok(out
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Failed(GoogleError::from_response(500, b"", None)))
            })
            .collect())
    }

    /// `run` for calls that may go in a batch.
    async fn run_plain(&self, calls: &[WriteCall]) -> Result<Vec<Outcome>, SyncError> {
        if calls.len() < self.options.batch_min.max(1) {
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                out.push(self.one(call).await?);
            }
            return Ok(out);
        }
        let mut out = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(self.options.batch_size.clamp(1, MAX_RECOMMENDED_BATCH)) {
            out.extend(self.batch(chunk).await?);
        }
        Ok(out)
    }

    /// `run` with each call sent to its own calendar (`None`: this writer's): the writes
    /// of appointments linked in another calendar go there. One outcome per call, in
    /// order.
    pub async fn run_in(
        &self,
        calls: &[WriteCall],
        calendars: &[Option<String>],
    ) -> Result<Vec<Outcome>, SyncError> {
        let calendar_of = |i: usize| {
            calendars
                .get(i)
                .and_then(Option::as_deref)
                .unwrap_or(self.calendar)
        };
        if (0..calls.len()).all(|i| calendar_of(i) == self.calendar) {
            return self.run(calls).await;
        }
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for i in 0..calls.len() {
            let cal = calendar_of(i);
            match groups.iter_mut().find(|(c, _)| *c == cal) {
                Some((_, members)) => members.push(i),
                None => groups.push((cal, vec![i])),
            }
        }
        let mut out: Vec<Option<Outcome>> = vec![None; calls.len()];
        for (calendar, members) in groups {
            let writer = Writer { calendar, ..*self };
            let sub: Vec<WriteCall> = members.iter().map(|&i| calls[i].clone()).collect();
            for (i, outcome) in members.into_iter().zip(writer.run(&sub).await?) {
                out[i] = Some(outcome);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Failed(GoogleError::from_response(500, b"", None)))
            })
            .collect())
    }

    async fn one(&self, call: &WriteCall) -> Result<Outcome, SyncError> {
        let c = self.client;
        let cal = self.calendar;
        let result = match call {
            WriteCall::Insert(event, options) => self
                .retried(|| c.insert_event_with(cal, event, *options))
                .await?
                .map(|e| Outcome::Event(Box::new(e))),
            WriteCall::Patch {
                event_id,
                body,
                if_match,
                options,
            } => self
                .retried(|| c.patch_event_with(cal, event_id, body, if_match.as_deref(), *options))
                .await?
                .map(|e| Outcome::Event(Box::new(e))),
            WriteCall::Delete { event_id, if_match } => self
                .retried(|| c.delete_event(cal, event_id, if_match.as_deref()))
                .await?
                .map(|()| Outcome::Deleted),
            WriteCall::Get { event_id } => self
                .retried(|| c.get_event(cal, event_id))
                .await?
                .map(|e| Outcome::Event(Box::new(e))),
        };
        Ok(result.unwrap_or_else(|e| classify(call, e)))
    }

    /// One batch; calls whose part failed transiently go again (with backoff) in a
    /// smaller batch, until they succeed or the retries are used up.
    async fn batch(&self, calls: &[WriteCall]) -> Result<Vec<Outcome>, SyncError> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; calls.len()];
        let mut pending: Vec<usize> = Vec::with_capacity(calls.len());
        for (i, call) in calls.iter().enumerate() {
            match call.to_batch() {
                Ok(_) => pending.push(i),
                Err(e) => outcomes[i] = Some(Outcome::Failed(e)),
            }
        }
        let mut retry = 0;
        let mut last_class: Option<RetryClass>;
        while !pending.is_empty() {
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let batch: Vec<BatchCall> = pending
                .iter()
                .filter_map(|&i| calls[i].to_batch().ok())
                .collect();
            self.acquire(batch.len()).await?;
            let results: Vec<BatchResult> = match self.client.batch(self.calendar, batch).await {
                Ok(r) => r,
                Err(e) => {
                    if let Some(f) = fatal(&e) {
                        return Err(f);
                    }
                    // The whole batch failed; retry it whole, or give every call the error.
                    match RetryClass::of(&e)
                        .and_then(|c| self.options.backoff.delay(retry, c, &mut rand::rng()))
                    {
                        Some(wait) => {
                            retry += 1;
                            self.pause(wait).await?;
                            continue;
                        }
                        None => {
                            for &i in &pending {
                                outcomes[i] = Some(classify(&calls[i], e.clone()));
                            }
                            break;
                        }
                    }
                }
            };
            let mut again = Vec::new();
            last_class = None;
            for (&i, result) in pending.iter().zip(results) {
                match result {
                    Ok(part) => {
                        outcomes[i] = Some(match &calls[i] {
                            WriteCall::Delete { .. } => Outcome::Deleted,
                            _ => match part.event() {
                                Ok(event) => Outcome::Event(Box::new(event)),
                                Err(e) => Outcome::Failed(e),
                            },
                        });
                    }
                    Err(e) => {
                        if let Some(f) = fatal(&e) {
                            return Err(f);
                        }
                        match RetryClass::of(&e) {
                            Some(class) if retry < self.options.backoff.max_retries => {
                                // A rate limit outranks a server error for the wait.
                                if !matches!(last_class, Some(RetryClass::RateLimited { .. })) {
                                    last_class = Some(class);
                                }
                                outcomes[i] = Some(classify(&calls[i], e));
                                again.push(i);
                            }
                            _ => outcomes[i] = Some(classify(&calls[i], e)),
                        }
                    }
                }
            }
            pending = again;
            if let Some(class) = last_class {
                // Computed before the await: `ThreadRng` is not `Send`, and a temporary
                // in the `if let` would live across the pause.
                let delay = self.options.backoff.delay(retry, class, &mut rand::rng());
                if let Some(wait) = delay {
                    retry += 1;
                    self.pause(wait).await?;
                } else {
                    break;
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Failed(GoogleError::from_response(500, b"", None)))
            })
            .collect())
    }
}

/// The outcome of a call that failed with `e`.
fn classify(call: &WriteCall, e: GoogleError) -> Outcome {
    match call {
        WriteCall::Insert(..) if e.is_duplicate() => Outcome::Duplicate,
        WriteCall::Delete { .. } if e.is_gone() || e.is_not_found() => Outcome::Deleted,
        WriteCall::Patch { .. } | WriteCall::Delete { .. } if e.is_precondition_failed() => {
            Outcome::Stale
        }
        WriteCall::Patch { .. } | WriteCall::Get { .. } if e.is_gone() || e.is_not_found() => {
            Outcome::Missing
        }
        _ => Outcome::Failed(e),
    }
}
