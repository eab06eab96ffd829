//! Module ranges: `n` consecutive ports per module and protocol, first fit
//! in a pool, kept in `TCP_PORTS` / `UDP_PORTS (start, end, module)`.

use crate::claims::{describe, first_fit, overlapping};
use crate::error::{Error, Result};
use crate::{validate, Ctx, Protocol, Registry};

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
pub struct ModuleRange {
    /// The module.
    pub module: String,
    /// The protocol.
    pub protocol: Protocol,
    /// Its ports.
    pub range: PortRange,
}

/// Options of [`Registry::allocate_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocateOptions {
    /// Keep the module's existing ranges of this protocol and add another
    /// one (the default replaces them).
    pub keep_existing: bool,
    /// Pool to allocate from instead of [`crate::Config::module_pool`].
    pub pool: Option<(u16, u16)>,
}

pub(crate) fn table(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "TCP_PORTS",
        Protocol::Udp => "UDP_PORTS",
    }
}

impl Registry {
    /// `n` consecutive ports of `protocol` for `module`: the first gap in the
    /// module pool that is large enough. Replaces the module's earlier
    /// ranges of this protocol (they may be reused by the new range).
    pub fn allocate(&self, n: u32, module: &str, protocol: Protocol) -> Result<PortRange> {
        self.allocate_with(n, module, protocol, &AllocateOptions::default())
    }

    /// [`Registry::allocate`] with options.
    pub fn allocate_with(
        &self,
        n: u32,
        module: &str,
        protocol: Protocol,
        options: &AllocateOptions,
    ) -> Result<PortRange> {
        validate::name("module", module)?;
        let pool = options.pool.unwrap_or(self.config.module_pool);
        validate::pool("module pool", pool)?;
        let size = u32::from(pool.1) - u32::from(pool.0) + 1;
        let what = || format!("module {}", crate::error::shown(module));
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
        let table = table(protocol);
        self.write(|ctx| {
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
                path: self.path.clone(),
            })?;
            let end = (u32::from(start) + n - 1) as u16;
            insert_range(ctx, protocol, start, end, module)?;
            Ok(PortRange { start, end })
        })
    }

    /// Releases every range of `module` for `protocol`; returns them (empty
    /// when the module had none).
    pub fn deallocate(&self, module: &str, protocol: Protocol) -> Result<Vec<PortRange>> {
        validate::name("module", module)?;
        let table = table(protocol);
        self.write(|ctx| {
            let ranges = ranges_of(ctx, table, module)?;
            ctx.tx
                .prepare_cached(&format!("DELETE FROM {table} WHERE module = ?1"))
                .and_then(|mut s| s.execute([module]))
                .map_err(|e| ctx.err(e))?;
            Ok(ranges)
        })
    }

    /// The ranges of `module` for `protocol`, in port order.
    pub fn module_ranges(&self, module: &str, protocol: Protocol) -> Result<Vec<PortRange>> {
        validate::name("module", module)?;
        self.read(|ctx| ranges_of(ctx, table(protocol), module))
    }

    /// Every module range (of one protocol, or both), in protocol and port order.
    pub fn modules(&self, protocol: Option<Protocol>) -> Result<Vec<ModuleRange>> {
        self.read(|ctx| {
            let mut out = Vec::new();
            for p in [Protocol::Tcp, Protocol::Udp] {
                if protocol.is_some_and(|x| x != p) {
                    continue;
                }
                let mut stmt = ctx
                    .tx
                    .prepare_cached(&format!(r#"SELECT start, "end", module FROM {} ORDER BY start"#, table(p)))
                    .map_err(|e| ctx.err(e))?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(ModuleRange {
                            module: r.get(2)?,
                            protocol: p,
                            range: PortRange { start: r.get(0)?, end: r.get(1)? },
                        })
                    })
                    .map_err(|e| ctx.err(e))?;
                for r in rows {
                    out.push(r.map_err(|e| ctx.err(e))?);
                }
            }
            Ok(out)
        })
    }
}

fn ranges_of(ctx: &Ctx<'_>, table: &str, module: &str) -> Result<Vec<PortRange>> {
    let mut stmt = ctx
        .tx
        .prepare_cached(&format!(r#"SELECT start, "end" FROM {table} WHERE module = ?1 ORDER BY start"#))
        .map_err(|e| ctx.err(e))?;
    let rows =
        stmt.query_map([module], |r| Ok(PortRange { start: r.get(0)?, end: r.get(1)? })).map_err(|e| ctx.err(e))?;
    rows.collect::<rusqlite::Result<_>>().map_err(|e| ctx.err(e))
}

/// Inserts a module range after checking it against every claim.
fn insert_range(ctx: &Ctx<'_>, protocol: Protocol, start: u16, end: u16, module: &str) -> Result<()> {
    if let Some(c) = overlapping(ctx, protocol, start, end)? {
        let holder = describe(ctx, protocol, &c, None)?.map_or_else(|| c.kind.clone(), |h| h.to_string());
        return Err(Error::RangeConflict {
            what: format!("module {}", crate::error::shown(module)),
            start,
            end,
            protocol,
            holder,
            path: ctx.reg.path.clone(),
        });
    }
    ctx.tx
        .prepare_cached(&format!(r#"INSERT INTO {} (start, "end", module) VALUES (?1, ?2, ?3)"#, table(protocol)))
        .and_then(|mut s| s.execute((start, end, module)))
        .map_err(|e| ctx.err(e))?;
    Ok(())
}
