"""Compression shards: members compressed by separate (cached) Bazel actions.

A large wheel is built in two steps so that Bazel caches the expensive part:
``pack_wheel compress`` encodes a group of inputs into a *bundle* (their
canonical deflate payloads back to back, plus an index), and ``pack_wheel
assemble`` only copies those bytes into the wheel behind fresh headers and
writes the metadata. When one input changes, only its bundle is recompressed.
The payload encoding does not depend on how inputs are grouped, so an
assembled wheel is byte-identical to one written in a single pass.

Bundle layout: payloads, then the index as UTF-8 JSON, then the index length
(8 bytes, little endian), the CRC-32 of payloads and index (4 bytes, little
endian), then the magic ``MLWBNDL3``. The reader checks the CRC, so a
truncated or damaged bundle is refused instead of being copied into a wheel.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Sequence
from typing import IO

from ml_wheels.deflate import DEFLATED, STORED
from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap
from ml_wheels.pipeline import write_members
from ml_wheels.record import RecordEntry
from ml_wheels.sources import FileSource
from ml_wheels.zipwriter import CompressedMember, atomic_output

# 3: payloads are whole-member libdeflate streams (2 was chunked zlib).
MAGIC = b"MLWBNDL3"
_OLD_MAGICS = (b"MLWBNDL1", b"MLWBNDL2")
_FOOTER = struct.Struct("<QI")
_BLOCK = 1 << 20
_HEX = frozenset("0123456789abcdef")


class _BundleSink:
    """Receives encoded members from ``write_members`` into a bundle file."""

    def __init__(self, fp: object) -> None:
        self.fp = fp
        self.offset = 0
        self.crc32 = 0
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
        self.crc32 = zlib.crc32(data, self.crc32)

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
    *,
    keep_bazel_runpath: bool = False,
) -> None:
    """Compresses inputs into a bundle (``pack_wheel compress``).

    Args:
        output: The bundle to write (atomically).
        files: ``(wheel path, input file)`` pairs.
        trees: ``(wheel path prefix, input directory)`` pairs.
        level: Compression level 0-9; must equal the wheel's.
        jobs: Worker processes for large inputs (``None``: one per CPU).
        keep_bazel_runpath: Ship ELF files' ``_solib_*`` RUNPATH entries as they are.
    """
    inputs = InputMap(dist_info="", data_dir=None)
    for dest, src in files:
        inputs.add_file(dest, src)
    for prefix, src_dir in trees:
        inputs.add_tree(prefix, src_dir)
    strip = not keep_bazel_runpath
    members = [
        (a, FileSource(inputs.files[a], strip_bazel_runpath=strip))
        for a in sorted(inputs.files, key=str.encode)
    ]
    with atomic_output(output) as fp:
        sink = _BundleSink(fp)
        write_members(sink, members, level, jobs)
        index = json.dumps({"level": level, "members": sink.index}, sort_keys=True).encode()
        fp.write(index)
        fp.write(_FOOTER.pack(len(index), zlib.crc32(index, sink.crc32)))
        fp.write(MAGIC)


def _read_index(path: str) -> tuple[object, int]:
    """Reads a bundle's JSON index; returns it and where the index starts."""
    try:
        with open(path, "rb") as fp:
            size = fp.seek(0, os.SEEK_END)
            tail = len(MAGIC) + _FOOTER.size
            if size < tail:
                raise WheelError(f"{path} is not a compression bundle (too short); rebuild it")
            fp.seek(size - tail)
            index_size, crc32 = _FOOTER.unpack(fp.read(_FOOTER.size))
            magic = fp.read(len(MAGIC))
            if magic != MAGIC or index_size > size - tail:
                older = " (an older format)" if magic in _OLD_MAGICS else ""
                raise WheelError(f"{path} is not a compression bundle{older}; rebuild it")
            if _crc32_of(fp, size - tail) != crc32:
                raise _corrupt(path, "its checksum does not match (truncated or damaged)")
            index_start = size - tail - index_size
            fp.seek(index_start)
            raw = fp.read(index_size)
    except OSError as exc:
        raise WheelError(f"cannot read compression bundle {path}: {exc.strerror}") from None
    try:
        return json.loads(raw.decode("utf-8")), index_start
    except (ValueError, RecursionError):
        raise _corrupt(path, "its index is not valid JSON") from None


def _crc32_of(fp: IO[bytes], size: int) -> int:
    """Returns the CRC-32 of the first ``size`` bytes of ``fp``."""
    fp.seek(0)
    crc = 0
    done = 0
    while done < size:
        block = fp.read(min(_BLOCK, size - done))
        if not block:
            break
        crc = zlib.crc32(block, crc)
        done += len(block)
    return crc


def _corrupt(path: str, problem: str) -> WheelError:
    return WheelError(f"compression bundle {path} is corrupt: {problem}; rebuild it")


def _field(path: str, entry: dict, key: str, kind: type) -> object:
    value = entry.get(key)
    if type(value) is not kind:
        raise _corrupt(path, f"member field {key!r} is {value!r:.80}, not a {kind.__name__}")
    return value


def _member(path: str, entry: object, payload_end: int) -> tuple[str, CompressedMember]:
    """Checks one index entry against the bundle's layout and returns its member."""
    if not isinstance(entry, dict):
        raise _corrupt(path, "an index entry is not an object")
    arcname = str(_field(path, entry, "arcname", str))
    method, crc32, size, csize, offset = (
        int(_field(path, entry, key, int))  # type: ignore[call-overload]
        for key in ("method", "crc32", "file_size", "compressed_size", "offset")
    )
    sha256 = str(_field(path, entry, "sha256", str))
    executable = bool(_field(path, entry, "executable", bool))
    problem = ""
    if method not in (STORED, DEFLATED):
        problem = f"member {arcname!r} has compression method {method}"
    elif not 0 <= crc32 <= 0xFFFFFFFF or size < 0 or csize < 0:
        problem = f"member {arcname!r} has a negative size or an out-of-range CRC"
    elif not 0 <= offset <= payload_end - csize:
        problem = f"member {arcname!r} lies outside the bundle's payload area"
    elif method == STORED and csize != size:
        problem = f"stored member {arcname!r} has different sizes"
    elif len(sha256) != 64 or not set(sha256) <= _HEX:
        problem = f"member {arcname!r} has a malformed sha256"
    if problem:
        raise _corrupt(path, problem)
    member = CompressedMember(
        method=method,
        crc32=crc32,
        compressed_size=csize,
        file_size=size,
        sha256=bytes.fromhex(sha256),
        executable=executable,
        path=path,
        offset=offset,
    )
    return arcname, member


def read_bundle(path: str, level: int) -> dict[str, CompressedMember]:
    """Reads a bundle's index and checks it against the bundle's layout.

    Every field is type- and range-checked, and every payload must lie in the
    bundle's payload area, so a truncated or damaged bundle is refused here
    rather than copied into a wheel.

    Args:
        path: The bundle file.
        level: The wheel's compression level; the bundle must have been made with it.

    Returns:
        Wheel path -> member (its payload is read from ``path`` when written).

    Raises:
        WheelError: If the file is not a bundle, is truncated or corrupt, or
            has another level.
    """
    index, payload_end = _read_index(path)
    if not isinstance(index, dict) or not isinstance(index.get("members"), list):
        raise _corrupt(path, "its index has no member list")
    if index.get("level") != level:
        raise WheelError(
            f"compression bundle {path} was made at level {index.get('level')!r:.20}, the wheel "
            f"uses {level}; rebuild it"
        )
    members: dict[str, CompressedMember] = {}
    for entry in index["members"]:
        arcname, member = _member(path, entry, payload_end)
        if arcname in members:
            raise _corrupt(path, f"member {arcname!r} is listed twice")
        members[arcname] = member
    return members
