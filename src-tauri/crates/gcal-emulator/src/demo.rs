//! `--seed-demo`: a realistic calendar for demo@example.com over the past year and the
//! next three months. Deterministic content (fixed seed), placed relative to today.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::events::{self, CreateOpts};
use crate::state::{rfc3339_ms, Data};

pub const DEMO_EMAIL: &str = "demo@example.com";

const PEOPLE: &[(&str, &str)] = &[
    ("Alice Martin", "alice.martin@acme-corp.com"),
    ("Bob Nguyen", "bob@nguyen-consulting.com"),
    ("Carla Rossi", "carla.rossi@bellavista.it"),
    ("David Cohen", "dcohen@northwind.io"),
    ("Emma Schulz", "emma.schulz@kraftwerk.de"),
    ("Farid Haddad", "farid@haddad-trading.ae"),
    ("Grace Kim", "grace.kim@hanriver.kr"),
    ("Hugo Lefebvre", "hugo@lefebvre-immo.fr"),
];

const KINDS: &[&str] = &[
    "Discovery call",
    "Product demo",
    "Follow-up",
    "Contract review",
    "Onboarding",
    "Quarterly review",
];
const PLACES: &[&str] = &[
    "",
    "",
    "Zoom",
    "Google Meet",
    "Client office",
    "Café Central",
    "Phone",
];

fn dt(date: NaiveDate, h: u32, m: u32, tz: chrono_tz::Tz) -> Option<(String, i64)> {
    let n = date.and_time(NaiveTime::from_hms_opt(h, m, 0)?);
    let t = tz.from_local_datetime(&n).earliest()?;
    Some((t.fixed_offset().to_rfc3339(), t.timestamp_millis()))
}

fn insert(data: &mut Data, mut ev: Value, created_ms: i64) -> Option<String> {
    ev["created"] = json!(rfc3339_ms(created_ms));
    ev["updated"] = json!(rfc3339_ms(created_ms));
    let opts = CreateOpts {
        import: false,
        keep_timestamps: true,
        ..Default::default()
    };
    let (_, j) = events::create(data, DEMO_EMAIL, ev, &opts).ok()?;
    serde_json::from_str::<Value>(&j)
        .ok()?
        .get("id")?
        .as_str()
        .map(String::from)
}

pub fn seed(data: &mut Data) {
    data.ensure_account(DEMO_EMAIL);
    let mut rng = ChaCha8Rng::seed_from_u64(20_240_101);
    let today = Utc::now().date_naive();
    let now_ms = Utc::now().timestamp_millis();
    let zones: [chrono_tz::Tz; 4] = [
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Tokyo,
        chrono_tz::Europe::London,
    ];
    let start = today - Duration::days(365);
    let end = today + Duration::days(90);
    let mut d = start;
    let mut n = 0u32;
    while d <= end {
        let weekday = !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        if weekday && rng.random_bool(0.7) {
            n += 1;
            let (name, email) = PEOPLE[rng.random_range(0..PEOPLE.len())];
            let kind = KINDS[rng.random_range(0..KINDS.len())];
            // Most meetings in the user's zone, one in five in a client's zone.
            let tz = if rng.random_bool(0.2) {
                zones[rng.random_range(1..zones.len())]
            } else {
                zones[0]
            };
            let h = rng.random_range(8..17);
            let m = [0, 15, 30, 45][rng.random_range(0..4)];
            let len = [30, 45, 60, 90][rng.random_range(0..4)];
            let (Some((s, s_ms)), Some((e, _))) = (
                dt(d, h, m, tz),
                dt(d, h, m, tz).and_then(|_| {
                    let n = d.and_time(NaiveTime::from_hms_opt(h, m, 0)?) + Duration::minutes(len);
                    let t = tz.from_local_datetime(&n).earliest()?;
                    Some((t.fixed_offset().to_rfc3339(), t.timestamp_millis()))
                }),
            ) else {
                d += Duration::days(1);
                continue;
            };
            let mut ev = json!({
                "summary": format!("{kind} – {name}"),
                "description": format!("Lead: {name} <{email}>\nBooked via CRM."),
                "location": PLACES[rng.random_range(0..PLACES.len())],
                "start": {"dateTime": s, "timeZone": tz.name()},
                "end": {"dateTime": e, "timeZone": tz.name()},
                "attendees": [
                    {"email": DEMO_EMAIL, "self": true, "organizer": true, "responseStatus": "accepted"},
                    {"email": email, "displayName": name, "responseStatus": "needsAction"},
                ],
            });
            if n.is_multiple_of(11) {
                ev["status"] = json!("tentative");
            }
            if n.is_multiple_of(17) {
                // An invitation the user declined.
                ev["attendees"][0] =
                    json!({"email": DEMO_EMAIL, "self": true, "responseStatus": "declined"});
                ev["organizer"] = json!({"email": email, "displayName": name});
            }
            let created = (s_ms - rng.random_range(1..30) * 86_400_000).min(now_ms);
            insert(data, ev, created);
        }
        if d.day().is_multiple_of(12) {
            let summary = [
                "Out of office",
                "Trade fair prep",
                "Team offsite",
                "Public holiday",
                "Focus day",
            ][rng.random_range(0..5)];
            let ev = json!({
                "summary": summary,
                "start": {"date": d.format("%Y-%m-%d").to_string()},
                "end": {"date": (d + Duration::days(1)).format("%Y-%m-%d").to_string()},
                "transparency": "transparent",
            });
            insert(
                data,
                ev,
                now_ms.min(
                    d.and_hms_opt(0, 0, 0)
                        .map(|x| x.and_utc().timestamp_millis())
                        .unwrap_or(now_ms),
                ) - 20 * 86_400_000,
            );
        }
        d += Duration::days(1);
    }
    // Multi-day all-day events.
    for (offset, days, summary) in [
        (-300, 3, "Sales kickoff, Lisbon"),
        (-200, 5, "Vacation"),
        (-120, 2, "CRM conference"),
        (-40, 4, "Trade fair Hanover"),
        (30, 7, "Summer vacation"),
        (75, 3, "Partner summit"),
    ] {
        let s = today + Duration::days(offset);
        let ev = json!({
            "summary": summary,
            "start": {"date": s.format("%Y-%m-%d").to_string()},
            "end": {"date": (s + Duration::days(days)).format("%Y-%m-%d").to_string()},
        });
        insert(data, ev, now_ms - 400 * 86_400_000);
    }
    // Weekly stand-up series with a moved and a cancelled instance.
    let berlin = chrono_tz::Europe::Berlin;
    let mut first = today - Duration::days(200);
    while first.weekday() != Weekday::Mon {
        first += Duration::days(1);
    }
    if let (Some((s, _)), Some((e, _))) = (dt(first, 9, 30, berlin), dt(first, 9, 45, berlin)) {
        let ev = json!({
            "summary": "Sales team stand-up",
            "location": "Google Meet",
            "start": {"dateTime": s, "timeZone": "Europe/Berlin"},
            "end": {"dateTime": e, "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        });
        if let Some(master) = insert(data, ev, now_ms - 210 * 86_400_000) {
            let inst = |date: NaiveDate| {
                dt(date, 9, 30, berlin).and_then(|(_, ms)| {
                    Utc.timestamp_millis_opt(ms)
                        .single()
                        .map(|u| format!("{master}_{}", u.format("%Y%m%dT%H%M%SZ")))
                })
            };
            let moved_day = first + Duration::weeks(6);
            if let (Some(id), Some((s, _)), Some((e, _))) = (
                inst(moved_day),
                dt(moved_day + Duration::days(1), 10, 0, berlin),
                dt(moved_day + Duration::days(1), 10, 15, berlin),
            ) {
                let patch = json!({"start": {"dateTime": s, "timeZone": "Europe/Berlin"}, "end": {"dateTime": e, "timeZone": "Europe/Berlin"}, "summary": "Sales team stand-up (moved to Tuesday)"});
                let _ = events::update(data, DEMO_EMAIL, &id, patch, None, true);
            }
            for weeks in [9, 21, 30] {
                if let Some(id) = inst(first + Duration::weeks(weeks)) {
                    let _ = events::delete(data, DEMO_EMAIL, &id, None);
                }
            }
        }
    }
    // A bi-weekly 1:1 in New York time, ending in two months, and a monthly all-day review.
    let ny = chrono_tz::America::New_York;
    let s1 = today - Duration::days(150);
    if let (Some((s, _)), Some((e, _))) = (dt(s1, 11, 0, ny), dt(s1, 11, 30, ny)) {
        let until = (today + Duration::days(60)).format("%Y%m%dT000000Z");
        let ev = json!({
            "summary": "1:1 with regional manager",
            "start": {"dateTime": s, "timeZone": "America/New_York"},
            "end": {"dateTime": e, "timeZone": "America/New_York"},
            "recurrence": [format!("RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL={until}")],
        });
        insert(data, ev, now_ms - 160 * 86_400_000);
    }
    let m1 =
        NaiveDate::from_ymd_opt(today.year(), today.month(), 1).map(|x| x - Duration::days(180));
    if let Some(m1) = m1 {
        let ev = json!({
            "summary": "Pipeline review day",
            "start": {"date": m1.format("%Y-%m-%d").to_string()},
            "end": {"date": (m1 + Duration::days(1)).format("%Y-%m-%d").to_string()},
            "recurrence": ["RRULE:FREQ=MONTHLY;COUNT=9"],
        });
        insert(data, ev, now_ms - 190 * 86_400_000);
    }
}
