//! The `port4me` binary: the command line of the library (`lib.rs`), which
//! `npx port4me` runs too.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(port4me_cli::run(std::env::args_os().collect()))
}
