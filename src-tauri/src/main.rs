//! `bookline`: the desktop app when run without a subcommand, the headless CLI otherwise.
//!
//! No `windows_subsystem = "windows"` attribute: the same binary is a console program for
//! the CLI, and hiding the console would swallow its output on Windows.

fn main() -> std::process::ExitCode {
    bookline_app::cli::main()
}
