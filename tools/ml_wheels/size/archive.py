"""The members of a wheel and their sizes, read from its central directory.

The zip structures are read by ``ml_wheels.unpack_zip`` (the strict reader
``py_import``'s unpacking uses): every structure is checked against the
file's size before it is trusted, local headers must agree with the central
directory and members may not share bytes, so the work and memory are
bounded by the archive's size. Names are checked as the unpacker checks them.
Nothing is inflated to list sizes; ``read_ranges`` inflates one member as far
as the ranges asked for need (never past its declared size, see
``ml_wheels.unpack``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from ml_wheels.errors import WheelError

# The unpacker's member stream (bounded by the declared size, CRC-checked at
# its end); reused, not copied, so there is one zip reader in the project.
from ml_wheels.unpack import MemberReader, check_name, member_chunks
from ml_wheels.unpack_zip import (
    STORED,
    ZipMember,
    data_offsets,
    pread_exact,
    read_central_directory,
    show_name,
)

MiB = 1 << 20

RATIO_MIN_SIZE = 1 * MiB
"""Members up to this size may claim any compression ratio (as in ``ml_wheels.unpack``)."""
MAX_RATIO = 1100
"""Above ``RATIO_MIN_SIZE``, a larger uncompressed:compressed claim is impossible for deflate."""


@dataclass(frozen=True)
class Entry:
    """One file of the wheel.

    Attributes:
        path: Its path in the wheel.
        compressed: Bytes of compressed data in the archive.
        size: Declared uncompressed size (what it takes once installed).
    """

    path: str
    compressed: int
    size: int


@dataclass(frozen=True)
class WheelSizes:
    """What the central directory says about a wheel's size.

    Attributes:
        name: The archive's file name (no directory).
        file_size: Bytes of the archive.
        entries: Its files (directory entries left out), sorted by path.
    """

    name: str
    file_size: int
    entries: tuple[Entry, ...]

    @property
    def unpacked_size(self) -> int:
        """The sum of the members' uncompressed sizes."""
        return sum(entry.size for entry in self.entries)

    @property
    def compressed_size(self) -> int:
        """The sum of the members' compressed data (the rest is zip headers)."""
        return sum(entry.compressed for entry in self.entries)


class Wheel:
    """A wheel open for reading sizes and, on demand, bytes of its members.

    Use as a context manager; ``sizes`` is read when it opens.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = _open_regular(path)
        try:
            file_size = os.fstat(self._fd).st_size
            directory = read_central_directory(self._fd, file_size)
            offsets = data_offsets(self._fd, directory.members, directory.data_limit)
            self._members: dict[str, tuple[ZipMember, int]] = {}
            entries = []
            for member, offset in zip(directory.members, offsets):
                name, is_dir = check_name(member.raw_name)
                if name in self._members or (is_dir and name + "/" in self._members):
                    raise WheelError(
                        f"entry {show_name(member.raw_name)} appears twice (installers write "
                        "both, the last one wins); rebuild the wheel with it once"
                    )
                if is_dir:
                    self._members[name + "/"] = (member, offset)
                    continue
                self._members[name] = (member, offset)
                entries.append(Entry(name, member.compressed_size, member.file_size))
        except WheelError as error:
            os.close(self._fd)
            raise WheelError(f"{path}: {error}") from None
        except BaseException:
            os.close(self._fd)
            raise
        entries.sort(key=lambda entry: entry.path)
        self.sizes = WheelSizes(os.path.basename(path), file_size, tuple(entries))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Wheel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ratio_problem(self, path: str) -> str:
        """Why a member's declared size cannot be true (a zip bomb's claim), or ``""``."""
        member, _ = self._members[path]
        if member.file_size > RATIO_MIN_SIZE and member.file_size > MAX_RATIO * max(
            member.compressed_size, 1
        ):
            return (
                f"it claims {member.file_size} bytes from {member.compressed_size} compressed, "
                f"more than {MAX_RATIO}:1, which deflate cannot reach"
            )
        return ""

    def read_ranges(self, path: str, ranges: Iterable[tuple[int, int]]) -> dict[int, bytes]:
        """Bytes of a member at the given ``(start, end)`` offsets of its content.

        A stored member is read where it lies; a deflated one is inflated from
        its start up to the end of the last range and no further (so asking
        for the first bytes costs one chunk), never past its declared size.
        Ranges are clipped to the declared size.

        Returns:
            The bytes of each range, keyed by its start.

        Raises:
            WheelError: The member's data is corrupt or inflates past its size.
        """
        member, offset = self._members[path]
        wanted = sorted(
            (start, min(end, member.file_size))
            for start, end in ranges
            if 0 <= start < min(end, member.file_size)
        )
        if not wanted:
            return {}
        if member.method == STORED:
            return {
                start: pread_exact(self._fd, end - start, offset + start, f"entry {path!r}")
                for start, end in wanted
            }
        last = max(end for _, end in wanted)
        found: dict[int, list[bytes]] = {start: [] for start, _ in wanted}
        position = 0
        chunks = member_chunks(MemberReader(self.path, self._fd), member, offset, path)
        try:
            for chunk in chunks:
                chunk_end = position + len(chunk)
                for start, end in wanted:
                    low, high = max(start, position), min(end, chunk_end)
                    if low < high:
                        found[start].append(chunk[low - position : high - position])
                position = chunk_end
                if position >= last:
                    break
        except WheelError as error:
            raise WheelError(f"{self.path}: {error}") from None
        finally:
            chunks.close()
        return {start: b"".join(parts) for start, parts in found.items()}


def _open_regular(path: str) -> int:
    """Opens ``path`` read-only if it is a regular file (a FIFO never blocks the open)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise WheelError(f"{path}: cannot open: {error.strerror}; check the path") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise WheelError(
            f"{path}: is not a regular file (a directory, FIFO or device); give the path of a "
            ".whl file"
        )
    return fd


def read_sizes(path: str) -> WheelSizes:
    """The sizes of the wheel at ``path`` (see ``Wheel``).

    Raises:
        WheelError: Not a readable zip archive, or one the unpacker would refuse.
    """
    with Wheel(path) as wheel:
        return wheel.sizes
