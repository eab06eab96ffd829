//! Plans over real ports, some held by child processes of the test, and the
//! `kill` strategy against the test's own children and another user's.

use std::time::Duration;

use crate::common::{spawn, NOBODY};
use port4me::probe::{is_port_free, ProbeOptions};
use port4me::Port4me;
use port4me_holders::{
    parse_entry, plan, unsafe_for, ConflictCause, NoRegistry, Outcome, Plan, PlanOptions, Protocol, Signal,
    SocketState, Strategy,
};

const USER: &str = "p4m-plan-test";

fn opts(strategy: Strategy) -> PlanOptions {
    PlanOptions { strategy, user: Some(USER.into()), grace: Duration::from_secs(3), ..Default::default() }
}

fn free(p: u16) -> bool {
    is_port_free(p, &ProbeOptions { protocol: Protocol::Tcp, ..Default::default() }).unwrap()
}

/// What the plan should give `service` when its preferred port is taken:
/// the first candidate of its own sequence that is free, safe, and not
/// among `avoid`.
fn expected_alternative(service: &str, avoid: &[u16]) -> u16 {
    let seq = Port4me::new().user(USER).tool(service).list(200).unwrap();
    *seq.iter().find(|&&p| !avoid.contains(&p) && unsafe_for(p).is_empty() && free(p)).unwrap()
}

#[test]
fn free_ports_are_kept_and_taken_ones_move_deterministically() {
    let web_holder = spawn("tcp4", None).unwrap();
    let db_holder = spawn("tcp6", None).or_else(|_| spawn("tcp4", None)).unwrap();
    let (web, db) = (web_holder.port(), db_holder.port());
    let api = crate::common::free_port();
    let services = [("web", web as u32), ("api", api as u32), ("db", db as u32)];

    let p = plan(&services, &opts(Strategy::Alternative), &NoRegistry).unwrap();
    assert!(p.is_complete());
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web", "api", "db"]);

    let api_plan = &p.services[1];
    assert_eq!((api_plan.port, api_plan.outcome), (Some(api), Outcome::Kept));
    assert!(api_plan.conflict.is_none());

    let preferred = [web, api, db];
    let web_alt = expected_alternative("web", &preferred);
    let mut avoid = preferred.to_vec();
    avoid.push(web_alt);
    let db_alt = expected_alternative("db", &avoid);
    for (sp, holder, alt) in [(&p.services[0], &web_holder, web_alt), (&p.services[2], &db_holder, db_alt)] {
        assert_eq!(sp.outcome, Outcome::Moved, "{sp:#?}");
        assert_eq!(sp.port, Some(alt), "{sp:#?}");
        let c = sp.conflict.as_ref().unwrap();
        assert_eq!(c.cause, ConflictCause::InUse);
        let h = c.holders.iter().find(|h| h.state == SocketState::Listen).unwrap();
        assert_eq!(h.process().unwrap().pid, holder.pid());
        let expected = format!("{} is in use by {} (pid {}", sp.preferred, crate::common::NAME, holder.pid());
        assert!(c.message.starts_with(&expected), "{} vs {expected}", c.message);
    }

    // Same inputs, same busy ports: same plan.
    let again = plan(&services, &opts(Strategy::Alternative), &NoRegistry).unwrap();
    let ports = |p: &Plan| p.services.iter().map(|s| (s.name.clone(), s.port, s.outcome)).collect::<Vec<_>>();
    assert_eq!(ports(&p), ports(&again));
}

#[test]
fn fail_strategy_reports_who_holds_the_port() {
    let holder = spawn("tcp4", None).unwrap();
    let api = crate::common::free_port();
    let err =
        plan(&[("web", holder.port() as u32), ("api", api as u32)], &opts(Strategy::Fail), &NoRegistry).unwrap_err();
    assert_eq!(err.code(), "ERR_PORT4ME_PLAN_CONFLICT");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("web: {} is in use by {} (pid {}", holder.port(), crate::common::NAME, holder.pid())),
        "{msg}"
    );
    let p = err.plan().unwrap();
    assert_eq!(p.services[0].port, None);
    assert_eq!(p.services[0].outcome, Outcome::Unresolved);
    assert_eq!(p.services[1].port, Some(api));
}

#[test]
fn alternative_strategy_never_signals() {
    let mut holder = spawn("tcp4", None).unwrap();
    let p = plan(&[("web", holder.port() as u32)], &opts(Strategy::Alternative), &NoRegistry).unwrap();
    assert_eq!(p.services[0].outcome, Outcome::Moved);
    assert!(p.services[0].conflict.as_ref().unwrap().kill.is_none());
    assert!(holder.is_running());
}

#[test]
fn kill_terminates_our_own_child_with_sigterm() {
    let mut holder = spawn("tcp4", None).unwrap();
    let port = holder.port();
    let p = plan(&[("web", port as u32)], &opts(Strategy::Kill), &NoRegistry).unwrap();
    let sp = &p.services[0];
    assert_eq!((sp.port, sp.outcome), (Some(port), Outcome::Freed), "{sp:#?}");
    let report = sp.conflict.as_ref().unwrap().kill.as_ref().unwrap();
    assert!(report.freed && report.refused.is_none(), "{report:#?}");
    assert_eq!(report.targets.iter().map(|t| t.pid).collect::<Vec<_>>(), [holder.pid()]);
    assert_eq!(report.signals.len(), 1);
    assert_eq!((report.signals[0].pid, report.signals[0].signal), (holder.pid(), Signal::Term));
    assert_eq!(holder.wait_signal(), Some(libc::SIGTERM));
}

#[test]
fn kill_sends_sigkill_only_when_forced() {
    // A child that ignores SIGTERM.
    let mut stubborn = spawn("tcp4,ignore-term", None).unwrap();
    let port = stubborn.port();
    let short = |force| PlanOptions { grace: Duration::from_millis(300), force, ..opts(Strategy::Kill) };

    let p = plan(&[("web", port as u32)], &short(false), &NoRegistry).unwrap();
    let sp = &p.services[0];
    assert_eq!(sp.outcome, Outcome::Moved, "{sp:#?}");
    assert_ne!(sp.port, Some(port));
    let report = sp.conflict.as_ref().unwrap().kill.as_ref().unwrap();
    assert!(!report.freed);
    assert_eq!(report.signals.iter().map(|s| s.signal).collect::<Vec<_>>(), [Signal::Term]);
    assert!(report.refused.as_deref().unwrap().contains("SIGKILL is only sent with force"), "{report:#?}");
    assert!(stubborn.is_running(), "SIGTERM is ignored, and SIGKILL was not asked for");

    let p = plan(&[("web", port as u32)], &short(true), &NoRegistry).unwrap();
    let sp = &p.services[0];
    assert_eq!((sp.port, sp.outcome), (Some(port), Outcome::Freed), "{sp:#?}");
    let report = sp.conflict.as_ref().unwrap().kill.as_ref().unwrap();
    assert_eq!(report.signals.iter().map(|s| s.signal).collect::<Vec<_>>(), [Signal::Term, Signal::Kill]);
    assert_eq!(stubborn.wait_signal(), Some(libc::SIGKILL));
}

#[test]
fn kill_refuses_another_users_process() {
    if !crate::common::is_root() {
        eprintln!("skipped: starting a process as another user needs root");
        return;
    }
    let mut other = match spawn("tcp4", Some(NOBODY)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("skipped: cannot run a helper as nobody ({e})");
            return;
        }
    };
    let port = other.port();
    let o = PlanOptions { force: true, ..opts(Strategy::Kill) };
    let p = plan(&[("web", port as u32)], &o, &NoRegistry).unwrap();
    let sp = &p.services[0];
    assert_eq!(sp.outcome, Outcome::Moved, "{sp:#?}");
    assert_ne!(sp.port, Some(port));
    let report = sp.conflict.as_ref().unwrap().kill.as_ref().unwrap();
    assert!(report.signals.is_empty(), "{report:#?}");
    assert!(!report.freed);
    let why = report.refused.as_deref().unwrap();
    assert!(why.contains(&format!("pid {}", other.pid())) && why.contains("belongs to nobody"), "{why}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(other.is_running());
    assert!(!free(port));
}

#[test]
fn kill_refuses_time_wait_and_invisible_holders() {
    use std::io::Read;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    // Leave a TIME_WAIT socket on a port: no process to stop.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    drop(listener.accept().unwrap());
    let _ = client.read(&mut [0u8; 1]);
    drop(client);
    drop(listener);
    let mut probe = |p: u16| Ok(p != port); // whatever the probe thinks of TIME_WAIT
    let p = port4me_holders::plan_with(&[("web", port as u32)], &opts(Strategy::Kill), &mut probe).unwrap();
    let report = p.services[0].conflict.as_ref().unwrap().kill.as_ref().unwrap();
    assert!(report.signals.is_empty());
    assert!(report.refused.as_deref().unwrap().contains("TIME_WAIT"), "{report:#?}");
}

#[test]
fn bad_input_gives_clear_errors() {
    let o = opts(Strategy::Alternative);
    let e = plan(&[("web", 0)], &o, &NoRegistry).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_INVALID_PORT");
    assert_eq!(e.to_string(), "invalid port in service \"web\": 0 is outside 1-65535");
    let e = plan(&[("web", 70000)], &o, &NoRegistry).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_INVALID_PORT");
    assert!(e.to_string().contains("70000"));
    let e = plan(&[("web", 3000), ("api", 3001), ("web", 3002)], &o, &NoRegistry).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE");
    assert_eq!(e.to_string(), "service \"web\" appears more than once in the plan");
    let e = plan::<&str>(&[], &o, &NoRegistry).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_EMPTY");
    let e = parse_entry("web:5173").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_ENTRY");
    assert!(e.to_string().contains("\"web:5173\""));
    let e = parse_entry("web=abc").unwrap_err();
    // Not a number at all, as for every count and port: INVALID_NUMBER.
    assert_eq!(e.code(), "ERR_PORT4ME_INVALID_NUMBER");
    assert!(e.to_string().contains("service \"web\": \"abc\" is not a whole number"), "{e}");
    let e = parse_entry("=80").unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_SERVICE");
    let e = "terminate".parse::<Strategy>().unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_STRATEGY");
    assert!(e.to_string().contains("\"terminate\""));
    let e = plan(&[("web", 3000)], &PlanOptions { force: true, ..o }, &NoRegistry).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PLAN_INVALID_OPTIONS");
}

/// A failed probe is reported in port4me's own words, once: the message is
/// not repeated by `source()` for reporters that print the chain.
#[test]
fn a_probe_failure_is_said_once() {
    let cause = port4me::probe::is_port_free(
        40000,
        &port4me::probe::ProbeOptions { host: Some("192.0.2.1".parse().unwrap()), ..Default::default() },
    )
    .unwrap_err();
    let text = cause.to_string();
    let mut probe = |_port: u16| {
        Err(port4me::probe::is_port_free(
            40000,
            &port4me::probe::ProbeOptions { host: Some("192.0.2.1".parse().unwrap()), ..Default::default() },
        )
        .unwrap_err())
    };
    let e = port4me_holders::plan_with(&[("web", 40000)], &PlanOptions::default(), &mut probe).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_PROBE");
    assert_eq!(e.to_string(), text);
    assert!(std::error::Error::source(&e).is_none());
}
