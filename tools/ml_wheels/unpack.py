"""Unpacks wheels (and plain zip files) safely and fast: what ``py_import`` runs.

Safety: every name is checked before anything is written (no absolute paths,
``..``, backslashes, drive letters, control characters or non-UTF-8 names; no
symlink or device entries; no duplicates; no path that is both a file and a
directory); the archive's structure is checked against its size (truncation,
overlapping members, local headers that contradict the directory); declared
sizes are bounded (total and per-member compression ratio) and never trusted:
each member is inflated with an output bound of its declared size plus one
byte, so a member that inflates further is refused at its first extra byte.
The wheel's RECORD is checked in the same pass (every file listed, hash and
size equal, nothing listed that is missing). Files are created with
``O_EXCL | O_NOFOLLOW`` below directories this code made or found to be real
directories, so nothing is ever written outside the output directory; on
any error, everything written is removed again.

Speed: members stream in 1 MiB chunks (inflate, CRC, hash and write in one
pass), on several threads (zlib, hashlib and file writes release the GIL),
largest members first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ml_wheels.errors import WheelError
from ml_wheels.unpack_record import Expected, parse_record
from ml_wheels.unpack_zip import (
    CORRUPT_FIX,
    DEFLATED,
    ZipMember,
    data_offsets,
    entry_kind,
    pread_exact,
    read_central_directory,
    show_name,
)

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

DEFAULT_MAX_TOTAL_SIZE = 64 * GiB
"""Largest sum of declared (uncompressed) sizes over all archives of one unpack."""
DEFAULT_MAX_RATIO = 1100
"""Largest uncompressed:compressed ratio a member bigger than ``RATIO_MIN_SIZE`` may claim.

Deflate cannot exceed about 1032:1 (a file of zeros compresses 1029:1), so
the default never refuses genuine data: it refuses impossible size claims
before anything is written. Claims that are possible but false are caught
while inflating (output is bounded by the declared size)."""
RATIO_MIN_SIZE = 1 * MiB
"""Members up to this size are exempt from the ratio bound."""
MAX_RECORD_SIZE = 64 * MiB
"""RECORD is read into memory: this bounds it (torch's is 1.5 MB)."""
CHUNK = 1 * MiB
FIXED_MTIME = 315532800
"""Every unpacked file's mtime: 1980-01-01T00:00:00Z, the earliest a zip can store."""
MAX_NAME_COMPONENT = 255

_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_RECORD_RE = re.compile(r"[^/]+\.dist-info/RECORD")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_UNTRUSTED_FIX = "the archive is unsafe to unpack; do not use it, or rebuild it from its sources"
_VERIFY_FIX = (
    "rebuild or download the wheel again; if you trust it as it is, unpack with "
    "--no-verify-record (py_import: verify_record = False)"
)
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL
_OPEN_FLAGS |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Limits:
    """Bounds against zip bombs (see the module constants for the defaults)."""

    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    max_ratio: int = DEFAULT_MAX_RATIO


@dataclass(frozen=True)
class UnpackResult:
    """What an unpack wrote.

    Attributes:
        files: Regular files written.
        directories: Directories created or reused.
        total_bytes: Bytes written.
    """

    files: int
    directories: int
    total_bytes: int


@dataclass
class _Archive:
    path: str
    fd: int = -1
    is_wheel: bool = False


@dataclass
class _File:
    archive: _Archive
    member: ZipMember
    data_offset: int
    path: str
    mode: int
    expected: Expected | None = None


@dataclass
class _Written:
    """What this unpack created, for removal on error."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    root: str | None = None


@contextlib.contextmanager
def _errors_for(path: str) -> Iterator[None]:
    try:
        yield
    except WheelError as exc:
        raise WheelError(f"{path}: {exc}") from None


def check_name(raw: bytes) -> tuple[str, bool]:
    """Checks an entry name; returns (path without trailing '/', is a directory).

    Raises:
        WheelError: For names that are not UTF-8, empty, absolute, with a drive
            letter, a backslash, a control character, an empty, '.' or '..'
            component, or a component longer than 255 bytes.
    """
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WheelError(
            f"entry {show_name(raw)} has a name that is not valid UTF-8; wheel paths must be "
            "UTF-8, rename the file and rebuild the archive"
        ) from None
    problem = ""
    if not name or name == "/":
        problem = "has an empty name"
    elif _CONTROL_RE.search(name):
        problem = "contains a control character (NUL, newline, ...)"
    elif "\\" in name:
        problem = "contains a backslash (a Windows path separator)"
    elif name.startswith("/"):
        problem = "is an absolute path"
    elif _DRIVE_RE.match(name):
        problem = "starts with a drive letter"
    is_dir = name.endswith("/")
    body = name[:-1] if is_dir else name
    parts = body.split("/")
    if problem:
        pass
    elif ".." in parts:
        problem = "has a '..' component that would escape the output directory"
    elif "" in parts or "." in parts:
        problem = "has an empty or '.' component"
    elif any(len(part.encode("utf-8")) > MAX_NAME_COMPONENT for part in parts):
        problem = f"has a component longer than {MAX_NAME_COMPONENT} bytes"
    if problem:
        raise WheelError(f"entry {name!r} {problem}; {_UNTRUSTED_FIX}")
    return body, is_dir


def _member_chunks(archive: _Archive, member: ZipMember, offset: int, name: str) -> Iterator[bytes]:
    """Yields a member's content in chunks of at most ``CHUNK`` bytes, checked.

    Never yields more than the declared size, and checks the CRC and that
    the compressed data ends exactly with the deflate stream.
    """
    crc = 0
    produced = 0
    remaining = member.compressed_size
    what = f"entry {name!r}"
    if member.method != DEFLATED:
        while remaining:
            size = min(CHUNK, remaining)
            data = pread_exact(archive.fd, size, offset, what)
            offset += size
            remaining -= size
            crc = zlib.crc32(data, crc)
            yield data
        produced = member.file_size
    else:
        inflater = zlib.decompressobj(-15)
        while True:
            data = inflater.unconsumed_tail
            if not data and remaining:
                size = min(CHUNK, remaining)
                data = pread_exact(archive.fd, size, offset, what)
                offset += size
                remaining -= size
            allowed = member.file_size - produced
            try:
                out = inflater.decompress(data, min(CHUNK, allowed + 1))
            except zlib.error as exc:
                raise WheelError(f"{what} has corrupt deflate data ({exc}); {CORRUPT_FIX}") from exc
            if len(out) > allowed:
                raise WheelError(
                    f"{what} inflates beyond its declared size of {member.file_size} bytes "
                    f"(a zip bomb, or a corrupt archive); {_UNTRUSTED_FIX}"
                )
            if out:
                produced += len(out)
                crc = zlib.crc32(out, crc)
                yield out
            if inflater.eof:
                break
            if not data and not out:
                raise WheelError(f"{what} has a truncated deflate stream; {CORRUPT_FIX}")
        if remaining or inflater.unused_data or inflater.unconsumed_tail:
            raise WheelError(f"{what} has data after the end of its deflate stream; {CORRUPT_FIX}")
        if produced != member.file_size:
            raise WheelError(
                f"{what} inflates to {produced} bytes, not its declared {member.file_size}; "
                f"{CORRUPT_FIX}"
            )
    if crc != member.crc32:
        raise WheelError(f"{what} fails its CRC check (corrupt data); {CORRUPT_FIX}")


def _open_archive(archive: _Archive) -> int:
    try:
        archive.fd = os.open(archive.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        info = os.fstat(archive.fd)
    except OSError as exc:
        raise WheelError(f"cannot open: {exc.strerror}; check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise WheelError("is not a regular file; pass the path of a .whl or .zip file")
    return info.st_size


def _read_entries(archive: _Archive, limits: Limits) -> tuple[list[_File], list[str]]:
    """Reads and checks one archive's entries; returns its files and explicit directories."""
    size = _open_archive(archive)
    directory = read_central_directory(archive.fd, size)
    offsets = data_offsets(archive.fd, directory.members, directory.data_limit)
    files: list[_File] = []
    dirs: list[str] = []
    seen: set[bytes] = set()
    for member, offset in zip(directory.members, offsets):
        if member.raw_name in seen:
            raise WheelError(
                f"entry {show_name(member.raw_name)} appears twice "
                f"(tools disagree on which copy wins); {_UNTRUSTED_FIX}"
            )
        seen.add(member.raw_name)
        path, is_dir = check_name(member.raw_name)
        kind = entry_kind(member.mode)
        if kind == "symlink":
            raise WheelError(
                f"entry {path!r} is a symbolic link; archives to unpack must hold regular files "
                "only, replace the link by the file it points to"
            )
        if kind == "special":
            raise WheelError(
                f"entry {path!r} is a device, FIFO or socket; archives to unpack must hold "
                "regular files only"
            )
        if is_dir:
            if member.file_size or stat.S_IFMT(member.mode) == stat.S_IFREG:
                raise WheelError(
                    f"entry {path + '/'!r} is both a file and a directory; {_UNTRUSTED_FIX}"
                )
            dirs.append(path)
            continue
        if kind == "dir":
            raise WheelError(
                f"entry {path!r} is both a file and a directory (directory mode without a "
                f"trailing '/'); {_UNTRUSTED_FIX}"
            )
        if (
            member.file_size > RATIO_MIN_SIZE
            and member.file_size > limits.max_ratio * member.compressed_size
        ):
            raise WheelError(
                f"entry {path!r} claims {member.file_size} bytes from "
                f"{member.compressed_size} compressed, a ratio above the bound of "
                f"{limits.max_ratio}:1 (a zip bomb?); if the file is genuine, raise --max-ratio"
            )
        mode = 0o755 if member.mode & 0o111 else 0o644
        files.append(_File(archive, member, offset, path, mode))
    return files, dirs


def _plan(
    archives: Sequence[_Archive], limits: Limits
) -> tuple[dict[str, _File], dict[str, _Archive]]:
    """Reads every archive; returns the files and directories to create, checked."""
    files: dict[str, _File] = {}
    dirs: dict[str, _Archive] = {}
    total = 0
    for archive in archives:
        with _errors_for(archive.path):
            archive_files, archive_dirs = _read_entries(archive, limits)
            for entry in archive_files:
                other = files.get(entry.path)
                if other is not None:
                    raise WheelError(
                        f"entry {entry.path!r} is also in {other.archive.path}; extracting both "
                        "would overwrite one, remove it from one of the archives"
                    )
                files[entry.path] = entry
                total += entry.member.file_size
                parts = entry.path.split("/")
                for i in range(1, len(parts)):
                    dirs.setdefault("/".join(parts[:i]), archive)
            for path in archive_dirs:
                parts = path.split("/")
                for i in range(1, len(parts) + 1):
                    dirs.setdefault("/".join(parts[:i]), archive)
            for path in sorted(dirs.keys() & files.keys()):
                where = {files[path].archive.path, dirs[path].path} - {archive.path}
                also = f" (with {where.pop()})" if where else ""
                raise WheelError(
                    f"entry {path!r} is both a file and a directory{also}; {_UNTRUSTED_FIX}"
                )
            if total > limits.max_total_size:
                raise WheelError(
                    f"unpacking would write {total} bytes, above the bound of "
                    f"{limits.max_total_size} (a zip bomb?); if the archives are genuine, raise "
                    "--max-total-size"
                )
    return files, dirs


def _read_record(wheel: _Archive, files: dict[str, _File]) -> None:
    """Checks the wheel's files against its RECORD; attaches the expected hashes."""
    candidates = sorted(
        path
        for path, entry in files.items()
        if entry.archive is wheel and _RECORD_RE.fullmatch(path)
    )
    if not candidates:
        raise WheelError(f"has no *.dist-info/RECORD to verify its files; {_VERIFY_FIX}")
    if len(candidates) > 1:
        raise WheelError(
            f"has several RECORD files ({', '.join(candidates)}); a wheel has exactly one "
            f".dist-info directory; {_VERIFY_FIX}"
        )
    record_path = candidates[0]
    record = files[record_path]
    if record.member.file_size > MAX_RECORD_SIZE:
        raise WheelError(
            f"{record_path} declares {record.member.file_size} bytes, above the bound of "
            f"{MAX_RECORD_SIZE}; {_UNTRUSTED_FIX}"
        )
    data = b"".join(_member_chunks(wheel, record.member, record.data_offset, record_path))
    listed = parse_record(data)
    dist_info = record_path.rsplit("/", 1)[0]
    exempt = {record_path} | {f"{dist_info}/{name}" for name in _SIGNATURES}
    for path, entry in sorted(files.items()):
        if entry.archive is not wheel or path in exempt:
            continue
        expected = listed.get(path)
        if expected is None:
            raise WheelError(f"{path!r} is in the wheel but not in {record_path}; {_VERIFY_FIX}")
        if not expected.algorithm:
            raise WheelError(f"{record_path} lists {path!r} without a hash; {_VERIFY_FIX}")
        if expected.size is not None and expected.size != entry.member.file_size:
            raise WheelError(
                f"{record_path} says {path!r} has {expected.size} bytes but the archive holds "
                f"{entry.member.file_size}; {_VERIFY_FIX}"
            )
        entry.expected = expected
    for path in sorted(listed):
        entry = files.get(path)
        if path not in exempt and (entry is None or entry.archive is not wheel):
            raise WheelError(
                f"{record_path} lists {path!r} but the wheel has no such file; {_VERIFY_FIX}"
            )


def _make_dirs(output_dir: str, dirs: Sequence[str], written: _Written) -> None:
    for path in sorted(dirs):
        target = os.path.join(output_dir, path)
        try:
            os.mkdir(target, 0o755)
        except FileExistsError:
            info = os.lstat(target)
            if not stat.S_ISDIR(info.st_mode):
                raise WheelError(
                    f"{path!r} already exists in {output_dir} and is not a directory; "
                    "unpack into an empty directory"
                ) from None
            continue
        with written.lock:
            written.dirs.append(target)
        os.chmod(target, 0o755)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(entry: _File, output_dir: str, written: _Written) -> int:
    target = os.path.join(output_dir, entry.path)
    try:
        fd = os.open(target, _OPEN_FLAGS, 0o600)
    except FileExistsError:
        raise WheelError(
            f"{entry.path!r} already exists in {output_dir}; unpack into an empty directory"
        ) from None
    with written.lock:
        written.files.append(target)
    expected = entry.expected
    hasher = hashlib.new(expected.algorithm) if expected is not None else None
    try:
        with _errors_for(entry.archive.path):
            for chunk in _member_chunks(entry.archive, entry.member, entry.data_offset, entry.path):
                if hasher is not None:
                    hasher.update(chunk)
                _write_all(fd, chunk)
        os.fchmod(fd, entry.mode)
        os.utime(fd, (FIXED_MTIME, FIXED_MTIME))
    finally:
        os.close(fd)
    if hasher is not None and expected is not None and hasher.digest() != expected.digest:
        raise WheelError(
            f"{entry.archive.path}: {entry.path!r} does not match its {expected.algorithm} in "
            f"RECORD; {_VERIFY_FIX}"
        )
    return entry.member.file_size


def _run_parallel(items: Sequence[_File], jobs: int, work: Callable[[_File], int]) -> int:
    """Runs ``work`` over ``items`` on up to ``jobs`` threads; stops at the first error."""
    if jobs <= 1 or len(items) <= 1:
        return sum(work(item) for item in items)
    lock = threading.Lock()
    iterator = iter(items)
    stop = threading.Event()
    errors: list[BaseException] = []
    totals: list[int] = []

    def worker() -> None:
        total = 0
        while not stop.is_set():
            with lock:
                item = next(iterator, None)
            if item is None:
                break
            try:
                total += work(item)
            except BaseException as exc:
                errors.append(exc)
                stop.set()
                break
        totals.append(total)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(jobs, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(totals)


def _remove(written: _Written) -> None:
    for path in written.files:
        with contextlib.suppress(OSError):
            os.unlink(path)
    for path in reversed(written.dirs):
        with contextlib.suppress(OSError):
            os.rmdir(path)
    if written.root is not None:
        with contextlib.suppress(OSError):
            os.rmdir(written.root)


def default_jobs() -> int:
    """Threads to unpack with: one per CPU, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def unpack_wheel(
    wheel: str | None,
    output_dir: str,
    *,
    verify_record: bool = True,
    zip_deps: Sequence[str] = (),
    limits: Limits | None = None,
    jobs: int | None = None,
) -> UnpackResult:
    """Unpacks a wheel and/or plain zip files into ``output_dir``.

    Args:
        wheel: The wheel (None to extract only ``zip_deps``).
        output_dir: Where to unpack; created if missing (its parent must
            exist). Existing files are never overwritten (an entry that exists
            already is an error).
        verify_record: Check every file of the wheel against its RECORD.
        zip_deps: Plain zip files extracted into the same directory (no RECORD).
        limits: Zip bomb bounds (default: ``Limits()``).
        jobs: Threads (default: ``default_jobs()``).

    Returns:
        What was written.

    Raises:
        WheelError: One line naming the archive, what is wrong and how to fix
            it. Nothing this call wrote is left behind.
    """
    limits = limits or Limits()
    archives = [_Archive(path, is_wheel=True) for path in ([wheel] if wheel else [])]
    archives += [_Archive(path) for path in zip_deps]
    written = _Written()
    try:
        files, dirs = _plan(archives, limits)
        if verify_record and wheel:
            with _errors_for(wheel):
                _read_record(archives[0], files)
        try:
            if not os.path.isdir(output_dir):
                os.mkdir(output_dir, 0o755)
                written.root = output_dir
            _make_dirs(output_dir, list(dirs), written)
            order = sorted(files.values(), key=lambda f: (-f.member.compressed_size, f.path))
            total = _run_parallel(
                order, jobs or default_jobs(), lambda f: _write_file(f, output_dir, written)
            )
        except OSError as exc:
            where = exc.filename or output_dir
            raise WheelError(
                f"cannot write {where}: {exc.strerror}; check free space, permissions and "
                "name lengths of the output directory"
            ) from None
        return UnpackResult(len(files), len(dirs), total)
    except BaseException:
        _remove(written)
        raise
    finally:
        for archive in archives:
            if archive.fd >= 0:
                os.close(archive.fd)
