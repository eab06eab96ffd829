//! The CLI on a shared server: a `/proc` mounted with `hidepid=2` (other
//! users' processes are invisible) and a registry the user may read but not
//! write (a read-only mount, a file of another user) or not read at all.
//!
//! The situations are made for real where this runs as root with
//! `unshare`, `mount` and `setpriv` (Linux): a private mount namespace per
//! test, and the users 65534 (`nobody`) and 65533. Elsewhere these tests say
//! that they were skipped and pass; the decision logic is also covered by
//! the registry crate's unit tests with an injected "cannot read" status.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_port4me");

/// Whether this process can make the situations: root, with a working
/// `unshare --mount` and `setpriv`.
fn can_make_namespaces() -> bool {
    let uid = Command::new("id").arg("-u").output().map(|o| text(&o.stdout).trim().to_string());
    if uid.as_deref().ok() != Some("0") {
        eprintln!("skipped: needs root (for unshare, mount and setpriv)");
        return false;
    }
    let ok = Command::new("unshare")
        .args(["--mount", "--fork", "sh", "-c", "mount -t tmpfs none /mnt && command -v setpriv >/dev/null"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: `unshare --mount` or setpriv is not available here");
    }
    ok
}

/// A fresh directory every user may write to (sticky, like /tmp).
fn shared_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("port4me-shared-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run_ok(Command::new("chmod").args(["1777", dir.to_str().unwrap()]));
    dir
}

fn run_ok(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}: {}{}", text(&out.stdout), text(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `script` with `sh -eu` in a new mount namespace, with `$EXE` the
/// CLI and `$DB` the registry; returns stdout, stderr and success.
fn in_namespace(db: &Path, script: &str) -> (String, String, bool) {
    let out = Command::new("unshare")
        .args(["--mount", "--fork", "sh", "-eu", "-c", script])
        .env("EXE", EXE)
        .env("DB", db)
        .env("PORT4ME_DB", db)
        .env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_")
        .output()
        .unwrap();
    (text(&out.stdout), text(&out.stderr), out.status.success())
}

/// `A: registry register web --pid $LIVE`, then `B: registry register bweb`
/// with A's process invisible to B: B must not reclaim A's registration
/// (both would get 45001), and `registry list` must say that A's owner is
/// alive but unverified.
#[test]
fn hidepid_never_reclaims_another_users_live_registration() {
    if !can_make_namespaces() {
        return;
    }
    let dir = shared_dir("hidepid");
    let db = dir.join("ports.sqlite");
    let script = r#"
        mount -t proc -o hidepid=2 proc /proc
        "$EXE" registry list >/dev/null
        chmod 666 "$DB"
        A="setpriv --reuid=65534 --regid=65534 --clear-groups"
        B="setpriv --reuid=65533 --regid=65533 --clear-groups"
        $A sleep 60 &
        LIVE=$!
        echo "A $($A "$EXE" registry --json register web --pid $LIVE)"
        # B cannot see A's sleep; B's registration belongs to B's own shell.
        if $B test -e /proc/$LIVE; then echo "hidepid not in effect"; exit 3; fi
        echo "B $($B sh -c '"$EXE" registry --json register bweb')"
        echo "LIST-B"; $B "$EXE" registry list registrations
        echo "LIST-ROOT"; "$EXE" registry list registrations
        kill $LIVE
    "#;
    let (out, err, ok) = in_namespace(&db, script);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{out}\n{err}");
    let port = |who: &str| -> u64 {
        let line = out.lines().find_map(|l| l.strip_prefix(who)).unwrap_or_else(|| panic!("{out}\n{err}"));
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
        v["port"].as_u64().unwrap()
    };
    assert_ne!(port("A "), port("B "), "both users got the same port:\n{out}\n{err}");
    let list_b = out.split("LIST-B").nth(1).unwrap().split("LIST-ROOT").next().unwrap();
    let web = list_b.lines().find(|l| l.starts_with("web ")).unwrap_or_else(|| panic!("A's entry is gone:\n{out}"));
    assert!(web.contains("alive (unverified)"), "{list_b}");
    let list_root = out.split("LIST-ROOT").nth(1).unwrap();
    let web = list_root.lines().find(|l| l.starts_with("web ")).unwrap_or_else(|| panic!("{out}"));
    assert!(web.contains(" alive ") && !web.contains("unverified"), "root sees every process:\n{list_root}");
}
