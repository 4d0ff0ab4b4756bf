"""BUILD text both toolchain repositories (zig, clang + sysroot) write for each cc_toolchain."""

def tool_paths_lines(driver):
    """The `tool_paths` attribute of a `clang_like_cc_toolchain_config`.

    Args:
      driver: the wrapper that compiles and links, relative to the package (`bin/c++`).

    Returns:
      BUILD file lines; tools the driver lacks are `bin/unsupported`.
    """
    return [
        "    tool_paths = {",
        '        "ar": "bin/ar",',
        '        "cpp": "bin/unsupported",',
        '        "gcc": "%s",' % driver,
        '        "gcov": "bin/unsupported",',
        '        "ld": "%s",' % driver,
        '        "nm": "bin/unsupported",',
        '        "objdump": "bin/unsupported",',
        '        "strip": "bin/unsupported",',
        "    },",
    ]

def cc_toolchain_lines(name, config):
    """A `cc_toolchain` over the repository's filegroups and one toolchain configuration.

    Args:
      name: the target's name.
      config: label of its `clang_like_cc_toolchain_config`.

    Returns:
      BUILD file lines.
    """
    return [
        "cc_toolchain(",
        "    name = %r," % name,
        '    all_files = ":all_files",',
        '    ar_files = ":ar_files",',
        '    as_files = ":compiler_files",',
        '    compiler_files = ":compiler_files",',
        '    dwp_files = ":unsupported_files",',
        '    linker_files = ":linker_files",',
        '    objcopy_files = ":unsupported_files",',
        '    strip_files = ":unsupported_files",',
        "    supports_param_files = 0,",
        "    toolchain_config = %r," % config,
        ")",
        "",
    ]
