//! `bookline demo`: the built-in Google emulator, in-process, with seeded demo data and
//! its state kept in the data dir, so Bookline can be tried without a Google Cloud client.
//!
//! With a window, consent is left to the emulator's consent page, which Connect With
//! Google opens in the system browser like the real one. Headless (`demo --headless`),
//! consent is automatic and this module plays the browser's part itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gcal_emulator::{Emulator, EmulatorOptions};
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::account::{AccountService, AppStatus, CalendarChoice, Readiness};
use crate::error::{AppError, ErrorCode};
use crate::google::Endpoints;
use crate::paths;
use crate::secrets::SecretStore;
use crate::store::Store;

/// The emulator's state file inside the data dir.
pub const EMULATOR_STATE_FILE: &str = "demo-google-state.json";

/// How long the headless demo waits for its own "browser".
const HEADLESS_TIMEOUT: Duration = Duration::from_secs(30);

/// Who answers the emulator's consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoConsent {
    /// The user, in the system browser (the GUI demo).
    Browser,
    /// The emulator allows at once (headless demo, tests).
    AutoAllow,
}

/// A running emulator and the endpoints that point Bookline at it.
pub struct DemoEnvironment {
    emulator: Emulator,
    endpoints: Endpoints,
    state_file: PathBuf,
}

impl fmt::Debug for DemoEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoEnvironment")
            .field("base_url", &self.emulator.base_url())
            .field("state_file", &self.state_file)
            .finish()
    }
}

fn emulator_error(what: &str, e: impl fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::Internal,
        format!("The built-in Google emulator {what}: {e}"),
    )
}

impl DemoEnvironment {
    /// Starts the emulator on a free 127.0.0.1 port with the demo account
    /// (`demo@example.com`) seeded, loading and saving its state in `data_dir`.
    pub async fn start(data_dir: &Path, consent: DemoConsent) -> Result<Self, AppError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("Bookline could not create {}: {e}", data_dir.display()),
            )
        })?;
        let state_file = data_dir.join(EMULATOR_STATE_FILE);
        let emulator = Emulator::start(EmulatorOptions {
            port: 0,
            seed_demo: true,
            state_file: Some(state_file.clone()),
        })
        .await
        .map_err(|e| emulator_error("did not start", e))?;
        let endpoints = Endpoints::from_base(emulator.base_url()).map_err(AppError::from)?;
        let auto = match consent {
            DemoConsent::Browser => serde_json::Value::Null,
            DemoConsent::AutoAllow => json!("allow"),
        };
        let answer = reqwest::Client::new()
            .post(format!("{}/_emulator/consent", emulator.base_url()))
            .json(&json!({ "auto": auto }))
            .send()
            .await
            .map_err(|e| emulator_error("did not answer", e))?;
        if !answer.status().is_success() {
            return Err(emulator_error(
                "refused the consent setting",
                answer.status(),
            ));
        }
        Ok(Self {
            emulator,
            endpoints,
            state_file,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        self.emulator.base_url()
    }

    pub fn state_file(&self) -> &Path {
        &self.state_file
    }

    pub fn into_parts(self) -> (Emulator, Endpoints) {
        (self.emulator, self.endpoints)
    }

    /// Stops the emulator and saves its state.
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}

/// Plays the browser for an emulator with automatic consent: opens the authorization URL
/// without following the redirect, then delivers the redirect to the loopback listener.
pub async fn follow_consent(auth_url: &Url) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let consent = http
        .get(auth_url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !consent.status().is_redirection() {
        return Err(format!(
            "the consent page answered {} instead of redirecting (is auto-consent on?)",
            consent.status()
        ));
    }
    let location = consent
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("the consent redirect has no Location")?
        .to_owned();
    let page = http
        .get(&location)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !page.status().is_success() {
        return Err(format!("the loopback listener answered {}", page.status()));
    }
    Ok(())
}

/// What `bookline demo --headless` did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub base_url: String,
    pub data_dir: PathBuf,
    /// A sign-in ran now (false: the account from an earlier run still worked).
    pub signed_in: bool,
    pub calendars: Vec<CalendarChoice>,
    pub status: AppStatus,
    /// What happened, one sentence per step.
    pub steps: Vec<String>,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The headless demo: emulator with auto-consent, connect (unless an earlier run's
/// account still works), list the calendars, report. The emulator is stopped (state
/// saved) before returning. `secrets` is where the refresh token goes — the OS keyring
/// (`KeyringSecretStore`) in the real app.
pub async fn run_headless_demo(
    data_dir: &Path,
    secrets: Arc<dyn SecretStore>,
) -> Result<DemoReport, AppError> {
    let env = DemoEnvironment::start(data_dir, DemoConsent::AutoAllow).await?;
    let result = headless_steps(&env, data_dir, secrets).await;
    env.shutdown().await;
    result
}

async fn headless_steps(
    env: &DemoEnvironment,
    data_dir: &Path,
    secrets: Arc<dyn SecretStore>,
) -> Result<DemoReport, AppError> {
    let mut steps = vec![format!(
        "Started the built-in Google emulator at {} (state in {}).",
        env.base_url(),
        env.state_file().display()
    )];
    let store = Arc::new(Store::open(&paths::database_path(data_dir)).map_err(AppError::from)?);
    let account = AccountService::new(store, secrets, env.endpoints().clone(), None, true)?;
    let signed_in = account.readiness() != Readiness::Ready;
    if signed_in {
        let cancel = CancellationToken::new();
        let browser_failed = cancel.clone();
        let status = account
            .connect(
                |url| {
                    let url = url.clone();
                    tokio::spawn(async move {
                        if let Err(e) = follow_consent(&url).await {
                            tracing::warn!("the demo's browser step failed: {e}");
                            browser_failed.cancel();
                        }
                    });
                    Ok(())
                },
                |_| {},
                HEADLESS_TIMEOUT,
                cancel,
            )
            .await?;
        steps.push(format!(
            "Connected With Google as {} (consent given automatically); the sign-in is in \
             the system keyring.",
            status.email.as_deref().unwrap_or("?")
        ));
    } else {
        steps.push(format!(
            "Already connected as {} from an earlier run.",
            account.email()?.unwrap_or_default()
        ));
    }
    let calendars = account.list_calendars().await?;
    steps.push(format!(
        "Google calendars: {}.",
        calendars
            .iter()
            .map(|c| if c.primary {
                format!("{} (primary)", c.summary)
            } else {
                c.summary.clone()
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let status = account.status()?;
    steps.push(format!(
        "Status: connected={}, needs_reconnect={}, connected_at={}, pending={}.",
        status.connected,
        status.needs_reconnect,
        status.connected_at.as_deref().unwrap_or("-"),
        status.pending
    ));
    Ok(DemoReport {
        base_url: env.base_url().to_owned(),
        data_dir: data_dir.to_path_buf(),
        signed_in,
        calendars,
        status,
        steps,
    })
}
