//! The pure part of the binding: options in plain Rust types, resolved with
//! `port4me-core`, and a `list` whose cost does not grow with the size of the
//! allowed set or with `skip`.
//!
//! Nothing here touches JavaScript, so it is tested natively with
//! `cargo test -p port4me-wasm`.

use port4me_core::query::Resolved;
use port4me_core::spec::{self, Expansions, Item};
use port4me_core::unsafe_ports::DEFAULT_EXCLUDE_UNSAFE;
use port4me_core::{seed_hash, Error, PortSet};

/// A port specification as the caller gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Spec {
    /// Not given (`undefined` or `null`).
    #[default]
    Unset,
    /// A specification string such as `"2000-2009,4321 {chrome}"`.
    Text(String),
    /// Ports given as numbers (the binding accepts only 1-65535; a `0` would
    /// be ignored, as a lone `0` item is in a specification string).
    Ports(Vec<u16>),
}

/// Everything `sequence()` takes, bar `n`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub user: String,
    pub tool: Option<String>,
    pub prepend: Spec,
    pub include: Spec,
    pub exclude: Spec,
    /// `Unset` means the default `{chrome},{firefox}`; `Text("")` turns the
    /// browser-unsafe exclusions off.
    pub exclude_unsafe: Spec,
    pub skip: u64,
}

/// Where parsed ports go: a set, or an ordered list without duplicates.
enum Sink<'a> {
    Set(&'a mut PortSet),
    List { out: &'a mut Vec<u16>, seen: &'a mut PortSet },
}

/// Parses `spec` into `sink`. The core's `parse_into` and `parse_list` do the
/// same; going through one `for_each_item` instance instead of their three
/// keeps ~1.5 KiB out of the WebAssembly module.
fn parse_spec(spec: &str, source: &'static str, sink: &mut Sink<'_>) -> Result<(), Error> {
    spec::for_each_item(spec, &Expansions::DEFAULT, source, |item| {
        let (lo, hi) = match item {
            Item::Port(p) => (p, p),
            Item::Range(lo, hi) => (lo, hi),
        };
        match sink {
            Sink::Set(set) => set.insert_range(lo, hi),
            Sink::List { out, seen } => {
                for p in lo..=hi {
                    if seen.insert(p) {
                        out.push(p);
                    }
                }
            }
        }
    })?;
    Ok(())
}

fn add_to_set(spec: &Spec, source: &'static str, set: &mut PortSet) -> Result<(), Error> {
    match spec {
        Spec::Unset => {}
        Spec::Text(s) => parse_spec(s, source, &mut Sink::Set(set))?,
        Spec::Ports(ports) => ports.iter().filter(|&&p| p != 0).for_each(|&p| {
            set.insert(p);
        }),
    }
    Ok(())
}

/// The ports of `spec` in order, each at its first occurrence.
fn parse_list(spec: &str, source: &'static str) -> Result<Vec<u16>, Error> {
    let mut out = Vec::new();
    parse_spec(spec, source, &mut Sink::List { out: &mut out, seen: &mut Box::new(PortSet::new()) })?;
    Ok(out)
}

/// Parses every option, as `port4me_core::Query::resolve` does, but with the
/// JavaScript option names in error messages and with ports given as numbers.
pub fn resolve(o: &Options) -> Result<Resolved, Error> {
    let hash = seed_hash(&o.user, o.tool.as_deref())?;
    let prepend = match &o.prepend {
        Spec::Unset => Vec::new(),
        Spec::Text(s) => parse_list(s, "prepend")?,
        Spec::Ports(ports) => {
            let mut seen = Box::new(PortSet::new());
            ports.iter().copied().filter(|&p| p != 0 && seen.insert(p)).collect()
        }
    };
    let mut include = Box::new(PortSet::new());
    add_to_set(&o.include, "include", &mut include)?;
    let mut exclude = Box::new(PortSet::new());
    add_to_set(&o.exclude, "exclude", &mut exclude)?;
    match &o.exclude_unsafe {
        Spec::Unset => parse_spec(DEFAULT_EXCLUDE_UNSAFE, "excludeUnsafe", &mut Sink::Set(&mut exclude))?,
        other => add_to_set(other, "excludeUnsafe", &mut exclude)?,
    }
    Ok(Resolved::new(hash, prepend, &include, &exclude, o.skip))
}

/// One step of the ZX81 generator for a state already in `0..=65535`, with
/// no division: as `65537 = 2^16 + 1`, `2^16 ≡ -1`, so `hi * 2^16 + lo ≡
/// lo - hi`. Equals `port4me_core::lcg::next(s)` for every such `s` (checked
/// exhaustively by a test); 65536, the fixed point, is never reached from
/// these states.
///
/// The core has the same idea in `FastLcg` (eight lanes, `u64` products);
/// in this size-optimised WebAssembly build that came out ~1 KiB larger and
/// slower than the two-chain loop below, so the binding keeps its own.
#[inline(always)]
fn lcg_step(s: u32) -> u32 {
    let n = 75 * s + 74; // < 2^23
    let r = (n & 0xFFFF) as i32 - (n >> 16) as i32;
    (if r < 0 { r + 65537 } else { r }) as u32
}

/// Two steps at once, `lcg_step(lcg_step(s))`: the map is affine, so
/// `f(f(s)) = 75^2 s + (75 * 74 + 74) mod 65537`, reduced the same way
/// (`n < 2^29`, `hi <= 5625`). Two interleaved chains of it halve the length
/// of the dependency chain that bounds the loop below.
#[inline(always)]
fn lcg_step2(s: u32) -> u32 {
    let n = 5625 * s + 5624;
    let r = (n & 0xFFFF) as i32 - (n >> 16) as i32;
    (if r < 0 { r + 65537 } else { r }) as u32
}

/// The first `n` candidates of `r` (after its `skip`), exactly as
/// `Resolved::list` returns them, but in O(prepend + 65536 + n) steps
/// whatever `skip` and the size of the allowed set.
///
/// The LCG visits every value of 0..=65535 once per period of 65,536 steps,
/// so after the prepended ports the candidates repeat with period
/// `a = |allowed|`. Hence:
/// * skipping `k` LCG candidates is the same as skipping `k mod a`;
/// * only the first period needs the generator; the rest copies it.
///
/// Without this, `skip: 2**53` would never return and `n: 1e6` with a
/// one-port include set would take 6.5e10 generator steps.
pub fn list(r: &Resolved, n: usize) -> Result<Vec<u16>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let a = r.allowed.len();
    let p = r.prepend.len() as u64;
    // One spare slot: the two-value loop below may write one past its end.
    let mut out = vec![0u16; n + 1];
    // Prepended ports left after the skip, then LCG candidates to drop.
    let mut start = 0;
    let mut lcg_skip = 0u64;
    if r.skip < p {
        let rest = &r.prepend[r.skip as usize..];
        start = rest.len().min(n);
        out[..start].copy_from_slice(&rest[..start]);
    } else if a > 0 {
        lcg_skip = (r.skip - p) % a as u64;
    }
    if start < n && a == 0 {
        // Past the prepended ports nothing can come out (the core's
        // `Candidates` says so too, rather than spinning).
        return Err(Error::EmptySet);
    }
    if start < n {
        let allowed = &*r.allowed;
        let buf = &mut out[..];
        // The first step through the core handles any u32 seed and the fixed
        // point; every later state is below 65536.
        let mut x = port4me_core::lcg::next(r.hash);
        while lcg_skip > 0 {
            lcg_skip -= allowed.contains_port(x as u16) as u64;
            x = lcg_step(x);
        }
        // One period at most (`a` candidates); the rest repeats it.
        let end = start + (n - start).min(a);
        let (mut x0, mut x1) = (x, lcg_step(x));
        let mut k = start;
        while k < end {
            // Branch-free: write every value, keep it only if it is allowed.
            // x0 and x1 are consecutive values; each advances two steps.
            buf[k] = x0 as u16;
            k += allowed.contains_port(x0 as u16) as usize;
            buf[k] = x1 as u16;
            k += allowed.contains_port(x1 as u16) as usize;
            x0 = lcg_step2(x0);
            x1 = lcg_step2(x1);
        }
        // k may be end + 1; that slot is the spare, or is rewritten here with
        // the same value (the (a+1)-th candidate is the first again).
        for i in end..n {
            buf[i] = buf[i - a];
        }
    }
    out.truncate(n);
    Ok(out)
}

/// Parses a specification into its ports, in order, without duplicates.
pub fn parse_ports(s: &str) -> Result<Vec<u16>, Error> {
    parse_list(s, "the parsePorts argument")
}

#[cfg(test)]
mod tests {
    use super::*;
    use port4me_core::Query;

    fn opts(user: &str) -> Options {
        Options { user: user.into(), ..Default::default() }
    }

    fn text(s: &str) -> Spec {
        Spec::Text(s.into())
    }

    #[test]
    fn lcg_steps_match_core_for_every_state() {
        for s in 0..65536u32 {
            assert_eq!(lcg_step(s), port4me_core::lcg::next(s), "s = {s}");
            assert_eq!(lcg_step2(s), lcg_step(lcg_step(s)), "s = {s}");
        }
    }

    #[test]
    fn specs_parse_as_in_the_core() {
        let exp = Expansions::DEFAULT;
        for spec in ["5 3-4,5 3", " 0, ,\t80\n443 ,, 0 ", "{chrome} 2000-2010 {firefox} 1-30", "", "65535 1"] {
            assert_eq!(parse_list(spec, "t").unwrap(), spec::parse_list(spec, &exp, "t").unwrap(), "{spec:?}");
            let mut mine = PortSet::new();
            parse_spec(spec, "t", &mut Sink::Set(&mut mine)).unwrap();
            let mut core = PortSet::new();
            spec::parse_into(spec, &exp, "t", &mut core).unwrap();
            assert!(mine == core, "{spec:?}");
        }
        for bad in ["80,x", "5-3", "{edge}", "65536", "0-5"] {
            let e = Error::from(spec::parse_list(bad, &exp, "t").unwrap_err());
            assert_eq!(parse_list(bad, "t").unwrap_err(), e, "{bad:?}");
        }
    }

    #[test]
    fn anchors() {
        let r = resolve(&opts("alice")).unwrap();
        assert_eq!(list(&r, 5).unwrap(), [30845, 19654, 32310, 63992, 15273]);
        let o = Options { prepend: text("4321,11001"), ..opts("alice") };
        assert_eq!(list(&resolve(&o).unwrap(), 5).unwrap(), [4321, 11001, 30845, 19654, 32310]);
        let o = Options { prepend: Spec::Ports(vec![4321, 0, 11001, 4321]), ..opts("alice") };
        assert_eq!(list(&resolve(&o).unwrap(), 5).unwrap(), [4321, 11001, 30845, 19654, 32310]);
        let o = Options { include: Spec::Ports(vec![1, 2, 3, 0, 470]), ..opts("alice") };
        assert_eq!(list(&resolve(&o).unwrap(), 1).unwrap(), [470]);
    }

    /// Same answers as the core's plain candidate iterator on sparse and dense
    /// sets, with and without prepended ports, across the wrap-around.
    #[test]
    fn matches_core_list() {
        type Case = (&'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>);
        let cases: &[Case] = &[
            ("alice", None, None, None),
            ("bob", Some("80,443,80"), Some("1-1023"), Some("470")),
            ("carol", Some("7000-7003"), Some("5000-5009"), None),
            ("dave", None, Some("2000,2001 9000"), None),
            ("erin", Some("1,2,3"), Some("6000-6010"), Some("6000-6009")),
        ];
        for &(user, prepend, include, exclude) in cases {
            let mut q = Query::new(user);
            q.prepend = prepend;
            q.include = include;
            q.exclude = exclude;
            let o = Options {
                prepend: prepend.map_or(Spec::Unset, text),
                include: include.map_or(Spec::Unset, text),
                exclude: exclude.map_or(Spec::Unset, text),
                ..opts(user)
            };
            let r = q.resolve().unwrap();
            // Long enough to wrap around the allowed set twice.
            let n = 2 * r.allowed.len() + r.prepend.len() + 5;
            for skip in [0u64, 1, 2, 3, 4, 5, 9, 10, 11, 25, 1000] {
                let r = q.clone().skip(skip).resolve().unwrap();
                let core: Vec<u16> = r.candidates().take(n).collect::<Result<_, _>>().unwrap();
                let mine = list(&resolve(&Options { skip, ..o.clone() }).unwrap(), n).unwrap();
                assert_eq!(core, mine, "{user} {prepend:?} {include:?} {exclude:?} skip {skip}");
            }
        }
    }

    #[test]
    fn huge_skip_and_n_are_cheap_and_periodic() {
        let o = Options { include: text("2000-2002"), prepend: text("9"), ..opts("alice") };
        let base = list(&resolve(&o).unwrap(), 7).unwrap();
        assert_eq!(base[0], 9);
        let cycle = &base[1..4];
        assert_eq!(&base[4..7], cycle);
        // skip 1 + 3*k + 1 lands on cycle[1].
        let far = Options { skip: 1 + 3 * 1_000_000_000_000 + 1, ..o.clone() };
        assert_eq!(list(&resolve(&far).unwrap(), 1).unwrap(), [cycle[1]]);
        let many = list(&resolve(&Options { include: text("2000"), ..opts("alice") }).unwrap(), 1_000_000).unwrap();
        assert!(many.iter().all(|&p| p == 2000));
    }

    #[test]
    fn errors_name_the_option() {
        let e = resolve(&Options { include: text("80,x"), ..opts("alice") }).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_SPEC");
        assert!(e.to_string().contains("include") && e.to_string().contains("\"x\""), "{e}");
        let e = resolve(&Options { exclude_unsafe: text("{edge}"), ..opts("alice") }).unwrap_err();
        assert!(e.to_string().contains("excludeUnsafe"), "{e}");
        assert_eq!(resolve(&opts("")).unwrap_err(), Error::EmptySeed);
        let r = resolve(&Options { include: text("2000"), exclude: text("2000"), prepend: text("5"), ..opts("a") })
            .unwrap();
        assert_eq!(list(&r, 1).unwrap(), [5]);
        assert_eq!(list(&r, 2).unwrap_err(), Error::EmptySet);
        assert_eq!(list(&r, 0).unwrap(), []);
        let mut past = r.clone();
        past.skip = 1;
        assert_eq!(list(&past, 1).unwrap_err(), Error::EmptySet);
        past.skip = u64::MAX;
        assert_eq!(list(&past, 1).unwrap_err(), Error::EmptySet);
        let e = parse_ports("1-2 5-3").unwrap_err();
        assert!(e.to_string().contains("parsePorts") && e.to_string().contains("5-3"), "{e}");
    }

    #[test]
    fn exclude_unsafe_off_and_replaced() {
        // alice's sequence under include 1-1023 starts 470; 1..=1023 holds
        // unsafe ports, so switching the list off must change something.
        let base = Options { include: text("1-1023"), ..opts("alice") };
        let on = list(&resolve(&base).unwrap(), 200).unwrap();
        let off = list(&resolve(&Options { exclude_unsafe: text(""), ..base.clone() }).unwrap(), 200).unwrap();
        assert_ne!(on, off);
        let unsafe_ports: PortSet =
            port4me_core::unsafe_ports::CHROME.iter().chain(port4me_core::unsafe_ports::FIREFOX).copied().collect();
        assert!(on.iter().all(|&p| !unsafe_ports.contains(p as u32)));
        assert!(off.iter().any(|&p| unsafe_ports.contains(p as u32)));
        let arr = Options { exclude_unsafe: Spec::Ports(vec![]), ..base };
        assert_eq!(list(&resolve(&arr).unwrap(), 200).unwrap(), off);
    }
}
