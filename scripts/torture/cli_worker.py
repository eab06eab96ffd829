#!/usr/bin/env python3
"""CLI worker of the registry torture test (scripts/torture/run.sh).

Runs the native CLI (`port4me registry --json ...`, `port4me --reserve`)
again and again on PORT4ME_DB, one random write after another, until
--until (Unix seconds) or a SIGKILL (which the driver sends to the whole
process group, so a CLI process in the middle of a transaction dies too).

    cli_worker.py --cli PATH --log FILE --tag TAG --anchors PID,PID --until UNIX

It logs to FILE in the format verify.py reads (the Rust and Node workers
write the same): `begin OP ARGS` before running the command, `ack OP ARGS
RESULTS` once it exited 0, `err OP CODE` when it failed in a way racing
workers explain, `unexpected OP CODE MESSAGE` otherwise (then exit 1),
`read OP` after a read. Each line is one write(2) to an O_APPEND file.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

# Errors that racing workers explain: a pool or a service filled up, a
# random range overlapping someone else's.
RACES = {
    "ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED",
    "ERR_PORT4ME_REGISTRY_RANGE_CONFLICT",
    "ERR_PORT4ME_REGISTRY_SERVICE_FULL",
    "ERR_PORT4ME_NO_FREE_PORT",
}


class Unexpected(Exception):
    pass


class Worker:
    def __init__(self, a):
        self.cli, self.tag = a.cli, a.tag
        self.anchors = [p for p in a.anchors.split(",") if p]
        self.log = os.open(a.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.seq = 0
        # What this worker holds, to pick sensible next operations.
        self.modules = set()  # (proto, name)
        self.services = []
        self.offers = {}  # (service, instance) -> [secret, accepted]
        self.registrations = []
        self.leases = []  # (proto, port)

    def line(self, s):
        os.write(self.log, (s + "\n").encode())

    def run(self, *argv):
        """Runs the CLI; its JSON answer, or a (code, message) error."""
        p = subprocess.run([self.cli, *argv], capture_output=True, text=True)
        if p.returncode == 0:
            return json.loads(p.stdout), None
        try:
            e = json.loads(p.stderr.strip().splitlines()[-1])["error"]
            return None, (e["code"], e["message"])
        except (ValueError, KeyError, IndexError):
            return None, ("EXIT_%d" % p.returncode, p.stderr.strip().replace("\n", " ")[:300])

    def write(self, op, args, argv, results):
        """Runs `port4me ARGV` as operation `op ARGS`, logged before and after."""
        a = " ".join(map(str, args))
        self.line(f"begin {op} {a}")
        out, err = self.run(*argv)
        if err is None:
            try:
                done = results(out)
            except Unexpected as e:
                self.line(f"unexpected {op} {e.args[0][0]} {e.args[0][1]}")
                raise
            self.line(f"ack {op} {a} {' '.join(map(str, done))}".rstrip())
        elif err[0] in RACES:
            self.line(f"err {op} {err[0]}")
        else:
            self.line(f"unexpected {op} {err[0]} {err[1]}")
            raise Unexpected(err)

    def step(self):
        reg = ["registry", "--json"]
        proto = random.choice(["tcp", "udp"])
        k = random.randrange(100)
        self.seq += 1
        if k < 25:
            name, n, keep = f"{self.tag}m{random.randrange(6)}", 1 + random.randrange(8), random.randrange(5) == 0
            argv = reg + ["allocate", str(n), name, "--protocol", proto] + (["--keep-existing"] if keep else [])

            def done(out):
                self.modules.add((proto, name))
                return [out["start"], out["end"]]

            self.write("alloc", [proto, name, n, int(keep)], argv, done)
        elif k < 35 and self.modules:
            p, name = random.choice(sorted(self.modules))
            self.write("dealloc", [p, name], reg + ["deallocate", name, "--protocol", p],
                       lambda out: self.modules.discard((p, name)) or [])
        elif k < 40:
            name, start = f"{self.tag}s{self.seq}", 40000 + random.randrange(4900)
            end = start + random.randrange(8)
            self.write("define", [name, start, end], reg + ["define", name, str(start), str(end)],
                       lambda out: self.services.append(name) or [])
        elif k < 42 and self.services:
            name = random.choice(self.services)

            def done(out):
                self.services.remove(name)
                self.offers = {key: v for key, v in self.offers.items() if key[0] != name}
                return []

            self.write("undefine", [name], reg + ["undefine", name, "--force"], done)
        elif k < 55 and self.services:
            service, instance = random.choice(self.services), f"i{random.randrange(6)}"
            if (service, instance) in self.offers:
                return

            def done(out):
                self.offers[(service, instance)] = [out["secret"], False]
                return [out["port"]]

            self.write("offer", [service, instance], reg + ["offer", service, instance], done)
        elif k < 66 and self.offers:
            key = random.choice(sorted(self.offers))
            secret, accepted = self.offers[key]
            what = random.randrange(3)
            if what == 0:

                def done(out):
                    self.offers[key][1] = True
                    return [out["port"]]

                self.write("accept", list(key), reg + ["accept", secret], done)
            elif what == 1 and not accepted:
                # An accepted offer can only be released.
                self.write("reject", list(key), reg + ["reject", secret], lambda out: self.offers.pop(key) and [])
            else:
                self.write("relinst", list(key), reg + ["release", "instance", *key],
                           lambda out: self.offers.pop(key) and [])
        elif k < 76:
            # Owned by an anchor (must survive the run and gc), or by this
            # worker, the CLI's parent (gone with it).
            name = f"{self.tag}r{self.seq}"
            anchor = random.choice(self.anchors) if self.anchors and random.randrange(3) else None
            argv = reg + ["register", name] + (["--pid", anchor] if anchor else [])

            def done(out):
                self.registrations.append(out["name"])
                return [out["port"]]

            self.write("register", [name, anchor or "self"], argv, done)
        elif k < 82 and self.registrations:
            name = random.choice(self.registrations)
            self.write("release", [name], reg + ["release", name],
                       lambda out: self.registrations.remove(name) or [])
        elif k < 90:
            # `port4me --reserve`: a lease of nobody's, for its time.
            argv = ["--json", "--reserve", "3600", "--protocol", proto, self.tag]

            def done(out):
                self.leases.append((proto, out["port"]))
                return [out["port"]]

            self.write("reserve", [proto, "none"], argv, done)
        elif k < 94 and self.leases:
            p, port = random.choice(self.leases)

            def done(out):
                if not out["released"]:
                    raise Unexpected(("LEASE_GONE", f"our lease on {port} was not there"))
                self.leases.remove((p, port))
                return []

            self.write("unreserve", [p, port], reg + ["release", "lease", str(port), "--protocol", p], done)
        elif k >= 94:
            what = random.choice(["list", "gc", "holder"])
            argv = {"list": ["list"], "gc": ["gc"], "holder": ["holder", str(20000 + random.randrange(30000))]}[what]
            out, err = self.run(*reg, *argv)
            if err:
                self.line(f"unexpected read {err[0]} {err[1]}")
                raise Unexpected(err)
            self.line(f"read {what}")


def main():
    ap = argparse.ArgumentParser()
    for opt in ["--cli", "--log", "--tag", "--anchors", "--until"]:
        ap.add_argument(opt, required=True)
    a = ap.parse_args()
    w = Worker(a)
    until = float(a.until)
    try:
        while time.time() < until:
            # A pause now and then, as scripts make between commands: then
            # a CLI process may be the only one with the file open while
            # it closes it, the moment SQLite checkpoints and removes the
            # log (which has to leave the other processes' writes alone).
            if random.randrange(2):
                time.sleep(random.random() * 0.04)
            w.step()
    except Unexpected:
        sys.exit(1)


if __name__ == "__main__":
    main()
