"""`repaired_wheel`: graft the shared libraries a policy does not allow, as a Bazel action.

auditwheel's `repair` inside the build: the libraries come from the rule's
`libraries` and the C/C++ toolchain's sysroot only (never the host), the
grafted names come from their contents, patchelf is pinned, and the wheel is
written by python_wheel's writer, so two builds give the same bytes.
"""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//python_wheel/private:naming.bzl", "tag_error")
load("//python_wheel/private:providers.bzl", "PyWheelInfo")
load("//python_wheel/private/cc:toolchain_libc.bzl", "ToolchainLibcInfo")

# Architectures of wheel platform tags, longest first (`x86_64` before `_64`).
_ARCHES = ["x86_64", "aarch64", "ppc64le", "riscv64", "armv7l", "s390x", "i686"]

# Debian's multiarch directories, by wheel architecture.
_TRIPLES = {
    "aarch64": "aarch64-linux-gnu",
    "armv7l": "arm-linux-gnueabihf",
    "i686": "i386-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "x86_64": "x86_64-linux-gnu",
}

def split_platform_tag(tag):
    """Splits `manylinux_2_17_x86_64` into (`manylinux_2_17`, `x86_64`).

    Args:
      tag: one platform tag.

    Returns:
      (base, arch); arch is "" when the tag names no known architecture.
    """
    for arch in _ARCHES:
        if tag.endswith("_" + arch):
            return tag[:-len(arch) - 1], arch
    return tag, ""

def repaired_platform_tag(label, policy, input_tag):
    """The platform tag of the repaired wheel.

    Args:
      label: the rule's label, for messages.
      policy: the `policy` attribute: a tag (`manylinux_2_17_x86_64`), a
        policy without architecture (`manylinux_2_17`), or empty.
      input_tag: the input wheel's platform tag (possibly a dotted set).

    Returns:
      The tag.
    """
    first = input_tag.split(".")[0]
    base, arch = split_platform_tag(first)
    if first == "any":
        fail("%s: the wheel is pure (platform tag `any`): there is nothing to repair; use it as it is" % label)
    if not policy:
        if base.startswith("manylinux") or base.startswith("musllinux"):
            return input_tag
        fail("%s: the wheel's platform tag %r claims no policy; set `policy` to the one to repair for, e.g. policy = \"manylinux_2_17\"" % (label, input_tag))
    policy_base, policy_arch = split_platform_tag(policy)
    if not (policy_base.startswith("manylinux") or policy_base.startswith("musllinux")):
        fail("%s: policy %r is not a manylinux/musllinux policy; use e.g. \"manylinux_2_17\" or \"manylinux_2_28_x86_64\"" % (label, policy))
    if not policy_arch:
        if not arch:
            fail("%s: the wheel's platform tag %r names no architecture; give policy with one, e.g. %r" % (label, input_tag, policy + "_x86_64"))
        policy = policy + "_" + arch
    elif arch and policy_arch != arch:
        fail("%s: policy %r is for %s but the wheel %r is for %s; give a policy without an architecture (%r) or one for %s" % (label, policy, policy_arch, input_tag, arch, policy_base, arch))
    error = tag_error("platform", policy)
    if error:
        fail("%s: policy %r: %s" % (label, policy, error))
    return policy

def _input_wheel(ctx):
    target = ctx.attr.wheel
    if PyWheelInfo in target:
        return target[PyWheelInfo].wheel, target[PyWheelInfo]
    files = target[DefaultInfo].files.to_list()
    if len(files) != 1 or files[0].extension != "whl":
        fail("%s: wheel %s must be a python_wheel target or one .whl file (it provides %d files)" % (ctx.label, target.label, len(files)))
    return files[0], None

def _wheel_info(wheel, info, platform_tag):
    """PyWheelInfo of the repaired wheel: the input's, with the new file and tag."""
    if info:
        return PyWheelInfo(
            wheel = wheel,
            distribution = info.distribution,
            normalized_distribution = info.normalized_distribution,
            version = info.version,
            python_tag = info.python_tag,
            abi_tag = info.abi_tag,
            platform_tag = platform_tag,
            requirement = info.requirement,
            contents = None,
        )
    parts = wheel.basename[:-len(".whl")].split("-")
    return PyWheelInfo(
        wheel = wheel,
        distribution = parts[0],
        normalized_distribution = parts[0],
        version = parts[1],
        python_tag = parts[-3],
        abi_tag = parts[-2],
        platform_tag = platform_tag,
        requirement = "%s==%s" % (parts[0], parts[1]),
        contents = None,
    )

def sysroot_library_dirs(sysroot, arch):
    """The directories of a Debian-style sysroot a library may be grafted from.

    Args:
      sysroot: the C/C++ toolchain's sysroot, or None.
      arch: the wheel's architecture (`x86_64`, `aarch64`, ...).

    Returns:
      The directories, multiarch ones first; empty without a sysroot or for
      the host's root, which is never searched.
    """
    if not sysroot or sysroot == "/":
        return []
    sysroot = sysroot.rstrip("/")
    dirs = []
    triple = _TRIPLES.get(arch)
    if triple:
        dirs.extend(["%s/lib/%s" % (sysroot, triple), "%s/usr/lib/%s" % (sysroot, triple)])
    for sub in ["lib64", "usr/lib64", "lib", "usr/lib"]:
        dirs.append("%s/%s" % (sysroot, sub))
    return dirs

def _repaired_wheel_impl(ctx):
    source, info = _input_wheel(ctx)
    input_tag = info.platform_tag if info else source.basename[:-len(".whl")].split("-")[-1]
    platform_tag = repaired_platform_tag(ctx.label, ctx.attr.policy, input_tag)
    stem = source.basename[:-len(".whl")].rsplit("-", 1)[0]
    wheel = ctx.actions.declare_file("%s/%s-%s.whl" % (ctx.label.name, stem, platform_tag))
    report = ctx.actions.declare_file(ctx.label.name + ".repair.json")

    level = ctx.attr.compression_level
    if level < 0:
        level = ctx.attr._default_compression_level[BuildSettingInfo].value
    if level > 9:
        fail("%s: compression_level %d is out of range; use 0 (stored) to 9" % (ctx.label, level))

    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = False)
    args.set_param_file_format("multiline")

    # `--flag=value` where a value may start with `@` (`@@//pkg:x` under
    # bzlmod): a separate `@...` argument would be read as a param file.
    args.add("--target=" + str(ctx.label))
    args.add("--wheel", source)
    args.add("--output", wheel)
    args.add("--report", report)
    args.add("--platform-tag", platform_tag)
    args.add("--patchelf", ctx.executable._patchelf)
    args.add("--lib-sdir", ctx.attr.lib_sdir)
    args.add("--compression-level", str(level))
    args.add("--jobs", "1")
    args.add_all(ctx.attr.exclude, format_each = "--exclude=%s")
    args.add_all(ctx.files.libraries, before_each = "--library")
    inputs = [source] + ctx.files.libraries
    transitive = []
    if ctx.attr.use_sysroot:
        toolchain = ctx.attr._toolchain_libc[ToolchainLibcInfo]
        arch = split_platform_tag(platform_tag.split(".")[0])[1]
        search_dirs = sysroot_library_dirs(toolchain.sysroot, arch)
        if search_dirs:
            args.add("--sysroot", toolchain.sysroot)
        args.add_all(search_dirs, before_each = "--search-dir")

        # A sysroot inside the execution root (rules_ml_toolchain's) is among
        # the toolchain's files; ours are read at their absolute, pinned paths.
        if toolchain.sysroot and not toolchain.sysroot.startswith("/"):
            transitive.append(toolchain.all_files)
    ctx.actions.run(
        executable = ctx.executable._repair_wheel,
        arguments = [args],
        inputs = depset(inputs, transitive = transitive),
        tools = [ctx.executable._patchelf],
        outputs = [wheel, report],
        mnemonic = "RepairWheel",
        progress_message = "Repairing %s for %s (%s)" % (source.basename, platform_tag, ctx.label),
        env = {},
    )
    return [
        DefaultInfo(files = depset([wheel]), runfiles = ctx.runfiles(files = [wheel])),
        _wheel_info(wheel, info, platform_tag),
        OutputGroupInfo(repair_report = depset([report])),
    ]

repaired_wheel = rule(
    implementation = _repaired_wheel_impl,
    attrs = {
        "compression_level": attr.int(
            default = -1,
            doc = "Deflate level 0 (stored) to 9 of the repaired wheel. -1 (default) uses `--@rules_ml_wheels//python_wheel:compression_level` (default 6).",
        ),
        "exclude": attr.string_list(
            doc = "Soname patterns (fnmatch globs, as auditwheel's `--exclude`) never grafted: libraries another wheel provides at run time, e.g. `[\"libcuda.so.*\", \"libcudart.so.*\", \"libnccl.so.*\"]`. The compliance test of the repaired wheel needs the same `exclude`.",
        ),
        "lib_sdir": attr.string(
            default = ".libs",
            doc = "Grafted libraries go to `<distribution><lib_sdir>/` at the top of the wheel (auditwheel's `--lib-sdir`).",
        ),
        "libraries": attr.label_list(
            allow_files = True,
            doc = "Shared libraries the repair may graft, matched by SONAME (else file name): Bazel-built ones (`cc_binary(linkshared = True)`, `cc_shared_library`) or prebuilt files. Searched before the sysroot.",
        ),
        "policy": attr.string(
            doc = "The policy to repair for: `manylinux_2_17`, `manylinux_2_28_x86_64`, `musllinux_1_2`... (the wheel's architecture is added when missing). It becomes the repaired wheel's platform tag; the repair fails when the result does not meet it. Empty (default): the input wheel's own manylinux/musllinux tag (a `linux_*` wheel needs `policy`).",
        ),
        "use_sysroot": attr.bool(
            default = True,
            doc = "Also graft from the target C/C++ toolchain's sysroot (its `lib/<triple>`, `usr/lib/<triple>`, `lib64`, `usr/lib64`, `lib`, `usr/lib`), as the hermetic clang + sysroot toolchains have one. The host's `/` is never searched.",
        ),
        "wheel": attr.label(
            mandatory = True,
            allow_files = [".whl"],
            doc = "The wheel to repair: a python_wheel (or platform_wheel) target, or a `.whl` file.",
        ),
        "_default_compression_level": attr.label(default = Label("//python_wheel:compression_level")),
        "_patchelf": attr.label(
            default = Label("//python_wheel/private/repair:patchelf"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
        "_repair_wheel": attr.label(default = Label("//tools:repair_wheel"), executable = True, cfg = "exec"),
        "_toolchain_libc": attr.label(default = Label("//python_wheel/private/cc:toolchain_libc")),
    },
    doc = """Writes `<name>/<input's name with the new platform tag>.whl`: the wheel with
every shared library its ELF files need that `policy` does not allow (and no
`exclude` pattern matches) copied into `<distribution>.libs/` under a
content-hashed name (`libfoo-1a2b3c4d.so.1`, as auditwheel names them), the
NEEDED entries and RUNPATH (`$ORIGIN/../<distribution>.libs`) rewritten by
patchelf, RECORD and the WHEEL tags updated, and the result audited: the
action fails, naming the library and where it looked, when a library is in
neither `libraries` nor the toolchain's sysroot, and when the repaired wheel
does not meet its tag. Output group `repair_report`: JSON of what was grafted
from where. Returns PyWheelInfo, so py_import, the compliance and size tests
take it like any wheel.""",
)
