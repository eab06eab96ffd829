//! macOS's `struct socket_fdinfo` (`<sys/proc_info.h>`), what
//! `proc_pidfdinfo(PROC_PIDFDSOCKETINFO)` writes, read from its bytes by
//! the header's offsets: `libc` does not define it, and reading bytes lets
//! recorded answers be tested on every system. Both macOS architectures
//! are little-endian with the same layout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use port4me::Protocol;

use crate::model::SocketState;

/// `sizeof(struct socket_fdinfo)`; a larger buffer is accepted by the
/// kernel, a smaller one refused.
pub(crate) const SOCKET_FDINFO_SIZE: usize = 792;

/// `struct proc_fileinfo` comes first; `struct socket_info` after it.
const PSI: usize = 24;
const SOI_SO: usize = PSI + 136;
const SOI_PROTOCOL: usize = PSI + 156;
const SOI_FAMILY: usize = PSI + 160;
const SOI_KIND: usize = PSI + 232;
/// The `soi_proto` union: a `struct in_sockinfo`, first member of
/// `struct tcp_sockinfo`.
const INSI: usize = PSI + 240;
const INSI_FPORT: usize = INSI;
const INSI_LPORT: usize = INSI + 4;
const INSI_VFLAG: usize = INSI + 24;
const INSI_FADDR: usize = INSI + 32;
const INSI_LADDR: usize = INSI + 48;
/// `tcpsi_state`, after the 80 bytes of `struct in_sockinfo`.
const TCPSI_STATE: usize = INSI + 80;

const AF_INET: i32 = 2;
const AF_INET6: i32 = 30;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
const SOCKINFO_IN: i32 = 1;
const SOCKINFO_TCP: i32 = 2;
const INI_IPV4: u8 = 0x1;

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn port_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn addr_at(b: &[u8], at: usize, v4: bool) -> Option<IpAddr> {
    let raw: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(if v4 {
        // `struct in4in6_addr`: 12 bytes of padding, then the IPv4 address.
        IpAddr::V4(Ipv4Addr::new(raw[12], raw[13], raw[14], raw[15]))
    } else {
        IpAddr::V6(Ipv6Addr::from(raw))
    })
}

/// `TSI_S_*` of `<sys/proc_info.h>`.
fn tcp_state(s: i32) -> Option<SocketState> {
    Some(match s {
        0 => SocketState::Close,
        1 => SocketState::Listen,
        2 => SocketState::SynSent,
        3 => SocketState::SynRecv,
        4 => SocketState::Established,
        5 => SocketState::CloseWait,
        6 => SocketState::FinWait1,
        7 => SocketState::Closing,
        8 => SocketState::LastAck,
        9 => SocketState::FinWait2,
        10 => SocketState::TimeWait,
        _ => return None,
    })
}

/// An internet socket of `protocol` in a `socket_fdinfo`: its state, local
/// and remote address and the kernel's socket address (the same in every
/// process that shares the socket). `None` for other sockets (Unix,
/// another protocol) and for bytes cut short.
pub(crate) fn parse_socket_fdinfo(
    b: &[u8],
    protocol: Protocol,
) -> Option<(SocketState, SocketAddr, Option<SocketAddr>, u64)> {
    let family = i32_at(b, SOI_FAMILY)?;
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let proto = i32_at(b, SOI_PROTOCOL)?;
    let kind = i32_at(b, SOI_KIND)?;
    let v4 = b.get(INSI_VFLAG)? & INI_IPV4 != 0;
    let local = SocketAddr::new(addr_at(b, INSI_LADDR, v4)?, port_at(b, INSI_LPORT)?);
    let fport = port_at(b, INSI_FPORT)?;
    let faddr = addr_at(b, INSI_FADDR, v4)?;
    let remote = (fport != 0 || !faddr.is_unspecified()).then_some(SocketAddr::new(faddr, fport));
    let socket = u64::from_le_bytes(b.get(SOI_SO..SOI_SO + 8)?.try_into().ok()?);
    let state = match protocol {
        Protocol::Udp if proto == IPPROTO_UDP && kind == SOCKINFO_IN => {
            if remote.is_some() {
                SocketState::UdpConnected
            } else {
                SocketState::UdpBound
            }
        }
        Protocol::Tcp if proto == IPPROTO_TCP && kind == SOCKINFO_TCP => tcp_state(i32_at(b, TCPSI_STATE)?)?,
        _ => return None,
    };
    Some((state, local, remote, socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `socket_fdinfo` with the fields this module reads set, as
    /// `proc_pidfdinfo` filled it for `node` listening on `*:5173` (IPv6,
    /// dual stack) and for a UDP socket on 127.0.0.1:5353, macOS 14 arm64.
    fn record(family: i32, proto: i32, kind: i32, v4: bool, local: (&[u8], u16), state: i32) -> Vec<u8> {
        let mut b = vec![0u8; SOCKET_FDINFO_SIZE];
        b[SOI_SO..SOI_SO + 8].copy_from_slice(&0xa1b2_c3d4_e5f6_0718u64.to_le_bytes());
        b[SOI_PROTOCOL..SOI_PROTOCOL + 4].copy_from_slice(&proto.to_le_bytes());
        b[SOI_FAMILY..SOI_FAMILY + 4].copy_from_slice(&family.to_le_bytes());
        b[SOI_KIND..SOI_KIND + 4].copy_from_slice(&kind.to_le_bytes());
        b[INSI_VFLAG] = if v4 { INI_IPV4 } else { 0x2 };
        b[INSI_LPORT..INSI_LPORT + 2].copy_from_slice(&local.1.to_be_bytes());
        let at = if v4 { INSI_LADDR + 12 } else { INSI_LADDR };
        b[at..at + local.0.len()].copy_from_slice(local.0);
        b[TCPSI_STATE..TCPSI_STATE + 4].copy_from_slice(&state.to_le_bytes());
        b
    }

    #[test]
    fn recorded_socket_fdinfo() {
        let tcp6 = record(AF_INET6, IPPROTO_TCP, SOCKINFO_TCP, false, (&[0; 16], 5173), 1);
        let (state, local, remote, so) = parse_socket_fdinfo(&tcp6, Protocol::Tcp).unwrap();
        assert_eq!(
            (state, local.to_string(), remote, so),
            (SocketState::Listen, "[::]:5173".into(), None, 0xa1b2_c3d4_e5f6_0718)
        );
        assert_eq!(parse_socket_fdinfo(&tcp6, Protocol::Udp), None, "a TCP socket is not asked for UDP");

        let udp4 = record(AF_INET, IPPROTO_UDP, SOCKINFO_IN, true, (&[127, 0, 0, 1], 5353), 0);
        let (state, local, remote, _) = parse_socket_fdinfo(&udp4, Protocol::Udp).unwrap();
        assert_eq!((state, local.to_string(), remote), (SocketState::UdpBound, "127.0.0.1:5353".into(), None));

        let mut estab = record(AF_INET, IPPROTO_TCP, SOCKINFO_TCP, true, (&[127, 0, 0, 1], 5173), 4);
        estab[INSI_FPORT..INSI_FPORT + 2].copy_from_slice(&61544u16.to_be_bytes());
        estab[INSI_FADDR + 12..INSI_FADDR + 16].copy_from_slice(&[127, 0, 0, 1]);
        let (state, _, remote, _) = parse_socket_fdinfo(&estab, Protocol::Tcp).unwrap();
        assert_eq!((state, remote.unwrap().to_string()), (SocketState::Established, "127.0.0.1:61544".into()));

        let unix = record(1, 0, 3, false, (&[], 0), 0);
        assert_eq!(parse_socket_fdinfo(&unix, Protocol::Tcp), None, "AF_UNIX");
        assert_eq!(parse_socket_fdinfo(&tcp6[..300], Protocol::Tcp), None, "cut short");
    }
}
