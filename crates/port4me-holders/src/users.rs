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

/// The account name from the password database (the same lookup the
/// environment fallback of `port4me` uses); an empty name counts as none.
fn lookup(uid: u32) -> Option<String> {
    port4me_lookup(uid).filter(|n| !n.is_empty())
}

#[cfg(unix)]
use port4me::env::user_name_of as port4me_lookup;

#[cfg(not(unix))]
fn port4me_lookup(_uid: u32) -> Option<String> {
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
