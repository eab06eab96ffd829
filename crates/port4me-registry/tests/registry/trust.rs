//! The trust model: module ranges and accepted allocations record the OS
//! user, releasing another user's takes force and names the owner, offer
//! secrets are stored hashed, and the directory of the registry is checked
//! (a world-writable one is refused for the private default registry).

use std::time::Duration;

use crate::common::*;
use port4me_registry::*;
use sha2::Digest;

/// Makes what the current user holds look like another user's, as if that
/// user had written it (ownership is bookkeeping: any writer can do this).
fn hand_over(path: &std::path::Path, table: &str) {
    let me = User::current();
    raw(path)
        .execute(&format!("UPDATE {table} SET uid = ?1, user = 'someone-else' WHERE uid = ?2"), (me.uid + 1, me.uid))
        .unwrap();
}

#[test]
fn another_users_module_needs_force_and_names_the_owner() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let me = User::current();
    let r = reg.modules().allocate(3, "web", Protocol::Tcp).unwrap();
    let m = &reg.modules().list(None).unwrap()[0];
    assert_eq!((m.user.as_deref(), m.uid), (Some(me.name.as_str()), Some(me.uid)));
    let h = reg.holder_of(r.start, Protocol::Tcp).unwrap().unwrap();
    assert_eq!(h.user.as_deref(), Some(me.name.as_str()));
    assert!(h.to_string().contains(&format!("of user {:?}", me.name)), "{h}");

    hand_over(&path, "module_owners");
    let before = dump(&path);
    for e in [
        reg.modules().release("web", Protocol::Tcp).unwrap_err(),
        reg.modules().allocate(2, "web", Protocol::Tcp).unwrap_err(),
        reg.modules()
            .allocate(2, "web", AllocateOptions { protocol: Protocol::Tcp, keep_existing: true, pool: None })
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_OWNER");
        let msg = e.to_string();
        assert!(msg.contains("\"someone-else\"") && msg.contains("\"web\"") && msg.contains("20000-20002"), "{msg}");
        assert!(msg.contains("force"), "{msg}");
    }
    assert_eq!(dump(&path), before);
    // UDP is another module range of the same name: not theirs.
    reg.modules().allocate(1, "web", Protocol::Udp).unwrap();
    assert_eq!(reg.modules().release("web", ReleaseOptions { protocol: Protocol::Tcp, force: true }).unwrap(), [r]);
    // A row another tool inserted has no owner: anyone may release it.
    raw(&path).execute_batch("INSERT INTO TCP_PORTS VALUES (21000, 21009, 'tool')").unwrap();
    assert_eq!(reg.modules().list(Some(Protocol::Tcp)).unwrap()[0].user, None);
    assert_eq!(reg.modules().release("tool", Protocol::Tcp).unwrap().len(), 1);
    assert!(violations(&path).is_empty());
}

#[test]
fn another_users_allocation_needs_force_and_names_the_owner() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let me = User::current();
    reg.services().define(&ServiceDefinition::new("db", "", 30000, 30009)).unwrap();
    let a = reg.services().offer("db", "a").unwrap();
    let sp = reg.services().accept(&a.secret).unwrap();
    assert_eq!((sp.user.as_deref(), sp.uid), (Some(me.name.as_str()), Some(me.uid)));
    assert_eq!(reg.services().ports("db").unwrap()[0].user.as_deref(), Some(me.name.as_str()));
    // An offer has not been accepted by anyone yet.
    reg.services().offer("db", "b").unwrap();
    assert_eq!(reg.services().instance("db", "b").unwrap().unwrap().user, None);

    hand_over(&path, "service_ports");
    let before = dump(&path);
    let e = reg.services().release("db", "a", ReleaseOptions::default()).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_OWNER");
    let msg = e.to_string();
    assert!(msg.contains("\"someone-else\"") && msg.contains("30000") && msg.contains("force"), "{msg}");
    assert_eq!(dump(&path), before);
    // This user's own pending offer needs no force.
    assert_eq!(reg.services().release("db", "b", ReleaseOptions::default()).unwrap().port, 30001);
    assert_eq!(reg.services().release("db", "a", ReleaseOptions::forced(true)).unwrap().port, 30000);
    assert!(violations(&path).is_empty());
}

/// Another user's pending offer and another user's service, even an empty
/// one, need force too; the error names the owner and what to do.
#[test]
fn another_users_offer_and_service_need_force() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    let me = User::current();
    reg.services().define(&ServiceDefinition::new("db", "", 30000, 30009)).unwrap();
    reg.services().define(&ServiceDefinition::new("empty", "", 31000, 31009)).unwrap();
    reg.services().offer("db", "b").unwrap();
    let other = |sql: &str| raw(&path).execute(sql, (me.uid + 1, me.uid)).unwrap();
    other("UPDATE service_ports SET offered_uid = ?1, offered_user = 'someone-else' WHERE offered_uid = ?2");
    other("UPDATE services SET uid = ?1, user = 'someone-else' WHERE uid = ?2");
    let before = dump(&path);
    for (e, what) in [
        (reg.services().release("db", "b", ReleaseOptions::default()).unwrap_err(), "the offer of port 30000/tcp"),
        (
            reg.services().undefine("empty", ReleaseOptions::forced(false)).unwrap_err(),
            "service \"empty\" (ports 31000-31009/tcp)",
        ),
    ] {
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_NOT_OWNER");
        let msg = e.to_string();
        assert!(msg.contains(what) && msg.contains("\"someone-else\"") && msg.contains("force"), "{msg}");
    }
    assert_eq!(dump(&path), before);
    assert_eq!(reg.services().release("db", "b", ReleaseOptions::forced(true)).unwrap().port, 30000);
    assert_eq!(reg.services().undefine("empty", ReleaseOptions::forced(true)).unwrap().service.name, "empty");
    // Rows of other tools or earlier versions have no owner: no force needed.
    raw(&path).execute_batch("UPDATE services SET uid = NULL, user = NULL").unwrap();
    assert_eq!(reg.services().undefine("db", ReleaseOptions::forced(false)).unwrap().service.name, "db");
    assert!(violations(&path).is_empty());
}

#[test]
fn offer_secrets_are_stored_hashed() {
    let (_d, path) = temp_db();
    let reg =
        Registry::open_with(&path, Config { offer_ttl: Duration::from_millis(300), ..Config::default() }).unwrap();
    reg.services().define(&ServiceDefinition::new("db", "", 30000, 30009)).unwrap();
    let a = reg.services().offer("db", "a").unwrap();
    let b = reg.services().offer("db", "b").unwrap();
    let sha256 = |s: &str| sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let stored: Vec<String> = raw(&path)
        .prepare("SELECT secret_sha256 FROM service_ports ORDER BY port")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, [sha256(&a.secret), sha256(&b.secret)]);
    let mut bytes = file_bytes(&path);
    bytes.extend(side_bytes(&path, "-wal"));
    for s in [&a.secret, &b.secret] {
        assert!(!bytes.windows(32).any(|w| w == s.as_bytes()), "{s} is stored in plain text");
    }
    // Accept and reject still work with the secret, in any case.
    assert_eq!(reg.services().accept(&a.secret.to_uppercase()).unwrap().port, 30000);
    // An offer that expires is remembered by its hash too.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(reg.gc().unwrap().offers, 1);
    let e = reg.services().accept(&b.secret).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET");
    let expired: String = raw(&path).query_row("SELECT secret_sha256 FROM expired_offers", [], |r| r.get(0)).unwrap();
    assert_eq!(expired, sha256(&b.secret));
    assert!(violations(&path).is_empty());
}

#[cfg(unix)]
#[test]
fn a_world_writable_directory_is_refused_for_the_private_registry_and_allowed_for_a_shared_one() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let dir = state.join("port4me");
    std::fs::create_dir_all(&dir).unwrap();
    let env = |db: Option<&std::path::Path>| {
        let state = state.clone();
        let db = db.map(|p| p.as_os_str().to_owned());
        move |k: &str| match k {
            "XDG_STATE_HOME" => Some(state.clone().into_os_string()),
            "PORT4ME_DB" => db.clone(),
            _ => None,
        }
    };
    for mode in [0o777, 0o1777, 0o757] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        for read_only in [false, true] {
            let e = Registry::open_default_from(env(None), Config { read_only, ..Config::default() }).unwrap_err();
            assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INSECURE_DIRECTORY", "{mode:o}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(&dir.display().to_string()) && msg.contains("chmod 700"), "{msg}");
        }
        assert!(!dir.join("ports.sqlite").exists(), "nothing is created in it");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    Registry::open_default_from(env(None), Config::default()).unwrap();
    // A shared registry (PORT4ME_DB, or an explicit path) in a directory
    // every user may write opens (with a warning on stderr: see the CLI's
    // tests).
    let shared = d.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = shared.join("ports.sqlite");
    let reg = Registry::open_default_from(env(Some(&db)), Config::default()).unwrap();
    assert_eq!(reg.path(), db);
    Registry::open(&db).unwrap().modules().allocate(1, "x", Protocol::Tcp).unwrap();
}

/// The default registry's directory must be this user's own: a symbolic
/// link (a state directory under a shared one) or a directory of another
/// user is refused, naming the link or the owner. A registry named by
/// `PORT4ME_DB` gets no directory created for it, as an explicit path gets none.
#[cfg(unix)]
#[test]
fn the_private_directory_is_this_users_own_and_only_it_is_created() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let dir = state.join("port4me");
    let env = |db: Option<std::path::PathBuf>| {
        let state = state.clone();
        move |k: &str| match k {
            "XDG_STATE_HOME" => Some(state.clone().into_os_string()),
            "PORT4ME_DB" => db.clone().map(|p| p.into_os_string()),
            _ => None,
        }
    };
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    for read_only in [false, true] {
        let e = Registry::open_default_from(env(None), Config { read_only, ..Config::default() }).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INSECURE_DIRECTORY", "{e}");
        let msg = e.to_string();
        assert!(msg.contains("symbolic link") && msg.contains(&elsewhere.display().to_string()), "{msg}");
    }
    assert!(!elsewhere.join("ports.sqlite").exists());
    std::fs::remove_file(&dir).unwrap();

    // Another user's directory: only root can make one here.
    if User::current().uid == 0 {
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let e = Registry::open_default_from(env(None), Config::default()).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INSECURE_DIRECTORY", "{e}");
        assert!(e.to_string().contains("belongs to user") && e.to_string().contains("not to \"root\""), "{e}");
        std::fs::remove_dir(&dir).unwrap();
    } else {
        eprintln!("skipped the other user's directory: needs root to chown");
    }

    // PORT4ME_DB in a missing directory: refused, nothing created.
    let missing = d.path().join("missing").join("x").join("ports.sqlite");
    let e = Registry::open_default_from(env(Some(missing.clone())), Config::default()).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!d.path().join("missing").exists());
    // The default directory is created, private.
    let reg = Registry::open_default_from(env(None), Config::default()).unwrap();
    assert_eq!(reg.path(), dir.join("ports.sqlite"));
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}
