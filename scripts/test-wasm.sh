#!/usr/bin/env bash
# Build and test the WebAssembly build (bindings/wasm -> npm/port4me/wasm):
# Debian's chromium (apt-get, only if /usr/bin/chromium is missing), npm ci in
# bindings/wasm (only when its lockfile changed; brings playwright-core and
# binaryen's wasm-opt), bindings/wasm/build.sh (rustup target, wasm-bindgen-cli
# pinned to Cargo.lock, wasm-opt), the crate's native unit tests, then
# `node --test`: API, conformance vectors, size budget, and the preview page in
# headless Chromium (screenshots in artifacts/). Needs only rustup/cargo, node,
# npm and apt-get. Idempotent; quick when everything is already installed.
#
#   bash scripts/test-wasm.sh
#   SKIP_BUILD=1 bash scripts/test-wasm.sh   # reuse npm/port4me/wasm as built
#
# Honours CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/bindings/wasm"
say() { printf 'test-wasm: %s\n' "$*"; }

for tool in cargo rustup node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-wasm: Error: $tool not found" >&2; exit 1; }
done
say "node $(node --version), npm $(npm --version 2>/dev/null), $(cargo --version)"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "test-wasm: Error: need root for: $*" >&2; return 1; fi
}

# 1. Chromium for the browser test: Debian's package, never a download.
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  say "installing chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq chromium >/dev/null 2>&1 || {
    as_root apt-get update -qq
    as_root apt-get install -y -qq chromium
  }
fi
say "$("$chromium" --version 2>/dev/null || echo "chromium at $chromium")"

# 2. npm dependencies from the committed lockfile. `npm ci` wipes
#    node_modules, so run it only when the lockfile differs from the last one.
cd "$dir"
stamp="node_modules/.port4me-lock.sha256"
want="$(node -e "process.stdout.write(require('node:crypto').createHash('sha256').update(require('node:fs').readFileSync('package-lock.json')).digest('hex'))")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/wasm-opt ] && [ -d node_modules/playwright-core ]; then
  say "node_modules up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# 3. The module.
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$root/npm/port4me/wasm/port4me_bg.wasm" ]; then
  say "SKIP_BUILD=1: using npm/port4me/wasm as built"
else
  bash "$dir/build.sh"
fi

# 4. Native unit tests of the binding's pure part (resolve, list, LCG steps).
say "cargo test -p port4me-wasm"
cargo test --quiet -p port4me-wasm --lib

# 5. Node: API, conformance vectors, size budget, preview page in Chromium.
say "node --test"
CHROMIUM_PATH="$chromium" node --test --test-reporter=spec test/*.test.mjs
