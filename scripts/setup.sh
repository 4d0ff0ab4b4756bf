#!/usr/bin/env bash
# Installs everything rules_ml_wheels' examples and tests need on Debian 12/13,
# idempotently: Bazel 4.2.3 (Debian's bazel-bootstrap) with skylib/platforms,
# Python 3 with headers and venv, a test virtualenv (.venv) with pinned tools,
# and buildifier from npm (node_modules/). Safe to re-run; fast when done.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

need_apt=()
command -v bazel >/dev/null 2>&1 || need_apt+=(bazel-bootstrap)
[ -d /usr/share/bazel/tools/skylib ] || need_apt+=(bazel-skylib)
[ -d /usr/share/bazel/tools/platforms ] || need_apt+=(bazel-platforms)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
python3 - <<'PY' >/dev/null 2>&1 || need_apt+=(python3-dev)
import os, sysconfig, sys
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY
for tool in gcc g++ unzip zip git curl; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
[ -f /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Debian's Chromium (and a font): the size report's headless-browser check
# (tests/integration/test_wheel_size.py).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-liberation)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Test tooling lives in a virtualenv; Bazel actions never see it.
venv="$root/.venv"
stamp="$venv/.requirements-stamp"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/requirements.txt "$stamp" 2>/dev/null; then
  log "creating $venv"
  python3 -m venv --clear "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r tests/requirements.txt
  cp tests/requirements.txt "$stamp"
fi

if [ ! -x node_modules/.bin/buildifier ] || ! cmp -s package.json node_modules/.package-stamp 2>/dev/null; then
  log "installing buildifier from npm"
  npm install --no-audit --no-fund --silent >/dev/null
  cp package.json node_modules/.package-stamp
fi

log "ready: $(bazel --version 2>/dev/null || echo bazel), $("$venv/bin/python" --version), buildifier $(node_modules/.bin/buildifier --version 2>/dev/null | head -n1)"
