"""Command line of ``wheel_coverage.py``: what ``wheel_test_deps_coverage_test`` runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Optional

from ml_wheels import __version__
from ml_wheels.coverage.check import check, format_result, parse_manifest, wheel_files
from ml_wheels.errors import WheelError

PROG = "wheel_coverage"

_DESCRIPTION = """\
Check that a wheel holds every Python file its tests depend on inside its
packages (rules_ml_wheels' wheel_test_deps_coverage_test), so that tests run
against the sources cannot pass on a file the wheel forgets.

MANIFEST is the JSON file the test rule writes at analysis time (the tests'
Python files, which tests pulled each in, and the wheel's own inputs);
WHEEL is the .whl file, whose RECORD says what it holds.

exit status: 0 = every file is in the wheel (or ignored); 1 = some are
missing, or nothing was checked; 2 = error (unreadable manifest or wheel).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    parser.add_argument("--manifest", required=True, metavar="JSON", help="the test's manifest")
    parser.add_argument("wheel", metavar="WHEEL", help="the .whl file")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        try:
            with open(args.manifest, encoding="utf-8") as stream:
                text = stream.read()
        except OSError as error:
            raise WheelError(f"{args.manifest}: cannot read: {error.strerror}") from None
        manifest = parse_manifest(text)
        result = check(manifest, wheel_files(args.wheel))
    except WheelError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    passed, text = format_result(manifest, os.path.basename(args.wheel), result)
    sys.stdout.write(text)
    return 0 if passed else 1


__all__ = ["build_parser", "main"]
