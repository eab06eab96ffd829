//! Errors, each with a stable [`code`](Error::code). Names and entries are
//! echoed through [`escape_text`]: a message is text for a terminal.

use std::fmt;

use crate::model::escape_text;

/// Where a bad port number was given, so that the message can say so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortContext {
    /// A plain argument (`who`, `status`).
    Argument,
    /// The preferred port of a service in a plan.
    Service(String),
}

impl fmt::Display for PortContext {
    /// Where a port was given, as port4me's messages name a source:
    /// `invalid port in service "web": 70000 is outside 1-65535`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortContext::Argument => f.write_str("port"),
            PortContext::Service(name) => write!(f, "service \"{}\"", escape_text(name)),
        }
    }
}

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A port outside 1-65535 (or text that is not a whole number), in
    /// port4me's own words and with its code (`ERR_PORT4ME_INVALID_PORT`, or
    /// `ERR_PORT4ME_INVALID_NUMBER` for text that is no number).
    #[error("{0}")]
    InvalidPort(port4me::Error),

    /// A plan with no services.
    #[error("the plan is empty: give at least one service, such as web=5173")]
    PlanEmpty,

    /// The same service name twice in one plan.
    #[error("service \"{}\" appears more than once in the plan", escape_text(name))]
    PlanDuplicateService {
        /// The repeated name.
        name: String,
    },

    /// A service name that cannot be used (it seeds the service's port4me
    /// sequence as the tool name).
    #[error("invalid service name \"{}\": {reason}", escape_text(name))]
    PlanInvalidService {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A plan entry that is not `NAME=PORT`.
    #[error("invalid plan entry \"{}\": expected NAME=PORT, such as web=5173", escape_text(entry))]
    PlanInvalidEntry {
        /// The entry as given.
        entry: String,
    },

    /// An unknown strategy name.
    #[error("unknown plan strategy \"{}\": use alternative, fail or kill", escape_text(name))]
    PlanInvalidStrategy {
        /// The name as given.
        name: String,
    },

    /// Options that do not go together, such as `force` without the `kill`
    /// strategy.
    #[error("invalid plan options: {0}")]
    PlanInvalidOptions(&'static str),

    /// The `fail` strategy met at least one conflict. The plan, with every
    /// conflict and who caused it, comes along.
    #[error("{}", conflict_message(.0))]
    PlanConflict(Box<crate::Plan>),

    /// No alternative port could be found for a service. (The cause is in
    /// the message, not also in `source()`: it would be said twice.)
    #[error("no alternative port for service \"{}\": {cause}", escape_text(service))]
    PlanNoAlternative {
        /// The service.
        service: String,
        /// Why the search failed.
        cause: port4me::Error,
    },

    /// Probing a port failed for a reason other than "in use". The
    /// message is port4me's own, which names the port, the address and the
    /// OS error.
    #[error("{cause}")]
    Probe {
        /// The port.
        port: u16,
        /// The underlying error.
        cause: port4me::Error,
    },

    /// More ports than [`MAX_STATUS_PORTS`](crate::MAX_STATUS_PORTS) asked
    /// about at once (`ERR_INVALID_ARG_VALUE`, Node's code for an argument
    /// that cannot be used).
    #[error("too many ports: {count} given, a status shows at most {} at once", crate::MAX_STATUS_PORTS)]
    TooManyPorts {
        /// How many were given.
        count: usize,
    },

    /// The socket tables of the kernel could not be read.
    #[error("could not read the socket table {what}: {message}")]
    SocketTable {
        /// Which table (e.g. `/proc/net/tcp6`).
        what: String,
        /// The reason.
        message: String,
    },

    /// Finding holders is not implemented on this operating system.
    #[error("finding the holders of a port is not supported on this operating system")]
    Unsupported,
}

fn conflict_message(plan: &crate::Plan) -> String {
    let parts: Vec<String> = plan
        .services
        .iter()
        .filter_map(|s| s.conflict.as_ref().map(|c| format!("{}: {}", escape_text(&s.name), c.message)))
        .collect();
    format!("the plan has {} conflict(s): {}", parts.len(), parts.join("; "))
}

port4me::error_codes! {
    Error {
        Error::PlanEmpty => "ERR_PORT4ME_PLAN_EMPTY",
        Error::PlanDuplicateService { .. } => "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE",
        Error::PlanInvalidService { .. } => "ERR_PORT4ME_PLAN_INVALID_SERVICE",
        Error::PlanInvalidEntry { .. } => "ERR_PORT4ME_PLAN_INVALID_ENTRY",
        Error::PlanInvalidStrategy { .. } => "ERR_PORT4ME_PLAN_INVALID_STRATEGY",
        Error::PlanInvalidOptions(_) => "ERR_PORT4ME_PLAN_INVALID_OPTIONS",
        Error::PlanConflict(_) => "ERR_PORT4ME_PLAN_CONFLICT",
        Error::PlanNoAlternative { .. } => "ERR_PORT4ME_PLAN_NO_ALTERNATIVE",
        Error::Probe { .. } => "ERR_PORT4ME_PROBE",
        Error::TooManyPorts { .. } => "ERR_INVALID_ARG_VALUE",
        Error::SocketTable { .. } => "ERR_PORT4ME_HOLDERS_SOCKET_TABLE",
        Error::Unsupported => "ERR_PORT4ME_HOLDERS_UNSUPPORTED",
    }
    delegate {
        Error::InvalidPort(e) => e.code(),
    }
}

impl Error {
    /// The plan that came with a [`Error::PlanConflict`].
    pub fn plan(&self) -> Option<&crate::Plan> {
        match self {
            Error::PlanConflict(p) => Some(p),
            _ => None,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks a port number given as a number: 1-65535.
///
/// ```
/// use port4me_holders::check_port;
/// assert_eq!(check_port(5173).unwrap(), 5173);
/// assert_eq!(check_port(0).unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
/// assert!(check_port(70000).unwrap_err().to_string().contains("70000"));
/// ```
pub fn check_port(value: u32) -> Result<u16> {
    check_port_in(value as i64, PortContext::Argument)
}

pub(crate) fn check_port_in(value: i64, context: PortContext) -> Result<u16> {
    port4me::check_port(value, &context.to_string()).map_err(Error::InvalidPort)
}

/// Parses a port number given as text (as port4me reads counts: digits,
/// an optional `+`, surrounding spaces), 1-65535.
///
/// ```
/// use port4me_holders::parse_port;
/// assert_eq!(parse_port(" 8080 ").unwrap(), 8080);
/// assert!(parse_port("80a").is_err());
/// assert!(parse_port("65536").is_err());
/// ```
pub fn parse_port(text: &str) -> Result<u16> {
    parse_port_in(text, PortContext::Argument)
}

pub(crate) fn parse_port_in(text: &str, context: PortContext) -> Result<u16> {
    port4me::parse_port(text.trim(), &context.to_string()).map_err(Error::InvalidPort)
}
