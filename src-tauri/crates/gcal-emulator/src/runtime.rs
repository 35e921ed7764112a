//! Non-persistent runtime state: the fault plan, quota windows and request statistics.

use std::collections::{BTreeMap, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::errors::ApiError;

/// What an injected fault does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// 500 backendError (the call is not executed).
    #[serde(rename = "backend_500")]
    Backend500,
    /// 503 backendError (the call is not executed).
    #[serde(rename = "backend_503")]
    Backend503,
    /// 429 rateLimitExceeded (the call is not executed).
    #[serde(rename = "rate_limit_429")]
    RateLimit429,
    /// 403 rateLimitExceeded (the call is not executed).
    #[serde(rename = "rate_limit_403")]
    RateLimit403,
    /// 403 userRateLimitExceeded (the call is not executed).
    #[serde(rename = "user_rate_limit_403")]
    UserRateLimit403,
    /// 410 fullSyncRequired (the call is not executed): a sync token Google stopped
    /// honouring, at whichever page the plan picks (`skip_first`).
    #[serde(rename = "full_sync_required_410")]
    FullSyncRequired410,
    /// The call IS executed, then the connection is cut mid-response.
    #[serde(rename = "drop_connection")]
    DropConnection,
    /// The call IS executed, then the 2xx JSON body is cut in half.
    #[serde(rename = "truncated_json")]
    TruncatedJson,
    /// The call IS executed, then the body is replaced by invalid JSON.
    #[serde(rename = "malformed_json")]
    MalformedJson,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Backend500 => "backend_500",
            FaultKind::Backend503 => "backend_503",
            FaultKind::RateLimit429 => "rate_limit_429",
            FaultKind::RateLimit403 => "rate_limit_403",
            FaultKind::UserRateLimit403 => "user_rate_limit_403",
            FaultKind::FullSyncRequired410 => "full_sync_required_410",
            FaultKind::DropConnection => "drop_connection",
            FaultKind::TruncatedJson => "truncated_json",
            FaultKind::MalformedJson => "malformed_json",
        }
    }
    /// Faults that replace the answer by an error status without executing the call.
    pub fn is_status(self) -> bool {
        !matches!(
            self,
            FaultKind::DropConnection | FaultKind::TruncatedJson | FaultKind::MalformedJson
        )
    }
    pub fn error(self) -> ApiError {
        match self {
            FaultKind::Backend500 => ApiError::backend(500),
            FaultKind::Backend503 => ApiError::backend(503),
            FaultKind::RateLimit429 => ApiError::rate_limit(429),
            FaultKind::RateLimit403 => ApiError::rate_limit(403),
            FaultKind::FullSyncRequired410 => ApiError::full_sync_required(),
            _ => ApiError::user_rate_limit(403),
        }
    }
}

/// The plan posted to `POST /_emulator/faults`. Every field is optional; `{}` clears.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Seed of the random choices (rate and kind), for reproducible runs.
    pub seed: u64,
    /// Probability in [0, 1] that an eligible call fails.
    pub rate: f64,
    /// Kinds to choose from (uniformly). Empty: `["backend_503"]`.
    pub kinds: Vec<FaultKind>,
    /// The next N eligible calls fail for sure (kinds taken in order, cycling).
    pub fail_next: u32,
    /// The first N eligible calls pass untouched before `fail_next` and `rate` apply
    /// (e.g. `routes: ["events.list"], skip_first: 1`: page 1 of a listing is read, the
    /// next page fails).
    pub skip_first: u32,
    /// Route names the faults apply to (e.g. `"events.insert"`, `"batch"`). Empty: all
    /// Calendar API routes and the batch endpoint.
    pub routes: Vec<String>,
    /// Delay added to every Calendar API and batch request.
    pub latency_ms: u64,
    /// One-shot: every sync token issued so far answers 410 fullSyncRequired on next use.
    pub expire_sync_tokens: bool,
    /// One-shot: revoke every grant (refresh and access tokens) of these emails.
    pub revoke_grants_for: Vec<String>,
    /// How new conference requests (`conferenceData.createRequest`) end: `success`
    /// (default), `failure` or `pending`. Setting a plan with `success` completes every
    /// pending conference (its event gets a new etag, so sync tokens return it).
    pub conference: crate::conference::ConferenceFault,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Calls per user per window; 0 disables the limit.
    pub per_user_per_minute: u64,
    /// Calls per project (all users) per window; 0 disables the limit.
    pub per_project_per_minute: u64,
    /// Window length in milliseconds ("a minute").
    pub window_ms: u64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            per_user_per_minute: 600,
            per_project_per_minute: 10_000,
            window_ms: 60_000,
        }
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: BTreeMap<(String, String, u16), u64>,
    pub batch_sizes: Vec<usize>,
    pub quota_user: u64,
    pub quota_project: u64,
    pub faults: BTreeMap<&'static str, u64>,
    /// Successful event writes by their `sendUpdates` value: none, all, externalOnly,
    /// missing (no parameter).
    pub send_updates: [u64; 4],
}

/// The index of a `sendUpdates` value in the write counters (`None`: not given).
pub fn send_updates_bucket(v: Option<&str>) -> usize {
    match v {
        Some("none") => 0,
        Some("all") => 1,
        Some("externalOnly") => 2,
        _ => 3,
    }
}

impl Stats {
    pub fn to_json(&self) -> Value {
        let mut by_route: BTreeMap<&str, u64> = BTreeMap::new();
        let mut total = 0;
        let rows: Vec<Value> = self
            .requests
            .iter()
            .map(|((m, r, s), c)| {
                *by_route.entry(r.as_str()).or_default() += c;
                total += c;
                json!({"method": m, "route": r, "status": s, "count": c})
            })
            .collect();
        json!({
            "total": total,
            "requests": rows,
            "by_route": by_route,
            "batches": {
                "count": self.batch_sizes.len(),
                "parts": self.batch_sizes.iter().sum::<usize>(),
                "sizes": self.batch_sizes,
            },
            "quota_rejections": {
                "user": self.quota_user,
                "project": self.quota_project,
                "total": self.quota_user + self.quota_project,
            },
            "faults_injected": self.faults,
            "send_updates": {
                "none": self.send_updates[0],
                "all": self.send_updates[1],
                "externalOnly": self.send_updates[2],
                "missing": self.send_updates[3],
            },
        })
    }
}

pub struct Runtime {
    pub plan: FaultPlan,
    rng: ChaCha8Rng,
    fail_next_left: u32,
    fail_next_idx: usize,
    skip_left: u32,
    pub quota: QuotaConfig,
    user_windows: HashMap<String, (i64, u64)>,
    project_window: (i64, u64),
    pub stats: Stats,
    /// Mails Google would have sent for the event writes since start or
    /// `/_emulator/reset` (not cleared by a stats reset: it is a record, not a count).
    pub mail_outbox: Vec<crate::mail::WouldBeMail>,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            plan: FaultPlan::default(),
            rng: ChaCha8Rng::seed_from_u64(0),
            fail_next_left: 0,
            fail_next_idx: 0,
            skip_left: 0,
            quota: QuotaConfig::default(),
            user_windows: HashMap::new(),
            project_window: (0, 0),
            stats: Stats::default(),
            mail_outbox: Vec::new(),
        }
    }
}

impl Runtime {
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.rng = ChaCha8Rng::seed_from_u64(plan.seed);
        self.fail_next_left = plan.fail_next;
        self.fail_next_idx = 0;
        self.skip_left = plan.skip_first;
        self.plan = plan;
    }

    pub fn set_quota(&mut self, q: QuotaConfig) {
        self.quota = q;
        self.user_windows.clear();
        self.project_window = (0, 0);
    }

    pub fn record(&mut self, method: &str, route: &str, status: u16) {
        *self
            .stats
            .requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    /// Decides whether this call fails; `allow_body` admits the kinds that corrupt the
    /// response of an executed call (not possible for a part inside a batch).
    pub fn decide_fault(&mut self, route: &str, allow_body: bool) -> Option<FaultKind> {
        let plan = &self.plan;
        if plan.rate <= 0.0 && self.fail_next_left == 0 {
            return None;
        }
        if !plan.routes.is_empty() && !plan.routes.iter().any(|r| r == route) {
            return None;
        }
        let kinds: Vec<FaultKind> = if plan.kinds.is_empty() {
            vec![FaultKind::Backend503]
        } else {
            plan.kinds
                .iter()
                .copied()
                .filter(|k| allow_body || k.is_status())
                .collect()
        };
        if kinds.is_empty() {
            return None;
        }
        if self.skip_left > 0 {
            self.skip_left -= 1;
            return None;
        }
        let kind = if self.fail_next_left > 0 {
            self.fail_next_left -= 1;
            let k = kinds[self.fail_next_idx % kinds.len()];
            self.fail_next_idx += 1;
            k
        } else if self.rng.random_bool(plan.rate.clamp(0.0, 1.0)) {
            kinds[self.rng.random_range(0..kinds.len())]
        } else {
            return None;
        };
        *self.stats.faults.entry(kind.name()).or_default() += 1;
        Some(kind)
    }

    /// Counts one call of `user` against the quotas; an error when over a limit.
    pub fn quota_check(&mut self, user: &str, now_ms: i64) -> Result<(), ApiError> {
        let q = self.quota;
        let window = i64::try_from(q.window_ms.max(1)).unwrap_or(60_000);
        if now_ms - self.project_window.0 >= window {
            self.project_window = (now_ms, 0);
        }
        let uw = self
            .user_windows
            .entry(user.to_string())
            .or_insert((now_ms, 0));
        if now_ms - uw.0 >= window {
            *uw = (now_ms, 0);
        }
        if q.per_user_per_minute > 0 && uw.1 >= q.per_user_per_minute {
            self.stats.quota_user += 1;
            return Err(ApiError::user_rate_limit(403));
        }
        if q.per_project_per_minute > 0 && self.project_window.1 >= q.per_project_per_minute {
            self.stats.quota_project += 1;
            return Err(ApiError::rate_limit(429));
        }
        uw.1 += 1;
        self.project_window.1 += 1;
        Ok(())
    }
}
