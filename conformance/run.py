#!/usr/bin/env python3
"""port4me conformance kit: run the shared vectors against a command-line implementation.

    python3 conformance/run.py [options] -- CMD [ARGS...]

Every case of conformance/vectors.json becomes one run of CMD ARGS with the
case's flags (--via flags, the default) or PORT4ME_* variables (--via env), in
a clean environment; the cases of conformance/commands.json give their own
arguments (flag forms a script relies on); the probe cases of
conformance/probes.json run `CMD ARGS --test=PORT` next to a listener the kit
opens itself. A case that gets no answer within the timeout is "slow"
(not wrong, not right). The closing line is `N passed, N failed, N slow,
N skipped`; the exit status is 0 only when nothing failed and nothing was slow
(--explained-ok: when every failure is recorded, as a divergence of the
reference or a behaviour of the --implementation named, and slow cases are
tolerated). Python 3.8 or later, standard library only. The schema and the
rules are in conformance/README.md; the contract is conformance/SPEC.md.
"""

import argparse
import itertools
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VECTORS = os.path.join(HERE, "vectors.json")
DEFAULT_PROBES = os.path.join(HERE, "probes.json")
DEFAULT_COMMANDS = os.path.join(HERE, "commands.json")
DEFAULT_IMPLEMENTATIONS = os.path.join(HERE, "implementations.json")

KIT_VERSION = 1
VECTOR_FORMATS = (2,)
PROBE_FORMATS = (1,)
COMMAND_FORMATS = (1,)
IMPLEMENTATION_FORMATS = (1,)

USER_VARS = ("LOGNAME", "USER", "LNAME", "USERNAME")
CHECK_VAR = "_PORT4ME_CHECK_AVAILABLE_PORTS_"
# The inputs of a case, in the order their flags are given.
INPUTS = ("user", "tool", "prepend", "include", "exclude", "skip", "list")
INPUT_VARS = {"user": "PORT4ME_USER", "tool": "PORT4ME_TOOL", "prepend": "PORT4ME_PREPEND",
              "include": "PORT4ME_INCLUDE", "exclude": "PORT4ME_EXCLUDE", "skip": "PORT4ME_SKIP",
              "list": "PORT4ME_LIST"}
# What the reference's own CLI test suite (port4me.bats) accepts as an error message.
ERROR_WORD = re.compile(r"error|ERROR|Error")
VIAS = ("flags", "env")
# What --version prints (SPEC section 8): the version number alone on one line.
VERSION_RE = re.compile(r"\A[0-9]+(\.[0-9]+)+([-+][0-9A-Za-z.+-]+)?\r?\n?\Z")

# Result statuses, in the order they are counted.
PASS, SIDE, STRICTER, EXPLAINED, FAIL, SLOW, SKIP = (
    "pass", "side", "stricter", "explained", "fail", "slow", "skip")
PASSING = (PASS, SIDE, STRICTER)
FAILING = (EXPLAINED, FAIL)
LABEL = {PASS: "pass", SIDE: "pass", STRICTER: "stricter", EXPLAINED: "diverges", FAIL: "FAIL",
         SLOW: "slow", SKIP: "skip"}


class KitError(Exception):
    """A problem with the kit's inputs (vectors file, options), not with the implementation."""


class Skip(Exception):
    """A case the command cannot express; the message is the reason."""


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------

def load_json(path, what, formats):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise KitError(f"cannot read the {what} file {path}: {e}")
    if doc.get("format") not in formats:
        raise KitError(f"{path}: format {doc.get('format')!r} is not one this kit reads "
                       f"({', '.join(map(str, formats))})")
    return doc


class Questions:
    """The questions on which the reference's own implementations legitimately differ."""

    def __init__(self, doc):
        self.q = doc.get("questions", {})
        self.side_question = {}
        for name, q in self.q.items():
            for side in q["sides"]:
                if side in self.side_question:
                    raise KitError(f"side {side!r} belongs to two questions")
                self.side_question[side] = name

    def names(self):
        return list(self.q)

    def expect_side(self, question):
        """The side the cases' `expect` holds (the contract of the API)."""
        return self.q[question]["contract"]

    def cli_contract(self, question):
        """The contract side for a command line (differs from `expect` where SPEC section 8 says so)."""
        q = self.q[question]
        return q.get("cli_contract", q["contract"])

    def applies(self, question, via):
        return via in self.q[question].get("via", VIAS)

    def arises(self, side, via):
        """Whether an implementation on `side` differs from the contract under `via` (a side's
        own "via", else its question's): the Python CLI keeps duplicates only in a prepend
        argument, the Bash CLI also in PORT4ME_PREPEND."""
        q = self.q[self.side_question[side]]
        return via in q["sides"][side].get("via", q.get("via", VIAS))

    def effective(self, question, side, via):
        """The side an implementation on `side` shows under `via`: where its difference does
        not arise it behaves as the side `expect` holds."""
        if side is None or via is None or side == self.expect_side(question) or self.arises(side, via):
            return side
        return self.expect_side(question)

    def key_arises(self, assignment, via):
        """Whether an alternative ({question: side}) can show under `via` (None: any)."""
        return via is None or all(self.applies(q, via) and self.arises(s, via)
                                  for q, s in assignment.items())

    def parse_key(self, key):
        """An alternatives key ("side" or "side+side") as {question: side}."""
        out = {}
        for side in key.split("+"):
            q = self.side_question.get(side)
            if q is None:
                raise KitError(f"alternative {key!r} names an unknown side {side!r}")
            out[q] = side
        return out

    def declared(self, sides):
        """--side values as {question: side}; "contract" means every command-line contract side."""
        out = {}
        for s in sides:
            if s == "contract":
                for q in self.q:
                    out.setdefault(q, self.cli_contract(q))
                continue
            q = self.side_question.get(s)
            if q is None:
                known = ", ".join(sorted(self.side_question))
                raise KitError(f"--side {s}: not a side of any question (known: {known}, contract)")
            out[q] = s
        # Explicit sides win over "contract", whatever the order.
        for s in sides:
            if s != "contract":
                out[self.side_question[s]] = s
        dup = [q for q in self.q if sum(1 for s in sides if self.side_question.get(s) == q) > 1]
        if dup:
            raise KitError(f"--side names two sides of {', '.join(dup)}")
        return out


# --------------------------------------------------------------------------------------
# Mapping a case to a command line
# --------------------------------------------------------------------------------------

def clean_environ(extra=None):
    """The process environment without PORT4ME_*, _PORT4ME_* and the user variables, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("PORT4ME_") or k.startswith("_PORT4ME_") or k in USER_VARS)}
    env.update(extra or {})
    return env


def case_invocation(case, via):
    """(flags, variables) for a vector case: the arguments after CMD and the variables set
    on top of the clean environment. Raises Skip when the case cannot be expressed."""
    if case.get("layer") == "core":
        raise Skip("core layer only (the user taken literally, no environment); a command line "
                   "always resolves one")
    case_env = case.get("env", {})
    env = {CHECK_VAR: "any"}
    env.update(case_env)
    flags = []
    for key in INPUTS:
        if key not in case:
            continue
        value = case[key]
        if key == "user" and value == "":
            continue  # "" = not given
        text = str(value)
        if via == "flags":
            flags.append(f"--{key}={text}")
        else:
            var = INPUT_VARS[key]
            if var in case_env:
                raise Skip(f"{key} is both an argument and {var} (the case is about which wins); "
                           "only --via flags expresses it")
            env[var] = text
    return flags, env


def mentions_for(case, via):
    """What the error message must contain, for --strict-errors."""
    m = case["expect"].get("mentions")
    if m is not None and via == "env" and m in INPUT_VARS and m in case:
        return INPUT_VARS[m]  # "skip" given as PORT4ME_SKIP is reported under that name
    return m


# --------------------------------------------------------------------------------------
# Running a command
# --------------------------------------------------------------------------------------

def run_command(argv, env, timeout):
    """Run argv; return an outcome dict (exit, stdout, stderr, timed_out, seconds)."""
    start = time.monotonic()
    kwargs = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True  # so that a timeout kills the whole process group
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, **kwargs)
    except OSError as e:
        raise KitError(f"cannot run {argv[0]!r}: {e}")
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            if os.name == "posix":
                os.killpg(p.pid, signal.SIGKILL)
            else:
                p.kill()
        except OSError:
            pass
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
    return {
        "exit": None if timed_out else p.returncode,
        "stdout": out.decode("utf-8", "replace"),
        "stderr": err.decode("utf-8", "replace"),
        "timed_out": timed_out,
        "seconds": round(time.monotonic() - start, 3),
    }


def json_error_of(stderr):
    """The {"error": {"code", "message"}} object on a line of stderr, if any."""
    for line in stderr.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict) and isinstance(v.get("error"), dict):
            e = v["error"]
            return {"code": e.get("code"), "message": e.get("message")}
    return None


def account_name():
    """The name of the account running the kit (what an implementation that takes the user
    from the account alone, as the R package does, uses)."""
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        import getpass
        return getpass.getuser()


def account_run(argv, env, timeout):
    """The same command with the account's own name as the user, and no user variable:
    the outcome an `as_account` expectation stands for."""
    env = {k: v for k, v in env.items() if k not in USER_VARS and k != "PORT4ME_USER"}
    o = run_command(argv, env, timeout)
    o["user"] = account_name()
    return o


# --------------------------------------------------------------------------------------
# Judging one outcome
# --------------------------------------------------------------------------------------

def printed_ports(stdout):
    """The ports on stdout, one per line, or None when stdout is anything else."""
    lines = [line.strip() for line in stdout.splitlines()]
    while lines and lines[-1] == "":
        lines.pop()
    if not lines or not all(line.isascii() and line.isdigit() for line in lines):
        return None
    return [int(line) for line in lines]


def describe(o):
    """A short account of an outcome."""
    if o["timed_out"]:
        t = o.get("timeout")
        return f"no answer within {t:g} s (a hang)" if isinstance(t, (int, float)) else "a hang"
    if o["exit"] == 0:
        ports = printed_ports(o["stdout"])
        if ports is not None:
            return f"ports {_short(ports)}" if len(ports) != 1 else f"port {ports[0]}"
        return f"exit 0, stdout {_short(o['stdout'])}"
    first = next((line for line in (o["stderr"] + o["stdout"]).splitlines() if line.strip()), "")
    return f"exit {o['exit']}: {_short(first.strip(), 160)}"


def _short(v, n=120):
    s = v if isinstance(v, str) else json.dumps(v)
    if not isinstance(v, str):
        return s if len(s) <= n else s[:n] + "...]"
    s = json.dumps(s, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + '..."'


def expectation_text(exp):
    if "hang" in exp:
        return "a hang"
    if "as_account" in exp:
        return "what the command gives for the account's own name"
    if "exit" in exp:
        return (f"exit {exp['exit']}" + (" with nothing printed" if exp.get("quiet") else "")
                + (" and the version number" if exp.get("version") else ""))
    if "error" in exp:
        m = f" mentioning {exp['mentions']!r}" if exp.get("mentions") else ""
        code = f"{exp['error']}{m}" if isinstance(exp["error"], str) else "refused"
        return f"an error ({code})"
    if "ports" in exp:
        return f"ports {_short(exp['ports'])}"
    return f"port {exp['port']}"


def slow_text(o):
    t = o.get("timeout")
    within = f" within {t:g} s" if isinstance(t, (int, float)) else ""
    return f"no answer{within}: slow, not wrong (a larger --timeout may let it finish)"


def match(exp, o, strict=False, mentions=None):
    """None when outcome o satisfies expectation exp, else why not."""
    if "hang" in exp:
        return None if o["timed_out"] else "expected a hang"
    if o["timed_out"]:
        return f"expected {expectation_text(exp)}, got no answer within the timeout"
    if "as_account" in exp:
        d = o.get("as_account")
        if d is None or d["timed_out"]:
            return "expected the answer for the account's own name, which the kit could not get"
        same = (d["exit"] != 0 and o["exit"] != 0) or (
            d["exit"] == 0 and o["exit"] == 0 and printed_ports(d["stdout"]) is not None
            and printed_ports(o["stdout"]) == printed_ports(d["stdout"]))
        return None if same else (f"expected what the account's own name {d.get('user')!r} gives "
                                  f"({describe(d)}), got {describe(o)}")
    if "exit" in exp:
        noise = (o["stdout"] + o["stderr"]).strip()
        if o["exit"] != exp["exit"]:
            return f"expected exit {exp['exit']}, got {describe(o)}"
        if exp.get("quiet") and noise:
            return f"exit {exp['exit']} as expected, but it printed {_short(noise)} (it prints nothing)"
        if exp.get("version") and not VERSION_RE.match(o["stdout"]):
            return (f"expected the version number alone on one line (0.7.1, 1.2.0-rc.1), got "
                    f"stdout {_short(o['stdout'])}")
        return None
    if "error" in exp:
        if o["exit"] == 0:
            return f"expected {expectation_text(exp)}, got {describe(o)}"
        if not ERROR_WORD.search(o["stdout"] + o["stderr"]):
            return f"exited {o['exit']} without a line containing Error"
        if strict and str(exp["error"]).startswith("ERR_"):
            if o["stdout"].strip():
                return f"an error with output on stdout: {_short(o['stdout'])}"
            je = o.get("json_error")
            if je is None:
                return ('with --json, no {"error": {"code", "message"}} line on stderr: '
                        + _short(o.get("json_stderr", "")))
            if je.get("code") != exp["error"]:
                return f"error code {je.get('code')}, expected {exp['error']} ({_short(je.get('message') or '')})"
            if mentions and mentions not in (je.get("message") or ""):
                return f"error message {_short(je.get('message') or '')} does not mention {mentions!r}"
        return None
    if o["exit"] != 0:
        return f"expected {expectation_text(exp)}, got {describe(o)}"
    got = printed_ports(o["stdout"])
    want = exp["ports"] if "ports" in exp else [exp["port"]]
    if got != want:
        return f"expected {expectation_text(exp)}, got {describe(o)}"
    return None


def reference_matches(ref, o):
    """Whether o does what the reference is recorded to do (kind only, for errors)."""
    if ref is None:
        return False
    if "hang" in ref:
        return o["timed_out"]
    if "error" in ref:
        return not o["timed_out"] and o["exit"] != 0
    if "exit" in ref:
        return not o["timed_out"] and o["exit"] == ref["exit"]
    return match(ref, o) is None


def candidates(case, questions, via):
    """[(assignment, expectation)]: `expect` (assignment {}) and every alternative that can
    show under this --via (None: any); an assignment is {question: non-contract side}."""
    out = [({}, case["expect"])]
    for key, exp in case.get("alternatives", {}).items():
        a = questions.parse_key(key)
        if questions.key_arises(a, via):
            out.append((a, exp))
    return out


def needs_account_run(case, questions, via):
    return any("as_account" in exp for _, exp in candidates(case, questions, via))


def unmatched(case, o, strict, why, alts, reference_word="the reference"):
    """(status, detail) of an outcome that no expectation of the case matches."""
    expect = case["expect"]
    if "error" in expect and "divergence" in case and not strict and (o["timed_out"] or o["exit"] == 0):
        return STRICTER, (f"accepted ({describe(o)}); the contract is stricter here: "
                          f"{expect['error']} ({case['divergence']})")
    if "divergence" in case and reference_matches(case.get("reference"), o) and \
            not ("error" in expect and not o["timed_out"] and o["exit"] != 0):
        return EXPLAINED, f"{why}: as {reference_word} does (recorded divergence: {case['divergence']})"
    if o["timed_out"]:
        return SLOW, slow_text(o)
    return FAIL, why + (f" (nor any alternative: {', '.join(alts)})" if alts else "")


def judge_case(case, o, questions, via, strict):
    """First judgement of a vector case, before the sides are settled: a dict with the
    assignments that match (matches), the questions in play, and, when none matches,
    a status (stricter, explained, slow, fail) with its detail."""
    cands = candidates(case, questions, via)
    qs = sorted({q for a, _ in cands for q in a})
    mentions = mentions_for(case, via)
    matches, reasons = [], []
    for a, exp in cands:
        why = match(exp, o, strict, mentions if not a else None)
        if why is None:
            matches.append(a)
        else:
            reasons.append((a, why))
    v = {"questions": qs, "matches": matches}
    if matches:
        return v
    alts = [k for k in case.get("alternatives", {}) if questions.key_arises(questions.parse_key(k), via)]
    v["status"], v["detail"] = unmatched(case, o, strict, reasons[0][1], alts)
    return v


def settle_sides(verdicts, questions, declared):
    """The side taken on each question: the declared one, else the one most cases show.
    Returns {question: {"declared", "taken", "votes"}}."""
    votes = {q: {} for q in questions.names()}
    for v in verdicts:
        if not v.get("matches"):
            continue
        for q in v["questions"]:
            sides = {a.get(q, questions.expect_side(q)) for a in v["matches"]}
            if len(sides) == 1:
                s = sides.pop()
                votes[q][s] = votes[q].get(s, 0) + 1
    out = {}
    for q in questions.names():
        taken = declared.get(q)
        if taken is None and votes[q]:
            best = max(votes[q].values())
            tied = sorted(s for s, n in votes[q].items() if n == best)
            taken = questions.expect_side(q) if questions.expect_side(q) in tied else tied[0]
        out[q] = {"declared": declared.get(q), "taken": taken, "votes": votes[q]}
    return out


def taken_under(sides, questions, q, via, base=None):
    """The side taken on q as it shows under via (None: not settled)."""
    t = sides.get(q, {}).get("taken")
    if t is None:
        return None
    return questions.effective(q, t, via)


def final_status(case, v, sides, questions, via=None):
    """(status, sides shown, detail) of a vector case once the sides are settled."""
    if not v.get("matches"):
        return v["status"], [], v["detail"]
    qs = v["questions"]
    ok = [a for a in v["matches"]
          if all(taken_under(sides, questions, q, via) in (None, a.get(q, questions.expect_side(q)))
                 for q in qs)]
    if ok:
        a = min(ok, key=len)
        shown = [a[q] for q in qs if q in a]
        # SIDE: passed on a side other than the command-line contract's.
        off = [s for s in shown if s != questions.cli_contract(questions.side_question[s])]
        return (SIDE if off else PASS), shown, ""
    took = min(v["matches"], key=len)
    here = ", ".join(f"{q}: {took.get(q, questions.expect_side(q))}" for q in qs)
    there = ", ".join(f"{q}: {taken_under(sides, questions, q, via)}"
                      + (" (declared)" if sides[q]["declared"] else "") for q in qs)
    detail = f"took {here} in this case, but {there}"
    if "divergence" in case and reference_matches(case.get("reference"), v["outcome"]):
        return EXPLAINED, [], detail + f" (recorded divergence: {case['divergence']})"
    return FAIL, [], detail


# --------------------------------------------------------------------------------------
# Implementations: what other implementations are recorded to do (implementations.json)
# --------------------------------------------------------------------------------------

class Known:
    """The recorded behaviours of the implementations in implementations.json: for each,
    its sides and, per case and --via, what it does where it differs from the contract
    in a way no question covers (a refusal, an input it accepts, a probe it misses)."""

    def __init__(self, doc=None, chosen=None):
        self.impls = (doc or {}).get("implementations", {})
        if chosen is not None and chosen not in self.impls:
            raise KitError(f"--implementation {chosen}: not in implementations.json "
                           f"(known: {', '.join(sorted(self.impls)) or 'none'})")
        self.chosen = chosen
        self.index = {}
        for name, impl in self.impls.items():
            for b in impl.get("behaviours", []):
                for c in b["cases"]:
                    for via in c.get("via", VIAS):
                        self.index.setdefault(name, {}).setdefault((c["id"], via), []).append(
                            (b["id"], b["what"], c["outcome"]))

    def sides(self):
        return list(self.impls[self.chosen].get("sides", [])) if self.chosen else []

    def explain(self, status, detail, cid, o, via):
        """A FAIL (or a slow run, when a hang is recorded) that the chosen implementation is
        recorded to give becomes EXPLAINED; a FAIL that another implementation is recorded
        to give says so."""
        if status not in (FAIL, SLOW):
            return status, detail
        if self.chosen:
            for bid, what, outcome in self.index.get(self.chosen, {}).get((cid, via), []):
                if match(outcome, o) is None:
                    return EXPLAINED, (f"{detail}: as {self.chosen} is recorded to do "
                                       f"({bid}: {what})")
        if status == FAIL:
            hints = [f"{name} is recorded to do this ({bid}; --implementation {name})"
                     for name, idx in sorted(self.index.items()) if name != self.chosen
                     for bid, _what, outcome in idx.get((cid, via), []) if match(outcome, o) is None]
            if hints:
                detail += " [" + "; ".join(hints) + "]"
        return status, detail


# --------------------------------------------------------------------------------------
# Command-line cases
# --------------------------------------------------------------------------------------

def run_command_case(case, args, base_env):
    """Run one case of commands.json; return (record, outcome), judged later (its
    alternatives need the settled sides)."""
    env = dict(base_env)
    env.update(case.get("env", {}))
    argv = args.cmd + case["args"]
    o = run_command(argv, env, args.timeout)
    o["timeout"] = args.timeout
    exp = case["expect"]
    if args.strict_errors and "error" in exp and not o["timed_out"] and o["exit"] != 0:
        j = run_command(argv + ["--json"], env, args.timeout)
        o["json_error"] = json_error_of(j["stderr"])
        o["json_stderr"] = j["stderr"]
    if any("as_account" in a for a in case.get("alternatives", {}).values()):
        o["as_account"] = account_run(argv + ["--user=" + account_name()], env, args.timeout)
    rec = {"id": case["id"], "kind": "command", "argv": argv, "env": case.get("env", {}),
           "exit": o["exit"], "timed_out": o["timed_out"], "stdout": o["stdout"],
           "stderr": o["stderr"], "seconds": o["seconds"]}
    if "json_error" in o:
        rec["json_error"] = o["json_error"]
    return rec, o


def judge_command(case, o, sides, questions, strict):
    """(status, sides shown, detail) of a command-line case. `expect` holds the command
    line's contract; `alternatives` the outcome for other sides (judged against the sides
    settled by the vectors, or declared)."""
    exp = case["expect"]
    cands = [({}, exp)] + [(questions.parse_key(k), e) for k, e in case.get("alternatives", {}).items()]
    qs = sorted({q for a, _ in cands for q in a})
    matches, first_why = [], None
    for a, e in cands:
        why = match(e, o, strict and not a, exp.get("mentions") if not a else None)
        if why is None:
            matches.append(a)
        elif first_why is None:
            first_why = why
    # A command line is a flags run: the sides show as they do under --via flags.
    good = [a for a in matches
            if all(taken_under(sides, questions, q, "flags") in (None, a.get(q, questions.cli_contract(q)))
                   for q in qs)]
    if good:
        a = min(good, key=len)
        shown = [a[q] for q in qs if q in a and a[q] != questions.cli_contract(q)]
        return (SIDE if shown else PASS), shown, ""
    if matches:
        took = min(matches, key=len)
        here = ", ".join(f"{q}: {took.get(q, questions.cli_contract(q))}" for q in qs)
        there = ", ".join(f"{q}: {taken_under(sides, questions, q, 'flags')}" for q in qs)
        return FAIL, [], f"took {here} in this case, but {there}"
    status, detail = unmatched(case, o, strict, first_why, [k for k in case.get("alternatives", {})],
                               "the reference CLI")
    return status, [], detail


# --------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------

def ipv6_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port():
    """A port that nothing holds on any address of either family, for tcp and udp."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        try:
            held = []
            for fam, typ, addr in ((socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0"),
                                   (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0")) + (
                    ((socket.AF_INET6, socket.SOCK_STREAM, "::"),
                     (socket.AF_INET6, socket.SOCK_DGRAM, "::")) if ipv6_available() else ()):
                t = socket.socket(fam, typ)
                held.append(t)
                if fam == socket.AF_INET6:
                    t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                t.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for t in held:
                t.close()
    raise KitError("found no port free on every address for the probe cases")


def open_listener(spec, port):
    """The socket a probe case asks for, bound (and listening, for tcp) on port."""
    addr = spec["address"]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    typ = socket.SOCK_STREAM if spec["protocol"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, typ)
    try:
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if spec.get("v6only") else 0)
        s.bind((addr, port))
        if typ == socket.SOCK_STREAM:
            s.listen(8)
    except OSError:
        s.close()
        raise
    return s


_probe_lock = threading.Lock()


def run_probe(probe, protocol, cmd, base_env, timeout):
    """Run `CMD --test=PORT` (plus --protocol=udp) with the probe's listener open."""
    with _probe_lock:  # one listener at a time: each probe owns its port
        port = free_port()
        sock = open_listener(probe["listener"], port) if probe.get("listener") else None
        try:
            flags = [f"--test={port}"] + (["--protocol=udp"] if protocol == "udp" else [])
            o = run_command(cmd + flags, base_env, timeout)
        finally:
            if sock is not None:
                sock.close()
    o["timeout"] = timeout
    o["argv"] = cmd + flags
    o["port"] = port
    return o


def judge_probe(probe, protocol, o):
    want = probe["expect"][protocol]
    word = {0: "free (exit 0)", 1: "in use (exit 1)"}
    if o["timed_out"]:
        return SLOW, slow_text(o)
    got = o["exit"]
    noise = (o["stdout"] + o["stderr"]).strip()
    if got == want:
        if noise:
            return FAIL, f"{word[want]} as expected, but --test printed {_short(noise)} (it prints nothing)"
        return PASS, ""
    text = word.get(got, f"exit {got}: {_short(noise)}")
    ref = probe.get("reference", {}).get(protocol)
    if ref is not None and got == ref and got != want:
        return EXPLAINED, (f"expected {word[want]}, got {text}: as the reference does "
                           f"(recorded divergence: {probe['divergence']})")
    return FAIL, f"expected {word[want]}, got {text}"


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------

def help_text(cmd, base_env, timeout):
    o = run_command(cmd + ["--help"], base_env, timeout)
    return o["stdout"] + o["stderr"]


def run_find_probe(probe, args, base_env):
    """Run `CMD ARGS` (the probe's args, {port} replaced) with the probe's listener open."""
    with _probe_lock:
        port = free_port()
        sock = open_listener(probe["listener"], port) if probe.get("listener") else None
        try:
            argv = args.cmd + [a.replace("{port}", str(port)) for a in probe["args"]]
            o = run_command(argv, base_env, args.timeout)
            o["timeout"] = args.timeout
            if args.strict_errors and "error" in probe["expect"] and not o["timed_out"] \
                    and o["exit"] != 0:
                j = run_command(argv + ["--json"], base_env, args.timeout)
                o["json_error"] = json_error_of(j["stderr"])
                o["json_stderr"] = j["stderr"]
        finally:
            if sock is not None:
                sock.close()
    o["argv"] = argv
    return o


def run_vector(case, args, base_env, questions):
    """Run one vector case; return its result record (before the sides are settled)."""
    rec = {"id": case["id"], "kind": "vector"}
    try:
        flags, env = case_invocation(case, args.via)
    except Skip as e:
        rec.update(status=SKIP, detail=str(e))
        return rec, None
    full_env = dict(base_env)
    full_env.update(env)
    argv = args.cmd + flags
    o = run_command(argv, full_env, args.timeout)
    o["timeout"] = args.timeout
    wants_error = any("error" in exp for _, exp in candidates(case, questions, args.via))
    if args.strict_errors and wants_error and not o["timed_out"] and o["exit"] != 0:
        j = run_command(argv + ["--json"], full_env, args.timeout)
        o["json_error"] = json_error_of(j["stderr"])
        o["json_stderr"] = j["stderr"]
    if needs_account_run(case, questions, args.via):
        if args.via == "flags":
            o["as_account"] = account_run(argv + ["--user=" + account_name()], full_env, args.timeout)
        else:
            o["as_account"] = account_run(argv, dict(full_env, PORT4ME_USER=account_name()),
                                          args.timeout)
    rec.update(argv=argv, env=env, exit=o["exit"], timed_out=o["timed_out"],
               stdout=o["stdout"], stderr=o["stderr"], seconds=o["seconds"])
    if "json_error" in o:
        rec["json_error"] = o["json_error"]
    v = judge_case(case, o, questions, args.via, args.strict_errors)
    v["outcome"] = o
    return rec, v


def select(items, pattern):
    if not pattern:
        return items
    rx = re.compile(pattern)
    return [c for c in items if rx.search(c["id"])]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        i = argv.index("--")
        own, cmd = argv[:i], argv[i + 1:]
    else:
        own, cmd = argv, []
    ap = argparse.ArgumentParser(
        prog="run.py", description=__doc__.split("\n\n")[0],
        usage="python3 conformance/run.py [options] -- CMD [ARGS...]")
    ap.add_argument("--via", choices=VIAS, default="flags",
                    help="give the case's inputs as flags (--user=... --list=...) or as PORT4ME_* "
                         "variables (default: flags)")
    ap.add_argument("--side", action="append", default=[], metavar="SIDE[,SIDE...]",
                    help="declare the implementation's side on a question (see the vectors' "
                         "questions); 'contract' = the command-line contract's sides. "
                         "Undeclared sides are inferred from the output")
    ap.add_argument("--strict-errors", action="store_true",
                    help="error cases must also print the expected code with --json "
                         "({\"error\": {\"code\", \"message\"}} on stderr), the message must "
                         "mention what the case says, and input the contract rejects must be "
                         "rejected (no 'stricter here')")
    ap.add_argument("--timeout", type=float, default=10.0, metavar="S",
                    help="seconds per case; no answer by then is a hang where the case expects "
                         "one, else the case is 'slow' (default 10)")
    ap.add_argument("--jobs", type=int, default=2, metavar="N", help="cases run at once (default 2)")
    ap.add_argument("--json", metavar="FILE", help="write a machine-readable report to FILE")
    ap.add_argument("--vectors", default=DEFAULT_VECTORS, help="the vectors file")
    ap.add_argument("--probes", default=DEFAULT_PROBES, help="the probe cases file")
    ap.add_argument("--commands", default=DEFAULT_COMMANDS, help="the command-line cases file")
    ap.add_argument("--implementations", default=DEFAULT_IMPLEMENTATIONS,
                    help="the recorded behaviours of other implementations")
    ap.add_argument("--implementation", metavar="NAME",
                    help="the command is this implementation of implementations.json (e.g. "
                         "upstream-bash, upstream-r, python-cli): declare its sides and count "
                         "its recorded behaviours as explained failures")
    ap.add_argument("--no-probes", action="store_true", help="skip the probe cases")
    ap.add_argument("--no-commands", action="store_true", help="skip the command-line cases")
    ap.add_argument("--no-vectors", action="store_true", help="skip the vectors")
    ap.add_argument("--udp-probes", choices=("auto", "yes", "no"), default="auto",
                    help="run the udp probes with --protocol=udp: auto = when CMD --help "
                         "mentions --protocol (default)")
    ap.add_argument("--only", metavar="REGEX", help="run only the cases whose id matches")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="also set this variable for every run (e.g. LANG=C.UTF-8)")
    ap.add_argument("--explained-ok", action="store_true",
                    help="exit 0 when every failure is explained: a recorded divergence (what the "
                         "reference itself does) or a recorded behaviour of the --implementation; "
                         "slow cases are tolerated")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the cases that did not pass")
    args = ap.parse_args(own)
    if not cmd:
        ap.error("no command: give it after --, e.g. python3 conformance/run.py -- port4me")
    args.cmd = cmd
    try:
        return run(args)
    except KitError as e:
        print(f"run.py: Error: {e}", file=sys.stderr)
        return 2


def run(args):
    extra = {}
    for item in args.env:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise KitError(f"--env {item!r}: expected NAME=VALUE")
        extra[name] = value
    base_env = clean_environ(extra)
    results = []
    verdicts = {}
    questions = Questions({})
    doc = None

    if not args.no_vectors:
        doc = load_json(args.vectors, "vectors", VECTOR_FORMATS)
        questions = Questions(doc)
    elif os.path.exists(args.vectors):
        # The questions only, for the sides of the command-line cases.
        questions = Questions(load_json(args.vectors, "vectors", VECTOR_FORMATS))
    if os.path.exists(args.implementations) or args.implementations != DEFAULT_IMPLEMENTATIONS:
        known = Known(load_json(args.implementations, "implementations", IMPLEMENTATION_FORMATS),
                      args.implementation)
    elif args.implementation:
        raise KitError(f"--implementation {args.implementation}: no {args.implementations}")
    else:
        known = Known()
    declared = questions.declared(known.sides() + [s for v in args.side for s in v.split(",") if s])
    started = time.monotonic()
    print(f"run.py: {' '.join(args.cmd)} (via {args.via}"
          + (f", implementation {args.implementation}" if args.implementation else "")
          + (", strict errors" if args.strict_errors else "")
          + (f", sides {', '.join(sorted(declared.values()))}" if declared else "") + ")")
    sys.stdout.flush()

    if doc is not None:
        cases = select(doc["cases"], args.only)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            done = list(pool.map(lambda c: run_vector(c, args, base_env, questions), cases))
        for case, (rec, v) in zip(cases, done):
            results.append((case, rec))
            if v is not None:
                verdicts[case["id"]] = v

    sides = settle_sides(verdicts.values(), questions, declared)
    for case, rec in results:
        v = verdicts.get(case["id"])
        if v is None:
            continue
        status, shown, detail = final_status(case, v, sides, questions, args.via)
        if args.strict_errors and status == STRICTER:
            status = FAIL
        status, detail = known.explain(status, detail, case["id"], v["outcome"], args.via)
        rec.update(status=status, detail=detail)
        if shown:
            rec["sides"] = shown

    if not args.no_commands and (os.path.exists(args.commands) or args.commands != DEFAULT_COMMANDS):
        cdoc = load_json(args.commands, "command-line cases", COMMAND_FORMATS)
        commands = select(cdoc["commands"], args.only)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for case, (rec, o) in zip(commands, pool.map(
                    lambda c: run_command_case(c, args, base_env), commands)):
                status, shown, detail = judge_command(case, o, sides, questions, args.strict_errors)
                if args.strict_errors and status == STRICTER:
                    status = FAIL
                status, detail = known.explain(status, detail, case["id"], o, args.via)
                rec.update(status=status, detail=detail)
                if shown:
                    rec["sides"] = shown
                results.append((case, rec))

    if not args.no_probes and os.path.exists(args.probes):
        pdoc = load_json(args.probes, "probes", PROBE_FORMATS)
        probes = select(pdoc["probes"], args.only)
        helped = help_text(args.cmd, base_env, args.timeout) if probes else ""
        if args.udp_probes == "auto":
            udp = "--protocol" in helped
        else:
            udp = args.udp_probes == "yes"
        v6 = ipv6_available()
        for p in probes:
            if "args" in p:
                rec = {"id": p["id"], "kind": "probe"}
                results.append((p, rec))
                if p.get("requires") and p["requires"] not in helped:
                    rec.update(status=SKIP, detail=f"the command has no {p['requires']} (not in "
                                                   "its --help)")
                    continue
                o = run_find_probe(p, args, base_env)
                why = match(p["expect"], o, args.strict_errors, p["expect"].get("mentions"))
                if why is None:
                    status, detail = PASS, ""
                else:
                    status, detail = unmatched(p, o, args.strict_errors, why, [])
                if args.strict_errors and status == STRICTER:
                    status = FAIL
                status, detail = known.explain(status, detail, p["id"], o, args.via)
                rec.update(status=status, detail=detail, argv=o["argv"], exit=o["exit"],
                           timed_out=o["timed_out"], stdout=o["stdout"], stderr=o["stderr"],
                           seconds=o["seconds"])
                continue
            for protocol in ("tcp", "udp"):
                rec = {"id": f"{p['id']}/{protocol}", "kind": "probe"}
                results.append((p, rec))
                if protocol not in p["expect"]:
                    rec.update(status=SKIP, detail=f"no {protocol} expectation")
                elif protocol == "udp" and not udp:
                    rec.update(status=SKIP, detail="the command has no --protocol (not in its --help)")
                elif p.get("listener") and ":" in p["listener"]["address"] and not v6:
                    rec.update(status=SKIP, detail="no IPv6 on this machine")
                else:
                    o = run_probe(p, protocol, args.cmd, base_env, args.timeout)
                    status, detail = judge_probe(p, protocol, o)
                    status, detail = known.explain(status, detail, rec["id"], o, args.via)
                    rec.update(status=status, detail=detail, argv=o["argv"], exit=o["exit"],
                               timed_out=o["timed_out"], stdout=o["stdout"], stderr=o["stderr"],
                               seconds=o["seconds"])
    elif not args.no_probes and args.probes != DEFAULT_PROBES:
        raise KitError(f"cannot read the probes file {args.probes}: it does not exist")

    return report(args, results, sides, questions, declared, time.monotonic() - started)


def shell_word(text):
    """text as one shell word (bash $'...' quoting where it holds control characters)."""
    if text and all(c.isprintable() for c in text):
        return shlex.quote(text)
    if not text:
        return "''"
    esc = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", "'": "\\'"}
    return "$'" + "".join(esc.get(c, c if c.isprintable() else
                                  (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"))
                          for c in text) + "'"


def run_line(rec):
    """The case's inputs as one command line: the variables the kit set on top of the
    clean environment, then argv."""
    env = rec.get("env") or {}
    return " ".join([f"{k}={shell_word(v)}" for k, v in env.items()]
                    + [shell_word(a) for a in rec.get("argv", [])])


def report(args, results, sides, questions, declared, seconds):
    counts = {s: 0 for s in (PASS, SIDE, STRICTER, EXPLAINED, FAIL, SLOW, SKIP)}
    for _, rec in results:
        counts[rec["status"]] += 1
        if args.quiet and rec["status"] in (PASS, SIDE):
            continue
        tag = LABEL[rec["status"]]
        line = f"{tag:<9} {rec['id']}"
        if rec.get("sides"):
            line += f" [{', '.join(rec['sides'])}]"
        if rec.get("detail"):
            line += f": {rec['detail']}"
        print(line)
        if rec["status"] in (FAIL, SLOW) and rec.get("argv"):
            print(f"{'':<9} run: {run_line(rec)}")

    shown = [q for q in questions.names()
             if sides[q]["votes"] or sides[q]["declared"]]
    if shown:
        print("sides:")
        for q in shown:
            s = sides[q]
            votes = ", ".join(f"{k} on {n} case{'s' if n != 1 else ''}"
                              for k, n in sorted(s["votes"].items(), key=lambda kv: -kv[1]))
            how = "declared" if s["declared"] else "inferred"
            mark = "" if s["taken"] == questions.cli_contract(q) else " (not the contract's)"
            print(f"  {q}: {s['taken'] or '-'} ({how}{mark}; {votes or 'no case showed a side'})")

    passed = counts[PASS] + counts[SIDE] + counts[STRICTER]
    failed = counts[FAIL] + counts[EXPLAINED]
    recorded = ("recorded divergences of the reference"
                + (f" or behaviours of {args.implementation}" if args.implementation else ""))
    print(f"run.py: {counts[SIDE]} passed on a non-contract side, {counts[STRICTER]} stricter here, "
          f"{counts[EXPLAINED]} failed as recorded ({recorded}), "
          f"{counts[FAIL]} unexplained failures, {counts[SLOW]} slow; {seconds:.1f} s")
    print(f"{passed} passed, {failed} failed, {counts[SLOW]} slow, {counts[SKIP]} skipped")

    if args.json:
        doc = {
            "kit": KIT_VERSION,
            "command": args.cmd,
            "via": args.via,
            "implementation": args.implementation,
            "strict_errors": args.strict_errors,
            "declared_sides": sorted(declared.values()),
            "vectors": os.path.abspath(args.vectors),
            "summary": {"passed": passed, "failed": failed, "slow": counts[SLOW],
                        "skipped": counts[SKIP], "on_side": counts[SIDE],
                        "stricter": counts[STRICTER], "explained": counts[EXPLAINED],
                        "unexplained": counts[FAIL]},
            "sides": {q: {"question": questions.q[q]["question"], "declared": sides[q]["declared"],
                          "taken": sides[q]["taken"], "contract": questions.cli_contract(q),
                          "votes": sides[q]["votes"]} for q in questions.names()},
            "cases": [rec for _, rec in results],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
    if (failed == 0 and counts[SLOW] == 0) or (args.explained_ok and counts[FAIL] == 0):
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
