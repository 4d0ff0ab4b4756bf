"""Unit tests of python_wheel/private/version_suffix.bzl."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:pep440.bzl", "normalize_version")

# buildifier: disable=bzl-visibility
load(
    "//python_wheel/private:version_suffix.bzl",
    "compute_version_suffix",
    "normalize_build_date",
)

_TYPE = "ML_WHEEL_TYPE"
_DATE = "ML_WHEEL_BUILD_DATE"
_HASH = "ML_WHEEL_GIT_HASH"
_SUFFIX = "ML_WHEEL_VERSION_SUFFIX"

# A real-looking `git rev-parse HEAD` with a leading zero, which the short
# hash drops: 0cbe478fc5... -> cbe478fc5.
_GIT_HASH = "0cbe478fc5e2a9d1f7b3c6048e1d2a5b9c7f3e60"

_BASE = "2.19.0"

def _documented_cases_test_impl(ctx):
    env = unittest.begin(ctx)

    # The five documented examples, with WHEEL_VERSION_SUFFIX appended to
    # "2.19.0" as python_wheel(version = "2.19.0", version_suffix = ...) does.
    for variables, expected_suffix, expected_version in [
        ({_TYPE: "nightly", _DATE: "20250107"}, ".dev20250107", "2.19.0.dev20250107"),
        ({_TYPE: "release"}, "", "2.19.0"),
        ({_TYPE: "release", _SUFFIX: "-rc1"}, "rc1", "2.19.0rc1"),
        (
            {_TYPE: "custom", _DATE: "2025-01-07", _HASH: _GIT_HASH, _SUFFIX: "custom"},
            ".dev20250107+cbe478fc5custom",
            "2.19.0.dev20250107+cbe478fc5custom",
        ),
        ({_TYPE: "snapshot"}, ".dev0+selfbuilt", "2.19.0.dev0+selfbuilt"),
    ]:
        result = compute_version_suffix(variables)
        what = "compute_version_suffix(%r)" % variables
        asserts.equals(env, None, result.error, what)
        asserts.equals(env, expected_suffix, result.wheel_suffix, what)
        asserts.equals(env, expected_version, _BASE + result.wheel_suffix, what)

        # ... and the result is already in normal form.
        asserts.equals(env, expected_version, normalize_version(_BASE + result.wheel_suffix), what)
    return unittest.end(env)

documented_cases_test = unittest.make(_documented_cases_test_impl)

def _more_cases_test_impl(ctx):
    env = unittest.begin(ctx)
    for variables, expected_suffix, expected_semantic in [
        # snapshot is the default, for an unset or empty ML_WHEEL_TYPE.
        ({}, ".dev0+selfbuilt", "-0"),
        ({_TYPE: ""}, ".dev0+selfbuilt", "-0"),
        ({_TYPE: "nightly", _DATE: "20250107"}, ".dev20250107", "-dev20250107"),
        ({_TYPE: "nightly", _DATE: "2025-01-07"}, ".dev20250107", "-dev20250107"),
        ({_TYPE: "release", _SUFFIX: "-rc1"}, "rc1", "-rc1"),
        ({_TYPE: "release", _SUFFIX: "rc1"}, "rc1", "rc1"),
        ({_TYPE: "release", _SUFFIX: "-post1"}, "post1", "-post1"),
        # The hash is lower-cased; a custom build without a date has no .dev part.
        ({_TYPE: "custom", _HASH: _GIT_HASH.upper()}, "+cbe478fc5", "+cbe478fc5"),
        (
            {_TYPE: "custom", _DATE: "20250107", _HASH: _GIT_HASH},
            ".dev20250107+cbe478fc5",
            "-dev20250107+cbe478fc5",
        ),
        # Leap days.
        ({_TYPE: "nightly", _DATE: "2024-02-29"}, ".dev20240229", "-dev20240229"),
        ({_TYPE: "nightly", _DATE: "20000229"}, ".dev20000229", "-dev20000229"),
    ]:
        result = compute_version_suffix(variables)
        what = "compute_version_suffix(%r)" % variables
        asserts.equals(env, None, result.error, what)
        asserts.equals(env, expected_suffix, result.wheel_suffix, what)
        asserts.equals(env, expected_semantic, result.semantic_suffix, what)
    return unittest.end(env)

more_cases_test = unittest.make(_more_cases_test_impl)

def _normalize_build_date_test_impl(ctx):
    env = unittest.begin(ctx)
    for value, expected in [
        ("20250107", "20250107"),
        ("2025-01-07", "20250107"),
        ("2024-02-29", "20240229"),
        ("20000229", "20000229"),
        ("2025-12-31", "20251231"),
        ("1970-01-01", "19700101"),
        ("20251301", None),
        ("20250001", None),
        ("20250100", None),
        ("2025-02-30", None),
        ("2025-04-31", None),
        ("2023-02-29", None),
        ("2100-02-29", None),
        ("2025/01/07", None),
        ("2025-1-07", None),
        ("2025-01-7", None),
        ("202501070", None),
        ("2025010", None),
        ("2025010a", None),
        ("+2025107", None),
        ("2025--1-07", None),
        ("", None),
    ]:
        asserts.equals(env, expected, normalize_build_date(value), "normalize_build_date(%r)" % value)
    return unittest.end(env)

normalize_build_date_test = unittest.make(_normalize_build_date_test_impl)

def _errors_test_impl(ctx):
    env = unittest.begin(ctx)
    for variables, culprit, value in [
        ({_TYPE: "weekly"}, _TYPE, "weekly"),
        ({_TYPE: "Nightly", _DATE: "20250107"}, _TYPE, "Nightly"),
        ({_TYPE: "nightly", _DATE: "20251301"}, _DATE, "20251301"),
        ({_TYPE: "nightly", _DATE: "2025-02-30"}, _DATE, "2025-02-30"),
        ({_TYPE: "nightly", _DATE: "2023-02-29"}, _DATE, "2023-02-29"),
        ({_TYPE: "nightly", _DATE: "2025/01/07"}, _DATE, "2025/01/07"),
        # A bad date fails whatever the type, so a typo never goes unnoticed.
        ({_TYPE: "release", _DATE: "2025/01/07"}, _DATE, "2025/01/07"),
        # Names both: the type that needs a date, and the missing date.
        ({_TYPE: "nightly"}, _DATE, _TYPE + "=nightly"),
        ({_TYPE: "custom", _DATE: "20250107", _HASH: "0cbe478fc5xyz"}, _HASH, "0cbe478fc5xyz"),
        ({_TYPE: "custom", _HASH: "HEAD"}, _HASH, "HEAD"),
        ({_TYPE: "release", _SUFFIX: "-rc 1"}, _SUFFIX, "-rc 1"),
        ({_TYPE: "custom", _DATE: "20250107", _HASH: _GIT_HASH, _SUFFIX: "!x"}, _SUFFIX, "!x"),
        ({_TYPE: "custom", _HASH: _GIT_HASH, _SUFFIX: "+again"}, _SUFFIX, "+again"),
    ]:
        result = compute_version_suffix(variables)
        what = "compute_version_suffix(%r)" % variables
        asserts.equals(env, None, result.wheel_suffix, what)
        asserts.equals(env, None, result.semantic_suffix, what)
        error = result.error or ""
        asserts.true(env, culprit in error, "%s: the error %r should name %s" % (what, error, culprit))
        asserts.true(env, value in error, "%s: the error %r should quote %r" % (what, error, value))

        # Only the culprit is blamed (`VAR=value`), except that a nightly
        # without a date is about both variables.
        for other in [_TYPE, _DATE, _HASH, _SUFFIX]:
            if other != culprit and other + "=" in error and variables != {_TYPE: "nightly"}:
                unittest.fail(env, "%s: the error %r blames %s, not %s" % (what, error, other, culprit))
    return unittest.end(env)

errors_test = unittest.make(_errors_test_impl)

def _release_suffix_must_keep_release_test_impl(ctx):
    env = unittest.begin(ctx)

    # ML_WHEEL_VERSION_SUFFIX=-1 loses its dash and would become the suffix
    # "1": 2.19.0 + "1" = 2.19.01, the different release 2.19.1; ".1" would
    # give 2.19.0.1. Both must fail naming ML_WHEEL_VERSION_SUFFIX.
    for suffix in ["-1", ".1"]:
        result = compute_version_suffix({_TYPE: "release", _SUFFIX: suffix})
        if result.error == None:
            unittest.fail(env, "%s=%r: version %r became %r; the release number changed silently" % (
                _SUFFIX,
                suffix,
                _BASE,
                normalize_version(_BASE + result.wheel_suffix),
            ))
        else:
            asserts.true(env, _SUFFIX in result.error, result.error)
    return unittest.end(env)

release_suffix_must_keep_release_test = unittest.make(_release_suffix_must_keep_release_test_impl)

def _zero_hash_names_hash_variable_test_impl(ctx):
    env = unittest.begin(ctx)

    # An all-zero hash gives an empty short hash: the error names the hash.
    result = compute_version_suffix({_TYPE: "custom", _HASH: "0000000"})
    error = result.error or ""
    asserts.true(env, _HASH in error, "the error %r should name %s" % (error, _HASH))
    return unittest.end(env)

zero_hash_names_hash_variable_test = unittest.make(_zero_hash_names_hash_variable_test_impl)

def version_suffix_test_suite(name):
    """Declares the version_suffix.bzl unit tests and a test_suite `name` of them.

    Args:
      name: name of the test_suite.
    """
    tests = {
        "documented_cases_test": documented_cases_test,
        "errors_test": errors_test,
        "more_cases_test": more_cases_test,
        "normalize_build_date_test": normalize_build_date_test,
        "release_suffix_must_keep_release_test": release_suffix_must_keep_release_test,
        "zero_hash_names_hash_variable_test": zero_hash_names_hash_variable_test,
    }
    for test_name, test_rule in tests.items():
        test_rule(name = test_name)
    native.test_suite(name = name, tests = [":" + t for t in tests])
