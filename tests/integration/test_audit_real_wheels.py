"""audit_wheel against `auditwheel show --json` on real PyPI wheels.

The wheels (pinned by version and sha256) are fetched once with pip into
${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/real_wheels and reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from ..unit.test_audit_helpers import assert_same_as_auditwheel, auditwheel_show, run_audit

pytestmark = pytest.mark.integration

TORCH_CPU = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


@dataclass(frozen=True)
class RealWheel:
    requirement: str
    platform: Optional[str]  # pip --platform; None for a pure wheel
    filename: str
    sha256: str
    kind: str
    overall: Optional[str]  # what auditwheel 6.8.2 says (None: pure)
    fails: Optional[str] = None  # a more compatible tag the wheel must not meet


WHEELS = [
    RealWheel(
        "six==1.17.0",
        None,
        "six-1.17.0-py2.py3-none-any.whl",
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
        "pure",
        None,
    ),
    RealWheel(
        "PyYAML==6.0.2",
        "manylinux_2_17_x86_64",
        "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "3ad2a3decf9aaba3d29c8f537ac4b243e36bef957511b4766cb0057d32b0be85",
        "manylinux2014 x86_64",
        "manylinux_2_17_x86_64",
        fails="manylinux_2_12",
    ),
    RealWheel(
        "orjson==3.11.0",
        "manylinux_2_17_x86_64",
        "orjson-3.11.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "4bfcfe498484161e011f8190a400591c52b026de96b3b3cbd3f21e8999b9dc0e",
        "manylinux2014 x86_64 (Rust)",
        "manylinux_2_17_x86_64",
        fails="manylinux2010",
    ),
    RealWheel(
        "psutil==7.0.0",
        "manylinux_2_17_x86_64",
        "psutil-7.0.0-cp36-abi3-manylinux_2_12_x86_64.manylinux2010_x86_64"
        ".manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "4b1388a4f6875d7e2aff5c4ca1cc16c545ed41dd8bb596cefea80111db353a34",
        "abi3, manylinux2010",
        "manylinux_2_12_x86_64",
        fails="manylinux1",
    ),
    RealWheel(
        "cryptography==45.0.5",
        "manylinux_2_28_x86_64",
        "cryptography-45.0.5-cp311-abi3-manylinux_2_28_x86_64.whl",
        "dd420e577921c8c2d31289536c386aaa30140b473835e97f83bc71ea9d2baf2d",
        "abi3, manylinux_2_28 x86_64",
        "manylinux_2_28_x86_64",
        fails="manylinux_2_27",
    ),
    RealWheel(
        "numpy==2.3.1",
        "manylinux_2_28_x86_64",
        "numpy-2.3.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "afed2ce4a84f6b0fc6c1ce734ff368cbf5a5e24e8954a338f3bdffa0718adffb",
        "manylinux_2_28 x86_64, bundled numpy.libs (OpenBLAS, gfortran)",
        "manylinux_2_27_x86_64",
        fails="manylinux_2_26",
    ),
    RealWheel(
        "pillow==11.3.0",
        "manylinux_2_28_x86_64",
        "pillow-11.3.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "106064daa23a745510dabce1d84f29137a37224831d88eb4ce94bb187b1d7e5f",
        "manylinux_2_28 x86_64, bundled pillow.libs",
        "manylinux_2_27_x86_64",
        fails="manylinux_2_26",
    ),
    RealWheel(
        "pyzmq==27.0.0",
        "manylinux_2_28_x86_64",
        "pyzmq-27.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "f7bbe9e1ed2c8d3da736a15694d87c12493e54cc9dc9790796f0321794bbc91f",
        "manylinux_2_28 x86_64, bundled pyzmq.libs (libzmq, libsodium)",
        "manylinux_2_26_x86_64",
        fails="manylinux_2_24",
    ),
    RealWheel(
        "lxml==6.0.0",
        "manylinux_2_28_x86_64",
        "lxml-6.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "c2a5e8d207311a0170aca0eb6b160af91adc29ec121832e4ac151a57743a1e1e",
        "manylinux_2_28 x86_64",
        "manylinux_2_26_x86_64",
        fails="manylinux_2_24",
    ),
    RealWheel(
        "PyYAML==6.0.2",
        "manylinux_2_17_aarch64",
        "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "5d225db5a45f21e78dd9358e58a98702a0302f2659a3c6cd320564b75b86f47c",
        "aarch64",
        "manylinux_2_17_aarch64",
    ),
    RealWheel(
        "pillow==11.3.0",
        "manylinux_2_28_aarch64",
        "pillow-11.3.0-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
        "643f189248837533073c405ec2f0bb250ba54598cf80e8c1e043381a60632f58",
        "aarch64, bundled pillow.libs",
        "manylinux_2_27_aarch64",
        fails="manylinux2014",
    ),
    RealWheel(
        "MarkupSafe==3.0.2",
        "manylinux_2_17_i686",
        "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_5_i686.manylinux1_i686"
        ".manylinux_2_17_i686.manylinux2014_i686.whl",
        "1e084f686b92e5b83186b07e8a17fc09e38fff551f3602b249881fec658d3eca",
        "i686, manylinux1",
        "manylinux_2_5_i686",
    ),
    RealWheel(
        "MarkupSafe==3.0.2",
        "musllinux_1_2_x86_64",
        "MarkupSafe-3.0.2-cp311-cp311-musllinux_1_2_x86_64.whl",
        "0bff5e0ae4ef2e1ae4fdf2dfd5b76c75e5c2fa4132d05fc1b0dabcd20c7e28c4",
        "musllinux x86_64",
        "musllinux_1_2_x86_64",
    ),
]


def _cache_dir() -> Path:
    root = os.environ.get("ML_WHEELS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rules_ml_wheels"
    )
    return Path(root) / "real_wheels"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(wheel: RealWheel) -> Path:
    """The pinned wheel from the cache, downloaded with pip the first time."""
    cache = _cache_dir()
    target = cache / wheel.filename
    if target.exists() and _sha256(target) == wheel.sha256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--index-url", "https://pypi.org/simple", "-d", scratch,
        ]  # fmt: skip
        if wheel.platform:
            command += ["--platform", wheel.platform, "--python-version", "3.11"]
            command += ["--implementation", "cp", "--abi", "cp311"]
        command.append(wheel.requirement)
        env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, f"pip download {wheel.requirement} failed:\n{proc.stderr}"
        downloaded = Path(scratch) / wheel.filename
        assert downloaded.exists(), f"pip fetched {os.listdir(scratch)}, not {wheel.filename}"
        actual = _sha256(downloaded)
        assert actual == wheel.sha256, f"{wheel.filename}: sha256 {actual} != {wheel.sha256}"
        shutil.move(str(downloaded), target)
    return target


@pytest.fixture(
    params=WHEELS, ids=lambda w: w.filename.split("-cp")[0] + "-" + w.kind.split(",")[0]
)
def real_wheel(request) -> tuple[RealWheel, Path]:
    return request.param, _fetch(request.param)


def test_set_covers_the_required_kinds():
    kinds = " ".join(w.kind for w in WHEELS)
    for needed in ("pure", "manylinux2014 x86_64", "manylinux_2_28 x86_64", "abi3", "aarch64"):
        assert needed in kinds, needed
    assert sum("bundled" in w.kind for w in WHEELS) >= 3
    assert len({w.filename for w in WHEELS}) >= 10


def test_same_verdict_as_auditwheel(real_wheel):
    wheel, path = real_wheel
    proc = run_audit("--json", path)
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)
    theirs = auditwheel_show(path)
    assert theirs.get("overall_tag") == wheel.overall
    assert ours["overall_tag"] == theirs.get("overall_tag")
    assert ours.get("sym_tag") == theirs.get("sym_tag")
    assert set(ours.get("external_libs", {})) == set(theirs.get("external_libs", {}))
    assert_same_as_auditwheel(ours, theirs)
    assert ours["pure"] == (wheel.overall is None)


def test_abi3_check_on_real_wheels(real_wheel):
    """Released abi3 wheels (cryptography runs abi3audit in its CI) pass our abi3 check.

    The check was written from CPython's stable_abi.toml, never tuned on these
    wheels; every other wheel gets no abi3 verdict at all.
    """
    wheel, path = real_wheel
    ours = json.loads(run_audit("--json", path).stdout)
    abi_tag = wheel.filename[:-4].split("-")[-2]
    if abi_tag != "abi3":
        assert ours["abi3"] is None
        return
    python_tag = wheel.filename[:-4].split("-")[-3]
    check = ours["abi3"]
    assert check["python_tag"] == python_tag
    assert check["met"], check["problems"]
    assert check["problems"] == [] and check["tag_error"] is None
    # Every compiled extension was looked at.
    assert set(check["files"]) == {f for f in ours["elf_files"] if f.endswith(".abi3.so")}


def test_verdict_does_not_depend_on_jobs(real_wheel):
    _, path = real_wheel
    one, two = run_audit("--json", "--jobs", "1", path), run_audit("--json", "--jobs", "2", path)
    assert one.returncode == two.returncode == 0
    assert json.loads(one.stdout) == json.loads(two.stdout)


def test_expect_behaves_on_real_tags(real_wheel):
    wheel, path = real_wheel
    platforms = wheel.filename[:-4].split("-")[-1].split(".")
    for tag in (p for p in platforms if p != "any"):
        proc = run_audit("--expect", tag, path)
        assert proc.returncode == 0, f"{tag}: {proc.stdout}{proc.stderr}"
    if wheel.overall is None:
        assert run_audit("--expect", "manylinux_2_5", path).returncode == 0
        return
    arch = wheel.overall.split("linux_", 1)[1].split("_", 2)[-1]  # manylinux_2_17_x86_64
    newest = "musllinux_1_2" if wheel.overall.startswith("musl") else "manylinux_2_41"
    assert run_audit("--expect", newest, path).returncode == 0
    if wheel.fails:
        proc = run_audit("--expect", wheel.fails, path)
        assert proc.returncode == 1, proc.stdout
        assert proc.stdout.startswith("FAIL: ") and "Why not" in proc.stdout
        assert " needs " in proc.stdout
    other = "aarch64" if arch != "aarch64" else "x86_64"
    proc = run_audit("--expect", f"manylinux_2_28_{other}", path)
    assert proc.returncode == 2
    assert f"the wheel's ELF files are {arch}" in proc.stderr


def test_torch_cpu_wheel_verdict():
    """The 191 MB torch wheel: auditwheel takes ~45 s; its answer is pinned here."""
    if not TORCH_CPU.exists():
        pytest.skip(f"{TORCH_CPU} is not on this machine")
    proc = run_audit("--json", TORCH_CPU)
    assert proc.returncode == 1, proc.stderr  # it does not meet the manylinux_2_28 it claims
    data = json.loads(proc.stdout)
    # What `auditwheel show --json` (6.8.2) reports for it: torch/bin/test_shim's
    # RUNPATH ($ORIGIN) does not reach torch/lib, so its libraries are external.
    assert data["overall_tag"] == "linux_x86_64"
    assert data["sym_tag"] == "manylinux_2_28_x86_64"
    assert data["external_libs"] == {
        "libc10.so": None,
        "libtorch.so": None,
        "libtorch_cpu.so": None,
    }
    assert len(data["elf_files"]) == 136
    proc = run_audit("--expect", "manylinux_2_28", TORCH_CPU)
    assert proc.returncode == 1
    assert "torch/bin/test_shim needs libtorch_cpu.so" in proc.stdout
    assert "the wheel has torch/lib/libtorch_cpu.so" in proc.stdout
