//! The sync engine's pure heart: normalized fields, the decision function, event ids,
//! privacy rendering, and the mapping of Google events. The I/O around it (store,
//! Google client) applies what `decide` returns.

pub mod activity;
pub mod backfill;
pub mod booking;
pub mod calendar_change;
pub mod decide;
pub mod engine;
pub mod error;
pub mod fields;
pub mod held;
pub mod ids;
pub mod links;
pub mod mapping;
pub mod parked;
pub mod privacy;
pub mod service;
pub mod settings;
pub mod writer;

pub use decide::{
    decide, decide_all, guard_deletes, join, CrmSide, Decision, DeleteGuard, DeletePolicy,
    Direction, GoogleInstance, GoogleSide, InstanceRef, LinkRecord, Mode, PairedBy, Side,
    SkipReason, Snapshot, StandaloneIndex, Summary, SyncItem, SyncKey, SyncOp, TimeRange,
};
pub use engine::{AccountContext, EngineOptions, SyncEngine, SyncError, SyncReport};
pub use fields::{Field, FieldSet, SyncFields, SyncStatus};

/// The engine's tables (links, sync tokens, activity, backfill jobs): the store runs this
/// file as its migration 3.
pub const SCHEMA_SQL: &str = include_str!("../../migrations/0003_sync.sql");
