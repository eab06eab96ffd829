//! Port specifications: `"2000-2009, 4321 {chrome}"`.
//!
//! A specification is a list of items separated by commas and/or whitespace.
//! An item is a port `N`, an inclusive range `A-B`, or one of the tokens
//! `{chrome}` and `{firefox}`, which stand for the browser-unsafe lists. A lone
//! `0` is ignored: the reference uses it to mean "set, but empty". Empty items
//! are ignored too.
//!
//! Unlike the reference, which hands items to `int()` and loops forever on a
//! set it cannot satisfy, every item is validated: ports are 1-65535, ranges
//! run upwards, and anything else is an error that names the item, its byte
//! offset and where the specification came from.

use crate::error::{ItemText, SpecError, SpecErrorKind};
use crate::set::PortSet;
use crate::unsafe_ports;

/// One parsed item of a specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// A single port.
    Port(u16),
    /// An inclusive range `lo..=hi` with `lo <= hi`.
    Range(u16, u16),
}

/// What the `{chrome}` and `{firefox}` tokens expand to. `None` makes the
/// token an error, which is how the unsafe lists themselves are parsed (a list
/// that refers to itself would be meaningless).
#[derive(Clone, Copy, Debug)]
pub struct Expansions<'a> {
    /// Expansion of `{chrome}`.
    pub chrome: Option<&'a [u16]>,
    /// Expansion of `{firefox}`.
    pub firefox: Option<&'a [u16]>,
}

impl Expansions<'static> {
    /// The lists the reference ships.
    pub const DEFAULT: Expansions<'static> =
        Expansions { chrome: Some(unsafe_ports::CHROME), firefox: Some(unsafe_ports::FIREFOX) };
    /// No tokens allowed.
    pub const NONE: Expansions<'static> = Expansions { chrome: None, firefox: None };
}

impl Default for Expansions<'static> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn parse_port(s: &str) -> Result<u32, SpecErrorKind> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecErrorKind::NotAPort);
    }
    let mut v: u32 = 0;
    for b in s.bytes() {
        v = v.saturating_mul(10).saturating_add((b - b'0') as u32);
        if v > 65535 {
            return Err(SpecErrorKind::OutOfRange);
        }
    }
    Ok(v)
}

fn parse_item(item: &str) -> Result<Option<Item>, SpecErrorKind> {
    match item.split_once('-') {
        None => match parse_port(item)? {
            0 => Ok(None),
            p => Ok(Some(Item::Port(p as u16))),
        },
        Some((a, b)) => {
            let (lo, hi) = (parse_port(a)?, parse_port(b)?);
            if lo == 0 || hi == 0 {
                Err(SpecErrorKind::OutOfRange)
            } else if lo > hi {
                Err(SpecErrorKind::Inverted)
            } else if lo == hi {
                Ok(Some(Item::Port(lo as u16)))
            } else {
                Ok(Some(Item::Range(lo as u16, hi as u16)))
            }
        }
    }
}

/// Calls `f` for each item of `spec`, in order, expanding tokens into single
/// ports. Stops at the first invalid item. `source` names where the
/// specification came from and ends up in the error.
///
/// ```
/// use port4me_core::spec::{for_each_item, Expansions, Item};
/// let mut items = Vec::new();
/// for_each_item("4321, 2000-2009", &Expansions::DEFAULT, "--include", |i| items.push(i)).unwrap();
/// assert_eq!(items, [Item::Port(4321), Item::Range(2000, 2009)]);
///
/// let err = for_each_item("80,foo", &Expansions::DEFAULT, "--include", |_| {}).unwrap_err();
/// assert_eq!(err.item.as_str(), "foo");
/// assert_eq!(err.offset, 3);
/// ```
pub fn for_each_item(
    spec: &str,
    expansions: &Expansions<'_>,
    source: &'static str,
    f: impl FnMut(Item),
) -> Result<(), SpecError> {
    items(spec, expansions, source, false, f)
}

/// Like [`for_each_item`], for ports a person names one by one, such as the
/// ports to show the status of or a pool to allocate from. There are no
/// `{chrome}`/`{firefox}` tokens, and a lone `0` is an error: here it cannot
/// mean "set, but empty".
///
/// ```
/// use port4me_core::spec::{for_each_named, Item};
/// let mut items = Vec::new();
/// for_each_named("80 8000-8002", "PORTS", |i| items.push(i)).unwrap();
/// assert_eq!(items, [Item::Port(80), Item::Range(8000, 8002)]);
/// let err = for_each_named("80 0", "PORTS", |_| {}).unwrap_err();
/// assert_eq!(err.to_string(), "invalid port specification in PORTS: item \"0\" at offset 3 is outside 1-65535");
/// ```
pub fn for_each_named(spec: &str, source: &'static str, f: impl FnMut(Item)) -> Result<(), SpecError> {
    items(spec, &Expansions::NONE, source, true, f)
}

fn items(
    spec: &str,
    expansions: &Expansions<'_>,
    source: &'static str,
    zero_is_error: bool,
    mut f: impl FnMut(Item),
) -> Result<(), SpecError> {
    let base = spec.as_ptr() as usize;
    let items = spec.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty());
    for item in items {
        let offset = item.as_ptr() as usize - base;
        let err = |kind| SpecError { kind, item: ItemText::new(item), offset, origin: source };
        if item.starts_with('{') {
            let list = match item {
                "{chrome}" => expansions.chrome,
                "{firefox}" => expansions.firefox,
                _ => None,
            };
            let list = list.ok_or_else(|| err(SpecErrorKind::UnknownToken))?;
            list.iter().for_each(|&p| f(Item::Port(p)));
            continue;
        }
        match parse_item(item).map_err(err)? {
            Some(it) => f(it),
            None if zero_is_error => return Err(err(SpecErrorKind::OutOfRange)),
            None => {}
        }
    }
    Ok(())
}

/// Adds every port of `spec` to `set`. On error `set` may hold the items
/// before the bad one; parse into a scratch set when that matters.
pub fn parse_into(
    spec: &str,
    expansions: &Expansions<'_>,
    source: &'static str,
    set: &mut PortSet,
) -> Result<(), SpecError> {
    for_each_item(spec, expansions, source, |item| match item {
        Item::Port(p) => {
            set.insert(p);
        }
        Item::Range(lo, hi) => set.insert_range(lo, hi),
    })
}

/// Checks `spec` without keeping anything.
pub fn validate(spec: &str, expansions: &Expansions<'_>, source: &'static str) -> Result<(), SpecError> {
    for_each_item(spec, expansions, source, |_| {})
}

/// The ports of `spec` in order, each kept at its first occurrence (the order
/// matters for `prepend`).
///
/// ```
/// use port4me_core::spec::{parse_list, Expansions};
/// assert_eq!(parse_list("5 3-4,5 3", &Expansions::DEFAULT, "arg").unwrap(), [5, 3, 4]);
/// ```
#[cfg(feature = "alloc")]
pub fn parse_list(
    spec: &str,
    expansions: &Expansions<'_>,
    source: &'static str,
) -> Result<alloc::vec::Vec<u16>, SpecError> {
    let mut out = alloc::vec::Vec::new();
    let mut seen = alloc::boxed::Box::new(PortSet::new());
    append_list(spec, expansions, source, &mut out, &mut seen)?;
    Ok(out)
}

/// Appends the ports of `spec` that are not yet in `seen` to `out`, in order.
#[cfg(feature = "alloc")]
pub fn append_list(
    spec: &str,
    expansions: &Expansions<'_>,
    source: &'static str,
    out: &mut alloc::vec::Vec<u16>,
    seen: &mut PortSet,
) -> Result<(), SpecError> {
    // Validate first so that a failure leaves `out` and `seen` untouched.
    validate(spec, expansions, source)?;
    for_each_item(spec, expansions, source, |item| {
        let (lo, hi) = match item {
            Item::Port(p) => (p, p),
            Item::Range(lo, hi) => (lo, hi),
        };
        for p in lo..=hi {
            if seen.insert(p) {
                out.push(p);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(spec: &str) -> SpecErrorKind {
        validate(spec, &Expansions::DEFAULT, "t").unwrap_err().kind
    }

    #[test]
    fn errors_are_classified() {
        use SpecErrorKind::*;
        assert_eq!(kind("foo"), NotAPort);
        assert_eq!(kind("1-"), NotAPort);
        assert_eq!(kind("-5"), NotAPort);
        assert_eq!(kind("1-2-3"), NotAPort);
        assert_eq!(kind("+5"), NotAPort);
        assert_eq!(kind("65536"), OutOfRange);
        assert_eq!(kind("99999999999999999999"), OutOfRange);
        assert_eq!(kind("0-5"), OutOfRange);
        assert_eq!(kind("5-3"), Inverted);
        assert_eq!(kind("{edge}"), UnknownToken);
        assert_eq!(validate("{chrome}", &Expansions::NONE, "t").unwrap_err().kind, UnknownToken);
    }

    #[test]
    fn separators_and_zero() {
        let mut s = PortSet::new();
        parse_into(" 0, ,\t80\n443 ,, 0 ", &Expansions::DEFAULT, "t", &mut s).unwrap();
        assert_eq!(s.iter().collect::<PortSet>(), [80u16, 443].into_iter().collect());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn offsets_point_at_item() {
        let e = validate("80, 443 ,  bad", &Expansions::DEFAULT, "PORT4ME_EXCLUDE").unwrap_err();
        assert_eq!(e.offset, 11);
        assert_eq!(e.origin, "PORT4ME_EXCLUDE");
        let msg = alloc::format!("{e}");
        assert!(msg.contains("\"bad\"") && msg.contains("PORT4ME_EXCLUDE"), "{msg}");
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let e = validate("80\u{1c}443", &Expansions::DEFAULT, "t").unwrap_err();
        let msg = alloc::format!("{e}");
        assert!(msg.contains("80\\u{1c}443"), "{msg}");
    }

    #[test]
    fn long_items_are_truncated_on_char_boundary() {
        let long = "é".repeat(100);
        let e = validate(&long, &Expansions::DEFAULT, "t").unwrap_err();
        assert!(e.item.is_truncated());
        assert!(e.item.as_str().len() <= 48);
    }

    #[test]
    fn tokens_expand() {
        let mut s = PortSet::new();
        parse_into("{chrome} {firefox}", &Expansions::DEFAULT, "t", &mut s).unwrap();
        assert!(s.contains(10080) && s.contains(6000) && s.contains(1));
    }
}
