"""The largest sections of an ELF file inside a wheel, read with bounded work.

pyelftools parses the ELF header and the section headers; it reads them
from a sparse stream that holds only the byte ranges fetched from the
member: the first 64 bytes, then the section header table (with a window
before it, where linkers put ``.shstrtab``), then the section name table if
it was not in that window. A deflated member is inflated no further than
the last range needs, at most three times (usually twice); a stored one is
read in place. Tables are bounded in size, and every offset is checked
against the file's declared size before it is fetched.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.common.utils import struct_parse
from elftools.elf.elffile import ELFFile

from ml_wheels.size.archive import Wheel

ELF_MAGIC = b"\x7fELF"
_HEAD = 64
_NAME_WINDOW = 1 << 20
"""Bytes fetched before the section header table, where ``.shstrtab`` usually lies."""
_MAX_SECTIONS = 1 << 17
_MAX_NAMES = 16 << 20
# pyelftools gives section types as names; 8 and 0 in the ELF file.
_NOBITS = ("SHT_NOBITS", 8)
_NULL = ("SHT_NULL", 0)


class ElfSizeError(Exception):
    """The member starts like an ELF file but its headers cannot be read."""


@dataclass(frozen=True)
class Section:
    """One section and the bytes it takes in the file (0 for ``.bss`` and kin)."""

    name: str
    size: int


class _SparseStream(io.RawIOBase):
    """A seekable read-only file of ``length`` bytes of which only some ranges are known."""

    def __init__(self, length: int, ranges: dict[int, bytes]) -> None:
        super().__init__()
        self._length = length
        self._ranges = sorted(ranges.items())
        self._pos = 0

    def add(self, ranges: dict[int, bytes]) -> None:
        self._ranges = sorted([*self._ranges, *ranges.items()])

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            offset += self._length
        if offset < 0:
            raise ValueError("negative seek position")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def covers(self, start: int, end: int) -> bool:
        return any(low <= start and end <= low + len(data) for low, data in self._ranges)

    def read(self, size: int = -1) -> bytes:
        end = self._length if size is None or size < 0 else min(self._length, self._pos + size)
        if end <= self._pos:
            return b""
        for low, data in self._ranges:
            if low <= self._pos and end <= low + len(data):
                out = data[self._pos - low : end - low]
                self._pos = end
                return out
        raise ElfSizeError(f"bytes {self._pos}-{end} were not fetched (a malformed header)")


def largest_sections(wheel: Wheel, path: str, size: int, count: int = 8) -> list[Section]:
    """The ``count`` largest sections of the ELF member ``path`` (declared ``size`` bytes).

    Returns:
        Sections by file size, largest first (ties by name); empty for a file
        without a section header table (a stripped-of-sections library).

    Raises:
        ElfSizeError: The headers cannot be read.
        WheelError: The member's data is corrupt.
    """
    stream = _SparseStream(size, wheel.read_ranges(path, [(0, _HEAD)]))
    try:
        elf = ELFFile(stream)
    except (ELFError, ElfSizeError) as error:
        raise ElfSizeError(f"not a readable ELF header: {error}") from None
    except Exception as error:  # construct's errors on truncated headers
        raise ElfSizeError(f"not a readable ELF header: {type(error).__name__}") from None
    table_offset = elf["e_shoff"]
    entry_size = elf["e_shentsize"]
    if table_offset == 0:
        return []
    if entry_size != elf.structs.Elf_Shdr.sizeof():
        raise ElfSizeError(f"section header entries are {entry_size} bytes, not the ELF size")
    if table_offset + entry_size > size:
        raise ElfSizeError("its section header table lies past the end of the file")
    window = table_offset - min(table_offset, _NAME_WINDOW)
    declared = elf["e_shnum"]
    # One pass for the window and the table when e_shnum gives the count;
    # otherwise section 0 holds it (e_shnum = 0: 0xff00 sections or more).
    end = table_offset + (declared or 1) * entry_size
    _fetch(wheel, path, stream, window, min(end, size), "section header table")
    try:
        total = elf.num_sections()
    except Exception as error:
        raise ElfSizeError(f"cannot read the section count: {error}") from None
    if total > _MAX_SECTIONS:
        raise ElfSizeError(f"{total} sections, more than the {_MAX_SECTIONS} this report reads")
    _fetch(wheel, path, stream, window, table_offset + total * entry_size, "section header table")
    try:
        headers = [
            struct_parse(elf.structs.Elf_Shdr, stream, table_offset + index * entry_size)
            for index in range(total)
        ]
        names_index = elf.get_shstrndx()
    except ElfSizeError:
        raise
    except Exception as error:
        raise ElfSizeError(f"cannot read the section headers: {error}") from None
    names = b""
    if 0 < names_index < total:
        names_header = headers[names_index]
        start, length = names_header["sh_offset"], min(names_header["sh_size"], _MAX_NAMES)
        if names_header["sh_type"] not in _NOBITS and start + length <= size:
            _fetch(wheel, path, stream, start, start + length, "section names")
            stream.seek(start)
            names = stream.read(length)
    sections = []
    for header in headers:
        in_file = 0 if header["sh_type"] in _NOBITS else header["sh_size"]
        if header["sh_type"] in _NULL:
            continue  # the null section
        sections.append(Section(_name(names, header["sh_name"]), in_file))
    sections.sort(key=lambda section: (-section.size, section.name))
    return sections[:count]


def _fetch(wheel: Wheel, path: str, stream: _SparseStream, start: int, end: int, what: str) -> None:
    if start >= end or stream.covers(start, end):
        return
    if end > stream.seek(0, 2):
        raise ElfSizeError(f"its {what} lies past the end of the file")
    stream.add(wheel.read_ranges(path, [(start, end)]))


def _name(table: bytes, offset: int) -> str:
    if offset >= len(table):
        return f"<name at {offset}>"
    end = table.find(b"\0", offset)
    raw = table[offset:] if end < 0 else table[offset:end]
    return raw[:256].decode("utf-8", "replace")
