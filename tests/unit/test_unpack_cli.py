"""tools/unpack_wheel.py run as a plain script, the way Bazel runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_unpack import WHEEL_NAME, Raw, raw_zip, wheel_entries, write

UNPACK_WHEEL = Path(__file__).resolve().parents[2] / "tools" / "unpack_wheel.py"


def run(*args, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(UNPACK_WHEEL), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def test_unpacks_quietly(tmp_path):
    wheel = write(tmp_path / WHEEL_NAME, raw_zip(wheel_entries()))
    out = tmp_path / "out"
    out.mkdir()
    proc = run(wheel, "--output-dir", out)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (out / "demo/__init__.py").read_bytes() == b"VALUE = 42\n"


def test_error_is_one_line_without_traceback(tmp_path):
    wheel = write(tmp_path / WHEEL_NAME, raw_zip(wheel_entries(extra=[Raw("../evil.py", b"x")])))
    out = tmp_path / "out"
    proc = run(wheel, "--output-dir", out)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"unpack_wheel: error: {wheel}: entry '../evil.py' has a '..'")
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not (tmp_path.parent / "evil.py").exists()


def test_no_verify_record_and_zip_deps(tmp_path):
    wheel = write(tmp_path / WHEEL_NAME, raw_zip([Raw("pkg/a.py", b"a")]))
    dep = write(tmp_path / "d.zip", raw_zip([Raw("pkg/lib/b.so", b"b", mode=0o100755)]))
    out = tmp_path / "out"
    proc = run(wheel, "--output-dir", out)
    assert proc.returncode == 2
    assert "no *.dist-info/RECORD" in proc.stderr
    proc = run(wheel, "--output-dir", out, "--no-verify-record", "--zip-dep", dep, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert (out / "pkg/a.py").read_bytes() == b"a"
    assert (out / "pkg/lib/b.so").stat().st_mode & 0o777 == 0o755


def test_limits_take_units(tmp_path):
    wheel = write(tmp_path / WHEEL_NAME, raw_zip(wheel_entries({"pkg/big": bytes(3000)})))
    proc = run(wheel, "--output-dir", tmp_path / "out", "--max-total-size", "2K")
    assert proc.returncode == 2
    assert "above the bound of 2048" in proc.stderr
    proc = run(wheel, "--output-dir", tmp_path / "out", "--max-total-size", "1MiB")
    assert proc.returncode == 0, proc.stderr


def test_bad_arguments_exit_2_with_usage(tmp_path):
    proc = run(tmp_path / WHEEL_NAME, "--output-dir", tmp_path, "--max-total-size", "lots")
    assert proc.returncode == 2
    assert "usage:" in proc.stderr
    assert "--max-total-size: must be a size" in proc.stderr


def test_help_documents_the_bounds():
    proc = run("--help")
    assert proc.returncode == 0
    needles = ("64 GiB", "1100", "--no-verify-record", "--zip-dep", "1980-01-01")
    needles += ("not regular files (a FIFO", ".dist-info directories", "SIGTERM", "O_EXCL")
    for needle in needles:
        assert needle in proc.stdout


def test_an_output_directory_that_is_a_file_is_one_line(tmp_path):
    wheel = write(tmp_path / WHEEL_NAME, raw_zip(wheel_entries()))
    out = write(tmp_path / "out", b"mine")
    proc = run(wheel, "--output-dir", out)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"unpack_wheel: error: cannot unpack into {out}: it exists and is not a directory; "
        "remove it, or pass a directory as --output-dir\n"
    )
    assert out.read_bytes() == b"mine"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "zip-dep-fifo"])
def test_a_fifo_or_device_is_refused_without_reading_it(tmp_path, kind):
    # A FIFO blocked open() until a writer came, /dev/zero never ends: regular files only.
    fifo = tmp_path / "w.fifo"
    os.mkfifo(fifo)
    wheel = write(tmp_path / WHEEL_NAME, raw_zip(wheel_entries()))
    args = {
        "fifo": [fifo],
        "dev-zero": ["/dev/zero"],
        "zip-dep-fifo": [wheel, "--zip-dep", fifo],
    }[kind]
    proc = run(*args, "--output-dir", tmp_path / "out", timeout=120)
    shown = args[-1]
    assert proc.returncode == 2
    assert proc.stderr == (
        f"unpack_wheel: error: {shown}: is not a regular file; pass the path of a .whl or "
        ".zip file\n"
    )
    assert not (tmp_path / "out").exists()


def _big_wheel(path: Path) -> Path:
    """A wheel whose unpacking takes a while: 256 MiB of zeros, then many small files."""
    payload = {f"demo/part{i:04d}.txt": b"%d\n" % i * 300 for i in range(2000)}
    payload["demo/big.bin"] = bytes(256 << 20)
    return write(path, raw_zip(wheel_entries(payload)))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_unpack_removes_everything_it_created(tmp_path, signum):
    wheel = _big_wheel(tmp_path / WHEEL_NAME)
    out = tmp_path / "out"
    (out / "demo").mkdir(parents=True)
    (out / "keep.txt").write_bytes(b"mine")
    proc = subprocess.Popen(
        [sys.executable, str(UNPACK_WHEEL), str(wheel), "--output-dir", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The largest member is written first: signal once its file exists.
        while not (out / "demo/big.bin").exists() and proc.poll() is None:
            time.sleep(0.001)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, stderr
    assert stdout == ""
    assert stderr == (
        f"unpack_wheel: error: interrupted by {name}; what it had unpacked into {out} is "
        "removed again, run it again\n"
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["demo", "keep.txt"]
