"""fastmath: Python API over a native extension, plus a packaged data file."""

from __future__ import annotations

import json
from importlib import resources

from fastmath._native import dot

__all__ = ["constants", "dot", "norm"]


def norm(values: list[float]) -> float:
    """Euclidean norm, computed by the native `dot`."""
    return dot(values, values) ** 0.5


def constants() -> dict[str, float]:
    """Named constants shipped as `fastmath/data/constants.json`."""
    text = resources.files("fastmath").joinpath("data/constants.json").read_text("utf-8")
    return json.loads(text)
