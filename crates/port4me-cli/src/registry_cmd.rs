//! `port4me registry ...`: the persistent port registry from the command
//! line (tables for people, `--json` for scripts), and `port4me --reserve`.

use crate::args;
use crate::table::table;
use crate::ExitCode;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use port4me::core::spec;
use port4me_registry::{
    AllocateOptions, Config, Filter, Lease, Listing, MirrorRow, ModuleRange, Offer, Owner, Protocol, RegisterOptions,
    Registration, Registry, ReleaseOptions, ReserveOptions, Service, ServiceDefinition, ServicePort, User,
};
use serde::Serialize;
use serde_json::json;

/// Manage the persistent port registry: module ranges, service offers,
/// named services per user and port4me leases, in one SQLite database that
/// never hands out a port twice.
///
/// The database is $PORT4ME_DB, else $XDG_STATE_HOME/port4me/ports.sqlite,
/// else ~/.local/state/port4me/ports.sqlite.
#[derive(Args, Debug)]
pub struct RegistryArgs {
    /// The registry database [default: $PORT4ME_DB, else the XDG state directory].
    #[arg(long, value_name = "PATH", global = true)]
    db: Option<PathBuf>,

    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,

    /// Seconds to wait for another process's lock.
    #[arg(long, value_name = "SECONDS", global = true, default_value = "30", allow_negative_numbers = true, value_parser = args::seconds)]
    timeout: f64,

    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Allocate N consecutive ports for MODULE (first fit in the pool); replaces the module's earlier range.
    Allocate {
        /// How many consecutive ports.
        #[arg(allow_negative_numbers = true, value_parser = args::count)]
        n: u32,
        /// The module.
        module: String,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// Keep the module's existing ranges and add another one.
        #[arg(long)]
        keep_existing: bool,
        /// The pool to allocate from, e.g. 20000-45000.
        #[arg(long, value_name = "A-B")]
        pool: Option<String>,
    },
    /// Release every range of MODULE; prints the released ranges.
    ///
    /// Any name is accepted (also "" and names other tools wrote into
    /// TCP_PORTS/UDP_PORTS). Ranges another user allocated need --force.
    Deallocate {
        /// The module.
        module: String,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// Release ranges another user allocated too.
        #[arg(long)]
        force: bool,
    },
    /// Define a service NAME owning the ports START-END.
    Define {
        /// Unique service name.
        name: String,
        /// First port.
        #[arg(allow_negative_numbers = true, value_parser = args::count)]
        start: u32,
        /// Last port.
        #[arg(allow_negative_numbers = true, value_parser = args::count)]
        end: u32,
        /// A description.
        #[arg(long, short, default_value = "")]
        description: String,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// Allow privileged ports (< 1024) and the ephemeral range (>= 49152).
        #[arg(long)]
        force: bool,
    },
    /// Delete the service NAME and free its range; refused while instances hold ports of it, unless --force.
    Undefine {
        /// The service.
        name: String,
        /// Release the ports its instances hold (offered or allocated) too.
        #[arg(long)]
        force: bool,
    },
    /// Offer the lowest free port of SERVICE to INSTANCE; prints the port and a secret for accept/reject.
    Offer {
        /// The service.
        service: String,
        /// The instance.
        instance: String,
        /// Seconds the offer waits for accept.
        #[arg(long, value_name = "SECONDS", default_value = "1800", allow_negative_numbers = true, value_parser = args::seconds)]
        ttl: f64,
    },
    /// Accept the offer with SECRET: the port becomes the instance's.
    Accept {
        /// The secret printed by offer.
        secret: String,
    },
    /// Reject the offer with SECRET: the port returns to the service.
    Reject {
        /// The secret printed by offer.
        secret: String,
    },
    /// Register a named service for your user: a port from the registration pool.
    ///
    /// A second registration of the same name gets NAME_1, NAME_2, ... The
    /// registration lasts as long as its owner process: by default the
    /// process that ran this command (your shell or script), or --pid.
    Register {
        /// The service name.
        service: String,
        /// The owner process (default: the parent of this command).
        #[arg(long, allow_negative_numbers = true, value_parser = args::count)]
        pid: Option<u32>,
        /// The pool to take the port from, e.g. 45001-49151.
        #[arg(long, value_name = "A-B")]
        pool: Option<String>,
        /// Also skip ports that are in use right now.
        #[arg(long)]
        probe: bool,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
    },
    /// Release a registration, a service instance, a lease or a module.
    ///
    /// `release NAME` (or `release --port PORT`) is `release registration
    /// NAME`; a registration named like one of the subcommands below needs
    /// the long form, e.g. `release registration lease`.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Release(ReleaseArgs),
    /// List what the registry holds.
    ///
    /// Module ranges are the rows of TCP_PORTS/UDP_PORTS, whoever inserted
    /// them (USER is "-" for rows another tool inserted). Services,
    /// registrations and leases also have a row there (port4me:KIND:...),
    /// so that tools reading only those tables see their ports; those are
    /// listed as mirror rows.
    List {
        /// What to list.
        #[arg(value_enum, default_value = "all")]
        what: ListWhat,
    },
    /// Find registrations by service, name prefix and user (all given filters apply).
    Find {
        /// The service name registered (exact).
        #[arg(long)]
        service: Option<String>,
        /// A prefix of the registration name.
        #[arg(long)]
        beginswith: Option<String>,
        /// The owning user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Reclaim now what has lapsed: entries of exited owners, expired offers and leases.
    Gc,
    /// Show what in the registry holds PORT.
    Holder {
        /// The port.
        #[arg(allow_negative_numbers = true, value_parser = args::port)]
        port: u16,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
    },
    /// Show the ports of SERVICE held by instances (or one, by --instance or --port).
    Show {
        /// The service.
        service: String,
        /// Only this instance.
        #[arg(long, conflicts_with = "port")]
        instance: Option<String>,
        /// Only this port.
        #[arg(long, allow_negative_numbers = true, value_parser = args::port)]
        port: Option<u16>,
    },
}

/// `registry release`: a subcommand, or a registration as in `release registration`.
#[derive(Args, Debug)]
struct ReleaseArgs {
    #[command(subcommand)]
    what: Option<Release>,
    #[command(flatten)]
    registration: RegistrationTarget,
    /// Replaced by `release instance SERVICE INSTANCE`.
    #[arg(long, hide = true, value_name = "SERVICE")]
    service: Option<String>,
    /// Replaced by `release lease PORT`.
    #[arg(long, hide = true, value_name = "PORT")]
    lease: Option<String>,
}

/// A registration, by name or by port.
#[derive(Args, Debug)]
struct RegistrationTarget {
    /// Your registration's name (web, web_1, ...).
    #[arg(conflicts_with = "port")]
    name: Option<String>,
    /// Release your registration on this port instead.
    #[arg(long, allow_negative_numbers = true, value_parser = args::port)]
    port: Option<u16>,
    /// tcp or udp (with --port) [default: tcp].
    #[arg(long)]
    protocol: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Release {
    /// Release your registration NAME (or the one on --port); prints it.
    Registration(RegistrationTarget),
    /// Release the port INSTANCE of SERVICE holds (offered or allocated).
    Instance {
        /// The service.
        service: String,
        /// The instance.
        instance: String,
        /// Release an allocation another user accepted too.
        #[arg(long)]
        force: bool,
    },
    /// Release your port4me lease on PORT (from `port4me --reserve`).
    Lease {
        /// The port.
        #[arg(allow_negative_numbers = true, value_parser = args::port)]
        port: u16,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
    },
    /// Release every range of MODULE (the same as `deallocate`).
    Module {
        /// The module.
        module: String,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// Release ranges another user allocated too.
        #[arg(long)]
        force: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ListWhat {
    All,
    Modules,
    Services,
    Registrations,
    Leases,
    Mirrors,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs a registry subcommand.
pub fn run(args: &RegistryArgs) -> ExitCode {
    match run_inner(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) if args.json => crate::fail_json(crate::error_code(&*e, "ERR_PORT4ME_REGISTRY_USAGE"), e),
        Err(e) => crate::fail(e),
    }
}

/// A flag's seconds, already checked by [`args::seconds`] when clap parsed
/// them; checked again here so that no value can reach `from_secs_f64`'s panic.
fn seconds(what: &str, s: f64) -> Res<Duration> {
    if !s.is_finite() || s <= 0.0 {
        return Err(format!("invalid {what} {s}: expected a positive number of seconds").into());
    }
    if s > args::MAX_SECONDS {
        return Err(format!("invalid {what} {s}: too large (at most {} seconds)", args::MAX_SECONDS).into());
    }
    Ok(Duration::from_secs_f64(s))
}

fn protocol(s: &str) -> Res<Protocol> {
    Ok(port4me_registry::parse_protocol(s)?)
}

fn pool(s: &Option<String>) -> Res<Option<(u16, u16)>> {
    let Some(s) = s else { return Ok(None) };
    let mut items = Vec::new();
    spec::for_each_named(s, "--pool", |item| items.push(item)).map_err(port4me::Error::from)?;
    match items[..] {
        [spec::Item::Range(lo, hi)] => Ok(Some((lo, hi))),
        // A pool is written A-B, also when A = B.
        [spec::Item::Port(p)] if s.contains('-') => Ok(Some((p, p))),
        _ => Err(format!("invalid pool {s:?}: expected one range A-B with ports 1-65535, e.g. 20000-45000").into()),
    }
}

fn open(args: &RegistryArgs, config: Config) -> Res<Registry> {
    let config = Config { busy_timeout: seconds("--timeout", args.timeout)?, ..config };
    Ok(match &args.db {
        Some(p) => Registry::open_with(p, config)?,
        None => Registry::open_default_with(config)?,
    })
}

fn run_inner(args: &RegistryArgs) -> Res<String> {
    use RegistryCommand as C;
    let json = args.json;
    let config = match &args.command {
        C::Offer { ttl, .. } => Config { offer_ttl: seconds("--ttl", *ttl)?, ..Config::default() },
        _ => Config::default(),
    };
    // Validate what clap cannot before touching the database.
    let proto = match &args.command {
        C::Allocate { protocol: p, .. }
        | C::Deallocate { protocol: p, .. }
        | C::Define { protocol: p, .. }
        | C::Register { protocol: p, .. }
        | C::Holder { protocol: p, .. } => protocol(p)?,
        C::Release(r) => protocol(r.protocol())?,
        _ => Protocol::Tcp,
    };
    let reg = open(args, config)?;
    let out = match &args.command {
        C::Allocate { n, module, keep_existing, pool: p, .. } => {
            let r = reg.modules().allocate(
                *n,
                module,
                AllocateOptions { protocol: proto, keep_existing: *keep_existing, pool: pool(p)? },
            )?;
            let me = User::current();
            let m = ModuleRange {
                module: module.clone(),
                protocol: proto,
                range: r,
                user: Some(me.name),
                uid: Some(me.uid),
            };
            if json {
                line(&m)?
            } else {
                modules_table(&[m])
            }
        }
        C::Deallocate { module, force, .. } => deallocate(&reg, module, proto, *force, json)?,
        C::Define { name, start, end, description, force, .. } => {
            let def = ServiceDefinition {
                protocol: proto,
                force: *force,
                ..ServiceDefinition::new(name, description, *start, *end)
            };
            let s = reg.services().define(&def)?;
            if json {
                line(&s)?
            } else {
                services_table(&[s])
            }
        }
        C::Undefine { name, force } => {
            let undefined = reg.services().undefine(name, ReleaseOptions::forced(*force))?;
            if json {
                line(&undefined)?
            } else {
                let s = &undefined.service;
                format!(
                    "undefined service {:?} ({}-{}/{}); released {} instance port(s)\n",
                    s.name,
                    s.start,
                    s.end,
                    s.protocol,
                    undefined.ports.len()
                )
            }
        }
        C::Offer { service, instance, .. } => {
            let o = reg.services().offer(service, instance)?;
            if json {
                line(&o)?
            } else {
                offer_table(&o)
            }
        }
        C::Accept { secret } => service_port_out(json, &reg.services().accept(secret)?)?,
        C::Reject { secret } => service_port_out(json, &reg.services().reject(secret)?)?,
        C::Register { service, pid, pool: p, probe, .. } => {
            let owner = match pid {
                Some(pid) => Owner::pid(*pid)?,
                None => Owner::Parent,
            };
            let r = reg
                .registrations()
                .register(service, &RegisterOptions { owner, pool: pool(p)?, protocol: proto, probe: *probe })?;
            if json {
                line(&r)?
            } else {
                registrations_table(&[r])
            }
        }
        C::Release(r) => release(&reg, r, proto, json)?,
        C::List { what } => list(&reg, *what, json)?,
        C::Find { service, beginswith, user } => {
            let f = Filter { service: service.clone(), beginswith: beginswith.clone(), user: user.clone() };
            let found = reg.registrations().find(&f)?;
            if json {
                line(&found)?
            } else {
                registrations_table(&found)
            }
        }
        C::Gc => {
            let g = reg.gc()?;
            if json {
                line(&g)?
            } else {
                format!("reclaimed {} registration(s), {} lease(s), {} offer(s)\n", g.registrations, g.leases, g.offers)
            }
        }
        C::Holder { port, .. } => {
            let h = reg.holder_of(*port, proto)?;
            match (json, h) {
                (true, h) => line(&h)?,
                (false, Some(h)) => format!("{port}/{proto} is held by {h}\n"),
                (false, None) => format!("{port}/{proto} is not held in the registry\n"),
            }
        }
        C::Show { service, instance, port } => {
            let ports = reg.services().show(service, instance.as_deref(), *port)?;
            if json {
                line(&ports)?
            } else {
                service_ports_table(&ports)
            }
        }
    };
    Ok(out)
}

impl ReleaseArgs {
    fn protocol(&self) -> &str {
        match &self.what {
            None => self.registration.protocol.as_deref().unwrap_or("tcp"),
            Some(Release::Registration(r)) => r.protocol.as_deref().unwrap_or("tcp"),
            Some(Release::Lease { protocol, .. } | Release::Module { protocol, .. }) => protocol,
            Some(Release::Instance { .. }) => "tcp",
        }
    }
}

fn deallocate(reg: &Registry, module: &str, proto: Protocol, force: bool, json: bool) -> Res<String> {
    let released = reg.modules().release(module, ReleaseOptions { protocol: proto, force })?;
    if json {
        line(&json!({ "module": module, "protocol": proto.as_str(), "released": released }))
    } else if released.is_empty() {
        Ok(format!("module {module:?} held no {proto} ports\n"))
    } else {
        let ms: Vec<_> = released
            .iter()
            .map(|r| ModuleRange { module: module.to_string(), protocol: proto, range: *r, user: None, uid: None })
            .collect();
        Ok(format!("released:\n{}", modules_table(&ms)))
    }
}

fn release(reg: &Registry, args: &ReleaseArgs, proto: Protocol, json: bool) -> Res<String> {
    if let Some(service) = &args.service {
        let instance = args.registration.name.as_deref().unwrap_or("INSTANCE");
        return Err(format!("release --service is now a subcommand: release instance {service} {instance}").into());
    }
    if let Some(port) = &args.lease {
        return Err(format!("release --lease is now a subcommand: release lease {port}").into());
    }
    let registration = |r: &RegistrationTarget, needs: &str| -> Res<String> {
        let released = match (&r.name, r.port) {
            (Some(_), None) if r.protocol.is_some() => {
                return Err("--protocol goes with --port: a registration NAME is released whatever its protocol".into())
            }
            (Some(name), None) => reg.registrations().release(name)?,
            (None, Some(port)) => reg.registrations().release_port(port, proto)?,
            _ => return Err(needs.into()),
        };
        if json {
            line(&released)
        } else {
            Ok(format!("released registration {:?} (port {})\n", released.name, released.port))
        }
    };
    match &args.what {
        None => registration(
            &args.registration,
            "release needs a registration NAME or --port PORT, or one of the subcommands registration, \
             instance, lease, module (see `port4me registry release --help`)",
        ),
        Some(Release::Registration(r)) => registration(r, "release registration needs a NAME or --port PORT"),
        Some(Release::Instance { service, instance, force }) => {
            let sp = reg.services().release(service, instance, ReleaseOptions::forced(*force))?;
            if json {
                line(&sp)
            } else {
                Ok(format!("released port {} of service {service:?} instance {instance:?}\n", sp.port))
            }
        }
        Some(Release::Lease { port, .. }) => {
            let released = reg.leases().release(*port, proto)?;
            if json {
                line(&json!({ "port": port, "protocol": proto.as_str(), "released": released }))
            } else if released {
                Ok(format!("released the lease on port {port}/{proto}\n"))
            } else {
                Err(format!("no lease on port {port}/{proto}").into())
            }
        }
        Some(Release::Module { module, force, .. }) => deallocate(reg, module, proto, *force, json),
    }
}

fn list(reg: &Registry, what: ListWhat, json: bool) -> Res<String> {
    use ListWhat as W;
    let want = |w: W| what == W::All || what == w;
    // Everything in one transaction; a part on its own in one too.
    let Listing { modules, services, registrations, leases, mirrors } = match what {
        W::All => reg.listing()?,
        _ => Listing {
            modules: if want(W::Modules) { reg.modules().list(None)? } else { Vec::new() },
            services: if want(W::Services) { reg.services().list()? } else { Vec::new() },
            registrations: if want(W::Registrations) { reg.registrations().list()? } else { Vec::new() },
            leases: if want(W::Leases) { reg.leases().list()? } else { Vec::new() },
            mirrors: if want(W::Mirrors) { reg.modules().mirror_rows(None)? } else { Vec::new() },
        },
    };
    if json {
        return match what {
            W::All => line(&Listing { modules, services, registrations, leases, mirrors }),
            W::Modules => line(&modules),
            W::Services => line(&services),
            W::Registrations => line(&registrations),
            W::Leases => line(&leases),
            W::Mirrors => line(&mirrors),
        };
    }
    let mut out = String::new();
    let mut section = |title: &str, body: String, empty: bool| {
        if what == W::All {
            out.push_str(&format!("{title}:\n"));
        }
        if empty {
            out.push_str(if what == W::All { "  (none)\n" } else { "(none)\n" });
        } else {
            out.push_str(&body);
        }
        if what == W::All {
            out.push('\n');
        }
    };
    if want(W::Modules) {
        section("Module ranges", modules_table(&modules), modules.is_empty());
    }
    if want(W::Services) {
        let svc: Vec<Service> = services.iter().map(|s| s.service.clone()).collect();
        let ports: Vec<ServicePort> = services.iter().flat_map(|s| s.ports.clone()).collect();
        let mut body = services_table(&svc);
        if !ports.is_empty() {
            body.push_str(&service_ports_table(&ports));
        }
        section("Services", body, svc.is_empty());
    }
    if want(W::Registrations) {
        section("Registrations", registrations_table(&registrations), registrations.is_empty());
    }
    if want(W::Leases) {
        section("Leases", leases_table(&leases), leases.is_empty());
    }
    if want(W::Mirrors) {
        section(
            "Mirror rows (the holdings above, in TCP_PORTS/UDP_PORTS for tools that read only those)",
            mirrors_table(&mirrors),
            mirrors.is_empty(),
        );
    }
    Ok(out.trim_end().to_string() + "\n")
}

/// `port4me --reserve[=SECONDS]`: find a port for `q` like `q.find()`, skip
/// every port the registry holds, and record it as a lease of `ttl`
/// seconds that also ends when this command's parent (the shell or script
/// that will start the server) exits.
pub fn reserve(q: &port4me::Port4me, ttl: &str) -> Result<u16, Box<dyn std::error::Error>> {
    let secs = args::seconds(ttl).map_err(|e| format!("invalid --reserve value {ttl:?}: {e}"))?;
    let ttl = seconds("--reserve", secs)?;
    let reg = Registry::open_default()?;
    // The lease lasts its time whoever ran the command: the CLI's parent is
    // often a `$(...)` subshell or a pipeline stage that exits at once, and a
    // lease that ended with it would protect nothing.
    Ok(reg.leases().reserve(q, &ReserveOptions { ttl, owner: Owner::Nobody, label: None })?.port)
}

// ---- output ----------------------------------------------------------------

/// One line of JSON: the serde form of the registry's types
/// (`port4me-registry`'s feature `serde`), so the CLI, the Node addon and
/// the TypeScript declarations show the same fields.
fn line<T: Serialize + ?Sized>(v: &T) -> Res<String> {
    Ok(serde_json::to_string(v)? + "\n")
}

/// A name for a table cell: `""` for the empty name (which rows other
/// tools insert may have), so that the cell is not blank.
fn name_cell(name: &str) -> String {
    if name.is_empty() {
        "\"\"".to_string()
    } else {
        name.to_string()
    }
}

fn modules_table(ms: &[ModuleRange]) -> String {
    let rows = ms
        .iter()
        .map(|m| {
            vec![
                name_cell(&m.module),
                m.protocol.to_string(),
                m.range.start.to_string(),
                m.range.end.to_string(),
                m.range.len().to_string(),
                m.user.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&["MODULE", "PROTOCOL", "START", "END", "PORTS", "USER"], rows)
}

fn mirrors_table(ms: &[MirrorRow]) -> String {
    let rows = ms
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.protocol.to_string(),
                m.range.start.to_string(),
                m.range.end.to_string(),
                m.kind.to_string(),
            ]
        })
        .collect();
    table(&["ROW", "PROTOCOL", "START", "END", "MIRRORS"], rows)
}

fn services_table(ss: &[Service]) -> String {
    let rows = ss
        .iter()
        .map(|s| vec![s.name.clone(), s.protocol.to_string(), format!("{}-{}", s.start, s.end), s.description.clone()])
        .collect();
    table(&["SERVICE", "PROTOCOL", "RANGE", "DESCRIPTION"], rows)
}

fn offer_table(o: &Offer) -> String {
    table(
        &["SERVICE", "INSTANCE", "PORT", "SECRET", "EXPIRES"],
        vec![vec![o.service.clone(), o.instance.clone(), o.port.to_string(), o.secret.clone(), o.expires.to_string()]],
    )
}

fn service_port_out(json: bool, sp: &ServicePort) -> Res<String> {
    if json {
        line(sp)
    } else {
        Ok(service_ports_table(std::slice::from_ref(sp)))
    }
}

fn service_ports_table(ps: &[ServicePort]) -> String {
    let rows = ps
        .iter()
        .map(|p| {
            vec![
                p.service.clone(),
                p.instance.clone(),
                p.port.to_string(),
                p.state.to_string(),
                p.expires.map_or_else(|| "-".into(), |t| t.to_string()),
                p.user.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&["SERVICE", "INSTANCE", "PORT", "STATE", "EXPIRES", "USER"], rows)
}

fn registrations_table(rs: &[Registration]) -> String {
    let rows = rs
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.port.to_string(),
                r.protocol.to_string(),
                r.user.clone(),
                r.owner.pid.to_string(),
                r.liveness.describe().to_string(),
                r.created.to_string(),
            ]
        })
        .collect();
    table(&["NAME", "PORT", "PROTOCOL", "USER", "PID", "OWNER", "CREATED"], rows)
}

fn leases_table(ls: &[Lease]) -> String {
    let rows = ls
        .iter()
        .map(|l| {
            vec![
                l.port.to_string(),
                l.protocol.to_string(),
                l.label.clone(),
                l.user.clone(),
                l.owner.map_or_else(|| "-".into(), |o| o.pid.to_string()),
                l.expires.to_string(),
            ]
        })
        .collect();
    table(&["PORT", "PROTOCOL", "LABEL", "USER", "PID", "EXPIRES"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RegistryArgs,
    }

    fn cli(db: &std::path::Path, args: &[&str]) -> Result<String, String> {
        use clap::Parser;
        let argv = ["registry", "--db", db.to_str().unwrap()].into_iter().chain(args.iter().copied());
        let w = Wrapper::try_parse_from(argv).map_err(|e| e.to_string())?;
        run_inner(&w.args).map_err(|e| e.to_string())
    }

    fn json_of(s: &str) -> Value {
        serde_json::from_str(s.trim()).unwrap()
    }

    /// A fresh database in a directory of its own, removed when dropped.
    struct Fresh(std::path::PathBuf);

    impl Fresh {
        fn new(name: &str) -> Fresh {
            let dir = std::env::temp_dir().join(format!("port4me-registry-cli-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Fresh(dir)
        }

        fn db(&self) -> std::path::PathBuf {
            self.0.join("ports.sqlite")
        }
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Two modules, a service with an accepted allocation, two registrations.
    fn populated(name: &str) -> Fresh {
        let f = Fresh::new(name);
        let db = f.db();
        cli(&db, &["allocate", "5", "web"]).unwrap();
        cli(&db, &["allocate", "2", "dns", "--protocol", "udp", "--pool", "30000-30010"]).unwrap();
        cli(&db, &["define", "db", "15000", "15009", "-d", "databases"]).unwrap();
        let offer = json_of(&cli(&db, &["--json", "offer", "db", "a"]).unwrap());
        cli(&db, &["accept", offer["secret"].as_str().unwrap()]).unwrap();
        cli(&db, &["register", "web"]).unwrap();
        cli(&db, &["register", "web", "--pid", &std::process::id().to_string()]).unwrap();
        f
    }

    #[test]
    fn modules_allocate_and_deallocate() {
        let f = Fresh::new("modules");
        let db = f.db();
        let me = User::current();
        let text = cli(&db, &["allocate", "5", "web"]).unwrap();
        assert!(
            text.starts_with("MODULE  PROTOCOL  START  END    PORTS  USER\nweb     tcp       20000  20004  5  "),
            "{text}"
        );
        assert!(text.ends_with(&format!("  {}\n", me.name)), "{text}");
        let v = json_of(
            &cli(&db, &["--json", "allocate", "2", "dns", "--protocol", "udp", "--pool", "30000-30010"]).unwrap(),
        );
        assert_eq!(
            v,
            json!({"module": "dns", "protocol": "udp", "start": 30000, "end": 30001, "user": me.name, "uid": me.uid})
        );
        let e = cli(&db, &["allocate", "2", "dns", "--protocol", "sctp"]).unwrap_err();
        assert!(e.contains("unknown protocol \"sctp\""), "{e}");
        assert!(cli(&db, &["allocate", "2", "dns", "--pool", "9"]).unwrap_err().contains("invalid pool"));
        assert!(cli(&db, &["allocate", "0", "x"]).unwrap_err().contains("invalid number of ports 0"));
        let d = json_of(&cli(&db, &["--json", "deallocate", "web"]).unwrap());
        assert_eq!(d["released"], json!([{"start": 20000, "end": 20004}]));
        assert!(cli(&db, &["deallocate", "web"]).unwrap().contains("held no tcp ports"));
    }

    #[test]
    fn services_define_offer_accept_reject_show_release() {
        let f = Fresh::new("services");
        let db = f.db();
        let v = json_of(&cli(&db, &["--json", "define", "db", "15000", "15009", "-d", "databases"]).unwrap());
        assert_eq!(
            (v["name"].as_str(), v["start"].as_u64(), v["forced"].as_bool()),
            (Some("db"), Some(15000), Some(false))
        );
        assert!(cli(&db, &["define", "low", "80", "90"]).unwrap_err().contains("privileged"));
        assert!(cli(&db, &["define", "low", "80", "90", "--force"]).is_ok());
        let offer = json_of(&cli(&db, &["--json", "offer", "db", "a", "--ttl", "60"]).unwrap());
        assert_eq!(offer["port"], 15000);
        let secret = offer["secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 32);
        let v = json_of(&cli(&db, &["--json", "accept", &secret]).unwrap());
        assert_eq!((v["state"].as_str(), v["port"].as_u64()), (Some("allocated"), Some(15000)));
        assert!(cli(&db, &["reject", &secret]).unwrap_err().contains("already accepted"));
        let b = json_of(&cli(&db, &["--json", "offer", "db", "b"]).unwrap());
        assert!(cli(&db, &["reject", b["secret"].as_str().unwrap()]).unwrap().contains("offered"));
        let shown = json_of(&cli(&db, &["--json", "show", "db"]).unwrap());
        assert_eq!(shown.as_array().unwrap().len(), 1);
        assert_eq!(json_of(&cli(&db, &["--json", "show", "db", "--port", "15000"]).unwrap())[0]["instance"], "a");
        assert!(cli(&db, &["release", "instance", "db", "a"]).unwrap().contains("15000"));
    }

    #[test]
    fn registrations_register_find_release() {
        let f = Fresh::new("registrations");
        let db = f.db();
        // Registrations belong to this test's parent process, which outlives it.
        let r = json_of(&cli(&db, &["--json", "register", "web"]).unwrap());
        assert_eq!((r["name"].as_str(), r["port"].as_u64()), (Some("web"), Some(45001)));
        let r1 = json_of(&cli(&db, &["--json", "register", "web", "--pid", &std::process::id().to_string()]).unwrap());
        assert_eq!((r1["name"].as_str(), r1["pid"].as_u64()), (Some("web_1"), Some(u64::from(std::process::id()))));
        // The registry's serde form: camelCase, times as RFC 3339 UTC with milliseconds.
        assert_eq!(
            (r1["ownerState"].as_str(), r1["pidStart"].is_u64(), r1.get("pid_start")),
            (Some("alive"), true, None)
        );
        let created = r1["created"].as_str().unwrap();
        assert!(created.len() == 24 && created.ends_with('Z') && created.as_bytes()[19] == b'.', "{created}");
        let found = json_of(&cli(&db, &["--json", "find", "--service", "web", "--beginswith", "web_"]).unwrap());
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert!(cli(&db, &["find", "--user", "nobody-at-all"]).unwrap().starts_with("NAME"));
        assert!(cli(&db, &["release", "web_1"]).unwrap().contains("45002"));
        assert!(cli(&db, &["release", "--port", "45001"]).unwrap().contains("\"web\""));
        assert!(cli(&db, &["release", "nope"]).unwrap_err().contains("no registration named \"nope\""));
        assert!(cli(&db, &["release", "lease", "12345"]).unwrap_err().contains("no lease"));
        assert!(cli(&db, &["release"]).unwrap_err().contains("release needs"));
        assert!(cli(&db, &["release", "registration"]).unwrap_err().contains("release registration needs"));
    }

    #[test]
    fn release_has_a_subcommand_for_each_kind_of_holding() {
        let f = populated("release");
        let db = f.db();
        // A registration named like a subcommand, by its long form.
        cli(&db, &["register", "lease", "--pid", &std::process::id().to_string()]).unwrap();
        let r = json_of(&cli(&db, &["--json", "release", "registration", "lease"]).unwrap());
        assert_eq!(r["name"], "lease");
        let r = json_of(&cli(&db, &["--json", "release", "registration", "--port", "45001"]).unwrap());
        assert_eq!((r["name"].as_str(), r["port"].as_u64()), (Some("web"), Some(45001)));
        // The bare form is a registration too.
        assert!(cli(&db, &["release", "web_1"]).unwrap().contains("45002"));
        let sp = json_of(&cli(&db, &["--json", "release", "instance", "db", "a"]).unwrap());
        assert_eq!((sp["instance"].as_str(), sp["port"].as_u64()), (Some("a"), Some(15000)));
        let m = json_of(&cli(&db, &["--json", "release", "module", "dns", "--protocol", "udp"]).unwrap());
        assert_eq!(m["released"], json!([{"start": 30000, "end": 30001}]));
        let l = json_of(&cli(&db, &["--json", "release", "lease", "20001"]).unwrap());
        assert_eq!(l, json!({"port": 20001, "protocol": "tcp", "released": false}));
        assert_eq!(json_of(&cli(&db, &["--json", "list", "modules"]).unwrap()).as_array().unwrap().len(), 1);
        // The flags these replace say what to write instead.
        let e = cli(&db, &["release", "a", "--service", "db"]).unwrap_err();
        assert!(e.contains("release instance db a"), "{e}");
        assert!(cli(&db, &["release", "--lease", "5"]).unwrap_err().contains("release lease 5"));
        // --protocol belongs to --port; a bare name with another word is refused.
        assert!(cli(&db, &["release", "web", "--protocol", "udp"]).unwrap_err().contains("--port"));
        assert!(cli(&db, &["release", "web", "extra"]).is_err());
    }

    #[test]
    fn holder_names_each_kind_of_holding() {
        let f = populated("holder");
        let db = f.db();
        let me = User::current();
        let h = json_of(&cli(&db, &["--json", "holder", "20001"]).unwrap());
        assert_eq!((h["kind"].as_str(), h["name"].as_str()), (Some("module"), Some("web")));
        assert_eq!(
            cli(&db, &["holder", "15000"]).unwrap(),
            format!(
                "15000/tcp is held by allocation of service \"db\" to instance \"a\" (port 15000/tcp) of user {:?}\n",
                me.name
            )
        );
        assert_eq!(json_of(&cli(&db, &["--json", "holder", "20001", "--protocol", "udp"]).unwrap()), Value::Null);
    }

    #[test]
    fn list_shows_every_kind_and_gc_has_nothing_to_reclaim() {
        let f = populated("list");
        let db = f.db();
        let all = json_of(&cli(&db, &["--json", "list"]).unwrap());
        assert_eq!(all["modules"].as_array().unwrap().len(), 2);
        assert_eq!(all["services"][0]["ports"].as_array().unwrap().len(), 1);
        assert_eq!(all["registrations"].as_array().unwrap().len(), 2);
        assert_eq!(all["leases"], json!([]));
        let text = cli(&db, &["list"]).unwrap();
        assert!(text.contains("Module ranges:") && text.contains("Leases:\n  (none)"), "{text}");
        assert_eq!(json_of(&cli(&db, &["--json", "list", "modules"]).unwrap()).as_array().unwrap().len(), 2);
        assert_eq!(
            json_of(&cli(&db, &["--json", "gc"]).unwrap()),
            json!({"registrations": 0, "leases": 0, "offers": 0})
        );
        assert!(cli(&db, &["--timeout", "0", "gc"]).unwrap_err().contains("--timeout"));
    }

    #[test]
    fn pools_parse() {
        assert_eq!(pool(&Some("1-2".into())).unwrap(), Some((1, 2)));
        assert_eq!(pool(&Some(" 45001-45001 ".into())).unwrap(), Some((45001, 45001)));
        assert!(pool(&Some("1".into())).is_err());
        assert!(pool(&Some("1-70000".into())).is_err());
        assert_eq!(pool(&None).unwrap(), None);
        // The specification grammar's errors, naming the flag and the item.
        let msg = |s: &str| pool(&Some(s.to_string())).unwrap_err().to_string();
        assert!(msg("0-10").contains("in --pool: item \"0-10\""), "{}", msg("0-10"));
        assert!(msg("45000-20000").contains("start is greater than its end"), "{}", msg("45000-20000"));
        assert!(msg("20000-x").contains("in --pool"), "{}", msg("20000-x"));
        assert!(msg("{chrome}").contains("in --pool"), "{}", msg("{chrome}"));
        for one_range_only in ["1-5,7-9", "", "9"] {
            assert!(msg(one_range_only).contains("expected one range A-B"), "{}", msg(one_range_only));
        }
    }
}
