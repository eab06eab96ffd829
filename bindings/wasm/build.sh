#!/usr/bin/env bash
# Build the port4me WebAssembly module into npm/port4me/wasm/:
#   port4me.mjs        ES module glue (wasm-bindgen --target web)
#   port4me.d.mts      its TypeScript declarations
#   port4me_bg.wasm    the module, optimised with wasm-opt when available
#
# Installs what it needs (the wasm32 target, wasm-bindgen-cli at the exact
# version of the wasm-bindgen crate in Cargo.lock, binaryen's wasm-opt from
# npm) and is quick when they are already there. The .mjs extension makes the glue an ES
# module whatever the enclosing package.json says, in Node and in bundlers.
#
# Environment: CARGO_TARGET_DIR (default: the workspace's), NO_WASM_OPT=1 to
# skip wasm-opt, NO_INSTALL=1 to install nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/npm/port4me/wasm"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
log() { echo "build-wasm: $*" >&2; }

# 1. Rust target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  [ -n "${NO_INSTALL:-}" ] && { log "Error: wasm32-unknown-unknown target missing"; exit 1; }
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. Compile. opt-level "z" only for this build (the workspace profile stays
# as it is for native crates); the wasm target dir is separate anyway.
log "cargo build --release --target wasm32-unknown-unknown -p port4me-wasm"
(cd "$root" && CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  cargo build --quiet --release --target wasm32-unknown-unknown -p port4me-wasm)
raw="$target_dir/wasm32-unknown-unknown/release/port4me_wasm.wasm"

# 3. wasm-bindgen-cli, pinned to the crate version in Cargo.lock (the CLI
# refuses modules built with any other version).
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
[ -n "$want" ] || { log "Error: no wasm-bindgen in Cargo.lock"; exit 1; }
have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [ "$have" != "$want" ]; then
  [ -n "${NO_INSTALL:-}" ] && { log "Error: wasm-bindgen $want needed, found '${have:-none}'"; exit 1; }
  log "installing wasm-bindgen-cli $want (found '${have:-none}'); this takes a few minutes once"
  # --locked first; if the registry lacks one of the CLI's locked
  # dependencies, let cargo pick compatible versions instead.
  cargo install --quiet wasm-bindgen-cli --version "=$want" --locked \
    || cargo install --quiet --force wasm-bindgen-cli --version "=$want"
fi

# 4. Bindings.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --out-dir "$tmp" --out-name port4me "$raw"
mkdir -p "$out"
mv "$tmp/port4me.js" "$out/port4me.mjs"
mv "$tmp/port4me.d.ts" "$out/port4me.d.mts"
rm -f "$out/port4me_bg.wasm.d.ts"

# 5. Shrink with binaryen's wasm-opt. The npm package binaryen (pinned in
# package-lock.json) comes first: Debian's binaryen (108) predates the
# reference-types instructions (table.fill) that wasm-bindgen now emits and
# cannot read the module. A system wasm-opt is tried next; without either the
# module is left as it is (and the size test will say so).
wasm_opt=""
if [ -z "${NO_WASM_OPT:-}" ]; then
  if [ ! -x "$here/node_modules/.bin/wasm-opt" ] && [ -z "${NO_INSTALL:-}" ] && command -v npm >/dev/null 2>&1; then
    log "npm ci in bindings/wasm (for binaryen's wasm-opt)"
    (cd "$here" && npm ci --silent --no-audit --no-fund) || log "warning: npm ci failed"
  fi
  if [ -x "$here/node_modules/.bin/wasm-opt" ]; then
    wasm_opt="$here/node_modules/.bin/wasm-opt"
  elif command -v wasm-opt >/dev/null 2>&1; then
    wasm_opt="$(command -v wasm-opt)"
  fi
fi
if [ -n "$wasm_opt" ]; then
  # The features are those rustc enables by default for wasm32, so that
  # wasm-opt keeps them; the producers and target-features custom sections
  # are dropped. (The hot loop relies on PortSet::contains_port being
  # #[inline(always)]: -Oz inlines nothing bigger.)
  features=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
            --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue)
  if "$wasm_opt" -Oz --converge "${features[@]}" --strip-producers --strip-target-features \
      "$tmp/port4me_bg.wasm" -o "$tmp/opt.wasm" 2>"$tmp/wasm-opt.err"; then
    mv "$tmp/opt.wasm" "$tmp/port4me_bg.wasm"
    log "optimised with $("$wasm_opt" --version 2>/dev/null)"
  else
    log "warning: $wasm_opt failed, keeping the unshrunk module:"; sed 's/^/  /' "$tmp/wasm-opt.err" >&2
  fi
else
  log "warning: wasm-opt not available; the module is not shrunk"
fi
mv "$tmp/port4me_bg.wasm" "$out/port4me_bg.wasm"

size="$(wc -c <"$out/port4me_bg.wasm")"
gz="$(gzip -9 -c "$out/port4me_bg.wasm" | wc -c)"
log "npm/port4me/wasm/port4me_bg.wasm: $size bytes ($(( (size + 1023) / 1024 )) KiB), gzip -9: $gz bytes"
