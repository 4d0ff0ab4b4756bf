"""The `ml_wheels` module extension: bzlmod access to the WORKSPACE repository rules.

Each tag class calls the same repository rule the WORKSPACE macros use.
"""

load(":compat_repo.bzl", "compat_repository")
load(":helper_deps.bzl", "helper_deps_repository")
load(":hermetic_python.bzl", "hermetic_python_repository", "python_version_spec", "sorted_versions")
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
        "allow_site_packages": attr.bool(doc = "Let Bazel-run programs import from the interpreter's site-packages and user site (not hermetic). Default: they see only the standard library and their Bazel dependencies."),
        "interpreter": attr.string(default = "python3", doc = "Absolute path of a CPython interpreter, or a name looked up on PATH."),
        "name": attr.string(default = "python", doc = "Name of the generated repository; register `@<name>//:all` as toolchains."),
    },
    doc = "Wraps a CPython installed on the machine as Python and python tags toolchains (see `local_python_toolchain`).",
)

_hermetic_python = tag_class(
    attrs = {
        "allow_site_packages": attr.bool(doc = "Let Bazel-run programs import from the chosen interpreter's site-packages and user site (not hermetic). Default: they see only the standard library and their Bazel dependencies."),
        "default_version": attr.string(doc = "The version used when `--repo_env=HERMETIC_PYTHON_VERSION` is not set; one of the hub's `python_version` tags."),
        "name": attr.string(default = "python", doc = "Name of the hub repository; `use_repo` it and register `@<name>//:all` as toolchains."),
        "requirements_lock": attr.string(doc = "Label pattern of the per-version requirements lock; `{version}` becomes `3_12`, `3_13_ft`, ... e.g. `//:requirements_lock_{version}.txt`. Relative labels refer to the main repository."),
        "requirements_locks": attr.string_dict(doc = "Requirements lock label by version name; overrides `requirements_lock`."),
    },
    doc = "Declares a hermetic Python hub: `HERMETIC_PYTHON_VERSION` picks one of its `python_version` tags (see docs/hermetic-python.md).",
)

_python_version = tag_class(
    attrs = {
        "hub": attr.string(default = "python", doc = "The `hermetic_python` hub (declared by the same module) this version belongs to."),
        "interpreter": attr.string(doc = "Instead of an archive: absolute path of a local CPython, or a name looked up on PATH."),
        "sha256": attr.string(doc = "sha256 of the archive (required with `urls`)."),
        "strip_prefix": attr.string(doc = "Directory inside the archive holding `bin/python3`: `python` (install_only) or `python/install` (full archives)."),
        "urls": attr.string_list(doc = "URLs of an interpreter archive in the python-build-standalone layout."),
        "version": attr.string(mandatory = True, doc = "The name `HERMETIC_PYTHON_VERSION` selects it by: `3.12`, `3.13-ft`, or another name such as `system`."),
    },
    doc = "One interpreter of a hermetic Python hub: an archive (urls, sha256, strip_prefix) or a local interpreter.",
)

def _hermetic_python_hubs(module_ctx):
    """Creates the hermetic Python hubs; the root module's declaration of a name wins."""
    hubs = {}
    for module in module_ctx.modules:
        for tag in module.tags.hermetic_python:
            previous = hubs.get(tag.name)
            if previous:
                if previous.module.is_root:
                    continue
                fail("ml_wheels.hermetic_python(name = %r) is declared by both %s and %s; give one hub another name" % (tag.name, previous.module.name, module.name))
            hubs[tag.name] = struct(module = module, tag = tag)
    for name, hub in hubs.items():
        who = "ml_wheels.hermetic_python(name = %r) in %s" % (name, hub.module.name)
        versions = {}
        for tag in hub.module.tags.python_version:
            if tag.hub != name:
                continue
            if tag.version in versions:
                fail("%s: version %r is declared twice" % (who, tag.version))
            versions[tag.version] = python_version_spec(
                who,
                tag.version,
                urls = tag.urls,
                sha256 = tag.sha256,
                strip_prefix = tag.strip_prefix,
                interpreter = tag.interpreter,
            )
        if not versions:
            fail("%s: declare its interpreters with ml_wheels.python_version(hub = %r, version = ..., ...)" % (who, name))
        default = hub.tag.default_version
        if default and default not in versions:
            fail("%s: default_version %r is not among its python_version tags (%s)" % (who, default, ", ".join(sorted_versions(versions.keys()))))
        hermetic_python_repository(
            name = name,
            versions = versions,
            default_version = default,
            requirements_lock = hub.tag.requirements_lock,
            requirements_locks = hub.tag.requirements_locks,
            allow_site_packages = hub.tag.allow_site_packages,
        )
    for module in module_ctx.modules:
        declared = [tag.name for tag in module.tags.hermetic_python]
        for tag in module.tags.python_version:
            if tag.hub not in declared:
                fail("ml_wheels.python_version(hub = %r, version = %r) in %s: that module declares no ml_wheels.hermetic_python(name = %r)" % (tag.hub, tag.version, module.name, tag.hub))

def _ml_wheels_impl(module_ctx):
    _hermetic_python_hubs(module_ctx)
    wheelhouse = ""
    for module in module_ctx.modules:
        for tag in module.tags.helper_deps:
            if module.is_root:
                wheelhouse = tag.wheelhouse
        for tag in module.tags.version_suffix:
            python_wheel_version_suffix_repository(name = tag.name)
        for tag in module.tags.local_python:
            local_python_toolchain_repository(name = tag.name, interpreter = tag.interpreter, allow_site_packages = tag.allow_site_packages)

    # Under bzlmod rules_python is always a dependency of rules_ml_wheels.
    compat_repository(name = "rules_ml_wheels_compat", use_rules_python = True)
    helper_deps_repository(name = "rules_ml_wheels_helper_deps", wheelhouse = wheelhouse)

ml_wheels = module_extension(
    implementation = _ml_wheels_impl,
    tag_classes = {
        "helper_deps": _helper_deps,
        "hermetic_python": _hermetic_python,
        "local_python": _local_python,
        "python_version": _python_version,
        "version_suffix": _version_suffix,
    },
    doc = """Repositories of rules_ml_wheels for bzlmod users.

```starlark
ml_wheels = use_extension("@rules_ml_wheels//python_wheel:extensions.bzl", "ml_wheels")
ml_wheels.local_python(name = "python")
ml_wheels.version_suffix(name = "wheel_version_suffix")
use_repo(ml_wheels, "python", "wheel_version_suffix")

register_toolchains("@python//:all")
```

Hermetic Python (one interpreter per `--repo_env=HERMETIC_PYTHON_VERSION`):

```starlark
ml_wheels.hermetic_python(name = "python", default_version = "3.12")
ml_wheels.python_version(version = "3.12", urls = [...], sha256 = "...", strip_prefix = "python")
ml_wheels.python_version(version = "system", interpreter = "python3")
use_repo(ml_wheels, "python")

register_toolchains("@python//:all")
```""",
)
