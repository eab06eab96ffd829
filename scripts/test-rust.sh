#!/usr/bin/env bash
# Rust tests: the whole workspace (unit, integration, property, conformance
# runners, doctests) and the proof that port4me-core builds without std.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

echo "-- no_std: port4me-core for thumbv7em-none-eabihf (bare metal, no allocator and with alloc)"
cargo build -q -p port4me-core --target thumbv7em-none-eabihf --no-default-features
cargo build -q -p port4me-core --target thumbv7em-none-eabihf

echo "-- portability: the socket and /proc layers compile for macOS and Windows"
echo "   (the registry's bundled SQLite needs a C cross-compiler, so it is left out)"
for t in x86_64-apple-darwin x86_64-pc-windows-gnu; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  cargo check -q -p port4me-core -p port4me -p port4me-holders --no-default-features --target "$t"
done

echo "-- cargo fmt --check"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "rustfmt is not installed; skipping the format check"
fi

echo "-- cargo test (workspace; the Node addon and the wasm binding are tested by their own stages)"
cargo test --workspace --exclude port4me-node --exclude port4me-wasm 2>&1

echo "-- rustdoc (warnings are errors: broken links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --exclude port4me-node
