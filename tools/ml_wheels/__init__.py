"""Helpers that rules_ml_wheels' Bazel actions run to build Python wheels.

The package is importable as ``ml_wheels`` when ``tools/`` is on ``sys.path``;
``tools/pack_wheel.py`` is the command line entry point.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
