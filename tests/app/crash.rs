//! Crash tests (#6, #7) and the fault and crash soak (#9): real processes killed with
//! SIGKILL — no destructor, no flush, maybe half a transaction in the WAL — at seeded
//! random moments of a backfill, a sync pass and an import; every restart must converge
//! to exactly one event per appointment, one link per pair and an intact SQLite file.
//!
//! The Google-reading runs (`sync` pulling, `backfill --direction google-to-crm`) and the
//! plain 2,000-item transfer to Google are the built `bookline` binary itself (the latter
//! with `--google-quota-per-minute` raised to the emulator's raised quota: at Google's 600
//! requests a minute one clean run would take 3.5 minutes). The runs under injected
//! faults and the soak's sync passes are this test binary started again as a child
//! (`child_role`) doing what `bookline backfill` and `bookline sync` do — `App::open`,
//! the real keyring, `backfill::start`/`resume`, `App::sync_once` — with retries after
//! milliseconds instead of Google's seconds, so faults don't stretch them to minutes.
//!
//! `make soak` (scripts/soak.sh) runs `soak` with more rounds and kills; the defaults
//! are the short variant CI runs. `SOAK_SEED` makes a run reproducible.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bookline_core::app::{App, AppOptions};
use bookline_core::model::{AppointmentInput, Lead, Origin, Status, Timing};
use bookline_core::paths;
use bookline_core::ratelimit::Backoff;
use bookline_core::store::{ChangeSource, Store};
use bookline_core::sync::backfill::{self, BackfillProgress, BackfillRequest};
use bookline_core::sync::engine::EngineOptions;
use bookline_core::sync::writer::WriterOptions;
use bookline_core::sync::{ids, Direction};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::harness::{connect_playing_the_browser, emulator_with_account, Bookline, TestEmulator};

/// Set in a child: what it is to do (`backfill:crm-to-google`, `sync`).
const CHILD_ROLE: &str = "BOOKLINE_CRASH_CHILD";
/// Set in a child: the data dir.
const CHILD_DIR: &str = "BOOKLINE_CRASH_DATA_DIR";
/// The emulator's per-user quota in these tests, and the children's limiter.
const QUOTA_PER_MINUTE: u32 = 30_000;
/// The same, for `bookline --google-quota-per-minute`.
const QUOTA_PER_MINUTE_ARG: &str = "30000";

/// Every transient fault kind the emulator can inject (`full_sync_required_410` is not a
/// failure to retry but Google dropping a sync token: the engine tests cover it).
const ALL_FAULTS: [&str; 8] = [
    "backend_500",
    "backend_503",
    "rate_limit_429",
    "rate_limit_403",
    "user_rate_limit_403",
    "drop_connection",
    "truncated_json",
    "malformed_json",
];

// ---- A seeded random source (no dependency; the same seed gives the same schedule) ----

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

// ---- The child side ----

/// The engine of a child: the emulator's raised quota, and short backoffs so injected
/// faults cost milliseconds, not the seconds Google's real pacing takes.
fn child_engine() -> EngineOptions {
    EngineOptions {
        quota_per_window: QUOTA_PER_MINUTE,
        quota_window: Duration::from_secs(60),
        writer: WriterOptions {
            backoff: Backoff {
                base: Duration::from_millis(5),
                rate_limit_base: Duration::from_millis(20),
                cap: Duration::from_millis(200),
                max_retries: 8,
            },
            ..WriterOptions::default()
        },
        ..EngineOptions::default()
    }
}

/// In a child started by `World::child`: does its role, prints `RESULT {json}` and
/// returns true. In the test itself: returns false.
fn child_role() -> bool {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return false;
    };
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR).expect("the child's data dir"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let app = App::open(AppOptions {
            google_base_url: std::env::var("BOOKLINE_GOOGLE_BASE_URL").ok(),
            engine: child_engine(),
            ..AppOptions::new(dir)
        })
        .await
        .expect("the app opens");
        let cancel = CancellationToken::new();
        let result = if role == "sync" {
            // Confirmed: the soak deletes on both sides and must not stop at the guard.
            match app.sync_once(true, &cancel, |_| {}).await {
                Ok(report) => json!({ "ok": report.errors.is_empty(), "report": report }),
                Err(e) => json!({ "ok": false, "error": e.message }),
            }
        } else {
            let direction = match role.strip_prefix("backfill:") {
                Some("both") => Direction::Both,
                Some("google-to-crm") => Direction::GoogleToCrm,
                Some("crm-to-google") => Direction::CrmToGoogle,
                _ => panic!("unknown child role {role}"),
            };
            let progress = |p: &BackfillProgress| {
                println!("PROGRESS {} {}", p.done, p.total);
                let _ = std::io::stdout().flush();
            };
            // As the window and `bookline backfill` do: resume-or-start, under the lock.
            let request = BackfillRequest {
                direction,
                since: None,
                until: None,
            };
            let run = match app.begin_transfer(cancel.clone()) {
                Ok(ticket) => app
                    .transfer(ticket, &request, progress, |_| {})
                    .await
                    .map(|outcome| outcome.progress),
                Err(e) => Err(e),
            };
            match run {
                Ok(p) => json!({
                    "ok": p.failed == 0 && p.state == backfill::ProgressState::Finished,
                    "progress": p,
                }),
                Err(e) => json!({ "ok": false, "error": e.message }),
            }
        };
        app.close().await;
        result
    });
    println!("RESULT {result}");
    let _ = std::io::stdout().flush();
    true
}

// ---- The parent side ----

/// What is run as a child process.
#[derive(Debug, Clone)]
enum Run {
    /// This test binary in a child role (`child_role`).
    Core(&'static str),
    /// The built `bookline` binary with these arguments.
    Cli(Vec<&'static str>),
}

/// How one child process ended.
#[derive(Debug)]
struct Ended {
    killed: bool,
    ok: bool,
    /// The last progress seen (done, total), for where the kill landed.
    progress: Option<(u64, u64)>,
    result: Option<Value>,
    output: String,
}

/// When to send SIGKILL: `delay` after the spawn, or after the progress first reaches
/// `progress` items done.
#[derive(Debug, Clone, Copy)]
struct KillAt {
    progress: Option<u64>,
    delay: Duration,
}

/// Items before the end where a progress-based kill is no longer aimed (a chunk is 200).
const LAST_STRETCH: u64 = 250;
/// How far past the progress already made a kill is aimed.
const MAX_AHEAD: u64 = 250;

/// How kill moments are drawn.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    /// Uniform in this many milliseconds after the spawn.
    Time(u64, u64),
    /// For a job that reports progress: mostly a random point of what is left (a random
    /// item count, then up to `jitter_ms` later, so it lands inside a chunk's batches or
    /// its commit), sometimes (one in four, and before any progress is known) a random
    /// moment of start-up, the read of both sides and the planning in `startup_ms`.
    Progress { startup_ms: u64, jitter_ms: u64 },
}

impl Schedule {
    /// The next kill; `typical_ms`: how long the last clean run of the same kind took
    /// (a time kill later than that would usually find the run finished).
    /// `kills_left`: the kills still to come, spread over what is left of the job.
    fn next(
        self,
        rng: &mut Rng,
        last: Option<(u64, u64)>,
        typical_ms: Option<u64>,
        kills_left: u64,
        blind_kills: u32,
    ) -> KillAt {
        match (self, last) {
            (Schedule::Time(lo, hi), _) => KillAt {
                progress: None,
                delay: Duration::from_millis(
                    rng.range(lo, typical_ms.map_or(hi, |t| hi.min(t * 11 / 10).max(lo))),
                ),
            },
            // Within the next few chunks, never the last one (its progress line is the
            // end of the job, too late to kill): every run gets interrupted, and the job
            // still moves on between kills.
            (Schedule::Progress { jitter_ms, .. }, Some((done, total)))
                if total > done + LAST_STRETCH && !rng.chance(0.25) =>
            {
                let ahead = ((total - done - LAST_STRETCH) / kills_left.max(1)).min(MAX_AHEAD);
                // Half the time inside the first chunk this run does (the job does not move
                // on), else a little further.
                let mark = if rng.chance(0.5) {
                    done
                } else {
                    done + rng.range(0, ahead)
                };
                KillAt {
                    progress: Some(mark),
                    delay: Duration::from_millis(rng.range(0, jitter_ms)),
                }
            }
            // No progress seen yet: somewhere in the start-up. Each kill that landed
            // before the job showed progress doubles the window (a loaded machine starts
            // the process slower than `startup_ms`), so kills reach the transfer itself.
            (Schedule::Progress { startup_ms, .. }, _) => KillAt {
                progress: None,
                delay: Duration::from_millis(rng.range(20, startup_ms << blind_kills.min(5))),
            },
        }
    }
}

/// Totals of a kill loop.
#[derive(Debug, Default, Clone)]
struct Kills {
    runs: usize,
    kills: usize,
    /// Kills that landed after the job had shown progress (not during start-up).
    mid_job: usize,
    /// Runs that ended on their own but not cleanly (items failed under faults).
    unclean: usize,
    /// What the clean run printed last.
    result: Option<Value>,
}

struct World {
    rt: tokio::runtime::Runtime,
    emulator: Option<TestEmulator>,
    base_url: String,
    email: String,
    token: String,
    app: Bookline,
    _data: tempfile::TempDir,
    /// The test's name, the child's entry point.
    test: &'static str,
    http: reqwest::Client,
    /// How long the last clean run of each kind took, in ms.
    clean_ms: Mutex<BTreeMap<String, u64>>,
}

impl World {
    /// An emulator with a raised quota and one account, `crm_old` appointments stored
    /// before connecting (so only backfill moves them), `google_old` events dated before
    /// it, then `bookline connect` through the real keyring. `None` without a D-Bus
    /// session (no Secret Service to keep the sign-in in).
    fn connected(test: &'static str, crm_old: usize, google_old: usize) -> Option<World> {
        if crate::no_secret_service() {
            return None;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (emulator, base_url, email, token) = emulator_with_account(&rt, None, 0);
        let data = tempfile::tempdir().expect("temp dir");
        let app = Bookline {
            dir: data.path().to_path_buf(),
            base_url: base_url.clone(),
            outputs: Vec::new(),
        };
        let mut w = World {
            rt,
            emulator: Some(emulator),
            base_url,
            email,
            token,
            app,
            _data: data,
            test,
            http: reqwest::Client::new(),
            clean_ms: Mutex::new(BTreeMap::new()),
        };
        w.control(
            "quota",
            json!({"per_user_per_minute": QUOTA_PER_MINUTE, "per_project_per_minute": 0}),
        );
        if crm_old > 0 {
            let store = w.store();
            for i in 0..crm_old {
                store
                    .create_appointment(old_appointment(i), Origin::Crm, ChangeSource::User)
                    .expect("seed an appointment");
            }
        }
        for i in 0..google_old {
            let mut event = event_body(&format!("Old Google event {i:04}"), i);
            event["created"] = json!("2020-01-01T00:00:00.000Z");
            event["updated"] = json!("2020-01-01T00:00:00.000Z");
            let cal = w.email.clone();
            w.control(&format!("events/{cal}"), event);
        }
        let email = w.email.clone();
        connect_playing_the_browser(&mut w.app, &w.rt, &email);
        Some(w)
    }

    fn store(&self) -> Store {
        Store::open(&paths::database_path(&self.app.dir)).expect("the store opens")
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(paths::database_path(&self.app.dir)).expect("SQLite opens")
    }

    fn count(&self, sql: &str) -> u64 {
        self.db()
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn assert_integrity(&self) {
        let check: String = self
            .db()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check runs");
        assert_eq!(check, "ok", "SQLite integrity check");
        // The search index survives the kills too: once a store has opened the file (the
        // last run did), it holds exactly the rows' text (FTS5's content check) and no row
        // waits to be indexed.
        let db = self.db();
        db.execute(
            "INSERT INTO appointment_search (appointment_search, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the search index matches the rows");
        let waiting: i64 = db
            .query_row(
                "SELECT (SELECT COUNT(*) FROM search_pending) + (SELECT COUNT(*) FROM appointments \
                 WHERE row_key > (SELECT indexed_upto FROM search_mark WHERE id = 1))",
                [],
                |r| r.get(0),
            )
            .expect("count the rows waiting for the index");
        assert_eq!(waiting, 0, "rows waiting for the search index");
    }

    fn control(&self, path: &str, body: Value) -> Value {
        self.rt.block_on(async {
            let resp = self
                .http
                .post(format!("{}/_emulator/{path}", self.base_url))
                .json(&body)
                .send()
                .await
                .expect("control call");
            let status = resp.status();
            let answer: Value = resp.json().await.expect("control JSON");
            assert!(status.is_success(), "control {path}: {status} {answer}");
            answer
        })
    }

    fn emulator_stats(&self) -> Value {
        self.rt.block_on(async {
            self.http
                .get(format!("{}/_emulator/stats", self.base_url))
                .send()
                .await
                .expect("stats")
                .json()
                .await
                .expect("stats JSON")
        })
    }

    /// A Calendar API call as a second client of the same account (another device, the
    /// Google Calendar web page): authenticated, counted, subject to quota.
    fn google(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let url = format!(
                "{}/calendar/v3/calendars/{}{path}",
                self.base_url, self.email
            );
            let writes = method != reqwest::Method::GET;
            let mut req = self.http.request(method, url).bearer_auth(&self.token);
            if writes {
                // Only Bookline's writes are under test for mail (`assert_no_mail`).
                req = req.query(&[("sendUpdates", "none")]);
            }
            if let Some(body) = body {
                req = req.json(&body);
            }
            let resp = req.send().await.expect("a Calendar call");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// Every event of the calendar, live ones only unless `deleted`.
    fn google_events(&self, deleted: bool) -> Vec<Value> {
        let mut all = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut path = format!("/events?maxResults=2500&showDeleted={deleted}");
            if let Some(token) = &page {
                path.push_str(&format!("&pageToken={token}"));
            }
            let (status, body) = self.google(reqwest::Method::GET, &path, None);
            assert_eq!(status, 200, "events.list: {body}");
            all.extend(body["items"].as_array().cloned().unwrap_or_default());
            match body["nextPageToken"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => return all,
            }
        }
    }

    fn child(&self, run: &Run) -> Command {
        let mut cmd = match run {
            Run::Cli(args) => {
                let mut cmd = self.app.command(args);
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                return cmd;
            }
            Run::Core(role) => {
                // The same environment `bookline` gets (emulator URL, OAuth client).
                let template = self.app.command(&[]);
                let mut cmd =
                    Command::new(std::env::current_exe().expect("the test binary's path"));
                for (key, value) in template.get_envs() {
                    match value {
                        Some(v) => cmd.env(key, v),
                        None => cmd.env_remove(key),
                    };
                }
                cmd.arg(format!("crash::{}", self.test))
                    .args(["--exact", "--nocapture", "--test-threads", "1"])
                    .env(CHILD_ROLE, role)
                    .env(CHILD_DIR, &self.app.dir);
                cmd
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs one child; with `kill_after`, sends SIGKILL then if it is still running.
    fn run_once(&self, run: &Run, kill: Option<KillAt>) -> Ended {
        let mut child = self.child(run).spawn().expect("the child starts");
        // Both streams in the order they arrive (progress and where a kill landed), and
        // stdout alone: the JSON document `--json` prints, which stderr lines written at
        // the same moment must not split.
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let stdout_lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| (Box::new(s) as Box<dyn std::io::Read + Send>, true)),
            child
                .stderr
                .take()
                .map(|s| (Box::new(s) as Box<dyn std::io::Read + Send>, false)),
        ]
        .into_iter()
        .flatten()
        .map(|(stream, is_stdout)| {
            let lines = lines.clone();
            let stdout_lines = stdout_lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if is_stdout {
                        stdout_lines.lock().expect("lines").push(line.clone());
                    }
                    lines.lock().expect("lines").push(line);
                }
            })
        })
        .collect();
        // The kill's clock starts at the spawn, or when the progress passes the mark.
        let mut clock = Some(Instant::now()).filter(|_| kill.is_some_and(|k| k.progress.is_none()));
        let mut killed = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break status;
            }
            if let (
                None,
                Some(KillAt {
                    progress: Some(mark),
                    ..
                }),
            ) = (clock, kill)
            {
                let reached = lines
                    .lock()
                    .expect("lines")
                    .iter()
                    .rev()
                    .find_map(|l| progress_of(l))
                    .is_some_and(|(done, _)| done >= mark);
                if reached {
                    clock = Some(Instant::now());
                }
            }
            if let (Some(since), Some(k)) = (clock, kill) {
                if since.elapsed() < k.delay {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                child.kill().expect("SIGKILL");
                killed = true;
                break child.wait().expect("the killed child is reaped");
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        for r in readers {
            let _ = r.join();
        }
        let lines = std::mem::take(&mut *lines.lock().expect("lines"));
        let stdout_lines = std::mem::take(&mut *stdout_lines.lock().expect("lines"));
        let progress = lines.iter().rev().find_map(|l| progress_of(l));
        // libtest prints "test name ... " without a newline before the child's first line.
        let result = match run {
            Run::Core(_) => lines
                .iter()
                .find_map(|l| l.find("RESULT ").map(|at| &l[at + "RESULT ".len()..]))
                .and_then(|r| serde_json::from_str::<Value>(r).ok()),
            // `bookline … --json` ends with one JSON document on stdout (pretty-printed:
            // the lines from the last one that opens it).
            Run::Cli(_) => stdout_lines.iter().rposition(|l| l == "{").and_then(|at| {
                let doc: Value = serde_json::from_str(&stdout_lines[at..].join("\n")).ok()?;
                Some(json!({ "ok": status.success(), "progress": doc }))
            }),
        };
        let ok = !killed
            && status.success()
            && match run {
                Run::Core(_) => result.as_ref().is_some_and(|r| r["ok"] == true),
                Run::Cli(_) => true,
            };
        Ended {
            killed,
            ok,
            progress,
            result,
            output: lines.join("\n"),
        }
    }

    /// Runs `run` until one ends cleanly, killing the first `kills` of them with SIGKILL
    /// at a seeded random moment (`schedule`). A run that is not killed but ends with
    /// failed items (faults) is run again.
    fn kill_loop(&self, run: &Run, kills: usize, schedule: Schedule, rng: &mut Rng) -> Kills {
        let mut k = Kills::default();
        let mut last: Option<(u64, u64)> = None;
        // Kills in a row that landed before the job showed any progress.
        let mut blind_kills = 0;
        loop {
            k.runs += 1;
            assert!(
                k.runs <= kills + 25,
                "{run:?} did not converge after {} runs",
                k.runs
            );
            let key = format!("{run:?}");
            let typical = self.clean_ms.lock().expect("durations").get(&key).copied();
            let left = (kills - k.kills.min(kills)) as u64;
            let kill_after =
                (k.kills < kills).then(|| schedule.next(rng, last, typical, left, blind_kills));
            let started = Instant::now();
            let ended = self.run_once(run, kill_after);
            if std::env::var_os("CRASH_TRACE").is_some() {
                eprintln!(
                    "{}: run {} kill {kill_after:?} → killed {} progress {:?} after {} ms",
                    self.test,
                    k.runs,
                    ended.killed,
                    ended.progress,
                    started.elapsed().as_millis()
                );
            }
            last = ended.progress.or(last);
            if ended.killed {
                k.kills += 1;
                if ended.progress.is_some() {
                    k.mid_job += 1;
                    blind_kills = 0;
                } else if last.is_none() {
                    blind_kills += 1;
                }
                continue;
            }
            if ended.ok {
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                self.clean_ms.lock().expect("durations").insert(key, ms);
                k.result = ended.result;
                return k;
            }
            k.unclean += 1;
            assert!(
                k.unclean <= 12,
                "{run:?} keeps failing: {:?}\n{}",
                ended.result,
                ended.output
            );
        }
    }
}

impl World {
    /// Kill loops until `kills` SIGKILLs have landed: a run that finishes before its kill
    /// leaves nothing to interrupt, so each episode first adds work (`add_work(episode)`).
    fn kill_episodes(
        &self,
        run: &Run,
        kills: usize,
        schedule: Schedule,
        rng: &mut Rng,
        mut add_work: impl FnMut(&World, usize),
    ) -> Kills {
        let mut total = Kills::default();
        let mut episode = 0;
        while total.kills < kills || episode == 0 {
            assert!(
                episode < kills * 3 + 5,
                "kills keep missing the runs: {total:?}"
            );
            add_work(self, episode);
            episode += 1;
            let k = self.kill_loop(run, kills - total.kills.min(kills), schedule, rng);
            total.runs += k.runs;
            total.kills += k.kills;
            total.mid_job += k.mid_job;
            total.unclean += k.unclean;
        }
        total
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.rt.block_on(emulator.shutdown());
        }
    }
}

/// `PROGRESS done total` (a core child) or `done/total items: …` (the CLI).
fn progress_of(line: &str) -> Option<(u64, u64)> {
    if let Some(at) = line.find("PROGRESS ") {
        let rest = &line[at + "PROGRESS ".len()..];
        let mut it = rest.split_whitespace().map(|n| n.parse::<u64>().ok());
        return Some((it.next()??, it.next()??));
    }
    let (counts, _) = line.split_once(" items: ")?;
    let (done, total) = counts.split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

/// The i-th old appointment: timed in four zones, every ninth all-day, some with a
/// location and notes.
fn old_appointment(i: usize) -> AppointmentInput {
    let start = base_time() + ChronoDuration::hours(i as i64 * 5);
    let timing = if i.is_multiple_of(9) {
        let day = start.date_naive();
        Timing::AllDay {
            start: day,
            end: day.succ_opt().expect("a next day"),
        }
    } else {
        Timing::Timed {
            start,
            end: start + ChronoDuration::minutes(45),
        }
    };
    AppointmentInput {
        title: format!("Old meeting {i:04}"),
        timing,
        timezone: ZONES[i % ZONES.len()].to_owned(),
        location: if i.is_multiple_of(3) {
            format!("Room {}", i % 7)
        } else {
            String::new()
        },
        notes: if i.is_multiple_of(4) {
            "Bring the pricing sheet".to_owned()
        } else {
            String::new()
        },
        lead: Lead::default(),
        status: Status::Booked,
        recurrence: None,
    }
}

/// A Google event body like `old_appointment`'s.
fn event_body(summary: &str, i: usize) -> Value {
    let start = base_time() + ChronoDuration::hours(i as i64 * 5 + 2);
    let zone = ZONES[i % ZONES.len()];
    if i.is_multiple_of(9) {
        let day = start.date_naive();
        json!({
            "summary": summary,
            "start": {"date": day.to_string()},
            "end": {"date": day.succ_opt().expect("a next day").to_string()},
        })
    } else {
        json!({
            "summary": summary,
            "location": if i.is_multiple_of(3) { format!("Room {}", i % 7) } else { String::new() },
            "start": {"dateTime": start.to_rfc3339(), "timeZone": zone},
            "end": {"dateTime": (start + ChronoDuration::minutes(30)).to_rfc3339(), "timeZone": zone},
        })
    }
}

fn appointment_ids(w: &World) -> Vec<String> {
    let db = w.db();
    let mut stmt = db
        .prepare("SELECT id FROM appointments ORDER BY id")
        .expect("prepare");
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    ids
}

/// Exactly one live Google event per appointment, under the id derived from it, and one
/// link per pair; no transfer left open; SQLite intact.
fn assert_one_event_per_appointment(w: &World, n: usize) {
    let events = w.google_events(false);
    let event_ids: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    let summaries: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(events.len(), n, "live events in Google");
    assert_eq!(event_ids.len(), n, "distinct event ids");
    assert_eq!(
        summaries.len(),
        n,
        "distinct titles (no copy under another id)"
    );
    let expected: BTreeSet<String> = appointment_ids(w)
        .iter()
        .filter_map(|id| ids::event_id_for(id))
        .collect();
    assert_eq!(expected.len(), n, "appointments in Bookline");
    assert_eq!(
        event_ids, expected,
        "each appointment's event, under its derived id"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM links"), n as u64, "links");
    assert_eq!(
        w.count("SELECT COUNT(DISTINCT event_id) FROM links"),
        n as u64,
        "links to distinct events"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM backfill_jobs WHERE state IN ('planned', 'running')"),
        0,
        "no transfer left open"
    );
    w.assert_integrity();
}

fn report(name: &str, k: &Kills, started: Instant) {
    eprintln!(
        "{name}: {} runs, {} SIGKILLs ({} after the job showed progress), {} unclean ends, {:.1} s",
        k.runs,
        k.kills,
        k.mid_job,
        k.unclean,
        started.elapsed().as_secs_f64()
    );
}

// ---- #7: kill -9 during a 2,000-item CRM → Google backfill ----

const BACKFILL_ITEMS: usize = 2000;

fn backfill_to_google_under_kills(test: &'static str, seed: u64, faults: Option<Value>, run: Run) {
    let started = Instant::now();
    let Some(w) = World::connected(test, BACKFILL_ITEMS, 0) else {
        return;
    };
    eprintln!(
        "{test}: seeded and connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Google answers each request 40 ms late, so the transfer lasts a few seconds and the
    // kills land all along it rather than only at its start.
    let mut plan = faults.unwrap_or_else(|| json!({}));
    plan["latency_ms"] = json!(40);
    w.control("faults", plan);
    let mut rng = Rng::new(env_u64("SOAK_SEED", seed));
    let kills = env_u64("CRASH_KILLS", 12) as usize;
    let schedule = Schedule::Progress {
        startup_ms: 500,
        jitter_ms: 120,
    };
    let k = w.kill_loop(&run, kills, schedule, &mut rng);
    w.control("faults", json!({}));
    report(test, &k, started);
    // How many kills a job of this size can take depends on the machine's speed; at
    // least eight (or all of a smaller schedule) must land, half of them mid-transfer.
    assert!(k.kills >= kills.min(8), "too few kills landed: {k:?}");
    assert!(
        k.mid_job >= kills.min(8) / 2,
        "kills landed mid-transfer: {k:?}"
    );
    if k.unclean == 0 {
        // One job from start to end, resumed after every kill: each item was created or
        // (found in Google after a kill) linked, and counted once.
        let p = &k.result.as_ref().expect("a result")["progress"];
        let counted =
            p["created_in_google"].as_u64().unwrap_or(0) + p["linked"].as_u64().unwrap_or(0);
        assert_eq!(counted, BACKFILL_ITEMS as u64, "created + linked: {p}");
        assert_eq!(p["failed"], 0, "{p}");
    }
    assert_one_event_per_appointment(&w, BACKFILL_ITEMS);
    // Once more: nothing left to do, nothing created.
    let again = w.run_once(&run, None);
    assert!(again.ok, "{}", again.output);
    let p = &again.result.as_ref().expect("a result")["progress"];
    assert_eq!(
        (p["created_in_google"].as_u64(), p["total"].as_u64()),
        (Some(0), Some(0)),
        "{p}"
    );
    assert_one_event_per_appointment(&w, BACKFILL_ITEMS);
}

#[test]
fn kill_9_during_a_2000_item_backfill_to_google() {
    if child_role() {
        return;
    }
    // The real `bookline backfill`, paced for the emulator's raised quota instead of
    // Google's 600 a minute (which would make one clean run take 3.5 minutes).
    backfill_to_google_under_kills(
        "kill_9_during_a_2000_item_backfill_to_google",
        7,
        None,
        Run::Cli(vec![
            "backfill",
            "--direction",
            "crm-to-google",
            "--json",
            "--google-quota-per-minute",
            QUOTA_PER_MINUTE_ARG,
        ]),
    );
}

#[test]
fn kill_9_during_a_backfill_with_rate_limits_and_5xx() {
    if child_role() {
        return;
    }
    backfill_to_google_under_kills(
        "kill_9_during_a_backfill_with_rate_limits_and_5xx",
        11,
        Some(json!({
            "seed": 5,
            "rate": 0.15,
            "kinds": ["backend_500", "backend_503", "rate_limit_429", "rate_limit_403",
                      "user_rate_limit_403"],
        })),
        // This test binary in the CLI's place: the same calls, with retries after
        // milliseconds instead of Google's seconds, so the faults don't stretch it.
        Run::Core("backfill:crm-to-google"),
    );
}

// ---- #6: kill -9 between outbox write, push and link write ----

#[test]
fn kill_9_during_sync_push_converges_without_duplicates() {
    if child_role() {
        return;
    }
    const NEW: usize = 300;
    let test = "kill_9_during_sync_push_converges_without_duplicates";
    let started = Instant::now();
    let Some(w) = World::connected(test, 0, 0) else {
        return;
    };
    w.control("faults", json!({"latency_ms": 20}));
    let mut rng = Rng::new(env_u64("SOAK_SEED", 13));
    let kills = env_u64("CRASH_KILLS", 12) as usize;
    let mut made = 0;
    // New appointments after connecting: each is an outbox entry for the next pass, written
    // in the same transaction as the appointment. Then passes killed at random moments:
    // before the push, mid-batch, between the push and the link write, mid-commit.
    let k = w.kill_episodes(
        &Run::Core("sync"),
        kills,
        Schedule::Time(30, 600),
        &mut rng,
        |w, e| {
            let store = w.store();
            for i in 0..NEW {
                let mut a = old_appointment(made + i);
                a.title = format!("New pitch {e}.{i:04}");
                store
                    .create_appointment(a, Origin::Crm, ChangeSource::User)
                    .expect("an appointment");
            }
            made += NEW;
        },
    );
    w.control("faults", json!({}));
    report(test, &k, started);
    assert!(k.kills >= kills, "{k:?}");
    // A pass after convergence changes nothing: no echo, no second copy.
    let again = w.run_once(&Run::Core("sync"), None);
    assert!(again.ok, "{}", again.output);
    let r = &again.result.as_ref().expect("a result")["report"];
    for key in [
        "created_in_google",
        "updated_in_google",
        "created_in_crm",
        "updated_in_crm",
    ] {
        assert_eq!(r[key], 0, "{key}: {r}");
    }
    assert_eq!(w.count("SELECT COUNT(*) FROM outbox"), 0, "outbox drained");
    assert_one_event_per_appointment(&w, made);
}

// ---- kill -9 of the real `bookline` during a Google → CRM pull and an import ----

#[test]
fn kill_9_of_bookline_during_google_to_crm_sync_and_import() {
    if child_role() {
        return;
    }
    const OLD: usize = 500;
    const NEW: usize = 200;
    let test = "kill_9_of_bookline_during_google_to_crm_sync_and_import";
    let started = Instant::now();
    let Some(w) = World::connected(test, 0, 0) else {
        return;
    };
    let cal = w.email.clone();
    let mut rng = Rng::new(env_u64("SOAK_SEED", 17));
    let kills = env_u64("CRASH_KILLS", 8) as usize;
    // New events, written by another client after connecting: `bookline sync` pulls them.
    let mut new = 0;
    let sync = Run::Cli(vec!["sync", "--json"]);
    let ks = w.kill_episodes(&sync, kills, Schedule::Time(30, 700), &mut rng, |w, e| {
        for i in 0..NEW {
            w.control(
                &format!("events/{cal}"),
                event_body(&format!("New Google event {e}.{i:04}"), i),
            );
        }
        new += NEW;
    });
    report(&format!("{test} (sync)"), &ks, started);
    // Old events (dated before connecting), imported by `backfill --direction google-to-crm`.
    let mut old = 0;
    let import = Run::Cli(vec!["backfill", "--direction", "google-to-crm", "--json"]);
    let ki = w.kill_episodes(
        &import,
        kills,
        Schedule::Progress {
            startup_ms: 1500,
            jitter_ms: 150,
        },
        &mut rng,
        |w, e| {
            for i in 0..OLD {
                let mut event = event_body(&format!("Old Google event {e}.{i:04}"), i);
                event["created"] = json!("2020-01-01T00:00:00.000Z");
                event["updated"] = json!("2020-01-01T00:00:00.000Z");
                w.control(&format!("events/{cal}"), event);
            }
            old += OLD;
        },
    );
    report(&format!("{test} (import)"), &ki, started);
    assert!(ks.kills >= kills && ki.kills >= kills, "{ks:?} {ki:?}");

    let titles: Vec<String> = {
        let db = w.db();
        let mut stmt = db
            .prepare("SELECT title FROM appointments WHERE origin = 'google'")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        rows
    };
    let distinct: BTreeSet<&String> = titles.iter().collect();
    assert_eq!(titles.len(), old + new, "every Google event imported once");
    assert_eq!(distinct.len(), old + new, "no duplicate appointment");
    assert_eq!(w.count("SELECT COUNT(*) FROM links"), (old + new) as u64);
    assert_eq!(
        w.count("SELECT COUNT(DISTINCT event_id) FROM links"),
        (old + new) as u64
    );
    assert_eq!(
        w.google_events(false).len(),
        old + new,
        "nothing written to Google"
    );
    w.assert_integrity();
    // And once more: nothing new either way.
    let again = w.run_once(&import, None);
    assert!(again.ok, "{}", again.output);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM appointments"),
        (old + new) as u64
    );
}

// ---- #9: the fault and crash soak ----

/// What the soak did to both sides, to know at the end what must exist.
#[derive(Default)]
struct Ledger {
    crm_ops: usize,
    google_ops: usize,
    crm_created: Vec<String>,
    google_created: Vec<String>,
    /// Appointments the user deleted or cancelled in Bookline.
    crm_removed: BTreeSet<String>,
    /// Events the second client deleted in Google.
    google_removed: BTreeSet<String>,
    /// (appointment, event) whose title was changed on both sides between two passes.
    concurrent: Vec<(String, String)>,
    /// Conflicts the passes reported.
    conflicts_reported: u64,
    passes: usize,
    pass_failures: usize,
    /// Rounds whose pass ran in two processes at once (`pass_pair`).
    second_process_passes: usize,
    /// Weekly series made in Google with their 2nd occurrence moved two hours later and
    /// their 3rd cancelled before any pass saw them: (series event id, first start).
    google_series: Vec<(String, DateTime<Utc>)>,
    /// Items from before connecting: only backfill moves them, so the edits leave them
    /// alone until it has (`include_old`).
    old_crm: BTreeSet<String>,
    old_google: BTreeSet<String>,
    include_old: bool,
}

fn input_of(a: &bookline_core::model::Appointment) -> AppointmentInput {
    AppointmentInput {
        title: a.title.clone(),
        timing: a.timing.clone(),
        timezone: a.timezone.clone(),
        location: a.location.clone(),
        notes: a.notes.clone(),
        lead: a.lead.clone(),
        status: a.status,
        recurrence: a.recurrence.clone(),
    }
}

fn ids_where(w: &World, sql: &str) -> Vec<String> {
    let db = w.db();
    let mut stmt = db.prepare(sql).expect("prepare");
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    ids
}

fn links_of(w: &World) -> Vec<(String, String)> {
    let db = w.db();
    let mut stmt = db
        .prepare("SELECT appointment_id, event_id FROM links")
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    rows
}

/// A random time in the coming months, timed (in one of the zones) or all-day.
fn random_timing(rng: &mut Rng) -> (Timing, String) {
    let start = Utc.with_ymd_and_hms(2031, 1, 1, 7, 0, 0).unwrap()
        + ChronoDuration::minutes(15 * rng.range(0, 4 * 24 * 120) as i64);
    let zone = ZONES[rng.below(ZONES.len())].to_owned();
    if rng.chance(0.15) {
        let day = start.date_naive();
        let end = day + ChronoDuration::days(rng.range(1, 3) as i64);
        (Timing::AllDay { start: day, end }, zone)
    } else {
        let end = start + ChronoDuration::minutes(15 * rng.range(1, 8) as i64);
        (Timing::Timed { start, end }, zone)
    }
}

fn timing_json(timing: &Timing, zone: &str) -> (Value, Value) {
    match timing {
        Timing::Timed { start, end } => (
            json!({"dateTime": start.to_rfc3339(), "timeZone": zone}),
            json!({"dateTime": end.to_rfc3339(), "timeZone": zone}),
        ),
        Timing::AllDay { start, end } => (
            json!({"date": start.to_string()}),
            json!({"date": end.to_string()}),
        ),
    }
}

impl Ledger {
    /// One edit in Bookline, as the user makes it (queued for sync).
    fn crm_op(&mut self, w: &World, rng: &mut Rng, label: &str) {
        let store = w.store();
        // Series (and their occurrence rows) are `google_series_op`'s, checked whole at
        // the end; the single edits here leave them alone.
        let live: Vec<String> = ids_where(
            w,
            "SELECT id FROM appointments WHERE status = 'booked' AND series_id IS NULL \
             AND recurrence IS NULL",
        )
        .into_iter()
        .filter(|id| self.include_old || !self.old_crm.contains(id))
        .collect();
        self.crm_ops += 1;
        let roll = rng.below(10);
        if live.is_empty() || roll < 4 {
            let (timing, zone) = random_timing(rng);
            let input = AppointmentInput {
                title: format!("CRM {label}"),
                timing,
                timezone: zone,
                location: if rng.chance(0.5) {
                    format!("Room {}", rng.below(20))
                } else {
                    String::new()
                },
                notes: if rng.chance(0.4) {
                    format!("Notes {label}")
                } else {
                    String::new()
                },
                lead: Lead::default(),
                status: Status::Booked,
                recurrence: None,
            };
            let a = store
                .create_appointment(input, Origin::Crm, ChangeSource::User)
                .expect("create");
            self.crm_created.push(a.id);
            return;
        }
        let id = live[rng.below(live.len())].clone();
        let a = store
            .get_appointment(&id)
            .expect("read")
            .expect("a live appointment");
        match roll {
            4..=7 => {
                let mut input = input_of(&a);
                match rng.below(6) {
                    0 => {
                        input.title = if a.title.chars().count() > 250 {
                            // Typing stops at 300 characters: the user shortens the long
                            // title Google brought instead of adding to it.
                            format!("Shortened ✎{label}")
                        } else {
                            format!("{} ✎{label}", a.title)
                        }
                    }
                    1 => {
                        let shift = ChronoDuration::hours(rng.range(1, 48) as i64);
                        input.timing = match a.timing {
                            Timing::Timed { start, end } => Timing::Timed {
                                start: start + shift,
                                end: end + shift,
                            },
                            Timing::AllDay { start, end } => Timing::AllDay {
                                start: start + ChronoDuration::days(1),
                                end: end + ChronoDuration::days(1),
                            },
                        }
                    }
                    2 => input.location = format!("Room {}", rng.below(20)),
                    3 => input.notes = format!("Notes {label}"),
                    4 => input.timezone = ZONES[rng.below(ZONES.len())].to_owned(),
                    _ => {
                        // All-day ↔ timed.
                        input.timing = match a.timing {
                            Timing::Timed { start, .. } => {
                                let day = start.date_naive();
                                Timing::AllDay {
                                    start: day,
                                    end: day + ChronoDuration::days(1),
                                }
                            }
                            Timing::AllDay { start, .. } => {
                                let s = start.and_hms_opt(9, 0, 0).expect("09:00").and_utc();
                                Timing::Timed {
                                    start: s,
                                    end: s + ChronoDuration::hours(1),
                                }
                            }
                        }
                    }
                }
                store
                    .update_appointment(&id, input, ChangeSource::User)
                    .expect("edit");
            }
            8 => {
                store
                    .set_status(&id, Status::Cancelled, ChangeSource::User)
                    .expect("cancel");
                self.crm_removed_now(w, id);
            }
            _ => {
                store
                    .delete_appointment(&id, ChangeSource::User)
                    .expect("delete");
                self.crm_removed_now(w, id);
            }
        }
    }

    /// An appointment removed in Bookline takes its Google event with it: the linked one,
    /// or the one its id names if the push got there before the link was written.
    fn crm_removed_now(&mut self, w: &World, id: String) {
        if let Some((_, e)) = links_of(w).into_iter().find(|(a, _)| *a == id) {
            self.google_removed.insert(e);
        }
        if let Some(e) = ids::event_id_for(&id) {
            self.google_removed.insert(e);
        }
        self.crm_removed.insert(id);
    }

    /// One edit in Google by a second client (faults are off while it edits).
    fn google_op(&mut self, w: &World, rng: &mut Rng, label: &str) {
        let live: Vec<Value> = w
            .google_events(false)
            .into_iter()
            .filter(|e| e.get("recurrence").is_none() && e.get("recurringEventId").is_none())
            .filter(|e| {
                self.include_old
                    || !e["id"]
                        .as_str()
                        .is_some_and(|id| self.old_google.contains(id))
            })
            .collect();
        self.google_ops += 1;
        let roll = rng.below(10);
        if live.is_empty() || roll < 4 {
            let (timing, zone) = random_timing(rng);
            let (start, end) = timing_json(&timing, &zone);
            // Now and then a title longer than Bookline lets anyone type: it imports whole.
            let summary = if rng.chance(0.12) {
                format!("Google {label}{}", " and a very long agenda".repeat(15))
            } else {
                format!("Google {label}")
            };
            let mut body = json!({"summary": summary, "start": start, "end": end});
            if rng.chance(0.5) {
                body["location"] = json!(format!("Office {}", rng.below(9)));
            }
            if rng.chance(0.4) {
                body["description"] = json!(format!("Agenda {label}"));
            }
            let (status, event) = w.google(reqwest::Method::POST, "/events", Some(body));
            assert_eq!(status, 200, "insert: {event}");
            self.google_created
                .push(event["id"].as_str().expect("an id").to_owned());
            return;
        }
        let event = &live[rng.below(live.len())];
        let id = event["id"].as_str().expect("an id").to_owned();
        if roll >= 8 {
            let (status, body) = w.google(reqwest::Method::DELETE, &format!("/events/{id}"), None);
            assert!(status == 204 || status == 200, "delete: {status} {body}");
            // Its appointment goes too (cancelled): the linked one, or the one whose id
            // names the event if the push got there before the link was written.
            if let Some((a, _)) = links_of(w).into_iter().find(|(_, e)| *e == id) {
                self.crm_removed.insert(a);
            }
            if let Some(a) = ids_where(w, "SELECT id FROM appointments")
                .into_iter()
                .find(|a| ids::event_id_for(a).as_deref() == Some(id.as_str()))
            {
                self.crm_removed.insert(a);
            }
            self.google_removed.insert(id);
            return;
        }
        let patch = match rng.below(4) {
            0 => {
                json!({"summary": format!("{} ✎{label}", event["summary"].as_str().unwrap_or(""))})
            }
            1 => json!({"location": format!("Office {}", rng.below(9))}),
            2 => json!({"description": format!("Agenda {label}")}),
            _ => {
                let (timing, zone) = random_timing(rng);
                let (start, end) = timing_json(&timing, &zone);
                json!({"start": start, "end": end})
            }
        };
        let (status, body) = w.google(
            reqwest::Method::PATCH,
            &format!("/events/{id}"),
            Some(patch),
        );
        assert_eq!(status, 200, "patch: {body}");
    }

    /// A weekly series of three made in Google, its 2nd occurrence moved two hours later
    /// and its 3rd cancelled, all before the next pass: the series and its exceptions must
    /// land together (checked by `assert_series_whole`).
    fn google_series_op(&mut self, w: &World, rng: &mut Rng, label: &str) {
        let start = Utc.with_ymd_and_hms(2031, 6, 2, 9, 0, 0).unwrap()
            + ChronoDuration::days(7 * rng.range(0, 200) as i64)
            + ChronoDuration::hours(rng.range(0, 8) as i64);
        let end = start + ChronoDuration::minutes(30);
        let (status, series) = w.google(
            reqwest::Method::POST,
            "/events",
            Some(json!({
                "summary": format!("Weekly review {label}"),
                "start": {"dateTime": start.to_rfc3339(), "timeZone": "UTC"},
                "end": {"dateTime": end.to_rfc3339(), "timeZone": "UTC"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            })),
        );
        assert_eq!(status, 200, "series insert: {series}");
        let id = series["id"].as_str().expect("an id").to_owned();
        let instance = |n: i64| {
            format!(
                "{id}_{}",
                (start + ChronoDuration::weeks(n)).format("%Y%m%dT%H%M%SZ")
            )
        };
        let moved = start + ChronoDuration::weeks(1) + ChronoDuration::hours(2);
        let (status, body) = w.google(
            reqwest::Method::PATCH,
            &format!("/events/{}", instance(1)),
            Some(json!({
                "start": {"dateTime": moved.to_rfc3339(), "timeZone": "UTC"},
                "end": {"dateTime": (moved + ChronoDuration::minutes(30)).to_rfc3339(), "timeZone": "UTC"},
            })),
        );
        assert_eq!(status, 200, "move an occurrence: {body}");
        let (status, body) = w.google(
            reqwest::Method::DELETE,
            &format!("/events/{}", instance(2)),
            None,
        );
        assert!(
            status == 204 || status == 200,
            "cancel an occurrence: {status} {body}"
        );
        self.google_ops += 3;
        self.google_series.push((id, start));
    }

    /// The same field (the title) changed on both sides of a pair before the next pass.
    fn concurrent_edit(&mut self, w: &World, rng: &mut Rng, label: &str) {
        let live: BTreeMap<String, Value> = w
            .google_events(false)
            .into_iter()
            .filter_map(|e| Some((e["id"].as_str()?.to_owned(), e)))
            .collect();
        let store = w.store();
        let pairs: Vec<(String, String)> = links_of(w)
            .into_iter()
            .filter(|(a, e)| {
                live.contains_key(e)
                    && store
                        .get_appointment(a)
                        .ok()
                        .flatten()
                        .is_some_and(|x| x.status == Status::Booked)
            })
            .collect();
        if pairs.is_empty() {
            return;
        }
        let (appointment, event) = pairs[rng.below(pairs.len())].clone();
        let a = store
            .get_appointment(&appointment)
            .expect("read")
            .expect("linked appointment");
        let mut input = input_of(&a);
        input.title = format!("Both {label} (Bookline)");
        store
            .update_appointment(&appointment, input, ChangeSource::User)
            .expect("edit");
        let (status, body) = w.google(
            reqwest::Method::PATCH,
            &format!("/events/{event}"),
            Some(json!({"summary": format!("Both {label} (Google)")})),
        );
        assert_eq!(status, 200, "patch: {body}");
        self.crm_ops += 1;
        self.google_ops += 1;
        self.concurrent.push((appointment, event));
    }

    /// One sync pass in a child process; its counts go into the ledger.
    fn pass(&mut self, w: &World) -> Ended {
        self.passes += 1;
        let ended = w.run_once(&Run::Core("sync"), None);
        if let Some(r) = ended.result.as_ref().map(|r| &r["report"]) {
            self.conflicts_reported += r["conflicts"].as_u64().unwrap_or(0);
        }
        if !ended.ok {
            self.pass_failures += 1;
        }
        ended
    }

    /// Two passes in two processes started together, as the tray app's poll and a
    /// terminal's `bookline sync` at the same moment: the data dir's sync lock lets one
    /// run after the other, and nothing is imported or sent twice (the end checks say).
    fn pass_pair(&mut self, w: &World) {
        self.second_process_passes += 1;
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| w.run_once(&Run::Core("sync"), None));
            let b = s.spawn(|| w.run_once(&Run::Core("sync"), None));
            (
                a.join().expect("the first pass"),
                b.join().expect("the second pass"),
            )
        });
        for ended in [a, b] {
            self.passes += 1;
            if let Some(r) = ended.result.as_ref().map(|r| &r["report"]) {
                self.conflicts_reported += r["conflicts"].as_u64().unwrap_or(0);
            }
            if !ended.ok {
                self.pass_failures += 1;
            }
        }
    }

    /// Passes with faults off until one changes nothing and nothing waits in the outbox;
    /// returns how many it took. An item that failed waits 30 s × 2^attempts before the
    /// next pass retries it: the wait is skipped here by making the retries due now, as
    /// the time passing would.
    fn converge(&mut self, w: &World) -> usize {
        w.control("faults", json!({}));
        for n in 1..=12 {
            w.db()
                // Due now, but still marked as sent once (not NULL): the engine's push
                // reads a non-NULL next_attempt_at as "an insert may have reached Google".
                .execute(
                    "UPDATE outbox SET next_attempt_at = 0 WHERE next_attempt_at IS NOT NULL",
                    [],
                )
                .expect("make retries due");
            let ended = self.pass(w);
            let r = ended.result.as_ref().map(|r| r["report"].clone());
            let quiet = ended.ok
                && r.is_some_and(|r| {
                    [
                        "created_in_google",
                        "updated_in_google",
                        "deleted_in_google",
                        "created_in_crm",
                        "updated_in_crm",
                        "deleted_in_crm",
                        "conflicts",
                    ]
                    .iter()
                    .all(|k| r[*k] == 0)
                });
            if quiet && w.count("SELECT COUNT(*) FROM outbox") == 0 {
                return n;
            }
        }
        panic!("sync did not converge in 12 passes without faults");
    }
}

/// The two sides are equal, field by field, pair by pair: every booked appointment has
/// exactly one live event and every live event exactly one booked appointment; cancelled
/// or deleted on one side means gone on the other. Returns the number of pairs.
fn assert_sides_equal(w: &World, old: Option<(&BTreeSet<String>, &BTreeSet<String>)>) -> usize {
    let store = w.store();
    let events: BTreeMap<String, Value> = w
        .google_events(true)
        .into_iter()
        .filter_map(|e| Some((e["id"].as_str()?.to_owned(), e)))
        .collect();
    let live = |id: &str| events.get(id).is_some_and(|e| e["status"] != "cancelled");
    let links = links_of(w);
    let by_appointment: BTreeMap<&str, &str> = links
        .iter()
        .map(|(a, e)| (a.as_str(), e.as_str()))
        .collect();
    let mut linked_events: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, e) in &links {
        *linked_events.entry(e.as_str()).or_default() += 1;
    }
    assert!(
        linked_events.values().all(|n| *n == 1),
        "an event linked twice"
    );
    let mut pairs = 0;
    let mut problems = Vec::new();
    let skip_crm = |id: &str| old.is_some_and(|(crm, _)| crm.contains(id));
    let skip_google = |id: &str| old.is_some_and(|(_, google)| google.contains(id));
    for id in ids_where(w, "SELECT id FROM appointments WHERE series_id IS NULL") {
        if skip_crm(&id) {
            continue;
        }
        let a = store.get_appointment(&id).expect("read").expect("exists");
        let event = by_appointment.get(id.as_str()).copied();
        match a.status {
            Status::Booked | Status::Done => {
                let Some(event_id) = event.filter(|e| live(e)) else {
                    problems.push(format!(
                        "“{}” ({id}) has no live Google event ({:?})\n{}",
                        a.title,
                        event.map(|e| events.get(e).map(|e| e["status"].clone())),
                        history(w, &id)
                    ));
                    continue;
                };
                pairs += 1;
                if let Err(why) = same_fields(&a, &events[event_id]) {
                    problems.push(format!(
                        "“{}” ({id}) ≠ {event_id}: {why}\n{}",
                        a.title,
                        history(w, &id)
                    ));
                }
            }
            Status::Cancelled => {
                if let Some(e) = event.filter(|e| live(e)) {
                    problems.push(format!(
                        "cancelled “{}” still live in Google as {e}",
                        a.title
                    ));
                }
            }
        }
    }
    for (id, e) in &events {
        if !live(id) || skip_google(id) {
            continue;
        }
        let owner = links.iter().find(|(_, ev)| ev == id).map(|(a, _)| a);
        let booked = owner
            .and_then(|a| store.get_appointment(a).ok().flatten())
            .is_some_and(|a| a.status != Status::Cancelled);
        if !booked {
            // The appointment it belongs to: linked, or named by the event's id.
            let appointment = owner.cloned().or_else(|| {
                ids_where(w, "SELECT id FROM appointments")
                    .into_iter()
                    .find(|a| ids::event_id_for(a).as_deref() == Some(id.as_str()))
            });
            problems.push(format!(
                "live event {id} “{}” (updated {}) has no booked appointment ({appointment:?})\n{}",
                e["summary"].as_str().unwrap_or(""),
                e["updated"],
                appointment
                    .as_ref()
                    .map(|a| history(w, a))
                    .unwrap_or_else(|| activity_about(w, e["summary"].as_str().unwrap_or("")))
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} difference(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    pairs
}

/// What the outbox, the link and the activity log say about one appointment, for a
/// failure message.
fn history(w: &World, id: &str) -> String {
    let db = w.db();
    let mut out = Vec::new();
    let rows = |sql: &str| -> Vec<String> {
        let mut stmt = db.prepare(sql).expect("prepare");
        let n = stmt.column_count();
        stmt.query_map([id], |r| {
            Ok((0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" | "))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows")
    };
    out.push(format!(
        "  appointment: {:?}",
        rows("SELECT title, status, location, updated_at_ms FROM appointments WHERE id = ?1")
    ));
    out.push(format!(
        "  outbox: {:?}",
        rows("SELECT op, attempts, last_error, next_attempt_at FROM outbox WHERE appointment_id = ?1")
    ));
    out.push(format!(
        "  link: {:?}",
        rows("SELECT etag, crm_snapshot, google_snapshot, last_error FROM links WHERE appointment_id = ?1")
    ));
    for a in
        rows("SELECT at, kind, summary, detail FROM activity WHERE appointment_id = ?1 ORDER BY id")
    {
        out.push(format!("  activity: {a}"));
    }
    out.join("\n")
}

/// The activity entries that name an item by its title (when its appointment is gone).
fn activity_about(w: &World, title: &str) -> String {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT at, kind, appointment_id, event_id, summary FROM activity \
             WHERE instr(summary, ?1) > 0 ORDER BY id",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([format!("“{title}”")], |r| {
            Ok(format!(
                "  activity: {} | {} | {:?} | {:?} | {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?
            ))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    rows.join("\n")
}

/// Title, times, zone, all-day, location and notes, as Bookline maps them (default
/// privacy: the title alone, the notes as the description, no lead).
fn same_fields(a: &bookline_core::model::Appointment, e: &Value) -> Result<(), String> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let mut diffs = Vec::new();
    if text(&e["summary"]) != a.title {
        diffs.push(format!("title {:?} vs {:?}", a.title, e["summary"]));
    }
    if text(&e["location"]) != a.location {
        diffs.push(format!("location {:?} vs {:?}", a.location, e["location"]));
    }
    if text(&e["description"]) != a.notes {
        diffs.push(format!("notes {:?} vs {:?}", a.notes, e["description"]));
    }
    let instant = |v: &Value| {
        v["dateTime"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.to_utc())
    };
    let date = |v: &Value| v["date"].as_str().and_then(|s| s.parse::<NaiveDate>().ok());
    match &a.timing {
        Timing::Timed { start, end } => {
            if instant(&e["start"]) != Some(*start) || instant(&e["end"]) != Some(*end) {
                diffs.push(format!(
                    "times {start}–{end} vs {} – {}",
                    e["start"], e["end"]
                ));
            }
            if text(&e["start"]["timeZone"]) != a.timezone {
                diffs.push(format!("zone {} vs {}", a.timezone, e["start"]["timeZone"]));
            }
        }
        Timing::AllDay { start, end } => {
            if date(&e["start"]) != Some(*start) || date(&e["end"]) != Some(*end) {
                diffs.push(format!(
                    "all-day {start}–{end} vs {} – {}",
                    e["start"], e["end"]
                ));
            }
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// Nothing lost: what one side created and neither side removed (itself or its partner)
/// is on both sides.
/// Every series `google_series_op` made is whole in Bookline: one series row, its moved
/// occurrence at Google's new time and its cancelled one, each linked once, and the
/// week's expansion shows the first and the moved occurrence booked and nothing at the
/// cancelled one's time.
fn assert_series_whole(w: &World, l: &Ledger) {
    let store = w.store();
    let links = links_of(w);
    for (event_id, start) in &l.google_series {
        let series: Vec<String> = links
            .iter()
            .filter(|(_, e)| e == event_id)
            .map(|(a, _)| a.clone())
            .collect();
        assert_eq!(
            series.len(),
            1,
            "series {event_id} linked {} times",
            series.len()
        );
        let occurrences = store
            .occurrences(
                *start - ChronoDuration::hours(1),
                *start + ChronoDuration::weeks(3),
            )
            .expect("occurrences");
        let mine: Vec<_> = occurrences
            .iter()
            .filter(|o| o.series_id.as_deref() == Some(series[0].as_str()))
            .collect();
        let booked: Vec<String> = mine
            .iter()
            .filter(|o| o.status == Status::Booked)
            .map(|o| format!("{:?}", o.timing))
            .collect();
        let moved = *start + ChronoDuration::weeks(1) + ChronoDuration::hours(2);
        let expected = [*start, moved]
            .map(|s| {
                format!(
                    "{:?}",
                    Timing::Timed {
                        start: s,
                        end: s + ChronoDuration::minutes(30)
                    }
                )
            })
            .to_vec();
        assert_eq!(booked, expected, "series {event_id}: {mine:?}");
    }
}

fn assert_nothing_lost(w: &World, l: &Ledger) {
    let links = links_of(w);
    let event_of: BTreeMap<&str, &str> = links
        .iter()
        .map(|(a, e)| (a.as_str(), e.as_str()))
        .collect();
    let appointment_of: BTreeMap<&str, &str> = links
        .iter()
        .map(|(a, e)| (e.as_str(), a.as_str()))
        .collect();
    let live: BTreeSet<String> = w
        .google_events(false)
        .into_iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    let store = w.store();
    let booked = |id: &str| {
        store
            .get_appointment(id)
            .ok()
            .flatten()
            .is_some_and(|a| a.status != Status::Cancelled)
    };
    for id in l
        .crm_created
        .iter()
        .filter(|id| !l.crm_removed.contains(*id))
    {
        assert!(
            booked(id),
            "appointment {id} was lost in Bookline\n{}",
            history(w, id)
        );
        assert!(
            event_of.get(id.as_str()).is_some_and(|e| live.contains(*e)),
            "appointment {id} never reached Google\n{}",
            history(w, id)
        );
    }
    for id in l
        .google_created
        .iter()
        .filter(|id| !l.google_removed.contains(*id))
    {
        let appointment = appointment_of.get(id.as_str()).copied();
        let why = || appointment.map(|a| history(w, a)).unwrap_or_default();
        assert!(
            live.contains(id),
            "event {id} was lost in Google\n{}",
            why()
        );
        assert!(
            appointment.is_some_and(booked),
            "event {id} never reached Bookline\n{}",
            why()
        );
    }
}

/// Every conflict a pass reported is in the activity log — exactly those without kills;
/// a pass killed after committing a chunk logged conflicts it never got to report — and
/// each pair edited on both sides between two passes has its conflict logged.
fn assert_conflicts_logged(w: &World, l: &Ledger, killed: bool) -> u64 {
    let logged = w.count("SELECT COUNT(*) FROM activity WHERE kind = 'conflict'");
    if killed {
        assert!(
            logged >= l.conflicts_reported,
            "{} conflicts reported by the passes, {logged} in the activity log",
            l.conflicts_reported
        );
    } else {
        assert_eq!(
            logged, l.conflicts_reported,
            "conflicts reported by the passes vs in the activity log"
        );
    }
    let with_conflict: BTreeSet<String> = ids_where(
        w,
        "SELECT DISTINCT appointment_id FROM activity WHERE kind = 'conflict' \
         AND appointment_id IS NOT NULL",
    )
    .into_iter()
    .collect();
    for (appointment, event) in &l.concurrent {
        if l.crm_removed.contains(appointment) || l.google_removed.contains(event) {
            continue;
        }
        assert!(
            with_conflict.contains(appointment),
            "the title edited on both sides of {appointment} left no conflict in the log\n{}",
            history(w, appointment)
        );
    }
    logged
}

#[test]
fn soak() {
    if child_role() {
        return;
    }
    let started = Instant::now();
    let seed = env_u64("SOAK_SEED", 1);
    // One round is one simulated minute: edits on both sides, faults, then a pass (the
    // app's default poll interval is 60 s).
    let rounds = env_u64("SOAK_MINUTES", 10) as usize;
    let kills = env_u64("SOAK_KILLS", 10) as usize;
    let old_crm = env_u64("SOAK_OLD_CRM", 400) as usize;
    let old_google = env_u64("SOAK_OLD_GOOGLE", 200) as usize;
    let Some(w) = World::connected("soak", old_crm, old_google) else {
        return;
    };
    let mut rng = Rng::new(seed);
    let mut l = Ledger {
        old_crm: ids_where(&w, "SELECT id FROM appointments")
            .into_iter()
            .collect(),
        old_google: w
            .google_events(false)
            .into_iter()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect(),
        ..Ledger::default()
    };

    // (a) Simulated use with every fault kind.
    for round in 0..rounds {
        w.control("faults", json!({}));
        for n in 0..rng.range(1, 4) {
            l.crm_op(&w, &mut rng, &format!("m{round}.{n}"));
        }
        for n in 0..rng.range(1, 4) {
            l.google_op(&w, &mut rng, &format!("m{round}.{n}"));
        }
        if rng.chance(0.35) {
            l.concurrent_edit(&w, &mut rng, &format!("m{round}"));
        }
        if rng.chance(0.3) {
            l.google_series_op(&w, &mut rng, &format!("m{round}"));
        }
        w.control(
            "faults",
            json!({
                "seed": rng.next() % 1_000_000,
                "rate": 0.12,
                "kinds": ALL_FAULTS,
                "expire_sync_tokens": round % 7 == 3,
                // The first pass meets each kind once for sure, in order; after that they
                // come at random.
                "fail_next": if round == 0 { ALL_FAULTS.len() } else { 0 },
            }),
        );
        if round > 0 && rng.chance(0.3) {
            l.pass_pair(&w);
        } else {
            l.pass(&w);
        }
        // A kind that breaks an answer beyond retrying ends that pass; the next pass meets
        // the next kind of the list.
        while round == 0 && l.passes < 2 * ALL_FAULTS.len() {
            let seen = w.emulator_stats()["faults_injected"].clone();
            if ALL_FAULTS
                .iter()
                .all(|k| seen[*k].as_u64().unwrap_or(0) > 0)
            {
                break;
            }
            l.pass(&w);
        }
    }
    let passes_a = l.converge(&w);
    let pairs_a = assert_sides_equal(&w, Some((&l.old_crm, &l.old_google)));
    assert_nothing_lost(&w, &l);
    assert_series_whole(&w, &l);
    let conflicts_a = assert_conflicts_logged(&w, &l, false);
    eprintln!(
        "soak (a): {rounds} simulated minutes, {} CRM + {} Google ops, {} concurrent edits, \
         {} Google series with a moved and a cancelled occurrence, {} passes ({} failed \
         under faults; {} rounds synced by two processes at once), converged in {passes_a} \
         pass(es), {pairs_a} pairs equal, {conflicts_a} conflicts logged, {:.1} s",
        l.crm_ops,
        l.google_ops,
        l.concurrent.len(),
        l.google_series.len(),
        l.passes,
        l.pass_failures,
        l.second_process_passes,
        started.elapsed().as_secs_f64()
    );

    // (b) SIGKILL at random points of the backfill of the old items, then of sync passes
    // with fresh edits, faults on. From here on the old items must be on both sides too.
    l.crm_created.extend(l.old_crm.iter().cloned());
    l.google_created.extend(l.old_google.iter().cloned());
    let mut k = Kills::default();
    // 40 ms of latency per request stretches the transfer so the kills land all along it.
    w.control(
        "faults",
        json!({"seed": seed, "rate": 0.08, "kinds": ALL_FAULTS, "latency_ms": 40}),
    );
    let backfill = w.kill_loop(
        &Run::Core("backfill:both"),
        kills / 3,
        Schedule::Progress {
            startup_ms: 900,
            jitter_ms: 200,
        },
        &mut rng,
    );
    eprintln!(
        "soak (b): backfill of {} old items: {} SIGKILLs ({} after it showed progress) over {} runs",
        old_crm + old_google,
        backfill.kills,
        backfill.mid_job,
        backfill.runs
    );
    k.runs += backfill.runs;
    k.kills += backfill.kills;
    k.mid_job += backfill.mid_job;
    k.unclean += backfill.unclean;
    l.include_old = true;
    let mut episode = 0;
    while k.kills < kills {
        episode += 1;
        w.control("faults", json!({}));
        for n in 0..6 {
            l.crm_op(&w, &mut rng, &format!("k{episode}.{n}"));
            l.google_op(&w, &mut rng, &format!("k{episode}.{n}"));
        }
        w.control(
            "faults",
            json!({"seed": rng.next() % 1_000_000, "rate": 0.08, "kinds": ALL_FAULTS}),
        );
        let step = (kills - k.kills).min(5);
        let s = w.kill_loop(&Run::Core("sync"), step, Schedule::Time(20, 700), &mut rng);
        k.runs += s.runs;
        k.kills += s.kills;
        k.mid_job += s.mid_job;
        k.unclean += s.unclean;
    }
    let faults = w.emulator_stats()["faults_injected"].clone();
    let passes_b = l.converge(&w);
    let pairs_b = assert_sides_equal(&w, None);
    assert_nothing_lost(&w, &l);
    assert_series_whole(&w, &l);
    let conflicts_b = assert_conflicts_logged(&w, &l, true);
    w.assert_integrity();
    for kind in ALL_FAULTS {
        assert!(
            faults[kind].as_u64().unwrap_or(0) > 0,
            "fault kind {kind} was never injected: {faults}"
        );
    }
    let injected: u64 = faults
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    eprintln!(
        "soak summary (seed {seed}): {} operations ({} CRM, {} Google, {} concurrent), \
         {injected} faults injected {faults}, {} SIGKILLs ({} of them mid-transfer) over {} runs \
         ({} ended unclean and were rerun), converged in {passes_a} + {passes_b} passes, \
         {pairs_b} pairs equal field by field, {conflicts_b} conflicts all in the activity \
         log, wall time {:.1} s",
        l.crm_ops + l.google_ops,
        l.crm_ops,
        l.google_ops,
        l.concurrent.len(),
        k.kills,
        k.mid_job,
        k.runs,
        k.unclean,
        started.elapsed().as_secs_f64()
    );
}
