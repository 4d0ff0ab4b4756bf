#!/usr/bin/env bash
# Test set-up of the sysroot rules: a local Debian mirror holding exactly the
# packages python_wheel/private/cc/sysroot.bzl pins (bullseye's glibc/libstdc++
# sysroot packages for amd64 and arm64, bookworm's libpython3.11-dev), so tests
# feed the same repository rules from file:// URLs
# (--repo_env=ML_WHEELS_DEB_MIRROR=file://DIR), and a sysroot archive per arch
# (what `cc_sysroot(urls = ...)` takes: the packages' data, absolute symlinks
# left as they are).
#
#   scripts/sysroot.sh            # prints the mirror directory
#
# Cached under ${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/sysroots; a
# file already there is reused when its sha256 matches the pin. First run:
# ~27 MB downloaded from deb.debian.org.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
dir="$cache/sysroots"
mirror="$dir/debian"
upstream="${ML_WHEELS_DEB_UPSTREAM:-https://deb.debian.org/debian}"
pins="$project/python_wheel/private/cc/sysroot.bzl"

log() { printf '[sysroot] %s\n' "$*" >&2; }

# "pool/...deb sha256" for every pinned package.
pinned() {
  grep -o '"pool/[^"]*\.deb": "[0-9a-f]\{64\}"' "$pins" | tr -d '":' | sort -u
}

fetch() {
  local path="$1" sha="$2" out="$mirror/$1"
  if [ -f "$out" ] && echo "$sha  $out" | sha256sum --quiet -c - 2>/dev/null; then
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  log "downloading $path"
  curl -fsSL --retry 3 -o "$out.part" "$upstream/$path"
  if ! echo "$sha  $out.part" | sha256sum --quiet -c -; then
    rm -f "$out.part"
    log "error: $upstream/$path does not have the pinned sha256 $sha; Debian may have replaced it at a point release: update the pins in $pins"
    exit 2
  fi
  mv -f "$out.part" "$out"
}

# A sysroot archive made from the packages of one arch, as the data tars
# hold them (absolute symlinks included), top directory "sysroot-<arch>".
archive() {
  local arch="$1" debian_arch="$2" out="$dir/sysroot-bullseye-$1.tar.gz"
  [ -f "$out" ] && return 0
  local tmp
  tmp="$(mktemp -d "$dir/archive.XXXXXX")"
  mkdir "$tmp/sysroot-$arch"
  pinned | awk '{print $1}' | grep "_${debian_arch}\.deb$" | grep -v python3 | while read -r path; do
    # Test set-up only: the rules themselves never run dpkg.
    dpkg-deb --fsys-tarfile "$mirror/$path" | tar -x -C "$tmp/sysroot-$arch" --no-same-owner
  done
  tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$out.part" "sysroot-$arch"
  mv -f "$out.part" "$out"
  rm -rf "$tmp"
}

mkdir -p "$mirror"
while read -r path sha; do
  fetch "$path" "$sha"
done < <(pinned)
archive x86_64 amd64
archive aarch64 arm64
echo "$mirror"
