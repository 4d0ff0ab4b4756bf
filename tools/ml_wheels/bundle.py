"""Compression shards: members compressed by separate (cached) Bazel actions.

A large wheel is built in two steps so that Bazel caches the expensive part:
``pack_wheel compress`` encodes a group of inputs into a *bundle* (their
canonical deflate payloads back to back, plus an index), and ``pack_wheel
assemble`` only copies those bytes into the wheel behind fresh headers and
writes the metadata. When one input changes, only its bundle is recompressed.
The payload encoding does not depend on how inputs are grouped, so an
assembled wheel is byte-identical to one written in a single pass.

Bundle layout: payloads, then the index as UTF-8 JSON, then the index length
(8 bytes, little endian), then the magic ``MLWBNDL1``.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence

from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap
from ml_wheels.pipeline import write_members
from ml_wheels.record import RecordEntry
from ml_wheels.sources import FileSource
from ml_wheels.zipwriter import CompressedMember, atomic_output

MAGIC = b"MLWBNDL1"
_FOOTER = struct.Struct("<Q")


class _BundleSink:
    """Receives encoded members from ``write_members`` into a bundle file."""

    def __init__(self, fp: object) -> None:
        self.fp = fp
        self.offset = 0
        self.index: list[dict[str, object]] = []
        self._current: dict[str, object] = {}

    def start_member(self, arcname: str, method: int, file_size: int) -> None:
        self._current = {
            "arcname": arcname,
            "method": method,
            "file_size": file_size,
            "offset": self.offset,
        }

    def write_data(self, data: bytes) -> None:
        self.fp.write(data)  # type: ignore[attr-defined]
        self.offset += len(data)

    def finish_member(self, crc32: int, sha256: bytes, executable: bool) -> RecordEntry:
        entry = self._current
        entry.update(
            crc32=crc32,
            sha256=sha256.hex(),
            executable=executable,
            compressed_size=self.offset - int(entry["offset"]),  # type: ignore[arg-type]
        )
        self.index.append(entry)
        return RecordEntry(str(entry["arcname"]), sha256, int(entry["file_size"]))  # type: ignore[arg-type]

    def write_compressed(self, arcname: str, member: CompressedMember) -> RecordEntry:
        # The pipeline hands small files over already encoded, in memory.
        self.start_member(arcname, member.method, member.file_size)
        self.write_data(member.data or b"")
        return self.finish_member(member.crc32, member.sha256, member.executable)


def write_bundle(
    output: str,
    files: Sequence[Sequence[str]],
    trees: Sequence[Sequence[str]],
    level: int,
    jobs: int | None = None,
) -> None:
    """Compresses inputs into a bundle (``pack_wheel compress``).

    Args:
        output: The bundle to write (atomically).
        files: ``(wheel path, input file)`` pairs.
        trees: ``(wheel path prefix, input directory)`` pairs.
        level: Compression level 0-9; must equal the wheel's.
        jobs: Worker processes for large inputs (``None``: one per CPU).
    """
    inputs = InputMap(dist_info="", data_dir=None)
    for dest, src in files:
        inputs.add_file(dest, src)
    for prefix, src_dir in trees:
        inputs.add_tree(prefix, src_dir)
    members = [(a, FileSource(inputs.files[a])) for a in sorted(inputs.files, key=str.encode)]
    with atomic_output(output) as fp:
        sink = _BundleSink(fp)
        write_members(sink, members, level, jobs)
        index = json.dumps({"level": level, "members": sink.index}, sort_keys=True).encode()
        fp.write(index)
        fp.write(_FOOTER.pack(len(index)))
        fp.write(MAGIC)


def read_bundle(path: str, level: int) -> dict[str, CompressedMember]:
    """Reads a bundle's index.

    Args:
        path: The bundle file.
        level: The wheel's compression level; the bundle must have been made with it.

    Returns:
        Wheel path -> member (its payload is read from ``path`` when written).

    Raises:
        WheelError: If the file is not a bundle, is truncated, or has another level.
    """
    try:
        with open(path, "rb") as fp:
            size = fp.seek(0, os.SEEK_END)
            tail = len(MAGIC) + _FOOTER.size
            if size < tail:
                raise WheelError(f"{path} is not a compression bundle (too short); rebuild it")
            fp.seek(size - tail)
            (index_size,) = _FOOTER.unpack(fp.read(_FOOTER.size))
            if fp.read(len(MAGIC)) != MAGIC or index_size > size - tail:
                raise WheelError(f"{path} is not a compression bundle; rebuild it")
            fp.seek(size - tail - index_size)
            index = json.loads(fp.read(index_size))
    except OSError as exc:
        raise WheelError(f"cannot read compression bundle {path}: {exc.strerror}") from None
    if index.get("level") != level:
        raise WheelError(
            f"compression bundle {path} was made at level {index.get('level')}, the wheel "
            f"uses {level}; rebuild it"
        )
    members: dict[str, CompressedMember] = {}
    for entry in index["members"]:
        members[entry["arcname"]] = CompressedMember(
            method=entry["method"],
            crc32=entry["crc32"],
            compressed_size=entry["compressed_size"],
            file_size=entry["file_size"],
            sha256=bytes.fromhex(entry["sha256"]),
            executable=entry["executable"],
            path=path,
            offset=entry["offset"],
        )
    return members
