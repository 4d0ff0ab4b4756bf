"""Command line of ``wheel_size.py``: what ``wheel_size_test`` and ``wheel_size_report`` run."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import Optional

from ml_wheels import __version__
from ml_wheels.errors import WheelError
from ml_wheels.size.archive import read_sizes
from ml_wheels.size.budget import Budget, check, parse_mib
from ml_wheels.size.manifest import read_baseline, write_manifest

PROG = "wheel_size"

_DESCRIPTION = """\
Check a wheel against a size budget, write its size manifest, or write an
HTML report of what fills it (rules_ml_wheels).

Sizes come from the zip central directory, read by the same strict reader
py_import's unpacking uses (bounded by the archive's size; corrupt, truncated
or overlapping archives are refused with the reason). "Unpacked" is the sum
of the members' declared uncompressed sizes.

commands:
  check     exit 1 when the wheel file is larger than --max-size-mib MiB or
            its members add up to more than --max-unpacked-mib MiB; the
            message says by how much (MiB and %), lists the 10 largest
            members and, with --baseline, the growth of the wheel and of
            every changed member against that manifest
  manifest  write the JSON size manifest (what --baseline reads)
  report    write one self-contained HTML page: treemaps by directory and
            file (uncompressed and compressed), the 10 largest shared
            libraries and the largest sections of each ELF one

exit status: 0 = within budget / written; 1 = over budget; 2 = error.

examples:
  wheel_size.py check --max-size-mib 110 --max-unpacked-mib 400 dist/jaxlib-*.whl
  wheel_size.py check --max-size-mib 20 --max-unpacked-mib 60 \\
      --baseline sizes/plugin.json dist/plugin.whl
  wheel_size.py manifest --output sizes/plugin.json dist/plugin.whl
  wheel_size.py report --output size.html dist/plugin.whl
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    checking = commands.add_parser("check", help="check the wheel against a size budget")
    checking.add_argument("wheel", metavar="WHEEL", help="the .whl file")
    checking.add_argument(
        "--max-size-mib",
        required=True,
        metavar="MIB",
        help="largest wheel file in MiB (2**20 bytes), e.g. 110 or 19.5",
    )
    checking.add_argument(
        "--max-unpacked-mib",
        required=True,
        metavar="MIB",
        help="largest sum of the members' uncompressed sizes in MiB",
    )
    checking.add_argument(
        "--baseline",
        metavar="JSON",
        help="a size manifest (see the manifest command) to report growth against",
    )
    checking.add_argument(
        "--label",
        default="",
        help="the Bazel test target; messages then name its attributes (max_size_mib, "
        "max_unpacked_mib, baseline) instead of these flags",
    )
    checking.add_argument(
        "--baseline-name",
        default="",
        metavar="NAME",
        help="how messages name the baseline file (default: its path)",
    )
    checking.add_argument(
        "--manifest-hint",
        default="",
        metavar="PATH",
        help="where the build writes this wheel's manifest, for the message that says how "
        "to update the baseline",
    )

    manifest = commands.add_parser("manifest", help="write the JSON size manifest")
    manifest.add_argument("wheel", metavar="WHEEL", help="the .whl file")
    manifest.add_argument("--output", required=True, metavar="JSON", help="the file to write")

    report = commands.add_parser("report", help="write the HTML size report")
    report.add_argument("wheel", metavar="WHEEL", help="the .whl file")
    report.add_argument("--output", required=True, metavar="HTML", help="the file to write")
    report.add_argument("--title", default=None, help="the page title (default: the file name)")
    return parser


def _check(args: argparse.Namespace) -> int:
    labelled = bool(args.label)
    size_name = "max_size_mib" if labelled else "--max-size-mib"
    unpacked_name = "max_unpacked_mib" if labelled else "--max-unpacked-mib"
    where = f" of {args.label}" if labelled else ""
    budget = Budget(
        parse_mib(args.max_size_mib, size_name + where),
        parse_mib(args.max_unpacked_mib, unpacked_name + where),
        size_name,
        unpacked_name,
    )
    hint = ""
    if args.manifest_hint:
        target = args.baseline_name or args.baseline or "the baseline file"
        hint = (
            f"To record the new sizes as the baseline: bazel build {args.label or 'the test'} "
            f"and copy {args.manifest_hint} over {target}."
            if args.baseline
            else f"Its size manifest, to keep as a baseline: {args.manifest_hint}."
        )
    baseline = None
    if args.baseline:
        fix = (
            f"write a new one with `bazel build {args.label}` (it writes {args.manifest_hint})"
            if labelled and args.manifest_hint
            else "write a new one with `wheel_size.py manifest --output FILE WHEEL`"
        )
        baseline = read_baseline(args.baseline, fix)
        if args.baseline_name:
            baseline = dataclasses.replace(baseline, source=args.baseline_name)
    sizes = read_sizes(args.wheel)
    verdict = check(sizes, budget, baseline, args.label, hint)
    sys.stdout.write(verdict.message)
    return 0 if verdict.ok else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "manifest":
            write_manifest(read_sizes(args.wheel), args.output)
            return 0
        from ml_wheels.size.report import write_report  # pyelftools only here

        write_report(args.wheel, args.output, args.title)
        return 0
    except WheelError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
