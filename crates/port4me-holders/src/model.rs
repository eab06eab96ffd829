//! Plain result types: what holds a port and what state a port is in.
//!
//! Every type is a plain struct or a field-less enum so that bindings can map
//! them one to one; with the `serde` feature they implement
//! `serde::Serialize` (enums as lowercase or `SCREAMING_SNAKE_CASE` strings,
//! addresses as `"127.0.0.1:5173"`).

use std::fmt;
use std::net::SocketAddr;

use port4me::Protocol;

/// The state of one socket, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum SocketState {
    /// A TCP socket waiting for connections.
    Listen,
    /// A bound UDP socket with no fixed peer.
    UdpBound,
    /// A UDP socket `connect`ed to one peer.
    UdpConnected,
    /// An open TCP connection.
    Established,
    /// TCP: connecting.
    SynSent,
    /// TCP: a connection being accepted.
    SynRecv,
    /// TCP: a request socket being accepted.
    NewSynRecv,
    /// TCP: closing, local side closed first.
    FinWait1,
    /// TCP: closing, local side closed first.
    FinWait2,
    /// TCP: the peer closed; the local side has not yet.
    CloseWait,
    /// TCP: closing.
    Closing,
    /// TCP: closing.
    LastAck,
    /// TCP: a closed connection the kernel keeps for a while (no process).
    TimeWait,
    /// TCP: closed (a bound socket that is neither listening nor connected).
    Close,
}

impl SocketState {
    /// The name `ss`/`netstat` use: `LISTEN`, `ESTABLISHED`, `TIME_WAIT`,
    /// and `UNCONN`/`ESTAB` style names for UDP (`UDP_BOUND`, `UDP_CONNECTED`).
    pub fn as_str(self) -> &'static str {
        match self {
            SocketState::Listen => "LISTEN",
            SocketState::UdpBound => "UDP_BOUND",
            SocketState::UdpConnected => "UDP_CONNECTED",
            SocketState::Established => "ESTABLISHED",
            SocketState::SynSent => "SYN_SENT",
            SocketState::SynRecv => "SYN_RECV",
            SocketState::NewSynRecv => "NEW_SYN_RECV",
            SocketState::FinWait1 => "FIN_WAIT1",
            SocketState::FinWait2 => "FIN_WAIT2",
            SocketState::CloseWait => "CLOSE_WAIT",
            SocketState::Closing => "CLOSING",
            SocketState::LastAck => "LAST_ACK",
            SocketState::TimeWait => "TIME_WAIT",
            SocketState::Close => "CLOSE",
        }
    }

    /// Whether this socket is what makes a server's port busy: a TCP
    /// listener or a bound UDP socket (the others are connections that came
    /// and go with it).
    pub fn is_server(self) -> bool {
        matches!(self, SocketState::Listen | SocketState::UdpBound | SocketState::UdpConnected)
    }
}

impl fmt::Display for SocketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much we could learn about the process behind a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ProcessAccess {
    /// The holding processes are listed.
    Visible,
    /// The socket belongs to a process we may not inspect (typically another
    /// user's, when not running as root). Its owner is still reported; on
    /// Windows the process too, with what the system gives without opening
    /// it (System, services, other users' processes).
    Hidden,
    /// No process holds the socket: the kernel keeps it on its own (a
    /// connection in `TIME_WAIT`).
    NoProcess,
    /// The socket has an owner but no process in this PID namespace has it
    /// open (it lives in another container, or it just closed).
    NotFound,
    /// The system lists the socket without its owner (Wine reports owner
    /// pid 0 for TCP sockets).
    Unreported,
}

/// A process that has a socket open.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// The process name (`comm`, at most 15 bytes on Linux), e.g. `node`.
    pub name: String,
    /// The command line, one element per argument (empty when the kernel
    /// hides it, e.g. for a zombie).
    pub cmdline: Vec<String>,
    /// The effective user id of the process.
    pub uid: Option<u32>,
    /// The user name for `uid` (or the number when it has no name).
    pub user: Option<String>,
    /// The full path of the executable, where this user may read it.
    pub executable: Option<String>,
    /// When the process started, in the unit of the system (clock ticks
    /// since boot on Linux, microseconds since 1970 on macOS, a `FILETIME`
    /// on Windows: see `port4me-process`); `None` where unknown. With the
    /// pid it names one process, which the kill strategy checks.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::model::ser_start_time"))]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub start_time: Option<u64>,
}

impl ProcessInfo {
    /// What `port4me-process` found about a process.
    pub(crate) fn from_process(p: port4me_process::Process) -> Self {
        ProcessInfo {
            pid: p.pid,
            name: p.name,
            cmdline: p.cmdline,
            uid: p.uid,
            user: p.user,
            executable: p.executable,
            start_time: (p.start_time != 0).then_some(p.start_time),
        }
    }

    /// The command line as one string, arguments that contain spaces or
    /// quotes in single quotes.
    pub fn command(&self) -> String {
        let quoted: Vec<String> = self.cmdline.iter().map(|a| shell_quote(a)).collect();
        quoted.join(" ")
    }
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b)) {
        a.to_string()
    } else if needs_escape(a) {
        // Bash's $'...' quoting keeps the command on one line and shows
        // what the escapes hide.
        format!("$'{}'", escape_text(a).replace('\'', "\\'"))
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// The one escaping function for text from other processes and users:
/// used for the descriptions and messages of this crate, for every table
/// cell and error line of the CLI, and by the bindings through those
/// descriptions and messages.
pub use port4me::text::escape_text;
use port4me::text::needs_escape;

/// One socket on the port, and what holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Holder {
    /// TCP or UDP.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::model::ser_protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// Socket state (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`, `UDP_BOUND`, ...).
    pub state: SocketState,
    /// The local address, e.g. `127.0.0.1:5173` or `[::]:5173`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub local_address: SocketAddr,
    /// The peer, for connected sockets.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub remote_address: Option<SocketAddr>,
    /// The socket's inode (0 for sockets no process holds, such as
    /// `TIME_WAIT`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub inode: u64,
    /// The user id that owns the socket (`None` when no process holds it).
    pub uid: Option<u32>,
    /// The user name for `uid`.
    pub user: Option<String>,
    /// Whether the processes could be seen.
    pub access: ProcessAccess,
    /// The processes that have the socket open, by pid (more than one after
    /// a `fork`).
    pub processes: Vec<ProcessInfo>,
    /// One line for people, e.g. `"node (pid 4242, alice): vite --port
    /// 5173"`: [`Holder::describe`] when the socket was found.
    pub description: String,
}

impl Holder {
    /// Fills in [`description`](Self::description) from the other fields.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android", target_os = "macos", windows)), allow(dead_code))]
    pub(crate) fn described(mut self) -> Self {
        self.description = self.describe();
        self
    }

    /// The first (lowest pid) process holding the socket, if visible.
    pub fn process(&self) -> Option<&ProcessInfo> {
        self.processes.first()
    }

    /// A short description: `node (pid 4242, alice): vite --port 5173`,
    /// `a process of bob that is not visible to you`, `no process (TIME_WAIT)`
    /// (what [`Holder::description`] holds, computed from the other fields).
    /// It is for people, safe to print on a terminal: the process name and
    /// the user are shown through [`escape_text`] and the command line
    /// quoted, while the fields themselves keep the raw text.
    pub fn describe(&self) -> String {
        match (self.process(), self.access) {
            // Windows names a process it will not let us open (System,
            // a service, another user's): what it gives, marked.
            (Some(p), ProcessAccess::Hidden) => {
                let name = escape_text(&p.name);
                let name = if name.is_empty() { "a process".into() } else { name };
                match p.user.as_deref().or(self.user.as_deref()).map(escape_text) {
                    Some(u) => format!("{name} (pid {}, {u}), which you may not inspect", p.pid),
                    None => format!("{name} (pid {}), which you may not inspect", p.pid),
                }
            }
            (Some(p), _) => {
                // The name and the user are another process's and another
                // user's words (a process sets its own name): escaped, as the
                // command line is quoted.
                let name = escape_text(&p.name);
                let user = p.user.as_deref().or(self.user.as_deref()).map(escape_text);
                let mut s = match user {
                    Some(u) => format!("{name} (pid {}, {u})", p.pid),
                    None => format!("{name} (pid {})", p.pid),
                };
                let cmd = p.command();
                if !cmd.is_empty() {
                    s.push_str(": ");
                    s.push_str(&truncate(&cmd, 160));
                }
                if self.processes.len() > 1 {
                    s.push_str(&format!(" (and {} more process(es))", self.processes.len() - 1));
                }
                if let Some(hint) = airplay_hint(self.local_address.port(), &p.name) {
                    s.push_str("; ");
                    s.push_str(hint);
                }
                s
            }
            (None, ProcessAccess::NoProcess) => format!("no process (a closed connection in {})", self.state),
            (None, ProcessAccess::Unreported) => "a process not reported by the system".to_string(),
            (None, ProcessAccess::Hidden) => match self.user.as_deref().map(escape_text) {
                Some(u) => format!("a process of {u} that is not visible to you"),
                None => "a process that is not visible to you".to_string(),
            },
            (None, _) => match self.user.as_deref().map(escape_text) {
                Some(u) => {
                    format!("a socket of {u} whose process was not found (another container, or it just closed)")
                }
                None => "a socket whose process was not found".to_string(),
            },
        }
    }
}

/// macOS's AirPlay Receiver (process `ControlCenter`) listens on 5000 and
/// 7000 by default: how to turn it off.
pub(crate) fn airplay_hint(port: u16, name: &str) -> Option<&'static str> {
    (matches!(port, 5000 | 7000) && name == "ControlCenter")
        .then_some("this is the AirPlay Receiver: turn it off in System Settings > General > AirDrop & Handoff")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str("...");
    out
}

/// Whether a port can be had right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Availability {
    /// A server could bind it now.
    Free,
    /// Something holds it (see the holders).
    Occupied,
    /// Nothing visible holds it, but this user cannot bind it (for example a
    /// privileged port below 1024).
    Blocked,
}

impl Availability {
    /// `free`, `occupied` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Free => "free",
            Availability::Occupied => "occupied",
            Availability::Blocked => "blocked",
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A web browser that refuses to connect to some ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Browser {
    /// Chrome and other Chromium browsers.
    Chrome,
    /// Firefox.
    Firefox,
}

impl Browser {
    /// `chrome` or `firefox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Browser::Chrome => "chrome",
            Browser::Firefox => "firefox",
        }
    }
}

/// The browsers that refuse `port` (empty for a safe port).
///
/// ```
/// use port4me_holders::{unsafe_for, Browser};
/// assert_eq!(unsafe_for(6000), [Browser::Chrome, Browser::Firefox]);
/// assert_eq!(unsafe_for(10080), [Browser::Chrome]);
/// assert!(unsafe_for(5173).is_empty());
/// ```
pub fn unsafe_for(port: u16) -> Vec<Browser> {
    let (chrome, firefox) = port4me_core::unsafe_ports::blocked_by(port);
    let mut v = Vec::new();
    if chrome {
        v.push(Browser::Chrome);
    }
    if firefox {
        v.push(Browser::Firefox);
    }
    v
}

/// What the port4me registry holds a port for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Reservation {
    /// The kind of entry: `module`, `service`, `offer`, `allocation`,
    /// `registration` or `lease`.
    pub kind: String,
    /// The module, service or registration name, or a lease's label.
    pub name: String,
    /// The service instance, for offers and allocations.
    pub instance: Option<String>,
    /// The user who owns the entry (registrations and leases).
    pub owner: Option<String>,
    /// The owning uid.
    pub uid: Option<u32>,
    /// The owner process, when the entry has one.
    pub pid: Option<u32>,
    /// The first and last port the entry holds (a range for modules and
    /// services).
    pub start: u16,
    /// See `start`.
    pub end: u16,
    /// When the entry lapses (offers, leases), as the registry prints it.
    pub expires: Option<String>,
    /// One sentence, as the registry describes the entry.
    pub description: String,
}

/// One word of a port's status (see [`PortStatus::label`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum StatusLabel {
    /// A server could bind it, and nothing else applies.
    Free,
    /// Something holds it.
    Occupied,
    /// This user cannot bind it, and nothing visible holds it.
    Blocked,
    /// The port4me registry holds it.
    Reserved,
    /// Free to bind, but whether the registry holds it is unknown (the
    /// registry cannot be read).
    Unknown,
    /// Browsers refuse it.
    Unsafe,
}

impl StatusLabel {
    /// `free`, `occupied`, `blocked`, `reserved`, `unknown` or `unsafe`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusLabel::Free => "free",
            StatusLabel::Occupied => "occupied",
            StatusLabel::Blocked => "blocked",
            StatusLabel::Reserved => "reserved",
            StatusLabel::Unknown => "unknown",
            StatusLabel::Unsafe => "unsafe",
        }
    }
}

impl fmt::Display for StatusLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Availability> for StatusLabel {
    fn from(a: Availability) -> Self {
        match a {
            Availability::Free => StatusLabel::Free,
            Availability::Occupied => StatusLabel::Occupied,
            Availability::Blocked => StatusLabel::Blocked,
        }
    }
}

/// Everything known about one port.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct PortStatus {
    /// The port.
    pub port: u16,
    /// The protocol that was checked.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::model::ser_protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// `free`, `occupied` or `blocked`.
    pub availability: Availability,
    /// The sockets on the port; `None` (`null` in JSON) when this system
    /// cannot tell ("unknown").
    pub holders: Option<Vec<Holder>>,
    /// Why the port is blocked, when it is.
    pub blocked_reason: Option<String>,
    /// The browsers that refuse this port (empty when it is safe).
    pub unsafe_for: Vec<Browser>,
    /// The registry entry for this port, when it is reserved.
    pub reserved: Option<Reservation>,
    /// Why the port4me registry could not be read, when it could not:
    /// whether the port is reserved is then unknown (`reserved` is `None`
    /// without meaning "not reserved"), and the status says "unknown"
    /// rather than "free".
    pub registry_error: Option<String>,
    /// Windows only, for a port that listens beyond the loopback: whether
    /// an inbound Windows Firewall rule lets it in: `allowed`, `not
    /// allowed` (with the command that adds a rule) or `unknown (why)`.
    /// `None` elsewhere.
    pub firewall: Option<String>,
    /// One word, by precedence: occupied, blocked, reserved, unknown,
    /// unsafe, free ([`PortStatus::label`] when the status was taken).
    pub label: StatusLabel,
    /// Every word that applies: the availability (`unknown` for a free
    /// port whose registry cannot be read), then `reserved` and `unsafe`
    /// ([`PortStatus::labels`] when the status was taken).
    pub labels: Vec<StatusLabel>,
    /// One line for people, e.g. `"in use by node (pid 4242, alice):
    /// vite"` ([`PortStatus::describe`] when the status was taken).
    pub description: String,
}

impl PortStatus {
    /// Fills in [`label`](Self::label), [`labels`](Self::labels) and
    /// [`description`](Self::description) from the other fields.
    pub(crate) fn summarized(mut self) -> Self {
        self.label = self.label();
        self.labels = self.labels();
        self.description = self.describe();
        self
    }

    /// The one-word status, in this order of precedence: `occupied`,
    /// `blocked`, `reserved`, `unknown` (free to bind, but the registry
    /// that would tell whether it is reserved cannot be read), `unsafe`,
    /// `free`. Use [`PortStatus::labels`] for every word that applies.
    pub fn label(&self) -> StatusLabel {
        match self.availability {
            Availability::Occupied | Availability::Blocked => self.availability.into(),
            Availability::Free if self.reserved.is_some() => StatusLabel::Reserved,
            Availability::Free if self.registry_error.is_some() => StatusLabel::Unknown,
            Availability::Free if !self.unsafe_for.is_empty() => StatusLabel::Unsafe,
            Availability::Free => StatusLabel::Free,
        }
    }

    /// Every status word that applies: the availability (`free`,
    /// `occupied` or `blocked`; a free port whose registry cannot be read
    /// is `unknown` instead of `free`), then `reserved` and `unsafe` when
    /// they apply, e.g. `["occupied", "unsafe"]` or `["free", "reserved"]`.
    pub fn labels(&self) -> Vec<StatusLabel> {
        let mut v = vec![match self.availability {
            Availability::Free if self.registry_error.is_some() => StatusLabel::Unknown,
            a => a.into(),
        }];
        if self.reserved.is_some() {
            v.push(StatusLabel::Reserved);
        }
        if !self.unsafe_for.is_empty() {
            v.push(StatusLabel::Unsafe);
        }
        v
    }

    /// A one-line description for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.availability {
            Availability::Free => match &self.registry_error {
                Some(why) => parts.push(format!("unknown (registry unreadable: {why})")),
                None => parts.push("free".to_string()),
            },
            Availability::Occupied => {
                let who = self
                    .holders
                    .as_ref()
                    .and_then(|h| crate::describe::main_holder(h))
                    .map(|h| h.describe())
                    .unwrap_or_else(|| "something this system cannot name".to_string());
                parts.push(format!("in use by {who}"));
            }
            Availability::Blocked => {
                parts.push(format!("blocked: {}", self.blocked_reason.as_deref().unwrap_or("cannot be bound")))
            }
        }
        if let Some(r) = &self.reserved {
            parts.push(format!("reserved in the registry: {}", r.description));
        }
        if let (Some(why), false) = (&self.registry_error, self.availability == Availability::Free) {
            parts.push(format!("reserved: unknown (registry unreadable: {why})"));
        }
        if !self.unsafe_for.is_empty() {
            let names: Vec<&str> = self.unsafe_for.iter().map(|b| b.as_str()).collect();
            parts.push(format!("unsafe (blocked by {})", names.join(" and ")));
        }
        if let Some(f) = &self.firewall {
            parts.push(format!("firewall: {f}"));
        }
        parts.join("; ")
    }
}

/// `"tcp"` or `"udp"`.
pub fn protocol_name(p: Protocol) -> &'static str {
    p.as_str()
}

/// A start time as a signed integer: napi's serializer refuses a `u64`
/// above 32 bits, and every start time fits an `i64` (a Windows `FILETIME`
/// is about 2^57 today).
#[cfg(feature = "serde")]
pub(crate) fn ser_start_time<S: serde::Serializer>(t: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&i64::try_from(*t).unwrap_or(i64::MAX)),
        None => s.serialize_none(),
    }
}

#[cfg(feature = "serde")]
pub(crate) fn ser_protocol<S: serde::Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_registry_is_unknown_not_free() {
        let free = PortStatus {
            port: 5173,
            protocol: Protocol::Tcp,
            availability: Availability::Free,
            holders: Some(Vec::new()),
            blocked_reason: None,
            unsafe_for: Vec::new(),
            reserved: None,
            registry_error: None,
            firewall: None,
            label: StatusLabel::Free,
            labels: Vec::new(),
            description: String::new(),
        }
        .summarized();
        assert_eq!((free.label, free.labels.clone(), free.description.as_str()), (free.label(), free.labels(), "free"));
        assert_eq!(
            (free.label(), free.labels(), free.describe()),
            (StatusLabel::Free, vec![StatusLabel::Free], "free".to_string())
        );
        let unknown = PortStatus { registry_error: Some("disk I/O error".into()), ..free.clone() };
        assert_eq!(unknown.label(), StatusLabel::Unknown);
        assert_eq!(unknown.labels(), [StatusLabel::Unknown]);
        assert_eq!(unknown.describe(), "unknown (registry unreadable: disk I/O error)");
        let busy = PortStatus { availability: Availability::Occupied, ..unknown.clone() };
        assert_eq!(busy.labels(), [StatusLabel::Occupied]);
        assert!(
            busy.describe().ends_with("; reserved: unknown (registry unreadable: disk I/O error)"),
            "{}",
            busy.describe()
        );
    }

    #[test]
    fn descriptions_escape_what_other_processes_and_users_chose() {
        let hostile = "\u{1b}]0;PWN\u{7}\u{1b}[2J";
        let shown = "\\x1b]0;PWN\\x07\\x1b[2J";
        let process = ProcessInfo {
            pid: 7,
            name: hostile.into(),
            cmdline: vec![hostile.into(), "\u{202e}x".into()],
            uid: Some(1),
            user: Some(format!("u{hostile}")),
            executable: None,
            start_time: None,
        };
        let holder = Holder {
            protocol: Protocol::Tcp,
            state: SocketState::Listen,
            local_address: "127.0.0.1:5173".parse().unwrap(),
            remote_address: None,
            inode: 1,
            uid: Some(1),
            user: Some(format!("v{hostile}")),
            access: ProcessAccess::Visible,
            processes: vec![process],
            description: String::new(),
        };
        let d = holder.describe();
        assert_eq!(d, format!("{shown} (pid 7, u{shown}): $'{shown}' $'\\u202ex'"));
        let hidden = Holder { access: ProcessAccess::Hidden, processes: Vec::new(), ..holder.clone() };
        assert_eq!(hidden.describe(), format!("a process of v{shown} that is not visible to you"));
        let gone = Holder { access: ProcessAccess::NotFound, ..hidden };
        assert!(gone.describe().starts_with(&format!("a socket of v{shown} whose")), "{}", gone.describe());
        // Escaping what is escaped already changes nothing.
        for s in [hostile, "a\\b\n", "plain"] {
            assert_eq!(escape_text(&escape_text(s)), escape_text(s), "{s:?}");
        }
    }

    #[test]
    fn commands_are_quoted_on_one_line() {
        let p = |args: &[&str]| ProcessInfo {
            pid: 1,
            name: "x".into(),
            cmdline: args.iter().map(|s| s.to_string()).collect(),
            uid: None,
            user: None,
            executable: None,
            start_time: None,
        };
        assert_eq!(p(&["vite", "--port", "5173"]).command(), "vite --port 5173");
        assert_eq!(p(&["sh", "-c", "echo 'hi' there"]).command(), r#"sh -c 'echo '\''hi'\'' there'"#);
        assert_eq!(p(&["python3", "-c", "a\nb\t'c'"]).command(), r#"python3 -c $'a\nb\t\'c\''"#);
        assert_eq!(p(&[""]).command(), "''");
    }
}

/// The serde JSON and the TypeScript declarations (feature `ts`) list the
/// same fields, and the fields whose TypeScript type is given by hand
/// (addresses, the protocol, the inode) serialize as that type.
#[cfg(all(test, feature = "ts"))]
mod ts_tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use ts_rs::TS;

    /// `field: type` of a declaration `type X = { a: T, b: U, };`.
    fn declared<T: TS>() -> BTreeMap<String, String> {
        let mut decl = T::decl(&ts_rs::Config::new());
        while let (Some(a), Some(b)) = (decl.find("/*"), decl.find("*/")) {
            decl.replace_range(a..b + 2, "");
        }
        let body = decl.split_once('{').unwrap().1.rsplit_once('}').unwrap().0;
        body.lines()
            .filter_map(|f| f.trim().trim_end_matches(',').split_once(':'))
            .map(|(k, t)| (k.trim().to_string(), t.trim().to_string()))
            .collect()
    }

    fn keys_agree<T: TS + serde::Serialize>(v: &T) -> serde_json::Value {
        let json = serde_json::to_value(v).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        let want = declared::<T>();
        assert_eq!(keys, want.keys().collect::<Vec<_>>(), "{json} vs {want:?}");
        json
    }

    #[test]
    fn json_fields_are_the_declared_ones() {
        let process = ProcessInfo {
            pid: 7,
            name: "node".into(),
            cmdline: vec!["vite".into()],
            uid: Some(1),
            user: None,
            executable: Some("/usr/bin/node".into()),
            start_time: Some(4242),
        };
        let holder = Holder {
            protocol: Protocol::Udp,
            state: SocketState::UdpConnected,
            local_address: "127.0.0.1:5173".parse().unwrap(),
            remote_address: Some("[::1]:9".parse().unwrap()),
            inode: 42,
            uid: Some(1),
            user: Some("alice".into()),
            access: ProcessAccess::NotFound,
            processes: vec![process.clone()],
            description: String::new(),
        }
        .described();
        let h = keys_agree(&holder);
        // A Windows FILETIME passes 2^53: a signed integer, as napi needs.
        let filetime = ProcessInfo { start_time: Some(134_411_505_588_339_790), ..process.clone() };
        assert_eq!(serde_json::to_value(&filetime).unwrap()["startTime"], json!(134_411_505_588_339_790i64));
        assert_eq!(h["description"], "node (pid 7, alice): vite");
        let types = declared::<Holder>();
        assert_eq!((types["localAddress"].as_str(), &h["localAddress"]), ("string", &"127.0.0.1:5173".into()));
        assert_eq!((types["remoteAddress"].as_str(), &h["remoteAddress"]), ("string | null", &"[::1]:9".into()));
        assert_eq!((types["protocol"].as_str(), &h["protocol"]), (r#""tcp" | "udp""#, &"udp".into()));
        assert_eq!((types["inode"].as_str(), &h["inode"]), ("number", &42.into()));
        assert_eq!(
            (SocketState::decl(&ts_rs::Config::new()).contains(r#""UDP_CONNECTED""#), &h["state"]),
            (true, &"UDP_CONNECTED".into())
        );
        keys_agree(&process);
        let reservation = Reservation {
            kind: "lease".into(),
            name: "alice,vite".into(),
            instance: None,
            owner: Some("alice".into()),
            uid: Some(1),
            pid: None,
            start: 5173,
            end: 5173,
            expires: Some("2024-05-01T12:00:00.000Z".into()),
            description: "a lease".into(),
        };
        keys_agree(&reservation);
        let status = PortStatus {
            port: 5173,
            protocol: Protocol::Tcp,
            availability: Availability::Occupied,
            holders: Some(vec![holder]),
            blocked_reason: None,
            unsafe_for: vec![Browser::Chrome],
            reserved: Some(reservation),
            registry_error: None,
            firewall: None,
            label: StatusLabel::Free,
            labels: Vec::new(),
            description: String::new(),
        }
        .summarized();
        let s = keys_agree(&status);
        let types = declared::<PortStatus>();
        assert_eq!((types["label"].as_str(), &s["label"]), ("StatusLabel", &"occupied".into()));
        assert_eq!(
            (types["labels"].as_str(), &s["labels"]),
            ("Array<StatusLabel>", &json!(["occupied", "reserved", "unsafe"]))
        );
        assert_eq!(s["description"], status.describe());
        let labels = StatusLabel::decl(&ts_rs::Config::new());
        for l in ["free", "occupied", "blocked", "reserved", "unknown", "unsafe"] {
            assert!(labels.contains(&format!("\"{l}\"")), "{labels}");
        }
    }
}
