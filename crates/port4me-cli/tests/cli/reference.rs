//! The reference CLI's own expectations (conformance/SPEC.md sections 8 and 9), plus the
//! extensions: exit codes, error lines, `--json`, `--test` against a real
//! listener, completions.

use std::net::TcpListener;
use std::process::{Command, Output};

fn port4me(args: &[&str], any: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_port4me"));
    cmd.env_clear();
    if any {
        cmd.env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any");
    }
    cmd.args(args).output().expect("run port4me")
}

fn stdout(args: &[&str]) -> String {
    let out = port4me(args, true);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn anchor_values() {
    let rows: &[(&[&str], &str)] = &[
        (&["--user=alice", "--list=10"], "30845 19654 32310 63992 15273 31420 62779 55372 24143 41300"),
        (&["--user=bob", "--list=5"], "54242 4930 42139 14723 55707"),
        (&["--user=carol"], "34307"),
        (&["--user=alice", "--tool=rstudio"], "22486"),
        (&["--user=alice", "jupyter-notebook"], "29525"),
        (&["--user=alice", "--tool=jupyter-notebook"], "29525"),
        // --tool wins over the positional TOOL, as in the reference CLI.
        (&["--user=alice", "--tool=rstudio", "jupyter-notebook"], "22486"),
        (&["--user=alice", "--exclude=30845,32310"], "19654"),
        (&["--user=alice", "--include=2000-2123,4321,10000-10999"], "10451"),
        (&["--user=alice", "--include=1-1023"], "470"),
        (&["--user=alice", "--include=1-1023", "--exclude=470,403"], "859"),
        (&["--user=alice", "--prepend=2000-2009", "--include=1-1023"], "2000"),
        (&["--user=alice", "--prepend=4321,11001", "--list=5"], "4321 11001 30845 19654 32310"),
        (&["--user=alice", "--skip=2"], "32310"),
        (&["--user=alice", "--list=3", "--skip=2"], "32310 63992 15273"),
        (&["--user=bob", "--list=2", "--skip=1", "--exclude=54242,14723"], "42139 55707"),
    ];
    for (args, want) in rows {
        assert_eq!(stdout(args), *want, "{args:?}");
    }
}

#[test]
fn output_is_digits_only() {
    let out = port4me(&["--user=alice"], true);
    assert_eq!(out.stdout, b"30845\n");
}

#[test]
fn invalid_input_is_an_error_line_and_nonzero_exit() {
    for arg in [
        "--test=65536",
        "--test=foo",
        "--test=0",
        "--list=-1",
        "--list=foo",
        "--list=0",
        "--list=1048577",
        "--max-tries=0",
        "--skip=-1",
        "--skip=foo",
        "--exclude=foo",
        "--include=foo",
        "--prepend=foo",
        "--include=5-3",
        "--include=70000",
        "--protocol=sctp",
        "--host=nowhere",
        "--host=224.0.0.1",
        "--host=255.255.255.255",
        "--host=ff02::1",
        "--host=::ffff:239.1.2.3",
        "--no-such-flag",
    ] {
        let out = port4me(&["--user=alice", arg], true);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains("Error"), "{arg}: {err}");
        assert!(out.stdout.is_empty(), "{arg} printed to stdout");
        let flag = arg.split('=').next().unwrap();
        assert!(err.contains(flag), "{arg}: the error does not name {flag}: {err}");
        let value = arg.split('=').nth(1).unwrap_or(arg);
        assert!(err.contains(value), "{arg}: the error does not name {value:?}: {err}");
    }
}

#[test]
fn env_errors_name_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
        .env_clear()
        .env("PORT4ME_EXCLUDE_SITE", "1,two")
        .arg("--user=alice")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("PORT4ME_EXCLUDE_SITE") && err.contains("two"), "{err}");
}

#[test]
fn test_flag_uses_exit_codes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = l.local_addr().unwrap().port();
    let out = port4me(&[&format!("--test={busy}")], false);
    assert_eq!(out.status.code(), Some(1));
    drop(l);
    // Other tests spawn processes meanwhile; a child between fork and exec
    // briefly shares the listener, so give it a moment to close.
    let mut out = port4me(&[&format!("--test={busy}")], false);
    for _ in 0..40 {
        if out.status.code() == Some(0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        out = port4me(&[&format!("--test={busy}")], false);
    }
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// What scripts written for the reference CLI rely on (conformance/SPEC.md section 8).
#[test]
fn drop_in_for_the_reference_cli() {
    // An empty --tool= is "not given", so PORT4ME_TOOL applies: 22486 is
    // the SPEC anchor for alice + rstudio (30845 would be alice alone).
    let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
        .env_clear()
        .env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")
        .env("PORT4ME_TOOL", "rstudio")
        .args(["--user=alice", "--tool="])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "22486\n", "{}", String::from_utf8_lossy(&out.stderr));
    // A flag given twice: the last one counts.
    assert_eq!(stdout(&["--user=alice", "--user=bob", "--list=2"]), "54242 4930");
    assert_eq!(stdout(&["--user=alice", "--list=9", "--list=2"]), "30845 19654");
    // Counts as Python's int() reads them, where that is unambiguous.
    assert_eq!(stdout(&["--user=alice", "--skip=+2"]), "32310");
    assert_eq!(stdout(&["--user=alice", "--list= 3"]), "30845 19654 32310");
    // --test= (empty) is an error, as in the reference (exit 2, not a port).
    let out = port4me(&["--user=alice", "--test="], true);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && String::from_utf8_lossy(&out.stderr).contains("Error"));
}

/// `--test` on a busy port answers with its exit status only; the holder is
/// for --verbose (and --json).
#[test]
fn test_is_silent_unless_verbose() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = l.local_addr().unwrap().port().to_string();
    let out = port4me(&[&format!("--test={busy}")], false);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let out = port4me(&[&format!("--test={busy}"), "--verbose"], false);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.stdout.is_empty() && err.contains(&busy), "{err}");
    let out = port4me(&[&format!("--test={busy}"), "--json"], false);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["free"], false);
    assert!(v["holder"].as_str().is_some_and(|h| h.contains(&busy)), "{v}");
}

#[test]
fn found_port_is_actually_free() {
    let out = port4me(&["--user=alice", "--tool=cli-test"], false);
    let port: u16 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    TcpListener::bind(("0.0.0.0", port)).expect("the port port4me found can be bound");
}

#[test]
fn json_output() {
    let out = port4me(&["--user=alice", "--tool=rstudio", "--json"], true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["port"], 22486);
    assert_eq!(v["seed"], "alice,rstudio");
    let out = port4me(&["--user=alice", "--list=2", "--json"], true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ports"], serde_json::json!([30845, 19654]));
}

#[test]
fn version_and_help_and_completions() {
    assert_eq!(stdout(&["--version"]), env!("CARGO_PKG_VERSION"));
    assert!(stdout(&["--help"]).contains("--exclude"));
    assert!(stdout(&["completions", "bash"]).contains("port4me"));
}

#[test]
fn environment_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
        .env_clear()
        .env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")
        .env("PORT4ME_USER", "alice")
        .env("PORT4ME_TOOL", "rstudio")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "22486");
    let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
        .env_clear()
        .env("PORT4ME_USER", "alice")
        .env("PORT4ME_LIST", "3")
        .env("PORT4ME_SKIP", "2")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        ["32310", "63992", "15273"]
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_port4me"))
        .env_clear()
        .args(["--user=alice", "--list=65535"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 6];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then drop: the pipe closes
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first, b"30845\n");
    assert!(out.status.success(), "{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `--list` prints candidates without probing, `--test` probes one port and
/// `--reserve` records the port found: no two of them can both happen, so
/// asking for two is an error naming both (from a flag or a variable), never
/// a silent choice of one.
#[test]
fn list_test_and_reserve_exclude_each_other() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], [&'a str; 2]);
    let cases: &[Case] = &[
        (&["--list=2", "--test=8080"], &[], ["--list", "--test"]),
        (&["--test=8080", "--list=2"], &[], ["--list", "--test"]),
        (&["--list=2", "--reserve"], &[], ["--list", "--reserve"]),
        (&["--list=2", "--reserve=30"], &[], ["--list", "--reserve"]),
        (&["--test=8080", "--reserve"], &[], ["--test", "--reserve"]),
        (&["--reserve"], &[("PORT4ME_LIST", "2")], ["PORT4ME_LIST", "--reserve"]),
        (&["--list=2"], &[("PORT4ME_TEST", "8080")], ["--list", "PORT4ME_TEST"]),
    ];
    let dir = std::env::temp_dir().join(format!("port4me-cli-exclusive-{}", std::process::id()));
    let db = dir.join("ports.sqlite");
    for (args, env, names) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
            .env_clear()
            .env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")
            .env("PORT4ME_DB", &db)
            .envs(env.iter().copied())
            .arg("--user=alice")
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} {env:?} printed {}", String::from_utf8_lossy(&out.stdout));
        assert!(err.starts_with("Error: ") && names.iter().all(|n| err.contains(n)), "{args:?} {env:?}: {err}");
    }
    assert!(!db.exists(), "the registry was opened");
}

/// The browser lists cannot name a browser list: `{chrome}` in
/// `PORT4ME_EXCLUDE_UNSAFE_CHROME` is a self-reference and is called one,
/// not "not a known token (use {chrome} ...)".
#[test]
fn a_browser_list_cannot_refer_to_a_browser_list() {
    for (var, value, says) in [
        ("PORT4ME_EXCLUDE_UNSAFE_CHROME", "{chrome}", "self-reference"),
        ("PORT4ME_EXCLUDE_UNSAFE_FIREFOX", "80,{firefox}", "self-reference"),
        ("PORT4ME_EXCLUDE_UNSAFE_CHROME", "{firefox}", "cannot refer to"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_port4me"))
            .env_clear()
            .env(var, value)
            .arg("--user=alice")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert!(err.contains(var) && err.contains(says) && !err.contains("not a known token"), "{var}={value}: {err}");
    }
}

/// `--host` takes what the bindings' `host` option takes (one parser), plus
/// `localhost`; a multicast or broadcast address is no address to probe.
#[test]
fn host_must_be_a_unicast_address() {
    for host in ["127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0"] {
        let out = port4me(&["--user=alice", "--list=1", &format!("--host={host}")], true);
        assert!(out.status.success(), "{host}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for host in ["224.0.0.1", "255.255.255.255", "ff02::1"] {
        let out = port4me(&["--user=alice", "--test=8080", &format!("--host={host}")], false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{host}: {err}");
        assert!(err.contains("cast address") && err.contains("--host"), "{host}: {err}");
    }
}
