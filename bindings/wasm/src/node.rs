//! The Node.js flavour of the module (cargo feature `node`): what the npm
//! package runs where no native addon loads (an unknown platform, a failed
//! optional install, StackBlitz WebContainers, an addon that fails to load).
//!
//! Everything the addon does with options and the environment happens here,
//! through the same `port4me` std crate (`Port4me::with_env(Env::from_pairs(..))`),
//! so that `PORT4ME_*` variables, the `_SITE` lists, the unsafe lists, error
//! codes and messages are the addon's. Only probing is left to JavaScript
//! (WebAssembly has no sockets): [`NodeSearch`] hands out the candidate order
//! in batches, the package binds them with Node's own sockets, and asks back
//! for the errors (`ERR_PORT4ME_NO_FREE_PORT`, `ERR_PORT4ME_PROBE`) so that
//! their wording is the std crate's too.
//!
//! The option checks mirror `bindings/node/src/options.rs` (same values
//! refused, same messages); the JavaScript layer of the package has already
//! checked the types.

use std::net::IpAddr;
use std::time::Duration;

use port4me::core::sequence::Candidates;
use port4me::core::spec::{parse_list, Expansions};
use port4me::core::DEFAULT_MAX_TRIES;
use port4me::{Env, Port4me, Ports, ProbeMode, Protocol, Resolved};
use wasm_bindgen::prelude::*;

use crate::{array_items, get, is_array, js_error, new_object, object_keys, reflect_set};

/// The largest `list` count, as in the addon.
const MAX_LIST: u64 = port4me::MAX_LIST as u64;

// ---------------------------------------------------------------------------
// The pure part (tested natively)

/// An error on its way to JavaScript: the std crate's, or one of the
/// binding's own checks (a code and a message).
#[derive(Debug)]
pub enum Failure {
    /// An error of the std layer; its code is `Error::code()`.
    Port4me(port4me::Error),
    /// A check of this binding: `ERR_PORT4ME_INVALID_PORT` or `ERR_INVALID_ARG_VALUE` / `_TYPE`.
    Coded(&'static str, String),
}

impl Failure {
    /// The stable `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Port4me(e) => e.code(),
            Failure::Coded(code, _) => code,
        }
    }

    /// The message.
    pub fn message(&self) -> String {
        match self {
            Failure::Port4me(e) => e.to_string(),
            Failure::Coded(_, m) => m.clone(),
        }
    }
}

impl From<port4me::Error> for Failure {
    fn from(e: port4me::Error) -> Self {
        Failure::Port4me(e)
    }
}

impl From<port4me::core::Error> for Failure {
    fn from(e: port4me::core::Error) -> Self {
        Failure::Port4me(e.into())
    }
}

/// A JS number as JavaScript would print it in the addon's messages (the
/// addon's own formatting, so that the messages match).
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
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
    Err(Failure::Coded("ERR_PORT4ME_INVALID_PORT", format!("invalid port in {source}: {} {why}", js_number(v))))
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

/// An IPv4 or IPv6 address (brackets allowed).
pub fn parse_host(host: &str) -> Result<IpAddr, Failure> {
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    h.parse().map_err(|_| {
        Failure::Coded(
            "ERR_INVALID_ARG_VALUE",
            format!("invalid host {host:?}: expected an IP address such as 127.0.0.1 or ::1"),
        )
    })
}

/// `"tcp"` or `"udp"` (any case).
pub fn parse_protocol(p: &str) -> Result<Protocol, Failure> {
    p.parse().map_err(|e: port4me::probe::UnknownProtocol| {
        Failure::Coded("ERR_INVALID_ARG_VALUE", format!("invalid protocol: {e}"))
    })
}

/// Ports as given: a specification string or port numbers.
#[derive(Clone, Debug)]
pub enum RawPorts {
    Spec(String),
    List(Vec<f64>),
}

/// `reserve` as given.
#[derive(Clone, Copy, Debug)]
pub enum RawReserve {
    Flag(bool),
    Seconds(f64),
}

/// The options object of `port4me()`, `port4meAsync()`, `list()` as the
/// JavaScript layer passes it, before any value is checked.
#[derive(Clone, Debug, Default)]
pub struct RawOptions {
    pub tool: Option<String>,
    pub user: Option<String>,
    pub prepend: Option<RawPorts>,
    pub include: Option<RawPorts>,
    pub exclude: Option<RawPorts>,
    pub skip: Option<f64>,
    pub max_tries: Option<f64>,
    pub host: Option<String>,
    pub protocol: Option<String>,
    pub n: Option<f64>,
    /// The variables to resolve with (the package always passes them).
    pub env: Vec<(String, String)>,
    pub reserve: Option<RawReserve>,
}

/// The lease time of `reserve`: checked as the addon checks it (the registry
/// itself is not available here).
pub fn reserve_ttl(r: RawReserve) -> Result<Option<Duration>, Failure> {
    match r {
        RawReserve::Flag(false) => Ok(None),
        // The registry's default; only "some lease" matters here.
        RawReserve::Flag(true) => Ok(Some(Duration::from_secs(60))),
        RawReserve::Seconds(secs) => match Duration::try_from_secs_f64(secs) {
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

fn ports(p: RawPorts, source: &'static str) -> Result<Ports, Failure> {
    match p {
        RawPorts::Spec(spec) => Ok(Ports::Spec(spec)),
        RawPorts::List(list) => {
            list.into_iter().map(|v| port_from_f64(v, source)).collect::<Result<Vec<_>, _>>().map(Ports::List)
        }
    }
}

/// Options checked and converted (the addon's `Query`).
#[derive(Clone, Debug, Default)]
pub struct Query {
    user: Option<String>,
    tool: Option<String>,
    prepend: Option<Ports>,
    include: Option<Ports>,
    exclude: Option<Ports>,
    skip: Option<u64>,
    max_tries: Option<u32>,
    host: Option<IpAddr>,
    protocol: Protocol,
    /// `list` count, if given.
    pub n: Option<usize>,
    env: Vec<(String, String)>,
    account: Option<String>,
    /// Whether the caller asked for a registry lease (which needs the addon).
    pub reserve: bool,
}

impl Query {
    /// Checks every value, in the addon's order. `account` is the account
    /// name to fall back on when nothing names a user.
    pub fn from_raw(o: RawOptions, account: Option<String>) -> Result<Self, Failure> {
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
            host: o.host.as_deref().map(parse_host).transpose()?,
            protocol: o.protocol.as_deref().map(parse_protocol).transpose()?.unwrap_or_default(),
            n: o.n.map(|v| count_from_f64(v, "list count", "n", 1, MAX_LIST).map(|n| n as usize)).transpose()?,
            env: o.env,
            account,
            reserve: o.reserve.map(reserve_ttl).transpose()?.flatten().is_some(),
        })
    }

    /// The std-layer query, reading exactly `env` (and `account`).
    pub fn build(&self) -> Port4me {
        let env = Env::from_pairs(self.env.iter().cloned()).with_account_name(self.account.clone());
        let mut q = Port4me::with_env(env);
        if let Some(u) = &self.user {
            q = q.user(u.clone());
        }
        if let Some(t) = &self.tool {
            q = q.tool(t.clone());
        }
        if let Some(p) = &self.prepend {
            q = q.prepend(p.clone());
        }
        if let Some(p) = &self.include {
            q = q.include(p.clone());
        }
        if let Some(p) = &self.exclude {
            q = q.exclude(p.clone());
        }
        if let Some(n) = self.skip {
            q = q.skip(n);
        }
        if let Some(n) = self.max_tries {
            q = q.max_tries(n);
        }
        if let Some(h) = self.host {
            q = q.host(h);
        }
        q.protocol(self.protocol)
    }

    /// The first `n` candidates: `n`, else `PORT4ME_LIST`, else 1 (the addon's `list`).
    pub fn list(&self) -> Result<Vec<u16>, Failure> {
        let p = self.build();
        let n = match self.n {
            Some(n) => n,
            None => p.list_from_env()?.unwrap_or(1),
        };
        Ok(p.list(n)?)
    }
}

/// A search in progress: the candidates of a resolved query, handed out in
/// batches for the host to probe, with the bookkeeping of
/// `Port4me::try_find_with` (at most `max_tries` candidates; the first five
/// for the "no free port" message; a candidate error ends the search after
/// the candidates before it).
#[derive(Debug)]
pub struct SearchState {
    resolved: Resolved,
    /// Candidates handed out so far (= probes made once they are all probed).
    given: u64,
    max_tries: u32,
    first: Vec<u16>,
    protocol: Protocol,
    /// A candidate error met while filling the last batch, for the next call.
    pending: Option<port4me::core::Error>,
}

impl SearchState {
    /// The search of `p`, or its first error (the probe-mode variable, then
    /// the resolution, as `Port4me::find` checks them). Also says whether
    /// probes are real or all answer "free".
    pub fn start(p: &Port4me, max_tries: Option<u32>) -> Result<(Self, ProbeMode), Failure> {
        let mode = p.probe_mode()?;
        let resolved = p.resolve()?;
        let state = SearchState {
            resolved,
            given: 0,
            max_tries: max_tries.unwrap_or(DEFAULT_MAX_TRIES),
            first: Vec::new(),
            protocol: p.probe_options().protocol,
            pending: None,
        };
        Ok((state, mode))
    }

    /// The next at most `k` candidates. Empty once `max_tries` are out; a
    /// candidate error comes back on its own, after the candidates before it.
    pub fn next_batch(&mut self, k: u32) -> Result<Vec<u16>, Failure> {
        if let Some(e) = self.pending.take() {
            return Err(e.into());
        }
        let take = u64::from(k).min(u64::from(self.max_tries) - self.given);
        let r = &self.resolved;
        let candidates = Candidates::new(r.hash, &r.prepend, &r.allowed).with_skip(r.skip.saturating_add(self.given));
        let mut out = Vec::with_capacity(take as usize);
        for c in candidates.take(take as usize) {
            match c {
                Ok(port) => {
                    out.push(port);
                    if self.first.len() < 5 {
                        self.first.push(port);
                    }
                }
                Err(e) if out.is_empty() => return Err(e.into()),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        self.given += out.len() as u64;
        Ok(out)
    }

    /// `ERR_PORT4ME_NO_FREE_PORT` for the candidates handed out, all busy.
    pub fn no_free_port(&self) -> Failure {
        port4me::Error::NoFreePort { tries: self.given as u32, protocol: self.protocol, first: self.first.clone() }
            .into()
    }
}

/// `ERR_PORT4ME_PROBE` in the std crate's words, for a probe the host made.
pub fn probe_failure(port: u16, host: &str, protocol: Protocol, detail: &str) -> Failure {
    port4me::Error::Probe { port, host: host.into(), protocol, source: std::io::Error::other(detail.to_string()) }
        .into()
}

// ---------------------------------------------------------------------------
// JavaScript

fn to_js(f: Failure) -> JsValue {
    js_error(f.code(), None, &f.message())
}

fn type_error(name: &str, expected: &str) -> JsValue {
    js_error("ERR_INVALID_ARG_TYPE", None, &format!("The \"{name}\" property must be {expected}"))
}

fn unset(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

fn opt_string(o: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    let v = get(o, key)?;
    if unset(&v) {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| type_error(&format!("options.{key}"), "of type string"))
}

fn opt_number(o: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    let v = get(o, key)?;
    if unset(&v) {
        return Ok(None);
    }
    v.as_f64().map(Some).ok_or_else(|| type_error(&format!("options.{key}"), "of type number"))
}

fn opt_ports(o: &JsValue, key: &str) -> Result<Option<RawPorts>, JsValue> {
    let v = get(o, key)?;
    if unset(&v) {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(RawPorts::Spec(s)));
    }
    if !is_array(&v) {
        return Err(type_error(&format!("options.{key}"), "a port specification string or an array of port numbers"));
    }
    let mut list = Vec::new();
    for (i, item) in array_items(&v).into_iter().enumerate() {
        list.push(item.as_f64().ok_or_else(|| type_error(&format!("options.{key}[{i}]"), "a port number"))?);
    }
    Ok(Some(RawPorts::List(list)))
}

fn read_options(o: &JsValue) -> Result<RawOptions, JsValue> {
    if unset(o) {
        return Ok(RawOptions::default());
    }
    if !o.is_object() {
        return Err(js_error("ERR_INVALID_ARG_TYPE", None, "The \"options\" argument must be an object"));
    }
    let env_obj = get(o, "env")?;
    let mut env = Vec::new();
    if !unset(&env_obj) {
        if !env_obj.is_object() {
            return Err(type_error("options.env", "an object of environment variables"));
        }
        for key in object_keys(&env_obj) {
            let Some(name) = key.as_string() else { continue };
            let value = get(&env_obj, &name)?;
            if value.is_undefined() {
                continue;
            }
            let value =
                value.as_string().ok_or_else(|| type_error(&format!("options.env.{name}"), "of type string"))?;
            env.push((name, value));
        }
    }
    let reserve = get(o, "reserve")?;
    let reserve = if unset(&reserve) {
        None
    } else if let Some(b) = reserve.as_bool() {
        Some(RawReserve::Flag(b))
    } else if let Some(x) = reserve.as_f64() {
        Some(RawReserve::Seconds(x))
    } else {
        return Err(type_error("options.reserve", "a boolean or a number of seconds"));
    };
    Ok(RawOptions {
        tool: opt_string(o, "tool")?,
        user: opt_string(o, "user")?,
        prepend: opt_ports(o, "prepend")?,
        include: opt_ports(o, "include")?,
        exclude: opt_ports(o, "exclude")?,
        skip: opt_number(o, "skip")?,
        max_tries: opt_number(o, "maxTries")?,
        host: opt_string(o, "host")?,
        protocol: opt_string(o, "protocol")?,
        n: opt_number(o, "n")?,
        env,
        reserve,
    })
}

fn query(options: &JsValue, account: Option<String>) -> Result<Query, JsValue> {
    Query::from_raw(read_options(options)?, account).map_err(to_js)
}

/// `{ host, protocol }` for the host to probe with: `host` is the address in
/// its canonical text form, or `null` for every local address.
fn probe_target(host: Option<IpAddr>, protocol: Protocol) -> JsValue {
    let obj = new_object();
    let host = host.map_or(JsValue::NULL, |h| JsValue::from_str(&h.to_string()));
    reflect_set(&obj, "host", &host);
    reflect_set(&obj, "protocol", &JsValue::from_str(protocol.as_str()));
    obj
}

/// The first `n` candidates (no probing): `n` from the options, else
/// `PORT4ME_LIST` from the options' `env`, else 1.
#[wasm_bindgen(js_name = nodeList)]
pub fn node_list(options: JsValue, account: Option<String>) -> Result<Vec<u16>, JsValue> {
    query(&options, account)?.list().map_err(to_js)
}

/// The seed string (`"alice,vite"`).
#[wasm_bindgen(js_name = nodeSeed)]
pub fn node_seed(options: JsValue, account: Option<String>) -> Result<String, JsValue> {
    query(&options, account)?.build().seed().map_err(|e| to_js(e.into()))
}

/// Checks the options; says whether they ask for a registry lease.
#[wasm_bindgen(js_name = nodeCheck)]
pub fn node_check(options: JsValue) -> Result<bool, JsValue> {
    Ok(query(&options, None)?.reserve)
}

/// The ports of a specification (the addon's `parsePorts`: source "spec").
#[wasm_bindgen(js_name = nodeParsePorts)]
pub fn node_parse_ports(spec: String) -> Result<Vec<u16>, JsValue> {
    parse_list(&spec, &Expansions::DEFAULT, "spec").map_err(|e| to_js(port4me::Error::from(e).into()))
}

/// `isPortFree(port, { host, protocol })`: the checked `{ host, protocol }`
/// to probe (no testing hook: it always probes).
#[wasm_bindgen(js_name = nodeProbeTarget)]
pub fn node_probe_target(port: f64, host: Option<String>, protocol: Option<String>) -> Result<JsValue, JsValue> {
    port_from_f64(port, "port").map_err(to_js)?;
    let host = host.as_deref().map(parse_host).transpose().map_err(to_js)?;
    let protocol = protocol.as_deref().map(parse_protocol).transpose().map_err(to_js)?.unwrap_or_default();
    Ok(probe_target(host, protocol))
}

/// The CLI's `--test PORT`: `{ host, protocol, assumeFree }`, where
/// `assumeFree` is the `_PORT4ME_CHECK_AVAILABLE_PORTS_=any` hook.
#[wasm_bindgen(js_name = nodeTestTarget)]
pub fn node_test_target(port: f64, options: JsValue) -> Result<JsValue, JsValue> {
    let port = port_from_f64(port, "test").map_err(to_js)?;
    let q = query(&options, None)?;
    let p = q.build();
    if port == 0 {
        unreachable!("port_from_f64 refuses 0");
    }
    let mode = p.probe_mode().map_err(|e| to_js(e.into()))?;
    let target = probe_target(q.host, q.protocol);
    reflect_set(&target, "assumeFree", &JsValue::from_bool(mode == ProbeMode::AssumeFree));
    Ok(target)
}

/// `ERR_PORT4ME_PROBE` for a probe that failed in the host.
#[wasm_bindgen(js_name = nodeProbeError)]
pub fn node_probe_error(port: u16, host: String, protocol: String, detail: String) -> JsValue {
    let protocol = if protocol == "udp" { Protocol::Udp } else { Protocol::Tcp };
    to_js(probe_failure(port, &host, protocol, &detail))
}

/// Test hook: panics, to show that a panic (a trap of the instance) becomes an
/// `ERR_PORT4ME_INTERNAL` error and the package carries on with a fresh
/// instance. Hidden, like the addon's.
#[wasm_bindgen(js_name = _panicForTest)]
pub fn panic_for_test() {
    panic!("deliberate panic for the test suite");
}

/// A search for the first free port: `new NodeSearch(options, account)`
/// checks the options and resolves the sequence; `next(k)` hands out the
/// next candidates to probe, in order.
#[wasm_bindgen]
pub struct NodeSearch {
    state: Option<SearchState>,
    reserve: bool,
    assume_free: bool,
    host: Option<IpAddr>,
    protocol: Protocol,
}

#[wasm_bindgen]
impl NodeSearch {
    /// Checks `options` and resolves them against their `env`. With
    /// `reserve`, nothing is resolved: the caller needs the addon.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, account: Option<String>) -> Result<NodeSearch, JsValue> {
        let q = query(&options, account)?;
        let (host, protocol) = (q.host, q.protocol);
        if q.reserve {
            return Ok(NodeSearch { state: None, reserve: true, assume_free: false, host, protocol });
        }
        let (state, mode) = SearchState::start(&q.build(), q.max_tries).map_err(to_js)?;
        Ok(NodeSearch {
            state: Some(state),
            reserve: false,
            assume_free: mode == ProbeMode::AssumeFree,
            host,
            protocol,
        })
    }

    /// Whether the options ask for a registry lease.
    #[wasm_bindgen(getter)]
    pub fn reserve(&self) -> bool {
        self.reserve
    }

    /// Whether `_PORT4ME_CHECK_AVAILABLE_PORTS_=any` makes every probe answer "free".
    #[wasm_bindgen(getter, js_name = assumeFree)]
    pub fn assume_free(&self) -> bool {
        self.assume_free
    }

    /// `{ host, protocol }` to probe with.
    #[wasm_bindgen(getter)]
    pub fn target(&self) -> JsValue {
        probe_target(self.host, self.protocol)
    }

    /// The next at most `k` candidates; empty once `maxTries` are handed out.
    pub fn next(&mut self, k: u32) -> Result<Vec<u16>, JsValue> {
        match &mut self.state {
            Some(s) => s.next_batch(k).map_err(to_js),
            None => Ok(Vec::new()),
        }
    }

    /// The `ERR_PORT4ME_NO_FREE_PORT` error once every candidate handed out was busy.
    #[wasm_bindgen(js_name = noFreePort)]
    pub fn no_free_port(&self) -> JsValue {
        match &self.state {
            Some(s) => to_js(s.no_free_port()),
            None => js_error("ERR_PORT4ME_INTERNAL", None, "noFreePort() of a search that never started"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(env: &[(&str, &str)]) -> RawOptions {
        RawOptions { env: env.iter().map(|&(k, v)| (k.into(), v.into())).collect(), ..Default::default() }
    }

    #[test]
    fn value_checks_name_the_value() {
        let e = port_from_f64(70000.0, "exclude").unwrap_err();
        assert_eq!(
            (e.code(), e.message().as_str()),
            ("ERR_PORT4ME_INVALID_PORT", "invalid port in exclude: 70000 is outside 1-65535")
        );
        let e = port_from_f64(80.5, "include").unwrap_err();
        assert!(e.message().ends_with("80.5 is not an integer in 1-65535"), "{}", e.message());
        let e = count_from_f64(-1.0, "skip", "skip", 0, 10).unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_NUMBER");
        assert!(e.message().contains("must not be negative"), "{}", e.message());
        assert!(count_from_f64(0.0, "maxTries", "maxTries", 1, 10).unwrap_err().message().contains("at least 1"));
        assert_eq!(parse_host("[::1]").unwrap(), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(parse_host("localhost").unwrap_err().code(), "ERR_INVALID_ARG_VALUE");
        assert!(parse_protocol("sctp").unwrap_err().message().contains("\"sctp\""));
        assert_eq!(js_number(f64::NAN), "NaN");
        assert_eq!(js_number(-0.5), "-0.5");
        for (secs, why) in [(-1.0, "negative"), (f64::NAN, "not a number"), (1e300, "too large")] {
            let e = reserve_ttl(RawReserve::Seconds(secs)).unwrap_err();
            assert!(e.message().contains("reserve") && e.message().contains(why), "{}", e.message());
        }
        assert!(reserve_ttl(RawReserve::Flag(false)).unwrap().is_none());
    }

    #[test]
    fn environment_is_the_std_crates() {
        let q = Query::from_raw(raw(&[("PORT4ME_USER", "alice"), ("PORT4ME_EXCLUDE_SITE", "30845")]), None).unwrap();
        assert_eq!(q.list().unwrap(), [19654]);
        let q = Query::from_raw(RawOptions { n: Some(3.0), ..raw(&[("USER", "alice")]) }, None).unwrap();
        assert_eq!(q.list().unwrap(), [30845, 19654, 32310]);
        let q = Query::from_raw(raw(&[("PORT4ME_LIST", "2")]), Some("alice".into())).unwrap();
        assert_eq!(q.list().unwrap(), [30845, 19654], "the account name is the last fallback");
        let e =
            Query::from_raw(raw(&[("PORT4ME_USER", "a"), ("PORT4ME_SKIP", "x")]), None).unwrap().list().unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_NUMBER");
        assert!(e.message().contains("PORT4ME_SKIP"), "{}", e.message());
    }

    /// Drives a search in batches of `k` with `is_free` as the probe, the way
    /// the package does; the outcome must be `Port4me::find_with`'s.
    fn batched(p: &Port4me, max_tries: Option<u32>, k: u32, is_free: impl Fn(u16) -> bool) -> Result<u16, String> {
        let (mut s, _) = SearchState::start(p, max_tries).map_err(|e| e.message())?;
        loop {
            let batch = s.next_batch(k).map_err(|e| e.message())?;
            if batch.is_empty() {
                return Err(s.no_free_port().message());
            }
            if let Some(&port) = batch.iter().find(|&&port| is_free(port)) {
                return Ok(port);
            }
        }
    }

    #[test]
    fn batched_search_matches_find_with() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().map(|&(k, v)| (k.to_string(), v.to_string())));
        let queries: Vec<(Port4me, Option<u32>)> = vec![
            (Port4me::with_env(env(&[])).user("alice").max_tries(300), Some(300)),
            (Port4me::with_env(env(&[])).user("alice").max_tries(3), Some(3)),
            (Port4me::with_env(env(&[])).user("alice").max_tries(7), Some(7)),
            (Port4me::with_env(env(&[])).user("bob").prepend("4000,4001").include("2000").exclude("2000"), None),
            (Port4me::with_env(env(&[])).user("bob").include("2000-2002").max_tries(10), Some(10)),
            (Port4me::with_env(env(&[("PORT4ME_SKIP", "3")])).user("carol").prepend("9,10").max_tries(20), Some(20)),
            (Port4me::with_env(env(&[])).user("dave").prepend("4000").include("2000").exclude("2000").skip(1), None),
        ];
        // Probes: everything busy, a few specific ports free, every third port free.
        let probes: Vec<Box<dyn Fn(u16) -> bool>> =
            vec![Box::new(|_| false), Box::new(|p| p == 32310 || p == 2001 || p == 4001), Box::new(|p| p % 3 == 0)];
        for (p, max_tries) in &queries {
            for probe in &probes {
                let want = p.find_with(|port| Ok(probe(port))).map_err(|e| e.to_string());
                for k in [1, 2, 3, 8, 64, 1024] {
                    assert_eq!(batched(p, *max_tries, k, probe), want, "{p:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn probe_errors_in_the_std_crates_words() {
        let e = probe_failure(40000, "192.0.2.1", Protocol::Tcp, "listen EADDRNOTAVAIL: address not available");
        assert_eq!(e.code(), "ERR_PORT4ME_PROBE");
        assert_eq!(
            e.message(),
            "could not probe tcp port 40000 on 192.0.2.1: listen EADDRNOTAVAIL: address not available"
        );
    }
}
