//! Helper process for the registry's multi-process tests and benchmarks.
//! Not a user tool: its output format is only what the tests parse.
//!
//! ```text
//! port4me-registry-stress worker  --db P --id I --ops N --seed S --owner PID
//! port4me-registry-stress writer  --db P --owner PID
//! port4me-registry-stress reserve --db P --user U --tool T --owner current|parent [--barrier FILE] [--hold]
//! port4me-registry-stress register --db P --service S [--owner current|parent] [--leave-open]
//! port4me-registry-stress churn   --db P --ops N --prefix X [--normal]
//! port4me-registry-stress torture --db P --log PREFIX --tag T --anchors PID,PID --threads N --handles N --seed S --until UNIX
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use port4me_registry::{
    AllocateOptions, Config, Error, Filter, Owner, PortRange, Protocol, RegisterOptions, Registry, ReleaseOptions,
    ReserveOptions, ServiceDefinition,
};

/// Error codes a stress worker may meet in normal operation (documented
/// outcomes of racing with other workers); anything else fails the run.
const EXPECTED: &[&str] = &[
    "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED",
    "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT",
    "ERR_PORT4ME_REGISTRY_SERVICE_EXISTS",
    "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE",
    "ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS",
    "ERR_PORT4ME_REGISTRY_SERVICE_FULL",
    "ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE",
    "ERR_PORT4ME_NO_FREE_PORT",
];

/// The pools the stress workers use: deliberately small and overlapping,
/// so module ranges, services, registrations and leases compete for ports.
pub fn stress_config() -> Config {
    Config { module_pool: (20000, 24000), registration_pool: (23000, 26000), ..Config::default() }
}

struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            if let Some(k) = args[i].strip_prefix("--") {
                match args.get(i + 1).filter(|v| !v.starts_with("--")) {
                    Some(v) => {
                        m.insert(k.to_string(), v.clone());
                        i += 2;
                    }
                    None => {
                        m.insert(k.to_string(), String::new());
                        i += 1;
                    }
                }
            } else {
                i += 1;
            }
        }
        Args(m)
    }
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or_else(|| panic!("missing --{k}"))
    }
    fn num(&self, k: &str) -> u64 {
        self.get(k).parse().unwrap_or_else(|_| panic!("bad --{k}"))
    }
    fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
}

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn owner_of(a: &Args) -> Owner {
    match a.0.get("owner").map(String::as_str) {
        None | Some("current") => Owner::Current,
        Some("parent") => Owner::Parent,
        Some(pid) => Owner::pid(pid.parse().expect("pid")).expect("owner process"),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = Args::parse(&argv);
    let db = a.get("db").to_string();
    match argv.first().map(String::as_str) {
        Some("worker") => worker(&db, &a),
        Some("writer") => writer(&db, &a),
        Some("reserve") => reserve(&db, &a),
        Some("register") => register(&db, &a),
        Some("churn") => churn(&db, &a),
        Some("torture") => torture(&db, &a),
        _ => {
            eprintln!("usage: port4me-registry-stress worker|writer|reserve|register|churn|torture --db PATH ...");
            ExitCode::from(2)
        }
    }
}

/// 500 (or `--ops`) random operations; checks each answer against what this
/// worker knows it holds, then prints what it holds for the parent to
/// compare with the database.
fn worker(db: &str, a: &Args) -> ExitCode {
    let id = a.num("id");
    let ops = a.num("ops");
    let mut rng = Rng(a.num("seed").max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let owner = owner_of(a);
    let reg = Registry::open_with(db, stress_config()).expect("open");
    let env = port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any"), ("PORT4ME_USER", "stress")]);

    let mut modules: BTreeMap<(String, &'static str), Vec<PortRange>> = BTreeMap::new();
    let mut services: BTreeMap<String, ()> = BTreeMap::new();
    let mut instances: BTreeMap<(String, String), (u16, String, bool)> = BTreeMap::new(); // -> port, secret, accepted
    let mut registrations: BTreeMap<String, u16> = BTreeMap::new();
    let mut leases: Vec<(u16, &'static str)> = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let fail = |what: String| -> ExitCode {
        println!("MISMATCH worker {id}: {what}");
        ExitCode::from(1)
    };

    for op in 0..ops {
        let kind = rng.below(100);
        let proto = if rng.below(2) == 0 { Protocol::Tcp } else { Protocol::Udp };
        let pname: &'static str = proto.as_str();
        let (label, result): (&str, Result<(), Error>) = match kind {
            0..=24 => {
                let module = format!("w{id}_m{}", rng.below(8));
                let n = 1 + rng.below(20) as u32;
                let keep = rng.below(5) == 0;
                let r = reg.modules().allocate(
                    n,
                    &module,
                    AllocateOptions { protocol: proto, keep_existing: keep, pool: None },
                );
                (
                    "allocate",
                    r.map(|range| {
                        let e = modules.entry((module, pname)).or_default();
                        if !keep {
                            e.clear();
                        }
                        e.push(range);
                        e.sort();
                    }),
                )
            }
            25..=39 => {
                let module = format!("w{id}_m{}", rng.below(8));
                match reg.modules().release(&module, proto) {
                    Ok(released) => {
                        let mine = modules.remove(&(module.clone(), pname)).unwrap_or_default();
                        if released != mine {
                            return fail(format!(
                                "deallocate {module}/{pname} released {released:?}, expected {mine:?}"
                            ));
                        }
                        ("deallocate", Ok(()))
                    }
                    Err(e) => ("deallocate", Err(e)),
                }
            }
            40..=44 => {
                let name = format!("w{id}_s{}", rng.below(4));
                let start = 21000 + rng.below(6000) as u32;
                let len = 1 + rng.below(8) as u32;
                let r = reg.services().define(&ServiceDefinition::new(&name, "stress", start, start + len - 1));
                (
                    "define",
                    r.map(|_| {
                        services.insert(name, ());
                    }),
                )
            }
            45..=59 => {
                let service = format!("w{id}_s{}", rng.below(4));
                let instance = format!("i{}", rng.below(6));
                let r = reg.services().offer(&service, &instance);
                (
                    "offer",
                    r.map(|o| {
                        instances.insert((service, instance), (o.port, o.secret, false));
                    }),
                )
            }
            60..=64 => {
                let pending: Vec<_> =
                    instances.iter().filter(|(_, v)| !v.2).map(|(k, v)| (k.clone(), v.1.clone())).collect();
                if pending.is_empty() {
                    continue;
                }
                let (key, secret) = pending[rng.below(pending.len() as u64) as usize].clone();
                if rng.below(2) == 0 {
                    match reg.services().accept(&secret) {
                        Ok(sp) if sp.port == instances[&key].0 => {
                            instances.get_mut(&key).unwrap().2 = true;
                            ("accept", Ok(()))
                        }
                        Ok(sp) => return fail(format!("accept gave port {}, offered {}", sp.port, instances[&key].0)),
                        Err(e) => ("accept", Err(e)),
                    }
                } else {
                    match reg.services().reject(&secret) {
                        Ok(_) => {
                            instances.remove(&key);
                            ("reject", Ok(()))
                        }
                        Err(e) => ("reject", Err(e)),
                    }
                }
            }
            65..=67 => {
                let held: Vec<_> = instances.keys().cloned().collect();
                if held.is_empty() {
                    continue;
                }
                let key = held[rng.below(held.len() as u64) as usize].clone();
                match reg.services().release(&key.0, &key.1, ReleaseOptions::default()) {
                    Ok(sp) if sp.port == instances[&key].0 => {
                        instances.remove(&key);
                        ("release-instance", Ok(()))
                    }
                    Ok(sp) => return fail(format!("release_instance gave {sp:?}")),
                    Err(e) => ("release-instance", Err(e)),
                }
            }
            68..=77 => {
                let service = format!("w{id}_r{}", rng.below(3));
                let r =
                    reg.registrations().register(&service, &RegisterOptions { owner, ..RegisterOptions::default() });
                (
                    "register",
                    r.map(|x| {
                        registrations.insert(x.name, x.port);
                    }),
                )
            }
            78..=83 => {
                let names: Vec<_> = registrations.keys().cloned().collect();
                if names.is_empty() {
                    continue;
                }
                let name = names[rng.below(names.len() as u64) as usize].clone();
                match reg.registrations().release(&name) {
                    Ok(x) if x.port == registrations[&name] => {
                        registrations.remove(&name);
                        ("release", Ok(()))
                    }
                    Ok(x) => return fail(format!("release {name} gave port {}", x.port)),
                    Err(e) => ("release", Err(e)),
                }
            }
            84..=89 => {
                let q = port4me::Port4me::with_env(env.clone()).tool(format!("w{id}")).protocol(proto);
                let r = reg.leases().reserve(&q, &ReserveOptions { ttl: Duration::from_secs(600), owner, label: None });
                ("reserve", r.map(|l| leases.push((l.port, pname))))
            }
            90..=95 => {
                let port = 20000 + rng.below(8000) as u16;
                ("holder", reg.holder_of(port, proto).map(|_| ()))
            }
            96..=97 => {
                let f = Filter { beginswith: Some(format!("w{id}_")), ..Filter::default() };
                match reg.registrations().find(&f) {
                    Ok(found) => {
                        let got: BTreeMap<String, u16> = found.into_iter().map(|r| (r.name, r.port)).collect();
                        if got != registrations {
                            return fail(format!("find gave {got:?}, expected {registrations:?}"));
                        }
                        ("find", Ok(()))
                    }
                    Err(e) => ("find", Err(e)),
                }
            }
            _ => ("gc", reg.gc().map(|_| ())),
        };
        let key = match &result {
            Ok(()) => format!("{label}:ok"),
            Err(e) if EXPECTED.contains(&e.code()) => format!("{label}:{}", e.code()),
            Err(e) => {
                println!("UNEXPECTED worker {id} op {op} {label}: [{}] {e}", e.code());
                return ExitCode::from(1);
            }
        };
        *counts.entry(key).or_default() += 1;
    }

    let mut out = std::io::stdout().lock();
    for ((module, p), ranges) in &modules {
        for r in ranges {
            writeln!(out, "MODULE {module} {p} {} {}", r.start, r.end).unwrap();
        }
    }
    for name in services.keys() {
        writeln!(out, "SERVICE {name}").unwrap();
    }
    for ((s, i), (port, _, accepted)) in &instances {
        writeln!(out, "INSTANCE {s} {i} {port} {}", if *accepted { "allocated" } else { "offered" }).unwrap();
    }
    for (name, port) in &registrations {
        writeln!(out, "REGISTRATION {name} {port}").unwrap();
    }
    for (port, p) in &leases {
        writeln!(out, "LEASE {port} {p}").unwrap();
    }
    for (k, n) in &counts {
        writeln!(out, "COUNT {k} {n}").unwrap();
    }
    writeln!(out, "DONE {id}").unwrap();
    ExitCode::SUCCESS
}

/// Writes forever (until killed). Even steps allocate the next UDP module
/// `crash_K` (one port, kept forever) and print `ACK K` after the commit,
/// so the parent can check that every acknowledged step survived; odd
/// steps do a random mix of other writes.
fn writer(db: &str, a: &Args) -> ExitCode {
    let owner = owner_of(a);
    let reg = Registry::open_with(db, stress_config()).expect("open");
    let next = reg
        .modules()
        .list(Some(Protocol::Udp))
        .expect("modules")
        .iter()
        .filter_map(|m| m.module.strip_prefix("crash_").and_then(|k| k.parse::<u64>().ok()))
        .max()
        .map_or(0, |k| k + 1);
    let env = port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any"), ("PORT4ME_USER", "crash")]);
    let mut rng = Rng(std::process::id() as u64 | 1);
    let mut out = std::io::stdout().lock();
    let pool = AllocateOptions { protocol: Protocol::Tcp, keep_existing: true, pool: Some((20000, 45000)) };
    for k in next.. {
        reg.modules()
            .allocate(1, &format!("crash_{k}"), AllocateOptions { protocol: Protocol::Udp, ..pool.clone() })
            .expect("crash step");
        writeln!(out, "ACK {k}").unwrap();
        out.flush().unwrap();
        let r = match rng.below(6) {
            0 => reg
                .modules()
                .allocate(1 + rng.below(10) as u32, &format!("cw_m{}", rng.below(5)), Protocol::Tcp)
                .map(|_| ()),
            1 => reg.modules().release(&format!("cw_m{}", rng.below(5)), Protocol::Tcp).map(|_| ()),
            2 => reg
                .registrations()
                .register(&format!("cw_r{}", rng.below(3)), &RegisterOptions { owner, ..Default::default() })
                .map(|_| ()),
            3 => reg.registrations().release(&format!("cw_r{}", rng.below(3))).map(|_| ()),
            4 => {
                let s = format!("cw_s{}", rng.below(3));
                let _ = reg.services().define(&ServiceDefinition::new(
                    &s,
                    "crash",
                    30000 + 100 * rng.below(3) as u32,
                    30000 + 100 * rng.below(3) as u32 + 50,
                ));
                reg.services()
                    .offer(&s, &format!("i{}", rng.below(60)))
                    .and_then(|o| {
                        if rng.below(2) == 0 {
                            reg.services().accept(&o.secret)
                        } else {
                            reg.services().reject(&o.secret)
                        }
                    })
                    .map(|_| ())
            }
            _ => {
                let q = port4me::Port4me::with_env(env.clone()).tool(format!("t{}", rng.below(4)));
                reg.leases()
                    .reserve(&q, &ReserveOptions { ttl: Duration::from_secs(5), owner, label: None })
                    .map(|_| ())
            }
        };
        if let Err(e) = r {
            let allowed = EXPECTED.contains(&e.code())
                || e.code() == "ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION"
                || e.code() == "ERR_PORT4ME_REGISTRY_SERVICE_EXISTS";
            if !allowed {
                writeln!(out, "UNEXPECTED [{}] {e}", e.code()).unwrap();
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

fn wait_for(barrier: &Path) {
    while !barrier.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One reservation; prints `PORT <port>`. With `--hold`, keeps running
/// (and so keeps an owner-bound lease alive) until stdin closes.
fn reserve(db: &str, a: &Args) -> ExitCode {
    let reg = Registry::open(db).expect("open");
    if a.has("barrier") {
        println!("READY");
        std::io::stdout().flush().unwrap();
        wait_for(Path::new(a.get("barrier")));
    }
    let q = port4me::Port4me::new().user(a.get("user")).tool(a.get("tool"));
    let opts = ReserveOptions { owner: owner_of(a), ..ReserveOptions::default() };
    match reg.leases().reserve(&q, &opts) {
        Ok(l) => {
            println!("PORT {}", l.port);
            std::io::stdout().flush().unwrap();
        }
        Err(e) => {
            println!("ERROR [{}] {e}", e.code());
            return ExitCode::from(1);
        }
    }
    if a.has("hold") {
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            line.clear();
        }
    }
    ExitCode::SUCCESS
}

/// One registration; prints `REGISTERED <name> <port> <pid> <start>` and exits.
fn register(db: &str, a: &Args) -> ExitCode {
    let reg = if db == "default" { Registry::open_default() } else { Registry::open(db) }.expect("open");
    match reg.registrations().register(a.get("service"), &RegisterOptions { owner: owner_of(a), ..Default::default() })
    {
        Ok(r) => {
            println!("REGISTERED {} {} {} {}", r.name, r.port, r.owner.pid, r.owner.start_time);
            if a.has("leave-open") {
                // As `port4me run` does: the process exits with the
                // connection open, so nothing checkpoints on close.
                reg.leave_open();
                return ExitCode::SUCCESS;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("ERROR [{}] {e}", e.code());
            ExitCode::from(1)
        }
    }
}

/// Benchmark worker: waits for a line on stdin, then does `--ops`
/// allocate + deallocate pairs and prints `DONE`.
fn churn(db: &str, a: &Args) -> ExitCode {
    let reg = Registry::open_with(db, Config { durable: !a.has("normal"), ..Config::default() }).expect("open");
    let ops = a.num("ops");
    let prefix = a.get("prefix").to_string();
    // Warm up (WAL and page cache) before the clock starts.
    reg.modules().allocate(4, &format!("{prefix}_warm"), Protocol::Tcp).expect("allocate");
    reg.modules().release(&format!("{prefix}_warm"), Protocol::Tcp).expect("deallocate");
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    for i in 0..ops {
        let m = format!("{prefix}_{}", i % 4);
        reg.modules().allocate(4, &m, Protocol::Tcp).expect("allocate");
        reg.modules().release(&m, Protocol::Tcp).expect("deallocate");
    }
    println!("DONE");
    ExitCode::SUCCESS
}

/// The Rust worker of scripts/torture: `--threads` threads on one registry,
/// each with `--handles` handles of its own (one of them reopened now and
/// then) plus one handle shared by all threads, doing random writes until
/// `--until` (Unix seconds) or a SIGKILL.
///
/// Each thread logs to `PREFIX.tN`, one line per `write(2)` on an O_APPEND
/// file (so a SIGKILL never leaves half a line): `begin OP ARGS` before an
/// operation, then `ack OP ARGS RESULTS` once it succeeded, `err OP CODE`
/// once it failed with an error that racing workers explain, or
/// `unexpected OP CODE MESSAGE` otherwise. scripts/torture/verify.py reads
/// the format (it is the same for the CLI and Node workers). Owners are
/// `self`, `none` or an anchor pid from `--anchors` (processes that outlive
/// the run, so what they own must survive it).
fn torture(db: &str, a: &Args) -> ExitCode {
    let threads = a.num("threads").max(1);
    let anchors: Vec<u32> =
        a.get("anchors").split(',').filter(|s| !s.is_empty()).map(|s| s.parse().expect("pid")).collect();
    // A handle opened before the threads start, used by all of them.
    let shared = match Registry::open(db) {
        Ok(r) => std::sync::Arc::new(r),
        Err(e) => {
            eprintln!("open: [{}] {e}", e.code());
            return ExitCode::from(1);
        }
    };
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (db, shared, anchors) = (db.to_string(), shared.clone(), anchors.clone());
            let log = format!("{}.t{t}", a.get("log"));
            let tag = format!("{}t{t}", a.get("tag"));
            let seed = a.num("seed").wrapping_add(t).max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (handles, until) = (a.num("handles").max(1) as usize, a.num("until"));
            std::thread::spawn(move || {
                TortureThread::new(&db, &log, tag, seed, &anchors, shared).run(handles, until).is_some()
            })
        })
        .collect();
    let mut ok = true;
    for w in workers {
        ok &= w.join().unwrap_or(false);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// One thread of the torture worker: its handles, what it holds (to pick
/// sensible next operations) and its log.
struct TortureThread {
    db: String,
    log: std::fs::File,
    tag: String,
    rng: Rng,
    anchors: Vec<u32>,
    handles: Vec<std::sync::Arc<Registry>>,
    env: port4me::Env,
    seq: u64,
    modules: Vec<(Protocol, String)>,
    services: Vec<String>,
    /// (service, instance) -> (secret, accepted) of offers and allocations held.
    offers: BTreeMap<(String, String), (String, bool)>,
    registrations: Vec<String>,
    leases: Vec<(Protocol, u16)>,
}

/// What an operation came to: success with the results to log, or the
/// error's code and message.
type Outcome = Result<String, (String, String)>;

/// An operation to run once its `begin` line is logged.
type Operation = Box<dyn FnOnce(&mut TortureThread) -> Outcome>;

fn coded(e: Error) -> (String, String) {
    (e.code().to_string(), e.to_string())
}

impl TortureThread {
    fn new(
        db: &str,
        log: &str,
        tag: String,
        seed: u64,
        anchors: &[u32],
        shared: std::sync::Arc<Registry>,
    ) -> TortureThread {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        TortureThread {
            db: db.to_string(),
            log,
            tag,
            rng: Rng(seed),
            anchors: anchors.to_vec(),
            handles: vec![shared],
            env: port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any"), ("PORT4ME_USER", "torture")]),
            seq: 0,
            modules: Vec::new(),
            services: Vec::new(),
            offers: BTreeMap::new(),
            registrations: Vec::new(),
            leases: Vec::new(),
        }
    }

    /// A new handle; None (logged) when it cannot be opened.
    fn open(&mut self) -> Option<std::sync::Arc<Registry>> {
        match Registry::open(&self.db) {
            Ok(h) => {
                self.line("read open");
                Some(std::sync::Arc::new(h))
            }
            Err(e) => {
                self.failed("open", coded(e));
                None
            }
        }
    }

    /// One line, one write(2): the line is in the file before anything else happens.
    fn line(&mut self, s: &str) {
        self.log.write_all(format!("{s}\n").as_bytes()).expect("log write");
    }

    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.rng.below(v.len() as u64) as usize].clone())
    }

    fn owner(&mut self, allow_none: bool) -> (Owner, String) {
        let choice = self.rng.below(if allow_none { 4 } else { 3 });
        match (choice, self.pick(&self.anchors.clone())) {
            // The anchors live as long as the run.
            (0 | 1, Some(pid)) => (Owner::pid(pid).expect("anchor process"), pid.to_string()),
            (3, _) => (Owner::Nobody, "none".into()),
            _ => (Owner::Current, "self".into()),
        }
    }

    /// Opens `handles` handles of its own, then runs until `until` (Unix
    /// seconds); None after an unexpected error.
    fn run(mut self, handles: usize, until: u64) -> Option<()> {
        for _ in 0..handles {
            let h = self.open()?;
            self.handles.push(h);
        }
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        while now() < until {
            // Now and then a new handle replaces one of our own, while the
            // others stay open: what a service opening a handle per request does.
            if self.rng.below(40) == 0 && self.handles.len() > 1 {
                let i = 1 + self.rng.below(self.handles.len() as u64 - 1) as usize;
                self.handles[i] = self.open()?;
            }
            if !self.step() {
                return None;
            }
        }
        Some(())
    }

    /// One random operation on a random handle, logged.
    fn step(&mut self) -> bool {
        let reg = self.pick(&self.handles.clone()).unwrap();
        let proto = if self.rng.below(2) == 0 { Protocol::Tcp } else { Protocol::Udp };
        let p = proto.as_str();
        self.seq += 1;
        let seq = self.seq;
        let tag = self.tag.clone();
        let kind = self.rng.below(100);
        // Each arm: the operation's name and arguments (logged before it
        // runs), and the operation itself.
        let (op, args, outcome): (&str, String, Operation) = match kind {
            0..=24 => {
                let name = format!("{tag}m{}", self.rng.below(6));
                let n = 1 + self.rng.below(8) as u32;
                let keep = self.rng.below(5) == 0;
                let args = format!("{p} {name} {n} {}", keep as u8);
                let f = move |me: &mut Self| {
                    let opts = AllocateOptions { protocol: Protocol::Tcp, keep_existing: keep, pool: None };
                    let r = reg
                        .modules()
                        .allocate(n, &name, AllocateOptions { protocol: proto, ..opts.clone() })
                        .map_err(coded)?;
                    if !me.modules.contains(&(proto, name.clone())) {
                        me.modules.push((proto, name));
                    }
                    Ok(format!("{} {}", r.start, r.end))
                };
                ("alloc", args, Box::new(f))
            }
            25..=34 => {
                let Some((proto, name)) = self.pick(&self.modules.clone()) else { return true };
                let args = format!("{} {name}", proto.as_str());
                let f = move |me: &mut Self| {
                    reg.modules().release(&name, proto).map_err(coded)?;
                    me.modules.retain(|m| *m != (proto, name.clone()));
                    Ok(String::new())
                };
                ("dealloc", args, Box::new(f))
            }
            35..=39 => {
                let name = format!("{tag}s{seq}");
                let start = 40000 + self.rng.below(4900) as u32;
                let end = start + self.rng.below(8) as u32;
                let args = format!("{name} {start} {end}");
                let f = move |me: &mut Self| {
                    reg.services().define(&ServiceDefinition::new(&name, "torture", start, end)).map_err(coded)?;
                    me.services.push(name);
                    Ok(String::new())
                };
                ("define", args, Box::new(f))
            }
            40..=41 => {
                let Some(name) = self.pick(&self.services.clone()) else { return true };
                let args = name.clone();
                let f = move |me: &mut Self| {
                    reg.services().undefine(&name, ReleaseOptions::forced(true)).map_err(coded)?;
                    me.services.retain(|s| *s != name);
                    me.offers.retain(|(s, _), _| *s != name);
                    Ok(String::new())
                };
                ("undefine", args, Box::new(f))
            }
            42..=54 => {
                let Some(service) = self.pick(&self.services.clone()) else { return true };
                let instance = format!("i{}", self.rng.below(6));
                if self.offers.contains_key(&(service.clone(), instance.clone())) {
                    return true;
                }
                let args = format!("{service} {instance}");
                let f = move |me: &mut Self| {
                    let o = reg.services().offer(&service, &instance).map_err(coded)?;
                    me.offers.insert((service, instance), (o.secret, false));
                    Ok(o.port.to_string())
                };
                ("offer", args, Box::new(f))
            }
            55..=65 => {
                let held: Vec<_> = self.offers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let Some(((service, instance), (secret, accepted))) = self.pick(&held) else { return true };
                let args = format!("{service} {instance}");
                match self.rng.below(3) {
                    0 => {
                        let f = move |me: &mut Self| {
                            let port = reg.services().accept(&secret).map_err(coded)?.port;
                            me.offers.insert((service, instance), (secret, true));
                            Ok(port.to_string())
                        };
                        ("accept", args, Box::new(f))
                    }
                    // An accepted offer can only be released.
                    1 if !accepted => {
                        let f = move |me: &mut Self| {
                            reg.services().reject(&secret).map_err(coded)?;
                            me.offers.remove(&(service, instance));
                            Ok(String::new())
                        };
                        ("reject", args, Box::new(f))
                    }
                    _ => {
                        let f = move |me: &mut Self| {
                            reg.services().release(&service, &instance, ReleaseOptions::default()).map_err(coded)?;
                            me.offers.remove(&(service, instance));
                            Ok(String::new())
                        };
                        ("relinst", args, Box::new(f))
                    }
                }
            }
            66..=75 => {
                let name = format!("{tag}r{seq}");
                let (owner, who) = self.owner(false);
                let args = format!("{name} {who}");
                let f = move |me: &mut Self| {
                    let r = reg
                        .registrations()
                        .register(&name, &RegisterOptions { owner, ..RegisterOptions::default() })
                        .map_err(coded)?;
                    me.registrations.push(r.name);
                    Ok(r.port.to_string())
                };
                ("register", args, Box::new(f))
            }
            76..=81 => {
                let Some(name) = self.pick(&self.registrations.clone()) else { return true };
                let args = name.clone();
                let f = move |me: &mut Self| {
                    reg.registrations().release(&name).map_err(coded)?;
                    me.registrations.retain(|r| *r != name);
                    Ok(String::new())
                };
                ("release", args, Box::new(f))
            }
            82..=89 => {
                let (owner, who) = self.owner(true);
                let q = port4me::Port4me::with_env(self.env.clone()).tool(tag.clone()).protocol(proto);
                let f = move |me: &mut Self| {
                    let opts = ReserveOptions { ttl: Duration::from_secs(3600), owner, label: None };
                    let l = reg.leases().reserve(&q, &opts).map_err(coded)?;
                    me.leases.push((proto, l.port));
                    Ok(l.port.to_string())
                };
                ("reserve", format!("{p} {who}"), Box::new(f))
            }
            90..=93 => {
                let Some((proto, port)) = self.pick(&self.leases.clone()) else { return true };
                let f = move |me: &mut Self| {
                    // false: nothing to release, which our own lease never is.
                    if !reg.leases().release(port, proto).map_err(coded)? {
                        return Err(("LEASE_GONE".into(), format!("our lease on {port} was not there")));
                    }
                    me.leases.retain(|l| *l != (proto, port));
                    Ok(String::new())
                };
                ("unreserve", format!("{} {port}", proto.as_str()), Box::new(f))
            }
            _ => {
                // Reads and gc: counted, not checked here.
                let port = 20000 + self.rng.below(30000) as u16;
                let r = match kind {
                    94..=96 => reg.holder_of(port, proto).map(|_| "holder"),
                    97..=98 => reg.listing().map(|_| "list"),
                    _ => reg.gc().map(|_| "gc"),
                };
                return match r {
                    Ok(what) => {
                        self.line(&format!("read {what}"));
                        true
                    }
                    Err(e) => self.failed("read", coded(e)),
                };
            }
        };
        self.line(&format!("begin {op} {args}"));
        match outcome(self) {
            Ok(results) => {
                self.line(format!("ack {op} {args} {results}").trim_end());
                true
            }
            Err(e) => self.failed(op, e),
        }
    }

    /// Logs a failed operation; false when racing workers do not explain it.
    fn failed(&mut self, op: &str, (code, msg): (String, String)) -> bool {
        const RACES: &[&str] = &[
            "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED",
            "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT",
            "ERR_PORT4ME_REGISTRY_SERVICE_FULL",
            "ERR_PORT4ME_NO_FREE_PORT",
        ];
        if RACES.contains(&code.as_str()) {
            self.line(&format!("err {op} {code}"));
            true
        } else {
            self.line(&format!("unexpected {op} {code} {}", msg.replace('\n', " ")));
            false
        }
    }
}
