//! 16 OS processes x 500 mixed operations on one database. No two live
//! holders ever share a port (checked with SQL during the run and at the
//! end), no operation fails except with a documented error, and what each
//! process believes it holds is exactly what the database holds.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;

const PROCESSES: u64 = 16;
const OPS: u64 = 500;

#[test]
fn sixteen_processes_times_five_hundred_operations() {
    let (_d, path) = temp_db();
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            Command::new(STRESS)
                .args(["worker", "--db", path.to_str().unwrap(), "--id", &id.to_string(), "--ops", &OPS.to_string()])
                .args(["--seed", &(id + 1).to_string(), "--owner", &std::process::id().to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();

    // Check the invariants while the workers run.
    let done = Arc::new(AtomicBool::new(false));
    let checker = {
        let (done, path) = (done.clone(), path.clone());
        std::thread::spawn(move || {
            let mut checks = 0;
            while !done.load(Ordering::Relaxed) {
                if path.exists() && std::fs::metadata(&path).map(|m| m.len() > 0).unwrap_or(false) {
                    let c = raw(&path);
                    let ready: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
                    drop(c);
                    if ready > 0 {
                        let v = violations(&path);
                        assert!(v.is_empty(), "during the run: {v:?}");
                        checks += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            checks
        })
    };

    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    let checks = checker.join().unwrap();
    let elapsed = started.elapsed();

    let mut modules = BTreeSet::new();
    let mut instances = BTreeSet::new();
    let mut registrations = BTreeSet::new();
    let mut leases = BTreeSet::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for (i, out) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker {i} failed: {:?}\n{}\n{}",
            out.status,
            stdout.lines().filter(|l| !l.starts_with("COUNT")).take(20).collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!("DONE {i}")));
        for line in stdout.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f[0] {
                "MODULE" => assert!(modules.insert((
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].parse::<u16>().unwrap(),
                    f[4].parse::<u16>().unwrap()
                ))),
                "INSTANCE" => assert!(instances.insert((
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].parse::<u16>().unwrap(),
                    f[4].to_string()
                ))),
                "REGISTRATION" => assert!(registrations.insert((f[1].to_string(), f[2].parse::<u16>().unwrap()))),
                "LEASE" => {
                    assert!(leases.insert((f[1].parse::<u16>().unwrap(), f[2].to_string())), "two leases on {line}")
                }
                "COUNT" => {
                    let n: u64 = f[2].parse().unwrap();
                    *counts.entry(f[1].to_string()).or_default() += n;
                    total += n;
                }
                _ => {}
            }
        }
    }

    // The final state, checked with SQL.
    assert_eq!(integrity(&path), "ok");
    let v = violations(&path);
    assert!(v.is_empty(), "at the end: {v:?}");
    let c = raw(&path);
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let db_modules: BTreeSet<_> = rows(
        r#"SELECT module, 'tcp', start, "end" FROM TCP_PORTS WHERE substr(module, 1, 8) <> 'port4me:'
              UNION ALL SELECT module, 'udp', start, "end" FROM UDP_PORTS WHERE substr(module, 1, 8) <> 'port4me:'"#,
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap(), r[3].parse().unwrap()))
    .collect();
    assert_eq!(db_modules, modules, "module ranges differ from what the workers hold");
    let db_instances: BTreeSet<_> = rows(
        "SELECT s.name, sp.instance, sp.port, sp.state FROM service_ports sp JOIN services s ON s.id = sp.service_id",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap(), r[3].clone()))
    .collect();
    assert_eq!(db_instances, instances, "service instances differ");
    let db_regs: BTreeSet<_> = rows("SELECT name, port FROM registrations")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(db_regs, registrations, "registrations differ");
    let db_leases: BTreeSet<(u16, String)> =
        rows("SELECT port, protocol FROM leases").into_iter().map(|r| (r[0].parse().unwrap(), r[1].clone())).collect();
    assert_eq!(db_leases, leases, "every lease of the run is still live");
    assert_eq!(leases.len() as u64, counts.get("reserve:ok").copied().unwrap_or(0));

    // Counts add up: every operation was counted once, and the successful
    // allocations minus releases equal what is held.
    let attempted_ops: u64 = total;
    assert!((PROCESSES * OPS * 7 / 10..=PROCESSES * OPS).contains(&attempted_ops), "{attempted_ops}");
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    let live_instances = get("offer:ok") - get("reject:ok") - get("release-instance:ok");
    assert_eq!(live_instances as usize, instances.len());
    assert_eq!((get("register:ok") - get("release:ok")) as usize, registrations.len());
    eprintln!(
        "{} processes x {OPS} ops in {elapsed:?} ({:.0} ops/s), {checks} invariant checks during the run",
        PROCESSES,
        attempted_ops as f64 / elapsed.as_secs_f64()
    );
    eprintln!("outcomes: {counts:?}");
    // Every kind of operation ran and succeeded at least once.
    for op in [
        "allocate",
        "deallocate",
        "define",
        "offer",
        "accept",
        "reject",
        "register",
        "release",
        "reserve",
        "holder",
        "find",
        "gc",
    ] {
        assert!(get(&format!("{op}:ok")) > 0, "no successful {op}: {counts:?}");
    }
}
