"""A wheel past every classic zip limit: a member over 4 GiB and more than 65,535
entries, written by pack_wheel and read back by Python's zipfile, unzip and pip.

Takes about three minutes and needs 6 GB of free disk (pip unpacks the 4 GiB
member); deselect it with `-m "not huge"` (see docs/troubleshooting.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.huge]

TOOLS = Path(__file__).resolve().parents[2] / "tools"
BIG = 4 * 1024**3 + 12345  # just over the 32-bit limit
ENTRIES = 66_000


@pytest.fixture(scope="module")
def huge_wheel(tmp_path_factory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("huge")
    if shutil.disk_usage(work).free < 6 * 1024**3:
        pytest.fail(f"the zip64 test needs 6 GB free under {work}; free some space")
    big = work / "big.bin"
    with open(big, "wb") as f:  # sparse: cheap to create, reads as zeros
        f.truncate(BIG)
    small_dir = work / "small"
    small_dir.mkdir()
    args = ["--file", "huge/data/big.bin", str(big)]
    for i in range(ENTRIES):
        path = small_dir / f"f{i}.txt"
        path.write_text(str(i))
        args += ["--file", f"huge/many/f{i}.txt", str(path)]
    (small_dir / "__init__.py").write_text(f"BIG = {BIG}\n")
    args += ["--file", "huge/__init__.py", str(small_dir / "__init__.py")]
    spec = {
        "target": "//test:huge",
        "distribution": "huge",
        "version": "1.0",
        "python_tag": "py3",
        "abi_tag": "none",
        "platform_tag": "any",
        "build_tag": "",
        "wheel_name": "huge-1.0-py3-none-any.whl",
        "compression_level": 1,
        "metadata": {"summary": "zip64 test"},
        "entry_points": {},
    }
    (work / "spec.json").write_text(json.dumps(spec))
    params = work / "params"
    params.write_text("\n".join(args) + "\n")
    wheel = work / spec["wheel_name"]
    command = [
        sys.executable,
        str(TOOLS / "pack_wheel.py"),
        "spec",
        "--spec",
        str(work / "spec.json"),
    ]
    subprocess.run([*command, "--output", str(wheel), f"@{params}"], check=True)
    yield wheel
    shutil.rmtree(work)


def test_python_zipfile_reads_it(huge_wheel):
    with zipfile.ZipFile(huge_wheel) as archive:
        infos = archive.infolist()
        assert len(infos) == ENTRIES + 5  # + __init__.py, big.bin, METADATA, WHEEL, RECORD
        big = archive.getinfo("huge/data/big.bin")
        assert big.file_size == BIG
        with archive.open(big) as stream:  # reads 4 GiB, checking the CRC at the end
            total = 0
            while block := stream.read(1 << 24):
                assert not block.strip(b"\0")
                total += len(block)
        assert total == BIG
        assert archive.read("huge/many/f65999.txt") == b"65999"


def test_unzip_tests_it(huge_wheel):
    result = subprocess.run(
        ["unzip", "-tq", str(huge_wheel)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def test_pip_installs_it(huge_wheel, tmp_path):
    target = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(huge_wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.path.getsize(target / "huge" / "data" / "big.bin") == BIG
    assert (target / "huge" / "many" / "f12345.txt").read_text() == "12345"
    check = subprocess.run(
        [sys.executable, "-c", "import huge; print(huge.BIG)"],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == str(BIG)
