//! Native side of bench/sequence.mjs: times the first N ports for `alice`
//! through the plain core (`Query::list`) and through this crate's `plan`
//! (what the WebAssembly build runs), and prints one JSON line of medians and
//! minima (ns per call).
//!
//!     cargo run --release -p port4me-wasm --example native_bench -- [N] [SAMPLES]

use std::hint::black_box;
use std::time::Instant;

use port4me_core::Query;
use port4me_wasm::plan::{self, Options};

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
    let opts = Options { user: "alice".into(), ..Default::default() };
    let mine = plan::list(&plan::resolve(&opts).unwrap(), n).unwrap();
    assert_eq!(core, mine, "plan::list and Query::list disagree");
    assert_eq!(&core[..5], [30845, 19654, 32310, 63992, 15273]);

    let (core_ns, core_min) = time_ns(samples, || Query::new(black_box("alice")).list(black_box(n)).unwrap().len());
    let (plan_ns, plan_min) = time_ns(samples, || {
        let o = Options { user: black_box("alice").into(), ..Default::default() };
        plan::list(&plan::resolve(&o).unwrap(), black_box(n)).unwrap().len()
    });
    println!(
        "{{\"n\":{n},\"core_list_ns\":{core_ns:.0},\"core_list_min_ns\":{core_min:.0},\
         \"plan_list_ns\":{plan_ns:.0},\"plan_list_min_ns\":{plan_min:.0}}}"
    );
}
