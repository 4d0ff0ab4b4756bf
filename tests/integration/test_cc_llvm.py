"""The clang + sysroot toolchain with an LLVM distribution: Bazel 4.2.3 on tests/fixtures/cc_llvm.

`sysroot_cc_toolchains(llvm = {"x86_64": ...})` replaces zig's clang by the
bin/clang, bin/ld.lld and bin/llvm-ar of an LLVM distribution: here Debian
bookworm's clang 14 and lld 14 as scripts/llvm.sh assembles them (pinned
.debs, unpacked by tools/unpack_deb.py): an archive given by file:// URL,
sha256 and strip_prefix, and the same distribution as a local directory
(`path`). The sysroot is Debian bullseye's (glibc 2.31, GCC 10's libstdc++),
from the local mirror of scripts/sysroot.sh. Every tag asserted is what
tools/audit_wheel.py measures on the built wheel; that Debian's clang built
the extension is read from its `.comment` section.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace
from .elf_checks import audit, comment_section, needed_libraries, shared_library
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "cc_llvm"
LLVM_SH = REPO_ROOT / "scripts" / "llvm.sh"
SYSROOT_SH = REPO_ROOT / "scripts" / "sysroot.sh"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
WHEEL = "//:llvm_cxxext_x86_64"
CPUS = ["x86_64", "aarch64"]
# What tools/audit_wheel.py measures for this source (the C++11-ABI
# std::string of GCC 10's libstdc++: GLIBCXX_3.4.21, CXXABI_1.3.9), as with
# zig's clang in test_cc_sysroot.py: the compiler does not change the tag.
MEASURED = {"x86_64": "manylinux_2_24_x86_64", "aarch64": "manylinux_2_24_aarch64"}
MEASURED_TAG = MEASURED["x86_64"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="the pinned Debian LLVM is amd64"),
]


@dataclass(frozen=True)
class Distribution:
    """What scripts/llvm.sh made: the directory, the archive and its sha256."""

    directory: Path
    archive: Path
    sha256: str


@pytest.fixture(scope="module")
def llvm() -> Distribution:
    result = subprocess.run([str(LLVM_SH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    directory, archive, sha256 = result.stdout.strip().splitlines()[-3:]
    return Distribution(Path(directory), Path(archive), sha256)


@pytest.fixture(scope="module")
def flags() -> list[str]:
    """The local Debian mirror of the sysroot's pinned packages."""
    result = subprocess.run([str(SYSROOT_SH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    mirror = Path(result.stdout.strip().splitlines()[-1])
    return [f"--repo_env=ML_WHEELS_DEB_MIRROR={mirror.as_uri()}", "--symlink_prefix=/"]


def _archive_entry(llvm: Distribution) -> str:
    return json.dumps(
        {
            "x86_64": {
                "sha256": llvm.sha256,
                "strip_prefix": llvm.directory.name,
                "urls": [llvm.archive.as_uri()],
            }
        }
    )


def _write_llvm(bazel: Bazel, value: str) -> None:
    """The fixture's llvm.bzl: `LLVM`, what its WORKSPACE passes as `llvm`."""
    (bazel.workspace / "llvm.bzl").write_text(f"LLVM = {value}\n")


def _wheels(bazel: Bazel) -> dict[str, Path]:
    """CPU -> the wheel built for it, from every configuration's bin/."""
    output_path = Path(bazel.run("info", "output_path").stdout.strip())
    wheels = {}
    for wheel in sorted(output_path.glob("*/bin/llvm_cxxext/*.whl")):
        cpu = "aarch64" if wheel.name.endswith("_aarch64.whl") else "x86_64"
        assert cpu not in wheels, f"two {cpu} wheels: {wheel}"
        wheels[cpu] = wheel
    return wheels


@dataclass(frozen=True)
class Built:
    """The fixture's wheels by CPU and the output base that built them (until the module ends)."""

    wheels: dict[str, Path]
    output_base: Path

    @property
    def wheel(self) -> Path:
        return self.wheels["x86_64"]


def _build(
    make_bazel, flags: list[str], output_base: str, llvm_value: str, cpus: list[str]
) -> Iterator[Built]:
    bazel = make_bazel(FIXTURE, output_base, copy_as=output_base)
    _write_llvm(bazel, llvm_value)
    bazel.run("build", *flags, *[f"//:llvm_cxxext_{cpu}" for cpu in cpus], timeout=1800)
    built = Built(_wheels(bazel), bazel.output_base)
    assert sorted(built.wheels) == sorted(cpus)
    yield built
    bazel.release()


# The toolchain repository of target CPU x86_64 on exec CPU x86_64.
SDK_REPO = "sysroot_cc_x86_64_on_x86_64"


@pytest.fixture(scope="module")
def from_archive(make_bazel, flags, llvm) -> Iterator[Built]:
    """The wheel built with the LLVM archive (file:// URL + sha256 + strip_prefix)."""
    yield from _build(make_bazel, flags, "cc_llvm-archive", _archive_entry(llvm), CPUS)


@pytest.fixture(scope="module")
def from_path(make_bazel, flags, llvm) -> Iterator[Built]:
    """The wheel built with the same distribution as a local directory (`path`)."""
    value = json.dumps({"x86_64": {"path": str(llvm.directory)}})
    yield from _build(make_bazel, flags, "cc_llvm-path", value, ["x86_64"])


def _comment(library: Path) -> list[str]:
    return [part for part in comment_section(library).split("\0") if part]


@pytest.mark.parametrize("source", ["from_archive", "from_path"])
def test_debian_clang_and_lld_built_it_against_the_sysroots_libstdcxx(
    request, tmp_path, source
) -> None:
    """The distribution's clang 14 compiled and its lld 14 linked, not zig's clang 22."""
    library = shared_library(request.getfixturevalue(source).wheel, tmp_path)
    comment = _comment(library)
    assert any(c.startswith("Debian clang version 14.") for c in comment), comment
    assert any(c.startswith("Linker: Debian LLD 14.") for c in comment), comment
    assert not any("clang version 22" in c for c in comment), comment
    needed = needed_libraries(library)
    assert "libstdc++.so.6" in needed, needed
    assert not any("c++abi" in n or "libc++" in n for n in needed), needed
    with library.open("rb") as stream:
        assert ELFFile(stream)["e_machine"] == "EM_X86_64"


@pytest.mark.parametrize("source", ["from_archive", "from_path"])
def test_wheel_audits_at_the_measured_tag(request, source) -> None:
    wheel = request.getfixturevalue(source).wheel
    assert wheel.name == "llvm_cxxext-1.0-cp311-cp311-manylinux_2_31_x86_64.whl", wheel.name
    report = audit(wheel)
    assert report["overall_tag"] == MEASURED_TAG, report["reasons"]


def test_the_x86_64_llvm_cross_compiles_for_aarch64(from_archive, tmp_path) -> None:
    """The same exec toolchain, target aarch64: an AArch64 extension on the arm64 sysroot."""
    wheel = from_archive.wheels["aarch64"]
    assert wheel.name == "llvm_cxxext-1.0-cp311-cp311-manylinux_2_31_aarch64.whl", wheel.name
    library = shared_library(wheel, tmp_path)
    with library.open("rb") as stream:
        assert ELFFile(stream)["e_machine"] == "EM_AARCH64"
    assert any(c.startswith("Debian clang version 14.") for c in _comment(library))
    assert "libstdc++.so.6" in needed_libraries(library)
    report = audit(wheel)
    assert report["overall_tag"] == MEASURED["aarch64"], report["reasons"]


def test_no_absolute_paths_in_the_extension(from_archive, llvm, tmp_path) -> None:
    """-g0: neither the output base nor the distribution's directory is in the binary."""
    data = b"".join(
        shared_library(wheel, tmp_path / cpu).read_bytes()
        for cpu, wheel in from_archive.wheels.items()
    )
    for path in [str(llvm.directory), "/tmp/", os.path.expanduser("~")]:
        assert path.encode() not in data, path


# Each wrapper of the toolchain, and what its `--version` says.
VERSIONS = {
    "clang": "Debian clang version 14.0.6",
    "ld.lld": "Debian LLD 14.0.6",
    "ar": "Debian LLVM version 14.0.6",
}


@pytest.mark.parametrize("source", ["from_archive", "from_path"])
def test_tools_load_the_distributions_shared_libraries(request, source, llvm) -> None:
    """The wrappers put the distribution's lib/ first: its libLLVM, not a host one."""
    sdk = request.getfixturevalue(source).output_base / "external" / SDK_REPO
    lib = (sdk / "llvm" / "lib").resolve()
    if source == "from_path":
        assert lib == llvm.directory / "lib"
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    for tool, version in VERSIONS.items():
        run = subprocess.run(
            [str(sdk / "bin" / tool), "--version"],
            capture_output=True,
            text=True,
            check=False,
            env={**env, "LD_DEBUG": "libs"},
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert version in run.stdout, (tool, run.stdout)
        loaded = [
            Path(line.split("calling init: ")[1]).resolve()
            for line in run.stderr.splitlines()
            if "calling init: " in line
        ]
        assert [p for p in loaded if "libLLVM" in p.name] == [lib / "libLLVM-14.so.1"], loaded


def test_archive_and_path_give_the_same_bytes(from_archive, from_path) -> None:
    """Same tools, other output bases and resource-dir paths: the same wheel."""
    assert from_archive.wheel.name == from_path.wheel.name
    assert from_archive.wheel.read_bytes() == from_path.wheel.read_bytes()


def test_byte_identical_across_output_bases(from_archive, make_bazel, flags, llvm) -> None:
    builds = _build(make_bazel, flags, "cc_llvm-archive-b", _archive_entry(llvm), CPUS)
    other = next(builds)
    try:
        for cpu, wheel in from_archive.wheels.items():
            assert other.wheels[cpu].name == wheel.name
            assert other.wheels[cpu].read_bytes() == wheel.read_bytes(), wheel.name
    finally:
        next(builds, None)  # releases the output base


def test_installs_and_round_trips_an_exception(from_archive, fresh_venv, tmp_path) -> None:
    python = fresh_venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", str(from_archive.wheel)],
        check=True,
    )
    script = """
import json, llvm_cxxext
result = {
    "counts": llvm_cxxext.count_words("b a b c b"),
    "caught": llvm_cxxext.round_trip("thrown in words.cc"),
}
try:
    llvm_cxxext.count_words("   ")
except ValueError as error:
    result["error"] = str(error)
print(json.dumps(result))
"""
    run = subprocess.run(
        [str(python), "-I", "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "counts": {"a": 1, "b": 3, "c": 1},
        "caught": "thrown in words.cc",
        "error": 'no words in "   "',
    }


def _partial_distribution(llvm: Distribution, root: Path, leave_out: str) -> Path:
    """A copy of the distribution (links to its files) without one of its entries."""
    root.mkdir(parents=True)
    for source in sorted(llvm.directory.rglob("*")):
        relative = source.relative_to(llvm.directory)
        if str(relative) == leave_out or str(relative).startswith(leave_out + "/"):
            continue
        target = root / relative
        if source.is_dir() and not source.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
        elif source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            target.symlink_to(source)
    return root


WHO = 'sysroot_cc_toolchains(name = "sysroot_cc")'
NEEDS = (
    "; an LLVM distribution for exec CPU x86_64 needs bin/clang, bin/ld.lld, bin/llvm-ar "
    "and lib/clang/<version>/include"
)


def test_declaration_errors(make_bazel, flags, llvm, tmp_path) -> None:
    """Each bad `llvm` gives its one-line error naming the toolchain and exec CPU."""
    no_lld = _partial_distribution(llvm, tmp_path / "no_lld", "bin/ld.lld")
    no_resource_dir = _partial_distribution(llvm, tmp_path / "no_resource_dir", "lib/clang")
    archive = json.loads(_archive_entry(llvm))["x86_64"]
    nowhere = tmp_path / "nowhere"
    cases = {
        "missing ld.lld": (
            {"x86_64": {"path": str(no_lld)}},
            f'{WHO}: llvm["x86_64"], the directory {no_lld}, has no bin/ld.lld{NEEDS}',
        ),
        "missing resource dir": (
            {"x86_64": {"path": str(no_resource_dir)}},
            f'{WHO}: llvm["x86_64"], the directory {no_resource_dir}, has no '
            f"lib/clang/<version>/include (clang's resource dir){NEEDS}",
        ),
        "wrong strip_prefix": (
            {"x86_64": dict(archive, strip_prefix="")},
            f'{WHO}: llvm["x86_64"], the archive {archive["urls"][0]}, has no bin/clang '
            f"(is strip_prefix right?){NEEDS}",
        ),
        "unknown exec CPU": (
            {"ppc64le": {"path": str(llvm.directory)}},
            f'{WHO}: llvm has the exec CPU "ppc64le"; use one of x86_64, aarch64',
        ),
        "urls and path": (
            {"x86_64": dict(archive, path=str(llvm.directory))},
            f'{WHO}: llvm["x86_64"] sets both urls and path; give an archive (urls, sha256) '
            "or a local directory (path)",
        ),
        "no sha256": (
            {"x86_64": {"urls": archive["urls"]}},
            f'{WHO}: llvm["x86_64"] (the LLVM archive {archive["urls"][0]}) needs its sha256 '
            "as 64 lower-case hex digits, got None (compute it with `sha256sum FILE`)",
        ),
        "relative path": (
            {"x86_64": {"path": "usr/lib/llvm-14"}},
            f'{WHO}: llvm["x86_64"] path "usr/lib/llvm-14" is not absolute; give the top '
            'directory of an LLVM installation, as "/usr/lib/llvm-18"',
        ),
        "missing path": (
            {"x86_64": {"path": str(nowhere)}},
            f'{WHO}: llvm["x86_64"] path "{nowhere}" is not an existing absolute '
            "directory; give the top directory of an LLVM installation (holding bin/clang)",
        ),
    }
    bazel = make_bazel(FIXTURE, "cc_llvm-errors", copy_as="cc_llvm_errors")
    missing = {}
    try:
        for key, (value, error) in cases.items():
            _write_llvm(bazel, json.dumps(value))
            result = bazel.run("build", *flags, WHEEL, check=False)
            assert result.returncode != 0, key
            lines = [line for line in result.stderr.splitlines() if error in line]
            if not lines:
                missing[key] = result.stderr[-3000:]
    finally:
        bazel.release()
    assert missing == {}


@dataclass(frozen=True)
class Bazel7:
    """The Bazel 7 lane's wheel, and the log of its build with a misnamed `llvm` tag."""

    wheel: Path
    misnamed_log: str


@pytest.fixture(scope="module")
def bazel7(flags, llvm, tmp_path_factory) -> Iterator[Bazel7]:
    """The fixture built by Bazel 7.7.1 (forky root), bzlmod and `ml_wheels.llvm`; then misnamed."""
    pyenv = _pyenv_installations()
    if "3.11" not in pyenv:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", pyenv["3.11"], _cache_dir())
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("cc_llvm_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    module = workspace / "MODULE.bazel"
    local = '    path = "/usr/lib/llvm-14",\n'
    assert local in module.read_text()
    module.write_text(
        module.read_text().replace(
            local,
            f'    sha256 = "{llvm.sha256}",\n'
            f'    strip_prefix = "{llvm.directory.name}",\n'
            f'    urls = ["{llvm.archive.as_uri()}"],\n',
        )
    )
    # The same module with the llvm tag naming toolchains no sysroot_cc tag declares.
    tag = 'ml_wheels.llvm(\n    name = "sysroot_cc",'
    assert tag in module.read_text()
    (workspace / "MODULE.misnamed").write_text(
        module.read_text().replace(tag, 'ml_wheels.llvm(\n    name = "sysroot_cc2",')
    )
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    options = " ".join(["--nosandbox_debug --enable_bzlmod", *flags, *archive.repo_env()])
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} build {options} {WHEEL} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info --enable_bzlmod output_path >output_path.txt 2>/dev/null",
            "cp MODULE.bazel MODULE.good && cp MODULE.misnamed MODULE.bazel",
            f"if {bazel} build {options} {WHEEL} >misnamed.log 2>&1; then echo built; fi",
            "cp MODULE.good MODULE.bazel",
            f"{bazel} shutdown",
        ]
    )
    (workdir / "run.sh").write_text(script + "\n")
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    assert "built" not in result.stdout.split(), "the misnamed llvm tag built"
    output_path = Path((workspace / "output_path.txt").read_text().strip())
    (wheel,) = output_path.glob("*/bin/llvm_cxxext/*.whl")
    yield Bazel7(wheel, (workspace / "misnamed.log").read_text())
    remove_tree(workdir)


def test_bazel7_bzlmod_llvm_tag(bazel7, from_archive, tmp_path) -> None:
    """`ml_wheels.llvm` gives the same toolchain under Bazel 7 and bzlmod: the same wheel."""
    library = shared_library(bazel7.wheel, tmp_path)
    assert any(c.startswith("Debian clang version 14.") for c in _comment(library))
    assert audit(bazel7.wheel)["overall_tag"] == MEASURED_TAG
    assert bazel7.wheel.name == from_archive.wheel.name
    assert bazel7.wheel.read_bytes() == from_archive.wheel.read_bytes()


def test_bazel7_llvm_tag_without_its_toolchains(bazel7) -> None:
    error = (
        'ml_wheels.llvm(name = "sysroot_cc2"): no ml_wheels.sysroot_cc tag of that name; '
        "add one, or fix `name`"
    )
    assert error in bazel7.misnamed_log, bazel7.misnamed_log[-3000:]
