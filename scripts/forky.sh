#!/usr/bin/env bash
# The Bazel 7 test lane: Debian forky's bazel-bootstrap (7.7.1) and
# rules_python in a root filesystem the project makes and enters itself
# (Bazel 7 from Debian needs glibc >= 2.38, newer than Debian 12's).
#
#   scripts/forky.sh create                 # once per machine (~1 min, ~700 MB)
#   scripts/forky.sh run [--bind DIR]... -- CMD [ARG]...
#
# `run` enters the root in a private mount namespace (pivot_root, not chroot:
# linux-sandbox needs user namespaces a chroot refuses), with this checkout,
# the cache dir and each --bind DIR mounted at their own paths, and runs CMD
# in the current directory. Run `bazel shutdown` at the end of CMD: a server
# left running keeps the namespace alive.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
root="${ML_WHEELS_FORKY_ROOT:-$cache/forky-root}"
# Bump when the recipe below changes, so existing roots are rebuilt. Additions
# that older checkouts of this script can live with are made in place by
# `upgrade` instead: an older checkout sharing the cached root (CI) would
# rebuild a root of a newer recipe number.
recipe_version=3
packages=bazel-bootstrap,bazel-rules-python,python3-venv,python3-dev,gcc,g++,zip,unzip,ca-certificates

log() { printf '[forky] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

stub_module() {
  # Modules Bazel's own MODULE.bazel wants, which no Debian package provides.
  local dir="$1/usr/share/rules_ml_wheels/stub_modules/$2"
  mkdir -p "$dir"
  printf 'module(name = "%s")\n' "$2" >"$dir/MODULE.bazel"
  printf '%s\n' "${3:-}" >"$dir/BUILD.bazel"
  printf 'common --override_module=%s=%s\n' "$2" "/usr/share/rules_ml_wheels/stub_modules/$2" >>"$1/etc/bazel.bazelrc"
}

buildozer_stub() {
  # Bazel's own MODULE.bazel uses the buildozer module's extension (for
  # `bazel mod tidy`): without it `bazel mod graph/deps/show_extension` fail
  # with "Error loading '@@buildozer~//:buildozer_binary.bzl'". The stub
  # makes @buildozer_binary with a `buildozer` that says it is missing.
  local dir="$1/usr/share/rules_ml_wheels/stub_modules/buildozer"
  mkdir -p "$dir"
  cat >"$dir/buildozer_binary.bzl" <<'STUB'
"""Stub of buildozer's `buildozer_binary` extension: no buildozer binary."""

def _repo_impl(repository_ctx):
    repository_ctx.file("buildozer", "#!/bin/sh\necho 'buildozer is not available in the forky root (stub module)' >&2\nexit 2\n", executable = True)
    repository_ctx.file("BUILD.bazel", 'exports_files(["buildozer"])\n')

_buildozer_repo = repository_rule(implementation = _repo_impl)

def _impl(module_ctx):
    _buildozer_repo(name = "buildozer_binary")

buildozer_binary = module_extension(
    implementation = _impl,
    tag_classes = {"buildozer": tag_class(attrs = {"sha256": attr.string_dict(), "version": attr.string()})},
)
STUB
  printf 'exports_files(["buildozer_binary.bzl"])\n' >"$dir/BUILD.bazel"
}

upgrade() {
  # In-place additions to a root made by an earlier version of this script.
  if [ ! -f "$1/usr/share/rules_ml_wheels/stub_modules/buildozer/buildozer_binary.bzl" ]; then
    log "adding buildozer_binary.bzl to the buildozer stub module of $1"
    buildozer_stub "$1"
  fi
}

bazel_options() {
  # Bazel 7 mounts an empty /tmp in its sandboxes (hermetic tmp): sources
  # checked out under /tmp (CI clones, test copies) would vanish from actions.
  printf 'build --noincompatible_sandbox_hermetic_tmp\n' >>"$1/etc/bazel.bazelrc"
}

create() {
  if [ -f "$root/.rules_ml_wheels_recipe" ] && [ "$(cat "$root/.rules_ml_wheels_recipe")" = "$recipe_version" ]; then
    log "reusing $root"
    upgrade "$root"
    return
  fi
  if [ -f "$root/.rules_ml_wheels_recipe" ] && [ "$(cat "$root/.rules_ml_wheels_recipe")" = 2 ]; then
    log "upgrading $root to recipe $recipe_version"
    bazel_options "$root"
    echo "$recipe_version" >"$root/.rules_ml_wheels_recipe"
    upgrade "$root"
    return
  fi
  command -v mmdebstrap >/dev/null || { log "installing mmdebstrap"; as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq mmdebstrap >/dev/null; }
  local tmp="$root.tmp"
  as_root rm -rf "$tmp"
  mkdir -p "$(dirname "$root")"
  log "creating a Debian forky root in $root (Bazel 7, rules_python, Python 3)"
  # The forky Release file may be past its Valid-Until date: accept it.
  as_root unshare --mount --propagation private mmdebstrap --quiet --variant=minbase \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='APT::Install-Recommends "false"' \
    --include="$packages" forky "$tmp" http://deb.debian.org/debian
  : >"$tmp/etc/bazel.bazelrc"
  stub_module "$tmp" apple_support
  stub_module "$tmp" protobuf
  stub_module "$tmp" buildozer
  buildozer_stub "$tmp"
  stub_module "$tmp" zlib 'cc_library(name = "zlib", linkopts = ["-lz"], visibility = ["//visibility:public"])'
  bazel_options "$tmp"
  # The host's extra CA certificates (TLS-intercepting proxies), if any; the
  # Java keystore Bazel's downloader reads is rebuilt inside the root, where
  # Java can run (it needs /proc).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$tmp/usr/local/share/ca-certificates/"
  fi
  echo "$recipe_version" >"$tmp/.rules_ml_wheels_recipe"
  as_root rm -rf "$root"
  mv "$tmp" "$root"
  run -- update-ca-certificates --fresh >/dev/null 2>&1
  log "ready: $(cat "$root/usr/share/bazel/build-label.txt" 2>/dev/null || echo bazel)"
}

run() {
  local binds=("$project" "$cache")
  while [ $# -gt 0 ]; do
    case "$1" in
      --bind) binds+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || { echo "usage: $0 run [--bind DIR]... -- CMD [ARG]..." >&2; exit 2; }
  [ -f "$root/.rules_ml_wheels_recipe" ] || { echo "$0: no forky root at $root; run '$0 create' first" >&2; exit 2; }
  as_root unshare --mount --propagation private -- /bin/bash -s -- "$root" "$PWD" "${#binds[@]}" "${binds[@]}" "$@" <<'INNER'
set -euo pipefail
root="$1"; cwd="$2"; nbinds="$3"; shift 3
binds=("${@:1:$nbinds}"); shift "$nbinds"
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
# The host's /tmp, not a tmpfs of its own: the zig wrappers keep zig's cache
# in /tmp/rules_ml_wheels-zig-cache-<uid> (python_wheel/private/cc/zig.bzl),
# so Bazel 7 builds find libc++ and the glibc stubs built, as Bazel 4 builds
# do. (A cache directory bound below a tmpfs would stay read-only in
# linux-sandbox, which makes /tmp writable but not the mounts below it.)
mount --bind /tmp "$root/tmp"
for dir in "${binds[@]}"; do
  mkdir -p "$dir" "$root$dir"
  mount --bind "$dir" "$root$dir"
done
cd "$root"
mkdir -p .old_root
pivot_root . .old_root
cd /
umount -l /.old_root
cd "$cwd"
exec env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
INNER
}

case "${1:-}" in
  create) create ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 create | run [--bind DIR]... -- CMD [ARG]..." >&2; exit 2 ;;
esac
