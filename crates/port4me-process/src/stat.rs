//! `/proc/<pid>/stat`, read by hand: it is the one file the liveness check
//! needs, and one read and a split is all it costs (this runs for every
//! owner of a registry entry).

use crate::Status;

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

/// The Linux decision: `/proc/<pid>/stat` when it can be read; otherwise
/// (missing under `hidepid=2`, unreadable under `hidepid=1`, or no `/proc`
/// at all) `kill(pid, 0)` decides whether the process exists, and its start
/// time stays unknown.
pub(crate) fn linux_status(stat: std::io::Result<String>, kill_zero: impl FnOnce() -> Status) -> Status {
    match stat {
        Ok(text) => match parse_stat(&text) {
            Some((state, _)) if state == 'Z' || state == 'X' || state == 'x' => Status::Gone,
            Some((_, start_time)) => Status::Running { start_time },
            None => match kill_zero() {
                Status::Gone => Status::Gone,
                _ => Status::Unverified,
            },
        },
        // ESRCH while reading a process that just exited: gone for sure.
        Err(e) if e.raw_os_error() == Some(3) => Status::Gone,
        // Missing (exited, or hidden by hidepid=2) or unreadable (hidepid=1):
        // ask the kernel whether the pid exists.
        Err(_) => match kill_zero() {
            Status::Gone => Status::Gone,
            _ => Status::Unverified,
        },
    }
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

    #[test]
    fn an_unreadable_start_time_means_unverified_not_gone() {
        use std::io::{Error as IoError, ErrorKind};
        let line = "77 (vite) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 100 1";
        let gone = || Status::Gone;
        let eperm = || Status::Running { start_time: 0 };
        let hidden = || IoError::from(ErrorKind::NotFound);
        // Readable: the start time decides, and kill is not even asked.
        let never = || -> Status { panic!("kill(pid, 0) asked although /proc answered") };
        assert_eq!(linux_status(Ok(line.into()), never), Status::Running { start_time: 4242 });
        assert_eq!(linux_status(Ok(line.replace(" S ", " Z ")), never), Status::Gone);
        assert_eq!(linux_status(Err(IoError::from_raw_os_error(3)), never), Status::Gone);
        // hidepid=2: /proc/<pid> is missing, kill says EPERM -> unverified.
        assert_eq!(linux_status(Err(hidden()), eperm), Status::Unverified);
        // hidepid=1: /proc/<pid>/stat is unreadable.
        assert_eq!(linux_status(Err(IoError::from(ErrorKind::PermissionDenied)), eperm), Status::Unverified);
        // Missing and kill says ESRCH: gone.
        assert_eq!(linux_status(Err(hidden()), gone), Status::Gone);
        // A stat line that cannot be parsed proves nothing either.
        assert_eq!(linux_status(Ok("garbage".into()), eperm), Status::Unverified);
        assert_eq!(linux_status(Ok("garbage".into()), gone), Status::Gone);
    }
}
