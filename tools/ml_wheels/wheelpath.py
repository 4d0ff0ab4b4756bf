"""The one definition of a valid path inside a wheel.

The writer (``pack_wheel``), the strict reader (``unpack_wheel``) and the
audit's reader all call :func:`path_problem`, so a wheel one of them writes is
a wheel the others accept, and a path one of them refuses is refused by all.
The rules are those under which pip installs every member at the path RECORD
names, on every platform pip supports:

* UTF-8 text, at most :data:`MAX_PATH_BYTES` bytes (the zip name field), each
  ``/``-separated component at most :data:`MAX_COMPONENT_BYTES` bytes (the
  limit of every common file system);
* relative: no leading ``/``, no drive letter (``C:``), no backslash, no
  empty, ``.`` or ``..`` component;
* no control character (``\\n``, ``\\r``, ``\\x01``, ...), surrogate, or line
  or paragraph separator: RECORD is CSV, one line per file, and installers
  print these names;
* in Unicode normal form C: file systems that normalize names (macOS's) and
  installers that compare decoded names would otherwise see another path than
  RECORD lists.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PATH_BYTES = 0xFFFF
"""A zip entry name is at most this long (its length field is 16 bits)."""
MAX_COMPONENT_BYTES = 255
"""ext4, XFS, btrfs, APFS and NTFS limit one path component to 255 bytes (or UTF-16 units)."""

_DRIVE_RE = re.compile(r"[A-Za-z]:", re.ASCII)
# Printable ASCII but the backslash: no character of it is forbidden, and it
# is always in normal form C (the common case, checked without unicodedata).
_PLAIN_ASCII_RE = re.compile(r"[\x20-\x5b\x5d-\x7e]*")
# Cc: C0/C1 controls and DEL; Cs: lone surrogates; Zl/Zp: U+2028, U+2029.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _forbidden_character(path: str) -> str:
    if _PLAIN_ASCII_RE.fullmatch(path):
        return ""
    for char in path:
        if char == "\\":
            return "contains a backslash; use '/'"
        if char == "\0":
            return "contains a NUL character; remove it from the file name"
        category = unicodedata.category(char)
        if category == "Cs":
            # What os.fsdecode makes of bytes that are not UTF-8.
            return f"is not valid UTF-8 (it holds {char!r}); rename the file with UTF-8 text"
        if category in _FORBIDDEN_CATEGORIES:
            return f"contains the control character {char!r}; remove it from the file name"
    return ""


def _denormal_character(path: str) -> str:
    """Names the first character that NFC changes or composes, e.g. ``U+0301 (...)``."""
    for char in path:
        if unicodedata.combining(char) or unicodedata.normalize("NFC", char) != char:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"
    return "a sequence that NFC composes"


def path_problem(path: str) -> str:
    """Says why ``path`` cannot name a file in a wheel, or returns ``""``.

    Args:
        path: A member path relative to the wheel root, without a trailing
            ``/`` (strip it first for directory entries).

    Returns:
        A short phrase such as ``"is absolute; ..."`` that completes the
        sentence ``wheel path 'x' <phrase>``, or ``""`` when the path is valid.
    """
    if not isinstance(path, str) or not path:
        return "is empty"
    problem = _forbidden_character(path)
    if problem:
        return problem
    if path.startswith("/"):
        return "is absolute; use a path relative to the wheel root"
    if _DRIVE_RE.match(path):
        return "starts with a drive letter; use a path relative to the wheel root"
    parts = path.split("/")
    if ".." in parts:
        return "has a '..' component, which would escape the install directory"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' component; use a normalized relative path"
    if not path.isascii() and unicodedata.normalize("NFC", path) != path:
        return (
            f"is not in Unicode normal form C (it has {_denormal_character(path)}), so "
            "installers and file systems that normalize names would write another path "
            f"than RECORD lists; rename it to {unicodedata.normalize('NFC', path)!r}"
        )
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if len(encoded) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    for part in parts:
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            shown = part if len(part) <= 40 else f"{part[:24]}...{part[-8:]}"
            return (
                f"has a component longer than {MAX_COMPONENT_BYTES} bytes ({shown!r}); "
                "file systems refuse such names"
            )
    return ""


def shown_path(path: str) -> str:
    """``repr`` of a path, shortened to at most ~200 characters for messages."""
    shown = path if len(path) <= 200 else f"{path[:120]}...{path[-60:]}"
    return repr(shown)
