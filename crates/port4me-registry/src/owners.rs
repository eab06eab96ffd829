//! What an operation learns before it takes the write lock: the liveness
//! of the owners, and whether anything has lapsed.
//!
//! Every write transaction begins by reclaiming the entries of owner
//! processes that are gone, and reads filter them, which means asking the
//! system about every owner (on Linux a read of `/proc/<pid>/stat` each):
//! with a few dozen owners that was most of the time a writer held the
//! lock, and every other writer waited for it. So an operation asks first,
//! in a read snapshot and without any lock, and the answers serve the
//! [`ProcessId::liveness`] calls of its transaction (on the same thread,
//! for that operation only).
//!
//! On Linux most owners need no asking at all: one found alive is watched
//! through a pidfd and one found gone is remembered (see [`process`](crate::process)),
//! so asking again is a `poll`. A writer that has to wait therefore asks
//! ahead only while the handle's last write had to ask the system about an
//! owner (a new owner, one that cannot be watched); otherwise the read
//! snapshot would cost more than it saves.
//!
//! Nothing is reclaimed that is not gone: a process once gone (exited, a
//! zombie, its pid reused by a process with another start time) stays
//! gone, and an owner that was alive a moment before the transaction is
//! kept, as if it had exited just after it (the next operation reclaims
//! it). An owner recorded meanwhile is not in the memo and is asked about
//! as before.
//!
//! The same survey tells a read whether the housekeeping would reclaim
//! anything (an expired lease or offer, an entry of an earlier boot, an
//! owner gone). When not, the read runs in that snapshot without the write
//! lock and gives what it would have given after the housekeeping; when
//! so, it takes the write lock and reclaims first, as before. The survey
//! must therefore see everything `registrations::housekeeping` reclaims (the tests
//! below build each case).

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::Connection;

use crate::process::{Liveness, Machine, ProcessId};
use crate::Timestamp;

thread_local! {
    static MEMO: RefCell<Option<HashMap<(u32, u64), Liveness>>> = const { RefCell::new(None) };
}

/// The answers of one operation; dropping it forgets them.
pub(crate) struct Memo(());

impl Drop for Memo {
    fn drop(&mut self) {
        MEMO.with(|m| *m.borrow_mut() = None);
    }
}

/// What an operation learns before its transaction: the memo, and whether
/// anything has lapsed.
pub(crate) struct Survey {
    /// Keeps the answers for this operation.
    pub _memo: Memo,
    /// Nothing the housekeeping would reclaim was seen: no expired lease or
    /// offer, no entry of an earlier boot, no owner gone (false when the
    /// survey could not tell).
    pub clean: bool,
}

/// Surveys in a read snapshot of its own (see [`survey_in`]); `conn` must
/// not be in a transaction.
pub(crate) fn look_ahead(conn: &Connection, now: Timestamp) -> Survey {
    let seen = (|| {
        conn.execute_batch("BEGIN DEFERRED")?;
        let seen = read(conn, now);
        let end = conn.execute_batch("COMMIT");
        let seen = seen?;
        end?;
        Ok::<_, rusqlite::Error>(seen)
    })();
    remember(seen.ok())
}

/// Asks about every owner of an entry on this machine that the open
/// transaction on `conn` shows, for the operation about to run on this
/// thread, and looks for anything else that has lapsed at `now` (the same
/// rules as the housekeeping of `names` and `services`: what is reclaimed
/// there must be seen here). A failed read leaves the memo empty and the
/// survey not clean: the transaction then asks itself.
pub(crate) fn survey_in(conn: &Connection, now: Timestamp) -> Survey {
    remember(read(conn, now).ok())
}

fn remember(seen: Option<(Vec<(u32, i64)>, bool)>) -> Survey {
    let Some((owners, lapsed)) = seen else {
        MEMO.with(|m| *m.borrow_mut() = Some(HashMap::new()));
        return Survey { _memo: Memo(()), clean: false };
    };
    let mut gone = false;
    let memo: HashMap<(u32, u64), Liveness> = owners
        .into_iter()
        .map(|(pid, start)| {
            let start = start as u64;
            let l = ProcessId { pid, start_time: start }.liveness();
            gone |= l == Liveness::Gone;
            ((pid, start), l)
        })
        .collect();
    MEMO.with(|m| *m.borrow_mut() = Some(memo));
    Survey { _memo: Memo(()), clean: !lapsed && !gone }
}

/// The owners (pid, start time) of the registrations and leases on this
/// machine `(?1, ?2, ?3)` = (host, pid namespace, boot id). Schema 3's
/// indexes answer it from the index alone.
pub(crate) const OWNERS_ON_MACHINE: &str = "SELECT pid, pid_start FROM registrations \
     WHERE host = ?1 AND pid_ns = ?2 AND boot_id = ?3 \
     UNION SELECT pid, pid_start FROM leases WHERE pid IS NOT NULL AND host = ?1 AND pid_ns = ?2 AND boot_id = ?3";

/// The owners on this machine, and whether an entry has lapsed by time or
/// belongs to an earlier boot.
fn read(conn: &Connection, now: Timestamp) -> rusqlite::Result<(Vec<(u32, i64)>, bool)> {
    let m = Machine::current();
    if !m.known {
        // No owner can be judged (see `process`): only time can lapse.
        let lapsed = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM leases WHERE expires <= ?1) \
                 OR EXISTS (SELECT 1 FROM service_ports WHERE state = 'offered' AND expires <= ?1)",
            )?
            .query_row([now.millis()], |r| r.get(0))?;
        return Ok((Vec::new(), lapsed));
    }
    let owners = conn
        .prepare_cached(OWNERS_ON_MACHINE)?
        .query_map((&m.host, &m.pid_ns, &m.boot_id), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let lapsed = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM leases WHERE expires <= ?4) \
             OR EXISTS (SELECT 1 FROM service_ports WHERE state = 'offered' AND expires <= ?4) \
             OR EXISTS (SELECT 1 FROM registrations WHERE host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> '') \
             OR EXISTS (SELECT 1 FROM leases WHERE pid IS NOT NULL AND host = ?1 AND pid_ns = ?2 AND boot_id <> ?3 AND boot_id <> '')",
        )?
        .query_row((&m.host, &m.pid_ns, &m.boot_id, now.millis()), |r| r.get(0))?;
    Ok((owners, lapsed))
}

/// The answer the running operation already has about `pid` started at
/// `start_time`, if any.
pub(crate) fn remembered(pid: u32, start_time: u64) -> Option<Liveness> {
    MEMO.with(|m| m.borrow().as_ref().and_then(|memo| memo.get(&(pid, start_time)).copied()))
}

#[cfg(all(test, any(target_os = "linux", target_os = "macos", windows)))]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::{Config, Owner, Protocol, Registry, ReserveOptions};

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.sqlite");
        (dir, path)
    }

    fn clean(reg: &Registry) -> bool {
        let conn = reg.lock();
        let survey = look_ahead(&conn, Timestamp::now());
        survey.clean
    }

    /// The survey of a read, in a transaction of its own.
    fn clean_in(reg: &Registry) -> bool {
        let mut conn = reg.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred).unwrap();
        let clean = survey_in(&tx, Timestamp::now()).clean;
        tx.commit().unwrap();
        clean
    }

    #[test]
    fn the_owners_on_this_machine_are_read_from_the_index_alone() {
        let (_d, path) = temp_db();
        drop(Registry::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {OWNERS_ON_MACHINE}"))
            .unwrap()
            .query_map(("h", "ns", "b"), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let text = plan.join("\n");
        for table in ["registrations", "leases"] {
            assert!(text.contains(&format!("SEARCH {table} USING COVERING INDEX {table}_owner")), "{text}");
        }
    }

    /// One registration, one lease and one offer, all live, by this process.
    fn filled(path: &std::path::Path) -> Registry {
        let reg = Registry::open(path).unwrap();
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        let query = port4me::Port4me::new().user("alice").tool("vite");
        let lease = ReserveOptions { ttl: Duration::from_secs(600), owner: Owner::Current, label: None };
        reg.leases().reserve_checked(&query, &lease, |_| Ok(true)).unwrap();
        reg.services().define(&crate::ServiceDefinition::new("db", "a database", 30000, 30009)).unwrap();
        reg.services().offer("db", "one").unwrap();
        reg
    }

    #[test]
    fn the_survey_sees_everything_the_housekeeping_reclaims() {
        let cases = [
            ("an expired lease", "UPDATE leases SET expires = 1"),
            ("an expired offer", "UPDATE service_ports SET expires = 1 WHERE state = 'offered'"),
            ("a registration of an earlier boot", "UPDATE registrations SET boot_id = 'earlier'"),
            ("a lease of an earlier boot", "UPDATE leases SET boot_id = 'earlier'"),
            ("a registration whose owner is gone", "UPDATE registrations SET pid_start = pid_start + 1"),
            ("a lease whose owner is gone", "UPDATE leases SET pid_start = pid_start + 1"),
        ];
        for (what, sql) in cases {
            let (_d, path) = temp_db();
            let reg = filled(&path);
            assert!(clean(&reg), "{what}: clean before");
            assert!(clean_in(&reg), "{what}: clean before (a read's survey)");
            assert_eq!(reg.gc().unwrap().total(), 0, "{what}: nothing to reclaim before");
            rusqlite::Connection::open(&path).unwrap().execute(sql, []).unwrap();
            assert!(!clean(&reg), "{what}: not seen by the survey");
            assert!(!clean_in(&reg), "{what}: not seen by a read's survey");
            assert_eq!(reg.gc().unwrap().total(), 1, "{what}: reclaimed by the housekeeping");
            assert!(clean(&reg), "{what}: clean after");
        }
    }

    #[test]
    fn a_read_takes_the_write_lock_only_when_something_has_lapsed() {
        let (_d, path) = temp_db();
        filled(&path);
        let config = Config { busy_timeout: Duration::from_millis(200), ..Config::default() };
        let reg = Registry::open_with(&path, config).unwrap();
        // Another process writes and keeps the lock.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let start = Instant::now();
        assert_eq!(reg.registrations().list().unwrap().len(), 1);
        assert_eq!(reg.holder_of(30000, Protocol::Tcp).unwrap().unwrap().name, "db");
        assert!(start.elapsed() < Duration::from_millis(200), "a clean read waited for the writer");
        // Something lapsed (in the other process's transaction, committed):
        // the read reclaims it first, so it waits for the lock.
        other.execute_batch("UPDATE registrations SET pid_start = pid_start + 1; COMMIT; BEGIN IMMEDIATE").unwrap();
        assert_eq!(reg.registrations().list().unwrap_err().code(), "ERR_PORT4ME_REGISTRY_BUSY");
        other.execute_batch("COMMIT").unwrap();
        assert_eq!(reg.registrations().list().unwrap().len(), 0);
        let rows: i64 = other.query_row("SELECT count(*) FROM registrations", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0, "deleted, not just hidden");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_writer_asks_ahead_only_while_some_owner_is_not_watched() {
        use std::sync::atomic::Ordering::Relaxed;
        let (_d, path) = temp_db();
        let reg = Registry::open(&path).unwrap();
        assert!(reg.ask_ahead.load(Relaxed), "a new handle asks ahead");
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        assert!(!reg.ask_ahead.load(Relaxed), "every owner (this process) is watched");
        // An owner with no start time cannot be watched: asked every time.
        let me = ProcessId::current().unwrap();
        let unknown = Owner::Process(ProcessId { pid: me.pid, start_time: 0 });
        let options = crate::RegisterOptions { owner: unknown, ..Default::default() };
        reg.registrations().register("api", &options).unwrap();
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        assert!(reg.ask_ahead.load(Relaxed), "an owner the system is asked about");
        assert_eq!(reg.registrations().release("api").unwrap().name, "api");
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        assert!(!reg.ask_ahead.load(Relaxed));
        assert_eq!(reg.registrations().list().unwrap().len(), 5, "and nothing was reclaimed on the way");
    }

    #[test]
    fn answers_serve_one_operation_on_its_own_thread() {
        let (_d, path) = temp_db();
        let reg = filled(&path);
        let me = ProcessId::current().unwrap();
        {
            let conn = reg.lock();
            let _survey = look_ahead(&conn, Timestamp::now());
            assert_eq!(remembered(me.pid, me.start_time), Some(Liveness::Alive));
            let other = std::thread::spawn(move || remembered(me.pid, me.start_time)).join().unwrap();
            assert_eq!(other, None, "another thread's operation asks for itself");
        }
        assert_eq!(remembered(me.pid, me.start_time), None, "forgotten after the operation");
    }
}
