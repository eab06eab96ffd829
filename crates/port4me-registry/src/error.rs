//! Errors of the registry. Every variant has a stable [`Error::code`] and a
//! message that names the offending value and, where the database is
//! involved, its path. An operation that fails has changed nothing: its
//! transaction is rolled back.

use std::path::PathBuf;

use crate::Protocol;

/// Any error of the port registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file or its directory could not be created or opened.
    ///
    /// The OS error is in the message, and not also returned by `source()`
    /// (a reporter printing the chain would say it twice); the same holds
    /// for [`Error::DirectoryNotWritable`] and [`Error::Sqlite`].
    #[error("cannot {action} {path}: {cause}")]
    Io {
        /// What was attempted ("create directory", "create database file", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The database path exists but is not a regular file: a device (SQLite
    /// would write `/dev/null-journal`), a directory, or a symbolic link
    /// (which would be followed).
    #[error("the registry database {path} is a {kind}, not a regular file; give the path of a regular file, or of one to create")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is ("symbolic link", "directory", "character device", ...).
        kind: &'static str,
    },
    /// A file SQLite keeps next to the database (`-wal`, `-shm`,
    /// `-journal`) is not a regular file: a link planted there would make
    /// SQLite refuse the database, or follow the link.
    #[error("the registry's side file {path} is a {kind}, not a regular file; SQLite will not use it: remove it (no running port4me keeps such a file)")]
    SideFileNotAFile {
        /// The side file.
        path: PathBuf,
        /// What it is ("symbolic link", "directory", ...).
        kind: &'static str,
    },
    /// The directory of the database cannot be written: the database file
    /// cannot be created there.
    #[error("cannot create the registry database {name} in the directory {dir}: {cause}")]
    DirectoryNotWritable {
        /// The directory.
        dir: PathBuf,
        /// The file name.
        name: String,
        /// The OS error.
        cause: std::io::Error,
    },
    /// No database path was given and none could be derived (no `HOME`).
    #[error("no registry database path: set PORT4ME_DB or {}", if cfg!(windows) { "LOCALAPPDATA" } else { "XDG_STATE_HOME or HOME" })]
    NoDefaultPath,
    /// The file is not an SQLite database, or it is damaged. It was left as it is.
    #[error("{path} is not a usable SQLite database ({detail}); it was left untouched")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// An SQLite database of some other program (it has tables, but not ours).
    #[error("{path} is an SQLite database of another program ({detail}); it was left untouched")]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// Why it is not a port4me registry.
        detail: String,
    },
    /// The database was written by a newer port4me with a schema this
    /// version does not know.
    #[error("{path} has registry schema version {found}, newer than the {supported} this port4me understands; upgrade port4me (the database was left untouched)")]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database was written by a pre-release build of port4me, whose
    /// schema no release reads.
    #[error("{path} was written by a pre-release build of port4me (schema {found}), which this release does not read; move it aside (it was left untouched) and port4me creates a new registry there")]
    PreRelease {
        /// The file.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
    },
    /// The database (or its directory) cannot be written.
    #[error("the registry database {path} is read-only: {detail}")]
    ReadOnly {
        /// The file.
        path: PathBuf,
        /// What was attempted or what SQLite said.
        detail: String,
    },
    /// Another process held the database lock for longer than the busy timeout.
    #[error("the registry database {path} stayed locked by another process for {waited_ms} ms (busy timeout)")]
    Busy {
        /// The file.
        path: PathBuf,
        /// The busy timeout that elapsed.
        waited_ms: u64,
    },
    /// Any other SQLite failure.
    #[error("registry database {path}: {cause}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The SQLite error.
        cause: rusqlite::Error,
    },
    /// A protocol name other than `tcp` or `udp`.
    /// (The message is port4me's own, from the one protocol parser.)
    #[error("{0}")]
    UnknownProtocol(port4me::probe::UnknownProtocol),
    /// A name (module, service, instance, registration) that is empty, too
    /// long or contains control characters.
    #[error("invalid {what} name {shown}: {reason}")]
    InvalidName {
        /// Which kind of name.
        what: &'static str,
        /// The name, quoted and shortened for display.
        shown: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Some other text argument (a description, a label) that is not allowed.
    #[error("invalid {what} {shown}: {reason}")]
    InvalidText {
        /// Which argument.
        what: &'static str,
        /// The text, quoted and shortened for display.
        shown: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A count of ports that is zero or larger than the pool.
    #[error("invalid number of ports {n} for {what}: {reason}")]
    InvalidCount {
        /// What the count was for.
        what: String,
        /// The count given.
        n: u64,
        /// Why it was rejected.
        reason: String,
    },
    /// A port range that is inverted or outside 1-65535.
    #[error("invalid port range {start}-{end} for {what}: {reason}")]
    InvalidRange {
        /// What the range was for.
        what: String,
        /// First port.
        start: i64,
        /// Last port.
        end: i64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A service range touching privileged ports (< 1024) or the IANA
    /// ephemeral range (>= 49152) without `force`.
    #[error("service {service:?} range {start}-{end} {reason}; pass force to allow it")]
    RestrictedRange {
        /// The service.
        service: String,
        /// First port.
        start: u16,
        /// Last port.
        end: u16,
        /// Which restriction.
        reason: &'static str,
    },
    /// A time-to-live that is zero or absurdly long.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidDuration {
        /// Which duration.
        what: &'static str,
        /// The value.
        value: std::time::Duration,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// No gap of the requested size is left in the pool.
    #[error("no {n} consecutive free {protocol} port(s) left in the pool {pool_start}-{pool_end} for {what} (database {path})")]
    PoolExhausted {
        /// What the ports were for.
        what: String,
        /// How many consecutive ports were asked for.
        n: u32,
        /// The protocol.
        protocol: Protocol,
        /// First port of the pool.
        pool_start: u16,
        /// Last port of the pool.
        pool_end: u16,
        /// The database.
        path: PathBuf,
    },
    /// A range overlaps something the registry already holds.
    #[error("{what} {start}-{end} ({protocol}) overlaps {holder} (database {path})")]
    RangeConflict {
        /// What was being placed.
        what: String,
        /// First port.
        start: u16,
        /// Last port.
        end: u16,
        /// The protocol.
        protocol: Protocol,
        /// A description of the existing holder.
        holder: String,
        /// The database.
        path: PathBuf,
    },
    /// `define_service` with a name that is already defined.
    #[error("service {0:?} is already defined")]
    ServiceExists(String),
    /// `undefine` of a service whose instances still hold ports, without force.
    #[error("service {service:?} still has {} port(s) offered or allocated ({}); release them first, or force it (--force) to release them too", ports.len(), port_list(ports))]
    ServiceInUse {
        /// The service.
        service: String,
        /// The ports its instances hold.
        ports: Vec<u16>,
    },
    /// A service name that is not defined.
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// `offer` for an instance that already holds a port of the service.
    #[error("instance {instance:?} of service {service:?} already holds port {port} ({state})")]
    InstanceExists {
        /// The service.
        service: String,
        /// The instance.
        instance: String,
        /// The port it holds.
        port: u16,
        /// `offered` or `allocated`.
        state: &'static str,
    },
    /// Every port of the service's range is offered or allocated.
    #[error("service {service:?} has no free port left in its range {start}-{end}")]
    ServiceFull {
        /// The service.
        service: String,
        /// First port of its range.
        start: u16,
        /// Last port of its range.
        end: u16,
    },
    /// An instance name that holds nothing in the service.
    #[error("service {service:?} has no instance {instance:?}")]
    UnknownInstance {
        /// The service.
        service: String,
        /// The instance.
        instance: String,
    },
    /// A secret that is not 32 hexadecimal digits.
    #[error("malformed offer secret {0}: expected 32 hexadecimal digits")]
    MalformedSecret(String),
    /// A well-formed secret that no offer has.
    #[error("unknown offer secret {0} (never offered, or already rejected)")]
    UnknownSecret(String),
    /// A secret whose offer expired before it was accepted.
    #[error("offer {secret} (service {service:?}, instance {instance:?}, port {port}) expired at {expired}; ask for a new offer")]
    ExpiredSecret {
        /// The secret.
        secret: String,
        /// The service.
        service: String,
        /// The instance.
        instance: String,
        /// The port it had.
        port: u16,
        /// When it expired (RFC 3339, UTC).
        expired: String,
    },
    /// `reject` of an offer that was already accepted.
    #[error("offer {secret} was already accepted (service {service:?}, instance {instance:?}, port {port}); release the instance instead")]
    AlreadyAccepted {
        /// The secret.
        secret: String,
        /// The service.
        service: String,
        /// The instance.
        instance: String,
        /// The port.
        port: u16,
    },
    /// No registration of that name (or on that port) for the current user.
    #[error("no registration {which} for user {user:?}")]
    UnknownRegistration {
        /// Which was asked for: `named "web"` or `on port 45001/tcp`.
        which: String,
        /// The user asked for.
        user: String,
    },
    /// A user tried to release another user's registration or lease.
    #[error("{what} {name:?} (port {port}) belongs to user {owner:?}; user {user:?} may not release it")]
    NotOwner {
        /// What it is: "registration" or "lease".
        what: &'static str,
        /// The registration's name, or the lease's label.
        name: String,
        /// Its port.
        port: u16,
        /// Its owner.
        owner: String,
        /// Who tried.
        user: String,
    },
    /// Another OS user's module range or accepted service allocation,
    /// released (or replaced) without force. In a registry that several
    /// users can write this is bookkeeping, not access control.
    #[error("{what} belongs to user {owner:?}, not to {user:?}; {hint}")]
    OwnedByOther {
        /// What it is ("module \"web\" (ports 20000-20004/tcp)", ...).
        what: String,
        /// Its owner.
        owner: String,
        /// Who tried.
        user: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// A module name whose rows mirror a service, a registration or a lease
    /// (see [`crate::schema::sql`]): not a module to deallocate.
    #[error("{name} is not a module: its row in {table} mirrors {holder}, so that tools reading only TCP_PORTS and UDP_PORTS see those ports; {hint}")]
    NotAModule {
        /// The name, quoted for display.
        name: String,
        /// `TCP_PORTS` or `UDP_PORTS`.
        table: &'static str,
        /// What it mirrors.
        holder: String,
        /// How to release that.
        hint: String,
    },
    /// The registry's directory is writable by every user (and, for the
    /// default private registry, that is refused: anyone could replace the
    /// database).
    #[error("the registry directory {dir} is writable by every user (mode {mode:o}), so any user could delete or replace the database in it; the default registry is private and refuses it: run chmod 700 {dir} (or set PORT4ME_DB to a registry meant to be shared)")]
    InsecureDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The directory of the default, private registry is not this user's
    /// own: a symbolic link, or owned by another user, who could then read,
    /// replace or delete the database.
    #[error("the registry directory {dir} {why}, so the default registry, which is private, refuses it: remove it to let port4me create its own, or set PORT4ME_DB to a registry meant to be shared")]
    UntrustedDirectory {
        /// The directory.
        dir: PathBuf,
        /// What is wrong with it ("is a symbolic link to /tmp/x").
        why: String,
    },
    /// Every suffix `name_1` ... `name_N` is taken.
    #[error("too many registrations named {0:?} (every suffix up to _9999 is taken)")]
    TooManyRegistrations(String),
    /// The owner process given does not exist.
    #[error("owner process {pid} does not exist")]
    NoSuchProcess {
        /// The pid.
        pid: u32,
    },
    /// port4me itself failed while looking for a port to reserve.
    #[error(transparent)]
    Port4me(#[from] port4me::Error),
    /// A random secret could not be drawn from the OS.
    #[error("cannot read the OS random source: {0}")]
    Random(String),
}

port4me::error_codes! {
    Error {
        Error::Io { .. } | Error::NotAFile { .. } | Error::SideFileNotAFile { .. } | Error::DirectoryNotWritable { .. } => "ERR_PORT4ME_REGISTRY_IO",
        Error::NoDefaultPath => "ERR_PORT4ME_REGISTRY_NO_PATH",
        Error::NotADatabase { .. } => "ERR_PORT4ME_REGISTRY_NOT_A_DATABASE",
        Error::ForeignDatabase { .. } => "ERR_PORT4ME_REGISTRY_FOREIGN_DATABASE",
        Error::SchemaTooNew { .. } => "ERR_PORT4ME_REGISTRY_SCHEMA_TOO_NEW",
        Error::PreRelease { .. } => "ERR_PORT4ME_REGISTRY_PRE_RELEASE",
        Error::ReadOnly { .. } => "ERR_PORT4ME_REGISTRY_READ_ONLY",
        Error::Busy { .. } => "ERR_PORT4ME_REGISTRY_BUSY",
        Error::Sqlite { .. } => "ERR_PORT4ME_REGISTRY_SQLITE",
        Error::UnknownProtocol(_) => "ERR_PORT4ME_REGISTRY_UNKNOWN_PROTOCOL",
        Error::InvalidName { .. } => "ERR_PORT4ME_REGISTRY_INVALID_NAME",
        Error::InvalidText { .. } => "ERR_PORT4ME_REGISTRY_INVALID_TEXT",
        Error::InvalidCount { .. } => "ERR_PORT4ME_REGISTRY_INVALID_COUNT",
        Error::InvalidRange { .. } => "ERR_PORT4ME_REGISTRY_INVALID_RANGE",
        Error::RestrictedRange { .. } => "ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE",
        Error::InvalidDuration { .. } => "ERR_PORT4ME_REGISTRY_INVALID_DURATION",
        Error::PoolExhausted { .. } => "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED",
        Error::RangeConflict { .. } => "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT",
        Error::ServiceExists(_) => "ERR_PORT4ME_REGISTRY_SERVICE_EXISTS",
        Error::UnknownService(_) => "ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE",
        Error::ServiceInUse { .. } => "ERR_PORT4ME_REGISTRY_SERVICE_IN_USE",
        Error::InstanceExists { .. } => "ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS",
        Error::ServiceFull { .. } => "ERR_PORT4ME_REGISTRY_SERVICE_FULL",
        Error::UnknownInstance { .. } => "ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE",
        Error::MalformedSecret(_) => "ERR_PORT4ME_REGISTRY_MALFORMED_SECRET",
        Error::UnknownSecret(_) => "ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET",
        Error::ExpiredSecret { .. } => "ERR_PORT4ME_REGISTRY_EXPIRED_SECRET",
        Error::AlreadyAccepted { .. } => "ERR_PORT4ME_REGISTRY_ALREADY_ACCEPTED",
        Error::UnknownRegistration { .. } => "ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION",
        Error::NotOwner { .. } | Error::OwnedByOther { .. } => "ERR_PORT4ME_REGISTRY_NOT_OWNER",
        Error::NotAModule { .. } => "ERR_PORT4ME_REGISTRY_NOT_A_MODULE",
        Error::InsecureDirectory { .. } | Error::UntrustedDirectory { .. } => "ERR_PORT4ME_REGISTRY_INSECURE_DIRECTORY",
        Error::TooManyRegistrations(_) => "ERR_PORT4ME_REGISTRY_TOO_MANY_REGISTRATIONS",
        Error::NoSuchProcess { .. } => "ERR_PORT4ME_REGISTRY_NO_SUCH_PROCESS",
        Error::Random(_) => "ERR_PORT4ME_REGISTRY_RANDOM",
    }
    delegate {
        Error::Port4me(e) => e.code(),
    }
}

/// The error for SQLite failing to open `path` (`SQLITE_CANTOPEN`): the
/// operating system's reason when asking it by path says more ("Permission
/// denied" for a file of mode 000), SQLite's otherwise. The file is not
/// opened here (see the `files` module).
pub(crate) fn cannot_open(path: &std::path::Path, sqlite: &rusqlite::Error) -> Error {
    let cause = match crate::files::access(path, crate::files::R_OK) {
        Err(e) => e,
        Ok(()) => std::io::Error::other(sqlite.to_string()),
    };
    Error::Io { action: "open database file", path: path.to_path_buf(), cause }
}

/// The detail of [`Error::ReadOnly`] for SQLite's "attempt to write a
/// readonly database" on `path`: when the file may be written but its
/// directory may not, the directory is what is wrong (SQLite creates its
/// journal files next to the database), so the message names it.
pub(crate) fn read_only_detail(path: &std::path::Path, sqlite: &rusqlite::Error) -> String {
    #[cfg(not(unix))]
    let _ = path; // access(2) is Unix's
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let c = |p: &std::path::Path| std::ffi::CString::new(p.as_os_str().as_bytes()).ok();
        // SAFETY: access(2) on NUL-terminated paths.
        let writable = |p: &std::path::Path| c(p).is_some_and(|p| unsafe { libc::access(p.as_ptr(), libc::W_OK) } == 0);
        if writable(path) && !writable(dir) {
            let e = std::io::Error::last_os_error();
            return format!(
                "cannot create files in the directory {} ({e}), where SQLite keeps the database's journal",
                dir.display()
            );
        }
    }
    sqlite.to_string()
}

/// Ports for a message: all of up to ten, else the first ten and "...".
fn port_list(ports: &[u16]) -> String {
    let shown: Vec<String> = ports.iter().take(10).map(u16::to_string).collect();
    format!("{}{}", shown.join(", "), if ports.len() > 10 { ", ..." } else { "" })
}

/// A registry result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Quotes `s` for an error message, escaping control characters and
/// shortening it to about 60 characters (with its length in bytes).
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 60;
    let n = s.chars().count();
    if n <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_and_shortens() {
        assert_eq!(shown("a\0b"), "\"a\\0b\"");
        let long = "x".repeat(1000);
        let s = shown(&long);
        assert!(s.ends_with("... (1000 bytes)"), "{s}");
        assert!(s.len() < 90);
    }

    #[test]
    fn codes_are_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for c in Error::CODES {
            assert!(c.starts_with("ERR_PORT4ME_REGISTRY_"));
            assert!(seen.insert(c), "duplicate {c}");
        }
    }
}
