//! The Tauri shell: windows, IPC commands, CLI entry. Logic lives in bookline-core; every
//! function here parses, delegates and prints.

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
