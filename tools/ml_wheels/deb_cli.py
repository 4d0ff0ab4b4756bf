"""Command line of ``unpack_deb.py``: what the sysroot repository rules run."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ml_wheels import __version__
from ml_wheels.cli_types import parse_size
from ml_wheels.deb import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_TOTAL_SIZE,
    Limits,
    Report,
    copy_tree,
    relativize_symlinks,
    remove_dangling_symlinks,
    unpack_debs,
)
from ml_wheels.errors import WheelError

# Standard library only: repository rules run this with any Python 3.9+,
# without site-packages (`python -I`), before any dependency is fetched.

_DESCRIPTION = f"""\
Unpack the data of Debian packages (.deb) into one root directory, without
ar or dpkg (rules_ml_wheels; what cc_sysroot and python_headers run).
With --copy-from, first copy a local directory there; with no packages,
only fix the symlinks of --output-dir (e.g. an extracted sysroot archive).

Absolute symlinks under --output-dir are made relative to it, so that they
resolve inside it, never to the host's files. Refuses, with one line
naming the package and the entry (exit status 2): non-ar files, truncated or
corrupt members, zstd data members, entries that are absolute, contain '..'
or go through a symlink, symlinks pointing outside the root, device and FIFO
entries, files another package already wrote, and more than --max-total-size
decompressed bytes (default {DEFAULT_MAX_TOTAL_SIZE >> 30} GiB) or --max-entries
entries (default {DEFAULT_MAX_ENTRIES}) in all.

example:
  unpack_deb.py --output-dir sysroot \\
      libc6_2.31-13+deb11u11_amd64.deb libc6-dev_2.31-13+deb11u11_amd64.deb
"""


def _positive(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unpack_deb",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("debs", nargs="*", type=Path, metavar="DEB", help="packages, in order")
    parser.add_argument(
        "--copy-from", type=Path, help="copy this local directory into --output-dir first"
    )
    parser.add_argument("--output-dir", required=True, type=Path, help="the root to unpack into")
    parser.add_argument("--max-total-size", type=parse_size, default=DEFAULT_MAX_TOTAL_SIZE)
    parser.add_argument("--max-entries", type=_positive, default=DEFAULT_MAX_ENTRIES)
    parser.add_argument(
        "--report", type=Path, help="write a JSON summary (counts, rewritten symlinks) here"
    )
    parser.add_argument(
        "--remove-dangling",
        action="store_true",
        help="at the end, remove symlinks that resolve to nothing",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 on a user error)."""
    args = _parser().parse_args(argv)
    limits = Limits(args.max_total_size, args.max_entries)
    try:
        report = Report()
        if args.copy_from:
            report = copy_tree(args.copy_from, args.output_dir, limits)
        if args.debs:
            unpacked = unpack_debs(args.debs, args.output_dir, limits)
            report.files += unpacked.files
            report.symlinks += unpacked.symlinks
            report.rewritten.extend(unpacked.rewritten)
        args.output_dir.mkdir(parents=True, exist_ok=True)
        report.rewritten.extend(relativize_symlinks(args.output_dir))
        removed = remove_dangling_symlinks(args.output_dir) if args.remove_dangling else []
    except WheelError as exc:
        print(f"unpack_deb: error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        summary = {
            "files": report.files,
            "symlinks": report.symlinks,
            "removed": removed,
            "rewritten": [list(item) for item in report.rewritten],
        }
        args.report.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return 0
