//! bookline-core's one integration-test binary; each area is a module.

mod google;
mod oauth;
mod sync;
