#!/usr/bin/env bash
# Verifies conformance/vectors.json, commands.json, probes.json and
# implementations.json against the reference implementation, PyPI port4me
# 0.7.0, set up in conformance/.venv when needed. It recomputes every case,
# runs every case through the reference CLI with the kit's rules, asks the
# reference about each probe listener, and recomputes the recorded behaviours
# of the upstream Bash and R command lines from their models (neither is run
# here). Under those rules every difference must be labelled, as an
# alternative or a divergence record. Ends with "conformance: N passed,
# 0 failed" or exits non-zero. scripts/test-kit.sh runs the kit against
# command lines.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash conformance/setup-reference.sh
exec conformance/.venv/bin/python conformance/reference.py --check "$@"
