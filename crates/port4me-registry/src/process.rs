//! Who is asking, and is the owner of an entry still running?
//!
//! A process is identified by its pid **and its start time** (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot), so a pid that the kernel
//! has handed to a new process is not mistaken for the old owner. Because a
//! database may be shared between machines (a home directory on a network
//! file system) or between containers, every entry also records the machine
//! it was made on: host name, boot id (`/proc/sys/kernel/random/boot_id`)
//! and pid namespace (`/proc/self/ns/pid`). Liveness is only decided for
//! entries of this host and pid namespace:
//!
//! * same host and namespace, different boot id: the machine rebooted since,
//!   so the owner is gone;
//! * same boot: gone when `/proc/<pid>` is missing, is a zombie, or has a
//!   different start time;
//! * another host or namespace: unknown, the entry is kept (leases still
//!   expire by time).
//!
//! Systems without `/proc` record a start time of 0 and fall back to
//! `kill(pid, 0)`.

use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// A process: pid plus start time, so a reused pid is not taken for the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessId {
    /// The process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (Linux), 0 where unknown.
    pub start_time: u64,
}

/// Whose process owns a registration or lease.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Owner {
    /// The calling process (the default for the Rust API).
    #[default]
    Current,
    /// The parent of the calling process: what a command-line tool uses, so
    /// the entry lives as long as the shell or script that ran it.
    Parent,
    /// A given process.
    Process(ProcessId),
    /// No process: the entry ends only by time or an explicit release.
    /// (Registrations always need an owner; for them this means `Current`.)
    Nobody,
}

impl Owner {
    /// The owner with a pid, looked up now (its start time read from /proc).
    pub fn pid(pid: u32) -> Result<Owner> {
        ProcessId::of(pid)?.map(Owner::Process).ok_or(Error::NoSuchProcess { pid })
    }

    pub(crate) fn resolve(self) -> Result<Option<ProcessId>> {
        match self {
            Owner::Current => ProcessId::current().map(Some),
            Owner::Parent => ProcessId::parent().map(Some),
            Owner::Process(p) => Ok(Some(p)),
            Owner::Nobody => Ok(None),
        }
    }
}

/// What /proc says about a pid.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Running { start_time: u64 },
    Gone,
    Unknown,
}

impl ProcessId {
    /// The calling process.
    pub fn current() -> Result<ProcessId> {
        let pid = std::process::id();
        ProcessId::of(pid)?.ok_or(Error::NoSuchProcess { pid })
    }

    /// The parent of the calling process.
    pub fn parent() -> Result<ProcessId> {
        #[cfg(unix)]
        let pid = unsafe { libc::getppid() } as u32;
        #[cfg(not(unix))]
        let pid = std::process::id();
        ProcessId::of(pid)?.ok_or(Error::NoSuchProcess { pid })
    }

    /// The process with this pid if it is running, with its start time.
    pub fn of(pid: u32) -> Result<Option<ProcessId>> {
        if pid == 0 {
            return Ok(None);
        }
        match status(pid) {
            Status::Running { start_time } => Ok(Some(ProcessId { pid, start_time })),
            Status::Gone => Ok(None),
            Status::Unknown => Ok(Some(ProcessId { pid, start_time: 0 })),
        }
    }

    /// Whether this very process (same pid and start time) is still running
    /// on this machine. Zombies count as gone.
    pub fn is_alive(&self) -> bool {
        match status(self.pid) {
            Status::Running { start_time } => self.start_time == 0 || start_time == 0 || start_time == self.start_time,
            Status::Gone => false,
            Status::Unknown => true,
        }
    }
}

#[cfg(target_os = "linux")]
fn status(pid: u32) -> Status {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => match parse_stat(&text) {
            Some((state, _)) if state == 'Z' || state == 'X' || state == 'x' => Status::Gone,
            Some((_, start_time)) => Status::Running { start_time },
            None => Status::Unknown,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Status::Gone,
        // ESRCH while reading a process that just exited.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Status::Gone,
        Err(_) => Status::Unknown,
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn status(pid: u32) -> Status {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return Status::Gone };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
        Status::Running { start_time: 0 }
    } else {
        Status::Gone
    }
}

#[cfg(not(unix))]
fn status(_pid: u32) -> Status {
    Status::Unknown
}

/// State (field 3) and start time (field 22) of a `/proc/<pid>/stat` line.
/// The command name (field 2) may contain spaces and parentheses, so the
/// fields are counted after its last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3; field 22 is 19 further.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The machine an entry was made on (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Machine {
    pub host: String,
    pub boot_id: String,
    pub pid_ns: String,
}

impl Machine {
    pub fn current() -> &'static Machine {
        static M: OnceLock<Machine> = OnceLock::new();
        M.get_or_init(|| Machine {
            host: hostname(),
            boot_id: read_trimmed(Path::new("/proc/sys/kernel/random/boot_id")),
            pid_ns: std::fs::read_link("/proc/self/ns/pid")
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; the result is NUL-terminated
        // when it fits (we force a terminator anyway).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("HOSTNAME").or_else(|_| std::env::var("COMPUTERNAME")).unwrap_or_default()
}

/// The OS user making a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Effective uid.
    pub uid: u32,
    /// Account name (the uid in decimal when the password database has none).
    pub name: String,
}

impl User {
    /// The effective user of this process.
    pub fn current() -> User {
        #[cfg(unix)]
        {
            // SAFETY: geteuid cannot fail.
            let uid = unsafe { libc::geteuid() };
            let name = port4me::env::user_name_of(uid).unwrap_or_else(|| uid.to_string());
            User { uid, name }
        }
        #[cfg(not(unix))]
        {
            let name = std::env::var("USERNAME").unwrap_or_else(|_| "user".into());
            User { uid: 0, name }
        }
    }
}

/// How the registry judges an owner recorded on some machine.
pub(crate) fn owner_is_gone(host: &str, pid_ns: &str, boot_id: &str, pid: u32, start_time: u64) -> bool {
    let me = Machine::current();
    if host != me.host || pid_ns != me.pid_ns {
        return false;
    }
    if boot_id != me.boot_id {
        return true;
    }
    !ProcessId { pid, start_time }.is_alive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let line = "1234 (a) b) (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn current_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = ProcessId::current().unwrap();
        assert!(me.start_time > 0);
        assert!(me.is_alive());
        let impostor = ProcessId { start_time: me.start_time + 1, ..me };
        assert!(!impostor.is_alive());
        assert!(!owner_is_gone(
            &Machine::current().host,
            &Machine::current().pid_ns,
            &Machine::current().boot_id,
            me.pid,
            me.start_time
        ));
        assert!(owner_is_gone(
            &Machine::current().host,
            &Machine::current().pid_ns,
            "another-boot",
            me.pid,
            me.start_time
        ));
        assert!(!owner_is_gone("another-host", "", "", me.pid, me.start_time + 1));
    }

    #[test]
    fn user_has_a_name() {
        assert!(!User::current().name.is_empty());
    }
}
