"""The hermetic CUDA toolkit hub (`cuda_toolkit`) under real Bazel 4.2.3.

One fixture workspace (tests/fixtures/cuda_toolkit) and one output base for
the whole module; each build picks the toolkit with --repo_env, as users do:
CUDA 13.0.2 and 12.9.1 from NVIDIA's PyPI wheels (served from the file://
mirror scripts/cuda_wheels.sh fills), the machine's /usr/local/cuda through
LOCAL_CUDA_PATH, and nothing at all (a CPU-only build must fetch nothing). nvcc
compiles a .cu file in a genrule; cuobjdump (from the 13.2.0 wheels, the first
CUDA with a cuobjdump wheel) checks the SASS and PTX it emitted. The error
cases assert the messages users see.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel
from .conftest import copy_workspace, host_path
from .cuda_tools import cuda_wheel_mirror

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "cuda_toolkit"
LOCAL_CUDA = Path("/usr/local/cuda")
VARIABLES = (
    "HERMETIC_CUDA_VERSION",
    "HERMETIC_CUDA_COMPUTE_CAPABILITIES",
    "LOCAL_CUDA_PATH",
    "LOCAL_NVCC_PATH",
    "HERMETIC_CUDA_WHEELS_URL",
)


@pytest.fixture(scope="module")
def wheel_mirror() -> str:
    """file:// URL of the pinned wheels (downloaded once, cached by the script)."""
    directory = cuda_wheel_mirror()
    assert list(directory.glob("nvidia_cuda_nvcc-13.0.88-*.whl")), directory
    return directory.as_uri()


@pytest.fixture(scope="module")
def bazel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bazel]:
    """One Bazel server and output base on a copy of the fixture."""
    root = tmp_path_factory.mktemp("cuda_toolkit")
    workspace = copy_workspace(FIXTURE, root / "workspace")
    server = Bazel(workspace, root / "output_base", {"PATH": host_path()})
    yield server
    server.release()


def _repo_env(**values: str) -> list[str]:
    """--repo_env for every variable the hub reads: unset ones are passed empty."""
    return [f"--repo_env={name}={values.get(name, '')}" for name in VARIABLES]


def build(bazel: Bazel, *targets: str, check: bool = True, **env: str):
    """`bazel build` of targets with the hub chosen by env."""
    return bazel.run("build", *targets, *_repo_env(**env), check=check)


def external(bazel: Bazel, repository: str) -> Path:
    """Where Bazel fetched a repository."""
    return bazel.output_base / "external" / repository


@pytest.fixture(scope="module")
def cuobjdump(bazel: Bazel, wheel_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cuobjdump from the CUDA 13.2.0 wheels (hub @cuda_inspect), copied out."""
    build(
        bazel,
        "@cuda_inspect//:cuobjdump",
        HERMETIC_CUDA_VERSION="13.2.0",
        HERMETIC_CUDA_WHEELS_URL=wheel_mirror,
    )
    copy = tmp_path_factory.mktemp("tools") / "cuobjdump"
    shutil.copy2(external(bazel, "cuda_inspect") / "bin" / "cuobjdump", copy)
    return copy


def _listing(cuobjdump: Path, option: str, path: Path) -> str:
    completed = subprocess.run(
        [str(cuobjdump), option, str(path)], capture_output=True, text=True, check=True
    )
    return completed.stdout


def _run(binary: Path) -> str:
    completed = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_cpu_only_build_fetches_nothing(bazel: Bazel, tmp_path: Path) -> None:
    # The mirror does not exist: any download would fail the build.
    missing = (tmp_path / "no-such-mirror").as_uri()
    build(
        bazel,
        "//:cuda_config",
        "//:cpu_only",
        "@cuda//:toolkit",
        "@cuda//:nvcc",
        "@cuda//:cudart_static",
        "@cuda_ptxas//:toolkit",
        HERMETIC_CUDA_WHEELS_URL=missing,
    )
    bin_dir = bazel.bin_dir()
    assert (bin_dir / "cuda_config.txt").read_text().split() == [
        "enabled=False",
        "version=",
        "major=0",
        "source=",
        "capabilities=",
    ]
    assert _run(bin_dir / "cpu_only") == "cpu only\n"
    for hub in ("cuda", "cuda_ptxas"):
        assert sorted(p.name for p in external(bazel, hub).iterdir()) == [
            "BUILD.bazel",
            "WORKSPACE",
            "defs.bzl",
        ]
    assert "CUDA_ENABLED = False" in (external(bazel, "cuda") / "defs.bzl").read_text()
    # Without nvcc the fixture declares no CUDA targets at all.
    query = bazel.run("query", "//:all", *_repo_env(HERMETIC_CUDA_WHEELS_URL=missing))
    assert "//:kernel_object" not in query.stdout


def test_cuda_13_from_wheels(bazel: Bazel, wheel_mirror: str, cuobjdump: Path) -> None:
    build(
        bazel,
        "//:cuda_config",
        "//:kernel_main",
        "@cuda//:toolkit",
        HERMETIC_CUDA_VERSION="13.0.2",
        HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_80,sm_90,compute_90",
        HERMETIC_CUDA_WHEELS_URL=wheel_mirror,
    )
    bin_dir = bazel.bin_dir()
    assert (bin_dir / "cuda_config.txt").read_text().split() == [
        "enabled=True",
        "version=13.0.2",
        "major=13",
        "source=wheels",
        "capabilities=sm_80,sm_90,compute_90",
    ]
    elf = _listing(cuobjdump, "--list-elf", bin_dir / "kernel.o")
    assert "sm_80.cubin" in elf and "sm_90.cubin" in elf, elf
    assert "sm_86" not in elf
    ptx = _listing(cuobjdump, "--list-ptx", bin_dir / "kernel.o")
    assert "sm_90.ptx" in ptx and "sm_80.ptx" not in ptx, ptx
    # Linked with the wheel's static cudart; no GPU here, and it says so.
    assert _run(bin_dir / "kernel_main").startswith("no CUDA device")

    hub = external(bazel, "cuda")
    # The gaps of the wheels, filled: unversioned link, profile for this layout.
    assert (hub / "lib" / "libcudart.so").resolve() == (hub / "lib" / "libcudart.so.13").resolve()
    profile = (hub / "bin" / "nvcc.profile").read_text()
    assert "_TARGET_DIR_" not in profile and '"-I$(TOP)/include"' in profile
    defs = (hub / "defs.bzl").read_text()
    assert 'CUDA_WHEEL_LIBRARY_DIRS = {"cudart": "nvidia/cu13/lib"}' in defs
    assert '"nvidia-cuda-nvcc": "13.0.88"' in defs


def test_local_cuda_path(bazel: Bazel, cuobjdump: Path) -> None:
    if not (LOCAL_CUDA / "bin" / "nvcc").exists():
        pytest.skip("no CUDA toolkit in /usr/local/cuda")
    before = _tree_digest(LOCAL_CUDA.resolve() / "bin")
    build(
        bazel,
        "//:cuda_config",
        "//:kernel_main",
        "@cuda//:toolkit",
        LOCAL_CUDA_PATH=str(LOCAL_CUDA),
        HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_86",
    )
    bin_dir = bazel.bin_dir()
    # nvcc 13.0.88 is the nvcc of exactly one known release: 13.0.2.
    assert (bin_dir / "cuda_config.txt").read_text().split() == [
        "enabled=True",
        "version=13.0.2",
        "major=13",
        "source=local",
        "capabilities=sm_86",
    ]
    assert "sm_86.cubin" in _listing(cuobjdump, "--list-elf", bin_dir / "kernel.o")
    assert _run(bin_dir / "kernel_main").startswith("no CUDA device")
    # The installation is linked, never written to.
    assert _tree_digest(LOCAL_CUDA.resolve() / "bin") == before
    hub = external(bazel, "cuda")
    assert (hub / "bin").resolve() == (LOCAL_CUDA / "bin").resolve()
    assert 'CUDA_COMPONENTS = ["cudart", "cupti"]' in (hub / "defs.bzl").read_text()


def test_local_component_path(
    bazel: Bazel, wheel_mirror: str, cuobjdump: Path, tmp_path: Path
) -> None:
    """LOCAL_NVCC_PATH: nvcc from an unpacked wheel, the rest from the version's wheels."""
    (wheel,) = Path(wheel_mirror[len("file://") :]).glob("nvidia_cuda_nvcc-13.0.88-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    component = tmp_path / "nvidia" / "cu13"
    for tool in (component / "bin").iterdir():
        tool.chmod(0o755)
    build(
        bazel,
        "//:kernel_main",
        HERMETIC_CUDA_VERSION="13.0.2",
        HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_80",
        HERMETIC_CUDA_WHEELS_URL=wheel_mirror,
        LOCAL_NVCC_PATH=str(component),
    )
    bin_dir = bazel.bin_dir()
    assert "sm_80.cubin" in _listing(cuobjdump, "--list-elf", bin_dir / "kernel.o")
    assert _run(bin_dir / "kernel_main").startswith("no CUDA device")
    hub = external(bazel, "cuda")
    assert (hub / "bin" / "ptxas").resolve() == (component / "bin" / "ptxas").resolve()
    # nvcc itself is copied, so it reads this repository's nvcc.profile.
    assert not (hub / "bin" / "nvcc").is_symlink()
    defs = (hub / "defs.bzl").read_text()
    assert '"nvidia-cuda-runtime": "13.0.96"' in defs and "nvidia-cuda-nvcc" not in defs


def test_cuda_12_from_wheels(bazel: Bazel, wheel_mirror: str, cuobjdump: Path) -> None:
    build(
        bazel,
        "//cuda12:all",
        HERMETIC_CUDA_VERSION="12.9.1",
        HERMETIC_CUDA_WHEELS_URL=wheel_mirror,
    )
    bin_dir = bazel.bin_dir()
    assert "add.sm_80.cubin" in _listing(cuobjdump, "--list-elf", bin_dir / "cuda12" / "add.cubin")
    assert _run(bin_dir / "cuda12" / "cudart_probe").startswith("no CUDA device")
    hub = external(bazel, "cuda_ptxas")
    assert (hub / "lib" / "libcudart.so").resolve().name == "libcudart.so.12"
    assert "nvidia/cuda_runtime/lib" in (hub / "defs.bzl").read_text()


@pytest.mark.parametrize(
    ("env", "targets", "expected"),
    [
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0"},
            ["@cuda//:toolkit"],
            "HERMETIC_CUDA_VERSION=13.0 is not a full CUDA version: give x.y.z, one of "
            "12.9.1, 13.0.2, 13.2.0 (e.g. --repo_env=HERMETIC_CUDA_VERSION=13.2.0)",
            id="x.y",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0.7"},
            ["@cuda//:toolkit"],
            "HERMETIC_CUDA_VERSION=13.0.7 is not a CUDA version with pinned NVIDIA wheels; "
            "known versions: 12.9.1, 13.0.2, 13.2.0",
            id="unknown-version",
        ),
        pytest.param(
            {
                "HERMETIC_CUDA_VERSION": "13.0.2",
                "HERMETIC_CUDA_COMPUTE_CAPABILITIES": "sm_80,sm_81",
            },
            ["@cuda//:toolkit"],
            'HERMETIC_CUDA_COMPUTE_CAPABILITIES: "sm_81" is not a GPU target this toolkit\'s '
            "nvcc accepts; accepted values (from nvcc --list-gpu-code / --list-gpu-arch): "
            "sm_75, sm_80,",
            id="sm_81",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0.2", "HERMETIC_CUDA_COMPUTE_CAPABILITIES": "foo"},
            ["@cuda//:toolkit"],
            'HERMETIC_CUDA_COMPUTE_CAPABILITIES: "foo" is not a GPU target',
            id="foo",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0.2"},
            ["@cuda_inspect//:cuobjdump"],
            'cuda_toolkit(name = "cuda_inspect"): component "cuobjdump" has no NVIDIA wheel '
            "for CUDA 13.0.2 (HERMETIC_CUDA_VERSION); components of 13.0.2: cccl, crt, cublas,",
            id="missing-component",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "12.9.1"},
            ["@cuda//:toolkit"],
            'component "nvcc" has no NVIDIA wheel for CUDA 12.9.1 (HERMETIC_CUDA_VERSION)',
            id="cuda12-nvcc",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0.2"},
            ["@cuda_bad_component//:toolkit"],
            'cuda_toolkit(name = "cuda_bad_component"): components: "cudnn" is not a CUDA '
            "component; accepted values: cccl, crt, cublas, cudart, cufft, cuobjdump, cupti,",
            id="not-a-component",
        ),
        pytest.param(
            {"LOCAL_NVCC_PATH": "/nonexistent/nvcc"},
            ["@cuda//:toolkit"],
            'cuda_toolkit(name = "cuda"): LOCAL_NVCC_PATH needs HERMETIC_CUDA_VERSION=x.y.z '
            "as well: the other components come from that version's wheels (one of 12.9.1, "
            "13.0.2, 13.2.0)",
            id="local-component-without-version",
        ),
        pytest.param(
            {"HERMETIC_CUDA_VERSION": "13.0.2", "LOCAL_NVCC_PATH": "/nonexistent/nvcc"},
            ["@cuda//:toolkit"],
            "LOCAL_NVCC_PATH=/nonexistent/nvcc does not exist; point it at the directory that "
            "holds the component's bin/, include/ or lib/",
            id="local-component-missing",
        ),
        pytest.param(
            {"LOCAL_CUDA_PATH": "/nonexistent/cuda"},
            ["@cuda//:toolkit"],
            "LOCAL_CUDA_PATH=/nonexistent/cuda is not a CUDA toolkit: it needs include/",
            id="local-missing",
        ),
        pytest.param(
            {"LOCAL_CUDA_PATH": str(LOCAL_CUDA), "HERMETIC_CUDA_VERSION": "12.9.1"},
            ["@cuda//:toolkit"],
            f"LOCAL_CUDA_PATH={LOCAL_CUDA} holds CUDA 13.0.2 (nvcc --version), "
            "but HERMETIC_CUDA_VERSION=12.9.1",
            id="local-version-mismatch",
        ),
    ],
)
def test_errors(
    bazel: Bazel, wheel_mirror: str, env: dict[str, str], targets: list[str], expected: str
) -> None:
    wants_local = env.get("LOCAL_CUDA_PATH") == str(LOCAL_CUDA)
    if wants_local and not (LOCAL_CUDA / "bin" / "nvcc").exists():
        pytest.skip("no CUDA toolkit in /usr/local/cuda")
    result = build(bazel, *targets, check=False, HERMETIC_CUDA_WHEELS_URL=wheel_mirror, **env)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr[-4000:]
