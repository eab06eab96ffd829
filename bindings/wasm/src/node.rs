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
//! The option values are checked by `port4me::values`, as in the addon
//! (same values refused, same messages): this module only reads them from
//! JavaScript. The JavaScript layer of the package has already checked the
//! types.

use port4me::core::spec::{parse_list, Expansions};
use port4me::values::{port_from_f64, probe_options, OptionValues, PortValues, ReserveValue};
use port4me::{Env, Error, Port4me, ProbeMode, ProbeOptions, Protocol, Search};
use wasm_bindgen::prelude::*;

use crate::{array_items, get, is_array, js_error, new_object, object_keys, reflect_set};

// ---------------------------------------------------------------------------
// The pure part (tested natively)

/// Options checked by `port4me::values` (as the addon checks them), as the
/// query they make with the caller's `env`.
#[derive(Clone, Debug)]
pub struct Query {
    /// The std-layer query, reading exactly `env` (and the account name).
    pub query: Port4me,
    /// `list` count, if given.
    pub n: Option<usize>,
    /// `maxTries`, if given.
    pub max_tries: Option<u32>,
    /// Whether the caller asked for a registry lease (which needs the addon).
    pub reserve: bool,
}

impl Query {
    /// Checks every value, in the addon's order. `account` is the account
    /// name to fall back on when nothing names a user.
    pub fn new(values: OptionValues, env: Vec<(String, String)>, account: Option<String>) -> Result<Self, Error> {
        let o = values.check()?;
        let (n, max_tries, reserve) = (o.n, o.max_tries, o.reserve.is_some());
        Ok(Query { query: o.query(Env::from_pairs(env).with_account_name(account)), n, max_tries, reserve })
    }

    /// The first `n` candidates: `n`, else `PORT4ME_LIST`, else 1 (the addon's `list`).
    pub fn list(&self) -> Result<Vec<u16>, Error> {
        self.query.list_or_env(self.n)
    }
}

/// A search in progress: `Port4me::search` (the bounded search of
/// `Port4me::try_find_with`: each distinct candidate once, at most
/// `max_tries` candidates) with its candidates handed out in batches for
/// the host to probe; a candidate error ends the search after the
/// candidates before it.
#[derive(Debug)]
pub struct SearchState {
    search: Search,
    /// A candidate error met while filling the last batch, for the next call.
    pending: Option<Error>,
}

impl SearchState {
    /// The search of `p`, or its first error (the probe-mode variable, then
    /// the resolution, as `Port4me::find` checks them). Also says whether
    /// probes are real or all answer "free".
    pub fn start(p: &Port4me, max_tries: Option<u32>) -> Result<(Self, ProbeMode), Error> {
        let mode = p.probe_mode()?;
        let search = match max_tries {
            Some(n) => p.clone().max_tries(n).search()?,
            None => p.search()?,
        };
        Ok((SearchState { search, pending: None }, mode))
    }

    /// The next at most `k` candidates, none handed out before. Empty once
    /// the search is over; a candidate error comes back on its own, after
    /// the candidates before it.
    pub fn next_batch(&mut self, k: u32) -> Result<Vec<u16>, Error> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        // Room for as many as may come, as before the search was bounded:
        // the package's test of a trap inside a search relies on an absurd
        // `k` with an absurd `maxTries` failing this allocation.
        let take = k.min(self.search.tries_left()) as usize;
        let mut out = Vec::with_capacity(take);
        while out.len() < take {
            match self.search.next_port() {
                Ok(Some(port)) => out.push(port),
                Ok(None) => break,
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok(out)
    }

    /// `ERR_PORT4ME_NO_FREE_PORT` for the candidates handed out, all busy.
    pub fn no_free_port(&self) -> Error {
        self.search.no_free_port()
    }
}

/// `ERR_PORT4ME_PROBE` in the std crate's words, for a probe the host made.
pub fn probe_failure(port: u16, host: &str, protocol: Protocol, detail: &str) -> Error {
    Error::Probe { port, host: host.into(), protocol, cause: std::io::Error::other(detail.to_string()) }
}

// ---------------------------------------------------------------------------
// JavaScript

fn to_js(e: Error) -> JsValue {
    js_error(e.code(), None, &e.to_string())
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

fn opt_ports(o: &JsValue, key: &str) -> Result<Option<PortValues>, JsValue> {
    let v = get(o, key)?;
    if unset(&v) {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(PortValues::Spec(s)));
    }
    if !is_array(&v) {
        return Err(type_error(&format!("options.{key}"), "a port specification string or an array of port numbers"));
    }
    let mut list = Vec::new();
    for (i, item) in array_items(&v).into_iter().enumerate() {
        list.push(item.as_f64().ok_or_else(|| type_error(&format!("options.{key}[{i}]"), "a port number"))?);
    }
    Ok(Some(PortValues::Numbers(list)))
}

/// The variables of an `env` object (undefined ones left out), type-checked.
pub(crate) fn env_pairs(env_obj: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    let mut env = Vec::new();
    if unset(env_obj) {
        return Ok(env);
    }
    if !env_obj.is_object() {
        return Err(type_error("options.env", "an object of environment variables"));
    }
    for key in object_keys(env_obj) {
        let Some(name) = key.as_string() else { continue };
        let value = get(env_obj, &name)?;
        if value.is_undefined() {
            continue;
        }
        let value = value.as_string().ok_or_else(|| type_error(&format!("options.env.{name}"), "of type string"))?;
        env.push((name, value));
    }
    Ok(env)
}

/// The options object and its `env`, type-checked but with values unchecked.
fn read_options(o: &JsValue) -> Result<(OptionValues, Vec<(String, String)>), JsValue> {
    if unset(o) {
        return Ok(Default::default());
    }
    if !o.is_object() {
        return Err(js_error("ERR_INVALID_ARG_TYPE", None, "The \"options\" argument must be an object"));
    }
    let env = env_pairs(&get(o, "env")?)?;
    let reserve = get(o, "reserve")?;
    let reserve = if unset(&reserve) {
        None
    } else if let Some(b) = reserve.as_bool() {
        Some(ReserveValue::Flag(b))
    } else if let Some(x) = reserve.as_f64() {
        Some(ReserveValue::Seconds(x))
    } else {
        return Err(type_error("options.reserve", "a boolean or a number of seconds"));
    };
    let values = OptionValues {
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
        reserve,
    };
    Ok((values, env))
}

fn query(options: &JsValue, account: Option<String>) -> Result<Query, JsValue> {
    let (values, env) = read_options(options)?;
    Query::new(values, env, account).map_err(to_js)
}

/// `{ host, protocol }` for the host to probe with: `host` is the address in
/// its canonical text form, or `null` for every local address.
fn probe_target(probe: ProbeOptions) -> JsValue {
    let obj = new_object();
    let host = probe.host.map_or(JsValue::NULL, |h| JsValue::from_str(&h.to_string()));
    reflect_set(&obj, "host", &host);
    reflect_set(&obj, "protocol", &JsValue::from_str(probe.protocol.as_str()));
    obj
}

/// The first `n` candidates (no probing): `n` from the options, else
/// `PORT4ME_LIST` from the options' `env`, else 1.
#[wasm_bindgen(js_name = nodeList)]
pub fn node_list(options: JsValue, account: Option<String>) -> Result<Vec<u16>, JsValue> {
    query(&options, account)?.list().map_err(to_js)
}

/// The ports of a specification (the addon's `parsePorts`: source "spec").
#[wasm_bindgen(js_name = nodeParsePorts)]
pub fn node_parse_ports(spec: String) -> Result<Vec<u16>, JsValue> {
    parse_list(&spec, &Expansions::DEFAULT, "spec").map_err(|e| to_js(e.into()))
}

/// `isPortFree(port, { host, protocol })`: the checked `{ host, protocol }`
/// to probe (no testing hook: it always probes).
#[wasm_bindgen(js_name = nodeProbeTarget)]
pub fn node_probe_target(port: f64, host: Option<String>, protocol: Option<String>) -> Result<JsValue, JsValue> {
    port_from_f64(port, "port").map_err(to_js)?;
    Ok(probe_target(probe_options(host.as_deref(), protocol.as_deref()).map_err(to_js)?))
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
    probe: ProbeOptions,
}

#[wasm_bindgen]
impl NodeSearch {
    /// Checks `options` and resolves them against their `env`. With
    /// `reserve`, nothing is resolved: the caller needs the addon.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, account: Option<String>) -> Result<NodeSearch, JsValue> {
        let q = query(&options, account)?;
        let probe = q.query.probe_options();
        if q.reserve {
            return Ok(NodeSearch { state: None, reserve: true, assume_free: false, probe });
        }
        let (state, mode) = SearchState::start(&q.query, q.max_tries).map_err(to_js)?;
        Ok(NodeSearch { state: Some(state), reserve: false, assume_free: mode == ProbeMode::AssumeFree, probe })
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
        probe_target(self.probe)
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

    fn pairs(env: &[(&str, &str)]) -> Vec<(String, String)> {
        env.iter().map(|&(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn options_and_environment_are_the_std_crates() {
        let none = OptionValues::default;
        let q = Query::new(none(), pairs(&[("PORT4ME_USER", "alice"), ("PORT4ME_EXCLUDE_SITE", "30845")]), None);
        assert_eq!(q.unwrap().list().unwrap(), [19654]);
        let q = Query::new(OptionValues { n: Some(3.0), ..none() }, pairs(&[("USER", "alice")]), None).unwrap();
        assert_eq!(q.list().unwrap(), [30845, 19654, 32310]);
        let q = Query::new(none(), pairs(&[("PORT4ME_LIST", "2")]), Some("alice".into())).unwrap();
        assert_eq!(q.list().unwrap(), [30845, 19654], "the account name is the last fallback");
        let q = Query::new(none(), pairs(&[("PORT4ME_USER", "a"), ("PORT4ME_SKIP", "x")]), None).unwrap();
        let e = q.list().unwrap_err();
        assert_eq!(e.code(), "ERR_PORT4ME_INVALID_NUMBER");
        assert!(e.to_string().contains("PORT4ME_SKIP"), "{e}");
        // The values are checked as the addon checks them (port4me::values).
        let bad = OptionValues { exclude: Some(PortValues::Numbers(vec![70000.0])), ..none() };
        let e = Query::new(bad, Vec::new(), None).unwrap_err();
        assert_eq!(e.to_string(), "invalid port in exclude: 70000 is outside 1-65535");
        let o = OptionValues { max_tries: Some(7.0), reserve: Some(ReserveValue::Seconds(5.0)), ..none() };
        let q = Query::new(o, Vec::new(), None).unwrap();
        assert_eq!((q.max_tries, q.reserve), (Some(7), true));
    }

    /// Drives a search in batches of `k` with `is_free` as the probe, the way
    /// the package does; the outcome must be `Port4me::find_with`'s.
    fn batched(p: &Port4me, max_tries: Option<u32>, k: u32, is_free: impl Fn(u16) -> bool) -> Result<u16, String> {
        let (mut s, _) = SearchState::start(p, max_tries).map_err(|e| e.to_string())?;
        loop {
            let batch = s.next_batch(k).map_err(|e| e.to_string())?;
            if batch.is_empty() {
                return Err(s.no_free_port().to_string());
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
            e.to_string(),
            "could not probe tcp port 40000 on 192.0.2.1: listen EADDRNOTAVAIL: address not available"
        );
    }
}
