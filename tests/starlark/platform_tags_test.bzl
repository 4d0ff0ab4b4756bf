"""Tests of python_wheel/private/platform_tags.bzl."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "wheel_platform_tag")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:naming.bzl", "tag_error")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:platform_tags.bzl", "TOOLCHAIN_GLIBC_TAG", "platform_tag_for", "resolve_toolchain_glibc_tag")

# buildifier: disable=bzl-visibility
load("//python_wheel/private/cc:toolchain_libc.bzl", "ToolchainLibcInfo")
load(":failure_test.bzl", "analysis_failure_test")

_PLATFORMS = "//python_wheel/platforms:"

def _platform_tag_for_test_impl(ctx):
    env = unittest.begin(ctx)
    for args, kwargs, expected in [
        (("linux", "x86_64"), {}, "linux_x86_64"),
        (("linux", "aarch64"), {}, "linux_aarch64"),
        (("linux", "x86_64"), {"manylinux": "2_17"}, "manylinux_2_17_x86_64"),
        (("linux", "x86_64"), {"manylinux": "2_27"}, "manylinux_2_27_x86_64"),
        (("linux", "aarch64"), {"manylinux": "2_27"}, "manylinux_2_27_aarch64"),
        (("linux", "ppc64le"), {"manylinux": "2_17"}, "manylinux_2_17_ppc64le"),
        (("macos", "aarch64"), {}, "macosx_11_0_arm64"),
        (("macos", "x86_64"), {}, "macosx_11_0_x86_64"),
        (("macos", "x86_64"), {"macos": "10_15"}, "macosx_10_15_x86_64"),
        (("macos", "aarch64"), {"macos": "14_0"}, "macosx_14_0_arm64"),
        # The manylinux/macos arguments only apply to their own OS.
        (("macos", "aarch64"), {"manylinux": "2_17"}, "macosx_11_0_arm64"),
        (("linux", "aarch64"), {"macos": "14_0"}, "linux_aarch64"),
        (("windows", "x86_64"), {}, "win_amd64"),
    ]:
        tag = platform_tag_for(*args, **kwargs)
        what = "platform_tag_for%r, %r" % (args, kwargs)
        asserts.equals(env, expected, tag, what)
        asserts.equals(env, None, tag_error("platform", tag), what)
    return unittest.end(env)

platform_tag_for_test = unittest.make(_platform_tag_for_test_impl)

def _resolve_toolchain_glibc_tag_test_impl(ctx):
    env = unittest.begin(ctx)
    for tag, libc, expected in [
        # What hermetic toolchains report (zig, clang + sysroot).
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "glibc_2.17", "manylinux_2_17_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "aarch64", "glibc_2.31", "manylinux_2_31_aarch64"),
        # Bazel's autodetected toolchain, no toolchain, and libc strings naming no version.
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "local", "linux_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "", "linux_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "glibc", "linux_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "glibc_2.17.1", "linux_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "glibc_2.x", "linux_x86_64"),
        (TOOLCHAIN_GLIBC_TAG + "x86_64", "musl_1.2", "linux_x86_64"),
        # Explicit tags are never changed.
        ("linux_x86_64", "glibc_2.17", "linux_x86_64"),
        ("manylinux_2_28_x86_64", "glibc_2.17", "manylinux_2_28_x86_64"),
    ]:
        asserts.equals(env, expected, resolve_toolchain_glibc_tag(tag, libc), "%r with libc %r" % (tag, libc))
    return unittest.end(env)

resolve_toolchain_glibc_tag_test = unittest.make(_resolve_toolchain_glibc_tag_test_impl)

_TagInfo = provider(doc = "Test-only: a resolved platform tag.", fields = {"tag": "str"})

def _tag_probe_impl(ctx):
    # As python_wheel resolves it.
    tag = resolve_toolchain_glibc_tag(ctx.attr.tag, ctx.attr._default_platform_libc[ToolchainLibcInfo].libc)
    if ctx.attr.os:
        tag = platform_tag_for(ctx.attr.os, ctx.attr.cpu)
    return [_TagInfo(tag = tag)]

_tag_probe = rule(
    implementation = _tag_probe_impl,
    attrs = {
        "cpu": attr.string(doc = "CPU passed to platform_tag_for."),
        "os": attr.string(doc = "When set, the tag is platform_tag_for(os, cpu) instead of `tag`."),
        "tag": attr.string(doc = "A tag, typically wheel_platform_tag()."),
        "_default_platform_libc": attr.label(default = "//python_wheel/private/cc:default_platform_libc"),
    },
    doc = "Test fixture: resolves a platform tag in its configuration.",
)

def _tag_is_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.equals(env, ctx.attr.expected, analysistest.target_under_test(env)[_TagInfo].tag)
    return analysistest.end(env)

def _tag_is_test(platform):
    return analysistest.make(
        _tag_is_test_impl,
        attrs = {"expected": attr.string(doc = "The expected tag.")},
        config_settings = {"//command_line_option:platforms": str(Label(_PLATFORMS + platform))},
    )

tag_linux_x86_64_test = _tag_is_test("linux_x86_64_platform")
tag_linux_aarch64_test = _tag_is_test("linux_aarch64_platform")
tag_linux_ppc64le_test = _tag_is_test("linux_ppc64le_platform")
tag_macos_arm64_test = _tag_is_test("macos_arm64_platform")
tag_windows_x86_64_test = _tag_is_test("windows_x86_64_platform")
tag_linux_aarch64_glibc_2_17_test = _tag_is_test("linux_aarch64_glibc_2_17")
tag_linux_x86_64_glibc_2_28_test = _tag_is_test("linux_x86_64_glibc_2_28")

def platform_tags_test_suite(name):
    """Declares the platform_tags.bzl tests, their fixtures, and a test_suite `name`.

    Args:
      name: name of the test_suite.
    """
    platform_tag_for_test(name = "platform_tag_for_test")
    resolve_toolchain_glibc_tag_test(name = "resolve_toolchain_glibc_tag_test")

    # wheel_platform_tag() resolves for the target platform, whatever the host.
    _tag_probe(
        name = "manylinux_2_17_probe",
        tag = wheel_platform_tag(manylinux = "2_17"),
        tags = ["manual"],
    )
    _tag_probe(
        name = "plain_linux_probe",
        tag = wheel_platform_tag(),
        tags = ["manual"],
    )
    _tag_probe(
        name = "unknown_os_probe",
        os = "freebsd",
        cpu = "x86_64",
        tags = ["manual"],
    )
    tests = ["platform_tag_for_test", "resolve_toolchain_glibc_tag_test"]
    for test_name, test_rule, probe, expected in [
        ("wheel_platform_tag_linux_x86_64_test", tag_linux_x86_64_test, "manylinux_2_17_probe", "manylinux_2_17_x86_64"),
        ("wheel_platform_tag_linux_aarch64_test", tag_linux_aarch64_test, "manylinux_2_17_probe", "manylinux_2_17_aarch64"),
        ("wheel_platform_tag_linux_ppc64le_test", tag_linux_ppc64le_test, "manylinux_2_17_probe", "manylinux_2_17_ppc64le"),
        ("wheel_platform_tag_macos_arm64_test", tag_macos_arm64_test, "manylinux_2_17_probe", "macosx_11_0_arm64"),
        ("wheel_platform_tag_windows_test", tag_windows_x86_64_test, "manylinux_2_17_probe", "win_amd64"),
        ("wheel_platform_tag_plain_linux_test", tag_linux_aarch64_test, "plain_linux_probe", "linux_aarch64"),
        # A libc-aware platform's glibc constraint gives the manylinux tag.
        ("wheel_platform_tag_glibc_aarch64_test", tag_linux_aarch64_glibc_2_17_test, "plain_linux_probe", "manylinux_2_17_aarch64"),
        ("wheel_platform_tag_glibc_x86_64_test", tag_linux_x86_64_glibc_2_28_test, "plain_linux_probe", "manylinux_2_28_x86_64"),
        # An explicit manylinux wins over the platform's glibc.
        ("wheel_platform_tag_explicit_over_glibc_test", tag_linux_x86_64_glibc_2_28_test, "manylinux_2_17_probe", "manylinux_2_17_x86_64"),
    ]:
        test_rule(name = test_name, target_under_test = ":" + probe, expected = expected)
        tests.append(test_name)
    analysis_failure_test(
        name = "platform_tag_for_unknown_os_test",
        target_under_test = ":unknown_os_probe",
        expected_messages = ["no wheel platform tag for os \"freebsd\""],
    )
    tests.append("platform_tag_for_unknown_os_test")
    native.test_suite(name = name, tests = [":" + t for t in tests])
