//! What the port registry holds, as status and plans see it.
//!
//! This crate reads sockets and processes; it does not open databases or
//! read `PORT4ME_DB`. Its callers (the CLI, the Node addon) open the
//! registry they mean, the way they mean it (a `--db` flag, an `env`
//! option, read-only), and pass it in as [`Reservations`]:
//!
//! * a [`port4me_registry::Registry`] (with the `registry` feature, which
//!   only adds that implementation and [`from_open`]);
//! * [`NoRegistry`] when there is none, or the caller asked not to look;
//! * [`Unreadable`] when there is one that cannot be read: status then says
//!   `unknown (registry unreadable: why)` for a free port, never plain free,
//!   and a plan warns about every port it gives out.

use port4me::Protocol;

use crate::model::Reservation;

/// The port registry's answers.
pub trait Reservations {
    /// The entry holding `port`, `Ok(None)` when nothing does, `Err(why)`
    /// when the registry cannot tell.
    fn reservation(&self, port: u16, protocol: Protocol) -> Result<Option<Reservation>, String>;

    /// Why the whole registry cannot be read, if it cannot.
    fn unreadable(&self) -> Option<&str> {
        None
    }
}

/// No registry: nothing is reserved.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRegistry;

impl Reservations for NoRegistry {
    fn reservation(&self, _port: u16, _protocol: Protocol) -> Result<Option<Reservation>, String> {
        Ok(None)
    }
}

/// A registry that exists but cannot be read, and why.
#[derive(Clone, Debug)]
pub struct Unreadable(pub String);

impl Reservations for Unreadable {
    fn reservation(&self, _port: u16, _protocol: Protocol) -> Result<Option<Reservation>, String> {
        Err(self.0.clone())
    }

    fn unreadable(&self) -> Option<&str> {
        Some(&self.0)
    }
}

#[cfg(feature = "registry")]
impl Reservations for port4me_registry::Registry {
    fn reservation(&self, port: u16, protocol: Protocol) -> Result<Option<Reservation>, String> {
        let Some(h) = self.holder_of(port, protocol).map_err(|e| e.to_string())? else { return Ok(None) };
        Ok(Some(Reservation {
            kind: h.kind.as_str().to_string(),
            name: h.name.clone(),
            instance: h.instance.clone(),
            owner: h.user.clone(),
            uid: h.uid,
            pid: h.pid,
            start: h.start,
            end: h.end,
            expires: h.expires.map(|t| t.to_string()),
            // Names in the registry are anyone's who shares it: the
            // sentence for people is escaped, the fields stay raw.
            description: crate::model::escape_text(&h.to_string()).into_owned(),
        }))
    }
}

/// The default registry (`PORT4ME_DB`, else the per-user file), opened the
/// way a status or a plan looks ports up ([`lookup_config`]), as
/// [`Reservations`]. Only for callers that ask for it: `status` and `plan`
/// take whatever registry they are given.
#[cfg(feature = "registry")]
pub fn open_default() -> Box<dyn Reservations + Send + Sync> {
    from_open(port4me_registry::Registry::open_default_with(lookup_config()))
}

/// How a status or a plan opens a registry to look ports up: read-only (it
/// never creates or changes one), waiting at most 2 s for a writer.
#[cfg(feature = "registry")]
pub fn lookup_config() -> port4me_registry::Config {
    port4me_registry::Config {
        read_only: true,
        busy_timeout: std::time::Duration::from_secs(2),
        ..port4me_registry::Config::default()
    }
}

/// The caller's attempt to open a registry, as [`Reservations`]: the
/// registry; [`NoRegistry`] when there is none to open (no default path, or
/// no file: a status never creates one); [`Unreadable`] for any other
/// failure.
#[cfg(feature = "registry")]
pub fn from_open(
    opened: Result<port4me_registry::Registry, port4me_registry::Error>,
) -> Box<dyn Reservations + Send + Sync> {
    use port4me_registry::Error as E;
    match opened {
        Ok(reg) => Box::new(reg),
        Err(E::NoDefaultPath) => Box::new(NoRegistry),
        Err(E::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::NotFound => Box::new(NoRegistry),
        Err(e) => Box::new(Unreadable(e.to_string())),
    }
}
