//! The candidate sequence.
//!
//! Candidates come in two stretches: the `prepend` ports in the order given,
//! unfiltered, then the values of the LCG that lie in the allowed set
//! (include minus exclude). `skip` drops the first N candidates of the whole
//! sequence, prepended ones included.
//!
//! The LCG visits every value of `0..=65535` once per period (see
//! [`lcg`](crate::lcg)). Four things follow, and the code here relies on
//! each:
//!
//! * Stepping cannot help an empty allowed set. The iterator checks for one
//!   up front and then yields [`Error::EmptySet`] instead of spinning. It
//!   also gives up after one full period without a hit.
//! * The filtered candidates repeat with period `a = |allowed|`. Skipping
//!   `k` of them is skipping `k mod a`, so a skip costs at most one period.
//! * A list longer than `a` needs the generator only for its first `a`
//!   entries; the rest is a copy. `list` costs O(65,536 + n) even for a
//!   one-port set, not O(65,536 * n).
//! * The sequence holds `a` distinct ports, plus the prepended ports outside
//!   the set ([`Candidates::distinct_left`]). A search can stop once it has
//!   seen them all, after at most one period: the `port4me` crate's
//!   `Search` does.

use crate::error::Error;
use crate::lcg::FastLcg;
use crate::set::PortSet;

/// The allowed set: `include` (or 1024-65535 when `include` is empty) minus
/// `exclude`.
pub fn make_allowed(include: &mut PortSet, exclude: &PortSet) {
    if include.is_empty() {
        include.insert_range(*crate::DEFAULT_INCLUDE.start(), *crate::DEFAULT_INCLUDE.end());
    }
    include.difference_with(exclude);
    include.remove(0);
}

/// Iterator over the candidate ports. It never ends: the LCG part repeats
/// with the generator's period, and a sequence with nothing allowed yields
/// `Err(Error::EmptySet)` for ever after the prepended ports.
#[derive(Clone, Debug)]
pub struct Candidates<'a> {
    prepend: &'a [u16],
    next_prepend: usize,
    allowed: &'a PortSet,
    allowed_empty: bool,
    lcg: FastLcg,
    skip: u64,
}

/// Where a [`Candidates`] iterator stands, without the ports it borrows:
/// what an owner of the prepend list and the allowed set keeps between
/// calls (see [`Candidates::position`] and [`Candidates::resume`]).
#[derive(Clone, Debug)]
pub struct Position {
    next_prepend: usize,
    allowed_empty: bool,
    lcg: FastLcg,
    skip: u64,
}

impl<'a> Candidates<'a> {
    /// Where this iterator stands.
    pub fn position(&self) -> Position {
        Position {
            next_prepend: self.next_prepend,
            allowed_empty: self.allowed_empty,
            lcg: self.lcg.clone(),
            skip: self.skip,
        }
    }

    /// The iterator over `prepend` and `allowed` at `position`, which must
    /// come from an iterator over the same two.
    pub fn resume(prepend: &'a [u16], allowed: &'a PortSet, position: Position) -> Self {
        let Position { next_prepend, allowed_empty, lcg, skip } = position;
        Candidates { prepend, next_prepend: next_prepend.min(prepend.len()), allowed, allowed_empty, lcg, skip }
    }

    /// How many distinct ports this iterator can still yield, `None` when
    /// the allowed set is empty (it then ends in [`Error::EmptySet`] after
    /// the prepended ports). The LCG part yields every allowed port within
    /// one period wherever it stands, so this is the allowed ports plus the
    /// prepended ports still to come (after a pending skip) that are not
    /// allowed.
    pub fn distinct_left(&self) -> Option<usize> {
        if self.allowed_empty {
            return None;
        }
        let from = self.next_prepend.saturating_add(usize::try_from(self.skip).unwrap_or(usize::MAX));
        let prepended = self.prepend.get(from..).unwrap_or(&[]);
        if prepended.is_empty() {
            return Some(self.allowed.len());
        }
        // A prepend list built by hand may repeat a port: count each once.
        let mut extra = PortSet::new();
        prepended.iter().filter(|&&p| !self.allowed.contains_port(p)).for_each(|&p| {
            extra.insert(p);
        });
        Some(self.allowed.len() + extra.len())
    }

    /// Candidates for the seed hash `seed`, trying `prepend` first and then
    /// the LCG values in `allowed` (which must already exclude what should be
    /// excluded; see [`make_allowed`]).
    pub fn new(seed: u32, prepend: &'a [u16], allowed: &'a PortSet) -> Self {
        Candidates {
            prepend,
            next_prepend: 0,
            allowed,
            allowed_empty: allowed.is_empty(),
            lcg: FastLcg::new(seed),
            skip: 0,
        }
    }

    /// Drops the first `n` candidates lazily (on the first call to `next`).
    /// Unlike `Iterator::skip`, an error met while skipping is not swallowed.
    pub fn with_skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    fn raw_next(&mut self) -> Result<u16, Error> {
        if let Some(&p) = self.prepend.get(self.next_prepend) {
            self.next_prepend += 1;
            return Ok(p);
        }
        if self.allowed_empty {
            return Err(Error::EmptySet);
        }
        match self.lcg.next_in(self.allowed) {
            Some(p) => Ok(p),
            None => {
                // Unreachable for a non-empty set (full period), kept as a guard.
                self.allowed_empty = true;
                Err(Error::EmptySet)
            }
        }
    }

    /// Appends the next `n` candidates to `out`: the same values as `n` calls
    /// of `next`, in a tight loop (this is what `list` uses).
    #[cfg(feature = "alloc")]
    pub fn fill(&mut self, out: &mut alloc::vec::Vec<u16>, n: usize) -> Result<(), Error> {
        out.reserve(n.min(crate::MAX_LIST));
        self.apply_skip()?;
        let from_prepend = n.min(self.prepend.len() - self.next_prepend);
        out.extend_from_slice(&self.prepend[self.next_prepend..][..from_prepend]);
        self.next_prepend += from_prepend;
        let left = n - from_prepend;
        if left == 0 {
            return Ok(());
        }
        if self.allowed_empty {
            return Err(Error::EmptySet);
        }
        let start = out.len();
        let first = left.min(self.allowed.len());
        self.lcg.fill_filtered(self.allowed, out, first);
        if left > first {
            // One whole cycle of candidates is in out[start..]; the rest
            // repeats it. Copy in doubling chunks.
            let mut missing = left - first;
            while missing > 0 {
                let k = missing.min(out.len() - start);
                out.extend_from_within(start..start + k);
                missing -= k;
            }
            // Leave the generator where `next` would have: just after the
            // last value emitted.
            self.lcg = FastLcg::after(*out.last().expect("non-empty"));
        }
        Ok(())
    }

    /// Applies a pending [`with_skip`](Self::with_skip), once.
    fn apply_skip(&mut self) -> Result<(), Error> {
        match core::mem::take(&mut self.skip) {
            0 => Ok(()),
            n => self.do_skip(n),
        }
    }

    /// Skips `n` candidates at once, in at most one LCG period. Skipping
    /// over the LCG part with a non-empty set cannot fail, but skipping into
    /// an empty set does.
    fn do_skip(&mut self, n: u64) -> Result<(), Error> {
        let in_prepend = n.min((self.prepend.len() - self.next_prepend) as u64);
        self.next_prepend += in_prepend as usize;
        let rest = n - in_prepend;
        if rest == 0 {
            return Ok(());
        }
        if self.allowed_empty {
            return Err(Error::EmptySet);
        }
        // The candidates repeat every |allowed|: skip whole cycles for free.
        for _ in 0..rest % self.allowed.len() as u64 {
            self.raw_next()?;
        }
        Ok(())
    }
}

impl Iterator for Candidates<'_> {
    type Item = Result<u16, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.apply_skip() {
            return Some(Err(e));
        }
        Some(self.raw_next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_set_errors_after_prepend_and_never_hangs() {
        let allowed = PortSet::new();
        let mut c = Candidates::new(12345, &[4000, 4001], &allowed);
        assert_eq!(c.next(), Some(Ok(4000)));
        assert_eq!(c.next(), Some(Ok(4001)));
        assert_eq!(c.next(), Some(Err(Error::EmptySet)));
        assert_eq!(c.next(), Some(Err(Error::EmptySet)));
    }

    #[test]
    fn skip_into_empty_set_is_an_error() {
        let allowed = PortSet::new();
        let mut c = Candidates::new(1, &[4000], &allowed).with_skip(2);
        assert_eq!(c.next(), Some(Err(Error::EmptySet)));
    }

    #[test]
    fn single_port_set_is_found() {
        let allowed = PortSet::from_range(2000, 2000);
        let c = Candidates::new(42, &[], &allowed);
        assert!(c.take(3).all(|p| p == Ok(2000)));
    }

    #[test]
    fn a_resumed_iterator_goes_on_where_it_stood() {
        let allowed = PortSet::from_range(2000, 2009);
        let prepend = [4000, 4001];
        let all: std::vec::Vec<_> = Candidates::new(7, &prepend, &allowed).with_skip(1).take(30).collect();
        let mut c = Candidates::new(7, &prepend, &allowed).with_skip(1);
        let mut pieces = std::vec::Vec::new();
        for _ in 0..30 {
            let pos = c.position();
            c = Candidates::resume(&prepend, &allowed, pos);
            pieces.push(c.next().unwrap());
        }
        assert_eq!(pieces, all);
    }

    #[test]
    fn distinct_candidates_count_prepended_ports_outside_the_set_once() {
        let allowed = PortSet::from_range(2000, 2009);
        let d = |prepend: &[u16], skip| Candidates::new(7, prepend, &allowed).with_skip(skip).distinct_left();
        assert_eq!(d(&[], 0), Some(10));
        assert_eq!(d(&[2000, 4000, 4000, 4001], 0), Some(12));
        assert_eq!(d(&[4000, 4001], 1), Some(11));
        assert_eq!(d(&[4000, 4001], 5), Some(10));
        let empty = PortSet::new();
        assert_eq!(Candidates::new(7, &[4000], &empty).distinct_left(), None);
        let mut c = Candidates::new(7, &[4000, 4001], &allowed);
        c.next();
        assert_eq!(c.distinct_left(), Some(11));
    }

    #[test]
    fn default_include_drops_privileged_ports() {
        let mut a = PortSet::new();
        make_allowed(&mut a, &PortSet::new());
        assert!(!a.contains(1023) && a.contains(1024) && a.contains(65535));
        assert_eq!(a.len(), 65535 - 1023);
    }
}
