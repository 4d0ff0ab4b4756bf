"""Names, versions and tags as the binary distribution format spells them."""

from __future__ import annotations

import re

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ml_wheels.errors import WheelError

# Every pattern is used with fullmatch (a "$" would accept a trailing newline)
# and spells its letters out under re.ASCII: re.IGNORECASE alone lets "\u017f"
# (long s) match "s" and the Kelvin sign match "k", names pip refuses.
NAME_RE = re.compile(r"[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]", re.ASCII)
"""A PEP 508 distribution (and extra) name; use with ``fullmatch``."""
# One tag set: lower-case words joined by "." (the compressed tag set syntax).
_TAG_SET_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*", re.ASCII)
_BUILD_RE = re.compile(r"[0-9][A-Za-z0-9_.]*", re.ASCII)

MAX_FILENAME_BYTES = 255
"""ext4, XFS, btrfs, APFS and NTFS refuse longer file names (the wheel's own, too)."""
VERSION_EXAMPLES = "1.2.3, 2.19.0rc1, 2.19.0.dev20250107+abc"


def normalize_distribution(name: str) -> str:
    """Escapes a distribution name for file names and the .dist-info directory.

    Args:
        name: The distribution name as the user wrote it, e.g. ``My-Project``.

    Returns:
        The escaped name, e.g. ``my_project``.

    Raises:
        WheelError: If ``name`` is not a valid PEP 508 name.
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise WheelError(
            f"distribution name {name!r} is not a valid PEP 508 name; use letters, digits "
            "and '.', '-', '_' between them, e.g. 'my-project'"
        )
    return re.sub(r"[-_.]+", "_", name, flags=re.ASCII).lower()


def normalize_version(version: str) -> str:
    """Returns the canonical PEP 440 form of ``version``.

    Args:
        version: A version string, e.g. ``2.19.0-rc1``.

    Returns:
        The normalized version, e.g. ``2.19.0rc1``.

    Raises:
        WheelError: If ``version`` is not a valid PEP 440 version.
    """
    try:
        return str(Version(version))
    except (InvalidVersion, TypeError):
        raise WheelError(
            f"version {version!r} is not a valid PEP 440 version; examples: {VERSION_EXAMPLES}"
        ) from None


def filename_version(version: str) -> str:
    """Returns the version as it appears in wheel and .dist-info names."""
    # The spec replaces "-" by "_"; a normalized version has none, but the
    # replacement keeps a hand-written name from splitting the file name.
    return normalize_version(version).replace("-", "_")


def dist_info_dir(distribution: str, version: str) -> str:
    """Returns ``<name>-<version>.dist-info`` for a distribution."""
    return f"{normalize_distribution(distribution)}-{filename_version(version)}.dist-info"


def data_dir(distribution: str, version: str) -> str:
    """Returns ``<name>-<version>.data`` for a distribution."""
    return f"{normalize_distribution(distribution)}-{filename_version(version)}.data"


def validate_tag_set(kind: str, value: str) -> list[str]:
    """Splits a compressed tag set such as ``py2.py3`` and validates it.

    Args:
        kind: ``python``, ``abi`` or ``platform``, used in the error message.
        value: The compressed tag set.

    Returns:
        The tags of the set in the order written.

    Raises:
        WheelError: If the set is malformed or names one tag twice.
    """
    if not isinstance(value, str) or not _TAG_SET_RE.fullmatch(value):
        raise WheelError(
            f"{kind} tag {value!r} is not valid; use lower-case letters, digits and '_', "
            "with '.' between alternatives, e.g. 'cp311', 'none', 'manylinux_2_17_x86_64'"
        )
    parts = value.split(".")
    if len(set(parts)) != len(parts):
        raise WheelError(f"{kind} tag {value!r} lists a tag twice; list each tag once")
    return parts


def validate_build_tag(build: str) -> str:
    """Validates a wheel build tag (must start with a digit, no ``-``)."""
    if not isinstance(build, str) or not _BUILD_RE.fullmatch(build):
        raise WheelError(
            f"build tag {build!r} is not valid; it must start with a digit and contain only "
            "letters, digits, '_' and '.', e.g. '1' or '2_abc'"
        )
    return build


def expand_tags(python_tag: str, abi_tag: str, platform_tag: str) -> list[str]:
    """Expands compressed tag sets into every ``py-abi-plat`` combination.

    Args:
        python_tag: e.g. ``py2.py3``.
        abi_tag: e.g. ``none``.
        platform_tag: e.g. ``manylinux_2_17_x86_64.manylinux2014_x86_64``.

    Returns:
        Tags in the order written, python outermost, e.g.
        ``["py2-none-any", "py3-none-any"]``.
    """
    pys = validate_tag_set("python", python_tag)
    abis = validate_tag_set("abi", abi_tag)
    plats = validate_tag_set("platform", platform_tag)
    return [f"{p}-{a}-{s}" for p in pys for a in abis for s in plats]


def compress_tags(tags: list[str]) -> tuple[str, str, str]:
    """Compresses ``py-abi-plat`` tags into sets the way ``wheel pack`` does.

    Args:
        tags: Expanded tags, e.g. the ``Tag:`` lines of a WHEEL file.

    Returns:
        ``(python, abi, platform)``, each the sorted unique values joined by ``.``.

    Raises:
        WheelError: If there is no tag or a tag does not have three parts.
    """
    if not tags:
        raise WheelError("no Tag: line found in WHEEL; add one, e.g. 'Tag: py3-none-any'")
    split = []
    for tag in tags:
        parts = tag.strip().split("-")
        if len(parts) != 3 or not all(parts):
            raise WheelError(
                f"tag {tag!r} in WHEEL is not of the form python-abi-platform, "
                "e.g. 'cp311-cp311-manylinux_2_17_x86_64'"
            )
        split.append(parts)
    return (
        ".".join(sorted({p[0] for p in split})),
        ".".join(sorted({p[1] for p in split})),
        ".".join(sorted({p[2] for p in split})),
    )


def is_purelib(platform_tag: str) -> bool:
    """Returns the Root-Is-Purelib value: true only for platform ``any``.

    The ABI tag does not matter: a wheel that runs on any platform is pure by
    definition, and one tied to a platform ships platform-specific code.
    """
    return platform_tag == "any"


def wheel_filename(
    distribution: str,
    version: str,
    python_tag: str,
    abi_tag: str,
    platform_tag: str,
    build: str | None = None,
) -> str:
    """Builds ``{dist}-{ver}[-{build}]-{py}-{abi}-{plat}.whl``.

    Args:
        distribution: Distribution name as written; it is escaped here.
        version: PEP 440 version; it is normalized here (local versions keep ``+``).
        python_tag: Compressed python tag set, e.g. ``cp311`` or ``py2.py3``.
        abi_tag: Compressed ABI tag set, e.g. ``cp311`` or ``abi3.none``.
        platform_tag: Compressed platform tag set.
        build: Optional build tag starting with a digit.

    Returns:
        The wheel file name.

    Raises:
        WheelError: If any component is invalid.
    """
    name = normalize_distribution(distribution)
    ver = filename_version(version)
    tags = expand_tags(python_tag, abi_tag, platform_tag)
    parts = [name, ver]
    if build:
        parts.append(validate_build_tag(build))
    parts += [python_tag, abi_tag, platform_tag]
    filename = "-".join(parts) + ".whl"
    if len(filename.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise WheelError(
            f"wheel file name {filename[:40]}...{filename[-24:]} is "
            f"{len(filename.encode('utf-8'))} bytes, longer than the {MAX_FILENAME_BYTES} "
            "that file systems allow; shorten the distribution name, version or tags"
        )
    # Round trip through packaging so that what we write is what installers read.
    try:
        p_name, p_ver, p_build, p_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise WheelError(f"wheel file name {filename!r} is not valid: {exc}") from None
    expected_tags = {Tag(*t.split("-")) for t in tags}
    if (
        p_name != canonicalize_name(distribution)
        or p_ver != Version(version)
        or set(p_tags) != expected_tags
        or (p_build != () and not build)
    ):
        raise WheelError(f"wheel file name {filename!r} does not parse back to its parts")
    return filename
