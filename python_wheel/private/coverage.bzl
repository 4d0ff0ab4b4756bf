"""`wheel_test_deps_coverage_test`: the wheel holds every Python file its tests depend on.

An aspect over `deps` and `data` collects the Python source files of the
listed tests (`PyInfo.transitive_sources` where a target has it, `.py` files
of plain file dependencies otherwise). The rule writes them, with the tests
that pulled each in and the wheel's own inputs (for a `python_wheel` built in
direct mode), into a JSON manifest at analysis time; the test
(`//tools:wheel_coverage`) reads it and the wheel's RECORD, and fails naming
every file inside the checked packages that the wheel lacks.
"""

load(":compat.bzl", "PyInfo")
load(":launcher.bzl", "launcher_header", "runfiles_path")
load(":providers.bzl", "PyWheelInfo")
load(":wheel.bzl", "repo_relative_path", "wheel_path")

_TestPySourcesInfo = provider(
    doc = "Python source files a target depends on through deps and data (wheel_test_deps_coverage_test's aspect).",
    fields = {"files": "depset[File]: the `.py` files."},
)

# The attributes the aspect follows: a test's libraries and its data (a
# py_binary run by the test, a filegroup of modules).
_PROPAGATE_ATTRS = ["deps", "data"]

def _py_files(files):
    return [f for f in files if f.extension == "py"]

def _test_py_sources_aspect_impl(target, ctx):
    direct = []
    transitive = []
    if PyInfo in target:
        transitive.append(target[PyInfo].transitive_sources)
    else:
        # A filegroup or genrule of modules, in a test's data.
        direct.extend(_py_files(target[DefaultInfo].files.to_list()))
    for name in _PROPAGATE_ATTRS:
        value = getattr(ctx.rule.attr, name, None)
        if value == None:
            continue
        deps = value if type(value) == "list" else [value]
        for dep in deps:
            if type(dep) != "Target":
                continue
            if _TestPySourcesInfo in dep:
                transitive.append(dep[_TestPySourcesInfo].files)
            else:
                # A source file (aspects do not visit files): take it if Python.
                direct.extend(_py_files(dep[DefaultInfo].files.to_list()))
    return [_TestPySourcesInfo(files = depset(direct, transitive = transitive))]

_test_py_sources_aspect = aspect(
    implementation = _test_py_sources_aspect_impl,
    attr_aspects = _PROPAGATE_ATTRS,
    doc = "Collects the Python source files of a target and of its deps and data, transitively.",
)

def label_text(label):
    """A label as users write it: `//pkg:name` for the main repository (Bazel 7 says `@@//`).

    Args:
      label: a Label.

    Returns:
      The text.
    """
    text = str(label)
    for prefix in ["@@//", "@//"]:
        if text.startswith(prefix):
            return text[len(prefix) - 2:]
    return text

def check_wheel_paths(label, attribute, values):
    """Fails unless every value is a relative `/`-separated path without `..`.

    Args:
      label: the target, for the message.
      attribute: the attribute's name, for the message.
      values: the strings to check.
    """
    for value in values:
        parts = value.rstrip("/").split("/")
        if not value or value.startswith("/") or "\\" in value or ".." in parts or "" in parts:
            fail("%s: %s entry %r is not a relative path; give wheel paths as the wheel has them, e.g. \"mypkg\" or \"mypkg/sub\" (ignore also takes repository paths and globs such as \"mypkg/testing/**\")" % (label, attribute, value))

def _sources(ctx):
    """(short_path -> File, short_path -> sorted test labels) of every test's Python files."""
    files = {}
    tests = {}
    for test in ctx.attr.tests:
        found = test[_TestPySourcesInfo].files.to_list()
        if not found:
            fail("%s: tests: %s has no Python source files (no PyInfo, no .py file in its deps or data); list the py_test, py_binary or py_library targets whose files the wheel must hold" % (label_text(ctx.label), label_text(test.label)))
        for f in found:
            files[f.short_path] = f
            tests.setdefault(f.short_path, [])
            if label_text(test.label) not in tests[f.short_path]:
                tests[f.short_path].append(label_text(test.label))
    return files, tests

def _wheel_test_deps_coverage_test_impl(ctx):
    check_wheel_paths(label_text(ctx.label), "packages", ctx.attr.packages)
    for pattern in ctx.attr.ignore:
        if not pattern.strip():
            fail("%s: ignore has an empty entry; give a repository or wheel path, or a glob such as \"mypkg/testing/**\"" % label_text(ctx.label))
    contents = None
    trees = {}
    if PyWheelInfo in ctx.attr.wheel:
        info = ctx.attr.wheel[PyWheelInfo]
        wheel = info.wheel
        if info.contents:
            contents = {f.short_path: destination for destination, f in info.contents.files.items()}
            trees = {f.short_path: destination for destination, f in info.contents.trees.items()}
    else:
        wheel = ctx.file.wheel
    strip = ctx.attr.strip_path_prefixes
    remaps = ctx.attr.path_remaps
    files, tests = _sources(ctx)
    sources = []
    for short_path in sorted(files.keys()):
        f = files[short_path]
        sources.append({
            "mapped": wheel_path(repo_relative_path(f), strip, remaps),
            "path": repo_relative_path(f),
            "short_path": short_path,
            "tests": sorted(tests[short_path]),
        })
    manifest = ctx.actions.declare_file(ctx.label.name + ".coverage.json")
    ctx.actions.write(manifest, json.encode({
        "contents": contents,
        "explicit_mapping": bool(strip or remaps),
        "ignore": ctx.attr.ignore,
        "label": label_text(ctx.label),
        "packages": ctx.attr.packages,
        "sources": sources,
        "trees": trees,
    }))
    tool = ctx.executable._wheel_coverage
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "\n".join(launcher_header(ctx.label, "wheel_test_deps_coverage_test", "runfiles") + [
            "exec \"$runfiles/%s\" --manifest \"$runfiles/%s\" \"$@\" \"$runfiles/%s\"" % (
                runfiles_path(ctx.workspace_name, tool),
                runfiles_path(ctx.workspace_name, manifest),
                runfiles_path(ctx.workspace_name, wheel),
            ),
            "",
        ]),
    )
    runfiles = ctx.runfiles(files = [wheel, manifest, tool])
    runfiles = runfiles.merge(ctx.attr._wheel_coverage[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(executable = script, files = depset([script, manifest]), runfiles = runfiles),
        OutputGroupInfo(coverage_manifest = depset([manifest])),
    ]

_wheel_test_deps_coverage_test = rule(
    implementation = _wheel_test_deps_coverage_test_impl,
    test = True,
    doc = "Fails when a Python file the tests depend on, inside the wheel's packages, is not in the wheel; see wheel_test_deps_coverage_test.",
    attrs = {
        "ignore": attr.string_list(
            doc = "Files never reported: repository or wheel paths (a directory covers everything below it) or globs (`**` any depth, `*` within a directory).",
        ),
        "packages": attr.string_list(
            doc = "Wheel paths (package directories or modules) whose files are checked; empty: every top-level package and module of the wheel.",
        ),
        "path_remaps": attr.string_dict(
            doc = "As on python_wheel: prefix replacements placing the tests' files in the wheel. Set with strip_path_prefixes when the wheel is a `.whl` file or its mapping cannot be learnt from its inputs.",
        ),
        "strip_path_prefixes": attr.string_list(
            doc = "As on python_wheel: prefixes removed from the tests' repository paths to place them in the wheel.",
        ),
        "tests": attr.label_list(
            doc = "The tests (or libraries) whose transitive Python files the wheel must hold, through deps and data.",
            mandatory = True,
            allow_empty = False,
            aspects = [_test_py_sources_aspect],
        ),
        "wheel": attr.label(
            doc = "A python_wheel target or a .whl file.",
            mandatory = True,
            allow_single_file = [".whl"],
        ),
        "_wheel_coverage": attr.label(
            doc = "The coverage checker (`//tools:wheel_coverage`), run by the test.",
            default = Label("//tools:wheel_coverage"),
            executable = True,
            cfg = "target",
        ),
    },
)

def wheel_test_deps_coverage_test(
        name,
        wheel,
        tests,
        packages = [],
        ignore = [],
        strip_path_prefixes = [],
        path_remaps = {},
        **kwargs):
    """A test that fails when a Python file the tests depend on is missing from the wheel.

    Every Python source file that `tests` depend on transitively (through
    `deps` and `data`; `PyInfo.transitive_sources`), placed in the wheel the
    way python_wheel places files, that lies inside `packages` must be in the
    wheel (its RECORD), unless `ignore` covers it. So tests run against the
    sources cannot pass on a file the wheel forgets. The log names each
    missing file, its wheel path, the tests that pulled it in and the fix.
    See docs/wheel-checks.md.

    Args:
      name: the test's name.
      wheel: a `python_wheel` target or a `.whl` file.
      tests: the tests (or libraries) whose Python files the wheel must hold.
      packages: wheel paths (`"mypkg"`, `"mypkg/sub"`, `"mod.py"`) whose
        files are checked; empty: every top-level package and module of the wheel.
      ignore: files never reported: repository or wheel paths (a directory
        covers what is below it) or globs (`"mypkg/testing/**"`, `"**/conftest.py"`).
      strip_path_prefixes: as on python_wheel, to place the tests' files;
        needed only when the mapping cannot be learnt from the wheel's inputs.
      path_remaps: as on python_wheel, likewise.
      **kwargs: common test attributes (`tags`, `size`, `timeout`, `visibility`, ...).
    """
    kwargs.setdefault("size", "small")
    _wheel_test_deps_coverage_test(
        name = name,
        wheel = wheel,
        tests = tests,
        packages = packages,
        ignore = ignore,
        strip_path_prefixes = strip_path_prefixes,
        path_remaps = path_remaps,
        **kwargs
    )
