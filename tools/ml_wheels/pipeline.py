"""Encodes members, in parallel threads, and hands them to a sink in order.

Each deflated member is compressed whole (``ml_wheels.deflate``). A task
reads its member(s), computes CRC-32 and sha256 and compresses; libdeflate,
zlib's CRC-32 and hashlib release the GIL on large buffers, so threads share
the work without copying bytes between processes. Small files are grouped
into batches so a task is worth scheduling. The largest members start first
(the biggest library is the critical path), everything else follows in
archive order, and results are written strictly in archive order. Memory is
bounded: tasks whose raw size, started but not yet written, would exceed the
largest member plus ``WINDOW_BYTES`` wait. Stored members (level 0) are
streamed in fixed pieces instead.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import tempfile
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Protocol

from ml_wheels.deflate import STORED, compress_member, method_for_level
from ml_wheels.errors import WheelError
from ml_wheels.record import RecordEntry
from ml_wheels.sources import FileSource, Source
from ml_wheels.zipwriter import CompressedMember, is_executable_content

# Files up to this size are grouped until a batch holds this many bytes or
# files, so a task is worth its scheduling.
_SMALL_BYTES = 1 << 20
_BATCH_BYTES = 1 << 20
_BATCH_FILES = 512
# Members at least this large start before everything else, largest first.
_EARLY_BYTES = 16 << 20
# Raw bytes allowed in flight beyond the largest member.
WINDOW_BYTES = 256 << 20
# Stored members are copied in pieces of this size.
_PIECE_BYTES = 1 << 20
# Below this much data threads cost more than they save.
PARALLEL_MIN_BYTES = 4 << 20


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


@dataclass(frozen=True)
class _Task:
    """Members encoded together, and their total raw size."""

    members: tuple[tuple[str, Source], ...]
    cost: int


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
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _checksums(raw: bytes | mmap.mmap, out: list[tuple[int, bytes]]) -> None:
    out.append((zlib.crc32(raw), hashlib.sha256(raw).digest()))


def _encode(task: _Task, level: int) -> list[CompressedMember]:
    """Reads, checksums and compresses a task's members (in a worker thread)."""
    method = method_for_level(level)
    encoded = []
    for _, source in task.members:
        stream, size = _open(source)
        with stream:
            if size >= _EARLY_BYTES and isinstance(stream, io.BufferedReader):
                # A large plain file is mapped, not copied: the compressor,
                # CRC-32 and sha256 read the page cache directly.
                raw = _mapped(stream, size, source)
            else:
                raw = _read_exact(stream, size, source)
        sums: list[tuple[int, bytes]] = []
        if size >= _EARLY_BYTES:
            # The largest member is the critical path: its checksums run
            # beside its compression (both release the GIL).
            hasher = threading.Thread(target=_checksums, args=(raw, sums), name="checksums")
            hasher.start()
            payload = compress_member(raw, level)
            hasher.join()
        else:
            payload = compress_member(raw, level)
            _checksums(raw, sums)
        ((crc32, sha256),) = sums
        encoded.append(
            CompressedMember(
                method=method,
                crc32=crc32,
                compressed_size=len(payload),
                file_size=size,
                sha256=sha256,
                executable=is_executable_content(raw[:4]),
                data=payload,
            )
        )
        if isinstance(raw, mmap.mmap):
            raw.close()
        del raw
    return encoded


def _mapped(stream: io.BufferedReader, size: int, source: Source) -> mmap.mmap:
    """Maps an open file of ``size`` bytes read-only."""
    # Copy-on-write: writable for ctypes, never written, so nothing is copied.
    mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_COPY)
    if len(mapped) != size:
        mapped.close()
        raise _changed(source)
    return mapped


def _plan(members: Sequence[tuple[str, Source]]) -> list[_Task]:
    """Groups members into tasks, in archive order."""
    tasks: list[_Task] = []
    batch: list[tuple[str, Source]] = []
    batch_bytes = 0
    for arcname, source in members:
        size = _size_hint(source)
        if size > _SMALL_BYTES:
            if batch:  # the members before it stay before it
                tasks.append(_Task(tuple(batch), batch_bytes))
                batch, batch_bytes = [], 0
            tasks.append(_Task(((arcname, source),), size))
            continue
        batch.append((arcname, source))
        batch_bytes += size
        if batch_bytes >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            tasks.append(_Task(tuple(batch), batch_bytes))
            batch, batch_bytes = [], 0
    if batch:
        tasks.append(_Task(tuple(batch), batch_bytes))
    return tasks


def _start_order(tasks: Sequence[_Task]) -> list[int]:
    """Task indexes in the order to start them: large ones first, largest first."""
    return sorted(
        range(len(tasks)),
        key=lambda i: (-tasks[i].cost, i) if tasks[i].cost >= _EARLY_BYTES else (0, i),
    )


def _write_task(
    sink: Sink, task: _Task, encoded: Sequence[CompressedMember], records: list[RecordEntry]
) -> None:
    for (arcname, _), member in zip(task.members, encoded):
        records.append(sink.write_compressed(arcname, member))


def _write_stored(sink: Sink, arcname: str, source: Source) -> RecordEntry:
    """Streams one member uncompressed, in bounded pieces."""
    stream, size = _open(source)
    with stream:
        sink.start_member(arcname, STORED, size)
        crc = 0
        sha = hashlib.sha256()
        executable = False
        offset = 0
        while offset < size:
            piece = _read_exact(stream, min(_PIECE_BYTES, size - offset), source, final=False)
            if offset == 0:
                executable = is_executable_content(piece[:4])
            offset += len(piece)
            crc = zlib.crc32(piece, crc)
            sha.update(piece)
            sink.write_data(piece)
        _expect_eof(stream, source)
    return sink.finish_member(crc, sha.digest(), executable)


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
    window_bytes: int = WINDOW_BYTES,
) -> list[RecordEntry]:
    """Encodes and writes ``members`` to ``sink`` in the order given.

    The output bytes are the same for every ``jobs`` and ``window_bytes``.

    Args:
        sink: Where members go, e.g. a ``ZipWriter``.
        members: ``(arcname, source)`` pairs in archive order.
        level: Compression level 0-9 (0 stores).
        jobs: Worker threads; ``None`` means one per CPU, 1 runs in this thread.
        min_parallel_bytes: Less input than this is compressed in this thread.
        window_bytes: Raw bytes that may be read or held beyond the largest
            member while earlier members are still being compressed.

    Returns:
        The RECORD entries of the written members.
    """
    method = method_for_level(level)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise WheelError(f"--jobs must be at least 1, got {jobs}")
    records: list[RecordEntry] = []
    if method == STORED:
        for arcname, source in members:
            records.append(_write_stored(sink, arcname, source))
        return records
    tasks = _plan(members)
    total = sum(task.cost for task in tasks)
    if jobs == 1 or len(tasks) < 2 or total < min_parallel_bytes:
        for task in tasks:
            _write_task(sink, task, _encode(task, level), records)
        return records
    budget = max(task.cost for task in tasks) + window_bytes
    order = _start_order(tasks)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="deflate") as executor:
        running: dict[int, Future[list[CompressedMember]]] = {}
        started: set[int] = set()
        in_flight = 0
        cursor = 0

        def start(index: int) -> None:
            nonlocal in_flight
            running[index] = executor.submit(_encode, tasks[index], level)
            started.add(index)
            in_flight += tasks[index].cost

        try:
            for index, task in enumerate(tasks):
                while cursor < len(order):
                    candidate = order[cursor]
                    if candidate in started:
                        cursor += 1
                        continue
                    if running and in_flight + tasks[candidate].cost > budget:
                        break
                    start(candidate)
                    cursor += 1
                if index not in started:
                    start(index)
                encoded = running.pop(index).result()
                in_flight -= task.cost
                _write_task(sink, task, encoded, records)
        except BaseException:
            for future in running.values():
                future.cancel()
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
        jobs: Worker threads (one member is always one task).
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
