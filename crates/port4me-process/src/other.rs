//! Other systems: existence through `kill(pid, 0)` on Unix; no start times
//! and no descriptions.

use crate::{Process, Status};

pub(crate) fn status(pid: u32) -> Status {
    #[cfg(unix)]
    return crate::kill_zero(pid);
    #[cfg(not(unix))]
    {
        let _ = pid;
        Status::Unverified
    }
}

pub(crate) fn lookup(_pid: u32) -> Option<Process> {
    None
}
