//! The seed string and its hash.
//!
//! The seed is `user` and `tool` joined with a comma, leaving out empty parts:
//! `alice` alone is `"alice"`, `alice` with `rstudio` is `"alice,rstudio"`.
//! Its hash is the classic Java `String.hashCode` recurrence
//! `h = 31*h + c`, taken modulo 2^32 and unsigned, where `c` is the Unicode
//! scalar value of each character (as the Python reference computes it; for
//! ASCII that is simply the byte).
//!
//! The hash is computed part by part, so no seed string is ever built: that
//! keeps this module free of allocation.

use crate::Error;

/// Extends a running hash with the characters of `s`.
#[inline]
pub fn extend_hash(mut h: u32, s: &str) -> u32 {
    for c in s.chars() {
        h = h.wrapping_mul(31).wrapping_add(c as u32);
    }
    h
}

/// The unsigned 32-bit Java-style hash of a whole string.
///
/// ```
/// assert_eq!(port4me_core::string_hash("A"), 65);
/// assert_eq!(port4me_core::string_hash("alice"), 92903040);
/// ```
#[inline]
pub fn string_hash(s: &str) -> u32 {
    extend_hash(0, s)
}

/// The hash of the seed string for `user` and `tool`.
///
/// Empty parts are left out of the seed; when both are empty there is no seed
/// and the result is [`Error::EmptySeed`].
///
/// ```
/// use port4me_core::{seed_hash, string_hash};
/// assert_eq!(seed_hash("alice", Some("rstudio")).unwrap(), string_hash("alice,rstudio"));
/// assert_eq!(seed_hash("alice", Some("")).unwrap(), string_hash("alice"));
/// assert_eq!(seed_hash("", Some("vite")).unwrap(), string_hash("vite"));
/// assert!(seed_hash("", None).is_err());
/// ```
pub fn seed_hash(user: &str, tool: Option<&str>) -> Result<u32, Error> {
    let tool = tool.unwrap_or("");
    match (user.is_empty(), tool.is_empty()) {
        (true, true) => Err(Error::EmptySeed),
        (false, true) => Ok(string_hash(user)),
        (true, false) => Ok(string_hash(tool)),
        (false, false) => Ok(extend_hash(extend_hash(string_hash(user), ","), tool)),
    }
}

/// The seed string itself, for display and for other implementations to
/// compare against.
#[cfg(feature = "alloc")]
pub fn seed_string(user: &str, tool: Option<&str>) -> Result<alloc::string::String, Error> {
    let tool = tool.unwrap_or("");
    let mut s = alloc::string::String::with_capacity(user.len() + tool.len() + 1);
    s.push_str(user);
    if !user.is_empty() && !tool.is_empty() {
        s.push(',');
    }
    s.push_str(tool);
    if s.is_empty() {
        return Err(Error::EmptySeed);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_modulo_2_32() {
        // 31^7 * 'z' overflows u32 many times; compare with u64 arithmetic.
        let s = "zzzzzzzzzzzzzzzzzzzz";
        let mut h: u64 = 0;
        for b in s.bytes() {
            h = (31 * h + b as u64) % (1u64 << 32);
        }
        assert_eq!(string_hash(s) as u64, h);
    }

    #[test]
    fn hashes_code_points_not_bytes() {
        // U+00E9 is one code point (233) but two UTF-8 bytes.
        assert_eq!(string_hash("\u{e9}"), 233);
        assert_eq!(string_hash("\u{1F600}"), 0x1F600);
    }
}
