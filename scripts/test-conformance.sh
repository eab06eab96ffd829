#!/usr/bin/env bash
# Verify conformance/vectors.json and conformance/probes.json against the
# reference implementation (PyPI port4me 0.7.0): sets up conformance/.venv if
# needed, then recomputes every case, runs every case through the reference CLI
# with the kit's rules (every difference must be labelled: an alternative or a
# divergence record) and asks the reference about each probe listener. Ends
# with "conformance: N passed, 0 failed" or exits non-zero. The kit itself
# against command lines: scripts/test-kit.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash conformance/setup-reference.sh
exec conformance/.venv/bin/python conformance/reference.py --check "$@"
