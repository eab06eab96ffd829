//! Windows: `OpenProcess` with the least right that reads times and names
//! (`PROCESS_QUERY_LIMITED_INFORMATION`), the token's user, the image path,
//! the command line (`NtQueryInformationProcess`), and a process snapshot
//! for what can be learned without opening a process.

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use windows_sys::Wdk::System::Threading::{NtQueryInformationProcess, ProcessCommandLineInformation};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_ACCESS_DENIED, ERROR_INVALID_PARAMETER, FILETIME, HANDLE, INVALID_HANDLE_VALUE, STILL_ACTIVE,
    UNICODE_STRING,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Process32FirstW, Process32NextW, PROCESSENTRY32W, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::RemoteDesktop::ProcessIdToSessionId;
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, GetProcessTimes, OpenProcess, QueryFullProcessImageNameW, TerminateProcess, PROCESS_NAME_WIN32,
    PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE,
};

use crate::{Process, Status};

/// Why a process could not be opened.
enum Open {
    Handle(OwnedHandle),
    Gone,
    Denied,
}

fn open(pid: u32, access: u32) -> Open {
    // SAFETY: plain call; a null handle reports failure.
    let raw = unsafe { OpenProcess(access, 0, pid) };
    if raw.is_null() {
        // SAFETY: no preconditions.
        return match unsafe { GetLastError() } {
            // No process has this pid (any more).
            ERROR_INVALID_PARAMETER => Open::Gone,
            // It exists, but belongs to someone we may not inspect.
            ERROR_ACCESS_DENIED => Open::Denied,
            _ => Open::Denied,
        };
    }
    // SAFETY: a process handle we own; OwnedHandle closes it.
    Open::Handle(unsafe { OwnedHandle::from_raw_handle(raw) })
}

/// Still running (no exit code yet) with its creation time; `None` when it
/// has exited, `Some(0)` when the times cannot be read.
fn running_since(h: HANDLE) -> Option<u64> {
    let mut code = 0u32;
    // SAFETY: valid handle and out pointer.
    if unsafe { GetExitCodeProcess(h, &mut code) } != 0 && code != STILL_ACTIVE as u32 {
        return None;
    }
    let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: valid handle and out pointers.
    if unsafe { GetProcessTimes(h, &mut created, &mut exited, &mut kernel, &mut user) } == 0 {
        return Some(0);
    }
    Some(u64::from(created.dwHighDateTime) << 32 | u64::from(created.dwLowDateTime))
}

pub(crate) fn status(pid: u32) -> Status {
    match open(pid, PROCESS_QUERY_LIMITED_INFORMATION) {
        Open::Gone => Status::Gone,
        Open::Denied => Status::Unverified,
        Open::Handle(h) => match running_since(h.as_raw_handle()) {
            None => Status::Gone,
            Some(0) => Status::Unverified,
            Some(start_time) => Status::Running { start_time },
        },
    }
}

/// Every process in a snapshot: pid, parent pid and image name.
fn snapshot() -> std::io::Result<Vec<(u32, u32, String)>> {
    // SAFETY: plain call; INVALID_HANDLE_VALUE reports failure.
    let raw = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
    if raw == INVALID_HANDLE_VALUE || raw.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a snapshot handle we own; OwnedHandle closes it.
    let snapshot = unsafe { OwnedHandle::from_raw_handle(raw) };
    let h = snapshot.as_raw_handle();
    // SAFETY: PROCESSENTRY32W is plain data; all zeros is a valid value.
    let mut entry: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
    let mut out = Vec::new();
    // SAFETY: valid snapshot handle and entry with its size set.
    let mut more = unsafe { Process32FirstW(h, &mut entry) } != 0;
    while more {
        let name = &entry.szExeFile;
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        out.push((entry.th32ProcessID, entry.th32ParentProcessID, String::from_utf16_lossy(&name[..end])));
        // SAFETY: as above.
        more = unsafe { Process32NextW(h, &mut entry) } != 0;
    }
    Ok(out)
}

pub(crate) fn parent_pid(pid: u32) -> std::io::Result<Option<u32>> {
    Ok(snapshot()?.into_iter().find(|e| e.0 == pid).map(|e| e.1))
}

/// The session of `pid`: 0 for services and the system's own processes.
fn session(pid: u32) -> Option<u32> {
    let mut s = 0u32;
    // SAFETY: plain call with a valid out pointer.
    (unsafe { ProcessIdToSessionId(pid, &mut s) } != 0).then_some(s)
}

fn image_path(h: HANDLE) -> Option<String> {
    let mut buf = vec![0u16; 1024];
    loop {
        let mut len = u32::try_from(buf.len()).ok()?;
        // SAFETY: `buf` is valid for `len` UTF-16 units; on success `len`
        // is the length written, without the NUL.
        if unsafe { QueryFullProcessImageNameW(h, PROCESS_NAME_WIN32, buf.as_mut_ptr(), &mut len) } != 0 {
            return Some(String::from_utf16_lossy(&buf[..(len as usize).min(buf.len())]));
        }
        if buf.len() >= 1 << 15 {
            return None;
        }
        buf.resize(buf.len() * 4, 0);
    }
}

fn command_line(h: HANDLE) -> Option<String> {
    let mut len = 0u32;
    // SAFETY: a null buffer of length 0 only asks for the size needed.
    unsafe { NtQueryInformationProcess(h, ProcessCommandLineInformation, std::ptr::null_mut(), 0, &mut len) };
    if len == 0 || len > 1 << 20 {
        return None;
    }
    // UNICODE_STRING holds a pointer: a buffer aligned for it.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    let size = u32::try_from(buf.len() * 8).ok()?;
    // SAFETY: `buf` is valid and aligned for `size` bytes.
    let status =
        unsafe { NtQueryInformationProcess(h, ProcessCommandLineInformation, buf.as_mut_ptr().cast(), size, &mut len) };
    if status < 0 {
        return None;
    }
    // SAFETY: on success the buffer starts with a UNICODE_STRING whose text
    // lies in the same buffer, which outlives this read.
    unsafe {
        let s = &*buf.as_ptr().cast::<UNICODE_STRING>();
        if s.Buffer.is_null() {
            return None;
        }
        let units = std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2);
        Some(String::from_utf16_lossy(units))
    }
}

/// Splits a Windows command line as the C runtime does for `argv`:
/// spaces separate, double quotes group, backslashes escape only quotes.
pub(crate) fn split_command_line(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut n = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    n += 1;
                }
                if chars.peek() == Some(&'"') {
                    cur.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        chars.next();
                        cur.push('"');
                    }
                } else {
                    cur.extend(std::iter::repeat_n('\\', n));
                }
                any = true;
            }
            '"' => {
                if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = !quoted;
                }
                any = true;
            }
            ' ' | '\t' if !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

pub(crate) fn lookup(pid: u32) -> Option<Process> {
    // Session 0 holds the services; a caller that runs there itself (an SSH
    // session, a CI runner) tells its own processes apart by user alone.
    let service = session(pid) == Some(0) && session(std::process::id()) != Some(0);
    let h = match open(pid, PROCESS_QUERY_LIMITED_INFORMATION) {
        Open::Gone if pid != 0 => return None,
        Open::Handle(h) if pid != 0 && pid != 4 => h,
        // What the snapshot tells without opening it: the image name.
        _ => {
            let name = snapshot().ok()?.into_iter().find(|e| e.0 == pid)?.2;
            return Some(Process { pid, name, service: service || pid <= 4, ..Process::default() });
        }
    };
    let h = h.as_raw_handle();
    let start_time = running_since(h)?;
    let executable = image_path(h);
    let name = executable.as_deref().and_then(|p| p.rsplit(['\\', '/']).next()).map(str::to_string).unwrap_or_default();
    // A RID names an account only within its domain: one that matches the
    // caller's while the SID does not is another account's, and unknown.
    static ME: std::sync::OnceLock<Option<port4me::env::Account>> = std::sync::OnceLock::new();
    let me = ME.get_or_init(|| port4me::env::process_account(None));
    let (uid, user) = match port4me::env::process_account(Some(h)) {
        Some(a) if me.as_ref().is_some_and(|m| m.rid == a.rid && m.sid != a.sid) => (None, a.name),
        Some(a) => (Some(a.rid), a.name.or_else(|| Some(crate::name_of(a.rid)))),
        None => (None, None),
    };
    Some(Process {
        pid,
        name,
        cmdline: command_line(h).map(|l| split_command_line(&l)).unwrap_or_default(),
        executable,
        start_time,
        uid,
        ruid: uid,
        user,
        inspectable: true,
        service,
    })
}

pub(crate) fn terminate(pid: u32, start_time: u64) -> std::io::Result<bool> {
    let h = match open(pid, PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION) {
        Open::Handle(h) => h,
        Open::Gone => return Ok(false),
        Open::Denied => return Err(std::io::Error::from_raw_os_error(ERROR_ACCESS_DENIED as i32)),
    };
    // The handle names one process: if it started when the target did, it
    // is the target, however the pid is reused meanwhile.
    if running_since(h.as_raw_handle()) != Some(start_time) {
        return Ok(false);
    }
    // SAFETY: a valid process handle opened with PROCESS_TERMINATE.
    if unsafe { TerminateProcess(h.as_raw_handle(), 1) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_as_the_c_runtime_does() {
        let a = split_command_line(r#""C:\Program Files\nodejs\node.exe" vite.js --port 5173"#);
        assert_eq!(a, [r"C:\Program Files\nodejs\node.exe", "vite.js", "--port", "5173"]);
        assert_eq!(split_command_line(r#"a\\\"b "c d"  "" e\\f"#), [r#"a\"b"#, "c d", "", r"e\\f"]);
    }

    #[test]
    fn system_and_idle_are_described_not_opened() {
        let system = lookup(4);
        if let Some(p) = system {
            assert!(!p.inspectable && p.service, "{p:?}");
        }
    }
}
