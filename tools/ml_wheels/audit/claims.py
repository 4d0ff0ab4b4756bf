"""The platform tags a wheel claims, checked against its audit.

A wheel claims the manylinux/musllinux tags of its file name and of its WHEEL
file's ``Tag:`` lines (the two must agree; :func:`ml_wheels.audit.analyze.audit`
refuses a wheel where they do not). ``linux_*`` tags claim nothing. A claim is
met when the wheel's ELF files are of the claimed architecture and libc, the
wheel meets the claimed policy (or, for a policy newer than auditwheel's data,
the newest one not newer than it), and no RUNPATH/RPATH entry leads outside
the wheel.
"""

from __future__ import annotations

import re
from typing import Optional

from ml_wheels.audit.analyze import AuditResult, Claim, Expectation
from ml_wheels.audit.elf import KNOWN_ARCHITECTURES
from ml_wheels.audit.policy import GLIBC, MUSL, Policy, PolicySet, TagRequest

_VERSIONED = re.compile(r"(manylinux|musllinux)_([0-9]+)_([0-9]+)", re.ASCII)
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _split(tag: str) -> tuple[str, Optional[str]]:
    for arch in sorted(KNOWN_ARCHITECTURES, key=len, reverse=True):
        if tag.endswith("_" + arch):
            return tag[: -len(arch) - 1], arch
    return tag, None


def _version(base: str) -> Optional[tuple[int, int]]:
    match = _VERSIONED.fullmatch(base)
    if match:
        return int(match.group(2)), int(match.group(3))
    return _LEGACY.get(base)


def _standing_policy(policies: PolicySet, version: tuple[int, int]) -> Optional[Policy]:
    """The least compatible known policy that is not newer than ``version``."""
    fitting = [
        p
        for p in policies.non_linux
        if (_version(p.base) or (99, 99)) <= version  # every known base is versioned
    ]
    return min(fitting, key=lambda p: p.priority) if fitting else None


def check_claim(result: AuditResult, claim: Claim) -> Expectation:
    """Whether the wheel meets one tag it claims, with the reasons when not."""
    base, arch = _split(claim.tag)
    libc = MUSL if base.startswith("musllinux") else GLIBC
    request = TagRequest(claim.tag, base, arch)
    version = _version(base)

    def failed(note: str) -> Expectation:
        return Expectation(request, None, False, note=note, claim=claim)

    if arch is None or version is None:
        return failed(f"{claim.tag} is not a manylinux/musllinux tag auditwheel's policies know")
    if result.pure:
        return Expectation(
            request, None, True, note="a pure wheel (no ELF files) meets any tag", claim=claim
        )
    assert result.policies is not None
    if arch != result.architecture:
        return failed(
            f"it is a tag for {arch}, but the wheel's ELF files are {result.architecture}"
        )
    foreign = [(path, other) for path, other in result.foreign if other != arch]
    if foreign:
        path, other = foreign[0]
        return failed(f"the wheel ships {path}, an ELF file for {other}, not {arch}")
    if libc != result.libc:
        return failed(f"{base} is a {libc} policy, but the wheel's ELF files link {result.libc}")
    policy = _standing_policy(result.policies, version)
    if policy is None:
        return failed(
            f"auditwheel has no {arch} policy as compatible as {claim.tag} "
            f"(it has: {result.policies.describe()})"
        )
    runpath = tuple(result.runpath_problems)
    met = result.compliant_with(policy) and not runpath
    reasons = tuple(r for r in result.reasons if r.limit.priority < policy.priority)
    return Expectation(request, policy, met, reasons, claim=claim, runpath=runpath)


def check_claims(result: AuditResult) -> list[Expectation]:
    """:func:`check_claim` for every tag the wheel claims, in tag order."""
    return [check_claim(result, claim) for claim in result.claims]
