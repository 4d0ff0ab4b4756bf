"""local_python_toolchain's fetch errors, with real Bazel on the pure_python
example: the interpreter is looked up on the repository rules' PATH
(`--repo_env=PATH=...`), so a PATH without python3, or with a python3 that
fails, is not CPython or is too old, must fail the fetch with one sentence
naming the repository and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES

pytestmark = pytest.mark.integration

WHO = 'local_python_toolchain(name = "python")'


@pytest.fixture(scope="module")
def bazel(make_bazel):
    return make_bazel(EXAMPLES / "pure_python", "local-python-errors", copy_as="local-python")


def _rewriting_python3(directory: Path, sed_expression: str) -> Path:
    """A python3 that runs the real one and rewrites its introspection JSON
    (absolute paths: the wrapper's PATH holds only itself)."""
    real = shutil.which("python3", path="/usr/bin:/bin")
    sed = shutil.which("sed", path="/usr/bin:/bin")
    return _python3_wrapper(directory, f"{real} \"$@\" | {sed} '{sed_expression}'")


def _python3_wrapper(directory: Path, body: str) -> Path:
    """A directory whose python3 is a shell script wrapping the real one."""
    directory.mkdir()
    script = directory / "python3"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return directory


def _fetch_error(bazel, path: Path | str) -> str:
    result = bazel.run("build", "//greet:wheel", f"--repo_env=PATH={path}", check=False)
    assert result.returncode != 0, result.stderr[-3000:]
    return result.stderr


def test_no_python3_on_path(bazel, tmp_path):
    stderr = _fetch_error(bazel, tmp_path / "empty")
    assert (
        f'{WHO}: "python3" is not on PATH; install Python 3 (e.g. `apt-get install python3-dev`) '
        "or set `interpreter` to an absolute path"
    ) in stderr, stderr[-3000:]


def test_python3_that_fails(bazel, tmp_path):
    path = _python3_wrapper(tmp_path / "failing", 'echo "broken interpreter" >&2; exit 3')
    stderr = _fetch_error(bazel, path)
    assert f"{WHO}: running {path / 'python3'} failed (exit 3): broken interpreter" in stderr, (
        stderr[-3000:]
    )


def test_python3_that_is_not_cpython(bazel, tmp_path):
    path = _rewriting_python3(
        tmp_path / "pypy", 's/"implementation": "cpython"/"implementation": "pypy"/'
    )
    stderr = _fetch_error(bazel, path)
    assert f"{WHO}: " in stderr and " is pypy; only CPython is supported" in stderr, stderr[-3000:]


def test_python3_older_than_3_10(bazel, tmp_path):
    path = _rewriting_python3(tmp_path / "old", 's/"version": "3\\.[0-9]*"/"version": "3.9"/')
    stderr = _fetch_error(bazel, path)
    assert (
        " is Python 3.9; rules_ml_wheels' helpers need CPython 3.10 or newer "
        "(their pinned packaging/setuptools do)"
    ) in stderr, stderr[-3000:]
    assert f"{WHO}: " in stderr
