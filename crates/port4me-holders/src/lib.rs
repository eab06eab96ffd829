//! Who holds a port, what state a port is in, and conflict-free port plans
//! for a set of services.
//!
//! * [`who_holds`]: every socket on a port (listening, connected, in
//!   `TIME_WAIT`, bound UDP) with its local address and, where the kernel
//!   lets us see it, the pid, name, command line and user of the processes
//!   that hold it. Sockets of processes we may not inspect are reported with
//!   their owner and [`ProcessAccess::Hidden`], not dropped. Linux reads
//!   `/proc`, macOS libproc, Windows its TCP and UDP tables with owner pids;
//!   other systems answer [`Error::Unsupported`].
//! * [`status`] / [`status_with`]: free, occupied (with holders), blocked
//!   (cannot be bound by this user), plus unsafe (refused by browsers) and
//!   reserved (in the port4me registry, which the caller opens and passes
//!   in: see [`reservations`]). When the registry exists but
//!   cannot be read, a free port is `unknown (registry unreadable: why)`,
//!   never plain free ([`PortStatus::registry_error`]); a plan says the same
//!   in every service's warnings ([`Plan::registry_error`]).
//! * [`plan`]: each service keeps its preferred port when it is free, or gets
//!   the next free port of its own port4me sequence (tool = service name).
//!   Processes are only ever signalled with [`Strategy::Kill`], only when they
//!   belong to the current user, SIGTERM first, and SIGKILL only when
//!   [`PlanOptions::force`] is set too. Windows has no polite request that
//!   console programs receive: there it is `TerminateProcess`, never for
//!   pid 0-4, services or processes that cannot be opened.
//! * [`describe_busy`]: "5173 is in use by node (pid 4242, alice): vite --port
//!   5173", for error messages.
//!
//! Ports are taken as `u32` and checked (1-65535) so that callers from other
//! languages get [`Error::InvalidPort`] rather than a silent truncation.
//!
//! ```no_run
//! use port4me::Protocol;
//! use port4me_holders::{plan, who_holds, PlanOptions};
//!
//! for h in who_holds(5173, Protocol::Tcp)? {
//!     println!("{} {} {}", h.state, h.local_address, h.describe());
//! }
//! let p = plan(&[("web", 5173), ("api", 3000)], &PlanOptions::default(), &port4me_holders::NoRegistry)?;
//! for s in &p.services {
//!     println!("{}={}", s.name, s.port.unwrap());
//! }
//! # Ok::<(), port4me_holders::Error>(())
//! ```

#![warn(missing_docs)]

mod describe;
mod error;
mod excluded;
mod firewall;
mod model;
mod plan;
pub mod reservations;
mod status;
mod users;

#[cfg(any(target_os = "macos", test))]
mod mac_socket;
#[cfg(any(windows, target_os = "macos", test))]
mod table;
#[cfg(any(windows, test))]
mod win_table;

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod sys;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos", windows)))]
#[path = "other.rs"]
mod sys;

pub use describe::{describe_busy, describe_holders, port_label};
pub use error::{check_port, parse_port, Error, PortContext, Result};
pub use excluded::{excluded_port_range, ExcludedRange};
pub use firewall::firewall_rule_command;
pub use model::{
    escape_text, protocol_name, unsafe_for, Availability, Browser, Holder, PortStatus, ProcessAccess, ProcessInfo,
    Reservation, SocketState, StatusLabel,
};
pub use plan::{
    parse_entry, plan, plan_with, Conflict, ConflictCause, KillReport, Outcome, Plan, PlanOptions, ServicePlan, Signal,
    SignalSent, Strategy,
};
pub use port4me::Protocol;
pub use reservations::{NoRegistry, Reservations, Unreadable};
pub use status::{status, status_with, StatusOptions, MAX_STATUS_PORTS};
pub use users::{current_uid, user_name};

/// Every socket on `port` for `protocol`, server sockets first.
///
/// An empty list means nothing in this network namespace has the port. On
/// systems other than Linux, macOS and Windows this is
/// [`Error::Unsupported`] ("unknown").
pub fn who_holds(port: u32, protocol: Protocol) -> Result<Vec<Holder>> {
    let port = check_port(port)?;
    Ok(sys::holders(&[port], protocol)?.remove(&port).unwrap_or_default())
}

/// The pid, name, command line and user of one process, when visible.
pub fn process_info(pid: u32) -> Option<ProcessInfo> {
    port4me_process::lookup(pid).map(ProcessInfo::from_process)
}
