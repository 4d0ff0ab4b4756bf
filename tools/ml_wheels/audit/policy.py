"""auditwheel's manylinux/musllinux policies, read as data, and wheel platform tags.

The policies are the JSON files the pinned auditwheel package ships
(``auditwheel/policy/manylinux-policy.json`` and ``musllinux-policy.json``);
none of auditwheel's Python code runs. For one libc and one architecture
they form a list ordered by priority: ``linux`` (priority 0, no whitelist,
always met) up to the most compatible policy (``manylinux_2_5`` on x86_64).
A higher priority is more compatible: a wheel that meets ``manylinux_2_5``
also meets ``manylinux_2_17`` (PEP 600 policies only grow).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ml_wheels.audit.elf import KNOWN_ARCHITECTURES
from ml_wheels.errors import WheelError

GLIBC = "glibc"
MUSL = "musl"
_POLICY_FILES = {GLIBC: "manylinux-policy.json", MUSL: "musllinux-policy.json"}
_TAG_PREFIX = {GLIBC: "manylinux", MUSL: "musllinux"}

# auditwheel renames the musl libc soname per architecture.
_MUSL_LIBC = {
    "x86_64": "libc.musl-x86_64.so.1",
    "i686": "libc.musl-x86.so.1",
    "aarch64": "libc.musl-aarch64.so.1",
    "s390x": "libc.musl-s390x.so.1",
    "ppc64le": "libc.musl-ppc64le.so.1",
    "armv7l": "libc.musl-armv7.so.1",
    "riscv64": "libc.musl-riscv64.so.1",
    "loongarch64": "libc.musl-loongarch64.so.1",
}

_VERSIONED_BASE = re.compile(r"(manylinux|musllinux)_([0-9]+)_([0-9]+)", re.ASCII)


def policy_dir() -> Path:
    """The directory of the policy JSON files inside the installed auditwheel."""
    try:
        spec = importlib.util.find_spec("auditwheel.policy")
    except ImportError:
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        directory = Path(location)
        if (directory / _POLICY_FILES[GLIBC]).is_file():
            return directory
    raise WheelError(
        "cannot find auditwheel's policy files (auditwheel/policy/manylinux-policy.json): "
        "install the pinned auditwheel (tools/requirements.in) next to the audit tool"
    )


@functools.cache
def _raw_policies(libc: str) -> tuple[dict, ...]:
    path = policy_dir() / _POLICY_FILES[libc]
    try:
        return tuple(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise WheelError(f"cannot read auditwheel's policy file {path}: {e}") from e


def blacklisted_symbol_names() -> frozenset[str]:
    """Every symbol name any policy blacklists, for any libc."""
    names: set[str] = set()
    for libc in (GLIBC, MUSL):
        for raw in _raw_policies(libc):
            for symbols in raw["blacklist"].values():
                names.update(symbols)
    return frozenset(names)


@dataclass(frozen=True, eq=False)
class Policy:
    """One policy for one architecture, e.g. ``manylinux_2_17_x86_64``."""

    name: str
    base: str
    aliases: tuple[str, ...]
    base_aliases: tuple[str, ...]
    priority: int
    symbol_versions: Mapping[str, frozenset[str]]
    whitelist: frozenset[str]
    blacklist: Mapping[str, frozenset[str]]

    @property
    def is_linux(self) -> bool:
        return self.base == "linux"

    def allows_version(self, version: str) -> bool:
        """Whether a required symbol version (``GLIBC_2.28``) is within this policy.

        A policy without an entry for the version's prefix does not constrain
        it, exactly as auditwheel compares them.
        """
        prefix = version.partition("_")[0]
        allowed = self.symbol_versions.get(prefix)
        return allowed is None or version in allowed

    def newest_version(self, prefix: str) -> Optional[str]:
        """The newest allowed version with this prefix, e.g. ``2.17`` for GLIBC."""
        allowed = self.symbol_versions.get(prefix)
        if not allowed:
            return None
        return max((v.partition("_")[2] for v in allowed), key=_version_key)


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[._]", version))


class PolicySet:
    """The policies of one libc for one architecture, by ascending priority."""

    def __init__(self, libc: str, arch: str) -> None:
        self.libc = libc
        self.arch = arch
        policies = []
        for raw in _raw_policies(libc):
            base = raw["name"]
            if base != "linux" and arch not in raw["symbol_versions"]:
                continue
            symbol_versions: dict[str, frozenset[str]] = {}
            if base != "linux":
                for prefix, versions in raw["symbol_versions"][arch].items():
                    symbol_versions[prefix] = frozenset(f"{prefix}_{v}" for v in versions)
            whitelist = raw["lib_whitelist"]
            if libc == MUSL:
                whitelist = [_MUSL_LIBC.get(arch, s) if s == "libc.so" else s for s in whitelist]
            policies.append(
                Policy(
                    name=f"{base}_{arch}",
                    base=base,
                    aliases=tuple(f"{alias}_{arch}" for alias in raw["aliases"]),
                    base_aliases=tuple(raw["aliases"]),
                    priority=raw["priority"],
                    symbol_versions=symbol_versions,
                    whitelist=frozenset(whitelist),
                    blacklist={k: frozenset(v) for k, v in raw["blacklist"].items()},
                )
            )
        policies.sort(key=lambda p: p.priority)
        self.policies: tuple[Policy, ...] = tuple(policies)
        self.linux = policies[0]
        self.highest = policies[-1]

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    @property
    def non_linux(self) -> tuple[Policy, ...]:
        return self.policies[1:]

    def by_base(self, base: str) -> Optional[Policy]:
        """The policy named ``base`` (``manylinux_2_17``) or aliased so (``manylinux2014``)."""
        for policy in self.policies:
            if base == policy.base or base in policy.base_aliases:
                return policy
        return None

    def symbols_policy(self, required: Mapping[str, Iterable[str]]) -> Policy:
        """The most compatible policy whose symbol versions cover ``required``.

        ``required`` maps a library to the versions needed from it
        (``{"libc.so.6": {"GLIBC_2.17"}}``); versions are grouped by prefix
        (``GLIBC``), whatever library they come from.
        """
        by_prefix: dict[str, set[str]] = {}
        for versions in required.values():
            for version in versions:
                by_prefix.setdefault(version.partition("_")[0], set()).add(version)
        for policy in reversed(self.policies):
            if all(
                versions <= policy.symbol_versions[prefix]
                for prefix, versions in by_prefix.items()
                if prefix in policy.symbol_versions
            ):
                return policy
        return self.linux

    def version_limit(self, version: str) -> Policy:
        """The most compatible policy that allows one required symbol version."""
        for policy in reversed(self.policies):
            if policy.allows_version(version):
                return policy
        return self.linux

    def report_name(self, policy: Policy) -> str:
        """The name auditwheel shows for ``policy``.

        For musl, auditwheel checks only the musllinux policy of the machine it
        runs on, or the newest one where that is not musl; the musllinux
        policies carry the same checks, so this tool checks them all (for
        ``--expect``) and names the newest, as auditwheel does off musl.
        """
        if self.libc == MUSL and not policy.is_linux:
            return self.non_linux[0].name
        return policy.name

    def describe(self) -> str:
        return ", ".join(p.name for p in reversed(self.policies))


@dataclass(frozen=True)
class TagRequest:
    """A tag given on the command line, split into its policy and architecture."""

    text: str
    base: str
    arch: Optional[str]

    @property
    def libc(self) -> Optional[str]:
        if self.base.startswith("manylinux"):
            return GLIBC
        if self.base.startswith("musllinux"):
            return MUSL
        return None


def _known_bases() -> dict[str, Optional[str]]:
    bases: dict[str, Optional[str]] = {"linux": None}
    for libc in (GLIBC, MUSL):
        for raw in _raw_policies(libc):
            if raw["name"] == "linux":
                continue
            bases[raw["name"]] = libc
            for alias in raw["aliases"]:
                bases[alias] = libc
    return bases


def parse_tag(text: str) -> TagRequest:
    """Parses ``manylinux_2_17``, ``manylinux2014_x86_64``, ``musllinux_1_2_aarch64``, ...

    Raises:
      WheelError: an unknown policy or architecture.
    """
    tag = text.strip()
    base, arch = tag, None
    for candidate in sorted(KNOWN_ARCHITECTURES, key=len, reverse=True):
        if tag.endswith("_" + candidate):
            base, arch = tag[: -len(candidate) - 1], candidate
            break
    bases = _known_bases()
    if base in bases:
        return TagRequest(tag, base, arch)
    known = ", ".join(sorted(b for b in bases if b != "linux"))
    if _VERSIONED_BASE.fullmatch(base):
        raise WheelError(
            f"{text!r}: auditwheel's policies have no {base} (known: {known}); ask for one of those"
        )
    raise WheelError(
        f"{text!r} is not a manylinux/musllinux tag; use e.g. manylinux_2_17, "
        f"manylinux2014_x86_64 or musllinux_1_2 (policies: {known}; architectures: "
        f"{', '.join(KNOWN_ARCHITECTURES)})"
    )


@dataclass(frozen=True)
class FilenameTags:
    """What a wheel's file name says about its platform."""

    platforms: tuple[str, ...]
    arch: Optional[str]
    libc: Optional[str]
    pure: bool


def filename_tags(filename: str) -> FilenameTags:
    """Architecture and libc the file name claims, like auditwheel reads them.

    The architecture counts only when every platform tag names the same one;
    the libc only when every tag's prefix agrees (``manylinux``/``musllinux``).
    """
    stem = filename[:-4] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) not in (5, 6):
        return FilenameTags((), None, None, False)
    platforms = tuple(sorted(set(parts[-1].split("."))))
    arches = set()
    missed = False
    for platform in platforms:
        if platform == "any":
            missed = True
            continue
        found = [a for a in KNOWN_ARCHITECTURES if platform.endswith("_" + a)]
        found += [f"x86_64_v{n}" for n in (2, 3, 4) if platform.endswith(f"_x86_64_v{n}")]
        if not found:
            missed = True
        arches.update("x86_64" if a.startswith("x86_64") else a for a in found)
    arch = next(iter(arches)) if len(arches) == 1 and not missed else None
    libcs = {
        libc for libc, prefix in _TAG_PREFIX.items() for p in platforms if p.startswith(prefix)
    }
    libc = next(iter(libcs)) if len(libcs) == 1 else None
    return FilenameTags(platforms, arch, libc, platforms == ("any",))
