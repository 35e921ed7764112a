//! The Google side of the command line: connect, status, settings, sync, backfill,
//! disconnect and the headless demo. Each command builds the same `App` context the
//! window uses, so a command behaves exactly as the matching button.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use bookline_core::account::{AppStatus, DisconnectReport, Readiness, CONNECT_TIMEOUT};
use bookline_core::app::{App, AppOptions};
use bookline_core::secrets::KeyringSecretStore;
use bookline_core::sync::backfill::{
    BackfillPreview, BackfillProgress, BackfillRequest, ProgressState,
};
use bookline_core::sync::calendar_change::CalendarChangeChoice;
use bookline_core::sync::engine::EngineOptions;
use bookline_core::sync::held::{self, HeldChoice};
use bookline_core::sync::settings::{self, SyncSettings};
use bookline_core::sync::{Direction, SyncReport};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::commands::report;
use crate::demo::google::run_headless_demo;

/// `--google-quota-per-minute`'s environment variable.
pub const QUOTA_ENV: &str = "BOOKLINE_GOOGLE_QUOTA_PER_MINUTE";

/// Where a command finds Google and the data.
pub struct Target {
    pub data_dir: PathBuf,
    pub google_base_url: Option<String>,
    /// `--google-quota-per-minute`: the engine's client-side quota instead of Google's 600.
    pub quota_per_minute: Option<u32>,
    /// Kept until the command ends, so buffered log lines are written.
    pub _log: Option<tracing_appender::non_blocking::WorkerGuard>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// A: both ways.
    Both,
    /// B: Google Calendar into Bookline only.
    GoogleToCrm,
    /// C: Bookline into Google Calendar only.
    CrmToGoogle,
}

impl From<DirectionArg> for Direction {
    fn from(value: DirectionArg) -> Self {
        match value {
            DirectionArg::Both => Direction::Both,
            DirectionArg::GoogleToCrm => Direction::GoogleToCrm,
            DirectionArg::CrmToGoogle => Direction::CrmToGoogle,
        }
    }
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Do not open a browser: print the sign-in URL and wait for Google's redirect.
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Which way changes travel.
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// The Google calendar to sync with ("primary" or an id from the calendar list).
    #[arg(long, value_name = "ID")]
    pub calendar: Option<String>,
    /// With --calendar: move the events Bookline created to the new calendar.
    #[arg(long, requires = "calendar", conflicts_with = "keep_events")]
    pub move_events: bool,
    /// With --calendar: leave the linked events where they are, still synced there.
    #[arg(long, requires = "calendar")]
    pub keep_events: bool,
    /// How often the app checks Google, in seconds (15 to 86400).
    #[arg(long, value_name = "SECS")]
    pub poll_interval: Option<u32>,
    /// Title of events created in Google; `{title}` is the appointment's title and may be
    /// combined with `{lead_name}`.
    #[arg(long, value_name = "TEMPLATE")]
    pub title_template: Option<String>,
    /// Put the lead's name into the Google event's description.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub include_lead_name: Option<bool>,
    /// Put the lead's email into the Google event's description.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub include_lead_email: Option<bool>,
    /// Put the lead's phone into the Google event's description.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub include_lead_phone: Option<bool>,
    /// Start Bookline hidden in the tray when you log in. The login item belongs to the
    /// desktop app: the window adds it when it next starts (or at once, when changed there).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub start_at_login: Option<bool>,
    /// Print the settings as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Go ahead even when the pass would delete more than the delete guard allows, and
    /// apply the deletions held for a decision (Delete them).
    #[arg(long, conflicts_with = "keep")]
    pub yes: bool,
    /// Keep the items of the held deletions: restore each from the other side (Keep them).
    #[arg(long)]
    pub keep: bool,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Which way old items are copied.
    #[arg(long, value_enum)]
    pub direction: DirectionArg,
    /// First day included (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<NaiveDate>,
    /// Last day included (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<NaiveDate>,
    /// Only show what would be copied and linked.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Keep the appointments that came from Google.
    #[arg(long)]
    pub keep_imported: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{value:?} is not a date like 2026-01-31"))
}

/// Runs `work` on a fresh multi-threaded runtime with the app context open (real Google
/// or `--google-base-url`), closing the context whatever `work` returned.
fn with_app<T>(
    target: &Target,
    command: &str,
    work: impl AsyncFnOnce(&App) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut engine = EngineOptions::default();
        if let Some(n) = target.quota_per_minute {
            engine.quota_per_window = n;
        }
        let app = App::open(AppOptions {
            google_base_url: target.google_base_url.clone(),
            engine,
            holder: format!("`bookline {command}` in a terminal"),
            ..AppOptions::new(target.data_dir.clone())
        })
        .await?;
        let result = work(&app).await;
        app.close().await;
        result
    })
}

/// A token cancelled by Ctrl-C, so long work stops cleanly instead of being killed.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    cancel
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// `bookline connect [--no-browser]`.
pub fn connect(target: &Target, args: &ConnectArgs) -> anyhow::Result<()> {
    with_app(target, "connect", async |app| {
        if let Some(email) = app.account().email()? {
            if app.account().readiness() == Readiness::Ready {
                println!("Already connected as {email}.");
                return Ok(());
            }
            println!("Reconnecting {email}.");
        }
        let no_browser = args.no_browser;
        let status = app
            .connect(
                |url| {
                    if no_browser {
                        return Ok(());
                    }
                    // A machine without a browser still connects: the URL is on screen.
                    if let Err(e) = opener::open_browser(url.as_str()) {
                        println!("Could not open a browser ({e}); open the URL above yourself.");
                    }
                    Ok(())
                },
                |url| {
                    if no_browser {
                        println!("Open this URL: {url}");
                    } else {
                        println!("Opening your browser to sign in with Google. If it does not open, visit: {url}");
                    }
                    println!("Waiting for Google (Ctrl-C to cancel)…");
                },
                CONNECT_TIMEOUT,
                cancel_on_ctrl_c(),
            )
            .await?;
        println!(
            "Connected as {}",
            status.email.as_deref().unwrap_or("(unknown account)")
        );
        Ok(())
    })
}

/// `bookline status [--json]`.
pub fn status(target: &Target, args: &JsonArgs) -> anyhow::Result<()> {
    with_app(target, "status", async |app| {
        let status = app.status()?;
        if args.json {
            return print_json(&status);
        }
        print!("{}", describe_status(&status));
        Ok(())
    })
}

/// `bookline diagnostics`: the same text as the window's Copy diagnostics.
pub fn diagnostics(target: &Target) -> anyhow::Result<()> {
    with_app(target, "diagnostics", async |app| {
        print!("{}", app.diagnostics(env!("CARGO_PKG_VERSION"))?);
        Ok(())
    })
}

fn describe_status(s: &AppStatus) -> String {
    let mut text = String::new();
    match (&s.email, s.connected) {
        (Some(email), true) => text.push_str(&format!("Connected as {email}\n")),
        _ => text.push_str("Not connected to Google (run `bookline connect`).\n"),
    }
    if s.needs_reconnect {
        let why = s
            .sync
            .message
            .as_deref()
            .unwrap_or("Google refused the sign-in.");
        text.push_str(&format!("Needs reconnect: {why} Run `bookline connect`.\n"));
    }
    if !s.client_configured {
        text.push_str("No Google OAuth client is configured (see the README).\n");
    }
    text.push_str(&format!("Direction: {}\n", direction_words(s.direction)));
    if let Some(calendar) = &s.calendar_id {
        text.push_str(&format!("Calendar: {calendar}\n"));
    }
    text.push_str(&format!(
        "Last sync: {}\n",
        s.last_sync.as_deref().unwrap_or("never")
    ));
    text.push_str(&format!("Waiting to be sent: {}\n", s.pending));
    let held = &s.held_deletes;
    if held.total() > 0 {
        text.push_str(&format!(
            "{} ({} in Bookline, {} in Google). Run `bookline sync --yes` to delete them or \
             `bookline sync --keep` to keep them.\n",
            held::sentence(held.total()).trim_end_matches('.'),
            held.crm,
            held.google
        ));
        for item in &held.first {
            text.push_str(&format!("  - {}\n", item.title));
        }
    }
    for item in &s.parked {
        text.push_str(&format!(
            "Set aside (can't be stored): “{}” — {} (tried again when it changes in Google)\n",
            item.title, item.reason
        ));
    }
    text
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::Both => "both ways (A)",
        Direction::GoogleToCrm => "Google Calendar → Bookline only (B)",
        Direction::CrmToGoogle => "Bookline → Google Calendar only (C)",
    }
}

/// `bookline settings [...]`: shows the settings, or validates, saves and explains a change.
pub fn settings(target: &Target, args: &SettingsArgs) -> anyhow::Result<()> {
    with_app(target, "settings", async |app| {
        let current = settings::load(app.store()).map_err(report)?;
        let mut wanted = current.clone();
        if let Some(d) = args.direction {
            wanted.direction = d.into();
        }
        if let Some(c) = &args.calendar {
            wanted.calendar_id = c.trim().to_owned();
        }
        if let Some(p) = args.poll_interval {
            wanted.poll_interval_secs = p;
        }
        if let Some(t) = &args.title_template {
            wanted.title_template = t.clone();
        }
        if let Some(v) = args.include_lead_name {
            wanted.include_lead_name = v;
        }
        if let Some(v) = args.include_lead_email {
            wanted.include_lead_email = v;
        }
        if let Some(v) = args.include_lead_phone {
            wanted.include_lead_phone = v;
        }
        if let Some(v) = args.start_at_login {
            wanted.start_at_login = v;
        }
        if wanted == current {
            if args.json {
                return print_json(&current);
            }
            print!("{}", describe_settings(&current));
            return Ok(());
        }
        let choice = match (args.move_events, args.keep_events) {
            (true, _) => Some(CalendarChangeChoice::MoveEvents),
            (_, true) => Some(CalendarChangeChoice::KeepWhereTheyAre),
            _ => None,
        };
        if choice.is_none() && wanted.calendar_id != current.calendar_id {
            // The same decision the window asks for, in the words of this command's flags.
            let preview = app.calendar_change_preview(&wanted.calendar_id)?;
            if preview.needs_choice {
                bail!(
                    "{}",
                    preview.question(
                        "add --move-events to move",
                        "--keep-events to leave them where they are",
                    )
                );
            }
        }
        let change = app.save_settings(wanted, choice).await.map_err(report)?;
        if args.json {
            return print_json(&change.saved);
        }
        if let Some(r) = change.calendar_change.as_ref().filter(|r| !r.same_calendar) {
            println!(
                "Moved {} event(s) to {}; {} linked event(s) stay where they are.",
                r.moved, r.calendar_id, r.kept
            );
            for e in &r.errors {
                println!("{e}");
            }
        }
        for line in change_meaning(&change.previous, &change.saved) {
            println!("{line}");
        }
        Ok(())
    })
}

fn yes_no(v: bool) -> &'static str {
    if v {
        "yes"
    } else {
        "no"
    }
}

fn describe_settings(s: &SyncSettings) -> String {
    format!(
        "Direction: {}\nCalendar: {}\nPoll interval: {} s\nTitle template: {}\n\
         Lead name in Google events: {}\nLead email in Google events: {}\n\
         Lead phone in Google events: {}\nStart at login: {}\n",
        direction_words(s.direction),
        s.calendar_id,
        s.poll_interval_secs,
        s.title_template,
        yes_no(s.include_lead_name),
        yes_no(s.include_lead_email),
        yes_no(s.include_lead_phone),
        yes_no(s.start_at_login),
    )
}

/// One sentence per changed setting, saying what it means for the user's data.
fn change_meaning(old: &SyncSettings, new: &SyncSettings) -> Vec<String> {
    let mut lines = Vec::new();
    if old.direction != new.direction {
        lines.push(match new.direction {
            Direction::Both => format!(
                "Direction is now both ways: new and changed appointments go to Google calendar \
                 {}, and new and changed events there come into Bookline.",
                new.calendar_id
            ),
            Direction::GoogleToCrm => format!(
                "Direction is now Google → Bookline: events in {} come into Bookline; changes \
                 made in Bookline are no longer sent to Google.",
                new.calendar_id
            ),
            Direction::CrmToGoogle => format!(
                "Direction is now Bookline → Google: appointments go to {}; changes made in \
                 Google are no longer brought into Bookline.",
                new.calendar_id
            ),
        });
        let widened = [
            (
                new.direction.writes_google() && !old.direction.writes_google(),
                "appointments made in Bookline",
                "Google",
            ),
            (
                new.direction.writes_crm() && !old.direction.writes_crm(),
                "events made in Google",
                "Bookline",
            ),
        ];
        for (_, what, to) in widened.iter().filter(|w| w.0) {
            lines.push(format!(
                "The {what} since connecting that the old direction did not send go to {to} \
                 on the next sync."
            ));
        }
    }
    if old.calendar_id != new.calendar_id {
        lines.push(format!(
            "Bookline now syncs with the calendar {} from the next pass. Events it already put \
             into {} stay there.",
            new.calendar_id, old.calendar_id
        ));
    }
    if old.poll_interval_secs != new.poll_interval_secs {
        lines.push(format!(
            "While the app runs it checks Google every {} seconds.",
            new.poll_interval_secs
        ));
    }
    if old.privacy() != new.privacy() {
        lines.push(format!(
            "Events Bookline writes to Google from now on are titled {:?} and include the \
             lead's name: {}, email: {}, phone: {}.",
            new.title_template,
            yes_no(new.include_lead_name),
            yes_no(new.include_lead_email),
            yes_no(new.include_lead_phone)
        ));
    }
    if old.start_at_login != new.start_at_login {
        lines.push(if new.start_at_login {
            "Bookline will start in the tray when you log in (the app adds the login item \
             when it next starts)."
                .to_owned()
        } else {
            "Start at login: no. The app no longer adds its login item; turning it off in \
             the window's Calendar Sync Settings also removes one already there."
                .to_owned()
        });
    }
    lines
}

/// `bookline sync [--json]`.
pub fn sync(target: &Target, args: &SyncArgs) -> anyhow::Result<()> {
    with_app(target, "sync", async |app| {
        // Ctrl-C cancels the confirmed (deleting) pass cleanly; a plain pass just ends.
        let cancel = if args.yes {
            cancel_on_ctrl_c()
        } else {
            CancellationToken::new()
        };
        let report = app
            .sync_once(args.yes, &cancel, |owner| {
                eprintln!("Waiting: a sync is running in {owner}…")
            })
            .await?;
        let choice = match (args.yes, args.keep) {
            (true, _) => Some(HeldChoice::Delete),
            (_, true) => Some(HeldChoice::Keep),
            _ => None,
        };
        let mut report = report;
        if let (Some(choice), true) = (choice, report.held_deletes > 0) {
            let decided = app
                .resolve_held_deletes(choice, &cancel_on_ctrl_c(), |owner| {
                    eprintln!("Waiting: a sync is running in {owner}…")
                })
                .await?;
            report.absorb(decided);
        }
        if args.json {
            print_json(&report)?;
        } else {
            print!("{}", describe_sync(&report));
        }
        if !report.errors.is_empty() {
            bail!(
                "{} item(s) could not be synced and stay queued for the next pass",
                report.errors.len()
            );
        }
        if report.held_deletes > 0 {
            bail!(
                "{} Run `bookline sync --yes` to delete them or `bookline sync --keep` to keep them",
                held::sentence(report.held_deletes).trim_end_matches('.')
            );
        }
        Ok(())
    })
}

fn describe_sync(r: &SyncReport) -> String {
    let mut text = format!(
        "Google Calendar: {} created, {} updated, {} deleted\n\
         Bookline: {} created, {} updated, {} deleted\n",
        r.created_in_google,
        r.updated_in_google,
        r.deleted_in_google,
        r.created_in_crm,
        r.updated_in_crm,
        r.deleted_in_crm
    );
    if r.conflicts > 0 {
        text.push_str(&format!(
            "Conflicts resolved: {} (see the activity log)\n",
            r.conflicts
        ));
    }
    if r.booking_changes > 0 {
        // Meet links and the leads' answers: what a pass can change alone.
        text.push_str(&format!("Bookings changed: {}\n", r.booking_changes));
    }
    for answer in &r.lead_answers {
        text.push_str(&format!("Lead's answer: {}\n", answer.sentence));
    }
    for e in &r.errors {
        text.push_str(&format!("Error: {e}\n"));
    }
    if r.held_deletes > 0 {
        text.push_str(&format!(
            "Held for your decision: {} deletion(s)\n",
            r.held_deletes
        ));
    }
    text
}

/// `bookline backfill …`.
pub fn backfill(target: &Target, args: &BackfillArgs) -> anyhow::Result<()> {
    if let (Some(since), Some(until)) = (args.since, args.until) {
        if until < since {
            bail!("--until {until} is before --since {since}");
        }
    }
    with_app(target, "backfill", async |app| {
        let request = BackfillRequest {
            direction: args.direction.into(),
            since: args.since,
            until: args.until,
        };
        let cancel = cancel_on_ctrl_c();
        let unfinished = app.unfinished_transfer()?;
        if args.dry_run {
            let preview = app.transfer_preview(&request, &cancel).await?;
            if args.json {
                let mut value = serde_json::to_value(&preview)?;
                value["dry_run"] = json!(true);
                value["unfinished"] = serde_json::to_value(&unfinished)?;
                return print_json(&value);
            }
            print!("{}", describe_preview(&preview));
            if let Some(u) = &unfinished {
                println!(
                    "An earlier transfer is unfinished ({} of {} done); running backfill \
                     without --dry-run resumes it first.",
                    u.done, u.total
                );
            }
            return Ok(());
        }
        let ticket = app.begin_transfer(cancel)?;
        let shown = Progress::new(args.json);
        if let Some(u) = &unfinished {
            shown.line(&format!(
                "Resuming the unfinished transfer ({} of {} done); the direction and dates \
                 given now apply to the next one.",
                u.done, u.total
            ));
        }
        let result = app
            .transfer(
                ticket,
                &request,
                |p| shown.update(p),
                |owner| shown.line(&format!("Waiting: a sync is running in {owner}…")),
            )
            .await;
        shown.finish();
        let outcome = result?;
        let progress = outcome.progress;
        if args.json {
            let mut value = serde_json::to_value(&progress)?;
            value["resumed"] = json!(outcome.resumed);
            print_json(&value)?;
        } else {
            print!("{}", describe_progress(&progress));
        }
        match progress.state {
            ProgressState::Cancelled => bail!(
                "the transfer was cancelled after {} of {} items; run the same command again \
                 to resume it",
                progress.done,
                progress.total
            ),
            ProgressState::Failed => bail!(
                "the transfer stopped: {}",
                progress.message.as_deref().unwrap_or("unknown error")
            ),
            _ if progress.failed > 0 => bail!(
                "{} item(s) could not be transferred; run the command again to retry them",
                progress.failed
            ),
            _ => Ok(()),
        }
    })
}

fn describe_preview(p: &BackfillPreview) -> String {
    let mut text = format!(
        "Would create {} event(s) in Google Calendar and {} appointment(s) in Bookline.\n\
         Would link {} pair(s) that are already equal; {} already linked.\n",
        p.create_in_google, p.create_in_crm, p.matched_equal, p.already_linked
    );
    for c in &p.cannot_transfer {
        text.push_str(&format!("Cannot transfer {}: {}\n", c.count, c.reason));
    }
    text.push_str(&format!("Match rule: {}\n", p.match_rule));
    text
}

fn describe_progress(p: &BackfillProgress) -> String {
    let mut text = format!(
        "Created {} event(s) in Google Calendar and {} appointment(s) in Bookline; linked {}.\n",
        p.created_in_google, p.created_in_crm, p.linked
    );
    if p.failed > 0 {
        text.push_str(&format!("{} item(s) failed.\n", p.failed));
    }
    if let Some(m) = &p.message {
        text.push_str(&format!("{m}\n"));
    }
    text
}

/// Backfill progress: a bar on a terminal, plain lines otherwise (on stderr with
/// `--json`, so stdout stays one JSON document).
struct Progress {
    bar: Option<ProgressBar>,
    json: bool,
}

impl Progress {
    fn new(json: bool) -> Self {
        let bar = (!json && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} items  {msg}  (eta {eta})")
            {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, json }
    }

    fn line(&self, text: &str) {
        match (&self.bar, self.json) {
            (Some(bar), _) => bar.println(text),
            (None, true) => eprintln!("{text}"),
            (None, false) => println!("{text}"),
        }
    }

    fn update(&self, p: &BackfillProgress) {
        let counts = format!(
            "{} created in Google, {} in Bookline, {} linked, {} failed",
            p.created_in_google, p.created_in_crm, p.linked, p.failed
        );
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.total.into());
                bar.set_position(p.done.into());
                bar.set_message(counts);
            }
            None => self.line(&format!("{}/{} items: {counts}", p.done, p.total)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `bookline disconnect [--yes] [--keep-imported]`.
pub fn disconnect(target: &Target, args: &DisconnectArgs) -> anyhow::Result<()> {
    with_app(target, "disconnect", async |app| {
        let Some(email) = app.account().email()? else {
            bail!("no Google account is connected");
        };
        if !args.yes && !confirm(&email, args.keep_imported)? {
            bail!("nothing was changed");
        }
        let report = app.disconnect(args.keep_imported).await?;
        if args.json {
            return print_json(&report);
        }
        print!(
            "{}",
            describe_disconnect(&email, &report, args.keep_imported)
        );
        Ok(())
    })
}

/// Asks on the terminal; refuses without one, so a script never removes an account by
/// accident (it passes `--yes`).
fn confirm(email: &str, keep_imported: bool) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not on a terminal, so cannot ask for confirmation; pass --yes to remove the account"
        );
    }
    let imported = if keep_imported {
        "Appointments that came from Google are kept."
    } else {
        "Appointments that came from Google are removed from Bookline (they stay in Google)."
    };
    print!(
        "Remove the Google account {email}? Sync stops, Bookline's access is revoked at Google \
         and its sign-in deleted from the keyring. Appointments created in Bookline are kept. \
         {imported}\nType yes to continue: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

fn describe_disconnect(email: &str, r: &DisconnectReport, keep_imported: bool) -> String {
    let mut text = format!("Removed the Google account {email}.\n");
    if r.revoked {
        text.push_str("Google was told to forget Bookline's access.\n");
    } else if let Some(e) = &r.revoke_error {
        text.push_str(&format!("{e}\n"));
    }
    if keep_imported {
        text.push_str("Appointments that came from Google were kept.\n");
    } else {
        text.push_str(&format!(
            "Removed {} appointment(s) that came from Google (they are still in Google Calendar).\n",
            r.removed_appointments
        ));
    }
    text.push_str(&format!(
        "{} appointment(s) remain in Bookline.\n",
        r.kept_appointments
    ));
    text
}

/// `bookline demo --headless`: the emulator with automatic consent, connect, one sync
/// pass and a backfill dry run, each step printed.
pub fn headless_demo(data_dir: &Path, json_out: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let demo = runtime.block_on(run_headless_demo(
        data_dir,
        Arc::new(KeyringSecretStore::new()),
    ))?;
    if json_out {
        return print_json(&json!({
            "demo": demo,
            "sync": demo.sync,
            "backfill_preview": demo.backfill_preview,
        }));
    }
    print!("{demo}");
    println!("One sync pass (only items new since connecting move by themselves):");
    print!("{}", indent(&describe_sync(&demo.sync)));
    println!("Backfill dry run, both directions (older items; nothing written):");
    print!("{}", indent(&describe_preview(&demo.backfill_preview)));
    println!(
        "Open the demo window (`bookline demo`) and use Synchronize Google Calendar to copy them."
    );
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
