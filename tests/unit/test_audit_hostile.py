"""audit_wheel on hostile archives (tests/unit/hostile_audit_corpus.py): each is
refused with one clear line, or judged, within an address-space limit and a
timeout, in a subprocess of its own (no timing assertions)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from . import hostile_audit_corpus as corpus
from .test_audit_helpers import compile_so, requires_gcc

pytestmark = requires_gcc

TOOLS = Path(__file__).resolve().parents[2] / "tools"
PROG = "audit_wheel"
# Python with pyelftools needs some of this; a member inflated whole does not fit.
ADDRESS_SPACE = 400 << 20
TIMEOUT_S = 30
SOURCE = "#include <string.h>\nint native_len(const char *s) { return (int)strlen(s); }\n"
VERSION_SCRIPT = "DEMO_1.0 { global: native_len; local: *; };\n"


@pytest.fixture(scope="module")
def elf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A shared object with both .gnu.version_r (GLIBC_2.2.5) and .gnu.version_d."""
    build = tmp_path_factory.mktemp("hostile")
    (build / "demo.map").write_text(VERSION_SCRIPT)
    so = compile_so(build, "_native.so", SOURCE, f"-Wl,--version-script={build / 'demo.map'}")
    return so.read_bytes()


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def audit_bounded(tmp_path: Path, data: bytes) -> subprocess.CompletedProcess:
    """Runs the CLI on ``data`` (saved as a wheel) under RLIMIT_AS and a timeout."""
    assert len(data) < 1 << 20, len(data)
    wheel = tmp_path / corpus.WHEEL_NAME
    wheel.write_bytes(data)
    return subprocess.run(
        [sys.executable, str(TOOLS / "audit_wheel.py"), "--jobs=1", wheel.name],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TOOLS)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_address_space,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"{PROG}: error: {corpus.WHEEL_NAME}: "), lines[0]
    return lines[0]


ELF_REFUSALS = {
    "phnum_xnum_without_sections": "e_phnum is PN_XNUM but the file has no section 0",
    "dynamic_without_end": "its dynamic section has more than 65536 entries before DT_NULL",
    "needed_strings_overlap": (
        "its string tables are malformed (strings overlap or are not terminated, more bytes "
        "than the file holds)"
    ),
    "notes_overlap": "its note sections hold more bytes than the file (they overlap)",
    "phentsize_zero": "cannot read this ELF file: its program header entries are 0 bytes, not 56",
    "shnum_absurd": "cannot read this ELF file: its 1099511627776 section header entries at offset",
    "shentsize_zero": "cannot read this ELF file: its section header entries are 0 bytes, not 64",
    "verneed_next_zero": "section's vn_next chain ends (next = 0) with 4294967294 more record(s)",
    "verneed_huge_count": "section's vna_next chain ends (next = 0) with 65534 more record(s)",
    "verneed_cycle": "a record of its .gnu.version_r section at offset",
    "verdef_next_zero": "section's vd_next chain ends (next = 0) with 4294967294 more record(s)",
    "verdef_huge_count": "section's vda_next chain ends (next = 0) with 65534 more record(s)",
}


@pytest.mark.parametrize("case", sorted(corpus.ELF_CASES))
def test_hostile_elf_is_refused_in_bounded_time_and_memory(
    tmp_path: Path, elf: bytes, case: str
) -> None:
    line = one_line_error(audit_bounded(tmp_path, corpus.elf_case_wheel(elf, case)))
    assert f": {corpus.ELF_MEMBER}: cannot read this ELF file: " in line, line
    assert ELF_REFUSALS[case] in line, line


def test_the_unpatched_elf_is_judged_under_the_same_limits(tmp_path: Path, elf: bytes) -> None:
    result = audit_bounded(tmp_path, corpus.wheel_bytes({corpus.ELF_MEMBER: elf}))
    assert result.returncode == 0, result.stderr
    assert "x86_64 (glibc), 1 ELF file(s)" in result.stdout


ZIP_REFUSALS = {
    "inflates_past_declared": (
        f"{corpus.ELF_MEMBER}: inflates past the 65536 bytes the archive declares "
        "(a corrupt member or a zip bomb); rebuild the wheel"
    ),
    "declares_a_bomb": f"'{corpus.ELF_MEMBER}' declares 943718400 bytes from ",
    "local_name_differs": f"'{corpus.ELF_MEMBER}': its local header names 'demo/_other.so_'",
    "bzip2": f"'{corpus.ELF_MEMBER}' is compressed with bzip2 (zip method 12); wheels use deflate",
    "lzma": f"'{corpus.ELF_MEMBER}' is compressed with LZMA (zip method 14); wheels use deflate",
    "zstd": f"'{corpus.ELF_MEMBER}' is compressed with Zstandard (zip method 93); wheels use",
    "deflate64": f"'{corpus.ELF_MEMBER}' is compressed with deflate64 (zip method 9); wheels",
}


@pytest.fixture(scope="module")
def zip_cases(elf: bytes) -> dict[str, bytes]:
    return {name: build(elf) for name, build in corpus.ZIP_CASES.items()}


@pytest.mark.parametrize("case", sorted(ZIP_REFUSALS))
def test_hostile_archive_is_refused_in_bounded_time_and_memory(
    tmp_path: Path, zip_cases: dict[str, bytes], case: str
) -> None:
    line = one_line_error(audit_bounded(tmp_path, zip_cases[case]))
    assert ZIP_REFUSALS[case] in line, line


def test_the_bomb_declares_more_than_16_times_its_compressed_size(
    zip_cases: dict[str, bytes],
) -> None:
    # The refusal's premise, checked with zipfile: 900 MiB from under 1 MiB.
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(zip_cases["declares_a_bomb"])) as archive:
        info = archive.getinfo(corpus.ELF_MEMBER)
    assert info.file_size == 900 << 20
    assert info.file_size > 16 * info.compress_size


def test_a_name_of_32767_components_is_judged_in_bounded_memory(
    tmp_path: Path, zip_cases: dict[str, bytes]
) -> None:
    data = zip_cases["deep_name"]
    assert len(data) < 256 << 10
    result = audit_bounded(tmp_path, data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{corpus.WHEEL_NAME}: pure (no ELF files)" in result.stdout


def test_a_compressible_data_file_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    # 12 MiB of zeros deflate ~1000:1; only ELF files, RECORD and WHEEL are read whole.
    import zipfile

    data = corpus.wheel_bytes({"demo/zeros.bin": bytes(12 << 20)}, compression=zipfile.ZIP_DEFLATED)
    result = audit_bounded(tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert "pure (no ELF files)" in result.stdout
