#!/usr/bin/env python3
"""Who holds a port, timed against ss and lsof (Linux).

    python3 scripts/bench-who.py [path/to/port4me] [--runs N] [--baseline path/to/other/port4me]

Holds 2,000 extra TCP sockets in 200 processes (forked, 10 listeners
each) plus one listener on the port asked about, then runs each command
N times (21 by default), interleaved, and prints the median wall time of
whole processes for `port4me who PORT`, `ss -tanp` and `lsof -i :PORT`,
and their ratios. The machine is shared: compare the ratios of one run.
--baseline adds another port4me build (such as main's) to the same run.
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

PROCESSES, SOCKETS_EACH = 200, 10


def main():
    argv = sys.argv[1:]
    opts = {}
    for flag in ("--runs", "--baseline"):
        if flag in argv:
            i = argv.index(flag)
            opts[flag] = argv[i + 1]
            del argv[i : i + 2]
    args = argv
    runs = int(opts.get("--runs", 21))
    exe = args[0] if args else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "port4me")
    if not os.access(exe, os.X_OK):
        sys.exit(f"bench-who.py: {exe} is not an executable (build it: cargo build --release -p port4me-cli)")
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen()
    port = target.getsockname()[1]
    children = []
    for _ in range(PROCESSES):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            held = []
            for _ in range(SOCKETS_EACH):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen()
                held.append(s)
            os.write(w, b"x")
            signal.pause()
            os._exit(0)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        children.append(pid)
    commands = {
        f"port4me who {port}": [exe, "who", str(port)],
        "ss -tanp": ["ss", "-tanp"],
        f"lsof -i :{port}": ["lsof", "-i", f":{port}"],
    }
    if "--baseline" in opts:
        commands[f"port4me who {port} (baseline)"] = [opts["--baseline"], "who", str(port)]
    commands = {k: v for k, v in commands.items() if shutil.which(v[0]) or os.path.exists(v[0])}
    times = {k: [] for k in commands}
    try:
        for _ in range(runs):
            for name, cmd in commands.items():
                t = time.perf_counter()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                times[name].append(time.perf_counter() - t)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
    print(f"who holds a port: {PROCESSES * SOCKETS_EACH} extra sockets in {PROCESSES} processes, median of {runs} runs")
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    first = next(iter(med.values()))
    for name, ms in med.items():
        print(f"  {name:<34} {ms:7.1f} ms   x{ms / first:.2f}")
    ss = med.get("ss -tanp")
    if ss is not None:
        verdict = "met" if first <= ss else "not met"
        print(f"target: port4me who at most as slow as ss -tanp: {verdict} ({first / ss:.2f}x)")


if __name__ == "__main__":
    main()
