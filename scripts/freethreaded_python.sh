#!/usr/bin/env bash
# Builds a free-threaded CPython 3.13 (./configure --disable-gil) for the
# tests of `HERMETIC_PYTHON_VERSION=3.13-ft`, and prints its install prefix.
#
#   scripts/freethreaded_python.sh        # ~5 min the first time, then cached
#
# No free-threaded interpreter can be downloaded here (python-build-standalone
# is on GitHub; Debian ships none), so the upstream source comes from Debian's
# python3.13 source package, fetched and signature-checked by apt inside the
# forky root (scripts/forky.sh), and is built on this machine so that the
# interpreter runs with this machine's glibc. The result is cached under
# ${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/cpython-freethreaded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
base="$cache/cpython-freethreaded"
# Bump when the recipe below changes, so cached builds are redone.
recipe_version=1

log() { printf '[freethreaded-python] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

done_stamp="$base/.recipe-$recipe_version"
if [ -f "$done_stamp" ]; then
  cat "$done_stamp"
  exit 0
fi

# Build dependencies: a compiler, and the headers of zlib (the wheel writer
# needs it), OpenSSL, libffi, bzip2 and xz (the stdlib modules pip uses).
need_apt=()
for package in gcc make zlib1g-dev libssl-dev libffi-dev libbz2-dev liblzma-dev xz-utils; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$package")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

rm -rf "$base"
mkdir -p "$base/src"
"$here/forky.sh" create
log "fetching the python3.13 source package from Debian (apt, inside the forky root)"
"$here/forky.sh" run --bind "$base" -- bash -euo pipefail -c '
  list=/etc/apt/sources.list.d/rules-ml-wheels-src.list
  trap "rm -f $list" EXIT
  echo "deb-src http://deb.debian.org/debian forky main" >"$list"
  apt-get update -qq
  cd "$1/src"
  chmod a+rwx .  # apt fetches as its own _apt user
  apt-get source --download-only -qq python3.13 >/dev/null
' _ "$base"
orig="$(ls "$base"/src/python3.13_*.orig.tar.* | head -n1)"
[ -n "$orig" ] || { log "no python3.13 source archive was fetched"; exit 1; }
version="$(basename "$orig" | sed -E 's/^python3\.13_([0-9.]+)\.orig\.tar\..*$/\1/')"
prefix="$base/$version"
log "building CPython $version (free-threaded) into $prefix"
tar -xf "$orig" -C "$base/src"
cd "$base/src/Python-$version"
./configure --quiet --disable-gil --enable-shared --prefix="$prefix" \
  --without-ensurepip LDFLAGS="-Wl,-rpath,$prefix/lib" >"$base/configure.log" 2>&1 ||
  { tail -n 40 "$base/configure.log"; exit 1; }
make -s -j"$(nproc)" >"$base/make.log" 2>&1 || { tail -n 40 "$base/make.log"; exit 1; }
make -s install >"$base/install.log" 2>&1 || { tail -n 40 "$base/install.log"; exit 1; }
cd "$base"
rm -rf "$base/src"
"$prefix/bin/python3.13t" -c 'import sys, sysconfig; assert sysconfig.get_config_var("Py_GIL_DISABLED"), "not free-threaded"; assert not sys._is_gil_enabled()'
echo "$prefix" >"$done_stamp"
log "ready: $prefix"
echo "$prefix"
