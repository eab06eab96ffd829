//! Several handles on one file in one process, as real programs hold them:
//! a Node process with a `Registry` and a `port4me({reserve})`, a service
//! with one handle per thread or per request. Opening or dropping one handle
//! must not take another's locks away (POSIX locks belong to the process,
//! so closing any descriptor of the file drops them all), or another process
//! that closes later believes it is the last one and removes the log under
//! the live handle, whose acknowledged writes are then lost.

use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use port4me_registry::{Protocol, Registry};

fn modules_named(path: &std::path::Path, prefix: &str) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM TCP_PORTS WHERE substr(module, 1, length(?1)) = ?1", [prefix], |r| r.get(0))
        .unwrap()
}

/// Another process opens the registry, writes, and exits.
fn another_process_writes(path: &std::path::Path, name: &str) {
    let out = Command::new(STRESS)
        .args(["register", "--db", path.to_str().unwrap(), "--service", name, "--owner", "current"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_second_handle_and_another_process_lose_none_of_the_first_handles_writes() {
    // The second handle lives on, or is dropped, before the other process runs.
    for keep_second in [true, false] {
        let (_d, path) = temp_db();
        let first = Registry::open(&path).unwrap();
        first.modules().allocate(1, "before", Protocol::Tcp).unwrap();
        let second = Registry::open(&path).unwrap();
        second.registrations().register("web", port4me_registry::RegisterOptions::default()).unwrap();
        let second = if keep_second { Some(second) } else { None };
        another_process_writes(&path, "other");
        for i in 0..40 {
            first.modules().allocate(1, &format!("after{i}"), Protocol::Tcp).unwrap();
        }
        assert_eq!(first.modules().list(None).unwrap().len(), 41);
        drop(second);
        drop(first);
        assert_eq!(modules_named(&path, "after"), 40, "keep_second={keep_second}");
        assert_eq!(integrity(&path), "ok");
    }
}

/// Handles opened and dropped on several threads while other threads write
/// through handles of their own and other processes write and exit: every
/// write that returned is in the file, which stays intact.
#[test]
fn handles_opened_and_dropped_on_many_threads_beside_other_processes() {
    let (_d, path) = temp_db();
    drop(Registry::open(&path).unwrap());
    let path = Arc::new(path);
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let reg = Registry::open(&*path).unwrap();
                for i in 0..30 {
                    reg.modules().allocate(1, &format!("w{t}_{i}"), Protocol::Tcp).unwrap();
                    // A short-lived handle beside the long one, as a request would open.
                    let brief = Registry::open(&*path).unwrap();
                    brief.modules().list(None).unwrap();
                }
            })
        })
        .collect();
    for i in 0..6 {
        another_process_writes(&path, &format!("p{i}"));
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(modules_named(&path, "w"), 90);
    assert_eq!(integrity(&path), "ok");
    assert!(violations(&path).is_empty(), "{:?}", violations(&path));
}
