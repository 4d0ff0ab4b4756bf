"""argparse value types the helpers' command lines share."""

from __future__ import annotations

import argparse
import re

_SIZE_RE = re.compile(r"(\d+)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}


def parse_size(value: str) -> int:
    """Parses ``123``, ``64G``, ``64GiB`` or ``512MB`` (binary units) into bytes."""
    match = _SIZE_RE.fullmatch(value.strip())
    if not match or len(match.group(1)) > 18:
        raise argparse.ArgumentTypeError(
            f"must be a size in bytes, optionally with K, M, G or T (binary units), got {value!r}"
        )
    return int(match.group(1)) << _UNITS[match.group(2).lower()]


def positive_int(value: str) -> int:
    """A count such as ``--jobs``: a whole number >= 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}")
    return number


def compression_level(value: str) -> int:
    """A deflate level, 0 (stored) to 9."""
    if value not in {str(n) for n in range(10)}:
        raise argparse.ArgumentTypeError(f"must be 0-9, got {value!r}")
    return int(value)
