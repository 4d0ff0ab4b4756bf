"""`installed_wheel_test`: pip-install a wheel into fresh virtual environments and test it.

Like cibuildwheel's `test-command`: for each interpreter (a hermetic Python
hub repository, e.g. `@python_3_10`), the test makes a new virtual
environment, installs the wheel and its wheel dependencies with `pip install
--no-index` (pip from the interpreter's own ensurepip), and runs a script or
a pytest suite with `-I` from an empty temporary directory, with no
PYTHONPATH: the package can only come from the installed wheel.
"""

load(":abi3.bzl", "limited_api_minor")
load(":compat.bzl", "PyRuntimeInfo")
load(":launcher.bzl", "launcher_header", "runfiles_path", "shell_quote")
load(":providers.bzl", "PyWheelInfo")

def _in_runfiles(ctx, file):
    """The file's path as a shell word, below the runfiles root `$R`."""
    return "\"$R\"/" + shell_quote(runfiles_path(ctx.workspace_name, file))

def _wheel_tags(target, wheel):
    if PyWheelInfo in target:
        info = target[PyWheelInfo]
        return info.python_tag, info.abi_tag
    parts = wheel.basename[:-len(".whl")].split("-")
    if len(parts) < 5:
        return "", ""
    return parts[-3], parts[-2]

def check_interpreter(label, wheel_name, python_tag, abi_tag, interpreter_python_tag, interpreter_abi_tag, python):
    """Why `python` cannot install the wheel, or "" when it can.

    Args:
      label: the test's label, for messages.
      wheel_name: the wheel's file name.
      python_tag: the wheel's python tag(s), `.`-separated.
      abi_tag: the wheel's abi tag(s), `.`-separated.
      interpreter_python_tag: the interpreter's python tag, e.g. `cp311`.
      interpreter_abi_tag: the interpreter's abi tag, e.g. `cp311`, `cp313t`.
      python: the interpreter's repository, for messages.

    Returns:
      The error message, or "".
    """
    if not interpreter_python_tag:
        return "%s: the tags of %s are unknown (its python tags toolchain has none): give a hermetic_python hub whose interpreter can be introspected" % (label, python)
    abis = abi_tag.split(".")
    if "abi3" in abis:
        minors = [limited_api_minor(t) for t in python_tag.split(".")]
        baseline = min(minors) if minors else -1
        if interpreter_abi_tag.endswith("t"):
            return "%s: %s is free-threaded (%s), which loads no abi3 extensions; %s is an abi3 wheel: drop it from pythons" % (label, python, interpreter_abi_tag, wheel_name)
        if limited_api_minor(interpreter_python_tag) < baseline:
            return "%s: %s is %s, older than CPython 3.%d, the oldest %s supports (its tag %s-abi3): pip would refuse it; give interpreters from 3.%d on" % (label, python, interpreter_python_tag, baseline, wheel_name, python_tag, baseline)
        return ""
    if abis == ["none"]:
        return ""
    if interpreter_abi_tag not in abis or interpreter_python_tag not in python_tag.split("."):
        return "%s: %s is %s-%s, but %s is tagged %s-%s: pip would refuse it; test it on the interpreter it was built for, or build an abi3 wheel (py_limited_api) to test it on several" % (label, python, interpreter_python_tag, interpreter_abi_tag, wheel_name, python_tag, abi_tag)
    return ""

def _installed_wheel_test_impl(ctx):
    wheel = ctx.attr.wheel[PyWheelInfo].wheel if PyWheelInfo in ctx.attr.wheel else ctx.file.wheel
    python_tag, abi_tag = _wheel_tags(ctx.attr.wheel, wheel)
    if not ctx.attr.runtimes:
        fail("%s: give at least one interpreter in pythons (e.g. [\"@python_3_10\"])" % ctx.label)
    if len(ctx.attr.runtimes) != len(ctx.attr.python_tags):
        fail("%s: runtimes and python_tags must name the same interpreters, in the same order" % ctx.label)
    if not ctx.file.main and not ctx.files.srcs:
        fail("%s: give main (a script run as `python -I main.py`) or srcs (test files run by pytest, which deps_wheels must then provide)" % ctx.label)

    runner = ctx.file._runner
    common = ["--label", shell_quote(str(ctx.label)), "--wheel", _in_runfiles(ctx, wheel)]
    for dep in ctx.files.deps_wheels:
        common += ["--dep", _in_runfiles(ctx, dep)]
    for src in ctx.files.srcs:
        common += ["--src", _in_runfiles(ctx, src)]
    if ctx.file.main:
        common += ["--main", _in_runfiles(ctx, ctx.file.main)]
    common_text = " ".join(common)
    args_text = " ".join([shell_quote(a) for a in ctx.attr.test_args])

    lines = launcher_header(ctx.label, "installed_wheel_test", "R")
    runfiles = [wheel, runner, ctx.file.main] if ctx.file.main else [wheel, runner]
    runfiles += ctx.files.deps_wheels + ctx.files.srcs
    transitive = []
    for runtime_target, tags_target in zip(ctx.attr.runtimes, ctx.attr.python_tags):
        runtime = runtime_target[PyRuntimeInfo]
        tags = tags_target[platform_common.ToolchainInfo].tags
        python = str(runtime_target.label.workspace_name or runtime_target.label)
        error = check_interpreter(ctx.label, wheel.basename, python_tag, abi_tag, tags.python_tag, tags.abi_tag, "@" + python)
        if error:
            fail(error)
        if runtime.interpreter:
            interpreter = _in_runfiles(ctx, runtime.interpreter)
            transitive.append(runtime.files)
            runfiles.append(runtime.interpreter)
        else:
            interpreter = shell_quote(runtime.interpreter_path)
        lines.append("%s -I -B %s %s --python-version %s %s -- %s" % (
            interpreter,
            _in_runfiles(ctx, runner),
            common_text,
            shell_quote(tags.python_version),
            "--python " + shell_quote("@" + python),
            args_text,
        ))
    lines.append("")
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, "\n".join(lines), is_executable = True)
    return [DefaultInfo(
        executable = script,
        runfiles = ctx.runfiles(files = runfiles, transitive_files = depset(transitive = transitive)),
    )]

_installed_wheel_test = rule(
    implementation = _installed_wheel_test_impl,
    test = True,
    doc = "See installed_wheel_test.",
    attrs = {
        "deps_wheels": attr.label_list(allow_files = [".whl"], doc = "Wheels installed with it (its dependencies, pytest)."),
        "main": attr.label(allow_single_file = [".py"], doc = "Script run with `python -I`."),
        "python_tags": attr.label_list(doc = "The `@hub//:tags` python tags toolchains, one per runtime."),
        "runtimes": attr.label_list(providers = [PyRuntimeInfo], doc = "The `@hub//:py3_runtime` targets of the interpreters."),
        "srcs": attr.label_list(allow_files = [".py"], doc = "Test files (copied next to main, or run by pytest)."),
        "test_args": attr.string_list(doc = "Arguments of main, or of pytest."),
        "wheel": attr.label(allow_single_file = [".whl"], mandatory = True, doc = "A python_wheel target or a .whl file."),
        "_runner": attr.label(default = Label("//tools:installed_wheel_test.py"), allow_single_file = True, doc = "The runner."),
    },
)

def installed_wheel_test(
        name,
        wheel,
        pythons,
        main = None,
        srcs = [],
        deps_wheels = [],
        args = [],
        **kwargs):
    """pip-installs `wheel` into a fresh virtual environment of each of `pythons` and tests it there.

    For each interpreter, in order: a new virtual environment (`python -I -m
    venv`, pip from the interpreter's ensurepip), `pip install --no-index` of
    `wheel` and `deps_wheels` (pip resolves the wheel's requirements among
    them only), then `python -I main.py args` (or, without `main`, `python -I
    -m pytest -q -p no:cacheprovider <srcs> args`, pytest coming from
    `deps_wheels`), with `main` and `srcs` copied into an empty temporary
    directory that is also the working directory, `PATH=/usr/bin:/bin` and no
    PYTHONPATH: nothing of the source tree or of Bazel's runfiles is
    importable. Fails at analysis time when pip would refuse the wheel on one
    of the interpreters (an abi3 wheel on an older or free-threaded Python, a
    `cp311` wheel on 3.12).

    Args:
      name: the test's name.
      wheel: a `python_wheel` target or a `.whl` file.
      pythons: hermetic Python hub repositories, e.g. `["@python_3_10",
        "@python_3_11", "@python_3_12"]` (each a `hermetic_python` with one
        version); their `:py3_runtime` and `:tags` targets are used.
      main: a script run with `python -I`; its exit status is the test's.
      srcs: more files copied next to `main`, or the pytest files.
      deps_wheels: wheel files installed with `wheel`: its dependencies
        (`Requires-Dist`), pytest and pytest's dependencies.
      args: arguments of `main` or of pytest.
      **kwargs: common test attributes (`tags`, `size`, `timeout`, ...).
    """
    kwargs.setdefault("size", "medium")
    _installed_wheel_test(
        name = name,
        wheel = wheel,
        runtimes = [python + "//:py3_runtime" for python in pythons],
        python_tags = [python + "//:tags" for python in pythons],
        main = main,
        srcs = srcs,
        deps_wheels = deps_wheels,
        test_args = args,
        **kwargs
    )
