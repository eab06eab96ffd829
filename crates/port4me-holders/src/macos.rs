//! macOS: every process's socket descriptors through libproc
//! (`proc_listpids`, `proc_pidinfo(PROC_PIDLISTFDS)`,
//! `proc_pidfdinfo(PROC_PIDFDSOCKETINFO)`), as `lsof` reads them, without
//! running it. Another user's descriptors cannot be listed without root, so
//! a port that is busy with nothing visible on it counts as occupied by
//! something this user may not see, never as blocked.

use std::collections::BTreeMap;

use port4me::Protocol;

use crate::error::Result;
use crate::mac_socket::{parse_socket_fdinfo, SOCKET_FDINFO_SIZE};
use crate::model::Holder;
use crate::table::{join, Row};

const PROC_ALL_PIDS: u32 = 1;
const PROC_PIDFDSOCKETINFO: libc::c_int = 3;

fn all_pids() -> Vec<libc::pid_t> {
    // SAFETY: a null buffer asks for the size needed.
    let n = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, std::ptr::null_mut(), 0) };
    let Ok(n) = usize::try_from(n) else { return Vec::new() };
    // Room for processes started meanwhile.
    let mut pids = vec![0 as libc::pid_t; n / size_of::<libc::pid_t>() + 64];
    let bytes = libc::c_int::try_from(pids.len() * size_of::<libc::pid_t>()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the buffer is valid for `bytes` bytes.
    let got = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, pids.as_mut_ptr().cast(), bytes) };
    pids.truncate(usize::try_from(got).unwrap_or(0) / size_of::<libc::pid_t>());
    pids.retain(|&p| p > 0);
    pids
}

/// The socket descriptors of `pid`; `None` when they may not be listed.
fn socket_fds(pid: libc::pid_t) -> Option<Vec<i32>> {
    let entry = size_of::<libc::proc_fdinfo>();
    // SAFETY: a null buffer asks for the size needed.
    let n = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, std::ptr::null_mut(), 0) };
    if n <= 0 {
        return None;
    }
    let mut fds: Vec<libc::proc_fdinfo> = Vec::with_capacity(n as usize / entry + 16);
    let bytes = libc::c_int::try_from(fds.capacity() * entry).ok()?;
    // SAFETY: the buffer has room for `bytes` bytes of proc_fdinfo.
    let got = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, fds.as_mut_ptr().cast(), bytes) };
    let got = usize::try_from(got).ok()? / entry;
    // SAFETY: the call wrote `got` whole entries.
    unsafe { fds.set_len(got.min(fds.capacity())) };
    Some(fds.iter().filter(|f| f.proc_fdtype == libc::PROX_FDTYPE_SOCKET as u32).map(|f| f.proc_fd).collect())
}

/// The sockets on `ports` of every process whose descriptors may be listed.
fn rows(protocol: Protocol, ports: &[u16]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut buf = vec![0u8; SOCKET_FDINFO_SIZE + 256];
    for pid in all_pids() {
        let Some(fds) = socket_fds(pid) else { continue };
        for fd in fds {
            let size = buf.len() as libc::c_int;
            // SAFETY: the buffer is valid for `size` bytes.
            let n = unsafe { libc::proc_pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO, buf.as_mut_ptr().cast(), size) };
            let Ok(n) = usize::try_from(n) else { continue };
            let Some((state, local, remote, socket)) = parse_socket_fdinfo(&buf[..n.min(buf.len())], protocol) else {
                continue;
            };
            if ports.contains(&local.port()) {
                rows.push(Row { state, local, remote, pid: pid as u32, socket });
            }
        }
    }
    rows
}

pub(crate) fn holders(ports: &[u16], protocol: Protocol) -> Result<BTreeMap<u16, Vec<Holder>>> {
    let rows = rows(protocol, ports);
    Ok(join(rows, protocol, ports, &mut port4me_process::lookup))
}

/// Since macOS 10.14 any user may bind any port.
pub(crate) fn unprivileged_port_start() -> u16 {
    0
}

/// Only root may list other users' descriptors.
pub(crate) fn sees_every_socket() -> bool {
    crate::users::current_uid() == 0
}
