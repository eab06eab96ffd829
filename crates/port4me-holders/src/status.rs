//! The status of ports: free, occupied, blocked; unsafe and reserved on top.

use port4me::probe::{is_port_free, ProbeOptions};
use port4me::Protocol;

use crate::error::{check_port, Error, Result};
use crate::model::{unsafe_for, Availability, Holder, PortStatus, Reservation};
use crate::sys;
use crate::users::current_uid;

/// Options for [`status_with`].
#[derive(Clone, Debug)]
pub struct StatusOptions {
    /// The protocol to check (TCP by default).
    pub protocol: Protocol,
    /// Whether to look the ports up in the port4me registry (default true).
    pub registry: bool,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions { protocol: Protocol::Tcp, registry: true }
    }
}

/// The status of one TCP port: free, occupied (with holders) or blocked,
/// plus whether browsers refuse it and whether it is reserved in the
/// registry.
pub fn status(port: u32) -> Result<PortStatus> {
    Ok(status_with(&[port], &StatusOptions::default())?.remove(0))
}

/// The status of several ports at once (one scan of the socket tables and
/// processes for all of them), in the order given.
pub fn status_with(ports: &[u32], opts: &StatusOptions) -> Result<Vec<PortStatus>> {
    let ports: Vec<u16> = ports.iter().map(|&p| check_port(p)).collect::<Result<_>>()?;
    let probe = ProbeOptions { protocol: opts.protocol, ..Default::default() };
    let mut free = Vec::with_capacity(ports.len());
    for &p in &ports {
        free.push(is_port_free(p, &probe).map_err(|source| Error::Probe { port: p, source })?);
    }
    let mut holders = match sys::holders(&ports, opts.protocol) {
        Ok(h) => Some(h),
        Err(Error::Unsupported) => None,
        Err(e) => return Err(e),
    };
    let mut reserved = if opts.registry { reservations(&ports, opts.protocol) } else { vec![Ok(None); ports.len()] };
    let mut out = Vec::with_capacity(ports.len());
    for (i, (&port, free)) in ports.iter().zip(free).enumerate() {
        let h: Option<Vec<Holder>> = holders.as_mut().map(|m| m.get(&port).cloned().unwrap_or_default());
        let (availability, blocked_reason) = availability(port, free, h.as_deref());
        let (reserved, registry_error) = match std::mem::replace(&mut reserved[i], Ok(None)) {
            Ok(r) => (r, None),
            Err(why) => (None, Some(why)),
        };
        out.push(PortStatus {
            port,
            protocol: opts.protocol,
            availability,
            holders: h,
            blocked_reason,
            unsafe_for: unsafe_for(port),
            reserved,
            registry_error,
        });
    }
    Ok(out)
}

fn availability(port: u16, free: bool, holders: Option<&[Holder]>) -> (Availability, Option<String>) {
    if free {
        return (Availability::Free, None);
    }
    let privileged = port < sys::unprivileged_port_start() && !can_bind_privileged();
    match holders {
        Some(h) if !h.is_empty() => (Availability::Occupied, None),
        // Nothing can be seen: blocked if we know why, else assume occupied.
        None if !privileged => (Availability::Occupied, None),
        _ => (Availability::Blocked, Some(blocked_reason(port, privileged))),
    }
}

pub(crate) fn blocked_reason(port: u16, privileged: bool) -> String {
    if privileged {
        format!(
            "port {port} is privileged (below {}) and this user may not bind it (no CAP_NET_BIND_SERVICE)",
            sys::unprivileged_port_start()
        )
    } else {
        format!(
            "port {port} cannot be bound by this user, but no socket in this network namespace holds it \
             (a security policy, or a socket that just closed)"
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

/// The default registry, opened read-only (a status or a plan never creates
/// one) and briefly (a locked database is not waited on for long).
/// `Ok(None)` when there is none (no file, no default path): nothing is
/// reserved then. `Err(why)` when there is one that cannot be read: the
/// callers then say that whether a port is reserved is unknown, never that
/// it is free.
#[cfg(feature = "registry")]
pub(crate) fn open_registry() -> std::result::Result<Option<port4me_registry::Registry>, String> {
    use port4me_registry::{Config, Error as RegError, Registry};
    let config = Config { read_only: true, busy_timeout: std::time::Duration::from_secs(2), ..Config::default() };
    match Registry::open_default_with(config) {
        Ok(reg) => Ok(Some(reg)),
        Err(RegError::NoDefaultPath) => Ok(None),
        Err(RegError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The registry entries for `ports`, in order: `Ok(None)` when not
/// reserved, `Err(why)` when the registry cannot be read.
#[cfg(feature = "registry")]
fn reservations(ports: &[u16], protocol: Protocol) -> Vec<std::result::Result<Option<Reservation>, String>> {
    let reg = match open_registry() {
        Ok(Some(reg)) => reg,
        Ok(None) => return vec![Ok(None); ports.len()],
        Err(why) => return vec![Err(why); ports.len()],
    };
    ports
        .iter()
        .map(|&port| {
            let Some(h) = reg.holder_of(port, protocol).map_err(|e| e.to_string())? else { return Ok(None) };
            Ok(Some(Reservation {
                kind: h.kind.as_str().to_string(),
                name: h.name.clone(),
                instance: h.instance.clone(),
                owner: h.user.clone(),
                uid: h.uid,
                pid: h.pid,
                start: h.start,
                end: h.end,
                expires: h.expires.map(|t| t.to_string()),
                description: h.to_string(),
            }))
        })
        .collect()
}

#[cfg(not(feature = "registry"))]
fn reservations(ports: &[u16], _protocol: Protocol) -> Vec<std::result::Result<Option<Reservation>, String>> {
    vec![Ok(None); ports.len()]
}
