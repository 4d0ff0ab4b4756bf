"""Switches test dependencies between source targets and the built wheel.

```starlark
py_test(
    name = "mypkg_test",
    srcs = ["mypkg_test.py"],
    deps = wheel_or_sources(
        wheel = ["//mypkg:mypkg_import"],  # a py_import of the python_wheel
        sources = ["//mypkg"],  # the py_library the wheel is built from
    ) + ["//testing:helpers"],
)
```

`bazel test //...` tests the sources; with
`--@rules_ml_wheels//python_wheel:wheel_dependency=true` the same tests run
against the wheel's contents.
"""

# A string, not a Label: select() keys must be strings in Bazel 4. Label()
# resolves against this repository whatever the user named it (in Bazel 7
# with bzlmod, str() gives the canonical `@@...` form, which select accepts).
WHEEL_DEPENDENCY_ENABLED = str(Label("//python_wheel:wheel_dependency_enabled"))

def _as_list(value, name):
    if type(value) == "string":
        return [value]
    if type(value) != "list":
        fail("wheel_or_sources: %s must be a label or a list of labels, got %s %r" % (name, type(value), value))
    return value

def wheel_or_sources(wheel, sources):
    """Picks `wheel` when the wheel_dependency flag is on, else `sources`.

    Returns a `select()`, usable for any list attribute of a test or binary:
    `deps`, but also `args`, `data` or `env`-like lists (for example to tell a
    test which variant it runs against). Concatenate it with plain lists
    (`wheel_or_sources(...) + [...]`), never put it inside another `select()`.

    Args:
      wheel: a label or list of labels (typically the `py_import` of the
        built wheel) used with
        `--@rules_ml_wheels//python_wheel:wheel_dependency=true`.
      sources: a label or list of labels (typically the `py_library`
        targets the wheel is built from) used otherwise.

    Returns:
      A select() over the two lists.
    """
    return select({
        WHEEL_DEPENDENCY_ENABLED: _as_list(wheel, "wheel"),
        "//conditions:default": _as_list(sources, "sources"),
    })
