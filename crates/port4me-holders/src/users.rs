//! User ids and names.
//!
//! On Windows the "uid" is the RID of the account's SID (see
//! `port4me::env::account_uid`); only the current account's name is known
//! for it.

/// The id of the account this process runs as
/// ([`port4me::env::account_uid`]: the effective uid on Unix, the RID of
/// the token's SID on Windows); `u32::MAX` where there is none.
pub fn current_uid() -> u32 {
    port4me::env::account_uid().unwrap_or(u32::MAX)
}

/// The account name of `uid` ([`port4me::env::user_name_of`], which caches
/// it), or the number as text when it has no name.
pub fn user_name(uid: u32) -> String {
    port4me::env::user_name_of(uid).unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn root_is_named_and_unknown_is_a_number() {
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(3_999_999_999), "3999999999");
    }

    #[cfg(windows)]
    #[test]
    fn the_current_account_is_named_and_others_are_numbers() {
        let me = current_uid();
        assert_ne!(me, u32::MAX);
        assert_eq!(Some(user_name(me)), port4me::env::effective_user_name());
        let other = if me == 3_999_999_999 { 3_999_999_998 } else { 3_999_999_999 };
        assert_eq!(user_name(other), other.to_string());
    }
}
