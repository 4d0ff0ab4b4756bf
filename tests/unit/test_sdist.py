"""sdist.py and the in-tree backend: reproducible archives, layout, errors, the rebuilt wheel."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .helpers import TOOLS, base_spec, verify_record, write_spec

SDIST = TOOLS / "sdist.py"
BACKEND = TOOLS / "ml_wheels" / "sdist" / "backend.py"
METADATA = "Metadata-Version: 2.4\nName: My-Project\nVersion: 1.2.0\nLicense-File: LICENSE\n"


def _inputs(root: Path, mtime: int = 1_700_000_000) -> dict[str, Path]:
    """A spec, a .dist-info directory as python_wheel writes it, and sources."""
    root.mkdir(parents=True)
    dist_info = root / "my_project-1.2.0.dist-info"
    (dist_info / "licenses").mkdir(parents=True)
    (dist_info / "METADATA").write_text(METADATA)
    (dist_info / "WHEEL").write_text(
        "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    (dist_info / "entry_points.txt").write_text("[console_scripts]\nmp = mypkg.cli:main\n")
    (dist_info / "RECORD").write_text("not copied\n")
    (dist_info / "licenses" / "LICENSE").write_text("MIT\n")
    (root / "src" / "data").mkdir(parents=True)
    (root / "src" / "init.py").write_text("X = 1\n")
    (root / "src" / "tool.sh").write_text("#!/bin/sh\n")
    (root / "src" / "tool.sh").chmod(0o755)
    (root / "src" / "data" / "b.txt").write_text("b\n")
    (root / "src" / "data" / "a.txt").write_text("a\n")
    for path in root.rglob("*"):
        os.utime(path, (mtime, mtime))
    return {
        "root": root,
        "dist_info": dist_info,
        "spec": write_spec(root / "spec.json", base_spec()),
    }


def _run(
    inputs: dict[str, Path], output: Path, *extra: str, spec: Path | None = None
) -> subprocess.CompletedProcess:
    src = inputs["root"] / "src"
    return subprocess.run(
        [
            sys.executable,
            str(SDIST),
            *("--spec", str(spec or inputs["spec"]), "--dist-info", str(inputs["dist_info"])),
            *("--backend", str(BACKEND)),
            *("--file", "mypkg/__init__.py", str(src / "init.py")),
            *("--file", "mypkg/tool.sh", str(src / "tool.sh")),
            *("--tree", "mypkg/data", str(src / "data")),
            *extra,
            *("--output", str(output)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_archive_is_byte_reproducible_across_mtimes_and_umask(tmp_path):
    first = _inputs(tmp_path / "one", mtime=1_600_000_000)
    second = _inputs(tmp_path / "two", mtime=1_700_000_000)
    out1, out2 = (
        tmp_path / "o1" / "my_project-1.2.0.tar.gz",
        tmp_path / "o2" / "my_project-1.2.0.tar.gz",
    )
    out1.parent.mkdir()
    out2.parent.mkdir()
    assert _run(first, out1).returncode == 0
    old = os.umask(0o077)
    try:
        assert _run(second, out2).returncode == 0
    finally:
        os.umask(old)
    assert out1.read_bytes() == out2.read_bytes()
    data = out1.read_bytes()
    assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"  # no FNAME, MTIME 0


def test_layout_metadata_and_modes(tmp_path):
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "my_project-1.2.0.tar.gz"
    assert _run(inputs, out).returncode == 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(out.read_bytes()))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        names = list(members)
        assert names == sorted(names)
        base = "my_project-1.2.0/"
        assert sorted(n[len(base) :] for n in names) == [
            "LICENSE",
            "PKG-INFO",
            "_ml_wheels_build/WHEEL",
            "_ml_wheels_build/entry_points.txt",
            "_ml_wheels_build/ml_wheels_sdist_backend.py",
            "_ml_wheels_build/wheel.json",
            "mypkg/__init__.py",
            "mypkg/data/a.txt",
            "mypkg/data/b.txt",
            "mypkg/tool.sh",
            "pyproject.toml",
        ]
        assert tar.extractfile(base + "PKG-INFO").read().decode() == METADATA
        assert (
            tar.extractfile(base + "_ml_wheels_build/ml_wheels_sdist_backend.py").read()
            == BACKEND.read_bytes()
        )
        pyproject = tar.extractfile(base + "pyproject.toml").read().decode()
        assert 'build-backend = "ml_wheels_sdist_backend"' in pyproject
        assert 'backend-path = ["_ml_wheels_build"]' in pyproject
        assert "requires = []" in pyproject
        assert members[base + "mypkg/tool.sh"].mode == 0o755
        assert members[base + "mypkg/__init__.py"].mode == 0o644
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {
            (315532800, 0, 0, "", "")
        }


def test_backend_rebuilds_the_wheel(tmp_path):
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "my_project-1.2.0.tar.gz"
    assert _run(inputs, out).returncode == 0
    with tarfile.open(out) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    root = tmp_path / "x" / "my_project-1.2.0"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    code = (
        "import sys; sys.path.insert(0, '_ml_wheels_build');"
        "import ml_wheels_sdist_backend as b;"
        f"assert b.get_requires_for_build_wheel() == []; print(b.build_wheel({str(wheels)!r}))"
    )
    built = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert built.stdout.strip() == "my_project-1.2.0-py3-none-any.whl"
    wheel = wheels / "my_project-1.2.0-py3-none-any.whl"
    verify_record(wheel)
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("my_project-1.2.0.dist-info/METADATA").decode() == METADATA
        assert zf.read("my_project-1.2.0.dist-info/licenses/LICENSE") == b"MIT\n"
        assert zf.read("my_project-1.2.0.dist-info/entry_points.txt").startswith(
            b"[console_scripts]"
        )
        assert zf.read("mypkg/data/a.txt") == b"a\n"
        assert zf.getinfo("mypkg/tool.sh").external_attr >> 16 == 0o100755
        assert "my_project-1.2.0.dist-info/RECORD" in zf.namelist()
        assert not any(n.startswith("_ml_wheels_build") or n == "PKG-INFO" for n in zf.namelist())


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (
            {"platform_tag": "manylinux_2_17_x86_64", "abi_tag": "cp311", "python_tag": "cp311"},
            [],
            "//pkg:wheel: python_sdist needs a pure wheel (platform tag 'any'), "
            "not 'manylinux_2_17_x86_64'",
        ),
        (
            {},
            ["--file", "_ml_wheels_build/x.py", "SRC"],
            "the wheel path '_ml_wheels_build/x.py' is reserved",
        ),
        ({}, ["--file", "LICENSE", "SRC"], "lands on 'LICENSE', which the sdist already holds"),
        ({"version": "1.2.0"}, [], None),
    ],
    ids=["platform-wheel", "reserved-path", "license-collision", "ok"],
)
def test_errors_name_the_target_and_the_fix(tmp_path, change, extra, message):
    inputs = _inputs(tmp_path / "in")
    spec = write_spec(tmp_path / "spec2.json", base_spec(**change))
    extra = [str(inputs["root"] / "src" / "init.py") if e == "SRC" else e for e in extra]
    result = _run(inputs, tmp_path / "my_project-1.2.0.tar.gz", *extra, spec=spec)
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2
    assert result.stderr.startswith("sdist: error: ")
    assert message in result.stderr
    assert not (tmp_path / "my_project-1.2.0.tar.gz").exists()


def test_output_name_must_be_pep625(tmp_path):
    inputs = _inputs(tmp_path / "in")
    result = _run(inputs, tmp_path / "My-Project-1.2.0.tar.gz")
    assert result.returncode == 2
    assert "its PEP 625 name is 'my_project-1.2.0.tar.gz'" in result.stderr
