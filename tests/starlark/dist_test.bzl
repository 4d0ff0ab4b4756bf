"""Analysis tests of python_sdist, wheel_dist and wheel_publish (python_wheel/private/{sdist,dist}.bzl)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "python_sdist", "python_wheel", "wheel_dist", "wheel_publish")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:compat.bzl", "py_library")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:sdist.bzl", "sdist_filename")
load(":failure_test.bzl", "analysis_failure_test")

def _sdist_filename_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, "hello_dist-1.2.0.tar.gz", sdist_filename("hello_dist", "1.2.0"))
    asserts.equals(env, "jax-0.4.36.dev20250107.tar.gz", sdist_filename("jax", "0.4.36.dev20250107"))
    return unittest.end(env)

sdist_filename_test = unittest.make(_sdist_filename_test_impl)

def _sdist_action_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "PythonSdist"]
    asserts.equals(env, 1, len(actions), "one PythonSdist action")
    action = actions[0]
    outputs = [f.basename for f in action.outputs.to_list()]
    asserts.equals(env, [ctx.attr.expected_name], outputs)
    files = [f.basename for f in analysistest.target_under_test(env)[DefaultInfo].files.to_list()]
    asserts.equals(env, [ctx.attr.expected_name], files)
    inputs = [f.short_path for f in action.inputs.to_list()]
    for expected in ctx.attr.expected_inputs:
        asserts.true(env, expected in inputs, "%s not among the inputs %r" % (expected, inputs))
    return analysistest.end(env)

sdist_action_test = analysistest.make(
    _sdist_action_test_impl,
    attrs = {
        "expected_inputs": attr.string_list(doc = "short_paths the action must read."),
        "expected_name": attr.string(doc = "The sdist's file name."),
    },
)

def _runfiles_test_impl(ctx):
    env = analysistest.begin(ctx)
    runfiles = analysistest.target_under_test(env)[DefaultInfo].default_runfiles.files.to_list()
    names = [f.basename for f in runfiles]
    for expected in ctx.attr.expected_runfiles:
        asserts.true(env, expected in names, "%s not in the runfiles" % expected)
    return analysistest.end(env)

runfiles_test = analysistest.make(
    _runfiles_test_impl,
    attrs = {"expected_runfiles": attr.string_list(doc = "basenames the runfiles must hold.")},
)

def dist_test_suite(name):
    """The tests of python_sdist, wheel_dist and wheel_publish, and their fixtures.

    Args:
      name: the test_suite's name.
    """
    pkg = native.package_name()
    fixture = ["manual"]
    python_wheel(
        name = "pure_wheel",
        srcs = ["testdata/distpkg/__init__.py"],
        distribution = "Dist.Pkg",
        license_files = ["testdata/LICENSE"],
        strip_path_prefixes = [pkg + "/testdata"],
        version = "2.0",
        tags = fixture,
    )
    python_sdist(name = "pure_sdist", wheel = ":pure_wheel", tags = fixture)
    python_wheel(
        name = "platform_wheel",
        srcs = ["testdata/distpkg/__init__.py"],
        abi_tag = "cp311",
        distribution = "distpkg",
        platform_tag = "manylinux_2_17_x86_64",
        python_tag = "cp311",
        version = "2.0",
        tags = fixture,
    )
    python_sdist(name = "platform_sdist", wheel = ":platform_wheel", tags = fixture)
    python_wheel(
        name = "pep517_wheel",
        build_mode = "pep517",
        distribution = "distpkg",
        project_files = ["testdata/distpkg/__init__.py"],
        version = "2.0",
        tags = fixture,
    )
    python_sdist(name = "pep517_sdist", wheel = ":pep517_wheel", tags = fixture)
    wheel_dist(name = "pure_wheel.dist", srcs = [":pure_sdist", ":pure_wheel"])
    py_library(name = "fake_twine", srcs = ["testdata/distpkg/__init__.py"], tags = fixture)
    wheel_publish(name = "pure_wheel.publish", srcs = [":pure_wheel"], twine = ":fake_twine")

    sdist_filename_test(name = "sdist_filename_test")
    sdist_action_test(
        name = "sdist_action_test",
        target_under_test = ":pure_sdist",
        expected_name = "dist_pkg-2.0.tar.gz",
        expected_inputs = [
            pkg + "/testdata/distpkg/__init__.py",
            pkg + "/pure_wheel.wheel_spec.json",
            pkg + "/pure_wheel.dist-info",
            "tools/ml_wheels/sdist/backend.py",
        ],
    )
    analysis_failure_test(
        name = "platform_sdist_test",
        target_under_test = ":platform_sdist",
        expected_messages = [
            "platform_sdist: wheel",
            "has platform tag \"manylinux_2_17_x86_64\"",
            "pure wheels only",
        ],
    )
    analysis_failure_test(
        name = "pep517_sdist_test",
        target_under_test = ":pep517_sdist",
        expected_messages = ["build_mode = \"pep517\"", "needs a build_mode = \"direct\" python_wheel"],
    )
    runfiles_test(
        name = "dist_runfiles_test",
        target_under_test = ":pure_wheel.dist",
        expected_runfiles = ["dist_pkg-2.0-py3-none-any.whl", "dist_pkg-2.0.tar.gz", "wheel_dist.py"],
    )
    runfiles_test(
        name = "publish_runfiles_test",
        target_under_test = ":pure_wheel.publish",
        expected_runfiles = ["dist_pkg-2.0-py3-none-any.whl", "wheel_dist.py", "__init__.py"],
    )
    native.test_suite(
        name = name,
        tests = [
            ":dist_runfiles_test",
            ":pep517_sdist_test",
            ":platform_sdist_test",
            ":publish_runfiles_test",
            ":sdist_action_test",
            ":sdist_filename_test",
        ],
    )
