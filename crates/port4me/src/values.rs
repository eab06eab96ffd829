//! Option values as JavaScript hands them over, checked once for every
//! binding that receives them: the Node.js addon (`bindings/node`) and the
//! WebAssembly fallback of the npm package (`bindings/wasm`, feature `node`).
//!
//! A JavaScript number arrives as an `f64`, so `-1`, `NaN`, `1.5` or `70000`
//! must be refused with a message naming the value, never wrapped or
//! truncated by an integer conversion. The functions here do that, and
//! [`OptionValues::check`] turns the whole options object of `port4me()`,
//! `port4meAsync()` and `list()` into [`CheckedOptions`], which
//! [`CheckedOptions::query`] maps onto a [`Port4me`] query. The bindings only
//! read JavaScript values into these types (their type checks come first)
//! and turn the [`Error`]s into JavaScript errors with `err.code` =
//! [`Error::code`].
//!
//! Source names in messages are the JavaScript option names (`maxTries`,
//! `n`, `reserve`), so that both bindings say the same thing word for word.
//!
//! ```
//! use port4me::values::{port_from_f64, OptionValues, PortValues};
//! use port4me::Env;
//!
//! assert_eq!(port_from_f64(8080.0, "port")?, 8080);
//! let e = port_from_f64(1.5, "exclude").unwrap_err();
//! assert_eq!(e.to_string(), "invalid port in exclude: 1.5 is not an integer in 1-65535");
//!
//! let o = OptionValues {
//!     user: Some("alice".into()),
//!     exclude: Some(PortValues::Numbers(vec![30845.0])),
//!     n: Some(2.0),
//!     ..Default::default()
//! }
//! .check()?;
//! let n = o.n;
//! // The site list still applies: 32310 is excluded too.
//! let env = Env::from_pairs([("PORT4ME_EXCLUDE_SITE", "32310")]);
//! assert_eq!(o.query(env).list_or_env(n)?, [19654, 63992]);
//! # Ok::<(), port4me::Error>(())
//! ```

use std::net::IpAddr;
use std::time::Duration;

use crate::{Env, Error, Port4me, Ports, ProbeOptions, Protocol, MAX_LIST};

/// `Number.MAX_SAFE_INTEGER`, the largest `skip`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A JavaScript number as text for messages: integers below 10^21 without a
/// fraction, `NaN`, `Infinity` and `-Infinity` as JavaScript prints them;
/// other values in Rust's shortest form (`1.5`, `-0.5`; JavaScript would
/// print `1e-7` where this prints `0.0000001`).
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

fn is_whole(v: f64) -> bool {
    v.is_finite() && v == v.trunc()
}

/// A port number 1-65535 from a JavaScript number; `source` names where it
/// came from. A whole number out of range is [`Error::InvalidPort`], anything
/// else [`Error::PortNotInteger`] (both `ERR_PORT4ME_INVALID_PORT`).
pub fn port_from_f64(v: f64, source: &str) -> Result<u16, Error> {
    if is_whole(v) && (1.0..=65535.0).contains(&v) {
        return Ok(v as u16);
    }
    let (source_name, value) = (source.to_string(), js_number(v));
    Err(if is_whole(v) {
        Error::InvalidPort { source_name, value }
    } else {
        Error::PortNotInteger { source_name, value }
    })
}

/// A whole number in `min..=max` from a JavaScript number, for a count such
/// as `skip` (`what`) given as `source`. Errors are
/// [`Error::InvalidNumber`] (`ERR_PORT4ME_INVALID_NUMBER`).
pub fn count_from_f64(v: f64, what: &'static str, source: &str, min: u64, max: u64) -> Result<u64, Error> {
    let reason: std::borrow::Cow<'static, str> = if !is_whole(v) {
        "is not a whole number".into()
    } else if v < 0.0 {
        "must not be negative".into()
    } else if v < min as f64 {
        format!("must be at least {min}").into()
    } else if v > max as f64 {
        format!("is too large (at most {max})").into()
    } else {
        return Ok(v as u64);
    };
    Err(Error::InvalidNumber { what, source_name: source.into(), value: js_number(v), reason })
}

/// A duration from a JavaScript number of seconds (fractions allowed; zero
/// too: whether it makes sense is the caller's to say). Not a number, a
/// negative or a too large value is [`Error::InvalidNumber`].
pub fn seconds_from_f64(secs: f64, what: &'static str, source: &str) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(secs).map_err(|_| Error::InvalidNumber {
        what,
        source_name: source.into(),
        value: js_number(secs),
        reason: if !secs.is_finite() {
            "is not a number of seconds".into()
        } else if secs < 0.0 {
            "must not be negative".into()
        } else {
            format!("is too large (at most {} seconds)", Duration::MAX.as_secs()).into()
        },
    })
}

/// A `host` option (and the CLI's `--host`, which is the same parser): an
/// IPv4 or IPv6 address, brackets allowed (`[::1]`), or `localhost` for
/// `127.0.0.1`. Other names are refused ([`Error::InvalidHost`],
/// `ERR_INVALID_ARG_VALUE`): a probe binds an address, and resolving names
/// would make the answer depend on the resolver. Multicast and broadcast
/// addresses are refused too ([`Error::HostNotUnicast`]), since a probe
/// could bind them without telling anything about the port. The
/// unspecified address (`0.0.0.0`, `::`) stands for all local addresses.
pub fn parse_host(host: &str) -> Result<IpAddr, Error> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    }
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let ip: IpAddr = h.parse().map_err(|_| Error::InvalidHost { value: host.to_string() })?;
    let kind = match ip.to_canonical() {
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast"),
        a if a.is_multicast() => Some("a multicast"),
        _ => None,
    };
    match (kind, ip) {
        (Some(kind), _) => Err(Error::HostNotUnicast { value: host.to_string(), kind }),
        (None, IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => Err(Error::HostMapped {
            value: host.to_string(),
            v4: v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        }),
        (None, _) => Ok(ip),
    }
}

/// A `protocol` option: `"tcp"` or `"udp"`, in any case
/// ([`Error::InvalidProtocol`], `ERR_INVALID_ARG_VALUE`, otherwise).
pub fn parse_protocol(p: &str) -> Result<Protocol, Error> {
    Ok(p.parse()?)
}

/// Probe settings from the `host` and `protocol` options (TCP on every local
/// address when both are absent).
pub fn probe_options(host: Option<&str>, protocol: Option<&str>) -> Result<ProbeOptions, Error> {
    Ok(ProbeOptions {
        host: host.map(parse_host).transpose()?,
        protocol: protocol.map(parse_protocol).transpose()?.unwrap_or_default(),
    })
}

/// Ports as given: a specification string (`"2000-2009,4321,{chrome}"`,
/// parsed when the query resolves) or port numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum PortValues {
    /// A specification string.
    Spec(String),
    /// JavaScript numbers, each to be a port 1-65535.
    Numbers(Vec<f64>),
}

impl PortValues {
    /// Checks the numbers (naming `source` in the error); a specification
    /// is passed on as it is.
    pub fn check(self, source: &str) -> Result<Ports, Error> {
        match self {
            PortValues::Spec(spec) => Ok(Ports::Spec(spec)),
            PortValues::Numbers(list) => {
                list.into_iter().map(|v| port_from_f64(v, source)).collect::<Result<Vec<_>, _>>().map(Ports::List)
            }
        }
    }
}

/// A `reserve` option as given: `true` / `false`, or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReserveValue {
    /// `true`: a lease of the registry's default length; `false`: none.
    Flag(bool),
    /// A lease of this many seconds.
    Seconds(f64),
}

/// A checked `reserve` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// As long as the registry's default.
    Default,
    /// This long (the registry checks the range; zero is its to refuse).
    For(Duration),
}

impl ReserveValue {
    /// The lease asked for, if any.
    pub fn check(self) -> Result<Option<Lease>, Error> {
        match self {
            ReserveValue::Flag(false) => Ok(None),
            ReserveValue::Flag(true) => Ok(Some(Lease::Default)),
            ReserveValue::Seconds(secs) => {
                seconds_from_f64(secs, "lease time (seconds)", "reserve").map(|d| Some(Lease::For(d)))
            }
        }
    }
}

/// The options object of `port4me()`, `port4meAsync()` and `list()` as
/// given, before any value is checked (the environment, `env`, is the
/// bindings' own business).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionValues {
    /// The tool part of the seed (`PORT4ME_TOOL` when absent; `""` = no tool).
    pub tool: Option<String>,
    /// The user part of the seed (the environment when absent or `""`).
    pub user: Option<String>,
    /// Ports tried first, replacing `PORT4ME_PREPEND`.
    pub prepend: Option<PortValues>,
    /// Ports searched, replacing `PORT4ME_INCLUDE`.
    pub include: Option<PortValues>,
    /// Ports skipped, replacing `PORT4ME_EXCLUDE`.
    pub exclude: Option<PortValues>,
    /// Candidates dropped first (`PORT4ME_SKIP` when absent).
    pub skip: Option<f64>,
    /// Probes before giving up.
    pub max_tries: Option<f64>,
    /// Probe only this IP address.
    pub host: Option<String>,
    /// `"tcp"` or `"udp"`.
    pub protocol: Option<String>,
    /// `list` only: how many candidates.
    pub n: Option<f64>,
    /// `port4me()` only: lease the port found in the registry.
    pub reserve: Option<ReserveValue>,
}

/// [`OptionValues`] checked: ready to become a [`Port4me`] query on any
/// thread, for any environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckedOptions {
    /// The user part of the seed.
    pub user: Option<String>,
    /// The tool part of the seed.
    pub tool: Option<String>,
    /// Ports tried first.
    pub prepend: Option<Ports>,
    /// Ports searched.
    pub include: Option<Ports>,
    /// Ports skipped.
    pub exclude: Option<Ports>,
    /// Candidates dropped first, 0 to 2^53 - 1.
    pub skip: Option<u64>,
    /// Probes before giving up, at least 1.
    pub max_tries: Option<u32>,
    /// Where and what to probe.
    pub probe: ProbeOptions,
    /// The `list` count, 1 to [`MAX_LIST`].
    pub n: Option<usize>,
    /// The registry lease asked for.
    pub reserve: Option<Lease>,
}

impl OptionValues {
    /// Checks every value, in a fixed order (`prepend`, `include`,
    /// `exclude`, `skip`, `maxTries`, `host`, `protocol`, `n`, `reserve`):
    /// the first bad one is the error.
    pub fn check(self) -> Result<CheckedOptions, Error> {
        Ok(CheckedOptions {
            user: self.user,
            tool: self.tool,
            prepend: self.prepend.map(|p| p.check("prepend")).transpose()?,
            include: self.include.map(|p| p.check("include")).transpose()?,
            exclude: self.exclude.map(|p| p.check("exclude")).transpose()?,
            skip: self.skip.map(|v| count_from_f64(v, "skip", "skip", 0, MAX_SAFE_INTEGER)).transpose()?,
            max_tries: self
                .max_tries
                .map(|v| count_from_f64(v, "maxTries", "maxTries", 1, u64::from(u32::MAX)).map(|n| n as u32))
                .transpose()?,
            probe: probe_options(self.host.as_deref(), self.protocol.as_deref())?,
            n: self
                .n
                .map(|v| count_from_f64(v, "list count", "n", 1, MAX_LIST as u64).map(|n| n as usize))
                .transpose()?,
            reserve: self.reserve.map(ReserveValue::check).transpose()?.flatten(),
        })
    }
}

impl CheckedOptions {
    /// Options with only a tool (the `port4me("vite")` shortcut).
    pub fn tool(tool: Option<String>) -> Self {
        CheckedOptions { tool, ..Default::default() }
    }

    /// The query these options make, reading what they leave out from `env`
    /// (`n` and `reserve` are the caller's: they are not query settings).
    pub fn query(self, env: Env) -> Port4me {
        let mut q = Port4me::with_env(env);
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
    fn ports_are_whole_numbers_in_range() {
        assert_eq!(port_from_f64(80.0, "x").unwrap(), 80);
        assert_eq!(port_from_f64(65535.0, "x").unwrap(), 65535);
        let e = port_from_f64(70000.0, "exclude").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_PORT4ME_INVALID_PORT", "invalid port in exclude: 70000 is outside 1-65535")
        );
        let e = port_from_f64(80.5, "include").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_PORT4ME_INVALID_PORT", "invalid port in include: 80.5 is not an integer in 1-65535")
        );
        for bad in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = port_from_f64(bad, "port").unwrap_err();
            assert_eq!(e.code(), "ERR_PORT4ME_INVALID_PORT");
            assert!(e.to_string().contains(&format!("port: {} ", js_number(bad))), "{e}");
        }
    }

    #[test]
    fn counts_say_why() {
        let why = |v, min, max| count_from_f64(v, "skip", "skip", min, max).unwrap_err().to_string();
        assert_eq!(why(-1.0, 0, 10), "invalid skip in skip: \"-1\" must not be negative");
        assert!(why(0.5, 0, 10).ends_with("\"0.5\" is not a whole number"));
        assert!(why(f64::NAN, 0, 10).ends_with("\"NaN\" is not a whole number"));
        assert!(why(0.0, 1, 10).ends_with("must be at least 1"));
        assert!(why(1.0, 2, 10).ends_with("must be at least 2"));
        assert!(why(1e300, 1, 10).ends_with("is too large (at most 10)"));
        assert!(why(11.0, 1, 10).ends_with("\"11\" is too large (at most 10)"));
        assert_eq!(count_from_f64(10.0, "n", "n", 1, 10).unwrap(), 10);
        assert_eq!(count_from_f64(-1.0, "n", "n", 1, 10).unwrap_err().code(), "ERR_PORT4ME_INVALID_NUMBER");
    }

    #[test]
    fn numbers_print_as_in_javascript() {
        assert_eq!(js_number(70000.0), "70000");
        assert_eq!(js_number(-0.5), "-0.5");
        assert_eq!(js_number(1e20), "100000000000000000000");
        assert_eq!(js_number(f64::NAN), "NaN");
        assert_eq!(js_number(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn lease_times() {
        assert_eq!(ReserveValue::Flag(false).check().unwrap(), None);
        assert_eq!(ReserveValue::Flag(true).check().unwrap(), Some(Lease::Default));
        assert_eq!(ReserveValue::Seconds(1.5).check().unwrap(), Some(Lease::For(Duration::from_millis(1500))));
        assert_eq!(ReserveValue::Seconds(0.0).check().unwrap(), Some(Lease::For(Duration::ZERO)));
        for (bad, why) in
            [(-1.0, "negative"), (f64::NAN, "not a number"), (f64::INFINITY, "not a number"), (1e300, "too large")]
        {
            let e = ReserveValue::Seconds(bad).check().unwrap_err();
            assert_eq!(e.code(), "ERR_PORT4ME_INVALID_NUMBER");
            assert!(e.to_string().contains("in reserve") && e.to_string().contains(why), "{e}");
        }
    }

    #[test]
    fn hosts_and_protocols() {
        assert!(parse_host("[::1]").unwrap().is_loopback());
        assert_eq!(parse_host("127.0.0.1").unwrap(), IpAddr::from([127, 0, 0, 1]));
        assert_eq!(parse_host("0.0.0.0").unwrap(), IpAddr::from([0, 0, 0, 0]));
        for (bad, kind) in [
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("ff02::1", "multicast"),
            ("::ffff:224.0.0.1", "multicast"),
        ] {
            let e = parse_host(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARG_VALUE");
            assert!(e.to_string().contains(bad) && e.to_string().contains(kind), "{e}");
        }
        assert_eq!(parse_host("LocalHost").unwrap(), IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        // An IPv4-mapped IPv6 address cannot be bound (EINVAL): named as
        // such, with the address to give instead.
        for (mapped, v4) in [("::ffff:127.0.0.1", "127.0.0.1"), ("[::ffff:10.1.2.3]", "10.1.2.3")] {
            let e = parse_host(mapped).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARG_VALUE");
            assert_eq!(
                e.to_string(),
                format!("invalid host \"{mapped}\": an IPv4-mapped IPv6 address, which cannot be bound; give the IPv4 address {v4} instead")
            );
        }
        let e = parse_host("example.org").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_INVALID_ARG_VALUE", "invalid host \"example.org\": expected an IP address such as 127.0.0.1 or ::1")
        );
        assert_eq!(parse_protocol("UDP").unwrap(), Protocol::Udp);
        let e = parse_protocol("sctp").unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_INVALID_ARG_VALUE", "invalid protocol: unknown protocol \"sctp\": use \"tcp\" or \"udp\"")
        );
        assert_eq!(probe_options(None, None).unwrap(), ProbeOptions::tcp());
    }

    #[test]
    fn options_are_checked_in_order() {
        let bad = OptionValues {
            include: Some(PortValues::Numbers(vec![0.0])),
            skip: Some(-1.0),
            n: Some(0.0),
            ..Default::default()
        };
        let e = bad.clone().check().unwrap_err();
        assert!(e.to_string().starts_with("invalid port in include: 0"), "{e}");
        let e = OptionValues { include: None, ..bad.clone() }.check().unwrap_err();
        assert!(e.to_string().starts_with("invalid skip in skip"), "{e}");
        let e = OptionValues { include: None, skip: None, ..bad }.check().unwrap_err();
        assert_eq!(e.to_string(), "invalid list count in n: \"0\" must be at least 1");
        let e = OptionValues { max_tries: Some(0.0), ..Default::default() }.check().unwrap_err();
        assert!(e.to_string().contains("maxTries") && e.to_string().contains("at least 1"), "{e}");
        let e =
            OptionValues { reserve: Some(ReserveValue::Seconds(-2.0)), host: Some("::1".into()), ..Default::default() }
                .check()
                .unwrap_err();
        assert!(e.to_string().contains("reserve"), "{e}");
    }

    #[test]
    fn checked_options_make_the_query() {
        let env = Env::from_pairs([("PORT4ME_EXCLUDE", "30845"), ("_PORT4ME_CHECK_AVAILABLE_PORTS_", "any")]);
        let o = OptionValues {
            user: Some("alice".into()),
            tool: Some("".into()),
            prepend: Some(PortValues::Numbers(vec![4000.0])),
            skip: Some(1.0),
            max_tries: Some(5.0),
            host: Some("[::1]".into()),
            protocol: Some("Udp".into()),
            n: Some(2.0),
            reserve: Some(ReserveValue::Flag(true)),
            ..Default::default()
        }
        .check()
        .unwrap();
        assert_eq!((o.n, o.reserve), (Some(2), Some(Lease::Default)));
        let q = o.query(env);
        assert_eq!(q.probe_options(), ProbeOptions { host: Some("::1".parse().unwrap()), protocol: Protocol::Udp });
        // prepend 4000 is skipped; PORT4ME_EXCLUDE still applies (no exclude given).
        assert_eq!(q.list(2).unwrap(), [19654, 32310]);
        assert_eq!(q.seed().unwrap(), "alice");
        assert_eq!(q.find().unwrap(), 19654);
    }
}
