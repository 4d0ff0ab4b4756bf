"""A corpus of hostile archives, each at most 1 MiB, generated here (no blobs).

Each case is an archive built byte by byte with ``raw_zip`` (independently of
the code under test) and the verdict ``unpack_wheel`` must reach on it: the
start of its one-line error, or ``None`` for an archive it must accept. The
cases aim at the unpacker's bookkeeping rather than at its name checks:
deep and many paths, many entries, sizes that lie, a RECORD that inflates to
its bound. ``tests/unit/test_unpack_hostile.py`` judges each one under a
memory limit.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass

from .test_unpack import DIST_INFO, Raw, raw_zip, record_line, wheel_entries

MAX_SIZE = 1 << 20
"""No archive of the corpus is larger."""
DEEP_COMPONENTS = 32767
"""One name of this many one-byte components is 65,533 bytes, about the longest a zip holds."""

_TOO_LONG = "File name too long"


@dataclass(frozen=True)
class Case:
    """One archive and the verdict on it.

    Attributes:
        name: The case's name (the archive's file name is derived from it).
        data: The archive.
        verify_record: Whether it is unpacked as a wheel with its RECORD checked.
        verdict: A text the one-line error must contain, or None when the
            archive must unpack.
    """

    name: str
    data: bytes
    verify_record: bool
    verdict: str | None

    @property
    def file_name(self) -> str:
        """A wheel name for RECORD-checked cases (the name must parse), else a zip name."""
        return "demo-1.0-py3-none-any.whl" if self.verify_record else f"{self.name}.zip"


def deep_name(components: int, top: str = "a") -> str:
    """``top/a/a/.../a``: ``components`` components in all."""
    return "/".join([top] + ["a"] * (components - 1))


def deep_archive() -> bytes:
    """The archive of issue 10: one name of 32,767 components (128 KiB)."""
    return raw_zip([Raw(deep_name(DEEP_COMPONENTS), b"x", zipfile.ZIP_STORED)])


def _deep_chains() -> bytes:
    # As many distinct maximal chains as fit: each costs 128 KiB of names.
    entries = [Raw(deep_name(DEEP_COMPONENTS - 1, f"c{i}"), b"x") for i in range(7)]
    return raw_zip(entries)


def _wide_and_deep() -> bytes:
    # Chains of 400 directories (800 bytes of name each), 25 of them: 10,000
    # directories that fit any output path, a file at the end of each. (Deeper
    # would be as fine here, but shutil.rmtree, which removes the test's
    # directory, recurses: it fails at about 1,000 levels.)
    entries = [Raw(deep_name(400, f"w{i}") + "/f.py", b"x", zipfile.ZIP_STORED) for i in range(25)]
    return raw_zip(entries)


def _deep_file_and_directory() -> bytes:
    # The same deep path as a file and as the parent of another file.
    path = deep_name(16000)
    return raw_zip([Raw(path, b"x"), Raw(path + "/inner.py", b"y")])


def _many_entries() -> bytes:
    entries = [Raw(f"p/{i}", b"", zipfile.ZIP_STORED) for i in range(3000)]
    return raw_zip(entries)


def _many_duplicates() -> bytes:
    return raw_zip([Raw("p/same.py", b"x", zipfile.ZIP_STORED)] * 9000)


def _many_dist_infos() -> bytes:
    extra = [Raw(f"d{i}-1.0.dist-info/METADATA", b"", zipfile.ZIP_STORED) for i in range(5000)]
    return raw_zip(wheel_entries(extra=extra))


def _local_names_differ() -> bytes:
    entries = [Raw(f"p/{i}.py", b"x", local_name=b"../evil.py") for i in range(3000)]
    return raw_zip(entries)


def _zeros_stream(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    out = [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join(out) + compressor.flush()


def _inflates_past_declared() -> bytes:
    # 256 MiB of zeros (250 KiB deflated) declared as 1,000 bytes.
    stream = _zeros_stream(256 << 20)
    member = Raw("p/bomb.bin", stream, zipfile.ZIP_STORED, declared_size=1000, crc=0)
    return _as_deflated(raw_zip([member]))


def _as_deflated(archive: bytes) -> bytes:
    """Marks the only member of ``archive`` (stored: its data is a deflate stream) deflated."""
    data = bytearray(archive)
    central = data.rindex(b"PK\x01\x02")
    data[8:10] = zipfile.ZIP_DEFLATED.to_bytes(2, "little")
    data[central + 10 : central + 12] = zipfile.ZIP_DEFLATED.to_bytes(2, "little")
    return bytes(data)


def _record_bomb() -> bytes:
    # A RECORD of 16 MiB (its bound is 64 MiB): one short line, 4 million times.
    line = b"p,,\n"
    record = line * ((16 << 20) // len(line))
    return raw_zip([Raw(f"{DIST_INFO}/RECORD", record)])


def _record_many_lines() -> bytes:
    # About 1 MiB of deflated, distinct RECORD lines for files the wheel lacks.
    lines = "".join(record_line(f"p/{i}.py", b"") for i in range(100000))
    return raw_zip([Raw(f"{DIST_INFO}/RECORD", lines.encode())])


def _ratio_claim() -> bytes:
    return raw_zip([Raw("p/huge.bin", b"x" * 100, declared_size=0xFFFFFFF0, crc=0)])


def cases() -> list[Case]:
    """Every case of the corpus."""
    return [
        Case("deep-name", deep_archive(), False, _TOO_LONG),
        Case("deep-chains", _deep_chains(), False, _TOO_LONG),
        Case("wide-and-deep", _wide_and_deep(), False, None),
        Case("deep-file-and-directory", _deep_file_and_directory(), False, "both a file and"),
        Case("many-entries", _many_entries(), False, None),
        Case("many-duplicates", _many_duplicates(), False, "appears twice"),
        Case("many-dist-infos", _many_dist_infos(), True, "and 4996 more"),
        Case("local-names-differ", _local_names_differ(), False, "different name in its local"),
        Case("inflates-past-declared", _inflates_past_declared(), False, "inflates beyond"),
        Case("record-bomb", _record_bomb(), True, "lists 'p' but the wheel has no"),
        Case("record-many-lines", _record_many_lines(), True, "but the wheel has no such file"),
        Case("ratio-claim", _ratio_claim(), False, "a ratio above the bound"),
    ]
