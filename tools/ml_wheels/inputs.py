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


def walk_tree(src_dir: str, flag: str = "--tree") -> list[tuple[str, str]]:
    """Lists every regular file under a directory, following symlinks.

    Args:
        src_dir: The directory (or a symlink to one).
        flag: What the directory was given as, for error messages.

    Returns:
        ``(relative path with '/' as UTF-8 text, path)`` pairs, sorted by name.

    Raises:
        WheelError: On a dangling symlink, a non-regular file or a symlink loop.
    """
    if not os.path.isdir(src_dir):
        raise WheelError(f"{flag} input {src_dir} is not a directory; pass a directory")
    found: list[tuple[str, str]] = []

    def visit(directory: str, rel: str, ancestors: frozenset[tuple[int, int]]) -> None:
        st = os.stat(directory)
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            raise WheelError(
                f"{flag} input {src_dir} has a symlink loop at {directory}; remove the loop"
            )
        ancestors = ancestors | {key}
        with os.scandir(directory) as it:
            names = sorted(entry.name for entry in it)
        for name in names:
            path = os.path.join(directory, name)
            text = wheel_text(name, f"file name in {directory}:")
            child_rel = f"{rel}/{text}" if rel else text
            if os.path.isdir(path):
                visit(path, child_rel, ancestors)
            else:
                _stat_regular(path, flag)
                found.append((child_rel, path))

    visit(src_dir, "", frozenset())
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
        if name in _RESERVED_DIST_INFO:
            raise WheelError(
                f"--distinfo-file {name!r} is written by the packer itself; remove it or "
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
