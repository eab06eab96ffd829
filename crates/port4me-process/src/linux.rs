//! Linux: `/proc`. The liveness check reads `/proc/<pid>/stat` itself; the
//! description goes through the `procfs` crate.

use procfs::process::Process as Proc;

use crate::stat::linux_status;
use crate::{kill_zero, name_of, Process, Status};

pub(crate) fn status(pid: u32) -> Status {
    linux_status(std::fs::read_to_string(format!("/proc/{pid}/stat")), || kill_zero(pid))
}

pub(crate) fn lookup(pid: u32) -> Option<Process> {
    let proc = Proc::new(i32::try_from(pid).ok()?).ok()?;
    let stat = proc.stat().ok()?;
    if matches!(stat.state, 'Z' | 'X' | 'x') {
        return None;
    }
    let (uid, ruid) = match proc.status() {
        Ok(s) => (Some(s.euid), Some(s.ruid)),
        Err(_) => (proc.uid().ok(), None),
    };
    Some(Process {
        pid,
        name: stat.comm,
        cmdline: proc.cmdline().unwrap_or_default(),
        // Another user's executable link is unreadable without privileges.
        executable: proc.exe().ok().map(|p| p.to_string_lossy().into_owned()),
        start_time: stat.starttime,
        uid,
        ruid,
        user: uid.map(name_of),
        inspectable: true,
        service: false,
    })
}
