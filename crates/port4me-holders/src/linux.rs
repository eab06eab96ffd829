//! Linux: sockets from `/proc/net/{tcp,tcp6,udp,udp6}` (through the `procfs`
//! crate), mapped to processes by scanning `/proc/*/fd` for their inodes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use port4me::Protocol;
use procfs::net::{TcpState, UdpState};
use procfs::ProcError;

use crate::error::{Error, Result};
use crate::model::{Holder, ProcessAccess, ProcessInfo, SocketState};
use crate::users::user_name;

/// One socket table row, reduced to what we need.
struct Row {
    state: SocketState,
    local: SocketAddr,
    remote: SocketAddr,
    uid: u32,
    inode: u64,
}

fn table_error(what: &str, e: ProcError) -> Error {
    Error::SocketTable { what: what.to_string(), message: e.to_string() }
}

/// Rows of one table; a missing table (IPv6 turned off) is empty.
fn rows_of<T>(what: &str, read: fn() -> procfs::ProcResult<Vec<T>>, f: impl Fn(T) -> Row) -> Result<Vec<Row>> {
    match read() {
        Ok(v) => Ok(v.into_iter().map(f).collect()),
        Err(ProcError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(table_error(what, e)),
    }
}

fn tcp_state(s: &TcpState) -> SocketState {
    match s {
        TcpState::Established => SocketState::Established,
        TcpState::SynSent => SocketState::SynSent,
        TcpState::SynRecv => SocketState::SynRecv,
        TcpState::FinWait1 => SocketState::FinWait1,
        TcpState::FinWait2 => SocketState::FinWait2,
        TcpState::TimeWait => SocketState::TimeWait,
        TcpState::Close => SocketState::Close,
        TcpState::CloseWait => SocketState::CloseWait,
        TcpState::LastAck => SocketState::LastAck,
        TcpState::Listen => SocketState::Listen,
        TcpState::Closing => SocketState::Closing,
        TcpState::NewSynRecv => SocketState::NewSynRecv,
    }
}

fn read_rows(protocol: Protocol) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    match protocol {
        Protocol::Udp => {
            let conv = |e: procfs::net::UdpNetEntry| Row {
                state: match e.state {
                    UdpState::Established => SocketState::UdpConnected,
                    UdpState::Close => SocketState::UdpBound,
                },
                local: e.local_address,
                remote: e.remote_address,
                uid: e.uid,
                inode: e.inode,
            };
            rows.extend(rows_of("/proc/net/udp", procfs::net::udp, conv)?);
            rows.extend(rows_of("/proc/net/udp6", procfs::net::udp6, conv)?);
        }
        Protocol::Tcp => {
            let conv = |e: procfs::net::TcpNetEntry| Row {
                state: tcp_state(&e.state),
                local: e.local_address,
                remote: e.remote_address,
                uid: e.uid,
                inode: e.inode,
            };
            rows.extend(rows_of("/proc/net/tcp", procfs::net::tcp, conv)?);
            rows.extend(rows_of("/proc/net/tcp6", procfs::net::tcp6, conv)?);
        }
    }
    Ok(rows)
}

/// What a scan of `/proc/*/fd` found.
#[derive(Default)]
struct ProcScan {
    /// inode -> pids that have it open.
    owners: HashMap<u64, BTreeSet<u32>>,
    /// Some process could not be inspected (permission denied).
    unreadable: bool,
}

/// Every process's open sockets among `wanted`, from `/proc/*/fd`.
///
/// Read with `std::fs` rather than through `procfs`, which opens each
/// descriptor (`O_PATH`) before reading its link and closes it after:
/// three system calls a descriptor where one `readlink` does, and this scan
/// is most of what `port4me who` costs on a busy machine.
fn scan_processes(wanted: &BTreeSet<u64>) -> ProcScan {
    let mut scan = ProcScan::default();
    if wanted.is_empty() {
        return scan;
    }
    let Ok(all) = std::fs::read_dir("/proc") else {
        scan.unreadable = true;
        return scan;
    };
    let mut path = String::with_capacity(32);
    for entry in all.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        path.clear();
        path.push_str("/proc/");
        path.push_str(&pid.to_string());
        path.push_str("/fd/");
        let fds = match std::fs::read_dir(&path) {
            Ok(fds) => fds,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                scan.unreadable = true;
                continue;
            }
            Err(_) => continue, // exited meanwhile
        };
        let dir_len = path.len();
        for fd in fds.flatten() {
            path.truncate(dir_len);
            path.push_str(&fd.file_name().to_string_lossy());
            let Ok(target) = std::fs::read_link(&path) else { continue };
            let inode =
                target.to_str().and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u64>().ok());
            if let Some(inode) = inode.filter(|i| wanted.contains(i)) {
                scan.owners.entry(inode).or_default().insert(pid);
            }
        }
    }
    scan
}

fn unspecified(a: &SocketAddr) -> bool {
    a.port() == 0 && a.ip().is_unspecified()
}

/// The holders of each of `ports`.
pub(crate) fn holders(ports: &[u16], protocol: Protocol) -> Result<BTreeMap<u16, Vec<Holder>>> {
    let wanted_ports: BTreeSet<u16> = ports.iter().copied().collect();
    let rows: Vec<Row> = read_rows(protocol)?.into_iter().filter(|r| wanted_ports.contains(&r.local.port())).collect();
    let inodes: BTreeSet<u64> = rows.iter().map(|r| r.inode).filter(|&i| i != 0).collect();
    let scan = scan_processes(&inodes);

    let mut infos: HashMap<u32, Option<ProcessInfo>> = HashMap::new();
    let mut out: BTreeMap<u16, Vec<Holder>> = wanted_ports.iter().map(|&p| (p, Vec::new())).collect();
    for r in rows {
        let pids = scan.owners.get(&r.inode);
        let processes: Vec<ProcessInfo> = pids
            .into_iter()
            .flatten()
            .filter_map(|&pid| infos.entry(pid).or_insert_with(|| crate::process_info(pid)).clone())
            .collect();
        // The kernel reports uid 0 for sockets that no process holds.
        let uid = if r.inode == 0 { None } else { Some(r.uid) };
        let access = if r.inode == 0 {
            ProcessAccess::NoProcess
        } else if !processes.is_empty() {
            ProcessAccess::Visible
        } else if scan.unreadable {
            ProcessAccess::Hidden
        } else {
            ProcessAccess::NotFound
        };
        let holder = Holder {
            protocol,
            state: r.state,
            local_address: r.local,
            remote_address: if unspecified(&r.remote) { None } else { Some(r.remote) },
            inode: r.inode,
            uid,
            user: uid.map(user_name),
            access,
            processes,
            description: String::new(),
        }
        .described();
        out.entry(r.local.port()).or_default().push(holder);
    }
    for v in out.values_mut() {
        v.sort_by_key(|h| (h.state, h.local_address, h.remote_address, h.inode));
    }
    Ok(out)
}

/// The lowest port a user without `CAP_NET_BIND_SERVICE` may bind.
pub(crate) fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

/// Every socket is listed, another user's too (with its owner's uid).
pub(crate) fn sees_every_socket() -> bool {
    true
}
