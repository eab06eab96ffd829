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

/// `75^2 mod 65537`: two steps at once.
const MULTIPLIER_2: u32 = MULTIPLIER * MULTIPLIER % MODULUS;
/// Chains run side by side by [`FastLcg::fill_filtered`]. Natively eight, in
/// an array the optimiser unrolls and vectorises; in the size-optimised
/// WebAssembly build four, as plain locals (measured fastest on each).
#[cfg(not(target_arch = "wasm32"))]
const FILL_LANES: usize = 8;
#[cfg(target_arch = "wasm32")]
const FILL_LANES: usize = 4;
/// `75^FILL_LANES mod 65537`: each chain's step.
const MULTIPLIER_FILL: u32 = {
    let mut m = 1u32;
    let mut i = 0;
    while i < FILL_LANES {
        m = m * MULTIPLIER % MODULUS;
        i += 1;
    }
    m
};
/// How many values past the end `FastLcg::fill_filtered` may write.
#[cfg(feature = "alloc")]
const FILL_SLACK: usize = FILL_LANES - 1;

/// `(a*x + a - 1) mod 65537`, i.e. the generator stepped `k` times when
/// `a = 75^k mod 65537`, for `x` in `0..=65535` and `a < 65536`.
///
/// `a*x + a - 1 <= a*65536 - 1 < 2^32`, so the arithmetic stays in `u32`;
/// and since 65537 is `2^16 + 1`, `2^16 ≡ -1`, so a value `hi*2^16 + lo`
/// reduces to `lo - hi`: a multiply, a shift, a subtraction and a
/// conditional add, with no division anywhere. In `y = x + 1` terms the map
/// is `y -> a*y`, which is why `k` steps compose into one.
#[inline(always)]
fn affine_step(a: u32, x: u32) -> u32 {
    let n = a * x + (a - 1);
    let r = (n & 0xFFFF) as i32 - (n >> 16) as i32; // in -65535..=65535
    (if r < 0 { r + MODULUS as i32 } else { r }) as u32
}

const _: () = assert!(MULTIPLIER_FILL < 65536 && MULTIPLIER_2 < 65536 && MULTIPLIER < 65536);

/// The same sequence as [`Lcg`], several times faster.
///
/// Two things make the plain generator slow: a division per step, and each
/// step waiting for the one before. Here a step is a multiply and the
/// Fermat-prime reduction, with no division. The bulk operations run several
/// chains side by side, each advancing as many steps at a time as there are
/// chains: two for searching, and for filling eight natively and four in
/// WebAssembly. The property tests check value for value that it matches
/// [`Lcg`].
#[derive(Clone, Debug)]
pub struct FastLcg {
    /// The next output, in `0..=65535`.
    x: u32,
}

impl FastLcg {
    /// The generator [`Lcg::new(seed)`](Lcg::new) describes.
    #[inline]
    pub fn new(seed: u32) -> Self {
        // `next` handles any u32 seed and the fixed point; every value after
        // it is in 0..=65535, where `affine_step` applies.
        FastLcg { x: next(seed) }
    }

    /// The generator positioned just after `value` (a value in 0..=65535 it
    /// emitted): its next output is `next(value)`.
    #[cfg(feature = "alloc")]
    #[inline]
    pub(crate) fn after(value: u16) -> Self {
        FastLcg { x: affine_step(MULTIPLIER, value as u32) }
    }

    /// The next value, in `0..=65535`.
    #[inline(always)]
    pub fn next_value(&mut self) -> u32 {
        let v = self.x;
        self.x = affine_step(MULTIPLIER, v);
        v
    }

    /// The next value that is in `allowed`, or `None` after a whole period
    /// without one (only when `allowed` has no value below 65536).
    #[inline]
    pub(crate) fn next_in(&mut self, allowed: &crate::PortSet) -> Option<u16> {
        let (mut a, mut b) = (self.x, affine_step(MULTIPLIER, self.x));
        for _ in 0..PERIOD / 2 {
            if allowed.contains_port(a as u16) {
                self.x = b;
                return Some(a as u16);
            }
            if allowed.contains_port(b as u16) {
                self.x = affine_step(MULTIPLIER, b);
                return Some(b as u16);
            }
            a = affine_step(MULTIPLIER_2, a);
            b = affine_step(MULTIPLIER_2, b);
        }
        self.x = a;
        None
    }

    /// Appends the next `n` values that are in `allowed` to `out` and leaves
    /// the generator just after the last one. `allowed` must not be empty,
    /// or this never ends.
    ///
    /// Branch-free per value: every value is stored and the length only
    /// advances for allowed ones (so `out` briefly holds up to
    /// `FILL_SLACK` values past the end, which are cut off).
    #[cfg(feature = "alloc")]
    pub(crate) fn fill_filtered(&mut self, allowed: &crate::PortSet, out: &mut alloc::vec::Vec<u16>, n: usize) {
        if n == 0 {
            return;
        }
        let start = out.len();
        let end = start + n;
        out.resize(end + FILL_SLACK, 0);
        self.fill_slice(allowed, out, start, end);
        out.truncate(end);
        *self = FastLcg::after(out[end - 1]);
    }

    /// The loop of [`fill_filtered`](Self::fill_filtered) on a plain slice
    /// (indexing a `Vec` through `Deref` is not inlined at opt-level "z",
    /// which halved the WebAssembly build's speed).
    #[cfg(feature = "alloc")]
    fn fill_slice(&self, allowed: &crate::PortSet, out: &mut [u16], mut len: usize, end: usize) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            // FILL_LANES consecutive values, each chain stepping FILL_LANES
            // at a time.
            let mut lanes = [0u32; FILL_LANES];
            let mut x = self.x;
            for lane in &mut lanes {
                *lane = x;
                x = affine_step(MULTIPLIER, x);
            }
            while len < end {
                for lane in &lanes {
                    out[len] = *lane as u16;
                    len += allowed.contains_port(*lane as u16) as usize;
                }
                for lane in &mut lanes {
                    *lane = affine_step(MULTIPLIER_FILL, *lane);
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            // Plain locals rather than an array keep the four chains in
            // WebAssembly locals at opt-level "z".
            let mut a = self.x;
            let mut b = affine_step(MULTIPLIER, a);
            let mut c = affine_step(MULTIPLIER, b);
            let mut d = affine_step(MULTIPLIER, c);
            while len < end {
                out[len] = a as u16;
                len += allowed.contains_port(a as u16) as usize;
                out[len] = b as u16;
                len += allowed.contains_port(b as u16) as usize;
                out[len] = c as u16;
                len += allowed.contains_port(c as u16) as usize;
                out[len] = d as u16;
                len += allowed.contains_port(d as u16) as usize;
                a = affine_step(MULTIPLIER_FILL, a);
                b = affine_step(MULTIPLIER_FILL, b);
                c = affine_step(MULTIPLIER_FILL, c);
                d = affine_step(MULTIPLIER_FILL, d);
            }
        }
        // `len` may have gone past `end` (several values of the last round
        // kept); the caller keeps `..end`.
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
    fn affine_step_is_k_plain_steps() {
        let a2 = MULTIPLIER * MULTIPLIER % MODULUS;
        for x in 0..65536u32 {
            assert_eq!(affine_step(MULTIPLIER, x), next(x), "x = {x}");
            assert_eq!(affine_step(a2, x), next(next(x)), "x = {x}");
        }
        assert_eq!(MULTIPLIER_2, a2);
        let a4 = a2 * a2 % MODULUS;
        for x in (0..65536u32).step_by(7) {
            assert_eq!(affine_step(a4, x), next(next(next(next(x)))), "x = {x}");
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
