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

/// `75^LANES mod 65537`: one step of every lane of [`FastLcg`].
const LANE_MULTIPLIER: u32 = {
    let mut m = 1u64;
    let mut i = 0;
    while i < LANES {
        m = m * MULTIPLIER as u64 % MODULUS as u64;
        i += 1;
    }
    m as u32
};
const LANES: usize = 8;

/// `a * b mod 65537` for `a, b` in `1..=65536`.
///
/// 65537 is `2^16 + 1`, so `2^16 ≡ -1` and a product `hi * 2^16 + lo` reduces
/// to `lo - hi`: one multiply, a shift, a subtraction and a conditional add,
/// instead of a division.
#[inline(always)]
fn mul_mod(a: u32, b: u32) -> u32 {
    let z = a as u64 * b as u64; // at most 2^32, so u64
    let (hi, lo) = ((z >> 16) as i32, (z & 0xFFFF) as i32); // hi <= 65536
    let r = lo - hi; // in -65536..=65535
    // Branch-free "add the modulus if negative", so the lanes vectorise.
    (if r < 0 { r + MODULUS as i32 } else { r }) as u32
}

/// The same sequence as [`Lcg`], several times faster.
///
/// Writing `y = x + 1` turns `x -> 75x + 74` into `y -> 75y (mod 65537)`. The
/// plain generator is a chain: each step waits for the division of the one
/// before. Here eight consecutive values are kept at once and each advances
/// by `75^8`, so the eight multiplications are independent and the CPU (or
/// the vectoriser) runs them side by side, and each reduction uses the
/// Fermat-prime identity of [`mul_mod`] rather than a division. The property
/// tests check value for value that it matches [`Lcg`].
#[derive(Clone, Debug)]
pub struct FastLcg {
    /// `y` values of the next `LANES` outputs.
    block: [u32; LANES],
    pos: usize,
}

impl FastLcg {
    /// The generator [`Lcg::new(seed)`](Lcg::new) describes.
    pub fn new(seed: u32) -> Self {
        // The first output is next(seed); in y terms that is 75 * (s + 1),
        // where the fixed point s = 65536 (y = 0) is stepped over to s = 0.
        let s = seed % MODULUS;
        let y0 = if s == MODULUS - 1 { 1 } else { s + 1 };
        let mut block = [0u32; LANES];
        let mut y = y0;
        for slot in &mut block {
            y = mul_mod(y, MULTIPLIER);
            *slot = y;
        }
        FastLcg { block, pos: 0 }
    }

    #[inline(always)]
    fn refill(&mut self) {
        for y in &mut self.block {
            *y = mul_mod(*y, LANE_MULTIPLIER);
        }
        self.pos = 0;
    }

    /// The next value, in `0..=65535`.
    #[inline(always)]
    pub fn next_value(&mut self) -> u32 {
        if self.pos == LANES {
            self.refill();
        }
        let v = self.block[self.pos] - 1;
        self.pos += 1;
        v
    }
}

impl FastLcg {
    /// Writes values that are in `allowed` to `out[len..]` until `len`
    /// reaches `end`, and returns the new length. `out` must have at least
    /// `end + 1` elements (one value is written past the last kept one and
    /// then ignored). Consumes exactly the values it looked at, so the
    /// generator can be used afterwards as if `next_value` had been called.
    ///
    /// The body is branch-free per value: every value is stored and the
    /// length only advances for allowed ones, and whole blocks of lanes are
    /// processed together. `allowed` must not be empty, or this never ends.
    pub(crate) fn fill_filtered(&mut self, allowed: &crate::PortSet, out: &mut [u16], mut len: usize, end: usize) -> usize {
        while self.pos < LANES && len < end {
            let v = (self.block[self.pos] - 1) as u16;
            self.pos += 1;
            out[len] = v;
            len += allowed.contains_port(v) as usize;
        }
        while len + LANES <= end {
            self.refill();
            for &y in &self.block {
                let v = (y - 1) as u16;
                out[len] = v;
                len += allowed.contains_port(v) as usize;
            }
            self.pos = LANES;
        }
        while len < end {
            let v = self.next_value() as u16;
            out[len] = v;
            len += allowed.contains_port(v) as usize;
        }
        len
    }
}

impl Iterator for FastLcg {
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
    fn fast_matches_plain_over_more_than_a_period() {
        for seed in [0u32, 1, 74, 65535, 65536, 65537, 131073, 92903040, u32::MAX, u32::MAX - 1] {
            let plain = Lcg::new(seed);
            let fast = FastLcg::new(seed);
            for (i, (a, b)) in plain.zip(fast).take(PERIOD as usize + 20).enumerate() {
                assert_eq!(a, b, "seed {seed}, step {i}");
            }
        }
    }

    #[test]
    fn mul_mod_matches_division() {
        for a in (1..=65536u32).step_by(97).chain([1, 65535, 65536]) {
            for b in [1u32, 2, 75, LANE_MULTIPLIER, 65535, 65536] {
                assert_eq!(mul_mod(a, b), (a as u64 * b as u64 % MODULUS as u64) as u32, "{a} * {b}");
            }
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
