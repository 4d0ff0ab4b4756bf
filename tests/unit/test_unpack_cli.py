"""tools/unpack_wheel.py run as a plain script, the way Bazel runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .test_unpack import Raw, raw_zip, wheel_entries, write

UNPACK_WHEEL = Path(__file__).resolve().parents[2] / "tools" / "unpack_wheel.py"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(UNPACK_WHEEL), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_unpacks_quietly(tmp_path):
    wheel = write(tmp_path / "w.whl", raw_zip(wheel_entries()))
    out = tmp_path / "out"
    out.mkdir()
    proc = run(wheel, "--output-dir", out)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (out / "demo/__init__.py").read_bytes() == b"VALUE = 42\n"


def test_error_is_one_line_without_traceback(tmp_path):
    wheel = write(tmp_path / "w.whl", raw_zip(wheel_entries(extra=[Raw("../evil.py", b"x")])))
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
    wheel = write(tmp_path / "w.whl", raw_zip([Raw("pkg/a.py", b"a")]))
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
    wheel = write(tmp_path / "w.whl", raw_zip(wheel_entries({"pkg/big": bytes(3000)})))
    proc = run(wheel, "--output-dir", tmp_path / "out", "--max-total-size", "2K")
    assert proc.returncode == 2
    assert "above the bound of 2048" in proc.stderr
    proc = run(wheel, "--output-dir", tmp_path / "out", "--max-total-size", "1MiB")
    assert proc.returncode == 0, proc.stderr


def test_bad_arguments_exit_2_with_usage(tmp_path):
    proc = run(tmp_path / "w.whl", "--output-dir", tmp_path, "--max-total-size", "lots")
    assert proc.returncode == 2
    assert "usage:" in proc.stderr
    assert "--max-total-size: must be a size" in proc.stderr


def test_help_documents_the_bounds():
    proc = run("--help")
    assert proc.returncode == 0
    for needle in ("64 GiB", "1100", "--no-verify-record", "--zip-dep", "1980-01-01"):
        assert needle in proc.stdout
