"""Python interpreter toolchains and the python tags toolchain.

`local_python_toolchain` wraps an interpreter already on the machine: it
registers it as the Python toolchain (so py_binary/py_test and the helper
actions run on it, never on whatever `python` is on PATH), exposes its C
headers for extension modules as `@<name>//:headers`, the extension module
suffixes as `@<name>//:ext_suffix.bzl`, the interpreter binary itself as
`@<name>//:python3` (a file, for rules_python's `python_interpreter_target`),
and registers a python tags toolchain
from which `python_wheel` derives `cpXY-cpXY[t]` tags.

By default Bazel-run programs do not see the interpreter's site-packages nor
the user site: the registered interpreter is `venv/bin/python3` of the
repository, a virtual environment of the real one made with
`include-system-site-packages = false` (PYTHONPATH, which Bazel's launcher
sets, still works). Tests then import only what Bazel gives them.

The helpers at the end of this file (`introspect_interpreter`,
`toolchain_build_file`) are shared with hermetic_python.bzl.
"""

load(":providers.bzl", "PythonTagsInfo")

PYTHON_TAGS_TOOLCHAIN_TYPE = "@rules_ml_wheels//python_wheel:python_tags_toolchain_type"

def _python_tags_toolchain_impl(ctx):
    return [platform_common.ToolchainInfo(tags = PythonTagsInfo(
        python_version = ctx.attr.python_version,
        python_tag = ctx.attr.python_tag,
        abi_tag = ctx.attr.abi_tag,
        origin = ctx.attr.origin,
    ))]

python_tags_toolchain = rule(
    implementation = _python_tags_toolchain_impl,
    attrs = {
        "abi_tag": attr.string(doc = "ABI tag of the interpreter, e.g. `cp311` or `cp313t`; empty if unknown."),
        "origin": attr.string(doc = "Where the interpreter comes from, for error messages."),
        "python_tag": attr.string(doc = "Python tag of the interpreter, e.g. `cp311`; empty if unknown."),
        "python_version": attr.string(doc = "`X.Y` version of the interpreter; empty if unknown."),
    },
    doc = "Declares the wheel tags of the CPython a build targets, for `python_wheel`.",
)

# Run by the interpreter itself (never by the host's python3) with -I -B:
# isolated from PYTHON* variables and user site-packages, writing no .pyc
# files into the interpreter's tree.
_INTROSPECT = """
import importlib.machinery, json, os, sys, sysconfig
executable = os.path.realpath(sys.executable)
if sys.prefix != sys.base_prefix:
    # A virtualenv: use the interpreter it was made from, never its site-packages.
    base = os.path.join(sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2])
    executable = base if os.path.exists(base) else executable
prefix = os.path.realpath(sys.base_prefix)
include = sysconfig.get_paths()["include"]
libpython = []
if sysconfig.get_config_var("Py_ENABLE_SHARED"):
    # LIBDIR is the configure-time path: wrong for a relocated archive, so
    # look under the prefix first.
    for libdir in (os.path.join(prefix, "lib"), sysconfig.get_config_var("LIBDIR") or ""):
        names = [sysconfig.get_config_var("LDLIBRARY"), sysconfig.get_config_var("INSTSONAME")]
        found = [os.path.join(libdir, n) for n in names if n and ".so" in n]
        found = [f for f in found if libdir and os.path.exists(f)]
        if found:
            libpython = sorted(set(found))
            break
print(json.dumps({
    "executable": executable,
    "version": "%d.%d" % sys.version_info[:2],
    "full_version": "%d.%d.%d" % sys.version_info[:3],
    "implementation": sys.implementation.name,
    "prefix": prefix,
    "include": include,
    "include_in_prefix": os.path.relpath(os.path.realpath(include), prefix),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
    "abi3_suffix": ([s for s in importlib.machinery.EXTENSION_SUFFIXES if s.startswith(".abi3")] + [""])[0],
    "libpython": libpython,
    "libpython_in_prefix": [os.path.relpath(f, prefix) for f in libpython if os.path.realpath(f).startswith(prefix + os.sep)],
}))
"""

def introspect_interpreter(repository_ctx, interpreter, who):
    """Runs `interpreter` to learn its version, tags and paths.

    Args:
      repository_ctx: the repository context.
      interpreter: path of the CPython binary to run (never the host's python3
        unless that is the interpreter asked for).
      who: the caller, for messages, e.g. `local_python_toolchain(name = "python")`.

    Returns:
      A struct: executable (resolved binary), version (`X.Y`), full_version,
      python_tag (`cpXY`), abi_tag (`cpXY` or `cpXYt`), gil_disabled, prefix,
      include (absolute), include_in_prefix (relative to prefix), ext_suffix
      (e.g. `.cpython-311-x86_64-linux-gnu.so`), abi3_suffix (`.abi3.so`, or
      empty where the interpreter loads no abi3 modules), libpython
      (absolute paths of the shared libpython, if any) and
      libpython_in_prefix (the same, relative to prefix, for those inside it).
    """
    result = repository_ctx.execute([interpreter, "-I", "-B", "-c", _INTROSPECT])
    if result.return_code:
        fail("%s: running %s failed (exit %d): %s%s" % (who, interpreter, result.return_code, result.stderr, result.stdout))
    info = json.decode(result.stdout)
    if info["implementation"] != "cpython":
        fail("%s: %s is %s; only CPython is supported" % (who, info["executable"], info["implementation"]))
    version = info["version"]
    major, minor = [int(part) for part in version.split(".")]
    if (major, minor) < (3, 10):
        fail("%s: %s is Python %s; rules_ml_wheels' helpers need CPython 3.10 or newer (their pinned packaging/setuptools do)" % (who, info["executable"], version))
    nodot = version.replace(".", "")
    return struct(
        executable = info["executable"],
        version = version,
        full_version = info["full_version"],
        python_tag = "cp" + nodot,
        abi_tag = "cp" + nodot + ("t" if info["gil_disabled"] else ""),
        gil_disabled = info["gil_disabled"],
        prefix = info["prefix"],
        include = info["include"],
        include_in_prefix = info["include_in_prefix"],
        ext_suffix = info["ext_suffix"],
        abi3_suffix = info["abi3_suffix"],
        libpython = info["libpython"],
        libpython_in_prefix = info["libpython_in_prefix"],
    )

def _missing_python_headers_impl(ctx):
    fail(ctx.attr.message)

missing_python_headers = rule(
    implementation = _missing_python_headers_impl,
    attrs = {
        "message": attr.string(mandatory = True, doc = "The error: which interpreter lacks Python.h and what to install."),
    },
    doc = "Stands for `:headers` of an interpreter without C headers: anything that depends on it fails analysis with `message`.",
)

def _dev_package(info):
    if info.executable.startswith("/usr/bin/"):
        return "on Debian/Ubuntu `apt-get install python%s-dev`, on Fedora/RHEL `dnf install python%s-devel`" % (info.version, info.version)
    return "for a distribution's Python `apt-get install python%s-dev` (Debian/Ubuntu); for a pyenv or source build, reinstall it, its include/ directory is missing" % info.version

def link_headers(repository_ctx, info, who, fix):
    """Links the interpreter's include directory into the repository as `include`.

    Args:
      repository_ctx: the repository context.
      info: the struct of `introspect_interpreter`.
      who: the declaring call, for the message, e.g. `local_python_toolchain(name = "python")`.
      fix: what else the user may do, e.g. "set `interpreter` to a Python that has them".

    Returns:
      "" when Python.h was found, else the one-line error that `:headers`
      reports to whatever depends on it.
    """
    include = repository_ctx.path(info.include)
    if include.get_child("Python.h").exists:
        repository_ctx.symlink(include, "include")
        return ""
    repository_ctx.file("include/MISSING_PYTHON_HEADERS.txt", "No Python.h under %s.\n" % include)
    return "%s: the interpreter %s (Python %s) has no C headers (%s/Python.h does not exist), so C extensions cannot be compiled for it. Install its development headers (%s), or %s." % (
        who,
        info.executable,
        info.full_version,
        include,
        _dev_package(info),
        fix,
    )

def isolated_interpreter(repository_ctx, info, allow_site_packages, target = None):
    """The interpreter path Bazel-run programs start: isolated from site-packages by default.

    Writes `venv/pyvenv.cfg` (`include-system-site-packages = false`) and
    `venv/bin/python3`, a link to the interpreter: a virtual environment
    without packages. Started through it, CPython puts neither the
    installation's site-packages nor the user site on sys.path; the
    standard library, `site` itself and PYTHONPATH (Bazel's launcher sets
    it) work as usual.

    Args:
      repository_ctx: the repository context.
      info: the struct of `introspect_interpreter`.
      allow_site_packages: keep the interpreter's site-packages and user
        site on sys.path (not hermetic): returns the interpreter itself.
      target: path of the interpreter binary to link to; default
        `info.executable`.

    Returns:
      The absolute path of the binary to register, as a string.
    """
    binary = target or info.executable
    if allow_site_packages:
        return str(binary)
    binary = str(binary)
    repository_ctx.file("venv/pyvenv.cfg", "\n".join([
        "home = %s" % binary.rpartition("/")[0],
        "include-system-site-packages = false",
        "version = %s" % info.full_version,
        "",
    ]))
    repository_ctx.symlink(binary, "venv/bin/python3")
    return str(repository_ctx.path("venv/bin/python3"))

def link_interpreter_file(repository_ctx, binary):
    """Makes `:python3` of the repository the interpreter file itself.

    rules_python's `pip_parse(python_interpreter_target = "@python//:python3")`
    runs `repository_ctx.path(label)`, which names a file of the repository
    and cannot follow an `alias`: so `python3` is a link at the top of the
    repository to the interpreter binary (the BUILD file exports it). It runs
    the interpreter with its own site-packages, as pip needs; Bazel-run
    programs use the isolated interpreter of `isolated_interpreter`.

    Args:
      repository_ctx: the repository context.
      binary: path of the interpreter binary.
    """
    repository_ctx.symlink(binary, "python3")

def write_ext_suffix_bzl(repository_ctx, info, generator):
    """Writes `ext_suffix.bzl`: the file name suffixes of the interpreter's extension modules.

    Args:
      repository_ctx: the repository context.
      info: the struct of `introspect_interpreter`.
      generator: the repository rule, for the docstring.
    """
    repository_ctx.file("ext_suffix.bzl", "\n".join([
        '"""Generated by %s: file name suffixes of CPython extension modules for this interpreter."""' % generator,
        "",
        "# What setuptools names an extension built for this interpreter, e.g.",
        '# cc_binary(name = "_native" + EXT_SUFFIX, linkshared = True, ...).',
        "EXT_SUFFIX = %r" % info.ext_suffix,
        "",
        "# The stable-ABI (Py_LIMITED_API) suffix; empty where the interpreter",
        "# loads no abi3 modules (free-threaded builds).",
        "ABI3_SUFFIX = %r" % info.abi3_suffix,
        "",
    ]))

def toolchain_build_file(generator, info, runtime, origin, include_dir, libpython = [], extra = [], headers_error = ""):
    """The BUILD file of an interpreter repository.

    Args:
      generator: what wrote it, for the header comment.
      info: the struct of `introspect_interpreter`.
      runtime: lines of the `py_runtime` body after `name` (interpreter,
        files or interpreter_path, stub_shebang).
      origin: where the interpreter comes from, for the tags toolchain.
      include_dir: directory of Python.h inside the repository.
      libpython: files of the shared libpython inside the repository; empty
        for no `:libpython` target.
      extra: more lines appended at the end.
      headers_error: when the interpreter has no Python.h, the error
        `:headers` fails with (see `link_headers`).

    Returns:
      The content of BUILD.bazel.
    """
    lines = [
        "# Generated by %s for %s (Python %s)." % (generator, info.executable, info.full_version),
        'load("@rules_ml_wheels//python_wheel/private:compat.bzl", "PY_TOOLCHAIN_TYPE", "py_runtime", "py_runtime_pair")',
        'load("@rules_ml_wheels//python_wheel/private:python_toolchain.bzl", "PYTHON_TAGS_TOOLCHAIN_TYPE", "missing_python_headers", "python_tags_toolchain")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        "# python3: the interpreter binary itself (a file, e.g. for pip_parse's",
        "# python_interpreter_target, which cannot follow an alias).",
        'exports_files(["ext_suffix.bzl", "python3", "version.bzl"])',
        "",
        "py_runtime(",
        '    name = "py3_runtime",',
    ] + ["    " + line for line in runtime] + [
        '    python_version = "PY3",',
        ")",
        "",
        'py_runtime_pair(name = "runtime_pair", py3_runtime = ":py3_runtime")',
        "",
        'toolchain(name = "toolchain", toolchain = ":runtime_pair", toolchain_type = PY_TOOLCHAIN_TYPE)',
        "",
        "python_tags_toolchain(",
        '    name = "tags",',
        "    abi_tag = %r," % info.abi_tag,
        "    origin = %r," % origin,
        "    python_tag = %r," % info.python_tag,
        "    python_version = %r," % info.version,
        ")",
        "",
        'toolchain(name = "tags_toolchain", toolchain = ":tags", toolchain_type = PYTHON_TAGS_TOOLCHAIN_TYPE)',
        "",
    ]
    if headers_error:
        lines.extend([
            "# The interpreter has no Python.h: what depends on this fails with the message.",
            "missing_python_headers(",
            '    name = "headers",',
            "    message = %r," % headers_error,
            ")",
            "",
        ])
    else:
        lines.extend([
            "# Headers of the interpreter, for CPython extension modules.",
            "cc_library(",
            '    name = "headers",',
            "    hdrs = glob([%r])," % (include_dir + "/**/*.h"),
            "    includes = [%r]," % include_dir,
            ")",
            "",
        ])
    if libpython:
        lines.extend([
            "# The shared libpython, for programs that embed the interpreter.",
            "cc_library(",
            '    name = "libpython",',
            "    srcs = %r," % sorted(libpython),
            '    deps = [":headers"],',
            ")",
            "",
        ])
    return "\n".join(lines + extra)

def _local_python_toolchain_impl(repository_ctx):
    who = "local_python_toolchain(name = %r)" % repository_ctx.name
    requested = repository_ctx.attr.interpreter
    if "/" in requested:
        interpreter = repository_ctx.path(requested)
        if not interpreter.exists:
            fail("%s: interpreter %r does not exist; set `interpreter` to the absolute path of a python3 binary" % (who, requested))
    else:
        interpreter = repository_ctx.which(requested)
        if not interpreter:
            fail("%s: %r is not on PATH; install Python 3 (e.g. `apt-get install python3-dev`) or set `interpreter` to an absolute path" % (who, requested))

    # Resolves shims (pyenv, virtualenvs) to the real binary so the toolchain
    # does not depend on the environment of the shell that started Bazel.
    info = introspect_interpreter(repository_ctx, interpreter, who)
    executable = info.executable

    headers_error = link_headers(repository_ctx, info, who, "set `interpreter` to a Python that has them")
    registered = isolated_interpreter(repository_ctx, info, repository_ctx.attr.allow_site_packages)
    link_interpreter_file(repository_ctx, executable)

    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    write_ext_suffix_bzl(repository_ctx, info, "local_python_toolchain")
    repository_ctx.file("version.bzl", "\n".join([
        '"""Generated by local_python_toolchain: the interpreter this workspace builds for."""',
        "",
        "PYTHON_VERSION = %r" % info.version,
        "PYTHON_TAG = %r" % info.python_tag,
        "ABI_TAG = %r" % info.abi_tag,
        "PYTHON_INTERPRETER = %r" % executable,
        "",
        "# False: Bazel-run programs do not see the interpreter's site-packages.",
        "SITE_PACKAGES_VISIBLE = %r" % repository_ctx.attr.allow_site_packages,
        "",
    ]))
    repository_ctx.file("BUILD.bazel", toolchain_build_file(
        generator = "local_python_toolchain",
        info = info,
        runtime = [
            "interpreter_path = %r," % registered,
            'stub_shebang = "#!%s",' % registered,
        ],
        origin = "local interpreter " + executable,
        include_dir = "include",
        headers_error = headers_error,
    ))

local_python_toolchain_repository = repository_rule(
    implementation = _local_python_toolchain_impl,
    attrs = {
        "allow_site_packages": attr.bool(
            default = False,
            doc = "Let Bazel-run programs import from the interpreter's site-packages and the user site " +
                  "(not hermetic: tests may pass against packages Bazel does not know about). " +
                  "Default: they see only the standard library and their Bazel dependencies.",
        ),
        "interpreter": attr.string(
            default = "python3",
            doc = "Absolute path of a CPython interpreter, or a name looked up on PATH when the repository is fetched.",
        ),
    },
    environ = ["PATH"],
    local = True,
    doc = "Wraps a CPython installed on the machine as Python and python tags toolchains.",
)

def local_python_toolchain(name, interpreter = "python3", register = True, allow_site_packages = False):
    """Declares and registers a CPython already installed on the machine.

    Args:
      name: name of the generated repository (e.g. `python`).
      interpreter: absolute path of the interpreter, or a name looked up on PATH.
      register: register the Python and python tags toolchains.
      allow_site_packages: let py_binary/py_test import from the interpreter's
        site-packages and user site (not hermetic). By default they see only
        the standard library and their Bazel dependencies.
    """
    local_python_toolchain_repository(name = name, interpreter = interpreter, allow_site_packages = allow_site_packages)
    if register:
        native.register_toolchains(
            "@%s//:toolchain" % name,
            "@%s//:tags_toolchain" % name,
        )
