"""`wheel_dist` and `wheel_publish`: get built wheels and sdists out of Bazel.

`bazel run //pkg:wheel.dist -- DIR` copies them into a directory;
`bazel run //pkg:wheel.publish` uploads them with twine.
"""

load(":compat.bzl", "py_binary")

_MAIN = Label("//tools:wheel_dist.py")
_LIB = Label("//tools:ml_wheels")

def _files_args(srcs):
    return ["--files"] + ["$(rootpaths %s)" % src for src in srcs] + ["--end-files"]

def _manual(tags):
    return tags + ([] if "manual" in tags else ["manual"])

def wheel_dist(name, srcs, tags = [], **kwargs):
    """`bazel run` target that copies wheels and sdists into a directory.

    `bazel run //pkg:wheel.dist -- DIR` creates DIR if needed (relative to
    where bazel was run) and copies each file under its own name; a different
    file of the same name is an error unless `--force` follows.

    ```starlark
    wheel_dist(name = "wheel.dist", srcs = [":wheel", ":sdist"])
    ```

    Args:
      name: target name; `<wheel>.dist` by convention (rules_python's).
      srcs: `python_wheel`, `python_sdist` or other targets whose files are `.whl`/`.tar.gz`.
      tags: tags; `manual` is always added, so `bazel build //...` skips it.
      **kwargs: passed to the `py_binary` (`visibility`, `testonly`, ...).
    """
    py_binary(
        name = name,
        srcs = [_MAIN],
        main = _MAIN,
        args = ["copy"] + _files_args(srcs),
        data = srcs,
        python_version = "PY3",
        tags = _manual(tags),
        deps = [_LIB],
        **kwargs
    )

def wheel_publish(name, srcs, twine, publish_args = [], tags = [], **kwargs):
    """`bazel run` target that uploads wheels and sdists with `twine upload`.

    The repository and credentials come from the environment of `bazel run`,
    never from the build: `TWINE_REPOSITORY_URL` (or `TWINE_REPOSITORY` with
    a `~/.pypirc`), `TWINE_USERNAME`, `TWINE_PASSWORD`. Without a repository
    it refuses to run (no upload to PyPI by default). Arguments after `--`
    go to `twine upload`.

    ```starlark
    wheel_publish(name = "wheel.publish", srcs = [":wheel"], twine = requirement("twine"))
    ```

    Args:
      name: target name; `<wheel>.publish` by convention (rules_python's).
      srcs: `python_wheel`, `python_sdist` or other targets whose files are `.whl`/`.tar.gz`.
      twine: a `py_library` (or `py_import`) giving twine and its dependencies, e.g. `requirement("twine")` of a rules_python pip hub; keyring is optional.
      publish_args: extra `twine upload` arguments, e.g. `["--skip-existing"]`.
      tags: tags; `manual` is always added.
      **kwargs: passed to the `py_binary`.
    """
    py_binary(
        name = name,
        srcs = [_MAIN],
        main = _MAIN,
        args = ["publish"] + _files_args(srcs) + publish_args,
        data = srcs,
        python_version = "PY3",
        tags = _manual(tags),
        deps = [_LIB, twine],
        **kwargs
    )
