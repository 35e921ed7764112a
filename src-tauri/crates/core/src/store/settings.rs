//! Small settings as JSON values by key (account email, connected_at, direction, …), in
//! the same file as the data they describe so both change atomically with it.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::now_ms;
use super::{Result, Store, StoreError};

impl Store {
    /// The value stored under `key`, or `None` if never set.
    pub fn get_setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let json: Option<String> = self.read(|conn| {
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.error("read a setting", e))
        })?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|source| StoreError::Setting {
                key: key.to_string(),
                source,
            })
        })
        .transpose()
    }

    pub fn set_setting<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        self.write("save a setting", |tx| self.set_setting_in(tx, key, value))
    }

    /// `get_setting` on the caller's connection or transaction.
    pub(crate) fn get_setting_in<T: DeserializeOwned>(
        &self,
        conn: &Connection,
        key: &str,
    ) -> Result<Option<T>> {
        let json: Option<String> = conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.error("read a setting", e))?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|source| StoreError::Setting {
                key: key.to_string(),
                source,
            })
        })
        .transpose()
    }

    /// `set_setting` inside the caller's transaction.
    pub(crate) fn set_setting_in<T: Serialize + ?Sized>(
        &self,
        tx: &Transaction<'_>,
        key: &str,
        value: &T,
    ) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|source| StoreError::Setting {
            key: key.to_string(),
            source,
        })?;
        tx.execute(
            "INSERT INTO settings (key, value, updated_at_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at_ms = excluded.updated_at_ms",
            params![key, json, now_ms()],
        )
        .map_err(|e| self.error("save a setting", e))?;
        Ok(())
    }

    /// `remove_setting` inside the caller's transaction.
    pub(crate) fn remove_setting_in(&self, tx: &Transaction<'_>, key: &str) -> Result<bool> {
        tx.execute("DELETE FROM settings WHERE key = ?1", [key])
            .map(|n| n > 0)
            .map_err(|e| self.error("remove a setting", e))
    }

    /// Forgets `key`; returns whether it was set.
    pub fn remove_setting(&self, key: &str) -> Result<bool> {
        self.write("remove a setting", |tx| self.remove_setting_in(tx, key))
    }
}
