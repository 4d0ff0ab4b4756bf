"""What the CUDA tests share: the local mirror of NVIDIA's wheels and cuobjdump.

scripts/cuda_wheels.sh downloads the wheels pinned in
python_wheel/private/cuda/versions.bzl once (pip, sha256-checked) into a flat
directory, the mirror the tests hand to HERMETIC_CUDA_WHEELS_URL. cuobjdump
comes out of NVIDIA's 13.2 wheel (the first CUDA with one; the machine's
toolkit has none) and lists the SASS and PTX in a binary. No GPU is needed.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from .bazel_runner import REPO_ROOT

CUDA_WHEELS_SH = REPO_ROOT / "scripts" / "cuda_wheels.sh"


def cuda_wheel_mirror(*args: str) -> Path:
    """The mirror directory, after scripts/cuda_wheels.sh ARGS (default: all versions)."""
    completed = subprocess.run(
        [str(CUDA_WHEELS_SH), *args], capture_output=True, text=True, check=False, timeout=1800
    )
    assert completed.returncode == 0, completed.stderr
    return Path(completed.stdout.strip().splitlines()[-1])


def cuobjdump_from(mirror: Path, directory: Path) -> Path:
    """cuobjdump out of the mirror's nvidia-cuda-cuobjdump 13.2 wheel, into `directory`."""
    (wheel,) = sorted(mirror.glob("nvidia_cuda_cuobjdump-13.2.*.whl"))
    tool = directory / "cuobjdump"
    with zipfile.ZipFile(wheel) as archive:
        tool.write_bytes(archive.read("nvidia/cu13/bin/cuobjdump"))
    tool.chmod(0o755)
    return tool


def gpu_targets(cuobjdump: Path, path: Path) -> tuple[list[str], list[str]]:
    """(sm_XX of each cubin, compute_XX of each PTX) that cuobjdump finds in `path`.

    A binary with no device code at all gives ([], []).
    """
    found: list[list[str]] = []
    for option, pattern, prefix in (
        ("--list-elf", r"\.(sm_\d+[af]?)\.cubin", ""),
        ("--list-ptx", r"\.sm_(\d+[af]?)\.ptx", "compute_"),
    ):
        completed = subprocess.run(
            [str(cuobjdump), option, str(path)], capture_output=True, text=True, check=False
        )
        text = completed.stdout + completed.stderr
        if completed.returncode != 0:
            # cuobjdump fails on a binary without a fatbin; anything else is an error.
            assert "does not contain device code" in text, text
        found.append(sorted(prefix + t for t in re.findall(pattern, completed.stdout)))
    return found[0], found[1]
