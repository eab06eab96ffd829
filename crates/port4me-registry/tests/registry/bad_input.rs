//! Bad input: every case is a clear error (stable code, a message naming
//! the bad value) and leaves the database exactly as it was.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use port4me_registry::*;

/// A registry with a bit of everything in it.
fn populated(path: &Path) -> Registry {
    let reg = Registry::open_with(path, Config { offer_ttl: Duration::from_millis(200), ..Config::default() }).unwrap();
    reg.modules().allocate(5, "web", Protocol::Tcp).unwrap();
    reg.modules().allocate(2, "dns", Protocol::Udp).unwrap();
    reg.services().define(&ServiceDefinition::new("db", "databases", 15000, 15001)).unwrap();
    reg.registrations().register("api", RegisterOptions::default()).unwrap();
    reg.leases()
        .reserve(&port4me::Port4me::new().user("alice").tool("vite"), Duration::from_secs(600))
        .map(|l| l.port)
        .unwrap();
    reg
}

/// Runs `f`, which must fail with `code` and a message containing every
/// `needle`, and checks the database content did not change.
fn refused<T: std::fmt::Debug>(path: &Path, code: &str, needles: &[&str], f: impl FnOnce() -> Result<T>) {
    let before = dump(path);
    let e = f().expect_err(code);
    assert_eq!(e.code(), code, "{e}");
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "{msg:?} should mention {n:?}");
    }
    assert_eq!(dump(path), before, "{code} changed the database");
    assert!(violations(path).is_empty());
}

#[test]
fn counts_protocols_and_pools() {
    let (_d, path) = temp_db();
    let reg = populated(&path);
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_COUNT", &["0", "\"web\""], || {
        reg.modules().allocate(0, "web", Protocol::Tcp)
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_COUNT", &["25002", "20000-45000", "25001"], || {
        reg.modules().allocate(25002, "web", Protocol::Tcp)
    });
    // The whole pool minus what is held does not fit either: exhausted, and "web" keeps its range.
    refused(&path, "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED", &["25001", "20000-45000"], || {
        reg.modules().allocate(25001, "other", Protocol::Tcp)
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_UNKNOWN_PROTOCOL", &["sctp"], || parse_protocol("sctp"));
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_RANGE", &["50-40"], || {
        reg.modules().allocate(
            1,
            "x",
            AllocateOptions { protocol: Protocol::Tcp, keep_existing: false, pool: Some((50, 40)) },
        )
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_RANGE", &["0-40"], || {
        reg.registrations().register("x", &RegisterOptions { pool: Some((0, 40)), ..Default::default() })
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_RANGE", &["9-1"], || {
        Registry::open_with(&path, Config { module_pool: (9, 1), ..Config::default() })
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_DURATION", &["offer"], || {
        Registry::open_with(&path, Config { offer_ttl: Duration::ZERO, ..Config::default() })
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_DURATION", &["lease"], || {
        reg.leases().reserve(&port4me::Port4me::new().user("bob"), Duration::ZERO).map(|l| l.port)
    });
    // A bad port4me query is port4me's own error, before anything is written.
    refused(&path, "ERR_PORT4ME_INVALID_SPEC", &[], || {
        reg.leases()
            .reserve(&port4me::Port4me::new().user("bob").include("5-3"), Duration::from_secs(5))
            .map(|l| l.port)
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_NO_SUCH_PROCESS", &["4194304"], || Owner::pid(4_194_304));
}

#[test]
fn names() {
    let (_d, path) = temp_db();
    let reg = populated(&path);
    let huge = "n".repeat(100_000);
    for (name, needle) in [
        ("", "empty"),
        (huge.as_str(), "100000 bytes"),
        ("a\0b", "NUL"),
        ("tab\there", "control"),
        (" padded", "white space"),
    ] {
        let code = "ERR_PORT4ME_REGISTRY_INVALID_NAME";
        refused(&path, code, &["module", needle], || reg.modules().allocate(1, name, Protocol::Tcp));
        // deallocate takes any name (other tools write the module tables
        // directly); one that nothing holds releases nothing.
        assert_eq!(reg.modules().release(name, Protocol::Udp).unwrap(), []);
        refused(&path, code, &["service", needle], || {
            reg.services().define(&ServiceDefinition::new(name, "", 16000, 16001))
        });
        refused(&path, code, &["service", needle], || reg.services().offer(name, "i"));
        refused(&path, code, &["instance", needle], || reg.services().offer("db", name));
        refused(&path, code, &["service", needle], || reg.registrations().register(name, RegisterOptions::default()));
        refused(&path, code, &["registration", needle], || reg.registrations().release(name));
    }
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_TEXT", &["description", "NUL"], || {
        reg.services().define(&ServiceDefinition::new("ok", "a\0b", 16000, 16001))
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_INVALID_NAME", &["195"], || {
        reg.registrations().register(&"r".repeat(199), RegisterOptions::default())
    });
}

#[test]
fn service_ranges() {
    let (_d, path) = temp_db();
    let reg = populated(&path);
    let e = "ERR_PORT4ME_REGISTRY_INVALID_RANGE";
    refused(&path, e, &["17000-16000", "after"], || {
        reg.services().define(&ServiceDefinition::new("s", "", 17000, 16000))
    });
    refused(&path, e, &["0-100"], || reg.services().define(&ServiceDefinition::new("s", "", 0, 100)));
    refused(&path, e, &["60000-70000", "65535"], || {
        reg.services().define(&ServiceDefinition::new("s", "", 60000, 70000))
    });
    refused(&path, e, &["70000-70001"], || reg.services().define(&ServiceDefinition::new("s", "", 70000, 70001)));
    let r = "ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE";
    refused(&path, r, &["1000-2000", "1024"], || reg.services().define(&ServiceDefinition::new("s", "", 1000, 2000)));
    refused(&path, r, &["40000-50000", "49152"], || {
        reg.services().define(&ServiceDefinition::new("s", "", 40000, 50000))
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT", &["20003-20010", "module \"web\""], || {
        reg.services().define(&ServiceDefinition::new("s", "", 20003, 20010))
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_SERVICE_EXISTS", &["db"], || {
        reg.services().define(&ServiceDefinition::new("db", "", 16000, 16001))
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE", &["nope"], || reg.services().offer("nope", "i"));
    refused(&path, "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE", &["nope"], || reg.services().ports("nope"));
}

#[test]
fn secrets() {
    let (_d, path) = temp_db();
    let reg = populated(&path);
    let offer = reg.services().offer("db", "a").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Let the expiry happen (any operation does it), then look at the state.
    reg.gc().unwrap();
    refused(&path, "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET", &[&offer.secret, "15000", "expired"], || {
        reg.services().accept(&offer.secret)
    });
    refused(&path, "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET", &[&offer.secret], || reg.services().reject(&offer.secret));
    let unknown = "0123456789abcdef0123456789abcdef";
    refused(&path, "ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET", &[unknown], || reg.services().accept(unknown));
    refused(&path, "ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET", &[unknown], || reg.services().reject(unknown));
    for bad in ["", "xyz", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef00"] {
        refused(&path, "ERR_PORT4ME_REGISTRY_MALFORMED_SECRET", &["32 hexadecimal"], || reg.services().accept(bad));
    }
}

#[test]
fn read_only_database() {
    let (_d, path) = temp_db();
    drop(populated(&path));
    let ro = Registry::open_with(&path, Config { read_only: true, ..Config::default() }).unwrap();
    assert!(ro.is_read_only());
    // Reads work.
    assert_eq!(ro.registrations().list().unwrap().len(), 1);
    assert_eq!(ro.holder_of(20000, Protocol::Tcp).unwrap().unwrap().name, "web");
    assert_eq!(ro.leases().list().unwrap().len(), 1);
    let p = path.display().to_string();
    let code = "ERR_PORT4ME_REGISTRY_READ_ONLY";
    refused(&path, code, &[&p], || ro.modules().allocate(1, "x", Protocol::Tcp));
    refused(&path, code, &[&p], || ro.registrations().register("x", RegisterOptions::default()));
    refused(&path, code, &[&p], || ro.services().define(&ServiceDefinition::new("x", "", 16000, 16001)));
    refused(&path, code, &[&p], || ro.gc());
    refused(&path, code, &[&p], || {
        ro.leases().reserve(&port4me::Port4me::new().user("bob"), Duration::from_secs(5)).map(|l| l.port)
    });

    // A file the user may not write (not testable as root, who may write anything).
    #[cfg(unix)]
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let reg = Registry::open(&path).unwrap();
        assert!(reg.is_read_only());
        refused(&path, code, &[&p], || reg.modules().allocate(1, "x", Protocol::Tcp));
    }
}

/// Opens `path` expecting `code`; the file's bytes must not change.
fn refused_file(path: &Path, code: &str, needles: &[&str]) {
    let before = file_bytes(path);
    for read_only in [false, true] {
        let e = Registry::open_with(path, Config { read_only, ..Config::default() }).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        for n in needles.iter().chain([&path.display().to_string().as_str()]) {
            assert!(e.to_string().contains(n), "{e} should mention {n:?}");
        }
    }
    assert_eq!(file_bytes(path), before, "the file was changed");
}

/// A file of a pre-release build (its own application id, schema 1 to 4)
/// is refused by name, by writable and read-only handles alike, and left
/// as it was: no release can read it, and guessing would lose holdings.
#[test]
fn a_pre_release_registry_is_refused_by_name() {
    for found in 1..=4 {
        let (_d, path) = temp_db();
        drop(populated(&path));
        {
            let c = raw(&path);
            c.pragma_update(None, "application_id", port4me_registry::schema::PRE_RELEASE_APPLICATION_ID).unwrap();
            c.pragma_update(None, "user_version", found).unwrap();
            c.pragma_update(None, "journal_mode", "DELETE").unwrap();
        }
        let schema = format!("(schema {found})");
        refused_file(&path, "ERR_PORT4ME_REGISTRY_PRE_RELEASE", &["pre-release build", &schema, "move it aside"]);
    }
}

#[test]
fn newer_schema_is_refused_untouched() {
    let (_d, path) = temp_db();
    drop(populated(&path));
    {
        let c = raw(&path);
        c.pragma_update(None, "user_version", 99).unwrap();
        // Back to a rollback journal, so the whole database is in the main file.
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    refused_file(&path, "ERR_PORT4ME_REGISTRY_SCHEMA_TOO_NEW", &["version 99", "upgrade port4me"]);
    let mode: String = raw(&path).query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "not even the journal mode was changed");
}

#[test]
fn garbage_and_foreign_files_are_refused_untouched() {
    let (d, path) = temp_db();
    // Random bytes.
    let mut junk = vec![0u8; 10_000];
    getrandom::fill(&mut junk).unwrap();
    std::fs::write(&path, &junk).unwrap();
    refused_file(&path, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &["not a usable SQLite database", "left untouched"]);
    // A text file.
    let text = d.path().join("notes.txt");
    std::fs::write(&text, "port 8080 is mine\n".repeat(300)).unwrap();
    refused_file(&text, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &[]);
    // Someone else's SQLite database.
    let foreign = d.path().join("other.sqlite");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello');").unwrap();
    }
    refused_file(&foreign, "ERR_PORT4ME_REGISTRY_FOREIGN_DATABASE", &["another program"]);
    let other_app = d.path().join("app.sqlite");
    {
        let c = rusqlite::Connection::open(&other_app).unwrap();
        c.pragma_update(None, "application_id", 0x1234).unwrap();
    }
    refused_file(&other_app, "ERR_PORT4ME_REGISTRY_FOREIGN_DATABASE", &["0x1234"]);
}

#[test]
fn a_damaged_registry_is_refused_untouched() {
    let (_d, path) = temp_db();
    drop(populated(&path));
    raw(&path).pragma_update(None, "journal_mode", "DELETE").unwrap();
    let mut bytes = file_bytes(&path);
    // Overwrite the schema table's cells on page 1 (after the 100-byte header).
    for b in &mut bytes[3000..4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    refused_file(&path, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &["malformed"]);
}

#[test]
fn missing_directory_is_a_clear_error() {
    let (d, _) = temp_db();
    let path = d.path().join("no-such-dir").join("ports.sqlite");
    let e = Registry::open(&path).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_IO");
    assert!(e.to_string().contains("no-such-dir"), "{e}");
    assert!(!path.exists());
    // The OS error is said once, in the message, not again as a source.
    let os = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    assert!(e.to_string().contains("No such file or directory") || e.to_string().contains(&os), "{e}");
    assert!(std::error::Error::source(&e).is_none(), "{e:?}");
}

#[cfg(unix)]
#[test]
fn new_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (d, path) = temp_db();
    drop(Registry::open(&path).unwrap());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // The default location, in a child process so this one's environment
    // stays as it is: directories 0700, file 0600.
    let state = d.path().join("state");
    let out = std::process::Command::new(STRESS)
        .args(["register", "--db", "default", "--service", "x", "--owner", "parent"])
        .env("XDG_STATE_HOME", &state)
        .env_remove("PORT4ME_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let dir = state.join("port4me");
    let db = dir.join("ports.sqlite");
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(Registry::open(&db).unwrap().registrations().list().unwrap().len(), 1);
}

#[test]
fn read_only_open_of_a_missing_file_creates_nothing() {
    let (_d, path) = temp_db();
    let e = Registry::open_with(&path, Config { read_only: true, ..Config::default() }).unwrap_err();
    assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_IO");
    // The system's words for ENOENT ("No such file", or on Windows "The
    // system cannot find the file specified" / Wine's "File not found").
    assert!(e.to_string().contains("No such file") || cfg!(windows) && e.to_string().contains("os error 2"), "{e}");
    assert!(!path.exists());
}

/// A negative `PRAGMA user_version` is no schema version port4me writes:
/// one sentence saying so, not the schema's SQL from a failed re-creation.
#[test]
fn negative_schema_version_is_refused_in_one_sentence() {
    let (d, path) = temp_db();
    drop(populated(&path));
    {
        let c = raw(&path);
        c.pragma_update(None, "user_version", -1).unwrap();
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    refused_file(&path, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &["schema version -1", "left untouched"]);
    let e = Registry::open(&path).unwrap_err().to_string();
    assert!(!e.contains('\n') && !e.contains("CREATE"), "{e}");
    // An empty database of no one with a negative version too.
    let empty = d.path().join("empty.sqlite");
    rusqlite::Connection::open(&empty).unwrap().pragma_update(None, "user_version", -7).unwrap();
    refused_file(&empty, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &["schema version -7"]);
}

/// A `user_version` set back by another program (the tables are current,
/// the version says 0): one sentence naming the mismatch, not the SQL error
/// of a schema that cannot be created over it, and the file is left as it was. A
/// read-only handle says the same, not "read-only".
#[test]
fn a_rolled_back_schema_version_is_refused_in_one_sentence() {
    let (_d, path) = temp_db();
    drop(populated(&path));
    raw(&path).pragma_update(None, "user_version", 0).unwrap();
    refused_file(&path, "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE", &["schema version 0", "do not match"]);
    let e = Registry::open(&path).unwrap_err().to_string();
    assert!(!e.contains('\n') && e.contains("user_version"), "{e}");
}

/// A protocol column that is neither tcp nor udp (the CHECK constraints keep
/// it out; another tool with `ignore_check_constraints` can put it in) is an
/// error naming the value, never silently read as TCP.
#[test]
fn a_stored_protocol_other_than_tcp_or_udp_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.sqlite");
    let reg = populated(&path);
    drop(reg);
    for (table, read) in [
        ("registrations", (|r: &Registry| r.registrations().list().map(|_| ())) as fn(&Registry) -> Result<()>),
        ("services", |r: &Registry| r.services().definitions().map(|_| ())),
        ("leases", |r: &Registry| r.leases().list().map(|_| ())),
    ] {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA ignore_check_constraints = ON; PRAGMA recursive_triggers = OFF; \
             CREATE TEMP TABLE saved AS SELECT rowid AS id, protocol FROM {table}; \
             UPDATE {table} SET protocol = 'sctp';"
        ))
        .unwrap_or_else(|e| panic!("{table}: {e}"));
        let reg = Registry::open(&path).unwrap();
        let e = read(&reg).expect_err(table);
        assert!(e.to_string().contains("sctp"), "{table}: {e}");
        drop(reg);
        conn.execute_batch(&format!(
            "UPDATE {table} SET protocol = (SELECT protocol FROM saved WHERE saved.id = {table}.rowid); DROP TABLE saved;"
        ))
        .unwrap();
    }
}

/// A side file planted as a symbolic link (`ports.sqlite-wal` pointing
/// elsewhere) is refused by name before SQLite opens anything, and nothing
/// is written through the link.
#[cfg(unix)]
#[test]
fn a_planted_side_file_symlink_is_named() {
    let (d, path) = temp_db();
    drop(populated(&path));
    let target = d.path().join("elsewhere");
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        std::os::unix::fs::symlink(&target, &side).unwrap();
        let e = Registry::open(&path).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_IO", "{suffix}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&side.display().to_string()) && msg.contains("side file") && msg.contains("symbolic link"),
            "{msg}"
        );
        assert!(!target.exists(), "{suffix}: something was written through the link");
        std::fs::remove_file(&side).unwrap();
    }
    Registry::open(&path).unwrap();
}
