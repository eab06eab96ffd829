#!/usr/bin/env bash
# `port4me.exe run` under Wine with a Windows Node.js as the command: the
# server gets its port as {port}, PORT, PORT4ME_PORT and an --env name, a
# Linux client's request reaches it, `ps` lists it while it runs, and its
# exit status (7) comes back as the runner's.
#
#   source scripts/wine/env.sh
#   bash scripts/wine/run-node.sh PORT4ME_EXE NODE_EXE
#
# Called by scripts/test-windows.sh (the debug build) and
# scripts/test-release.sh (the shipped port4me.exe). Needs python3.
set -euo pipefail

exe=$(realpath "$1")
node_exe=$(realpath "$2")
: "${WINE:?source scripts/wine/env.sh first}"
fail() {
  echo "run-node.sh: $*" >&2
  exit 1
}
# A Linux path as Wine's Z: drive sees it.
win() { printf 'Z:%s' "${1//\//\\}"; }

tmp=$(mktemp -d)
runner=
cleanup() {
  [ -n "$runner" ] && kill "$runner" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/server.js" <<'EOF'
// Serves one request, then exits with status 7.
const http = require('http');
const fs = require('fs');
const [port, portFile] = process.argv.slice(2);
const env = process.env;
if (!(/^\d+$/.test(port) && env.PORT === port && env.PORT4ME_PORT === port && env.EXTRA_PORT === port)) {
  console.error(`the ports differ: argument ${port}, PORT ${env.PORT}, PORT4ME_PORT ${env.PORT4ME_PORT}, EXTRA_PORT ${env.EXTRA_PORT}`);
  process.exit(3);
}
const server = http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end(`port4me ${port}\n`, () => server.close(() => process.exit(7)));
});
server.listen(Number(port), '127.0.0.1', () => fs.writeFileSync(portFile, port));
EOF

export PORT4ME_DB
PORT4ME_DB=$(win "$tmp/ports.sqlite")
export PORT4ME_USER=wine-run
"$WINE" "$exe" run --tool wnode --env EXTRA_PORT -- "$(win "$node_exe")" "$(win "$tmp/server.js")" '{port}' "$(win "$tmp/port")" \
  >"$tmp/out" 2>"$tmp/err" </dev/null &
runner=$!
for _ in $(seq 600); do
  [ -s "$tmp/port" ] && break
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.1
done
[ -s "$tmp/port" ] || fail "the server did not start: $(tr -d '\r' <"$tmp/err")"
port=$(cat "$tmp/port")
listed=$("$WINE" "$exe" ps --json </dev/null | tr -d '\r')
python3 -c "
import json, sys
rows = json.loads(sys.argv[1])
assert [(r['tool'], r['port'], r['url']) for r in rows] == [('wnode', $port, 'http://localhost:$port')], rows
assert rows[0]['command'].endswith('server.js $port ' + sys.argv[2]), rows[0]['command']
" "$listed" "$(win "$tmp/port")" || fail "ps --json listed: $listed"
body=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/', timeout=20).read().decode().strip())") ||
  fail "no answer on 127.0.0.1:$port"
[ "$body" = "port4me $port" ] || fail "the server answered '$body'"
rc=0
wait "$runner" || rc=$?
runner=
[ "$rc" = 7 ] || fail "port4me.exe run exited $rc, the server 7: $(tr -d '\r' <"$tmp/err")"
echo "ok  port4me.exe run -- node.exe server.js {port}: port $port as {port}, PORT, PORT4ME_PORT and --env EXTRA_PORT; ps listed it; a Linux client got an answer; exit status 7 passed on"
