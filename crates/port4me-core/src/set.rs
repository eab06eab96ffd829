//! A set of port numbers as a 65,536-bit bitset.
//!
//! Membership is one shift and one mask, the set is 8 KiB and needs no heap,
//! and set algebra is a loop over 1,024 words. Every value of the LCG fits, so
//! filtering a candidate never needs a hash lookup.

use core::fmt;

const WORDS: usize = 65536 / 64;

/// A set of values in `0..=65535`.
#[derive(Clone, PartialEq, Eq)]
pub struct PortSet {
    words: [u64; WORDS],
}

impl Default for PortSet {
    fn default() -> Self {
        Self::new()
    }
}

impl PortSet {
    /// The empty set.
    pub const fn new() -> Self {
        PortSet { words: [0; WORDS] }
    }

    /// The set of all ports in `lo..=hi`.
    pub fn from_range(lo: u16, hi: u16) -> Self {
        let mut s = Self::new();
        s.insert_range(lo, hi);
        s
    }

    /// Adds `port`; returns whether it was new.
    #[inline]
    pub fn insert(&mut self, port: u16) -> bool {
        let (w, b) = (port as usize / 64, port as u64 % 64);
        let was = self.words[w] >> b & 1 == 1;
        self.words[w] |= 1 << b;
        !was
    }

    /// Removes `port`; returns whether it was present.
    #[inline]
    pub fn remove(&mut self, port: u16) -> bool {
        let (w, b) = (port as usize / 64, port as u64 % 64);
        let was = self.words[w] >> b & 1 == 1;
        self.words[w] &= !(1 << b);
        was
    }

    /// Adds every port of `lo..=hi` (nothing when `lo > hi`).
    pub fn insert_range(&mut self, lo: u16, hi: u16) {
        if lo > hi {
            return;
        }
        let (lo, hi) = (lo as usize, hi as usize);
        let (wlo, whi) = (lo / 64, hi / 64);
        let mask_from = |b: usize| u64::MAX << b;
        let mask_to = |b: usize| if b == 63 { u64::MAX } else { (1u64 << (b + 1)) - 1 };
        if wlo == whi {
            self.words[wlo] |= mask_from(lo % 64) & mask_to(hi % 64);
            return;
        }
        self.words[wlo] |= mask_from(lo % 64);
        for w in &mut self.words[wlo + 1..whi] {
            *w = u64::MAX;
        }
        self.words[whi] |= mask_to(hi % 64);
    }

    /// Whether `port` is in the set. Values above 65535 never are.
    #[inline]
    pub fn contains(&self, port: u32) -> bool {
        port < 65536 && self.contains_port(port as u16)
    }

    /// Whether `port` is in the set; the index needs no range check.
    #[inline(always)]
    pub fn contains_port(&self, port: u16) -> bool {
        self.words[(port >> 6) as usize] >> (port & 63) & 1 == 1
    }

    /// Number of ports in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Adds every port of `other`.
    pub fn union_with(&mut self, other: &PortSet) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a |= b;
        }
    }

    /// Removes every port of `other`.
    pub fn difference_with(&mut self, other: &PortSet) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= !b;
        }
    }

    /// The ports in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, word: 0, bits: self.words[0] }
    }
}

/// Ascending iterator over a [`PortSet`].
pub struct Iter<'a> {
    set: &'a PortSet,
    word: usize,
    bits: u64,
}

impl Iterator for Iter<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        loop {
            if self.bits != 0 {
                let b = self.bits.trailing_zeros() as usize;
                self.bits &= self.bits - 1;
                return Some((self.word * 64 + b) as u16);
            }
            self.word += 1;
            if self.word == WORDS {
                return None;
            }
            self.bits = self.set.words[self.word];
        }
    }
}

impl<'a> IntoIterator for &'a PortSet {
    type Item = u16;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut s = PortSet::new();
        for p in iter {
            s.insert(p);
        }
        s
    }
}

impl fmt::Debug for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortSet({} ports)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_word_edges() {
        for &(lo, hi) in
            &[(0u16, 0u16), (63, 64), (1, 127), (1024, 65535), (64, 127), (5, 5), (65535, 65535), (0, 65535)]
        {
            let s = PortSet::from_range(lo, hi);
            assert_eq!(s.len(), (hi - lo) as usize + 1, "{lo}-{hi}");
            assert!(s.contains(lo as u32) && s.contains(hi as u32));
            if lo > 0 {
                assert!(!s.contains(lo as u32 - 1));
            }
            assert!(!s.contains(hi as u32 + 1));
            assert_eq!(s.iter().next(), Some(lo));
            assert_eq!(s.iter().last(), Some(hi));
        }
        assert!(PortSet::from_range(5, 3).is_empty());
    }

    #[test]
    fn algebra() {
        let mut a = PortSet::from_range(10, 20);
        let b = PortSet::from_range(15, 30);
        a.difference_with(&b);
        assert_eq!(a.iter().collect::<PortSet>(), PortSet::from_range(10, 14));
        a.union_with(&b);
        assert_eq!(a.len(), 21);
        assert!(a.remove(10) && !a.remove(10));
        assert!(a.insert(10) && !a.insert(10));
        assert!(!a.contains(65536));
    }
}
