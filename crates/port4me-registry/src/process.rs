//! Who is asking, and is the owner of an entry still running?
//!
//! The system is asked through `port4me-process`, the one owner of process
//! identity (also used by the holders); this module decides what its
//! answers mean for an entry recorded on some machine.
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
//! * same boot: gone when the process does not exist (`kill(pid, 0)`
//!   answers `ESRCH`), is a zombie, or has a different start time;
//! * another host or namespace: unknown, the entry is kept (leases still
//!   expire by time).
//!
//! When this process cannot read its own boot id or pid namespace (systemd's
//! `ProcSubset=pid` hides `/proc/sys`, some sandboxes hide `/proc/self/ns`),
//! or an entry was recorded without them, the machine cannot be matched: such
//! entries are [`Liveness::Unknown`], kept, and only expire by time.
//!
//! Nothing is reclaimed that cannot be proved dead. On a host whose `/proc`
//! is mounted with `hidepid=1` or `hidepid=2` (common on shared servers),
//! another user's processes cannot be read or are not listed at all; a
//! missing or unreadable `/proc/<pid>/stat` therefore only means "gone"
//! when `kill(pid, 0)` says there is no such process. When it answers
//! `EPERM` (another user's process) the process is running, but its start
//! time is unknown, so a reused pid cannot be ruled out: [`Liveness::Unverified`],
//! which counts as alive and which `registry list` shows as such.
//!
//! Other systems:
//!
//! * **macOS**: the start time is the process's start in microseconds since
//!   the Unix epoch (`proc_pidinfo(PROC_PIDTBSDINFO)`), so a reused pid is
//!   caught there too; zombies count as gone. When that call is refused,
//!   `kill(pid, 0)` decides and the start time is unknown (0). Boot id and
//!   pid namespace are empty: a start time that is an absolute time cannot
//!   match a process of another boot, so no boot id is needed.
//! * **Windows**: the start time is the process creation time
//!   (`GetProcessTimes`, 100-ns intervals since 1601-01-01 UTC), read
//!   through `OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION)`. A pid that
//!   `OpenProcess` calls invalid, or a process whose exit code is no longer
//!   `STILL_ACTIVE`, is gone; a process we may not open (access denied) is
//!   running with an unknown start time, since nothing is reclaimed that
//!   cannot be proved dead. (A process that exits with code 259, the value
//!   of `STILL_ACTIVE`, therefore looks alive until its last handle closes.)
//!   The parent pid comes from a process snapshot
//!   (`CreateToolhelp32Snapshot`); Windows does not re-parent orphans, so a
//!   "parent" created after the child is a reused pid and means the real
//!   parent is gone. (Under Wine, a program started from a Unix shell has
//!   no Windows parent at all, pid 0: [`Owner::Parent`] is then
//!   [`Error::NoSuchProcess`], as for any parent that has exited.) The host
//!   is the computer's DNS host name
//!   (`GetComputerNameExW`), else `COMPUTERNAME`; boot id and pid namespace
//!   are empty for the reason given for macOS.
//! * Other Unix systems record a start time of 0 and use `kill(pid, 0)`.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// A process: pid plus start time, so a reused pid is not taken for the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProcessId {
    /// The process id.
    pub pid: u32,
    /// Start time, 0 where unknown: clock ticks since boot on Linux,
    /// microseconds since the Unix epoch on macOS, 100-ns intervals since
    /// 1601 (a `FILETIME`) on Windows.
    #[cfg_attr(feature = "serde", serde(rename = "pidStart", serialize_with = "crate::serial::start_time"))]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
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
    /// The owner with a pid, looked up now (with its start time).
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

use port4me_process::{status, Status};

/// Whether the owner of an entry is still running, as far as this process
/// can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Liveness {
    /// Running, and (where the system records start times) the very
    /// process that made the entry.
    Alive,
    /// A process with this pid exists, but its start time cannot be read
    /// (another user's process on a `/proc` mounted with `hidepid`, or one
    /// this user may not inspect), so a reused pid cannot be ruled out.
    /// Counts as alive: nothing is reclaimed that cannot be proved dead.
    Unverified,
    /// Recorded on another host, pid namespace or (for this purpose) boot
    /// that this process cannot look into: kept until it expires or is
    /// released.
    Elsewhere,
    /// The machine it was recorded on cannot be matched with this one: this
    /// process cannot read its own boot id or pid namespace, or the entry
    /// was recorded without them. Counts as alive.
    Unknown,
    /// Exited (or the pid now names another process, or the machine
    /// rebooted).
    Gone,
}

impl Liveness {
    /// `alive`, `unverified`, `elsewhere`, `unknown` or `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Alive => "alive",
            Liveness::Unverified => "unverified",
            Liveness::Elsewhere => "elsewhere",
            Liveness::Unknown => "unknown",
            Liveness::Gone => "gone",
        }
    }

    /// Whether the entry is kept (everything but [`Liveness::Gone`]).
    pub fn is_kept(self) -> bool {
        self != Liveness::Gone
    }

    /// For people: `alive`, `alive (unverified)`, `unknown (another host)`,
    /// `unknown (machine unreadable)`, `gone`.
    pub fn describe(self) -> &'static str {
        match self {
            Liveness::Alive => "alive",
            Liveness::Unverified => "alive (unverified)",
            Liveness::Elsewhere => "unknown (another host)",
            Liveness::Unknown => "unknown (machine unreadable)",
            Liveness::Gone => "gone",
        }
    }
}

impl ProcessId {
    /// The calling process. Its start time is read once (per pid: a forked
    /// child reads its own).
    pub fn current() -> Result<ProcessId> {
        use std::sync::Mutex;
        static ME: Mutex<Option<ProcessId>> = Mutex::new(None);
        let pid = std::process::id();
        let mut me = ME.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = me.filter(|p| p.pid == pid && p.start_time != 0) {
            return Ok(known);
        }
        let found = ProcessId::of(pid)?.ok_or(Error::NoSuchProcess { pid })?;
        *me = Some(found);
        Ok(found)
    }

    /// The parent of the calling process.
    #[cfg(unix)]
    pub fn parent() -> Result<ProcessId> {
        // SAFETY: getppid cannot fail.
        let pid = unsafe { libc::getppid() } as u32;
        ProcessId::of(pid)?.ok_or(Error::NoSuchProcess { pid })
    }

    /// The parent of the calling process. [`Error::NoSuchProcess`] when it
    /// has exited (Windows keeps the old parent pid, which may since name
    /// another process: one created after us is not our parent).
    #[cfg(windows)]
    pub fn parent() -> Result<ProcessId> {
        let me = ProcessId::current()?;
        let pid = port4me_process::parent_pid(me.pid)
            .map_err(|cause| Error::Io {
                action: "list processes to find the parent of",
                path: format!("pid {}", me.pid).into(),
                cause,
            })?
            .ok_or(Error::NoSuchProcess { pid: me.pid })?;
        let parent = ProcessId::of(pid)?.ok_or(Error::NoSuchProcess { pid })?;
        if parent.start_time != 0 && me.start_time != 0 && parent.start_time > me.start_time {
            return Err(Error::NoSuchProcess { pid });
        }
        Ok(parent)
    }

    /// The parent of the calling process (unknown here: the process itself).
    #[cfg(not(any(unix, windows)))]
    pub fn parent() -> Result<ProcessId> {
        ProcessId::current()
    }

    /// The process with this pid if it is running, with its start time.
    pub fn of(pid: u32) -> Result<Option<ProcessId>> {
        if pid == 0 {
            return Ok(None);
        }
        match status(pid) {
            Status::Running { start_time } => Ok(Some(ProcessId { pid, start_time })),
            Status::Gone => Ok(None),
            Status::Unverified => Ok(Some(ProcessId { pid, start_time: 0 })),
        }
    }

    /// Whether this very process (same pid and start time) is still running
    /// on this machine. Zombies count as gone; a process whose start time
    /// cannot be read counts as alive ([`Liveness::Unverified`]).
    pub fn is_alive(&self) -> bool {
        self.liveness() != Liveness::Gone
    }

    /// [`ProcessId::is_alive`], telling a verified from an unverified answer.
    pub fn liveness(&self) -> Liveness {
        // What the running operation asked before its transaction, if it did.
        if let Some(known) = crate::owners::remembered(self.pid, self.start_time) {
            return known;
        }
        #[cfg(target_os = "linux")]
        {
            watch::liveness(self.pid, self.start_time)
        }
        #[cfg(not(target_os = "linux"))]
        {
            asking_the_system();
            judge(self.start_time, status(self.pid))
        }
    }
}

thread_local! {
    static LOOKUPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts a liveness question that the system answers (a `/proc` read,
/// `kill`, ...), rather than a watched or remembered owner.
fn asking_the_system() {
    LOOKUPS.with(|n| n.set(n.get() + 1));
}

/// How many liveness questions this thread has put to the system so far:
/// an operation that put none had every owner watched or remembered, so
/// the next one need not ask ahead of its wait (see `Registry::write`).
pub(crate) fn lookups() -> u64 {
    LOOKUPS.with(std::cell::Cell::get)
}

/// Owners already judged, so that each operation does not read
/// `/proc/<pid>/stat` again for every owner in the registry (with 16
/// processes sharing a registry that was most of an operation's CPU time).
///
/// * A process found gone stays gone: the pid and start time name one
///   process, which does not come back.
/// * A process found alive is watched through a pidfd (`pidfd_open`, Linux
///   5.3), which names that very process, however its pid is reused later,
///   and becomes readable when it exits (a zombie included, as in
///   `port4me_process::status`): asking it again is one `poll`, and the answer
///   "exited" is final. The pidfd is opened before the `/proc` read that
///   verifies the start time, and kept only if it has not become readable
///   by the end of that read (then it named the verified process all along).
/// * Anything else (an unknown start time, [`Liveness::Unverified`], no
///   pidfd: an older kernel, a seccomp filter, too many watched) is asked
///   every time, as before.
///
/// At most [`MAX_WATCHED`](watch::MAX_WATCHED) pidfds stay open per
/// process (close-on-exec); a watched process that exits gives its slot back.
#[cfg(target_os = "linux")]
mod watch {
    use std::collections::{HashMap, HashSet};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::{Mutex, MutexGuard};

    use super::{asking_the_system, judge, status, Liveness};

    /// Most pidfds kept open at once.
    pub(super) const MAX_WATCHED: usize = 64;
    /// Most processes remembered as gone (then forgotten all at once).
    const MAX_GONE: usize = 4096;

    #[derive(Default)]
    struct Known {
        watched: HashMap<(u32, u64), OwnedFd>,
        gone: HashSet<(u32, u64)>,
    }

    static KNOWN: Mutex<Option<Known>> = Mutex::new(None);

    fn known() -> MutexGuard<'static, Option<Known>> {
        KNOWN.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn liveness(pid: u32, start_time: u64) -> Liveness {
        if start_time == 0 {
            // Nothing that names one process: ask every time.
            asking_the_system();
            return judge(start_time, status(pid));
        }
        let key = (pid, start_time);
        let room = {
            let mut guard = known();
            let k = guard.get_or_insert_with(Known::default);
            if k.gone.contains(&key) {
                return Liveness::Gone;
            }
            if let Some(fd) = k.watched.get(&key) {
                match exited(fd) {
                    Some(false) => return Liveness::Alive,
                    Some(true) => {
                        k.watched.remove(&key);
                        remember_gone(k, key);
                        return Liveness::Gone;
                    }
                    // The pidfd cannot tell: ask /proc below.
                    None => drop(k.watched.remove(&key)),
                }
            }
            k.watched.len() < MAX_WATCHED
        };
        let fd = if room { pidfd_open(pid) } else { None };
        asking_the_system();
        let l = judge(start_time, status(pid));
        let mut guard = known();
        let k = guard.get_or_insert_with(Known::default);
        match l {
            Liveness::Gone => remember_gone(k, key),
            Liveness::Alive => {
                if let Some(fd) = fd.filter(|fd| exited(fd) == Some(false)) {
                    if k.watched.len() < MAX_WATCHED {
                        k.watched.insert(key, fd);
                    }
                }
            }
            _ => {}
        }
        l
    }

    fn remember_gone(k: &mut Known, key: (u32, u64)) {
        if k.gone.len() >= MAX_GONE {
            k.gone.clear();
        }
        k.gone.insert(key);
    }

    /// A pidfd for `pid` (close-on-exec), `None` when the system gives none.
    fn pidfd_open(pid: u32) -> Option<OwnedFd> {
        let pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 0)?;
        // SAFETY: plain system call; it returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: a descriptor that was just opened and that nothing else owns.
        Some(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Whether the process of `fd` has exited (`None`: the poll failed).
    fn exited(fd: &OwnedFd) -> Option<bool> {
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        match n {
            0 => Some(false),
            1 if p.revents & (libc::POLLERR | libc::POLLNVAL) == 0 => Some(true),
            _ => None,
        }
    }

    /// Whether a pidfd watches this process now (for the tests).
    #[cfg(test)]
    pub(super) fn watching(pid: u32, start_time: u64) -> bool {
        known().as_ref().is_some_and(|k| k.watched.contains_key(&(pid, start_time)))
    }
}

/// The liveness of a process recorded with `recorded` start time, given
/// what the system says now about its pid.
fn judge(recorded: u64, now: Status) -> Liveness {
    match now {
        Status::Running { start_time } if recorded == 0 || start_time == 0 => {
            // Running, but nothing to compare: on systems without start
            // times that is all there is to know.
            if cfg!(any(target_os = "linux", target_os = "macos", windows)) {
                Liveness::Unverified
            } else {
                Liveness::Alive
            }
        }
        Status::Running { start_time } if start_time == recorded => Liveness::Alive,
        Status::Running { .. } => Liveness::Gone,
        Status::Unverified => Liveness::Unverified,
        Status::Gone => Liveness::Gone,
    }
}

#[cfg(windows)]
mod windows {
    /// The computer's DNS host name (not cut to the 15 characters of the
    /// NetBIOS name).
    pub fn host_name() -> Option<String> {
        use windows_sys::Win32::System::SystemInformation::{ComputerNamePhysicalDnsHostname, GetComputerNameExW};
        let mut buf = vec![0u16; 256];
        loop {
            let mut len = u32::try_from(buf.len()).ok()?;
            // SAFETY: `buf` is valid for `len` UTF-16 units; on success `len`
            // is the length without the NUL, on ERROR_MORE_DATA the size needed.
            if unsafe { GetComputerNameExW(ComputerNamePhysicalDnsHostname, buf.as_mut_ptr(), &mut len) } != 0 {
                return String::from_utf16(&buf[..(len as usize).min(buf.len())]).ok().filter(|s| !s.is_empty());
            }
            if len as usize <= buf.len() || len > 1 << 16 {
                return None;
            }
            buf.resize(len as usize, 0);
        }
    }
}

/// The machine an entry was made on (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Machine {
    pub host: String,
    pub boot_id: String,
    pub pid_ns: String,
    /// Whether every part this system has could be read. When not, no owner
    /// on this host can be judged, and nothing is reclaimed but by time.
    pub known: bool,
}

impl Machine {
    pub fn current() -> &'static Machine {
        static M: OnceLock<Machine> = OnceLock::new();
        M.get_or_init(|| {
            Machine::from_reads(
                hostname(),
                std::fs::read_to_string("/proc/sys/kernel/random/boot_id"),
                std::fs::read_link("/proc/self/ns/pid").map(|p| p.to_string_lossy().into_owned()),
            )
        })
    }

    /// The machine from what reading its boot id and pid namespace gave.
    /// Only Linux has them; elsewhere both are empty and the machine is known.
    pub(crate) fn from_reads(
        host: String,
        boot_id: std::io::Result<String>,
        pid_ns: std::io::Result<String>,
    ) -> Machine {
        if !HAS_MACHINE_IDS {
            return Machine { host, boot_id: String::new(), pid_ns: String::new(), known: true };
        }
        let boot_id = boot_id.map(|s| s.trim().to_string()).unwrap_or_default();
        let pid_ns = pid_ns.unwrap_or_default();
        let known = !boot_id.is_empty() && !pid_ns.is_empty();
        Machine { host, boot_id, pid_ns, known }
    }
}

/// Whether this system records a boot id and a pid namespace with each owner.
const HAS_MACHINE_IDS: bool = cfg!(any(target_os = "linux", target_os = "android"));

fn hostname() -> String {
    #[cfg(windows)]
    if let Some(name) = windows::host_name() {
        return name;
    }
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
    /// Effective uid; on Windows the RID of the account's SID (see
    /// [`port4me::env::account_uid`]), `u32::MAX` if the token cannot be read.
    pub uid: u32,
    /// Account name (the uid in decimal when the system has none).
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
            let uid = port4me::env::account_uid().unwrap_or(u32::MAX);
            let name = port4me::env::effective_user_name().unwrap_or_else(|| uid.to_string());
            User { uid, name }
        }
    }
}

/// How the registry judges an owner recorded on some machine.
pub(crate) fn owner_liveness(host: &str, pid_ns: &str, boot_id: &str, pid: u32, start_time: u64) -> Liveness {
    judge_owner(Machine::current(), host, pid_ns, boot_id, || ProcessId { pid, start_time }.liveness())
}

/// The decision of [`owner_liveness`], as seen from the machine `me`.
fn judge_owner(me: &Machine, host: &str, pid_ns: &str, boot_id: &str, process: impl FnOnce() -> Liveness) -> Liveness {
    if host != me.host {
        return Liveness::Elsewhere;
    }
    // Without both ids on either side, a reboot, another namespace and a
    // reused pid cannot be told apart from the owner itself.
    if !me.known || (HAS_MACHINE_IDS && (pid_ns.is_empty() || boot_id.is_empty())) {
        return Liveness::Unknown;
    }
    if pid_ns != me.pid_ns {
        return Liveness::Elsewhere;
    }
    if boot_id != me.boot_id {
        return Liveness::Gone;
    }
    process()
}

/// [`owner_liveness`] is [`Liveness::Gone`]: the only case in which an
/// entry is reclaimed.
pub(crate) fn owner_is_gone(host: &str, pid_ns: &str, boot_id: &str, pid: u32, start_time: u64) -> bool {
    owner_liveness(host, pid_ns, boot_id, pid, start_time) == Liveness::Gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
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

    /// systemd's `ProcSubset=pid` hides the boot id: then no owner on this
    /// host can be judged, and none is reclaimed, not even one recorded
    /// "in an earlier boot" or with a pid that is gone.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn an_unreadable_machine_identity_means_unknown_not_gone() {
        use std::io::{Error as IoError, ErrorKind};
        let ok = |s: &str| Ok(s.to_string());
        let denied = || Err(IoError::from(ErrorKind::PermissionDenied));
        let known = Machine::from_reads("h".into(), ok("boot-1\n"), ok("pid:[1]"));
        assert!(known.known);
        assert_eq!(known.boot_id, "boot-1");
        let no_boot = Machine::from_reads("h".into(), denied(), ok("pid:[1]"));
        let no_ns = Machine::from_reads("h".into(), ok("boot-1"), denied());
        assert!(!no_boot.known && !no_ns.known);
        let gone = || Liveness::Gone;
        for me in [&no_boot, &no_ns] {
            for (ns, boot) in [("pid:[1]", "boot-1"), ("pid:[1]", "boot-0"), ("pid:[1]", ""), ("", "")] {
                assert_eq!(judge_owner(me, "h", ns, boot, gone), Liveness::Unknown, "{me:?} {ns} {boot}");
            }
            assert_eq!(judge_owner(me, "other", "pid:[1]", "boot-1", gone), Liveness::Elsewhere);
        }
        // A known machine judges an entry recorded without ids as unknown too.
        assert_eq!(judge_owner(&known, "h", "pid:[1]", "", gone), Liveness::Unknown);
        assert_eq!(judge_owner(&known, "h", "", "boot-1", gone), Liveness::Unknown);
        // And decides as before when everything is known.
        assert_eq!(judge_owner(&known, "h", "pid:[1]", "boot-0", || Liveness::Alive), Liveness::Gone);
        assert_eq!(judge_owner(&known, "h", "pid:[2]", "boot-1", gone), Liveness::Elsewhere);
        assert_eq!(judge_owner(&known, "h", "pid:[1]", "boot-1", gone), Liveness::Gone);
        assert_eq!(judge_owner(&known, "h", "pid:[1]", "boot-1", || Liveness::Alive), Liveness::Alive);
        assert!(Liveness::Unknown.is_kept());
    }

    /// How an entry recorded with start time 4242 is judged from what the
    /// system says now (the system's side is tested in port4me-process).
    #[test]
    fn an_unreadable_start_time_means_alive_not_gone() {
        // And how an entry recorded with start time 4242 is judged.
        assert_eq!(judge(4242, Status::Unverified), Liveness::Unverified);
        assert!(judge(4242, Status::Unverified).is_kept());
        assert_eq!(judge(4242, Status::Running { start_time: 4242 }), Liveness::Alive);
        assert_eq!(judge(4242, Status::Running { start_time: 4243 }), Liveness::Gone);
        assert_eq!(judge(0, Status::Running { start_time: 4243 }), Liveness::Unverified);
        assert_eq!(judge(4242, Status::Gone), Liveness::Gone);
    }

    #[test]
    fn user_has_a_name() {
        assert!(!User::current().name.is_empty());
    }

    #[cfg(any(unix, windows))]
    #[test]
    fn user_uid_is_the_account_uid() {
        let me = User::current();
        assert_eq!(Some(me.uid), port4me::env::account_uid());
        assert_ne!(me.uid, u32::MAX);
        #[cfg(windows)]
        assert_eq!(Some(me.name), port4me::env::effective_user_name());
    }

    #[test]
    fn machine_has_a_host_name() {
        assert!(!Machine::current().host.is_empty());
    }

    /// Selects what [`helper_process`] does when this test binary runs it.
    const HELPER: &str = "PORT4ME_REGISTRY_PROCESS_TEST_HELPER";

    /// Not a test of its own: the child process of the tests below (this
    /// test binary, started again to run only this function).
    #[test]
    #[ignore = "helper process started by other tests"]
    fn helper_process() {
        match std::env::var(HELPER).as_deref() {
            Ok("parent") => match ProcessId::parent() {
                Ok(p) => println!("PARENT {} {}", p.pid, p.start_time),
                Err(e) => println!("PARENT error {e}"),
            },
            Ok("wait") => {
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
            }
            _ => {}
        }
    }

    fn spawn_helper(mode: &str) -> std::process::Child {
        use std::process::{Command, Stdio};
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "process::tests::helper_process", "--ignored", "--nocapture", "--test-threads=1", "-q"])
            .env(HELPER, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start this test binary again")
    }

    #[cfg(any(unix, windows))]
    #[test]
    fn parent_is_the_real_parent() {
        let out = spawn_helper("parent").wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find_map(|l| l.strip_prefix("PARENT ")).unwrap_or_else(|| panic!("{text}"));
        let me = ProcessId::current().unwrap();
        assert_eq!(line, format!("{} {}", me.pid, me.start_time), "{text}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_watched_owner_is_gone_once_it_exits_even_unreaped() {
        let mut child = spawn_helper("wait");
        let running = ProcessId::of(child.id()).unwrap().expect("the child runs until its stdin closes");
        assert_eq!(running.liveness(), Liveness::Alive);
        assert!(watch::watching(running.pid, running.start_time), "an owner found alive is watched");
        assert_eq!(running.liveness(), Liveness::Alive, "and still alive when asked through the pidfd");
        let impostor = ProcessId { start_time: running.start_time + 1, ..running };
        assert_eq!(impostor.liveness(), Liveness::Gone, "the pidfd answers for the start time it verified only");
        assert!(!watch::watching(impostor.pid, impostor.start_time));
        // Exited but not reaped (a zombie): gone, as /proc says.
        drop(child.stdin.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while running.liveness() != Liveness::Gone {
            assert!(std::time::Instant::now() < deadline, "still alive 10 s after its stdin closed");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!watch::watching(running.pid, running.start_time), "the slot is given back");
        assert_eq!(judge(running.start_time, status(running.pid)), Liveness::Gone, "/proc agrees (a zombie)");
        assert!(child.wait().unwrap().success());
        assert_eq!(running.liveness(), Liveness::Gone, "and stays gone once reaped");
    }

    #[test]
    fn the_current_process_keeps_its_identity_when_asked_again() {
        let me = ProcessId::current().unwrap();
        assert_eq!(ProcessId::current().unwrap(), me);
        assert_eq!(ProcessId::of(me.pid).unwrap(), Some(me), "the same start time as a fresh look");
    }

    #[cfg(any(unix, windows))]
    #[test]
    fn a_child_that_exited_is_gone() {
        let mut child = spawn_helper("wait");
        let pid = child.id();
        let running = ProcessId::of(pid).unwrap().expect("the child runs until its stdin closes");
        if cfg!(any(target_os = "linux", target_os = "macos", windows)) {
            assert_ne!(running.start_time, 0);
        }
        assert!(running.is_alive());
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        // Reaped on Unix; on Windows our handle still keeps the process
        // object, which now has an exit code.
        assert!(!running.is_alive());
        drop(child);
        assert!(!running.is_alive());
        assert!(!owner_is_gone("another-host", "", "", running.pid, running.start_time));
        let me = Machine::current();
        assert!(owner_is_gone(&me.host, &me.pid_ns, &me.boot_id, running.pid, running.start_time));
    }
}
