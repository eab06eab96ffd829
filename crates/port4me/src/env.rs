//! Where settings come from when the caller does not give them.
//!
//! The process environment is the usual source, but tests, servers that
//! resolve on behalf of someone else, and the conformance runners need to
//! say exactly which variables exist. [`Env`] is that seam: either the real
//! process environment or a fixed map, plus the account-name fallback for the
//! user.

use std::collections::HashMap;
use std::ffi::OsString;

use crate::Error;

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
        for name in ["PORT4ME_USER", "LOGNAME", "USER", "LNAME", "USERNAME"] {
            if let Some(v) = self.non_empty(name)? {
                return Ok(v);
            }
        }
        Ok(self.account_name().unwrap_or_default())
    }
}

/// The account name of the effective uid, from the password database.
#[cfg(unix)]
pub fn effective_user_name() -> Option<String> {
    let uid = unsafe { libc::geteuid() };
    user_name_of(uid)
}

/// The account name of `uid`, if the password database knows it.
#[cfg(unix)]
pub fn user_name_of(uid: u32) -> Option<String> {
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

/// The account name of the effective uid (not available on this system).
#[cfg(not(unix))]
pub fn effective_user_name() -> Option<String> {
    None
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
