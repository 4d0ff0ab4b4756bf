"""python_wheel(build_mode = "binary") with real Bazel on tests/fixtures/wheel_binary.

The fixture's tools/build_wheel.py is shaped like jaxlib's: it takes jax's
jax_wheel arguments, stages a Bazel-built C library and the package into a
temporary directory, writes its own .dist-info and zips it with the build's
file times. On Bazel 4.2.3 the rewritten wheel passes the standards checks,
its compliance test passes, it imports and calls the library, and it is
byte-identical when built in a second output base; the builders that
misbehave fail with one line each, after their output; the library the
builder copied loses its Bazel-style _solib_k8 RUNPATH entry; the builder cannot
reach a port the test listens on (that the same probe reaches outside
Bazel). The last test builds it with Bazel 7.7.1 and bzlmod (scripts/forky.sh).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, remove_tree
from .conftest import copy_workspace
from .wheel_checks import check_wheel

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "wheel_binary"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
GIT_HASH = "0123456789abcdef0123456789abcdef01234567"
PY = f"cp{sys.version_info[0]}{sys.version_info[1]}"
MISBEHAVING = ["broken_zip", "fail", "nothing", "other_dist", "two_wheels"]
MEMBERS = [
    "binpkg/__init__.py",
    "binpkg/libbinpkg_core.so",
    "binpkg/version.py",
    "binpkg-0.4.30.dev20250107.dist-info/LICENSE",
    "binpkg-0.4.30.dev20250107.dist-info/METADATA",
    "binpkg-0.4.30.dev20250107.dist-info/WHEEL",
    "binpkg-0.4.30.dev20250107.dist-info/RECORD",
]


def _wheel_name(py: str) -> str:
    return f"binpkg-0.4.30.dev20250107-{py}-{py}-manylinux_2_17_x86_64.whl"


@pytest.fixture(scope="module")
def bazel(make_bazel):
    server = make_bazel(FIXTURE, "wheel_binary-a")
    yield server
    server.release()


@pytest.fixture(scope="module")
def wheel(bazel) -> Path:
    """`bazel test //...`: the wheel and its compliance test."""
    result = bazel.run("test", "//...", "--symlink_prefix=/")
    assert "1 test passes" in result.stdout + result.stderr
    return bazel.bin_dir() / _wheel_name(PY)


def test_wheel_passes_the_standards_checks(wheel):
    check_wheel(wheel)
    with zipfile.ZipFile(wheel) as archive:
        assert archive.namelist() == MEMBERS
        tags = archive.read("binpkg-0.4.30.dev20250107.dist-info/WHEEL").decode()
        # The builder's zip has the build's times; the rewrite has fixed ones.
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # build_wheel.py tagged it manylinux2014_x86_64; the declared tag wins.
    assert f"Tag: {PY}-{PY}-manylinux_2_17_x86_64\n" in tags
    assert "manylinux2014" not in tags


def _runpath(data: bytes) -> str:
    dynamic = ELFFile(io.BytesIO(data)).get_section_by_name(".dynamic")
    (tag,) = [t for t in dynamic.iter_tags() if t.entry.d_tag == "DT_RUNPATH"]
    return tag.runpath


def test_the_builders_copy_of_the_library_loses_bazels_runpath(wheel, bazel):
    built = (bazel.bin_dir() / "libbinpkg_core.so").read_bytes()
    assert _runpath(built) == "$ORIGIN/../_solib_k8/_U_S_Score:$ORIGIN"
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("binpkg/libbinpkg_core.so")
    assert _runpath(shipped) == "$ORIGIN"
    assert len(shipped) == len(built)


def test_wheel_imports_and_calls_its_library(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    (tmp_path / "binpkg" / "libbinpkg_core.so").chmod(0o755)
    script = (
        "import sys; sys.path.insert(0, '.'); import binpkg; "
        "print(binpkg.add(2, 40), binpkg.__version__, binpkg.git_hash)"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"42 0.4.30.dev20250107 {GIT_HASH}\n"


def test_wheel_is_byte_identical_across_output_bases(wheel, make_bazel):
    other = make_bazel(FIXTURE, "wheel_binary-b")
    other.run("build", "//:wheel", "--symlink_prefix=/")
    assert (other.bin_dir() / wheel.name).read_bytes() == wheel.read_bytes()
    other.shutdown()


def test_misbehaving_builders_fail_with_one_line_each(bazel, wheel):
    result = bazel.run(
        "build",
        "--keep_going",
        "--symlink_prefix=/",
        *(f"//:misbehaves_{how}" for how in MISBEHAVING),
        check=False,
    )
    assert result.returncode != 0
    errors = {
        line.split(": ", 3)[2]: line.split(": ", 3)[3]
        for line in result.stderr.splitlines()
        if line.startswith("pack_wheel: error: //:misbehaves_")
    }
    tool = "the wheel_binary //:build_wheel_tool"
    tag = f"{PY}-{PY}-manylinux2014_x86_64"
    exactly_one = "it must write exactly one <dir>/<name>.whl"
    assert errors == {
        "//:misbehaves_broken_zip": f"{tool} wrote binpkg-0.4.0-{tag}.whl, which is not a "
        "readable zip archive (File is not a zip file); fix how the wheel_binary writes the wheel",
        "//:misbehaves_fail": f"{tool} failed with exit code 3 (its output is above); it wrote "
        "nothing",
        "//:misbehaves_nothing": f"{tool} wrote 0 wheels into its output directory (it wrote "
        f"nothing); {exactly_one}",
        "//:misbehaves_other_dist": f"{tool} built otherpkg 0.4.3 (otherpkg-0.4.3-{tag}.whl) but "
        "the rule says binpkg 0.4.3; make the wheel_binary and the rule agree on the distribution "
        "and version",
        "//:misbehaves_two_wheels": f"{tool} wrote 2 wheels into its output directory (it wrote "
        f"binpkg-0.4.4-{PY}-{PY}-linux_x86_64.whl, binpkg-0.4.4-{tag}.whl); {exactly_one}",
    }
    # The failing builder's own output, stdout and stderr in order, comes first.
    assert (
        "build_wheel.py: 4 sources for cpu x86_64\nbuild_wheel.py: something went wrong\n"
        "pack_wheel: error: //:misbehaves_fail:"
    ) in result.stderr


def test_binary_attributes_used_wrongly_fail_analysis(bazel, wheel):
    result = bazel.run(
        "build",
        "--keep_going",
        "--symlink_prefix=/",
        "//:binary_without_builder",
        "//:builder_in_direct_mode",
        "//:remaps_in_binary_mode",
        check=False,
    )
    assert result.returncode != 0
    for message in [
        '//:binary_without_builder: build_mode = "binary" needs wheel_binary, the py_binary (or '
        'other executable) that writes the wheel, e.g. wheel_binary = ":build_wheel_tool"',
        '//:builder_in_direct_mode: wheel_binary is only used with build_mode = "binary"; set '
        'build_mode = "binary" or remove wheel_binary',
        '//:remaps_in_binary_mode: strip_path_prefixes is not used with build_mode = "binary": '
        "the wheel_binary gets each source's path as it is and places it itself; remove "
        "strip_path_prefixes",
    ]:
        assert message in result.stderr, result.stderr[-4000:]


# Appended to the copied workspace's BUILD.bazel: the port is the test's.
NETWORK_PROBE = """
python_wheel(
    name = "probes_network",
    srcs = WHEEL_SOURCES,
    build_mode = "binary",
    distribution = "binpkg",
    platform_tag = wheel_platform_tag(manylinux = "2_17"),
    tags = ["manual"],
    version = "0.4.9",
    wheel_binary = ":build_wheel_tool",
    wheel_binary_args = [
        "--output_path={{output_dir}}",
        "--cpu={{cpu}}",
        "--version={{version}}",
        "--misbehave=network",
        "--srcs={{src}}",
    ],
    wheel_binary_env = {{"PROBE_PORT": "{port}"}},
)
"""


def test_the_builder_cannot_reach_the_network(bazel, wheel, tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        # Outside Bazel the same probe reaches the port: the check can fail.
        probe = subprocess.run(
            [
                sys.executable,
                str(FIXTURE / "tools" / "build_wheel.py"),
                *(f"--output_path={tmp_path}", "--cpu=x86_64", "--misbehave=network"),
            ],
            env={"PROBE_PORT": str(port), "PATH": os.defpath},
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.returncode == 1 and f"reached 127.0.0.1:{port}" in probe.stderr
        server.accept()[0].close()
        with (bazel.workspace / "BUILD.bazel").open("a") as build:
            build.write(NETWORK_PROBE.format(port=port))
        result = bazel.run("build", "--symlink_prefix=/", "//:probes_network", check=False)
        assert result.returncode == 0, result.stderr[-4000:]
        with pytest.raises(BlockingIOError):
            server.accept()


@pytest.fixture(scope="module")
def bazel7_wheel(tmp_path_factory) -> Path:
    """The fixture's wheel built by Bazel 7.7.1 (forky root) with bzlmod."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("wheel_binary_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = "--nosandbox_debug --enable_bzlmod --symlink_prefix=/"
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} build {flags} //:wheel >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info {flags} bazel-bin >bin.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    )
    (workdir / "run.sh").write_text(script + "\n")
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    (wheel,) = Path((workspace / "bin.txt").read_text().strip()).glob("binpkg-*.whl")
    yield wheel
    remove_tree(workdir)


def test_bazel7_bzlmod_builds_the_same_wheel(bazel7_wheel, wheel):
    # The forky root's CPython (3.14) gives the tags; the members are the same.
    check_wheel(bazel7_wheel)
    py = bazel7_wheel.name.split("-")[2]
    assert bazel7_wheel.name == _wheel_name(py)
    with zipfile.ZipFile(bazel7_wheel) as new, zipfile.ZipFile(wheel) as old:
        assert new.namelist() == MEMBERS
        for name in ("binpkg/__init__.py", "binpkg/version.py"):
            assert new.read(name) == old.read(name)
        assert _runpath(new.read("binpkg/libbinpkg_core.so")) == "$ORIGIN"
