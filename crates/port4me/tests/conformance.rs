//! Runs the shared conformance vectors through the std layer, with each
//! case's environment injected (never the real process environment).

use port4me::{Env, Port4me};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("vectors.json is valid JSON")
}

fn run_case(case: &Value) -> Result<Vec<u16>, port4me::Error> {
    let mut pairs: Vec<(String, String)> = vec![("_PORT4ME_CHECK_AVAILABLE_PORTS_".into(), "any".into())];
    if let Some(env) = case.get("env").and_then(Value::as_object) {
        pairs.extend(env.iter().map(|(k, v)| (k.clone(), v.as_str().expect("env values are strings").to_string())));
    }
    let s = |k: &str| case.get(k).and_then(Value::as_str);
    let mut q = Port4me::with_env(Env::from_pairs(pairs));
    q = q.user(s("user").unwrap());
    if let Some(t) = s("tool") {
        q = q.tool(t);
    }
    if let Some(p) = s("prepend") {
        q = q.prepend(p);
    }
    if let Some(p) = s("include") {
        q = q.include(p);
    }
    if let Some(p) = s("exclude") {
        q = q.exclude(p);
    }
    // Numbers go through the same parser the CLI and bindings use, so that
    // negative or fractional values in a case are rejected as they would be.
    if let Some(k) = case.get("skip") {
        q = q.skip(port4me::parse_count(&k.to_string(), "skip", "skip")?);
    }
    let list = match case.get("list") {
        Some(n) => Some(port4me::parse_count(&n.to_string(), "list count", "list")? as usize),
        None => q.list_from_env()?,
    };
    match list {
        Some(n) => q.list(n),
        None => q.find().map(|p| vec![p]),
    }
}

#[test]
fn std_reproduces_reference_vectors() {
    let v = vectors();
    let (mut ran, mut failures) = (0, Vec::new());
    for case in v["cases"].as_array().expect("cases array") {
        if case.get("layer").and_then(Value::as_str) == Some("core") {
            continue;
        }
        ran += 1;
        let id = case["id"].as_str().unwrap();
        let expect = &case["expect"];
        let got = run_case(case);
        let ok = match (&got, expect) {
            (Ok(ports), e) if e.get("ports").is_some() => serde_json::to_value(ports).unwrap() == e["ports"],
            (Ok(ports), e) if e.get("port").is_some() => {
                ports.len() == 1 && e["port"].as_u64() == Some(ports[0] as u64)
            }
            (Err(err), e) if e.get("error").is_some() => {
                e["error"].as_str() == Some(err.code())
                    && e.get("mentions").and_then(Value::as_str).is_none_or(|m| err.to_string().contains(m))
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{id}: got {:?}, expected {expect}", got.map_err(|e| (e.code(), e.to_string()))));
        }
    }
    assert!(ran >= 100, "only {ran} runnable cases in vectors.json");
    assert!(failures.is_empty(), "{} of {ran} cases failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("std conformance: {ran} cases");
}
