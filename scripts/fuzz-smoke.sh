#!/usr/bin/env bash
# Short libFuzzer run of the port specification parser (crates/port4me-core/fuzz).
#
#   scripts/fuzz-smoke.sh            # 30 s
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh
#   FUZZ_SANITIZER=address scripts/fuzz-smoke.sh
#
# Builds the fuzz target the way `cargo fuzz run` does, with the same flags,
# so that CI need not compile cargo-fuzz first (about a minute on 2 cores).
# `cargo fuzz run spec_parser` in the fuzz directory is the same run.
# Uses the nightly toolchain when it is installed and stable otherwise
# (FUZZ_TOOLCHAIN picks one). The committed seeds in
# crates/port4me-core/fuzz/corpus/spec_parser are read, never written: new
# inputs go to a scratch corpus (FUZZ_CORPUS, default a temp dir). Exits
# non-zero when the fuzzer finds a crash; the crashing input is then in
# crates/port4me-core/fuzz/artifacts/spec_parser/ and is printed below.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/crates/port4me-core/fuzz"
target="spec_parser"
seconds="${FUZZ_SECONDS:-30}"
# port4me-core forbids unsafe code, so AddressSanitizer can find nothing
# there and only costs throughput (about 3x).
sanitizer="${FUZZ_SANITIZER:-none}"
# Without a sanitizer every flag is a stable one, so stable fuzzes too.
toolchain="${FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=nightly
  elif [ "$sanitizer" = none ]; then
    toolchain=stable
    echo "fuzz-smoke: no nightly toolchain; using stable (sanitizer none needs no unstable flags)"
  else
    echo "fuzz-smoke: Error: FUZZ_SANITIZER=$sanitizer needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
  fi
fi
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "fuzz-smoke: Error: the $toolchain toolchain is not installed (rustup toolchain install $toolchain)" >&2
  exit 2
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/fuzz}"
triple="$(rustup run "$toolchain" rustc -vV | sed -n 's/^host: //p')"

# cargo-fuzz 0.13's flags for `cargo fuzz run` with no options: release
# mode with line tables, debug assertions, SanitizerCoverage with inline
# 8-bit counters, comparisons traced, and one codegen unit.
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
flags+=" -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
[[ $triple == *-linux-* ]] && flags+=" -Cllvm-args=-sanitizer-coverage-stack-depth"
flags+=" -Cdebug-assertions -Ccodegen-units=1"
if [ "$sanitizer" != none ]; then
  flags+=" -Zsanitizer=$sanitizer"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"
fi
echo "fuzz-smoke: building $target ($(rustup run "$toolchain" rustc --version), sanitizer $sanitizer)"
# --target keeps RUSTFLAGS away from build scripts.
RUSTFLAGS="$flags ${RUSTFLAGS:-}" cargo "+$toolchain" build --quiet --manifest-path "$fuzz_dir/Cargo.toml" \
  --target "$triple" --release --config 'profile.release.debug="line-tables-only"' --bin "$target"
fuzzer="$CARGO_TARGET_DIR/$triple/release/$target"

scratch="${FUZZ_CORPUS:-}"
cleanup=""
if [ -z "$scratch" ]; then
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/port4me-fuzz.XXXXXX")"
  cleanup="$scratch"
fi
mkdir -p "$scratch"
trap 'rm -f "$scratch.before"; [ -z "$cleanup" ] || rm -rf "$cleanup"' EXIT

artifacts="$fuzz_dir/artifacts/$target"
mkdir -p "$artifacts"
before_list="$scratch.before"
find "$artifacts" -type f | sort >"$before_list"

echo "fuzz-smoke: $target for ${seconds}s"
status=0
# The first corpus directory receives new inputs; the seeds are only read.
"$fuzzer" -artifact_prefix="$artifacts/" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
  "$scratch" "$fuzz_dir/corpus/$target" || status=$?

new_artifacts="$(find "$artifacts" -type f | sort | comm -13 "$before_list" -)"
if [ "$status" -ne 0 ] || [ -n "$new_artifacts" ]; then
  echo "fuzz-smoke: FAILED (exit $status); new artifacts in $artifacts:" >&2
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    echo "--- $f" >&2
    od -c "$f" | head -20 >&2
  done <<<"$new_artifacts"
  echo "fuzz-smoke: reproduce with: $fuzzer <artifact>, or cargo fuzz run $target <artifact> in crates/port4me-core/fuzz" >&2
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi
echo "fuzz-smoke: ok, no crash in ${seconds}s ($(find "$scratch" -type f | wc -l) inputs in the scratch corpus)"
