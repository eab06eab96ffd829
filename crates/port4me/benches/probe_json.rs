//! Times a probe next to its system-call floor, and the std-layer search, for
//! `scripts/bench-compare.sh` (which runs the Python reference in the same
//! run). Not a criterion bench: it prints one JSON object.
//!
//! ```text
//! cargo bench -p port4me --bench probe_json -- [--reps N] [--warmup N]
//! ```
//!
//! Every repetition runs each case once, in turn, so that the probe and its
//! floor see the same machine load; each call is timed on its own and the
//! medians are reported. Without `--bench` (as under `cargo test
//! --all-targets`) it does a couple of repetitions only, as a smoke test.
//!
//! Cases:
//! * `floor_v4`: socket, bind 0.0.0.0, close (`probe::bare_bind_v4`): the
//!   least any probe can do, and what the Python reference does;
//! * `floor_dual_stack`: socket AF_INET6, IPV6_V6ONLY=0, bind [::], close:
//!   the calls `is_port_free` makes on Linux;
//! * `is_port_free`, `is_port_free_host_127`, `is_port_free_busy`;
//! * `find_tiny_any`: `Port4me::find` for user alice, include 2000-2009,
//!   `_PORT4ME_CHECK_AVAILABLE_PORTS_=any` (environment from a fixed map);
//!   `check` is the port, compared with the reference by the script.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Instant;

use port4me::probe::{bare_bind_v4, is_port_free, ProbeOptions};
use port4me::{Env, Port4me};
use socket2::{Domain, Socket, Type};

fn bare_bind_dual_stack(port: u16) -> std::io::Result<bool> {
    let s = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    s.set_only_v6(false)?;
    Ok(s.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port).into()).is_ok())
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

type Case<'a> = (&'static str, Box<dyn FnMut() -> u64 + 'a>);

fn main() {
    let mut bench_mode = false;
    let mut reps = None;
    let mut warmup = 50usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> usize {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--bench" => bench_mode = true,
            "--reps" => reps = Some(num("--reps")),
            "--warmup" => warmup = num("--warmup"),
            other => panic!("unknown argument {other:?} (use --reps N, --warmup N)"),
        }
    }
    let reps = reps.unwrap_or(if bench_mode { 2000 } else { 2 });
    if !bench_mode && reps <= 2 {
        warmup = 1;
    }

    let tcp = ProbeOptions::tcp();
    let port = (20000..30000)
        .find(|&p| is_port_free(p, &tcp).unwrap_or(false) && bare_bind_v4(p).unwrap_or(false))
        .expect("no free port in 20000-29999");
    let have_v6 = bare_bind_dual_stack(port).unwrap_or(false);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener on 127.0.0.1");
    let busy = listener.local_addr().unwrap().port();
    let host127 = ProbeOptions { host: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), ..ProbeOptions::tcp() };
    let any = || Env::from_pairs([("PORT4ME_USER", "alice"), ("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]);
    let tiny_port = Port4me::with_env(any()).include("2000-2009").find().unwrap();

    let mut cases: Vec<Case> = vec![
        ("floor_v4", Box::new(|| bare_bind_v4(black_box(port)).unwrap() as u64)),
        ("is_port_free", Box::new(|| is_port_free(black_box(port), &tcp).unwrap() as u64)),
        ("is_port_free_host_127", Box::new(|| is_port_free(black_box(port), &host127).unwrap() as u64)),
        ("is_port_free_busy", Box::new(|| is_port_free(black_box(busy), &tcp).unwrap() as u64)),
        ("find_tiny_any", Box::new(|| Port4me::with_env(any()).include(black_box("2000-2009")).find().unwrap() as u64)),
    ];
    if have_v6 {
        cases.insert(1, ("floor_dual_stack", Box::new(|| bare_bind_dual_stack(black_box(port)).unwrap() as u64)));
    }
    let checks: Vec<(&str, u64)> = vec![
        ("floor_v4", 1),
        ("floor_dual_stack", 1),
        ("is_port_free", 1),
        ("is_port_free_host_127", 1),
        ("is_port_free_busy", 0),
        ("find_tiny_any", tiny_port as u64),
    ];

    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(reps); cases.len()];
    for i in 0..warmup + reps {
        for (k, (name, f)) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            let r = black_box(f());
            let ns = t.elapsed().as_nanos() as u64;
            let want = checks.iter().find(|c| c.0 == *name).unwrap().1;
            assert_eq!(r, want, "{name}: unexpected result (port {port} taken meanwhile?)");
            if i >= warmup {
                samples[k].push(ns);
            }
        }
    }
    drop(listener);

    let body: Vec<String> = cases
        .iter()
        .zip(&samples)
        .map(|((name, _), s)| {
            let check = checks.iter().find(|c| c.0 == *name).unwrap().1;
            let all: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            format!("\"{name}\":{{\"median_ns\":{},\"check\":{check},\"samples_ns\":[{}]}}", median(s), all.join(","))
        })
        .collect();
    println!("{{\"port\":{port},{}}}", body.join(","));
}
