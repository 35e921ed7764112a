//! bookline-core's integration tests: one test binary (link time is precious on two
//! cores), one module per area.

mod account;
mod backfill;
mod booking;
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

/// Whether this run is CI's (`CI` set, or `BOOKLINE_TEST_SESSION` from scripts/test.sh):
/// there a test that cannot do its work must fail, not pass having done nothing.
pub(crate) fn in_ci() -> bool {
    ["CI", "BOOKLINE_TEST_SESSION"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty() && s != "0" && s != "false"))
}

/// A test that cannot run here: a panic in CI, a visible skip message elsewhere.
pub(crate) fn skip_or_fail_in_ci(reason: &str) {
    assert!(
        !in_ci(),
        "this test cannot run, and CI must run it: {reason}"
    );
    eprintln!("SKIPPED (not CI): {reason}");
}

/// True when there is no D-Bus session bus, hence no Secret Service: the caller returns
/// (a visible skip), except in CI, where this fails the test.
pub(crate) fn no_secret_service() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return false;
    }
    skip_or_fail_in_ci(
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset), so no Secret Service; \
         `make test` runs this inside dbus-run-session with gnome-keyring",
    );
    true
}
