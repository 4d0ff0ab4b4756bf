"""Renders an audit: JSON (a superset of ``auditwheel show --json``) and plain words."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any, Optional

from ml_wheels.audit.abi3 import abi3_json
from ml_wheels.audit.analyze import AuditResult, Expectation, Reason, RunpathProblem, loc_text
from ml_wheels.audit.policy import Policy

SCHEMA_VERSION = 1
# Plain-words output lists this many groups of reasons, then counts the rest.
_MAX_GROUPS = 25
_MAX_FILES_PER_GROUP = 3

_FIX_BY_PREFIX = {
    "GLIBC": (
        "build against glibc {newest} or older (a {image} image, or a sysroot with that "
        "glibc), or stop using these functions"
    ),
    "GLIBCXX": (
        "build with the libstdc++ of the {image} image (its devtoolset), or link libstdc++ "
        "statically (-static-libstdc++)"
    ),
    "CXXABI": (
        "build with the libstdc++ of the {image} image (its devtoolset), or link libstdc++ "
        "statically (-static-libstdc++)"
    ),
    "GCC": "build with the GCC of the {image} image, or link libgcc statically (-static-libgcc)",
    "ZLIB": "bundle zlib into the wheel or build against zlib {newest} or older",
    "LIBATOMIC": "build with the toolchain of the {image} image, or link libatomic statically",
}

_COMPONENTS = (
    ("symbol_versions", "symbol"),
    ("external_libraries", "ref_policy"),
    ("blacklisted_symbols", "blacklist_policy"),
    ("isa_extensions", "machine_policy"),
    ("ucs2", "ucs_policy"),
    ("pyfpe", "pyfpe_policy"),
)


_LABELS = {
    "symbol_versions": "symbol versions",
    "external_libraries": "external libraries",
    "blacklisted_symbols": "blacklisted symbols",
    "isa_extensions": "ISA extensions",
    "ucs2": "UCS2 symbols",
    "pyfpe": "PyFPE symbols",
}


def _name(result: AuditResult, policy: Optional[Policy]) -> Optional[str]:
    if policy is None:
        return None
    assert result.policies is not None
    return result.policies.report_name(policy)


def _image(policy: Policy) -> str:
    legacy = {"manylinux_2_5": "manylinux1", "manylinux_2_12": "manylinux2010"}
    legacy["manylinux_2_17"] = "manylinux2014"
    return legacy.get(policy.base, policy.base)


def _reason_json(result: AuditResult, reason: Reason) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": reason.kind, "limit": _name(result, reason.limit)}
    for key in ("library", "version", "path", "via", "isa"):
        value = getattr(reason, key)
        if value is not None:
            out[key] = value
    if reason.symbols:
        out["symbols"] = list(reason.symbols)
        out["symbol_count"] = reason.symbol_count
    if reason.bundled_at:
        out["bundled_at"] = list(reason.bundled_at)
    return out


def to_json(
    result: AuditResult,
    expectation: Optional[Expectation] = None,
    claims: Sequence[Expectation] = (),
) -> dict[str, Any]:
    """The audit as a JSON-able dict.

    Keys shared with ``auditwheel show --json`` (schema 1) mean the same:
    ``overall_tag``, ``sym_tag`` (also as ``symbol_tag``), ``pyfpe``, ``ucs2``,
    ``unsupported_isa``, ``versioned_symbols``, ``external_libs`` (for the most
    compatible policy: soname -> path on this machine or null),
    ``policy_upgrades``. Ours: ``claims`` (each tag the wheel claims, met or
    not), ``runpath_outside`` (RUNPATH/RPATH entries leading outside the wheel),
    ``abi3`` (for a wheel whose abi tag is abi3: :func:`ml_wheels.audit.abi3.abi3_json`;
    else null).
    """
    out: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "tool": "rules_ml_wheels audit_wheel",
        "wheel": result.filename,
        "pure": result.pure,
        "architecture": result.architecture,
        "libc": result.libc,
    }
    if result.pure:
        out.update(
            overall_tag=None,
            symbol_tag=None,
            sym_tag=None,
            external_libs={},
            policies_checked=[],
            reasons={},
        )
    else:
        policies = result.policies
        assert policies is not None and result.overall is not None
        highest = result.external_refs[policies.highest.name]
        upgrades: dict[str, Any] = {}
        for policy in policies:
            if policy.priority <= result.overall.priority:
                continue
            ref = result.external_refs[policy.name]
            entry: dict[str, Any] = {}
            if ref.libs:
                entry["libs_to_eliminate"] = sorted(ref.libs)
            if ref.blacklist:
                entry["blacklisted_symbols"] = {
                    k: sorted(v) for k, v in sorted(ref.blacklist.items())
                }
            if entry:
                upgrades[policy.name] = entry
        reasons: dict[str, list[dict[str, Any]]] = {}
        for reason in result.reasons:
            reasons.setdefault(reason.file, []).append(_reason_json(result, reason))
        out.update(
            overall_tag=_name(result, result.overall),
            symbol_tag=_name(result, result.symbol),
            sym_tag=_name(result, result.symbol),
            pyfpe=result.pyfpe_policy is policies.linux,
            ucs2=result.ucs_policy is policies.linux,
            unsupported_isa=result.machine_policy is policies.linux,
            versioned_symbols={k: sorted(v) for k, v in sorted(result.versioned_symbols.items())},
            external_libs={k: loc_text(v) for k, v in sorted(highest.libs.items())},
            policy_upgrades=upgrades,
            policies_checked=[
                {
                    "tag": policy.name,
                    "aliases": list(policy.aliases),
                    "compliant": result.compliant_with(policy),
                }
                for policy in reversed(policies.policies)
            ],
            limits={key: _name(result, getattr(result, attr)) for key, attr in _COMPONENTS},
            elf_files=list(result.elf_files),
            python_extensions=list(result.python_extensions),
            reasons=reasons,
        )
    out["runpath_outside"] = [_runpath_json(problem) for problem in result.runpath_problems]
    out["ignored"] = dict(result.ignored)
    out["excluded"] = list(result.excluded)
    out["warnings"] = list(result.warnings)
    if expectation is not None:
        out["expect"] = _expectation_json(result, expectation)
    out["claims"] = [_expectation_json(result, claim) for claim in claims]
    out["abi3"] = abi3_json(result.abi3) if result.abi3 is not None else None
    return out


def _expectation_json(result: AuditResult, expectation: Expectation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tag": expectation.request.text,
        "policy": _name(result, expectation.policy) if expectation.policy else None,
        "met": expectation.met,
        "explanation": explain_expectation(result, expectation),
    }
    if expectation.claim is not None:
        out["claimed_in"] = list(expectation.claim.sources)
    return out


def _runpath_json(problem: RunpathProblem) -> dict[str, str]:
    return {"file": problem.file, "kind": problem.kind, "entry": problem.entry, "why": problem.why}


RUNPATH_FIX = (
    "Fix: keep only RUNPATH/RPATH entries that lead to folders of the wheel ($ORIGIN, "
    "$ORIGIN/../<pkg>.libs): drop the -Wl,-rpath linkopt that adds the others (python_wheel "
    "drops Bazel's own _solib_* entries unless told to keep them), and bundle the libraries "
    "they were for into the wheel or exclude them."
)


def describe_runpath(problem: RunpathProblem) -> str:
    """A RUNPATH/RPATH entry that leads outside the wheel, as one sentence."""
    return (
        f"{problem.file} has the {problem.kind} entry {problem.entry!r}: {problem.why}; "
        "the loader would search it for libraries, outside the installed wheel."
    )


def _runpath_lines(problems: Sequence[RunpathProblem]) -> list[str]:
    lines = ["  - " + describe_runpath(problem) for problem in problems[:_MAX_GROUPS]]
    if len(problems) > _MAX_GROUPS:
        lines.append(f"  ... and {len(problems) - _MAX_GROUPS} more (see --json)")
    lines.append("    " + RUNPATH_FIX)
    return lines


# --- plain words ------------------------------------------------------------------------


def _symbols_text(reason: Reason) -> str:
    if not reason.symbols:
        return ""
    more = reason.symbol_count - len(reason.symbols)
    listed = ", ".join(reason.symbols)
    return f" (for {listed}{f' and {more} more' if more > 0 else ''})"


def _exclude_pattern(soname: str) -> str:
    head, sep, _ = soname.partition(".so")
    return f"{head}.so*" if sep else soname + "*"


def describe_reason(result: AuditResult, reason: Reason, target: Optional[Policy]) -> list[str]:
    """A reason as sentences: what, why it matters for ``target``, how to fix it."""
    target_name = _name(result, target) if target is not None else None
    limit = _name(result, reason.limit)
    if reason.kind == "symbol_version":
        assert reason.version is not None
        prefix = reason.version.partition("_")[0]
        where = f"{reason.file} (external, as {reason.via})" if reason.via else reason.file
        line = f"{where} needs {reason.version} from {reason.library}{_symbols_text(reason)}"
        policy = target or reason.limit
        newest = policy.newest_version(prefix) if not policy.is_linux else None
        if target_name and newest:
            line += f"; {target_name} allows {prefix} up to {newest}"
        elif newest is None and reason.limit.is_linux:
            line += f"; no manylinux policy allows {reason.version}"
        else:
            line += f"; the most compatible policy that allows it is {limit}"
        hint_policy = target if target is not None and not target.is_linux else reason.limit
        fix = _FIX_BY_PREFIX.get(prefix, "build against an older {library}")
        fix = fix.format(
            newest=hint_policy.newest_version(prefix) or "?",
            image=_image(hint_policy),
            library=reason.library,
        )
        return [line + ".", f"Fix: {fix}."]
    if reason.kind == "external_library":
        via = f" (through {reason.via})" if reason.via else ""
        allowed = (
            f"; policies from {limit} on allow it"
            if not reason.limit.is_linux
            else "; no manylinux policy allows it"
        )
        if reason.bundled_at:
            bundled = reason.bundled_at[0]
            relative = posixpath.relpath(
                posixpath.dirname(bundled) or ".", posixpath.dirname(reason.file) or "."
            )
            origin = "ORIGIN" if relative == "." else f"ORIGIN/{relative}"
            return [
                f"{reason.file} needs {reason.library}{via}; the wheel has {bundled}, but its "
                f"RPATH/RUNPATH does not lead there, so the library counts as external{allowed}.",
                f"Fix: add ${origin} to the RUNPATH of {reason.file} (in Bazel, "
                f'linkopts = ["-Wl,-rpath,$${origin}"] on its cc_binary; Bazel turns $$ into $).',
            ]
        found = (
            f"found at {reason.path} on this machine"
            if reason.path
            else "not found on this machine"
        )
        return [
            f"{reason.file} needs {reason.library}{via}, which is not in the wheel ({found})"
            f"{allowed}.",
            "Fix: bundle it into the wheel (with RUNPATH $ORIGIN/... pointing at it), link it "
            "statically, or, when a wheel this one depends on provides it at runtime (e.g. "
            "NVIDIA's CUDA wheels), exclude it: "
            f'exclude = ["{_exclude_pattern(reason.library or "")}"].',
        ]
    if reason.kind == "blacklisted_symbol":
        return [
            f"{reason.file} uses {', '.join(reason.symbols)} from {reason.library}, which "
            f"policies more compatible than {limit} blacklist (internal symbols that differ "
            "between systems' copies).",
            f"Fix: stop using them, or link {reason.library} statically.",
        ]
    if reason.kind == "isa":
        subject = f"{reason.file} (external {reason.library})" if reason.library else reason.file
        return [
            f"{subject} needs the {reason.isa} instruction set (its GNU property note); "
            f"manylinux wheels must run on any x86-64 CPU, so the best policy is {limit}.",
            "Fix: build without -march=x86-64-v2/v3/v4 (or -mavx2 and the like in the whole "
            "object), or dispatch at run time.",
        ]
    if reason.kind == "ucs2":
        return [
            f"{reason.file} is built for a narrow-unicode (UCS2) Python{_symbols_text(reason)}.",
            "Fix: build against a standard CPython.",
        ]
    if reason.kind == "pyfpe":
        return [
            f"{reason.file} references PyFPE symbols{_symbols_text(reason)} (a Python built "
            "with --with-fpectl).",
            "Fix: build against a standard CPython.",
        ]
    return [f"{reason.file}: {reason.kind}"]


def _grouped(reasons: Sequence[Reason]) -> list[tuple[Reason, list[str]]]:
    """Merges the same finding in several files (one symbol version, one library)."""
    groups: dict[tuple, tuple[Reason, list[str]]] = {}
    for reason in reasons:
        key = (reason.kind, reason.library, reason.version, reason.isa, reason.limit.name)
        if reason.kind not in ("symbol_version", "external_library") or reason.via:
            key += (reason.file,)
        if key in groups:
            groups[key][1].append(reason.file)
        else:
            groups[key] = (reason, [reason.file])
    ordered = sorted(groups.values(), key=lambda g: (g[0].limit.priority, g[0].kind, g[0].file))
    return ordered


def _reason_lines(
    result: AuditResult, reasons: Sequence[Reason], target: Optional[Policy]
) -> list[str]:
    lines = []
    groups = _grouped(reasons)
    for reason, files in groups[:_MAX_GROUPS]:
        sentences = describe_reason(result, reason, target)
        if len(files) > 1:
            others = len(files) - 1
            extra = ", ".join(files[1:_MAX_FILES_PER_GROUP])
            more = (
                f" and {others - (_MAX_FILES_PER_GROUP - 1)} more"
                if others >= _MAX_FILES_PER_GROUP
                else ""
            )
            sentences[0] = sentences[0].rstrip(".") + f" (also in {extra}{more})."
        lines.append("  - " + sentences[0])
        lines.extend("    " + s for s in sentences[1:])
    if len(groups) > _MAX_GROUPS:
        lines.append(f"  ... and {len(groups) - _MAX_GROUPS} more (see --json)")
    return lines


def _limits_line(result: AuditResult) -> str:
    assert result.policies is not None
    highest = result.policies.highest
    parts = []
    for key, attr in _COMPONENTS:
        policy = getattr(result, attr)
        if policy is not None and policy.priority < highest.priority:
            parts.append(f"{_LABELS[key]}: {_name(result, policy)}")
    return "limited by " + "; ".join(parts) if parts else "nothing limits it"


def _header(result: AuditResult) -> list[str]:
    if result.pure:
        return [f"{result.filename}: pure (no ELF files); it meets every manylinux/musllinux tag."]
    assert result.overall is not None and result.policies is not None
    extensions = len(result.python_extensions)
    lines = [
        f"{result.filename}: {result.architecture} ({result.libc}), "
        f"{len(result.elf_files)} ELF file(s), {extensions} Python extension(s).",
        f"Best policy: {_name(result, result.overall)} ({_limits_line(result)}).",
    ]
    highest = result.external_refs[result.policies.highest.name]
    if highest.libs:
        libs = ", ".join(
            f"{k} ({loc_text(v) or 'not found'})" for k, v in sorted(highest.libs.items())
        )
        lines.append(f"External libraries: {libs}.")
    if result.excluded:
        lines.append(
            f"Excluded (provided at runtime by other wheels): {', '.join(result.excluded)}."
        )
    for path, why in result.ignored:
        lines.append(f"Ignored {path}: {why}.")
    lines.extend(f"Warning: {w}." for w in result.warnings)
    return lines


def explain(result: AuditResult) -> str:
    """The audit in plain words (no ``--expect``)."""
    lines = _header(result)
    if not result.pure:
        assert result.policies is not None
        reasons = [r for r in result.reasons if r.limit.priority < result.policies.highest.priority]
        if reasons:
            lines.append(f"What keeps it from {_name(result, result.policies.highest)}:")
            lines.extend(_reason_lines(result, reasons, None))
    if result.runpath_problems:
        lines.append("RUNPATH/RPATH entries that lead outside the wheel (no tag is met with them):")
        lines.extend(_runpath_lines(result.runpath_problems))
    return "\n".join(lines) + "\n"


def explain_expectation(result: AuditResult, expectation: Expectation) -> list[str]:
    """Why the wheel does (or does not) meet the requested or claimed tag, as lines."""
    tag = expectation.request.text
    claim = expectation.claim
    claimed = f" (claimed in its {' and '.join(claim.sources)})" if claim is not None else ""
    if expectation.met:
        if result.pure:
            return [f"PASS: {result.filename} meets {tag}{claimed}: {expectation.note}."]
        best = _name(result, result.overall)
        asked = _name(result, expectation.policy)
        same = best == asked
        return [
            f"PASS: {result.filename} meets {tag}{claimed}"
            + ("." if same else f": its best policy, {best}, is at least as compatible as {asked}.")
        ]
    if expectation.policy is None:
        return [f"FAIL: {result.filename} does not meet {tag}{claimed}: {expectation.note}."]
    asked = _name(result, expectation.policy)
    shown = tag if claim is not None else asked
    lines = [
        f"FAIL: {result.filename} does not meet {shown}{claimed}"
        + (f" (asked as {tag})" if claim is None and tag != asked else "")
        + f"; its best policy is {_name(result, result.overall)}.",
        f"Why not {shown}:",
    ]
    if expectation.reasons:
        lines.extend(_reason_lines(result, expectation.reasons, expectation.policy))
    if expectation.runpath:
        lines.extend(_runpath_lines(expectation.runpath))
    if not expectation.reasons and not expectation.runpath:
        lines.append(f"  - {_limits_line(result)}.")
    return lines


def explain_claims(result: AuditResult, claims: Sequence[Expectation]) -> list[str]:
    """One block per claimed tag: PASS, or FAIL with the reasons."""
    lines: list[str] = []
    for claim in claims:
        lines.extend(explain_expectation(result, claim))
    return lines


def explain_with_expectation(
    result: AuditResult,
    expectation: Expectation,
    claims: Sequence[Expectation] = (),
    abi3_lines: Sequence[str] = (),
) -> str:
    """The expectation's verdict, the claims', the abi3 check's, then the audit's summary."""
    # A claim that stands for the expected policy would repeat the same reasons.
    others = [c for c in claims if c.policy is None or c.policy is not expectation.policy or c.met]
    lines = [
        *explain_expectation(result, expectation),
        *explain_claims(result, others),
        *abi3_lines,
        "",
    ]
    lines += _header(result)
    if result.runpath_problems and not expectation.runpath:
        lines.append("RUNPATH/RPATH entries that lead outside the wheel (no tag is met with them):")
        lines.extend(_runpath_lines(result.runpath_problems))
    return "\n".join(lines) + "\n"
