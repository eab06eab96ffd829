//! Times the pure algorithm for `scripts/bench-compare.sh`, which compares
//! it with the Python reference in the same run.
//!
//! ```text
//! cargo run --release -p port4me-core --example bench_core -- [--reps N] [--warmup N]
//! ```
//!
//! Prints one JSON object: for each case the per-repetition times in
//! nanoseconds (each call timed on its own, cases interleaved, after a
//! warm-up), their
//! median, and a `check` value that the script compares with what the
//! reference computes, so that both sides provably did the same work.
//!
//! Cases (user `alice`, no environment):
//! * `list_65535`: `Query::new("alice").list(65535)`, parsing included (the
//!   reference's `port4me(user="alice", list=65535)`); `check` is the
//!   31-hash of the whole list.
//! * `list_65535_resolved`: the same from a pre-resolved query.
//! * `tiny_set`: resolve `include("2000-2009")` and take the first candidate
//!   (the reference's `port4me(user="alice", include="2000-2009")` with every
//!   probe answering free); `check` is the port.
//! * `tiny_set_resolved`: only the walk.

use std::hint::black_box;
use std::time::Instant;

use port4me_core::Query;

fn hash31(ports: &[u16]) -> u32 {
    ports.iter().fold(0u32, |h, &p| h.wrapping_mul(31).wrapping_add(p as u32))
}

fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2] as f64
    } else {
        (s[n / 2 - 1] + s[n / 2]) as f64 / 2.0
    }
}

fn main() {
    let mut reps = 200usize;
    let mut warmup = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> usize {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--reps" => reps = num("--reps"),
            "--warmup" => warmup = num("--warmup"),
            other => panic!("unknown argument {other:?} (use --reps N, --warmup N)"),
        }
    }
    assert!(reps > 0);

    let list = Query::new("alice").list(65535).unwrap();
    let resolved = Query::new("alice").resolve().unwrap();
    let tiny = Query::new("alice").include("2000-2009").resolve().unwrap();
    let tiny_port = tiny.candidates().next().unwrap().unwrap();

    // Every repetition runs each case once, in turn, so that all cases see
    // the same machine load; each call is timed on its own.
    type Case<'a> = (&'static str, Box<dyn FnMut() -> usize + 'a>, u64);
    let mut cases: Vec<Case> = vec![
        ("list_65535", Box::new(|| Query::new(black_box("alice")).list(65535).unwrap().len()), hash31(&list) as u64),
        ("list_65535_resolved", Box::new(|| black_box(&resolved).list(65535).unwrap().len()), hash31(&list) as u64),
        (
            "tiny_set",
            Box::new(|| {
                let r = Query::new(black_box("alice")).include(black_box("2000-2009")).resolve().unwrap();
                let p = r.candidates().next().unwrap().unwrap();
                p as usize
            }),
            tiny_port as u64,
        ),
        (
            "tiny_set_resolved",
            Box::new(|| black_box(&tiny).candidates().next().unwrap().unwrap() as usize),
            tiny_port as u64,
        ),
    ];
    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(reps); cases.len()];
    for i in 0..warmup + reps {
        for (k, (_, f, _)) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            black_box(f());
            let ns = t.elapsed().as_nanos() as u64;
            if i >= warmup {
                samples[k].push(ns);
            }
        }
    }

    // Hand-written JSON: the example needs no dependency.
    let body: Vec<String> = cases
        .iter()
        .zip(&samples)
        .map(|((name, _, check), samples)| {
            let s: Vec<String> = samples.iter().map(|x| x.to_string()).collect();
            format!(
                "\"{name}\":{{\"median_ns\":{},\"check\":{check},\"samples_ns\":[{}]}}",
                median(samples),
                s.join(",")
            )
        })
        .collect();
    println!("{{{}}}", body.join(","));
}
