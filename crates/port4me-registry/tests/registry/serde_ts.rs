//! The serde form and the TypeScript declarations (features `serde` and
//! `ts`) describe the same JSON: every key the JSON of a real value has,
//! the declaration lists, and the other way round; and every value is of a
//! type the declaration allows (following named types such as `Timestamp`
//! and `HoldingKind` to their declarations).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use port4me_registry::*;
use serde_json::Value;
use ts_rs::{Config as TsConfig, TS};

/// Every declaration of a result type, by name (what bindings/node
/// concatenates into its generated `.d.ts`).
fn declarations() -> BTreeMap<String, String> {
    let cfg = TsConfig::new();
    let decls = [
        PortRange::decl(&cfg),
        ModuleRange::decl(&cfg),
        MirrorRow::decl(&cfg),
        Service::decl(&cfg),
        ServiceWithPorts::decl(&cfg),
        ServicePort::decl(&cfg),
        PortState::decl(&cfg),
        Offer::decl(&cfg),
        Registration::decl(&cfg),
        ProcessId::decl(&cfg),
        Liveness::decl(&cfg),
        GcReport::decl(&cfg),
        Lease::decl(&cfg),
        Listing::decl(&cfg),
        Holding::decl(&cfg),
        HoldingKind::decl(&cfg),
        Timestamp::decl(&cfg),
        Running::decl(&cfg),
        RunningKind::decl(&cfg),
    ];
    decls
        .into_iter()
        .map(|d| {
            let d = strip_comments(&d);
            let name = d.strip_prefix("type ").and_then(|r| r.split([' ', '=']).next()).expect(&d).to_string();
            let body = d.split_once('=').expect(&d).1.trim().trim_end_matches(';').trim().to_string();
            (name, body)
        })
        .collect()
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").expect("an unterminated comment") + 2..];
    }
    out.push_str(rest);
    out
}

/// Splits `s` at `sep` where no bracket or quote is open.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut parts, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' | '<' | '(' | '[' if !quoted => depth += 1,
            '}' | '>' | ')' | ']' if !quoted => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !quoted {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// The fields of an object type `{ a: T, b: U, }`.
fn fields(body: &str) -> BTreeMap<String, String> {
    let inner =
        body.strip_prefix('{').and_then(|b| b.strip_suffix('}')).unwrap_or_else(|| panic!("not an object: {body}"));
    split_top(inner, ',')
        .into_iter()
        .map(|f| {
            let (k, t) = f.split_once(':').unwrap_or_else(|| panic!("not a field: {f}"));
            (k.trim().to_string(), t.trim().to_string())
        })
        .collect()
}

/// Whether `v` is a value of the TypeScript type `ty`.
fn allows(decls: &BTreeMap<String, String>, ty: &str, v: &Value) -> bool {
    split_top(ty, '|').iter().any(|alt| match alt.as_str() {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        lit if lit.starts_with('"') => v.as_str() == Some(lit.trim_matches('"')),
        obj if obj.starts_with('{') => conforms(decls, obj, v).is_ok(),
        arr if arr.starts_with("Array<") => {
            let item = &arr["Array<".len()..arr.len() - 1];
            v.as_array().is_some_and(|a| a.iter().all(|x| allows(decls, item, x)))
        }
        name => allows(decls, decls.get(name).unwrap_or_else(|| panic!("no declaration of {name}")), v),
    })
}

/// `Ok` when the JSON object `v` has exactly the fields of the object type
/// `body`, each of an allowed type.
fn conforms(decls: &BTreeMap<String, String>, body: &str, v: &Value) -> Result<(), String> {
    let want = fields(body);
    let obj = v.as_object().ok_or_else(|| format!("not an object: {v}"))?;
    let have: BTreeSet<&String> = obj.keys().collect();
    if have != want.keys().collect() {
        return Err(format!("keys {have:?} != declared {:?}", want.keys().collect::<Vec<_>>()));
    }
    for (k, ty) in &want {
        if !allows(decls, ty, &obj[k]) {
            return Err(format!("{k}: {} is not a {ty}", obj[k]));
        }
    }
    Ok(())
}

fn check<T: TS + serde::Serialize + std::fmt::Debug>(decls: &BTreeMap<String, String>, values: &[T]) {
    let name = T::ident(&TsConfig::new());
    assert!(!values.is_empty(), "no value of {name}");
    for value in values {
        let json = serde_json::to_value(value).unwrap();
        let body = &decls[&name];
        let ok = if body.starts_with('{') { conforms(decls, body, &json) } else { Ok(()) };
        assert!(ok.is_ok() && allows(decls, body, &json), "{name} {value:?} as {json}: {ok:?}; declared {body}");
    }
}

#[test]
fn serde_json_and_typescript_declarations_agree() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let range = reg.modules().allocate(3, "web", Protocol::Tcp).unwrap();
    reg.modules().allocate(2, "dns", Protocol::Udp).unwrap();
    let service = reg.services().define(&ServiceDefinition::new("db", "databases", 15000, 15009)).unwrap();
    let accepted = reg.services().accept(&reg.services().offer("db", "a").unwrap().secret).unwrap();
    let offer = reg.services().offer("db", "b").unwrap();
    let registration = reg.registrations().register("web", RegisterOptions::default()).unwrap();
    let query = port4me::Port4me::with_env(port4me::Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]))
        .user("alice");
    let timed =
        reg.leases().reserve(&query.clone().tool("a"), &ReserveOptions { owner: Owner::Nobody, ..Default::default() });
    let owned = reg.leases().reserve(&query.clone().tool("b"), ReserveOptions::default());
    let leases = [timed.unwrap(), owned.unwrap()];
    let holdings: Vec<Holding> = [range.start, 15000, 15001, 15005, registration.port, leases[0].port, leases[1].port]
        .into_iter()
        .map(|p| reg.holder_of(p, Protocol::Tcp).unwrap().unwrap())
        .chain(reg.holder_of(20000, Protocol::Udp).unwrap())
        .collect();
    let kinds: BTreeSet<String> = holdings.iter().map(|h| h.kind.to_string()).collect();
    assert_eq!(kinds.len(), 6, "one holding of each kind: {holdings:?}");

    let decls = declarations();
    check(&decls, &[range]);
    check(&decls, &reg.modules().list(None).unwrap());
    check(&decls, &reg.modules().mirror_rows(None).unwrap());
    check(&decls, &[service]);
    let listing = reg.listing().unwrap();
    assert!(listing.services[0].ports.len() == 2 && !listing.mirrors.is_empty(), "{listing:?}");
    check(&decls, &listing.services);
    check(&decls, &[listing]);
    check(&decls, &[accepted.clone(), reg.services().instance("db", "b").unwrap().unwrap()]);
    check(&decls, &[offer]);
    check(&decls, std::slice::from_ref(&registration));
    check(&decls, &[registration.owner]);
    check(&decls, &[registration.liveness, Liveness::Gone]);
    check(&decls, &[reg.gc().unwrap()]);
    check(&decls, &leases);
    check(&decls, &holdings);
    check(&decls, &holdings.iter().map(|h| h.kind).collect::<Vec<_>>());
    check(&decls, &[accepted.state]);
    check(&decls, &[registration.created]);
    let held = reg.registrations().hold(&query.clone().tool("c"), HoldOptions::default()).unwrap();
    let running = reg.running().unwrap();
    assert!(running.iter().any(|r| r.kind == RunningKind::Lease) && running.iter().any(|r| r.port == held.port));
    check(&decls, &running);
    check(&decls, &[held]);
}

#[test]
fn times_serialize_as_rfc_3339_utc_with_milliseconds() {
    let t = Timestamp(1_700_000_000_123);
    assert_eq!(serde_json::to_value(t).unwrap(), "2023-11-14T22:13:20.123Z");
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    reg.services().define(&ServiceDefinition::new("db", "", 15000, 15009)).unwrap();
    let offer = reg.services().offer("db", "a").unwrap();
    let json = serde_json::to_value(&offer).unwrap();
    assert_eq!(json["created"], offer.created.to_string());
    assert_eq!(json["expires"], offer.expires.to_string());
}
