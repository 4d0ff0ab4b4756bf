"""wheel_dist, wheel_publish and python_sdist with real Bazel on tests/fixtures/wheel_dist.

One `bazel build` of everything, then `bazel run` from a subdirectory of the
workspace: `.dist` copies the wheel and the sdist out under their own names
(relative to where bazel ran; an identical file is fine, a different one is
refused unless --force), and `.publish` runs twine 7 (from its pinned wheels,
through --distdir) against a loopback server speaking the legacy upload
API, credentials from the environment only, checked not to reach any Bazel
output. The sdist is pip-installed without an index into a fresh virtualenv:
the same package, console script and METADATA as the wheel.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import gzip
import hashlib
import http.server
import io
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from .bazel_runner import REPO_ROOT, Bazel, remove_tree
from .conftest import copy_workspace
from .test_hermetic_python import _cache_dir

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "wheel_dist"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
WHEEL = "hello_dist-1.2.0-py3-none-any.whl"
SDIST = "hello_dist-1.2.0.tar.gz"
USER = "release-bot"


def _wheelhouse() -> Path:
    """twine and its dependencies, fetched by pip (hashes required), cached."""
    directory = _cache_dir().parent / "wheel-dist-wheelhouse"
    lock = FIXTURE / "requirements_lock.txt"
    pins = [line.split()[0] for line in lock.read_text().splitlines() if "==" in line]
    # Wheel file names start with the escaped name and the version.
    wanted = {pin.replace("-", "_").replace("==", "-").lower() for pin in pins}
    present = {"-".join(p.name.split("-")[:2]).lower() for p in directory.glob("*.whl")}
    if not wanted <= present:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes"),
                *("--only-binary=:all:", "-d", str(directory), "-r", str(lock)),
            ],
            check=True,
        )
    return directory


@pytest.fixture(scope="module")
def bazel(make_bazel) -> Iterator[Bazel]:
    server = make_bazel(FIXTURE, "wheel_dist")
    yield server
    server.release()


@pytest.fixture(scope="module")
def flags() -> list[str]:
    return [f"--distdir={_wheelhouse()}", "--symlink_prefix=/"]


@pytest.fixture(scope="module")
def built(bazel, flags) -> Path:
    """Everything in one build: the wheel, the sdist, .dist and .publish (manual)."""
    bazel.run("build", *flags, "//...", "//:wheel.dist", "//:wheel.publish")
    return bazel.bin_dir()


@pytest.fixture(scope="module")
def in_subdir(bazel) -> Bazel:
    """The same server, with `bazel run` started from <workspace>/sub/dir."""
    sub = bazel.workspace / "sub" / "dir"
    sub.mkdir(parents=True, exist_ok=True)
    return Bazel(sub, bazel.output_base, bazel.env, bazel.umask)


def test_dist_copies_out_relative_to_where_bazel_ran(built, in_subdir, flags):
    result = in_subdir.run("run", *flags, "//:wheel.dist", "--", "out/dist")
    out = in_subdir.workspace / "out" / "dist"
    assert sorted(p.name for p in out.iterdir()) == [WHEEL, SDIST]
    for name in (WHEEL, SDIST):
        assert (out / name).read_bytes() == (built / name).read_bytes()
        assert (out / name).stat().st_mode & 0o777 == 0o644
        assert str(out / name) in result.stdout
    # Again: identical files are fine.
    in_subdir.run("run", *flags, "//:wheel.dist", "--", "out/dist")


def test_dist_refuses_a_different_file_unless_forced(built, in_subdir, flags):
    out = in_subdir.workspace / "clash"
    out.mkdir(exist_ok=True)
    (out / WHEEL).write_bytes(b"not the wheel")
    refused = in_subdir.run("run", *flags, "//:wheel.dist", "--", str(out), check=False)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert f"{out / WHEEL} already exists with different contents" in refused.stderr
    assert "--force" in refused.stderr
    assert (out / WHEEL).read_bytes() == b"not the wheel"
    assert not (out / SDIST).exists()  # nothing copied when one file is refused
    in_subdir.run("run", *flags, "//:wheel.dist", "--", str(out), "--force")
    assert (out / WHEEL).read_bytes() == (built / WHEEL).read_bytes()


class _Uploads(http.server.BaseHTTPRequestHandler):
    """The legacy upload API (PyPI's /legacy/): multipart POST, one file each."""

    received: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        raw = b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields: dict[str, str] = {}
        content = b""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "content":
                content = part.get_payload(decode=True)
                fields["filename"] = part.get_filename()
            else:
                fields[name] = part.get_payload(decode=True).decode()
        _Uploads.received.append((self.headers.get("Authorization", ""), fields, content))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve() -> Iterator[str]:
    """A loopback legacy-upload server; yields its URL."""
    _Uploads.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Uploads)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/legacy/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def upload_server() -> Iterator[str]:
    with _serve() as url:
        yield url


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def _check_uploads(built: Path, password: str) -> None:
    """What the server received: both files, their fields, the credentials."""
    expected_auth = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
    by_file = {
        fields["filename"]: (auth, fields, content) for auth, fields, content in _Uploads.received
    }
    assert sorted(by_file) == [WHEEL, SDIST]
    for name, filetype in ((WHEEL, "bdist_wheel"), (SDIST, "sdist")):
        auth, fields, content = by_file[name]
        data = (built / name).read_bytes()
        assert auth == expected_auth
        assert content == data
        assert fields[":action"] == "file_upload"
        assert fields["name"] == "Hello.Dist"
        assert fields["version"] == "1.2.0"
        assert fields["filetype"] == filetype
        assert fields["sha256_digest"] == hashlib.sha256(data).hexdigest()
        assert fields["license_expression"] == "MIT"


def test_publish_uploads_with_twine_and_credentials_from_the_environment(
    built, bazel, in_subdir, flags, upload_server
):
    password = "pw-" + secrets.token_hex(16)
    env = {
        "TWINE_REPOSITORY_URL": upload_server,
        "TWINE_USERNAME": USER,
        "TWINE_PASSWORD": password,
    }
    publisher = Bazel(in_subdir.workspace, bazel.output_base, {**bazel.env, **env}, bazel.umask)
    result = publisher.run("run", *flags, "//:wheel.publish")
    assert "Uploading distributions to " + upload_server in result.stdout + result.stderr
    _check_uploads(built, password)
    # The password reached twine through the environment only: no file of
    # the output base (actions' outputs, logs, caches) holds it.
    assert _files_containing(bazel.output_base, password.encode()) == []


def test_publish_without_a_repository_refuses(built, in_subdir, flags):
    result = in_subdir.run("run", *flags, "//:wheel.publish", check=False)
    assert result.returncode == 2
    assert (
        "wheel_publish: error: no repository to upload to: set TWINE_REPOSITORY_URL"
        in result.stderr
    )


def test_sdist_is_reproducible_pep625_archive(built):
    data = (built / SDIST).read_bytes()
    # gzip header: no FNAME flag, MTIME 0.
    assert data[:3] == b"\x1f\x8b\x08" and data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {n.split("/", 1)[0] for n in names} == {"hello_dist-1.2.0"}
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            315532800,
            0,
            0,
            "",
            "",
        )
        assert member.mode == 0o644 and member.isfile()
    with tarfile.open(built / SDIST) as tar, zipfile.ZipFile(built / WHEEL) as wheel:
        pkg_info = tar.extractfile("hello_dist-1.2.0/PKG-INFO").read()
        assert pkg_info == wheel.read("hello_dist-1.2.0.dist-info/METADATA")
        assert b"[build-system]" in tar.extractfile("hello_dist-1.2.0/pyproject.toml").read()
        for name in ("hello_dist/__init__.py", "hello_dist/cli.py"):
            assert tar.extractfile("hello_dist-1.2.0/" + name).read() == wheel.read(name)
        assert (
            tar.extractfile("hello_dist-1.2.0/LICENSE").read() == (FIXTURE / "LICENSE").read_bytes()
        )


def test_sdist_pip_installs_without_an_index_to_the_same_package(built, fresh_venv, tmp_path):
    pip = [str(fresh_venv / "bin" / "python"), "-m", "pip"]
    subprocess.run(
        [*pip, "install", "-q", "--no-index", "--no-cache-dir", str(built / SDIST)], check=True
    )
    script = subprocess.run(
        [str(fresh_venv / "bin" / "hello-dist")], capture_output=True, text=True, check=True
    )
    assert script.stdout == "hello from an sdist\n"
    metadata = subprocess.run(
        [
            str(fresh_venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, sys; "
            "sys.stdout.write(m.distribution('Hello.Dist').read_text('METADATA'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    with zipfile.ZipFile(built / WHEEL) as wheel:
        assert metadata == wheel.read("hello_dist-1.2.0.dist-info/METADATA").decode()
        # pip wheel from the sdist: the Bazel wheel's members and bytes (RECORD aside).
        subprocess.run(
            [
                *pip,
                "wheel",
                "-q",
                "--no-index",
                "--no-deps",
                "-w",
                str(tmp_path / "w"),
                str(built / SDIST),
            ],
            check=True,
        )
        rebuilt = zipfile.ZipFile(tmp_path / "w" / WHEEL)
        ours = {n: wheel.read(n) for n in wheel.namelist() if not n.endswith("/RECORD")}
        theirs = {n: rebuilt.read(n) for n in rebuilt.namelist() if not n.endswith("/RECORD")}
        assert theirs == ours
    shutil.rmtree(tmp_path / "w")


# --- the Bazel 7.7.1 + bzlmod lane (scripts/forky.sh) -------------------------


@pytest.fixture(scope="module")
def bazel7(tmp_path_factory, built) -> Iterator[dict[str, object]]:
    """The fixture as a bzlmod module: one build, `.dist` and `.publish` run
    from a subdirectory, in one forky namespace, against a loopback server."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("wheel_dist_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    (workspace / "sub").mkdir()
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = f"--nosandbox_debug --enable_bzlmod --symlink_prefix=/ --distdir={_wheelhouse()}"
    password = "pw7-" + secrets.token_hex(16)
    with _serve() as url:
        env = f"TWINE_REPOSITORY_URL={url} TWINE_USERNAME={USER} TWINE_PASSWORD={password}"
        script = "\n".join(
            [
                "set -eu",
                f"cd {workspace}",
                f"{bazel} build {flags} //... //:wheel.dist //:wheel.publish >build.log 2>&1"
                f" || {{ tail -n 80 build.log; {bazel} shutdown; exit 1; }}",
                "cd sub",
                f"{bazel} run {flags} //:wheel.dist -- out >dist.log 2>&1"
                f" || {{ tail -n 40 dist.log; {bazel} shutdown; exit 1; }}",
                f"env {env} {bazel} run {flags} //:wheel.publish >publish.log 2>&1"
                f" || {{ tail -n 40 publish.log; {bazel} shutdown; exit 1; }}",
                f"{bazel} shutdown",
            ]
        )
        (workdir / "run.sh").write_text(script + "\n")
        result = subprocess.run(
            [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        received = list(_Uploads.received)
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    (workdir / "run.sh").unlink()  # the only file that held the password
    yield {
        "workspace": workspace,
        "password": password,
        "received": received,
        "output_user_root": workdir / "ur",
    }
    remove_tree(workdir)


def test_bazel7_bzlmod_dist_and_publish_give_the_same_bytes(built, bazel7):
    out = bazel7["workspace"] / "sub" / "out"
    assert sorted(p.name for p in out.iterdir()) == [WHEEL, SDIST]
    for name in (WHEEL, SDIST):
        # Bazel 7 + bzlmod builds what Bazel 4.2.3 + WORKSPACE built, byte for byte.
        assert (out / name).read_bytes() == (built / name).read_bytes(), name
    _Uploads.received = bazel7["received"]
    _check_uploads(built, bazel7["password"])
    assert _files_containing(bazel7["output_user_root"], bazel7["password"].encode()) == []


def test_targets_kinds_and_manual_tags(bazel, built):
    kinds = bazel.run("query", "kind(rule, //...)", "--output=label_kind").stdout.splitlines()
    assert sorted(kinds) == sorted(
        [
            "py_binary rule //:wheel.dist",
            "py_binary rule //:wheel.publish",
            "py_import rule //:twine",
            "python_sdist rule //:sdist",
            "python_wheel rule //:wheel",
        ]
    )
    manual = bazel.run("query", "attr(tags, manual, //...)").stdout.split()
    assert sorted(manual) == ["//:wheel.dist", "//:wheel.publish"]
