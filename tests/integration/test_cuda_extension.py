"""examples/cuda_extension: a CUDA extension wheel built on a machine without a GPU.

`bazel test //...` on a copy of the example (real Bazel 4.2.3) builds the
vecadd wheel, audits it (verify_manylinux_compliance_test) and runs its
py_test against the wheel's own files (py_import), with the toolkit
- from NVIDIA's CUDA 13.0.2 PyPI wheels, through a file:// mirror of them
  (scripts/cuda_wheels.sh, the same sha256 pins Bazel's downloader checks;
  users get them from files.pythonhosted.org),
- from the machine's installed toolkit (LOCAL_CUDA_PATH=/usr/local/cuda),
- and from neither (a CPU-only wheel, nothing CUDA fetched).
Each CUDA wheel's extension module must hold SASS for exactly sm_80 and sm_90
and PTX for compute_90 (the example's capabilities; cuobjdump from the 13.2
wheel), install with pip into a fresh virtualenv and import there, reporting
"no CUDA device" and adding on the CPU. Where a GPU is present, the same
py_test checks the kernel's result (the project's device check).
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, Bazel
from .conftest import copy_workspace, host_path
from .cuda_tools import cuda_wheel_mirror, cuobjdump_from, gpu_targets

pytestmark = pytest.mark.integration

EXAMPLE = EXAMPLES / "cuda_extension"
LOCAL_CUDA = Path("/usr/local/cuda")
# What the example's WORKSPACE asks for.
CAPABILITIES = (["sm_80", "sm_90"], ["compute_90"])


@dataclass
class Built:
    """The example after `bazel test //...` with one toolkit source."""

    bazel: Bazel
    wheel: Path
    test_log: str


@pytest.fixture(scope="module")
def mirror() -> Path:
    return cuda_wheel_mirror("13.0.2", "13.2.0")


@pytest.fixture(scope="module")
def cuobjdump(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cuobjdump_from(mirror, tmp_path_factory.mktemp("tools"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(EXAMPLE, tmp_path_factory.mktemp("cuda_extension") / "ws")


def _source_flags(source: str, mirror: Path) -> list[str]:
    if source == "wheels":
        # The example's .bazelrc picks HERMETIC_CUDA_VERSION=13.0.2.
        return [f"--repo_env=HERMETIC_CUDA_WHEELS_URL={mirror.as_uri()}"]
    if source == "local":
        return ["--repo_env=HERMETIC_CUDA_VERSION=", f"--repo_env=LOCAL_CUDA_PATH={LOCAL_CUDA}"]
    # CPU only: a mirror that does not exist proves nothing is fetched.
    return [
        "--repo_env=HERMETIC_CUDA_VERSION=",
        "--repo_env=HERMETIC_CUDA_WHEELS_URL=file:///nonexistent/cuda-wheels",
    ]


@pytest.fixture(scope="module", params=["wheels", "local", "cpu"])
def built(request, workspace: Path, mirror: Path, tmp_path_factory) -> Iterator[Built]:
    source = request.param
    if source == "local" and not (LOCAL_CUDA / "bin" / "nvcc").exists():
        pytest.fail(f"{LOCAL_CUDA}/bin/nvcc is missing: this machine should have CUDA 13.0")
    bazel = Bazel(workspace, tmp_path_factory.mktemp(f"ob-{source}"), {"PATH": host_path()})
    flags = ["--symlink_prefix=/", *_source_flags(source, mirror)]
    bazel.run("test", "//...", *flags)
    (wheel,) = sorted((bazel.bin_dir(*flags) / "vecadd").glob("*.whl"))
    testlogs = Path(bazel.run("info", *flags, "bazel-testlogs").stdout.strip())
    yield Built(bazel, wheel, (testlogs / "tests" / "vecadd_test" / "test.log").read_text())
    bazel.release()


def _extension(wheel: Path, directory: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.startswith("vecadd/_native.")]
        target = directory / Path(member).name
        target.write_bytes(archive.read(member))
    return target


def test_wheel_name(built: Built, request) -> None:
    cpu = built.wheel.name.startswith("vecadd_cpu-")
    assert cpu == (request.node.callspec.params["built"] == "cpu"), built.wheel.name
    assert built.wheel.name.startswith(("vecadd_cu13-0.1.0-cp3", "vecadd_cpu-0.1.0-cp3"))
    assert built.wheel.name.endswith("-manylinux_2_34_x86_64.whl"), built.wheel.name


def test_sass_and_ptx_for_every_requested_capability(
    built: Built, cuobjdump: Path, request, tmp_path: Path
) -> None:
    found = gpu_targets(cuobjdump, _extension(built.wheel, tmp_path))
    if request.node.callspec.params["built"] == "cpu":
        assert found == ([], [])
        # And nothing of a toolkit was fetched (the mirror given does not exist).
        hub = built.bazel.output_base / "external" / "cuda"
        assert not (hub / "bin").exists() and not (hub / "lib").exists()
        assert "CUDA_ENABLED = False" in (hub / "defs.bzl").read_text()
    else:
        assert found == (CAPABILITIES[0], CAPABILITIES[1])


def test_the_py_test_ran_on_what_it_found(built: Built, request) -> None:
    """The py_test prints the backend: the kernel ran on a GPU, or the CPU fallback said why."""
    line = next(x for x in built.test_log.splitlines() if x.startswith("vecadd backend: "))
    if request.node.callspec.params["built"] == "cpu":
        assert line == "vecadd backend: cpu (built without CUDA)"
    else:
        assert line.startswith(
            ("vecadd backend: cuda (cuda: ", "vecadd backend: cpu (no CUDA device: ")
        ), line


def test_installs_and_imports_in_a_fresh_venv(built: Built, fresh_venv: Path, request) -> None:
    python = fresh_venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(built.wheel)],
        check=True,
        capture_output=True,
    )
    script = (
        "import vecadd; print(vecadd.backend()); print(vecadd.device_status()); "
        "print(vecadd.add([1.0, 2.5], [10.0, 20.0]))"
    )
    completed = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=False, cwd=fresh_venv
    )
    assert completed.returncode == 0, completed.stderr
    backend, status, result = completed.stdout.splitlines()
    assert result == "[11.0, 22.5]"
    if request.node.callspec.params["built"] == "cpu":
        assert (backend, status) == ("cpu", "built without CUDA")
    elif backend == "cpu":
        assert status.startswith("no CUDA device: "), status
    else:
        assert status.startswith("cuda: "), status
