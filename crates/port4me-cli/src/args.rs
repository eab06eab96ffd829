//! Value parsers for numeric arguments, so that a bad number is refused as
//! what it is (`-1` "must be positive", `0` is no port) instead of clap's
//! "unexpected argument '-1'"; the arguments using them also set
//! `allow_negative_numbers`, so that `-1` reaches them.
#![cfg_attr(not(feature = "registry"), allow(dead_code))]

/// Why `text` is not a whole number of the type asked for, if it is not one.
fn whole(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Some(digits) = t.strip_prefix('-') {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err("must be positive".into());
        }
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a whole number".into());
    }
    t.parse().map_err(|_| "is too large".into())
}

/// A count or process id: a whole number 0 to `u32::MAX` (whether zero
/// makes sense is the registry's to say, naming what the number was for).
pub fn count(text: &str) -> Result<u32, String> {
    let n = whole(text)?;
    u32::try_from(n).map_err(|_| format!("is too large (at most {})", u32::MAX))
}

/// A port number, 1-65535.
pub fn port(text: &str) -> Result<u16, String> {
    let n = whole(text).map_err(|e| if e == "must be positive" { format!("{e} (a port 1-65535)") } else { e })?;
    match u16::try_from(n) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("is not a port: must be 1-65535".into()),
    }
}

/// The longest time a flag takes, in seconds (about 31 years).
pub const MAX_SECONDS: f64 = 1e9;

/// A positive number of seconds (fractions allowed), at most
/// [`MAX_SECONDS`].
pub fn seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let s: f64 = t.parse().map_err(|_| "is not a number of seconds".to_string())?;
    if !s.is_finite() {
        return Err("is not a number of seconds".into());
    }
    if s <= 0.0 {
        return Err("must be positive (a number of seconds)".into());
    }
    if s > MAX_SECONDS {
        return Err(format!("is too large (at most {MAX_SECONDS} seconds)"));
    }
    Ok(s)
}

/// Whether `arg` following `--reserve` is its value: a number, signed or not
/// (so that `--reserve -1` is refused as a time), never a name such as the
/// tool in `--reserve vite`.
pub fn is_number(arg: &str) -> bool {
    let t = arg.strip_prefix('-').unwrap_or(arg);
    let mut parts = t.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
}

/// The command line with `--reserve N` joined into `--reserve=N` when N is a
/// number (see [`is_number`]); `--reserve` itself takes its value only
/// after `=`, so a bare one leaves the next argument alone.
pub fn join_reserve(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut args = args.into_iter().peekable();
    let mut options = true;
    while let Some(a) = args.next() {
        if options && a == "--" {
            options = false;
        } else if options && a == "--reserve" {
            if let Some(v) = args.next_if(|n| n.to_str().is_some_and(is_number)) {
                let mut joined = std::ffi::OsString::from("--reserve=");
                joined.push(v);
                out.push(joined);
                continue;
            }
        }
        out.push(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count("5"), Ok(5));
        assert_eq!(count("-1").unwrap_err(), "must be positive");
        assert_eq!(count("x").unwrap_err(), "is not a whole number");
        assert!(count("4294967296").unwrap_err().contains("too large"));
        assert_eq!(port("65535"), Ok(65535));
        assert!(port("0").unwrap_err().contains("1-65535"));
        assert!(port("-3").unwrap_err().contains("must be positive"));
        assert_eq!(seconds("1.5"), Ok(1.5));
        assert!(seconds("0").unwrap_err().contains("must be positive"));
        assert!(seconds("NaN").is_err() && seconds("inf").is_err());
        assert_eq!(seconds("1000000000"), Ok(1e9));
        assert_eq!(seconds("1000000000.5").unwrap_err(), "is too large (at most 1000000000 seconds)");
        for yes in ["1", "30", "-1", "0.5", ".5", "-0.5", "7."] {
            assert!(is_number(yes), "{yes}");
        }
        for no in ["vite", "", "-", ".", "3d", "1e3", "--json", "-x", "1.2.3"] {
            assert!(!is_number(no), "{no}");
        }
        let j = |a: &[&str]| {
            join_reserve(a.iter().map(|s| s.into())).into_iter().map(|s| s.into_string().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(j(&["p", "--reserve", "vite"]), ["p", "--reserve", "vite"]);
        assert_eq!(j(&["p", "--reserve", "30", "vite"]), ["p", "--reserve=30", "vite"]);
        assert_eq!(j(&["p", "--reserve", "-1"]), ["p", "--reserve=-1"]);
        assert_eq!(j(&["p", "--", "--reserve", "1"]), ["p", "--", "--reserve", "1"]);
        assert_eq!(j(&["p", "--reserve"]), ["p", "--reserve"]);
    }
}
