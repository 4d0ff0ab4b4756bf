"""Maps wheel paths to input files from ``--file``, ``--tree`` and ``--distinfo-file``."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence

from ml_wheels.errors import WheelError
from ml_wheels.zipwriter import validate_arcname

# The files the packer writes itself; users cannot supply them.
GENERATED_DIST_INFO = ("METADATA", "WHEEL", "RECORD", "entry_points.txt")
_RESERVED_DIST_INFO = (*GENERATED_DIST_INFO, "RECORD.jws", "RECORD.p7s", "INSTALLER")
_DATA_SCHEMES = ("purelib", "platlib", "headers", "scripts", "data")


def wheel_text(value: str, what: str) -> str:
    """Returns a command-line or file-system string as the UTF-8 text it encodes.

    Python decodes arguments and file names with the locale's encoding (with
    surrogate escapes); wheel paths must be the UTF-8 text of those bytes,
    whatever the locale of the build sandbox.

    Raises:
        WheelError: If the bytes are not valid UTF-8.
    """
    try:
        return os.fsencode(value).decode("utf-8")
    except UnicodeError:
        raise WheelError(f"{what} {value!r} is not valid UTF-8; rename it") from None


def fs_path(text: str) -> str:
    """Returns the file-system form of a UTF-8 path read from JSON."""
    return os.fsdecode(text.encode("utf-8", "surrogateescape"))


def _join(prefix: str, rel: str) -> str:
    prefix = prefix.rstrip("/")
    return f"{prefix}/{rel}" if prefix and prefix != "." else rel


def _stat_regular(path: str, flag: str) -> None:
    """Checks that ``path`` (after following symlinks) is a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise WheelError(
                f"{flag} input {path} is a dangling symlink; make sure its target is built "
                "and listed as an input"
            ) from None
        raise WheelError(f"{flag} input {path} does not exist; check the path") from None
    except OSError as exc:
        raise WheelError(f"{flag} input {path} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise WheelError(
            f"{flag} input {path} is a directory; use --tree DEST_PREFIX {path} to add its contents"
        )
    if not stat.S_ISREG(st.st_mode):
        raise WheelError(f"{flag} input {path} is not a regular file; pass files only")


# Bounds on a tree's expansion through directory symlinks: a lattice of
# symlinks (each level linking twice to the next) expands exponentially
# without any loop, so both the total and the repeats are capped.
MAX_TREE_ENTRIES = 1_000_000
MAX_DIRECTORY_PATHS = 64


class _Frame:
    """One directory being listed: its remaining names and its ancestors."""

    def __init__(
        self, directory: str, rel: str, ancestors: frozenset[tuple[int, int]], names: list[str]
    ) -> None:
        self.directory = directory
        self.rel = rel
        self.ancestors = ancestors
        self.names = iter(names)


class _TreeWalk:
    """The state of one ``walk_tree`` call (entries seen, visits per directory)."""

    def __init__(self, src_dir: str, flag: str, max_entries: int, max_paths: int) -> None:
        self.src_dir = src_dir
        self.flag = flag
        self.max_entries = max_entries
        self.max_paths = max_paths
        self.entries = 0
        self.visits: dict[tuple[int, int], int] = {}

    def _fail(self, problem: str) -> WheelError:
        return WheelError(f"{self.flag} input {self.src_dir} {problem}")

    def enter(self, directory: str, rel: str, ancestors: frozenset[tuple[int, int]]) -> _Frame:
        """Checks a directory against loops and the caps; returns its frame.

        Raises:
            WheelError: On a loop, too many paths to one directory, too many
                entries in all, or an unreadable directory.
        """
        try:
            st = os.stat(directory)
            with os.scandir(directory) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            raise self._fail(
                f"has a directory {directory} that cannot be read: {exc.strerror}; "
                "fix its permissions"
            ) from None
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            raise self._fail(f"has a symlink loop at {directory}; remove the loop")
        self.visits[key] = self.visits.get(key, 0) + 1
        if self.visits[key] > self.max_paths:
            raise self._fail(
                f"reaches directory {directory} through more than {self.max_paths} paths of "
                "directory symlinks (it expands exponentially); replace the repeated "
                "symlinks by one, or add that directory once with its own --tree"
            )
        self.entries += len(names)
        if self.entries > self.max_entries:
            raise self._fail(
                f"expands to more than {self.max_entries} entries (at {directory}); check "
                "its directory symlinks, or split it into several --tree inputs"
            )
        return _Frame(directory, rel, ancestors | {key}, names)


def walk_tree(
    src_dir: str,
    flag: str = "--tree",
    *,
    max_entries: int = MAX_TREE_ENTRIES,
    max_paths: int = MAX_DIRECTORY_PATHS,
) -> list[tuple[str, str]]:
    """Lists every regular file under a directory, following symlinks.

    The walk is iterative (no recursion limit) and bounded: a directory that
    is its own ancestor is a loop, and neither the total number of entries nor
    the number of paths reaching one directory may exceed the caps.

    Args:
        src_dir: The directory (or a symlink to one).
        flag: What the directory was given as, for error messages.
        max_entries: Most directory entries listed in all.
        max_paths: Most paths through which one directory may be reached.

    Returns:
        ``(relative path with '/' as UTF-8 text, path)`` pairs, in depth-first
        order of sorted names.

    Raises:
        WheelError: On a dangling symlink, a non-regular file, a symlink loop
            or an expansion over the caps.
    """
    if not os.path.isdir(src_dir):
        raise WheelError(f"{flag} input {src_dir} is not a directory; pass a directory")
    walk = _TreeWalk(src_dir, flag, max_entries, max_paths)
    found: list[tuple[str, str]] = []
    stack = [walk.enter(src_dir, "", frozenset())]
    while stack:
        frame = stack[-1]
        name = next(frame.names, None)
        if name is None:
            stack.pop()
            continue
        path = os.path.join(frame.directory, name)
        text = wheel_text(name, f"file name in {frame.directory}:")
        child_rel = f"{frame.rel}/{text}" if frame.rel else text
        if os.path.isdir(path):
            stack.append(walk.enter(path, child_rel, frame.ancestors))
        else:
            _stat_regular(path, flag)
            found.append((child_rel, path))
    return found


class InputMap:
    """Wheel path -> input file, rejecting conflicting duplicates."""

    def __init__(self, dist_info: str, data_dir: str | None) -> None:
        """Initializes an empty map.

        Args:
            dist_info: The wheel's ``.dist-info`` directory name.
            data_dir: The wheel's ``.data`` directory name; None when not
                known yet (compression shards), which checks only the scheme.
        """
        self.dist_info = dist_info
        self.data_dir = data_dir
        self.files: dict[str, str] = {}

    def _add(self, arcname: str, path: str) -> None:
        validate_arcname(arcname)
        existing = self.files.get(arcname)
        if existing is not None:
            if existing == path or os.path.samefile(existing, path):
                return
            raise WheelError(
                f"wheel path {arcname!r} has two different sources: {existing} and {path}; "
                "keep only one of them"
            )
        self.files[arcname] = path

    def check_payload_path(self, arcname: str, flag: str) -> None:
        """Rejects payload paths inside .dist-info or a foreign/malformed .data dir."""
        validate_arcname(arcname)
        top, _, rest = arcname.partition("/")
        if top.endswith(".dist-info"):
            raise WheelError(
                f"{flag} destination {arcname!r} is inside a .dist-info directory; use "
                f"--distinfo-file NAME SRC to add files to {self.dist_info}/"
            )
        if top.endswith(".data"):
            if self.data_dir is not None and top != self.data_dir:
                raise WheelError(
                    f"{flag} destination {arcname!r} uses data directory {top!r}; this "
                    f"wheel's is {self.data_dir!r}"
                )
            scheme, _, leaf = rest.partition("/")
            if scheme not in _DATA_SCHEMES or not leaf:
                raise WheelError(
                    f"{flag} destination {arcname!r} must be under {top}/<scheme>/ "
                    f"with scheme one of {', '.join(_DATA_SCHEMES)}"
                )

    def add_file(self, dest: str, src: str) -> None:
        """Adds ``--file DEST SRC``."""
        dest = wheel_text(dest, "--file destination")
        self.check_payload_path(dest, "--file")
        _stat_regular(src, "--file")
        self._add(dest, src)

    def add_tree(self, prefix: str, src_dir: str) -> None:
        """Adds ``--tree DEST_PREFIX SRC_DIR``: every regular file under the directory."""
        prefix = wheel_text(prefix, "--tree destination")
        for rel, path in walk_tree(src_dir):
            arcname = _join(prefix, rel)
            self.check_payload_path(arcname, "--tree")
            self._add(arcname, path)

    def add_project_file(self, dest: str, src: str) -> list[str]:
        """Adds ``--project-file DEST SRC`` (pep517 mode: setup.py, pyproject.toml, ...).

        ``SRC`` may be a directory (a Bazel tree artifact): its files go below ``DEST``.

        Returns:
            The staged paths added.
        """
        dest = wheel_text(dest, "--project-file destination")
        if os.path.isdir(src):
            added = []
            for rel, path in walk_tree(src, "--project-file"):
                arcname = _join(dest, rel)
                self._add(arcname, path)
                added.append(arcname)
            return added
        validate_arcname(dest)
        _stat_regular(src, "--project-file")
        self._add(dest, src)
        return [dest]

    def add_distinfo_file(self, name: str, src: str) -> None:
        """Adds ``--distinfo-file NAME SRC`` at ``<dist-info>/NAME``."""
        name = wheel_text(name, "--distinfo-file name")
        validate_arcname(name)
        top = name.split("/", 1)[0]
        if top in _RESERVED_DIST_INFO:
            what = "is" if top == name else f"puts a file under {top!r}, which is"
            raise WheelError(
                f"--distinfo-file {name!r} {what} written by the packer itself; remove it or "
                "give it another name"
            )
        _stat_regular(src, "--distinfo-file")
        self._add(f"{self.dist_info}/{name}", src)


def build_input_map(
    dist_info: str,
    data_dir: str,
    files: Iterable[Sequence[str]] = (),
    trees: Iterable[Sequence[str]] = (),
    distinfo_files: Iterable[Sequence[str]] = (),
) -> InputMap:
    """Builds the map from the CLI's ``--file``/``--tree``/``--distinfo-file`` pairs."""
    inputs = InputMap(dist_info, data_dir)
    for dest, src in files:
        inputs.add_file(dest, src)
    for prefix, src_dir in trees:
        inputs.add_tree(prefix, src_dir)
    for name, src in distinfo_files:
        inputs.add_distinfo_file(name, src)
    return inputs
