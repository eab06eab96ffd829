//! Sentences about busy ports, for error messages.

use port4me::Protocol;

use crate::model::{Holder, ProcessAccess};

/// The holder that best explains why a port is busy: a server socket
/// (listening TCP, bound UDP) with a visible process, then any server socket,
/// then any socket with a visible process, then the first.
pub(crate) fn main_holder(holders: &[Holder]) -> Option<&Holder> {
    let visible = |h: &&Holder| h.access == ProcessAccess::Visible;
    holders
        .iter()
        .filter(|h| h.state.is_server())
        .find(visible)
        .or_else(|| holders.iter().find(|h| h.state.is_server()))
        .or_else(|| holders.iter().find(visible))
        .or_else(|| holders.first())
}

/// `5173` for TCP, `5173/udp` for UDP: how ports are named in sentences and
/// tables.
pub fn port_label(port: u16, protocol: Protocol) -> String {
    match protocol {
        Protocol::Udp => format!("{port}/{}", protocol.as_str()),
        _ => port.to_string(),
    }
}

/// `"5173 is in use by node (pid 4242, alice): vite --port 5173"`, from
/// already known holders; `None` when there are none.
pub fn describe_holders(port: u16, protocol: Protocol, holders: &[Holder]) -> Option<String> {
    let h = main_holder(holders)?;
    Some(format!("{} is in use by {}", port_label(port, protocol), h.describe()))
}

/// A sentence naming what holds `port`, for "port is taken" errors:
/// `"5173 is in use by node (pid 4242, alice): vite --port 5173"`.
///
/// On Windows, a port in an excluded range is not in use by anyone: `"5173
/// is not in use but cannot be bound: Windows reserves 5173-5272/tcp
/// (excluded port range)"`. On macOS, where other users' sockets cannot be
/// listed without root, a busy port with nothing visible on it is `"5000 is
/// in use by a process you may not inspect"`.
///
/// `None` when nothing visible holds the port (it may still be unusable, for
/// example when it is privileged), when the port is 0 (an invalid port), and
/// on systems where holders cannot be found.
pub fn describe_busy(port: u16, protocol: Protocol) -> Option<String> {
    let holders = crate::who_holds(port as u32, protocol).ok()?;
    if holders.is_empty() {
        if !crate::sys::sees_every_socket() {
            // macOS lists only this user's sockets (unless run as root).
            return Some(format!("{} is in use by a process you may not inspect", port_label(port, protocol)));
        }
        let range = crate::excluded_port_range(port, protocol)?;
        return Some(format!("{} is not in use but cannot be bound: {range}", port_label(port, protocol)));
    }
    describe_holders(port, protocol, &holders)
}
