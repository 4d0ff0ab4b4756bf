"""The RECORD file and the canonical order of a wheel's members."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordEntry:
    """One line of RECORD.

    Attributes:
        arcname: The member's path in the wheel.
        sha256: Raw sha256 digest of the uncompressed content.
        size: Uncompressed size in bytes.
    """

    arcname: str
    sha256: bytes
    size: int


def record_hash(digest: bytes) -> str:
    """Returns ``sha256=<urlsafe base64 without padding>`` for a raw digest."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def render_record(entries: Iterable[RecordEntry], record_arcname: str) -> bytes:
    """Renders RECORD: one ``path,sha256=...,size`` line per entry, then itself.

    Args:
        entries: Every member except RECORD, in archive order.
        record_arcname: The RECORD's own path, listed last as ``path,,``.

    Returns:
        The RECORD bytes (UTF-8, ``\\n`` line ends, csv quoting where needed).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=",", quotechar='"', lineterminator="\n")
    for entry in entries:
        writer.writerow([entry.arcname, record_hash(entry.sha256), str(entry.size)])
    writer.writerow([record_arcname, "", ""])
    return buf.getvalue().encode("utf-8")


def canonical_order(arcnames: Iterable[str], dist_info: str) -> list[str]:
    """Sorts members canonically: payload, then dist-info with RECORD last.

    Both groups are sorted by the UTF-8 bytes of the path, so the order does
    not depend on the locale or on the order the inputs were given.

    Args:
        arcnames: Member paths (RECORD may or may not be among them).
        dist_info: The ``<name>-<version>.dist-info`` directory name.

    Returns:
        The sorted paths.
    """
    prefix = dist_info + "/"
    record = prefix + "RECORD"

    def key(name: str) -> tuple[int, bytes]:
        if name == record:
            return (2, b"")
        return (1 if name.startswith(prefix) else 0, name.encode("utf-8"))

    return sorted(arcnames, key=key)
