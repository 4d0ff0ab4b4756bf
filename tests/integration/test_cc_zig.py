"""The zig C/C++ toolchains with real Bazel 4.2.3 on tests/fixtures/cc_zig.

The set-up caches PyPI's pinned `ziglang` wheel (scripts/zig.sh) and hands it
to Bazel with --distdir: the fixture's WORKSPACE keeps the real PyPI URL and
sha256, as a user's would. The fixture builds a C extension (stat, fcntl,
getrandom) and a C++ extension (exceptions, std:: types) for x86_64 glibc
2.17, the C++ extension (Debian's arm64 CPython headers, served from the
local mirror of scripts/sysroot.sh) and a C++ library for aarch64 glibc 2.17
(each through platform_wheel, a configuration per platform), and the same
packages with the host toolchain (the default, no platform asked). Every tag
asserted here is what tools/audit_wheel.py measures on the built files. The
last tests repeat the platform wheels with Bazel 7.7.1 and bzlmod.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace
from .elf_checks import audit, comment_section, shared_library
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "cc_zig"
ZIG_SH = REPO_ROOT / "scripts" / "zig.sh"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
SYSROOT_SH = REPO_ROOT / "scripts" / "sysroot.sh"
PLATFORM_WHEELS = [
    "//:zig_cext_x86_64",
    "//:zig_cxxext_x86_64",
    "//:zig_cxxext_aarch64",
    "//:zig_cxxlib_aarch64",
]
# (package, how it was built): zig for x86_64 or aarch64 at glibc 2.17, or the host toolchain.
SWITCH_ZIG = "--repo_env=ML_WHEELS_CC_TOOLCHAIN=zig"
ZIG_WHEELS = [
    ("zig_cext", "x86_64"),
    ("zig_cxxext", "x86_64"),
    ("zig_cxxext", "aarch64"),
    ("zig_cxxlib", "aarch64"),
]


@pytest.fixture(scope="module")
def distdir() -> Path:
    """The directory scripts/zig.sh caches the pinned ziglang wheel in."""
    result = subprocess.run([str(ZIG_SH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def _kind(wheel: Path) -> str:
    """`x86_64` or `aarch64` for a wheel tagged manylinux_2_17_<cpu>, else `host`."""
    for cpu in ("x86_64", "aarch64"):
        if wheel.name.endswith(f"-manylinux_2_17_{cpu}.whl"):
            return cpu
    return "host"


def _wheels(output_path: Path, configurations: str = "*") -> dict[tuple[str, str], Path]:
    """(package, kind) -> wheel, from the bin/ of every configuration matching a glob."""
    wheels = {}
    for wheel in sorted(output_path.glob(f"{configurations}/bin/zig_*/*.whl")):
        key = (wheel.parent.name, _kind(wheel))
        assert key not in wheels, f"two wheels of {key}: {wheel}"
        wheels[key] = wheel
    return wheels


def _output_path(bazel: Bazel) -> Path:
    return Path(bazel.run("info", "output_path").stdout.strip())


@pytest.fixture(scope="module")
def deb_mirror() -> str:
    """`--repo_env` serving the pinned Debian packages (aarch64 CPython headers) locally."""
    result = subprocess.run([str(SYSROOT_SH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return f"--repo_env=ML_WHEELS_DEB_MIRROR={Path(result.stdout.strip()).as_uri()}"


@pytest.fixture(scope="module")
def built(make_bazel, distdir, deb_mirror) -> Iterator[tuple[Bazel, dict[tuple[str, str], Path]]]:
    """`bazel test //...` of the fixture: its compliance tests and every wheel."""
    bazel = make_bazel(FIXTURE, "cc_zig-a")
    bazel.run("test", "//...", f"--distdir={distdir}", deb_mirror, "--symlink_prefix=/")
    yield bazel, _wheels(_output_path(bazel))
    bazel.release()


def _glibc_minor(tag: str, cpu: str) -> int:
    """`manylinux_2_17_x86_64` -> 17, checking the architecture."""
    prefix, _, arch = tag.partition("_2_")[2].partition("_")
    assert arch == cpu, f"{tag} is not for {cpu}"
    return int(prefix)


def _assert_meets_2_17(wheel: Path, cpu: str) -> str:
    """The audited tag, which must be manylinux_2_17_<cpu> or more compatible."""
    report = audit(wheel)
    assert _glibc_minor(report["overall_tag"], cpu) <= 17, (wheel.name, report["reasons"])
    return report["overall_tag"]


def test_zig_wheels_audit_at_manylinux_2_17(built):
    _, wheels = built
    assert sorted(k for k in wheels if k[1] != "host") == sorted(ZIG_WHEELS)
    measured = {key: _assert_meets_2_17(wheels[key], key[1]) for key in ZIG_WHEELS}
    # The C++ extension's statically linked libc++ needs GLIBC_2.17
    # (clock_gettime moved into libc); the plain C one needs nothing newer than 2.5.
    assert measured == {
        ("zig_cext", "x86_64"): "manylinux_2_5_x86_64",
        ("zig_cxxext", "x86_64"): "manylinux_2_17_x86_64",
        ("zig_cxxext", "aarch64"): "manylinux_2_17_aarch64",
        ("zig_cxxlib", "aarch64"): "manylinux_2_17_aarch64",
    }


def test_host_toolchain_stays_the_default(built, tmp_path):
    """Without a platform the extensions build with the host gcc and its glibc."""
    _, wheels = built
    for package in ["zig_cext", "zig_cxxext"]:
        host_wheel = wheels[package, "host"]
        assert host_wheel.name.endswith("-linux_x86_64.whl"), host_wheel.name
        overall = audit(host_wheel)["overall_tag"]
        glibc_minor = int(overall.split("_")[2])
        assert glibc_minor > 17, f"{host_wheel.name} audited {overall}: the host's glibc is newer"
        assert "GCC:" in comment_section(shared_library(host_wheel, tmp_path / "host" / package))
        zig_so = shared_library(wheels[package, "x86_64"], tmp_path / "zig" / package)
        assert "clang version" in comment_section(zig_so) and "GCC:" not in comment_section(zig_so)


def test_each_platform_has_its_own_output_directory(built):
    _, wheels = built
    by_kind: dict[str, set[str]] = {}
    for (_, kind), wheel in wheels.items():
        by_kind.setdefault(kind, set()).add(wheel.parents[2].name)
    assert by_kind["host"] == {"k8-fastbuild"}, by_kind
    assert all(len(dirs) == 1 for dirs in by_kind.values()), by_kind
    assert len(set.union(*by_kind.values())) == 3, by_kind


def test_aarch64_wheels_hold_aarch64_elf(built, tmp_path):
    _, wheels = built
    for package in ["zig_cxxext", "zig_cxxlib"]:
        library = shared_library(wheels[package, "aarch64"], tmp_path / package)
        with library.open("rb") as stream:
            assert ELFFile(stream)["e_machine"] == "EM_AARCH64", package


def test_extensions_export_only_their_module_init(built, tmp_path):
    """The `pyinit_exports_only` feature: -fvisibility=hidden and a version script."""
    _, wheels = built
    for package, cpu in [
        ("zig_cext", "x86_64"),
        ("zig_cxxext", "x86_64"),
        ("zig_cxxext", "aarch64"),
    ]:
        library = shared_library(wheels[package, cpu], tmp_path / package / cpu)
        with library.open("rb") as stream:
            dynsym = ELFFile(stream).get_section_by_name(".dynsym")
            defined = sorted(
                s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"
            )
        assert defined == [f"PyInit__{package[4:]}"], defined


def test_x86_64_wheels_install_and_run_in_a_fresh_venv(built, fresh_venv, tmp_path):
    _, wheels = built
    python = fresh_venv / "bin" / "python"
    wheel_files = [str(wheels["zig_cext", "x86_64"]), str(wheels["zig_cxxext", "x86_64"])]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", *wheel_files],
        check=True,
    )
    probe = tmp_path / "probe.txt"
    probe.write_bytes(b"x" * 1234)
    script = f"""
import json, zig_cext, zig_cxxext
result = {{
    "size": zig_cext.file_size({str(probe)!r}),
    "random": zig_cext.random_count(32),
    "counts": zig_cxxext.count_words("b a b c b"),
    "caught": zig_cxxext.round_trip("thrown in words.cc"),
}}
try:
    zig_cxxext.count_words("   ")
except ValueError as error:
    result["error"] = str(error)
print(json.dumps(result))
"""
    run = subprocess.run(
        [str(python), "-I", "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "size": 1234,
        "random": 32,
        "counts": {"a": 1, "b": 3, "c": 1},
        "caught": "thrown in words.cc",
        "error": 'no words in "   "',
    }


def test_wheels_are_byte_identical_across_output_bases(built, make_bazel, distdir, deb_mirror):
    _, first = built
    other = make_bazel(FIXTURE, "cc_zig-b")
    try:
        other.run(
            "build", *PLATFORM_WHEELS, f"--distdir={distdir}", deb_mirror, "--symlink_prefix=/"
        )
        second = _wheels(_output_path(other))
        for key in ZIG_WHEELS:
            assert first[key].name == second[key].name
            assert first[key].read_bytes() == second[key].read_bytes(), first[key].name
    finally:
        other.release()


def test_switch_makes_zig_the_default_platforms_toolchain(built, distdir, deb_mirror, tmp_path):
    """`--repo_env=ML_WHEELS_CC_TOOLCHAIN=zig`: zig for the default platform, tagged so."""
    bazel, wheels = built
    host = wheels["zig_cext", "host"]
    assert host.name.endswith("-linux_x86_64.whl"), host.name  # the autodetected gcc claims nothing
    flags = [f"--distdir={distdir}", deb_mirror, "--symlink_prefix=/"]
    bazel.run("build", *flags, SWITCH_ZIG, "//zig_cext:wheel")
    (switched,) = (bazel.bin_dir(*flags, SWITCH_ZIG) / "zig_cext").glob(
        "*manylinux_2_17_x86_64.whl"
    )
    assert _assert_meets_2_17(switched, "x86_64")
    assert "clang version" in comment_section(shared_library(switched, tmp_path))  # zig's, not gcc
    # `zig_glibc_2_17` names the same toolchain; the default-platform build is
    # the same bytes as the platform_wheel one (the same zig, flags and sources).
    bazel.run(
        "build", *flags, "--repo_env=ML_WHEELS_CC_TOOLCHAIN=zig_glibc_2_17", "//zig_cext:wheel"
    )
    assert switched.read_bytes() == wheels["zig_cext", "x86_64"].read_bytes()
    # Back to the host toolchain: the default again.
    bazel.run("build", *flags, "--repo_env=ML_WHEELS_CC_TOOLCHAIN=host", "//zig_cext:wheel")
    assert (bazel.bin_dir(*flags) / "zig_cext" / host.name).exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "zig_glibc_2_28",
            'zig_cc_toolchains(name = "zig_cc"): --repo_env=ML_WHEELS_CC_TOOLCHAIN=zig_glibc_2_28 '
            "asks for glibc 2.28, but this declaration has toolchains for glibc 2.17; use "
            "zig_glibc_2_17, or add 2.28 to its glibc versions",
        ),
        (
            "clang",
            'zig_cc_toolchains(name = "zig_cc"): --repo_env=ML_WHEELS_CC_TOOLCHAIN=clang is not a '
            "toolchain; use one of host, zig, zig_glibc_<V>, sysroot, sysroot_glibc_<V>",
        ),
    ],
)
def test_switch_errors_name_the_variable_and_the_choices(built, distdir, deb_mirror, value, error):
    bazel, _ = built
    result = bazel.run(
        "build",
        f"--distdir={distdir}",
        deb_mirror,
        f"--repo_env=ML_WHEELS_CC_TOOLCHAIN={value}",
        "//zig_cext:wheel",
        check=False,
    )
    assert result.returncode != 0
    assert error in result.stderr


def test_unknown_glibc_version_is_a_one_line_error(make_bazel):
    bazel = make_bazel(FIXTURE, "cc_zig-bad-glibc", copy_as="cc_zig_bad_glibc")
    workspace = bazel.workspace / "WORKSPACE"
    text = workspace.read_text()
    workspace.write_text(
        text.replace(
            'zig_cc_toolchains(name = "zig_cc")',
            'zig_cc_toolchains(name = "zig_cc", glibc_versions = ["2.30"])',
        )
    )
    result = bazel.run("build", "//zig_cext:wheel", check=False)
    assert result.returncode != 0
    assert (
        'zig_cc_toolchains(name = "zig_cc"): glibc_versions has "2.30", which has no platform '
        "constraint; use one of 2.17, 2.27, 2.28, 2.31, 2.34, 2.35, 2.36, 2.39"
    ) in result.stderr
    # The switch needs a toolchain for the host's CPU (x86_64 here).
    workspace.write_text(
        text.replace(
            'zig_cc_toolchains(name = "zig_cc")',
            'zig_cc_toolchains(name = "zig_cc", target_cpus = ["aarch64"])',
        )
    )
    result = bazel.run("build", SWITCH_ZIG, "//zig_cext:wheel", check=False)
    assert result.returncode != 0
    assert (
        'zig_cc_toolchains(name = "zig_cc"): --repo_env=ML_WHEELS_CC_TOOLCHAIN=zig needs a '
        "toolchain for the host CPU x86_64, but this declaration targets aarch64 only; add it "
        "to target_cpus"
    ) in result.stderr


@pytest.fixture(scope="module")
def bazel7_wheels(distdir, deb_mirror, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """The x86_64 zig wheels built by Bazel 7.7.1 (forky root) with bzlmod."""
    pyenv = _pyenv_installations()
    if "3.11" not in pyenv:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", pyenv["3.11"], _cache_dir())
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("cc_zig_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = " ".join(
        [
            "--nosandbox_debug --enable_bzlmod --symlink_prefix=/",
            f"--distdir={distdir}",
            deb_mirror,
            *archive.repo_env(),
        ]
    )
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} build {flags} {' '.join(PLATFORM_WHEELS)} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info --enable_bzlmod output_path >output_path.txt 2>/dev/null",
            # The one-flag switch: zig for the default platform, no --platforms.
            f"{bazel} build {flags} {SWITCH_ZIG} //zig_cext:wheel >switch.log 2>&1"
            f" || {{ tail -n 80 switch.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info {flags} {SWITCH_ZIG} bazel-bin >switch_bin.txt 2>/dev/null",
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
    # Only the platform_wheel transitions' configurations: the switched build
    # of //zig_cext:wheel is in the default one.
    wheels = _wheels(output_path, "*-ST-*")
    switch_bin = Path((workspace / "switch_bin.txt").read_text().strip())
    (wheels["switched", "x86_64"],) = (switch_bin / "zig_cext").glob("*.whl")
    yield wheels
    remove_tree(workdir)


def test_bazel7_bzlmod_zig_wheels_audit_and_run(bazel7_wheels, fresh_venv):
    assert sorted(bazel7_wheels) == sorted([*ZIG_WHEELS, ("switched", "x86_64")])
    for (_, cpu), wheel in bazel7_wheels.items():
        assert wheel.name.endswith(f"-manylinux_2_17_{cpu}.whl"), wheel.name
        _assert_meets_2_17(wheel, cpu)
    python = fresh_venv / "bin" / "python"
    x86_64 = [bazel7_wheels["zig_cext", "x86_64"], bazel7_wheels["zig_cxxext", "x86_64"]]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", *x86_64],
        check=True,
    )
    script = "import zig_cxxext; print(zig_cxxext.round_trip('bazel 7'))"
    run = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "bazel 7\n", run.stderr
