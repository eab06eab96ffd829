//! What the registry does to its files outside SQLite, and why so little.
//!
//! The database and its `-wal`, `-shm` and `-journal` files belong to
//! SQLite. On Unix a process's record locks on a file are dropped when it
//! closes *any* descriptor of that file, including one opened only to look.
//! So a check that opened the database while another handle of the same
//! process had a connection would silently take that connection's locks
//! away, and another process could then checkpoint or delete the log under
//! it. SQLite documents this as a way to corrupt a database.
//!
//! This module therefore never opens those files. It asks the kernel by
//! path (`stat`, `access`, `link`, `unlink`), creates a new database under a
//! temporary name and links it into place, and leaves the one check that
//! needs a descriptor, whether another process uses a shared-memory file,
//! to a child process, whose locks are its own.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files SQLite keeps next to a database.
pub(crate) const SIDE_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// The file `path` with `suffix` appended (`-wal`, `-shm`).
pub(crate) fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Whether this user (the effective one) may access `path` as `mode`
/// (`libc::R_OK`, `libc::W_OK`), by path only. The error says why not.
#[cfg(unix)]
pub(crate) fn access(path: &Path, mode: libc::c_int) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    // SAFETY: a NUL-terminated path; faccessat opens nothing.
    match unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Windows: a file may be written unless it is marked read-only (the
/// access list is SQLite's to find out, and Windows' locks are per handle).
#[cfg(not(unix))]
pub(crate) fn access(path: &Path, mode: i32) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if mode & W_OK != 0 && meta.permissions().readonly() {
        return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    }
    Ok(())
}

/// `access` modes.
#[cfg(unix)]
pub(crate) use libc::{R_OK, W_OK};
#[cfg(not(unix))]
pub(crate) const R_OK: i32 = 4;
#[cfg(not(unix))]
pub(crate) const W_OK: i32 = 2;

/// Why this user cannot write the existing database at `path`, if so.
pub(crate) fn cannot_write(path: &Path) -> Option<String> {
    match access(path, W_OK) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => Some(format!("a read-only file system ({e})")),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!("this user may not write it ({e})")),
        Err(_) => None, // SQLite will say what is wrong
    }
}

/// Refuses a side file that is a symbolic link or not a regular file:
/// SQLite would refuse to open it with a message that does not name it.
pub(crate) fn check_side_files(path: &Path) -> Result<()> {
    for suffix in SIDE_SUFFIXES {
        let side = side_file(path, suffix);
        let Ok(meta) = std::fs::symlink_metadata(&side) else { continue };
        let t = meta.file_type();
        if t.is_file() {
            continue;
        }
        let kind = if t.is_symlink() {
            "symbolic link"
        } else if t.is_dir() {
            "directory"
        } else {
            "special file"
        };
        return Err(Error::SideFileNotAFile { path: side, kind });
    }
    Ok(())
}

/// Creates an empty database file at `path`, 0600 on Unix, unless something
/// is there already. On Unix the file is made under a temporary name and
/// linked into place, so no descriptor of the database itself is ever
/// closed here, even while another thread opens it. `Ok(true)` when the
/// file system has no hard links: SQLite then creates the file, and
/// [`make_private`] narrows its mode.
pub(crate) fn create_private(path: &Path) -> Result<bool> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let temp = temporary_name(path);
        let made = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp);
        match made {
            Ok(file) => drop(file),
            Err(e) => return Err(creation_error(path, e)),
        }
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(_) => Ok(true),
        }
    }
    #[cfg(not(unix))]
    {
        // Windows' locks belong to handles: closing this one drops no other.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(creation_error(path, e)),
        }
    }
}

/// Makes a database that SQLite has just created private (0600), by path.
pub(crate) fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(unix)]
fn temporary_name(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.new", std::process::id()))
}

/// The error for a database file that could not be created: the directory
/// is named when it is what may not be written.
fn creation_error(path: &Path, cause: std::io::Error) -> Error {
    use std::io::ErrorKind::{NotFound, PermissionDenied, ReadOnlyFilesystem};
    let parent = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = parent.filter(|d| cause.kind() == NotFound && !d.exists()) {
        let why = format!(
            "the directory {} does not exist ({cause}); port4me creates only its default directory",
            dir.display()
        );
        return Error::Io {
            action: "create database file",
            path: path.to_path_buf(),
            cause: std::io::Error::new(NotFound, why),
        };
    }
    if matches!(cause.kind(), PermissionDenied | ReadOnlyFilesystem) && path.file_name().is_some() {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        return Error::DirectoryNotWritable { dir: dir.to_path_buf(), name, cause };
    }
    Error::Io { action: "create database file", path: path.to_path_buf(), cause }
}

/// Whether some process uses the shared-memory file `shm`: SQLite keeps a
/// read lock on its byte 128 for as long as a connection uses it. The lock
/// is tested in a child process, which opens and closes the file with locks
/// of its own, so none of this process's locks can be dropped; the child
/// also sees this process's own connections, which a test made here could
/// not. `None` when it cannot be told.
#[cfg(unix)]
pub(crate) fn shm_in_use(shm: &Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(shm.as_os_str().as_bytes()).ok()?;
    // SAFETY: flock is plain data; all zeros is a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = 128;
    lock.l_len = 1;
    // SAFETY: the child calls only async-signal-safe functions (open, fcntl,
    // _exit) on memory prepared before the fork, as POSIX requires of a
    // child of a multi-threaded process.
    unsafe {
        match libc::fork() {
            -1 => None,
            0 => {
                let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC);
                if fd < 0 || libc::fcntl(fd, libc::F_GETLK, &mut lock) != 0 {
                    libc::_exit(2);
                }
                let unlocked: libc::c_short = libc::F_UNLCK as _;
                libc::_exit(if lock.l_type == unlocked { 0 } else { 1 })
            }
            child => {
                let mut status = 0;
                while libc::waitpid(child, &mut status, 0) < 0 {
                    if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                        return None;
                    }
                }
                match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                }
            }
        }
    }
}

/// Removes a `-shm` this user may not write that no process uses (an
/// earlier reader's), and with it an empty `-wal` this user may not write:
/// SQLite would otherwise open them read-only and refuse every write.
/// Returns why it could not, when it could not.
#[cfg(unix)]
pub(crate) fn clear_stale_side_files(path: &Path) -> Option<String> {
    let shm = side_file(path, "-shm");
    let wal = side_file(path, "-wal");
    let unwritable = |p: &Path| access(p, W_OK).is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
    let shm_stale = unwritable(&shm);
    let wal_stale = unwritable(&wal) && !wal_has_content(path);
    if !shm_stale && !wal_stale {
        return None;
    }
    if shm_stale && shm_in_use(&shm) != Some(false) {
        return Some(format!(
            "its shared-memory file {} is read-only for this user and in use by another process",
            shm.display()
        ));
    }
    for (stale, file) in [(shm_stale, &shm), (wal_stale, &wal)] {
        if stale {
            if let Err(e) = std::fs::remove_file(file) {
                return Some(format!(
                    "{} is left by another user and read-only for this one, and cannot be removed ({e}); \
                     its owner or an administrator can remove it",
                    file.display()
                ));
            }
        }
    }
    None
}

#[cfg(not(unix))]
pub(crate) fn clear_stale_side_files(_path: &Path) -> Option<String> {
    None
}

/// Whether the write-ahead log holds anything (committed changes not yet
/// copied into the database file).
pub(crate) fn wal_has_content(path: &Path) -> bool {
    std::fs::metadata(side_file(path, "-wal")).is_ok_and(|m| m.len() > 0)
}
