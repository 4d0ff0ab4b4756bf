"""Reads a wheel's members in place and parses its ELF files in parallel.

Nothing is extracted: the wheel is memory-mapped, a stored member is parsed
where it lies, a deflated one is inflated into memory (one member at a time
per process), and only the first bytes of every other member are inflated to
tell ELF files apart. The ELF files are spread over a process pool, largest
first; results are keyed by member name, so the verdict never depends on
the number of processes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import mmap
import multiprocessing
import os
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Optional, Union

from ml_wheels.audit.elf import ElfFacts, ElfReadError, looks_like_elf, read_elf_facts
from ml_wheels.errors import WheelError

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
# Below this many bytes of ELF files, a process pool costs more than it saves.
_POOL_MIN_BYTES = 8 << 20


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Member:
    """Where a wheel member's bytes are."""

    name: str
    header_offset: int
    compress_type: int
    compress_size: int
    file_size: int
    flag_bits: int
    is_symlink: bool


class WheelArchive:
    """A wheel opened for reading members without extracting it."""

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.exists(path):
            raise WheelError(f"{path}: no such file")
        if os.path.isdir(path):
            raise WheelError(f"{path}: is a directory, not a wheel")
        try:
            self._file = open(path, "rb")  # noqa: SIM115 (closed in close())
        except OSError as e:
            raise WheelError(f"{path}: cannot open: {e.strerror}") from e
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            self._file.close()
            raise WheelError(f"{path}: not a wheel (not a valid zip archive: {e})") from e
        self.members: dict[str, Member] = {}
        self.directories: set[str] = {""}
        for info in self._zip.infolist():
            name = info.filename
            parent = posixpath.dirname(name.rstrip("/"))
            while parent and parent not in self.directories:
                self.directories.add(parent)
                parent = posixpath.dirname(parent)
            if info.is_dir():
                self.directories.add(name.rstrip("/"))
                continue
            mode = info.external_attr >> 16
            self.members[name] = Member(
                name,
                info.header_offset,
                info.compress_type,
                info.compress_size,
                info.file_size,
                info.flag_bits,
                (mode & 0o170000) == 0o120000,
            )

    def close(self) -> None:
        with contextlib.suppress(BufferError):  # a view still alive: the exit frees it
            self._map.close()
        self._zip.close()
        self._file.close()

    def __enter__(self) -> WheelArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record_paths(self) -> Optional[list[str]]:
        """The paths RECORD lists, in its order (None without a RECORD)."""
        records = [n for n in self.members if n.endswith(".dist-info/RECORD") and n.count("/") == 1]
        if not records:
            return None
        text = self.read_bytes(self.members[records[0]]).decode("utf-8", errors="replace")
        paths = []
        for row in csv.reader(io.StringIO(text)):
            if row and row[0]:
                paths.append(row[0])
        return paths

    def _data_offset(self, member: Member) -> int:
        header = self._map[member.header_offset : member.header_offset + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size:
            raise WheelError(f"{self.path}: {member.name}: local header is truncated")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise WheelError(f"{self.path}: {member.name}: bad local header signature")
        return member.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]

    def head(self, member: Member, size: int = 4) -> bytes:
        """The first bytes of a member, inflating no more than needed."""
        if member.flag_bits & 1:
            raise WheelError(f"{self.path}: {member.name} is encrypted")
        start = self._data_offset(member)
        end = start + member.compress_size
        if member.compress_type == zipfile.ZIP_STORED:
            return bytes(self._map[start : min(end, start + size)])
        if member.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
            out = b""
            position = start
            chunk = 512
            try:
                while len(out) < size and position < end and not inflater.eof:
                    step = min(chunk, end - position)
                    out += inflater.decompress(
                        inflater.unconsumed_tail + self._map[position : position + step],
                        size - len(out),
                    )
                    position += step
                    chunk = 4096
            except zlib.error as e:
                raise WheelError(f"{self.path}: {member.name}: corrupt data ({e})") from e
            return out[:size]
        with self._zip.open(member.name) as stream:
            return stream.read(size)

    def read(self, member: Member) -> Union[bytes, memoryview]:
        """The whole member: a view into the map when stored, else inflated bytes."""
        if member.flag_bits & 1:
            raise WheelError(f"{self.path}: {member.name} is encrypted")
        start = self._data_offset(member)
        end = start + member.compress_size
        if member.compress_type == zipfile.ZIP_STORED:
            if end > len(self._map):
                raise WheelError(f"{self.path}: {member.name}: data is truncated")
            return memoryview(self._map)[start:end]
        if member.compress_type == zipfile.ZIP_DEFLATED:
            try:
                data = zlib.decompress(
                    memoryview(self._map)[start:end], -15, max(member.file_size, 1)
                )
            except zlib.error as e:
                raise WheelError(f"{self.path}: {member.name}: corrupt data ({e})") from e
            if len(data) != member.file_size:
                raise WheelError(
                    f"{self.path}: {member.name}: inflates to {len(data)} bytes, "
                    f"the archive says {member.file_size}"
                )
            return data
        with self._zip.open(member.name) as stream:
            return stream.read()

    def read_bytes(self, member: Member) -> bytes:
        data = self.read(member)
        return data if isinstance(data, bytes) else bytes(data)


# --- parsing ELF members, in this process or in a pool ---------------------------------

_worker_archive: Optional[WheelArchive] = None
_worker_blacklist: frozenset[bytes] = frozenset()


def _init_worker(path: str, blacklist: frozenset[bytes]) -> None:
    global _worker_archive, _worker_blacklist
    _worker_archive = WheelArchive(path)
    _worker_blacklist = blacklist


def _parse(
    archive: WheelArchive, member: Member, blacklist: frozenset[bytes]
) -> Union[ElfFacts, str, None]:
    """Facts of one member, None when it is not ELF, or an error message that
    starts with the wheel's path (as the reader's own WheelErrors do)."""
    try:
        data = archive.read(member)
        try:
            return read_elf_facts(data, member.name, blacklist=blacklist)
        finally:
            if isinstance(data, memoryview):
                data.release()
    except ElfReadError as e:
        return f"{archive.path}: {member.name}: cannot read this ELF file: {e}"
    except WheelError as e:
        return str(e)


def _parse_in_worker(member: Member) -> tuple[str, Union[ElfFacts, str, None]]:
    assert _worker_archive is not None
    return member.name, _parse(_worker_archive, member, _worker_blacklist)


def parse_elf_members(
    archive: WheelArchive,
    names: Iterable[str],
    blacklist: frozenset[bytes],
    jobs: int,
) -> dict[str, ElfFacts]:
    """Parses every ELF file among ``names``; returns facts by member name.

    Members are looked at largest first and each ELF file goes to the pool as
    soon as it is recognised, so the biggest library is being inflated while
    the small members are still being sniffed.

    Raises:
      WheelError: a member is corrupt or an ELF file cannot be read.
    """
    members = sorted(
        (archive.members[name] for name in names),
        key=lambda m: (-m.file_size, m.name),
    )
    members = [m for m in members if not m.is_symlink and m.file_size >= 16]
    pool = None
    if jobs > 1 and sum(m.file_size for m in members) >= _POOL_MIN_BYTES:
        try:
            pool = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(archive.path, blacklist),
            )
        except (OSError, ValueError, ImportError, NotImplementedError):
            pool = None  # no semaphores here (some sandboxes): parse in this process

    results: dict[str, Union[ElfFacts, str, None]] = {}
    if pool is None:
        for member in members:
            if looks_like_elf(archive.head(member)):
                results[member.name] = _parse(archive, member, blacklist)
    else:
        with pool:
            futures = [
                pool.submit(_parse_in_worker, member)
                for member in members
                if looks_like_elf(archive.head(member))
            ]
            for future in futures:
                name, outcome = future.result()
                results[name] = outcome

    parsed: dict[str, ElfFacts] = {}
    for name in sorted(results):
        outcome = results[name]
        if isinstance(outcome, str):
            raise WheelError(outcome)
        if outcome is not None:
            parsed[name] = outcome
    return parsed
