//! Logs go to a daily-rotated file in the log dir (never to the terminal, which belongs to
//! the CLI's output). Nothing logged here or elsewhere in the shell carries a token.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

/// Log files kept before the oldest is deleted (one per day).
const KEEP_FILES: usize = 7;

/// Starts file logging; the guard must live until exit so buffered lines are flushed.
/// Logging is a convenience: if the log dir cannot be created the app runs without it
/// and says so once on stderr.
pub fn init(log_dir: &Path) -> Option<WorkerGuard> {
    let appender = std::fs::create_dir_all(log_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            Builder::new()
                .rotation(Rotation::DAILY)
                .filename_prefix("bookline")
                .filename_suffix("log")
                .max_log_files(KEEP_FILES)
                .build(log_dir)
                .map_err(|e| e.to_string())
        });
    let appender = match appender {
        Ok(appender) => appender,
        Err(error) => {
            eprintln!(
                "bookline: logging disabled ({}): {error}",
                log_dir.display()
            );
            return None;
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("BOOKLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn"));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    // A second init (tests calling into the library twice) keeps the first subscriber.
    installed.ok().map(|()| guard)
}
