#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then the main job on one example
# (default c_extension): build its wheels with Bazel, run its Bazel tests
# (compliance tests included) against the sources and against the wheels,
# audit each binary wheel for manylinux_2_17, check it with twine and
# check-wheel-contents, install it with pip into a fresh venv and import it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="${1:-c_extension}"
"$root/scripts/setup.sh"
cd "$root/examples/$example"

# Bazel must find the machine's python3, not the test venv's.
# --symlink_prefix=/: no bazel-* links in the example (other output bases would walk into them).
bazel() { "$root/scripts/bazel" "$@"; }
bazel build --symlink_prefix=/ //...
bazel test --symlink_prefix=/ //...
# The same tests against the built wheel's contents (py_import) instead of the sources.
bazel test --symlink_prefix=/ //... --@rules_ml_wheels//python_wheel:wheel_dependency=true
bin="$(bazel info bazel-bin 2>/dev/null)"
mapfile -t wheels < <(find -L "$bin" -maxdepth 2 -name '*.whl' | sort)
py="$root/.venv/bin/python"
[ ${#wheels[@]} -gt 0 ] || { echo "no wheel built under $bin" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for wheel in "${wheels[@]}"; do
  echo "== $(basename "$wheel")"
  # The audit the compliance tests run, shown here: the policy the wheel meets, and why.
  if [[ "$(basename "$wheel")" != *-any.whl ]]; then
    "$py" "$root/tools/audit_wheel.py" --expect manylinux_2_17 "$wheel"
  fi
  "$py" -m twine check --strict "$wheel"
  "$py" -m check_wheel_contents "$wheel"
  "$py" -m zipfile -t "$wheel" >/dev/null && echo "zip CRC check: OK"
done
# Import from outside the example, so the source tree cannot shadow the wheel.
cd "$work"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --find-links "$(dirname "${wheels[0]}")" "${wheels[0]}"
case "$example" in
  c_extension) "$work/venv/bin/python" -c 'import fastmath; print("fastmath.dot([1,2],[3,4]) =", fastmath.dot([1, 2], [3, 4]))' ;;
  pure_python) "$work/venv/bin/greet" --name "rules_ml_wheels" ;;
  *) echo "installed $(basename "${wheels[0]}")" ;;
esac
echo "main job OK: built, checked, tested and installed ${#wheels[@]} wheel(s) of examples/$example"
