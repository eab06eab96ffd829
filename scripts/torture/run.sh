#!/usr/bin/env bash
# The registry torture test, after SQLite's crash tests. 16 processes write to
# one registry file while random SIGKILLs hit them: the native CLI, Node with
# several handles and port4me({ reserve }), and Rust with several handles on
# several threads. Every worker logs each acknowledged write. Once all are
# dead, the file must pass integrity_check, hold no port twice and hold every
# acknowledged write, and gc must reclaim every dead owner and no live one.
# torture.py drives the run and verify.py checks it.
#
#   bash scripts/torture/run.sh [--seconds N] [--runs N] [--procs N] [--kill-every S]
#                               [--kinds cli,node,rust] [--keep] [--build]
#
# Defaults: one run of 40 s of load, about 41 s in all on 2 cores. Exits
# non-zero when any check of any run fails, and then keeps the run's
# directory: logs/*.log are the workers' logs, logs/*.err their output.
#
# What it runs, built here when missing, or always with --build:
#   ${CARGO_TARGET_DIR:-target}/debug/port4me                  cargo build -p port4me-cli
#   ${CARGO_TARGET_DIR:-target}/debug/port4me-registry-stress  cargo build -p port4me-registry --bin port4me-registry-stress
#   the Node addon in npm/port4me-<platform>/                  bash scripts/test-node.sh (builds it, then tests)
# PORT4ME_TORTURE_CLI, PORT4ME_TORTURE_STRESS and the package's own
# PORT4ME_NATIVE_ADDON point at other builds instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cli="${PORT4ME_TORTURE_CLI:-$target/debug/port4me}"
stress="${PORT4ME_TORTURE_STRESS:-$target/debug/port4me-registry-stress}"

build=0
args=()
for a in "$@"; do
  if [ "$a" = --build ]; then build=1; else args+=("$a"); fi
done

say() { printf 'torture: %s\n' "$*"; }

for tool in python3 node; do
  command -v "$tool" >/dev/null 2>&1 || { say "Error: $tool not found" >&2; exit 1; }
done

if [ "$build" = 1 ] || [ ! -x "$cli" ]; then
  say "cargo build -p port4me-cli"
  (cd "$root" && cargo build --quiet -p port4me-cli)
fi
# The stress binary must know the torture subcommand (an older build does not).
knows_torture() { case "$("$stress" torture --db /dev/null 2>&1 || true)" in *"missing --"*) return 0 ;; *) return 1 ;; esac; }
if [ "$build" = 1 ] || [ ! -x "$stress" ] || ! knows_torture; then
  say "cargo build -p port4me-registry --bin port4me-registry-stress"
  (cd "$root" && cargo build --quiet -p port4me-registry --bin port4me-registry-stress)
fi
if [ -z "${PORT4ME_NATIVE_ADDON:-}" ]; then
  triple="$(node -e "process.stdout.write(require('$root/npm/port4me/binding.cjs').platformTriple())")"
  if [ ! -f "$root/npm/port4me-$triple/port4me.$triple.node" ]; then
    say "no Node addon in npm/port4me-$triple: bash scripts/test-node.sh"
    bash "$root/scripts/test-node.sh"
  fi
fi

exec python3 "$root/scripts/torture/torture.py" --cli "$cli" --stress "$stress" ${args[@]+"${args[@]}"}
