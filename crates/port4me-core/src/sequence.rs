//! The candidate sequence.
//!
//! Candidates come in two stretches: the `prepend` ports in the order given,
//! unfiltered, then the values of the LCG that lie in the allowed set
//! (include minus exclude). `skip` drops the first N candidates of the whole
//! sequence, prepended ones included.
//!
//! The LCG visits every value of `0..=65535` once per period (see
//! [`lcg`](crate::lcg)), so if the allowed set is empty no amount of stepping
//! will help. The iterator checks that once, up front, and from then on yields
//! [`Error::EmptySet`] instead of spinning; as a second line of defence it also
//! gives up after one full period without a hit.

use crate::error::Error;
use crate::lcg::{FastLcg, PERIOD};
use crate::set::PortSet;

/// The allowed set: `include` (or 1024-65535 when `include` is empty) minus
/// `exclude`.
pub fn allowed_set(include: &PortSet, exclude: &PortSet) -> PortSet {
    let mut allowed = if include.is_empty() {
        PortSet::from_range(*crate::DEFAULT_INCLUDE.start(), *crate::DEFAULT_INCLUDE.end())
    } else {
        include.clone()
    };
    allowed.difference_with(exclude);
    allowed.remove(0);
    allowed
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

impl<'a> Candidates<'a> {
    /// Candidates for the seed hash `seed`, trying `prepend` first and then
    /// the LCG values in `allowed` (which must already exclude what should be
    /// excluded; see [`allowed_set`]).
    pub fn new(seed: u32, prepend: &'a [u16], allowed: &'a PortSet) -> Self {
        Candidates { prepend, next_prepend: 0, allowed, allowed_empty: allowed.is_empty(), lcg: FastLcg::new(seed), skip: 0 }
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
        for _ in 0..PERIOD {
            let v = self.lcg.next_value();
            if self.allowed.contains(v) {
                return Ok(v as u16);
            }
        }
        // Unreachable for a non-empty set (full period), kept as a guard.
        self.allowed_empty = true;
        Err(Error::EmptySet)
    }

    /// Appends the next `n` candidates to `out`: the same values as `n` calls
    /// of `next`, in a tight loop (this is what `list` uses).
    #[cfg(feature = "alloc")]
    pub fn fill(&mut self, out: &mut alloc::vec::Vec<u16>, n: usize) -> Result<(), Error> {
        out.reserve(n.min(1 << 20));
        if self.skip > 0 {
            let k = core::mem::take(&mut self.skip);
            self.do_skip(k)?;
        }
        let mut left = n;
        while left > 0 && self.next_prepend < self.prepend.len() {
            out.push(self.prepend[self.next_prepend]);
            self.next_prepend += 1;
            left -= 1;
        }
        if left == 0 {
            return Ok(());
        }
        if self.allowed_empty {
            return Err(Error::EmptySet);
        }
        let allowed = self.allowed;
        // Branch-free filter: every value is written at the end of the
        // output and the length only advances when the value is allowed.
        // The set is not empty, so every full period yields at least one
        // value: this loop ends.
        let start = out.len();
        let end = start + left;
        out.resize(end + 1, 0);
        let len = self.lcg.fill_filtered(allowed, out, start, end);
        debug_assert_eq!(len, end);
        out.truncate(end);
        Ok(())
    }

    /// Skips `n` candidates at once. Skipping over the LCG part with a
    /// non-empty set cannot fail, but skipping into an empty set does.
    fn do_skip(&mut self, mut n: u64) -> Result<(), Error> {
        while n > 0 {
            self.raw_next()?;
            n -= 1;
        }
        Ok(())
    }
}

impl Iterator for Candidates<'_> {
    type Item = Result<u16, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.skip > 0 {
            let n = core::mem::take(&mut self.skip);
            if let Err(e) = self.do_skip(n) {
                return Some(Err(e));
            }
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
    fn default_include_drops_privileged_ports() {
        let a = allowed_set(&PortSet::new(), &PortSet::new());
        assert!(!a.contains(1023) && a.contains(1024) && a.contains(65535));
        assert_eq!(a.len(), 65535 - 1023);
    }
}
