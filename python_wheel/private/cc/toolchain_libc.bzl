"""The libc the C/C++ toolchain of the target configuration reports, for wheel tags.

`wheel_platform_tag()` on a Linux platform without a glibc constraint (the
default, host platform) leaves the glibc to the toolchain that links the
extensions: a hermetic toolchain chosen with
`--repo_env=ML_WHEELS_CC_TOOLCHAIN=...` reports `glibc_2.17` and the like,
Bazel's autodetected one `local` (no claim: `linux_<cpu>`).
"""

_CC_TOOLCHAIN_TYPE = "@bazel_tools//tools/cpp:toolchain_type"

ToolchainLibcInfo = provider(
    doc = "The libc and sysroot of the target configuration's C/C++ toolchain.",
    fields = {
        "libc": "str: as the toolchain reports it (`glibc_2.17`, `local`, ...); empty without one.",
        "sysroot": "str or None: the toolchain's sysroot path (repaired_wheel grafts from it); None without one.",
        "all_files": "depset[File]: the toolchain's files (a sysroot given by a relative path is among them).",
    },
)

def _resolved_libc_impl(ctx):
    toolchain = ctx.toolchains[_CC_TOOLCHAIN_TYPE]
    if not toolchain:
        return [ToolchainLibcInfo(libc = "", sysroot = None, all_files = depset())]

    # Bazel 4 gives the CcToolchainInfo itself, later ones a ToolchainInfo with `cc`.
    cc = getattr(toolchain, "cc", toolchain)
    return [ToolchainLibcInfo(
        libc = getattr(cc, "libc", ""),
        sysroot = getattr(cc, "sysroot", None),
        all_files = getattr(cc, "all_files", depset()),
    )]

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
    cc = ctx.attr._cc_toolchain[cc_common.CcToolchainInfo]
    return [ToolchainLibcInfo(libc = cc.libc, sysroot = cc.sysroot, all_files = cc.all_files)]

crosstool_toolchain_libc = rule(
    implementation = _crosstool_libc_impl,
    attrs = {
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    doc = "Provides `ToolchainLibcInfo` of the `--crosstool_top` C/C++ toolchain (Bazel < 7 without toolchain resolution).",
)

def _no_libc_impl(_ctx):
    return [ToolchainLibcInfo(libc = "", sysroot = None, all_files = depset())]

no_libc = rule(
    implementation = _no_libc_impl,
    doc = "Provides an empty `ToolchainLibcInfo`, for configurations that need no C/C++ toolchain.",
)
