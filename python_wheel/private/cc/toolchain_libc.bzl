"""The libc the C/C++ toolchain of the target configuration reports, for wheel tags.

`wheel_platform_tag()` on a Linux platform without a glibc constraint (the
default, host platform) leaves the glibc to the toolchain that links the
extensions: a hermetic toolchain chosen with
`--repo_env=ML_WHEELS_CC_TOOLCHAIN=...` reports `glibc_2.17` and the like,
Bazel's autodetected one `local` (no claim: `linux_<cpu>`).
"""

_CC_TOOLCHAIN_TYPE = "@bazel_tools//tools/cpp:toolchain_type"

ToolchainLibcInfo = provider(
    doc = "The libc of the target configuration's C/C++ toolchain.",
    fields = {"libc": "str: as the toolchain reports it (`glibc_2.17`, `local`, ...); empty without one."},
)

def _resolved_libc_impl(ctx):
    toolchain = ctx.toolchains[_CC_TOOLCHAIN_TYPE]
    if not toolchain:
        return [ToolchainLibcInfo(libc = "")]

    # Bazel 4 gives the CcToolchainInfo itself, later ones a ToolchainInfo with `cc`.
    cc = getattr(toolchain, "cc", toolchain)
    return [ToolchainLibcInfo(libc = getattr(cc, "libc", ""))]

resolved_toolchain_libc = rule(
    implementation = _resolved_libc_impl,
    # Optional where Bazel can (6+): a pure wheel for a platform without a
    # C/C++ toolchain must still build.
    toolchains = [
        config_common.toolchain_type(_CC_TOOLCHAIN_TYPE, mandatory = False) if hasattr(config_common, "toolchain_type") else _CC_TOOLCHAIN_TYPE,
    ],
    doc = "Provides `ToolchainLibcInfo` of the C/C++ toolchain that toolchain resolution picks for the target platform (`--incompatible_enable_cc_toolchain_resolution`, the default from Bazel 7).",
)

def _crosstool_libc_impl(ctx):
    # buildifier: disable=native-cc-common
    return [ToolchainLibcInfo(libc = ctx.attr._cc_toolchain[cc_common.CcToolchainInfo].libc)]

crosstool_toolchain_libc = rule(
    implementation = _crosstool_libc_impl,
    attrs = {
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    doc = "Provides `ToolchainLibcInfo` of the `--crosstool_top` C/C++ toolchain (Bazel < 7 without toolchain resolution).",
)

def _no_libc_impl(_ctx):
    return [ToolchainLibcInfo(libc = "")]

no_libc = rule(
    implementation = _no_libc_impl,
    doc = "Provides an empty `ToolchainLibcInfo`, for configurations that need no C/C++ toolchain.",
)
