"""cuda_library: nvcc with the C++ toolchain as host compiler, real Bazel 4.2.3.

The fixture (tests/fixtures/cuda_library) declares the toolkit hub
(`cuda_toolkit(name = "cuda")`) over the machine's /usr/local/cuda
(`--repo_env=LOCAL_CUDA_PATH`, its .bazelrc) and builds a vector-add kernel
into static libraries and shared libraries (as a Python extension is one), with
the static and the shared CUDA runtime. cuobjdump, from NVIDIA's CUDA 13.2.0
wheel (scripts/cuda_wheels.sh caches it; the machine's toolkit has none), lists
the SASS and PTX that nvcc emitted. No GPU is needed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, Bazel
from .conftest import copy_workspace, host_path
from .cuda_tools import cuda_wheel_mirror, cuobjdump_from, gpu_targets

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "cuda_library"
LOCAL_CUDA = Path("/usr/local/cuda")
TARGETS = ["//:all"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (LOCAL_CUDA / "bin" / "nvcc").exists():
        pytest.skip("no CUDA toolkit in /usr/local/cuda")
    return copy_workspace(FIXTURE, tmp_path_factory.mktemp("cuda_library") / "workspace")


def _bazel(workspace: Path, output_base: Path) -> Bazel:
    return Bazel(workspace, output_base, {"PATH": host_path()})


@pytest.fixture(scope="module")
def built(workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    bazel = _bazel(workspace, tmp_path_factory.mktemp("ob") / "first")
    bazel.run("build", *TARGETS, "--symlink_prefix=/")
    yield bazel, bazel.bin_dir()
    bazel.release()


@pytest.fixture(scope="module")
def cuobjdump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cuobjdump out of NVIDIA's nvidia-cuda-cuobjdump 13.2 wheel."""
    mirror = cuda_wheel_mirror("--components", "cuobjdump", "13.2.0")
    return cuobjdump_from(mirror, tmp_path_factory.mktemp("tools"))


def _needed(path: Path) -> list[str]:
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        return [
            tag.needed
            for section in elf.iter_sections()
            if isinstance(section, DynamicSection)
            for tag in section.iter_tags()
            if tag.entry.d_tag == "DT_NEEDED"
        ]


@pytest.mark.parametrize(
    ("output", "sass", "ptx"),
    [
        ("libvecadd_static.pic.a", ["sm_80", "sm_90"], ["compute_90"]),
        ("libvecadd_static.so", ["sm_80", "sm_90"], ["compute_90"]),
        ("libvecadd_shared.so", ["sm_80", "sm_90"], ["compute_90"]),
        # `capabilities` of the target replaces the toolkit's.
        ("libvecadd_sm86.pic.a", ["sm_86"], []),
    ],
)
def test_sass_and_ptx_are_exactly_the_requested_ones(built, cuobjdump, output, sass, ptx):
    _, bin_dir = built
    assert gpu_targets(cuobjdump, bin_dir / output) == (sass, ptx)


def test_cudart_static_and_shared(built):
    _, bin_dir = built
    static = _needed(bin_dir / "libvecadd_static.so")
    shared = _needed(bin_dir / "libvecadd_shared.so")
    assert not [n for n in static if n.startswith("libcudart")], static
    assert "libcudart.so.13" in shared, shared
    # The static runtime is really inside: its entry points are defined there.
    with (bin_dir / "libvecadd_static.so").open("rb") as stream:
        symbols = ELFFile(stream).get_section_by_name(".dynsym")
        defined = {s.name for s in symbols.iter_symbols() if s["st_shndx"] != "SHN_UNDEF"}
    assert "vecadd_ext_add" in defined


def test_binary_runs_without_a_gpu(built):
    """Host code and static cudart link into a program; no GPU gives a CUDA error, no crash."""
    _, bin_dir = built
    completed = subprocess.run(
        [str(bin_dir / "vecadd_main")], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith(("no CUDA device", "status 0: 11 22 33 44")), (
        completed.stdout
    )


def test_sources_of_one_name_in_two_directories_give_two_objects(built):
    """scale/vecadd.cu and vecadd.cu: both objects, both in the archive."""
    _, bin_dir = built
    objects = bin_dir / "_objs" / "same_names"
    assert (objects / "vecadd.pic.o").is_file()
    assert (objects / "scale" / "vecadd.pic.o").is_file()
    listing = subprocess.run(
        ["nm", "--defined-only", str(bin_dir / "libsame_names.pic.a")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for symbol in ("vecadd", "scale_launch"):
        assert re.search(rf" T {symbol}$", listing, re.MULTILINE), (symbol, listing)


def test_outputs_are_byte_identical_across_output_bases(built, workspace, tmp_path_factory):
    """A second output base, unsandboxed (so nvcc's process ids differ), gives the same bytes."""
    _, first_bin = built
    second = _bazel(workspace, tmp_path_factory.mktemp("other-place") / "second")
    try:
        second.run("build", *TARGETS, "--symlink_prefix=/", "--spawn_strategy=local")
        second_bin = second.bin_dir()
        for output in [
            "libvecadd_static.pic.a",
            "libvecadd_shared.pic.a",
            "libvecadd_static.so",
            "libvecadd_shared.so",
        ]:
            first = (first_bin / output).read_bytes()
            assert first == (second_bin / output).read_bytes(), output
            for place in (str(second.output_base), str(built[0].output_base)):
                assert place.encode() not in first, (output, place)
    finally:
        second.release()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "//bad:unknown_capability",
            [
                "cuda_library //bad:unknown_capability",
                "`capabilities`",
                '"gfx90a"',
                "sm_XX",
                "compute_XX",
            ],
        ),
        (
            "//bad:bad_cudart",
            ["//bad:bad_cudart", 'cudart = "dynamic"', '"static", "shared", "none"'],
        ),
        (
            "//bad:disabled_toolkit",
            [
                "//bad:disabled_toolkit",
                "//bad:disabled",
                "HERMETIC_CUDA_VERSION",
                "LOCAL_CUDA_PATH",
            ],
        ),
    ],
)
def test_bad_input_fails_with_a_message(built, target, expected):
    bazel, _ = built
    result = bazel.run("build", target, "--symlink_prefix=/", check=False)
    assert result.returncode != 0
    for text in expected:
        assert text in result.stderr, (text, result.stderr[-4000:])
