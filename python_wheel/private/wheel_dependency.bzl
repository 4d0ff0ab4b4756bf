"""Switches test dependencies between sources, the built wheel and a released wheel.

```starlark
py_test(
    name = "mypkg_test",
    srcs = ["mypkg_test.py"],
    deps = wheel_or_sources(
        wheel = ["//mypkg:mypkg_import"],  # a py_import of the python_wheel
        sources = ["//mypkg"],  # the py_library the wheel is built from
        released = ["@pypi//mypkg"],  # optional: the pinned release
    ) + ["//testing:helpers"],
)
```

`bazel test //...` tests the sources; with
`--@rules_ml_wheels//python_wheel:wheel_dependency=true` the same tests run
against the wheel's contents, with `=released` against the released wheel
(JAX's `build_jaxlib = false | true | wheel`, in one flag).
"""

# Strings, not Labels: select() keys must be strings in Bazel 4. Label()
# resolves against this repository whatever the user named it (in Bazel 7
# with bzlmod, str() gives the canonical `@@...` form, which select accepts).
WHEEL_DEPENDENCY_ENABLED = str(Label("//python_wheel:wheel_dependency_enabled"))
WHEEL_DEPENDENCY_RELEASED = str(Label("//python_wheel:wheel_dependency_released"))
WHEEL_DEPENDENCY_SOURCES = str(Label("//python_wheel:wheel_dependency_sources"))

_FLAG = "--@rules_ml_wheels//python_wheel:wheel_dependency"

def _as_list(value, name):
    if type(value) == "string":
        return [value]
    if type(value) != "list":
        fail("wheel_or_sources: %s must be a label or a list of labels, got %s %r" % (name, type(value), value))
    return value

def wheel_or_sources(wheel, sources, released = None):
    """Picks `sources`, `wheel` or `released` by the wheel_dependency flag.

    Returns a `select()`, usable for any list attribute of a test or binary:
    `deps`, but also `args`, `data` or `env`-like lists (for example to tell a
    test which variant it runs against). Concatenate it with plain lists
    (`wheel_or_sources(...) + [...]`), never put it inside another `select()`.

    Args:
      wheel: a label or list of labels (typically the `py_import` of the
        built wheel) used with
        `--@rules_ml_wheels//python_wheel:wheel_dependency=true`.
      sources: a label or list of labels (typically the `py_library`
        targets the wheel is built from) used with `=false`, the default.
      released: a label or list of labels giving a released wheel of the same
        distribution from a pinned requirement (`requirement("mypkg")` of a
        rules_python pip hub, or a `py_import` of a pinned `.whl`), used
        with `=released`. Without it, `=released` fails the analysis of
        this target, naming the attribute.

    Returns:
      A select() over the lists.
    """
    branches = {
        WHEEL_DEPENDENCY_ENABLED: _as_list(wheel, "wheel"),
        WHEEL_DEPENDENCY_SOURCES: _as_list(sources, "sources"),
    }
    if released != None:
        branches[WHEEL_DEPENDENCY_RELEASED] = _as_list(released, "released")
    return select(
        branches,
        no_match_error = (
            "%s=released, but this wheel_or_sources() has no `released` list: add " +
            "released = [...] (requirement(\"<dist>\") of a pip hub, or a py_import of a pinned " +
            ".whl), or use %s=true (the built wheel) or =false (the sources)"
        ) % (_FLAG, _FLAG),
    )
