//! `bookline-cli`: the same program as `bookline`, built as a console program on every OS.
//! It exists for Windows, where `bookline` is a GUI program without a console (see
//! main.rs): there `bookline-cli sync` prints, and the shell waits for its exit code.

fn main() -> std::process::ExitCode {
    bookline_app::cli::main()
}
