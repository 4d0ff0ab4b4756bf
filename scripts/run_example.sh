#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then the main job on one example
# (default c_extension): build its wheel with Bazel, run its Bazel tests
# (including one that imports the wheel's contents), check the wheel with
# twine and check-wheel-contents, install it with pip into a fresh venv and
# import it.
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
[ ${#wheels[@]} -gt 0 ] || { echo "no wheel built under $bin" >&2; exit 1; }

py="$root/.venv/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for wheel in "${wheels[@]}"; do
  echo "== $(basename "$wheel")"
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
