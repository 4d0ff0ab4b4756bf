"""unpack_wheel (the library): valid wheels, every hostile case, limits and clean-up.

Archives are built here byte by byte (``raw_zip``), independently of the code
under test, so each hostile case is exactly what it says.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ml_wheels.errors import WheelError
from ml_wheels.pack import write_wheel
from ml_wheels.sources import BytesSource
from ml_wheels.unpack import FIXED_MTIME, Limits, unpack_wheel

DIST_INFO = "demo-1.0.dist-info"
WHEEL_NAME = "demo-1.0-py3-none-any.whl"
PAYLOAD = {
    "demo/__init__.py": b"VALUE = 42\n",
    "demo/data/table.json": b'{"a": 1}\n' * 100,
    "demo/bin/tool.sh": b"#!/bin/sh\necho hi\n",
}
REAL_WHEELS = Path("/opt/pypi-more/files")


@dataclass(frozen=True)
class Raw:
    """One entry of a hand-made zip archive."""

    name: bytes | str
    data: bytes = b""
    method: int = zipfile.ZIP_DEFLATED
    declared_size: int | None = None
    crc: int | None = None
    mode: int = 0o100644
    flags: int = 0x0800
    local_name: bytes | None = None


def _name(entry: Raw) -> bytes:
    return entry.name.encode("utf-8") if isinstance(entry.name, str) else entry.name


def _payload(entry: Raw) -> bytes:
    if entry.method == zipfile.ZIP_DEFLATED:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(entry.data) + compressor.flush()
    return entry.data


def raw_zip(entries: list[Raw], central_extra: list[tuple[bytes, int]] = ()) -> bytes:
    """Writes a zip archive exactly as described (no sanitizing at all).

    ``central_extra`` adds central directory entries (name, offset) pointing
    at arbitrary local headers, for overlap tests.
    """
    out = bytearray()
    central = bytearray()
    count = 0
    for entry in entries:
        name = _name(entry)
        local_name = entry.local_name if entry.local_name is not None else name
        payload = _payload(entry)
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        size = len(entry.data) if entry.declared_size is None else entry.declared_size
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            entry.flags,
            entry.method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(local_name),
            0,
        )
        out += local_name + payload
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            0x0314,
            20,
            entry.flags,
            entry.method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(name),
            0,
            0,
            0,
            0,
            (entry.mode << 16) & 0xFFFFFFFF,
            offset,
        )
        central += name
        count += 1
    for name, offset in central_extra:
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            0x0314,
            20,
            0x0800,
            0,
            0,
            0x21,
            0,
            0,
            0,
            len(name),
            0,
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        central += name
        count += 1
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + eocd)


def record_line(path: str, data: bytes, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm, data).digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{path},{algorithm}={encoded},{len(data)}\n"


def wheel_entries(
    payload: dict[str, bytes] | None = None,
    *,
    extra: list[Raw] = (),
    record_overrides: dict[str, str] | None = None,
    unlisted: tuple[str, ...] = (),
) -> list[Raw]:
    """Entries of a valid wheel: payload, METADATA, WHEEL and a correct RECORD.

    ``extra`` entries go in the archive; ``record_overrides`` replaces RECORD
    lines by path ('' drops the line); ``unlisted`` paths are left out of RECORD.
    """
    files = dict(PAYLOAD if payload is None else payload)
    files[f"{DIST_INFO}/METADATA"] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    files[f"{DIST_INFO}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    overrides = record_overrides or {}
    lines = []
    for path, data in files.items():
        if path in unlisted:
            continue
        lines.append(overrides.get(path, record_line(path, data)))
    for path, line in overrides.items():
        if path not in files:
            lines.append(line)
    lines.append(f"{DIST_INFO}/RECORD,,\n")
    entries = [
        Raw(path, data, mode=0o100755 if data.startswith(b"#!") else 0o100644)
        for path, data in files.items()
    ]
    return [*entries, *extra, Raw(f"{DIST_INFO}/RECORD", "".join(lines).encode())]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def area(tmp_path: Path) -> Path:
    """A directory holding the archives and the output directory ``out``."""
    root = tmp_path / "area"
    root.mkdir()
    return root


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root: file content, or None for directories."""
    result: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        result[rel] = None if path.is_dir() else path.read_bytes()
    return result


def refuse(area: Path, data: bytes, *needles: str, **kwargs) -> str:
    """Unpacking ``data`` fails with every needle in the message; nothing is left."""
    wheel = write(area / WHEEL_NAME, data)
    out = area / "out"
    out.mkdir(exist_ok=True)
    before = sorted(p.name for p in area.parent.iterdir())
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(out), **kwargs)
    message = str(info.value)
    assert message.startswith(f"{wheel}: "), message
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert list(out.iterdir()) == [], "nothing may be left in the output directory"
    assert sorted(p.name for p in area.iterdir()) == sorted(["out", WHEEL_NAME])
    assert sorted(p.name for p in area.parent.iterdir()) == before
    return message


# Valid input ----------------------------------------------------------------


def test_unpacks_a_wheel_written_by_our_writer(area):
    wheel = area / "demo-1.0-py3-none-any.whl"
    generated = {
        "METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        "WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    sources = {path: BytesSource(data) for path, data in PAYLOAD.items()}
    write_wheel(str(wheel), DIST_INFO, sources, generated, 6, 1)
    out = area / "out"
    result = unpack_wheel(str(wheel), str(out))
    with zipfile.ZipFile(wheel) as zf:
        expected = {name: zf.read(name) for name in zf.namelist()}
    got = {path: data for path, data in tree(out).items() if data is not None}
    assert got == expected
    assert result.files == len(expected)
    assert result.total_bytes == sum(len(d) for d in expected.values())
    tool = out / "demo/bin/tool.sh"
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "demo/__init__.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "demo/data").stat().st_mode) == 0o755
    assert {int(p.stat().st_mtime) for p in out.rglob("*") if p.is_file()} == {FIXED_MTIME}


def test_modes_come_from_the_exec_bits_only(area):
    modes = {"a/run": 0o100700, "a/setuid": 0o104750, "a/plain": 0o100600}
    entries = wheel_entries({path: b"x" for path in modes})
    entries = [replace(e, mode=modes.get(_name(e).decode(), e.mode)) for e in entries]
    out = area / "out"
    unpack_wheel(str(write(area / WHEEL_NAME, raw_zip(entries))), str(out))
    assert stat.S_IMODE((out / "a/run").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "a/setuid").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "a/plain").stat().st_mode) == 0o644


def test_output_is_identical_for_any_number_of_threads(area):
    payload = {f"pkg/m{i}.py": os.urandom(i * 997) for i in range(40)}
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries(payload)))
    results = []
    for jobs in (1, 2, 4):
        out = area / f"out{jobs}"
        unpack_wheel(str(wheel), str(out), jobs=jobs)
        results.append(tree(out))
    assert results[0] == results[1] == results[2]
    assert results[0]["pkg/m39.py"] == payload["pkg/m39.py"]


def test_large_member_streams_in_chunks(area):
    big = os.urandom(1 << 20) * 3 + b"tail"
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries({"pkg/big.bin": big})))
    unpack_wheel(str(wheel), str(area / "out"))
    assert (area / "out/pkg/big.bin").read_bytes() == big


def test_zip64_archives(area):
    wheel = area / "demo-1.0-py3-none-any.whl"
    generated = {"METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"}
    sources = {path: BytesSource(data) for path, data in PAYLOAD.items()}
    write_wheel(str(wheel), DIST_INFO, sources, generated, 6, 1, zip64_threshold=0)
    assert b"PK\x06\x06" in wheel.read_bytes()
    unpack_wheel(str(wheel), str(area / "out"))
    assert (area / "out/demo/__init__.py").read_bytes() == PAYLOAD["demo/__init__.py"]


class _Unseekable(io.RawIOBase):
    def __init__(self, target: io.BytesIO) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.target.write(data)


def test_data_descriptors(area):
    buffer = io.BytesIO()
    with zipfile.ZipFile(_Unseekable(buffer), "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in wheel_entries():
            zf.writestr(_name(entry).decode(), entry.data)
    data = buffer.getvalue()
    assert struct.unpack_from("<H", data, 6)[0] & 0x08, "zipfile wrote data descriptors"
    unpack_wheel(str(write(area / WHEEL_NAME, data)), str(area / "out"))
    assert (area / "out/demo/__init__.py").read_bytes() == PAYLOAD["demo/__init__.py"]


def test_directory_entries_and_stored_members(area):
    entries = wheel_entries(extra=[Raw("demo/empty/", mode=0o40755)])
    entries = [replace(e, method=zipfile.ZIP_STORED) for e in entries]
    unpack_wheel(str(write(area / WHEEL_NAME, raw_zip(entries))), str(area / "out"))
    assert (area / "out/demo/empty").is_dir()


def test_signatures_need_not_be_listed(area):
    entries = wheel_entries(extra=[Raw(f"{DIST_INFO}/RECORD.jws", b"{}")])
    unpack_wheel(str(write(area / WHEEL_NAME, raw_zip(entries))), str(area / "out"))
    assert (area / f"out/{DIST_INFO}/RECORD.jws").read_bytes() == b"{}"


def test_stronger_hashes_are_accepted(area):
    path = "demo/__init__.py"
    line = record_line(path, PAYLOAD[path], "sha512")
    entries = wheel_entries(record_overrides={path: line})
    unpack_wheel(str(write(area / WHEEL_NAME, raw_zip(entries))), str(area / "out"))


def test_zip_deps_join_the_wheel(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw("demo/extra/lib.so", b"\x7fELF", mode=0o100755)]))
    out = area / "out"
    unpack_wheel(str(wheel), str(out), zip_deps=[str(dep)])
    assert (out / "demo/extra/lib.so").read_bytes() == b"\x7fELF"
    assert (out / "demo/__init__.py").exists()


def test_existing_unrelated_files_are_kept(area):
    out = area / "out"
    (out / "demo").mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    unpack_wheel(str(wheel), str(out))
    assert (out / "keep.txt").read_text() == "mine"


def test_no_verify_record_accepts_a_wheel_without_record(area):
    entries = [Raw("pkg/a.py", b"a = 1\n")]
    wheel = write(area / WHEEL_NAME, raw_zip(entries))
    unpack_wheel(str(wheel), str(area / "out"), verify_record=False)
    assert (area / "out/pkg/a.py").read_bytes() == b"a = 1\n"


@pytest.mark.parametrize(
    "wheel",
    sorted(REAL_WHEELS.glob("nvidia_nvtx-*.whl")) + sorted(REAL_WHEELS.glob("nvidia_cufile-*.whl")),
    ids=lambda p: p.name.split("-")[0],
)
def test_real_pypi_wheels_match_zipfile(area, wheel):
    out = area / "out"
    unpack_wheel(str(wheel), str(out))
    with zipfile.ZipFile(wheel) as zf:
        expected = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    assert {p: d for p, d in tree(out).items() if d is not None} == expected


# Hostile names and entry types ---------------------------------------------


def test_path_traversal_is_refused_and_writes_nothing(area):
    sentinel = area.parent / "evil.py"
    data = raw_zip(wheel_entries(extra=[Raw("../evil.py", b"import os\n")]))
    refuse(area, data, "'../evil.py'", "'..'")
    assert not sentinel.exists()


def test_nested_traversal_is_refused(area):
    data = raw_zip(wheel_entries(extra=[Raw("demo/../../evil.py", b"x")]))
    refuse(area, data, "'..'")
    assert not (area.parent / "evil.py").exists()


def test_absolute_path_is_refused(area, tmp_path):
    target = tmp_path / "absolute_evil"
    data = raw_zip(wheel_entries(extra=[Raw(str(target), b"x")]))
    refuse(area, data, "is absolute")
    assert not target.exists()


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("..\\evil.py", "backslash"),
        ("C:/evil.py", "drive letter"),
        ("c:evil.py", "drive letter"),
        ("demo/./x.py", "'.' component"),
        ("demo//x.py", "empty or '.'"),
        ("demo/a\nb.py", "control character"),
        ("demo/a\x00b.py", "NUL"),
        ("demo/" + "x" * 256, "longer than 255"),
    ],
)
def test_hostile_names_are_refused(area, name, needle):
    refuse(area, raw_zip(wheel_entries(extra=[Raw(name, b"x")])), needle)


def test_non_utf8_names_are_refused(area):
    refuse(area, raw_zip(wheel_entries(extra=[Raw(b"demo/caf\xe9.py", b"x")])), "not valid UTF-8")


def test_symlink_entries_are_refused(area):
    link = Raw("demo/link", b"/etc/passwd", mode=0o120777)
    message = refuse(area, raw_zip(wheel_entries(extra=[link])), "symbolic link", "'demo/link'")
    assert "replace the link" in message


def test_device_entries_are_refused(area):
    fifo = Raw("demo/fifo", b"", mode=0o010644)
    refuse(area, raw_zip(wheel_entries(extra=[fifo])), "device, FIFO or socket")


def test_duplicate_entries_are_refused(area):
    entries = wheel_entries()
    entries.insert(1, Raw("demo/__init__.py", b"import evil\n"))
    refuse(area, raw_zip(entries), "'demo/__init__.py' appears twice")


def test_file_and_directory_with_the_same_path_are_refused(area):
    data = raw_zip(wheel_entries(extra=[Raw("demo/__init__.py/", b"", mode=0o40755)]))
    refuse(area, data, "both a file and a directory")


def test_file_used_as_a_parent_directory_is_refused(area):
    data = raw_zip(wheel_entries(extra=[Raw("demo/__init__.py/x.py", b"x")]))
    refuse(area, data, "'demo/__init__.py' is both a file and a directory")


def test_directory_entry_with_content_is_refused(area):
    data = raw_zip(wheel_entries(extra=[Raw("demo/dir/", b"data", mode=0o40755)]))
    refuse(area, data, "both a file and a directory")


def test_directory_mode_without_slash_is_refused(area):
    data = raw_zip(wheel_entries(extra=[Raw("demo/dir", b"", mode=0o40755)]))
    refuse(area, data, "both a file and a directory")


# Corrupt archives ------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 10, 100, 400, -30, -1])
def test_truncated_archives_are_refused(area, keep):
    data = raw_zip(wheel_entries())
    refuse(area, data[:keep], "download or build it again")


def test_truncated_member_data_is_refused(area):
    # The central directory is intact but claims more data than the member has.
    entries = wheel_entries()
    data = bytearray(raw_zip(entries))
    central = data.index(b"PK\x01\x02")
    # Compressed size of the first entry, in its local and central headers.
    struct.pack_into("<I", data, 18, 10**6)
    struct.pack_into("<I", data, central + 20, 10**6)
    refuse(area, bytes(data), "past the end")


def test_bad_crc_is_refused(area):
    entries = [
        replace(e, crc=0x12345678) if _name(e) == b"demo/__init__.py" else e
        for e in wheel_entries()
    ]
    refuse(area, raw_zip(entries), "CRC")


def test_bad_crc_is_refused_without_record_check(area):
    entries = [replace(e, crc=1) for e in wheel_entries()]
    refuse(area, raw_zip(entries), "CRC", verify_record=False)


def test_corrupt_deflate_data_is_refused(area):
    data = bytearray(raw_zip(wheel_entries({"demo/x.py": os.urandom(5000)})))
    start = 30 + len("demo/x.py")
    for i in range(start, start + 40):
        data[i] ^= 0x55
    refuse(area, bytes(data), "download or build it again")


def test_local_name_mismatch_is_refused(area):
    entries = wheel_entries(extra=[Raw("demo/ok.py", b"x", local_name=b"../evil")])
    refuse(area, raw_zip(entries), "different name in its local header")


def test_overlapping_entries_are_refused(area):
    inner = raw_zip([Raw("demo/inner.py", b"x" * 100, method=zipfile.ZIP_STORED)])
    inner_local = inner[: inner.index(b"PK\x01\x02")]
    outer = Raw("demo/outer.bin", inner_local, method=zipfile.ZIP_STORED)
    offset_of_inner = 30 + len("demo/outer.bin")
    data = raw_zip([outer], central_extra=[(b"demo/inner.py", offset_of_inner)])
    refuse(area, data, "share bytes", verify_record=False)


def test_encrypted_entries_are_refused(area):
    entries = wheel_entries(extra=[Raw("demo/secret.py", b"x", flags=0x0801)])
    refuse(area, raw_zip(entries), "encrypted")


def test_unsupported_methods_are_refused(area):
    entries = wheel_entries(extra=[Raw("demo/x.bz2", b"x", method=12)])
    refuse(area, raw_zip(entries), "compression method 12 (bzip2)")


def test_not_a_zip_is_refused(area):
    refuse(area, b"this is not a zip file at all" * 10, "no end of central directory")


def test_trailing_garbage_is_refused(area):
    refuse(area, raw_zip(wheel_entries()) + b"garbage", "no end of central directory")


# RECORD ---------------------------------------------------------------------


def test_missing_record_is_refused(area):
    entries = [e for e in wheel_entries() if not _name(e).endswith(b"RECORD")]
    refuse(area, raw_zip(entries), "no *.dist-info/RECORD", "--no-verify-record")


def test_record_hash_mismatch_is_refused(area):
    path = "demo/data/table.json"
    line = record_line(path, b"something else")
    line = line.rsplit(",", 1)[0] + f",{len(PAYLOAD[path])}\n"
    entries = wheel_entries(record_overrides={path: line})
    refuse(area, raw_zip(entries), f"'{path}' does not match its sha256 in RECORD")


def test_record_hash_mismatch_of_a_big_file_removes_everything(area):
    # The mismatch is found after the file was written: it must be removed.
    payload = {f"demo/m{i}.py": b"x" * (i * 1000) for i in range(30)}
    path = "demo/m29.py"
    line = record_line(path, b"y" * len(payload[path]))
    refuse(area, raw_zip(wheel_entries(payload, record_overrides={path: line})), "does not match")


def test_record_size_mismatch_is_refused(area):
    path = "demo/__init__.py"
    line = record_line(path, PAYLOAD[path]).rsplit(",", 1)[0] + ",999\n"
    refuse(area, raw_zip(wheel_entries(record_overrides={path: line})), "has 999 bytes")


def test_file_missing_from_record_is_refused(area):
    data = raw_zip(wheel_entries(unlisted=("demo/__init__.py",)))
    refuse(area, data, "'demo/__init__.py' is in the wheel but not in")


def test_file_listed_without_hash_is_refused(area):
    data = raw_zip(wheel_entries(record_overrides={"demo/__init__.py": "demo/__init__.py,,\n"}))
    refuse(area, data, "without a hash")


def test_record_listing_a_missing_file_is_refused(area):
    line = record_line("demo/gone.py", b"x")
    data = raw_zip(wheel_entries(record_overrides={"demo/gone.py": line}))
    refuse(area, data, "lists 'demo/gone.py' but the wheel has no such file")


def test_weak_record_hashes_are_refused(area):
    path = "demo/__init__.py"
    line = record_line(path, PAYLOAD[path], "md5")
    refuse(area, raw_zip(wheel_entries(record_overrides={path: line})), "'md5'")


def test_malformed_record_is_refused(area):
    data = raw_zip(wheel_entries(record_overrides={"demo/__init__.py": "demo/__init__.py\n"}))
    refuse(area, data, "1 fields")


def test_two_dist_info_directories_are_refused(area):
    extra = [Raw("other-1.0.dist-info/RECORD", b"")]
    refuse(
        area,
        raw_zip(wheel_entries(extra=extra)),
        "has several .dist-info directories (demo-1.0.dist-info, other-1.0.dist-info); a wheel "
        "has exactly one",
    )


# The .dist-info directory and the file name (what pip refuses) ---------------


@pytest.mark.parametrize(
    "extra",
    [
        Raw("other-1.0.dist-info/METADATA", b"Name: other\n"),
        Raw("demo-2.0.dist-info/METADATA", b"Name: demo\n"),
        Raw("Other-1.0.DIST-INFO/METADATA", b"Name: other\n"),
        Raw("other-1.0.dist-info/", mode=0o40755),
    ],
    ids=["other-name", "other-version", "upper-case", "directory-entry"],
)
@pytest.mark.parametrize("verify_record", [True, False])
def test_a_second_dist_info_directory_is_refused(area, extra, verify_record):
    # Without a RECORD check too: importlib.metadata would list a second distribution.
    name = _name(extra).decode().split("/")[0]
    refuse(
        area,
        raw_zip(wheel_entries(extra=[extra])),
        "has several .dist-info directories (",
        name,
        "importlib.metadata",
        verify_record=verify_record,
    )


def test_a_dist_info_directory_from_a_zip_dep_is_refused(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw("extra-1.0.dist-info/METADATA", b"Name: extra\n")]))
    out = area / "out"
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(out), zip_deps=[str(dep)])
    assert str(info.value).startswith(
        f"{wheel}: has several .dist-info directories (demo-1.0.dist-info, "
        f"extra-1.0.dist-info from {dep})"
    )
    assert not out.exists()


def test_a_zip_dep_may_add_to_the_wheels_own_dist_info(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw(f"{DIST_INFO}/licenses/EXTRA.txt", b"MIT\n")]))
    unpack_wheel(str(wheel), str(area / "out"), zip_deps=[str(dep)])
    assert (area / f"out/{DIST_INFO}/licenses/EXTRA.txt").read_bytes() == b"MIT\n"


def _renamed(entries: list[Raw], dist_info: str) -> list[Raw]:
    """The wheel with its .dist-info directory renamed, RECORD lines included."""
    result = []
    for entry in entries:
        name = _name(entry).decode().replace(DIST_INFO, dist_info)
        data = entry.data.replace(DIST_INFO.encode(), dist_info.encode())
        result.append(replace(entry, name=name, data=data))
    return result


@pytest.mark.parametrize(
    ("wheel_name", "dist_info"),
    [
        ("demo-1.0-py3-none-any.whl", "other-1.0.dist-info"),
        ("demo-1.0-py3-none-any.whl", "demo-1.1.dist-info"),
        ("demo-1.0-py3-none-any.whl", "demo_extra-1.0.dist-info"),
        ("demo-1.0-py3-none-any.whl", "demo.dist-info"),
        ("demo-1.0-py3-none-any.whl", "demo-one.dist-info"),
        ("demo_pkg-1.0-py3-none-any.whl", "demo-1.0.dist-info"),
    ],
)
@pytest.mark.parametrize("verify_record", [True, False])
def test_a_dist_info_that_does_not_match_the_file_name_is_refused(
    area, wheel_name, dist_info, verify_record
):
    wheel = write(area / wheel_name, raw_zip(_renamed(wheel_entries(), dist_info)))
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(area / "out"), verify_record=verify_record)
    expected = wheel_name.split("-")[0] + "-1.0.dist-info"
    assert str(info.value) == (
        f"{wheel}: has the .dist-info directory {dist_info!r}, which does not match its file "
        f"name (expected {expected}); pip refuses such a wheel: rename the file to the "
        "distribution and version it holds, or rebuild it"
    )
    assert not (area / "out").exists()


@pytest.mark.parametrize(
    ("wheel_name", "dist_info"),
    [
        ("Demo-1.0-py3-none-any.whl", "demo-1.0.dist-info"),
        ("demo-1.0.0-py3-none-any.whl", "demo-1.0.dist-info"),
        ("demo.pkg-1.0-py3-none-any.whl", "Demo_Pkg-1.0.dist-info"),
        ("demo_pkg-1.0-1-py3-none-any.whl", "demo_pkg-1.0.dist-info"),
        ("demo-2.0rc1-py3-none-any.whl", "demo-2.0.0-rc1.dist-info"),
    ],
)
def test_dist_info_names_are_compared_canonically(area, wheel_name, dist_info):
    # As pip: canonicalize_name for the name, Version equality for the version.
    wheel = write(area / wheel_name, raw_zip(_renamed(wheel_entries(), dist_info)))
    unpack_wheel(str(wheel), str(area / "out"))
    assert (area / "out" / dist_info / "RECORD").is_file()


@pytest.mark.parametrize(
    ("wheel_name", "problem"),
    [
        ("w.whl", "wrong number of parts"),
        ("demo-1.0-py3-none-any.zip", "extension must be '.whl'"),
        ("demo-one-py3-none-any.whl", "invalid version"),
    ],
)
def test_a_wheel_file_name_that_does_not_parse_is_refused(area, wheel_name, problem):
    wheel = write(area / wheel_name, raw_zip(wheel_entries()))
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(area / "out"))
    message = str(info.value)
    assert message.startswith(f"{wheel}: is not a valid wheel file name (Invalid wheel filename")
    assert problem in message
    assert message.endswith(
        "name the file <distribution>-<version>-<python tag>-<abi tag>-<platform tag>.whl as "
        "its builder did (e.g. demo-1.0-py3-none-any.whl)"
    )
    assert not (area / "out").exists()


def test_no_verify_record_accepts_a_trusted_archive_under_another_name(area):
    wheel = write(area / "vendored.zip", raw_zip(wheel_entries()))
    unpack_wheel(str(wheel), str(area / "out"), verify_record=False)
    assert (area / "out/demo/__init__.py").read_bytes() == PAYLOAD["demo/__init__.py"]


# Zip bombs ------------------------------------------------------------------


def test_member_inflating_beyond_its_declared_size_is_refused(area):
    bomb = Raw("demo/bomb.bin", bytes(50 << 20), declared_size=1000, crc=0)
    path = "demo/bomb.bin"
    lie = f"{path},sha256={'A' * 43},1000\n"
    message = refuse(
        area,
        raw_zip(wheel_entries(extra=[bomb], record_overrides={path: lie})),
        "inflates beyond its declared size of 1000 bytes",
    )
    assert "zip bomb" in message


def test_member_inflating_beyond_its_size_is_refused_without_record(area):
    bomb = Raw("bomb.bin", bytes(5 << 20), declared_size=10, crc=0)
    refuse(area, raw_zip([bomb]), "inflates beyond", verify_record=False)


def test_member_inflating_to_less_than_declared_is_refused(area):
    short = Raw("short.bin", b"abc", declared_size=10)
    refuse(area, raw_zip([short]), "inflates to 3 bytes", verify_record=False)


def test_compression_ratio_bound(area):
    zeros = Raw("demo/zeros.bin", bytes(20 << 20))
    data = raw_zip(wheel_entries(extra=[zeros]))
    refuse(area, data, "ratio above the bound of 100:1", limits=Limits(max_ratio=100))
    # The default bound (1100:1) lets genuine files through, even 20 MiB of zeros (1029:1).
    unpack_wheel(str(area / WHEEL_NAME), str(area / "out2"), verify_record=False)


def test_total_size_bound(area):
    data = raw_zip(wheel_entries())
    refuse(area, data, "above the bound of 100", limits=Limits(max_total_size=100))


def test_total_size_bound_counts_zip_deps(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw("big.bin", bytes(5000))]))
    with pytest.raises(WheelError, match="above the bound of 5000"):
        unpack_wheel(
            str(wheel), str(area / "out"), zip_deps=[str(dep)], limits=Limits(max_total_size=5000)
        )
    assert not (area / "out").exists()


# zip_deps and the output directory -------------------------------------------


def test_zip_dep_clashing_with_the_wheel_is_refused(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw("demo/__init__.py", b"evil")]))
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(area / "out"), zip_deps=[str(dep)])
    assert str(info.value).startswith(f"{dep}: entry 'demo/__init__.py' is also in {wheel}")


def test_hostile_zip_dep_is_refused_naming_it(area):
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    dep = write(area / "dep.zip", raw_zip([Raw("../evil.so", b"x")]))
    out = area / "out"
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(out), zip_deps=[str(dep)])
    assert str(info.value).startswith(f"{dep}: entry '../evil.so'")
    assert not out.exists()
    assert not (area.parent / "evil.so").exists()


def test_existing_file_is_never_overwritten(area):
    out = area / "out"
    (out / "demo").mkdir(parents=True)
    (out / "demo/__init__.py").write_text("mine")
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    with pytest.raises(WheelError, match="already exists"):
        unpack_wheel(str(wheel), str(out))
    assert (out / "demo/__init__.py").read_text() == "mine"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "demo",
        "demo/__init__.py",
    ]


def test_symlinked_directory_in_the_output_is_not_followed(area, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = area / "out"
    out.mkdir()
    (out / "demo").symlink_to(elsewhere)
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    with pytest.raises(WheelError, match="not a directory"):
        unpack_wheel(str(wheel), str(out))
    assert list(elsewhere.iterdir()) == []


def test_output_directory_created_by_the_unpack_is_removed_on_error(area):
    data = raw_zip(wheel_entries(extra=[Raw("../evil.py", b"x")]))
    wheel = write(area / WHEEL_NAME, data)
    with pytest.raises(WheelError):
        unpack_wheel(str(wheel), str(area / "new_out"))
    assert not (area / "new_out").exists()


def test_missing_wheel_is_reported(area):
    with pytest.raises(WheelError, match="cannot open: No such file"):
        unpack_wheel(str(area / "missing.whl"), str(area / "out"))


def test_an_output_directory_that_is_a_file_is_refused(area):
    out = write(area / "out", b"mine")
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    with pytest.raises(WheelError) as info:
        unpack_wheel(str(wheel), str(out))
    assert str(info.value) == (
        f"cannot unpack into {out}: it exists and is not a directory; remove it, or pass a "
        "directory as --output-dir"
    )
    assert out.read_bytes() == b"mine"


def test_a_dangling_symlink_where_a_file_goes_is_not_followed(area, tmp_path):
    # Files are created with O_EXCL | O_NOFOLLOW: a link in the output is never written through.
    target = tmp_path / "elsewhere.py"
    out = area / "out"
    (out / "demo").mkdir(parents=True)
    (out / "demo/__init__.py").symlink_to(target)
    wheel = write(area / WHEEL_NAME, raw_zip(wheel_entries()))
    with pytest.raises(WheelError, match=r"'demo/__init__\.py' already exists"):
        unpack_wheel(str(wheel), str(out))
    assert not target.exists()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "demo",
        "demo/__init__.py",
    ]
