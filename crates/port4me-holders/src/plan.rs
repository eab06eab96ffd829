//! Conflict-free ports for a set of services.
//!
//! Every service names a preferred port. It keeps that port when the port is
//! free; otherwise it gets the first port of its own port4me sequence (the
//! service name is the tool, so `web` always walks the same sequence for the
//! same user) that is free, safe for browsers and neither given to nor
//! preferred by another service of the plan. Services are handled in the
//! order given, so the same services over the same busy ports always give
//! the same plan.
//!
//! Nothing is ever signalled unless the strategy is [`Strategy::Kill`], and
//! then only processes of the current user (checked again right before each
//! signal, with the process start time guarding against a recycled pid):
//! SIGTERM first, then, if the port is still held after
//! [`PlanOptions::grace`] and [`PlanOptions::force`] is set, SIGKILL. A kill
//! that is refused or does not free the port leaves the service to an
//! alternative port, and the plan says why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use port4me::probe::{is_port_free, ProbeOptions};
use port4me::{Port4me, Protocol};

use crate::describe::describe_holders;
use crate::error::{check_port_in, parse_port_in, Error, PortContext, Result};
use crate::model::{unsafe_for, Holder, ProcessAccess, ProcessInfo};
use crate::reservations::Reservations;
use crate::status::{blocked_reason, can_bind_privileged};
use crate::sys;
use crate::users::{current_uid, user_name};

/// What to do when a preferred port is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// How long to wait for a port after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often to look while waiting.
const POLL: Duration = Duration::from_millis(25);

/// How a service came by its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
pub enum Signal {
    /// SIGTERM: please stop.
    #[cfg_attr(feature = "serde", serde(rename = "SIGTERM"))]
    Term,
    /// SIGKILL: stop now.
    #[cfg_attr(feature = "serde", serde(rename = "SIGKILL"))]
    Kill,
}

impl Signal {
    /// `SIGTERM` or `SIGKILL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Kill => "SIGKILL",
        }
    }
}

/// One signal sent to one process.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SignalSent {
    /// The process.
    pub pid: u32,
    /// The signal.
    pub signal: Signal,
}

/// What the `kill` strategy did about one conflict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// Parses one `NAME=PORT` entry, as the CLI takes them.
///
/// ```
/// use port4me_holders::parse_entry;
/// assert_eq!(parse_entry("web=5173").unwrap(), ("web".to_string(), 5173));
/// assert_eq!(parse_entry("web").unwrap_err().code(), "ERR_PORT4ME_PLAN_INVALID_ENTRY");
/// assert_eq!(parse_entry("web=70000").unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
/// ```
pub fn parse_entry(entry: &str) -> Result<(String, u16)> {
    let Some((name, port)) = entry.split_once('=') else {
        return Err(Error::PlanInvalidEntry { entry: entry.to_string() });
    };
    let name = name.trim();
    check_name(name)?;
    let port = parse_port_in(port, PortContext::Service(name.to_string()))?;
    Ok((name.to_string(), port))
}

fn check_name(name: &str) -> Result<()> {
    let bad = |reason| Err(Error::PlanInvalidService { name: name.to_string(), reason });
    if name.is_empty() {
        return bad("a service needs a name");
    }
    if name.chars().count() > 100 {
        return bad("longer than 100 characters");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    if name.contains(['=', ',']) {
        return bad("contains '=' or ','");
    }
    Ok(())
}

/// Checks the services: at least one, valid unique names, ports 1-65535.
fn validate<S: AsRef<str>>(services: &[(S, u32)]) -> Result<Vec<(String, u16)>> {
    if services.is_empty() {
        return Err(Error::PlanEmpty);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(services.len());
    for (name, port) in services {
        let name = name.as_ref();
        check_name(name)?;
        if !seen.insert(name) {
            return Err(Error::PlanDuplicateService { name: name.to_string() });
        }
        let port = check_port_in(*port as i64, PortContext::Service(name.to_string()))?;
        out.push((name.to_string(), port));
    }
    Ok(out)
}

/// Makes a plan, probing ports with port4me's own probe and never giving
/// out, as an alternative, a port `registry` holds (a port it cannot tell
/// about counts as held).
///
/// `services` are `(name, preferred port)` pairs, handled in that order.
pub fn plan<S: AsRef<str>>(services: &[(S, u32)], opts: &PlanOptions, registry: &dyn Reservations) -> Result<Plan> {
    let probe_opts = ProbeOptions { protocol: opts.protocol, ..Default::default() };
    let mut probe = |port: u16| is_port_free(port, &probe_opts);
    let Some(why) = registry.unreadable() else {
        let held = |port| !matches!(registry.reservation(port, opts.protocol), Ok(None));
        return plan_inner(services, opts, &mut probe, &held);
    };
    let why = why.to_string();
    match plan_inner(services, opts, &mut probe, &|_| false) {
        Ok(p) => Ok(unknown_registry(p, why)),
        Err(Error::PlanConflict(p)) => Err(Error::PlanConflict(Box::new(unknown_registry(*p, why)))),
        Err(e) => Err(e),
    }
}

/// Marks a plan made without the registry's holdings.
fn unknown_registry(mut plan: Plan, why: String) -> Plan {
    for s in &mut plan.services {
        if let Some(port) = s.port {
            s.warnings
                .push(format!("whether {port} is held in the port4me registry: unknown (registry unreadable: {why})"));
        }
    }
    plan.registry_error = Some(why);
    plan
}

/// Like [`plan`], with the answer to "is this port free?" supplied by the
/// caller (tests, or callers that probe a specific host).
pub fn plan_with<S: AsRef<str>>(
    services: &[(S, u32)],
    opts: &PlanOptions,
    probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>,
) -> Result<Plan> {
    plan_inner(services, opts, probe, &|_| false)
}

/// The plan, where `held` says which ports the registry holds: those are
/// never chosen as alternatives (a preferred port is still judged by the
/// probe alone: it is the caller's own choice).
fn plan_inner<S: AsRef<str>>(
    services: &[(S, u32)],
    opts: &PlanOptions,
    probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>,
    held: &dyn Fn(u16) -> bool,
) -> Result<Plan> {
    let services = validate(services)?;
    if opts.force && opts.strategy != Strategy::Kill {
        return Err(Error::PlanInvalidOptions("force (SIGKILL) is only allowed with the kill strategy"));
    }
    let preferred: BTreeSet<u16> = services.iter().map(|(_, p)| *p).collect();
    // Ports handed out so far, and to whom.
    let mut claimed: BTreeMap<u16, String> = BTreeMap::new();
    let mut out: Vec<ServicePlan> = Vec::with_capacity(services.len());

    // Pass 1: preferred ports.
    for (name, port) in &services {
        let mut sp = ServicePlan {
            name: name.clone(),
            preferred: *port,
            port: None,
            outcome: Outcome::Unresolved,
            conflict: None,
            warnings: Vec::new(),
        };
        let browsers = unsafe_for(*port);
        if !browsers.is_empty() {
            let names: Vec<&str> = browsers.iter().map(|b| b.as_str()).collect();
            sp.warnings
                .push(format!("port {port} is blocked by {}: browsers will refuse to open it", names.join(" and ")));
        }
        if let Some(other) = claimed.get(port) {
            sp.conflict = Some(Conflict {
                cause: ConflictCause::Service,
                holders: Vec::new(),
                service: Some(other.clone()),
                message: format!("{port} is also the preferred port of \"{other}\", which comes first in the plan"),
                kill: None,
            });
        } else if probe(*port).map_err(|cause| Error::Probe { port: *port, cause })? {
            sp.port = Some(*port);
            sp.outcome = Outcome::Kept;
        } else {
            let mut conflict = taken_conflict(*port, opts.protocol);
            if opts.strategy == Strategy::Kill && conflict.cause == ConflictCause::InUse {
                let report = kill_holders(*port, &conflict.holders, opts, probe);
                if report.freed {
                    sp.port = Some(*port);
                    sp.outcome = Outcome::Freed;
                }
                conflict.kill = Some(report);
            }
            sp.conflict = Some(conflict);
        }
        if let Some(p) = sp.port {
            claimed.insert(p, name.clone());
        }
        out.push(sp);
    }

    if opts.strategy == Strategy::Fail && out.iter().any(|s| s.port.is_none()) {
        return Err(Error::PlanConflict(Box::new(Plan {
            strategy: opts.strategy,
            services: out,
            registry_error: None,
        })));
    }

    // Pass 2: alternatives, in order, from each service's own sequence.
    for sp in out.iter_mut().filter(|s| s.port.is_none()) {
        let mut finder = Port4me::new().tool(sp.name.as_str());
        if let Some(u) = &opts.user {
            finder = finder.user(u.as_str());
        }
        let found = finder.find_with(|candidate: u16| {
            if claimed.contains_key(&candidate)
                || preferred.contains(&candidate)
                || !unsafe_for(candidate).is_empty()
                || held(candidate)
            {
                return Ok(false);
            }
            probe(candidate)
        });
        let port = found.map_err(|cause| Error::PlanNoAlternative { service: sp.name.clone(), cause })?;
        sp.port = Some(port);
        sp.outcome = Outcome::Moved;
        claimed.insert(port, sp.name.clone());
    }
    Ok(Plan { strategy: opts.strategy, services: out, registry_error: None })
}

/// The conflict for a preferred port the probe found taken.
fn taken_conflict(port: u16, protocol: Protocol) -> Conflict {
    let holders = sys::holders(&[port], protocol).ok().and_then(|mut m| m.remove(&port));
    let known = holders.is_some();
    let holders = holders.unwrap_or_default();
    if let Some(message) = describe_holders(port, protocol, &holders) {
        return Conflict { cause: ConflictCause::InUse, holders, service: None, message, kill: None };
    }
    let privileged = port < sys::unprivileged_port_start() && !can_bind_privileged();
    if known || privileged {
        let message = format!("{port} cannot be bound: {}", blocked_reason(port, privileged));
        return Conflict { cause: ConflictCause::Blocked, holders, service: None, message, kill: None };
    }
    Conflict {
        cause: ConflictCause::InUse,
        holders,
        service: None,
        message: format!("{port} is in use (this system cannot tell by what)"),
        kill: None,
    }
}

/// The kill strategy for one port: checks every holder, signals only when
/// all of them are the current user's processes.
fn kill_holders(
    port: u16,
    holders: &[Holder],
    opts: &PlanOptions,
    probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>,
) -> KillReport {
    let mut report = KillReport::default();
    let me = current_uid();
    let refuse = |mut report: KillReport, why: String| {
        report.refused = Some(why);
        report
    };

    if holders.is_empty() {
        return refuse(report, "this system cannot tell what holds the port".to_string());
    }
    // Every socket must be attributable to visible processes.
    for h in holders {
        match h.access {
            ProcessAccess::Visible | ProcessAccess::NoProcess => {}
            ProcessAccess::Hidden | ProcessAccess::NotFound => {
                return refuse(
                    report,
                    format!("not stopping anything: a {} socket is held by {}", h.state, h.describe()),
                );
            }
        }
    }
    let mut targets: Vec<ProcessInfo> = Vec::new();
    for p in holders.iter().flat_map(|h| &h.processes) {
        if !targets.iter().any(|t| t.pid == p.pid) {
            targets.push(p.clone());
        }
    }
    targets.sort_by_key(|t| t.pid);
    report.targets = targets.clone();
    if targets.is_empty() {
        return refuse(
            report,
            "no process holds the port: only closed connections in TIME_WAIT, which the kernel releases within a minute"
                .to_string(),
        );
    }
    // Every target must be ours, and not this process or init.
    let mut identities = Vec::new();
    for t in &targets {
        if t.pid == std::process::id() {
            return refuse(report, format!("pid {} ({}) is this very process", t.pid, t.name));
        }
        if t.pid <= 1 {
            return refuse(report, format!("pid {} ({}) is the init process", t.pid, t.name));
        }
        let Some((start, ruid, euid)) = sys::process_identity(t.pid) else {
            continue; // gone already
        };
        if ruid != me || euid != me {
            let owner = user_name(if euid != me { euid } else { ruid });
            return refuse(
                report,
                format!(
                    "pid {} ({}) belongs to {owner}, not to {}: only your own processes are stopped",
                    t.pid,
                    t.name,
                    user_name(me)
                ),
            );
        }
        identities.push((t.pid, start));
    }

    let is_free =
        |probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>| probe(port).unwrap_or(false);
    let mut failures = Vec::new();
    send_all(&identities, Signal::Term, me, &mut report, &mut failures);
    report.freed = wait_free(opts.grace, &mut || is_free(probe));
    if !report.freed && opts.force {
        send_all(&identities, Signal::Kill, me, &mut report, &mut failures);
        report.freed = wait_free(KILL_WAIT, &mut || is_free(probe));
    }
    if !report.freed {
        failures.push(if opts.force {
            "the port was still taken after SIGTERM and SIGKILL".to_string()
        } else {
            format!(
                "the port was still taken {} ms after SIGTERM (SIGKILL is only sent with force)",
                opts.grace.as_millis()
            )
        });
    }
    if !failures.is_empty() {
        report.refused = Some(failures.join("; "));
    }
    report
}

/// Sends `signal` to every process still alive with the same identity.
fn send_all(identities: &[(u32, u64)], signal: Signal, me: u32, report: &mut KillReport, failures: &mut Vec<String>) {
    for &(pid, start) in identities {
        // Re-check right before signalling: same process, still ours.
        match sys::process_identity(pid) {
            Some((s, ruid, euid)) if s == start && ruid == me && euid == me => {}
            _ => continue, // exited, or the pid now names another process
        }
        match send_signal(pid, signal) {
            Ok(()) => report.signals.push(SignalSent { pid, signal }),
            Err(e) => failures.push(format!("{} to pid {pid} failed: {e}", signal.as_str())),
        }
    }
}

#[cfg(unix)]
fn send_signal(pid: u32, signal: Signal) -> std::io::Result<()> {
    let sig = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: kill has no memory-safety preconditions; pid is positive.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            Ok(()) // already gone
        } else {
            Err(e)
        }
    }
}

#[cfg(not(unix))]
fn send_signal(_pid: u32, _signal: Signal) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Polls `free` until it says yes or `limit` passes.
fn wait_free(limit: Duration, free: &mut dyn FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if free() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> PlanOptions {
        PlanOptions { user: Some("alice".into()), ..Default::default() }
    }

    #[test]
    fn validation_names_the_bad_value() {
        let e = plan_with::<&str>(&[], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_EMPTY");
        let e = plan_with(&[("web", 0)], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_PORT");
        assert!(e.to_string().contains("invalid port in service \"web\": 0 is outside 1-65535"), "{e}");
        let e = plan_with(&[("web", 70000)], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert!(e.to_string().contains("70000"), "{e}");
        let e = plan_with(&[("web", 1), ("web", 2)], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE");
        assert!(e.to_string().contains("\"web\""), "{e}");
        let e = plan_with(&[("", 1)], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_SERVICE");
        let e = plan_with(&[("a b", 1)], &opts(), &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_SERVICE");
        let o = PlanOptions { force: true, ..opts() };
        let e = plan_with(&[("web", 5173)], &o, &mut |_| Ok(true)).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_OPTIONS");
        assert_eq!("KILL".parse::<Strategy>().unwrap(), Strategy::Kill);
        assert_eq!("nuke".parse::<Strategy>().unwrap_err().code(), "ERR_PORT4ME_PLAN_INVALID_STRATEGY");
    }

    #[test]
    fn free_ports_are_kept_taken_ones_move_along_their_own_sequence() {
        let taken = [5173u16, 5432];
        let mut probe = |p: u16| Ok(!taken.contains(&p));
        let p = plan_with(&[("web", 5173), ("api", 3000), ("db", 5432)], &opts(), &mut probe).unwrap();
        assert_eq!(p.port_of("api"), Some(3000));
        assert_eq!(p.services[1].outcome, Outcome::Kept);
        let web_seq = Port4me::new().user("alice").tool("web").list(1).unwrap();
        let db_seq = Port4me::new().user("alice").tool("db").list(1).unwrap();
        assert_eq!(p.port_of("web"), Some(web_seq[0]));
        assert_eq!(p.port_of("db"), Some(db_seq[0]));
        assert_eq!(p.services[0].outcome, Outcome::Moved);
        assert!(p.services[0].conflict.is_some());
        // Deterministic.
        let again = plan_with(&[("web", 5173), ("api", 3000), ("db", 5432)], &opts(), &mut probe).unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn alternatives_avoid_each_other_preferred_ports_and_unsafe_ports() {
        // Everything before the tenth candidate of "web" is busy; "api"
        // prefers exactly that candidate, so web must skip it.
        let seq = Port4me::new().user("alice").tool("web").list(10).unwrap();
        let target = seq[9];
        let busy: Vec<u16> = seq[..9].to_vec();
        let mut probe = |p: u16| Ok(!busy.contains(&p) && p != 5173);
        let p = plan_with(&[("web", 5173), ("api", target as u32)], &opts(), &mut probe).unwrap();
        assert_eq!(p.port_of("api"), Some(target));
        let web = p.port_of("web").unwrap();
        assert!(web != target && !seq[..10].contains(&web));
        assert!(unsafe_for(web).is_empty());
    }

    #[test]
    fn the_same_preferred_port_twice_goes_to_the_first() {
        let mut probe = |_| Ok(true);
        let p = plan_with(&[("web", 4000), ("docs", 4000)], &opts(), &mut probe).unwrap();
        assert_eq!(p.port_of("web"), Some(4000));
        let docs = &p.services[1];
        assert_eq!(docs.outcome, Outcome::Moved);
        let c = docs.conflict.as_ref().unwrap();
        assert_eq!((c.cause, c.service.as_deref()), (ConflictCause::Service, Some("web")));
        assert_ne!(docs.port, Some(4000));
    }

    #[test]
    fn fail_reports_conflicts_without_ports() {
        let o = PlanOptions { strategy: Strategy::Fail, ..opts() };
        let mut probe = |p: u16| Ok(p != 5173);
        let e = plan_with(&[("web", 5173), ("api", 3000)], &o, &mut probe).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PLAN_CONFLICT");
        assert!(e.to_string().contains("web: 5173"), "{e}");
        let plan = e.plan().unwrap();
        assert_eq!(plan.port_of("web"), None);
        assert_eq!(plan.port_of("api"), Some(3000));
        assert_eq!(plan.services[0].outcome, Outcome::Unresolved);
    }

    #[test]
    fn unsafe_preferred_port_is_kept_with_a_warning() {
        let p = plan_with(&[("x11", 6000)], &opts(), &mut |_| Ok(true)).unwrap();
        assert_eq!(p.port_of("x11"), Some(6000));
        assert!(p.services[0].warnings[0].contains("chrome and firefox"));
    }
}
