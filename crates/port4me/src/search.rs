//! A bounded search: the candidates of a resolved query, each distinct port
//! handed out once, for the caller to check.
//!
//! The candidate sequence never ends: its LCG part repeats with period
//! `|allowed|`. So a search has two limits:
//!
//! * `max_tries`: it looks at most at this many candidates, repeats
//!   included. The default is 65535, as in the reference.
//! * exhaustion: once it has handed out every distinct candidate, the
//!   prepended ports left after `skip` and the allowed set, there is nothing
//!   new to try. It ends at once with [`Error::AllInUse`] instead of stepping
//!   on for the rest of `max_tries`.
//!
//! A candidate seen before, such as a prepended port that the LCG reaches
//! again, is not handed out again but counts as a try. So with every port
//! busy a search costs at most one LCG period plus one check per distinct
//! port, and a search that finds a port finds the one the reference finds.
//!
//! [`Port4me::try_find_with`](crate::Port4me::try_find_with) runs a search in
//! one loop; the registry runs one with a lease attempt between checks, and
//! the WebAssembly fallback hands its candidates to JavaScript in batches.

use std::cell::OnceCell;

use port4me_core::sequence::{Candidates, Position};
use port4me_core::PortSet;

use crate::{Error, Protocol, Resolved};

/// How many ports an [`Error::AllInUse`] names one by one; above this it
/// names the first five candidates only.
pub const LIST_ALL_UP_TO: usize = 5;

/// A search in progress. Call [`next_port`](Search::next_port) for a candidate to
/// check, until it answers `None`; then [`no_free_port`](Search::no_free_port)
/// is the error to report.
#[derive(Clone, Debug)]
pub struct Search {
    resolved: Resolved,
    position: Position,
    max_tries: u32,
    protocol: Protocol,
    /// Candidates looked at, repeats included.
    tries: u32,
    /// Ports handed out, once there is more than one (most searches end at
    /// their first candidate, and this set is 8 KiB to clear).
    seen: Option<Box<PortSet>>,
    handed_out: usize,
    /// Distinct candidates there are; `None` when the allowed set is empty
    /// (the candidates end in `Error::EmptySet` after the prepended ports).
    /// Counted when first needed: counting the allowed set costs more than
    /// a whole search that succeeds at its first candidate.
    distinct: OnceCell<Option<usize>>,
    /// The first candidates looked at, for the message.
    first: Vec<u16>,
    /// The first ports handed out, in order, for the message.
    first_distinct: Vec<u16>,
}

impl Search {
    /// A search over the candidates of `resolved` that looks at no more than
    /// `max_tries` (at least 1) of them; `protocol` is for the messages.
    pub fn new(resolved: Resolved, max_tries: u32, protocol: Protocol) -> Self {
        let position = resolved.candidates().position();
        Search {
            resolved,
            position,
            max_tries,
            protocol,
            tries: 0,
            seen: None,
            handed_out: 0,
            distinct: OnceCell::new(),
            first: Vec::new(),
            first_distinct: Vec::new(),
        }
    }

    /// The next port to check, or `None` when the search is over (every
    /// distinct candidate handed out, or `max_tries` looked at). A candidate
    /// error (an empty allowed set after the prepended ports) is returned
    /// as it comes.
    pub fn next_port(&mut self) -> Result<Option<u16>, Error> {
        if self.exhausted() {
            return Ok(None);
        }
        let r = &self.resolved;
        let mut candidates = Candidates::resume(&r.prepend, &r.allowed, self.position.clone());
        let found = loop {
            if self.tries >= self.max_tries {
                break None;
            }
            let port = match candidates.next() {
                Some(Ok(port)) => port,
                Some(Err(e)) => {
                    self.position = candidates.position();
                    return Err(e.into());
                }
                None => unreachable!("the candidates never end"),
            };
            self.tries += 1;
            if self.first.len() < LIST_ALL_UP_TO {
                self.first.push(port);
            }
            if first_seen(&mut self.seen, &self.first_distinct, port) {
                self.handed_out += 1;
                if self.first_distinct.len() < LIST_ALL_UP_TO {
                    self.first_distinct.push(port);
                }
                break Some(port);
            }
        };
        self.position = candidates.position();
        Ok(found)
    }

    /// Distinct candidates there are (`None`: the allowed set is empty).
    fn distinct(&self) -> Option<usize> {
        *self.distinct.get_or_init(|| self.resolved.distinct_candidates())
    }

    /// Whether every distinct candidate has been handed out.
    pub fn exhausted(&self) -> bool {
        // There is at least one distinct candidate, or none and an empty
        // allowed set (`None`): nothing handed out is never exhausted.
        self.handed_out > 0 && self.distinct().is_some_and(|n| self.handed_out >= n)
    }

    /// Candidates looked at so far, repeats included.
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// Candidates that may still be looked at before `max_tries` runs out
    /// (an upper bound on what [`next_port`](Self::next_port) still hands out).
    pub fn tries_left(&self) -> u32 {
        self.max_tries - self.tries
    }

    /// `ERR_PORT4ME_NO_FREE_PORT` for a search whose every candidate was
    /// busy: [`Error::AllInUse`] when every distinct candidate was tried,
    /// [`Error::NoFreePort`] when `max_tries` ran out first.
    pub fn no_free_port(&self) -> Error {
        let first = self.first.clone();
        match self.distinct() {
            Some(count) if self.handed_out >= count => {
                let ports = if count <= LIST_ALL_UP_TO { self.first_distinct.clone() } else { first };
                Error::AllInUse { tries: self.tries, protocol: self.protocol, count, ports, holders: Vec::new() }
            }
            _ => Error::NoFreePort { tries: self.tries, protocol: self.protocol, first },
        }
    }
}

/// Records `port` as handed out in `seen` (made when a second port comes;
/// `handed` holds the first); whether it is new.
fn first_seen(seen: &mut Option<Box<PortSet>>, handed: &[u16], port: u16) -> bool {
    if let Some(seen) = seen {
        return seen.insert(port);
    }
    // Nothing handed out yet: no set needed to know it is new.
    let Some(&first) = handed.first() else { return true };
    let mut set = Box::new(PortSet::new());
    set.insert(first);
    let new = set.insert(port);
    *seen = Some(set);
    new
}
