"""Parses a wheel's RECORD for verification while unpacking."""

from __future__ import annotations

import base64
import binascii
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ml_wheels.errors import WheelError

# Hashes strong enough to trust (PEP 427: sha256 or stronger; never md5/sha1).
ALGORITHMS = {
    "sha256": 32,
    "sha384": 48,
    "sha512": 64,
    "sha3_256": 32,
    "sha3_384": 48,
    "sha3_512": 64,
    "blake2b": 64,
    "blake2s": 32,
}

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_FIX = "the wheel is damaged or was edited after it was built; rebuild or download it again"


@dataclass(frozen=True)
class Expected:
    """What RECORD says about one file.

    Attributes:
        algorithm: A ``hashlib`` name from ``ALGORITHMS``, or "" when no hash is listed.
        digest: The raw digest (empty without a hash).
        size: The size in bytes, or None when not listed.
    """

    algorithm: str
    digest: bytes
    size: int | None


def _parse_hash(value: str, path: str, line: int) -> tuple[str, bytes]:
    if not value:
        return "", b""
    algorithm, sep, encoded = value.partition("=")
    if not sep or algorithm not in ALGORITHMS:
        raise WheelError(
            f"RECORD line {line} hashes {path!r} with {algorithm!r}; only "
            f"{', '.join(sorted(ALGORITHMS))} are accepted (md5 and sha1 are too weak); "
            "rebuild the wheel with a current tool"
        )
    try:
        digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != ALGORITHMS[algorithm]:
        raise WheelError(f"RECORD line {line} has a malformed {algorithm} for {path!r}; {_FIX}")
    return algorithm, digest


def parse_record(data: bytes) -> dict[str, Expected]:
    """Parses RECORD (``path,algorithm=urlsafe-b64-digest,size`` per line, CSV).

    Args:
        data: The RECORD bytes.

    Returns:
        Path -> what RECORD says about it.

    Raises:
        WheelError: If RECORD is not UTF-8 CSV with three fields a line, uses
            a weak or unknown hash, or lists a path twice with different values.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WheelError(f"RECORD is not valid UTF-8 (byte {exc.start}); {_FIX}") from None
    entries: dict[str, Expected] = {}
    reader = csv.reader(_lines(text), delimiter=",", quotechar='"')
    try:
        for line, row in enumerate(reader, start=1):
            _add_row(entries, line, row)
    except csv.Error as exc:
        raise WheelError(f"RECORD is not valid CSV ({exc}); {_FIX}") from None
    return entries


def _lines(text: str) -> Iterator[str]:
    """Yields the lines of ``text`` with their endings, one at a time.

    As iterating ``io.StringIO(text, newline="")`` does, without its copy of
    the whole text (four bytes a character) nor a list of every row: a
    64 MiB RECORD of repeated lines costs what its distinct paths cost.
    """
    for match in _LINE_RE.finditer(text):
        yield match.group()


def _add_row(entries: dict[str, Expected], line: int, row: list[str]) -> None:
    if not row or row == [""]:
        return
    if len(row) != 3:
        raise WheelError(
            f"RECORD line {line} has {len(row)} fields where path,hash,size are expected; {_FIX}"
        )
    path, hash_value, size_value = row
    if not path:
        raise WheelError(f"RECORD line {line} has an empty path; {_FIX}")
    algorithm, digest = _parse_hash(hash_value, path, line)
    size: int | None = None
    if size_value:
        if not size_value.isascii() or not size_value.isdigit() or len(size_value) > 20:
            raise WheelError(f"RECORD line {line} has the size {size_value!r}; {_FIX}")
        size = int(size_value)
    expected = Expected(algorithm, digest, size)
    previous = entries.get(path)
    if previous is not None and previous != expected:
        raise WheelError(f"RECORD lists {path!r} twice with different values; {_FIX}")
    entries[path] = expected
