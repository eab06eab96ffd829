//! Port specifications and the browser-unsafe lists.

use napi_derive::napi;
use port4me::core::spec::{parse_list, Expansions};
use port4me::core::unsafe_ports;

use crate::errors::guard;

/// The ports of a specification such as `"2000-2009, 4321 {chrome}"`, in
/// order, each once. Tokens expand to the built-in lists (not the
/// `PORT4ME_EXCLUDE_UNSAFE_*` overrides).
#[napi(js_name = "parsePorts")]
pub fn parse_ports(spec: String) -> napi::Result<Vec<u32>, String> {
    guard(|| {
        Ok(parse_list(&spec, &Expansions::DEFAULT, "spec")
            .map_err(port4me::Error::from)?
            .into_iter()
            .map(u32::from)
            .collect())
    })
}

/// The browser-unsafe port lists.
#[napi(object)]
pub struct UnsafePorts {
    /// Chrome's blocked ports.
    pub chrome: Vec<u32>,
    /// Firefox's blocked ports.
    pub firefox: Vec<u32>,
}

/// The lists port4me excludes by default.
#[napi(js_name = "unsafePortLists")]
pub fn unsafe_port_lists() -> UnsafePorts {
    UnsafePorts {
        chrome: unsafe_ports::CHROME.iter().map(|&p| u32::from(p)).collect(),
        firefox: unsafe_ports::FIREFOX.iter().map(|&p| u32::from(p)).collect(),
    }
}
