//! User ids and names.

use std::collections::HashMap;
use std::sync::Mutex;

/// The effective user id of this process.
#[cfg(unix)]
pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The effective user id of this process (none on this system).
#[cfg(not(unix))]
pub fn current_uid() -> u32 {
    u32::MAX
}

static CACHE: Mutex<Option<HashMap<u32, String>>> = Mutex::new(None);

/// The account name of `uid`, or the number as text when it has no name.
pub fn user_name(uid: u32) -> String {
    if let Ok(mut guard) = CACHE.lock() {
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(n) = map.get(&uid) {
            return n.clone();
        }
        let n = lookup(uid).unwrap_or_else(|| uid.to_string());
        map.insert(uid, n.clone());
        return n;
    }
    lookup(uid).unwrap_or_else(|| uid.to_string())
}

#[cfg(unix)]
fn lookup(uid: u32) -> Option<String> {
    use std::ffi::CStr;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `pwd` and `result` are plain out-parameters; `buf` is a
        // writable buffer of the length passed. On success `result` points at
        // `pwd`, whose `pw_name` points into `buf`, both alive here.
        unsafe {
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result);
            if rc == libc::ERANGE && buf.len() < 1 << 20 {
                buf.resize(buf.len() * 4, 0);
                continue;
            }
            if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
                return None;
            }
            let name = CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
            return if name.is_empty() { None } else { Some(name) };
        }
    }
}

#[cfg(not(unix))]
fn lookup(_uid: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_named_and_unknown_is_a_number() {
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(3_999_999_999), "3999999999");
    }
}
