//! Child processes for the tests: the test binary re-runs itself with
//! `--exact helper_main` and an environment variable saying what to do, so
//! no interpreter or extra binary is needed.
//!
//! Kinds: `tcp4`, `tcp6`, `udp4`, `udp6` (bind the loopback address, print
//! `READY <port>`, then wait for stdin to close); `who:PORT` and
//! `status:PORT` (print what this process sees, for the tests that need
//! another user's point of view). `,ignore-term` makes the child ignore
//! SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};

use port4me_holders::Protocol;

const ENV: &str = "PORT4ME_HOLDERS_TEST_HELPER";
/// The name the helper gives itself (`/proc/PID/comm`).
pub const NAME: &str = "p4m-helper";
/// The uid of `nobody`.
pub const NOBODY: u32 = 65534;

/// Body of the `helper_main` test: does nothing unless started as a helper.
pub fn helper_main() {
    let Ok(spec) = std::env::var(ENV) else { return };
    let _ = std::fs::write("/proc/self/comm", NAME);
    let mut parts = spec.split(',');
    let kind = parts.next().unwrap_or("");
    if parts.any(|p| p == "ignore-term") {
        // SAFETY: setting a signal disposition to SIG_IGN is always sound.
        unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    }
    let out = |line: String| {
        let mut so = std::io::stdout().lock();
        let _ = writeln!(so, "READY {line}");
        let _ = so.flush();
    };
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 0));
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let port = match kind {
        "tcp4" | "tcp6" => {
            let l = TcpListener::bind(if kind == "tcp4" { v4 } else { v6 }).expect("bind");
            let p = l.local_addr().unwrap().port();
            keep.push(Box::new(l));
            p
        }
        "udp4" | "udp6" => {
            let s = UdpSocket::bind(if kind == "udp4" { v4 } else { v6 }).expect("bind");
            let p = s.local_addr().unwrap().port();
            keep.push(Box::new(s));
            p
        }
        k if k.starts_with("who:") => {
            let port: u32 = k[4..].parse().unwrap();
            let hs = port4me_holders::who_holds(port, Protocol::Tcp).expect("who_holds");
            let h = hs.iter().find(|h| h.state == port4me_holders::SocketState::Listen).expect("a listener");
            out(format!("{:?}|{}|{}", h.access, h.user.as_deref().unwrap_or("-"), h.processes.len()));
            std::process::exit(0);
        }
        k if k.starts_with("status:") => {
            let port: u32 = k[7..].parse().unwrap();
            let s = port4me_holders::status(port, &port4me_holders::NoRegistry).expect("status");
            out(format!("{}|{}", s.label, s.blocked_reason.unwrap_or_default()));
            std::process::exit(0);
        }
        other => panic!("unknown helper kind {other}"),
    };
    out(port.to_string());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(keep);
    std::process::exit(0);
}

/// A running helper; killed and reaped on drop.
pub struct Helper {
    pub child: Child,
    /// What it printed after `READY` (the port, for listeners).
    pub answer: String,
    stdin: Option<ChildStdin>,
}

impl Helper {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    pub fn port(&self) -> u16 {
        self.answer.parse().expect("a port")
    }
    /// Whether the child is still running (not reaped, not a zombie).
    pub fn is_running(&mut self) -> bool {
        if self.child.try_wait().unwrap().is_some() {
            return false;
        }
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let state = stat.rsplit(')').next().and_then(|s| s.split_whitespace().next()).unwrap_or("X");
        state != "Z" && state != "X"
    }
    /// Waits for the child and returns the signal that ended it, if any.
    pub fn wait_signal(&mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.stdin.take();
        self.child.wait().unwrap().signal()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a helper of `kind`, as `uid` when given (needs root).
pub fn spawn(kind: &str, uid: Option<u32>) -> std::io::Result<Helper> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "helper_main", "--nocapture", "--test-threads=1"])
        .env(ENV, kind)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    // Read the answer on a thread (libtest prints "test helper_main ... "
    // before it on the same line), then keep draining so that the child
    // never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(i) = line.find("READY ") {
                let _ = tx.send(line[i + 6..].trim_end().to_string());
            }
            line.clear();
        }
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(answer) => Ok(Helper { child, answer, stdin }),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(std::io::Error::other(format!("helper {kind} did not answer")))
        }
    }
}

/// Whether tests run as root (and so can start children as `nobody`).
pub fn is_root() -> bool {
    port4me_holders::current_uid() == 0
}

/// A port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    l.local_addr().unwrap().port()
}

/// Whether IPv6 loopback works here.
pub fn has_ipv6() -> bool {
    TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).is_ok()
}
