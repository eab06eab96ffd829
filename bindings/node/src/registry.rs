//! The port registry (`port4me-registry`): the `Registry` class, and the
//! registry side of `port4me({ reserve })`.
//!
//! Every method is one SQLite transaction of the Rust crate, run on the JS
//! thread (they take about a millisecond). Results are the crate's own serde
//! forms (feature `serde`: camelCase, times as RFC 3339 strings), the JSON
//! `port4me registry ... --json` prints, converted to JS values by napi's
//! serde serializer; the JS layer hands them on as they are. Errors carry
//! the crate's stable codes (`ERR_PORT4ME_REGISTRY_*`); a call after
//! `close()` is `ERR_PORT4ME_REGISTRY_CLOSED`.

use std::time::Duration;

use napi::bindgen_prelude::{Env, Unknown};
use napi_derive::napi;
use port4me::values::{count_from_f64, js_number, parse_protocol, port_from_f64};
use port4me_registry::{
    AllocateOptions, Filter, Owner, Protocol, RegisterOptions, Registry, ReleaseOptions, ReserveOptions,
    ServiceDefinition,
};

use crate::errors::{guard, to_js, Failure, ERR_REGISTRY_CLOSED};
use crate::options::Query;

/// Options of `registry.modules.allocate`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "AllocateOptions", rename_all = "camelCase"))]
pub struct AllocateArgs {
    /// Keep the module's other ranges of this protocol and add one more
    /// (default: replace them).
    #[cfg_attr(test, ts(optional))]
    pub keep_existing: Option<bool>,
}

/// Options of the `release` of `registry.modules` and `registry.services`,
/// and of `registry.services.undefine`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ForceOptions", rename_all = "camelCase"))]
pub struct ForceArgs {
    /// Also release what another OS user allocated or accepted (for
    /// `undefine`: the ports the service's instances hold). Default `false`.
    #[cfg_attr(test, ts(optional))]
    pub force: Option<bool>,
}

/// Options of `registry.services.define`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "DefineServiceOptions", rename_all = "camelCase"))]
pub struct DefineServiceArgs {
    /// Allow ports below 1024 or from 49152 on. Default `false`.
    #[cfg_attr(test, ts(optional))]
    pub force: Option<bool>,
    /// `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
}

/// Filters of `registry.registrations.find`; all given ones must match.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "RegistrationFilter", rename_all = "camelCase"))]
pub struct FindArgs {
    /// The service name asked for at registration (exact).
    #[cfg_attr(test, ts(optional))]
    pub service: Option<String>,
    /// A prefix of the registration name.
    #[cfg_attr(test, ts(optional))]
    pub beginswith: Option<String>,
    /// The owning user (exact).
    #[cfg_attr(test, ts(optional))]
    pub user: Option<String>,
}

/// Options of `registry.services.show`: one instance, or the instance on
/// one port.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ShowServiceOptions", rename_all = "camelCase"))]
pub struct ShowArgs {
    /// Only this instance.
    #[cfg_attr(test, ts(optional))]
    pub instance: Option<String>,
    /// Only the instance on this port.
    #[cfg_attr(test, ts(optional))]
    pub port: Option<f64>,
}

/// An optional protocol argument: `None` when absent.
fn protocol_arg(protocol: Option<&str>) -> Result<Option<Protocol>, Failure> {
    Ok(protocol.map(parse_protocol).transpose()?)
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

    /// `n` consecutive ports for `module` (first fit in the module pool): a `PortRange`.
    #[napi]
    pub fn allocate<'env>(
        &self,
        env: &'env Env,
        n: f64,
        module: String,
        protocol: Option<String>,
        options: Option<AllocateArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let n = whole(n, "number of ports", "n")?;
            let protocol = protocol_arg(protocol.as_deref())?.unwrap_or_default();
            let o = AllocateOptions {
                protocol,
                keep_existing: options.unwrap_or_default().keep_existing.unwrap_or(false),
                ..Default::default()
            };
            to_js(env, &self.reg()?.modules().allocate(n, &module, o)?)
        })
    }

    /// Releases every range of `module` (any name); returns them
    /// (`PortRange[]`). Ranges another OS user allocated need `force`.
    #[napi]
    pub fn deallocate<'env>(
        &self,
        env: &'env Env,
        module: String,
        protocol: Option<String>,
        options: Option<ForceArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let protocol = protocol_arg(protocol.as_deref())?.unwrap_or_default();
            let force = options.unwrap_or_default().force.unwrap_or(false);
            to_js(env, &self.reg()?.modules().release(&module, ReleaseOptions { protocol, force })?)
        })
    }

    /// Every module range (of `protocol`, or both), in protocol and port
    /// order: `ModuleRange[]`.
    #[napi]
    pub fn modules<'env>(&self, env: &'env Env, protocol: Option<String>) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.modules().list(protocol_arg(protocol.as_deref())?)?))
    }

    /// Releases what `instance` holds in `service` (an offer or an
    /// allocation): a `ServicePort`. Another OS user's allocation needs `force`.
    #[napi(js_name = "releaseInstance")]
    pub fn release_instance<'env>(
        &self,
        env: &'env Env,
        service: String,
        instance: String,
        options: Option<ForceArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let force = options.unwrap_or_default().force.unwrap_or(false);
            to_js(env, &self.reg()?.services().release(&service, &instance, ReleaseOptions::forced(force))?)
        })
    }

    /// Defines a service with the range `start..=end`: a `Service`.
    #[napi(js_name = "defineService")]
    pub fn define_service<'env>(
        &self,
        env: &'env Env,
        name: String,
        description: String,
        start: f64,
        end: f64,
        options: Option<DefineServiceArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let o = options.unwrap_or_default();
            let def = ServiceDefinition {
                start: bound(start, "start")?,
                end: bound(end, "end")?,
                protocol: protocol_arg(o.protocol.as_deref())?.unwrap_or_default(),
                force: o.force.unwrap_or(false),
                name,
                description,
            };
            to_js(env, &self.reg()?.services().define(&def)?)
        })
    }

    /// Deletes the service `name`, freeing its range; with `force` also
    /// when instances hold ports of it (released too): a `ServiceWithPorts`.
    #[napi(js_name = "undefineService")]
    pub fn undefine_service<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<ForceArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let force = options.unwrap_or_default().force.unwrap_or(false);
            to_js(env, &self.reg()?.services().undefine(&name, ReleaseOptions::forced(force))?)
        })
    }

    /// Every defined service, with the ports its instances hold: `ServiceWithPorts[]`.
    #[napi]
    pub fn services<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.services().list()?))
    }

    /// The ports of `service` held by instances (or one, by instance or
    /// port): `ServicePort[]`.
    #[napi(js_name = "showService")]
    pub fn show_service<'env>(
        &self,
        env: &'env Env,
        service: String,
        options: Option<ShowArgs>,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let o = options.unwrap_or_default();
            // (An instance wins over a port, which is then not looked at.)
            let port = match o.instance {
                Some(_) => None,
                None => o.port.map(|p| port_from_f64(p, "options.port")).transpose()?,
            };
            to_js(env, &self.reg()?.services().show(&service, o.instance.as_deref(), port)?)
        })
    }

    /// Offers the lowest free port of `service` to `instance`: an `Offer`.
    #[napi]
    pub fn offer<'env>(
        &self,
        env: &'env Env,
        service: String,
        instance: String,
    ) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.services().offer(&service, &instance)?))
    }

    /// Accepts an offer: a `ServicePort`.
    #[napi]
    pub fn accept<'env>(&self, env: &'env Env, secret: String) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.services().accept(&secret)?))
    }

    /// Rejects an offer: a `ServicePort`.
    #[napi]
    pub fn reject<'env>(&self, env: &'env Env, secret: String) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.services().reject(&secret)?))
    }

    /// Registers `service` for the current user and process: a `Registration`.
    #[napi]
    pub fn register<'env>(&self, env: &'env Env, service: String) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.registrations().register(&service, RegisterOptions::default())?))
    }

    /// Releases the current user's registration `name`: a `Registration`.
    #[napi]
    pub fn release<'env>(&self, env: &'env Env, name: String) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.registrations().release(&name)?))
    }

    /// Every live registration: `Registration[]`.
    #[napi]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.registrations().list()?))
    }

    /// The live registrations matching every given filter: `Registration[]`.
    #[napi]
    pub fn find<'env>(&self, env: &'env Env, filter: Option<FindArgs>) -> napi::Result<Unknown<'env>, String> {
        guard(|| {
            let f = filter.unwrap_or_default();
            let filter = Filter { service: f.service, beginswith: f.beginswith, user: f.user };
            to_js(env, &self.reg()?.registrations().find(&filter)?)
        })
    }

    /// Every live lease, in protocol and port order: `Lease[]`.
    #[napi]
    pub fn leases<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.leases().list()?))
    }

    /// Ends the current user's lease on `port` early; whether there was one.
    #[napi(js_name = "releaseLease")]
    pub fn release_lease(&self, port: f64, protocol: Option<String>) -> napi::Result<bool, String> {
        guard(|| {
            let port = port_from_f64(port, "port")?;
            let protocol = protocol_arg(protocol.as_deref())?.unwrap_or_default();
            Ok(self.reg()?.leases().release(port, protocol)?)
        })
    }

    /// Everything the registry holds, in one transaction, as `port4me
    /// registry list --json`: a `RegistryListing`.
    #[napi(js_name = "listAll")]
    pub fn list_all<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.listing()?))
    }

    /// Reclaims what has lapsed; says how much: a `GcReport`.
    #[napi]
    pub fn gc<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard(|| to_js(env, &self.reg()?.gc()?))
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
            // The caller's PORT4ME_DB (its directory must exist); the state
            // directory still comes from the process.
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
        Ok(self.registry.leases().reserve(query, &options)?.port)
    }
}
