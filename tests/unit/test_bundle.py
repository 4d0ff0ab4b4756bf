"""Compression bundles: sharded compression assembled into the same bytes as one pass."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from ml_wheels.bundle import read_bundle, write_bundle
from ml_wheels.errors import WheelError
from ml_wheels.pack import assemble_spec, pack_spec

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _spec(tmp_path: Path, level: int = 6) -> Path:
    spec = {
        "target": "//pkg:wheel",
        "distribution": "sharded",
        "version": "1.0",
        "python_tag": "cp311",
        "abi_tag": "cp311",
        "platform_tag": "linux_x86_64",
        "build_tag": "",
        "wheel_name": "sharded-1.0-cp311-cp311-linux_x86_64.whl",
        "compression_level": level,
        "metadata": {"summary": "sharding test"},
        "entry_points": {},
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _inputs(tmp_path: Path) -> list[tuple[str, str]]:
    rng = random.Random(7)
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for i in range(40):
        path = src / f"m{i}.py"
        path.write_text(f"# module {i}\n" + "x = 1\n" * rng.randrange(1, 500))
        files.append((f"sharded/m{i}.py", str(path)))
    # A library larger than several deflate chunks, half compressible.
    big = src / "libbig.so"
    big.write_bytes(b"\x7fELF" + rng.randbytes(3 << 20) + bytes(3 << 20))
    files.append(("sharded/lib/libbig.so", str(big)))
    return files


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_assembled_wheel_is_byte_identical_to_single_pass(tmp_path, level):
    spec = _spec(tmp_path, level)
    files = _inputs(tmp_path)
    single = tmp_path / "single.whl"
    pack_spec(str(spec), str(single), files, jobs=1)

    # Shards in an arbitrary grouping, compressed with different job counts.
    bundles = []
    for shard, group in enumerate([files[::3], files[1::3], files[2::3]]):
        bundle = tmp_path / f"shard{shard}.bundle"
        write_bundle(str(bundle), group, [], level, jobs=1 + shard % 2)
        bundles.append(str(bundle))
    assembled = tmp_path / "assembled.whl"
    assemble_spec(str(spec), str(assembled), bundles, jobs=2)

    assert _sha(assembled) == _sha(single)
    with zipfile.ZipFile(assembled) as archive:
        assert archive.testzip() is None
        assert archive.read("sharded/lib/libbig.so") == Path(files[-1][1]).read_bytes()
        assert archive.getinfo("sharded/lib/libbig.so").external_attr >> 16 == 0o100755


def test_bundle_level_must_match_the_wheel(tmp_path):
    files = _inputs(tmp_path)[:2]
    bundle = tmp_path / "b.bundle"
    write_bundle(str(bundle), files, [], 1)
    with pytest.raises(WheelError, match="made at level 1, the wheel uses 6"):
        read_bundle(str(bundle), 6)


def test_member_in_two_bundles_is_an_error_naming_both(tmp_path):
    spec = _spec(tmp_path)
    files = _inputs(tmp_path)[:3]
    first, second = tmp_path / "a.bundle", tmp_path / "b.bundle"
    write_bundle(str(first), files[:2], [], 6)
    write_bundle(str(second), files[1:], [], 6)
    with pytest.raises(WheelError) as error:
        assemble_spec(str(spec), str(tmp_path / "out.whl"), [str(first), str(second)])
    message = str(error.value)
    assert "//pkg:wheel" in message and "sharded/m1.py" in message
    assert str(first) in message and str(second) in message
    assert not (tmp_path / "out.whl").exists()


def test_truncated_bundle_is_refused(tmp_path):
    bundle = tmp_path / "b.bundle"
    write_bundle(str(bundle), _inputs(tmp_path)[:2], [], 6)
    data = bundle.read_bytes()
    bundle.write_bytes(data[:-3])
    with pytest.raises(WheelError, match="not a compression bundle"):
        read_bundle(str(bundle), 6)


def test_dist_info_destination_refused_at_compress_time(tmp_path):
    src = tmp_path / "x.txt"
    src.write_text("x")
    with pytest.raises(WheelError, match=r"inside a \.dist-info directory"):
        write_bundle(str(tmp_path / "b.bundle"), [("a-1.dist-info/x.txt", str(src))], [], 6)


def test_cli_compress_and_assemble(tmp_path):
    spec = _spec(tmp_path)
    files = _inputs(tmp_path)
    bundle = tmp_path / "all.bundle"
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    args = [sys.executable, str(TOOLS / "pack_wheel.py")]
    compress = [*args, "compress", "--compression-level", "6", "--output", str(bundle)]
    for dest, src in files:
        compress += ["--file", dest, src]
    subprocess.run(compress, check=True, env=env)
    out = tmp_path / "cli.whl"
    subprocess.run(
        [*args, "assemble", "--spec", str(spec), "--output", str(out), "--bundle", str(bundle)],
        check=True,
        env=env,
    )
    single = tmp_path / "single.whl"
    pack_spec(str(spec), str(single), files)
    assert _sha(out) == _sha(single)


def test_dist_info_out_holds_the_wheels_dist_info_files(tmp_path):
    """--dist-info-out (what py_import presents): the wheel's .dist-info bytes."""
    spec = _spec(tmp_path)
    files = _inputs(tmp_path)[:3]
    out = tmp_path / "dist-info"
    wheel = tmp_path / "w.whl"
    pack_spec(str(spec), str(wheel), files, dist_info_out=str(out))
    bundle = tmp_path / "b.bundle"
    write_bundle(str(bundle), files, [], 6)
    out2 = tmp_path / "dist-info-2"
    assemble_spec(str(spec), str(tmp_path / "a.whl"), [str(bundle)], dist_info_out=str(out2))
    with zipfile.ZipFile(wheel) as archive:
        expected = {
            n.split("/", 1)[1]: archive.read(n)
            for n in archive.namelist()
            if n.startswith("sharded-1.0.dist-info/")
        }
    for directory in (out, out2):
        written = {
            p.relative_to(directory).as_posix(): p.read_bytes()
            for p in directory.rglob("*")
            if p.is_file()
        }
        assert written == expected
    assert set(expected) == {"METADATA", "WHEEL", "RECORD"}


def _fuzzed_bundles(tmp_path: Path) -> list[tuple[str, bytes]]:
    """A real bundle, every truncation of its tail and index, and byte flips everywhere."""
    bundle = tmp_path / "good.bundle"
    write_bundle(str(bundle), _inputs(tmp_path)[:3], [], 6)
    data = bundle.read_bytes()
    rng = random.Random(11)
    cases = [(f"cut{n}", data[:n]) for n in range(0, len(data), max(1, len(data) // 97))]
    cases += [(f"cut-{n}", data[:-n]) for n in range(1, 200)]
    positions = list(range(len(data) - 300, len(data))) + rng.sample(range(len(data)), 300)
    for pos in positions:
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[pos] ^= flip
            cases.append((f"flip{pos}^{flip:#x}", bytes(damaged)))
    return cases


def test_damaged_bundles_are_refused_with_a_wheel_error(tmp_path):
    # Before: truncations and flips raised struct.error, json errors, KeyError,
    # TypeError, ValueError ... or were silently copied into a broken wheel.
    target = tmp_path / "fuzz.bundle"
    for name, data in _fuzzed_bundles(tmp_path):
        target.write_bytes(data)
        with pytest.raises(WheelError, match="bundle") as error:
            read_bundle(str(target), 6)
        assert "rebuild it" in str(error.value), name


def test_bundle_with_a_consistent_but_lying_index_is_refused(tmp_path):
    # An index that checksums fine but points outside the payloads (a bug or
    # a hand-made bundle) is refused before anything is copied.
    bundle = tmp_path / "b.bundle"
    write_bundle(str(bundle), _inputs(tmp_path)[:1], [], 6)
    data = bundle.read_bytes()
    index_size = int.from_bytes(data[-20:-12], "little")
    payloads, index = data[: -20 - index_size], json.loads(data[-20 - index_size : -20])
    index["members"][0]["offset"] = len(payloads) + 10
    raw = json.dumps(index).encode()
    footer = len(raw).to_bytes(8, "little") + zlib.crc32(raw, zlib.crc32(payloads)).to_bytes(
        4, "little"
    )
    bundle.write_bytes(payloads + raw + footer + b"MLWBNDL3")
    with pytest.raises(WheelError, match="lies outside the bundle's payload area; rebuild it"):
        read_bundle(str(bundle), 6)


def test_bundle_of_the_older_format_is_refused(tmp_path):
    bundle = tmp_path / "old.bundle"
    index = b'{"level": 6, "members": []}'
    bundle.write_bytes(index + len(index).to_bytes(8, "little") + b"MLWBNDL1")
    with pytest.raises(WheelError, match=r"not a compression bundle \(an older format\)"):
        read_bundle(str(bundle), 6)
