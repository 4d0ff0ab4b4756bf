"""The canonical deflate encoding of a member's bytes: libdeflate, whole member.

A member is compressed as one raw deflate stream by libdeflate (the PyPI
``deflate`` package, pinned in the helpers' dependencies) at the wheel's
level, over the member's whole content. libdeflate has no streaming API and
needs every byte of a member at once, but it is about 3.5x faster than zlib
at level 6 and writes smaller output. Its compressed bytes depend only on the
input, the level and libdeflate's version: not on the CPU (its instruction-set
dispatch covers checksums and table initialisation, whose results are
identical), the number of jobs or the machine. Parallelism comes from
compressing different members at the same time.

Level 0 stores; levels 1-9 are libdeflate's levels of the same number.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from ml_wheels.errors import WheelError

STORED = 0
DEFLATED = 8
# The version every helper is pinned to (python_wheel/private/libdeflate.bzl,
# tests/requirements.txt): another version may encode differently.
DEFLATE_VERSION = "0.9.0"


def method_for_level(level: int) -> int:
    """Returns the zip compression method for a level: 0 stores, 1-9 deflate."""
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 9:
        raise ValueError(f"compression level must be an integer 0-9, got {level!r}")
    return STORED if level == 0 else DEFLATED


def libdeflate() -> ModuleType:
    """Returns the ``deflate`` module, checking that it is the pinned version.

    Raises:
        WheelError: it is missing, or another version than the pinned one.
    """
    try:
        import deflate
    except ImportError as exc:
        raise WheelError(
            f"the wheel writer needs libdeflate (the PyPI package deflate=={DEFLATE_VERSION}), "
            f"which cannot be imported here ({exc}); under Bazel it comes from rules_ml_wheels' "
            "libdeflate repositories (x86_64 and aarch64 Linux, CPython 3.10+); as a plain "
            f"script, `pip install deflate=={DEFLATE_VERSION}`"
        ) from None
    version = getattr(deflate, "__version__", "unknown")
    if version != DEFLATE_VERSION:
        raise WheelError(
            f"the wheel writer is pinned to deflate=={DEFLATE_VERSION} (libdeflate), found "
            f"{version} at {getattr(deflate, '__file__', '?')}: another version may compress "
            f"differently; `pip install deflate=={DEFLATE_VERSION}`"
        )
    return deflate


def compress_member(data: bytes | memoryview, level: int) -> bytes | bytearray:
    """Returns the canonical encoding of one member's content.

    Args:
        data: The member's whole content.
        level: Compression level 0-9 (0 returns the bytes unchanged).

    Returns:
        The stored bytes for level 0, else the raw deflate stream.
    """
    if method_for_level(level) == STORED:
        return bytes(data)
    # libdeflate returns a bytearray; copying a large payload would cost time
    # and memory for nothing.
    return libdeflate().deflate_compress(data, level)


def compress_whole(datas: Sequence[bytes], level: int) -> list[bytes | bytearray]:
    """Encodes several members (one task for many small files).

    Args:
        datas: Member contents.
        level: Compression level 0-9.

    Returns:
        The encoding of each member, in order.
    """
    return [compress_member(data, level) for data in datas]


def compress_bytes(data: bytes, level: int) -> bytes:
    """Returns the canonical encoding of ``data`` as bytes (stored bytes for level 0)."""
    return bytes(compress_member(data, level))


def compressed_size_bound(size: int, method: int) -> int:
    """Returns an upper bound on the encoded size of a ``size``-byte member.

    The zip64 decision for a member's local header is made from this bound,
    which depends only on the uncompressed size, so the header is the same
    whether the member is compressed here or in a separate action.
    """
    if method == STORED:
        return size
    # libdeflate's worst case is stored blocks: 5 bytes per 65,535 plus a
    # constant; allow more.
    return size + (size >> 10) + 64 * max(1, -(-size // (1 << 20))) + 64
