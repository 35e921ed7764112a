//! In-memory state of the emulator: OAuth clients, accounts, grants, tokens, calendars and
//! events. Everything persisted by `--state FILE` lives in [`Data`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const DEFAULT_ACCESS_TTL_SECS: u64 = 3599;

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn rfc3339_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".into(),
    }
}

pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// A random token of `n` url-safe characters.
pub fn random_token(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A random base32hex id, as Google generates for events.
pub fn random_event_id() -> String {
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let mut rng = rand::rng();
    (0..26)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub sub: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub email: String,
    pub client_id: String,
    pub scope: String,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub email: String,
    /// The refresh token of the grant it was issued under.
    pub grant: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub email: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at_ms: i64,
    pub used: bool,
}

/// One stored event (a normal event, a recurring master, or an exception instance).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRec {
    pub res: Map<String, Value>,
    /// Value of the change counter at its last write: drives sync tokens.
    pub mod_seq: u64,
    #[serde(skip)]
    pub derived: Derived,
}

/// Values derived from `res` once per write so listing never re-parses JSON.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub json: Arc<str>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub updated_ms: i64,
    pub cancelled: bool,
    pub recurring: bool,
    pub recurring_event_id: Option<String>,
    /// Lower-cased text searched by `q`.
    pub text: String,
}

impl EventRec {
    pub fn id(&self) -> &str {
        self.res.get("id").and_then(Value::as_str).unwrap_or("")
    }
    pub fn str_field(&self, k: &str) -> Option<&str> {
        self.res.get(k).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calendar {
    pub id: String,
    pub owner: String,
    pub summary: String,
    pub description: String,
    pub time_zone: String,
    /// `owner` or `reader` (writes to a reader calendar answer 403).
    pub access_role: String,
    pub primary: bool,
    pub color_id: String,
    pub background_color: String,
    pub events: Vec<EventRec>,
    #[serde(skip)]
    pub index: HashMap<String, usize>,
    /// Sync tokens issued before this generation answer 410 fullSyncRequired.
    pub sync_generation: u64,
}

impl Calendar {
    pub fn rebuild_index(&mut self) {
        self.index = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id().to_string(), i))
            .collect();
    }
    pub fn get(&self, id: &str) -> Option<&EventRec> {
        self.index.get(id).map(|&i| &self.events[i])
    }
    pub fn writable(&self) -> bool {
        self.access_role == "owner" || self.access_role == "writer"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data {
    pub clients: BTreeMap<String, String>,
    pub accounts: Vec<Account>,
    /// refresh token → grant
    pub grants: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub codes: HashMap<String, AuthCode>,
    /// calendar id → calendar
    pub calendars: BTreeMap<String, Calendar>,
    /// Global change counter.
    pub seq: u64,
    pub etag_counter: u64,
    pub access_ttl_secs: u64,
    /// `Some("allow")`, `Some("deny")` or `None` (show the page and wait for a click).
    pub consent_auto: Option<String>,
    /// Every access and refresh token issued since the emulator started, revoked and
    /// expired ones included (not saved with the state): tests scan for each of them.
    #[serde(skip)]
    pub issued_tokens: Vec<String>,
    /// How far `POST /_emulator/clock` moved the emulator's clock ahead of the real one:
    /// what access-token lifetimes and quota windows are measured on, so tests advance
    /// time instead of sleeping it out.
    #[serde(skip)]
    pub clock_offset_ms: i64,
    /// Google's granular consent: the scopes the user leaves ticked (space-separated), or
    /// `None` for everything the app asked for. The code and the token response carry
    /// only those asked for that are also ticked.
    #[serde(default)]
    pub consent_scopes: Option<String>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            clients: BTreeMap::new(),
            accounts: Vec::new(),
            grants: HashMap::new(),
            access_tokens: HashMap::new(),
            codes: HashMap::new(),
            calendars: BTreeMap::new(),
            seq: 0,
            etag_counter: 0,
            access_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
            consent_auto: None,
            issued_tokens: Vec::new(),
            clock_offset_ms: 0,
            consent_scopes: None,
        }
    }
}

/// Tokens handed out for one grant.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// Scope of grants made by `POST /_emulator/accounts`: everything, so test tokens can call
/// any method, and every scope Bookline asks for by name (`calendar.events.freebusy` for
/// busy times among them).
pub const CONTROL_SCOPE: &str = "https://www.googleapis.com/auth/calendar https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy https://www.googleapis.com/auth/calendar.calendarlist.readonly openid https://www.googleapis.com/auth/userinfo.email";

/// What the consent flow grants when an authorization request names no scope: Bookline's.
pub const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy https://www.googleapis.com/auth/calendar.calendarlist.readonly openid https://www.googleapis.com/auth/userinfo.email";

impl Data {
    pub fn account(&self, email: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.email == email)
    }

    /// Creates the account with its three calendars if it does not exist yet.
    pub fn ensure_account(&mut self, email: &str) {
        if self.account(email).is_some() {
            return;
        }
        let n = self.accounts.len() + 1;
        let name = email.split('@').next().unwrap_or(email).to_string();
        self.accounts.push(Account {
            email: email.to_string(),
            sub: format!("1{:020}", 10_000_000_000u64 + n as u64 * 7_919),
            name: name.clone(),
        });
        let mk = |id: String, summary: String, role: &str, primary: bool, color: &str, bg: &str| {
            Calendar {
                id,
                owner: email.to_string(),
                summary,
                description: String::new(),
                time_zone: "UTC".into(),
                access_role: role.into(),
                primary,
                color_id: color.into(),
                background_color: bg.into(),
                events: Vec::new(),
                index: HashMap::new(),
                sync_generation: 0,
            }
        };
        let cals = [
            mk(
                email.to_string(),
                email.to_string(),
                "owner",
                true,
                "14",
                "#9fe1e7",
            ),
            mk(
                format!("team{n}.{name}@group.calendar.google.com"),
                "Team".into(),
                "owner",
                false,
                "9",
                "#7bd148",
            ),
            mk(
                format!("holidays{n}.{name}@group.v.calendar.google.com"),
                "Holidays".into(),
                "reader",
                false,
                "8",
                "#16a765",
            ),
        ];
        for c in cals {
            self.calendars.insert(c.id.clone(), c);
        }
    }

    /// Creates a secondary calendar owned by `owner` (`calendars.insert`).
    pub fn insert_calendar(
        &mut self,
        owner: &str,
        summary: &str,
        description: &str,
        time_zone: &str,
    ) -> &Calendar {
        let id = loop {
            let id = format!("c_{}@group.calendar.google.com", random_event_id());
            if !self.calendars.contains_key(&id) {
                break id;
            }
        };
        let cal = Calendar {
            id: id.clone(),
            owner: owner.to_string(),
            summary: summary.to_string(),
            description: description.to_string(),
            time_zone: time_zone.to_string(),
            access_role: "owner".into(),
            primary: false,
            color_id: "7".into(),
            background_color: "#42d692".into(),
            events: Vec::new(),
            index: HashMap::new(),
            sync_generation: 0,
        };
        self.calendars.entry(id).or_insert(cal)
    }

    pub fn issue_grant(&mut self, email: &str, client_id: &str, scope: &str) -> IssuedTokens {
        let refresh = format!("1//emu-{}", random_token(40));
        self.issued_tokens.push(refresh.clone());
        self.grants.insert(
            refresh.clone(),
            Grant {
                email: email.into(),
                client_id: client_id.into(),
                scope: scope.into(),
                revoked: false,
            },
        );
        let access = self.issue_access(email, &refresh);
        IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: self.access_ttl_secs,
            scope: scope.into(),
        }
    }

    /// The emulator's clock (the real one plus `clock_offset_ms`), in ms.
    pub fn clock_ms(&self) -> i64 {
        now_ms() + self.clock_offset_ms
    }

    pub fn issue_access(&mut self, email: &str, grant: &str) -> String {
        let token = format!("ya29.emu-{}", random_token(48));
        self.issued_tokens.push(token.clone());
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                email: email.into(),
                grant: grant.into(),
                expires_at_ms: self.clock_ms() + (self.access_ttl_secs as i64) * 1000,
            },
        );
        token
    }

    /// Revokes every grant (and its access tokens) of `email`.
    pub fn revoke_email(&mut self, email: &str) -> usize {
        let mut n = 0;
        for g in self.grants.values_mut() {
            if g.email == email && !g.revoked {
                g.revoked = true;
                n += 1;
            }
        }
        self.access_tokens.retain(|_, t| t.email != email);
        n
    }

    pub fn revoke_grant(&mut self, refresh: &str) {
        if let Some(g) = self.grants.get_mut(refresh) {
            g.revoked = true;
        }
        self.access_tokens.retain(|_, t| t.grant != refresh);
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn next_etag(&mut self) -> String {
        self.etag_counter += 1;
        format!("\"{}{:06}\"", now_ms(), self.etag_counter % 1_000_000)
    }

    /// Rebuilds indexes and derived values after loading from disk.
    pub fn rebuild(&mut self) {
        for cal in self.calendars.values_mut() {
            let tz = cal.time_zone.clone();
            for e in cal.events.iter_mut() {
                crate::events::derive(e, &tz);
            }
            cal.rebuild_index();
        }
    }
}

/// Persisted file format.
#[derive(Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    pub data: Data,
}

pub fn load_state(path: &std::path::Path) -> anyhow::Result<Option<Data>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let f: StateFile = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("state file {} is not valid: {e}", path.display()))?;
            let mut d = f.data;
            d.rebuild();
            Ok(Some(d))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "reading state file {}: {e}",
            path.display()
        )),
    }
}

/// Writes the state atomically (temp file + rename) so a crash never leaves half a file.
pub fn save_state(path: &std::path::Path, data: &Data) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&StateFileRef { version: 1, data })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[derive(Serialize)]
struct StateFileRef<'a> {
    version: u32,
    data: &'a Data,
}
