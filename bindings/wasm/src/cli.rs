//! `npx port4me` where no native addon loads: the port4me command line
//! itself (crate `port4me-cli`, built without its `registry`, `holders` and
//! `completions` features) on a [`Host`] that the npm package's fallback
//! hands in. The grammar, the checks, the help and every message are the
//! native binary's; JavaScript only supplies the environment, writes the
//! output and probes, through the fallback's one prober.

use std::error::Error as StdError;
use std::io::{self, Write};

use port4me::{Env, Port4me, ProbeMode, ProbeOptions};
use port4me_cli::{Host, HostError};
use wasm_bindgen::prelude::*;

use crate::get;
use crate::node::{env_pairs, probe_failure, SearchState};

// The first batch of candidates is small (the first candidate is usually
// free); later ones grow, as in the fallback's port4me().
const FIRST_BATCH: u32 = 16;
const MAX_BATCH: u32 = 1024;
// Output is handed to JavaScript in pieces of at most this size.
const OUTPUT_BUFFER: usize = 1 << 16;

#[wasm_bindgen]
extern "C" {
    /// What fallback.cjs hands in (its `runCli`).
    pub type CliHost;
    /// The variables port4me reads, as an object.
    #[wasm_bindgen(method, getter)]
    fn env(this: &CliHost) -> JsValue;
    /// The account name, when there is one.
    #[wasm_bindgen(method, getter)]
    fn account(this: &CliHost) -> Option<String>;
    /// The terminal's width, or COLUMNS, when known.
    #[wasm_bindgen(method, getter)]
    fn columns(this: &CliHost) -> Option<u32>;
    /// Whether help on standard output is shown in colour.
    #[wasm_bindgen(method, getter)]
    fn color(this: &CliHost) -> bool;
    /// Writes `bytes` to the file descriptor `fd` (1 or 2); returns the
    /// error's code (`EPIPE`) or message when that fails.
    #[wasm_bindgen(method)]
    fn write(this: &CliHost, fd: u32, bytes: &[u8]) -> Option<String>;
    /// Probes `ports` in order: `{ index }` of the first free one (-1 for
    /// none), or `{ index, error: { host, message } }` for a probe that
    /// failed. Throws when the prober itself fails.
    #[wasm_bindgen(method, catch)]
    fn probe(this: &CliHost, ports: &[u16], host: Option<String>, protocol: &str) -> Result<JsValue, JsValue>;
    /// Why `what` needs the native addon, naming the platform and the fix.
    #[wasm_bindgen(method)]
    fn missing(this: &CliHost, what: &str) -> String;
}

/// One output stream, buffered so that a line is one write, not one per
/// `write!` piece.
struct Stream<'a> {
    js: &'a CliHost,
    fd: u32,
    buf: Vec<u8>,
}

impl Write for Stream<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= OUTPUT_BUFFER {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let failed = self.js.write(self.fd, &self.buf);
        self.buf.clear();
        match failed.as_deref() {
            None => Ok(()),
            Some("EPIPE") => Err(io::ErrorKind::BrokenPipe.into()),
            Some(other) => Err(io::Error::other(other.to_string())),
        }
    }
}

struct JsHost<'a> {
    js: &'a CliHost,
    env: Env,
    out: Stream<'a>,
    err: Stream<'a>,
}

impl JsHost<'_> {
    /// The index of the first free port of `ports`, through the JavaScript prober.
    fn first_free(&self, ports: &[u16], target: ProbeOptions) -> Result<Option<usize>, Box<dyn StdError>> {
        let host = target.host.map(|h| h.to_string());
        let r = self.js.probe(ports, host, target.protocol.as_str()).map_err(host_error)?;
        let index = get(&r, "index").ok().and_then(|v| v.as_f64()).unwrap_or(-1.0);
        let error = get(&r, "error").unwrap_or(JsValue::UNDEFINED);
        if error.is_object() {
            let text = |key| get(&error, key).ok().and_then(|v| v.as_string()).unwrap_or_default();
            let port = ports.get(index as usize).copied().unwrap_or(ports[0]);
            return Err(probe_failure(port, &text("host"), target.protocol, &text("message")).into());
        }
        Ok((index >= 0.0).then_some(index as usize).filter(|&i| i < ports.len()))
    }
}

/// A failure of the prober itself (the fallback's probe worker), as
/// `ERR_PORT4ME_PROBE` or `ERR_PORT4ME_INTERNAL` with its message.
fn host_error(e: JsValue) -> HostError {
    let code = get(&e, "code").ok().and_then(|v| v.as_string());
    let message = get(&e, "message").ok().and_then(|v| v.as_string()).unwrap_or_else(|| crate::js_string(&e));
    let code =
        if code.as_deref() == Some("ERR_PORT4ME_INTERNAL") { "ERR_PORT4ME_INTERNAL" } else { "ERR_PORT4ME_PROBE" };
    HostError { code, message }
}

impl Host for JsHost<'_> {
    fn env(&self) -> Env {
        self.env.clone()
    }

    fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    fn err(&mut self) -> &mut dyn Write {
        &mut self.err
    }

    /// The search of `Port4me::find`, probed in batches.
    fn find(&mut self, q: &Port4me) -> Result<u16, Box<dyn StdError>> {
        let (mut search, mode) = SearchState::start(q, None)?;
        let target = q.probe_options();
        let mut k = if mode == ProbeMode::AssumeFree { 1 } else { FIRST_BATCH };
        loop {
            let batch = search.next_batch(k)?;
            if batch.is_empty() {
                return Err(search.no_free_port().into());
            }
            if mode == ProbeMode::AssumeFree {
                return Ok(batch[0]);
            }
            if let Some(i) = self.first_free(&batch, target)? {
                return Ok(batch[i]);
            }
            k = (k * 4).min(MAX_BATCH);
        }
    }

    fn test(&mut self, q: &Port4me, port: u16) -> Result<bool, Box<dyn StdError>> {
        if q.probe_mode()? == ProbeMode::AssumeFree {
            return Ok(true);
        }
        Ok(self.first_free(&[port], q.probe_options())?.is_some())
    }

    fn print_clap(&mut self, e: &clap::Error) {
        let text = e.render();
        let (stream, color) = if e.use_stderr() { (&mut self.err, false) } else { (&mut self.out, self.js.color()) };
        let _ = if color { write!(stream, "{}", text.ansi()) } else { write!(stream, "{text}") };
    }

    fn term_width(&self) -> Option<usize> {
        self.js.columns().filter(|&w| w > 0).map(|w| w as usize)
    }

    fn missing(&self, what: &str) -> String {
        self.js.missing(what)
    }
}

/// Runs the port4me command line with `args` (what follows the program
/// name) on `host`; returns the exit status.
#[wasm_bindgen(js_name = runCli)]
pub fn run_cli(args: Vec<String>, host: &CliHost) -> Result<i32, JsValue> {
    let env = Env::from_pairs(env_pairs(&host.env())?).with_account_name(host.account());
    let mut h = JsHost {
        js: host,
        env,
        out: Stream { js: host, fd: 1, buf: Vec::new() },
        err: Stream { js: host, fd: 2, buf: Vec::new() },
    };
    let argv = std::iter::once("port4me".into()).chain(args.into_iter().map(Into::into)).collect();
    Ok(port4me_cli::run_with(argv, &mut h))
}
