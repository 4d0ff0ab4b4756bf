"""PEP 440 version parsing and normalization in Starlark.

Wheel file names are computed at analysis time, so the version must be
validated and normalized here. The Python writer re-checks the result with
`packaging.version.Version` and fails if the two ever disagree.

The grammar is the one of the PEP 440 appendix ("VERSION_PATTERN"),
implemented as a left-to-right scanner because Starlark has no regex.
"""

_DIGITS = "0123456789"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_SEPARATORS = "-_."

# Longer spellings first: the scanner takes the first label that matches.
_PRE_LABELS = [
    ("alpha", "a"),
    ("a", "a"),
    ("beta", "b"),
    ("b", "b"),
    ("preview", "rc"),
    ("pre", "rc"),
    ("c", "rc"),
    ("rc", "rc"),
]
_POST_LABELS = ["post", "rev", "r"]

def _scan(s, i, alphabet):
    """Returns the index after the run of characters of `alphabet` at `i`."""
    for j in range(i, len(s)):
        if s[j] not in alphabet:
            return j
    return len(s)

def _strip_zeros(number):
    stripped = number.lstrip("0")
    return stripped if stripped else "0"

def _optional_separator(s, i):
    if i < len(s) and s[i] in _SEPARATORS:
        return i + 1
    return i

def _labelled_number(s, i, labels):
    """Scans `[sep] label [sep] [digits]` at `i`.

    Args:
      s: the version string, lower case.
      i: where to start.
      labels: list of (spelling, canonical) pairs.

    Returns:
      (canonical label, number, next index) or None when no label matches.
    """
    k = _optional_separator(s, i)
    for spelling, canonical in labels:
        if s[k:k + len(spelling)] == spelling:
            k += len(spelling)
            after_separator = _optional_separator(s, k)
            end = _scan(s, after_separator, _DIGITS)
            if end > after_separator:
                return (canonical, _strip_zeros(s[after_separator:end]), end)

            # No number: the separator is only consumed when digits follow it,
            # except that the grammar allows a trailing one before the next part.
            return (canonical, "0", after_separator)
    return None

def parse_version(version):
    """Parses a PEP 440 version.

    Args:
      version: the version string, as a user wrote it.

    Returns:
      A struct(epoch, release, pre, post, dev, local, normalized) where the
      parts are strings (or None when absent) and `normalized` is the canonical
      spelling; or None when `version` is not a valid PEP 440 version.
    """
    s = version.strip().lower()
    i = 1 if s.startswith("v") else 0
    n = len(s)

    epoch = None
    end = _scan(s, i, _DIGITS)
    if end > i and end < n and s[end] == "!":
        epoch = _strip_zeros(s[i:end])
        i = end + 1

    end = _scan(s, i, _DIGITS)
    if end == i:
        return None
    release = [_strip_zeros(s[i:end])]
    i = end
    for _ in range(n):
        if i + 1 < n and s[i] == "." and s[i + 1] in _DIGITS:
            end = _scan(s, i + 1, _DIGITS)
            release.append(_strip_zeros(s[i + 1:end]))
            i = end
        else:
            break

    pre = None
    found = _labelled_number(s, i, _PRE_LABELS)
    if found:
        pre = found[0] + found[1]
        i = found[2]

    post = None
    if i < n and s[i] == "-" and _scan(s, i + 1, _DIGITS) > i + 1:
        end = _scan(s, i + 1, _DIGITS)
        post = _strip_zeros(s[i + 1:end])
        i = end
    else:
        found = _labelled_number(s, i, [(label, "post") for label in _POST_LABELS])
        if found:
            post = found[1]
            i = found[2]

    dev = None
    found = _labelled_number(s, i, [("dev", "dev")])
    if found:
        dev = found[1]
        i = found[2]

    local = None
    if i < n and s[i] == "+":
        parts = []
        j = i + 1
        for _ in range(n):
            end = _scan(s, j, _ALNUM)
            if end == j:
                return None
            part = s[j:end]
            parts.append(_strip_zeros(part) if _scan(part, 0, _DIGITS) == len(part) else part)
            j = end
            if j < n and s[j] in _SEPARATORS:
                j += 1
            else:
                break
        local = ".".join(parts)
        i = j

    if i != n:
        return None

    normalized = ""
    if epoch and epoch != "0":
        normalized += epoch + "!"
    normalized += ".".join(release)
    if pre:
        normalized += pre
    if post != None:
        normalized += ".post" + post
    if dev != None:
        normalized += ".dev" + dev
    if local:
        normalized += "+" + local

    return struct(
        epoch = epoch,
        release = release,
        pre = pre,
        post = post,
        dev = dev,
        local = local,
        normalized = normalized,
    )

def normalize_version(version):
    """Returns the canonical PEP 440 spelling of `version`, or None if invalid.

    Args:
      version: the version string.

    Returns:
      The normalized version string, or None.
    """
    parsed = parse_version(version)
    return parsed.normalized if parsed else None
