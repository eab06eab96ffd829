//! Systems other than Linux, macOS and Windows: the holders of a port are
//! unknown.

use std::collections::BTreeMap;

use port4me::Protocol;

use crate::error::{Error, Result};
use crate::model::Holder;

pub(crate) fn holders(_ports: &[u16], _protocol: Protocol) -> Result<BTreeMap<u16, Vec<Holder>>> {
    Err(Error::Unsupported)
}

/// BSD-derived systems reserve the ports below 1024.
pub(crate) fn unprivileged_port_start() -> u16 {
    1024
}

/// Nothing is listed here at all ([`Error::Unsupported`]).
pub(crate) fn sees_every_socket() -> bool {
    true
}
