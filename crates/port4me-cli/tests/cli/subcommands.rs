//! The CLI's extensions end to end: `--reserve` across processes, the
//! registry subcommands, and `who`/`status`/`plan` against real listeners.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_port4me"));
    c.env_remove("PORT4ME_DB").env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_");
    c
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("port4me-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ports.sqlite")
}

/// The port each child printed, checking that every child succeeded and that
/// no two printed the same port.
fn distinct_ports(children: Vec<std::process::Child>) -> Vec<u16> {
    let ports: Vec<u16> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
        })
        .collect();
    let distinct: HashSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), ports.len(), "ports handed out: {ports:?}");
    ports
}

/// The shell idioms users write: each `$(...)` is a subshell that exits as
/// soon as the CLI has printed, so a lease tied to the CLI's parent would be
/// gone before the next line runs. Four shapes, each run twice, in parallel.
#[test]
fn reserve_holds_in_command_substitutions_and_pipelines() {
    let db = temp_db("idioms");
    let exe = env!("CARGO_BIN_EXE_port4me");
    let shapes = [
        r#"P=$("$EXE" --reserve --tool vite) && echo "$P""#,
        r#"P=$("$EXE" --reserve --tool vite || exit 1); echo "$P""#,
        r#""$EXE" --reserve --tool vite | cat"#,
        r#""$EXE" --reserve --tool vite"#,
    ];
    let children: Vec<_> = shapes
        .iter()
        .chain(shapes.iter())
        .map(|script| {
            std::process::Command::new("bash")
                .args(["-c", script])
                .env("EXE", exe)
                .env("PORT4ME_DB", &db)
                .env("PORT4ME_USER", "alice")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ports = distinct_ports(children);
    // One more, after every shell above has exited: the leases still hold.
    let out = bin().env("PORT4ME_DB", &db).args(["--user=alice", "--tool=vite", "--reserve"]).output().unwrap();
    let last: u16 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    assert!(!ports.contains(&last), "{last} was handed out again: {ports:?}");
}

/// Eight processes asking for the same tool at the same instant get eight
/// different ports, all from that tool's own sequence.
#[test]
fn reserve_gives_concurrent_callers_distinct_ports() {
    let db = temp_db("reserve");
    let children: Vec<_> = (0..8)
        .map(|_| {
            bin()
                .env("PORT4ME_DB", &db)
                .args(["--user=alice", "--tool=vite", "--reserve"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ports = distinct_ports(children);
    assert_eq!(ports.len(), 8);
    let out = bin().args(["--user=alice", "--tool=vite", "--list=64"]).output().unwrap();
    let sequence: HashSet<u16> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert!(ports.iter().all(|p| sequence.contains(p)), "{ports:?} are not all alice/vite candidates");

    // The registry lists the eight leases.
    let v = json(&bin().args(["registry", "--db", db.to_str().unwrap(), "--json", "list"]).output().unwrap());
    let leased: HashSet<u64> =
        v["leases"].as_array().expect("leases").iter().filter_map(|l| l["port"].as_u64()).collect();
    assert!(ports.iter().all(|p| leased.contains(&(*p as u64))), "{ports:?} not all leased: {v}");
}

#[test]
fn registry_allocate_and_deallocate_via_cli() {
    let db = temp_db("alloc");
    let db = db.to_str().unwrap();
    let a = json(&bin().args(["registry", "--db", db, "--json", "allocate", "10", "modA"]).output().unwrap());
    let b = json(&bin().args(["registry", "--db", db, "--json", "allocate", "5", "modB"]).output().unwrap());
    let range = |v: &serde_json::Value| (v["start"].as_u64().unwrap(), v["end"].as_u64().unwrap());
    let (a0, a1) = range(&a);
    let (b0, b1) = range(&b);
    assert_eq!((a1 - a0 + 1, b1 - b0 + 1), (10, 5));
    assert!(b0 > a1 || b1 < a0, "ranges overlap: {a} {b}");
    let out = bin().args(["registry", "--db", db, "allocate", "0", "modC"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error:"));
    let d = json(&bin().args(["registry", "--db", db, "--json", "deallocate", "modA"]).output().unwrap());
    assert_eq!((d["released"][0]["start"].as_u64(), d["released"][0]["end"].as_u64()), (Some(a0), Some(a1)), "{d}");
}

#[test]
fn who_and_status_name_this_process() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let me = std::process::id();
    let who = json(&bin().args(["who", &port, "--json"]).output().unwrap());
    let pids = |v: &serde_json::Value| -> Vec<u64> {
        let holders = v.as_array().expect("who --json is an array of sockets");
        holders
            .iter()
            .flat_map(|h| h["processes"].as_array().into_iter().flatten())
            .filter_map(|p| p["pid"].as_u64())
            .collect()
    };
    assert!(pids(&who).contains(&(me as u64)), "{who}");
    // Each socket says who holds it in one line, as the Node API's do.
    let mine = who.as_array().unwrap().iter().find(|h| h["processes"][0]["pid"] == me).unwrap();
    assert!(mine["description"].as_str().unwrap().contains(&format!("(pid {me}")), "{mine}");
    let status = json(&bin().args(["status", &port, "--json", "--no-registry"]).output().unwrap());
    assert_eq!(status[0]["availability"], "occupied", "{status}");
    assert_eq!((&status[0]["label"], &status[0]["labels"]), (&"occupied".into(), &serde_json::json!(["occupied"])));
    let details = status[0]["description"].as_str().unwrap();
    assert!(details.starts_with("in use by ") && details.contains(&format!("(pid {me}")), "{status}");
    // --test --verbose names the holder on stderr and exits 1.
    let out = bin().args([format!("--test={port}"), "--verbose".into()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("pid {me}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plan_keeps_free_ports_and_moves_taken_ones() {
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let free_port = {
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let run = || {
        json(
            &bin()
                .args(["plan", &format!("web={taken_port}"), &format!("api={free_port}"), "--user=alice", "--json"])
                .output()
                .unwrap(),
        )
    };
    let (first, second) = (run(), run());
    let port_of = |v: &serde_json::Value, name: &str| {
        v["services"].as_array().expect("services").iter().find(|s| s["name"] == name).and_then(|s| s["port"].as_u64())
    };
    assert_eq!(port_of(&first, "api"), Some(free_port as u64), "api should keep its port: {first}");
    assert!(port_of(&first, "web").is_some_and(|p| p != taken_port as u64), "web should move: {first}");
    // Holders may differ between runs (other tests fork children that
    // briefly share our sockets); the ports given out must not.
    let ports = |v: &serde_json::Value| -> Vec<(String, u64, String)> {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].to_string(), s["port"].as_u64().unwrap(), s["outcome"].to_string()))
            .collect()
    };
    assert_eq!(ports(&first), ports(&second), "plans are deterministic");
    for bad in [vec!["plan"], vec!["plan", "web=0"], vec!["plan", "web=70000"], vec!["plan", "web=5173", "web=3000"]] {
        let out = bin().args(&bad).output().unwrap();
        assert!(!out.status.success(), "{bad:?} succeeded");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Error"), "{bad:?}");
    }
}

/// Negative numbers reach the argument (not clap's "unexpected argument")
/// and are refused as such; port 0 is no port.
#[test]
fn registry_numbers_must_be_positive() {
    let db = temp_db("negative");
    let db = db.to_str().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["allocate", "-1", "web"], "-1", "must be positive"),
        (&["define", "x", "-5", "10"], "-5", "must be positive"),
        (&["define", "x", "10", "-5"], "-5", "must be positive"),
        (&["--timeout", "-1", "gc"], "-1", "must be positive"),
        (&["gc", "--timeout", "0"], "0", "must be positive"),
        (&["offer", "s", "i", "--ttl", "-3"], "-3", "must be positive"),
        (&["register", "x", "--pid", "-1"], "-1", "must be positive"),
        (&["holder", "-1"], "-1", "must be positive"),
        (&["holder", "0"], "0", "1-65535"),
        (&["holder", "65536"], "65536", "1-65535"),
        (&["release", "--port", "0"], "0", "1-65535"),
        (&["release", "lease", "-2"], "-2", "must be positive"),
        (&["release", "registration", "--port", "-2"], "-2", "must be positive"),
        (&["show", "s", "--port", "0"], "0", "1-65535"),
        (&["allocate", "x", "web"], "x", "not a whole number"),
    ];
    for (args, value, says) in cases {
        let out = bin().args(["registry", "--db", db]).args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("Error: ") && err.contains(value) && err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
}

/// `--reserve` takes the next argument only when it is a number: `--reserve
/// vite` reserves for the tool vite for the default time, `--reserve 30 vite`
/// for 30 seconds, and `--reserve -1` is refused as a time.
#[test]
fn reserve_takes_only_a_number_as_its_value() {
    let db = temp_db("reserve-value");
    let run = |args: &[&str]| bin().env("PORT4ME_DB", &db).arg("--user=alice").args(args).output().unwrap();
    let listed = run(&["--tool=vite", "--list=64"]);
    let vite: Vec<u16> = String::from_utf8(listed.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    for args in [&["--reserve", "vite"][..], &["--reserve", "30", "vite"], &["vite", "--reserve"]] {
        let v = json(&run(&[args, &["--json"]].concat()));
        assert_eq!((v["seed"].as_str(), v["reserved"].as_bool()), (Some("alice,vite"), Some(true)), "{args:?}: {v}");
        assert!(vite.contains(&(v["port"].as_u64().unwrap() as u16)), "{args:?}: {v}");
    }
    let leases =
        json(&bin().args(["registry", "--db", db.to_str().unwrap(), "--json", "list", "leases"]).output().unwrap());
    let secs = |l: &serde_json::Value| {
        let t = |k: &str| chrono_free_seconds(l[k].as_str().unwrap());
        t("expires") - t("created")
    };
    let mut ttls: Vec<i64> = leases.as_array().unwrap().iter().map(secs).collect();
    ttls.sort();
    assert_eq!(ttls, [30, 60, 60], "{leases}");
    for (arg, value) in [("-1", "-1"), ("-0.5", "-0.5"), ("0", "0")] {
        let out = run(&["--reserve", arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains("--reserve") && err.contains(value) && err.contains("must be positive"), "{arg}: {err}");
        let out = run(&[&format!("--reserve={arg}")]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("must be positive"), "={arg}");
    }
}

/// Seconds since the epoch of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS[.f]Z`
/// (enough to subtract two of them).
fn chrono_free_seconds(t: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    let days = (y - 1970) * 366 + mo * 31 + d; // monotonic within a run, not a calendar
    days * 86400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// A directory for tests that run the CLI as another user: 0755, with a copy
/// of the binary that user may run (the build tree may be private).
#[cfg(target_os = "linux")]
fn shared_dir(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("port4me-cli-shared-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("port4me");
    std::fs::copy(env!("CARGO_BIN_EXE_port4me"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, exe)
}

/// A command running `exe` as a user whom file modes bind: this user when
/// it is not root, else `nobody` (uid 65534) through setpriv; `None` (said
/// on stderr) when root cannot switch.
#[cfg(target_os = "linux")]
fn unprivileged(exe: &std::path::Path) -> Option<Command> {
    use std::os::unix::fs::MetadataExt;
    let mut c = if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        Command::new(exe)
    } else {
        let switch = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let ok = Command::new("setpriv").args(switch).arg("true").status().is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: running as root and `setpriv --reuid=65534` is not possible here; file modes do not bind root");
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(switch).arg(exe);
        c
    };
    c.env_remove("PORT4ME_DB").env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_").env("HOME", "/nonexistent");
    Some(c)
}

/// Permission problems say "Permission denied" about the right thing: the
/// file when the file cannot be opened, the directory when the directory
/// cannot be written (a missing file cannot be created there, or SQLite
/// cannot create its journal next to an existing one).
#[cfg(target_os = "linux")]
#[test]
fn permission_errors_name_the_file_or_the_directory() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let (dir, exe) = shared_dir("perm");
    let Some(_) = unprivileged(&exe) else { return };
    let run = |db: &std::path::Path, args: &[&str]| {
        let mut c = unprivileged(&exe).unwrap();
        c.args(["registry", "--db", db.to_str().unwrap()]).args(args).output().unwrap()
    };
    // Databases created by that user in a directory everyone may write.
    let rw = dir.join("rw");
    std::fs::create_dir(&rw).unwrap();
    mode(&rw, 0o777);
    let locked = rw.join("locked.sqlite");
    let fine = rw.join("fine.sqlite");
    for db in [&locked, &fine] {
        let out = run(db, &["gc"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // A 000 file: the file, and the OS's reason.
    mode(&locked, 0o000);
    let out = run(&locked, &["list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Permission denied") && err.contains(locked.to_str().unwrap()), "{err}");

    // A directory that user may not write, with no file yet: the directory.
    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let missing = ro.join("ports.sqlite");
    let out = run(&missing, &["gc"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("directory {}", ro.display())) && err.contains("Permission denied"), "{err}");
    assert!(!err.contains(missing.to_str().unwrap()), "names the file, not the directory: {err}");

    // An existing, writable file in a directory that became read-only:
    // writing fails for want of the journal, and the directory is named.
    mode(&rw, 0o555);
    let out = run(&fine, &["allocate", "2", "web"]);
    mode(&rw, 0o777);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("directory {}", rw.display())) && err.contains("Permission denied"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--db` (and `PORT4ME_DB`) must be a regular file or absent: never a
/// device (`/dev/null` would leave a world-writable `/dev/null-journal`), a
/// directory, or a symbolic link (which would be followed).
#[cfg(unix)]
#[test]
fn the_database_must_be_a_regular_file() {
    let db = temp_db("kinds");
    let dir = db.parent().unwrap();
    let real = dir.join("real.sqlite");
    let out = bin().args(["registry", "--db", real.to_str().unwrap(), "gc"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = dir.join("link.sqlite");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let dangling = dir.join("dangling.sqlite");
    std::os::unix::fs::symlink(dir.join("nowhere.sqlite"), &dangling).unwrap();
    let journal_before = std::path::Path::new("/dev/null-journal").exists();
    let cases: &[(&std::path::Path, &str)] = &[
        (std::path::Path::new("/dev/null"), "device"),
        (dir, "directory"),
        (&link, "symbolic link"),
        (&dangling, "symbolic link"),
    ];
    for (path, kind) in cases {
        let p = path.to_str().unwrap();
        for out in [
            bin().args(["registry", "--db", p, "list"]).output().unwrap(),
            bin().env("PORT4ME_DB", p).args(["--user=alice", "--reserve"]).output().unwrap(),
        ] {
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{p}: {err}");
            assert!(err.contains(p) && err.contains(kind) && err.contains("not a regular file"), "{p}: {err}");
        }
    }
    if !journal_before {
        assert!(!std::path::Path::new("/dev/null-journal").exists(), "/dev/null-journal was created");
    }
    assert!(!dir.join("nowhere.sqlite").exists(), "the dangling link was followed");
}

/// With `--json`, an error is one JSON object on stderr (nothing on stdout),
/// for the main command and the registry alike, parse errors included.
#[test]
fn json_errors_go_to_stderr_as_json() {
    let db = temp_db("json-errors");
    let db = db.to_str().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--user=alice", "--json", "--list=0"], "ERR_PORT4ME_INVALID_NUMBER", "--list"),
        (&["--json", "--user=alice", "--exclude=foo"], "ERR_PORT4ME_INVALID_SPEC", "--exclude"),
        (&["--user=alice", "--json", "--list=2", "--test=80"], "ERR_PORT4ME_USAGE", "--test"),
        (&["--user=alice", "--json", "--no-such-flag"], "ERR_PORT4ME_USAGE", "--no-such-flag"),
        (&["registry", "--db", db, "--json", "allocate", "0", "x"], "ERR_PORT4ME_REGISTRY_INVALID_COUNT", "0"),
        (&["registry", "--db", db, "--json", "holder", "-1"], "ERR_PORT4ME_REGISTRY_USAGE", "must be positive"),
        (&["registry", "--db", db, "--json", "release", "nope"], "ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION", "nope"),
    ];
    for (args, code, says) in cases {
        let out = bin().args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed {}", String::from_utf8_lossy(&out.stdout));
        let v: serde_json::Value =
            serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {err}"));
        assert_eq!(v["error"]["code"], *code, "{args:?}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(says), "{args:?}: {v}");
    }
}

/// Releasing another user's lease is refused as a lease, not called a
/// registration.
#[cfg(target_os = "linux")]
#[test]
fn another_users_lease_is_called_a_lease() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, exe) = shared_dir("lease-owner");
    let Some(mut other) = unprivileged(&exe) else { return };
    if std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(1) != 0 {
        eprintln!("SKIPPED: needs root to act on another user's lease");
        return;
    }
    let rw = dir.join("rw");
    std::fs::create_dir(&rw).unwrap();
    std::fs::set_permissions(&rw, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = rw.join("ports.sqlite");
    let out = other.env("PORT4ME_DB", &db).args(["--user=alice", "--tool=lease-owner", "--reserve"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = bin().args(["registry", "--db", db.to_str().unwrap(), "release", "lease", &port]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("lease \"alice,lease-owner\"") && !err.contains("registration"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Text from the registry (names, labels, descriptions: anyone sharing the
/// database may have written them) is shown escaped in the tables, as
/// `who` shows command lines: no terminal escape, no U+202E reordering the
/// line, no newline starting a fake row.
#[test]
fn registry_tables_escape_what_they_show() {
    let db = temp_db("escape");
    let d = db.to_str().unwrap();
    let tool = "vite\u{1b}[31m\u{202e}\nfake";
    let out = bin().env("PORT4ME_DB", &db).args(["--user=alice", "--reserve", "--tool", tool]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["registry", "--db", d, "define", "svc\u{202e}evil", "20000", "20009"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["registry", "--db", d, "list"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for bad in ['\u{1b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{bad:?} shown raw:\n{text}");
    }
    assert!(text.contains("vite\\x1b[31m\\u202e\\nfake") && text.contains("svc\\u202eevil"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("fake")), "a newline started a row:\n{text}");
}

/// `registry undefine` deletes a service and frees its range; while its
/// instances hold ports it is refused (naming them) unless `--force`.
#[test]
fn registry_undefine_refuses_a_service_in_use_unless_forced() {
    let db = temp_db("undefine");
    let d = db.to_str().unwrap();
    let reg = |args: &[&str]| bin().args(["registry", "--db", d]).args(args).output().unwrap();
    json(&reg(&["--json", "define", "db", "15000", "15009"]));
    let offer = json(&reg(&["--json", "offer", "db", "a"]));
    json(&reg(&["--json", "accept", offer["secret"].as_str().unwrap()]));
    let out = reg(&["undefine", "db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"db\"") && err.contains("15000") && err.contains("--force"), "{err}");
    assert_eq!(json(&reg(&["--json", "list", "services"])).as_array().unwrap().len(), 1, "refused, yet changed");
    let v = json(&reg(&["--json", "undefine", "db", "--force"]));
    assert_eq!((v["name"].as_str(), v["ports"][0]["port"].as_u64()), (Some("db"), Some(15000)), "{v}");
    assert_eq!(json(&reg(&["--json", "list", "services"])), serde_json::json!([]));
    let out = reg(&["undefine", "db"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service \"db\""), "{out:?}");
    // The range is free again; an unused service goes without --force.
    json(&reg(&["--json", "define", "db2", "15000", "15009"]));
    let out = reg(&["undefine", "db2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("db2"));
}

/// A tool written for the node-level allocator model, on the same file: it
/// reads only TCP_PORTS, inserts a row in the first gap of 20000-45000 and
/// deletes its rows by name. Our services, registrations and leases sit in
/// that pool; it must still succeed, its rows are listed as modules (no
/// user), ours as mirror rows, and `registry deallocate` releases its rows
/// whatever their names.
#[test]
fn registry_and_a_naive_first_fit_tool_share_the_module_tables() {
    let db = temp_db("naive-tool");
    let d = db.to_str().unwrap();
    let reg = |args: &[&str]| bin().args(["registry", "--db", d]).args(args).output().unwrap();
    json(&reg(&["--json", "allocate", "3", "ours"]));
    json(&reg(&["--json", "define", "db", "20003", "20005"]));
    json(&reg(&["--json", "register", "web", "--pool", "20006-20010"]));
    let out = bin()
        .env("PORT4ME_DB", d)
        .env("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")
        .args(["--user=alice", "--include=20007-20007", "--reserve=600"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20007");

    let tool = rusqlite::Connection::open(&db).unwrap();
    tool.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    let first_fit = |n: u32, name: &str| -> rusqlite::Result<u32> {
        let rows: Vec<(u32, u32)> = tool
            .prepare(r#"SELECT start, "end" FROM TCP_PORTS ORDER BY start"#)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut start = 20000;
        for (s, e) in rows {
            if e >= start && s < start + n {
                start = e + 1;
            }
        }
        tool.execute("INSERT INTO TCP_PORTS VALUES (?1, ?2, ?3)", (start, start + n - 1, name))?;
        Ok(start)
    };
    let long = "x".repeat(255);
    let starts: Vec<u32> = ["tool", "", long.as_str()]
        .iter()
        .map(|name| first_fit(2, name).unwrap_or_else(|e| panic!("the tool failed for {name:?}: {e}")))
        .collect();
    assert!(starts.iter().all(|&s| s >= 20008), "{starts:?}");

    let all = json(&reg(&["--json", "list"]));
    let modules = all["modules"].as_array().unwrap();
    for (name, start) in ["tool", "", long.as_str()].iter().zip(&starts) {
        let m = modules.iter().find(|m| m["module"] == *name).unwrap_or_else(|| panic!("{name:?} not listed: {all}"));
        assert_eq!((m["start"].as_u64(), m["user"].is_null()), (Some(u64::from(*start)), true), "{m}");
    }
    assert!(modules.iter().any(|m| m["module"] == "ours" && m["user"].is_string()), "{all}");
    assert!(modules.iter().all(|m| !m["module"].as_str().unwrap().starts_with("port4me:")), "{all}");
    let kinds: Vec<&str> = all["mirrors"].as_array().unwrap().iter().map(|m| m["mirrors"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["service", "registration", "lease"], "{all}");
    let text = String::from_utf8(reg(&["list"]).stdout).unwrap();
    assert!(text.contains("Mirror rows") && text.contains("port4me:service:db"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("tool ") && l.trim_end().ends_with(" -")), "{text}");

    for name in ["tool", "", long.as_str()] {
        let v = json(&reg(&["--json", "deallocate", name]));
        assert_eq!(v["released"].as_array().unwrap().len(), 1, "{name:?}: {v}");
    }
    let out = reg(&["deallocate", "port4me:service:db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a module") && err.contains("undefine \"db\""), "{err}");
    let out = tool.execute("DELETE FROM TCP_PORTS WHERE module = 'port4me:service:db'", []).unwrap_err();
    assert!(out.to_string().contains("registry undefine"), "{out}");
}

/// A registry directory every user may write (no sticky bit): a path given
/// for sharing gets one warning naming the directory and the fix; the
/// private default registry refuses it, naming the directory.
#[cfg(unix)]
#[test]
fn a_world_writable_registry_directory_is_warned_about_or_refused() {
    use std::os::unix::fs::PermissionsExt;
    let base = temp_db("world-writable");
    let base = base.parent().unwrap();
    let shared = base.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = shared.join("ports.sqlite");
    let out = bin().args(["registry", "--db", db.to_str().unwrap(), "allocate", "2", "web"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains(&shared.display().to_string()) && err.contains("chmod +t"), "{err}");
    // With the sticky bit it is quiet.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = bin().args(["registry", "--db", db.to_str().unwrap(), "list"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    let home = base.join("home");
    let private = home.join(".local/state/port4me");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [&["registry", "gc"][..], &["--user=alice", "--reserve"]] {
        let out = bin().env("HOME", &home).env_remove("XDG_STATE_HOME").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&private.display().to_string()) && err.contains("chmod 700"), "{args:?}: {err}");
    }
    assert!(!private.join("ports.sqlite").exists());
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = bin().env("HOME", &home).env_remove("XDG_STATE_HOME").args(["registry", "gc"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Another user's module range and accepted allocation: refused without
/// --force, naming the owner; released with it.
#[cfg(target_os = "linux")]
#[test]
fn another_users_module_and_allocation_need_force() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, exe) = shared_dir("force");
    if std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(1) != 0 {
        eprintln!("SKIPPED: needs root to act as two users");
        return;
    }
    let Some(_) = unprivileged(&exe) else { return };
    let rw = dir.join("rw");
    std::fs::create_dir(&rw).unwrap();
    std::fs::set_permissions(&rw, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let db = rw.join("ports.sqlite");
    let d = db.to_str().unwrap();
    let other = |args: &[&str]| {
        let out = unprivileged(&exe).unwrap().args(["registry", "--db", d, "--json"]).args(args).output().unwrap();
        json(&out)
    };
    other(&["allocate", "2", "theirs"]);
    other(&["define", "db", "30000", "30009"]);
    let offer = other(&["offer", "db", "a"]);
    let owner = other(&["accept", offer["secret"].as_str().unwrap()])["user"].as_str().unwrap().to_string();
    let me = bin().args(["registry", "--db", d, "--json", "list", "modules"]).output().unwrap();
    assert_eq!(json(&me)[0]["user"], owner.as_str());

    let reg = |args: &[&str]| bin().args(["registry", "--db", d]).args(args).output().unwrap();
    for args in [&["deallocate", "theirs"][..], &["release", "instance", "db", "a"]] {
        let out = reg(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("belongs to user {owner:?}")) && err.contains("--force"), "{args:?}: {err}");
        let mut forced = args.to_vec();
        forced.push("--force");
        let out = reg(&forced);
        assert!(out.status.success(), "{forced:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
