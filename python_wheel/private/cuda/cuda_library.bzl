"""`cuda_library`: `.cu` sources compiled by nvcc into a `cc_library`-like target.

nvcc compiles each source with the registered C/C++ toolchain's C++ compiler as
its host compiler (`-ccbin`), with that toolchain's compile flags where they
concern the host side (sysroot, include order, macros), for the GPU targets of
the toolkit (`HERMETIC_CUDA_COMPUTE_CAPABILITIES`) or of the `capabilities`
attribute. The objects go into a PIC static library made by the toolchain's
archiver; the target returns `CcInfo`, so `cc_binary(linkshared = True)` and
the Python extension rules can depend on it like on a `cc_library`.

Starlark here must run on Bazel 4.2.3 as well as on Bazel 6-8.
"""

load(":toolkit_info.bzl", "CudaToolkitInfo", "capability_error")

# Bazel's built-ins, global in Bazel 4-8 (autoloaded from rules_cc in 8).
_CcInfo = CcInfo  # buildifier: disable=native-cc-info
_cc_common = cc_common  # buildifier: disable=native-cc-common

_CUDART_VALUES = ["static", "shared", "none"]

_CU_EXTENSIONS = [".cu"]

# Host-compiler flags of the C++ toolchain that nvcc must not get: nvcc sets
# the language standard itself (CCCL needs C++17) and compiles to its own
# output; the toolchain's warnings would fire on nvcc's generated code.
_DROPPED_FLAGS = ["-c", "-o", "-MD", "-MMD", "-MF", "-x"]

_DROPPED_PREFIXES = ["-std=", "-MF", "-MT", "-MQ"]

def _host_flags(flags):
    """The toolchain's c++-compile flags that go to the host compiler, each after -Xcompiler."""
    kept = []
    for flag in flags:
        if flag in _DROPPED_FLAGS or [p for p in _DROPPED_PREFIXES if flag.startswith(p)]:
            continue
        if flag.startswith("-W") and not flag.startswith("-Wno-"):
            continue

        # nvcc splits -Xcompiler values at commas; such flags cannot pass intact.
        if "," in flag:
            continue
        kept.extend(["-Xcompiler", flag])
    return kept

def gencode_flags(capabilities):
    """nvcc `-gencode` options: SASS for each sm_XX, PTX for each compute_XX.

    Args:
      capabilities: validated GPU targets such as ["sm_80", "sm_90", "compute_90"].

    Returns:
      A list of nvcc arguments.
    """
    flags = []
    for capability in capabilities:
        if capability.startswith("sm_"):
            number = capability[len("sm_"):]
            flags.append("-gencode=arch=compute_%s,code=sm_%s" % (number, number))
        else:
            number = capability[len("compute_"):]
            flags.append("-gencode=arch=compute_%s,code=compute_%s" % (number, number))
    return flags

def _capabilities(ctx, toolkit):
    if ctx.attr.capabilities:
        requested = ctx.attr.capabilities
        where = "`capabilities` of cuda_library %s" % ctx.label
    else:
        requested = toolkit.capabilities
        where = "the toolkit %s's capabilities (HERMETIC_CUDA_COMPUTE_CAPABILITIES)" % ctx.attr.toolkit.label
    if not requested:
        fail("cuda_library %s: no GPU targets: %s is empty. Set `capabilities` (such as [\"sm_80\", \"sm_90\", \"compute_90\"]) or --repo_env=HERMETIC_CUDA_COMPUTE_CAPABILITIES=sm_80,sm_90,compute_90" % (ctx.label, where))
    for capability in requested:
        reason = capability_error(capability)
        if reason:
            fail("cuda_library %s: %s: %s. Accepted values: sm_XX (SASS for compute capability XX) or compute_XX (PTX for XX), optionally with an 'a' or 'f' suffix (sm_90a), such as [\"sm_80\", \"sm_90\", \"compute_90\"]" % (ctx.label, where, reason))
    return requested

def _package_path(ctx, path):
    base = ctx.label.package
    if ctx.label.workspace_root:
        base = ctx.label.workspace_root + ("/" + base if base else "")
    if path in ["", "."]:
        return base if base else "."
    return base + "/" + path if base else path

def _object_stem(ctx, src):
    """The object's path under _objs/<name>/: the source's, relative to the package.

    Two sources of one basename in different directories get different objects.
    """
    path = src.short_path
    if path.startswith("../"):
        path = path[len("../"):]
    package = ctx.label.package
    if package and path.startswith(package + "/"):
        path = path[len(package) + 1:]
    return path[:-len(".cu")]

def _cuda_library_impl(ctx):
    toolkit = ctx.attr.toolkit[CudaToolkitInfo]
    if not toolkit.enabled:
        fail("cuda_library %s: the CUDA toolkit %s is not enabled (a CPU-only build). Set --repo_env=HERMETIC_CUDA_VERSION=x.y.z (a toolkit from NVIDIA's wheels) or --repo_env=LOCAL_CUDA_PATH=/usr/local/cuda (an installed one), or leave this target out of CPU-only builds (a select on the CUDA configuration)" % (ctx.label, ctx.attr.toolkit.label))
    if ctx.attr.cudart not in _CUDART_VALUES:
        fail("cuda_library %s: cudart = %r; accepted values: %s" % (ctx.label, ctx.attr.cudart, ", ".join(["%r" % v for v in _CUDART_VALUES])))
    capabilities = _capabilities(ctx, toolkit)

    cc_toolchain = ctx.attr._cc_toolchain[_cc_common.CcToolchainInfo]
    feature_configuration = _cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    host_compiler = _cc_common.get_tool_for_action(
        feature_configuration = feature_configuration,
        action_name = "c++-compile",
    )
    compile_variables = _cc_common.create_compile_variables(
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        user_compile_flags = [],
        use_pic = True,
    )
    toolchain_flags = _cc_common.get_memory_inefficient_command_line(
        feature_configuration = feature_configuration,
        action_name = "c++-compile",
        variables = compile_variables,
    )
    if cc_toolchain.sysroot and not [f for f in toolchain_flags if f.startswith("--sysroot")]:
        toolchain_flags = toolchain_flags + ["--sysroot=" + cc_toolchain.sysroot]
    compile_env = _cc_common.get_environment_variables(
        feature_configuration = feature_configuration,
        action_name = "c++-compile",
        variables = compile_variables,
    )

    dep_infos = [dep[_CcInfo] for dep in ctx.attr.deps] + [toolkit.headers]
    own_includes = [_package_path(ctx, inc) for inc in ctx.attr.includes]
    own_includes = own_includes + [ctx.bin_dir.path + "/" + inc for inc in own_includes]
    own_context = _cc_common.create_compilation_context(
        headers = depset(ctx.files.hdrs),
        includes = depset(own_includes),
        defines = depset(ctx.attr.defines),
    )
    compilation = _cc_common.merge_cc_infos(
        cc_infos = [_CcInfo(compilation_context = own_context)] + dep_infos,
    ).compilation_context

    common = ["-Xcompiler", "-fPIC"] + gencode_flags(capabilities)

    # nvcc has no -iquote: quote includes (the workspace root, bazel-bin and
    # the external repositories) go first among the -I directories.
    common.extend(["-I."] + ["-I" + p for p in compilation.quote_includes.to_list()])
    common.extend(["-I" + p for p in compilation.includes.to_list()])
    for p in compilation.system_includes.to_list():
        common.extend(["-isystem", p])
    common.extend(["-D" + d for d in compilation.defines.to_list()])
    common.extend(_host_flags(toolchain_flags))

    inputs = depset(
        ctx.files.hdrs + ctx.files.srcs,
        transitive = [compilation.headers, toolkit.compiler_files, cc_toolchain.all_files],
    )
    objects = []
    for src in ctx.files.srcs:
        if not [e for e in _CU_EXTENSIONS if src.basename.endswith(e)]:
            continue
        obj = ctx.actions.declare_file("_objs/%s/%s.pic.o" % (ctx.label.name, _object_stem(ctx, src)))
        args = ctx.actions.args()
        args.add(obj.path + ".tmp")
        args.add_all(["%s=%s" % (k, compile_env[k]) for k in sorted(compile_env.keys())])
        args.add(toolkit.nvcc)
        args.add("-ccbin", host_compiler)
        args.add("-x", "cu")
        args.add_all(common)
        args.add_all(ctx.attr.copts)
        args.add("-c", src)
        args.add("-o", obj)
        ctx.actions.run_shell(
            # nvcc writes its intermediate files under TMPDIR: keep them in
            # the action's own output tree, removed again before the end.
            # The toolchain's compile environment is set by `env` in front of
            # nvcc: Bazel 4 ignores `env` together with use_default_shell_env,
            # and the host compiler needs the default PATH to find `as`.
            command = 'tmp="$1"; shift; rm -rf "$tmp"; mkdir -p "$tmp"; TMPDIR="$tmp" env "$@" --keep --keep-dir "$tmp"; rc=$?; rm -rf "$tmp"; exit $rc',
            arguments = [args],
            inputs = inputs,
            tools = [toolkit.nvcc],
            outputs = [obj],
            use_default_shell_env = True,
            mnemonic = "CudaCompile",
            progress_message = "Compiling CUDA %s" % src.short_path,
        )
        objects.append(obj)

    linker_inputs = []
    if objects:
        archive = ctx.actions.declare_file("lib%s.pic.a" % ctx.label.name)
        archiver = _cc_common.get_tool_for_action(
            feature_configuration = feature_configuration,
            action_name = "c++-link-static-library",
        )
        link_variables = _cc_common.create_link_variables(
            feature_configuration = feature_configuration,
            cc_toolchain = cc_toolchain,
            output_file = archive.path,
            is_using_linker = False,
            is_linking_dynamic_library = False,
        )
        archiver_flags = _cc_common.get_memory_inefficient_command_line(
            feature_configuration = feature_configuration,
            action_name = "c++-link-static-library",
            variables = link_variables,
        )
        if not archiver_flags:
            archiver_flags = ["rcsD", archive.path]
        ar_args = ctx.actions.args()
        ar_args.add_all(archiver_flags)
        ar_args.add_all(objects)
        ctx.actions.run(
            executable = archiver,
            arguments = [ar_args],
            inputs = depset(objects, transitive = [cc_toolchain.all_files]),
            outputs = [archive],
            env = _cc_common.get_environment_variables(
                feature_configuration = feature_configuration,
                action_name = "c++-link-static-library",
                variables = link_variables,
            ),
            mnemonic = "CudaArchive",
            progress_message = "Archiving CUDA library %s" % ctx.label,
        )
        library = _cc_common.create_library_to_link(
            actions = ctx.actions,
            feature_configuration = feature_configuration,
            cc_toolchain = cc_toolchain,
            pic_static_library = archive,
            alwayslink = ctx.attr.alwayslink,
        )
        linker_inputs.append(_cc_common.create_linker_input(
            owner = ctx.label,
            libraries = depset([library]),
        ))
        files = [archive]
    else:
        files = []

    own = _CcInfo(
        compilation_context = own_context,
        linking_context = _cc_common.create_linking_context(linker_inputs = depset(linker_inputs)),
    )
    runtime = []
    if ctx.attr.cudart == "static":
        runtime = [toolkit.cudart_static]
    elif ctx.attr.cudart == "shared":
        runtime = [toolkit.cudart_shared]
    return [
        DefaultInfo(files = depset(files)),
        _cc_common.merge_cc_infos(cc_infos = [own] + dep_infos + runtime),
    ]

cuda_library = rule(
    implementation = _cuda_library_impl,
    doc = """Compiles `.cu` sources with nvcc into a PIC static library that returns `CcInfo`.

nvcc's host compiler is the C++ compiler of the registered C/C++ toolchain. GPU
code is emitted for the toolkit's capabilities or the `capabilities` attribute:
SASS for each `sm_XX`, PTX for each `compute_XX`.
""",
    attrs = {
        "alwayslink": attr.bool(
            doc = "Link every object of the library into binaries that depend on it, referenced or not (as cc_library's alwayslink).",
            default = False,
        ),
        "capabilities": attr.string_list(
            doc = "GPU targets for this library, replacing the toolkit's (HERMETIC_CUDA_COMPUTE_CAPABILITIES): `sm_XX` (SASS) or `compute_XX` (PTX). Empty: the toolkit's.",
        ),
        "copts": attr.string_list(
            doc = "Extra nvcc options, after the generated ones (host-compiler options go through `-Xcompiler`).",
        ),
        "cudart": attr.string(
            doc = "Which CUDA runtime dependents link: \"static\" (libcudart_static.a, nothing to ship), \"shared\" (libcudart.so.N, from NVIDIA's wheel at run time) or \"none\".",
            default = "static",
        ),
        "defines": attr.string_list(
            doc = "Macros (`NAME` or `NAME=VALUE`) for this library's compilation and for everything that depends on it.",
        ),
        "deps": attr.label_list(
            doc = "cc_library-like dependencies (CcInfo): their headers, include paths and macros reach nvcc; their libraries are linked into dependents.",
            providers = [_CcInfo],
        ),
        "hdrs": attr.label_list(
            doc = "Headers of this library, for its sources and its dependents.",
            allow_files = [".h", ".hh", ".hpp", ".cuh", ".inc"],
        ),
        "includes": attr.string_list(
            doc = "Include directories, relative to this package, for this library and its dependents (`-I`).",
        ),
        "srcs": attr.label_list(
            doc = "CUDA sources (`.cu`), each compiled by nvcc into one object; headers listed here are private to the library.",
            allow_files = [".cu", ".cuh", ".h", ".hh", ".hpp", ".inc"],
        ),
        "toolkit": attr.label(
            doc = "The cuda_toolkit_info target of the toolkit to compile with.",
            default = Label("@cuda//:toolkit"),
            providers = [CudaToolkitInfo],
        ),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
        ),
    },
    fragments = ["cpp"],
)
