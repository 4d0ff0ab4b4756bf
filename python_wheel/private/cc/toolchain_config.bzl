"""cc_toolchain_config for a clang-like compiler driver: zig, or clang + a sysroot."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

_C_COMPILE = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
]

_CXX_COMPILE = [
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.linkstamp_compile,
]

_LINK = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

# No timestamps in outputs, whatever the sources use (byte-identical builds).
_REPRODUCIBLE = [
    "-Wno-builtin-macro-redefined",
    "-D__DATE__=\"redacted\"",
    "-D__TIMESTAMP__=\"redacted\"",
    "-D__TIME__=\"redacted\"",
]

def _flags(actions, flags):
    return flag_set(actions = actions, flag_groups = [flag_group(flags = flags)]) if flags else None

def _feature(name, enabled, flag_sets, implies = []):
    return feature(
        name = name,
        enabled = enabled,
        flag_sets = [f for f in flag_sets if f],
        implies = implies,
    )

def _impl(ctx):
    # The sysroot is the toolchain's builtin_sysroot: Bazel's legacy `sysroot`
    # feature passes --sysroot= to every compile and link, and CcToolchainInfo
    # reports it (repaired_wheel grafts libraries from it).
    target = ctx.attr.target_flags
    features = [
        _feature("default_compile_flags", True, [
            _flags(_C_COMPILE + _CXX_COMPILE, target + _REPRODUCIBLE + ctx.attr.compile_flags),
            _flags(_CXX_COMPILE, ctx.attr.cxx_flags),
        ]),
        _feature("default_link_flags", True, [
            _flags(_LINK, target + ctx.attr.link_flags),
        ]),
        feature(name = "supports_pic", enabled = True),
        feature(name = "supports_dynamic_linker", enabled = True),
        _feature("opt", False, [_flags(_C_COMPILE + _CXX_COMPILE, ["-O2", "-DNDEBUG"])]),
        _feature("dbg", False, [_flags(_C_COMPILE + _CXX_COMPILE, ["-g"])]),
        feature(name = "fastbuild"),
    ]
    if ctx.file.version_script:
        # Opt-in per target (`features = ["pyinit_exports_only"]`): hidden
        # symbols by default, and only PyInit_* exported from the shared library.
        features.append(_feature("pyinit_exports_only", False, [
            _flags(_C_COMPILE + _CXX_COMPILE, ["-fvisibility=hidden"]),
            _flags(_LINK, ["-Wl,--version-script=" + ctx.file.version_script.path]),
        ]))

    # buildifier: disable=native-cc-common
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = ctx.attr.builtin_include_directories,
        builtin_sysroot = ctx.attr.sysroot or None,
        toolchain_identifier = ctx.attr.toolchain_identifier,
        host_system_name = "local",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = ctx.attr.target_libc,
        compiler = ctx.attr.compiler,
        abi_version = ctx.attr.compiler,
        abi_libc_version = ctx.attr.target_libc,
        tool_paths = [tool_path(name = name, path = path) for name, path in sorted(ctx.attr.tool_paths.items())],
    )

clang_like_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        "builtin_include_directories": attr.string_list(
            doc = "Directories the driver searches by itself, absolute or relative to the execroot (zig's `external/<repo>/lib`, a sysroot's usr/include): Bazel's header check accepts the headers a dependency file names there.",
        ),
        "compile_flags": attr.string_list(doc = "Flags for every C and C++ compile, after the target flags."),
        "compiler": attr.string(default = "clang", doc = "The compiler name Bazel reports (`@bazel_tools//tools/cpp:compiler` flag value)."),
        "cxx_flags": attr.string_list(doc = "Flags for C++ compiles only, e.g. `-std=c++17`, or `-nostdinc++ -isystem <sysroot>/usr/include/c++/10` for a libstdc++ sysroot."),
        "link_flags": attr.string_list(doc = "Flags for every link, after the target flags."),
        "sysroot": attr.string(doc = "Path of the toolchain's `builtin_sysroot`, absolute or relative to the execroot (`external/<repo>/sysroot`), which Bazel passes as `--sysroot=` to compiles and links (the clang + sysroot variant); empty for none (zig brings its own libc)."),
        "target_cpu": attr.string(mandatory = True, doc = "The CPU Bazel reports, e.g. `x86_64`, `aarch64`."),
        "target_flags": attr.string_list(doc = "Flags choosing the target, for compiles and links: `[\"-target\", \"x86_64-linux-gnu.2.17\"]` (zig) or `[\"--target=aarch64-linux-gnu\"]` (clang)."),
        "target_libc": attr.string(default = "glibc", doc = "The libc Bazel reports, e.g. `glibc_2.17`."),
        "target_system_name": attr.string(mandatory = True, doc = "The target triple, e.g. `x86_64-linux-gnu`."),
        "tool_paths": attr.string_dict(
            mandatory = True,
            doc = "Bazel tool name (gcc, ar, ld, cpp, nm, objdump, strip, gcov) -> path relative to this target's package (never `./x`: Bazel 4.2.3 rejects it) or absolute.",
        ),
        "toolchain_identifier": attr.string(mandatory = True, doc = "A unique name of this configuration."),
        "version_script": attr.label(
            allow_single_file = True,
            doc = "A linker version script `{global: PyInit_*; local: *;};`; when set, the `pyinit_exports_only` feature exists. List it in the cc_toolchain's linker_files.",
        ),
    },
    provides = [CcToolchainConfigInfo],
    doc = "C/C++ toolchain configuration for a clang-like driver, with Bazel's legacy features (shared libraries, PIC, user flags). Used by the zig toolchains; a clang + sysroot toolchain sets `sysroot` and its own `target_flags`.",
)
