"""aarch64 wheels tested under qemu-user, from the same py_import trees as native tests.

The fixture workspace (tests/fixtures/emulation) declares the emulator and
the arm64 Python root with `emulation_repositories()`, the pinned defaults
users get; the test set-up (scripts/emulation.sh) downloads those very .debs
into a local mirror, and `--repo_env=ML_WHEELS_DEB_MIRROR=file://...` points
the same rules at it. It also cross-compiles the C extension of the aarch64
wheel (the production rules use no compiler of the set-up).
"""

from __future__ import annotations

import random
import shlex
import shutil
import subprocess
import sys
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


# Writes one wheel per compression level from a payload directory with the
# project's writer and prints "<level> <sha256>" lines; sys.path comes from
# the arguments because the emulated interpreter runs with -E -s.
_WRITE_WHEELS = """\
import hashlib, os, platform, sys
out, jobs, payload, *path = sys.argv[1:]
sys.path[:0] = path
from ml_wheels.pack import write_wheel
from ml_wheels.sources import FileSource
members = {"probe/" + n: FileSource(os.path.join(payload, n)) for n in sorted(os.listdir(payload))}
metadata = {"METADATA": b"Metadata-Version: 2.1\\nName: probe\\nVersion: 1\\n",
            "WHEEL": b"Tag: x\\n"}
print("machine", platform.machine())
for level in (1, 6, 9):
    wheel = os.path.join(out, "probe-%d.whl" % level)
    write_wheel(wheel, "probe-1.dist-info", members, metadata, level, int(jobs))
    with open(wheel, "rb") as f:
        print(level, hashlib.sha256(f.read()).hexdigest())
"""


def test_wheel_bytes_do_not_depend_on_the_cpu(
    bazel: Bazel, passed: dict[str, str], tmp_path: Path
) -> None:
    """The writer's libdeflate gives the same wheels on this CPU (AVX2/AVX-512
    here), on qemu's baseline x86-64 model (no SSE4, AVX or PCLMUL) and on
    aarch64, from the libdeflate repositories the rules fetch."""
    bazel.run("fetch", "@rules_ml_wheels_libdeflate_aarch64//:deflate")
    bazel.run("fetch", "@rules_ml_wheels_libdeflate_x86_64//:deflate")
    external = Path(bazel.run("info", "output_base").stdout.strip()) / "external"
    qemu_aarch64 = external / "qemu_user" / "unpacked" / "usr" / "bin" / "qemu-aarch64-static"
    root = external / "arm64_python" / "root"
    mirror = Path(_setup("mirror")[len("file://") :])
    (deb,) = mirror.glob("pool/main/q/qemu/qemu-user-static_*_amd64.deb")
    unpacked = tmp_path / "qemu"
    unpacked.mkdir()
    subprocess.run(
        f"dpkg-deb --fsys-tarfile {shlex.quote(str(deb))} | tar -x -C {shlex.quote(str(unpacked))}"
        " ./usr/bin/qemu-x86_64-static",
        shell=True, check=True, timeout=300,
    )  # fmt: skip
    qemu_x86_64 = unpacked / "usr" / "bin" / "qemu-x86_64-static"

    payload = tmp_path / "payload"
    payload.mkdir()
    # Machine code, text and incompressible bytes: every kind of match search.
    (payload / "code.bin").write_bytes(qemu_aarch64.read_bytes()[: 3 << 20])
    (payload / "text.txt").write_text(" ".join(f"w{i * 7919 % 10007}" for i in range(240000)))
    (payload / "random.bin").write_bytes(random.Random(5).randbytes(300000))
    (payload / "small.py").write_text("X = 1\n")
    script = tmp_path / "write.py"
    script.write_text(_WRITE_WHEELS)
    packaging = external / "rules_ml_wheels_helper_deps" / "site_packages" / "packaging"

    def hashes(name: str, interpreter: list[str], cpu: str, jobs: int) -> dict[str, str]:
        out = tmp_path / name
        out.mkdir()
        deflate = external / f"rules_ml_wheels_libdeflate_{cpu}" / "site_packages"
        path = [str(REPO_ROOT / "tools"), str(deflate), str(packaging)]
        result = subprocess.run(
            [*interpreter, "-E", "-s", str(script), str(out), str(jobs), str(payload), *path],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())

    native = hashes("native", [sys.executable], "x86_64", 2)
    baseline = hashes("qemu64", [str(qemu_x86_64), "-cpu", "qemu64", sys.executable], "x86_64", 1)
    emulated = [str(qemu_aarch64), "-L", str(root), str(root / "usr/bin/python3.11")]
    arm = hashes("aarch64", emulated, "aarch64", 2)
    assert (native.pop("machine"), baseline.pop("machine"), arm.pop("machine")) == (
        "x86_64", "x86_64", "aarch64",
    )  # fmt: skip
    assert sorted(native) == ["1", "6", "9"]
    assert native == baseline == arm
