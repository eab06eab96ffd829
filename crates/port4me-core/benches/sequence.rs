//! Benchmarks of the pure algorithm.
//!
//! * `list_65535/*`: the first 65,535 candidates of user `alice` (one full
//!   pass of the LCG), from a fresh `Query` (parses the unsafe lists and
//!   builds the sets) and from a pre-resolved `Resolved`.
//! * `tiny_set/*`: the first candidate when only `2000-2009` is allowed, the
//!   search a `find` does when every probe answers "free". About 6,500 LCG
//!   steps on average; the target is well under 1 ms.
//! * `spec_parse/*`: parsing a long specification (2,000 items mixing ports,
//!   ranges, separators and tokens) into a set and into an ordered list, and
//!   the default unsafe list on its own.
//!
//! Run with `cargo bench -p port4me-core --bench sequence`. The comparison
//! with the Python reference is `scripts/bench-compare.sh`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use port4me_core::spec::{self, Expansions};
use port4me_core::unsafe_ports::DEFAULT_EXCLUDE_UNSAFE;
use port4me_core::{PortSet, Query};

fn list_65535(c: &mut Criterion) {
    let mut g = c.benchmark_group("list_65535");
    g.throughput(Throughput::Elements(65535));
    g.bench_function("query", |b| b.iter(|| Query::new(black_box("alice")).list(65535).unwrap()));
    let resolved = Query::new("alice").resolve().unwrap();
    g.bench_function("resolved", |b| b.iter(|| black_box(&resolved).list(65535).unwrap()));
    // The same walk without collecting into a Vec: the iterator alone.
    g.bench_function("iter_sum", |b| {
        b.iter(|| {
            black_box(&resolved).candidates().take(65535).fold(0u64, |acc, p| acc.wrapping_add(p.unwrap() as u64))
        })
    });
    g.finish();
}

fn tiny_set(c: &mut Criterion) {
    let mut g = c.benchmark_group("tiny_set");
    // Everything a caller with no environment does: parse, build the sets,
    // walk the LCG until it lands in 2000-2009.
    g.bench_function("query_first", |b| {
        b.iter(|| {
            let r = Query::new(black_box("alice")).include(black_box("2000-2009")).resolve().unwrap();
            let p = r.candidates().next().unwrap().unwrap();
            p
        })
    });
    // Only the walk.
    let resolved = Query::new("alice").include("2000-2009").resolve().unwrap();
    assert!((2000..=2009).contains(&resolved.candidates().next().unwrap().unwrap()));
    g.bench_function("resolved_first", |b| b.iter(|| black_box(&resolved).candidates().next().unwrap().unwrap()));
    // The worst case for a single-port set: the port the LCG reaches last
    // from this seed, a full period of steps.
    let mut lcg = port4me_core::Lcg::new(resolved.hash);
    let last = (0..65536).map(|_| lcg.next_value()).last().unwrap();
    let last_spec = last.to_string();
    if let Ok(worst) = Query::new("alice").include(&last_spec).resolve() {
        if worst.candidates().next() == Some(Ok(last as u16)) {
            g.bench_function("resolved_worst_single_port", |b| {
                b.iter(|| black_box(&worst).candidates().next().unwrap().unwrap())
            });
        }
    }
    g.finish();
}

/// A long specification: `n` items cycling through every item form, with
/// every kind of separator.
pub fn long_spec(n: usize) -> String {
    let mut s = String::new();
    let seps = [",", " ", ", ", "\t", " ,\n", ",,"];
    let mut x: u32 = 12345;
    for i in 0..n {
        x = (x.wrapping_mul(1103515245).wrapping_add(12345)) % 65535;
        let p = x + 1;
        match i % 8 {
            0..=3 => s.push_str(&p.to_string()),
            4 | 5 => {
                let hi = (p + (i as u32 % 200)).min(65535);
                s.push_str(&format!("{p}-{hi}"));
            }
            6 => s.push('0'),
            _ => s.push_str(if i % 16 == 7 { "{chrome}" } else { "{firefox}" }),
        }
        s.push_str(seps[i % seps.len()]);
    }
    s
}

fn spec_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("spec_parse");
    let spec = long_spec(2000);
    g.throughput(Throughput::Bytes(spec.len() as u64));
    let exp = Expansions::DEFAULT;
    g.bench_function("long_into_set", |b| {
        b.iter_batched_ref(
            || Box::new(PortSet::new()),
            |set| spec::parse_into(black_box(&spec), &exp, "bench", set).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("long_validate", |b| b.iter(|| spec::validate(black_box(&spec), &exp, "bench").unwrap()));
    g.bench_function("long_list", |b| b.iter(|| spec::parse_list(black_box(&spec), &exp, "bench").unwrap()));
    g.throughput(Throughput::Bytes(DEFAULT_EXCLUDE_UNSAFE.len() as u64));
    g.bench_function("default_unsafe_into_set", |b| {
        b.iter_batched_ref(
            || Box::new(PortSet::new()),
            |set| spec::parse_into(black_box(DEFAULT_EXCLUDE_UNSAFE), &exp, "bench", set).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    // Short enough for a 2-core machine shared with other builds; pass
    // `--measurement-time` on the command line for longer runs.
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = list_65535, tiny_set, spec_parse }
criterion_main!(benches);
