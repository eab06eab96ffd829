#!/usr/bin/env python3
"""port4me conformance kit: run the shared vectors against a command-line implementation.

    python3 conformance/run.py [options] -- CMD [ARGS...]

Every case of conformance/vectors.json becomes one run of CMD ARGS with the
case's flags (--via flags, the default) or PORT4ME_* variables (--via env), in
a clean environment; the cases of conformance/commands.json give their own
arguments (flag forms a script relies on); the probe cases of
conformance/probes.json run `CMD ARGS --test=PORT` next to a listener the kit
opens itself. The closing
line is `N passed, N failed, N skipped`; the exit status is 0 only when
nothing failed. Python 3.8 or later, standard library only. The schema and
the rules are in conformance/README.md; the contract is conformance/SPEC.md.
"""

import argparse
import itertools
import json
import os
import re
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

KIT_VERSION = 1
VECTOR_FORMATS = (2,)
PROBE_FORMATS = (1,)
COMMAND_FORMATS = (1,)

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

# Result statuses, in the order they are counted.
PASS, SIDE, STRICTER, EXPLAINED, FAIL, SKIP = "pass", "side", "stricter", "explained", "fail", "skip"
PASSING = (PASS, SIDE, STRICTER)
FAILING = (EXPLAINED, FAIL)
LABEL = {PASS: "pass", SIDE: "pass", STRICTER: "stricter", EXPLAINED: "diverges", FAIL: "FAIL",
         SKIP: "skip"}


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
    if "error" in exp:
        m = f" mentioning {exp['mentions']!r}" if exp.get("mentions") else ""
        return f"an error ({exp['error']}{m})"
    if "ports" in exp:
        return f"ports {_short(exp['ports'])}"
    return f"port {exp['port']}"


def match(exp, o, strict=False, mentions=None):
    """None when outcome o satisfies expectation exp, else why not."""
    if "hang" in exp:
        return None if o["timed_out"] else "expected a hang"
    if o["timed_out"]:
        return f"expected {expectation_text(exp)}, got no answer within the timeout"
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
    """[(assignment, expectation)]: `expect` (assignment {}) and every alternative whose
    questions arise under this --via; an assignment is {question: non-contract side}."""
    out = [({}, case["expect"])]
    for key, exp in case.get("alternatives", {}).items():
        a = questions.parse_key(key)
        if all(questions.applies(q, via) for q in a):
            out.append((a, exp))
    return out


def judge_case(case, o, questions, via, strict):
    """First judgement of a vector case, before the sides are settled: a dict with the
    assignments that match (matches), the questions in play, and, when none matches,
    a status (stricter, explained, fail) with its detail."""
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
    why = reasons[0][1]
    expect = case["expect"]
    if "error" in expect and "divergence" in case and not strict and (o["timed_out"] or o["exit"] == 0):
        v["status"] = STRICTER
        v["detail"] = (f"accepted ({describe(o)}); the contract is stricter here: "
                       f"{expect['error']} ({case['divergence']})")
    elif "divergence" in case and reference_matches(case.get("reference"), o) and \
            not ("error" in expect and not o["timed_out"] and o["exit"] != 0):
        v["status"] = EXPLAINED
        v["detail"] = f"{why}: as the reference does (recorded divergence: {case['divergence']})"
    else:
        v["status"] = FAIL
        alts = [k for k in case.get("alternatives", {})
                if all(questions.applies(q, via) for q in questions.parse_key(k))]
        v["detail"] = why + (f" (nor any alternative: {', '.join(alts)})" if alts else "")
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


def final_status(case, v, sides, questions):
    """(status, sides shown, detail) of a vector case once the sides are settled."""
    if not v.get("matches"):
        return v["status"], [], v["detail"]
    qs = v["questions"]
    ok = [a for a in v["matches"]
          if all(sides[q]["taken"] in (None, a.get(q, questions.expect_side(q))) for q in qs)]
    if ok:
        a = min(ok, key=len)
        shown = [a[q] for q in qs if q in a]
        # SIDE: passed on a side other than the command-line contract's.
        off = [s for s in shown if s != questions.cli_contract(questions.side_question[s])]
        return (SIDE if off else PASS), shown, ""
    took = min(v["matches"], key=len)
    here = ", ".join(f"{q}: {took.get(q, questions.expect_side(q))}" for q in qs)
    there = ", ".join(f"{q}: {sides[q]['taken']}" + (" (declared)" if sides[q]["declared"] else "")
                      for q in qs)
    detail = f"took {here} in this case, but {there}"
    if "divergence" in case and reference_matches(case.get("reference"), v["outcome"]):
        return EXPLAINED, [], detail + f" (recorded divergence: {case['divergence']})"
    return FAIL, [], detail


# --------------------------------------------------------------------------------------
# Command-line cases
# --------------------------------------------------------------------------------------

def run_command_case(case, args, base_env):
    """Run one case of commands.json; return its result record."""
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
    rec = {"id": case["id"], "kind": "command", "argv": argv, "env": case.get("env", {}),
           "exit": o["exit"], "timed_out": o["timed_out"], "stdout": o["stdout"],
           "stderr": o["stderr"], "seconds": o["seconds"]}
    if "exit" in exp:
        noise = (o["stdout"] + o["stderr"]).strip()
        if o["timed_out"] or o["exit"] != exp["exit"]:
            why = f"expected exit {exp['exit']}, got {describe(o)}"
        elif exp.get("quiet") and noise:
            why = f"exit {exp['exit']} as expected, but it printed {_short(noise)} (it prints nothing)"
        else:
            why = None
    else:
        why = match(exp, o, args.strict_errors, exp.get("mentions"))
    if why is None:
        rec.update(status=PASS, detail="")
    elif ("error" in exp and "divergence" in case and not args.strict_errors
          and (o["timed_out"] or o["exit"] == 0)):
        rec.update(status=STRICTER, detail=(f"accepted ({describe(o)}); the contract is stricter "
                                            f"here: {exp['error']} ({case['divergence']})"))
    elif "divergence" in case and reference_matches(case.get("reference"), o) and \
            not ("error" in exp and not o["timed_out"] and o["exit"] != 0):
        rec.update(status=EXPLAINED, detail=f"{why}: as the reference CLI does (recorded "
                                            f"divergence: {case['divergence']})")
    else:
        rec.update(status=FAIL, detail=why)
    if "json_error" in o:
        rec["json_error"] = o["json_error"]
    return rec


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
        return FAIL, f"expected {word[want]}, got no answer within the timeout"
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

def has_protocol_flag(cmd, base_env, timeout):
    o = run_command(cmd + ["--help"], base_env, timeout)
    return "--protocol" in o["stdout"] + o["stderr"]


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
                    help="seconds per case; no answer by then is a hang (default 10)")
    ap.add_argument("--jobs", type=int, default=2, metavar="N", help="cases run at once (default 2)")
    ap.add_argument("--json", metavar="FILE", help="write a machine-readable report to FILE")
    ap.add_argument("--vectors", default=DEFAULT_VECTORS, help="the vectors file")
    ap.add_argument("--probes", default=DEFAULT_PROBES, help="the probe cases file")
    ap.add_argument("--commands", default=DEFAULT_COMMANDS, help="the command-line cases file")
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
                    help="exit 0 when every failure is a recorded divergence (what the reference "
                         "itself does)")
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
    declared = questions.declared([s for v in args.side for s in v.split(",") if s])
    started = time.monotonic()
    print(f"run.py: {' '.join(args.cmd)} (via {args.via}"
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
        status, shown, detail = final_status(case, v, sides, questions)
        if args.strict_errors and status == STRICTER:
            status = FAIL
        rec.update(status=status, detail=detail)
        if shown:
            rec["sides"] = shown

    if not args.no_commands and (os.path.exists(args.commands) or args.commands != DEFAULT_COMMANDS):
        cdoc = load_json(args.commands, "command-line cases", COMMAND_FORMATS)
        commands = select(cdoc["commands"], args.only)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for case, rec in zip(commands, pool.map(
                    lambda c: run_command_case(c, args, base_env), commands)):
                results.append((case, rec))

    if not args.no_probes and os.path.exists(args.probes):
        pdoc = load_json(args.probes, "probes", PROBE_FORMATS)
        probes = select(pdoc["probes"], args.only)
        if args.udp_probes == "auto":
            udp = has_protocol_flag(args.cmd, base_env, args.timeout) if probes else False
        else:
            udp = args.udp_probes == "yes"
        v6 = ipv6_available()
        for p in probes:
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
                    rec.update(status=status, detail=detail, argv=o["argv"], exit=o["exit"],
                               timed_out=o["timed_out"], stdout=o["stdout"], stderr=o["stderr"],
                               seconds=o["seconds"])
    elif not args.no_probes and args.probes != DEFAULT_PROBES:
        raise KitError(f"cannot read the probes file {args.probes}: it does not exist")

    return report(args, results, sides, questions, declared, time.monotonic() - started)


def report(args, results, sides, questions, declared, seconds):
    counts = {s: 0 for s in (PASS, SIDE, STRICTER, EXPLAINED, FAIL, SKIP)}
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
    print(f"run.py: {counts[SIDE]} passed on a non-contract side, {counts[STRICTER]} stricter here, "
          f"{counts[EXPLAINED]} failed as the reference does (recorded divergences), "
          f"{counts[FAIL]} unexplained failures; {seconds:.1f} s")
    print(f"{passed} passed, {failed} failed, {counts[SKIP]} skipped")

    if args.json:
        doc = {
            "kit": KIT_VERSION,
            "command": args.cmd,
            "via": args.via,
            "strict_errors": args.strict_errors,
            "declared_sides": sorted(declared.values()),
            "vectors": os.path.abspath(args.vectors),
            "summary": {"passed": passed, "failed": failed, "skipped": counts[SKIP],
                        "on_side": counts[SIDE], "stricter": counts[STRICTER],
                        "explained": counts[EXPLAINED], "unexplained": counts[FAIL]},
            "sides": {q: {"question": questions.q[q]["question"], "declared": sides[q]["declared"],
                          "taken": sides[q]["taken"], "contract": questions.cli_contract(q),
                          "votes": sides[q]["votes"]} for q in questions.names()},
            "cases": [rec for _, rec in results],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
    if failed == 0 or (args.explained_ok and counts[FAIL] == 0):
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
