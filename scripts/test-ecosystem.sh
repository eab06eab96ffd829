#!/usr/bin/env bash
# The npm package through its ecosystem's own checks, on the packed tarballs
# (npm pack of npm/port4me and of this machine's platform package):
#
#   lint      publint (strict) and arethetypeswrong on the tarball: every
#             entry (port4me, port4me/vite, port4me/browser, package.json)
#             under node10, node16 CommonJS and ESM, and bundler.
#   types     tsc with skipLibCheck off on the typed examples of
#             bindings/node/test/types, in fresh projects: node16 CommonJS,
#             node16 ESM, nodenext and bundler, each against Vite 5, 6, 7
#             and 8's own types, and the browser condition: all with
#             TypeScript 7, Vite 8's with TypeScript 5.9 too (all with
#             FULL=1).
#   managers  a local registry (verdaccio) serving the tarballs; npm, pnpm,
#             Yarn 1, Yarn 4 (Plug'n'Play and node-modules) and Bun install
#             port4me in a project with and without "type": "module", then
#             require, import, port4me/vite and the CLI run there (under Bun
#             in Bun's projects). Deno runs `npm:port4me` from the registry
#             and the npm project's node_modules.
#
#   bash scripts/test-ecosystem.sh                  # all three
#   bash scripts/test-ecosystem.sh lint types       # some
#   TARBALLS=dist bash scripts/test-ecosystem.sh    # test these tarballs instead of packing npm/
#
# Needs the addon and the WebAssembly modules built (scripts/test-node.sh).
# The tools come pinned from scripts/ecosystem/package-lock.json, each Vite's
# types from scripts/ecosystem/types/vite*/ (installed once, then reused).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eco="$root/scripts/ecosystem"
say() { printf 'test-ecosystem: %s\n' "$*"; }
die() { printf 'test-ecosystem: Error: %s\n' "$*" >&2; exit 1; }

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(lint types managers)
for p in "${parts[@]}"; do
  case "$p" in lint | types | managers) ;; *) die "unknown part '$p' (argument); the parts are lint, types, managers" ;; esac
done
want() { printf '%s\n' "${parts[@]}" | grep -qx "$1"; }

# shellcheck source=lib/npm.sh
source scripts/lib/npm.sh
port4me_npm_ci "$eco" node_modules/.bin/attw node_modules/.bin/verdaccio
if want types; then
  for m in 5 6 7 8; do port4me_npm_ci "$eco/types/vite$m" node_modules/vite/package.json; done
  port4me_npm_ci "$eco/types/ts7" node_modules/.bin/tsc
fi
bin="$eco/node_modules/.bin"

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  # Each server runs in its own process group (setsid): stop the group, then wait.
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0; failures=()
pass() { passed=$((passed + 1)); printf '  ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); printf '  FAIL %s\n' "$*"; }

# --- The tarballs ---------------------------------------------------------------
triple="$(node -e "process.stdout.write(require('./npm/port4me/binding.cjs').platformTriple())")"
version="$(node -p "require('./npm/port4me/package.json').version")"
if [ -n "${TARBALLS:-}" ]; then
  tgzdir="$(cd "$TARBALLS" && pwd)"
else
  tgzdir="$work/tgz"; mkdir -p "$tgzdir"
  for pkg in port4me "port4me-$triple"; do
    (cd "npm/$pkg" && npm pack --silent --pack-destination "$tgzdir" >/dev/null) || die "npm pack of npm/$pkg failed"
  done
fi
tgz="$tgzdir/port4me-$version.tgz"
for f in "$tgz" "$tgzdir/port4me-$triple-$version.tgz"; do [ -s "$f" ] || die "$f is missing"; done
say "tarballs: $tgz and port4me-$triple-$version.tgz"

# --- lint -------------------------------------------------------------------------
lint() {
  say "== lint: publint --strict, attw"
  mkdir -p "$work/unpacked"
  tar -xzf "$tgz" -C "$work/unpacked"
  local out
  # publint prints suggestions too; "report nothing" means none of those either.
  if out="$("$bin/publint" --strict --pack false "$work/unpacked/package" 2>&1)" && ! grep -Eq 'Suggestion|Warning|Error' <<<"$out"; then
    pass "publint --strict: $(tail -1 <<<"$out")"
  else fail "publint: $(tr '\n' ' ' <<<"$out")"; fi
  # The browser entry is ESM, as page code is: a require() of it is for no
  # one, so only that rule is waived for it, and for it alone.
  local entry args
  for entry in main browser; do
    if [ "$entry" = main ]; then args=(--exclude-entrypoints ./browser); else args=(--entrypoints ./browser --ignore-rules cjs-resolves-to-esm); fi
    if out="$("$bin/attw" "$tgz" --no-color --format table-flipped "${args[@]}" 2>&1)" && grep -q 'No problems found' <<<"$out"; then
      pass "attw ${args[*]}: no problems under node10, node16 (CJS, ESM) and bundler for $(grep -o '^│ "port4me[^"]*"' <<<"$out" | tr -d '│ ' | tr '\n' ' ')"
    else printf '%s\n' "$out" | sed 's/^/    /'; fail "attw ${args[*]} found problems (above)"; fi
  done
}

# --- types ------------------------------------------------------------------------
# A project per cell inside the Vite cache folder, so that `vite` and
# `@types/node` resolve to that major's; port4me is the tarball, unpacked
# into the cache's node_modules.
types_cell() { # types_cell TS MAJOR NAME: tsc of TypeScript TS (5.9 or 7)
  local ts="$1" major="$2" name="$3" cache="$eco/types/vite$2" src="$root/bindings/node/test/types"
  local dir="$cache/cells/$name-ts$1" type=module module resolution files conditions='[]'
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$src/expect.mts" "$dir/"
  case "$name" in
    node16-cjs)
      type=commonjs module=node16 resolution=node16
      cp "$src/usage.cts" "$dir/usage.ts"
      cp "$src/usage.mts" "$src/vite.config.mts" "$src/errors.mts" "$src/registry.mts" "$src/browser-subpath.mts" "$dir/" ;;
    node16-esm | nodenext)
      module="${name%-esm}" resolution="${name%-esm}"
      cp "$src/usage.mts" "$dir/usage.ts"; cp "$src/vite.config.mts" "$dir/vite.config.ts"
      cp "$src/usage.cts" "$src/errors.mts" "$src/registry.mts" "$src/browser-subpath.mts" "$dir/" ;;
    bundler)
      # What `npm create vite` writes: ESNext modules, bundler resolution.
      module=esnext resolution=bundler
      cp "$src/usage.mts" "$dir/usage.ts"; cp "$src/vite.config.mts" "$dir/vite.config.ts"
      cp "$src/errors.mts" "$src/registry.mts" "$src/browser-subpath.mts" "$dir/" ;;
    browser)
      module=esnext resolution=bundler conditions='["browser"]'
      cp "$src/browser.mts" "$src/browser-subpath.mts" "$dir/" ;;
  esac
  files="$(cd "$dir" && ls | grep -v expect | sed 's/.*/"&"/' | paste -sd, -)"
  printf '{ "name": "cell-%s", "private": true, "type": "%s" }\n' "$name" "$type" >"$dir/package.json"
  # Not exactOptionalPropertyTypes, which bindings/node/test/types has:
  # Vite 5's own types do not compile under it.
  cat >"$dir/tsconfig.json" <<EOF
{
  "compilerOptions": {
    "target": "ES2022", "module": "$module", "moduleResolution": "$resolution",
    $([ "$resolution" = bundler ] && echo "\"customConditions\": $conditions,") "strict": true, "noEmit": true, "skipLibCheck": false,
    "types": [$([ "$name" = browser ] || echo '"node"')], "noUncheckedIndexedAccess": true
  },
  "files": ["expect.mts", $files]
}
EOF
  local tsc="$bin/tsc"
  [ "$ts" = 7 ] && tsc="$eco/types/ts7/node_modules/.bin/tsc"
  if (cd "$dir" && "$tsc" -p tsconfig.json >"$dir/tsc.log" 2>&1); then echo "ok"; else echo "FAIL"; sed 's/^/    /' "$dir/tsc.log"; fi
}

types() {
  say "== types: TypeScript $("$bin/tsc" --version | awk '{ print $2 }') and $("$eco/types/ts7/node_modules/.bin/tsc" --version | awk '{ print $2 }'), skipLibCheck false, resolutions x Vite majors"
  local m
  for m in 5 6 7 8; do
    rm -rf "$eco/types/vite$m/node_modules/port4me" "$eco/types/vite$m/cells"
    mkdir -p "$eco/types/vite$m/node_modules/port4me"
    tar -xzf "$tgz" -C "$eco/types/vite$m/node_modules/port4me" --strip-components=1
  done
  # TypeScript 7 (native, a few times faster) on every cell; TypeScript 5.9
  # on Vite 8's, and on all with FULL=1.
  local cells=() c
  for m in 5 6 7 8; do for c in node16-cjs node16-esm nodenext bundler; do
    cells+=("7 $m $c")
    if [ "$m" = 8 ] || [ "${FULL:-0}" = 1 ]; then cells+=("5.9 $m $c"); fi
  done; done
  cells+=("7 8 browser" "5.9 8 browser")
  # Two at a time: this machine has two cores.
  export -f types_cell; export eco root bin
  local ts result
  while read -r ts m c result; do
    if [ "$result" = ok ]; then pass "types: TypeScript $ts, $c, Vite $m"; else fail "types: TypeScript $ts, $c, Vite $m (tsc errors above)"; fi
  done < <(printf '%s\n' "${cells[@]}" | xargs -P 2 -L 1 bash -c 'r="$(types_cell "$0" "$1" "$2")"; printf "%s\n" "$r" | tail -n +2 >&2; printf "%s %s %s %s\n" "$0" "$1" "$2" "$(head -1 <<<"$r")"')
}

# --- managers -------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
yarn1="$eco/node_modules/yarn/bin/yarn.js"
yarn4="$eco/node_modules/@yarnpkg/cli-dist/bin/yarn.js"
expected_list='30845,19654,32310,63992,15273'

# What a project runs once port4me is installed: require, import and the
# Vite plugin (loaded, and asked for its config as Vite would), each file
# printing one line.
write_checks() { # write_checks DIR TYPE
  local dir="$1" type="$2"
  cat >"$dir/req.cjs" <<EOF
const p = require('port4me');
const got = p.list({ user: 'alice', n: 5 }).join();
if (got !== '$expected_list') throw new Error('list gave ' + got);
if (p._internal.backend !== 'native') throw new Error('backend ' + p._internal.backend);
const config = require('port4me/vite').default({ tool: 'cell' }).config({}, { command: 'serve', mode: 'development' });
if (!(config.server.port >= 1024 && config.server.port <= 65535)) throw new Error('port4me/vite chose ' + JSON.stringify(config));
console.log('require: native addon, list, port4me/vite (server.port ' + config.server.port + ')');
EOF
  cat >"$dir/imp.mjs" <<EOF
import port4meDefault, { list } from 'port4me';
import port4me from 'port4me/vite';
const got = list({ user: 'alice', n: 5 }).join();
if (got !== '$expected_list') throw new Error('list gave ' + got);
if (typeof port4meDefault !== 'function') throw new Error('no default export');
const config = port4me({ tool: 'cell' }).config({}, { command: 'serve', mode: 'development' });
if (!(config.server.port >= 1024 && config.server.port <= 65535)) throw new Error('port4me/vite chose ' + JSON.stringify(config));
console.log('import: list, port4me/vite (server.port ' + config.server.port + ')');
EOF
  # The project's own .js files: CommonJS or ESM as its "type" says.
  if [ "$type" = module ]; then cp "$dir/imp.mjs" "$dir/plain.js"; else cp "$dir/req.cjs" "$dir/plain.js"; fi
}

# pm_cell PM TYPE: a project of that "type" (commonjs or module) installs
# port4me from the local registry with PM, then runs the checks and the CLI
# the package manager's way. Prints "ok   ..." and "FAIL ..." lines.
pm_cell() {
  local pm="$1" type="$2" dir="$work/pm/$1-$2"
  mkdir -p "$dir"
  printf '{ "name": "cell-%s-%s", "version": "1.0.0", "private": true, "type": "%s", "dependencies": { "port4me": "%s" } }\n' \
    "$pm" "$type" "$type" "$version" >"$dir/package.json"
  write_checks "$dir" "$type"
  (
    cd "$dir"
    export PORT4ME_DB="$dir/registry.sqlite"
    run=(node)
    case "$pm" in
      npm) npm install --userconfig "$npmrc" --cache "$work/cache/npm" --no-audit --no-fund --loglevel=error --silent
           cli=(npx --no-install port4me) ;;
      pnpm) "$bin/pnpm" install --no-frozen-lockfile --registry "$url" --store-dir "$work/cache/pnpm-$type" --reporter=silent
            cli=("$bin/pnpm" exec port4me) ;;
      yarn1) node "$yarn1" install --registry "$url" --cache-folder "$work/cache/yarn1-$type" --non-interactive --no-progress --silent
             cli=(node "$yarn1" --silent port4me) ;;
      yarn4-pnp | yarn4-nm)
        printf 'npmRegistryServer: "%s"\nunsafeHttpWhitelist: ["127.0.0.1"]\nnodeLinker: %s\nenableGlobalCache: false\nenableTelemetry: false\nnpmMinimalAgeGate: 0\n' \
          "$url" "$([ "$pm" = yarn4-pnp ] && echo pnp || echo node-modules)" >.yarnrc.yml
        # The packages were published a moment ago: no waiting period.
        : >yarn.lock
        # Its own global folder: Yarn keeps registry metadata there, with
        # tarball addresses of an earlier run's registry.
        export YARN_GLOBAL_FOLDER="$work/cache/yarn4-$pm-$type"
        YARN_ENABLE_IMMUTABLE_INSTALLS=false node "$yarn4" install >yarn-install.log || { cat yarn-install.log; exit 1; }
        # Plug'n'Play has no node_modules: scripts run through `yarn node`.
        if [ "$pm" = yarn4-pnp ]; then run=(node "$yarn4" node); fi
        cli=(node "$yarn4" port4me) ;;
      bun) BUN_INSTALL_CACHE_DIR="$work/cache/bun-$type" "$bin/bun" install --registry "$url" --silent
           run=("$bin/bun"); cli=("$bin/bun" run port4me) ;;
    esac
    for f in req.cjs imp.mjs plain.js; do
      if out="$("${run[@]}" "$f" 2>&1)"; then echo "ok   $pm, $type: ${run[0]##*/} $f: $out"
      else echo "FAIL $pm, $type: ${run[0]##*/} $f: $(tail -3 <<<"$out" | tr '\n' ' ')"; fi
    done
    got="$("${cli[@]}" --user=alice --list=5 2>&1 | tr '\n' ',')"
    if [ "$got" = "$expected_list," ]; then echo "ok   $pm, $type: the CLI (${cli[0]##*/} ${cli[*]:1} --user=alice --list=5)"
    else echo "FAIL $pm, $type: the CLI (${cli[0]##*/} ${cli[*]:1}) gave: $got"; fi
  ) >"$dir.out" 2>&1 || echo "FAIL $pm, $type: install failed" >>"$dir.out"
  cat "$dir.out"
}

# Deno: npm:port4me from the registry, and the npm project's node_modules.
deno_checks() {
  local out dir="$work/pm/npm-module"
  # --minimum-dependency-age=0: the packages were published a moment ago.
  export DENO_DIR="$work/cache/deno" NPM_CONFIG_REGISTRY="$url"
  if out="$("$bin/deno" run -A --minimum-dependency-age=0 "npm:port4me@$version" --user=alice --list=5 2>"$work/deno.err" | tr '\n' ',')" && [ "$out" = "$expected_list," ]; then
    pass "deno: deno run -A npm:port4me --user=alice --list=5"
  else fail "deno: deno run -A npm:port4me gave: '$out' $(tail -3 "$work/deno.err" | tr '\n' ' ')"; fi
  local f
  for f in imp.mjs req.cjs; do
    if out="$(cd "$dir" && "$bin/deno" run -A "$f" 2>&1)"; then pass "deno: $f in an npm-installed project: $out"
    else fail "deno: $f in an npm-installed project: $(tail -3 <<<"$out" | tr '\n' ' ')"; fi
  done
  unset DENO_DIR NPM_CONFIG_REGISTRY
}

# Bun and Deno on the WebAssembly fallback, with no user variables: the
# seed's user is the account, as the native CLI (the addon, under Node)
# finds it.
user_fallback() {
  local dir="$work/pm/npm-module" native runtime got
  local -a nouser=(env -u PORT4ME_USER -u LOGNAME -u USER -u LNAME -u USERNAME)
  local code="const p = require('port4me'); if (p._internal.backend !== 'wasm') throw new Error(p._internal.backend); console.log(p.list({ tool: 'vite', n: 5 }).join('\n'))"
  native="$(cd "$dir" && "${nouser[@]}" node node_modules/port4me/cli.mjs --tool=vite --list=5 2>&1 | tr '\n' ',')"
  for runtime in bun deno; do
    got="$(cd "$dir" && if [ "$runtime" = bun ]; then "${nouser[@]}" PORT4ME_NATIVE_ADDON=none "$bin/bun" -e "$code"
      else "${nouser[@]}" PORT4ME_NATIVE_ADDON=none DENO_DIR="$work/cache/deno" "$bin/deno" eval \
        "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); $code"; fi 2>&1 | tr '\n' ',')"
    if [[ "$native" =~ ^([0-9]+,){5}$ ]] && [ "$got" = "$native" ]; then
      pass "$runtime: the WebAssembly fallback with no user variables lists what the native CLI lists for --tool=vite ($native)"
    else fail "$runtime: with no user variables the fallback listed '$got', the native CLI '$native'"; fi
  done
}

managers() {
  say "== managers: verdaccio $(node -p "require('$eco/node_modules/verdaccio/package.json').version"), npm $(npm --version), pnpm $("$bin/pnpm" --version), Yarn $(node "$yarn1" --version) and $(node "$yarn4" --version), Bun $("$bin/bun" --version), $("$bin/deno" --version | head -1)"
  local reg="$work/registry" port token
  mkdir -p "$reg/storage" "$work/cache"
  port="$(free_port)"; url="http://127.0.0.1:$port/"
  # Only what is published here: no uplink, so nothing comes from elsewhere.
  cat >"$reg/config.yaml" <<EOF
storage: $reg/storage
auth:
  htpasswd:
    file: $reg/htpasswd
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
log: { type: stdout, format: pretty, level: warn }
EOF
  setsid "$bin/verdaccio" --config "$reg/config.yaml" --listen "127.0.0.1:$port" >"$reg/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -fsS "$url-/ping" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "$url-/ping" >/dev/null 2>&1 || { cat "$reg/log"; die "verdaccio did not start"; }
  token="$(curl -fsS -X PUT -H 'content-type: application/json' -d '{"name":"ci","password":"ci-password-1"}' \
    "$url-/user/org.couchdb.user:ci" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).token')"
  npmrc="$reg/npmrc"
  printf 'registry=%s\n//127.0.0.1:%s/:_authToken=%s\n' "$url" "$port" "$token" >"$npmrc"

  # Yarn resolves every optional dependency, so all eight platform packages
  # must exist. This machine's is the real tarball; the other seven are
  # their generated package.json alone: Yarn never installs them here (their
  # os and cpu say so), and what they hold is tested by test-release.sh.
  local name f
  for f in "$tgz" "$tgzdir/port4me-$triple-$version.tgz"; do
    npm publish --userconfig "$npmrc" --loglevel=error "$f" >/dev/null || die "npm publish $(basename "$f") to verdaccio failed"
  done
  for name in $(node scripts/packages.mjs platforms | cut -f1); do
    [ "$name" = "$triple" ] && continue
    mkdir -p "$work/placeholder/$name/package"
    cp "npm/port4me-$name/package.json" "$work/placeholder/$name/package/"
    tar -czf "$work/placeholder/$name.tgz" -C "$work/placeholder/$name" package
    npm publish --userconfig "$npmrc" --loglevel=error "$work/placeholder/$name.tgz" >/dev/null || die "npm publish of the port4me-$name placeholder failed"
  done
  say "verdaccio on $url: port4me and port4me-$triple from the tarballs, seven placeholders"

  export -f pm_cell write_checks
  export work bin eco url npmrc version yarn1 yarn4 expected_list
  local line pm type
  while IFS= read -r line; do
    case "$line" in
      "ok   "*) pass "${line#ok   }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) printf '    %s\n' "$line" ;;
    esac
  done < <(for pm in npm pnpm yarn1 yarn4-pnp yarn4-nm bun; do for type in commonjs module; do echo "$pm $type"; done; done |
    xargs -P 2 -L 1 bash -c 'pm_cell "$0" "$1"')

  deno_checks
  user_fallback
}

for p in "${parts[@]}"; do "$p"; done

for f in "${failures[@]}"; do say "FAILED: $f"; done
echo "test-ecosystem: $passed passed, $failed failed"
[ "$failed" = 0 ]
