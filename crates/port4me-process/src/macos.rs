//! macOS: libproc (`proc_pidinfo`, `proc_pidpath`) and the
//! `KERN_PROCARGS2` sysctl for the command line.

use std::mem::{size_of, MaybeUninit};

use crate::procargs::parse_procargs2;
use crate::{kill_zero, name_of, Process, Status};

fn bsd_info(pid: u32) -> Result<libc::proc_bsdinfo, std::io::Error> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
    let mut info = MaybeUninit::<libc::proc_bsdinfo>::zeroed();
    let size = size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: the buffer is valid for `size` bytes; the call writes at most
    // that many and returns how many it wrote.
    let n = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, info.as_mut_ptr().cast(), size) };
    if n == size {
        // SAFETY: fully written by the call (and zeroed before).
        Ok(unsafe { info.assume_init() })
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn start_time(info: &libc::proc_bsdinfo) -> u64 {
    info.pbi_start_tvsec.saturating_mul(1_000_000).saturating_add(info.pbi_start_tvusec)
}

pub(crate) fn status(pid: u32) -> Status {
    match bsd_info(pid) {
        Ok(info) if info.pbi_status == libc::SZOMB => Status::Gone,
        Ok(info) => Status::Running { start_time: start_time(&info) },
        // Refused: kill(pid, 0) decides, and the start time is unknown.
        Err(_) => kill_zero(pid),
    }
}

fn c_text(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn path_of(pid: libc::c_int) -> Option<String> {
    let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    let n = usize::try_from(n).ok().filter(|&n| n > 0)?;
    Some(String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned())
}

fn name_only(pid: libc::c_int) -> String {
    let mut buf = [0u8; 2 * libc::MAXCOMLEN + 1];
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::proc_name(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn arguments(pid: libc::c_int) -> Vec<String> {
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
    let mut size: libc::size_t = 0;
    // SAFETY: a null buffer asks for the size only.
    if unsafe { libc::sysctl(mib.as_mut_ptr(), 3, std::ptr::null_mut(), &mut size, std::ptr::null_mut(), 0) } != 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; size];
    // SAFETY: the buffer is valid for `size` bytes, which the call updates.
    if unsafe { libc::sysctl(mib.as_mut_ptr(), 3, buf.as_mut_ptr().cast(), &mut size, std::ptr::null_mut(), 0) } != 0 {
        return Vec::new();
    }
    buf.truncate(size);
    parse_procargs2(&buf).unwrap_or_default()
}

pub(crate) fn lookup(pid: u32) -> Option<Process> {
    let c_pid = libc::pid_t::try_from(pid).ok()?;
    match bsd_info(pid) {
        Ok(info) if info.pbi_status == libc::SZOMB => None,
        Ok(info) => {
            let name = match c_text(&info.pbi_name) {
                n if n.is_empty() => c_text(&info.pbi_comm),
                n => n,
            };
            Some(Process {
                pid,
                name,
                cmdline: arguments(c_pid),
                executable: path_of(c_pid),
                start_time: start_time(&info),
                uid: Some(info.pbi_uid),
                ruid: Some(info.pbi_ruid),
                user: Some(name_of(info.pbi_uid)),
                inspectable: true,
                service: false,
            })
        }
        Err(_) => match kill_zero(pid) {
            Status::Gone => None,
            _ => Some(Process { pid, name: name_only(c_pid), executable: path_of(c_pid), ..Process::default() }),
        },
    }
}
