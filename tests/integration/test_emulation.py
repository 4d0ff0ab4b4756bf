"""aarch64 wheels tested under qemu-user, from the same py_import trees as native tests.

The fixture workspace (tests/fixtures/emulation) declares the emulator and
the arm64 Python root with `emulation_repositories()`, the pinned defaults
users get; the test set-up (scripts/emulation.sh) downloads those very .debs
into a local mirror, and `--repo_env=ML_WHEELS_DEB_MIRROR=file://...` points
the same rules at it. It also cross-compiles the C extension of the aarch64
wheel (the production rules use no compiler of the set-up).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "emulation"
SETUP = REPO_ROOT / "scripts" / "emulation.sh"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
EXTENSION = "_probe.cpython-311-aarch64-linux-gnu.so"
PASSING = ("//:pure_native", "//:pure_emulated", "//:ext_emulated")


def _setup(command: str) -> str:
    """Runs scripts/emulation.sh COMMAND; returns the last line it prints."""
    result = subprocess.run(
        [str(SETUP), command], capture_output=True, text=True, timeout=1200, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _prepare(workspace: Path) -> None:
    """Adds the cross-compiled extension and the mirror flag to a copy of the fixture."""
    extension = Path(_setup("subject"))
    mirror = _setup("mirror")
    assert mirror.startswith("file://")
    shutil.copy(extension, workspace / "emuprobe" / EXTENSION)
    with (workspace / ".bazelrc").open("a") as bazelrc:
        bazelrc.write(f"common --repo_env=ML_WHEELS_DEB_MIRROR={mirror}\n")


@pytest.fixture(scope="module")
def bazel(make_bazel) -> Iterator[Bazel]:
    """The fixture workspace on Bazel 4.2.3 (WORKSPACE mode)."""
    server = make_bazel(FIXTURE, "emulation")
    _prepare(server.workspace)
    yield server
    server.release()


@pytest.fixture(scope="module")
def passed(bazel: Bazel) -> dict[str, str]:
    """Runs the tests expected to pass; their logs by target."""
    bazel.run("test", *PASSING)
    testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
    return {t: (testlogs / t[3:] / "test.log").read_text() for t in PASSING}


def _probe(log: str, key: str) -> str:
    """The value the test printed as `EMULATION_PROBE key=value`."""
    values = [
        line.split(f"EMULATION_PROBE {key}=", 1)[1].split(" ")[0]
        for line in log.splitlines()
        if f"EMULATION_PROBE {key}=" in line
    ]
    assert len(values) == 1, log
    return values[0]


def test_native_test_runs_on_the_host(passed: dict[str, str]) -> None:
    log = passed["//:pure_native"]
    assert _probe(log, "machine") == "x86_64"
    assert "/pure_native.runfiles/emulation_fixture/pure_import/emuprobe_pure/" in _probe(
        log, "pure"
    )


def test_same_py_import_runs_under_emulation(passed: dict[str, str]) -> None:
    log = passed["//:pure_emulated"]
    assert _probe(log, "machine") == "aarch64"
    assert "/pure_emulated.runfiles/emulation_fixture/pure_import/emuprobe_pure/" in _probe(
        log, "pure"
    )


def test_aarch64_extension_from_the_unpacked_wheel(passed: dict[str, str]) -> None:
    log = passed["//:ext_emulated"]
    assert _probe(log, "machine") == "aarch64"
    assert _probe(log, "uname") == "aarch64"
    extension = _probe(log, "extension")
    assert extension.endswith(
        f"/ext_emulated.runfiles/emulation_fixture/ext_import/emuprobe/{EXTENSION}"
    )


def test_broken_assertion_fails_the_emulated_test(bazel: Bazel, passed: dict[str, str]) -> None:
    result = bazel.run("test", "//:broken_emulated", check=False)
    assert result.returncode == 3, result.stderr[-3000:]
    testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
    log = (testlogs / "broken_emulated" / "test.log").read_text()
    assert "AssertionError: 'aarch64' != 'x86_64'" in log


def test_emulated_tests_are_tagged(bazel: Bazel) -> None:
    tagged = bazel.run("query", "attr(tags, '\\bemulated\\b', tests(//:all))").stdout.split()
    assert sorted(tagged) == ["//:broken_emulated", "//:ext_emulated", "//:pure_emulated"]
    kept = bazel.run("query", "tests(//:all) except attr(tags, '\\bemulated\\b', //:all)")
    assert kept.stdout.split() == ["//:pure_native"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "//bad:main_not_in_srcs",
            "//bad:main_not_in_srcs: main bad/b_test.py is not in srcs; add it to srcs",
        ),
        (
            "//bad:which_main",
            "//bad:which_main: cannot tell which of srcs is the test's main file; set main "
            "(or name one of srcs which_main.py)",
        ),
    ],
)
def test_main_errors(bazel: Bazel, target: str, message: str) -> None:
    result = bazel.run("build", target, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_root_missing_a_package_fails_naming_it(bazel: Bazel) -> None:
    result = bazel.run("build", "@arm64_python_without_libffi//:runtime", check=False)
    assert result.returncode != 0
    assert (
        'debian_python_root_repository(name = "arm64_python_without_libffi"): the emulated '
        "usr/bin/python3.11 cannot run `import ctypes, json, unittest, hashlib, zlib, lzma, "
        "bz2, platform, sys` (exit 1): ImportError: libffi.so.8: cannot open shared object "
        "file: No such file or directory; add the Debian package that provides it to packages"
    ) in result.stderr


def test_bzlmod_lane(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Bazel 7.7.1 with bzlmod (scripts/forky.sh): the tags of emulation/extension.bzl."""
    subprocess.run([str(FORKY), "create"], check=True, timeout=1200)
    workdir = tmp_path_factory.mktemp("emulation-bzlmod")
    workspace = copy_workspace(FIXTURE, workdir / "workspace", bzlmod=True)
    _prepare(workspace)
    bazel = f"bazel --output_user_root={shlex.quote(str(workdir / 'root'))}"
    flags = "--nosandbox_debug --enable_bzlmod"
    script = "\n".join(
        [
            "set -u",
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} test {flags} {' '.join(PASSING)} >pass.log 2>&1; echo $? >pass.rc",
            f"{bazel} test {flags} //:broken_emulated >broken.log 2>&1; echo $? >broken.rc",
            f"{bazel} info {flags} bazel-testlogs >testlogs.txt 2>/dev/null",
            f"{bazel} shutdown",
            "",
        ]
    )
    (workdir / "run.sh").write_text(script)
    subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        check=True,
        timeout=1500,
    )
    assert (workspace / "pass.rc").read_text().strip() == "0", (workspace / "pass.log").read_text()
    assert (workspace / "broken.rc").read_text().strip() == "3", (
        workspace / "broken.log"
    ).read_text()
    testlogs = Path((workspace / "testlogs.txt").read_text().strip())
    assert _probe((testlogs / "pure_native" / "test.log").read_text(), "machine") == "x86_64"
    emulated = (testlogs / "ext_emulated" / "test.log").read_text()
    assert _probe(emulated, "machine") == "aarch64"
    assert _probe(emulated, "uname") == "aarch64"
    assert f"/ext_import/emuprobe/{EXTENSION}" in _probe(emulated, "extension")
    broken = (testlogs / "broken_emulated" / "test.log").read_text()
    remove_tree(workdir)
    assert "AssertionError: 'aarch64' != 'x86_64'" in broken
