"""Fails when a process of this test run is still running.

    python3 scripts/lib/leftovers.py MARK PID...

Every process scripts/test-all.sh starts inherits TEST_ALL_RUN=MARK in its
environment; any that still has it, but the PIDs named (the caller), was left
behind by a test: a server it forgot keeps ports and writes into folders
that were meant to be gone. Processes on their way out get 10 seconds
(Wine's server lingers 3 seconds after its last client).
"""
import os
import sys
import time


def left(mark, ignore):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in ignore:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
            if mark not in env:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found.append((int(name), cmd))
    return found


def main():
    if len(sys.argv) < 2 or not sys.argv[1]:
        sys.exit("usage: python3 scripts/lib/leftovers.py MARK [PID...]")
    mark = b"TEST_ALL_RUN=" + sys.argv[1].encode()
    ignore = {os.getpid(), *(int(p) for p in sys.argv[2:])}
    deadline = time.monotonic() + 10
    while True:
        found = left(mark, ignore)
        if not found:
            print("no process of this run is left")
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid, cmd in found:
        print(f"left behind: pid {pid}: {cmd}")
    sys.exit(f"{len(found)} process(es) of this run still running (listed above)")


main()
