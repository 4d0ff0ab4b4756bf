"""Builds and tests every example workspace with real Bazel, then checks its wheels
with independent tools, installs them with pip, and rebuilds them elsewhere to
prove byte-for-byte reproducibility."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES
from .conftest import EXAMPLE_WHEELS, host_path
from .wheel_checks import check_wheel, read_metadata, sha256_of

pytestmark = pytest.mark.integration


def _pip_install(venv: Path, *args: str) -> None:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "-q", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _run(venv: Path, *args: str) -> str:
    result = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_wheels_pass_standard_checks(built_examples, example):
    for wheel in built_examples[example].wheels:
        check_wheel(wheel)


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_shipped_elf_files_have_no_bazel_runpath(built_examples, example):
    # Bazel's $ORIGIN/../_solib_<cpu>/... entries point into its output tree.
    import io

    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    for wheel in built_examples[example].wheels:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                data = zf.read(name)
                if data[:4] != b"\x7fELF":
                    continue
                for section in ELFFile(io.BytesIO(data)).iter_sections():
                    if not isinstance(section, DynamicSection):
                        continue
                    for tag in section.iter_tags():
                        value = getattr(tag, "runpath", None) or getattr(tag, "rpath", None)
                        assert "_solib_" not in (value or ""), (wheel.name, name, value)


def test_pure_python_wheel_installs_and_runs_entry_point(built_examples, fresh_venv):
    (wheel,) = built_examples["pure_python"].wheels
    assert wheel.name == "greet_example-1.0.0.dev0+selfbuilt-py3-none-any.whl"
    _pip_install(fresh_venv, str(wheel))
    assert _run(fresh_venv, "greet", "--name", "Ada") == "Hello, Ada!\n"
    metadata = read_metadata(wheel)
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "Hello, Ada!" in metadata.get_payload()


def test_c_extension_wheels_install_and_import(built_examples, fresh_venv):
    wheels = built_examples["c_extension"].wheels
    assert len(wheels) == 2, wheels
    direct, pep517 = sorted(wheels, key=lambda w: "pep517" in str(w))
    assert direct.name == pep517.name
    assert direct.name.endswith("-manylinux_2_17_x86_64.whl")
    python_tag = direct.name.split("-")[2]
    version = _run(fresh_venv, "python", "-c", "import sys; print('cp%d%d' % sys.version_info[:2])")
    assert python_tag == version.strip()
    for wheel in (direct, pep517):
        _pip_install(fresh_venv, "--force-reinstall", str(wheel))
        out = _run(
            fresh_venv,
            "python",
            "-c",
            "import fastmath; print(fastmath.dot([1, 2], [3, 4]), fastmath.constants()['sqrt2'])",
        )
        assert out.split() == ["11.0", "1.4142135623730951"]


def test_multi_wheel_plugin_pins_core(built_examples, fresh_venv):
    core, plugin = built_examples["multi_wheel"].wheels
    version = read_metadata(core)["Version"]
    assert version == "1.4.0.dev0+selfbuilt"
    assert f"mw-core=={version}" in read_metadata(plugin).get_all("Requires-Dist")
    # pip resolves the pin from the directory holding both wheels.
    _pip_install(
        fresh_venv,
        "--find-links",
        str(core.parent),
        "--find-links",
        str(plugin.parent),
        "mw-plugin",
    )
    out = _run(
        fresh_venv, "python", "-c", "import mw_core, mw_plugin; print(mw_core.apply('shout', 'hi'))"
    )
    assert out == "HI!\n"


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_clean_build_elsewhere_is_byte_identical(built_examples, make_bazel, example):
    """Another checkout path, output base, umask, time zone and locale: same bytes."""
    first = built_examples[example]
    other = make_bazel(
        EXAMPLES / example,
        f"{example}-repro",
        copy_as=f"elsewhere-{example}",
        umask=0o077,
        TZ="Asia/Kolkata",
        LANG="de_DE.UTF-8",
        LC_ALL="de_DE.UTF-8",
    )
    other.run("build", "//...", "--symlink_prefix=/")
    bin_dir = other.bin_dir()
    rebuilt = sorted(
        p for package in EXAMPLE_WHEELS[example] for p in (bin_dir / package).glob("*.whl")
    )
    assert [w.name for w in rebuilt] == [w.name for w in first.wheels]
    for original, again in zip(first.wheels, rebuilt):
        assert original.resolve() != again.resolve()
        assert sha256_of(original) == sha256_of(again), f"{original.name} differs between builds"
    other.shutdown()


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_sharded_compression_gives_the_same_bytes(built_examples, example):
    """Compression split over cached actions, then assembled: same wheel bytes."""
    built = built_examples[example]
    expected = {w.name: sha256_of(w) for w in built.wheels}
    flag = "--@rules_ml_wheels//python_wheel:compression_shards=5"
    result = built.bazel.run("build", "//...", "--symlink_prefix=/", flag)
    bin_dir = built.bazel.bin_dir(flag)
    sharded = sorted(
        p for package in EXAMPLE_WHEELS[example] for p in (bin_dir / package).glob("*.whl")
    )
    assert {w.name: sha256_of(w) for w in sharded} == expected
    # The direct-mode wheels really went through compression shards.
    if any(w.parent.name != "pep517" for w in sharded):
        assert list(bin_dir.glob("*/wheel.shards/*.bundle")), result.stderr


def _host_site_packages() -> str:
    """site-packages of the machine's python3 (the interpreter the toolchain wraps)."""
    python3 = shutil.which("python3", path=host_path())
    assert python3
    out = subprocess.run(
        [python3, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_builds_and_tests_in_a_locked_down_sandbox(built_examples, make_bazel, example):
    """Every action sandboxed, no network, the host's site-packages hidden, a
    fixed action environment (--incompatible_strict_action_env, set by
    scripts/bazel): the example still builds, its tests pass, and the wheels
    are the same bytes."""
    hardened = make_bazel(
        EXAMPLES / example, f"{example}-sandboxed", copy_as=f"sandboxed-{example}"
    )
    # Bazel refuses to block a path that does not exist (a fresh machine may
    # have no pip cache yet); a missing path cannot be read anyway.
    blocked = [
        p for p in (Path(_host_site_packages()), Path.home() / ".cache" / "pip") if p.exists()
    ]
    flags = [
        "--spawn_strategy=sandboxed",
        "--sandbox_default_allow_network=false",
        *(f"--sandbox_block_path={path}" for path in blocked),
        "--symlink_prefix=/",
    ]
    hardened.run("test", "//...", *flags)
    bin_dir = hardened.bin_dir()
    wheels = sorted(
        p for package in EXAMPLE_WHEELS[example] for p in (bin_dir / package).glob("*.whl")
    )
    assert [sha256_of(w) for w in wheels] == [sha256_of(w) for w in built_examples[example].wheels]
    hardened.shutdown()


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_example_tests_pass_against_the_built_wheel(built_examples, example):
    """The same test targets, switched to the py_import of the built wheels.

    Each test checks (via the imported module's file) which variant it got,
    so a run that silently used the sources fails.
    """
    bazel = built_examples[example].bazel
    flag = "--@rules_ml_wheels//python_wheel:wheel_dependency=true"
    # check=True: Bazel's exit status fails the test when any test target fails.
    bazel.run("test", "//...", "--symlink_prefix=/", flag)


def test_py_import_of_a_python_wheel_presents_its_files_without_unpacking(built_examples):
    """py_import of a python_wheel built in the workspace: no unpack action, and
    the test's runfiles hold exactly the wheel's members, byte for byte."""
    built = built_examples["c_extension"]
    flag = "--@rules_ml_wheels//python_wheel:wheel_dependency=true"
    query = built.bazel.run(
        "aquery", flag, "mnemonic('PyImportUnpack', deps(//tests:fastmath_test))"
    )
    assert "PyImportUnpack" not in query.stdout, query.stdout
    built.bazel.run("build", "--symlink_prefix=/", flag, "//tests:fastmath_test")
    runfiles = built.bazel.bin_dir(flag) / "tests" / "fastmath_test.runfiles"
    (root,) = [p for p in runfiles.glob("*/fastmath/fastmath_import") if p.is_dir()]
    seen = {}
    for directory, _, names in os.walk(root, followlinks=True):  # the .dist-info is a linked dir
        for name in names:
            path = Path(directory, name)
            seen[path.relative_to(root).as_posix()] = path.read_bytes()
    (wheel,) = [w for w in built.wheels if w.parent.name == "fastmath"]
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    # The examples set --incompatible_default_to_explicit_init_py, so Bazel
    # adds no __init__.py of its own: the runfiles are exactly the wheel.
    assert seen.keys() == members.keys()
    assert seen == members
