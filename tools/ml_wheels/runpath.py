"""Drops Bazel's build-layout entries from the RUNPATH/RPATH of shipped ELF files.

Bazel links shared libraries with RUNPATH entries such as
``$ORIGIN/../_solib_k8/_U_S_Spkg___Upkg`` that point into its output tree.
Shipped in a wheel they make the installed extension search
``site-packages/_solib_k8/...`` (or wherever that resolves) before ``$ORIGIN``.

``runpath_patches`` finds the DT_RUNPATH and DT_RPATH strings through the
program headers (what the dynamic loader reads: PT_DYNAMIC, DT_STRTAB mapped
through PT_LOAD), removes every entry that has a path component starting with
``_solib_`` (the others keep their order), and overwrites the string in place
padded with NULs: the file keeps its size and layout, only those bytes change.
If no entry is left the string becomes empty, which glibc and musl treat as
"no RUNPATH" (an empty *component* would mean the working directory; none is
created).

Anything unexpected (not ELF, truncated, offsets out of range, a string shared
by another reference at an offset inside it) means "leave the file unchanged":
the packer ships files, it does not validate them (audit_wheel does), and a
file that merely starts with the ELF magic must still be packed as it is. All
reads are bounded, so a hostile file costs little.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

_DT_NULL = 0
_DT_NEEDED = 1
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_DT_SONAME = 14
_DT_RPATH = 15
_DT_RUNPATH = 29
_DT_VERDEF = 0x6FFFFFFC
_DT_VERDEFNUM = 0x6FFFFFFD
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF
# Tags whose value is an offset into the dynamic string table.
_STRING_TAGS = frozenset(
    {_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH, 0x7FFFFFFD, 0x7FFFFFFF}
    | {0x6FFFFEFA, 0x6FFFFEFB, 0x6FFFFEFC}
)
_PT_LOAD = 1
_PT_DYNAMIC = 2
_SHT_DYNSYM = 11
_PN_XNUM = 0xFFFF

_MAX_DYNAMIC_BYTES = 1 << 20
_MAX_STRING_BYTES = 1 << 16
_MAX_SYMBOLS = 1 << 22
_MAX_VERSION_RECORDS = 1 << 16


class _Malformed(Exception):
    """The file is not an ELF file this module understands; leave it unchanged."""


@dataclass(frozen=True)
class Patch:
    """Bytes to write over a file's content at an offset (same length)."""

    offset: int
    data: bytes


def without_bazel_entries(runpath: bytes) -> bytes:
    """Returns a RUNPATH/RPATH string without its ``_solib_*`` entries.

    Args:
        runpath: The ``:``-separated search path, without its NUL.

    Returns:
        The entries that have no path component starting with ``_solib_``,
        in their order.
    """
    kept = [
        entry
        for entry in runpath.split(b":")
        if not any(part.startswith(b"_solib_") for part in entry.split(b"/"))
    ]
    return b":".join(kept)


class _Reader:
    """Bounded, exact reads of an ELF file of known size."""

    def __init__(self, fp: IO[bytes], size: int) -> None:
        self.fp = fp
        self.size = size
        ident = self.read(0, 16)
        if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise _Malformed
        self.is64 = ident[4] == 2
        self.order = "<" if ident[5] == 1 else ">"
        self.word = "Q" if self.is64 else "I"

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Malformed
        self.fp.seek(offset)
        data = self.fp.read(length)
        if len(data) != length:
            raise _Malformed
        return data

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        layout = struct.Struct(self.order + fmt)
        return layout.unpack(self.read(offset, layout.size))


class _Budget:
    """Bounds the records read from counts and links that a file controls."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def range(self, count: int) -> Iterable[int]:
        """Yields ``count`` times, taking each from the budget (malformed when spent)."""
        for i in range(count):
            self.left -= 1
            if self.left < 0:
                raise _Malformed
            yield i


@dataclass
class _Dynamic:
    strtab: int = -1
    strsz: int = -1
    symtab: int = -1
    hash: int = -1
    verdef: int = -1
    verdefnum: int = 0
    verneed: int = -1
    verneednum: int = 0


class _Image:
    """The parts of an ELF file needed to find and safely rewrite its RUNPATH."""

    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.loads: list[tuple[int, int, int]] = []
        self.dynamic_entries: list[tuple[int, int]] = []
        self._read_program_headers()
        self.dyn = self._read_dynamic()

    def _read_program_headers(self) -> None:
        r = self.r
        if r.is64:
            (phoff,) = r.unpack("Q", 32)
            phentsize, phnum = r.unpack("HH", 54)
            phdr = "IIQQQQQQ"
        else:
            (phoff,) = r.unpack("I", 28)
            phentsize, phnum = r.unpack("HH", 42)
            phdr = "IIIIIIII"
        if phnum == _PN_XNUM or phentsize < struct.calcsize(phdr):
            raise _Malformed
        self.dynamic_segment: tuple[int, int] | None = None
        for i in range(phnum):
            fields = r.unpack(phdr, phoff + i * phentsize)
            if r.is64:
                p_type, _, p_offset, p_vaddr, _, p_filesz = fields[:6]
            else:
                p_type, p_offset, p_vaddr, _, p_filesz = fields[:5]
            if p_type == _PT_LOAD:
                self.loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == _PT_DYNAMIC and self.dynamic_segment is None:
                self.dynamic_segment = (p_offset, p_filesz)

    def _read_dynamic(self) -> _Dynamic:
        dyn = _Dynamic()
        if self.dynamic_segment is None:
            return dyn
        offset, filesz = self.dynamic_segment
        entry = struct.Struct(self.r.order + ("qQ" if self.r.is64 else "iI"))
        raw = self.r.read(offset, min(filesz, _MAX_DYNAMIC_BYTES))
        fields = {
            _DT_STRTAB: "strtab",
            _DT_STRSZ: "strsz",
            _DT_SYMTAB: "symtab",
            _DT_HASH: "hash",
            _DT_VERDEF: "verdef",
            _DT_VERDEFNUM: "verdefnum",
            _DT_VERNEED: "verneed",
            _DT_VERNEEDNUM: "verneednum",
        }
        for tag, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
            if tag == _DT_NULL:
                break
            self.dynamic_entries.append((tag, value))
            if tag in fields:
                setattr(dyn, fields[tag], value)
        return dyn

    def file_offset(self, vaddr: int) -> tuple[int, int]:
        """Maps a virtual address to (file offset, bytes of file data from there)."""
        for p_vaddr, p_offset, p_filesz in self.loads:
            if p_vaddr <= vaddr < p_vaddr + p_filesz:
                return p_offset + (vaddr - p_vaddr), p_filesz - (vaddr - p_vaddr)
        raise _Malformed

    def string(self, strtab: int, limit: int, offset: int) -> bytes:
        """Reads the NUL-terminated string at ``offset`` of the string table."""
        if not 0 <= offset < limit:
            raise _Malformed
        length = min(limit - offset, _MAX_STRING_BYTES)
        data = self.r.read(strtab + offset, length)
        end = data.find(b"\0")
        if end < 0:
            raise _Malformed
        return data[:end]

    def _symbol_names(self) -> Iterable[int]:
        """The ``st_name`` of every dynamic symbol (section headers, else DT_HASH)."""
        r = self.r
        entsize = 24 if r.is64 else 16
        tables = list(self._dynsym_sections())
        if not tables and self.dyn.symtab >= 0:
            if self.dyn.hash < 0:
                raise _Malformed  # Cannot count the symbols: do not guess.
            hash_offset, _ = self.file_offset(self.dyn.hash)
            (nchain,) = r.unpack("I", hash_offset + 4)
            symtab, _ = self.file_offset(self.dyn.symtab)
            tables = [(symtab, nchain * entsize)]
        for offset, size in tables:
            count = size // entsize
            if count > _MAX_SYMBOLS:
                raise _Malformed
            raw = r.read(offset, count * entsize)
            for i in range(count):
                (name,) = struct.unpack_from(r.order + "I", raw, i * entsize)
                yield name

    def _dynsym_sections(self) -> Iterable[tuple[int, int]]:
        r = self.r
        if r.is64:
            (shoff,) = r.unpack("Q", 40)
            shentsize, shnum = r.unpack("HH", 58)
            shdr = "IIQQQQ"
        else:
            (shoff,) = r.unpack("I", 32)
            shentsize, shnum = r.unpack("HH", 46)
            shdr = "IIIIII"
        if shoff == 0 or shnum == 0:
            return
        if shentsize < struct.calcsize(shdr):
            raise _Malformed
        for i in range(shnum):
            _, sh_type, _, _, sh_offset, sh_size = r.unpack(shdr, shoff + i * shentsize)
            if sh_type == _SHT_DYNSYM:
                yield sh_offset, sh_size

    def _version_names(self) -> Iterable[int]:
        """The string offsets used by the version definition/need records."""
        r = self.r
        budget = _Budget(_MAX_VERSION_RECORDS)
        if self.dyn.verneed >= 0:
            offset, _ = self.file_offset(self.dyn.verneed)
            for _ in budget.range(self.dyn.verneednum):
                _, cnt, vn_file, vn_aux, vn_next = r.unpack("HHIII", offset)
                yield vn_file
                aux = offset + vn_aux
                for _ in budget.range(cnt):
                    _, _, _, vna_name, vna_next = r.unpack("IHHII", aux)
                    yield vna_name
                    aux += vna_next
                offset += vn_next
        if self.dyn.verdef >= 0:
            offset, _ = self.file_offset(self.dyn.verdef)
            for _ in budget.range(self.dyn.verdefnum):
                _, _, _, cnt, _, vd_aux, vd_next = r.unpack("HHHHIII", offset)
                aux = offset + vd_aux
                for _ in budget.range(cnt):
                    vda_name, vda_next = r.unpack("II", aux)
                    yield vda_name
                    aux += vda_next
                offset += vd_next

    def string_references(self) -> set[int]:
        """Every offset into the dynamic string table that something reads."""
        refs = {value for tag, value in self.dynamic_entries if tag in _STRING_TAGS}
        refs.update(self._symbol_names())
        refs.update(self._version_names())
        return refs


def _safe(start: int, old: bytes, new: bytes, refs: Iterable[int]) -> bool:
    """Tells whether every other reference into ``old`` still reads the same string."""
    for ref in refs:
        if start < ref < start + len(old):
            inside = ref - start
            if new[inside:].split(b"\0", 1)[0] != old[inside:]:
                return False
    return True


def _patches(image: _Image) -> list[Patch]:
    runpaths = sorted(
        {value for tag, value in image.dynamic_entries if tag in (_DT_RPATH, _DT_RUNPATH)}
    )
    if not runpaths or image.dyn.strtab < 0:
        return []
    strtab, available = image.file_offset(image.dyn.strtab)
    limit = available if image.dyn.strsz < 0 else min(image.dyn.strsz, available)
    changes = []
    for offset in runpaths:
        old = image.string(strtab, limit, offset)
        new = without_bazel_entries(old)
        if new != old and offset > 0 and image.r.read(strtab + offset - 1, 1) != b"\0":
            return []  # The string is the tail of a longer one: changing it changes both.
        if new != old:
            changes.append((offset, old, new.ljust(len(old), b"\0")))
    if not changes:
        return []
    refs = image.string_references()
    if not all(_safe(offset, old, new, refs) for offset, old, new in changes):
        return []
    return [Patch(strtab + offset, new) for offset, _, new in changes]


def runpath_patches(fp: IO[bytes], size: int) -> list[Patch]:
    """Finds the edits that remove ``_solib_*`` entries from an ELF file's search paths.

    Args:
        fp: The file, open for binary reading and seekable (its position moves).
        size: The file's size in bytes.

    Returns:
        The patches to apply (empty for a file that is not ELF, has nothing
        to remove, or is malformed).
    """
    try:
        return _patches(_Image(_Reader(fp, size)))
    except (_Malformed, struct.error, OverflowError):
        return []


class PatchedStream:
    """A read-only stream over a file with patches laid over its bytes."""

    def __init__(self, raw: IO[bytes], patches: list[Patch]) -> None:
        """Initializes the stream at offset 0.

        Args:
            raw: The underlying file; closed with this stream.
            patches: Non-overlapping patches within the file.
        """
        self._raw = raw
        self._patches = sorted(patches, key=lambda p: p.offset)
        self._pos = 0
        raw.seek(0)

    def read(self, size: int = -1) -> bytes:
        """Reads like ``io.RawIOBase.read``, with the patches applied."""
        data = self._raw.read(size)
        start, end = self._pos, self._pos + len(data)
        self._pos = end
        if not any(p.offset < end and start < p.offset + len(p.data) for p in self._patches):
            return data
        out = bytearray(data)
        for patch in self._patches:
            lo, hi = max(start, patch.offset), min(end, patch.offset + len(patch.data))
            if lo < hi:
                out[lo - start : hi - start] = patch.data[lo - patch.offset : hi - patch.offset]
        return bytes(out)

    def close(self) -> None:
        """Closes the underlying file."""
        self._raw.close()

    def __enter__(self) -> PatchedStream:
        """Returns the stream."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Closes the stream."""
        self.close()
