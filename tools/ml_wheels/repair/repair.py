"""Repairs a wheel: unpack, graft and patch, repack, and audit the result.

The input is unpacked by the same reader ``py_import`` uses (RECORD checked),
the repaired tree is written by the same writer ``python_wheel`` uses (sorted
members, fixed timestamps, RECORD regenerated), and the result must meet
every tag it claims under the same audit as ``verify_manylinux_compliance_test``,
or no wheel is written.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ml_wheels.audit.analyze import AuditResult, Claim, audit
from ml_wheels.audit.claims import check_claim, check_claims
from ml_wheels.audit.elf import ElfFacts
from ml_wheels.audit.reader import WheelArchive, parse_elf_members
from ml_wheels.audit.report import explain_claims
from ml_wheels.errors import WheelError
from ml_wheels.naming import validate_tag_set
from ml_wheels.pack import pack_directory
from ml_wheels.repair.graft import LibraryIndex, RepairPlan, installed_dir, plan_repair
from ml_wheels.repair.patch import Patchelf, runpath_with
from ml_wheels.unpack import unpack_wheel


@dataclass(frozen=True)
class RepairRequest:
    """What to repair and how (the CLI's arguments)."""

    wheel: str
    output: str
    platform_tag: str
    patchelf: str
    libraries: Sequence[str] = ()
    search_dirs: Sequence[str] = ()
    sysroot: str = ""
    exclude: Sequence[str] = ()
    lib_sdir: str = ".libs"
    compression_level: int = 6
    jobs: Optional[int] = None
    report: Optional[str] = None


def _dist_info(names: Sequence[str]) -> str:
    infos = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
    if len(infos) != 1:
        raise WheelError(f"the wheel has {len(infos)} .dist-info directories; it needs exactly one")
    return infos[0]


def _check_lib_sdir(lib_sdir: str) -> None:
    if not lib_sdir or "/" in lib_sdir or lib_sdir in (".", ".."):
        raise WheelError(
            f"lib_sdir {lib_sdir!r} must be a non-empty name without '/', e.g. '.libs' "
            "(the grafted libraries go to <distribution><lib_sdir>/)"
        )


def _policy_for(result: AuditResult, tag: str) -> tuple[str, frozenset[str], set[str]]:
    """The policy of the tag to repair for: its name, whitelist and external sonames."""
    expectation = check_claim(result, Claim(tag, ("the requested platform tag",)))
    if expectation.policy is None:
        raise WheelError(f"cannot repair for {tag}: {expectation.note}")
    policy = expectation.policy
    ref = result.external_refs.get(policy.name)
    if ref is not None and ref.blacklist:
        library, symbols = sorted(ref.blacklist.items())[0]
        raise WheelError(
            f"the wheel uses {', '.join(symbols)} from {library}, which {policy.name} forbids; "
            "grafting cannot fix that: stop using the symbol or build for another policy"
        )
    return policy.name, policy.whitelist, set(ref.libs) if ref is not None else set()


def _retag_wheel_file(path: str, platform_tags: Sequence[str]) -> None:
    """Rewrites the ``Tag:`` lines of an unpacked WHEEL file for the new platform."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    kept: list[str] = []
    tags: list[str] = []
    for line in lines:
        if line.startswith("Tag:"):
            python_abi = line[len("Tag:") :].strip().rsplit("-", 1)[0]
            for platform in platform_tags:
                tag = f"Tag: {python_abi}-{platform}"
                if tag not in tags:
                    tags.append(tag)
        elif line.strip():
            kept.append(line)
    if not tags:
        raise WheelError("the wheel's WHEEL file has no Tag: lines")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(kept + tags) + "\n")


def _writable(path: str) -> None:
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR)


def _apply(
    plan: RepairPlan, facts: dict[str, ElfFacts], tree: str, data_dir: str, patchelf: Patchelf
) -> None:
    libs = os.path.join(tree, plan.libs_dir)
    if plan.grafts and os.path.lexists(libs):
        raise WheelError(
            f"the wheel already has {plan.libs_dir}/; set lib_sdir to another suffix so the "
            "grafted libraries get a directory of their own"
        )
    for member in sorted(plan.patches):
        relative = posixpath.relpath(plan.libs_dir, installed_dir(member, data_dir) or ".")
        path = os.path.join(tree, member)
        _writable(path)
        member_facts = facts[member]
        patchelf.edit(
            path,
            replace_needed=plan.patches[member],
            runpath=runpath_with(member_facts.runpath or member_facts.rpath, f"$ORIGIN/{relative}"),
            display=member,
        )
    if plan.grafts:
        os.mkdir(libs)
    for soname in sorted(plan.grafts):
        graft = plan.grafts[soname]
        destination = os.path.join(libs, graft.new_soname)
        shutil.copyfile(graft.source.path, destination)
        os.chmod(destination, 0o755)
        needs = {
            d: plan.grafts[d].new_soname for d in graft.source.facts.needed if d in plan.grafts
        }
        had_runpath = bool(graft.source.facts.runpath or graft.source.facts.rpath)
        patchelf.edit(
            destination,
            replace_needed=needs,
            soname=graft.new_soname,
            runpath="$ORIGIN" if needs else None,
            remove_runpath=had_runpath and not needs,
            display=f"{plan.libs_dir}/{graft.new_soname}",
        )


def _report(plan: RepairPlan, output: str, tag: str) -> dict:
    return {
        "wheel": os.path.basename(output),
        "platform_tag": tag,
        "libs_dir": plan.libs_dir,
        "grafted": [
            {
                "soname": graft.soname,
                "name": f"{plan.libs_dir}/{graft.new_soname}",
                "from": graft.source.origin,
                "needed_by": list(graft.needed_by),
            }
            for _, graft in sorted(plan.grafts.items())
        ],
        "patched": {member: dict(sorted(r.items())) for member, r in sorted(plan.patches.items())},
    }


def _check_result(written: str, exclude: Sequence[str]) -> None:
    result = audit(written, exclude=exclude, environ={})
    claims = check_claims(result)
    if not claims:
        raise WheelError("the repaired wheel claims no manylinux/musllinux tag")
    failed = [c for c in claims if not c.met]
    if failed:
        lines = [line for line in explain_claims(result, failed) if line]
        raise WheelError("the repaired wheel still does not meet its tag: " + " | ".join(lines))


def repair_wheel(request: RepairRequest) -> dict:
    """Writes the repaired wheel at ``request.output``; returns the repair report.

    Raises:
        WheelError: A library to graft cannot be found, an edit fails, or the
            result does not meet its tag; nothing is left at the output then.
    """
    _check_lib_sdir(request.lib_sdir)
    platform_tags = validate_tag_set("platform", request.platform_tag)
    result = audit(request.wheel, exclude=request.exclude, environ={})
    if result.pure:
        raise WheelError(
            f"{os.path.basename(request.wheel)} has no ELF files: there is nothing to repair; "
            "use the wheel as it is"
        )
    policy_name, whitelist, external = _policy_for(result, platform_tags[0])
    with WheelArchive(request.wheel) as archive:
        names = list(archive.members)
        facts = parse_elf_members(archive, names, frozenset(), request.jobs or 1)
    dist_info = _dist_info(names)
    distribution = dist_info[: -len(".dist-info")].rsplit("-", 1)[0]
    data_dir = dist_info[: -len(".dist-info")] + ".data"
    index = LibraryIndex(request.libraries, request.search_dirs, request.sysroot)
    plan = plan_repair(
        facts,
        external,
        whitelist,
        index,
        request.exclude,
        distribution + request.lib_sdir,
        policy_name,
    )
    out_dir = os.path.dirname(os.path.abspath(request.output))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".repair-", dir=out_dir) as scratch:
        tree = os.path.join(scratch, "tree")
        unpack_wheel(request.wheel, tree, jobs=request.jobs)
        _apply(plan, facts, tree, data_dir, Patchelf(request.patchelf))
        _retag_wheel_file(os.path.join(tree, dist_info, "WHEEL"), platform_tags)
        written = pack_directory(
            tree, os.path.join(scratch, "out"), request.compression_level, request.jobs
        )
        if os.path.basename(written) != os.path.basename(request.output):
            raise WheelError(
                f"the repaired wheel is named {os.path.basename(written)}, not "
                f"{os.path.basename(request.output)} as the rule declared; the input's name and "
                "its WHEEL file disagree"
            )
        _check_result(written, request.exclude)
        report = _report(plan, request.output, request.platform_tag)
        if request.report:
            with open(request.report, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2, sort_keys=True)
                f.write("\n")
        os.replace(written, request.output)
    return report
