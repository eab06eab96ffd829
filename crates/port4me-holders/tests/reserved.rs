//! The "reserved" status comes from the port4me registry.
#![cfg(feature = "registry")]

use std::net::{Ipv4Addr, TcpListener};

use port4me_holders::{current_uid, plan, status, user_name, Availability, PlanOptions};
use port4me_registry::{Owner, RegisterOptions, Registry};

#[test]
fn reserved_ports_name_their_owner_and_status_never_creates_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ports.sqlite");
    // This is the only test in this binary, so setting the variable is safe.
    std::env::set_var("PORT4ME_DB", &db);

    // No registry yet: nothing is reserved, and none is created.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    assert_eq!(status(port as u32).unwrap().reserved, None);
    assert!(!db.exists(), "status must not create the registry");

    let reg = Registry::open(&db).unwrap();
    let opts = RegisterOptions { owner: Owner::Current, pool: Some((port, port)), ..Default::default() };
    let r = reg.register_with("p4m-holders-test", &opts).unwrap();
    assert_eq!(r.port, port);

    let s = status(port as u32).unwrap();
    let res = s.reserved.as_ref().expect("reserved");
    assert_eq!(res.kind, "registration");
    assert_eq!(res.name, "p4m-holders-test");
    assert_eq!(res.owner.as_deref(), Some(user_name(current_uid()).as_str()));
    assert_eq!(res.pid, Some(std::process::id()));
    assert_eq!((res.start, res.end), (port, port));
    assert_eq!(s.availability, Availability::Free);
    assert_eq!(s.label(), "reserved");
    assert_eq!(s.labels(), ["free", "reserved"]);
    assert!(s.describe().contains("reserved in the registry: registration \"p4m-holders-test\""), "{}", s.describe());

    // Other ports are not.
    let other = if port == 65535 { port - 1 } else { port + 1 };
    assert_eq!(status(other as u32).unwrap().reserved, None);

    // A plan never hands out, as an alternative, a port the registry holds:
    // hold web's first free candidate, take web's preferred port, and the
    // plan moves web past the held port.
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let preferred = listener.local_addr().unwrap().port();
    let first_free = port4me::Port4me::new().user("alice").tool("web").find().unwrap();
    let hold = RegisterOptions { owner: Owner::Current, pool: Some((first_free, first_free)), ..Default::default() };
    reg.register_with("p4m-plan-hold", &hold).unwrap();
    let opts = PlanOptions { user: Some("alice".into()), ..PlanOptions::default() };
    let p = plan(&[("web", preferred as u32)], &opts).unwrap();
    let web = p.port_of("web").unwrap();
    assert_ne!(web, preferred);
    assert_ne!(web, first_free, "the plan gave out a port the registry holds");
    let later = port4me::Port4me::new().user("alice").tool("web").list(50).unwrap();
    assert!(later.contains(&web), "{web} is not from web's own sequence");
}
