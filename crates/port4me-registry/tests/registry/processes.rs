//! Owner processes: reclaiming the registrations of processes that exited,
//! not mistaking a reused pid for the owner, and eight processes that
//! reserve `port4me("vite")` at the same instant.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use crate::common::*;
use port4me_registry::{ProcessId, Protocol, Registry};

fn register_in_child(path: &std::path::Path, service: &str, owner: &str) -> (Child, Vec<String>) {
    let mut child = Command::new(STRESS)
        .args(["register", "--db", path.to_str().unwrap(), "--service", service, "--owner", owner])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Reading to EOF means the child has exited (it may still be a zombie).
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    assert_eq!(fields[0], "REGISTERED", "{line}");
    (child, fields)
}

fn rows(path: &std::path::Path) -> i64 {
    raw(path).query_row("SELECT count(*) FROM registrations", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_registering_child_that_exits_is_reclaimed() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let (mut child, f) = register_in_child(&path, "web", "current");
    child.wait().unwrap();
    assert_eq!(f[1], "web");
    assert_eq!(f[3], child.id().to_string(), "the child itself is the owner");
    assert_eq!(rows(&path), 1, "stored until the next operation");
    // Lazily, by the next operation of anyone: the row is deleted, not just hidden.
    assert!(reg.registrations().list().unwrap().is_empty());
    assert_eq!(rows(&path), 0);
    // Its port is handed out again.
    assert_eq!(
        reg.registrations().register("web", port4me_registry::RegisterOptions::default()).unwrap().port.to_string(),
        f[2]
    );

    // Explicitly by gc, which reports it.
    let (mut child, _) = register_in_child(&path, "api", "current");
    child.wait().unwrap();
    assert_eq!(reg.gc().unwrap().registrations, 1);
    assert_eq!(rows(&path), 1);
}

#[test]
fn a_zombie_owner_counts_as_gone() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let (mut child, _) = register_in_child(&path, "web", "current");
    // Not reaped yet: wait until /proc shows it in state Z (its stdout
    // closes a moment before that).
    let stat = format!("/proc/{}/stat", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&stat).unwrap().contains(") Z ") {
        assert!(std::time::Instant::now() < deadline, "child never became a zombie");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(reg.registrations().list().unwrap().is_empty());
    child.wait().unwrap();
}

#[test]
fn a_child_registering_for_its_parent_outlives_it() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let (mut child, f) = register_in_child(&path, "web", "parent");
    child.wait().unwrap();
    assert_eq!(f[3], std::process::id().to_string());
    let list = reg.registrations().list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].owner, ProcessId::current().unwrap());
}

#[test]
fn a_reused_pid_with_another_start_time_is_not_the_owner() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let (mut child, f) = register_in_child(&path, "web", "current");
    child.wait().unwrap();
    let child_start: i64 = f[4].parse().unwrap();
    let me = ProcessId::current().unwrap();
    assert_ne!(child_start as u64, me.start_time);
    // Pretend the kernel gave the child's pid to this (running) process:
    // the pid is alive, but its start time is not the owner's.
    raw(&path).execute("UPDATE registrations SET pid = ?1", [me.pid]).unwrap();
    assert!(
        reg.registrations().list().unwrap().is_empty(),
        "a live pid with another start time must not keep the entry"
    );
    assert_eq!(rows(&path), 0);
    // With the matching start time it is the owner and is kept.
    let (mut child, _) = register_in_child(&path, "web", "current");
    child.wait().unwrap();
    raw(&path)
        .execute("UPDATE registrations SET pid = ?1, pid_start = ?2", [me.pid as i64, me.start_time as i64])
        .unwrap();
    assert_eq!(reg.registrations().list().unwrap().len(), 1);
}

fn spawn_reservers(path: &std::path::Path, barrier: &std::path::Path, owner: &str, hold: bool) -> Vec<Child> {
    (0..8)
        .map(|_| {
            let mut cmd = Command::new(STRESS);
            cmd.args(["reserve", "--db", path.to_str().unwrap(), "--user", "alice", "--tool", "vite"]).args([
                "--owner",
                owner,
                "--barrier",
                barrier.to_str().unwrap(),
            ]);
            if hold {
                cmd.arg("--hold");
            }
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap()
        })
        .collect()
}

fn eight_at_once(owner: &str, hold: bool) -> BTreeSet<u16> {
    let (d, path) = temp_db();
    Registry::open(&path).unwrap();
    let barrier = d.path().join("go");
    let mut children = spawn_reservers(&path, &barrier, owner, hold);
    let mut readers: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().unwrap())).collect();
    for r in &mut readers {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY");
    }
    // All eight have opened the database and poll for the barrier.
    std::fs::write(&barrier, b"").unwrap();
    let mut ports = BTreeSet::new();
    for r in &mut readers {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap_or_else(|| panic!("{line}")).parse().unwrap();
        ports.insert(port);
    }
    for c in &mut children {
        drop(c.stdin.take());
        c.wait().unwrap();
    }
    let reg = Registry::open(&path).unwrap();
    let leases = reg.leases().list().unwrap();
    if hold {
        // The owners have exited now: their leases end with them.
        assert!(leases.is_empty(), "{leases:?}");
    } else {
        assert_eq!(leases.len(), 8);
        assert!(leases.iter().all(|l| l.label == "alice,vite" && l.protocol == Protocol::Tcp));
    }
    ports
}

#[test]
fn eight_processes_reserving_vite_at_once_get_eight_ports() {
    let ports = eight_at_once("current", true);
    assert_eq!(ports.len(), 8, "{ports:?}");
    // They are the first free candidates of alice's vite sequence.
    let q = port4me::Port4me::new().user("alice").tool("vite");
    let candidates: BTreeSet<u16> = q.list(64).unwrap().into_iter().collect();
    assert!(ports.is_subset(&candidates), "{ports:?}");
}

#[test]
fn eight_short_lived_processes_leasing_for_their_parent_get_eight_ports() {
    let ports = eight_at_once("parent", false);
    assert_eq!(ports.len(), 8, "{ports:?}");
}

#[test]
fn without_the_registry_they_would_collide() {
    // The reason for `reserve`: plain port4me gives everyone the same port.
    let q = port4me::Port4me::with_env(port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]))
        .user("alice")
        .tool("vite");
    let ports: BTreeSet<u16> = (0..8).map(|_| q.find().unwrap()).collect();
    assert_eq!(ports.len(), 1);
    let _ = std::io::stdout().flush();
}

/// Processes that exit with their connection open, as `port4me run` does,
/// never checkpoint on close, and the next process rebuilds the log's index
/// from the whole log. The log must still stay short: each commit that
/// leaves 256 pages in it empties it. Measured by SQLite itself, with the
/// log's length in frames that a passive checkpoint reports.
#[test]
fn the_log_stays_short_when_every_process_exits_with_its_connection_open() {
    let (_d, path) = temp_db();
    let runs = 100;
    for i in 0..runs {
        let out = Command::new(STRESS)
            .args(["register", "--db", path.to_str().unwrap(), "--service", &format!("s{i}"), "--leave-open"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    let (busy, log, _copied): (i64, i64, i64) =
        raw(&path).query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(busy, 0);
    // One registration writes a handful of pages: 100 of them, left in one
    // log, would be several hundred frames.
    assert!(log < 256 + 64, "the log holds {log} frames after {runs} processes");
    assert!(integrity(&path) == "ok");
    // Every owner has exited: each registration was reclaimed by the next
    // process, and the last one by this listing.
    assert!(Registry::open(&path).unwrap().registrations().list().unwrap().is_empty());
}
