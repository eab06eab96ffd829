//! Tools written for the node-level allocator model share `TCP_PORTS` /
//! `UDP_PORTS`: they read only those tables, pick the first gap in
//! 20000-45000 and insert a row, and delete their rows by module name. Every
//! port port4me holds must be visible to them there (services,
//! registrations and leases as `port4me:KIND:...` mirror rows),
//! and their rows must keep the registry's invariants and show up as
//! modules.

use std::time::Duration;

use crate::common::*;
use port4me_registry::*;
use rusqlite::Connection;

/// A first-fit allocator as a tool of the node-level model writes it, on its
/// own connection to the same file: it knows nothing but `TCP_PORTS`.
/// Returns the range it inserted, or SQLite's error.
fn naive_allocate(c: &Connection, n: u32, module: &str, column_names: bool) -> rusqlite::Result<(u32, u32)> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let rows: Vec<(u32, u32)> = c
            .prepare(r#"SELECT start, "end" FROM TCP_PORTS ORDER BY start"#)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut start = 20000;
        for (s, e) in rows {
            if e < start {
                continue;
            }
            if s >= start + n {
                break;
            }
            start = e + 1;
        }
        assert!(start + n - 1 <= 45000, "the naive tool ran out of room");
        let end = start + n - 1;
        if column_names {
            c.execute(r#"INSERT INTO TCP_PORTS (start, "end", module) VALUES (?1, ?2, ?3)"#, (start, end, module))?;
        } else {
            c.execute(&format!("INSERT INTO TCP_PORTS VALUES ({start}, {end}, '{module}')"), [])?;
        }
        Ok((start, end))
    })();
    c.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    result
}

fn naive_release(c: &Connection, module: &str) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM TCP_PORTS WHERE module = ?1", [module])
}

/// A query whose candidates all lie in the module pool.
fn in_pool(user: &str) -> port4me::Port4me {
    port4me::Port4me::new().user(user).include("20000-45000")
}

fn lease(reg: &Registry, user: &str) -> Lease {
    let options = ReserveOptions { ttl: Duration::from_secs(600), owner: Owner::Nobody, label: None };
    reg.leases().reserve_checked(&in_pool(user), &options, |_| Ok(true)).unwrap()
}

/// A small deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_naive_first_fit_tool_shares_the_module_pool_with_every_kind_of_holding() {
    let (_d, path) = temp_db();
    // Registrations from the module pool too, so that every kind of holding
    // lands where the naive tool looks.
    let reg = Registry::open_with(&path, Config { registration_pool: (20000, 45000), ..Config::default() }).unwrap();
    let naive = raw(&path);
    let mut rng = Lcg(7);
    let mut tool_rows: Vec<(String, (u32, u32))> = Vec::new();
    let (mut registrations, mut leases, mut services) = (Vec::new(), Vec::new(), Vec::new());
    let mut naive_ok = 0;
    for step in 0..400 {
        match rng.below(9) {
            0 | 1 => {
                let n = 1 + rng.below(12) as u32;
                let name = format!("tool-{step}");
                let got = naive_allocate(&naive, n, &name, step % 2 == 0)
                    .unwrap_or_else(|e| panic!("step {step}: the naive tool failed: {e}"));
                // What it got is free in port4me's eyes, and is a module now.
                let h = reg.holder_of(got.0 as u16, Protocol::Tcp).unwrap().unwrap();
                assert_eq!((h.kind, h.name.as_str(), h.user.as_deref()), (HoldingKind::Module, name.as_str(), None));
                tool_rows.push((name, got));
                naive_ok += 1;
            }
            2 if !tool_rows.is_empty() => {
                let (name, _) = tool_rows.remove(rng.below(tool_rows.len() as u64) as usize);
                assert_eq!(naive_release(&naive, &name).unwrap(), 1, "step {step}");
            }
            3 if !tool_rows.is_empty() => {
                // port4me deallocates what the tool inserted.
                let (name, range) = tool_rows.remove(rng.below(tool_rows.len() as u64) as usize);
                let released = reg.modules().release(&name, Protocol::Tcp).unwrap();
                assert_eq!(released, [PortRange { start: range.0 as u16, end: range.1 as u16 }]);
            }
            4 => registrations
                .push(reg.registrations().register(&format!("r{step}"), RegisterOptions::default()).unwrap().name),
            5 => leases.push(lease(&reg, &format!("u{step}")).port),
            6 => {
                let start = 20000 + rng.below(2000) as u32;
                let end = start + rng.below(8) as u32;
                match reg.services().define(&ServiceDefinition::new(format!("s{step}"), "", start, end)) {
                    Ok(s) => services.push(s.name),
                    Err(e) => assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT", "{e}"),
                }
            }
            7 => {
                reg.modules().allocate(1 + rng.below(6) as u32, &format!("m{}", rng.below(4)), Protocol::Tcp).unwrap();
            }
            _ => match rng.below(3) {
                0 if !registrations.is_empty() => {
                    reg.registrations()
                        .release(&registrations.swap_remove(rng.below(registrations.len() as u64) as usize))
                        .unwrap();
                }
                1 if !leases.is_empty() => {
                    let port = leases.swap_remove(rng.below(leases.len() as u64) as usize);
                    assert!(reg.leases().release(port, Protocol::Tcp).unwrap());
                }
                2 if !services.is_empty() => {
                    reg.services()
                        .undefine(
                            &services.swap_remove(rng.below(services.len() as u64) as usize),
                            ReleaseOptions::forced(false),
                        )
                        .unwrap();
                }
                _ => {}
            },
        }
        let v = violations(&path);
        assert!(v.is_empty(), "step {step}: {v:?}");
    }
    assert!(naive_ok > 60, "the naive tool ran only {naive_ok} times");
    assert!(!registrations.is_empty() && !leases.is_empty() && !services.is_empty());

    // The tool's rows are modules (no owner); ours carry the user.
    let modules = reg.modules().list(Some(Protocol::Tcp)).unwrap();
    for (name, (s, e)) in &tool_rows {
        let m = modules.iter().find(|m| &m.module == name).unwrap_or_else(|| panic!("{name} is not listed"));
        assert_eq!((m.range.start, m.range.end, m.user.as_deref()), (*s as u16, *e as u16, None));
    }
    let me = User::current();
    assert!(modules.iter().filter(|m| m.module.starts_with('m')).all(|m| m.user.as_deref() == Some(&*me.name)));
    assert!(modules.iter().all(|m| !m.module.starts_with("port4me:")), "a mirror row listed as a module");
    // Each holding has exactly one mirror row, of its kind.
    let mirrors = reg.modules().mirror_rows(None).unwrap();
    let count = |k| mirrors.iter().filter(|m| m.kind == k).count();
    assert_eq!(count(HoldingKind::Service), services.len());
    assert_eq!(count(HoldingKind::Registration), registrations.len());
    assert_eq!(count(HoldingKind::Lease), leases.len());
    assert_eq!(integrity(&path), "ok");
}

#[test]
fn mirror_rows_refuse_hand_edits_and_say_how_to_release_the_holder() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    reg.services().define(&ServiceDefinition::new("db", "", 20000, 20004)).unwrap();
    let l = lease(&reg, "alice");
    let c = raw(&path);
    let before = dump(&path);
    let refused = |sql: &str, needles: &[&str]| {
        // In a savepoint, so that the statements before the refused one
        // leave nothing behind either.
        c.execute_batch("SAVEPOINT t").unwrap();
        let e = c.execute_batch(sql).expect_err(sql).to_string();
        c.execute_batch("ROLLBACK TO t; RELEASE t").unwrap();
        for n in needles {
            assert!(e.contains(n), "{sql}: {e:?} should mention {n:?}");
        }
    };
    refused(
        "DELETE FROM TCP_PORTS WHERE module = 'port4me:service:db'",
        &["mirrors a port4me service", "port4me registry undefine"],
    );
    refused(
        r#"UPDATE TCP_PORTS SET "end" = 20009 WHERE module = 'port4me:service:db'"#,
        &["mirrors a port4me service"],
    );
    refused(
        &format!("DELETE FROM TCP_PORTS WHERE start = {}", l.port),
        &["mirrors a port4me --reserve lease", "release lease PORT"],
    );
    refused("DELETE FROM TCP_PORTS", &["mirrors"]);
    // The prefix is reserved, also for a copy of an existing mirror row.
    refused("INSERT INTO TCP_PORTS VALUES (30000, 30000, 'port4me:lease:999')", &["reserved", "port4me:"]);
    refused("INSERT INTO TCP_PORTS VALUES (20000, 20004, 'port4me:service:db')", &["reserved"]);
    refused("INSERT INTO TCP_PORTS VALUES (30000, 30001, 'x'); UPDATE TCP_PORTS SET module = 'port4me:x' WHERE module = 'x'", &["reserved"]);
    // Overlapping a mirrored holding is the usual invariant error.
    refused("INSERT INTO TCP_PORTS VALUES (20004, 20005, 'late')", &["held twice"]);
    assert_eq!(dump(&path), before);

    // Through the API: the prefix is refused by allocate, and a mirror row
    // is not a module to deallocate.
    let e = reg.modules().allocate(1, "port4me:mine", Protocol::Tcp).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INVALID_NAME");
    assert!(e.to_string().contains("reserved"), "{e}");
    let e = reg.modules().release("port4me:service:db", Protocol::Tcp).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_A_MODULE");
    assert!(e.to_string().contains("service \"db\"") && e.to_string().contains("undefine \"db\""), "{e}");
    let lease_row =
        reg.modules().mirror_rows(None).unwrap().into_iter().find(|m| m.kind == HoldingKind::Lease).unwrap();
    let e = reg.modules().release(&lease_row.name, Protocol::Tcp).unwrap_err();
    assert!(e.to_string().contains(&format!("release lease {}", l.port)), "{e}");
    assert_eq!(dump(&path), before);

    // Releasing the holder removes its mirror row.
    reg.services().undefine("db", ReleaseOptions::forced(false)).unwrap();
    assert!(reg.leases().release(l.port, Protocol::Tcp).unwrap());
    let rows: i64 = c.query_row("SELECT count(*) FROM TCP_PORTS", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
    assert!(violations(&path).is_empty());
}

#[test]
fn names_other_tools_write_are_listed_and_deallocated() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let long = "n".repeat(255);
    let names = ["", long.as_str(), "tab\there", " padded ", "ünïcödé", "a'quote", "-dash"];
    let c = raw(&path);
    for (i, name) in names.iter().enumerate() {
        let start = 30000 + 10 * i as u32;
        c.execute(r#"INSERT INTO UDP_PORTS (start, "end", module) VALUES (?1, ?2, ?3)"#, (start, start + 2, name))
            .unwrap();
    }
    // A number where a name belongs (SQLite keeps it as text '42').
    c.execute_batch(r#"INSERT INTO UDP_PORTS VALUES (31000, 31000, 42)"#).unwrap();
    let listed = reg.modules().list(Some(Protocol::Udp)).unwrap();
    assert_eq!(listed.len(), names.len() + 1);
    assert!(listed.iter().all(|m| m.user.is_none()));
    for (i, name) in names.iter().chain(&["42"]).enumerate() {
        let ranges = reg.modules().release(name, Protocol::Udp).unwrap();
        assert_eq!(ranges.len(), 1, "{name:?}");
        if i < names.len() {
            assert_eq!(ranges[0].start, 30000 + 10 * i as u16, "{name:?}");
        }
        assert!(violations(&path).is_empty());
    }
    assert_eq!(reg.modules().list(None).unwrap(), []);
    // allocate keeps its own rules.
    assert_eq!(reg.modules().allocate(1, "", Protocol::Udp).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_INVALID_NAME");
    assert_eq!(
        reg.modules().allocate(1, &long, Protocol::Udp).unwrap_err().code(),
        "ERR_PORT4ME_REGISTRY_INVALID_NAME"
    );
}
