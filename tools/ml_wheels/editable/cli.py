"""`bazel run` entry point of python_editable_wheel: `[DIR]`, default `dist`."""

from __future__ import annotations

import argparse
import os
import sys

from ml_wheels.editable.build import build_editable_wheel, load_manifest
from ml_wheels.errors import WheelError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python_editable_wheel",
        description=(
            "Writes the PEP 660 editable twin of a python_wheel into DIR: "
            "`bazel run //pkg:wheel.editable -- DIR`, then `pip install DIR/<wheel>`."
        ),
    )
    parser.add_argument("--manifest", required=True, help=argparse.SUPPRESS)
    parser.add_argument(
        "output_dir",
        nargs="?",
        default="dist",
        help="directory for the wheel, relative to where bazel was run (default: dist)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Writes the editable wheel; prints its path.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        0, or 2 after printing a one-line error.
    """
    args = _parser().parse_args(argv)
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    try:
        manifest = load_manifest(args.manifest)
        if not workspace:
            raise WheelError(
                f"{manifest.target}: BUILD_WORKSPACE_DIRECTORY is not set: an editable wheel "
                "points at the workspace's files, so run it with `bazel run`, not from bazel-bin"
            )
        # $(rootpath) is relative to the runfiles' workspace directory, where
        # `bazel run` starts the binary.
        runfiles_root = os.getcwd()
        where = os.environ.get("BUILD_WORKING_DIRECTORY", workspace)
        output_dir = os.path.join(where, args.output_dir)
        os.makedirs(output_dir, exist_ok=True)
        output = os.path.join(output_dir, manifest.wheel_name)
        build_editable_wheel(manifest, runfiles_root, workspace, output)
    except (OSError, WheelError) as error:
        print(f"python_editable_wheel: error: {error}", file=sys.stderr)
        return 2
    print(output)
    return 0
