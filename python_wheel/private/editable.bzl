"""`python_editable_wheel`: a PEP 660 editable twin of a `python_wheel`.

`bazel run //pkg:wheel.editable -- DIR` writes `DIR/<the twin's file name>`,
an editable wheel whose import hook maps every module of the twin to the
file Bazel builds it from: the workspace's source files for sources, Bazel's
output tree (what `bazel-bin` points at) for generated files and extensions.
`pip install DIR/<wheel>` then imports the workspace's files, so edits to
`.py` sources are seen without reinstalling.

The absolute paths an editable install needs are only known where the
command runs, so no action writes them: the analysis writes a manifest of
runfiles paths (an ordinary, hermetic, cacheable output) and the `bazel run`
binary resolves them against `BUILD_WORKSPACE_DIRECTORY` and the runfiles'
links into the output tree when it runs.
"""

load(":compat.bzl", "py_binary")
load(":providers.bzl", "PyWheelInfo")

_MAIN = Label("//tools:editable_wheel.py")
_LIB = Label("//tools:ml_wheels")

def editable_module_name(distribution, version):
    """The name of the finder module of an editable wheel, as setuptools names it.

    Args:
      distribution: the escaped distribution name (`PyWheelInfo.normalized_distribution`).
      version: the normalized version.

    Returns:
      `__editable___<distribution>_<version>_finder`, with every character
      that cannot be in a module name replaced by `_`.
    """
    name = "__editable___%s_%s_finder" % (distribution, version)
    out = []
    for i in range(len(name)):
        c = name[i]
        out.append(c if c.isalnum() or c == "_" else "_")
    return "".join(out)

def _runfiles_path(f):
    # File.short_path is the path below the runfiles' workspace directory
    # (`../<repo>/...` for other repositories): what $(rootpath) gives.
    return f.short_path

def _editable_manifest_impl(ctx):
    info = ctx.attr.wheel[PyWheelInfo]
    if info.contents == None:
        fail(("%s: wheel %s has no file map (a python_wheel in build_mode = \"pep517\", or a " +
              "repaired or other derived wheel): an editable wheel needs to know which source " +
              "file each member comes from. Give the python_wheel in build_mode = \"direct\" " +
              "that the wheel is built from.") % (ctx.label, ctx.attr.wheel.label))
    files = []
    runfiles = [info.contents.dist_info]
    for wheel_path in sorted(info.contents.files):
        f = info.contents.files[wheel_path]
        files.append({
            "path": wheel_path,
            "runfile": _runfiles_path(f),
            # Files of the main repository live in the workspace; everything
            # else (generated files, other repositories) where Bazel put it.
            "workspace": f.is_source and f.owner != None and f.owner.workspace_name == "",
        })
        runfiles.append(f)
    trees = []
    for prefix in sorted(info.contents.trees):
        f = info.contents.trees[prefix]
        trees.append({"path": prefix, "runfile": _runfiles_path(f)})
        runfiles.append(f)
    manifest = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(manifest, json.encode({
        "target": str(ctx.attr.wheel.label),
        "wheel_name": info.wheel.basename,
        "distribution": info.normalized_distribution,
        "version": info.version,
        "finder": editable_module_name(info.normalized_distribution, info.version),
        "dist_info": _runfiles_path(info.contents.dist_info),
        "dist_info_name": info.contents.dist_info_name,
        "files": files,
        "trees": trees,
    }))
    return [DefaultInfo(
        files = depset([manifest]),
        runfiles = ctx.runfiles(files = [manifest] + runfiles),
    )]

editable_manifest = rule(
    implementation = _editable_manifest_impl,
    attrs = {
        "wheel": attr.label(
            mandatory = True,
            providers = [PyWheelInfo],
            doc = "The `python_wheel` (direct mode) whose editable twin this is.",
        ),
    },
    doc = "The runfiles-relative file map of a `python_wheel`, for `python_editable_wheel`'s binary. Internal.",
)

def python_editable_wheel(name, wheel, tags = [], **kwargs):
    """`bazel run` target that writes the PEP 660 editable twin of a `python_wheel`.

    `bazel run //pkg:wheel.editable -- [DIR]` writes `DIR/<wheel file name>`
    (DIR relative to where bazel was run; default `dist`) and prints its
    path; `pip install DIR/<wheel file name>` installs it.

    ```starlark
    python_editable_wheel(name = "wheel.editable", wheel = ":wheel")
    ```

    Args:
      name: target name; `<wheel>.editable` by convention.
      wheel: a `python_wheel` target in `build_mode = "direct"`.
      tags: tags; `manual` is always added, so `bazel build //...` skips it.
      **kwargs: passed to the `py_binary` (`visibility`, `testonly`, ...).
    """
    manifest = name + ".manifest"
    editable_manifest(
        name = manifest,
        wheel = wheel,
        tags = tags + ([] if "manual" in tags else ["manual"]),
        testonly = kwargs.get("testonly", False),
        visibility = ["//visibility:private"],
    )
    py_binary(
        name = name,
        srcs = [_MAIN],
        main = _MAIN,
        args = ["--manifest", "$(rootpath :%s)" % manifest],
        data = [":" + manifest],
        python_version = "PY3",
        tags = tags + ([] if "manual" in tags else ["manual"]),
        deps = [_LIB],
        **kwargs
    )
