"""The zip writer: layout, modes, order, zip64 and atomic output."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
import zipfile

import pytest

from ml_wheels.errors import WheelError
from ml_wheels.pack import write_wheel
from ml_wheels.sources import BytesSource, FileSource
from ml_wheels.zipwriter import validate_arcname

from .helpers import verify_record

DIST_INFO = "demo-1.0.dist-info"
GENERATED = {
    "METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}


def _write(path, payload, level=6, **kwargs):
    write_wheel(str(path), DIST_INFO, payload, GENERATED, level, 1, **kwargs)
    return path


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("/abs/x.py", "absolute"),
        ("a\\b.py", "backslash"),
        ("a/../b.py", "'..'"),
        ("a//b.py", "empty"),
        ("./a.py", "'.'"),
        ("a/", "empty"),
        ("a\0b", "NUL"),
        ("bad\udcff.py", "UTF-8"),
        ("x" * 70000, "65535"),
    ],
)
def test_invalid_arcnames(name, problem):
    with pytest.raises(WheelError) as info:
        validate_arcname(name)
    assert problem in str(info.value)


def test_layout_order_and_fixed_fields(tmp_path):
    payload = {
        "pkg/zeta.py": BytesSource(b"z = 1\n"),
        "pkg/Alpha.py": BytesSource(b"a = 1\n"),
        "pkg/é.txt": BytesSource("é".encode()),
        "pkg/e.txt": BytesSource(b"e"),
        "aaa/first.py": BytesSource(b""),
        f"{DIST_INFO}/licenses/LICENSE": BytesSource(b"MIT\n"),
        "zzz.data/x": BytesSource(b"not the data dir of this wheel, still payload"),
    }
    wheel = _write(tmp_path / "w.whl", payload)
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == [
        "aaa/first.py",
        "pkg/Alpha.py",
        "pkg/e.txt",
        "pkg/zeta.py",
        "pkg/é.txt",
        "zzz.data/x",
        f"{DIST_INFO}/METADATA",
        f"{DIST_INFO}/WHEEL",
        f"{DIST_INFO}/licenses/LICENSE",
        f"{DIST_INFO}/RECORD",
    ]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3
        assert info.create_version == 20
        assert info.extract_version == 20
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert bool(info.flag_bits & 0x800) == (not info.filename.isascii())
        assert info.flag_bits & 0x8 == 0  # no data descriptor
    verify_record(wheel)
    # Nothing but the local headers, data and central directory: no gaps.
    raw = wheel.read_bytes()
    assert raw.count(b"PK\x03\x04") == len(infos)
    assert raw.endswith(b"\0\0") and b"PK\x06\x06" not in raw


def test_modes_never_come_from_the_source(tmp_path):
    files = {
        "pkg/mod.py": (b"x = 1\n", 0o777),
        "pkg/_ext.so": (b"not really elf", 0o600),
        "pkg/libfoo.so.1.2": (b"lib", 0o644),
        "pkg/libbar.dylib": (b"lib", 0o644),
        "pkg/ext.pyd": (b"lib", 0o644),
        "pkg/x.DLL": (b"lib", 0o644),
        "demo-1.0.data/scripts/tool": (b"print(1)\n", 0o600),
        "pkg/bin/native": (b"\x7fELF\x02\x01\x01" + b"\0" * 50, 0o600),
        "pkg/bin/macho": (b"\xcf\xfa\xed\xfe" + b"\0" * 50, 0o644),
        "pkg/run.sh": (b"#!/bin/sh\necho hi\n", 0o644),
        "pkg/notes.so.txt": (b"text", 0o755),
        "pkg/sofa": (b"text", 0o777),
    }
    expected = {
        "pkg/mod.py": 0o644,
        "pkg/_ext.so": 0o755,
        "pkg/libfoo.so.1.2": 0o755,
        "pkg/libbar.dylib": 0o755,
        "pkg/ext.pyd": 0o755,
        "pkg/x.DLL": 0o755,
        "demo-1.0.data/scripts/tool": 0o755,
        "pkg/bin/native": 0o755,
        "pkg/bin/macho": 0o755,
        "pkg/run.sh": 0o755,
        "pkg/notes.so.txt": 0o644,
        "pkg/sofa": 0o644,
    }
    payload = {}
    for i, (name, (data, mode)) in enumerate(files.items()):
        src = tmp_path / f"src{i}"
        src.write_bytes(data)
        src.chmod(mode)
        payload[name] = FileSource(str(src))
    wheel = _write(tmp_path / "w.whl", payload)
    with zipfile.ZipFile(wheel) as zf:
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    for name, mode in expected.items():
        assert modes[name] == stat.S_IFREG | mode, name
    assert modes[f"{DIST_INFO}/RECORD"] == stat.S_IFREG | 0o644


def test_level_zero_stores(tmp_path):
    wheel = _write(tmp_path / "w.whl", {"a.txt": BytesSource(b"abc" * 100)}, level=0)
    with zipfile.ZipFile(wheel) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert zf.read("a.txt") == b"abc" * 100
    verify_record(wheel)


def test_unzip_and_python_zipfile_accept_it(tmp_path):
    payload = {f"pkg/m{i}.py": BytesSource(os.urandom(50) * i) for i in range(20)}
    wheel = _write(tmp_path / "w.whl", payload)
    proc = subprocess.run(["unzip", "-t", str(wheel)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "zipfile", "-t", str(wheel)], capture_output=True, check=False
    )
    assert proc.returncode == 0


def _local_extra(raw: bytes, offset: int) -> bytes:
    name_len, extra_len = struct.unpack_from("<HH", raw, offset + 26)
    start = offset + 30 + name_len
    return raw[start : start + extra_len]


def test_zip64_structures_read_back(tmp_path):
    # Lowering the threshold makes every size and offset "need" zip64, so the
    # zip64 extra fields and end records are exercised with small data.
    payload = {f"pkg/f{i}.bin": BytesSource(bytes([i]) * (300 + i)) for i in range(5)}
    wheel = _write(tmp_path / "w.whl", payload, zip64_threshold=200)
    raw = wheel.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        for i, info in enumerate(infos[:5]):
            assert zf.read(info) == bytes([i]) * (300 + i)
            extra = _local_extra(raw, info.header_offset)
            kind, size, usize, csize = struct.unpack("<HHQQ", extra)
            assert (kind, size, usize, csize) == (1, 16, info.file_size, info.compress_size)
            assert info.extract_version == 45
        assert zf.testzip() is None
    proc = subprocess.run(["unzip", "-t", str(wheel)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verify_record(wheel)


def test_more_than_65535_members(tmp_path):
    count = 70_000
    payload = {f"d{i // 1000}/f{i}": BytesSource(b"") for i in range(count)}
    wheel = _write(tmp_path / "many.whl", payload, level=0)
    raw = wheel.read_bytes()
    eocd = raw[-22:]
    assert eocd[:4] == b"PK\x05\x06"
    assert struct.unpack_from("<H", eocd, 10)[0] == 0xFFFF
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert len(names) == count + 3
        assert zf.read("d69/f69999") == b""
    assert names[-1] == f"{DIST_INFO}/RECORD"


def test_failure_leaves_no_output(tmp_path):
    class Exploding:
        def describe(self):
            return "exploding source"

        def size_hint(self):
            return 10

        def open(self):
            raise OSError(5, "Input/output error")

    out = tmp_path / "w.whl"
    with pytest.raises(WheelError, match="exploding source"):
        _write(out, {"a.py": BytesSource(b"a"), "b.py": Exploding()})
    assert list(tmp_path.iterdir()) == []


def test_file_and_directory_with_same_path_rejected(tmp_path):
    with pytest.raises(WheelError, match="'pkg/x'"):
        _write(tmp_path / "w.whl", {"pkg/x": BytesSource(b""), "pkg/x/y.py": BytesSource(b"")})


def test_changed_input_detected(tmp_path):
    class Liar:
        def describe(self):
            return "liar.bin"

        def size_hint(self):
            return 5

        def open(self):
            import io

            return io.BytesIO(b"0123456789"), 5

    with pytest.raises(WheelError, match=r"liar\.bin changed size"):
        _write(tmp_path / "w.whl", {"a.bin": Liar()})


def test_atomic_output_creates_a_fresh_file_and_cleans_up_when_the_rename_fails(tmp_path):
    from ml_wheels.zipwriter import atomic_output

    target = tmp_path / "out.whl"
    (tmp_path / "victim").write_bytes(b"keep")
    # Every name the old code (or a guess) could use is a symlink to the victim.
    (tmp_path / "out.whl.tmp").symlink_to(tmp_path / "victim")
    message = r"cannot write output .*out\.whl: Is a directory; remove"
    with pytest.raises(WheelError, match=message), atomic_output(str(target)) as fp:
        (temp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".out.whl.")]
        assert not temp.is_symlink() and temp.stat().st_size == 0
        fp.write(b"payload")
        target.mkdir()  # Something takes the output path while the wheel is written.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.whl", "out.whl.tmp", "victim"]
    assert (tmp_path / "victim").read_bytes() == b"keep"
