"""wheel_test_deps_coverage_test and python_wheel_version_repository with real
Bazel on tests/fixtures/wheel_coverage: Bazel 4.2.3 in WORKSPACE mode, and
Bazel 7.7.1 with bzlmod (the `ml_wheels.version_file` tag) through
scripts/forky.sh, one server each.

The passing checks pass and say how many files they held; the check of the
wheel that forgets ``covpkg/extra.py`` fails naming it, its source and the
test that pulled it in (and the built wheel, read with zipfile, indeed lacks
it). The wheel's version comes from ``src/covpkg/version.py``: editing the
file refetches the repository and renames the wheel; a bad version, a value
that is no string literal and a second assignment fail naming the file and
line.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "wheel_coverage"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
VERSION_PY = Path("src") / "covpkg" / "version.py"
ORIGINAL_VERSION = FIXTURE / VERSION_PY
# The package's modules the wheel must hold, and the test helpers it ignores:
# listed from the fixture's sources, not from the code under test.
SHIPPED = sorted(
    f"covpkg/{p.relative_to(FIXTURE / 'src' / 'covpkg').as_posix()}"
    for p in (FIXTURE / "src" / "covpkg").rglob("*.py")
    if "testing" not in p.parts
)
IGNORED = sorted(
    f"covpkg/testing/{p.name}" for p in (FIXTURE / "src" / "covpkg" / "testing").glob("*.py")
)
# (version.py text, the line number and words the error must name).
BAD_VERSIONS = [
    ('"""Doc."""\n\n__version__ = "1.5-final!"\n', 3, "is not a PEP 440 version"),
    ("import os\n__version__ = os.environ['V']\n", 2, "one plain string literal"),
    (
        '__version__ = "1.5"\n__version__ = "1.6"\n',
        2,
        "is assigned a second time (first on line 1)",
    ),
]
FORGOTTEN = "  covpkg/extra.py (source src/covpkg/extra.py), pulled in by //tests:covpkg_test"


@pytest.fixture(scope="module")
def bazel(make_bazel) -> Iterator[Bazel]:
    server = make_bazel(FIXTURE, "wheel_coverage")
    yield server
    server.release()


@pytest.fixture(scope="module")
def all_tests(bazel):
    return bazel.run("test", "//...", "--symlink_prefix=/", "--test_output=all")


def _wheel_name(output: str) -> str:
    """The one .whl file Bazel reports as built (bazel-bin keeps stale ones)."""
    wheels = re.findall(r"(\S+\.whl)\s*$", output, flags=re.MULTILINE)
    assert len(wheels) == 1, output[-4000:]
    return wheels[0].rsplit("/", 1)[-1]


def _pass_line(label: str, wheel: str) -> str:
    return (
        f"PASS: {label}: {wheel} holds the {len(SHIPPED)} Python files the tests depend on "
        f"inside its packages (covpkg); {len(IGNORED)} more ignored:"
    )


def test_passing_checks_pass_and_count_the_files(all_tests):
    output = all_tests.stdout + all_tests.stderr
    assert "Executed 3 out of 3 tests: 3 tests pass." in output
    wheel = "covpkg-1.4.0-py3-none-any.whl"
    for label in ("//:coverage_test", "//:whl_coverage_test"):
        assert _pass_line(label, wheel) in output, output[-6000:]
    for path in IGNORED:
        assert f"  ignored: {path}" in output


def test_forgotten_file_fails_naming_it_and_the_test(bazel, all_tests):
    result = bazel.run(
        "test", "//:forgetful_coverage_test", "--symlink_prefix=/", "--test_output=all", check=False
    )
    assert result.returncode == 3, result.stderr[-4000:]
    output = result.stdout + result.stderr
    assert (
        "FAIL: //:forgetful_coverage_test: 1 Python file that the tests depend on is not in "
        "covpkg_forgetful-1.4.0-py3-none-any.whl (checked packages: covpkg):"
    ) in output
    assert FORGOTTEN in output
    assert "Fix: add each to the wheel's srcs" in output
    assert "ignore of //:forgetful_coverage_test" in output
    (wheel,) = bazel.bin_dir().glob("covpkg_forgetful-1.4.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "covpkg/extra.py" not in names and "covpkg/core.py" in names


@pytest.fixture
def version_py(bazel, all_tests) -> Iterator[Path]:
    """The copied workspace's version.py, restored after the test."""
    path = bazel.workspace / VERSION_PY
    yield path
    path.write_text(ORIGINAL_VERSION.read_text())


def test_version_comes_from_the_file_and_edits_refetch(bazel, version_py):
    built = bazel.run("build", "//:wheel", "--symlink_prefix=/")
    assert _wheel_name(built.stderr) == "covpkg-1.4.0-py3-none-any.whl"
    again = bazel.run("build", "//:wheel", "--symlink_prefix=/")
    assert "(0 packages loaded, 0 targets configured)" in again.stderr, again.stderr
    version_py.write_text("_unrelated = 1\n__version__: str = '1.5.0rc1'  # next release\n")
    built = bazel.run("build", "//:wheel", "--symlink_prefix=/")
    assert _wheel_name(built.stderr) == "covpkg-1.5.0rc1-py3-none-any.whl"


@pytest.mark.parametrize(
    ("text", "line", "words"), BAD_VERSIONS, ids=["pep440", "literal", "twice"]
)
def test_bad_version_file_fails_naming_file_and_line(bazel, version_py, text, line, words):
    version_py.write_text(text)
    result = bazel.run("build", "//:wheel", check=False)
    assert result.returncode != 0
    errors = [x for x in result.stderr.splitlines() if "python_wheel_version_repository" in x]
    assert errors, result.stderr[-4000:]
    assert f"//src/covpkg:version.py line {line}" in errors[-1]
    assert words in errors[-1]


def _bazel7_script(workspace: Path, output_root: Path) -> str:
    bazel = f"bazel --output_user_root={shlex.quote(str(output_root))}"
    run = "--nosandbox_debug --enable_bzlmod --symlink_prefix=/ --test_output=all"
    lines = ["set -u", f"cd {shlex.quote(str(workspace))}", "status=0"]

    def step(name: str, command: str, expect: str = "success") -> None:
        check = {
            "success": f"|| {{ echo 'FAILED: {name}'; tail -n 60 {name}.log; status=1; }}",
            "failure": f"&& {{ echo 'unexpected success: {name}'; status=1; }} || true",
        }[expect]
        lines.append(f"{bazel} {command} >{name}.log 2>&1 {check}")

    step("test", f"test {run} //...")
    step("forgetful", f"test {run} //:forgetful_coverage_test", expect="failure")
    lines.append(f"printf '__version__ = \"1.5.0rc1\"\\n' >{VERSION_PY}")
    step("edited", f"build {run} //:wheel")
    lines.append(f"printf '__version__ = \"1.5-final!\"\\n' >{VERSION_PY}")
    step("bad", f"build {run} //:wheel", expect="failure")
    lines += [f"{bazel} shutdown", "exit $status"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bazel7(tmp_path_factory) -> Iterator[Path]:
    """The fixture as a bzlmod module under Bazel 7.7.1: every run in one namespace."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("wheel_coverage_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    (workdir / "run.sh").write_text(_bazel7_script(workspace, workdir / "ur"))
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    yield workspace
    remove_tree(workdir)


def test_bazel7_bzlmod_checks_and_version_file(bazel7):
    test_log = (bazel7 / "test.log").read_text()
    assert "Executed 3 out of 3 tests: 3 tests pass." in test_log
    assert _pass_line("//:coverage_test", "covpkg-1.4.0-py3-none-any.whl") in test_log, test_log
    forgetful = (bazel7 / "forgetful.log").read_text()
    assert FORGOTTEN in forgetful, forgetful[-4000:]
    assert _wheel_name((bazel7 / "edited.log").read_text()) == "covpkg-1.5.0rc1-py3-none-any.whl"
    bad = [
        line
        for line in (bazel7 / "bad.log").read_text().splitlines()
        if "python_wheel_version_repository" in line
    ]
    assert bad and "//src/covpkg:version.py line 1" in bad[-1], bad
    assert '"1.5-final!" is not a PEP 440 version' in bad[-1]
