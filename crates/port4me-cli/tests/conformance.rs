//! Runs the shared conformance vectors through the `port4me` binary, the way
//! a user would: flags on the command line, settings in a clean environment.

use std::process::Command;

use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("vectors.json is valid JSON")
}

#[test]
fn cli_reproduces_reference_vectors() {
    let v = vectors();
    let (mut ran, mut failures) = (0, Vec::new());
    for case in v["cases"].as_array().expect("cases array") {
        if case.get("layer").and_then(Value::as_str) == Some("core") {
            continue;
        }
        let id = case["id"].as_str().unwrap();
        let s = |k: &str| case.get(k).and_then(Value::as_str);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_port4me"));
        cmd.env_clear().env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any");
        if let Some(env) = case.get("env").and_then(Value::as_object) {
            for (k, v) in env {
                cmd.env(k, v.as_str().unwrap());
            }
        }
        let user = s("user").unwrap();
        if !user.is_empty() {
            cmd.arg(format!("--user={user}"));
        }
        for key in ["tool", "prepend", "include", "exclude"] {
            if let Some(val) = s(key) {
                cmd.arg(format!("--{key}={val}"));
            }
        }
        for key in ["skip", "list"] {
            if let Some(n) = case.get(key) {
                cmd.arg(format!("--{key}={n}"));
            }
        }
        ran += 1;
        let out = cmd.output().expect("run port4me");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expect = &case["expect"];
        let ok = if let Some(code) = expect.get("error").and_then(Value::as_str) {
            let mentions = expect.get("mentions").and_then(Value::as_str).unwrap_or("");
            !out.status.success()
                && stderr.contains("Error")
                && stderr.contains(mentions)
                && stdout.is_empty()
                && !code.is_empty()
        } else {
            let want: Vec<String> = match expect.get("ports") {
                Some(p) => p.as_array().unwrap().iter().map(|x| x.to_string()).collect(),
                None => vec![expect["port"].to_string()],
            };
            out.status.success() && stdout.lines().map(str::to_string).collect::<Vec<_>>() == want
        };
        if !ok {
            failures.push(format!(
                "{id}: exit {:?}, stdout {stdout:?}, stderr {stderr:?}, expected {expect}",
                out.status.code()
            ));
        }
    }
    assert!(ran >= 100, "only {ran} runnable cases in vectors.json");
    assert!(failures.is_empty(), "{} of {ran} cases failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("cli conformance: {ran} cases");
}
