#!/usr/bin/env python3
"""Generate and verify conformance/vectors.json (and probes.json, commands.json,
implementations.json) from the reference.

The reference is the PyPI package ``port4me`` 0.7.0 (installed into
conformance/.venv by conformance/setup-reference.sh). Every expected value in
vectors.json is computed here by *running that package*; nothing is taken from
the project's own implementations. implementations.json applies models of the
upstream Bash and R command lines (written from their source, checked by hand
against them) to every case; where they give ports, the ports come from the
reference too.

    python conformance/reference.py --write   # regenerate conformance/vectors.json
    python conformance/reference.py --check   # recompute everything and compare

How a case is run against the reference
---------------------------------------
* os.environ is cleaned (every PORT4ME_*, _PORT4ME_*, LOGNAME, USER, LNAME and
  USERNAME removed), ``_PORT4ME_CHECK_AVAILABLE_PORTS_=any`` is set (every
  probe answers "free"), then the case's ``env`` is applied.
* The case's ``prepend``/``include``/``exclude`` spec strings are handed to the
  reference through PORT4ME_PREPEND / PORT4ME_INCLUDE / PORT4ME_EXCLUDE, never
  as Python arguments: that way the reference combines them with the _SITE and
  _UNSAFE variables exactly as the SPEC says explicit arguments must.
* ``user`` and ``tool`` are Python arguments (user "" -> None, tool absent ->
  None); ``skip`` and ``list`` are Python arguments.
* The module is reloaded per case (it reads PORT4ME_EXCLUDE_UNSAFE_CHROME and
  _FIREFOX at import time).
* Hangs: the reference loops forever when no LCG value can ever pass its
  include/exclude filter. The LCG has period 65536, so a run that needs K
  candidates and has stepped the LCG more than 65537*(K+2) times can never
  finish; such runs (and, as a backstop, runs exceeding a wall-clock limit) are
  recorded as ``{"hang": true}``. The step counter wraps the reference's own
  ``lcg`` function without changing its results.

Divergence cases (see SPEC "Known divergences") record what the reference
really does under ``reference`` and compute the project's expected value from
the reference through an equivalent call, described in the case's note.
"""

import argparse
import importlib
import itertools
import json
import os
import random
import re
import signal
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VECTORS = os.path.join(HERE, "vectors.json")
DEFAULT_PROBES = os.path.join(HERE, "probes.json")
DEFAULT_COMMANDS = os.path.join(HERE, "commands.json")
DEFAULT_IMPLEMENTATIONS = os.path.join(HERE, "implementations.json")

REF_PACKAGE = "port4me"
REF_VERSION = "0.7.0"
FORMAT = 2
WALL_CLOCK_LIMIT = 120.0  # seconds; backstop only, the step counter detects hangs
CLI_WALL_CLOCK_LIMIT = 5.0  # seconds, for the in-process reference CLI (see run_reference_cli)

ERR_SPEC = "ERR_PORT4ME_INVALID_SPEC"
ERR_EMPTY_SET = "ERR_PORT4ME_EMPTY_SET"
ERR_NUMBER = "ERR_PORT4ME_INVALID_NUMBER"
ERR_EMPTY_SEED = "ERR_PORT4ME_EMPTY_SEED"
ERR_ENV = "ERR_PORT4ME_INVALID_ENV"
ERROR_CODES = {ERR_SPEC, ERR_EMPTY_SET, ERR_NUMBER, ERR_EMPTY_SEED, ERR_ENV}

GROUPS = ["anchor", "user", "tool", "nonascii", "prepend", "include", "exclude", "skip",
          "list", "unsafe", "tiny", "env", "error", "divergence"]
USER_VARS = ["LOGNAME", "USER", "LNAME", "USERNAME"]
CHECK_VAR = "_PORT4ME_CHECK_AVAILABLE_PORTS_"
SPEC_FIELDS = [("prepend", "PORT4ME_PREPEND"), ("include", "PORT4ME_INCLUDE"),
               ("exclude", "PORT4ME_EXCLUDE")]
CASE_KEYS = ["id", "note", "user", "tool", "prepend", "include", "exclude", "skip", "list",
             "env", "layer", "expect", "alternatives", "divergence", "reference"]

DESCRIPTION = (
    "Conformance vectors for port4me, computed by running the reference implementation "
    "(PyPI port4me 0.7.0) with conformance/reference.py. Each case gives the explicit "
    "arguments of one call (user, optional tool, prepend/include/exclude port-spec strings "
    "that replace only PORT4ME_PREPEND/PORT4ME_INCLUDE/PORT4ME_EXCLUDE, skip, list) and the "
    "complete set of relevant environment variables (env); runners start from an "
    "environment without PORT4ME_*, LOGNAME, USER, LNAME and USERNAME, set "
    "_PORT4ME_CHECK_AVAILABLE_PORTS_=any unless env sets it, then apply env. A case with "
    "neither list nor PORT4ME_LIST is a find where every probe answers free, so the "
    "expected port is the first candidate. expect is {ports}, {port} or {error: code, "
    "mentions?}. Runners without an environment (core, wasm) run only cases without env; "
    "environment-resolving runners (Rust std, CLI, Node) run every case except "
    "layer=core. Cases under divergence/ pin the project's behaviour where it deliberately "
    "differs from the reference, which is recorded under reference. expect is the "
    "contract's side of every question (see questions); alternatives maps the other sides "
    "(a side name, or several joined with +, one per question) to what an implementation "
    "taking them gives, also computed by running the reference. Command-line runner: "
    "conformance/run.py; schema: conformance/README.md; contract: conformance/SPEC.md."
)

# The questions on which the reference's own implementations (the Python package and CLI,
# the R package and its CLI, the Bash CLI) legitimately differ. Each has a "contract" side
# (what `expect` holds) and one or more others; "cli_contract" is the command line's side
# where SPEC section 8 differs from the API; "via" says whether the question arises when
# the inputs are flags/arguments, variables, or both, and a side's own "via" narrows that
# (the Python CLI keeps duplicates only in a prepend argument). A case's "alternatives"
# give the outcome for every combination of the non-contract sides of the questions that
# change its outcome. The sides are computed by running the reference on a model of each
# side (variant_outcome); they were checked against the upstream Bash and R CLIs by hand
# (README.md, "The reference's other command lines").
QUESTIONS = {
    "seed-encoding": {
        "question": "How a seed with non-ASCII characters is hashed (SPEC section 2)",
        "sides": {
            "code-points": {"means": "one hash step per Unicode code point (scalar value)",
                            "taken_by": ["Python reference (API and CLI)", "Bash CLI in a UTF-8 "
                                         "locale", "this project"]},
            "utf8-bytes": {"means": "one hash step per byte of the seed's UTF-8 encoding",
                           "taken_by": ["R package", "Bash CLI in the C locale"]},
        },
        "contract": "code-points",
        "via": ["flags", "env"],
    },
    "user-variables": {
        "question": "Where the user comes from when none is given and PORT4ME_USER is unset "
                    "(SPEC section 1)",
        "sides": {
            "login-variables": {"means": "the first non-empty of LOGNAME, USER, LNAME, USERNAME, "
                                         "then the account's name",
                                "taken_by": ["Python reference (API and CLI)", "this project"]},
            "user-variable": {"means": "USER alone; with USER unset or empty the seed cannot be "
                                       "built and the sequence starts from hash 0 (tool ignored)",
                              "taken_by": ["Bash CLI"]},
            "account-name": {"means": "the name of the account the process runs as; no variable "
                                      "(the kit compares with the same command given that name)",
                             "taken_by": ["R package"]},
        },
        "contract": "login-variables",
        "via": ["flags", "env"],
    },
    "explicit-spec-lists": {
        "question": "Whether a prepend/include/exclude argument replaces only PORT4ME_PREPEND/"
                    "_INCLUDE/_EXCLUDE, the _SITE variables and PORT4ME_EXCLUDE_UNSAFE still "
                    "applying (SPEC section 6)",
        "sides": {
            "keeps-site-unsafe": {"means": "the argument replaces the user-level variable only",
                                  "taken_by": ["Bash CLI", "this project"]},
            "drops-site-unsafe": {"means": "the argument is the whole list: no _SITE, and no "
                                           "unsafe ports for exclude",
                                  "taken_by": ["Python reference (API and CLI)", "R package"]},
        },
        "contract": "keeps-site-unsafe",
        "via": ["flags"],
    },
    "prepend-duplicates": {
        "question": "Whether duplicates in the prepend list are dropped, the first occurrence "
                    "keeping its place (SPEC section 5)",
        "sides": {
            "drops-duplicates": {"means": "each port once, at its first place",
                                 "taken_by": ["this project", "R package",
                                              "Python reference from PORT4ME_PREPEND"]},
            "keeps-duplicates": {"means": "a prepend argument's items as given, repeats included",
                                 "taken_by": ["Python reference (argument and CLI)"],
                                 "via": ["flags"]},
            "drops-adjacent-items": {"means": "an item (as written) equal to the one before it "
                                              "dropped, nothing else: PORT4ME_PREPEND (or the "
                                              "argument) then PORT4ME_PREPEND_SITE",
                                     "taken_by": ["Bash CLI"]},
        },
        "contract": "drops-duplicates",
        "via": ["flags", "env"],
    },
    "trailing-commas": {
        "question": "How the seed is built from user and tool (SPEC section 1)",
        "sides": {
            "joins-non-empty": {"means": "the non-empty parts of [user, tool] joined with ','",
                                "taken_by": ["this project", "R package"]},
            "strips-trailing-commas": {"means": "(user + ',' + tool) with trailing commas "
                                                "removed, so user 'alice,' is seed 'alice'",
                                       "taken_by": ["Python reference (API and CLI)"]},
            "strips-one-comma": {"means": "(user + ',' + tool) with one trailing comma removed, "
                                          "so tool ',' gives seed 'alice,'",
                                 "taken_by": ["Bash CLI"]},
        },
        "contract": "joins-non-empty",
        "via": ["flags", "env"],
    },
    "empty-variables": {
        "question": "What a variable set to the empty string means (PORT4ME_USER, PORT4ME_SKIP, "
                    "PORT4ME_EXCLUDE_UNSAFE and its _CHROME/_FIREFOX lists; SPEC section 6)",
        "sides": {
            "empty-is-unset": {"means": "PORT4ME_USER='' falls back to LOGNAME...; "
                                        "PORT4ME_SKIP='' is no skip; a spec variable '' is an "
                                        "empty list",
                               "taken_by": ["this project"]},
            "empty-is-value": {"means": "PORT4ME_USER='' is the user ''; PORT4ME_SKIP='' is "
                                        "an invalid number; a spec variable '' is an empty list",
                               "taken_by": ["Python reference (API and CLI)", "R package"]},
            "empty-is-default": {"means": "every empty variable is unset, so "
                                          "PORT4ME_EXCLUDE_UNSAFE='' and an empty _CHROME or "
                                          "_FIREFOX list give their defaults",
                                 "taken_by": ["Bash CLI"]},
        },
        "contract": "empty-is-unset",
        "via": ["flags", "env"],
    },
    "empty-tool-argument": {
        "question": "Whether an empty tool argument counts as given, so that PORT4ME_TOOL does "
                    "not apply (SPEC sections 1 and 8)",
        "sides": {
            "empty-tool-given": {"means": "tool '' is a tool: no tool in the seed, "
                                          "PORT4ME_TOOL ignored",
                                 "taken_by": ["this project's API", "Python reference API",
                                              "R package (API and CLI)"]},
            "empty-tool-unset": {"means": "--tool= is as if not given: PORT4ME_TOOL applies",
                                 "taken_by": ["Python reference CLI", "this project's CLIs"]},
        },
        "contract": "empty-tool-given",
        "cli_contract": "empty-tool-unset",
        "via": ["flags"],
    },
}
QUESTION_ORDER = list(QUESTIONS)
SIDE_QUESTION = {side: q for q, d in QUESTIONS.items() for side in d["sides"]}
OTHER_SIDES = {q: [s for s in d["sides"] if s != d["contract"]] for q, d in QUESTIONS.items()}


def side_arises(side, via):
    q = QUESTIONS[SIDE_QUESTION[side]]
    return via in q["sides"][side].get("via", q["via"])


# The sides the Python reference CLI (python -m port4me 0.7.0) takes; --check runs it through
# the kit's own judge with these declared, and every case must pass or be explained.
PYTHON_CLI_SIDES = ["code-points", "login-variables", "drops-site-unsafe", "keeps-duplicates",
                    "strips-trailing-commas", "empty-is-value", "empty-tool-unset"]


# --------------------------------------------------------------------------------------
# Running the reference
# --------------------------------------------------------------------------------------

class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang("wall clock")


def _count_lcg_steps(mod, needed):
    """Wraps the reference's `lcg` with a step counter: the LCG has period 65536, so a
    call that needs `needed` candidates and has stepped more than 65537 * (needed + 2)
    times can never finish, and raises _Hang instead. Returns the original `lcg`."""
    budget = 65537 * (needed + 2)
    orig_lcg = mod.lcg
    steps = [0]

    def counting_lcg(seed, *args, **kwargs):
        steps[0] += 1
        if steps[0] > budget:
            raise _Hang("lcg budget")
        return orig_lcg(seed, *args, **kwargs)

    mod.lcg = counting_lcg
    return orig_lcg


def _import_reference():
    try:
        import importlib.metadata as md
        version = md.version(REF_PACKAGE)
    except Exception as e:  # pragma: no cover
        sys.exit(f"reference.py: Error: cannot find the {REF_PACKAGE} package ({e}); "
                 "run conformance/setup-reference.sh and use conformance/.venv/bin/python")
    if version != REF_VERSION:
        sys.exit(f"reference.py: Error: {REF_PACKAGE} {version} is installed, need {REF_VERSION}")
    _clean_environ()
    mod = importlib.import_module(REF_PACKAGE)
    if getattr(mod, "__version__", None) != REF_VERSION:
        sys.exit(f"reference.py: Error: imported {mod.__file__} reports version "
                 f"{getattr(mod, '__version__', None)}, need {REF_VERSION}")
    return mod


_REF = None


def _ref():
    global _REF
    if _REF is None:
        _REF = _import_reference()
    return _REF


def _clean_environ():
    for k in list(os.environ):
        if k.startswith("PORT4ME_") or k.startswith("_PORT4ME_") or k in USER_VARS:
            del os.environ[k]


def _int_or(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def make_call(case):
    """The reference call for a case's literal inputs (the 'env path')."""
    return {
        "user": case["user"], "tool": case.get("tool"),
        "prepend": case.get("prepend"), "include": case.get("include"),
        "exclude": case.get("exclude"),
        "skip": case.get("skip"), "list": case.get("list"),
        "env": dict(case.get("env", {})), "pyargs": {}, "seed": None,
    }


def run_reference(call):
    """Run one call of the reference; return an outcome dict.

    {"ports": [...]}, {"port": n}, {"error": "Type: message", "code": mapped-or-None}
    or {"hang": True}.
    """
    mod = _ref()
    _clean_environ()
    if not call.get("real_probes"):
        os.environ[CHECK_VAR] = "any"
    os.environ.update(call["env"])
    for field, var in SPEC_FIELDS:
        if call[field] is not None:
            os.environ[var] = call[field]
    mod = importlib.reload(mod)

    # Number of candidates the call needs, for the hang budget.
    skip = call["skip"] if call["skip"] is not None else _int_or(os.environ.get("PORT4ME_SKIP", "0"), 0)
    lst = call["list"] if call["list"] is not None else _int_or(os.environ.get("PORT4ME_LIST"), 1)
    _count_lcg_steps(mod, max(skip, 0) + max(lst, 1))

    if call["seed"] is not None:
        seed_string = call["seed"]

        def seeded_unfiltered(tool=None, user=None):
            # The reference's own pipeline, with its seed step replaced by the SPEC seed
            # string; hash and LCG are the reference's uint_hash() and lcg().
            port = mod.uint_hash(seed_string)
            while True:
                port = mod.lcg(port)
                yield port

        mod.port4me_gen_unfiltered = seeded_unfiltered

    kwargs = dict(tool=call["tool"], user=call["user"] or None,
                  skip=call["skip"], list=call["list"])
    kwargs.update(call["pyargs"])
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, WALL_CLOCK_LIMIT)
    try:
        if call.get("pyargs_fn") is not None:
            # Python arguments built with the reference's own parser (after the reload, so
            # {chrome}/{firefox} follow the case's variables).
            kwargs.update(call["pyargs_fn"](mod))
        result = mod.port4me(**kwargs)
    except _Hang as e:
        if str(e) == "wall clock":
            print(f"reference.py: warning: wall-clock limit hit for {call!r}", file=sys.stderr)
        return {"hang": True}
    except Exception as e:  # the reference's own errors
        return {"error": f"{type(e).__name__}: {e}", "code": _map_error(e)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        _clean_environ()
    if isinstance(result, list):
        return {"ports": [int(p) for p in result]}
    if isinstance(result, bool) or not isinstance(result, int):
        raise RuntimeError(f"unexpected reference result {result!r} for {call!r}")
    return {"port": result}


def _map_error(e):
    msg = str(e)
    if isinstance(e, AssertionError):
        return ERR_NUMBER  # skip/list range assertions
    if isinstance(e, ValueError):
        if "invalid port in environment variable" in msg:
            return ERR_SPEC
        if CHECK_VAR in msg:
            return ERR_ENV
        if "invalid literal for int()" in msg:
            return ERR_NUMBER  # int(PORT4ME_SKIP) / int(PORT4ME_LIST)
    return None


def public_outcome(outcome):
    """An outcome as recorded in a case's "reference" field."""
    if "error" in outcome:
        return {"error": outcome["error"]}
    return dict(outcome)


# --------------------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------------------

class Def:
    """One case definition: literal inputs plus how to compute its expectation."""

    def __init__(self, id, user, note=None, tool=None, prepend=None, include=None,
                 exclude=None, skip=None, list=None, env=None, layer=None,
                 error=None, why=None, expected_call=None, reference_call=None):
        self.inputs = {"id": id, "user": user}
        if note is not None:
            self.inputs["note"] = note
        for k, v in (("tool", tool), ("prepend", prepend), ("include", include),
                     ("exclude", exclude), ("skip", skip), ("list", list)):
            if v is not None:
                self.inputs[k] = v
        if env is not None:
            self.inputs["env"] = dict(env)
        if layer is not None:
            self.inputs["layer"] = layer
        self.error = error              # (code, mentions-or-None): the project expects an error
        self.why = why                  # divergence explanation (required for divergences)
        self.expected_call = expected_call    # dict of overrides -> equivalent reference call
        self.reference_call = reference_call  # dict of overrides -> what the reference "really" does


DEFS = []


def add(*args, **kwargs):
    d = Def(*args, **kwargs)
    DEFS.append(d)
    return d


def diverge(id, user, why, **kwargs):
    assert id.startswith("divergence/"), id
    return add(id, user, why=why, **kwargs)


def spec_seed(user, tool):
    """SPEC section 1: the non-empty parts of [user, tool] joined with ","."""
    return ",".join(p for p in (user, tool or "") if p)


# ---- anchor: SPEC section 9 -------------------------------------------------------------

ANCHORS = [
    ("alice-list-10", dict(user="alice", list=10),
     {"ports": [30845, 19654, 32310, 63992, 15273, 31420, 62779, 55372, 24143, 41300]}),
    ("bob-list-5", dict(user="bob", list=5), {"ports": [54242, 4930, 42139, 14723, 55707]}),
    ("carol", dict(user="carol"), {"port": 34307}),
    ("alice-rstudio", dict(user="alice", tool="rstudio"), {"port": 22486}),
    ("alice-jupyter-notebook", dict(user="alice", tool="jupyter-notebook"), {"port": 29525}),
    ("alice-exclude", dict(user="alice", exclude="30845,32310"), {"port": 19654}),
    ("alice-include", dict(user="alice", include="2000-2123,4321,10000-10999"), {"port": 10451}),
    ("alice-include-1-1023", dict(user="alice", include="1-1023"), {"port": 470}),
    ("alice-include-1-1023-exclude", dict(user="alice", include="1-1023", exclude="470,403"),
     {"port": 859}),
    ("alice-prepend-include", dict(user="alice", prepend="2000-2009", include="1-1023"),
     {"port": 2000}),
    ("alice-prepend-list-5", dict(user="alice", prepend="4321,11001", list=5),
     {"ports": [4321, 11001, 30845, 19654, 32310]}),
    ("alice-skip-2", dict(user="alice", skip=2), {"port": 32310}),
    ("alice-list-3-skip-2", dict(user="alice", list=3, skip=2), {"ports": [32310, 63992, 15273]}),
    ("bob-list-2-skip-1-exclude", dict(user="bob", list=2, skip=1, exclude="54242,14723"),
     {"ports": [42139, 55707]}),
]
SPEC_TABLE = {}
for _name, _kw, _val in ANCHORS:
    add("anchor/" + _name, note="SPEC section 9", **_kw)
    SPEC_TABLE["anchor/" + _name] = _val

# ---- user -------------------------------------------------------------------------------

def _long(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


_rng_users = random.Random(20240101)
ASCII_USERS = [
    ("alice", "alice"), ("bob", "bob"), ("carol", "carol"), ("dave", "dave"), ("eve", "eve"),
    ("mallory", "mallory"), ("trent", "trent"), ("root", "root"), ("admin", "admin"),
    ("jdoe", "jdoe"), ("dotted", "h.bengtsson"), ("underscore-digits", "user_01"),
    ("single-char", "x"), ("two-chars", "ab"), ("capitalised", "Alice"), ("uppercase", "ALICE"),
    ("digits", "12345"), ("zero", "0"), ("leading-zeros", "007"), ("inner-space", "user 1"),
    ("leading-space", " alice"), ("trailing-space", "alice "), ("spaces", "a b c"),
    ("comma-inside", "a,b"), ("leading-comma", ",alice"), ("email", "alice@example.org"),
    ("backslash", "DOMAIN\\user"), ("apostrophe", "o'brien"), ("tab", "tab\tuser"),
    ("newline", "new\nline"), ("dash", "-"), ("brace-token", "{chrome}"), ("percent", "%USER%"),
]
LONG_USERS = [
    ("long-a-1000", "a" * 1000),
    ("long-x999y", "x" * 999 + "y"),
    ("long-random-1000", _long(_rng_users, string.ascii_letters, 1000)),
    ("long-digits-1000", _long(_rng_users, string.digits, 1000)),
    ("long-printable-1000", _long(_rng_users, string.ascii_letters + string.digits + " -_.,", 1000)),
    ("long-256", _long(_rng_users, string.ascii_lowercase, 256)),
]


def _slug(s):
    """A readable id fragment for an ASCII string."""
    words = {" ": "-", ",": "-comma-", "\t": "-tab-", "\n": "-newline-", ".": "-dot-",
             "_": "-underscore-", "-": "-", "{": "-lbrace-", "}": "-rbrace-"}
    out = "".join(ch.lower() if ch.isascii() and ch.isalnum() else words.get(ch, "-x-") for ch in s)
    return "-".join(filter(None, out.split("-")))


for name, u in ASCII_USERS:
    add(f"user/{name}", u)
for name, u in ASCII_USERS[:3] + [ASCII_USERS[16], ASCII_USERS[20], ASCII_USERS[23]]:
    add(f"user/{name}-list-5", u, list=5)
for name, u in LONG_USERS:
    add(f"user/{name}", u, note=f"{len(u)}-character user")
    add(f"user/{name}-list-5", u, list=5, note=f"{len(u)}-character user")
add("user/comma-inside-equals-user-tool", "a,b", tool="c",
    note="seed 'a,b,c', the same as user 'a' + tool 'b,c' (next case)")
add("user/comma-inside-equals-user-tool-2", "a", tool="b,c", note="seed 'a,b,c'")
add("user/empty-user-tool-only", "", tool="rstudio", layer="core",
    expected_call={"seed": "rstudio"},
    note="core takes user literally: seed is 'rstudio' (SPEC 1, non-empty parts). The "
         "reference cannot be given an empty user, so the expected value is the reference "
         "pipeline on seed 'rstudio' (same as reference user='rstudio', no tool)")

# ---- tool -------------------------------------------------------------------------------

TOOLS = ["rstudio", "jupyter", "jupyter-notebook", "jupyterlab", "vite", "vscode", "code-server",
         "tensorboard", "shiny", "streamlit", "dask", "ray", "mlflow", "http.server", "R", "node",
         "a b", "x" * 200, "8080"]
for t in TOOLS:
    add(f"tool/alice-{_slug(t) if len(t) < 40 else 'x-200'}", "alice", tool=t)
for u in ["bob", "carol"]:
    for t in ["rstudio", "jupyter", "vite"]:
        add(f"tool/{u}-{t}", u, tool=t)
add("tool/empty-string", "alice", tool="",
    note="an empty tool adds nothing to the seed: same as no tool (30845)")
add("tool/empty-string-list-5", "bob", tool="", list=5)
add("tool/rstudio-list-10", "alice", tool="rstudio", list=10)
add("tool/vite-list-10", "bob", tool="vite", list=10)
add("tool/leading-comma", "alice", tool=",rstudio", note="seed 'alice,,rstudio'")

# ---- nonascii ---------------------------------------------------------------------------

NONASCII = [
    ("jose-precomposed", "Jos\u00e9"),
    ("jose-combining", "Jose\u0301"),
    ("zoe", "Zo\u00eb"),
    ("aero", "\u00c6r\u00f8"),
    ("lukasz", "\u0141ukasz"),
    ("nandu", "\u00d1and\u00fa"),
    ("eszett", "stra\u00dfe"),
    ("istanbul", "\u0130stanbul"),
    ("greek", "\u0395\u03bb\u03ad\u03bd\u03b7"),
    ("cyrillic", "\u0414\u043c\u0438\u0442\u0440\u0438\u0439"),
    ("cjk-tanaka", "\u7530\u4e2d"),
    ("cjk-yamada-taro", "\u5c71\u7530\u592a\u90ce"),
    ("hangul", "\uae40\ubbfc\uc900"),
    ("arabic", "\u0645\u062d\u0645\u062f"),
    ("hebrew", "\u05e9\u05dc\u05d5\u05dd"),
    ("devanagari", "\u0939\u093f\u0928\u094d\u0926\u0940"),
    ("thai", "\u0e44\u0e17\u0e22"),
    ("ligature-fi", "\ufb01le"),
    ("zero-width-space", "al\u200bice"),
    ("nbsp", "al\u00a0ice"),
    ("bom", "\ufeffalice"),
    ("bmp-max", "a\uffffb"),
    ("emoji-grinning", "\U0001F600"),
    ("emoji-in-name", "a\U0001F600b"),
    ("emoji-zwj-technologist", "\U0001F469\u200d\U0001F4BB"),
    ("fraktur-astral", "\U0001D518\U0001D52B\U0001D526"),
    ("astral-max", "\U0010FFFF"),
    ("cjk-ext-b", "\U00020000\U0002A6D6"),
]
for name, u in NONASCII:
    cps = " ".join("U+%04X" % ord(c) for c in u)
    add(f"nonascii/{name}", u, note=f"code points {cps}")
add("nonascii/tool-katakana", "alice", tool="\u30c4\u30fc\u30eb", note="tool U+30C4 U+30FC U+30EB")
add("nonascii/both", "\u00c5sa", tool="caf\u00e9", list=5, note="user U+00C5 s a, tool c a f U+00E9")
add("nonascii/emoji-list-5", "\U0001F600", list=5, note="one astral code point U+1F600")

# ---- prepend ----------------------------------------------------------------------------

add("prepend/single-find", "alice", prepend="4321", note="the first prepended port is returned")
add("prepend/single-list-3", "alice", prepend="4321", list=3)
add("prepend/range-list-12", "bob", prepend="2000-2009", list=12)
add("prepend/order-kept", "alice", prepend="11001,4321", list=4, note="prepend keeps the given order")
add("prepend/whitespace-separated", "alice", prepend="8080 8888\t9000", list=4)
add("prepend/empty-items", "alice", prepend=" ,4321,, ,11001, ", list=4)
add("prepend/duplicates-dropped", "alice", prepend="4321,4321,11001,4321", list=5,
    note="duplicates are dropped, first occurrence keeps its place")
add("prepend/range-overlap-dropped", "alice", prepend="2000-2003,2002-2005", list=8)
add("prepend/not-filtered-by-include", "alice", prepend="80", include="10000-10999", list=3,
    note="prepended ports ignore include")
add("prepend/not-filtered-by-exclude", "alice", prepend="4321", exclude="4321", list=3,
    note="prepended ports ignore exclude")
add("prepend/unsafe-port-not-filtered", "alice", prepend="6000,10080", list=4,
    note="prepended ports ignore the unsafe list too")
add("prepend/repeats-lcg-value", "alice", prepend="30845", list=3,
    note="a prepended port is not removed from the LCG part: 30845 comes twice")
add("prepend/counted-by-skip", "alice", prepend="4321,11001", skip=1, list=3)
add("prepend/skipped-entirely", "alice", prepend="4321,11001", skip=2)
add("prepend/skip-past", "alice", prepend="4321,11001", skip=5, list=2)
add("prepend/port-1", "alice", prepend="1", list=2)
add("prepend/port-65535", "alice", prepend="65535", list=2)
add("prepend/token-firefox", "alice", prepend="{firefox}", list=10)
add("prepend/token-chrome-then-firefox", "alice", prepend="{chrome},{firefox}", list=100,
    note="the union in order: chrome's 80 ports (firefox's list adds none), then the LCG")
add("prepend/empty-string", "alice", prepend="", list=3, note="an empty spec prepends nothing")
add("prepend/surrounding-whitespace", "alice", prepend=" 4321 ", list=2,
    note="surrounding whitespace is a separator, not part of the item")
add("include/surrounding-whitespace", "alice", include="\t8000-8999\n", list=3)
add("prepend/tool", "alice", tool="rstudio", prepend="8787", list=3)

_rng = random.Random(4001)
PREPEND_POOL = ["4321", "4321,11001", "2000-2009", "8080 8888", "11001,4321", "30845", "65535",
                "1023,1024", "5000-5002 6000", "49152", "3000,3000,3001"]
for i in range(14):
    user = _rng.choice(["alice", "bob", "carol", "dave", "eve", "trent"])
    kw = dict(prepend=_rng.choice(PREPEND_POOL))
    if _rng.random() < 0.4:
        kw["tool"] = _rng.choice(["rstudio", "jupyter", "vite"])
    if _rng.random() < 0.4:
        kw["skip"] = _rng.choice([0, 1, 2, 3, 5])
    if _rng.random() < 0.7:
        kw["list"] = _rng.choice([1, 2, 3, 5, 10])
    if _rng.random() < 0.3:
        kw["include"] = _rng.choice(["1024-2048", "8000-8999", "20000-29999"])
    add(f"prepend/grid-{i:02d}", user, **kw)

# ---- include ----------------------------------------------------------------------------

add("include/single-range-list-10", "alice", include="8000-8999", list=10)
add("include/several-items", "alice", include="3000 3001 3002 5000-5100", list=10)
add("include/full-range", "alice", include="1-65535", list=10,
    note="ports below 1024 become possible")
add("include/default-explicit", "alice", include="1024-65535", list=10,
    note="same as the default include")
add("include/empty-string", "alice", include="", list=5, note="an empty spec means the default")
add("exclude/lone-zero", "alice", exclude="0", list=5,
    note="a lone 0 in exclude changes nothing")
add("include/empty-items", "alice", include=",, 8000-8999 ,,", list=5)
add("include/high-ports", "bob", include="49152-65535", list=10)
add("include/port-65535", "alice", include="65000-65535", list=10)
add("include/with-exclude", "alice", include="8000-8999", exclude="8000-8499", list=10)
add("include/token-firefox-unsafe-off", "alice", include="{firefox}", list=5,
    env={"PORT4ME_EXCLUDE_UNSAFE": ""}, note="a token inside include (unsafe exclusion off)")

_rng = random.Random(4002)
INCLUDE_POOL = ["2000-2123,4321,10000-10999", "1024-2048", "8000-8999", "20000-29999", "1-1023",
                "49152-65535", "3000 3001 3002 5000-5100", "40000-40099,50000-50099",
                "1024-65535", "1-65535", "5000-5010", "10000-10999,20000-20999,30000-30999"]
EXCLUDE_POOL = ["30845", "30845,32310", "8000-8499", "1024-30000", "20000-24999",
                "50000-65535", "{chrome}", "{firefox}", "6000-6100", "2000-2050", "1-1023",
                "5000-5005", "40000-40049"]


def _nonempty(include, exclude):
    """Whether include minus exclude minus unsafe has a port (uses the reference's parser)."""
    _clean_environ()
    mod = importlib.reload(_ref())
    inc = set(mod.parse_ports(include)) or set(range(1024, 65536))
    exc = set(mod.parse_ports(exclude or "")) | set(mod.parse_ports("{chrome},{firefox}"))
    return bool(inc - exc)


for i in range(24):
    user = _rng.choice(["alice", "bob", "carol", "dave", "eve", "mallory", "h.bengtsson"])
    while True:
        inc = _rng.choice(INCLUDE_POOL)
        exc = _rng.choice(EXCLUDE_POOL) if _rng.random() < 0.5 else None
        if _nonempty(inc, exc):
            break
    kw = dict(include=inc)
    if exc is not None:
        kw["exclude"] = exc
    if _rng.random() < 0.3:
        kw["tool"] = _rng.choice(["rstudio", "jupyter", "vite", "shiny"])
    if _rng.random() < 0.3:
        kw["skip"] = _rng.choice([1, 2, 5, 10])
    if _rng.random() < 0.6:
        kw["list"] = _rng.choice([1, 3, 5, 10, 20])
    add(f"include/grid-{i:02d}", user, **kw)

# ---- exclude ----------------------------------------------------------------------------

add("exclude/first-candidate", "alice", exclude="30845", note="alice's first candidate excluded")
add("exclude/first-two", "alice", exclude="30845,19654", list=3)
add("exclude/range", "alice", exclude="30000-33000", list=5)
add("exclude/large-range", "bob", exclude="1024-50000", list=10)
add("exclude/whitespace", "alice", exclude="30845 19654\t32310", list=3)
add("exclude/empty-string", "alice", exclude="", list=3,
    note="an empty exclude argument; the unsafe list still applies")
add("exclude/token-chrome", "alice", exclude="{chrome}", list=5,
    note="redundant with the default unsafe list")
add("exclude/prepend-unaffected", "bob", prepend="54242", exclude="54242", list=3)

_rng = random.Random(4003)
for i in range(16):
    user = _rng.choice(["alice", "bob", "carol", "dave", "eve", "root"])
    exc = _rng.choice(EXCLUDE_POOL)
    kw = dict(exclude=exc)
    if _rng.random() < 0.3:
        kw["tool"] = _rng.choice(["rstudio", "jupyter", "vite"])
    if _rng.random() < 0.3:
        kw["skip"] = _rng.choice([1, 2, 4])
    if _rng.random() < 0.7:
        kw["list"] = _rng.choice([1, 2, 5, 10])
    add(f"exclude/grid-{i:02d}", user, **kw)

# ---- skip -------------------------------------------------------------------------------

for s in [0, 1, 2, 3, 10, 100, 1000]:
    add(f"skip/alice-{s}", "alice", skip=s)
add("skip/alice-0-list-3", "alice", skip=0, list=3)
add("skip/bob-5-list-5", "bob", skip=5, list=5)
add("skip/large-65000", "alice", skip=65000, list=3,
    note="skipping ~one period of the default include: tests skip is applied to candidates")
_rng = random.Random(4004)
for i in range(10):
    user = _rng.choice(["alice", "bob", "carol", "dave", "x"])
    kw = dict(skip=_rng.choice([1, 2, 3, 7, 20, 50]))
    if _rng.random() < 0.5:
        kw["list"] = _rng.choice([1, 2, 5])
    if _rng.random() < 0.3:
        kw["include"] = _rng.choice(["1-1023", "8000-8999", "2000-2123,4321,10000-10999"])
    if _rng.random() < 0.3:
        kw["prepend"] = _rng.choice(["4321", "4321,11001", "2000-2004"])
    add(f"skip/grid-{i:02d}", user, **kw)

# ---- list -------------------------------------------------------------------------------

add("list/alice-1", "alice", list=1)
add("list/alice-1000", "alice", list=1000, note="a long list")
add("list/bob-300", "bob", list=300, note="a long list")
add("list/carol-50", "carol", list=50)
add("list/include-1-1023-50", "alice", include="1-1023", list=50)
add("list/tool-50", "alice", tool="jupyter", list=50)
add("list/wrap-3-of-7", "alice", include="2000-2002", list=7,
    note="a 3-port set repeats with period 3 (the LCG visits each value once per period)")
add("list/wrap-single-port", "bob", include="2000", list=3, note="a 1-port set repeats")
add("list/wrap-with-skip", "carol", include="2000-2002", skip=2, list=5)
add("list/wrap-with-prepend", "alice", prepend="2001", include="2000-2002", list=5,
    note="the prepended port is not removed from the cycle")
for u in ["dave", "eve", "mallory", "trent", "h.bengtsson"]:
    add(f"list/{_slug(u)}-20", u, list=20)

# ---- unsafe -----------------------------------------------------------------------------

for u in ["alice", "bob", "carol", "dave", "eve"]:
    add(f"unsafe/include-1-1023-{u}-20", u, include="1-1023", list=20,
        note="low ports: the default unsafe list is removed")
add("unsafe/carol-first-unsafe", "carol", include="1-1023",
    note="carol's first LCG port in 1-1023 is 465 (unsafe): it is skipped")
for u in ["alice", "bob", "carol"]:
    add(f"unsafe/include-6000-6700-{u}-20", u, include="6000-6700", list=20,
        note="6000, 6566, 6665-6669, 6697 are unsafe")
add("unsafe/include-10000-10100-20", "alice", include="10000-10100", list=20,
    note="10080 is unsafe")
add("unsafe/include-1-1023-unsafe-off", "carol", include="1-1023", list=10,
    env={"PORT4ME_EXCLUDE_UNSAFE": ""}, note="PORT4ME_EXCLUDE_UNSAFE='' turns the unsafe list off")
add("unsafe/include-10080-unsafe-off", "alice", include="10080", list=2,
    env={"PORT4ME_EXCLUDE_UNSAFE": ""})
add("unsafe/include-6665-6669-unsafe-off", "bob", include="6665-6669", list=6,
    env={"PORT4ME_EXCLUDE_UNSAFE": ""})
add("unsafe/chrome-only", "alice", include="1-1023", list=20,
    env={"PORT4ME_EXCLUDE_UNSAFE": "{chrome}"})
add("unsafe/firefox-only", "alice", include="1-1023", list=20,
    env={"PORT4ME_EXCLUDE_UNSAFE": "{firefox}"})
add("unsafe/include-chrome-exclude-firefox", "alice", include="{chrome}", list=10,
    env={"PORT4ME_EXCLUDE_UNSAFE": "{firefox}"},
    note="ports blocked by Chrome but not by Firefox")
add("unsafe/user139-default-include", "user139", list=10,
    note="user139's second default candidate would be 6665 (unsafe)")
add("unsafe/lone-zero-means-empty", "carol", include="1-1023", list=5,
    env={"PORT4ME_EXCLUDE_UNSAFE": "0"}, note="'0' = set but empty: no unsafe ports")

# ---- tiny -------------------------------------------------------------------------------

_rng = random.Random(4005)
for size in range(1, 11):
    for k in range(2):
        start = _rng.randrange(1024, 60000)
        if k == 0:
            spec = f"{start}-{start + size - 1}" if size > 1 else str(start)
        else:
            ports = sorted(_rng.sample(range(1024, 65536), size))
            spec = ",".join(map(str, ports))
        user = _rng.choice(["alice", "bob", "carol", "dave", "eve"])
        lst = _rng.choice([None, size, size + 2]) if size > 1 else _rng.choice([None, 2])
        add(f"tiny/size-{size:02d}-{'range' if k == 0 else 'set'}", user, include=spec, list=lst)
add("tiny/size-2-exclude-one", "alice", include="2000-2001", exclude="2000", list=3)
add("tiny/size-5-exclude-four", "bob", include="3000-3004", exclude="3000-3003", list=2)
add("tiny/with-tool", "alice", tool="rstudio", include="7000-7004", list=6)

# ---- env --------------------------------------------------------------------------------

add("env/port4me-user", "", env={"PORT4ME_USER": "alice"}, note="user from PORT4ME_USER")
add("env/port4me-user-and-tool", "", env={"PORT4ME_USER": "alice", "PORT4ME_TOOL": "rstudio"})
add("env/port4me-tool", "alice", env={"PORT4ME_TOOL": "jupyter-notebook"})
add("env/user-arg-beats-port4me-user", "bob", env={"PORT4ME_USER": "alice"}, list=5)
add("env/tool-arg-beats-port4me-tool", "alice", tool="rstudio", env={"PORT4ME_TOOL": "jupyter"})
add("env/tool-arg-empty-beats-port4me-tool", "alice", tool="", env={"PORT4ME_TOOL": "jupyter"},
    note="an explicit tool, even '', is used instead of PORT4ME_TOOL (seed 'alice')")
add("env/port4me-tool-empty", "alice", env={"PORT4ME_TOOL": ""}, note="same as no tool")
add("env/port4me-user-beats-logname", "", env={"PORT4ME_USER": "alice", "LOGNAME": "bob"})
add("env/logname", "", env={"LOGNAME": "alice", "USER": "bob", "LNAME": "carol", "USERNAME": "dave"},
    note="LOGNAME first")
add("env/user", "", env={"USER": "bob", "LNAME": "carol", "USERNAME": "dave"}, note="then USER")
add("env/lname", "", env={"LNAME": "carol", "USERNAME": "dave"}, note="then LNAME")
add("env/username", "", env={"USERNAME": "dave"}, note="then USERNAME")
add("env/logname-empty-skipped", "", env={"LOGNAME": "", "USER": "bob"},
    note="an empty LOGNAME is skipped")
add("env/logname-with-tool", "", tool="rstudio", env={"LOGNAME": "alice"})
add("env/logname-with-port4me-tool", "", env={"LOGNAME": "alice", "PORT4ME_TOOL": "rstudio"})
add("env/port4me-user-nonascii", "", env={"PORT4ME_USER": "Jos\u00e9"})
add("env/logname-nonascii", "", env={"LOGNAME": "\u7530\u4e2d"}, list=3)
add("env/prepend", "alice", env={"PORT4ME_PREPEND": "4321,11001"}, list=5)
add("env/prepend-site", "alice", env={"PORT4ME_PREPEND_SITE": "4321,11001"}, list=5)
add("env/prepend-then-site", "alice", env={"PORT4ME_PREPEND": "11001", "PORT4ME_PREPEND_SITE": "4321"},
    list=4, note="PORT4ME_PREPEND comes before PORT4ME_PREPEND_SITE")
add("env/prepend-site-overlap", "alice",
    env={"PORT4ME_PREPEND": "4321,11001", "PORT4ME_PREPEND_SITE": "11001,2000"}, list=5,
    note="duplicates across the two variables are dropped")
add("env/prepend-arg-then-site", "alice", prepend="11001", env={"PORT4ME_PREPEND_SITE": "4321"},
    list=4, note="an explicit prepend replaces PORT4ME_PREPEND only; _SITE still follows")
add("env/include", "alice", env={"PORT4ME_INCLUDE": "2000-2123,4321,10000-10999"})
add("env/include-site", "alice", env={"PORT4ME_INCLUDE_SITE": "8000-8999"}, list=5)
add("env/include-union-site", "alice",
    env={"PORT4ME_INCLUDE": "8000-8099", "PORT4ME_INCLUDE_SITE": "9000-9099"}, list=10)
add("env/include-arg-union-site", "alice", include="8000-8099",
    env={"PORT4ME_INCLUDE_SITE": "9000-9099"}, list=10,
    note="an explicit include replaces PORT4ME_INCLUDE only; _SITE is still added")
add("env/exclude", "alice", env={"PORT4ME_EXCLUDE": "30845,32310"})
add("env/exclude-site", "alice", env={"PORT4ME_EXCLUDE_SITE": "30845,19654"}, list=3)
add("env/exclude-union-site", "alice",
    env={"PORT4ME_EXCLUDE": "30845", "PORT4ME_EXCLUDE_SITE": "19654"}, list=3)
add("env/exclude-arg-keeps-site", "alice", exclude="30845",
    env={"PORT4ME_EXCLUDE_SITE": "19654"}, list=3,
    note="an explicit exclude replaces PORT4ME_EXCLUDE only; _SITE still applies")
add("env/exclude-arg-keeps-unsafe", "carol", exclude="408", include="1-1023", list=5,
    note="an explicit exclude keeps the unsafe list (465 stays excluded)")
add("env/unsafe-empty", "carol", include="1-1023", env={"PORT4ME_EXCLUDE_UNSAFE": ""}, list=3)
add("env/unsafe-custom", "alice", env={"PORT4ME_EXCLUDE_UNSAFE": "30845,19654"}, list=3,
    note="a custom unsafe list replaces the default one")
add("env/unsafe-chrome-overridden", "alice", include="1-1023",
    env={"PORT4ME_EXCLUDE_UNSAFE_CHROME": "470,859"}, list=10,
    note="PORT4ME_EXCLUDE_UNSAFE_CHROME redefines {chrome}; {firefox} keeps its default")
add("env/unsafe-firefox-overridden", "carol", include="1-1023",
    env={"PORT4ME_EXCLUDE_UNSAFE_FIREFOX": "408"}, list=10)
add("env/unsafe-both-lists-empty", "carol", include="1-1023",
    env={"PORT4ME_EXCLUDE_UNSAFE_CHROME": "", "PORT4ME_EXCLUDE_UNSAFE_FIREFOX": ""}, list=5)
add("env/prepend-token-overridden", "alice", prepend="{chrome}",
    env={"PORT4ME_EXCLUDE_UNSAFE_CHROME": "1,2,3"}, list=5,
    note="{chrome} in a spec uses the overridden list")
add("env/include-token-overridden", "alice", include="{firefox}",
    env={"PORT4ME_EXCLUDE_UNSAFE_FIREFOX": "5000-5009", "PORT4ME_EXCLUDE_UNSAFE": "{chrome}"},
    list=5)
add("env/skip", "alice", env={"PORT4ME_SKIP": "2"})
add("env/skip-with-list", "alice", env={"PORT4ME_SKIP": "2"}, list=3)
add("env/skip-arg-beats-env", "alice", skip=1, env={"PORT4ME_SKIP": "5"}, list=2)
add("env/list", "alice", env={"PORT4ME_LIST": "5"}, note="PORT4ME_LIST turns a find into a list")
add("env/list-and-skip", "alice", env={"PORT4ME_LIST": "3", "PORT4ME_SKIP": "2"})
add("env/list-arg-beats-env", "alice", list=2, env={"PORT4ME_LIST": "5"})
add("env/list-empty-is-unset", "alice", env={"PORT4ME_LIST": ""},
    note="PORT4ME_LIST='' means unset: a find")
add("env/check-any-explicit", "alice", env={CHECK_VAR: "any"})
add("env/skip-arg-ignores-bad-env", "alice", skip=1, env={"PORT4ME_SKIP": "foo"},
    note="given skip, PORT4ME_SKIP is not read: a bad one is no error (SPEC section 6)")
add("env/list-arg-ignores-bad-env", "alice", list=2, env={"PORT4ME_LIST": "foo"},
    note="given list, PORT4ME_LIST is not read: a bad one is no error (SPEC section 6)")
add("env/check-hook-bad-list-mode", "alice", list=3, env={CHECK_VAR: "yes"},
    note="a list probes nothing, so a bad testing hook is never consulted: no error "
         "(SPEC section 6)")
add("env/everything", "", tool="rstudio",
    env={"PORT4ME_USER": "alice", "PORT4ME_PREPEND_SITE": "4321", "PORT4ME_INCLUDE": "8000-8999",
         "PORT4ME_INCLUDE_SITE": "9000-9999", "PORT4ME_EXCLUDE_SITE": "8000-8099",
         "PORT4ME_EXCLUDE": "9000-9099", "PORT4ME_SKIP": "1", "PORT4ME_LIST": "6"})

# ---- error ------------------------------------------------------------------------------

BAD_ITEMS = [
    # (slug, item, why-if-the-reference-accepts-it)
    ("foo", "foo", None),
    ("trailing-dash", "1-", "the reference reads '1-' as port 1"),
    ("leading-dash", "-5", None),
    ("double-range", "1-2-3", None),
    ("dash-only", "-", None),
    ("65536", "65536", "the reference does not check the upper bound"),
    ("huge", "99999999999", "the reference does not check the upper bound"),
    ("inverted", "5-3", "the reference treats an inverted range as empty"),
    ("zero-range", "0-5", "the reference accepts 0 inside a range (and can yield port 0)"),
    ("unknown-token", "{unknown}", None),
    ("token-uppercase", "{CHROME}", None),
    ("plus-sign", "+5", "the reference parses items with int(), which accepts a sign"),
    ("underscore", "1_024", "the reference parses items with int(), which accepts '_' separators"),
    ("fullwidth-digits", "\uff11\uff10\uff12\uff14",
     "the reference parses items with int(), which accepts non-ASCII decimal digits"),
    ("decimal", "1.5", None),
    ("hex", "0x10", None),
    ("range-above-max", "65535-65536", "the reference does not check the upper bound"),
]
for field in ["prepend", "include", "exclude"]:
    for slug, item, why in BAD_ITEMS:
        spec = f"2000,{item}" if field == "prepend" else item
        add(f"error/{field}-arg-{slug}", "alice", list=3, error=(ERR_SPEC, item),
            why=(f"{why}; SPEC section 5 makes {item!r} in {field} an error" if why else None),
            **{field: spec})

# Python's str.split() also splits on the ASCII information separators
# \x1c-\x1f; SPEC section 5 separates items by commas and whitespace only, so
# "80\x1c443" is one bad item here (shown escaped in messages, hence "80").
add("error/include-arg-info-separator", "alice", list=3, include="80\x1c443", error=(ERR_SPEC, "80"),
    why="the reference splits items on \\x1c (str.split); SPEC section 5 makes '80\\x1c443' "
        "one item, and an error")
add("include/leading-zeros", "alice", include="02000-02009,04321", list=4,
    note="leading zeros are plain decimal digits in both")

ENV_BAD = [
    ("prepend-foo", "PORT4ME_PREPEND", "foo"), ("prepend-site-foo", "PORT4ME_PREPEND_SITE", "foo"),
    ("include-foo", "PORT4ME_INCLUDE", "foo"), ("include-site-foo", "PORT4ME_INCLUDE_SITE", "foo"),
    ("exclude-foo", "PORT4ME_EXCLUDE", "foo"), ("exclude-site-foo", "PORT4ME_EXCLUDE_SITE", "foo"),
    ("exclude-unsafe-foo", "PORT4ME_EXCLUDE_UNSAFE", "foo"),
    ("include-double-range", "PORT4ME_INCLUDE", "1-2-3"),
    ("exclude-site-unknown-token", "PORT4ME_EXCLUDE_SITE", "{unknown}"),
    ("prepend-site-leading-dash", "PORT4ME_PREPEND_SITE", "-5"),
    ("include-site-65536", "PORT4ME_INCLUDE_SITE", "65536"),
    ("exclude-site-inverted", "PORT4ME_EXCLUDE_SITE", "5-3"),
    ("prepend-zero-range", "PORT4ME_PREPEND", "0-5"),
    ("exclude-unsafe-trailing-dash", "PORT4ME_EXCLUDE_UNSAFE", "1-"),
]
for slug, var, item in ENV_BAD:
    add(f"error/env-{slug}", "alice", list=3, env={var: item}, error=(ERR_SPEC, var),
        why=f"the reference accepts {item!r} in {var}; SPEC section 5 makes it an error")
add("error/env-unsafe-chrome-foo", "alice", list=3, env={"PORT4ME_EXCLUDE_UNSAFE_CHROME": "foo"},
    error=(ERR_SPEC, "PORT4ME_EXCLUDE_UNSAFE"),
    note="the overridden {chrome} list is used by the default PORT4ME_EXCLUDE_UNSAFE")
add("error/env-unsafe-firefox-foo", "alice", list=3, env={"PORT4ME_EXCLUDE_UNSAFE_FIREFOX": "1,foo"},
    error=(ERR_SPEC, "PORT4ME_EXCLUDE_UNSAFE"))

for var, val in [("PORT4ME_SKIP", "foo"), ("PORT4ME_SKIP", "-1"), ("PORT4ME_SKIP", "1.5"),
                 ("PORT4ME_LIST", "0"), ("PORT4ME_LIST", "foo"), ("PORT4ME_LIST", "-1"),
                 ("PORT4ME_LIST", "2.0")]:
    num = val.replace("-", "minus-").replace(".", "-dot-")
    add(f"error/env-{var[8:].lower()}-{num}", "alice", env={var: val},
        error=(ERR_NUMBER, var))
add("error/skip-arg-negative", "alice", skip=-1, error=(ERR_NUMBER, "skip"))
add("error/skip-arg-negative-list", "alice", skip=-3, list=2, error=(ERR_NUMBER, "skip"))
add("error/list-arg-zero", "alice", list=0, error=(ERR_NUMBER, "list"))
add("error/list-arg-negative", "alice", list=-2, error=(ERR_NUMBER, "list"))
add("error/check-available-ports-yes", "alice", env={CHECK_VAR: "yes"}, error=(ERR_ENV, CHECK_VAR),
    note="find mode: the first probe consults the testing hook")
add("error/check-available-ports-true", "bob", env={CHECK_VAR: "true"}, error=(ERR_ENV, CHECK_VAR))

# ---- divergence -------------------------------------------------------------------------

diverge("divergence/explicit-exclude-keeps-unsafe-low", "carol", include="1-1023", exclude="408",
        list=5,
        why="the Python reference drops the _SITE and unsafe lists when exclude is passed as an "
            "argument; SPEC section 6 keeps them (an argument replaces PORT4ME_EXCLUDE only)",
        reference_call={"exclude": None, "pyargs": {"exclude": "408"}},
        note="expected: reference with PORT4ME_EXCLUDE=408 (env path, unsafe 465 stays out); "
             "reference: port4me(exclude='408') in Python")
diverge("divergence/explicit-exclude-keeps-unsafe-default", "user139", exclude="49896", list=5,
        why="the Python reference drops the unsafe list when exclude is passed as an argument; "
            "SPEC section 6 keeps it, so 6665 must not appear",
        reference_call={"exclude": None, "pyargs": {"exclude": "49896"}},
        note="expected: reference with PORT4ME_EXCLUDE=49896; reference: port4me(exclude='49896')")
diverge("divergence/explicit-exclude-keeps-site", "alice", exclude="30845",
        env={"PORT4ME_EXCLUDE_SITE": "19654"}, list=3,
        why="the Python reference ignores PORT4ME_EXCLUDE_SITE when exclude is an argument; "
            "SPEC section 6 keeps it",
        reference_call={"exclude": None, "pyargs": {"exclude": "30845"}},
        note="expected: reference with PORT4ME_EXCLUDE=30845 + PORT4ME_EXCLUDE_SITE; "
             "reference: port4me(exclude='30845')")
diverge("divergence/explicit-include-keeps-site", "alice", include="8000-8099",
        env={"PORT4ME_INCLUDE_SITE": "9000-9099"}, list=10,
        why="the Python reference ignores PORT4ME_INCLUDE_SITE when include is an argument; "
            "SPEC section 6 still adds it",
        reference_call={"include": None, "pyargs": {"include": "8000-8099"}},
        note="expected: reference with PORT4ME_INCLUDE=8000-8099 + _SITE; "
             "reference: port4me(include='8000-8099')")
diverge("divergence/explicit-prepend-keeps-site", "alice", prepend="11001",
        env={"PORT4ME_PREPEND_SITE": "4321"}, list=4,
        why="the Python reference ignores PORT4ME_PREPEND_SITE when prepend is an argument; "
            "SPEC section 6 appends it",
        reference_call={"prepend": None, "pyargs": {"prepend": "11001"}},
        note="expected: reference with PORT4ME_PREPEND=11001 + _SITE; "
             "reference: port4me(prepend='11001')")
diverge("divergence/prepend-duplicates", "alice", prepend="4321,4321,11001,4321", list=5,
        why="the Python reference keeps duplicates in a prepend argument (it drops them only "
            "from the environment); SPEC section 5 drops them, keeping the first occurrence",
        reference_call={"prepend": None, "pyargs": {"prepend": "4321,4321,11001,4321"}},
        note="expected: reference with PORT4ME_PREPEND (deduplicated); "
             "reference: port4me(prepend='4321,4321,11001,4321')")
diverge("divergence/prepend-duplicates-tokens", "alice", prepend="{chrome},{firefox}", list=100,
        why="the Python reference keeps the ports common to both lists twice in a prepend "
            "argument; SPEC drops duplicates",
        reference_call={"prepend": None, "pyargs": {"prepend": "{chrome},{firefox}"}},
        note="expected: reference with PORT4ME_PREPEND; reference: Python argument")
for name, user, tool in [("user-trailing-comma", "alice,", None),
                         ("user-trailing-commas", "alice,,,", None),
                         ("tool-trailing-comma", "alice", "rstudio,"),
                         ("tool-only-comma", "alice", ","),
                         ("user-comma-only", ",", None),
                         ("user-comma-tool-empty", "bob,", "")]:
    seed = spec_seed(user, tool)
    diverge(f"divergence/{name}", user, tool=tool, list=3,
            why="the reference builds the seed as (user+','+tool).rstrip(','), eating trailing "
                f"commas; SPEC section 1 joins the non-empty parts, giving seed {seed!r}",
            expected_call={"seed": seed},
            note=f"expected: the reference's uint_hash()/lcg() and filtering on seed {seed!r}")
diverge("divergence/port4me-user-empty", "", env={"PORT4ME_USER": "", "LOGNAME": "carol"},
        tool="rstudio",
        why="the reference uses a set-but-empty PORT4ME_USER as the user (seed ',rstudio'); "
            "the SPEC treats an empty variable as unset and falls back to LOGNAME",
        expected_call={"env": {"LOGNAME": "carol"}},
        note="expected: reference with PORT4ME_USER unset and LOGNAME=carol")
diverge("divergence/port4me-user-empty-no-tool", "", env={"PORT4ME_USER": "", "USER": "bob"},
        list=3,
        why="the reference hashes the empty string when PORT4ME_USER='' and no tool; the SPEC "
            "falls back to USER",
        expected_call={"env": {"USER": "bob"}},
        note="expected: reference with PORT4ME_USER unset and USER=bob")
diverge("divergence/empty-seed", "", layer="core", list=3,
        why="with an empty user and no tool the reference hashes the empty string; SPEC section "
            "1 makes an empty seed an error",
        error=(ERR_EMPTY_SEED, "empty"),
        reference_call={"env": {"PORT4ME_USER": ""}},
        note="reference: PORT4ME_USER='' (its only way to get an empty user) and no tool")
diverge("divergence/empty-seed-empty-tool", "", tool="", layer="core",
        why="with an empty user and tool the reference hashes the empty string; SPEC section 1 "
            "makes an empty seed an error",
        error=(ERR_EMPTY_SEED, "empty"),
        reference_call={"env": {"PORT4ME_USER": ""}},
        note="reference: PORT4ME_USER='' and tool=''")
diverge("divergence/include-lone-zero", "alice", include="0", list=3,
        why="the reference turns include '0' into the set {0} and yields port 0 (list) or fails "
            "probing it; SPEC section 5 ignores a lone 0, so include is the default",
        expected_call={"include": None},
        note="expected: reference with no include")
diverge("divergence/include-lone-zero-find", "alice", include="0",
        why="the reference would probe port 0 and raise; SPEC ignores a lone 0",
        expected_call={"include": None}, note="expected: reference with no include")
diverge("divergence/include-zero-item", "alice", include="0,2000-2002", list=6,
        why="the reference adds port 0 to the include set (and yields it); SPEC section 5 "
            "ignores a lone 0 item",
        expected_call={"include": "2000-2002"}, note="expected: reference with include 2000-2002")
diverge("divergence/include-double-zero", "alice", include="00", list=3,
        why="the reference reads include '00' as port 0, the set {0}, and yields port 0; SPEC "
            "section 5 makes any item whose value is 0 a lone zero, ignored",
        expected_call={"include": None}, note="expected: reference with no include")
diverge("divergence/prepend-double-zero", "alice", prepend="00,4321", list=3,
        why="the reference prepends port 0 for '00'; SPEC section 5 ignores a lone zero however "
            "it is written",
        expected_call={"prepend": "4321"}, note="expected: reference with prepend 4321")
add("exclude/double-zero", "alice", exclude="00", list=3,
    note="'00' is a lone zero (SPEC section 5): excluding it changes nothing")
diverge("divergence/prepend-lone-zero", "alice", prepend="0", list=3,
        why="the reference prepends port 0; SPEC section 5 ignores a lone 0",
        expected_call={"prepend": None}, note="expected: reference with no prepend")
diverge("divergence/env-include-lone-zero", "alice", env={"PORT4ME_INCLUDE": "0"}, list=3,
        why="the reference turns PORT4ME_INCLUDE=0 into the set {0}; SPEC ignores a lone 0",
        expected_call={"env": {}}, note="expected: reference without PORT4ME_INCLUDE")
diverge("divergence/env-skip-empty", "alice", env={"PORT4ME_SKIP": ""}, list=2,
        why="the reference fails on int('') for PORT4ME_SKIP=''; like PORT4ME_LIST='' and "
            "PORT4ME_USER='', the project treats an empty variable as unset",
        expected_call={"env": {}}, note="expected: reference without PORT4ME_SKIP")
diverge("divergence/prepend-out-of-range-find", "alice", prepend="70000",
        why="the reference yields 70000 and then fails probing it; SPEC section 5 rejects the "
            "item when parsing", error=(ERR_SPEC, "70000"))
diverge("divergence/include-70000", "alice", include="70000",
        why="the reference accepts 70000 and loops forever looking for it; SPEC section 5 "
            "rejects it", error=(ERR_SPEC, "70000"))
EMPTY_WHY = ("the reference loops forever when include minus exclude is empty; SPEC section 3 "
             "makes it an error (no LCG value can ever be found)")
diverge("divergence/empty-set-find", "alice", include="2000", exclude="2000", why=EMPTY_WHY,
        error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-list", "alice", include="2000", exclude="2000", list=3,
        why=EMPTY_WHY, error=(ERR_EMPTY_SET, None))
add("prepend/empty-set-list-1", "alice", prepend="4321", include="2000", exclude="2000", list=1,
    note="the set is empty but only the prepended port is asked for: no error (lazy)")
add("prepend/empty-set-find", "alice", prepend="4321", include="2000", exclude="2000",
    note="the set is empty but the first (prepended) candidate is free: no error (lazy)")
diverge("divergence/empty-set-after-prepend", "alice", prepend="4321", include="2000",
        exclude="2000", list=2, why=EMPTY_WHY + "; the prepended port alone is not enough",
        error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-skip-prepend", "alice", prepend="4321", include="2000",
        exclude="2000", skip=1, why=EMPTY_WHY, error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-only-unsafe", "alice", include="10080", why=EMPTY_WHY +
        "; 10080 is on the unsafe list", error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-include-chrome", "alice", include="{chrome}", list=2,
        why=EMPTY_WHY + "; every {chrome} port is unsafe", error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-low-ports", "bob", include="1-1023", exclude="1-1023",
        why=EMPTY_WHY, error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-site", "alice",
        env={"PORT4ME_INCLUDE_SITE": "5000-5009", "PORT4ME_EXCLUDE_SITE": "5000-5009"},
        why=EMPTY_WHY, error=(ERR_EMPTY_SET, None))
diverge("divergence/empty-set-exclude-everything", "carol", exclude="1-65535", list=1,
        why=EMPTY_WHY, error=(ERR_EMPTY_SET, None))


# --------------------------------------------------------------------------------------
# Alternatives: the other sides of the questions (see QUESTIONS)
# --------------------------------------------------------------------------------------

# Markers for a user the reference cannot be given: the account's own name (the kit asks
# the command itself, with that name) and no user at all (the Bash CLI's seed is then lost).
ACCOUNT = "<the account's name>"
LOST = "<no seed>"
UNSAFE_VARS = ("PORT4ME_EXCLUDE_UNSAFE", "PORT4ME_EXCLUDE_UNSAFE_CHROME",
               "PORT4ME_EXCLUDE_UNSAFE_FIREFOX")


def resolve_user_tool(case, sides=()):
    """The user and tool of a case as a command resolves them (SPEC section 1), on the
    contract's sides but for the given ones; the user may be ACCOUNT or LOST."""
    env = case.get("env", {})
    user = case["user"]
    if not user:
        pu = env.get("PORT4ME_USER")
        if pu is not None and (pu != "" or "empty-is-value" in sides):
            user = pu
        elif "user-variable" in sides:
            user = env.get("USER") or LOST
        elif "account-name" in sides:
            user = ACCOUNT
        else:
            user = next((env[v] for v in USER_VARS if env.get(v)), "")
    tool = case.get("tool")
    if tool is None or (tool == "" and "empty-tool-unset" in sides):
        tool = env.get("PORT4ME_TOOL", "")
    return user, tool


def seed_on(case, sides):
    """The seed string of a case on the given non-contract sides: None when it is empty
    where the contract makes that an error (ERR_PORT4ME_EMPTY_SEED), ACCOUNT when only the
    command itself can tell."""
    user, tool = resolve_user_tool(case, sides)
    if user == ACCOUNT:
        return ACCOUNT
    if user == LOST:
        seed = ""  # the Bash CLI's seed step fails in a subshell: LCG_SEED is 0, the tool unused
    elif "strips-trailing-commas" in sides:
        seed = (user + "," + tool).rstrip(",")
    elif "strips-one-comma" in sides:
        seed = user + "," + tool
        seed = seed[:-1] if seed.endswith(",") else seed
    else:
        seed = spec_seed(user, tool)
        if seed == "":
            return None
    if "utf8-bytes" in sides:
        # Each UTF-8 byte becomes one code point 0-255, so the reference's own uint_hash()
        # hashes the bytes.
        seed = seed.encode("utf-8").decode("latin-1")
    return seed


def outcome_as_expect(outcome, what):
    if "ports" in outcome or "port" in outcome or "hang" in outcome or "as_account" in outcome:
        return dict(outcome)
    if outcome.get("code") is None:
        raise GenerationError(f"{what}: the reference raised {outcome['error']}, which maps to no "
                              "error code")
    return {"error": outcome["code"]}


def bash_prepend(text, mod):
    """The Bash CLI's prepend list for the text "PREPEND,PREPEND_SITE": tokens expanded,
    commas made spaces, one space trimmed at each end, every space a line break, adjacent
    equal lines dropped (uniq), then each line a port, a range (seq) or nothing (blank, 0)."""
    t = text.replace("{chrome}", mod.unsafe_ports_chrome).replace("{firefox}", mod.unsafe_ports_firefox)
    t = t.replace(",", " ")
    t = t[1:] if t.startswith(" ") else t
    t = t[:-1] if t.endswith(" ") else t
    lines = [line for line, _ in itertools.groupby(t.replace(" ", "\n").split("\n"))]
    ports = []
    # (A line holding a tab is an error for the Bash CLI, a recorded behaviour of its own;
    # here it is split as the contract splits it.)
    for item in (x for line in lines for x in line.split()):
        if item == "0":
            continue
        a, dash, b = item.partition("-")
        ports.extend(range(int(a), int(b) + 1) if dash else [int(a)])
    return ports


def variant_outcome(case, base, sides):
    """What an implementation on the given non-contract sides gives for a case, computed by
    the reference: its uint_hash()/lcg() on the seed of those sides, the spec strings
    through the environment (contract) or as Python arguments built with its parse_ports()
    (drops-site-unsafe, keeps-duplicates) or with the Bash CLI's rule (drops-adjacent-items)."""
    sides = set(sides)
    seed = seed_on(case, sides)
    if seed == ACCOUNT:
        return {"as_account": True}
    if seed is None:
        return {"error": ERR_EMPTY_SEED}
    call = _apply(base, {"seed": seed})
    env = call["env"]
    if "empty-is-value" in sides and case.get("env", {}).get("PORT4ME_SKIP") == "":
        env["PORT4ME_SKIP"] = ""
    elif env.get("PORT4ME_SKIP") == "":
        del env["PORT4ME_SKIP"]
    if "empty-is-default" in sides:
        for var in UNSAFE_VARS:
            if env.get(var) == "":
                del env[var]
    drops = "drops-site-unsafe" in sides
    keeps = "keeps-duplicates" in sides
    adjacent = "drops-adjacent-items" in sides
    specs = {}
    for field, var in SPEC_FIELDS:
        spec = call[field]
        if field == "prepend" and adjacent:
            text = spec if spec is not None else env.pop(var, "")
            if not (drops and spec is not None):
                text += "," + env.pop("PORT4ME_PREPEND_SITE", "")
            specs[field] = ("bash", text)
            call[field] = None
            continue
        if spec is None:
            continue
        if drops:
            specs[field] = ("python", spec, field == "prepend" and not keeps, False)
            call[field] = None
        elif field == "prepend" and keeps:
            specs[field] = ("python", spec, False, True)
            call[field] = None
    if specs:
        def python_arguments(mod):
            out = {}
            for field, how in specs.items():
                if how[0] == "bash":
                    out[field] = bash_prepend(how[1], mod)
                    continue
                _, spec, dedup, site = how
                ports = list(mod.parse_ports(spec))
                if site:  # the argument's items as given, then PORT4ME_PREPEND_SITE's
                    ports += list(mod.parse_ports(os.environ.get("PORT4ME_PREPEND_SITE", "")))
                if dedup:
                    ports = list(dict.fromkeys(ports))
                out[field] = ports
            return out
        call["pyargs_fn"] = python_arguments
    return outcome_as_expect(run_reference(call), f"{case['id']} on {sorted(sides)}")


def candidate_questions(case, base):
    """The questions that may change a case's outcome (the others certainly do not)."""
    env = case.get("env", {})
    qs = set()
    if not case["user"] and not env.get("PORT4ME_USER"):
        qs.add("user-variables")
    resolutions = [resolve_user_tool(case, extra) for extra in
                   ((), ("empty-is-value",), ("empty-tool-unset",), ("user-variable",),
                    ("empty-is-value", "empty-tool-unset"))]
    if any(not (u + t).isascii() for u, t in resolutions):
        qs.add("seed-encoding")
    if any(base[f] is not None for f, _ in SPEC_FIELDS):
        qs.add("explicit-spec-lists")
    if base["prepend"] is not None or "PORT4ME_PREPEND" in env or "PORT4ME_PREPEND_SITE" in env:
        qs.add("prepend-duplicates")
    # Where the Bash CLI's seed differs from the contract's, the Python reference's does too.
    if any((u + "," + t).rstrip(",") != spec_seed(u, t) or not spec_seed(u, t)
           for u, t in resolutions if u != LOST):
        qs.add("trailing-commas")
    if (not case["user"] and env.get("PORT4ME_USER") == "") or \
            ("skip" not in case and env.get("PORT4ME_SKIP") == "") or \
            any(env.get(v) == "" for v in UNSAFE_VARS):
        qs.add("empty-variables")
    if case.get("tool") == "" and env.get("PORT4ME_TOOL"):
        qs.add("empty-tool-argument")
    return [q for q in QUESTION_ORDER if q in qs]


def side_combinations(qs, others):
    """Every assignment of sides (others[q]) to a non-empty subset of qs, as tuples of
    sides in question order."""
    from itertools import combinations, product
    for r in range(1, len(qs) + 1):
        for combo in combinations(qs, r):
            yield from product(*(others[q] for q in combo))


def alternatives_for(qs, outcome_of, contract, others=None):
    """{key: outcome} for every combination of the sides of the questions among qs that
    change something, as outcome_of(sides) computes it (contract: the outcome on no side;
    others: the sides tried per question, by default the non-contract ones)."""
    others = others or OTHER_SIDES
    outcomes = {(): contract}
    for sides in side_combinations(qs, others):
        outcomes[sides] = outcome_of(list(sides))

    def without(sides, q):
        return tuple(s for s in sides if SIDE_QUESTION[s] != q)

    relevant = [q for q in qs
                if any(out != outcomes[without(sides, q)]
                       for sides, out in outcomes.items()
                       if any(SIDE_QUESTION[s] == q for s in sides))]
    return {"+".join(sides): outcomes[sides] for sides in side_combinations(relevant, others)}


def build_alternatives(case, d, literal):
    """The case's alternatives: for every combination of the other sides of the questions
    that change its outcome, what an implementation taking them gives."""
    base = _apply(literal, d.expected_call) if d.expected_call is not None else literal
    contract = variant_outcome(case, base, ())
    if contract != case["expect"]:
        # The side model on the contract's sides must reproduce expect, or the
        # alternatives computed with it could not be trusted.
        raise GenerationError(f"{case['id']}: the side model gives {contract} on the contract's "
                              f"sides, but expect is {case['expect']}")
    qs = candidate_questions(case, base)
    return alternatives_for(qs, lambda sides: variant_outcome(case, base, sides), contract)


# --------------------------------------------------------------------------------------
# The reference CLI (python -m port4me), in-process, for the labels
# --------------------------------------------------------------------------------------

def run_reference_cli(flags, env):
    """Run the reference's own __main__ with these flags and variables (on top of the clean
    environment), in this process, with the hang detector; an outcome as conformance/run.py
    records one (exit, stdout, stderr, timed_out)."""
    import contextlib
    import io
    import runpy
    mod = _ref()
    _clean_environ()
    os.environ.update(env)
    mod = importlib.reload(mod)

    def number(flag, var, default):
        for f in flags:
            if f.startswith(f"--{flag}="):
                return _int_or(f.split("=", 1)[1], default)
        return _int_or(os.environ.get(var), default)

    needed = max(number("skip", "PORT4ME_SKIP", 0), 0) + max(number("list", "PORT4ME_LIST", 1), 1)
    orig_lcg = _count_lcg_steps(mod, needed)
    out, err = io.StringIO(), io.StringIO()
    code, timed_out = 0, False
    saved_argv = sys.argv
    sys.argv = ["python -m port4me"] + list(flags)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    # The CLI keeps an --exclude argument as a list, so a search through a large exclude
    # is slow enough for the wall clock to detect the hang before the step counter does.
    signal.setitimer(signal.ITIMER_REAL, CLI_WALL_CLOCK_LIMIT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_module(f"{REF_PACKAGE}.__main__", run_name="__main__")
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            err.write(f"{e.code}\n")
            code = 1
    except _Hang:
        timed_out = True
    except Exception as e:  # what the interpreter prints for an uncaught exception
        err.write(f"Traceback (most recent call last):\n{type(e).__name__}: {e}\n")
        code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        sys.argv = saved_argv
        mod.lcg = orig_lcg
        _clean_environ()
    return {"exit": None if timed_out else code, "stdout": out.getvalue(),
            "stderr": err.getvalue(), "timed_out": timed_out, "seconds": 0.0, "timeout": "budget"}


def _kit():
    sys.path.insert(0, HERE)
    try:
        import run as kit
    finally:
        sys.path.remove(HERE)
    return kit


def check_cli_labels(doc):
    """Run every case through the reference CLI (both --via modes), judged by the kit
    (conformance/run.py) with the CLI's sides declared: every case must pass, pass on a
    side, be 'stricter here' or fail as a recorded divergence. Returns (problems, counts)."""
    kit = _kit()
    questions = kit.Questions(doc)
    declared = questions.declared(PYTHON_CLI_SIDES)
    problems, counts = [], {}
    for via in kit.VIAS:
        verdicts = []
        for case in doc["cases"]:
            try:
                flags, env = kit.case_invocation(case, via)
            except kit.Skip:
                counts[(via, kit.SKIP)] = counts.get((via, kit.SKIP), 0) + 1
                continue
            o = run_reference_cli(flags, env)
            v = kit.judge_case(case, o, questions, via, False)
            v["outcome"] = o
            verdicts.append((case, v))
        sides = kit.settle_sides([v for _, v in verdicts], questions, declared)
        for q, s in sides.items():
            taken = questions.effective(q, s["taken"], via)
            other = sorted(k for k in s["votes"] if k != taken)
            if other:
                problems.append(f"via {via}: the reference CLI took {', '.join(other)} on "
                                f"{q} in some cases, declared {s['taken']}")
        for case, v in verdicts:
            status, _shown, detail = kit.final_status(case, v, sides, questions, via)
            counts[(via, status)] = counts.get((via, status), 0) + 1
            if status in (kit.FAIL, kit.SLOW):
                problems.append(f"{case['id']} (via {via}): {detail}")
    return problems, counts


def cli_summary(counts):
    out = []
    for via in ("flags", "env"):
        parts = [f"{counts.get((via, s), 0)} {s}" for s in
                 ("pass", "side", "stricter", "explained", "fail", "slow", "skip")]
        out.append(f"via {via}: " + ", ".join(parts))
    return "; ".join(out)


# --------------------------------------------------------------------------------------
# Probe cases (conformance/probes.json)
# --------------------------------------------------------------------------------------

PROBES_FORMAT = 1
PROBES_DESCRIPTION = (
    "Probe cases for port4me --test=PORT: conformance/run.py opens the listener (none, a TCP "
    "listener on one address, or a bound UDP socket) on a port free on every address, then "
    "runs CMD --test=PORT (and CMD --test=PORT --protocol=udp where the command has "
    "--protocol) in the clean environment, without _PORT4ME_CHECK_AVAILABLE_PORTS_. expect "
    "gives the exit status per protocol: 0 = free, 1 = in use; --test prints nothing. These "
    "are the contract (SPEC section 7: a port is free only when it could be bound on every "
    "local address of both families), written by hand; where the reference answers "
    "differently, reference holds its answer (computed by conformance/reference.py, which "
    "runs the reference's is_port_free next to the same listener on Linux) and divergence "
    "says why. A probe with args is a search next to the busy port: CMD ARGS with {port} "
    "replaced by the port the listener holds; expect is {error: code} as in commands.json; "
    "requires names a flag the command's --help must mention (else it is skipped); "
    "reference, where it differs, is what the reference's function does next to the same "
    "listener."
)
PROBE_V6_WHY = ("the reference binds only the IPv4 wildcard (0.0.0.0), so a listener on IPv6 "
                "alone does not make the port busy for it; SPEC section 7 counts a listener on "
                "any local address of either family")
# (id, listener, expect, note)
PROBE_DEFS = [
    ("probe/none", None, {"tcp": 0, "udp": 0}, "nothing holds the port"),
    ("probe/tcp-ipv4-loopback", {"protocol": "tcp", "address": "127.0.0.1"},
     {"tcp": 1, "udp": 0}, "a TCP listener on 127.0.0.1"),
    ("probe/tcp-ipv6-loopback", {"protocol": "tcp", "address": "::1"},
     {"tcp": 1, "udp": 0}, "a TCP listener on [::1]"),
    ("probe/tcp-ipv4-any", {"protocol": "tcp", "address": "0.0.0.0"},
     {"tcp": 1, "udp": 0}, "a TCP listener on 0.0.0.0"),
    ("probe/tcp-ipv6-any-v6only", {"protocol": "tcp", "address": "::", "v6only": True},
     {"tcp": 1, "udp": 0}, "a TCP listener on [::] with IPV6_V6ONLY on (IPv6 only)"),
    ("probe/tcp-ipv6-any-dual-stack", {"protocol": "tcp", "address": "::", "v6only": False},
     {"tcp": 1, "udp": 0}, "a TCP listener on [::] with IPV6_V6ONLY off (both families)"),
    ("probe/udp-ipv4-any", {"protocol": "udp", "address": "0.0.0.0"},
     {"tcp": 0, "udp": 1}, "a UDP socket bound to 0.0.0.0: busy for udp, free for tcp"),
]


def reference_probe_answer(listener):
    """The reference's --test answer (exit status) for tcp with this listener open, or None
    when the listener cannot be opened here (no IPv6)."""
    kit = _kit()
    mod = _ref()
    _clean_environ()
    mod = importlib.reload(mod)
    port = kit.free_port()
    try:
        sock = kit.open_listener(listener, port) if listener else None
    except OSError:
        return None
    try:
        return 0 if mod.is_port_free(port) else 1
    finally:
        if sock is not None:
            sock.close()


# Searches next to a busy port: CMD ARGS (with {port} the port the listener holds), in the
# clean environment without the testing hook. (id, args, expect, note, requires, why, call):
# requires is a flag the command's --help must mention (else the case is skipped); call is
# the reference function's equivalent, run next to the same listener with the hang detector,
# whose answer is recorded (with why) where it differs.
_BUSY = {"protocol": "tcp", "address": "0.0.0.0"}
FIND_PROBE_DEFS = [
    ("probe/find-busy-prepend-empty-set",
     ["--user=alice", "--prepend={port}", "--include=2000", "--exclude=2000"],
     {"error": ERR_EMPTY_SET},
     "the prepended port is busy and include minus exclude is empty: the empty-set error, "
     "raised when an LCG candidate is needed (SPEC section 4), not ERR_PORT4ME_NO_FREE_PORT",
     None, EMPTY_WHY, {"prepend": "{port}", "include": "2000", "exclude": "2000"}),
    ("probe/find-max-tries-1", ["--user=alice", "--prepend={port}", "--max-tries=1"],
     {"error": "ERR_PORT4ME_NO_FREE_PORT"},
     "--max-tries=1 looks at one candidate, the busy prepended port, and gives up (SPEC "
     "section 4). Not a reference CLI flag (the case is skipped for a command without "
     "--max-tries); the reference's function takes max_tries but looks at max_tries + 1 "
     "candidates (it counts from 1 and gives up only when the count exceeds max_tries)",
     "--max-tries", None, None),
]


def reference_find_answer(args_call, listener):
    """The reference function's outcome for a find next to a busy port (real probes), or
    None when the listener cannot be opened here."""
    kit = _kit()
    port = kit.free_port()
    try:
        sock = kit.open_listener(listener, port)
    except OSError:
        return None
    try:
        call = make_call({"user": "alice", **{k: v.replace("{port}", str(port))
                                              for k, v in args_call.items()}})
        call["real_probes"] = True
        return run_reference(call)
    finally:
        sock.close()


def build_probes():
    probes = []
    unavailable = []
    for pid, args, expect, note, requires, why, call in FIND_PROBE_DEFS:
        p = {"id": pid, "note": note, "listener": _BUSY, "args": args, "expect": expect}
        if requires:
            p["requires"] = requires
        if call is not None:
            ref = reference_find_answer(call, _BUSY)
            if ref is None:
                unavailable.append(pid)
            elif ref.get("code") != expect["error"]:
                if why is None:
                    raise GenerationError(f"{pid}: the reference gives {ref}; no divergence "
                                          "recorded for it")
                p["divergence"] = why
                p["reference"] = public_outcome(ref)
        probes.append(p)
    for pid, listener, expect, note in PROBE_DEFS:
        p = {"id": pid, "note": note, "listener": listener, "expect": expect}
        ref = reference_probe_answer(listener)
        if ref is None:
            unavailable.append(pid)
        elif ref != expect["tcp"]:
            if not (listener and ":" in listener["address"] and listener.get("v6only", True)):
                raise GenerationError(f"{pid}: the reference answers {ref} for tcp; expected "
                                      f"{expect['tcp']} and no divergence recorded for it")
            p["divergence"] = PROBE_V6_WHY
            p["reference"] = {"tcp": ref}
        probes.append(p)
    doc = {"format": PROBES_FORMAT, "reference": {"package": REF_PACKAGE, "version": REF_VERSION},
           "description": PROBES_DESCRIPTION, "probes": probes}
    return doc, unavailable


def dumps_doc(doc, key):
    """A format-1 document (probes, commands) as committed: the header keys,
    then one line per entry of `doc[key]`."""
    lines = ["{"]
    for k in ("format", "reference", "description"):
        lines.append(f'  "{k}": {json.dumps(doc[k], ensure_ascii=False)},')
    lines.append(f'  "{key}": [')
    for i, p in enumerate(doc[key]):
        sep = "," if i < len(doc[key]) - 1 else ""
        lines.append("    " + json.dumps(p, ensure_ascii=False, separators=(", ", ": ")) + sep)
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dumps_probes(doc):
    return dumps_doc(doc, "probes")


def check_probes(path):
    """Problems of the probes file against the generator ([] when it matches); probes that
    cannot be opened here (no IPv6) are compared without their reference answer."""
    try:
        with open(path, encoding="utf-8") as f:
            got = json.load(f)
    except (OSError, ValueError) as e:
        return [f"cannot read {path}: {e}"], []
    want, unavailable = build_probes()
    problems = []
    for k in ("format", "reference", "description"):
        if got.get(k) != want[k]:
            problems.append(f"{path}: {k} differs from the generator's")
    gp = {p.get("id"): p for p in got.get("probes", [])}
    if list(gp) != [p["id"] for p in want["probes"]]:
        problems.append(f"{path}: probe ids {list(gp)} != {[p['id'] for p in want['probes']]}")
    for w in want["probes"]:
        g = gp.get(w["id"])
        if g is None:
            continue
        if w["id"] in unavailable:
            g = {k: v for k, v in g.items() if k not in ("divergence", "reference")}
        if g != w:
            problems.append(f"{w['id']}: file {_short(g)} != generator {_short(w)}")
    return problems, unavailable


# --------------------------------------------------------------------------------------
# Command-line cases (conformance/commands.json): what a script written for the reference
# CLI relies on (SPEC section 8), beyond what vectors.json's inputs express
# --------------------------------------------------------------------------------------

COMMANDS_FORMAT = 1
COMMANDS_DESCRIPTION = (
    "Command-line cases for port4me (SPEC section 8): each gives the arguments after the "
    "command (args) and the variables set on top of the clean environment (env, as in "
    "vectors.json; _PORT4ME_CHECK_AVAILABLE_PORTS_=any is in env where the case wants it). "
    "expect is {ports}, {port} (stdout), {error: code, mentions?} (a non-zero exit and a line "
    "containing Error; code and mentions for --strict-errors, through --json), or {exit, "
    "quiet?, version?} (the exit status; quiet: nothing printed; version: stdout is the "
    "version number alone on one line). alternatives, as in vectors.json, give the outcome "
    "on other sides than the command line's contract. Computed by running the reference "
    "CLI (python -m port4me 0.7.0) with conformance/reference.py, except where divergence "
    "says why the contract differs and reference records what the reference CLI does."
)
ERR_PORT = "ERR_PORT4ME_INVALID_PORT"
ERR_USAGE = "ERR_PORT4ME_USAGE"
_ANY = {CHECK_VAR: "any"}
_INT_WHY = ("the reference CLI reads counts with int(), which also takes {what}; SPEC section 8 "
            "accepts ASCII digits with an optional + and surrounding spaces only")
_TEST_LIST_WHY = ("the reference CLI lets --test win and ignores {what}; SPEC section 8 makes "
                  "two of --list, --test and --reserve (from flags or variables) a usage error")
# (id, args, env, expectation, note[, model]): expectation is "value" (the reference's
# ports), ("error", code, mentions[, why if the reference accepts it]), ("exit", status,
# quiet) or ("version",) (exit 0 and one line, the version number). A model is the case
# as vector inputs (user, tool, env): its alternatives are computed as a vector case's,
# from the command line's contract sides.
COMMAND_DEFS = [
    ("cli/no-arguments", [], dict(_ANY, LOGNAME="alice"), "value", "the user from LOGNAME",
     {"user": "", "env": {"LOGNAME": "alice"}}),
    ("cli/positional-tool", ["--user=alice", "rstudio"], _ANY, "value", "TOOL as an argument"),
    ("cli/tool-flag-beats-positional", ["--user=alice", "--tool=rstudio", "jupyter"], _ANY,
     "value", "--tool wins over TOOL"),
    ("cli/values-after-space", ["--user", "alice", "--prepend", "4321", "--list", "3"], _ANY,
     "value", "--flag value as well as --flag=value"),
    ("cli/user-twice-last-wins", ["--user=alice", "--user=bob"], _ANY, "value",
     "a flag given twice takes its last value"),
    ("cli/tool-twice-last-wins", ["--user=alice", "--tool=jupyter", "--tool=rstudio"], _ANY,
     "value", None),
    ("cli/list-twice-last-wins", ["--user=alice", "--list=5", "--list=2"], _ANY, "value", None),
    ("cli/empty-user-flag", ["--user="], dict(_ANY, LOGNAME="bob"), "value",
     "--user= is as if not given: LOGNAME"),
    ("cli/empty-user-flag-port4me-user", ["--user="], dict(_ANY, PORT4ME_USER="carol"), "value",
     "--user= is as if not given: PORT4ME_USER"),
    ("cli/empty-tool-flag", ["--user=alice", "--tool="], dict(_ANY, PORT4ME_TOOL="rstudio"),
     "value", "--tool= is as if not given: PORT4ME_TOOL applies",
     {"user": "alice", "tool": "", "env": {"PORT4ME_TOOL": "rstudio"}}),
    ("cli/skip-plus", ["--user=alice", "--skip=+2"], _ANY, "value", "a count may have a +"),
    ("cli/skip-spaces", ["--user=alice", "--skip= 2 "], _ANY, "value",
     "a count may have surrounding spaces"),
    ("cli/list-plus", ["--user=alice", "--list=+2"], _ANY, "value", None),
    ("cli/list-space", ["--user=alice", "--list= 3"], _ANY, "value", None),
    ("cli/env-skip-plus", ["--user=alice"], dict(_ANY, PORT4ME_SKIP="+2"), "value", None),
    ("cli/env-list-spaces", ["--user=alice"], dict(_ANY, PORT4ME_LIST=" 2 "), "value", None),
    ("cli/skip-underscore", ["--user=alice", "--skip=1_0"], _ANY,
     ("error", ERR_NUMBER, "--skip", _INT_WHY.format(what="'_' separators")), None),
    ("cli/list-fullwidth-digit", ["--user=alice", "--list=\uff13"], _ANY,
     ("error", ERR_NUMBER, "--list", _INT_WHY.format(what="non-ASCII digits")), None),
    ("cli/list-fraction", ["--user=alice", "--list=1.5"], _ANY, ("error", ERR_NUMBER, "--list"),
     None),
    ("cli/skip-negative-after-space", ["--user=alice", "--skip", "-1"], _ANY,
     ("error", ERR_NUMBER, "--skip"), "a negative value after a space is a value, and refused"),
    ("cli/test-empty", ["--test="], {}, ("error", ERR_NUMBER, "--test"), "--test= is no port"),
    ("cli/test-foo", ["--test=foo"], {}, ("error", ERR_NUMBER, "--test"), None),
    ("cli/test-65536", ["--test=65536"], {}, ("error", ERR_PORT, "--test"), None),
    ("cli/test-zero", ["--test=0"], {}, ("error", ERR_PORT, "--test"), None),
    ("cli/test-hook-any", ["--test=80"], _ANY, ("exit", 0, True),
     "the testing hook answers free, and --test prints nothing"),
    ("cli/help", ["--help"], {}, ("exit", 0, False), None),
    ("cli/version", ["--version"], {}, ("version",),
     "the version number alone on one line (SPEC section 8)"),
    ("cli/list-and-test", ["--user=alice", "--list=3", "--test=80"], _ANY,
     ("error", ERR_USAGE, "--list", _TEST_LIST_WHY.format(what="--list")),
     "two of --list, --test, --reserve: a usage error, not a silent choice"),
    ("cli/env-list-and-test", ["--user=alice", "--test=80"], dict(_ANY, PORT4ME_LIST="3"),
     ("error", ERR_USAGE, "PORT4ME_LIST", _TEST_LIST_WHY.format(what="PORT4ME_LIST")),
     "PORT4ME_LIST counts as --list"),
    ("cli/unknown-flag", ["--user=alice", "--bogus"], _ANY, ("error", ERR_USAGE, "--bogus"), None),
]


def _cli_outcome(o, listing):
    """The reference CLI's outcome as a `reference` record."""
    if o["timed_out"]:
        return {"hang": True}
    if o["exit"] != 0:
        return {"error": (o["stderr"].strip().splitlines() or [f"exit {o['exit']}"])[-1]}
    words = o["stdout"].split()
    if words and all(w.isdigit() for w in words):
        ports = [int(w) for w in words]
        return {"ports": ports} if listing else {"port": ports[0]}
    return {"exit": 0}


CLI_SIDES = {q: d.get("cli_contract", d["contract"]) for q, d in QUESTIONS.items()}


def command_alternatives(cid, model, expect):
    """The alternatives of a command-line case, from its model as vector inputs: what an
    implementation on other sides than the command line's contract gives."""
    case = dict(model, id=cid)
    base = make_call(case)
    own = [s for q, s in CLI_SIDES.items() if s != QUESTIONS[q]["contract"]]
    qs = candidate_questions(case, base)
    others = {q: [s for s in QUESTIONS[q]["sides"] if s != CLI_SIDES[q]] for q in qs}

    def outcome_of(sides):
        moved = {SIDE_QUESTION[s] for s in sides}
        return variant_outcome(case, base, [s for s in own if SIDE_QUESTION[s] not in moved] + sides)

    contract = outcome_of([])
    if contract != expect:
        raise GenerationError(f"{cid}: the side model gives {contract} on the command line's "
                              f"contract sides, but the reference CLI gives {expect}")
    return alternatives_for(qs, outcome_of, contract, others)


def build_commands():
    kit = _kit()
    cases = []
    for cid, args, env, spec, note, *model in COMMAND_DEFS:
        case = {"id": cid}
        if note:
            case["note"] = note
        case["args"] = list(args)
        if env:
            case["env"] = dict(env)
        o = run_reference_cli(args, env)
        listing = any(a.startswith("--list") for a in args) or "PORT4ME_LIST" in env
        if spec == "value":
            if o["timed_out"] or o["exit"] != 0:
                raise GenerationError(f"{cid}: the reference CLI fails: {o}")
            ports = [int(x) for x in o["stdout"].split()]
            case["expect"] = {"ports": ports} if listing else {"port": ports[0]}
            if model:
                alternatives = command_alternatives(cid, model[0], case["expect"])
                if alternatives:
                    case["alternatives"] = alternatives
        elif spec[0] == "version":
            case["expect"] = {"exit": 0, "version": True}
            if kit.match(case["expect"], o) is not None:
                raise GenerationError(f"{cid}: the reference CLI gives {o}")
        elif spec[0] == "exit":
            case["expect"] = {"exit": spec[1]}
            if spec[2]:
                case["expect"]["quiet"] = True
            quiet = not (o["stdout"] + o["stderr"]).strip()
            if o["exit"] != spec[1] or (spec[2] and not quiet):
                raise GenerationError(f"{cid}: the reference CLI gives {o}")
        else:
            case["expect"] = {"error": spec[1], "mentions": spec[2]}
            refused = not o["timed_out"] and o["exit"] != 0
            why = spec[3] if len(spec) > 3 else None
            if refused and why:
                raise GenerationError(f"{cid}: declared a divergence but the reference refuses it")
            if not refused:
                if not why:
                    raise GenerationError(f"{cid}: the reference CLI accepts it: {o}")
                case["divergence"] = why
                case["reference"] = _cli_outcome(o, listing)
        cases.append(case)
    return {"format": COMMANDS_FORMAT,
            "reference": {"package": REF_PACKAGE, "version": REF_VERSION, "cli": "python -m port4me"},
            "description": COMMANDS_DESCRIPTION, "commands": cases}


def dumps_commands(doc):
    return dumps_doc(doc, "commands")


def check_commands(path):
    try:
        with open(path, encoding="utf-8") as f:
            got = json.load(f)
    except (OSError, ValueError) as e:
        return [f"cannot read {path}: {e}"]
    want = build_commands()
    if got == want:
        return []
    problems = [f"{path}: {k} differs from the generator's" for k in ("format", "reference",
                                                                       "description")
                if got.get(k) != want[k]]
    gc = {c.get("id"): c for c in got.get("commands", [])}
    for w in want["commands"]:
        g = gc.get(w["id"])
        if g is None:
            problems.append(f"{w['id']}: missing from the file")
        elif g != w:
            keys = [k for k in dict.fromkeys(list(w) + list(g)) if g.get(k) != w.get(k)]
            problems.append(f"{w['id']}: " + "; ".join(
                f"{k}: file {_short(g.get(k))} != generator {_short(w.get(k))}" for k in keys))
    if [c.get("id") for c in got.get("commands", [])] != [c["id"] for c in want["commands"]]:
        problems.append(f"{path}: the command ids or their order differ from the generator's")
    return problems


# --------------------------------------------------------------------------------------
# Other implementations (conformance/implementations.json): the reference's Bash and R
# command lines, what they are recorded to do where no question covers it
# --------------------------------------------------------------------------------------

IMPLEMENTATIONS_FORMAT = 1
IMPLEMENTATIONS_DESCRIPTION = (
    "What other implementations of port4me are recorded to do, for conformance/run.py "
    "--implementation NAME: the implementation's sides on the questions of vectors.json, "
    "and its behaviours, each a difference from the contract that no question covers (an "
    "input it refuses, one it accepts, a listener it does not see), with the cases it "
    "affects per --via and what it gives there: {error: true} (a non-zero exit and a line "
    "containing Error), {exit: N}, or ports computed by the reference (PyPI port4me 0.7.0) "
    "for the inputs the implementation really uses. A case failing that way counts as an "
    "explained failure. Generated by conformance/reference.py from a model of each behaviour "
    "written from the implementation's source; checked by hand against upstream port4me "
    "0.7.1 (conformance/README.md)."
)
REFUSED = {"error": True}
SPEC_VARS = {"prepend": ("PORT4ME_PREPEND", "PORT4ME_PREPEND_SITE"),
             "include": ("PORT4ME_INCLUDE", "PORT4ME_INCLUDE_SITE"),
             "exclude": ("PORT4ME_EXCLUDE", "PORT4ME_EXCLUDE_SITE", "PORT4ME_EXCLUDE_UNSAFE")}
COUNT_FLAGS = ("--skip", "--list")


def _default_lists():
    mod = _ref()
    _clean_environ()
    mod = importlib.reload(mod)
    return mod.unsafe_ports_chrome, mod.unsafe_ports_firefox


def _expand(text, env, empty_is_default):
    """text with {chrome} and {firefox} replaced by the lists the variables give."""
    chrome, firefox = _default_lists()
    c = env.get("PORT4ME_EXCLUDE_UNSAFE_CHROME")
    f = env.get("PORT4ME_EXCLUDE_UNSAFE_FIREFOX")
    c = chrome if c is None or (c == "" and empty_is_default) else c
    f = firefox if f is None or (f == "" and empty_is_default) else f
    return text.replace("{chrome}", c).replace("{firefox}", f)


def parsed_specs(case, via, keeps_site, empty_is_default):
    """The spec strings an implementation parses for a vector case: an argument (under
    --via flags) replaces its user-level variable, and with keeps_site the _SITE and unsafe
    variables too are parsed; tokens expanded."""
    env = dict(case.get("env", {}))
    args = {}
    for field in SPEC_VARS:
        if field in case:
            if via == "flags":
                args[field] = case[field]
            else:
                env[SPEC_VARS[field][0]] = case[field]
    texts = []
    for field, names in SPEC_VARS.items():
        if field in args:
            texts.append(args[field])
            if not keeps_site:
                continue
            names = names[1:]
        for name in names:
            value = env.get(name)
            if name == "PORT4ME_EXCLUDE_UNSAFE" and (value is None or (value == "" and empty_is_default)):
                value = "{chrome},{firefox}"
            if value is not None:
                texts.append(value)
    return [_expand(t, env, empty_is_default) for t in texts]


def bash_refuses_spec(text):
    """The Bash CLI splits at commas and spaces (and newlines): a tab or other whitespace
    beside an item makes it an unknown port specification."""
    for line in text.replace(",", " ").replace(" ", "\n").split("\n"):
        if line.strip(" \t") and any(c.isspace() and c not in " \n" for c in line):
            return True
    return False


def r_refuses_spec(text):
    """The R package splits at each comma or space (strsplit "[, ]", which drops one empty
    string at the end): an empty item (a leading separator, two in a row) or an item that is
    not N or A-B in digits is a syntax error."""
    if text == "":
        return False
    items = re.split("[, ]", text)
    if items[-1] == "":
        items.pop()
    return any(not re.fullmatch(r"[0-9]+(-[0-9]+)?", item) for item in items)


def _count_value(case, key, via):
    """A count of a vector case as the command sees it: (text, from a variable?)."""
    var = "PORT4ME_" + key.upper()
    if key in case:
        return str(case[key]), via == "env"
    if var in case.get("env", {}):
        return case["env"][var], True
    return None, False


def _outcome_on(case_like, sides):
    """The outcome of vector-like inputs on an implementation's sides, by the reference."""
    case = dict(case_like)
    case.setdefault("id", "implementations")
    return variant_outcome(case, make_call(case), sides)


def _flag_values(args):
    """{flag: value} of --flag=value arguments (the last one wins)."""
    out = {}
    for a in args:
        m = re.match(r"^(--[A-Za-z][A-Za-z0-9-]*)=(.*)$", a, re.S)
        if m:
            out[m.group(1)] = m.group(2)
    return out


# ---- the Bash CLI -------------------------------------------------------------------------

BASH_SIDES = ["code-points", "user-variable", "keeps-site-unsafe", "drops-adjacent-items",
              "strips-one-comma", "empty-is-default"]


def bash_words(kind, case, via):
    """A word without '=' is the positional TOOL for the Bash CLI, whatever it looks like
    (--help, --version and --debug aside), and a second TOOL is an error."""
    if kind != "command":
        return None
    tool_given, tool = False, None
    for a in case["args"]:
        if a in ("--help", "--version", "--debug"):
            continue
        if re.match(r"^--.*=.*$", a, re.S):
            if a.startswith("--tool="):
                tool_given = True
            continue
        if tool_given:
            return REFUSED
        tool_given, tool = True, a
    if tool is None or not tool.startswith("--"):
        return None
    values = _flag_values(case["args"])
    return _outcome_on({"user": values.get("--user", ""), "tool": tool,
                        "env": {k: v for k, v in case.get("env", {}).items() if k != CHECK_VAR}},
                       BASH_SIDES)


def bash_empty_flag(kind, case, via):
    if kind == "vector":
        if via == "flags" and any(case.get(k) == "" for k in ("tool", "prepend", "include", "exclude")):
            return REFUSED
        return None
    if kind == "command" and any(re.match(r"^--[^=]*=$", a) for a in case["args"]):
        return REFUSED
    return None


def bash_digits_only(kind, case, via):
    texts = []
    if kind == "vector":
        for key in ("skip", "list"):
            text, _ = _count_value(case, key, via)
            if text is not None:
                texts.append(text)
    elif kind == "command":
        values = _flag_values(case["args"])
        texts = [values[f] for f in COUNT_FLAGS if f in values]
        texts += [case.get("env", {})[v] for v in ("PORT4ME_SKIP", "PORT4ME_LIST")
                  if case.get("env", {}).get(v)]
    if any(t != "" and not re.fullmatch(r"[0-9]+", t) for t in texts):
        return REFUSED
    return None


def bash_tabs(kind, case, via):
    if kind != "vector":
        return None
    specs = parsed_specs(case, via, keeps_site=True, empty_is_default=True)
    return REFUSED if any(bash_refuses_spec(t) for t in specs) else None


def bash_netstat(kind, case, via):
    if kind == "probe" and case["id"] == "probe/tcp-ipv6-any-dual-stack/tcp":
        return {"exit": 0}
    return None


def bash_zero_prepend(kind, case, via):
    """'00' is not '0' for the Bash CLI: port 0, which a prepend refuses (out of range)."""
    if kind != "vector":
        return None
    texts = [case.get("prepend"), case.get("env", {}).get("PORT4ME_PREPEND"),
             case.get("env", {}).get("PORT4ME_PREPEND_SITE")]
    for t in texts:
        if t and any(re.fullmatch("0+", x) and x != "0" for x in re.split(r"[,\s]+", t)):
            return REFUSED
    return None


def _simple_ports(text):
    """The ports of a spec text (tokens already expanded) by the contract's splitting; None
    when an item is not N or A-B (the implementation refuses it anyway)."""
    ports = set()
    for item in re.split(r"[,\s]+", text):
        if not item:
            continue
        m = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", item)
        if m is None:
            return None
        a = int(m.group(1))
        ports.update(range(a, int(m.group(2) or a) + 1))
    return ports - {0}


def bash_empty_set(kind, case, via):
    """With include minus exclude empty, the Bash CLI draws from 1024-65535 with nothing
    excluded (its LCG helper gets no subset)."""
    if kind != "vector":
        return None
    env = dict(case.get("env", {}))
    texts = {}
    for field, names in SPEC_VARS.items():
        parts = [case[field]] if field in case else [env.get(names[0], "")]
        for name in names[1:]:
            value = env.get(name, "")
            if name == "PORT4ME_EXCLUDE_UNSAFE" and value == "":
                value = "{chrome},{firefox}"
            parts.append(value)
        texts[field] = _expand(",".join(parts), env, empty_is_default=True)
    inc, exc = _simple_ports(texts["include"]), _simple_ports(texts["exclude"])
    if inc is None or exc is None or (inc or set(range(1024, 65536))) - exc:
        return None
    new = {k: v for k, v in case.items()
           if k not in ("include", "exclude", "env", "expect", "alternatives", "divergence",
                        "reference")}
    new["env"] = {k: v for k, v in env.items()
                  if not k.startswith(("PORT4ME_INCLUDE", "PORT4ME_EXCLUDE"))}
    new["env"]["PORT4ME_EXCLUDE_UNSAFE"] = "0"
    return _outcome_on(new, BASH_SIDES)


BASH_BEHAVIOURS = [
    ("words-without-equals", "takes --flag=value only: a word without '=' (--help, --version "
     "and --debug aside) is the positional TOOL, so `--user alice` is TOOL '--user' and then "
     "a second TOOL, an error; `--bogus` is TOOL '--bogus' (no error); a TOOL after "
     "--tool=... is an error", bash_words),
    ("empty-flag-values", "refuses an empty flag value (--user=, --tool=, --prepend=, "
     "--include=, --exclude=, ...): \"Option '--tool' must not be empty\"", bash_empty_flag),
    ("counts-digits-only", "a count (--skip, --list, PORT4ME_SKIP, PORT4ME_LIST) must be "
     "digits only: '+2' and ' 2' are refused", bash_digits_only),
    ("tabs-in-specs", "splits a port specification at commas and spaces (and newlines) only: "
     "a tab beside an item makes it an unknown port specification", bash_tabs),
    ("zero-written-00", "reads '00' as port 0, not as a lone 0: in a prepend it is refused "
     "(out of range)", bash_zero_prepend),
    ("empty-set-is-everything", "when include minus exclude is empty (e.g. include={firefox} "
     "with its default unsafe list, which an empty PORT4ME_EXCLUDE_UNSAFE keeps), draws from "
     "1024-65535 with nothing excluded instead of failing or looping", bash_empty_set),
    ("netstat-misses-tcp6", "--test asks netstat (its first choice of netstat, ss, ncat) and "
     "looks only at 'tcp' lines, so a listener on an IPv6 socket, dual-stack included, is "
     "not seen (with ss it would be)", bash_netstat),
]


# ---- the R package's CLI ------------------------------------------------------------------

R_SIDES = ["utf8-bytes", "account-name", "drops-site-unsafe", "drops-duplicates",
           "joins-non-empty", "empty-is-value", "empty-tool-given"]
INT_RE = r"[+-]?[0-9]+"


def r_integer_values(kind, case, via):
    """The R CLI turns a digit-only --key=value into an integer."""
    if kind == "vector":
        if via != "flags":
            return None
        values = {k: case[k] for k in ("user", "tool", "prepend", "include", "exclude")
                  if isinstance(case.get(k), str) and case[k] != ""}
    elif kind == "command":
        values = {f[2:]: v for f, v in _flag_values(case["args"]).items()
                  if f[2:] in ("user", "tool", "prepend", "include", "exclude")}
    else:
        return None
    for key, value in values.items():
        if not re.fullmatch(INT_RE, value) or abs(int(value)) >= 2**31:
            continue
        if key in ("user", "tool") or not 1 <= int(value) <= 65535:
            return REFUSED
    return None


def r_spec_items(kind, case, via):
    if kind != "vector":
        return None
    specs = parsed_specs(case, via, keeps_site=False, empty_is_default=False)
    if via == "flags":
        # A digit-only argument is an integer for the R CLI, not parsed.
        specs = [t for t in specs if not re.fullmatch(INT_RE, t)]
    return REFUSED if any(r_refuses_spec(t) for t in specs) else None


def r_fractions(kind, case, via):
    """as.integer() truncates a fraction in PORT4ME_SKIP or PORT4ME_LIST."""
    if kind != "vector":
        return None
    env = dict(case.get("env", {}))
    changed = False
    for var in ("PORT4ME_SKIP", "PORT4ME_LIST"):
        v = env.get(var)
        if v is not None and re.fullmatch(r"\s*[+-]?[0-9]*\.[0-9]*\s*", v) and re.search("[0-9]", v):
            env[var] = str(int(float(v)))
            changed = True
    if not changed:
        return None
    new = {k: v for k, v in case.items() if k not in ("env", "expect", "alternatives")}
    new["env"] = env
    return _outcome_on(new, R_SIDES)


def r_empty_list(kind, case, via):
    if kind == "vector" and case.get("env", {}).get("PORT4ME_LIST") == "" and "list" not in case:
        return REFUSED
    return None


def r_words(kind, case, via):
    """A --flag without '=' is TRUE for the R CLI; positional words fill the function's
    parameters in order (tool, then prepend, ...)."""
    if kind != "command":
        return None
    positional, tool_flag = 0, False
    for a in case["args"]:
        if re.match(r"^--[A-Za-z][A-Za-z0-9]*=", a):
            tool_flag = tool_flag or a.startswith("--tool=")
        elif re.match(r"^--[A-Za-z][A-Za-z0-9]*$", a):
            if a[2:] in ("user", "tool", "prepend", "include", "exclude", "skip", "list", "test"):
                return REFUSED
        elif not a.startswith("--"):
            positional += 1
            if tool_flag or positional > 1:
                return REFUSED
    return None


def r_empty_user(kind, case, via):
    if kind == "command" and "--user=" in case["args"] and not any(
            a.startswith("--tool=") and a != "--tool=" for a in case["args"]) \
            and not case.get("env", {}).get("PORT4ME_TOOL"):
        return REFUSED
    return None


def r_spaced_counts(kind, case, via):
    if kind != "command":
        return None
    values = _flag_values(case["args"])
    for f in COUNT_FLAGS:
        v = values.get(f)
        if v is not None and not re.fullmatch(INT_RE, v) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", v):
            return REFUSED
    return None


R_BEHAVIOURS = [
    ("integer-values", "the CLI turns a digit-only value into an integer: --user=123 and "
     "--tool=8080 are then refused (not character), and a spec that is 0 (--include=0, "
     "--prepend=00) is refused (0 is no port)", r_integer_values),
    ("spec-items", "splits a port specification at each comma or space: an empty item (a "
     "leading separator, two in a row; not one at the end) or an item with a tab or newline "
     "is a syntax error; so is PORT4ME_EXCLUDE_UNSAFE={chrome},{firefox} with both lists ''",
     r_spec_items),
    ("fractional-counts", "reads PORT4ME_SKIP and PORT4ME_LIST with as.integer(), which "
     "truncates a fraction (1.5 is 1, 2.0 is 2) where the contract refuses it", r_fractions),
    ("empty-list-variable", "refuses PORT4ME_LIST='' (as.integer('') is NA), which the "
     "contract and the Python reference take as unset", r_empty_list),
    ("words-without-equals", "a --flag without '=' is a switch (TRUE), so `--user alice` "
     "gives user TRUE, refused; positional words fill the function's parameters in order "
     "(tool, prepend, ...), so a TOOL after --tool=... is read as prepend and refused", r_words),
    ("empty-user-flag", "--user= is the user '' (the contract: not given), so with no tool "
     "the seed is empty, an error", r_empty_user),
    ("spaced-counts", "a count flag with spaces (--skip=' 2 ', --list=' 3') stays a string "
     "and is refused (not numeric)", r_spaced_counts),
]

IMPLEMENTATIONS = {
    "python-cli": {
        "title": "The reference's Python CLI (its recorded divergences are in the cases)",
        "version": REF_VERSION, "source": "PyPI port4me",
        "run": "python -m port4me", "sides": PYTHON_CLI_SIDES, "behaviours": []},
    "upstream-bash": {
        "title": "The Bash CLI of upstream port4me (HenrikBengtsson/port4me, bash/port4me)",
        "version": "0.7.1", "source": "github.com/HenrikBengtsson/port4me",
        "run": "bash bash/port4me", "sides": BASH_SIDES, "behaviours": BASH_BEHAVIOURS},
    "upstream-r": {
        "title": "The R package's CLI of upstream port4me (CRAN port4me, r/)",
        "version": "0.7.1", "source": "github.com/HenrikBengtsson/port4me (CRAN port4me)",
        "run": "Rscript -e port4me::port4me --args", "sides": R_SIDES,
        "behaviours": R_BEHAVIOURS},
}


def build_implementations(vectors, commands, probes):
    items = ([("vector", c) for c in vectors["cases"] if c.get("layer") != "core"]
             + [("command", c) for c in commands["commands"]])
    probe_items = []
    for p in probes["probes"]:
        if "args" in p:
            probe_items.append(("probe", {"id": p["id"]}))
        else:
            probe_items += [("probe", {"id": f"{p['id']}/{proto}"}) for proto in p["expect"]]
    items += probe_items
    out = {}
    for name, impl in IMPLEMENTATIONS.items():
        behaviours = []
        for bid, what, fn in impl["behaviours"]:
            cases = []
            for kind, case in items:
                by_outcome = {}
                for via in ("flags", "env"):
                    o = fn(kind, case, via)
                    if o is not None:
                        by_outcome.setdefault(json.dumps(o, sort_keys=True), []).append(via)
                for o, vias in by_outcome.items():
                    cases.append({"id": case["id"], "via": vias, "outcome": json.loads(o)})
            if not cases:
                raise GenerationError(f"implementation {name}: behaviour {bid} affects no case")
            behaviours.append({"id": bid, "what": what, "cases": cases})
        out[name] = {k: impl[k] for k in ("title", "version", "source", "run", "sides")}
        out[name]["behaviours"] = behaviours
    return {"format": IMPLEMENTATIONS_FORMAT, "description": IMPLEMENTATIONS_DESCRIPTION,
            "implementations": out}


def dumps_implementations(doc):
    """Header keys one per line, each implementation's keys one per line, each behaviour's
    cases one per line."""
    j = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))  # noqa: E731
    lines = ["{", f'  "format": {j(doc["format"])},', f'  "description": {j(doc["description"])},',
             '  "implementations": {']
    names = list(doc["implementations"])
    for i, name in enumerate(names):
        impl = doc["implementations"][name]
        lines.append(f"    {j(name)}: {{")
        for k in ("title", "version", "source", "run", "sides"):
            lines.append(f"      {j(k)}: {j(impl[k])},")
        lines.append('      "behaviours": [')
        for bi, b in enumerate(impl["behaviours"]):
            lines.append(f'        {{"id": {j(b["id"])}, "what": {j(b["what"])}, "cases": [')
            for ci, c in enumerate(b["cases"]):
                lines.append("          " + j(c) + ("," if ci < len(b["cases"]) - 1 else ""))
            lines.append("        ]}" + ("," if bi < len(impl["behaviours"]) - 1 else ""))
        lines.append("      ]")
        lines.append("    }" + ("," if i < len(names) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def check_implementations(path, want):
    try:
        with open(path, encoding="utf-8") as f:
            got = json.load(f)
    except (OSError, ValueError) as e:
        return [f"cannot read {path}: {e}"]
    if got == want:
        return []
    problems = [f"{path}: {k} differs from the generator's" for k in ("format", "description")
                if got.get(k) != want[k]]
    gi, wi = got.get("implementations", {}), want["implementations"]
    for name in sorted(set(gi) | set(wi)):
        g, w = gi.get(name), wi.get(name)
        if g != w:
            if g is None or w is None:
                problems.append(f"{name}: {'missing from the file' if g is None else 'unknown'}")
                continue
            for k in sorted(set(g) | set(w)):
                if g.get(k) != w.get(k):
                    problems.append(f"{name}: {k}: file {_short(g.get(k))} != generator "
                                    f"{_short(w.get(k))}")
    return problems


# --------------------------------------------------------------------------------------
# Building cases
# --------------------------------------------------------------------------------------

def _apply(call, overrides):
    call = dict(call)
    call["env"] = dict(call["env"])
    for k, v in (overrides or {}).items():
        call[k] = dict(v) if isinstance(v, dict) else v
    return call


def _expect_from(outcome, what):
    if "ports" in outcome:
        return {"ports": outcome["ports"]}
    if "port" in outcome:
        return {"port": outcome["port"]}
    raise GenerationError(f"{what}: expected a port result from the reference, got {outcome}")


class GenerationError(Exception):
    pass


def _error_expect(code, mentions):
    e = {"error": code}
    if mentions is not None:
        e["mentions"] = mentions
    return e


def build_case(d):
    case = dict(d.inputs)
    cid = case["id"]
    literal = make_call(case)

    if d.why is None and d.expected_call is None and d.reference_call is None:
        # Agreement case (possibly auto-labelled a divergence when an expected error is
        # not what the reference does).
        outcome = run_reference(literal)
        if d.error is None:
            case["expect"] = _expect_from(outcome, cid)
        else:
            code, mentions = d.error
            case["expect"] = _error_expect(code, mentions)
            if outcome.get("code") != code:
                if d.why is None:
                    raise GenerationError(
                        f"{cid}: expected {code} but the reference gives {outcome}; "
                        "give a divergence explanation (why=)")
    elif d.expected_call is not None:
        outcome = run_reference(_apply(literal, d.reference_call))
        expected = run_reference(_apply(literal, d.expected_call))
        case["expect"] = _expect_from(expected, cid)
    else:
        outcome = run_reference(_apply(literal, d.reference_call))
        if d.error is None:
            # The literal inputs through the env path are the project's behaviour; the
            # reference_call shows what the reference does with a Python argument.
            case["expect"] = _expect_from(run_reference(literal), cid)
        else:
            code, mentions = d.error
            case["expect"] = _error_expect(code, mentions)

    # An error case agrees with the reference when the reference raises the same kind of
    # error; everything else that differs from the reference is a divergence.
    if d.why is None and d.expected_call is not None:
        # A case the reference cannot express literally (e.g. a core-layer empty user):
        # computed through the equivalent call only, not compared with the literal call.
        if "layer" not in case:
            raise GenerationError(f"{cid}: equivalent-call-only cases must be layer=core")
        outcome = case["expect"]
    agrees = (("error" in case["expect"] and outcome.get("code") == case["expect"]["error"])
              or ("error" not in case["expect"] and public_outcome(outcome) == case["expect"]))
    if d.why is not None and (d.expected_call is not None or d.reference_call is not None):
        if agrees:
            raise GenerationError(f"{cid}: declared a divergence but the reference agrees: {outcome}")
    if not agrees:
        if d.why is None:
            raise GenerationError(f"{cid}: reference gives {outcome}, no divergence explanation")
        if cid.startswith("error/"):
            cid = "divergence/" + cid[len("error/"):]
            case["id"] = cid
        if not cid.startswith("divergence/"):
            raise GenerationError(f"{cid}: a divergence must be under divergence/")
        case["divergence"] = d.why
        case["reference"] = public_outcome(outcome)
    elif cid.startswith("divergence/"):
        raise GenerationError(f"{cid}: under divergence/ but agrees with the reference")

    if "layer" not in case and "error" not in case["expect"]:
        alternatives = build_alternatives(case, d, literal)
        if alternatives:
            case["alternatives"] = alternatives

    return {k: case[k] for k in CASE_KEYS if k in case}


def build_all(progress=False):
    cases = []
    for i, d in enumerate(DEFS):
        if progress and i % 50 == 0:
            print(f"reference.py: {i}/{len(DEFS)} cases", file=sys.stderr)
        cases.append(build_case(d))
    for c in cases:
        if c["id"] in SPEC_TABLE and c["expect"] != SPEC_TABLE[c["id"]]:
            raise GenerationError(f"{c['id']}: reference gives {c['expect']}, SPEC section 9 "
                                  f"says {SPEC_TABLE[c['id']]}")
    return {
        "format": FORMAT,
        "reference": {"package": REF_PACKAGE, "version": REF_VERSION},
        "description": DESCRIPTION,
        "questions": QUESTIONS,
        "cases": cases,
    }


# --------------------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------------------

def validate(doc):
    """Return a list of schema problems (empty when valid)."""
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"format must be {FORMAT}")
    if doc.get("reference") != {"package": REF_PACKAGE, "version": REF_VERSION}:
        problems.append("reference must be {package: port4me, version: 0.7.0}")
    cases = doc.get("cases")
    if not isinstance(cases, list):
        return problems + ["cases must be a list"]
    if len(cases) < 300:
        problems.append(f"only {len(cases)} cases (need at least 300)")
    seen = set()
    for c in cases:
        cid = c.get("id")
        where = f"case {cid!r}"
        if not isinstance(cid, str) or "/" not in cid or cid.split("/")[0] not in GROUPS:
            problems.append(f"{where}: bad id")
        if cid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(cid)
        extra = set(c) - set(CASE_KEYS)
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        if not isinstance(c.get("user"), str):
            problems.append(f"{where}: user must be a string")
        for k in ("tool", "prepend", "include", "exclude", "note", "divergence"):
            if k in c and not isinstance(c[k], str):
                problems.append(f"{where}: {k} must be a string")
        for k in ("skip", "list"):
            if k in c and (not isinstance(c[k], int) or isinstance(c[k], bool)):
                problems.append(f"{where}: {k} must be an integer")
        env = c.get("env", {})
        if not isinstance(env, dict):
            problems.append(f"{where}: env must be an object")
            env = {}
        for k, v in env.items():
            if not (k.startswith("PORT4ME_") or k in USER_VARS or k == CHECK_VAR):
                problems.append(f"{where}: env key {k} not allowed")
            if not isinstance(v, str):
                problems.append(f"{where}: env {k} must be a string")
        for field, var in SPEC_FIELDS:
            if field in c and var in env:
                problems.append(f"{where}: both {field} and env {var}")
        layer = c.get("layer")
        if layer not in (None, "core"):
            problems.append(f"{where}: layer must be 'core'")
        if layer == "core" and "env" in c:
            problems.append(f"{where}: a core-layer case cannot have env")
        if c.get("user") == "" and layer != "core":
            if not any(env.get(v) for v in ["PORT4ME_USER"] + USER_VARS):
                problems.append(f"{where}: empty user needs a user variable in env or layer=core")
        exp = c.get("expect")
        if not isinstance(exp, dict):
            problems.append(f"{where}: expect missing")
        elif set(exp) == {"ports"}:
            if not (isinstance(exp["ports"], list) and all(isinstance(p, int) for p in exp["ports"])):
                problems.append(f"{where}: bad ports")
            if "list" not in c and "PORT4ME_LIST" not in env:
                problems.append(f"{where}: ports without list")
        elif set(exp) == {"port"}:
            if not isinstance(exp["port"], int) or not 1 <= exp["port"] <= 65535:
                problems.append(f"{where}: bad port")
        elif "error" in exp and set(exp) <= {"error", "mentions"}:
            if exp["error"] not in ERROR_CODES:
                problems.append(f"{where}: unknown error code {exp['error']}")
        else:
            problems.append(f"{where}: bad expect {exp}")
        is_div = cid is not None and str(cid).startswith("divergence/")
        if is_div != ("divergence" in c) or is_div != ("reference" in c):
            problems.append(f"{where}: divergence/ cases (only) need divergence and reference")
        alts = c.get("alternatives")
        if alts is not None:
            if not isinstance(alts, dict) or not alts:
                problems.append(f"{where}: alternatives must be a non-empty object")
                alts = {}
            if isinstance(exp, dict) and "error" in exp:
                problems.append(f"{where}: an error case has no alternatives")
            for key, out in alts.items():
                sides = key.split("+")
                qs = [SIDE_QUESTION.get(s) for s in sides]
                if None in qs or len(set(qs)) != len(qs) or \
                        any(s == QUESTIONS[q]["contract"] for s, q in zip(sides, qs)):
                    problems.append(f"{where}: alternative {key!r} is not a set of non-contract "
                                    "sides of distinct questions")
                if not isinstance(out, dict) or not (
                        set(out) == {"ports"} or set(out) == {"port"} or set(out) == {"hang"}
                        or set(out) == {"as_account"}
                        or (set(out) == {"error"} and out["error"] in ERROR_CODES)):
                    problems.append(f"{where}: alternative {key!r} has a bad outcome {out}")
    if doc.get("questions") != QUESTIONS:
        problems.append("questions differ from the generator's")
    return problems


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------

def dumps(doc):
    """Header pretty-printed, one case per line (stable, diff-friendly)."""
    lines = ["{"]
    lines.append(f'  "format": {json.dumps(doc["format"])},')
    lines.append(f'  "reference": {json.dumps(doc["reference"], ensure_ascii=False)},')
    lines.append(f'  "description": {json.dumps(doc["description"], ensure_ascii=False)},')
    lines.append('  "questions": {')
    qs = list(doc["questions"].items())
    for i, (name, q) in enumerate(qs):
        sep = "," if i < len(qs) - 1 else ""
        lines.append(f"    {json.dumps(name)}: "
                     + json.dumps(q, ensure_ascii=False, separators=(", ", ": ")) + sep)
    lines.append("  },")
    lines.append('  "cases": [')
    cases = doc["cases"]
    for i, c in enumerate(cases):
        sep = "," if i < len(cases) - 1 else ""
        lines.append("    " + json.dumps(c, ensure_ascii=False, separators=(", ", ": ")) + sep)
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 200 else s[:200] + "..."


def check(path, probes_path, commands_path, implementations_path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"conformance: Error: cannot read {path}: {e}")
        print("conformance: 0 passed, 1 failed")
        return 1
    failures = []
    for p in validate(doc):
        failures.append(("schema", p))
    want = build_all(progress=True)
    for k in ("format", "reference", "description", "questions"):
        if doc.get(k) != want[k]:
            failures.append(("header", f"{k}: file {_short(doc.get(k))} != generator {_short(want[k])}"))

    file_cases = doc.get("cases") if isinstance(doc.get("cases"), list) else []
    got = {}
    for c in file_cases:
        if isinstance(c, dict):
            got.setdefault(c.get("id"), c)
    want_cases = {c["id"]: c for c in want["cases"]}
    passed = 0
    failed_ids = []
    for cid, w in want_cases.items():
        g = got.get(cid)
        if g is None:
            failed_ids.append(cid)
            failures.append((cid, "missing from the file (the generator produces it)"))
            continue
        diffs = []
        for k in CASE_KEYS:
            if g.get(k, None) != w.get(k, None):
                diffs.append(f"    {k}: file {_short(g.get(k))} != reference {_short(w.get(k))}")
        if diffs:
            failed_ids.append(cid)
            failures.append((cid, "differs:\n" + "\n".join(diffs)))
        else:
            passed += 1
    for cid in got:
        if cid not in want_cases:
            failed_ids.append(cid)
            failures.append((cid, "not produced by the generator (unknown id)"))
    file_order = [c.get("id") for c in file_cases if isinstance(c, dict)]
    if not failed_ids and file_order != [c["id"] for c in want["cases"]]:
        failures.append(("order", "cases are not in generator order"))

    # The labels: the reference CLI through the kit, its sides declared, has no unexplained
    # failure (a difference without an alternative or a divergence record).
    print("reference.py: running every case through the reference CLI (in-process)",
          file=sys.stderr)
    labels, counts = check_cli_labels(want)
    for msg in labels:
        failures.append(("labels", msg))
    probe_problems, unavailable = check_probes(probes_path)
    for msg in probe_problems:
        failures.append(("probes", msg))
    for msg in check_commands(commands_path):
        failures.append(("commands", msg))
    print("reference.py: recomputing the recorded behaviours of other implementations",
          file=sys.stderr)
    impls = build_implementations(want, build_commands(), build_probes()[0])
    for msg in check_implementations(implementations_path, impls):
        failures.append(("implementations", msg))

    for what, msg in failures:
        print(f"FAIL {what}: {msg}")
    n_failed = len(failed_ids) + sum(1 for w, _ in failures
                                     if w in ("schema", "header", "order", "labels", "probes",
                                              "commands", "implementations"))
    if failed_ids:
        print(f"conformance: failing case ids: {', '.join(map(str, failed_ids))}")
    n_div = sum(1 for c in want["cases"] if "divergence" in c)
    n_alt = sum(1 for c in want["cases"] if "alternatives" in c)
    print(f"conformance: {len(want['cases'])} cases from port4me {REF_VERSION} "
          f"({n_div} divergences, {n_alt} with alternatives) compared with {path}")
    print(f"conformance: the reference CLI through the kit: {cli_summary(counts)}")
    if unavailable:
        print(f"conformance: probes without their reference answer here (no IPv6): "
              f"{', '.join(unavailable)}")
    print(f"conformance: {passed} passed, {n_failed} failed")
    return 0 if n_failed == 0 else 1


def write(path, probes_path, commands_path, implementations_path):
    doc = build_all(progress=True)
    problems = validate(doc)
    labels, counts = check_cli_labels(doc)
    problems += [f"unlabelled difference from the reference CLI: {m}" for m in labels]
    if problems:
        for p in problems:
            print(f"reference.py: Error: {p}", file=sys.stderr)
        return 1
    probes, unavailable = build_probes()
    if unavailable:
        print(f"reference.py: Error: cannot open the listeners of {', '.join(unavailable)} "
              "(no IPv6?); probes.json needs the reference's answer for each", file=sys.stderr)
        return 1
    text = dumps(doc)
    assert json.loads(text) == doc
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    ptext = dumps_probes(probes)
    assert json.loads(ptext) == probes
    with open(probes_path, "w", encoding="utf-8") as f:
        f.write(ptext)
    commands = build_commands()
    ctext = dumps_commands(commands)
    assert json.loads(ctext) == commands
    with open(commands_path, "w", encoding="utf-8") as f:
        f.write(ctext)
    impls = build_implementations(doc, commands, probes)
    itext = dumps_implementations(impls)
    assert json.loads(itext) == impls
    with open(implementations_path, "w", encoding="utf-8") as f:
        f.write(itext)
    divs = [c["id"] for c in doc["cases"] if "divergence" in c]
    alts = [c["id"] for c in doc["cases"] if "alternatives" in c]
    print(f"reference.py: wrote {len(doc['cases'])} cases ({len(divs)} divergences, "
          f"{len(alts)} with alternatives, {len(text.encode('utf-8'))} bytes) to {path}")
    print(f"reference.py: wrote {len(probes['probes'])} probe cases to {probes_path}")
    print(f"reference.py: wrote {len(commands['commands'])} command-line cases to {commands_path}")
    n_rec = sum(len(b["cases"]) for i in impls["implementations"].values() for b in i["behaviours"])
    print(f"reference.py: wrote {len(impls['implementations'])} implementations ({n_rec} recorded "
          f"case outcomes) to {implementations_path}")
    print(f"reference.py: the reference CLI through the kit: {cli_summary(counts)}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true",
                      help="regenerate the vector, probe and command-line case files")
    mode.add_argument("--check", action="store_true",
                      help="verify the vector, probe and command-line case files")
    ap.add_argument("--vectors", default=DEFAULT_VECTORS, help="path of vectors.json")
    ap.add_argument("--probes", default=DEFAULT_PROBES, help="path of probes.json")
    ap.add_argument("--commands", default=DEFAULT_COMMANDS, help="path of commands.json")
    ap.add_argument("--implementations", default=DEFAULT_IMPLEMENTATIONS,
                    help="path of implementations.json")
    args = ap.parse_args(argv)
    try:
        if args.write:
            return write(args.vectors, args.probes, args.commands, args.implementations)
        return check(args.vectors, args.probes, args.commands, args.implementations)
    except GenerationError as e:
        print(f"reference.py: Error: {e}", file=sys.stderr)
        if args.check:
            print("conformance: 0 passed, 1 failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
