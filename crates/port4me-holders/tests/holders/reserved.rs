//! The "reserved" status comes from the registry the caller passes in (the
//! `registry` feature's `Reservations` for `port4me_registry::Registry`);
//! nothing here sets or reads `PORT4ME_DB`.

use std::net::{Ipv4Addr, TcpListener};

use port4me_holders::reservations::from_open;
use port4me_holders::{
    current_uid, plan, status, user_name, Availability, NoRegistry, PlanOptions, StatusLabel, Unreadable,
};
use port4me_registry::{Config, Owner, RegisterOptions, Registry};

#[test]
fn reserved_ports_name_their_owner() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ports.sqlite");

    // No registry file: opening it read-only fails as "not found", which
    // means nothing is reserved, and nothing is created.
    let read_only = || Registry::open_with(&db, Config { read_only: true, ..Config::default() });
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    assert_eq!(status(port as u32, &*from_open(read_only())).unwrap().reserved, None);
    assert!(!db.exists(), "a status must not create the registry");

    let reg = Registry::open(&db).unwrap();
    let opts = RegisterOptions { owner: Owner::Current, pool: Some((port, port)), ..Default::default() };
    let r = reg.registrations().register("p4m-holders-test", &opts).unwrap();
    assert_eq!(r.port, port);

    let view = from_open(read_only());
    let s = status(port as u32, &*view).unwrap();
    let res = s.reserved.as_ref().expect("reserved");
    assert_eq!(res.kind, "registration");
    assert_eq!(res.name, "p4m-holders-test");
    assert_eq!(res.owner.as_deref(), Some(user_name(current_uid()).as_str()));
    assert_eq!(res.pid, Some(std::process::id()));
    assert_eq!((res.start, res.end), (port, port));
    assert_eq!(s.availability, Availability::Free);
    assert_eq!(s.label, StatusLabel::Reserved);
    assert_eq!(s.labels, [StatusLabel::Free, StatusLabel::Reserved]);
    assert!(s.describe().contains("reserved in the registry: registration \"p4m-holders-test\""), "{}", s.describe());
    // Without the registry, the same port is plainly free.
    assert_eq!(status(port as u32, &NoRegistry).unwrap().label, StatusLabel::Free);

    // Other ports are not reserved.
    let other = if port == 65535 { port - 1 } else { port + 1 };
    assert_eq!(status(other as u32, &reg).unwrap().reserved, None);

    // A plan never hands out, as an alternative, a port the registry holds:
    // hold web's first free candidate, take web's preferred port, and the
    // plan moves web past the held port.
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let preferred = listener.local_addr().unwrap().port();
    let first_free = port4me::Port4me::new().user("alice").tool("web").find().unwrap();
    let hold = RegisterOptions { owner: Owner::Current, pool: Some((first_free, first_free)), ..Default::default() };
    reg.registrations().register("p4m-plan-hold", &hold).unwrap();
    let opts = PlanOptions { user: Some("alice".into()), ..PlanOptions::default() };
    let p = plan(&[("web", preferred as u32)], &opts, &reg).unwrap();
    let web = p.port_of("web").unwrap();
    assert_ne!(web, preferred);
    assert_ne!(web, first_free, "the plan gave out a port the registry holds");
    let later = port4me::Port4me::new().user("alice").tool("web").list(50).unwrap();
    assert!(later.contains(&web), "{web} is not from web's own sequence");
    // The same plan without the registry takes that port.
    let p = plan(&[("web", preferred as u32)], &opts, &NoRegistry).unwrap();
    assert_eq!(p.port_of("web"), Some(first_free));
}

#[test]
fn an_unreadable_registry_is_unknown_not_free() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ports.sqlite");
    std::fs::write(&db, b"this is not a database").unwrap();
    let view = from_open(Registry::open_with(&db, Config { read_only: true, ..Config::default() }));
    let why = view.unreadable().expect("a file that is not SQLite is unreadable").to_string();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let s = status(port as u32, &*view).unwrap();
    assert_eq!(s.label, StatusLabel::Unknown);
    assert_eq!(s.registry_error.as_deref(), Some(why.as_str()));
    let p = plan(&[("web", port as u32)], &PlanOptions::default(), &Unreadable(why.clone())).unwrap();
    assert_eq!(p.registry_error.as_deref(), Some(why.as_str()));
}
