//! bookline-core's integration tests: one test binary (link time is precious on two
//! cores), one module per area.

mod store;
