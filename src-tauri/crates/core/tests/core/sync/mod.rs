//! Tests of the sync engine's pure parts: decisions (table-driven per arm, and
//! properties), join, the delete guard, event ids, privacy rendering, the rate limiter
//! and backoff, and the engine's SQL schema on a real SQLite file.

use bookline_core::model::{Origin, Timing};
use bookline_core::sync::fields::{Field, FieldSet, SyncFields, SyncStatus};
use bookline_core::sync::ids;
use bookline_core::sync::{
    decide, decide_all, guard_deletes, join, CrmSide, Decision, DeletePolicy, Direction,
    GoogleSide, LinkRecord, Mode, PairedBy, Side, SkipReason, Snapshot, Summary, SyncItem, SyncKey,
    SyncOp, TimeRange,
};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};

const APPT: &str = "01936f5e-8a4b-7c3d-9e2f-0123456789ab";

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).single().unwrap() + ChronoDuration::minutes(minutes)
}

fn connected() -> DateTime<Utc> {
    t(0)
}

fn ongoing() -> Mode {
    Mode::Ongoing {
        connected_at: connected(),
    }
}

fn backfill(direction: Direction) -> Mode {
    Mode::Backfill {
        direction,
        range: None,
    }
}

fn fields(title: &str) -> SyncFields {
    SyncFields {
        title: title.to_owned(),
        timing: Timing::Timed {
            start: t(24 * 60),
            end: t(25 * 60),
        },
        timezone: "Europe/Berlin".to_owned(),
        location: String::new(),
        notes: String::new(),
        status: SyncStatus::Active,
        recurrence: Vec::new(),
    }
}

fn with(f: &SyncFields, edit: impl FnOnce(&mut SyncFields)) -> SyncFields {
    let mut f = f.clone();
    edit(&mut f);
    f
}

fn crm(f: SyncFields, created: i64, updated: i64) -> CrmSide {
    CrmSide {
        appointment_id: APPT.to_owned(),
        fields: f,
        origin: Origin::Crm,
        created_at: t(created),
        updated_at: t(updated),
        deleted: false,
        source_event_id: None,
        instance_of: None,
    }
}

fn deleted(c: CrmSide) -> CrmSide {
    CrmSide { deleted: true, ..c }
}

fn google(f: SyncFields, created: i64, updated: i64) -> GoogleSide {
    GoogleSide {
        event_id: "googleevent1".to_owned(),
        fields: f,
        created: t(created),
        updated: t(updated),
        cancelled: false,
        bookline_appointment_id: None,
        instance_of: None,
    }
}

fn cancelled(g: GoogleSide) -> GoogleSide {
    GoogleSide {
        cancelled: true,
        // Google's deletion records in a sync-token answer may carry only the id.
        fields: with(&g.fields, |f| {
            f.title.clear();
            f.status = SyncStatus::Cancelled;
        }),
        ..g
    }
}

fn snap(c: &SyncFields, g: &SyncFields) -> Snapshot {
    Snapshot {
        crm: c.clone(),
        google: g.clone(),
    }
}

fn item(
    crm: Option<CrmSide>,
    google: Option<GoogleSide>,
    base: Option<Snapshot>,
    paired_by: Option<PairedBy>,
) -> SyncItem {
    SyncItem {
        key: SyncKey {
            appointment_id: crm.as_ref().map(|c| c.appointment_id.clone()),
            event_id: google.as_ref().map(|g| g.event_id.clone()),
        },
        crm,
        google,
        base: base.map(Box::new),
        paired_by,
        series: None,
    }
}

fn linked(crm: Option<CrmSide>, google: Option<GoogleSide>, base: Snapshot) -> SyncItem {
    item(crm, google, Some(base), Some(PairedBy::Link))
}

fn set(fields: &[Field]) -> FieldSet {
    fields.iter().copied().collect()
}

fn skip(reason: SkipReason) -> Vec<SyncOp> {
    vec![SyncOp::Skip { reason }]
}

mod decide_table;

mod join_tests;

mod guard;

mod props;

mod fields_tests;

mod ids_tests;

mod privacy_tests;

mod ratelimit_tests;

mod schema_tests;

mod mapping_tests;

mod occurrences;
mod series_edits;

mod lead_changes;

/// Whole passes over a model of both sides: random edits on either side between passes,
/// and crashes that lose the link writes of some decisions (the side writes happened,
/// the link was never stored). After the edits stop and a few clean passes run, both
/// sides are equal, nothing is duplicated, and one more pass has nothing to do.
mod simulation;

/// `StandaloneIndex` lets a backfill import a Google event before the rest of the
/// listing is read. Sound only if the whole-listing `join` would leave every such event
/// unpaired too, whatever else the CRM and the listing hold.
mod standalone_tests;
