"""What the C/C++ toolchain tests read from a built wheel: its audit and its extension's ELF."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT

AUDIT = REPO_ROOT / "tools" / "audit_wheel.py"


def audit(wheel: Path) -> dict:
    """`tools/audit_wheel.py --json` of a wheel; it must not fail."""
    result = subprocess.run(
        [sys.executable, str(AUDIT), "--json", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def shared_library(wheel: Path, directory: Path) -> Path:
    """Extracts the wheel's one `.so` into `directory`."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".so")]
        return Path(archive.extract(name, directory))


def needed_libraries(library: Path) -> list[str]:
    """The library's DT_NEEDED entries, sorted."""
    with library.open("rb") as stream:
        dynamic = ELFFile(stream).get_section_by_name(".dynamic")
        return sorted(tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED")


def symbol_versions(library: Path, prefix: str) -> list[tuple[int, ...]]:
    """The symbol versions `<prefix>_x.y.z` the library needs, in order."""
    with library.open("rb") as stream:
        section = ELFFile(stream).get_section_by_name(".gnu.version_r")
        names = [aux.name for _, auxes in section.iter_versions() for aux in auxes]
    found = {m.group(1) for n in names if (m := re.fullmatch(rf"{prefix}_([0-9.]+)", n))}
    return sorted(tuple(int(p) for p in v.split(".")) for v in found)


def comment_section(library: Path) -> str:
    """The `.comment` section (compiler and linker versions, NUL-separated); empty without one."""
    with library.open("rb") as stream:
        section = ELFFile(stream).get_section_by_name(".comment")
        return section.data().decode("ascii", "replace") if section else ""
