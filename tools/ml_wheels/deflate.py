"""The canonical deflate encoding of a member's bytes: libdeflate, whole member.

A member is compressed as one raw deflate stream by libdeflate (the PyPI
``deflate`` package, pinned in the helpers' dependencies) at the wheel's
level, over the member's whole content. libdeflate has no streaming API and
needs every byte of a member at once, but it is about 3.5x faster than zlib
at level 6 and writes smaller output. Its compressed bytes depend only on the
input, the level and libdeflate's version, not on the number of jobs or the
machine; tests compare them across CPUs (x86-64 with and without AVX2, and
aarch64). Parallelism comes from
compressing different members at the same time.

Level 0 stores; levels 1-9 are libdeflate's levels of the same number.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import mmap
import os
from typing import Union

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


# What the compressor reads: bytes, or a writable buffer ctypes can point at.
Buffer = Union[bytes, bytearray, mmap.mmap]
# Outputs up to this size go through a small ctypes buffer; larger ones into
# anonymous memory, of which only the pages written are committed.
_SMALL_OUTPUT = 1 << 20


class Libdeflate:
    """libdeflate's compressor, called through ctypes.

    The library is the one statically linked into the pinned ``deflate``
    package's extension module, loaded as a plain shared library and never
    initialised as a Python module, so one binding serves every interpreter,
    free-threaded CPython 3.13 included (no ``deflate`` wheel exists for it,
    and importing the abi3 one there crashes). ctypes releases the GIL for
    each call. Its output is the ``deflate`` package's own
    (``tests/unit/test_deflate.py`` compares them).
    """

    def __init__(self, path: str) -> None:
        """Loads the library.

        Args:
            path: One of the ``deflate`` package's ``_deflate*.so`` files.
        """
        self.path = path
        lib = ctypes.CDLL(path)
        lib.libdeflate_alloc_compressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
        lib.libdeflate_free_compressor.restype = None
        lib.libdeflate_free_compressor.argtypes = [ctypes.c_void_p]
        lib.libdeflate_deflate_compress_bound.restype = ctypes.c_size_t
        lib.libdeflate_deflate_compress_bound.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.libdeflate_deflate_compress.restype = ctypes.c_size_t
        lib.libdeflate_deflate_compress.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
        ]  # fmt: skip
        self._lib = lib

    def compress(self, data: Buffer, level: int) -> bytes | memoryview:
        """Returns the raw deflate stream of ``data`` at ``level`` (1-12).

        Args:
            data: bytes, or a writable buffer (bytearray, an ``ACCESS_COPY``
                or anonymous mmap); it is not modified.
            level: libdeflate's level.
        """
        lib = self._lib
        size = len(data)
        if isinstance(data, bytes):
            source: object = data
            address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
        else:
            source = (ctypes.c_char * size).from_buffer(data)
            address = ctypes.addressof(source)
        compressor = lib.libdeflate_alloc_compressor(level)
        if not compressor:
            raise WheelError(f"libdeflate cannot make a compressor for level {level}")
        try:
            bound = lib.libdeflate_deflate_compress_bound(compressor, size)
            if bound <= _SMALL_OUTPUT:
                small = ctypes.create_string_buffer(bound)
                written = lib.libdeflate_deflate_compress(compressor, address, size, small, bound)
                result: bytes | memoryview = ctypes.string_at(small, written)
            else:
                mapped = mmap.mmap(-1, bound)
                target = (ctypes.c_char * bound).from_buffer(mapped)
                written = lib.libdeflate_deflate_compress(
                    compressor, address, size, ctypes.addressof(target), bound
                )
                del target
                result = memoryview(mapped)[:written]
        finally:
            lib.libdeflate_free_compressor(compressor)
            del source
        if written == 0:
            raise WheelError(f"libdeflate could not compress {size} bytes into {bound}")
        return result


def _library_file(package_dir: str) -> str:
    """The ``_deflate`` extension built for this interpreter, else any of them."""
    names = sorted(
        n for n in os.listdir(package_dir) if n.startswith("_deflate.") and n.endswith(".so")
    )
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if "_deflate" + suffix in names:
            return os.path.join(package_dir, "_deflate" + suffix)
    if not names:
        raise WheelError(
            f"{package_dir} holds no _deflate*.so; reinstall deflate=={DEFLATE_VERSION}"
        )
    return os.path.join(package_dir, names[0])


@functools.lru_cache(maxsize=1)
def libdeflate() -> Libdeflate:
    """Returns libdeflate from the pinned ``deflate`` package, checking its version.

    Loaded once per process (the loaded library is immutable).

    Raises:
        WheelError: it is missing, or another version than the pinned one.
    """
    spec = importlib.util.find_spec("deflate")
    if spec is None or not spec.submodule_search_locations:
        raise WheelError(
            f"the wheel writer needs libdeflate (the PyPI package deflate=={DEFLATE_VERSION}), "
            "which is not on the path here; under Bazel it comes from rules_ml_wheels' "
            "libdeflate repositories (x86_64 and aarch64 Linux); as a plain script, "
            f"`pip install deflate=={DEFLATE_VERSION}`"
        )
    return load_libdeflate(next(iter(spec.submodule_search_locations)))


def load_libdeflate(package_dir: str) -> Libdeflate:
    """Loads libdeflate from a ``deflate`` package directory, checking its version.

    Args:
        package_dir: The ``deflate/`` directory; its ``deflate-*.dist-info``
            sibling says the version.

    Raises:
        WheelError: the version is not the pinned one, or the library is missing.
    """
    site = os.path.dirname(package_dir)
    versions = [d.version for d in importlib.metadata.distributions(path=[site], name="deflate")]
    if versions[:1] != [DEFLATE_VERSION]:
        raise WheelError(
            f"the wheel writer is pinned to deflate=={DEFLATE_VERSION} (libdeflate), found "
            f"{versions[0] if versions else 'no version'} in {site}: another version may "
            f"compress differently; `pip install deflate=={DEFLATE_VERSION}`"
        )
    return Libdeflate(_library_file(package_dir))


def compress_member(data: Buffer, level: int) -> bytes | memoryview:
    """Returns the canonical encoding of one member's content.

    Args:
        data: The member's whole content (bytes, bytearray or a writable mmap).
        level: Compression level 0-9 (0 returns the bytes unchanged).

    Returns:
        The stored bytes for level 0, else the raw deflate stream.
    """
    if method_for_level(level) == STORED:
        return bytes(data)
    return libdeflate().compress(data, level)


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
