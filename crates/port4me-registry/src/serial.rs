//! Pieces of the serde form of the result types (feature `serde`) that a
//! derive cannot express: the protocol, a type of the `port4me` crate,
//! as `"tcp"` or `"udp"`, and a lease's owner as its pid.

use crate::{ProcessId, Protocol};

/// A protocol as `"tcp"` or `"udp"` (as the CLI and `Display` show it).
pub(crate) fn protocol<S: serde::Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

/// An optional owner process as its pid, or `null`.
pub(crate) fn owner_pid<S: serde::Serializer>(owner: &Option<ProcessId>, s: S) -> Result<S::Ok, S::Error> {
    match owner {
        Some(p) => s.serialize_some(&p.pid),
        None => s.serialize_none(),
    }
}
