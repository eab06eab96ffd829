#!/usr/bin/env bash
# Rust tests: the whole workspace's unit, integration, property and
# conformance tests and doctests, and the proof that port4me-core builds
# without std. The shipped platforms are built or compile-checked by
# scripts/test-release.sh, and the Windows build's tests run under Wine in
# scripts/test-windows.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# Checked without rustup: scripts/test-all.sh may be running rustup meanwhile.
[ -d "$(rustc --print sysroot)/lib/rustlib/thumbv7em-none-eabihf" ] || rustup target add thumbv7em-none-eabihf

echo "-- no_std: port4me-core for thumbv7em-none-eabihf (bare metal, no allocator and with alloc)"
cargo build -q -p port4me-core --target thumbv7em-none-eabihf --no-default-features
cargo build -q -p port4me-core --target thumbv7em-none-eabihf

echo "-- cargo fmt --check"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "rustfmt is not installed; skipping the format check"
fi

echo "-- cargo clippy (workspace, all targets, warnings are errors)"
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo clippy --quiet --workspace --all-targets -- -D warnings

# The Node addon and the wasm binding are tested by their own stages. The
# feature ts only adds TypeScript derives, so the whole suite runs once with
# it, which includes the tests that the serde form of every result type and
# its generated TypeScript declaration agree.
echo "-- cargo test (workspace, features port4me-registry/ts and port4me-holders/ts)"
cargo test --workspace --exclude port4me-node --exclude port4me-wasm \
  --features port4me-registry/ts,port4me-holders/ts 2>&1

# The workspace clippy above saw the holders with their registry feature, as
# the CLI and the addon use them; this one sees them without it.
echo "-- cargo clippy (registry and holders alone, feature ts)"
cargo clippy --quiet -p port4me-registry -p port4me-holders --all-targets --features port4me-registry/ts,port4me-holders/ts -- -D warnings

echo "-- rustdoc (warnings are errors: broken links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --exclude port4me-node
