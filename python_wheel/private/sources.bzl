"""Rules that gather a wheel's files from Bazel dependency graphs.

`transitive_py_deps`, `collect_data_files`, `transitive_hdrs` and
`wheel_sources` turn the targets a Python package is built from into the
set of files that go into its wheel, ready for `python_wheel(srcs = [...])`.
Each returns the files as `DefaultInfo.files` and as `WheelSourcesInfo`.

Everything is gathered in the *target* configuration: no attribute here
switches to the exec (host) configuration, so `select()`s in the walked
targets resolve for the platform the wheel is built for, and a
cross-compiled wheel (`--platforms=...linux_aarch64_platform` on an x86_64
machine) gets the target's libraries, never the build machine's.
"""

load(":compat.bzl", "CcInfo", "PyInfo")
load(":providers.bzl", "WheelSourcesInfo")

# Extensions of the `data` files collect_data_files gathers (plus versioned
# `.so.N[.M...]`).
DATA_EXTENSIONS = ["so", "pyd", "pyi", "dll", "dylib", "lib", "pd"]

# Extensions of the runfiles collect_data_files gathers from `symlink_deps`.
SYMLINK_DATA_EXTENSIONS = ["pyi", "lib", "pd"]

# Attributes the data aspect walks. `deps` and `data` are what the reference
# implementations (XLA, JAX) walk; `srcs` is added so that a filegroup (or
# any rule) that groups libraries through `srcs` and is itself used as
# `data` still contributes those libraries' data files.
_PROPAGATE_ATTRS = ["deps", "data", "srcs"]

def _is_digits(s):
    if not s:
        return False
    for c in s.elems():
        if c not in "0123456789":
            return False
    return True

def has_extension(basename, extensions, versioned_so = False):
    """Whether a file name ends with one of `extensions` as its real suffix.

    The suffix is what follows the last `.`, so `x.pdf` has `pdf`, never
    `pd`, and `x.so.bak` has `bak`. Leading dots do not start a suffix, as
    for Python's `os.path.splitext`: `.so` is a hidden file without
    extension, `.hidden.so` has `so`.

    Args:
      basename: the file name, without directories.
      extensions: extensions without the dot, e.g. `["so", "pyi"]`.
      versioned_so: also accept versioned shared libraries,
        `name.so.N[.M...]` with numeric N, M, ... (e.g. `libfoo.so.12.1.3`).

    Returns:
      bool.
    """
    parts = basename.lstrip(".").split(".")
    if len(parts) < 2:
        return False
    if parts[-1] in extensions:
        return True
    if not versioned_so:
        return False

    # `name.so.12.1.3`: skip the trailing numeric components, then expect
    # `so` with a non-empty name before it.
    i = len(parts) - 1
    for _ in range(len(parts)):
        if i > 1 and _is_digits(parts[i]):
            i -= 1
        else:
            break
    return i < len(parts) - 1 and parts[i] == "so"

def is_data_file_name(basename):
    """Whether `collect_data_files` gathers a `data` file of this name.

    Args:
      basename: the file name, without directories.

    Returns:
      True for names ending in `.so`, `.pyd`, `.pyi`, `.dll`, `.dylib`,
      `.lib`, `.pd` or `.so.N[.M...]`.
    """
    return has_extension(basename, DATA_EXTENSIONS, versioned_so = True)

def is_symlink_data_file_name(basename):
    """Whether `collect_data_files` gathers a `symlink_deps` runfile of this name.

    Args:
      basename: the file name, without directories.

    Returns:
      True for names ending in `.pyi`, `.lib` or `.pd`.
    """
    return has_extension(basename, SYMLINK_DATA_EXTENSIONS)

def is_main_repository_root_file(short_path):
    """Whether a file belongs to the root package of the main repository.

    Such files have no directory in their `short_path`; files of other
    repositories always have one (`../<repo>/...`).

    Args:
      short_path: `File.short_path`.

    Returns:
      bool.
    """
    return "/" not in short_path

def _wanted(f, name_matches):
    # Files of the main repository's root package are skipped, as the
    # XLA/JAX implementations do: they have no directory, so in the wheel
    # they would land at the top of site-packages, outside any importable
    # package, where they collide with other distributions' files. What
    # lives there is workspace plumbing (the root BUILD's exported files,
    # generated toolchain files), not package data.
    return name_matches(f.basename) and not is_main_repository_root_file(f.short_path)

def _targets_of(value):
    """The targets an attribute value holds (label, label list or label dict)."""
    if value == None:
        return []
    if type(value) == "list":
        items = value
    elif type(value) == "dict":
        # label_keyed_string_dict has targets as keys; label dicts as values.
        items = value.keys() + value.values()
    else:
        items = [value]
    return [item for item in items if type(item) == "Target"]

_DataFilesInfo = provider(
    doc = "Internal to collect_data_files: data files reachable from a target.",
    fields = {
        "files": "depset[File]: matching files of the `data` attributes of the target and of everything it reaches through `deps`, `data` and `srcs`.",
    },
)

def _data_files_aspect_impl(_target, ctx):
    direct = []
    for dep in _targets_of(getattr(ctx.rule.attr, "data", None)):
        for f in dep[DefaultInfo].files.to_list():
            if _wanted(f, is_data_file_name):
                direct.append(f)
    transitive = []
    for attr_name in _PROPAGATE_ATTRS:
        for dep in _targets_of(getattr(ctx.rule.attr, attr_name, None)):
            if _DataFilesInfo in dep:
                transitive.append(dep[_DataFilesInfo].files)
    return [_DataFilesInfo(files = depset(direct, transitive = transitive))]

_data_files_aspect = aspect(
    implementation = _data_files_aspect_impl,
    attr_aspects = _PROPAGATE_ATTRS,
    doc = "Gathers the shared libraries, stubs and import libraries listed in `data` attributes along `deps`, `data` and `srcs`.",
)

def _files_result(files):
    return [DefaultInfo(files = files), WheelSourcesInfo(files = files)]

def _py_sources(targets, owner):
    transitive = []
    for dep in targets:
        if PyInfo not in dep:
            fail("%s: %s provides no PyInfo; py_srcs/deps take Python targets (py_library, py_binary). Put plain files in static_srcs." % (owner, dep.label))
        transitive.append(dep[PyInfo].transitive_sources)
    return depset(transitive = transitive)

def _headers(targets, owner):
    transitive = []
    for dep in targets:
        if CcInfo not in dep:
            fail("%s: %s provides no CcInfo; hdr_srcs/deps take C++ targets (cc_library)." % (owner, dep.label))
        transitive.append(dep[CcInfo].compilation_context.headers)
    return depset(transitive = transitive)

def _data_files(deps, symlink_deps):
    direct = []
    for dep in symlink_deps:
        runfiles = dep[DefaultInfo].default_runfiles
        if runfiles == None:
            continue
        for f in runfiles.files.to_list():
            if _wanted(f, is_symlink_data_file_name):
                direct.append(f)
    transitive = [dep[_DataFilesInfo].files for dep in deps if _DataFilesInfo in dep]
    return depset(direct, transitive = transitive)

def _transitive_py_deps_impl(ctx):
    return _files_result(_py_sources(ctx.attr.deps, ctx.label))

transitive_py_deps = rule(
    implementation = _transitive_py_deps_impl,
    attrs = {
        "deps": attr.label_list(doc = "Python targets (anything providing `PyInfo`) whose transitive sources are gathered."),
    },
    doc = """The Python sources of `deps` and of everything they depend on.

The files are the union of `PyInfo.transitive_sources` of `deps`, each
once, like a filegroup: `.py` files, checked in or generated, of the main
repository and of external ones. A dependency without `PyInfo` is an
error.

Example:

```starlark
transitive_py_deps(
    name = "mypkg_py",
    deps = ["//mypkg"],  # py_library(srcs = ["__init__.py"], deps = [":core"])
)
```
""",
)

def _collect_data_files_impl(ctx):
    return _files_result(_data_files(ctx.attr.deps, ctx.attr.symlink_deps))

collect_data_files = rule(
    implementation = _collect_data_files_impl,
    attrs = {
        "deps": attr.label_list(
            aspects = [_data_files_aspect],
            doc = "Targets walked along `deps`, `data` and `srcs`; the matching files listed in `data` attributes on the way are gathered.",
        ),
        "symlink_deps": attr.label_list(doc = "Targets whose default runfiles' `.pyi`, `.lib` and `.pd` files are gathered (stubs and import libraries a library carries in its runfiles)."),
    },
    doc = """The native libraries, type stubs and import libraries a Python package carries as data.

From `deps` and everything they reach through `deps`, `data` and `srcs`,
gathers the files listed in `data` attributes whose name ends in `.so`,
`.pyd`, `.pyi`, `.dll`, `.dylib`, `.lib`, `.pd`, or is a versioned shared
library `.so.N[.M...]` (`libfoo.so.12`, `libfoo.so.12.1.3`). The suffix
must be the real one: `x.pdf`, `x.so.bak`, `x.sorted` and `x.pyi.txt` are
left out. From `symlink_deps`, gathers the `.pyi`, `.lib` and `.pd` files
of their default runfiles.

Files of the main repository's root package (`//:libfoo.so`) are skipped:
they would land at the top of site-packages, outside any package. Each
file appears once. Everything is resolved in the target configuration, so
`select()`s on the target platform pick the cross-compiled libraries.

Example:

```starlark
collect_data_files(
    name = "mypkg_data",
    deps = ["//mypkg"],  # py_library(data = [":_native.so"], ...)
    symlink_deps = ["//mypkg:stubs"],
)
```
""",
)

def _transitive_hdrs_impl(ctx):
    return _files_result(_headers(ctx.attr.deps, ctx.label))

transitive_hdrs = rule(
    implementation = _transitive_hdrs_impl,
    attrs = {
        "deps": attr.label_list(doc = "C++ targets (anything providing `CcInfo`) whose headers are gathered."),
    },
    doc = """The C/C++ headers of `deps` and of everything they depend on.

The files are `CcInfo.compilation_context.headers` of `deps` (their own
headers and their dependencies'), each once; for wheels that ship headers
for downstream extension builds. A dependency without `CcInfo` is an error.

Example:

```starlark
transitive_hdrs(
    name = "mypkg_headers",
    deps = ["//mypkg/include:api"],
)
```
""",
)

def _wheel_sources_impl(ctx):
    transitive = [
        _py_sources(ctx.attr.py_srcs, ctx.label),
        _data_files(ctx.attr.data_srcs, ctx.attr.symlink_data_srcs),
        _headers(ctx.attr.hdr_srcs, ctx.label),
    ]
    transitive.extend([src[DefaultInfo].files for src in ctx.attr.static_srcs])
    return _files_result(depset(transitive = transitive))

wheel_sources = rule(
    implementation = _wheel_sources_impl,
    attrs = {
        "data_srcs": attr.label_list(
            aspects = [_data_files_aspect],
            doc = "Targets whose data libraries and stubs are gathered, as `collect_data_files(deps = ...)`.",
        ),
        "hdr_srcs": attr.label_list(doc = "C++ targets whose headers are gathered, as `transitive_hdrs(deps = ...)`."),
        "py_srcs": attr.label_list(doc = "Python targets whose transitive sources are gathered, as `transitive_py_deps(deps = ...)`."),
        "static_srcs": attr.label_list(
            allow_files = True,
            doc = "Files (or targets' default outputs) added as they are: READMEs, `py.typed`, prebuilt libraries.",
        ),
        "symlink_data_srcs": attr.label_list(doc = "Targets whose runfiles' `.pyi`, `.lib` and `.pd` files are gathered, as `collect_data_files(symlink_deps = ...)`."),
    },
    doc = """Everything a wheel is made of, gathered from a few top-level targets.

One target combining `transitive_py_deps` (`py_srcs`), `collect_data_files`
(`data_srcs`, `symlink_data_srcs`), `transitive_hdrs` (`hdr_srcs`) and
plain files (`static_srcs`). Its files are the union, each once, in the
target configuration; pass it to `python_wheel(srcs = [...])`.

Example:

```starlark
wheel_sources(
    name = "mypkg_sources",
    py_srcs = ["//mypkg"],
    data_srcs = ["//mypkg"],
    symlink_data_srcs = ["//mypkg:stubs"],
    hdr_srcs = ["//mypkg/include:api"],
    static_srcs = ["//mypkg:py.typed", "//mypkg:data/vocab.txt"],
)

python_wheel(
    name = "mypkg_wheel",
    distribution = "mypkg",
    version = "1.0.0",
    platform_tag = wheel_platform_tag(manylinux = "2_17"),
    srcs = [":mypkg_sources"],
)
```
""",
)
