//! The registry's integration tests, in one binary (each test binary links
//! SQLite; the registry's used to be nine). Child processes come from the
//! `port4me-registry-stress` helper binary, never from this one.

mod common;

mod api;
mod bad_input;
mod concurrency;
#[cfg(unix)]
mod crash;
#[cfg(unix)]
mod handles;
mod interop;
#[cfg(target_os = "linux")]
mod processes;
mod read_only;
mod reserve_bounded;
#[cfg(feature = "ts")]
mod serde_ts;
mod trust;
