"""bzlmod: the `ml_wheels` tags of the C/C++ toolchains and the repositories they make.

python_wheel/private/extensions.bzl puts `ZIG_CC_TAG` and `ZIG_SDK_TAG` into
the `ml_wheels` extension as `zig_cc` and `zig_sdk` and calls
`cc_repositories_from_tags(module_ctx)`; `SYSROOT_CC_TAG` is `sysroot_cc` and
`LLVM_TAG` is `llvm`. Unlike the tags that name one
repository, `zig_cc` tags of the same name add up across modules (the union
of their glibc versions and CPUs): every module gets the toolchains it asked
for. For `zig_sdk` and `llvm`, the root module's tag wins (per exec CPU).

A user's MODULE.bazel:

```starlark
ml_wheels.zig_cc(name = "zig_cc", glibc_versions = ["2.17", "2.28"])
use_repo(ml_wheels, "zig_cc")
register_toolchains("@zig_cc//:all")
```
"""

load("//python_wheel/platforms:glibc.bzl", "LINUX_CPUS")
load(":clang_sysroot.bzl", "check_llvm", "sysroot_cc_repositories_from_infos")
load(":zig.bzl", "ZIG_SDKS", "zig_cc_repositories")

ZIG_CC_TAG = tag_class(
    attrs = {
        "glibc_versions": attr.string_list(default = ["2.17"], doc = "glibc versions to have toolchains for (`2.17`, `2.28`, ...). Tags of the same `name` add up."),
        "name": attr.string(default = "zig_cc", doc = "The toolchains repository; `use_repo` it and register `@<name>//:all`."),
        "target_cpus": attr.string_list(default = LINUX_CPUS, doc = "Target CPUs (`x86_64`, `aarch64`). Tags of the same `name` add up."),
    },
    doc = "The zig C/C++ toolchains, as the WORKSPACE macro `zig_cc_repositories`.",
)

ZIG_SDK_TAG = tag_class(
    attrs = {
        "exec_cpu": attr.string(mandatory = True, values = LINUX_CPUS, doc = "The exec CPU this `ziglang` wheel runs on."),
        "name": attr.string(default = "zig_cc", doc = "The `zig_cc` tag whose SDK this replaces."),
        "sha256": attr.string(mandatory = True, doc = "sha256 of the wheel."),
        "urls": attr.string_list(mandatory = True, doc = "URLs of a `ziglang` wheel (a mirror of PyPI's)."),
    },
    doc = "Replaces the pinned `ziglang` wheel of one exec CPU (mirrors, another zig version).",
)

SYSROOT_CC_TAG = tag_class(
    attrs = {
        "cpu": attr.string(mandatory = True, values = LINUX_CPUS, doc = "The target CPU of the sysroot."),
        "name": attr.string(default = "sysroot_cc", doc = "The toolchains repository; `use_repo` it and register `@<name>//:all`. Tags of the same `name` add up (one per CPU)."),
        "sysroot_info": attr.label(mandatory = True, doc = "`sysroot_info.bzl` of the CPU's `cc_sysroot` repository, as `@sysroot_x86_64//:sysroot_info.bzl` (declared with `use_repo_rule`)."),
    },
    doc = "The clang + sysroot C/C++ toolchains for one target CPU, as the WORKSPACE macro `sysroot_cc_repositories`; the clang is that of the `llvm` tags of the same `name` (per exec CPU), else zig's: the `zig_sdk` tags of the same `name`, else the pinned ones.",
)

LLVM_TAG = tag_class(
    attrs = {
        "exec_cpu": attr.string(mandatory = True, values = LINUX_CPUS, doc = "The exec CPU this LLVM distribution runs on."),
        "name": attr.string(default = "sysroot_cc", doc = "The `sysroot_cc` tags (toolchains repository) whose clang this replaces."),
        "path": attr.string(doc = "Absolute path of a local LLVM installation (bin/clang, bin/ld.lld, bin/llvm-ar, lib/clang/<version>/include), instead of `urls`. Not hermetic: prefer an archive."),
        "sha256": attr.string(doc = "sha256 of the archive of `urls`."),
        "strip_prefix": attr.string(doc = "Directory prefix stripped from the archive's entries (its top directory)."),
        "urls": attr.string_list(doc = "URLs of an LLVM distribution archive: LLVM's release tarball layout (rules_ml_toolchain's LLVM archives, a mirror)."),
    },
    doc = "Replaces zig's clang of the `sysroot_cc` toolchains of `name` on one exec CPU by an LLVM distribution, as `sysroot_cc_toolchains(llvm = ...)`.",
)

def _llvm_entry(tag):
    if tag.path:
        entry = {"path": tag.path}
        if tag.sha256:
            entry["sha256"] = tag.sha256
        if tag.strip_prefix:
            entry["strip_prefix"] = tag.strip_prefix
        if tag.urls:
            entry["urls"] = tag.urls
        return entry
    return {"sha256": tag.sha256, "strip_prefix": tag.strip_prefix, "urls": tag.urls}

def _add(values, more):
    for value in more:
        if value not in values:
            values.append(value)

def cc_repositories_from_tags(module_ctx):
    """Declares the repositories of every `zig_cc`, `zig_sdk`, `sysroot_cc` and `llvm` tag of every module.

    Args:
      module_ctx: the module extension's context.

    Returns:
      The names of the toolchains repositories made (for `use_repo`).
    """
    toolchains = {}
    sdks = {}
    for module in module_ctx.modules:
        for tag in module.tags.zig_cc:
            entry = toolchains.setdefault(tag.name, {"glibc_versions": [], "target_cpus": []})
            _add(entry["glibc_versions"], tag.glibc_versions)
            _add(entry["target_cpus"], tag.target_cpus)
        for tag in module.tags.zig_sdk:
            # The first module (the root) wins.
            per_name = sdks.setdefault(tag.name, {})
            if tag.exec_cpu not in per_name:
                per_name[tag.exec_cpu] = {"sha256": tag.sha256, "urls": tag.urls}
    sysroot_toolchains = {}
    llvm = {}
    for module in module_ctx.modules:
        for tag in module.tags.sysroot_cc:
            # The first module (the root) wins for a CPU.
            sysroot_toolchains.setdefault(tag.name, {}).setdefault(tag.cpu, tag.sysroot_info)

        # An extension without the `llvm` tag class has no such tags.
        for tag in module.tags.llvm:
            per_name = llvm.setdefault(tag.name, {})
            if tag.exec_cpu not in per_name:
                entry = _llvm_entry(tag)
                check_llvm("ml_wheels.llvm(name = %r, exec_cpu = %r)" % (tag.name, tag.exec_cpu), {tag.exec_cpu: entry})
                per_name[tag.exec_cpu] = entry
    for name in llvm:
        if name not in sysroot_toolchains:
            fail("ml_wheels.llvm(name = %r): no ml_wheels.sysroot_cc tag of that name; add one, or fix `name`" % name)
    for name, infos in sysroot_toolchains.items():
        if name in toolchains:
            fail("ml_wheels.sysroot_cc(name = %r): a zig_cc tag has the same name; give the sysroot toolchains another name" % name)
        sysroot_cc_repositories_from_infos(
            name = name,
            sysroot_infos = infos,
            sdks = dict(ZIG_SDKS, **sdks.get(name, {})),
            llvm = llvm.get(name, {}),
        )
    for name, entry in toolchains.items():
        zig_cc_repositories(
            name = name,
            glibc_versions = entry["glibc_versions"],
            target_cpus = entry["target_cpus"],
            sdks = dict(ZIG_SDKS, **sdks.get(name, {})),
        )
    for name in sdks:
        if name not in toolchains and name not in sysroot_toolchains:
            fail("ml_wheels.zig_sdk(name = %r): no ml_wheels.zig_cc or sysroot_cc tag of that name; add one, or fix `name`" % name)
    return sorted(toolchains.keys() + sysroot_toolchains.keys())
