//! Logs go to a daily-rotated file in the log dir (never to the terminal, which belongs to
//! the CLI's output), at most `KEEP_FILES` files of at most `MAX_BYTES_PER_DAY` each, so
//! a sync loop gone wrong cannot fill a salesperson's disk. Nothing logged here or
//! elsewhere in the shell carries a token.

use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use chrono::{NaiveDate, Utc};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

/// Log files kept before the oldest is deleted (one per day).
const KEEP_FILES: usize = 7;
/// A day's file stops growing here; the rest of that day's lines are dropped (after one
/// line saying so).
const MAX_BYTES_PER_DAY: u64 = 10 * 1024 * 1024;
const CAP_NOTICE: &[u8] =
    b"bookline: this day's log reached its size limit; later lines of the day are dropped\n";

/// Whether a line still fits in the day's file.
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Write,
    /// The first line over the limit: write the notice instead.
    Notice,
    Drop,
}

/// The bytes written to the current day's file (the appender names files by UTC date).
#[derive(Debug)]
struct DailyCap {
    day: NaiveDate,
    written: u64,
    limit: u64,
    noticed: bool,
}

impl DailyCap {
    fn admit(&mut self, today: NaiveDate, len: u64) -> Admit {
        if today != self.day {
            // A new day, a new file.
            *self = DailyCap {
                day: today,
                written: 0,
                limit: self.limit,
                noticed: false,
            };
        }
        // Once the day is over its limit, a shorter line must not slip in after the notice.
        if self.noticed {
            Admit::Drop
        } else if self.written + len <= self.limit {
            self.written += len;
            Admit::Write
        } else {
            self.noticed = true;
            Admit::Notice
        }
    }
}

/// The rolling appender with the daily cap in front of it. Each `write` is one formatted
/// event (the non-blocking worker writes them whole).
struct CappedWriter<W> {
    inner: W,
    cap: DailyCap,
}

impl<W: Write> Write for CappedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.cap.admit(Utc::now().date_naive(), buf.len() as u64) {
            Admit::Write => self.inner.write_all(buf)?,
            Admit::Notice => self.inner.write_all(CAP_NOTICE)?,
            Admit::Drop => {}
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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
    // Another process (the CLI beside the window) may have written today's file already.
    let today = Utc::now().date_naive();
    let written =
        std::fs::metadata(log_dir.join(format!("bookline.{}.log", today.format("%Y-%m-%d"))))
            .map(|m| m.len())
            .unwrap_or(0);
    let capped = CappedWriter {
        inner: appender,
        cap: DailyCap {
            day: today,
            written,
            limit: MAX_BYTES_PER_DAY,
            noticed: false,
        },
    };
    let (writer, guard) = tracing_appender::non_blocking(capped);
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

/// The window's log guard: its event loop ends the process with `exit` once the
/// `RunEvent::Exit` handler returns, so no destructor runs and lines still in the
/// non-blocking writer's queue (the last ones: "quitting: sync stopped") would be lost.
static KEPT_UNTIL_EXIT: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Keeps `guard` until `flush` (the window's way out).
pub fn keep_until_exit(guard: Option<WorkerGuard>) {
    *KEPT_UNTIL_EXIT
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = guard;
}

/// Writes out every line logged so far and ends file logging (the guard's drop waits for
/// the writer, bounded by tracing-appender). Lines logged after this are dropped.
pub fn flush() {
    let guard = KEPT_UNTIL_EXIT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("a date")
    }

    #[test]
    fn a_day_stops_at_its_limit_with_one_notice_and_the_next_day_starts_fresh() {
        let mut cap = DailyCap {
            day: day(2),
            written: 90,
            limit: 100,
            noticed: false,
        };
        assert_eq!(cap.admit(day(2), 10), Admit::Write);
        assert_eq!(cap.admit(day(2), 1), Admit::Notice);
        assert_eq!(cap.admit(day(2), 1), Admit::Drop);
        assert_eq!(cap.admit(day(2), 0), Admit::Drop);
        assert_eq!(cap.admit(day(3), 60), Admit::Write);
        assert_eq!(cap.admit(day(3), 40), Admit::Write);
        assert_eq!(cap.admit(day(3), 1), Admit::Notice);
    }

    #[test]
    fn the_writer_passes_lines_until_the_cap_then_drops_them() {
        let mut writer = CappedWriter {
            inner: Vec::new(),
            cap: DailyCap {
                day: Utc::now().date_naive(),
                written: 0,
                limit: 12,
                noticed: false,
            },
        };
        for line in ["first\n", "second\n", "third\n", "fourth\n"] {
            assert_eq!(writer.write(line.as_bytes()).expect("write"), line.len());
        }
        let mut expected = b"first\n".to_vec();
        expected.extend_from_slice(CAP_NOTICE);
        assert_eq!(writer.inner, expected);
    }

    /// What `flush` promises the window's exit: the lines logged up to it are in the file
    /// when it returns, however busy the writer thread is.
    #[test]
    fn flush_writes_every_line_logged_before_it() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("flush.log");
        let file = std::fs::File::create(&path).expect("the log file");
        let (writer, guard) = tracing_appender::non_blocking(file);
        keep_until_exit(Some(guard));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..2_000 {
                tracing::info!("line {i}");
            }
            tracing::info!("quitting: sync stopped");
        });
        flush();
        let text = std::fs::read_to_string(&path).expect("read the log");
        assert_eq!(text.lines().count(), 2_001);
        assert!(
            text.ends_with("quitting: sync stopped\n"),
            "{}",
            &text[text.len() - 80..]
        );
    }
}
