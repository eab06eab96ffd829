#!/usr/bin/env bash
# Create conformance/.venv (gitignored) holding the reference implementation:
# the PyPI package port4me==0.7.0. Idempotent: does nothing when the venv
# already has that exact version. Used by scripts/test-conformance.sh.
set -euo pipefail

REF_VERSION="0.7.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="$venv/bin/python"

have_version() {
  [ -x "$py" ] || return 1
  local v
  v="$("$py" -c 'import importlib.metadata as m; print(m.version("port4me"))' 2>/dev/null)" || return 1
  [ "$v" = "$REF_VERSION" ]
}

if have_version; then
  echo "setup-reference: port4me $REF_VERSION already installed in conformance/.venv"
  exit 0
fi

if [ ! -x "$py" ]; then
  base="${PYTHON:-}"
  if [ -z "$base" ]; then
    for cand in python3.11 python3; do
      if command -v "$cand" >/dev/null 2>&1; then base="$cand"; break; fi
    done
  fi
  if [ -z "$base" ]; then
    echo "setup-reference: Error: no python3 found (set PYTHON=...)" >&2
    exit 1
  fi
  echo "setup-reference: creating virtualenv conformance/.venv with $base ($("$base" --version 2>&1))"
  "$base" -m venv "$venv"
fi

echo "setup-reference: pip install port4me==$REF_VERSION into conformance/.venv"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps "port4me==$REF_VERSION"

if ! have_version; then
  echo "setup-reference: Error: port4me $REF_VERSION is not importable from conformance/.venv" >&2
  exit 1
fi
echo "setup-reference: ok (port4me $REF_VERSION)"
