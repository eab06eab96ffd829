//! What runs: `ps()`, the ports held for running processes (the list
//! `port4me ps` prints), and `hold()`, the Vite plugin's way to hold its
//! port for the life of the Vite process, as `port4me run` does for its
//! command.

use napi::bindgen_prelude::{Env, Unknown};
use napi_derive::napi;
use port4me_registry::{HoldOptions, Owner};

use crate::errors::{guard, to_js};
use crate::options::{Options, Query};
use crate::registry::default_registry;

/// Every port held for a running process, in port order: `Running[]`, the
/// registry's serde form (`port4me ps --json`); `registry.running()` on the
/// default registry.
#[napi(ts_return_type = "Running[]")]
pub fn ps<'env>(env: &'env Env) -> napi::Result<Unknown<'env>, String> {
    guard(|| to_js(env, &default_registry(env)?.running()?))
}

/// The port of these options held as a registration owned by this process
/// until it exits (`PORT4ME_PORT` when `port4me run` holds one for it
/// already). `command` is what `ps` shows (default: this process's
/// arguments).
#[napi(js_name = "holdPort")]
pub fn hold_port(env: Env, options: Option<Options>, command: Option<String>) -> napi::Result<u32, String> {
    guard(|| {
        let q = Query::from_options(options.unwrap_or_default())?.build();
        if let Some(port) = q.given_port()? {
            return Ok(u32::from(port));
        }
        let reg = default_registry(&env)?;
        let held = reg.registrations().hold(&q, HoldOptions { owner: Owner::Current, command })?;
        Ok(u32::from(held.port))
    })
}
