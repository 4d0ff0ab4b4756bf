"""Which libraries to graft into a wheel, from where, under which names.

A library is grafted when an ELF file of the wheel (or a library grafted
before it) needs it, the policy does not allow it, no pattern of ``exclude``
matches it, and the wheel does not ship it. It is taken from the rule's
declared libraries (matched by SONAME, else by file name) or from the
sysroot directories the rule passes, in that order; nothing else is searched,
so what the host has installed never ends up in a wheel.

Grafted copies get auditwheel's names: ``libfoo.so.1`` becomes
``libfoo-<first 8 hex digits of its sha256>.so.1``, so two wheels grafting
different builds of a library cannot load each other's copy.
"""

from __future__ import annotations

import fnmatch
import hashlib
import mmap
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from ml_wheels.audit.elf import ElfFacts, ElfReadError, Platform, read_elf_facts
from ml_wheels.errors import WheelError

# The dynamic loaders: needed by every file, provided by the system.
_LOADER_PREFIXES = ("ld-linux", "ld64.so", "ld-musl", "ld.so")


@dataclass(frozen=True)
class Candidate:
    """A library file the repair may graft."""

    path: str
    soname: str
    facts: ElfFacts
    origin: str


@dataclass(frozen=True)
class Graft:
    """One library to copy into the wheel."""

    soname: str
    new_soname: str
    source: Candidate
    needed_by: tuple[str, ...]


@dataclass
class RepairPlan:
    """Everything the repair changes, decided before any file is touched."""

    libs_dir: str
    grafts: dict[str, Graft] = field(default_factory=dict)
    # Wheel member -> {needed soname -> grafted soname}.
    patches: dict[str, dict[str, str]] = field(default_factory=dict)


def is_loader(soname: str) -> bool:
    """Whether ``soname`` is a dynamic loader (never grafted, never external)."""
    return soname.startswith(_LOADER_PREFIXES)


def hashed_soname(soname: str, path: str) -> str:
    """``libfoo.so.1`` -> ``libfoo-1a2b3c4d.so.1``, from the content of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    base, dot, ext = soname.partition(".")
    return f"{base}-{digest.hexdigest()[:8]}{dot}{ext}"


def read_library(path: str) -> Optional[ElfFacts]:
    """The ELF facts of a library file, or None when it is not ELF."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return None
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return read_elf_facts(data, path, symbols=False)
    except OSError as exc:
        raise WheelError(f"cannot read the library {path}: {exc.strerror}") from None
    except ElfReadError as exc:
        raise WheelError(f"{path} is not a readable ELF library: {exc}") from None


class LibraryIndex:
    """The declared libraries by soname, then the sysroot directories."""

    def __init__(
        self, libraries: Sequence[str], search_dirs: Sequence[str], sysroot: str = ""
    ) -> None:
        self.search_dirs = list(search_dirs)
        self.sysroot = sysroot.rstrip("/")
        self.libraries = list(libraries)
        self.declared: dict[str, Candidate] = {}
        for path in libraries:
            facts = read_library(path)
            if facts is None:
                raise WheelError(
                    f"{path}, given in `libraries`, is not an ELF shared library; list only the "
                    "shared libraries the repair may graft"
                )
            soname = facts.soname or os.path.basename(path)
            previous = self.declared.get(soname)
            if previous is not None and not _same_content(previous.path, path):
                raise WheelError(
                    f"`libraries` holds two different files for {soname}: {previous.path} and "
                    f"{path}; keep only the one the wheel should ship"
                )
            self.declared.setdefault(soname, Candidate(path, soname, facts, f"libraries: {path}"))

    def find(self, soname: str, platform: Platform) -> Optional[Candidate]:
        """The library to graft for ``soname``, for ELF files of ``platform``."""
        declared = self.declared.get(soname)
        if declared is not None and platform.compatible(declared.facts.platform):
            return declared
        for directory in self.search_dirs:
            path = os.path.join(directory, soname)
            if not os.path.isfile(path):
                continue
            facts = read_library(path)
            if facts is not None and platform.compatible(facts.platform):
                return Candidate(path, soname, facts, f"sysroot: {self._shown(path)}")
        return None

    def _shown(self, path: str) -> str:
        """``path`` with the sysroot spelled ``<sysroot>``: reports stay reproducible."""
        if self.sysroot and path.startswith(self.sysroot + "/"):
            return "<sysroot>" + path[len(self.sysroot) :]
        return path

    def describe(self) -> str:
        """Where :meth:`find` looks, for error messages."""
        declared = (
            f"`libraries` ({', '.join(sorted(self.declared))})"
            if self.declared
            else "`libraries` (empty)"
        )
        sysroot = (
            "the C/C++ toolchain's sysroot ("
            + ", ".join(self._shown(d) for d in self.search_dirs)
            + ")"
            if self.search_dirs
            else "no sysroot (the C/C++ toolchain has none)"
        )
        return f"{declared} and {sysroot}"


def _same_content(first: str, second: str) -> bool:
    with open(first, "rb") as a, open(second, "rb") as b:
        while True:
            block = a.read(1 << 20)
            if block != b.read(1 << 20):
                return False
            if not block:
                return True


def excluded(soname: str, patterns: Iterable[str]) -> bool:
    """Whether an ``exclude`` glob (fnmatch, as auditwheel's) matches ``soname``."""
    return any(fnmatch.fnmatch(soname, pattern) for pattern in patterns)


def installed_dir(member: str, data_dir: str) -> str:
    """The directory a member lands in, relative to site-packages.

    Raises:
        WheelError: For an ELF file in ``.data/scripts`` or ``.data/data``,
            which installs outside site-packages where no RUNPATH relative to
            it can find the grafted libraries.
    """
    prefix = data_dir + "/"
    if not member.startswith(prefix):
        return posixpath.dirname(member)
    scheme, _, rest = member[len(prefix) :].partition("/")
    if scheme in ("purelib", "platlib"):
        return posixpath.dirname(rest)
    raise WheelError(
        f"{member} needs grafted libraries but installs into the {scheme!r} scheme, outside "
        "site-packages; ship it in the package instead"
    )


def plan_repair(
    members: Mapping[str, ElfFacts],
    external: Iterable[str],
    whitelist: frozenset[str],
    index: LibraryIndex,
    exclude: Sequence[str],
    libs_dir: str,
    policy_name: str,
) -> RepairPlan:
    """Decides the grafts and the NEEDED rewrites.

    Args:
        members: ELF facts of the wheel's ELF members, by member name.
        external: Sonames the audit found outside the policy and not in the wheel.
        whitelist: The sonames the policy allows.
        index: Where grafted libraries come from.
        exclude: Soname globs never grafted (provided at run time by other wheels).
        libs_dir: The directory of grafted libraries, relative to site-packages.
        policy_name: For messages.

    Raises:
        WheelError: A needed library is in neither of the index's places.
    """
    plan = RepairPlan(libs_dir)
    shipped = {posixpath.basename(name) for name in members}
    wanted = {s for s in external if not is_loader(s) and not excluded(s, exclude)}
    needed_by: dict[str, list[str]] = {}
    pending: list[tuple[str, Platform]] = []
    for member in sorted(members):
        facts = members[member]
        for soname in facts.needed:
            if soname in wanted:
                needed_by.setdefault(soname, []).append(member)
                plan.patches.setdefault(member, {})[soname] = soname
                if len(needed_by[soname]) == 1:
                    pending.append((soname, facts.platform))
    candidates: dict[str, Candidate] = {}
    while pending:
        soname, platform = pending.pop(0)
        candidate = index.find(soname, platform)
        if candidate is None:
            users = ", ".join(needed_by[soname])
            raise WheelError(
                f"{soname}, needed by {users}, is not allowed by {policy_name} and the repair "
                f"may take it only from {index.describe()}; add the Bazel target that builds it "
                "to `libraries`, build with a sysroot toolchain whose packages include it, or, "
                "if another wheel provides it at run time, add a pattern for it to `exclude`"
            )
        candidates[soname] = candidate
        for dependency in candidate.facts.needed:
            if (
                is_loader(dependency)
                or dependency in whitelist
                or excluded(dependency, exclude)
                or dependency in shipped
            ):
                continue
            users = needed_by.setdefault(dependency, [])
            users.append(f"{libs_dir}/{soname} (grafted)")
            if len(users) == 1:
                pending.append((dependency, candidate.facts.platform))
    for soname in sorted(candidates):
        candidate = candidates[soname]
        new_soname = hashed_soname(soname, candidate.path)
        plan.grafts[soname] = Graft(soname, new_soname, candidate, tuple(needed_by[soname]))
    for replacements in plan.patches.values():
        for soname in replacements:
            replacements[soname] = plan.grafts[soname].new_soname
    return plan
