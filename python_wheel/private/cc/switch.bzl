"""`--repo_env=ML_WHEELS_CC_TOOLCHAIN=...`: one flag that picks the C/C++ toolchain of the default platform.

rules_ml_toolchain users pick their LLVM and sysroot with
`--repo_env=SYSROOT_DIST=...`. Here toolchains are selected by target
platform (`--platforms=...:linux_x86_64_glibc_2_17`, `platform_wheel`); the
switch is for builds without `--platforms`: it makes one of the *registered*
hermetic toolchains also match the default (host) platform, for the host's CPU:

| Value | Toolchain for the default platform |
| --- | --- |
| unset, `host` | Bazel's autodetected one (the host's gcc and glibc) |
| `zig` | the zig toolchains' lowest glibc of `glibc_versions` |
| `zig_glibc_2_28` | the zig toolchain for glibc 2.28 (in `glibc_versions`) |
| `sysroot` | the clang + sysroot toolchain of the host CPU's sysroot |
| `sysroot_glibc_2_31` | the same, checked to be glibc 2.31 |

Each toolchains repository (`zig_cc_toolchains`, `sysroot_cc_toolchains`)
reads the variable and adds the toolchain of its family, so the switch works
the same in WORKSPACE and bzlmod. `wheel_platform_tag()` on the default
platform then reads the glibc that toolchain reports: `manylinux_2_17_x86_64`
with `zig`, `linux_x86_64` with the host's.
"""

load("//python_wheel/platforms:glibc.bzl", "GLIBC_VERSIONS", "glibc_name")

SWITCH_VARIABLE = "ML_WHEELS_CC_TOOLCHAIN"

_FAMILIES = ["zig", "sysroot"]

def _usage(families):
    return "host, " + ", ".join(["%s, %s_glibc_<V>" % (f, f) for f in families])

def switch_glibc(repository_ctx, family, who, glibc_versions):
    """The glibc version the switch asks of `family`'s toolchains, or None.

    Args:
      repository_ctx: a toolchains repository's context (its rule lists
        `SWITCH_VARIABLE` in `environ`).
      family: `zig` or `sysroot`.
      who: the declaration, for errors, e.g. `zig_cc_toolchains(name = "zig_cc")`.
      glibc_versions: the glibc versions this repository has toolchains for.

    Returns:
      The version (`2.17`) of the toolchain to add for the default platform,
      or None when the switch names the host or another family.
    """
    value = repository_ctx.os.environ.get(SWITCH_VARIABLE, "").strip()
    if value in ("", "host"):
        return None
    name, _, version = value.partition("_glibc_")
    if name not in _FAMILIES or (value != name and not version):
        fail("%s: --repo_env=%s=%s is not a toolchain; use one of %s" % (who, SWITCH_VARIABLE, value, _usage(_FAMILIES)))
    if name != family:
        return None
    available = [v for v in GLIBC_VERSIONS if v in glibc_versions]  # oldest first
    if not version:
        return available[0]
    wanted = version.replace("_", ".")
    if wanted not in available:
        fix = "add %s to its glibc versions" % wanted if family == "zig" else "give the host CPU a cc_sysroot of glibc %s" % wanted
        fail("%s: --repo_env=%s=%s asks for glibc %s, but this declaration has toolchains for glibc %s; use %s, or %s" % (
            who,
            SWITCH_VARIABLE,
            value,
            wanted,
            ", ".join(available),
            " or ".join(["%s_glibc_%s" % (family, glibc_name(v)) for v in available]),
            fix,
        ))
    return wanted

def default_platform_toolchain(name, exec_cpu, toolchain, glibc):
    """BUILD lines of a `toolchain()` for the default platform of an exec CPU.

    It matches a target of the exec CPU whose platform has no glibc
    constraint (the host platform), never a `:glibc_<V>` platform, which keeps
    its own toolchains.

    Args:
      name: the `toolchain()` target's name.
      exec_cpu: the exec (and target) CPU.
      toolchain: label of the `cc_toolchain`.
      glibc: the glibc it links against, for the comment.

    Returns:
      A list of BUILD file lines.
    """
    return [
        "# %s=... chose this toolchain (glibc %s) for the default platform." % (SWITCH_VARIABLE, glibc),
        "toolchain(",
        "    name = %r," % name,
        '    exec_compatible_with = ["@platforms//os:linux", "@platforms//cpu:%s"],' % exec_cpu,
        "    target_compatible_with = [",
        '        "@platforms//os:linux",',
        '        "@platforms//cpu:%s",' % exec_cpu,
        '        "@rules_ml_wheels//python_wheel/platforms:glibc_unspecified",',
        "    ],",
        "    toolchain = %r," % toolchain,
        '    toolchain_type = "@bazel_tools//tools/cpp:toolchain_type",',
        ")",
        "",
    ]

def host_cpu(repository_ctx):
    """The host's CPU as the platforms name it (`x86_64`, `aarch64`).

    Args:
      repository_ctx: any repository's context.

    Returns:
      The CPU name.
    """
    arch = getattr(repository_ctx.os, "arch", "")  # Bazel 5+
    if not arch:
        arch = repository_ctx.execute(["uname", "-m"]).stdout.strip()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)

def check_host_covered(repository_ctx, who, family, target_cpus):
    """Fails when the switch picks `family` but it has no toolchain targeting the host's CPU.

    Args:
      repository_ctx: the toolchains repository's context.
      who: the declaration, for errors.
      family: `zig` or `sysroot`.
      target_cpus: the CPUs the declaration has toolchains for.
    """
    cpu = host_cpu(repository_ctx)
    if cpu not in target_cpus:
        fail("%s: --repo_env=%s=%s needs a toolchain for the host CPU %s, but this declaration targets %s only; add %s" % (
            who,
            SWITCH_VARIABLE,
            repository_ctx.os.environ.get(SWITCH_VARIABLE, ""),
            cpu,
            ", ".join(target_cpus),
            "it to target_cpus" if family == "zig" else "a sysroot for it",
        ))
