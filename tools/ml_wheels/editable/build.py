"""Builds an editable wheel: the twin's metadata plus a `.pth` file and an import hook.

The hook (``__editable___<dist>_<version>_finder.py``, named as setuptools
names its own) maps each module of the twin wheel to the absolute path of the
file it is built from, and each package to the directories holding its files,
so a package may be split between the workspace (sources) and Bazel's output
tree (generated files, extensions). The ``.pth`` file installs the hook when
the interpreter starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ml_wheels.errors import WheelError
from ml_wheels.pack import write_wheel
from ml_wheels.sources import BytesSource

# Members Python imports: sources, and extension modules by their usual suffixes.
_SOURCE_SUFFIX = ".py"
_EXTENSION_SUFFIXES = (".so", ".pyd")
# .dist-info files of the twin that the editable wheel does not copy.
_NOT_COPIED = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True)
class Manifest:
    """What the analysis knows about the twin wheel (python_editable_wheel's JSON).

    Attributes:
        target: the twin's label, for messages.
        wheel_name: the twin's file name, which the editable wheel takes.
        finder: the finder module's name.
        pth_name: the ``__editable__.<dist>-<version>.pth`` file name.
        dist_info: runfiles path of the twin's ``.dist-info`` directory.
        dist_info_name: ``<dist>-<version>.dist-info``.
        files: ``(wheel path, runfiles path, in the workspace)`` per file.
        trees: ``(wheel path prefix, runfiles path)`` per directory input.
    """

    target: str
    wheel_name: str
    finder: str
    pth_name: str
    dist_info: str
    dist_info_name: str
    files: tuple[tuple[str, str, bool], ...]
    trees: tuple[tuple[str, str], ...]


def load_manifest(path: str) -> Manifest:
    """Reads the manifest python_editable_wheel wrote.

    Args:
        path: the manifest file.

    Returns:
        The manifest.
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return Manifest(
        target=data["target"],
        wheel_name=data["wheel_name"],
        finder=data["finder"],
        pth_name=f"__editable__.{data['distribution']}-{data['version']}.pth",
        dist_info=data["dist_info"],
        dist_info_name=data["dist_info_name"],
        files=tuple((f["path"], f["runfile"], bool(f["workspace"])) for f in data["files"]),
        trees=tuple((t["path"], t["runfile"]) for t in data["trees"]),
    )


def resolve_paths(manifest: Manifest, runfiles_root: str, workspace: str) -> dict[str, str]:
    """Maps every wheel path of the twin to the absolute path of its file.

    A source file of the main repository is the workspace's own file
    (``workspace`` joined with its path); anything else (generated files,
    files of other repositories, directory inputs) is where the runfiles'
    link points: Bazel's output tree or its external repositories.

    Args:
        manifest: the manifest.
        runfiles_root: the directory the manifest's runfiles paths are relative to.
        workspace: the workspace root (``BUILD_WORKSPACE_DIRECTORY``).

    Returns:
        Wheel path to absolute file path.

    Raises:
        WheelError: a file is missing where it should be.
    """
    resolved: dict[str, str] = {}
    for wheel_path, runfile, in_workspace in manifest.files:
        if in_workspace:
            path = os.path.join(workspace, runfile)
        else:
            path = os.path.realpath(os.path.join(runfiles_root, runfile))
        if not os.path.isfile(path):
            raise WheelError(
                f"{manifest.target}: {wheel_path!r} should be at {path}, which is not a file; "
                "run python_editable_wheel with `bazel run` from the workspace, after the build"
            )
        resolved[wheel_path] = path
    for prefix, runfile in manifest.trees:
        root = os.path.realpath(os.path.join(runfiles_root, runfile))
        if not os.path.isdir(root):
            raise WheelError(
                f"{manifest.target}: the directory for {prefix!r} should be at {root}, "
                "which is not a directory; run python_editable_wheel with `bazel run`"
            )
        for directory, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(directory, name)
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                resolved[prefix.rstrip("/") + "/" + relative] = full
    return resolved


def _module_name(wheel_path: str) -> tuple[str, bool] | None:
    """The module a wheel path defines, and whether it is a package's ``__init__``."""
    for prefix in (".data/purelib/", ".data/platlib/"):
        head, sep, rest = wheel_path.partition(prefix)
        if sep and "/" not in head:
            wheel_path = rest
    parts = wheel_path.split("/")
    if parts[0].endswith((".dist-info", ".data")):
        return None
    name = parts[-1]
    if name.endswith(_SOURCE_SUFFIX):
        stem = name[: -len(_SOURCE_SUFFIX)]
    elif name.endswith(_EXTENSION_SUFFIXES):
        stem = name.split(".", 1)[0]
    else:
        return None
    package = parts[:-1]
    if not all(p.isidentifier() for p in package) or not stem.isidentifier():
        return None
    if stem == "__init__":
        return (".".join(package), True) if package else None
    return ".".join([*package, stem]), False


def module_map(files: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The finder's tables: module to file, package to its directories.

    Args:
        files: wheel path to absolute path.

    Returns:
        ``(modules, packages)``: each module (a package's ``__init__`` too)
        to its file; each package, with or without ``__init__`` (a namespace
        package), to the sorted directories that hold its files (each file's
        directory climbed up to the package's level).
    """
    modules: dict[str, str] = {}
    packages: dict[str, set[str]] = {}
    for wheel_path, path in files.items():
        named = _module_name(wheel_path)
        if named is not None:
            module, _ = named
            # a.py beside a.cpython-311-x86_64-linux-gnu.so: the extension
            # wins, as with Python's own finder (extensions come first).
            if module not in modules or not path.endswith(_SOURCE_SUFFIX):
                modules[module] = path
        parts = wheel_path.split("/")[:-1]
        if parts and parts[0].endswith((".dist-info", ".data")):
            continue
        directory = os.path.dirname(path)
        for depth in range(len(parts), 0, -1):
            package = parts[:depth]
            if not all(p.isidentifier() for p in package):
                directory = os.path.dirname(directory)
                continue
            packages.setdefault(".".join(package), set()).add(directory)
            directory = os.path.dirname(directory)
    return modules, {name: sorted(dirs) for name, dirs in sorted(packages.items())}


_FINDER = '''\
"""Import hook of an editable install of {target} (written by rules_ml_wheels).

MODULES maps each module to the file Bazel builds it from; PACKAGES maps each
package to the directories that hold its files. Edit the sources and import
again; rebuild with Bazel for generated files and extensions.
"""

import importlib.machinery
import importlib.util
import sys

MODULES = {modules}
PACKAGES = {packages}


class _EditableFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        file = MODULES.get(fullname)
        locations = PACKAGES.get(fullname)
        if file is None and locations is None:
            return None
        if file is None:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = list(locations)
            return spec
        return importlib.util.spec_from_file_location(
            fullname,
            file,
            submodule_search_locations=None if locations is None else list(locations),
        )

    @classmethod
    def invalidate_caches(cls):
        pass


def install():
    if _EditableFinder in sys.meta_path:
        return
    # Before the path finder, so that this map wins over a same-named
    # directory on sys.path (the workspace root, when Python runs there).
    for index, finder in enumerate(sys.meta_path):
        if finder is importlib.machinery.PathFinder:
            sys.meta_path.insert(index, _EditableFinder)
            return
    sys.meta_path.append(_EditableFinder)
'''


def finder_source(
    target: str, modules: Mapping[str, str], packages: Mapping[str, list[str]]
) -> str:
    """The finder module's source.

    Args:
        target: the twin's label, for its docstring.
        modules: module to file.
        packages: package to directories.

    Returns:
        Python source, deterministic for the same tables.
    """

    def table(values: Mapping[str, object]) -> str:
        lines = "".join(f"    {key!r}: {values[key]!r},\n" for key in sorted(values))
        return "{\n" + lines + "}"

    return _FINDER.format(target=target, modules=table(modules), packages=table(packages))


def _dist_info_files(manifest: Manifest, runfiles_root: str) -> dict[str, bytes]:
    root = os.path.join(runfiles_root, manifest.dist_info)
    if not os.path.isdir(root):
        raise WheelError(
            f"{manifest.target}: the wheel's .dist-info directory {root} is missing; "
            "run python_editable_wheel with `bazel run`"
        )
    found: dict[str, bytes] = {}
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(directory, name)
            relative = os.path.relpath(full, root).replace(os.sep, "/")
            if relative in _NOT_COPIED:
                continue
            with open(full, "rb") as f:
                found[relative] = f.read()
    if "METADATA" not in found:
        raise WheelError(f"{manifest.target}: {root} has no METADATA; rebuild the wheel")
    return found


def build_editable_wheel(
    manifest: Manifest, runfiles_root: str, workspace: str, output: str
) -> None:
    """Writes the editable wheel to ``output``.

    Members, in this order: the ``.pth`` file, the finder module, the twin's
    ``.dist-info`` files (RECORD rewritten). Entries sorted, timestamps and
    modes fixed: the same paths give the same bytes.

    Args:
        manifest: the manifest.
        runfiles_root: the directory the manifest's runfiles paths are relative to.
        workspace: the workspace root.
        output: the wheel file to write (replaced if it exists).
    """
    files = resolve_paths(manifest, runfiles_root, workspace)
    modules, packages = module_map(files)
    if not modules and not packages:
        raise WheelError(f"{manifest.target}: the wheel has no Python module to install editable")
    pth = f"import {manifest.finder}; {manifest.finder}.install()\n"
    finder = manifest.finder + ".py"
    payload = {
        manifest.pth_name: BytesSource(pth.encode(), manifest.pth_name),
        finder: BytesSource(finder_source(manifest.target, modules, packages).encode(), finder),
    }
    # The project's own writer: canonical order, RECORD last, fixed times,
    # written atomically, as every other wheel of this library.
    write_wheel(
        output,
        manifest.dist_info_name,
        payload,
        _dist_info_files(manifest, runfiles_root),
        level=6,
        jobs=1,
    )
