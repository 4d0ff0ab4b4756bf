"""Where a wheel member's bytes come from: a file, memory, or another zip."""

from __future__ import annotations

import io
import os
import zipfile
from typing import IO, Protocol, cast

from ml_wheels.runpath import PatchedStream, runpath_patches


class Source(Protocol):
    """The uncompressed content of one wheel member."""

    def describe(self) -> str:
        """Returns a human-readable origin for error messages."""
        ...

    def size_hint(self) -> int:
        """Returns the expected size in bytes (used to plan parallel work)."""
        ...

    def open(self) -> tuple[IO[bytes], int]:
        """Opens the content; returns the stream and its size in bytes."""
        ...


class FileSource:
    """A file on disk; symlinks are followed (Bazel presents inputs as symlinks).

    With ``strip_bazel_runpath``, an ELF file's content is presented without
    the ``_solib_*`` entries of its RUNPATH/RPATH (see ``ml_wheels.runpath``):
    the same size, only those bytes differ, so checksums, RECORD and
    compression shards all see the shipped bytes.
    """

    def __init__(self, path: str, *, strip_bazel_runpath: bool = False) -> None:
        """Initializes the source.

        Args:
            path: Path of a regular file, or of a symlink to one.
            strip_bazel_runpath: Whether to drop Bazel's ``_solib_*`` search
                path entries from an ELF file.
        """
        self.path = path
        self.strip_bazel_runpath = strip_bazel_runpath

    def describe(self) -> str:
        """Returns the path."""
        return self.path

    def size_hint(self) -> int:
        """Returns the file size from stat."""
        return os.stat(self.path).st_size

    def open(self) -> tuple[IO[bytes], int]:
        """Opens the file; the size comes from the open descriptor."""
        stream = open(self.path, "rb")  # noqa: SIM115 - caller closes it
        size = os.fstat(stream.fileno()).st_size
        if not self.strip_bazel_runpath:
            return stream, size
        try:
            patches = runpath_patches(stream, size)
            stream.seek(0)
        except BaseException:
            stream.close()
            raise
        if not patches:
            return stream, size
        return cast(IO[bytes], PatchedStream(stream, patches)), size


class BytesSource:
    """Content held in memory (generated files such as METADATA)."""

    def __init__(self, data: bytes, name: str = "<generated>") -> None:
        """Initializes the source.

        Args:
            data: The content.
            name: What to call it in error messages.
        """
        self.data = bytes(data)
        self.name = name

    def describe(self) -> str:
        """Returns the name given at construction."""
        return self.name

    def size_hint(self) -> int:
        """Returns the length of the data."""
        return len(self.data)

    def open(self) -> tuple[IO[bytes], int]:
        """Returns an in-memory stream over the data."""
        return io.BytesIO(self.data), len(self.data)


class ZipMemberSource:
    """A member of an open zip archive, decompressed while it is read."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        """Initializes the source.

        Args:
            archive: An open archive; it must stay open while the source is used.
            name: The member name.
        """
        self.archive = archive
        self.name = name

    def describe(self) -> str:
        """Returns ``archive!member``."""
        return f"{self.archive.filename}!{self.name}"

    def size_hint(self) -> int:
        """Returns the member's uncompressed size."""
        return self.archive.getinfo(self.name).file_size

    def open(self) -> tuple[IO[bytes], int]:
        """Opens the member for streaming decompression."""
        info = self.archive.getinfo(self.name)
        return self.archive.open(info), info.file_size
