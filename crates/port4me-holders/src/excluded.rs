//! Windows' excluded port ranges: blocks of ports that Hyper-V, WSL2,
//! Docker or WinNAT reserve (and ones an administrator added, marked `*`).
//! A bind inside one fails with `WSAEACCES` and no socket shows up in any
//! table, so the holders alone cannot explain a busy port there.
//!
//! Windows offers no API that lists them; `netsh int ipv4|ipv6 show
//! excludedportrange protocol=tcp|udp` does. Its headings are translated,
//! so only the data lines are read: two numbers and an optional `*`, which
//! look the same in every language.

use std::fmt;

use port4me::Protocol;

/// One excluded range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExcludedRange {
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
    /// Added by an administrator (`netsh ... add excludedportrange`),
    /// rather than by a service at run time.
    pub administered: bool,
    /// The protocol it is excluded for.
    pub protocol: Protocol,
}

impl fmt::Display for ExcludedRange {
    /// `Windows reserves 50000-50059/tcp (excluded port range)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Windows reserves {}-{}/{} ({}excluded port range)",
            self.start,
            self.end,
            self.protocol.as_str(),
            if self.administered { "administered " } else { "" }
        )
    }
}

/// The ranges in the output of `netsh int ipv4 show excludedportrange`.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn parse_netsh(text: &str, protocol: Protocol) -> Vec<ExcludedRange> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let start = words.next()?.parse().ok()?;
            let end = words.next()?.parse().ok()?;
            let administered = match (words.next(), words.next()) {
                (None, _) => false,
                (Some("*"), None) => true,
                _ => return None,
            };
            (start <= end).then_some(ExcludedRange { start, end, administered, protocol })
        })
        .collect()
}

/// The excluded range that holds `port`, reading the ranges now (IPv4 and
/// IPv6). `None` on other systems, and where `netsh` cannot tell (it is
/// missing, or, as under Wine, knows no such command).
pub fn excluded_port_range(port: u16, protocol: Protocol) -> Option<ExcludedRange> {
    ranges(protocol).into_iter().find(|r| (r.start..=r.end).contains(&port))
}

/// The ranges, read at most once every two seconds per protocol: an
/// exhausted search asks about each of its ports in turn, and each read
/// starts two `netsh` processes.
#[cfg(windows)]
fn ranges(protocol: Protocol) -> Vec<ExcludedRange> {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    type Cache = Vec<(Protocol, Instant, Vec<ExcludedRange>)>;
    static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(_, at, _)| at.elapsed() < Duration::from_secs(2));
    if let Some((_, _, r)) = cache.iter().find(|(p, _, _)| *p == protocol) {
        return r.clone();
    }
    let r = read_ranges(protocol);
    cache.push((protocol, Instant::now(), r.clone()));
    r
}

#[cfg(windows)]
fn read_ranges(protocol: Protocol) -> Vec<ExcludedRange> {
    let mut out = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let run = std::process::Command::new("netsh")
            .args(["int", family, "show", "excludedportrange", &format!("protocol={}", protocol.as_str())])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        if let Some(o) = run.ok().filter(|o| o.status.success()) {
            out.extend(parse_netsh(&String::from_utf8_lossy(&o.stdout), protocol));
        }
    }
    out
}

#[cfg(not(windows))]
fn ranges(_protocol: Protocol) -> Vec<ExcludedRange> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `netsh int ipv4 show excludedportrange protocol=tcp` on Windows 11
    /// with Hyper-V, and one range added by an administrator.
    const ENGLISH: &str = "\r
Protocol tcp Port Exclusion Ranges\r
\r
Start Port    End Port\r
----------    --------\r
      5357        5357\r
     50000       50059     *\r
     54235       54334\r
\r
* - Administered port exclusions.\r
\r
";

    /// The same on a German Windows 10.
    const GERMAN: &str = "
Protokoll tcp Portausschlussbereiche

Startport    Endport
----------    --------
      5173        5272
     50000       50059     *

* - Verwaltete Portausschlüsse.
";

    #[test]
    fn ranges_in_any_language() {
        let en = parse_netsh(ENGLISH, Protocol::Tcp);
        assert_eq!(
            en.iter().map(|r| (r.start, r.end, r.administered)).collect::<Vec<_>>(),
            [(5357, 5357, false), (50000, 50059, true), (54235, 54334, false)]
        );
        let de = parse_netsh(GERMAN, Protocol::Tcp);
        assert_eq!(
            de.iter().map(|r| (r.start, r.end, r.administered)).collect::<Vec<_>>(),
            [(5173, 5272, false), (50000, 50059, true)]
        );
        assert_eq!(de[1].to_string(), "Windows reserves 50000-50059/tcp (administered excluded port range)");
        assert_eq!(en[2].to_string(), "Windows reserves 54235-54334/tcp (excluded port range)");
        // Wine's netsh answers with a message and no table.
        assert_eq!(parse_netsh("Der Befehl wurde nicht gefunden: int 4 5\n", Protocol::Udp), []);
        assert_eq!(parse_netsh("1 2 3\n70000 70001\n9 3\n", Protocol::Udp), []);
    }
}
