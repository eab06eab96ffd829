//! The options object shared by `port4me`, `port4meAsync` and `list`, and the
//! environment they read.
//!
//! Values arrive as JS numbers (`f64`) and strings; this module only maps
//! them onto `port4me::values`, which checks them for this addon and the
//! WebAssembly fallback alike, word for word (so that `-1`, `NaN`, `1.5` or
//! `70000` are errors naming the value instead of being wrapped or truncated
//! by an integer conversion). Type checks (a string where a number belongs,
//! `null` inside an array) are done by the npm package's JS layer first, with
//! Node's `ERR_INVALID_ARG_TYPE`; a wrong type that reaches the addon directly
//! is still an error, never a crash.
//!
//! Environment: by default the addon reads the process environment, exactly
//! like the CLI (`Port4me::new()`). On the main thread `process.env` *is* the
//! process environment (Node writes through with `setenv`). A worker thread
//! has its own copy of `process.env`, so the JS layer passes that copy as
//! `env`; callers may pass `env` themselves to resolve for another
//! environment. The async variant snapshots the relevant variables on the JS
//! thread before going to the thread pool, so it never reads `environ` while
//! JavaScript might be writing it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use port4me::values::{CheckedOptions, Lease, OptionValues, PortValues, ReserveValue};
use port4me::{Env, Port4me};

use crate::errors::Failure;

/// Ports as a specification string (`"2000-2009,4321,{chrome}"`) or an array
/// of port numbers (the JS layer joins an array with strings in it into one
/// specification string first).
pub type JsPorts = Either<String, Vec<f64>>;

/// Ports: a specification string such as `"2000-2009, 4321 {chrome}"` (ports
/// and inclusive ranges separated by commas or whitespace; `{chrome}` and
/// `{firefox}` stand for the ports those browsers block), or an array of port
/// numbers (1-65535) and/or specification strings.
// The TypeScript of the ports options, which the JS layer maps onto
// [`JsPorts`] (a declaration only: no value has this type).
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(type = "string | ReadonlyArray<number | string>")]
pub struct PortSpec;

/// Every option of `port4me`, `port4meAsync` and `list` (`reserve` is
/// theirs only, `n` is `list`'s only): where the seed and the candidate
/// sequence come from. Anything left out is read from the environment
/// exactly as the `port4me` command line does (`PORT4ME_*` variables; see
/// the package README). An explicit `prepend`, `include` or `exclude`
/// replaces only the user-level variable (`PORT4ME_PREPEND`, ...): the
/// `_SITE` variables and the browser-unsafe list (`PORT4ME_EXCLUDE_UNSAFE`)
/// still apply.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Port4meAndListOptions", rename_all = "camelCase"))]
pub struct Options {
    /// The tool part of the seed, e.g. `"vite"`. Default `PORT4ME_TOOL`; `""` means no tool.
    #[cfg_attr(test, ts(optional))]
    pub tool: Option<String>,
    /// The user part of the seed. Default (also for `""`): `PORT4ME_USER`, `LOGNAME`, `USER`, `LNAME`,
    /// `USERNAME`, then the account name.
    #[cfg_attr(test, ts(optional))]
    pub user: Option<String>,
    /// Ports tried first, in order, before the sequence (not filtered by include/exclude). Replaces
    /// `PORT4ME_PREPEND`.
    #[cfg_attr(test, ts(optional, as = "Option<PortSpec>"))]
    pub prepend: Option<JsPorts>,
    /// Only these ports are candidates (default 1024-65535). Replaces `PORT4ME_INCLUDE`.
    #[cfg_attr(test, ts(optional, as = "Option<PortSpec>"))]
    pub include: Option<JsPorts>,
    /// These ports are never candidates. Replaces `PORT4ME_EXCLUDE` (the site and browser-unsafe lists
    /// still apply).
    #[cfg_attr(test, ts(optional, as = "Option<PortSpec>"))]
    pub exclude: Option<JsPorts>,
    /// Drop this many leading candidates (prepended ones count). Default `PORT4ME_SKIP`, else 0.
    #[cfg_attr(test, ts(optional))]
    pub skip: Option<f64>,
    /// Give up with `ERR_PORT4ME_NO_FREE_PORT` after this many probes (default 65535).
    #[cfg_attr(test, ts(optional))]
    pub max_tries: Option<f64>,
    /// Probe only this IP address (e.g. `"127.0.0.1"`, `"[::1]"`, or `"localhost"` for 127.0.0.1),
    /// instead of every local address.
    #[cfg_attr(test, ts(optional))]
    pub host: Option<String>,
    /// Probe `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
    /// `list` only: how many candidates (1-1048576). Default `PORT4ME_LIST`, else 1.
    #[cfg_attr(test, ts(optional))]
    pub n: Option<f64>,
    /// Resolve with exactly these variables instead of the process environment
    /// (only `PORT4ME_*`, `_PORT4ME_*`, `LOGNAME`, `USER`, `LNAME` and `USERNAME`
    /// are read). In worker threads the default is the worker's `process.env`.
    #[cfg_attr(test, ts(optional, type = "Readonly<Record<string, string | undefined>>"))]
    pub env: Option<HashMap<String, String>>,
    /// `port4me` and `port4meAsync` only: also skip every port the
    /// port registry holds (see `Registry`), and record the port found
    /// there as a short lease, so that other callers asking at the same
    /// instant (other processes, other Vite servers) get other ports. `true`
    /// leases it for 60 seconds, a number for that many seconds; the lease also
    /// ends when this process exits. The registry is `PORT4ME_DB` (from `env`
    /// when given), else the default one in the user's state directory. Needs
    /// the native addon (`ERR_PORT4ME_NATIVE_REQUIRED` on the WebAssembly
    /// fallback).
    #[cfg_attr(test, ts(optional, type = "boolean | number"))]
    pub reserve: Option<Either<bool, f64>>,
}

/// Options of `isPortFree`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ProbeOptions", rename_all = "camelCase"))]
pub struct ProbeArgs {
    /// Probe only this IP address. Default: every local address of both families.
    #[cfg_attr(test, ts(optional))]
    pub host: Option<String>,
    /// `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
}

pub use port4me::env::is_relevant_var;

/// Where the settings left out come from.
#[derive(Clone, Debug)]
pub enum EnvSource {
    /// The live process environment.
    Process,
    /// Exactly these variables (a caller's `env`, or a snapshot).
    Pairs(Vec<(String, OsString)>),
}

impl EnvSource {
    /// The relevant variables of the process environment, copied now.
    pub fn snapshot() -> Self {
        EnvSource::Pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| k.into_string().ok().filter(|k| is_relevant_var(k)).map(|k| (k, v)))
                .collect(),
        )
    }

    /// The environment to resolve in. The account name, the user's last
    /// fallback, is looked up only when no variable names a user, and then
    /// once per uid (`port4me::env::user_name_of` caches it).
    fn into_env(self) -> Env {
        match self {
            EnvSource::Process => Env::process(),
            EnvSource::Pairs(pairs) => Env::from_pairs(pairs).with_account_lookup(),
        }
    }
}

fn port_values(p: JsPorts) -> PortValues {
    match p {
        Either::A(spec) => PortValues::Spec(spec),
        Either::B(list) => PortValues::Numbers(list),
    }
}

/// Options checked and converted (by `port4me::values`), ready to become a
/// [`Port4me`] on any thread.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// The checked values (`n` is `list`'s count).
    pub options: CheckedOptions,
    env: Option<Vec<(String, OsString)>>,
}

impl Query {
    /// Checks every value of `o`.
    pub fn from_options(o: Options) -> Result<Self, Failure> {
        let options = OptionValues {
            tool: o.tool,
            user: o.user,
            prepend: o.prepend.map(port_values),
            include: o.include.map(port_values),
            exclude: o.exclude.map(port_values),
            skip: o.skip,
            max_tries: o.max_tries,
            host: o.host,
            protocol: o.protocol,
            n: o.n,
            reserve: o.reserve.map(|r| match r {
                Either::A(flag) => ReserveValue::Flag(flag),
                Either::B(secs) => ReserveValue::Seconds(secs),
            }),
        }
        .check()?;
        Ok(Query { options, env: o.env.map(|m| m.into_iter().map(|(k, v)| (k, OsString::from(v))).collect()) })
    }

    /// `find` only: how long to lease the port found in the registry, if at
    /// all (`reserve: true` is the registry's default).
    pub fn reserve(&self) -> Option<Duration> {
        self.options.reserve.map(|lease| match lease {
            Lease::Default => port4me_registry::DEFAULT_LEASE_TTL,
            Lease::For(d) => d,
        })
    }

    /// The value of `name` in the caller's own `env`: `None` when the
    /// process environment is used, `Some(None)` when `env` lacks it.
    pub fn given_var(&self, name: &str) -> Option<Option<&OsString>> {
        self.env.as_ref().map(|pairs| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v))
    }

    /// A query with only a tool (the `port4me("vite")` fast path).
    pub fn tool(tool: Option<String>) -> Self {
        Query { options: CheckedOptions::tool(tool), env: None }
    }

    /// Whether the caller gave its own environment.
    pub fn has_env(&self) -> bool {
        self.env.is_some()
    }

    /// Replaces "read the process environment" with a snapshot of it (for
    /// work that runs off the JS thread).
    pub fn snapshot_env(&mut self) {
        if self.env.is_none() {
            if let EnvSource::Pairs(p) = EnvSource::snapshot() {
                self.env = Some(p);
            }
        }
    }

    /// The std-layer query.
    pub fn build(self) -> Port4me {
        let source = match self.env {
            None => EnvSource::Process,
            Some(p) => EnvSource::Pairs(p),
        };
        let env = source.into_env();
        self.options.query(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_by_the_std_crate() {
        let o = Options { exclude: Some(Either::B(vec![80.0, 70000.0])), ..Default::default() };
        let e = Query::from_options(o).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ERR_PORT4ME_INVALID_PORT", "invalid port in exclude: 70000 is outside 1-65535")
        );
        let o = Options { host: Some("example.org".into()), ..Default::default() };
        assert_eq!(Query::from_options(o).unwrap_err().code, "ERR_INVALID_ARG_VALUE");
        let o = Options { n: Some(3.0), include: Some(Either::A("2000-2009".into())), ..Default::default() };
        let q = Query::from_options(o).unwrap();
        assert_eq!(q.options.n, Some(3));
        assert_eq!(q.options.include, Some(port4me::Ports::Spec("2000-2009".into())));
    }

    #[test]
    fn reserve_times() {
        let reserve = |r| Query::from_options(Options { reserve: Some(r), ..Default::default() }).map(|q| q.reserve());
        assert_eq!(reserve(Either::A(false)).unwrap(), None);
        assert_eq!(reserve(Either::A(true)).unwrap(), Some(port4me_registry::DEFAULT_LEASE_TTL));
        assert_eq!(reserve(Either::B(1.5)).unwrap(), Some(Duration::from_millis(1500)));
        // Zero and "longer than a year" are the registry's to refuse.
        assert_eq!(reserve(Either::B(0.0)).unwrap(), Some(Duration::ZERO));
        let e = reserve(Either::B(-1.0)).unwrap_err();
        assert_eq!(e.code, "ERR_PORT4ME_INVALID_NUMBER");
        assert!(e.message.contains("reserve") && e.message.contains("negative"), "{}", e.message);
        assert_eq!(Query::tool(Some("vite".into())).reserve(), None);
    }

    #[test]
    fn given_vars() {
        let q = Query::from_options(Options::default()).unwrap();
        assert_eq!(q.given_var("PORT4ME_DB"), None);
        let env = HashMap::from([("PORT4ME_DB".to_string(), "/x.sqlite".to_string())]);
        let q = Query::from_options(Options { env: Some(env), ..Default::default() }).unwrap();
        assert_eq!(q.given_var("PORT4ME_DB"), Some(Some(&OsString::from("/x.sqlite"))));
        assert_eq!(q.given_var("PORT4ME_USER"), Some(None));
    }

    #[test]
    fn given_env_is_used_exactly() {
        let mut env = HashMap::new();
        env.insert("PORT4ME_USER".to_string(), "alice".to_string());
        env.insert("_PORT4ME_CHECK_AVAILABLE_PORTS_".to_string(), "any".to_string());
        let q = Query::from_options(Options { tool: Some("rstudio".into()), env: Some(env), ..Default::default() })
            .unwrap();
        assert_eq!(q.build().find().unwrap(), 22486);
    }
}
