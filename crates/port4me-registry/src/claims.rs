//! The `claims` table: every port interval any holder has, per protocol.
//! First fit walks its gaps in port order; conflicts are one index probe.

use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::{Ctx, Protocol};

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
