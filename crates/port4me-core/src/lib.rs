//! The pure port4me algorithm.
//!
//! port4me gives every user (and every tool of that user) the same
//! pseudo-random sequence of TCP ports on every machine and in every language
//! that implements it. Two people on one shared server get different
//! sequences; one person gets the same sequence every day. The first port of
//! the sequence that is free is "their" port.
//!
//! This crate holds only the parts that need no operating system:
//!
//! * [`hash`]: the seed string and its Java-style unsigned 32-bit hash;
//! * [`lcg`]: the ZX81 linear congruential generator that turns the hash into
//!   a sequence of numbers in `0..=65535`;
//! * [`spec`]: the parser for port specifications such as `"2000-2009,4321"`
//!   and the `{chrome}`/`{firefox}` tokens;
//! * [`unsafe_ports`]: the ports browsers refuse to connect to;
//! * [`set`]: a 65,536-bit [`PortSet`] with O(1) membership and no heap;
//! * [`sequence`]: the candidate sequence (prepended ports, then LCG values
//!   filtered by include/exclude) as an iterator that can never loop forever.
//!
//! Nothing here reads the environment, touches a socket or allocates unless
//! the `alloc` feature is on (it is by default). The `port4me` crate layers
//! environment variables and socket probing on top; the WebAssembly build uses
//! this crate directly.
//!
//! ```
//! use port4me_core::Query;
//!
//! let q = Query::new("alice");
//! assert_eq!(q.list(3).unwrap(), [30845, 19654, 32310]);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod error;
pub mod hash;
pub mod lcg;
#[cfg(feature = "alloc")]
pub mod query;
pub mod sequence;
pub mod set;
pub mod spec;
pub mod unsafe_ports;

pub use error::{Error, SpecError, SpecErrorKind};
pub use hash::{seed_hash, string_hash};
pub use lcg::{FastLcg, Lcg};
#[cfg(feature = "alloc")]
pub use query::Query;
pub use sequence::{Candidates, Position};
pub use set::PortSet;
pub use spec::{Expansions, Item};

/// The version of this crate, which is the version of the port4me project.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Ports searched when no include set is given: every non-privileged port.
pub const DEFAULT_INCLUDE: core::ops::RangeInclusive<u16> = 1024..=65535;

/// How many probes a search makes before it gives up, as in the reference.
pub const DEFAULT_MAX_TRIES: u32 = 65535;

/// The largest `list` count the CLI and the bindings accept: sixteen LCG
/// periods. A bigger count is almost certainly a mistake and would only
/// allocate.
pub const MAX_LIST: usize = 1 << 20;
