#!/usr/bin/env bash
# The conformance kit, conformance/run.py, against three command lines. Each
# runs via flags, with the command-line and probe cases, and via PORT4ME_*
# variables:
#   reference  the Python reference CLI, conformance/.venv/bin/python -m port4me,
#              which conformance/setup-reference.sh sets up. It runs as
#              --implementation python-cli, which declares its sides, and its
#              recorded divergences fail as recorded: 0 unexplained failures.
#   native     our CLI, when PORT4ME_KIT_NATIVE names it, such as
#              target/debug/port4me after `cargo build -p port4me-cli`.
#   npx        `npx port4me`, when PORT4ME_KIT_NPX gives the command, such as
#              "node npm/port4me/cli.mjs" or "npx --no-install port4me".
# Both of ours run with --strict-errors and the contract's sides: 0 failures.
# An implementation not given is skipped with a message. JSON reports go to
# $PORT4ME_KIT_REPORTS, default target/kit. Options after the script's name go
# to every run.py call, such as --only 'nonascii/'. Ends with a table and
# "kit: N runs passed, N failed, N skipped"; exits non-zero when a run failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

reports="${PORT4ME_KIT_REPORTS:-$root/target/kit}"
mkdir -p "$reports"
python="${PYTHON3:-python3}"
kit=(conformance/run.py)
extra=("$@")

passed=0 failed=0 skipped=0
rows=()

# run NAME VIA -- run.py options -- CMD...
run() {
  local name="$1" via="$2"; shift 2
  local report="$reports/$name-$via.json" log="$reports/$name-$via.log" status=0
  echo "== kit: $name via $via"
  "$python" "${kit[@]}" --via "$via" --json "$report" "$@" >"$log" 2>&1 || status=$?
  grep -v -e '^pass ' -e '^stricter ' -e '^skip ' "$log" | sed 's/^/   /' || true
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "   kit: $name via $via FAILED (exit $status; full log $log)"
  fi
  if [ -f "$report" ]; then
    rows+=("$("$python" - "$report" "$name" "$via" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
sides = ", ".join(f"{v['taken']}" + ("" if v["votes"] else " (not exercised)")
                  for q, v in r["sides"].items()
                  if v["taken"] and v["taken"] != v["contract"]) or "the contract's"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {s['passed']} | {s['failed']} ({s['explained']} recorded) "
      f"| {s.get('slow', 0)} | {s['skipped']} | {s['stricter']} | {sides} |")
EOF
)")
  fi
}

skip() {
  echo "== kit: $1 skipped: $2"
  skipped=$((skipped + 1))
}

# (a) the reference
bash conformance/setup-reference.sh >/dev/null
ref=(conformance/.venv/bin/python -m port4me)
for via in flags env; do
  probes=(); [ "$via" = env ] && probes=(--no-probes --no-commands)
  # --implementation python-cli declares its sides (reference.py --check verifies the same list).
  run reference "$via" --implementation python-cli --explained-ok --timeout "${PORT4ME_KIT_REF_TIMEOUT:-4}" \
    "${probes[@]}" "${extra[@]}" -- "${ref[@]}"
done

# (b) our native CLI, (c) npx port4me
ours() {
  local name="$1" var="$2" text="$3"
  if [ -z "$text" ]; then
    skip "$name" "set $var to its command (see the top of scripts/test-kit.sh)"
    return
  fi
  local -a cmd
  read -r -a cmd <<<"$text"
  for via in flags env; do
    probes=(); [ "$via" = env ] && probes=(--no-probes --no-commands)
    run "$name" "$via" --side contract --strict-errors "${probes[@]}" "${extra[@]}" -- "${cmd[@]}"
  done
}
ours native PORT4ME_KIT_NATIVE "${PORT4ME_KIT_NATIVE:-}"
ours npx PORT4ME_KIT_NPX "${PORT4ME_KIT_NPX:-}"

echo
echo "| implementation | via | passed | failed | slow | skipped | stricter here | sides off the contract |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "kit: $passed runs passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
