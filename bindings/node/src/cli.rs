//! `npx port4me`: the native command line itself ([`port4me_cli::run`]), so
//! that the npm package's bin is the same program as the `port4me` binary:
//! the same flags, subcommands, messages and exit codes. It writes to the
//! process's standard output and error directly (they are the command's own:
//! `cli.mjs` never touches `process.stdout` on this path).

use napi_derive::napi;

use crate::errors::guard;

/// Runs the port4me command line with `args` (what follows the program
/// name) and returns its exit status.
#[napi(js_name = "runCli")]
pub fn run_cli(args: Vec<String>) -> napi::Result<i32, String> {
    guard(|| {
        let argv = std::iter::once("port4me".into()).chain(args.into_iter().map(Into::into)).collect();
        Ok(port4me_cli::run(argv))
    })
}
