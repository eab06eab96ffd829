//! Node.js addon for port4me (napi-rs).
//!
//! A thin binding over the `port4me`, `port4me-registry` and
//! `port4me-holders` crates: no algorithm code lives here.
//! The public JavaScript API is the `port4me` npm package (`npm/port4me`),
//! which loads this addon and re-exports it under the documented names. The
//! package checks the argument types of its functions; the `Registry` class
//! and its groups are this addon's own, and check theirs here ([`args`]).
//!
//! One module per area:
//!
//! * [`args`]: Node-style checks of the registry's JavaScript arguments;
//! * [`errors`]: how Rust errors and panics become JS `Error`s with a stable
//!   `code`;
//! * [`options`]: the options object and the environment it reads;
//! * [`find`]: `port4me`, `port4meAsync`, `list`;
//! * [`probe`]: `isPortFree` and the benchmark floor;
//! * [`spec`]: `parsePorts` and the browser-unsafe lists;
//! * [`registry`]: the `Registry` class, its four groups, and `port4me({ reserve })`;
//! * [`holders`]: `whoHolds`, `status`, `plan`, `describeBusy`;
//! * [`ps`]: `ps` (what runs) and `holdPort` (the Vite plugin's holding);
//! * [`cli`]: `npx port4me`, the native command line itself;
//! * [`types`]: the TypeScript of the results and options, generated from
//!   these definitions (`npm/port4me/generated.d.cts`, checked by a test).

#![deny(clippy::all)]

pub mod args;
#[cfg(feature = "cli")]
pub mod cli;
pub mod errors;
pub mod find;
pub mod holders;
pub mod options;
pub mod probe;
pub mod ps;
pub mod registry;
pub mod spec;
pub mod types;

use napi_derive::napi;

/// The version of the Rust crates this addon was built from.
#[napi]
pub fn native_version() -> &'static str {
    port4me::core::VERSION
}
