"""`CudaToolkitInfo` and `cuda_toolkit_info`: what a CUDA toolkit repository offers.

A toolkit repository (the `@cuda` hub of `cuda_toolkit`, or a hand-written
`new_local_repository` BUILD file) declares one `cuda_toolkit_info` target;
`cuda_library` reads the provider from it.

Starlark here must run on Bazel 4.2.3 as well as on Bazel 6-8.
"""

# Bazel's built-in, global in Bazel 4-8 (autoloaded from rules_cc in 8).
_CcInfo = CcInfo  # buildifier: disable=native-cc-info

CudaToolkitInfo = provider(
    doc = "A CUDA toolkit: nvcc, the files it needs, headers, cudart, inspection tools.",
    fields = {
        "capabilities": "list of str: GPU targets nvcc emits by default; `sm_XX` is SASS for compute capability XX, `compute_XX` PTX for XX.",
        "compiler_files": "depset of File: everything nvcc reads besides its inputs (bin/, nvvm/, include/).",
        "cudart_shared": "CcInfo: the shared CUDA runtime (libcudart.so.N) and the toolkit headers.",
        "cudart_static": "CcInfo: the static CUDA runtime (libcudart_static.a, with -ldl -lpthread -lrt) and the toolkit headers.",
        "cuobjdump": "File or None: cuobjdump (exec configuration), to list the SASS/PTX of a binary.",
        "enabled": "bool: whether the repository has a toolkit; False in a CPU-only build.",
        "headers": "CcInfo: the toolkit headers (cuda_runtime.h, CCCL, crt/).",
        "nvcc": "File or None: the nvcc driver (exec configuration); None when not enabled.",
        "nvdisasm": "File or None: nvdisasm (exec configuration).",
        "runtime_libraries": "list of str: the runtime library components (cudart, cublas, ...) that wheels get from NVIDIA's PyPI packages.",
        "version": "str: the toolkit version, x.y.z (empty when not enabled).",
    },
)

_SUFFIXES = ["a", "f"]

def capability_error(capability):
    """Why `capability` is not a well-formed GPU target, or "".

    Args:
      capability: a string such as "sm_90", "compute_90", "sm_90a".

    Returns:
      An empty string when it is well formed, else the reason.
    """
    for prefix in ["sm_", "compute_"]:
        if capability.startswith(prefix):
            number = capability[len(prefix):]
            if number[-1:] in _SUFFIXES:
                number = number[:-1]
            if len(number) >= 2 and number.isdigit():
                return ""
            return "%r: after %r must come the compute capability as digits (such as 90), optionally followed by 'a' or 'f'" % (capability, prefix)
    return "%r starts with neither 'sm_' (SASS) nor 'compute_' (PTX)" % capability

def _single_file(ctx, attr_name):
    """The one file of a label attribute, None when the label is unset or empty."""
    target = getattr(ctx.attr, attr_name)
    if target == None:
        return None
    files = target.files.to_list()
    if not files:
        return None
    if len(files) != 1:
        fail("cuda_toolkit_info %s: `%s` = %s must give exactly one file, got %d: %s" % (
            ctx.label,
            attr_name,
            target.label,
            len(files),
            ", ".join([f.short_path for f in files]),
        ))
    return files[0]

def _cc_info(target):
    return target[_CcInfo] if target != None else _CcInfo()

def _cuda_toolkit_info_impl(ctx):
    nvcc = _single_file(ctx, "nvcc")
    if ctx.attr.enabled:
        if nvcc == None:
            fail("cuda_toolkit_info %s: enabled = True needs `nvcc` (a label giving bin/nvcc); got %s" % (
                ctx.label,
                ctx.attr.nvcc.label if ctx.attr.nvcc else "nothing",
            ))
        for capability in ctx.attr.capabilities:
            reason = capability_error(capability)
            if reason:
                fail("cuda_toolkit_info %s: `capabilities`: %s. Accepted: sm_XX (SASS) or compute_XX (PTX), such as sm_80, sm_90, compute_90" % (ctx.label, reason))
    compiler_files = ctx.attr.compiler_files.files if ctx.attr.compiler_files else depset()
    info = CudaToolkitInfo(
        capabilities = list(ctx.attr.capabilities),
        compiler_files = compiler_files,
        cudart_shared = _cc_info(ctx.attr.cudart_shared),
        cudart_static = _cc_info(ctx.attr.cudart_static),
        cuobjdump = _single_file(ctx, "cuobjdump"),
        enabled = ctx.attr.enabled,
        headers = _cc_info(ctx.attr.headers),
        nvcc = nvcc,
        nvdisasm = _single_file(ctx, "nvdisasm"),
        runtime_libraries = list(ctx.attr.runtime_libraries),
        version = ctx.attr.version,
    )
    return [info, DefaultInfo(files = depset([nvcc]) if nvcc else depset())]

cuda_toolkit_info = rule(
    implementation = _cuda_toolkit_info_impl,
    doc = "Describes a CUDA toolkit for `cuda_library` (returns `CudaToolkitInfo`).",
    attrs = {
        "capabilities": attr.string_list(
            doc = "GPU targets nvcc emits by default: `sm_XX` (SASS for compute capability XX) or `compute_XX` (PTX for XX).",
        ),
        "compiler_files": attr.label(
            doc = "Files nvcc needs at compile time besides its inputs (bin/, nvvm/, include/).",
            allow_files = True,
            cfg = "exec",
        ),
        "cudart_shared": attr.label(
            doc = "cc_library of the shared CUDA runtime (libcudart.so.N).",
            providers = [_CcInfo],
        ),
        "cudart_static": attr.label(
            doc = "cc_library of the static CUDA runtime (libcudart_static.a).",
            providers = [_CcInfo],
        ),
        "cuobjdump": attr.label(
            doc = "cuobjdump: lists the SASS and PTX of a binary. One file, or an empty filegroup when the toolkit has none.",
            allow_files = True,
            cfg = "exec",
        ),
        "enabled": attr.bool(
            doc = "Whether this repository has a toolkit; False in a CPU-only build (then every label may be empty).",
            default = False,
        ),
        "headers": attr.label(
            doc = "cc_library of the toolkit headers (include/, CCCL).",
            providers = [_CcInfo],
        ),
        # One file, checked by the implementation rather than by
        # allow_single_file / executable: a CPU-only hub gives an empty
        # filegroup here, and that must still analyze.
        "nvcc": attr.label(
            doc = "The nvcc driver (bin/nvcc): one file, or an empty filegroup when `enabled` is False.",
            allow_files = True,
            cfg = "exec",
        ),
        "nvdisasm": attr.label(
            doc = "nvdisasm: disassembles SASS. One file, or an empty filegroup when the toolkit has none.",
            allow_files = True,
            cfg = "exec",
        ),
        "runtime_libraries": attr.string_list(
            doc = "Runtime library components (cudart, cublas, ...) that wheels take from NVIDIA's PyPI packages.",
        ),
        "version": attr.string(
            doc = "The toolkit version, x.y.z; empty when `enabled` is False.",
        ),
    },
)
