"""The canonical deflate encoding (libdeflate, whole member) and its parallel computation."""

from __future__ import annotations

import mmap
import random
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest

from ml_wheels.deflate import DEFLATE_VERSION, compress_bytes, compress_member, load_libdeflate
from ml_wheels.errors import WheelError
from ml_wheels.pack import write_wheel
from ml_wheels.pipeline import compress_file, write_members
from ml_wheels.record import canonical_order
from ml_wheels.sources import BytesSource, FileSource
from ml_wheels.zipwriter import ZipWriter

from .helpers import sha256_file, verify_record


def reference_encoding(data: bytes, level: int) -> bytes:
    """The encoding as the specification words it: libdeflate over the whole member."""
    import deflate

    return bytes(deflate.deflate_compress(data, level))


def compressible_text(size: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuv") for _ in range(rng.randint(2, 10)))
        for _ in range(4000)
    ]
    out = bytearray()
    while len(out) < size:
        out += (" ".join(rng.choice(words) for _ in range(64)) + "\n").encode()
    return bytes(out[:size])


MIB = 1 << 20


@pytest.mark.parametrize("size", [0, 1, 1000, MIB - 1, MIB, MIB + 1, 3 * MIB + 12345])
def test_encoding_matches_reference_and_decodes(size):
    data = compressible_text(size, seed=size)
    encoded = compress_bytes(data, 6)
    assert encoded == reference_encoding(data, 6)
    assert zlib.decompress(encoded, -15) == data


def test_level_zero_is_stored():
    assert compress_bytes(b"abc", 0) == b"abc"


@pytest.mark.parametrize("level", [1, 6, 9])
def test_no_larger_than_zlib_at_the_same_level(level):
    data = compressible_text(8 * MIB + 777)
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    plain = len(comp.compress(data) + comp.flush())
    ours = len(compress_bytes(data, level))
    assert ours <= plain, (ours, plain)


def test_another_deflate_version_is_refused(tmp_path):
    import deflate

    site = tmp_path / "site"
    shutil.copytree(Path(deflate.__file__).parent, site / "deflate")
    (site / "deflate-0.0.1.dist-info").mkdir()
    (site / "deflate-0.0.1.dist-info" / "METADATA").write_text("Name: deflate\nVersion: 0.0.1\n")
    with pytest.raises(WheelError, match=f"pinned to deflate=={DEFLATE_VERSION}.*found 0.0.1"):
        load_libdeflate(str(site / "deflate"))


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "mmap"])
def test_every_input_buffer_encodes_the_same(tmp_path, kind):
    data = compressible_text(3 * MIB + 5)
    path = tmp_path / "in"
    path.write_bytes(data)
    if kind == "bytes":
        buffer = data
    elif kind == "bytearray":
        buffer = bytearray(data)
    else:
        f = open(path, "rb")  # noqa: SIM115 - closed below
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    assert bytes(compress_member(buffer, 6)) == reference_encoding(data, 6)
    assert buffer[:100] == data[:100]


DIST_INFO_FILES = (
    "big-1.0.dist-info/METADATA",
    "big-1.0.dist-info/WHEEL",
    "big-1.0.dist-info/RECORD",
)


def _wheel(tmp_path, name, payload, jobs, level=6):
    out = tmp_path / name
    write_wheel(
        str(out),
        "big-1.0.dist-info",
        payload,
        {"METADATA": b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n", "WHEEL": b"Tag: x\n"},
        level,
        jobs,
    )
    return out


def test_parallel_output_is_byte_identical(tmp_path):
    # Large members (two above the 16 MiB that start first, out of archive
    # order) between many small files that are batched per task.
    payload = {}
    for name, size in (
        ("a/huge.bin", 24 * MIB + 7),
        ("m/mid.bin", 5 * MIB),
        ("z/big.bin", 17 * MIB),
    ):
        path = tmp_path / name.replace("/", "_")
        path.write_bytes(compressible_text(size, seed=size))
        payload[name] = FileSource(str(path))
    for i in range(300):
        small = tmp_path / f"s{i}.py"
        small.write_text(f"X = {i}\n" * (i % 7))
        payload[f"{'amz'[i % 3]}/s{i}.py"] = FileSource(str(small))
    serial = _wheel(tmp_path, "serial.whl", payload, jobs=1)
    with zipfile.ZipFile(serial) as zf:
        # Archive order is the canonical order, large members included.
        assert zf.namelist() == canonical_order([*payload, *DIST_INFO_FILES], "big-1.0.dist-info")
    for jobs in (2, 3, 8):
        parallel = _wheel(tmp_path, f"parallel{jobs}.whl", payload, jobs=jobs)
        assert sha256_file(serial) == sha256_file(parallel), jobs
    with zipfile.ZipFile(parallel) as zf:
        assert zf.testzip() is None
        assert zf.read("a/huge.bin") == (tmp_path / "a_huge.bin").read_bytes()
    verify_record(parallel)


@pytest.mark.parametrize("window_bytes", [0, 1 << 20])
def test_a_small_window_writes_the_same_bytes(tmp_path, window_bytes):
    members = []
    for i, size in enumerate((3 * MIB, 20 * MIB, 100, 2 * MIB + 1, 17 * MIB)):
        path = tmp_path / f"f{i}"
        path.write_bytes(compressible_text(size, seed=i))
        members.append((f"pkg/f{i}", FileSource(str(path))))

    def encode(jobs: int, **kwargs: int) -> str:
        out = tmp_path / f"out{jobs}.zip"
        with open(out, "wb") as fp:
            writer = ZipWriter(fp)
            write_members(writer, members, 6, jobs, **kwargs)
            writer.close()
        return sha256_file(out)

    assert encode(2, window_bytes=window_bytes) == encode(1)


def test_precompressed_members_assemble_to_identical_wheel(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(compressible_text(2 * MIB + 5))
    exe = tmp_path / "tool"
    exe.write_bytes(b"\x7fELF" + b"\0" * 100)
    generated = {"METADATA": b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n"}
    payload = {"pkg/big.bin": FileSource(str(big)), "pkg/bin/tool": FileSource(str(exe))}
    direct = tmp_path / "direct.whl"
    write_wheel(str(direct), "big-1.0.dist-info", payload, generated, 6, 1)

    # Compress each member separately (as cached Bazel actions would), then
    # only concatenate. The payload files go to tmp_path: the caller deletes them.
    spill = str(tmp_path)
    members = {name: compress_file(src.path, 6, dest_dir=spill) for name, src in payload.items()}
    members["big-1.0.dist-info/METADATA"] = compress_file(
        BytesSource(generated["METADATA"]), 6, dest_dir=spill
    )
    assembled = tmp_path / "assembled.whl"
    with open(assembled, "wb") as fp:
        writer = ZipWriter(fp)
        for name in canonical_order(members, "big-1.0.dist-info"):
            writer.write_compressed(name, members[name])
        from ml_wheels.record import render_record

        record = render_record(writer.records, "big-1.0.dist-info/RECORD")
        writer.write_compressed(
            "big-1.0.dist-info/RECORD",
            compress_file(BytesSource(record), 6, dest_dir=spill),
        )
        writer.close()
    assert sha256_file(assembled) == sha256_file(direct)
    assert members["pkg/big.bin"].compressed_size == len(reference_encoding(big.read_bytes(), 6))
