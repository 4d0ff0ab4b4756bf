"""wheel_size on hostile archives: a clean verdict in bounded time and memory.

Every archive of the unpacker's hostile corpus (``hostile_wheel_corpus``),
and cases aimed at the size tool itself (lying ELF headers, impossible
sizes, a million-file-sized tree, a name of 32,767 components), goes through
``check`` and ``report`` in a subprocess whose address space is limited: the
outcome must be a verdict (exit 0 or 1) or a one-line error (exit 2), never a
traceback, a MemoryError or a kill, within the timeout.
"""

from __future__ import annotations

import functools
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from . import hostile_wheel_corpus as corpus
from .test_unpack import Raw, raw_zip
from .test_wheel_size_report import SECTIONS, elf_file

WHEEL_SIZE = Path(__file__).resolve().parents[2] / "tools" / "wheel_size.py"
MEMORY_LIMIT = 400 << 20
"""Address space of the size tool's process (Python, pyelftools and all)."""
TIMEOUT_S = 120
SECONDS = 30.0
"""What one command may take on a hostile archive of at most a few MiB (two shared cores)."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(WHEEL_SIZE), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_memory,
    )
    return result, time.monotonic() - start


def assert_clean(result: subprocess.CompletedProcess, seconds: float) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "MemoryError" not in result.stderr
    assert seconds < SECONDS, seconds
    if result.returncode == 2:
        assert result.stdout == ""
        assert result.stderr.startswith("wheel_size: error: ")
        assert result.stderr.count("\n") == 1, result.stderr[-3000:]
    else:
        assert result.returncode in (0, 1), result.stderr[-3000:]
        assert result.stderr == ""


@functools.lru_cache(maxsize=1)
def _corpus() -> dict[str, corpus.Case]:
    return {case.name: case for case in corpus.cases()}


@pytest.mark.parametrize("name", sorted(_corpus()))
def test_every_hostile_archive_of_the_corpus_gets_a_clean_verdict(tmp_path, name):
    case = _corpus()[name]
    archive = tmp_path / case.file_name
    archive.write_bytes(case.data)
    checked, seconds = run_limited(
        "check", "--max-size-mib=1", "--max-unpacked-mib=1", str(archive)
    )
    assert_clean(checked, seconds)
    out = tmp_path / "report.html"
    reported, seconds = run_limited("report", "--output", str(out), str(archive))
    assert_clean(reported, seconds)
    assert (reported.returncode == 0) == (checked.returncode in (0, 1))
    if reported.returncode == 0:
        assert out.stat().st_size < 4 << 20  # bounded, whatever the tree's shape


def test_a_refused_archive_says_why_as_the_unpacker_does(tmp_path):
    cases = _corpus()
    archive = tmp_path / "dup.zip"
    archive.write_bytes(cases["many-duplicates"].data)
    result, _ = run_limited("check", "--max-size-mib=1", "--max-unpacked-mib=1", str(archive))
    assert result.returncode == 2
    assert "appears twice" in result.stderr
    archive.write_bytes(cases["local-names-differ"].data)
    result, _ = run_limited("check", "--max-size-mib=1", "--max-unpacked-mib=1", str(archive))
    assert result.returncode == 2
    assert "different name in its local header" in result.stderr


def test_an_impossible_declared_size_fails_the_budget_without_inflating(tmp_path):
    archive = tmp_path / "ratio.zip"
    archive.write_bytes(_corpus()["ratio-claim"].data)  # claims 4 GiB from 100 bytes
    result, seconds = run_limited(
        "check", "--max-size-mib=1", "--max-unpacked-mib=100", str(archive)
    )
    assert_clean(result, seconds)
    assert result.returncode == 1
    assert f"unpacked: 4096.00 MiB ({0xFFFFFFF0:,} bytes), over --max-unpacked-mib" in result.stdout


def _wheel(path: Path, members: list[Raw]) -> Path:
    path.write_bytes(raw_zip(members))
    return path


def _report(tmp_path: Path, members: list[Raw]) -> tuple[subprocess.CompletedProcess, str]:
    archive = _wheel(tmp_path / "demo-1.0-py3-none-any.whl", members)
    out = tmp_path / "r.html"
    result, seconds = run_limited("report", "--output", str(out), str(archive))
    assert_clean(result, seconds)
    return result, out.read_text(encoding="utf-8") if result.returncode == 0 else ""


def _library_note(page: str) -> str:
    libraries = page[page.index('id="libraries"') : page.index('id="members"')]
    notes = [part.split("</span>")[0] for part in libraries.split('<span class="note">')[1:]]
    return " | ".join(notes)


def test_a_section_table_past_the_end_is_noted_not_followed(tmp_path):
    data = elf_file(SECTIONS, shoff=1 << 40)
    result, page = _report(tmp_path, [Raw("demo/_x.so", data)])
    assert result.returncode == 0
    assert "its section header table lies past the end of the file" in _library_note(page)


def test_a_huge_section_count_in_section_0_is_refused(tmp_path):
    data = bytearray(elf_file(SECTIONS))
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    struct.pack_into("<H", data, 0x3C, 0)  # e_shnum = 0: the count is section 0's sh_size
    struct.pack_into("<Q", data, shoff + 0x20, 1 << 40)
    result, page = _report(tmp_path, [Raw("demo/_x.so", bytes(data))])
    assert result.returncode == 0
    assert "sections, more than the 131072 this report reads" in _library_note(page)


def test_a_name_table_that_claims_terabytes_is_not_fetched(tmp_path):
    data = bytearray(elf_file(SECTIONS))
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    names_header = shoff + 64 * (len(SECTIONS) + 1)
    struct.pack_into("<Q", data, names_header + 0x20, 1 << 40)  # sh_size of .shstrtab
    result, page = _report(tmp_path, [Raw("demo/_x.so", bytes(data))])
    assert result.returncode == 0
    libraries = page[page.index('id="libraries"') : page.index('id="members"')]
    assert "&lt;name at 1&gt;" in libraries  # sizes listed, names unknown
    assert "50,000 bytes" in libraries


def test_a_library_claiming_an_impossible_size_is_not_inflated(tmp_path):
    # An ELF header, then a deflate stream of 1 KiB that the directory says is 4 GiB.
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = stream.compress(elf_file(SECTIONS)[:64] + bytes(1 << 16)) + stream.flush()
    member = Raw("demo/_x.so", payload, zipfile.ZIP_STORED, declared_size=0xFFFFFFF0, crc=0)
    data = bytearray(raw_zip([member]))
    central = data.rindex(b"PK\x01\x02")
    data[8:10] = data[central + 10 : central + 12] = zipfile.ZIP_DEFLATED.to_bytes(2, "little")
    archive = tmp_path / "demo-1.0-py3-none-any.whl"
    archive.write_bytes(bytes(data))
    out = tmp_path / "r.html"
    result, seconds = run_limited("report", "--output", str(out), str(archive))
    assert_clean(result, seconds)
    assert result.returncode == 0
    assert "which deflate cannot reach" in _library_note(out.read_text(encoding="utf-8"))


def test_a_library_whose_data_is_corrupt_fails_naming_it(tmp_path):
    member = Raw("demo/_x.so", b"\xff" * 5000, zipfile.ZIP_STORED, declared_size=8000, crc=0)
    data = bytearray(raw_zip([member]))
    central = data.rindex(b"PK\x01\x02")
    data[8:10] = data[central + 10 : central + 12] = zipfile.ZIP_DEFLATED.to_bytes(2, "little")
    archive = tmp_path / "demo-1.0-py3-none-any.whl"
    archive.write_bytes(bytes(data))
    result, seconds = run_limited("report", "--output", str(tmp_path / "r.html"), str(archive))
    assert_clean(result, seconds)
    assert result.returncode == 2
    assert "entry 'demo/_x.so' has corrupt deflate data" in result.stderr


def test_sixty_thousand_files_give_a_bounded_page_quickly(tmp_path):
    members = [Raw(f"p/d{i % 300}/f{i}.py", b"x", zipfile.ZIP_STORED) for i in range(60_000)]
    archive = _wheel(tmp_path / "demo-1.0-py3-none-any.whl", members)
    out = tmp_path / "r.html"
    result, seconds = run_limited("report", "--output", str(out), str(archive))
    assert_clean(result, seconds)
    assert result.returncode == 0
    checked, seconds = run_limited(
        "check", "--max-size-mib=100", "--max-unpacked-mib=1", str(archive)
    )
    assert_clean(checked, seconds)
    assert checked.returncode == 0
    assert "Largest members (10 of 60000):" in checked.stdout
