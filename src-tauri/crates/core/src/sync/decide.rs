//! The decision function: what to do for each item, given both sides now and the last
//! synced snapshot. Pure — no I/O, no clock — so every case is unit- and property-tested.
//!
//! Shape (after Yaak's `compute_sync_ops`): `join` is an outer join of CRM rows, Google
//! events and links by key; `decide` is one exhaustive `match` over the states of one key,
//! with a commented arm per case. The I/O layer applies the ops and then writes the link
//! (`Link`/`Unlink`) — links are written only after the side writes before them
//! succeeded, so a crash in between is retried, and client-chosen event ids make the
//! retry harmless.
//!
//! Rules (spec §3) and where they live:
//! - one-way directions never write to the other side: `Direction::writes_*`, applied to
//!   every write op;
//! - nothing changed → no op: `merge_linked` returns early;
//! - field-level merge against the snapshot, later edit wins on a same-field conflict:
//!   `merge_linked`;
//! - only items new after `connected_at` move in ongoing mode; backfill moves unlinked
//!   items of its own direction and links equal ones: the unlinked arms + `join`;
//! - deletes only from deletion records (a CRM delete or cancel, a cancelled Google
//!   event), never from absence: an absent side means "no news" and is read as its
//!   snapshot;
//! - mass deletes need confirmation: `guard_deletes`;
//! - a series and its exceptions (moved, cancelled occurrences) are applied together,
//!   also when Bookline first sees them in the same batch: `pair_new_series`.

use crate::model::{AppointmentId, Origin, SeriesInstance, Timing};
use crate::sync::fields::{Field, FieldSet, SyncFields, SyncStatus};
use crate::sync::ids;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use ts_rs::TS;

/// Which way changes travel (the seed's options A, B, C).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum Direction {
    #[default]
    Both,
    GoogleToCrm,
    CrmToGoogle,
}

impl Direction {
    pub fn writes_google(self) -> bool {
        matches!(self, Direction::Both | Direction::CrmToGoogle)
    }

    pub fn writes_crm(self) -> bool {
        matches!(self, Direction::Both | Direction::GoogleToCrm)
    }

    pub fn writes(self, side: Side) -> bool {
        match side {
            Side::Crm => self.writes_crm(),
            Side::Google => self.writes_google(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Side {
    Crm,
    Google,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Crm => Side::Google,
            Side::Google => Side::Crm,
        }
    }
}

/// A CRM appointment as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmSide {
    pub appointment_id: AppointmentId,
    pub fields: SyncFields,
    pub origin: Origin,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A deletion record (the appointment was deleted and the delete is not yet synced).
    pub deleted: bool,
    /// For appointments kept by Remove Google Account: the event they were linked to.
    /// Lets a reconnect re-link them instead of creating them again on either side.
    pub source_event_id: Option<String>,
    /// Set when the appointment is one moved, edited or cancelled occurrence of a series.
    #[serde(default)]
    pub instance_of: Option<SeriesInstance>,
}

impl CrmSide {
    fn is_cancelled(&self) -> bool {
        self.fields.is_cancelled()
    }
}

/// A Google event as the engine sees it (already mapped into `SyncFields`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleSide {
    pub event_id: String,
    pub fields: SyncFields,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Google's deletion record (`status: "cancelled"`). Its other fields may be empty.
    pub cancelled: bool,
    /// The private extended property `bookline_appointment_id`: set on events Bookline
    /// created.
    pub bookline_appointment_id: Option<AppointmentId>,
    /// Set when the event is one occurrence of a recurring series (`recurringEventId`).
    #[serde(default)]
    pub instance_of: Option<GoogleInstance>,
}

/// Google's name for one occurrence of a series: the series' event id and the start the
/// occurrence had before it was moved (`originalStartTime`), as RFC 3339 UTC for timed
/// series and `YYYY-MM-DD` for all-day ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleInstance {
    pub series_event_id: String,
    pub original_start: String,
}

/// One occurrence of a *linked* series, named on both sides (filled in by `join`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRef {
    pub series_appointment_id: AppointmentId,
    pub series_event_id: String,
    pub original_start: String,
}

impl InstanceRef {
    /// The occurrence's event id in Google (`{series}_{start}`), if the start parses.
    pub fn event_id(&self) -> Option<String> {
        ids::instance_event_id(&self.series_event_id, &self.original_start)
    }

    pub fn series_instance(&self) -> SeriesInstance {
        SeriesInstance {
            series_id: self.series_appointment_id.clone(),
            original_start: self.original_start.clone(),
        }
    }
}

impl GoogleSide {
    /// Marked by the private property, or carrying an id Bookline derived (the
    /// property can be lost when another app rewrites the event).
    pub fn is_bookline_created(&self) -> bool {
        self.bookline_appointment_id.is_some() || ids::uuid_from_event_id(&self.event_id).is_some()
    }

    /// The appointment this event was created for, if Bookline created it.
    pub fn bookline_appointment(&self) -> Option<AppointmentId> {
        self.bookline_appointment_id
            .clone()
            .or_else(|| ids::appointment_id_from_event_id(&self.event_id))
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled || self.fields.is_cancelled()
    }
}

/// What both sides looked like right after the last successful sync of a link. The two
/// may differ when a one-way direction left a change on the side it may not write from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub crm: SyncFields,
    pub google: SyncFields,
}

/// A stored link, as input to `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub appointment_id: AppointmentId,
    pub event_id: String,
    pub snapshot: Snapshot,
}

/// A window of time; an item is inside when it overlaps it (like Google's
/// `timeMin`/`timeMax`). Open ends are unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn contains(&self, timing: &Timing) -> bool {
        let (start, end) = match timing {
            Timing::Timed { start, end } => (*start, *end),
            // All-day dates are compared as UTC midnights: a date range picked in the
            // dialog means those calendar dates wherever the user is.
            Timing::AllDay { start, end } => (midnight(*start), midnight(*end)),
        };
        self.start.is_none_or(|s| end > s) && self.end.is_none_or(|e| start < e)
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// Ongoing sync under the settings' direction: only items created after the account
    /// was connected are new.
    Ongoing { connected_at: DateTime<Utc> },
    /// The one-off transfer of unlinked items, in its own direction.
    Backfill {
        direction: Direction,
        range: Option<TimeRange>,
    },
}

/// Why two items were put under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedBy {
    /// A stored link.
    Link,
    /// The event's private `bookline_appointment_id` names the appointment.
    BooklineProperty,
    /// The event id is the one derived from the appointment id.
    DerivedEventId,
    /// The appointment was imported from this event.
    SourceEventId,
    /// A CRM occurrence row and the Google occurrence of the same linked series and
    /// original start.
    InstanceId,
    /// Backfill's match rule: same start, end and title.
    EqualContent,
}

impl PairedBy {
    /// Paired by identity (not just by looking alike): the two are the same item.
    fn is_identity(self) -> bool {
        !matches!(self, PairedBy::EqualContent)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SyncKey {
    pub appointment_id: Option<AppointmentId>,
    pub event_id: Option<String>,
}

/// One row of the outer join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncItem {
    pub key: SyncKey,
    /// `None`: no CRM row. On a linked key that means the row is gone without a
    /// deletion record; nothing is deleted because of it.
    pub crm: Option<CrmSide>,
    /// `None`: the event was not in this read (incremental reads only return changes),
    /// so it is taken to be as in the snapshot.
    pub google: Option<GoogleSide>,
    /// Boxed: items are moved whole through a sync's vectors, and the keys a transfer
    /// imports (most of them) have no snapshot; inline it was 300 of an item's 990 bytes.
    pub base: Option<Box<Snapshot>>,
    pub paired_by: Option<PairedBy>,
    /// For an occurrence of a series: the series, when the series is linked.
    #[serde(default)]
    pub series: Option<InstanceRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Backfill leaves linked items to ongoing sync.
    AlreadyLinked,
    /// Existed before the account was connected: only backfill moves it.
    OldWaitsForBackfill,
    /// The direction does not allow writing to the side it would go to.
    DirectionExcludes,
    /// Outside the backfill's date range.
    OutsideRange,
    /// Cancelled before it was ever synced: there is nothing to create.
    Cancelled,
    /// An event Bookline created whose appointment is not here (deleted before the link
    /// was written, or linked elsewhere). Importing it would echo Bookline's own write.
    BooklineEventWithoutAppointment,
    /// An occurrence of a series that is not linked: it moves with (after) its series.
    SeriesNotLinked,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::AlreadyLinked => "already linked",
            SkipReason::OldWaitsForBackfill => {
                "existed before connecting; use Synchronize Google Calendar to move it"
            }
            SkipReason::DirectionExcludes => "the sync direction does not send it this way",
            SkipReason::OutsideRange => "outside the chosen date range",
            SkipReason::Cancelled => "cancelled before it was synced",
            SkipReason::BooklineEventWithoutAppointment => {
                "a Bookline event whose appointment no longer exists"
            }
            SkipReason::SeriesNotLinked => "an occurrence of a series that is not synced yet",
        }
    }
}

/// One step for one key. Writes come first in a decision; `Link`/`Unlink` last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SyncOp {
    /// Insert the event with the id derived from the appointment id. With `instance`
    /// the occurrence already exists in Google as part of its series: write it under
    /// its instance id (`events.update`); status cancelled there cancels that occurrence.
    CreateInGoogle {
        fields: SyncFields,
        #[serde(default)]
        instance: Option<InstanceRef>,
    },
    /// Patch these fields; `to` is the complete intended state. A status change to
    /// active on a cancelled event restores it.
    UpdateGoogle {
        fields: FieldSet,
        to: SyncFields,
    },
    DeleteInGoogle,
    /// `appointment_id`: reuse this id (a Bookline event re-imported after a reinstall),
    /// otherwise the store picks a new one.
    /// `instance_of`: the new appointment is an occurrence of that series (cancelled
    /// when the occurrence was cancelled in Google).
    CreateInCrm {
        fields: SyncFields,
        appointment_id: Option<AppointmentId>,
        #[serde(default)]
        instance_of: Option<SeriesInstance>,
    },
    UpdateCrm {
        fields: FieldSet,
        to: SyncFields,
    },
    /// Set the appointment's status to cancelled (a CRM-made appointment whose event was
    /// deleted in Google keeps its lead details).
    CancelInCrm,
    /// Remove the appointment (it was imported from Google and its event is gone).
    DeleteInCrm,
    /// Write (or rewrite) the link with this snapshot.
    Link {
        snapshot: Snapshot,
    },
    Unlink,
    /// Both sides changed `field` since the last sync; `winner`'s value was kept.
    RecordConflict {
        field: Field,
        winner: Side,
    },
    Skip {
        reason: SkipReason,
    },
}

impl SyncOp {
    /// The side this op writes to, if it writes to one.
    pub fn writes_to(&self) -> Option<Side> {
        match self {
            SyncOp::CreateInGoogle { .. }
            | SyncOp::UpdateGoogle { .. }
            | SyncOp::DeleteInGoogle => Some(Side::Google),
            SyncOp::CreateInCrm { .. }
            | SyncOp::UpdateCrm { .. }
            | SyncOp::CancelInCrm
            | SyncOp::DeleteInCrm => Some(Side::Crm),
            SyncOp::Link { .. }
            | SyncOp::Unlink
            | SyncOp::RecordConflict { .. }
            | SyncOp::Skip { .. } => None,
        }
    }

    /// The side this op removes an item from (what the mass-delete guard counts).
    pub fn deletes_from(&self) -> Option<Side> {
        match self {
            SyncOp::DeleteInGoogle => Some(Side::Google),
            SyncOp::CancelInCrm | SyncOp::DeleteInCrm => Some(Side::Crm),
            _ => None,
        }
    }

    /// Anything but `Skip`: something to do or to record.
    pub fn is_effective(&self) -> bool {
        !matches!(self, SyncOp::Skip { .. })
    }
}

/// The ops for one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub key: SyncKey,
    pub ops: Vec<SyncOp>,
}

/// Outer join of CRM rows, Google events and links into one item per key.
///
/// Pairing order: stored links; then, for unlinked events, the appointment named by the
/// private property, the appointment whose derived id is the event id, the appointment
/// imported from the event; then (backfill only) the match rule — same start, end and
/// title — one to one, in id order so the result does not depend on input order.
/// Output is sorted by key.
pub fn join(
    crm: Vec<CrmSide>,
    google: Vec<GoogleSide>,
    links: Vec<LinkRecord>,
    mode: &Mode,
) -> Vec<SyncItem> {
    let mut crm_by_id: BTreeMap<AppointmentId, CrmSide> = crm
        .into_iter()
        .map(|c| (c.appointment_id.clone(), c))
        .collect();
    let mut google_by_id: BTreeMap<String, GoogleSide> = google
        .into_iter()
        .map(|g| (g.event_id.clone(), g))
        .collect();
    let mut items = Vec::new();
    // Series are found through their links: event id ↔ appointment id.
    let series_of_event: HashMap<String, AppointmentId> = links
        .iter()
        .map(|l| (l.event_id.clone(), l.appointment_id.clone()))
        .collect();
    let series_of_appointment: HashMap<AppointmentId, String> = links
        .iter()
        .map(|l| (l.appointment_id.clone(), l.event_id.clone()))
        .collect();

    for link in links {
        let crm = crm_by_id.remove(&link.appointment_id);
        let google = google_by_id.remove(&link.event_id);
        items.push(SyncItem {
            key: SyncKey {
                appointment_id: Some(link.appointment_id),
                event_id: Some(link.event_id),
            },
            crm,
            google,
            base: Some(Box::new(link.snapshot)),
            paired_by: Some(PairedBy::Link),
            series: None,
        });
    }

    let by_source: HashMap<String, AppointmentId> = crm_by_id
        .values()
        .filter_map(|c| {
            c.source_event_id
                .clone()
                .map(|e| (e, c.appointment_id.clone()))
        })
        .collect();

    // The Google occurrence each unlinked CRM occurrence row corresponds to.
    let by_instance: HashMap<String, AppointmentId> = crm_by_id
        .values()
        .filter_map(|c| {
            let instance = c.instance_of.as_ref()?;
            let series_event = series_of_appointment.get(&instance.series_id)?;
            let event_id = ids::instance_event_id(series_event, &instance.original_start)?;
            Some((event_id, c.appointment_id.clone()))
        })
        .collect();

    let mut unpaired_google = Vec::new();
    for (event_id, g) in std::mem::take(&mut google_by_id) {
        let by_property = g
            .bookline_appointment_id
            .clone()
            .filter(|a| crm_by_id.contains_key(a))
            .map(|a| (a, PairedBy::BooklineProperty));
        let by_derived = || {
            ids::appointment_id_from_event_id(&event_id)
                .filter(|a| crm_by_id.contains_key(a))
                .map(|a| (a, PairedBy::DerivedEventId))
        };
        let by_source_id = || {
            by_source
                .get(&event_id)
                .filter(|a| crm_by_id.contains_key(*a))
                .map(|a| (a.clone(), PairedBy::SourceEventId))
        };
        let by_instance_id = || {
            by_instance
                .get(&event_id)
                .filter(|a| crm_by_id.contains_key(*a))
                .map(|a| (a.clone(), PairedBy::InstanceId))
        };
        match by_property
            .or_else(by_derived)
            .or_else(by_source_id)
            .or_else(by_instance_id)
        {
            Some((appointment_id, paired_by)) => {
                let crm = crm_by_id.remove(&appointment_id);
                items.push(SyncItem {
                    key: SyncKey {
                        appointment_id: Some(appointment_id),
                        event_id: Some(event_id),
                    },
                    crm,
                    google: Some(g),
                    base: None,
                    paired_by: Some(paired_by),
                    series: None,
                });
            }
            None => unpaired_google.push(g),
        }
    }

    if matches!(mode, Mode::Backfill { .. }) {
        // Only live items look alike; a deleted or cancelled one is no match. Nor is an
        // occurrence row of a series: it is one occurrence of its series and pairs only
        // through it (by instance id), never with a single event that looks like it.
        let mut candidates: HashMap<(TimingKey, String), Vec<AppointmentId>> = HashMap::new();
        for c in crm_by_id.values() {
            if !c.deleted && !c.is_cancelled() && c.instance_of.is_none() {
                candidates
                    .entry((
                        timing_key(&c.fields.timing),
                        c.fields.title.trim().to_owned(),
                    ))
                    .or_default()
                    .push(c.appointment_id.clone());
            }
        }
        for ids in candidates.values_mut() {
            // Pop from the end = take the smallest id first.
            ids.sort_unstable_by(|a, b| b.cmp(a));
        }
        let mut still_unpaired = Vec::new();
        for g in unpaired_google {
            let key = (
                timing_key(&g.fields.timing),
                g.fields.title.trim().to_owned(),
            );
            let partner = if g.is_cancelled() || g.is_bookline_created() {
                None
            } else {
                candidates.get_mut(&key).and_then(Vec::pop)
            };
            match partner.and_then(|a| crm_by_id.remove(&a).map(|c| (a, c))) {
                Some((appointment_id, c)) => items.push(SyncItem {
                    key: SyncKey {
                        appointment_id: Some(appointment_id),
                        event_id: Some(g.event_id.clone()),
                    },
                    crm: Some(c),
                    google: Some(g),
                    base: None,
                    paired_by: Some(PairedBy::EqualContent),
                    series: None,
                }),
                None => still_unpaired.push(g),
            }
        }
        unpaired_google = still_unpaired;
    }

    for g in unpaired_google {
        items.push(SyncItem {
            key: SyncKey {
                appointment_id: None,
                event_id: Some(g.event_id.clone()),
            },
            crm: None,
            google: Some(g),
            base: None,
            paired_by: None,
            series: None,
        });
    }
    for (appointment_id, c) in crm_by_id {
        items.push(SyncItem {
            key: SyncKey {
                appointment_id: Some(appointment_id),
                event_id: None,
            },
            crm: Some(c),
            google: None,
            base: None,
            paired_by: None,
            series: None,
        });
    }
    for item in &mut items {
        let from_google = item.google.as_ref().and_then(|g| {
            let i = g.instance_of.as_ref()?;
            Some(InstanceRef {
                series_appointment_id: series_of_event.get(&i.series_event_id)?.clone(),
                series_event_id: i.series_event_id.clone(),
                original_start: i.original_start.clone(),
            })
        });
        let from_crm = || {
            item.crm.as_ref().and_then(|c| {
                let i = c.instance_of.as_ref()?;
                Some(InstanceRef {
                    series_appointment_id: i.series_id.clone(),
                    series_event_id: series_of_appointment.get(&i.series_id)?.clone(),
                    original_start: i.original_start.clone(),
                })
            })
        };
        item.series = from_google.or_else(from_crm);
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

/// A hashable stand-in for `Timing` (the shared model type does not derive `Hash`).
/// What a backfill must know of the CRM to decide a Google event before the rest of
/// the listing has been read. An event *stands alone* when `join` leaves it unpaired
/// whatever else the listing holds: no link names it, Bookline did not create it (no
/// property, no derived id), it is no occurrence and no series (those pair through
/// their series' link), it is not a deletion record, and no CRM item looks like it (the
/// match rule: same timing and trimmed title). Its decision — create it in Bookline —
/// then cannot change, so it is applied while the next page is read.
///
/// Conservative by design: every CRM item counts as a look-alike, also cancelled ones
/// that `join` would not match; an event that does not stand alone just waits for the
/// whole plan.
#[derive(Debug, Clone, Default)]
pub struct StandaloneIndex {
    linked_events: HashSet<String>,
    look_alikes: HashSet<(TimingKey, String)>,
}

impl StandaloneIndex {
    pub fn new<'a>(crm: &[CrmSide], linked_event_ids: impl IntoIterator<Item = &'a str>) -> Self {
        StandaloneIndex {
            // An event an appointment remembers pairs with it by id, like a linked one.
            linked_events: linked_event_ids
                .into_iter()
                .map(str::to_owned)
                .chain(crm.iter().filter_map(|c| c.source_event_id.clone()))
                .collect(),
            look_alikes: crm
                .iter()
                .map(|c| {
                    (
                        timing_key(&c.fields.timing),
                        c.fields.title.trim().to_owned(),
                    )
                })
                .collect(),
        }
    }

    pub fn stands_alone(&self, g: &GoogleSide) -> bool {
        !g.is_cancelled()
            && !g.is_bookline_created()
            && g.instance_of.is_none()
            && g.fields.recurrence.is_empty()
            && !self.linked_events.contains(&g.event_id)
            && !self.look_alikes.contains(&(
                timing_key(&g.fields.timing),
                g.fields.title.trim().to_owned(),
            ))
    }
}

type TimingKey = (bool, i64, i64);

fn timing_key(timing: &Timing) -> TimingKey {
    match timing {
        Timing::Timed { start, end } => (false, start.timestamp_micros(), end.timestamp_micros()),
        Timing::AllDay { start, end } => (
            true,
            i64::from(start.num_days_from_ce()),
            i64::from(end.num_days_from_ce()),
        ),
    }
}

/// Pairs the occurrences (moved, edited or cancelled in Google) of a series with that
/// series when both are decided in the same batch — one page, one listing, one chunk of
/// a transfer — and the series is not linked yet, so `join` could not find it and
/// `decide` made the occurrence wait (`SeriesNotLinked`). Without this the occurrences
/// of a series that Bookline first sees together with them would be passed by the sync
/// token (or left out of a transfer's plan) and never read again: Bookline would show
/// every occurrence at the series' own time.
///
/// Only series the batch creates in Bookline (`CreateInCrm` then `Link`) take their
/// occurrences here. The new appointment gets its id now, from `new_id`, so each
/// occurrence can name its series before the series exists. A series the batch links
/// to an appointment Bookline already has (re-linked by id, or matched by a transfer)
/// is left out: that appointment may already have an occurrence row for the same
/// original start, which only a stored series link lets `join` pair with, and creating
/// another would show the occurrence twice. The occurrences are then decided again as
/// occurrences of a linked series and put right behind their series, so `apply`
/// (which applies a batch in order, in one transaction) creates the series before its
/// occurrence rows, and a transfer's chunks keep them next to it. `parts` gives the key
/// and the ops of a batch element.
///
/// The same holds the other way: occurrence rows of a Bookline series (moved, edited or
/// cancelled in Bookline before the series ever reached Google) wait for the series'
/// link like Google's do. When the batch inserts that series into Google
/// (`CreateInGoogle` then `Link`), its event id is already known — derived from the
/// appointment id — so each occurrence is decided again as an occurrence of that series
/// and put right behind it; `execute` sends the occurrences' writes (patches of the
/// instance ids) only after the series' insert succeeded. A series the batch only links
/// to an event already in Google is left out, for the reason above: that event may hold
/// its own exception at the same original start.
///
/// Idempotent: a second pass finds the series linked, and `join` pairs the occurrences
/// by their own links.
pub fn pair_new_series<T>(
    mut batch: Vec<T>,
    mut parts: impl FnMut(&mut T) -> (&mut SyncItem, &mut Vec<SyncOp>),
    direction: Direction,
    mode: &Mode,
    mut new_id: impl FnMut() -> AppointmentId,
) -> Vec<T> {
    // Which series events the batch holds occurrences of that are waiting for them.
    let waiting: HashSet<String> = batch
        .iter_mut()
        .filter_map(|t| waiting_series(parts(t).0))
        .collect();
    // Which Bookline series the batch holds occurrence rows of that are waiting for them.
    let waiting_crm: HashSet<AppointmentId> = batch
        .iter_mut()
        .filter_map(|t| waiting_crm_series(parts(t).0))
        .collect();
    if waiting.is_empty() && waiting_crm.is_empty() {
        return batch;
    }
    // The event each of those Bookline series gets in Google in this batch.
    let mut event_of: HashMap<AppointmentId, String> = HashMap::new();
    for t in batch.iter_mut() {
        let (item, ops) = parts(t);
        let Some(appointment_id) = item.key.appointment_id.clone() else {
            continue;
        };
        if !waiting_crm.contains(&appointment_id)
            || item.key.event_id.is_some()
            || !matches!(ops.last(), Some(SyncOp::Link { .. }))
        {
            continue;
        }
        let inserts_series = ops.iter().any(|op| {
            matches!(op, SyncOp::CreateInGoogle { fields, instance: None }
                if !fields.recurrence.is_empty())
        });
        if let Some(event_id) = ids::event_id_for(&appointment_id).filter(|_| inserts_series) {
            event_of.insert(appointment_id, event_id);
        }
    }
    // The appointment each of those series gets in this batch.
    let mut series_of: HashMap<String, AppointmentId> = HashMap::new();
    for t in batch.iter_mut() {
        let (item, ops) = parts(t);
        let Some(event_id) = item.key.event_id.clone() else {
            continue;
        };
        if !waiting.contains(&event_id) || !matches!(ops.last(), Some(SyncOp::Link { .. })) {
            continue;
        }
        // Only a repeating appointment has occurrences (the store refuses others).
        let created = ops.iter_mut().find_map(|op| match op {
            SyncOp::CreateInCrm {
                fields,
                appointment_id,
                instance_of: None,
            } if !fields.recurrence.is_empty() => Some(appointment_id),
            _ => None,
        });
        if let Some(id) = created {
            series_of.insert(event_id, id.get_or_insert_with(&mut new_id).clone());
        }
    }
    let mut rest = Vec::with_capacity(batch.len());
    let mut occurrences: HashMap<String, Vec<T>> = HashMap::new();
    // Bookline occurrences, by their series' appointment id.
    let mut crm_occurrences: HashMap<AppointmentId, Vec<T>> = HashMap::new();
    for mut t in batch {
        let (item, ops) = parts(&mut t);
        let crm_series = waiting_crm_series(item).and_then(|a| {
            let event_id = event_of.get(&a)?.clone();
            Some((a, event_id))
        });
        if let Some((series_appointment_id, series_event_id)) = crm_series {
            let original_start = item
                .crm
                .as_ref()
                .and_then(|c| c.instance_of.as_ref())
                .map(|i| i.original_start.clone())
                .unwrap_or_default();
            item.series = Some(InstanceRef {
                series_appointment_id: series_appointment_id.clone(),
                series_event_id,
                original_start,
            });
            *ops = decide(item, direction, mode);
            crm_occurrences
                .entry(series_appointment_id)
                .or_default()
                .push(t);
            continue;
        }
        let series = waiting_series(item).and_then(|e| series_of.get(&e).map(|a| (e, a)));
        match (
            series,
            item.google.as_ref().and_then(|g| g.instance_of.as_ref()),
        ) {
            (Some((series_event_id, appointment)), Some(instance)) => {
                item.series = Some(InstanceRef {
                    series_appointment_id: appointment.clone(),
                    series_event_id: series_event_id.clone(),
                    original_start: instance.original_start.clone(),
                });
                *ops = decide(item, direction, mode);
                occurrences.entry(series_event_id).or_default().push(t);
            }
            _ => rest.push(t),
        }
    }
    // Each series' occurrences right behind it, in the order they came.
    let mut out = Vec::with_capacity(rest.len());
    for mut t in rest {
        let key = parts(&mut t).0.key.clone();
        out.push(t);
        if let Some(after) = key.event_id.and_then(|e| occurrences.remove(&e)) {
            out.extend(after);
        }
        if let Some(after) = key.appointment_id.and_then(|a| crm_occurrences.remove(&a)) {
            out.extend(after);
        }
    }
    out
}

/// The Bookline series an unlinked CRM occurrence row waits for (`SeriesNotLinked`), if
/// it is one.
fn waiting_crm_series(item: &SyncItem) -> Option<AppointmentId> {
    if item.base.is_some() || item.google.is_some() || item.series.is_some() {
        return None;
    }
    let crm = item.crm.as_ref().filter(|c| !c.deleted)?;
    crm.instance_of.as_ref().map(|i| i.series_id.clone())
}

/// The series event an unlinked Google occurrence waits for (`SeriesNotLinked`), if it
/// is one.
fn waiting_series(item: &SyncItem) -> Option<String> {
    if item.base.is_some() || item.crm.is_some() || item.series.is_some() {
        return None;
    }
    item.google
        .as_ref()?
        .instance_of
        .as_ref()
        .map(|i| i.series_event_id.clone())
}

/// `join` then `decide` for every key; keys with no ops are left out.
pub fn decide_all(
    crm: Vec<CrmSide>,
    google: Vec<GoogleSide>,
    links: Vec<LinkRecord>,
    direction: Direction,
    mode: &Mode,
) -> Vec<Decision> {
    join(crm, google, links, mode)
        .into_iter()
        .filter_map(|item| {
            let ops = decide(&item, direction, mode);
            (!ops.is_empty()).then_some(Decision { key: item.key, ops })
        })
        .collect()
}

/// The state of one side of one key, as `decide` matches on it.
enum CrmState<'a> {
    Absent,
    /// A deletion record.
    Deleted,
    Live(&'a CrmSide),
}

enum GoogleState<'a> {
    Absent,
    Cancelled(&'a GoogleSide),
    Live(&'a GoogleSide),
}

/// The ops for one key. `direction` is the settings' direction; in backfill mode the
/// backfill's own direction applies instead.
pub fn decide(item: &SyncItem, direction: Direction, mode: &Mode) -> Vec<SyncOp> {
    let direction = match mode {
        Mode::Ongoing { .. } => direction,
        Mode::Backfill { direction, .. } => *direction,
    };
    let crm = match &item.crm {
        None => CrmState::Absent,
        Some(c) if c.deleted => CrmState::Deleted,
        Some(c) => CrmState::Live(c),
    };
    let google = match &item.google {
        None => GoogleState::Absent,
        Some(g) if g.is_cancelled() => GoogleState::Cancelled(g),
        Some(g) => GoogleState::Live(g),
    };
    let paired_by = item.paired_by.unwrap_or(PairedBy::Link);

    match (crm, google, &item.base) {
        // ---- Linked: the snapshot is the common ancestor. ----

        // Backfill moves only unlinked items; changes of linked ones are ongoing sync's.
        (_, _, Some(_)) if matches!(mode, Mode::Backfill { .. }) => {
            vec![SyncOp::Skip {
                reason: SkipReason::AlreadyLinked,
            }]
        }

        // Deleted on both sides: nothing left to pair.
        (CrmState::Deleted, GoogleState::Cancelled(_), Some(_)) => vec![SyncOp::Unlink],

        // Deleted in the CRM: delete the event, or — when Google is the source — keep the
        // link as a tombstone (CRM side cancelled) so the event is not imported again.
        (CrmState::Deleted, GoogleState::Live(_) | GoogleState::Absent, Some(base)) => {
            let google_now = effective_google(item.google.as_ref(), base);
            if google_now.is_cancelled() {
                vec![SyncOp::Unlink]
            } else if direction.writes_google() {
                vec![SyncOp::DeleteInGoogle, SyncOp::Unlink]
            } else {
                let mut crm = base.crm.clone();
                crm.status = SyncStatus::Cancelled;
                link_if_changed(
                    base,
                    Snapshot {
                        crm,
                        google: google_now,
                    },
                )
            }
        }

        // No news from either side.
        (CrmState::Absent, GoogleState::Absent, Some(_)) => Vec::new(),

        // Any other linked state: field-level merge against the snapshot. An absent CRM
        // row (gone without a deletion record) reads as its snapshot and is not written;
        // an absent event reads as its snapshot; a cancelled event is the snapshot with
        // status cancelled.
        (
            crm @ (CrmState::Absent | CrmState::Live(_)),
            GoogleState::Absent | GoogleState::Live(_) | GoogleState::Cancelled(_),
            Some(base),
        ) => {
            let (crm_now, crm_row, crm_updated) = match crm {
                CrmState::Live(c) => (c.fields.clone(), Some(c), Some(c.updated_at)),
                _ => (base.crm.clone(), None, None),
            };
            let google_now = effective_google(item.google.as_ref(), base);
            let google_updated = item.google.as_ref().map(|g| g.updated);
            merge_linked(
                base,
                MergeSide {
                    now: crm_now,
                    row: crm_row,
                    updated: crm_updated,
                },
                google_now,
                google_updated,
                direction,
            )
        }

        // ---- Never linked. ----

        // Nothing on either side.
        (CrmState::Absent, GoogleState::Absent, None) => Vec::new(),

        // Deleted before it was ever synced, with no event: nothing to do.
        (CrmState::Deleted, GoogleState::Absent, None) => Vec::new(),

        // An occurrence of a linked series cancelled in Google: a cancelled occurrence
        // row in the CRM, so the series shows it cancelled.
        (CrmState::Absent, GoogleState::Cancelled(g), None) if g.instance_of.is_some() => {
            new_google_occurrence(g, item.series.as_ref(), direction, mode)
        }

        // Any other cancelled event that was never linked: nothing to do.
        (CrmState::Absent, GoogleState::Cancelled(_), None) => Vec::new(),

        // Gone on both sides before a link was written.
        (CrmState::Deleted, GoogleState::Cancelled(_), None) => Vec::new(),

        // A moved, edited or cancelled occurrence of a series in the CRM. It is a change
        // of the series, so it moves whenever the series is linked (not only when new);
        // a cancelled one cancels that occurrence in Google.
        (CrmState::Live(c), GoogleState::Absent, None) if c.instance_of.is_some() => {
            match item.series.as_ref() {
                None => skip(SkipReason::SeriesNotLinked),
                Some(_) if !direction.writes_google() => skip(SkipReason::DirectionExcludes),
                Some(_) if out_of_range(mode, &c.fields.timing) => skip(SkipReason::OutsideRange),
                Some(series) => vec![
                    SyncOp::CreateInGoogle {
                        fields: c.fields.clone(),
                        instance: Some(series.clone()),
                    },
                    SyncOp::Link {
                        snapshot: Snapshot {
                            crm: c.fields.clone(),
                            google: c.fields.clone(),
                        },
                    },
                ],
            }
        }

        // A new CRM appointment.
        (CrmState::Live(c), GoogleState::Absent, None) => {
            if c.is_cancelled() {
                skip(SkipReason::Cancelled)
            } else if !direction.writes_google() {
                skip(SkipReason::DirectionExcludes)
            } else if let Some(reason) = not_movable(mode, c.created_at, &c.fields.timing) {
                skip(reason)
            } else {
                vec![
                    SyncOp::CreateInGoogle {
                        fields: c.fields.clone(),
                        instance: None,
                    },
                    SyncOp::Link {
                        snapshot: Snapshot {
                            crm: c.fields.clone(),
                            google: c.fields.clone(),
                        },
                    },
                ]
            }
        }

        // A moved or edited occurrence of a series in Google.
        (CrmState::Absent, GoogleState::Live(g), None) if g.instance_of.is_some() => {
            new_google_occurrence(g, item.series.as_ref(), direction, mode)
        }

        // A new Google event.
        (CrmState::Absent, GoogleState::Live(g), None) => {
            if g.is_bookline_created() && matches!(mode, Mode::Ongoing { .. }) {
                // Ongoing sync never imports Bookline's own events: that would echo.
                // Backfill may (a reinstall lost the CRM rows), keeping the id.
                skip(SkipReason::BooklineEventWithoutAppointment)
            } else if !direction.writes_crm() {
                skip(SkipReason::DirectionExcludes)
            } else if let Some(reason) = not_movable(mode, g.created, &g.fields.timing) {
                skip(reason)
            } else {
                vec![
                    SyncOp::CreateInCrm {
                        fields: g.fields.clone(),
                        appointment_id: g.bookline_appointment(),
                        instance_of: None,
                    },
                    SyncOp::Link {
                        snapshot: Snapshot {
                            crm: g.fields.clone(),
                            google: g.fields.clone(),
                        },
                    },
                ]
            }
        }

        // Bookline's own event for an appointment deleted before the link was written
        // (a crash between push and link): the CRM delete is the deletion record.
        // When Google is the source the event stays, linked to a tombstone (CRM side
        // cancelled) so it is not imported again as a new appointment.
        (CrmState::Deleted, GoogleState::Live(g), None) => match item.crm.as_ref() {
            Some(c) if paired_by.is_identity() => {
                if direction.writes_google() {
                    vec![SyncOp::DeleteInGoogle]
                } else {
                    let mut crm = c.fields.clone();
                    crm.status = SyncStatus::Cancelled;
                    vec![SyncOp::Link {
                        snapshot: Snapshot {
                            crm,
                            google: g.fields.clone(),
                        },
                    }]
                }
            }
            // Look-alikes are never paired with a deleted row (see `join`).
            _ => Vec::new(),
        },

        // The same item, never linked, and the event was deleted in Google: cancel it in
        // the CRM if Google may write there, and link so a later un-cancel can travel.
        (CrmState::Live(c), GoogleState::Cancelled(g), None) => {
            let mut google = g.fields.clone();
            google.status = SyncStatus::Cancelled;
            if c.is_cancelled() || !direction.writes_crm() {
                vec![SyncOp::Link {
                    snapshot: Snapshot {
                        crm: c.fields.clone(),
                        google,
                    },
                }]
            } else if c.origin == Origin::Google {
                vec![SyncOp::DeleteInCrm]
            } else {
                let mut crm = c.fields.clone();
                crm.status = SyncStatus::Cancelled;
                vec![
                    SyncOp::CancelInCrm,
                    SyncOp::Link {
                        snapshot: Snapshot { crm, google },
                    },
                ]
            }
        }

        // Both present and never linked: they are the same item (by id, or by the
        // backfill match rule). Link; when paired by identity, bring the side edited
        // earlier up to date with the later one, as far as the direction allows.
        // Look-alikes are only linked: their other fields (notes, location) may be
        // different on purpose and overwriting them would lose data.
        (CrmState::Live(c), GoogleState::Live(g), None) => {
            let differ = c.fields.diff(&g.fields);
            let winner = if c.updated_at >= g.updated {
                Side::Crm
            } else {
                Side::Google
            };
            let mut crm = c.fields.clone();
            let mut google = g.fields.clone();
            let mut ops = Vec::new();
            if !differ.is_empty() && paired_by.is_identity() && direction.writes(winner.other()) {
                match winner {
                    Side::Crm => {
                        google.take_fields(&c.fields, differ);
                        ops.push(SyncOp::UpdateGoogle {
                            fields: differ,
                            to: google.clone(),
                        });
                    }
                    Side::Google => {
                        crm.take_fields(&g.fields, differ);
                        ops.push(SyncOp::UpdateCrm {
                            fields: differ,
                            to: crm.clone(),
                        });
                    }
                }
            }
            ops.push(SyncOp::Link {
                snapshot: Snapshot { crm, google },
            });
            ops
        }
    }
}

/// An occurrence of a series that Google reports on its own (moved, edited or
/// cancelled). It becomes an occurrence row of the series in the CRM when the series is
/// linked; like a change of the series, it is not subject to the "new after connecting"
/// rule.
fn new_google_occurrence(
    g: &GoogleSide,
    series: Option<&InstanceRef>,
    direction: Direction,
    mode: &Mode,
) -> Vec<SyncOp> {
    let Some(series) = series else {
        return skip(SkipReason::SeriesNotLinked);
    };
    if !direction.writes_crm() {
        return skip(SkipReason::DirectionExcludes);
    }
    if out_of_range(mode, &g.fields.timing) {
        return skip(SkipReason::OutsideRange);
    }
    let mut fields = g.fields.clone();
    if g.is_cancelled() {
        fields.status = SyncStatus::Cancelled;
    }
    vec![
        SyncOp::CreateInCrm {
            fields: fields.clone(),
            appointment_id: None,
            instance_of: Some(series.series_instance()),
        },
        SyncOp::Link {
            snapshot: Snapshot {
                crm: fields.clone(),
                google: fields,
            },
        },
    ]
}

fn out_of_range(mode: &Mode, timing: &Timing) -> bool {
    match mode {
        Mode::Backfill {
            range: Some(range), ..
        } => !range.contains(timing),
        _ => false,
    }
}

fn skip(reason: SkipReason) -> Vec<SyncOp> {
    vec![SyncOp::Skip { reason }]
}

/// Why an unlinked item may not move in this mode, if it may not.
fn not_movable(mode: &Mode, created: DateTime<Utc>, timing: &Timing) -> Option<SkipReason> {
    match mode {
        Mode::Ongoing { connected_at } => {
            (created <= *connected_at).then_some(SkipReason::OldWaitsForBackfill)
        }
        Mode::Backfill { range, .. } => match range {
            Some(r) if !r.contains(timing) => Some(SkipReason::OutsideRange),
            _ => None,
        },
    }
}

/// The Google side as of now: the event when it was read, the snapshot when it was not
/// (no news), and the snapshot marked cancelled for a deletion record (whose other
/// fields Google may have left out).
fn effective_google(google: Option<&GoogleSide>, base: &Snapshot) -> SyncFields {
    match google {
        Some(g) if g.is_cancelled() => {
            let mut f = base.google.clone();
            f.status = SyncStatus::Cancelled;
            f
        }
        Some(g) => g.fields.clone(),
        None => base.google.clone(),
    }
}

fn link_if_changed(base: &Snapshot, snapshot: Snapshot) -> Vec<SyncOp> {
    if *base == snapshot {
        Vec::new()
    } else {
        vec![SyncOp::Link { snapshot }]
    }
}

struct MergeSide<'a> {
    now: SyncFields,
    /// The row, when it exists and can be written.
    row: Option<&'a CrmSide>,
    updated: Option<DateTime<Utc>>,
}

/// Field-level three-way merge of a linked item.
///
/// A field changed on one side since the snapshot goes to the other side. A field
/// changed on both to different values goes to the side edited later (CRM on a tie) and
/// is recorded as a conflict. In `both`, a field that differs but changed on neither side
/// (left over from a one-way period) is settled the same way, without a conflict, so the
/// sides converge. Writes are then filtered by the direction; the new snapshot records
/// what each side holds afterwards.
fn merge_linked(
    base: &Snapshot,
    crm: MergeSide<'_>,
    google_now: SyncFields,
    google_updated: Option<DateTime<Utc>>,
    direction: Direction,
) -> Vec<SyncOp> {
    let crm_changed = base.crm.diff(&crm.now);
    let google_changed = base.google.diff(&google_now);
    if crm_changed.is_empty() && google_changed.is_empty() {
        return Vec::new();
    }
    let later = match (crm.updated, google_updated) {
        (Some(c), Some(g)) if g > c => Side::Google,
        (None, Some(_)) => Side::Google,
        _ => Side::Crm,
    };

    let mut to_google = FieldSet::EMPTY;
    let mut to_crm = FieldSet::EMPTY;
    let mut ops = Vec::new();
    for field in Field::ALL {
        if crm.now.field_eq(&google_now, field) {
            continue;
        }
        let winner = match (crm_changed.contains(field), google_changed.contains(field)) {
            (true, false) => Side::Crm,
            (false, true) => Side::Google,
            (true, true) => {
                ops.push(SyncOp::RecordConflict {
                    field,
                    winner: later,
                });
                later
            }
            (false, false) if direction == Direction::Both => later,
            (false, false) => continue,
        };
        match winner {
            Side::Crm => to_google.insert(field),
            Side::Google => to_crm.insert(field),
        }
    }
    if !direction.writes_google() {
        to_google = FieldSet::EMPTY;
    }
    if !direction.writes_crm() {
        to_crm = FieldSet::EMPTY;
    }

    let mut writes = Vec::new();
    let mut google_after = google_now.clone();
    let mut crm_after = crm.now.clone();
    let mut crm_row_removed = false;

    if !to_google.is_empty() {
        let target = google_now.with_fields_from(&crm.now, to_google);
        match (google_now.status, target.status) {
            // A cancelled event stays deleted: its other fields no longer matter.
            (SyncStatus::Cancelled, SyncStatus::Cancelled) => {}
            (SyncStatus::Active, SyncStatus::Cancelled) => {
                writes.push(SyncOp::DeleteInGoogle);
                google_after.status = SyncStatus::Cancelled;
            }
            // Restoring a deleted event: its content in Google may be anything (it
            // may have been edited before it was deleted), so send every field.
            (SyncStatus::Cancelled, SyncStatus::Active) => {
                writes.push(SyncOp::UpdateGoogle {
                    fields: FieldSet::all(),
                    to: target.clone(),
                });
                google_after = target;
            }
            (SyncStatus::Active, SyncStatus::Active) => {
                writes.push(SyncOp::UpdateGoogle {
                    fields: to_google,
                    to: target.clone(),
                });
                google_after = target;
            }
        }
    }

    if let (false, Some(row)) = (to_crm.is_empty(), crm.row) {
        let target = crm.now.with_fields_from(&google_now, to_crm);
        match (crm.now.status, target.status) {
            (SyncStatus::Cancelled, SyncStatus::Cancelled) => {}
            (SyncStatus::Active, SyncStatus::Cancelled) => {
                if row.origin == Origin::Google {
                    writes.push(SyncOp::DeleteInCrm);
                    crm_row_removed = true;
                } else {
                    writes.push(SyncOp::CancelInCrm);
                }
                crm_after.status = SyncStatus::Cancelled;
            }
            _ => {
                writes.push(SyncOp::UpdateCrm {
                    fields: to_crm,
                    to: target.clone(),
                });
                crm_after = target;
            }
        }
    }

    ops.extend(writes);
    if crm_row_removed && google_after.is_cancelled() {
        ops.push(SyncOp::Unlink);
    } else {
        ops.extend(link_if_changed(
            base,
            Snapshot {
                crm: crm_after,
                google: google_after,
            },
        ));
    }
    ops
}

/// Limits of the mass-delete guard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeletePolicy {
    /// More deletes than this on one side always need confirmation.
    pub max_items: usize,
    /// More than this fraction of a side's items needs confirmation…
    pub max_fraction: f64,
    /// …but only above this many deletes: removing one appointment from a calendar of
    /// five is an ordinary edit, not a mass delete.
    pub min_items_for_fraction: usize,
}

impl Default for DeletePolicy {
    fn default() -> Self {
        Self {
            max_items: 20,
            max_fraction: 0.10,
            min_items_for_fraction: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteGuard {
    pub crm_deletes: usize,
    pub google_deletes: usize,
    pub needs_confirmation: bool,
}

/// Counts the deletes (and cancels) a batch of decisions would make on each side and
/// says whether the pass must stop and ask first. `crm_total`/`google_total`: items on
/// each side (appointments; events in the calendar).
pub fn guard_deletes(
    decisions: &[Decision],
    crm_total: usize,
    google_total: usize,
    policy: &DeletePolicy,
) -> DeleteGuard {
    let mut crm_deletes = 0;
    let mut google_deletes = 0;
    for op in decisions.iter().flat_map(|d| &d.ops) {
        match op.deletes_from() {
            Some(Side::Crm) => crm_deletes += 1,
            Some(Side::Google) => google_deletes += 1,
            None => {}
        }
    }
    guard_totals(crm_deletes, google_deletes, crm_total, google_total, policy)
}

/// `guard_deletes` from counted deletes (the engine adds up a whole pass).
pub fn guard_totals(
    crm_deletes: usize,
    google_deletes: usize,
    crm_total: usize,
    google_total: usize,
    policy: &DeletePolicy,
) -> DeleteGuard {
    let too_many = |deletes: usize, total: usize| {
        deletes > policy.max_items
            || (deletes > policy.min_items_for_fraction
                && deletes as f64 > policy.max_fraction * total as f64)
    };
    DeleteGuard {
        crm_deletes,
        google_deletes,
        needs_confirmation: too_many(crm_deletes, crm_total)
            || too_many(google_deletes, google_total),
    }
}

/// Counts of a batch of decisions, for the backfill preview and `--json` summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create_in_google: usize,
    pub update_google: usize,
    pub delete_in_google: usize,
    pub create_in_crm: usize,
    pub update_crm: usize,
    pub delete_in_crm: usize,
    /// Links written without creating an item: in a backfill, pairs found equal or
    /// re-linked by id; in ongoing sync also snapshot updates of linked items.
    pub linked: usize,
    pub conflicts: usize,
    pub skipped: BTreeMap<SkipReason, usize>,
}

impl Summary {
    pub fn of(decisions: &[Decision]) -> Self {
        let mut s = Summary::default();
        for d in decisions {
            let creates = d.ops.iter().any(|op| {
                matches!(
                    op,
                    SyncOp::CreateInGoogle { .. } | SyncOp::CreateInCrm { .. }
                )
            });
            for op in &d.ops {
                match op {
                    SyncOp::CreateInGoogle { .. } => s.create_in_google += 1,
                    SyncOp::UpdateGoogle { .. } => s.update_google += 1,
                    SyncOp::DeleteInGoogle => s.delete_in_google += 1,
                    SyncOp::CreateInCrm { .. } => s.create_in_crm += 1,
                    SyncOp::UpdateCrm { .. } => s.update_crm += 1,
                    SyncOp::CancelInCrm | SyncOp::DeleteInCrm => s.delete_in_crm += 1,
                    SyncOp::Link { .. } if !creates && d.key.event_id.is_some() => s.linked += 1,
                    SyncOp::Link { .. } | SyncOp::Unlink => {}
                    SyncOp::RecordConflict { .. } => s.conflicts += 1,
                    SyncOp::Skip { reason } => *s.skipped.entry(*reason).or_default() += 1,
                }
            }
        }
        s
    }
}
