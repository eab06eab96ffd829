#!/usr/bin/env bash
# Build the port4me WebAssembly modules into npm/port4me/wasm/:
#   port4me.mjs           browser build: ES module glue (wasm-bindgen --target web,
#                         without the default fetch of the .wasm)
#   port4me.d.mts         its TypeScript declarations
#   port4me_bg.wasm       the browser module, optimised with wasm-opt when available
#                         (held to 40 KiB by test/size.test.mjs)
#   port4me_bytes.mjs     the same bytes as base64, for browser.js to instantiate
#   port4me_bytes.d.mts   synchronously (initSync); and its declarations
#   port4me_node.cjs      Node.js flavour (cargo feature "node"): CommonJS glue
#   port4me_node_bg.wasm  (--target nodejs) and its module, the npm package's
#                         fallback where no native addon loads, with the
#                         port4me command line (clap: about 225 KiB of its
#                         352 KiB)
#
# Installs what it needs (the wasm32 target, wasm-bindgen-cli at the exact
# version of the wasm-bindgen crate in Cargo.lock, binaryen's wasm-opt from
# npm) and is quick when they are already there. The .mjs and .cjs extensions
# fix each glue's module kind whatever the enclosing package.json says, in
# Node and in bundlers. Needs node (to write port4me_bytes.mjs).
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

# 2. wasm-bindgen-cli, pinned to the crate version in Cargo.lock (the CLI
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
command -v node >/dev/null 2>&1 || { log "Error: node is needed (it writes port4me_bytes.mjs)"; exit 1; }

# 3. binaryen's wasm-opt. The npm package binaryen (pinned in
# package-lock.json) comes first: Debian's binaryen (108) predates the
# reference-types instructions (table.fill) that wasm-bindgen now emits and
# cannot read the module. A system wasm-opt is tried next; without either the
# modules are left as they are (and the size test will say so).
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
[ -n "$wasm_opt" ] || log "warning: wasm-opt not available; the modules are not shrunk"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
raw="$target_dir/wasm32-unknown-unknown/release/port4me_wasm.wasm"

# compile FEATURES...: cargo build of the crate for wasm32, at opt-level "z"
# only for this build (the workspace profile stays as it is for native
# crates; the wasm target dir is separate anyway).
compile() {
  log "cargo build --release --target wasm32-unknown-unknown -p port4me-wasm $*"
  (cd "$root" && CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
    cargo build --quiet --release --target wasm32-unknown-unknown -p port4me-wasm "$@")
}

# shrink FILE: wasm-opt -Oz in place. The features are those rustc enables
# by default for wasm32, so that wasm-opt keeps them; the producers and
# target-features custom sections are dropped. (The hot loop relies on
# PortSet::contains_port being #[inline(always)]: -Oz inlines nothing bigger.)
shrink() {
  [ -n "$wasm_opt" ] || return 0
  local features=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
                  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue)
  if "$wasm_opt" -Oz --converge "${features[@]}" --strip-producers --strip-target-features \
      "$1" -o "$tmp/opt.wasm" 2>"$tmp/wasm-opt.err"; then
    mv "$tmp/opt.wasm" "$1"
    log "$(basename "$1"): optimised with $("$wasm_opt" --version 2>/dev/null)"
  else
    log "warning: $wasm_opt failed, keeping the unshrunk $(basename "$1"):"; sed 's/^/  /' "$tmp/wasm-opt.err" >&2
  fi
}

mkdir -p "$out"

# 4. The browser module (no cargo features): ES module glue without the
# default `new URL('port4me_bg.wasm', import.meta.url)` (browser.js never
# fetches it, and bundlers would copy the file for nothing), and the module's
# bytes as base64 in port4me_bytes.mjs, which browser.js instantiates with
# initSync: no fetch and no top-level await, so it loads synchronously in
# browsers, in every bundler and in Node.js.
compile
wasm-bindgen --target web --omit-default-module-path --out-dir "$tmp/web" --out-name port4me "$raw"
shrink "$tmp/web/port4me_bg.wasm"
mv "$tmp/web/port4me.js" "$out/port4me.mjs"
mv "$tmp/web/port4me.d.ts" "$out/port4me.d.mts"
mv "$tmp/web/port4me_bg.wasm" "$out/port4me_bg.wasm"
rm -f "$out/port4me_bg.wasm.d.ts"
node - "$out/port4me_bg.wasm" "$out/port4me_bytes.mjs" "$out/port4me_bytes.d.mts" <<'NODE'
const { readFileSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const [wasmFile, jsFile, dtsFile] = process.argv.slice(2);
const bytes = readFileSync(wasmFile);
const sha = createHash('sha256').update(bytes).digest('hex');
writeFileSync(jsFile, `// Generated by bindings/wasm/build.sh: port4me_bg.wasm (${bytes.length} bytes,
// sha256 ${sha}) as base64, so that browser.js can instantiate the module
// synchronously (initSync): no fetch, no top-level await.
const base64 = '${bytes.toString('base64')}';

/** The bytes of port4me_bg.wasm (a new array on each call). */
export function wasmBytes() {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
`);
writeFileSync(dtsFile, `// Generated by bindings/wasm/build.sh.
/** The bytes of port4me_bg.wasm (a new array on each call). */
export declare function wasmBytes(): Uint8Array;
`);
NODE

# 5. The Node.js flavour (cargo feature "node"): CommonJS glue (wasm-bindgen
# --target nodejs) that reads port4me_node_bg.wasm next to it and
# instantiates it synchronously when required. The npm package's fallback
# where no native addon loads; not part of the browser entry.
compile --features node
wasm-bindgen --target nodejs --out-dir "$tmp/node" --out-name port4me_node "$raw"
shrink "$tmp/node/port4me_node_bg.wasm"
# .cjs: CommonJS whatever the enclosing package.json says.
grep -v '^/\* @ts-self-types=' "$tmp/node/port4me_node.js" > "$out/port4me_node.cjs"
grep -q 'port4me_node_bg.wasm' "$out/port4me_node.cjs" || { log "Error: port4me_node.cjs does not load port4me_node_bg.wasm"; exit 1; }
mv "$tmp/node/port4me_node_bg.wasm" "$out/port4me_node_bg.wasm"

for f in port4me_bg.wasm port4me_bytes.mjs port4me_node_bg.wasm; do
  size="$(wc -c <"$out/$f")"
  gz="$(gzip -9 -c "$out/$f" | wc -c)"
  log "npm/port4me/wasm/$f: $size bytes ($(( (size + 1023) / 1024 )) KiB), gzip -9: $gz bytes"
done
