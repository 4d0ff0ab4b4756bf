"""The canonical chunked deflate encoding and its parallel computation."""

from __future__ import annotations

import random
import zipfile
import zlib

import pytest

from ml_wheels.deflate import CHUNK_SIZE, compress_bytes
from ml_wheels.pack import write_wheel
from ml_wheels.pipeline import compress_file
from ml_wheels.record import canonical_order
from ml_wheels.sources import BytesSource, FileSource
from ml_wheels.zipwriter import ZipWriter

from .helpers import sha256_file, verify_record


def reference_encoding(data: bytes, level: int) -> bytes:
    """The encoding as the specification words it, written independently."""
    chunk, window = 1 << 20, 1 << 15
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    out = []
    for index, piece in enumerate(pieces):
        start = index * chunk
        if index == 0:
            comp = zlib.compressobj(level, zlib.DEFLATED, -15)
        else:
            comp = zlib.compressobj(level, zlib.DEFLATED, -15, 8, 0, data[start - window : start])
        last = index == len(pieces) - 1
        out.append(comp.compress(piece) + comp.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))
    return b"".join(out)


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


@pytest.mark.parametrize(
    "size", [0, 1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345]
)
def test_encoding_matches_reference_and_decodes(size):
    data = compressible_text(size, seed=size)
    encoded = compress_bytes(data, 6)
    assert encoded == reference_encoding(data, 6)
    assert zlib.decompress(encoded, -15) == data


def test_single_chunk_is_plain_raw_deflate():
    data = compressible_text(CHUNK_SIZE)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert compress_bytes(data, 6) == comp.compress(data) + comp.flush()


def test_level_zero_is_stored():
    assert compress_bytes(b"abc", 0) == b"abc"


def test_size_close_to_plain_deflate():
    data = compressible_text(8 * CHUNK_SIZE + 777)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    plain = len(comp.compress(data) + comp.flush())
    ours = len(compress_bytes(data, 6))
    assert ours <= plain * 1.001, (ours, plain)


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
    big = tmp_path / "big.bin"
    big.write_bytes(compressible_text(5 * CHUNK_SIZE + 4321))
    payload = {"big/data.bin": FileSource(str(big))}
    for i in range(300):  # Many small files are batched per task.
        small = tmp_path / f"s{i}.py"
        small.write_text(f"X = {i}\n" * (i % 7))
        payload[f"big/s{i}.py"] = FileSource(str(small))
    serial = _wheel(tmp_path, "serial.whl", payload, jobs=1)
    parallel = _wheel(tmp_path, "parallel.whl", payload, jobs=2)
    assert sha256_file(serial) == sha256_file(parallel)
    with zipfile.ZipFile(parallel) as zf:
        assert zf.testzip() is None
        assert zf.read("big/data.bin") == big.read_bytes()
    verify_record(parallel)


def test_precompressed_members_assemble_to_identical_wheel(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(compressible_text(2 * CHUNK_SIZE + 5))
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
