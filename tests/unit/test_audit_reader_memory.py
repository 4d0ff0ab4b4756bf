"""The audit's reader maps large members from a temporary file instead of
holding them, with the same bytes and the same errors as the in-memory path."""

from __future__ import annotations

import contextlib
import os
import random
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest

from ml_wheels.audit.elf import ElfReadError, read_elf_facts
from ml_wheels.audit.reader import WheelArchive
from ml_wheels.errors import WheelError

SPILL = 1 << 16  # a small spill threshold, so the members stay small


def _payload(size: int) -> bytes:
    rng = random.Random(size)
    words = [bytes(rng.choice(b"abcdefgh") for _ in range(6)) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _open_files() -> set[str]:
    """What this process's descriptors point at (an unlinked spill file shows here)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def _mapped_temp_files() -> list[str]:
    """Mapped files of the temporary directory that are deleted (the spill files)."""
    temp = tempfile.gettempdir()
    with open("/proc/self/maps") as maps:
        return [line for line in maps if temp in line and line.rstrip().endswith("(deleted)")]


def test_spilled_member_reads_the_same_bytes_as_zipfile(tmp_path: Path) -> None:
    data = _payload(20 * SPILL + 123)
    wheel = _wheel(tmp_path / "a.whl", {"pkg/big.bin": data, "pkg/small.txt": b"x"})
    with WheelArchive(str(wheel)) as archive:
        for name in ("pkg/big.bin", "pkg/small.txt"):
            with archive.open_data(archive.members[name], spill_bytes=SPILL) as view:
                assert bytes(view) == zipfile.ZipFile(wheel).read(name)
        big = archive.members["pkg/big.bin"]
        with archive.open_data(big, spill_bytes=SPILL) as view:
            assert isinstance(view, memoryview)  # the map, not a copy
            assert view.readonly
        with pytest.raises(ValueError):
            view.tobytes()  # released when the block ended


def _patch_sizes(wheel: Path, name: str, file_size: int) -> None:
    """Rewrites the uncompressed size a member declares (local and central headers)."""
    raw = bytearray(wheel.read_bytes())
    encoded = name.encode()
    local = raw.index(b"PK\x03\x04")
    while raw[local + 30 : local + 30 + len(encoded)] != encoded:
        local = raw.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", raw, local + 22, file_size)
    central = raw.index(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(encoded)] != encoded:
        central = raw.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", raw, central + 24, file_size)
    wheel.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (-1000, "inflates past the"),
        (+1000, "inflates to"),
    ],
)
def test_spilled_member_with_a_wrong_size_fails_like_the_in_memory_path(
    tmp_path: Path, declared: int, message: str
) -> None:
    data = _payload(20 * SPILL)
    wheel = _wheel(tmp_path / "a.whl", {"pkg/big.bin": data})
    _patch_sizes(wheel, "pkg/big.bin", len(data) + declared)
    errors = []
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/big.bin"]
        for spill in (SPILL, len(data) * 2):  # spilled, then held in memory
            with pytest.raises(WheelError) as caught, archive.open_data(member, spill_bytes=spill):
                pass
            errors.append(str(caught.value))
    assert message in errors[0]
    assert errors[0] == errors[1]


def test_truncated_stream_fails_like_the_in_memory_path(tmp_path: Path) -> None:
    data = _payload(20 * SPILL)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)  # no final block
    wheel = tmp_path / "a.whl"
    raw = _wheel(tmp_path / "b.whl", {"pkg/big.bin": data}).read_bytes()
    # Swap in the unfinished stream and its compressed size.
    info = zipfile.ZipFile(tmp_path / "b.whl").getinfo("pkg/big.bin")
    start = info.header_offset + 30 + len(b"pkg/big.bin")
    rebuilt = bytearray(raw[:start] + stream + raw[start + info.compress_size :])
    delta = len(stream) - info.compress_size
    struct.pack_into("<I", rebuilt, info.header_offset + 18, len(stream))
    central = rebuilt.index(b"PK\x01\x02")
    struct.pack_into("<I", rebuilt, central + 20, len(stream))
    end = rebuilt.index(b"PK\x05\x06")
    struct.pack_into(
        "<I", rebuilt, end + 16, struct.unpack_from("<I", rebuilt, end + 16)[0] + delta
    )
    wheel.write_bytes(bytes(rebuilt))
    errors = []
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/big.bin"]
        for spill in (SPILL, len(data) * 2):
            with pytest.raises(WheelError) as caught, archive.open_data(member, spill_bytes=spill):
                pass
            errors.append(str(caught.value))
    assert "the deflate stream ends early" in errors[0]
    assert errors[0] == errors[1]


def test_no_temporary_file_is_left(tmp_path: Path) -> None:
    before = _open_files()
    wheel = _wheel(tmp_path / "a.whl", {"pkg/big.bin": _payload(10 * SPILL)})
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/big.bin"]
        with archive.open_data(member, spill_bytes=SPILL):
            assert _mapped_temp_files()  # the spill is mapped while in use
        with pytest.raises(RuntimeError), archive.open_data(member, spill_bytes=SPILL):
            raise RuntimeError("the caller fails while the member is mapped")
    assert _open_files() == before
    assert not _mapped_temp_files()


def _stream_of(wheel: Path, name: str) -> bytes:
    """The raw deflate stream of a member, as the archive holds it."""
    info = zipfile.ZipFile(wheel).getinfo(name)
    raw = wheel.read_bytes()
    name_size, extra_size = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_size + extra_size
    return raw[start : start + info.compress_size]


def _held_output_limits(stream: bytes, size: int) -> list[int]:
    """Output limits at which zlib takes all of ``stream`` but holds the end back."""
    limits = []
    for limit in range(1, size):
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(stream, limit)
        if len(out) == limit and not inflater.unconsumed_tail and not inflater.eof:
            limits.append(limit)
    return limits


def test_output_held_by_zlib_after_the_last_input_is_inflated(tmp_path: Path) -> None:
    # When a step stops at its output limit just as the last compressed byte is
    # taken, zlib still holds the rest of the output and the end of the stream:
    # one more step without input must finish it, not fail as truncated.
    for seed in range(200):
        rng = random.Random(seed)
        data = bytes(rng.choice(b"a" * 20 + b"b") for _ in range(rng.randrange(1000, 5000)))
        wheel = _wheel(tmp_path / f"{seed}.whl", {"pkg/big.bin": data})
        stream = _stream_of(wheel, "pkg/big.bin")
        limits = _held_output_limits(stream, len(data))
        if limits:
            break
    assert limits  # the case this test is about happens with one of these members
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/big.bin"]
        for limit in limits[:20]:
            with tempfile.TemporaryFile() as out:
                archive._inflate_into(member, out, in_step=len(stream), out_step=limit)
                out.seek(0)
                assert out.read() == data


def _broken_elf() -> bytes:
    """An x86-64 ELF header whose section headers lie past the end of the file."""
    header = bytearray(64)
    header[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 3, 62, 1, 0, 0, 10**9, 0, 64, 56, 0, 64, 5, 0)
    return bytes(header) + bytes(20 * SPILL)


def test_unreadable_spilled_elf_fails_with_its_message_and_frees_the_map(
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path / "a.whl", {"pkg/libbad.so": _broken_elf()})
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/libbad.so"]
        # Raised through the block, the traceback's frames still hold views of
        # the map: the ELF error comes out, not a BufferError from closing it.
        with (
            pytest.raises(ElfReadError, match="run past the end of the file"),
            archive.open_data(member, spill_bytes=SPILL) as data,
        ):
            read_elf_facts(data, member.name)
        assert not _mapped_temp_files()  # gone with the exception
        # Handled inside the block, as the parser's workers do.
        with archive.open_data(member, spill_bytes=SPILL) as data:
            try:
                read_elf_facts(data, member.name)
            except ElfReadError as e:
                message = str(e)
            assert _mapped_temp_files()
        assert "run past the end of the file" in message
        assert not _mapped_temp_files()


def test_unwritable_temporary_directory_is_a_wheel_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wheel(tmp_path / "a.whl", {"pkg/big.bin": _payload(4 * SPILL)})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with WheelArchive(str(wheel)) as archive:
        member = archive.members["pkg/big.bin"]
        with (
            pytest.raises(WheelError, match=r"a\.whl: pkg/big\.bin: cannot inflate its"),
            archive.open_data(member, spill_bytes=SPILL),
        ):
            pass
