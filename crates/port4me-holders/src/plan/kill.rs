//! The kill strategy: signal a port's holders, only when every one of them
//! is a process of the current user (checked again right before each
//! signal), SIGTERM first and SIGKILL only when forced, then wait for the
//! port.

use std::time::{Duration, Instant};

use super::{KillReport, PlanOptions, Signal, SignalSent};
use crate::model::{escape_text, Holder, ProcessAccess, ProcessInfo};
use crate::users::{current_uid, user_name};

/// How long to wait for a port after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often to look while waiting.
const POLL: Duration = Duration::from_millis(25);

/// The kill strategy for one port: checks every holder, signals only when
/// all of them are the current user's processes.
pub(super) fn kill_holders(
    port: u16,
    holders: &[Holder],
    opts: &PlanOptions,
    probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>,
) -> KillReport {
    let mut report = KillReport::default();
    let me = current_uid();
    let refuse = |mut report: KillReport, why: String| {
        report.refused = Some(why);
        report
    };

    if holders.is_empty() {
        return refuse(report, "this system cannot tell what holds the port".to_string());
    }
    // Every socket must be attributable to visible processes.
    for h in holders {
        match h.access {
            ProcessAccess::Visible | ProcessAccess::NoProcess => {}
            ProcessAccess::Hidden | ProcessAccess::NotFound | ProcessAccess::Unreported => {
                return refuse(
                    report,
                    format!("not stopping anything: a {} socket is held by {}", h.state, h.describe()),
                );
            }
        }
    }
    let mut targets: Vec<ProcessInfo> = Vec::new();
    for p in holders.iter().flat_map(|h| &h.processes) {
        if !targets.iter().any(|t| t.pid == p.pid) {
            targets.push(p.clone());
        }
    }
    targets.sort_by_key(|t| t.pid);
    report.targets = targets.clone();
    if targets.is_empty() {
        return refuse(
            report,
            "no process holds the port: only closed connections in TIME_WAIT, which the kernel releases within a minute"
                .to_string(),
        );
    }
    // Every target must be ours, and not this process or init.
    let mut identities = Vec::new();
    for t in &targets {
        // The name is the process's own choice, the owner's name another
        // user's: both escaped in the message.
        let name = escape_text(&t.name);
        if t.pid == std::process::id() {
            return refuse(report, format!("pid {} ({name}) is this very process", t.pid));
        }
        if cfg!(windows) && t.pid <= 4 {
            return refuse(report, format!("pid {} ({name}) is the system's own process", t.pid));
        }
        if t.pid <= 1 {
            return refuse(report, format!("pid {} ({name}) is the init process", t.pid));
        }
        let Some(found) = port4me_process::lookup(t.pid) else {
            continue; // gone already
        };
        if let Some(why) = untouchable(&found) {
            return refuse(report, format!("pid {} ({name}) {why}: only your own processes are stopped", t.pid));
        }
        let (start, ruid, euid) = identity(&found);
        if ruid != me || euid != me {
            let owner = user_name(if euid != me { euid } else { ruid });
            return refuse(
                report,
                format!(
                    "pid {} ({name}) belongs to {}, not to {}: only your own processes are stopped",
                    t.pid,
                    escape_text(&owner),
                    escape_text(&user_name(me))
                ),
            );
        }
        identities.push((t.pid, start));
    }

    let is_free =
        |probe: &mut dyn FnMut(u16) -> std::result::Result<bool, port4me::Error>| probe(port).unwrap_or(false);
    let mut failures = Vec::new();
    let first = if cfg!(windows) { Signal::Terminate } else { Signal::Term };
    send_all(&identities, first, me, &mut report, &mut failures);
    report.freed = wait_free(opts.grace, &mut || is_free(probe));
    if !report.freed && opts.force && first == Signal::Term {
        send_all(&identities, Signal::Kill, me, &mut report, &mut failures);
        report.freed = wait_free(KILL_WAIT, &mut || is_free(probe));
    }
    if !report.freed {
        failures.push(if first == Signal::Terminate {
            format!("the port was still taken {} ms after TerminateProcess", opts.grace.as_millis())
        } else if opts.force {
            "the port was still taken after SIGTERM and SIGKILL".to_string()
        } else {
            format!(
                "the port was still taken {} ms after SIGTERM (SIGKILL is only sent with force)",
                opts.grace.as_millis()
            )
        });
    }
    if !failures.is_empty() {
        report.refused = Some(failures.join("; "));
    }
    report
}

/// Sends `signal` to every process still alive with the same identity.
fn send_all(identities: &[(u32, u64)], signal: Signal, me: u32, report: &mut KillReport, failures: &mut Vec<String>) {
    for &(pid, start) in identities {
        // Re-check right before signalling: same process, still ours.
        match port4me_process::lookup(pid) {
            Some(p) if untouchable(&p).is_none() && identity(&p) == (start, me, me) => {}
            _ => continue, // exited, or the pid now names another process
        }
        match send_signal(pid, start, signal) {
            Ok(()) => report.signals.push(SignalSent { pid, signal }),
            Err(e) => failures.push(format!("{} to pid {pid} failed: {e}", signal.as_str())),
        }
    }
}

/// Why a process may never be stopped, whoever owns it: one that cannot
/// be opened, or (on Windows) a service.
fn untouchable(p: &port4me_process::Process) -> Option<&'static str> {
    if !p.inspectable {
        Some("cannot be opened by this user")
    } else if p.service {
        Some("is a service")
    } else {
        None
    }
}

/// Start time, real and effective uid (unknown uids never match).
fn identity(p: &port4me_process::Process) -> (u64, u32, u32) {
    (p.start_time, p.ruid.unwrap_or(u32::MAX), p.uid.unwrap_or(u32::MAX))
}

#[cfg(unix)]
fn send_signal(pid: u32, _start: u64, signal: Signal) -> std::io::Result<()> {
    let sig = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Kill | Signal::Terminate => libc::SIGKILL,
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: kill has no memory-safety preconditions; pid is positive.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            Ok(()) // already gone
        } else {
            Err(e)
        }
    }
}

/// Windows: `TerminateProcess` for either signal, on a handle checked to
/// be the process that started at `start` (see `port4me_process::terminate`
/// for why there is no polite request first).
#[cfg(windows)]
fn send_signal(pid: u32, start: u64, _signal: Signal) -> std::io::Result<()> {
    port4me_process::terminate(pid, start).map(|_| ())
}

#[cfg(not(any(unix, windows)))]
fn send_signal(_pid: u32, _start: u64, _signal: Signal) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Polls `free` until it says yes or `limit` passes.
fn wait_free(limit: Duration, free: &mut dyn FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if free() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener on `addr` held by one process, `pid` named `name`.
    fn held(addr: &str, access: ProcessAccess, pid: u32, name: &str) -> Holder {
        let process = ProcessInfo {
            pid,
            name: name.into(),
            cmdline: Vec::new(),
            uid: None,
            user: None,
            executable: None,
            start_time: None,
        };
        Holder {
            protocol: port4me::Protocol::Tcp,
            state: crate::SocketState::Listen,
            local_address: addr.parse().unwrap(),
            remote_address: None,
            inode: 1,
            uid: None,
            user: None,
            access,
            processes: vec![process],
            description: String::new(),
        }
    }

    /// The refusals name the process by its name, which the process chose:
    /// escaped, so that a name such as `ESC ] 0;PWN BEL` cannot act on the
    /// terminal that shows the message (`plan` in the CLI, the Node API).
    #[test]
    fn refusals_escape_the_process_name() {
        let hostile = "\u{1b}]0;PWN\u{7}\u{1b}[2J";
        let holder = held("127.0.0.1:1", ProcessAccess::Visible, std::process::id(), hostile);
        let me = holder.processes[0].clone();
        let init = Holder { processes: vec![ProcessInfo { pid: 1, ..me }], ..holder.clone() };
        let init_says = if cfg!(windows) { "is the system's own process" } else { "is the init process" };
        for (h, says) in [(holder, "is this very process"), (init, init_says)] {
            let report = kill_holders(1, &[h], &PlanOptions::default(), &mut |_| Ok(false));
            let why = report.refused.expect("refused");
            assert!(report.signals.is_empty(), "{why}");
            assert!(why.contains("(\\x1b]0;PWN\\x07\\x1b[2J)") && why.contains(says), "{why}");
            assert!(!why.chars().any(char::is_control), "{why:?}");
        }
    }

    /// What Windows names but will not open (System, pid 4; a service;
    /// another user's process) and a socket whose owner the system does not
    /// report (pid 0, as under Wine) are never stopped.
    #[test]
    fn unopenable_and_unreported_owners_are_refused() {
        let base = held("0.0.0.0:445", ProcessAccess::Hidden, 4, "System");
        let unreported = Holder { access: ProcessAccess::Unreported, processes: Vec::new(), ..base.clone() };
        for (h, says) in
            [(base, "System (pid 4), which you may not inspect"), (unreported, "not reported by the system")]
        {
            let report = kill_holders(445, &[h], &PlanOptions::default(), &mut |_| panic!("nothing is stopped"));
            let why = report.refused.expect("refused");
            assert!(report.signals.is_empty() && why.contains(says), "{why}");
        }
    }
}
