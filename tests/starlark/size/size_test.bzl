"""Analysis tests of python_wheel/private/size.bzl (wheel_size_test, wheel_size_report)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//python_wheel:defs.bzl", "python_wheel", "wheel_size_report", "wheel_size_test")
load("//tests/starlark:failure_test.bzl", "analysis_failure_test")

_PKG = "tests/starlark/size"
_WHL = _PKG + "/testdata/pkg-1.0-py3-none-any.whl"

def _script(env):
    """The generated test script's content."""
    (write,) = [a for a in analysistest.target_actions(env) if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith(".sh")]
    return write.content

def _only(env, mnemonic):
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(actions), mnemonic)
    return actions[0]

def _budget_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    manifest = _only(env, "WheelSizeManifest")
    (output,) = manifest.outputs.to_list()
    asserts.equals(env, _PKG + "/budget.size.json", output.short_path)
    asserts.equals(env, ["manifest", "--output", output.path, _WHL], manifest.argv[1:])
    asserts.equals(env, [_WHL], [f.short_path for f in manifest.inputs.to_list() if f.basename.endswith(".whl")])

    # The manifest is built with the test and is its own output group.
    asserts.equals(env, sorted([_PKG + "/budget.sh", output.short_path]), sorted([f.short_path for f in target[DefaultInfo].files.to_list()]))
    asserts.equals(env, [output], target[OutputGroupInfo].size_manifest.to_list())

    script = _script(env)
    label = str(target.label)
    for expected in [
        "'--label=%s'" % label,
        # 2 (int) and 1.5 (float) reach the tool as decimal strings.
        "'--max-size-mib=2'",
        "'--max-unpacked-mib=1.5'",
        "'--manifest-hint=bazel-bin/%s'" % output.short_path,
        "'--baseline-name=%s/testdata/baseline.json'" % _PKG,
        "--baseline=\"$runfiles\"/'",
        "/testdata/baseline.json' ",
        "/testdata/pkg-1.0-py3-none-any.whl\"",
    ]:
        asserts.true(env, expected in script, "%r not in the script:\n%s" % (expected, script))
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    for path in [_WHL, _PKG + "/testdata/baseline.json"]:
        asserts.true(env, path in runfiles, "%s not in the runfiles" % path)
    return analysistest.end(env)

_budget_test = analysistest.make(_budget_test_impl)

def _no_baseline_test_impl(ctx):
    env = analysistest.begin(ctx)
    script = _script(env)
    asserts.false(env, "--baseline" in script, script)

    # A python_wheel target: the test reads its .whl, at a string budget as given.
    asserts.true(env, "'--max-size-mib=19.5'" in script, script)
    asserts.true(env, "'--max-unpacked-mib=110'" in script, script)
    asserts.true(env, "/size_demo-1.0-py3-none-any.whl\"" in script, script)
    manifest = _only(env, "WheelSizeManifest")
    asserts.equals(env, _PKG + "/size_demo-1.0-py3-none-any.whl", manifest.argv[-1].split("/bin/", 1)[1])
    return analysistest.end(env)

_no_baseline_test = analysistest.make(_no_baseline_test_impl)

def _report_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    report = _only(env, "WheelSizeReport")
    (page,) = target[DefaultInfo].files.to_list()
    asserts.equals(env, _PKG + "/report.html", page.short_path)
    asserts.equals(env, [page], report.outputs.to_list())
    asserts.equals(env, ["report", "--output", page.path, "--title=Sizes of pkg 1.0", _WHL], report.argv[1:])
    return analysistest.end(env)

_report_test = analysistest.make(_report_test_impl)

def _report_untitled_test_impl(ctx):
    env = analysistest.begin(ctx)
    report = _only(env, "WheelSizeReport")
    asserts.equals(env, [], [a for a in report.argv if a.startswith("--title")], "no title: the tool uses the file name")
    asserts.equals(env, _PKG + "/size_demo-1.0-py3-none-any.whl", report.argv[-1].split("/bin/", 1)[1])
    return analysistest.end(env)

_report_untitled_test = analysistest.make(_report_untitled_test_impl)

def size_test_suite(name):
    """The wheel_size_test and wheel_size_report tests.

    Args:
      name: the test_suite's name.
    """
    python_wheel(
        name = "size_demo",
        srcs = ["testdata/mod.py"],
        distribution = "size-demo",
        tags = ["manual"],
        version = "1.0",
    )
    wheel_size_test(
        name = "budget",
        baseline = "testdata/baseline.json",
        max_size_mib = 2,
        max_unpacked_mib = 1.5,
        tags = ["manual"],
        wheel = "testdata/pkg-1.0-py3-none-any.whl",
    )
    _budget_test(name = name + "_budget", target_under_test = ":budget")
    wheel_size_test(
        name = "no_baseline",
        max_size_mib = "19.5",
        max_unpacked_mib = 110,
        tags = ["manual"],
        wheel = ":size_demo",
    )
    _no_baseline_test(name = name + "_no_baseline", target_under_test = ":no_baseline")
    wheel_size_report(
        name = "report",
        tags = ["manual"],
        title = "Sizes of pkg 1.0",
        wheel = "testdata/pkg-1.0-py3-none-any.whl",
    )
    _report_test(name = name + "_report", target_under_test = ":report")
    wheel_size_report(
        name = "report_untitled",
        tags = ["manual"],
        wheel = ":size_demo",
    )
    _report_untitled_test(name = name + "_report_untitled", target_under_test = ":report_untitled")

    tests = [name + "_budget", name + "_no_baseline", name + "_report", name + "_report_untitled"]
    for case, attribute, size, unpacked in [
        ("zero", "max_size_mib", "0", "1"),
        ("zeros", "max_unpacked_mib", "1", "0.000"),
        ("negative", "max_size_mib", -1, "1"),
        ("word", "max_unpacked_mib", "1", "ten"),
        ("two_points", "max_size_mib", "1.2.3", "1"),
        ("empty", "max_size_mib", "", "1"),
        ("unit", "max_unpacked_mib", "1", "5MiB"),
    ]:
        wheel_size_test(
            name = "bad_" + case,
            max_size_mib = size,
            max_unpacked_mib = unpacked,
            tags = ["manual"],
            wheel = "testdata/pkg-1.0-py3-none-any.whl",
        )
        value = size if attribute == "max_size_mib" else unpacked
        analysis_failure_test(
            name = "%s_%s" % (name, case),
            expected_messages = [
                "//%s:bad_%s: %s is \"%s\"; give a positive number of MiB, e.g. 110 or 19.5" % (_PKG, case, attribute, value),
            ],
            target_under_test = ":bad_" + case,
        )
        tests.append("%s_%s" % (name, case))
    native.test_suite(name = name, tests = tests)
