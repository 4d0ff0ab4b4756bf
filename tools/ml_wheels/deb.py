"""Unpacks Debian binary packages (.deb) safely, without ``ar`` or ``dpkg``.

A .deb is an ``ar`` archive whose members are ``debian-binary`` (``2.0``),
``control.tar.*`` and ``data.tar.*``; only the data member is unpacked. This
is what the sysroot and Python-header repository rules run (through
``tools/unpack_deb.py``) to lay packages out under one root directory.

Refused, with one line naming the package and the entry: archives that are not
regular files or not ``ar`` archives, truncated members, a data member in a
compression the standard library cannot read (zstd), entry names that are
absolute or contain ``..``, entries that go through a symlink, symlinks that
point outside the root, hard links to anything but a file unpacked before,
device/FIFO entries, files that already exist, and more than ``max_total_size``
decompressed bytes or ``max_entries`` entries in all (so memory and time are
bounded by the limits, whatever the archive claims).

Absolute symlink targets (``libm.so -> /lib/x86_64-linux-gnu/libm.so.6``) are
rewritten relative to the link, so that they resolve inside the root and never
to the host's files.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import lzma
import os
import posixpath
import stat
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO

from ml_wheels.errors import WheelError

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60
DEFAULT_MAX_TOTAL_SIZE = 4 << 30
DEFAULT_MAX_ENTRIES = 200_000
_CHUNK = 1 << 20
_DECOMPRESSORS = {
    "data.tar": None,
    "data.tar.xz": lzma.LZMAFile,
    "data.tar.gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "data.tar.bz2": bz2.BZ2File,
}


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on what one call unpacks, over all packages.

    Attributes:
      max_total_size: decompressed bytes of the data members (headers included).
      max_entries: tar entries.
    """

    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    max_entries: int = DEFAULT_MAX_ENTRIES


@dataclasses.dataclass
class Report:
    """What an unpack did.

    Attributes:
      files: regular files written (hard links included).
      symlinks: symlinks written.
      rewritten: (link, old target, new target) of absolute symlinks made relative.
    """

    files: int = 0
    symlinks: int = 0
    rewritten: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ArMember:
    """One member of an ``ar`` archive: its name and byte range."""

    name: str
    offset: int
    size: int


class _Budget:
    """Counts decompressed bytes and entries against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.size = 0
        self.entries = 0

    def add_bytes(self, deb: Path, count: int) -> None:
        self.size += count
        if self.size > self.limits.max_total_size:
            raise WheelError(
                f"{deb}: the packages unpack to more than {self.limits.max_total_size} bytes; "
                "raise --max-total-size if they are really that large, or check the .deb files"
            )

    def add_entry(self, deb: Path) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise WheelError(
                f"{deb}: the packages hold more than {self.limits.max_entries} entries; "
                "raise --max-entries if they are really that many, or check the .deb files"
            )


class _CountingReader(io.RawIOBase):
    """A read-only stream that charges every byte read to a budget."""

    def __init__(self, inner: BinaryIO, deb: Path, budget: _Budget) -> None:
        super().__init__()
        self._inner = inner
        self._deb = deb
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), _CHUNK))
        self._budget.add_bytes(self._deb, len(data))
        buffer[: len(data)] = data
        return len(data)


class _Slice(io.RawIOBase):
    """The byte range of one ``ar`` member, as a stream."""

    def __init__(self, handle: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self._handle = handle
        self._offset = offset
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._left)
        if count <= 0:
            return 0
        self._handle.seek(self._offset)
        data = self._handle.read(count)
        self._offset += len(data)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def read_ar_members(handle: BinaryIO, deb: Path, file_size: int) -> list[ArMember]:
    """Lists the members of an ``ar`` archive.

    Args:
      handle: the open archive, positioned anywhere.
      deb: its path, for messages.
      file_size: its size in bytes.

    Returns:
      The members in archive order.

    Raises:
      WheelError: not an ``ar`` archive, or a header is corrupt or truncated.
    """
    handle.seek(0)
    if handle.read(len(AR_MAGIC)) != AR_MAGIC:
        raise WheelError(f"{deb}: not a Debian package (no '!<arch>' header); download it again")
    members = []
    offset = len(AR_MAGIC)
    while offset < file_size:
        header = handle.read(AR_HEADER_SIZE)
        if len(header) != AR_HEADER_SIZE or header[58:60] != b"`\n":
            raise WheelError(
                f"{deb}: corrupt ar header at byte {offset}; download the package again"
            )
        size_field = header[48:58].strip()
        if not size_field.isdigit() or len(size_field) > 10:
            raise WheelError(
                f"{deb}: bad member size {size_field!r} at byte {offset}; "
                "download the package again"
            )
        size = int(size_field)
        start = offset + AR_HEADER_SIZE
        if start + size > file_size:
            raise WheelError(
                f"{deb}: member at byte {offset} is truncated; download the package again"
            )
        name = header[:16].decode("ascii", "replace").rstrip(" ").removesuffix("/")
        members.append(ArMember(name, start, size))
        offset = start + size + (size & 1)
        handle.seek(offset)
    return members


def _data_member(members: list[ArMember], deb: Path, handle: BinaryIO) -> ArMember:
    if not members or members[0].name != "debian-binary":
        raise WheelError(
            f"{deb}: the first member is not 'debian-binary'; this is not a Debian package"
        )
    handle.seek(members[0].offset)
    if not handle.read(min(members[0].size, 16)).startswith(b"2."):
        raise WheelError(f"{deb}: unsupported Debian package format (debian-binary is not 2.x)")
    for member in members:
        if member.name.startswith("data.tar"):
            if member.name not in _DECOMPRESSORS:
                raise WheelError(
                    f"{deb}: the data member {member.name!r} uses a compression Python's "
                    "standard library cannot read; use a package whose data member is xz, "
                    "gzip or bzip2 "
                    "(Debian's are xz), or repack it"
                )
            return member
    raise WheelError(f"{deb}: no data.tar member; this is not a Debian binary package")


def _entry_path(deb: Path, name: str) -> str:
    """The entry's path relative to the root ('' for the root), refusing escapes."""
    path = name.removeprefix("./")
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise WheelError(
            f"{deb}: entry {name!r} has an absolute or unsafe path; the package is not usable"
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise WheelError(f"{deb}: entry {name!r} contains '..'; the package is not usable")
    return "/".join(parts)


def _check_parents(deb: Path, root: Path, rel: str) -> None:
    """Creates the entry's parent directories, refusing to go through symlinks."""
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            continue
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise WheelError(
                f"{deb}: entry {rel!r} goes through {current.relative_to(root)!s}, "
                "which is not a directory; "
                "the package set is not usable in one root"
            )


def relative_target(deb: Path, link: str, target: str) -> str:
    """The target of symlink ``link`` as a path relative to its directory, inside the root.

    Args:
      deb: the package, for messages.
      link: the link's path relative to the root.
      target: the target as stored in the archive (absolute or relative).

    Returns:
      A relative target that resolves inside the root.

    Raises:
      WheelError: the target points outside the root.
    """
    link_dir = posixpath.dirname(link)
    if target.startswith("/"):
        resolved = posixpath.normpath(target.lstrip("/"))
    else:
        resolved = posixpath.normpath(posixpath.join(link_dir, target))
    if not target or resolved == ".." or resolved.startswith("../") or "\x00" in target:
        raise WheelError(
            f"{deb}: symlink {link!r} -> {target!r} points outside the root; "
            "the package is not usable"
        )
    return posixpath.relpath(resolved, link_dir or ".")


def _write_file(deb: Path, root: Path, rel: str, source: BinaryIO, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(root / rel, flags, 0o755 if mode & 0o111 else 0o644)
    except FileExistsError:
        raise WheelError(
            f"{deb}: {rel!r} already exists in the root (another package has it); "
            "list each package once"
        ) from None
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            out.write(chunk)


def _unpack_member(
    deb: Path, root: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, report: Report
) -> None:
    rel = _entry_path(deb, member.name)
    if not rel:
        return
    _check_parents(deb, root, rel)
    target = root / rel
    if member.isdir():
        if os.path.lexists(target):
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                raise WheelError(
                    f"{deb}: directory {rel!r} is already a file or symlink in the root"
                )
            return
        os.mkdir(target, 0o755)
    elif member.isreg():
        source = tar.extractfile(member)
        assert source is not None
        _write_file(deb, root, rel, source, member.mode)
        report.files += 1
    elif member.issym():
        new_target = relative_target(deb, rel, member.linkname)
        if member.linkname.startswith("/"):
            report.rewritten.append((rel, member.linkname, new_target))
        try:
            os.symlink(new_target, target)
        except FileExistsError:
            raise WheelError(
                f"{deb}: {rel!r} already exists in the root; list each package once"
            ) from None
        report.symlinks += 1
    elif member.islnk():
        source_rel = _entry_path(deb, member.linkname)
        if source_rel:
            _check_parents(deb, root, source_rel)
        source_path = root / source_rel
        if (
            not source_rel
            or not os.path.lexists(source_path)
            or not stat.S_ISREG(os.lstat(source_path).st_mode)
        ):
            raise WheelError(
                f"{deb}: hard link {rel!r} -> {member.linkname!r} does not name a file "
                "unpacked before it"
            )
        with open(source_path, "rb") as source:
            _write_file(deb, root, rel, source, os.stat(source_path).st_mode)
        report.files += 1
    else:
        raise WheelError(
            f"{deb}: entry {rel!r} is a device, FIFO or other special file; "
            "the package is not usable"
        )


_READ_ERRORS = (tarfile.TarError, lzma.LZMAError, zlib.error, OSError, EOFError, ValueError)


def _unpack_tar(deb: Path, root: Path, stream: BinaryIO, budget: _Budget, report: Report) -> None:
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for entry in tar:
                budget.add_entry(deb)
                _unpack_member(deb, root, tar, entry, report)
    except _READ_ERRORS as error:
        raise WheelError(
            f"{deb}: corrupt data member ({error}); download the package again"
        ) from None


def unpack_deb(
    deb: Path, root: Path, limits: Limits | None = None, budget: _Budget | None = None
) -> Report:
    """Unpacks the data member of one .deb into ``root``.

    Args:
      deb: the package file.
      root: the directory to unpack into (created if missing); other packages
        may already be there.
      limits: bounds on decompressed bytes and entries.
      budget: running totals shared by several calls (see ``unpack_debs``).

    Returns:
      What was written.

    Raises:
      WheelError: the package is hostile, corrupt or conflicts with the root.
    """
    budget = budget or _Budget(limits or Limits())
    try:
        info = os.stat(deb)
    except OSError as error:
        raise WheelError(
            f"{deb}: cannot read the package ({error.strerror}); check the path"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise WheelError(f"{deb}: not a regular file; give the path of a downloaded .deb")
    root.mkdir(parents=True, exist_ok=True)
    report = Report()
    with open(deb, "rb") as handle:
        member = _data_member(read_ar_members(handle, deb, info.st_size), deb, handle)
        raw: BinaryIO = io.BufferedReader(_Slice(handle, member.offset, member.size), _CHUNK)
        decompressor = _DECOMPRESSORS[member.name]
        stream = decompressor(raw) if decompressor else raw
        counted = io.BufferedReader(_CountingReader(stream, deb, budget), _CHUNK)
        _unpack_tar(deb, root, counted, budget, report)
    return report


def _inside(root_paths: tuple[str, ...], target: str) -> str:
    """An absolute target under the root's own path, as seen from the root ('/...')."""
    for base in root_paths:
        if target.startswith(base + "/"):
            return target[len(base) :]
    return target


def _relink(root: Path, link: Path, rel: str, rewritten: list[tuple[str, str, str]]) -> None:
    target = os.readlink(link)
    # Bazel's archive extraction turns `/lib/x` into `<output dir>/lib/x`.
    roots = tuple(dict.fromkeys([os.path.abspath(root), os.path.realpath(root)]))
    new_target = relative_target(root, rel, _inside(roots, target))
    if new_target != target:
        os.unlink(link)
        os.symlink(new_target, link)
        if target.startswith("/"):
            rewritten.append((rel, target, new_target))


def relativize_symlinks(root: Path) -> list[tuple[str, str, str]]:
    """Makes every symlink under ``root`` relative, pointing inside ``root``.

    For trees unpacked by other means (a sysroot archive): absolute targets are
    taken relative to ``root``, as a chroot would resolve them.

    Args:
      root: the directory to fix.

    Returns:
      (link, old target, new target) of each absolute symlink rewritten.

    Raises:
      WheelError: a symlink points outside ``root``.
    """
    rewritten: list[tuple[str, str, str]] = []
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory)
        for name in sorted(dirnames + filenames):
            path = base / name
            if path.is_symlink():
                _relink(root, path, path.relative_to(root).as_posix(), rewritten)
    return rewritten


def remove_dangling_symlinks(root: Path) -> list[str]:
    """Removes the symlinks under ``root`` that resolve to nothing.

    A dangling link (``libasan.so`` without its runtime package) is useless in
    a sysroot, and Bazel cannot take it as an input file.

    Args:
      root: the directory to clean; its symlinks must already be relative.

    Returns:
      The removed links, relative to ``root``, sorted.
    """
    removed = []
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory)
        for name in dirnames + filenames:
            path = base / name
            if path.is_symlink() and not path.exists():
                removed.append(path.relative_to(root).as_posix())
    for rel in removed:
        os.unlink(root / rel)
    return sorted(removed)


def copy_tree(source: Path, root: Path, limits: Limits | None = None) -> Report:
    """Copies a local sysroot into ``root``, making its symlinks relative.

    Args:
      source: an existing directory (e.g. a sysroot installed on the machine).
      root: the directory to copy into; must not exist yet or be empty.
      limits: bounds on bytes and entries copied.

    Returns:
      What was written.

    Raises:
      WheelError: ``source`` is not a directory, holds special files or
        symlinks pointing outside it, or is over the limits.
    """
    budget = _Budget(limits or Limits())
    if not source.is_dir():
        raise WheelError(f"{source}: not a directory; give the sysroot's top directory")
    report = Report()
    for directory, dirnames, filenames in os.walk(source):
        base = Path(directory)
        out = root / base.relative_to(source)
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(dirnames + filenames):
            budget.add_entry(source)
            path = base / name
            rel = (base / name).relative_to(source).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                os.symlink(relative_target(source, rel, os.readlink(path)), root / rel)
                report.symlinks += 1
            elif stat.S_ISREG(mode):
                budget.add_bytes(source, os.lstat(path).st_size)
                with open(path, "rb") as handle:
                    _write_file(source, root, rel, handle, mode)
                report.files += 1
            elif not stat.S_ISDIR(mode):
                raise WheelError(f"{source}: {rel!r} is a device, FIFO or socket; remove it")
    return report


def unpack_debs(debs: list[Path], root: Path, limits: Limits | None = None) -> Report:
    """Unpacks several packages into one root, under one set of limits.

    Args:
      debs: the package files, unpacked in this order.
      root: the directory to unpack into.
      limits: bounds over all packages together.

    Returns:
      What was written, summed over the packages.
    """
    limits = limits or Limits()
    budget = _Budget(limits)
    total = Report()
    for deb in debs:
        report = unpack_deb(deb, root, limits, budget)
        total.files += report.files
        total.symlinks += report.symlinks
        total.rewritten.extend(report.rewritten)
    return total
