"""`verify_manylinux_compliance_test`: a test that a wheel meets its manylinux tag."""

load(":launcher.bzl", "launcher_header", "runfiles_path", "shell_quote")
load(":providers.bzl", "PyWheelInfo")

_ARCHES = ["x86_64", "aarch64", "ppc64le"]

def _compliance_test_impl(ctx):
    if PyWheelInfo in ctx.attr.wheel:
        wheel = ctx.attr.wheel[PyWheelInfo].wheel
    else:
        wheel = ctx.file.wheel
    tags = {
        "aarch64": ctx.attr.aarch64_compliance_tag,
        "ppc64le": ctx.attr.ppc64le_compliance_tag,
        "x86_64": ctx.attr.x86_64_compliance_tag,
    }
    if not [tag for tag in tags.values() if tag]:
        fail("%s: give the tag the wheel must meet for its architecture: x86_64_compliance_tag, aarch64_compliance_tag and/or ppc64le_compliance_tag (e.g. \"manylinux_2_17\")" % ctx.label)
    args = []
    for arch in _ARCHES:
        args.append("--expect-by-arch=%s=%s" % (arch, tags[arch]))
    for pattern in ctx.attr.exclude:
        args.append("--exclude=" + pattern)
    tool = ctx.executable._audit_wheel
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "\n".join(launcher_header(ctx.label, "verify_manylinux_compliance_test", "runfiles") + [
            "exec \"$runfiles/%s\" %s \"$@\" \"$runfiles/%s\"" % (
                runfiles_path(ctx.workspace_name, tool),
                " ".join([shell_quote(a) for a in args]),
                runfiles_path(ctx.workspace_name, wheel),
            ),
            "",
        ]),
    )
    runfiles = ctx.runfiles(files = [wheel, tool])
    runfiles = runfiles.merge(ctx.attr._audit_wheel[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

_compliance_test = rule(
    implementation = _compliance_test_impl,
    test = True,
    doc = "Runs audit_wheel on `wheel`; see verify_manylinux_compliance_test.",
    attrs = {
        "aarch64_compliance_tag": attr.string(doc = "The tag an aarch64 wheel must meet."),
        "exclude": attr.string_list(doc = "Soname patterns provided at runtime by other wheels."),
        "ppc64le_compliance_tag": attr.string(doc = "The tag a ppc64le wheel must meet."),
        "wheel": attr.label(
            doc = "A python_wheel target or a .whl file.",
            mandatory = True,
            allow_single_file = [".whl"],
        ),
        "x86_64_compliance_tag": attr.string(doc = "The tag an x86_64 wheel must meet."),
        "_audit_wheel": attr.label(
            doc = "The audit tool.",
            default = Label("//tools:audit_wheel"),
            executable = True,
            cfg = "target",
        ),
    },
)

def verify_manylinux_compliance_test(
        name,
        wheel,
        x86_64_compliance_tag = "",
        aarch64_compliance_tag = "",
        ppc64le_compliance_tag = "",
        exclude = [],
        **kwargs):
    """A test that passes when `wheel` meets the tag given for its own architecture.

    The architecture is read from the wheel's ELF files (a wheel cross-compiled
    for aarch64 is checked against `aarch64_compliance_tag` on any machine).
    A wheel meeting a more compatible policy than asked passes (manylinux_2_5
    meets manylinux_2_17); PEP 600 aliases name the same policies
    (manylinux1 = manylinux_2_5, manylinux2010 = manylinux_2_12,
    manylinux2014 = manylinux_2_17); a tag may carry the architecture
    (`manylinux_2_17_x86_64`) or not. A pure wheel passes. On failure the test
    log says which file needs which symbol version, which external library is
    not allowed, which blacklisted symbol or ISA extension was found.

    The wheel must also meet every manylinux/musllinux tag it claims (its file
    name and its WHEEL file's `Tag:` lines, which must agree; `linux_*` claims
    nothing), whatever tag is asked for here; every member is audited
    (RECORD must list them all), and a RUNPATH/RPATH entry of a shipped ELF
    file that leads outside the wheel fails the test. See docs/compliance.md.

    The policies are auditwheel's (its pinned version's policy data); the
    analysis is `//tools:audit_wheel`, which gives the verdict `auditwheel
    show` gives.

    Args:
      name: the test's name.
      wheel: a `python_wheel` target or a `.whl` file.
      x86_64_compliance_tag: the tag an x86_64 wheel must meet, e.g.
        `manylinux_2_17` or `manylinux2014`; empty fails the test for such a wheel.
      aarch64_compliance_tag: the same for aarch64.
      ppc64le_compliance_tag: the same for ppc64le.
      exclude: soname patterns (fnmatch) of libraries that wheels this one
        depends on provide at runtime, never counted as external, e.g.
        `["libcuda.so.*", "libcublas*.so.*", "libcudnn*"]` for a CUDA wheel
        that depends on NVIDIA's wheels.
      **kwargs: common test attributes (`tags`, `size`, `timeout`, `visibility`, ...).
    """
    kwargs.setdefault("size", "small")
    _compliance_test(
        name = name,
        wheel = wheel,
        x86_64_compliance_tag = x86_64_compliance_tag,
        aarch64_compliance_tag = aarch64_compliance_tag,
        ppc64le_compliance_tag = ppc64le_compliance_tag,
        exclude = exclude,
        **kwargs
    )
