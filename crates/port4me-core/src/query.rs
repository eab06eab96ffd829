//! A ready-made query for callers with no environment (the WebAssembly build,
//! tests, other pure callers): user, tool, specifications and skip in; ports
//! out.
//!
//! Every specification is an explicit argument in the sense of the contract:
//! `exclude` replaces only the user's own exclusions, and the browser-unsafe
//! list still applies unless [`Query::exclude_unsafe`] changes it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::error::Error;
use crate::hash::seed_hash;
use crate::sequence::{make_allowed, Candidates};
use crate::set::PortSet;
use crate::spec::{self, Expansions};
use crate::unsafe_ports::DEFAULT_EXCLUDE_UNSAFE;

/// The inputs of a port4me sequence, as strings and numbers.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    /// The user part of the seed.
    pub user: &'a str,
    /// The tool part of the seed.
    pub tool: Option<&'a str>,
    /// Ports tried first, in order.
    pub prepend: Option<&'a str>,
    /// Allowed ports (default 1024-65535).
    pub include: Option<&'a str>,
    /// Excluded ports, on top of the unsafe list.
    pub exclude: Option<&'a str>,
    /// The browser-unsafe exclusions; `None` means `{chrome},{firefox}`.
    pub exclude_unsafe: Option<&'a str>,
    /// Number of leading candidates to drop.
    pub skip: u64,
}

impl<'a> Query<'a> {
    /// A query for `user` with no tool and no specifications.
    pub fn new(user: &'a str) -> Self {
        Query { user, ..Default::default() }
    }

    /// Sets the tool.
    pub fn tool(mut self, tool: &'a str) -> Self {
        self.tool = Some(tool);
        self
    }

    /// Sets the prepend specification.
    pub fn prepend(mut self, spec: &'a str) -> Self {
        self.prepend = Some(spec);
        self
    }

    /// Sets the include specification.
    pub fn include(mut self, spec: &'a str) -> Self {
        self.include = Some(spec);
        self
    }

    /// Sets the exclude specification.
    pub fn exclude(mut self, spec: &'a str) -> Self {
        self.exclude = Some(spec);
        self
    }

    /// Replaces the browser-unsafe exclusions (`""` turns them off).
    pub fn exclude_unsafe(mut self, spec: &'a str) -> Self {
        self.exclude_unsafe = Some(spec);
        self
    }

    /// Sets how many leading candidates to drop.
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Parses everything once; the result hands out iterators.
    pub fn resolve(&self) -> Result<Resolved, Error> {
        let one = |spec: Option<&'a str>, source| spec.map(|s| (PortsRef::Spec(s), source));
        let prepend = one(self.prepend, "prepend");
        let include = one(self.include, "include");
        let exclude = [
            one(self.exclude, "exclude"),
            one(Some(self.exclude_unsafe.unwrap_or(DEFAULT_EXCLUDE_UNSAFE)), "exclude_unsafe"),
        ];
        Sources {
            prepend: prepend.as_slice(),
            include: include.as_slice(),
            exclude: &exclude.iter().flatten().copied().collect::<Vec<_>>(),
            expansions: Expansions::DEFAULT,
            skip: self.skip,
        }
        .resolve(seed_hash(self.user, self.tool)?)
    }

    /// The first `n` candidates (no probing).
    pub fn list(&self, n: usize) -> Result<Vec<u16>, Error> {
        self.resolve()?.list(n)
    }
}

/// Ports as a caller gives them: a specification string, or port numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortsRef<'a> {
    /// A specification such as `"2000-2009,4321 {chrome}"` (a lone `0`
    /// item is ignored: the reference uses it for "set but empty").
    Spec(&'a str),
    /// Port numbers, each 1-65535: a 0 here is an error (numbers are not
    /// specification items, and a 0 among them is a mistake, not "empty").
    List(&'a [u16]),
}

/// Every setting of a sequence as the values it is made of, in order, each
/// with where it came from, such as `"--exclude"` or
/// `"PORT4ME_EXCLUDE_SITE"`. This is the one resolver behind every layer.
/// [`Query`] gives one value per setting. The std crate adds the
/// environment's: the argument or the user's variable, then the site's, then
/// the browser-unsafe list. The WebAssembly binding maps JavaScript values
/// onto it.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'s, 'e> {
    /// Ports tried first: the first occurrence of each port keeps its place.
    pub prepend: &'s [(PortsRef<'s>, &'static str)],
    /// Allowed ports (the union; default 1024-65535 when empty).
    pub include: &'s [(PortsRef<'s>, &'static str)],
    /// Excluded ports (the union), the browser-unsafe list included.
    pub exclude: &'s [(PortsRef<'s>, &'static str)],
    /// What `{chrome}` and `{firefox}` stand for.
    pub expansions: Expansions<'e>,
    /// Leading candidates to drop.
    pub skip: u64,
}

impl Sources<'_, '_> {
    /// Parses every value (the first bad one is the error, naming its
    /// source) and builds the sequence for the seed `hash`.
    pub fn resolve(&self, hash: u32) -> Result<Resolved, Error> {
        let exp = &self.expansions;
        let mut prepend = Vec::new();
        if !self.prepend.is_empty() {
            let mut seen = Box::new(PortSet::new());
            for &(ports, source) in self.prepend {
                match ports {
                    PortsRef::Spec(s) => spec::append_list(s, exp, source, &mut prepend, &mut seen)?,
                    PortsRef::List(v) => {
                        check_numbers(v, source)?;
                        prepend.extend(v.iter().copied().filter(|&p| seen.insert(p)));
                    }
                }
            }
        }
        let mut include = Box::new(PortSet::new());
        add_all(self.include, exp, &mut include)?;
        let mut exclude = Box::new(PortSet::new());
        add_all(self.exclude, exp, &mut exclude)?;
        Ok(Resolved::from_include(hash, prepend, include, &exclude, self.skip))
    }
}

/// A 0 among port numbers, as the error of the item at that index.
fn check_numbers(v: &[u16], source: &'static str) -> Result<(), Error> {
    match v.iter().position(|&p| p == 0) {
        Some(offset) => Err(crate::error::SpecError {
            kind: crate::error::SpecErrorKind::OutOfRange,
            item: crate::error::ItemText::new("0"),
            offset,
            origin: source,
        }
        .into()),
        None => Ok(()),
    }
}

fn add_all(values: &[(PortsRef<'_>, &'static str)], exp: &Expansions<'_>, set: &mut PortSet) -> Result<(), Error> {
    for &(ports, source) in values {
        match ports {
            // On an error the half-filled set is dropped with the query.
            PortsRef::Spec(s) => spec::parse_into(s, exp, source, set)?,
            PortsRef::List(v) => {
                check_numbers(v, source)?;
                v.iter().for_each(|&p| {
                    set.insert(p);
                });
            }
        }
    }
    Ok(())
}

/// A parsed query: seed hash, prepend list and allowed set.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Hash of the seed string.
    pub hash: u32,
    /// Ports tried first, deduplicated, in order.
    pub prepend: Vec<u16>,
    /// Include minus exclude.
    pub allowed: Box<PortSet>,
    /// Leading candidates to drop.
    pub skip: u64,
}

impl Resolved {
    /// Builds the allowed set from `include` and `exclude`.
    pub fn new(hash: u32, prepend: Vec<u16>, include: &PortSet, exclude: &PortSet, skip: u64) -> Self {
        Self::from_include(hash, prepend, Box::new(include.clone()), exclude, skip)
    }

    /// Like [`new`](Self::new), reusing the include set's allocation for the
    /// allowed set (8 KiB less to allocate and copy per query).
    pub fn from_include(hash: u32, prepend: Vec<u16>, mut include: Box<PortSet>, exclude: &PortSet, skip: u64) -> Self {
        make_allowed(&mut include, exclude);
        Resolved { hash, prepend, allowed: include, skip }
    }

    /// The candidate iterator, with `skip` applied.
    pub fn candidates(&self) -> Candidates<'_> {
        Candidates::new(self.hash, &self.prepend, &self.allowed).with_skip(self.skip)
    }

    /// How many distinct ports [`candidates`](Self::candidates) yields:
    /// the allowed ports plus the prepended ones (after `skip`) that are
    /// not allowed; `None` when the allowed set is empty.
    pub fn distinct_candidates(&self) -> Option<usize> {
        self.candidates().distinct_left()
    }

    /// The first `n` candidates. Repeats once the LCG wraps, as in the
    /// reference; an empty allowed set is an error once the prepended ports
    /// run out.
    pub fn list(&self, n: usize) -> Result<Vec<u16>, Error> {
        let mut out = Vec::new();
        self.candidates().fill(&mut out, n)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        assert_eq!(
            Query::new("alice").list(10).unwrap(),
            [30845, 19654, 32310, 63992, 15273, 31420, 62779, 55372, 24143, 41300]
        );
        assert_eq!(Query::new("bob").list(5).unwrap(), [54242, 4930, 42139, 14723, 55707]);
        assert_eq!(Query::new("alice").tool("rstudio").list(1).unwrap(), [22486]);
        assert_eq!(Query::new("alice").include("1-1023").list(1).unwrap(), [470]);
        assert_eq!(Query::new("alice").include("1-1023").exclude("470,403").list(1).unwrap(), [859]);
        assert_eq!(Query::new("alice").prepend("4321,11001").list(5).unwrap(), [4321, 11001, 30845, 19654, 32310]);
        assert_eq!(Query::new("alice").skip(2).list(3).unwrap(), [32310, 63992, 15273]);
        assert_eq!(Query::new("bob").skip(1).exclude("54242,14723").list(2).unwrap(), [42139, 55707]);
        assert_eq!(Query::new("alice").include("2000-2123,4321,10000-10999").list(1).unwrap(), [10451]);
    }

    #[test]
    fn empty_set_with_prepend_is_lazy() {
        let q = Query::new("alice").prepend("3000").include("2000").exclude("2000");
        assert_eq!(q.list(1).unwrap(), [3000]);
        assert_eq!(q.list(2).unwrap_err(), Error::EmptySet);
    }

    #[test]
    fn numbers_and_specs_mix_and_zero_is_an_error_among_numbers() {
        let list = [4321, 11001, 4321];
        let sources = Sources {
            prepend: &[(PortsRef::List(&list), "prepend"), (PortsRef::Spec("11001 2000"), "site")],
            include: &[(PortsRef::Spec("0"), "include")],
            exclude: &[(PortsRef::Spec(DEFAULT_EXCLUDE_UNSAFE), "unsafe")],
            expansions: Expansions::DEFAULT,
            skip: 0,
        };
        let r = sources.resolve(seed_hash("alice", None).unwrap()).unwrap();
        // A lone 0 item in a specification is "empty": the default range.
        assert_eq!(r.list(5).unwrap(), [4321, 11001, 2000, 30845, 19654]);
        let zero = [80, 0];
        let bad = Sources { exclude: &[(PortsRef::List(&zero), "exclude")], ..sources };
        match bad.resolve(1).unwrap_err() {
            Error::Spec(e) => assert_eq!((e.origin, e.item.as_str(), e.offset), ("exclude", "0", 1)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn source_is_named() {
        match Query::new("alice").exclude("80,x").list(1).unwrap_err() {
            Error::Spec(e) => assert_eq!((e.origin, e.item.as_str(), e.offset), ("exclude", "x", 3)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
