//! The outbox: work for the sync engine, appended in the same transaction as the user's
//! change so a crash can never lose a change or send one that was rolled back.
//!
//! Consumers read entries in `seq` order and may coalesce by `appointment_id` (the
//! latest entry wins: an `upsert` sends the row as it is now, a `delete` removes it).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::from_ms;
use super::{Result, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxOp {
    Upsert,
    Delete,
}

impl OutboxOp {
    fn as_str(self) -> &'static str {
        match self {
            OutboxOp::Upsert => "upsert",
            OutboxOp::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub appointment_id: String,
    pub op: OutboxOp,
    pub enqueued_at: DateTime<Utc>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

pub(super) fn enqueue(
    tx: &Transaction<'_>,
    store: &Store,
    appointment_id: &str,
    op: OutboxOp,
    now_ms: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox (appointment_id, op, enqueued_at) VALUES (?1, ?2, ?3)",
        params![appointment_id, op.as_str(), now_ms],
    )
    .map_err(|e| store.error("queue the change for Google", e))?;
    Ok(())
}

impl Store {
    /// Queues an `upsert` of `appointment_id` inside the caller's transaction: for
    /// changes that are not edits of the row (e.g. new privacy settings change what its
    /// Google event shows).
    pub(crate) fn queue_upsert_in(&self, tx: &Transaction<'_>, appointment_id: &str) -> Result<()> {
        enqueue(tx, self, appointment_id, OutboxOp::Upsert, super::now_ms())
    }

    /// Queues a `delete` of `appointment_id` inside the caller's transaction: for a
    /// deletion made while the direction did not send it (widening sends it now).
    pub(crate) fn queue_delete_in(&self, tx: &Transaction<'_>, appointment_id: &str) -> Result<()> {
        enqueue(tx, self, appointment_id, OutboxOp::Delete, super::now_ms())
    }

    /// Drops the entries queued up to `until` (connecting: what was queued before is
    /// old, and only a transfer moves old items).
    pub(crate) fn outbox_forget_before_in(
        &self,
        tx: &Transaction<'_>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        tx.execute(
            "DELETE FROM outbox WHERE enqueued_at <= ?1",
            params![until.timestamp_millis()],
        )
        .map_err(|e| self.error("forget changes queued before connecting", e))?;
        Ok(())
    }

    /// Drops every entry (Remove Google Account: nothing is to be sent any more).
    pub(crate) fn outbox_forget_all_in(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute("DELETE FROM outbox", [])
            .map_err(|e| self.error("forget the changes waiting for Google", e))?;
        Ok(())
    }

    /// Entries waiting to be sent (the `pending` of `bookline status`).
    pub fn pending_outbox_count(&self) -> Result<u64> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(|e| self.error("count pending changes", e))
        })
    }

    /// Up to `limit` entries due at `now` (never tried, or their retry time has come),
    /// oldest first.
    pub fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxEntry>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, appointment_id, op, enqueued_at, attempts, last_error, \
                     next_attempt_at FROM outbox \
                     WHERE next_attempt_at IS NULL OR next_attempt_at <= ?1 \
                     ORDER BY seq LIMIT ?2",
                )
                .map_err(|e| self.error("read pending changes", e))?;
            let raws = stmt
                .query_map(params![now.timestamp_millis(), limit], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<i64>>(6)?,
                    ))
                })
                .map_err(|e| self.error("read pending changes", e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.error("read pending changes", e))?;
            raws.into_iter()
                .map(
                    |(seq, appointment_id, op, enqueued, attempts, last_error, next)| {
                        let op = match op.as_str() {
                            "upsert" => OutboxOp::Upsert,
                            "delete" => OutboxOp::Delete,
                            other => {
                                return Err(StoreError::BadRow(format!(
                                    "unknown outbox op \"{other}\""
                                )))
                            }
                        };
                        Ok(OutboxEntry {
                            seq,
                            appointment_id,
                            op,
                            enqueued_at: from_ms(enqueued)?,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            last_error,
                            next_attempt_at: next.map(from_ms).transpose()?,
                        })
                    },
                )
                .collect()
        })
    }

    /// Removes an entry the sync engine has applied.
    pub fn outbox_complete(&self, seq: i64) -> Result<()> {
        self.write("mark the change as sent", |tx| {
            tx.execute("DELETE FROM outbox WHERE seq = ?1", [seq])
                .map_err(|e| self.error("mark the change as sent", e))?;
            Ok(())
        })
    }

    /// Records a failed attempt and when to try again.
    pub fn outbox_failed(&self, seq: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        self.write("record the failed attempt", |tx| {
            self.outbox_failed_in(tx, seq, error, retry_at)
        })
    }

    /// `outbox_failed` inside the caller's transaction.
    pub(crate) fn outbox_failed_in(
        &self,
        tx: &Transaction<'_>,
        seq: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()> {
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
             next_attempt_at = ?3 WHERE seq = ?1",
            params![seq, error, retry_at.timestamp_millis()],
        )
        .map_err(|e| self.error("record the failed attempt", e))?;
        Ok(())
    }

    /// `outbox_complete` inside the caller's transaction.
    pub(crate) fn outbox_complete_in(&self, tx: &Transaction<'_>, seq: i64) -> Result<()> {
        tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")
            .and_then(|mut stmt| stmt.execute([seq]))
            .map_err(|e| self.error("mark the change as sent", e))?;
        Ok(())
    }

    /// How many times the entry was tried and failed (0 for an entry that is gone).
    pub(crate) fn outbox_attempts_in(&self, conn: &Connection, seq: i64) -> Result<u32> {
        conn.prepare_cached("SELECT attempts FROM outbox WHERE seq = ?1")
            .and_then(|mut stmt| stmt.query_row([seq], |r| r.get::<_, i64>(0)).optional())
            .map(|n| n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
            .map_err(|e| self.error("read pending changes", e))
    }

    /// Marks the entries as tried now (`next_attempt_at`, where not set yet) before their
    /// inserts leave: a set `next_attempt_at` on an upsert means "an insert may have
    /// reached Google", even when the process died before the answer was recorded.
    pub(crate) fn outbox_mark_tried(&self, seqs: &[i64], now: DateTime<Utc>) -> Result<()> {
        self.write("record the change as being sent", |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE outbox SET next_attempt_at = ?2 \
                     WHERE seq = ?1 AND next_attempt_at IS NULL",
                )
                .map_err(|e| self.error("record the change as being sent", e))?;
            for seq in seqs {
                stmt.execute(params![seq, now.timestamp_millis()])
                    .map_err(|e| self.error("record the change as being sent", e))?;
            }
            Ok(())
        })
    }

    /// Whether an upsert of the appointment was ever tried (failed, or marked by
    /// `outbox_mark_tried`).
    pub(crate) fn outbox_upsert_tried_in(
        &self,
        conn: &Connection,
        appointment_id: &str,
    ) -> Result<bool> {
        conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE appointment_id = ?1 AND op = 'upsert' \
             AND (attempts > 0 OR next_attempt_at IS NOT NULL))",
        )
        .and_then(|mut stmt| stmt.query_row([appointment_id], |r| r.get(0)))
        .map_err(|e| self.error("read pending changes", e))
    }

    /// Every entry of the appointment, due or not, oldest first.
    pub(crate) fn outbox_seqs_of_in(
        &self,
        conn: &Connection,
        appointment_id: &str,
    ) -> Result<Vec<i64>> {
        conn.prepare_cached("SELECT seq FROM outbox WHERE appointment_id = ?1 ORDER BY seq")
            .and_then(|mut stmt| {
                stmt.query_map([appointment_id], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()
            })
            .map_err(|e| self.error("read pending changes", e))
    }

    /// Drops the queued deletes of an appointment (a held deletion is their record now).
    pub(crate) fn outbox_forget_deletes_of_in(
        &self,
        tx: &Transaction<'_>,
        appointment_id: &str,
    ) -> Result<()> {
        tx.execute(
            "DELETE FROM outbox WHERE appointment_id = ?1 AND op = 'delete'",
            [appointment_id],
        )
        .map_err(|e| self.error("settle the queued delete", e))?;
        Ok(())
    }

    /// Whether any delete is waiting.
    pub(crate) fn outbox_any_delete_in(&self, conn: &Connection) -> Result<bool> {
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE op = 'delete')")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .map_err(|e| self.error("read pending changes", e))
    }

    /// Whether a delete of this appointment is waiting.
    pub(crate) fn outbox_delete_pending_in(
        &self,
        conn: &Connection,
        appointment_id: &str,
    ) -> Result<bool> {
        conn.prepare_cached(
            "SELECT 1 FROM outbox WHERE appointment_id = ?1 AND op = 'delete' LIMIT 1",
        )
        .and_then(|mut stmt| stmt.exists([appointment_id]))
        .map_err(|e| self.error("read pending changes", e))
    }
}
