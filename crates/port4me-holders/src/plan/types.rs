//! The plan's types: options in, the plan out (each service's port, its
//! outcome, the conflicts met and what the kill strategy did).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use port4me::Protocol;

use crate::error::{Error, Result};
use crate::model::{Holder, ProcessInfo};

/// What to do when a preferred port is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Strategy {
    /// Give the service another port from its own sequence (the default).
    #[default]
    Alternative,
    /// Report the conflicts and fail ([`Error::PlanConflict`]).
    Fail,
    /// Stop the current user's processes that hold the port (SIGTERM; SIGKILL
    /// after the grace period only with `force`); anything else is refused,
    /// and the service falls back to an alternative.
    Kill,
}

impl Strategy {
    /// `alternative`, `fail` or `kill`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Alternative => "alternative",
            Strategy::Fail => "fail",
            Strategy::Kill => "kill",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "alternative" => Ok(Strategy::Alternative),
            "fail" => Ok(Strategy::Fail),
            "kill" => Ok(Strategy::Kill),
            _ => Err(Error::PlanInvalidStrategy { name: s.to_string() }),
        }
    }
}

/// Options of a plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// What to do with taken ports.
    pub strategy: Strategy,
    /// The user part of every service's port4me seed; `None` takes it from
    /// the environment as port4me does (`PORT4ME_USER`, `USER`, ...).
    pub user: Option<String>,
    /// The protocol to plan for (TCP by default).
    pub protocol: Protocol,
    /// How long [`Strategy::Kill`] waits after SIGTERM for the port to be
    /// released (default 5 s).
    pub grace: Duration,
    /// With [`Strategy::Kill`]: send SIGKILL to what still holds the port
    /// after the grace period. Without it, nothing is ever SIGKILLed.
    pub force: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: Strategy::Alternative,
            user: None,
            protocol: Protocol::Tcp,
            grace: Duration::from_secs(5),
            force: false,
        }
    }
}

/// How a service came by its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// Its preferred port was free.
    Kept,
    /// Its preferred port was taken; it got an alternative.
    Moved,
    /// Its preferred port was taken, and freed by stopping the holder.
    Freed,
    /// Its preferred port was taken and the strategy was `fail`: no port.
    Unresolved,
}

impl Outcome {
    /// `kept`, `moved`, `freed` or `unresolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Kept => "kept",
            Outcome::Moved => "moved",
            Outcome::Freed => "freed",
            Outcome::Unresolved => "unresolved",
        }
    }
}

/// Why a preferred port could not simply be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ConflictCause {
    /// Something holds the port (see the holders).
    InUse,
    /// Nothing visible holds it but this user cannot bind it (privileged).
    Blocked,
    /// An earlier service of the same plan has it.
    Service,
}

/// A signal that was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Signal {
    /// SIGTERM: please stop.
    #[cfg_attr(feature = "serde", serde(rename = "SIGTERM"))]
    Term,
    /// SIGKILL: stop now.
    #[cfg_attr(feature = "serde", serde(rename = "SIGKILL"))]
    Kill,
    /// Windows' `TerminateProcess`: stop now. Windows has no request to
    /// stop that console programs receive, so it is the only one sent there.
    #[cfg_attr(feature = "serde", serde(rename = "TerminateProcess"))]
    Terminate,
}

impl Signal {
    /// `SIGTERM`, `SIGKILL` or `TerminateProcess`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Kill => "SIGKILL",
            Signal::Terminate => "TerminateProcess",
        }
    }
}

/// One signal sent to one process.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignalSent {
    /// The process.
    pub pid: u32,
    /// The signal.
    pub signal: Signal,
}

/// What the `kill` strategy did about one conflict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct KillReport {
    /// The processes that held the port.
    pub targets: Vec<ProcessInfo>,
    /// The signals sent, in order.
    pub signals: Vec<SignalSent>,
    /// Whether the port was free afterwards.
    pub freed: bool,
    /// Why nothing was (or not everything could be) done, when so.
    pub refused: Option<String>,
}

/// A preferred port that could not simply be kept.
// (`PlanConflict` in TypeScript, where it stands beside the other types.)
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PlanConflict"))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Conflict {
    /// Why.
    pub cause: ConflictCause,
    /// What held the preferred port when the plan was made (empty when
    /// nothing visible did, or when this system cannot tell).
    pub holders: Vec<Holder>,
    /// The earlier service that has the port, for [`ConflictCause::Service`].
    pub service: Option<String>,
    /// One sentence: "5173 is in use by node (pid 4242, alice): vite".
    pub message: String,
    /// What the `kill` strategy did, when it was used.
    pub kill: Option<KillReport>,
}

/// The port of one service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct ServicePlan {
    /// The service name.
    pub name: String,
    /// The port it asked for.
    pub preferred: u16,
    /// The port it gets (`None` only with `fail` and a conflict).
    pub port: Option<u16>,
    /// How it came by it.
    pub outcome: Outcome,
    /// Why it did not simply keep its preferred port.
    pub conflict: Option<Conflict>,
    /// Things worth knowing that do not stop the plan (for example a kept
    /// preferred port that browsers refuse).
    pub warnings: Vec<String>,
}

/// A plan: one entry per service, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Plan {
    /// The strategy used.
    pub strategy: Strategy,
    /// Per service, in the order given.
    pub services: Vec<ServicePlan>,
    /// Why the port4me registry could not be read, when it could not: the
    /// ports were then chosen without knowing what it holds, and every
    /// service says so in its warnings.
    pub registry_error: Option<String>,
}

impl Plan {
    /// Whether every service has a port.
    pub fn is_complete(&self) -> bool {
        self.services.iter().all(|s| s.port.is_some())
    }

    /// The port of the service `name`.
    pub fn port_of(&self, name: &str) -> Option<u16> {
        self.services.iter().find(|s| s.name == name).and_then(|s| s.port)
    }

    /// The services whose preferred port was taken.
    pub fn conflicts(&self) -> impl Iterator<Item = &ServicePlan> {
        self.services.iter().filter(|s| s.conflict.is_some())
    }
}
