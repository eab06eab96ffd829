//! The `port4me` binary: the command line of the library (`lib.rs`), which
//! `npx port4me` runs too.

fn main() {
    // `run` passes on its command's status, which on Windows can be any
    // 32-bit code (`std::process::ExitCode` takes a byte). Everything was
    // written and flushed by the time `run` returns.
    std::process::exit(port4me_cli::run(std::env::args_os().collect()))
}
