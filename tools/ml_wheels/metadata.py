"""Deterministic rendering of METADATA, WHEEL and entry_points.txt."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ml_wheels import __version__
from ml_wheels.errors import WheelError
from ml_wheels.naming import (
    NAME_RE,
    expand_tags,
    is_purelib,
    normalize_distribution,
    normalize_version,
    validate_build_tag,
)
from ml_wheels.wheelpath import path_problem

METADATA_VERSION = "2.1"
"""The Metadata-Version of a METADATA without 2.4 fields (as before 2.4 existed)."""
METADATA_VERSION_LICENSE = "2.4"
"""The Metadata-Version that ``License-Expression`` and ``License-File`` need (PEP 639)."""
GENERATOR = f"rules_ml_wheels {__version__}"

# All patterns are used with fullmatch: "$" would accept a trailing newline.
_GROUP_RE = re.compile(r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*", re.ASCII)
_OBJECT_REF_RE = re.compile(r"\w+(?:\.\w+)*(?:[ \t]*:[ \t]*\w+(?:\.\w+)*)?")
_ENTRY_EXTRAS_RE = re.compile(r"(?P<ref>[^\[]*?)[ \t]*(?:\[(?P<extras>[^\]]*)\])?")
# Cc: C0/C1 controls (tab, CR, LF, ...); Cs: surrogates; Zl/Zp: U+2028/U+2029.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

_CONTENT_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".rst": "text/x-rst",
}


@dataclass(frozen=True)
class Metadata:
    """Core metadata of a distribution, as given by the user.

    Attributes:
        name: Distribution name as the user wrote it.
        version: PEP 440 version (written normalized).
        summary: One-line summary.
        description: Long description text, or empty.
        description_content_type: MIME type of ``description``; inferred from
            ``description_filename`` when empty.
        description_filename: Name of the file the description came from.
        homepage: Home-page URL.
        author: Author name.
        author_email: Author e-mail.
        maintainer: Maintainer name.
        maintainer_email: Maintainer e-mail.
        license: Free-text license (``License``); not with ``license_expression``.
        license_expression: SPDX license expression (``License-Expression``).
        license_files: Paths below ``<dist-info>/licenses/`` (``License-File``).
        keywords: Keywords, joined by commas.
        classifiers: Trove classifiers.
        project_urls: ``(label, url)`` pairs.
        requires_python: PEP 440 specifier set.
        requires_dist: PEP 508 requirements.
        extra_requires: Requirements per extra.
    """

    name: str
    version: str
    summary: str = ""
    description: str = ""
    description_content_type: str = ""
    description_filename: str = ""
    homepage: str = ""
    author: str = ""
    author_email: str = ""
    maintainer: str = ""
    maintainer_email: str = ""
    license: str = ""
    license_expression: str = ""
    license_files: Sequence[str] = ()
    keywords: Sequence[str] = ()
    classifiers: Sequence[str] = ()
    project_urls: Sequence[tuple[str, str]] = ()
    requires_python: str = ""
    requires_dist: Sequence[str] = ()
    extra_requires: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _single_line(field_name: str, value: str) -> str:
    """Checks one header value and returns it stripped.

    The one check every METADATA and entry_points.txt value goes through: a
    line break would end the header and start another (an injected field), and
    installers print these values.

    Raises:
        WheelError: Naming the field, if ``value`` is not a string or holds a
            line break or other control character.
    """
    if not isinstance(value, str):
        raise WheelError(f"metadata field {field_name} must be a string, got {value!r}")
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            if char in "\n\r":
                raise WheelError(
                    f"metadata field {field_name} contains a newline; write it on a single line"
                )
            raise WheelError(
                f"metadata field {field_name} contains the control character {char!r}; remove it"
            )
    return value.strip()


def normalize_extra(extra: str) -> str:
    """Normalizes an extra name as PEP 685 requires.

    Raises:
        WheelError: If the name is not a valid extra name.
    """
    if not isinstance(extra, str) or not NAME_RE.fullmatch(extra):
        raise WheelError(
            f"extra name {extra!r} is not valid; use letters, digits and '-', '_', '.' "
            "between them, e.g. 'cuda12'"
        )
    return re.sub(r"[-_.]+", "-", extra, flags=re.ASCII).lower()


def parse_requirement(text: str, where: str = "Requires-Dist") -> Requirement:
    """Parses one PEP 508 requirement string.

    Args:
        text: The requirement, e.g. ``numpy>=1.26; python_version >= "3.10"``.
        where: The field name for error messages.

    Raises:
        WheelError: If the string is not a PEP 508 requirement.
    """
    value = _single_line(where, text)
    try:
        return Requirement(value)
    except InvalidRequirement as exc:
        # packaging's message draws a caret under the problem on extra lines;
        # an error here is one line.
        reason = str(exc).splitlines()[0].strip() if str(exc) else "unparsable"
        raise WheelError(
            f"{where} requirement {text!r} is not valid: it must be PEP 508, e.g. "
            f"'numpy>=1.26' or 'jax[cuda]==0.4.30; sys_platform == \"linux\"' ({reason})"
        ) from None


def requirement_for_extra(req: Requirement, extra: str) -> str:
    """Renders ``req`` so that it only applies when ``extra`` is requested.

    Args:
        req: A parsed requirement, possibly with its own marker.
        extra: A normalized extra name.

    Returns:
        ``req; extra == "x"`` or ``req; (marker) and extra == "x"``.
    """
    base = Requirement(str(req))
    base.marker = None
    extra_marker = f'extra == "{extra}"'
    # Parenthesize the user's marker so that an "or" inside it cannot swallow
    # the extra condition.
    marker = extra_marker if req.marker is None else f"({req.marker}) and {extra_marker}"
    Marker(marker)  # Fails loudly if the combination were somehow malformed.
    return f"{base}; {marker}"


def infer_content_type(filename: str) -> str:
    """Returns the description content type implied by a file's extension."""
    lower = filename.lower()
    for ext, ctype in _CONTENT_TYPES.items():
        if lower.endswith(ext):
            return ctype
    return "text/plain"


def _license_expression(meta: Metadata) -> str:
    """Validates ``License-Expression`` and returns its canonical SPDX form.

    Raises:
        WheelError: If the expression is not valid SPDX, or ``License`` or a
            ``License ::`` classifier is given with it (PEP 639 forbids both).
    """
    text = _single_line("License-Expression", meta.license_expression)
    if not text:
        return ""
    try:
        canonical = str(canonicalize_license_expression(text))
    except InvalidLicenseExpression as exc:
        raise WheelError(
            f"metadata field License-Expression {text!r} is not a valid SPDX license "
            f"expression ({exc}); write e.g. 'Apache-2.0' or 'MIT OR Apache-2.0'"
        ) from None
    if _single_line("License", meta.license):
        raise WheelError(
            "metadata fields License and License-Expression are both set; core metadata 2.4 "
            "allows only one: remove license and keep license_expression"
        )
    for classifier in meta.classifiers:
        if isinstance(classifier, str) and classifier.strip().startswith("License ::"):
            raise WheelError(
                f"metadata field Classifier {classifier.strip()!r} is a license classifier, "
                "which PEP 639 forbids next to License-Expression; remove the classifier"
            )
    return canonical


def _license_files(meta: Metadata) -> list[str]:
    """Validates the ``License-File`` paths (relative to ``<dist-info>/licenses/``).

    Raises:
        WheelError: If a path is not a valid wheel path or is listed twice.
    """
    if isinstance(meta.license_files, str):
        raise WheelError("metadata field License-File must be a list of paths, not one string")
    paths: list[str] = []
    for entry in meta.license_files:
        path = _single_line("License-File", entry)
        problem = path_problem(path)
        if problem:
            raise WheelError(
                f"metadata field License-File {path!r} {problem}; name a file below "
                "the .dist-info licenses/ directory"
            )
        if path in paths:
            raise WheelError(f"metadata field License-File lists {path!r} twice; list it once")
        paths.append(path)
    return sorted(paths, key=lambda p: p.encode("utf-8"))


def metadata_version(meta: Metadata) -> str:
    """The lowest Metadata-Version that has every field ``meta`` uses.

    2.1 (``Description-Content-Type``, ``Provides-Extra``) unless
    ``License-Expression`` or ``License-File`` is used, which need 2.4.
    ``Dynamic`` (2.2) is never written: every field is final.
    """
    if meta.license_expression or meta.license_files:
        return METADATA_VERSION_LICENSE
    return METADATA_VERSION


def render_metadata(meta: Metadata) -> str:
    """Renders METADATA in a fixed field order, with the lowest Metadata-Version that fits.

    Empty optional fields are omitted.

    Args:
        meta: The metadata to render.

    Returns:
        The METADATA text.

    Raises:
        WheelError: If a field is invalid; the message names the field.
    """
    normalize_distribution(meta.name)
    version = normalize_version(meta.version)
    license_expression = _license_expression(meta)
    license_files = _license_files(meta)
    lines = [
        f"Metadata-Version: {metadata_version(meta)}",
        f"Name: {_single_line('Name', meta.name)}",
        f"Version: {version}",
    ]

    def add(field_name: str, value: str) -> None:
        value = _single_line(field_name, value)
        if value:
            lines.append(f"{field_name}: {value}")

    add("Summary", meta.summary)
    add("Home-page", meta.homepage)
    add("Author", meta.author)
    add("Author-email", meta.author_email)
    add("Maintainer", meta.maintainer)
    add("Maintainer-email", meta.maintainer_email)
    add("License", meta.license)
    add("License-Expression", license_expression)
    for path in license_files:
        add("License-File", path)
    keywords = [_single_line("Keywords", k) for k in meta.keywords]
    for keyword in keywords:
        if not keyword or "," in keyword:
            raise WheelError(
                f"metadata field Keywords has entry {keyword!r}; each keyword must be "
                "non-empty and contain no comma"
            )
    if keywords:
        lines.append("Keywords: " + ",".join(keywords))
    for classifier in meta.classifiers:
        value = _single_line("Classifier", classifier)
        if not value:
            raise WheelError("metadata field Classifier has an empty entry; remove it")
        lines.append(f"Classifier: {value}")
    for pair in meta.project_urls:
        if len(pair) != 2:
            raise WheelError(
                f"metadata field Project-URL entry {pair!r} must be a (label, url) pair"
            )
        label = _single_line("Project-URL", pair[0])
        url = _single_line("Project-URL", pair[1])
        if not label or not url:
            raise WheelError(
                f"metadata field Project-URL entry {tuple(pair)!r} needs a non-empty label and URL"
            )
        if "," in label:
            raise WheelError(
                f"metadata field Project-URL label {label!r} contains a comma; remove it"
            )
        lines.append(f"Project-URL: {label}, {url}")
    requires_python = _single_line("Requires-Python", meta.requires_python)
    if requires_python:
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise WheelError(
                f"metadata field Requires-Python value {requires_python!r} is not a valid "
                "PEP 440 specifier set; write e.g. '>=3.10'"
            ) from None
        lines.append(f"Requires-Python: {requires_python}")
    for text in meta.requires_dist:
        lines.append(f"Requires-Dist: {parse_requirement(text)}")
    extras: dict[str, tuple[str, Sequence[str]]] = {}
    for extra, reqs in meta.extra_requires.items():
        normalized = normalize_extra(extra)
        if normalized in extras:
            raise WheelError(
                f"extras {extras[normalized][0]!r} and {extra!r} both normalize to "
                f"{normalized!r}; merge them"
            )
        extras[normalized] = (extra, reqs)
    for normalized in sorted(extras):
        original, reqs = extras[normalized]
        lines.append(f"Provides-Extra: {normalized}")
        for text in reqs:
            req = parse_requirement(text, f"extra {original!r} Requires-Dist")
            lines.append(f"Requires-Dist: {requirement_for_extra(req, normalized)}")
    text = "\n".join(lines) + "\n"
    if meta.description:
        ctype = _single_line("Description-Content-Type", meta.description_content_type)
        if not ctype:
            ctype = infer_content_type(meta.description_filename)
        text += f"Description-Content-Type: {ctype}\n\n{meta.description}"
    return text


def render_wheel(
    python_tag: str,
    abi_tag: str,
    platform_tag: str,
    build: str | None = None,
) -> str:
    """Renders the WHEEL file with one ``Tag:`` line per expanded tag.

    Args:
        python_tag: Compressed python tag set.
        abi_tag: Compressed ABI tag set.
        platform_tag: Compressed platform tag set.
        build: Optional build tag.

    Returns:
        The WHEEL text.
    """
    tags = expand_tags(python_tag, abi_tag, platform_tag)
    lines = [
        "Wheel-Version: 1.0",
        f"Generator: {GENERATOR}",
        f"Root-Is-Purelib: {'true' if is_purelib(platform_tag) else 'false'}",
    ]
    lines += [f"Tag: {tag}" for tag in tags]
    if build:
        lines.append(f"Build: {validate_build_tag(build)}")
    return "\n".join(lines) + "\n"


def _parse_entry_point(group: str, entry: str) -> tuple[str, str]:
    if not isinstance(entry, str) or "=" not in entry:
        raise WheelError(
            f"entry point {entry!r} in group {group!r} must be 'name = module:attr', "
            "e.g. 'mytool = pkg.cli:main'"
        )
    _single_line(f"entry_points.txt [{group}]", entry)
    name, value = (part.strip() for part in entry.split("=", 1))
    if not name or "[" in name or "=" in name:
        raise WheelError(
            f"entry point name {name!r} in group {group!r} is not valid; it must be "
            "non-empty and contain no '=', '[' or newline"
        )
    if group in ("console_scripts", "gui_scripts") and ("/" in name or "\\" in name):
        raise WheelError(
            f"script name {name!r} in group {group!r} contains a path separator; "
            "use a plain file name"
        )
    match = _ENTRY_EXTRAS_RE.fullmatch(value)
    ref = match.group("ref") if match else ""
    if not match or not _OBJECT_REF_RE.fullmatch(ref):
        raise WheelError(
            f"entry point {name!r} in group {group!r} has value {value!r}; it must be "
            "'module.sub:attr.attr' optionally followed by '[extras]'"
        )
    ref = re.sub(r"\s*:\s*", ":", ref)
    extras_text = match.group("extras")
    if extras_text is not None:
        extras = [e.strip() for e in extras_text.split(",") if e.strip()]
        for extra in extras:
            normalize_extra(extra)
        ref += f" [{', '.join(extras)}]" if extras else ""
    return name, ref


def render_entry_points(entry_points: Mapping[str, Sequence[str]]) -> str:
    """Renders entry_points.txt; groups and entries sorted by name.

    Args:
        entry_points: ``{group: ["name = module:attr [extras]", ...]}``.

    Returns:
        The file text, or ``""`` when there is no entry point (omit the file).

    Raises:
        WheelError: On an invalid group, name or value, or a duplicate name.
    """
    sections = []
    for group in sorted(entry_points):
        entries = entry_points[group]
        if not isinstance(group, str) or not _GROUP_RE.fullmatch(group):
            raise WheelError(
                f"entry point group {group!r} is not valid; use a dotted name such as "
                "'console_scripts'"
            )
        if isinstance(entries, str):
            raise WheelError(
                f"entry point group {group!r} must map to a list of 'name = module:attr' "
                "strings, not a single string"
            )
        parsed: dict[str, str] = {}
        for entry in entries:
            name, value = _parse_entry_point(group, entry)
            if name in parsed:
                raise WheelError(
                    f"entry point {name!r} is defined twice in group {group!r}; keep one"
                )
            parsed[name] = value
        if parsed:
            body = "".join(f"{name} = {parsed[name]}\n" for name in sorted(parsed))
            sections.append(f"[{group}]\n{body}")
    return "\n".join(sections)
