"""Tests of python_wheel/private/editable.bzl."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "python_editable_wheel", "python_wheel")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:editable.bzl", "editable_module_name")
load("//tests/starlark:failure_test.bzl", "analysis_failure_test")

def _functions_test_impl(ctx):
    env = unittest.begin(ctx)
    for distribution, version, expected in [
        ("greet_example", "1.0.0.dev0+selfbuilt", "__editable___greet_example_1_0_0_dev0_selfbuilt_finder"),
        ("pkg", "1!2.0rc1", "__editable___pkg_1_2_0rc1_finder"),
        ("jax", "0.4.31", "__editable___jax_0_4_31_finder"),
    ]:
        asserts.equals(env, expected, editable_module_name(distribution, version), (distribution, version))
    return unittest.end(env)

_functions_test = unittest.make(_functions_test_impl)

def _manifest_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    (manifest,) = target[DefaultInfo].files.to_list()
    asserts.equals(env, "ed.manifest.json", manifest.basename)
    (write,) = [a for a in analysistest.target_actions(env) if a.mnemonic == "FileWrite"]
    data = json.decode(write.content)
    asserts.equals(env, "ed_pkg-1.0-py3-none-any.whl", data["wheel_name"])
    asserts.equals(env, "__editable___ed_pkg_1_0_finder", data["finder"])
    asserts.equals(env, "ed_pkg-1.0.dist-info", data["dist_info_name"])
    asserts.equals(env, "tests/starlark/editable/editable_wheel.dist-info", data["dist_info"])
    files = {f["path"]: f for f in data["files"]}
    asserts.equals(env, ["tests/starlark/editable/generated.py", "tests/starlark/editable/pkg/__init__.py"], sorted(files))
    asserts.equals(env, True, files["tests/starlark/editable/pkg/__init__.py"]["workspace"], "a source file of the main repository")
    asserts.equals(env, False, files["tests/starlark/editable/generated.py"]["workspace"], "a generated file lives in bazel-bin")
    asserts.equals(env, "tests/starlark/editable/generated.py", files["tests/starlark/editable/generated.py"]["runfile"])
    for f in data["files"]:
        asserts.false(env, f["runfile"].startswith("/") or "bazel-out" in f["runfile"], "no host or output path: " + f["runfile"])

    # Everything the binary resolves is in the runfiles.
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    for path in ["tests/starlark/editable/ed.manifest.json", "tests/starlark/editable/pkg/__init__.py", "tests/starlark/editable/generated.py", "tests/starlark/editable/editable_wheel.dist-info"]:
        asserts.true(env, path in runfiles, "%s not in %s" % (path, runfiles))
    return analysistest.end(env)

_manifest_test = analysistest.make(_manifest_test_impl)

def _binary_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    asserts.true(env, target[DefaultInfo].files_to_run.executable != None, "a bazel run target")
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    asserts.true(env, "tests/starlark/editable/ed.manifest.json" in runfiles, str(runfiles))
    asserts.true(env, "tests/starlark/editable/pkg/__init__.py" in runfiles, str(runfiles))
    return analysistest.end(env)

_binary_test = analysistest.make(_binary_test_impl)

def editable_test_suite(name):
    """The python_editable_wheel tests.

    Args:
      name: the test_suite's name.
    """
    _functions_test(name = name + "_functions")

    native.genrule(
        name = "generated",
        outs = ["generated.py"],
        cmd = "echo 'X = 1' >$@",
        tags = ["manual"],
    )
    python_wheel(
        name = "editable_wheel",
        srcs = [
            "pkg/__init__.py",
            ":generated",
        ],
        distribution = "ed-pkg",
        tags = ["manual"],
        version = "1.0",
    )
    python_editable_wheel(
        name = "ed",
        tags = ["manual"],
        wheel = ":editable_wheel",
    )
    _manifest_test(name = name + "_manifest", target_under_test = ":ed.manifest")
    _binary_test(name = name + "_binary", target_under_test = ":ed")

    python_wheel(
        name = "pep517_wheel",
        srcs = ["pkg/__init__.py"],
        build_mode = "pep517",
        distribution = "ed-pkg",
        project_files = ["pkg/setup.py"],
        tags = ["manual"],
        version = "1.0",
    )
    python_editable_wheel(
        name = "bad_pep517",
        tags = ["manual"],
        wheel = ":pep517_wheel",
    )
    analysis_failure_test(
        name = name + "_pep517",
        expected_messages = [
            "//tests/starlark/editable:bad_pep517.manifest: wheel //tests/starlark/editable:pep517_wheel has no file map",
            "Give the python_wheel in build_mode = \"direct\" that the wheel is built from.",
        ],
        target_under_test = ":bad_pep517.manifest",
    )
    native.test_suite(name = name, tests = [
        name + "_functions",
        name + "_manifest",
        name + "_binary",
        name + "_pep517",
    ])
