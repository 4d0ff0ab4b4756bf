"""Command line of ``sdist.py``: what python_sdist's action runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ml_wheels.errors import WheelError
from ml_wheels.sdist.writer import build_sdist, check_output_name, parse_pairs
from ml_wheels.spec import load_spec


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="sdist",
        description="Write a reproducible sdist from a python_wheel's spec and contents.",
        fromfile_prefix_chars="@",
    )
    parser.add_argument("--spec", required=True, help="the wheel's JSON spec")
    parser.add_argument("--dist-info", required=True, help="the wheel's .dist-info directory")
    parser.add_argument("--backend", required=True, help="the in-tree backend's source")
    parser.add_argument("--file", nargs=2, action="append", metavar=("DEST", "SRC"))
    parser.add_argument("--tree", nargs=2, action="append", metavar=("DEST", "DIR"))
    parser.add_argument("--output", required=True, help="the .tar.gz to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 on a user error)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        spec = load_spec(args.spec)
        check_output_name(spec, args.output)
        build_sdist(
            spec,
            args.dist_info,
            parse_pairs(args.file),
            parse_pairs(args.tree),
            args.output,
            args.backend,
        )
    except WheelError as exc:
        print(f"sdist: error: {exc}", file=sys.stderr)
        return 2
    return 0
