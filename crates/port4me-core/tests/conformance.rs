//! Runs the shared conformance vectors (`conformance/vectors.json`, whose
//! expected values come from the reference implementation) through the pure
//! core. Cases that need an environment are for the std runners; every other
//! case, including the core-only ones, runs here.

use port4me_core::Query;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("vectors.json is valid JSON")
}

#[test]
fn core_reproduces_reference_vectors() {
    let v = vectors();
    let cases = v["cases"].as_array().expect("cases array");
    let (mut ran, mut failures) = (0, Vec::new());
    for case in cases {
        if case.get("env").is_some() {
            continue;
        }
        // The core's API takes unsigned counts and `list(0)` is simply empty,
        // so cases about negative or zero counts (which are errors at the
        // user-facing layers) cannot be expressed here; the std runners and
        // bindings cover them.
        let count = |k: &str| case.get(k).map(|v| v.as_u64().ok_or(()));
        if matches!(count("skip"), Some(Err(()))) || matches!(count("list"), Some(Err(()) | Ok(0))) {
            continue;
        }
        let id = case["id"].as_str().unwrap();
        let s = |k: &str| case.get(k).and_then(Value::as_str);
        let mut q = Query::new(s("user").unwrap());
        q.tool = s("tool");
        q.prepend = s("prepend");
        q.include = s("include");
        q.exclude = s("exclude");
        q.skip = case.get("skip").and_then(Value::as_u64).unwrap_or(0);
        let n = case.get("list").and_then(Value::as_u64).unwrap_or(1) as usize;
        let expect = &case["expect"];
        let got = q.list(n);
        ran += 1;
        let ok = match (got, expect) {
            (Ok(ports), e) if e.get("ports").is_some() => serde_json::to_value(&ports).unwrap() == e["ports"],
            (Ok(ports), e) if e.get("port").is_some() => {
                ports.len() == 1 && e["port"].as_u64() == Some(ports[0] as u64)
            }
            (Err(err), e) if e.get("error").is_some() => {
                let msg = err.to_string();
                e["error"].as_str() == Some(err.code())
                    && e.get("mentions").and_then(Value::as_str).is_none_or(|m| msg.contains(m))
            }
            (got, _) => {
                failures.push(format!("{id}: got {got:?}, expected {expect}"));
                continue;
            }
        };
        if !ok {
            failures
                .push(format!("{id}: got {:?}, expected {expect}", q.list(n).map_err(|e| (e.code(), e.to_string()))));
        }
    }
    assert!(ran >= 100, "only {ran} runnable cases in vectors.json");
    assert!(failures.is_empty(), "{} of {ran} cases failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("core conformance: {ran} cases");
}
