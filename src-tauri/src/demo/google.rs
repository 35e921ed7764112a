//! `bookline demo`'s Google: the built-in emulator, in-process, with seeded demo data and
//! its state kept in the data dir, so Bookline can be tried without a Google Cloud client.
//! Wired here, in the app crate, and handed to `bookline_core::App` as endpoints, an
//! OAuth client and a shutdown hook: the core knows nothing of the emulator.
//!
//! With a window, consent is left to the emulator's consent page, which Connect With
//! Google opens in the system browser like the real one. Headless (`demo --headless`),
//! consent is automatic and this module plays the browser's part itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bookline_core::account::{AppStatus, CalendarChoice, Readiness};
use bookline_core::app::{App, AppOptions};
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::google::Endpoints;
use bookline_core::oauth::{follow_consent, OAuthClientConfig};
use bookline_core::secrets::SecretStore;
use bookline_core::sync::backfill::{BackfillPreview, BackfillRequest};
use bookline_core::sync::{Direction, SyncReport};
use gcal_emulator::{Emulator, EmulatorOptions};
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The emulator's state file inside the data dir.
pub const EMULATOR_STATE_FILE: &str = "demo-google-state.json";

/// The OAuth client used against the built-in emulator (it accepts any client).
pub const DEMO_CLIENT_ID: &str = "bookline-demo.apps.googleusercontent.com";
pub const DEMO_CLIENT_SECRET: &str = "bookline-demo-secret";

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

    /// Stops the emulator and saves its state.
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }

    /// Options that point an `App` at this emulator with the demo's OAuth client; the
    /// app's shutdown stops the emulator and saves its state at once (its own autosave
    /// runs only every 5 s, so a change made just before quitting would be lost).
    pub fn into_app_options(self, options: AppOptions) -> AppOptions {
        AppOptions {
            endpoints: Some(self.endpoints.clone()),
            oauth_client: Some(OAuthClientConfig::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)),
            demo: true,
            on_shutdown: Some(Box::new(move || Box::pin(self.shutdown()))),
            ..options
        }
    }
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
    /// One ongoing-sync pass (only items new since connecting move by themselves);
    /// `demo --headless --json` prints it beside the report.
    #[serde(skip)]
    pub sync: SyncReport,
    /// A transfer dry run in both directions (older items; nothing written); printed
    /// beside the report too.
    #[serde(skip)]
    pub backfill_preview: BackfillPreview,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The headless demo: the emulator with auto-consent, and through the one application
/// API the window uses: connect (unless an earlier run's account still works), list the
/// calendars, one sync pass, a transfer preview. The emulator is stopped (state saved)
/// before returning. `secrets` is where the refresh token goes — the OS keyring in the
/// real app.
pub async fn run_headless_demo(
    data_dir: &Path,
    secrets: Arc<dyn SecretStore>,
) -> Result<DemoReport, AppError> {
    let env = DemoEnvironment::start(data_dir, DemoConsent::AutoAllow).await?;
    let base_url = env.base_url().to_owned();
    let state_file = env.state_file().to_path_buf();
    let app = App::open(env.into_app_options(AppOptions {
        secrets: Some(secrets),
        holder: "bookline demo --headless".to_owned(),
        ..AppOptions::new(data_dir.to_path_buf())
    }))
    .await?;
    let result = headless_steps(&app, &base_url, &state_file, data_dir).await;
    app.close().await;
    result
}

async fn headless_steps(
    app: &App,
    base_url: &str,
    state_file: &Path,
    data_dir: &Path,
) -> Result<DemoReport, AppError> {
    let mut steps = vec![format!(
        "Started the built-in Google emulator at {base_url} (state in {}).",
        state_file.display()
    )];
    let signed_in = app.account().readiness() != Readiness::Ready;
    if signed_in {
        let cancel = CancellationToken::new();
        let browser_failed = cancel.clone();
        let status = app
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
            app.account().email()?.unwrap_or_default()
        ));
    }
    let calendars = app.list_calendars().await?;
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
    let status = app.status()?;
    steps.push(format!(
        "Status: connected={}, needs_reconnect={}, connected_at={}, pending={}.",
        status.connected,
        status.needs_reconnect,
        status.connected_at.as_deref().unwrap_or("-"),
        status.pending
    ));
    let cancel = CancellationToken::new();
    let sync = app.sync_once(false, &cancel, |_| {}).await?;
    let backfill_preview = app
        .transfer_preview(
            &BackfillRequest {
                direction: Direction::Both,
                since: None,
                until: None,
            },
            &cancel,
        )
        .await?;
    Ok(DemoReport {
        base_url: base_url.to_owned(),
        data_dir: data_dir.to_path_buf(),
        signed_in,
        calendars,
        status,
        steps,
        sync,
        backfill_preview,
    })
}
