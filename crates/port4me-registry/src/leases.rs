//! Reserved port4me results: [`Registry::reserve`] runs a port4me search
//! inside the registry's write transaction, skipping every port the
//! registry holds, and records the port found as a short lease. Callers
//! that ask for the same tool at the same instant therefore get different
//! ports. A lease ends at its time-to-live (default 60 s, long enough for
//! the server to bind the port, after which the probe sees it as busy) or
//! as soon as its owner process has exited, whichever comes first.

use std::time::Duration;

use crate::claims::overlapping;
use crate::error::{Error, Result};
use crate::process::{owner_is_gone, Machine, Owner, ProcessId, User};
use crate::{validate, Protocol, Registry, Timestamp};

/// Default lifetime of a reservation.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// Options of [`Registry::reserve_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReserveOptions {
    /// How long the lease lasts at most.
    pub ttl: Duration,
    /// Whose exit ends the lease early. A command-line tool should pass
    /// [`Owner::Parent`] (the shell or script that will start the server),
    /// since the tool itself exits at once.
    pub owner: Owner,
    /// A label to show (default: the port4me seed, e.g. `alice,vite`).
    pub label: Option<String>,
}

impl Default for ReserveOptions {
    fn default() -> Self {
        ReserveOptions { ttl: DEFAULT_LEASE_TTL, owner: Owner::Current, label: None }
    }
}

/// A reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: Protocol,
    /// The label (the port4me seed unless given).
    pub label: String,
    /// The OS user who reserved it.
    pub user: String,
    /// Their uid.
    pub uid: u32,
    /// The owner process, if any.
    pub owner: Option<ProcessId>,
    /// When it was made.
    pub created: Timestamp,
    /// When it ends at the latest.
    pub expires: Timestamp,
}

impl Registry {
    /// Finds a port the way `query.find()` would, but skipping every port
    /// the registry holds, and leases it to the current process for `ttl`.
    /// The protocol is the query's probe protocol.
    pub fn reserve(&self, query: &port4me::Port4me, ttl: Duration) -> Result<u16> {
        Ok(self.reserve_with(query, &ReserveOptions { ttl, ..ReserveOptions::default() })?.port)
    }

    /// [`Registry::reserve`] with every option; returns the lease.
    pub fn reserve_with(&self, query: &port4me::Port4me, options: &ReserveOptions) -> Result<Lease> {
        validate::ttl("lease time-to-live", options.ttl)?;
        let label = match &options.label {
            Some(l) => l.clone(),
            None => query.seed()?,
        };
        validate::text("lease label", &label, validate::MAX_NAME_BYTES)?;
        let owner = options.owner.resolve()?;
        let user = User::current();
        let protocol = query.probe_options().protocol;
        // Fail fast on a bad query before taking the lock.
        query.resolve()?;
        self.write(|ctx| {
            // Skip what the registry holds; probe the rest as `find` would.
            let port = query
                .try_find_with(|port| Ok::<_, Error>(overlapping(ctx, protocol, port, port)?.is_none() && query.test(port)?))?;
            let expires = ctx.now.plus(options.ttl);
            let m = Machine::current();
            ctx.tx
                .prepare_cached(
                    "INSERT INTO leases (protocol, port, label, uid, user, host, boot_id, pid_ns, pid, pid_start, created, expires) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .and_then(|mut s| {
                    s.execute(rusqlite::params![
                        protocol.as_str(),
                        port,
                        label,
                        user.uid,
                        user.name,
                        m.host,
                        m.boot_id,
                        m.pid_ns,
                        owner.map(|o| o.pid),
                        owner.map(|o| o.start_time as i64),
                        ctx.now.millis(),
                        expires.millis()
                    ])
                })
                .map_err(|e| ctx.err(e))?;
            Ok(Lease {
                port,
                protocol,
                label: label.clone(),
                user: user.name.clone(),
                uid: user.uid,
                owner,
                created: ctx.now,
                expires,
            })
        })
    }

    /// Every live lease, in protocol and port order.
    pub fn leases(&self) -> Result<Vec<Lease>> {
        self.read(|ctx| {
            let mut stmt = ctx
                .tx
                .prepare_cached(
                    "SELECT port, protocol, label, user, uid, pid, pid_start, created, expires, host, pid_ns, boot_id \
                     FROM leases WHERE expires > ?1 ORDER BY protocol, port",
                )
                .map_err(|e| ctx.err(e))?;
            let rows = stmt
                .query_map([ctx.now.millis()], |r| {
                    let proto: String = r.get(1)?;
                    let pid: Option<u32> = r.get(5)?;
                    let start: Option<i64> = r.get(6)?;
                    let host: String = r.get(9)?;
                    let ns: String = r.get(10)?;
                    let boot: String = r.get(11)?;
                    Ok((
                        Lease {
                            port: r.get(0)?,
                            protocol: if proto == "udp" { Protocol::Udp } else { Protocol::Tcp },
                            label: r.get(2)?,
                            user: r.get(3)?,
                            uid: r.get(4)?,
                            owner: pid.map(|pid| ProcessId { pid, start_time: start.unwrap_or(0) as u64 }),
                            created: Timestamp(r.get(7)?),
                            expires: Timestamp(r.get(8)?),
                        },
                        host,
                        ns,
                        boot,
                    ))
                })
                .map_err(|e| ctx.err(e))?;
            let mut out = Vec::new();
            for r in rows {
                let (lease, host, ns, boot) = r.map_err(|e| ctx.err(e))?;
                let gone = lease.owner.is_some_and(|o| owner_is_gone(&host, &ns, &boot, o.pid, o.start_time));
                if !gone {
                    out.push(lease);
                }
            }
            Ok(out)
        })
    }

    /// Ends the current user's lease on `port` early; returns whether there
    /// was one. Another user's lease is refused.
    pub fn release_lease(&self, port: u16, protocol: Protocol) -> Result<bool> {
        let user = User::current();
        self.write(|ctx| {
            let found: Option<(u32, String, String)> = ctx
                .tx
                .prepare_cached("SELECT uid, user, label FROM leases WHERE protocol = ?1 AND port = ?2")
                .and_then(|mut s| {
                    rusqlite::OptionalExtension::optional(
                        s.query_row((protocol.as_str(), port), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))),
                    )
                })
                .map_err(|e| ctx.err(e))?;
            match found {
                None => Ok(false),
                Some((uid, owner, label)) if uid != user.uid => {
                    Err(Error::NotOwner { what: "lease", name: label, port, owner, user: user.name.clone() })
                }
                Some(_) => {
                    ctx.tx
                        .prepare_cached("DELETE FROM leases WHERE protocol = ?1 AND port = ?2")
                        .and_then(|mut s| s.execute((protocol.as_str(), port)))
                        .map_err(|e| ctx.err(e))?;
                    Ok(true)
                }
            }
        })
    }
}
