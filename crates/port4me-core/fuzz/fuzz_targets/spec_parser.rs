//! Fuzzes the port specification parser and the candidate sequence.
//!
//! The input is read as UTF-8 (invalid bytes become U+FFFD) and used twice:
//!
//! 1. whole, as one specification, through `spec::for_each_item`,
//!    `spec::validate`, `spec::parse_into` and `spec::parse_list`, with and
//!    without the `{chrome}`/`{firefox}` expansions, and checked against a
//!    small model of the grammar written from conformance/SPEC.md section 5;
//! 2. split at `|` into `user|prepend|include|exclude`, as a `Query` whose
//!    first few candidates are listed and checked against the LCG directly.
//!
//! Invariants: nothing panics; every item and every port is in 1..=65535;
//! `parse_list` has no duplicates and holds exactly the ports of the set; on
//! error the offset is a char boundary inside the input, the error's item
//! text is a prefix of the input at that offset (the whole offending item
//! unless it was truncated) and the model agrees on where and why.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use port4me_core::lcg::{self, Lcg};
use port4me_core::query::Resolved;
use port4me_core::spec::{self, Expansions, Item};
use port4me_core::unsafe_ports::{CHROME, FIREFOX};
use port4me_core::{Error, PortSet, Query, SpecError, SpecErrorKind};

fn is_sep(c: char) -> bool {
    c == ',' || c.is_whitespace()
}

/// The model: what conformance/SPEC.md section 5 says the items of `spec` are.
/// Returns the items in order, or (offset, kind) of the first bad item.
fn model(spec: &str, exp: &Expansions<'_>) -> Result<Vec<Item>, (usize, SpecErrorKind)> {
    fn port(s: &str) -> Result<u32, SpecErrorKind> {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(SpecErrorKind::NotAPort);
        }
        let digits = s.trim_start_matches('0');
        if digits.len() > 5 {
            return Err(SpecErrorKind::OutOfRange);
        }
        let v: u32 = if digits.is_empty() { 0 } else { digits.parse().unwrap() };
        if v > 65535 {
            Err(SpecErrorKind::OutOfRange)
        } else {
            Ok(v)
        }
    }
    let mut out = Vec::new();
    let mut start = None;
    // Walk char by char (not with `split`) so the model shares no code
    // shape with the parser.
    let mut tokens = Vec::new();
    for (i, c) in spec.char_indices().chain(std::iter::once((spec.len(), ','))) {
        match (is_sep(c), start) {
            (true, Some(s)) => {
                tokens.push((s, &spec[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    for (off, tok) in tokens {
        if tok.starts_with('{') {
            let list = match tok {
                "{chrome}" => exp.chrome,
                "{firefox}" => exp.firefox,
                _ => None,
            };
            let list = list.ok_or((off, SpecErrorKind::UnknownToken))?;
            out.extend(list.iter().map(|&p| Item::Port(p)));
            continue;
        }
        let dashes = tok.matches('-').count();
        if dashes == 0 {
            match port(tok).map_err(|k| (off, k))? {
                0 => {}
                p => out.push(Item::Port(p as u16)),
            }
        } else {
            let (a, b) = tok.split_once('-').unwrap();
            let lo = port(a).map_err(|k| (off, k))?;
            let hi = port(b).map_err(|k| (off, k))?;
            if lo == 0 || hi == 0 {
                return Err((off, SpecErrorKind::OutOfRange));
            }
            if lo > hi {
                return Err((off, SpecErrorKind::Inverted));
            }
            out.push(if lo == hi { Item::Port(lo as u16) } else { Item::Range(lo as u16, hi as u16) });
        }
    }
    Ok(out)
}

fn check_error(spec: &str, e: &SpecError, source: &str) {
    assert_eq!(e.origin, source);
    assert!(e.offset < spec.len(), "offset {} outside input of {} bytes", e.offset, spec.len());
    assert!(spec.is_char_boundary(e.offset), "offset {} is not a char boundary", e.offset);
    let item = e.item.as_str();
    assert!(!item.is_empty(), "empty item in error");
    assert!(spec[e.offset..].starts_with(item), "item {item:?} is not the input at offset {}", e.offset);
    assert!(!item.contains(is_sep), "item {item:?} contains a separator");
    if e.offset > 0 {
        let before = spec[..e.offset].chars().next_back().unwrap();
        assert!(is_sep(before), "item at {} does not start an item", e.offset);
    }
    let after = spec[e.offset + item.len()..].chars().next();
    if e.item.is_truncated() {
        assert!(after.is_some_and(|c| !is_sep(c)), "truncated item {item:?} is whole");
    } else {
        assert!(after.is_none_or(is_sep), "item {item:?} is cut short but not marked truncated");
    }
    // Display never panics and names the source.
    let msg = e.to_string();
    assert!(msg.contains(source));
}

fn check_spec(spec: &str, exp: &Expansions<'_>) {
    const SRC: &str = "fuzz";
    let mut items = Vec::new();
    let r = spec::for_each_item(spec, exp, SRC, |it| items.push(it));
    for it in &items {
        match *it {
            Item::Port(p) => assert!(p >= 1, "port 0 emitted"),
            Item::Range(lo, hi) => assert!(1 <= lo && lo < hi, "bad range {lo}-{hi}"),
        }
    }
    let m = model(spec, exp);
    match (&r, &m) {
        (Ok(()), Ok(mi)) => assert_eq!(&items, mi, "items differ from the model"),
        (Err(e), Err((off, kind))) => {
            check_error(spec, e, SRC);
            assert_eq!((e.offset, e.kind), (*off, *kind), "error differs from the model");
        }
        _ => panic!("parser says {r:?}, model says {m:?}"),
    }
    assert_eq!(spec::validate(spec, exp, SRC), r);

    let mut set = Box::new(PortSet::new());
    let r2 = spec::parse_into(spec, exp, SRC, &mut set);
    assert_eq!(r2, r);
    let list = spec::parse_list(spec, exp, SRC);
    match (&r, &list) {
        (Ok(()), Ok(list)) => {
            let mut seen = Box::new(PortSet::new());
            for &p in list {
                assert!(p >= 1, "port 0 in list");
                assert!(seen.insert(p), "duplicate {p} in parse_list");
            }
            assert_eq!(seen, set, "parse_list and parse_into disagree");
            assert!(!set.contains(0));
            // First occurrences keep their order.
            let mut expect = Vec::new();
            let mut seen = Box::new(PortSet::new());
            for it in &items {
                let (lo, hi) = match *it {
                    Item::Port(p) => (p, p),
                    Item::Range(lo, hi) => (lo, hi),
                };
                for p in lo..=hi {
                    if seen.insert(p) {
                        expect.push(p);
                    }
                }
            }
            assert_eq!(list, &expect);
        }
        (Err(e), Err(e2)) => assert_eq!(e, e2),
        _ => panic!("validate says {r:?}, parse_list says {list:?}"),
    }
}

/// The allowed set as the contract defines it, built by the model.
fn model_allowed(include: Option<&str>, exclude: Option<&str>) -> PortSet {
    let mut inc = PortSet::new();
    for it in include.map(|s| model(s, &Expansions::DEFAULT).unwrap()).unwrap_or_default() {
        match it {
            Item::Port(p) => {
                inc.insert(p);
            }
            Item::Range(lo, hi) => inc.insert_range(lo, hi),
        }
    }
    if inc.is_empty() {
        inc = PortSet::from_range(1024, 65535);
    }
    for it in exclude.map(|s| model(s, &Expansions::DEFAULT).unwrap()).unwrap_or_default() {
        match it {
            Item::Port(p) => {
                inc.remove(p);
            }
            Item::Range(lo, hi) => (lo..=hi).for_each(|p| {
                inc.remove(p);
            }),
        }
    }
    for &p in CHROME.iter().chain(FIREFOX) {
        inc.remove(p);
    }
    inc
}

/// Position of every value in the LCG's single cycle over 0..=65535.
fn cycle_positions() -> &'static [u32] {
    static POS: OnceLock<Vec<u32>> = OnceLock::new();
    POS.get_or_init(|| {
        let mut pos = vec![u32::MAX; 65536];
        let mut v = 0u32;
        for i in 0..65536 {
            assert_eq!(pos[v as usize], u32::MAX, "the LCG cycle is not a single period");
            pos[v as usize] = i;
            v = lcg::next(v);
        }
        assert_eq!(v, 0);
        pos
    })
}

/// The first `count` LCG values that land in `allowed` (non-empty), found
/// without stepping when the set is small: the values come in the order of
/// their distance along the cycle from the first value, then repeat.
fn model_lcg_hits(hash: u32, allowed: &PortSet, count: usize) -> Vec<u16> {
    if allowed.len() >= 1024 {
        let mut g = Lcg::new(hash);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let v = g.next_value();
            assert!(v <= 65535, "LCG value {v}");
            if allowed.contains(v) {
                out.push(v as u16);
            }
        }
        return out;
    }
    let pos = cycle_positions();
    let first = pos[lcg::next(hash) as usize];
    let mut by_distance: Vec<(u32, u16)> =
        allowed.iter().map(|p| ((pos[p as usize] + 65536 - first) % 65536, p)).collect();
    by_distance.sort_unstable();
    by_distance.iter().cycle().take(count).map(|&(_, p)| p).collect()
}

fn check_query(data: &str, n: usize, skip: u64) {
    let mut parts = data.splitn(4, '|');
    let user = parts.next().unwrap_or("");
    let (prepend, include, exclude) = (parts.next(), parts.next(), parts.next());
    let mut q = Query::new(user);
    q.prepend = prepend;
    q.include = include;
    q.exclude = exclude;

    // What the contract says should happen.
    if user.is_empty() {
        assert_eq!(q.list(n), Err(Error::EmptySeed));
        return;
    }
    for (name, s) in [("prepend", prepend), ("include", include), ("exclude", exclude)] {
        if let Some(s) = s {
            if let Err(e) = spec::validate(s, &Expansions::DEFAULT, name) {
                match q.list(n) {
                    Err(Error::Spec(ref g)) => {
                        assert_eq!(g, &e);
                        check_error(s, g, name);
                    }
                    ref other => panic!("expected the {name} error {e:?}, got {other:?}"),
                }
                return;
            }
        }
    }
    let pre = prepend.map(|s| spec::parse_list(s, &Expansions::DEFAULT, "prepend").unwrap()).unwrap_or_default();
    let allowed = model_allowed(include, exclude);
    // A sparse set costs the parser up to a full LCG period (65,536 steps)
    // per candidate, which instrumentation makes slow: ask for one.
    let sparse = allowed.len() < 1024;
    let (n, skip) = if sparse { (1, 0) } else { (n, skip) };
    let q = q.skip(skip);
    let got = q.list(n);
    let total = skip as usize + n;
    let mut expect: Vec<Result<u16, Error>> = pre.iter().take(total).map(|&p| Ok(p)).collect();
    let hash = port4me_core::seed_hash(user, None).unwrap();
    if expect.len() < total {
        if allowed.is_empty() {
            expect.push(Err(Error::EmptySet));
        } else {
            expect.extend(model_lcg_hits(hash, &allowed, total - expect.len()).into_iter().map(Ok));
        }
    }
    let expect: Result<Vec<u16>, Error> = expect.into_iter().skip(skip as usize).collect();
    let expect = match expect {
        // An error met while skipping is still an error.
        Ok(v) if v.len() == n => Ok(v),
        Ok(_) => Err(Error::EmptySet),
        Err(e) => Err(e),
    };
    assert_eq!(got, expect, "query {q:?}");
    if let Ok(ports) = &got {
        assert!(ports.iter().all(|&p| p >= 1), "port 0 in {ports:?}");
    }

    // The resolved form agrees with itself.
    let r: Resolved = q.resolve().unwrap();
    if !sparse {
        assert_eq!(r.list(n), got);
    }
    assert!(!r.allowed.contains(0));
    assert_eq!(*r.allowed, allowed, "allowed set differs from the model");
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let n = data.first().map_or(1, |b| 1 + (b % 8) as usize);
    let skip = data.get(1).map_or(0, |b| (b % 4) as u64);
    let text = String::from_utf8_lossy(data);
    check_spec(&text, &Expansions::DEFAULT);
    check_spec(&text, &Expansions::NONE);
    check_query(&text, n, skip);
});
