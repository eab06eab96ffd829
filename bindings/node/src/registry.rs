//! The port registry (`port4me-registry`): the `Registry` class, and the
//! registry side of `port4me({ reserve })`.
//!
//! Every method is one SQLite transaction of the Rust crate, run on the JS
//! thread (they take about a millisecond). Results become plain objects;
//! times cross as milliseconds since the epoch (`f64`) and the JS layer turns
//! them into `Date`s. Errors carry the crate's stable codes
//! (`ERR_PORT4ME_REGISTRY_*`); a call after `close()` is
//! `ERR_PORT4ME_REGISTRY_CLOSED`.

use std::time::Duration;

use napi_derive::napi;
use port4me::values::{count_from_f64, js_number, parse_protocol};
use port4me_registry::{
    AllocateOptions, Filter, GcReport, Lease, MirrorRow, ModuleRange, Offer, Owner, PortRange, Protocol, Registration,
    Registry, ReserveOptions, Service, ServiceDefinition, ServicePort, Timestamp,
};

use crate::errors::{guard, Failure, ERR_REGISTRY_CLOSED};
use crate::options::Query;

/// An inclusive range of ports.
#[napi(object)]
pub struct RangeObject {
    /// First port.
    pub start: u32,
    /// Last port (inclusive).
    pub end: u32,
}

impl From<PortRange> for RangeObject {
    fn from(r: PortRange) -> Self {
        RangeObject { start: r.start.into(), end: r.end.into() }
    }
}

/// Options of `allocate`.
#[napi(object)]
#[derive(Default)]
pub struct AllocateArgs {
    /// Keep the module's other ranges of this protocol (default: replace them).
    pub keep_existing: Option<bool>,
}

/// Options of `deallocate` and `releaseInstance`.
#[napi(object)]
#[derive(Default)]
pub struct ForceArgs {
    /// Release what another OS user allocated or accepted too.
    pub force: Option<bool>,
}

/// Options of `defineService`.
#[napi(object)]
#[derive(Default)]
pub struct DefineServiceArgs {
    /// Allow ports below 1024 or from 49152 on.
    pub force: Option<bool>,
    /// `"tcp"` (default) or `"udp"`.
    pub protocol: Option<String>,
}

/// A defined service.
#[napi(object)]
pub struct ServiceObject {
    pub name: String,
    pub description: String,
    pub protocol: String,
    pub start: u32,
    pub end: u32,
    pub forced: bool,
    /// Milliseconds since the epoch.
    pub created: f64,
    /// The ports its instances hold (`list`, `undefine`).
    pub ports: Option<Vec<ServicePortObject>>,
}

impl From<Service> for ServiceObject {
    fn from(s: Service) -> Self {
        ServiceObject {
            name: s.name,
            description: s.description,
            protocol: s.protocol.as_str().to_string(),
            start: s.start.into(),
            end: s.end.into(),
            forced: s.forced,
            created: ms(s.created),
            ports: None,
        }
    }
}

impl From<(Service, Vec<ServicePort>)> for ServiceObject {
    fn from((s, ports): (Service, Vec<ServicePort>)) -> Self {
        ServiceObject { ports: Some(ports.into_iter().map(Into::into).collect()), ..s.into() }
    }
}

/// A module range as stored.
#[napi(object)]
pub struct ModuleObject {
    pub module: String,
    pub protocol: String,
    pub start: u32,
    pub end: u32,
    /// Who allocated it through port4me (`null` for rows other tools wrote).
    pub user: Option<String>,
    pub uid: Option<u32>,
}

impl From<ModuleRange> for ModuleObject {
    fn from(m: ModuleRange) -> Self {
        ModuleObject {
            module: m.module,
            protocol: m.protocol.as_str().to_string(),
            start: m.range.start.into(),
            end: m.range.end.into(),
            user: m.user,
            uid: m.uid,
        }
    }
}

/// A row of `TCP_PORTS`/`UDP_PORTS` that mirrors a service, registration or lease.
#[napi(object)]
pub struct MirrorObject {
    pub module: String,
    pub protocol: String,
    pub start: u32,
    pub end: u32,
    /// `"service"`, `"registration"` or `"lease"`.
    pub mirrors: String,
}

impl From<MirrorRow> for MirrorObject {
    fn from(m: MirrorRow) -> Self {
        MirrorObject {
            module: m.name,
            protocol: m.protocol.as_str().to_string(),
            start: m.range.start.into(),
            end: m.range.end.into(),
            mirrors: m.kind.as_str().to_string(),
        }
    }
}

/// A lease of `port4me({ reserve })`.
#[napi(object)]
pub struct LeaseObject {
    pub port: u32,
    pub protocol: String,
    pub label: String,
    pub user: String,
    pub uid: u32,
    /// The owner process, if any.
    pub pid: Option<u32>,
    /// Milliseconds since the epoch.
    pub created: f64,
    /// Milliseconds since the epoch.
    pub expires: f64,
}

impl From<Lease> for LeaseObject {
    fn from(l: Lease) -> Self {
        LeaseObject {
            port: l.port.into(),
            protocol: l.protocol.as_str().to_string(),
            label: l.label,
            user: l.user,
            uid: l.uid,
            pid: l.owner.map(|o| o.pid),
            created: ms(l.created),
            expires: ms(l.expires),
        }
    }
}

/// Everything the registry holds (`registry list --json`).
#[napi(object)]
pub struct ListingObject {
    pub modules: Vec<ModuleObject>,
    pub services: Vec<ServiceObject>,
    pub registrations: Vec<RegistrationObject>,
    pub leases: Vec<LeaseObject>,
    pub mirrors: Vec<MirrorObject>,
}

/// Options of `showService`: one instance, or the instance on one port.
#[napi(object)]
#[derive(Default)]
pub struct ShowArgs {
    pub instance: Option<String>,
    pub port: Option<f64>,
}

/// An offer: a port held for a service instance until accepted.
#[napi(object)]
pub struct OfferObject {
    pub service: String,
    pub instance: String,
    pub port: u32,
    /// 32 hexadecimal digits, for `accept` / `reject`.
    pub secret: String,
    /// Milliseconds since the epoch.
    pub created: f64,
    /// Milliseconds since the epoch.
    pub expires: f64,
}

impl From<Offer> for OfferObject {
    fn from(o: Offer) -> Self {
        OfferObject {
            service: o.service,
            instance: o.instance,
            port: o.port.into(),
            secret: o.secret,
            created: ms(o.created),
            expires: ms(o.expires),
        }
    }
}

/// A service port held by an instance.
#[napi(object)]
pub struct ServicePortObject {
    pub service: String,
    pub instance: String,
    pub port: u32,
    /// `"offered"` or `"allocated"`.
    pub state: String,
    /// Milliseconds since the epoch.
    pub created: f64,
    /// Milliseconds since the epoch, `null` once accepted.
    pub expires: Option<f64>,
    /// Who accepted it (OS user name), when recorded.
    pub user: Option<String>,
}

impl From<ServicePort> for ServicePortObject {
    fn from(p: ServicePort) -> Self {
        ServicePortObject {
            service: p.service,
            instance: p.instance,
            port: p.port.into(),
            state: p.state.as_str().to_string(),
            created: ms(p.created),
            expires: p.expires.map(ms),
            user: p.user,
        }
    }
}

/// A named registration.
#[napi(object)]
pub struct RegistrationObject {
    pub name: String,
    pub service: String,
    pub protocol: String,
    pub port: u32,
    pub user: String,
    pub uid: u32,
    /// The owner process.
    pub pid: u32,
    pub host: String,
    /// Milliseconds since the epoch.
    pub created: f64,
}

impl From<Registration> for RegistrationObject {
    fn from(r: Registration) -> Self {
        RegistrationObject {
            name: r.name,
            service: r.service,
            protocol: r.protocol.as_str().to_string(),
            port: r.port.into(),
            user: r.user,
            uid: r.uid,
            pid: r.owner.pid,
            host: r.host,
            created: ms(r.created),
        }
    }
}

/// Filters of `find`.
#[napi(object)]
#[derive(Default)]
pub struct FindArgs {
    pub service: Option<String>,
    pub beginswith: Option<String>,
    pub user: Option<String>,
}

/// What `gc` reclaimed.
#[napi(object)]
pub struct GcObject {
    pub registrations: u32,
    pub leases: u32,
    pub offers: u32,
    pub total: u32,
}

impl From<GcReport> for GcObject {
    fn from(g: GcReport) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        GcObject { registrations: n(g.registrations), leases: n(g.leases), offers: n(g.offers), total: n(g.total()) }
    }
}

fn ms(t: Timestamp) -> f64 {
    t.millis() as f64
}

fn all<T, U: From<T>>(v: Vec<T>) -> Vec<U> {
    v.into_iter().map(Into::into).collect()
}

fn registrations(v: Vec<Registration>) -> Vec<RegistrationObject> {
    all(v)
}

/// An optional protocol argument: `None` when absent.
fn protocol_arg(protocol: Option<&str>) -> Result<Option<Protocol>, Failure> {
    Ok(protocol.map(parse_protocol).transpose()?)
}

/// Every service, with the ports its instances hold.
fn services_with_ports(reg: &Registry) -> Result<Vec<ServiceObject>, Failure> {
    let mut out = Vec::new();
    for s in reg.services()? {
        let ports = reg.service_ports(&s.name)?;
        out.push((s, ports).into());
    }
    Ok(out)
}

/// A number of the registry API that must be a whole number (a count or a
/// port bound); the crate checks the range itself, with its own codes.
fn whole(v: f64, what: &'static str, source: &'static str) -> Result<u32, Failure> {
    Ok(count_from_f64(v, what, source, 0, u64::from(u32::MAX))? as u32)
}

/// A port bound of `defineService`: a whole number (0 and 70000 go on to the
/// crate, which names the service in its message).
fn bound(v: f64, what: &str) -> Result<u32, Failure> {
    if v.is_finite() && v == v.trunc() && (0.0..=f64::from(u32::MAX)).contains(&v) {
        return Ok(v as u32);
    }
    Err(port4me::Error::PortNotInteger { source_name: what.into(), value: js_number(v) }.into())
}

/// A handle on a registry database (the JS `Registry` class wraps it).
#[napi(js_name = "Registry")]
pub struct NativeRegistry {
    inner: Option<Registry>,
    path: String,
}

impl NativeRegistry {
    fn reg(&self) -> Result<&Registry, Failure> {
        self.inner.as_ref().ok_or_else(|| {
            Failure::new(ERR_REGISTRY_CLOSED, format!("the registry {} was closed; open a new Registry", self.path))
        })
    }
}

#[napi]
impl NativeRegistry {
    /// Opens (creating if needed) the registry at `path`, or the default one
    /// (`PORT4ME_DB`, else the user's state directory) when `path` is absent.
    #[napi(constructor)]
    pub fn new(path: Option<String>) -> napi::Result<Self, String> {
        guard(|| {
            let reg = match path {
                Some(p) => Registry::open(p)?,
                None => Registry::open_default()?,
            };
            let path = reg.path().to_string_lossy().into_owned();
            Ok(NativeRegistry { inner: Some(reg), path })
        })
    }

    /// The database file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// `n` consecutive ports for `module` (first fit in the module pool).
    #[napi]
    pub fn allocate(
        &self,
        n: f64,
        module: String,
        protocol: Option<String>,
        options: Option<AllocateArgs>,
    ) -> napi::Result<RangeObject, String> {
        guard(|| {
            let n = whole(n, "number of ports", "n")?;
            let protocol = protocol.as_deref().map(parse_protocol).transpose()?.unwrap_or_default();
            let o = AllocateOptions {
                keep_existing: options.unwrap_or_default().keep_existing.unwrap_or(false),
                ..Default::default()
            };
            Ok(self.reg()?.allocate_with(n, &module, protocol, &o)?.into())
        })
    }

    /// Releases every range of `module` (any name); returns them. Ranges
    /// another OS user allocated need `force`.
    #[napi]
    pub fn deallocate(
        &self,
        module: String,
        protocol: Option<String>,
        options: Option<ForceArgs>,
    ) -> napi::Result<Vec<RangeObject>, String> {
        guard(|| {
            let protocol = protocol.as_deref().map(parse_protocol).transpose()?.unwrap_or_default();
            let force = options.unwrap_or_default().force.unwrap_or(false);
            Ok(self.reg()?.deallocate_with(&module, protocol, force)?.into_iter().map(Into::into).collect())
        })
    }

    /// Releases what `instance` holds in `service` (an offer or an
    /// allocation). Another OS user's allocation needs `force`.
    #[napi(js_name = "releaseInstance")]
    pub fn release_instance(
        &self,
        service: String,
        instance: String,
        options: Option<ForceArgs>,
    ) -> napi::Result<ServicePortObject, String> {
        guard(|| {
            let force = options.unwrap_or_default().force.unwrap_or(false);
            Ok(self.reg()?.release_instance_with(&service, &instance, force)?.into())
        })
    }

    /// Defines a service with the range `start..=end`.
    #[napi(js_name = "defineService")]
    pub fn define_service(
        &self,
        name: String,
        description: String,
        start: f64,
        end: f64,
        options: Option<DefineServiceArgs>,
    ) -> napi::Result<ServiceObject, String> {
        guard(|| {
            let o = options.unwrap_or_default();
            let def = ServiceDefinition {
                start: bound(start, "start")?,
                end: bound(end, "end")?,
                protocol: o.protocol.as_deref().map(parse_protocol).transpose()?.unwrap_or_default(),
                force: o.force.unwrap_or(false),
                name,
                description,
            };
            Ok(self.reg()?.define_service_with(&def)?.into())
        })
    }

    /// Offers the lowest free port of `service` to `instance`.
    #[napi]
    pub fn offer(&self, service: String, instance: String) -> napi::Result<OfferObject, String> {
        guard(|| Ok(self.reg()?.offer(&service, &instance)?.into()))
    }

    /// Accepts an offer.
    #[napi]
    pub fn accept(&self, secret: String) -> napi::Result<ServicePortObject, String> {
        guard(|| Ok(self.reg()?.accept(&secret)?.into()))
    }

    /// Rejects an offer.
    #[napi]
    pub fn reject(&self, secret: String) -> napi::Result<ServicePortObject, String> {
        guard(|| Ok(self.reg()?.reject(&secret)?.into()))
    }

    /// Registers `service` for the current user and process.
    #[napi]
    pub fn register(&self, service: String) -> napi::Result<RegistrationObject, String> {
        guard(|| Ok(self.reg()?.register(&service)?.into()))
    }

    /// Releases the current user's registration `name`.
    #[napi]
    pub fn release(&self, name: String) -> napi::Result<RegistrationObject, String> {
        guard(|| Ok(self.reg()?.release(&name)?.into()))
    }

    /// Every live registration.
    #[napi]
    pub fn list(&self) -> napi::Result<Vec<RegistrationObject>, String> {
        guard(|| Ok(registrations(self.reg()?.list()?)))
    }

    /// The live registrations matching every given filter.
    #[napi]
    pub fn find(&self, filter: Option<FindArgs>) -> napi::Result<Vec<RegistrationObject>, String> {
        guard(|| {
            let f = filter.unwrap_or_default();
            let filter = Filter { service: f.service, beginswith: f.beginswith, user: f.user };
            Ok(registrations(self.reg()?.find(&filter)?))
        })
    }

    /// Every module range (of `protocol`, or both), in protocol and port order.
    #[napi]
    pub fn modules(&self, protocol: Option<String>) -> napi::Result<Vec<ModuleObject>, String> {
        guard(|| Ok(all(self.reg()?.modules(protocol_arg(protocol.as_deref())?)?)))
    }

    /// Every defined service, with the ports its instances hold.
    #[napi]
    pub fn services(&self) -> napi::Result<Vec<ServiceObject>, String> {
        guard(|| services_with_ports(self.reg()?))
    }

    /// The ports of `service` held by instances (or one, by instance or port).
    #[napi(js_name = "showService")]
    pub fn show_service(
        &self,
        service: String,
        options: Option<ShowArgs>,
    ) -> napi::Result<Vec<ServicePortObject>, String> {
        guard(|| {
            let reg = self.reg()?;
            let o = options.unwrap_or_default();
            let ports = match (o.instance, o.port) {
                (Some(i), _) => reg.service_instance(&service, &i)?.into_iter().collect(),
                (None, Some(p)) => {
                    let port = port4me::values::port_from_f64(p, "options.port")?;
                    let s = reg
                        .service(&service)?
                        .ok_or_else(|| port4me_registry::Error::UnknownService(service.clone()))?;
                    reg.service_port_at(port, s.protocol)?.filter(|sp| sp.service == service).into_iter().collect()
                }
                (None, None) => reg.service_ports(&service)?,
            };
            Ok(all(ports))
        })
    }

    /// Deletes the service `name`, freeing its range; with `force` also
    /// when instances hold ports of it (released too).
    #[napi(js_name = "undefineService")]
    pub fn undefine_service(&self, name: String, options: Option<ForceArgs>) -> napi::Result<ServiceObject, String> {
        guard(|| {
            let force = options.unwrap_or_default().force.unwrap_or(false);
            Ok(self.reg()?.undefine_service(&name, force)?.into())
        })
    }

    /// Every live lease, in protocol and port order.
    #[napi]
    pub fn leases(&self) -> napi::Result<Vec<LeaseObject>, String> {
        guard(|| Ok(all(self.reg()?.leases()?)))
    }

    /// Ends the current user's lease on `port` early; whether there was one.
    #[napi(js_name = "releaseLease")]
    pub fn release_lease(&self, port: f64, protocol: Option<String>) -> napi::Result<bool, String> {
        guard(|| {
            let port = port4me::values::port_from_f64(port, "port")?;
            let protocol = protocol_arg(protocol.as_deref())?.unwrap_or_default();
            Ok(self.reg()?.release_lease(port, protocol)?)
        })
    }

    /// Everything the registry holds, as `port4me registry list --json`.
    #[napi(js_name = "listAll")]
    pub fn list_all(&self) -> napi::Result<ListingObject, String> {
        guard(|| {
            let reg = self.reg()?;
            Ok(ListingObject {
                modules: all(reg.modules(None)?),
                services: services_with_ports(reg)?,
                registrations: registrations(reg.list()?),
                leases: all(reg.leases()?),
                mirrors: all(reg.mirror_rows(None)?),
            })
        })
    }

    /// Reclaims what has lapsed; reports it.
    #[napi]
    pub fn gc(&self) -> napi::Result<GcObject, String> {
        guard(|| Ok(self.reg()?.gc()?.into()))
    }

    /// Closes the database connection (idempotent).
    #[napi]
    pub fn close(&mut self) -> napi::Result<(), String> {
        guard(|| {
            self.inner = None;
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------
// `port4me({ reserve })`

/// A registry and lease time for a reserving `find`, opened on the JS thread
/// (the default path depends on the environment, which only the JS thread
/// may read), used on any thread.
pub struct Reservation {
    registry: std::sync::Arc<Registry>,
    ttl: Duration,
}

/// Registries `port4me({ reserve })` has opened, by path. Opening one costs
/// about 1.7 ms of CPU (file checks, schema, pragmas) where a write on an
/// open handle costs 0.1 ms, and a dev server or a test runner reserves
/// again and again. A handle is reused only while its path still names the
/// same file (device and inode), so a registry deleted or replaced between
/// calls is opened afresh; elsewhere than on Unix nothing is kept.
static OPEN: std::sync::Mutex<Vec<Kept>> = std::sync::Mutex::new(Vec::new());

/// A kept registry: its path, the identity of its file, the handle.
type Kept = (std::path::PathBuf, (u64, u64), std::sync::Arc<Registry>);

/// The identity of the file at `path`, where there is one to compare.
fn file_key(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The registry at the default path `var` names: a kept handle when its file
/// is still the same, else a new one (kept for next time).
fn open_kept(var: impl Fn(&str) -> Option<std::ffi::OsString> + Copy) -> Result<std::sync::Arc<Registry>, Failure> {
    let path = port4me_registry::default_path_from(var)?;
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(key) = file_key(&path) {
        if let Some((_, _, reg)) = open.iter().find(|(p, k, _)| *p == path && *k == key) {
            return Ok(reg.clone());
        }
    }
    let reg = std::sync::Arc::new(Registry::open_default_from(var, port4me_registry::Config::default())?);
    open.retain(|(p, _, _)| *p != path);
    if let Some(key) = file_key(&path) {
        open.push((path, key, reg.clone()));
    }
    Ok(reg)
}

impl Reservation {
    /// The registry `q` reserves in, when it asks for a reservation: the
    /// `PORT4ME_DB` of the caller's own `env` when it has one, else the
    /// default registry of the process environment.
    pub fn for_query(q: &Query) -> Result<Option<Reservation>, Failure> {
        let Some(ttl) = q.reserve() else { return Ok(None) };
        let registry = match q.given_var("PORT4ME_DB") {
            // The caller's PORT4ME_DB, with its directory created like the
            // default one's; the state directory still comes from the process.
            Some(Some(path)) if !path.is_empty() => {
                let path = path.clone();
                open_kept(|k| if k == "PORT4ME_DB" { Some(path.clone()) } else { std::env::var_os(k) })?
            }
            _ => open_kept(|k| std::env::var_os(k))?,
        };
        Ok(Some(Reservation { registry, ttl }))
    }

    /// Finds a port for `query` as `find` would, skipping every port the
    /// registry holds, and leases it to this process for the time-to-live.
    pub fn reserve(&self, query: &port4me::Port4me) -> Result<u16, Failure> {
        self.reserve_as(query, Owner::Current)
    }

    /// [`reserve`](Self::reserve) with the lease owned by `owner` (the CLI
    /// leases for its parent, since it exits at once).
    pub fn reserve_as(&self, query: &port4me::Port4me, owner: Owner) -> Result<u16, Failure> {
        let options = ReserveOptions { ttl: self.ttl, owner, label: None };
        Ok(self.registry.reserve_with(query, &options)?.port)
    }
}
