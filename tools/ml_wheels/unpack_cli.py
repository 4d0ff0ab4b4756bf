"""Command line of ``unpack_wheel.py``: what ``py_import``'s action runs."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

from ml_wheels import __version__
from ml_wheels.cli_types import parse_size
from ml_wheels.errors import WheelError
from ml_wheels.unpack import (
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_TOTAL_SIZE,
    MAX_RECORD_SIZE,
    RATIO_MIN_SIZE,
    Limits,
    unpack_wheel,
)

_GIB = DEFAULT_MAX_TOTAL_SIZE >> 30
_RATIO_MIB = RATIO_MIN_SIZE >> 20
_RECORD_MIB = MAX_RECORD_SIZE >> 20

_DESCRIPTION = f"""\
Unpack a wheel into a directory safely (rules_ml_wheels; what py_import runs).

Refuses, with one line naming the archive, the problem and the fix (exit
status 2), and removes whatever it wrote:
  - archives that are not regular files (a FIFO, a device, a directory);
  - entry names that are absolute, contain '..', backslashes, drive letters
    or control characters, are not UTF-8 or not in Unicode NFC;
  - what pip refuses: a wheel file name that does not parse, several
    top-level .dist-info directories (a --zip-dep's included), a .dist-info
    whose name and version are not the file name's (compared canonically;
    with --no-verify-record, an archive whose name is not a wheel name is
    taken as it is);
  - symlink and device entries, duplicate entries, paths that are both a file
    and a directory;
  - truncated or corrupt archives (bad CRC, overlapping entries, local
    headers that contradict the central directory);
  - members that inflate beyond their declared size (checked while
    inflating); more than --max-total-size bytes in all (default
    {_GIB} GiB); members over {_RATIO_MIB} MiB that claim more than
    --max-ratio:1 (default {DEFAULT_MAX_RATIO}; deflate cannot exceed about 1032:1);
  - unless --no-verify-record: a missing RECORD (at most {_RECORD_MIB} MiB), files it
    does not list, files it lists that are missing, hash or size mismatches.

Files get mode 0755 when the entry has an executable bit, else 0644;
directories 0755; every mtime is 1980-01-01T00:00:00Z. Files are created
exclusively (O_EXCL | O_NOFOLLOW): nothing in DIR is overwritten or followed.
On SIGTERM or SIGINT it removes what it had written and exits with status
128 + the signal number.

example:
  unpack_wheel.py dist/torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl \\
      --output-dir bazel-bin/third_party/torch_import \\
      --zip-dep extra_libs.zip
"""


def _positive(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser."""
    parser = argparse.ArgumentParser(
        prog="unpack_wheel.py",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    parser.add_argument("wheel", metavar="WHEEL", help="the .whl file to unpack")
    parser.add_argument(
        "--output-dir",
        required=True,
        metavar="DIR",
        help="directory to unpack into; created if missing (its parent must exist); "
        "files that exist already are never overwritten",
    )
    parser.add_argument(
        "--verify-record",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every file against the wheel's RECORD (default: on)",
    )
    parser.add_argument(
        "--zip-dep",
        action="append",
        default=[],
        metavar="ZIP",
        help="a plain zip file to extract into DIR as well, with the same checks but no "
        "RECORD (repeatable)",
    )
    parser.add_argument(
        "--max-total-size",
        type=parse_size,
        default=DEFAULT_MAX_TOTAL_SIZE,
        metavar="SIZE",
        help="refuse to write more than SIZE bytes in all, e.g. 64G (default: 64G)",
    )
    parser.add_argument(
        "--max-ratio",
        type=_positive,
        default=DEFAULT_MAX_RATIO,
        metavar="N",
        help=f"refuse members over {RATIO_MIN_SIZE >> 20} MiB compressed more than N:1 "
        f"(default: {DEFAULT_MAX_RATIO})",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="threads (default: one per CPU, at most 4); the output is the same for every N",
    )
    return parser


class Interrupted(BaseException):
    """Raised by the signal handlers of ``main``: unwinds like KeyboardInterrupt.

    ``unpack_wheel`` removes what it created on any exception, this one included.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def _raise_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGINT raise ``Interrupted`` (once; later ones are ignored).

    Installed by ``main`` only (importing the module changes nothing), and
    only on the main thread, the one Python runs handlers on; the previous
    handlers come back on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        for other in _SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 on a user error, 128 + N on signal N)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    result = None
    try:
        with _raise_on_signals():
            result = unpack_wheel(
                args.wheel,
                args.output_dir,
                verify_record=args.verify_record,
                zip_deps=args.zip_dep,
                limits=Limits(max_total_size=args.max_total_size, max_ratio=args.max_ratio),
                jobs=args.jobs,
            )
    except WheelError as exc:
        print(f"unpack_wheel: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        if result is None:
            done = f"what it had unpacked into {args.output_dir} is removed again, run it again"
        else:
            # The signal came as the handlers were being removed: the unpack is complete.
            done = f"after the unpack into {args.output_dir} completed"
        print(f"unpack_wheel: error: interrupted by {name}; {done}", file=sys.stderr)
        return 128 + exc.signum
    return 0
