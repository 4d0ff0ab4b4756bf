"""A real REAPI remote-execution service on loopback, for the integration tests.

    with remote_execution_service(work_dir, workers=2) as service:
        bazel.run("build", "//...", *service.bazel_flags, *service.strategy_flags())

It runs scripts/remote_execution.sh once (PostgreSQL binaries and a BuildGrid
0.9.1 virtualenv), then starts, all on 127.0.0.1 and free ports:
- a PostgreSQL cluster made with initdb for this service (BuildGrid's scheduler
  refuses sqlite), as user `postgres` because PostgreSQL refuses root;
- BuildGrid (CAS, ByteStream, action cache, execution and bots services)
  configured from tests/remote/buildgrid.yml.in;
- `workers` copies of tests/remote/worker.py, which run each action isolated
  in a mount namespace (see its docstring).
On leaving the block everything is stopped, in a bounded time, even after a
failure. Logs of every process are under `service.logs`.

This module runs in the test virtualenv (Python 3.11) and must not import
buildgrid: the server and the workers run in BuildGrid's own virtualenv.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT

SETUP_SCRIPT = REPO_ROOT / "scripts" / "remote_execution.sh"
CONFIG_TEMPLATE = REPO_ROOT / "tests" / "remote" / "buildgrid.yml.in"
WORKER = REPO_ROOT / "tests" / "remote" / "worker.py"

INSTANCE_NAME = "main"
# The platform every Bazel action sends, and every worker offers.
PLATFORM = {"OSFamily": "Linux"}
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
DATABASE_USER = "bgd"


@dataclass(frozen=True)
class Setup:
    """What scripts/remote_execution.sh installed."""

    python: Path
    bgd: Path
    postgres_bin: Path


@dataclass
class RemoteService:
    """A running service: where it listens and the Bazel flags that use it."""

    endpoint: str
    instance_name: str
    logs: Path
    bazel_flags: list[str] = field(default_factory=list)

    def strategy_flags(self) -> list[str]:
        """Flags that make every spawn run remotely, without local fallback."""
        return ["--spawn_strategy=remote", "--noremote_local_fallback"]

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every log, for assertion messages."""
        return collect_logs(self.logs, lines)


@functools.lru_cache(maxsize=1)
def setup() -> Setup:
    """Runs scripts/remote_execution.sh once per test session and parses its KEY=VALUE lines."""
    completed = subprocess.run(
        [str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{SETUP_SCRIPT} exited {completed.returncode}\n{completed.stdout}{completed.stderr}"
        )
    values = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return Setup(Path(values["PYTHON"]), Path(values["BGD"]), Path(values["POSTGRES_BIN"]))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collect_logs(logs: Path, lines: int) -> str:
    """The tail of each *.log under `logs`."""
    parts = []
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name} ---\n" + "\n".join(text))
    return "\n".join(parts)


@dataclass
class Processes:
    """The service's processes, stopped in reverse order of start."""

    running: list[tuple[str, subprocess.Popen, int]] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], log: Path, stop_signal: int = signal.SIGTERM, **kwargs
    ) -> subprocess.Popen:
        """Starts a process in its own session (so its children are stopped with it)."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )
        self.running.append((name, process, stop_signal))
        return process

    def check_alive(self, logs: Path) -> None:
        """Raises with the logs if a process has exited."""
        for name, process, _ in self.running:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited {process.returncode} while starting\n{collect_logs(logs, 60)}"
                )

    def stop_all(self) -> None:
        """Signals each process group, then kills those still running after STOP_TIMEOUT_S."""
        for _name, process, stop_signal in reversed(self.running):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, stop_signal)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Also whatever the process left in its group (bgd's threads' children).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.running.clear()


def wait_for(
    condition: Callable[[], bool], what: str, deadline: float, processes: Processes, logs: Path
) -> None:
    """Polls `condition` until the deadline; raises with the logs on timeout."""
    while not condition():
        processes.check_alive(logs)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} not ready after {READY_TIMEOUT_S:.0f} s\n{collect_logs(logs, 60)}"
            )
        time.sleep(0.2)


def database_owner() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as: `postgres` (or nobody) when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, but there is no postgres or nobody user to run PostgreSQL")


def reachable_by_others(path: Path) -> bool:
    """Whether every ancestor of `path` can be traversed by another user."""
    return all(os.stat(parent).st_mode & 0o001 for parent in path.resolve().parents)


def run_logged(name: str, command: list[str], logs: Path, **kwargs) -> None:
    """Runs a set-up command to completion (at most 120 s); its output goes to
    logs/<name>.log, and a failure raises with that output."""
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, **kwargs
    )
    (logs / f"{name}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{name} exited {result.returncode}\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def postgres_cluster(
    work: Path, logs: Path, setup_: Setup, processes: Processes, deadline: float
) -> Iterator[str]:
    """initdb + postgres on 127.0.0.1; yields the SQLAlchemy URL."""
    owner = database_owner()
    # pytest's temp dirs are 0700 under /tmp/pytest-of-root: the postgres user
    # cannot reach a cluster there, so it goes to a private dir of its own.
    own_dir = owner is not None and not reachable_by_others(work)
    cluster = Path(tempfile.mkdtemp(prefix="rules_ml_wheels-pg-")) if own_dir else work / "postgres"
    try:
        data, sockets = cluster / "data", cluster / "sockets"
        sockets.mkdir(parents=True, exist_ok=True)
        user_args: dict = {}
        if owner is not None:
            for path in (cluster, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            user_args = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        run_logged(
            "initdb",
            [
                str(setup_.postgres_bin / "initdb"),
                f"--pgdata={data}",
                f"--username={DATABASE_USER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            logs,
            cwd=cluster,
            **user_args,
        )
        port = free_port()
        processes.start(
            "postgres",
            [
                str(setup_.postgres_bin / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(sockets),
                # Loopback only; a throwaway database needs no durability.
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            logs / "postgres.log",
            # SIGINT is PostgreSQL's fast shutdown: no waiting for clients.
            stop_signal=signal.SIGINT,
            cwd=cluster,
            **user_args,
        )

        def ready() -> bool:
            probe = subprocess.run(
                [
                    str(setup_.postgres_bin / "pg_isready"),
                    *("-h", "127.0.0.1", "-p", str(port), "-U", DATABASE_USER, "-d", "postgres"),
                ],
                capture_output=True,
                check=False,
            )
            return probe.returncode == 0

        wait_for(ready, "PostgreSQL", deadline, processes, logs)
        yield f"postgresql://{DATABASE_USER}@127.0.0.1:{port}/postgres"
    finally:
        if own_dir:
            # The server must be gone before its data directory goes.
            processes.stop_all()
            shutil.rmtree(cluster, ignore_errors=True)


def render_config(work: Path, port: int, sql: str) -> Path:
    """tests/remote/buildgrid.yml.in with this service's values."""
    text = CONFIG_TEMPLATE.read_text()
    for name, value in {
        "PORT": str(port),
        "SQL": sql,
        "INSTANCE": INSTANCE_NAME,
        "CAS_SIZE": "4G",
    }.items():
        text = text.replace(f"@{name}@", value)
    config = work / "buildgrid.yml"
    config.write_text(text)
    return config


@contextlib.contextmanager
def remote_execution_service(work: Path, workers: int = 2) -> Iterator[RemoteService]:
    """Starts PostgreSQL, BuildGrid and `workers` workers; stops them all on exit."""
    setup_ = setup()
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    processes = Processes()
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        with postgres_cluster(work, logs, setup_, processes, deadline) as sql:
            run_logged("migrate", [str(setup_.bgd), "migrate", "apply", sql], logs)
            port = free_port()
            endpoint = f"grpc://127.0.0.1:{port}"
            config = render_config(work, port, sql)
            processes.start(
                "buildgrid",
                [str(setup_.bgd), "server", "start", str(config)],
                logs / "buildgrid.log",
            )
            wait_for(
                lambda: capabilities_ready(setup_, port),
                "BuildGrid",
                deadline,
                processes,
                logs,
            )
            worker_logs = []
            for index in range(workers):
                worker_logs.append(logs / f"worker-{index}.log")
                processes.start(
                    f"worker-{index}",
                    [
                        str(setup_.python),
                        str(WORKER),
                        f"--endpoint={endpoint}",
                        f"--instance-name={INSTANCE_NAME}",
                        f"--work-dir={work / 'workers' / str(index)}",
                        f"--bot-id=worker-{index}-{port}",
                        *(f"--platform={k}={v}" for k, v in PLATFORM.items()),
                    ],
                    worker_logs[-1],
                )
            wait_for(
                lambda: all(
                    log.exists() and "session" in log.read_text(errors="replace")
                    for log in worker_logs
                ),
                "workers",
                deadline,
                processes,
                logs,
            )
            properties = ",".join(f"{k}={v}" for k, v in PLATFORM.items())
            yield RemoteService(
                endpoint=endpoint,
                instance_name=INSTANCE_NAME,
                logs=logs,
                bazel_flags=[
                    f"--remote_executor={endpoint}",
                    f"--remote_instance_name={INSTANCE_NAME}",
                    f"--remote_default_exec_properties={properties}",
                    "--remote_timeout=120",
                    # A remote failure then prints its gRPC cause, not only
                    # "N errors during bulk transfer".
                    "--verbose_failures",
                ],
            )
    finally:
        processes.stop_all()


def capabilities_ready(setup_: Setup, port: int) -> bool:
    """Whether BuildGrid answers GetCapabilities with execution enabled."""
    probe = subprocess.run(
        [
            str(setup_.bgd),
            "capabilities",
            f"--remote=http://127.0.0.1:{port}",
            f"--instance-name={INSTANCE_NAME}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0 and '"execEnabled": true' in probe.stdout


def remote_service_fixture(workers: int = 2, scope: str = "module") -> Callable:
    """A pytest fixture (module-scoped by default) yielding a RemoteService.

    remote_service = remote_service_fixture()

    def test_x(remote_service): ...
    """

    @pytest.fixture(scope=scope)
    def remote_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteService]:
        with remote_execution_service(tmp_path_factory.mktemp("remote"), workers) as service:
            yield service

    return remote_service


def spawns(log: Path) -> list[dict]:
    """The spawns of an --execution_log_json_file: concatenated JSON objects."""
    decoder = json.JSONDecoder()
    text = log.read_text()
    found, position = [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        spawn, position = decoder.raw_decode(text, position)
        found.append(spawn)
    return found


# How an execution log marks a remote cache hit: Bazel 4.2.3 writes
# `"remoteCacheHit": true`; Bazel 7 writes `"cacheHit": true` with the
# runner "remote cache hit" (and omits false fields, as proto3 JSON does).
HIT_FIELD_BAZEL4 = "remoteCacheHit"
HIT_FIELD_BAZEL7 = "cacheHit"


def assert_all_executed_remotely(ran: list[dict], hit_field: str = HIT_FIELD_BAZEL4) -> set[str]:
    """Asserts every spawn of a first build ran on a worker (none local, none
    from the cache); returns the spawns' mnemonics."""
    assert ran, "the build ran no spawns"
    runners = Counter(spawn.get("runner") for spawn in ran)
    assert set(runners) == {"remote"}, f"spawns per runner: {dict(runners)}"
    hits = [spawn.get("mnemonic") for spawn in ran if spawn.get(hit_field)]
    assert not hits, f"cache hits in a build that should have executed everything: {hits}"
    return {spawn.get("mnemonic") for spawn in ran}


def assert_all_cache_hits(again: list[dict], hit_field: str = HIT_FIELD_BAZEL4) -> set[str]:
    """Asserts every spawn of a rebuild from clean was a remote cache hit;
    returns the spawns' mnemonics."""
    assert again, "the second build ran no spawns"
    misses = [spawn.get("mnemonic") for spawn in again if spawn.get(hit_field) is not True]
    assert not misses, f"not remote cache hits: {Counter(misses)}"
    return {spawn.get("mnemonic") for spawn in again}


def assert_same_wheels(remote: dict[str, bytes], local: dict[str, bytes]) -> None:
    """Asserts the remote build made the same wheels as the local one, byte for byte."""
    assert sorted(remote) == sorted(local), (sorted(remote), sorted(local))
    for wheel, data in remote.items():
        assert data == local[wheel], f"{wheel}: the remote build differs from the local one"
