# shellcheck shell=bash
# Shared by scripts/build-release.sh and scripts/check-targets.sh: the
# cross-building toolchain (Zig as C compiler and linker, through
# cargo-zigbuild), pinned, and the Windows libnode placeholder.
#
#   source scripts/lib/zig.sh
#   port4me_zig_tools                 # installs ziglang + cargo-zigbuild (pip) when missing
#   port4me_libnode_stub DIR          # prints DIR, holding what napi-build wants on Windows gnu

# Versions known to work; override to try others.
ZIGLANG_VERSION=${ZIGLANG_VERSION:-0.17.1}
CARGO_ZIGBUILD_VERSION=${CARGO_ZIGBUILD_VERSION:-0.24.1}

port4me_zig_tools() {
  if ! command -v cargo-zigbuild >/dev/null || ! python3 -m ziglang version >/dev/null 2>&1; then
    echo "installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION (pip)" >&2
    python3 -m pip install --quiet --disable-pip-version-check \
      "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" || return 1
    hash -r
  fi
  command -v cargo-zigbuild >/dev/null || {
    echo "cargo-zigbuild was installed but is not on PATH (pip's script directory?)" >&2
    return 1
  }
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
