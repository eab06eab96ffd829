//! `who_holds`, `status` and `describe_busy` against real sockets held by
//! child processes of the test.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{spawn, NAME, NOBODY};
use port4me_holders::{
    current_uid, describe_busy, status, status_with, user_name, who_holds, Availability, Holder, NoRegistry,
    ProcessAccess, Protocol, SocketState, StatusLabel, StatusOptions,
};

/// The holder of `state` whose processes include `pid`.
fn held_by(holders: &[Holder], state: SocketState, pid: u32) -> &Holder {
    holders
        .iter()
        .find(|h| h.state == state && h.processes.iter().any(|p| p.pid == pid))
        .unwrap_or_else(|| panic!("no {state} socket of pid {pid} in {holders:#?}"))
}

fn check_listener(kind: &str, protocol: Protocol, state: SocketState, ip: &str) {
    let helper = spawn(kind, None).expect("start helper");
    let port = helper.port();
    let holders = who_holds(port as u32, protocol).unwrap();
    let h = held_by(&holders, state, helper.pid());
    assert_eq!(h.protocol, protocol);
    assert_eq!(h.local_address.port(), port);
    assert_eq!(h.local_address.ip().to_string(), ip);
    assert_eq!(h.remote_address, None);
    assert_eq!(h.access, ProcessAccess::Visible);
    assert_eq!(h.uid, Some(current_uid()));
    assert_eq!(h.user.as_deref(), Some(user_name(current_uid()).as_str()));
    let p = h.process().unwrap();
    assert_eq!(p.pid, helper.pid());
    assert_eq!(p.name, NAME);
    assert!(p.cmdline.iter().any(|a| a == "helper_main"), "{:?}", p.cmdline);
    assert_eq!(p.uid, Some(current_uid()));
    // The executable and the start time name the very process, as the
    // registry's owner liveness sees it.
    let exe = std::fs::read_link(format!("/proc/{}/exe", helper.pid())).unwrap();
    assert_eq!(p.executable.as_deref(), exe.to_str());
    let started = port4me_process::status(helper.pid());
    assert_eq!(Some(started), p.start_time.map(|start_time| port4me_process::Status::Running { start_time }));
    // The other protocol sees nothing of it.
    let other = if protocol == Protocol::Tcp { Protocol::Udp } else { Protocol::Tcp };
    assert!(who_holds(port as u32, other).unwrap().iter().all(|h| h.processes.iter().all(|p| p.pid != helper.pid())));
}

#[test]
fn tcp_v4_listener() {
    check_listener("tcp4", Protocol::Tcp, SocketState::Listen, "127.0.0.1");
}

#[test]
fn tcp_v6_listener() {
    if !crate::common::has_ipv6() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    check_listener("tcp6", Protocol::Tcp, SocketState::Listen, "::1");
}

#[test]
fn udp_v4_socket() {
    check_listener("udp4", Protocol::Udp, SocketState::UdpBound, "127.0.0.1");
}

#[test]
fn udp_v6_socket() {
    if !crate::common::has_ipv6() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    check_listener("udp6", Protocol::Udp, SocketState::UdpBound, "::1");
}

#[test]
fn established_connections_are_listed_after_the_listener() {
    let helper = spawn("tcp4", None).unwrap();
    let port = helper.port();
    let client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let holders = who_holds(port as u32, Protocol::Tcp).unwrap();
    assert_eq!(holders[0].state, SocketState::Listen, "{holders:#?}");
    // The accepted side sits in the helper's backlog: ESTABLISHED, local
    // port = the listener's, peer = our client.
    let accepted = holders.iter().find(|h| h.state == SocketState::Established).expect("accepted socket");
    assert_eq!(accepted.remote_address, Some(client.local_addr().unwrap()));
}

#[test]
fn a_connection_left_in_time_wait_has_no_process() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let (server, _) = listener.accept().unwrap();
    drop(server); // the server closes first, so the server side ends in TIME_WAIT
    let mut buf = [0u8; 1];
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    drop(client);
    drop(listener);

    let deadline = Instant::now() + Duration::from_secs(3);
    let holders = loop {
        let hs = who_holds(port as u32, Protocol::Tcp).unwrap();
        if hs.iter().any(|h| h.state == SocketState::TimeWait) || Instant::now() > deadline {
            break hs;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let tw = holders.iter().find(|h| h.state == SocketState::TimeWait).expect("a TIME_WAIT socket");
    assert_eq!(tw.local_address, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    assert_eq!((tw.inode, tw.uid, tw.access), (0, None, ProcessAccess::NoProcess));
    assert!(tw.processes.is_empty());
    assert!(tw.describe().contains("TIME_WAIT"), "{}", tw.describe());
    assert_eq!(tw.description, tw.describe());
    let msg = describe_busy(port, Protocol::Tcp).expect("a description");
    assert!(msg.starts_with(&format!("{port} is in use by no process")), "{msg}");
}

#[test]
fn describe_busy_names_the_holder() {
    let helper = spawn("tcp4", None).unwrap();
    let port = helper.port();
    let msg = describe_busy(port, Protocol::Tcp).unwrap();
    let expected = format!("{port} is in use by {NAME} (pid {}, {}): ", helper.pid(), user_name(current_uid()));
    assert!(msg.starts_with(&expected), "{msg}\nexpected prefix: {expected}");
    assert!(msg.contains("helper_main"), "{msg}");
    // Nothing on a free port, and nothing on port 0.
    let free = crate::common::free_port();
    assert_eq!(describe_busy(free, Protocol::Tcp), None);
    assert_eq!(describe_busy(0, Protocol::Tcp), None);
}

#[test]
fn status_free_occupied_unsafe() {
    let helper = spawn("tcp4", None).unwrap();
    let busy = helper.port() as u32;
    let free = crate::common::free_port() as u32;
    let st = status_with(&[busy, free], &StatusOptions::default(), &NoRegistry).unwrap();
    assert_eq!(st[0].port as u32, busy);
    assert_eq!(st[0].availability, Availability::Occupied);
    assert_eq!(st[0].label, StatusLabel::Occupied);
    held_by(st[0].holders.as_ref().unwrap(), SocketState::Listen, helper.pid());
    assert!(st[0].describe().starts_with(&format!("in use by {NAME} (pid {}", helper.pid())), "{}", st[0].describe());
    assert_eq!(st[0].description, st[0].describe());
    assert_eq!(st[1].availability, Availability::Free);
    assert_eq!(st[1].holders.as_deref(), Some(&[][..]));
    assert_eq!(st[1].labels, [StatusLabel::Free]);

    // 10080 (Amanda) is refused by Chrome whatever else is true of it.
    let s = status(10080, &NoRegistry).unwrap();
    assert!(s.labels.contains(&StatusLabel::Unsafe), "{:?}", s.labels);
    assert_eq!(s.unsafe_for, [port4me_holders::Browser::Chrome]);
    assert!(s.describe().contains("unsafe (blocked by chrome)"), "{}", s.describe());
}

#[test]
fn privileged_port_is_blocked_for_other_users() {
    // Port 1 (tcpmux): nothing listens there, and only root may bind it
    // (unless the machine lets everyone bind low ports).
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").unwrap_or_default();
    if start.trim().parse::<u32>().unwrap_or(1024) <= 1 {
        eprintln!("skipped: every user may bind port 1 here (ip_unprivileged_port_start = {})", start.trim());
        return;
    }
    let blocked = if crate::common::is_root() {
        match spawn("status:1", Some(NOBODY)) {
            Ok(h) => h.answer.clone(),
            Err(e) => {
                eprintln!("skipped: cannot run a helper as nobody ({e})");
                return;
            }
        }
    } else {
        let s = status(1, &NoRegistry).unwrap();
        format!("{}|{}", s.label, s.blocked_reason.unwrap_or_default())
    };
    if blocked.starts_with("occupied") {
        eprintln!("skipped: something listens on port 1 here");
        return;
    }
    assert!(blocked.starts_with("blocked|port 1 is privileged"), "{blocked}");
}

#[test]
fn sockets_of_processes_we_may_not_inspect_are_reported_with_their_owner() {
    if !crate::common::is_root() {
        eprintln!("skipped: needs root to look from another user's side");
        return;
    }
    // Our listener, looked at by a helper running as nobody.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let helper = match spawn(&format!("who:{port}"), Some(NOBODY)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("skipped: cannot run a helper as nobody ({e})");
            return;
        }
    };
    assert_eq!(helper.answer, "Hidden|root|0");
}

#[test]
fn bad_ports_are_errors() {
    for p in [0u32, 65536, 70000] {
        let e = who_holds(p, Protocol::Tcp).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_PORT");
        assert_eq!(e.to_string(), format!("invalid port in port: {p} is outside 1-65535"));
        assert_eq!(status(p, &NoRegistry).unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
    }
}

#[cfg(feature = "serde")]
#[test]
fn json_shape() {
    let helper = spawn("tcp4", None).unwrap();
    let port = helper.port() as u32;
    let s = status(port, &NoRegistry).unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["availability"], "occupied");
    assert_eq!(v["protocol"], "tcp");
    let h = &v["holders"][0];
    assert_eq!(h["state"], "LISTEN");
    assert_eq!(h["localAddress"], format!("127.0.0.1:{port}"));
    assert_eq!(h["access"], "visible");
    assert_eq!(h["processes"][0]["pid"], helper.pid());
    assert_eq!(h["processes"][0]["name"], NAME);
    // What people read, also in the JSON (the CLI's and the Node API's).
    assert_eq!(h["description"], s.holders.as_ref().unwrap()[0].describe());
    assert_eq!((&v["label"], &v["labels"]), (&"occupied".into(), &serde_json::json!(["occupied"])));
    assert_eq!(v["description"], s.describe());
}
