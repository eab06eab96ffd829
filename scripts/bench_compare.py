#!/usr/bin/env python3
"""Side-by-side timings of port4me (Rust) and the Python reference.

Called by scripts/bench-compare.sh, which builds the Rust side and creates the
reference venv; see that script for the usual way to run it. Everything here
is measured in one run, alternating between the two sides round by round so
that load from other processes on the machine falls on both, and the result is
a markdown table of medians and ratios.

Inputs:
  --bench-core PATH   the port4me-core example `bench_core` (release build)
  --cli PATH          the `port4me` binary (release build)
  --python PATH       a python with the reference package (conformance/.venv)
  --bench-probe PATH  the port4me bench `probe_json` (release build)
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Run inside the reference's interpreter: times its public function in
# process, as a user of the package would call it. Prints JSON.
REFERENCE_CHILD = r"""
import json, os, sys, timeit
import port4me as ref
from port4me import port4me

reps_list, reps_tiny, reps_probe = (int(x) for x in sys.argv[1:4])
out = {"version": ref.__version__}

def samples(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    t = timeit.Timer(fn)
    return [int(x * 1e9) for x in t.repeat(repeat=reps, number=1)]

def hash31(ports):
    h = 0
    for p in ports:
        h = (h * 31 + p) % 2**32
    return h

os.environ.pop("_PORT4ME_CHECK_AVAILABLE_PORTS_", None)
out["list_65535"] = {
    "samples_ns": samples(lambda: port4me(user="alice", list=65535), reps_list, 1),
    "check": hash31(port4me(user="alice", list=65535)),
}

os.environ["_PORT4ME_CHECK_AVAILABLE_PORTS_"] = "any"
out["tiny_set"] = {
    "samples_ns": samples(lambda: port4me(user="alice", include="2000-2009"), reps_tiny, 3),
    "check": port4me(user="alice", include="2000-2009"),
}
del os.environ["_PORT4ME_CHECK_AVAILABLE_PORTS_"]

port = next(p for p in range(20000, 30000) if ref.is_port_free(p))
out["probe"] = {
    "samples_ns": samples(lambda: ref.is_port_free(port), reps_probe, 20),
    "port": port,
}
print(json.dumps(out))
"""


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_time(ns):
    if ns != ns:  # NaN
        return "n/a"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs" if ns < 1e5 else f"{ns / 1e3:.0f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.3g} ms" if ns < 1e8 else f"{ns / 1e6:.0f} ms"
    return f"{ns / 1e9:.3g} s"


def fmt_ratio(x):
    if x != x:
        return "n/a"
    return f"{x:.0f}x" if x >= 10 else f"{x:.2f}x"


def clean_env():
    """The caller's environment without any port4me settings."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("PORT4ME_") or k.startswith("_PORT4ME_"))}
    env["PORT4ME_USER"] = "alice"
    return env


def run_json(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_compare: Error: {cmd[0]} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout)


def in_process(args, env):
    """Alternating rounds of the Rust example and the reference child."""
    rust, ref = {}, {}
    checks = {}
    for r in range(args.rounds):
        out = run_json([args.bench_core, "--reps", str(args.rust_reps), "--warmup", "10"], env)
        out.update(run_json([args.bench_probe, "--bench", "--reps", str(args.probe_reps), "--warmup", "50"], env))
        out.pop("port", None)
        for name, v in out.items():
            rust.setdefault(name, []).extend(v["samples_ns"])
            checks.setdefault(("rust", name), v["check"])
        out = run_json(
            [args.python, "-c", REFERENCE_CHILD, str(args.py_list_reps), str(args.py_tiny_reps), str(args.py_probe_reps)],
            env,
        )
        ref_version = out.pop("version")
        for name, v in out.items():
            ref.setdefault(name, []).extend(v["samples_ns"])
            if "check" in v:
                checks.setdefault(("ref", name), v["check"])
        print(f"bench_compare: in-process round {r + 1}/{args.rounds} done", file=sys.stderr)
    checks[("rust", "find_tiny_any")] == checks[("ref", "tiny_set")] or sys.exit(
        "bench_compare: Error: Port4me::find and the reference found different ports")
    for name in ("list_65535", "tiny_set"):
        a, b = checks.get(("rust", name)), checks.get(("ref", name))
        if a != b:
            sys.exit(f"bench_compare: Error: {name}: Rust computed {a}, the reference {b}; not the same work")
    return rust, ref, ref_version


def whole_process(args, env):
    """Median wall time of one process run, per command."""
    rust_cmd = [args.cli, "--tool=vite"]
    py_cmd = [args.python, "-m", "port4me", "--tool=vite"]
    floor_cmd = [args.python, "-c", "pass"]
    true_cmd = [shutil.which("true") or "/bin/true"]
    outs = {}
    for name, cmd in (("rust", rust_cmd), ("python", py_cmd)):
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench_compare: Error: {' '.join(cmd)} failed:\n{p.stderr}")
        outs[name] = p.stdout.strip()
    hyperfine = shutil.which("hyperfine") if args.runner in ("auto", "hyperfine") else None
    if args.runner == "hyperfine" and not hyperfine:
        sys.exit("bench_compare: Error: --runner hyperfine but hyperfine is not installed (apt-get install hyperfine)")
    cmds = {"rust": rust_cmd, "python": py_cmd, "python_floor": floor_cmd, "exec_floor": true_cmd}
    if hyperfine:
        with tempfile.TemporaryDirectory() as tmp:
            export = os.path.join(tmp, "h.json")
            hcmd = [hyperfine, "-N", "--style", "basic", "--warmup", "10", "--runs", str(args.process_runs),
                    "--export-json", export]
            hcmd += [" ".join(c) for c in cmds.values()]
            subprocess.run(hcmd, env=env, check=True, stdout=sys.stderr)
            with open(export) as f:
                results = json.load(f)["results"]
        med = {name: r["median"] * 1e9 for name, r in zip(cmds, results)}
        runner = f"hyperfine -N, {args.process_runs} runs each after 10 warm-up runs"
    else:
        times = {name: [] for name in cmds}
        for i in range(args.process_runs + 5):
            for name, cmd in cmds.items():
                t = time.perf_counter_ns()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                if i >= 5:
                    times[name].append(time.perf_counter_ns() - t)
        med = {name: median(v) for name, v in times.items()}
        runner = f"Python subprocess loop, {args.process_runs} interleaved runs each after 5 warm-up rounds"
    return med, runner, outs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-core", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--bench-probe", required=True)
    ap.add_argument("--rounds", type=int, default=5, help="alternating in-process rounds (default 5)")
    ap.add_argument("--rust-reps", type=int, default=200, help="Rust repetitions per case per round")
    ap.add_argument("--py-list-reps", type=int, default=5, help="reference list=65535 repetitions per round")
    ap.add_argument("--py-tiny-reps", type=int, default=40, help="reference tiny-set repetitions per round")
    ap.add_argument("--probe-reps", type=int, default=1000, help="Rust probe repetitions per case per round")
    ap.add_argument("--py-probe-reps", type=int, default=1000, help="reference probe repetitions per round")
    ap.add_argument("--process-runs", type=int, default=100, help="whole-process runs per command")
    ap.add_argument("--runner", choices=["auto", "hyperfine", "python"], default="auto",
                    help="whole-process timer: hyperfine when installed (auto), or a Python loop")
    ap.add_argument("--json", help="also write the raw medians to this file")
    args = ap.parse_args()

    env = clean_env()
    load_before = os.getloadavg()[0]
    rust, ref, ref_version = in_process(args, env)
    proc, runner, outs = whole_process(args, env)
    load_after = os.getloadavg()[0]

    m = {k: median(v) for k, v in rust.items()}
    p = {k: median(v) for k, v in ref.items()}
    rows = []

    def row(what, r_ns, p_ns, target, ok):
        ratio = p_ns / r_ns if r_ns and r_ns == r_ns and p_ns == p_ns else float("nan")
        met = "n/a" if ok is None else ("yes" if ok(r_ns, ratio) else "**no**")
        rows.append(f"| {what} | {fmt_time(r_ns)} | {fmt_time(p_ns)} | {fmt_ratio(ratio)} | {target} | {met} |")
        return ratio

    res = {}
    res["list"] = row("first 65,535 ports, in process (`list=65535`, user alice)", m["list_65535"], p["list_65535"],
                      "≥ 200x", lambda r, x: x >= 200)
    res["list_resolved"] = row("… Rust from a pre-resolved query (walk only)", m["list_65535_resolved"],
                               p["list_65535"], "", None)
    res["tiny"] = row("search, allowed set `2000-2009`, every probe free (core `Query`)", m["tiny_set"], p["tiny_set"],
                      "< 1 ms and ≥ 100x", lambda r, x: r < 1e6 and x >= 100)
    res["tiny_std"] = row("… Rust through the std layer, `Port4me::find` with `_PORT4ME_CHECK_AVAILABLE_PORTS_=any`",
                          m["find_tiny_any"], p["tiny_set"], "< 1 ms and ≥ 100x", lambda r, x: r < 1e6 and x >= 100)
    res["process"] = row("whole process: `port4me --tool=vite` vs `python -m port4me --tool=vite`", proc["rust"],
                         proc["python"], "≥ 20x", lambda r, x: x >= 20)
    res["probe"] = row("one probe of a free port (`is_port_free` vs the reference's `is_port_free`)",
                       m["is_port_free"], p["probe"], "", None)

    print(f"### port4me (Rust) vs the Python reference port4me {ref_version}\n")
    print("| measurement | Rust | Python reference | speed-up | target | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))

    floor = m["floor_v4"]
    print("\n### One probe next to the system-call floor\n")
    print("| probe of a free TCP port | median | vs floor |")
    print("| --- | --- | --- |")
    for label, ns in (
        ("floor: socket + bind 0.0.0.0 + close (`bare_bind_v4`)", floor),
        ("dual-stack floor: socket AF_INET6 + IPV6_V6ONLY=0 + bind [::] + close",
         m.get("floor_dual_stack", float("nan"))),
        ("`is_port_free` (every address; on Linux one dual-stack bind)", m["is_port_free"]),
        ("`is_port_free` with host 127.0.0.1", m["is_port_free_host_127"]),
        ("`is_port_free` on a busy port (EADDRINUSE)", m["is_port_free_busy"]),
        ("Python reference `is_port_free` (AF_INET only; in process, other rounds)", p["probe"]),
    ):
        print(f"| {label} | {fmt_time(ns)} | {fmt_ratio(ns / floor)} |")

    print("\nNotes:")
    print(f"- whole process: {runner}; Python interpreter start-up alone (`python -c pass`): "
          f"{fmt_time(proc['python_floor'])}, `true`: {fmt_time(proc['exec_floor'])}; both printed {outs['rust']!r} / {outs['python']!r}"
          + ("" if outs["rust"] == outs["python"] else " (**they differ**: a port busy on one family only?)"))
    print(f"- in process: {args.rounds} alternating rounds; Rust {args.rust_reps} reps per case per round "
          f"(each timed alone, release build with LTO), reference {args.py_list_reps}/{args.py_tiny_reps}/"
          f"{args.py_probe_reps} reps per round (`timeit`, number=1); medians; both sides computed the same ports "
          "(checked)")
    print(f"- probe rows: {args.probe_reps} reps per case per round, the floor and the probes interleaved call by call "
          "(`cargo bench -p port4me --bench probe_json`)")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()} for the reference; load average {load_before:.2f} before, "
          f"{load_after:.2f} after (shared machine: compare ratios, not absolute times)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rust": m, "reference": p, "process": proc, "ratios": res}, f, indent=2)


if __name__ == "__main__":
    main()
