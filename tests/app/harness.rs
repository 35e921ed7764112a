//! What the app's tests share to drive the built binary against Google: the `bookline`
//! command with the emulator and an OAuth client in its environment, an emulator with a
//! fresh account, and `connect` with the test playing the user's browser.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use gcal_emulator::{Emulator, EmulatorOptions, MailKind};
use serde_json::{json, Value};

/// The built binary with the emulator and an OAuth client in its environment; every
/// output is kept so the test can check no token was ever printed.
pub struct Bookline {
    pub dir: PathBuf,
    pub base_url: String,
    pub outputs: Vec<String>,
}

impl Bookline {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookline"));
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env_remove("BOOKLINE_DATA_DIR")
            .env("BOOKLINE_GOOGLE_BASE_URL", &self.base_url)
            .env(
                "BOOKLINE_GOOGLE_CLIENT_ID",
                "cli-test.apps.googleusercontent.com",
            )
            .env("BOOKLINE_GOOGLE_CLIENT_SECRET", "cli-test-secret")
            // A browser must never open from a test.
            .env("BROWSER", "false")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&mut self, args: &[&str]) -> Output {
        let out = self
            .command(args)
            .output()
            .expect("the bookline binary runs");
        self.outputs
            .push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs
            .push(String::from_utf8_lossy(&out.stderr).into_owned());
        out
    }

    pub fn json(&mut self, args: &[&str]) -> Value {
        let out = self.run(args);
        super::success_json(args, &out)
    }

    pub fn list(&mut self) -> Vec<Value> {
        match self.json(&["appointments", "list", "--json"]) {
            Value::Array(items) => items,
            other => panic!("list --json printed {other}"),
        }
    }
}

/// `connect --no-browser`: reads the printed URL from the child's stdout and plays the
/// browser (the emulator consents automatically).
pub fn connect_playing_the_browser(app: &mut Bookline, rt: &tokio::runtime::Runtime, email: &str) {
    let mut child = app
        .command(&["connect", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("connect starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let url = loop {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("read connect's stdout");
        assert!(n > 0, "connect ended without printing a URL: {printed}");
        printed.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("Open this URL: ") {
            break url.to_owned();
        }
    };
    let url = reqwest::Url::parse(&url).expect("a URL");
    rt.block_on(bookline_core::oauth::follow_consent(&url))
        .expect("the browser step");
    stdout
        .read_to_string(&mut printed)
        .expect("the rest of connect's stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("connect's stderr");
    let exit = child.wait().expect("connect ends");
    app.outputs.push(printed.clone());
    app.outputs.push(stderr.clone());
    assert!(exit.success(), "connect failed: {stderr}");
    assert!(
        printed.contains(&format!("Connected as {email}")),
        "{printed}"
    );
}

/// The emulator of an app test. "Nothing is emailed without consent": when the test ends
/// — by `shutdown` or by dropping it — the emulator's "would have emailed" record
/// (`mail_outbox`, the children's writes included: they all talk to this one emulator)
/// must hold exactly the mails the test opted into (`expect_mail`); a test that opted into
/// none must also have written every event with `sendUpdates=none`. Every test that
/// starts its emulator here gets the check.
pub struct TestEmulator {
    emulator: Option<Emulator>,
    opted_in: std::sync::Mutex<Vec<(MailKind, Vec<String>)>>,
}

pub async fn start_emulator(opts: EmulatorOptions) -> TestEmulator {
    TestEmulator {
        emulator: Some(Emulator::start(opts).await.expect("the emulator starts")),
        opted_in: std::sync::Mutex::new(Vec::new()),
    }
}

impl TestEmulator {
    pub async fn shutdown(mut self) {
        if let Some(emulator) = self.emulator.take() {
            // A test that already failed keeps its own message.
            if !std::thread::panicking() {
                assert_mail(&emulator, &self.opted_in());
            }
            emulator.shutdown().await;
        }
    }

    /// The test consents to one mail of `kind` to `recipients` (the user asked for it).
    pub fn expect_mail(&self, kind: MailKind, recipients: &[&str]) {
        if let Ok(mut opted_in) = self.opted_in.lock() {
            opted_in.push((kind, recipients.iter().map(|r| (*r).to_owned()).collect()));
        }
    }

    fn opted_in(&self) -> Vec<(MailKind, Vec<String>)> {
        self.opted_in.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl std::ops::Deref for TestEmulator {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        self.emulator.as_ref().expect("the emulator is running")
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(emulator) = &self.emulator {
            if !std::thread::panicking() {
                assert_mail(emulator, &self.opted_in());
            }
        }
    }
}

/// Fails unless the would-be mails are exactly `opted_in`; with none opted into, every
/// event write must have carried `sendUpdates=none`.
pub fn assert_mail(emulator: &Emulator, opted_in: &[(MailKind, Vec<String>)]) {
    let sent: Vec<(MailKind, Vec<String>)> = emulator
        .mail_outbox()
        .into_iter()
        .map(|m| (m.kind, m.recipients))
        .collect();
    assert_eq!(
        sent, opted_in,
        "Google would have emailed other mails than the test consented to"
    );
    if opted_in.is_empty() {
        assert_no_mail(emulator);
    }
}

/// Fails unless every event write the emulator saw carried `sendUpdates=none`. Tests
/// that play a user writing in Google send `sendUpdates=none` too, so the tally is
/// Bookline's.
pub fn assert_no_mail(emulator: &Emulator) {
    let writes = emulator.writes_by_send_updates();
    // Printed for the record (`--no-capture`): what the run wrote, by sendUpdates.
    eprintln!("emulator writes by sendUpdates: {writes:?}");
    assert_eq!(
        writes.may_send_mail(),
        0,
        "Bookline wrote to Google without sendUpdates=none, which may email attendees: \
         {writes:?}"
    );
}

/// A fresh emulator (auto-consent) with one account; returns it, its base URL, the
/// account's email and a control access token for checking Google's side.
pub fn emulator_with_account(
    rt: &tokio::runtime::Runtime,
    state_file: Option<PathBuf>,
    port: u16,
) -> (TestEmulator, String, String, String) {
    let emulator = rt.block_on(start_emulator(EmulatorOptions {
        port,
        seed_demo: false,
        state_file,
    }));
    let base_url = emulator.base_url().to_owned();
    let http = reqwest::Client::new();
    // One keyring entry per account: a unique email keeps parallel tests apart.
    let email = format!(
        "rep-{}-{}@example.com",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let account: Value = rt.block_on(async {
        let consent = http
            .post(format!("{base_url}/_emulator/consent"))
            .json(&json!({ "auto": "allow" }))
            .send()
            .await
            .expect("consent");
        assert!(consent.status().is_success());
        http.post(format!("{base_url}/_emulator/accounts"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("account")
            .json()
            .await
            .expect("account JSON")
    });
    let token = account["access_token"].as_str().expect("token").to_owned();
    (emulator, base_url, email, token)
}
