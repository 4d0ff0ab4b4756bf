"""Wheel platform tags derived from the target platform."""

load("//python_wheel/platforms:glibc.bzl", "GLIBC_VERSIONS", "LINUX_CPUS", "glibc_name")

_PLATFORMS = "@rules_ml_wheels//python_wheel/platforms:"

# What wheel_platform_tag() gives on a Linux platform without a glibc
# constraint, + the CPU: python_wheel makes it `manylinux_<V>_<cpu>` from the
# glibc its C/C++ toolchain reports, or `linux_<cpu>` when it reports none.
TOOLCHAIN_GLIBC_TAG = "<glibc of the C/C++ toolchain>_"

def platform_tag_for(os, cpu, manylinux = "", macos = "11_0"):
    """Returns the wheel platform tag for an OS and CPU.

    Args:
      os: `linux`, `macos` or `windows`.
      cpu: `x86_64`, `aarch64` (arm64 on macOS) or `ppc64le`.
      manylinux: glibc version as `2_17`, `2_27`, ...; empty gives the plain
        `linux_<cpu>` tag (not installable from PyPI; use it until an audit
        tells you which manylinux policy the wheel meets).
      macos: minimum macOS version as `11_0`.

    Returns:
      The tag, e.g. `manylinux_2_27_x86_64`, `macosx_11_0_arm64`, `win_amd64`.
    """
    if os == "linux":
        return ("manylinux_%s_%s" % (manylinux, cpu)) if manylinux else ("linux_" + cpu)
    if os == "macos":
        return "macosx_%s_%s" % (macos, "arm64" if cpu == "aarch64" else cpu)
    if os == "windows":
        return "win_arm64" if cpu == "aarch64" else "win_amd64"
    fail("no wheel platform tag for os %r" % os)

def resolve_toolchain_glibc_tag(tag, libc):
    """Resolves what `wheel_platform_tag()` gives on a platform without a glibc constraint.

    Args:
      tag: a platform tag; only `TOOLCHAIN_GLIBC_TAG + cpu` changes.
      libc: the libc the target's C/C++ toolchain reports (`glibc_2.17`,
        `local`, or empty without a toolchain).

    Returns:
      `manylinux_<V>_<cpu>` for a toolchain reporting glibc V, else
      `linux_<cpu>`; any other tag unchanged.
    """
    if not tag.startswith(TOOLCHAIN_GLIBC_TAG):
        return tag
    cpu = tag[len(TOOLCHAIN_GLIBC_TAG):]
    glibc = ""
    if libc.startswith("glibc_"):
        parts = libc[len("glibc_"):].split(".")
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            glibc = "_".join(parts)
    return platform_tag_for("linux", cpu, manylinux = glibc)

def wheel_platform_tag(manylinux = "", macos = "11_0", default = None):
    """A `select` giving the platform tag of the target platform.

    Use it as `python_wheel(platform_tag = wheel_platform_tag(manylinux = "2_27"))`.
    It resolves in the target configuration, so `--platforms` for another
    machine gives that machine's tag.

    Without `manylinux`, a libc-aware target platform (one of
    `@rules_ml_wheels//python_wheel/platforms:linux_<cpu>_glibc_<V>`, or any
    platform with a `:glibc_<V>` constraint value) gives `manylinux_<V>_<cpu>`:
    the glibc its C/C++ toolchain links against. On a Linux platform without
    a glibc constraint (the default, host platform) `python_wheel` asks the
    C/C++ toolchain: `manylinux_<V>_<cpu>` when it reports glibc V (a
    hermetic one chosen with `--repo_env=ML_WHEELS_CC_TOOLCHAIN=...`),
    `linux_<cpu>` for Bazel's autodetected one. Give the result to
    `python_wheel(platform_tag = ...)` only.

    Args:
      manylinux: glibc version for Linux tags (`2_17`, `2_27`, ...); empty for
        the glibc of the target platform, or of its C/C++ toolchain.
      macos: minimum macOS version, `11_0` by default.
      default: tag for any other platform; None makes other platforms an error.

    Returns:
      A select() over the target platform.
    """
    branches = {
        _PLATFORMS + "linux_x86_64": platform_tag_for("linux", "x86_64", manylinux = manylinux),
        _PLATFORMS + "linux_aarch64": platform_tag_for("linux", "aarch64", manylinux = manylinux),
        _PLATFORMS + "linux_ppc64le": platform_tag_for("linux", "ppc64le", manylinux = manylinux),
        _PLATFORMS + "macos_x86_64": platform_tag_for("macos", "x86_64", macos = macos),
        _PLATFORMS + "macos_arm64": platform_tag_for("macos", "aarch64", macos = macos),
        _PLATFORMS + "windows_x86_64": platform_tag_for("windows", "x86_64"),
    }
    if not manylinux:
        # Bazel 4 does not prefer a config_setting with more constraint
        # values, so the plain branches are replaced by ones matching Linux
        # platforms without a glibc constraint.
        for cpu in LINUX_CPUS:
            branches.pop(_PLATFORMS + "linux_" + cpu)
            branches[_PLATFORMS + "linux_%s_glibc_unspecified" % cpu] = TOOLCHAIN_GLIBC_TAG + cpu
        for version in GLIBC_VERSIONS:
            for cpu in LINUX_CPUS:
                setting = _PLATFORMS + "linux_%s_glibc_%s_setting" % (cpu, glibc_name(version))
                branches[setting] = platform_tag_for("linux", cpu, manylinux = glibc_name(version))
    if default != None:
        branches["//conditions:default"] = default
    return select(
        branches,
        no_match_error = "wheel_platform_tag(): the target platform is not one of linux x86_64/aarch64/ppc64le, macOS x86_64/arm64 or Windows x86_64; set platform_tag explicitly or pass default = ...",
    )
