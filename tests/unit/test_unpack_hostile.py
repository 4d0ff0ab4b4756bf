"""unpack_wheel on hostile archives of at most 1 MiB: a clean verdict in bounded memory.

Each archive (``hostile_wheel_corpus``) is unpacked by the command line in a
subprocess whose address space is limited (``RLIMIT_AS``), with a generous
timeout: the verdict must be the expected one-line error (or success), never
a MemoryError, a traceback or a kill, and a refused archive leaves nothing.
Before the bookkeeping of directories was linear, the first case alone took
18 s and 1.3 GB.
"""

from __future__ import annotations

import functools
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from . import hostile_wheel_corpus as corpus

UNPACK_WHEEL = Path(__file__).resolve().parents[2] / "tools" / "unpack_wheel.py"
MEMORY_LIMIT = 400 << 20
"""Address space of the unpacking process (Python and its threads' stacks included)."""
TIMEOUT_S = 300


@functools.lru_cache(maxsize=1)
def _cases() -> dict[str, corpus.Case]:
    return {case.name: case for case in corpus.cases()}


_NAMES = [
    "deep-name",
    "deep-chains",
    "wide-and-deep",
    "deep-file-and-directory",
    "many-entries",
    "many-duplicates",
    "many-dist-infos",
    "local-names-differ",
    "inflates-past-declared",
    "record-bomb",
    "record-many-lines",
    "ratio-claim",
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def unpack_limited(archive: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs tools/unpack_wheel.py with ``MEMORY_LIMIT`` bytes of address space."""
    return subprocess.run(
        [sys.executable, str(UNPACK_WHEEL), str(archive), "--output-dir", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_memory,
    )


def test_the_corpus_lists_every_case_and_stays_small():
    assert sorted(_cases()) == sorted(_NAMES)
    assert all(len(case.data) <= corpus.MAX_SIZE for case in _cases().values())


def test_one_name_of_32767_components_gets_a_clean_verdict(tmp_path):
    # Issue 10: a 128 KiB archive whose one name has 32,767 components.
    archive = tmp_path / "deep.zip"
    archive.write_bytes(corpus.deep_archive())
    assert len(archive.read_bytes()) <= 132 * 1024
    out = tmp_path / "out"
    proc = unpack_limited(archive, out, "--no-verify-record")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == ""
    assert proc.stderr.startswith("unpack_wheel: error: cannot write ")
    assert proc.stderr.endswith(
        ": File name too long; check free space, permissions and name lengths of the output "
        "directory\n"
    )
    assert proc.stderr.count("\n") == 1
    assert not out.exists(), "the directories made before the failure are removed"


@pytest.mark.parametrize("name", _NAMES)
def test_each_hostile_archive_is_judged_in_bounded_memory(tmp_path, name):
    case = _cases()[name]
    archive = tmp_path / case.file_name
    archive.write_bytes(case.data)
    out = tmp_path / "out"
    out.mkdir()
    args = () if case.verify_record else ("--no-verify-record",)
    proc = unpack_limited(archive, out, *args)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stdout == ""
    if case.verdict is None:
        assert (proc.returncode, proc.stderr) == (0, "")
        assert any(out.iterdir())
        return
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("unpack_wheel: error: ")
    assert proc.stderr.count("\n") == 1
    assert case.verdict in proc.stderr, proc.stderr[:2000]
    assert list(out.iterdir()) == [], "a refused archive leaves nothing"
