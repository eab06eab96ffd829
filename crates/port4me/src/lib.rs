//! Get the same, personal, free TCP port over and over.
//!
//! ```no_run
//! let port = port4me::Port4me::new().tool("vite").find()?;
//! println!("{port}");
//! # Ok::<(), port4me::Error>(())
//! ```
//!
//! This crate is the std layer over [`port4me_core`]: it fills in what the
//! caller leaves out from the environment (the `PORT4ME_*` variables and the
//! current user, see [`mod@env`]) and checks candidates with real sockets (see
//! [`probe`]). The behaviour follows the project's contract, which reproduces
//! the reference port4me implementations: the same user and tool give the same
//! sequence on every machine and in every language.
//!
//! Settings resolve like this (an explicit builder call replaces only the
//! user-level variable; the `_SITE` and `_UNSAFE` parts still apply):
//!
//! | setting | builder | variables |
//! | --- | --- | --- |
//! | user | [`user`](Port4me::user) | `PORT4ME_USER`, `LOGNAME`, `USER`, `LNAME`, `USERNAME`, account |
//! | tool | [`tool`](Port4me::tool) | `PORT4ME_TOOL` |
//! | prepend | [`prepend`](Port4me::prepend) | `PORT4ME_PREPEND` then `PORT4ME_PREPEND_SITE` |
//! | include | [`include`](Port4me::include) | `PORT4ME_INCLUDE` ∪ `PORT4ME_INCLUDE_SITE` |
//! | exclude | [`exclude`](Port4me::exclude) | `PORT4ME_EXCLUDE` ∪ `PORT4ME_EXCLUDE_SITE` ∪ `PORT4ME_EXCLUDE_UNSAFE` |
//! | skip | [`skip`](Port4me::skip) | `PORT4ME_SKIP` |
//!
//! `PORT4ME_EXCLUDE_UNSAFE` defaults to `{chrome},{firefox}`, whose lists can
//! be replaced with `PORT4ME_EXCLUDE_UNSAFE_CHROME` and `_FIREFOX`.
//! `_PORT4ME_CHECK_AVAILABLE_PORTS_=any` makes every probe answer "free".

#![warn(missing_docs)]

pub mod env;
mod error;
pub mod probe;
pub mod search;
pub mod text;
pub mod values;
pub mod worktree;

use std::borrow::Cow;
use std::net::IpAddr;

pub use env::Env;
pub use error::Error;
pub use port4me_core as core;
pub use port4me_core::query::Resolved;
pub use probe::{is_port_free, is_port_free_to_listen, ProbeOptions, Protocol};
pub use search::Search;

use port4me_core::spec::{self, Expansions};
use port4me_core::DEFAULT_MAX_TRIES;

pub use port4me_core::MAX_LIST;

/// Ports given to the builder: a specification string or explicit numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ports {
    /// A specification such as `"2000-2009,4321,{chrome}"`.
    Spec(String),
    /// Explicit port numbers (each must be 1-65535; checked at resolve time).
    List(Vec<u16>),
}

impl Ports {
    /// These ports as the core's resolver takes them.
    pub fn as_ref(&self) -> port4me_core::query::PortsRef<'_> {
        match self {
            Ports::Spec(s) => port4me_core::query::PortsRef::Spec(s),
            Ports::List(v) => port4me_core::query::PortsRef::List(v),
        }
    }
}

impl From<&str> for Ports {
    fn from(s: &str) -> Self {
        Ports::Spec(s.to_string())
    }
}
impl From<String> for Ports {
    fn from(s: String) -> Self {
        Ports::Spec(s)
    }
}
impl From<Vec<u16>> for Ports {
    fn from(v: Vec<u16>) -> Self {
        Ports::List(v)
    }
}
impl From<&[u16]> for Ports {
    fn from(v: &[u16]) -> Self {
        Ports::List(v.to_vec())
    }
}
impl<const N: usize> From<[u16; N]> for Ports {
    fn from(v: [u16; N]) -> Self {
        Ports::List(v.to_vec())
    }
}

#[derive(Clone, Debug)]
struct Arg {
    ports: Ports,
    source: &'static str,
}

/// A port4me query: build it, then [`find`](Port4me::find) a free port,
/// [`list`](Port4me::list) candidates, or [`test`](Port4me::test) one port.
#[derive(Clone, Debug, Default)]
pub struct Port4me {
    env: Env,
    user: Option<String>,
    tool: Option<String>,
    prepend: Option<Arg>,
    include: Option<Arg>,
    exclude: Option<Arg>,
    skip: Option<u64>,
    max_tries: Option<u32>,
    probe: ProbeOptions,
}

/// How a search checks candidates: by probing, or (with
/// `_PORT4ME_CHECK_AVAILABLE_PORTS_=any`) by trusting every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeMode {
    /// Bind a socket.
    Probe,
    /// Every port answers "free" (the reference's testing hook).
    AssumeFree,
}

impl Port4me {
    /// A query that reads unset settings from the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A query that reads unset settings from `env` instead.
    pub fn with_env(env: Env) -> Self {
        Port4me { env, ..Self::default() }
    }

    /// The user part of the seed. Empty means "not given" (as in the
    /// reference): the environment decides.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The tool part of the seed. An explicit empty tool means "no tool" and
    /// stops `PORT4ME_TOOL` from applying. `{worktree}` in it, here or in
    /// `PORT4ME_TOOL`, stands for the name of the git worktree of the
    /// current directory ([`worktree`]).
    pub fn tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// Ports to try first, replacing `PORT4ME_PREPEND`.
    pub fn prepend(self, ports: impl Into<Ports>) -> Self {
        self.prepend_from(ports, "prepend")
    }

    /// Ports to search, replacing `PORT4ME_INCLUDE`.
    pub fn include(self, ports: impl Into<Ports>) -> Self {
        self.include_from(ports, "include")
    }

    /// Ports to skip, replacing `PORT4ME_EXCLUDE` (the site and unsafe lists
    /// still apply).
    pub fn exclude(self, ports: impl Into<Ports>) -> Self {
        self.exclude_from(ports, "exclude")
    }

    /// [`prepend`](Self::prepend), naming where the value came from (e.g.
    /// `"--prepend"`) for error messages.
    pub fn prepend_from(mut self, ports: impl Into<Ports>, source: &'static str) -> Self {
        self.prepend = Some(Arg { ports: ports.into(), source });
        self
    }

    /// [`include`](Self::include) with a named source.
    pub fn include_from(mut self, ports: impl Into<Ports>, source: &'static str) -> Self {
        self.include = Some(Arg { ports: ports.into(), source });
        self
    }

    /// [`exclude`](Self::exclude) with a named source.
    pub fn exclude_from(mut self, ports: impl Into<Ports>, source: &'static str) -> Self {
        self.exclude = Some(Arg { ports: ports.into(), source });
        self
    }

    /// Drops the first `n` candidates (prepended ones count).
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = Some(n);
        self
    }

    /// Gives up after this many probes (default 65535; 0 is an error).
    pub fn max_tries(mut self, n: u32) -> Self {
        self.max_tries = Some(n);
        self
    }

    /// Probes only this address.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.probe.host = Some(host);
        self
    }

    /// Probes TCP (default) or UDP.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.probe.protocol = protocol;
        self
    }

    /// The probe settings.
    pub fn probe_options(&self) -> ProbeOptions {
        self.probe
    }

    /// The environment this query reads.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The user and tool the seed is made of, after the environment fallback.
    pub fn seed_parts(&self) -> Result<(String, Option<String>), Error> {
        let user = match self.user.as_deref() {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => self.env.user()?,
        };
        let tool = match &self.tool {
            Some(t) => Some(worktree::expand(t.clone(), "the tool argument")?),
            None => self.env.var("PORT4ME_TOOL")?.map(|t| worktree::expand(t, "PORT4ME_TOOL")).transpose()?,
        };
        Ok((user, tool))
    }

    /// The seed string, e.g. `"alice,vite"`.
    pub fn seed(&self) -> Result<String, Error> {
        let (user, tool) = self.seed_parts()?;
        Ok(port4me_core::hash::seed_string(&user, tool.as_deref())?)
    }

    fn unsafe_list(&self, name: &'static str, default: &'static [u16]) -> Result<Cow<'static, [u16]>, Error> {
        match self.env.var(name)? {
            None => Ok(Cow::Borrowed(default)),
            Some(s) => spec::parse_list(&s, &Expansions::NONE, name).map(Cow::Owned).map_err(|spec| {
                let list = spec.item.as_str().trim_start_matches('{').trim_end_matches('}');
                if spec.kind == port4me_core::error::SpecErrorKind::UnknownToken
                    && matches!(spec.item.as_str(), "{chrome}" | "{firefox}")
                {
                    let self_reference = name.to_ascii_lowercase().ends_with(list);
                    Error::BrowserListToken { spec, self_reference }
                } else {
                    port4me_core::Error::from(spec).into()
                }
            }),
        }
    }

    fn number(&self, what: &'static str, name: &'static str) -> Result<Option<u64>, Error> {
        let Some(v) = self.env.var(name)? else { return Ok(None) };
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        parse_count(t, what, name).map(Some)
    }

    /// Parses every setting once. The result hands out candidate iterators.
    pub fn resolve(&self) -> Result<Resolved, Error> {
        let (user, tool) = self.seed_parts()?;
        let hash = port4me_core::seed_hash(&user, tool.as_deref())?;
        let chrome = self.unsafe_list("PORT4ME_EXCLUDE_UNSAFE_CHROME", port4me_core::unsafe_ports::CHROME)?;
        let firefox = self.unsafe_list("PORT4ME_EXCLUDE_UNSAFE_FIREFOX", port4me_core::unsafe_ports::FIREFOX)?;
        let exp = Expansions { chrome: Some(&chrome), firefox: Some(&firefox) };

        let prepend = self.values(&self.prepend, "PORT4ME_PREPEND", "PORT4ME_PREPEND_SITE")?;
        let include = self.values(&self.include, "PORT4ME_INCLUDE", "PORT4ME_INCLUDE_SITE")?;
        let mut exclude = self.values(&self.exclude, "PORT4ME_EXCLUDE", "PORT4ME_EXCLUDE_SITE")?;
        let unsafe_spec = self.env.var("PORT4ME_EXCLUDE_UNSAFE")?;
        let unsafe_spec = unsafe_spec.as_deref().unwrap_or(port4me_core::unsafe_ports::DEFAULT_EXCLUDE_UNSAFE);
        exclude.push((Cow::Owned(Ports::Spec(unsafe_spec.to_string())), "PORT4ME_EXCLUDE_UNSAFE"));
        let skip = match self.skip {
            Some(n) => n,
            None => self.number("skip", "PORT4ME_SKIP")?.unwrap_or(0),
        };
        let sources = port4me_core::query::Sources {
            prepend: &refs(&prepend),
            include: &refs(&include),
            exclude: &refs(&exclude),
            expansions: exp,
            skip,
        };
        Ok(sources.resolve(hash)?)
    }

    /// The values of one setting, in order: the argument (or, without one,
    /// the user's variable), then the site's variable.
    fn values<'a>(
        &self,
        arg: &'a Option<Arg>,
        user_var: &'static str,
        site_var: &'static str,
    ) -> Result<Vec<(Cow<'a, Ports>, &'static str)>, Error> {
        let mut out = Vec::new();
        match arg {
            Some(a) => out.push((Cow::Borrowed(&a.ports), a.source)),
            None => {
                if let Some(s) = self.env.var(user_var)? {
                    out.push((Cow::Owned(Ports::Spec(s)), user_var));
                }
            }
        }
        if let Some(s) = self.env.var(site_var)? {
            out.push((Cow::Owned(Ports::Spec(s)), site_var));
        }
        Ok(out)
    }

    /// `PORT4ME_LIST` as a count, when set (used by the CLI and bindings when
    /// no explicit list count is given).
    pub fn list_from_env(&self) -> Result<Option<usize>, Error> {
        match self.number("list", "PORT4ME_LIST")? {
            None => Ok(None),
            Some(n) => check_list_count(n, "PORT4ME_LIST").map(Some),
        }
    }

    /// The first `n` candidates; with `n` absent, `PORT4ME_LIST` of them, or
    /// one when that is unset too (the `list()` of the JavaScript API).
    pub fn list_or_env(&self, n: Option<usize>) -> Result<Vec<u16>, Error> {
        let n = match n {
            Some(n) => n,
            None => self.list_from_env()?.unwrap_or(1),
        };
        self.list(n)
    }

    /// `PORT4ME_TEST` as a port, when set.
    pub fn test_from_env(&self) -> Result<Option<u16>, Error> {
        match self.env.non_empty("PORT4ME_TEST")? {
            None => Ok(None),
            Some(v) => parse_port(v.trim(), "PORT4ME_TEST").map(Some),
        }
    }

    /// `PORT4ME_PORT` as a port, when set: the port `port4me run` holds for
    /// the command it started. The Node API and the Vite plugin use it
    /// instead of searching again; the command line's main command does not
    /// (it stays the reference's search).
    pub fn given_port(&self) -> Result<Option<u16>, Error> {
        match self.env.non_empty("PORT4ME_PORT")? {
            None => Ok(None),
            Some(v) => parse_port(v.trim(), "PORT4ME_PORT").map(Some),
        }
    }

    /// Whether probes are real or all answer "free"
    /// (`_PORT4ME_CHECK_AVAILABLE_PORTS_=any`).
    pub fn probe_mode(&self) -> Result<ProbeMode, Error> {
        const NAME: &str = "_PORT4ME_CHECK_AVAILABLE_PORTS_";
        match self.env.var(NAME)?.as_deref() {
            None | Some("") => Ok(ProbeMode::Probe),
            Some("any") => Ok(ProbeMode::AssumeFree),
            Some(other) => Err(Error::InvalidEnv {
                name: NAME.into(),
                value: other.into(),
                reason: "the only allowed value is \"any\"",
            }),
        }
    }

    /// The first `n` candidates, without probing.
    ///
    /// ```
    /// let ports = port4me::Port4me::with_env(port4me::Env::from_pairs([("PORT4ME_USER", "alice")])).list(3)?;
    /// assert_eq!(ports, [30845, 19654, 32310]);
    /// # Ok::<(), port4me::Error>(())
    /// ```
    pub fn list(&self, n: usize) -> Result<Vec<u16>, Error> {
        check_list_count(n as u64, "list")?;
        Ok(self.resolve()?.list(n)?)
    }

    /// The first candidate that is free.
    ///
    /// ```
    /// use port4me::{Env, Port4me};
    /// let env = Env::from_pairs([("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]);
    /// assert_eq!(Port4me::with_env(env).user("alice").tool("rstudio").find()?, 22486);
    /// # Ok::<(), port4me::Error>(())
    /// ```
    pub fn find(&self) -> Result<u16, Error> {
        let mode = self.probe_mode()?;
        self.find_with(|port| self.check(mode, port, false))
    }

    /// The first candidate for which `is_free` answers `true`. The search
    /// ends once every distinct candidate (prepended and allowed) has been
    /// checked once, or after `max_tries` candidates, whichever comes first
    /// (see [`Search`]); a candidate is never checked twice. The registry
    /// uses this to skip ports it has handed out.
    pub fn find_with(&self, is_free: impl FnMut(u16) -> Result<bool, Error>) -> Result<u16, Error> {
        self.try_find_with(is_free)
    }

    /// [`find_with`](Self::find_with) for a check that fails with the
    /// caller's own error type (anything a port4me [`Error`] converts into,
    /// such as the registry's); the first failure ends the search.
    pub fn try_find_with<E: From<Error>>(&self, mut is_free: impl FnMut(u16) -> Result<bool, E>) -> Result<u16, E> {
        let mut search = self.search()?;
        while let Some(port) = search.next_port()? {
            if is_free(port)? {
                return Ok(port);
            }
        }
        Err(search.no_free_port().into())
    }

    /// The search [`find_with`](Self::find_with) runs, for callers that
    /// check candidates their own way (in batches, or with work between
    /// checks). Fails on a bad setting or `max_tries` of 0.
    pub fn search(&self) -> Result<Search, Error> {
        let max_tries = self.max_tries.unwrap_or(DEFAULT_MAX_TRIES);
        if max_tries == 0 {
            return Err(Error::InvalidNumber {
                what: "max tries",
                source_name: "max_tries".into(),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Search::new(self.resolve()?, max_tries, self.probe.protocol))
    }

    /// Whether `port` is free with this query's probe settings (and the
    /// `_PORT4ME_CHECK_AVAILABLE_PORTS_` hook).
    pub fn test(&self, port: u16) -> Result<bool, Error> {
        self.test_as(port, false)
    }

    /// [`test`](Self::test) for a server about to listen on `port`: the
    /// connections a server left in `TIME_WAIT` do not count on Linux
    /// ([`is_port_free_to_listen`]). What `port4me run` and the Vite plugin
    /// hold a port with, so a dev server restarted within a minute keeps
    /// its port.
    pub fn test_to_listen(&self, port: u16) -> Result<bool, Error> {
        self.test_as(port, true)
    }

    fn test_as(&self, port: u16, server: bool) -> Result<bool, Error> {
        if port == 0 {
            return Err(Error::InvalidPort { source_name: "test".into(), value: "0".into() });
        }
        self.check(self.probe_mode()?, port, server)
    }

    /// One candidate check: a probe (as a `server` would bind, or the
    /// reference's), or "free" under the testing hook.
    fn check(&self, mode: ProbeMode, port: u16, server: bool) -> Result<bool, Error> {
        match mode {
            ProbeMode::AssumeFree => Ok(true),
            ProbeMode::Probe if server => is_port_free_to_listen(port, &self.probe),
            ProbeMode::Probe => is_port_free(port, &self.probe),
        }
    }
}

/// Values as the core's resolver borrows them.
fn refs<'a>(values: &'a [(Cow<'_, Ports>, &'static str)]) -> Vec<(port4me_core::query::PortsRef<'a>, &'static str)> {
    values.iter().map(|(p, s)| (p.as_ref().as_ref(), *s)).collect()
}

fn check_list_count(n: u64, source: &str) -> Result<usize, Error> {
    if n == 0 || n > MAX_LIST as u64 {
        return Err(Error::InvalidNumber {
            what: "list count",
            source_name: source.into(),
            value: n.to_string(),
            reason: format!("must be between 1 and {MAX_LIST}").into(),
        });
    }
    Ok(n as usize)
}

/// Parses a non-negative count such as a skip or list value, naming
/// `source` in the error.
///
/// It accepts what the reference CLI accepts for a count (Python's `int()`)
/// unless that is ambiguous: ASCII digits with an optional leading `+` and
/// surrounding whitespace (`+2`, `" 3"`). Underscores (`1_0`), non-ASCII
/// digits and fractions are refused; conformance/SPEC.md section 8 records this.
pub fn parse_count(text: &str, what: &'static str, source: &str) -> Result<u64, Error> {
    let bad = |reason: Cow<'static, str>| Error::InvalidNumber {
        what,
        source_name: source.into(),
        value: text.into(),
        reason,
    };
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if t.strip_prefix('-').is_some_and(all_digits) {
        return Err(bad("must not be negative".into()));
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    if !all_digits(digits) {
        return Err(bad("is not a whole number".into()));
    }
    digits.parse::<u64>().map_err(|_| bad(format!("is too large (at most {})", u64::MAX).into()))
}

/// Parses a single port number 1-65535 given as text, naming `source` in
/// the error: not a whole number is `ERR_PORT4ME_INVALID_NUMBER`, outside
/// 1-65535 `ERR_PORT4ME_INVALID_PORT` ("invalid port in SOURCE: V is
/// outside 1-65535", the one wording every layer uses).
pub fn parse_port(text: &str, source: &str) -> Result<u16, Error> {
    let out_of_range = || Error::InvalidPort { source_name: source.into(), value: text.into() };
    let n = match parse_count(text, "port", source) {
        Ok(n) => n,
        // A negative whole number (`-1`) is a number, and no port: said as
        // for 0 or 70000, not as a count that "must not be negative".
        Err(_)
            if text
                .trim()
                .strip_prefix('-')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return Err(out_of_range())
        }
        Err(e) => return Err(e),
    };
    check_port(i64::try_from(n).unwrap_or(i64::MAX), source).map_err(|_| out_of_range())
}

/// Checks a port number given as a number: 1-65535, else
/// [`Error::InvalidPort`] naming `source`.
pub fn check_port(value: i64, source: &str) -> Result<u16, Error> {
    match u16::try_from(value) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::InvalidPort { source_name: source.into(), value: value.to_string() }),
    }
}

/// Whether `port` is free for TCP on every local address.
pub fn test(port: u16) -> Result<bool, Error> {
    is_port_free(port, &ProbeOptions::tcp())
}

/// The first free port for the user from the environment and `tool`.
pub fn port4me(tool: &str) -> Result<u16, Error> {
    Port4me::new().tool(tool).find()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|&(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn explicit_exclude_keeps_site_and_unsafe() {
        let e = env(&[("PORT4ME_EXCLUDE", "30845"), ("PORT4ME_EXCLUDE_SITE", "19654")]);
        // The argument replaces PORT4ME_EXCLUDE but not _SITE.
        let l = Port4me::with_env(e).user("alice").exclude("32310").list(3).unwrap();
        assert_eq!(l, [30845, 63992, 15273]);
    }

    #[test]
    fn unsafe_override_and_site_prepend() {
        let e = env(&[("PORT4ME_PREPEND", "4321"), ("PORT4ME_PREPEND_SITE", "4321,11001")]);
        assert_eq!(Port4me::with_env(e).user("alice").list(3).unwrap(), [4321, 11001, 30845]);
        let e = env(&[("PORT4ME_EXCLUDE_UNSAFE_CHROME", "{firefox}")]);
        let err = Port4me::with_env(e).user("alice").list(1).unwrap_err();
        assert!(err.to_string().contains("PORT4ME_EXCLUDE_UNSAFE_CHROME"), "{err}");
    }

    #[test]
    fn env_numbers_name_their_variable() {
        for (var, val) in [("PORT4ME_SKIP", "foo"), ("PORT4ME_SKIP", "-1")] {
            let err = Port4me::with_env(env(&[(var, val)])).user("a").list(1).unwrap_err();
            assert_eq!(err.code(), "ERR_PORT4ME_INVALID_NUMBER");
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = Port4me::with_env(env(&[("PORT4ME_LIST", "0")])).list_from_env().unwrap_err();
        assert!(err.to_string().contains("PORT4ME_LIST"), "{err}");
    }

    #[test]
    fn counts_accept_what_the_reference_cli_accepts_unless_ambiguous() {
        for (text, n) in [("+2", 2), (" 3", 3), ("4 ", 4), ("\t+5\n", 5), ("007", 7)] {
            assert_eq!(parse_count(text, "skip", "--skip").unwrap(), n, "{text:?}");
        }
        for (text, why) in [
            ("-2", "must not be negative"),
            (" -2", "must not be negative"),
            ("++2", "is not a whole number"),
            ("+", "is not a whole number"),
            ("1_0", "is not a whole number"),
            ("\u{0661}", "is not a whole number"),
            ("2.0", "is not a whole number"),
            ("", "is not a whole number"),
            ("+ 2", "is not a whole number"),
            ("18446744073709551616", "is too large (at most 18446744073709551615)"),
        ] {
            let err = parse_count(text, "skip", "--skip").unwrap_err();
            assert!(err.to_string().contains(why) && err.to_string().contains("--skip"), "{text:?}: {err}");
        }
        assert_eq!(parse_port("+80", "--test").unwrap(), 80);
        // A negative number is a number out of the ports' range, as 0 is.
        for (text, code) in [
            ("-1", "ERR_PORT4ME_INVALID_PORT"),
            ("0", "ERR_PORT4ME_INVALID_PORT"),
            ("-x", "ERR_PORT4ME_INVALID_NUMBER"),
        ] {
            let e = parse_port(text, "--test").unwrap_err();
            assert_eq!(e.code(), code, "{text}: {e}");
        }
        assert_eq!(
            parse_port("-1", "--test").unwrap_err().to_string(),
            "invalid port in --test: -1 is outside 1-65535"
        );
    }

    #[test]
    fn check_hook() {
        let p = Port4me::with_env(env(&[("_PORT4ME_CHECK_AVAILABLE_PORTS_", "yes")])).user("alice");
        assert_eq!(p.find().unwrap_err().code(), "ERR_PORT4ME_INVALID_ENV");
        let p = Port4me::with_env(env(&[("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")])).user("alice");
        assert_eq!(p.find().unwrap(), 30845);
    }

    #[test]
    fn max_tries_gives_a_clear_error() {
        let p = Port4me::with_env(env(&[])).user("alice").max_tries(3);
        let err = p.find_with(|_| Ok(false)).unwrap_err();
        assert_eq!(err.code(), "ERR_PORT4ME_NO_FREE_PORT");
        assert!(err.to_string().contains("3 attempts") && err.to_string().contains("30845"), "{err}");
    }

    #[test]
    fn zero_max_tries_is_an_error_not_a_silent_failure() {
        let err = Port4me::with_env(env(&[])).user("alice").max_tries(0).find().unwrap_err();
        assert_eq!(err.code(), "ERR_PORT4ME_INVALID_NUMBER");
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    #[test]
    fn busy_port_is_skipped() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let p = Port4me::with_env(env(&[])).user("alice").prepend([port]);
        assert_ne!(p.find().unwrap(), port);
    }

    /// Listeners on `n` ports the system picks, and those ports.
    fn busy_ports(n: usize) -> (Vec<std::net::TcpListener>, Vec<u16>) {
        let listeners: Vec<_> = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let ports = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
        (listeners, ports)
    }

    #[test]
    fn a_search_over_busy_ports_probes_each_once_and_stops() {
        for n in 1..=3 {
            let (_listeners, ports) = busy_ports(n);
            let p = Port4me::with_env(env(&[("PORT4ME_EXCLUDE_UNSAFE", "")])).user("alice").include(ports.clone());
            let start = std::time::Instant::now();
            let mut probed = Vec::new();
            let err = p
                .find_with(|port| {
                    probed.push(port);
                    is_port_free(port, &ProbeOptions::tcp())
                })
                .unwrap_err();
            assert!(start.elapsed() < std::time::Duration::from_secs(2), "{n} ports took {:?}", start.elapsed());
            assert_eq!(err.code(), "ERR_PORT4ME_NO_FREE_PORT");
            probed.sort_unstable();
            let mut want = ports.clone();
            want.sort_unstable();
            assert_eq!(probed, want, "each port probed exactly once");
            let msg = err.to_string();
            let expected = if n == 1 {
                format!("no free tcp port found after 1 attempts: the only allowed port, {}, is in use", ports[0])
            } else {
                format!("no free tcp port found after {n} attempts: all {n} allowed ports are in use (")
            };
            assert!(msg.starts_with(&expected), "{msg}");
            assert!(ports.iter().all(|p| msg.contains(&p.to_string())), "{msg}");
            // find() probes for itself and says the same.
            assert_eq!(p.find().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn prepended_ports_count_and_a_repeat_is_not_probed_again() {
        // alice's sequence starts 30845, 19654, 32310.
        let p = Port4me::with_env(env(&[])).user("alice").prepend([30845]);
        let mut probed = Vec::new();
        let port = p.find_with(|port| {
            probed.push(port);
            Ok(port != 30845)
        });
        // The reference probes 30845 twice; the result is the same.
        assert_eq!((port.unwrap(), probed.as_slice()), (19654, &[30845, 19654][..]));
        // max_tries counts the repeat, as in the reference.
        let mut probed = Vec::new();
        let err = p
            .clone()
            .max_tries(2)
            .find_with(|port| {
                probed.push(port);
                Ok(false)
            })
            .unwrap_err();
        assert_eq!(probed, [30845]);
        assert_eq!(
            err.to_string(),
            "no free tcp port found after 2 attempts (the first candidates were [30845, 30845])"
        );
        // Prepended ports outside the allowed set are candidates too.
        let p = Port4me::with_env(env(&[])).user("alice").prepend([4000, 2001]).include("2000-2001");
        let mut probed = Vec::new();
        let err = p
            .find_with(|port| {
                probed.push(port);
                Ok(false)
            })
            .unwrap_err();
        assert_eq!(probed.len(), 3, "{probed:?}");
        assert_eq!(&probed[..2], [4000, 2001]);
        assert!(err.to_string().ends_with(": all 3 allowed ports are in use (4000, 2001, 2000)"), "{err}");
    }

    #[test]
    fn max_tries_still_stops_a_search_early() {
        let p = Port4me::with_env(env(&[])).user("alice").include("2000-2009");
        let mut probes = 0;
        let err = p
            .clone()
            .max_tries(4)
            .find_with(|_| {
                probes += 1;
                Ok(false)
            })
            .unwrap_err();
        assert_eq!(probes, 4);
        assert!(err.to_string().contains("after 4 attempts (the first candidates were ["), "{err}");
        // Without a limit: ten probes, and more than five ports are not listed one by one.
        let mut probes = 0;
        let err = p
            .find_with(|_| {
                probes += 1;
                Ok(false)
            })
            .unwrap_err();
        assert_eq!((probes, err.code()), (10, "ERR_PORT4ME_NO_FREE_PORT"));
        let msg = err.to_string();
        assert!(
            msg.contains("after 10 attempts: all 10 allowed ports are in use (the first candidates were ["),
            "{msg}"
        );
        // Nothing allowed after the prepended ports stays an empty-set error.
        let p = Port4me::with_env(env(&[])).user("alice").prepend([4000]).include("2000").exclude("2000");
        assert_eq!(p.find_with(|_| Ok(false)).unwrap_err().code(), port4me_core::Error::EmptySet.code());
    }

    #[test]
    fn a_search_hands_out_each_port_once() {
        let p = Port4me::with_env(env(&[])).user("bob").prepend("2001,3000").include("2000-2003").skip(1);
        let mut s = p.search().unwrap();
        let mut out = Vec::new();
        while let Some(port) = s.next_port().unwrap() {
            out.push(port);
        }
        // skip 1 drops 2001 from the prepended ports, but the LCG part still reaches it.
        assert_eq!(out[0], 3000);
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [2000, 2001, 2002, 2003, 3000]);
        assert!(s.exhausted() && s.next_port().unwrap().is_none());
        assert_eq!(s.no_free_port().code(), "ERR_PORT4ME_NO_FREE_PORT");
    }

    #[test]
    fn list_count_is_bounded() {
        assert_eq!(Port4me::with_env(env(&[])).user("a").list(0).unwrap_err().code(), "ERR_PORT4ME_INVALID_NUMBER");
        assert_eq!(
            Port4me::with_env(env(&[])).user("a").list(usize::MAX).unwrap_err().code(),
            "ERR_PORT4ME_INVALID_NUMBER"
        );
    }
}
