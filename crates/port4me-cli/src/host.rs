//! Where the main command runs: its environment, its output and its probes.
//!
//! The native binary and the Node addon run in a real process ([`Process`]).
//! The WebAssembly build of the npm package's fallback has no environment,
//! no standard streams and no sockets of its own, so its JavaScript host
//! hands them in through this trait. The grammar, the checks and every
//! message stay in this crate.

use std::error::Error;
use std::io::Write;

use port4me::{Env, Port4me};

/// What the main command needs from where it runs. The subcommands run in
/// a real process only, so they use the process directly.
pub trait Host {
    /// The variables the settings fall back on, and the account name.
    fn env(&self) -> Env {
        Env::process()
    }

    /// Standard output.
    fn out(&mut self) -> &mut dyn Write;

    /// Standard error.
    fn err(&mut self) -> &mut dyn Write;

    /// The first free port of `q`'s search.
    fn find(&mut self, q: &Port4me) -> Result<u16, Box<dyn Error>> {
        Ok(q.find()?)
    }

    /// Whether `port` is free for `q`'s probe settings (`--test`).
    fn test(&mut self, q: &Port4me, port: u16) -> Result<bool, Box<dyn Error>> {
        Ok(q.test(port)?)
    }

    /// Prints clap's help, or its usage error when `e.use_stderr()`.
    fn print_clap(&mut self, e: &clap::Error) {
        let _ = e.print();
    }

    /// The width help is wrapped to, when clap cannot find it itself.
    fn term_width(&self) -> Option<usize> {
        None
    }

    /// Why `what` ("port4me registry", "port4me --reserve") cannot run in
    /// this build, for the ERR_PORT4ME_NATIVE_REQUIRED error.
    fn missing(&self, what: &str) -> String {
        format!("{what} is not part of this build of port4me")
    }
}

/// An error from the host itself (its prober failed), with its stable code
/// for `--json` (`ERR_PORT4ME_PROBE`, `ERR_PORT4ME_INTERNAL`).
#[derive(Debug)]
pub struct HostError {
    /// The stable code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for HostError {}

/// The process itself: its environment, standard streams and sockets.
pub struct Process {
    out: std::io::Stdout,
    err: std::io::Stderr,
}

impl Default for Process {
    fn default() -> Self {
        Process { out: std::io::stdout(), err: std::io::stderr() }
    }
}

impl Host for Process {
    fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    fn err(&mut self) -> &mut dyn Write {
        &mut self.err
    }
}
