//! `bookline`: the desktop app when run without a subcommand, the headless CLI otherwise.
//!
//! On Windows this is a GUI program (`windows_subsystem = "windows"`): a console program
//! gets a console window at every start — the login item's included — and closing that
//! window kills Bookline without the clean Quit. A GUI program has nowhere to print, so
//! on Windows the CLI is a second binary, `bookline-cli` (src/bin/bookline-cli.rs): the
//! same program as a console program. Not one binary that attaches to its parent's
//! console (`AttachConsole`) instead: cmd and PowerShell do not wait for a GUI program,
//! so the prompt would come back before the output and `%ERRORLEVEL%` would not be
//! Bookline's exit code, which breaks scripts; and it takes `unsafe` FFI, which the
//! workspace forbids. See docs/platforms.md.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(windows, windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    bookline_app::cli::main()
}
