"""Runner of installed_wheel_test: a fresh venv, pip install --no-index, then the test.

Run by the interpreter under test itself (``python -I -B``), standard library
only. Steps, each failing with what went wrong:

1. ``python -I -m venv`` in a new temporary directory (under ``$TEST_TMPDIR``),
   pip from the interpreter's ensurepip: no download, no host pip;
2. ``pip install --no-index`` of the wheel and the given wheel files only;
3. the ``--src``/``--main`` files are copied into an empty directory, which
   is the working directory of ``python -I main.py ARGS`` (or ``python -I -m
   pytest -q -p no:cacheprovider DIR ARGS``), with ``PATH=/usr/bin:/bin``,
   ``HOME`` in the temporary directory and no PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Optional


def _run(what: str, command: list[str], env: dict[str, str], cwd: str) -> None:
    proc = subprocess.run(command, env=env, cwd=cwd, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"installed_wheel_test: {what} failed (exit {proc.returncode}): {command}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="installed_wheel_test",
        description="Installs a wheel into a fresh venv of this interpreter and runs tests there.",
    )
    parser.add_argument(
        "--label", required=True, help="the test's label, named in every error message"
    )
    parser.add_argument("--python", required=True, help="the interpreter's repository")
    parser.add_argument("--python-version", required=True, help="X.Y it must be")
    parser.add_argument("--wheel", required=True, help="the wheel to pip install (no index)")
    parser.add_argument(
        "--dep",
        action="append",
        default=[],
        metavar="WHEEL",
        help="another wheel installed beside it (repeatable)",
    )
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="FILE",
        help="a test file, copied into the empty run directory (repeatable)",
    )
    parser.add_argument(
        "--main",
        default="",
        help="the test file to run as a script (default: pytest over the src files)",
    )
    parser.add_argument("args", nargs="*", help="arguments passed to the test")
    args = parser.parse_args(argv)

    actual = f"{sys.version_info[0]}.{sys.version_info[1]}"
    print(
        f"=== {args.label}: {os.path.basename(args.wheel)} on Python {sys.version.split()[0]}"
        f" ({args.python}) ===",
        flush=True,
    )
    if args.python_version and actual != args.python_version:
        raise SystemExit(
            f"installed_wheel_test: {args.python} runs Python {actual}, but its tags toolchain "
            f"says {args.python_version}"
        )
    root = tempfile.mkdtemp(prefix="installed_wheel_", dir=os.environ.get("TEST_TMPDIR"))
    venv = os.path.join(root, "venv")
    work = os.path.join(root, "work")
    os.mkdir(work)
    env = {"PATH": "/usr/bin:/bin", "HOME": root, "TMPDIR": root, "LC_ALL": "C.UTF-8"}
    _run("creating the virtual environment", [sys.executable, "-I", "-m", "venv", venv], env, root)
    python = os.path.join(venv, "bin", "python")
    install = [python, "-I", "-m", "pip", "install", "--no-index", "--no-cache-dir"]
    install += ["--disable-pip-version-check", "--quiet", args.wheel, *args.dep]
    _run("pip install --no-index", install, env, root)

    for src in [*args.src, *([args.main] if args.main else [])]:
        target = os.path.join(work, os.path.basename(src))
        if os.path.exists(target):
            raise SystemExit(f"installed_wheel_test: two files named {os.path.basename(src)}")
        shutil.copyfile(src, target)
    if args.main:
        command = [python, "-I", os.path.join(work, os.path.basename(args.main)), *args.args]
    else:
        command = [python, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider", work, *args.args]
    env["INSTALLED_WHEEL_VENV"] = venv
    proc = subprocess.run(command, env=env, cwd=work, check=False)
    shutil.rmtree(root, ignore_errors=True)
    if proc.returncode != 0:
        print(f"=== FAILED on Python {actual} ({args.python}) ===", flush=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
