//! Reserved port4me results: [`Leases::reserve`] runs a port4me search
//! that skips every port the registry holds, and records the port found as
//! a short lease. The probing happens outside the write lock; the lease is
//! written in a short transaction that re-checks the port first, so callers
//! that ask for the same tool at the same instant still get different
//! ports. A lease ends at its time-to-live (default 60 s, long enough for
//! the server to bind the port, after which the probe sees it as busy) or
//! as soon as its owner process has exited, whichever comes first.

use std::time::Duration;

use port4me::core::PortSet;

use crate::claims::overlapping;
use crate::error::{Error, Result};
use crate::listing::{tool_name, Origin};
use crate::process::{owner_is_gone, Machine, Owner, ProcessId, User};
use crate::{validate, Ctx, Protocol, Registry, Timestamp};

/// Every port of `protocol` the registry holds (after the housekeeping of
/// the transaction `ctx` belongs to).
fn held_ports(ctx: &Ctx<'_>, protocol: Protocol) -> Result<Box<PortSet>> {
    let mut held = Box::new(PortSet::new());
    let mut stmt =
        ctx.tx.prepare_cached(r#"SELECT start, "end" FROM claims WHERE protocol = ?1"#).map_err(|e| ctx.err(e))?;
    let rows = stmt
        .query_map([protocol.as_str()], |r| Ok((r.get::<_, u16>(0)?, r.get::<_, u16>(1)?)))
        .map_err(|e| ctx.err(e))?;
    for row in rows {
        let (start, end) = row.map_err(|e| ctx.err(e))?;
        held.insert_range(start, end);
    }
    Ok(held)
}

/// The search of [`Leases::reserve_checked`], shared with
/// [`Registrations::hold`](crate::Registrations::hold): the first candidate
/// of `query`'s sequence that the registry does not hold and `is_free`
/// accepts, recorded by `insert` in a short transaction that re-checks it.
///
/// The candidates are checked without any lock, and a short transaction
/// re-checks the port found and records it. If the registry holds that port
/// (another client took it, or held it all along), the transaction returns
/// everything the registry holds and the search goes on with the next
/// candidate not among them, so a port is never handed out twice. The search is bounded like
/// [`port4me::Port4me::find_with`]: every distinct candidate at most once,
/// and at most `max_tries` of them.
pub(crate) fn claim_in_sequence<T>(
    reg: &Registry,
    query: &port4me::Port4me,
    is_free: &mut dyn FnMut(u16) -> Result<bool>,
    insert: impl Fn(&Ctx<'_>, u16) -> Result<T>,
) -> Result<T> {
    let protocol = query.probe_options().protocol;
    // Fail fast on a bad query before touching the registry.
    let mut search = query.search()?;
    // What the registry holds is learnt from the first write: when the
    // first free candidate is not held (the usual case), the search is one
    // transaction, not a read and then a write.
    let mut held = Box::new(PortSet::new());
    loop {
        let Some(port) = search.next_port()? else {
            return Err(search.no_free_port().into());
        };
        if held.contains_port(port) || !is_free(port)? {
            continue;
        }
        let outcome = reg.write(|ctx| {
            if overlapping(ctx, protocol, port, port)?.is_some() {
                // Taken since the first look: look again, go on.
                return Ok(Err(held_ports(ctx, protocol)?));
            }
            insert(ctx, port).map(Ok)
        })?;
        match outcome {
            Ok(value) => return Ok(value),
            Err(now_held) => held = now_held,
        }
    }
}

/// Default lifetime of a reservation.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// Options of [`Leases::reserve`].
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
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Lease {
    /// The port.
    pub port: u16,
    /// The protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// The label (the port4me seed unless given).
    pub label: String,
    /// The OS user who reserved it.
    pub user: String,
    /// Their uid.
    pub uid: u32,
    /// The owner process, if any (its `pid` or `null` in JSON).
    #[cfg_attr(feature = "serde", serde(rename = "pid", serialize_with = "crate::serial::owner_pid"))]
    #[cfg_attr(feature = "ts", ts(as = "Option<u32>"))]
    pub owner: Option<ProcessId>,
    /// When it was made.
    pub created: Timestamp,
    /// When it ends at the latest.
    pub expires: Timestamp,
    /// The directory the reserving process ran in.
    pub directory: String,
    /// The reserving process's command line.
    pub command: String,
    /// The basename of the git worktree of `directory`.
    pub worktree: String,
    /// The port4me tool of the search (`""` for none).
    pub tool: String,
}

impl From<&ReserveOptions> for ReserveOptions {
    fn from(options: &ReserveOptions) -> Self {
        options.clone()
    }
}

impl From<Duration> for ReserveOptions {
    fn from(ttl: Duration) -> Self {
        ReserveOptions { ttl, ..ReserveOptions::default() }
    }
}

/// Leases of port4me results, the registry's fourth job: [`Registry::leases`].
#[derive(Clone, Copy, Debug)]
pub struct Leases<'r> {
    reg: &'r Registry,
}

impl Registry {
    /// Leases: `reserve`, `release`, `list`.
    pub fn leases(&self) -> Leases<'_> {
        Leases { reg: self }
    }
}

impl Leases<'_> {
    /// Finds a port the way `query.find()` would, but skipping every port
    /// the registry holds, and leases it to the owner of `options` (this
    /// process by default) for their time-to-live (a [`Duration`] alone
    /// converts into options). The protocol is the query's probe protocol.
    pub fn reserve(&self, query: &port4me::Port4me, options: impl Into<ReserveOptions>) -> Result<Lease> {
        self.reserve_checked(query, options, |port| Ok(query.test(port)?))
    }

    /// [`Leases::reserve`] with the caller's own check of whether a port is
    /// free instead of the query's probe.
    ///
    /// The candidates are checked outside the registry's write lock; the
    /// port found is re-checked and leased in one short transaction (the
    /// search goes on when another client took it in between), so a port
    /// is still never handed out twice. The search is bounded like
    /// [`port4me::Port4me::find_with`].
    pub fn reserve_checked(
        &self,
        query: &port4me::Port4me,
        options: impl Into<ReserveOptions>,
        mut is_free: impl FnMut(u16) -> Result<bool>,
    ) -> Result<Lease> {
        let options = &options.into();
        validate::ttl("lease time-to-live", options.ttl)?;
        let label = match &options.label {
            Some(l) => l.clone(),
            None => query.seed()?,
        };
        validate::text("lease label", &label, validate::MAX_NAME_BYTES)?;
        let owner = options.owner.resolve()?;
        let user = User::current();
        let protocol = query.probe_options().protocol;
        let origin = Origin::here(None, &tool_name(query)?, "");
        claim_in_sequence(self.reg, query, &mut is_free, |ctx, port| {
            let expires = ctx.now.plus(options.ttl);
            let m = Machine::current();
            ctx.tx
                .prepare_cached(
                    "INSERT INTO leases (protocol, port, label, uid, user, host, boot_id, pid_ns, pid, pid_start, created, expires, \
                     directory, command, worktree, tool) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
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
                        expires.millis(),
                        origin.directory,
                        origin.command,
                        origin.worktree,
                        origin.tool,
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
                directory: origin.directory.clone(),
                command: origin.command.clone(),
                worktree: origin.worktree.clone(),
                tool: origin.tool.clone(),
            })
        })
    }

    /// Every live lease, in protocol and port order.
    pub fn list(&self) -> Result<Vec<Lease>> {
        self.reg.read(leases_in)
    }

    /// Ends the current user's lease on `port` early; returns whether there
    /// was one. Another user's lease is refused.
    pub fn release(&self, port: u16, protocol: Protocol) -> Result<bool> {
        let user = User::current();
        self.reg.write(|ctx| {
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

/// [`Leases::list`] in the transaction of `ctx`.
pub(crate) fn leases_in(ctx: &Ctx<'_>) -> Result<Vec<Lease>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(
            "SELECT port, protocol, label, user, uid, pid, pid_start, created, expires, host, pid_ns, boot_id, \
             directory, command, worktree, tool FROM leases WHERE expires > ?1 ORDER BY protocol, port",
        )
        .map_err(|e| ctx.err(e))?;
    let rows = stmt
        .query_map([ctx.now.millis()], |r| {
            let protocol = crate::validate::stored_protocol(r, 1)?;
            let pid: Option<u32> = r.get(5)?;
            let start: Option<i64> = r.get(6)?;
            let host: String = r.get(9)?;
            let ns: String = r.get(10)?;
            let boot: String = r.get(11)?;
            Ok((
                Lease {
                    port: r.get(0)?,
                    protocol,
                    label: r.get(2)?,
                    user: r.get(3)?,
                    uid: r.get(4)?,
                    owner: pid.map(|pid| ProcessId { pid, start_time: start.unwrap_or(0) as u64 }),
                    created: Timestamp(r.get(7)?),
                    expires: Timestamp(r.get(8)?),
                    directory: r.get(12)?,
                    command: r.get(13)?,
                    worktree: r.get(14)?,
                    tool: r.get(15)?,
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
}
