#!/usr/bin/env bash
# Builds what port4me ships, for every platform in npm/platforms.json, into dist/:
#
#   dist/port4me-<version>.tgz                      the npm package (JS, types, WebAssembly)
#   dist/port4me-<platform>-<version>.tgz           one npm package per platform: the Node addon
#   dist/port4me-<version>-<rust triple>.tar.gz     the CLI (.zip for Windows), with README and licences
#   dist/SHA256SUMS                                 of all of the above
#   dist/build-report.tsv                           per platform: build seconds and sizes
#
#   bash scripts/build-release.sh                    # all eight platforms
#   bash scripts/build-release.sh linux-arm64-gnu win32-x64-msvc   # some (npm platform names)
#
# Everything is cross-built on this one Linux machine with cargo-zigbuild (Zig
# as the C compiler and linker: glibc 2.17 as the floor for Linux gnu, musl,
# macOS without an SDK, Windows through MinGW headers). The script installs
# what it needs: the Rust targets, ziglang and cargo-zigbuild from PyPI, and
# builds the WebAssembly module when it is missing. Binaries are stripped (the
# `dist` profile); macOS binaries get MACOSX_DEPLOYMENT_TARGET from the table.
#
# Environment: DIST (default dist/), CARGO_TARGET_DIR (default target/dist),
# SOURCE_DATE_EPOCH for the archives' times (default: the last commit's),
# WASM_BUILT=1 when npm/port4me/wasm/ was just built from this tree, as
# scripts/test-all.sh does before its release stage.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf 'build-release: %s\n' "$*"; }
die() { printf 'build-release: Error: %s\n' "$*" >&2; exit 1; }

dist="${DIST:-$root/dist}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/dist}"
# What ships compiles without a warning on every platform (cargo caps lints
# for dependencies, so this holds our crates only).
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

for tool in cargo rustup node npm python3 tar gzip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# --- Which platforms -------------------------------------------------------
declare -A RUST BUILD RUN MACOS LIBC
all=()
while IFS=$'\t' read -r name rust build run macos libc; do
  all+=("$name"); RUST[$name]=$rust; BUILD[$name]=$build; RUN[$name]=$run; MACOS[$name]=$macos; LIBC[$name]=$libc
done < <(node scripts/packages.mjs platforms)
if [ $# -gt 0 ]; then
  wanted=("$@")
  for p in "${wanted[@]}"; do
    [ -n "${RUST[$p]:-}" ] || die "unknown platform '$p' (argument); the platforms are: ${all[*]}"
  done
else
  wanted=("${all[@]}")
fi

node scripts/packages.mjs check >/dev/null || { node scripts/packages.mjs check; die "the packages are out of step (see above)"; }
version="$(node -e "import('./scripts/packages.mjs').then(m => process.stdout.write(m.workspaceVersion()))")"
say "port4me $version for: ${wanted[*]}"

# --- Tools -----------------------------------------------------------------
# shellcheck source=lib/zig.sh
source scripts/lib/zig.sh
port4me_zig_tools || die "could not install ziglang and cargo-zigbuild"
say "$(cargo-zigbuild --version 2>/dev/null | head -1), zig $(python3 -m ziglang version)"
installed="$(rustup target list --installed)"
for p in "${wanted[@]}"; do
  grep -qx "${RUST[$p]}" <<<"$installed" || { say "rustup target add ${RUST[$p]}"; rustup target add "${RUST[$p]}" >/dev/null; }
done

# --- The WebAssembly modules of the main package ----------------------------
# Built every time unless the caller just built them: a stale module must
# never ship.
wasm_dir=npm/port4me/wasm
if [ "${WASM_BUILT:-0}" = 1 ] && [ -s "$wasm_dir/port4me_bg.wasm" ] && [ -s "$wasm_dir/port4me_node_bg.wasm" ]; then
  say "WASM_BUILT=1: the WebAssembly modules in $wasm_dir as built"
else
  say "building the WebAssembly modules (bindings/wasm/build.sh)"
  bash bindings/wasm/build.sh
fi

# dist/ holds this run's artifacts only, so SHA256SUMS lists exactly them.
rm -rf "$dist"
mkdir -p "$dist"
artifacts=()
report="$dist/build-report.tsv"
printf 'platform\trust\tseconds\taddon_bytes\tcli_bytes\tnpm_tgz_bytes\tarchive_bytes\n' >"$report"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

archive_readme() {
  cat <<EOF
port4me $version for $1 ($2)

The port4me command: the same, personal, free TCP port, over and over.

  port4me vite                      # your port for the tool "vite"
  jupyter lab --port "\$(port4me jupyter)"
  port4me --help

Put the port4me executable anywhere on your PATH. Licensed under MIT or
Apache-2.0, at your option (LICENSE-MIT, LICENSE-APACHE).
EOF
}

# Builds one platform: the addon into npm/port4me-<name>/ and the CLI archive into dist/.
build_one() {
  local name="$1" rust="${RUST[$1]}" build="${BUILD[$1]}"
  local out="$CARGO_TARGET_DIR/$rust/dist"
  local -a env=()
  [ "${MACOS[$name]}" != - ] && env+=("MACOSX_DEPLOYMENT_TARGET=${MACOS[$name]}")
  if [[ "$rust" == *-windows-* ]]; then
    local stub; stub="$(port4me_libnode_stub "$CARGO_TARGET_DIR/libnode-stub")"
    env+=("LIBNODE_PATH=$stub")
  fi
  local started; started=$(date +%s)
  say "[$name] cargo zigbuild --profile dist --target $build"
  if [ "${LIBC[$name]}" = musl ]; then
    # musl links executables statically (crt-static) and then cannot make
    # shared libraries: the CLI stays static, the addon links musl's libc.so.
    env "${env[@]}" cargo zigbuild --quiet --profile dist --target "$build" -p port4me-cli
    env "${env[@]}" RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=-crt-static" \
      cargo zigbuild --quiet --profile dist --target "$build" -p port4me-node
  else
    env "${env[@]}" cargo zigbuild --quiet --profile dist --target "$build" -p port4me-cli -p port4me-node
  fi
  local addon cli exe=""
  case "$rust" in
    *-windows-*) addon="$out/port4me_node.dll"; exe=".exe" ;;
    *-apple-*) addon="$out/libport4me_node.dylib" ;;
    *) addon="$out/libport4me_node.so" ;;
  esac
  cli="$out/port4me$exe"
  [ -s "$addon" ] || die "[$name] the addon was not built: $addon is missing"
  [ -s "$cli" ] || die "[$name] the CLI was not built: $cli is missing"
  cp "$addon" "npm/port4me-$name/port4me.$name.node"

  # The CLI archive: one top folder, deterministic order, owner and times.
  local base="port4me-$version-$rust" archive
  rm -rf "${stage:?}/$base"
  mkdir -p "$stage/$base"
  cp "$cli" "$stage/$base/"
  cp LICENSE-MIT LICENSE-APACHE "$stage/$base/"
  archive_readme "$name" "$rust" >"$stage/$base/README.txt"
  touch -d "@$SOURCE_DATE_EPOCH" "$stage/$base" "$stage/$base"/*
  if [[ "$rust" == *-windows-* ]]; then
    archive="$dist/$base.zip"
    python3 scripts/release/zip_archive.py "$stage" "$base" "$archive" "$SOURCE_DATE_EPOCH"
  else
    archive="$dist/$base.tar.gz"
    tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf - "$base" | gzip -9n >"$archive"
  fi

  # The npm platform package (prepack copies the licences in and checks the addon).
  local tgz
  tgz="$(cd "npm/port4me-$name" && npm pack --silent --pack-destination "$dist" | tail -1)"
  local secs=$(( $(date +%s) - started ))
  artifacts+=("$(basename "$archive")" "$tgz")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rust" "$secs" "$(wc -c <"$addon")" "$(wc -c <"$cli")" \
    "$(wc -c <"$dist/$tgz")" "$(wc -c <"$archive")" >>"$report"
  say "[$name] done in ${secs}s: $(basename "$archive"), $tgz"
}

for p in "${wanted[@]}"; do build_one "$p"; done

say "npm pack npm/port4me"
main_tgz="$(cd npm/port4me && npm pack --silent --pack-destination "$dist" | tail -1)"

artifacts+=("$main_tgz")
(cd "$dist" && sha256sum -- "${artifacts[@]}" | sort -k2 >SHA256SUMS)
say "dist/: $main_tgz, $(( ${#artifacts[@]} - 1 )) platform artifacts and SHA256SUMS"
column -t -s $'\t' "$report" 2>/dev/null || cat "$report"
