//! Who holds a port, port status and port plans (`port4me-holders`):
//! `whoHolds`, `status`, `plan`, `describeBusy`.
//!
//! Results are the crate's own `serde` forms, as `port4me who/status/plan
//! --json` prints them (camelCase fields, enums as strings, addresses as
//! `"127.0.0.1:5173"`, every holder with its `description`, every status
//! with its `label`, `labels` and `description`), converted to JS values by
//! napi's serde serializer (field order kept). A status and a plan carry
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
use port4me_holders::{describe_busy, status_with, who_holds, NoRegistry, PlanOptions, StatusOptions, Strategy};

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
    /// the current user's processes holding it (never anyone else's; on
    /// Windows `TerminateProcess`, never for services or system processes),
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
        to_js(env, &holders)
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
        to_js(env, &statuses)
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
            Ok(p) => Ok(Ok(to_js(env, &p)?)),
            Err(e) => match e.plan() {
                Some(p) => Ok(Err((Failure::from(&e), to_js(env, p)?))),
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
