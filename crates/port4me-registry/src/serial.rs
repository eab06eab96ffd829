//! Pieces of the serde form of the result types (feature `serde`) that a
//! derive cannot express: the protocol, a type of the `port4me` crate,
//! as `"tcp"` or `"udp"`, a lease's owner as its pid, and a process start
//! time as a signed integer.

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

/// A process start time as a signed integer: the same digits in JSON, and a
/// JS number through napi's serializer, which refuses a `u64` above 32 bits
/// (macOS and Windows start times are microseconds or 100-ns intervals, and
/// Linux clock ticks pass 2^32 after 497 days of uptime at 100 Hz). Every
/// start time fits: the largest, a Windows `FILETIME`, is about 2^57 today.
pub(crate) fn start_time<S: serde::Serializer>(t: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(i64::try_from(*t).unwrap_or(i64::MAX))
}
