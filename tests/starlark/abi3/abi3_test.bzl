"""Tests of abi3 wheels: python_wheel(py_limited_api) and py_limited_api_defines."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "PyWheelInfo", "py_limited_api_defines", "python_wheel")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:abi3.bzl", "check_abi3_tags", "limited_api_minor")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:installed_test.bzl", "check_interpreter")

_CP311 = {"//command_line_option:extra_toolchains": ["//tests/starlark/abi3:tags_cp311_toolchain"]}
_CP313T = {"//command_line_option:extra_toolchains": ["//tests/starlark/abi3:tags_cp313t_toolchain"]}
_PKG = "//tests/starlark/abi3:"

def _functions_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, ["Py_LIMITED_API=0x030A0000"], py_limited_api_defines("cp310"))
    asserts.equals(env, ["Py_LIMITED_API=0x03020000"], py_limited_api_defines("cp32"))
    asserts.equals(env, ["Py_LIMITED_API=0x030D0000"], py_limited_api_defines("cp313"))
    for tag, minor in [("cp310", 10), ("cp37", 7), ("cp3", -1), ("cp310t", -1), ("py3", -1), ("cp27", -1), ("cp3x", -1), ("cp307", -1)]:
        asserts.equals(env, minor, limited_api_minor(tag), tag)
    asserts.equals(env, "", check_abi3_tags("cp310", "cp311", "cp311", "o"))
    asserts.equals(env, "", check_abi3_tags("cp311", "cp311", "cp311", "o"))
    asserts.equals(env, "", check_abi3_tags("cp312", "", "", "o"), "unknown interpreter: nothing to compare")
    asserts.true(env, "newer than the interpreter" in check_abi3_tags("cp312", "cp311", "cp311", "o"))
    asserts.true(env, "free-threaded" in check_abi3_tags("cp310", "cp313", "cp313t", "o"))
    asserts.true(env, "older than the stable ABI" in check_abi3_tags("cp31", "cp311", "cp311", "o"))
    asserts.true(env, "needs a CPython 3 python tag" in check_abi3_tags("py3", "cp311", "cp311", "o"))
    return unittest.end(env)

_functions_test = unittest.make(_functions_test_impl)

_WHEEL = "w-1.0-cp310-abi3-manylinux_2_17_x86_64.whl"

def _check(python_tag, abi_tag, interpreter_python_tag, interpreter_abi_tag):
    return check_interpreter("//t:t", _WHEEL, python_tag, abi_tag, interpreter_python_tag, interpreter_abi_tag, "@py")

def _interpreters_test_impl(ctx):
    """installed_wheel_test's check of each interpreter against the wheel's tags."""
    env = unittest.begin(ctx)
    wheel = _WHEEL
    for interpreter in ["cp310", "cp311", "cp313"]:
        asserts.equals(env, "", _check("cp310", "abi3", interpreter, interpreter), interpreter)
    asserts.equals(env, "", _check("py3", "none", "cp312", "cp312"))
    asserts.equals(env, "", _check("cp311", "cp311", "cp311", "cp311"))
    asserts.equals(env, "", _check("cp311.cp312", "cp311.cp312", "cp312", "cp312"))
    older = _check("cp310", "abi3", "cp39", "cp39")
    for part in ["//t:t: @py is cp39, older than CPython 3.10", wheel, "give interpreters from 3.10 on"]:
        asserts.true(env, part in older, older)
    free = _check("cp310", "abi3", "cp313", "cp313t")
    asserts.true(env, "//t:t: @py is free-threaded (cp313t)" in free and "drop it from pythons" in free, free)
    other = _check("cp311", "cp311", "cp312", "cp312")
    for part in ["@py is cp312-cp312", "is tagged cp311-cp311", "pip would refuse it", "py_limited_api"]:
        asserts.true(env, part in other, other)
    asserts.true(env, "@py is cp313-cp313t" in _check("cp313", "cp313", "cp313", "cp313t"))
    unknown = _check("cp310", "abi3", "", "")
    asserts.true(env, "the tags of @py are unknown" in unknown, unknown)
    return unittest.end(env)

_interpreters_test = unittest.make(_interpreters_test_impl)

def _tags_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[PyWheelInfo]
    asserts.equals(env, ctx.attr.expected_name, info.wheel.basename)
    asserts.equals(env, "abi3", info.abi_tag)
    return analysistest.end(env)

_tags_test = analysistest.make(
    _tags_test_impl,
    attrs = {"expected_name": attr.string()},
    config_settings = _CP311,
)

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    for message in ctx.attr.expected_messages:
        asserts.expect_failure(env, message)
    return analysistest.end(env)

_failure_cp311_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"expected_messages": attr.string_list()},
    config_settings = _CP311,
)

_failure_cp313t_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"expected_messages": attr.string_list()},
    config_settings = _CP313T,
)

def _wheel(name, **kwargs):
    kwargs.setdefault("platform_tag", "manylinux_2_17_x86_64")
    python_wheel(
        name = name,
        distribution = name,
        tags = ["manual"],
        version = "1.0",
        **kwargs
    )

def abi3_test_suite(name):
    """The abi3 tests.

    Args:
      name: the test_suite's name.
    """
    _functions_test(name = name + "_functions")
    _interpreters_test(name = name + "_interpreters")
    tests = [name + "_functions", name + "_interpreters"]

    for case, kwargs, expected in [
        ("limited", {"py_limited_api": "cp310"}, "1.0-cp310-abi3-manylinux_2_17_x86_64.whl"),
        ("same_as_interpreter", {"py_limited_api": "cp311"}, "1.0-cp311-abi3-manylinux_2_17_x86_64.whl"),
        # Redundant but consistent tags are accepted.
        ("explicit", {"abi_tag": "abi3", "py_limited_api": "cp39", "python_tag": "cp39"}, "1.0-cp39-abi3-manylinux_2_17_x86_64.whl"),
        # abi_tag = "abi3" alone: the python tag is the interpreter's.
        ("abi_tag_only", {"abi_tag": "abi3"}, "1.0-cp311-abi3-manylinux_2_17_x86_64.whl"),
    ]:
        _wheel(name = "ok_" + case, **kwargs)
        _tags_test(name = "%s_%s" % (name, case), expected_name = "ok_%s-%s" % (case, expected), target_under_test = ":ok_" + case)
        tests.append("%s_%s" % (name, case))

    for case, kwargs, messages in [
        ("newer_than_interpreter", {"py_limited_api": "cp312"}, [
            "cp312-abi3 claims the limited API of CPython 3.12, newer than the interpreter whose headers build the extensions (cp311, a test interpreter 3.11)",
            "use py_limited_api = \"cp311\" or older",
        ]),
        ("not_cpython", {"py_limited_api": "py3"}, ["py_limited_api \"py3\" is not a CPython 3 python tag", "e.g. \"cp310\""]),
        ("abi3_non_cp3", {"abi_tag": "abi3", "python_tag": "py3"}, ["abi_tag \"abi3\" needs a CPython 3 python tag", "got \"py3\""]),
        ("too_old", {"abi_tag": "abi3", "python_tag": "cp31"}, ["cp31 names CPython 3.1, older than the stable ABI"]),
        ("python_tag_conflict", {"py_limited_api": "cp310", "python_tag": "cp311"}, ["python_tag \"cp311\" and py_limited_api \"cp310\" disagree", "drop python_tag"]),
        ("abi_tag_conflict", {"abi_tag": "cp311", "py_limited_api": "cp310"}, ["abi_tag \"cp311\" and py_limited_api \"cp310\" disagree"]),
        ("pure", {"platform_tag": "", "py_limited_api": "cp310"}, ["platform_tag is empty (a pure, `any` wheel)", "set platform_tag"]),
        ("pure_abi3", {"abi_tag": "abi3", "platform_tag": ""}, ["abi_tag \"abi3\" is for wheels of compiled extensions"]),
    ]:
        _wheel(name = "bad_" + case, **kwargs)
        _failure_cp311_test(
            name = "%s_%s" % (name, case),
            expected_messages = [_PKG + "bad_" + case] + messages,
            target_under_test = ":bad_" + case,
        )
        tests.append("%s_%s" % (name, case))

    _wheel(name = "bad_free_threaded", py_limited_api = "cp310")
    _failure_cp313t_test(
        name = name + "_free_threaded",
        expected_messages = [
            _PKG + "bad_free_threaded",
            "the Python toolchain's interpreter (a free-threaded test interpreter 3.13) is free-threaded (cp313t), which loads no abi3 extensions",
        ],
        target_under_test = ":bad_free_threaded",
    )
    tests.append(name + "_free_threaded")
    native.test_suite(name = name, tests = tests)
