//! The command line (spec §5). No subcommand opens the window; every subcommand prints
//! its result (JSON with `--json`) and exits non-zero with a one-line error on failure.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use bookline_core::error::{AppError, ErrorCode};
use bookline_core::input::{
    parse_recurrence_arg, parse_timing, parse_window_bound, AppointmentJson,
};
use bookline_core::model::{
    Appointment, AppointmentInput, AppointmentRow, Booking, BookingRequest, ListQuery, Occurrence,
    OccurrenceScope, Period, Recurrence, Status, SyncState, Timing,
};
use bookline_core::paths;
use bookline_core::store::{ChangeSource, Store, StoreError};
use bookline_core::sync::booking;
use bookline_core::sync::settings;
use bookline_core::validation::ValidationError;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{not_found, report};

mod google;
use crate::gui::{self, GuiOptions};
use crate::window_process;
use crate::{demo, logging};

#[derive(Debug, Parser)]
#[command(
    name = "bookline",
    version,
    about = "Booked appointments in a local CRM, kept in sync with Google Calendar.",
    long_about = "Booked appointments in a local CRM, kept in sync with Google Calendar.\n\
                  Without a subcommand, opens the desktop app."
)]
pub struct Cli {
    /// Directory holding the database and logs (default: the OS data dir for Bookline).
    #[arg(long, global = true, env = "BOOKLINE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base URL of Google's OAuth and Calendar endpoints (the emulator's in tests and demo).
    #[arg(
        long,
        global = true,
        env = "BOOKLINE_GOOGLE_BASE_URL",
        value_name = "URL"
    )]
    pub google_base_url: Option<String>,
    /// Calendar API requests per minute Bookline allows itself (default: 600, Google's
    /// per-user quota). For tests and benchmarks against the emulator, whose quota can be
    /// raised (`POST /_emulator/quota`); against real Google keep the default.
    #[arg(
        long,
        global = true,
        env = google::QUOTA_ENV,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub google_quota_per_minute: Option<u32>,
    /// Start hidden in the tray (what the start-at-login entry passes; `gui` reads it).
    #[arg(long, hide = true)]
    pub minimized: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per process; boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, add, edit, cancel and delete appointments.
    #[command(subcommand)]
    Appointments(AppointmentsCommand),
    /// Run the Google OAuth + Calendar emulator alone; prints its base URL.
    Emulator(gcal_emulator::EmulatorArgs),
    /// Try Bookline without a Google account: the built-in Google emulator with demo
    /// data, sample appointments, and the app against them (in a data dir of its own).
    Demo(DemoArgs),
    /// Connect With Google: sign in in the browser (loopback OAuth).
    Connect(google::ConnectArgs),
    /// Whether Google is connected, the sync direction, calendar, last sync and queue.
    Status(google::JsonArgs),
    /// Show the Calendar Sync Settings, or change them.
    Settings(google::SettingsArgs),
    /// Run one ongoing-sync pass now.
    Sync(google::SyncArgs),
    /// Copy old appointments and events across (Synchronize Google Calendar).
    Backfill(google::BackfillArgs),
    /// Remove Google Account: stop syncing and forget the sign-in.
    Disconnect(google::DisconnectArgs),
    /// What support needs to know (version, OS, folders, connection, last sync, latest
    /// errors), to paste into a message. Holds no token and no appointment contents.
    Diagnostics,
    /// The window alone, as the running app starts it (its calls and events go through
    /// stdin and stdout): not for starting by hand.
    #[command(name = "window-process", hide = true)]
    WindowProcess,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// No window: connect with automatic consent, run a sync pass and a backfill dry run,
    /// print what happened and exit.
    #[arg(long)]
    pub headless: bool,
    /// With --headless, print the result as JSON.
    #[arg(long, requires = "headless")]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AppointmentsCommand {
    /// List appointments, or with --from/--to the occurrences in that window
    /// (recurring series expanded, exceptions applied).
    List(ListArgs),
    /// Book a new appointment.
    Add(AddArgs),
    /// Change an appointment; options not given keep their current value. With
    /// --occurrence, one occurrence of a recurring series (or, with --following, it and
    /// all after it; with --all, the whole series moved as the occurrence moves).
    Edit(EditArgs),
    /// Delete an appointment for good (with --occurrence: one occurrence, or with
    /// --following it and all after it).
    Delete(IdArgs),
    /// Mark an appointment as cancelled (it stays in the list); with --occurrence one
    /// occurrence, or with --following it and all after it.
    Cancel(IdArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Start of the window: YYYY-MM-DD (midnight in the local zone) or RFC 3339.
    #[arg(long, requires = "to", value_name = "DATE")]
    pub from: Option<String>,
    /// End of the window: YYYY-MM-DD (that whole day included) or RFC 3339 (exclusive).
    #[arg(long, requires = "from", value_name = "DATE")]
    pub to: Option<String>,
    /// Which part of the timeline (ignored with --from/--to).
    #[arg(long, value_enum, default_value_t = PeriodArg::All, conflicts_with = "from")]
    pub period: PeriodArg,
    /// Only appointments whose title or lead matches.
    #[arg(long, value_name = "TEXT", conflicts_with = "from")]
    pub search: Option<String>,
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PeriodArg {
    Upcoming,
    Past,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Booked,
    Cancelled,
    Done,
}

impl From<StatusArg> for Status {
    fn from(value: StatusArg) -> Self {
        match value {
            StatusArg::Booked => Status::Booked,
            StatusArg::Cancelled => Status::Cancelled,
            StatusArg::Done => Status::Done,
        }
    }
}

/// Options shared by `add` and `edit`.
#[derive(Debug, Args)]
pub struct Details {
    /// IANA time zone, e.g. Europe/Berlin (add: default the system's zone, else UTC).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub location: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub notes: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub lead_name: Option<String>,
    #[arg(long, value_name = "EMAIL")]
    pub lead_email: Option<String>,
    #[arg(long, value_name = "PHONE")]
    pub lead_phone: Option<String>,
    /// Recurrence, e.g. "FREQ=WEEKLY;BYDAY=MO" (the RRULE: prefix is optional;
    /// an empty value on edit removes the recurrence).
    #[arg(long, value_name = "RULE")]
    pub rrule: Option<String>,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Ask Google for a Meet link (an edit without it keeps an existing link).
    #[arg(long)]
    pub meet: bool,
    /// Add the lead as a guest: Google emails them an invitation from your account (the
    /// only write that may email anyone). Needs a valid --lead-email.
    #[arg(long)]
    pub invite_lead: bool,
    /// Print the appointment as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// Start: YYYY-MM-DDTHH:MM (in --timezone) or RFC 3339; YYYY-MM-DD with --all-day.
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// End, after the start; with --all-day the first day after the appointment.
    #[arg(long, value_name = "TIME")]
    pub end: String,
    /// Whole days instead of times.
    #[arg(long)]
    pub all_day: bool,
    #[command(flatten)]
    pub details: Details,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    pub id: String,
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// `--all-day` or `--all-day=false`.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub all_day: Option<bool>,
    #[command(flatten)]
    pub occurrence: OccurrenceArgs,
    /// With --occurrence: the whole series, moved by as much as the occurrence moves.
    #[arg(long, requires = "occurrence", conflicts_with = "following")]
    pub all: bool,
    /// The lead is invited: let Google email them this change (otherwise nobody is
    /// emailed).
    #[arg(long, conflicts_with = "occurrence")]
    pub notify_lead: bool,
    #[command(flatten)]
    pub details: Details,
}

/// Which occurrence of a recurring series a command applies to.
#[derive(Debug, Args)]
pub struct OccurrenceArgs {
    /// One occurrence of the series ID: its original start as `list --from/--to` shows it
    /// (`original_start` in --json), or a local time YYYY-MM-DDTHH:MM in the series' zone;
    /// YYYY-MM-DD for an all-day series.
    #[arg(long, value_name = "START")]
    pub occurrence: Option<String>,
    /// With --occurrence: that occurrence and all after it (the series is split there).
    #[arg(long, requires = "occurrence")]
    pub following: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: String,
    #[command(flatten)]
    pub occurrence: OccurrenceArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let started = Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match run(cli, started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bookline: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Help and version print as clap renders them; a usage mistake is one line on stderr
/// (clap's first line, without its "For more information" footer), exit code 2.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("bookline: {first} (see --help)");
    ExitCode::from(2)
}

/// The user sees one line: the outermost context and, for an `AppError`, its sentence.
fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli, started: Instant) -> anyhow::Result<()> {
    let cli_target = TargetArgs {
        data_dir: cli.data_dir.clone(),
        google_base_url: cli.google_base_url.clone(),
        quota_per_minute: cli.google_quota_per_minute,
    };
    match cli.command {
        Some(Command::Emulator(args)) => emulator(args),
        Some(Command::Appointments(command)) => {
            let data_dir = resolve_data_dir(cli.data_dir)?;
            let _log = logging::init(&paths::log_dir(&data_dir));
            let store = open_store(&data_dir)?;
            appointments(&store, command, &mut std::io::stdout().lock())
        }
        Some(Command::Demo(args)) => {
            // The demo keeps its sample data away from the user's real appointments
            // unless a data dir is given explicitly.
            let data_dir = match cli.data_dir {
                Some(dir) => dir,
                None => resolve_data_dir(None)?.join("demo"),
            };
            let log = logging::init(&paths::log_dir(&data_dir));
            let store = open_store(&data_dir)?;
            let seeded = demo::seed_if_empty(&store, &default_timezone())?;
            if !args.json {
                println!(
                    "Demo data in {} ({seeded} sample appointments added)",
                    data_dir.display()
                );
            }
            drop(store);
            if args.headless {
                return google::headless_demo(&data_dir, args.json);
            }
            window(
                GuiOptions {
                    data_dir,
                    google_base_url: cli.google_base_url,
                    demo: true,
                    quota_per_minute: cli.google_quota_per_minute,
                },
                started,
                log,
            )
        }
        Some(Command::Connect(args)) => google::connect(&target(&cli_target)?, &args),
        Some(Command::Status(args)) => google::status(&target(&cli_target)?, &args),
        Some(Command::Settings(args)) => google::settings(&target(&cli_target)?, &args),
        Some(Command::Sync(args)) => google::sync(&target(&cli_target)?, &args),
        Some(Command::Backfill(args)) => google::backfill(&target(&cli_target)?, &args),
        Some(Command::Disconnect(args)) => google::disconnect(&target(&cli_target)?, &args),
        Some(Command::Diagnostics) => google::diagnostics(&target(&cli_target)?),
        Some(Command::WindowProcess) => {
            let data_dir = resolve_data_dir(cli.data_dir)?;
            let log = logging::init(&paths::log_dir(&data_dir));
            logging::keep_until_exit(log);
            let ran = window_process::run_window(started);
            logging::flush();
            ran.context("the window failed")
        }
        None => {
            let data_dir = resolve_data_dir(cli.data_dir)?;
            let log = logging::init(&paths::log_dir(&data_dir));
            window(
                GuiOptions {
                    data_dir,
                    google_base_url: cli.google_base_url,
                    demo: false,
                    quota_per_minute: cli.google_quota_per_minute,
                },
                started,
                log,
            )
        }
    }
}

/// The window, with its log written out however it ends: its event loop ends the
/// process with `exit` (`logging::flush` runs in the exit handler), or `gui::run`
/// returns (an error before the loop started).
fn window(
    options: GuiOptions,
    started: Instant,
    log: Option<tracing_appender::non_blocking::WorkerGuard>,
) -> anyhow::Result<()> {
    logging::keep_until_exit(log);
    let ran = gui::run(options, started);
    logging::flush();
    ran.context("the window failed")
}

/// The global options a Google command needs.
struct TargetArgs {
    data_dir: Option<PathBuf>,
    google_base_url: Option<String>,
    quota_per_minute: Option<u32>,
}

/// The data dir (created) and Google endpoints for a Google command, with its log going
/// to the data dir's log file like the window's.
fn target(args: &TargetArgs) -> anyhow::Result<google::Target> {
    let data_dir = resolve_data_dir(args.data_dir.clone())?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let log = logging::init(&paths::log_dir(&data_dir));
    Ok(google::Target {
        data_dir,
        google_base_url: args.google_base_url.clone(),
        quota_per_minute: args.quota_per_minute,
        _log: log,
    })
}

fn resolve_data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(paths::data_dir(given).map_err(AppError::from)?)
}

/// The emulator alone: it needs no data dir, and its log goes to stderr because it is a
/// foreground server whose stdout carries only its base URL.
fn emulator(args: gcal_emulator::EmulatorArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOOKLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(gcal_emulator::run_cli(args))
}

fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let store = Store::open(&paths::database_path(data_dir)).map_err(report)?;
    tracing::info!(data_dir = %data_dir.display(), "store opened");
    Ok(store)
}

/// The zone new appointments are booked in when `--timezone` is not given: the system's
/// IANA zone if it reports one Bookline knows, else UTC.
pub fn default_timezone() -> String {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|zone| zone.parse::<chrono_tz::Tz>().is_ok())
        .unwrap_or_else(|| "UTC".to_owned())
}

/// Runs one `appointments …` subcommand, printing to `out`.
pub fn appointments(
    store: &Store,
    command: AppointmentsCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        AppointmentsCommand::List(args) => list(store, args, out),
        AppointmentsCommand::Add(args) => {
            let input = add_input(
                args.title,
                &args.start,
                &args.end,
                args.all_day,
                &args.details,
            )?;
            let request = BookingRequest {
                meet: args.details.meet,
                invite_lead: args.details.invite_lead,
                notify_lead: false,
            };
            let created = booking::create_booked(store, input, &request, waiting_reason(store)?)
                .map_err(report)?;
            tracing::info!(id = %created.id, "appointment added from the CLI");
            print_appointment(store, out, &created, args.details.json, "Added")
        }
        AppointmentsCommand::Edit(args) if args.occurrence.occurrence.is_some() => {
            if args.details.meet || args.details.invite_lead {
                bail!(AppError::new(
                    ErrorCode::Validation,
                    "--meet and --invite-lead apply to a whole appointment, not to one \
                     occurrence.",
                ));
            }
            let (series_id, start) = occurrence_of(store, &args.id, &args.occurrence)?;
            let scope = if args.all {
                OccurrenceScope::All
            } else {
                scope_of(&args.occurrence)
            };
            let current = store
                .occurrence_appointment(&series_id, &start)
                .map_err(report)?;
            let mut input = edit_input(current, &args)?;
            if scope != OccurrenceScope::This && args.details.rrule.is_none() {
                // The series' own rule (the store keeps it, split or shifted).
                input.recurrence = None;
            }
            let updated = store
                .edit_occurrence(&series_id, &start, input, scope, ChangeSource::User)
                .map_err(report)?;
            tracing::info!(id = %updated.id, ?scope, "occurrence edited from the CLI");
            print_appointment(store, out, &updated, args.details.json, "Updated")
        }
        AppointmentsCommand::Cancel(args) if args.occurrence.occurrence.is_some() => {
            let (series_id, start) = occurrence_of(store, &args.id, &args.occurrence)?;
            let scope = scope_of(&args.occurrence);
            store
                .cancel_occurrence(&series_id, &start, scope, ChangeSource::User)
                .map_err(report)?;
            tracing::info!(id = %series_id, ?scope, "occurrence cancelled from the CLI");
            occurrence_done(out, "cancelled", &series_id, &start, scope, args.json)
        }
        AppointmentsCommand::Delete(args) if args.occurrence.occurrence.is_some() => {
            let (series_id, start) = occurrence_of(store, &args.id, &args.occurrence)?;
            let scope = scope_of(&args.occurrence);
            store
                .delete_occurrence(&series_id, &start, scope, ChangeSource::User)
                .map_err(report)?;
            tracing::info!(id = %series_id, ?scope, "occurrence deleted from the CLI");
            occurrence_done(out, "deleted", &series_id, &start, scope, args.json)
        }
        AppointmentsCommand::Edit(args) => {
            let current = store
                .get_appointment(&args.id)
                .map_err(report)?
                .ok_or_else(|| not_found(args.id.clone()))?;
            let input = edit_input(current, &args)?;
            let request = BookingRequest {
                meet: args.details.meet,
                invite_lead: args.details.invite_lead,
                notify_lead: args.notify_lead,
            };
            let updated =
                booking::update_booked(store, &args.id, input, &request, waiting_reason(store)?)
                    .map_err(report)?;
            tracing::info!(id = %updated.id, "appointment edited from the CLI");
            print_appointment(store, out, &updated, args.details.json, "Updated")
        }
        AppointmentsCommand::Cancel(args) => {
            let cancelled = store
                .set_status(&args.id, Status::Cancelled, ChangeSource::User)
                .map_err(report)?;
            tracing::info!(id = %cancelled.id, "appointment cancelled from the CLI");
            print_appointment(store, out, &cancelled, args.json, "Cancelled")
        }
        AppointmentsCommand::Delete(args) => {
            store
                .delete_appointment(&args.id, ChangeSource::User)
                .map_err(report)?;
            tracing::info!(id = %args.id, "appointment deleted from the CLI");
            if args.json {
                writeln!(out, "{}", serde_json::json!({ "deleted": args.id }))?;
            } else {
                writeln!(out, "Deleted {}", args.id)?;
            }
            Ok(())
        }
    }
}

/// What a Meet link asked for here says until the next pass asks Google.
fn waiting_reason(store: &Store) -> anyhow::Result<&'static str> {
    let saved = settings::load(store).map_err(report)?;
    Ok(booking::meet_waiting_reason(saved.direction, None))
}

fn scope_of(args: &OccurrenceArgs) -> OccurrenceScope {
    if args.following {
        OccurrenceScope::Following
    } else {
        OccurrenceScope::This
    }
}

/// The series and the occurrence's original start named by `ID --occurrence START`. ID
/// may also be a moved occurrence's own id (the list shows it); START may be a local
/// wall time in the series' zone, turned into the instant the store compares.
fn occurrence_of(
    store: &Store,
    id: &str,
    args: &OccurrenceArgs,
) -> anyhow::Result<(String, String)> {
    let given = args.occurrence.as_deref().unwrap_or_default().trim();
    let found = store
        .get_appointment(id)
        .map_err(report)?
        .ok_or_else(|| not_found(id.to_owned()))?;
    let series = match &found.instance_of {
        Some(instance) => store
            .get_appointment(&instance.series_id)
            .map_err(report)?
            .ok_or_else(|| not_found(instance.series_id.clone()))?,
        None => found,
    };
    let all_day = matches!(series.timing, Timing::AllDay { .. });
    if all_day || DateTime::parse_from_rfc3339(given).is_ok() {
        return Ok((series.id, given.to_owned()));
    }
    let zone: chrono_tz::Tz = series.timezone.parse().unwrap_or(chrono_tz::UTC);
    let at = bookline_core::input::parse_instant(given, zone, "occurrence").map_err(validation)?;
    Ok((
        series.id,
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}

fn occurrence_done(
    out: &mut dyn Write,
    verb: &str,
    series_id: &str,
    start: &str,
    scope: OccurrenceScope,
    json: bool,
) -> anyhow::Result<()> {
    let which = match scope {
        OccurrenceScope::This => "occurrence",
        OccurrenceScope::Following => "occurrences from",
        OccurrenceScope::All => "series of",
    };
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ verb: series_id, "occurrence": start, "scope": scope })
        )?;
    } else {
        let title = match verb {
            "cancelled" => "Cancelled",
            _ => "Deleted",
        };
        writeln!(out, "{title} {which} {start} of {series_id}")?;
    }
    Ok(())
}

fn add_input(
    title: String,
    start: &str,
    end: &str,
    all_day: bool,
    details: &Details,
) -> anyhow::Result<AppointmentInput> {
    let timezone = details.timezone.clone().unwrap_or_else(default_timezone);
    let timing = parse_timing(start, end, all_day, &timezone).map_err(validation)?;
    Ok(AppointmentInput {
        title,
        timing,
        timezone,
        location: details.location.clone().unwrap_or_default(),
        notes: details.notes.clone().unwrap_or_default(),
        lead: bookline_core::model::Lead {
            name: details.lead_name.clone().unwrap_or_default(),
            email: details.lead_email.clone().unwrap_or_default(),
            phone: details.lead_phone.clone().unwrap_or_default(),
        },
        status: details.status.map(Status::from).unwrap_or(Status::Booked),
        recurrence: details
            .rrule
            .as_deref()
            .and_then(|rule| with_rule(None, rule)),
    })
}

/// The current appointment with the given options applied on top.
fn edit_input(current: Appointment, args: &EditArgs) -> anyhow::Result<AppointmentInput> {
    let d = &args.details;
    let timezone = d.timezone.clone().unwrap_or(current.timezone);
    let retimed = args.start.is_some()
        || args.end.is_some()
        || args.all_day.is_some()
        || d.timezone.is_some();
    let timing = if retimed {
        let all_day = args
            .all_day
            .unwrap_or(matches!(current.timing, Timing::AllDay { .. }));
        // A bound not given keeps its instant (timed) or date (all-day).
        let (start, end) = timing_bounds(&current.timing);
        let start = args.start.clone().unwrap_or(start);
        let end = args.end.clone().unwrap_or(end);
        parse_timing(&start, &end, all_day, &timezone).map_err(validation)?
    } else {
        current.timing
    };
    let mut lead = current.lead;
    if let Some(name) = &d.lead_name {
        lead.name = name.clone();
    }
    if let Some(email) = &d.lead_email {
        lead.email = email.clone();
    }
    if let Some(phone) = &d.lead_phone {
        lead.phone = phone.clone();
    }
    let recurrence = match &d.rrule {
        Some(rule) => with_rule(current.recurrence, rule),
        None => current.recurrence,
    };
    Ok(AppointmentInput {
        title: args.title.clone().unwrap_or(current.title),
        timing,
        timezone,
        location: d.location.clone().unwrap_or(current.location),
        notes: d.notes.clone().unwrap_or(current.notes),
        lead,
        status: d.status.map(Status::from).unwrap_or(current.status),
        recurrence,
    })
}

fn timing_bounds(timing: &Timing) -> (String, String) {
    match timing {
        Timing::Timed { start, end } => (start.to_rfc3339(), end.to_rfc3339()),
        Timing::AllDay { start, end } => (start.to_string(), end.to_string()),
    }
}

/// The new `--rrule` value replaces the rule lines of a recurrence and keeps its
/// exceptions (EXDATE/RDATE lines); an empty value removes the recurrence altogether.
fn with_rule(current: Option<Recurrence>, value: &str) -> Option<Recurrence> {
    let given = parse_recurrence_arg(value)?;
    let is_rule = |line: &String| {
        let upper = line.to_ascii_uppercase();
        upper.starts_with("RRULE") || upper.starts_with("EXRULE")
    };
    if !given.lines.iter().any(is_rule) {
        // Only exception lines were given: add them to the current rule.
        let mut lines = current.map(|r| r.lines).unwrap_or_default();
        lines.extend(given.lines);
        return Some(Recurrence { lines });
    }
    let mut lines = given.lines;
    if let Some(current) = current {
        let given_exceptions = lines.iter().any(|l| !is_rule(l));
        if !given_exceptions {
            lines.extend(current.lines.into_iter().filter(|l| !is_rule(l)));
        }
    }
    Some(Recurrence { lines })
}

fn list(store: &Store, args: ListArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        let from = window_bound(from, false)?;
        let to = window_bound(to, true)?;
        if to <= from {
            bail!(AppError::new(
                ErrorCode::Validation,
                "--to must be after --from."
            ));
        }
        let occurrences = store.occurrences(from, to).map_err(report)?;
        return print_occurrences(store, out, &occurrences, args.json);
    }
    let mut query = ListQuery {
        search: args.search.clone(),
        status: None,
        origin: None,
        period: match args.period {
            PeriodArg::Upcoming => Period::Upcoming,
            PeriodArg::Past => Period::Past,
            PeriodArg::All => Period::All,
        },
        offset: 0,
        limit: PAGE,
    };
    // One timestamp for all pages, so a row cannot move between "upcoming" and "past"
    // halfway through the listing.
    let now = Utc::now();
    let mut rows: Vec<AppointmentRow> = Vec::new();
    loop {
        let page = store.list_appointments(&query, now).map_err(report)?;
        let got = page.rows.len();
        rows.extend(page.rows);
        if got == 0 || rows.len() >= page.total as usize {
            break;
        }
        query.offset = query.offset.saturating_add(PAGE);
    }
    print_rows(out, &rows, args.json)
}

/// The store clamps pages to 500 rows.
const PAGE: u32 = 500;

/// A window bound in the system's zone: a date means its midnight, and a `--to` date
/// includes that whole day (so `--from 2026-05-01 --to 2026-05-31` is all of May).
fn window_bound(value: &str, is_end: bool) -> Result<DateTime<Utc>, AppError> {
    let zone: chrono_tz::Tz = default_timezone().parse().unwrap_or(chrono_tz::UTC);
    let field = if is_end { "--to" } else { "--from" };
    let value = value.trim();
    let next_day = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| is_end)
        .and_then(|date| date.succ_opt())
        .map(|date| date.to_string());
    parse_window_bound(next_day.as_deref().unwrap_or(value), zone, field).map_err(validation)
}

fn print_appointment(
    store: &Store,
    out: &mut dyn Write,
    appointment: &Appointment,
    json: bool,
    verb: &str,
) -> anyhow::Result<()> {
    if json {
        // A change just made is queued for Google when an account is connected.
        let (state, event_id) = store.sync_state_of(&appointment.id).map_err(report)?;
        let booked = store.booking_of(&appointment.id).map_err(report)?;
        let value = AppointmentJson::from_appointment(appointment, &state, event_id.as_deref())
            .with_booking(&booked);
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            out,
            "{verb} {}  {}  {}",
            appointment.id,
            describe_timing(&appointment.timing, &appointment.timezone),
            appointment.title
        )?;
    }
    Ok(())
}

fn print_rows(out: &mut dyn Write, rows: &[AppointmentRow], json: bool) -> anyhow::Result<()> {
    if json {
        let items: Vec<AppointmentJson> = rows
            .iter()
            .map(|row| {
                AppointmentJson::from_appointment(
                    &row.appointment,
                    &row.sync_state,
                    row.google_event_id.as_deref(),
                )
                .with_booking(&row.booking)
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "No appointments.")?;
    }
    for row in rows {
        let a = &row.appointment;
        writeln!(
            out,
            "{}  {:<9}  {}  {}",
            a.id,
            status_word(a.status),
            describe_timing(&a.timing, &a.timezone),
            a.title
        )?;
    }
    Ok(())
}

/// What an occurrence's JSON takes from the appointment it belongs to: the appointment,
/// its sync state and event id, its booking.
type OccurrenceSource = (Appointment, (SyncState, Option<String>), Booking);

fn print_occurrences(
    store: &Store,
    out: &mut dyn Write,
    occurrences: &[Occurrence],
    json: bool,
) -> anyhow::Result<()> {
    if json {
        // Each occurrence's other fields come from the appointment it belongs to; a
        // series is read once however many of its occurrences the window holds.
        let mut sources: HashMap<&str, OccurrenceSource> = HashMap::new();
        let mut items: Vec<AppointmentJson> = Vec::with_capacity(occurrences.len());
        for occurrence in occurrences {
            let id = occurrence.appointment_id.as_str();
            if !sources.contains_key(id) {
                let source = store
                    .get_appointment(id)
                    .map_err(report)?
                    .ok_or_else(|| not_found(id.to_owned()))?;
                let sync = store.sync_state_of(id).map_err(report)?;
                let booked = store.booking_of(id).map_err(report)?;
                sources.insert(id, (source, sync, booked));
            }
            let (source, (state, event_id), booked) = &sources[id];
            items.push(
                AppointmentJson::from_occurrence(occurrence, source, state, event_id.as_deref())
                    .with_booking(booked),
            );
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if occurrences.is_empty() {
        writeln!(out, "No appointments in that window.")?;
    }
    for o in occurrences {
        // An occurrence of a series names itself for `--occurrence`.
        let occurrence = match (&o.series_id, &o.original_start) {
            (Some(series), Some(start)) => format!("  (series {series} --occurrence {start})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{}  {:<9}  {}  {}{occurrence}",
            o.appointment_id,
            status_word(o.status),
            describe_timing(&o.timing, &o.timezone),
            o.title
        )?;
    }
    Ok(())
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Booked => "booked",
        Status::Cancelled => "cancelled",
        Status::Done => "done",
    }
}

/// "2026-05-04 09:00–10:00 Europe/Berlin" or "2026-05-04 (all day)", in the
/// appointment's own zone.
fn describe_timing(timing: &Timing, timezone: &str) -> String {
    match timing {
        Timing::AllDay { start, end } => {
            let last = end.pred_opt().unwrap_or(*end);
            if last <= *start {
                format!("{start} (all day)")
            } else {
                format!("{start} – {last} (all day)")
            }
        }
        Timing::Timed { start, end } => {
            let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
            let start = start.with_timezone(&zone);
            let end = end.with_timezone(&zone);
            if start.date_naive() == end.date_naive() {
                format!(
                    "{} {}–{} {timezone}",
                    start.format("%Y-%m-%d"),
                    start.format("%H:%M"),
                    end.format("%H:%M")
                )
            } else {
                format!(
                    "{} – {} {timezone}",
                    start.format("%Y-%m-%d %H:%M"),
                    end.format("%Y-%m-%d %H:%M")
                )
            }
        }
    }
}

fn validation(error: ValidationError) -> AppError {
    report(StoreError::from(error))
}
