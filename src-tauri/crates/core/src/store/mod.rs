//! The CRM store: one SQLite file (WAL) holding appointments, the outbox of work for the
//! sync engine, and settings. Every operation is one transaction; a user's change and
//! the outbox row announcing it commit together or not at all.
//!
//! `Store` is `Send + Sync`: the desktop shell shares one behind an `Arc`, the CLI opens
//! its own. Both may run at once — WAL lets readers proceed during a write, write
//! transactions start `IMMEDIATE` so two writers queue on the busy timeout instead of
//! failing half-way.

mod appointments;
mod bookings;
mod error;
mod occurrences;
mod outbox;
#[cfg(test)]
mod query_plans;
mod series;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, SchemaVersion, M};

pub use crate::validation::ChangeSource;
pub use appointments::MAX_PAGE;
pub use bookings::BookingRow;
pub use error::{Result, StoreError};
pub use occurrences::{OccurrenceReport, UnexpandedSeries};
pub use outbox::{OutboxEntry, OutboxOp};

/// The schema, one file per version. Append only: a released file never changes, since
/// databases in the field already ran it.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_appointments.sql"),
    include_str!("../../migrations/0002_search.sql"),
    include_str!("../../migrations/0003_sync.sql"),
    include_str!("../../migrations/0004_list_indices.sql"),
    include_str!("../../migrations/0005_search_queue.sql"),
    include_str!("../../migrations/0006_zero_length_events.sql"),
    include_str!("../../migrations/0007_link_google_text.sql"),
    include_str!("../../migrations/0008_backfill_sent.sql"),
    include_str!("../../migrations/0009_links_rowid.sql"),
    include_str!("../../migrations/0010_parked.sql"),
    include_str!("../../migrations/0011_source_event_id.sql"),
    include_str!("../../migrations/0012_held_deletes.sql"),
    include_str!("../../migrations/0013_transfer_activity.sql"),
    include_str!("../../migrations/0014_bookings.sql"),
    include_str!("../../migrations/0015_search_mark.sql"),
];

/// Versions (1-based) that rebuild a table: they run with foreign keys off (SQLite's
/// documented procedure) and must pass `PRAGMA foreign_key_check` before they commit.
const TABLE_REBUILDS: &[usize] = &[6];

/// Settings key present while a Google account is connected: the account service's
/// email setting (`account::SETTING_EMAIL`, written on connect, removed on disconnect).
/// The list shows per-row sync states only while it is set.
pub const GOOGLE_ACCOUNT_SETTING: &str = "google.email";

/// How long a write waits for another process (the CLI while the app runs) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema version a database has after `Store::open`.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The embedded migrations, for tools and tests that need to build an older schema.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .enumerate()
            .map(|(i, sql)| {
                let m = M::up(sql);
                if TABLE_REBUILDS.contains(&(i + 1)) {
                    m.foreign_key_check()
                } else {
                    m
                }
            })
            .collect(),
    )
}

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    migrations_applied: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creating parent folders, and
    /// brings its schema up to date, each migration in its own transaction.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let fail = |action| move |e| StoreError::sqlite(action, path, e);
        let mut conn = Connection::open(path).map_err(fail("open the database"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(fail("configure the database"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(fail("configure the database"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode; continuing with {mode}");
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )
        .map_err(fail("configure the database"))?;
        let migrations_applied = migrate(&mut conn, path)?;
        // Notes left by a writer that committed without `Store::write` (see
        // `flush_search`). Only written when there are some, so opening a file on a full
        // disk still works; if this fails the next write indexes them.
        if let Err(e) = flush_search_on_open(&mut conn) {
            tracing::warn!(error = %e, "could not bring the search index up to date on open");
        }
        // Lets SQLite refresh the planner statistics it finds stale (cheap; what the
        // SQLite docs recommend for long-lived connections). It may write (ANALYZE), so
        // on a full disk it fails: the statistics are an optimisation, not a reason to
        // refuse the user their data.
        if let Err(e) = conn.execute_batch("PRAGMA optimize = 0x10002;") {
            tracing::warn!(error = %e, "could not refresh the query planner's statistics");
        }
        if migrations_applied > 0 {
            tracing::info!(
                path = %path.display(),
                migrations_applied,
                version = SCHEMA_VERSION,
                "database schema updated"
            );
        }
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            migrations_applied,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many migrations `open` ran (0 when the file was already current).
    pub fn migrations_applied_on_open(&self) -> usize {
        self.migrations_applied
    }

    /// The schema version stored in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<usize> {
        self.read(|conn| {
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |row| row.get(0))
                .map_err(|e| self.error("read the schema version", e))?;
            Ok(usize::try_from(v).unwrap_or(0))
        })
    }

    /// Runs `f` in one `IMMEDIATE` transaction, committed if `f` succeeds. For other
    /// parts of bookline-core (sync links, activity log) that add their own tables.
    pub fn write<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.error(action, e))?;
        let value = f(&tx)?;
        flush_search(&tx).map_err(|e| self.error(action, e))?;
        tx.commit().map_err(|e| self.error(action, e))?;
        Ok(value)
    }

    /// A larger page cache while the guard lives, for a transfer: it writes thousands of
    /// rows into the appointments, links and job tables and their indexes, and SQLite's
    /// default 2 MiB cache made it read the same index pages back again and again. The
    /// size it had comes back (and the memory goes) when the guard drops, so Bookline in
    /// the tray keeps the small cache.
    ///
    /// The write-ahead log is also let grow to `BULK_AUTOCHECKPOINT` pages before a
    /// commit folds it into the database: a page of 2,500 imported events writes more
    /// than SQLite's default 1,000, so nearly every commit paid a checkpoint, the last
    /// one too, when no read is left to hide it behind. A transfer checkpoints between
    /// pages instead (`Store::checkpoint`, while the next page is on its way); what the
    /// last page wrote is folded in by a later commit, after the guard has dropped.
    pub fn bulk_cache(&self) -> BulkCache<'_> {
        let enlarge = |c: &Connection| -> rusqlite::Result<(i64, i64)> {
            let cache = c.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
            let autocheckpoint = c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
            c.execute_batch(&format!(
                "PRAGMA cache_size = -{BULK_CACHE_KIB}; \
                 PRAGMA wal_autocheckpoint = {BULK_AUTOCHECKPOINT};"
            ))?;
            Ok((cache, autocheckpoint))
        };
        let restore_to = match enlarge(&self.lock()) {
            Ok(before) => Some(before),
            Err(e) => {
                tracing::warn!(error = %e, "could not enlarge the page cache for a transfer");
                None
            }
        };
        BulkCache {
            store: self,
            restore_to,
        }
    }

    /// Folds the write-ahead log into the database as far as no reader holds it back
    /// (`PASSIVE`: never waits), so the next commit starts the log over. For a transfer
    /// between two pages (`Store::bulk_cache`). A checkpoint that fails is only logged:
    /// the next one, or SQLite's own, does the work.
    pub fn checkpoint(&self) {
        let run = |c: &Connection| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(e) = run(&self.lock()) {
            tracing::warn!(error = %e, "could not checkpoint the write-ahead log");
        }
    }

    /// Runs `f` with the connection for reads.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&conn)
    }

    /// Maps a SQLite error met while doing `action` (a phrase after "Bookline could not").
    pub fn error(&self, action: &'static str, err: rusqlite::Error) -> StoreError {
        StoreError::sqlite(action, &self.path, err)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its transaction (rolled back), so the
        // connection is still consistent; keep serving instead of poisoning every caller.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The page cache of a transfer (`Store::bulk_cache`), in KiB.
const BULK_CACHE_KIB: u32 = 16 * 1024;

/// How many pages the write-ahead log may hold before a commit of a transfer checkpoints
/// it (`Store::bulk_cache`; SQLite's default is 1,000): room for a page of events
/// (~1,300 pages for 2,500), and still a bound (16 MiB) on a log no one checkpoints.
const BULK_AUTOCHECKPOINT: u32 = 4000;

/// Gives the connection its page cache size and checkpoint threshold back
/// (`Store::bulk_cache`).
pub struct BulkCache<'a> {
    store: &'a Store,
    /// `PRAGMA cache_size` and `PRAGMA wal_autocheckpoint` before; `None` when they were
    /// not changed.
    restore_to: Option<(i64, i64)>,
}

impl Drop for BulkCache<'_> {
    fn drop(&mut self) {
        let Some((size, autocheckpoint)) = self.restore_to else {
            return;
        };
        // shrink_memory frees what the smaller cache no longer holds.
        let restore = |c: &Connection| {
            c.execute_batch(&format!(
                "PRAGMA cache_size = {size}; PRAGMA wal_autocheckpoint = {autocheckpoint}; \
                 PRAGMA shrink_memory;"
            ))
        };
        if let Err(e) = restore(&self.store.lock()) {
            tracing::warn!(error = %e, "could not give the page cache its size back");
        }
    }
}

/// Brings the search index up to date with the rows changed in this transaction: the
/// rows above `search_mark` (new since the last flush, migration 15) and the rows noted
/// in `search_pending` by the triggers (edits and deletes of indexed rows).
/// Removes the text the index held for the noted rows and adds what the rows hold now,
/// each as one statement over all of them. Per transaction instead of per row, so a sync
/// page of thousands of rows written under per-item savepoints indexes once (FTS5 writes
/// a segment at every savepoint once touched, which made per-row triggers a third of an
/// import's time).
fn flush_search(conn: &Connection) -> rusqlite::Result<()> {
    if !search_behind(conn)? {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO appointment_search \
         (appointment_search, rowid, title, lead_name, lead_email, lead_phone) \
         SELECT 'delete', row_key, title, lead_name, lead_email, lead_phone \
         FROM search_pending WHERE indexed = 1",
    )?
    .execute([])?;
    // The two sets are apart: the triggers note only rows at or below the mark.
    conn.prepare_cached(
        "INSERT INTO appointment_search (rowid, title, lead_name, lead_email, lead_phone) \
         SELECT a.row_key, a.title, a.lead_name, a.lead_email, a.lead_phone \
         FROM search_pending p JOIN appointments a ON a.row_key = p.row_key \
         UNION ALL \
         SELECT row_key, title, lead_name, lead_email, lead_phone FROM appointments \
         WHERE row_key > (SELECT indexed_upto FROM search_mark WHERE id = 1)",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM search_pending")?
        .execute([])?;
    // The highest key there is, lower than before if the highest rows were deleted: the
    // key SQLite gives the next row is then above the mark (migration 15).
    conn.prepare_cached(
        "UPDATE search_mark SET indexed_upto = \
         (SELECT COALESCE(MAX(row_key), 0) FROM appointments) WHERE id = 1",
    )?
    .execute([])?;
    Ok(())
}

/// Whether rows wait to be indexed (`flush_search`).
fn search_behind(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM search_pending) \
         OR EXISTS (SELECT 1 FROM appointments \
                    WHERE row_key > (SELECT indexed_upto FROM search_mark WHERE id = 1))",
    )?
    .query_row([], |r| r.get(0))
}

fn flush_search_on_open(conn: &mut Connection) -> rusqlite::Result<()> {
    if search_behind(conn)? {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        flush_search(&tx)?;
        tx.commit()?;
    }
    Ok(())
}

/// Applies pending migrations one by one; returns how many ran.
fn migrate(conn: &mut Connection, path: &Path) -> Result<usize> {
    let migrations = migrations();
    let current = match migrations
        .current_version(conn)
        .map_err(|e| migration_error(path, e))?
    {
        SchemaVersion::NoneSet => 0,
        SchemaVersion::Inside(v) => v.get(),
        SchemaVersion::Outside(v) => {
            return Err(StoreError::NewerSchema {
                found: v.get(),
                known: SCHEMA_VERSION,
            })
        }
    };
    if current >= SCHEMA_VERSION {
        return Ok(0);
    }
    // A table rebuild drops the old table: with foreign keys on, that would delete (and
    // cascade from) every row the new table's references still point at. The pragma
    // cannot change inside a transaction, so it is switched around the whole run, and
    // back on whatever happens.
    conn.execute_batch("PRAGMA foreign_keys = OFF;")
        .map_err(|e| StoreError::sqlite("update the database schema", path, e))?;
    let result = (current + 1..=SCHEMA_VERSION).try_for_each(|version| {
        // `to_latest` would run all pending files in one transaction; one per file keeps
        // every completed step even if a later one fails (e.g. disk full).
        migrations
            .to_version(conn, version)
            .map_err(|e| migration_error(path, e))
    });
    let restored = conn
        .execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(|e| StoreError::sqlite("update the database schema", path, e));
    result?;
    restored?;
    Ok(SCHEMA_VERSION.saturating_sub(current))
}

/// Disk full, locks and damaged files read the same during a migration as elsewhere.
fn migration_error(path: &Path, err: rusqlite_migration::Error) -> StoreError {
    match err {
        rusqlite_migration::Error::RusqliteError { err, .. } => {
            StoreError::sqlite("update the database schema", path, err)
        }
        source => StoreError::Migration { source },
    }
}

/// Now, as the store's columns keep time: milliseconds since the epoch (UTC).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A time column read back; a value out of range is a bad row, not a panic.
pub(crate) fn from_ms(ms: i64) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::BadRow(format!("time {ms} is out of range")))
}
