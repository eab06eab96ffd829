//! The tables `GetExtendedTcpTable` and `GetExtendedUdpTable` fill (the
//! `*_OWNER_PID` classes), read from their bytes: a `u32` count, then
//! fixed-size rows of `u32` fields in the machine's order, addresses and
//! ports in network order. Read here rather than through the `windows-sys`
//! structs so that recorded tables are tested on every system.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::SocketState;
use crate::table::Row;

/// Which table the bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    Tcp4,
    Tcp6,
    Udp4,
    Udp6,
}

impl Table {
    fn row_size(self) -> usize {
        match self {
            Table::Tcp4 => 24,
            Table::Tcp6 => 56,
            Table::Udp4 => 12,
            Table::Udp6 => 28,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn port_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn v4_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(o)))
}

/// `MIB_TCP_STATE`; `DELETE_TCB` (12) is a connection being torn down.
fn tcp_state(s: u32) -> Option<SocketState> {
    Some(match s {
        1 => SocketState::Close,
        2 => SocketState::Listen,
        3 => SocketState::SynSent,
        4 => SocketState::SynRecv,
        5 => SocketState::Established,
        6 => SocketState::FinWait1,
        7 => SocketState::FinWait2,
        8 => SocketState::CloseWait,
        9 => SocketState::Closing,
        10 => SocketState::LastAck,
        11 => SocketState::TimeWait,
        12 => SocketState::Close,
        _ => return None,
    })
}

fn remote(ip: IpAddr, port: u16) -> Option<SocketAddr> {
    (!(port == 0 && ip.is_unspecified())).then_some(SocketAddr::new(ip, port))
}

/// The rows of one table; `None` when the bytes are not such a table
/// (cut short, or a state Windows does not define).
pub(crate) fn parse(table: Table, bytes: &[u8]) -> Option<Vec<Row>> {
    let n = u32_at(bytes, 0)? as usize;
    let size = table.row_size();
    if bytes.len() < 4 + n.checked_mul(size)? {
        return None;
    }
    (0..n)
        .map(|i| {
            let r = &bytes[4 + i * size..4 + (i + 1) * size];
            Some(match table {
                Table::Tcp4 => Row {
                    state: tcp_state(u32_at(r, 0)?)?,
                    local: SocketAddr::new(v4_at(r, 4)?, port_at(r, 8)?),
                    remote: remote(v4_at(r, 12)?, port_at(r, 16)?),
                    pid: u32_at(r, 20)?,
                    socket: 0,
                },
                Table::Tcp6 => Row {
                    local: SocketAddr::new(v6_at(r, 0)?, port_at(r, 20)?),
                    remote: remote(v6_at(r, 24)?, port_at(r, 44)?),
                    state: tcp_state(u32_at(r, 48)?)?,
                    pid: u32_at(r, 52)?,
                    socket: 0,
                },
                Table::Udp4 => Row {
                    state: SocketState::UdpBound,
                    local: SocketAddr::new(v4_at(r, 0)?, port_at(r, 4)?),
                    remote: None,
                    pid: u32_at(r, 8)?,
                    socket: 0,
                },
                Table::Udp6 => Row {
                    state: SocketState::UdpBound,
                    local: SocketAddr::new(v6_at(r, 0)?, port_at(r, 20)?),
                    remote: None,
                    pid: u32_at(r, 24)?,
                    socket: 0,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[Vec<u8>]) -> Vec<u8> {
        let mut b = (rows.len() as u32).to_le_bytes().to_vec();
        for r in rows {
            b.extend_from_slice(r);
        }
        b
    }

    fn port(p: u16) -> [u8; 4] {
        let [hi, lo] = p.to_be_bytes();
        [hi, lo, 0, 0]
    }

    /// A TCP v4 table as Windows 11 filled it: node.exe (pid 11820)
    /// listening on 127.0.0.1:5173 and one connection to it.
    #[test]
    fn tcp4_rows() {
        let listen = [&2u32.to_le_bytes()[..], &[127, 0, 0, 1], &port(5173), &[0; 4], &[0; 4], &11820u32.to_le_bytes()];
        let estab = [
            &5u32.to_le_bytes()[..],
            &[127, 0, 0, 1],
            &port(5173),
            &[127, 0, 0, 1],
            &port(61544),
            &11820u32.to_le_bytes(),
        ];
        let bytes = table(&[listen.concat(), estab.concat()]);
        let rows = parse(Table::Tcp4, &bytes).unwrap();
        assert_eq!(rows[0].state, SocketState::Listen);
        assert_eq!(rows[0].local.to_string(), "127.0.0.1:5173");
        assert_eq!((rows[0].remote, rows[0].pid), (None, 11820));
        assert_eq!(rows[1].state, SocketState::Established);
        assert_eq!(rows[1].remote.unwrap().to_string(), "127.0.0.1:61544");
        assert_eq!(parse(Table::Tcp4, &bytes[..bytes.len() - 1]), None, "cut short");
        let mut bad = bytes.clone();
        bad[4] = 99;
        assert_eq!(parse(Table::Tcp4, &bad), None, "no such state");
    }

    #[test]
    fn tcp6_and_udp_rows() {
        let any6 = [0u8; 16];
        let one6 = Ipv6Addr::LOCALHOST.octets();
        let l6 =
            [&one6[..], &[0; 4], &port(5173), &any6, &[0; 4], &[0; 4], &2u32.to_le_bytes(), &11820u32.to_le_bytes()];
        let rows = parse(Table::Tcp6, &table(&[l6.concat()])).unwrap();
        assert_eq!(
            (rows[0].local.to_string(), rows[0].state, rows[0].pid),
            ("[::1]:5173".into(), SocketState::Listen, 11820)
        );
        let u4 = [&[0u8, 0, 0, 0][..], &port(5353), &2044u32.to_le_bytes()];
        let rows = parse(Table::Udp4, &table(&[u4.concat()])).unwrap();
        assert_eq!(
            (rows[0].local.to_string(), rows[0].state, rows[0].pid),
            ("0.0.0.0:5353".into(), SocketState::UdpBound, 2044)
        );
        let u6 = [&any6[..], &[0; 4], &port(5353), &0u32.to_le_bytes()];
        let rows = parse(Table::Udp6, &table(&[u6.concat()])).unwrap();
        assert_eq!((rows[0].local.to_string(), rows[0].pid), ("[::]:5353".into(), 0));
        assert_eq!(parse(Table::Udp6, &table(&[])).unwrap(), []);
    }
}
