"""The editable wheel writer and its import hook, without Bazel: a package split
between a workspace and an output tree reached through runfiles links, a
namespace package, an extension module's name, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_wheels.editable.build import build_editable_wheel, load_manifest, module_map
from ml_wheels.editable.cli import main
from ml_wheels.errors import WheelError

DIST_INFO = "demo-1.0.dist-info"
EXT = "_ext.cpython-311-x86_64-linux-gnu.so"
# Wheel path, runfiles path, whether it is a source of the main repository.
FILES = [
    ("demo/__init__.py", "src/demo/__init__.py", True),
    ("demo/gen.py", "src/demo/gen.py", False),
    ("demo/util.py", "src/demo/util.py", True),
    ("ns/mod.py", "nsdir/ns/mod.py", True),
]


def _layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A workspace, an output tree and a runfiles tree linking into both."""
    workspace, out, runfiles = tmp_path / "ws", tmp_path / "out", tmp_path / "runfiles"
    for path, text in {
        workspace / "src" / "demo" / "__init__.py": "from demo.gen import VALUE\n",
        workspace / "src" / "demo" / "util.py": "NAME = 'util'\n",
        workspace / "nsdir" / "ns" / "mod.py": "X = 'ns'\n",
        out / "bin" / "src" / "demo" / "gen.py": "VALUE = 'generated'\n",
        out / "dist" / "METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n",
        out / "dist" / "WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        out / "dist" / "RECORD": "stale,,\n",
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    links = {
        "src/demo/gen.py": out / "bin" / "src" / "demo" / "gen.py",
        "dist-info": out / "dist",
    }
    for name, target in links.items():
        link = runfiles / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    manifest = runfiles / "m.json"
    manifest.write_text(
        json.dumps(
            {
                "target": "//demo:wheel",
                "wheel_name": "demo-1.0-py3-none-any.whl",
                "distribution": "demo",
                "version": "1.0",
                "finder": "__editable___demo_1_0_finder",
                "dist_info": "dist-info",
                "dist_info_name": DIST_INFO,
                "files": [
                    {"path": path, "runfile": runfile, "workspace": in_workspace}
                    for path, runfile, in_workspace in FILES
                ],
                "trees": [],
            }
        )
    )
    return workspace, out, runfiles


def _install(wheel: Path, site: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)


def _python(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    # site.addsitedir runs the .pth file, as the interpreter does for site-packages.
    script = f"import site; site.addsitedir({str(site)!r}); {code}"
    return subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False, cwd="/"
    )


def test_split_package_imports_from_workspace_and_output_tree(tmp_path):
    workspace, out, runfiles = _layout(tmp_path)
    manifest = load_manifest(str(runfiles / "m.json"))
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    build_editable_wheel(manifest, str(runfiles), str(workspace), str(wheel))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read(f"{DIST_INFO}/RECORD").decode()
    assert names == [
        "__editable__.demo-1.0.pth",
        "__editable___demo_1_0_finder.py",
        f"{DIST_INFO}/METADATA",
        f"{DIST_INFO}/WHEEL",
        f"{DIST_INFO}/RECORD",
    ]
    assert "stale" not in record
    site = tmp_path / "site"
    _install(wheel, site)
    run = _python(
        site,
        "import demo, demo.util, ns.mod; "
        "print(demo.__file__); print(demo.gen.__file__); print(demo.util.__file__); "
        "print(demo.VALUE, ns.mod.X, list(ns.__path__))",
    )
    assert run.returncode == 0, run.stderr
    init, gen, util, last = run.stdout.splitlines()
    assert init == str(workspace / "src" / "demo" / "__init__.py")
    assert gen == str(out / "bin" / "src" / "demo" / "gen.py")
    assert util == str(workspace / "src" / "demo" / "util.py")
    assert last == f"generated ns [{str(workspace / 'nsdir' / 'ns')!r}]"

    # An edit to a source is seen by the next interpreter.
    (workspace / "src" / "demo" / "util.py").write_text("NAME = 'edited'\n")
    assert _python(site, "import demo.util; print(demo.util.NAME)").stdout == "edited\n"

    # The same paths give the same bytes.
    again = tmp_path / "again.whl"
    build_editable_wheel(manifest, str(runfiles), str(workspace), str(again))
    assert again.read_bytes() == wheel.read_bytes()


def test_module_map_extensions_and_packages():
    modules, packages = module_map(
        {
            "pkg/__init__.py": "/ws/pkg/__init__.py",
            f"pkg/{EXT}": f"/out/pkg/{EXT}",
            "pkg/_ext.py": "/ws/pkg/_ext.py",
            "pkg/data/table.json": "/ws/pkg/data/table.json",
            "pkg.libs/libfoo.so.1": "/out/pkg.libs/libfoo.so.1",
            "demo-1.0.dist-info/METADATA": "/out/METADATA",
        }
    )
    # The extension wins over a same-named source, as with Python's own finder.
    assert modules == {
        "pkg": "/ws/pkg/__init__.py",
        "pkg._ext": f"/out/pkg/{EXT}",
    }
    assert packages == {
        "pkg": ["/out/pkg", "/ws/pkg"],
        "pkg.data": ["/ws/pkg/data"],
    }


def test_missing_file_names_the_target_and_the_fix(tmp_path):
    workspace, _, runfiles = _layout(tmp_path)
    (workspace / "src" / "demo" / "util.py").unlink()
    manifest = load_manifest(str(runfiles / "m.json"))
    with pytest.raises(WheelError) as error:
        build_editable_wheel(manifest, str(runfiles), str(workspace), str(tmp_path / "w.whl"))
    assert str(error.value) == (
        f"//demo:wheel: 'demo/util.py' should be at {workspace}/src/demo/util.py, which is not "
        "a file; run python_editable_wheel with `bazel run` from the workspace, after the build"
    )


def test_cli_without_bazel_run_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    _, _, runfiles = _layout(tmp_path)
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    assert main(["--manifest", str(runfiles / "m.json"), str(tmp_path / "dist")]) == 2
    assert capsys.readouterr().err == (
        "python_editable_wheel: error: //demo:wheel: BUILD_WORKSPACE_DIRECTORY is not set: an "
        "editable wheel points at the workspace's files, so run it with `bazel run`, not from "
        "bazel-bin\n"
    )
    assert not (tmp_path / "dist").exists()


def test_cli_writes_into_the_directory_relative_to_the_working_directory(
    tmp_path, monkeypatch, capsys
):
    workspace, _, runfiles = _layout(tmp_path)
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(workspace))
    monkeypatch.setenv("BUILD_WORKING_DIRECTORY", str(tmp_path))
    monkeypatch.chdir(runfiles)
    assert main(["--manifest", "m.json", "dist"]) == 0
    wheel = tmp_path / "dist" / "demo-1.0-py3-none-any.whl"
    assert capsys.readouterr().out == f"{wheel}\n"
    assert os.path.isfile(wheel)
