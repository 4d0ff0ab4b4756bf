"""The remote-execution lane on Bazel 7.7.1 with bzlmod (Debian forky root).

The checks of test_remote_examples.py (the Bazel 4.2.3 lane), for the same
examples, on the forky root's Bazel (scripts/forky.sh) as bzlmod modules:
each example is built locally (the reference wheels), cleaned, tested with
every spawn remote on the BuildGrid service (loopback is shared between the
host and the forky namespace), its execution log checked and its wheels
compared byte for byte with the local ones, cleaned again and tested again,
all remote cache hits.

One Bazel server per example, with its own --output_user_root under pytest's
tmp dir, and every command of an example in one forky namespace: a server
keeps the namespace it started in alive, so the script shuts it down at its
end (also after a failed step).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT, remove_tree
from .conftest import copy_workspace
from .remote_service import (
    HIT_FIELD_BAZEL7,
    INSTANCE_NAME,
    PLATFORM,
    READY_TIMEOUT_S,
    WORKER,
    Processes,
    RemoteService,
    assert_all_cache_hits,
    assert_all_executed_remotely,
    assert_same_wheels,
    remote_service_fixture,
    setup,
    spawns,
    wait_for,
)
from .test_hermetic_python import _cache_dir
from .test_remote_examples import (
    ALWAYS,
    EXAMPLES_REMOTE,
    POOL_BUILD,
    POOL_TEST,
    check_pool,
    platform_of,
)
from .test_remote_examples import hermetic_flags as _bazel4_hermetic_flags

pytestmark = pytest.mark.integration

FORKY = REPO_ROOT / "scripts" / "forky.sh"

# The Bazel 4.2.3 lane's fixture, made one of this module by assignment (an
# imported name used as a parameter reads as a redefinition to ruff): the
# 3.11 interpreter archive's --repo_env flags and --symlink_prefix=/ (no
# convenience links in the copies).
hermetic_flags = _bazel4_hermetic_flags

# BuildGrid and PostgreSQL on the host, without workers of their own: the
# workers run inside the forky root (`forky_workers`). docs/remote-execution.md,
# "What you need" 2: the workers must have the client's C toolchain at the
# same paths. Bazel 7 here autodetects the forky root's gcc 16
# (/usr/lib/gcc/x86_64-linux-gnu/16/include as builtin directories); on the
# host's workers (gcc 12) every CppCompile of c_extension fails Bazel's
# inclusion check ("absolute path inclusion(s) found ...
# /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h"), and the wheels of
# another compiler could not be byte-identical to the local ones anyway.
remote_service = remote_service_fixture(workers=0)
WORKERS = 2

# Bazel 7 defaults to --remote_download_outputs=toplevel (builds without the
# bytes): the wheels would be downloaded as top-level outputs, but the
# comparison must not depend on which outputs Bazel deems top-level of
# `bazel test //...`; every output is downloaded, as Bazel 4.2.3 does.
BAZEL7_REMOTE_FLAGS = ["--remote_download_all"]
# --nosandbox_debug as in the other Bazel 7 lanes (the local reference build
# runs in linux-sandbox); --enable_bzlmod: the copies' MODULE.bazel.
BAZEL7_FLAGS = ["--nosandbox_debug", "--enable_bzlmod"]

# The three examples of the Bazel 4.2.3 lane when this lane was written
# (EXAMPLES_REMOTE has grown since: examples/testing is left to that lane).
BAZEL7_EXAMPLES = {
    name: EXAMPLES_REMOTE[name] for name in ("c_extension", "multi_wheel", "pure_python")
}

# Bazel 7's JSON execution log (checked on real logs of this lane) marks a
# cache hit with `"cacheHit": true` (HIT_FIELD_BAZEL7) and this runner.
RUNNER_HIT = "remote cache hit"

# For the three scripts together.
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Run:
    """What the forky script of one example left in its work dir."""

    work: Path

    def rc(self, step: str) -> int | None:
        """The exit status of a step, None when the script did not get there."""
        path = self.work / f"{step}.rc"
        return int(path.read_text()) if path.exists() else None

    def log(self, step: str, chars: int = 8000) -> str:
        path = self.work / f"{step}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def check(self, step: str, service: RemoteService) -> None:
        assert self.rc(step) == 0, (
            f"step {step}: rc {self.rc(step)}\n{self.log(step)}\n{service.log_tail()}"
        )

    def wheels(self, kind: str) -> dict[str, bytes]:
        """The wheels copied after the local ("local") or remote ("remote", "again") build,
        by package/name (fastmath and pep517 make wheels of the same name)."""
        root = self.work / "wheels" / kind
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("*/*.whl"))}


def _script(
    workspace: Path,
    work: Path,
    lock: Path,
    packages: list[str],
    flags: list[str],
    remote_flags: list[str],
) -> str:
    """Every Bazel command of one example, for one forky namespace and one server."""
    bazel = f"bazel --output_user_root={shlex.quote(str(work / 'user_root'))}"
    build = " ".join(shlex.quote(f) for f in flags)
    remote = " ".join(shlex.quote(f) for f in remote_flags)
    lines = [
        "set -u",
        f"cd {shlex.quote(str(workspace))}",
        f"work={shlex.quote(str(work))}",
        # Each step's exit status in $work/STEP.rc; later steps run only after
        # a success, the server is shut down whatever happened.
        'step() { name="$1"; shift; "$@" >"$work/$name.log" 2>&1; rc=$?;'
        ' echo $rc >"$work/$name.rc"; return $rc; }',
        # The wheels under bazel-bin, copied out before `bazel clean` removes them.
        "copy() { for pkg in " + " ".join(shlex.quote(p) for p in packages) + "; do"
        ' mkdir -p "$work/wheels/$1/$pkg"; cp "$bin/$pkg"/*.whl "$work/wheels/$1/$pkg/"; done; }',
        "{",
        f"  step local {bazel} build {build} //... &&",
        f'  bin="$({bazel} info {build} bazel-bin 2>"$work/info.log")" && echo 0 >"$work/info.rc"'
        " && copy local &&",
        # The remote part under one lock for all examples: with the three
        # clients on the service at once, multi_wheel's PythonWheel failed
        # once with "Error while uploading artifact with digest ..." (Exit 34);
        # the local builds still run side by side.
        f"  (flock 9 && step clean {bazel} clean &&",
        f'  step remote {bazel} test {build} {remote} --execution_log_json_file="$work/first.json"'
        " //... && copy remote &&",
        f"  step clean-again {bazel} clean &&",
        f'  step again {bazel} test {build} {remote} --execution_log_json_file="$work/second.json"'
        f" //... && copy again) 9>{shlex.quote(str(lock))}",
        "}",
        f"{bazel} shutdown",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def forky_root() -> None:
    """The Debian forky root with Bazel 7.7.1 (made once per machine, then reused)."""
    subprocess.run([str(FORKY), "create"], check=True, timeout=900)


@pytest.fixture(scope="module")
def forky_workers(
    forky_root: None, remote_service: RemoteService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteService]:
    """tests/remote/worker.py, WORKERS times, each in a forky namespace: its
    actions' root is built from the forky root's /usr, /bin, /lib and /etc,
    the image the client's toolchains were detected in. Stopped at the end."""
    setup_ = setup()
    work = tmp_path_factory.mktemp("forky_workers")
    endpoint = remote_service.endpoint
    # The BuildGrid virtualenv's python is a link to a pyenv CPython: bound too.
    interpreter = setup_.python.resolve().parents[1]
    processes = Processes()
    logs = [remote_service.logs / f"forky-worker-{index}.log" for index in range(WORKERS)]
    try:
        for index, log in enumerate(logs):
            processes.start(
                f"forky-worker-{index}",
                [
                    # (The virtualenv itself is under the cache dir, which forky.sh binds.)
                    *(str(FORKY), "run", "--bind", str(work), "--bind", str(interpreter), "--"),
                    *(str(setup_.python), str(WORKER), f"--endpoint={endpoint}"),
                    f"--instance-name={INSTANCE_NAME}",
                    f"--work-dir={work / str(index)}",
                    f"--bot-id=forky-worker-{index}-{endpoint.rsplit(':', 1)[1]}",
                    *(f"--platform={k}={v}" for k, v in PLATFORM.items()),
                ],
                log,
            )
        wait_for(
            lambda: all(
                log.exists() and "session" in log.read_text(errors="replace") for log in logs
            ),
            "forky workers",
            time.monotonic() + READY_TIMEOUT_S,
            processes,
            remote_service.logs,
        )
        yield remote_service
    finally:
        processes.stop_all()


def _workspace(name: str, root: Path) -> Path:
    """The example's copy as a bzlmod module; pure_python with the lane's //pool."""
    workspace = copy_workspace(EXAMPLES / name, root / "ws", bzlmod=True)
    if name == "pure_python":
        (workspace / "pool").mkdir()
        (workspace / "pool" / "BUILD.bazel").write_text(POOL_BUILD)
        (workspace / "pool" / "import_test.py").write_text(POOL_TEST)
    return workspace


@pytest.fixture(scope="module")
def bazel7_runs(
    forky_workers: RemoteService,
    hermetic_flags: list[str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, Run]]:
    """Every example's script, the three at once (each its own server and
    namespace), their remote parts one at a time: one after the other they
    took 3.5 minutes on 2 cores, mostly Bazel's own start and analysis."""
    flags = [*BAZEL7_FLAGS, *hermetic_flags]
    remote_flags = [
        *forky_workers.bazel_flags,
        *forky_workers.strategy_flags(),
        *BAZEL7_REMOTE_FLAGS,
    ]
    failed_before = request.session.testsfailed
    locks = tmp_path_factory.mktemp("bazel7_remote_lock")
    roots: dict[str, Path] = {}
    started: dict[str, subprocess.Popen] = {}
    try:
        for name, (packages, _) in BAZEL7_EXAMPLES.items():
            root = roots[name] = tmp_path_factory.mktemp(f"bazel7_remote_{name}")
            work = root / "work"
            work.mkdir()
            script = _script(
                _workspace(name, root), work, locks / "remote", packages, flags, remote_flags
            )
            (work / "run.sh").write_text(script)
            with (work / "forky.log").open("wb") as out:
                started[name] = subprocess.Popen(
                    [
                        *(str(FORKY), "run", "--bind", str(root), "--bind", str(locks)),
                        *("--bind", str(_cache_dir()), "--", "bash", str(work / "run.sh")),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + RUN_TIMEOUT_S
        for name, process in started.items():
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
            log = (roots[name] / "work" / "forky.log").read_text(errors="replace")
            assert process.returncode == 0, f"{name}: forky.sh exited {process.returncode}\n{log}"
        yield {name: Run(root / "work") for name, root in roots.items()}
    finally:
        for name, process in started.items():
            if process.poll() is None:
                # Past the deadline (or the test run interrupted): the script, then
                # its server, which runs detached in the namespace and still answers
                # a client of a new one on loopback.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                user_root = roots[name] / "work" / "user_root"
                subprocess.run(
                    [
                        *(str(FORKY), "run", "--bind", str(roots[name]), "--"),
                        *("bazel", f"--output_user_root={user_root}", "shutdown"),
                    ],
                    cwd=roots[name] / "ws",
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
        # Kept after a failure, for its logs (pytest keeps few basetemps).
        if request.session.testsfailed == failed_before:
            for root in roots.values():
                remove_tree(root)


def _without_defaults(spawn: dict) -> dict:
    """The spawn with only its target's own exec_properties, for check_pool."""
    properties = spawn.get("platform", {}).get("properties", [])
    own = [p for p in properties if PLATFORM.get(p["name"]) != p["value"]]
    return {**spawn, "platform": {"properties": own}}


def _check_pool_bazel7(ran: list[dict]) -> None:
    """test_remote_examples.py's //pool check, as Bazel 7.7.1 sends the properties.

    Bazel 4.2.3 sends a target's exec_properties alone; Bazel 7.7.1 sends
    them merged over --remote_default_exec_properties (seen on this lane's
    logs): a pooled spawn carries OSFamily=Linux and Pool=wheels. The rest of
    the check (which spawns are pooled, which not) is the lane's own, on the
    target's keys."""
    pooled = [spawn for spawn in ran if platform_of(spawn).get("Pool")]
    assert pooled
    assert all(platform_of(spawn) == {**PLATFORM, "Pool": "wheels"} for spawn in pooled), pooled
    check_pool([_without_defaults(spawn) if spawn in pooled else spawn for spawn in ran])


@pytest.mark.parametrize("name", sorted(BAZEL7_EXAMPLES))
def test_example_builds_and_tests_remotely_on_bazel7(
    name: str, bazel7_runs: dict[str, Run], forky_workers: RemoteService
) -> None:
    packages, extra = BAZEL7_EXAMPLES[name]
    run = bazel7_runs[name]
    remote_service = forky_workers

    run.check("local", remote_service)
    run.check("info", remote_service)
    local = run.wheels("local")
    assert sorted({key.split("/")[0] for key in local}) == sorted(packages), sorted(local)

    run.check("clean", remote_service)
    run.check("remote", remote_service)
    ran = spawns(run.work / "first.json")
    mnemonics = assert_all_executed_remotely(ran, HIT_FIELD_BAZEL7)
    assert ALWAYS | extra <= mnemonics, sorted(mnemonics)
    if name == "pure_python":
        _check_pool_bazel7(ran)

    assert_same_wheels(run.wheels("remote"), local)

    run.check("clean-again", remote_service)
    run.check("again", remote_service)
    again = spawns(run.work / "second.json")
    assert_all_cache_hits(again, HIT_FIELD_BAZEL7)
    runners = Counter(spawn.get("runner") for spawn in again)
    assert set(runners) == {RUNNER_HIT}, runners
    assert run.wheels("again") == local
