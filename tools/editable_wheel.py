"""Writes the PEP 660 editable twin of a python_wheel (`bazel run` of python_editable_wheel).

What the py_binary targets of python_editable_wheel run.
"""

from __future__ import annotations

import os
import sys

# Python adds this directory to sys.path for a script, except in safe-path mode
# (-P / PYTHONSAFEPATH), which some Bazel launchers use; make `ml_wheels` importable there.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from ml_wheels.editable.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
