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
        let exp = Expansions::DEFAULT;
        let hash = seed_hash(self.user, self.tool)?;
        let prepend = match self.prepend {
            Some(s) => spec::parse_list(s, &exp, "prepend")?,
            None => Vec::new(),
        };
        let mut include = Box::new(PortSet::new());
        if let Some(s) = self.include {
            spec::parse_into(s, &exp, "include", &mut include)?;
        }
        let mut exclude = Box::new(PortSet::new());
        if let Some(s) = self.exclude {
            spec::parse_into(s, &exp, "exclude", &mut exclude)?;
        }
        let unsafe_spec = self.exclude_unsafe.unwrap_or(DEFAULT_EXCLUDE_UNSAFE);
        spec::parse_into(unsafe_spec, &exp, "exclude_unsafe", &mut exclude)?;
        Ok(Resolved::from_include(hash, prepend, include, &exclude, self.skip))
    }

    /// The first `n` candidates (no probing).
    pub fn list(&self, n: usize) -> Result<Vec<u16>, Error> {
        self.resolve()?.list(n)
    }
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
    fn source_is_named() {
        match Query::new("alice").exclude("80,x").list(1).unwrap_err() {
            Error::Spec(e) => assert_eq!((e.source, e.item.as_str(), e.offset), ("exclude", "x", 3)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
