"""greet: a tiny pure-Python package shipped as a py3-none-any wheel."""

from __future__ import annotations


def greeting(name: str) -> str:
    """Returns a greeting for `name`."""
    return f"Hello, {name}!"
