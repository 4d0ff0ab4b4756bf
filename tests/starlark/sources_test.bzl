"""Tests of python_wheel/private/sources.bzl.

The analysis tests compare the files a fixture target gathers with a
hand-written list of `short_path`s, in tests/starlark/sources/BUILD.bazel.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "WheelSourcesInfo")

# buildifier: disable=bzl-visibility
load(
    "//python_wheel/private:sources.bzl",
    "has_extension",
    "is_data_file_name",
    "is_main_repository_root_file",
    "is_symlink_data_file_name",
)

# --- pure functions ---------------------------------------------------------

def _data_file_names_test_impl(ctx):
    env = unittest.begin(ctx)
    for name in [
        "a.so",
        "b.so.12",
        "c.so.12.1",
        "libfoo.so.12.1.3",
        "libz.so.1.2.13",
        "libfoo.so.0",
        "e.pd",
        "f.pyi",
        "x.pyd",
        "x.dll",
        "x.dylib",
        "libfoo.1.dylib",
        "x.lib",
        "_ext.cpython-311-x86_64-linux-gnu.so",
        "_ext.cp311-win_amd64.pyd",
        "a.b.so.1",
        ".hidden.so",
    ]:
        asserts.true(env, is_data_file_name(name), "is_data_file_name(%r) should be True" % name)
    for name in [
        "d.pdf",
        "g.sorted",
        "h.so.bak",
        "x.pyi.txt",
        "libfoo.so12",
        "libfoo.so.12a",
        "libfoo.so.12.bak",
        "libfoo.so.",
        "libfoo.so.1..2",
        "x.pd.gz",
        "x.soname",
        "x.12",
        "x.1.2",
        "so.12",
        "so",
        ".so",
        "..so",
        "x.a",
        "x.py",
        "x.py.so.txt",
        "mylib",
        "",
    ]:
        asserts.false(env, is_data_file_name(name), "is_data_file_name(%r) should be False" % name)
    return unittest.end(env)

data_file_names_test = unittest.make(_data_file_names_test_impl)

def _symlink_data_file_names_test_impl(ctx):
    env = unittest.begin(ctx)
    for name in ["x.pyi", "x.lib", "x.pd", "__init__.pyi"]:
        asserts.true(env, is_symlink_data_file_name(name), "is_symlink_data_file_name(%r) should be True" % name)
    for name in ["x.so", "x.so.1", "x.dll", "x.pyd", "x.dylib", "x.pdf", "x.pyi.txt", "x.library", "x.py"]:
        asserts.false(env, is_symlink_data_file_name(name), "is_symlink_data_file_name(%r) should be False" % name)

    # has_extension only accepts versioned names when asked to.
    asserts.false(env, has_extension("libfoo.so.1", ["so"]))
    asserts.true(env, has_extension("libfoo.so.1", ["so"], versioned_so = True))
    asserts.true(env, has_extension("x.txt", ["txt"]))
    return unittest.end(env)

symlink_data_file_names_test = unittest.make(_symlink_data_file_names_test_impl)

def _root_package_test_impl(ctx):
    env = unittest.begin(ctx)

    # File.short_path of the main repository's root package has no `/`;
    # other repositories' files always have `../<repo>/`.
    for short_path, expected in [
        ("libfoo.so", True),
        ("stubs.pyi", True),
        ("pkg/libfoo.so", False),
        ("a/b/libfoo.so.1", False),
        ("../other_repo/libfoo.so", False),
    ]:
        asserts.equals(env, expected, is_main_repository_root_file(short_path), "is_main_repository_root_file(%r)" % short_path)
    return unittest.end(env)

root_package_test = unittest.make(_root_package_test_impl)

def sources_unit_test_suite(name):
    """Declares the sources.bzl unit tests and a test_suite `name` of them.

    Args:
      name: name of the test_suite.
    """
    tests = {
        "data_file_names_test": data_file_names_test,
        "root_package_test": root_package_test,
        "symlink_data_file_names_test": symlink_data_file_names_test,
    }
    for test_name, test_rule in tests.items():
        test_rule(name = test_name)
    native.test_suite(name = name, tests = [":" + t for t in tests])

# --- analysis tests ---------------------------------------------------------

def _gathered_files_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    files = target[DefaultInfo].files.to_list()
    actual = sorted([f.short_path for f in files])

    # Every file once, exactly the expected ones.
    asserts.equals(env, sorted(ctx.attr.expected), actual)
    asserts.equals(env, len(ctx.attr.expected), len(files), "number of files (duplicates?)")
    asserts.equals(env, files, target[WheelSourcesInfo].files.to_list(), "WheelSourcesInfo.files == DefaultInfo.files")

    # Generated files come from the configuration of the target under test
    # (the target configuration), not from an exec or host one.
    bin_dir = analysistest.target_bin_dir_path(env)
    for f in files:
        if not f.is_source:
            asserts.equals(env, bin_dir, f.root.path, "output root of " + f.short_path)
    return analysistest.end(env)

_GATHERED_ATTRS = {"expected": attr.string_list(doc = "short_paths of the files the target must gather, each once.")}

gathered_files_test = analysistest.make(_gathered_files_test_impl, attrs = _GATHERED_ATTRS)

# The same, with the target platform set to linux aarch64 / x86_64, as
# `--platforms=...` does when cross-compiling.
gathered_files_aarch64_test = analysistest.make(
    _gathered_files_test_impl,
    attrs = _GATHERED_ATTRS,
    config_settings = {"//command_line_option:platforms": str(Label("//python_wheel/platforms:linux_aarch64_platform"))},
)

gathered_files_x86_64_test = analysistest.make(
    _gathered_files_test_impl,
    attrs = _GATHERED_ATTRS,
    config_settings = {"//command_line_option:platforms": str(Label("//python_wheel/platforms:linux_x86_64_platform"))},
)

def _analysis_failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for message in ctx.attr.expected_messages:
        asserts.expect_failure(env, message)
    return analysistest.end(env)

analysis_failure_test = analysistest.make(
    _analysis_failure_test_impl,
    expect_failure = True,
    attrs = {"expected_messages": attr.string_list(doc = "Texts the analysis error must contain, each.")},
)
