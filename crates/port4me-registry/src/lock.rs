//! How writers take turns, and when their commits reach the disk.
//!
//! **Queue.** SQLite's write lock cannot be waited for: a writer that finds
//! it taken gets `SQLITE_BUSY` and has to poll, so under contention the
//! lock often sits free while every waiter sleeps, and an unlucky waiter
//! can lose the race again and again (seconds, with 16 processes). So a
//! writer first takes an advisory lock on a sidecar file, `<db>-lock`
//! (`flock`, Unix), where the kernel parks the waiters and wakes them the
//! moment it is released; the writer then takes SQLite's lock, which is
//! normally free by then. The sidecar only orders writers: SQLite's lock
//! still guards the data, so a process that skips the sidecar (an older
//! port4me, the `sqlite3` shell) is as safe as before, it just does not
//! queue, and a writer that cannot open the sidecar polls as before. The
//! wait honours the busy timeout: it runs on a helper thread of the handle
//! (started at its first wait, with a descriptor of its own, and kept until
//! the handle is dropped), and a caller that gives up leaves the thread to
//! release the lock as soon as it gets it, or to hand it to the handle's
//! next writer if one is waiting by then. Read-only handles never create
//! or take it. (Windows: no sidecar yet, writers poll.)
//!
//! **Flush.** A durable commit ([`Config::durable`](crate::Config::durable))
//! must be on disk before the operation returns. With `synchronous=FULL`
//! SQLite flushes the write-ahead log while it still holds the write lock,
//! so every writer waits for every other writer's flush (one disk flush per
//! operation, a few milliseconds on a virtual disk, serialised). Instead,
//! on Unix in WAL mode the connection runs with `synchronous=NORMAL` (which
//! still flushes at checkpoints and when the log is restarted) and the
//! registry flushes the log after the commit, once the locks are released,
//! before the operation returns. It does so through SQLite's own handle of
//! the log (`SQLITE_FCNTL_JOURNAL_POINTER`): a descriptor of its own would
//! drop the process's locks on that file when closed. A flush writes out the
//! whole file, so writers that commit at about the same time share one
//! flush (group commit), and a flush covers every commit before it: a
//! returned operation is on disk together with everything it depended on.
//! A process killed between its commit and its flush loses nothing either
//! (the commit is in the page cache, and the next flush or checkpoint
//! writes it out); only an operation that has not returned can be lost to
//! a power failure, as with `FULL`. A transaction that changed nothing is
//! not flushed.
//!
//! **Short log.** The first connection to open the file, when no other has
//! it open, reads the whole write-ahead log to rebuild its index. SQLite's
//! automatic checkpoint copies the log into the database once it reaches
//! 1000 pages, but only a later write of the same connection starts the log
//! over. A process that exits with its connection open (`port4me run`
//! does, so as not to pay for a checkpoint on close) never makes that
//! write, and the next process's rebuilt index forgets what was copied: the
//! log grew without end (13.5 MB after 300 runs, each run then spending
//! 8 ms more reading it). Such a process calls
//! [`Registry::leave_open`](crate::Registry::leave_open), which, once its
//! last commit left [`TRIM_LOG_PAGES`] pages in the log, copies them
//! (`SQLITE_CHECKPOINT_PASSIVE`, as the automatic checkpoint) and, when
//! that copied all of them, empties the log (`SQLITE_CHECKPOINT_TRUNCATE`,
//! which holds the write lock only to truncate), without waiting for other
//! connections. Handles that live on keep SQLite's own checkpoints: a log
//! emptied under them would have to grow again, and a flush of a growing
//! file costs a journal commit of the file system (measured: a third fewer
//! operations per second in `bench/registry.mjs`).

use std::cell::Cell;
#[cfg(unix)]
use std::fs::File;
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

/// The sidecar lock file of the database at `db` (`<db>-lock`).
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn queue_path(db: &Path) -> PathBuf {
    crate::side_file(db, "-lock")
}

/// The writers' queue of one handle: the sidecar lock file, when it could
/// be opened.
#[derive(Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) struct Queue {
    #[cfg(unix)]
    path: PathBuf,
    #[cfg(unix)]
    file: File,
    /// The thread that waits for this handle's turns, once one was waited for.
    #[cfg(unix)]
    waiter: Mutex<Option<Arc<Waiter>>>,
}

/// What [`Queue::try_enter`] found.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) enum Try<'a> {
    /// The turn, taken.
    Got(Turn<'a>),
    /// Another writer has it.
    Busy,
    /// The sidecar cannot be locked (the caller goes on without it).
    Unusable,
}

/// A place in the queue: the lock on the sidecar, held until dropped.
#[derive(Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) struct Turn<'a> {
    #[cfg(unix)]
    held: Held<'a>,
    #[cfg(not(unix))]
    _q: std::marker::PhantomData<&'a ()>,
}

#[cfg(unix)]
#[derive(Debug)]
enum Held<'a> {
    /// Taken at once on the handle's own descriptor.
    Shared(&'a File),
    /// Taken after a wait, by the helper thread on its descriptor.
    Waited(Arc<Waiter>),
}

#[cfg(unix)]
impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // Released explicitly (not by closing: a copy of the descriptor in a
        // child process that has not yet called exec would keep the lock).
        match &self.held {
            Held::Shared(f) => {
                flock(f, libc::LOCK_UN);
            }
            Held::Waited(w) => w.release(),
        }
    }
}

/// The helper thread of a handle that waits for its turns in the kernel
/// (`flock` cannot be given a timeout), on a descriptor of its own (an open
/// file description apart from the handle's, so that the two exclude each
/// other like any two writers). One thread per handle, reused by every
/// wait, rather than one per wait.
#[cfg(unix)]
#[derive(Debug)]
struct Waiter {
    file: File,
    state: Mutex<WaitState>,
    /// Wakes the thread: a wait began, a turn ended, the handle is gone.
    to_thread: Condvar,
    /// Wakes the waiting writer: the turn is there, or cannot be had.
    to_writer: Condvar,
}

#[cfg(unix)]
#[derive(Debug, Default)]
struct WaitState {
    /// A writer waits for the turn now (it clears this when it gives up).
    wanted: bool,
    /// The thread holds the lock for the writer, which has not taken it yet.
    granted: bool,
    /// A writer has the turn the thread took (until it drops it).
    held: bool,
    /// The lock could not be taken for another reason than another
    /// writer's turn: the writer goes on without the queue.
    failed: bool,
    /// The handle is gone: the thread ends.
    closed: bool,
}

#[cfg(unix)]
impl WaitState {
    /// A writer waits and no turn the thread took is out, or the handle is gone.
    fn thread_has_work(&self) -> bool {
        self.closed || (self.wanted && !self.granted && !self.held)
    }
}

#[cfg(unix)]
impl Waiter {
    fn state(&self) -> MutexGuard<'_, WaitState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread: takes the lock whenever a writer waits for it, and
    /// hands it over, or lets go at once when the writer gave up meanwhile.
    fn run(&self) {
        loop {
            let mut s = self.state();
            while !s.thread_has_work() {
                s = self.to_thread.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.closed {
                return;
            }
            drop(s);
            let locked = flock(&self.file, libc::LOCK_EX);
            let mut s = self.state();
            let tell = if !s.wanted || s.closed {
                if locked {
                    flock(&self.file, libc::LOCK_UN);
                }
                false
            } else {
                s.wanted = false;
                s.granted = locked;
                s.failed = !locked;
                true
            };
            // (Woken after the mutex is free, so that it need not wait for it.)
            drop(s);
            if tell {
                self.to_writer.notify_one();
            }
        }
    }

    /// Ends a turn the thread took.
    fn release(&self) {
        let mut s = self.state();
        flock(&self.file, libc::LOCK_UN);
        s.held = false;
        drop(s);
        self.to_thread.notify_one();
    }
}

impl Queue {
    /// Opens (creating it with the database file's permission bits, so
    /// that whoever may write the registry may queue) the sidecar of `db`.
    /// `None` when that is not possible (a directory this user may not
    /// write, something other than a regular file there, no sidecars on
    /// this system): writers then poll SQLite's lock as before.
    pub(crate) fn open(db: &Path) -> Option<Queue> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let path = queue_path(db);
            let mode = std::fs::metadata(db).ok()?.permissions().mode() & 0o666;
            let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
            let created = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(mode)
                .custom_flags(flags)
                .open(&path);
            let file = match created {
                Ok(f) => {
                    // The umask may have taken bits the database has.
                    let _ = f.set_permissions(std::fs::Permissions::from_mode(mode));
                    f
                }
                // flock needs no write access: a read-only descriptor will do.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::OpenOptions::new().read(true).custom_flags(flags).open(&path).ok()?
                }
                Err(_) => return None,
            };
            if !file.metadata().ok()?.is_file() {
                return None;
            }
            Some(Queue { path, file, waiter: Mutex::new(None) })
        }
        #[cfg(not(unix))]
        {
            let _ = db;
            None
        }
    }

    /// Removes the sidecar when the connection just closed was the last
    /// one (SQLite then removed the `-wal` and `-shm` files), so that an
    /// unused registry is one file again. Should a writer open it at that
    /// very moment, it may queue on the removed file while later ones queue
    /// on a new one: they are not ordered among each other for a while,
    /// which SQLite's lock makes safe anyway.
    pub(crate) fn remove_if_unused(&self, db: &Path) {
        let gone = |suffix| !crate::side_file(db, suffix).exists();
        if gone("-wal") && gone("-shm") {
            #[cfg(unix)]
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Takes this handle's turn if nobody else has it, without waiting.
    pub(crate) fn try_enter(&self) -> Try<'_> {
        #[cfg(unix)]
        {
            if flock(&self.file, libc::LOCK_EX | libc::LOCK_NB) {
                return Try::Got(Turn { held: Held::Shared(&self.file) });
            }
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Try::Busy;
            }
            Try::Unusable
        }
        #[cfg(not(unix))]
        Try::Unusable
    }

    /// Waits for this handle's turn, for up to `timeout`. `Ok(None)` when
    /// the sidecar cannot be locked for another reason than another
    /// writer's turn (the caller then goes on without it); `Err(())` when
    /// the timeout elapsed.
    pub(crate) fn enter(&self, timeout: Duration) -> std::result::Result<Option<Turn<'_>>, ()> {
        match self.try_enter() {
            Try::Got(turn) => Ok(Some(turn)),
            Try::Unusable => Ok(None),
            Try::Busy => self.wait(timeout),
        }
    }

    /// Waits for the turn another writer has, for up to `timeout` (see
    /// [`Queue::enter`]).
    fn wait(&self, timeout: Duration) -> std::result::Result<Option<Turn<'_>>, ()> {
        #[cfg(unix)]
        {
            // Wait in the kernel, on the helper thread, so that giving up
            // is possible: the thread lets go of a lock nobody wants.
            let Some(w) = self.waiter() else { return Ok(None) };
            let deadline = Instant::now().checked_add(timeout);
            let mut s = w.state();
            s.wanted = true;
            s.failed = false;
            drop(s);
            w.to_thread.notify_one();
            let mut s = w.state();
            loop {
                if s.granted {
                    s.granted = false;
                    s.held = true;
                    drop(s);
                    return Ok(Some(Turn { held: Held::Waited(w) }));
                }
                if s.failed {
                    s.failed = false;
                    return Ok(None);
                }
                s = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                    Some(Duration::ZERO) => {
                        s.wanted = false;
                        return Err(());
                    }
                    Some(left) => w.to_writer.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0,
                    None => w.to_writer.wait(s).unwrap_or_else(|e| e.into_inner()),
                };
            }
        }
        #[cfg(not(unix))]
        {
            let _ = timeout;
            Ok(None)
        }
    }
}

#[cfg(unix)]
impl Queue {
    /// The helper thread that waits for this handle's turns, started at the
    /// first wait with a descriptor of its own; `None` when either cannot
    /// be had (the writer then goes on without the queue, as before).
    fn waiter(&self) -> Option<Arc<Waiter>> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut slot = self.waiter.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = slot.as_ref() {
            return Some(w.clone());
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)
            .ok()?;
        let w = Arc::new(Waiter {
            file,
            state: Mutex::new(WaitState::default()),
            to_thread: Condvar::new(),
            to_writer: Condvar::new(),
        });
        let thread = w.clone();
        std::thread::Builder::new().name("port4me-registry-queue".into()).spawn(move || thread.run()).ok()?;
        *slot = Some(w.clone());
        Some(w)
    }
}

/// Ends the helper thread: at once when it is idle, else as soon as its
/// `flock` returns (it then lets go of the lock, which nobody wants).
#[cfg(unix)]
impl Drop for Queue {
    fn drop(&mut self) {
        let slot = self.waiter.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = slot.take() {
            w.state().closed = true;
            w.to_thread.notify_one();
        }
    }
}

/// `flock(fd, op)`, retried when interrupted; whether it succeeded (errno
/// tells why not).
#[cfg(unix)]
fn flock(f: &File, op: libc::c_int) -> bool {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: a valid descriptor, owned by `f` for the call.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return true;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return false;
        }
    }
}

/// The write-ahead log of a durable handle, flushed after each commit that
/// changed something (see the module docs). The log is SQLite's file: it is
/// flushed through SQLite's own handle of it, never opened here, since
/// closing a descriptor of our own would drop this process's locks on it.
#[derive(Debug)]
pub(crate) struct Flush {
    path: PathBuf,
}

impl Flush {
    /// The flush of the log of `db`, when `conn`, which is in WAL mode, has
    /// that log open (Unix). `None` otherwise: the connection then stays
    /// `synchronous=FULL`.
    pub(crate) fn open(db: &Path, conn: &Connection) -> Option<Flush> {
        if !cfg!(unix) || wal_file(conn).is_none() {
            return None;
        }
        Some(Flush { path: crate::side_file(db, "-wal") })
    }

    /// Writes the log out to the disk, through the connection that wrote it.
    pub(crate) fn flush(&self, conn: &Connection) -> Result<()> {
        #[cfg(test)]
        FLUSHES.with(|n| n.set(n.get() + 1));
        let rc = match wal_file(conn) {
            // SAFETY: the file is open (checked) and belongs to `conn`, which
            // the caller holds exclusively for the call.
            Some(file) => unsafe {
                let sync = (*(*file).pMethods).xSync;
                sync.map_or(rusqlite::ffi::SQLITE_MISUSE, |sync| sync(file, rusqlite::ffi::SQLITE_SYNC_NORMAL))
            },
            None => rusqlite::ffi::SQLITE_MISUSE,
        };
        if rc == rusqlite::ffi::SQLITE_OK {
            return Ok(());
        }
        let cause = std::io::Error::other(format!("{} (SQLite code {rc})", rusqlite::ffi::code_to_str(rc)));
        Err(Error::Io {
            action: "flush to disk (the operation is applied, but a power failure could undo it) the log",
            path: self.path.clone(),
            cause,
        })
    }
}

/// SQLite's open handle of the journal of `conn`'s main database
/// (`SQLITE_FCNTL_JOURNAL_POINTER`): the write-ahead log in WAL mode.
fn wal_file(conn: &Connection) -> Option<*mut rusqlite::ffi::sqlite3_file> {
    use rusqlite::ffi;
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: a valid connection handle, the schema name is NUL-terminated,
    // and the opcode writes one pointer to the address given.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_JOURNAL_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        )
    };
    // SAFETY: a non-null pointer from SQLite to a file object it owns; a
    // closed one has no methods.
    let open = rc == ffi::SQLITE_OK && !file.is_null() && unsafe { !(*file).pMethods.is_null() };
    open.then_some(file)
}

#[cfg(test)]
thread_local! {
    /// How many times this thread flushed a log (for the tests).
    pub(crate) static FLUSHES: Cell<u64> = const { Cell::new(0) };
}

/// Retries `f` while it fails with [`Error::Busy`], for up to `timeout`.
pub(crate) fn retry_busy<T>(timeout: Duration, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let mut count = 0;
    loop {
        match f() {
            Err(Error::Busy { .. }) if start.elapsed() < timeout => {
                arm_busy_timeout(timeout);
                busy_handler(count);
                count = (count + 1).min(5);
            }
            other => return other,
        }
    }
}

/// `BEGIN IMMEDIATE`, retried on `SQLITE_BUSY` for the cases where SQLite
/// does not call the busy handler (e.g. right after another process turned
/// the database into WAL mode).
pub(crate) fn begin_immediate(conn: &mut Connection, timeout: Duration) -> rusqlite::Result<Transaction<'_>> {
    let conn: &Connection = conn;
    let start = Instant::now();
    loop {
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) && start.elapsed() < timeout => {
                arm_busy_timeout(timeout);
                busy_handler(0);
            }
            other => return other,
        }
    }
}

thread_local! {
    /// The busy timeout of the operation running on this thread, and when
    /// its current wait for the lock began.
    static BUSY: Cell<(Duration, Option<Instant>)> = const { Cell::new((crate::DEFAULT_BUSY_TIMEOUT, None)) };
    static JITTER: Cell<u64> = const { Cell::new(0) };
}

/// Sets the busy timeout of the next wait on this thread.
pub(crate) fn arm_busy_timeout(timeout: Duration) {
    BUSY.with(|b| b.set((timeout, None)));
}

/// The log length, in pages, from which [`leave_open`](crate::Registry::leave_open)
/// empties the log (see the module docs): rebuilding the log's index costs
/// about 2.5 µs a page, so a process that opens the file spends at most
/// about 0.6 ms on it, and `port4me run` empties the log about every 25
/// runs.
pub(crate) const TRIM_LOG_PAGES: i32 = 256;

/// SQLite's automatic checkpoint threshold, which the hook below keeps.
const AUTO_CHECKPOINT_PAGES: i32 = 1000;

/// The log's length after this process's last commit, in pages.
static LOG_PAGES: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The write-ahead log hook of writable connections: SQLite's automatic
/// checkpoint (which installing a hook replaces), and a note of the log's
/// length for [`leave_open`](crate::Registry::leave_open). Runs after the
/// commit, which stands whatever the checkpoint does.
pub(crate) fn note_log(wal: &rusqlite::hooks::Wal, pages: std::os::raw::c_int) -> rusqlite::Result<()> {
    LOG_PAGES.store(pages, std::sync::atomic::Ordering::Relaxed);
    if pages >= AUTO_CHECKPOINT_PAGES {
        let _ = wal.checkpoint();
    }
    Ok(())
}

/// Empties the log of `conn` when this process's last commit left at least
/// [`TRIM_LOG_PAGES`] pages in it (see the module docs). Never waits;
/// failing changes nothing that was committed.
pub(crate) fn trim_log(conn: &Connection) {
    if LOG_PAGES.load(std::sync::atomic::Ordering::Relaxed) < TRIM_LOG_PAGES {
        return;
    }
    // PASSIVE first: copy what no reader still needs, other writers going on.
    let copied_all = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
        .is_ok_and(|(log, copied)| log >= 0 && copied >= log);
    if !copied_all {
        return;
    }
    let armed = BUSY.with(Cell::get);
    BUSY.with(|b| b.set((Duration::ZERO, None)));
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    BUSY.with(|b| b.set(armed));
}

/// Waits for SQLite's lock when it is held by a process outside the queue
/// (or during the first open). SQLite's own busy handler sleeps in steps
/// of up to 100 ms, so the lock would often sit free while everyone
/// sleeps; this one polls from 50 µs up to 2 ms, with jitter so waiters do
/// not wake in step, and gives up after the timeout.
pub(crate) fn busy_handler(count: i32) -> bool {
    let now = Instant::now();
    let (timeout, since) = BUSY.with(Cell::get);
    let since = match since {
        Some(t) if count > 0 => t,
        _ => {
            BUSY.with(|b| b.set((timeout, Some(now))));
            now
        }
    };
    if now.duration_since(since) >= timeout {
        return false;
    }
    let step = 50u64 << count.clamp(0, 5) as u32; // 50 µs .. 1.6 ms
    let jitter = JITTER.with(|j| {
        let mut x = j.get();
        if x == 0 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
            x = u64::from(std::process::id()) << 32 | u64::from(nanos) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        j.set(x);
        x
    });
    let micros = (step + jitter % step).min(2_000);
    std::thread::sleep(Duration::from_micros(micros));
    true
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::{Config, Registry};
    use std::sync::mpsc;

    fn temp_db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.sqlite");
        (dir, path)
    }

    /// Takes the sidecar's lock the way another writer would.
    fn hold(db: &Path) -> File {
        let f = File::open(queue_path(db)).unwrap();
        assert!(flock(&f, libc::LOCK_EX));
        f
    }

    #[test]
    fn a_writer_waits_for_its_turn_and_gives_up_after_the_busy_timeout() {
        let (_d, path) = temp_db();
        let config = Config { busy_timeout: Duration::from_millis(300), ..Config::default() };
        let reg = Registry::open_with(&path, config).unwrap();
        let other = hold(&path);
        let start = Instant::now();
        let err = reg.registrations().register("web", crate::RegisterOptions::default()).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(err.code(), "ERR_PORT4ME_REGISTRY_BUSY", "{err}");
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(10), "{waited:?}");
        drop(other);
        // The abandoned wait lets go as soon as it gets the lock.
        assert_eq!(reg.registrations().register("web", crate::RegisterOptions::default()).unwrap().name, "web");
        assert_eq!(reg.registrations().register("web", crate::RegisterOptions::default()).unwrap().name, "web_1");
    }

    #[test]
    fn a_queued_writer_goes_as_soon_as_the_turn_ends() {
        let (_d, path) = temp_db();
        let reg = std::sync::Arc::new(Registry::open(&path).unwrap());
        let other = hold(&path);
        let (tx, rx) = mpsc::channel();
        let r = reg.clone();
        let writer = std::thread::spawn(move || {
            let got = r.modules().allocate(2, "web", crate::Protocol::Tcp);
            tx.send(Instant::now()).unwrap();
            got
        });
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "wrote while another writer had the turn");
        let released = Instant::now();
        drop(other);
        let done = rx.recv_timeout(Duration::from_secs(10)).expect("still waiting after the turn ended");
        assert!(done.duration_since(released) < Duration::from_secs(2));
        assert_eq!(writer.join().unwrap().unwrap().len(), 2);
    }

    /// The lock on the sidecar is free: another writer could take it at once.
    fn free(db: &Path) -> bool {
        let f = File::open(queue_path(db)).unwrap();
        flock(&f, libc::LOCK_EX | libc::LOCK_NB)
    }

    /// The handle's helper thread, if it started one.
    fn waiter_of(reg: &Registry) -> Option<Arc<Waiter>> {
        reg.queue.as_ref().unwrap().waiter.lock().unwrap().clone()
    }

    #[test]
    fn the_helper_thread_serves_every_wait_and_each_wait_honours_its_timeout() {
        let (_d, path) = temp_db();
        let timeout = Duration::from_millis(200);
        let reg = std::sync::Arc::new(
            Registry::open_with(&path, Config { busy_timeout: timeout, ..Config::default() }).unwrap(),
        );
        assert!(waiter_of(&reg).is_none(), "no thread before the first wait");
        let mut first = None;
        for round in 0..3 {
            // Given up while the thread still waits for the lock (the
            // second and third time on a thread that is already waiting).
            let other = hold(&path);
            for _ in 0..2 {
                let start = Instant::now();
                let err = reg.registrations().register("web", crate::RegisterOptions::default()).unwrap_err();
                let waited = start.elapsed();
                assert_eq!(err.code(), "ERR_PORT4ME_REGISTRY_BUSY", "round {round}: {err}");
                assert!(waited >= timeout && waited < Duration::from_secs(5), "round {round}: {waited:?}");
            }
            // A writer that waits gets the turn from that thread as soon
            // as the other writer's turn ends.
            let (tx, rx) = mpsc::channel();
            let r = reg.clone();
            let writer = std::thread::spawn(move || {
                let got = r.registrations().register("web", crate::RegisterOptions::default());
                tx.send(()).unwrap();
                got
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(rx.try_recv().is_err(), "round {round}: wrote while another writer had the turn");
            drop(other);
            let got = writer.join().unwrap();
            assert!(got.is_ok(), "round {round}: not served although the turn ended within the timeout: {got:?}");
            let w = waiter_of(&reg).expect("a wait started the thread");
            match &first {
                None => first = Some(w),
                Some(f) => assert!(Arc::ptr_eq(f, &w), "round {round}: a second thread"),
            }
            // The turn ended with the write: nobody keeps the lock.
            assert!(free(&path), "round {round}: the lock is still held after the write");
        }
        assert_eq!(reg.registrations().list().unwrap().len(), 3);
        // Dropping the handle ends the thread (it holds the last other reference).
        let w = first.unwrap();
        drop(std::sync::Arc::into_inner(reg).unwrap());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&w) > 1 {
            assert!(Instant::now() < deadline, "the helper thread outlived its handle");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_sidecar_gets_the_database_file_s_permission_bits() {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let (_d, path) = temp_db();
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o660).open(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).unwrap();
        let _reg = Registry::open(&path).unwrap();
        let mode = std::fs::metadata(queue_path(&path)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660, "a group that may write the registry may queue for it");
    }

    #[test]
    fn the_last_writer_to_close_removes_the_sidecar() {
        let (_d, path) = temp_db();
        let one = Registry::open(&path).unwrap();
        let two = Registry::open(&path).unwrap();
        one.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        drop(one);
        assert!(queue_path(&path).exists(), "in use by the other handle");
        two.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        drop(two);
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["ports.sqlite"], "an unused registry is one file");
    }

    #[test]
    fn a_read_only_handle_neither_creates_nor_takes_the_sidecar() {
        let (_d, path) = temp_db();
        Registry::open(&path).unwrap().registrations().register("web", crate::RegisterOptions::default()).unwrap();
        assert!(!queue_path(&path).exists());
        let ro = Registry::open_with(&path, Config { read_only: true, ..Config::default() }).unwrap();
        assert_eq!(ro.registrations().list().unwrap().len(), 1);
        assert!(!queue_path(&path).exists());
    }

    #[test]
    fn a_sidecar_that_is_not_a_regular_file_is_not_used() {
        let (_d, path) = temp_db();
        std::fs::create_dir(queue_path(&path)).unwrap();
        let reg = Registry::open(&path).unwrap();
        assert!(reg.queue.is_none());
        assert_eq!(
            reg.registrations().register("web", crate::RegisterOptions::default()).unwrap().name,
            "web",
            "writers then poll as before"
        );
    }

    #[test]
    fn a_durable_write_is_flushed_once_and_a_read_or_a_failure_not_at_all() {
        let (_d, path) = temp_db();
        let reg = Registry::open(&path).unwrap();
        let sync: i64 = reg.lock().query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert!(reg.flush.is_some());
        assert_eq!(sync, 1, "NORMAL: the registry flushes the log itself");
        let flushes = || FLUSHES.with(Cell::get);
        let before = flushes();
        reg.registrations().register("web", crate::RegisterOptions::default()).unwrap();
        assert_eq!(flushes(), before + 1, "a write");
        reg.registrations().list().unwrap();
        reg.registrations().find(&crate::Filter::default()).unwrap();
        assert_eq!(flushes(), before + 1, "reads change nothing");
        reg.registrations().release("nonesuch").unwrap_err();
        assert_eq!(flushes(), before + 1, "a failed write changes nothing");
        reg.registrations().release("web").unwrap();
        assert_eq!(flushes(), before + 2);

        let fast = Registry::open_with(&path, Config { durable: false, ..Config::default() }).unwrap();
        assert!(fast.flush.is_none());
        fast.registrations().register("api", crate::RegisterOptions::default()).unwrap();
        assert_eq!(flushes(), before + 2, "durable: false never flushes");
    }
}
