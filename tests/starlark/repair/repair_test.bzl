"""Tests of python_wheel/private/repair/repaired_wheel.bzl."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "PyWheelInfo", "repaired_wheel")

# buildifier: disable=bzl-visibility
load("//python_wheel/private/repair:repaired_wheel.bzl", "repaired_platform_tag", "split_platform_tag", "sysroot_library_dirs")
load("//tests/starlark:failure_test.bzl", "analysis_failure_test")

def _functions_test_impl(ctx):
    env = unittest.begin(ctx)
    for tag, expected in [
        ("manylinux_2_17_x86_64", ("manylinux_2_17", "x86_64")),
        ("manylinux2014_aarch64", ("manylinux2014", "aarch64")),
        ("musllinux_1_2_ppc64le", ("musllinux_1_2", "ppc64le")),
        ("linux_x86_64", ("linux", "x86_64")),
        ("manylinux_2_17", ("manylinux_2_17", "")),
        ("any", ("any", "")),
    ]:
        asserts.equals(env, expected, split_platform_tag(tag), tag)
    for policy, input_tag, expected in [
        # Empty policy: the input's own claim.
        ("", "manylinux_2_17_x86_64", "manylinux_2_17_x86_64"),
        ("", "manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
        # The architecture comes from the input when the policy has none.
        ("manylinux_2_28", "linux_x86_64", "manylinux_2_28_x86_64"),
        ("musllinux_1_2", "linux_aarch64", "musllinux_1_2_aarch64"),
        ("manylinux_2_28_aarch64", "linux_aarch64", "manylinux_2_28_aarch64"),
    ]:
        asserts.equals(env, expected, repaired_platform_tag("//t:r", policy, input_tag), (policy, input_tag))
    asserts.equals(env, [], sysroot_library_dirs(None, "x86_64"))
    asserts.equals(env, [], sysroot_library_dirs("/", "x86_64"), "the host's root is never searched")
    asserts.equals(env, [
        "/s/lib/aarch64-linux-gnu",
        "/s/usr/lib/aarch64-linux-gnu",
        "/s/lib64",
        "/s/usr/lib64",
        "/s/lib",
        "/s/usr/lib",
    ], sysroot_library_dirs("/s/", "aarch64"))
    return unittest.end(env)

_functions_test = unittest.make(_functions_test_impl)

def _name_and_args_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[PyWheelInfo]
    asserts.equals(env, "pkg-1.0-1-cp311-cp311-manylinux_2_28_x86_64.whl", info.wheel.basename)
    asserts.equals(env, "repaired_policy/" + info.wheel.basename, info.wheel.short_path.split("/repair/", 1)[1])
    asserts.equals(env, ("pkg", "1.0", "cp311", "cp311", "manylinux_2_28_x86_64"), (
        info.distribution,
        info.version,
        info.python_tag,
        info.abi_tag,
        info.platform_tag,
    ))
    asserts.equals(env, None, info.contents)
    (action,) = [a for a in analysistest.target_actions(env) if a.mnemonic == "RepairWheel"]
    argv = action.argv
    asserts.true(env, "--target=@//tests/starlark/repair:repaired_policy" in argv or "--target=//tests/starlark/repair:repaired_policy" in argv, str(argv))
    asserts.true(env, "--exclude=libcuda.so.*" in argv, str(argv))
    asserts.equals(env, "manylinux_2_28_x86_64", argv[argv.index("--platform-tag") + 1])
    asserts.equals(env, ".mylibs", argv[argv.index("--lib-sdir") + 1])
    asserts.equals(env, "3", argv[argv.index("--compression-level") + 1])
    libraries = [argv[i + 1] for i, a in enumerate(argv) if a == "--library"]
    asserts.equals(env, ["tests/starlark/repair/testdata/pkg-1.0-py3-none-any.whl"], libraries)
    asserts.equals(env, [], [a for a in argv if a == "--search-dir"], "use_sysroot = False")
    return analysistest.end(env)

_name_and_args_test = analysistest.make(_name_and_args_test_impl)

def repair_test_suite(name):
    """The repaired_wheel tests.

    Args:
      name: the test_suite's name.
    """
    _functions_test(name = name + "_functions")

    repaired_wheel(
        name = "repaired_policy",
        compression_level = 3,
        exclude = ["libcuda.so.*"],
        lib_sdir = ".mylibs",
        # Any file serves: analysis only looks at the path.
        libraries = ["testdata/pkg-1.0-py3-none-any.whl"],
        policy = "manylinux_2_28",
        tags = ["manual"],
        use_sysroot = False,
        wheel = "testdata/pkg-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl",
    )
    _name_and_args_test(name = name + "_name_and_args", target_under_test = ":repaired_policy")

    tests = [name + "_functions", name + "_name_and_args"]
    for case, wheel, policy, message in [
        ("pure", "pkg-1.0-py3-none-any.whl", "", "the wheel is pure (platform tag `any`): there is nothing to repair"),
        ("no_policy", "pkg-1.0-cp311-cp311-linux_x86_64.whl", "", "claims no policy; set `policy` to the one to repair for"),
        ("other_arch", "pkg-1.0-cp311-cp311-linux_x86_64.whl", "manylinux_2_17_aarch64", "policy \"manylinux_2_17_aarch64\" is for aarch64 but the wheel \"linux_x86_64\" is for x86_64; give a policy without an architecture (\"manylinux_2_17\") or one for x86_64"),
        ("not_a_policy", "pkg-1.0-cp311-cp311-linux_x86_64.whl", "linux", "policy \"linux\" is not a manylinux/musllinux policy"),
    ]:
        repaired_wheel(
            name = "bad_" + case,
            policy = policy,
            tags = ["manual"],
            wheel = "testdata/" + wheel,
        )
        analysis_failure_test(
            name = "%s_%s" % (name, case),
            expected_messages = ["//tests/starlark/repair:bad_" + case, message],
            target_under_test = ":bad_" + case,
        )
        tests.append("%s_%s" % (name, case))
    native.test_suite(name = name, tests = tests)
