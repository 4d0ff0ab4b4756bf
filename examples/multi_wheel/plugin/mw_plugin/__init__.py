"""mw_plugin: registers a transform with mw_core."""

from __future__ import annotations

import mw_core


def shout(text: str) -> str:
    """Upper-cases text and adds an exclamation mark."""
    return text.upper() + "!"


mw_core.register("shout", shout)
