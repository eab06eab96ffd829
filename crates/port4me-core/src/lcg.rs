//! The ZX81 linear congruential generator.
//!
//! `next(s) = (75*s + 74) mod 65537`, with the seed first reduced modulo
//! 65537. The map has one fixed point, 65536; the reference steps off it by
//! recomputing from `s + 1` (that is, 0), which gives 74.
//!
//! Why this never loops forever: writing `y = x + 1` turns the map into
//! `y -> 75*y mod 65537`, and 75 is a primitive root modulo the prime 65537.
//! So starting anywhere but the fixed point, the generator visits every value
//! of `0..=65535` exactly once per period of 65,536 steps. A search for a value
//! in a set therefore either succeeds within one period or the set is empty.

/// The modulus, the Fermat prime 2^16 + 1.
pub const MODULUS: u32 = 65537;
/// The multiplier.
pub const MULTIPLIER: u32 = 75;
/// The increment.
pub const INCREMENT: u32 = 74;
/// Number of steps after which the generator repeats.
pub const PERIOD: u32 = 65536;

/// One step of the generator.
///
/// ```
/// use port4me_core::lcg::next;
/// assert_eq!(next(0), 74);
/// assert_eq!(next(65536), 74); // the fixed point is stepped over
/// ```
#[inline]
pub const fn next(seed: u32) -> u32 {
    let s = seed % MODULUS;
    // 75 * 65536 + 74 < 2^32: no overflow.
    let n = (MULTIPLIER * s + INCREMENT) % MODULUS;
    if n == s {
        // Only s == 65536; the reference retries with s + 1 == 0 (mod m).
        (MULTIPLIER * ((s + 1) % MODULUS) + INCREMENT) % MODULUS
    } else {
        n
    }
}

/// The infinite sequence `next(h), next(next(h)), ...` (the seed itself is
/// not emitted).
#[derive(Clone, Debug)]
pub struct Lcg {
    state: u32,
}

impl Lcg {
    /// A generator seeded with `seed` (typically a [`seed_hash`](crate::seed_hash)).
    #[inline]
    pub const fn new(seed: u32) -> Self {
        Lcg { state: seed }
    }

    /// The next value, always in `0..=65535` (65536 is never emitted).
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next_value(&mut self) -> u32 {
        self.state = next(self.state);
        self.state
    }
}

impl Iterator for Lcg {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        Some(self.next_value())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_is_only_65536() {
        for s in 0..MODULUS {
            let n = (MULTIPLIER * s + INCREMENT) % MODULUS;
            assert_eq!(n == s, s == 65536, "s = {s}");
        }
    }

    #[test]
    fn full_period_from_zero() {
        let mut seen = [false; 65536];
        let mut g = Lcg::new(0);
        for _ in 0..PERIOD {
            let v = g.next_value() as usize;
            assert!(!seen[v], "value {v} repeated within a period");
            seen[v] = true;
        }
        assert!(seen.iter().all(|&b| b));
        assert_eq!(g.next_value(), next(0));
    }
}
