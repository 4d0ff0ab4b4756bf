"""The `ml_wheels` module extension: bzlmod access to the WORKSPACE repository rules.

Each tag class calls the same repository rule the WORKSPACE macros use.
"""

load(":compat_repo.bzl", "compat_repository")
load(":helper_deps.bzl", "helper_deps_repository")
load(":python_toolchain.bzl", "local_python_toolchain_repository")
load(":version_suffix.bzl", "python_wheel_version_suffix_repository")

_helper_deps = tag_class(
    attrs = {
        "wheelhouse": attr.string(doc = "Absolute path of a directory with the locked wheels (air-gapped builds). `--repo_env=ML_WHEELS_WHEELHOUSE=DIR` overrides it."),
    },
    doc = "Configures the helpers' dependency repository. Only the root module's tag is used.",
)

_version_suffix = tag_class(
    attrs = {
        "name": attr.string(default = "wheel_version_suffix", doc = "Name of the repository holding `wheel_version_suffix.bzl`."),
    },
    doc = "Declares a `python_wheel_version_suffix_repository` (ML_WHEEL_* from `--repo_env`).",
)

_local_python = tag_class(
    attrs = {
        "interpreter": attr.string(default = "python3", doc = "Absolute path of a CPython interpreter, or a name looked up on PATH."),
        "name": attr.string(default = "python", doc = "Name of the generated repository; register `@<name>//:all` as toolchains."),
    },
    doc = "Wraps a CPython installed on the machine as Python and python tags toolchains (see `local_python_toolchain`).",
)

def _ml_wheels_impl(module_ctx):
    wheelhouse = ""
    for module in module_ctx.modules:
        for tag in module.tags.helper_deps:
            if module.is_root:
                wheelhouse = tag.wheelhouse
        for tag in module.tags.version_suffix:
            python_wheel_version_suffix_repository(name = tag.name)
        for tag in module.tags.local_python:
            local_python_toolchain_repository(name = tag.name, interpreter = tag.interpreter)

    # Under bzlmod rules_python is always a dependency of rules_ml_wheels.
    compat_repository(name = "rules_ml_wheels_compat", use_rules_python = True)
    helper_deps_repository(name = "rules_ml_wheels_helper_deps", wheelhouse = wheelhouse)

ml_wheels = module_extension(
    implementation = _ml_wheels_impl,
    tag_classes = {
        "helper_deps": _helper_deps,
        "local_python": _local_python,
        "version_suffix": _version_suffix,
    },
    doc = """Repositories of rules_ml_wheels for bzlmod users.

```starlark
ml_wheels = use_extension("@rules_ml_wheels//python_wheel:extensions.bzl", "ml_wheels")
ml_wheels.local_python(name = "python")
ml_wheels.version_suffix(name = "wheel_version_suffix")
use_repo(ml_wheels, "python", "wheel_version_suffix")

register_toolchains("@python//:all")
```""",
)
