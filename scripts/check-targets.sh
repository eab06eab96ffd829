#!/usr/bin/env bash
# Lints the Rust crates with `-D warnings` for every target we ship prebuilt.
#
#   bash scripts/check-targets.sh                     # all eight targets
#   bash scripts/check-targets.sh aarch64-apple-darwin x86_64-pc-windows-gnu
#   bash scripts/check-targets.sh --all-targets ...   # also integration tests, benches, examples
#
# Per target it runs `cargo-zigbuild clippy` twice: on the shipped code
# (`--lib --bins`), and with the unit tests (`--profile test`), where the
# `#[cfg(windows)]` and `#[cfg(target_os = "macos")]` tests live. Zig compiles
# the bundled SQLite and links the build scripts, so no macOS SDK or MinGW is
# needed. GNU/Linux targets are checked against glibc 2.17, as they are
# built. It prints one line per target; a failing target's output goes to
# $CARGO_TARGET_DIR/check-targets/<triple>.log. Exit status 1 if any failed.
#
# Installs what it needs: the rustup targets and clippy, and ziglang and
# cargo-zigbuild in target/zig-venv.
set -euo pipefail

cd "$(dirname "$0")/.."

ALL_TRIPLES=(
  x86_64-unknown-linux-gnu
  aarch64-unknown-linux-gnu
  x86_64-unknown-linux-musl
  aarch64-unknown-linux-musl
  x86_64-apple-darwin
  aarch64-apple-darwin
  x86_64-pc-windows-gnu
  aarch64-pc-windows-gnullvm
)
PACKAGES=(-p port4me-core -p port4me -p port4me-process -p port4me-registry -p port4me-holders -p port4me-cli -p port4me-node)
GLIBC=2.17
# shellcheck source=lib/zig.sh
source scripts/lib/zig.sh

scope=(--lib --bins)
triples=()
for arg in "$@"; do
  case $arg in
    --all-targets) scope=(--all-targets) ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "check-targets.sh: unknown option $arg" >&2
      exit 2
      ;;
    *)
      known=0
      for t in "${ALL_TRIPLES[@]}"; do [[ $t == "$arg" ]] && known=1; done
      if [[ $known == 0 ]]; then
        echo "check-targets.sh: $arg is not one of the shipped targets: ${ALL_TRIPLES[*]}" >&2
        exit 2
      fi
      triples+=("$arg")
      ;;
  esac
done
[[ ${#triples[@]} -gt 0 ]] || triples=("${ALL_TRIPLES[@]}")

# --- tools -----------------------------------------------------------------
command -v rustup >/dev/null || { echo "check-targets.sh: rustup is needed (https://rustup.rs)" >&2; exit 2; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
installed_targets=$(rustup target list --installed)
for t in "${triples[@]}"; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done
port4me_zig_tools || { echo "check-targets.sh: Error: could not install the Zig tools" >&2; exit 2; }

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
logs=$target_dir/check-targets
mkdir -p "$logs"

port4me_libnode_stub "$logs/libnode" >/dev/null

# --- run -------------------------------------------------------------------
failed=0
start_all=$SECONDS
for t in "${triples[@]}"; do
  zig_target=$t
  [[ $t == *-linux-gnu ]] && zig_target=$t.$GLIBC
  log=$logs/$t.log
  start=$SECONDS
  status=ok
  {
    echo "== $t: shipped code"
    LIBNODE_PATH=$logs/libnode cargo-zigbuild clippy --target "$zig_target" "${PACKAGES[@]}" "${scope[@]}" \
      -- -D warnings &&
      echo "== $t: with unit tests" &&
      LIBNODE_PATH=$logs/libnode cargo-zigbuild clippy --target "$zig_target" "${PACKAGES[@]}" "${scope[@]}" \
        --profile test -- -D warnings
  } >"$log" 2>&1 || status=FAIL
  secs=$((SECONDS - start))
  if [[ $status == ok ]]; then
    printf 'ok    %-28s %4ds\n' "$zig_target" "$secs"
  else
    failed=1
    printf 'FAIL  %-28s %4ds  (log: %s)\n' "$zig_target" "$secs" "$log"
    grep -E '^(error|warning)(\[|:)' "$log" | sort | uniq -c | head -5 | sed 's/^/      /' || true
  fi
done
printf 'total %ds for %d target(s)\n' "$((SECONDS - start_all))" "${#triples[@]}"
exit $failed
