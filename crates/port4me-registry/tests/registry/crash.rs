//! 100 rounds of killing a writer with SIGKILL at a random moment. After
//! each: `PRAGMA integrity_check` is `ok`, the invariants hold, every step
//! the writer acknowledged (printed after its commit) is in the database,
//! and at most the one step in flight beyond it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;

const ROUNDS: usize = 100;

#[test]
fn sigkill_a_writer_a_hundred_times() {
    let (_d, path) = temp_db();
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let started = Instant::now();
    let mut acked_total = 0;
    let mut killed_mid_run = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(STRESS)
            .args(["writer", "--db", path.to_str().unwrap(), "--owner", &std::process::id().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill at a random moment: sometimes while it opens (and, in the
        // first rounds, creates) the database, mostly while it writes. A
        // writer is only killed "while it writes" once it has written, so
        // that a loaded machine, slow to start it, still tests that case.
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut out = String::new();
        let delay = if next(10) == 0 {
            next(5_000)
        } else {
            std::io::BufRead::read_line(&mut stdout, &mut out).unwrap();
            next(60_000)
        };
        std::thread::sleep(Duration::from_micros(delay));
        // SAFETY: plain kill(2) on our own child.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
        assert_eq!(rc, 0);
        let status = child.wait().unwrap();
        stdout.read_to_string(&mut out).unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(
            !out.contains("UNEXPECTED") && !err.contains("panicked"),
            "round {round}: writer failed:\n{out}\n{err}"
        );
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(libc::SIGKILL) {
            killed_mid_run += 1;
        }

        if !path.exists() || std::fs::metadata(&path).unwrap().len() == 0 {
            continue; // killed before SQLite wrote anything
        }
        assert_eq!(integrity(&path), "ok", "round {round}");
        // Killed after SQLite switched the new file to WAL mode (which
        // writes its header) but before the schema's transaction committed:
        // no tables yet, which the next writer creates.
        let version: i64 = raw(&path).query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        if version == 0 {
            assert_eq!(
                raw(&path).query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).unwrap(),
                0,
                "round {round}: a schema without a version"
            );
            continue;
        }
        let v = violations(&path);
        assert!(v.is_empty(), "round {round}: {v:?}");

        let acked: Vec<u64> = out.lines().filter_map(|l| l.strip_prefix("ACK ")).map(|k| k.parse().unwrap()).collect();
        acked_total += acked.len();
        let c = raw(&path);
        let present: Vec<u64> = {
            let mut stmt = c.prepare("SELECT module FROM UDP_PORTS WHERE module LIKE 'crash\\_%' ESCAPE '\\'").unwrap();
            let mut v: Vec<u64> = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|m| m.unwrap()[6..].parse().unwrap())
                .collect();
            v.sort();
            v
        };
        // Steps are numbered from 0 without gaps across rounds.
        assert!(present.iter().enumerate().all(|(i, &k)| i as u64 == k), "round {round}: gap in {present:?}");
        if let Some(&last) = acked.last() {
            let max = *present.last().unwrap();
            assert!(max == last || max == last + 1, "round {round}: acknowledged {last}, database has up to {max}");
        }
    }
    eprintln!(
        "{ROUNDS} rounds in {:?}: {killed_mid_run} writers killed while running, {acked_total} acknowledged steps",
        started.elapsed()
    );
    assert!(killed_mid_run >= ROUNDS * 9 / 10);
    assert!(acked_total > ROUNDS, "the writers should have made progress");
    // The database still works normally afterwards.
    let reg = port4me_registry::Registry::open(&path).unwrap();
    reg.modules().allocate(3, "after", port4me_registry::Protocol::Tcp).unwrap();
    assert_eq!(integrity(&path), "ok");
}
