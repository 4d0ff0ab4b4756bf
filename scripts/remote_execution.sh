#!/usr/bin/env bash
# Sets up what the remote-execution test lane needs, idempotently:
#
#   scripts/remote_execution.sh
#
# - PostgreSQL server binaries (BuildGrid's scheduler refuses sqlite): found in
#   /usr/lib/postgresql/*/bin, else installed with apt-get;
# - a Python >= 3.13 (BuildGrid 0.9.1 requires it);
# - a virtualenv with BuildGrid 0.9.1 and its dependencies from the hash-pinned
#   tests/remote/requirements.txt, under
#   ${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/remote-execution/venv.
#
# Prints KEY=VALUE lines on stdout (logs go to stderr):
#   PYTHON=<the venv's python>   POSTGRES_BIN=<dir with initdb, postgres, pg_ctl>
# A second run finds everything in place and only checks it (well under a second).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
dir="$cache/remote-execution"
venv="$dir/venv"
requirements="$project/tests/remote/requirements.txt"

log() { printf '[remote-execution] %s\n' "$*" >&2; }

# The newest PostgreSQL major version's bin dir that has initdb and postgres.
find_postgres() {
  local bin
  for bin in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && [ -x "$bin/pg_ctl" ]; then
      printf '%s\n' "$bin"
      return 0
    fi
  done
  return 1
}

# A Python >= 3.13 that really runs: pyenv puts shims on PATH that fail for
# versions not selected, so each candidate is executed, not just located.
find_python() {
  local candidate
  # python3 last: Debian 13's own is 3.13 (it needs python3-venv for ensurepip).
  for candidate in python3.13 python3.14 "$HOME"/.pyenv/versions/3.13*/bin/python3 \
    "$HOME"/.pyenv/versions/3.14*/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 13))' \
        >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

postgres_bin="$(find_postgres || true)"
if [ -z "$postgres_bin" ]; then
  log "no PostgreSQL server under /usr/lib/postgresql/*/bin: installing Debian's postgresql"
  [ "$(id -u)" = 0 ] || { log "installing PostgreSQL needs root (apt-get install postgresql)"; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # The package's own cluster is not used: tests initdb their own under a temp dir.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  postgres_bin="$(find_postgres || true)"
  [ -n "$postgres_bin" ] || { log "apt-get installed postgresql but no initdb/postgres was found"; exit 2; }
fi

# The stamp records what the venv was built from, so an edited requirements
# file or another interpreter rebuilds it and an unchanged one is reused.
stamp="$venv/.rules_ml_wheels-stamp"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$(sha256sum "$requirements" | cut -d' ' -f1)" ] &&
  "$venv/bin/python" -c 'import buildgrid, grpc' >/dev/null 2>&1; then
  log "reusing $venv"
else
  python="$(find_python || true)"
  if [ -z "$python" ]; then
    log "BuildGrid 0.9.1 needs Python >= 3.13 with venv and none was found (tried python3.13,"
    log "python3.14 and python3 on PATH, ~/.pyenv/versions/3.1[34]*/bin/python3). Install one, e.g."
    log "'pyenv install 3.13' or Debian 13's 'apt-get install python3 python3-venv', and re-run."
    exit 2
  fi
  log "creating $venv with $python ($("$python" --version 2>&1))"
  mkdir -p "$dir"
  # No stamp until the install has passed: an interrupted run starts over.
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # --no-deps with --require-hashes: the file pins the whole resolved set, so
  # pip installs exactly it and fails on any file whose hash is not pinned.
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary=:all: --require-hashes --no-deps -r "$requirements" >"$dir/pip.log" 2>&1; then
    grep -v '^WARNING: Location' "$dir/pip.log" >&2 || true
    log "pip install -r $requirements failed (log above, and in $dir/pip.log)"
    exit 2
  fi
  "$venv/bin/python" -c 'import buildgrid.server.app.cli, grpc' ||
    { log "BuildGrid did not install into $venv"; exit 2; }
  sha256sum "$requirements" | cut -d' ' -f1 >"$stamp"
fi

printf 'PYTHON=%s\n' "$venv/bin/python"
printf 'BGD=%s\n' "$venv/bin/bgd"
printf 'POSTGRES_BIN=%s\n' "$postgres_bin"
