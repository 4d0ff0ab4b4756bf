"""Unit tests of python_wheel/private/naming.bzl."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")

# buildifier: disable=bzl-visibility
load(
    "//python_wheel/private:naming.bzl",
    "escape_distribution",
    "is_valid_distribution",
    "tag_error",
    "wheel_filename",
)

def _contains(env, needle, haystack, what):
    asserts.true(
        env,
        haystack != None and needle in haystack,
        "%s: expected %r to contain %r" % (what, haystack, needle),
    )

def _escape_distribution_test_impl(ctx):
    env = unittest.begin(ctx)
    for name, expected in [
        ("jax", "jax"),
        ("JAX", "jax"),
        ("Example.Pkg", "example_pkg"),
        ("jax-cuda12-plugin", "jax_cuda12_plugin"),
        ("nvidia_cublas_cu12", "nvidia_cublas_cu12"),
        ("foo--bar__baz..qux", "foo_bar_baz_qux"),
        ("a-_.b", "a_b"),
        ("A.B-C_D", "a_b_c_d"),
        ("x1", "x1"),
    ]:
        asserts.equals(env, expected, escape_distribution(name), "escape_distribution(%r)" % name)
    return unittest.end(env)

escape_distribution_test = unittest.make(_escape_distribution_test_impl)

def _is_valid_distribution_test_impl(ctx):
    env = unittest.begin(ctx)
    for name in ["a", "Z", "7", "jax", "A1", "1abc", "jax-cuda12_plugin.x", "Example.Pkg", "a--b"]:
        asserts.true(env, is_valid_distribution(name), "is_valid_distribution(%r) should be True" % name)
    for name in ["", "-a", "a-", ".a", "a.", "_a", "a_", "a b", "a/b", "a+b", "a!", "jäx", "a\n"]:
        asserts.false(env, is_valid_distribution(name), "is_valid_distribution(%r) should be False" % name)
    return unittest.end(env)

is_valid_distribution_test = unittest.make(_is_valid_distribution_test_impl)

def _tag_error_test_impl(ctx):
    env = unittest.begin(ctx)
    for kind, tag in [
        ("python", "py3"),
        ("python", "cp311"),
        ("python", "py2.py3"),
        ("abi", "none"),
        ("abi", "abi3"),
        ("abi", "cp313t"),
        ("platform", "any"),
        ("platform", "win_amd64"),
        ("platform", "macosx_11_0_arm64"),
        ("platform", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
    ]:
        asserts.equals(env, None, tag_error(kind, tag), "tag_error(%r, %r)" % (kind, tag))

    for kind, tag, needles in [
        ("python", "", ["python tag is empty"]),
        ("platform", "linux-x86_64", ["platform tag", "linux-x86_64", "\"-\""]),
        ("abi", "Cp311", ["abi tag", "Cp311", "\"C\""]),
        ("platform", "manylinux_2_17_x86_64..manylinux2014_x86_64", ["empty part"]),
        ("python", ".py3", ["python tag", "empty part"]),
        ("python", "py3.", ["empty part"]),
        ("platform", "linux x86_64", ["\" \""]),
    ]:
        error = tag_error(kind, tag)
        for needle in needles:
            _contains(env, needle, error, "tag_error(%r, %r)" % (kind, tag))
    return unittest.end(env)

tag_error_test = unittest.make(_tag_error_test_impl)

def _wheel_filename_test_impl(ctx):
    env = unittest.begin(ctx)
    for args, build_tag, expected_name, expected_version in [
        (("Example.Pkg", "1.0", "py3", "none", "any"), "", "example_pkg-1.0-py3-none-any.whl", "1.0"),
        # The version is normalized in the name.
        (("pkg", "V1.0-RC1", "py3", "none", "any"), "", "pkg-1.0rc1-py3-none-any.whl", "1.0rc1"),
        # Local versions keep their `+`.
        (("pkg", "1.0+Ubuntu-1", "py3", "none", "any"), "", "pkg-1.0+ubuntu.1-py3-none-any.whl", "1.0+ubuntu.1"),
        (
            ("jax", "2.19.0.dev20250107+cbe478fc5custom", "cp311", "cp311", "manylinux_2_27_x86_64"),
            "",
            "jax-2.19.0.dev20250107+cbe478fc5custom-cp311-cp311-manylinux_2_27_x86_64.whl",
            "2.19.0.dev20250107+cbe478fc5custom",
        ),
        # Build tags go between the version and the python tag.
        (("pkg", "1.0", "py3", "none", "any"), "1", "pkg-1.0-1-py3-none-any.whl", "1.0"),
        (("pkg", "1.0", "py3", "none", "any"), "20250107_nightly", "pkg-1.0-20250107_nightly-py3-none-any.whl", "1.0"),
        # Compressed tag sets.
        (
            ("jax-cuda12-plugin", "0.4.38", "cp313", "cp313t", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
            "",
            "jax_cuda12_plugin-0.4.38-cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "0.4.38",
        ),
        (("pkg", "2", "py2.py3", "none", "any"), "", "pkg-2-py2.py3-none-any.whl", "2"),
    ]:
        result = wheel_filename(args[0], args[1], args[2], args[3], args[4], build_tag = build_tag)
        what = "wheel_filename%r, build_tag = %r" % (args, build_tag)
        asserts.equals(env, None, result.error, what)
        asserts.equals(env, expected_name, result.name, what)
        asserts.equals(env, expected_version, result.version, what)

    for args, build_tag, needles in [
        (("-pkg", "1.0", "py3", "none", "any"), "", ["\"-pkg\"", "not a valid project name"]),
        (("pkg", "1.0-", "py3", "none", "any"), "", ["\"1.0-\"", "not a valid PEP 440 version"]),
        (("pkg", "", "py3", "none", "any"), "", ["not a valid PEP 440 version"]),
        (("pkg", "1.0", "py3", "none", "linux-x86_64"), "", ["platform tag", "linux-x86_64"]),
        (("pkg", "1.0", "py-3", "none", "any"), "", ["python tag", "py-3"]),
        (("pkg", "1.0", "py3", "", "any"), "", ["abi tag is empty"]),
        (("pkg", "1.0", "py3", "none", "any"), "a1", ["build tag", "\"a1\"", "start with a digit"]),
        (("pkg", "1.0", "py3", "none", "any"), "1-2", ["build tag", "\"1-2\""]),
    ]:
        result = wheel_filename(args[0], args[1], args[2], args[3], args[4], build_tag = build_tag)
        what = "wheel_filename%r, build_tag = %r" % (args, build_tag)
        asserts.equals(env, None, result.name, what)
        asserts.equals(env, None, result.version, what)
        for needle in needles:
            _contains(env, needle, result.error, what)
    return unittest.end(env)

wheel_filename_test = unittest.make(_wheel_filename_test_impl)

def naming_test_suite(name):
    """Declares the naming.bzl unit tests and a test_suite `name` of them.

    Args:
      name: name of the test_suite.
    """
    tests = {
        "escape_distribution_test": escape_distribution_test,
        "is_valid_distribution_test": is_valid_distribution_test,
        "tag_error_test": tag_error_test,
        "wheel_filename_test": wheel_filename_test,
    }
    for test_name, test_rule in tests.items():
        test_rule(name = test_name)
    native.test_suite(name = name, tests = [":" + t for t in tests])
