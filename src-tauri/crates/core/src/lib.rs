//! bookline-core: everything Bookline does, without Tauri. The desktop shell and the CLI
//! are thin layers over the services here.

pub mod error;
pub mod google;
pub mod model;
pub mod oauth;
pub mod ratelimit;
pub mod secrets;
pub mod sync;
