//! `gcal-emulator`: runs the Google OAuth + Calendar emulator alone.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "gcal-emulator",
    about = "Local Google OAuth 2.0 + Calendar API v3 emulator"
)]
struct Cli {
    #[command(flatten)]
    args: gcal_emulator::EmulatorArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    gcal_emulator::run_cli(Cli::parse().args).await
}
