//! Windows Firewall: whether an inbound allow rule covers a port that
//! listens beyond the loopback, and the command that would add one.
//! port4me never changes the firewall itself.
//!
//! The rules are read through PowerShell's NetSecurity module, one rule a
//! line as `protocol<TAB>local ports<TAB>program`: values, not sentences,
//! so the answer reads the same in every language. Where PowerShell or the
//! firewall service cannot answer (as under Wine) the answer is "unknown",
//! with the reason, never an error.

// Only Windows asks the firewall; the parsing is tested everywhere.
#![cfg_attr(not(windows), allow(dead_code))]

use std::net::SocketAddr;

use port4me::Protocol;

use crate::model::Holder;

/// What the rules say about one port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Firewall {
    Allowed,
    NotAllowed,
    Unknown(String),
}

impl Firewall {
    /// `allowed`, `not allowed`, or `unknown (why)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Firewall::Allowed => "allowed".to_string(),
            Firewall::NotAllowed => "not allowed".to_string(),
            Firewall::Unknown(why) => format!("unknown ({why})"),
        }
    }
}

/// The command that adds an inbound allow rule for `port`.
pub fn firewall_rule_command(name: &str, port: u16, protocol: Protocol) -> String {
    // A rule name in double quotes: quotes inside it would end it early.
    let name: String = name.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!(
        "netsh advfirewall firewall add rule name=\"port4me {name} {port}/{proto}\" dir=in action=allow protocol={PROTO} localport={port}",
        proto = protocol.as_str(),
        PROTO = protocol.as_str().to_uppercase()
    )
}

/// The PowerShell that lists the enabled inbound allow rules, after a first
/// line `PROFILES n` counting the firewall profiles that are on.
const SCRIPT: &str = "$ErrorActionPreference='Stop'; \
'PROFILES ' + @(Get-NetFirewallProfile | Where-Object Enabled).Count; \
Get-NetFirewallRule -Direction Inbound -Enabled True -Action Allow | ForEach-Object { \
$p = $_ | Get-NetFirewallPortFilter; $a = $_ | Get-NetFirewallApplicationFilter; \
\"$($p.Protocol)`t$($p.LocalPort -join ',')`t$($a.Program)\" }";

/// Whether the rules in `answer` (what [`SCRIPT`] printed) let `port` in
/// for a server run from one of `programs`.
pub(crate) fn judge(answer: &str, port: u16, protocol: Protocol, programs: &[&str]) -> Firewall {
    let mut lines = answer.lines();
    let Some(profiles) =
        lines.next().and_then(|l| l.trim().strip_prefix("PROFILES ")).and_then(|n| n.trim().parse::<u32>().ok())
    else {
        return Firewall::Unknown("the firewall rules could not be read".to_string());
    };
    if profiles == 0 {
        return Firewall::Allowed;
    }
    let covers_port = |ports: &str| {
        ports.split(',').map(str::trim).any(|p| {
            p.eq_ignore_ascii_case("any")
                || p.parse::<u16>() == Ok(port)
                || p.split_once('-').is_some_and(|(a, b)| {
                    matches!((a.trim().parse::<u16>(), b.trim().parse::<u16>()), (Ok(a), Ok(b)) if (a..=b).contains(&port))
                })
        })
    };
    for line in lines {
        let mut f = line.trim_end_matches('\r').split('\t');
        let (Some(proto), Some(ports), program) = (f.next(), f.next(), f.next().unwrap_or("Any")) else { continue };
        let proto_ok = proto.eq_ignore_ascii_case("any") || proto.eq_ignore_ascii_case(protocol.as_str());
        let program_ok = program.is_empty()
            || program.eq_ignore_ascii_case("any")
            || programs.iter().any(|p| p.eq_ignore_ascii_case(program));
        if proto_ok && program_ok && covers_port(ports) {
            return Firewall::Allowed;
        }
    }
    Firewall::NotAllowed
}

/// Whether some server socket in `holders` listens beyond the loopback.
pub(crate) fn listens_outside(holders: &[Holder]) -> bool {
    let outside = |a: &SocketAddr| !a.ip().is_loopback();
    holders.iter().any(|h| h.state.is_server() && outside(&h.local_address))
}

/// The firewall's rules as [`SCRIPT`] prints them, or why they cannot be
/// read (Windows only). They do not depend on the port, so a caller asking
/// about several ports reads them once.
#[cfg(windows)]
pub(crate) fn rules() -> Result<String, Firewall> {
    let run = std::process::Command::new("powershell.exe")
        .args(["-NoProfile", "-NonInteractive", "-Command", SCRIPT])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match run {
        Err(e) => Err(Firewall::Unknown(format!("PowerShell could not be run: {e}"))),
        Ok(o) if !o.status.success() => Err(Firewall::Unknown(
            "PowerShell could not read the firewall rules (is the firewall service running?)".into(),
        )),
        Ok(o) => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
    }
}

/// The firewall's answer for `port`, held by `holders`, under `rules` (from
/// [`rules`]).
#[cfg(windows)]
pub(crate) fn check(rules: &Result<String, Firewall>, port: u16, protocol: Protocol, holders: &[Holder]) -> Firewall {
    let programs: Vec<&str> =
        holders.iter().flat_map(|h| &h.processes).filter_map(|p| p.executable.as_deref()).collect();
    match rules {
        Ok(answer) => judge(answer, port, protocol, &programs),
        Err(why) => why.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`SCRIPT`] printed on Windows 11: the rule Node.js's installer
    /// prompt adds for node.exe, a port rule for 8080-8090, and one for UDP.
    const RECORDED: &str = "PROFILES 3\r
TCP\tAny\tC:\\Program Files\\nodejs\\node.exe\r
UDP\tAny\tC:\\Program Files\\nodejs\\node.exe\r
TCP\t8080-8090\tAny\r
UDP\t5353\tAny\r
TCP\t445\tSystem\r
";

    #[test]
    fn rules_by_port_protocol_and_program() {
        let node = [r"C:\Program Files\nodejs\node.exe"];
        let python = [r"C:\Python312\python.exe"];
        assert_eq!(judge(RECORDED, 5173, Protocol::Tcp, &node), Firewall::Allowed);
        assert_eq!(judge(RECORDED, 5173, Protocol::Tcp, &[r"c:\program files\NODEJS\node.exe"]), Firewall::Allowed);
        assert_eq!(judge(RECORDED, 5173, Protocol::Tcp, &python), Firewall::NotAllowed);
        assert_eq!(judge(RECORDED, 8085, Protocol::Tcp, &python), Firewall::Allowed);
        assert_eq!(judge(RECORDED, 8091, Protocol::Tcp, &python), Firewall::NotAllowed);
        assert_eq!(judge(RECORDED, 5353, Protocol::Udp, &[]), Firewall::Allowed);
        assert_eq!(judge(RECORDED, 5353, Protocol::Tcp, &[]), Firewall::NotAllowed);
        assert_eq!(judge("PROFILES 0\r\n", 1, Protocol::Tcp, &[]), Firewall::Allowed, "every profile off");
        let unknown = judge("", 1, Protocol::Tcp, &[]);
        assert_eq!(unknown.describe(), "unknown (the firewall rules could not be read)");
        assert_eq!(Firewall::NotAllowed.describe(), "not allowed");
    }

    #[test]
    fn the_rule_command_names_the_port() {
        assert_eq!(
            firewall_rule_command("we\"b", 5173, Protocol::Tcp),
            "netsh advfirewall firewall add rule name=\"port4me web 5173/tcp\" dir=in action=allow protocol=TCP localport=5173"
        );
    }
}
