//! Probing single ports: `isPortFree`, and (with the cargo feature
//! `test-hooks`) the bare syscalls the benchmark uses as its floor.

use napi_derive::napi;

use port4me::values::{port_from_f64, probe_options};

use crate::errors::guard;
use crate::options::ProbeArgs;

/// Whether `port` is free: a real bind, on every local address (or `host`),
/// for TCP (or `protocol: "udp"`). Does not consult
/// `_PORT4ME_CHECK_AVAILABLE_PORTS_`.
#[napi(js_name = "isPortFree")]
pub fn is_port_free(port: f64, options: Option<ProbeArgs>) -> napi::Result<bool, String> {
    guard(|| {
        let port = port_from_f64(port, "port")?;
        let o = options.unwrap_or_default();
        let probe = probe_options(o.host.as_deref(), o.protocol.as_deref())?;
        Ok(port4me::is_port_free(port, &probe)?)
    })
}

/// Benchmark floor: socket + bind on 0.0.0.0 + close, nothing else. Hidden;
/// only with the cargo feature `test-hooks` (not in the published addon).
#[cfg(feature = "test-hooks")]
#[napi(js_name = "_bareBindV4")]
pub fn bare_bind_v4(port: f64) -> napi::Result<bool, String> {
    guard(|| {
        let port = port_from_f64(port, "port")?;
        port4me::probe::bare_bind_v4(port)
            .map_err(|e| crate::errors::Failure::new("ERR_PORT4ME_PROBE", format!("socket failed: {e}")))
    })
}

/// Test hook: panics inside the guard, to prove a panic becomes an error.
/// Only with the cargo feature `test-hooks` (not in the published addon).
#[cfg(feature = "test-hooks")]
#[napi(js_name = "_panicForTest")]
pub fn panic_for_test() -> napi::Result<u32, String> {
    guard(|| -> Result<u32, crate::errors::Failure> { panic!("deliberate panic for the test suite") })
}
