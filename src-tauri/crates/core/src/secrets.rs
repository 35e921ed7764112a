//! Where the Google refresh token lives: the OS keyring, and nowhere else.
//!
//! `SecretStore` is a trait so unit tests can use `MemorySecretStore` (the keyring crate's
//! own mock store does not share entries between `Entry` objects, so it cannot stand in for
//! a real store). `KeyringSecretStore` is the real one: Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows. When no keyring is reachable it fails with
//! `ErrorCode::Keyring`; there is deliberately no plain-text fallback.
//!
//! The trait is synchronous because the keyring calls block (D-Bus round trips, possibly an
//! unlock prompt). Async callers use [`load`], [`save`] and [`remove`], which run the call
//! on tokio's blocking pool.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::error::{AppError, ErrorCode};
use crate::platform::{keyring_store_name, Os};

/// The keyring "service" under which every Bookline secret is filed; the "user" is the
/// Google account's email.
pub const KEYRING_SERVICE: &str = "bookline";

/// A string that must never be printed: `Debug` and `Display` show `[redacted]`.
/// Reading it takes an explicit `expose()`, which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Storage for one secret per account.
pub trait SecretStore: Send + Sync {
    /// The secret stored for `account`, or `None` when there is none.
    fn get(&self, account: &str) -> Result<Option<String>, AppError>;
    /// Store (or replace) the secret for `account`.
    fn set(&self, account: &str, secret: &str) -> Result<(), AppError>;
    /// Delete the secret for `account`; deleting a missing entry is not an error.
    fn delete(&self, account: &str) -> Result<(), AppError>;
}

/// `store.get(account)` on the blocking pool.
pub async fn load(store: Arc<dyn SecretStore>, account: &str) -> Result<Option<Secret>, AppError> {
    let account = account.to_owned();
    run_blocking(move || store.get(&account).map(|value| value.map(Secret::new))).await
}

/// `store.set(account, secret)` on the blocking pool.
pub async fn save(
    store: Arc<dyn SecretStore>,
    account: &str,
    secret: &Secret,
) -> Result<(), AppError> {
    let account = account.to_owned();
    let secret = secret.clone();
    run_blocking(move || store.set(&account, secret.expose())).await
}

/// `store.delete(account)` on the blocking pool.
pub async fn remove(store: Arc<dyn SecretStore>, account: &str) -> Result<(), AppError> {
    let account = account.to_owned();
    run_blocking(move || store.delete(&account)).await
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) => Err(AppError::new(
            ErrorCode::Internal,
            format!("The keyring call did not finish: {join}"),
        )),
    }
}

/// The OS keyring through the `keyring` crate (v1 API: the platform's native store).
#[derive(Debug, Clone)]
pub struct KeyringSecretStore {
    service: String,
}

impl Default for KeyringSecretStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyringSecretStore {
    /// Secrets filed under the service name "bookline".
    pub fn new() -> Self {
        Self::with_service(KEYRING_SERVICE)
    }

    /// Secrets filed under another service name (tests use their own, so they never touch
    /// a real Bookline entry).
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    /// Whether the platform keyring could be reached. The keyring crate connects once per
    /// process, so a keyring started later is only seen after a restart.
    pub fn check_available() -> Result<(), AppError> {
        keyring::Entry::store_status()
            .as_ref()
            .map(|_| ())
            .map_err(keyring_error)
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, AppError> {
        if account.is_empty() {
            return Err(AppError::new(
                ErrorCode::Internal,
                "A keyring entry needs an account name",
            ));
        }
        keyring::Entry::new(&self.service, account).map_err(|e| keyring_error(&e))
    }
}

impl SecretStore for KeyringSecretStore {
    fn get(&self, account: &str) -> Result<Option<String>, AppError> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), AppError> {
        self.entry(account)?
            .set_password(secret)
            .map_err(|e| keyring_error(&e))
    }

    fn delete(&self, account: &str) -> Result<(), AppError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(&e)),
        }
    }
}

/// Turns a keyring error into a sentence, naming this OS's keyring.
fn keyring_error(error: &keyring::Error) -> AppError {
    keyring_error_on(Os::current(), error)
}

/// Turns a keyring error into a sentence that names `os`'s own keyring, so the user knows
/// where to look. Written out per variant because some variants carry the secret's bytes
/// (`BadEncoding`, `BadDataFormat`), and their `Debug` must never reach a message or a log.
fn keyring_error_on(os: Os, error: &keyring::Error) -> AppError {
    use keyring::Error as E;
    const UNAVAILABLE: &str = "The system keyring is not available";
    let store = keyring_store_name(os);
    let what_to_do = match os {
        Os::Linux => "start or unlock it and try again",
        // Credential Manager and the Keychain are always there; what fails is access.
        Os::Windows | Os::MacOs => "check that it lets Bookline in and try again",
    };
    let how = format!(
        "Bookline keeps your Google sign-in only in the system keyring ({store}); {what_to_do}."
    );
    let message = match error {
        E::NoDefaultStore => format!("{UNAVAILABLE}. {how}"),
        E::PlatformFailure(inner) => format!("{UNAVAILABLE} ({inner}). {how}"),
        E::NoStorageAccess(inner) => {
            format!("The system keyring is locked or refused access ({inner}). {how}")
        }
        E::NoEntry => "No saved sign-in was found in the system keyring.".to_owned(),
        E::BadEncoding(_) | E::BadDataFormat(_, _) => {
            "The saved sign-in in the system keyring is damaged; reconnect Google.".to_owned()
        }
        E::BadStoreFormat(what) => format!("The system keyring is damaged: {what}"),
        E::TooLong(field, limit) => {
            format!("The keyring refused the entry: {field} is longer than {limit}")
        }
        E::Invalid(field, why) => format!("The keyring refused the entry: {field} {why}"),
        E::Ambiguous(_) => "The system keyring holds several Bookline entries for this account; \
             remove them in the keyring manager and reconnect."
            .to_owned(),
        E::NotSupportedByStore(what) => {
            format!("The system keyring does not support this: {what}")
        }
        _ => format!("{UNAVAILABLE}. {how}"),
    };
    AppError::new(ErrorCode::Keyring, message)
}

/// An in-memory store for tests. `unavailable()` makes one that fails every call like a
/// missing keyring does, so callers' error paths can be tested without D-Bus tricks.
#[derive(Default)]
pub struct MemorySecretStore {
    entries: Mutex<HashMap<String, String>>,
    unavailable: bool,
}

impl fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("MemorySecretStore")
            .field("entries", &count)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl MemorySecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn unavailable() -> Self {
        Self {
            entries: Mutex::default(),
            unavailable: true,
        }
    }

    fn with_entries<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, String>) -> T,
    ) -> Result<T, AppError> {
        if self.unavailable {
            return Err(keyring_error(&keyring::Error::NoDefaultStore));
        }
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| AppError::new(ErrorCode::Internal, "The secret store lock is poisoned"))?;
        Ok(f(&mut entries))
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, account: &str) -> Result<Option<String>, AppError> {
        self.with_entries(|e| e.get(account).cloned())
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), AppError> {
        self.with_entries(|e| {
            e.insert(account.to_owned(), secret.to_owned());
        })
    }

    fn delete(&self, account: &str) -> Result<(), AppError> {
        self.with_entries(|e| {
            e.remove(account);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("ya29.very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "ya29.very-secret");
    }

    #[test]
    fn memory_store_round_trip_and_delete_missing() {
        let store = MemorySecretStore::new();
        assert_eq!(store.get("a@example.com").unwrap(), None);
        store.set("a@example.com", "one").unwrap();
        store.set("a@example.com", "two").unwrap();
        assert_eq!(store.get("a@example.com").unwrap().as_deref(), Some("two"));
        store.delete("a@example.com").unwrap();
        store.delete("a@example.com").unwrap();
        assert_eq!(store.get("a@example.com").unwrap(), None);
    }

    #[test]
    fn unavailable_store_says_keyring_in_words() {
        let store = MemorySecretStore::unavailable();
        let err = store.set("a@example.com", "x").unwrap_err();
        assert_eq!(err.code, ErrorCode::Keyring);
        assert!(err
            .message
            .starts_with("The system keyring is not available"));
    }

    #[test]
    fn the_keyring_message_names_the_store_of_each_os() {
        let failure = || keyring::Error::NoStorageAccess("refused".into());
        let windows = keyring_error_on(Os::Windows, &failure()).message;
        assert!(windows.contains("Windows Credential Manager"), "{windows}");
        assert!(!windows.contains("GNOME"), "{windows}");
        let mac = keyring_error_on(Os::MacOs, &failure()).message;
        assert!(mac.contains("Keychain Access"), "{mac}");
        assert!(!mac.contains("GNOME"), "{mac}");
        let linux = keyring_error_on(Os::Linux, &keyring::Error::NoDefaultStore).message;
        assert!(linux.contains("GNOME Keyring"), "{linux}");
        assert!(linux.contains("start or unlock it"), "{linux}");
    }

    #[test]
    fn damaged_entry_message_does_not_carry_bytes() {
        let err = keyring_error(&keyring::Error::BadEncoding(b"refresh-xyz".to_vec()));
        assert!(!err.message.contains("refresh-xyz"));
        assert!(!format!("{err:?}").contains("refresh-xyz"));
    }

    #[tokio::test]
    async fn async_helpers_run_on_blocking_pool() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
        save(store.clone(), "b@example.com", &Secret::new("tok"))
            .await
            .unwrap();
        let got = load(store.clone(), "b@example.com").await.unwrap();
        assert_eq!(got.as_ref().map(Secret::expose), Some("tok"));
        remove(store.clone(), "b@example.com").await.unwrap();
        assert!(load(store, "b@example.com").await.unwrap().is_none());
    }
}
