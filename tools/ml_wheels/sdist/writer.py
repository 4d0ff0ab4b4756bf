"""Writes a reproducible ``{name}-{version}.tar.gz`` from a python_wheel's contents."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import tarfile
from collections.abc import Iterable, Sequence

from ml_wheels.errors import WheelError
from ml_wheels.naming import is_purelib, normalize_distribution
from ml_wheels.spec import WheelSpec

BUILD_DIR = "_ml_wheels_build"
BACKEND_MODULE = "ml_wheels_sdist_backend"
# 1980-01-01T00:00:00Z, as in wheels: the earliest time a zip can hold, so
# any tool that zips the unpacked files keeps working.
MTIME = 315532800
# The wheel's .dist-info files the backend copies back; METADATA is PKG-INFO.
DIST_INFO_FILES = ("WHEEL", "entry_points.txt")

PYPROJECT = f"""\
# Written by rules_ml_wheels' python_sdist. The wheel built from this sdist
# has the files and core metadata (PKG-INFO) of the Bazel-built wheel; the
# in-tree backend below uses only the standard library.
[build-system]
requires = []
build-backend = "{BACKEND_MODULE}"
backend-path = ["{BUILD_DIR}"]
"""


def sdist_basename(spec: WheelSpec) -> str:
    """``{normalized name}-{version}`` (PEP 625)."""
    return f"{normalize_distribution(spec.distribution)}-{spec.version}"


def _walk(prefix: str, directory: str) -> list[tuple[str, str]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            found.append((f"{prefix.rstrip('/')}/{rel}", path))
    return found


def _tarinfo(name: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = MTIME
    info.mode = 0o755 if executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise WheelError(f"cannot read {path}: {exc.strerror}") from None


def build_sdist(
    spec: WheelSpec,
    dist_info: str,
    files: Iterable[tuple[str, str]],
    trees: Iterable[tuple[str, str]],
    output: str,
    backend_source: str,
) -> list[str]:
    """Writes the sdist; returns its member names in order.

    Args:
        spec: The wheel's spec (name, version, tags, file name).
        dist_info: The wheel's ``.dist-info`` directory (from python_wheel).
        files: (wheel path, source file) pairs.
        trees: (wheel path prefix, source directory) pairs.
        output: The ``.tar.gz`` to write.
        backend_source: Path of the in-tree backend's source.

    Raises:
        WheelError: Naming the target, for a non-pure wheel, a path that
            collides with the sdist's own files, or an unreadable input.
    """
    if not is_purelib(spec.platform_tag):
        raise WheelError(
            f"{spec.target}: python_sdist needs a pure wheel (platform tag 'any'), not "
            f"{spec.platform_tag!r}: an sdist of prebuilt binaries cannot be rebuilt"
        )
    base = sdist_basename(spec)
    members: dict[str, tuple[str | bytes, bool]] = {}

    def add(name: str, source: str | bytes, executable: bool = False, what: str = "") -> None:
        if name in members:
            raise WheelError(
                f"{spec.target}: {what or name} lands on {name!r}, which the sdist already "
                "holds; move it with path_remaps / strip_path_prefixes or rename it"
            )
        members[name] = (source, executable)

    add("PKG-INFO", _read(os.path.join(dist_info, "METADATA")))
    add("pyproject.toml", PYPROJECT.encode())
    add(f"{BUILD_DIR}/{BACKEND_MODULE}.py", _read(backend_source))
    present = [n for n in DIST_INFO_FILES if os.path.isfile(os.path.join(dist_info, n))]
    for name in present:
        add(f"{BUILD_DIR}/{name}", _read(os.path.join(dist_info, name)))
    licenses_dir = os.path.join(dist_info, "licenses")
    licenses = sorted(os.listdir(licenses_dir)) if os.path.isdir(licenses_dir) else []
    for name in licenses:
        add(name, _read(os.path.join(licenses_dir, name)), what=f"license file {name}")
    wheel_paths = []
    for destination, source in [*files, *(f for t in trees for f in _walk(*t))]:
        if destination.split("/", 1)[0] in (BUILD_DIR, "PKG-INFO", "pyproject.toml"):
            raise WheelError(
                f"{spec.target}: the wheel path {destination!r} is reserved in the sdist; "
                "move it with path_remaps"
            )
        add(destination, source, os.access(source, os.X_OK), what=source)
        wheel_paths.append(destination)
    build_spec = {
        "wheel_name": spec.wheel_name,
        "dist_info": spec.dist_info,
        "files": sorted(wheel_paths),
        "dist_info_files": present,
        "license_files": licenses,
    }
    add(
        f"{BUILD_DIR}/wheel.json",
        (json.dumps(build_spec, indent=1, sort_keys=True) + "\n").encode(),
    )
    names = sorted(members)
    tmp = output + ".tmp"
    try:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in names:
                source, executable = members[name]
                data = source if isinstance(source, bytes) else _read(source)
                info = _tarinfo(f"{base}/{name}", len(data), executable)
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return [f"{base}/{name}" for name in names]


def check_output_name(spec: WheelSpec, output: str) -> None:
    """Checks that Starlark's file name is the PEP 625 one."""
    expected = sdist_basename(spec) + ".tar.gz"
    if os.path.basename(output) != expected:
        raise WheelError(
            f"{spec.target}: the sdist is declared as {os.path.basename(output)!r} but its "
            f"PEP 625 name is {expected!r}; this is a bug in python_sdist"
        )


def parse_pairs(values: Sequence[Sequence[str]] | None) -> list[tuple[str, str]]:
    """argparse's ``nargs=2`` lists as tuples."""
    return [(a, b) for a, b in values or []]
