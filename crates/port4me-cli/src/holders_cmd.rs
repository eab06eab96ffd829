//! `port4me who`, `port4me status` and `port4me plan`: what holds a port,
//! what state ports are in, and conflict-free ports for a set of services.
//! Tables for people, `--json` for scripts; errors print `Error: <message>`
//! on stderr (with `--json`, `{"error": {"code", "message"}}` as the main
//! command and the registry do) and exit with status 2.

use crate::table::table;
use crate::{fail_as, Coded, ExitCode};
use std::time::Duration;

use clap::Args;
use port4me::core::spec;
use port4me::{Port4me, Protocol};
use port4me_holders::reservations::open_default;
use port4me_holders::{
    escape_text, parse_entry, parse_port, plan, port_label, status_with, who_holds, Holder, NoRegistry, Outcome, Plan,
    PlanOptions, PortStatus, ProcessAccess, ServicePlan, StatusOptions, Strategy, MAX_STATUS_PORTS,
};
use serde_json::json;

/// Show which processes hold a port: every socket on it (listening,
/// connected, in TIME_WAIT, bound UDP) with its pid, process name, user and
/// command line where the system lets us see them.
///
/// Exits 0 when something holds the port, 1 when nothing does.
#[derive(Args, Debug)]
pub struct WhoArgs {
    /// The port (1-65535).
    // Negative numbers too, so that `who -1` is refused as no port rather
    // than as an unknown option.
    #[arg(value_name = "PORT", allow_negative_numbers = true)]
    port: String,

    /// Look at UDP sockets instead of TCP.
    #[arg(long)]
    udp: bool,

    /// Print JSON (an array of sockets) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Show whether ports are free, occupied (and by what), blocked (cannot be
/// bound by you, e.g. privileged), unsafe (refused by browsers) or reserved
/// in the port4me registry.
///
/// Without PORTS, shows the first five ports of your own port4me sequence
/// (for --tool, if given).
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Ports or ranges, e.g. 5173 8000-8005 (at most 1024 ports in all).
    #[arg(value_name = "PORTS", allow_negative_numbers = true)]
    ports: Vec<String>,

    /// Check UDP instead of TCP.
    #[arg(long)]
    udp: bool,

    /// Print JSON (an array, one object per port) instead of a table.
    #[arg(long)]
    json: bool,

    /// Without PORTS: the tool whose sequence to show.
    #[arg(long, value_name = "TOOL")]
    tool: Option<String>,

    /// Without PORTS: the user whose sequence to show.
    #[arg(long, value_name = "USER")]
    user: Option<String>,

    /// Do not look ports up in the port4me registry.
    #[arg(long)]
    no_registry: bool,
}

/// Give a set of services conflict-free ports in one step.
///
/// Each service keeps its preferred port when that is free; otherwise it
/// gets the first free port of its own port4me sequence (the service name
/// is the tool), never one given to another service of the plan and never
/// one that browsers refuse. Processes are only ever stopped with
/// --strategy kill, only your own, with SIGTERM (and SIGKILL after the grace
/// period only with --force).
///
/// Exits 0 when every service has a port, 1 when --strategy fail met a
/// conflict.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Services and their preferred ports, e.g. web=5173 api=3000 db=5432.
    #[arg(value_name = "NAME=PORT", required = true)]
    services: Vec<String>,

    /// What to do with a taken port: alternative (another port from the
    /// service's own sequence), fail (report and exit 1), or kill (stop your
    /// own processes that hold it; others are refused).
    #[arg(long, value_name = "STRATEGY", default_value = "alternative")]
    strategy: String,

    /// With --strategy kill: send SIGKILL to what still holds the port after
    /// the grace period.
    #[arg(long)]
    force: bool,

    /// With --strategy kill: seconds to wait after SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    grace: f64,

    /// The user part of the port4me seeds [default: as port4me: PORT4ME_USER, USER, ...].
    #[arg(long, value_name = "USER")]
    user: Option<String>,

    /// Plan UDP ports instead of TCP.
    #[arg(long)]
    udp: bool,

    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "env")]
    json: bool,

    /// Print NAME_PORT=PORT lines for a shell or an .env file (WEB_PORT=5173);
    /// names must be ASCII, and no two may give the same variable.
    #[arg(long)]
    env: bool,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The code of an error without one of its own (bad flags), with `--json`.
const USAGE: &str = "ERR_PORT4ME_USAGE";

fn protocol(udp: bool) -> Protocol {
    if udp {
        Protocol::Udp
    } else {
        Protocol::Tcp
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string())
}

// ---- who -------------------------------------------------------------------

/// Runs `who`.
pub fn run_who(a: &WhoArgs) -> ExitCode {
    let proto = protocol(a.udp);
    let port = match parse_port(&a.port) {
        Ok(p) => p,
        Err(e) => return fail_as(a.json, &e, USAGE),
    };
    let holders = match who_holds(port as u32, proto) {
        Ok(h) => h,
        Err(e) => return fail_as(a.json, &e, USAGE),
    };
    if a.json {
        println!("{}", to_json(&holders));
    } else if holders.is_empty() {
        // No process can hold a port in Windows' excluded ranges: say so.
        match port4me_holders::excluded_port_range(port, proto) {
            Some(range) => println!("no process holds {} port {port}: {range}", proto.as_str().to_uppercase()),
            None => println!("nothing holds {} port {port}", proto.as_str().to_uppercase()),
        }
    } else {
        print!("{}", holders_table(&holders));
    }
    if holders.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn holders_table(holders: &[Holder]) -> String {
    let mut rows = Vec::new();
    for h in holders {
        let remote = h.remote_address.map_or("-".to_string(), |a| a.to_string());
        let base = vec![h.state.to_string(), h.local_address.to_string(), remote];
        if h.processes.is_empty() {
            let note = match h.access {
                ProcessAccess::NoProcess => "(no process: the kernel keeps it)".to_string(),
                ProcessAccess::Hidden => "(process not visible to you)".to_string(),
                ProcessAccess::Unreported => "(owner not reported by the system)".to_string(),
                _ => "(process not found: another container, or it just closed)".to_string(),
            };
            let mut r = base.clone();
            r.extend(["-".into(), h.user.clone().unwrap_or_else(|| "-".into()), "-".into(), note]);
            rows.push(r);
        }
        for p in &h.processes {
            let user = p.user.clone().or_else(|| h.user.clone()).unwrap_or_else(|| "-".into());
            let mut r = base.clone();
            let command = match h.access {
                // Windows names it but will not let us open it.
                ProcessAccess::Hidden => "(may not be inspected by you)".to_string(),
                _ => p.command(),
            };
            r.extend([p.pid.to_string(), user, p.name.clone(), command]);
            rows.push(r);
        }
    }
    table(&["STATE", "LOCAL", "REMOTE", "PID", "USER", "NAME", "COMMAND"], rows)
}

// ---- status ----------------------------------------------------------------

/// Parses status arguments: ports and ranges `A-B`, separated by commas or
/// whitespace, in one argument or several (the specification grammar of
/// `port4me_core::spec`, for ports named one by one).
/// At most [`MAX_STATUS_PORTS`] in all (counted without listing them, so
/// that `1-65535` is refused at once).
fn status_ports(args: &[String]) -> Res<Vec<u32>> {
    let mut out: Vec<u32> = Vec::new();
    let mut count = 0usize;
    for arg in args {
        spec::for_each_named(arg, "PORTS", |item| {
            let (lo, hi) = match item {
                spec::Item::Port(p) => (p, p),
                spec::Item::Range(lo, hi) => (lo, hi),
            };
            count += usize::from(hi - lo) + 1;
            if count <= MAX_STATUS_PORTS {
                out.extend((lo..=hi).map(u32::from));
            }
        })
        .map_err(port4me::Error::from)?;
    }
    if count > MAX_STATUS_PORTS {
        return Err(port4me_holders::Error::TooManyPorts { count }.into());
    }
    Ok(out)
}

/// Runs `status`.
pub fn run_status(a: &StatusArgs) -> ExitCode {
    match status_inner(a) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => fail_as(a.json, &*e, USAGE),
    }
}

fn status_inner(a: &StatusArgs) -> Res<String> {
    let ports = if a.ports.is_empty() {
        let mut q = Port4me::new();
        if let Some(t) = &a.tool {
            q = q.tool(t.clone());
        }
        if let Some(u) = &a.user {
            q = q.user(u.clone());
        }
        q.list(5)?.into_iter().map(u32::from).collect()
    } else {
        if a.tool.is_some() || a.user.is_some() {
            return Err(
                "--tool and --user choose a sequence to show when no PORTS are given; give one or the other".into()
            );
        }
        status_ports(&a.ports)?
    };
    let opts = StatusOptions { protocol: protocol(a.udp) };
    let st = if a.no_registry {
        status_with(&ports, &opts, &NoRegistry)?
    } else {
        status_with(&ports, &opts, &*open_default())?
    };
    if a.json {
        return Ok(to_json(&st) + "\n");
    }
    Ok(status_table(&st))
}

fn status_table(st: &[PortStatus]) -> String {
    let rows = st
        .iter()
        .map(|s| {
            let labels: Vec<&str> = s.labels.iter().map(|l| l.as_str()).collect();
            vec![port_label(s.port, s.protocol), labels.join(","), s.description.clone()]
        })
        .collect();
    table(&["PORT", "STATUS", "DETAILS"], rows)
}

// ---- plan ------------------------------------------------------------------

/// Runs `plan`.
pub fn run_plan(a: &PlanArgs) -> ExitCode {
    let (services, opts) = match plan_input(a) {
        Ok(x) => x,
        Err(e) => return fail_as(a.json, &*e, USAGE),
    };
    let entries: Vec<(&str, u32)> = services.iter().map(|(n, p)| (n.as_str(), *p as u32)).collect();
    match plan(&entries, &opts, &*open_default()) {
        Ok(p) => {
            print!("{}", render_plan(&p, a));
            ExitCode::SUCCESS
        }
        Err(e) => match e.plan() {
            // The fail strategy: show the plan with its conflicts, then the
            // error, and exit 1 ("a plan that fails").
            Some(p) => {
                if !a.env {
                    print!("{}", render_plan(p, a));
                }
                fail_as(a.json, &e, USAGE);
                ExitCode::from(1)
            }
            None => fail_as(a.json, &e, USAGE),
        },
    }
}

fn plan_input(a: &PlanArgs) -> Res<(Vec<(String, u16)>, PlanOptions)> {
    let strategy: Strategy = a.strategy.parse()?;
    if !a.grace.is_finite() || a.grace < 0.0 || a.grace > 3600.0 {
        return Err(format!("invalid value of --grace: {} (expected 0 to 3600 seconds)", a.grace).into());
    }
    let services = a.services.iter().map(|s| parse_entry(s)).collect::<Result<Vec<_>, _>>()?;
    if a.env {
        // Before anything is planned (or, with kill, stopped).
        check_env_names(&services)?;
    }
    let opts = PlanOptions {
        strategy,
        user: a.user.clone(),
        protocol: protocol(a.udp),
        grace: Duration::from_secs_f64(a.grace),
        force: a.force,
    };
    Ok((services, opts))
}

fn render_plan(p: &Plan, a: &PlanArgs) -> String {
    if let (Some(why), true) = (&p.registry_error, a.env) {
        // --env output goes to a file or `eval`: the warning to stderr.
        eprintln!("warning: ports held in the port4me registry: unknown (registry unreadable: {})", escape_text(why));
    }
    if a.json {
        return to_json(p) + "\n";
    }
    if a.env {
        return p
            .services
            .iter()
            .filter_map(|s| s.port.map(|port| format!("{}={port}\n", env_name(&s.name))))
            .collect();
    }
    let rows = p
        .services
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.preferred.to_string(),
                s.port.map_or("-".to_string(), |p| p.to_string()),
                s.outcome.as_str().to_string(),
                plan_note(s),
            ]
        })
        .collect();
    table(&["SERVICE", "PREFERRED", "PORT", "RESULT", "NOTE"], rows)
}

fn plan_note(s: &ServicePlan) -> String {
    let mut notes = Vec::new();
    if let Some(c) = &s.conflict {
        notes.push(c.message.clone());
        if let Some(k) = &c.kill {
            if !k.signals.is_empty() {
                let sent: Vec<String> =
                    k.signals.iter().map(|x| format!("{} to pid {}", x.signal.as_str(), x.pid)).collect();
                notes.push(format!("sent {}", sent.join(", ")));
            }
            if let Some(r) = &k.refused {
                notes.push(format!("not freed: {r}"));
            }
        }
        if s.outcome == Outcome::Unresolved {
            notes.push("no port (strategy fail)".to_string());
        }
    }
    notes.extend(s.warnings.iter().cloned());
    notes.join("; ")
}

/// `web` -> `WEB_PORT`, `my-api.v2` -> `MY_API_V2_PORT`: letters upper-cased,
/// other characters `_`, `_` before a leading digit (names are checked by
/// [`check_env_names`] first).
fn env_name(service: &str) -> String {
    let mut s: String =
        service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s + "_PORT"
}

/// The `--env` variables must be names a shell takes, one per service:
/// a non-ASCII character in a service name is an error (it would become
/// `_`), and so are two services that give the same variable (`a.b`,
/// `a-b` and `A_B` all give `A_B_PORT`), naming both.
fn check_env_names(services: &[(String, u16)]) -> Result<(), Coded> {
    let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for (name, _) in services {
        if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
            return Err(Coded {
                code: "ERR_PORT4ME_PLAN_INVALID_SERVICE",
                message: format!(
                    "service \"{}\" cannot be given with --env: '{}' is not ASCII, and an environment variable \
                     name is ASCII letters, digits and '_'",
                    escape_text(name),
                    escape_text(&c.to_string())
                ),
            });
        }
        let var = env_name(name);
        if let Some(first) = seen.insert(var.clone(), name) {
            return Err(Coded {
                code: "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE",
                message: format!(
                    "services \"{}\" and \"{}\" would both be {var} with --env (letters are upper-cased, other \
                     characters become '_'): rename one of them",
                    escape_text(first),
                    escape_text(name)
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ports_parse_ranges_and_reject_bad_ones() {
        let v = |a: &[&str]| status_ports(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["80", "8000-8002,9000"]).unwrap(), [80, 8000, 8001, 8002, 9000]);
        assert!(v(&["0"]).unwrap_err().to_string().contains("in PORTS: item \"0\" at offset 0 is outside 1-65535"));
        assert_eq!(v(&["80 443", "8000"]).unwrap(), [80, 443, 8000]);
        assert!(v(&["70000"]).unwrap_err().to_string().contains("70000"));
        assert!(v(&["5-3"]).unwrap_err().to_string().contains("\"5-3\""));
        assert!(v(&["abc"]).unwrap_err().to_string().contains("\"abc\""));
        assert!(v(&["1-65535"]).unwrap_err().to_string().contains("at most 1024"));
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("web"), "WEB_PORT");
        assert_eq!(env_name("my-api.v2"), "MY_API_V2_PORT");
        assert_eq!(env_name("3d"), "_3D_PORT");
        let check = |names: &[&str]| {
            check_env_names(&names.iter().map(|n| (n.to_string(), 1)).collect::<Vec<_>>())
                .map_err(|e| (e.code, e.message))
        };
        assert_eq!(check(&["web", "my-api.v2", "db"]), Ok(()));
        let (code, msg) = check(&["a.b", "x", "a-b"]).unwrap_err();
        assert_eq!(code, "ERR_PORT4ME_PLAN_DUPLICATE_SERVICE");
        assert!(msg.starts_with("services \"a.b\" and \"a-b\" would both be A_B_PORT with --env"), "{msg}");
        assert!(check(&["A_B", "a_b"]).unwrap_err().1.contains("\"A_B\" and \"a_b\""));
        let (code, msg) = check(&["café"]).unwrap_err();
        assert_eq!(code, "ERR_PORT4ME_PLAN_INVALID_SERVICE");
        assert!(msg.contains("\"café\"") && msg.contains("'é' is not ASCII"), "{msg}");
        assert!(check(&["x\u{202e}"]).unwrap_err().1.contains("'\\u202e'"));
    }

    #[test]
    fn plan_input_is_checked_before_anything_runs() {
        let args = |services: &[&str], strategy: &str, grace: f64| PlanArgs {
            services: services.iter().map(|s| s.to_string()).collect(),
            strategy: strategy.into(),
            force: false,
            grace,
            user: None,
            udp: false,
            json: false,
            env: false,
        };
        let msg = |a: PlanArgs| plan_input(&a).unwrap_err().to_string();
        assert!(msg(args(&["web=70000"], "alternative", 5.0))
            .contains("invalid port in service \"web\": 70000 is outside 1-65535"));
        assert!(msg(args(&["web"], "alternative", 5.0)).contains("expected NAME=PORT"));
        assert!(msg(args(&["web=1"], "nuke", 5.0)).contains("unknown plan strategy \"nuke\""));
        assert!(msg(args(&["web=1"], "kill", -1.0)).contains("--grace"));
        let (s, o) = plan_input(&args(&["web=5173", "api=3000"], "KILL", 0.5)).unwrap();
        assert_eq!(s, [("web".to_string(), 5173), ("api".to_string(), 3000)]);
        assert_eq!((o.strategy, o.grace), (Strategy::Kill, Duration::from_millis(500)));
    }
}
