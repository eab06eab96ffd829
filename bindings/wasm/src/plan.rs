//! The pure part of the binding: options in plain Rust types, mapped onto
//! the core's one resolver (`port4me_core::query::Sources`) under the
//! JavaScript option names. All of the algorithm (parsing, merging,
//! the generator, skipping and listing) is the core's.
//!
//! Nothing here touches JavaScript, so it is tested natively with
//! `cargo test -p port4me-wasm`.

use port4me_core::query::{PortsRef, Resolved, Sources};
use port4me_core::spec::{self, Expansions};
use port4me_core::unsafe_ports::DEFAULT_EXCLUDE_UNSAFE;
use port4me_core::{seed_hash, Error};

/// A port specification as the caller gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Spec {
    /// Not given (`undefined` or `null`).
    #[default]
    Unset,
    /// A specification string such as `"2000-2009,4321 {chrome}"`.
    Text(String),
    /// Ports given as numbers (the binding accepts only 1-65535; the core
    /// refuses a `0` among numbers too).
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

impl Spec {
    /// The value as the core's resolver takes it, named `source`.
    fn value(&self, source: &'static str) -> Option<(PortsRef<'_>, &'static str)> {
        match self {
            Spec::Unset => None,
            Spec::Text(s) => Some((PortsRef::Spec(s), source)),
            Spec::Ports(v) => Some((PortsRef::List(v), source)),
        }
    }
}

/// The ports of `spec` in order, each at its first occurrence.
fn parse_list(spec: &str, source: &'static str) -> Result<Vec<u16>, Error> {
    Ok(spec::parse_list(spec, &Expansions::DEFAULT, source)?)
}

/// Maps the options onto the core's one resolver, under the JavaScript
/// option names (which its errors name).
pub fn resolve(o: &Options) -> Result<Resolved, Error> {
    let hash = seed_hash(&o.user, o.tool.as_deref())?;
    let unsafe_value =
        o.exclude_unsafe.value("excludeUnsafe").unwrap_or((PortsRef::Spec(DEFAULT_EXCLUDE_UNSAFE), "excludeUnsafe"));
    let prepend = o.prepend.value("prepend");
    let include = o.include.value("include");
    // No Vec: the module's size budget counts every allocation path.
    let both;
    let exclude: &[_] = match o.exclude.value("exclude") {
        Some(e) => {
            both = [e, unsafe_value];
            &both
        }
        None => core::slice::from_ref(&unsafe_value),
    };
    Sources {
        prepend: prepend.as_slice(),
        include: include.as_slice(),
        exclude,
        expansions: Expansions::DEFAULT,
        skip: o.skip,
    }
    .resolve(hash)
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
    fn anchors() {
        let r = resolve(&opts("alice")).unwrap();
        assert_eq!(r.list(5).unwrap(), [30845, 19654, 32310, 63992, 15273]);
        let o = Options { prepend: text("4321,11001"), ..opts("alice") };
        assert_eq!(resolve(&o).unwrap().list(5).unwrap(), [4321, 11001, 30845, 19654, 32310]);
        let o = Options { prepend: Spec::Ports(vec![4321, 11001, 4321]), ..opts("alice") };
        assert_eq!(resolve(&o).unwrap().list(5).unwrap(), [4321, 11001, 30845, 19654, 32310]);
        let o = Options { include: Spec::Ports(vec![1, 2, 3, 470]), ..opts("alice") };
        assert_eq!(resolve(&o).unwrap().list(1).unwrap(), [470]);
        // A 0 among numbers is an error naming the option, as in the std
        // crate: a silent drop would hide the caller's mistake.
        let o = Options { prepend: Spec::Ports(vec![4321, 0]), ..opts("alice") };
        let e = resolve(&o).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_SPEC");
        assert!(e.to_string().contains("prepend"), "{e}");
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
                let mine = resolve(&Options { skip, ..o.clone() }).unwrap().list(n).unwrap();
                assert_eq!(core, mine, "{user} {prepend:?} {include:?} {exclude:?} skip {skip}");
            }
        }
    }

    #[test]
    fn huge_skip_and_n_are_cheap_and_periodic() {
        let o = Options { include: text("2000-2002"), prepend: text("9"), ..opts("alice") };
        let base = resolve(&o).unwrap().list(7).unwrap();
        assert_eq!(base[0], 9);
        let cycle = &base[1..4];
        assert_eq!(&base[4..7], cycle);
        // skip 1 + 3*k + 1 lands on cycle[1].
        let far = Options { skip: 1 + 3 * 1_000_000_000_000 + 1, ..o.clone() };
        assert_eq!(resolve(&far).unwrap().list(1).unwrap(), [cycle[1]]);
        let many = resolve(&Options { include: text("2000"), ..opts("alice") }).unwrap().list(1_000_000).unwrap();
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
        assert_eq!(r.list(1).unwrap(), [5]);
        assert_eq!(r.list(2).unwrap_err(), Error::EmptySet);
        assert_eq!(r.list(0).unwrap(), Vec::<u16>::new());
        let mut past = r.clone();
        past.skip = 1;
        assert_eq!(past.list(1).unwrap_err(), Error::EmptySet);
        past.skip = u64::MAX;
        assert_eq!(past.list(1).unwrap_err(), Error::EmptySet);
        let e = parse_ports("1-2 5-3").unwrap_err();
        assert!(e.to_string().contains("parsePorts") && e.to_string().contains("5-3"), "{e}");
    }

    #[test]
    fn exclude_unsafe_off_and_replaced() {
        // alice's sequence under include 1-1023 starts 470; 1..=1023 holds
        // unsafe ports, so switching the list off must change something.
        let base = Options { include: text("1-1023"), ..opts("alice") };
        let on = resolve(&base).unwrap().list(200).unwrap();
        let off = resolve(&Options { exclude_unsafe: text(""), ..base.clone() }).unwrap().list(200).unwrap();
        assert_ne!(on, off);
        let unsafe_ports: port4me_core::PortSet =
            port4me_core::unsafe_ports::CHROME.iter().chain(port4me_core::unsafe_ports::FIREFOX).copied().collect();
        assert!(on.iter().all(|&p| !unsafe_ports.contains(p as u32)));
        assert!(off.iter().any(|&p| unsafe_ports.contains(p as u32)));
        let arr = Options { exclude_unsafe: Spec::Ports(vec![]), ..base };
        assert_eq!(resolve(&arr).unwrap().list(200).unwrap(), off);
    }
}
