"""Analysis tests of wheel_test_deps_coverage_test (python_wheel/private/coverage.bzl).

The manifest the rule writes is read back from its FileWrite action and
compared with file lists written out by hand; bad attributes fail analysis
with messages naming the target and the attribute.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "python_wheel", "wheel_test_deps_coverage_test")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:compat.bzl", "py_library")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:coverage.bzl", "label_text")
load(":failure_test.bzl", "analysis_failure_test")

_PKG = "tests/starlark/coverage"
_DATA = _PKG + "/testdata/covpkg/"

def _manifest(env):
    """The JSON manifest the target under test writes, decoded."""
    target = analysistest.target_under_test(env)
    name = target.label.name + ".coverage.json"
    for action in analysistest.target_actions(env):
        if [f for f in action.outputs.to_list() if f.basename == name]:
            return json.decode(action.content)
    fail("no action writes " + name)

def _manifest_test_impl(ctx):
    env = analysistest.begin(ctx)
    manifest = _manifest(env)
    target = analysistest.target_under_test(env)
    asserts.equals(env, label_text(target.label), manifest["label"])
    asserts.equals(env, ctx.attr.packages, manifest["packages"])
    asserts.equals(env, ctx.attr.ignore, manifest["ignore"])
    asserts.equals(env, ctx.attr.explicit_mapping, manifest["explicit_mapping"])
    asserts.equals(env, ctx.attr.sources, [s["short_path"] for s in manifest["sources"]])
    asserts.equals(env, ctx.attr.mapped, [s["mapped"] for s in manifest["sources"]])
    for source in manifest["sources"]:
        asserts.equals(env, source["short_path"], source["path"], "main-repository files keep their path")
        expected = ctx.attr.tests_of.get(source["short_path"], ctx.attr.default_tests)
        asserts.equals(env, expected, ",".join(source["tests"]), source["short_path"])
    if ctx.attr.contents:
        asserts.equals(env, ctx.attr.contents, manifest["contents"])
    else:
        asserts.equals(env, None, manifest["contents"])

    # The test runs with the wheel and the manifest in its runfiles.
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    asserts.true(env, ctx.attr.wheel_short_path in runfiles, "%s not in %r" % (ctx.attr.wheel_short_path, runfiles))
    asserts.true(env, _PKG + "/" + target.label.name + ".coverage.json" in runfiles, "manifest not in runfiles")
    return analysistest.end(env)

_manifest_test = analysistest.make(
    _manifest_test_impl,
    attrs = {
        "contents": attr.string_dict(doc = "Expected contents (short path -> wheel path); empty: None."),
        "default_tests": attr.string(doc = "Comma-separated tests of a source not in tests_of."),
        "explicit_mapping": attr.bool(doc = "Expected explicit_mapping."),
        "ignore": attr.string_list(doc = "Expected ignore."),
        "mapped": attr.string_list(doc = "Expected mapped wheel paths, in source order."),
        "packages": attr.string_list(doc = "Expected packages."),
        "sources": attr.string_list(doc = "Expected short paths of the sources, sorted."),
        "tests_of": attr.string_dict(doc = "Comma-separated tests of particular sources."),
        "wheel_short_path": attr.string(doc = "Short path of the wheel the test must have in its runfiles."),
    },
)

def coverage_test_suite(name):
    """The fixtures (manual, analysed only) and tests of wheel_test_deps_coverage_test.

    Args:
      name: the test_suite's name.
    """
    manual = ["manual"]
    native.filegroup(name = "data_modules", srcs = ["testdata/covpkg/data_mod.py"], tags = manual)
    native.filegroup(name = "not_python", srcs = ["testdata/notes.txt"], tags = manual)
    py_library(
        name = "covpkg",
        srcs = ["testdata/covpkg/__init__.py", "testdata/covpkg/a.py"],
        data = [":data_modules"],
        tags = manual,
    )
    py_library(name = "uses_b", srcs = ["testdata/covpkg/b.py"], deps = [":covpkg"], tags = manual)
    python_wheel(
        name = "wheel",
        srcs = ["testdata/covpkg/__init__.py", "testdata/covpkg/a.py"],
        distribution = "covpkg",
        strip_path_prefixes = [_PKG + "/testdata"],
        tags = manual,
        version = "1.0",
    )
    native.genrule(name = "copied", srcs = [":wheel"], outs = ["copied/covpkg-1.0-py3-none-any.whl"], cmd = "cp $< $@", tags = manual)

    all_sources = [_DATA + f for f in ["__init__.py", "a.py", "b.py", "data_mod.py"]]
    wheel_test_deps_coverage_test(name = "of_target", wheel = ":wheel", tests = [":uses_b"], packages = ["covpkg"], ignore = ["covpkg/testing/**"], tags = manual)
    _manifest_test(
        name = name + "_of_target",
        target_under_test = ":of_target",
        sources = all_sources,
        mapped = all_sources,
        packages = ["covpkg"],
        ignore = ["covpkg/testing/**"],
        default_tests = "//%s:uses_b" % _PKG,
        contents = {_DATA + "__init__.py": "covpkg/__init__.py", _DATA + "a.py": "covpkg/a.py"},
        wheel_short_path = _PKG + "/covpkg-1.0-py3-none-any.whl",
    )

    # A .whl file: no contents; the test's own strip_path_prefixes place the
    # files. A file two tests pull in names both.
    wheel_test_deps_coverage_test(name = "of_file", wheel = ":copied", tests = [":uses_b", ":covpkg"], strip_path_prefixes = [_PKG + "/testdata"], tags = manual)
    _manifest_test(
        name = name + "_of_file",
        target_under_test = ":of_file",
        sources = all_sources,
        mapped = ["covpkg/__init__.py", "covpkg/a.py", "covpkg/b.py", "covpkg/data_mod.py"],
        explicit_mapping = True,
        default_tests = "//{0}:covpkg,//{0}:uses_b".format(_PKG),
        tests_of = {_DATA + "b.py": "//%s:uses_b" % _PKG},
        wheel_short_path = _PKG + "/copied/covpkg-1.0-py3-none-any.whl",
    )

    wheel_test_deps_coverage_test(name = "bad_package", wheel = ":wheel", tests = [":covpkg"], packages = ["../covpkg"], tags = manual)
    analysis_failure_test(
        name = name + "_bad_package",
        target_under_test = ":bad_package",
        expected_messages = ["//%s:bad_package: packages entry \"../covpkg\" is not a relative path" % _PKG, "e.g. \"mypkg\""],
    )
    wheel_test_deps_coverage_test(name = "absolute_package", wheel = ":wheel", tests = [":covpkg"], packages = ["/covpkg"], tags = manual)
    analysis_failure_test(
        name = name + "_absolute_package",
        target_under_test = ":absolute_package",
        expected_messages = ["packages entry \"/covpkg\" is not a relative path"],
    )
    wheel_test_deps_coverage_test(name = "empty_ignore", wheel = ":wheel", tests = [":covpkg"], ignore = [" "], tags = manual)
    analysis_failure_test(
        name = name + "_empty_ignore",
        target_under_test = ":empty_ignore",
        expected_messages = ["//%s:empty_ignore: ignore has an empty entry" % _PKG],
    )
    wheel_test_deps_coverage_test(name = "no_python", wheel = ":wheel", tests = [":not_python"], tags = manual)
    analysis_failure_test(
        name = name + "_no_python",
        target_under_test = ":no_python",
        expected_messages = ["//%s:no_python: tests: //%s:not_python has no Python source files" % (_PKG, _PKG), "list the py_test"],
    )
    label_text_test(name = name + "_label_text")
    native.test_suite(name = name, tests = [
        name + "_of_target",
        name + "_of_file",
        name + "_bad_package",
        name + "_absolute_package",
        name + "_empty_ignore",
        name + "_no_python",
        name + "_label_text",
    ])

def _label_text_test_impl(ctx):
    env = unittest.begin(ctx)
    for text, expected in [
        ("@@//pkg:name", "//pkg:name"),
        ("@//pkg:name", "//pkg:name"),
        ("//pkg:name", "//pkg:name"),
        ("@repo//pkg:name", "@repo//pkg:name"),
        ("@@repo~1.0//pkg:name", "@@repo~1.0//pkg:name"),
    ]:
        asserts.equals(env, expected, label_text(text), text)
    return unittest.end(env)

label_text_test = unittest.make(_label_text_test_impl)
