"""`py_import`: makes a wheel's contents importable like a `py_library`.

A wheel file is unpacked by `//tools:unpack_wheel` (checked: no path escapes
the output, RECORD hashes verified, zip bombs bounded) into a TreeArtifact
named after the target, and that directory goes on the import path of every
`py_binary`/`py_test` that depends on the target.

A `python_wheel` built in the same workspace (direct mode) is not unpacked
at all: its runfiles present the very files the wheel was written from, at
their wheel paths, plus the `.dist-info` files the writer produced beside the
wheel, so tests see exactly the wheel's files and nothing is inflated again.
"""

load(":compat.bzl", "PyInfo")
load(":launcher.bzl", "runfiles_path")
load(":providers.bzl", "PyWheelInfo")

def wheel_file(label, attr_name, target):
    """The `.whl` File of a `python_wheel` target or of a `.whl` file label.

    Args:
      label: the py_import's label, for messages.
      attr_name: the attribute being read, for messages.
      target: the Target given in that attribute.

    Returns:
      The wheel's File.
    """
    if PyWheelInfo in target:
        return target[PyWheelInfo].wheel
    files = target[DefaultInfo].files.to_list()
    if len(files) == 1 and files[0].extension == "whl" and not files[0].is_directory:
        return files[0]
    described = ", ".join([f.short_path for f in files[:5]]) or "no files"
    if len(files) > 5:
        described += ", ... (%d files)" % len(files)
    fail("%s: %s %s is not a wheel: it provides %s. Give a .whl file or a python_wheel target." % (
        label,
        attr_name,
        target.label,
        described,
    ))

def _unpack(ctx, wheel, output, zip_deps):
    args = ctx.actions.args()
    args.add(wheel)
    args.add("--output-dir", output.path)
    args.add("--verify-record" if ctx.attr.verify_record else "--no-verify-record")
    args.add_all(zip_deps, before_each = "--zip-dep")
    ctx.actions.run(
        executable = ctx.executable._unpack_wheel,
        arguments = [args],
        inputs = [wheel] + zip_deps,
        outputs = [output],
        mnemonic = "PyImportUnpack",
        progress_message = "Unpacking wheel %s for %s" % (wheel.basename, ctx.label),
    )

def _contents_symlinks(ctx, contents):
    """Runfiles symlinks laying out a python_wheel's contents; returns (root, symlinks)."""
    repo_dir = ctx.label.workspace_name or ctx.workspace_name
    root = "/".join([part for part in [repo_dir, ctx.label.package, ctx.label.name] if part])
    symlinks = {}
    for path, f in contents.files.items():
        symlinks[root + "/" + path] = f
    for prefix, tree in contents.trees.items():
        symlinks[root + "/" + prefix] = tree
    symlinks[root + "/" + contents.dist_info_name] = contents.dist_info
    return root, symlinks

def _py_import_impl(ctx):
    contents = None
    if PyWheelInfo in ctx.attr.wheel and not ctx.files.zip_deps:
        contents = ctx.attr.wheel[PyWheelInfo].contents
    root_symlinks = {}
    if contents != None:
        # The wheel's own inputs at their wheel paths: nothing is inflated.
        root, root_symlinks = _contents_symlinks(ctx, contents)
        trees = []
        imports = [root]
    else:
        wheel = wheel_file(ctx.label, "wheel", ctx.attr.wheel)
        tree = ctx.actions.declare_directory(ctx.label.name)
        _unpack(ctx, wheel, tree, ctx.files.zip_deps)
        trees = [tree]
        imports = [runfiles_path(ctx.workspace_name, tree)]

    # Each wheel dependency gets its own directory (and import path entry),
    # so its unpacked tree is cached independently of this wheel's.
    seen = {}
    for target in ctx.attr.wheel_deps:
        dep_wheel = wheel_file(ctx.label, "wheel_deps", target)
        stem = dep_wheel.basename[:-len(".whl")]
        if stem in seen:
            fail("%s: wheel_deps %s and %s are both %s; list each wheel once" % (
                ctx.label,
                seen[stem],
                target.label,
                dep_wheel.basename,
            ))
        seen[stem] = target.label
        dep_tree = ctx.actions.declare_directory("%s.wheel_deps/%s" % (ctx.label.name, stem))
        _unpack(ctx, dep_wheel, dep_tree, [])
        trees.append(dep_tree)
        imports.append(runfiles_path(ctx.workspace_name, dep_tree))

    py_infos = [dep[PyInfo] for dep in ctx.attr.deps if PyInfo in dep]
    sources = trees + root_symlinks.values()

    runfiles = ctx.runfiles(files = trees + ctx.files.data, root_symlinks = root_symlinks)
    for dep in ctx.attr.deps + ctx.attr.data:
        runfiles = runfiles.merge(dep[DefaultInfo].default_runfiles)

    uses_shared_libraries = False
    for info in py_infos:
        uses_shared_libraries = uses_shared_libraries or info.uses_shared_libraries

    return [
        DefaultInfo(files = depset(sources), runfiles = runfiles),
        PyInfo(
            transitive_sources = depset(
                direct = sources,
                transitive = [info.transitive_sources for info in py_infos],
            ),
            imports = depset(
                direct = imports,
                transitive = [info.imports for info in py_infos],
            ),
            uses_shared_libraries = uses_shared_libraries,
        ),
    ]

py_import = rule(
    implementation = _py_import_impl,
    attrs = {
        "data": attr.label_list(
            allow_files = True,
            doc = "Files needed at runtime, as for `py_library`.",
        ),
        "deps": attr.label_list(
            doc = "Python dependencies (`py_library`, other `py_import`s): their `PyInfo` and runfiles are passed on.",
        ),
        "verify_record": attr.bool(
            default = True,
            doc = "Check every file against the wheel's RECORD (sha256 and size; no unlisted or missing files). Turn off only for a wheel you trust whose RECORD is broken; the `.dist-info` checks pip makes stay on.",
        ),
        "wheel": attr.label(
            mandatory = True,
            allow_files = True,
            doc = "The wheel: a `.whl` file, a target whose only output is one, or a `python_wheel` target.",
        ),
        "wheel_deps": attr.label_list(
            allow_files = True,
            doc = "Other wheels (e.g. NVIDIA's CUDA wheels), each unpacked into its own directory `<name>.wheel_deps/<wheel name>/` and put on the import path; their files (shared libraries, data) are in the runfiles of everything that depends on this target.",
        ),
        "zip_deps": attr.label_list(
            allow_files = True,
            doc = "Plain zip files extracted into the wheel's directory (same safety checks, no RECORD); a path already in the wheel is an error.",
        ),
        "_unpack_wheel": attr.label(
            default = Label("//tools:unpack_wheel"),
            executable = True,
            cfg = "exec",
        ),
    },
    provides = [PyInfo],
    doc = """Unpacks a wheel into a directory named after the target and makes it importable.

Depend on it like on a `py_library`: the directory (`<package>/<name>/`) is
on `sys.path`, so `import <package>` finds the wheel's modules, its
`.dist-info` (entry points, `importlib.metadata`) and data files, exactly as
installed. Unpacking refuses unsafe or corrupt wheels, and those pip refuses
(a file name that is not a wheel name, several `.dist-info` directories, one
that is not the file name's distribution and version), with one line naming
the wheel and the problem (see docs/py_import.md).""",
)
