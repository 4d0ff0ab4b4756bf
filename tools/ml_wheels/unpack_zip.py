"""A strict reader of zip central directories, for unpacking untrusted wheels.

It reads what the end of the archive says is there (zip64 included), checks
every structure against the file's size before trusting it, and checks each
local header against its central directory entry: same name, same method,
data inside the archive, no two members sharing bytes. Anything odd is a
``WheelError``; nothing here writes to disk.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass

from ml_wheels.errors import WheelError
from ml_wheels.zipformat import CENTRAL as _CENTRAL
from ml_wheels.zipformat import CENTRAL_SIG as _CENTRAL_SIG
from ml_wheels.zipformat import EOCD as _EOCD
from ml_wheels.zipformat import EOCD64 as _EOCD64
from ml_wheels.zipformat import EOCD64_SIG as _EOCD64_SIG
from ml_wheels.zipformat import EOCD_SIG as _EOCD_SIG
from ml_wheels.zipformat import LOCAL as _LOCAL
from ml_wheels.zipformat import LOCAL_SIG as _LOCAL_SIG
from ml_wheels.zipformat import LOCATOR64 as _LOCATOR64
from ml_wheels.zipformat import LOCATOR64_SIG as _LOCATOR64_SIG
from ml_wheels.zipformat import ZIP64_EXTRA as _ZIP64_EXTRA

STORED = 0
DEFLATED = 8
SUPPORTED_METHODS = {STORED: "stored", DEFLATED: "deflate"}
_METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstandard",
    95: "xz",
    98: "ppmd",
}

_EXTRA_HEADER = struct.Struct("<HH")
_MAX_COMMENT = 0xFFFF
_FLAG_ENCRYPTED = 0x0001
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_MASKED_HEADERS = 0x2000

_REPACK = "repack it with a standard zip writer (e.g. 'pack_wheel dir' or 'wheel pack')"
CORRUPT_FIX = "the file is damaged or not a zip archive; download or build it again"


@dataclass(frozen=True)
class ZipMember:
    """One central directory entry, checked.

    Attributes:
        raw_name: The name's bytes as stored.
        method: Compression method (see ``SUPPORTED_METHODS``).
        flags: General purpose bit flags.
        crc32: CRC-32 of the uncompressed content.
        compressed_size: Bytes of compressed data.
        file_size: Declared uncompressed size.
        header_offset: Offset of the local header.
        mode: Unix mode from the external attributes (0 when none is recorded).
    """

    raw_name: bytes
    method: int
    flags: int
    crc32: int
    compressed_size: int
    file_size: int
    header_offset: int
    mode: int


def show_name(raw: bytes) -> str:
    """An entry name for messages (undecodable bytes shown as U+FFFD)."""
    return repr(raw.decode("utf-8", "replace"))


def _corrupt(what: str) -> WheelError:
    return WheelError(f"{what}; {CORRUPT_FIX}")


def pread_exact(fd: int, size: int, offset: int, what: str) -> bytes:
    """Reads exactly ``size`` bytes at ``offset``.

    Raises:
        WheelError: If the file ends first (a truncated archive) or cannot be read.
    """
    chunks = []
    remaining = size
    while remaining > 0:
        try:
            chunk = os.pread(fd, remaining, offset)
        except OSError as exc:
            raise WheelError(f"cannot read {what}: {exc.strerror}; check the file") from None
        if not chunk:
            raise _corrupt(f"archive is truncated: {what} ends past the end of the file")
        chunks.append(chunk)
        remaining -= len(chunk)
        offset += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _find_eocd(fd: int, file_size: int) -> tuple[int, tuple[int, ...]]:
    """Finds the end of central directory record whose comment ends the file."""
    if file_size < _EOCD.size:
        raise _corrupt(f"archive is {file_size} bytes, too short to be a zip archive")
    tail_size = min(file_size, _EOCD.size + _MAX_COMMENT)
    tail_start = file_size - tail_size
    tail = pread_exact(fd, tail_size, tail_start, "the end of the archive")
    pos = tail.rfind(_EOCD_SIG)
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            record = _EOCD.unpack_from(tail, pos)
            if pos + _EOCD.size + record[7] == len(tail):
                return tail_start + pos, record
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    raise _corrupt("no end of central directory record (truncated, or not a zip archive)")


def _zip64_end(fd: int, eocd_offset: int) -> tuple[int, int, int, int] | None:
    """Returns (zip64 record offset, entries, cd size, cd offset), or None without zip64."""
    locator_offset = eocd_offset - _LOCATOR64.size
    if locator_offset < 0:
        return None
    locator = pread_exact(fd, _LOCATOR64.size, locator_offset, "the zip64 locator")
    sig, disk, record_offset, disks = _LOCATOR64.unpack(locator)
    if sig != _LOCATOR64_SIG:
        return None
    if disk != 0 or disks > 1:
        raise WheelError(f"archive spans several disks; {_REPACK} as a single file")
    if record_offset + _EOCD64.size > locator_offset:
        raise _corrupt("zip64 end record lies outside the archive")
    record = pread_exact(fd, _EOCD64.size, record_offset, "the zip64 end record")
    sig, _, _, _, disk, cd_disk, on_disk, entries, cd_size, cd_offset = _EOCD64.unpack(record)
    if sig != _EOCD64_SIG:
        raise _corrupt("zip64 end record is missing where its locator points")
    if disk != 0 or cd_disk != 0 or on_disk != entries:
        raise WheelError(f"archive spans several disks; {_REPACK} as a single file")
    return record_offset, entries, cd_size, cd_offset


def _parse_zip64_extra(
    extra: bytes, file_size: int, compressed_size: int, offset: int, name: bytes
) -> tuple[int, int, int]:
    """Applies a zip64 extra field to the sizes and offset that need it."""
    pos = 0
    while pos + _EXTRA_HEADER.size <= len(extra):
        tag, length = _EXTRA_HEADER.unpack_from(extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if len(body) != length:
            raise _corrupt(f"entry {show_name(name)} has a malformed extra field")
        if tag == _ZIP64_EXTRA:
            values = list(struct.unpack_from(f"<{length // 8}Q", body))
            try:
                if file_size == 0xFFFFFFFF:
                    file_size = values.pop(0)
                if compressed_size == 0xFFFFFFFF:
                    compressed_size = values.pop(0)
                if offset == 0xFFFFFFFF:
                    offset = values.pop(0)
            except IndexError:
                raise _corrupt(f"entry {show_name(name)} has a zip64 field too short") from None
            return file_size, compressed_size, offset
        pos += 4 + length
    if pos != len(extra):
        raise _corrupt(f"entry {show_name(name)} has a malformed extra field")
    if 0xFFFFFFFF in (file_size, compressed_size, offset):
        raise _corrupt(f"entry {show_name(name)} needs a zip64 extra field but has none")
    return file_size, compressed_size, offset


@dataclass(frozen=True)
class ZipDirectory:
    """What the central directory says.

    Attributes:
        members: The entries, in central directory order.
        data_limit: Where the central directory starts: member data lies before it.
    """

    members: list[ZipMember]
    data_limit: int


def read_central_directory(fd: int, file_size: int) -> ZipDirectory:
    """Reads and checks the central directory of the archive open as ``fd``.

    Args:
        fd: A readable file descriptor (only ``pread`` is used).
        file_size: The archive's size in bytes.

    Returns:
        The members and where their data must end.

    Raises:
        WheelError: If the archive is truncated, corrupt, multi-disk or encrypted.
    """
    eocd_offset, eocd = _find_eocd(fd, file_size)
    _, disk, cd_disk, on_disk, entries, cd_size, cd_offset, _ = eocd
    end_of_cd = eocd_offset
    zip64 = _zip64_end(fd, eocd_offset)
    if zip64 is not None:
        end_of_cd, entries, cd_size, cd_offset = zip64
    elif disk != 0 or cd_disk != 0 or on_disk != entries:
        raise WheelError(f"archive spans several disks; {_REPACK} as a single file")
    if cd_offset + cd_size != end_of_cd:
        raise _corrupt(
            "central directory does not end where the end record starts "
            "(truncated, or data was added to the archive)"
        )
    if entries * _CENTRAL.size > cd_size:
        raise _corrupt(f"central directory is too small for its {entries} entries")
    directory = pread_exact(fd, cd_size, cd_offset, "the central directory")

    members: list[ZipMember] = []
    pos = 0
    for index in range(entries):
        if pos + _CENTRAL.size > cd_size:
            raise _corrupt(f"central directory ends inside entry {index}")
        (
            sig,
            _,
            _,
            flags,
            method,
            _,
            _,
            crc,
            compressed_size,
            file_size_32,
            name_len,
            extra_len,
            comment_len,
            disk_start,
            _,
            external_attr,
            offset,
        ) = _CENTRAL.unpack_from(directory, pos)
        if sig != _CENTRAL_SIG:
            raise _corrupt(f"central directory entry {index} has a bad signature")
        start = pos + _CENTRAL.size
        end = start + name_len + extra_len + comment_len
        if end > cd_size:
            raise _corrupt(f"central directory ends inside entry {index}")
        raw_name = directory[start : start + name_len]
        extra = directory[start + name_len : start + name_len + extra_len]
        pos = end
        size, compressed_size, offset = _parse_zip64_extra(
            extra, file_size_32, compressed_size, offset, raw_name
        )
        if disk_start not in (0, 0xFFFF):
            raise WheelError(f"archive spans several disks; {_REPACK} as a single file")
        if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADERS):
            raise WheelError(
                f"entry {show_name(raw_name)} is encrypted; {_REPACK} without encryption"
            )
        if method not in SUPPORTED_METHODS:
            label = _METHOD_NAMES.get(method, "unknown")
            raise WheelError(
                f"entry {show_name(raw_name)} uses compression method {method} ({label}); "
                f"only stored and deflate are supported; {_REPACK}"
            )
        if method == STORED and compressed_size != size:
            raise _corrupt(
                f"stored entry {show_name(raw_name)} has different compressed and real sizes"
            )
        members.append(
            ZipMember(
                raw_name=raw_name,
                method=method,
                flags=flags,
                crc32=crc,
                compressed_size=compressed_size,
                file_size=size,
                header_offset=offset,
                mode=external_attr >> 16,
            )
        )
    if pos != cd_size:
        raise _corrupt("central directory has data after its last entry")
    return ZipDirectory(members, cd_offset)


def data_offsets(fd: int, members: list[ZipMember], cd_offset_limit: int) -> list[int]:
    """Checks every local header; returns each member's data offset.

    Each local header must carry the central directory's name and method,
    and each member's header and data must lie before the central directory
    without sharing bytes with another member (overlapping members are how
    some zip bombs multiply their output).

    Args:
        fd: The archive.
        members: From ``read_central_directory``.
        cd_offset_limit: Where the central directory starts.

    Returns:
        Data offsets, in the order of ``members``.

    Raises:
        WheelError: On any mismatch.
    """
    offsets = [0] * len(members)
    spans: list[tuple[int, int, bytes]] = []
    for index, member in enumerate(members):
        header_size = _LOCAL.size + len(member.raw_name)
        if member.header_offset + header_size > cd_offset_limit:
            raise _corrupt(f"entry {show_name(member.raw_name)} starts outside the archive's data")
        header = pread_exact(fd, header_size, member.header_offset, "a local header")
        sig, _, flags, method, _, _, _, _, _, name_len, extra_len = _LOCAL.unpack_from(header)
        if sig != _LOCAL_SIG:
            raise _corrupt(
                f"entry {show_name(member.raw_name)} has no local header where the directory says"
            )
        if header[_LOCAL.size :] != member.raw_name or name_len != len(member.raw_name):
            raise _corrupt(
                f"entry {show_name(member.raw_name)} has a different name in its local header "
                "(an archive that means different things to different tools)"
            )
        if method != member.method or (flags ^ member.flags) & _FLAG_ENCRYPTED:
            raise _corrupt(
                f"entry {show_name(member.raw_name)} has a local header that contradicts the "
                "central directory"
            )
        data_start = member.header_offset + header_size + extra_len
        data_end = data_start + member.compressed_size
        if data_end > cd_offset_limit:
            raise _corrupt(
                f"entry {show_name(member.raw_name)} has data past the end of the archive's data"
            )
        offsets[index] = data_start
        spans.append((member.header_offset, data_end, member.raw_name))
    spans.sort()
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            raise WheelError(
                f"entries {show_name(name)} and {show_name(other)} share bytes (an "
                f"overlapping-entry zip bomb); {CORRUPT_FIX}"
            )
    return offsets


def entry_kind(mode: int) -> str:
    """Names the file type recorded in a Unix mode: 'file', 'dir', 'symlink' or 'special'.

    A mode without type bits (archives made on other systems) counts as 'file'.
    """
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG):
        return "file"
    if kind == stat.S_IFDIR:
        return "dir"
    if kind == stat.S_IFLNK:
        return "symlink"
    return "special"
