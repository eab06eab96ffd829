//! `port4me who|status|plan` (owned by the holders work; placeholder).
use clap::Args;

/// Show who holds a port.
#[derive(Args, Debug)]
pub struct WhoArgs {}
/// Show the status of ports.
#[derive(Args, Debug)]
pub struct StatusArgs {}
/// Plan conflict-free ports for a set of services.
#[derive(Args, Debug)]
pub struct PlanArgs {}

/// Runs `who`.
pub fn run_who(_a: &WhoArgs) -> std::process::ExitCode { std::process::ExitCode::from(2) }
/// Runs `status`.
pub fn run_status(_a: &StatusArgs) -> std::process::ExitCode { std::process::ExitCode::from(2) }
/// Runs `plan`.
pub fn run_plan(_a: &PlanArgs) -> std::process::ExitCode { std::process::ExitCode::from(2) }

/// A sentence naming what holds `port`, e.g. "5173 is in use by node (pid 4242, alice): vite --port 5173".
pub fn describe_busy(_port: u16, _protocol: port4me::Protocol) -> Option<String> { None }
