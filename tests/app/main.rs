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
