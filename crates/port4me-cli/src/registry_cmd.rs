//! `port4me registry ...` (owned by the registry work; placeholder).
use clap::Args;

/// Manage the port registry.
#[derive(Args, Debug)]
pub struct RegistryArgs {}

/// Runs a registry subcommand.
pub fn run(_args: &RegistryArgs) -> std::process::ExitCode {
    eprintln!("Error: the registry is not available yet");
    std::process::ExitCode::from(2)
}

/// Finds a port for `q` and records it as a lease of `ttl` seconds.
pub fn reserve(_q: &port4me::Port4me, _ttl: &str) -> Result<u16, Box<dyn std::error::Error>> {
    Err("the registry is not available yet".into())
}
