//! The CLI on a shared server: a `/proc` mounted with `hidepid=2` (other
//! users' processes are invisible) and a registry the user may read but not
//! write (a read-only mount, a file of another user) or not read at all.
//!
//! The situations are made for real where this runs as root with
//! `unshare`, `mount` and `setpriv` (Linux): a private mount namespace per
//! test, and the users 65534 (`nobody`) and 65533. Elsewhere these tests say
//! that they were skipped and pass; the decision logic is also covered by
//! the registry crate's unit tests with an injected "cannot read" status.

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
    // 2: other users' /proc/<pid> are missing; 1: present but unreadable.
    for hidepid in [2, 1] {
        let dir = shared_dir(&format!("hidepid{hidepid}"));
        let db = dir.join("ports.sqlite");
        let script = r#"
        mount -t proc -o hidepid=$HIDEPID proc /proc
        "$EXE" registry list >/dev/null
        chmod 666 "$DB"
        A="setpriv --reuid=65534 --regid=65534 --clear-groups"
        B="setpriv --reuid=65533 --regid=65533 --clear-groups"
        $A sleep 60 &
        LIVE=$!
        # Until setpriv has switched to A, the process is root's, which A cannot see.
        until $A cat /proc/$LIVE/stat >/dev/null 2>&1; do sleep 0.01; done
        echo "A $($A "$EXE" registry --json register web --pid $LIVE)"
        # B cannot see A's sleep; B's registration belongs to B's own shell.
        if $B cat /proc/$LIVE/stat >/dev/null 2>&1; then echo "hidepid not in effect"; exit 3; fi
        echo "B $($B sh -c '"$EXE" registry --json register bweb')"
        echo "LIST-B"; $B "$EXE" registry list registrations
        echo "LIST-ROOT"; "$EXE" registry list registrations
        kill $LIVE
    "#;
        let (out, err, ok) = in_namespace(&db, &format!("HIDEPID={hidepid}\n{script}"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(ok, "{out}\n{err}");
        let port = |who: &str| -> u64 {
            let line = out.lines().find_map(|l| l.strip_prefix(who)).unwrap_or_else(|| panic!("{out}\n{err}"));
            let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
            v["port"].as_u64().unwrap()
        };
        assert_ne!(port("A "), port("B "), "hidepid={hidepid}: both users got the same port:\n{out}\n{err}");
        let list_b = out.split("LIST-B").nth(1).unwrap().split("LIST-ROOT").next().unwrap();
        let web = list_b.lines().find(|l| l.starts_with("web ")).unwrap_or_else(|| panic!("A's entry is gone:\n{out}"));
        assert!(web.contains("alive (unverified)"), "{list_b}");
        let list_root = out.split("LIST-ROOT").nth(1).unwrap();
        let web = list_root.lines().find(|l| l.starts_with("web ")).unwrap_or_else(|| panic!("{out}"));
        assert!(web.contains(" alive ") && !web.contains("unverified"), "root sees every process:\n{list_root}");
    }
}

/// A registry on a read-only mount: reads work (the module's ports show
/// as reserved, not free), a write says why it cannot, and nothing is
/// created next to the file.
#[test]
fn a_registry_on_a_read_only_mount_can_be_read() {
    if !can_make_namespaces() {
        return;
    }
    let dir = shared_dir("ro-mount");
    let db = dir.join("ports.sqlite");
    run_ok(super_cmd(&db).args(["registry", "allocate", "2", "web"]));
    let script = r#"
        mount --bind -o ro "$(dirname "$DB")" "$(dirname "$DB")"
        echo LIST; "$EXE" registry list modules
        echo STATUS; "$EXE" status 20000 20001 20002
        echo PLAN; "$EXE" plan web=20000
        echo WRITE; if "$EXE" registry allocate 1 api 2>&1; then echo "WROTE"; fi
        echo FILES; ls -A "$(dirname "$DB")"
    "#;
    let (out, err, ok) = in_namespace(&db, script);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{out}\n{err}");
    let section = |name: &str| out.split(&format!("{name}\n")).nth(1).unwrap().split('\n').collect::<Vec<_>>();
    assert!(section("LIST").iter().any(|l| l.starts_with("web ") && l.contains("20000")), "{out}\n{err}");
    let status = section("STATUS");
    assert!(status.iter().any(|l| l.starts_with("20000 ") && l.contains("reserved")), "{out}\n{err}");
    assert!(status.iter().any(|l| l.starts_with("20002 ") && l.contains(" free")), "{out}\n{err}");
    let write = out.split("WRITE\n").nth(1).unwrap().split("FILES\n").next().unwrap();
    assert!(!write.contains("WROTE") && write.contains("read-only file system"), "{write}");
    assert_eq!(out.split("FILES\n").nth(1).unwrap().trim(), "ports.sqlite", "{out}");
}

/// A registry on a full disk: reads work (housekeeping, which would write,
/// is skipped), a write says why it cannot.
#[test]
fn a_registry_on_a_full_disk_can_be_read() {
    if !can_make_namespaces() {
        return;
    }
    let dir = shared_dir("full-disk");
    let db = dir.join("ports.sqlite");
    let script = r#"
        D="$(dirname "$DB")"
        mount -t tmpfs -o size=1m none "$D"
        "$EXE" registry allocate 2 web >/dev/null
        "$EXE" registry register svc --pid $$ >/dev/null
        dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null || true
        echo LIST; "$EXE" registry list registrations
        echo STATUS; "$EXE" status 20000 45001
        echo WRITE; if "$EXE" registry allocate 1 api 2>&1; then echo "WROTE"; fi
    "#;
    let (out, err, ok) = in_namespace(&db, script);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{out}\n{err}");
    let after = |name: &str| out.split(&format!("{name}\n")).nth(1).unwrap().to_string();
    assert!(after("LIST").lines().nth(1).is_some_and(|l| l.starts_with("svc ")), "{out}\n{err}");
    let status = after("STATUS");
    assert!(status.lines().nth(1).is_some_and(|l| l.starts_with("20000 ") && l.contains("reserved")), "{out}");
    assert!(status.lines().nth(2).is_some_and(|l| l.starts_with("45001 ") && l.contains("reserved")), "{out}");
    let write = after("WRITE");
    assert!(!write.contains("WROTE") && write.contains("is read-only: disk I/O error (is the disk full?)"), "{out}");
}

/// Another user's registry file (0644 in a shared, sticky directory):
/// that user reads it without leaving `-wal`/`-shm` files of their own
/// behind, so the owner can still write; and a stale read-only `-shm` and
/// empty `-wal` of a reader (as older versions left them) do not block the
/// owner's writes where the directory lets the owner remove them.
#[test]
fn another_users_registry_is_read_without_blocking_its_owner() {
    if !can_make_namespaces() {
        return;
    }
    for (mode, stale) in [("1777", false), ("0777", true)] {
        let dir = shared_dir(&format!("other-user-{mode}"));
        run_ok(Command::new("chmod").args([mode, dir.to_str().unwrap()]));
        let db = dir.join("ports.sqlite");
        let script = r#"
            OWNER="setpriv --reuid=65534 --regid=65534 --clear-groups"
            READER="setpriv --reuid=65533 --regid=65533 --clear-groups"
            $OWNER "$EXE" registry allocate 2 web >/dev/null
            chmod 644 "$DB"
            echo LIST; $READER "$EXE" registry list modules
            echo STATUS; $READER "$EXE" status 20000
            echo WRITE; if $READER "$EXE" registry allocate 1 api 2>&1; then echo "WROTE"; fi
            if [ "$STALE" = true ]; then
                $READER sh -c 'umask 022; : > "$DB-shm"; : > "$DB-wal"'
            fi
            echo FILES; ls -A "$(dirname "$DB")"
            echo OWNER; $OWNER "$EXE" registry allocate 2 api 2>&1
        "#;
        let script = format!("STALE={stale}\n{script}");
        let (out, err, ok) = in_namespace(&db, &script);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(ok, "{mode}: {out}\n{err}");
        let after = |name: &str| out.split(&format!("{name}\n")).nth(1).unwrap().to_string();
        assert!(after("LIST").lines().next().is_some_and(|l| l.starts_with("MODULE")), "{mode}: {out}\n{err}");
        assert!(after("LIST").contains("web "), "{mode}: {out}\n{err}");
        let status = after("STATUS");
        assert!(status.lines().nth(1).is_some_and(|l| l.contains("reserved")), "{mode}: {out}\n{err}");
        let write = after("WRITE");
        assert!(!write.split("FILES").next().unwrap().contains("WROTE"), "{mode}: {out}");
        assert!(write.contains("may not write"), "{mode}: {out}");
        let files = after("FILES");
        let files = files.split("OWNER").next().unwrap().trim();
        let expected = if stale { "ports.sqlite\nports.sqlite-shm\nports.sqlite-wal" } else { "ports.sqlite" };
        assert_eq!(files, expected, "{mode}: {out}");
        let owner = after("OWNER");
        assert!(owner.lines().any(|l| l.starts_with("api ") && l.contains("20002")), "{mode}: {out}\n{err}");
    }
}

/// The user that runs a command as root here: plain `port4me` with the
/// registry at `db`.
fn super_cmd(db: &Path) -> Command {
    let mut c = Command::new(EXE);
    c.env("PORT4ME_DB", db).env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_");
    c
}

/// A registry that cannot be read at all (a directory where the file
/// should be, or garbage): status and plan say "unknown (registry
/// unreadable: ...)" rather than "free". Needs no root.
#[test]
fn an_unreadable_registry_makes_status_and_plan_say_unknown() {
    let dir = std::env::temp_dir().join(format!("port4me-unreadable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("dir.sqlite")).unwrap();
    std::fs::write(dir.join("garbage.sqlite"), b"this is not a database, not even close. ".repeat(200)).unwrap();
    // A port nothing listens on, so that it is free to bind.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    for (name, why) in [("dir.sqlite", "is a directory"), ("garbage.sqlite", "not a usable SQLite database")] {
        let db = dir.join(name);
        let out = run_ok(super_cmd(&db).args(["status", &port]));
        let shown = text(&out.stdout);
        let line = shown.lines().nth(1).unwrap_or_else(|| panic!("{shown}"));
        assert!(line.contains("unknown (registry unreadable: ") && line.contains(why), "{name}: {shown}");
        assert!(!line.contains("free"), "{name}: {shown}");
        let json: serde_json::Value =
            serde_json::from_slice(&run_ok(super_cmd(&db).args(["status", "--json", &port])).stdout).unwrap();
        assert!(json[0]["registryError"].as_str().is_some_and(|s| s.contains(why)), "{name}: {json}");

        let out = run_ok(super_cmd(&db).args(["plan", &format!("web={port}")]));
        let shown = text(&out.stdout);
        assert!(shown.contains("unknown (registry unreadable: ") && shown.contains(why), "{name}: {shown}");
        let json: serde_json::Value =
            serde_json::from_slice(&run_ok(super_cmd(&db).args(["plan", "--json", &format!("web={port}")])).stdout)
                .unwrap();
        assert!(json["registryError"].as_str().is_some_and(|s| s.contains(why)), "{name}: {json}");
        let out = run_ok(super_cmd(&db).args(["plan", "--env", &format!("web={port}")]));
        assert!(text(&out.stderr).contains("unknown (registry unreadable: "), "{name}");
    }
    // No registry at all is not an error: nothing is reserved.
    let out = run_ok(super_cmd(&dir.join("missing.sqlite")).args(["status", &port]));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text(&out.stdout).lines().nth(1).is_some_and(|l| l.contains(" free") && !l.contains("unknown")));
}

/// systemd's `ProcSubset=pid` hides `/proc/sys`, so the boot id cannot be
/// read. Another user's plain `registry gc` or `list` there must reclaim
/// nothing: not the live owner's registration, and not the one whose owner
/// exited either, since this machine cannot be told from another boot. Once
/// the boot id is readable again, the exited owner's entry is reclaimed.
#[test]
fn an_unreadable_boot_id_reclaims_nothing() {
    if !can_make_namespaces() {
        return;
    }
    let dir = shared_dir("subset-pid");
    let db = dir.join("ports.sqlite");
    let script = r#"
        sleep 600 & LIVE=$!
        "$EXE" registry register web --pid $LIVE >/dev/null
        # The owner of `short`, that shell, has exited by the time gc runs.
        sh -c '"$EXE" registry register short --pid $$ >/dev/null'
        echo HIDDEN
        unshare --mount sh -eu -c '
            mount -t proc -o subset=pid proc /proc
            test ! -e /proc/sys/kernel/random/boot_id
            "$EXE" registry --json gc
            "$EXE" registry allocate 1 mod >/dev/null
            "$EXE" registry list registrations'
        echo VISIBLE
        "$EXE" registry --json gc
        "$EXE" registry list registrations
        kill $LIVE
    "#;
    let (out, err, ok) = in_namespace(&db, script);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{out}\n{err}");
    let hidden = out.split("HIDDEN\n").nth(1).unwrap().split("VISIBLE\n").next().unwrap();
    let visible = out.split("VISIBLE\n").nth(1).unwrap();
    let gc = |s: &str| s.lines().next().unwrap_or_default().to_string();
    assert!(gc(hidden).contains(r#""registrations":0"#), "hidden: {out}\n{err}");
    for name in ["web ", "short "] {
        let line = hidden.lines().find(|l| l.starts_with(name));
        assert!(line.is_some_and(|l| l.contains("unknown")), "{name} hidden: {out}\n{err}");
    }
    assert!(gc(visible).contains(r#""registrations":1"#), "visible: {out}\n{err}");
    assert!(visible.lines().any(|l| l.starts_with("web ") && l.contains("alive")), "visible: {out}");
    assert!(!visible.lines().any(|l| l.starts_with("short ")), "visible: {out}");
}
