//! Named services per user: `register("web")` hands out a port from the
//! registration pool, recorded with the OS user and the owner process.
//! The same user registering `web` again gets `web_1`, `web_2`, ... (the
//! lowest free suffix). Registrations whose owner process is gone are
//! reclaimed at the start of every operation and by [`Registry::gc`]; only
//! the owning user may release one.

use std::collections::HashSet;

use rusqlite::OptionalExtension;

use crate::error::{Error, Result};
use crate::listing::{tool_name, Origin, MAX_COMMAND_BYTES};
use crate::process::{owner_liveness, Liveness, Machine, Owner, ProcessId, User};
use crate::{claims, validate, Ctx, Protocol, Registry, Timestamp};

/// Highest numeric suffix tried for a repeated name.
const MAX_SUFFIX: u32 = 9999;

/// A named registration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registration {
    /// Its unique name for this user (`web`, `web_1`, ...).
    pub name: String,
    /// The service name asked for (`web`).
    pub service: String,
    /// The protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// The port.
    pub port: u16,
    /// The owning OS user.
    pub user: String,
    /// The owning uid.
    pub uid: u32,
    /// The owner process (`pid` and `pidStart` in JSON).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub owner: ProcessId,
    /// Host name of the machine the owner runs on.
    pub host: String,
    /// When it was registered.
    pub created: Timestamp,
    /// Whether its owner process is running, as far as the caller can tell
    /// ([`Liveness::Unverified`] when its start time cannot be read, e.g.
    /// another user's process under `hidepid`). `ownerState` in JSON.
    #[cfg_attr(feature = "serde", serde(rename = "ownerState"))]
    pub liveness: Liveness,
    /// The directory the registering process ran in.
    pub directory: String,
    /// The command line it was made for (`port4me run`'s command, the Vite
    /// process's arguments); for `register`, the registering process's.
    pub command: String,
    /// The basename of the git worktree of `directory` (see
    /// [`port4me::worktree`]).
    pub worktree: String,
    /// The port4me tool of [`Registrations::hold`] (`""` for `register`).
    pub tool: String,
    /// The port4me seed of [`Registrations::hold`] (`""` for `register`).
    pub seed: String,
}

/// Options of [`Registrations::register`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterOptions {
    /// The owner process ([`Owner::Nobody`] counts as [`Owner::Current`]).
    pub owner: Owner,
    /// Pool to take the port from instead of
    /// [`crate::Config::registration_pool`].
    pub pool: Option<(u16, u16)>,
    /// The protocol (TCP by default).
    pub protocol: Protocol,
    /// Skip ports that are in use right now (bind probe), not only ports the
    /// registry holds.
    pub probe: bool,
}

/// Options of [`Registrations::hold`]: who owns the registration and what
/// `port4me ps` shows about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldOptions {
    /// The owner process, which the registration lasts as long as
    /// ([`Owner::Nobody`] counts as [`Owner::Current`]).
    pub owner: Owner,
    /// The command line to record (default: this process's arguments);
    /// `{port}` in it is replaced by the port found.
    pub command: Option<String>,
}

/// Filters of [`Registrations::find`], applied together; `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The service name asked for at registration (exact).
    pub service: Option<String>,
    /// A prefix of the registration name.
    pub beginswith: Option<String>,
    /// The owning user's name (exact).
    pub user: Option<String>,
}

/// What a reclaim pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GcReport {
    /// Registrations whose owner process is gone.
    pub registrations: usize,
    /// Leases that expired or whose owner process is gone.
    pub leases: usize,
    /// Offers that expired unaccepted.
    pub offers: usize,
}

impl GcReport {
    /// Total entries removed.
    pub fn total(&self) -> usize {
        self.registrations + self.leases + self.offers
    }
}

const COLUMNS: &str = "name, service, protocol, port, user, uid, pid, pid_start, host, created, pid_ns, boot_id, \
                       directory, command, worktree, tool, seed";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Registration, String, String)> {
    let protocol = crate::validate::stored_protocol(r, 2)?;
    Ok((
        Registration {
            name: r.get(0)?,
            service: r.get(1)?,
            protocol,
            port: r.get(3)?,
            user: r.get(4)?,
            uid: r.get(5)?,
            owner: ProcessId { pid: r.get(6)?, start_time: r.get::<_, i64>(7)? as u64 },
            host: r.get(8)?,
            created: Timestamp(r.get(9)?),
            liveness: Liveness::Alive,
            directory: r.get(12)?,
            command: r.get(13)?,
            worktree: r.get(14)?,
            tool: r.get(15)?,
            seed: r.get(16)?,
        },
        r.get(10)?,
        r.get(11)?,
    ))
}

impl From<&HoldOptions> for HoldOptions {
    fn from(options: &HoldOptions) -> Self {
        options.clone()
    }
}

impl From<&RegisterOptions> for RegisterOptions {
    fn from(options: &RegisterOptions) -> Self {
        options.clone()
    }
}

/// Named registrations per user, the registry's third job:
/// [`Registry::registrations`].
#[derive(Clone, Copy, Debug)]
pub struct Registrations<'r> {
    reg: &'r Registry,
}

impl Registry {
    /// Named registrations: `register`, `release`, `find`, `list`.
    pub fn registrations(&self) -> Registrations<'_> {
        Registrations { reg: self }
    }

    /// Reclaims now what has lapsed: registrations and leases whose owner
    /// process is gone, expired leases and expired offers. (Every other
    /// operation does the same first; this one only reports it.)
    pub fn gc(&self) -> Result<GcReport> {
        self.write(|ctx| Ok(ctx.reclaimed))
    }
}

impl Registrations<'_> {
    /// Registers `service` for the current user and the owner process of
    /// `options` (this one by default): a port from the registration pool,
    /// under the name `service` or, if this user already has that,
    /// `service_1`, `service_2`, ...
    pub fn register(&self, service: &str, options: impl Into<RegisterOptions>) -> Result<Registration> {
        let options = &options.into();
        check_service(service)?;
        let pool = options.pool.unwrap_or(self.reg.config.registration_pool);
        validate::pool("registration pool", pool)?;
        let owner = registration_owner(options.owner)?;
        let user = User::current();
        let protocol = options.protocol;
        let probe = port4me::ProbeOptions { host: None, protocol };
        self.reg.write(|ctx| {
            let name = free_name(ctx, user.uid, service)?;
            let port = claims::find_gap(ctx, protocol, pool, |a, b| {
                if !options.probe {
                    return Ok(Some(a));
                }
                for p in a..=b {
                    if port4me::is_port_free(p, &probe)? {
                        return Ok(Some(p));
                    }
                }
                Ok(None)
            })?
            .ok_or_else(|| Error::PoolExhausted {
                what: format!("registration {}", crate::error::shown(&name)),
                n: 1,
                protocol,
                pool_start: pool.0,
                pool_end: pool.1,
                path: self.reg.path.clone(),
            })?;
            let origin = Origin::here(None, "", "");
            insert(ctx, &name, service, protocol, port, &user, owner, &origin)
        })
    }

    /// Holds the port a port4me search for `query` finds, skipping every
    /// port the registry holds and probing as a server would bind
    /// ([`port4me::Port4me::test_to_listen`]), as a registration for the owner process of
    /// `options`: what `port4me run` and the Vite plugin do. Unlike a lease
    /// it has no time limit; it ends when its owner exits (or is released).
    /// Its service is the query's tool (the seed when there is no tool),
    /// named as [`register`](Self::register) names them.
    pub fn hold(&self, query: &port4me::Port4me, options: impl Into<HoldOptions>) -> Result<Registration> {
        self.hold_checked(query, options, |port| Ok(query.test_to_listen(port)?))
    }

    /// [`hold`](Self::hold) with the caller's own check of whether a port
    /// is free instead of the query's probe.
    pub fn hold_checked(
        &self,
        query: &port4me::Port4me,
        options: impl Into<HoldOptions>,
        mut is_free: impl FnMut(u16) -> Result<bool>,
    ) -> Result<Registration> {
        let options = &options.into();
        let seed = query.seed()?;
        let tool = tool_name(query)?;
        let service = if tool.is_empty() { seed.clone() } else { tool.clone() };
        check_service(&service)?;
        let owner = registration_owner(options.owner)?;
        let user = User::current();
        let protocol = query.probe_options().protocol;
        let origin = Origin::here(options.command.clone(), &tool, &seed);
        validate::text("command", &origin.command, MAX_COMMAND_BYTES)?;
        crate::leases::claim_in_sequence(self.reg, query, &mut is_free, |ctx, port| {
            let name = free_name(ctx, user.uid, &service)?;
            let origin = Origin { command: origin.command.replace("{port}", &port.to_string()), ..origin.clone() };
            insert(ctx, &name, &service, protocol, port, &user, owner, &origin)
        })
    }

    /// Releases the current user's registration `name` and returns it.
    /// Another user's registration of that name is refused
    /// ([`Error::NotOwner`]).
    pub fn release(&self, name: &str) -> Result<Registration> {
        validate::name("registration", name)?;
        let user = User::current();
        self.reg.write(|ctx| {
            let mine = select_one(ctx, "uid = ?1 AND name = ?2", rusqlite::params![user.uid, name])?;
            if let Some(r) = mine {
                delete_registration(ctx, &r)?;
                return Ok(r);
            }
            match select_one(ctx, "name = ?1 ORDER BY id LIMIT 1", rusqlite::params![name])? {
                Some(other) => Err(Error::NotOwner {
                    what: "registration",
                    name: other.name,
                    port: other.port,
                    owner: other.user,
                    user: user.name,
                }),
                None => Err(Error::UnknownRegistration { which: format!("named {name:?}"), user: user.name }),
            }
        })
    }

    /// Releases the registration holding `port`, which must belong to the
    /// current user.
    pub fn release_port(&self, port: u16, protocol: Protocol) -> Result<Registration> {
        let user = User::current();
        self.reg.write(|ctx| {
            match select_one(ctx, "protocol = ?1 AND port = ?2", rusqlite::params![protocol.as_str(), port])? {
                Some(r) if r.uid == user.uid => {
                    delete_registration(ctx, &r)?;
                    Ok(r)
                }
                Some(r) => Err(Error::NotOwner {
                    what: "registration",
                    name: r.name,
                    port: r.port,
                    owner: r.user,
                    user: user.name,
                }),
                None => {
                    Err(Error::UnknownRegistration { which: format!("on port {port}/{protocol}"), user: user.name })
                }
            }
        })
    }

    /// Every live registration, by user and name.
    pub fn list(&self) -> Result<Vec<Registration>> {
        self.find(&Filter::default())
    }

    /// The live registrations matching every given filter.
    pub fn find(&self, filter: &Filter) -> Result<Vec<Registration>> {
        self.reg.read(|ctx| find_in(ctx, filter))
    }
}

/// A service name with room for a `_NNNN` suffix.
fn check_service(service: &str) -> Result<()> {
    validate::name("service", service)?;
    if service.len() + 5 > validate::MAX_NAME_BYTES {
        return Err(Error::InvalidName {
            what: "service",
            shown: crate::error::shown(service),
            reason: "it leaves no room for a _NNNN suffix (at most 195 bytes)",
        });
    }
    Ok(())
}

/// A registration's owner: always a process.
fn registration_owner(owner: Owner) -> Result<ProcessId> {
    Ok(match owner {
        Owner::Nobody => Owner::Current,
        o => o,
    }
    .resolve()?
    .expect("an owner"))
}

/// Records the registration `name` of `service` on `port` in `ctx`.
#[allow(clippy::too_many_arguments)]
fn insert(
    ctx: &Ctx<'_>,
    name: &str,
    service: &str,
    protocol: Protocol,
    port: u16,
    user: &User,
    owner: ProcessId,
    origin: &Origin,
) -> Result<Registration> {
    let m = Machine::current();
    ctx.tx
        .prepare_cached(
            "INSERT INTO registrations (name, service, protocol, port, uid, user, host, boot_id, pid_ns, pid, pid_start, created, \
             directory, command, worktree, tool, seed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                name,
                service,
                protocol.as_str(),
                port,
                user.uid,
                user.name,
                m.host,
                m.boot_id,
                m.pid_ns,
                owner.pid,
                owner.start_time as i64,
                ctx.now.millis(),
                origin.directory,
                origin.command,
                origin.worktree,
                origin.tool,
                origin.seed,
            ])
        })
        .map_err(|e| ctx.err(e))?;
    Ok(Registration {
        name: name.to_string(),
        service: service.to_string(),
        protocol,
        port,
        user: user.name.clone(),
        uid: user.uid,
        owner,
        host: m.host.clone(),
        created: ctx.now,
        liveness: owner.liveness(),
        directory: origin.directory.clone(),
        command: origin.command.clone(),
        worktree: origin.worktree.clone(),
        tool: origin.tool.clone(),
        seed: origin.seed.clone(),
    })
}

/// [`Registrations::find`] in the transaction of `ctx`.
pub(crate) fn find_in(ctx: &Ctx<'_>, filter: &Filter) -> Result<Vec<Registration>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM registrations \
             WHERE (?1 IS NULL OR service = ?1) \
               AND (?2 IS NULL OR substr(name, 1, length(?2)) = ?2) \
               AND (?3 IS NULL OR user = ?3) \
             ORDER BY user, name"
        ))
        .map_err(|e| ctx.err(e))?;
    let rows = stmt.query_map((&filter.service, &filter.beginswith, &filter.user), from_row).map_err(|e| ctx.err(e))?;
    let mut out = Vec::new();
    for r in rows {
        let (mut reg, ns, boot) = r.map_err(|e| ctx.err(e))?;
        reg.liveness = owner_liveness(&reg.host, &ns, &boot, reg.owner.pid, reg.owner.start_time);
        if reg.liveness.is_kept() {
            out.push(reg);
        }
    }
    Ok(out)
}

fn select_one(ctx: &Ctx<'_>, cond: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Option<Registration>> {
    ctx.tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM registrations WHERE {cond}"))
        .and_then(|mut s| s.query_row(params, from_row).optional())
        .map(|r| r.map(|(reg, _, _)| reg))
        .map_err(|e| ctx.err(e))
}

fn delete_registration(ctx: &Ctx<'_>, r: &Registration) -> Result<()> {
    ctx.tx
        .prepare_cached("DELETE FROM registrations WHERE uid = ?1 AND name = ?2")
        .and_then(|mut s| s.execute((r.uid, &r.name)))
        .map_err(|e| ctx.err(e))?;
    Ok(())
}

/// `service`, or the lowest free `service_N`, for this user.
fn free_name(ctx: &Ctx<'_>, uid: u32, service: &str) -> Result<String> {
    let mut stmt = ctx
        .tx
        .prepare_cached("SELECT name FROM registrations WHERE uid = ?1 AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '_')")
        .map_err(|e| ctx.err(e))?;
    let taken: HashSet<String> =
        stmt.query_map((uid, service), |r| r.get(0)).and_then(|rows| rows.collect()).map_err(|e| ctx.err(e))?;
    if !taken.contains(service) {
        return Ok(service.to_string());
    }
    (1..=MAX_SUFFIX)
        .map(|i| format!("{service}_{i}"))
        .find(|n| !taken.contains(n))
        .ok_or_else(|| Error::TooManyRegistrations(service.to_string()))
}

/// Reclaims what has lapsed; runs at the start of every write transaction.
///
/// At a handle's `first` write, one query first asks what there is to
/// reclaim, and only the statements with work to do run: most writes find
/// nothing, or one dead owner (the last `port4me run`), and compiling a
/// `DELETE` with the triggers it fires is most of what a short-lived
/// process spends in SQLite. Later writes run the compiled statements
/// (asking first would cost them more).
pub(crate) fn housekeeping(ctx: &Ctx<'_>, first: bool) -> Result<GcReport> {
    let mut report = GcReport::default();
    let now = ctx.now.millis();
    let forget = now.saturating_sub(crate::services::EXPIRED_MEMORY.as_millis() as i64);
    let tx = ctx.tx;
    let exec = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
        tx.prepare_cached(sql).and_then(|mut s| s.execute(params)).map_err(|e| ctx.err(e))
    };
    // Owners on this machine: a different boot id means a reboot since.
    // When this machine cannot be identified, no owner can be judged.
    let m = Machine::current();
    let lapsed: [bool; 5] = if !first {
        [true; 5]
    } else {
        tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM leases WHERE expires <= ?4), \
             EXISTS (SELECT 1 FROM service_ports WHERE state = 'offered' AND expires <= ?4), \
             EXISTS (SELECT 1 FROM expired_offers WHERE expired <= ?5), \
             EXISTS (SELECT 1 FROM registrations WHERE host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> ''), \
             EXISTS (SELECT 1 FROM leases WHERE pid IS NOT NULL AND host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> '')",
        )
        .and_then(|mut s| {
            s.query_row((&m.host, &m.pid_ns, &m.boot_id, now, forget), |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
            })
        })
        .map_err(|e| ctx.err(e))?
    };
    let [expired_leases, expired_offers, forgotten_offers, earlier_boot_registrations, earlier_boot_leases] = lapsed;
    if expired_leases {
        report.leases += exec("DELETE FROM leases WHERE expires <= ?1", rusqlite::params![now])?;
    }
    if expired_offers || forgotten_offers {
        report.offers += crate::services::expire_offers(ctx)?;
    }
    if !m.known {
        return Ok(report);
    }
    if earlier_boot_registrations {
        report.registrations += exec(
            "DELETE FROM registrations WHERE host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> ''",
            rusqlite::params![m.host, m.pid_ns, m.boot_id],
        )?;
    }
    if earlier_boot_leases {
        report.leases += exec(
            "DELETE FROM leases WHERE pid IS NOT NULL AND host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> ''",
            rusqlite::params![m.host, m.pid_ns, m.boot_id],
        )?;
    }
    // Each owner once, with whether it holds registrations and leases.
    let owners: Vec<(u32, i64, bool, bool)> = tx
        .prepare_cached(
            "SELECT pid, pid_start, MAX(registration), MAX(lease) FROM ( \
             SELECT pid, pid_start, 1 AS registration, 0 AS lease FROM registrations \
             WHERE host = ?1 AND pid_ns = ?2 AND boot_id = ?3 \
             UNION ALL SELECT pid, pid_start, 0, 1 FROM leases \
             WHERE pid IS NOT NULL AND host = ?1 AND pid_ns = ?2 AND boot_id = ?3) GROUP BY pid, pid_start",
        )
        .and_then(|mut s| {
            s.query_map((&m.host, &m.pid_ns, &m.boot_id), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(|e| ctx.err(e))?;
    for (pid, start, registrations, leases) in owners {
        if (ProcessId { pid, start_time: start as u64 }).is_alive() {
            continue;
        }
        let key = rusqlite::params![m.host, m.pid_ns, m.boot_id, pid, start];
        if registrations {
            report.registrations += exec(
                "DELETE FROM registrations WHERE host = ?1 AND pid_ns = ?2 AND boot_id = ?3 AND pid = ?4 AND pid_start = ?5",
                key,
            )?;
        }
        if leases {
            report.leases += exec(
                "DELETE FROM leases WHERE host = ?1 AND pid_ns = ?2 AND boot_id = ?3 AND pid = ?4 AND pid_start = ?5",
                key,
            )?;
        }
    }
    Ok(report)
}
