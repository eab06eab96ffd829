//! The shared conformance vectors through the std layer, with each case's
//! environment injected (never the real process environment).

#[path = "../../../conformance/harness/harness.rs"]
mod harness;

use harness::{Case, Outcome};
use port4me::{Env, Port4me};

fn run_case(c: &Case) -> Result<Vec<u16>, port4me::Error> {
    let mut q = Port4me::with_env(Env::from_pairs(c.environment())).user(c.user.as_str());
    if let Some(t) = &c.tool {
        q = q.tool(t.as_str());
    }
    if let Some(p) = &c.prepend {
        q = q.prepend(p.as_str());
    }
    if let Some(p) = &c.include {
        q = q.include(p.as_str());
    }
    if let Some(p) = &c.exclude {
        q = q.exclude(p.as_str());
    }
    // Numbers go through the parser the CLI uses, so that negative values
    // in a case are refused as they would be there.
    if let Some(k) = &c.skip {
        q = q.skip(port4me::parse_count(&k.text(), "skip", "skip")?);
    }
    let list = match &c.list {
        Some(n) => Some(port4me::parse_count(&n.text(), "list count", "list")? as usize),
        None => q.list_from_env()?,
    };
    match list {
        Some(n) => q.list(n),
        None => q.find().map(|p| vec![p]),
    }
}

#[test]
fn std_reproduces_reference_vectors() {
    harness::run_all(
        "std",
        100,
        true,
        |c| !c.core_only,
        |c| {
            Some(match run_case(c) {
                Ok(ports) => Outcome::Ports(ports),
                Err(e) => Outcome::Error { code: Some(e.code().into()), message: e.to_string() },
            })
        },
    );
}
