#!/usr/bin/env bash
# Build and test the WebAssembly build (bindings/wasm -> npm/port4me/wasm):
# Debian's chromium (apt-get, only if /usr/bin/chromium is missing), npm ci in
# bindings/wasm (brings playwright-core, binaryen's wasm-opt and Vite 8) and in
# bindings/wasm/test/vite5 (Vite 5), each only when its lockfile changed,
# bindings/wasm/build.sh (rustup target, wasm-bindgen-cli pinned to Cargo.lock,
# wasm-opt; the browser module and the Node.js flavour), the crate's native
# unit tests (with and without the "node" feature), then `node --test`: API,
# conformance vectors, size budget, the preview page in headless Chromium
# (screenshots in artifacts/), and `vite build` of a page importing port4me
# with Vite 5 and Vite 8, opened in Chromium. Needs only rustup/cargo, node,
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

# 2. npm dependencies from the committed lockfiles (Vite 8's needs npm 11).
# shellcheck source=lib/npm.sh
source "$root/scripts/lib/npm.sh"
port4me_npm11
cd "$dir"
port4me_npm_ci "$dir" node_modules/.bin/wasm-opt node_modules/playwright-core node_modules/vite/bin/vite.js
port4me_npm_ci "$dir/test/vite5" node_modules/vite/bin/vite.js

# 3. The module.
wasm_out="$root/npm/port4me/wasm"
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$wasm_out/port4me_bg.wasm" ] && [ -f "$wasm_out/port4me_bytes.mjs" ] \
    && [ -f "$wasm_out/port4me_node_bg.wasm" ]; then
  say "SKIP_BUILD=1: using npm/port4me/wasm as built"
else
  bash "$dir/build.sh"
fi

# 4. Native unit tests of the binding's pure parts (resolve, list, LCG steps;
#    the Node flavour's option checks and batched search).
say "cargo test -p port4me-wasm (default features, then --features node)"
cargo test --quiet -p port4me-wasm --lib
cargo test --quiet -p port4me-wasm --lib --features node

# 5. Node: API, conformance vectors, size budget, preview page in Chromium,
#    Vite 5 and 8 builds opened in Chromium.
say "node --test"
CHROMIUM_PATH="$chromium" node --test --test-reporter=spec test/*.test.mjs
