"""The canonical chunked raw-deflate encoding of a member's bytes.

A member's bytes are split into fixed ``CHUNK_SIZE`` chunks. Each chunk is
compressed by a fresh raw deflate stream (wbits=-15, memLevel 8, default
strategy) at the wheel's level, primed with the last ``WINDOW_SIZE`` bytes of
the preceding input as a preset dictionary. Every chunk but the last ends with
``Z_SYNC_FLUSH`` (byte aligned, not final) and the last with ``Z_FINISH``, so
the concatenation is one valid deflate stream (the pigz approach). A member
of at most one chunk is therefore plain raw deflate.

Because the chunk boundaries are fixed, chunks can be compressed in any
process in any order and the output bytes never depend on the parallelism.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

CHUNK_SIZE = 1 << 20
WINDOW_SIZE = 1 << 15
STORED = 0
DEFLATED = 8
_MEM_LEVEL = 8


def method_for_level(level: int) -> int:
    """Returns the zip compression method for a level: 0 stores, 1-9 deflate."""
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 9:
        raise ValueError(f"compression level must be an integer 0-9, got {level!r}")
    return STORED if level == 0 else DEFLATED


def compress_chunk(data: bytes, zdict: bytes, level: int, final: bool) -> bytes:
    """Compresses one chunk of the canonical encoding.

    Args:
        data: The chunk (at most ``CHUNK_SIZE`` bytes).
        zdict: The last ``WINDOW_SIZE`` bytes before the chunk; empty for the first.
        level: Deflate level 1-9.
        final: Whether this is the member's last chunk.

    Returns:
        The raw deflate bytes for the chunk.
    """
    args = (level, zlib.DEFLATED, -15, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY)
    comp = zlib.compressobj(*args, zdict) if zdict else zlib.compressobj(*args)
    return comp.compress(data) + comp.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def compress_whole(datas: Sequence[bytes], level: int) -> list[bytes]:
    """Compresses several single-chunk members (one task for many small files).

    Args:
        datas: Member contents, each at most ``CHUNK_SIZE`` bytes.
        level: Deflate level 1-9.

    Returns:
        The raw deflate bytes of each member, in order.
    """
    return [compress_chunk(data, b"", level, True) for data in datas]


def compress_bytes(data: bytes, level: int) -> bytes:
    """Returns the canonical encoding of ``data`` (stored bytes for level 0)."""
    if method_for_level(level) == STORED:
        return bytes(data)
    view = memoryview(data)
    out = []
    offset = 0
    while True:
        end = offset + CHUNK_SIZE
        final = end >= len(data)
        zdict = bytes(view[max(0, offset - WINDOW_SIZE) : offset])
        out.append(compress_chunk(bytes(view[offset:end]), zdict, level, final))
        if final:
            return b"".join(out)
        offset = end


def chunk_count(size: int) -> int:
    """Returns how many chunks a member of ``size`` bytes is split into."""
    return max(1, -(-size // CHUNK_SIZE))


def compressed_size_bound(size: int, method: int) -> int:
    """Returns an upper bound on the encoded size of a ``size``-byte member.

    The zip64 decision for a member's local header is made from this bound,
    which depends only on the uncompressed size, so the header is the same
    whether the member is compressed here or in a separate action.
    """
    if method == STORED:
        return size
    # zlib's worst case is ~size/3000 plus a constant per stream; allow more,
    # plus room for each chunk's flush marker and block header.
    return size + (size >> 10) + 64 * chunk_count(size) + 64
