//! The four jobs of the registry, one process.

use std::time::Duration;

use crate::common::*;
use port4me_registry::*;

fn open(path: &std::path::Path) -> Registry {
    Registry::open(path).unwrap()
}

fn assume_free(user: &str) -> port4me::Port4me {
    port4me::Port4me::with_env(port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")])).user(user)
}

#[test]
fn module_ranges_first_fit_replace_keep_and_deallocate() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let r = |s, e| PortRange { start: s, end: e };
    assert_eq!(reg.modules().allocate(5, "a", Protocol::Tcp).unwrap(), r(20000, 20004));
    assert_eq!(reg.modules().allocate(3, "b", Protocol::Tcp).unwrap(), r(20005, 20007));
    // UDP is a separate space.
    assert_eq!(reg.modules().allocate(2, "a", Protocol::Udp).unwrap(), r(20000, 20001));
    // Replacing "a" frees 20000-20004; 2 ports fit there again.
    assert_eq!(reg.modules().allocate(2, "a", Protocol::Tcp).unwrap(), r(20000, 20001));
    // A gap of 3 (20002-20004) is too small for 4: goes after b.
    assert_eq!(reg.modules().allocate(4, "c", Protocol::Tcp).unwrap(), r(20008, 20011));
    // keep_existing adds a second range, first fit into the gap.
    let keep = AllocateOptions { protocol: Protocol::Tcp, keep_existing: true, pool: None };
    assert_eq!(
        reg.modules().allocate(3, "a", AllocateOptions { protocol: Protocol::Tcp, ..keep.clone() }).unwrap(),
        r(20002, 20004)
    );
    assert_eq!(reg.modules().ranges("a", Protocol::Tcp).unwrap(), [r(20000, 20001), r(20002, 20004)]);
    // The inspection query from the issue works unchanged.
    let c = raw(&path);
    let mut stmt = c.prepare("SELECT *, 'tcp' FROM TCP_PORTS UNION SELECT *, 'udp' FROM UDP_PORTS;").unwrap();
    let rows: Vec<(u16, u16, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.contains(&(20000, 20001, "a".into(), "udp".into())));
    assert_eq!(reg.modules().release("a", Protocol::Tcp).unwrap(), [r(20000, 20001), r(20002, 20004)]);
    assert_eq!(reg.modules().release("a", Protocol::Tcp).unwrap(), []);
    assert_eq!(reg.modules().release("nobody", Protocol::Udp).unwrap(), []);
    assert_eq!(reg.modules().list(None).unwrap().len(), 3);
    assert!(violations(&path).is_empty());
}

#[test]
fn exhausting_a_small_pool_and_a_failed_replacement_keeps_the_old_range() {
    let (_d, path) = temp_db();
    let reg = Registry::open_with(&path, Config { module_pool: (30000, 30009), ..Config::default() }).unwrap();
    assert_eq!(reg.modules().allocate(6, "a", Protocol::Tcp).unwrap(), PortRange { start: 30000, end: 30005 });
    assert_eq!(reg.modules().allocate(4, "b", Protocol::Tcp).unwrap(), PortRange { start: 30006, end: 30009 });
    let before = dump(&path);
    let e = reg.modules().allocate(1, "c", Protocol::Tcp).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED");
    assert!(e.to_string().contains("30000-30009") && e.to_string().contains(&path.display().to_string()), "{e}");
    // Replacing b with 7 ports fails (only b's own 4 would be free): b keeps its range.
    assert_eq!(
        reg.modules().allocate(7, "b", Protocol::Tcp).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED"
    );
    assert_eq!(dump(&path), before);
    // ... but replacing it with 4 reuses its own ports.
    assert_eq!(reg.modules().allocate(4, "b", Protocol::Tcp).unwrap(), PortRange { start: 30006, end: 30009 });
}

#[test]
fn pools_share_one_port_space_across_holders() {
    let (_d, path) = temp_db();
    // Module and registration pools overlap on purpose.
    let reg = Registry::open_with(
        &path,
        Config { module_pool: (40000, 40009), registration_pool: (40000, 40009), ..Config::default() },
    )
    .unwrap();
    let r = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    assert_eq!(r.port, 40000);
    assert_eq!(reg.modules().allocate(3, "m", Protocol::Tcp).unwrap(), PortRange { start: 40001, end: 40003 });
    let r2 = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    assert_eq!((r2.name.as_str(), r2.port), ("web_1", 40004));
    // A service range over them is refused, naming the holder.
    let e = reg.services().define(&ServiceDefinition::new("svc", "", 40002, 40006)).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT");
    assert!(e.to_string().contains("registration \"web_1\" (port 40004/tcp)"), "{e}");
    let e = reg.services().define(&ServiceDefinition::new("svc", "", 40002, 40003)).unwrap_err();
    assert!(e.to_string().contains("module \"m\" (ports 40001-40003/tcp)"), "{e}");
    reg.services().define(&ServiceDefinition::new("svc", "", 40005, 40006)).unwrap();
    assert_eq!(reg.modules().allocate(2, "n", Protocol::Tcp).unwrap(), PortRange { start: 40007, end: 40008 });
    // A reservation skips all of them: the only port left is 40009.
    let q = assume_free("alice").prepend("40000-40009").include("40000-40009").max_tries(30);
    assert_eq!(reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap(), 40009);
    let e = reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_NO_FREE_PORT");

    let kinds: Vec<_> = (40000..=40009).map(|p| reg.holder_of(p, Protocol::Tcp).unwrap().unwrap().kind).collect();
    use HoldingKind::*;
    assert_eq!(kinds, [Registration, Module, Module, Module, Registration, Service, Service, Module, Module, Lease]);
    assert_eq!(reg.holder_of(40010, Protocol::Tcp).unwrap(), None);
    assert_eq!(reg.holder_of(40000, Protocol::Udp).unwrap(), None);
    let h = reg.holder_of(40000, Protocol::Tcp).unwrap().unwrap();
    assert_eq!(h.name, "web");
    assert_eq!(h.pid, Some(std::process::id()));
    assert_eq!(h.uid, Some(User::current().uid));
    let lease = reg.holder_of(40009, Protocol::Tcp).unwrap().unwrap();
    assert_eq!(lease.name, "alice");
    assert!(lease.expires.is_some());
    assert_eq!(reg.holdings(Some(Protocol::Tcp)).unwrap().len(), 6);
    assert!(violations(&path).is_empty());
}

#[test]
fn services_offer_accept_reject_and_lookups() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let s = reg.services().define(&ServiceDefinition::new("db", "databases", 15000, 15002)).unwrap();
    assert_eq!((s.start, s.end, s.protocol), (15000, 15002, Protocol::Tcp));
    assert_eq!(
        reg.services().define(&ServiceDefinition::new("db", "", 16000, 16001)).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_SERVICE_EXISTS"
    );
    assert_eq!(
        reg.services().define(&ServiceDefinition::new("db2", "", 15002, 15010)).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT"
    );
    reg.services().define(&ServiceDefinition::new("cache", "", 15003, 15010)).unwrap();

    let a = reg.services().offer("db", "a").unwrap();
    assert_eq!(a.port, 15000);
    assert_eq!(a.secret.len(), 32);
    assert!(a.expires > a.created);
    let b = reg.services().offer("db", "b").unwrap();
    assert_eq!(b.port, 15001);
    assert_ne!(a.secret, b.secret);
    let e = reg.services().offer("db", "a").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS");
    let sp = reg.services().accept(&a.secret).unwrap();
    assert_eq!((sp.port, sp.state), (15000, PortState::Allocated));
    // Accepting twice is harmless; rejecting an accepted offer is not allowed.
    assert_eq!(reg.services().accept(&a.secret).unwrap().port, 15000);
    assert_eq!(reg.services().reject(&a.secret).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_ALREADY_ACCEPTED");
    // Reject b: its port is the lowest free one again.
    assert_eq!(reg.services().reject(&b.secret).unwrap().port, 15001);
    assert_eq!(reg.services().reject(&b.secret).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET");
    let c = reg.services().offer("db", "c").unwrap();
    assert_eq!(c.port, 15001);
    let d = reg.services().offer("db", "d").unwrap();
    assert_eq!(d.port, 15002);
    let e = reg.services().offer("db", "e").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_SERVICE_FULL");
    assert_eq!(reg.services().offer("nope", "x").unwrap_err().code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE");

    let ports: Vec<_> =
        reg.services().ports("db").unwrap().into_iter().map(|p| (p.instance, p.port, p.state)).collect();
    assert_eq!(
        ports,
        [
            ("a".into(), 15000, PortState::Allocated),
            ("c".into(), 15001, PortState::Offered),
            ("d".into(), 15002, PortState::Offered)
        ]
    );
    assert_eq!(reg.services().port_at(15001, Protocol::Tcp).unwrap().unwrap().instance, "c");
    assert_eq!(reg.services().port_at(15001, Protocol::Udp).unwrap(), None);
    assert_eq!(reg.services().port_at(15005, Protocol::Tcp).unwrap(), None);
    assert_eq!(reg.services().instance("db", "d").unwrap().unwrap().port, 15002);
    assert_eq!(reg.services().instance("db", "zz").unwrap(), None);
    // show: every port, one instance's (which wins over a port), or the one on a port of this service.
    let show = |i: Option<&str>, p: Option<u16>| -> Vec<u16> {
        reg.services().show("db", i, p).unwrap().into_iter().map(|sp| sp.port).collect()
    };
    assert_eq!(show(None, None), reg.services().ports("db").unwrap().iter().map(|sp| sp.port).collect::<Vec<_>>());
    assert_eq!(show(Some("d"), Some(15001)), [15002]);
    assert_eq!(show(None, Some(15001)), [15001]);
    assert_eq!(show(None, Some(15005)), Vec::<u16>::new());
    assert_eq!(
        reg.services().show("nope", None, Some(15001)).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE"
    );
    let h = reg.holder_of(15000, Protocol::Tcp).unwrap().unwrap();
    assert_eq!((h.kind, h.instance.as_deref()), (HoldingKind::Allocation, Some("a")));
    assert_eq!(reg.holder_of(15004, Protocol::Tcp).unwrap().unwrap().kind, HoldingKind::Service);
    // Release an allocated instance.
    assert_eq!(reg.services().release("db", "a", ReleaseOptions::default()).unwrap().port, 15000);
    assert_eq!(
        reg.services().release("db", "a", ReleaseOptions::default()).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE"
    );
    assert_eq!(reg.services().definitions().unwrap().len(), 2);
    assert!(violations(&path).is_empty());
}

#[test]
fn offers_expire_and_their_secret_says_so() {
    let (_d, path) = temp_db();
    let reg =
        Registry::open_with(&path, Config { offer_ttl: Duration::from_millis(300), ..Config::default() }).unwrap();
    reg.services().define(&ServiceDefinition::new("db", "", 15000, 15001)).unwrap();
    let a = reg.services().offer("db", "a").unwrap();
    let b = reg.services().offer("db", "b").unwrap();
    reg.services().accept(&b.secret).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // a expired: its port is free again, and its secret is reported as expired.
    let e = reg.services().accept(&a.secret).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET");
    assert!(e.to_string().contains("15000") && e.to_string().contains("\"a\""), "{e}");
    assert_eq!(reg.services().reject(&a.secret).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET");
    assert_eq!(reg.services().ports("db").unwrap().len(), 1);
    let c = reg.services().offer("db", "a").unwrap();
    assert_eq!(c.port, 15000);
    // The accepted one did not expire.
    assert_eq!(reg.services().instance("db", "b").unwrap().unwrap().state, PortState::Allocated);
    let e = reg.services().accept("00000000000000000000000000000000").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET");
}

#[test]
fn service_range_rules() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let code = |r: Result<Service>| r.unwrap_err().code();
    assert_eq!(
        code(reg.services().define(&ServiceDefinition::new("x", "", 5000, 4000))),
        "ERR_PORT4ME_REGISTRY_INVALID_RANGE"
    );
    assert_eq!(
        code(reg.services().define(&ServiceDefinition::new("x", "", 0, 4000))),
        "ERR_PORT4ME_REGISTRY_INVALID_RANGE"
    );
    assert_eq!(
        code(reg.services().define(&ServiceDefinition::new("x", "", 5000, 70000))),
        "ERR_PORT4ME_REGISTRY_INVALID_RANGE"
    );
    assert_eq!(
        code(reg.services().define(&ServiceDefinition::new("x", "", 1000, 1100))),
        "ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE"
    );
    assert_eq!(
        code(reg.services().define(&ServiceDefinition::new("x", "", 49000, 49152))),
        "ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE"
    );
    let forced = ServiceDefinition { force: true, ..ServiceDefinition::new("low", "", 80, 80) };
    assert_eq!(reg.services().define(&forced).unwrap().start, 80);
    let hi =
        ServiceDefinition { force: true, protocol: Protocol::Udp, ..ServiceDefinition::new("hi", "", 50000, 50010) };
    assert_eq!(reg.services().define(&hi).unwrap().protocol, Protocol::Udp);
    // Same range, other protocol: no conflict.
    let hi_tcp = ServiceDefinition { force: true, ..ServiceDefinition::new("hi-tcp", "", 50000, 50010) };
    reg.services().define(&hi_tcp).unwrap();
    assert_eq!(reg.services().offer("hi", "x").unwrap().port, 50000);
    assert_eq!(reg.holder_of(50000, Protocol::Udp).unwrap().unwrap().kind, HoldingKind::Offer);
    assert_eq!(reg.holder_of(50000, Protocol::Tcp).unwrap().unwrap().kind, HoldingKind::Service);
}

#[test]
fn registrations_suffixes_find_release() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let me = User::current();
    let a = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    let b = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    let c = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    let d = reg.registrations().register("api", RegisterOptions::default()).unwrap();
    assert_eq!([&a.name, &b.name, &c.name, &d.name], ["web", "web_1", "web_2", "api"]);
    assert_eq!([a.port, b.port, c.port, d.port], [45001, 45002, 45003, 45004]);
    assert_eq!(a.user, me.name);
    assert_eq!(a.owner, ProcessId::current().unwrap());
    // Releasing web_1 frees the name and the port for the next one.
    assert_eq!(reg.registrations().release("web_1").unwrap().port, 45002);
    let e = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    assert_eq!((e.name.as_str(), e.port), ("web_1", 45002));
    assert_eq!(reg.registrations().release("nope").unwrap_err().code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION");

    let names = |f: Filter| reg.registrations().find(&f).unwrap().into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(reg.registrations().list().unwrap().len(), 4);
    assert_eq!(names(Filter { service: Some("web".into()), ..Default::default() }), ["web", "web_1", "web_2"]);
    assert_eq!(names(Filter { beginswith: Some("web_".into()), ..Default::default() }), ["web_1", "web_2"]);
    assert_eq!(
        names(Filter { beginswith: Some("a".into()), user: Some(me.name.clone()), ..Default::default() }),
        ["api"]
    );
    assert_eq!(
        names(Filter { service: Some("web".into()), user: Some("someone-else".into()), ..Default::default() }),
        Vec::<String>::new()
    );
    // LIKE wildcards are literal.
    assert_eq!(names(Filter { beginswith: Some("%".into()), ..Default::default() }), Vec::<String>::new());
    assert_eq!(reg.registrations().release_port(45004, Protocol::Tcp).unwrap().name, "api");
    assert!(violations(&path).is_empty());
    // Nothing to release: the error says what was asked for, by name or by port.
    let me = User::current().name;
    let e = reg.registrations().release("nope").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION");
    assert_eq!(e.to_string(), format!("no registration named \"nope\" for user {me:?}"));
    let e = reg.registrations().release_port(45004, Protocol::Udp).unwrap_err();
    assert_eq!(e.to_string(), format!("no registration on port 45004/udp for user {me:?}"));
}

#[test]
fn another_users_registration_cannot_be_released() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    reg.registrations().register("shared", RegisterOptions::default()).unwrap();
    let mine = reg.registrations().register("mine", RegisterOptions::default()).unwrap();
    // Make "shared" belong to another uid, as if registered by someone else.
    raw(&path)
        .execute("UPDATE registrations SET uid = uid + 4242, user = 'mallory' WHERE name = 'shared'", [])
        .unwrap();
    let before = dump(&path);
    let e = reg.registrations().release("shared").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_OWNER");
    assert!(e.to_string().contains("mallory") && e.to_string().contains("shared"), "{e}");
    let e = reg.registrations().release_port(45001, Protocol::Tcp).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_OWNER");
    assert_eq!(dump(&path), before);
    // The same name is free for me (names are per user).
    assert_eq!(reg.registrations().register("shared", RegisterOptions::default()).unwrap().name, "shared");
    assert_eq!(reg.registrations().release("mine").unwrap().port, mine.port);
}

#[test]
fn reserve_skips_held_ports_and_leases_end_by_time() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let q = assume_free("alice");
    let first = q.clone().find().unwrap();
    assert_eq!(first, 30845);
    let leases: Vec<u16> =
        (0..3).map(|_| reg.leases().reserve(&q, Duration::from_millis(400)).map(|l| l.port).unwrap()).collect();
    // Successive candidates of alice's sequence.
    assert_eq!(leases, [30845, 19654, 32310]);
    assert_eq!(reg.leases().list().unwrap().len(), 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(reg.leases().list().unwrap().len(), 0);
    assert_eq!(reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap(), 30845);
    // A module range over alice's next candidate makes reserve skip it.
    let opts = AllocateOptions { protocol: Protocol::Tcp, keep_existing: false, pool: Some((19650, 19660)) };
    reg.modules().allocate(11, "m", AllocateOptions { protocol: Protocol::Tcp, ..opts.clone() }).unwrap();
    assert_eq!(reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap(), 32310);
    // UDP leases are separate.
    assert_eq!(
        reg.leases().reserve(&q.clone().protocol(Protocol::Udp), Duration::from_secs(60)).map(|l| l.port).unwrap(),
        30845
    );
    let lease = reg
        .leases()
        .reserve(&q, &ReserveOptions { label: Some("mine".into()), owner: Owner::Nobody, ..Default::default() })
        .unwrap();
    assert_eq!((lease.port, lease.owner, lease.label.as_str()), (63992, None, "mine"));
    assert!(reg.leases().release(63992, Protocol::Tcp).unwrap());
    assert!(!reg.leases().release(63992, Protocol::Tcp).unwrap());
    assert!(violations(&path).is_empty());
}

#[test]
fn hold_takes_the_sequence_like_reserve_and_ps_lists_it() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let q = assume_free("alice").tool("vite");
    let first = q.clone().find().unwrap();
    let opts = HoldOptions { command: Some("vite --port {port}".into()), ..Default::default() };
    let a = reg.registrations().hold(&q, &opts).unwrap();
    let b = reg.registrations().hold(&q, &opts).unwrap();
    // The first two free candidates of alice's vite sequence, under the
    // tool's name as register names them.
    assert_eq!(a.port, first);
    assert_eq!(b.port, q.list(2).unwrap()[1]);
    assert_eq!((a.name.as_str(), b.name.as_str(), a.service.as_str()), ("vite", "vite_1", "vite"));
    assert_eq!((a.tool.as_str(), a.seed.as_str()), ("vite", "alice,vite"));
    assert_eq!(a.command, format!("vite --port {}", a.port));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(a.directory, cwd.to_string_lossy());
    assert_eq!(a.worktree, port4me::worktree::worktree_name(&cwd).unwrap());
    // A lease skips both, and a lease with an owner is listed too.
    let lease = reg.leases().reserve(&q, ReserveOptions::default()).unwrap();
    assert_eq!(lease.port, q.list(3).unwrap()[2]);
    assert_eq!(lease.tool, "vite");
    let timed = reg.leases().reserve(&q, &ReserveOptions { owner: Owner::Nobody, ..Default::default() }).unwrap();
    let running = reg.running().unwrap();
    let ports: Vec<u16> = running.iter().map(|r| r.port).collect();
    let mut expected = vec![a.port, b.port, lease.port];
    expected.sort();
    assert_eq!(ports, expected, "the lease without an owner ({}) is not listed", timed.port);
    let ra = running.iter().find(|r| r.port == a.port).unwrap();
    assert_eq!(
        (ra.kind, ra.url.clone(), ra.owner.pid),
        (RunningKind::Registration, format!("http://localhost:{}", a.port), std::process::id())
    );
    assert_eq!(ra.seed, "alice,vite");
    // Without a tool, the seed names the service.
    let plain = reg.registrations().hold(&assume_free("bob"), HoldOptions::default()).unwrap();
    assert_eq!((plain.service.as_str(), plain.tool.as_str()), ("bob", ""));
    // The command defaults to this process's own.
    assert!(plain.command.contains("registry"), "{}", plain.command);
    assert!(violations(&path).is_empty());
}

#[test]
fn reserve_probes_real_sockets() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let q = port4me::Port4me::new().user("probe-test-user").tool("x");
    let first = reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap();
    // Occupy the next candidate: reserve must skip it as well.
    let next_free =
        q.list(10).unwrap().into_iter().filter(|&p| p != first).find(|&p| port4me::test(p).unwrap()).unwrap();
    let _listener = std::net::TcpListener::bind(("0.0.0.0", next_free)).unwrap();
    let second = reg.leases().reserve(&q, Duration::from_secs(60)).map(|l| l.port).unwrap();
    assert!(second != first && second != next_free);
}

/// A dev server restarted within a minute finds its port with the last
/// run's connections in `TIME_WAIT`. The reference's search skips such a
/// port; `hold` (what `port4me run` and the Vite plugin use) takes it, as
/// the server itself can listen there.
#[cfg(target_os = "linux")]
#[test]
fn hold_takes_a_port_whose_connections_linger_in_time_wait() {
    use std::io::Read;
    // Below Linux's ephemeral range (32768-60999): the TIME_WAIT outlives
    // the test, and another test's `bind(":0")` with `SO_REUSEADDR` could
    // be given that port.
    let l = (21000..32000).step_by(89).find_map(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok()).unwrap();
    let port = l.local_addr().unwrap().port();
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (served, _) = l.accept().unwrap();
    drop((l, served)); // the server closes first: TIME_WAIT on its port
    client.read_to_end(&mut Vec::new()).unwrap();
    drop(client);
    let q = port4me::Port4me::new().user("time-wait-user").tool("x").prepend(vec![port]);
    assert_ne!(q.clone().find().unwrap(), port, "the reference's search skips {port} in TIME_WAIT");
    let (_d, path) = temp_db();
    let held = open(&path).registrations().hold(&q, HoldOptions::default()).unwrap();
    assert_eq!(held.port, port);
    drop(std::net::TcpListener::bind(("0.0.0.0", port)).expect("the server listens on the port held for it"));
}

#[test]
fn gc_reports_and_reclaims_a_dead_owner_and_a_reused_pid() {
    let (_d, path) = temp_db();
    let reg = open(&path);
    let me = ProcessId::current().unwrap();
    // Same pid, different start time: a new process that reused the pid.
    let impostor = ProcessId { pid: me.pid, start_time: me.start_time + 1 };
    let opts = RegisterOptions { owner: Owner::Process(impostor), ..Default::default() };
    let gone = reg.registrations().register("old", &opts).unwrap();
    let live = reg
        .registrations()
        .register("new", &RegisterOptions { owner: Owner::Process(me), ..Default::default() })
        .unwrap();
    // Lazily: the next operation already no longer sees it.
    let names: Vec<_> = reg.registrations().list().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["new"]);
    // "old" was reclaimed before "new" was placed, so "new" got its port.
    assert_eq!(gone.port, live.port);
    assert_eq!(reg.holder_of(live.port, Protocol::Tcp).unwrap().unwrap().name, "new");
    let q = assume_free("bob");
    reg.leases().reserve(&q, &ReserveOptions { owner: Owner::Process(impostor), ..Default::default() }).unwrap();
    let report = reg.gc().unwrap();
    assert_eq!(report, GcReport { registrations: 0, leases: 1, offers: 0 });
    assert_eq!(reg.gc().unwrap().total(), 0);
}

#[test]
fn concurrent_threads_share_one_handle_and_separate_handles() {
    let (_d, path) = temp_db();
    let shared = std::sync::Arc::new(open(&path));
    let mut handles = Vec::new();
    for t in 0..4 {
        let shared = shared.clone();
        let path = path.clone();
        handles.push(std::thread::spawn(move || {
            let own = Registry::open(&path).unwrap();
            let mut got = Vec::new();
            for i in 0..25 {
                let reg = if i % 2 == 0 { &*shared } else { &own };
                got.push(reg.modules().allocate(2, &format!("t{t}_{i}"), Protocol::Tcp).unwrap());
            }
            got
        }));
    }
    let mut all: Vec<PortRange> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort();
    assert_eq!(all.len(), 100);
    assert!(all.windows(2).all(|w| w[0].end < w[1].start), "{all:?}");
    assert!(violations(&path).is_empty());
}

#[test]
fn first_fit_matches_a_brute_force_model() {
    let (_d, path) = temp_db();
    let reg = Registry::open_with(&path, Config { durable: false, ..Config::default() }).unwrap();
    let mut rng = 0x1234_5678_9abc_def1u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    // The model: which module holds each port of 30000..30300.
    let mut held: std::collections::BTreeMap<u16, String> = Default::default();
    for step in 0..600 {
        let module = format!("m{}", next(12));
        if next(3) == 0 {
            let released = reg.modules().release(&module, Protocol::Tcp).unwrap();
            let mine: Vec<u16> = held.iter().filter(|(_, m)| **m == module).map(|(p, _)| *p).collect();
            assert_eq!(released.iter().map(|r| r.len() as usize).sum::<usize>(), mine.len(), "step {step}");
            held.retain(|_, m| *m != module);
            continue;
        }
        let lo = 30000 + next(100) as u16;
        let hi = lo + next(200) as u16;
        let n = 1 + next(12) as u32;
        let keep = next(4) == 0;
        let opts = AllocateOptions { protocol: Protocol::Tcp, keep_existing: keep, pool: Some((lo, hi)) };
        let got = reg.modules().allocate(n, &module, AllocateOptions { protocol: Protocol::Tcp, ..opts.clone() });
        // Expected: replacing frees the module's ports first (even if it then fails).
        let mut model = held.clone();
        if !keep {
            model.retain(|_, m| *m != module);
        }
        let expected = (u32::from(lo)..=u32::from(hi).saturating_sub(n - 1))
            .find(|&s| (s..s + n).all(|p| !model.contains_key(&(p as u16))));
        match (got, expected) {
            (Ok(r), Some(s)) => {
                assert_eq!(u32::from(r.start), s, "step {step}: pool {lo}-{hi} n {n}");
                for p in s..s + n {
                    model.insert(p as u16, module.clone());
                }
                held = model;
            }
            (Err(e), None) if n > u32::from(hi - lo) + 1 => assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INVALID_COUNT"),
            (Err(e), None) => assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED", "step {step}"),
            (got, expected) => panic!("step {step}: pool {lo}-{hi} n {n}: got {got:?}, expected {expected:?}"),
        }
        if step % 50 == 0 {
            assert!(violations(&path).is_empty(), "step {step}");
        }
    }
    assert!(violations(&path).is_empty());
}

#[test]
fn schema_is_versioned_and_marked() {
    let (_d, path) = temp_db();
    drop(open(&path));
    let c = raw(&path);
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let id: i64 = c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!((v, id, mode.as_str()), (schema::SCHEMA_VERSION, schema::APPLICATION_ID, "wal"));
    drop(c);
    // Reopening an up-to-date database changes nothing.
    let before = dump(&path);
    let reg = open(&path);
    assert_eq!(dump(&path), before);
    // A database that was created but never migrated (version 0, empty) is initialised.
    let (_d2, empty) = temp_db();
    std::fs::write(&empty, b"").unwrap();
    Registry::open(&empty).unwrap().modules().allocate(1, "x", Protocol::Udp).unwrap();
    drop(reg);
}
