//! Opening a registry: finding its path, creating it privately, telling a
//! writable file from one this user may only read, and refusing what is not
//! ours before anything is written. The file checks that need no SQLite are
//! in the `files` module; everything else goes through SQLite.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rusqlite::{Connection, OpenFlags};

use crate::error::{self, Error, Result};
use crate::files::{self, side_file, wal_has_content};
use crate::lock::{self, arm_busy_timeout, begin_immediate, busy_handler, retry_busy};
use crate::{db_error, schema, validate, Config, Registry};

/// The default database path: `PORT4ME_DB` if set and non-empty, else
///
/// * Unix (macOS included): `$XDG_STATE_HOME/port4me/ports.sqlite` (when
///   `XDG_STATE_HOME` is an absolute path), else
///   `$HOME/.local/state/port4me/ports.sqlite`;
/// * Windows: `%LOCALAPPDATA%\port4me\ports.sqlite` (when `LOCALAPPDATA` is
///   an absolute path).
///
/// [`Error::NoDefaultPath`] when the variable needed is missing.
pub fn default_path() -> Result<PathBuf> {
    default_path_from(|k| std::env::var_os(k))
}

/// [`default_path`], reading the variables through `var` (as
/// [`Registry::open_default_from`] does), for callers that key open
/// registries by path.
pub fn default_path_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(p) = set("PORT4ME_DB") {
        return Ok(PathBuf::from(p));
    }
    #[cfg(windows)]
    let state = set("LOCALAPPDATA").map(PathBuf::from).filter(|p| p.is_absolute()).ok_or(Error::NoDefaultPath)?;
    #[cfg(not(windows))]
    let state = match set("XDG_STATE_HOME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(dir) => dir,
        None => PathBuf::from(set("HOME").ok_or(Error::NoDefaultPath)?).join(".local").join("state"),
    };
    Ok(state.join("port4me").join("ports.sqlite"))
}

impl Registry {
    /// Opens (creating if needed) the registry at `path` with default settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Registry> {
        Registry::open_with(path, Config::default())
    }

    /// Opens the default registry ([`default_path`]), creating its
    /// directories (0700 on Unix) and file (0600 on Unix) when missing.
    pub fn open_default() -> Result<Registry> {
        Registry::open_default_with(Config::default())
    }

    /// [`Registry::open_default`] with settings.
    pub fn open_default_with(config: Config) -> Result<Registry> {
        Registry::open_default_from(|k| std::env::var_os(k), config)
    }

    /// [`Registry::open_default_with`], reading `PORT4ME_DB`, `XDG_STATE_HOME`
    /// and `HOME` (Windows: `LOCALAPPDATA`) through `var` instead of the
    /// process environment (for callers that resolve on behalf of another
    /// environment, such as the Node binding's `env` option). The directory is created as for the
    /// default path.
    pub fn open_default_from(var: impl Fn(&str) -> Option<std::ffi::OsString>, config: Config) -> Result<Registry> {
        let private = var("PORT4ME_DB").is_none_or(|v| v.is_empty());
        let path = default_path_from(var)?;
        validate::state_directory(&path, private)?;
        // Only the default state directory is created: a missing directory
        // in PORT4ME_DB is a mistake, as it is for an explicit path.
        if private && !config.read_only {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
        }
        Registry::open_with(path, config)
    }

    /// Opens (creating the file 0600 if needed, but not its directory) the
    /// registry at `path`. A file this user may not write (or that cannot
    /// be written now, e.g. on a full disk) is opened read-only instead (see
    /// the [crate docs](crate#registries-that-cannot-be-written)).
    pub fn open_with(path: impl AsRef<Path>, config: Config) -> Result<Registry> {
        let path = path.as_ref().to_path_buf();
        validate::pool("module pool", config.module_pool)?;
        validate::pool("registration pool", config.registration_pool)?;
        validate::ttl("offer time-to-live", config.offer_ttl)?;
        validate::database_path(&path)?;
        validate::state_directory(&path, false)?;
        if config.read_only {
            return Registry::open_read_only(path, config, None);
        }
        files::check_side_files(&path)?;
        let sqlite_creates = files::create_private(&path)?;
        if let Some(why) = files::cannot_write(&path) {
            return Registry::open_read_only(path, config, Some(why));
        }
        let stale = files::clear_stale_side_files(&path);
        match Registry::open_writable(path.clone(), config.clone(), sqlite_creates) {
            Ok(reg) => Ok(reg),
            Err(e) if cannot_write_now(&e) => {
                let why = match stale {
                    Some(s) => format!("{s}; {}", error_detail(&e)),
                    None => error_detail(&e),
                };
                // Reading may still work; if not, the first error says more.
                Registry::open_read_only(path, config, Some(why)).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    fn open_writable(path: PathBuf, config: Config, create: bool) -> Result<Registry> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = connect(&path, &path, flags, &config)?;
        if create {
            files::make_private(&path);
        }
        Registry::look(&conn, &path, &config)?;
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            // SQLite fell back to reading: open our own way instead.
            drop(conn);
            return Registry::open_read_only(path, config, Some("this user may not write it".into()));
        }
        let queue = lock::Queue::open(&path);
        let mut reg = Registry {
            flush: None,
            conn: std::mem::ManuallyDrop::new(Mutex::new(conn)),
            queue,
            path,
            config,
            read_only: false,
            read_only_reason: None,
            ask_ahead: true.into(),
            wrote: false.into(),
        };
        // Changing the journal mode takes the lock without SQLite's busy
        // handler, so concurrent first opens retry here (init is idempotent).
        reg.flush = retry_busy(reg.config.busy_timeout, || reg.init())?;
        Ok(reg)
    }

    /// Opens without ever writing, not even the `-wal` and `-shm` files:
    /// the shared memory read-only when it is there (so the reads see what
    /// a live writer committed), else the database file as it stands (no
    /// writer has it open then).
    fn open_read_only(path: PathBuf, config: Config, reason: Option<String>) -> Result<Registry> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        if !path.is_file() {
            // Let the plain open say what is there instead (nothing, a directory).
            connect(&path, &path, flags, &config)?;
        }
        let open = |query: &str| {
            connect(&path, &file_uri(&path, query), flags, &config)
                .and_then(|conn| Registry::look(&conn, &path, &config).map(|h| (conn, h)))
        };
        // SQLite creates a missing -wal even for a read-only connection, so
        // the log is only opened when a writer has left both files.
        let live = side_file(&path, "-shm").exists() && side_file(&path, "-wal").exists();
        let (conn, header) = if live || wal_has_content(&path) {
            match open("mode=ro&readonly_shm=1") {
                Ok(x) => x,
                // Shared memory we may not map, and nothing in the log.
                Err(e) if !wal_has_content(&path) && !matches!(e, Error::Io { .. }) => open("immutable=1")?,
                Err(e) => return Err(e),
            }
        } else {
            // No writer has the database open (the last one to close removes
            // the log): the file alone is the whole registry.
            open("immutable=1")?
        };
        let reg = Registry {
            flush: None,
            conn: std::mem::ManuallyDrop::new(Mutex::new(conn)),
            queue: None,
            path,
            config,
            read_only: true,
            read_only_reason: reason,
            ask_ahead: true.into(),
            wrote: false.into(),
        };
        if schema::version_set_back(&reg.lock(), header.user_version).map_err(|e| reg.err(e))? {
            return Err(version_mismatch(&reg.path, header.user_version, None));
        }
        if header.user_version != schema::SCHEMA_VERSION {
            return Err(Error::ReadOnly {
                path: reg.path.clone(),
                detail: format!(
                    "its schema (version {}) needs to be created or upgraded to version {}, which needs write access{}",
                    header.user_version,
                    schema::SCHEMA_VERSION,
                    reg.read_only_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            });
        }
        reg.check_tables()?;
        Ok(reg)
    }

    /// Looks before touching anything: not SQLite, someone else's, or newer.
    fn look(conn: &Connection, path: &Path, config: &Config) -> Result<schema::Header> {
        let header = retry_busy(config.busy_timeout, || {
            schema::header(conn).map_err(|e| db_error(path, config.busy_timeout, e))
        })?;
        check_header(path, &header)?;
        Ok(header)
    }

    /// Sets the connection up and creates or upgrades the schema when it
    /// is not current (in a write transaction; a current one is only
    /// read, so opening takes no write lock). Returns the log to flush
    /// after commits (see the `lock` module), when the handle flushes it itself.
    fn init(&self) -> Result<Option<lock::Flush>> {
        let mut conn = self.lock();
        arm_busy_timeout(self.config.busy_timeout);
        let path = &self.path;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        // "wal" normally; file systems without shared memory keep the old mode.
        let wal = mode.eq_ignore_ascii_case("wal");
        if wal {
            conn.wal_hook(Some(lock::note_log));
        }
        let sync = if self.config.durable { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!("PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"))
            .map_err(|e| self.err(e))?;
        let header = schema::header(&conn).map_err(|e| self.err(e))?;
        check_header(path, &header)?;
        if header.user_version < schema::SCHEMA_VERSION {
            let start = Instant::now();
            let _turn = self.enter_queue(self.config.busy_timeout)?;
            let left = self.config.busy_timeout.saturating_sub(start.elapsed());
            arm_busy_timeout(left);
            let tx = begin_immediate(&mut conn, left).map_err(|e| self.err(e))?;
            // Another process may have created or upgraded it meanwhile.
            let header = schema::header(&tx).map_err(|e| self.err(e))?;
            check_header(path, &header)?;
            if header.user_version < schema::SCHEMA_VERSION {
                if schema::version_set_back(&tx, header.user_version).map_err(|e| self.err(e))? {
                    return Err(version_mismatch(path, header.user_version, None));
                }
                schema::create(&tx).map_err(|e| match e.sqlite_error_code() {
                    // A plain SQL error: the tables are not those of the version the file claims.
                    Some(rusqlite::ErrorCode::Unknown) => version_mismatch(path, header.user_version, Some(&e)),
                    _ => self.err(e),
                })?;
            }
            if let Some(t) = schema::missing_table(&tx).map_err(|e| self.err(e))? {
                return Err(Error::NotADatabase {
                    path: path.clone(),
                    detail: format!("the registry table {t} is missing"),
                });
            }
            tx.commit().map_err(|e| self.err(e))?;
        } else if let Some(t) = schema::missing_table(&conn).map_err(|e| self.err(e))? {
            return Err(Error::NotADatabase {
                path: path.clone(),
                detail: format!("the registry table {t} is missing"),
            });
        }
        // Durable in WAL mode: commit without flushing, and flush the log
        // after the locks are released (see the `lock` module).
        if !(self.config.durable && wal) {
            return Ok(None);
        }
        let Some(flush) = lock::Flush::open(path, &conn) else { return Ok(None) };
        conn.execute_batch("PRAGMA synchronous = NORMAL").map_err(|e| self.err(e))?;
        Ok(Some(flush))
    }

    fn check_tables(&self) -> Result<()> {
        let conn = self.lock();
        arm_busy_timeout(self.config.busy_timeout);
        if let Some(t) = schema::missing_table(&conn).map_err(|e| self.err(e))? {
            return Err(Error::NotADatabase {
                path: self.path.clone(),
                detail: format!("the registry table {t} is missing"),
            });
        }
        Ok(())
    }
}

/// A file whose tables do not match the schema version it claims.
fn version_mismatch(path: &Path, found: i64, cause: Option<&rusqlite::Error>) -> Error {
    Error::NotADatabase {
        path: path.to_path_buf(),
        detail: format!(
            "it says it has schema version {found} (PRAGMA user_version), but its tables do not match that version{}; \
             was its user_version changed by another program? It was left untouched",
            cause.map(|e| format!(" ({e})")).unwrap_or_default()
        ),
    }
}

fn check_header(path: &Path, h: &schema::Header) -> Result<()> {
    if h.application_id == schema::PRE_RELEASE_APPLICATION_ID {
        return Err(Error::PreRelease { path: path.to_path_buf(), found: h.user_version });
    }
    let ours = h.application_id == schema::APPLICATION_ID;
    if h.application_id != 0 && !ours {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
            detail: format!("application id {:#x} is not port4me's {:#x}", h.application_id, schema::APPLICATION_ID),
        });
    }
    if !ours && h.objects > 0 {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
            detail: format!("it holds {} schema objects but no port4me application id", h.objects),
        });
    }
    if h.user_version < 0 {
        return Err(Error::NotADatabase {
            path: path.to_path_buf(),
            detail: format!("schema version {} in PRAGMA user_version, which no port4me writes", h.user_version),
        });
    }
    if h.user_version > schema::SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found: h.user_version,
            supported: schema::SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Opens `target` (the path, or a URI for it) with `flags`, errors naming `path`.
fn connect(path: &Path, target: &Path, flags: OpenFlags, config: &Config) -> Result<Connection> {
    let conn = Connection::open_with_flags(target, flags).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::CannotOpen) => error::cannot_open(path, &e),
        _ => db_error(path, config.busy_timeout, e),
    })?;
    conn.busy_handler(Some(busy_handler)).map_err(|e| db_error(path, config.busy_timeout, e))?;
    // Room for every statement the operations prepare (rusqlite keeps 16:
    // a mix of operations then compiles statements, and the triggers they
    // fire, again and again).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    arm_busy_timeout(config.busy_timeout);
    Ok(conn)
}

/// How many prepared statements a connection keeps (more than the
/// registry's distinct statements).
const STATEMENT_CACHE: usize = 96;

/// An SQLite URI (`file:...?query`) for `path`: every byte but unreserved
/// ones and `/` percent-encoded; on Windows `\` becomes `/` and an
/// absolute path gets the empty authority (`file:///C:/...`,
/// `file:////server/share/...`).
fn file_uri(path: &Path, query: &str) -> PathBuf {
    let text = path.to_string_lossy();
    #[cfg(windows)]
    let text = text.replace('\\', "/");
    let mut uri = String::from("file:");
    if cfg!(windows) && text.as_bytes().get(1) == Some(&b':') {
        uri.push_str("///");
    } else if cfg!(windows) && text.starts_with("//") {
        // A UNC path (\\server\share\...): an empty authority, then the
        // path with its two leading slashes (not tried on a real share).
        uri.push_str("//");
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) || (cfg!(windows) && b == b':') {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    PathBuf::from(uri)
}

/// Whether `e` says that the database cannot be written now (permission,
/// read-only file system, full disk, I/O errors of the side files), so that
/// reading may still work.
pub(crate) fn cannot_write_now(e: &Error) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        Error::ReadOnly { .. } => true,
        Error::Sqlite { cause: source, .. } => {
            matches!(source.sqlite_error_code(), Some(C::DiskFull | C::SystemIoFailure | C::CannotOpen | C::ReadOnly))
        }
        Error::Io { cause: source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ReadOnlyFilesystem
                | std::io::ErrorKind::StorageFull
                | std::io::ErrorKind::Other
        ),
        _ => false,
    }
}

/// The part of an error that says why, without the path.
fn error_detail(e: &Error) -> String {
    match e {
        Error::ReadOnly { detail, .. } => detail.clone(),
        Error::Sqlite { cause: source, .. } => match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure) => {
                format!("{source} (is the disk full?)")
            }
            _ => source.to_string(),
        },
        Error::Io { cause: source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|cause| Error::Io { action: "create directory", path: dir.to_path_buf(), cause })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    #[cfg(not(windows))]
    #[test]
    fn default_path_order() {
        let p = |pairs: &[(&str, &str)]| default_path_from(env(pairs)).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(p(&[("PORT4ME_DB", "/x/db"), ("HOME", "/h")]).unwrap(), "/x/db");
        assert_eq!(
            p(&[("PORT4ME_DB", ""), ("XDG_STATE_HOME", "/s"), ("HOME", "/h")]).unwrap(),
            "/s/port4me/ports.sqlite"
        );
        assert_eq!(
            p(&[("XDG_STATE_HOME", "relative"), ("HOME", "/h")]).unwrap(),
            "/h/.local/state/port4me/ports.sqlite"
        );
        assert_eq!(p(&[]).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_NO_PATH");
    }

    #[cfg(windows)]
    #[test]
    fn default_path_order_on_windows() {
        let p = |pairs: &[(&str, &str)]| default_path_from(env(pairs)).map(|p| p.to_string_lossy().into_owned());
        let local = r"C:\Users\alice\AppData\Local";
        assert_eq!(p(&[("PORT4ME_DB", r"D:\x.sqlite"), ("LOCALAPPDATA", local)]).unwrap(), r"D:\x.sqlite");
        assert_eq!(
            p(&[("PORT4ME_DB", ""), ("LOCALAPPDATA", local), ("HOME", "/h"), ("XDG_STATE_HOME", "/s")]).unwrap(),
            r"C:\Users\alice\AppData\Local\port4me\ports.sqlite"
        );
        for bad in [&[][..], &[("LOCALAPPDATA", "")], &[("LOCALAPPDATA", "relative")], &[("HOME", r"C:\h")]] {
            assert_eq!(p(bad).unwrap_err().code(), "ERR_PORT4ME_REGISTRY_NO_PATH", "{bad:?}");
        }
    }
}
