//! Argument checks with Node's own codes and wording, for the methods that
//! take JavaScript values as they come (the registry groups).
//!
//! A wrong type is a `TypeError` with `ERR_INVALID_ARG_TYPE` ("The "n"
//! argument must be of type number. Received type string ('3')"), an
//! unknown option key is `ERR_INVALID_ARG_VALUE` naming the keys the call
//! accepts. napi-rs's own conversions would say "StringExpected" without
//! naming the argument, so these methods take [`Unknown`] values and check
//! them here. Values (ranges, names) are checked by the Rust crates.

use napi::bindgen_prelude::{Env, Function, JsObjectValue, JsValue, Object, Unknown};
use napi::ValueType;

use crate::errors::Failure;

/// Node's code for a value of the wrong type.
pub const ERR_INVALID_ARG_TYPE: &str = "ERR_INVALID_ARG_TYPE";
/// Node's code for a value of the right type that is not accepted.
pub const ERR_INVALID_ARG_VALUE: &str = "ERR_INVALID_ARG_VALUE";

/// The type an option must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Boolean,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
        }
    }

    fn of(t: ValueType) -> Option<Kind> {
        match t {
            ValueType::String => Some(Kind::String),
            ValueType::Number => Some(Kind::Number),
            ValueType::Boolean => Some(Kind::Boolean),
            _ => None,
        }
    }
}

/// A napi failure while looking at a value: a bug here, not bad input.
fn internal(e: napi::Error) -> Failure {
    Failure::new(crate::errors::ERR_INTERNAL, format!("cannot read an argument: {}", e.reason))
}

/// "argument" for `n`, "property" for `options.n` or `ports[0]`.
fn noun(name: &str) -> &'static str {
    if name.contains('.') || name.contains('[') {
        "property"
    } else {
        "argument"
    }
}

/// `String(v)` as JavaScript computes it.
fn js_string(env: &Env, v: &Unknown) -> napi::Result<String> {
    let string: Function<Unknown, String> = env.get_global()?.get_named_property("String")?;
    string.call(*v)
}

/// What Node's messages say a received value was: `type string ("3")`,
/// `an instance of Array`, `null`, `function f`.
pub fn describe(env: &Env, v: &Unknown) -> String {
    describe_or_err(env, v).unwrap_or_else(|_| "a value that cannot be shown".into())
}

fn describe_or_err(env: &Env, v: &Unknown) -> napi::Result<String> {
    let t = v.get_type()?;
    let shown = match t {
        ValueType::Null => return Ok("null".into()),
        ValueType::Undefined => return Ok("undefined".into()),
        ValueType::Function => {
            let f: Object = unsafe { v.cast()? };
            let name: Option<String> =
                f.get_named_property::<Unknown>("name")?.get_type().ok().and_then(|t| {
                    (t == ValueType::String).then(|| f.get_named_property::<String>("name").ok()).flatten()
                });
            let name = name.filter(|n| !n.is_empty()).unwrap_or_else(|| "<anonymous>".into());
            return Ok(format!("function {name}"));
        }
        ValueType::Object => {
            let o: Object = unsafe { v.cast()? };
            if o.is_array()? {
                return Ok("an instance of Array".into());
            }
            let ctor: Unknown = o.get_named_property("constructor")?;
            let name = match ctor.get_type()? {
                ValueType::Function => {
                    let c: Object = unsafe { ctor.cast()? };
                    let n: Unknown = c.get_named_property("name")?;
                    if n.get_type()? == ValueType::String {
                        Some(unsafe { n.cast::<String>()? })
                    } else {
                        None
                    }
                }
                _ => None,
            };
            return Ok(match name.filter(|n| !n.is_empty()) {
                Some(n) => format!("an instance of {n}"),
                None => "type object".into(),
            });
        }
        ValueType::String => {
            let s: String = unsafe { v.cast()? };
            json_string(&s)
        }
        ValueType::Number => {
            let n: f64 = unsafe { v.cast()? };
            if n == 0.0 && n.is_sign_negative() {
                "-0".into()
            } else {
                js_string(env, v)?
            }
        }
        // A BigInt: napi 4 has no type of its own for it.
        ValueType::Unknown => format!("{}n", js_string(env, v)?),
        _ => js_string(env, v)?,
    };
    let shown =
        if shown.chars().count() > 40 { format!("{}...", shown.chars().take(37).collect::<String>()) } else { shown };
    let type_name = match t {
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Unknown => "bigint",
        _ => "unknown",
    };
    Ok(format!("type {type_name} ({shown})"))
}

/// `JSON.stringify(s)` of a string.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `ERR_INVALID_ARG_TYPE`: `name` must be `expected`.
pub fn invalid_type(env: &Env, name: &str, expected: &str, v: &Unknown) -> Failure {
    Failure::new(
        ERR_INVALID_ARG_TYPE,
        format!("The \"{name}\" {} must be {expected}. Received {}", noun(name), describe(env, v)),
    )
}

/// `ERR_INVALID_ARG_VALUE`: `name` `message`.
pub fn invalid_value(name: &str, message: &str) -> Failure {
    Failure::new(ERR_INVALID_ARG_VALUE, format!("The \"{name}\" {} {message}", noun(name)))
}

fn is(v: &Unknown, kind: Kind) -> Result<bool, Failure> {
    Ok(Kind::of(v.get_type().map_err(internal)?) == Some(kind))
}

fn is_undefined(v: &Unknown) -> Result<bool, Failure> {
    Ok(v.get_type().map_err(internal)? == ValueType::Undefined)
}

/// A string argument.
pub fn string(env: &Env, v: &Unknown, name: &str) -> Result<String, Failure> {
    if !is(v, Kind::String)? {
        return Err(invalid_type(env, name, "of type string", v));
    }
    unsafe { v.cast::<String>() }.map_err(internal)
}

/// A number argument.
pub fn number(env: &Env, v: &Unknown, name: &str) -> Result<f64, Failure> {
    if !is(v, Kind::Number)? {
        return Err(invalid_type(env, name, "of type number", v));
    }
    unsafe { v.cast::<f64>() }.map_err(internal)
}

/// A string argument that may be left out (`undefined`).
pub fn optional_string(env: &Env, v: &Unknown, name: &str) -> Result<Option<String>, Failure> {
    if is_undefined(v)? {
        return Ok(None);
    }
    string(env, v, name).map(Some)
}

/// Whether `v` is a plain options object (not null, not an array).
pub fn is_object(v: &Unknown) -> Result<bool, Failure> {
    if v.get_type().map_err(internal)? != ValueType::Object {
        return Ok(false);
    }
    let o: Object = unsafe { v.cast() }.map_err(internal)?;
    Ok(!o.is_array().map_err(internal)?)
}

/// The options an options object gave, checked against what the call accepts.
pub struct Options {
    values: Vec<(&'static str, OptionValue)>,
}

/// One given option.
enum OptionValue {
    String(String),
    Number(f64),
    Boolean(bool),
}

impl Options {
    /// The string option `key`, if given.
    pub fn string(&self, key: &str) -> Option<String> {
        self.values.iter().find_map(|(k, v)| match v {
            OptionValue::String(s) if *k == key => Some(s.clone()),
            _ => None,
        })
    }

    /// The number option `key`, if given.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.values.iter().find_map(|(k, v)| match v {
            OptionValue::Number(n) if *k == key => Some(*n),
            _ => None,
        })
    }

    /// The boolean option `key`, `false` if not given.
    pub fn flag(&self, key: &str) -> bool {
        self.values.iter().any(|(k, v)| matches!(v, OptionValue::Boolean(true) if *k == key))
    }
}

/// Checks an options object of `function`: `undefined` (no options) or an
/// object whose own enumerable keys are all in `spec`, each `undefined` or of
/// its kind.
pub fn options(env: &Env, v: &Unknown, function: &str, spec: &[(&'static str, Kind)]) -> Result<Options, Failure> {
    let mut values = Vec::new();
    if is_undefined(v)? {
        return Ok(Options { values });
    }
    if !is_object(v)? {
        return Err(invalid_type(env, "options", "an object", v));
    }
    let object: Object = unsafe { v.cast() }.map_err(internal)?;
    for key in own_keys(env, &object).map_err(internal)? {
        let Some(&(key, kind)) = spec.iter().find(|(k, _)| *k == key) else {
            let accepted = spec.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
            return Err(invalid_value(
                "options",
                &format!("has an unknown property \"{key}\" ({function}() accepts {accepted})"),
            ));
        };
        let value: Unknown = object.get_named_property(key).map_err(internal)?;
        if is_undefined(&value)? {
            continue;
        }
        let name = format!("options.{key}");
        if !is(&value, kind)? {
            return Err(invalid_type(env, &name, &format!("of type {}", kind.name()), &value));
        }
        let value = match kind {
            Kind::String => OptionValue::String(unsafe { value.cast() }.map_err(internal)?),
            Kind::Number => OptionValue::Number(unsafe { value.cast() }.map_err(internal)?),
            Kind::Boolean => OptionValue::Boolean(unsafe { value.cast() }.map_err(internal)?),
        };
        values.push((key, value));
    }
    Ok(Options { values })
}

/// `Object.keys(object)`: own enumerable string keys, in order.
fn own_keys(env: &Env, object: &Object) -> napi::Result<Vec<String>> {
    let object_ctor: Unknown = env.get_global()?.get_named_property("Object")?;
    // A function: read it as the object it also is.
    let object_ctor: Object = unsafe { object_ctor.cast()? };
    let keys: Function<Unknown, Vec<String>> = object_ctor.get_named_property("keys")?;
    keys.call(object.to_unknown())
}
