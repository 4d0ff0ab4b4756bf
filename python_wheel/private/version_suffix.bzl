"""`python_wheel_version_suffix_repository`: wheel version suffixes from `--repo_env`.

The suffix depends on `ML_WHEEL_TYPE`:

| type               | WHEEL_VERSION_SUFFIX                      | example version                     |
| ------------------ | ----------------------------------------- | ----------------------------------- |
| snapshot (default) | `.dev0+selfbuilt`                         | 2.19.0.dev0+selfbuilt               |
| nightly            | `.dev{date}`                              | 2.19.0.dev20250107                  |
| release            | `{suffix without '-'}`                    | 2.19.0, 2.19.0rc1                   |
| custom             | `.dev{date}+{hash.lstrip('0')[:9]}{suffix}` | 2.19.0.dev20250107+cbe478fc5custom |
"""

load(":pep440.bzl", "parse_version")

TYPE_VAR = "ML_WHEEL_TYPE"
DATE_VAR = "ML_WHEEL_BUILD_DATE"
HASH_VAR = "ML_WHEEL_GIT_HASH"
SUFFIX_VAR = "ML_WHEEL_VERSION_SUFFIX"

_TYPES = ["release", "nightly", "custom", "snapshot"]
_HEX = "0123456789abcdefABCDEF"
_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

def _is_digits(s):
    if not s:
        return False
    for c in s.elems():
        if c not in "0123456789":
            return False
    return True

def normalize_build_date(value):
    """Turns `YYYYMMDD` or `YYYY-MM-DD` into `YYYYMMDD`.

    Args:
      value: the date as given.

    Returns:
      The compact date, or None if `value` is not a real calendar date in
      one of the two accepted forms.
    """
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        compact = value[0:4] + value[5:7] + value[8:10]
    elif len(value) == 8:
        compact = value
    else:
        return None
    if not _is_digits(compact):
        return None
    year = int(compact[0:4].lstrip("0") or "0")
    month = int(compact[4:6].lstrip("0") or "0")
    day = int(compact[6:8].lstrip("0") or "0")
    if year < 1970 or month < 1 or month > 12 or day < 1 or day > _DAYS_IN_MONTH[month - 1]:
        return None
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    if month == 2 and day == 29 and not leap:
        return None
    return compact

def _failure(message):
    return struct(wheel_suffix = None, semantic_suffix = None, error = message)

def compute_version_suffix(env):
    """Computes the wheel version suffixes from the ML_WHEEL_* variables.

    Args:
      env: dict of variable name to value; missing or empty means unset.

    Returns:
      struct(wheel_suffix, semantic_suffix, error): `error` is None on
      success, else one line naming the variable, its value and the fix.
    """
    wheel_type = env.get(TYPE_VAR, "") or "snapshot"
    raw_date = env.get(DATE_VAR, "")
    git_hash = env.get(HASH_VAR, "")
    custom = env.get(SUFFIX_VAR, "")

    if wheel_type not in _TYPES:
        return _failure("%s=%r is not a wheel type; use one of: %s" % (
            TYPE_VAR,
            wheel_type,
            ", ".join(_TYPES),
        ))

    date = None
    if raw_date:
        date = normalize_build_date(raw_date)
        if not date:
            return _failure("%s=%r is not a date; use YYYYMMDD or YYYY-MM-DD, e.g. 20250107" % (
                DATE_VAR,
                raw_date,
            ))
    if git_hash:
        if not git_hash.lstrip("0"):
            return _failure("%s=%r has no digits other than 0, so it gives an empty local version; pass the full hash, $(git rev-parse HEAD)" % (
                HASH_VAR,
                git_hash,
            ))
        for c in git_hash.elems():
            if c not in _HEX:
                return _failure("%s=%r is not a hexadecimal git commit hash; pass $(git rev-parse HEAD)" % (
                    HASH_VAR,
                    git_hash,
                ))

    if wheel_type == "snapshot":
        wheel_suffix = ".dev0+selfbuilt"
        semantic_suffix = "-0"
    elif wheel_type == "nightly":
        if not date:
            return _failure("%s=nightly needs %s (YYYYMMDD or YYYY-MM-DD), e.g. --repo_env=%s=20250107" % (
                TYPE_VAR,
                DATE_VAR,
                DATE_VAR,
            ))
        wheel_suffix = ".dev" + date
        semantic_suffix = "-dev" + date
    elif wheel_type == "release":
        wheel_suffix = custom.replace("-", "")
        semantic_suffix = custom
    else:
        wheel_suffix = ""
        semantic_suffix = ""
        if date:
            wheel_suffix += ".dev" + date
            semantic_suffix += "-dev" + date
        if git_hash:
            short_hash = git_hash.lstrip("0")[:9].lower()
            wheel_suffix += "+" + short_hash
            semantic_suffix += "+" + short_hash
        wheel_suffix += custom
        semantic_suffix += custom

    # The base version is unknown here; any PEP 440 release works as a probe.
    # The suffix must neither break the version nor extend its release
    # segment (a suffix "1" would turn 2.19.0 into 2.19.01, i.e. 2.19.1).
    probe = parse_version("1.0" + wheel_suffix) if wheel_suffix else None
    if wheel_suffix and (not probe or probe.release != ["1", "0"]):
        culprit = SUFFIX_VAR if custom else TYPE_VAR
        return _failure((
            "%s=%r gives the version suffix %r, which %s under PEP 440 (1.0 becomes %r); " +
            "use e.g. -rc1 for a release; for custom builds the suffix follows +<git hash> " +
            "(set ML_WHEEL_GIT_HASH) or must start a local version itself, e.g. +mybuild"
        ) % (
            culprit,
            env.get(culprit, ""),
            wheel_suffix,
            "changes the release number" if probe else "makes versions invalid",
            "1.0" + wheel_suffix,
        ))

    return struct(wheel_suffix = wheel_suffix, semantic_suffix = semantic_suffix, error = None)

def _python_wheel_version_suffix_repository_impl(repository_ctx):
    env = {var: repository_ctx.os.environ.get(var, "").strip() for var in [TYPE_VAR, DATE_VAR, HASH_VAR, SUFFIX_VAR]}
    result = compute_version_suffix(env)
    if result.error:
        fail("python_wheel_version_suffix_repository(name = %r): %s" % (repository_ctx.name, result.error))
    repository_ctx.file("BUILD.bazel", "exports_files([\"wheel_version_suffix.bzl\"])\n")
    repository_ctx.file("wheel_version_suffix.bzl", "\n".join([
        '"""Generated by python_wheel_version_suffix_repository from --repo_env ML_WHEEL_* variables."""',
        "",
        "# %s=%r %s=%r %s=%r %s=%r" % (TYPE_VAR, env[TYPE_VAR], DATE_VAR, env[DATE_VAR], HASH_VAR, env[HASH_VAR], SUFFIX_VAR, env[SUFFIX_VAR]),
        "WHEEL_VERSION_SUFFIX = %r" % result.wheel_suffix,
        "SEMANTIC_WHEEL_VERSION_SUFFIX = %r" % result.semantic_suffix,
        "",
    ]))

python_wheel_version_suffix_repository = repository_rule(
    implementation = _python_wheel_version_suffix_repository_impl,
    environ = [TYPE_VAR, DATE_VAR, HASH_VAR, SUFFIX_VAR],
    local = False,
    doc = """Writes `wheel_version_suffix.bzl` with `WHEEL_VERSION_SUFFIX` and
`SEMANTIC_WHEEL_VERSION_SUFFIX`, computed from `--repo_env` variables
`ML_WHEEL_TYPE` (release, nightly, custom, snapshot; default snapshot),
`ML_WHEEL_BUILD_DATE` (YYYYMMDD or YYYY-MM-DD), `ML_WHEEL_GIT_HASH` and
`ML_WHEEL_VERSION_SUFFIX`. Invalid values fail the fetch with a message
naming the variable. Changing a variable refetches the repository; leaving
them unchanged rebuilds nothing.""",
)
