#!/usr/bin/env bash
# port4me (Rust) vs the Python reference, side by side in one run.
#
#   scripts/bench-compare.sh                 # full run, a few minutes
#   scripts/bench-compare.sh --quick         # fewer repetitions, ~1 minute
#   scripts/bench-compare.sh --json out.json # also keep the raw medians
#
# Builds what it needs in release mode (the `port4me` binary, the
# port4me-core example `bench_core`, the port4me bench `probe_json`: small
# programs that print their timings as JSON), creates the reference venv with
# conformance/setup-reference.sh, then runs scripts/bench_compare.py, which
# prints a markdown table (medians and ratios) ready to paste into the README.
# Other arguments go to bench_compare.py (see `--help` there). Build output
# goes to stderr; only the table goes to stdout.
#
# The Rust and Python in-process timings alternate round by round, and inside
# each Rust program the cases alternate call by call, so that load from other
# processes falls on every side alike. Whole-process timings use hyperfine
# when it is installed (apt-get install hyperfine) and a Python loop
# otherwise. The criterion benches (`cargo bench -p port4me-core`, `cargo
# bench -p port4me --bench probe`) are separate and not needed here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0
pass=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    *) pass+=("$a") ;;
  esac
done

bash conformance/setup-reference.sh >&2
python="$root/conformance/.venv/bin/python"

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

echo "bench-compare: building release binaries" >&2
cargo build --release --quiet -p port4me-cli --bin port4me >&2
cargo build --release --quiet -p port4me-core --example bench_core >&2

probe_bin="$(cargo bench --quiet -p port4me --bench probe_json --no-run --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "probe_json" and m.get("executable"):
        print(m["executable"])
')"
[ -n "$probe_bin" ] || { echo "bench-compare: Error: could not build the probe_json bench" >&2; exit 1; }

quick_args=()
if [ "$quick" = 1 ]; then
  quick_args=(--rounds 3 --rust-reps 50 --py-list-reps 3 --py-tiny-reps 20 --probe-reps 300 --py-probe-reps 300 --process-runs 30)
fi

echo "bench-compare: measuring" >&2
python3 "$root/scripts/bench_compare.py" \
  --bench-core "$target_dir/release/examples/bench_core" \
  --cli "$target_dir/release/port4me" \
  --bench-probe "$probe_bin" \
  --python "$python" \
  ${quick_args[@]+"${quick_args[@]}"} ${pass[@]+"${pass[@]}"}
