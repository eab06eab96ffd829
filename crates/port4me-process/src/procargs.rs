//! The `KERN_PROCARGS2` buffer of macOS: `argc` (a native-endian `i32`),
//! the executable path, NUL padding, then `argc` NUL-terminated arguments
//! (the environment follows, and is not read).

/// The arguments in `buf`, `None` when it is cut short or malformed.
pub(crate) fn parse_procargs2(buf: &[u8]) -> Option<Vec<String>> {
    let argc = i32::from_ne_bytes(buf.get(..4)?.try_into().ok()?);
    let argc = usize::try_from(argc).ok()?;
    let rest = &buf[4..];
    let path_end = rest.iter().position(|&b| b == 0)?;
    let mut at = path_end;
    while rest.get(at) == Some(&0) {
        at += 1;
    }
    let mut args = Vec::with_capacity(argc.min(256));
    for _ in 0..argc {
        let tail = rest.get(at..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        args.push(String::from_utf8_lossy(&tail[..end]).into_owned());
        at += end + 1;
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `sysctl({CTL_KERN, KERN_PROCARGS2, pid})` for
    /// `node vite.js --port 5173` (macOS 14, arm64), environment cut.
    #[test]
    fn arguments_after_the_padded_path() {
        let mut buf = 3i32.to_ne_bytes().to_vec();
        buf.extend_from_slice(b"/opt/homebrew/bin/node\0\0\0\0\0\0node\0vite.js\0--port\0HOME=/Users/a\0");
        // argc 3 although four strings follow: the environment is not read.
        assert_eq!(parse_procargs2(&buf).unwrap(), ["node", "vite.js", "--port"]);
        let mut four = 4i32.to_ne_bytes().to_vec();
        four.extend_from_slice(&buf[4..]);
        assert_eq!(parse_procargs2(&four).unwrap()[3], "HOME=/Users/a");
        assert_eq!(parse_procargs2(&buf[..20]), None, "cut short");
        assert_eq!(parse_procargs2(&[1, 0]), None);
        assert_eq!(parse_procargs2(&(-1i32).to_ne_bytes()), None);
    }
}
