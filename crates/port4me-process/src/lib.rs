//! Process identity for port4me: the one place that asks the system about a
//! process. The registry uses it for owner liveness, the holders for naming
//! what holds a port and for the safety checks of the kill strategy.
//!
//! A process is its pid **and its start time**, so that a pid the system
//! has handed to a new process is not taken for the old one. Start times
//! are in each system's own unit, 0 where unknown:
//!
//! * **Linux**: clock ticks since boot (field 22 of `/proc/<pid>/stat`);
//! * **macOS**: microseconds since the Unix epoch
//!   (`proc_pidinfo(PROC_PIDTBSDINFO)`);
//! * **Windows**: the creation time as a `FILETIME` (100-ns intervals since
//!   1601-01-01 UTC, `GetProcessTimes`).
//!
//! What cannot be known about a process counts as alive ([`Status::Unverified`]):
//! nothing is declared gone that cannot be proved gone. Zombies count as gone.
//!
//! [`lookup`] describes a process: name, command line, executable, start
//! time, user. A process this user may not open (another user's, a service,
//! Windows' System with pid 4) is still described with what the system gives
//! without opening it, and marked [`Process::inspectable`] `false`.

#![warn(missing_docs)]

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod sys;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos", windows)))]
#[path = "other.rs"]
mod sys;

#[cfg(any(target_os = "macos", test))]
mod procargs;
#[cfg(any(target_os = "linux", target_os = "android", test))]
mod stat;

pub use port4me::env::{account_uid, user_name_of};

/// What the system says about a pid right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Running (alive), with its start time (0 where the system has none,
    /// or where the process exists but its start time cannot be read).
    Running {
        /// The start time, in the unit of this system (see the crate docs).
        start_time: u64,
    },
    /// It exists, or cannot be proved not to, but its start time cannot be
    /// read (unknown): another user's process under `hidepid`, or access
    /// denied. Counts as alive.
    Unverified,
    /// No such process, or a zombie.
    Gone,
}

/// The status of `pid`: running with its start time, unverified, or gone.
/// Pid 0 is never a process that can own anything: gone.
pub fn status(pid: u32) -> Status {
    if pid == 0 {
        return Status::Gone;
    }
    sys::status(pid)
}

/// One process, as far as this user can see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// The process name: `comm` on Linux (at most 15 bytes), the name
    /// libproc gives on macOS, the image file name (`node.exe`) on Windows.
    /// Empty when the system gives none.
    pub name: String,
    /// The command line, one element per argument; empty where it cannot be
    /// read (another user's process, a zombie, a protected process).
    pub cmdline: Vec<String>,
    /// The full path of the executable, where it can be read.
    pub executable: Option<String>,
    /// The start time (see the crate docs), 0 where unknown.
    pub start_time: u64,
    /// The effective user id; on Windows the RID of the token's user SID
    /// (as [`account_uid`]).
    pub uid: Option<u32>,
    /// The real user id (Unix); the same as `uid` on Windows.
    pub ruid: Option<u32>,
    /// The account name of `uid`.
    pub user: Option<String>,
    /// Whether the process could be opened and read. When `false` only what
    /// the system tells without opening it is filled in (pid, name, maybe
    /// the user), and nothing may be done to the process.
    pub inspectable: bool,
    /// A Windows service or system process (session 0, when the caller
    /// runs in another session): never stopped by port4me. Always `false`
    /// elsewhere.
    pub service: bool,
}

/// The process with this pid, `None` when there is none (or it is a
/// zombie). Pid 0 on Windows is the System Idle Process, and pid 4 the
/// System: both are described, not inspectable.
pub fn lookup(pid: u32) -> Option<Process> {
    sys::lookup(pid)
}

/// The parent pid the system recorded for `pid`, `None` when `pid` is not
/// in the process list. Windows only keeps the number, which may since name
/// another process (see the registry's `ProcessId::parent`).
#[cfg(windows)]
pub fn parent_pid(pid: u32) -> std::io::Result<Option<u32>> {
    sys::parent_pid(pid)
}

/// Ends the process `pid` at once, but only if it is still the process that
/// started at `start_time` (checked on the same handle that ends it, so a
/// reused pid is never hit). `Ok(false)` when it had exited or the pid now
/// names another process.
///
/// Windows has no request to stop that a console program such as `node.exe`
/// reliably receives (`taskkill` without `/F` posts `WM_CLOSE`, which only
/// windowed programs see), so this is `TerminateProcess`: what `taskkill /F`
/// and Task Manager's "End task" do.
#[cfg(windows)]
pub fn terminate(pid: u32, start_time: u64) -> std::io::Result<bool> {
    sys::terminate(pid, start_time)
}

/// Existence by `kill(pid, 0)`: running with an unknown start time (it
/// exists, ours or, with `EPERM`, another user's), gone (`ESRCH`), or
/// unverified (any other error: not provably dead).
#[cfg(unix)]
pub fn kill_zero(pid: u32) -> Status {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return Status::Gone };
    if pid <= 0 {
        return Status::Gone;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Status::Running { start_time: 0 };
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EPERM) => Status::Running { start_time: 0 },
        Some(libc::ESRCH) => Status::Gone,
        _ => Status::Unverified,
    }
}

/// The account name of `uid`, or the number as text when it has none.
pub(crate) fn name_of(uid: u32) -> String {
    user_name_of(uid).unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[test]
    fn this_process_is_found_with_its_start_time_and_user() {
        let me = lookup(std::process::id()).expect("this process");
        assert!(me.inspectable && !me.service, "{me:?}");
        assert_ne!(me.start_time, 0);
        assert_eq!(me.uid, account_uid());
        assert!(!me.name.is_empty(), "{me:?}");
        assert!(me.executable.as_deref().is_some_and(|p| p.contains("port4me_process")), "{me:?}");
        // Wine 8 does not give command lines (ProcessCommandLineInformation).
        if !cfg!(windows) || !me.cmdline.is_empty() {
            assert!(me.cmdline.first().is_some_and(|a| a.contains("port4me_process")), "{me:?}");
        }
        assert_eq!(status(me.pid), Status::Running { start_time: me.start_time });
    }

    #[test]
    fn pid_zero_and_a_missing_pid_are_gone() {
        assert_eq!(status(0), Status::Gone);
        assert_eq!(status(0x7fff_fff0), Status::Gone);
        assert_eq!(lookup(0x7fff_fff0), None);
    }

    #[cfg(unix)]
    #[test]
    fn kill_zero_tells_existing_from_missing() {
        assert_eq!(kill_zero(std::process::id()), Status::Running { start_time: 0 });
        assert_eq!(kill_zero(0x7fff_fff0), Status::Gone);
        assert_eq!(kill_zero(0), Status::Gone);
    }

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[test]
    fn a_child_that_exited_is_gone() {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "no-such-test", "-q"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let running = lookup(pid);
        child.wait().unwrap();
        // Windows keeps the process object while our handle lives; it has an
        // exit code then, which counts as gone.
        assert_eq!(status(pid), Status::Gone);
        if let Some(p) = running {
            assert_eq!(p.pid, pid);
        }
    }
}
