"""Remote execution on a loopback BuildGrid: actions run isolated and are cached.

The service (tests/integration/remote_service.py) is real: BuildGrid on
PostgreSQL with tests/remote/worker.py workers. The fixture workspace
tests/fixtures/remote_isolation has a genrule that reads a file of this
checkout by absolute path without declaring it: it must work locally and fail
remotely, which shows that remote actions do not see the machine's files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel, BazelResult
from .conftest import host_path
from .remote_service import RemoteService, remote_service_fixture, spawns

pytestmark = [pytest.mark.integration]

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "remote_isolation"
# A file of the checkout the test runs from: readable by local actions only.
OUTSIDE_FILE = REPO_ROOT / "README.md"
OUTSIDE_DEFINE = f"--define=OUTSIDE_FILE={OUTSIDE_FILE}"
# Set in the Bazel client's environment: must not reach any remote action.
HOST_MARKER = "RULES_ML_WHEELS_REMOTE_TEST_HOST_MARKER"

# Variables the test's own shell and Bazel 4.2.3's test-setup.sh export.
SET_INSIDE_THE_TEST = {"PWD", "OLDPWD", "SHLVL", "_", "GTEST_TMP_DIR", "USER"}

remote_service = remote_service_fixture(workers=2)


@pytest.fixture(scope="module")
def bazel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bazel]:
    """A Bazel server on a copy of the fixture (no bazel-* links), in a temp output base."""
    root = tmp_path_factory.mktemp("remote_isolation")
    workspace = root / "workspace"
    shutil.copytree(FIXTURE, workspace, ignore=shutil.ignore_patterns("bazel-*"))
    server = Bazel(workspace, root / "output_base", {"PATH": host_path(), HOST_MARKER: "leaked"})
    yield server
    server.release()


def outputs_of(spawn: dict) -> list[str]:
    """The output paths a spawn declared."""
    return spawn.get("listedOutputs", [])


def explain(result: BazelResult, service: RemoteService) -> str:
    """Bazel's output and the service's logs, for assertion messages."""
    return f"{result.stderr[-6000:]}\n{service.log_tail()}"


def test_outside_file_is_readable_by_a_local_action(bazel: Bazel) -> None:
    """Without remote execution, the undeclared absolute path is read (the control case)."""
    assert OUTSIDE_FILE.is_file()
    bazel.run("build", "//:read_outside", OUTSIDE_DEFINE, "--spawn_strategy=standalone")
    copy = bazel.bin_dir(OUTSIDE_DEFINE) / "outside_copy.txt"
    assert copy.read_bytes() == OUTSIDE_FILE.read_bytes()


def test_outside_file_is_missing_for_a_remote_action(
    bazel: Bazel, remote_service: RemoteService, tmp_path: Path
) -> None:
    """Remotely the same action fails: the file is not there (and the service was reached)."""
    # The local action cache would otherwise keep the standalone build's output.
    bazel.run("clean")
    log = tmp_path / "exec.json"
    result = bazel.run(
        "build",
        "//:read_outside",
        OUTSIDE_DEFINE,
        *remote_service.bazel_flags,
        *remote_service.strategy_flags(),
        f"--execution_log_json_file={log}",
        check=False,
    )
    message = explain(result, remote_service)
    # 1 is Bazel's "build failed" exit code; a remote-connection failure exits 34.
    assert result.returncode == 1, message
    assert f"cat: {OUTSIDE_FILE}: No such file or directory" in result.stderr, message
    assert "Executing genrule //:read_outside failed" in result.stderr, message
    genrules = [s for s in spawns(log) if s.get("mnemonic") == "Genrule"]
    assert len(genrules) == 1, message
    assert genrules[0]["runner"] == "remote", genrules[0]
    assert genrules[0].get("exitCode") == 1, genrules[0]


def test_declared_genrule_runs_remotely_then_hits_the_cache(
    bazel: Bazel, remote_service: RemoteService, tmp_path: Path
) -> None:
    """Declared work runs on a worker; after `clean` every spawn is a remote cache hit."""
    flags = [*remote_service.bazel_flags, *remote_service.strategy_flags()]
    bazel.run("clean")
    first = tmp_path / "first.json"
    bazel.run("build", "//:declared", *flags, f"--execution_log_json_file={first}")
    genrules = [s for s in spawns(first) if s.get("mnemonic") == "Genrule"]
    assert len(genrules) == 1, spawns(first)
    assert genrules[0]["runner"] == "remote", genrules[0]
    assert not genrules[0].get("remoteCacheHit", False), genrules[0]
    bin_dir = bazel.bin_dir(*flags)
    upper = (FIXTURE / "input.txt").read_text().upper()
    assert (bin_dir / "upper.txt").read_text() == upper
    assert os.access(bin_dir / "hello.sh", os.X_OK)

    bazel.run("clean")
    second = tmp_path / "second.json"
    bazel.run("build", "//:declared", *flags, f"--execution_log_json_file={second}")
    cached = spawns(second)
    assert cached, "no spawns in the second build's execution log"
    assert all(s.get("remoteCacheHit") for s in cached), cached
    assert (bin_dir / "upper.txt").read_text() == upper


def parse_env_test_log(text: str) -> tuple[dict[str, str], dict[str, bool]]:
    """The variables and the visible/hidden paths env_test.sh printed."""
    env_section = text.split("== env\n", 1)[1].split("== visible\n", 1)[0]
    visible_section = text.split("== visible\n", 1)[1].split("== python", 1)[0]
    env = dict(line.split("=", 1) for line in env_section.splitlines() if "=" in line)
    visible = {
        line.split(" ", 1)[1]: line.startswith("visible ")
        for line in visible_section.splitlines()
        if line.strip()
    }
    return env, visible


@pytest.fixture
def host_tmp_file() -> Iterator[Path]:
    """A file in the machine's /tmp itself (not only below pytest's directory there)."""
    with tempfile.NamedTemporaryFile(prefix="remote-isolation-", dir="/tmp") as f:
        yield Path(f.name)


def test_remote_test_sees_only_its_declared_environment(
    bazel: Bazel, remote_service: RemoteService, tmp_path: Path, host_tmp_file: Path
) -> None:
    """An sh_test run remotely sees the variables Bazel declared, none of the host's."""
    flags = [*remote_service.bazel_flags, *remote_service.strategy_flags()]
    log = tmp_path / "exec.json"
    result = bazel.run(
        "test",
        "//:env_test",
        *flags,
        f"--test_env=CHECKOUT_DIR={REPO_ROOT}",
        f"--test_env=HOST_TMP_FILE={host_tmp_file}",
        "--nocache_test_results",
        f"--execution_log_json_file={log}",
    )
    # TestRunner spawns: test-setup.sh running the test, then generate-xml.sh.
    tests = [
        s
        for s in spawns(log)
        if s.get("mnemonic") == "TestRunner" and s["commandArgs"][0].endswith("test-setup.sh")
    ]
    assert len(tests) == 1 and tests[0]["runner"] == "remote", explain(result, remote_service)
    declared = {v["name"]: v["value"] for v in tests[0].get("environmentVariables", [])}
    testlogs = Path(bazel.run("info", *flags, "bazel-testlogs").stdout.strip())
    env, visible = parse_env_test_log((testlogs / "env_test" / "test.log").read_text())
    assert env.get("DECLARED_BY_TEST") == "yes", env
    assert declared.get("DECLARED_BY_TEST") == "yes", declared
    assert HOST_MARKER not in env, env
    # Neither the host's HOME nor the worker's user: the action runs as nobody.
    assert "HOME" not in env or env["HOME"] != os.environ.get("HOME"), env
    assert env.get("USER") != "root", env
    # Nothing beyond what Bazel declared, except what the shell and Bazel's
    # test-setup.sh set themselves (it also rewrites paths to absolute ones).
    extra = set(env) - set(declared)
    assert extra <= SET_INSIDE_THE_TEST, sorted(extra - SET_INSIDE_THE_TEST)
    # The machine's directories are there (the test would prove nothing otherwise)...
    host_paths = [
        Path("/root"),
        REPO_ROOT / "README.md",
        host_tmp_file,
        Path("/usr/lib/python3/dist-packages"),
    ]
    assert all(path.exists() for path in host_paths)
    assert {str(REPO_ROOT / "README.md"), str(host_tmp_file)} <= set(visible), visible
    # ... but none of them is visible to the remote test.
    assert not any(visible.values()), visible
    with zipfile.ZipFile(testlogs / "env_test" / "test.outputs" / "outputs.zip") as outputs:
        # Written into TEST_UNDECLARED_OUTPUTS_DIR: came back as an output of the action.
        assert outputs.read("sub/note.txt") == b"undeclared output\n"


def test_remote_action_is_killed_at_its_timeout(
    bazel: Bazel, remote_service: RemoteService
) -> None:
    """A test sleeping past --test_timeout is killed by the worker and reported TIMEOUT."""
    flags = [*remote_service.bazel_flags, *remote_service.strategy_flags()]
    started = time.monotonic()
    result = bazel.run(
        "test", "//:sleep_test", *flags, "--test_timeout=3", "--nocache_test_results", check=False
    )
    elapsed = time.monotonic() - started
    message = explain(result, remote_service)
    # 3 is Bazel's "build OK, tests failed" exit code.
    assert result.returncode == 3, message
    assert "//:sleep_test" in result.stdout + result.stderr
    assert "TIMEOUT" in result.stdout + result.stderr, message
    # The test sleeps 120 s: finishing well before shows the worker killed it.
    assert elapsed < 60, message
    testlogs = Path(bazel.run("info", *flags, "bazel-testlogs").stdout.strip())
    log = (testlogs / "sleep_test" / "test.log").read_text()
    assert "sleeping" in log and "not killed" not in log, log
