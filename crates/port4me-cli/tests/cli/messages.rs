//! What the command says, and how: text from other processes and users
//! (process names, command lines, service names) reaches the terminal
//! escaped and JSON raw; `who`, `status` and `plan` report errors as JSON
//! under `--json`; `plan --env` refuses names that would clash; and the
//! messages of a few bad inputs say what was wrong and where.

use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_port4me"));
    c.env_remove("PORT4ME_DB").env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Neither ESC nor BEL (nor any other control but the line ends): what a
/// terminal would act on instead of showing.
fn assert_no_controls(what: &str, s: &str) {
    let bad: Vec<char> = s.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(bad.is_empty(), "{what}: raw control characters {bad:?} in:\n{s}");
}

/// The name the helper gives itself: sets the window title, clears the
/// screen (12 bytes, within comm's 15).
#[cfg(target_os = "linux")]
const HOSTILE: &str = "\u{1b}]0;PWN\u{7}\u{1b}[2J";

/// The child process of [`hostile_names_are_escaped_in_text_and_raw_in_json`]:
/// this test binary run again (`--exact messages::hostile_helper`) with
/// `PORT4ME_CLI_TEST_HOSTILE` set, which renames itself to [`HOSTILE`],
/// listens on a loopback port, prints `READY <port>` and waits for its
/// stdin to close. Without the variable it does nothing.
#[cfg(target_os = "linux")]
#[test]
fn hostile_helper() {
    use std::io::{Read, Write};
    if std::env::var_os("PORT4ME_CLI_TEST_HOSTILE").is_none() {
        return;
    }
    // /proc/self/comm is the main thread's name, as prctl(PR_SET_NAME) sets
    // it there and as who/status/plan read it.
    std::fs::write("/proc/self/comm", HOSTILE).expect("rename");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREADY {}", l.local_addr().unwrap().port()).unwrap();
    out.flush().unwrap();
    drop(out);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// A running [`hostile_helper`]; killed on drop.
#[cfg(target_os = "linux")]
struct Hostile {
    child: std::process::Child,
    port: u16,
}

#[cfg(target_os = "linux")]
impl Hostile {
    fn start() -> Hostile {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "messages::hostile_helper", "--nocapture", "--test-threads=1"])
            .env("PORT4ME_CLI_TEST_HOSTILE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().expect("the helper said READY").unwrap();
            if let Some(p) = line.strip_prefix("READY ") {
                break p.trim().parse().unwrap();
            }
        };
        // The name is what the kernel reports now.
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap();
        assert_eq!(comm.trim_end_matches('\n'), HOSTILE);
        Hostile { child, port }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process named `ESC ] 0;PWN BEL ESC [2J` holds a port: every text
/// output that names it (`--test --verbose`, the exhausted-set error, `who`,
/// `status`, `plan` and its `fail` error) shows the name escaped, and every
/// JSON output keeps it raw (JSON escapes it itself).
#[cfg(target_os = "linux")]
#[test]
fn hostile_names_are_escaped_in_text_and_raw_in_json() {
    let h = Hostile::start();
    let port = h.port.to_string();
    let shown = "\\x1b]0;PWN\\x07\\x1b[2J";

    let texts: Vec<(Vec<String>, i32)> = vec![
        (vec![format!("--test={port}"), "--verbose".into()], 1),
        (vec!["--user=alice".into(), format!("--include={port}")], 2),
        (vec!["who".into(), port.clone()], 0),
        (vec!["status".into(), port.clone(), "--no-registry".into()], 0),
        (vec!["plan".into(), format!("web={port}"), "--user=alice".into()], 0),
        (vec!["plan".into(), format!("web={port}"), "--strategy=fail".into()], 1),
    ];
    for (args, code) in texts {
        let out = bin().args(&args).output().unwrap();
        let (so, se) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {so}{se}");
        assert_no_controls(&format!("{args:?} stdout"), &so);
        assert_no_controls(&format!("{args:?} stderr"), &se);
        assert!(so.contains(shown) || se.contains(shown), "{args:?} does not name the process: {so}{se}");
    }

    // JSON: the raw name in `name`; the one-line description is for people,
    // escaped as in the text outputs.
    let name_of = |args: &[&str], pointer: &str| {
        let out = run(args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}{}", text(&out.stdout), text(&out.stderr)));
        let name =
            v.pointer(pointer).and_then(|n| n.as_str()).unwrap_or_else(|| panic!("{args:?}: no {pointer} in {v}"));
        (name.to_string(), v)
    };
    let (name, v) = name_of(&["who", &port, "--json"], "/0/processes/0/name");
    assert_eq!(name, HOSTILE);
    assert!(v[0]["description"].as_str().unwrap().contains(shown), "{v}");
    let (name, v) = name_of(&["status", &port, "--json", "--no-registry"], "/0/holders/0/processes/0/name");
    assert_eq!(name, HOSTILE);
    assert_no_controls("status description", v[0]["description"].as_str().unwrap());
    let (name, _) = name_of(
        &["plan", &format!("web={port}"), "--user=alice", "--json"],
        "/services/0/conflict/holders/0/processes/0/name",
    );
    assert_eq!(name, HOSTILE);
    let out = run(&[&format!("--test={port}"), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["holder"].as_str().is_some_and(|d| d.contains(shown)), "{v}");
}

/// Service names are the user's, but they come back in errors and tables:
/// escaped there too (a U+202E would reorder the line, a control character
/// act on the terminal).
#[test]
fn service_names_are_escaped_where_plan_echoes_them() {
    let cases: &[(&[&str], &str)] = &[
        (&["plan", "web\u{1b}[2J=5173"], "web\\x1b[2J"),
        (&["plan", "a\u{202e}b=1", "a\u{202e}b=2"], "a\\u202eb"),
        (&["plan", "a\u{202e}b\u{7}"], "a\\u202eb\\x07"),
        (&["plan", "--json", "a\u{202e}b=1", "a\u{202e}b=2"], "a\\\\u202eb"),
    ];
    for (args, shown) in cases {
        let out = run(args);
        let se = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {se}");
        assert!(!se.contains('\u{202e}'), "{args:?}: U+202E shown raw: {se}");
        assert_no_controls(&format!("{args:?}"), &se);
        assert!(se.contains(shown), "{args:?}: {se}");
    }
    // A plan that goes through: the table shows the name escaped, the JSON raw.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let entry = format!("a\u{202e}b={free}");
    let out = run(&["plan", &entry, "--user=alice"]);
    let so = text(&out.stdout);
    assert!(out.status.success() && so.contains("a\\u202eb") && !so.contains('\u{202e}'), "{so}");
    let out = run(&["plan", &entry, "--user=alice", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["services"][0]["name"], "a\u{202e}b", "{v}");
}

/// `--json` errors of who, status and plan: one JSON object on stderr, in
/// the shape of the main command's and the registry's, exit status 2.
#[test]
fn who_status_and_plan_errors_are_json_under_json() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["who", "abc", "--json"], "ERR_PORT4ME_INVALID_NUMBER", "abc"),
        (&["who", "0", "--json"], "ERR_PORT4ME_INVALID_PORT", "0 is outside 1-65535"),
        (&["status", "--json", "70000"], "ERR_PORT4ME_INVALID_SPEC", "70000"),
        (&["status", "--json", "1-2000"], "ERR_INVALID_ARG_VALUE", "at most 1024"),
        (&["status", "--json", "--tool=x", "80"], "ERR_PORT4ME_USAGE", "--tool"),
        (&["plan", "--json", "web=0"], "ERR_PORT4ME_INVALID_PORT", "service \"web\""),
        (&["plan", "--json", "--strategy=nuke", "web=1"], "ERR_PORT4ME_PLAN_INVALID_STRATEGY", "nuke"),
        (&["plan", "--json", "web=1", "web=2"], "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE", "web"),
        (&["plan", "--json", "--grace=-1", "web=1"], "ERR_PORT4ME_USAGE", "--grace"),
    ];
    for (args, code, says) in cases {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed {}", text(&out.stdout));
        let v: serde_json::Value =
            serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {err}"));
        assert_eq!(v["error"]["code"], *code, "{args:?}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(says), "{args:?}: {v}");
    }
    // A `fail` plan with a conflict: the plan on stdout, the error as JSON
    // on stderr, exit status 1.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = run(&["plan", "--json", "--strategy=fail", &format!("web={port}")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["services"][0]["outcome"], "unresolved", "{plan}");
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(v["error"]["code"], "ERR_PORT4ME_PLAN_CONFLICT", "{v}");
}

/// `plan --env` prints NAME_PORT lines: two services whose names give the
/// same variable, and names a variable cannot hold, are errors naming them
/// (nothing is planned, nothing printed), not two lines for one variable.
#[test]
fn plan_env_refuses_names_that_clash() {
    let ports: Vec<String> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string())
        .collect();
    let clashes: &[(&str, &str)] = &[("a.b", "a-b"), ("a-b", "A_B"), ("web", "WEB"), ("3d", "_3d")];
    for (a, b) in clashes {
        let out = run(&["plan", "--env", "--user=alice", &format!("{a}={}", ports[0]), &format!("{b}={}", ports[1])]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a} {b}: {err}");
        assert!(out.stdout.is_empty(), "{a} {b}: {}", text(&out.stdout));
        assert!(err.contains(&format!("\"{a}\"")) && err.contains(&format!("\"{b}\"")), "{a} {b}: {err}");
        assert!(err.contains("_PORT"), "{a} {b}: {err}");
    }
    let out = run(&["plan", "--env", "--user=alice", &format!("café={}", ports[0])]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"café\"") && err.contains("'é'"), "{err}");
    // Distinct names still work.
    let out = run(&["plan", "--env", "--user=alice", &format!("web={}", ports[0]), &format!("my-api.v2={}", ports[2])]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("WEB_PORT={}\nMY_API_V2_PORT={}\n", ports[0], ports[2]));
}

/// Bad values are named as what they are, with where they came from.
#[test]
fn bad_values_say_what_is_wrong() {
    let cases: &[(&[&str], &[&str])] = &[
        // An IPv4-mapped IPv6 address cannot be bound: say so, not EINVAL.
        (&["--user=alice", "--host", "::ffff:127.0.0.1"], &["--host", "IPv4-mapped", "127.0.0.1"]),
        (&["who", "-1"], &["-1", "port", "outside 1-65535"]),
        (&["who", "--udp", "-5"], &["-5", "outside 1-65535"]),
        (&["--test=-1"], &["--test", "-1", "outside 1-65535"]),
        (&["--user=alice", "--skip", "99999999999999999999"], &["--skip", "too large", "at most"]),
        (&["--user=alice", "--max-tries", "99999999999"], &["--max-tries", "too large", "at most 4294967295"]),
        (&["registry", "--timeout", "99999999999", "gc"], &["99999999999", "too large", "at most"]),
    ];
    for (args, says) in cases {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for s in *says {
            assert!(err.contains(s), "{args:?} should say {s:?}: {err}");
        }
        for not in ["os error", "unexpected argument", "positive"] {
            assert!(!err.contains(not), "{args:?} says {not:?}: {err}");
        }
    }
}
