//! Socket tables that name each socket's owner pid (Windows' TCP and UDP
//! tables, macOS's per-process socket list), joined with the processes
//! behind those pids. The join is the same on both systems, and it is
//! tested here on every system with recorded answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use port4me::Protocol;

use crate::model::{Holder, ProcessAccess, ProcessInfo, SocketState};

/// One socket as the system lists it, with its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub state: SocketState,
    pub local: SocketAddr,
    pub remote: Option<SocketAddr>,
    /// The owner pid; 0 when the system names none.
    pub pid: u32,
    /// Names the socket itself where the system tells (macOS: the kernel's
    /// socket address, the same in every process that shares it after a
    /// `fork`); 0 where each row is its own socket (Windows).
    pub socket: u64,
}

/// One socket: the system's name for it, its addresses and state, and (for
/// systems that name none) the row it came from.
type SocketKey = (u64, SocketAddr, Option<SocketAddr>, SocketState, usize);

/// The holders of each of `ports`, from `rows` (other ports are left out)
/// and `lookup` (the process behind a pid, `None` when it is gone).
pub(crate) fn join(
    rows: Vec<Row>,
    protocol: Protocol,
    ports: &[u16],
    lookup: &mut dyn FnMut(u32) -> Option<port4me_process::Process>,
) -> BTreeMap<u16, Vec<Holder>> {
    let mut out: BTreeMap<u16, Vec<Holder>> = ports.iter().map(|&p| (p, Vec::new())).collect();
    // Sockets shared by several processes become one holder.
    let mut sockets: BTreeMap<SocketKey, Vec<u32>> = BTreeMap::new();
    for (i, r) in rows.into_iter().enumerate() {
        if !out.contains_key(&r.local.port()) {
            continue;
        }
        let key = (r.socket, r.local, r.remote, r.state, if r.socket == 0 { i } else { 0 });
        let pids = sockets.entry(key).or_default();
        if !pids.contains(&r.pid) {
            pids.push(r.pid);
        }
    }
    let mut seen: BTreeMap<u32, Option<port4me_process::Process>> = BTreeMap::new();
    for ((socket, local, remote, state, _), mut pids) in sockets {
        pids.sort_unstable();
        let mut found: Vec<port4me_process::Process> = Vec::new();
        let mut any_gone = false;
        for &pid in pids.iter().filter(|&&p| p != 0) {
            match seen.entry(pid).or_insert_with(|| lookup(pid)) {
                Some(p) => found.push(p.clone()),
                None => any_gone = true,
            }
        }
        let access = if pids.iter().all(|&p| p == 0) {
            // Windows lists TIME_WAIT with pid 0: the kernel keeps it alone.
            if state == SocketState::TimeWait {
                ProcessAccess::NoProcess
            } else {
                ProcessAccess::Unreported
            }
        } else if found.is_empty() && any_gone {
            ProcessAccess::NotFound
        } else if found.iter().any(|p| !p.inspectable) {
            ProcessAccess::Hidden
        } else {
            ProcessAccess::Visible
        };
        let uid = found.iter().find_map(|p| p.uid);
        let user = found.iter().find_map(|p| p.user.clone());
        let holder = Holder {
            protocol,
            state,
            local_address: local,
            remote_address: remote,
            inode: socket,
            uid,
            user,
            access,
            processes: found.into_iter().map(ProcessInfo::from_process).collect(),
            description: String::new(),
        }
        .described();
        out.entry(local.port()).or_default().push(holder);
    }
    for v in out.values_mut() {
        v.sort_by_key(|h| (h.state, h.local_address, h.remote_address, h.inode));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use port4me_process::Process;

    fn row(state: SocketState, local: &str, remote: Option<&str>, pid: u32) -> Row {
        Row { state, local: local.parse().unwrap(), remote: remote.map(|r| r.parse().unwrap()), pid, socket: 0 }
    }

    /// Rows as `netstat -ano` showed them on Windows 11 (23H2) with a Vite
    /// dev server on 5173 (node.exe, pid 11820), a browser connected to it,
    /// a connection in TIME_WAIT, and System (pid 4) on 445.
    fn recorded() -> Vec<Row> {
        use SocketState::*;
        vec![
            row(Listen, "0.0.0.0:445", None, 4),
            row(Listen, "127.0.0.1:5173", None, 11820),
            row(Listen, "[::1]:5173", None, 11820),
            row(Established, "127.0.0.1:5173", Some("127.0.0.1:61544"), 11820),
            row(Established, "127.0.0.1:61544", Some("127.0.0.1:5173"), 9036),
            row(TimeWait, "127.0.0.1:5173", Some("127.0.0.1:61530"), 0),
            row(Listen, "0.0.0.0:135", None, 1044),
            row(Listen, "0.0.0.0:5040", None, 7312),
        ]
    }

    fn lookup(pid: u32) -> Option<Process> {
        match pid {
            11820 => Some(Process {
                pid,
                name: "node.exe".into(),
                cmdline: vec!["node".into(), "node_modules/vite/bin/vite.js".into()],
                executable: Some(r"C:\Program Files\nodejs\node.exe".into()),
                start_time: 133_784_208_000_000_000,
                uid: Some(1001),
                ruid: Some(1001),
                user: Some("alice".into()),
                inspectable: true,
                service: false,
            }),
            4 => Some(Process { pid, name: "System".into(), service: true, ..Process::default() }),
            1044 => Some(Process { pid, name: "svchost.exe".into(), service: true, ..Process::default() }),
            _ => None,
        }
    }

    #[test]
    fn recorded_windows_rows_are_joined_with_their_processes() {
        let mut asked = Vec::new();
        let mut look = |pid| {
            asked.push(pid);
            lookup(pid)
        };
        let map = join(recorded(), Protocol::Tcp, &[5173, 445, 135, 5040, 8080], &mut look);
        asked.sort_unstable();
        assert_eq!(asked, [4, 1044, 7312, 11820], "each pid once, never pid 0");
        let h = &map[&5173];
        let summary: Vec<(String, String, ProcessAccess)> =
            h.iter().map(|h| (h.state.to_string(), h.local_address.to_string(), h.access)).collect();
        assert_eq!(
            summary,
            [
                ("LISTEN".into(), "127.0.0.1:5173".into(), ProcessAccess::Visible),
                ("LISTEN".into(), "[::1]:5173".into(), ProcessAccess::Visible),
                ("ESTABLISHED".into(), "127.0.0.1:5173".into(), ProcessAccess::Visible),
                ("TIME_WAIT".into(), "127.0.0.1:5173".into(), ProcessAccess::NoProcess),
            ]
        );
        assert_eq!(h[0].description, r"node.exe (pid 11820, alice): node node_modules/vite/bin/vite.js", "{:?}", h[0]);
        assert_eq!(h[0].processes[0].start_time, Some(133_784_208_000_000_000));
        assert_eq!(h[0].uid, Some(1001));
        assert_eq!(map[&445][0].access, ProcessAccess::Hidden);
        assert_eq!(map[&445][0].description, "System (pid 4), which you may not inspect");
        assert_eq!(map[&135][0].description, "svchost.exe (pid 1044), which you may not inspect");
        assert_eq!(map[&5040][0].access, ProcessAccess::NotFound, "pid 7312 exited meanwhile");
        assert!(map[&8080].is_empty());
        assert_eq!(
            crate::describe_holders(5173, Protocol::Tcp, h).unwrap(),
            "5173 is in use by node.exe (pid 11820, alice): node node_modules/vite/bin/vite.js"
        );
    }

    /// Wine fills the tables but names owner pid 0 for every socket.
    #[test]
    fn owner_pid_zero_is_not_reported_not_free_and_not_an_error() {
        use SocketState::*;
        let rows = vec![
            row(Listen, "127.0.0.1:5173", None, 0),
            row(Listen, "[::1]:5173", None, 0),
            row(UdpBound, "0.0.0.0:5173", None, 0),
        ];
        let map = join(rows, Protocol::Tcp, &[5173], &mut |_| panic!("pid 0 is never looked up"));
        let h = &map[&5173];
        assert_eq!(h.len(), 3);
        assert!(h.iter().all(|h| h.access == ProcessAccess::Unreported && h.processes.is_empty()));
        assert_eq!(h[0].description, "a process not reported by the system");
        assert_eq!(
            crate::describe_holders(5173, Protocol::Tcp, h).unwrap(),
            "5173 is in use by a process not reported by the system"
        );
    }

    /// macOS: after a fork both processes list the same socket.
    #[test]
    fn a_socket_shared_by_two_processes_is_one_holder() {
        let mk = |pid| Row { socket: 0xffff_ff80_1234_5678, ..row(SocketState::Listen, "[::]:3000", None, pid) };
        let mut p = |pid| Some(Process { pid, name: "node".into(), inspectable: true, ..Process::default() });
        let map = join(vec![mk(501), mk(500)], Protocol::Tcp, &[3000], &mut p);
        let h = &map[&3000];
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].processes.iter().map(|p| p.pid).collect::<Vec<_>>(), [500, 501]);
        assert!(h[0].description.ends_with("(and 1 more process(es))"), "{}", h[0].description);
    }

    #[test]
    fn the_airplay_receiver_gets_a_hint() {
        let mut p = |pid| Some(Process { pid, name: "ControlCenter".into(), inspectable: true, ..Process::default() });
        let map = join(vec![row(SocketState::Listen, "[::]:5000", None, 612)], Protocol::Tcp, &[5000], &mut p);
        let d = &map[&5000][0].description;
        assert!(d.starts_with("ControlCenter (pid 612)") && d.contains("AirPlay Receiver"), "{d}");
        let map = join(vec![row(SocketState::Listen, "[::]:5001", None, 612)], Protocol::Tcp, &[5001], &mut p);
        assert!(!map[&5001][0].description.contains("AirPlay"));
    }
}
