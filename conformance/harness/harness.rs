//! The conformance vectors for this project's Rust runners: one loader and
//! one matcher, so that the core, std and CLI runners enforce the same rules
//! (the error code and the `mentions` text of every error case included).
//! Each runner is a thin adapter: it maps a [`Case`] onto its API and
//! returns an [`Outcome`], or `None` when the case cannot be expressed there
//! (the reason goes to the report). Included with `#[path]` by
//! `crates/*/tests/conformance.rs`; the schema is in conformance/README.md.

#![allow(dead_code)] // each runner uses its own part

use serde_json::Value;

/// A number argument as the vectors give it: usually a count, but error
/// cases carry negative ones, which runners must pass on as text.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Count(u64),
    Other(String),
}

impl Number {
    pub fn text(&self) -> String {
        match self {
            Number::Count(n) => n.to_string(),
            Number::Other(s) => s.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Ports(Vec<u16>),
    Port(u16),
    Error { code: String, mentions: Option<String> },
}

/// One call: the explicit arguments, the environment, the expectation.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    /// `""` means "not given".
    pub user: String,
    pub tool: Option<String>,
    pub prepend: Option<String>,
    pub include: Option<String>,
    pub exclude: Option<String>,
    pub skip: Option<Number>,
    pub list: Option<Number>,
    /// The case's variables, to be set on top of
    /// `_PORT4ME_CHECK_AVAILABLE_PORTS_=any` in an otherwise clean environment.
    pub env: Option<Vec<(String, String)>>,
    /// Only for runners that take `user` literally, with no environment.
    pub core_only: bool,
    pub expect: Expect,
}

impl Case {
    /// The runner's whole environment for this case.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("_PORT4ME_CHECK_AVAILABLE_PORTS_".to_string(), "any".to_string())];
        pairs.extend(self.env.iter().flatten().cloned());
        pairs
    }

    /// List mode: a `list` argument, or a non-empty `PORT4ME_LIST`.
    pub fn list_mode(&self) -> bool {
        self.list.is_some() || self.env.iter().flatten().any(|(k, v)| k == "PORT4ME_LIST" && !v.trim().is_empty())
    }
}

/// What a runner got.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Ports(Vec<u16>),
    /// `code` is `None` where the runner cannot see one (then only the
    /// message is checked, and the report says so).
    Error {
        code: Option<String>,
        message: String,
    },
}

fn text(case: &Value, key: &str) -> Option<String> {
    case.get(key).map(|v| v.as_str().unwrap_or_else(|| panic!("{key} is not a string in {case}")).to_string())
}

fn number(v: &Value) -> Number {
    match v.as_u64() {
        Some(n) => Number::Count(n),
        None => Number::Other(v.to_string()),
    }
}

/// Every case of `conformance/vectors.json`.
pub fn load() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/vectors.json");
    let text_of = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let doc: Value = serde_json::from_str(&text_of).expect("vectors.json is valid JSON");
    doc["cases"]
        .as_array()
        .expect("vectors.json has a cases array")
        .iter()
        .map(|c| {
            let e = &c["expect"];
            let expect = if let Some(p) = e.get("ports") {
                Expect::Ports(serde_json::from_value(p.clone()).expect("ports are port numbers"))
            } else if let Some(p) = e.get("port") {
                Expect::Port(serde_json::from_value(p.clone()).expect("port is a port number"))
            } else if let Some(code) = e.get("error").and_then(Value::as_str) {
                Expect::Error { code: code.into(), mentions: e.get("mentions").and_then(Value::as_str).map(Into::into) }
            } else {
                panic!("unknown expectation in {c}")
            };
            Case {
                id: text(c, "id").expect("every case has an id"),
                user: text(c, "user").expect("every case has a user"),
                tool: text(c, "tool"),
                prepend: text(c, "prepend"),
                include: text(c, "include"),
                exclude: text(c, "exclude"),
                skip: c.get("skip").map(number),
                list: c.get("list").map(number),
                env: c.get("env").map(|env| {
                    env.as_object()
                        .expect("env is an object")
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().expect("env values are strings").to_string()))
                        .collect()
                }),
                core_only: c.get("layer").and_then(Value::as_str) == Some("core"),
                expect,
            }
        })
        .collect()
}

/// The one matcher: `None` when `got` is what `case` expects.
pub fn check(case: &Case, got: &Outcome) -> Option<String> {
    match (&case.expect, got) {
        (Expect::Ports(want), Outcome::Ports(p)) if want == p => None,
        (Expect::Port(want), Outcome::Ports(p)) if p == &[*want] => None,
        (Expect::Error { code, mentions }, Outcome::Error { code: got_code, message }) => {
            if got_code.as_ref().is_some_and(|c| c != code) {
                Some(format!("expected {code}, got {got_code:?}: {message}"))
            } else if mentions.as_ref().is_some_and(|m| !message.contains(m.as_str())) {
                Some(format!("the message {message:?} does not mention {mentions:?}"))
            } else {
                None
            }
        }
        (want, got) => Some(format!("expected {want:?}, got {got:?}")),
    }
}

/// Runs `run` over the cases `wanted` selects and fails with every
/// mismatch. `run` returns `None` for a case it cannot express. Also fails
/// when fewer than `min` cases ran, or when the runner saw no error code
/// for an error case (`codes_required`).
pub fn run_all(
    runner: &str,
    min: usize,
    codes_required: bool,
    wanted: impl Fn(&Case) -> bool,
    mut run: impl FnMut(&Case) -> Option<Outcome>,
) {
    let (mut ran, mut skipped, mut failures) = (0, 0, Vec::new());
    for case in load().iter().filter(|c| wanted(c)) {
        let Some(got) = run(case) else {
            skipped += 1;
            continue;
        };
        ran += 1;
        if codes_required && matches!(got, Outcome::Error { code: None, .. }) {
            failures.push(format!("{}: the runner saw no error code: {got:?}", case.id));
        } else if let Some(problem) = check(case, &got) {
            failures.push(format!("{}: {problem}", case.id));
        }
    }
    assert!(ran >= min, "{runner}: only {ran} cases ran (at least {min} expected)");
    assert!(failures.is_empty(), "{runner}: {} of {ran} cases failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{runner} conformance: {ran} passed, 0 failed, {skipped} skipped");
}
