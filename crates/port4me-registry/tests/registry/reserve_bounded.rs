//! `reserve` searches outside the write lock and stops once every distinct
//! candidate has been tried.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use port4me_registry::*;

/// Listeners on `n` ports the system picks, and those ports.
fn busy_ports(n: usize) -> (Vec<TcpListener>, Vec<u16>) {
    let listeners: Vec<_> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let ports = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
    (listeners, ports)
}

fn spec(ports: &[u16]) -> String {
    ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

/// A query over exactly `ports` (no unsafe list in the way).
fn over(ports: &[u16]) -> port4me::Port4me {
    port4me::Port4me::with_env(port4me::Env::from_pairs([("PORT4ME_EXCLUDE_UNSAFE", "")]))
        .user("alice")
        .include(spec(ports))
}

/// A query that reads no environment.
fn plain(user: &str) -> port4me::Port4me {
    port4me::Port4me::with_env(port4me::Env::from_pairs(Vec::<(String, String)>::new())).user(user)
}

fn impatient(path: &std::path::Path) -> Registry {
    Registry::open_with(path, Config { busy_timeout: Duration::from_millis(300), ..Config::default() }).unwrap()
}

#[test]
fn reserve_over_busy_ports_fails_at_once_and_leaves_the_registry_usable() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let other = impatient(&path);
    for n in 1..=3 {
        let (_listeners, ports) = busy_ports(n);
        let q = over(&ports);
        let (tx, rx) = mpsc::channel::<()>();
        // Another client writes over and over while the reservation runs;
        // each write may wait 300 ms for the lock at most.
        let other = &other;
        let writer = std::thread::scope(|s| {
            let w = s.spawn(move || {
                let mut writes = 0;
                loop {
                    other.modules().allocate(1, &format!("m{n}"), Protocol::Tcp)?;
                    writes += 1;
                    if rx.try_recv().is_ok() {
                        return Ok::<_, Error>(writes);
                    }
                }
            });
            let start = Instant::now();
            let e = reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap_err();
            let took = start.elapsed();
            let _ = tx.send(()); // The writer may have stopped on an error, checked below.
            assert_eq!(e.code(), "ERR_PORT4ME_NO_FREE_PORT", "{e}");
            let msg = e.to_string();
            let want =
                if n == 1 { "the only allowed port".to_string() } else { format!("all {n} allowed ports are in use") };
            assert!(msg.contains(&want), "{msg}");
            assert!(ports.iter().all(|p| msg.contains(&p.to_string())), "{msg}");
            assert!(took < Duration::from_secs(2), "{n} busy ports took {took:?}");
            w.join().unwrap()
        });
        assert!(writer.is_ok(), "a concurrent write failed: {writer:?}");
    }
    assert!(reg.leases().list().unwrap().is_empty());
    assert!(violations(&path).is_empty());
}

#[test]
fn the_checks_run_without_the_write_lock() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let other = impatient(&path);
    let q = plain("alice").include("2000-2002");
    let mut checked = Vec::new();
    let outcome = std::thread::scope(|s| {
        // Created here, so that `ask` is dropped (ending the writer) before
        // the scope waits for the writer.
        let (ask, asked) = mpsc::channel::<u16>();
        let (answer, answered) = mpsc::channel::<Result<PortRange>>();
        // Each check of the reservation waits until another client has made
        // a write (which may wait 300 ms for the lock).
        s.spawn(move || {
            for port in asked {
                answer.send(other.modules().allocate(1, &format!("m{port}"), Protocol::Tcp)).unwrap();
            }
        });
        reg.leases().reserve_checked(&q, ReserveOptions::default(), |port| {
            checked.push(port);
            ask.send(port).unwrap();
            let write = answered.recv_timeout(Duration::from_secs(10)).expect("the writer answers");
            assert!(write.is_ok(), "a write during the check of {port} failed: {write:?}");
            Ok(false)
        })
    });
    let e = outcome.unwrap_err();
    assert!(e.to_string().contains("all 3 allowed ports are in use"), "{e}");
    checked.sort_unstable();
    assert_eq!(checked, [2000, 2001, 2002], "each port checked once");
    assert_eq!(reg.modules().list(None).unwrap().len(), 3);
}

#[test]
fn a_port_taken_between_check_and_lease_is_skipped() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let other = Registry::open(&path).unwrap();
    let q = plain("alice").include("2000-2002");
    let order = q.list(3).unwrap();
    let mut checked = Vec::new();
    let lease = reg
        .leases()
        .reserve_checked(&q, ReserveOptions::default(), |port| {
            checked.push(port);
            if checked.len() == 1 {
                // Someone else leases the port just found, before we do.
                let mine =
                    port4me::Port4me::with_env(port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]))
                        .user("bob")
                        .include(port.to_string());
                assert_eq!(other.leases().reserve(&mine, Duration::from_secs(60)).map(|l| l.port).unwrap(), port);
            }
            Ok(true)
        })
        .unwrap();
    assert_eq!(checked, order[..2]);
    assert_eq!(lease.port, order[1], "the next candidate, not the one taken");
    let mut leased: Vec<u16> = reg.leases().list().unwrap().iter().map(|l| l.port).collect();
    leased.sort_unstable();
    let mut want = order[..2].to_vec();
    want.sort_unstable();
    assert_eq!(leased, want);
    assert!(violations(&path).is_empty());
}
