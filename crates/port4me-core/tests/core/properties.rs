//! Property tests of the pure algorithm: the guarantees the rest of the
//! project relies on, checked over random inputs.

use port4me_core::lcg::{Lcg, PERIOD};
use port4me_core::spec::{parse_list, Expansions};
use port4me_core::{Error, PortSet, Query};
use proptest::prelude::*;

fn range_spec() -> impl Strategy<Value = (String, Vec<(u16, u16)>)> {
    prop::collection::vec((1u16..=65535, 0u16..300), 0..6).prop_map(|items| {
        let ranges: Vec<(u16, u16)> = items.iter().map(|&(lo, len)| (lo, lo.saturating_add(len))).collect();
        let spec = ranges
            .iter()
            .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
            .collect::<Vec<_>>()
            .join(", ");
        (spec, ranges)
    })
}

fn user() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,12}", "\\PC{1,20}", Just("alice".to_string()),]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// From any seed, one period visits every value of 0..=65535 exactly once.
    #[test]
    fn full_period_coverage(seed in any::<u32>()) {
        let mut seen = vec![false; 65536];
        for v in Lcg::new(seed).take(PERIOD as usize) {
            prop_assert!(!seen[v as usize], "value {} repeated", v);
            seen[v as usize] = true;
        }
        prop_assert!(seen.iter().all(|&b| b));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every LCG candidate lies in include and outside exclude and the unsafe lists.
    #[test]
    fn emitted_ports_respect_include_and_exclude(
        user in user(),
        (inc, inc_ranges) in range_spec(),
        (exc, exc_ranges) in range_spec(),
        n in 1usize..200,
    ) {
        let q = Query::new(&user).include(&inc).exclude(&exc);
        let mut include = PortSet::new();
        inc_ranges.iter().for_each(|&(lo, hi)| include.insert_range(lo, hi));
        if include.is_empty() { include.insert_range(1024, 65535); }
        let mut exclude = PortSet::new();
        exc_ranges.iter().for_each(|&(lo, hi)| exclude.insert_range(lo, hi));
        port4me_core::unsafe_ports::CHROME.iter().chain(port4me_core::unsafe_ports::FIREFOX).for_each(|&p| { exclude.insert(p); });
        let mut allowed = include.clone();
        allowed.difference_with(&exclude);
        match q.list(n) {
            Ok(ports) => {
                prop_assert_eq!(ports.len(), n);
                for p in ports {
                    prop_assert!(include.contains(p as u32), "{} not in include", p);
                    prop_assert!(!exclude.contains(p as u32), "{} excluded", p);
                }
            }
            Err(Error::EmptySet) => prop_assert!(allowed.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }

    /// The same inputs give the same sequence.
    #[test]
    fn deterministic(user in user(), tool in proptest::option::of("[a-z-]{0,10}"), n in 1usize..100) {
        let mut q = Query::new(&user);
        q.tool = tool.as_deref();
        prop_assert_eq!(q.list(n).unwrap(), q.clone().list(n).unwrap());
    }

    /// list(skip = k, n) == list(n + k)[k..], with prepended ports counting.
    #[test]
    fn skip_list_identity(user in user(), k in 0u64..300, n in 1usize..100, prepend in proptest::option::of("[1-9][0-9]{0,3}(,[1-9][0-9]{0,3}){0,3}")) {
        let mut q = Query::new(&user);
        q.prepend = prepend.as_deref();
        let long = q.list(n + k as usize).unwrap();
        let skipped = q.clone().skip(k).list(n).unwrap();
        prop_assert_eq!(&long[k as usize..], &skipped[..]);
    }

    /// Formatting a set of ranges as a spec and parsing it back gives the same ports, in order, once each.
    #[test]
    fn spec_roundtrip((spec, ranges) in range_spec()) {
        let parsed = parse_list(&spec, &Expansions::DEFAULT, "test").unwrap();
        let mut expected = Vec::new();
        let mut seen = PortSet::new();
        for (lo, hi) in ranges { for p in lo..=hi { if seen.insert(p) { expected.push(p); } } }
        prop_assert_eq!(parsed, expected);
    }

    /// Arbitrary text never panics the parser; errors point inside the input.
    #[test]
    fn parser_total(text in "\\PC{0,40}|[0-9, -]{0,40}") {
        if let Err(e) = parse_list(&text, &Expansions::DEFAULT, "test") {
            prop_assert!(e.offset < text.len());
            prop_assert!(text[e.offset..].starts_with(e.item.as_str()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The fast generator the candidate iterator uses is the plain one, value for value.
    #[test]
    fn fast_lcg_is_the_plain_lcg(seed in any::<u32>()) {
        let plain = Lcg::new(seed);
        let fast = port4me_core::FastLcg::new(seed);
        for (i, (a, b)) in plain.zip(fast).take(PERIOD as usize + 9).enumerate() {
            prop_assert_eq!(a, b, "step {}", i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// The bulk `fill` used by `list` yields exactly what `next` yields, and
    /// leaves the iterator where `next` would have.
    #[test]
    fn fill_matches_next(user in user(), (inc, _) in range_spec(), k in 0u64..50, n in 0usize..3000, m in 1usize..20, prepend in proptest::option::of("[1-9][0-9]{0,3}(,[1-9][0-9]{0,3}){0,3}")) {
        let mut q = Query::new(&user).include(&inc).skip(k);
        q.prepend = prepend.as_deref();
        let r = q.resolve().unwrap();
        let by_next: Result<Vec<u16>, Error> = r.candidates().take(n + m).collect();
        let mut it = r.candidates();
        let mut out = Vec::new();
        let filled = it.fill(&mut out, n);
        match by_next {
            Ok(all) => {
                prop_assert!(filled.is_ok());
                prop_assert_eq!(&out[..], &all[..n]);
                let rest: Vec<u16> = it.take(m).map(|p| p.unwrap()).collect();
                prop_assert_eq!(&rest[..], &all[n..]);
            }
            Err(e) => prop_assert!(filled.is_err() || n < r.prepend.len() + 1, "{e}"),
        }
    }
}

#[test]
fn huge_skip_and_long_lists_on_tiny_sets_are_cheap_and_periodic() {
    let q = Query::new("alice").include("2000-2002").prepend("9");
    let base = q.list(7).unwrap();
    assert_eq!(base[0], 9);
    let cycle = base[1..4].to_vec();
    assert_eq!(&base[4..7], &cycle[..]);
    // 1 prepended + 3 * 10^12 whole cycles + 1: lands on cycle[1].
    let far = q.clone().skip(1 + 3 * 1_000_000_000_000 + 1).list(2).unwrap();
    assert_eq!(far, [cycle[1], cycle[2]]);
    let many = Query::new("alice").include("2000").list(1 << 20).unwrap();
    assert!(many.len() == 1 << 20 && many.iter().all(|&p| p == 2000));
    let r = Query::new("bob").include("5000-5004").resolve().unwrap();
    let mut it = r.candidates();
    let mut out = Vec::new();
    it.fill(&mut out, 23).unwrap();
    let by_next: Vec<u16> = r.candidates().take(30).map(Result::unwrap).collect();
    assert_eq!(&out[..], &by_next[..23]);
    assert_eq!(it.take(7).map(Result::unwrap).collect::<Vec<_>>(), &by_next[23..]);
}
