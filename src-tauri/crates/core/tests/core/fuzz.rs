//! Bounded fuzzing with proptest: whatever Google (or something pretending to be it)
//! sends, reading it never panics. Two targets:
//! - Google event JSON → `Event` → `SyncFields` / `GoogleSide` (shaped like events, with
//!   garbage mixed into every field, plus arbitrary JSON);
//! - `google::batch::parse_batch_response` on arbitrary bytes and on mutated valid
//!   multipart answers.
//!
//! Case counts keep this file under ~20 s on two cores. For a longer local run:
//! `PROPTEST_CASES=100000 cargo test -p bookline-core --test core fuzz::`.

use bookline_core::google::parse_batch_response;
use bookline_core::google::{Event, EventDateTime};
use bookline_core::model::{Lead, Timing};
use bookline_core::sync::fields::{SyncFields, SyncStatus};
use bookline_core::sync::mapping::{fields_from_event, google_side, MappingContext, MappingError};
use bookline_core::sync::privacy::PrivacySettings;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// `PROPTEST_CASES` wins over the file's default, so CI stays bounded and a developer can
/// run for longer.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        // Failures are reported with their minimal input; no regression file is written
        // for this module (fuzz inputs are large and the suite keeps none).
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Event JSON
// ---------------------------------------------------------------------------------------

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings that look like Google date-times (mostly real ones, so that whole events
/// parse often enough for the mapping's checks to run), and ones that almost do.
fn date_time_string() -> impl Strategy<Value = String> {
    let offset = |valid: bool| {
        if valid {
            prop::sample::select(vec!["Z", "+02:00", "-05:30", "+14:00", "-04:00", "+01:00"])
                .prop_map(str::to_owned)
                .boxed()
        } else {
            prop::sample::select(vec!["", "+99:99"])
                .prop_map(str::to_owned)
                .boxed()
        }
    };
    let formatted = move |valid: bool| {
        (
            1900i32..=2200,
            1u32..=12,
            1u32..=28,
            0u32..=23,
            0u32..=59,
            offset(valid),
        )
            .prop_map(|(y, mo, d, h, mi, off)| {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00{off}")
            })
    };
    prop_oneof![
        12 => formatted(true),
        // Explicit daylight-saving edges: Berlin's and New York's gaps and overlaps.
        3 => prop::sample::select(vec![
            "2026-03-29T02:30:00+01:00", // a Berlin wall time that never happens
            "2026-03-29T03:00:00+02:00",
            "2026-10-25T02:30:00+02:00", // the overlap's first 02:30
            "2026-10-25T02:30:00+01:00", // and its second
            "2026-03-08T02:30:00-05:00", // New York's gap
            "2026-11-01T01:30:00-04:00", // New York's overlap, both readings
            "2026-11-01T01:30:00-05:00",
        ])
        .prop_map(str::to_owned),
        1 => formatted(false),
        1 => Just("9999-12-31T23:59:59Z".to_string()),
        1 => Just("0000-01-01T00:00:00Z".to_string()),
        1 => Just("2026-13-40T25:61:61Z".to_string()),
        1 => "[0-9T:+Z.-]{0,30}",
    ]
}

fn date_string() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1900i32..=2200, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => (0i32..=9999, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => Just("9999-12-31".to_string()),
        1 => "[0-9-]{0,12}",
    ]
}

fn time_zone() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("Europe/Berlin")),
        Just(json!("America/New_York")),
        Just(json!("UTC")),
        Just(json!("Mars/Olympus")),
        Just(json!("")),
        ".{0,20}".prop_map(Value::String),
    ]
}

/// `start`/`end`/`originalStartTime`: timed, all-day, both, neither, or garbage.
fn event_date_time() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (date_time_string(), time_zone()).prop_map(|(dt, tz)| {
            let mut m = Map::new();
            m.insert("dateTime".into(), json!(dt));
            if !tz.is_null() {
                m.insert("timeZone".into(), tz);
            }
            Value::Object(m)
        }),
        3 => date_string().prop_map(|d| json!({ "date": d })),
        1 => (date_string(), date_time_string()).prop_map(|(d, dt)| json!({"date": d, "dateTime": dt})),
        1 => Just(json!({})),
        1 => any_json(),
    ]
}

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.7, s)
}

fn recurrence_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("RRULE:FREQ=WEEKLY;BYDAY=MO".to_string()),
        Just("RRULE:FREQ=SECONDLY;INTERVAL=7".to_string()),
        Just("RRULE:FREQ=DAILY;COUNT=0".to_string()),
        Just("EXDATE;TZID=Europe/Berlin:20260504T100000".to_string()),
        Just("RDATE;VALUE=PERIOD:20260601T100000Z/PT1H".to_string()),
        "(RRULE|EXDATE|RDATE|EXRULE)[:;][A-Z=;0-9,]{0,40}",
        ".{0,40}",
    ]
}

/// A JSON object with the keys of a Google event, each present or not, each value either
/// of the right type or anything.
fn event_json() -> impl Strategy<Value = Value> {
    (
        (
            maybe(prop_oneof!["[a-v0-9]{5,30}", ".{0,10}"]),
            maybe(prop_oneof![
                Just("confirmed".to_string()),
                Just("tentative".to_string()),
                Just("cancelled".to_string()),
                ".{0,12}",
            ]),
            maybe(".{0,60}"),
            maybe(prop_oneof![
                ".{0,200}",
                "(Lead|Phone|Email|Bookline): .{0,30}\n.{0,60}"
            ]),
            maybe(".{0,40}"),
        ),
        (
            maybe(event_date_time()),
            maybe(event_date_time()),
            maybe(prop::collection::vec(recurrence_line(), 0..4)),
            maybe("[a-v0-9_]{5,40}"),
            maybe(event_date_time()),
        ),
        (
            maybe(date_time_string()),
            maybe(date_time_string()),
            maybe(prop_oneof![
                4 => "[a-z0-9-]{0,40}"
                    .prop_map(|id| json!({"private": {"bookline_appointment_id": id}})),
                1 => any_json(),
            ]),
            prop::collection::btree_map("[a-zA-Z]{1,10}", any_json(), 0..3),
        ),
    )
        .prop_map(
            |(
                (id, status, summary, description, location),
                (start, end, recurrence, recurring, original),
                (created, updated, ext, extra),
            )| {
                let mut m: Map<String, Value> = extra.into_iter().collect();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                };
                put("id", id.map(Value::String));
                put("status", status.map(Value::String));
                put("summary", summary.map(Value::String));
                put("description", description.map(Value::String));
                put("location", location.map(Value::String));
                put("start", start);
                put("end", end);
                put("recurrence", recurrence.map(|r| json!(r)));
                put("recurringEventId", recurring.map(Value::String));
                put("originalStartTime", original);
                put("created", created.map(Value::String));
                put("updated", updated.map(Value::String));
                put("extendedProperties", ext);
                Value::Object(m)
            },
        )
}

fn known_fields() -> SyncFields {
    SyncFields {
        title: "Known title".into(),
        timing: Timing::AllDay {
            start: chrono::NaiveDate::from_ymd_opt(2026, 5, 3).unwrap_or_default(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 5, 4).unwrap_or_default(),
        },
        timezone: "Europe/Berlin".into(),
        location: String::new(),
        notes: String::new(),
        status: SyncStatus::Active,
        recurrence: Vec::new(),
    }
}

/// What one value came to.
#[derive(Clone, Copy, Default)]
struct Outcome {
    /// It deserialized as an `Event`.
    parsed: bool,
    /// `fields_from_event` read it (with both leads).
    mapped: bool,
}

/// Maps one value every way the engine does; checks what must hold of every success and
/// of every failure (the error names the event and is true of it).
fn map_every_way(value: &Value) -> Outcome {
    // Deserializing may fail (wrong types) — as an error, never a panic.
    let Ok(event) = serde_json::from_value::<Event>(value.clone()) else {
        return Outcome::default();
    };
    let mut outcome = Outcome {
        parsed: true,
        mapped: true,
    };
    let lead = Lead {
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        phone: "+49 30 123".into(),
    };
    let privacy = PrivacySettings::default();
    let id = event.id.clone().unwrap_or_default();
    for lead in [Lead::default(), lead] {
        let ctx = MappingContext {
            calendar_timezone: "Europe/Berlin",
            privacy: &privacy,
            lead: &lead,
        };
        match fields_from_event(&event, &ctx) {
            Ok(fields) => {
                match fields.timing {
                    Timing::Timed { start, end } => assert!(start <= end, "{value}"),
                    Timing::AllDay { start, end } => assert!(start < end, "{value}"),
                }
                // What Bookline reads it keeps: recurrence lines verbatim.
                assert_eq!(
                    fields.recurrence,
                    event.recurrence.clone().unwrap_or_default()
                );
            }
            Err(err) => {
                outcome.mapped = false;
                check_mapping_error(&event, &id, &err, value);
            }
        }
        let known = known_fields();
        for known in [None, Some(&known)] {
            match google_side(&event, &ctx, known) {
                Ok(side) => {
                    assert_eq!(Some(&side.event_id), event.id.as_ref());
                    assert_eq!(side.cancelled, event.is_cancelled());
                }
                Err(err) => check_mapping_error(&event, &id, &err, value),
            }
        }
    }
    // A parsed event serializes again (unknown fields kept), and re-reads the same.
    let again = serde_json::to_value(&event).unwrap_or(Value::Null);
    let reread: Event = serde_json::from_value(again).unwrap_or_default();
    assert_eq!(reread, event, "{value}");
    outcome
}

/// A mapping error is one of the documented sentences (docs/bad-input.md), names the
/// event, and is true of it.
fn check_mapping_error(event: &Event, id: &str, err: &MappingError, value: &Value) {
    let start = event.start.as_ref();
    let end = event.end.as_ref();
    let timed = |t: Option<&EventDateTime>| t.is_some_and(|t| t.date_time.is_some());
    let all_day =
        |t: Option<&EventDateTime>| t.is_some_and(|t| t.date_time.is_none() && t.date.is_some());
    match err {
        MappingError::MissingId => {
            assert!(event.id.is_none(), "{err} of an event with an id: {value}");
            assert_eq!(err.to_string(), "the event has no id");
        }
        MappingError::MissingStart(e) => {
            assert_eq!(e, id, "{value}");
            assert!(!timed(start) && !all_day(start), "{err}: {value}");
            assert_eq!(err.to_string(), format!("event {id} has no start"));
        }
        MappingError::MixedTiming(e) => {
            assert_eq!(e, id, "{value}");
            assert!(
                (timed(start) && all_day(end))
                    || (all_day(start)
                        && end.is_some_and(|e| e.date.is_none() && e.date_time.is_some())),
                "{err}: {value}"
            );
            assert_eq!(
                err.to_string(),
                format!("event {id} mixes an all-day start with a timed end (or the reverse)")
            );
        }
        MappingError::EndBeforeStart(e) => {
            assert_eq!(e, id, "{value}");
            assert_eq!(err.to_string(), format!("event {id} ends before it starts"));
        }
    }
}

/// Runs `check` on `cases` values of `strategy` (PROPTEST_CASES wins), counting the
/// outcomes, so a test can require that its checks actually ran.
fn run_counting<S: Strategy>(
    default_cases: u32,
    strategy: S,
    check: impl Fn(&S::Value) -> Outcome,
) -> (u32, u32, u32)
where
    S::Value: std::fmt::Debug,
{
    let config = config(default_cases);
    let cases = config.cases;
    let parsed = std::cell::Cell::new(0u32);
    let mapped = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&strategy, |value| {
            let o = check(&value);
            parsed.set(parsed.get() + u32::from(o.parsed));
            mapped.set(mapped.get() + u32::from(o.mapped));
            Ok(())
        })
        .unwrap();
    // Shrinking never happens on success, so the counts are of the `cases` runs.
    let (parsed, mapped) = (parsed.get(), mapped.get());
    eprintln!("{cases} cases: {parsed} parsed as events, {mapped} mapped");
    (cases, parsed, mapped)
}

/// A well-formed event as Google sends it: timed (DST edges included) or all-day, a
/// zone, a location, sometimes recurring, sometimes cancelled, sometimes Bookline's.
fn structured_event() -> impl Strategy<Value = Value> {
    let instant = prop_oneof![
        (0i64..6_000_000).prop_map(|m| 1_735_689_600 + m * 60),
        // Spring gaps and autumn overlaps of Europe/Berlin and America/New_York.
        (
            prop::sample::select(vec![
                1_774_746_000i64, // 2026-03-29T01:00:00Z, Berlin's gap
                1_792_890_000,    // 2026-10-25T01:00:00Z, Berlin's overlap
                1_772_953_200,    // 2026-03-08T07:00:00Z, New York's gap
                1_793_516_400,    // 2026-11-01T06:00:00Z, New York's overlap
            ]),
            -90i64..=90
        )
            .prop_map(|(edge, m)| edge + m * 60),
    ];
    (
        "[a-v0-9]{5,30}",
        prop::sample::select(vec!["confirmed", "tentative", "cancelled"]),
        "[A-Za-z0-9 ]{0,30}",
        prop_oneof![Just(None), "[A-Za-z0-9 ,.]{1,40}".prop_map(Some)],
        (any::<bool>(), instant, 0i64..10_000),
        prop::sample::select(vec![
            "Europe/Berlin",
            "America/New_York",
            "UTC",
            "Asia/Kathmandu",
        ]),
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(vec!["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5"])),
            1 => Just(Some(vec!["RRULE:FREQ=DAILY", "EXDATE;TZID=Europe/Berlin:20260330T090000"])),
        ],
        any::<bool>(),
    )
        .prop_map(
            |(id, status, summary, location, (all_day, start, minutes), zone, recurrence, ours)| {
                let at = |secs: i64| {
                    chrono::DateTime::from_timestamp(secs, 0)
                        .unwrap()
                        .with_timezone(&zone.parse::<chrono_tz::Tz>().unwrap())
                        .to_rfc3339()
                };
                let (start_v, end_v) = if all_day {
                    let day = chrono::DateTime::from_timestamp(start, 0).unwrap().date_naive();
                    let end = day + chrono::Duration::days(1 + minutes % 5);
                    (json!({"date": day.to_string()}), json!({"date": end.to_string()}))
                } else {
                    (
                        json!({"dateTime": at(start), "timeZone": zone}),
                        json!({"dateTime": at(start + minutes * 60), "timeZone": zone}),
                    )
                };
                let mut ev = json!({
                    "id": id, "status": status, "summary": summary,
                    "start": start_v, "end": end_v,
                });
                if let Some(l) = location {
                    ev["location"] = json!(l);
                }
                if let Some(r) = recurrence {
                    ev["recurrence"] = json!(r);
                }
                if ours {
                    ev["extendedProperties"] =
                        json!({"private": {"bookline_appointment_id": "2f0c2a57-2f3a-4c9e-9d55-1d2b2c3d4e5f"}});
                }
                ev
            },
        )
}

#[test]
fn structured_events_always_map() {
    let (cases, parsed, mapped) = run_counting(1000, structured_event(), map_every_way);
    // A well-formed event must always be read: every case exercises the invariants.
    assert_eq!((parsed, mapped), (cases, cases));
}

#[test]
fn event_shaped_json_never_panics_the_mapping() {
    let (cases, parsed, mapped) = run_counting(1500, event_json(), map_every_way);
    // The garbage must not crowd out the successes whose invariants are the point.
    assert!(parsed >= cases / 4, "only {parsed} of {cases} parsed");
    assert!(mapped >= cases / 10, "only {mapped} of {cases} mapped");
}

#[test]
fn arbitrary_json_never_panics_the_mapping() {
    run_counting(1500, any_json(), map_every_way);
}

/// Text near an event: a structured event's JSON cut short, with bytes spliced in, or
/// whole; the whole ones must parse, so the count proves the text path was walked.
#[test]
fn event_text_with_damage_never_panics_event_parsing() {
    let damaged =
        (structured_event(), 0usize..400, ".{0,3}", 0u8..3).prop_map(|(ev, at, splice, how)| {
            let text = ev.to_string();
            let at = text
                .char_indices()
                .map(|(i, _)| i)
                .nth(at)
                .unwrap_or(text.len());
            match how {
                0 => text,
                1 => text[..at].to_owned(),
                _ => format!("{}{splice}{}", &text[..at], &text[at..]),
            }
        });
    let (cases, parsed, _) = run_counting(1500, damaged, |text| {
        match serde_json::from_str::<Event>(text) {
            Ok(event) => map_every_way(&serde_json::to_value(&event).unwrap_or(Value::Null)),
            Err(_) => Outcome::default(),
        }
    });
    assert!(parsed >= cases / 4, "only {parsed} of {cases} parsed");
}

// ---------------------------------------------------------------------------------------
// Batch answers
// ---------------------------------------------------------------------------------------

const BOUNDARY: &str = "batch_fuzz_BOUNDARY";

fn content_type() -> String {
    format!("multipart/mixed; boundary={BOUNDARY}")
}

/// A well-formed batch answer with one part per (status, body).
fn valid_body(parts: &[(u16, String)], crlf: bool) -> Vec<u8> {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (i, (status, body)) in parts.iter().enumerate() {
        out.push_str(&format!("--{BOUNDARY}{nl}"));
        out.push_str(&format!("Content-Type: application/http{nl}"));
        out.push_str(&format!("Content-ID: <response-{}>{nl}{nl}", i + 1));
        out.push_str(&format!("HTTP/1.1 {status} Whatever{nl}"));
        out.push_str(&format!(
            "Content-Type: application/json; charset=UTF-8{nl}"
        ));
        out.push_str(&format!("Content-Length: {}{nl}{nl}", body.len()));
        out.push_str(body);
        out.push_str(nl);
    }
    out.push_str(&format!("--{BOUNDARY}--{nl}"));
    out.into_bytes()
}

fn part() -> impl Strategy<Value = (u16, String)> {
    (
        prop_oneof![
            Just(200u16),
            Just(204),
            Just(404),
            Just(409),
            Just(412),
            Just(503),
            100u16..600
        ],
        prop_oneof![
            Just(String::new()),
            Just(r#"{"id":"abc123","status":"confirmed"}"#.to_string()),
            Just(r#"{"error":{"code":404,"message":"Not Found"}}"#.to_string()),
            // A body ending in CR/LF is ambiguous in multipart (the line break before a
            // delimiter belongs to the delimiter), so generated bodies end otherwise.
            ".{0,80}".prop_map(|b| b.trim_end_matches(['\r', '\n']).to_string()),
        ],
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(format!("--{BOUNDARY}").into_bytes()),
                Just(format!("\r\n--{BOUNDARY}--\r\n").into_bytes()),
                Just(b"\r\n\r\n".to_vec()),
                Just(b"HTTP/1.1 999 X\r\n".to_vec()),
                prop::collection::vec(any::<u8>(), 0..16),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
    ]
}

fn apply(body: &mut Vec<u8>, m: &Mutation) {
    let len = body.len();
    let pos = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
    match m {
        Mutation::Truncate(at) => body.truncate(pos(*at)),
        Mutation::Flip(at, b) => {
            if len > 0 {
                body[at % len] ^= b | 1;
            }
        }
        Mutation::Insert(at, bytes) => {
            let at = pos(*at);
            body.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let at = pos(*at);
            let end = (at + n).min(body.len());
            body.drain(at..end);
        }
        Mutation::Duplicate(at, n) => {
            let at = pos(*at);
            let end = (at + n).min(body.len());
            let copy = body[at..end].to_vec();
            body.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn a_valid_batch_answer_parses_to_its_parts(
        parts in prop::collection::vec(part(), 1..8),
        crlf in any::<bool>(),
    ) {
        let body = valid_body(&parts, crlf);
        let parsed = parse_batch_response(&content_type(), &body).unwrap();
        prop_assert_eq!(parsed.len(), parts.len());
        for (i, (got, (status, text))) in parsed.iter().zip(&parts).enumerate() {
            prop_assert_eq!(got.status, *status);
            let want_id = format!("response-{}", i + 1);
            prop_assert_eq!(got.content_id.as_deref(), Some(want_id.as_str()));
            prop_assert_eq!(&got.body, text.as_bytes());
        }
    }

    #[test]
    fn a_mutated_batch_answer_never_panics(
        parts in prop::collection::vec(part(), 1..6),
        crlf in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut body = valid_body(&parts, crlf);
        for m in &mutations {
            apply(&mut body, m);
        }
        if let Ok(parsed) = parse_batch_response(&content_type(), &body) {
            for p in &parsed {
                prop_assert!((100..=599).contains(&p.status));
                // Reading a part as JSON or an event is an error at worst.
                let _ = p.json::<Value>();
                let _ = p.event();
            }
        }
    }

    #[test]
    fn arbitrary_bytes_and_content_types_never_panic_the_batch_parser(
        content_type in prop_oneof![
            Just(content_type()),
            Just("multipart/mixed; boundary=\"\"".to_string()),
            Just("multipart/mixed; boundary=-".to_string()),
            Just("text/html".to_string()),
            ".{0,60}",
        ],
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..600),
            ".{0,400}".prop_map(|s| format!("--{BOUNDARY}\r\n{s}").into_bytes()),
        ],
    ) {
        let _ = parse_batch_response(&content_type, &body);
    }
}
