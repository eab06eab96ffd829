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

use std::cell::RefCell;
use std::rc::Rc;

use napi::bindgen_prelude::{Env, JsObjectValue, Object, Unknown};
use napi::ValueType;
use napi_derive::napi;
use port4me::values::{count_from_f64, js_number, parse_protocol, port_from_f64};
use port4me_registry::{
    AllocateOptions, Config, Filter, Owner, Protocol, RegisterOptions, Registry, ReleaseOptions, ReserveOptions,
    ServiceDefinition,
};

use crate::args::{self, Kind};
use crate::errors::{guard_in, to_js, Failure, ERR_REGISTRY_CLOSED};
use crate::options::Query;

/// Options of `registry.modules.allocate`.
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "AllocateOptions", rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AllocateArgs {
    /// Keep the module's other ranges of this protocol and add one more
    /// (default: replace them).
    #[ts(optional)]
    pub keep_existing: Option<bool>,
}

/// Options of the `release` of `registry.modules` and `registry.services`,
/// and of `registry.services.undefine`.
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "ForceOptions", rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ForceArgs {
    /// Also release what another OS user allocated or accepted (for
    /// `undefine`: the ports the service's instances hold). Default `false`.
    #[ts(optional)]
    pub force: Option<bool>,
}

/// Options of `registry.services.define`.
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "DefineServiceOptions", rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DefineServiceArgs {
    /// Allow ports below 1024 or from 49152 on. Default `false`.
    #[ts(optional)]
    pub force: Option<bool>,
    /// `"tcp"` (default) or `"udp"`.
    #[ts(optional, type = "\"tcp\" | \"udp\" | (string & {})")]
    pub protocol: Option<String>,
}

/// Filters of `registry.registrations.find`; all given ones must match.
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "RegistrationFilter", rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FindArgs {
    /// The service name asked for at registration (exact).
    #[ts(optional)]
    pub service: Option<String>,
    /// A prefix of the registration name.
    #[ts(optional)]
    pub beginswith: Option<String>,
    /// The owning user (exact).
    #[ts(optional)]
    pub user: Option<String>,
}

/// Options of `registry.services.show`: one instance, or the instance on
/// one port.
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "ShowServiceOptions", rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ShowArgs {
    /// Only this instance.
    #[ts(optional)]
    pub instance: Option<String>,
    /// Only the instance on this port.
    #[ts(optional)]
    pub port: Option<f64>,
}

// What each options object accepts: its keys and their kinds. The types
// above are their TypeScript; a test ties each list to its type's fields.
const ALLOCATE: &[(&str, Kind)] = &[("keepExisting", Kind::Boolean)];
const FORCE: &[(&str, Kind)] = &[("force", Kind::Boolean)];
const DEFINE: &[(&str, Kind)] = &[("force", Kind::Boolean), ("protocol", Kind::String)];
const FIND: &[(&str, Kind)] = &[("service", Kind::String), ("beginswith", Kind::String), ("user", Kind::String)];
const SHOW: &[(&str, Kind)] = &[("instance", Kind::String), ("port", Kind::Number)];

/// An optional protocol argument: `None` when absent.
fn protocol_arg(env: &Env, protocol: &Unknown) -> Result<Option<Protocol>, Failure> {
    Ok(args::optional_string(env, protocol, "protocol")?.as_deref().map(parse_protocol).transpose()?)
}

/// `(protocol?, options?)`, where an object in the protocol's place is the
/// options.
fn protocol_and_options<'a>(
    protocol: &'a Unknown<'a>,
    options: &'a Unknown<'a>,
) -> Result<(&'a Unknown<'a>, &'a Unknown<'a>), Failure> {
    let is_undefined = |v: &Unknown| v.get_type().map(|t| t == ValueType::Undefined).unwrap_or(false);
    if is_undefined(options) && protocol.get_type().map(|t| t == ValueType::Object).unwrap_or(false) {
        return Ok((options, protocol));
    }
    Ok((protocol, options))
}

/// A number of the registry API that must be a whole number (a count or a
/// port bound); the crate checks the range itself, with its own codes.
fn whole(v: f64, what: &'static str, source: &'static str) -> Result<u32, Failure> {
    Ok(count_from_f64(v, what, source, 0, u64::from(u32::MAX))? as u32)
}

/// A port bound of `services.define`: a whole number (0 and 70000 go on to
/// the crate, which names the service in its message).
fn bound(v: f64, what: &str) -> Result<u32, Failure> {
    if v.is_finite() && v == v.trunc() && (0.0..=f64::from(u32::MAX)).contains(&v) {
        return Ok(v as u32);
    }
    Err(port4me::Error::PortNotInteger { source_name: what.into(), value: js_number(v) }.into())
}

/// The open database, shared by a `Registry` and its groups; `None` once
/// closed. Everything runs on the JS thread.
struct Open {
    registry: Option<Registry>,
    path: String,
}

#[derive(Clone)]
struct Handle(Rc<RefCell<Open>>);

impl Handle {
    /// Runs `f` on the open registry, or says it was closed.
    fn with<T>(&self, f: impl FnOnce(&Registry) -> Result<T, Failure>) -> Result<T, Failure> {
        let open = self.0.borrow();
        match &open.registry {
            Some(r) => f(r),
            None => Err(Failure::new(
                ERR_REGISTRY_CLOSED,
                format!("the registry {} was closed; open a new Registry", open.path),
            )),
        }
    }
}

/// A variable of the environment as JavaScript sees it: `process.env`,
/// which is a worker thread's own copy there.
fn js_env_var(env: &Env, name: &str) -> Option<std::ffi::OsString> {
    let process: Object = env.get_global().ok()?.get_named_property("process").ok()?;
    let vars: Object = process.get_named_property("env").ok()?;
    let value: Unknown = vars.get_named_property(name).ok()?;
    (value.get_type().ok()? == ValueType::String).then(|| unsafe { value.cast::<String>() }.ok().map(Into::into))?
}

/// The default registry (`PORT4ME_DB`, else the user's state directory),
/// found through `process.env`: `new Registry()`'s and `ps()`'s.
pub(crate) fn default_registry(env: &Env) -> Result<Registry, Failure> {
    Ok(Registry::open_default_from(|k| js_env_var(env, k), Config::default())?)
}

/// A port registry database (SQLite, safe across processes), by job:
/// `modules`, `services`, `registrations` and `leases`. Every method is
/// synchronous and one transaction.
#[napi(js_name = "Registry")]
pub struct JsRegistry {
    handle: Handle,
}

#[napi]
impl JsRegistry {
    /// Opens (creating if needed) the registry at `path`, or the default one
    /// (`PORT4ME_DB`, else the user's state directory) when `path` is absent.
    #[napi(constructor)]
    pub fn new(env: Env, path: Unknown) -> napi::Result<Self, String> {
        guard_in(&env, || {
            let registry = match args::optional_string(&env, &path, "path")? {
                Some(p) => Registry::open(p)?,
                None => default_registry(&env)?,
            };
            let path = registry.path().to_string_lossy().into_owned();
            Ok(JsRegistry { handle: Handle(Rc::new(RefCell::new(Open { registry: Some(registry), path }))) })
        })
    }

    /// The database file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.handle.0.borrow().path.clone()
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.0.borrow().registry.is_none()
    }

    /// Module ranges.
    #[napi(getter)]
    pub fn modules(&self) -> RegistryModules {
        RegistryModules { handle: self.handle.clone() }
    }

    /// Services, offers and instances.
    #[napi(getter)]
    pub fn services(&self) -> RegistryServices {
        RegistryServices { handle: self.handle.clone() }
    }

    /// Named registrations.
    #[napi(getter)]
    pub fn registrations(&self) -> RegistryRegistrations {
        RegistryRegistrations { handle: self.handle.clone() }
    }

    /// Leases of `port4me({ reserve })`.
    #[napi(getter)]
    pub fn leases(&self) -> RegistryLeases {
        RegistryLeases { handle: self.handle.clone() }
    }

    /// Everything the registry holds, in one transaction, as `port4me
    /// registry list --json`: a `RegistryListing`.
    #[napi]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.listing()?)))
    }

    /// What runs: every port held for a running process (`port4me run`,
    /// the Vite plugin, `reserve` with its owner alive), in port order, as
    /// `port4me ps --json`: `Running[]`.
    #[napi(ts_return_type = "Running[]")]
    pub fn running<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.running()?)))
    }

    /// Reclaims what has lapsed; says how much: a `GcReport`.
    #[napi]
    pub fn gc<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.gc()?)))
    }

    /// Closes the database (idempotent); later calls throw
    /// `ERR_PORT4ME_REGISTRY_CLOSED`.
    #[napi]
    pub fn close(&self, env: Env) -> napi::Result<(), String> {
        guard_in(&env, || {
            let registry = self.handle.0.borrow_mut().registry.take();
            drop(registry);
            Ok(())
        })
    }
}

/// Module ranges: `n` consecutive ports per module and protocol (tables
/// `TCP_PORTS` / `UDP_PORTS`).
#[napi]
pub struct RegistryModules {
    handle: Handle,
}

#[napi]
impl RegistryModules {
    /// `n` consecutive ports for `module` (first fit in the module pool
    /// 20000-45000): a `PortRange`.
    #[napi]
    pub fn allocate<'env>(
        &self,
        env: &'env Env,
        n: Unknown,
        module: Unknown,
        protocol: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let (protocol, options) = protocol_and_options(&protocol, &options)?;
            let n = whole(args::number(env, &n, "n")?, "number of ports", "n")?;
            let module = args::string(env, &module, "module")?;
            let protocol = protocol_arg(env, protocol)?.unwrap_or_default();
            let o = args::options(env, options, "modules.allocate", ALLOCATE)?;
            let o = AllocateOptions { protocol, keep_existing: o.flag("keepExisting"), ..Default::default() };
            self.handle.with(|r| to_js(env, &r.modules().allocate(n, &module, o)?))
        })
    }

    /// Releases every range of `module` (for `protocol`, TCP by default; any
    /// name, also ones other tools wrote); returns them. Ranges another OS
    /// user allocated need `{ force: true }`.
    #[napi]
    pub fn release<'env>(
        &self,
        env: &'env Env,
        module: Unknown,
        protocol: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let (protocol, options) = protocol_and_options(&protocol, &options)?;
            let module = args::string(env, &module, "module")?;
            let protocol = protocol_arg(env, protocol)?.unwrap_or_default();
            let force = args::options(env, options, "modules.release", FORCE)?.flag("force");
            self.handle.with(|r| to_js(env, &r.modules().release(&module, ReleaseOptions { protocol, force })?))
        })
    }

    /// Every module range (of `protocol`, else of both), in protocol and
    /// port order.
    #[napi]
    pub fn list<'env>(&self, env: &'env Env, protocol: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let protocol = protocol_arg(env, &protocol)?;
            self.handle.with(|r| to_js(env, &r.modules().list(protocol)?))
        })
    }
}

/// Services: fixed ranges whose ports are offered to instances (offer, then
/// accept or reject).
#[napi]
pub struct RegistryServices {
    handle: Handle,
}

#[napi]
impl RegistryServices {
    /// Defines the service `name` owning the ports `start`-`end`: a `Service`.
    #[napi]
    pub fn define<'env>(
        &self,
        env: &'env Env,
        name: Unknown,
        description: Unknown,
        start: Unknown,
        end: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let name = args::string(env, &name, "name")?;
            let description = args::string(env, &description, "description")?;
            let start = args::number(env, &start, "start")?;
            let end = args::number(env, &end, "end")?;
            let o = args::options(env, &options, "services.define", DEFINE)?;
            let def = ServiceDefinition {
                start: bound(start, "start")?,
                end: bound(end, "end")?,
                protocol: o.string("protocol").as_deref().map(parse_protocol).transpose()?.unwrap_or_default(),
                force: o.flag("force"),
                name,
                description,
            };
            self.handle.with(|r| to_js(env, &r.services().define(&def)?))
        })
    }

    /// Deletes the service `name` and frees its range; while instances hold
    /// ports of it only with `{ force: true }`, which releases them.
    #[napi]
    pub fn undefine<'env>(
        &self,
        env: &'env Env,
        name: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let name = args::string(env, &name, "name")?;
            let force = args::options(env, &options, "services.undefine", FORCE)?.flag("force");
            self.handle.with(|r| to_js(env, &r.services().undefine(&name, ReleaseOptions::forced(force))?))
        })
    }

    /// Offers the lowest free port of `service` to `instance`, with a secret
    /// to accept or reject it: an `Offer`.
    #[napi]
    pub fn offer<'env>(
        &self,
        env: &'env Env,
        service: Unknown,
        instance: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let service = args::string(env, &service, "service")?;
            let instance = args::string(env, &instance, "instance")?;
            self.handle.with(|r| to_js(env, &r.services().offer(&service, &instance)?))
        })
    }

    /// Accepts the offer with this secret: the port becomes the instance's.
    #[napi]
    pub fn accept<'env>(&self, env: &'env Env, secret: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let secret = args::string(env, &secret, "secret")?;
            self.handle.with(|r| to_js(env, &r.services().accept(&secret)?))
        })
    }

    /// Rejects the offer with this secret: the port returns to the service.
    #[napi]
    pub fn reject<'env>(&self, env: &'env Env, secret: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let secret = args::string(env, &secret, "secret")?;
            self.handle.with(|r| to_js(env, &r.services().reject(&secret)?))
        })
    }

    /// Releases what `instance` holds in `service` (an offer or an
    /// allocation); another OS user's allocation needs `{ force: true }`.
    #[napi]
    pub fn release<'env>(
        &self,
        env: &'env Env,
        service: Unknown,
        instance: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let service = args::string(env, &service, "service")?;
            let instance = args::string(env, &instance, "instance")?;
            let force = args::options(env, &options, "services.release", FORCE)?.flag("force");
            self.handle.with(|r| to_js(env, &r.services().release(&service, &instance, ReleaseOptions::forced(force))?))
        })
    }

    /// Every defined service, with the ports its instances hold (`ports`).
    #[napi]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.services().list()?)))
    }

    /// The ports of `service` its instances hold, in port order (or only
    /// `{ instance }`'s, or the one on `{ port }`).
    #[napi]
    pub fn show<'env>(
        &self,
        env: &'env Env,
        service: Unknown,
        options: Unknown,
    ) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let service = args::string(env, &service, "service")?;
            let o = args::options(env, &options, "services.show", SHOW)?;
            let instance = o.string("instance");
            // An instance wins over a port, which is then not looked at.
            let port = match instance {
                Some(_) => None,
                None => o.number("port").map(|p| port_from_f64(p, "options.port")).transpose()?,
            };
            self.handle.with(|r| to_js(env, &r.services().show(&service, instance.as_deref(), port)?))
        })
    }
}

/// Named registrations: per-user names with a port, held while their owner
/// process runs.
#[napi]
pub struct RegistryRegistrations {
    handle: Handle,
}

#[napi]
impl RegistryRegistrations {
    /// Registers `service` for this user and process (`web`, then `web_1`,
    /// ...): a `Registration`.
    #[napi]
    pub fn register<'env>(&self, env: &'env Env, service: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let service = args::string(env, &service, "service")?;
            self.handle.with(|r| to_js(env, &r.registrations().register(&service, RegisterOptions::default())?))
        })
    }

    /// Releases this user's registration `name`; returns it.
    #[napi]
    pub fn release<'env>(&self, env: &'env Env, name: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let name = args::string(env, &name, "name")?;
            self.handle.with(|r| to_js(env, &r.registrations().release(&name)?))
        })
    }

    /// The live registrations matching every filter given.
    #[napi]
    pub fn find<'env>(&self, env: &'env Env, filter: Unknown) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || {
            let f = args::options(env, &filter, "registrations.find", FIND)?;
            let filter =
                Filter { service: f.string("service"), beginswith: f.string("beginswith"), user: f.string("user") };
            self.handle.with(|r| to_js(env, &r.registrations().find(&filter)?))
        })
    }

    /// Every live registration.
    #[napi]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.registrations().list()?)))
    }
}

/// Leases: the short reservations of `port4me({ reserve })`.
#[napi]
pub struct RegistryLeases {
    handle: Handle,
}

#[napi]
impl RegistryLeases {
    /// Every live lease, in protocol and port order.
    #[napi]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>, String> {
        guard_in(env, || self.handle.with(|r| to_js(env, &r.leases().list()?)))
    }

    /// Ends this user's lease on `port` (`protocol`, TCP by default) early;
    /// whether there was one. Another user's lease throws.
    #[napi]
    pub fn release(&self, env: Env, port: Unknown, protocol: Unknown) -> napi::Result<bool, String> {
        guard_in(&env, || {
            let port = port_from_f64(args::number(&env, &port, "port")?, "port")?;
            let protocol = protocol_arg(&env, &protocol)?.unwrap_or_default();
            self.handle.with(|r| Ok(r.leases().release(port, protocol)?))
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

thread_local! {
    /// Whether this thread's Node environment has the hook that leaves the
    /// kept registries at its exit ([`leave_kept`]).
    static LEAVES_KEPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// When `env` (this thread's Node environment) ends, the logs of the
/// registries kept here are emptied once they have grown long
/// ([`Registry::trim_log`]). The handles stay open to the process's exit
/// (a checkpoint on close costs two flushes), as `port4me run` leaves its
/// own, and the log does not grow without end over many processes. A
/// worker thread's end trims them too, which is harmless.
fn leave_kept(env: &Env) {
    if LEAVES_KEPT.with(|l| l.replace(true)) {
        return;
    }
    let hook = env.add_env_cleanup_hook((), |()| {
        let kept: Vec<_> = OPEN.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(_, _, r)| r.clone()).collect();
        for reg in kept {
            reg.trim_log();
        }
    });
    if hook.is_err() {
        LEAVES_KEPT.with(|l| l.set(false));
    }
}

/// The registry at the default path `var` names: a kept handle when its file
/// is still the same, else a new one (kept for next time).
fn open_kept(
    env: &Env,
    var: impl Fn(&str) -> Option<std::ffi::OsString> + Copy,
) -> Result<std::sync::Arc<Registry>, Failure> {
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
        leave_kept(env);
    }
    Ok(reg)
}

impl Reservation {
    /// The registry `q` reserves in, when it asks for a reservation: the
    /// `PORT4ME_DB` of the caller's own `env` when it has one, else the
    /// default registry of the process environment.
    pub fn for_query(env: &Env, q: &Query) -> Result<Option<Reservation>, Failure> {
        let Some(ttl) = q.reserve() else { return Ok(None) };
        let registry = match q.given_var("PORT4ME_DB") {
            // The caller's PORT4ME_DB (its directory must exist); the state
            // directory still comes from the process.
            Some(Some(path)) if !path.is_empty() => {
                let path = path.clone();
                open_kept(env, |k| if k == "PORT4ME_DB" { Some(path.clone()) } else { std::env::var_os(k) })?
            }
            _ => open_kept(env, |k| std::env::var_os(k))?,
        };
        Ok(Some(Reservation { registry, ttl }))
    }

    /// Finds a port for `query` as `find` would, skipping every port the
    /// registry holds, and leases it to this process for the time-to-live.
    pub fn reserve(&self, query: &port4me::Port4me) -> Result<u16, Failure> {
        let options = ReserveOptions { ttl: self.ttl, owner: Owner::Current, label: None };
        Ok(self.registry.leases().reserve(query, &options)?.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ts_rs::TS;

    /// Each options list accepts exactly its TypeScript type's fields, with
    /// their types: the declaration and the check cannot drift apart.
    #[test]
    fn the_option_lists_are_the_typescript_fields() {
        let cfg = ts_rs::Config::new();
        for (decl, spec) in [
            (AllocateArgs::decl(&cfg), ALLOCATE),
            (ForceArgs::decl(&cfg), FORCE),
            (DefineServiceArgs::decl(&cfg), DEFINE),
            (FindArgs::decl(&cfg), FIND),
            (ShowArgs::decl(&cfg), SHOW),
        ] {
            let mut body = decl[decl.find('{').unwrap() + 1..decl.rfind('}').unwrap()].to_string();
            while let Some(start) = body.find("/**") {
                let end = start + body[start..].find("*/").unwrap() + 2;
                body.replace_range(start..end, "");
            }
            let fields: Vec<(String, String)> = body
                .split(',')
                .filter_map(|f| f.split_once("?:"))
                .map(|(k, t)| (k.trim().to_string(), t.trim().to_string()))
                .collect();
            assert_eq!(fields.len(), spec.len(), "{decl}");
            for ((key, ty), (k, kind)) in fields.iter().zip(spec) {
                assert_eq!(key, k, "{decl}");
                let expected = match kind {
                    Kind::String => "string",
                    Kind::Number => "number",
                    Kind::Boolean => "boolean",
                };
                assert!(ty.starts_with(expected) || ty.contains(&format!("({expected} &")), "{key}: {ty} in {decl}");
            }
        }
    }
}
