//! Errors of the std layer: the core's errors plus what the environment,
//! numbers and sockets can get wrong. Every message says what was wrong and
//! where it came from (argument, flag or environment variable).

use std::io;

/// Any error of port4me.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the pure algorithm (bad specification, empty seed, empty set).
    #[error(transparent)]
    Core(#[from] port4me_core::Error),
    /// `{chrome}` or `{firefox}` inside `PORT4ME_EXCLUDE_UNSAFE_CHROME` or
    /// `_FIREFOX`: those variables define the browser lists, so they hold
    /// port numbers only. (Worded here rather than in the core, whose
    /// messages go into the size-budgeted browser module, which never
    /// parses these variables.)
    #[error("{}", browser_list_token(spec, *self_reference))]
    BrowserListToken {
        /// The rejected item.
        spec: port4me_core::SpecError,
        /// Whether the list names itself (`{chrome}` in the Chrome list).
        self_reference: bool,
    },
    /// A count (skip, list, max tries) that is not a non-negative integer in range.
    #[error("invalid {what} in {source_name}: {value:?} {reason}")]
    InvalidNumber {
        /// What the number is for (`skip`, `list`, ...).
        what: &'static str,
        /// Where it came from: a flag, an argument or a variable name.
        source_name: String,
        /// The text or value given.
        value: String,
        /// Why it was rejected (with the limit, for a number too large).
        reason: std::borrow::Cow<'static, str>,
    },
    /// A port number outside 1-65535 where one port is expected.
    #[error("invalid port in {source_name}: {value} is outside 1-65535")]
    InvalidPort {
        /// Where it came from.
        source_name: String,
        /// The value given.
        value: String,
    },
    /// A port given as a number (by JavaScript) that is not a whole number
    /// (`1.5`, `NaN`, `Infinity`).
    #[error("invalid port in {source_name}: {value} is not an integer in 1-65535")]
    PortNotInteger {
        /// Where it came from.
        source_name: String,
        /// The value given.
        value: String,
    },
    /// A host option that is not an IP address (`localhost`, `example.org`).
    #[error("invalid host {value:?}: expected an IP address such as 127.0.0.1 or ::1")]
    InvalidHost {
        /// The value given.
        value: String,
    },
    /// A host that is an IP address but not one a socket can be bound to
    /// for probing: multicast or broadcast.
    #[error("invalid host {value:?}: {kind} address, not an address of this machine; give a unicast one such as 127.0.0.1 or ::1")]
    HostNotUnicast {
        /// The value given.
        value: String,
        /// "a multicast" or "the broadcast".
        kind: &'static str,
    },
    /// A host that is an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`):
    /// a socket cannot be bound to one, so the probe would fail with
    /// EINVAL. The IPv4 address itself is what is meant.
    #[error("invalid host {value:?}: an IPv4-mapped IPv6 address, which cannot be bound; give the IPv4 address {v4} instead")]
    HostMapped {
        /// The value given.
        value: String,
        /// The IPv4 address it maps.
        v4: std::net::Ipv4Addr,
    },
    /// A protocol option other than `tcp` or `udp`.
    #[error("invalid protocol: {0}")]
    InvalidProtocol(crate::probe::UnknownProtocol),
    /// An environment variable with a value that is not allowed, or not UTF-8.
    #[error("invalid value of environment variable {name}: {value:?} ({reason})")]
    InvalidEnv {
        /// The variable.
        name: String,
        /// Its value (lossily decoded).
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// `{worktree}` in a tool name, where no worktree name can be found.
    #[error("cannot resolve {{worktree}} in the tool {tool:?} (from {source_name}): {reason}")]
    Worktree {
        /// The tool name as given.
        tool: String,
        /// Where it came from: a flag, an option or `PORT4ME_TOOL`.
        source_name: String,
        /// Why no name was found.
        reason: String,
    },
    /// Every probe of the search failed.
    #[error("no free {protocol} port found after {tries} attempts (the first candidates were {first:?})")]
    NoFreePort {
        /// Number of probes made.
        tries: u32,
        /// The protocol probed.
        protocol: crate::Protocol,
        /// The first few candidates, to help tell why.
        first: Vec<u16>,
    },
    /// Every distinct candidate (the prepended ports and the allowed set)
    /// was tried once and was busy, before `max_tries` ran out.
    #[error("no free {protocol} port found after {tries} attempts: {}", all_in_use(*count, ports, holders))]
    AllInUse {
        /// Number of candidates looked at (a repeated one counts, though it
        /// is not probed again).
        tries: u32,
        /// The protocol probed.
        protocol: crate::Protocol,
        /// How many distinct ports there were to try.
        count: usize,
        /// Every one of them when there are at most
        /// [`search::LIST_ALL_UP_TO`](crate::search::LIST_ALL_UP_TO), in the
        /// order tried; else the first candidates.
        ports: Vec<u16>,
        /// What holds each port, one line each, when the caller could find
        /// out (the CLI does, with `port4me-holders`); shown after the
        /// message.
        holders: Vec<String>,
    },
    /// The probe itself failed for a reason other than "port in use" or
    /// "permission denied", e.g. the host is not an address of this machine.
    ///
    /// The OS error is part of the message and not also returned by
    /// `source()`, so that a report that prints the chain says it once.
    #[error("could not probe {protocol} port {port} on {host}: {cause}")]
    Probe {
        /// The port.
        port: u16,
        /// The address probed.
        host: String,
        /// The protocol.
        protocol: crate::Protocol,
        /// The OS error.
        cause: io::Error,
    },
}

impl From<crate::probe::UnknownProtocol> for Error {
    fn from(e: crate::probe::UnknownProtocol) -> Self {
        Error::InvalidProtocol(e)
    }
}

crate::error_codes! {
    Error {
        Error::InvalidNumber { .. } => "ERR_PORT4ME_INVALID_NUMBER",
        Error::InvalidPort { .. } | Error::PortNotInteger { .. } => "ERR_PORT4ME_INVALID_PORT",
        // Node's code for an argument of the right type with a value that
        // cannot be used.
        Error::InvalidHost { .. } | Error::HostNotUnicast { .. } | Error::HostMapped { .. } => "ERR_INVALID_ARG_VALUE",
        Error::InvalidProtocol(_) => "ERR_INVALID_ARG_VALUE",
        Error::InvalidEnv { .. } => "ERR_PORT4ME_INVALID_ENV",
        Error::Worktree { .. } => "ERR_PORT4ME_WORKTREE",
        Error::NoFreePort { .. } | Error::AllInUse { .. } => "ERR_PORT4ME_NO_FREE_PORT",
        Error::Probe { .. } => "ERR_PORT4ME_PROBE",
    }
    // The core's codes (port4me_core::Error::CODES).
    delegate {
        Error::Core(e) => e.code(),
        Error::BrowserListToken { spec, .. } => port4me_core::Error::Spec(*spec).code(),
    }
}

/// Defines an error type's `code()` and `CODES` from one table, so that the
/// codes the bindings document (`index.d.ts`, checked against `CODES` by a
/// test) cannot drift from the codes the errors have. Arms under `delegate`
/// take another type's code (whose own `CODES` lists it).
#[macro_export]
macro_rules! error_codes {
    ($ty:ident { $($pat:pat => $code:literal,)+ } $(delegate { $($dpat:pat => $dexpr:expr,)+ })?) => {
        impl $ty {
            /// The stable error code, shared with the Node and WebAssembly
            /// bindings and the CLI's `--json` errors.
            pub fn code(&self) -> &'static str {
                match self {
                    $($pat => $code,)+
                    $($($dpat => $dexpr,)+)?
                }
            }

            /// Every code [`code`](Self::code) returns itself (delegated
            /// codes excluded), from the same table.
            pub const CODES: &'static [&'static str] = &[$($code),+];
        }
    };
}

/// The second half of [`Error::AllInUse`]'s message.
fn all_in_use(count: usize, ports: &[u16], holders: &[String]) -> String {
    let list = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let mut s = match count {
        1 => format!("the only allowed port, {list}, is in use"),
        n if n == ports.len() => format!("all {n} allowed ports are in use ({list})"),
        n => format!("all {n} allowed ports are in use (the first candidates were {ports:?})"),
    };
    for h in holders {
        s.push_str("\n  ");
        s.push_str(h);
    }
    s
}

impl From<port4me_core::SpecError> for Error {
    fn from(e: port4me_core::SpecError) -> Self {
        Error::Core(e.into())
    }
}

fn browser_list_token(spec: &port4me_core::SpecError, self_reference: bool) -> String {
    let head =
        format!("invalid port specification in {}: item \"{}\" at offset {} ", spec.origin, spec.item, spec.offset);
    let name = spec.item.as_str().trim_start_matches('{').trim_end_matches('}');
    if self_reference {
        format!("{head}is a self-reference: {} defines the {name} list itself, so give port numbers", spec.origin)
    } else {
        format!("{head}cannot refer to another browser list: the browser lists hold port numbers only")
    }
}
