"""Command line of ``repair_wheel.py``: what ``repaired_wheel`` runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Optional

from ml_wheels import __version__
from ml_wheels.cli_types import compression_level, positive_int
from ml_wheels.errors import WheelError
from ml_wheels.repair.repair import RepairRequest, repair_wheel

PROG = "repair_wheel"

_DESCRIPTION = """\
Graft the shared libraries a manylinux/musllinux policy does not allow into
a wheel, deterministically (rules_ml_wheels).

Every library an ELF file of the wheel needs that the policy of
--platform-tag does not allow, that no --exclude pattern matches and that the
wheel does not ship, is taken from the --library files (matched by SONAME,
else by file name) or from the --search-dir directories, in that order;
nothing else is searched. Its dependencies are grafted the same way. Each is
copied to <distribution><lib-sdir>/ as lib<name>-<sha256[:8]>.so.<version>
with that SONAME, the NEEDED entries that named it are rewritten, and the
RUNPATH of each patched file gets $ORIGIN/<path to that directory> (its
other entries kept, Bazel's _solib_ ones dropped). The wheel is then written
again with the new platform tag (file name and WHEEL), RECORD regenerated,
and audited: it must meet every tag it claims, or no wheel is written.

The same input gives the same bytes: grafted names come from the libraries'
contents, patchelf is pinned, and the writer is python_wheel's.

exit status: 0 = repaired; 2 = error (one line saying what and how to fix it).

example:
  repair_wheel.py --wheel dist/pkg-1.0-cp311-cp311-linux_x86_64.whl \\
      --output out/pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl \\
      --platform-tag manylinux_2_17_x86_64 --patchelf "$(command -v patchelf)" \\
      --library bazel-bin/libgreet.so --search-dir sysroot/usr/lib/x86_64-linux-gnu \\
      --exclude 'libcuda.so*' --exclude 'libcudart.so*'
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        fromfile_prefix_chars="@",
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    parser.add_argument("--wheel", required=True, metavar="WHEEL", help="the wheel to repair")
    parser.add_argument(
        "--output",
        required=True,
        metavar="WHEEL",
        help="the repaired wheel; its file name must be the input's with the new platform tag",
    )
    parser.add_argument(
        "--platform-tag",
        required=True,
        metavar="TAG",
        help="the platform tag to repair for, e.g. manylinux_2_17_x86_64 (a dotted set is "
        "allowed; the first tag picks the policy)",
    )
    parser.add_argument(
        "--patchelf", required=True, metavar="PATH", help="the patchelf binary to run"
    )
    parser.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="FILE",
        help="a shared library the repair may graft (repeatable)",
    )
    parser.add_argument(
        "--search-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a sysroot library directory the repair may graft from, searched in order after "
        "the --library files (repeatable)",
    )
    parser.add_argument(
        "--sysroot",
        default="",
        metavar="DIR",
        help="the sysroot the --search-dir directories lie in; messages and the report "
        "spell it <sysroot>",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="never graft sonames matching this fnmatch pattern, e.g. 'libcudart.so*' "
        "(provided at run time by another wheel; repeatable)",
    )
    parser.add_argument(
        "--lib-sdir",
        default=".libs",
        metavar="SUFFIX",
        help="grafted libraries go to <distribution><SUFFIX>/ (default: .libs)",
    )
    parser.add_argument(
        "--compression-level",
        type=compression_level,
        default=6,
        metavar="N",
        help="deflate level 0-9 of the repaired wheel (default: 6)",
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=None, metavar="N", help="compression threads"
    )
    parser.add_argument(
        "--report", metavar="JSON", help="write what was grafted from where, and patched"
    )
    parser.add_argument(
        "--target", default="", metavar="LABEL", help="the Bazel target, for error messages"
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    request = RepairRequest(
        wheel=args.wheel,
        output=args.output,
        platform_tag=args.platform_tag,
        patchelf=args.patchelf,
        libraries=args.library,
        search_dirs=args.search_dir,
        sysroot=args.sysroot,
        exclude=args.exclude,
        lib_sdir=args.lib_sdir,
        compression_level=args.compression_level,
        jobs=args.jobs,
        report=args.report,
    )
    try:
        repair_wheel(request)
    except WheelError as error:
        where = f"{args.target}: " if args.target else ""
        print(f"{PROG}: error: {where}{error}", file=sys.stderr)
        return 2
    return 0
