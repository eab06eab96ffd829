//! The `claims` table: every port interval any holder has, per protocol.
//! First fit walks its gaps in port order; conflicts are one index probe.

use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::process::owner_is_gone;
use crate::{Ctx, Protocol, Registry, Timestamp};

/// What kind of holder has a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum HoldingKind {
    /// A module range (`allocate`).
    Module,
    /// A defined service's range, at a port no instance holds.
    Service,
    /// A port offered to a service instance, not accepted yet.
    Offer,
    /// A port allocated to a service instance (an accepted offer).
    Allocation,
    /// A named per-user registration.
    Registration,
    /// A reserved port4me result (a short lease).
    Lease,
}

impl HoldingKind {
    /// `module`, `service`, `offer`, `allocation`, `registration` or `lease`.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldingKind::Module => "module",
            HoldingKind::Service => "service",
            HoldingKind::Offer => "offer",
            HoldingKind::Allocation => "allocation",
            HoldingKind::Registration => "registration",
            HoldingKind::Lease => "lease",
        }
    }
}

impl std::fmt::Display for HoldingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What in the registry holds a port (see [`Registry::holder_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Holding {
    /// The kind of holder.
    pub kind: HoldingKind,
    /// The protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// First port held (the whole range for modules and services).
    pub start: u16,
    /// Last port held.
    pub end: u16,
    /// Module, service or registration name; a lease's label (its port4me seed).
    pub name: String,
    /// The service instance, for offers and allocations.
    pub instance: Option<String>,
    /// The owning OS user: of a registration or a lease; of a module range
    /// or an allocation when port4me recorded it (not for rows other tools
    /// inserted, nor for ones made before owners were recorded).
    pub user: Option<String>,
    /// The owning uid, where `user` is known.
    pub uid: Option<u32>,
    /// The owner process, for registrations and leases that have one.
    pub pid: Option<u32>,
    /// When it lapses, for offers and leases.
    pub expires: Option<Timestamp>,
}

impl std::fmt::Display for Holding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let range = if self.start == self.end {
            format!("port {}", self.start)
        } else {
            format!("ports {}-{}", self.start, self.end)
        };
        match self.kind {
            HoldingKind::Module => write!(f, "module {:?} ({range}/{})", self.name, self.protocol)?,
            HoldingKind::Service => write!(f, "service {:?} ({range}/{})", self.name, self.protocol)?,
            HoldingKind::Offer | HoldingKind::Allocation => write!(
                f,
                "{} of service {:?} to instance {:?} ({range}/{})",
                self.kind,
                self.name,
                self.instance.as_deref().unwrap_or(""),
                self.protocol
            )?,
            HoldingKind::Registration => write!(f, "registration {:?} ({range}/{})", self.name, self.protocol)?,
            HoldingKind::Lease => write!(f, "port4me lease {:?} ({range}/{})", self.name, self.protocol)?,
        }
        if let Some(u) = &self.user {
            write!(f, " of user {u:?}")?;
        }
        if let Some(p) = self.pid {
            write!(f, ", pid {p}")?;
        }
        if let Some(t) = self.expires {
            write!(f, ", until {t}")?;
        }
        Ok(())
    }
}

/// A raw claim.
#[derive(Clone, Debug)]
pub(crate) struct Claim {
    pub start: u16,
    pub end: u16,
    pub kind: String,
}

/// The claim of `protocol` that overlaps `start..=end`, if any.
pub(crate) fn overlapping(ctx: &Ctx<'_>, protocol: Protocol, start: u16, end: u16) -> Result<Option<Claim>> {
    // Claims are disjoint, so only the last one starting at or before `end`
    // can overlap.
    let mut stmt = ctx
        .tx
        .prepare_cached(
            r#"SELECT start, "end", kind FROM claims WHERE protocol = ?1 AND start <= ?2 ORDER BY start DESC LIMIT 1"#,
        )
        .map_err(|e| ctx.err(e))?;
    let c = stmt
        .query_row((protocol.as_str(), end), |r| Ok(Claim { start: r.get(0)?, end: r.get(1)?, kind: r.get(2)? }))
        .optional()
        .map_err(|e| ctx.err(e))?;
    Ok(c.filter(|c| c.end >= start))
}

/// Calls `f(first, last)` for each unclaimed run of ports of `protocol`
/// inside `lo..=hi`, in port order, until it returns `Some`.
///
/// The run containing (or following) `lo` comes from one index probe; the
/// rest from the claims that have free ports after them (`gap > 0`, a
/// partial index), so packed claims cost nothing: the work grows with the
/// number of gaps passed, never with the size of the pool.
pub(crate) fn find_gap<T>(
    ctx: &Ctx<'_>,
    protocol: Protocol,
    (lo, hi): (u16, u16),
    mut f: impl FnMut(u16, u16) -> Result<Option<T>>,
) -> Result<Option<T>> {
    let p = protocol.as_str();
    let (lo32, hi32) = (u32::from(lo), u32::from(hi));
    let q = |sql: &str| ctx.tx.prepare_cached(sql).map_err(|e| ctx.err(e));
    // The run at `lo`: after the last claim starting at or before it, or
    // from `lo` up to the first claim after it.
    let before: Option<(u32, u32)> =
        q(r#"SELECT "end", gap FROM claims WHERE protocol = ?1 AND start <= ?2 ORDER BY start DESC LIMIT 1"#)?
            .query_row((p, lo), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| ctx.err(e))?;
    let (first, last) = match before {
        Some((end, gap)) => (lo32.max(end + 1), end + gap),
        None => {
            let next: Option<u32> = q("SELECT min(start) FROM claims WHERE protocol = ?1 AND start > ?2")?
                .query_row((p, lo), |r| r.get(0))
                .map_err(|e| ctx.err(e))?;
            (lo32, next.map_or(65535, |s| s - 1))
        }
    };
    let last = last.min(hi32);
    if first <= last {
        if let Some(v) = f(first as u16, last as u16)? {
            return Ok(Some(v));
        }
    }
    // Then the run after each later claim that has one.
    let mut stmt = q(r#"SELECT "end", gap FROM claims INDEXED BY claims_gaps
             WHERE protocol = ?1 AND gap > 0 AND start > ?2 AND start <= ?3 ORDER BY start"#)?;
    let mut rows = stmt.query((p, lo, hi)).map_err(|e| ctx.err(e))?;
    while let Some(row) = rows.next().map_err(|e| ctx.err(e))? {
        let end: u32 = row.get(0).map_err(|e| ctx.err(e))?;
        let gap: u32 = row.get(1).map_err(|e| ctx.err(e))?;
        let first = end + 1;
        if first > hi32 {
            break;
        }
        if let Some(v) = f(first as u16, (end + gap).min(hi32) as u16)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The first `n` consecutive unclaimed ports in the pool.
pub(crate) fn first_fit(ctx: &Ctx<'_>, protocol: Protocol, pool: (u16, u16), n: u32) -> Result<Option<u16>> {
    find_gap(ctx, protocol, pool, |a, b| Ok((u32::from(b) - u32::from(a) + 1 >= n).then_some(a)))
}

/// Describes the claim (and, inside a service, the instance) that holds
/// `port`, or `None` when the holder has lapsed (an expired lease, a dead
/// owner not reclaimed yet because the database is read-only).
pub(crate) fn describe(ctx: &Ctx<'_>, protocol: Protocol, claim: &Claim, port: Option<u16>) -> Result<Option<Holding>> {
    let p = protocol.as_str();
    let base = Holding {
        kind: HoldingKind::Module,
        protocol,
        start: claim.start,
        end: claim.end,
        name: String::new(),
        instance: None,
        user: None,
        uid: None,
        pid: None,
        expires: None,
    };
    let q = |sql: &str| ctx.tx.prepare_cached(sql).map_err(|e| ctx.err(e));
    let h = match claim.kind.as_str() {
        "module" => {
            let table = crate::modules::table(protocol);
            let name: Option<String> = q(&format!("SELECT module FROM {table} WHERE start = ?1"))?
                .query_row([claim.start], |r| crate::modules::lossy(r, 0))
                .optional()
                .map_err(|e| ctx.err(e))?;
            let owner = crate::modules::owner_at(ctx, protocol, claim.start)?;
            name.map(|name| Holding { name, uid: owner.as_ref().map(|o| o.0), user: owner.map(|o| o.1), ..base })
        }
        "service" => {
            let svc: Option<(i64, String)> = q("SELECT id, name FROM services WHERE protocol = ?1 AND start = ?2")?
                .query_row((p, claim.start), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(|e| ctx.err(e))?;
            let Some((id, name)) = svc else { return Ok(None) };
            let mut h = Holding { kind: HoldingKind::Service, name, ..base };
            if let Some(port) = port {
                type Inst = (String, String, Option<i64>, Option<String>, Option<u32>);
                let inst: Option<Inst> = q(
                    "SELECT instance, state, expires, user, uid FROM service_ports WHERE service_id = ?1 AND port = ?2",
                )?
                .query_row((id, port), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .optional()
                .map_err(|e| ctx.err(e))?;
                if let Some((instance, state, expires, user, uid)) = inst {
                    let lapsed = expires.is_some_and(|t| t <= ctx.now.millis());
                    if !lapsed {
                        h.kind = if state == "allocated" { HoldingKind::Allocation } else { HoldingKind::Offer };
                        h.instance = Some(instance);
                        h.user = user;
                        h.uid = uid;
                        h.expires = expires.map(Timestamp);
                        h.start = port;
                        h.end = port;
                    }
                }
            }
            Some(h)
        }
        "registration" => {
            type Row = (String, String, u32, String, String, String, u32, i64);
            let r: Option<Row> = q("SELECT name, user, uid, host, pid_ns, boot_id, pid, pid_start FROM registrations WHERE protocol = ?1 AND port = ?2")?
                .query_row((p, claim.start), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })
                .optional()
                .map_err(|e| ctx.err(e))?;
            match r {
                Some((name, user, uid, host, ns, boot, pid, start))
                    if !owner_is_gone(&host, &ns, &boot, pid, start as u64) =>
                {
                    Some(Holding {
                        kind: HoldingKind::Registration,
                        name,
                        user: Some(user),
                        uid: Some(uid),
                        pid: Some(pid),
                        ..base
                    })
                }
                _ => None,
            }
        }
        "lease" => {
            type Row = (String, String, u32, String, String, String, Option<u32>, Option<i64>, i64);
            let r: Option<Row> = q("SELECT label, user, uid, host, pid_ns, boot_id, pid, pid_start, expires FROM leases WHERE protocol = ?1 AND port = ?2")?
                .query_row((p, claim.start), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
                })
                .optional()
                .map_err(|e| ctx.err(e))?;
            match r {
                Some((label, user, uid, host, ns, boot, pid, pid_start, expires)) => {
                    let gone =
                        pid.is_some_and(|pid| owner_is_gone(&host, &ns, &boot, pid, pid_start.unwrap_or(0) as u64));
                    (!gone && expires > ctx.now.millis()).then_some(Holding {
                        kind: HoldingKind::Lease,
                        name: label,
                        user: Some(user),
                        uid: Some(uid),
                        pid,
                        expires: Some(Timestamp(expires)),
                        ..base
                    })
                }
                None => None,
            }
        }
        _ => None,
    };
    Ok(h)
}

impl Registry {
    /// What in the registry holds `port` for `protocol`: a module range, a
    /// service (or one of its instances), a registration or a lease; `None`
    /// when the port is not held.
    pub fn holder_of(&self, port: u16, protocol: Protocol) -> Result<Option<Holding>> {
        self.read(|ctx| {
            if port == 0 {
                return Ok(None);
            }
            match overlapping(ctx, protocol, port, port)? {
                Some(c) => describe(ctx, protocol, &c, Some(port)),
                None => Ok(None),
            }
        })
    }

    /// Everything the registry holds, in port order (TCP first): each
    /// claim, and after each service its offered and allocated instances.
    pub fn holdings(&self, protocol: Option<Protocol>) -> Result<Vec<Holding>> {
        self.read(|ctx| {
            let mut out = Vec::new();
            for proto in [Protocol::Tcp, Protocol::Udp] {
                if protocol.is_some_and(|p| p != proto) {
                    continue;
                }
                let claims: Vec<Claim> = {
                    let mut stmt = ctx
                        .tx
                        .prepare_cached(r#"SELECT start, "end", kind FROM claims WHERE protocol = ?1 ORDER BY start"#)
                        .map_err(|e| ctx.err(e))?;
                    let rows = stmt
                        .query_map([proto.as_str()], |r| {
                            Ok(Claim { start: r.get(0)?, end: r.get(1)?, kind: r.get(2)? })
                        })
                        .map_err(|e| ctx.err(e))?;
                    rows.collect::<rusqlite::Result<_>>().map_err(|e| ctx.err(e))?
                };
                for c in &claims {
                    let Some(h) = describe(ctx, proto, c, None)? else { continue };
                    let service = (h.kind == HoldingKind::Service).then(|| h.name.clone());
                    out.push(h);
                    if let Some(service) = service {
                        for sp in crate::services::ports_of(ctx, &service)? {
                            out.push(Holding {
                                kind: match sp.state {
                                    crate::PortState::Offered => HoldingKind::Offer,
                                    crate::PortState::Allocated => HoldingKind::Allocation,
                                },
                                protocol: proto,
                                start: sp.port,
                                end: sp.port,
                                name: sp.service,
                                instance: Some(sp.instance),
                                user: sp.user,
                                uid: sp.uid,
                                pid: None,
                                expires: sp.expires,
                            });
                        }
                    }
                }
            }
            Ok(out)
        })
    }
}
