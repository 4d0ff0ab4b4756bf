"""python_editable_wheel with real Bazel, on examples/pure_python: the
editable twin of //greet:wheel installs into a fresh venv, imports the
workspace's sources (edits seen without reinstalling) and the generated
module from Bazel's output tree; on Bazel 4.2.3 (WORKSPACE) and on Bazel
7.7.1 with bzlmod (scripts/forky.sh)."""

from __future__ import annotations

import json
import shlex
import subprocess
import zipfile
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT, remove_tree
from .conftest import copy_workspace

pytestmark = pytest.mark.integration

FORKY = REPO_ROOT / "scripts" / "forky.sh"
TARGET = "//greet:wheel.editable"
WHEEL_NAME = "greet_example-1.0.0.dev0+selfbuilt-py3-none-any.whl"
FINDER = "__editable___greet_example_1_0_0_dev0_selfbuilt_finder"
PTH = "__editable__.greet_example-1.0.0.dev0+selfbuilt.pth"
DIST_INFO = "greet_example-1.0.0.dev0+selfbuilt.dist-info"
# Prints where each module comes from and what the console script says.
PROBE = (
    "import greet, greet.build_info as b, greet.cli;"
    "print(greet.__file__); print(greet.cli.__file__); print(b.__file__);"
    "print(b.GENERATED_BY); print(greet.greeting('Ada'))"
)
# The greeting the test edits into the source after installing.
EDITED = '    return f"Howdy, {name}!"\n'


@pytest.fixture(scope="module")
def bazel(make_bazel):
    # Its own copy: the test edits the copy's sources.
    return make_bazel(EXAMPLES / "pure_python", "editable", copy_as="editable")


def _edit_greeting(workspace: Path) -> None:
    source = workspace / "greet" / "__init__.py"
    text = source.read_text()
    assert 'return f"Hello, {name}!"' in text
    source.write_text(text.replace('    return f"Hello, {name}!"\n', EDITED))


def _probe(venv: Path) -> list[str]:
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", PROBE],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_editable_wheel_imports_the_workspace_and_sees_edits(bazel, fresh_venv, tmp_path):
    workspace = bazel.workspace
    twin_bin = bazel.bin_dir()
    bazel.run("build", "//greet:wheel", TARGET)
    first, second = tmp_path / "one", tmp_path / "two"
    run = bazel.run("run", TARGET, "--", str(first))
    wheel = first / WHEEL_NAME
    assert run.stdout.strip() == str(wheel)
    bazel.run("run", TARGET, "--", str(second))
    # The same paths give the same bytes.
    assert wheel.read_bytes() == (second / WHEEL_NAME).read_bytes()

    # The twin's name, metadata and entry points; the .pth file and the finder.
    twin = twin_bin / "greet" / WHEEL_NAME
    with zipfile.ZipFile(wheel) as editable, zipfile.ZipFile(twin) as built:
        names = editable.namelist()
        assert names == [
            PTH,
            FINDER + ".py",
            f"{DIST_INFO}/METADATA",
            f"{DIST_INFO}/WHEEL",
            f"{DIST_INFO}/entry_points.txt",
            f"{DIST_INFO}/RECORD",
        ]
        for name in ("METADATA", "WHEEL", "entry_points.txt"):
            assert editable.read(f"{DIST_INFO}/{name}") == built.read(f"{DIST_INFO}/{name}")
        assert editable.read(PTH) == f"import {FINDER}; {FINDER}.install()\n".encode()
        record = editable.read(f"{DIST_INFO}/RECORD").decode().splitlines()
        assert [line.split(",")[0] for line in record] == names

    # The cached action output holds no host path: only runfiles paths.
    manifest = (twin_bin / "greet" / "wheel.editable.manifest.json").read_text()
    assert str(workspace) not in manifest and str(bazel.output_base) not in manifest
    entries = {f["path"]: f for f in json.loads(manifest)["files"]}
    assert entries["greet/__init__.py"]["workspace"] is True
    assert entries["greet/build_info.py"]["workspace"] is False

    python = fresh_venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
        check=True,
    )
    init, cli, build_info, generated_by, greeting = _probe(fresh_venv)
    assert init == str(workspace / "greet" / "__init__.py")
    assert cli == str(workspace / "greet" / "cli.py")
    # The generated module is Bazel's output, where bazel-bin points.
    assert build_info == str((twin_bin / "greet" / "build_info.py").resolve())
    assert generated_by == "genrule"
    assert greeting == "Hello, Ada!"
    script = subprocess.run(
        [str(fresh_venv / "bin" / "greet"), "--name", "Ada"], capture_output=True, text=True
    )
    assert script.stdout == "Hello, Ada!\n", script.stderr

    # Edit the source: the installed package sees it, no reinstall, no build.
    _edit_greeting(workspace)
    assert _probe(fresh_venv)[-1] == "Howdy, Ada!"
    script = subprocess.run(
        [str(fresh_venv / "bin" / "greet"), "--name", "Ada"], capture_output=True, text=True
    )
    assert script.stdout == "Howdy, Ada!\n", script.stderr


def test_editable_binary_outside_bazel_run_is_an_error(bazel):
    bazel.run("build", TARGET)
    binary = bazel.bin_dir() / "greet" / "wheel.editable"
    run = subprocess.run(
        [str(binary), "--manifest", "greet/wheel.editable.manifest.json"],
        capture_output=True,
        text=True,
        cwd=f"{binary}.runfiles/pure_python_example",
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == (
        "python_editable_wheel: error: //greet:wheel: BUILD_WORKSPACE_DIRECTORY is not set: "
        "an editable wheel points at the workspace's files, so run it with `bazel run`, "
        "not from bazel-bin\n"
    )


def test_bazel7_bzlmod_editable_wheel(tmp_path_factory):
    """The same under bzlmod (jax#40031): the main repository is `_main`."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("editable_bazel7")
    workspace = copy_workspace(EXAMPLES / "pure_python", workdir / "ws", bzlmod=True)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = "--nosandbox_debug --enable_bzlmod --symlink_prefix=/"
    venv = workdir / "venv"
    probe = f"{venv}/bin/python -I -c {shlex.quote(PROBE)}"
    edit = (
        f'sed -i \'s/return f"Hello, {{name}}!"/return f"Howdy, {{name}}!"/\' '
        f"{workspace}/greet/__init__.py"
    )
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} run {flags} {TARGET} -- {workdir / 'dist'} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info {flags} bazel-bin >bazel-bin.txt 2>/dev/null",
            f"{bazel} shutdown",
            f"python3 -m venv {venv}",
            f"{venv}/bin/python -m pip install -q --no-index --no-deps"
            f" {workdir / 'dist' / WHEEL_NAME}",
            f"cd / && {probe} >{workdir / 'before.txt'}",
            edit,
            f"{probe} >{workdir / 'after.txt'}",
        ]
    )
    (workdir / "run.sh").write_text(script + "\n")
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    bin_dir = Path((workspace / "bazel-bin.txt").read_text().strip())
    init, cli, build_info, generated_by, greeting = (
        (workdir / "before.txt").read_text().split("\n")[:5]
    )
    assert init == str(workspace / "greet" / "__init__.py")
    assert cli == str(workspace / "greet" / "cli.py")
    assert build_info == str((bin_dir / "greet" / "build_info.py").resolve())
    assert "/execroot/_main/" in build_info
    assert (generated_by, greeting) == ("genrule", "Hello, Ada!")
    assert (workdir / "after.txt").read_text().splitlines()[-1] == "Howdy, Ada!"
    remove_tree(workdir)
