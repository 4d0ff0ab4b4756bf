"""Peak memory stays bounded whatever the member size (streaming compression)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .helpers import PACK_WHEEL, base_spec, write_spec

_MEASURE = """\
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_peak_rss_bounded_for_large_member(tmp_path):
    big = tmp_path / "libhuge.so"
    with open(big, "wb") as f:
        f.truncate(256 << 20)  # sparse: cheap to create, still 256 MiB to read
    spec = base_spec(compression_level=1)
    spec_path = write_spec(tmp_path / "spec.json", spec)
    out = tmp_path / "o.whl"
    cmd = [
        sys.executable, str(PACK_WHEEL), "spec", "--spec", str(spec_path), "--output", str(out),
        "--file", "pkg/libhuge.so", str(big), "--jobs", "2",
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, check=True
    )
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    # Largest single process of the tree (the packer or a worker).
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib} KiB"
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("pkg/libhuge.so")
        assert info.file_size == 256 << 20
        assert info.compress_size < 2 << 20
