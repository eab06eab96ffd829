//! The shared conformance vectors through the `port4me` binary, the way a
//! user runs it: flags on the command line, settings in a clean
//! environment. Error cases run with `--json`, so that the code of the
//! error is checked too (`{"error": {"code", "message"}}` on stderr), and
//! every case must leave stdout empty on error and print digits only
//! otherwise.

use std::process::Command;

use crate::harness::{self, Expect, Outcome};

#[test]
fn cli_reproduces_reference_vectors() {
    harness::run_all(
        "cli",
        100,
        true,
        |c| !c.core_only,
        |c| {
            // An empty --tool= means "not given" on the command line, as in the
            // reference CLI (conformance/SPEC.md section 8): an explicit empty tool is an API
            // case only.
            if c.tool.as_deref() == Some("") {
                return None;
            }
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_port4me"));
            cmd.env_clear().envs(c.environment());
            if !c.user.is_empty() {
                cmd.arg(format!("--user={}", c.user));
            }
            for (flag, value) in
                [("tool", &c.tool), ("prepend", &c.prepend), ("include", &c.include), ("exclude", &c.exclude)]
            {
                if let Some(v) = value {
                    cmd.arg(format!("--{flag}={v}"));
                }
            }
            for (flag, value) in [("skip", &c.skip), ("list", &c.list)] {
                if let Some(n) = value {
                    cmd.arg(format!("--{flag}={}", n.text()));
                }
            }
            let json = matches!(c.expect, Expect::Error { .. });
            if json {
                cmd.arg("--json");
            }
            let out = cmd.output().expect("run port4me");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            Some(match (out.status.code(), json) {
                (Some(0), false) if stderr.is_empty() => {
                    match stdout.lines().map(str::parse).collect::<Result<Vec<u16>, _>>() {
                        Ok(ports) => Outcome::Ports(ports),
                        Err(e) => {
                            Outcome::Error { code: None, message: format!("stdout is not ports ({e}): {stdout:?}") }
                        }
                    }
                }
                (Some(2), true) if stdout.is_empty() => match serde_json::from_str::<serde_json::Value>(&stderr) {
                    Ok(v) => Outcome::Error {
                        code: v["error"]["code"].as_str().map(Into::into),
                        message: v["error"]["message"].as_str().unwrap_or_default().into(),
                    },
                    Err(e) => Outcome::Error { code: None, message: format!("stderr is not JSON ({e}): {stderr:?}") },
                },
                (Some(2), false) if stdout.is_empty() && stderr.starts_with("Error: ") => {
                    Outcome::Error { code: None, message: stderr.into_owned() }
                }
                (status, _) => Outcome::Error {
                    code: None,
                    message: format!("exit {status:?}, stdout {stdout:?}, stderr {stderr:?}"),
                },
            })
        },
    );
}
