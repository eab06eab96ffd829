//! Native side of bench/sequence.mjs: times the first N ports for `alice`
//! through the core (`Query::list`, the same list the WebAssembly build
//! runs), and prints one JSON line of the median and minimum (ns per call).
//!
//!     cargo run --release -p port4me-wasm --example native_bench -- [N] [SAMPLES]

use std::hint::black_box;
use std::time::Instant;

use port4me_core::Query;

/// (median, min) of `samples` single calls, in ns, after a warm-up.
fn time_ns(samples: usize, mut f: impl FnMut() -> usize) -> (f64, f64) {
    for _ in 0..50 {
        black_box(f());
    }
    let mut xs: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_nanos() as f64
        })
        .collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    (xs[xs.len() / 2], xs[0])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(65535);
    let samples: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(301).max(1);

    let core = Query::new("alice").list(n).unwrap();
    assert_eq!(&core[..5], [30845, 19654, 32310, 63992, 15273]);

    let (core_ns, core_min) = time_ns(samples, || Query::new(black_box("alice")).list(black_box(n)).unwrap().len());
    println!("{{\"n\":{n},\"core_list_ns\":{core_ns:.0},\"core_list_min_ns\":{core_min:.0}}}");
}
