//! **Copy diagnostics** and `bookline diagnostics`: what support needs to know about this
//! installation, as plain text a salesperson can paste into an e-mail. Built from the
//! status and the activity log only, so it holds no token (those live in the keyring and in
//! memory) — and no appointment contents: titles, which the activity log quotes, are
//! replaced before anything is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::account::AppStatus;
use crate::sync::activity::{ActivityEntry, ActivityKind};
use crate::sync::Direction;

/// How many of the latest errors the report lists.
pub const RECENT_ERRORS: usize = 10;

/// What the report is made of; the fronts gather it (`App::diagnostics`).
#[derive(Debug)]
pub struct DiagnosticsInput<'a> {
    pub version: &'a str,
    /// The operating system in words, e.g. "linux x86_64 (Debian GNU/Linux 12 (bookworm))".
    pub os: &'a str,
    pub data_dir: &'a Path,
    pub log_dir: &'a Path,
    pub status: &'a AppStatus,
    /// The activity log, newest first; only its errors are used.
    pub activity: &'a [ActivityEntry],
}

/// The About dialog: which Bookline this is and where it keeps its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AboutInfo {
    pub version: String,
    pub data_dir: String,
    /// The log file written now (the newest in the log folder), if there is one yet.
    pub log_file: Option<String>,
    pub log_dir: String,
}

impl AboutInfo {
    pub fn new(version: &str, data_dir: &Path, log_dir: &Path) -> Self {
        AboutInfo {
            version: version.to_owned(),
            data_dir: data_dir.display().to_string(),
            log_file: newest_log(log_dir).map(|p| p.display().to_string()),
            log_dir: log_dir.display().to_string(),
        }
    }
}

/// The most recently written `*.log` in `log_dir`.
fn newest_log(log_dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(log_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

/// The report, one fact a line.
pub fn report(input: &DiagnosticsInput<'_>) -> String {
    let s = input.status;
    let mut out = String::new();
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(out, "{key}: {value}");
    };
    line("Bookline", input.version);
    line("OS", input.os);
    line("Data folder", &input.data_dir.display().to_string());
    line("Log folder", &input.log_dir.display().to_string());
    line("Demo", yes_no(s.demo));
    line("Google client configured", yes_no(s.client_configured));
    let connection = match (s.connected, s.needs_reconnect) {
        (false, _) => "not connected",
        (true, true) => "connected, needs reconnecting",
        (true, false) => "connected",
    };
    line("Google account", connection);
    line("Direction", direction_words(s.direction));
    line("Last sync", s.last_sync.as_deref().unwrap_or("never"));
    line(
        "Sync",
        &format!(
            "{:?}{}",
            s.sync.state,
            s.sync
                .message
                .as_deref()
                .map(|m| format!(" — {}", redact_quoted(m)))
                .unwrap_or_default()
        ),
    );
    line("Waiting to be sent", &s.pending.to_string());
    line(
        "Deletions held for a decision",
        &s.held_deletes.total().to_string(),
    );
    line("Google events set aside", &s.parked.len().to_string());
    let errors: Vec<&ActivityEntry> = input
        .activity
        .iter()
        .filter(|e| e.kind == ActivityKind::Error)
        .take(RECENT_ERRORS)
        .collect();
    if errors.is_empty() {
        out.push_str("Recent errors: none\n");
    } else {
        out.push_str("Recent errors (newest first):\n");
        for e in errors {
            let _ = writeln!(out, "  {} {}", e.at, redact_quoted(&e.summary));
        }
    }
    out
}

/// Bookline's sentences quote a title between “ and ” (an appointment's, an event's, a
/// calendar's). Everything from the first “ to the last ” goes, so a title that itself
/// holds a closing quote does not leak its tail.
pub fn redact_quoted(text: &str) -> String {
    match (text.find('“'), text.rfind('”')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}“…”{}", &text[..open], &text[close + '”'.len_utf8()..])
        }
        (Some(open), _) => format!("{}“…", &text[..open]),
        _ => text.to_owned(),
    }
}

/// This machine's OS in words: the Rust target's OS and architecture, and on Linux the
/// distribution's `PRETTY_NAME` from /etc/os-release.
pub fn this_os() -> String {
    let release = std::fs::read_to_string("/etc/os-release").ok();
    os_words(
        std::env::consts::OS,
        std::env::consts::ARCH,
        release.as_deref(),
    )
}

fn os_words(os: &str, arch: &str, os_release: Option<&str>) -> String {
    let pretty = os_release.and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    });
    match pretty {
        Some(name) => format!("{os} {arch} ({name})"),
        None => format!("{os} {arch}"),
    }
}

fn yes_no(v: bool) -> &'static str {
    if v {
        "yes"
    } else {
        "no"
    }
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::Both => "both ways",
        Direction::GoogleToCrm => "Google Calendar → Bookline",
        Direction::CrmToGoogle => "Bookline → Google Calendar",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{SyncLine, SyncPhase};
    use crate::sync::held::HeldDeletes;

    fn status() -> AppStatus {
        AppStatus {
            connected: true,
            email: Some("ada@example.com".to_owned()),
            demo: false,
            client_configured: true,
            needs_reconnect: false,
            connected_at: Some("2026-03-01T09:00:00Z".to_owned()),
            direction: Direction::Both,
            calendar_id: Some("primary".to_owned()),
            last_sync: Some("2026-03-02T10:00:00Z".to_owned()),
            pending: 2,
            sync: SyncLine {
                state: SyncPhase::Idle,
                message: None,
            },
            held_deletes: HeldDeletes::default(),
            parked: Vec::new(),
        }
    }

    fn entry(id: i64, kind: ActivityKind, summary: &str) -> ActivityEntry {
        ActivityEntry {
            id,
            at: format!("2026-03-02T10:0{id}:00Z"),
            kind,
            side: None,
            appointment_id: Some("a1".to_owned()),
            summary: summary.to_owned(),
            transfer_id: None,
            detail: Some("Secret pricing call with ACME".to_owned()),
        }
    }

    #[test]
    fn the_report_has_the_facts_and_no_titles_or_details() {
        let activity = vec![
            entry(
                3,
                ActivityKind::Created,
                "Created “Lunch with Bob” in Google",
            ),
            entry(
                2,
                ActivityKind::Error,
                "“Secret pricing call with ACME” could not be synced: Google answered 500",
            ),
            entry(1, ActivityKind::Error, "Google could not be reached"),
        ];
        let status = status();
        let text = report(&DiagnosticsInput {
            version: "0.1.0",
            os: "linux x86_64",
            data_dir: Path::new("/home/a/.local/share/bookline"),
            log_dir: Path::new("/home/a/.local/share/bookline/logs"),
            status: &status,
            activity: &activity,
        });
        for fact in [
            "Bookline: 0.1.0",
            "OS: linux x86_64",
            "Data folder: /home/a/.local/share/bookline",
            "Log folder: /home/a/.local/share/bookline/logs",
            "Google account: connected",
            "Direction: both ways",
            "Last sync: 2026-03-02T10:00:00Z",
            "Waiting to be sent: 2",
            "2026-03-02T10:02:00Z “…” could not be synced: Google answered 500",
            "2026-03-02T10:01:00Z Google could not be reached",
        ] {
            assert!(text.contains(fact), "{fact:?} missing in:\n{text}");
        }
        assert!(!text.contains("Secret pricing"), "{text}");
        assert!(!text.contains("Lunch with Bob"), "{text}");
        // Only errors are listed, and not the account's address.
        assert!(!text.contains("Created"), "{text}");
        assert!(!text.contains("ada@example.com"), "{text}");
    }

    #[test]
    fn no_errors_and_not_connected() {
        let mut status = status();
        status.connected = false;
        let text = report(&DiagnosticsInput {
            version: "0.1.0",
            os: "linux",
            data_dir: Path::new("/d"),
            log_dir: Path::new("/d/logs"),
            status: &status,
            activity: &[],
        });
        assert!(text.contains("Google account: not connected"));
        assert!(text.contains("Recent errors: none"));
    }

    #[test]
    fn the_os_names_the_distribution_when_it_can() {
        let release = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_words("linux", "x86_64", Some(release)),
            "linux x86_64 (Debian GNU/Linux 12 (bookworm))"
        );
        assert_eq!(os_words("macos", "aarch64", None), "macos aarch64");
    }

    #[test]
    fn quoted_titles_are_replaced() {
        assert_eq!(redact_quoted("no title here"), "no title here");
        assert_eq!(
            redact_quoted("Deleted “Q3 “big” deal” in Google"),
            "Deleted “…” in Google"
        );
        assert_eq!(redact_quoted("broken “half"), "broken “…");
        assert_eq!(redact_quoted("”odd“ order"), "”odd“…");
    }
}
