"""A byte-reproducible zip writer for wheels.

Every byte is fixed by the members' paths and contents: 1980-01-01 timestamps,
Unix "made by", modes decided from the path and content (never from the source
file), no data descriptors, no extra fields except zip64 ones where a size,
offset or count needs them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from ml_wheels.deflate import DEFLATED, STORED, compressed_size_bound
from ml_wheels.errors import WheelError
from ml_wheels.record import RecordEntry
from ml_wheels.wheelpath import path_problem, shown_path
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

ZIP64_LIMIT = 0xFFFFFFFF
COUNT_LIMIT = 0xFFFF
MAX_NAME_BYTES = 0xFFFF

_DOS_TIME = 0  # 00:00:00
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_UNIX = 3
_VERSION_DEFAULT = 20
_VERSION_ZIP64 = 45
_FLAG_UTF8 = 0x0800
_S_IFREG = 0o100000


# Payloads at least this large are copied by the kernel (copy_file_range).
_KERNEL_COPY_MIN = 1 << 16
# Payload files (compression bundles) kept open at once by one writer.
_MAX_OPEN_SOURCES = 64
_SHARED_LIB_RE = re.compile(r"(\.so(\.[0-9]+)*|\.dylib|\.pyd|\.dll)$", re.IGNORECASE)
_SCRIPTS_RE = re.compile(r"^[^/]+\.data/scripts/")
_EXEC_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)


@dataclass(frozen=True)
class CompressedMember:
    """A member whose encoded bytes already exist (e.g. from a cached action).

    Exactly one of ``data`` and ``path`` holds the encoded payload.

    Attributes:
        method: 0 (stored) or 8 (deflate, the canonical encoding of ``ml_wheels.deflate``).
        crc32: CRC-32 of the uncompressed content.
        compressed_size: Length of the encoded payload.
        file_size: Uncompressed size.
        sha256: Raw sha256 digest of the uncompressed content.
        executable: Whether the content is a native executable or a ``#!`` script.
        data: The encoded payload in memory.
        path: A file holding the encoded payload.
        offset: Where the payload starts in ``path`` (bundles hold many).
    """

    method: int
    crc32: int
    compressed_size: int
    file_size: int
    sha256: bytes
    executable: bool = False
    data: bytes | bytearray | memoryview | None = None
    path: str | None = None
    offset: int = 0


def is_executable_content(head: bytes) -> bool:
    """Tells whether content starts like an ELF/Mach-O binary or a ``#!`` script."""
    return head[:2] == b"#!" or head[:4] in _EXEC_MAGIC


def member_mode(arcname: str, executable_content: bool) -> int:
    """Returns a member's permission bits.

    0o755 for ``*.data/scripts/`` files, shared libraries and executable
    content (so binaries shipped inside packages keep working), else 0o644.
    """
    base = arcname.rsplit("/", 1)[-1]
    if executable_content or _SCRIPTS_RE.match(arcname) or _SHARED_LIB_RE.search(base):
        return 0o755
    return 0o644


def validate_arcname(arcname: str) -> bytes:
    """Checks that a path is safe to store in a wheel; returns its UTF-8 bytes.

    The rules are :func:`ml_wheels.wheelpath.path_problem`'s, shared with the
    readers of ``unpack_wheel`` and ``audit_wheel``.

    Raises:
        WheelError: Naming the path and what is wrong with it.
    """
    problem = path_problem(arcname)
    if problem:
        raise WheelError(f"wheel path {shown_path(arcname)} {problem}")
    return arcname.encode("utf-8")


@dataclass
class _Central:
    name: bytes
    flags: int
    method: int
    crc32: int
    compressed_size: int
    file_size: int
    offset: int
    mode: int
    zip64_sizes: bool


class ZipWriter:
    """Writes members one after another, then the central directory.

    Members are either streamed (``start_member``, ``write_data``,
    ``finish_member``: the local header is patched once the CRC and sizes are
    known, so the output must be seekable) or written whole
    (``write_compressed``). Both paths produce identical bytes.
    """

    def __init__(
        self,
        fp: IO[bytes],
        *,
        zip64_threshold: int = ZIP64_LIMIT,
        count_threshold: int = COUNT_LIMIT,
    ) -> None:
        """Initializes the writer.

        Args:
            fp: A seekable binary file positioned at its start.
            zip64_threshold: Sizes and offsets at or above this use zip64.
                Only tests lower it, to exercise zip64 with small data.
            count_threshold: Entry counts at or above this use zip64.
        """
        self._fp = fp
        self._zip64_threshold = zip64_threshold
        self._count_threshold = count_threshold
        self._pos = 0
        self._central: list[_Central] = []
        self._names: set[bytes] = set()
        self._open: _Central | None = None
        self._open_written = 0
        self._sources: dict[str, int] = {}
        self.records: list[RecordEntry] = []

    def _write(self, data: bytes) -> None:
        self._fp.write(data)
        self._pos += len(data)

    def _close_sources(self) -> None:
        for fd in self._sources.values():
            os.close(fd)
        self._sources.clear()

    def _source_fd(self, path: str) -> int:
        """A read descriptor of a payload file, opened once per writer."""
        fd = self._sources.get(path)
        if fd is None:
            if len(self._sources) >= _MAX_OPEN_SOURCES:
                self._close_sources()
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._sources[path] = fd
        return fd

    def _copy_range(self, src: int, offset: int, size: int) -> int:
        """Appends ``size`` bytes of the file ``src`` from ``offset``; returns how many were there.

        Assembling a wheel from compression bundles is mostly this copy: a
        large payload goes through the kernel (copy_file_range) when both
        sides are files, a small one is read with one pread and buffered
        (flushing the writer around thousands of tiny copies costs more).
        """
        copied = 0
        copy_file_range = getattr(os, "copy_file_range", None)
        if copy_file_range is not None and size >= _KERNEL_COPY_MIN:
            try:
                self._fp.flush()
                dst = self._fp.fileno()
                start = self._fp.tell()
                while copied < size:
                    n = copy_file_range(src, dst, size - copied, offset + copied)
                    if n == 0:
                        break
                    copied += n
                self._pos += copied
                # Keep the buffered writer's idea of the position in step.
                self._fp.seek(start + copied)
                return copied
            except (OSError, io.UnsupportedOperation, AttributeError):
                if copied:
                    raise
        while copied < size:
            block = os.pread(src, min(1 << 20, size - copied), offset + copied)
            if not block:
                break
            self._write(block)
            copied += len(block)
        return copied

    def _needs_zip64_sizes(self, method: int, file_size: int, compressed_size: int) -> bool:
        bound = max(compressed_size_bound(file_size, method), compressed_size, file_size)
        return bound >= self._zip64_threshold

    def _local_header(self, entry: _Central) -> bytes:
        if entry.zip64_sizes:
            extra = struct.pack("<HHQQ", 1, 16, entry.file_size, entry.compressed_size)
            csize = usize = ZIP64_LIMIT
            version = _VERSION_ZIP64
        else:
            extra = b""
            csize, usize = entry.compressed_size, entry.file_size
            version = _VERSION_DEFAULT
        header = _LOCAL.pack(
            _LOCAL_SIG,
            version,
            entry.flags,
            entry.method,
            _DOS_TIME,
            _DOS_DATE,
            entry.crc32,
            csize,
            usize,
            len(entry.name),
            len(extra),
        )
        return header + entry.name + extra

    def _begin(self, arcname: str, method: int, file_size: int, compressed_size: int) -> _Central:
        if self._open is not None:
            raise RuntimeError("previous member was not finished")
        if method not in (STORED, DEFLATED):
            raise ValueError(f"unsupported compression method {method}")
        name = validate_arcname(arcname)
        if name in self._names:
            raise WheelError(f"wheel path {arcname!r} is written twice; give it one source")
        self._names.add(name)
        flags = 0 if name.isascii() else _FLAG_UTF8
        return _Central(
            name=name,
            flags=flags,
            method=method,
            crc32=0,
            compressed_size=compressed_size,
            file_size=file_size,
            offset=self._pos,
            mode=0o644,
            zip64_sizes=self._needs_zip64_sizes(method, file_size, compressed_size),
        )

    def start_member(self, arcname: str, method: int, file_size: int) -> None:
        """Writes a local header whose CRC and compressed size are patched later.

        Args:
            arcname: The member path.
            method: 0 or 8.
            file_size: The exact uncompressed size that will be written.
        """
        entry = self._begin(arcname, method, file_size, 0)
        self._write(self._local_header(entry))
        self._open = entry
        self._open_written = 0

    def write_data(self, data: bytes) -> None:
        """Appends encoded payload bytes of the member being streamed."""
        self._write(data)
        self._open_written += len(data)

    def finish_member(self, crc32: int, sha256: bytes, executable: bool) -> RecordEntry:
        """Patches the open member's local header and records it.

        Args:
            crc32: CRC-32 of the uncompressed content.
            sha256: Raw sha256 digest of the uncompressed content.
            executable: Whether the content looked executable.

        Returns:
            The member's RECORD entry.
        """
        entry = self._open
        if entry is None:
            raise RuntimeError("no member is open")
        self._open = None
        entry.crc32 = crc32
        entry.compressed_size = self._open_written
        if self._needs_zip64_sizes(entry.method, entry.file_size, entry.compressed_size) != (
            entry.zip64_sizes
        ):
            raise RuntimeError("encoded size exceeds its bound; the header would change")
        end = self._pos
        self._fp.seek(entry.offset)
        self._fp.write(self._local_header(entry))
        self._fp.seek(end)
        return self._finish(entry, sha256, executable)

    def _finish(self, entry: _Central, sha256: bytes, executable: bool) -> RecordEntry:
        arcname = entry.name.decode("utf-8")
        entry.mode = member_mode(arcname, executable)
        self._central.append(entry)
        record = RecordEntry(arcname, sha256, entry.file_size)
        self.records.append(record)
        return record

    def write_compressed(self, arcname: str, member: CompressedMember) -> RecordEntry:
        """Writes a member whose encoded payload already exists.

        Args:
            arcname: The member path.
            member: The encoded payload and its checksums and sizes.

        Returns:
            The member's RECORD entry.
        """
        entry = self._begin(arcname, member.method, member.file_size, member.compressed_size)
        entry.crc32 = member.crc32
        self._write(self._local_header(entry))
        if member.data is not None:
            if len(member.data) != member.compressed_size:
                raise ValueError(f"{arcname}: payload length does not match compressed_size")
            self._write(member.data)
        elif member.path is not None:
            src = self._source_fd(member.path)
            copied = self._copy_range(src, member.offset, member.compressed_size)
            if copied != member.compressed_size:
                raise WheelError(
                    f"compressed payload {member.path} for {arcname!r} has {copied} bytes, "
                    f"expected {member.compressed_size}; rebuild it"
                )
        else:
            raise ValueError(f"{arcname}: CompressedMember has neither data nor path")
        return self._finish(entry, member.sha256, member.executable)

    def _central_record(self, entry: _Central) -> bytes:
        fields = []
        usize, csize, offset = entry.file_size, entry.compressed_size, entry.offset
        if entry.zip64_sizes:
            fields += [usize, csize]
            usize = csize = ZIP64_LIMIT
        if offset >= self._zip64_threshold:
            fields.append(offset)
            offset = ZIP64_LIMIT
        extra = b""
        if fields:
            extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields)
        version = _VERSION_ZIP64 if fields else _VERSION_DEFAULT
        header = _CENTRAL.pack(
            _CENTRAL_SIG,
            (_UNIX << 8) | version,
            version,
            entry.flags,
            entry.method,
            _DOS_TIME,
            _DOS_DATE,
            entry.crc32,
            csize,
            usize,
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            (_S_IFREG | entry.mode) << 16,
            offset,
        )
        return header + entry.name + extra

    def close(self) -> None:
        """Writes the central directory and the end records."""
        if self._open is not None:
            raise RuntimeError("a member is still open")
        self._close_sources()
        cd_offset = self._pos
        for entry in self._central:
            self._write(self._central_record(entry))
        cd_size = self._pos - cd_offset
        count = len(self._central)
        limit = self._zip64_threshold
        if count >= self._count_threshold or cd_size >= limit or cd_offset >= limit:
            eocd64_offset = self._pos
            self._write(
                _EOCD64.pack(
                    _EOCD64_SIG,
                    _EOCD64.size - 12,
                    (_UNIX << 8) | _VERSION_ZIP64,
                    _VERSION_ZIP64,
                    0,
                    0,
                    count,
                    count,
                    cd_size,
                    cd_offset,
                )
            )
            self._write(_LOCATOR64.pack(_LOCATOR64_SIG, 0, eocd64_offset, 1))
            # Fields that overflow hold the sentinel; readers take the zip64 values.
            if count >= self._count_threshold:
                count = COUNT_LIMIT
            if cd_size >= limit:
                cd_size = ZIP64_LIMIT
            if cd_offset >= limit:
                cd_offset = ZIP64_LIMIT
        self._write(_EOCD.pack(_EOCD_SIG, 0, 0, count, count, cd_size, cd_offset, 0))
        self._fp.flush()


# Temporary names are random, so a planted file or symlink cannot be guessed into.
_TEMP_ATTEMPTS = 64
_TEMP_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# Keeps ``.<name>.<token>.tmp`` within NAME_MAX (255 bytes).
_TEMP_BASE_CHARS = 200


def create_temp_beside(path: str) -> tuple[int, str]:
    """Creates a new empty file in ``path``'s directory, exclusively.

    The file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random
    name, so an existing file or a planted symlink is never opened, and with
    mode 0o666 less the umask (what ``open(path, "wb")`` gives).

    Args:
        path: The final output path the temporary file stands in for.

    Returns:
        The open descriptor (write only) and the temporary file's path.

    Raises:
        WheelError: If the directory does not exist or is not writable.
    """
    directory, base = os.path.split(path)
    for _ in range(_TEMP_ATTEMPTS):
        tmp = os.path.join(directory, f".{base[:_TEMP_BASE_CHARS]}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise WheelError(
                f"cannot create output {path}: {exc.strerror}; check the path"
            ) from None
    raise WheelError(f"cannot create output {path}: no free temporary name; check the directory")


def replace_output(tmp: str, path: str) -> None:
    """Renames a finished temporary file onto ``path`` (atomically).

    Raises:
        WheelError: If ``path`` cannot be replaced (e.g. it is a directory).
    """
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise WheelError(
            f"cannot write output {path}: {exc.strerror}; remove what is there or choose "
            "another path"
        ) from None


def check_output_path(path: str) -> None:
    """Refuses an output path that is an existing directory, before any work.

    Raises:
        WheelError: Naming the path.
    """
    if os.path.isdir(path) and not os.path.islink(path):
        raise WheelError(f"output {path} is a directory; remove it or choose another output path")


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """Writes a fresh temporary file beside ``path`` and renames it on success.

    The temporary file is created exclusively under a random name (see
    ``create_temp_beside``); on any error or signal it is removed, so no
    half-written output is left and nothing outside the output is touched.

    Args:
        path: The final output path.

    Yields:
        The open temporary file.

    Raises:
        WheelError: If the output cannot be created or replaced.
    """
    check_output_path(path)
    fd, tmp = create_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
        replace_output(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
