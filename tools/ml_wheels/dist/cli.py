"""Command line of ``wheel_dist.py``: ``copy`` and ``publish``.

The Bazel targets pass the distribution files between ``--files`` and
``--end-files`` (``$(rootpaths ...)`` may give several); what the user types
after ``bazel run //pkg:target --`` follows.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ml_wheels.dist.copy import copy_out, resolve_destination
from ml_wheels.dist.publish import run_twine, twine_arguments
from ml_wheels.errors import WheelError

_COPY_DESCRIPTION = """\
Copy wheels and sdists out of Bazel under their own names (wheel_dist).

  bazel run //pkg:wheel.dist -- DIR [--force]

DIR is created if missing; a relative DIR is relative to the directory where
bazel was run. A file of the same name with the same bytes is left as it is;
one with different bytes is an error unless --force replaces it.
"""


def split_files(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Splits ``[--files F... --end-files] REST`` into (files, rest)."""
    argv = list(argv)
    if "--files" not in argv:
        return [], argv
    start = argv.index("--files")
    if "--end-files" not in argv[start:]:
        raise WheelError("--files without --end-files; the Bazel target writes both")
    end = argv.index("--end-files", start)
    return argv[start + 1 : end], argv[:start] + argv[end + 1 :]


def _copy(files: list[str], rest: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wheel_dist",
        description=_COPY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("destination", metavar="DIR", help="directory to copy the files into")
    parser.add_argument(
        "--force", action="store_true", help="replace files of the same name that differ"
    )
    args = parser.parse_args(rest)
    destination = resolve_destination(args.destination, os.environ)
    for path in copy_out(files, destination, force=args.force):
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``copy`` or ``publish``; returns the exit status (2 on a user error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    prog = "wheel_publish" if command == "publish" else "wheel_dist"
    try:
        if command not in ("copy", "publish"):
            raise WheelError("the first argument must be `copy` or `publish` (the targets pass it)")
        files, rest = split_files(argv[1:])
        if command == "copy":
            return _copy(files, rest)
        return run_twine(twine_arguments(files, rest, os.environ))
    except WheelError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
