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
    let ports: Vec<u16> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
        })
        .collect();
    let distinct: HashSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), 8, "ports handed out: {ports:?}");
    let out = bin().args(["--user=alice", "--tool=vite", "--list=64"]).output().unwrap();
    let sequence: HashSet<u16> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert!(ports.iter().all(|p| sequence.contains(p)), "{ports:?} are not all alice/vite candidates");

    // The registry lists the eight leases.
    let v = json(&bin().args(["registry", "--db", db.to_str().unwrap(), "--json", "list"]).output().unwrap());
    let text = v.to_string();
    assert!(ports.iter().all(|p| text.contains(&p.to_string())), "{text}");
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
    assert!(d.to_string().contains(&a0.to_string()), "{d}");
}

#[test]
fn who_and_status_name_this_process() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let me = std::process::id();
    let who = json(&bin().args(["who", &port, "--json"]).output().unwrap());
    assert!(who.to_string().contains(&format!("\"pid\":{me}")), "{who}");
    let status = json(&bin().args(["status", &port, "--json", "--no-registry"]).output().unwrap());
    assert!(status.to_string().contains("occupied"), "{status}");
    // --test names the holder on stderr and exits 1.
    let out = bin().arg(format!("--test={port}")).output().unwrap();
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
    let text = first.to_string();
    assert!(text.contains(&format!("\"port\":{free_port}")), "api should keep its port: {text}");
    assert!(!text.contains(&format!("\"port\":{taken_port}")), "web should move: {text}");
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
