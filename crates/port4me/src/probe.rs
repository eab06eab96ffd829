//! Is a port free? Ask the kernel by binding it.
//!
//! A port is free when a new socket could bind it on every local address of
//! both families. A server listening on `127.0.0.1`, `::1`, `0.0.0.0`, `::` or
//! any interface address makes it busy. On Linux a single dual-stack bind on
//! `[::]` (with `IPV6_V6ONLY` off) conflicts with all of those, so one socket
//! and one `bind` answer the question; without IPv6 the IPv4 wildcard is
//! bound instead. On other Unix systems (macOS) the IPv4 and the IPv6
//! wildcard are bound in turn; there a wildcard bind without
//! `SO_REUSEADDR` conflicts with any socket on the port.
//!
//! Windows lets a socket bind `127.0.0.1:P` while another listens on
//! `0.0.0.0:P`, or the other way round, unless one of them asked for
//! exclusive use. So there `0.0.0.0`, `::`, `127.0.0.1` and `::1` are each
//! bound in turn with `SO_EXCLUSIVEADDRUSE`, which makes the bind fail when
//! any socket holds the port on an overlapping address. `WSAEACCES` means
//! busy: another exclusive socket holds the port, or the system reserved
//! it. A port with connections in `TIME_WAIT` may also count as busy there,
//! which errs on the safe side. Wine maps Windows sockets onto Linux ones,
//! so tests under Wine see Linux semantics; the Windows behaviour is what
//! Microsoft documents for `SO_EXCLUSIVEADDRUSE`.
//!
//! No `SO_REUSEADDR`/`SO_REUSEPORT`: those options exist to let two sockets
//! share a port, which is exactly the conflict this must see. A permission
//! error (a privileged port for a normal user) means "not free for you".
//!
//! [`is_port_free_to_listen`] is the one exception, for the callers that
//! hold a port for a server they start (`port4me run`, the Vite plugin).
//! Servers bind with `SO_REUSEADDR` (Node, Python's `http.server`, Go) so
//! that they can restart at once while the last run's connections linger
//! in `TIME_WAIT`; the reference's probe, binding without it, calls such a
//! port busy for a minute, and a dev server restarted within that minute
//! would move to the next port. On Linux a TCP bind with `SO_REUSEADDR`
//! still fails for every listening socket and every socket bound without
//! the option, so only the lingering connections stop counting. Elsewhere
//! it is [`is_port_free`]: on macOS the option lets a wildcard bind share a
//! port with a listener on one address, and on Windows it means sharing.

use std::io;
use std::net::IpAddr;
#[cfg(not(target_family = "wasm"))]
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

#[cfg(not(target_family = "wasm"))]
use socket2::{Domain, Socket, Type};

use crate::Error;

/// The transport protocol to probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `"tcp"` or `"udp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a protocol name other than `tcp` or `udp`.
#[derive(Debug, thiserror::Error)]
#[error("unknown protocol {0:?}: use \"tcp\" or \"udp\"")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(UnknownProtocol(s.to_string())),
        }
    }
}

/// How to probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Probe only this address instead of every local address.
    pub host: Option<IpAddr>,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl ProbeOptions {
    /// TCP on every local address.
    pub const fn tcp() -> Self {
        ProbeOptions { host: None, protocol: Protocol::Tcp }
    }
}

/// "Address family not supported" and "address not available": errno values
/// on Unix, Winsock error codes (10047, 10049) on Windows.
#[cfg(all(not(target_family = "wasm"), not(windows)))]
use libc::{EADDRNOTAVAIL as ADDR_NOT_AVAILABLE, EAFNOSUPPORT as NO_FAMILY};
#[cfg(windows)]
use windows_sys::Win32::Networking::WinSock::{WSAEADDRNOTAVAIL as ADDR_NOT_AVAILABLE, WSAEAFNOSUPPORT as NO_FAMILY};

#[cfg(not(target_family = "wasm"))]
enum Bind {
    Free,
    Busy,
    NoFamily,
}

#[cfg(not(target_family = "wasm"))]
fn try_bind(addr: SocketAddr, protocol: Protocol, dual_stack: bool, past_time_wait: bool) -> io::Result<Bind> {
    let ty = match protocol {
        Protocol::Tcp => Type::STREAM,
        Protocol::Udp => Type::DGRAM,
    };
    let socket = match Socket::new(Domain::for_address(addr), ty, None) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(NO_FAMILY) => return Ok(Bind::NoFamily),
        Err(e) => return Err(e),
    };
    if addr.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    if past_time_wait && protocol == Protocol::Tcp && cfg!(target_os = "linux") {
        socket.set_reuse_address(true)?;
    }
    #[cfg(windows)]
    set_exclusive_address_use(&socket)?;
    match socket.bind(&addr.into()) {
        Ok(()) => Ok(Bind::Free),
        // Windows' WSAEADDRINUSE and WSAEACCES map to these kinds too.
        Err(e) => match e.kind() {
            io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied => Ok(Bind::Busy),
            // The wildcard address exists whenever the family does; with IPv6
            // disabled at boot, binding `::` gives EADDRNOTAVAIL. (On Windows
            // also `::1` when IPv6 has no loopback.)
            _ if e.raw_os_error() == Some(ADDR_NOT_AVAILABLE)
                && (addr.ip().is_unspecified() || cfg!(windows) && addr.ip().is_loopback()) =>
            {
                Ok(Bind::NoFamily)
            }
            _ => Err(e),
        },
    }
}

/// Sets `SO_EXCLUSIVEADDRUSE` (which socket2 does not offer) before the bind.
#[cfg(windows)]
fn set_exclusive_address_use(socket: &Socket) -> io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        setsockopt, WSAGetLastError, SOCKET, SOCKET_ERROR, SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
    };
    let on: i32 = 1;
    // SAFETY: the socket is open for the duration of the call; the option
    // value is a valid BOOL-sized integer that outlives it.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_socket() as SOCKET,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&on as *const i32).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc == SOCKET_ERROR {
        // SAFETY: no preconditions.
        return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
    }
    Ok(())
}

/// Whether `port` is free for `options.protocol` on `options.host` (or every
/// local address). Port 0 is an error: it is not a port anyone can be given.
///
/// ```
/// use port4me::probe::{is_port_free, ProbeOptions};
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// assert!(!is_port_free(port, &ProbeOptions::tcp()).unwrap());
/// ```
pub fn is_port_free(port: u16, options: &ProbeOptions) -> Result<bool, Error> {
    probe(port, options, false)
}

/// Whether a server could listen on `port` now: [`is_port_free`], except
/// that on Linux the TCP connections a server left in `TIME_WAIT` do not
/// count (module docs). For holding a port for a server about to start; the
/// port4me search itself stays the reference's.
pub fn is_port_free_to_listen(port: u16, options: &ProbeOptions) -> Result<bool, Error> {
    probe(port, options, true)
}

/// Either probe; port 0 is an error.
fn probe(port: u16, options: &ProbeOptions, past_time_wait: bool) -> Result<bool, Error> {
    if port == 0 {
        return Err(Error::InvalidPort { source_name: "port".into(), value: "0".into() });
    }
    probe_nonzero(port, options, past_time_wait)
}

/// WebAssembly has no sockets: the module computes sequences, and its host
/// (a page, or Node.js through the npm package's fallback) probes.
#[cfg(target_family = "wasm")]
fn probe_nonzero(port: u16, options: &ProbeOptions, _past_time_wait: bool) -> Result<bool, Error> {
    let host = options.host.unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    Err(Error::Probe {
        port,
        host: host.to_string(),
        protocol: options.protocol,
        cause: io::Error::new(io::ErrorKind::Unsupported, "WebAssembly has no sockets; the host must probe"),
    })
}

#[cfg(not(target_family = "wasm"))]
fn probe_nonzero(port: u16, options: &ProbeOptions, past_time_wait: bool) -> Result<bool, Error> {
    let bind = |addr, dual_stack| try_bind(addr, options.protocol, dual_stack, past_time_wait);
    let err = |host: IpAddr, e| Error::Probe { port, host: host.to_string(), protocol: options.protocol, cause: e };
    if let Some(host) = options.host {
        return match bind(SocketAddr::new(host, port), false).map_err(|e| err(host, e))? {
            Bind::Free => Ok(true),
            Bind::Busy => Ok(false),
            Bind::NoFamily => {
                Err(err(host, io::Error::new(io::ErrorKind::Unsupported, "address family not supported")))
            }
        };
    }
    let v6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let v4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    if cfg!(target_os = "linux") {
        // One dual-stack bind covers both families on Linux.
        match bind(SocketAddr::new(v6, port), true).map_err(|e| err(v6, e))? {
            Bind::Free => return Ok(true),
            Bind::Busy => return Ok(false),
            Bind::NoFamily => {}
        }
        return match bind(SocketAddr::new(v4, port), false).map_err(|e| err(v4, e))? {
            Bind::Free | Bind::NoFamily => Ok(true),
            Bind::Busy => Ok(false),
        };
    }
    let mut any_family = false;
    // Windows: the wildcards and the loopbacks, each exclusively (module docs).
    #[cfg(windows)]
    let hosts = [v4, v6, IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
    #[cfg(not(windows))]
    let hosts = [v4, v6];
    for host in hosts {
        match bind(SocketAddr::new(host, port), false).map_err(|e| err(host, e))? {
            Bind::Busy => return Ok(false),
            Bind::Free => any_family = true,
            Bind::NoFamily => {}
        }
    }
    Ok(any_family)
}

/// The cost floor of a probe: create a socket, bind it, close it, with no
/// options at all. Exposed for the benchmarks that compare against it.
#[doc(hidden)]
#[cfg(not(target_family = "wasm"))]
pub fn bare_bind_v4(port: u16) -> io::Result<bool> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    Ok(socket.bind(&SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port).into()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, UdpSocket};

    /// The tests that hold sockets run one at a time: running in parallel,
    /// one could take a port another has just let go and is about to probe.
    static SOCKETS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn sockets() -> std::sync::MutexGuard<'static, ()> {
        SOCKETS.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn free(port: u16, host: Option<IpAddr>, protocol: Protocol) -> bool {
        is_port_free(port, &ProbeOptions { host, protocol }).unwrap()
    }

    #[test]
    fn tcp_listener_on_loopback_v4_is_seen() {
        let _sockets = sockets();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!free(port, None, Protocol::Tcp));
        drop(l);
        assert!(free(port, None, Protocol::Tcp));
    }

    #[test]
    fn tcp_listener_on_loopback_v6_is_seen() {
        let _sockets = sockets();
        let Ok(l) = TcpListener::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback on this machine");
            return;
        };
        let port = l.local_addr().unwrap().port();
        assert!(!free(port, None, Protocol::Tcp));
        assert!(!free(port, Some("::1".parse().unwrap()), Protocol::Tcp));
    }

    #[test]
    fn udp_is_separate_from_tcp() {
        let _sockets = sockets();
        // A UDP socket makes its port busy for UDP only. The port is one
        // the kernel gave us for UDP; another process could hold it for
        // TCP, so try a few until a TCP listener of our own shows it free
        // for TCP, then check both answers while the UDP socket is held.
        for _ in 0..20 {
            let u = UdpSocket::bind("0.0.0.0:0").unwrap();
            let port = u.local_addr().unwrap().port();
            if TcpListener::bind(("0.0.0.0", port)).is_err() {
                continue;
            }
            assert!(!free(port, None, Protocol::Udp), "{port}/udp is held by this test");
            assert!(free(port, None, Protocol::Tcp), "{port}/tcp: a UDP socket must not make it busy");
            let l = TcpListener::bind(("0.0.0.0", port)).unwrap();
            assert!(!free(port, None, Protocol::Tcp));
            drop((l, u));
            return;
        }
        panic!("no port was free for TCP among 20 the kernel gave for UDP");
    }

    #[test]
    fn host_narrows_the_probe() {
        let _sockets = sockets();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!free(port, Some("127.0.0.1".parse().unwrap()), Protocol::Tcp));
    }

    #[test]
    fn foreign_host_is_an_error_not_busy() {
        // 192.0.2.1 (TEST-NET-1) is never an address of this machine; only bind() is called.
        let e =
            is_port_free(40000, &ProbeOptions { host: Some("192.0.2.1".parse().unwrap()), protocol: Protocol::Tcp })
                .unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_PROBE");
        assert!(e.to_string().contains("192.0.2.1"), "{e}");
        // The OS error is said once: in the message, not again as a source
        // that a chain-printing reporter would add.
        let Error::Probe { cause, .. } = &e else { panic!("{e:?}") };
        assert_eq!(e.to_string().matches(&cause.to_string()).count(), 1, "{e}");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn port_zero_is_an_error() {
        assert_eq!(is_port_free(0, &ProbeOptions::tcp()).unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
        assert_eq!(is_port_free_to_listen(0, &ProbeOptions::tcp()).unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
    }

    /// Listeners count for the server probe as for the plain one, on every
    /// address, although they (like std's) bind with `SO_REUSEADDR` too.
    /// Once the listener is gone the port is free again, unless another
    /// test (they run in parallel) took the same port in the meantime: then
    /// the check runs again on a new port, up to 10 times.
    #[test]
    fn the_server_probe_sees_every_listener() {
        let _sockets = sockets();
        for addr in ["127.0.0.1:0", "0.0.0.0:0", "[::1]:0", "[::]:0"] {
            let freed = (0..10).any(|_| {
                let Ok(l) = TcpListener::bind(addr) else {
                    assert!(addr.starts_with('['), "{addr} could not be bound");
                    return true;
                };
                let port = l.local_addr().unwrap().port();
                assert!(
                    !is_port_free_to_listen(port, &ProbeOptions::tcp()).unwrap(),
                    "listener on {addr}, port {port}"
                );
                drop(l);
                is_port_free_to_listen(port, &ProbeOptions::tcp()).unwrap()
            });
            assert!(freed, "{addr}: the port stayed busy after its listener, 10 times");
        }
    }

    /// A UDP socket keeps its port busy for the server probe: the exception
    /// is for TCP's `TIME_WAIT` only.
    #[test]
    fn the_server_probe_sees_udp_sockets() {
        let _sockets = sockets();
        let u = UdpSocket::bind("0.0.0.0:0").unwrap();
        let port = u.local_addr().unwrap().port();
        let udp = ProbeOptions { host: None, protocol: Protocol::Udp };
        assert!(!is_port_free_to_listen(port, &udp).unwrap());
    }

    /// A server that closed its side of a connection first leaves it in
    /// `TIME_WAIT` on the server's port. The reference's probe calls that
    /// port busy; a server could listen there (std's listener binds with
    /// `SO_REUSEADDR`, as Node's does), and on Linux the server probe says
    /// so. Another test running in parallel may take the same port between
    /// the checks (a listener of its own may share it with the `TIME_WAIT`):
    /// then the whole check runs again, up to 10 times.
    #[test]
    fn time_wait_is_busy_only_for_the_reference_probe() {
        let _sockets = sockets();
        use std::io::Read;
        let tcp = ProbeOptions::tcp();
        let passed = (0..10).any(|_| {
            // Below Linux's ephemeral range (32768-60999): the TIME_WAIT
            // outlives the test, and a later `bind(":0")` with
            // `SO_REUSEADDR` (std's listeners) could be given that port.
            let l = (20000..32000).step_by(97).find_map(|p| TcpListener::bind(("127.0.0.1", p)).ok()).unwrap();
            let port = l.local_addr().unwrap().port();
            let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let (served, _) = l.accept().unwrap();
            drop(l);
            drop(served); // the server closes first: its side goes to TIME_WAIT
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap();
            drop(client);
            if !cfg!(target_os = "linux") {
                return is_port_free_to_listen(port, &tcp).unwrap() == is_port_free(port, &tcp).unwrap();
            }
            assert!(!is_port_free(port, &tcp).unwrap(), "port {port} in TIME_WAIT: the reference's probe says busy");
            // A server listens where the server probe said free.
            is_port_free_to_listen(port, &tcp).unwrap() && TcpListener::bind(("0.0.0.0", port)).is_ok()
        });
        assert!(passed, "a port in TIME_WAIT: the server probe said busy, or a server could not listen, 10 times");
    }

    #[test]
    fn protocol_parses() {
        assert_eq!("UDP".parse::<Protocol>().unwrap(), Protocol::Udp);
        assert!("sctp".parse::<Protocol>().unwrap_err().to_string().contains("sctp"));
    }
}
