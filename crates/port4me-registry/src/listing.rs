//! Everything the registry holds, read in one transaction
//! ([`Registry::listing`]): what `port4me registry list --json` prints and
//! the Node API's `registry.list()` returns.

use crate::error::Result;
use crate::leases::{leases_in, Lease};
use crate::modules::{mirror_rows_in, modules_in, MirrorRow, ModuleRange};
use crate::registrations::{find_in, Filter, Registration};
use crate::services::{services_with_ports_in, ServiceWithPorts};
use crate::Registry;

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
