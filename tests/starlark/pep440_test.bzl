"""Unit tests of python_wheel/private/pep440.bzl.

`PEP440_CASES` is also written to pep440_cases.json (kept in sync by
`:pep440_cases_json_test`), so a Python test can check every expectation
against `packaging.version.Version`.
"""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:pep440.bzl", "normalize_version", "parse_version")

# (input, normalized form or None when invalid), from the normalization
# section of PEP 440 ("Version specifiers", Normalization).
PEP440_CASES = [
    # Plain releases and leading zeros.
    ("1", "1"),
    ("1.0", "1.0"),
    ("1.0.0", "1.0.0"),
    ("01.02.03", "1.2.3"),
    ("1.0.0010", "1.0.10"),
    ("2.19.0", "2.19.0"),
    # Case.
    ("1.0RC1", "1.0rc1"),
    ("1.0A1", "1.0a1"),
    ("1.0.DEV1", "1.0.dev1"),
    ("1.0.POST1", "1.0.post1"),
    ("1.0+UBUNTU.1", "1.0+ubuntu.1"),
    # Leading v.
    ("v1.0", "1.0"),
    ("V1.0", "1.0"),
    ("v1!2.0", "1!2.0"),
    # Pre-release separators and spellings.
    ("1.0-a1", "1.0a1"),
    ("1.0_a1", "1.0a1"),
    ("1.0.a1", "1.0a1"),
    ("1.0a.1", "1.0a1"),
    ("1.0a-1", "1.0a1"),
    ("1.0-c-1", "1.0rc1"),
    ("1.0alpha1", "1.0a1"),
    ("1.0beta2", "1.0b2"),
    ("1.0c1", "1.0rc1"),
    ("1.0pre1", "1.0rc1"),
    ("1.0preview1", "1.0rc1"),
    ("1.0rc1", "1.0rc1"),
    # Implicit pre-release number (a trailing separator belongs to the label).
    ("1.0a", "1.0a0"),
    ("1.0b", "1.0b0"),
    ("1.0rc", "1.0rc0"),
    ("1.0a.", "1.0a0"),
    # Post-releases.
    ("1.0post", "1.0.post0"),
    ("1.0.post", "1.0.post0"),
    ("1.0-post-1", "1.0.post1"),
    ("1.0rev1", "1.0.post1"),
    ("1.0r1", "1.0.post1"),
    ("1.0-r-1", "1.0.post1"),
    ("1.0-1", "1.0.post1"),
    ("1.0-01", "1.0.post1"),
    ("1.0rc1-1", "1.0rc1.post1"),
    ("1.0.post007", "1.0.post7"),
    # Development releases.
    ("1.0dev", "1.0.dev0"),
    ("1.0-dev1", "1.0.dev1"),
    ("1.0_dev_1", "1.0.dev1"),
    ("1.0.dev000", "1.0.dev0"),
    ("1.0.post.dev", "1.0.post0.dev0"),
    ("1.0a01", "1.0a1"),
    # Epochs.
    ("1!1.0", "1!1.0"),
    ("0!1.0", "1.0"),
    ("01!1.0", "1!1.0"),
    # Local versions.
    ("1.0+ubuntu-1", "1.0+ubuntu.1"),
    ("1.0+ubuntu_1", "1.0+ubuntu.1"),
    ("1.0+001", "1.0+1"),
    ("1.0+abc.007.x", "1.0+abc.7.x"),
    ("1.0+01a", "1.0+01a"),
    ("1.0+0", "1.0+0"),
    ("1.0+5", "1.0+5"),
    # Whitespace around the version.
    (" 1.0 ", "1.0"),
    ("\t1.0\n", "1.0"),
    # Examples of the PEP and of this project.
    ("1.0a12.dev456", "1.0a12.dev456"),
    ("1.0b2.post345.dev456", "1.0b2.post345.dev456"),
    ("1.0.post456.dev34", "1.0.post456.dev34"),
    ("1!2.0b1.post2.dev3+local.7", "1!2.0b1.post2.dev3+local.7"),
    ("2.19.0.dev20250107+cbe478fc5custom", "2.19.0.dev20250107+cbe478fc5custom"),
    (" v1.0RC1-1.DEV2+Local_Build ", "1.0rc1.post1.dev2+local.build"),
    # Invalid.
    ("", None),
    ("   ", None),
    ("v", None),
    ("abc", None),
    ("1.0-", None),
    ("1.0_", None),
    ("1.0.", None),
    (".1.0", None),
    ("1..0", None),
    ("1,0", None),
    ("1.0+", None),
    ("1.0+a..b", None),
    ("1.0+a.", None),
    ("1.0+local+x", None),
    ("1.0+ubuntu 1", None),
    ("1.0 beta", None),
    ("1.0.dev.post", None),
    ("1.0.dev1.post1", None),
    ("1.0a1.1", None),
    ("1.0rc1a1", None),
    ("!1.0", None),
    ("1!v1.0", None),
    ("1.0-+local", None),
]

def _normalize_version_table_test_impl(ctx):
    env = unittest.begin(ctx)
    for version, expected in PEP440_CASES:
        asserts.equals(env, expected, normalize_version(version), "normalize_version(%r)" % version)
    return unittest.end(env)

normalize_version_table_test = unittest.make(_normalize_version_table_test_impl)

def _normalized_is_fixed_point_test_impl(ctx):
    env = unittest.begin(ctx)

    # A normalized version normalizes to itself.
    for _, expected in PEP440_CASES:
        if expected != None:
            asserts.equals(env, expected, normalize_version(expected), "normalize_version(%r)" % expected)
    return unittest.end(env)

normalized_is_fixed_point_test = unittest.make(_normalized_is_fixed_point_test_impl)

def _parse_version_parts_test_impl(ctx):
    env = unittest.begin(ctx)
    parsed = parse_version(" V01!02.0RC1-3.DEV4+Abc-05 ")
    asserts.equals(env, "1", parsed.epoch)
    asserts.equals(env, ["2", "0"], parsed.release)
    asserts.equals(env, "rc1", parsed.pre)
    asserts.equals(env, "3", parsed.post)
    asserts.equals(env, "4", parsed.dev)
    asserts.equals(env, "abc.5", parsed.local)
    asserts.equals(env, "1!2.0rc1.post3.dev4+abc.5", parsed.normalized)

    plain = parse_version("1.2")
    asserts.equals(env, None, plain.epoch)
    asserts.equals(env, ["1", "2"], plain.release)
    asserts.equals(env, None, plain.pre)
    asserts.equals(env, None, plain.post)
    asserts.equals(env, None, plain.dev)
    asserts.equals(env, None, plain.local)

    # Zero-valued parts are present, not absent.
    zeros = parse_version("1.0.post0.dev0")
    asserts.equals(env, "0", zeros.post)
    asserts.equals(env, "0", zeros.dev)

    asserts.equals(env, None, parse_version("1.0-"))
    return unittest.end(env)

parse_version_parts_test = unittest.make(_parse_version_parts_test_impl)

def _pep440_cases_json_impl(ctx):
    cases = [{"input": version, "expected": expected} for version, expected in PEP440_CASES]
    content = json.encode_indent({
        "about": "PEP 440 normalization cases of tests/starlark/pep440_test.bzl: input -> normalized version, or null when invalid. Generated from PEP440_CASES; regenerate with `bazel build //tests/starlark:pep440_cases_generated` and copy the output over pep440_cases.json.",
        "cases": cases,
    }, indent = "  ")
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, content + "\n")
    return [DefaultInfo(files = depset([out]))]

pep440_cases_json = rule(
    implementation = _pep440_cases_json_impl,
    doc = "Writes PEP440_CASES as JSON, for comparison with the checked-in pep440_cases.json.",
)

def pep440_test_suite(name):
    """Declares the pep440.bzl unit tests and a test_suite `name` of them.

    Args:
      name: name of the test_suite.
    """
    tests = {
        "normalize_version_table_test": normalize_version_table_test,
        "normalized_is_fixed_point_test": normalized_is_fixed_point_test,
        "parse_version_parts_test": parse_version_parts_test,
    }
    for test_name, test_rule in tests.items():
        test_rule(name = test_name)
    native.test_suite(name = name, tests = [":" + t for t in tests])
