//! bookline-core: everything Bookline does, without Tauri (and without the Google
//! emulator, which only its tests use). The desktop shell and the CLI are thin layers over
//! `app::App`, the application API.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod account;
pub mod app;
pub mod busy;
pub mod diagnostics;
pub mod error;
pub mod google;
pub mod input;
pub mod instance_lock;
pub mod model;
pub mod oauth;
pub mod paths;
pub mod platform;
pub mod ratelimit;
pub mod recurrence;
pub mod runtime;
pub mod secrets;
pub mod split;
pub mod store;
pub mod sync;
pub mod sync_lock;
pub mod validation;
