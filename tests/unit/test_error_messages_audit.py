"""The rarer audit_wheel errors of docs/troubleshooting.md, each reached through
the command line with inputs built here.

Every expected line is the message format of the source with this test's own
values filled in; details that come from zlib, json or the OS are computed here
with the standard library, never by the code under test.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import elftools
import pytest

from ml_wheels.audit.elf import KNOWN_ARCHITECTURES

from .test_audit_helpers import compile_so, make_wheel, set_machine
from .test_cli_errors import TOOLS, _one_line_error, _run

PROG = "audit_wheel"
WHEEL = "demo-1.0-cp311-cp311-linux_x86_64.whl"
RECORD = "demo-1.0.dist-info/RECORD"
DATA = "demo/data.bin"
INIT = {"demo/__init__.py": b""}

# Central directory entry: field -> (offset in the entry, struct format).
_CD_FIELDS = {
    "flag_bits": (8, "<H"),
    "compress_type": (10, "<H"),
    "compress_size": (20, "<I"),
    "file_size": (24, "<I"),
    "header_offset": (42, "<I"),
}
_SHT_DYNSYM = 11


# --- running the CLI ---------------------------------------------------------------------


def _audit_error(wheel: str, cwd: Path, *options: str) -> str:
    """Audits ``wheel`` and returns the message of its one ``audit_wheel: error:`` line."""
    result = _run("audit_wheel.py", *options, wheel, cwd=cwd)
    line = _one_line_error(result, PROG)
    assert result.stdout == ""
    return line[len(f"{PROG}: error: ") :]


def _usage_error(result: subprocess.CompletedProcess) -> str:
    """argparse's answer: the usage, then one error line (exit status 2)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"usage: {PROG} "), result.stderr
    errors = [line for line in lines if "error" in line]
    assert errors == [lines[-1]], result.stderr
    assert lines[-1].startswith(f"{PROG}: error: "), lines[-1]
    return lines[-1][len(f"{PROG}: error: ") :]


def _audit_with_pythonpath(
    wheel: str, cwd: Path, pythonpath: list[Path], *python_flags: str
) -> subprocess.CompletedProcess:
    """Like ``_run``, with more PYTHONPATH entries and interpreter flags."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [TOOLS, *pythonpath]))}
    return subprocess.run(
        [sys.executable, *python_flags, str(TOOLS / "audit_wheel.py"), wheel],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


# --- editing zip archives and ELF files in place -------------------------------------------


def _central_entry(data: bytes, member: str) -> int:
    """Offset of ``member``'s central directory entry."""
    end = data.rindex(b"PK\x05\x06")
    size, start = struct.unpack_from("<II", data, end + 12)
    position = start
    while position < start + size:
        assert data[position : position + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46 : position + 46 + name_len].decode() == member:
            return position
        position += 46 + name_len + extra_len + comment_len
    raise AssertionError(f"{member} is not in the central directory")


def _patch_central(wheel: Path, member: str, **fields: int) -> None:
    """Rewrites fields of ``member``'s central directory entry."""
    data = bytearray(wheel.read_bytes())
    entry = _central_entry(bytes(data), member)
    for field, value in fields.items():
        offset, layout = _CD_FIELDS[field]
        struct.pack_into(layout, data, entry + offset, value)
    wheel.write_bytes(bytes(data))


def _info(wheel: Path, member: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(wheel) as archive:
        return archive.getinfo(member)


def _data_offset(wheel: Path, member: str) -> int:
    """Where ``member``'s bytes start, after its local header."""
    header = _info(wheel, member).header_offset
    name_len, extra_len = struct.unpack_from("<HH", wheel.read_bytes(), header + 26)
    return header + 30 + name_len + extra_len


def _as_deflated(wheel: Path, member: str, file_size: int) -> None:
    """Marks a stored member as deflated: its stored bytes become its deflate stream."""
    _patch_central(wheel, member, compress_type=zipfile.ZIP_DEFLATED, file_size=file_size)


def _zlib_error(stream: bytes) -> str:
    with pytest.raises(zlib.error) as error:
        zlib.decompress(stream, -15)
    return str(error.value)


def _set_dynsym_entsize(path: Path, entsize: int) -> Path:
    """Rewrites sh_entsize of .dynsym in a 64-bit little-endian ELF file."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for index in range(shnum):
        header = shoff + index * shentsize
        if struct.unpack_from("<I", data, header + 4)[0] == _SHT_DYNSYM:
            struct.pack_into("<Q", data, header + 56, entsize)
            path.write_bytes(bytes(data))
            return path
    raise AssertionError(f"{path} has no .dynsym")


def _needed(path: Path) -> list[str]:
    """DT_NEEDED entries in order, read with pyelftools."""
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        elf = ELFFile(f)
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                return [t.needed for t in section.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
    return []


@pytest.fixture(scope="module")
def elves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Shared objects built with gcc, once."""
    build = tmp_path_factory.mktemp("elves")
    musl_stub = compile_so(
        build,
        "libmuslstub.so",
        "int musl_f(void) { return 1; }",
        "-Wl,-soname,libc.musl-x86_64.so.1",
    )
    return {
        "ok": compile_so(build, "ok.so", "int answer(void) { return 42; }"),
        "glibc": compile_so(
            build,
            "glibc.so",
            "#include <string.h>\nint n(const char *s) { return (int)strlen(s); }",
        ),
        "mixed": compile_so(
            build,
            "mixed.so",
            "#include <string.h>\nint musl_f(void);\n"
            "int g(const char *s) { return musl_f() + (int)strlen(s); }",
            "-Wl,--no-as-needed",
            str(musl_stub),
        ),
        "aarch64": set_machine(
            compile_so(build / "arm", "arm.so", "int a(void) { return 1; }"), 183
        ),
        "bad_dynsym": _set_dynsym_entsize(
            compile_so(build / "bad", "bad.so", "int b(void) { return 2; }"), 16
        ),
    }


# --- reader.py: WheelArchive.__init__ --------------------------------------------------------


def test_audit_a_directory_is_not_a_wheel(tmp_path: Path) -> None:
    (tmp_path / "tree.whl").mkdir()
    assert _audit_error("tree.whl", tmp_path) == "tree.whl: is a directory, not a wheel"


NOT_REGULAR = "is not a regular file (a FIFO, device or socket); give the path of a .whl file"


def test_audit_a_socket_is_not_a_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A socket exists and is no directory; open() would fail (ENXIO).
    monkeypatch.chdir(tmp_path)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock.whl")
        message = _audit_error("sock.whl", tmp_path)
    assert message == f"sock.whl: {NOT_REGULAR}"


def test_audit_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a FIFO for reading blocks until a writer comes: the check must come first.
    os.mkfifo(tmp_path / "pipe.whl")
    result = subprocess.run(
        [sys.executable, str(TOOLS / "audit_wheel.py"), "pipe.whl"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TOOLS)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert _one_line_error(result, PROG) == f"{PROG}: error: pipe.whl: {NOT_REGULAR}"


def test_audit_dev_zero_is_refused(tmp_path: Path) -> None:
    assert _audit_error("/dev/zero", tmp_path) == f"/dev/zero: {NOT_REGULAR}"


def test_unreadable_wheel_cannot_be_opened(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, INIT)
    wheel.chmod(0)
    if os.access(wheel, os.R_OK):
        pytest.skip("this user reads files whatever their mode (root)")
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: cannot open: {os.strerror(errno.EACCES)}"


# --- cli.py: argument types ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x86_64", "sparc=manylinux_2_17", "=manylinux_2_17"])
def test_expect_by_arch_needs_arch_equals_tag(tmp_path: Path, value: str) -> None:
    result = _run("audit_wheel.py", "--expect-by-arch", value, WHEEL, cwd=tmp_path)
    assert _usage_error(result) == (
        "argument --expect-by-arch: expected ARCH=TAG with ARCH one of "
        f"{', '.join(KNOWN_ARCHITECTURES)}, got {value!r}"
    )


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_jobs_must_be_a_whole_number_of_at_least_one(tmp_path: Path, value: str) -> None:
    result = _run("audit_wheel.py", f"--jobs={value}", WHEEL, cwd=tmp_path)
    assert _usage_error(result) == f"argument --jobs: must be a whole number >= 1, got {value!r}"


# --- analyze.py ---------------------------------------------------------------------------------


def test_elf_file_linking_glibc_and_musl(tmp_path: Path, elves: dict[str, Path]) -> None:
    # The musl libc comes first among the needed libraries, libc.so.6 second.
    assert _needed(elves["mixed"]) == ["libc.musl-x86_64.so.1", "libc.so.6"]
    make_wheel(tmp_path, WHEEL, {**INIT, "demo/_mixed.so": elves["mixed"]})
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: demo/_mixed.so links both glibc and musl (libc.so.6 with musl); "
        "a wheel needs one libc"
    )


def test_shared_library_under_purelib(tmp_path: Path, elves: dict[str, Path]) -> None:
    member = "demo-1.0.data/purelib/demo/_ok.so"
    make_wheel(tmp_path, WHEEL, {**INIT, member: elves["ok"]})
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: {member} is a shared library under purelib; "
        "a platform wheel keeps ELF files in platlib (the wheel's root)"
    )


def test_no_elf_file_could_be_audited(tmp_path: Path, elves: dict[str, Path]) -> None:
    # The file name says musl; one library is for another architecture, the other links glibc.
    assert "libc.so.6" in _needed(elves["glibc"])
    wheel = "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"
    make_wheel(
        tmp_path, wheel, {**INIT, "demo/arm.so": elves["aarch64"], "demo/glibc.so": elves["glibc"]}
    )
    assert _audit_error(wheel, tmp_path) == (
        f"{wheel}: no ELF file could be audited (demo/arm.so: ELF file for aarch64, not x86_64; "
        "demo/glibc.so: linked against glibc, not musl)"
    )


# --- reader.py: corrupt members -----------------------------------------------------------------


def test_member_with_a_truncated_local_header(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"d" * 64})
    _patch_central(wheel, DATA, header_offset=wheel.stat().st_size - 10)
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: {DATA}: local header is truncated"


def test_member_with_a_bad_local_header_signature(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"d" * 64})
    data = bytearray(wheel.read_bytes())
    header = _info(wheel, DATA).header_offset
    data[header : header + 4] = b"PK\x09\x09"
    wheel.write_bytes(bytes(data))
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: {DATA}: bad local header signature"


@pytest.mark.parametrize("member", [DATA, RECORD], ids=["sniffed-member", "record"])
def test_encrypted_member(tmp_path: Path, member: str) -> None:
    # RECORD is read whole first (WheelArchive.read); other members are sniffed (head).
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"d" * 64})
    _patch_central(wheel, member, flag_bits=_info(wheel, member).flag_bits | 1)
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: {member} is encrypted"


@pytest.mark.parametrize("member", [DATA, RECORD], ids=["sniffed-member", "record"])
def test_member_with_corrupt_deflate_data(tmp_path: Path, member: str) -> None:
    # A final block of the reserved type 3: zlib refuses the first byte.
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"d" * 64}, stored=True)
    size = _info(wheel, member).file_size
    start = _data_offset(wheel, member)
    data = bytearray(wheel.read_bytes())
    data[start] = 0x07
    wheel.write_bytes(bytes(data))
    _as_deflated(wheel, member, file_size=size)
    corrupt = bytes(data[start : start + size])
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: {member}: corrupt data ({_zlib_error(corrupt)})"
    )


def test_stored_record_whose_data_is_truncated(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, INIT, stored=True)
    size = wheel.stat().st_size
    _patch_central(wheel, RECORD, compress_size=size, file_size=size)
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: {RECORD}: data is truncated"


def test_record_inflating_to_another_size(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, INIT)
    actual = _info(wheel, RECORD).file_size
    _patch_central(wheel, RECORD, file_size=actual + 7)
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: {RECORD}: inflates to {actual} bytes, the archive says {actual + 7}"
    )


@pytest.mark.parametrize("fault", ["corrupt", "truncated", "size"])
def test_corrupt_elf_member_names_the_wheel_once(
    tmp_path: Path, elves: dict[str, Path], fault: str
) -> None:
    # An ELF member is read whole in parse_elf_members; the reader's message
    # already names the wheel, which must not be named twice.
    member = "demo/_ok.so"
    elf = elves["ok"].read_bytes()
    if fault == "corrupt":
        # The first bytes inflate (so the member is sniffed as ELF), then a bad block.
        deflate = zlib.compressobj(wbits=-15)
        stream = deflate.compress(elf[:64]) + deflate.flush(zlib.Z_FULL_FLUSH) + b"\x07"
        wheel = make_wheel(tmp_path, WHEEL, {**INIT, member: stream}, stored=True)
        _as_deflated(wheel, member, file_size=len(elf))
        detail = f"corrupt data ({_zlib_error(stream)})"
    elif fault == "truncated":
        wheel = make_wheel(tmp_path, WHEEL, {**INIT, member: elf}, stored=True)
        size = wheel.stat().st_size
        _patch_central(wheel, member, compress_size=size, file_size=size)
        detail = "data is truncated"
    else:
        wheel = make_wheel(tmp_path, WHEEL, {**INIT, member: elf})
        _patch_central(wheel, member, file_size=len(elf) + 7)
        detail = f"inflates to {len(elf)} bytes, the archive says {len(elf) + 7}"
    assert _audit_error(WHEEL, tmp_path) == f"{WHEEL}: {member}: {detail}"


def test_elf_file_that_cannot_be_read(tmp_path: Path, elves: dict[str, Path]) -> None:
    make_wheel(tmp_path, WHEEL, {**INIT, "demo/_bad.so": elves["bad_dynsym"]})
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: demo/_bad.so: cannot read this ELF file: .dynsym has entries of 16 bytes, not 24"
    )


# --- policy.py: auditwheel's policy files -------------------------------------------------------


def test_interpreter_without_auditwheel(tmp_path: Path) -> None:
    # -S drops site-packages (and auditwheel); pyelftools alone comes back on PYTHONPATH.
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "elftools").symlink_to(Path(elftools.__file__).parent)
    make_wheel(tmp_path, WHEEL, INIT)
    result = _audit_with_pythonpath(WHEEL, tmp_path, [tmp_path / "lib"], "-S")
    line = _one_line_error(result, PROG)
    assert line == (
        f"{PROG}: error: the Python package auditwheel (module auditwheel) is not installed "
        f"for {sys.executable}; run the Bazel target @rules_ml_wheels//tools:audit_wheel, "
        "which brings it, or install the pinned helper requirements: "
        "pip install --require-hashes -r tools/requirements_lock.txt"
    )


@pytest.mark.parametrize("broken", ["manylinux-policy.json", "musllinux-policy.json"])
def test_unreadable_policy_file(tmp_path: Path, broken: str) -> None:
    # An auditwheel package ahead of the installed one, with one policy file not JSON
    # (manylinux) or missing (musllinux, read second).
    policy = tmp_path / "shadow" / "auditwheel" / "policy"
    policy.mkdir(parents=True)
    (policy.parent / "__init__.py").write_text("")
    (policy / "__init__.py").write_text("")
    if broken == "manylinux-policy.json":
        (policy / broken).write_text("[not json")
        with pytest.raises(ValueError) as not_json:
            json.loads((policy / broken).read_text(encoding="utf-8"))
        detail = str(not_json.value)
    else:
        (policy / "manylinux-policy.json").write_text("[]")
        with pytest.raises(OSError) as missing:
            (policy / broken).read_text(encoding="utf-8")
        detail = str(missing.value)
    make_wheel(tmp_path, WHEEL, INIT)
    result = _audit_with_pythonpath(WHEEL, tmp_path, [tmp_path / "shadow"])
    line = _one_line_error(result, PROG)
    assert line == (
        f"{PROG}: error: cannot read auditwheel's policy file {policy / broken}: {detail}"
    )


# --- reader.py: what installers would write -------------------------------------------------


def test_stored_member_declaring_another_size(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"d" * 64}, stored=True)
    _patch_central(wheel, DATA, file_size=65)
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: '{DATA}' is stored (not compressed) but declares 65 bytes for 64 bytes of "
        "data; the archive is corrupt"
    )


def test_member_path_escaping_the_install_directory(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, "demo/../../evil.so": b"x"})
    assert _audit_error(wheel.name, tmp_path) == (
        f"{WHEEL}: wheel path 'demo/../../evil.so' has a '..' component, which would escape "
        "the install directory; rebuild the wheel without it"
    )


def test_member_in_the_archive_twice(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, DATA: b"one"})
    with pytest.warns(UserWarning), zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr(DATA, b"two")
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: '{DATA}' is in the archive twice; installers write both, the last one "
        "wins: rebuild the wheel with it once"
    )


def test_record_that_is_not_csv(tmp_path: Path) -> None:
    # csv refuses fields over its limit (131072 characters by default).
    row = "x" * 140000 + ",,\n"
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, RECORD: row.encode()}, record=False)
    import csv
    import io

    with pytest.raises(csv.Error) as error:
        list(csv.reader(io.StringIO(row)))
    assert _audit_error(wheel.name, tmp_path) == (
        f"{WHEEL}: {RECORD} is not valid CSV ({error.value})"
    )


def test_deflated_elf_member_whose_stream_ends_early(
    tmp_path: Path, elves: dict[str, Path]
) -> None:
    # The central directory keeps only half of the ELF member's deflate stream
    # (ELF members are read whole; others only have their first bytes sniffed).
    member = "demo/_ok.so"
    wheel = make_wheel(tmp_path, WHEEL, {**INIT, member: elves["ok"]})
    _patch_central(wheel, member, compress_size=_info(wheel, member).compress_size // 2)
    assert _audit_error(WHEEL, tmp_path) == (
        f"{WHEEL}: {member}: corrupt data (the deflate stream ends early)"
    )
