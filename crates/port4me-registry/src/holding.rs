//! What holds a port: the one place that reads every holder table (module
//! ranges, services and their instances, registrations, leases) to describe
//! a claim. The jobs' modules use it for their conflict messages; it uses
//! none of them.

use rusqlite::OptionalExtension;

use crate::claims::{overlapping, Claim};
use crate::error::Result;
use crate::process::owner_is_gone;
use crate::{schema, Ctx, Protocol, Registry, Timestamp};

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
            let table = schema::module_table(protocol);
            let name: Option<String> = q(&format!("SELECT module FROM {table} WHERE start = ?1"))?
                .query_row([claim.start], |r| schema::lossy(r, 0))
                .optional()
                .map_err(|e| ctx.err(e))?;
            let owner: Option<(u32, String)> =
                q("SELECT uid, user FROM module_owners WHERE protocol = ?1 AND start = ?2")?
                    .query_row((p, claim.start), |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(|e| ctx.err(e))?;
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
                        out.extend(instances(ctx, proto, &service)?);
                    }
                }
            }
            Ok(out)
        })
    }
}

/// The live offers and allocations of `service`, in port order.
fn instances(ctx: &Ctx<'_>, protocol: Protocol, service: &str) -> Result<Vec<Holding>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(
            "SELECT sp.instance, sp.port, sp.state, sp.expires, sp.user, sp.uid FROM service_ports AS sp \
             JOIN services AS s ON s.id = sp.service_id WHERE s.name = ?1 ORDER BY sp.port",
        )
        .map_err(|e| ctx.err(e))?;
    type Row = (String, u16, String, Option<i64>, Option<String>, Option<u32>);
    let rows = stmt
        .query_map([service], |r| -> rusqlite::Result<Row> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .map_err(|e| ctx.err(e))?;
    let mut out = Vec::new();
    for row in rows {
        let (instance, port, state, expires, user, uid) = row.map_err(|e| ctx.err(e))?;
        if expires.is_some_and(|t| t <= ctx.now.millis()) {
            continue;
        }
        out.push(Holding {
            kind: if state == "allocated" { HoldingKind::Allocation } else { HoldingKind::Offer },
            protocol,
            start: port,
            end: port,
            name: service.to_string(),
            instance: Some(instance),
            user,
            uid,
            pid: None,
            expires: expires.map(Timestamp),
        });
    }
    Ok(out)
}
