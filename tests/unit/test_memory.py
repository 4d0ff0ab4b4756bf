"""Peak memory of writing stays bounded: whole-member deflate holds one member
(plus a fixed window of others), stored members are streamed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .helpers import PACK_WHEEL, base_spec, write_spec

_MEASURE = """\
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
MIB = 1 << 20
# ml_wheels.pipeline.WINDOW_BYTES, the raw bytes in flight beyond the largest member.
WINDOW = 256 * MIB


def _pack(tmp_path: Path, level: int, members: dict[str, Path]) -> tuple[int, Path]:
    """Packs ``members`` at ``level`` with two jobs; returns (peak RSS bytes, wheel)."""
    spec_path = write_spec(tmp_path / "spec.json", base_spec(compression_level=level))
    out = tmp_path / "o.whl"
    cmd = [sys.executable, str(PACK_WHEEL), "spec", "--spec", str(spec_path), "--output", str(out)]
    for arcname, path in members.items():
        cmd += ["--file", arcname, str(path)]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd, "--jobs", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout.strip().splitlines()[-1]) * 1024, out


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: cheap to create, still `size` bytes to read
    return path


def test_one_large_member_costs_about_its_size(tmp_path):
    big = _sparse(tmp_path / "libhuge.so", 256 * MIB)
    peak, out = _pack(tmp_path, 1, {"pkg/libhuge.so": big})
    # The member, its (tiny) encoding and the interpreter; not twice the member.
    assert peak < 256 * MIB + 100 * MIB, f"peak RSS {peak // MIB} MiB"
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("pkg/libhuge.so")
        assert info.file_size == 256 * MIB
        assert info.compress_size < 2 * MIB


def test_many_large_members_stay_within_the_window(tmp_path):
    members = {f"pkg/lib{i}.so": _sparse(tmp_path / f"lib{i}.so", 48 * MIB) for i in range(12)}
    peak, out = _pack(tmp_path, 1, members)
    # 576 MiB of input, but no more than the largest member plus the window in flight.
    assert peak < 48 * MIB + WINDOW + 100 * MIB, f"peak RSS {peak // MIB} MiB"
    with zipfile.ZipFile(out) as zf:
        assert set(members) <= set(zf.namelist())


def test_stored_members_are_streamed(tmp_path):
    big = _sparse(tmp_path / "libhuge.so", 256 * MIB)
    peak, out = _pack(tmp_path, 0, {"pkg/libhuge.so": big})
    assert peak < 100 * MIB, f"peak RSS {peak // MIB} MiB"
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo("pkg/libhuge.so").compress_size == 256 * MIB
