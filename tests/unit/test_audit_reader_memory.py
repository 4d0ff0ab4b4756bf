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
    temp = tempfile.gettempdir()
    with open("/proc/self/maps") as maps:
        return [line for line in maps if temp in line]


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
