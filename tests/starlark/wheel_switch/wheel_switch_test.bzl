"""Tests of python_wheel/private/wheel_dependency.bzl under each flag value."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//python_wheel:defs.bzl", "wheel_or_sources")

_FLAG = str(Label("//python_wheel:wheel_dependency"))

def _picked_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    files = [f.basename for f in target[DefaultInfo].files.to_list()]
    asserts.equals(env, ctx.attr.expected, files)
    return analysistest.end(env)

def _picked_test(value):
    return analysistest.make(
        _picked_impl,
        attrs = {"expected": attr.string_list(doc = "The files the filegroup must hold.")},
        config_settings = {_FLAG: value},
    )

_sources_test = _picked_test("false")
_wheel_test = _picked_test("true")
_released_test = _picked_test("released")

def _default_impl(ctx):
    env = analysistest.begin(ctx)
    files = [f.basename for f in analysistest.target_under_test(env)[DefaultInfo].files.to_list()]
    asserts.equals(env, ["sources.txt"], files, "the flag's default is the sources")
    return analysistest.end(env)

_default_test = analysistest.make(_default_impl)

def wheel_switch_test_suite(name):
    """The wheel_or_sources tests.

    Args:
      name: the test_suite's name.
    """
    native.filegroup(
        name = "three_way",
        srcs = wheel_or_sources(
            released = ["released.txt"],
            sources = ["sources.txt"],
            wheel = "wheel.txt",
        ),
        tags = ["manual"],
    )
    native.filegroup(
        name = "two_way",
        srcs = wheel_or_sources(
            sources = ["sources.txt"],
            wheel = ["wheel.txt"],
        ),
        tags = ["manual"],
    )
    _default_test(name = name + "_default", target_under_test = ":three_way")
    _sources_test(name = name + "_sources", expected = ["sources.txt"], target_under_test = ":three_way")
    _wheel_test(name = name + "_wheel", expected = ["wheel.txt"], target_under_test = ":three_way")
    _released_test(name = name + "_released", expected = ["released.txt"], target_under_test = ":three_way")

    # Without `released`, true and false work as before. (=released fails
    # while Bazel resolves the select(), before analysis tests can see it:
    # tests/integration/test_wheel_switch.py checks that error.)
    _sources_test(name = name + "_two_way_sources", expected = ["sources.txt"], target_under_test = ":two_way")
    _wheel_test(name = name + "_two_way_wheel", expected = ["wheel.txt"], target_under_test = ":two_way")
    native.test_suite(name = name, tests = [
        name + "_default",
        name + "_sources",
        name + "_wheel",
        name + "_released",
        name + "_two_way_sources",
        name + "_two_way_wheel",
    ])
