//! Systems other than Linux: the holders of a port are unknown.

use std::collections::BTreeMap;

use port4me::Protocol;

use crate::error::{Error, Result};
use crate::model::{Holder, ProcessInfo};

pub(crate) fn holders(_ports: &[u16], _protocol: Protocol) -> Result<BTreeMap<u16, Vec<Holder>>> {
    Err(Error::Unsupported)
}

pub(crate) fn process_info(_pid: u32) -> Option<ProcessInfo> {
    None
}

/// Windows has no privileged ports; BSD-derived systems reserve those below 1024.
pub(crate) fn unprivileged_port_start() -> u16 {
    if cfg!(windows) {
        0
    } else {
        1024
    }
}
