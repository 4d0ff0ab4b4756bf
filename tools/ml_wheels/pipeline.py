"""Streams members through (optionally parallel) compression into a sink.

The parent process reads every source once, in output order, computing CRC-32
and sha256 as it goes, and hands chunks (large files) or batches of whole
small files to a process pool. Results are consumed strictly in order, and at
most a bounded number of tasks is in flight, so memory stays
O(workers x chunk) whatever the wheel size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO, Protocol, Union

from ml_wheels.deflate import (
    CHUNK_SIZE,
    STORED,
    WINDOW_SIZE,
    compress_chunk,
    compress_whole,
    method_for_level,
)
from ml_wheels.errors import WheelError
from ml_wheels.record import RecordEntry
from ml_wheels.sources import FileSource, Source
from ml_wheels.zipwriter import CompressedMember, is_executable_content

# Small files are grouped until a batch holds this many bytes or files, so a
# task is worth the inter-process round trip.
_BATCH_BYTES = 1 << 20
_BATCH_FILES = 512
# Below this much data a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20
# Caps memory: each in-flight task holds about one chunk in and one out.
_MAX_IN_FLIGHT = 48


class Sink(Protocol):
    """Receives members in order (``ZipWriter`` is one)."""

    def start_member(self, arcname: str, method: int, file_size: int) -> None:
        """Starts a member."""
        ...

    def write_data(self, data: bytes) -> None:
        """Appends encoded bytes to the current member."""
        ...

    def finish_member(self, crc32: int, sha256: bytes, executable: bool) -> RecordEntry:
        """Ends the current member."""
        ...

    def write_compressed(self, arcname: str, member: CompressedMember) -> RecordEntry:
        """Writes a whole member whose encoded bytes are known."""
        ...


Result = Union["Future[bytes]", "Future[list[bytes]]", bytes, "list[bytes]"]


@dataclass
class _Start:
    arcname: str
    size: int


@dataclass
class _Data:
    result: Result


@dataclass
class _End:
    crc32: int
    sha256: bytes
    executable: bool


@dataclass
class _Small:
    arcname: str
    size: int
    crc32: int
    sha256: bytes
    executable: bool
    raw: bytes


@dataclass
class _Batch:
    members: list[_Small]
    result: Result


_Item = Union[_Start, _Data, _End, _Batch]


def _resolve(result: Result) -> bytes | list[bytes]:
    if isinstance(result, Future):
        return result.result()
    return result


class _Producer:
    """Reads sources in order and turns them into work items."""

    def __init__(self, level: int, executor: Executor | None) -> None:
        self.level = level
        self.method = method_for_level(level)
        self.executor = executor

    def _chunk(self, data: bytes, zdict: bytes, final: bool) -> Result:
        if self.executor is None:
            return compress_chunk(data, zdict, self.level, final)
        return self.executor.submit(compress_chunk, data, zdict, self.level, final)

    def _batch(self, members: list[_Small]) -> _Batch:
        raws = [m.raw for m in members]
        if self.method == STORED:
            result: Result = raws
        elif self.executor is None:
            result = compress_whole(raws, self.level)
        else:
            result = self.executor.submit(compress_whole, raws, self.level)
        for m in members:
            m.raw = b""  # The task holds the data now; drop our reference.
        return _Batch(members, result)

    def items(self, members: Sequence[tuple[str, Source]]) -> Iterator[_Item]:
        batch: list[_Small] = []
        batch_bytes = 0
        for arcname, source in members:
            stream, size = _open(source)
            with stream:
                if size <= CHUNK_SIZE:
                    raw = _read_exact(stream, size, source)
                    batch.append(
                        _Small(
                            arcname,
                            size,
                            zlib.crc32(raw),
                            hashlib.sha256(raw).digest(),
                            is_executable_content(raw[:4]),
                            raw,
                        )
                    )
                    batch_bytes += size
                    if batch_bytes >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
                        yield self._batch(batch)
                        batch, batch_bytes = [], 0
                    continue
                if batch:
                    yield self._batch(batch)
                    batch, batch_bytes = [], 0
                yield from self._large(arcname, source, stream, size)
        if batch:
            yield self._batch(batch)

    def _large(self, arcname: str, source: Source, stream: IO[bytes], size: int) -> Iterator[_Item]:
        yield _Start(arcname, size)
        crc = 0
        sha = hashlib.sha256()
        executable = False
        tail = b""
        offset = 0
        while offset < size:
            data = _read_exact(stream, min(CHUNK_SIZE, size - offset), source, final=False)
            if offset == 0:
                executable = is_executable_content(data[:4])
            offset += len(data)
            final = offset >= size
            if final:
                _expect_eof(stream, source)
            crc = zlib.crc32(data, crc)
            sha.update(data)
            if self.method == STORED:
                yield _Data(data)
            else:
                yield _Data(self._chunk(data, tail, final))
                tail = data[-WINDOW_SIZE:]
        yield _End(crc, sha.digest(), executable)


def _open(source: Source) -> tuple[IO[bytes], int]:
    try:
        return source.open()
    except OSError as exc:
        raise WheelError(
            f"cannot read input {source.describe()}: {exc.strerror or exc}; "
            "check that it exists and is a readable file"
        ) from None


def _size_hint(source: Source) -> int:
    try:
        return source.size_hint()
    except OSError as exc:
        raise WheelError(
            f"cannot read input {source.describe()}: {exc.strerror or exc}; "
            "check that it exists and is a readable file"
        ) from None


def _changed(source: Source) -> WheelError:
    return WheelError(
        f"input {source.describe()} changed size while it was read; "
        "make sure nothing writes to it during the build"
    )


def _expect_eof(stream: IO[bytes], source: Source) -> None:
    if stream.read(1):
        raise _changed(source)


def _read_exact(stream: IO[bytes], size: int, source: Source, final: bool = True) -> bytes:
    parts = []
    remaining = size
    while remaining > 0:
        block = stream.read(remaining)
        if not block:
            raise _changed(source)
        parts.append(block)
        remaining -= len(block)
    if final:
        _expect_eof(stream, source)
    return b"".join(parts)


def _consume(item: _Item, sink: Sink, method: int, records: list[RecordEntry]) -> None:
    if isinstance(item, _Start):
        sink.start_member(item.arcname, method, item.size)
    elif isinstance(item, _Data):
        data = _resolve(item.result)
        assert isinstance(data, bytes)
        sink.write_data(data)
    elif isinstance(item, _End):
        records.append(sink.finish_member(item.crc32, item.sha256, item.executable))
    else:
        payloads = _resolve(item.result)
        assert isinstance(payloads, list)
        for member, payload in zip(item.members, payloads):
            whole = CompressedMember(
                method=method,
                crc32=member.crc32,
                compressed_size=len(payload),
                file_size=member.size,
                sha256=member.sha256,
                executable=member.executable,
                data=payload,
            )
            records.append(sink.write_compressed(member.arcname, whole))


def default_jobs() -> int:
    """Returns the default worker count: every CPU."""
    return os.cpu_count() or 1


def write_members(
    sink: Sink,
    members: Sequence[tuple[str, Source]],
    level: int,
    jobs: int | None = None,
    *,
    min_parallel_bytes: int = PARALLEL_MIN_BYTES,
) -> list[RecordEntry]:
    """Encodes and writes ``members`` to ``sink`` in the order given.

    The output bytes are the same for every ``jobs`` value.

    Args:
        sink: Where members go, e.g. a ``ZipWriter``.
        members: ``(arcname, source)`` pairs in archive order.
        level: Compression level 0-9 (0 stores).
        jobs: Worker processes; ``None`` means one per CPU, 1 runs in-process.
        min_parallel_bytes: Less input than this is compressed in-process.

    Returns:
        The RECORD entries of the written members.
    """
    method = method_for_level(level)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise WheelError(f"--jobs must be at least 1, got {jobs}")
    total = sum(_size_hint(source) for _, source in members) if jobs > 1 else 0
    parallel = jobs > 1 and method != STORED and total >= min_parallel_bytes
    records: list[RecordEntry] = []
    if not parallel:
        for item in _Producer(level, None).items(members):
            _consume(item, sink, method, records)
        return records
    in_flight = min(2 * jobs, _MAX_IN_FLIGHT)
    with ProcessPoolExecutor(max_workers=jobs) as executor:
        pending: deque[_Item] = deque()
        try:
            for item in _Producer(level, executor).items(members):
                pending.append(item)
                while len(pending) > in_flight:
                    _consume(pending.popleft(), sink, method, records)
            while pending:
                _consume(pending.popleft(), sink, method, records)
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
    return records


class _PayloadSink:
    """Collects one member's encoded payload into a file."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.method = STORED
        self.file_size = 0
        self.compressed_size = 0
        self.crc32 = 0
        self.executable = False

    def start_member(self, arcname: str, method: int, file_size: int) -> None:
        self.method = method
        self.file_size = file_size

    def write_data(self, data: bytes) -> None:
        self.fp.write(data)
        self.compressed_size += len(data)

    def finish_member(self, crc32: int, sha256: bytes, executable: bool) -> RecordEntry:
        self.crc32 = crc32
        self.executable = executable
        return RecordEntry("", sha256, self.file_size)

    def write_compressed(self, arcname: str, member: CompressedMember) -> RecordEntry:
        self.start_member(arcname, member.method, member.file_size)
        self.write_data(member.data or b"")
        return self.finish_member(member.crc32, member.sha256, member.executable)


def compress_file(
    src: str | Source,
    level: int,
    *,
    jobs: int | None = 1,
    dest_dir: str | None = None,
) -> CompressedMember:
    """Encodes one file into a temporary payload file for later assembly.

    The payload is exactly what ``write_members`` would write for the same
    content, so a wheel assembled with ``ZipWriter.write_compressed`` from
    such members is byte-identical to one compressed in a single pass.

    Args:
        src: A file path or a ``Source``.
        level: Compression level 0-9.
        jobs: Worker processes for large files (1 runs in-process).
        dest_dir: Directory for the payload file (default: the temp dir).

    Returns:
        The member, with ``path`` naming the payload file (the caller deletes it).
    """
    source = FileSource(src) if isinstance(src, str) else src
    fd, path = tempfile.mkstemp(suffix=".deflate", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as fp:
            sink = _PayloadSink(fp)
            (record,) = write_members(sink, [("payload", source)], level, jobs)
    except BaseException:
        os.unlink(path)
        raise
    return CompressedMember(
        method=sink.method,
        crc32=sink.crc32,
        compressed_size=sink.compressed_size,
        file_size=record.size,
        sha256=record.sha256,
        executable=sink.executable,
        path=path,
    )
