#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite: unit
# tests of the helpers, lint, Starlark analysis tests and the integration
# tests that run real Bazel on every example. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec "$root/.venv/bin/python" -m pytest "$@"
