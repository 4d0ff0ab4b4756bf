"""The `python_sdist` rule: a reproducible source distribution of a `python_wheel`."""

load(":providers.bzl", "PyWheelInfo")

def sdist_filename(normalized_distribution, version):
    """The PEP 625 file name of an sdist.

    Args:
      normalized_distribution: the escaped name (`PyWheelInfo.normalized_distribution`).
      version: the normalized version.

    Returns:
      `{normalized_distribution}-{version}.tar.gz`.
    """
    return "%s-%s.tar.gz" % (normalized_distribution, version)

def _python_sdist_impl(ctx):
    info = ctx.attr.wheel[PyWheelInfo]
    if info.contents == None:
        fail("%s: wheel %s is built with build_mode = \"pep517\", whose contents setuptools decides; python_sdist needs a build_mode = \"direct\" python_wheel" % (ctx.label, ctx.attr.wheel.label))
    if info.platform_tag != "any":
        fail("%s: wheel %s has platform tag %r; python_sdist makes sdists of pure wheels only (platform_tag empty or \"any\"): an sdist of prebuilt binaries cannot be rebuilt from source" % (ctx.label, ctx.attr.wheel.label, info.platform_tag))
    specs = ctx.attr.wheel[OutputGroupInfo].wheel_spec.to_list()
    if len(specs) != 1:
        fail("%s: wheel %s has %d wheel_spec files; expected one" % (ctx.label, ctx.attr.wheel.label, len(specs)))
    sdist = ctx.actions.declare_file(sdist_filename(info.normalized_distribution, info.version))
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--spec", specs[0])
    args.add("--dist-info", info.contents.dist_info.path)
    args.add("--backend", ctx.file._backend)
    inputs = [specs[0], info.contents.dist_info, ctx.file._backend]
    for destination, f in sorted(info.contents.files.items()):
        args.add_all("--file", [destination, f])
        inputs.append(f)
    for destination, f in sorted(info.contents.trees.items()):
        args.add_all("--tree", [destination, f], expand_directories = False)
        inputs.append(f)
    args.add("--output", sdist)
    ctx.actions.run(
        executable = ctx.executable._sdist,
        arguments = [args],
        inputs = inputs,
        outputs = [sdist],
        mnemonic = "PythonSdist",
        progress_message = "Building sdist %s (%s)" % (sdist.basename, ctx.label),
    )
    return [DefaultInfo(files = depset([sdist]), runfiles = ctx.runfiles(files = [sdist]))]

python_sdist = rule(
    implementation = _python_sdist_impl,
    attrs = {
        "wheel": attr.label(
            mandatory = True,
            providers = [PyWheelInfo],
            doc = "The pure, `build_mode = \"direct\"` `python_wheel` whose sources and metadata the sdist holds.",
        ),
        "_backend": attr.label(default = Label("//tools:ml_wheels/sdist/backend.py"), allow_single_file = True),
        "_sdist": attr.label(default = Label("//tools:sdist"), executable = True, cfg = "exec"),
    },
    doc = """Builds `{normalized name}-{version}.tar.gz` (PEP 625) from a `python_wheel`.

The sdist holds the wheel's files at their wheel paths, `PKG-INFO` (the
wheel's `METADATA`, byte for byte), license files at its root, a
`pyproject.toml` and a small standard-library PEP 517 backend that packs the
same wheel again: `pip install` needs no index. Reproducible: sorted members,
fixed mtime (1980-01-01), uid/gid 0, modes 0644/0755, gzip header without
file name and with mtime 0.""",
)
