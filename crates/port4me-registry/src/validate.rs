//! Argument checks shared by every operation. They run before the
//! transaction writes anything.

use std::time::Duration;

use crate::error::{shown, Error, Result};
use crate::Protocol;

/// Longest module, service, instance or registration name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// Longest service description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Longest time-to-live accepted (a year): longer ones are surely mistakes.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Refuses a database path that exists but is not a regular file (see
/// [`Error::NotAFile`]); an absent path is fine (it is created).
pub(crate) fn database_path(path: &std::path::Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let kind = if t.is_symlink() {
        "symbolic link"
    } else if t.is_dir() {
        "directory"
    } else {
        special_kind(&t)
    };
    Err(Error::NotAFile { path: path.to_path_buf(), kind })
}

/// Checks the directory of the registry at `path` (Unix; elsewhere nothing
/// to check). A directory every user may write, without the sticky bit, lets
/// any user delete or replace the database (and its `-wal` and `-shm`).
///
/// * `private` (the default registry in the user's own state directory):
///   a directory every user may write is refused, sticky bit or not
///   ([`Error::InsecureDirectory`]); nothing but its owner should write there.
/// * otherwise (a path given explicitly or by `PORT4ME_DB`, possibly meant to
///   be shared): a directory every user may write without the sticky bit
///   gets a warning on stderr, once per directory and process, saying how
///   to fix it; the registry opens all the same.
///
/// A directory that does not exist yet is fine (it is created 0700, or
/// creating the file says what is wrong).
pub(crate) fn state_directory(path: &std::path::Path, private: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if private {
            trusted_directory(dir)?;
        }
        let Ok(meta) = std::fs::metadata(dir) else { return Ok(()) };
        let mode = meta.permissions().mode() & 0o7777;
        let world_writable = mode & 0o002 != 0;
        let sticky = mode & 0o1000 != 0;
        if private && world_writable {
            return Err(Error::InsecureDirectory { dir: dir.to_path_buf(), mode });
        }
        if world_writable && !sticky {
            warn_once(dir, || {
                format!(
                    "port4me: warning: the registry directory {d} is writable by every user and has no sticky bit \
                     (mode {mode:o}), so any user can delete or replace the database {f} in it; fix: chmod +t {d}, \
                     or better, for a registry shared by a group: chgrp GROUP {d} && chmod 2775 {d}",
                    d = dir.display(),
                    f = path.display()
                )
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, private);
    Ok(())
}

/// Refuses a private registry directory that is a symbolic link or belongs
/// to another user (see [`Error::UntrustedDirectory`]); a missing one is
/// fine (it is created).
#[cfg(unix)]
fn trusted_directory(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return Ok(()) };
    let untrusted = |why: String| Err(Error::UntrustedDirectory { dir: dir.to_path_buf(), why });
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(dir).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
        return untrusted(format!("is a symbolic link (to {target})"));
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        let name = |uid: u32| port4me::env::user_name_of(uid).unwrap_or_else(|| format!("uid {uid}"));
        return untrusted(format!("belongs to user {:?}, not to {:?}", name(meta.uid()), name(me)));
    }
    Ok(())
}

/// Prints `message()` on stderr unless it was printed for `dir` before in
/// this process.
#[cfg(unix)]
fn warn_once(dir: &std::path::Path, message: impl FnOnce() -> String) {
    static WARNED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !warned.contains(&key) {
        eprintln!("{}", message());
        warned.push(key);
    }
}

#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_fifo() {
        "named pipe"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "special file"
}

/// Parses `tcp` or `udp` (any case) into a [`Protocol`].
pub fn parse_protocol(s: &str) -> Result<Protocol> {
    s.parse().map_err(Error::UnknownProtocol)
}

/// A protocol column as stored: `tcp` or `udp`. Anything else (the schema's
/// CHECK constraints keep it out, but a file edited by another tool may
/// hold it) is an error naming the column and the value, never read as TCP.
pub(crate) fn stored_protocol(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Protocol> {
    let s: String = r.get(idx)?;
    parse_protocol(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// A name: 1 to [`MAX_NAME_BYTES`] bytes, no control characters, no
/// leading or trailing white space.
pub(crate) fn name(what: &'static str, s: &str) -> Result<()> {
    let bad = |reason| Err(Error::InvalidName { what, shown: shown(s), reason });
    if s.is_empty() {
        return bad("it is empty");
    }
    if s.len() > MAX_NAME_BYTES {
        return bad("it is longer than 200 bytes");
    }
    if s.contains('\0') {
        return bad("it contains a NUL character");
    }
    if s.chars().any(char::is_control) {
        return bad("it contains a control character");
    }
    if s.trim() != s {
        return bad("it starts or ends with white space");
    }
    Ok(())
}

/// Free text such as a description: no NUL, bounded length.
pub(crate) fn text(what: &'static str, s: &str, max: usize) -> Result<()> {
    let bad = |reason| Err(Error::InvalidText { what, shown: shown(s), reason });
    if s.len() > max {
        return bad("it is too long");
    }
    if s.contains('\0') {
        return bad("it contains a NUL character");
    }
    Ok(())
}

/// A pool: `1 <= start <= end`.
pub(crate) fn pool(what: &str, (start, end): (u16, u16)) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidRange { what: what.to_string(), start: i64::from(start), end: i64::from(end), reason })
    };
    if start == 0 {
        return bad("port 0 is not a port");
    }
    if start > end {
        return bad("the start is after the end");
    }
    Ok(())
}

/// A time-to-live: more than zero, at most a year.
pub(crate) fn ttl(what: &'static str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::InvalidDuration { what, value: d, reason: "it must be longer than zero" });
    }
    if d > MAX_TTL {
        return Err(Error::InvalidDuration { what, value: d, reason: "it must be at most a year" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("module", "web-1.x_y").is_ok());
        assert!(name("module", "ünïcödé").is_ok());
        for bad in ["", " a", "a ", "a\0b", "a\nb", &"x".repeat(201)] {
            let e = name("module", bad).unwrap_err();
            assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_INVALID_NAME");
            assert!(e.to_string().contains("module"), "{e}");
        }
        assert!(name("module", &"x".repeat(200)).is_ok());
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocol("TCP").unwrap(), Protocol::Tcp);
        assert_eq!(parse_protocol("udp").unwrap(), Protocol::Udp);
        let e = parse_protocol("sctp").unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_REGISTRY_UNKNOWN_PROTOCOL");
        assert!(e.to_string().contains("sctp"));
    }

    #[test]
    fn pools_and_ttls() {
        assert!(pool("pool", (1, 1)).is_ok());
        assert!(pool("pool", (0, 1)).is_err());
        assert!(pool("pool", (5, 4)).is_err());
        assert!(ttl("ttl", Duration::ZERO).is_err());
        assert!(ttl("ttl", Duration::from_secs(1)).is_ok());
    }
}
