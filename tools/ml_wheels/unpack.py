"""Unpacks wheels (and plain zip files) safely and fast: what ``py_import`` runs.

Safety: archives must be regular files (a FIFO or device is refused before
it is read); every name is checked before anything is written (by
``wheelpath.path_problem``, the definition the writer and the audit share,
plus UTF-8; no symlink or device entries; no duplicates; no path that is both
a file and a directory); a wheel is refused where pip refuses it (a file name
that does not parse, several ``.dist-info`` directories, one that is not the
file name's); the archive's structure is checked against its size (truncation,
overlapping members, local headers that contradict the directory); declared
sizes are bounded (total and per-member compression ratio) and never trusted:
each member is inflated with an output bound of its declared size plus one
byte, so a member that inflates further is refused at its first extra byte.
The wheel's RECORD is checked in the same pass (every file listed, hash and
size equal, nothing listed that is missing). Files are created with
``O_EXCL | O_NOFOLLOW`` below directories this code made or found to be real
directories, so nothing is ever written outside the output directory; on
any error, or an exception such as the one the CLI's SIGTERM handler raises,
everything written is removed again (the writing runs on its own thread, so
the interrupted main thread stops it first). The bookkeeping is linear in
the size of the names, however deep (see ``_Tree``).

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

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ml_wheels.errors import WheelError
from ml_wheels.naming import dist_info_dir
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
from ml_wheels.wheelpath import path_problem, shown_path

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

_SHOWN_DIST_INFOS = 5
"""A message lists at most this many .dist-info directories."""
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_RECORD_RE = re.compile(r"[^/]+\.dist-info/RECORD")
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
class MemberReader:
    """An open archive that `member_chunks` reads members from (also used by the size report)."""

    path: str
    fd: int = -1
    is_wheel: bool = False


@dataclass
class _File:
    archive: MemberReader
    member: ZipMember
    data_offset: int
    path: str
    mode: int
    expected: Expected | None = None


@dataclass
class _Tree:
    """The directories to create: a tree of path components.

    Node 0 is the output directory; node ``i`` is the component ``names[i]``
    of directory ``parents[i]``, and a parent's number is always smaller than
    its children's. Adding a path costs its length, so the bookkeeping is
    linear in the size of the names, however deep they are (full prefix
    strings for every directory would be quadratic in the depth).
    """

    parents: list[int] = field(default_factory=lambda: [-1])
    names: list[str] = field(default_factory=lambda: [""])
    owners: list[MemberReader | None] = field(default_factory=lambda: [None])
    nodes: dict[tuple[int, str], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.parents) - 1

    def path(self, node: int) -> str:
        """The node's path relative to the output directory (for messages)."""
        parts = []
        while node > 0:
            parts.append(self.names[node])
            node = self.parents[node]
        return "/".join(reversed(parts))

    def children(self) -> list[list[int]]:
        """Each node's children, in the order they were added."""
        children: list[list[int]] = [[] for _ in self.parents]
        for node in range(1, len(self.parents)):
            children[self.parents[node]].append(node)
        return children


@dataclass
class _Written:
    """What this unpack created, for removal on error, and its cancellation flag.

    Directories are kept as ``_Tree`` node numbers (True: created here; False:
    found), not paths: the paths of a deep tree's directories add up to far
    more than the names they come from.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    files: list[str] = field(default_factory=list)
    dirs: dict[int, bool] = field(default_factory=dict)
    tree: _Tree | None = None
    output_dir: str = ""
    root: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        """Raises once the unpack was interrupted, so that writing stops soon."""
        if self.cancelled.is_set():
            raise WheelError("the unpack was interrupted")


@contextlib.contextmanager
def _errors_for(path: str) -> Iterator[None]:
    try:
        yield
    except WheelError as exc:
        raise WheelError(f"{path}: {exc}") from None


def check_name(raw: bytes) -> tuple[str, bool]:
    """Checks an entry name; returns (path without trailing '/', is a directory).

    What a valid path is comes from ``ml_wheels.wheelpath.path_problem``, the
    definition the writer and the audit share; this adds the UTF-8 decoding
    and the trailing ``/`` of directory entries.

    Raises:
        WheelError: For names that are not UTF-8, empty, or that
            ``path_problem`` refuses (absolute, drive letter, backslash,
            control character, empty, '.' or '..' component, a component
            longer than 255 bytes, not NFC).
    """
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WheelError(
            f"entry {show_name(raw)} has a name that is not valid UTF-8; wheel paths must be "
            "UTF-8, rename the file and rebuild the archive"
        ) from None
    is_dir = name.endswith("/")
    body = name[:-1] if is_dir else name
    problem = "has an empty name" if not body else path_problem(body)
    if problem:
        raise WheelError(f"entry {shown_path(name)} {problem}; {_UNTRUSTED_FIX}")
    return body, is_dir


def member_chunks(
    archive: MemberReader, member: ZipMember, offset: int, name: str
) -> Iterator[bytes]:
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


def _open_archive(archive: MemberReader) -> int:
    """Opens an archive, which must be a regular file; returns its size.

    ``O_NONBLOCK`` keeps a FIFO from blocking the open until a writer comes;
    ``fstat`` then refuses it, devices (``/dev/zero`` never ends),
    sockets and directories before a byte is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        archive.fd = os.open(archive.path, flags)
        info = os.fstat(archive.fd)
    except OSError as exc:
        raise WheelError(f"cannot open: {exc.strerror}; check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise WheelError("is not a regular file; pass the path of a .whl or .zip file")
    return info.st_size


def _read_entries(archive: MemberReader, limits: Limits) -> tuple[list[_File], list[str]]:
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


@dataclass
class _Plan:
    """What to write, checked.

    Attributes:
        files: Path -> the file to write there.
        tree: The directories to create.
        dist_infos: Top-level names ending in ``.dist-info`` (in any case, as
            ``importlib.metadata`` finds them) -> the archive that has it.
    """

    files: dict[str, _File] = field(default_factory=dict)
    tree: _Tree = field(default_factory=_Tree)
    dist_infos: dict[str, MemberReader] = field(default_factory=dict)


def _both(path: str, archives: set[str], current: str) -> WheelError:
    where = archives - {current}
    also = f" (with {where.pop()})" if where else ""
    return WheelError(
        f"entry {shown_path(path)} is both a file and a directory{also}; {_UNTRUSTED_FIX}"
    )


def _add_dirs(
    tree: _Tree, path: str, archive: MemberReader, file_nodes: dict[tuple[int, str], _File]
) -> int:
    """Adds ``path`` and its parents to the tree; returns its node (0 for "")."""
    node = 0
    if not path:
        return node
    for part in path.split("/"):
        child = tree.nodes.get((node, part))
        if child is None:
            clash = file_nodes.get((node, part))
            if clash is not None:
                raise _both(clash.path, {clash.archive.path, archive.path}, archive.path)
            child = len(tree.parents)
            tree.parents.append(node)
            tree.names.append(part)
            tree.owners.append(archive)
            tree.nodes[(node, part)] = child
        node = child
    return node


def _note_top(plan: _Plan, path: str, archive: MemberReader) -> None:
    top = path.partition("/")[0]
    if top.lower().endswith(".dist-info"):
        plan.dist_infos.setdefault(top, archive)


def _plan(archives: Sequence[MemberReader], limits: Limits) -> _Plan:
    """Reads every archive; returns the files and directories to create, checked.

    The work is linear in the size of the central directories: see ``_Tree``.
    """
    plan = _Plan()
    file_nodes: dict[tuple[int, str], _File] = {}
    total = 0
    for archive in archives:
        with _errors_for(archive.path):
            archive_files, archive_dirs = _read_entries(archive, limits)
            for entry in archive_files:
                other = plan.files.get(entry.path)
                if other is not None:
                    raise WheelError(
                        f"entry {shown_path(entry.path)} is also in {other.archive.path}; "
                        "extracting both would overwrite one, remove it from one of the archives"
                    )
                plan.files[entry.path] = entry
                total += entry.member.file_size
                parent, _, name = entry.path.rpartition("/")
                node = _add_dirs(plan.tree, parent, archive, file_nodes)
                directory = plan.tree.nodes.get((node, name))
                if directory is not None:
                    owner = plan.tree.owners[directory]
                    where = {archive.path, owner.path if owner else archive.path}
                    raise _both(entry.path, where, archive.path)
                file_nodes[(node, name)] = entry
                _note_top(plan, entry.path, archive)
            for path in archive_dirs:
                _add_dirs(plan.tree, path, archive, file_nodes)
                _note_top(plan, path, archive)
            if total > limits.max_total_size:
                raise WheelError(
                    f"unpacking would write {total} bytes, above the bound of "
                    f"{limits.max_total_size} (a zip bomb?); if the archives are genuine, raise "
                    "--max-total-size"
                )
    return plan


def _is(distribution: str, version: Version, name: str, found_version: str) -> bool:
    """Whether ``name``-``found_version`` is that distribution and version, canonically."""
    try:
        return canonicalize_name(name) == distribution and Version(found_version) == version
    except InvalidVersion:
        return False


def _check_dist_info(
    wheel: MemberReader, dist_infos: dict[str, MemberReader], verify_record: bool
) -> None:
    """Refuses the wheels pip refuses for their ``.dist-info`` directory or file name.

    As pip's ``wheel_dist_info_dir`` (pip/_internal/utils/wheel.py): at most
    one top-level ``.dist-info`` directory (counting those a zip dep would
    add: ``importlib.metadata`` would list each as an installed
    distribution), and it must be the one of the distribution and version
    the file name gives, compared canonically (``canonicalize_name``,
    ``Version`` equality) as pip's metadata consistency check does. With
    ``verify_record`` the file name must parse as a wheel name; without it a
    trusted archive with another name is accepted as it is.

    Raises:
        WheelError: Naming the directories or the file name, and the fix.
    """
    names = sorted(dist_infos)
    if len(names) > 1:
        shown = ", ".join(
            name if dist_infos[name] is wheel else f"{name} from {dist_infos[name].path}"
            for name in names[:_SHOWN_DIST_INFOS]
        )
        if len(names) > _SHOWN_DIST_INFOS:
            shown += f", and {len(names) - _SHOWN_DIST_INFOS} more"
        raise WheelError(
            f"has several .dist-info directories ({shown}); a wheel has exactly one (pip "
            "refuses it, importlib.metadata would list each as an installed distribution); "
            "rebuild the wheel with one, or remove the extra one from the zip dep"
        )
    filename = os.path.basename(wheel.path)
    try:
        distribution, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        if not verify_record:
            return
        raise WheelError(
            f"is not a valid wheel file name ({exc}); name the file "
            "<distribution>-<version>-<python tag>-<abi tag>-<platform tag>.whl as its builder "
            "did (e.g. demo-1.0-py3-none-any.whl)"
        ) from None
    if not names:
        return
    found = names[0]
    parts = found[: -len(".dist-info")].split("-")
    # The name has no "-" once escaped; a hand-made version might: try each split.
    matches = any(
        _is(distribution, version, "-".join(parts[:i]), "-".join(parts[i:]))
        for i in range(1, len(parts))
    )
    if not matches or not found.endswith(".dist-info"):
        raise WheelError(
            f"has the .dist-info directory {shown_path(found)}, which does not match its file "
            f"name (expected {dist_info_dir(distribution, str(version))}); pip refuses such a "
            "wheel: rename the file to the distribution and version it holds, or rebuild it"
        )


def _read_record(wheel: MemberReader, files: dict[str, _File]) -> None:
    """Checks the wheel's files against its RECORD; attaches the expected hashes."""
    # _check_dist_info allowed one .dist-info directory at most: one RECORD at most.
    candidates = sorted(
        path
        for path, entry in files.items()
        if entry.archive is wheel and _RECORD_RE.fullmatch(path)
    )
    if not candidates:
        raise WheelError(f"has no *.dist-info/RECORD to verify its files; {_VERIFY_FIX}")
    record_path = candidates[0]
    record = files[record_path]
    if record.member.file_size > MAX_RECORD_SIZE:
        raise WheelError(
            f"{record_path} declares {record.member.file_size} bytes, above the bound of "
            f"{MAX_RECORD_SIZE}; {_UNTRUSTED_FIX}"
        )
    data = b"".join(member_chunks(wheel, record.member, record.data_offset, record_path))
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


def _make_dir(target: str, node: int, tree: _Tree, written: _Written) -> None:
    try:
        os.mkdir(target, 0o755)
    except FileExistsError:
        info = os.lstat(target)
        if not stat.S_ISDIR(info.st_mode):
            raise WheelError(
                f"{shown_path(tree.path(node))} already exists in {written.output_dir} and is "
                "not a directory; unpack into an empty directory"
            ) from None
        with written.lock:
            written.dirs[node] = False
        return
    with written.lock:
        written.dirs[node] = True
    os.chmod(target, 0o755)


def _make_dirs(output_dir: str, tree: _Tree, written: _Written) -> None:
    """Creates the tree's directories, parents first, building each path as it goes.

    Depth first, so the paths alive at any time are those of one branch; a
    path too long for the system fails its ``mkdir`` and stops the walk.
    """
    children = tree.children()
    stack = [(node, output_dir) for node in reversed(children[0])]
    while stack:
        written.check_cancelled()
        node, parent = stack.pop()
        target = os.path.join(parent, tree.names[node])
        _make_dir(target, node, tree, written)
        stack.extend((child, target) for child in reversed(children[node]))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(entry: _File, output_dir: str, written: _Written) -> int:
    written.check_cancelled()
    target = os.path.join(output_dir, entry.path)
    try:
        fd = os.open(target, _OPEN_FLAGS, 0o600)
    except FileExistsError:
        raise WheelError(
            f"{shown_path(entry.path)} already exists in {output_dir}; unpack into an empty "
            "directory"
        ) from None
    with written.lock:
        written.files.append(target)
    expected = entry.expected
    hasher = hashlib.new(expected.algorithm) if expected is not None else None
    try:
        with _errors_for(entry.archive.path):
            for chunk in member_chunks(entry.archive, entry.member, entry.data_offset, entry.path):
                written.check_cancelled()
                if hasher is not None:
                    hasher.update(chunk)
                _write_all(fd, chunk)
        os.fchmod(fd, entry.mode)
        os.utime(fd, (FIXED_MTIME, FIXED_MTIME))
    finally:
        os.close(fd)
    if hasher is not None and expected is not None and hasher.digest() != expected.digest:
        raise WheelError(
            f"{entry.archive.path}: {shown_path(entry.path)} does not match its "
            f"{expected.algorithm} in RECORD; {_VERIFY_FIX}"
        )
    return entry.member.file_size


def _run_parallel(
    items: Sequence[_File], jobs: int, work: Callable[[_File], int], written: _Written
) -> int:
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
        while not stop.is_set() and not written.cancelled.is_set():
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
    written.check_cancelled()
    return sum(totals)


def _on_own_thread(work: Callable[[], int], written: _Written) -> int:
    """Runs ``work`` (all the writing) on its own thread; the calling thread only waits.

    A signal handler that raises (see ``unpack_cli``) interrupts the wait in
    the main thread, never a write between creating a file and recording
    it: the writer is told to stop, and waited for, before whatever it
    created is removed. The wait is on an Event the writer sets last, not
    ``Thread.join``: a join interrupted by an exception may mark a thread
    that still runs as stopped (CPython's ``_wait_for_tstate_lock``).
    """
    results: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, name="unpack_wheel-writer", daemon=True)
    thread.start()
    try:
        done.wait()
    except BaseException:
        written.cancelled.set()
        while not done.is_set():
            # Nothing may be created once the removal starts: wait, whatever comes.
            with contextlib.suppress(BaseException):
                done.wait()
        raise
    if errors:
        raise errors[0]
    return results[0]


def _remove(written: _Written) -> None:
    for path in written.files:
        with contextlib.suppress(OSError):
            os.unlink(path)
    if written.dirs and written.tree is not None:
        _remove_dirs(written.tree, written.output_dir, written.dirs)
    if written.root is not None:
        with contextlib.suppress(OSError):
            os.rmdir(written.root)


def _remove_dirs(tree: _Tree, output_dir: str, reached: dict[int, bool]) -> None:
    """Removes the directories this unpack created, children first.

    Walks only the directories ``_make_dirs`` reached (created, or found),
    building paths as it goes, like ``_make_dirs``.
    """
    children = tree.children()
    stack = [(node, output_dir, False) for node in children[0] if node in reached]
    while stack:
        node, parent, done = stack.pop()
        target = os.path.join(parent, tree.names[node])
        if done:
            if reached[node]:
                with contextlib.suppress(OSError):
                    os.rmdir(target)
            continue
        stack.append((node, parent, True))
        stack.extend((child, target, False) for child in children[node] if child in reached)


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
    if os.path.lexists(output_dir) and not os.path.isdir(output_dir):
        raise WheelError(
            f"cannot unpack into {output_dir}: it exists and is not a directory; remove it, or "
            "pass a directory as --output-dir"
        )
    archives = [MemberReader(path, is_wheel=True) for path in ([wheel] if wheel else [])]
    archives += [MemberReader(path) for path in zip_deps]
    written = _Written(output_dir=output_dir)
    try:
        # The removal covers the closing too: an exception raised there (a
        # signal) after the writing must not leave the output in place.
        try:
            plan = _plan(archives, limits)
            if wheel:
                with _errors_for(wheel):
                    _check_dist_info(archives[0], plan.dist_infos, verify_record)
                    if verify_record:
                        _read_record(archives[0], plan.files)
            written.tree = plan.tree
            total = _on_own_thread(
                lambda: _write(plan, output_dir, jobs or default_jobs(), written), written
            )
            return UnpackResult(len(plan.files), len(plan.tree), total)
        finally:
            for archive in archives:
                if archive.fd >= 0:
                    os.close(archive.fd)
                    archive.fd = -1
    except BaseException:
        _remove(written)
        raise


def _write(plan: _Plan, output_dir: str, jobs: int, written: _Written) -> int:
    """Creates the output directory (when missing), the directories and the files."""
    try:
        if not os.path.isdir(output_dir):
            os.mkdir(output_dir, 0o755)
            written.root = output_dir
        _make_dirs(output_dir, plan.tree, written)
        order = sorted(plan.files.values(), key=lambda f: (-f.member.compressed_size, f.path))
        return _run_parallel(order, jobs, lambda f: _write_file(f, output_dir, written), written)
    except OSError as exc:
        where = exc.filename or output_dir
        raise WheelError(
            f"cannot write {where}: {exc.strerror}; check free space, permissions and "
            "name lengths of the output directory"
        ) from None
