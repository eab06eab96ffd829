# shellcheck shell=bash
# npm helpers shared by the test scripts.
#
#   source scripts/lib/npm.sh
#   port4me_npm11                         # npm 11 (Vite 8's lockfiles need it); upgrades npm 10
#   port4me_npm_ci [--foreign] DIR [CHECK...]
#
# port4me_npm_ci runs `npm ci` in DIR from its committed package-lock.json,
# but only when the lockfile differs from the one last installed there, or a
# CHECK path under DIR is missing. A stamp in node_modules records the
# lockfile. `npm ci` wipes node_modules, so running it every time would cost
# minutes. --foreign installs packages made for other platforms, which npm
# refuses otherwise, without running their scripts.

port4me_npm11() {
  local major
  major="$(npm --version 2>/dev/null | cut -d. -f1)"
  if [ "${major:-0}" -lt 11 ]; then
    echo "npm $(npm --version) is older than 11: npm install -g npm@11" >&2
    npm install -g npm@11 --no-audit --no-fund --loglevel=error
  fi
}

port4me_npm_ci() {
  local -a flags=(--no-audit --no-fund --loglevel=error)
  if [ "${1:-}" = --foreign ]; then flags+=(--force --ignore-scripts); shift; fi
  local dir="$1"; shift
  local stamp="$dir/node_modules/.port4me-lock.sha256" want ok=1 p
  want="$(node -e "process.stdout.write(require('node:crypto').createHash('sha256').update(require('node:fs').readFileSync(process.argv[1])).digest('hex'))" "$dir/package-lock.json")" || return 1
  for p in "$@"; do [ -e "$dir/$p" ] || ok=0; done
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ "$ok" = 1 ]; then
    echo "$dir: node_modules up to date" >&2
  else
    echo "npm ci in $dir" >&2
    (cd "$dir" && npm ci "${flags[@]}") || return 1
    echo "$want" >"$stamp"
  fi
}
