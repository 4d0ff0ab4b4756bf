"""mw_core: the core of a two-wheel project; plugins register against it."""

from __future__ import annotations

from collections.abc import Callable

_PLUGINS: dict[str, Callable[[str], str]] = {}


def register(name: str, transform: Callable[[str], str]) -> None:
    """Registers a text transform under `name`."""
    _PLUGINS[name] = transform


def apply(name: str, text: str) -> str:
    """Applies the transform registered as `name`."""
    return _PLUGINS[name](text)
