"""local_python_toolchain's fetch errors, with real Bazel.

On the pure_python example the interpreter is looked up on the repository
rules' PATH (`--repo_env=PATH=...`): a PATH without python3, or with a python3
that fails, is not CPython or is too old, must fail the fetch with one
sentence naming the repository and what to do. Generated workspaces cover an
`interpreter` attribute naming no file, and a binary wheel with no
interpreter registered."""

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


def _workspace(root: Path, interpreter_setup: str) -> Path:
    """A minimal workspace with one binary python_wheel and the given set-up."""
    root.mkdir()
    (root / "WORKSPACE").write_text(
        'workspace(name = "local_python_errors")\n'
        'local_repository(name = "rules_ml_wheels", path = "/replaced/by/override")\n'
        'load("@rules_ml_wheels//python_wheel:repositories.bzl", '
        '"local_python_toolchain", "rules_ml_wheels_dependencies")\n'
        f"{interpreter_setup}\n"
        "rules_ml_wheels_dependencies()\n"
    )
    (root / "BUILD.bazel").write_text(
        'load("@rules_ml_wheels//python_wheel:defs.bzl", "python_wheel")\n'
        "python_wheel(\n"
        '    name = "wheel",\n'
        '    distribution = "native_pkg",\n'
        '    version = "1.0",\n'
        '    platform_tag = "manylinux_2_17_x86_64",\n'
        '    srcs = ["mod.py"],\n'
        ")\n"
    )
    (root / "mod.py").write_text("X = 1\n")
    return root


def test_interpreter_attribute_that_does_not_exist(make_bazel, tmp_path):
    missing = tmp_path / "no" / "python3"
    workspace = _workspace(
        tmp_path / "ws",
        f'local_python_toolchain(name = "python", interpreter = "{missing}")',
    )
    bazel = make_bazel(workspace, "local-python-missing", copy_as="local-python-missing")
    result = bazel.run("build", "//:wheel", check=False)
    assert result.returncode != 0
    assert (
        f'{WHO}: interpreter "{missing}" does not exist; set `interpreter` to the absolute path '
        "of a python3 binary"
    ) in result.stderr, result.stderr[-3000:]
    bazel.shutdown()


def test_binary_wheel_without_an_interpreter_or_tags(make_bazel, tmp_path):
    """No interpreter registered: the fallback tags toolchain cannot derive
    cpXY tags, and the error says what to set or register."""
    workspace = _workspace(tmp_path / "ws", "# no interpreter registered")
    bazel = make_bazel(workspace, "local-python-none", copy_as="local-python-none")
    result = bazel.run("build", "//:wheel", check=False)
    assert result.returncode != 0
    assert (
        '//:wheel: platform_tag is "manylinux_2_17_x86_64" but python_tag/abi_tag are not set '
        "and the python tags toolchain (no interpreter registered) cannot derive them. "
        'Set python_tag and abi_tag (e.g. "cp311"), or register an interpreter'
    ) in result.stderr, result.stderr[-3000:]
    bazel.shutdown()
