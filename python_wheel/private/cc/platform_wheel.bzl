"""platform_wheel: a python_wheel built for another target platform."""

load("//python_wheel/private:providers.bzl", "PyWheelInfo")

def _platform_transition_impl(_settings, attr):
    return {"//command_line_option:platforms": str(attr.platform)}

_platform_transition = transition(
    implementation = _platform_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _platform_wheel_impl(ctx):
    wheel = ctx.attr.wheel[0]
    providers = [DefaultInfo(files = wheel[DefaultInfo].files)]
    if PyWheelInfo in wheel:
        providers.append(wheel[PyWheelInfo])
    return providers

platform_wheel = rule(
    implementation = _platform_wheel_impl,
    attrs = {
        "platform": attr.label(
            mandatory = True,
            doc = "The target platform, e.g. `@rules_ml_wheels//python_wheel/platforms:linux_aarch64_glibc_2_17`. Its C/C++ toolchain (zig for a libc-aware platform) and wheel_platform_tag() follow from it.",
        ),
        "wheel": attr.label(
            mandatory = True,
            cfg = _platform_transition,
            doc = "A python_wheel (or a target with one .whl) to build for `platform`.",
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
            doc = "Allows the transition (Bazel < 6).",
        ),
    },
    doc = "Builds `wheel` for `platform` in its own output directory (a configuration per platform). Bazel < 7 selects C/C++ toolchains by platform only with `build --incompatible_enable_cc_toolchain_resolution` (a transition may not set it), so one command builds wheels for several platforms: `bazel build //:wheel_aarch64 //:wheel_x86_64`. Forwards PyWheelInfo, so verify_manylinux_compliance_test and py_import take it as a wheel.",
)
