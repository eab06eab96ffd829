# shellcheck shell=bash
# Shared by scripts/build-release.sh and scripts/check-targets.sh: the
# cross-building toolchain (Zig as C compiler and linker, through
# cargo-zigbuild), pinned, and the Windows libnode placeholder.
#
#   source scripts/lib/zig.sh
#   port4me_zig_tools                 # installs pinned ziglang + cargo-zigbuild in target/zig-venv, puts them first on PATH
#   port4me_libnode_stub DIR          # prints DIR, holding what napi-build wants on Windows gnu

# Versions known to work; override to try others.
ZIGLANG_VERSION=${ZIGLANG_VERSION:-0.17.1}
CARGO_ZIGBUILD_VERSION=${CARGO_ZIGBUILD_VERSION:-0.24.1}

# In a virtualenv of the repository's own (target/zig-venv), so that neither a
# system Python that refuses global installs (PEP 668) nor another version of
# cargo-zigbuild on PATH gets in the way; its bin/ goes first on PATH.
port4me_zig_tools() {
  local root venv
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  venv="${PORT4ME_ZIG_VENV:-$root/target/zig-venv}"
  if [ ! -x "$venv/bin/cargo-zigbuild" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$ZIGLANG_VERSION $CARGO_ZIGBUILD_VERSION" ]; then
    echo "installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $venv" >&2
    python3 -m venv "$venv" || {
      echo "python3 -m venv failed: install python3-venv (Debian) and try again" >&2
      return 1
    }
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" || return 1
    echo "$ZIGLANG_VERSION $CARGO_ZIGBUILD_VERSION" >"$venv/.pins"
  fi
  export PATH="$venv/bin:$PATH"
  hash -r
}

# napi-build links Windows gnu addons with `-lnode` after checking that a
# libnode.dll exists. With napi's `dyn-symbols` feature the addon references
# no napi_* symbol (it looks them up in the running node.exe at load), so an
# empty archive satisfies the link; scripts/test-release.sh checks that the
# shipped addon imports nothing from node. Point LIBNODE_PATH at the result.
port4me_libnode_stub() {
  local dir="$1"
  if [ ! -s "$dir/libnode.a" ]; then
    mkdir -p "$dir"
    : >"$dir/libnode.dll"
    python3 -m ziglang ar rcs "$dir/libnode.a"
  fi
  printf '%s\n' "$dir"
}
