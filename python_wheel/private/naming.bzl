"""Wheel naming rules (binary distribution format, PEP 427/491) in Starlark."""

load(":pep440.bzl", "normalize_version")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_NAME_EDGE = _UPPER + _LOWER + _DIGITS
_NAME_INNER = _NAME_EDGE + "._-"
_TAG_CHARS = _LOWER + _DIGITS + "_"

# ext4, XFS, btrfs, APFS and NTFS refuse longer file names.
_MAX_FILENAME_BYTES = 255

def is_valid_distribution(name):
    """True when `name` is a valid project name (PEP 508 `identifier`).

    Args:
      name: the distribution name as written.

    Returns:
      bool.
    """
    if not name or name[0] not in _NAME_EDGE or name[-1] not in _NAME_EDGE:
        return False
    for c in name.elems():
        if c not in _NAME_INNER:
            return False
    return True

def escape_distribution(name):
    """Escapes a valid distribution name for a wheel file name.

    Runs of `-`, `_` and `.` become one `_`, and the result is lower case.

    Args:
      name: a valid distribution name.

    Returns:
      The escaped name.
    """
    out = ""
    in_separator_run = False
    for c in name.lower().elems():
        if c in "-_.":
            if not in_separator_run:
                out += "_"
            in_separator_run = True
        else:
            out += c
            in_separator_run = False
    return out

def tag_error(kind, tag):
    """Returns why `tag` is not a valid compressed tag set, or None.

    Args:
      kind: "python", "abi" or "platform", for the message.
      tag: the tag, possibly a `.`-separated set.

    Returns:
      An error string or None.
    """
    if not tag:
        return "the %s tag is empty" % kind
    for part in tag.split("."):
        if not part:
            return "the %s tag %r has an empty part between dots" % (kind, tag)
        for c in part.elems():
            if c not in _TAG_CHARS:
                return ("the %s tag %r contains %r; tags use lower-case letters, digits and `_` " +
                        "(write `linux_x86_64`, not `linux-x86_64`)") % (kind, tag, c)
    return None

def wheel_filename(distribution, version, python_tag, abi_tag, platform_tag, build_tag = ""):
    """Computes the file name of a wheel.

    Args:
      distribution: the distribution name, as written.
      version: the PEP 440 version, any valid spelling.
      python_tag: e.g. `py3` or `cp311`.
      abi_tag: e.g. `none`, `cp311`, `abi3`.
      platform_tag: e.g. `any`, `manylinux_2_17_x86_64`.
      build_tag: optional build number, must start with a digit.

    Returns:
      A struct(name, version, error): `name` is the file name and `version`
      the normalized version, or `error` says what is wrong.
    """
    if not is_valid_distribution(distribution):
        return struct(name = None, version = None, error = (
            "distribution %r is not a valid project name: use letters, digits, `.`, `_` " +
            "and `-`, starting and ending with a letter or digit"
        ) % distribution)
    normalized = normalize_version(version)
    if not normalized:
        return struct(name = None, version = None, error = (
            "version %r is not a valid PEP 440 version; examples of valid versions: " +
            "1.2.3, 2.19.0rc1, 2.19.0.dev20250107, 2.19.0.dev20250107+cbe478fc5"
        ) % version)
    for kind, tag in [("python", python_tag), ("abi", abi_tag), ("platform", platform_tag)]:
        error = tag_error(kind, tag)
        if error:
            return struct(name = None, version = None, error = error)
    parts = [escape_distribution(distribution), normalized]
    if build_tag:
        if build_tag[0] not in _DIGITS or "." in build_tag or tag_error("build", build_tag):
            return struct(name = None, version = None, error = (
                "build tag %r must start with a digit and use only lower-case letters, digits and `_`"
            ) % build_tag)
        parts.append(build_tag)
    parts.extend([python_tag, abi_tag, platform_tag])
    name = "-".join(parts) + ".whl"

    # Every part is ASCII here, so len() counts bytes, as file systems do.
    if len(name) > _MAX_FILENAME_BYTES:
        return struct(name = None, version = None, error = (
            "the wheel file name %s...%s is %d bytes, longer than the %d that file systems " +
            "allow; shorten the distribution name, version or tags"
        ) % (name[:40], name[-24:], len(name), _MAX_FILENAME_BYTES))
    return struct(name = name, version = normalized, error = None)
