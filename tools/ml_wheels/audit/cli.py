"""Command line of ``audit_wheel.py``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Optional

from ml_wheels import __version__
from ml_wheels.audit.abi3 import explain_abi3
from ml_wheels.audit.analyze import audit, check_expectation
from ml_wheels.audit.claims import check_claims
from ml_wheels.audit.elf import KNOWN_ARCHITECTURES
from ml_wheels.audit.policy import TagRequest, parse_tag
from ml_wheels.audit.report import explain, explain_claims, explain_with_expectation, to_json
from ml_wheels.cli_types import positive_int
from ml_wheels.errors import WheelError

PROG = "audit_wheel"

_DESCRIPTION = """\
Audit a wheel against auditwheel's manylinux/musllinux policies.

The verdict is the one `auditwheel show --json` gives (same policy data, same
library resolution, ISA check on), computed from the wheel's ELF files read
straight from the zip, in parallel. The architecture is the one of the wheel's
ELF files, never the machine's.

The wheel is also checked against every manylinux/musllinux tag it claims (in
its file name and its WHEEL file's Tag: lines; linux_* tags claim nothing):
a claim is met when the wheel meets that policy, its ELF files are of that
architecture and libc, and no RUNPATH/RPATH entry leads outside the wheel.
A wheel whose abi tag is abi3 (cp310-abi3) must import from libpython only
symbols of the limited API that CPython 3.10 has (CPython's stable_abi.toml).
There is no switch to skip this: a wheel being built before its final tag is
named linux_*, which claims nothing.

exit status: 0 = audited, every claimed tag is met (and, with --expect, the
expected tag too); 1 = the wheel does not meet a claimed or expected tag, or
breaks its abi3 tag; 2 = error.

examples:
  audit_wheel.py dist/foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl
  audit_wheel.py --json foo.whl
  audit_wheel.py --expect manylinux2014 foo.whl
  audit_wheel.py --expect-by-arch x86_64=manylinux_2_17 \\
      --expect-by-arch aarch64=manylinux_2_27 --exclude 'libcuda.so.*' foo.whl
"""


def _by_arch(value: str) -> tuple[str, str]:
    arch, sep, tag = value.partition("=")
    if not sep or arch not in KNOWN_ARCHITECTURES:
        raise argparse.ArgumentTypeError(
            f"expected ARCH=TAG with ARCH one of {', '.join(KNOWN_ARCHITECTURES)}, got {value!r}"
        )
    return arch, tag.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    parser.add_argument("wheel", metavar="WHEEL", help="the .whl file to audit")
    parser.add_argument("--json", action="store_true", help="print the audit as JSON")
    expect = parser.add_mutually_exclusive_group()
    expect.add_argument(
        "--expect",
        metavar="TAG",
        help="exit 1, with the reasons, unless the wheel meets TAG: manylinux_2_17, "
        "manylinux2014, manylinux_2_28_x86_64, musllinux_1_2, ... A wheel meeting a more "
        "compatible policy meets it too; a pure wheel meets any tag",
    )
    expect.add_argument(
        "--expect-by-arch",
        metavar="ARCH=TAG",
        type=_by_arch,
        action="append",
        default=[],
        help="like --expect, with the tag chosen by the architecture of the wheel's ELF "
        "files, e.g. --expect-by-arch x86_64=manylinux_2_17 --expect-by-arch "
        "aarch64=manylinux_2_27 (repeatable; an empty TAG means none given)",
    )
    parser.add_argument(
        "--exclude",
        metavar="PATTERN",
        action="append",
        default=[],
        help="a soname (fnmatch pattern) provided at runtime by a wheel this one depends on, "
        "never external, e.g. 'libcuda.so.*' or 'libcublas*' (repeatable)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes parsing ELF files (default: one per CPU); the verdict is the same "
        "for every N",
    )
    parser.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="do not lower the policy for x86-64 ISA levels (v2/v3/v4), like auditwheel's flag",
    )
    return parser


def _request(args: argparse.Namespace, arch: Optional[str], pure: bool) -> Optional[TagRequest]:
    if args.expect is not None:
        return parse_tag(args.expect)
    if not args.expect_by_arch:
        return None
    tags = dict(args.expect_by_arch)
    if pure:
        given = next((t for t in tags.values() if t), "")
        return parse_tag(given) if given else TagRequest("any tag", "linux", None)
    tag = tags.get(arch or "", "")
    if not tag:
        given = ", ".join(sorted(a for a, t in tags.items() if t)) or "none"
        raise WheelError(
            f"{args.wheel}: no tag to expect for {arch}, the architecture of the wheel's ELF "
            f"files (tags given for: {given})"
        )
    return parse_tag(tag)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for _, tag in args.expect_by_arch:
            if tag:
                parse_tag(tag)  # reject a bad tag before reading the wheel
        if args.expect is not None:
            parse_tag(args.expect)
        result = audit(
            args.wheel,
            exclude=args.exclude,
            jobs=args.jobs,
            isa_check=not args.disable_isa_ext_check,
        )
        request = _request(args, result.architecture, result.pure)
        expectation = check_expectation(result, request) if request is not None else None
        claims = check_claims(result)
    except WheelError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    abi3_lines = explain_abi3(result.filename, result.abi3) if result.abi3 is not None else []
    if args.json:
        json.dump(to_json(result, expectation, claims), sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    elif expectation is not None:
        sys.stdout.write(explain_with_expectation(result, expectation, claims, abi3_lines))
    else:
        # The tags' verdicts first (the first line is the verdict that
        # matters most), then the abi3 check's.
        claim_lines = [*explain_claims(result, claims), *abi3_lines]
        sys.stdout.write("\n".join([*claim_lines, ""]) if claim_lines else "")
        sys.stdout.write(explain(result))
    sys.stdout.flush()
    if expectation is not None and not expectation.met:
        return 1
    if any(not claim.met for claim in claims):
        return 1
    if result.abi3 is not None and not result.abi3.met:
        return 1
    return 0
