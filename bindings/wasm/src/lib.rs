//! port4me for browsers: the candidate sequence as a WebAssembly module.
//!
//! A browser cannot probe ports, so this build answers only "which ports, in
//! which order": `sequence({ user, tool, prepend, include, exclude,
//! excludeUnsafe, skip, n })`. It also exposes the specification parser
//! (`parsePorts`), the browser-unsafe lists (`unsafePorts`), the seed hash
//! (`hash`) and the version (`version`).
//!
//! Every invalid input becomes a thrown JavaScript `Error` whose `code` is one
//! of `ERR_PORT4ME_INVALID_SPEC`, `ERR_PORT4ME_EMPTY_SET`,
//! `ERR_PORT4ME_EMPTY_SEED`, `ERR_INVALID_ARG_TYPE` and
//! `ERR_PORT4ME_INVALID_NUMBER` (plus `ERR_PORT4ME_INVALID_PORT` for a number
//! outside 1-65535 in a port array and `ERR_INVALID_ARG_VALUE` for an unknown
//! option), and whose `option` names the option at fault
//! when there is one. Nothing here panics on input.

#[cfg(feature = "node")]
pub mod cli;
#[cfg(feature = "node")]
pub mod node;
pub mod plan;

use plan::{Options, Spec};
use port4me_core::unsafe_ports::{CHROME, FIREFOX};
use wasm_bindgen::prelude::*;

/// The largest `n` accepted, as in the Node.js API.
pub const MAX_N: f64 = port4me_core::MAX_LIST as f64;

/// The options `sequence()` accepts; any other key is an error (a typo such
/// as `exlude` would otherwise be silently ignored).
const OPTION_KEYS: [&str; 8] = ["user", "tool", "prepend", "include", "exclude", "excludeUnsafe", "skip", "n"];
const OPTION_LIST: &str = "user, tool, prepend, include, exclude, excludeUnsafe, skip, n";

/// `Number.MAX_SAFE_INTEGER`, the largest `skip` accepted.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A port specification string ("2000-2009, 4321 {chrome}") or port numbers. */
export type PortSpec = string | ArrayLike<number | string>;

export interface SequenceOptions {
  /** The user part of the seed (required; may be "" when tool is set). */
  user: string;
  /** The tool part of the seed. */
  tool?: string | null;
  /** Ports tried first, in order, not filtered by include or exclude. */
  prepend?: PortSpec | null;
  /** Allowed ports; default 1024-65535. */
  include?: PortSpec | null;
  /** Excluded ports, on top of the browser-unsafe list. */
  exclude?: PortSpec | null;
  /** The browser-unsafe exclusions; default "{chrome},{firefox}", "" for none. */
  excludeUnsafe?: PortSpec | null;
  /** Candidates to drop first (default 0). */
  skip?: number | null;
  /** Number of ports to return: 1 (default) to 1,048,576. */
  n?: number | null;
}

export interface UnsafePorts {
  /** Ports Chrome refuses to connect to. */
  chrome: number[];
  /** Ports Firefox refuses to connect to. */
  firefox: number[];
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "SequenceOptions")]
    pub type SequenceOptions;
    #[wasm_bindgen(typescript_type = "UnsafePorts")]
    pub type UnsafePorts;
}

// The few JavaScript built-ins used, imported directly rather than through
// js-sys: every js-sys binding carries a descriptor, and with wasm-bindgen
// 0.2.130 their closure shims stay in the function table, ~5 KiB of a
// 40 KiB budget.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = Error)]
    type JsError;
    #[wasm_bindgen(constructor, js_class = "Error")]
    fn new(message: &str) -> JsError;
    /// `Object()`: a new empty object.
    #[wasm_bindgen(js_name = Object)]
    fn new_object() -> JsValue;
    #[wasm_bindgen(js_namespace = Object, js_name = keys)]
    fn object_keys(o: &JsValue) -> Vec<JsValue>;
    #[wasm_bindgen(js_namespace = Object, js_name = hasOwn)]
    fn has_own(target: &JsValue, key: &str) -> bool;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> bool;
    #[wasm_bindgen(js_namespace = Array, js_name = isArray)]
    fn is_array(v: &JsValue) -> bool;
    #[wasm_bindgen(js_namespace = ArrayBuffer, js_name = isView)]
    fn is_view(v: &JsValue) -> bool;
    /// `Array.from` of an array or typed array, as its elements.
    #[wasm_bindgen(js_namespace = Array, js_name = from)]
    fn array_items(v: &JsValue) -> Vec<JsValue>;
    /// `Array.from` of a `Uint16Array` view of `ports`: a plain number array.
    #[wasm_bindgen(js_namespace = Array, js_name = from)]
    fn array_of(ports: &[u16]) -> JsValue;
    /// `String(x)`.
    #[wasm_bindgen(js_name = String)]
    fn js_string(x: &JsValue) -> String;
}

/// A JavaScript `Error` with `code` (and `option`, when given) set.
fn js_error(code: &str, option: Option<&str>, message: &str) -> JsValue {
    let err: JsValue = JsError::new(message).into();
    reflect_set(&err, "code", &JsValue::from_str(code));
    if let Some(option) = option {
        reflect_set(&err, "option", &JsValue::from_str(option));
    }
    err
}

fn core_error(e: port4me_core::Error) -> JsValue {
    let option = match &e {
        port4me_core::Error::Spec(s) => Some(s.origin),
        port4me_core::Error::EmptySeed => Some("user"),
        _ => None,
    };
    js_error(e.code(), option, &e.to_string())
}

/// Concatenation without `format!` (whose machinery costs module size).
fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `String(x)` of a JavaScript number, without Rust's float formatting
/// (which would add several KiB to the module).
fn number_text(x: &JsValue) -> String {
    js_string(x)
}

fn type_error(option: &str, expected: &str, got: &JsValue) -> JsValue {
    type_error_of("option", option, expected, got)
}

/// `The "{name}" {noun} must be {expected}. Received type {typeof got}`, as
/// Node.js words its own ERR_INVALID_ARG_TYPE.
fn type_error_of(noun: &str, name: &str, expected: &str, got: &JsValue) -> JsValue {
    let got_type = got.js_typeof().as_string().unwrap_or_default();
    let got_type = if got.is_null() { "null".into() } else { got_type };
    js_error(
        "ERR_INVALID_ARG_TYPE",
        (noun == "option").then_some(name),
        &cat(&["The \"", name, "\" ", noun, " must be ", expected, ". Received type ", &got_type]),
    )
}

/// An option's value: an own property only, as the Node addon reads them, so
/// that `Object.create({ tool: 'x' })` or a polluted `Object.prototype`
/// does not set options (a getter still runs, and may throw).
fn get(obj: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    if !has_own(obj, key) {
        return Ok(JsValue::UNDEFINED);
    }
    reflect_get(obj, key)
}

fn is_unset(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

fn string_opt(v: &JsValue, option: &str) -> Result<Option<String>, JsValue> {
    if is_unset(v) {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| type_error(option, "of type string", v))
}

/// A spec string, or an array (or typed array) of port numbers and/or spec
/// strings. Numbers must be integers in 1-65535, as in the Node.js API; a
/// mixed array is joined with commas into one specification.
// `push_str(",")` rather than `push(',')`: no UTF-8 encoding code in the module.
#[allow(clippy::single_char_add_str)]
fn spec_opt(v: JsValue, option: &str) -> Result<Spec, JsValue> {
    if is_unset(&v) {
        return Ok(Spec::Unset);
    }
    if let Some(s) = v.as_string() {
        return Ok(Spec::Text(s));
    }
    if !(is_array(&v) || is_view(&v)) {
        return Err(type_error(option, "a port specification string or an array of port numbers", &v));
    }
    let items = array_items(&v);
    // A mixed array becomes one specification string; numbers are checked
    // first either way, so that their errors do not depend on the mix.
    let mixed = items.iter().any(|item| item.is_string());
    let mut ports = Vec::with_capacity(if mixed { 0 } else { items.len() });
    let mut text = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(s) = item.as_string() {
            text.push_str(&s);
            text.push_str(",");
            continue;
        }
        let Some(x) = item.as_f64() else {
            return Err(type_error(
                &cat(&[option, "[", &number_text(&JsValue::from(i as u32)), "]"]),
                "a port number or a port specification string",
                &item,
            ));
        };
        if !((1.0..=65535.0).contains(&x) && x == (x as u16) as f64) {
            let why = if x == x.trunc() { "is outside 1-65535" } else { "is not an integer in 1-65535" };
            return Err(js_error(
                "ERR_PORT4ME_INVALID_PORT",
                Some(option),
                &cat(&["invalid port in ", option, ": ", &number_text(&item), " ", why]),
            ));
        }
        if mixed {
            text.push_str(&number_text(&item));
            text.push_str(",");
        } else {
            ports.push(x as u16);
        }
    }
    Ok(if mixed { Spec::Text(text) } else { Spec::Ports(ports) })
}

/// An integer in `min..=max`, or `default` when unset.
fn count_opt(v: &JsValue, option: &str, default: u64, min: f64, max: f64) -> Result<u64, JsValue> {
    if is_unset(v) {
        return Ok(default);
    }
    let x = v.as_f64().ok_or_else(|| type_error(option, "of type number", v))?;
    if !((min..=max).contains(&x) && x == (x as u64) as f64) {
        return Err(js_error(
            "ERR_PORT4ME_INVALID_NUMBER",
            Some(option),
            &cat(&[
                "The \"",
                option,
                "\" option must be an integer from ",
                &number_text(&JsValue::from_f64(min)),
                " to ",
                &number_text(&JsValue::from_f64(max)),
                ". Received ",
                &number_text(v),
            ]),
        ));
    }
    Ok(x as u64)
}

/// The first `n` candidate ports (default 1) for `options`, as a
/// `Uint16Array`. No port is probed: a browser cannot.
#[wasm_bindgen]
pub fn sequence(options: &SequenceOptions) -> Result<Vec<u16>, JsValue> {
    let o: &JsValue = options;
    if !o.is_object() {
        return Err(type_error_of("argument", "options", "an object", o));
    }
    for key in object_keys(o) {
        let key = key.as_string().unwrap_or_default();
        if !OPTION_KEYS.contains(&key.as_str()) {
            return Err(js_error(
                "ERR_INVALID_ARG_VALUE",
                Some(&key),
                &cat(&["unknown option \"", &key, "\" (sequence() accepts ", OPTION_LIST, ")"]),
            ));
        }
    }
    let user = get(o, "user")?;
    let user = user.as_string().ok_or_else(|| type_error("user", "of type string", &user))?;
    let opts = Options {
        user,
        tool: string_opt(&get(o, "tool")?, "tool")?,
        prepend: spec_opt(get(o, "prepend")?, "prepend")?,
        include: spec_opt(get(o, "include")?, "include")?,
        exclude: spec_opt(get(o, "exclude")?, "exclude")?,
        exclude_unsafe: spec_opt(get(o, "excludeUnsafe")?, "excludeUnsafe")?,
        skip: count_opt(&get(o, "skip")?, "skip", 0, 0.0, MAX_SAFE_INTEGER)?,
    };
    let n = count_opt(&get(o, "n")?, "n", 1, 1.0, MAX_N)? as usize;
    let resolved = plan::resolve(&opts).map_err(core_error)?;
    resolved.list(n).map_err(core_error)
}

/// The ports of a specification string, in order, without duplicates.
#[wasm_bindgen(js_name = parsePorts)]
pub fn parse_ports(#[wasm_bindgen(unchecked_param_type = "string")] spec: JsValue) -> Result<Vec<u16>, JsValue> {
    let s = spec.as_string().ok_or_else(|| type_error_of("argument", "spec", "of type string", &spec))?;
    plan::parse_ports(&s).map_err(core_error)
}

/// The ports browsers refuse to connect to, as `{ chrome, firefox }`: the
/// lists `{chrome}` and `{firefox}` expand to.
#[wasm_bindgen(js_name = unsafePorts)]
pub fn unsafe_ports() -> UnsafePorts {
    let obj = new_object();
    reflect_set(&obj, "chrome", &array_of(CHROME));
    reflect_set(&obj, "firefox", &array_of(FIREFOX));
    obj.unchecked_into()
}

/// The unsigned 32-bit Java-style hash of a string, by code point.
#[wasm_bindgen]
pub fn hash(#[wasm_bindgen(unchecked_param_type = "string")] s: JsValue) -> Result<u32, JsValue> {
    let s = s.as_string().ok_or_else(|| type_error_of("argument", "s", "of type string", &s))?;
    Ok(port4me_core::string_hash(&s))
}

/// The port4me version this module was built from.
#[wasm_bindgen]
pub fn version() -> String {
    port4me_core::VERSION.into()
}
