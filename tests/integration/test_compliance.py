"""verify_manylinux_compliance_test with real Bazel on tests/fixtures/compliance:
compliant wheels pass, non-compliant ones fail and their test log says why."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "compliance"
EXT = "_native.so"
PASSING = [
    "//compliant:compliant_test",
    "//compliant:compliant_manylinux1_test",
    "//compliant:compliant_2_28_test",
    "//compliant:compliant_file_test",
    "//newglibc:newglibc_2_36_test",
    "//sidelib:sidelib_excluded_test",
]
FAILING = [
    "//bundled:bundled_test",
    "//claims:claims_test",
    "//newglibc:newglibc_test",
    "//sidelib:sidelib_test",
]


@pytest.fixture(scope="module")
def bazel(make_bazel):
    return make_bazel(FIXTURE, "compliance")


@pytest.fixture(scope="module")
def all_tests(bazel):
    """`bazel test //...`: every test that is not manual."""
    return bazel.run("test", "//...", "--symlink_prefix=/")


def _test_log(bazel, label: str) -> str:
    testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
    package, name = label[2:].split(":")
    return (testlogs / package / name / "test.log").read_text()


def test_workspace_is_green_and_runs_every_passing_test(all_tests):
    output = all_tests.stdout + all_tests.stderr
    for label in PASSING:
        assert f"{label} " in output and "PASSED" in output, label
    for label in FAILING:
        assert label not in output, label


def test_only_the_failing_on_purpose_targets_are_manual(bazel):
    manual = bazel.run("query", "attr(tags, manual, tests(//...))").stdout.split()
    assert sorted(manual) == sorted(FAILING)


def test_more_compatible_wheel_passes_and_says_so(bazel, all_tests):
    log = _test_log(bazel, "//compliant:compliant_test")
    assert "PASS: compliance_compliant-1.0-" in log
    assert (
        "meets manylinux2014: its best policy, manylinux_2_5_x86_64, is at least as "
        "compatible as manylinux_2_17_x86_64" in log
    )


def test_newer_glibc_symbol_fails_with_explanation(bazel, all_tests):
    result = bazel.run("test", "//newglibc:newglibc_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 3, result.stderr
    log = _test_log(bazel, "//newglibc:newglibc_test")
    assert "FAIL: compliance_newglibc-1.0-" in log
    assert "does not meet manylinux_2_17_x86_64 (asked as manylinux_2_17)" in log
    assert f"newglibc/{EXT} needs GLIBC_2.36 from libc.so.6 (for arc4random)" in log
    assert "manylinux_2_17_x86_64 allows GLIBC up to 2.17" in log
    assert "its best policy is manylinux_2_36_x86_64" in log


def test_external_library_fails_with_explanation(bazel, all_tests):
    result = bazel.run("test", "//sidelib:sidelib_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 3, result.stderr
    log = _test_log(bazel, "//sidelib:sidelib_test")
    assert "FAIL: compliance_sidelib-1.0-" in log
    assert f"sidelib/{EXT} needs libhelper.so.1, which is not in the wheel" in log
    assert "no manylinux policy allows it" in log
    assert 'exclude = ["libhelper.so*"]' in log


def test_wheel_failing_the_tag_it_claims_fails_with_explanation(bazel, all_tests):
    # The test asks for manylinux_2_17, which the wheel meets; its name claims manylinux_2_5.
    result = bazel.run("test", "//claims:claims_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 3, result.stderr
    log = _test_log(bazel, "//claims:claims_test")
    wheel = "compliance_claims-1.0-cp311-cp311-manylinux_2_5_x86_64.whl"
    assert f"PASS: {wheel} meets manylinux_2_17." in log
    assert (
        f"FAIL: {wheel} does not meet manylinux_2_5_x86_64 (claimed in its file name and "
        "WHEEL); its best policy is manylinux_2_17_x86_64." in log
    )
    assert f"claims/{EXT} needs GLIBC_2.14 from libc.so.6 (for memcpy)" in log
    assert "manylinux_2_5_x86_64 allows GLIBC up to 2.5" in log


def test_runpath_hint_pasted_into_the_build_file_makes_the_test_pass(make_bazel):
    # A copy of its own: this test edits a BUILD file.
    bazel = make_bazel(FIXTURE, "compliance-hint", copy_as="compliance-hint")
    result = bazel.run("test", "//bundled:bundled_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 3, result.stderr
    log = _test_log(bazel, "//bundled:bundled_test")
    assert "the wheel has bundled/libhelper.so.1, but its RPATH/RUNPATH does not lead there" in log
    hints = re.findall(r"linkopts = (\[[^\]]*\])", log)
    assert hints, log
    assert hints[0] == '["-Wl,-rpath,$$ORIGIN"]'
    build = bazel.workspace / "bundled" / "BUILD.bazel"
    text = build.read_text()
    assert text.count("LINKOPTS = []") == 1
    build.write_text(text.replace("LINKOPTS = []", f"LINKOPTS = {hints[0]}"))
    result = bazel.run("test", "//bundled:bundled_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    log = _test_log(bazel, "//bundled:bundled_test")
    assert "PASS: compliance_bundled-1.0-cp311-cp311-manylinux_2_17_x86_64.whl meets" in log


def _search_paths(elf: Path) -> list[str]:
    """The RUNPATH and RPATH entries of an ELF file, as the loader reads them."""
    with elf.open("rb") as f:
        entries = []
        for section in ELFFile(f).iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH"):
                        value = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
                        entries.extend(e for e in value.split(":") if e)
        return entries


def test_bazel_solib_runpath_is_not_shipped_unless_kept(bazel, all_tests, tmp_path):
    """Bazel links the extension with $ORIGIN/.../_solib_k8/... entries; the
    wheel ships it without them, and keep_bazel_runpath ships them as they are
    (which the audit then reports as leading outside the wheel)."""
    bazel.run("build", "//bundled:wheel", "//bundled:wheel_kept", "--symlink_prefix=/")
    bin_dir = bazel.bin_dir()
    built = _search_paths(bin_dir / "bundled" / EXT)
    assert any("/_solib_" in e for e in built), built
    shipped = {}
    for name in ("compliance_bundled", "compliance_bundled_kept"):
        (wheel,) = (bin_dir / "bundled").glob(f"{name}-1.0-*.whl")
        extracted = tmp_path / name
        with zipfile.ZipFile(wheel) as zf:
            extracted.write_bytes(zf.read(f"bundled/{EXT}"))
        shipped[name] = (wheel, _search_paths(extracted))
    assert shipped["compliance_bundled"][1] == [e for e in built if "/_solib_" not in e]
    assert shipped["compliance_bundled_kept"][1] == built
    audit = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools" / "audit_wheel.py"),
            str(shipped["compliance_bundled_kept"][0]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 1, audit.stdout + audit.stderr
    assert "_solib_" in audit.stdout
