# shellcheck shell=bash
# A Wine environment for running port4me's Windows (x86_64) builds on Linux.
# Source it (bash):
#
#   source scripts/wine/env.sh
#   "$WINE" target/x86_64-pc-windows-gnu/release/port4me.exe --user=alice --list=5
#   cargo test --target x86_64-pc-windows-gnu -p port4me --lib     # runner set below
#   "$WINE" /path/to/node.exe script.js                            # a Windows Node.js
#
# What it does; a second source does nothing and takes well under a second:
#  * installs Wine and the MinGW-w64 C compiler with apt-get when missing;
#  * creates a 64-bit WINEPREFIX at target/wine/prefix (PORT4ME_WINEPREFIX
#    overrides), without the Mono/Gecko installers, and sets its Windows
#    version to 10 (Node.js 20 refuses older ones);
#  * builds scripts/wine/bcryptprimitives.c into target/wine/shim/ and puts
#    that directory on WINEPATH: Rust's std imports ProcessPrng from
#    bcryptprimitives.dll, which Wine 8.0 (Debian 12) lacks. Test-only.
#  * exports WINE (the 64-bit loader), WINEPREFIX, WINEARCH=win64,
#    WINEDEBUG=-all, WINEPATH, WINEDLLOVERRIDES and
#    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$WINE.
#
# Wine maps Windows sockets onto Linux ones, so a program under Wine sees
# Linux socket semantics (e.g. for SO_EXCLUSIVEADDRUSE); processes, tokens,
# the registry and the file system behave like Windows.
#
# A program Wine starts from a Unix shell has no Windows parent process: its
# parent pid is 0, so an owner of "the parent" cannot be recorded for it.
# Neither `port4me --reserve`, which leases by time alone, nor the addon's
# `reserve: true`, which records the calling process itself, needs a parent.

# Returns non-zero, without exiting your shell, when something cannot be set up.

_port4me_wine_env() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || return 1

  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  local need=()
  command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
  if ! command -v wine64 >/dev/null && [ ! -x /usr/lib/wine/wine64 ]; then
    need+=(wine64 wine)
  fi
  if [ ${#need[@]} -gt 0 ]; then
    echo "scripts/wine/env.sh: installing ${need[*]} with apt-get" >&2
    if ! { $sudo apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; }; then
      echo "scripts/wine/env.sh: could not install ${need[*]}" >&2
      return 1
    fi
  fi

  # The 64-bit loader: Debian ships it as /usr/lib/wine/wine64 (its `wine`
  # script nags about wine32 unless WINEDEBUG is -all), Ubuntu also as wine64.
  if command -v wine64 >/dev/null; then
    WINE=$(command -v wine64)
  elif [ -x /usr/lib/wine/wine64 ]; then
    WINE=/usr/lib/wine/wine64
  else
    echo "scripts/wine/env.sh: no 64-bit Wine loader found after installing wine64" >&2
    return 1
  fi
  local wineserver
  wineserver=$(command -v wineserver || true)
  [ -n "$wineserver" ] || for wineserver in /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver ""; do
    [ -x "$wineserver" ] && break
  done

  export WINE WINELOADER="$WINE"
  export WINEPREFIX="${PORT4ME_WINEPREFIX:-$root/target/wine/prefix}"
  export WINEARCH=win64
  export WINEDEBUG=-all
  # No Mono or Gecko download dialogs (nothing here needs .NET or a browser engine).
  export WINEDLLOVERRIDES="mscoree,mshtml="

  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX" || return 1
    echo "scripts/wine/env.sh: creating the Wine prefix $WINEPREFIX" >&2
    "$WINE" wineboot --init >/dev/null 2>&1 || {
      echo "scripts/wine/env.sh: wineboot --init failed for $WINEPREFIX" >&2
      return 1
    }
    [ -z "$wineserver" ] || "$wineserver" -w
  fi
  if [ ! -f "$WINEPREFIX/.port4me-win10" ]; then
    "$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1 || {
      echo "scripts/wine/env.sh: could not set the Windows version of $WINEPREFIX to 10" >&2
      return 1
    }
    : >"$WINEPREFIX/.port4me-win10"
  fi

  local shim_dir=$root/target/wine/shim src=$root/scripts/wine/bcryptprimitives.c
  if [ ! -f "$shim_dir/bcryptprimitives.dll" ] || [ "$src" -nt "$shim_dir/bcryptprimitives.dll" ]; then
    mkdir -p "$shim_dir" || return 1
    x86_64-w64-mingw32-gcc -shared -O2 -Wall -Wextra -Werror -static-libgcc \
      -o "$shim_dir/bcryptprimitives.dll" "$src" -ladvapi32 || {
      echo "scripts/wine/env.sh: could not build the bcryptprimitives.dll shim" >&2
      return 1
    }
  fi
  # WINEPATH takes Windows paths; Wine's Z: drive is the Unix root.
  local shim_win="Z:${shim_dir//\//\\}"
  case ";${WINEPATH:-};" in
    *";$shim_win;"*) ;;
    *) export WINEPATH="$shim_win${WINEPATH:+;$WINEPATH}" ;;
  esac

  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"
}

if _port4me_wine_env; then
  unset -f _port4me_wine_env
else
  unset -f _port4me_wine_env
  return 1
fi
