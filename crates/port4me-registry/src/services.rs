//! Services with a fixed range, and offers of their ports to instances.
//!
//! `offer` reserves the lowest free port of the range for an instance and
//! returns a 128-bit secret from the OS random source; `accept(secret)`
//! turns the offer into an allocation, `reject(secret)` drops it, and an
//! offer not accepted within the offer time-to-live expires (its port
//! returns to the service). The secrets of expired offers are remembered
//! for a week so that `accept` can say "expired" rather than "unknown".
//!
//! Secrets are stored as their SHA-256 (`secret_sha256`), never in plain
//! text: whoever can read the database cannot accept or reject someone
//! else's offer with what is stored. (They are 128 random bits, so a plain
//! hash, without salt or stretching, is enough.) An accepted allocation
//! records the OS user who accepted it; releasing another user's allocation
//! takes force.

use std::time::Duration;

use rusqlite::OptionalExtension;

use crate::claims::overlapping;
use crate::error::{shown, Error, Result};
use crate::holding::describe;
use crate::process::User;
use crate::{validate, Ctx, Protocol, Registry, ReleaseOptions, Timestamp};

/// First port that is not privileged.
pub const FIRST_UNPRIVILEGED: u32 = 1024;
/// First port of the IANA ephemeral range.
pub const FIRST_EPHEMERAL: u32 = 49152;
/// How long expired secrets are remembered.
pub(crate) const EXPIRED_MEMORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// What [`Services::define`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDefinition {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// First port (1-65535).
    pub start: u32,
    /// Last port (inclusive, `>= start`).
    pub end: u32,
    /// The protocol (TCP by default).
    pub protocol: Protocol,
    /// Allow ports below 1024 or from 49152 on.
    pub force: bool,
}

impl ServiceDefinition {
    /// A TCP service, not forced.
    pub fn new(name: impl Into<String>, description: impl Into<String>, start: u32, end: u32) -> Self {
        ServiceDefinition {
            name: name.into(),
            description: description.into(),
            start,
            end,
            protocol: Protocol::Tcp,
            force: false,
        }
    }
}

/// A defined service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Service {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// First port of its range.
    pub start: u16,
    /// Last port of its range.
    pub end: u16,
    /// Whether it was defined with `force`.
    pub forced: bool,
    /// When it was defined.
    pub created: Timestamp,
}

/// A service with the ports its instances hold
/// ([`Services::list`], [`Services::undefine`]); in
/// JSON the service's fields and `ports`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceWithPorts {
    /// The service.
    #[cfg_attr(feature = "serde", serde(flatten))]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub service: Service,
    /// The ports its instances hold, in port order.
    pub ports: Vec<ServicePort>,
}

/// Whether an instance's port is only offered or already accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PortState {
    /// Offered, waiting for `accept` until it expires.
    Offered,
    /// Accepted.
    Allocated,
}

impl PortState {
    /// `offered` or `allocated`.
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Offered => "offered",
            PortState::Allocated => "allocated",
        }
    }
}

impl std::fmt::Display for PortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port of a service held by an instance (the secret is not included).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServicePort {
    /// Who accepted it (an allocation made by this version or later):
    /// its OS user name. `None` for offers.
    pub user: Option<String>,
    /// Their uid.
    pub uid: Option<u32>,
    /// The service.
    pub service: String,
    /// The instance.
    pub instance: String,
    /// The port.
    pub port: u16,
    /// Offered or allocated.
    pub state: PortState,
    /// When it was offered.
    pub created: Timestamp,
    /// When the offer expires (`None` once accepted).
    pub expires: Option<Timestamp>,
}

/// The answer to [`Services::offer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Offer {
    /// The service.
    pub service: String,
    /// The instance.
    pub instance: String,
    /// The port reserved for it.
    pub port: u16,
    /// 128 random bits as 32 lowercase hex digits: pass to `accept` or `reject`.
    pub secret: String,
    /// When the offer was made.
    pub created: Timestamp,
    /// When it expires unless accepted.
    pub expires: Timestamp,
}

/// Services and their offers, the registry's second job: [`Registry::services`].
#[derive(Clone, Copy, Debug)]
pub struct Services<'r> {
    reg: &'r Registry,
}

impl Registry {
    /// Services: `define`, `undefine`, `offer`, `accept`, `reject`,
    /// `release`, `list`, `show`.
    pub fn services(&self) -> Services<'_> {
        Services { reg: self }
    }
}

impl Services<'_> {
    /// Defines the service `def.name` with the range `start..=end`, which
    /// may not overlap any other service or anything else the registry
    /// holds, nor, unless forced, touch privileged (< 1024) or ephemeral
    /// (>= 49152) ports.
    pub fn define(&self, def: &ServiceDefinition) -> Result<Service> {
        validate::name("service", &def.name)?;
        validate::text("service description", &def.description, validate::MAX_DESCRIPTION_BYTES)?;
        let what = || format!("service {}", shown(&def.name));
        let bad = |reason| {
            Err(Error::InvalidRange { what: what(), start: i64::from(def.start), end: i64::from(def.end), reason })
        };
        if def.start == 0 || def.end == 0 {
            return bad("port 0 is not a port");
        }
        if def.start > 65535 || def.end > 65535 {
            return bad("ports go up to 65535");
        }
        if def.start > def.end {
            return bad("the start is after the end");
        }
        let (start, end) = (def.start as u16, def.end as u16);
        let user = User::current();
        if !def.force {
            let restricted = |reason| Err(Error::RestrictedRange { service: def.name.clone(), start, end, reason });
            if def.start < FIRST_UNPRIVILEGED {
                return restricted("touches the privileged ports below 1024");
            }
            if def.end >= FIRST_EPHEMERAL {
                return restricted("reaches into the IANA ephemeral range 49152-65535");
            }
        }
        self.reg.write(|ctx| {
            if service_row(ctx, &def.name)?.is_some() {
                return Err(Error::ServiceExists(def.name.clone()));
            }
            if let Some(c) = overlapping(ctx, def.protocol, start, end)? {
                let holder = describe(ctx, def.protocol, &c, None)?.map_or_else(|| c.kind.clone(), |h| h.to_string());
                return Err(Error::RangeConflict {
                    what: what(),
                    start,
                    end,
                    protocol: def.protocol,
                    holder,
                    path: ctx.reg.path.clone(),
                });
            }
            ctx.tx
                .prepare_cached(r#"INSERT INTO services (name, description, protocol, start, "end", forced, created, uid, user) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"#)
                .and_then(|mut s| {
                    s.execute((&def.name, &def.description, def.protocol.as_str(), start, end, def.force, ctx.now.millis(), user.uid, &user.name))
                })
                .map_err(|e| ctx.err(e))?;
            Ok(Service {
                name: def.name.clone(),
                description: def.description.clone(),
                protocol: def.protocol,
                start,
                end,
                forced: def.force,
                created: ctx.now,
            })
        })
    }

    /// Every defined service, by name, with the ports its instances hold
    /// (one transaction).
    pub fn list(&self) -> Result<Vec<ServiceWithPorts>> {
        self.reg.read(services_with_ports_in)
    }

    /// Every defined service, by name, without its ports.
    pub fn definitions(&self) -> Result<Vec<Service>> {
        self.reg.read(services_in)
    }

    /// The service `name`, if defined.
    pub fn get(&self, name: &str) -> Result<Option<Service>> {
        validate::name("service", name)?;
        self.reg.read(|ctx| Ok(service_row(ctx, name)?.map(|(_, s)| s)))
    }

    /// Offers the lowest free port of `service` to `instance`. The offer
    /// holds the port until it is accepted, rejected, or expires.
    pub fn offer(&self, service: &str, instance: &str) -> Result<Offer> {
        validate::name("service", service)?;
        validate::name("instance", instance)?;
        let secret = new_secret()?;
        let user = User::current();
        self.reg.write(|ctx| {
            let (id, svc) = service_row(ctx, service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
            let existing: Option<(u16, String)> = ctx
                .tx
                .prepare_cached("SELECT port, state FROM service_ports WHERE service_id = ?1 AND instance = ?2")
                .and_then(|mut s| s.query_row((id, instance), |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(|e| ctx.err(e))?;
            if let Some((port, state)) = existing {
                return Err(Error::InstanceExists {
                    service: service.to_string(),
                    instance: instance.to_string(),
                    port,
                    state: if state == "allocated" { "allocated" } else { "offered" },
                });
            }
            // Lowest port of the range that no instance holds: walk the held
            // ports in order until the first hole.
            let mut cursor = u32::from(svc.start);
            {
                let mut stmt = ctx
                    .tx
                    .prepare_cached("SELECT port FROM service_ports WHERE service_id = ?1 ORDER BY port")
                    .map_err(|e| ctx.err(e))?;
                let mut rows = stmt.query([id]).map_err(|e| ctx.err(e))?;
                while let Some(row) = rows.next().map_err(|e| ctx.err(e))? {
                    let p: u32 = row.get(0).map_err(|e| ctx.err(e))?;
                    if p > cursor {
                        break;
                    }
                    cursor = p + 1;
                }
            }
            if cursor > u32::from(svc.end) {
                return Err(Error::ServiceFull { service: service.to_string(), start: svc.start, end: svc.end });
            }
            let port = cursor as u16;
            let expires = ctx.now.plus(ctx.reg.config.offer_ttl);
            ctx.tx
                .prepare_cached("INSERT INTO service_ports (service_id, instance, port, secret_sha256, state, created, expires, offered_uid, offered_user) VALUES (?1, ?2, ?3, ?4, 'offered', ?5, ?6, ?7, ?8)")
                .and_then(|mut s| s.execute((id, instance, port, secret_hash(&secret), ctx.now.millis(), expires.millis(), user.uid, &user.name)))
                .map_err(|e| ctx.err(e))?;
            Ok(Offer { service: service.to_string(), instance: instance.to_string(), port, secret: secret.clone(), created: ctx.now, expires })
        })
    }

    /// Turns the offer with this secret into an allocation, recorded with
    /// the current OS user. Accepting an accepted offer again is harmless
    /// and returns the same allocation (with the user who accepted it first).
    pub fn accept(&self, secret: &str) -> Result<ServicePort> {
        let secret = normalize_secret(secret)?;
        let user = User::current();
        self.reg.write(|ctx| {
            let sp = by_secret(ctx, &secret)?;
            if sp.state == PortState::Allocated {
                return Ok(sp);
            }
            ctx.tx
                .prepare_cached(
                    "UPDATE service_ports SET state = 'allocated', expires = NULL, accepted = ?2, uid = ?3, user = ?4 \
                     WHERE secret_sha256 = ?1",
                )
                .and_then(|mut s| s.execute((secret_hash(&secret), ctx.now.millis(), user.uid, &user.name)))
                .map_err(|e| ctx.err(e))?;
            Ok(ServicePort {
                state: PortState::Allocated,
                expires: None,
                user: Some(user.name.clone()),
                uid: Some(user.uid),
                ..sp
            })
        })
    }

    /// Drops the offer with this secret; its port returns to the service.
    pub fn reject(&self, secret: &str) -> Result<ServicePort> {
        let secret = normalize_secret(secret)?;
        self.reg.write(|ctx| {
            let sp = by_secret(ctx, &secret)?;
            if sp.state == PortState::Allocated {
                return Err(Error::AlreadyAccepted {
                    secret,
                    service: sp.service,
                    instance: sp.instance,
                    port: sp.port,
                });
            }
            ctx.tx
                .prepare_cached("DELETE FROM service_ports WHERE secret_sha256 = ?1")
                .and_then(|mut s| s.execute([secret_hash(&secret)]))
                .map_err(|e| ctx.err(e))?;
            Ok(sp)
        })
    }

    /// Releases whatever `instance` holds in `service` (an offer or an
    /// allocation) and returns it. Another user's allocation or offer is
    /// refused ([`Error::OwnedByOther`]) unless forced.
    pub fn release(&self, service: &str, instance: &str, options: impl Into<ReleaseOptions>) -> Result<ServicePort> {
        let force = options.into().force;
        validate::name("service", service)?;
        validate::name("instance", instance)?;
        let user = User::current();
        self.reg.write(|ctx| {
            let (id, svc) = service_row(ctx, service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
            let sp = instance_of(ctx, id, service, instance)?.ok_or_else(|| Error::UnknownInstance {
                service: service.to_string(),
                instance: instance.to_string(),
            })?;
            // An allocation belongs to who accepted it, an offer to who made it.
            let owner = match (sp.uid, &sp.user) {
                (Some(uid), Some(name)) => Some((uid, name.clone())),
                _ => offered_by(ctx, id, instance)?,
            };
            if let Some((_, owner)) = owner.filter(|(uid, _)| *uid != user.uid && !force) {
                let kind = if sp.state == PortState::Allocated { "allocation" } else { "offer" };
                return Err(Error::OwnedByOther {
                    what: format!(
                        "the {kind} of port {}/{} of service {} to instance {}",
                        sp.port,
                        svc.protocol,
                        shown(service),
                        shown(instance)
                    ),
                    owner,
                    user: user.name,
                    hint: "release it with force to release it anyway (--force on the command line, \
                           { force: true } in Node)",
                });
            }
            ctx.tx
                .prepare_cached("DELETE FROM service_ports WHERE service_id = ?1 AND instance = ?2")
                .and_then(|mut s| s.execute((id, instance)))
                .map_err(|e| ctx.err(e))?;
            Ok(sp)
        })
    }

    /// Deletes the definition of `service`, which frees its range. While
    /// instances hold ports of it (offered or allocated) this is refused
    /// with [`Error::ServiceInUse`], unless forced, which releases them too
    /// (and undefines another user's service). Returns the service and the
    /// instance ports released.
    pub fn undefine(&self, service: &str, options: impl Into<ReleaseOptions>) -> Result<ServiceWithPorts> {
        let force = options.into().force;
        validate::name("service", service)?;
        let user = User::current();
        self.reg.write(|ctx| {
            let (id, svc) = service_row(ctx, service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
            if let Some((_, owner)) = defined_by(ctx, id)?.filter(|(uid, _)| *uid != user.uid && !force) {
                return Err(Error::OwnedByOther {
                    what: format!("service {} (ports {}-{}/{})", shown(service), svc.start, svc.end, svc.protocol),
                    owner,
                    user: user.name,
                    hint: "undefine it with force to undefine it anyway (--force on the command line, \
                           { force: true } in Node)",
                });
            }
            let ports = ports_of(ctx, service)?;
            if !ports.is_empty() && !force {
                return Err(Error::ServiceInUse {
                    service: service.to_string(),
                    ports: ports.iter().map(|p| p.port).collect(),
                });
            }
            for sql in ["DELETE FROM service_ports WHERE service_id = ?1", "DELETE FROM services WHERE id = ?1"] {
                ctx.tx.prepare_cached(sql).and_then(|mut s| s.execute([id])).map_err(|e| ctx.err(e))?;
            }
            Ok(ServiceWithPorts { service: svc, ports })
        })
    }

    /// Every port of `service` held by an instance, in port order.
    pub fn ports(&self, service: &str) -> Result<Vec<ServicePort>> {
        validate::name("service", service)?;
        self.reg.read(|ctx| {
            service_row(ctx, service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
            ports_of(ctx, service)
        })
    }

    /// The instance port of any service at `port` (TCP or UDP per the
    /// service's protocol), if one holds it.
    pub fn port_at(&self, port: u16, protocol: Protocol) -> Result<Option<ServicePort>> {
        self.reg.read(|ctx| {
            let svc: Option<(i64, String)> = ctx
                .tx
                .prepare_cached(r#"SELECT id, name FROM services WHERE protocol = ?1 AND start <= ?2 AND "end" >= ?2"#)
                .and_then(|mut s| s.query_row((protocol.as_str(), port), |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(|e| ctx.err(e))?;
            let Some((id, name)) = svc else { return Ok(None) };
            let sp = ctx
                .tx
                .prepare_cached("SELECT instance, port, state, created, expires, user, uid FROM service_ports WHERE service_id = ?1 AND port = ?2")
                .and_then(|mut s| s.query_row((id, port), |r| port_from_row(r, &name)).optional())
                .map_err(|e| ctx.err(e))?;
            Ok(sp.filter(|sp| !lapsed(sp, ctx.now)))
        })
    }

    /// The port `instance` holds in `service`, if any.
    pub fn instance(&self, service: &str, instance: &str) -> Result<Option<ServicePort>> {
        validate::name("service", service)?;
        validate::name("instance", instance)?;
        self.reg.read(|ctx| {
            let (id, _) = service_row(ctx, service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
            instance_of(ctx, id, service, instance)
        })
    }

    /// The ports of `service` its instances hold, in port order; with
    /// `instance`, only that instance's (which wins over `port`); with
    /// `port`, only the instance port there. What `port4me registry show`
    /// prints and `registry.services.show` returns.
    pub fn show(&self, service: &str, instance: Option<&str>, port: Option<u16>) -> Result<Vec<ServicePort>> {
        Ok(match (instance, port) {
            (Some(i), _) => self.instance(service, i)?.into_iter().collect(),
            (None, Some(p)) => {
                let s = self.get(service)?.ok_or_else(|| Error::UnknownService(service.to_string()))?;
                self.port_at(p, s.protocol)?.filter(|sp| sp.service == service).into_iter().collect()
            }
            (None, None) => self.ports(service)?,
        })
    }
}

/// [`Services::list`] in the transaction of `ctx`.
pub(crate) fn services_with_ports_in(ctx: &Ctx<'_>) -> Result<Vec<ServiceWithPorts>> {
    services_in(ctx)?
        .into_iter()
        .map(|service| Ok(ServiceWithPorts { ports: ports_of(ctx, &service.name)?, service }))
        .collect()
}

/// [`Services::definitions`] in the transaction of `ctx`.
pub(crate) fn services_in(ctx: &Ctx<'_>) -> Result<Vec<Service>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(
            r#"SELECT id, name, description, protocol, start, "end", forced, created FROM services ORDER BY name"#,
        )
        .map_err(|e| ctx.err(e))?;
    let rows = stmt.query_map([], service_from_row).map_err(|e| ctx.err(e))?;
    rows.map(|r| r.map(|(_, s)| s).map_err(|e| ctx.err(e))).collect()
}

fn lapsed(sp: &ServicePort, now: Timestamp) -> bool {
    sp.expires.is_some_and(|t| t <= now)
}

type Row<'a> = rusqlite::Row<'a>;

fn service_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, Service)> {
    let protocol = crate::validate::stored_protocol(r, 3)?;
    Ok((
        r.get(0)?,
        Service {
            name: r.get(1)?,
            description: r.get(2)?,
            protocol,
            start: r.get(4)?,
            end: r.get(5)?,
            forced: r.get(6)?,
            created: Timestamp(r.get(7)?),
        },
    ))
}

pub(crate) fn service_row(ctx: &Ctx<'_>, name: &str) -> Result<Option<(i64, Service)>> {
    ctx.tx
        .prepare_cached(
            r#"SELECT id, name, description, protocol, start, "end", forced, created FROM services WHERE name = ?1"#,
        )
        .and_then(|mut s| s.query_row([name], service_from_row).optional())
        .map_err(|e| ctx.err(e))
}

/// `instance, port, state, created, expires, user, uid`.
fn port_from_row(r: &Row<'_>, service: &str) -> rusqlite::Result<ServicePort> {
    let state: String = r.get(2)?;
    Ok(ServicePort {
        user: r.get(5)?,
        uid: r.get(6)?,
        service: service.to_string(),
        instance: r.get(0)?,
        port: r.get(1)?,
        state: if state == "allocated" { PortState::Allocated } else { PortState::Offered },
        created: Timestamp(r.get(3)?),
        expires: r.get::<_, Option<i64>>(4)?.map(Timestamp),
    })
}

pub(crate) fn ports_of(ctx: &Ctx<'_>, service: &str) -> Result<Vec<ServicePort>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(
            "SELECT sp.instance, sp.port, sp.state, sp.created, sp.expires, sp.user, sp.uid FROM service_ports AS sp \
             JOIN services AS s ON s.id = sp.service_id WHERE s.name = ?1 ORDER BY sp.port",
        )
        .map_err(|e| ctx.err(e))?;
    let rows = stmt.query_map([service], |r| port_from_row(r, service)).map_err(|e| ctx.err(e))?;
    let mut out = Vec::new();
    for r in rows {
        let sp = r.map_err(|e| ctx.err(e))?;
        if !lapsed(&sp, ctx.now) {
            out.push(sp);
        }
    }
    Ok(out)
}

/// Who defined the service with row id `id`, when recorded.
fn defined_by(ctx: &Ctx<'_>, id: i64) -> Result<Option<(u32, String)>> {
    ctx.tx
        .prepare_cached("SELECT uid, user FROM services WHERE id = ?1 AND uid IS NOT NULL AND user IS NOT NULL")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(|e| ctx.err(e))
}

/// Who made the offer to `instance` of the service `id`, when recorded.
fn offered_by(ctx: &Ctx<'_>, id: i64, instance: &str) -> Result<Option<(u32, String)>> {
    ctx.tx
        .prepare_cached(
            "SELECT offered_uid, offered_user FROM service_ports \
             WHERE service_id = ?1 AND instance = ?2 AND offered_uid IS NOT NULL AND offered_user IS NOT NULL",
        )
        .and_then(|mut s| s.query_row((id, instance), |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(|e| ctx.err(e))
}

fn instance_of(ctx: &Ctx<'_>, id: i64, service: &str, instance: &str) -> Result<Option<ServicePort>> {
    let sp = ctx
        .tx
        .prepare_cached(
            "SELECT instance, port, state, created, expires, user, uid FROM service_ports WHERE service_id = ?1 AND instance = ?2",
        )
        .and_then(|mut s| s.query_row((id, instance), |r| port_from_row(r, service)).optional())
        .map_err(|e| ctx.err(e))?;
    Ok(sp.filter(|sp| !lapsed(sp, ctx.now)))
}

/// The live offer or allocation with this secret, or the right error.
fn by_secret(ctx: &Ctx<'_>, secret: &str) -> Result<ServicePort> {
    let sp = ctx
        .tx
        .prepare_cached(
            "SELECT sp.instance, sp.port, sp.state, sp.created, sp.expires, sp.user, sp.uid, s.name \
             FROM service_ports AS sp JOIN services AS s ON s.id = sp.service_id WHERE sp.secret_sha256 = ?1",
        )
        .and_then(|mut s| {
            s.query_row([secret_hash(secret)], |r| {
                let name: String = r.get(7)?;
                port_from_row(r, &name)
            })
            .optional()
        })
        .map_err(|e| ctx.err(e))?;
    match sp {
        Some(sp) if !lapsed(&sp, ctx.now) => Ok(sp),
        Some(sp) => Err(Error::ExpiredSecret {
            secret: secret.to_string(),
            service: sp.service,
            instance: sp.instance,
            port: sp.port,
            expired: sp.expires.unwrap_or(ctx.now).to_string(),
        }),
        None => {
            let expired: Option<(String, String, u16, i64)> = ctx
                .tx
                .prepare_cached("SELECT service, instance, port, expired FROM expired_offers WHERE secret_sha256 = ?1")
                .and_then(|mut s| {
                    s.query_row([secret_hash(secret)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).optional()
                })
                .map_err(|e| ctx.err(e))?;
            match expired {
                Some((service, instance, port, at)) => Err(Error::ExpiredSecret {
                    secret: secret.to_string(),
                    service,
                    instance,
                    port,
                    expired: Timestamp(at).to_string(),
                }),
                None => Err(Error::UnknownSecret(secret.to_string())),
            }
        }
    }
}

/// Moves expired offers to `expired_offers` and forgets old ones. Returns
/// how many offers expired.
pub(crate) fn expire_offers(ctx: &Ctx<'_>) -> Result<usize> {
    let now = ctx.now.millis();
    let tx = ctx.tx;
    let run = |sql: &str, t: i64| tx.prepare_cached(sql).and_then(|mut s| s.execute([t])).map_err(|e| ctx.err(e));
    run(
        "INSERT OR REPLACE INTO expired_offers (secret_sha256, service, instance, port, expired) \
         SELECT sp.secret_sha256, s.name, sp.instance, sp.port, sp.expires FROM service_ports AS sp \
         JOIN services AS s ON s.id = sp.service_id WHERE sp.state = 'offered' AND sp.expires <= ?1",
        now,
    )?;
    let n = run("DELETE FROM service_ports WHERE state = 'offered' AND expires <= ?1", now)?;
    let forget = now.saturating_sub(EXPIRED_MEMORY.as_millis() as i64);
    run("DELETE FROM expired_offers WHERE expired <= ?1", forget)?;
    Ok(n)
}

fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What the database stores of a (normalized) secret: its SHA-256, as 64
/// lowercase hex digits.
pub(crate) fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn normalize_secret(s: &str) -> Result<String> {
    let t = s.trim();
    if t.len() != 32 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedSecret(shown(s)));
    }
    Ok(t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_32_hex_digits_and_differ() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(normalize_secret(&a.to_ascii_uppercase()).unwrap(), a);
        assert_eq!(normalize_secret("xyz").unwrap_err().code(), "ERR_PORT4ME_REGISTRY_MALFORMED_SECRET");
    }

    #[test]
    fn secret_hash_is_sha256_in_hex() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
