//! Sample appointments for `bookline demo`: a salesperson's fortnight around today —
//! upcoming and past meetings, an all-day event, a weekly series and a cancelled call —
//! so every part of the window has something to show.

pub mod google;

use bookline_core::error::AppError;
use bookline_core::model::{AppointmentInput, Lead, Origin, Recurrence, Status, Timing};
use bookline_core::store::{ChangeSource, Store};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::commands::report;

struct Sample {
    title: &'static str,
    /// Days from today (negative: in the past).
    day: i64,
    /// Local start time (hour, minute); `None` for an all-day appointment.
    at: Option<(u32, u32)>,
    minutes: i64,
    location: &'static str,
    lead: (&'static str, &'static str, &'static str),
    status: Status,
    rrule: Option<&'static str>,
}

const SAMPLES: &[Sample] = &[
    Sample {
        title: "Discovery call — Northwind Traders",
        day: 0,
        at: Some((15, 0)),
        minutes: 30,
        location: "Phone",
        lead: (
            "Maria Anders",
            "maria.anders@northwind.example",
            "+49 30 1234567",
        ),
        status: Status::Booked,
        rrule: None,
    },
    Sample {
        title: "Product demo — Contoso",
        day: 1,
        at: Some((10, 0)),
        minutes: 60,
        location: "Video call",
        lead: ("Ana Trujillo", "ana@contoso.example", "+1 415 555 0101"),
        status: Status::Booked,
        rrule: None,
    },
    Sample {
        title: "Pricing follow-up — Fabrikam",
        day: 2,
        at: Some((14, 30)),
        minutes: 45,
        location: "Fabrikam HQ, Room 4",
        lead: (
            "Thomas Hardy",
            "thomas.hardy@fabrikam.example",
            "+44 20 7946 0958",
        ),
        status: Status::Booked,
        rrule: None,
    },
    Sample {
        title: "Weekly pipeline review",
        day: 3,
        at: Some((9, 0)),
        minutes: 30,
        location: "Office",
        lead: ("", "", ""),
        status: Status::Booked,
        rrule: Some("RRULE:FREQ=WEEKLY;COUNT=12"),
    },
    Sample {
        title: "Trade fair — Hall B stand",
        day: 5,
        at: None,
        minutes: 0,
        location: "Messe Berlin",
        lead: ("", "", ""),
        status: Status::Booked,
        rrule: None,
    },
    Sample {
        title: "Contract signing — Adventure Works",
        day: 7,
        at: Some((11, 0)),
        minutes: 60,
        location: "Adventure Works, Main St 12",
        lead: (
            "Hanna Moos",
            "hanna.moos@adventure.example",
            "+49 621 08460",
        ),
        status: Status::Booked,
        rrule: None,
    },
    Sample {
        title: "Intro call — Tailspin Toys",
        day: 9,
        at: Some((16, 0)),
        minutes: 20,
        location: "Phone",
        lead: ("Yang Wang", "yang@tailspin.example", "+41 44 555 0199"),
        status: Status::Cancelled,
        rrule: None,
    },
    Sample {
        title: "Onboarding session — Litware",
        day: -1,
        at: Some((13, 0)),
        minutes: 90,
        location: "Video call",
        lead: ("Pedro Afonso", "pedro@litware.example", "+55 11 5555 0147"),
        status: Status::Done,
        rrule: None,
    },
    Sample {
        title: "Quarterly check-in — Wingtip",
        day: -3,
        at: Some((10, 30)),
        minutes: 45,
        location: "Wingtip office",
        lead: (
            "Elizabeth Brown",
            "e.brown@wingtip.example",
            "+44 161 555 0112",
        ),
        status: Status::Done,
        rrule: None,
    },
    Sample {
        title: "Needs analysis — Proseware",
        day: -6,
        at: Some((15, 0)),
        minutes: 60,
        location: "Phone",
        lead: ("Sven Ottlieb", "sven@proseware.example", "+49 241 555 0133"),
        status: Status::Done,
        rrule: None,
    },
];

/// Adds the samples when the store has no appointments yet; returns how many were added.
pub fn seed_if_empty(store: &Store, timezone: &str) -> Result<usize, AppError> {
    if store.appointment_count().map_err(report)? > 0 {
        return Ok(0);
    }
    let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let mut added = 0;
    for sample in SAMPLES {
        let input = sample_input(sample, today, zone, timezone);
        store
            .create_appointment(input, Origin::Crm, ChangeSource::User)
            .map_err(report)?;
        added += 1;
    }
    Ok(added)
}

fn sample_input(
    s: &Sample,
    today: NaiveDate,
    zone: chrono_tz::Tz,
    timezone: &str,
) -> AppointmentInput {
    let day = today + Duration::days(s.day);
    // Keep samples on weekdays, as real sales meetings are.
    let day = match day.weekday().num_days_from_monday() {
        5 => day + Duration::days(2),
        6 => day + Duration::days(1),
        _ => day,
    };
    let timing = match s.at {
        None => Timing::AllDay {
            start: day,
            end: day + Duration::days(1),
        },
        Some((hour, minute)) => {
            let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default());
            // Fixed sample hours never fall into a DST gap in practice; if one did, the
            // sample moves an hour rather than being dropped.
            let start = zone
                .from_local_datetime(&local)
                .earliest()
                .unwrap_or_else(|| zone.from_utc_datetime(&local))
                .with_timezone(&Utc);
            Timing::Timed {
                start,
                end: start + Duration::minutes(s.minutes),
            }
        }
    };
    AppointmentInput {
        title: s.title.to_owned(),
        timing,
        timezone: timezone.to_owned(),
        location: s.location.to_owned(),
        notes: String::new(),
        lead: Lead {
            name: s.lead.0.to_owned(),
            email: s.lead.1.to_owned(),
            phone: s.lead.2.to_owned(),
        },
        status: s.status,
        recurrence: s.rrule.map(|rule| Recurrence {
            lines: vec![rule.to_owned()],
        }),
    }
}
