#!/usr/bin/env python3
"""The checks of the registry torture test, run once every worker is dead.

    verify.py DIR --cli PATH [--anchors PID,PID]

(DIR as run.sh leaves a failed run; without --anchors, which are gone by
then, the gc check is left out, since gc would rightly reclaim theirs.)

1. The database: `PRAGMA integrity_check` is ok; no port is held twice (the
   claims of a protocol are disjoint, and so are the rows of TCP_PORTS and
   of UDP_PORTS); every claim has its holder and every holder its claim and
   mirror row (the schema's triggers keep them in step).
2. The logs: every write a worker logged as acknowledged and did not later
   undo (also acknowledged) is in the database, exactly; nothing is there
   that no worker asked for. The one operation a worker had in flight when
   it was killed (a `begin` line with no answer) may have happened or not.
3. gc (`port4me registry --json gc`) reclaims the registrations and leases
   of every dead owner and none of the live ones (the anchor processes).

The log format (every worker writes it, one write(2) per line):
    begin OP ARGS          before the operation
    ack OP ARGS RESULTS    it succeeded
    err OP CODE            it failed, as racing workers may (no change)
    unexpected OP CODE MSG it failed otherwise (the run fails)
    read OP                a read, or a handle opened (counted only)
"""

import argparse
import collections
import json
import os
import sqlite3
import subprocess
import sys

# ARGS of each write, then its RESULTS, as the workers log them.
WRITES = {
    "alloc": (["proto", "name", "n", "keep"], ["start", "end"]),
    "dealloc": (["proto", "name"], []),
    "define": (["service", "start", "end"], []),
    "undefine": (["service"], []),
    "offer": (["service", "instance"], ["port"]),
    "accept": (["service", "instance"], ["port"]),
    "reject": (["service", "instance"], []),
    "relinst": (["service", "instance"], []),
    "register": (["name", "owner"], ["port"]),
    "release": (["name"], []),
    "reserve": (["proto", "owner"], ["port"]),
    "unreserve": (["proto", "port"], []),
}


class Model:
    """What the acknowledged writes say the registry holds, and what the
    operations in flight at a kill leave open."""

    def __init__(self):
        self.modules = {}  # (proto, name) -> [(start, end)]
        self.services = {}  # name -> (start, end)
        self.offers = {}  # (service, instance) -> [port, accepted]
        self.registrations = {}  # name -> (port, owner: "self" or a pid)
        self.leases = {}  # (log, proto, port) -> owner: "self", "none" or a pid
        # In flight at a kill: may have happened or not.
        self.open_modules = {}  # (proto, name) -> the op's args
        self.open_services, self.open_offers, self.open_registrations = set(), set(), set()
        self.open_leases, self.open_reserves = set(), 0
        self.counts = collections.Counter()
        self.problems = []

    def read_log(self, path):
        with open(path, "rb") as f:
            data = f.read().decode()
        lines = data.split("\n")[:-1]  # a last line without "\n" was never written whole
        log = os.path.basename(path)
        pending = None
        for line in lines:
            kind, _, rest = line.partition(" ")
            words = rest.split(" ")
            if kind == "begin":
                pending = words
                self.counts["operations"] += 1
            elif kind == "read":
                self.counts["operations"] += 1
                self.counts["reads"] += 1
            elif kind == "err":
                pending = None
                self.counts["failed as racing workers may"] += 1
            elif kind == "unexpected":
                pending = None
                op, code, msg = (rest.split(" ", 2) + ["", ""])[:3]
                self.problems.append(f"worker error {code}: {log} {op}: {msg}")
            elif kind == "ack":
                op, nargs = words[0], len(WRITES[words[0]][0])
                if pending != words[: nargs + 1]:
                    self.problems.append(f"log format: {log}: ack without its begin: {line!r}")
                pending = None
                self.counts["acknowledged writes"] += 1
                self.apply(log, op, words[1 : nargs + 1], words[nargs + 1 :])
            else:
                self.problems.append(f"log format: {log}: unreadable line {line!r}")
        if pending:
            self.counts["in flight at a kill"] += 1
            self.in_flight(log, pending[0], pending[1:])

    def apply(self, log, op, args, res):
        if op == "alloc":
            proto, name, _, keep = args
            ranges = self.modules.get((proto, name), []) if keep == "1" else []
            self.modules[(proto, name)] = sorted(ranges + [(int(res[0]), int(res[1]))])
        elif op == "dealloc":
            self.modules[tuple(args)] = []
        elif op == "define":
            self.services[args[0]] = (int(args[1]), int(args[2]))
        elif op == "undefine":
            del self.services[args[0]]
            self.offers = {k: v for k, v in self.offers.items() if k[0] != args[0]}
        elif op == "offer":
            self.offers[tuple(args)] = [int(res[0]), False]
        elif op == "accept":
            offer = self.offers[tuple(args)]
            if offer[0] != int(res[0]):
                self.problems.append(f"accept answered another port: {log}: {args} got {res[0]}, offered {offer[0]}")
            offer[1] = True
        elif op in ("reject", "relinst"):
            del self.offers[tuple(args)]
        elif op == "register":
            self.registrations[args[0]] = (int(res[0]), args[1])
        elif op == "release":
            del self.registrations[args[0]]
        elif op == "reserve":
            self.leases[(log, args[0], int(res[0]))] = args[1]
        elif op == "unreserve":
            del self.leases[(log, args[0], int(args[1]))]

    def in_flight(self, log, op, args):
        if op in ("alloc", "dealloc"):
            self.open_modules[(args[0], args[1])] = [op] + args
        elif op in ("define", "undefine"):
            self.open_services.add(args[0])
        elif op in ("offer", "accept", "reject", "relinst"):
            self.open_offers.add(tuple(args))
        elif op in ("register", "release"):
            self.open_registrations.add(args[0])
        elif op == "reserve":
            self.open_reserves += 1
        elif op == "unreserve":
            self.open_leases.add((log, args[0], int(args[1])))


def disjoint(rows, what):
    """Problems where rows (protocol, start, end, name) of one protocol overlap."""
    problems, last = [], {}
    for proto, start, end, name in sorted(rows):
        prev = last.get(proto)
        if prev and start <= prev[1]:
            problems.append(f"port held twice in {what}: {proto} {prev[0]}-{prev[1]} ({prev[2]}) overlaps {start}-{end} ({name})")
        if not prev or end > prev[1]:
            last[proto] = (start, end, name)
    return problems


def check_database(db):
    """Integrity, no port held twice, claims and mirrors in step with the holders."""
    problems, facts = [], {}
    con = sqlite3.connect(db, isolation_level=None)
    try:
        ok = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if ok != ["ok"]:
            problems.append("integrity_check: " + "; ".join(ok[:10]).replace("\n", " "))
        claims = [(p, s, e, k) for p, s, e, k in con.execute('SELECT protocol, start, "end", kind FROM claims')]
        ports = [(p, s, e, m) for p in ("tcp", "udp")
                 for s, e, m in con.execute(f'SELECT start, "end", module FROM {p.upper()}_PORTS')]
        problems += disjoint(claims, "claims")
        problems += disjoint(ports, "TCP_PORTS/UDP_PORTS")
        facts["claims"], facts["port rows"] = len(claims), len(ports)

        # Every holder's claim and mirror row, from the holder tables.
        holders, mirrors = [], []
        for p, s, e, m in ports:
            if not m.startswith("port4me:"):
                holders.append((p, s, e, "module"))
        for p, s, e, name in con.execute('SELECT protocol, start, "end", name FROM services'):
            holders.append((p, s, e, "service"))
            mirrors.append((p, s, e, f"port4me:service:{name}"))
        for table, kind in (("registrations", "registration"), ("leases", "lease")):
            for p, port, rid in con.execute(f"SELECT protocol, port, id FROM {table}"):
                holders.append((p, port, port, kind))
                mirrors.append((p, port, port, f"port4me:{kind}:{rid}"))
        for extra, missing, what in (
            (collections.Counter(claims) - collections.Counter(holders), "no holder", "claims"),
            (collections.Counter(holders) - collections.Counter(claims), "no claim", "holders"),
            (collections.Counter(p for p in ports if p[3].startswith("port4me:")) - collections.Counter(mirrors),
             "no holder", "mirror rows"),
            (collections.Counter(mirrors) - collections.Counter(ports), "no mirror row", "holders"),
        ):
            if extra:
                problems.append(f"claims and holders out of step: {sum(extra.values())} {what} with {missing}, e.g. {sorted(extra)[:3]}")
        outside = con.execute(
            'SELECT count(*) FROM service_ports AS sp JOIN services AS s ON s.id = sp.service_id '
            'WHERE sp.port NOT BETWEEN s.start AND s."end"').fetchone()[0]
        if outside:
            problems.append(f"service ports outside their service's range: {outside}")
    except sqlite3.DatabaseError as e:
        problems.append(f"database unreadable: {e}")
    finally:
        con.close()
    return problems, facts


def holdings(db):
    """What the database holds, keyed as the model keys it."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        modules = collections.defaultdict(list)
        for p in ("tcp", "udp"):
            for s, e, m in con.execute(f'SELECT start, "end", module FROM {p.upper()}_PORTS'):
                if not m.startswith("port4me:"):
                    modules[(p, m)].append((s, e))
        return {
            "modules": {k: sorted(v) for k, v in modules.items()},
            "services": {n: (s, e) for n, s, e in con.execute('SELECT name, start, "end" FROM services')},
            "offers": {(n, i): (p, st) for n, i, p, st in con.execute(
                "SELECT s.name, sp.instance, sp.port, sp.state FROM service_ports AS sp "
                "JOIN services AS s ON s.id = sp.service_id")},
            "registrations": {n: (p, pid) for n, p, pid in con.execute("SELECT name, port, pid FROM registrations")},
            "leases": {(p, port): pid for p, port, pid in con.execute("SELECT protocol, port, pid FROM leases")},
        }
    finally:
        con.close()


def check_acknowledged(m, db):
    """Every acknowledged write is in the database, and nothing unasked for is."""
    problems, checked = [], collections.Counter()
    h = holdings(db)

    fail = problems.append

    for key in set(m.modules) | set(m.open_modules) | set(h["modules"]):
        want, got = m.modules.get(key), h["modules"].get(key, [])
        if key in m.open_modules:
            op, _, _, *rest = m.open_modules[key]
            prior = want or []
            if op == "dealloc":
                ok = got in (prior, [])
            else:
                n, keep = int(rest[0]), rest[1] == "1"
                new = [r for r in got if r not in prior]
                fits = len(new) == 1 and new[0][1] - new[0][0] + 1 == n
                ok = got == prior or (fits and len(got) == (len(prior) + 1 if keep else 1))
            if not ok:
                fail(f"module in flight at a kill changed otherwise: {key}: {got}, expected {prior} or the result of the {op}")
        elif want is None:
            fail(f"module the acknowledged writes do not leave: {key}: {got}")
        elif got != want:
            fail(f"acknowledged module lost or changed: {key}: {got} in the database, acknowledged {want}")
        else:
            checked["module names"] += 1

    for name in set(m.services) | set(h["services"]):
        if name in m.open_services:
            continue
        want, got = m.services.get(name), h["services"].get(name)
        if want != got:
            fail(f"acknowledged service lost or changed: {name}: {got} in the database, acknowledged {want}")
        else:
            checked["services"] += 1

    for key in set(m.offers) | set(h["offers"]):
        if key in m.open_offers or key[0] in m.open_services:
            continue
        want, got = m.offers.get(key), h["offers"].get(key)
        want = want and (want[0], "allocated" if want[1] else "offered")
        if want != got:
            fail(f"acknowledged offer lost or changed: {key}: {got} in the database, acknowledged {want}")
        else:
            checked["offers"] += 1

    for name in set(m.registrations) | set(h["registrations"]):
        if name in m.open_registrations:
            continue
        want, got = m.registrations.get(name), h["registrations"].get(name)
        if want is None:
            fail(f"registration the acknowledged writes do not leave: {name}: {got}")
        elif want[1] != "self":
            # Owned by an anchor, alive all along: it must be there.
            if got != (want[0], int(want[1])):
                fail(f"acknowledged registration of a live owner lost: {name} of {want[1]}: {got} in the database, acknowledged port {want[0]}")
            else:
                checked["registrations of live owners"] += 1
        elif got is not None and got[0] != want[0]:
            fail(f"acknowledged registration changed: {name}: port {got[0]} in the database, acknowledged {want[0]}")

    for (log, proto, port), owner in m.leases.items():
        if owner == "self" or (log, proto, port) in m.open_leases:
            continue  # a dead owner's lease may have been reclaimed already
        got = h["leases"].get((proto, port), "none there")
        if got != (None if owner == "none" else int(owner)):
            fail(f"acknowledged lease lost: {proto} {port} of {owner} ({log}): owner {got} in the database")
        else:
            checked["leases of live or no owners"] += 1
    known = {(p, port) for (_, p, port) in m.leases}
    unasked = [k for k in h["leases"] if k not in known]
    if len(unasked) > m.open_reserves:
        fail(f"leases no worker reserved: {len(unasked)} (only {m.open_reserves} in flight), e.g. {unasked[:3]}")
    return problems, checked


def check_gc(db, cli, anchors):
    """gc reclaims exactly the registrations and leases of dead owners."""
    live = set(anchors)
    before = holdings(db)
    env = dict(os.environ, PORT4ME_DB=db)
    p = subprocess.run([cli, "registry", "--json", "gc"], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return [f"gc: failed: {p.stderr.strip()}"], {}
    report = json.loads(p.stdout)
    after = holdings(db)
    problems = []
    for what in ("registrations", "leases"):
        kept = {k: v for k, v in before[what].items() if (v[1] if what == "registrations" else v) in live | {None}}
        dead = len(before[what]) - len(kept)
        if after[what] != kept:
            lost = sorted(set(kept) - set(after[what]))[:3]
            left = sorted(set(after[what]) - set(kept))[:3]
            problems.append(f"gc: {what}: live ones reclaimed {lost}, dead ones left {left}")
        if report[what] != dead:
            problems.append(f"gc: reported {report[what]} {what} reclaimed, {dead} had dead owners")
    con = sqlite3.connect(db)
    ok = [r[0] for r in con.execute("PRAGMA integrity_check")]
    con.close()
    if ok != ["ok"]:
        problems.append("integrity_check after gc: " + "; ".join(ok[:10]).replace("\n", " "))
    stats = {
        "registrations reclaimed": report["registrations"],
        "leases reclaimed": report["leases"],
        "registrations kept": len(after["registrations"]),
        "leases kept": len(after["leases"]),
    }
    return problems, stats


def verify(directory, cli, anchors):
    """All checks (gc's only with the anchors' pids); (problems, counts)."""
    db = os.path.join(directory, "registry.sqlite")
    logs = os.path.join(directory, "logs")
    m = Model()
    for name in sorted(os.listdir(logs)):
        if ".log" in name:
            m.read_log(os.path.join(logs, name))
    problems = list(m.problems)
    counts = {"logs": m.counts}
    db_problems, counts["database"] = check_database(db)
    problems += db_problems
    try:
        ack_problems, counts["checked"] = check_acknowledged(m, db)
        problems += ack_problems
        if anchors:
            gc_problems, counts["gc"] = check_gc(db, cli, anchors)
            problems += gc_problems
    except sqlite3.DatabaseError as e:
        problems.append(f"database unreadable: {e}")
    return problems, counts


def summary(problems, examples=3):
    """The problems by kind (the text before the first ": "): the count
    and the first few, so a corrupted file does not print a thousand lines."""
    kinds = {}
    for p in problems:
        kind, _, detail = p.partition(": ")
        kinds.setdefault(kind, []).append(detail)
    lines = []
    for kind, details in kinds.items():
        lines.append(f"{kind} ({len(details)}): {details[0]}")
        lines += [f"    also: {d}" for d in details[1:examples]]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--cli", required=True)
    ap.add_argument("--anchors", default="")
    a = ap.parse_args()
    problems, counts = verify(a.dir, a.cli, [int(p) for p in a.anchors.split(",") if p])
    print(json.dumps(counts, indent=2))
    for line in summary(problems):
        print("FAIL:", line)
    print("FAIL" if problems else "PASS")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
