"""wheel_dist.py copy/publish: destinations, overwrite rules, twine's command line, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml_wheels.dist.cli import main, split_files
from ml_wheels.dist.copy import copy_out, resolve_destination
from ml_wheels.dist.publish import twine_arguments
from ml_wheels.errors import WheelError

from .helpers import TOOLS


def _dist(tmp_path: Path) -> list[str]:
    src = tmp_path / "bazel-bin"
    src.mkdir()
    wheel = src / "pkg-1.0-py3-none-any.whl"
    sdist = src / "pkg-1.0.tar.gz"
    wheel.write_bytes(b"wheel bytes")
    sdist.write_bytes(b"sdist bytes")
    wheel.chmod(0o555)  # Bazel outputs are read-only
    return [str(wheel), str(sdist)]


def test_relative_destination_is_relative_to_build_working_directory(tmp_path):
    env = {"BUILD_WORKING_DIRECTORY": str(tmp_path / "here")}
    assert resolve_destination("out/d", env) == str(tmp_path / "here" / "out" / "d")
    assert resolve_destination("/abs/../x", env) == "/x"


def test_relative_destination_outside_bazel_run_is_an_error():
    with pytest.raises(WheelError, match="BUILD_WORKING_DIRECTORY is not set"):
        resolve_destination("out", {})
    with pytest.raises(WheelError, match="destination directory is empty"):
        resolve_destination("", {"BUILD_WORKING_DIRECTORY": "/x"})


def test_copy_creates_the_directory_and_keeps_names(tmp_path):
    files = _dist(tmp_path)
    out = tmp_path / "a" / "b"
    written = copy_out(files, str(out))
    assert written == [str(out / "pkg-1.0-py3-none-any.whl"), str(out / "pkg-1.0.tar.gz")]
    assert (out / "pkg-1.0-py3-none-any.whl").read_bytes() == b"wheel bytes"
    assert (out / "pkg-1.0-py3-none-any.whl").stat().st_mode & 0o777 == 0o644
    assert sorted(os.listdir(out)) == ["pkg-1.0-py3-none-any.whl", "pkg-1.0.tar.gz"]


def test_identical_file_is_kept_different_one_refused_then_forced(tmp_path):
    files = _dist(tmp_path)
    out = tmp_path / "out"
    copy_out(files, str(out))
    copy_out(files, str(out))  # same bytes: fine
    (out / "pkg-1.0.tar.gz").write_bytes(b"other")
    (out / "pkg-1.0-py3-none-any.whl").unlink()
    with pytest.raises(
        WheelError, match=r"pkg-1.0.tar.gz already exists with different contents.*--force"
    ):
        copy_out(files, str(out))
    assert not (out / "pkg-1.0-py3-none-any.whl").exists()  # all or nothing
    copy_out(files, str(out), force=True)
    assert (out / "pkg-1.0.tar.gz").read_bytes() == b"sdist bytes"


def test_copy_errors_name_the_file(tmp_path):
    files = _dist(tmp_path)
    with pytest.raises(WheelError, match="no distribution file"):
        copy_out([], str(tmp_path))
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(WheelError, match=r"notes.txt is not a wheel \(.whl\) or an sdist"):
        copy_out([str(other)], str(tmp_path / "o"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(WheelError, match="file exists and is not a directory"):
        copy_out(files, str(tmp_path / "file"))
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "pkg-1.0.tar.gz").write_bytes(b"x")
    with pytest.raises(WheelError, match=r"two files are named pkg-1\.0\.tar\.gz"):
        copy_out([files[1], str(twin / "pkg-1.0.tar.gz")], str(tmp_path / "o"))


def test_split_files():
    assert split_files(["--files", "a", "b", "--end-files", "dir", "--force"]) == (
        ["a", "b"],
        ["dir", "--force"],
    )
    with pytest.raises(WheelError, match="--end-files"):
        split_files(["--files", "a"])


def test_twine_arguments_need_a_repository_and_never_prompt(tmp_path):
    files = _dist(tmp_path)
    env = {"TWINE_REPOSITORY_URL": "http://127.0.0.1:1/legacy/"}
    assert twine_arguments(files, ["--skip-existing"], env) == [
        "upload",
        "--non-interactive",
        "--skip-existing",
        *files,
    ]
    assert twine_arguments(files, ["--repository-url", "http://x/"], {})[2:4] == [
        "--repository-url",
        "http://x/",
    ]
    assert twine_arguments(files, ["-r", "testpypi"], {})
    with pytest.raises(WheelError, match="no repository to upload to: set TWINE_REPOSITORY_URL"):
        twine_arguments(files, [], {"TWINE_PASSWORD": "x"})
    with pytest.raises(WheelError, match="missing from the runfiles"):
        twine_arguments([str(tmp_path / "gone.whl")], [], env)


def test_cli_copy_and_exit_status(tmp_path, capsys, monkeypatch):
    files = _dist(tmp_path)
    monkeypatch.setenv("BUILD_WORKING_DIRECTORY", str(tmp_path))
    assert main(["copy", "--files", *files, "--end-files", "out"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(tmp_path / "out" / "pkg-1.0-py3-none-any.whl"),
        str(tmp_path / "out" / "pkg-1.0.tar.gz"),
    ]
    (tmp_path / "out" / "pkg-1.0.tar.gz").write_bytes(b"changed")
    assert main(["copy", "--files", *files, "--end-files", "out"]) == 2
    assert "wheel_dist: error: " in capsys.readouterr().err
    assert main(["nonsense"]) == 2
    assert "first argument must be `copy` or `publish`" in capsys.readouterr().err


def test_publish_without_twine_says_how_to_provide_it(tmp_path):
    files = _dist(tmp_path)
    env = {"TWINE_REPOSITORY_URL": "http://127.0.0.1:9/legacy/", "PATH": os.environ["PATH"]}
    result = subprocess.run(
        # -S -I: no site-packages, as under Bazel: twine is not importable.
        [
            sys.executable,
            "-S",
            "-I",
            str(TOOLS / "wheel_dist.py"),
            "publish",
            "--files",
            *files,
            "--end-files",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "wheel_publish: error: cannot import twine" in result.stderr
    assert "set wheel_publish's twine attribute" in result.stderr
