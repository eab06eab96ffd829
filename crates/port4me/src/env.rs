//! Where settings come from when the caller does not give them.
//!
//! The process environment is the usual source, but tests, servers that
//! resolve on behalf of someone else, and the conformance runners need to
//! say exactly which variables exist. [`Env`] is that seam: either the real
//! process environment or a fixed map, plus the account-name fallback for the
//! user.
//!
//! # Accounts
//!
//! [`effective_user_name`] is the last fallback for the user part of the
//! seed: the password-database name of the effective uid on Unix, the
//! account name (`GetUserNameW`, without the domain) on Windows.
//!
//! [`account_uid`] is the number other crates record as the owner of
//! something (the registry's `uid` columns): the effective uid on Unix. On
//! Windows, which has no uids, it is the relative identifier (RID, the last
//! sub-authority) of the process token's user SID: 500 for the built-in
//! Administrator, 1000 and up for accounts people create, 18 for `SYSTEM`.
//! That is stable for an account across logons, reboots and renames, and it
//! is the number Cygwin and MSYS2 put in the low bits of the uid they derive
//! for local accounts (they add an offset per domain). A RID is unique among
//! the accounts of one domain (the machine for local accounts, or one Active
//! Directory domain), so a local and a domain account with the same RID get
//! the same number. This only matters for a registry database shared between
//! such accounts through `PORT4ME_DB`: the default database lives in each
//! account's own `%LOCALAPPDATA%`.

use std::collections::HashMap;
use std::ffi::OsString;

use crate::Error;

/// The general user variables the seed falls back on, in order, after
/// `PORT4ME_USER` (the order Python's `getpass.getuser` uses).
pub const USER_VARS: [&str; 4] = ["LOGNAME", "USER", "LNAME", "USERNAME"];

/// Whether port4me reads the variable `name`: every `PORT4ME_*` and
/// `_PORT4ME_*` one, and [`USER_VARS`]. Callers that snapshot an environment
/// (the Node addon, for work off its main thread) copy exactly these.
pub fn is_relevant_var(name: &str) -> bool {
    name.starts_with("PORT4ME_") || name.starts_with("_PORT4ME_") || USER_VARS.contains(&name)
}

/// A source of environment variables and of the current account name.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `None` reads the process environment.
    vars: Option<HashMap<String, OsString>>,
    /// `None` looks the account up; `Some(x)` uses `x` (tests).
    account: Option<Option<String>>,
}

impl Env {
    /// The process environment and the real account name.
    pub fn process() -> Self {
        Env::default()
    }

    /// Exactly these variables, and no account name to fall back on.
    pub fn from_pairs<K: Into<String>, V: Into<OsString>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env { vars: Some(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()), account: Some(None) }
    }

    /// Falls back on the real account name (looked up only when needed, and
    /// cached: [`user_name_of`]) when no variable names a user; for a fixed
    /// set of variables that stands for a real process's environment.
    pub fn with_account_lookup(mut self) -> Self {
        self.account = None;
        self
    }

    /// Overrides the account name used when no user is found elsewhere.
    pub fn with_account_name(mut self, name: Option<String>) -> Self {
        self.account = Some(name);
        self
    }

    /// The value of `name`, or `None` when unset. A value that is not UTF-8 is
    /// an error naming the variable rather than a silent fallback.
    pub fn var(&self, name: &str) -> Result<Option<String>, Error> {
        let v = match &self.vars {
            Some(m) => m.get(name).cloned(),
            None => std::env::var_os(name),
        };
        match v {
            None => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|v| Error::InvalidEnv {
                name: name.to_string(),
                value: v.to_string_lossy().into_owned(),
                reason: "not valid UTF-8",
            }),
        }
    }

    /// The value of `name` when set and non-empty.
    pub fn non_empty(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.var(name)?.filter(|v| !v.is_empty()))
    }

    /// The name of the account of the effective user id.
    pub fn account_name(&self) -> Option<String> {
        match &self.account {
            Some(a) => a.clone(),
            None => effective_user_name(),
        }
    }

    /// The user part of the seed when none is given: `PORT4ME_USER`, then the
    /// first non-empty of `LOGNAME`, `USER`, `LNAME`, `USERNAME` (the order
    /// Python's `getpass.getuser` uses), then the account name. Empty
    /// variables count as unset.
    pub fn user(&self) -> Result<String, Error> {
        for name in std::iter::once("PORT4ME_USER").chain(USER_VARS) {
            if let Some(v) = self.non_empty(name)? {
                return Ok(v);
            }
        }
        Ok(self.account_name().unwrap_or_default())
    }
}

/// The account name of the effective uid (Unix) or of the process
/// (Windows): [`user_name_of`] of [`account_uid`].
pub fn effective_user_name() -> Option<String> {
    account_uid().and_then(user_name_of)
}

/// The account name of `uid` (an [`account_uid`] number), if it has one; an
/// empty name counts as none.
///
/// This is the one place the project maps uids to names: the seed's last
/// fallback, the owners the registry records and the holders `port4me who`
/// names all come here. A lookup reads the password database, or asks the
/// LSA on Windows, and costs more than a probe. So each uid's answer is kept
/// for the life of the process: a uid's name does not change while a process
/// runs, and `setuid` changes only which uid is asked for. On Windows only
/// the calling account's number has a name; other accounts' RIDs are not
/// looked up.
pub fn user_name_of(uid: u32) -> Option<String> {
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashMap<u32, Option<String>>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashMap::new);
    if let Some(name) = names.get(&uid) {
        return name.clone();
    }
    let name = lookup_user_name(uid).filter(|n| !n.is_empty());
    names.insert(uid, name.clone());
    name
}

/// The password-database name of `uid`, uncached.
#[cfg(unix)]
fn lookup_user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    loop {
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: buffers are valid for the given lengths; `result` is only
        // read when the call reports success.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points into `buf` and is NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return name.to_str().ok().map(str::to_owned);
    }
}

/// The calling account's name (`GetUserNameW`: without its domain), when
/// `uid` is the calling account's number.
#[cfg(windows)]
fn lookup_user_name(uid: u32) -> Option<String> {
    (account_uid() == Some(uid)).then(windows::user_name).flatten()
}

/// No accounts on this system (WebAssembly).
#[cfg(not(any(unix, windows)))]
fn lookup_user_name(_uid: u32) -> Option<String> {
    None
}

/// The number that identifies the calling account (see the module docs):
/// the effective uid on Unix, the RID of the process token's user SID on
/// Windows. `None` where there is no such thing (WebAssembly) or the token
/// cannot be read.
pub fn account_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Some(unsafe { libc::geteuid() })
    }
    #[cfg(windows)]
    {
        // The user of a process token never changes while the process runs.
        static RID: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
        *RID.get_or_init(windows::token_user_rid)
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

#[cfg(windows)]
mod windows {
    use std::os::windows::io::{FromRawHandle, OwnedHandle};

    use windows_sys::Win32::Foundation::{GetLastError, ERROR_INSUFFICIENT_BUFFER, HANDLE};
    use windows_sys::Win32::Security::{
        GetSidSubAuthority, GetSidSubAuthorityCount, GetTokenInformation, IsValidSid, LookupAccountSidW, TokenUser,
        SID_NAME_USE, TOKEN_QUERY, TOKEN_USER,
    };
    pub(super) use windows_sys::Win32::System::Threading::GetCurrentProcess;
    use windows_sys::Win32::System::Threading::OpenProcessToken;
    use windows_sys::Win32::System::WindowsProgramming::GetUserNameW;

    /// `GetUserNameW`, growing the buffer when the name is longer than
    /// `UNLEN` (256) characters. A name that is not valid UTF-16 counts as
    /// none, as a non-UTF-8 name does on Unix.
    pub fn user_name() -> Option<String> {
        let mut buf = vec![0u16; 257];
        loop {
            let mut len = u32::try_from(buf.len()).ok()?;
            // SAFETY: `buf` is valid for `len` UTF-16 units; on success `len`
            // is the number written including the terminating NUL.
            if unsafe { GetUserNameW(buf.as_mut_ptr(), &mut len) } != 0 {
                let n = (len as usize).saturating_sub(1).min(buf.len());
                return String::from_utf16(&buf[..n]).ok().filter(|s| !s.is_empty());
            }
            // SAFETY: no preconditions.
            let error = unsafe { GetLastError() };
            if error != ERROR_INSUFFICIENT_BUFFER || len as usize <= buf.len() || len > 1 << 16 {
                return None;
            }
            buf.resize(len as usize, 0);
        }
    }

    /// The last sub-authority of the user SID of this process's token.
    pub fn token_user_rid() -> Option<u32> {
        // SAFETY: the pseudo-handle of the current process is always valid.
        token_account(unsafe { GetCurrentProcess() }, false).map(|a| a.rid)
    }

    /// The user SID of `process`'s token, its RID and, when asked, the
    /// account name of that SID (`LookupAccountSidW`).
    pub fn token_account(process: HANDLE, with_name: bool) -> Option<super::Account> {
        let mut raw: HANDLE = std::ptr::null_mut();
        // SAFETY: `raw` receives a new token handle on success.
        if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut raw) } == 0 {
            return None;
        }
        // SAFETY: `raw` is a token handle we own; OwnedHandle closes it.
        let token = unsafe { OwnedHandle::from_raw_handle(raw) };
        let token = std::os::windows::io::AsRawHandle::as_raw_handle(&token);
        let mut len = 0u32;
        // SAFETY: a null buffer of length 0 only asks for the needed length.
        unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
        if len == 0 || len > 1 << 16 {
            return None;
        }
        // TOKEN_USER holds pointers: use a buffer aligned for them.
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        let size = u32::try_from(buf.len() * 8).ok()?;
        // SAFETY: `buf` is valid and aligned for `size` bytes.
        if unsafe { GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), size, &mut len) } == 0 {
            return None;
        }
        // SAFETY: on success the buffer starts with a TOKEN_USER whose SID
        // points into the same buffer, which outlives these reads.
        unsafe {
            let sid = (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid;
            if sid.is_null() || IsValidSid(sid) == 0 {
                return None;
            }
            let count = *GetSidSubAuthorityCount(sid);
            if count == 0 {
                return None;
            }
            let rid = *GetSidSubAuthority(sid, u32::from(count) - 1);
            // A SID is 8 bytes, then 4 per sub-authority.
            let bytes = std::slice::from_raw_parts(sid.cast::<u8>(), 8 + 4 * usize::from(count)).to_vec();
            if !with_name {
                return Some(super::Account { rid, name: None, sid: bytes });
            }
            let (mut name, mut domain) = ([0u16; 256], [0u16; 256]);
            let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
            let mut kind: SID_NAME_USE = 0;
            let found = LookupAccountSidW(
                std::ptr::null(),
                sid,
                name.as_mut_ptr(),
                &mut n,
                domain.as_mut_ptr(),
                &mut d,
                &mut kind,
            ) != 0;
            let name = found.then(|| String::from_utf16_lossy(&name[..(n as usize).min(name.len())]));
            Some(super::Account { rid, name: name.filter(|s| !s.is_empty()), sid: bytes })
        }
    }
}

/// The Windows account a process runs as.
#[cfg(windows)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The last sub-authority of the user SID: the number [`account_uid`]
    /// gives for the calling process.
    pub rid: u32,
    /// The account name, where the SID has one.
    pub name: Option<String>,
    /// The whole SID, as bytes: two accounts of different domains may share
    /// a RID, never a SID.
    pub sid: Vec<u8>,
}

/// The account of the process behind `process` (a handle opened with at
/// least `PROCESS_QUERY_LIMITED_INFORMATION`); `None` when its token may not
/// be read. `None` for `process` is the calling process.
#[cfg(windows)]
pub fn process_account(process: Option<std::os::windows::io::RawHandle>) -> Option<Account> {
    // SAFETY: the pseudo-handle of the current process is always valid.
    windows::token_account(process.unwrap_or_else(|| unsafe { windows::GetCurrentProcess() }), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_order_and_empty_values() {
        let env = Env::from_pairs([("PORT4ME_USER", ""), ("LOGNAME", ""), ("USER", "bob"), ("USERNAME", "carol")]);
        assert_eq!(env.user().unwrap(), "bob");
        let env = Env::from_pairs([("USERNAME", "carol")]);
        assert_eq!(env.user().unwrap(), "carol");
        let env = Env::from_pairs(Vec::<(String, String)>::new()).with_account_name(Some("dave".into()));
        assert_eq!(env.user().unwrap(), "dave");
        let none = Env::from_pairs([("USER", "")]);
        assert_eq!(none.user().unwrap(), "");
        assert_eq!(none.with_account_lookup().user().unwrap(), effective_user_name().unwrap_or_default());
    }

    #[test]
    fn relevant_variables() {
        for yes in
            ["PORT4ME_USER", "PORT4ME_X", "_PORT4ME_CHECK_AVAILABLE_PORTS_", "LOGNAME", "USER", "LNAME", "USERNAME"]
        {
            assert!(is_relevant_var(yes), "{yes}");
        }
        for no in ["username", "HOME", "PORT4ME", "XPORT4ME_USER", "USERS"] {
            assert!(!is_relevant_var(no), "{no}");
        }
    }

    /// Checked against `id`, an independent source: the names are right,
    /// an unknown uid has none, and a second lookup (from the cache) agrees.
    #[cfg(unix)]
    #[test]
    fn user_names_agree_with_id() {
        let id = |flag: &str| {
            let out = std::process::Command::new("id").arg(flag).output().expect("run id");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let uid: u32 = id("-u").parse().unwrap();
        assert_eq!(account_uid(), Some(uid));
        assert_eq!(effective_user_name().as_deref(), Some(id("-un").as_str()));
        assert_eq!(user_name_of(0).as_deref(), Some("root"));
        assert_eq!(user_name_of(3_999_999_999), None);
        assert_eq!(user_name_of(0).as_deref(), Some("root"));
        assert_eq!(user_name_of(3_999_999_999), None);
    }

    #[cfg(windows)]
    #[test]
    fn windows_account_name_is_not_empty() {
        let name = effective_user_name().expect("GetUserNameW gives a name");
        assert!(!name.is_empty() && !name.contains('\0'), "{name:?}");
        assert_eq!(Env::process().account_name(), Some(name));
    }

    #[cfg(windows)]
    #[test]
    fn windows_uid_is_the_rid_of_a_user_sid() {
        // Well-known service accounts have RIDs 18-20; real accounts 500 and
        // up. 0 would mean the token could not be read properly.
        let uid = account_uid().unwrap();
        assert!(uid >= 18, "{uid}");
        assert_eq!(account_uid(), Some(uid));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_is_an_error() {
        use std::os::unix::ffi::OsStringExt;
        let env = Env::from_pairs([("PORT4ME_USER", OsString::from_vec(vec![0xff, 0xfe]))]);
        let e = env.user().unwrap_err();
        assert!(e.to_string().contains("PORT4ME_USER"), "{e}");
    }
}
