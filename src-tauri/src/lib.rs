//! The Tauri shell: windows, IPC commands, CLI entry. Logic lives in bookline-core; every
//! function here parses, delegates and prints.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod browser;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod events;
pub mod gui;
pub mod ipc;
pub mod logging;
pub mod memory;
pub mod tray;
pub mod window_process;
