#!/usr/bin/env bash
# Rust tests: the whole workspace (unit, integration, property, conformance
# runners, doctests) and the proof that port4me-core builds without std.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

echo "-- no_std: port4me-core for thumbv7em-none-eabihf (bare metal, no allocator and with alloc)"
cargo build -q -p port4me-core --target thumbv7em-none-eabihf --no-default-features
cargo build -q -p port4me-core --target thumbv7em-none-eabihf

# (Every shipped platform is compile-checked or built with -D warnings by
# scripts/test-release.sh; the Windows build's own tests run under Wine in
# scripts/test-windows.sh.)

echo "-- cargo fmt --check"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "rustfmt is not installed; skipping the format check"
fi

echo "-- cargo clippy (workspace, all targets, warnings are errors)"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
cargo clippy --quiet --workspace --all-targets -- -D warnings

echo "-- cargo test (workspace; the Node addon and the wasm binding are tested by their own stages)"
cargo test --workspace --exclude port4me-node --exclude port4me-wasm 2>&1

echo "-- the serde form of every result type and its generated TypeScript declaration agree (feature ts)"
cargo clippy --quiet -p port4me-registry -p port4me-holders --all-targets --features port4me-registry/ts,port4me-holders/ts -- -D warnings
# (Only the agreement tests: the rest ran above without the feature.)
cargo test -q -p port4me-registry --features ts --test registry serde_ts 2>&1
cargo test -q -p port4me-holders --features ts --lib json_fields_are_the_declared_ones 2>&1

echo "-- rustdoc (warnings are errors: broken links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --exclude port4me-node
