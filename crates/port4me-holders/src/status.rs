//! The status of ports: free, occupied, blocked; unsafe and reserved on top.

use port4me::probe::{is_port_free, ProbeOptions};
use port4me::Protocol;

use crate::error::{check_port, Error, Result};
use crate::model::{unsafe_for, Availability, Holder, PortStatus, StatusLabel};
use crate::reservations::Reservations;
use crate::sys;
use crate::users::current_uid;

/// The most ports one [`status_with`] call looks at: each costs a probe
/// and a registry lookup, and a caller asking about every port (a million
/// from JavaScript) would wait for minutes. The CLI's `status` and the
/// Node `status()` share this limit.
pub const MAX_STATUS_PORTS: usize = 1024;

/// Options for [`status_with`].
#[derive(Clone, Debug, Default)]
pub struct StatusOptions {
    /// The protocol to check (TCP by default).
    pub protocol: Protocol,
}

/// The status of one TCP port: free, occupied (with holders) or blocked,
/// plus whether browsers refuse it and whether `registry` holds it.
pub fn status(port: u32, registry: &dyn Reservations) -> Result<PortStatus> {
    Ok(status_with(&[port], &StatusOptions::default(), registry)?.remove(0))
}

/// The status of several ports at once (one scan of the socket tables and
/// processes for all of them), in the order given, with what `registry`
/// holds (pass [`NoRegistry`](crate::NoRegistry) to leave it out).
/// At most [`MAX_STATUS_PORTS`] ports ([`Error::TooManyPorts`]).
pub fn status_with(ports: &[u32], opts: &StatusOptions, registry: &dyn Reservations) -> Result<Vec<PortStatus>> {
    if ports.len() > MAX_STATUS_PORTS {
        return Err(Error::TooManyPorts { count: ports.len() });
    }
    let ports: Vec<u16> = ports.iter().map(|&p| check_port(p)).collect::<Result<_>>()?;
    let probe = ProbeOptions { protocol: opts.protocol, ..Default::default() };
    let mut free = Vec::with_capacity(ports.len());
    for &p in &ports {
        free.push(is_port_free(p, &probe).map_err(|cause| Error::Probe { port: p, cause })?);
    }
    let mut holders = match sys::holders(&ports, opts.protocol) {
        Ok(h) => Some(h),
        Err(Error::Unsupported) => None,
        Err(e) => return Err(e),
    };
    let mut reserved: Vec<_> = ports.iter().map(|&p| registry.reservation(p, opts.protocol)).collect();
    let mut out = Vec::with_capacity(ports.len());
    // The firewall's rules, read once for every port that needs them.
    let mut rules = None;
    for (i, (&port, free)) in ports.iter().zip(free).enumerate() {
        let h: Option<Vec<Holder>> = holders.as_mut().map(|m| m.get(&port).cloned().unwrap_or_default());
        let (availability, blocked_reason) = availability(port, opts.protocol, free, h.as_deref());
        let firewall = firewall(&mut rules, port, opts.protocol, h.as_deref());
        let (reserved, registry_error) = match std::mem::replace(&mut reserved[i], Ok(None)) {
            Ok(r) => (r, None),
            Err(why) => (None, Some(why)),
        };
        out.push(
            PortStatus {
                port,
                protocol: opts.protocol,
                availability,
                holders: h,
                blocked_reason,
                unsafe_for: unsafe_for(port),
                reserved,
                registry_error,
                firewall,
                label: StatusLabel::Free,
                labels: Vec::new(),
                description: String::new(),
            }
            .summarized(),
        );
    }
    Ok(out)
}

fn availability(
    port: u16,
    protocol: Protocol,
    free: bool,
    holders: Option<&[Holder]>,
) -> (Availability, Option<String>) {
    if free {
        return (Availability::Free, None);
    }
    let privileged = port < sys::unprivileged_port_start() && !can_bind_privileged();
    match holders {
        Some(h) if !h.is_empty() => (Availability::Occupied, None),
        // Nothing can be seen: blocked if we know why, else assume occupied.
        None if !privileged => (Availability::Occupied, None),
        // macOS shows a user only their own processes' sockets.
        Some(_) if !privileged && !sys::sees_every_socket() => (Availability::Occupied, None),
        _ => (Availability::Blocked, Some(blocked_reason(port, protocol, privileged))),
    }
}

/// Windows: the firewall's answer for a port whose server listens beyond
/// the loopback, with the command that would let it in when none does.
/// `rules` keeps the rules once read, for the next port.
fn firewall(
    rules: &mut Option<Result<String, crate::firewall::Firewall>>,
    port: u16,
    protocol: Protocol,
    holders: Option<&[Holder]>,
) -> Option<String> {
    let holders = holders.filter(|h| cfg!(windows) && crate::firewall::listens_outside(h))?;
    #[cfg(windows)]
    return Some(
        match crate::firewall::check(rules.get_or_insert_with(crate::firewall::rules), port, protocol, holders) {
            crate::firewall::Firewall::NotAllowed => format!(
                "not allowed (to let other machines in: {})",
                crate::firewall::firewall_rule_command("port", port, protocol)
            ),
            other => other.describe(),
        },
    );
    #[cfg(not(windows))]
    {
        let _ = (rules, port, protocol, holders);
        None
    }
}

/// Why nothing visible holds a port this user cannot bind: a privileged
/// port, Windows' excluded port range (read only now, when a bind has
/// failed), or another exclusive socket or a policy.
pub(crate) fn blocked_reason(port: u16, protocol: Protocol, privileged: bool) -> String {
    if let Some(range) = (cfg!(windows) && !privileged).then(|| crate::excluded_port_range(port, protocol)).flatten() {
        return range.to_string();
    }
    if privileged {
        format!(
            "port {port} is privileged (below {}) and this user may not bind it (no CAP_NET_BIND_SERVICE)",
            sys::unprivileged_port_start()
        )
    } else {
        format!(
            "port {port} cannot be bound by this user, but no socket in this network namespace holds it \
             (another program's exclusive socket, a security policy, or a socket that just closed)"
        )
    }
}

/// Whether this process may bind ports below the unprivileged start: root,
/// or `CAP_NET_BIND_SERVICE` in the effective set.
pub(crate) fn can_bind_privileged() -> bool {
    if current_uid() == 0 {
        return true;
    }
    const CAP_NET_BIND_SERVICE: u32 = 10;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
        })
        .is_some_and(|caps| caps >> CAP_NET_BIND_SERVICE & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoRegistry;

    #[test]
    fn a_status_looks_at_most_at_max_status_ports() {
        let ports: Vec<u32> = (1..=MAX_STATUS_PORTS as u32 + 1).collect();
        let e = status_with(&ports, &StatusOptions::default(), &NoRegistry).unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARG_VALUE");
        assert_eq!(e.to_string(), "too many ports: 1025 given, a status shows at most 1024 at once");
    }
}
