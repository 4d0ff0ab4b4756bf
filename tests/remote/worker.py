"""A small REAPI worker for BuildGrid's Remote Workers API (Bots, v1test2).

It runs under the BuildGrid virtualenv's Python (scripts/remote_execution.sh
makes it) and uses the protos shipped in the buildgrid package:

    python worker.py --endpoint grpc://127.0.0.1:PORT --instance-name main \\
        --work-dir DIR [--platform OSFamily=Linux ...] [--bot-id NAME]

Protocol, as BuildGrid 0.9.1's bots service and SQL scheduler implement it:
- CreateBotSession(parent=instance) registers the bot; the properties of its
  primary device (worker.devices[0]) are what jobs are matched against, and the
  worker config `capacity` (1 here) how many leases it gets at once.
- UpdateBotSession long-polls for work. A new lease arrives ACTIVE, its payload
  an Any holding the Action (or only its Digest, for old jobs). While the action
  runs the worker keeps calling UpdateBotSession with the lease ACTIVE as a
  heartbeat; a lease the server drops from the answer was cancelled, and the
  worker kills the action. It completes a lease by sending it COMPLETED with
  `status` (OK whenever the command ran, whatever its exit code) and `result`
  (an Any holding the ActionResult). BuildGrid writes the ActionResult to the
  action cache itself, unless the Action has do_not_cache (or the command
  failed): the worker never writes to the action cache, which is how
  do_not_cache is honoured. INTERNAL and UNAVAILABLE statuses make BuildGrid
  retry the job, so only the worker's own faults use them.

Each action gets a fresh, empty directory under --work-dir: the input root is
fetched from CAS (BatchReadBlobs, ByteStream Read for large blobs) and written
there, the parents of the outputs are created, the command runs, the declared
outputs (output_paths, or output_files and output_directories for clients
before REAPI v2.1, such as Bazel 4.2.3) are uploaded (FindMissingBlobs, then
BatchUpdateBlobs, ByteStream Write for large blobs), and the directory is
deleted.

Isolation: the command runs through sandbox_exec.py under `unshare --mount
--pid --fork --net --ipc --uts`, which chroots into a root built from read-only
bind mounts of /usr, /bin, /lib, /lib64, /sbin and /etc, a minimal /dev, a
fresh /proc, a private tmpfs /tmp, and the input root at /b/work (the working
directory). The host's Python packages (/usr/lib/python3/dist-packages,
/usr/local/lib/python3*, site-packages) are hidden under empty tmpfs mounts.
So the action does not see the checkout, /root, /home, /opt or the host's /tmp,
cannot reach the network, and runs as user nobody, with exactly the Command's
environment variables. Mount namespaces plus chroot need nothing beyond
util-linux (every Debian has it), unlike bubblewrap; the unprivileged user
keeps the action from undoing its mounts. Input files stay owned by root and
read-only to the action; directories are the action's, so it can write outputs.

A symlink among the outputs is followed when it points inside the input root
and reported as a symlink otherwise (never followed out of the sandbox).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as re_grpc
from buildgrid._protos.google.bytestream import bytestream_pb2, bytestream_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import (
    bots_pb2,
    bots_pb2_grpc,
    worker_pb2,
)
from buildgrid._protos.google.rpc import code_pb2, status_pb2
from google.protobuf import timestamp_pb2

LOG = logging.getLogger("worker")

SANDBOX_EXEC = Path(__file__).resolve().with_name("sandbox_exec.py")
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"

# BuildGrid refuses requests over 4 MiB - 1 KiB (buildgrid.server.settings);
# batches stay well under it and larger blobs go through ByteStream.
BATCH_BYTES = 2 * 1024 * 1024
BATCH_COUNT = 400
STREAM_CHUNK = 1024 * 1024

# How often a running lease is reported ACTIVE; BuildGrid's keepalive
# timeout (bot-session-keepalive-timeout in buildgrid.yml.in) is 60 s.
HEARTBEAT_S = 5.0
# The long poll: BuildGrid holds the call for 80% of it when there is no work.
POLL_TIMEOUT_S = 20.0
RPC_TIMEOUT_S = 60.0
# BuildGrid long-polls CreateBotSession too, unless 80% of the deadline is under
# its NETWORK_TIMEOUT (3 s): then it registers the bot and answers at once,
# which lets the service know quickly that its workers are up.
CREATE_TIMEOUT_S = 3.5
# For actions without a timeout of their own.
DEFAULT_ACTION_TIMEOUT_S = 900.0

NOBODY = 65534
DIRECTORY_CACHE_ENTRIES = 100_000

DigestKey = tuple[str, int]
BlobSource = Union[bytes, Path]


def digest_of(data: bytes) -> re_pb2.Digest:
    """The SHA-256 digest of a blob."""
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def file_digest(path: Path) -> re_pb2.Digest:
    """The SHA-256 digest of a file, read in chunks."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(STREAM_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return re_pb2.Digest(hash=sha.hexdigest(), size_bytes=size)


def key(digest: re_pb2.Digest) -> DigestKey:
    """A hashable form of a Digest."""
    return (digest.hash, digest.size_bytes)


def now_timestamp() -> timestamp_pb2.Timestamp:
    """The current time as a protobuf Timestamp."""
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


class MissingBlobError(Exception):
    """A blob the action needs is not in CAS (the client must upload it again)."""


class Cas:
    """The CAS and ByteStream calls the worker makes, on one instance."""

    def __init__(self, channel: grpc.Channel, instance: str) -> None:
        self.instance = instance
        self.cas = re_grpc.ContentAddressableStorageStub(channel)
        self.bytestream = bytestream_pb2_grpc.ByteStreamStub(channel)
        self.directory_cache: dict[DigestKey, re_pb2.Directory] = {}

    def _resource(self, digest: re_pb2.Digest) -> str:
        prefix = f"{self.instance}/" if self.instance else ""
        return f"{prefix}blobs/{digest.hash}/{digest.size_bytes}"

    def read(self, digests: Iterable[re_pb2.Digest]) -> dict[DigestKey, bytes]:
        """Fetches blobs: small ones in batches, large ones streamed."""
        unique = {key(d): d for d in digests}
        blobs: dict[DigestKey, bytes] = {}
        batch: list[re_pb2.Digest] = []
        batch_bytes = 0
        for digest in unique.values():
            if digest.size_bytes == 0:
                blobs[key(digest)] = b""
            elif digest.size_bytes > BATCH_BYTES // 2:
                blobs[key(digest)] = self._read_stream(digest)
            else:
                if batch and (
                    batch_bytes + digest.size_bytes > BATCH_BYTES or len(batch) >= BATCH_COUNT
                ):
                    blobs.update(self._read_batch(batch))
                    batch, batch_bytes = [], 0
                batch.append(digest)
                batch_bytes += digest.size_bytes
        if batch:
            blobs.update(self._read_batch(batch))
        return blobs

    def _read_batch(self, digests: list[re_pb2.Digest]) -> dict[DigestKey, bytes]:
        request = re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=digests)
        response = self.cas.BatchReadBlobs(request, timeout=RPC_TIMEOUT_S)
        blobs = {}
        for entry in response.responses:
            if entry.status.code == code_pb2.NOT_FOUND:
                raise MissingBlobError(f"blobs/{entry.digest.hash}/{entry.digest.size_bytes}")
            if entry.status.code != code_pb2.OK:
                raise RuntimeError(f"BatchReadBlobs {entry.digest.hash}: {entry.status.message}")
            blobs[key(entry.digest)] = entry.data
        return blobs

    def _read_stream(self, digest: re_pb2.Digest) -> bytes:
        request = bytestream_pb2.ReadRequest(resource_name=self._resource(digest))
        try:
            chunks = [r.data for r in self.bytestream.Read(request, timeout=RPC_TIMEOUT_S)]
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise MissingBlobError(self._resource(digest)) from error
            raise
        return b"".join(chunks)

    def upload(self, blobs: dict[DigestKey, BlobSource]) -> None:
        """Uploads the blobs CAS does not have yet."""
        if not blobs:
            return
        digests = [re_pb2.Digest(hash=h, size_bytes=s) for h, s in blobs]
        missing: list[re_pb2.Digest] = []
        for start in range(0, len(digests), BATCH_COUNT):
            request = re_pb2.FindMissingBlobsRequest(
                instance_name=self.instance, blob_digests=digests[start : start + BATCH_COUNT]
            )
            response = self.cas.FindMissingBlobs(request, timeout=RPC_TIMEOUT_S)
            missing.extend(response.missing_blob_digests)
        batch: list[re_pb2.BatchUpdateBlobsRequest.Request] = []
        batch_bytes = 0
        for digest in missing:
            source = blobs[key(digest)]
            if digest.size_bytes > BATCH_BYTES // 2:
                self._write_stream(digest, source)
                continue
            data = source if isinstance(source, bytes) else source.read_bytes()
            if batch and (batch_bytes + len(data) > BATCH_BYTES or len(batch) >= BATCH_COUNT):
                self._write_batch(batch)
                batch, batch_bytes = [], 0
            batch.append(re_pb2.BatchUpdateBlobsRequest.Request(digest=digest, data=data))
            batch_bytes += len(data)
        if batch:
            self._write_batch(batch)

    def _write_batch(self, requests: list[re_pb2.BatchUpdateBlobsRequest.Request]) -> None:
        request = re_pb2.BatchUpdateBlobsRequest(instance_name=self.instance, requests=requests)
        response = self.cas.BatchUpdateBlobs(request, timeout=RPC_TIMEOUT_S)
        for entry in response.responses:
            if entry.status.code != code_pb2.OK:
                raise RuntimeError(f"BatchUpdateBlobs {entry.digest.hash}: {entry.status.message}")

    def _write_stream(self, digest: re_pb2.Digest, source: BlobSource) -> None:
        prefix = f"{self.instance}/" if self.instance else ""
        name = f"{prefix}uploads/{uuid.uuid4()}/blobs/{digest.hash}/{digest.size_bytes}"

        def requests() -> Iterator[bytestream_pb2.WriteRequest]:
            offset = 0
            with contextlib.ExitStack() as stack:
                if isinstance(source, bytes):
                    chunks: Iterable[bytes] = (
                        source[i : i + STREAM_CHUNK] for i in range(0, len(source), STREAM_CHUNK)
                    )
                else:
                    f = stack.enter_context(source.open("rb"))
                    chunks = iter(lambda: f.read(STREAM_CHUNK), b"")
                for chunk in chunks:
                    yield bytestream_pb2.WriteRequest(
                        resource_name=name if offset == 0 else "",
                        write_offset=offset,
                        data=chunk,
                        finish_write=offset + len(chunk) == digest.size_bytes,
                    )
                    offset += len(chunk)

        response = self.bytestream.Write(requests(), timeout=RPC_TIMEOUT_S)
        if response.committed_size != digest.size_bytes:
            raise RuntimeError(f"ByteStream Write {name}: committed {response.committed_size}")

    def directories(self, root: re_pb2.Digest) -> dict[DigestKey, re_pb2.Directory]:
        """The input root's Directory messages, fetched level by level."""
        found: dict[DigestKey, re_pb2.Directory] = {}
        level = [root]
        while level:
            # Directory blobs are immutable: the ones seen before are not fetched again.
            blobs = self.read(d for d in level if key(d) not in self.directory_cache)
            next_level: list[re_pb2.Digest] = []
            for digest in level:
                directory = self.directory_cache.get(key(digest))
                if directory is None:
                    directory = re_pb2.Directory.FromString(blobs[key(digest)])
                    if len(self.directory_cache) < DIRECTORY_CACHE_ENTRIES:
                        self.directory_cache[key(digest)] = directory
                found[key(digest)] = directory
                next_level.extend(
                    d.digest for d in directory.directories if key(d.digest) not in found
                )
            level = list({key(d): d for d in next_level}.values())
        return found


class FileCache:
    """Input files kept between actions, hard-linked into each input root.

    Each entry is immutable (root-owned, mode 0444 or 0555, one per digest and
    executable bit), so a link in an action's directory cannot be changed by
    the action, which runs as nobody. The cache lives as long as the worker's
    --work-dir and is not bounded: the worker serves test sessions.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, digest_key: DigestKey, executable: bool) -> Path:
        """Where a blob's file lives in the cache."""
        return self.directory / f"{digest_key[0]}-{digest_key[1]}{'-x' if executable else ''}"

    def add(self, digest_key: DigestKey, executable: bool, data: bytes) -> None:
        """Stores a blob (atomically: a crash leaves no truncated entry)."""
        target = self.path(digest_key, executable)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        temporary.write_bytes(data)
        temporary.chmod(0o555 if executable else 0o444)
        os.replace(temporary, target)

    def place(self, digest_key: DigestKey, executable: bool, destination: Path) -> None:
        """Links (or, past the file system's link limit, copies) a cached file."""
        source = self.path(digest_key, executable)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)


def materialise(
    cas: Cas, cache: FileCache, root: re_pb2.Digest, destination: Path, uid: int
) -> None:
    """Writes the input tree under `destination` (which must exist and be empty)."""
    directories = cas.directories(root)
    files: list[tuple[DigestKey, bool, Path]] = []
    digests: dict[DigestKey, re_pb2.Digest] = {}

    def walk(directory: re_pb2.Directory, path: Path) -> None:
        # Directories belong to the action's user, so it can create its outputs.
        os.chown(path, uid, uid)
        for node in directory.files:
            files.append((key(node.digest), node.is_executable, path / node.name))
            digests[key(node.digest)] = node.digest
        for link in directory.symlinks:
            os.symlink(link.target, path / link.name)
        for child in directory.directories:
            (path / child.name).mkdir()
            walk(directories[key(child.digest)], path / child.name)

    walk(directories[key(root)], destination)
    wanted = {(digest_key, executable) for digest_key, executable, _ in files}
    missing = {k for k, executable in wanted if not cache.path(k, executable).exists()}
    if missing:
        blobs = cas.read(digests[k] for k in missing)
        for digest_key, executable in wanted:
            if digest_key in missing and not cache.path(digest_key, executable).exists():
                cache.add(digest_key, executable, blobs[digest_key])
    for digest_key, executable, path in files:
        cache.place(digest_key, executable, path)


@dataclass
class Outputs:
    """What one action produced, ready for the ActionResult and the upload."""

    files: list[re_pb2.OutputFile] = field(default_factory=list)
    directories: list[re_pb2.OutputDirectory] = field(default_factory=list)
    file_symlinks: list[re_pb2.OutputSymlink] = field(default_factory=list)
    directory_symlinks: list[re_pb2.OutputSymlink] = field(default_factory=list)
    symlinks: list[re_pb2.OutputSymlink] = field(default_factory=list)
    blobs: dict[DigestKey, BlobSource] = field(default_factory=dict)


class OutputCollector:
    """Turns the declared outputs found after the run into REAPI messages."""

    def __init__(self, exec_root: Path, work_dir: Path) -> None:
        self.exec_root = exec_root.resolve()
        self.work_dir = work_dir
        self.outputs = Outputs()

    def _inside(self, path: Path) -> bool:
        """Whether a symlink at `path` resolves to something inside the input root."""
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return resolved == self.exec_root or self.exec_root in resolved.parents

    def _file(self, path: Path) -> tuple[re_pb2.Digest, bool]:
        digest = file_digest(path)
        self.outputs.blobs[key(digest)] = path
        return digest, bool(path.stat().st_mode & stat.S_IXUSR)

    def _tree(self, path: Path) -> re_pb2.Tree:
        tree = re_pb2.Tree()
        children: dict[DigestKey, re_pb2.Directory] = {}
        root = self._directory(path, children)
        tree.root.CopyFrom(root)
        tree.children.extend(children.values())
        return tree

    def _directory(
        self, path: Path, children: dict[DigestKey, re_pb2.Directory]
    ) -> re_pb2.Directory:
        directory = re_pb2.Directory()
        for entry in sorted(path.iterdir(), key=lambda p: p.name):
            if entry.is_symlink() and not self._inside(entry):
                directory.symlinks.add(name=entry.name, target=os.readlink(entry))
            elif entry.is_dir():
                child = self._directory(entry, children)
                blob = child.SerializeToString(deterministic=True)
                digest = digest_of(blob)
                children[key(digest)] = child
                self.outputs.blobs[key(digest)] = blob
                directory.directories.add(name=entry.name, digest=digest)
            elif entry.is_file():
                digest, executable = self._file(entry)
                directory.files.add(name=entry.name, digest=digest, is_executable=executable)
        return directory

    def collect(self, relative: str, declared: str) -> None:
        """Adds one output; `declared` is "file", "directory" or "path" (REAPI v2.1)."""
        path = self.work_dir / relative
        if path.is_symlink() and not self._inside(path):
            link = re_pb2.OutputSymlink(path=relative, target=os.readlink(path))
            {"file": self.outputs.file_symlinks, "directory": self.outputs.directory_symlinks}.get(
                declared, self.outputs.symlinks
            ).append(link)
            return
        if path.is_file() and declared in ("file", "path"):
            digest, executable = self._file(path)
            self.outputs.files.append(
                re_pb2.OutputFile(path=relative, digest=digest, is_executable=executable)
            )
        elif path.is_dir() and declared in ("directory", "path"):
            blob = self._tree(path).SerializeToString(deterministic=True)
            digest = digest_of(blob)
            self.outputs.blobs[key(digest)] = blob
            self.outputs.directories.append(
                re_pb2.OutputDirectory(
                    path=relative, tree_digest=digest, is_topologically_sorted=False
                )
            )
        # A missing output is not the worker's error: the client reports it.


@dataclass
class Execution:
    """The outcome of running one command."""

    exit_code: int
    timed_out: bool
    cancelled: bool


class Worker:
    """One bot: a session with BuildGrid, running one lease at a time."""

    def __init__(self, args: argparse.Namespace) -> None:
        target = args.endpoint.removeprefix("grpc://")
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        self.instance: str = args.instance_name
        self.parent: str = args.parent if args.parent is not None else args.instance_name
        self.cas = Cas(self.channel, self.instance)
        self.bots = bots_pb2_grpc.BotsStub(self.channel)
        self.work_dir = Path(args.work_dir).resolve()
        self.bot_id: str = args.bot_id or f"{socket.gethostname()}-{os.getpid()}"
        self.platform: list[tuple[str, str]] = args.platform or [("OSFamily", "Linux")]
        self.uid = NOBODY
        self.cache = FileCache(self.work_dir / "file-cache")
        self.keep_dirs: bool = args.keep_dirs
        self.stop = threading.Event()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def new_session(self) -> bots_pb2.BotSession:
        """CreateBotSession, retried until the server answers (it may still be starting)."""
        device = worker_pb2.Device(handle=self.bot_id)
        for name, value in self.platform:
            device.properties.add(key=name, value=value)
        worker = worker_pb2.Worker(devices=[device])
        worker.configs.add(key="capacity", value="1")
        session = bots_pb2.BotSession(bot_id=self.bot_id, status=bots_pb2.OK, worker=worker)
        while not self.stop.is_set():
            try:
                created = self.bots.CreateBotSession(
                    bots_pb2.CreateBotSessionRequest(parent=self.parent, bot_session=session),
                    timeout=CREATE_TIMEOUT_S,
                )
                LOG.info("bot %s: session %s", self.bot_id, created.name)
                return created
            except grpc.RpcError as error:
                LOG.warning("CreateBotSession: %s; retrying", error.code())
                self.stop.wait(1.0)
        raise SystemExit(0)

    def update(self, session: bots_pb2.BotSession, timeout: float) -> bots_pb2.BotSession:
        """UpdateBotSession; the server long-polls when the bot has no lease."""
        request = bots_pb2.UpdateBotSessionRequest(name=session.name, bot_session=session)
        return self.bots.UpdateBotSession(request, timeout=timeout)

    def run(self) -> None:
        """Polls for leases and runs them until stopped."""
        session = self.new_session()
        while not self.stop.is_set():
            try:
                session = self.update(session, POLL_TIMEOUT_S)
            except grpc.RpcError as error:
                if self.stop.is_set():
                    return
                code = error.code()
                if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    # A long poll that outlived its deadline, or a server restart.
                    self.stop.wait(0.2 if code == grpc.StatusCode.DEADLINE_EXCEEDED else 1.0)
                    continue
                LOG.warning("UpdateBotSession: %s %s; new session", code, error.details())
                session = self.new_session()
                continue
            for lease in session.leases:
                if lease.state == bots_pb2.LeaseState.ACTIVE:
                    session = self.run_lease(session, lease.id)
                    break

    def run_lease(self, session: bots_pb2.BotSession, lease_id: str) -> bots_pb2.BotSession:
        """Runs one lease to completion, heart-beating, and reports it COMPLETED."""
        cancel = threading.Event()
        lease = next(lease for lease in session.leases if lease.id == lease_id)
        future = self.executor.submit(self.execute_lease, lease, cancel)
        while True:
            try:
                status, result = future.result(timeout=HEARTBEAT_S)
                break
            except concurrent.futures.TimeoutError:
                pass
            try:
                session = self.update(session, RPC_TIMEOUT_S)
            except grpc.RpcError as error:
                LOG.warning("heartbeat for %s: %s", lease_id, error.code())
                continue
            if not any(lease.id == lease_id for lease in session.leases):
                LOG.info("lease %s was cancelled", lease_id)
                cancel.set()
        for lease in session.leases:
            if lease.id == lease_id:
                lease.state = bots_pb2.LeaseState.COMPLETED
                lease.status.CopyFrom(status)
                if result is not None:
                    lease.result.Pack(result)
        # Completion must reach the server: retry a few times on transient errors.
        for attempt in range(5):
            try:
                return self.update(session, RPC_TIMEOUT_S)
            except grpc.RpcError as error:
                LOG.warning("completing %s (try %d): %s", lease_id, attempt + 1, error.code())
                time.sleep(1.0)
        return self.new_session()

    def execute_lease(
        self, lease: bots_pb2.Lease, cancel: threading.Event
    ) -> tuple[status_pb2.Status, re_pb2.ActionResult | None]:
        """Fetches, runs and uploads one action; never raises."""
        try:
            action = re_pb2.Action()
            if lease.payload.Is(re_pb2.Action.DESCRIPTOR):
                lease.payload.Unpack(action)
            else:
                digest = re_pb2.Digest()
                lease.payload.Unpack(digest)
                action = re_pb2.Action.FromString(self.cas.read([digest])[key(digest)])
            result = self.execute(action, cancel)
            if result is None:
                return status_pb2.Status(code=code_pb2.CANCELLED, message="cancelled"), None
            action_result, timed_out = result
            if timed_out:
                message = f"action timed out after {action_timeout(action):.0f} s"
                return status_pb2.Status(
                    code=code_pb2.DEADLINE_EXCEEDED, message=message
                ), action_result
            return status_pb2.Status(code=code_pb2.OK), action_result
        except MissingBlobError as error:
            LOG.warning("lease %s: missing blob %s", lease.id, error)
            return status_pb2.Status(
                code=code_pb2.FAILED_PRECONDITION, message=f"missing blob {error}"
            ), None
        except Exception as error:
            LOG.exception("lease %s failed", lease.id)
            return status_pb2.Status(
                code=code_pb2.INTERNAL, message=f"worker error: {error!r}"
            ), None

    def execute(
        self, action: re_pb2.Action, cancel: threading.Event
    ) -> tuple[re_pb2.ActionResult, bool] | None:
        """Runs one action in a fresh directory; None when it was cancelled."""
        metadata = re_pb2.ExecutedActionMetadata(worker=self.bot_id)
        metadata.worker_start_timestamp.CopyFrom(now_timestamp())
        command_blob = self.cas.read([action.command_digest])[key(action.command_digest)]
        command = re_pb2.Command.FromString(command_blob)
        action_dir = Path(os.path.realpath(self.work_dir / f"action-{uuid.uuid4().hex[:12]}"))
        exec_root = action_dir / "exec"
        try:
            exec_root.mkdir(parents=True)
            (action_dir / "root").mkdir()
            metadata.input_fetch_start_timestamp.CopyFrom(now_timestamp())
            materialise(self.cas, self.cache, action.input_root_digest, exec_root, self.uid)
            metadata.input_fetch_completed_timestamp.CopyFrom(now_timestamp())
            work_dir = exec_root / command.working_directory
            declared = declared_outputs(command)
            for relative, _kind in declared:
                make_parents((work_dir / relative).parent, exec_root, self.uid)
            metadata.execution_start_timestamp.CopyFrom(now_timestamp())
            execution = self.run_command(action, command, action_dir, cancel)
            metadata.execution_completed_timestamp.CopyFrom(now_timestamp())
            if execution.cancelled:
                return None
            metadata.output_upload_start_timestamp.CopyFrom(now_timestamp())
            collector = OutputCollector(exec_root, work_dir)
            for relative, kind in declared:
                collector.collect(relative, kind)
            result = self.action_result(execution, collector.outputs, action_dir)
            self.cas.upload(collector.outputs.blobs)
            metadata.output_upload_completed_timestamp.CopyFrom(now_timestamp())
            metadata.worker_completed_timestamp.CopyFrom(now_timestamp())
            result.execution_metadata.CopyFrom(metadata)
            LOG.info(
                "ran %s: exit %d%s, %d files, %d dirs (declared as %s)",
                command.arguments[0] if command.arguments else "?",
                execution.exit_code,
                " (timed out)" if execution.timed_out else "",
                len(result.output_files),
                len(result.output_directories),
                "output_paths" if command.output_paths else "output_files/output_directories",
            )
            return result, execution.timed_out
        finally:
            if not self.keep_dirs:
                remove_tree(action_dir)

    def action_result(
        self, execution: Execution, outputs: Outputs, action_dir: Path
    ) -> re_pb2.ActionResult:
        """The ActionResult; stdout and stderr join the blobs to upload."""
        result = re_pb2.ActionResult(exit_code=execution.exit_code)
        result.output_files.extend(outputs.files)
        result.output_directories.extend(outputs.directories)
        result.output_file_symlinks.extend(outputs.file_symlinks)
        result.output_directory_symlinks.extend(outputs.directory_symlinks)
        result.output_symlinks.extend(outputs.symlinks)
        for name, field_name in (("stdout", "stdout_digest"), ("stderr", "stderr_digest")):
            path = action_dir / name
            digest = file_digest(path)
            outputs.blobs[key(digest)] = path
            getattr(result, field_name).CopyFrom(digest)
        return result

    def run_command(
        self,
        action: re_pb2.Action,
        command: re_pb2.Command,
        action_dir: Path,
        cancel: threading.Event,
    ) -> Execution:
        """Runs the command in the sandbox, bounded by the action's timeout."""
        spec = {
            "root": str(action_dir / "root"),
            "exec_dir": str(action_dir / "exec"),
            "work_dir": command.working_directory,
            "argv": list(command.arguments),
            # Exactly the Command's variables: nothing of the worker's leaks in.
            "env": {variable.name: variable.value for variable in command.environment_variables},
            "uid": self.uid,
            "gid": self.uid,
        }
        spec_path = action_dir / "sandbox.json"
        spec_path.write_text(json.dumps(spec))
        argv = [
            UNSHARE,
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--net",
            "--ipc",
            "--uts",
            sys.executable,
            "-I",
            "-S",
            str(SANDBOX_EXEC),
            str(spec_path),
        ]
        deadline = time.monotonic() + action_timeout(action)
        with (action_dir / "stdout").open("wb") as out, (action_dir / "stderr").open("wb") as err:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={},
                start_new_session=True,
            )
            while True:
                try:
                    exit_code = process.wait(timeout=0.1)
                    return Execution(exit_code, timed_out=False, cancelled=False)
                except subprocess.TimeoutExpired:
                    pass
                timed_out = time.monotonic() > deadline
                if timed_out or cancel.is_set() or self.stop.is_set():
                    # Killing the namespace's init (unshare's child) kills everything in it.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return Execution(-signal.SIGKILL, timed_out=timed_out, cancelled=not timed_out)


def action_timeout(action: re_pb2.Action) -> float:
    """The action's timeout in seconds, or the worker's default."""
    timeout = action.timeout
    seconds = timeout.seconds + timeout.nanos / 1e9
    return seconds if seconds > 0 else DEFAULT_ACTION_TIMEOUT_S


def declared_outputs(command: re_pb2.Command) -> list[tuple[str, str]]:
    """(path, kind) of each output; output_paths (REAPI v2.1) supersedes the older fields."""
    if command.output_paths:
        return [(path, "path") for path in command.output_paths]
    return [(path, "file") for path in command.output_files] + [
        (path, "directory") for path in command.output_directories
    ]


def make_parents(directory: Path, exec_root: Path, uid: int) -> None:
    """Creates an output's parent directories, owned by the action's user."""
    missing = []
    while not directory.exists() and directory != exec_root:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        os.chown(path, uid, uid)


def remove_tree(path: Path) -> None:
    """Deletes an action directory, including read-only inputs the action left."""

    def make_writable(function, failed: str, _error) -> None:
        os.chmod(os.path.dirname(failed), 0o755)
        function(failed)

    if path.exists():
        shutil.rmtree(path, onerror=make_writable)


def platform_property(text: str) -> tuple[str, str]:
    """Parses --platform KEY=VALUE."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        required=True,
        help="BuildGrid's address, grpc://127.0.0.1:PORT (loopback only)",
    )
    parser.add_argument(
        "--instance-name",
        default="",
        help="REAPI instance of the CAS and the bots service (default: '')",
    )
    parser.add_argument(
        "--parent",
        default=None,
        help="parent of the bot session in CreateBotSession (default: the instance name)",
    )
    parser.add_argument("--bot-id", default="", help="the bot's unique id (default: HOSTNAME-PID)")
    parser.add_argument(
        "--work-dir",
        required=True,
        help="directory for the per-action directories (created if missing)",
    )
    parser.add_argument(
        "--platform",
        type=platform_property,
        action="append",
        metavar="KEY=VALUE",
        help="a property of the bot that jobs are matched against; repeatable "
        "(default: OSFamily=Linux)",
    )
    parser.add_argument(
        "--keep-dirs", action="store_true", help="keep each action's directory (for debugging)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each RPC failure and action"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Runs the worker until SIGTERM or SIGINT."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not args.endpoint.startswith("grpc://127.0.0.1:"):
        LOG.error("--endpoint must be grpc://127.0.0.1:PORT: only loopback is allowed")
        return 2
    if os.geteuid() != 0:
        LOG.error("the worker needs root for mount namespaces and chroot")
        return 2
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    worker = Worker(args)

    def stop(_signum: int, _frame: object) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The poll loop runs in a thread so that the main thread can take signals
    # while a gRPC call is blocking.
    loop = threading.Thread(target=worker.run, name="bot", daemon=True)
    loop.start()
    while loop.is_alive() and not worker.stop.is_set():
        worker.stop.wait(0.5)
    worker.stop.set()
    # Closing the channel cancels a pending long poll, so the loop ends at once.
    worker.channel.close()
    loop.join(timeout=5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
