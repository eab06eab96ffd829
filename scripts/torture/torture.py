#!/usr/bin/env python3
"""Driver of the registry torture test; run it through scripts/torture/run.sh.

One run: a fresh registry file; two anchor processes (`sleep`) that own
registrations and leases and outlive the run; --procs workers on the file
(the native CLI, Node with several handles and `port4me({ reserve })`, Rust
with several handles on several threads) doing random writes, each logging
its acknowledged writes (see verify.py); a SIGKILL to a random worker's
process group every --kill-every seconds on average, and a new worker in its
place; after --seconds, a SIGKILL to every worker. Once they are all gone,
verify.py checks the file against the logs, and gc against the anchors.
"""

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import verify  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def spawn(argv, env, out):
    """Starts argv in a session of its own (so one killpg takes the worker
    and any CLI process it runs), stdout and stderr to `out`."""
    return os.posix_spawn(argv[0], argv, env, setsid=True, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ])


class Run:
    def __init__(self, a, directory):
        self.a, self.dir = a, directory
        self.db = os.path.join(directory, "registry.sqlite")
        self.logs = os.path.join(directory, "logs")
        os.makedirs(self.logs)
        self.env = dict(os.environ, PORT4ME_DB=self.db, _PORT4ME_CHECK_AVAILABLE_PORTS_="any",
                        RUST_BACKTRACE="1")
        self.workers = {}  # pid -> (slot, tag)
        self.generation = {}
        self.kills = 0
        self.problems = []
        self.until = time.time() + a.seconds
        # The kinds of the slots: as even a mix as --procs allows.
        kinds = a.kinds.split(",")
        self.slots = [kinds[i % len(kinds)] for i in range(a.procs)]

    def start_anchors(self):
        """Two long `sleep`s, each owning a registration made by the CLI."""
        self.anchors = []
        with open(os.path.join(self.logs, "driver.log"), "w") as log:
            for i in range(2):
                pid = spawn([shutil.which("sleep"), "100000"], self.env, os.path.join(self.logs, "anchor.err"))
                self.anchors.append(pid)
                name = f"anchor{i}"
                log.write(f"begin register {name} {pid}\n")
                p = subprocess.run([self.a.cli, "registry", "--json", "register", name, "--pid", str(pid)],
                                   env=self.env, capture_output=True, text=True, check=True)
                port = json.loads(p.stdout)["port"]
                log.write(f"ack register {name} {pid} {port}\n")

    def start(self, slot):
        gen = self.generation[slot] = self.generation.get(slot, -1) + 1
        kind = self.slots[slot]
        tag = f"{kind[0]}{slot}g{gen}"
        log = os.path.join(self.logs, f"{tag}.log")
        until = str(int(self.until) + 30)  # a worker the driver lost ends by itself
        anchors = ",".join(map(str, self.anchors))
        if kind == "cli":
            argv = [sys.executable, os.path.join(HERE, "cli_worker.py"), "--cli", self.a.cli, "--log", log,
                    "--tag", tag, "--anchors", anchors, "--until", until]
        elif kind == "node":
            argv = [shutil.which("node"), os.path.join(HERE, "node_worker.cjs"), "--log", log, "--tag", tag,
                    "--until", until, "--handles", "3"]
        else:
            argv = [self.a.stress, "torture", "--db", self.db, "--log", log, "--tag", tag, "--anchors", anchors,
                    "--threads", "3", "--handles", "2", "--seed", str(random.randrange(1, 2**32)), "--until", until]
        pid = spawn(argv, self.env, os.path.join(self.logs, f"{tag}.err"))
        self.workers[pid] = (slot, tag)

    def reap(self):
        """Collects every child that exited (workers, and CLI processes
        whose worker died before them: the driver is their subreaper); a
        worker that exited on its own, before the end, is a failure."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.workers:
                slot, tag = self.workers.pop(pid)
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0 and time.time() < self.until:
                    err = open(os.path.join(self.logs, f"{tag}.err"), errors="replace").read()[-300:].strip()
                    err = " | ".join(err.splitlines()[-3:])
                    self.problems.append(f"worker exited on its own: {tag} with {os.WEXITSTATUS(status)}: {err}")
                if time.time() < self.until:
                    self.start(slot)

    def kill(self, pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def load(self):
        for slot in range(len(self.slots)):
            self.start(slot)
        next_kill = time.time() + random.expovariate(1 / self.a.kill_every)
        while time.time() < self.until:
            time.sleep(0.02)
            self.reap()
            if len(self.problems) >= 50:
                # Workers keep failing (a broken file): more of it shows nothing new.
                print(f"  {len(self.problems)} workers failed: load stopped early", flush=True)
                self.until = time.time()
            if time.time() >= next_kill and self.workers:
                pid = random.choice(list(self.workers))
                self.kill(pid)
                self.kills += 1
                next_kill = time.time() + random.expovariate(1 / self.a.kill_every)

    def stop(self):
        """SIGKILL to every worker, then wait until no process of theirs is left."""
        groups = list(self.workers)
        for pid in groups:
            self.kill(pid)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.reap()
            alive = []
            for g in groups:
                try:
                    os.killpg(g, 0)
                    alive.append(g)
                except ProcessLookupError:
                    pass
            if not alive:
                return
            time.sleep(0.05)
        raise SystemExit(f"torture: workers' processes still alive after SIGKILL: groups {alive}")

    def stop_anchors(self):
        for pid in self.anchors:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def one_run(a, n):
    directory = tempfile.mkdtemp(prefix="port4me-torture-", dir=a.dir)
    r = Run(a, directory)
    kinds = {k: r.slots.count(k) for k in ("cli", "node", "rust")}
    print(f"torture run {n}/{a.runs}: {a.procs} processes ({kinds['cli']} CLI, {kinds['node']} Node, "
          f"{kinds['rust']} Rust) for {a.seconds:g} s, a SIGKILL every {a.kill_every:g} s on average; {directory}",
          flush=True)
    t0 = time.time()
    r.start_anchors()
    try:
        r.load()
    finally:
        r.stop()
    try:
        problems, counts = verify.verify(directory, a.cli, r.anchors)
    finally:
        r.stop_anchors()
    problems = r.problems + problems
    logs, checked, db, gc = counts["logs"], counts.get("checked", {}), counts["database"], counts.get("gc", {})
    print(f"  operations {logs['operations']} (acknowledged writes {logs['acknowledged writes']}, "
          f"failed as racing workers may {logs['failed as racing workers may']}, reads {logs['reads']}); "
          f"kills {r.kills}, respawns {sum(r.generation.values())}; operations cut short by a SIGKILL "
          f"{logs['in flight at a kill']}")
    print(f"  acknowledged writes checked: {logs['acknowledged writes']} replayed, against "
          + ", ".join(f"{v} {k}" for k, v in sorted(checked.items())))
    print(f"  database: {db.get('claims', '?')} claims and {db.get('port rows', '?')} TCP_PORTS/UDP_PORTS rows "
          f"checked; gc: " + ", ".join(f"{v} {k}" for k, v in gc.items()))
    print(f"  {time.time() - t0:.1f} s")
    for line in verify.summary(problems):
        print(f"  FAIL: {line}")
    print(f"  {'FAIL' if problems else 'PASS'}", flush=True)
    if problems or a.keep:
        print(f"  kept {directory}")
    else:
        shutil.rmtree(directory)
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True, help="the port4me binary")
    ap.add_argument("--stress", required=True, help="the port4me-registry-stress binary")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--procs", type=int, default=16)
    ap.add_argument("--kill-every", type=float, default=0.4, help="mean seconds between SIGKILLs")
    ap.add_argument("--kinds", default="cli,node,rust", help="the kinds of workers, taken in turn")
    ap.add_argument("--dir", help="where to make each run's directory (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory, also when it passed")
    a = ap.parse_args()
    # Orphaned CLI processes (their worker killed first) come back to us to reap.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    passed = sum(one_run(a, n) for n in range(1, a.runs + 1))
    print(f"torture: {passed} of {a.runs} runs passed")
    sys.exit(0 if passed == a.runs else 1)


if __name__ == "__main__":
    main()
