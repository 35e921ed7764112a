//! Opening the authorization URL in the user's browser. Rust opens it (the webview has no
//! opener permission), normally through tauri-plugin-opener.
//!
//! `BOOKLINE_OPEN_URL_COMMAND`, when set, replaces the system browser with a command that
//! receives the URL as its last argument (split on whitespace, no shell). The end-to-end
//! tests use it to "play the browser" with `curl -sL`, which follows the emulator's
//! consent redirect to the app's loopback listener. Unset, it changes nothing.

use std::process::{Command, Stdio};

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;
use url::Url;

pub const OPEN_URL_COMMAND_ENV: &str = "BOOKLINE_OPEN_URL_COMMAND";

/// Opens `url`; the error is the sentence the connect page shows (the URL stays on screen
/// to copy by hand).
pub fn open(app: &AppHandle, url: &Url) -> Result<(), String> {
    match std::env::var(OPEN_URL_COMMAND_ENV) {
        Ok(command) if !command.trim().is_empty() => run_command(&command, url),
        _ => app
            .opener()
            .open_url(url.as_str(), None::<&str>)
            .map_err(|e| format!("Bookline could not open your browser ({e}).")),
    }
}

fn run_command(command: &str, url: &Url) -> Result<(), String> {
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| format!("{OPEN_URL_COMMAND_ENV} is empty."))?;
    let mut child = Command::new(program)
        .args(words)
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{OPEN_URL_COMMAND_ENV} ({program}) could not start: {e}"))?;
    // Reaped off the async runtime: the command finishes only after the redirect has
    // reached the loopback listener, which the caller is about to await.
    std::thread::spawn(move || {
        if let Err(e) = child.wait() {
            tracing::warn!("{OPEN_URL_COMMAND_ENV}: {e}");
        }
    });
    Ok(())
}
