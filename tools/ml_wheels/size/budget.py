"""The size budget check and its message.

A wheel is over budget when its file, or the sum of its members' declared
uncompressed sizes, is larger than the budget. The message says by how much
(MiB, bytes and percent), lists the largest members (compressed and
uncompressed) and, given a baseline manifest, the growth of the wheel and of
each member that changed, and says how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Optional

from ml_wheels.errors import WheelError
from ml_wheels.size.archive import Entry, WheelSizes
from ml_wheels.size.manifest import Baseline

MiB = 1 << 20
LARGEST = 10
"""How many of the largest members a message lists."""
MAX_MIB = Decimal(10) ** 9
"""The largest budget taken (a petabyte): anything above is a typo."""
GROWTH_SHOWN = 20
"""How many changed members a message lists (largest growth first)."""


def parse_mib(text: str, what: str) -> Decimal:
    """A positive number of MiB, e.g. ``110`` or ``19.5``, at most ``MAX_MIB``.

    Raises:
        WheelError: Not a positive finite decimal number; names ``what``.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value > MAX_MIB:
        raise WheelError(f"{what} is {text!r}; give a positive number of MiB, e.g. 110 or 19.5")
    return value


def budget_bytes(mib: Decimal) -> int:
    """The largest byte count within a budget of ``mib`` MiB."""
    return math.floor(mib * MiB)


def format_mib(size: int) -> str:
    """``12.35 MiB``; below 1 MiB four decimals (``0.0536 MiB``), so a small size is not zero."""
    mib = size / MiB
    if size == 0 or abs(mib) >= 1:
        return f"{mib:.2f} MiB"
    return f"{mib:.4f} MiB"


def format_size(size: int) -> str:
    """``12.35 MiB (12,949,913 bytes)``."""
    return f"{format_mib(size)} ({size:,} bytes)"


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "new"
    return f"{100 * part / whole:+.1f}%"


@dataclass(frozen=True)
class Budget:
    """The limits of one check.

    Attributes:
        max_size_mib: Largest wheel file, in MiB.
        max_unpacked_mib: Largest sum of uncompressed member sizes, in MiB.
        size_name: How the caller names ``max_size_mib`` (attribute or flag).
        unpacked_name: How the caller names ``max_unpacked_mib``.
    """

    max_size_mib: Decimal
    max_unpacked_mib: Decimal
    size_name: str = "max_size_mib"
    unpacked_name: str = "max_unpacked_mib"


@dataclass(frozen=True)
class Verdict:
    """The outcome: ``ok`` and the text for the test log."""

    ok: bool
    message: str


def _limit_line(what: str, size: int, limit_mib: Decimal, limit_name: str) -> tuple[bool, str]:
    limit = budget_bytes(limit_mib)
    if size > limit:
        over = size - limit
        return False, (
            f"  {what}: {format_size(size)}, over {limit_name} = {limit_mib} by "
            f"{format_mib(over)} ({over:,} bytes, {100 * over / limit:.1f}%)"
        )
    used = 100 * size / limit if limit else 0.0
    return True, (
        f"  {what}: {format_size(size)}, within {limit_name} = {limit_mib} ({used:.1f}% of it)"
    )


def _growth(now: int, before: Optional[int]) -> str:
    if before is None:
        return "new"
    delta = now - before
    if delta == 0:
        return "="
    sign = "+" if delta > 0 else "-"
    return f"{sign}{format_mib(abs(delta))} ({_percent(delta, before)})"


def largest_table(
    entries: tuple[Entry, ...], baseline: Optional[Baseline], count: int = LARGEST
) -> list[str]:
    """The ``count`` largest members (uncompressed size, then path), one line each."""
    largest = sorted(entries, key=lambda entry: (-entry.size, entry.path))[:count]
    header = f"  {'uncompressed':>14}  {'compressed':>14}"
    if baseline is not None:
        header += f"  {'growth (uncompressed)':>24}"
    lines = [header + "  path"]
    for entry in largest:
        line = f"  {format_mib(entry.size):>14}  {format_mib(entry.compressed):>14}"
        if baseline is not None:
            before = baseline.members.get(entry.path)
            line += f"  {_growth(entry.size, None if before is None else before[1]):>24}"
        lines.append(f"{line}  {entry.path}")
    return lines


def growth_lines(sizes: WheelSizes, baseline: Baseline, shown: int = GROWTH_SHOWN) -> list[str]:
    """The growth of the wheel and of each changed member against ``baseline``."""
    lines = [f"Growth against the baseline {baseline.source} (of {baseline.wheel}):"]
    file_delta = sizes.file_size - baseline.file_size
    unpacked_delta = sizes.unpacked_size - baseline.unpacked_size
    lines.append(
        f"  wheel file: {_signed(file_delta)} ({_percent(file_delta, baseline.file_size)}), "
        f"unpacked: {_signed(unpacked_delta)} ({_percent(unpacked_delta, baseline.unpacked_size)})"
    )
    now = {entry.path: entry for entry in sizes.entries}
    changes: list[tuple[int, str, str]] = []
    grown = new = removed = shrunk = 0
    for path, entry in now.items():
        before = baseline.members.get(path)
        if before is None:
            new += 1
            changes.append(
                (entry.size, path, f"  {'new':>24}  {path}  {format_mib(entry.size)} uncompressed")
            )
        elif entry.size != before[1] or entry.compressed != before[0]:
            delta = entry.size - before[1]
            grown += delta > 0
            shrunk += delta < 0
            shown_growth = _growth(entry.size, before[1]) if delta else "compressed only"
            changes.append(
                (
                    abs(delta),
                    path,
                    f"  {shown_growth:>24}  {path}  "
                    f"{format_mib(before[1])} -> {format_mib(entry.size)} uncompressed, "
                    f"{format_mib(before[0])} -> {format_mib(entry.compressed)} compressed",
                )
            )
    for path, (_, size) in baseline.members.items():
        if path not in now:
            removed += 1
            changes.append((size, path, f"  {'removed':>24}  {path}  {format_mib(size)}"))
    lines.append(
        f"  members: {grown} grew, {shrunk} shrank, {new} new, {removed} removed"
        + (", largest change first:" if changes else "")
    )
    changes.sort(key=lambda change: (-change[0], change[1]))
    lines.extend(line for _, _, line in changes[:shown])
    if len(changes) > shown:
        lines.append(f"  ... and {len(changes) - shown} more changed members")
    return lines


def _signed(delta: int) -> str:
    return ("+" if delta >= 0 else "-") + format_mib(abs(delta))


def check(
    sizes: WheelSizes,
    budget: Budget,
    baseline: Optional[Baseline] = None,
    label: str = "",
    baseline_hint: str = "",
) -> Verdict:
    """Checks ``sizes`` against ``budget``; the message lists what fills the wheel.

    Args:
        sizes: The wheel.
        budget: The limits.
        baseline: Sizes to show growth against.
        label: The test target, named in the message and the fix.
        baseline_hint: How to record the current sizes as the new baseline.
    """
    size_ok, size_line = _limit_line(
        "wheel file", sizes.file_size, budget.max_size_mib, budget.size_name
    )
    unpacked_ok, unpacked_line = _limit_line(
        "unpacked", sizes.unpacked_size, budget.max_unpacked_mib, budget.unpacked_name
    )
    ok = size_ok and unpacked_ok
    where = f" ({label})" if label else ""
    if ok:
        head = f"PASS: {sizes.name} is within its size budget{where}:"
    else:
        head = f"FAIL: {sizes.name} is over its size budget{where}:"
    lines = [head, size_line, unpacked_line]
    lines.append(f"Largest members ({min(LARGEST, len(sizes.entries))} of {len(sizes.entries)}):")
    lines.extend(largest_table(sizes.entries, baseline))
    if baseline is not None:
        lines.extend(growth_lines(sizes, baseline))
    if not ok:
        owner = f" of {label}" if label else ""
        raises = []
        if not size_ok:
            raises.append(f"{budget.size_name} to at least {_ceil_mib(sizes.file_size)}")
        if not unpacked_ok:
            raises.append(f"{budget.unpacked_name} to at least {_ceil_mib(sizes.unpacked_size)}")
        lines.append(
            "To fix: make the wheel smaller (leave out what the largest members above do not "
            "need: debug info, unused libraries, test data), or, if the growth is expected, "
            f"raise {' and '.join(raises)}{owner}."
        )
        if baseline_hint:
            lines.append(baseline_hint)
    return Verdict(ok, "\n".join(lines) + "\n")


def _ceil_mib(size: int) -> str:
    """The smallest budget with two decimals that ``size`` bytes fit in."""
    hundredths = -(-size * 100 // MiB)
    while budget_bytes(Decimal(hundredths) / 100) < size:
        hundredths += 1
    return str(Decimal(hundredths) / 100)
