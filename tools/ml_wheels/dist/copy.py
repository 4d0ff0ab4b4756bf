"""Copies built wheels and sdists out of Bazel's output tree (what `wheel_dist` runs)."""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Mapping, Sequence

from ml_wheels.errors import WheelError

DIST_SUFFIXES = (".whl", ".tar.gz")


def resolve_destination(destination: str, environ: Mapping[str, str]) -> str:
    """Makes ``destination`` absolute the way the user meant it.

    ``bazel run`` starts the program in its runfiles directory; a relative
    directory is taken relative to ``BUILD_WORKING_DIRECTORY``, where the
    user ran ``bazel``.

    Args:
        destination: The directory the user gave.
        environ: The environment (``os.environ``).

    Returns:
        An absolute path.

    Raises:
        WheelError: If the path is empty, or relative outside of ``bazel run``.
    """
    if not destination:
        raise WheelError("the destination directory is empty; pass one: bazel run ... -- DIR")
    if os.path.isabs(destination):
        return os.path.normpath(destination)
    base = environ.get("BUILD_WORKING_DIRECTORY", "")
    if not base:
        raise WheelError(
            f"the destination {destination!r} is relative and BUILD_WORKING_DIRECTORY is not "
            "set (not under `bazel run`); pass an absolute directory"
        )
    return os.path.normpath(os.path.join(base, destination))


def copy_out(files: Sequence[str], destination: str, force: bool = False) -> list[str]:
    """Copies each distribution file into ``destination`` under its own name.

    The directory is created if missing. A file of the same name already
    there is left alone when it has the same bytes, replaced with ``force``,
    and otherwise an error: nothing is copied unless every file can be.

    Args:
        files: Paths of the ``.whl`` / ``.tar.gz`` files.
        destination: Absolute directory.
        force: Replace files of the same name with different contents.

    Returns:
        The paths written or found identical, in ``files`` order.

    Raises:
        WheelError: On no file, a file that is not a distribution, two files
            of the same name, a destination that is not a directory, or a
            different file in the way without ``force``.
    """
    if not files:
        raise WheelError("no distribution file to copy; give wheel_dist srcs")
    by_name: dict[str, str] = {}
    for path in files:
        name = os.path.basename(path)
        if not name.endswith(DIST_SUFFIXES):
            raise WheelError(
                f"{path} is not a wheel (.whl) or an sdist (.tar.gz); list only "
                "python_wheel/python_sdist targets in wheel_dist srcs"
            )
        if name in by_name and by_name[name] != path:
            raise WheelError(
                f"two files are named {name}: {by_name[name]} and {path}; list each "
                "distribution once"
            )
        by_name[name] = path
    if os.path.lexists(destination) and not os.path.isdir(destination):
        raise WheelError(f"{destination} exists and is not a directory; pick another directory")
    os.makedirs(destination, exist_ok=True)
    plan: list[tuple[str, str, bool]] = []
    for name, path in by_name.items():
        target = os.path.join(destination, name)
        same = os.path.isfile(target) and filecmp.cmp(path, target, shallow=False)
        if os.path.lexists(target) and not same and not force:
            raise WheelError(
                f"{target} already exists with different contents; remove it, pick "
                "another directory, or pass --force to replace it"
            )
        plan.append((path, target, same))
    written = []
    for path, target, same in plan:
        if not same:
            tmp = target + ".tmp-wheel-dist"
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        written.append(target)
    return written
