//! Sync benchmark against the gcal-emulator (issues 6 and 7). Run once, in release:
//! `cargo run --release -p bookline-core --example sync_bench`.
//!
//! Without arguments it starts its own emulators and prints a table: pull of 10,000 new
//! Google events, push of 2,000 new appointments at a quota of 600 per (shortened)
//! window, backfill Google→CRM of 10,000 and CRM→Google of 2,000, and the requests of an
//! idle pass.
//!
//! With `--case NAME --base-url URL --token T --calendar CAL --json` it runs one case of
//! `bench/run.sh` against that emulator (state, quota and seeded events prepared by the
//! script) and prints one JSON object: `bookline_s`, `requests` (calls as the quota
//! counts them), `http_requests`, `quota_rejections`, `rss_mb`. Cases: `import-N` (the
//! calendar's events into Bookline: backfill Google→CRM), `push-N-…` (N new appointments
//! to Google by an ongoing-sync pass; Bookline always batches), `incremental-N` (the N
//! events already imported and linked, a second client renames one: the pass that brings
//! it in), `idle-N` (the same, nothing changes: polls at a shortened interval, with CPU,
//! memory and requests per poll).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bookline_core::google::{
    BatchCall, CalendarClient, Endpoints, Event, EventDateTime, StaticTokenSource,
};
use bookline_core::model::{AppointmentInput, Lead, Origin, Status, Timing};
use bookline_core::store::{ChangeSource, Store};
use bookline_core::sync::backfill::{self, BackfillRequest};
use bookline_core::sync::engine::{AccountContext, EngineOptions, SyncEngine};
use bookline_core::sync::privacy::PrivacySettings;
use bookline_core::sync::Direction;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use gcal_emulator::{Emulator, EmulatorOptions};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error>;

/// The shortened quota window: 600 requests per this many milliseconds.
const WINDOW_MS: u64 = 3000;

struct Bench {
    emu: Emulator,
    http: reqwest::Client,
    client: CalendarClient,
    calendar: String,
    _dir: tempfile::TempDir,
    store: Store,
}

impl Bench {
    async fn new(email: &str) -> Result<Bench, BoxError> {
        let emu = Emulator::start(EmulatorOptions::default()).await?;
        let http = reqwest::Client::new();
        let acct: Value = http
            .post(format!("{}/_emulator/accounts", emu.base_url()))
            .json(&json!({ "email": email }))
            .send()
            .await?
            .json()
            .await?;
        let token = acct["access_token"].as_str().ok_or("no token")?.to_owned();
        let calendar = acct["calendar_id"]
            .as_str()
            .ok_or("no calendar")?
            .to_owned();
        let client = CalendarClient::new(
            Endpoints::from_base(emu.base_url())?,
            Arc::new(StaticTokenSource::new(token)),
        )?;
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("bench.sqlite3"))?;
        Ok(Bench {
            emu,
            http,
            client,
            calendar,
            _dir: dir,
            store,
        })
    }

    async fn control(&self, path: &str, body: Value) -> Result<Value, BoxError> {
        Ok(self
            .http
            .post(format!("{}/_emulator/{path}", self.emu.base_url()))
            .json(&body)
            .send()
            .await?
            .json()
            .await?)
    }

    async fn stats(&self) -> Result<Value, BoxError> {
        Ok(self
            .http
            .get(format!("{}/_emulator/stats", self.emu.base_url()))
            .send()
            .await?
            .json()
            .await?)
    }

    async fn reset_stats(&self) -> Result<(), BoxError> {
        self.control("stats/reset", json!({})).await.map(|_| ())
    }

    async fn quota(&self, per_window: u64, window_ms: u64) -> Result<(), BoxError> {
        self.control(
            "quota",
            json!({"per_user_per_minute": per_window, "per_project_per_minute": 0, "window_ms": window_ms}),
        )
        .await
        .map(|_| ())
    }

    fn ctx(&self, connected_at: DateTime<Utc>, direction: Direction) -> AccountContext {
        AccountContext {
            calendar_id: self.calendar.clone(),
            connected_at,
            direction,
            privacy: PrivacySettings::default(),
            default_reminder_minutes: None,
        }
    }

    /// `n` new events, inserted with batches of 1000 (quota off meanwhile).
    async fn seed_new_events(&self, n: usize) -> Result<(), BoxError> {
        self.quota(0, 60_000).await?;
        let calls: Vec<BatchCall> = (0..n)
            .map(|i| BatchCall::insert(&event(i)))
            .collect::<Result<_, _>>()?;
        for chunk in calls.chunks(1000) {
            self.client.batch(&self.calendar, chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// `n` events that look older than the connection (control endpoint, one by one,
    /// 16 in flight).
    async fn seed_old_events(&self, n: usize) -> Result<(), BoxError> {
        let url = format!("{}/_emulator/events/{}", self.emu.base_url(), self.calendar);
        for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
            let mut tasks = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let mut body = serde_json::to_value(event(i))?;
                body["created"] = json!("2020-01-01T00:00:00.000Z");
                body["updated"] = json!("2020-01-01T00:00:00.000Z");
                let req = self.http.post(&url).json(&body);
                tasks.push(tokio::spawn(async move { req.send().await }));
            }
            for t in tasks {
                t.await??;
            }
        }
        Ok(())
    }

    fn seed_appointments(&self, n: usize) -> Result<(), BoxError> {
        for i in 0..n {
            self.store
                .create_appointment(appointment(i), Origin::Crm, ChangeSource::User)?;
        }
        Ok(())
    }
}

fn start_of(i: usize) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2027, 1, 4, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    base + ChronoDuration::minutes(i64::try_from(i).unwrap_or(0) * 45)
}

fn event(i: usize) -> Event {
    let start = start_of(i);
    Event {
        summary: Some(format!("Google meeting {i}")),
        start: Some(EventDateTime::timed(
            start.fixed_offset(),
            Some("UTC".into()),
        )),
        end: Some(EventDateTime::timed(
            (start + ChronoDuration::minutes(30)).fixed_offset(),
            Some("UTC".into()),
        )),
        ..Event::default()
    }
}

fn appointment(i: usize) -> AppointmentInput {
    let start = start_of(i) + ChronoDuration::minutes(15);
    AppointmentInput {
        title: format!("Demo with lead {i}"),
        timing: Timing::Timed {
            start,
            end: start + ChronoDuration::minutes(30),
        },
        timezone: "Europe/Berlin".into(),
        location: String::new(),
        notes: String::new(),
        lead: Lead::default(),
        status: Status::Booked,
        recurrence: None,
    }
}

fn engine(per_window: u32, window_ms: u64) -> SyncEngine {
    SyncEngine::new(EngineOptions {
        quota_per_window: per_window,
        quota_window: Duration::from_millis(window_ms),
        ..EngineOptions::default()
    })
}

struct Row {
    what: &'static str,
    items: usize,
    secs: f64,
    requests: u64,
    detail: String,
}

fn route(stats: &Value, name: &str) -> u64 {
    stats["by_route"][name].as_u64().unwrap_or(0)
}

/// `--name value` from the command line.
fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The storage floor under an import of the rows in `source`: the same rows (appointments
/// with their search index, links, activity, transfer job and items) copied into a fresh
/// database of the same schema by set-based `INSERT … SELECT`, 1,000 appointments (with
/// their links and activity) per transaction like the import's chunks. No reading,
/// decoding or deciding and no statement per row: what any import into this schema pays
/// at least. Seconds.
fn storage_floor(source: &std::path::Path, dir: &std::path::Path) -> Result<f64, BoxError> {
    let target = Store::open(&dir.join("floor.sqlite3"))?;
    // The page cache a transfer has (`Store::bulk_cache`): the floor is storage under the
    // same settings, not a smaller cache's re-reads.
    let _cache = target.bulk_cache();
    let src = source.to_str().ok_or("the database path is not UTF-8")?;
    // The imported file with its write-ahead log folded in (not timed): reads through a
    // long log are slower, and how long it is depends on the import's commit sizes.
    target.read(|c| {
        c.execute("ATTACH DATABASE ?1 AS src", [src])
            .map_err(|e| target.error("attach the imported database", e))?;
        c.query_row("PRAGMA src.wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| target.error("checkpoint the imported database", e))?;
        Ok(())
    })?;
    let t = Instant::now();
    let max_row: i64 = target.read(|c| {
        c.query_row(
            "SELECT COALESCE(MAX(row_key), 0) FROM src.appointments",
            [],
            |r| r.get(0),
        )
        .map_err(|e| target.error("read the imported database", e))
    })?;
    target.write("copy the job", |tx| {
        tx.execute_batch(
            "INSERT INTO backfill_jobs SELECT * FROM src.backfill_jobs; \
             INSERT INTO backfill_items SELECT * FROM src.backfill_items;",
        )
        .map_err(|e| target.error("copy the job", e))
    })?;
    let mut from = 0i64;
    while from <= max_row {
        let to = from + 1000;
        target.write("copy a chunk", |tx| {
            let rows = "SELECT id FROM src.appointments WHERE row_key >= ?1 AND row_key < ?2";
            for sql in [
                "INSERT INTO appointments SELECT * FROM src.appointments \
                 WHERE row_key >= ?1 AND row_key < ?2"
                    .to_owned(),
                format!("INSERT INTO links SELECT * FROM src.links WHERE appointment_id IN ({rows})"),
                format!(
                    "INSERT INTO activity SELECT * FROM src.activity WHERE appointment_id IN ({rows})"
                ),
            ] {
                tx.execute(&sql, [from, to])
                    .map_err(|e| target.error("copy a chunk", e))?;
            }
            Ok(())
        })?;
        from = to;
    }
    let secs = t.elapsed().as_secs_f64();
    // Every row copied, or the number means nothing.
    let (copied, imported): (i64, i64) = target.read(|c| {
        c.query_row(
            "SELECT (SELECT COUNT(*) FROM appointments) + (SELECT COUNT(*) FROM links), \
             (SELECT COUNT(*) FROM src.appointments) + (SELECT COUNT(*) FROM src.links)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| target.error("count the copy", e))
    })?;
    if copied != imported {
        return Err(format!("the floor copied {copied} of {imported} rows").into());
    }
    Ok(secs)
}

/// Peak resident memory of this process in MB (Linux), for the harness's `rss_mb`.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn emulator_stats(http: &reqwest::Client, base: &str) -> Result<Value, BoxError> {
    Ok(http
        .get(format!("{base}/_emulator/stats"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

async fn reset_stats(http: &reqwest::Client, base: &str) -> Result<(), BoxError> {
    http.post(format!("{base}/_emulator/stats/reset"))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// A second client (the user on their phone) renames one event through the API.
async fn edit_one_event(
    http: &reqwest::Client,
    base: &str,
    calendar: &str,
    token: &str,
    summary: &str,
) -> Result<(), BoxError> {
    let events = format!("{base}/calendar/v3/calendars/{calendar}/events");
    let page: Value = http
        .get(&events)
        .bearer_auth(token)
        .query(&[("maxResults", "1")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = page["items"][0]["id"].as_str().ok_or("no event to edit")?;
    http.patch(format!("{events}/{id}"))
        .bearer_auth(token)
        .json(&json!({ "summary": summary }))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// One change among the calendar's events, `INCREMENTAL_REPEATS` times (default 5): a
/// second client renames an event, then the one pass that brings it into SQLite. The
/// median pass is `bookline_s`; every pass is in `pass_s`.
#[allow(clippy::too_many_arguments)]
async fn incremental_case(
    case: &str,
    e: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    cancel: &CancellationToken,
) -> Result<(), BoxError> {
    let repeats: usize = std::env::var("INCREMENTAL_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut passes = Vec::with_capacity(repeats);
    let mut requests = 0;
    for k in 0..repeats {
        let summary = format!("Renamed on the phone ({k})");
        edit_one_event(http, base, &ctx.calendar_id, token, &summary).await?;
        reset_stats(http, base).await?;
        let t = Instant::now();
        let r = e.run_pass(store, client, ctx, cancel).await?;
        passes.push(t.elapsed().as_secs_f64());
        let others = r.created_in_crm
            + r.deleted_in_crm
            + r.created_in_google
            + r.updated_in_google
            + r.deleted_in_google;
        if r.updated_in_crm != 1 || others != 0 || !r.errors.is_empty() {
            return Err(format!("expected exactly one CRM update, got {r:?}").into());
        }
        let stats = emulator_stats(http, base).await?;
        requests = requests.max(stats["total"].as_u64().unwrap_or(0));
    }
    let mut sorted = passes.clone();
    sorted.sort_by(f64::total_cmp);
    let out = json!({
        "case": case,
        "bookline_s": sorted[sorted.len() / 2],
        "pass_s": passes,
        // The most any of the passes needed.
        "requests": requests,
        "quota_rejections": 0,
        "rss_mb": peak_rss_mb(),
    });
    println!("{out}");
    Ok(())
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> Option<f64> {
    // /proc/self/stat fields 14 and 15 (utime, stime) in clock ticks; the comm field
    // (2) may hold spaces, so count from the closing parenthesis.
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    Some((utime + stime) / 100.0)
}

/// Current resident memory of this process in MB.
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Idle with the calendar in Bookline: `IDLE_POLLS` polls (default 120) at a shortened
/// interval (`IDLE_POLL_MS`, default 500 ms) with nothing changing. Reports the requests
/// per poll (so per hour at the default 60 s poll), the mean pass time, and CPU and
/// memory of the process over the whole idle stretch, sleeping included.
#[allow(clippy::too_many_arguments)]
async fn idle_case(
    case: &str,
    e: &SyncEngine,
    store: &Store,
    client: &CalendarClient,
    ctx: &AccountContext,
    http: &reqwest::Client,
    base: &str,
    cancel: &CancellationToken,
) -> Result<(), BoxError> {
    let env_num = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let polls = env_num("IDLE_POLLS", 120).max(1);
    let interval = Duration::from_millis(env_num("IDLE_POLL_MS", 500));
    reset_stats(http, base).await?;
    let cpu0 = cpu_seconds().ok_or("no /proc/self/stat")?;
    let wall0 = Instant::now();
    let mut in_pass = Duration::ZERO;
    for _ in 0..polls {
        let t = Instant::now();
        let r = e.run_pass(store, client, ctx, cancel).await?;
        in_pass += t.elapsed();
        if r.changed_anything() || !r.errors.is_empty() {
            return Err(format!("an idle pass did something: {r:?}").into());
        }
        tokio::time::sleep(interval).await;
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().ok_or("no /proc/self/stat")? - cpu0;
    let stats = emulator_stats(http, base).await?;
    let requests = stats["total"].as_u64().unwrap_or(0);
    let per_poll = requests as f64 / polls as f64;
    let out = json!({
        "case": case,
        "bookline_s": in_pass.as_secs_f64() / polls as f64,
        "polls": polls,
        "poll_interval_ms": interval.as_millis() as u64,
        "requests": requests,
        "requests_per_poll": per_poll,
        "requests_per_hour_at_60s_poll": per_poll * 60.0,
        "quota_rejections": stats["quota_rejections"]["total"],
        // CPU over the idle stretch at the shortened interval; at the default 60 s poll
        // the same passes are spread over 120x the time.
        "cpu_percent": 100.0 * cpu / wall,
        "cpu_percent_at_60s_poll": 100.0 * cpu / (polls as f64 * 60.0),
        "rss_mb": rss_mb(),
    });
    println!("{out}");
    Ok(())
}

/// One case of `bench/run.sh` against its emulator.
async fn run_case(args: &[String]) -> Result<(), BoxError> {
    let case = arg(args, "--case").ok_or("--case is required")?;
    let base = arg(args, "--base-url").ok_or("--base-url is required")?;
    let token = arg(args, "--token").ok_or("--token is required")?;
    let calendar = arg(args, "--calendar").ok_or("--calendar is required")?;
    let http = reqwest::Client::new();
    let quota: Value = http
        .get(format!("{base}/_emulator/quota"))
        .send()
        .await?
        .json()
        .await?;
    let per_window = quota["per_user_per_minute"].as_u64().unwrap_or(0);
    let window_ms = quota["window_ms"].as_u64().unwrap_or(60_000).max(1);
    // Quota off at the emulator: pace as Google's real 600 per minute would not matter
    // for these few list calls, so use a generous limit.
    let e = if per_window == 0 {
        engine(100_000, 60_000)
    } else {
        engine(u32::try_from(per_window).unwrap_or(600), window_ms)
    };
    let client = CalendarClient::new(
        Endpoints::from_base(&base)?,
        Arc::new(StaticTokenSource::new(token.clone())),
    )?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.sqlite3"))?;
    let cancel = CancellationToken::new();
    let connected_at = Utc::now() - ChronoDuration::seconds(1);
    let ctx = AccountContext {
        calendar_id: calendar,
        connected_at,
        direction: Direction::Both,
        privacy: PrivacySettings::default(),
        default_reminder_minutes: None,
    };
    let count = |prefix: &str| -> Result<usize, BoxError> {
        Ok(case
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('-').next())
            .ok_or("unknown case")?
            .parse()?)
    };
    let mut floor: Option<f64> = None;
    // The import's start and end on the wall clock, for bench/profile-import.sh: `perf
    // record -k realtime` stamps its samples on the same clock, so a profile can keep
    // only the timed part (not the store's opening, the client's setup or the floor).
    let mut timed: Option<(f64, f64)> = None;
    let (secs, items) = if case.starts_with("import-") {
        let req = BackfillRequest {
            direction: Direction::GoogleToCrm,
            since: None,
            until: None,
        };
        let from = unix_s();
        let t = Instant::now();
        let p = backfill::start(&e, &store, &client, &ctx, &req, |_| {}, &cancel).await?;
        let secs = t.elapsed().as_secs_f64();
        timed = Some((from, unix_s()));
        floor = Some(storage_floor(
            &dir.path().join("bench.sqlite3"),
            dir.path(),
        )?);
        (secs, p.created_in_crm as usize)
    } else if case.starts_with("push-") {
        let n = count("push-")?;
        for i in 0..n {
            store.create_appointment(appointment(i), Origin::Crm, ChangeSource::User)?;
        }
        let t = Instant::now();
        let r = e.run_pass(&store, &client, &ctx, &cancel).await?;
        (t.elapsed().as_secs_f64(), r.created_in_google as usize)
    } else if case.starts_with("incremental-") || case.starts_with("idle-") {
        // The calendar's N events already in Bookline and linked (backfill, then the
        // first ongoing pass that takes the sync token) — not measured.
        let req = BackfillRequest {
            direction: Direction::GoogleToCrm,
            since: None,
            until: None,
        };
        backfill::start(&e, &store, &client, &ctx, &req, |_| {}, &cancel).await?;
        let first = e.run_pass(&store, &client, &ctx, &cancel).await?;
        if first.changed_anything() || !first.errors.is_empty() {
            return Err(format!("the pass after the import was not idle: {first:?}").into());
        }
        if case.starts_with("incremental-") {
            return incremental_case(
                &case, &e, &store, &client, &ctx, &http, &base, &token, &cancel,
            )
            .await;
        } else {
            return idle_case(&case, &e, &store, &client, &ctx, &http, &base, &cancel).await;
        }
    } else {
        return Err(format!("unknown case {case}").into());
    };
    let stats = emulator_stats(&http, &base).await?;
    let envelopes = route(&stats, "batch");
    let total = stats["total"].as_u64().unwrap_or(0);
    let out = json!({
        "case": case,
        "bookline_s": secs,
        "items": items,
        "requests": total.saturating_sub(envelopes),
        "http_requests": total.saturating_sub(stats["batches"]["parts"].as_u64().unwrap_or(0)),
        "quota_rejections": stats["quota_rejections"]["total"],
        "rss_mb": peak_rss_mb(),
        "storage_floor_s": floor,
        "timed_unix_s": timed.map(|(from, to)| [from, to]),
    });
    println!("{out}");
    Ok(())
}

/// Seconds since the Unix epoch, as a float.
fn unix_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "sync_bench                      own emulators, all scenarios, a table\n\
             sync_bench --case NAME --base-url URL --token T --calendar CAL --json\n\
             \x20                               one bench/run.sh case (import-N, push-N-...,\n\
             \x20                               incremental-N, idle-N)"
        );
        return Ok(());
    }
    if args.iter().any(|a| a == "--case") {
        return run_case(&args).await;
    }
    let cancel = CancellationToken::new();
    let mut rows = Vec::new();

    // 1. Pull of 10,000 new Google events; then an idle pass.
    {
        let b = Bench::new("pull@example.com").await?;
        let connected = Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        b.seed_new_events(10_000).await?;
        b.reset_stats().await?;
        let e = engine(600, 60_000);
        let ctx = b.ctx(connected, Direction::Both);
        let t = Instant::now();
        let r = e.run_pass(&b.store, &b.client, &ctx, &cancel).await?;
        let secs = t.elapsed().as_secs_f64();
        let s = b.stats().await?;
        rows.push(Row {
            what: "pull: new Google events → CRM",
            items: r.created_in_crm as usize,
            secs,
            requests: s["total"].as_u64().unwrap_or(0),
            detail: format!(
                "{} list requests, {} errors",
                route(&s, "events.list"),
                r.errors.len()
            ),
        });
        b.reset_stats().await?;
        let t = Instant::now();
        let r = e.run_pass(&b.store, &b.client, &ctx, &cancel).await?;
        let s = b.stats().await?;
        rows.push(Row {
            what: "idle pass (nothing changed)",
            items: usize::from(r.changed_anything()),
            secs: t.elapsed().as_secs_f64(),
            requests: s["total"].as_u64().unwrap_or(0),
            detail: "requests of one poll".into(),
        });
    }

    // 2. Push of 2,000 new CRM appointments at 600 per shortened window.
    {
        let b = Bench::new("push@example.com").await?;
        let connected = Utc::now() - ChronoDuration::seconds(1);
        b.seed_appointments(2_000)?;
        b.quota(600, WINDOW_MS).await?;
        b.reset_stats().await?;
        let e = engine(600, WINDOW_MS);
        let ctx = b.ctx(connected, Direction::Both);
        let t = Instant::now();
        let r = e.run_pass(&b.store, &b.client, &ctx, &cancel).await?;
        let secs = t.elapsed().as_secs_f64();
        let s = b.stats().await?;
        let calls = route(&s, "events.insert");
        let per_window = calls as f64 / (secs * 1000.0 / WINDOW_MS as f64);
        rows.push(Row {
            what: "push: new CRM appointments → Google",
            items: r.created_in_google as usize,
            secs,
            requests: s["total"].as_u64().unwrap_or(0),
            detail: format!(
                "{:.0}/window of 600 ({:.0}%), {} quota rejections, {} batches",
                per_window,
                per_window / 6.0,
                s["quota_rejections"]["total"],
                s["batches"]["count"]
            ),
        });
    }

    // 3. Backfill Google → CRM, 10,000 old events.
    {
        let b = Bench::new("bfg@example.com").await?;
        b.quota(0, 60_000).await?;
        b.seed_old_events(10_000).await?;
        b.reset_stats().await?;
        let e = engine(600, 60_000);
        let ctx = b.ctx(Utc::now(), Direction::Both);
        let req = BackfillRequest {
            direction: Direction::GoogleToCrm,
            since: None,
            until: None,
        };
        let t = Instant::now();
        let p = backfill::start(&e, &b.store, &b.client, &ctx, &req, |_| {}, &cancel).await?;
        let s = b.stats().await?;
        rows.push(Row {
            what: "backfill Google → CRM",
            items: p.created_in_crm as usize,
            secs: t.elapsed().as_secs_f64(),
            requests: s["total"].as_u64().unwrap_or(0),
            detail: format!("{} list requests", route(&s, "events.list")),
        });
    }

    // 4. Backfill CRM → Google, 2,000 old appointments at 600 per shortened window.
    {
        let b = Bench::new("bfc@example.com").await?;
        b.seed_appointments(2_000)?;
        let ctx = b.ctx(Utc::now(), Direction::Both);
        b.quota(600, WINDOW_MS).await?;
        b.reset_stats().await?;
        let e = engine(600, WINDOW_MS);
        let req = BackfillRequest {
            direction: Direction::CrmToGoogle,
            since: None,
            until: None,
        };
        let t = Instant::now();
        let p = backfill::start(&e, &b.store, &b.client, &ctx, &req, |_| {}, &cancel).await?;
        let secs = t.elapsed().as_secs_f64();
        let s = b.stats().await?;
        let calls = route(&s, "events.insert");
        let per_window = calls as f64 / (secs * 1000.0 / WINDOW_MS as f64);
        rows.push(Row {
            what: "backfill CRM → Google",
            items: p.created_in_google as usize,
            secs,
            requests: s["total"].as_u64().unwrap_or(0),
            detail: format!(
                "{:.0}/window of 600 ({:.0}%), {} quota rejections, {} calls + {} batch posts + {} lists",
                per_window,
                per_window / 6.0,
                s["quota_rejections"]["total"],
                calls,
                s["batches"]["count"],
                route(&s, "events.list")
            ),
        });
    }

    println!("quota window shortened to {WINDOW_MS} ms (600 requests per window)");
    println!(
        "{:<40} {:>7} {:>9} {:>9}  detail",
        "scenario", "items", "seconds", "requests"
    );
    for r in rows {
        println!(
            "{:<40} {:>7} {:>9.2} {:>9}  {}",
            r.what, r.items, r.secs, r.requests, r.detail
        );
    }
    Ok(())
}
