//! The shared conformance vectors (`conformance/vectors.json`, whose expected
//! values come from the reference implementation) through the pure core:
//! every case without an environment, the core-only ones included.

use crate::harness::{self, Number, Outcome};
use port4me_core::Query;

#[test]
fn core_reproduces_reference_vectors() {
    harness::run_all(
        "core",
        100,
        true,
        |c| c.env.is_none(),
        |c| {
            // The core takes unsigned counts, and `list(0)` is simply empty:
            // cases about negative or zero counts (errors at the user-facing
            // layers) cannot be expressed here; the std runners cover them.
            let count = |n: &Option<Number>, default: u64| match n {
                None => Some(default),
                Some(Number::Count(n)) if *n > 0 => Some(*n),
                Some(_) => None,
            };
            let skip = match &c.skip {
                Some(Number::Count(n)) => *n,
                None => 0,
                Some(Number::Other(_)) => return None,
            };
            let n = count(&c.list, 1)? as usize;
            let mut q = Query::new(&c.user);
            q.tool = c.tool.as_deref();
            q.prepend = c.prepend.as_deref();
            q.include = c.include.as_deref();
            q.exclude = c.exclude.as_deref();
            q.skip = skip;
            Some(match q.list(n) {
                Ok(ports) => Outcome::Ports(ports),
                Err(e) => Outcome::Error { code: Some(e.code().into()), message: e.to_string() },
            })
        },
    );
}
