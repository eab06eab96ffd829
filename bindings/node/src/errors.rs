//! Errors crossing into JavaScript.
//!
//! Every error the addon throws or rejects with is a plain JS `Error` whose
//! `code` is a stable string (`ERR_PORT4ME_*`, or Node's own
//! `ERR_INVALID_ARG_VALUE`) and whose message names the bad value and where it
//! came from. napi-rs builds the JS error with `napi_create_error(code,
//! message)` when the error's status is a string, so the code is set by the
//! engine, not patched on afterwards.
//!
//! A Rust panic must never take Node down: every entry point runs its body
//! inside [`guard`], which turns a panic into an `ERR_PORT4ME_INTERNAL` error
//! (the async task does the same on the libuv thread, where napi-rs does not
//! catch anything).

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{Env, JsError, JsTypeError, Unknown};

/// The result type of every sync export: the error's status is the `code`.
/// (Signatures spell it `napi::Result<T, String>`: the `#[napi]` macro
/// recognises a `Result` return by its name.)
pub type JsResult<T> = napi::Result<T, String>;

/// Code of an error caused by a bug (a caught Rust panic).
pub const ERR_INTERNAL: &str = "ERR_PORT4ME_INTERNAL";
/// Code of a call on a `Registry` after `close()`.
pub const ERR_REGISTRY_CLOSED: &str = "ERR_PORT4ME_REGISTRY_CLOSED";

/// An error on its way to JavaScript: a code and a message. `Send`, so it can
/// travel back from the thread pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable `err.code`.
    pub code: String,
    /// The message, naming the bad value.
    pub message: String,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Failure { code: code.to_string(), message: message.into() }
    }

    /// The napi error: thrown with `code` = [`Failure::code`].
    pub fn into_napi(self) -> napi::Error<String> {
        napi::Error::new(self.code, self.message)
    }

    /// For async tasks, whose rejection type is fixed to `napi::Error<Status>`:
    /// build the JS error object here, on the JS thread, and hand napi-rs a
    /// reference to it, which it rejects the promise with verbatim.
    pub fn into_rejection(self, env: Env) -> napi::Error {
        let js: Unknown<'_> = JsError::from(self.into_napi()).into_unknown(env);
        napi::Error::from(js)
    }
}

impl From<port4me::Error> for Failure {
    fn from(e: port4me::Error) -> Self {
        Failure { code: e.code().to_string(), message: e.to_string() }
    }
}

impl From<port4me_registry::Error> for Failure {
    fn from(e: port4me_registry::Error) -> Self {
        Failure { code: e.code().to_string(), message: e.to_string() }
    }
}

impl From<port4me_holders::Error> for Failure {
    fn from(e: port4me_holders::Error) -> Self {
        Failure { code: e.code().to_string(), message: e.to_string() }
    }
}

impl From<Failure> for napi::Error<String> {
    fn from(f: Failure) -> Self {
        f.into_napi()
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f`, turning a panic into an `ERR_PORT4ME_INTERNAL` failure.
pub fn catch<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            // Dropping a payload can itself panic; leak it instead.
            std::mem::forget(payload);
            Err(Failure::new(ERR_INTERNAL, format!("internal error in the port4me addon (Rust panic): {msg}")))
        }
    }
}

/// A result as a JS value: its serde form (the JSON the CLI prints with
/// `--json`) through napi's serde serializer, which keeps the field order.
/// A value it cannot convert is a bug here, so `ERR_PORT4ME_INTERNAL`.
pub fn to_js<'env, T: serde::Serialize>(env: &Env, v: &T) -> Result<Unknown<'env>, Failure> {
    env.to_js_value(v)
        .map_err(|e| Failure::new(ERR_INTERNAL, format!("cannot convert a result to JavaScript: {}", e.reason)))
}

/// [`catch`] for the sync exports.
pub fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> JsResult<T> {
    catch(f).map_err(Failure::into_napi)
}

/// [`guard`] that throws Node's argument errors (`ERR_INVALID_ARG_*`) as
/// `TypeError`s, as Node's own functions do.
pub fn guard_in<T>(env: &Env, f: impl FnOnce() -> Result<T, Failure>) -> JsResult<T> {
    catch(f).map_err(|failure| {
        if !failure.code.starts_with("ERR_INVALID_ARG_") {
            return failure.into_napi();
        }
        // Thrown here, so napi-rs leaves the pending TypeError as it is.
        unsafe { JsTypeError::from(failure.into_napi()).throw_into(env.raw()) };
        napi::Error::new(napi::Status::PendingException.as_ref().to_string(), String::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes `index.d.cts` declares are exactly the codes the Rust errors
    /// have (one table per crate: `CODES`, made from the same table as
    /// `code()`), plus the few only the JavaScript layer throws.
    #[test]
    fn the_typescript_error_codes_are_the_rust_ones() {
        use std::collections::BTreeSet;
        let dts = include_str!("../../../npm/port4me/index.d.cts");
        let mut declared = BTreeSet::new();
        for name in ["Port4meErrorCode", "RegistryErrorCode", "HoldersErrorCode"] {
            let start =
                dts.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no {name} in index.d.cts"));
            // The union ends at its last member's `;` (doc comments between
            // members may hold semicolons of their own).
            let end = ["';\n", "Code;\n"].iter().filter_map(|t| dts[start..].find(t)).min();
            let body = &dts[start..start + end.expect("the union ends")];
            declared.extend(body.split('\'').filter(|w| w.starts_with("ERR_")));
        }
        let mut rust: BTreeSet<&str> = BTreeSet::new();
        rust.extend(port4me::core::Error::CODES);
        rust.extend(port4me::Error::CODES);
        rust.extend(port4me_registry::Error::CODES);
        rust.extend(port4me_holders::Error::CODES);
        rust.extend([ERR_INTERNAL, ERR_REGISTRY_CLOSED]);
        // Thrown by the JavaScript layer only: its type checks (Node's own
        // codes) and the loader (no addon; no addon where one is needed).
        rust.extend([
            "ERR_INVALID_ARG_TYPE",
            "ERR_OUT_OF_RANGE",
            "ERR_PORT4ME_NATIVE_MISSING",
            "ERR_PORT4ME_NATIVE_REQUIRED",
        ]);
        assert_eq!(declared, rust, "index.d.cts (left) and the Rust error tables (right) differ");
    }
}
