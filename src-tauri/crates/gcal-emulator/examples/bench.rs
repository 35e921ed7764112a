//! Throughput of the emulator: `cargo run --release -p gcal-emulator --example bench`.
//! Client and server share the machine, so the numbers are a lower bound for the server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gcal_emulator::{Emulator, EmulatorOptions};
use serde_json::{json, Value};

const CONCURRENCY: usize = 32;

async fn run<F, Fut>(label: &str, dur: Duration, f: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let f = Arc::new(f);
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (f, done, failed, next) = (f.clone(), done.clone(), failed.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < dur {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if f(i).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let rate = n as f64 / secs;
    println!(
        "{label:<34} {rate:>9.0} req/s  ({n} ok, {} failed, {secs:.1} s)",
        failed.load(Ordering::Relaxed)
    );
    rate
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let emu = Emulator::start(EmulatorOptions::default()).await?;
    let base = emu.base_url().to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    http.post(format!("{base}/_emulator/quota"))
        .json(&json!({"per_user_per_minute": 0, "per_project_per_minute": 0}))
        .send()
        .await?;
    let acc: Value = http
        .post(format!("{base}/_emulator/accounts"))
        .json(&json!({"email": "bench@example.com"}))
        .send()
        .await?
        .json()
        .await?;
    let token = acc["access_token"].as_str().unwrap_or_default().to_string();
    let dur = Duration::from_secs(5);
    println!(
        "gcal-emulator bench: {CONCURRENCY} concurrent clients, {} s per case",
        dur.as_secs()
    );

    let (h, b, t) = (http.clone(), base.clone(), token.clone());
    run("events.insert (client ids)", dur, move |i| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let ev = json!({"id": format!("bench{i:08}"), "summary": format!("Bench {i}"),
                "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}});
            let r = h.post(format!("{b}/calendar/v3/calendars/primary/events")).bearer_auth(&t).json(&ev).send().await;
            matches!(r, Ok(r) if r.status() == 200)
        }
    })
    .await;

    let (h, b, t) = (http.clone(), base.clone(), token.clone());
    run("events.get", dur, move |i| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let r = h
                .get(format!(
                    "{b}/calendar/v3/calendars/primary/events/bench{:08}",
                    i % 1000
                ))
                .bearer_auth(&t)
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;

    // Top up to at least 10,000 events for the big pages.
    let a: Value = http
        .get(format!("{base}/_emulator/accounts"))
        .send()
        .await?
        .json()
        .await?;
    let count = a["accounts"][0]["calendars"][0]["events"]
        .as_u64()
        .unwrap_or(0) as usize;
    for i in count..10_000 {
        let ev = json!({"id": format!("fill{i:08}"), "summary": "fill",
            "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}});
        http.post(format!("{base}/_emulator/events/bench@example.com"))
            .json(&ev)
            .send()
            .await?;
    }
    println!("calendar holds {} events", count.max(10_000));

    let (h, b, t) = (http.clone(), base.clone(), token.clone());
    let rate = run("events.list (2500-item pages)", dur, move |i| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let r = h
                .get(format!(
                    "{b}/calendar/v3/calendars/primary/events?maxResults=2500&showDeleted={}",
                    i % 2 == 0
                ))
                .bearer_auth(&t)
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;
    println!(
        "{:<34} {:>9.0} events/s",
        "  = events served",
        rate * 2500.0
    );

    let start = Instant::now();
    let mut page: Option<String> = None;
    let mut reqs = 0;
    let mut items = 0;
    loop {
        let mut url = format!("{base}/calendar/v3/calendars/primary/events?maxResults=2500");
        if let Some(p) = &page {
            url.push_str(&format!("&pageToken={p}"));
        }
        let r: Value = http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        reqs += 1;
        items += r["items"].as_array().map(Vec::len).unwrap_or(0);
        match r["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    println!(
        "full listing: {items} events in {reqs} requests, {:?}",
        start.elapsed()
    );
    emu.shutdown().await;
    Ok(())
}
