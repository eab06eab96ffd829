//! Module ranges: `n` consecutive ports per module and protocol, first fit
//! in a pool, kept in `TCP_PORTS` / `UDP_PORTS (start, end, module)`.
//!
//! Those two tables are shared with tools written for the node-level
//! allocator model, which read them, pick the first gap and insert or delete
//! rows directly. So that such a tool never picks a port that a service, a
//! registration or a lease holds, each of those has a mirror row there
//! (named `port4me:KIND:...`, see [`crate::schema::sql`]). A module is every
//! other row: the ones `allocate` inserts, which record the OS user who
//! allocated them (`module_owners`), and the ones other tools insert, which
//! have no owner. Releasing or replacing another user's module takes force.

use crate::claims::{first_fit, overlapping, Claim};
use crate::error::{shown, Error, Result};
use crate::holding::describe;
use crate::process::User;
use crate::schema::{self, MIRROR_PREFIX};
use crate::{validate, Ctx, HoldingKind, Protocol, Registry, ReleaseOptions};

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// How many ports.
    pub fn len(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    /// Never empty; here for symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// A module's range as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModuleRange {
    /// The module.
    pub module: String,
    /// The protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// Its ports.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub range: PortRange,
    /// The OS user who allocated it through port4me; `None` for a row that
    /// another tool inserted (or one allocated before owners were recorded).
    pub user: Option<String>,
    /// Their uid.
    pub uid: Option<u32>,
}

/// A row of `TCP_PORTS` / `UDP_PORTS` that mirrors a holding that is not a
/// module range (a service, a registration or a lease), so that tools that
/// read only those tables see its ports. It comes and goes with its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MirrorRow {
    /// The row's `module` column: `port4me:service:NAME`,
    /// `port4me:registration:ID` or `port4me:lease:ID` (`module` in JSON).
    #[cfg_attr(feature = "serde", serde(rename = "module"))]
    pub name: String,
    /// The protocol (the table).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// Its ports.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub range: PortRange,
    /// What it mirrors: [`HoldingKind::Service`],
    /// [`HoldingKind::Registration`] or [`HoldingKind::Lease`] (`mirrors`
    /// in JSON).
    #[cfg_attr(feature = "serde", serde(rename = "mirrors"))]
    pub kind: HoldingKind,
}

/// Options of [`Modules::allocate`]; a [`Protocol`] alone converts into them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocateOptions {
    /// The protocol (TCP by default).
    pub protocol: Protocol,
    /// Keep the module's existing ranges of this protocol and add another
    /// one (the default replaces them).
    pub keep_existing: bool,
    /// Pool to allocate from instead of [`crate::Config::module_pool`].
    pub pool: Option<(u16, u16)>,
}

impl From<Protocol> for AllocateOptions {
    fn from(protocol: Protocol) -> Self {
        AllocateOptions { protocol, ..AllocateOptions::default() }
    }
}

impl From<&AllocateOptions> for AllocateOptions {
    fn from(options: &AllocateOptions) -> Self {
        options.clone()
    }
}

/// Module ranges, the registry's first job: [`Registry::modules`].
#[derive(Clone, Copy, Debug)]
pub struct Modules<'r> {
    reg: &'r Registry,
}

impl Registry {
    /// Module ranges: `allocate`, `release`, `list`.
    pub fn modules(&self) -> Modules<'_> {
        Modules { reg: self }
    }
}

/// A row of a module table named `module`: its ports, the kind of the claim
/// at its start (`module` for a module, the holder's kind for a mirror row)
/// and its owner.
struct Row {
    range: PortRange,
    kind: Option<String>,
    owner: Option<(u32, String)>,
}

fn rows_named(ctx: &Ctx<'_>, protocol: Protocol, module: &str) -> Result<Vec<Row>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(&format!(
            r#"SELECT t.start, t."end", c.kind, o.uid, o.user FROM {} AS t
               LEFT JOIN claims AS c ON c.protocol = ?2 AND c.start = t.start
               LEFT JOIN module_owners AS o ON o.protocol = ?2 AND o.start = t.start
               WHERE t.module = ?1 ORDER BY t.start"#,
            schema::module_table(protocol)
        ))
        .map_err(|e| ctx.err(e))?;
    let rows = stmt
        .query_map((module, protocol.as_str()), |r| {
            let uid: Option<u32> = r.get(3)?;
            let user: Option<String> = r.get(4)?;
            Ok(Row { range: PortRange { start: r.get(0)?, end: r.get(1)? }, kind: r.get(2)?, owner: uid.zip(user) })
        })
        .map_err(|e| ctx.err(e))?;
    rows.collect::<rusqlite::Result<_>>().map_err(|e| ctx.err(e))
}

/// The error for `module`'s range `row` that belongs to another user.
fn owned_by_other(module: &str, protocol: Protocol, row: &Row, user: &User, hint: &'static str) -> Option<Error> {
    let (uid, owner) = row.owner.as_ref()?;
    (*uid != user.uid).then(|| Error::OwnedByOther {
        what: format!("module {} (ports {}/{protocol})", shown(module), row.range),
        owner: owner.clone(),
        user: user.name.clone(),
        hint,
    })
}

impl Modules<'_> {
    /// `n` consecutive ports of `protocol` for `module`: the first gap in the
    /// module pool that is large enough. Replaces the module's earlier
    /// ranges of this protocol (they may be reused by the new range). The
    /// range records the current OS user; a module name that another user
    /// holds is refused ([`Error::OwnedByOther`]), as are names that begin
    /// with `port4me:` (reserved for mirror rows).
    pub fn allocate(&self, n: u32, module: &str, options: impl Into<AllocateOptions>) -> Result<PortRange> {
        let options = options.into();
        let protocol = options.protocol;
        validate::name("module", module)?;
        if module.starts_with(MIRROR_PREFIX) {
            return Err(Error::InvalidName {
                what: "module",
                shown: shown(module),
                reason: "the prefix \"port4me:\" is reserved for the rows that mirror services, registrations \
                         and leases in TCP_PORTS and UDP_PORTS",
            });
        }
        let pool = options.pool.unwrap_or(self.reg.config.module_pool);
        validate::pool("module pool", pool)?;
        let size = u32::from(pool.1) - u32::from(pool.0) + 1;
        let what = || format!("module {}", shown(module));
        if n == 0 {
            return Err(Error::InvalidCount { what: what(), n: 0, reason: "at least one port is needed".into() });
        }
        if n > size {
            return Err(Error::InvalidCount {
                what: what(),
                n: u64::from(n),
                reason: format!("the pool {}-{} has only {size} ports", pool.0, pool.1),
            });
        }
        let table = schema::module_table(protocol);
        let user = User::current();
        self.reg.write(|ctx| {
            for row in rows_named(ctx, protocol, module)? {
                let hint = "use another module name, or deallocate it with force first";
                if let Some(e) = owned_by_other(module, protocol, &row, &user, hint) {
                    return Err(e);
                }
            }
            if !options.keep_existing {
                ctx.tx
                    .prepare_cached(&format!("DELETE FROM {table} WHERE module = ?1"))
                    .and_then(|mut s| s.execute([module]))
                    .map_err(|e| ctx.err(e))?;
            }
            let start = first_fit(ctx, protocol, pool, n)?.ok_or_else(|| Error::PoolExhausted {
                what: what(),
                n,
                protocol,
                pool_start: pool.0,
                pool_end: pool.1,
                path: self.reg.path.clone(),
            })?;
            let end = (u32::from(start) + n - 1) as u16;
            insert_range(ctx, protocol, start, end, module)?;
            ctx.tx
                .prepare_cached("INSERT INTO module_owners (protocol, start, uid, user) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute((protocol.as_str(), start, user.uid, &user.name)))
                .map_err(|e| ctx.err(e))?;
            Ok(PortRange { start, end })
        })
    }

    /// Releases every range of `module` for `protocol`; returns them (empty
    /// when the module had none). Any name is accepted, also ones that
    /// `allocate` refuses (empty, long, odd characters), since tools that
    /// write the module tables directly may have used them. A range another
    /// OS user allocated is refused ([`Error::OwnedByOther`]) unless
    /// forced, and so is the name of a mirror row ([`Error::NotAModule`]).
    pub fn release(&self, module: &str, options: impl Into<ReleaseOptions>) -> Result<Vec<PortRange>> {
        let ReleaseOptions { protocol, force } = options.into();
        let table = schema::module_table(protocol);
        let user = User::current();
        self.reg.write(|ctx| {
            let rows = rows_named(ctx, protocol, module)?;
            for row in &rows {
                if row.kind.as_deref().is_some_and(|k| k != "module") {
                    return Err(not_a_module(ctx, protocol, module, row)?);
                }
                let hint = "deallocate it with force to release it anyway (--force on the command line, \
                            { force: true } in Node)";
                match owned_by_other(module, protocol, row, &user, hint) {
                    Some(e) if !force => return Err(e),
                    _ => {}
                }
            }
            ctx.tx
                .prepare_cached(&format!("DELETE FROM {table} WHERE module = ?1"))
                .and_then(|mut s| s.execute([module]))
                .map_err(|e| ctx.err(e))?;
            Ok(rows.into_iter().map(|r| r.range).collect())
        })
    }

    /// The ranges of `module` for `protocol`, in port order (any name, as
    /// for [`Modules::release`]; mirror rows are not modules).
    pub fn ranges(&self, module: &str, protocol: Protocol) -> Result<Vec<PortRange>> {
        self.reg.read(|ctx| {
            let rows = rows_named(ctx, protocol, module)?;
            Ok(rows.into_iter().filter(|r| r.kind.as_deref() == Some("module")).map(|r| r.range).collect())
        })
    }

    /// Every module range (of one protocol, or both), in protocol and port
    /// order: the rows of `TCP_PORTS` / `UDP_PORTS` but the mirror rows,
    /// whoever inserted them.
    pub fn list(&self, protocol: Option<Protocol>) -> Result<Vec<ModuleRange>> {
        self.reg.read(|ctx| modules_in(ctx, protocol))
    }

    /// Every mirror row (of one protocol, or both), in protocol and port
    /// order: the rows of `TCP_PORTS` / `UDP_PORTS` that stand for a
    /// service, a registration or a lease.
    pub fn mirror_rows(&self, protocol: Option<Protocol>) -> Result<Vec<MirrorRow>> {
        self.reg.read(|ctx| mirror_rows_in(ctx, protocol))
    }
}

/// [`Modules::list`] in the transaction of `ctx`.
pub(crate) fn modules_in(ctx: &Ctx<'_>, protocol: Option<Protocol>) -> Result<Vec<ModuleRange>> {
    per_protocol(
        ctx,
        protocol,
        r#"SELECT t.start, t."end", t.module, o.uid, o.user FROM {table} AS t
           JOIN claims AS c ON c.protocol = ?1 AND c.start = t.start AND c.kind = 'module'
           LEFT JOIN module_owners AS o ON o.protocol = ?1 AND o.start = t.start
           ORDER BY t.start"#,
        |r, p| {
            Ok(ModuleRange {
                module: schema::lossy(r, 2)?,
                protocol: p,
                range: PortRange { start: r.get(0)?, end: r.get(1)? },
                uid: r.get(3)?,
                user: r.get(4)?,
            })
        },
    )
}

/// [`Modules::mirror_rows`] in the transaction of `ctx`.
pub(crate) fn mirror_rows_in(ctx: &Ctx<'_>, protocol: Option<Protocol>) -> Result<Vec<MirrorRow>> {
    per_protocol(
        ctx,
        protocol,
        r#"SELECT t.start, t."end", t.module, c.kind FROM {table} AS t
           JOIN claims AS c ON c.protocol = ?1 AND c.start = t.start AND c.kind <> 'module'
           ORDER BY t.start"#,
        |r, p| {
            let kind: String = r.get(3)?;
            let kind = match kind.as_str() {
                "service" => HoldingKind::Service,
                "registration" => HoldingKind::Registration,
                "lease" => HoldingKind::Lease,
                // The claims table's CHECK keeps anything else out;
                // a file edited by another tool is said to be so.
                other => {
                    let e = std::io::Error::other(format!("unknown kind of claim {other:?}"));
                    return Err(rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)));
                }
            };
            Ok(MirrorRow {
                name: schema::lossy(r, 2)?,
                protocol: p,
                range: PortRange { start: r.get(0)?, end: r.get(1)? },
                kind,
            })
        },
    )
}

/// [`Error::NotAModule`] for a mirror row named `module`.
fn not_a_module(ctx: &Ctx<'_>, protocol: Protocol, module: &str, row: &Row) -> Result<Error> {
    let kind = row.kind.clone().unwrap_or_default();
    let claim = Claim { start: row.range.start, end: row.range.end, kind: kind.clone() };
    let holding = describe(ctx, protocol, &claim, None)?;
    let holder = holding.as_ref().map_or_else(|| format!("a {kind} that has lapsed"), ToString::to_string);
    let hint = match (kind.as_str(), &holding) {
        ("service", Some(h)) => format!("undefine the service instead: port4me registry undefine {:?}", h.name),
        ("registration", Some(h)) => format!(
            "its owner releases it (port4me registry release {:?}), or it goes when its owner process exits",
            h.name
        ),
        ("lease", _) => format!(
            "it goes when the lease expires or its owner process exits, or when its owner releases it \
             (port4me registry release lease {} --protocol {protocol})",
            row.range.start
        ),
        _ => "it goes at the next write to the registry".to_string(),
    };
    Ok(Error::NotAModule { name: shown(module), table: schema::module_table(protocol), holder, hint })
}

/// Inserts a module range after checking it against every claim.
fn insert_range(ctx: &Ctx<'_>, protocol: Protocol, start: u16, end: u16, module: &str) -> Result<()> {
    if let Some(c) = overlapping(ctx, protocol, start, end)? {
        let holder = describe(ctx, protocol, &c, None)?.map_or_else(|| c.kind.clone(), |h| h.to_string());
        return Err(Error::RangeConflict {
            what: format!("module {}", shown(module)),
            start,
            end,
            protocol,
            holder,
            path: ctx.reg.path.clone(),
        });
    }
    ctx.tx
        .prepare_cached(&format!(
            r#"INSERT INTO {} (start, "end", module) VALUES (?1, ?2, ?3)"#,
            schema::module_table(protocol)
        ))
        .and_then(|mut s| s.execute((start, end, module)))
        .map_err(|e| ctx.err(e))?;
    Ok(())
}

/// The rows `sql` selects from each module table asked for (`{table}` is
/// `TCP_PORTS` or `UDP_PORTS`, `?1` the protocol), in protocol order.
fn per_protocol<T>(
    ctx: &Ctx<'_>,
    protocol: Option<Protocol>,
    sql: &str,
    row: impl Fn(&rusqlite::Row<'_>, Protocol) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for p in [Protocol::Tcp, Protocol::Udp] {
        if protocol.is_some_and(|x| x != p) {
            continue;
        }
        let mut stmt =
            ctx.tx.prepare_cached(&sql.replace("{table}", schema::module_table(p))).map_err(|e| ctx.err(e))?;
        let rows = stmt.query_map([p.as_str()], |r| row(r, p)).map_err(|e| ctx.err(e))?;
        for r in rows {
            out.push(r.map_err(|e| ctx.err(e))?);
        }
    }
    Ok(out)
}
