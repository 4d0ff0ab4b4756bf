"""Reads a wheel's members in place and parses its ELF files in parallel.

Nothing is extracted: the wheel is memory-mapped, a stored member is parsed
where it lies, a deflated one is inflated into memory (one member at a time
per process; a large one into a mapped, unnamed temporary file), and only
the first bytes of every other member are inflated to tell ELF files apart.
The ELF files are spread over a process pool, largest first; results are
keyed by member name, so the verdict never depends on the number of
processes.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import mmap
import multiprocessing
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Optional, Union

from ml_wheels.audit.elf import ElfFacts, ElfReadError, looks_like_elf, read_elf_facts
from ml_wheels.errors import WheelError
from ml_wheels.wheelpath import path_problem, shown_path

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_UTF8_FLAG = 0x800
# Compression methods of the zip format other than stored and deflate, by number.
_METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    8: "deflate",
    9: "deflate64",
    12: "bzip2",
    14: "LZMA",
    93: "Zstandard",
    95: "xz",
    98: "PPMd",
}
# A member read whole (an ELF file, RECORD, WHEEL) may declare any size up to
# this; above it, at most _MAX_RATIO times its compressed size (deflate reaches
# ~1032:1 on zeros, real ELF files 2-6:1), so a small hostile archive cannot make
# the audit hold gigabytes. Other members are never inflated past their head.
_RATIO_FREE_BYTES = 8 << 20
_MAX_RATIO = 16
# What every installer writes besides RECORD's entries: RECORD and its signatures.
_RECORD_FILES = ("RECORD", "RECORD.jws", "RECORD.p7s")
# Below this many bytes of ELF files, a process pool costs more than it saves.
_POOL_MIN_BYTES = 8 << 20
# Deflated members larger than this are inflated into an unnamed temporary
# file and mapped, not held in memory: the ELF parser touches only the
# headers and tables it reads, so a 434 MB library costs tens of MB of RSS.
SPILL_BYTES = 32 << 20
# Compressed bytes fed to the inflater per step when spilling; at most 4 times
# as many inflated bytes come out per step. Small steps stay in the CPU caches:
# inflating libtorch_cpu.so this way beats inflating it into one bytes object,
# where 1 MiB/4 MiB steps are slower than that.
_SPILL_STEP = 256 << 10


def _close_quietly(resource: Union[mmap.mmap, memoryview]) -> None:
    """Closes a map or releases a view, unless views of it are still alive."""
    with contextlib.suppress(BufferError):
        if isinstance(resource, memoryview):
            resource.release()
        else:
            resource.close()


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


def _open_regular(path: str) -> io.BufferedReader:
    """Opens ``path`` for reading if it is a regular file (a FIFO never blocks).

    Raises:
      WheelError: missing, a directory, a FIFO, device or socket, or unreadable.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as e:
        raise WheelError(f"{path}: no such file") from e
    except OSError as e:
        raise WheelError(f"{path}: cannot open: {e.strerror}") from e
    if stat.S_ISDIR(info.st_mode):
        raise WheelError(f"{path}: is a directory, not a wheel")
    if not stat.S_ISREG(info.st_mode):
        raise WheelError(
            f"{path}: is not a regular file (a FIFO, device or socket); "
            "give the path of a .whl file"
        )
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise WheelError(f"{path}: cannot open: {e.strerror}") from e
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # replaced since the stat above
        os.close(descriptor)
        raise WheelError(f"{path}: is not a regular file; give the path of a .whl file")
    return open(descriptor, "rb")


def _check_sizes(path: str, info: zipfile.ZipInfo) -> None:
    """Refuses compression methods other than stored/deflate, and inconsistent sizes."""
    name = info.orig_filename
    method = info.compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        label = _METHOD_NAMES.get(method, "an unknown method")
        raise WheelError(
            f"{path}: {shown_path(name)} is compressed with {label} (zip method {method}); "
            "wheels use deflate or no compression: rebuild the wheel with deflate"
        )
    if method == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise WheelError(
            f"{path}: {shown_path(name)} is stored (not compressed) but declares "
            f"{info.file_size} bytes for {info.compress_size} bytes of data; the archive is corrupt"
        )


class WheelArchive:
    """A wheel opened for reading members without extracting it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = _open_regular(path)
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            ValueError,
            OSError,
            EOFError,
            OverflowError,
            struct.error,
            NotImplementedError,
        ) as e:
            self._file.close()
            raise WheelError(f"{path}: not a wheel (not a valid zip archive: {e})") from e
        try:
            self.members, self._names = self._read_directory()
        except WheelError:
            self.close()
            raise
        records = sorted(
            n for n in self.members if n.endswith(".dist-info/RECORD") and n.count("/") == 1
        )
        self._record: Optional[str] = records[0] if records else None

    def _read_directory(self) -> tuple[dict[str, Member], list[str]]:
        """Members by name, and every entry name (directories too), sorted."""
        members: dict[str, Member] = {}
        names: list[str] = []
        seen: set[str] = set()
        for info in self._zip.infolist():
            name = info.orig_filename
            bare = name[:-1] if name.endswith("/") else name
            problem = path_problem(bare)
            if problem:
                raise WheelError(
                    f"{self.path}: wheel path {shown_path(name)} {problem}; rebuild the wheel "
                    "without it"
                )
            if bare in seen:
                raise WheelError(
                    f"{self.path}: {shown_path(bare)} is in the archive twice; installers "
                    "write both, the last one wins: rebuild the wheel with it once"
                )
            seen.add(bare)
            names.append(name)
            if name.endswith("/"):
                continue
            _check_sizes(self.path, info)
            # The mode bits do not matter (pip writes symlink-mode members as files).
            members[name] = Member(
                name,
                info.header_offset,
                info.compress_type,
                info.compress_size,
                info.file_size,
                info.flag_bits,
            )
        names.sort()
        return members, names

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory of the wheel ("" is its root).

        A directory is any proper prefix of an entry name, or a directory entry;
        found by bisection over the sorted names, so the bookkeeping stays
        linear in the size of the central directory.
        """
        if path == "":
            return True
        prefix = path + "/"
        index = bisect.bisect_left(self._names, prefix)
        return index < len(self._names) and self._names[index].startswith(prefix)

    def close(self) -> None:
        with contextlib.suppress(BufferError):  # a view still alive: the exit frees it
            self._map.close()
        self._zip.close()
        self._file.close()

    def __enter__(self) -> WheelArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record_name(self) -> Optional[str]:
        """The ``<name>.dist-info/RECORD`` member, or None."""
        return self._record

    def record_paths(self) -> Optional[list[str]]:
        """The paths RECORD lists, in its order (None without a RECORD)."""
        record = self.record_name()
        if record is None:
            return None
        text = self.read_bytes(self.members[record]).decode("utf-8", errors="replace")
        paths = []
        try:
            for row in csv.reader(io.StringIO(text)):
                if row and row[0]:
                    paths.append(row[0])
        except csv.Error as e:
            raise WheelError(f"{self.path}: {record} is not valid CSV ({e})") from e
        return paths

    def unlisted_exempt(self, name: str) -> bool:
        """RECORD and its signatures, which RECORD does not list."""
        if self._record is None:
            return False
        directory = self._record.rsplit("/", 1)[0]
        return name in (f"{directory}/{file}" for file in _RECORD_FILES)

    def _data_offset(self, member: Member) -> int:
        header = self._map[member.header_offset : member.header_offset + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size:
            raise WheelError(f"{self.path}: {member.name}: local header is truncated")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise WheelError(f"{self.path}: {member.name}: bad local header signature")
        name_start = member.header_offset + _LOCAL_HEADER.size
        raw_name = self._map[name_start : name_start + fields[9]]
        encoding = "utf-8" if fields[2] & _UTF8_FLAG else "cp437"
        local_name = raw_name.decode(encoding, errors="replace")
        if local_name != member.name:
            raise WheelError(
                f"{self.path}: {shown_path(member.name)}: its local header names "
                f"{shown_path(local_name)}; installers may write either, so the archive is "
                "refused: rebuild the wheel"
            )
        return name_start + fields[9] + fields[10]

    def _check_encrypted(self, member: Member) -> None:
        if member.flag_bits & 1:
            raise WheelError(f"{self.path}: {member.name} is encrypted")

    def head(self, member: Member, size: int = 4) -> bytes:
        """The first bytes of a member, inflating no more than needed."""
        self._check_encrypted(member)
        start = self._data_offset(member)
        end = start + member.compress_size
        if member.compress_type == zipfile.ZIP_STORED:
            return bytes(self._map[start : min(end, start + size)])
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

    def read(self, member: Member) -> Union[bytes, memoryview]:
        """The whole member: a view into the map when stored, else inflated bytes.

        Inflating stops one byte past the declared size, so a member that
        inflates further (a zip bomb) costs no more memory than it declares.
        """
        start, end = self._data_range(member)
        if member.compress_type == zipfile.ZIP_STORED:
            return memoryview(self._map)[start:end]
        self._check_ratio(member)
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(memoryview(self._map)[start:end], member.file_size + 1)
        except zlib.error as e:
            raise WheelError(f"{self.path}: {member.name}: corrupt data ({e})") from e
        self._check_inflated(member, inflater, len(data))
        return data

    def _data_range(self, member: Member) -> tuple[int, int]:
        """Where a member's data lies in the archive, after the header checks."""
        self._check_encrypted(member)
        start = self._data_offset(member)
        end = start + member.compress_size
        if end > len(self._map):
            raise WheelError(f"{self.path}: {member.name}: data is truncated")
        return start, end

    def _check_ratio(self, member: Member) -> None:
        """Refuses a deflated member that declares more than a bomb could hide."""
        size = member.file_size
        if size > _RATIO_FREE_BYTES and size > _MAX_RATIO * member.compress_size:
            raise WheelError(
                f"{self.path}: {shown_path(member.name)} declares {size} bytes from "
                f"{member.compress_size} compressed bytes (more than {_MAX_RATIO}:1), as a zip "
                "bomb does; if it is a real file, store it uncompressed"
            )

    def _check_inflated(self, member: Member, inflater: Any, inflated: int) -> None:
        """Checks that a member inflated to exactly its declared size, to its end."""
        if inflated > member.file_size:
            raise WheelError(
                f"{self.path}: {member.name}: inflates past the {member.file_size} bytes the "
                "archive declares (a corrupt member or a zip bomb); rebuild the wheel"
            )
        if not inflater.eof:
            raise WheelError(
                f"{self.path}: {member.name}: corrupt data (the deflate stream ends early)"
            )
        if inflated != member.file_size:
            raise WheelError(
                f"{self.path}: {member.name}: inflates to {inflated} bytes, "
                f"the archive says {member.file_size}"
            )

    @contextlib.contextmanager
    def open_data(
        self, member: Member, *, spill_bytes: int = SPILL_BYTES
    ) -> Iterator[Union[bytes, memoryview]]:
        """The whole member, as ``read`` gives it, for the ``with`` block only.

        A deflated member larger than ``spill_bytes`` is inflated in bounded
        steps into an unnamed temporary file that is mapped read-only, so
        memory holds only the pages the caller touches; the map and the file
        are gone when the block ends. The checks and errors are ``read``'s.

        Args:
          member: the member to read.
          spill_bytes: the largest deflated member held in memory.

        Yields:
          The member's bytes: a read-only view when stored or spilled.

        Raises:
          WheelError: as ``read``; or the temporary file cannot be written.
        """
        if member.compress_type == zipfile.ZIP_STORED or member.file_size <= spill_bytes:
            data = self.read(member)
            try:
                yield data
            finally:
                if isinstance(data, memoryview):
                    data.release()
            return
        with contextlib.ExitStack() as stack:
            try:
                spill = stack.enter_context(tempfile.TemporaryFile(prefix="ml_wheels_audit_"))
                self._inflate_into(member, spill)
                mapped = mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ)
            except OSError as e:  # no temporary directory, or it is full
                raise WheelError(
                    f"{self.path}: {member.name}: cannot inflate its {member.file_size} bytes "
                    f"into a temporary file in {tempfile.gettempdir()} ({e.strerror or e}); "
                    "set TMPDIR to a writable directory with room"
                ) from e
            # A view still alive (in the frames of an exception being raised)
            # keeps the map open: it goes with the last view, not in our way.
            stack.callback(_close_quietly, mapped)
            view = memoryview(mapped)
            stack.callback(_close_quietly, view)
            yield view

    def _inflate_into(
        self,
        member: Member,
        out: IO[bytes],
        *,
        in_step: int = _SPILL_STEP,
        out_step: int = 4 * _SPILL_STEP,
    ) -> None:
        """Inflates a deflated member into ``out`` with ``read``'s checks.

        Args:
          member: a deflated member.
          out: where the inflated bytes go.
          in_step: compressed bytes fed to the inflater at a time.
          out_step: most inflated bytes taken from the inflater at a time.

        Raises:
          WheelError: the member is encrypted, truncated, corrupt, or does not
            inflate to its declared size (the same messages as ``read``).
        """
        start, end = self._data_range(member)
        self._check_ratio(member)
        size = member.file_size
        inflater = zlib.decompressobj(-15)
        written = 0
        view = memoryview(self._map)
        try:
            position = start
            pending: Union[bytes, memoryview] = b""
            # Whether the last call stopped at its output limit: zlib may then
            # hold output (and the end of the stream) in its state after
            # taking all the input, so one more call without input is needed.
            full = False
            while not inflater.eof and written <= size:
                if not pending:
                    if position < end:
                        step = min(in_step, end - position)
                        pending = view[position : position + step]
                        position += step
                    elif not full:
                        break
                # Bounded output per call: one byte past the declared size stops it.
                limit = min(out_step, size + 1 - written)
                piece = inflater.decompress(pending, limit)
                full = len(piece) == limit
                pending = inflater.unconsumed_tail
                out.write(piece)
                written += len(piece)
        except zlib.error as e:
            raise WheelError(f"{self.path}: {member.name}: corrupt data ({e})") from e
        finally:
            view.release()
        self._check_inflated(member, inflater, written)
        out.flush()

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
        with archive.open_data(member) as data:
            try:
                return read_elf_facts(data, member.name, blacklist=blacklist)
            except ElfReadError as e:
                # A message made here drops the traceback, whose frames hold
                # views of the data, before the block closes the data's map.
                message = f"{archive.path}: {member.name}: cannot read this ELF file: {e}"
        return message
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
    # Symlink modes and tiny sizes change nothing: pip writes every member as a file.
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
