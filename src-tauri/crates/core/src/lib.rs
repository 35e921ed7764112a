//! bookline-core: everything Bookline does, without Tauri. The desktop shell and the CLI
//! are thin layers over the services here.

pub mod error;
pub mod input;
pub mod model;
pub mod paths;
pub mod recurrence;
pub mod store;
pub mod validation;
