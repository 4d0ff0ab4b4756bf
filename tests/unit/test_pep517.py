"""PEP 517 mode end to end: setuptools builds, the packer rewrites canonically."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from ml_wheels import __version__

from .helpers import base_spec, module_root, run_pack, sha256_file, verify_record, write_spec

# The requirement is computed, as real setup.py files do.
SETUP_PY = """\
import os
from setuptools import setup

minimum = ".".join(str(part) for part in (20, 0))
setup(
    name=os.environ["ML_WHEEL_DISTRIBUTION"],
    version=os.environ.get("FORCE_VERSION", os.environ["ML_WHEEL_VERSION"]),
    packages=["tinypkg"],
    package_data={"tinypkg": ["*.so"]},
    install_requires=["packaging>=" + minimum],
    entry_points={"console_scripts": ["tiny = tinypkg:main"]},
)
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
WHEEL_NAME = "tiny_pkg-0.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def _spec(**overrides) -> dict:
    fields = {
        "target": "//tiny:wheel",
        "distribution": "tiny-pkg",
        "version": "0.1.0",
        "python_tag": "cp311",
        "abi_tag": "cp311",
        "platform_tag": "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "wheel_name": WHEEL_NAME,
    }
    fields.update(overrides)
    return base_spec(**fields)


@pytest.fixture
def tiny(tmp_path) -> Path:
    root = tmp_path / "tiny"
    (root / "tinypkg").mkdir(parents=True)
    (root / "tinypkg" / "__init__.py").write_text("def main():\n    print('tiny')\n")
    (root / "tinypkg" / "_native.so").write_bytes(b"\x7fELF pretend library")
    (root / "setup.py").write_text(SETUP_PY)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "LICENSE").write_text("MIT License\n")
    return root


def _env(**extra) -> dict[str, str]:
    # The Bazel action only has its runfiles on PYTHONPATH.
    roots = [module_root(m) for m in ("build", "pyproject_hooks", "setuptools", "packaging")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(roots)))
    env.update(extra)
    return env


def _pack(tiny: Path, spec: dict, output: Path, env=None, check=True, project=None):
    spec_path = write_spec(tiny.parent / "spec.json", spec)
    if project is None:
        project = [
            *("--project-file", "setup.py", tiny / "setup.py"),
            *("--project-file", "pyproject.toml", tiny / "pyproject.toml"),
        ]
    return run_pack(
        *("pep517", "--spec", spec_path, "--output", output, *project),
        *("--tree", "tinypkg", tiny / "tinypkg"),
        *("--distinfo-file", "licenses/LICENSE", tiny / "LICENSE"),
        *("--jobs", "1"),
        env=env or _env(),
        check=check,
    )


def test_pep517_end_to_end(tiny, tmp_path):
    first = tmp_path / "a" / WHEEL_NAME
    second = tmp_path / "b" / WHEEL_NAME
    first.parent.mkdir()
    second.parent.mkdir()
    _pack(tiny, _spec(), first)
    _pack(tiny, _spec(), second, env=_env(TZ="Asia/Tokyo", LC_ALL="C"))
    assert sha256_file(first) == sha256_file(second)
    verify_record(first)
    info = "tiny_pkg-0.1.0.dist-info"
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        metadata = zf.read(f"{info}/METADATA").decode()
        wheel_file = zf.read(f"{info}/WHEEL").decode()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        assert zf.read(f"{info}/entry_points.txt").decode().strip() == (
            "[console_scripts]\ntiny = tinypkg:main"
        )
        assert zf.read("tinypkg/_native.so") == b"\x7fELF pretend library"
    assert "tinypkg/__init__.py" in names
    assert f"{info}/licenses/LICENSE" in names
    assert names[-1] == f"{info}/RECORD"
    assert "Name: tiny-pkg\n" in metadata and "Version: 0.1.0\n" in metadata
    assert "Requires-Dist: packaging>=20.0\n" in metadata
    assert wheel_file == (
        "Wheel-Version: 1.0\n"
        f"Generator: rules_ml_wheels {__version__}\n"
        "Root-Is-Purelib: false\n"
        "Tag: cp311-cp311-manylinux_2_17_x86_64\n"
        "Tag: cp311-cp311-manylinux2014_x86_64\n"
    )
    assert modes["tinypkg/_native.so"] == 0o100755
    assert modes["tinypkg/__init__.py"] == 0o100644


def test_version_mismatch_names_both(tiny, tmp_path):
    # Project files may also come as a directory (a Bazel tree artifact).
    project_dir = tmp_path / "project_files"
    project_dir.mkdir()
    for name in ("setup.py", "pyproject.toml"):
        (project_dir / name).write_bytes((tiny / name).read_bytes())
    (tiny / "setup.py").unlink()
    proc = _pack(
        tiny,
        _spec(),
        tmp_path / WHEEL_NAME,
        env=_env(FORCE_VERSION="9.9"),
        check=False,
        project=["--project-file", "", project_dir],
    )
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("pack_wheel: error: //tiny:wheel: ")
    assert "9.9" in message and "0.1.0" in message
    assert not (tmp_path / WHEEL_NAME).exists()


def test_build_failure_shows_output(tiny, tmp_path):
    (tiny / "setup.py").write_text("raise SystemExit('setup.py exploded on purpose')\n")
    proc = _pack(tiny, _spec(), tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert "setup.py exploded on purpose" in proc.stderr
    assert "//tiny:wheel" in proc.stderr.strip().splitlines()[-1]
    assert "Traceback (most recent call last)" not in proc.stderr.split("exploded")[-1]


def test_spec_metadata_is_refused(tiny, tmp_path):
    spec = _spec()
    spec["metadata"]["summary"] = "set in the rule"
    proc = _pack(tiny, spec, tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert "'summary'" in proc.stderr and "setup.py" in proc.stderr


def test_wheel_name_checked_before_building(tiny, tmp_path):
    spec = _spec(wheel_name="tiny_pkg-0.1.0-py3-none-any.whl")
    proc = _pack(tiny, spec, tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert WHEEL_NAME in proc.stderr and "tiny_pkg-0.1.0-py3-none-any.whl" in proc.stderr
    assert json.loads((tiny.parent / "spec.json").read_text())["target"] == "//tiny:wheel"
