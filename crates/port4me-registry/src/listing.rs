//! Everything the registry holds, read in one transaction
//! ([`Registry::listing`]): what `port4me registry list --json` prints and
//! the Node API's `registry.list()` returns.

use crate::error::Result;
use crate::leases::{leases_in, Lease};
use crate::modules::{mirror_rows_in, modules_in, MirrorRow, ModuleRange};
use crate::process::ProcessId;
use crate::registrations::{find_in, Filter, Registration};
use crate::services::{services_with_ports_in, ServiceWithPorts};
use crate::{Protocol, Registry, Timestamp};

/// Everything the registry holds ([`Registry::listing`]), as `port4me
/// registry list --json` prints it (`registry.list()` in Node).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RegistryListing"))]
pub struct Listing {
    /// Every module range, in protocol and port order.
    pub modules: Vec<ModuleRange>,
    /// Every defined service, by name, with its instances' ports.
    pub services: Vec<ServiceWithPorts>,
    /// Every live registration, by user and name.
    pub registrations: Vec<Registration>,
    /// Every live lease, in protocol and port order.
    pub leases: Vec<Lease>,
    /// The rows of `TCP_PORTS`/`UDP_PORTS` that mirror the services,
    /// registrations and leases above, in protocol and port order.
    pub mirrors: Vec<MirrorRow>,
}

impl Registry {
    /// Everything the registry holds, in one transaction (so the mirror
    /// rows are those of the holdings listed): [`modules`](crate::Modules::list),
    /// [`services_with_ports`](crate::Services::list),
    /// [`list`](crate::Registrations::list), [`leases`](crate::Leases::list) and
    /// [`mirror_rows`](crate::Modules::mirror_rows) of both protocols.
    pub fn listing(&self) -> Result<Listing> {
        self.read(|ctx| {
            Ok(Listing {
                modules: modules_in(ctx, None)?,
                services: services_with_ports_in(ctx)?,
                registrations: find_in(ctx, &Filter::default())?,
                leases: leases_in(ctx)?,
                mirrors: mirror_rows_in(ctx, None)?,
            })
        })
    }
}

/// Longest command line recorded, in bytes (a longer one is cut, at a
/// character boundary, with `...`).
pub(crate) const MAX_COMMAND_BYTES: usize = 4096;

/// Where a holding was made, for `port4me ps`: the directory, its worktree,
/// the command line, and the port4me tool and seed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    pub directory: String,
    pub worktree: String,
    pub command: String,
    pub tool: String,
    pub seed: String,
}

impl Origin {
    /// This process's directory (and its worktree), `command` or else this
    /// process's own arguments, and the given tool and seed.
    pub fn here(command: Option<String>, tool: &str, seed: &str) -> Origin {
        let dir = std::env::current_dir().ok();
        let directory = dir.as_ref().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        let worktree = dir.as_deref().and_then(port4me::worktree::worktree_name).unwrap_or_default().to_string();
        let command = command.unwrap_or_else(|| {
            std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
        });
        Origin { directory, worktree, command: cut(command), tool: tool.to_string(), seed: seed.to_string() }
    }
}

/// `s` cut to [`MAX_COMMAND_BYTES`].
fn cut(mut s: String) -> String {
    if s.len() > MAX_COMMAND_BYTES {
        let mut end = MAX_COMMAND_BYTES - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// The tool of `query`'s seed, `""` when it has none.
pub(crate) fn tool_name(query: &port4me::Port4me) -> Result<String> {
    Ok(query.seed_parts()?.1.unwrap_or_default())
}

/// Which kind of holding a [`Running`] entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RunningKind"))]
pub enum RunningKind {
    /// A registration: `port4me run`, the Vite plugin, `register`.
    Registration,
    /// A lease with an owner process: `port4me({ reserve: true })`.
    Lease,
}

/// A port held for a running process ([`Registry::running`]): what
/// `port4me ps` prints, one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Running {
    /// A registration or a lease.
    pub kind: RunningKind,
    /// The registration's name, or the lease's label.
    pub name: String,
    /// The port4me tool (`""` when the holding was not made by a search).
    pub tool: String,
    /// The port4me seed (`""` when the holding was not made by a search).
    pub seed: String,
    /// The port.
    pub port: u16,
    /// The protocol.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serial::protocol"))]
    #[cfg_attr(feature = "ts", ts(type = "\"tcp\" | \"udp\""))]
    pub protocol: Protocol,
    /// The owning OS user.
    pub user: String,
    /// The owner process (`pid` and `pidStart` in JSON).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub owner: ProcessId,
    /// Host name of the machine the owner runs on.
    pub host: String,
    /// When the port was taken.
    pub created: Timestamp,
    /// Seconds since then.
    pub uptime_seconds: u32,
    /// The directory the process ran in.
    pub directory: String,
    /// The basename of that directory's git worktree.
    pub worktree: String,
    /// The command line.
    pub command: String,
    /// `http://localhost:PORT` (TCP), else `""`.
    pub url: String,
}

impl Registry {
    /// Every port held for a running process, in port order: the live
    /// registrations, and the live leases that have an owner process.
    pub fn running(&self) -> Result<Vec<Running>> {
        let (registrations, leases) = self.read(|ctx| Ok((find_in(ctx, &Filter::default())?, leases_in(ctx)?)))?;
        let now = Timestamp::now();
        let uptime =
            |t: Timestamp| u32::try_from(now.millis().saturating_sub(t.millis()).max(0) / 1000).unwrap_or(u32::MAX);
        let url = |p: Protocol, port: u16| {
            if p == Protocol::Tcp {
                format!("http://localhost:{port}")
            } else {
                String::new()
            }
        };
        let mut out: Vec<Running> = registrations
            .into_iter()
            .map(|r| Running {
                kind: RunningKind::Registration,
                url: url(r.protocol, r.port),
                uptime_seconds: uptime(r.created),
                name: r.name,
                tool: r.tool,
                seed: r.seed,
                port: r.port,
                protocol: r.protocol,
                user: r.user,
                owner: r.owner,
                host: r.host,
                created: r.created,
                directory: r.directory,
                worktree: r.worktree,
                command: r.command,
            })
            .collect();
        out.extend(leases.into_iter().filter_map(|l| {
            let owner = l.owner?;
            Some(Running {
                kind: RunningKind::Lease,
                url: url(l.protocol, l.port),
                uptime_seconds: uptime(l.created),
                seed: l.label.clone(),
                name: l.label,
                tool: l.tool,
                port: l.port,
                protocol: l.protocol,
                user: l.user,
                owner,
                host: String::new(),
                created: l.created,
                directory: l.directory,
                worktree: l.worktree,
                command: l.command,
            })
        }));
        out.sort_by_key(|r| (r.port, r.protocol.as_str()));
        Ok(out)
    }
}
