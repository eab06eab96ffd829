#!/usr/bin/env bash
# Runs every test of the project, installing what each part needs first.
# This is the command README.md gives and the one .ci/run calls.
#
#   bash scripts/test-all.sh           # every stage
#   bash scripts/test-all.sh --quick   # the edit-test loop: packages, Rust, conformance,
#                                      # Node and the kit; no apt-get, qemu, Wine or cross-builds
#
# The full run starts scripts/prefetch.sh in the background first: the
# downloads of the later stages then overlap the Rust stage's compiling.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  *) echo "usage: bash scripts/test-all.sh [--quick]" >&2; exit 2 ;;
esac

started=$SECONDS
# Every process of this run inherits the mark; at the end none may be left.
# Not a PORT4ME_ name: port4me reads those, and the tests clear them.
export TEST_ALL_RUN="$$.$RANDOM"
leftovers() {
  stage "No process of this run left behind"
  python3 scripts/lib/leftovers.py "$TEST_ALL_RUN" $$
}
stage() { printf '\n==== %s (at %d s) ====\n' "$*" "$((SECONDS - started))"; }
target="${CARGO_TARGET_DIR:-target}"

# prefetch PART: runs scripts/prefetch.sh PART in the background, its output
# in target/prefetch-PART.log. A failure there is not fatal: the stage that
# needs the thing installs it again, and fails with its own message.
declare -A prefetch_pid
# On any exit, let a prefetch finish: apt-get killed halfway leaves dpkg broken.
# The same for the ecosystem checks, which run in the background too.
trap 'for pid in "${prefetch_pid[@]}" ${ecosystem_pid:-}; do wait "$pid" 2>/dev/null || true; done' EXIT
prefetch() {
  mkdir -p target
  bash scripts/prefetch.sh "$1" >"target/prefetch-$1.log" 2>&1 &
  prefetch_pid[$1]=$!
}
await() {
  local pid="${prefetch_pid[$1]:-}"
  [ -n "$pid" ] || return 0
  unset "prefetch_pid[$1]"
  if wait "$pid"; then
    tail -1 "target/prefetch-$1.log"
  else
    echo "prefetch $1 failed (the stages install what they need); its log:"
    sed 's/^/  /' "target/prefetch-$1.log"
  fi
}

if [ "$quick" = 0 ]; then
  # The Rust stage's own target first: prefetch runs rustup, which must not
  # run twice at once.
  [ -d "$(rustc --print sysroot)/lib/rustlib/thumbv7em-none-eabihf" ] || rustup target add thumbv7em-none-eabihf
  prefetch tools
  prefetch system
fi

stage "Packages: one version everywhere, platform packages generated from the template"
node scripts/packages.mjs check
stage "Rust: workspace tests, clippy, doctests, no_std build"
bash scripts/test-rust.sh
stage "Conformance: vectors against the reference (PyPI port4me)"
bash scripts/test-conformance.sh
if [ "$quick" = 0 ]; then
  stage "Fuzz smoke run of the spec parser"
  bash scripts/fuzz-smoke.sh
fi
await tools
stage "Node addon and npm package"
bash scripts/test-node.sh
if [ "$quick" = 0 ]; then
  # In the background, beside the kit and torture stages: it only reads the
  # built package, and most of its time is tsc and package managers, which
  # wait on one core each.
  stage "Ecosystem checks started in the background (publint, attw, tsc matrix, package managers; log: target/ecosystem.log)"
  bash scripts/test-ecosystem.sh >target/ecosystem.log 2>&1 &
  ecosystem_pid=$!
fi
stage "Conformance kit: the reference CLI, the native CLI and npx port4me"
# The CLI that the Rust stage's tests built and ran: the same code, so no
# second build with the features of `cargo build -p port4me-cli`.
[ -x "$target/debug/port4me" ] || cargo build --quiet -p port4me-cli
PORT4ME_KIT_NATIVE="$target/debug/port4me" PORT4ME_KIT_NPX="node npm/port4me/cli.mjs" \
  bash scripts/test-kit.sh
if [ "$quick" = 1 ]; then
  leftovers
  stage "Quick stages passed (the full run adds fuzzing, torture, WebAssembly in Chromium, Windows and release)"
  exit 0
fi
stage "Registry torture: 16 processes (CLI, Node, Rust) under random SIGKILLs, then every acknowledged write checked"
bash scripts/torture/run.sh
stage "Ecosystem checks: publint, attw, tsc per resolution and Vite major, npm/pnpm/Yarn/Bun/Deno installs"
ecosystem_started=$SECONDS
if wait "$ecosystem_pid"; then ecosystem_rc=0; else ecosystem_rc=$?; fi
cat target/ecosystem.log
echo "(waited $((SECONDS - ecosystem_started)) s for it here)"
[ "$ecosystem_rc" = 0 ] || { echo "test-all: the ecosystem checks failed (above)" >&2; exit 1; }
await system
stage "WebAssembly build and browser preview"
# The Node stage built the modules from this tree.
SKIP_BUILD=1 bash scripts/test-wasm.sh
stage "Windows build under Wine: unit tests and the CLI"
bash scripts/test-windows.sh
stage "Release: cross-builds for every platform, run under qemu and Wine, inspected, installed"
WASM_BUILT=1 bash scripts/test-release.sh
leftovers
stage "All stages passed"
