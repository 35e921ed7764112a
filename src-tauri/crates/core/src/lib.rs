//! bookline-core: everything Bookline does, without Tauri. The desktop shell and the CLI
//! are thin layers over the services here.

pub mod account;
pub mod app;
pub mod demo;
pub mod error;
pub mod google;
pub mod input;
pub mod model;
pub mod oauth;
pub mod paths;
pub mod ratelimit;
pub mod recurrence;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod validation;
