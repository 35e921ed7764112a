//! The normalized content of one synced item, in neither the CRM's nor Google's shape.
//!
//! Both sides are mapped into `SyncFields` before any decision is made, and the
//! last-synced `SyncFields` of each side is what a link stores as its snapshot. Comparing
//! two `SyncFields` field by field is what lets the engine merge edits made on both sides.

use crate::model::{Status, Timing};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether the item is in effect on its side.
///
/// Google has no "done": a CRM appointment that is booked or done is `Active`, and an
/// event that is confirmed or tentative is `Active`. A cancelled Google event is how
/// Google reports a deletion, so `Cancelled` on the Google side means the event is gone
/// from the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Active,
    Cancelled,
}

impl SyncStatus {
    pub fn from_crm(status: Status) -> Self {
        match status {
            Status::Booked | Status::Done => SyncStatus::Active,
            Status::Cancelled => SyncStatus::Cancelled,
        }
    }

    /// The CRM status to store when this sync status arrives for a row currently in
    /// `current`. A done appointment stays done while the event is active, because Google
    /// cannot express "done" and must not undo it.
    pub fn to_crm(self, current: Status) -> Status {
        match (self, current) {
            (SyncStatus::Active, Status::Done) => Status::Done,
            (SyncStatus::Active, _) => Status::Booked,
            (SyncStatus::Cancelled, _) => Status::Cancelled,
        }
    }

    /// Google's `status` value (`confirmed`, `tentative`, `cancelled`) → sync status.
    /// Unknown values are treated as active: Google documents only these three, and an
    /// event that exists is better kept than dropped.
    pub fn from_google(status: &str) -> Self {
        if status == "cancelled" {
            SyncStatus::Cancelled
        } else {
            SyncStatus::Active
        }
    }

    /// The Google `status` to write. An active item becomes `confirmed`; an existing
    /// `tentative` event is left tentative by passing its current status in.
    pub fn to_google(self, current: Option<&str>) -> &'static str {
        match (self, current) {
            (SyncStatus::Cancelled, _) => "cancelled",
            (SyncStatus::Active, Some("tentative")) => "tentative",
            (SyncStatus::Active, _) => "confirmed",
        }
    }
}

/// One comparable field of `SyncFields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Timing,
    Timezone,
    Location,
    Notes,
    Status,
    Recurrence,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Title,
        Field::Timing,
        Field::Timezone,
        Field::Location,
        Field::Notes,
        Field::Status,
        Field::Recurrence,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Timing => "timing",
            Field::Timezone => "timezone",
            Field::Location => "location",
            Field::Notes => "notes",
            Field::Status => "status",
            Field::Recurrence => "recurrence",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of fields (a bit set; serialized as a list of names so stored activity and
/// JSON output stay readable).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u8);

impl FieldSet {
    pub const EMPTY: FieldSet = FieldSet(0);

    pub fn all() -> Self {
        Field::ALL.iter().copied().collect()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    pub fn insert(&mut self, field: Field) {
        self.0 |= field.bit();
    }

    pub fn remove(&mut self, field: Field) {
        self.0 &= !field.bit();
    }

    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    pub fn intersection(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & other.0)
    }

    pub fn difference(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & !other.0)
    }

    /// Fields in a fixed order (the order of `Field::ALL`).
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        let mut set = FieldSet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for FieldSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for FieldSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = Vec::<Field>::deserialize(deserializer)?;
        Ok(fields.into_iter().collect())
    }
}

/// The synced content of one item, in CRM vocabulary (the Google mapping renders and
/// parses the privacy template, so `title` and `notes` here never contain lead details
/// Bookline added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFields {
    pub title: String,
    pub timing: Timing,
    /// IANA zone. Meaningless for all-day items (Google stores none for them), which is
    /// why `diff` ignores it when both sides are all-day.
    pub timezone: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    pub status: SyncStatus,
    /// `RRULE:`/`EXDATE…`/`RDATE…` lines verbatim; empty for a single item.
    #[serde(default)]
    pub recurrence: Vec<String>,
}

impl SyncFields {
    /// The fields whose values differ between `self` and `other`.
    pub fn diff(&self, other: &SyncFields) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        for field in Field::ALL {
            if !self.field_eq(other, field) {
                set.insert(field);
            }
        }
        set
    }

    /// Whether one field has the same value on both.
    pub fn field_eq(&self, other: &SyncFields, field: Field) -> bool {
        match field {
            Field::Title => self.title == other.title,
            Field::Timing => self.timing == other.timing,
            Field::Timezone => {
                let both_all_day = matches!(self.timing, Timing::AllDay { .. })
                    && matches!(other.timing, Timing::AllDay { .. });
                both_all_day || self.timezone == other.timezone
            }
            Field::Location => self.location == other.location,
            Field::Notes => self.notes == other.notes,
            Field::Status => self.status == other.status,
            Field::Recurrence => self.recurrence == other.recurrence,
        }
    }

    /// Equal in every compared field.
    pub fn same_as(&self, other: &SyncFields) -> bool {
        self.diff(other).is_empty()
    }

    /// Copy the given fields from `from` into `self`.
    pub fn take_fields(&mut self, from: &SyncFields, fields: FieldSet) {
        for field in fields.iter() {
            match field {
                Field::Title => self.title.clone_from(&from.title),
                Field::Timing => self.timing = from.timing.clone(),
                Field::Timezone => self.timezone.clone_from(&from.timezone),
                Field::Location => self.location.clone_from(&from.location),
                Field::Notes => self.notes.clone_from(&from.notes),
                Field::Status => self.status = from.status,
                Field::Recurrence => self.recurrence.clone_from(&from.recurrence),
            }
        }
    }

    /// `self` with the given fields taken from `from`.
    pub fn with_fields_from(&self, from: &SyncFields, fields: FieldSet) -> SyncFields {
        let mut out = self.clone();
        out.take_fields(from, fields);
        out
    }

    /// The backfill match rule: the same start, the same end and the same title
    /// (trimmed, case kept). Items matching this are linked instead of duplicated.
    pub fn matches_for_link(&self, other: &SyncFields) -> bool {
        self.timing == other.timing && self.title.trim() == other.title.trim()
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == SyncStatus::Cancelled
    }
}
