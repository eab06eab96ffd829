//! The options object shared by `port4me`, `port4meAsync` and `list`, and the
//! environment they read.
//!
//! Values arrive as JS numbers (`f64`) and strings and are checked here, so
//! that `-1`, `NaN`, `1.5` or `70000` are errors naming the value instead of
//! being wrapped or truncated by an integer conversion. Type checks (a string
//! where a number belongs, `null` inside an array) are done by the npm
//! package's JS layer first, with Node's `ERR_INVALID_ARG_TYPE`; a wrong type
//! that reaches the addon directly is still an error, never a crash.
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
use std::net::IpAddr;
use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use port4me::{Env, Port4me, Ports, ProbeOptions, Protocol};

use crate::errors::Failure;

/// Ports as a specification string (`"2000-2009,4321,{chrome}"`) or an array
/// of port numbers.
pub type JsPorts = Either<String, Vec<f64>>;

/// The options accepted by `port4me`, `port4meAsync` and `list`.
#[napi(object)]
#[derive(Default)]
pub struct Options {
    /// The tool part of the seed (`PORT4ME_TOOL` when absent; `""` = no tool).
    pub tool: Option<String>,
    /// The user part of the seed (`PORT4ME_USER`, `LOGNAME`, ... when absent or `""`).
    pub user: Option<String>,
    /// Ports tried first, replacing `PORT4ME_PREPEND`.
    pub prepend: Option<JsPorts>,
    /// Ports searched, replacing `PORT4ME_INCLUDE`.
    pub include: Option<JsPorts>,
    /// Ports skipped, replacing `PORT4ME_EXCLUDE` (site and unsafe lists still apply).
    pub exclude: Option<JsPorts>,
    /// Candidates dropped first (`PORT4ME_SKIP` when absent).
    pub skip: Option<f64>,
    /// Probes before giving up (default 65535).
    pub max_tries: Option<f64>,
    /// Probe only this IP address.
    pub host: Option<String>,
    /// `"tcp"` (default) or `"udp"`.
    pub protocol: Option<String>,
    /// `list` only: how many candidates (`PORT4ME_LIST`, else 1, when absent).
    pub n: Option<f64>,
    /// Use exactly these variables instead of the process environment.
    pub env: Option<HashMap<String, String>>,
    /// `find` only: record the port found as a lease in the registry (`true`
    /// for the default time-to-live, or a number of seconds).
    pub reserve: Option<Either<bool, f64>>,
}

/// Options for `isPortFree`.
#[napi(object)]
#[derive(Default)]
pub struct ProbeArgs {
    /// Probe only this IP address.
    pub host: Option<String>,
    /// `"tcp"` (default) or `"udp"`.
    pub protocol: Option<String>,
}

/// The variables port4me reads: all `PORT4ME_*` and `_PORT4ME_*`, and the
/// user fallbacks.
pub fn is_relevant_var(name: &str) -> bool {
    name.starts_with("PORT4ME_")
        || name.starts_with("_PORT4ME_")
        || matches!(name, "LOGNAME" | "USER" | "LNAME" | "USERNAME")
}

const USER_VARS: [&str; 5] = ["PORT4ME_USER", "LOGNAME", "USER", "LNAME", "USERNAME"];

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

    fn into_env(self, user_given: bool) -> Env {
        match self {
            // The account name only matters when no variable names a user,
            // but then it costs a password-database lookup (several µs, more
            // than the probe itself); it is cached per effective uid.
            EnvSource::Process => Env::process().with_account_name(account_name()),
            EnvSource::Pairs(pairs) => {
                let has_user =
                    user_given || pairs.iter().any(|(k, v)| USER_VARS.contains(&k.as_str()) && !v.is_empty());
                let account = if has_user { None } else { account_name() };
                Env::from_pairs(pairs).with_account_name(account)
            }
        }
    }
}

/// The account name of the effective uid, looked up once per uid (the uid
/// can change with `process.setuid`; the name of a uid does not, in practice,
/// while a process runs).
#[cfg(unix)]
pub fn account_name() -> Option<String> {
    use std::sync::Mutex;
    static CACHE: Mutex<Option<(u32, Option<String>)>> = Mutex::new(None);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    match &*cache {
        Some((u, name)) if *u == uid => name.clone(),
        _ => {
            let name = port4me::env::user_name_of(uid);
            *cache = Some((uid, name.clone()));
            name
        }
    }
}

/// The account name of the process (`GetUserNameW`, an LSA lookup), looked
/// up once: the account of a Windows process never changes, and Node does
/// not impersonate other users on its threads.
#[cfg(windows)]
pub fn account_name() -> Option<String> {
    static CACHE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CACHE.get_or_init(port4me::env::effective_user_name).clone()
}

/// The account name of the effective user (none on this system).
#[cfg(not(any(unix, windows)))]
pub fn account_name() -> Option<String> {
    port4me::env::effective_user_name()
}

/// Formats a JS number the way JavaScript prints it (for messages).
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if v == v.trunc() && v.abs() < 1e21 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A port number 1-65535 from a JS number.
pub fn port_from_f64(v: f64, source: &str) -> Result<u16, Failure> {
    if v.is_finite() && v == v.trunc() && (1.0..=65535.0).contains(&v) {
        return Ok(v as u16);
    }
    let why = if v.is_finite() && v == v.trunc() { "is outside 1-65535" } else { "is not an integer in 1-65535" };
    Err(Failure::new("ERR_PORT4ME_INVALID_PORT", format!("invalid port in {source}: {} {why}", js_number(v))))
}

/// A whole number in `min..=max` from a JS number.
pub fn count_from_f64(v: f64, what: &'static str, source: &'static str, min: u64, max: u64) -> Result<u64, Failure> {
    let reason: &'static str = if !v.is_finite() || v != v.trunc() {
        "is not a whole number"
    } else if v < 0.0 {
        "must not be negative"
    } else if v < min as f64 {
        if min == 1 {
            "must be at least 1"
        } else {
            "is too small"
        }
    } else if v > max as f64 {
        "is too large"
    } else {
        return Ok(v as u64);
    };
    Err(port4me::Error::InvalidNumber { what, source_name: source.into(), value: js_number(v), reason }.into())
}

/// Parses a host option: an IPv4 or IPv6 address (brackets allowed).
pub fn parse_host(host: &str) -> Result<IpAddr, Failure> {
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    h.parse().map_err(|_| {
        Failure::invalid_value(format!("invalid host {host:?}: expected an IP address such as 127.0.0.1 or ::1"))
    })
}

/// Parses a protocol option.
pub fn parse_protocol(p: &str) -> Result<Protocol, Failure> {
    p.parse().map_err(|e: port4me::probe::UnknownProtocol| Failure::invalid_value(format!("invalid protocol: {e}")))
}

/// Probe settings from `host` and `protocol`.
pub fn probe_options(host: Option<&str>, protocol: Option<&str>) -> Result<ProbeOptions, Failure> {
    Ok(ProbeOptions {
        host: host.map(parse_host).transpose()?,
        protocol: protocol.map(parse_protocol).transpose()?.unwrap_or_default(),
    })
}

/// The lease time of a `reserve` option: `true` is the registry's default,
/// `false` no reservation, a number that many seconds (the registry checks
/// the range; here only that it is a finite, non-negative number).
pub fn reserve_ttl(r: Either<bool, f64>) -> Result<Option<Duration>, Failure> {
    match r {
        Either::A(false) => Ok(None),
        Either::A(true) => Ok(Some(port4me_registry::DEFAULT_LEASE_TTL)),
        Either::B(secs) => match Duration::try_from_secs_f64(secs) {
            Ok(d) => Ok(Some(d)),
            Err(_) => Err(port4me::Error::InvalidNumber {
                what: "lease time (seconds)",
                source_name: "reserve".into(),
                value: js_number(secs),
                reason: if !secs.is_finite() {
                    "is not a number of seconds"
                } else if secs < 0.0 {
                    "must not be negative"
                } else {
                    "is too large"
                },
            }
            .into()),
        },
    }
}

fn ports(p: JsPorts, source: &'static str) -> Result<Ports, Failure> {
    match p {
        Either::A(spec) => Ok(Ports::Spec(spec)),
        Either::B(list) => {
            list.into_iter().map(|v| port_from_f64(v, source)).collect::<Result<Vec<_>, _>>().map(Ports::List)
        }
    }
}

/// Options checked and converted, ready to become a [`Port4me`] on any thread.
#[derive(Clone, Debug, Default)]
pub struct Query {
    user: Option<String>,
    tool: Option<String>,
    prepend: Option<Ports>,
    include: Option<Ports>,
    exclude: Option<Ports>,
    skip: Option<u64>,
    max_tries: Option<u32>,
    probe: ProbeOptions,
    /// `list` count, if given.
    pub n: Option<usize>,
    env: Option<Vec<(String, OsString)>>,
    /// `find` only: reserve the port found in the registry for this long.
    pub reserve: Option<Duration>,
}

impl Query {
    /// Checks every value of `o`.
    pub fn from_options(o: Options) -> Result<Self, Failure> {
        Ok(Query {
            user: o.user,
            tool: o.tool,
            prepend: o.prepend.map(|p| ports(p, "prepend")).transpose()?,
            include: o.include.map(|p| ports(p, "include")).transpose()?,
            exclude: o.exclude.map(|p| ports(p, "exclude")).transpose()?,
            skip: o.skip.map(|v| count_from_f64(v, "skip", "skip", 0, (1u64 << 53) - 1)).transpose()?,
            max_tries: o
                .max_tries
                .map(|v| count_from_f64(v, "maxTries", "maxTries", 1, u32::MAX as u64).map(|n| n as u32))
                .transpose()?,
            probe: probe_options(o.host.as_deref(), o.protocol.as_deref())?,
            n: o.n
                .map(|v| count_from_f64(v, "list count", "n", 1, port4me::MAX_LIST as u64).map(|n| n as usize))
                .transpose()?,
            env: o.env.map(|m| m.into_iter().map(|(k, v)| (k, OsString::from(v))).collect()),
            reserve: o.reserve.map(reserve_ttl).transpose()?.flatten(),
        })
    }

    /// The value of `name` in the caller's own `env`: `None` when the
    /// process environment is used, `Some(None)` when `env` lacks it.
    pub fn given_var(&self, name: &str) -> Option<Option<&OsString>> {
        self.env.as_ref().map(|pairs| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v))
    }

    /// A query with only a tool (the `port4me("vite")` fast path).
    pub fn tool(tool: Option<String>) -> Self {
        Query { tool, ..Default::default() }
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
        let user_given = self.user.as_deref().is_some_and(|u| !u.is_empty());
        let source = match self.env {
            None => EnvSource::Process,
            Some(p) => EnvSource::Pairs(p),
        };
        let mut q = Port4me::with_env(source.into_env(user_given));
        if let Some(u) = self.user {
            q = q.user(u);
        }
        if let Some(t) = self.tool {
            q = q.tool(t);
        }
        if let Some(p) = self.prepend {
            q = q.prepend(p);
        }
        if let Some(p) = self.include {
            q = q.include(p);
        }
        if let Some(p) = self.exclude {
            q = q.exclude(p);
        }
        if let Some(n) = self.skip {
            q = q.skip(n);
        }
        if let Some(n) = self.max_tries {
            q = q.max_tries(n);
        }
        if let Some(h) = self.probe.host {
            q = q.host(h);
        }
        q.protocol(self.probe.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked() {
        assert_eq!(port_from_f64(80.0, "x").unwrap(), 80);
        for bad in [0.0, -1.0, 70000.0, 1.5, f64::NAN, f64::INFINITY] {
            let e = port_from_f64(bad, "exclude").unwrap_err();
            assert_eq!(e.code, "ERR_PORT4ME_INVALID_PORT");
            assert!(e.message.contains("exclude") && e.message.contains(&js_number(bad)), "{}", e.message);
        }
        assert_eq!(count_from_f64(-1.0, "skip", "skip", 0, 10).unwrap_err().code, "ERR_PORT4ME_INVALID_NUMBER");
        assert!(count_from_f64(1e300, "n", "n", 1, 10).unwrap_err().message.contains("too large"));
        assert_eq!(js_number(70000.0), "70000");
        assert_eq!(js_number(-0.5), "-0.5");
    }

    #[test]
    fn reserve_times() {
        assert_eq!(reserve_ttl(Either::A(false)).unwrap(), None);
        assert_eq!(reserve_ttl(Either::A(true)).unwrap(), Some(port4me_registry::DEFAULT_LEASE_TTL));
        assert_eq!(reserve_ttl(Either::B(1.5)).unwrap(), Some(Duration::from_millis(1500)));
        // Zero and "longer than a year" are the registry's to refuse.
        assert_eq!(reserve_ttl(Either::B(0.0)).unwrap(), Some(Duration::ZERO));
        for (bad, why) in
            [(-1.0, "negative"), (f64::NAN, "not a number"), (f64::INFINITY, "not a number"), (1e300, "too large")]
        {
            let e = reserve_ttl(Either::B(bad)).unwrap_err();
            assert_eq!(e.code, "ERR_PORT4ME_INVALID_NUMBER");
            assert!(e.message.contains("reserve") && e.message.contains(why), "{}", e.message);
        }
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
    fn hosts_and_protocols() {
        assert!(parse_host("[::1]").unwrap().is_loopback());
        assert_eq!(parse_host("localhost").unwrap_err().code, "ERR_INVALID_ARG_VALUE");
        assert_eq!(parse_protocol("UDP").unwrap(), Protocol::Udp);
        assert!(parse_protocol("sctp").unwrap_err().message.contains("sctp"));
    }

    #[test]
    fn account_name_is_cached_and_right() {
        assert_eq!(account_name(), port4me::env::effective_user_name());
        assert_eq!(account_name(), account_name());
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
