//! Store benchmark: 10,000 appointments in a fresh SQLite file, then the queries the
//! window runs. Run with
//! `cargo run --release -p bookline-core --example store_bench [-- --keep DIR]`.
//! Targets (issue 3): first page < 20 ms, search over 10k < 50 ms.

use std::time::Instant;

use bookline_core::model::{
    AppointmentInput, Lead, ListQuery, Origin, Period, Recurrence, Status, Timing,
};
use bookline_core::store::{ChangeSource, Store};
use chrono::{Duration, TimeZone, Utc};

const COUNT: usize = 10_000;
/// Runs per query; the table shows the median and the worst.
const RUNS: usize = 25;

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Dennis", "Radia",
    "Edsger", "Hedy",
];
const LAST: [&str; 10] = [
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen",
    "Ritchie", "Perlman",
];
const KINDS: [&str; 6] = [
    "Demo",
    "Discovery call",
    "Contract review",
    "Site visit",
    "Follow-up",
    "Onboarding",
];
const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keep = std::env::args().skip_while(|a| a != "--keep").nth(1);
    let dir = tempfile::tempdir()?;
    let base = keep
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    let path = base.join("bench.sqlite3");
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path)?;
    let now = Utc
        .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .ok_or("bad benchmark clock")?;

    let mut rows: Vec<(String, f64, f64, String)> = Vec::new();

    // Insert: one transaction per appointment, as the window does it (with an outbox row).
    let t = Instant::now();
    for i in 0..COUNT {
        // A third arrive from Google (no outbox row), the rest are typed by the user.
        let (origin, source) = if i.is_multiple_of(3) {
            (Origin::Google, ChangeSource::Sync)
        } else {
            (Origin::Crm, ChangeSource::User)
        };
        store.create_appointment(input(i, now), origin, source)?;
    }
    let insert_ms = t.elapsed().as_secs_f64() * 1000.0;
    rows.push((
        format!("insert {COUNT} (one transaction each)"),
        insert_ms,
        insert_ms,
        format!("{:.3} ms per appointment", insert_ms / COUNT as f64),
    ));

    let page = |period| ListQuery {
        period,
        limit: 100,
        ..ListQuery::default()
    };
    let mut total = 0;
    rows.push(time("list: first page upcoming (100 rows)", || {
        total = store.list_appointments(&page(Period::Upcoming), now)?.total;
        Ok(format!("total {total}"))
    })?);
    rows.push(time("list: first page past (100 rows)", || {
        let p = store.list_appointments(&page(Period::Past), now)?;
        Ok(format!("total {}", p.total))
    })?);
    rows.push(time("list: deep page, offset 9,000", || {
        let p = store.list_appointments(
            &ListQuery {
                offset: 9_000,
                ..page(Period::All)
            },
            now,
        )?;
        Ok(format!("{} rows", p.rows.len()))
    })?);
    for (label, needle) in [
        ("search: lead name \"hopper\"", "hopper"),
        ("search: title \"contract rev\"", "contract rev"),
        ("search: email \"@acme3.exa\"", "@acme3.exa"),
        ("search: 2 chars \"42\" (scan)", "42"),
        ("search: no match \"zzzzzz\"", "zzzzzz"),
    ] {
        rows.push(time(label, || {
            let p = store.list_appointments(
                &ListQuery {
                    search: Some(needle.into()),
                    ..page(Period::All)
                },
                now,
            )?;
            Ok(format!("{} matches", p.total))
        })?);
    }
    rows.push(time("filter: upcoming + cancelled + google", || {
        let p = store.list_appointments(
            &ListQuery {
                status: Some(Status::Cancelled),
                origin: Some(Origin::Google),
                ..page(Period::Upcoming)
            },
            now,
        )?;
        Ok(format!("{} matches", p.total))
    })?);
    rows.push(time("filter: status done, all periods", || {
        let p = store.list_appointments(
            &ListQuery {
                status: Some(Status::Done),
                ..page(Period::All)
            },
            now,
        )?;
        Ok(format!("{} matches", p.total))
    })?);
    rows.push(time("occurrences: one week (all 10k rows)", || {
        let o = store.occurrences(now, now + Duration::days(7))?;
        Ok(format!("{} occurrences", o.len()))
    })?);

    // A weekly series expanded over a year, alone in its own file so the number is the
    // expansion, not the other rows.
    let series_path = base.join("bench-series.sqlite3");
    let _ = std::fs::remove_file(&series_path);
    let series_store = Store::open(&series_path)?;
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .ok_or("bad series start")?;
    series_store.create_appointment(
        AppointmentInput {
            recurrence: Some(Recurrence {
                lines: vec![
                    "RRULE:FREQ=WEEKLY;BYDAY=MO".into(),
                    "EXDATE;TZID=Europe/Berlin:20260406T100000".into(),
                ],
            }),
            ..input(0, start)
        },
        Origin::Crm,
        ChangeSource::User,
    )?;
    rows.push(time("expand weekly RRULE over a year", || {
        let o = series_store.occurrences(start, start + Duration::days(365))?;
        Ok(format!("{} occurrences", o.len()))
    })?);

    let file_mb = std::fs::metadata(&path)?.len() as f64 / 1_048_576.0;
    println!();
    println!("Bookline store benchmark — {COUNT} appointments, SQLite file {file_mb:.1} MiB");
    println!(
        "{:<42} {:>10} {:>10}  result",
        "operation", "median ms", "max ms"
    );
    println!("{}", "-".repeat(84));
    for (label, median, max, note) in rows {
        println!("{label:<42} {median:>10.3} {max:>10.3}  {note}");
    }
    Ok(())
}

/// Runs `f` `RUNS` times (after one warm-up) and returns (label, median, max, note).
fn time(
    label: &str,
    mut f: impl FnMut() -> Result<String, Box<dyn std::error::Error>>,
) -> Result<(String, f64, f64, String), Box<dyn std::error::Error>> {
    let note = f()?;
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok((
        label.to_string(),
        samples[RUNS / 2],
        samples[RUNS - 1],
        note,
    ))
}

/// Varied appointments spread over two years around `now`; every 50th one recurs.
fn input(i: usize, now: chrono::DateTime<Utc>) -> AppointmentInput {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let kind = KINDS[i % KINDS.len()];
    let offset_hours = (i as i64 * 7919) % (24 * 730) - 24 * 365;
    let start = now + Duration::hours(offset_hours);
    let recurrence = i.is_multiple_of(50).then(|| Recurrence {
        lines: vec![format!("RRULE:FREQ=WEEKLY;COUNT={}", 4 + i % 20)],
    });
    AppointmentInput {
        title: format!("{kind} with {first} {last} #{i}"),
        timing: if i.is_multiple_of(17) {
            let d = start.date_naive();
            Timing::AllDay {
                start: d,
                end: d + Duration::days(1),
            }
        } else {
            Timing::Timed {
                start,
                end: start + Duration::minutes(30 + 15 * (i as i64 % 4)),
            }
        },
        timezone: ZONES[i % ZONES.len()].into(),
        location: format!("Room {}", i % 40),
        notes: format!("Notes for appointment {i}: budget, timeline, decision makers."),
        lead: Lead {
            name: format!("{first} {last}"),
            email: format!(
                "{}.{}@acme{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                i % 7
            ),
            phone: format!("+1 555 {:07}", i),
        },
        status: match i % 10 {
            0 | 1 => Status::Cancelled,
            2..=4 => Status::Done,
            _ => Status::Booked,
        },
        recurrence,
    }
}
