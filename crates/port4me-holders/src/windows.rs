//! Windows: the TCP (v4, v6) and UDP (v4, v6) tables Windows keeps with
//! owner pids (`GetExtendedTcpTable`, `GetExtendedUdpTable`), joined with
//! the processes behind the pids (`port4me-process`).

use std::collections::BTreeMap;

use port4me::Protocol;
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, GetExtendedUdpTable, TCP_TABLE_OWNER_PID_ALL, UDP_TABLE_OWNER_PID,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};

use crate::error::{Error, Result};
use crate::model::Holder;
use crate::table::{join, Row};
use crate::win_table::{parse, Table};

/// The bytes of one table, grown until Windows says they fit.
fn read(table: Table) -> Result<Vec<u8>> {
    let (family, what) = match table {
        Table::Tcp4 => (AF_INET, "TCP (IPv4)"),
        Table::Tcp6 => (AF_INET6, "TCP (IPv6)"),
        Table::Udp4 => (AF_INET, "UDP (IPv4)"),
        Table::Udp6 => (AF_INET6, "UDP (IPv6)"),
    };
    let mut size = 16 * 1024u32;
    for _ in 0..8 {
        // u32 rows: a buffer aligned for them.
        let mut buf = vec![0u32; (size as usize).div_ceil(4)];
        let mut len = u32::try_from(buf.len() * 4).unwrap_or(u32::MAX);
        // SAFETY: `buf` is valid for `len` bytes; the call writes at most
        // that many, or sets `len` to the size it needs.
        let rc = unsafe {
            match table {
                Table::Tcp4 | Table::Tcp6 => GetExtendedTcpTable(
                    buf.as_mut_ptr().cast(),
                    &mut len,
                    0,
                    u32::from(family),
                    TCP_TABLE_OWNER_PID_ALL,
                    0,
                ),
                Table::Udp4 | Table::Udp6 => {
                    GetExtendedUdpTable(buf.as_mut_ptr().cast(), &mut len, 0, u32::from(family), UDP_TABLE_OWNER_PID, 0)
                }
            }
        };
        match rc {
            NO_ERROR => {
                let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
                return Ok(bytes);
            }
            // The table grew between the two calls: ask again with room to spare.
            ERROR_INSUFFICIENT_BUFFER => size = len.saturating_add(len / 4).max(size * 2),
            // No IPv6 stack.
            _ if family == AF_INET6 => return Ok(0u32.to_le_bytes().to_vec()),
            code => {
                return Err(Error::SocketTable {
                    what: format!("{what} (GetExtended{}Table)", if what.starts_with("TCP") { "Tcp" } else { "Udp" }),
                    message: std::io::Error::from_raw_os_error(code as i32).to_string(),
                })
            }
        }
    }
    Err(Error::SocketTable { what: what.to_string(), message: "it kept growing while being read".to_string() })
}

fn rows(protocol: Protocol) -> Result<Vec<Row>> {
    let tables = match protocol {
        Protocol::Udp => [Table::Udp4, Table::Udp6],
        _ => [Table::Tcp4, Table::Tcp6],
    };
    let mut out = Vec::new();
    for t in tables {
        let bytes = read(t)?;
        out.extend(parse(t, &bytes).ok_or_else(|| Error::SocketTable {
            what: format!("{t:?}"),
            message: "Windows returned a table that could not be read".to_string(),
        })?);
    }
    Ok(out)
}

pub(crate) fn holders(ports: &[u16], protocol: Protocol) -> Result<BTreeMap<u16, Vec<Holder>>> {
    Ok(join(rows(protocol)?, protocol, ports, &mut port4me_process::lookup))
}

/// Windows has no privileged ports.
pub(crate) fn unprivileged_port_start() -> u16 {
    0
}

/// The tables list every socket, whoever owns it.
pub(crate) fn sees_every_socket() -> bool {
    true
}
