//! The command line's integration tests, in one binary (each test binary
//! links SQLite, and the CLI's used to be four):
//!
//! * [`reference`]: what the reference CLI's users rely on, plus the exit
//!   codes, error lines and `--json` of our extensions;
//! * [`conformance`]: the shared vectors through the binary;
//! * [`subcommands`]: `--reserve`, the registry, `who`, `status`, `plan`;
//! * [`shared_hosts`]: `hidepid`, read-only and unreadable registries (Linux);
//! * [`run`]: `run` and `ps` with real servers, signals and kills, `{worktree}`;
//! * [`messages`]: escaped text and raw JSON, `--json` errors of `who`,
//!   `status` and `plan`, `plan --env` names, wording of bad values.

#[path = "../../../../conformance/harness/harness.rs"]
mod harness;

mod conformance;
mod messages;
mod reference;
mod run;
#[cfg(target_os = "linux")]
mod shared_hosts;
mod subcommands;
