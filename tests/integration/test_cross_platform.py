"""examples/cross_platform with real Bazel: one C and one C++ extension, four ways.

One `bazel test //...` of a copy of the example (Bazel 4.2.3, WORKSPACE mode)
builds the crossdemo wheel with the host toolchain, with zig for x86_64 and
aarch64 at glibc 2.17 and with clang + Debian bullseye's sysroot, runs each
wheel's compliance test and the same test file against each wheel's
py_import (the aarch64 one under qemu). The copy gets the offline flags in
its .bazelrc: the ziglang wheel by --distdir (scripts/zig.sh) and the Debian
packages (sysroot, aarch64 Python headers, qemu and the arm64 CPython) from
the local mirrors of scripts/sysroot.sh and scripts/emulation.sh; the
example's own files keep the real upstream URLs. Every tag asserted here is
what tools/audit_wheel.py measures on the built wheels. The x86_64 wheels are
then installed with pip into fresh venvs and run outside Bazel, and the last
test builds and tests the zig x86_64 wheel with Bazel 7.7.1 and bzlmod from
the example's MODULE.bazel.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import EXAMPLES, REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace
from .elf_checks import audit
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

pytestmark = pytest.mark.integration

EXAMPLE = EXAMPLES / "cross_platform"
ZIG_SH = REPO_ROOT / "scripts" / "zig.sh"
SYSROOT_SH = REPO_ROOT / "scripts" / "sysroot.sh"
EMULATION_SH = REPO_ROOT / "scripts" / "emulation.sh"
FORKY = REPO_ROOT / "scripts" / "forky.sh"

# Each way, by the platform tag its wheel's file name claims.
CLAIMED = {
    "host": "linux_x86_64",
    "zig_x86_64": "manylinux_2_17_x86_64",
    "zig_aarch64": "manylinux_2_17_aarch64",
    "sysroot_x86_64": "manylinux_2_31_x86_64",
}
X86_64 = ["host", "zig_x86_64", "sysroot_x86_64"]

# What tools/audit_wheel.py measured on each wheel, on a Debian 12 host
# (glibc 2.36, gcc 12): the host wheel's values hold on such a host only
# (MEASURED_ON); elsewhere its tag is only checked to be newer than 2_17.
# The host build needs stat@GLIBC_2.33 and GCC 11's GLIBCXX_3.4.29; the
# sysroot build fcntl64@GLIBC_2.28 (bullseye's headers), below the
# manylinux_2_31 it claims; zig's stay at glibc 2.17.
MEASURED = {
    "host": "manylinux_2_34_x86_64",
    "zig_x86_64": "manylinux_2_17_x86_64",
    "zig_aarch64": "manylinux_2_17_aarch64",
    "sysroot_x86_64": "manylinux_2_28_x86_64",
}
# Per extension, measured with pyelftools: the newest GLIBC and GLIBCXX
# versions each needs (None: no libstdc++), and whether libstdc++.so.6 is NEEDED.
# zig's C extension needs glibc 2.4 (within manylinux_2_5's limit), its C++
# one (libc++ linked statically) 2.16, past manylinux_2_12's: manylinux_2_17.
MEASURED_EXTENSIONS = {
    "host": {
        "_cext.so": ((2, 33), None, True),
        "_cxxext.so": ((2, 33), (3, 4, 29), True),
    },
    "zig_x86_64": {
        "_cext.so": ((2, 4), None, False),
        "_cxxext.so": ((2, 16), None, False),
    },
    "zig_aarch64": {
        "_cext.so": ((2, 17), None, False),
        "_cxxext.so": ((2, 17), None, False),
    },
    "sysroot_x86_64": {
        "_cext.so": ((2, 28), None, False),
        "_cxxext.so": ((2, 28), (3, 4, 21), True),
    },
}
MEASURED_ON = "glibc 2.36"
TESTS = ["host_test", "zig_x86_64_test", "sysroot_x86_64_test", "zig_aarch64_test"]


def _setup(script: Path, *args: str) -> str:
    """Runs a set-up script; returns the last line it prints (a directory or URL)."""
    result = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=1200, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def offline_flags() -> list[str]:
    """The ziglang wheel's --distdir and both local Debian mirrors."""
    distdir = _setup(ZIG_SH)
    sysroot_mirror = Path(_setup(SYSROOT_SH)).as_uri()
    emulation_mirror = _setup(EMULATION_SH, "mirror")
    assert emulation_mirror.startswith("file://"), emulation_mirror
    return [
        f"--distdir={distdir}",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={sysroot_mirror} {emulation_mirror}",
    ]


def _add_to_bazelrc(workspace: Path, flags: list[str]) -> None:
    with (workspace / ".bazelrc").open("a") as bazelrc:
        for flag in flags:
            bazelrc.write(f"build {shlex.quote(flag)}\n")


def _kind(wheel: Path) -> str:
    (kind,) = [k for k, tag in CLAIMED.items() if wheel.name.endswith(f"-{tag}.whl")]
    return kind


def _wheels(output_path: Path) -> dict[str, Path]:
    """Way -> its wheel, from every configuration's bin/crossdemo/."""
    wheels: dict[str, Path] = {}
    for wheel in sorted(output_path.glob("*/bin/crossdemo/*.whl")):
        kind = _kind(wheel)
        if kind in wheels:
            # One wheel per way: another configuration may only hold the same bytes.
            assert wheels[kind].read_bytes() == wheel.read_bytes(), (wheels[kind], wheel)
        else:
            wheels[kind] = wheel
    return wheels


class Built:
    """The example after one `bazel test //...`."""

    def __init__(self, bazel: Bazel) -> None:
        self.bazel = bazel
        self.output_path = Path(bazel.run("info", "output_path").stdout.strip())
        self.testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
        self.wheels = _wheels(self.output_path)


@pytest.fixture(scope="module")
def built(make_bazel, offline_flags) -> Iterator[Built]:
    bazel = make_bazel(EXAMPLE, "cross_platform-a")
    _add_to_bazelrc(bazel.workspace, offline_flags)
    bazel.run("test", "//...", "--symlink_prefix=/", timeout=1800)
    yield Built(bazel)
    bazel.release()


def _elf(wheel: Path, member: str) -> ELFFile:
    with zipfile.ZipFile(wheel) as archive:
        return ELFFile(io.BytesIO(archive.read(f"crossdemo/{member}")))


def _newest(elf: ELFFile, prefix: str) -> tuple[int, ...] | None:
    """The newest `<prefix>_x.y.z` symbol version the file needs."""
    section = elf.get_section_by_name(".gnu.version_r")
    names = [aux.name for _, auxes in section.iter_versions() for aux in auxes]
    found = [m.group(1) for n in names if (m := re.fullmatch(rf"{prefix}_([0-9.]+)", n))]
    return max((tuple(int(p) for p in v.split(".")) for v in found), default=None)


def _needed(elf: ELFFile) -> list[str]:
    dynamic = elf.get_section_by_name(".dynamic")
    return sorted(tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED")


def _comment(elf: ELFFile) -> str:
    section = elf.get_section_by_name(".comment")
    return section.data().decode("ascii", "replace") if section else ""


def test_one_build_gives_four_wheels(built: Built) -> None:
    assert sorted(built.wheels) == sorted(CLAIMED)
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for kind, wheel in built.wheels.items():
        # The aarch64 wheel's tags are its headers' (Debian's CPython 3.11).
        tags = "cp311-cp311" if kind == "zig_aarch64" else f"{python}-{python}"
        assert wheel.name == f"crossdemo-1.0-{tags}-{CLAIMED[kind]}.whl", wheel.name
    # The host wheel in the plain configuration, each platform in its own.
    directories = {kind: wheel.parents[2].name for kind, wheel in built.wheels.items()}
    assert directories["host"] == "k8-fastbuild", directories
    assert len(set(directories.values())) == 4, directories


def test_audited_tags(built: Built) -> None:
    measured = {kind: audit(wheel)["overall_tag"] for kind, wheel in built.wheels.items()}
    assert measured == _expected(MEASURED, measured)


def _expected(table: dict, measured: dict) -> dict:
    """`table`, with the host wheel's measured value where the host is not the measured one."""
    if os.confstr("CS_GNU_LIBC_VERSION") == MEASURED_ON:
        return table
    return {**table, "host": measured["host"]}


def test_host_wheel_is_not_manylinux_2_17(built: Built) -> None:
    """The autodetected gcc links the host's glibc: what the other three ways avoid."""
    report = audit(built.wheels["host"])
    glibc_minor = int(report["overall_tag"].split("_")[2])
    assert glibc_minor > 17, report["overall_tag"]
    assert not any(
        p["compliant"] for p in report["policies_checked"] if p["tag"] == "manylinux_2_17_x86_64"
    )
    assert "GCC:" in _comment(_elf(built.wheels["host"], "_cxxext.so"))


def test_sysroot_wheel_claims_2_31_and_meets_it(built: Built) -> None:
    report = audit(built.wheels["sysroot_x86_64"])
    assert [(c["tag"], c["met"]) for c in report["claims"]] == [("manylinux_2_31_x86_64", True)]


def test_each_extension_links_what_its_toolchain_gives(built: Built) -> None:
    measured = {}
    for kind, wheel in built.wheels.items():
        measured[kind] = {}
        for member in ("_cext.so", "_cxxext.so"):
            elf = _elf(wheel, member)
            assert elf["e_machine"] == ("EM_AARCH64" if kind == "zig_aarch64" else "EM_X86_64")
            comment = _comment(elf)
            gcc = re.findall(r"GCC: \([^)]*\) ([0-9.]+)", comment)
            if kind == "host":
                assert gcc and "clang version" not in comment, comment
            else:
                assert "clang version" in comment, (kind, member, comment)
                # zig's own start files; bullseye's crt*.o were built by its GCC 10.
                expected = ["10.2.1"] if kind == "sysroot_x86_64" else []
                assert sorted(set(gcc)) == expected, (kind, member, comment)
            needed = _needed(elf)
            assert not any("c++abi" in n or "libc++" in n for n in needed), needed
            measured[kind][member] = (
                _newest(elf, "GLIBC"),
                _newest(elf, "GLIBCXX"),
                "libstdc++.so.6" in needed,
            )
    assert measured == _expected(MEASURED_EXTENSIONS, measured)


def test_zig_and_sysroot_extensions_export_only_their_module_init(built: Built) -> None:
    for kind in ("zig_x86_64", "zig_aarch64", "sysroot_x86_64"):
        for member in ("_cext.so", "_cxxext.so"):
            dynsym = _elf(built.wheels[kind], member).get_section_by_name(".dynsym")
            defined = sorted(
                s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"
            )
            assert defined == [f"PyInit_{member[:-3]}"], (kind, member, defined)


def _probes(log: str, key: str) -> list[str]:
    """The values the test printed as `CROSSDEMO key=value`."""
    prefix = f"CROSSDEMO {key}="
    return [line.split(prefix, 1)[1] for line in log.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("test", TESTS)
def test_wheel_tests_ran_against_the_unpacked_wheel(built: Built, test: str) -> None:
    log = (built.testlogs / test / "test.log").read_text()
    name = test.removesuffix("_test")
    assert "Ran 6 tests" in log and "\nOK" in log, log
    assert _probes(log, "machine") == ["aarch64" if name == "zig_aarch64" else "x86_64"]
    assert _probes(log, "getrandom") == ["syscall" if name.startswith("zig") else "getrandom"]
    assert _probes(log, "exceptions") == ["ok"]
    modules = _probes(log, "module")
    assert [m.rsplit("/", 1)[1] for m in modules] == ["__init__.py", "_cext.so", "_cxxext.so"]
    for module in modules:
        assert f".runfiles/cross_platform_example/{name}_import/crossdemo/" in module, module


def test_emulated_test_loaded_the_zig_built_aarch64_extensions(built: Built) -> None:
    """The .so files in the emulated test's runfiles are the aarch64 wheel's, unpacked
    in the aarch64 configuration (where the wheel itself was built)."""
    wheel = built.wheels["zig_aarch64"]
    runfiles = built.output_path / "k8-fastbuild" / "bin" / "zig_aarch64_test.runfiles"
    with zipfile.ZipFile(wheel) as archive:
        for member in ("_cext.so", "_cxxext.so"):
            link = runfiles / "cross_platform_example" / "zig_aarch64_import" / "crossdemo" / member
            unpacked = link.resolve()
            assert unpacked.is_relative_to(wheel.parents[2]), (unpacked, wheel)
            data = unpacked.read_bytes()
            assert data == archive.read(f"crossdemo/{member}"), member
            assert ELFFile(io.BytesIO(data))["e_machine"] == "EM_AARCH64"


VENV_SCRIPT = """
import json, os, sys, crossdemo
path = sys.argv[1]
result = {
    "file": os.path.relpath(crossdemo.__file__, sys.prefix).split(os.sep)[-3:],
    "size": crossdemo.file_size(path),
    "words": crossdemo.file_words(path),
    "random": len(crossdemo.random_bytes(48)),
    "hex": len(crossdemo.random_hex(5)),
    "split": crossdemo.split(" x  y z "),
    "caught": crossdemo.round_trip("thrown in words.cc"),
    "getrandom": crossdemo.GETRANDOM,
}
try:
    crossdemo.split("   ")
except ValueError as error:
    result["error"] = str(error)
print(json.dumps(result))
"""


@pytest.mark.parametrize("kind", X86_64)
def test_x86_64_wheel_installs_and_runs_in_a_fresh_venv(
    built: Built, fresh_venv: Path, tmp_path: Path, kind: str
) -> None:
    python = fresh_venv / "bin" / "python"
    wheel = built.wheels[kind]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", str(wheel)], check=True
    )
    probe = tmp_path / "probe.txt"
    probe.write_text("alpha beta\ngamma ")
    run = subprocess.run(
        [str(python), "-I", "-c", VENV_SCRIPT, str(probe)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "file": ["site-packages", "crossdemo", "__init__.py"],
        "size": 17,
        "words": ["alpha", "beta", "gamma"],
        "random": 48,
        "hex": 10,
        "split": ["x", "y", "z"],
        "caught": "thrown in words.cc",
        "getrandom": "syscall" if kind == "zig_x86_64" else "getrandom",
        "error": 'no words in "   "',
    }


# --- Bazel 7.7.1 with bzlmod (forky root), from the example's MODULE.bazel ------

BAZEL7_TARGETS = ["//:zig_x86_64_compliance_test", "//:zig_x86_64_test"]


@pytest.fixture(scope="module")
def bazel7(offline_flags, tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    """(output_path, workspace) after `bazel test` of the zig x86_64 wheel's tests."""
    pyenv = _pyenv_installations()
    if "3.11" not in pyenv:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", pyenv["3.11"], _cache_dir())
    subprocess.run([str(FORKY), "create"], check=True, timeout=1200)
    workdir = tmp_path_factory.mktemp("cross_platform_bazel7")
    workspace = copy_workspace(EXAMPLE, workdir / "ws", bzlmod=True)
    _add_to_bazelrc(workspace, offline_flags)
    bazel = f"bazel --output_user_root={shlex.quote(str(workdir / 'ur'))}"
    # The zig cache outlives an action only without Bazel 7's hermetic /tmp.
    flags = " ".join(
        [
            "--nosandbox_debug --enable_bzlmod --symlink_prefix=/ --test_output=errors",
            "--noincompatible_sandbox_hermetic_tmp",
            *archive.repo_env(),
        ]
    )
    script = "\n".join(
        [
            "set -eu",
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} test {flags} {' '.join(BAZEL7_TARGETS)} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info --enable_bzlmod output_path >output_path.txt 2>/dev/null",
            f"{bazel} info --enable_bzlmod bazel-testlogs >testlogs.txt 2>/dev/null",
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
    output_path = Path((workspace / "output_path.txt").read_text().strip())
    testlogs = Path((workspace / "testlogs.txt").read_text().strip())
    yield output_path, testlogs
    remove_tree(workdir)


def test_bazel7_bzlmod_zig_x86_64_wheel(bazel7) -> None:
    output_path, testlogs = bazel7
    wheels = _wheels(output_path)
    assert sorted(wheels) == ["zig_x86_64"], wheels
    # The hermetic CPython 3.11 of MODULE.bazel gives the tags.
    assert wheels["zig_x86_64"].name == "crossdemo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert audit(wheels["zig_x86_64"])["overall_tag"] == MEASURED["zig_x86_64"]
    log = (testlogs / "zig_x86_64_test" / "test.log").read_text()
    assert _probes(log, "machine") == ["x86_64"] and _probes(log, "getrandom") == ["syscall"]
    assert "Ran 6 tests" in log and "\nOK" in log, log
