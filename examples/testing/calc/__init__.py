"""A tiny package whose tests use pytest (rules_ml_wheels testing example)."""

from __future__ import annotations


def mean(values: list[float]) -> float:
    """The arithmetic mean of `values`; ValueError for an empty list."""
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
