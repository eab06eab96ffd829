#!/usr/bin/env bash
# Verify conformance/vectors.json against the reference implementation
# (PyPI port4me 0.7.0): sets up conformance/.venv if needed, then recomputes
# every case. Ends with "conformance: N passed, 0 failed" or exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash conformance/setup-reference.sh
exec conformance/.venv/bin/python conformance/reference.py --check "$@"
