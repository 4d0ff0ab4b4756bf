#!/usr/bin/env bash
# Test set-up of the aarch64 emulation lane (docs/emulation.md).
#
#   scripts/emulation.sh pins       # "<pool path> <sha256>" of every pinned .deb
#   scripts/emulation.sh mirror     # the pinned .debs, in a local mirror (~75 MB, once)
#   scripts/emulation.sh subject    # + an aarch64 CPython extension to test (needs a cross gcc)
#
# `mirror` downloads every .deb pinned in python_wheel/private/emulation/pins.bzl
# from deb.debian.org into $cache/emulation/debian/<pool path>, checks each
# sha256, and prints the mirror's file:// URL. Tests point the very same
# repository rules at it (`mirrors = ["file://..."]`), so the rules users run
# with the real archive's URLs are the ones tested.
#
# `subject` also cross-compiles a tiny C extension for aarch64 (CPython 3.11
# headers from the pinned libpython3.11-dev:arm64 .deb, Debian's
# gcc-aarch64-linux-gnu, installed if missing) into
# $cache/emulation/subject/_probe.cpython-311-aarch64-linux-gnu.so. The
# production rules never use a compiler from here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
mirror="$cache/emulation/debian"
upstream="${ML_WHEELS_DEBIAN_MIRROR:-https://deb.debian.org/debian}"
pins="$project/python_wheel/private/emulation/pins.bzl"

# Headers for the test subject only (not part of the emulated root).
dev_deb="pool/main/p/python3.11/libpython3.11-dev_3.11.2-6+deb12u8_arm64.deb"
dev_sha256="454a191a37dd86674c309691904be69d499f060e643c1f8efc8b82078967cd48"

log() { printf '[emulation] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pinned() {
  # "<pool path> <sha256>" for every pin in pins.bzl.
  sed -n 's/^ *"\(pool\/[^"]*\.deb\)": *"\([0-9a-f]\{64\}\)",.*/\1 \2/p' "$pins"
}

fetch() {
  local path="$1" sha256="$2" target="$mirror/$1"
  if [ -f "$target" ] && echo "$sha256  $target" | sha256sum --quiet -c - 2>/dev/null; then
    return
  fi
  mkdir -p "$(dirname "$target")"
  tmp="$(mktemp "$target.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  log "downloading $path"
  curl -fsSL --retry 3 -o "$tmp" "$upstream/$path"
  if ! echo "$sha256  $tmp" | sha256sum --quiet -c - 2>/dev/null; then
    log "error: $upstream/$path does not match its pinned sha256 $sha256 in $pins; pin the archive's current version (see docs/emulation.md)"
    exit 2
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$target"
  trap - EXIT
}

mirror_cmd() {
  local count=0
  while read -r path sha256; do
    fetch "$path" "$sha256"
    count=$((count + 1))
  done < <(pinned)
  if [ "$count" = 0 ]; then
    log "error: no pins found in $pins"
    exit 2
  fi
  echo "file://$mirror"
}

subject_cmd() {
  mirror_cmd >/dev/null
  fetch "$dev_deb" "$dev_sha256"
  local out="$cache/emulation/subject"
  local so="$out/_probe.cpython-311-aarch64-linux-gnu.so"
  if [ -f "$so" ]; then
    echo "$so"
    return
  fi
  [ -f /usr/aarch64-linux-gnu/include/stdlib.h ] && command -v aarch64-linux-gnu-gcc >/dev/null || {
    log "installing gcc-aarch64-linux-gnu (test set-up only)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
  }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && ar x "$mirror/$dev_deb" data.tar.xz && tar -xJf data.tar.xz ./usr/include && rm data.tar.xz)
  cat >"$work/probe.c" <<'C'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/utsname.h>

/* The machine the code runs on, as the kernel (or qemu) reports it. */
static PyObject *machine(PyObject *self, PyObject *unused) {
  struct utsname name;
  if (uname(&name) != 0) return PyErr_SetFromErrno(PyExc_OSError);
  return PyUnicode_FromString(name.machine);
}

static PyObject *add(PyObject *self, PyObject *args) {
  long a, b;
  if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
  return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {
  {"machine", machine, METH_NOARGS, "uname().machine"},
  {"add", add, METH_VARARGS, "a + b"},
  {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_probe", NULL, -1, methods};

PyMODINIT_FUNC PyInit__probe(void) { return PyModule_Create(&module); }
C
  mkdir -p "$out"
  aarch64-linux-gnu-gcc -shared -fPIC -O2 -fvisibility=hidden \
    -I"$work/usr/include/python3.11" -I"$work/usr/include" \
    -o "$so.tmp" "$work/probe.c"
  mv -f "$so.tmp" "$so"
  echo "$so"
}

case "${1:-}" in
  pins) pinned ;;
  mirror) mirror_cmd ;;
  subject) subject_cmd ;;
  *)
    echo "usage: $0 pins|mirror|subject" >&2
    exit 2
    ;;
esac
