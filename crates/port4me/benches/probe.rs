//! What a probe costs, next to the floor of the system calls it makes.
//!
//! * `probe/*`: one probe of a free TCP port. `is_port_free` (on Linux one
//!   dual-stack socket on `[::]`: socket, setsockopt(IPV6_V6ONLY=0), bind,
//!   close) against `bare_bind_v4` (socket, bind on 0.0.0.0, close: the
//!   least any probe can do) and against the same dual-stack calls made by
//!   hand, so the difference between the first two splits into "the extra
//!   setsockopt/IPv6 cost" and "our overhead". A busy port and a probe
//!   narrowed to 127.0.0.1 are measured too.
//! * `find/*`: the whole std-layer search for the tiny set 2000-2009 with
//!   every probe answering "free" (environment from a fixed map, not the
//!   process), and a real `find` for tool `vite` that probes.
//!
//! Run with `cargo bench -p port4me --bench probe`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use port4me::probe::{bare_bind_v4, is_port_free, ProbeOptions};
use port4me::{Env, Port4me};
use socket2::{Domain, Socket, Type};

/// A port that is free right now on every address, searched from the top of
/// a quiet range so that the bench does not fight the ephemeral range.
fn free_port() -> u16 {
    (20000..30000)
        .find(|&p| is_port_free(p, &ProbeOptions::tcp()).unwrap_or(false) && bare_bind_v4(p).unwrap_or(false))
        .expect("no free port in 20000-29999")
}

fn bare_bind_dual_stack(port: u16) -> std::io::Result<bool> {
    let s = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    s.set_only_v6(false)?;
    Ok(s.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port).into()).is_ok())
}

fn probe(c: &mut Criterion) {
    let port = free_port();
    let mut g = c.benchmark_group("probe");
    g.bench_function("bare_bind_v4", |b| b.iter(|| assert!(bare_bind_v4(black_box(port)).unwrap())));
    let have_v6 = bare_bind_dual_stack(port).unwrap_or(false);
    if have_v6 {
        g.bench_function("bare_bind_dual_stack", |b| {
            b.iter(|| assert!(bare_bind_dual_stack(black_box(port)).unwrap()))
        });
    }
    let tcp = ProbeOptions::tcp();
    g.bench_function("is_port_free", |b| b.iter(|| assert!(is_port_free(black_box(port), &tcp).unwrap())));
    let v4 = ProbeOptions { host: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), ..ProbeOptions::tcp() };
    g.bench_function("is_port_free_host_127", |b| b.iter(|| assert!(is_port_free(black_box(port), &v4).unwrap())));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().port();
    g.bench_function("is_port_free_busy", |b| b.iter(|| assert!(!is_port_free(black_box(busy), &tcp).unwrap())));
    g.finish();
    drop(listener);
}

fn find(c: &mut Criterion) {
    let mut g = c.benchmark_group("find");
    let env = || Env::from_pairs([("PORT4ME_USER", "alice")]);
    g.bench_function("tiny_set_find_with_free", |b| {
        b.iter(|| Port4me::with_env(env()).include(black_box("2000-2009")).find_with(|_| Ok(true)).unwrap())
    });
    let any = || Env::from_pairs([("PORT4ME_USER", "alice"), ("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]);
    g.bench_function("tiny_set_find_check_any", |b| {
        b.iter(|| Port4me::with_env(any()).include(black_box("2000-2009")).find().unwrap())
    });
    g.bench_function("vite_find_real_probe", |b| {
        b.iter(|| Port4me::with_env(env()).tool(black_box("vite")).find().unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = probe, find }
criterion_main!(benches);
