"""The rarer pack_wheel / unpack_wheel errors of docs/troubleshooting.md, each
asserted with its exact text.

Every expected message is the source's f-string with this test's own values
filled in; archives, RECORDs and param files are made here by hand. CLI errors
are checked through the command line: exit status 2, one ``<prog>: error:``
line, no traceback, and nothing left behind.
"""

from __future__ import annotations

import base64
import csv
import errno
import hashlib
import io
import os
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from ml_wheels import unpack, unpack_cli

from .test_cli_errors import SPEC, _one_line_error, _run, _spec
from .test_unpack import WHEEL_NAME, Raw, raw_zip, record_line, wheel_entries

TARGET = SPEC["target"]
CORRUPT_FIX = "the file is damaged or not a zip archive; download or build it again"
REPACK = "repack it with a standard zip writer (e.g. 'pack_wheel dir' or 'wheel pack')"
UNTRUSTED_FIX = "the archive is unsafe to unpack; do not use it, or rebuild it from its sources"
RECORD_FIX = "the wheel is damaged or was edited after it was built; rebuild or download it again"
WRITE_FIX = "check free space, permissions and name lengths of the output directory"
RECORD_PATH = "demo-1.0.dist-info/RECORD"


def _exact_error(result: subprocess.CompletedProcess, prog: str, message: str) -> None:
    """The CLI failed with exactly ``<prog>: error: <message>`` (see test_cli_errors)."""
    line = _one_line_error(result, prog)
    assert line == f"{prog}: error: {message}"
    assert result.stdout == ""


def _usage_error(result: subprocess.CompletedProcess, prog: str, message: str) -> None:
    """An argparse error: the usage, then exactly one ``<prog>: error: <message>`` line."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("usage: "), lines
    assert [line for line in lines if ": error: " in line] == [f"{prog}: error: {message}"]
    assert lines[-1] == f"{prog}: error: {message}"


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text("A = 1\n")
    return tmp_path


# pack_wheel -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "src", "code"),
    [
        (lambda work: None, "a.py/x", errno.ENOTDIR),
        (lambda work: os.symlink("loop", work / "loop"), "loop", errno.ELOOP),
    ],
    ids=["path-through-a-file", "symlink-loop"],
)
def test_file_input_that_cannot_be_read(
    work: Path, make: Callable[[Path], object], src: str, code: int
) -> None:
    make(work)
    before = _files(work)
    result = _run(
        "pack_wheel.py",
        "spec",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--file",
        "demo/x.py",
        src,
        cwd=work,
    )
    expected = f"--file input {src} cannot be read: {os.strerror(code)}"
    _exact_error(result, "pack_wheel", f"{TARGET}: {expected}")
    assert _files(work) == sorted([*before, "spec.json"])


@pytest.mark.parametrize("command", ["spec", "compress"])
def test_output_that_cannot_be_created(work: Path, command: str) -> None:
    out = "missing/o.whl"
    if command == "spec":
        args = ["spec", "--spec", _spec(work), "--output", out]
        prefix = f"{TARGET}: "
    else:
        args = ["compress", "--compression-level", "6", "--output", out]
        prefix = ""
    before = _files(work)
    result = _run("pack_wheel.py", *args, "--file", "demo/a.py", "a.py", cwd=work)
    message = f"cannot create output {out}: {os.strerror(errno.ENOENT)}; check the path"
    _exact_error(result, "pack_wheel", prefix + message)
    assert _files(work) == before


@pytest.mark.parametrize(
    ("spec", "code"),
    [("missing.json", errno.ENOENT), ("a_dir", errno.EISDIR)],
    ids=["missing", "directory"],
)
def test_spec_that_cannot_be_read(work: Path, spec: str, code: int) -> None:
    (work / "a_dir").mkdir()
    result = _run("pack_wheel.py", "spec", "--spec", spec, "--output", "o.whl", cwd=work)
    _exact_error(result, "pack_wheel", f"cannot read spec {spec}: {os.strerror(code)}")
    assert not (work / "o.whl").exists()
    assert not (work / "o.whl.tmp").exists()


def test_param_files_nesting_too_deeply(work: Path) -> None:
    # p0 names @p1, ..., p7 names @p8: eight levels are expanded, the ninth is refused.
    for i in range(8):
        (work / f"p{i}.params").write_text(f"@p{i + 1}.params\n")
    (work / "p8.params").write_text("--version\n")
    result = _run("pack_wheel.py", "@p0.params", cwd=work)
    _exact_error(result, "pack_wheel", "param file p8.params nests @files too deeply")
    # One level less is read in full: p1 ... p8 reach --version.
    accepted = _run("pack_wheel.py", "@p1.params", cwd=work)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("rules_ml_wheels ")


def test_param_file_that_includes_itself(work: Path) -> None:
    (work / "self.params").write_text("spec\n@self.params\n")
    result = _run("pack_wheel.py", "@self.params", cwd=work)
    _exact_error(result, "pack_wheel", "param file self.params nests @files too deeply")


@pytest.mark.parametrize("value", ["10", "-1", "06", "6.0", "", "x", "\u0666"])
@pytest.mark.parametrize("command", ["dir", "compress"])
def test_compression_level_out_of_range(work: Path, command: str, value: str) -> None:
    if command == "dir":
        args = ["dir", "unpacked", "--dest-dir", "out"]
    else:
        args = ["compress", "--output", "out", "--file", "demo/a.py", "a.py"]
    result = _run("pack_wheel.py", *args, f"--compression-level={value}", cwd=work)
    message = f"argument --compression-level: must be 0-9, got {value!r}"
    _usage_error(result, f"pack_wheel.py {command}", message)
    assert not (work / "out").exists()


@pytest.mark.parametrize(
    ("bundle", "code"),
    [("missing.bundle", errno.ENOENT), ("a_dir", errno.EISDIR)],
    ids=["missing", "directory"],
)
def test_compression_bundle_that_cannot_be_read(work: Path, bundle: str, code: int) -> None:
    (work / "a_dir").mkdir()
    result = _run(
        "pack_wheel.py",
        "assemble",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--bundle",
        bundle,
        cwd=work,
    )
    message = f"cannot read compression bundle {bundle}: {os.strerror(code)}"
    _exact_error(result, "pack_wheel", f"{TARGET}: {message}")
    assert not (work / "o.whl").exists()
    assert not (work / "o.whl.tmp").exists()


@pytest.mark.parametrize(
    "metadata",
    [
        "Metadata-Version: 2.1\nName: demo\n",
        "Metadata-Version: 2.1\nVersion: 1.0\n",
        "Metadata-Version: 2.1\nName: demo\nVersion:\n",
        "",
    ],
    ids=["no-version", "no-name", "empty-version", "empty-file"],
)
def test_dir_mode_metadata_without_name_or_version(work: Path, metadata: str) -> None:
    info = work / "unpacked" / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(metadata)
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    result = _run("pack_wheel.py", "dir", "unpacked", "--dest-dir", "out", cwd=work)
    meta_path = os.path.join("unpacked", "demo-1.0.dist-info", "METADATA")
    _exact_error(result, "pack_wheel", f"{meta_path} must have Name and Version fields")
    assert not (work / "out").exists()


# unpack_wheel: the archive and the output -----------------------------------


def _unpack(work: Path, wheel: str, *args: str) -> subprocess.CompletedProcess:
    return _run("unpack_wheel.py", wheel, "--output-dir", "out", *args, cwd=work)


def _as_deflated(archive: bytes) -> bytes:
    """Marks the only member of a ``raw_zip`` archive as deflated, keeping its bytes.

    ``raw_zip`` deflates what it is given; this turns a stored member whose
    data is a hand-made (broken) deflate stream into a deflated one.
    """
    data = bytearray(archive)
    (cd_offset,) = struct.unpack_from("<I", data, len(data) - 22 + 16)
    assert data[:4] == b"PK\x03\x04" and data[cd_offset : cd_offset + 4] == b"PK\x01\x02"
    struct.pack_into("<H", data, 8, zipfile.ZIP_DEFLATED)
    struct.pack_into("<H", data, cd_offset + 10, zipfile.ZIP_DEFLATED)
    return bytes(data)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("where", ["wheel", "zip-dep"])
@pytest.mark.parametrize("path", ["a_dir", "/dev/null"])
def test_unpack_archive_that_is_not_a_regular_file(work: Path, where: str, path: str) -> None:
    (work / "a_dir").mkdir()
    if where == "wheel":
        result = _unpack(work, path)
    else:
        (work / "w.zip").write_bytes(raw_zip([Raw("pkg/a.py", b"a")]))
        result = _unpack(work, "w.zip", "--no-verify-record", "--zip-dep", path)
    message = f"{path}: is not a regular file; pass the path of a .whl or .zip file"
    _exact_error(result, "unpack_wheel", message)
    assert not (work / "out").exists()


def test_unpack_into_a_directory_whose_parent_is_missing(work: Path) -> None:
    (work / WHEEL_NAME).write_bytes(raw_zip(wheel_entries()))
    result = _run("unpack_wheel.py", WHEEL_NAME, "--output-dir", "missing/out", cwd=work)
    message = f"cannot write missing/out: {os.strerror(errno.ENOENT)}; {WRITE_FIX}"
    _exact_error(result, "unpack_wheel", message)
    assert _files(work) == ["a.py", WHEEL_NAME]


def test_unpack_write_failure_removes_what_was_written(work: Path) -> None:
    # Linux refuses paths of 4096 bytes and more (PATH_MAX): the 16 parent
    # directories of "out/<name>" fit (4019 bytes), the file itself does not.
    name = "/".join(["d" * 250] * 17)
    (work / "w.zip").write_bytes(raw_zip([Raw(name, b"x")]))
    result = _unpack(work, "w.zip", "--no-verify-record")
    message = f"cannot write out/{name}: {os.strerror(errno.ENAMETOOLONG)}; {WRITE_FIX}"
    _exact_error(result, "unpack_wheel", message)
    assert _files(work) == ["a.py", "w.zip"]


def test_unpack_record_above_its_size_bound(work: Path) -> None:
    # The declared size is checked before RECORD is read: its bytes are never inflated.
    # 64 KiB of "compressed" data keeps the claim below the default ratio bound (1100:1).
    declared = 64 * 1024 * 1024 + 1
    record = Raw(RECORD_PATH, bytes(64 * 1024), zipfile.ZIP_STORED, declared_size=declared, crc=0)
    (work / WHEEL_NAME).write_bytes(_as_deflated(raw_zip([record])))
    result = _unpack(work, WHEEL_NAME)
    message = (
        f"{WHEEL_NAME}: {RECORD_PATH} declares {declared} bytes, above the bound of "
        f"{64 * 1024 * 1024}; {UNTRUSTED_FIX}"
    )
    _exact_error(result, "unpack_wheel", message)
    assert not (work / "out").exists()


def test_unpack_entry_with_an_empty_name(work: Path) -> None:
    (work / "w.zip").write_bytes(raw_zip([Raw(b"", b"x", zipfile.ZIP_STORED)]))
    result = _unpack(work, "w.zip", "--no-verify-record")
    _exact_error(result, "unpack_wheel", f"w.zip: entry '' has an empty name; {UNTRUSTED_FIX}")
    assert not (work / "out").exists()


# Incompressible, so that its deflate stream holds the data in stored blocks.
_NOISE = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(200))


@pytest.mark.parametrize(
    ("stream", "problem"),
    [
        (_deflate(_NOISE)[:100], "has a truncated deflate stream"),
        (_deflate(_NOISE)[:-1], "has a truncated deflate stream"),
        (_deflate(_NOISE) + b"\x00", "has data after the end of its deflate stream"),
        (_deflate(_NOISE) + _deflate(b"more"), "has data after the end of its deflate stream"),
    ],
    ids=["cut-short", "last-byte-missing", "trailing-byte", "second-stream"],
)
def test_unpack_broken_deflate_stream(work: Path, stream: bytes, problem: str) -> None:
    member = Raw("a.bin", stream, zipfile.ZIP_STORED, len(_NOISE), zlib.crc32(_NOISE))
    (work / "w.zip").write_bytes(_as_deflated(raw_zip([member])))
    result = _unpack(work, "w.zip", "--no-verify-record")
    _exact_error(result, "unpack_wheel", f"w.zip: entry 'a.bin' {problem}; {CORRUPT_FIX}")
    # The member's file was created before its data turned out bad: it is gone again.
    assert _files(work) == ["a.py", "w.zip"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (option, value)
        for option in ("--max-ratio", "--jobs")
        for value in ("0", "-3", "1.5", "", "x", "\u0663", "1" * 19)
    ],
)
def test_unpack_options_that_must_be_positive(work: Path, option: str, value: str) -> None:
    (work / WHEEL_NAME).write_bytes(raw_zip(wheel_entries()))
    result = _unpack(work, WHEEL_NAME, f"{option}={value}")
    message = f"argument {option}: must be a whole number >= 1, got {value!r}"
    _usage_error(result, "unpack_wheel.py", message)
    assert not (work / "out").exists()


# unpack_wheel: RECORD ---------------------------------------------------------


def _wheel_with_record(record: bytes) -> bytes:
    """A wheel whose files are fine and whose RECORD holds ``record``."""
    entries = wheel_entries()
    assert entries[-1].name == RECORD_PATH
    return raw_zip([*entries[:-1], replace(entries[-1], data=record)])


def _csv_error(text: str) -> str:
    """What the csv module says about ``text`` (read the way RECORD is read)."""
    try:
        list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return str(exc)
    raise AssertionError("the text is valid CSV")


_INIT = "demo/__init__.py"
_INIT_LINE = record_line(_INIT, b"VALUE = 42\n")
_INIT_HASH = _INIT_LINE.split(",")[1]
_SHA256_OF_NOTHING = base64.urlsafe_b64encode(hashlib.sha256().digest()).rstrip(b"=").decode()
# A field longer than the csv module accepts.
_TOO_LONG = f"{_INIT_LINE}{'x' * (csv.field_size_limit() + 1)},,\n"

_RECORD_CASES = [
    (f"{_INIT},,\n".encode() + b"\xff\n", f"RECORD is not valid UTF-8 (byte {len(_INIT) + 3})"),
    (_INIT_LINE.encode() + b"caf\xc3", f"RECORD is not valid UTF-8 (byte {len(_INIT_LINE) + 3})"),
    (_TOO_LONG.encode(), f"RECORD is not valid CSV ({_csv_error(_TOO_LONG)})"),
    (b"demo/__init__.py,sha256=abc,11\n", f"RECORD line 1 has a malformed sha256 for {_INIT!r}"),
    (b"demo/__init__.py,sha256=!!!!,11\n", f"RECORD line 1 has a malformed sha256 for {_INIT!r}"),
    (
        f"{_INIT_LINE}demo/x.py,sha512={_SHA256_OF_NOTHING},0\n".encode(),
        "RECORD line 2 has a malformed sha512 for 'demo/x.py'",
    ),
    (f"{_INIT_LINE},{_INIT_HASH},11\n".encode(), "RECORD line 2 has an empty path"),
    (f"\n\n,{_INIT_HASH},11\n".encode(), "RECORD line 3 has an empty path"),
    *(
        (f"{_INIT},{_INIT_HASH},{size}\n".encode(), f"RECORD line 1 has the size {size!r}")
        for size in ("12x", "-1", "1.0", " 11", "\u0661\u0661", "1" * 21)
    ),
    (
        f"{_INIT_LINE}{_INIT},{_INIT_HASH},12\n".encode(),
        f"RECORD lists {_INIT!r} twice with different values",
    ),
    (
        f"{_INIT_LINE}{_INIT},,11\n".encode(),
        f"RECORD lists {_INIT!r} twice with different values",
    ),
]


@pytest.mark.parametrize(("record", "problem"), _RECORD_CASES)
def test_unpack_malformed_record(work: Path, record: bytes, problem: str) -> None:
    (work / WHEEL_NAME).write_bytes(_wheel_with_record(record))
    result = _unpack(work, WHEEL_NAME)
    _exact_error(result, "unpack_wheel", f"{WHEEL_NAME}: {problem}; {RECORD_FIX}")
    assert not (work / "out").exists()


def test_record_listing_a_file_twice_with_the_same_values_is_accepted(work: Path) -> None:
    # The counterpart of the "twice with different values" cases above.
    record = wheel_entries()[-1].data
    (work / WHEEL_NAME).write_bytes(_wheel_with_record(_INIT_LINE.encode() + record))
    result = _unpack(work, WHEEL_NAME)
    assert result.returncode == 0, result.stderr
    assert (work / "out" / _INIT).read_bytes() == b"VALUE = 42\n"


# unpack_wheel: zip structure --------------------------------------------------

# One stored member "a.txt" = b"hello": local header at 0 (35 bytes + 5 of
# data), central directory at 40 (51 bytes), end record at 91 (22 bytes).
_ONE = raw_zip([Raw("a.txt", b"hello", zipfile.ZIP_STORED)])
_LOCAL = 0
_CENTRAL = 40
_EOCD = 91
assert _ONE[_CENTRAL : _CENTRAL + 4] == b"PK\x01\x02" and _ONE[_EOCD : _EOCD + 4] == b"PK\x05\x06"
assert len(_ONE) == _EOCD + 22


def _patch(fmt: str, offset: int, *values: int | bytes, data: bytes = _ONE) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def _with_central_extra(extra: bytes, *, compressed_size: int | None = None) -> bytes:
    """``_ONE`` with ``extra`` as the central entry's extra field (sizes fixed up)."""
    central = bytearray(_ONE[_CENTRAL:_EOCD])
    struct.pack_into("<H", central, 30, len(extra))
    if compressed_size is not None:
        struct.pack_into("<I", central, 20, compressed_size)
    central[46 + 5 : 46 + 5] = extra
    eocd = bytearray(_ONE[_EOCD:])
    struct.pack_into("<I", eocd, 12, len(central))
    return _ONE[:_CENTRAL] + bytes(central) + bytes(eocd)


def _with_locator(disk: int, record_offset: int, disks: int) -> bytes:
    """``_ONE`` with a zip64 end locator before its end record."""
    locator = struct.pack("<4sIQI", b"PK\x06\x07", disk, record_offset, disks)
    return _ONE[:_EOCD] + locator + _ONE[_EOCD:]


def _overlapping() -> bytes:
    # The stored member "outer.bin" holds a whole local header that a second
    # central entry "inner.py" points at: two members share bytes.
    inner = raw_zip([Raw("inner.py", b"x" * 100, zipfile.ZIP_STORED)])
    inner_local = inner[: inner.index(b"PK\x01\x02")]
    outer = Raw("outer.bin", inner_local, zipfile.ZIP_STORED)
    return raw_zip([outer], central_extra=[(b"inner.py", 30 + len("outer.bin"))])


_SPANS = f"archive spans several disks; {REPACK} as a single file"
_ZIP_CASES = {
    "ten-bytes": (
        b"PK\x05\x06" + bytes(6),
        f"archive is 10 bytes, too short to be a zip archive; {CORRUPT_FIX}",
    ),
    "no-end-record": (
        b"not a zip archive, only text" * 2,
        "no end of central directory record (truncated, or not a zip archive); " + CORRUPT_FIX,
    ),
    "end-record-disk": (_patch("<H", _EOCD + 4, 1), _SPANS),
    "end-record-entries-on-disk": (_patch("<H", _EOCD + 8, 2), _SPANS),
    "entry-disk": (_patch("<H", _CENTRAL + 34, 1), _SPANS),
    "locator-disk": (_with_locator(1, 0, 1), _SPANS),
    "locator-disks": (_with_locator(0, 0, 2), _SPANS),
    "zip64-record-outside": (
        _with_locator(0, 60, 1),
        f"zip64 end record lies outside the archive; {CORRUPT_FIX}",
    ),
    "zip64-record-missing": (
        _with_locator(0, 0, 1),
        f"zip64 end record is missing where its locator points; {CORRUPT_FIX}",
    ),
    "data-added-in-front": (
        b"#!/bin/sh\n" + _ONE,
        "central directory does not end where the end record starts (truncated, or data was "
        f"added to the archive); {CORRUPT_FIX}",
    ),
    "too-many-entries": (
        _patch("<HH", _EOCD + 8, 2, 2),
        f"central directory is too small for its 2 entries; {CORRUPT_FIX}",
    ),
    "name-past-directory": (
        _patch("<H", _CENTRAL + 28, 200),
        f"central directory ends inside entry 0; {CORRUPT_FIX}",
    ),
    "bad-central-signature": (
        _patch("<4s", _CENTRAL, b"PK\x01\x03"),
        f"central directory entry 0 has a bad signature; {CORRUPT_FIX}",
    ),
    "data-after-last-entry": (
        _patch("<HH", _EOCD + 8, 0, 0),
        f"central directory has data after its last entry; {CORRUPT_FIX}",
    ),
    "extra-field-too-short": (
        _with_central_extra(b"\x01\x00\x10\x00abc"),
        f"entry 'a.txt' has a malformed extra field; {CORRUPT_FIX}",
    ),
    "extra-field-odd-byte": (
        _with_central_extra(b"\x99"),
        f"entry 'a.txt' has a malformed extra field; {CORRUPT_FIX}",
    ),
    "zip64-field-too-short": (
        _with_central_extra(b"\x01\x00\x00\x00", compressed_size=0xFFFFFFFF),
        f"entry 'a.txt' has a zip64 field too short; {CORRUPT_FIX}",
    ),
    "zip64-field-missing": (
        _patch("<I", _CENTRAL + 20, 0xFFFFFFFF),
        f"entry 'a.txt' needs a zip64 extra field but has none; {CORRUPT_FIX}",
    ),
    "encrypted": (
        _patch("<H", _CENTRAL + 8, 0x0801),
        f"entry 'a.txt' is encrypted; {REPACK} without encryption",
    ),
    "bzip2": (
        _patch("<H", _CENTRAL + 10, 12),
        "entry 'a.txt' uses compression method 12 (bzip2); only stored and deflate are "
        f"supported; {REPACK}",
    ),
    "unknown-method": (
        _patch("<H", _CENTRAL + 10, 77),
        "entry 'a.txt' uses compression method 77 (unknown); only stored and deflate are "
        f"supported; {REPACK}",
    ),
    "stored-sizes-differ": (
        _patch("<I", _CENTRAL + 24, 6),
        f"stored entry 'a.txt' has different compressed and real sizes; {CORRUPT_FIX}",
    ),
    "header-past-data": (
        _patch("<I", _CENTRAL + 42, 6),
        f"entry 'a.txt' starts outside the archive's data; {CORRUPT_FIX}",
    ),
    "no-local-header": (
        _patch("<4s", _LOCAL, b"PK\x03\x05"),
        f"entry 'a.txt' has no local header where the directory says; {CORRUPT_FIX}",
    ),
    "local-name-differs": (
        _patch("<5s", _LOCAL + 30, b"b.txt"),
        "entry 'a.txt' has a different name in its local header (an archive that means "
        f"different things to different tools); {CORRUPT_FIX}",
    ),
    "local-method-differs": (
        _patch("<H", _LOCAL + 8, 8),
        f"entry 'a.txt' has a local header that contradicts the central directory; {CORRUPT_FIX}",
    ),
    "local-extra-past-data": (
        _patch("<H", _LOCAL + 28, 100),
        f"entry 'a.txt' has data past the end of the archive's data; {CORRUPT_FIX}",
    ),
    "overlapping": (
        _overlapping(),
        "entries 'outer.bin' and 'inner.py' share bytes (an overlapping-entry zip bomb); "
        + CORRUPT_FIX,
    ),
}


@pytest.mark.parametrize(("archive", "problem"), _ZIP_CASES.values(), ids=_ZIP_CASES.keys())
def test_unpack_malformed_zip_structure(work: Path, archive: bytes, problem: str) -> None:
    (work / "w.zip").write_bytes(archive)
    result = _unpack(work, "w.zip", "--no-verify-record")
    _exact_error(result, "unpack_wheel", f"w.zip: {problem}")
    assert not (work / "out").exists()


def test_the_zip_structure_fixture_unpacks_unchanged(work: Path) -> None:
    # Each case above differs from this archive in the one field it names.
    (work / "w.zip").write_bytes(_ONE)
    result = _unpack(work, "w.zip", "--no-verify-record")
    assert (result.returncode, result.stderr) == (0, "")
    assert (work / "out" / "a.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("hook", "keep", "what"),
    [
        ("read_central_directory", 10, "a local header"),
        ("data_offsets", 30, "entry 'a.txt'"),
    ],
)
def test_unpack_archive_truncated_while_it_is_read(
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hook: str,
    keep: int,
    what: str,
) -> None:
    # Every read of a file that keeps its size is bounded by checks against
    # that size: the message is only reachable when the archive shrinks while
    # it is unpacked (e.g. a download overwriting it), simulated here by
    # truncating it after the named step.
    archive = work / "w.zip"
    archive.write_bytes(_ONE)
    real = getattr(unpack, hook)

    def truncate_after(*args: object) -> object:
        result = real(*args)
        os.truncate(archive, keep)
        return result

    monkeypatch.setattr(unpack, hook, truncate_after)
    monkeypatch.chdir(work)
    status = unpack_cli.main(["w.zip", "--output-dir", "out", "--no-verify-record"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    message = f"archive is truncated: {what} ends past the end of the file; {CORRUPT_FIX}"
    assert captured.err == f"unpack_wheel: error: w.zip: {message}\n"
    assert _files(work) == ["a.py", "w.zip"]
