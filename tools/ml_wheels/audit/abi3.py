"""The abi3 check: a ``cp3X-abi3`` wheel may use only the limited API up to 3.X.

A wheel tagged ``abi3`` promises that its extensions load on CPython 3.X (the
python tag, ``cp310`` -> 3.10) and every newer release. That holds when each
ELF file imports from libpython only symbols of the stable ABI that CPython
3.X already had; a symbol outside it (``PyUnicode_AsUTF8`` before 3.13, any
``_PyObject_*``) or one added later (``PyType_GetName``, 3.11) breaks it,
whatever the file name says. abi3audit checks the same; the symbol data is
``abi3_symbols`` (CPython's Misc/stable_abi.toml, through abi3info; regenerate
with tools/update_abi3_symbols.py).

The symbols come from the same single ELF pass as the rest of the audit
(:attr:`ml_wheels.audit.elf.ElfFacts.python_imports`).

Also a violation: an extension named for one interpreter
(``_native.cpython-311-x86_64-linux-gnu.so``) in an abi3 wheel, which no other
CPython imports; abi3 extensions are named ``<module>.abi3.so``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ml_wheels.audit.abi3_symbols import ADDED
from ml_wheels.audit.elf import ElfFacts

_CPYTHON = re.compile(r"cp3([0-9]+)", re.ASCII)
# The stable ABI starts with CPython 3.2 (PEP 384).
OLDEST = (3, 2)
_SHOWN = 8  # symbols named per file and kind; the rest counted


@dataclass(frozen=True)
class Abi3Problem:
    """One way a file breaks the wheel's abi3 promise.

    ``kind`` is ``not_limited`` (a Py*/_Py* symbol outside the stable ABI),
    ``too_new`` (in the stable ABI since ``added``, after the baseline) or
    ``version_specific_name`` (an extension named for one interpreter).
    """

    file: str
    kind: str
    symbol: Optional[str] = None
    added: Optional[tuple[int, int]] = None


@dataclass(frozen=True)
class Abi3Check:
    """The abi3 verdict of a wheel whose abi tag is ``abi3``."""

    python_tag: str
    baseline: Optional[tuple[int, int]]
    files: tuple[str, ...]
    problems: tuple[Abi3Problem, ...] = ()
    tag_error: str = ""

    @property
    def met(self) -> bool:
        return not self.problems and not self.tag_error


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def claimed_abi3(filename: str) -> Optional[tuple[str, Optional[tuple[int, int]], str]]:
    """``(python tag, baseline, error)`` when the file name's abi tag is abi3, else None.

    The baseline is the oldest CPython the python tags name (``cp310.cp311`` ->
    3.10); the error says why there is none (``py3-abi3``, ``cp31-abi3``).
    """
    stem = filename[:-4] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) not in (5, 6) or "abi3" not in parts[-2].split("."):
        return None
    python_tag = parts[-3]
    versions = []
    for tag in python_tag.split("."):
        match = _CPYTHON.fullmatch(tag)
        if match is None:
            return (
                python_tag,
                None,
                f"the python tag {tag} is not a CPython 3 tag; abi3 wheels are tagged "
                "cp3X-abi3, 3.X the oldest CPython whose limited API they use (e.g. cp310-abi3)",
            )
        versions.append((3, int(match.group(1))))
    baseline = min(versions)
    if baseline < OLDEST:
        return (
            python_tag,
            None,
            f"{python_tag} names CPython {_text(baseline)}, older than the stable ABI "
            f"(PEP 384, CPython {_text(OLDEST)})",
        )
    return python_tag, baseline, ""


def check_abi3(
    filename: str,
    facts: Mapping[str, ElfFacts],
    elf_files: Sequence[str],
    python_extensions: Sequence[str],
) -> Optional[Abi3Check]:
    """The abi3 check of a wheel's audited ELF files; None when it is not tagged abi3."""
    claim = claimed_abi3(filename)
    if claim is None:
        return None
    python_tag, baseline, error = claim
    files = tuple(elf_files)
    if baseline is None:
        return Abi3Check(python_tag, None, files, tag_error=error)
    problems: list[Abi3Problem] = []
    for path in files:
        if path in python_extensions and ".cpython-" in posixpath.basename(path):
            problems.append(Abi3Problem(path, "version_specific_name"))
        for symbol in facts[path].python_imports:
            added = ADDED.get(symbol)
            if added is None:
                if not symbol.startswith("PyInit_"):
                    problems.append(Abi3Problem(path, "not_limited", symbol))
            elif added > baseline:
                problems.append(Abi3Problem(path, "too_new", symbol, added))
    return Abi3Check(python_tag, baseline, files, tuple(problems))


def _symbols(problems: Sequence[Abi3Problem], with_version: bool) -> str:
    names = [
        f"{p.symbol} ({_text(p.added)})" if with_version and p.added else str(p.symbol)
        for p in problems[:_SHOWN]
    ]
    more = f" and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    return ", ".join(names) + more


def explain_abi3(filename: str, check: Abi3Check) -> list[str]:
    """PASS or FAIL with the reasons, as lines for the audit's report."""
    if check.tag_error:
        return [f"FAIL: {filename} is tagged abi3, but {check.tag_error}."]
    assert check.baseline is not None
    version = _text(check.baseline)
    what = f"abi3 for CPython {version} and newer ({check.python_tag}-abi3)"
    if check.met:
        return [
            f"PASS: {filename} is {what}: its {len(check.files)} ELF file(s) import only "
            f"limited-API symbols CPython {version} has."
        ]
    lines = [f"FAIL: {filename} is tagged {what}, but:"]
    by_file: dict[str, list[Abi3Problem]] = {}
    for problem in check.problems:
        by_file.setdefault(problem.file, []).append(problem)
    for path, problems in by_file.items():
        if any(p.kind == "version_specific_name" for p in problems):
            lines.append(
                f"  - {path} is named for one interpreter (EXT_SUFFIX): no other CPython "
                "imports it; name it <module>.abi3.so (ABI3_SUFFIX of @python//:ext_suffix.bzl)"
            )
        outside = [p for p in problems if p.kind == "not_limited"]
        if outside:
            lines.append(
                f"  - {path} imports {_symbols(outside, False)} from libpython, which "
                f"{'is' if len(outside) == 1 else 'are'} not in the limited API"
            )
        newer = [p for p in problems if p.kind == "too_new"]
        if newer:
            lines.append(
                f"  - {path} imports {_symbols(newer, True)} from libpython, newer in the "
                f"limited API than CPython {version}"
            )
    hex_version = f"0x03{check.baseline[1]:02X}0000"
    newest = max((p.added for p in check.problems if p.added), default=None)
    raise_to = (
        f' or raise the wheel\'s py_limited_api to "cp3{newest[1]}" (CPython {_text(newest)});'
        if newest
        else ""
    )
    lines.append(
        f"    Fix: compile the extension with Py_LIMITED_API={hex_version} "
        f'(py_limited_api_defines("{check.python_tag}")), which hides what CPython {version}\'s '
        f"limited API lacks, and replace those calls;{raise_to} or build a version-specific "
        "wheel (no abi3)."
    )
    return lines


def abi3_json(check: Abi3Check) -> dict[str, Any]:
    """The check as a JSON-able dict (``abi3`` in ``audit_wheel --json``)."""
    return {
        "python_tag": check.python_tag,
        "baseline": _text(check.baseline) if check.baseline else None,
        "met": check.met,
        "tag_error": check.tag_error or None,
        "files": list(check.files),
        "problems": [
            {
                "file": p.file,
                "kind": p.kind,
                "symbol": p.symbol,
                "added": _text(p.added) if p.added else None,
            }
            for p in check.problems
        ],
    }


__all__ = [
    "Abi3Check",
    "Abi3Problem",
    "abi3_json",
    "check_abi3",
    "claimed_abi3",
    "explain_abi3",
]
