"""wheel_size check/manifest: budgets, messages, baselines and the command line.

Wheels are written here with the standard library's zipfile (independent of
the code under test); expected numbers are worked out from the bytes the
tests put in them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from ml_wheels.errors import WheelError
from ml_wheels.size.archive import read_sizes
from ml_wheels.size.budget import Budget, check, format_mib, parse_mib
from ml_wheels.size.manifest import read_baseline, to_json

WHEEL_SIZE = Path(__file__).resolve().parents[2] / "tools" / "wheel_size.py"
MiB = 1 << 20
NAME = "demo-1.0-py3-none-any.whl"


def make_wheel(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def incompressible(size: int, seed: int = 1) -> bytes:
    """Bytes deflate cannot shrink (a xorshift stream)."""
    out = bytearray()
    state = seed * 2654435761 % (1 << 32) or 1
    while len(out) < size:
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out += state.to_bytes(4, "little")
    return bytes(out[:size])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(WHEEL_SIZE), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A 3 MiB incompressible library, 1 MiB of zeros and twelve small files."""
    members = {
        "demo/_lib.so": incompressible(3 * MiB),
        "demo/zeros.bin": bytes(MiB),
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    for index in range(12):
        members[f"demo/mod{index:02}.py"] = b"x = 1\n" * (index + 1)
    return make_wheel(tmp_path / NAME, members)


def _infos(path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return [info for info in archive.infolist() if not info.is_dir()]


def test_sizes_are_the_central_directory_sizes(wheel):
    sizes = read_sizes(str(wheel))
    infos = _infos(wheel)
    assert sizes.name == NAME
    assert sizes.file_size == wheel.stat().st_size
    assert sizes.unpacked_size == sum(info.file_size for info in infos)
    assert sizes.compressed_size == sum(info.compress_size for info in infos)
    assert [(e.path, e.compressed, e.size) for e in sizes.entries] == sorted(
        (info.filename, info.compress_size, info.file_size) for info in infos
    )


def test_directory_entries_count_for_nothing(tmp_path):
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("demo/", b"")
        archive.writestr("demo/a.py", b"a = 1\n")
    sizes = read_sizes(str(path))
    assert [entry.path for entry in sizes.entries] == ["demo/a.py"]
    assert sizes.unpacked_size == 6


def test_within_budget_passes_and_says_how_much_is_used(wheel):
    sizes = read_sizes(str(wheel))
    verdict = check(sizes, Budget(Decimal(5), Decimal(10)), label="//pkg:size_test")
    assert verdict.ok
    lines = verdict.message.splitlines()
    assert lines[0] == f"PASS: {NAME} is within its size budget (//pkg:size_test):"
    file_size = wheel.stat().st_size
    used = f"{100 * file_size / (5 * MiB):.1f}%"
    assert lines[1] == (
        f"  wheel file: {file_size / MiB:.2f} MiB ({file_size:,} bytes), within "
        f"max_size_mib = 5 ({used} of it)"
    )
    assert "To fix" not in verdict.message


def test_over_the_file_budget_says_by_how_much_in_mib_and_percent(wheel):
    sizes = read_sizes(str(wheel))
    file_size = wheel.stat().st_size
    assert file_size > 3 * MiB  # the library does not compress
    verdict = check(sizes, Budget(Decimal("2.5"), Decimal(100)), label="//pkg:size_test")
    assert not verdict.ok
    over = file_size - int(2.5 * MiB)
    assert verdict.message.startswith(
        f"FAIL: {NAME} is over its size budget (//pkg:size_test):\n"
        f"  wheel file: {file_size / MiB:.2f} MiB ({file_size:,} bytes), over max_size_mib = "
        f"2.5 by {over / MiB:.4f} MiB ({over:,} bytes, {100 * over / (2.5 * MiB):.1f}%)\n"
    )
    unpacked = 4 * MiB + sum(6 * (i + 1) for i in range(12)) + 46
    assert f"  unpacked: {unpacked / MiB:.2f} MiB ({unpacked:,} bytes), within " in verdict.message
    # The smallest two-decimal budget the file fits in, computed here.
    needed = -(-file_size * 100 // MiB) / 100
    assert f"raise max_size_mib to at least {needed:g} of //pkg:size_test." in verdict.message, (
        verdict.message
    )


def test_over_the_unpacked_budget_fails_even_when_the_file_is_small(tmp_path):
    path = make_wheel(tmp_path / NAME, {"demo/zeros.bin": bytes(3 * MiB)})
    assert path.stat().st_size < 10_000
    verdict = check(read_sizes(str(path)), Budget(Decimal(1), Decimal(2)))
    assert not verdict.ok
    over = 3 * MiB - 2 * MiB
    assert (
        f"  unpacked: 3.00 MiB ({3 * MiB:,} bytes), over max_unpacked_mib = 2 by 1.00 MiB "
        f"({over:,} bytes, 50.0%)"
    ) in verdict.message
    assert "raise max_unpacked_mib to at least 3" in verdict.message
    assert "max_size_mib to at least" not in verdict.message


def test_exactly_the_budget_passes(tmp_path):
    path = make_wheel(tmp_path / NAME, {"demo/zeros.bin": bytes(2 * MiB)})
    assert check(read_sizes(str(path)), Budget(Decimal(1), Decimal(2))).ok
    path = make_wheel(tmp_path / "b.whl", {"demo/zeros.bin": bytes(2 * MiB + 1)})
    assert not check(read_sizes(str(path)), Budget(Decimal(1), Decimal(2))).ok


def test_the_ten_largest_members_are_listed_compressed_and_uncompressed(wheel):
    sizes = read_sizes(str(wheel))
    message = check(sizes, Budget(Decimal(1), Decimal(1))).message
    lines = message.splitlines()
    start = lines.index("Largest members (10 of 15):")
    table = lines[start + 2 : start + 12]
    infos = sorted(_infos(wheel), key=lambda info: (-info.file_size, info.filename))[:10]
    assert [line.split()[-1] for line in table] == [info.filename for info in infos]
    first = table[0].split()
    assert first[0:2] == ["3.00", "MiB"]  # uncompressed
    assert float(first[2]) == pytest.approx(infos[0].compress_size / MiB, abs=0.005)
    zeros = table[1].split()
    assert zeros[0:2] == ["1.00", "MiB"]
    assert zeros[2] == f"{infos[1].compress_size / MiB:.4f}"  # 1 MiB of zeros deflates to ~1 KiB


def test_growth_against_a_baseline_lists_each_changed_member(wheel, tmp_path):
    baseline = tmp_path / "baseline.json"
    members = {
        "demo/_lib.so": {"compressed": 2 * MiB, "size": 2 * MiB},  # grew by 1 MiB
        "demo/zeros.bin": {"compressed": 100, "size": MiB},  # same size
        "demo/gone.py": {"compressed": 10, "size": 2048},  # removed
    }
    for index in range(12):
        members[f"demo/mod{index:02}.py"] = {"compressed": 1, "size": 6 * (index + 1)}
    baseline.write_text(
        json.dumps(
            {
                "format": "rules_ml_wheels.wheel_size",
                "version": 1,
                "wheel": "demo-0.9-py3-none-any.whl",
                "file_size": 2 * MiB,
                "unpacked_size": 3 * MiB,
                "members": members,
            }
        )
    )
    sizes = read_sizes(str(wheel))
    verdict = check(sizes, Budget(Decimal(1), Decimal(100)), read_baseline(str(baseline), "fix"))
    lines = verdict.message.splitlines()
    assert f"Growth against the baseline {baseline} (of demo-0.9-py3-none-any.whl):" in lines
    file_growth = wheel.stat().st_size - 2 * MiB
    assert (
        f"  wheel file: +{file_growth / MiB:.2f} MiB ({100 * file_growth / (2 * MiB):+.1f}%), "
        in verdict.message
    )
    # One grew, the METADATA is new, one was removed; the .py files changed compressed size only.
    assert "  members: 1 grew, 0 shrank, 1 new, 1 removed, largest change first:" in lines
    growth = [line.split() for line in lines if "demo/_lib.so  2.00 MiB -> 3.00 MiB" in line]
    assert growth and growth[0][:3] == ["+1.00", "MiB", "(+50.0%)"]
    assert any(line.split()[:2] == ["removed", "demo/gone.py"] for line in lines)
    assert any(line.split()[:2] == ["new", "demo-1.0.dist-info/METADATA"] for line in lines)
    # The largest-members table has a growth column.
    table_row = next(line for line in lines if line.endswith("  demo/zeros.bin"))
    assert table_row.split()[4] == "="


def test_growth_lists_at_most_twenty_changes_and_counts_the_rest(tmp_path):
    members = {f"demo/m{index:03}.txt": b"y" * (index + 1) for index in range(40)}
    path = make_wheel(tmp_path / NAME, members)
    baseline = tmp_path / "b.json"
    baseline.write_text(
        json.dumps(
            {
                "format": "rules_ml_wheels.wheel_size",
                "version": 1,
                "wheel": NAME,
                "file_size": 1,
                "unpacked_size": 0,
                "members": {},
            }
        )
    )
    message = check(
        read_sizes(str(path)), Budget(Decimal(1), Decimal(1)), read_baseline(str(baseline), "")
    ).message
    assert "  members: 0 grew, 0 shrank, 40 new, 0 removed, largest change first:" in message
    listed = [line for line in message.splitlines() if line.endswith(" uncompressed")]
    assert len(listed) == 20 and all(line.split()[0] == "new" for line in listed)
    assert "  ... and 20 more changed members" in message
    assert " new  demo/m039.txt " in message  # largest first
    assert " new  demo/m000.txt " not in message


def test_manifest_round_trips_and_is_reproducible(wheel, tmp_path):
    sizes = read_sizes(str(wheel))
    text = to_json(sizes)
    assert text == to_json(read_sizes(str(wheel)))
    assert text.isascii() and text.endswith("}\n")
    document = json.loads(text)
    assert document["format"] == "rules_ml_wheels.wheel_size"
    assert document["version"] == 1
    assert document["wheel"] == NAME
    assert document["file_size"] == wheel.stat().st_size
    assert document["members"] == {
        info.filename: {"compressed": info.compress_size, "size": info.file_size}
        for info in _infos(wheel)
    }
    assert str(tmp_path) not in text
    manifest = tmp_path / "m.json"
    manifest.write_text(text)
    baseline = read_baseline(str(manifest), "")
    assert baseline.unpacked_size == sizes.unpacked_size
    assert baseline.members["demo/_lib.so"] == (
        next(e.compressed for e in sizes.entries if e.path == "demo/_lib.so"),
        3 * MiB,
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[]", "it is not a JSON object"),
        (b'{"format": "other"}', "its \"format\" is 'other'"),
        (b'{"format": "rules_ml_wheels.wheel_size", "version": 2}', "this tool reads version 1"),
        (b"\xff\xfe", "not a wheel size manifest"),
        (b'{"a": 1, "a": 2}', "key 'a' appears twice"),
        (b"[" * 100_000 + b"]" * 100_000, "not a wheel size manifest"),
        (
            b'{"format": "rules_ml_wheels.wheel_size", "version": 1, "wheel": "w", '
            b'"file_size": 1, "unpacked_size": 1, "members": {"a": {"compressed": -1, "size": 1}}}',
            "the compressed size of 'a' is -1, not a byte count",
        ),
        (
            b'{"format": "rules_ml_wheels.wheel_size", "version": 1, "wheel": "w", '
            b'"file_size": true, "unpacked_size": 1, "members": {}}',
            '"file_size" is True, not a byte count',
        ),
    ],
)
def test_a_bad_baseline_names_the_file_and_the_fix(tmp_path, content, problem):
    path = tmp_path / "baseline.json"
    path.write_bytes(content)
    with pytest.raises(WheelError) as error:
        read_baseline(str(path), "write a new one with `bazel build //pkg:size_test`")
    message = str(error.value)
    assert message.startswith(f"baseline {path}: ")
    assert problem in message
    assert message.endswith("; write a new one with `bazel build //pkg:size_test`")


@pytest.mark.parametrize("text", ["0", "-1", "abc", "", "nan", "inf", "1e400000000000"])
def test_a_budget_must_be_a_positive_number(text):
    with pytest.raises(WheelError, match=r"give a positive number of MiB, e\.g\. 110 or 19\.5"):
        parse_mib(text, "max_size_mib of //pkg:t")


def test_budgets_take_decimals():
    assert parse_mib(" 19.5 ", "x") == Decimal("19.5")
    assert format_mib(0) == "0.00 MiB"
    assert format_mib(MiB // 2) == "0.5000 MiB"
    assert format_mib(110 * MiB) == "110.00 MiB"


def test_cli_check_exit_status_and_label_names_the_attributes(wheel):
    ok = run_cli("check", "--max-size-mib", "10", "--max-unpacked-mib", "10", str(wheel))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"PASS: {NAME} is within its size budget:")
    assert "--max-size-mib = 10" in ok.stdout
    over = run_cli(
        "check", "--max-size-mib=1", "--max-unpacked-mib=10", "--label=//pkg:t", str(wheel)
    )
    assert over.returncode == 1
    assert "over max_size_mib = 1 by " in over.stdout
    assert "raise max_size_mib to at least" in over.stdout and "of //pkg:t." in over.stdout


def test_cli_writes_the_manifest(wheel, tmp_path):
    out = tmp_path / "m.json"
    result = run_cli("manifest", "--output", str(out), str(wheel))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == to_json(read_sizes(str(wheel)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--max-size-mib=x", "--max-unpacked-mib=1", "W"], "--max-size-mib is 'x'"),
        (
            ["check", "--max-size-mib=1", "--max-unpacked-mib=0", "--label=//p:t", "W"],
            "max_unpacked_mib of //p:t is '0'",
        ),
        (
            ["check", "--max-size-mib=1", "--max-unpacked-mib=1", "MISSING"],
            "No such file or directory",
        ),
        (["check", "--max-size-mib=1", "--max-unpacked-mib=1", "DIR"], "is not a regular file"),
        (["manifest", "--output", "DIR", "W"], "cannot write"),
        (["check", "--max-size-mib=1", "--max-unpacked-mib=1", "NOTZIP"], "not a zip archive"),
    ],
)
def test_cli_errors_are_one_line_naming_the_problem(wheel, tmp_path, args, message):
    notzip = tmp_path / "not.whl"
    notzip.write_bytes(b"hello" * 100)
    mapping = {"W": str(wheel), "MISSING": str(tmp_path / "no.whl"), "DIR": str(tmp_path)}
    mapping["NOTZIP"] = str(notzip)
    result = run_cli(*[mapping.get(arg, arg) for arg in args])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("wheel_size: error: ")
    assert message in result.stderr


def test_cli_help_documents_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("check", "manifest", "report", "exit status", "examples:"):
        assert word in result.stdout
    check_help = run_cli("check", "--help").stdout
    for flag in ("--max-size-mib", "--max-unpacked-mib", "--baseline", "--label"):
        assert flag in check_help


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.whl"
    os.mkfifo(fifo)
    result = run_cli("check", "--max-size-mib=1", "--max-unpacked-mib=1", str(fifo))
    assert result.returncode == 2
    assert "is not a regular file" in result.stderr
