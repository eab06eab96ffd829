#!/usr/bin/env bash
# Build and test the Node addon (bindings/node) and the npm package
# (npm/port4me): npm ci (only when the lockfile changed), a release build of
# the addon with the napi CLI from devDependencies, the WebAssembly modules
# (bindings/wasm/build.sh: the package's fallback where no addon loads, and
# its browser entry), `node --test` (on the addon, then the conformance,
# probe, error, API, CLI, thread, Vite and fallback tests again through the
# WebAssembly fallback, PORT4ME_NATIVE_ADDON=none), and `tsc` on the typed
# usage examples. Needs only rustup/cargo, node and npm. Idempotent; quick
# when nothing changed (cargo and npm are both skipped or incremental).
#
#   bash scripts/test-node.sh            # everything
#   SKIP_BUILD=1 bash scripts/test-node.sh   # reuse the addon and the wasm modules already built
#
# Honours CARGO_TARGET_DIR. The addon lands in npm/port4me-<platform>/, the
# WebAssembly modules in npm/port4me/wasm/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dev="$root/bindings/node"
cd "$dev"

say() { printf 'test-node: %s\n' "$*"; }

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-node: Error: $tool not found" >&2; exit 1; }
done
say "node $(node --version), npm $(npm --version 2>/dev/null), $(cargo --version)"

# 0-1. Dependencies from the committed lockfile (Vite 8, for the plugin
#      tests, needs npm 11).
# shellcheck source=lib/npm.sh
source "$root/scripts/lib/npm.sh"
port4me_npm11
port4me_npm_ci "$dev" node_modules/.bin/napi

# 2. The addon, in release mode, into npm/port4me-<platform>/, with the test
#    hooks (cargo feature test-hooks: _panicForTest, _bareBindV4), which the
#    published addon (scripts/build-release.sh) does not have.
triple="$(node -e "process.stdout.write(require('../../npm/port4me/binding.cjs').platformTriple())")"
outdir="$root/npm/port4me-$triple"
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$outdir/port4me.$triple.node" ]; then
  say "SKIP_BUILD=1: using $outdir/port4me.$triple.node"
else
  mkdir -p "$outdir"
  say "napi build --release -> npm/port4me-$triple/port4me.$triple.node"
  node_modules/.bin/napi build --platform --release --no-js --features test-hooks \
    --dts ../../bindings/node/native.d.ts \
    --output-dir "../../npm/port4me-$triple"
fi

# 2b. The WebAssembly modules: the fallback (port4me_node*) and the browser entry.
wasm_out="$root/npm/port4me/wasm"
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$wasm_out/port4me_node_bg.wasm" ] && [ -f "$wasm_out/port4me_node.cjs" ] \
    && [ -f "$wasm_out/port4me_bytes.mjs" ]; then
  say "SKIP_BUILD=1: using npm/port4me/wasm as built"
else
  say "bindings/wasm/build.sh -> npm/port4me/wasm/"
  bash "$root/bindings/wasm/build.sh"
fi

# 3. Rust unit tests of the binding layer (option checks, error codes), and
#    the native binary, which cli.test.mjs compares the fallback's output with.
say "cargo test -p port4me-node; cargo build -p port4me-cli"
cargo test --quiet -p port4me-node
cargo build --quiet -p port4me-cli

# 4. The test suite: conformance vectors, probes, threads, bad input, CLI, Vite.
say "node --test (native addon)"
RUST_BACKTRACE=0 node --test --test-reporter=spec test/*.test.mjs

# 4b. The same through the WebAssembly fallback (no addon): everything but
#     the registry, holders and reserve, which need the addon (fallback.test
#     checks that they say so).
say "node --test (WebAssembly fallback, PORT4ME_NATIVE_ADDON=none)"
PORT4ME_NATIVE_ADDON=none node --test --test-reporter=spec \
  test/conformance.test.mjs test/probe.test.mjs test/vite.test.mjs test/vite-busy.test.mjs \
  test/errors.test.mjs test/api.test.mjs test/cli.test.mjs test/threads.test.mjs test/fallback.test.mjs

# 4c. The registry benchmark, as a smoke run (2 processes, one second
#     each): it runs and its figures are sane; no performance target.
say "registry benchmark smoke run (bench/registry.mjs --procs=2 --check)"
node bench/registry.mjs --procs=2 --seconds=1 --check

# 5. The types, against typed usage examples.
say "tsc --noEmit -p test/types (the Node.js entry, then the browser entry)"
node_modules/.bin/tsc -p test/types/tsconfig.json
node_modules/.bin/tsc -p test/types/tsconfig.browser.json

say "ok"
