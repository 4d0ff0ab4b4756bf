"""Directory mode: repacking an unpacked wheel built independently by setuptools."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from .helpers import clean_pip_env, run_pack, sha256_file, verify_record

SETUP_PY = """\
from setuptools import setup

setup(
    name="Demo.Pkg",
    version="2.0.0rc1",
    packages=["demo_pkg"],
    package_data={"demo_pkg": ["data/*.json"]},
    install_requires=[],
    entry_points={"console_scripts": ["demo-tool = demo_pkg.cli:main"]},
)
"""


@pytest.fixture(scope="module")
def setuptools_wheel(tmp_path_factory) -> Path:
    """A wheel built by setuptools (python -m build), independent of ml_wheels."""
    root = tmp_path_factory.mktemp("setuptools_project")
    (root / "demo_pkg" / "data").mkdir(parents=True)
    (root / "demo_pkg" / "__init__.py").write_text("ANSWER = 42\n")
    (root / "demo_pkg" / "cli.py").write_text("def main():\n    print('demo says hi')\n")
    (root / "demo_pkg" / "data" / "v.json").write_text('{"v": 1}\n')
    (root / "setup.py").write_text(SETUP_PY)
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


def _unpack(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest


def _contents(wheel: Path) -> dict[str, bytes]:
    """Members except RECORD; the .dist-info name is canonicalized, since older
    setuptools releases do not normalize it."""
    with zipfile.ZipFile(wheel) as zf:
        return {
            re.sub(r"^[^/]+\.dist-info/", "demo_pkg-2.0.0rc1.dist-info/", n): zf.read(n)
            for n in zf.namelist()
            if not n.endswith("/RECORD")
        }


def _dist_info(unpacked: Path) -> Path:
    (info,) = unpacked.glob("*.dist-info")
    return info


def test_repack_round_trip(setuptools_wheel, tmp_path):
    unpacked = _unpack(setuptools_wheel, tmp_path / "unpacked")
    proc = run_pack("dir", unpacked, "--dest-dir", tmp_path / "out")
    ours = Path(proc.stdout.strip())
    assert ours.parent == tmp_path / "out"
    assert ours.name == "demo_pkg-2.0.0rc1-py3-none-any.whl"
    assert parse_wheel_filename(ours.name) == parse_wheel_filename(setuptools_wheel.name)
    assert _contents(ours) == _contents(setuptools_wheel)
    verify_record(ours)

    # `wheel pack` (an independent implementation) picks the same name, version
    # and tags (it keeps a non-normalized .dist-info name as is).
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    subprocess.run(
        [sys.executable, "-m", "wheel", "pack", str(unpacked), "-d", str(ref_dir)],
        check=True,
        capture_output=True,
    )
    (reference,) = ref_dir.iterdir()
    assert parse_wheel_filename(reference.name) == parse_wheel_filename(ours.name)

    # Repacking our own output again gives the same bytes.
    again = run_pack("dir", _unpack(ours, tmp_path / "unpacked2"), "--dest-dir", tmp_path / "out2")
    assert sha256_file(Path(again.stdout.strip())) == sha256_file(ours)

    # pip installs the repacked wheel into a fresh venv, and it works.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--isolated",
            "--no-index",
            "--no-deps",
            "--quiet",
            str(ours),
        ],
        check=True,
        env=clean_pip_env(),
    )
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import demo_pkg, json, importlib.resources as r;"
            "print(demo_pkg.ANSWER, json.loads(r.files('demo_pkg').joinpath('data/v.json')"
            ".read_text())['v'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "42 1\n"
    tool = subprocess.run([str(venv / "bin" / "demo-tool")], capture_output=True, text=True)
    assert tool.stdout == "demo says hi\n"


def test_build_number(setuptools_wheel, tmp_path):
    unpacked = _unpack(setuptools_wheel, tmp_path / "unpacked")
    proc = run_pack("dir", unpacked, "--dest-dir", tmp_path, "--build-number", "7")
    ours = Path(proc.stdout.strip())
    assert ours.name == "demo_pkg-2.0.0rc1-7-py3-none-any.whl"
    with zipfile.ZipFile(ours) as zf:
        wheel_file = zf.read("demo_pkg-2.0.0rc1.dist-info/WHEEL").decode()
    assert wheel_file.endswith("Build: 7\n")
    verify_record(ours)


def test_compression_level_zero_and_jobs(setuptools_wheel, tmp_path):
    unpacked = _unpack(setuptools_wheel, tmp_path / "unpacked")
    proc = run_pack(
        "dir", unpacked, "--dest-dir", tmp_path, "--compression-level", "0", "--jobs", "1"
    )
    with zipfile.ZipFile(proc.stdout.strip()) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def _error(proc) -> str:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_errors(setuptools_wheel, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "exactly one .dist-info" in _error(
        run_pack("dir", empty, "--dest-dir", tmp_path, check=False)
    )

    unpacked = _unpack(setuptools_wheel, tmp_path / "two")
    (unpacked / "other-1.0.dist-info").mkdir()
    message = _error(run_pack("dir", unpacked, "--dest-dir", tmp_path, check=False))
    assert "other-1.0.dist-info" in message

    unpacked = _unpack(setuptools_wheel, tmp_path / "notags")
    wheel_file = _dist_info(unpacked) / "WHEEL"
    wheel_file.write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    assert "Tag" in _error(run_pack("dir", unpacked, "--dest-dir", tmp_path, check=False))

    unpacked = _unpack(setuptools_wheel, tmp_path / "renamed")
    _dist_info(unpacked).rename(unpacked / "demo_pkg-3.0.dist-info")
    message = _error(run_pack("dir", unpacked, "--dest-dir", tmp_path, check=False))
    assert "demo_pkg-3.0.dist-info" in message and "'2.0.0rc1'" in message
