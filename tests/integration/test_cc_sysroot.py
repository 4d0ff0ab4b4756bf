"""The clang + sysroot C/C++ toolchains with real Bazel 4.2.3 on tests/fixtures/cc_sysroot.

sysroot_cc_toolchains drive the clang of the pinned `ziglang` wheel (cached by
scripts/zig.sh, given to Bazel with --distdir) as plain clang with --sysroot
of Debian bullseye sysroots (the pinned packages served by a local mirror of
scripts/sysroot.sh): glibc 2.31 and GCC 10's libstdc++.so.6, not zig's libc++.
The fixture builds a C++ extension (exceptions across translation units,
std:: types) for x86_64 and aarch64 glibc 2.31 through platform_wheel. Every
tag asserted is what tools/audit_wheel.py measures on the built wheel.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace
from .elf_checks import AUDIT, audit, needed_libraries, shared_library, symbol_versions
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive
from .wheel_checks import verify_record

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "cc_sysroot"
ZIG_SH = REPO_ROOT / "scripts" / "zig.sh"
SYSROOT_SH = REPO_ROOT / "scripts" / "sysroot.sh"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
CPUS = ["x86_64", "aarch64"]
# repaired_wheel (issue 16): the same extension before and after the repair.
REPAIR_WHEELS = [f"//:sysroot_repair_{kind}{cpu}" for kind in ("", "unrepaired_") for cpu in CPUS]
WHEELS = [
    "//:sysroot_cxxext_x86_64",
    "//:sysroot_cxxext_aarch64",
    "//:sysroot_cext_x86_64",
    *REPAIR_WHEELS,
]
TRIPLES = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}


def _setup(script: Path) -> Path:
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def flags() -> list[str]:
    """--distdir with the cached ziglang wheel, and the local Debian mirror."""
    return [
        f"--distdir={_setup(ZIG_SH)}",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={_setup(SYSROOT_SH).as_uri()}",
        "--symlink_prefix=/",
    ]


def _wheels(bazel: Bazel) -> dict[str, Path]:
    """CPU -> the wheel built for it, from every configuration's bin/."""
    output_path = Path(bazel.run("info", "output_path").stdout.strip())
    wheels = {}
    for wheel in sorted(output_path.glob("*/bin/sysroot_cxxext/*.whl")):
        cpu = "aarch64" if wheel.name.endswith("_aarch64.whl") else "x86_64"
        assert cpu not in wheels, f"two {cpu} wheels: {wheel}"
        wheels[cpu] = wheel
    (wheels["cext"],) = output_path.glob("*/bin/sysroot_cext/*.whl")
    for kind, pattern in (("repaired", "repaired/*.whl"), ("unrepaired", "*.whl")):
        for wheel in sorted(output_path.glob(f"*/bin/sysroot_repair/{pattern}")):
            cpu = "aarch64" if wheel.name.endswith("_aarch64.whl") else "x86_64"
            assert f"{kind}_{cpu}" not in wheels, f"two {kind} {cpu} wheels: {wheel}"
            wheels[f"{kind}_{cpu}"] = wheel
    return wheels


@pytest.fixture(scope="module")
def sysroot_bazel(make_bazel) -> Iterator[Bazel]:
    """The fixture's Bazel server, for this module."""
    bazel = make_bazel(FIXTURE, "cc_sysroot-a")
    yield bazel
    bazel.release()


@pytest.fixture(scope="module")
def built(sysroot_bazel, flags) -> dict[str, Path]:
    """The x86_64 and aarch64 wheels of the fixture, one build."""
    sysroot_bazel.run("build", *flags, *WHEELS, timeout=1800)
    return _wheels(sysroot_bazel)


@pytest.mark.parametrize("cpu", CPUS)
def test_links_the_sysroots_libstdcxx(built, tmp_path, cpu) -> None:
    """libstdc++.so.6 of GCC 10 (GLIBCXX <= 3.4.28), glibc <= 2.31, no libc++."""
    library = shared_library(built[cpu], tmp_path)
    needed = needed_libraries(library)
    assert "libstdc++.so.6" in needed, needed
    assert not any("c++abi" in n or "libc++" in n for n in needed), needed
    glibcxx = symbol_versions(library, "GLIBCXX")
    assert glibcxx and glibcxx[-1] <= (3, 4, 28), glibcxx
    glibc = symbol_versions(library, "GLIBC")
    assert glibc and glibc[-1] <= (2, 31), glibc
    with library.open("rb") as stream:
        elf = ELFFile(stream)
        assert elf["e_machine"] == ("EM_AARCH64" if cpu == "aarch64" else "EM_X86_64")
        comment = elf.get_section_by_name(".comment").data().decode("ascii", "replace")
    assert "clang version" in comment, comment


@pytest.mark.parametrize("cpu", CPUS)
def test_wheels_audit_at_manylinux_2_31_or_better(built, cpu) -> None:
    report = audit(built[cpu])
    tag = report["overall_tag"]
    assert built[cpu].name.endswith(f"-manylinux_2_31_{cpu}.whl"), built[cpu].name
    prefix, _, arch = tag.partition("manylinux_2_")[2].partition("_")
    assert arch == cpu and int(prefix) <= 31, (tag, report["reasons"])
    # What the audit measures for this source: the C++11-ABI std::string of
    # GCC 10's libstdc++ (GLIBCXX_3.4.21, CXXABI_1.3.9: GCC 5+) is in the
    # manylinux_2_24 policy, the first with such a libstdc++; below the sysroot's 2.31.
    assert tag == MEASURED[cpu], (tag, report["reasons"])


MEASURED = {
    "x86_64": "manylinux_2_24_x86_64",
    "aarch64": "manylinux_2_24_aarch64",
}


def test_c_extension_needs_no_libstdcxx(built, tmp_path) -> None:
    """-lstdc++ is --as-needed: a C extension links only glibc."""
    needed = needed_libraries(shared_library(built["cext"], tmp_path))
    assert "libc.so.6" in needed and not any("c++" in n for n in needed), needed
    assert symbol_versions(shared_library(built["cext"], tmp_path / "again"), "GLIBCXX") == []


def test_x86_64_wheel_installs_and_round_trips_an_exception(built, fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", str(built["x86_64"])],
        check=True,
    )
    script = """
import json, sysroot_cxxext
result = {
    "counts": sysroot_cxxext.count_words("b a b c b"),
    "caught": sysroot_cxxext.round_trip("thrown in words.cc"),
}
try:
    sysroot_cxxext.count_words("   ")
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


def test_switch_makes_the_sysroot_toolchain_the_default_platforms(
    built, sysroot_bazel, flags, tmp_path
) -> None:
    """`--repo_env=ML_WHEELS_CC_TOOLCHAIN=sysroot`: the sysroot toolchain without --platforms."""
    switch = "--repo_env=ML_WHEELS_CC_TOOLCHAIN=sysroot"
    sysroot_bazel.run("build", *flags, switch, "//sysroot_cxxext:wheel", timeout=1800)
    (wheel,) = (sysroot_bazel.bin_dir(*flags, switch) / "sysroot_cxxext").glob("*.whl")
    assert wheel.name.endswith("-manylinux_2_31_x86_64.whl"), wheel.name
    assert audit(wheel)["overall_tag"] == MEASURED["x86_64"]
    assert "libstdc++.so.6" in needed_libraries(shared_library(wheel, tmp_path))
    # The same toolchain, flags and sources as the platform_wheel build.
    assert wheel.read_bytes() == built["x86_64"].read_bytes()
    result = sysroot_bazel.run(
        "build",
        *flags,
        "--repo_env=ML_WHEELS_CC_TOOLCHAIN=sysroot_glibc_2_28",
        "//sysroot_cxxext:wheel",
        check=False,
    )
    assert result.returncode != 0
    assert (
        'sysroot_cc_toolchains(name = "sysroot_cc"): --repo_env=ML_WHEELS_CC_TOOLCHAIN='
        "sysroot_glibc_2_28 asks for glibc 2.28, but this declaration has toolchains for glibc "
        "2.31; use sysroot_glibc_2_31, or give the host CPU a cc_sysroot of glibc 2.28"
    ) in result.stderr


def test_wheels_are_byte_identical_across_output_bases(built, make_bazel, flags):
    other = make_bazel(FIXTURE, "cc_sysroot-b", copy_as="cc_sysroot_b")
    try:
        other.run("build", *flags, *WHEELS, timeout=1800)
        second = _wheels(other)
        assert sorted(second) == sorted(built)
        for cpu, wheel in built.items():
            assert wheel.name == second[cpu].name
            assert wheel.read_bytes() == second[cpu].read_bytes(), wheel.name
    finally:
        other.release()


# A WORKSPACE edit of the fixture and the one-line error it must give.
DECLARATION_ERRORS = {
    "swapped": (
        '"aarch64": "@sysroot_aarch64",\n        "x86_64": "@sysroot_x86_64",',
        '"aarch64": "@sysroot_x86_64",\n        "x86_64": "@sysroot_aarch64",',
        'sysroot_cc_toolchains(name = "sysroot_cc"): sysroots["x86_64"] is @sysroot_aarch64, '
        'whose arch is "aarch64"; map each CPU to a cc_sysroot of that arch',
    ),
    "twice": (
        '"x86_64": "@sysroot_x86_64",',
        '"x86_64": "@sysroot_aarch64",',
        'sysroot_cc_toolchains(name = "sysroot_cc"): sysroots maps both "aarch64" and "x86_64" '
        "to @sysroot_aarch64; a sysroot has one arch, give each CPU its own cc_sysroot",
    ),
    "empty": (
        """sysroots = {
        "aarch64": "@sysroot_aarch64",
        "x86_64": "@sysroot_x86_64",
    },""",
        "sysroots = {},",
        'sysroot_cc_toolchains(name = "sysroot_cc"): sysroots is empty; map a target CPU to a '
        'cc_sysroot, e.g. {"x86_64": "@sysroot_x86_64"}',
    ),
    "label": (
        '"x86_64": "@sysroot_x86_64",',
        '"x86_64": "@sysroot_x86_64//:all_files",',
        'sysroot_cc_toolchains(name = "sysroot_cc"): sysroots["x86_64"] is '
        '"@sysroot_x86_64//:all_files"; name the cc_sysroot repository, as "@sysroot_x86_64"',
    ),
    "cpu": (
        '"x86_64": "@sysroot_x86_64",',
        '"ppc64le": "@sysroot_x86_64",',
        'sysroot_cc_toolchains(name = "sysroot_cc"): sysroots has the CPU "ppc64le"; '
        "use one of x86_64, aarch64",
    ),
}


def test_declaration_errors(make_bazel, flags):
    """Each bad declaration fails with its one-line error (one output base for all)."""
    bazel = make_bazel(FIXTURE, "cc_sysroot-errors", copy_as="cc_sysroot_errors")
    workspace = bazel.workspace / "WORKSPACE"
    original = workspace.read_text()
    missing = {}
    for key, (old, new, error) in DECLARATION_ERRORS.items():
        assert old in original
        workspace.write_text(original.replace(old, new))
        result = bazel.run("build", *flags, "//:sysroot_cxxext_x86_64", check=False)
        assert result.returncode != 0, key
        if error not in result.stderr:
            missing[key] = result.stderr[-3000:]
    bazel.release()
    assert missing == {}


@pytest.fixture(scope="module")
def bazel7_wheels(flags, tmp_path_factory) -> Iterator[dict[str, Path]]:
    """The fixture's wheels built by Bazel 7.7.1 (forky root) with bzlmod."""
    pyenv = _pyenv_installations()
    if "3.11" not in pyenv:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", pyenv["3.11"], _cache_dir())
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("cc_sysroot_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    options = " ".join(["--nosandbox_debug --enable_bzlmod", *flags, *archive.repo_env()])
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} build {options} {' '.join(WHEELS)} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info --enable_bzlmod output_path >output_path.txt 2>/dev/null",
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
    wheels = {}
    for wheel in sorted(output_path.glob("*/bin/sysroot_cxxext/*.whl")):
        wheels["aarch64" if wheel.name.endswith("_aarch64.whl") else "x86_64"] = wheel
    for wheel in sorted(output_path.glob("*/bin/sysroot_repair/repaired/*.whl")):
        wheels["repaired_aarch64" if wheel.name.endswith("_aarch64.whl") else "repaired_x86_64"] = (
            wheel
        )
    yield wheels
    remove_tree(workdir)


@pytest.mark.parametrize("cpu", CPUS)
def test_bazel7_bzlmod_sysroot_cc_tag(bazel7_wheels, tmp_path, cpu) -> None:
    """`ml_wheels.sysroot_cc` tags give the same toolchains under Bazel 7 and bzlmod."""
    wheel = bazel7_wheels[cpu]
    assert wheel.name.endswith(f"-manylinux_2_31_{cpu}.whl"), wheel.name
    assert audit(wheel)["overall_tag"] == MEASURED[cpu]
    assert "libstdc++.so.6" in needed_libraries(shared_library(wheel, tmp_path))


@pytest.mark.parametrize("cpu", CPUS)
def test_bazel7_bzlmod_repaired_wheel(bazel7_wheels, cpu) -> None:
    """repaired_wheel under Bazel 7 + bzlmod: patchelf from the extension, same grafts."""
    wheel = bazel7_wheels[f"repaired_{cpu}"]
    assert wheel.name == f"sysroot_repair-1.0-cp311-cp311-manylinux_2_31_{cpu}.whl"
    assert sorted(_grafted(wheel)) == ["libcrypt", "libgreet"]
    report = audit(wheel)
    assert report["overall_tag"] == f"manylinux_2_26_{cpu}", report["reasons"]


# repaired_wheel (issue 16): //sysroot_repair:wheel needs libgreet.so.1, built
# by Bazel as its own shared library, and libcrypt.so.1 (libxcrypt) of the
# sysroot; neither is allowed by any manylinux policy. The repaired wheel takes
# the first from `libraries` and the second from the toolchain's sysroot.


def _grafted(wheel: Path) -> dict[str, str]:
    """Library stem -> the grafted file's name under sysroot_repair.libs/."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith("sysroot_repair.libs/")]
    return {n.split("/")[1].split("-")[0]: n.split("/")[1] for n in names}


def _originals(bazel: Bazel, cpu: str) -> dict[str, Path]:
    """The libraries the repair copied: Bazel's libgreet.so and the sysroot's libcrypt."""
    machine = "EM_AARCH64" if cpu == "aarch64" else "EM_X86_64"
    output_path = Path(bazel.run("info", "output_path").stdout.strip())
    greets = []
    for path in output_path.glob("*/bin/sysroot_repair/libgreet.so"):
        with path.open("rb") as stream:
            if ELFFile(stream)["e_machine"] == machine:
                greets.append(path)
    assert len(greets) == 1, greets
    output_base = Path(bazel.run("info", "output_base").stdout.strip())
    crypt = output_base / f"external/sysroot_{cpu}/sysroot/lib/{TRIPLES[cpu]}/libcrypt.so.1"
    return {"libgreet": greets[0], "libcrypt": crypt.resolve()}


@pytest.mark.parametrize("cpu", CPUS)
def test_repair_grafts_the_bazel_built_and_the_sysroot_library(
    built, sysroot_bazel, tmp_path, cpu
) -> None:
    wheel = built[f"repaired_{cpu}"]
    assert wheel.name == f"sysroot_repair-1.0-cp311-cp311-manylinux_2_31_{cpu}.whl"
    grafted = _grafted(wheel)
    for stem, original in _originals(sysroot_bazel, cpu).items():
        digest = hashlib.sha256(original.read_bytes()).hexdigest()[:8]
        assert grafted[stem] == f"{stem}-{digest}.so.1", (stem, grafted)
    assert sorted(grafted) == ["libcrypt", "libgreet"]
    extension = shared_library(wheel, tmp_path)
    assert sorted(grafted.values()) == [
        n for n in needed_libraries(extension) if n.startswith(("libcrypt", "libgreet"))
    ]
    with extension.open("rb") as stream:
        dynamic = ELFFile(stream).get_section_by_name(".dynamic")
        runpath = [t.runpath for t in dynamic.iter_tags() if t.entry.d_tag == "DT_RUNPATH"]
    assert runpath == ["$ORIGIN/../sysroot_repair.libs"]
    verify_record(wheel)
    report = audit(wheel)
    glibc = int(report["overall_tag"].partition("manylinux_2_")[2].partition("_")[0])
    assert glibc <= 31, report
    unrepaired = subprocess.run(
        [sys.executable, str(AUDIT), "--json", str(built[f"unrepaired_{cpu}"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unrepaired.returncode == 1, unrepaired.stderr  # its claim fails
    assert sorted(json.loads(unrepaired.stdout)["external_libs"]) == [
        "libcrypt.so.1",
        "libgreet.so.1",
    ]


@pytest.mark.parametrize("cpu", CPUS)
def test_auditwheel_agrees_on_both_wheels(built, cpu) -> None:
    def show(wheel: Path) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "auditwheel", "show", str(wheel)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return " ".join(result.stdout.split())

    repaired = show(built[f"repaired_{cpu}"])
    match = re.search(r'platform tag: "manylinux_2_(\d+)_' + cpu + '"', repaired)
    assert match and int(match.group(1)) <= 31, repaired
    assert "external shared libraries are required" not in repaired, repaired
    unrepaired = show(built[f"unrepaired_{cpu}"])
    assert f'platform tag: "linux_{cpu}"' in unrepaired, unrepaired
    # (auditwheel resolves libcrypt.so.1 on this machine and cannot find
    # libgreet.so.1: what it lists beyond the tag depends on the host.)


def test_compliance_test_passes_repaired_and_fails_unrepaired(built, sysroot_bazel, flags):
    result = sysroot_bazel.run(
        "test",
        *flags,
        "//:repaired_compliance_test",
        "//:unrepaired_compliance_test",
        "--test_output=errors",
        check=False,
        timeout=1800,
    )
    assert result.returncode == 3, result.stderr[-4000:]  # 3: a test failed
    output = result.stdout + result.stderr
    assert re.search(r"//:repaired_compliance_test\s+PASSED", output), output
    assert re.search(r"//:unrepaired_compliance_test\s+FAILED", output), output
    testlogs = Path(sysroot_bazel.run("info", *flags, "bazel-testlogs").stdout.strip())
    failed = (testlogs / "unrepaired_compliance_test" / "test.log").read_text()
    assert "libgreet.so.1" in failed and "libcrypt.so.1" in failed, failed


def test_repaired_wheel_runs_installed_without_the_originals(
    built, sysroot_bazel, fresh_venv, tmp_path
) -> None:
    """pip-installed, LD_LIBRARY_PATH empty, Bazel's libgreet.so moved away."""
    python = fresh_venv / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-index",
            "--quiet",
            str(built["repaired_x86_64"]),
        ],
        check=True,
    )
    output_base = Path(sysroot_bazel.run("info", "output_base").stdout.strip())
    originals = [p for p in output_base.rglob("libgreet.so*") if p.is_file()]
    assert originals
    moved = [(path, path.with_name(path.name + ".moved")) for path in originals]
    script = """
import json, sysroot_repair._repair as ext
maps = open("/proc/self/maps").read()
print(json.dumps({
    "greet": ext.greet(),
    "hash": ext.hash("word", "$6$saltsalt$"),
    "loaded": sorted({line.split()[-1] for line in maps.splitlines()
                      if "libgreet" in line or "libcrypt" in line}),
}))
"""
    try:
        for path, aside in moved:
            path.rename(aside)
        run = subprocess.run(
            [str(python), "-I", "-c", script],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": ""},
        )
    finally:
        for path, aside in moved:
            aside.rename(path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["greet"] == 42
    assert result["hash"].startswith("$6$saltsalt$") and len(result["hash"]) > 30
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    grafted = _grafted(built["repaired_x86_64"])
    assert f"{site}/sysroot_repair.libs/{grafted['libgreet']}" in result["loaded"]
    assert f"{site}/sysroot_repair.libs/{grafted['libcrypt']}" in result["loaded"]
    assert not [p for p in result["loaded"] if "libgreet" in p and not p.startswith(site)]


def test_repair_names_a_library_it_cannot_find(sysroot_bazel, flags) -> None:
    result = sysroot_bazel.run("build", *flags, "//:sysroot_repair_missing_x86_64", check=False)
    assert result.returncode != 0
    assert (
        "repair_wheel: error: //sysroot_repair:repaired_without_libraries: libgreet.so.1, needed "
        "by sysroot_repair/_repair.so, is not allowed by manylinux_2_31_x86_64 and the repair may "
        "take it only from `libraries` (empty) and the C/C++ toolchain's sysroot "
        "(<sysroot>/lib/x86_64-linux-gnu,"
    ) in result.stderr, result.stderr[-3000:]
