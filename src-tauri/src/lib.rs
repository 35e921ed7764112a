//! The Tauri shell: windows, IPC commands, tray, CLI entry. Logic lives in bookline-core.
