"""Audits a wheel against the manylinux/musllinux policies; run with --help."""

from __future__ import annotations

import importlib.util
import os
import sys

# Python adds this directory to sys.path for a script, except in safe-path mode
# (-P / PYTHONSAFEPATH), which some Bazel launchers use; make `ml_wheels` importable there.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# The packages the audit imports (module -> distribution), checked before importing it.
_REQUIREMENTS = (("elftools", "pyelftools"), ("auditwheel", "auditwheel"))


def missing_requirement() -> str:
    """One line naming the first missing package and how to get it, or ``""``."""
    for module, distribution in _REQUIREMENTS:
        if importlib.util.find_spec(module) is None:
            return (
                f"audit_wheel: error: the Python package {distribution} (module {module}) is "
                f"not installed for {sys.executable}; run the Bazel target "
                "@rules_ml_wheels//tools:audit_wheel, which brings it, or install the pinned "
                "helper requirements: pip install --require-hashes -r tools/requirements_lock.txt"
            )
    return ""


if __name__ == "__main__":
    _missing = missing_requirement()
    if _missing:
        print(_missing, file=sys.stderr)
        raise SystemExit(2)
    from ml_wheels.audit.cli import main

    raise SystemExit(main())
