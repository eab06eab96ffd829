//! Errors of the pure algorithm.
//!
//! Every error carries enough to write a sentence a person can act on: which
//! item of which specification was wrong, and why. They implement
//! `core::error::Error`, and each has a stable [`code`](Error::code) that the
//! Node and WebAssembly bindings expose as `err.code`.

use core::fmt;

/// Why a port specification item was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecErrorKind {
    /// The item is neither a number, a range `A-B` nor a known `{token}`.
    NotAPort,
    /// A port is 0 inside a range, or above 65535.
    OutOfRange,
    /// A range whose start is greater than its end, such as `5-3`.
    Inverted,
    /// A `{token}` other than `{chrome}` and `{firefox}`, or a token where
    /// tokens are not allowed (inside the unsafe lists themselves).
    UnknownToken,
}

/// The offending item, copied into a small inline buffer so that the error
/// outlives the input and needs no heap. Long items are cut at a character
/// boundary and marked with `...`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ItemText {
    buf: [u8; ItemText::CAP],
    len: u8,
    truncated: bool,
}

impl ItemText {
    const CAP: usize = 48;

    pub(crate) fn new(s: &str) -> Self {
        let mut end = s.len().min(Self::CAP);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0u8; Self::CAP];
        buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        ItemText { buf, len: end as u8, truncated: end < s.len() }
    }

    /// The item text (possibly cut short).
    pub fn as_str(&self) -> &str {
        // The buffer holds a prefix of a &str cut at a char boundary.
        core::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }

    /// Whether the item was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Debug for ItemText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ItemText {
    /// Control characters are shown escaped (`\u{1c}`), so that an item
    /// such as `"80\x1c443"` cannot pass for `"80443"` in a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.as_str().chars() {
            // Written by hand: `char::escape_debug` pulls Unicode tables
            // into the WebAssembly build.
            if c.is_control() {
                write!(f, "\\u{{{:x}}}", c as u32)?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// A rejected item in a port specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// What was wrong.
    pub kind: SpecErrorKind,
    /// The offending item.
    pub item: ItemText,
    /// Byte offset of the item in the specification string.
    pub offset: usize,
    /// Where the specification came from: an argument name such as
    /// `--exclude`, or an environment variable such as `PORT4ME_EXCLUDE`.
    /// (Not `source`, which would read as the error's `source()`.)
    pub origin: &'static str,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid port specification in {}: item \"{}\" at offset {} ", self.origin, self.item, self.offset)?;
        f.write_str(match self.kind {
            SpecErrorKind::NotAPort => "is not a port number or a range A-B",
            SpecErrorKind::OutOfRange => "is outside 1-65535",
            SpecErrorKind::Inverted => "is a range whose start is greater than its end",
            SpecErrorKind::UnknownToken => "is not a known token (use {chrome} or {firefox})",
        })
    }
}

impl core::error::Error for SpecError {}

/// Any error of the pure algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A port specification could not be parsed.
    Spec(SpecError),
    /// Both user and tool are empty, so there is no seed.
    EmptySeed,
    /// No port can ever come out of the LCG: the include set minus the
    /// exclude set is empty.
    EmptySet,
}

impl Error {
    /// The stable error code used across bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Spec(_) => "ERR_PORT4ME_INVALID_SPEC",
            Error::EmptySeed => "ERR_PORT4ME_EMPTY_SEED",
            Error::EmptySet => "ERR_PORT4ME_EMPTY_SET",
        }
    }
}

impl Error {
    /// Every code [`code`](Self::code) returns (the bindings' `.d.ts` is
    /// checked against it).
    pub const CODES: &'static [&'static str] =
        &["ERR_PORT4ME_INVALID_SPEC", "ERR_PORT4ME_EMPTY_SEED", "ERR_PORT4ME_EMPTY_SET"];
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Self {
        Error::Spec(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spec(e) => fmt::Display::fmt(e, f),
            Error::EmptySeed => f.write_str("user and tool are both empty, so there is no seed for the port sequence"),
            Error::EmptySet => f.write_str(
                "no port can be generated: every port allowed by the include set is excluded \
                 (by the exclude set or the browser-unsafe list)",
            ),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Spec(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed() {
        let spec = SpecError { kind: SpecErrorKind::NotAPort, item: ItemText::new("x"), offset: 0, origin: "t" };
        let codes: [&str; 3] = [Error::Spec(spec).code(), Error::EmptySeed.code(), Error::EmptySet.code()];
        assert_eq!(codes, Error::CODES);
    }
}
