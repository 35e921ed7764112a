//! bookline-core's integration tests: one test binary (link time is precious on two
//! cores), one module per area.

mod account;
mod backfill;
mod calendar_change;
mod engine;
mod fuzz;
mod google;
mod oauth;
mod robustness;
mod runtime;
mod series_edits;
mod store;
mod sync;
