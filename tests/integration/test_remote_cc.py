"""The hermetic C/C++ toolchains on a real REAPI engine (BuildGrid + isolating workers).

Two fixtures, each built once locally (the reference wheels), then from
clean with every spawn remote (`--spawn_strategy=remote`, no local
fallback) on workers that see only each action's declared inputs, under
other paths, as user nobody, with a private empty /tmp:
- tests/fixtures/cc_zig's x86_64 C and C++ extensions (zig, glibc 2.17).
  zig's cache is cold on the worker: every link builds libc++, compiler-rt
  and the glibc stubs from the declared lib/ sources.
- tests/fixtures/cc_sysroot's x86_64 C and C++ extensions and its
  repaired wheel (zig's clang + the Debian bullseye sysroot, glibc 2.31).
The execution log must show the compiles, links and wheel assembly ran
remotely, with no path of the local output base on their command lines; the
dependency files Bazel got back must name headers relative to the execroot;
the wheels must be byte-identical to the local ones; and a third build from
clean must be all remote cache hits.

The copies of the fixtures take CPython (headers and the interpreter the
wheel actions run) from a hermetic 3.11 archive instead of the host's
python3, which a remote worker does not have.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel
from .conftest import copy_workspace, host_path
from .remote_service import (
    RemoteService,
    assert_all_cache_hits,
    assert_all_executed_remotely,
    assert_same_wheels,
    remote_service_fixture,
    spawns,
)
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

pytestmark = pytest.mark.integration

remote_service = remote_service_fixture(workers=2)

FIXTURES = REPO_ROOT / "tests" / "fixtures"
ZIG_SH = REPO_ROOT / "scripts" / "zig.sh"
SYSROOT_SH = REPO_ROOT / "scripts" / "sysroot.sh"


@dataclass(frozen=True)
class Case:
    """A fixture's targets, the wheels they make, and what the build must show."""

    fixture: str
    targets: list[str]
    wheels: list[str]
    mnemonics: set[str]
    # The toolchain's headers, as the dependency files name them (execroot-relative).
    headers_under: str
    depfiles: int


CASES = {
    # zig: the C and the C++ extension for x86_64 glibc 2.17.
    "zig": Case(
        "cc_zig",
        ["//:zig_cext_x86_64", "//:zig_cxxext_x86_64"],
        [
            "zig_cext-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "zig_cxxext-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        ],
        {"CppCompile", "CppLink", "PythonWheel"},
        "external/zig_cc_sdk_x86_64/lib/",
        3,
    ),
    # clang + Debian bullseye sysroot: the C++ and the C extension, and the
    # wheel repaired_wheel grafts the sysroot's libcrypt.so.1 into.
    "sysroot": Case(
        "cc_sysroot",
        ["//:sysroot_cxxext_x86_64", "//:sysroot_cext_x86_64", "//:sysroot_repair_x86_64"],
        [
            "sysroot_cext-1.0-cp311-cp311-manylinux_2_31_x86_64.whl",
            "sysroot_cxxext-1.0-cp311-cp311-manylinux_2_31_x86_64.whl",
            "sysroot_repair-1.0-cp311-cp311-manylinux_2_31_x86_64.whl",
        ],
        {"CppCompile", "CppLink", "PythonWheel", "RepairWheel"},
        "external/sysroot_x86_64/sysroot/",
        5,
    ),
}

# The fixture's host CPython, replaced by an archive (URL and sha256 from --repo_env).
LOCAL_PYTHON = 'local_python_toolchain(name = "python")'
HERMETIC_PYTHON = """hermetic_python(
    name = "python",
    default_version = "3.11",
    versions = {"3.11": {
        "sha256": "0" * 64,
        "strip_prefix": "python",
        "urls": ["https://example.invalid/replaced-by-repo-env.tar.gz"],
    }},
)"""


def _setup(script: Path) -> str:
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def flags() -> list[str]:
    """--distdir with the pinned ziglang wheel, the local Debian mirror, and a
    CPython 3.11 archive as @python."""
    installations = _pyenv_installations()
    if "3.11" not in installations:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", installations["3.11"], _cache_dir())
    return [
        f"--distdir={_setup(ZIG_SH)}",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={Path(_setup(SYSROOT_SH)).as_uri()}",
        *archive.repo_env(),
        "--symlink_prefix=/",
    ]


@pytest.fixture
def bazel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bazel]:
    case = CASES[request.node.callspec.params["name"]]
    root = tmp_path_factory.mktemp("remote_cc")
    workspace = copy_workspace(FIXTURES / case.fixture, root / case.fixture)
    text = (workspace / "WORKSPACE").read_text()
    assert LOCAL_PYTHON in text and '"local_python_toolchain",' in text
    text = text.replace(LOCAL_PYTHON, HERMETIC_PYTHON)
    (workspace / "WORKSPACE").write_text(
        text.replace('"local_python_toolchain",', '"hermetic_python",')
    )
    server = Bazel(workspace, root / "output", {"PATH": host_path()})
    yield server
    server.release()


def _output_path(bazel: Bazel) -> Path:
    return Path(bazel.run("info", "output_path").stdout.strip())


def _wheels(bazel: Bazel, case: Case) -> dict[str, bytes]:
    found = {p.name: p.read_bytes() for p in _output_path(bazel).glob("*-ST-*/bin/*/*.whl")}
    assert sorted(found) == case.wheels, sorted(found)
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_wheels_build_remotely_byte_identical(
    name: str, bazel: Bazel, flags: list[str], remote_service: RemoteService, tmp_path: Path
) -> None:
    case = CASES[name]
    bazel.run("build", *case.targets, *flags)
    local = _wheels(bazel, case)

    remote_flags = [*flags, *remote_service.bazel_flags, *remote_service.strategy_flags()]
    bazel.run("clean")
    first = tmp_path / "first.json"
    result = bazel.run(
        "build", *case.targets, *remote_flags, f"--execution_log_json_file={first}", check=False
    )
    assert result.returncode == 0, result.stderr[-8000:] + remote_service.log_tail()
    ran = spawns(first)
    assert assert_all_executed_remotely(ran) >= case.mnemonics
    # Nothing of this machine's output base is on a compile's or link's command line.
    output_base = str(bazel.output_base.resolve())
    for spawn in ran:
        if spawn.get("mnemonic") in ("CppCompile", "CppLink"):
            leaked = [arg for arg in spawn["commandArgs"] if output_base in arg]
            assert not leaked, (spawn.get("mnemonic"), leaked)

    # The dependency files Bazel got back name headers relative to the execroot
    # (zig's: rewritten from the worker's absolute /b/work/... paths).
    depfiles = sorted(_output_path(bazel).glob("*-ST-*/bin/*/_objs/**/*.d"))
    assert len(depfiles) == case.depfiles, depfiles
    texts = {depfile: depfile.read_text() for depfile in depfiles}
    for depfile, text in texts.items():
        assert "/b/work" not in text and " /" not in text, f"{depfile}:\n{text[:2000]}"
    assert [d for d, text in texts.items() if case.headers_under in text], texts

    assert_same_wheels(_wheels(bazel, case), local)

    bazel.run("clean")
    second = tmp_path / "second.json"
    bazel.run("build", *case.targets, *remote_flags, f"--execution_log_json_file={second}")
    assert assert_all_cache_hits(spawns(second)) >= case.mnemonics
    assert_same_wheels(_wheels(bazel, case), local)
