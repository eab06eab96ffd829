//! Registry benchmarks.
//!
//! * `alloc_release/{durable,normal}/P`: throughput of allocate + deallocate
//!   pairs (two transactions) with P = 1, 4 and 16 processes on one
//!   database; one iteration is one pair, whichever process does it.
//! * `first_fit/packed/N`: one allocation (replacing the module's previous
//!   range, one transaction) when N one-port ranges already fill the start
//!   of the pool, so first fit has to pass all of them.
//! * `first_fit/fragmented/N`: the same with a one-port hole after each
//!   range and a request for two ports: every hole has to be looked at.
//!
//! The first-fit groups run with `synchronous=NORMAL` so the search, not
//! the disk flush, is measured.
//!
//! `cargo bench -p port4me-registry --bench registry`

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use port4me_registry::{Config, Protocol, Registry};

const STRESS: &str = env!("CARGO_BIN_EXE_port4me-registry-stress");

/// Runs about `iters` allocate+deallocate pairs split over `procs`
/// processes (at least 50 each) and returns the wall time from "go" to the
/// last "DONE", scaled to exactly `iters` pairs (process start-up, opening
/// the database and a warm-up pair are not timed).
fn churn(procs: u64, iters: u64, durable: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite");
    Registry::open(&db).unwrap();
    // At least 50 pairs per process, so fixed costs do not skew a sample.
    let per = iters.div_ceil(procs).max(50);
    let mut children: Vec<_> = (0..procs)
        .map(|i| {
            let mut c = Command::new(STRESS);
            c.args(["churn", "--db", db.to_str().unwrap(), "--ops", &per.to_string(), "--prefix", &format!("p{i}")]);
            if !durable {
                c.arg("--normal");
            }
            c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut outs: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().unwrap())).collect();
    for o in &mut outs {
        let mut l = String::new();
        o.read_line(&mut l).unwrap();
        assert_eq!(l.trim(), "READY");
    }
    let start = Instant::now();
    for c in &mut children {
        c.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    }
    for o in &mut outs {
        let mut l = String::new();
        o.read_line(&mut l).unwrap();
        assert_eq!(l.trim(), "DONE");
    }
    let elapsed = start.elapsed();
    for c in &mut children {
        c.wait().unwrap();
    }
    // Scale to exactly `iters` pairs.
    elapsed.mul_f64(iters as f64 / (per * procs) as f64)
}

fn alloc_release(c: &mut Criterion) {
    for (name, durable) in [("durable", true), ("normal", false)] {
        let mut g = c.benchmark_group(format!("alloc_release/{name}"));
        g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(1));
        for procs in [1u64, 4, 16] {
            g.bench_with_input(BenchmarkId::from_parameter(procs), &procs, |b, &procs| {
                b.iter_custom(|iters| churn(procs, iters, durable));
            });
        }
        g.finish();
    }
}

/// A registry (synchronous=NORMAL) whose TCP pool starts with `n` one-port
/// module ranges, `stride` ports apart.
fn filled(n: u32, stride: u32) -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite");
    let reg = Registry::open_with(&db, Config { durable: false, ..Config::default() }).unwrap();
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut ins = tx.prepare(r#"INSERT INTO TCP_PORTS (start, "end", module) VALUES (?1, ?1, ?2)"#).unwrap();
        for i in 0..n {
            ins.execute((20000 + i * stride, format!("fill{i}"))).unwrap();
        }
    }
    tx.commit().unwrap();
    (dir, reg)
}

fn first_fit(c: &mut Criterion) {
    // Packed ranges: the only gap is after the last one.
    let mut g = c.benchmark_group("first_fit/packed");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for n in [10u32, 1_000, 10_000] {
        let (_dir, reg) = filled(n, 1);
        let expected = (20000 + n) as u16;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| assert_eq!(reg.modules().allocate(1, "probe", Protocol::Tcp).unwrap().start, expected));
        });
    }
    g.finish();
    // Worst case: one free port between neighbouring ranges and a request
    // for two, so every gap has to be looked at.
    let mut g = c.benchmark_group("first_fit/fragmented");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for n in [10u32, 1_000, 10_000] {
        let (_dir, reg) = filled(n, 2);
        let expected = (20000 + 2 * n - 1) as u16;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| assert_eq!(reg.modules().allocate(2, "probe", Protocol::Tcp).unwrap().start, expected));
        });
    }
    g.finish();
}

criterion_group!(benches, alloc_release, first_fit);
criterion_main!(benches);
