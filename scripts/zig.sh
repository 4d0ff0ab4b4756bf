#!/usr/bin/env bash
# Caches the pinned `ziglang` wheel (the zig SDK of the zig C/C++ toolchains)
# for this machine's CPU, for the tests and offline builds:
#
#   scripts/zig.sh            # prints the directory; pass it as `bazel --distdir=DIR`
#
# Bazel's downloader takes a file from a --distdir when its name and sha256
# match the pinned URL's, so the WORKSPACE keeps the real PyPI URL. The wheel
# is checked against the sha256 pinned in python_wheel/private/cc/zig.bzl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
dir="$cache/zig"
zig_bzl="$project/python_wheel/private/cc/zig.bzl"

log() { printf '[zig] %s\n' "$*" >&2; }

cpu="$(uname -m)"
case "$cpu" in
  x86_64 | aarch64) ;;
  *) log "no pinned ziglang wheel for CPU $cpu (zig.bzl's ZIG_SDKS has x86_64 and aarch64)"; exit 2 ;;
esac
# The pinned URL and sha256 of this CPU, read from zig.bzl's ZIG_SDKS.
block="$(sed -n "/^    \"$cpu\": {/,/^    },/p" "$zig_bzl")"
sha256="$(printf '%s\n' "$block" | sed -n 's/.*"sha256": "\([0-9a-f]\{64\}\)".*/\1/p')"
url="$(printf '%s\n' "$block" | sed -n 's/.*_PYPI + "\([^"]*\)".*/\1/p')"
version="$(sed -n 's/^ZIG_VERSION = "\(.*\)"/\1/p' "$zig_bzl")"
name="$(basename "$url")"
[ -n "$sha256" ] && [ -n "$name" ] && [ -n "$version" ] || { log "cannot read the pinned wheel of $cpu from $zig_bzl"; exit 2; }

if [ -f "$dir/$name" ] && [ "$(sha256sum "$dir/$name" | cut -d' ' -f1)" = "$sha256" ]; then
  log "reusing $dir/$name"
else
  mkdir -p "$dir"
  tmp="$(mktemp -d "$dir/.download.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "downloading ziglang==$version for $cpu (about 100 MB)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "manylinux2014_$cpu" \
    "ziglang==$version" -d "$tmp" >&2
  [ -f "$tmp/$name" ] || { log "pip did not download $name"; exit 2; }
  got="$(sha256sum "$tmp/$name" | cut -d' ' -f1)"
  [ "$got" = "$sha256" ] || { log "$name has sha256 $got, zig.bzl pins $sha256"; exit 2; }
  mv "$tmp/$name" "$dir/$name"
fi
printf '%s\n' "$dir"
