"""Which Python files the tests depend on, inside the wheel's packages, the wheel lacks.

``wheel_test_deps_coverage_test`` writes a JSON manifest at analysis time:
every Python source file the listed tests depend on (collected by an aspect
over ``deps`` and ``data``), which tests pulled it in, and, for a
``python_wheel`` target built in direct mode, where each of the wheel's own
inputs went. This module reads it, reads the wheel's RECORD (the members the
wheel really has, whatever Bazel thought), places each test file where
``python_wheel`` would put it, and reports those inside the checked packages
that the wheel does not hold.

Placing a file (its *wheel path*):

1. a file the wheel was built from: where the wheel has it;
2. with ``strip_path_prefixes``/``path_remaps`` set on the test: by them,
   exactly as ``python_wheel`` maps paths;
3. otherwise, beside the nearest directory of the file (itself or an
   ancestor) that the wheel has files from, e.g. ``src/pkg/new/x.py`` goes to
   ``pkg/new/x.py`` when ``src/pkg/a.py`` went to ``pkg/a.py``;
4. otherwise at its repository-relative path (``python_wheel``'s default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from ml_wheels.errors import WheelError
from ml_wheels.size.archive import Wheel
from ml_wheels.unpack_record import parse_record

MAX_RECORD_BYTES = 64 << 20
"""A larger RECORD is refused: no real wheel lists that many files."""

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Source:
    """A Python file that the tests depend on.

    Attributes:
        path: Its repository-relative path (what ``python_wheel`` maps).
        short_path: Bazel's ``File.short_path`` (``../repo/...`` for other repositories).
        mapped: Its wheel path by the test's ``strip_path_prefixes``/``path_remaps``.
        tests: Labels of the tests that depend on it.
    """

    path: str
    short_path: str
    mapped: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    """What the test rule knew at analysis time.

    Attributes:
        label: The test's label, for messages.
        packages: Wheel paths (directories or files) whose files are checked;
            empty: every top-level package and module of the wheel.
        ignore: Paths or globs of files never reported.
        explicit_mapping: Whether the test sets ``strip_path_prefixes`` or ``path_remaps``.
        sources: The tests' Python files.
        contents: ``File.short_path`` -> wheel path of the wheel's own file
            inputs, or None when unknown (a ``.whl`` file, ``pep517`` mode).
        trees: ``File.short_path`` -> wheel path of the wheel's directory inputs.
    """

    label: str
    packages: tuple[str, ...]
    ignore: tuple[str, ...]
    explicit_mapping: bool
    sources: tuple[Source, ...]
    contents: Optional[dict[str, str]]
    trees: dict[str, str] = field(default_factory=dict)


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WheelError(f"coverage manifest: {what} must be a list of strings; rebuild the test")
    return tuple(value)


def _string_dict(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise WheelError(f"coverage manifest: {what} must map strings to strings; rebuild the test")
    return dict(value)


def parse_manifest(text: str) -> Manifest:
    """Reads the manifest ``wheel_test_deps_coverage_test`` writes.

    Args:
        text: The JSON text.

    Returns:
        The manifest.

    Raises:
        WheelError: The text is not a manifest of the expected shape.
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise WheelError(f"coverage manifest is not JSON ({error}); rebuild the test") from None
    if not isinstance(data, dict):
        raise WheelError("coverage manifest must be a JSON object; rebuild the test")
    sources = []
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list):
        raise WheelError("coverage manifest: sources must be a list; rebuild the test")
    for item in raw_sources:
        if not isinstance(item, dict):
            raise WheelError("coverage manifest: each source must be an object; rebuild the test")
        path, short_path, mapped = (item.get(key) for key in ("path", "short_path", "mapped"))
        if not all(isinstance(value, str) for value in (path, short_path, mapped)):
            raise WheelError("coverage manifest: a source lacks path/short_path/mapped")
        sources.append(
            Source(str(path), str(short_path), str(mapped), _strings(item.get("tests"), "tests"))
        )
    contents = data.get("contents")
    return Manifest(
        label=str(data.get("label", "")),
        packages=_strings(data.get("packages", []), "packages"),
        ignore=_strings(data.get("ignore", []), "ignore"),
        explicit_mapping=bool(data.get("explicit_mapping", False)),
        sources=tuple(sources),
        contents=None if contents is None else _string_dict(contents, "contents"),
        trees=_string_dict(data.get("trees", {}), "trees"),
    )


def wheel_files(path: str) -> frozenset[str]:
    """The files a wheel holds: those its RECORD lists that are also in the archive.

    The archive is read by the strict reader ``wheel_size`` and ``py_import``
    use (bounded by the file's size).

    Args:
        path: The ``.whl`` file.

    Returns:
        The wheel paths of its files.

    Raises:
        WheelError: It is no readable zip, has no ``*.dist-info/RECORD``, or
            RECORD is malformed.
    """
    with Wheel(path) as wheel:
        members = {entry.path: entry for entry in wheel.sizes.entries}
        records = sorted(
            name for name in members if name.count("/") == 1 and name.endswith(".dist-info/RECORD")
        )
        if len(records) != 1:
            found = ", ".join(records) if records else "none"
            raise WheelError(
                f"{path}: a wheel has exactly one <name>-<version>.dist-info/RECORD at its top "
                f"level (found: {found}); give a wheel built by python_wheel or another "
                "standards-following tool"
            )
        record = records[0]
        size = members[record].size
        problem = wheel.ratio_problem(record)
        if size > MAX_RECORD_BYTES or problem:
            raise WheelError(
                f"{path}: {record} is {size} bytes{': ' + problem if problem else ''}; "
                f"a RECORD of more than {MAX_RECORD_BYTES} bytes is refused"
            )
        data = wheel.read_ranges(record, [(0, size)]).get(0, b"")
    try:
        listed = parse_record(data)
    except WheelError as error:
        raise WheelError(f"{path}: {record}: {error}") from None
    return frozenset(name for name in listed if name in members)


def default_packages(files: Iterable[str]) -> tuple[str, ...]:
    """Every top-level package (directory with a ``.py`` file) and module of a wheel.

    Args:
        files: The wheel's files.

    Returns:
        Their top-level names, sorted; ``.dist-info`` and ``.data`` left out.
    """
    found = set()
    for name in files:
        if not name.endswith(".py"):
            continue
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info") or top.endswith(".data"):
            continue
        found.add(top)
    return tuple(sorted(found))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regular expression over whole ``/``-separated paths.

    ``**`` matches any run of characters (``/`` included: any depth), ``*``
    and ``?`` any run of, and one, character but ``/``; ``[...]`` a class.
    A pattern ending with ``/`` matches everything below that directory.

    Args:
        pattern: The glob.

    Returns:
        The compiled expression (``fullmatch`` it).
    """
    if pattern.endswith("/"):
        pattern += "**"
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))


def ignore_matches(pattern: str, paths: Iterable[str]) -> bool:
    """Whether an ``ignore`` entry covers a file known by any of ``paths``.

    An entry without glob characters is a path: the file itself, or a
    directory and everything under it. Otherwise it is a glob (``glob_regex``).

    Args:
        pattern: The ``ignore`` entry.
        paths: The file's repository path, short path and wheel path.

    Returns:
        True when it matches one of them.
    """
    if not any(c in pattern for c in _GLOB_CHARS):
        prefix = pattern.rstrip("/") + "/"
        return any(path == pattern or path.startswith(prefix) for path in paths)
    regex = glob_regex(pattern)
    return any(regex.fullmatch(path) for path in paths)


def directory_map(manifest: Manifest) -> dict[str, str]:
    """Repository directory -> wheel directory, learnt from the wheel's own inputs.

    A file that kept its name maps its directory; a tree maps itself.
    Directories that went to two places are left out.

    Args:
        manifest: The manifest (its ``contents`` and ``trees``).

    Returns:
        The map, by ``short_path`` of the directory.
    """
    found: dict[str, Optional[str]] = {}

    def add(directory: str, destination: str) -> None:
        if directory in found and found[directory] != destination:
            found[directory] = None
        else:
            found[directory] = destination

    for short_path, destination in sorted((manifest.contents or {}).items()):
        directory, _, base = short_path.rpartition("/")
        wheel_directory, _, wheel_base = destination.rpartition("/")
        if base == wheel_base:
            add(directory, wheel_directory)
    for short_path, destination in sorted(manifest.trees.items()):
        add(short_path, destination)
    return {key: value for key, value in found.items() if value is not None}


def place(source: Source, manifest: Manifest, directories: dict[str, str]) -> str:
    """The wheel path of a test file (see the module docstring for the order).

    Args:
        source: The file.
        manifest: The manifest.
        directories: ``directory_map(manifest)``.

    Returns:
        Its wheel path.
    """
    contents = manifest.contents or {}
    if source.short_path in contents:
        return contents[source.short_path]
    if manifest.explicit_mapping:
        return source.mapped
    directory = source.short_path
    while "/" in directory:
        directory = directory.rsplit("/", 1)[0]
        if directory in directories:
            rest = source.short_path[len(directory) + 1 :]
            return directories[directory] + "/" + rest if directories[directory] else rest
    if "" in directories and not source.short_path.startswith("../"):
        return directories[""] + "/" + source.short_path if directories[""] else source.short_path
    return source.mapped


def in_packages(path: str, packages: Iterable[str]) -> bool:
    """Whether a wheel path is one of ``packages`` or below one."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in packages)


@dataclass(frozen=True)
class Missing:
    """A test file the wheel lacks.

    Attributes:
        source: The file.
        wheel_path: Where the wheel should have it.
    """

    source: Source
    wheel_path: str


@dataclass(frozen=True)
class Result:
    """The outcome of ``check``.

    Attributes:
        packages: The packages checked.
        checked: Test files inside them.
        missing: Those the wheel lacks, not ignored, by wheel path.
        ignored: Wheel paths of those the wheel lacks that ``ignore`` covers.
        unused_ignore: ``ignore`` entries that matched no test file.
        unknown_packages: ``packages`` entries the wheel has no file in.
        wheel_packages: The wheel's own top-level packages and modules.
    """

    packages: tuple[str, ...]
    checked: int
    missing: tuple[Missing, ...]
    ignored: tuple[str, ...]
    unused_ignore: tuple[str, ...]
    unknown_packages: tuple[str, ...]
    wheel_packages: tuple[str, ...]


def check(manifest: Manifest, files: frozenset[str]) -> Result:
    """Compares the tests' Python files inside the packages with the wheel's files.

    Args:
        manifest: The manifest.
        files: ``wheel_files`` of the wheel.

    Returns:
        The result.
    """
    wheel_packages = default_packages(files)
    packages = manifest.packages or wheel_packages
    unknown = tuple(p for p in manifest.packages if not any(in_packages(f, [p]) for f in files))
    directories = directory_map(manifest)
    used: set[str] = set()
    checked = 0
    missing = []
    ignored = []
    for source in manifest.sources:
        wheel_path = place(source, manifest, directories)
        if not in_packages(wheel_path, packages):
            continue
        checked += 1
        names = (source.path, source.short_path, wheel_path)
        matching = [p for p in manifest.ignore if ignore_matches(p, names)]
        used.update(matching)
        if wheel_path in files:
            continue
        if matching:
            ignored.append(wheel_path)
        else:
            missing.append(Missing(source, wheel_path))
    missing.sort(key=lambda m: (m.wheel_path, m.source.short_path))
    return Result(
        packages=tuple(packages),
        checked=checked,
        missing=tuple(missing),
        ignored=tuple(sorted(ignored)),
        unused_ignore=tuple(p for p in manifest.ignore if p not in used),
        unknown_packages=unknown,
        wheel_packages=wheel_packages,
    )


def _tests_text(tests: tuple[str, ...]) -> str:
    if len(tests) <= 3:
        return ", ".join(tests)
    return f"{', '.join(tests[:3])} and {len(tests) - 3} more"


def format_result(manifest: Manifest, wheel_name: str, result: Result) -> tuple[bool, str]:
    """The test's verdict and log text.

    Args:
        manifest: The manifest.
        wheel_name: The wheel's file name.
        result: ``check``'s result.

    Returns:
        (passed, text).
    """
    label = manifest.label
    packages = ", ".join(result.packages) or "(none)"
    if result.unknown_packages:
        return False, (
            f"FAIL: {label}: packages {', '.join(result.unknown_packages)} hold no file of "
            f"{wheel_name} (its top-level packages: {', '.join(result.wheel_packages) or 'none'}); "
            'packages are wheel paths such as "mypkg" or "mypkg/sub": fix the spelling or drop '
            "them\n"
        )
    if not result.missing and result.checked == 0:
        return False, (
            f"FAIL: {label}: none of the {len(manifest.sources)} Python files of the tests lies "
            f"in the checked packages ({packages}) of {wheel_name}, so nothing was checked; "
            "name the wheel's packages in packages, and if the wheel's paths differ from the "
            "repository's set strip_path_prefixes/path_remaps as on the python_wheel\n"
        )
    lines = []
    ignored = [f"  ignored: {path}" for path in result.ignored]
    notes = [
        f"  note: ignore entry {pattern!r} matched no file of the tests; drop it"
        for pattern in result.unused_ignore
    ]
    if result.missing:
        count = len(result.missing)
        lines.append(
            f"FAIL: {label}: {count} Python file{'s' if count != 1 else ''} that the tests "
            f"depend on {'are' if count != 1 else 'is'} not in {wheel_name} "
            f"(checked packages: {packages}):"
        )
        for item in result.missing:
            lines.append(
                f"  {item.wheel_path} (source {item.source.short_path}), "
                f"pulled in by {_tests_text(item.source.tests)}"
            )
        lines += ignored + notes
        lines.append(
            "Fix: add each to the wheel's srcs (the python_wheel's srcs, or the wheel_sources / "
            "py_library it takes them from), or, when the wheel must not ship it, list it in "
            f'ignore of {label} (a repository or wheel path, or a glob such as "mypkg/testing/**").'
        )
    else:
        held = result.checked - len(result.ignored)
        lines.append(
            f"PASS: {label}: {wheel_name} holds the {held} Python file{'s' if held != 1 else ''} "
            f"the tests depend on inside its packages ({packages})"
            + (f"; {len(result.ignored)} more ignored:" if result.ignored else ".")
        )
        lines += ignored + notes
    return not result.missing, "\n".join(lines) + "\n"
