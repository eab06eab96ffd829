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

mod kill;
mod parse;
mod types;

use std::collections::{BTreeMap, BTreeSet};

use port4me::probe::{is_port_free, ProbeOptions};
use port4me::{Port4me, Protocol};

use kill::kill_holders;
pub use parse::parse_entry;
use parse::validate;
pub use types::*;

use crate::describe::describe_holders;
use crate::error::{Error, Result};
use crate::model::{escape_text, unsafe_for};
use crate::reservations::Reservations;
use crate::status::{blocked_reason, can_bind_privileged};
use crate::sys;

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
                message: format!(
                    "{port} is also the preferred port of \"{}\", which comes first in the plan",
                    escape_text(other)
                ),
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
    if cfg!(windows) {
        for sp in &mut out {
            if let Some(port) = sp.port {
                sp.warnings.push(firewall_warning(&sp.name, port, opts.protocol));
            }
        }
    }
    Ok(Plan { strategy: opts.strategy, services: out, registry_error: None })
}

/// Windows: the command that lets other machines reach a service, which
/// port4me prints and never runs.
pub(crate) fn firewall_warning(name: &str, port: u16, protocol: Protocol) -> String {
    format!(
        "if it listens beyond the loopback, Windows Firewall needs an inbound rule (port4me never changes the firewall): {}",
        crate::firewall::firewall_rule_command(name, port, protocol)
    )
}

/// The conflict for a preferred port the probe found taken.
fn taken_conflict(port: u16, protocol: Protocol) -> Conflict {
    let holders = sys::holders(&[port], protocol).ok().and_then(|mut m| m.remove(&port));
    // An empty list proves nothing where other users' sockets are hidden.
    let known = holders.as_ref().is_some_and(|h| !h.is_empty() || sys::sees_every_socket());
    let holders = holders.unwrap_or_default();
    if let Some(message) = describe_holders(port, protocol, &holders) {
        return Conflict { cause: ConflictCause::InUse, holders, service: None, message, kill: None };
    }
    let privileged = port < sys::unprivileged_port_start() && !can_bind_privileged();
    if known || privileged {
        let message = format!("{port} cannot be bound: {}", blocked_reason(port, protocol, privileged));
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
