#!/usr/bin/env bash
# Runs every test of the project, installing what each part needs first.
# This is the command README.md gives and the one .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n==== %s ====\n' "$*"; }

stage "Packages: one version everywhere, platform packages generated from the template"
node scripts/packages.mjs check
stage "Rust: workspace tests, clippy, doctests, no_std build"
bash scripts/test-rust.sh
stage "Conformance: vectors against the reference (PyPI port4me)"
bash scripts/test-conformance.sh
stage "Fuzz smoke run of the spec parser"
bash scripts/fuzz-smoke.sh
stage "Node addon and npm package"
bash scripts/test-node.sh
stage "Conformance kit: the reference CLI, the native CLI and npx port4me"
cargo build --quiet -p port4me-cli
PORT4ME_KIT_NATIVE="${CARGO_TARGET_DIR:-target}/debug/port4me" PORT4ME_KIT_NPX="node npm/port4me/cli.mjs" \
  bash scripts/test-kit.sh
stage "Registry torture: 16 processes (CLI, Node, Rust) under random SIGKILLs, then every acknowledged write checked"
bash scripts/torture/run.sh
stage "WebAssembly build and browser preview"
bash scripts/test-wasm.sh
stage "Windows build under Wine: unit tests and the CLI"
bash scripts/test-windows.sh
stage "Release: cross-builds for every platform, run under qemu and Wine, inspected, installed"
bash scripts/test-release.sh
stage "All stages passed"
