//! An embedded, crash-safe port registry on SQLite that never hands out the
//! same port twice, however many processes use it at once.
//!
//! It does four jobs that port managers usually do one at a time, each a
//! group of methods on the handle ([`Registry::modules`],
//! [`Registry::services`], [`Registry::registrations`],
//! [`Registry::leases`]) that takes one options value per operation:
//!
//! 1. **Module ranges** ([`Modules::allocate`], [`Modules::release`]):
//!    `n` consecutive TCP or UDP ports for a module, first fit in a pool
//!    (default [`DEFAULT_MODULE_POOL`], 20000-45000). The ranges live in the
//!    tables `TCP_PORTS` and `UDP_PORTS` with the columns `(start, end,
//!    module)`, so `SELECT *, 'tcp' FROM TCP_PORTS UNION SELECT *, 'udp'
//!    FROM UDP_PORTS;` lists them, and tools written for the node-level
//!    allocator model can share them (see [below](#tools-that-write-tcp_ports-and-udp_ports)).
//! 2. **Services and offers** ([`Services::define`],
//!    [`Services::offer`], [`Services::accept`], [`Services::reject`]): a
//!    service owns a fixed range; each instance is offered the lowest free
//!    port of it together with a 128-bit secret, and the offer becomes an
//!    allocation when the secret is accepted. Unaccepted offers expire after
//!    [`Config::offer_ttl`] (default 30 minutes).
//! 3. **Named services per user** ([`Registrations::register`],
//!    [`Registrations::release`], [`Registrations::list`], [`Registrations::find`],
//!    [`Registry::gc`]): a port from a pool (default
//!    [`DEFAULT_REGISTRATION_POOL`], 45001-49151) recorded with the OS user
//!    and the owner process; `web`, then `web_1`, `web_2`, ... for the same
//!    user. When the owner process is gone its registrations are reclaimed.
//! 4. **Reserved port4me results** ([`Leases::reserve`]): the port that
//!    [`port4me::Port4me::find_with`] picks, skipping everything the
//!    registry holds, recorded as a short lease (default 60 s) that also
//!    ends when its owner process exits.
//!
//! # One port, one holder
//!
//! Every holder of ports is recorded as an interval in one table, `claims`,
//! per protocol: a module range, a whole service range (its offers and
//! allocations lie inside it), a registration's port and a lease's port.
//! Triggers on the holder tables keep `claims` in step, and a trigger on
//! `claims` aborts any insert that overlaps an existing claim of the same
//! protocol, so the database itself refuses to hold a port twice, whatever
//! a caller does. The pools may therefore overlap; by default they don't:
//!
//! | holder | where | default |
//! | --- | --- | --- |
//! | module ranges | first fit in the module pool | 20000-45000 |
//! | registrations | lowest free port of the registration pool | 45001-49151 |
//! | services | the range given to `define_service` | (explicit; 1024-49151 unless forced) |
//! | leases | wherever the port4me sequence lands | 1024-65535 |
//!
//! Whichever holder comes first keeps the port: first fit and registrations
//! skip every claim, `define_service` refuses a range that overlaps any claim
//! ([`Error::RangeConflict`] names the holder), and a reservation skips
//! claimed candidates. [`Registry::holder_of`] tells what holds a port.
//!
//! # Tools that write `TCP_PORTS` and `UDP_PORTS`
//!
//! A tool written for the node-level allocator model reads only `TCP_PORTS`
//! / `UDP_PORTS` ordered by `start`, picks the first gap in its pool,
//! inserts `(start, end, module)` and later deletes its rows by module name.
//! The rule that makes this safe: **every port the registry holds has a row
//! there.** Module ranges are rows; every other holding (a service's range,
//! a registration, a lease) has a *mirror row* named
//! `port4me:service:NAME`, `port4me:registration:ID` or `port4me:lease:ID`
//! ([`schema::MIRROR_PREFIX`]), inserted and deleted by the same triggers
//! that keep `claims` in step. So a naive first fit never picks a held
//! port, and a row that would overlap one is refused as any overlap is
//! ("a port would be held twice"). Rows such a tool inserts are modules like
//! ours (claimed, listed by [`Modules::list`] with no owner) and any
//! name it used, even one [`Modules::allocate`] refuses (empty, 255 bytes,
//! odd characters), can be passed to [`Modules::release`]. Mirror rows are
//! not modules: a trigger refuses to delete or change one by hand, saying
//! what holds it and how to release that; [`Modules::release`] refuses
//! their names ([`Error::NotAModule`]); `allocate` refuses module names
//! beginning with `port4me:`; [`Modules::mirror_rows`] lists them. The
//! triggers use only SQL that old SQLite libraries parse, since the other
//! tool's SQLite reads this schema too.
//!
//! First fit reads the claims in port order through an index. Each claim
//! also records the free run after it, with a partial index on the claims
//! that have one, so packed ranges are skipped at once: the cost grows with
//! the number of gaps too small for the request, never with the pool size.
//!
//! # Store
//!
//! The default database is `$XDG_STATE_HOME/port4me/ports.sqlite`, else
//! `~/.local/state/port4me/ports.sqlite` (Unix, macOS included), or
//! `%LOCALAPPDATA%\port4me\ports.sqlite` (Windows); `PORT4ME_DB` or an
//! explicit path overrides it ([`default_path`]). On Unix new directories are
//! created 0700 and the file 0600; on Windows they inherit the access list of
//! their parent, which for `%LOCALAPPDATA%` grants only the account itself
//! (plus `SYSTEM` and administrators). An existing directory that every user
//! may write is refused for the default registry
//! ([`Error::InsecureDirectory`]: it is private, `chmod 700` it); for a path
//! given explicitly or by `PORT4ME_DB` (perhaps a shared registry) such a
//! directory without the sticky bit gets a warning on stderr, once per
//! directory and process, saying how to fix it. The database runs in WAL mode, every commit is on disk before its
//! operation returns ([`Config::durable`]), and writers wait for their turn
//! in the kernel (a lock on the sidecar file `<db>-lock`, so the lock is
//! never idle while someone waits) for up to a busy timeout
//! ([`Config::busy_timeout`], 30 s). Every
//! write is one `BEGIN IMMEDIATE` transaction, so the check and the write are
//! atomic across processes, a failed operation changes nothing, and a crash
//! leaves either the whole operation or none of it. (`reserve` and `hold`
//! probe sockets outside transactions, never inside: they probe with no
//! lock, then re-check the port and record it in one transaction, which
//! hands back what is held when the port is taken.) Before an
//! operation runs, the same transaction reclaims what has lapsed: expired
//! leases and offers, and registrations and leases whose owner process is
//! gone (see [`process`]). Read operations do the same when the handle can
//! write; a read-only handle ([`Config::read_only`], or a file the user may
//! not write) only hides lapsed entries.
//!
//! # Registries that cannot be written
//!
//! A registry the user may read but not write (another user's file in a
//! shared directory, a read-only mount, a full disk) still opens, read-only
//! ([`Registry::is_read_only`], [`Registry::read_only_reason`]): reads work,
//! writes fail with [`Error::ReadOnly`] saying why. Such a handle never
//! creates the `-wal` and `-shm` files next to the database (it opens the
//! shared memory read-only, or, when there is none, reads the database file
//! as it stands), so a reader leaves nothing behind that could block the
//! owner's writes. A writer that finds a `-shm` it may not write, which no
//! process has open (an earlier reader's, left by an older version), and an
//! empty `-wal` it may not write, removes them first, where the directory
//! allows; otherwise [`Error::ReadOnly`] names the file.
//!
//! Limits: reading the file as it stands (no `-shm` and `-wal`, so no
//! writer had it open) takes no lock; a writer that opens it in the
//! very moment of such a read and checkpoints at once could change pages
//! under it (a few milliseconds; a writer checkpoints only after about
//! 1000 pages of changes, when it closes, or when it is left open at exit
//! with 256). A `-shm` that is read-only for
//! the owner and still in use by another user's process (an older
//! version's reader) blocks the owner's writes until that process ends.
//!
//! The schema is versioned with `PRAGMA user_version` and marked with
//! `PRAGMA application_id`. A newer one is refused ([`Error::SchemaTooNew`]),
//! so is a file of a pre-release build ([`Error::PreRelease`]), and a file
//! that is not SQLite, is damaged or belongs to another program is refused
//! too ([`Error::NotADatabase`], [`Error::ForeignDatabase`]), all before
//! anything is written.
//!
//! # Owners
//!
//! Registrations and leases record the OS user (effective uid and name) and
//! an owner process (pid plus start time, see [`process`]). The Rust API
//! defaults to the calling process ([`Owner::Current`]); a command-line tool
//! exits at once, so `port4me registry register` records its parent (the
//! shell or script) instead ([`Owner::Parent`]), and `port4me --reserve`
//! leases by time alone. Only the owning user may release a registration or
//! a lease.
//!
//! Module ranges record the OS user who allocated them (`module_owners`;
//! rows other tools insert have none) and accepted allocations the user who
//! accepted them. Releasing, or replacing, another user's module or
//! allocation takes force ([`Modules::release`],
//! [`Services::release`]); without it the error
//! ([`Error::OwnedByOther`], `ERR_PORT4ME_REGISTRY_NOT_OWNER`) names the
//! owner. In a file several OS users can write, all of this is bookkeeping,
//! not access control: anyone who can write the file can change any row
//! with `sqlite3`. Offer secrets are stored as their SHA-256, never in plain
//! text, so reading the file does not give away a secret.
//!
//! ```
//! use port4me_registry::{Protocol, Registry};
//! let dir = tempfile::tempdir()?;
//! let reg = Registry::open(dir.path().join("ports.sqlite"))?;
//! let range = reg.modules().allocate(3, "web", Protocol::Tcp)?;
//! assert_eq!((range.start, range.end), (20000, 20002));
//! assert_eq!(reg.modules().release("web", Protocol::Tcp)?, [range]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! * `serde`: `serde::Serialize` for every result type ([`PortRange`],
//!   [`ModuleRange`], [`MirrorRow`], [`Service`], [`ServiceWithPorts`],
//!   [`ServicePort`], [`Offer`], [`Registration`], [`GcReport`], [`Lease`],
//!   [`Listing`], [`Holding`] and
//!   the enums and ids in them), the one JSON form of the CLI and the
//!   bindings: camelCase field names, enums and protocols as lowercase
//!   strings (`"tcp"`, `"allocated"`, `"registration"`), a module's or a
//!   mirror row's range as its `start` and `end`, a registration's owner as
//!   `pid` and `pidStart`, and every time a [`Timestamp`] string (RFC 3339,
//!   UTC, milliseconds). Offer secrets appear only in the [`Offer`] that
//!   hands them out; their hashes never.
//! * `ts` (implies `serde`): `ts_rs::TS` for the same types, so that
//!   `T::decl()` is the TypeScript declaration of that JSON.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use files::side_file;
use lock::{arm_busy_timeout, begin_immediate};
use open::cannot_write_now;

mod claims;
pub mod error;
mod files;
mod holding;
mod leases;
mod listing;
mod lock;
mod modules;
mod open;
mod owners;
pub mod process;
mod registrations;
pub mod schema;
#[cfg(feature = "serde")]
mod serial;
mod services;
pub mod time;
mod validate;

pub use error::{Error, Result};
pub use holding::{Holding, HoldingKind};
pub use leases::{Lease, Leases, ReserveOptions, DEFAULT_LEASE_TTL};
pub use listing::{Listing, Running, RunningKind};
pub use modules::{AllocateOptions, MirrorRow, ModuleRange, Modules, PortRange};
pub use open::{default_path, default_path_from};
pub use port4me::Protocol;
pub use process::{Liveness, Owner, ProcessId, User};
pub use registrations::{Filter, GcReport, HoldOptions, RegisterOptions, Registration, Registrations};
pub use services::{Offer, PortState, Service, ServiceDefinition, ServicePort, ServiceWithPorts, Services};
pub use time::Timestamp;
pub use validate::{parse_protocol, MAX_NAME_BYTES};

/// Default pool of module ranges.
pub const DEFAULT_MODULE_POOL: (u16, u16) = (20000, 45000);
/// Default pool of named per-user registrations (just below the IANA
/// ephemeral range, and apart from the module pool).
pub const DEFAULT_REGISTRATION_POOL: (u16, u16) = (45001, 49151);
/// Default lifetime of an unaccepted offer.
pub const DEFAULT_OFFER_TTL: Duration = Duration::from_secs(30 * 60);
/// Default time to wait for another process's lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How a release treats a holding: of which protocol (module ranges), and
/// whether another OS user's is released too (`force`). A [`Protocol`]
/// alone converts into them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// The protocol (TCP by default; services and offers have their own).
    pub protocol: Protocol,
    /// Release another OS user's holding too (bookkeeping, not access
    /// control: see the [crate docs](crate#owners)).
    pub force: bool,
}

impl ReleaseOptions {
    /// TCP, with or without force.
    pub fn forced(force: bool) -> Self {
        ReleaseOptions { force, ..ReleaseOptions::default() }
    }
}

impl From<Protocol> for ReleaseOptions {
    fn from(protocol: Protocol) -> Self {
        ReleaseOptions { protocol, force: false }
    }
}

/// Settings of a [`Registry`] handle (not stored in the database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Pool of module ranges, inclusive.
    pub module_pool: (u16, u16),
    /// Pool of registrations, inclusive.
    pub registration_pool: (u16, u16),
    /// How long an offer waits for `accept`.
    pub offer_ttl: Duration,
    /// How long to wait for another process's lock before
    /// [`Error::Busy`].
    pub busy_timeout: Duration,
    /// Open without write access: read operations only, nothing reclaimed.
    pub read_only: bool,
    /// Flush every commit to disk before the operation returns (the
    /// default): an allocation that was reported survives even a power
    /// failure. In WAL mode on Unix the registry flushes the write-ahead log
    /// itself (`synchronous=NORMAL` plus `fdatasync` after the locks are
    /// released), so writers that commit at about the same time share one
    /// flush; elsewhere SQLite does (`synchronous=FULL`). `false` uses
    /// `synchronous=NORMAL` without that flush: faster for a single writer
    /// and still safe against crashed or killed processes, but the last
    /// commits may be lost (never half-applied) if the machine loses power.
    pub durable: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            module_pool: DEFAULT_MODULE_POOL,
            registration_pool: DEFAULT_REGISTRATION_POOL,
            offer_ttl: DEFAULT_OFFER_TTL,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            read_only: false,
            durable: true,
        }
    }
}

/// A handle on a registry database. Cheap operations, each one transaction;
/// the handle may be shared between threads.
#[derive(Debug)]
pub struct Registry {
    /// The log to flush after a commit, for a durable handle in WAL mode
    /// (see the `lock` module); `None` when SQLite flushes it itself.
    flush: Option<lock::Flush>,
    /// Dropped by hand, before the queue's sidecar may be removed.
    conn: std::mem::ManuallyDrop<Mutex<Connection>>,
    /// The writers' queue (see the `lock` module); `None` for read-only
    /// handles and where the sidecar cannot be used.
    queue: Option<lock::Queue>,
    path: PathBuf,
    config: Config,
    read_only: bool,
    /// Why the handle is read-only although writing was asked for.
    read_only_reason: Option<String>,
    /// Whether a writer that has to wait asks about the owners first (see
    /// `write`): until a write found every owner watched or remembered.
    ask_ahead: std::sync::atomic::AtomicBool,
    /// Whether this handle has written: its housekeeping statements are
    /// compiled then, and running them costs less than asking first
    /// (`registrations::housekeeping`).
    wrote: std::sync::atomic::AtomicBool,
}

impl Registry {
    /// Waits for this handle's turn to write (see the `lock` module), for up to `timeout`.
    pub(crate) fn enter_queue(&self, timeout: Duration) -> Result<Option<lock::Turn<'_>>> {
        match &self.queue {
            None => Ok(None),
            Some(q) => q.enter(timeout).map_err(|()| Error::Busy {
                path: self.path.clone(),
                waited_ms: self.config.busy_timeout.as_millis() as u64,
            }),
        }
    }

    /// Ends this handle without closing its connection: the process's exit
    /// releases it. Closing the last connection of the file copies the
    /// write-ahead log into the database and deletes it (two flushes and an
    /// unlink), and the next writer creates it again (a flush of its
    /// directory); SQLite is built to be left this way instead, the next
    /// connection reads the log as it is. For a process about to exit that
    /// wants to spare that cost (`port4me run`: 17 of the 22 ms it added to
    /// starting a command). So that the log stays short for the next
    /// process (see the `lock` module), it is emptied first when it has
    /// grown long, without waiting for other connections.
    pub fn leave_open(self) {
        self.trim_log();
        std::mem::forget(self);
    }

    /// Empties the write-ahead log when this process's last commit left it
    /// long (256 pages), without waiting for other connections: what
    /// [`leave_open`](Self::leave_open) does first, for a handle that stays
    /// open to the process's exit some other way (a static).
    pub fn trim_log(&self) {
        if !self.read_only {
            lock::trim_log(&self.lock());
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings of this handle.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether this handle can only read.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Why this handle can only read although writing was asked for (the
    /// user may not write the file, a read-only mount, a full disk); `None`
    /// for a writable handle or one opened with [`Config::read_only`].
    pub fn read_only_reason(&self) -> Option<&str> {
        self.read_only_reason.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction after reclaiming what
    /// has lapsed. An error rolls everything back.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Ctx<'_>) -> Result<T>) -> Result<T> {
        if self.read_only {
            let detail = match &self.read_only_reason {
                Some(why) => why.clone(),
                None => "it was opened read-only".into(),
            };
            return Err(Error::ReadOnly { path: self.path.clone(), detail });
        }
        use std::sync::atomic::Ordering::Relaxed;
        let mut conn = self.lock();
        let start = Instant::now();
        let lookups = process::lookups();
        let mut _survey = None;
        let turn = match self.queue.as_ref().map(lock::Queue::try_enter) {
            Some(lock::Try::Got(turn)) => Some(turn),
            Some(lock::Try::Unusable) => None,
            // Someone else is writing: ask about the owners now, before
            // the wait, rather than while holding the lock, unless the
            // last write found them all watched (asking them is then
            // cheap, and asking ahead would cost a transaction).
            Some(lock::Try::Busy) | None => {
                if self.ask_ahead.load(Relaxed) {
                    _survey = Some(owners::look_ahead(&conn, Timestamp::now()));
                }
                self.enter_queue(self.config.busy_timeout.saturating_sub(start.elapsed()))?
            }
        };
        let left = self.config.busy_timeout.saturating_sub(start.elapsed());
        arm_busy_timeout(left);
        let changes = conn.total_changes();
        let tx = begin_immediate(&mut conn, left).map_err(|e| self.err(e))?;
        let mut ctx = Ctx { tx: &tx, now: Timestamp::now(), reg: self, reclaimed: GcReport::default() };
        ctx.reclaimed = registrations::housekeeping(&ctx, !self.wrote.swap(true, Relaxed))?;
        self.ask_ahead.store(process::lookups() != lookups, Relaxed);
        let value = f(&ctx)?;
        tx.commit().map_err(|e| self.err(e))?;
        let changed = conn.total_changes() != changes;
        // The next writer may go while this one flushes (group commit).
        // Where there is no lock file (Windows) a turn holds nothing.
        #[cfg_attr(not(unix), allow(clippy::drop_non_drop))]
        drop(turn);
        if let Some(flush) = self.flush.as_ref().filter(|_| changed) {
            flush.flush(&conn)?;
        }
        Ok(value)
    }

    /// Runs `f` with housekeeping when writable, in a plain read transaction
    /// otherwise (read paths also filter lapsed entries themselves). When
    /// nothing has lapsed, the housekeeping would do nothing, so a writable
    /// handle reads without the write lock too (see the `owners` module).
    pub(crate) fn read<T>(&self, f: impl Fn(&Ctx<'_>) -> Result<T>) -> Result<T> {
        if !self.read_only {
            if let Some(value) = self.read_if_clean(&f) {
                return value;
            }
            // Housekeeping needs to write; when writing fails for want of
            // space or permission, read without it rather than fail.
            return self.write(&f).or_else(|e| if cannot_write_now(&e) { self.plain_read(f) } else { Err(e) });
        }
        self.plain_read(f)
    }

    /// `f` in a read transaction in which nothing has lapsed; `None` when
    /// something has (or the survey failed): then the caller writes.
    fn read_if_clean<T>(&self, f: impl FnOnce(&Ctx<'_>) -> Result<T>) -> Option<Result<T>> {
        let mut conn = self.lock();
        arm_busy_timeout(self.config.busy_timeout);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).ok()?;
        let now = Timestamp::now();
        let survey = owners::survey_in(&tx, now);
        if !survey.clean {
            return None;
        }
        let ctx = Ctx { tx: &tx, now, reg: self, reclaimed: GcReport::default() };
        let value = f(&ctx);
        // A read commits nothing; ending it can fail only in odd states.
        Some(value.and_then(|v| tx.commit().map(|()| v).map_err(|e| self.err(e))))
    }

    fn plain_read<T>(&self, f: impl FnOnce(&Ctx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        arm_busy_timeout(self.config.busy_timeout);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(|e| self.err(e))?;
        let ctx = Ctx { tx: &tx, now: Timestamp::now(), reg: self, reclaimed: GcReport::default() };
        let value = f(&ctx)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(value)
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, self.config.busy_timeout, e)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the field is not used again.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.conn) };
        if let Some(queue) = &self.queue {
            queue.remove_if_unused(&self.path);
        }
    }
}

/// What an operation sees: its transaction and the time it started.
pub(crate) struct Ctx<'a> {
    pub tx: &'a Transaction<'a>,
    pub now: Timestamp,
    pub reg: &'a Registry,
    /// What the housekeeping at the start of this transaction reclaimed.
    pub reclaimed: GcReport,
}

impl Ctx<'_> {
    pub fn err(&self, e: rusqlite::Error) -> Error {
        self.reg.err(e)
    }
}

/// Maps an SQLite error to the registry error for the file at `path`.
pub(crate) fn db_error(path: &Path, busy_timeout: Duration, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => {
            Error::Busy { path: path.to_path_buf(), waited_ms: busy_timeout.as_millis() as u64 }
        }
        Some(C::ReadOnly) => Error::ReadOnly { path: path.to_path_buf(), detail: error::read_only_detail(path, &e) },
        Some(C::NotADatabase | C::DatabaseCorrupt) => {
            Error::NotADatabase { path: path.to_path_buf(), detail: e.to_string() }
        }
        _ => Error::Sqlite { path: path.to_path_buf(), cause: e },
    }
}
