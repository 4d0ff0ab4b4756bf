"""The glibc versions the libc-aware platforms and the zig toolchains know."""

# glibc versions with a constraint value, a platform per CPU and a zig
# toolchain. 2.17 is manylinux2014, the oldest zig supports; 2.28 is
# manylinux_2_28 (RHEL 8), 2.31 Debian 11, 2.34 RHEL 9, 2.35 Ubuntu 22.04,
# 2.36 Debian 12, 2.39 Ubuntu 24.04.
GLIBC_VERSIONS = ["2.17", "2.27", "2.28", "2.31", "2.34", "2.35", "2.36", "2.39"]

# CPUs of the libc-aware Linux platforms, as @platforms//cpu names.
LINUX_CPUS = ["x86_64", "aarch64"]

def glibc_name(version):
    """`2.17` -> `2_17`: the form used in target names and manylinux tags.

    Args:
      version: a glibc version as `2.17`.

    Returns:
      The version with `_` for `.`.
    """
    return version.replace(".", "_")

# buildifier: disable=unnamed-macro
def libc_aware_targets():
    """Declares the glibc constraint values, libc-aware platforms and their config_settings.

    For every version V in GLIBC_VERSIONS and CPU C in LINUX_CPUS:
    `:glibc_V` (constraint value of `:glibc`), `:linux_C_glibc_V` (platform)
    and `:linux_C_glibc_V_setting` (config_setting matching that platform);
    for every C, `:linux_C_glibc_unspecified` (config_setting of a Linux
    platform without a glibc constraint).
    """
    for cpu in LINUX_CPUS:
        native.config_setting(
            name = "linux_%s_glibc_unspecified" % cpu,
            constraint_values = [
                "@platforms//os:linux",
                "@platforms//cpu:" + cpu,
                ":glibc_unspecified",
            ],
        )
    for version in GLIBC_VERSIONS:
        name = glibc_name(version)
        native.constraint_value(
            name = "glibc_" + name,
            constraint_setting = ":glibc",
        )
        for cpu in LINUX_CPUS:
            constraints = [
                "@platforms//os:linux",
                "@platforms//cpu:" + cpu,
                ":glibc_" + name,
            ]
            native.platform(
                name = "linux_%s_glibc_%s" % (cpu, name),
                constraint_values = constraints,
            )
            native.config_setting(
                name = "linux_%s_glibc_%s_setting" % (cpu, name),
                constraint_values = constraints,
            )
