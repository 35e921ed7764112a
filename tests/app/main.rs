//! The app package's integration tests, in one binary (every test binary costs a link on
//! CI's two cores):
//! - `cli`: the built `bookline` binary against a temporary data dir;
//! - `e2e`: the real window through tauri-driver + WebKitWebDriver (`#[ignore]`d, run by
//!   `make test` under Xvfb with `--run-ignored only`).

mod api;
mod cli;
mod crash;
mod e2e;
mod harness;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built binary with `--data-dir dir` and the given arguments.
pub fn bookline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bookline"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("BOOKLINE_DATA_DIR")
        .output()
        .expect("the bookline binary runs")
}

/// Runs a command that must succeed and returns its stdout parsed as JSON.
pub fn bookline_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    success_json(args, &bookline(dir, args))
}

/// The stdout of a `bookline` run that must have succeeded, parsed as JSON.
pub fn success_json(args: &[&str], out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "bookline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bookline {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Whether this run is CI's (`CI` set, or `BOOKLINE_TEST_SESSION` from scripts/test.sh):
/// there a test that cannot do its work must fail, not pass having done nothing.
pub fn in_ci() -> bool {
    ["CI", "BOOKLINE_TEST_SESSION"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty() && s != "0" && s != "false"))
}

/// A test that cannot run here: a panic in CI, a visible skip message elsewhere.
pub fn skip_or_fail_in_ci(reason: &str) {
    assert!(
        !in_ci(),
        "this test cannot run, and CI must run it: {reason}"
    );
    eprintln!("SKIPPED (not CI): {reason}");
}

/// True when there is no D-Bus session bus, hence no Secret Service: the caller returns
/// (a visible skip), except in CI, where this fails the test.
pub fn no_secret_service() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return false;
    }
    skip_or_fail_in_ci(
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset), so no Secret Service; \
         `make test` runs this inside dbus-run-session with gnome-keyring",
    );
    true
}
