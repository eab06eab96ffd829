//! Who holds a port, port status and port plans (`port4me-holders`):
//! `whoHolds`, `status`, `plan`, `describeBusy`.
//!
//! Results are the crate's own `serde` forms (camelCase fields, enums as
//! strings, addresses as `"127.0.0.1:5173"`), converted to JS values by
//! napi's serde serializer (field order kept). Two additions for JS callers,
//! both plain calls of the crate's methods: every holder carries
//! `description` (`Holder::describe`, in plan conflicts too), and every
//! status `label`, `labels` and `description`. A status and a plan carry
//! `registryError` (a string, or `null`): the port4me registry could not
//! be read, so whether a port is reserved there is unknown (the label is then
//! `unknown`, not `free`).
//!
//! A `fail` plan with conflicts throws an `Error` with the code
//! `ERR_PORT4ME_PLAN_CONFLICT` and the plan as `err.plan`.

use std::time::Duration;

use napi::bindgen_prelude::{Env, JsError, JsObjectValue, JsValue, Object, Unknown};
use napi_derive::napi;
use port4me::values::{count_from_f64, parse_protocol, port_from_f64};
use port4me::Protocol;
use port4me_holders::reservations::open_default;
use port4me_holders::{
    describe_busy, protocol_name, status_with, who_holds, Availability, Browser, Conflict, ConflictCause, Holder,
    KillReport, NoRegistry, Outcome, Plan, PlanOptions, PortStatus, Reservation, ServicePlan, StatusOptions, Strategy,
};
use serde::Serialize;

use crate::errors::{catch, guard, to_js, Failure};

/// Options of `whoHolds` and `describeBusy`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "HoldersOptions", rename_all = "camelCase"))]
pub struct HoldersArgs {
    /// `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
}

/// Options of `status`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StatusOptions", rename_all = "camelCase"))]
pub struct StatusArgs {
    /// `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
    /// Look the ports up in the port4me registry (read-only). Default `true`.
    #[cfg_attr(test, ts(optional))]
    pub registry: Option<bool>,
}

/// Options of `plan`.
#[napi(object)]
#[derive(Default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "PlanOptions", rename_all = "camelCase"))]
pub struct PlanArgs {
    /// `alternative` (default): the next free port of the service's own
    /// port4me sequence; `fail`: throw `PlanConflictError`; `kill`: SIGTERM
    /// the current user's processes holding it (never anyone else's),
    /// falling back to an alternative when that does not free it.
    #[cfg_attr(test, ts(optional, type = "Strategy | (string & {})"))]
    pub strategy: Option<String>,
    /// With `kill`: SIGKILL what still holds the port after `graceMs`.
    #[cfg_attr(test, ts(optional))]
    pub force: Option<bool>,
    /// With `kill`: how long to wait after SIGTERM, in milliseconds. Default 5000.
    #[cfg_attr(test, ts(optional))]
    pub grace_ms: Option<f64>,
    /// The user part of every service's seed (default as in `port4me`).
    #[cfg_attr(test, ts(optional))]
    pub user: Option<String>,
    /// `"tcp"` (default) or `"udp"`.
    #[cfg_attr(test, ts(optional, type = "\"tcp\" | \"udp\" | (string & {})"))]
    pub protocol: Option<String>,
}

/// One service of a plan: its name and preferred port.
#[napi(object)]
pub struct PlanEntry {
    pub name: String,
    pub port: f64,
}

fn protocol(p: Option<&str>) -> Result<Protocol, Failure> {
    Ok(p.map(parse_protocol).transpose()?.unwrap_or_default())
}

/// One socket on a port, and what holds it.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Holder"))]
pub struct HolderOut<'a> {
    #[serde(flatten)]
    #[cfg_attr(test, ts(flatten))]
    holder: &'a Holder,
    /// E.g. `"node (pid 4242, alice): vite --port 5173"`.
    description: String,
}

fn holders_out(h: &[Holder]) -> Vec<HolderOut<'_>> {
    h.iter().map(|holder| HolderOut { holder, description: holder.describe() }).collect()
}

/// Everything known about one port: a status with its holders described,
/// and its label(s) and description.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "PortStatus"))]
pub struct StatusOut<'a> {
    port: u16,
    #[cfg_attr(test, ts(type = "\"tcp\" | \"udp\""))]
    protocol: &'static str,
    /// Whether a server could bind it now.
    availability: Availability,
    /// The sockets on the port; `null` where this system cannot tell.
    holders: Option<Vec<HolderOut<'a>>>,
    /// Why it is blocked (e.g. privileged), when it is.
    blocked_reason: Option<&'a str>,
    /// The browsers that refuse the port.
    unsafe_for: &'a [Browser],
    /// The registry entry holding it, if any (see `registryError`).
    reserved: Option<&'a Reservation>,
    /// Why the port4me registry could not be read, when it could not:
    /// whether the port is reserved is then unknown (`reserved` is `null`
    /// without meaning "not reserved") and a free port is labelled `unknown`.
    registry_error: Option<&'a str>,
    /// One word, by precedence: occupied, blocked, reserved, unknown, unsafe, free.
    #[cfg_attr(test, ts(type = "\"free\" | \"occupied\" | \"blocked\" | \"reserved\" | \"unknown\" | \"unsafe\""))]
    label: &'static str,
    /// Every word that applies: the availability (`unknown` for a free port
    /// of an unreadable registry), then `reserved` and `unsafe`.
    #[cfg_attr(
        test,
        ts(type = "Array<\"free\" | \"occupied\" | \"blocked\" | \"reserved\" | \"unknown\" | \"unsafe\">")
    )]
    labels: Vec<&'static str>,
    /// One line, e.g. `"in use by node (pid 4242, alice): vite"`.
    description: String,
}

impl<'a> From<&'a PortStatus> for StatusOut<'a> {
    fn from(s: &'a PortStatus) -> Self {
        StatusOut {
            port: s.port,
            protocol: protocol_name(s.protocol),
            availability: s.availability,
            holders: s.holders.as_deref().map(holders_out),
            blocked_reason: s.blocked_reason.as_deref(),
            unsafe_for: &s.unsafe_for,
            reserved: s.reserved.as_ref(),
            registry_error: s.registry_error.as_deref(),
            label: s.label(),
            labels: s.labels(),
            description: s.describe(),
        }
    }
}

/// A plan: one entry per service, in the order given (its conflicts'
/// holders described too).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Plan"))]
pub struct PlanOut<'a> {
    strategy: Strategy,
    services: Vec<ServicePlanOut<'a>>,
    /// Why the port4me registry could not be read (the ports it holds are
    /// then unknown; every service warns), or `null`.
    registry_error: Option<&'a str>,
}

/// The port of one service.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ServicePlan"))]
pub struct ServicePlanOut<'a> {
    name: &'a str,
    /// The port it asked for.
    preferred: u16,
    /// The port it gets (`null` only in the plan of a `PlanConflictError`).
    port: Option<u16>,
    /// `kept` its preferred port, `moved` to another, `freed` it (kill), or
    /// `unresolved` (fail).
    outcome: Outcome,
    conflict: Option<ConflictOut<'a>>,
    /// E.g. a kept port that browsers refuse.
    warnings: &'a [String],
}

/// Why a service could not simply keep its preferred port.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "PlanConflict"))]
pub struct ConflictOut<'a> {
    /// `in_use`: something holds it; `blocked`: this user may not bind it;
    /// `service`: an earlier service of the plan has it.
    cause: ConflictCause,
    /// What held the port when the plan was made.
    holders: Vec<HolderOut<'a>>,
    /// The earlier service, for `cause: "service"`.
    service: Option<&'a str>,
    /// One sentence: `"5173 is in use by node (pid 4242, alice): vite"`.
    message: &'a str,
    /// What the `kill` strategy did.
    kill: Option<&'a KillReport>,
}

impl<'a> From<&'a Plan> for PlanOut<'a> {
    fn from(p: &'a Plan) -> Self {
        PlanOut {
            strategy: p.strategy,
            services: p.services.iter().map(ServicePlanOut::from).collect(),
            registry_error: p.registry_error.as_deref(),
        }
    }
}

impl<'a> From<&'a ServicePlan> for ServicePlanOut<'a> {
    fn from(s: &'a ServicePlan) -> Self {
        ServicePlanOut {
            name: &s.name,
            preferred: s.preferred,
            port: s.port,
            outcome: s.outcome,
            conflict: s.conflict.as_ref().map(ConflictOut::from),
            warnings: &s.warnings,
        }
    }
}

impl<'a> From<&'a Conflict> for ConflictOut<'a> {
    fn from(c: &'a Conflict) -> Self {
        ConflictOut {
            cause: c.cause,
            holders: holders_out(&c.holders),
            service: c.service.as_deref(),
            message: &c.message,
            kill: c.kill.as_ref(),
        }
    }
}

/// Every socket on `port`, server sockets first (Linux; elsewhere
/// `ERR_PORT4ME_HOLDERS_UNSUPPORTED`).
#[napi(js_name = "whoHolds", ts_return_type = "Array<any>")]
pub fn who_holds_js<'env>(
    env: &'env Env,
    port: f64,
    options: Option<HoldersArgs>,
) -> napi::Result<Unknown<'env>, String> {
    guard(|| {
        let port = port_from_f64(port, "port")?;
        let protocol = protocol(options.unwrap_or_default().protocol.as_deref())?;
        let holders = who_holds(u32::from(port), protocol)?;
        to_js(env, &holders_out(&holders))
    })
}

/// The status of each port, in the order given (one scan for all).
#[napi(ts_return_type = "Array<any>")]
pub fn status<'env>(
    env: &'env Env,
    ports: Vec<f64>,
    options: Option<StatusArgs>,
) -> napi::Result<Unknown<'env>, String> {
    guard(|| {
        let ports =
            ports.into_iter().map(|p| port_from_f64(p, "ports").map(u32::from)).collect::<Result<Vec<_>, _>>()?;
        let o = options.unwrap_or_default();
        let opts = StatusOptions { protocol: protocol(o.protocol.as_deref())? };
        let statuses = if o.registry.unwrap_or(true) {
            status_with(&ports, &opts, &*open_default())?
        } else {
            status_with(&ports, &opts, &NoRegistry)?
        };
        to_js(env, &statuses.iter().map(StatusOut::from).collect::<Vec<_>>())
    })
}

/// `"5173 is in use by node (pid 4242, alice): vite --port 5173"`, or `null`
/// when nothing visible holds the port.
#[napi(js_name = "describeBusy")]
pub fn describe_busy_js(port: f64, options: Option<HoldersArgs>) -> napi::Result<Option<String>, String> {
    guard(|| {
        let port = port_from_f64(port, "port")?;
        let protocol = protocol(options.unwrap_or_default().protocol.as_deref())?;
        Ok(describe_busy(port, protocol))
    })
}

fn plan_options(o: PlanArgs) -> Result<PlanOptions, Failure> {
    let mut opts = PlanOptions { protocol: protocol(o.protocol.as_deref())?, user: o.user, ..PlanOptions::default() };
    if let Some(s) = o.strategy {
        opts.strategy = s.parse::<Strategy>()?;
    }
    if let Some(f) = o.force {
        opts.force = f;
    }
    if let Some(ms) = o.grace_ms {
        opts.grace = Duration::from_millis(count_from_f64(ms, "graceMs", "graceMs", 0, 24 * 3600 * 1000)?);
    }
    Ok(opts)
}

/// A port for every service: its preferred port when free, else the next
/// free port of its own sequence (or per `strategy`).
#[napi(ts_return_type = "any")]
pub fn plan<'env>(env: &'env Env, services: Vec<PlanEntry>, options: Option<PlanArgs>) -> napi::Result<Unknown<'env>> {
    let result = catch(|| {
        let opts = plan_options(options.unwrap_or_default())?;
        let entries = services
            .into_iter()
            .map(|e| {
                let port = port_from_f64(e.port, &format!("plan (service \"{}\")", e.name))?;
                Ok((e.name, u32::from(port)))
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        match port4me_holders::plan(&entries, &opts, &*open_default()) {
            Ok(p) => Ok(Ok(to_js(env, &PlanOut::from(&p))?)),
            Err(e) => match e.plan() {
                Some(p) => Ok(Err((Failure::from(&e), to_js(env, &PlanOut::from(p))?))),
                None => Err(e.into()),
            },
        }
    });
    match result {
        Ok(Ok(plan)) => Ok(plan),
        // The conflict error, with the plan attached as `err.plan`.
        Ok(Err((failure, plan))) => {
            let err: Unknown<'_> = JsError::from(failure.into_napi()).into_unknown(*env);
            let mut obj: Object = err.coerce_to_object()?;
            obj.set_named_property("plan", plan)?;
            Err(napi::Error::from(err))
        }
        Err(failure) => Err(failure.into_rejection(*env)),
    }
}

impl From<&port4me_holders::Error> for Failure {
    fn from(e: &port4me_holders::Error) -> Self {
        Failure::new(e.code(), e.to_string())
    }
}
