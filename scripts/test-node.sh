#!/usr/bin/env bash
# Build and test the Node addon (bindings/node) and the npm package
# (npm/port4me): npm ci (only when the lockfile changed), a release build of
# the addon with the napi CLI from devDependencies, `node --test`, and `tsc`
# on the typed usage examples. Needs only rustup/cargo, node and npm.
# Idempotent; quick when nothing changed (cargo and npm are both skipped or
# incremental).
#
#   bash scripts/test-node.sh            # everything
#   SKIP_BUILD=1 bash scripts/test-node.sh   # reuse the addon already built
#
# Honours CARGO_TARGET_DIR. The addon lands in npm/port4me-<platform>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dev="$root/bindings/node"
cd "$dev"

say() { printf 'test-node: %s\n' "$*"; }

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-node: Error: $tool not found" >&2; exit 1; }
done
say "node $(node --version), npm $(npm --version 2>/dev/null), $(cargo --version)"

# 0. Vite 8 (a devDependency, for the plugin tests) needs npm 11; a machine
#    whose npm upgrade did not happen still has npm 10.
npm_major="$(npm --version 2>/dev/null | cut -d. -f1)"
if [ "${npm_major:-0}" -lt 11 ]; then
  say "npm $(npm --version) is older than 11: npm install -g npm@11"
  npm install -g npm@11 --no-audit --no-fund --loglevel=error
fi

# 1. Dependencies, from the committed lockfile. `npm ci` wipes node_modules,
#    so run it only when the lockfile differs from the one last installed.
stamp="node_modules/.port4me-lock.sha256"
want="$(node -e "process.stdout.write(require('node:crypto').createHash('sha256').update(require('node:fs').readFileSync('package-lock.json')).digest('hex'))")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/napi ]; then
  say "node_modules up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# 2. The addon, in release mode, into npm/port4me-<platform>/.
triple="$(node -e "process.stdout.write(require('../../npm/port4me/binding.cjs').platformTriple())")"
outdir="$root/npm/port4me-$triple"
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$outdir/port4me.$triple.node" ]; then
  say "SKIP_BUILD=1: using $outdir/port4me.$triple.node"
else
  mkdir -p "$outdir"
  say "napi build --release -> npm/port4me-$triple/port4me.$triple.node"
  node_modules/.bin/napi build --platform --release --no-js \
    --dts ../../bindings/node/native.d.ts \
    --output-dir "../../npm/port4me-$triple"
fi

# 3. Rust unit tests of the binding layer (option checks, error codes).
say "cargo test -p port4me-node"
cargo test --quiet -p port4me-node

# 4. The test suite: conformance vectors, probes, threads, bad input, CLI, Vite.
say "node --test"
RUST_BACKTRACE=0 node --test --test-reporter=spec test/*.test.mjs

# 5. The types, against typed usage examples.
say "tsc --noEmit -p test/types"
node_modules/.bin/tsc -p test/types/tsconfig.json

say "ok"
