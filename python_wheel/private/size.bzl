"""`wheel_size_test` and `wheel_size_report`: size budgets and an HTML size report of a wheel."""

load(":launcher.bzl", "launcher_header", "runfiles_path", "shell_quote")
load(":providers.bzl", "PyWheelInfo")

def _wheel_file(ctx):
    """The .whl file of the `wheel` attribute: a python_wheel target's or the file itself."""
    if PyWheelInfo in ctx.attr.wheel:
        return ctx.attr.wheel[PyWheelInfo].wheel
    return ctx.file.wheel

def _check_mib(ctx, attribute):
    """Fails unless the attribute is a positive decimal number of MiB (`110`, `19.5`).

    Args:
      ctx: the rule context.
      attribute: the attribute's name.

    Returns:
      The value, stripped.
    """
    text = getattr(ctx.attr, attribute).strip()
    digits = text.replace(".", "", 1)
    if not digits or not digits.isdigit() or not [c for c in digits.elems() if c != "0"]:
        fail("%s: %s is %r; give a positive number of MiB, e.g. 110 or 19.5" % (ctx.label, attribute, text))
    return text

def _manifest(ctx, wheel):
    """Declares `<name>.size.json`, the size manifest of `wheel` (what `baseline` reads)."""
    manifest = ctx.actions.declare_file(ctx.label.name + ".size.json")
    ctx.actions.run(
        executable = ctx.executable._wheel_size_exec,
        arguments = ["manifest", "--output", manifest.path, wheel.path],
        inputs = [wheel],
        outputs = [manifest],
        mnemonic = "WheelSizeManifest",
        progress_message = "Writing the size manifest of %s" % wheel.short_path,
    )
    return manifest

def _wheel_size_test_impl(ctx):
    wheel = _wheel_file(ctx)
    max_size = _check_mib(ctx, "max_size_mib")
    max_unpacked = _check_mib(ctx, "max_unpacked_mib")
    manifest = _manifest(ctx, wheel)
    args = [
        "check",
        "--label=%s" % ctx.label,
        "--max-size-mib=" + max_size,
        "--max-unpacked-mib=" + max_unpacked,
        "--manifest-hint=bazel-bin/" + manifest.short_path,
    ]
    runfiles_files = [wheel, ctx.executable._wheel_size]
    baseline_arg = ""
    if ctx.file.baseline:
        args.append("--baseline-name=" + ctx.file.baseline.short_path)
        baseline_arg = "--baseline=\"$runfiles\"/%s " % shell_quote(runfiles_path(ctx.workspace_name, ctx.file.baseline))
        runfiles_files.append(ctx.file.baseline)
    tool = ctx.executable._wheel_size
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "\n".join(launcher_header(ctx.label, "wheel_size_test", "runfiles") + [
            "exec \"$runfiles/%s\" %s %s\"$@\" \"$runfiles/%s\"" % (
                runfiles_path(ctx.workspace_name, tool),
                " ".join([shell_quote(a) for a in args]),
                baseline_arg,
                runfiles_path(ctx.workspace_name, wheel),
            ),
            "",
        ]),
    )
    runfiles = ctx.runfiles(files = runfiles_files)
    runfiles = runfiles.merge(ctx.attr._wheel_size[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(executable = script, files = depset([script, manifest]), runfiles = runfiles),
        OutputGroupInfo(size_manifest = depset([manifest])),
    ]

_TOOL_DOC = "The size tool (`//tools:wheel_size`)."

_wheel_size_test = rule(
    implementation = _wheel_size_test_impl,
    test = True,
    doc = "Checks `wheel` against a size budget; see wheel_size_test.",
    attrs = {
        "baseline": attr.label(
            doc = "A size manifest (`<name>.size.json` of an earlier build) to report growth against.",
            allow_single_file = [".json"],
        ),
        "max_size_mib": attr.string(
            doc = "Largest wheel file, in MiB (2**20 bytes), as a decimal number.",
            mandatory = True,
        ),
        "max_unpacked_mib": attr.string(
            doc = "Largest sum of the members' uncompressed sizes, in MiB, as a decimal number.",
            mandatory = True,
        ),
        "wheel": attr.label(
            doc = "A python_wheel target or a .whl file.",
            mandatory = True,
            allow_single_file = [".whl"],
        ),
        "_wheel_size": attr.label(
            doc = _TOOL_DOC + " Run by the test.",
            default = Label("//tools:wheel_size"),
            executable = True,
            cfg = "target",
        ),
        "_wheel_size_exec": attr.label(
            doc = _TOOL_DOC + " Run by the action writing the manifest.",
            default = Label("//tools:wheel_size"),
            executable = True,
            cfg = "exec",
        ),
    },
)

def _mib_string(name, attribute, value):
    """The budget as the rule takes it: a decimal string.

    Args:
      name: the test's name, for the error.
      attribute: the argument's name, for the error.
      value: an int, a float or a string.

    Returns:
      The value as a string.
    """
    kind = type(value)
    if kind == "int" or kind == "float":
        return str(value)
    if kind == "string":
        return value
    fail("wheel_size_test %s: %s must be a number of MiB (110, 19.5 or \"19.5\"), got %r" % (name, attribute, value))

def wheel_size_test(
        name,
        wheel,
        max_size_mib,
        max_unpacked_mib,
        baseline = None,
        **kwargs):
    """A test that fails when `wheel` is larger than its size budget.

    The wheel file must be at most `max_size_mib` MiB and the sum of its
    members' uncompressed sizes (read from the zip central directory) at most
    `max_unpacked_mib` MiB. The test log says, for each, the size, the budget
    and by how much it is over (MiB, bytes and percent), and lists the 10
    largest members, compressed and uncompressed. With a `baseline`, it also
    shows the growth of the wheel and of each member that changed against it
    (new and removed members too), largest change first.

    Building the test (`bazel build //pkg:name`) also writes
    `bazel-bin/pkg/name.size.json`, the wheel's size manifest (also the output
    group `size_manifest`): copy it into the source tree and name it as
    `baseline` to track growth from that build on. See docs/wheel-size.md.

    Args:
      name: the test's name.
      wheel: a `python_wheel` target or a `.whl` file.
      max_size_mib: the largest wheel file in MiB (2**20 bytes): an int, a
        float or a decimal string (`110`, `19.5`, `"19.5"`).
      max_unpacked_mib: the largest sum of the members' uncompressed sizes in MiB.
      baseline: a size manifest (`.json`) from an earlier build to show growth
        against; it never makes the test fail by itself.
      **kwargs: common test attributes (`tags`, `size`, `timeout`, `visibility`, ...).
    """
    kwargs.setdefault("size", "small")
    _wheel_size_test(
        name = name,
        wheel = wheel,
        max_size_mib = _mib_string(name, "max_size_mib", max_size_mib),
        max_unpacked_mib = _mib_string(name, "max_unpacked_mib", max_unpacked_mib),
        baseline = baseline,
        **kwargs
    )

def _wheel_size_report_impl(ctx):
    wheel = _wheel_file(ctx)
    page = ctx.actions.declare_file(ctx.label.name + ".html")
    args = ["report", "--output", page.path]
    if ctx.attr.title:
        args.append("--title=" + ctx.attr.title)
    args.append(wheel.path)
    ctx.actions.run(
        executable = ctx.executable._wheel_size,
        arguments = args,
        inputs = [wheel],
        outputs = [page],
        mnemonic = "WheelSizeReport",
        progress_message = "Writing the size report of %s" % wheel.short_path,
    )
    return [DefaultInfo(files = depset([page]))]

wheel_size_report = rule(
    implementation = _wheel_size_report_impl,
    doc = """Writes `<name>.html`, a self-contained page about what fills `wheel`.

The page opens offline (CSS, script and SVG inline, no external reference):
the wheel's totals, two treemaps of its files by directory (areas
proportional to the uncompressed and to the compressed sizes), the ten
largest shared libraries with the largest sections of each ELF one, and the
ten largest members. The same wheel gives the same bytes. See
docs/wheel-size.md.
""",
    attrs = {
        "title": attr.string(
            doc = "The page's title; empty: the wheel's file name.",
        ),
        "wheel": attr.label(
            doc = "A python_wheel target or a .whl file.",
            mandatory = True,
            allow_single_file = [".whl"],
        ),
        "_wheel_size": attr.label(
            doc = _TOOL_DOC,
            default = Label("//tools:wheel_size"),
            executable = True,
            cfg = "exec",
        ),
    },
)
