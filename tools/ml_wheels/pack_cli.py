"""Command line of ``pack_wheel.py``: the spec, dir, pep517 and binary subcommands."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

from ml_wheels import __version__
from ml_wheels.bundle import write_bundle
from ml_wheels.cli_types import compression_level, positive_int
from ml_wheels.errors import WheelError
from ml_wheels.pack import assemble_spec, pack_directory, pack_spec

_MAX_PARAM_FILE_DEPTH = 8

_MAIN_DESCRIPTION = """\
Build byte-reproducible Python wheels (rules_ml_wheels).

Arguments may be read from a file with @FILE: one argument per line
(what Bazel writes with use_param_file("@%s") and set_param_file_format("multiline")).
"""

_SPEC_DESCRIPTION = """\
Build a wheel from a JSON spec (written by the Bazel rule) and input files
('direct' is an alias: the rule passes its build_mode).
The tool writes METADATA, WHEEL, entry_points.txt and RECORD itself, checks
that the spec's wheel_name matches the name computed from its fields, and
writes identical bytes on every run.

example:
  pack_wheel.py spec --spec wheel.json --output my_project-1.0-py3-none-any.whl \\
      --file my_project/__init__.py src/__init__.py \\
      --tree my_project/data bazel-bin/data_dir \\
      --distinfo-file licenses/LICENSE LICENSE
"""

_DIR_DESCRIPTION = """\
Repack an unpacked wheel directory (like 'wheel pack'): exactly one
*.dist-info with METADATA and WHEEL; the name and version come from METADATA,
the tags from WHEEL's Tag: lines; RECORD is regenerated. Prints the path of
the written wheel.

example:
  pack_wheel.py dir build/unpacked --dest-dir dist --compression-level 9
"""

_PEP517_DESCRIPTION = """\
Build with 'python -m build --wheel --no-isolation' in a staged tree (for
projects whose setup.py does real work), then rewrite the result with this
tool's writer: the spec's name, version and tags are authoritative, METADATA
is kept as the build wrote it, WHEEL and RECORD are regenerated.

example:
  pack_wheel.py pep517 --spec wheel.json \\
      --output jaxlib-0.4.30-cp311-cp311-manylinux_2_27_x86_64.whl \\
      --project-file setup.py jaxlib/tools/setup.py \\
      --tree jaxlib bazel-bin/jaxlib/pkg \\
      --distinfo-file licenses/LICENSE LICENSE
"""

_BINARY_DESCRIPTION = """\
Run a project's own wheel builder (a py_binary such as jaxlib's
build_wheel.py) in a fixed environment, take the one wheel it writes into
its output directory, check its distribution and version against the spec
and rewrite it with this tool's writer and the spec's tags. --arg templates
may use {output_dir} {distribution} {version} {version_suffix} {python_tag}
{abi_tag} {platform_tag} {cpu} {git_hash} {wheel_name}; one with {src} is
repeated per --src. Default: jaxlib's --output_path={output_dir}
--cpu={cpu} --jaxlib_git_hash={git_hash} --srcs={src}.

example:
  pack_wheel.py binary --spec wheel.json \\
      --output jaxlib-0.4.30-cp311-cp311-manylinux_2_27_x86_64.whl \\
      --builder bazel-out/k8-opt-exec/bin/jaxlib/tools/build_wheel_tool \\
      --src bazel-out/k8-opt/bin/jaxlib/_jax.so --src jaxlib/__init__.py
"""


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        nargs=2,
        action="append",
        default=[],
        metavar=("DEST", "SRC"),
        help="put file SRC at wheel path DEST, e.g. --file pkg/_ext.so bazel-bin/pkg/_ext.so "
        "(repeatable)",
    )
    parser.add_argument(
        "--tree",
        nargs=2,
        action="append",
        default=[],
        metavar=("DEST_PREFIX", "SRC_DIR"),
        help="put every regular file under SRC_DIR below DEST_PREFIX ('' for the root), "
        "following symlinks, e.g. --tree pkg/data bazel-bin/pkg/data (repeatable)",
    )


_COMPRESS_DESCRIPTION = """\
Compress inputs into a bundle: their canonical deflate payloads and an index.
python_wheel runs one such action per shard of a large wheel's inputs, so
Bazel caches them and recompresses only the shard whose input changed.

example:
  pack_wheel.py compress --compression-level 6 --output shard3.bundle \\
      --file mypkg/lib/libbig.so bazel-out/k8-opt/bin/mypkg/lib/libbig.so
"""

_ASSEMBLE_DESCRIPTION = """\
Write a wheel from a spec and bundles made by 'compress': the bundles'
encoded bytes are copied behind fresh headers and METADATA, WHEEL,
entry_points.txt and RECORD are written. The wheel is byte-identical to
'spec' over the same inputs.

example:
  pack_wheel.py assemble --spec wheel.json --output mypkg-1.0-cp311-cp311-linux_x86_64.whl \\
      --bundle shard0.bundle --bundle shard1.bundle
"""


def _add_spec_and_output(parser: argparse.ArgumentParser) -> None:
    """--spec, --output and --jobs: what every mode that writes a wheel from a spec takes."""
    parser.add_argument(
        "--spec", required=True, metavar="SPEC.json", help="wheel spec written by the Bazel rule"
    )
    parser.add_argument(
        "--output", required=True, metavar="OUT.whl", help="wheel to write (atomically)"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="compression threads (default: one per CPU; 1 compresses in this thread); "
        "the output is identical for every N",
    )


def _add_distinfo_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--distinfo-file",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "SRC"),
        help="put SRC at <dist>-<version>.dist-info/NAME, e.g. --distinfo-file "
        "licenses/LICENSE LICENSE (repeatable)",
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    _add_spec_and_output(parser)
    _add_inputs(parser)
    _add_distinfo_file(parser)
    parser.add_argument(
        "--dist-info-out",
        default=None,
        metavar="DIR",
        help="also write the wheel's .dist-info files (RECORD included) into DIR; "
        "py_import uses them to present a python_wheel's contents without unpacking it",
    )


def _add_keep_runpath(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-bazel-runpath",
        action="store_true",
        help="ship ELF inputs' RUNPATH/RPATH entries into Bazel's output tree "
        "(a '_solib_<cpu>' component) as they are; by default they are removed "
        "in place (same size, other entries kept in order)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser with its three subcommands."""
    parser = argparse.ArgumentParser(
        prog="pack_wheel.py",
        description=_MAIN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rules_ml_wheels {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="{spec,dir,pep517,binary,compress,assemble}"
    )
    sub.required = True

    spec = sub.add_parser(
        "spec",
        aliases=["direct"],
        help="build a wheel from a spec and input files (what the Bazel rule runs)",
        description=_SPEC_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(spec)
    _add_keep_runpath(spec)

    compress = sub.add_parser(
        "compress",
        help="compress inputs into a bundle for 'assemble' (a cacheable Bazel action)",
        description=_COMPRESS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compress.add_argument(
        "--output", required=True, metavar="BUNDLE", help="bundle to write (atomically)"
    )
    compress.add_argument(
        "--compression-level",
        type=compression_level,
        required=True,
        metavar="N",
        help="deflate level 0-9 of the wheel the bundle is for",
    )
    compress.add_argument(
        "--jobs", type=positive_int, default=None, metavar="N", help="compression threads"
    )
    _add_inputs(compress)
    _add_keep_runpath(compress)

    assemble = sub.add_parser(
        "assemble",
        help="write a wheel from a spec and compression bundles, copying their bytes",
        description=_ASSEMBLE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(assemble)
    assemble.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="BUNDLE",
        help="a bundle written by 'compress' at the spec's level (repeatable)",
    )

    directory = sub.add_parser(
        "dir",
        help="repack an unpacked wheel directory",
        description=_DIR_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    directory.add_argument("directory", metavar="UNPACKED_DIR", help="the unpacked wheel")
    directory.add_argument(
        "--dest-dir", required=True, metavar="DIR", help="directory to write the wheel into"
    )
    directory.add_argument(
        "--compression-level",
        type=compression_level,
        default=6,
        metavar="N",
        help="deflate level 0-9; 0 stores without compression (default: 6)",
    )
    directory.add_argument(
        "--jobs", type=positive_int, default=None, metavar="N", help="compression threads"
    )
    directory.add_argument(
        "--build-number",
        default=None,
        metavar="B",
        help="set the build tag, e.g. 1; '' removes it (default: keep WHEEL's Build)",
    )

    pep517 = sub.add_parser(
        "pep517",
        help="build with setuptools via 'python -m build', then rewrite canonically",
        description=_PEP517_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(pep517)
    _add_keep_runpath(pep517)
    pep517.add_argument(
        "--project-file",
        nargs=2,
        action="append",
        default=[],
        metavar=("DEST", "SRC"),
        help="a build file placed at DEST in the staged tree, e.g. --project-file setup.py "
        "pkg/setup.py (setup.py, pyproject.toml, setup.cfg, MANIFEST.in; repeatable)",
    )
    pep517.add_argument(
        "--build-env-wheel",
        action="append",
        default=[],
        metavar="WHEEL",
        help="a wheel of the build frontend/backend (build, setuptools, wheel, ...) to unpack "
        "and run the build with (repeatable; python_wheel passes the pinned ones). Without "
        "any, the modules this interpreter can import are used",
    )
    _add_binary(sub)
    return parser


def _env_pair(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` -> ``(NAME, VALUE)``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _add_binary(sub: argparse._SubParsersAction) -> None:
    binary = sub.add_parser(
        "binary",
        help="run the project's own wheel builder, then rewrite its wheel canonically",
        description=_BINARY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_spec_and_output(binary)
    binary.add_argument("--builder", required=True, metavar="EXE", help="the wheel builder to run")
    binary.add_argument(
        "--builder-label", default="", metavar="LABEL", help="its label, for messages"
    )
    binary.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="PATH",
        help="a source for the {src} templates (repeatable, in order)",
    )
    binary.add_argument(
        "--arg",
        action="append",
        default=None,
        metavar="TEMPLATE",
        help="an argument template for the builder (repeatable; default: jaxlib's)",
    )
    binary.add_argument(
        "--no-args",
        action="store_true",
        help="run the builder without arguments (an empty wheel_binary_args)",
    )
    binary.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add NAME=VALUE to the builder's fixed environment (repeatable)",
    )
    binary.add_argument(
        "--version-suffix", default="", metavar="S", help="the rule's version_suffix"
    )
    binary.add_argument("--git-hash", default="", metavar="H", help="the rule's git_hash")
    binary.add_argument(
        "--keep-bazel-runpath",
        action="store_true",
        help="ship the built ELF files' _solib_* RUNPATH/RPATH entries as they are "
        "(default: the rewrite removes them)",
    )
    _add_distinfo_file(binary)


def expand_param_files(argv: Sequence[str], depth: int = 0) -> list[str]:
    """Replaces each ``@FILE`` argument by the file's lines (one per line).

    This is argparse's ``fromfile_prefix_chars="@"`` behaviour, except that
    lines are decoded exactly like ``sys.argv`` (the file-system encoding with
    surrogate escapes) on every Python version, so input paths reach the file
    system as the bytes Bazel wrote, and wheel paths are recovered as UTF-8
    whatever the sandbox's locale.

    Raises:
        WheelError: If a param file cannot be read or nests too deeply.
    """
    out: list[str] = []
    for arg in argv:
        if not arg.startswith("@"):
            out.append(arg)
            continue
        if depth >= _MAX_PARAM_FILE_DEPTH:
            raise WheelError(f"param file {arg[1:]} nests @files too deeply")
        try:
            with open(arg[1:], "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise WheelError(f"cannot read param file {arg[1:]}: {exc.strerror}") from None
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for number, line in enumerate(lines, 1):
            if b"\0" in line:
                raise WheelError(
                    f"param file {arg[1:]} line {number} contains a NUL byte; an argument "
                    "cannot contain NUL, fix what writes the file"
                )
        decoded = [os.fsdecode(line[:-1] if line.endswith(b"\r") else line) for line in lines]
        out += expand_param_files(decoded, depth + 1)
    return out


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: unwinds like an error, so partial outputs are removed."""

    def __init__(self, signum: int) -> None:
        """Records the signal number."""
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turns SIGTERM and SIGINT into ``Interrupted`` while the block runs.

    Bazel sends SIGTERM to cancel an action; without this the process dies
    without unwinding and leaves its temporary outputs behind. Worker processes
    forked while the block runs get the default action back before handling
    the signal, so they just exit. The previous handlers are restored at exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 on a user error, 128+N on signal N)."""
    try:
        with signals_raise():
            return _run(argv)
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        print(
            f"pack_wheel: error: interrupted by {name}; partial outputs were removed",
            file=sys.stderr,
        )
        return 128 + exc.signum


def _run(argv: Sequence[str] | None) -> int:
    """Parses the arguments and runs the subcommand; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(expand_param_files(sys.argv[1:] if argv is None else argv))
        if args.command in ("spec", "direct"):
            pack_spec(
                args.spec,
                args.output,
                args.file,
                args.tree,
                args.distinfo_file,
                args.jobs,
                args.dist_info_out,
                keep_bazel_runpath=args.keep_bazel_runpath,
            )
        elif args.command == "compress":
            write_bundle(
                args.output,
                args.file,
                args.tree,
                args.compression_level,
                args.jobs,
                keep_bazel_runpath=args.keep_bazel_runpath,
            )
        elif args.command == "assemble":
            if args.file or args.tree:
                raise WheelError("assemble takes inputs only through --bundle; compress them first")
            assemble_spec(
                args.spec,
                args.output,
                args.bundle,
                args.distinfo_file,
                args.jobs,
                args.dist_info_out,
            )
        elif args.command == "pep517" and args.dist_info_out:
            raise WheelError(
                "--dist-info-out is not supported in pep517 mode; the build writes the metadata"
            )
        elif args.command == "pep517":
            # Imported here: the modes that run a project's builder need
            # `packaging`, which every compression action would pay to import.
            from ml_wheels.pep517 import pack_pep517

            pack_pep517(
                args.spec,
                args.output,
                args.file,
                args.tree,
                args.project_file,
                args.distinfo_file,
                args.jobs,
                args.build_env_wheel,
                keep_bazel_runpath=args.keep_bazel_runpath,
            )
        elif args.command == "binary":
            if args.no_args and args.arg:
                raise WheelError("--no-args and --arg exclude each other")
            from ml_wheels.binary import DEFAULT_ARGS, pack_binary

            pack_binary(
                args.spec,
                args.output,
                args.builder,
                args.src,
                () if args.no_args else (args.arg or DEFAULT_ARGS),
                args.env,
                args.distinfo_file,
                args.version_suffix,
                args.git_hash,
                os.environ.get("PATH"),
                args.jobs,
                label=args.builder_label,
                keep_bazel_runpath=args.keep_bazel_runpath,
            )
        else:
            path = pack_directory(
                args.directory,
                args.dest_dir,
                args.compression_level,
                args.jobs,
                args.build_number,
            )
            print(path)
    except WheelError as exc:
        print(f"pack_wheel: error: {exc}", file=sys.stderr)
        return 2
    return 0
