"""glibc + libstdc++ sysroots and target CPython headers, as repository rules.

`cc_sysroot` lays out a Linux sysroot (glibc, kernel headers, GCC's
libstdc++ and libgcc) for a clang-driven toolchain, from one of:

- pinned Debian packages (default: Debian 11 "bullseye", glibc 2.31 with
  GCC 10's libstdc++, from deb.debian.org, pinned by sha256);
- a sysroot archive (`urls` + `sha256` + `strip_prefix`), e.g.
  rules_ml_toolchain's sysroot archives or a mirror of them;
- a directory on the machine (`path`), copied.

Whatever the source, every symlink is made relative and checked to stay
inside the sysroot: a `libm.so -> /lib/x86_64-linux-gnu/libm.so.6` left
absolute would make the linker read the host's glibc.

`python_headers` gives a target CPython's headers from Debian's
`libpython3.X-dev` package of the target architecture (e.g. arm64 on an
x86_64 machine), with the python tags of that target.

See docs/cc-toolchains.md ("Sysroots and target Python headers"). Starlark here runs on Bazel 4.2.3 as well as 6-8.
"""

load(":deb.bzl", "DEB_ATTRS", "DEB_ENVIRON", "check_sha256", "fetch_debs", "run_unpacker")

# Debian's multiarch triples (the directory names under usr/lib and usr/include).
TRIPLES = {
    "aarch64": "aarch64-linux-gnu",
    "x86_64": "x86_64-linux-gnu",
}

# Debian 11 "bullseye": glibc 2.31, GCC 10 (libstdc++ GLIBCXX_3.4.28),
# Linux 5.10 headers, libxcrypt. Pinned by sha256 from the suite's Packages
# index. Debian removes superseded versions from the pool at point releases:
# keep a mirror (deb_mirrors / ML_WHEELS_DEB_MIRROR) of these exact files.
BULLSEYE_DEBS = {
    "aarch64": {
        "pool/main/g/gcc-10/libgcc-10-dev_10.2.1-6_arm64.deb": "80fc73d339ada2e194175afe83cd89014565242153b6e3c2128849d8817da367",
        "pool/main/g/gcc-10/libgcc-s1_10.2.1-6_arm64.deb": "e2fcdb378d3c1ad1bcb64d4fb6b37aab44011152beca12a4944f435a2582df1f",
        "pool/main/g/gcc-10/libstdc++-10-dev_10.2.1-6_arm64.deb": "cee7ca63613b50a8a51cc670db385c7e6d1181b72c94148fc8b7992e4570782d",
        "pool/main/g/gcc-10/libstdc++6_10.2.1-6_arm64.deb": "7869aa540cc46e9f3d4267d5bde2af0e5b429a820c1d6f1a4cfccfe788c31890",
        "pool/main/g/glibc/libc6-dev_2.31-13+deb11u11_arm64.deb": "28d478134722dcd4b0bd2045a199301d18713bf95947b9fce66634e7aeacab2e",
        "pool/main/g/glibc/libc6_2.31-13+deb11u11_arm64.deb": "baaa9aa184e2f21738c5819055e6740cc5b22f198e3f416e33f82b40ff6933d8",
        "pool/main/l/linux/linux-libc-dev_5.10.223-1_arm64.deb": "8b6374a64412d33eac61d74f77b8f932da4b8a707ea8a614791e2a35b8917618",
        "pool/main/libx/libxcrypt/libcrypt-dev_4.4.18-4_arm64.deb": "5309fdf445acc72794b9d134e9625746ffad2b865c6432abcd08ef097587bde1",
        "pool/main/libx/libxcrypt/libcrypt1_4.4.18-4_arm64.deb": "22b586b29e840dabebf0bf227d233376628b87954915d064bc142ae85d1b7979",
    },
    "x86_64": {
        "pool/main/g/gcc-10/libgcc-10-dev_10.2.1-6_amd64.deb": "3b711374092b84e732c4e73cf33e02cff02e34a5f105eb6467de8d9038e4cd9d",
        "pool/main/g/gcc-10/libgcc-s1_10.2.1-6_amd64.deb": "e478f2709d8474165bb664de42e16950c391f30eaa55bc9b3573281d83a29daf",
        "pool/main/g/gcc-10/libstdc++-10-dev_10.2.1-6_amd64.deb": "20b1f56863dcc5f187d6cb53b2aa6149bd013be4ec67e10c2c31a22fda619a01",
        "pool/main/g/gcc-10/libstdc++6_10.2.1-6_amd64.deb": "5c155c58935870bf3b4bfe769116841c0d286a74f59eccfd5645693ac23f06b1",
        "pool/main/g/glibc/libc6-dev_2.31-13+deb11u11_amd64.deb": "e7f7b45d9c5cfcf37609f0b6efd3c645272c812144703af89dfd32218fcb0fd3",
        "pool/main/g/glibc/libc6_2.31-13+deb11u11_amd64.deb": "05f7264da867b37f4c5ce49266b558ea1e81e05a9464f623152fca70f3550282",
        "pool/main/l/linux/linux-libc-dev_5.10.223-1_amd64.deb": "e3be603bd12377bb90fcfb0f2048ca3a81c886e49d6f09945b82159d1c54f7b2",
        "pool/main/libx/libxcrypt/libcrypt-dev_4.4.18-4_amd64.deb": "8b04bf00b8c43360d9ba3adec209db290168ba3526d4aef3175fb84372b1bebf",
        "pool/main/libx/libxcrypt/libcrypt1_4.4.18-4_amd64.deb": "f617952df0c57b4ee039448e3941bccd3f97bfff71e9b0f87ca6dae15cb3f5ef",
    },
}

# Debian 12 "bookworm" CPython 3.11 headers (libpython3.11-dev), per target.
BOOKWORM_PYTHON_DEV_DEBS = {
    "3.11": {
        "aarch64": {
            "pool/main/p/python3.11/libpython3.11-dev_3.11.2-6+deb12u8_arm64.deb": "454a191a37dd86674c309691904be69d499f060e643c1f8efc8b82078967cd48",
        },
        "x86_64": {
            "pool/main/p/python3.11/libpython3.11-dev_3.11.2-6+deb12u8_amd64.deb": "01a8eddeb8505bb6e2c01209cda66b41fb5ebeaa64e69d0e25f7131915f1cd32",
        },
    },
}

_SYSROOT = "sysroot"

# What a compile or link never reads: documentation, locales, programs.
_EXCLUDES = [
    "sysroot/usr/share/**",
    "sysroot/**/* *",
]

def _words(line):
    # Bazel 4.2.3's split() needs a separator.
    return [word for word in line.replace("\t", " ").split(" ") if word]

def _check_arch(who, arch):
    if arch not in TRIPLES:
        fail("%s: arch %r is not supported; use one of %s" % (who, arch, ", ".join(sorted(TRIPLES.keys()))))
    return TRIPLES[arch]

def _source(repository_ctx, who):
    """Fills sysroot/ from the one source the attributes name; returns its description."""
    attr = repository_ctx.attr
    given = [name for name, value in [("debs", attr.debs), ("urls", attr.urls), ("path", attr.path)] if value]
    if len(given) > 1:
        fail("%s: set only one of debs, urls and path (got %s); each is a complete sysroot source" % (who, " and ".join(given)))
    if attr.urls:
        check_sha256(who, "the sysroot archive %s" % attr.urls[0], attr.sha256)
        repository_ctx.download_and_extract(
            url = attr.urls,
            sha256 = attr.sha256,
            stripPrefix = attr.strip_prefix,
            output = _SYSROOT,
        )
        run_unpacker(repository_ctx, who, _SYSROOT, ["--remove-dangling"])
        return "archive %s" % attr.urls[0]
    if attr.sha256 or attr.strip_prefix:
        fail("%s: sha256 and strip_prefix apply to a sysroot archive; set urls too, or remove them" % who)
    if attr.path:
        if not attr.path.startswith("/") or not repository_ctx.path(attr.path).exists:
            fail("%s: path %r is not an existing absolute directory; give the top directory of a sysroot (holding usr/include)" % (who, attr.path))
        run_unpacker(repository_ctx, who, _SYSROOT, ["--remove-dangling", "--copy-from", attr.path])
        return "directory %s" % attr.path
    debs = attr.debs or BULLSEYE_DEBS[attr.arch]
    fetch_debs(repository_ctx, debs, _SYSROOT, who, remove_dangling = True)
    return "Debian packages" if attr.debs else "Debian bullseye packages (default)"

def _glibc_version(repository_ctx, who):
    features = repository_ctx.path(_SYSROOT + "/usr/include/features.h")
    if not features.exists:
        fail("%s: the sysroot has no usr/include/features.h; it needs glibc's headers (Debian's libc6-dev)%s" % (who, _strip_hint(repository_ctx)))
    major = ""
    minor = ""
    for line in repository_ctx.read(features).split("\n"):
        words = _words(line)
        if len(words) == 3 and words[0] == "#define" and words[1] == "__GLIBC__":
            major = words[2]
        if len(words) == 3 and words[0] == "#define" and words[1] == "__GLIBC_MINOR__":
            minor = words[2]
    if not major.isdigit() or not minor.isdigit():
        fail("%s: usr/include/features.h of the sysroot defines no __GLIBC__/__GLIBC_MINOR__; is it glibc's?" % who)
    return "%s.%s" % (major, minor)

def _strip_hint(repository_ctx):
    if repository_ctx.attr.urls:
        return "; check strip_prefix (the directory inside the archive holding usr/)"
    return ""

def _entries(path):
    return sorted([entry.basename for entry in path.readdir()]) if path.exists else []

def _numeric_key(name):
    return [int(part) if part.isdigit() else 0 for part in name.split(".")]

def _gcc_version(repository_ctx, who, triple):
    """GCC's version directory (usr/lib/gcc/<triple>/<N>), holding crtbegin.o and libgcc."""
    versions = [v for v in _entries(repository_ctx.path("%s/usr/lib/gcc/%s" % (_SYSROOT, triple))) if v[0].isdigit()]
    if not versions:
        fail("%s: the sysroot has no usr/lib/gcc/%s/<version>/ (crtbegin.o, libgcc); it needs GCC's runtime (Debian's libgcc-N-dev) for %s" % (who, triple, triple))
    return sorted(versions, key = _numeric_key)[-1]

def _libstdcxx(repository_ctx, triple):
    """(headers version, GLIBCXX version) of the sysroot's libstdc++, empty if none."""
    headers = [v for v in _entries(repository_ctx.path(_SYSROOT + "/usr/include/c++")) if v[0].isdigit()]
    header_version = sorted(headers, key = _numeric_key)[-1] if headers else ""
    glibcxx = ""
    for directory in ["usr/lib/" + triple, "lib/" + triple]:
        for name in _entries(repository_ctx.path(_SYSROOT + "/" + directory)):
            if name.startswith("libstdc++.so.6.0.") and name[len("libstdc++.so.6.0."):].isdigit():
                # libstdc++.so.6.0.N defines symbol versions up to GLIBCXX_3.4.N.
                glibcxx = "3.4." + name[len("libstdc++.so.6.0."):]
    return header_version, glibcxx

def _build_file(who, origin, triple, include_dirs, lib_dirs):
    return "\n".join([
        "# Generated by rules_ml_wheels' cc_sysroot for %s from %s." % (who, origin),
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        'exports_files(["sysroot_info.bzl"])',
        "",
        "# The sysroot's top directory (pass its path as --sysroot).",
        'filegroup(name = "sysroot", srcs = ["sysroot"])',
        "",
        "# Every file a compile or link may read.",
        "filegroup(",
        '    name = "all_files",',
        '    srcs = glob(["sysroot/**"], exclude = %r),' % _EXCLUDES,
        ")",
        "",
        "# Headers: glibc, Linux, libstdc++ and GCC's own (%s)." % triple,
        "filegroup(",
        '    name = "include_files",',
        "    srcs = glob(%r, exclude = %r)," % ([d + "/**" for d in include_dirs], _EXCLUDES),
        ")",
        "",
        "# Libraries and start files: glibc, libgcc, libstdc++.",
        "filegroup(",
        '    name = "lib_files",',
        "    srcs = glob(%r, exclude = %r)," % ([d + "/**" for d in lib_dirs], _EXCLUDES),
        ")",
        "",
    ])

def _sysroot_info(who, origin, arch, triple, glibc, gcc, libstdcxx, glibcxx, include_dirs, lib_dirs):
    return "\n".join([
        '"""Generated by rules_ml_wheels\' cc_sysroot for %s: what the sysroot holds."""' % who,
        "",
        "# Where it came from.",
        "ORIGIN = %r" % origin,
        "",
        "# Target CPU (`x86_64` or `aarch64`) and Debian multiarch triple.",
        "ARCH = %r" % arch,
        "TRIPLE = %r" % triple,
        "",
        "# The sysroot's top directory, relative to this repository's root.",
        "SYSROOT_DIR = %r" % _SYSROOT,
        "",
        "# glibc version (from usr/include/features.h): the newest glibc a binary",
        "# linked against this sysroot can need, e.g. manylinux_2_31 for 2.31.",
        "GLIBC_VERSION = %r" % glibc,
        'MANYLINUX_TAG = "manylinux_%s_%s"' % (glibc.replace(".", "_"), arch),
        "",
        "# GCC runtime (usr/lib/gcc/TRIPLE/N) and libstdc++: headers under",
        "# usr/include/c++/N, highest symbol version GLIBCXX_x (empty if none).",
        "GCC_VERSION = %r" % gcc,
        "LIBSTDCXX_VERSION = %r" % libstdcxx,
        "GLIBCXX_VERSION = %r" % glibcxx,
        "",
        "# Include and library directories, relative to this repository's root,",
        "# in search order (C++ headers first).",
        "INCLUDE_DIRS = %r" % include_dirs,
        "LIB_DIRS = %r" % lib_dirs,
        "",
    ])

def _cc_sysroot_impl(repository_ctx):
    who = "cc_sysroot(name = %r)" % repository_ctx.name
    attr = repository_ctx.attr
    triple = _check_arch(who, attr.arch)
    origin = _source(repository_ctx, who)
    glibc = _glibc_version(repository_ctx, who)
    if attr.glibc_version and attr.glibc_version != glibc:
        fail("%s: the sysroot's glibc is %s (usr/include/features.h), not the glibc_version %r it is declared with; fix glibc_version or the sysroot source" % (who, glibc, attr.glibc_version))
    if not repository_ctx.path("%s/usr/include/%s" % (_SYSROOT, triple)).exists:
        fail("%s: the sysroot has no usr/include/%s; it is not a %s sysroot (set arch to its architecture)" % (who, triple, attr.arch))
    gcc = _gcc_version(repository_ctx, who, triple)
    libstdcxx, glibcxx = _libstdcxx(repository_ctx, triple)
    include_dirs = []
    if libstdcxx:
        include_dirs = [
            "%s/usr/include/c++/%s" % (_SYSROOT, libstdcxx),
            "%s/usr/include/%s/c++/%s" % (_SYSROOT, triple, libstdcxx),
            "%s/usr/include/c++/%s/backward" % (_SYSROOT, libstdcxx),
        ]
    include_dirs += [
        "%s/usr/lib/gcc/%s/%s/include" % (_SYSROOT, triple, gcc),
        "%s/usr/include/%s" % (_SYSROOT, triple),
        "%s/usr/include" % _SYSROOT,
    ]
    lib_dirs = [
        "%s/usr/lib/gcc/%s/%s" % (_SYSROOT, triple, gcc),
        "%s/lib/%s" % (_SYSROOT, triple),
        "%s/usr/lib/%s" % (_SYSROOT, triple),
    ]
    include_dirs = [d for d in include_dirs if repository_ctx.path(d).exists]
    lib_dirs = [d for d in lib_dirs if repository_ctx.path(d).exists]
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    repository_ctx.file("BUILD.bazel", _build_file(who, origin, triple, include_dirs, lib_dirs))
    repository_ctx.file("sysroot_info.bzl", _sysroot_info(who, origin, attr.arch, triple, glibc, gcc, libstdcxx, glibcxx, include_dirs, lib_dirs))

cc_sysroot = repository_rule(
    implementation = _cc_sysroot_impl,
    attrs = dict(DEB_ATTRS, **{
        "arch": attr.string(
            default = "x86_64",
            values = sorted(TRIPLES.keys()),
            doc = "Target CPU of the sysroot: `x86_64` or `aarch64`. Picks the default packages and " +
                  "the multiarch directories (`x86_64-linux-gnu`, `aarch64-linux-gnu`).",
        ),
        "debs": attr.string_dict(
            doc = "Debian packages to unpack, in order: pool path (under each of `deb_mirrors`) or full " +
                  "URL -> sha256. Default (when `debs`, `urls` and `path` are all unset): Debian bullseye's " +
                  "libc6, libc6-dev, linux-libc-dev, libgcc-10-dev, libstdc++-10-dev, libgcc-s1, " +
                  "libstdc++6, libcrypt1 and libcrypt-dev for `arch` (glibc 2.31, GCC 10).",
        ),
        "glibc_version": attr.string(
            doc = "The glibc version the sysroot must have (e.g. `2.31`); the rule fails if " +
                  "usr/include/features.h says otherwise. Empty: whatever it has.",
        ),
        "path": attr.string(
            doc = "Absolute path of a sysroot directory on this machine (holding usr/include), copied " +
                  "into the repository with its symlinks made relative. Not hermetic: prefer an archive.",
        ),
        "sha256": attr.string(doc = "sha256 of the archive named by `urls` (required with it)."),
        "strip_prefix": attr.string(doc = "Directory inside the archive holding the sysroot's usr/ (and lib/)."),
        "urls": attr.string_list(
            doc = "URLs of a sysroot archive (.tar.xz, .tar.gz, .zip, ...), tried in order; e.g. a " +
                  "rules_ml_toolchain sysroot or a mirror of it. Needs `sha256`.",
        ),
    }),
    environ = DEB_ENVIRON,
    doc = """A Linux sysroot for clang: glibc, kernel headers, libgcc and libstdc++.

The repository holds `sysroot/` (every symlink relative, pointing inside it),
`:sysroot` (the directory), `:all_files`, `:include_files`, `:lib_files`
(filegroups), and `sysroot_info.bzl` (ARCH, TRIPLE, SYSROOT_DIR,
GLIBC_VERSION, MANYLINUX_TAG, GCC_VERSION, LIBSTDCXX_VERSION,
GLIBCXX_VERSION, INCLUDE_DIRS, LIB_DIRS).""",
)

def _define(text, name):
    for line in text.split("\n"):
        words = _words(line)
        if len(words) >= 3 and words[0] == "#define" and words[1] == name:
            return " ".join(words[2:]).strip('"')
    return ""

def _python_headers_impl(repository_ctx):
    who = "python_headers(name = %r)" % repository_ctx.name
    attr = repository_ctx.attr
    triple = _check_arch(who, attr.arch)
    version = attr.python_version
    parts = version.split(".")
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
        fail("%s: python_version %r must be X.Y, e.g. \"3.11\"" % (who, version))
    debs = attr.debs
    if not debs:
        if version not in BOOKWORM_PYTHON_DEV_DEBS:
            fail("%s: no default packages for Python %s (defaults: %s); list libpython%s-dev for %s in debs" % (who, version, ", ".join(sorted(BOOKWORM_PYTHON_DEV_DEBS.keys())), version, attr.arch))
        debs = BOOKWORM_PYTHON_DEV_DEBS[version][attr.arch]
    fetch_debs(repository_ctx, debs, "root", who)
    include = "root/usr/include/python" + version
    arch_include = "root/usr/include/%s/python%s" % (triple, version)
    for required in [include + "/Python.h", include + "/patchlevel.h", arch_include + "/pyconfig.h"]:
        if not repository_ctx.path(required).exists:
            fail("%s: the packages have no %s; debs must include libpython%s-dev for %s (Debian arch %s)" % (
                who,
                required[len("root/"):],
                version,
                attr.arch,
                "arm64" if attr.arch == "aarch64" else "amd64",
            ))
    full_version = _define(repository_ctx.read(include + "/patchlevel.h"), "PY_VERSION")
    if not full_version.startswith(version + "."):
        fail("%s: the headers are of Python %s, not python_version %s; fix python_version or debs" % (who, full_version, version))
    free_threaded = _define(repository_ctx.read(arch_include + "/pyconfig.h"), "Py_GIL_DISABLED") == "1"
    abi = "cp%s%s%s" % (parts[0], parts[1], "t" if free_threaded else "")
    ext_suffix = ".cpython-%s%s%s-%s.so" % (parts[0], parts[1], "t" if free_threaded else "", triple)
    cpu = "@platforms//cpu:%s" % attr.arch
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    repository_ctx.file("BUILD.bazel", "\n".join([
        "# Generated by rules_ml_wheels' python_headers for %s: CPython %s headers for %s." % (who, full_version, triple),
        'load("@rules_ml_wheels//python_wheel/private:python_toolchain.bzl", "PYTHON_TAGS_TOOLCHAIN_TYPE", "python_tags_toolchain")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        'exports_files(["ext_suffix.bzl", "version.bzl"])',
        "",
        "# Python.h and friends. Debian's python%s/pyconfig.h is a multiarch wrapper" % version,
        "# that includes <%s/python%s/pyconfig.h>: both directories are on the path." % (triple, version),
        "cc_library(",
        '    name = "headers",',
        "    hdrs = glob([%r, %r])," % (include + "/**/*.h", arch_include + "/**/*.h"),
        "    includes = [%r, %r]," % (include, "root/usr/include"),
        ")",
        "",
        "# The wheel tags of this target's CPython, for python_wheel on %s." % attr.arch,
        "python_tags_toolchain(",
        '    name = "tags",',
        "    abi_tag = %r," % abi,
        "    origin = %r," % ("%s (Debian libpython%s-dev, %s)" % (who, version, triple)),
        "    python_tag = %r," % ("cp%s%s" % (parts[0], parts[1])),
        "    python_version = %r," % version,
        ")",
        "",
        "toolchain(",
        '    name = "tags_toolchain",',
        '    target_compatible_with = ["@platforms//os:linux", %r],' % cpu,
        '    toolchain = ":tags",',
        "    toolchain_type = PYTHON_TAGS_TOOLCHAIN_TYPE,",
        ")",
        "",
    ]))
    repository_ctx.file("version.bzl", "\n".join([
        '"""Generated by rules_ml_wheels\' python_headers for %s."""' % who,
        "",
        "PYTHON_VERSION = %r" % version,
        "PYTHON_FULL_VERSION = %r" % full_version,
        "PYTHON_TAG = %r" % ("cp%s%s" % (parts[0], parts[1])),
        "ABI_TAG = %r" % abi,
        "ARCH = %r" % attr.arch,
        "TRIPLE = %r" % triple,
        "FREE_THREADED = %r" % free_threaded,
        "",
    ]))
    repository_ctx.file("ext_suffix.bzl", "\n".join([
        '"""Generated by rules_ml_wheels\' python_headers for %s: extension module suffixes on the target."""' % who,
        "",
        "# What setuptools names an extension built for this target, e.g.",
        '# cc_binary(name = "_native" + EXT_SUFFIX, linkshared = True, ...).',
        "EXT_SUFFIX = %r" % ext_suffix,
        "",
        "# The stable-ABI (Py_LIMITED_API) suffix; empty for free-threaded builds.",
        "ABI3_SUFFIX = %r" % ("" if free_threaded else ".abi3.so"),
        "",
    ]))

python_headers = repository_rule(
    implementation = _python_headers_impl,
    attrs = dict(DEB_ATTRS, **{
        "arch": attr.string(
            default = "aarch64",
            values = sorted(TRIPLES.keys()),
            doc = "Target CPU whose CPython headers these are: `aarch64` (default) or `x86_64`.",
        ),
        "debs": attr.string_dict(
            doc = "Debian packages carrying the headers, pool path or URL -> sha256; must include " +
                  "libpython3.X-dev of the target architecture. Default: Debian bookworm's " +
                  "libpython3.11-dev for `arch` (only `python_version = \"3.11\"` has a default).",
        ),
        "python_version": attr.string(
            default = "3.11",
            doc = "`X.Y` version of the headers; checked against their patchlevel.h.",
        ),
    }),
    environ = DEB_ENVIRON,
    doc = """CPython headers of a target architecture, from Debian's libpython3.X-dev.

The repository exposes `:headers` (a cc_library whose include path covers
`python3.X/` and the multiarch `<TRIPLE>/python3.X/pyconfig.h`), `:tags` and
`:tags_toolchain` (python tags toolchain, constrained to linux + `arch`),
`version.bzl` (PYTHON_VERSION, PYTHON_FULL_VERSION, PYTHON_TAG, ABI_TAG, ARCH,
TRIPLE, FREE_THREADED) and `ext_suffix.bzl` (EXT_SUFFIX, e.g.
`.cpython-311-aarch64-linux-gnu.so`, and ABI3_SUFFIX).""",
)
