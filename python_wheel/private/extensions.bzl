"""The `ml_wheels` module extension: bzlmod access to the WORKSPACE repository rules.

Each tag class calls the same repository rule the WORKSPACE macros use. Any
module may use the extension; for a repository name declared by several
modules the root module's tag wins, identical tags of other modules are one
repository, and different ones fail naming both modules
(`resolve_repositories`). The extension reports the root module's
repositories through `module_ctx.extension_metadata`, so Bazel checks its
`use_repo` and `bazel mod tidy` can fix it.
"""

load("//python_wheel/private:libdeflate.bzl", "LIBDEFLATE_CPUS", "libdeflate_repositories", "libdeflate_repository_name")
load("//python_wheel/private/cc:extension.bzl", "LLVM_TAG", "SYSROOT_CC_TAG", "ZIG_CC_TAG", "ZIG_SDK_TAG", "cc_repositories_from_tags")
load("//python_wheel/private/cuda:extension.bzl", "CUDA_TOOLKIT_TAG", "declare_cuda_toolkits")
load("//python_wheel/private/emulation:extension.bzl", "EMULATION_TAG_ATTRS", "emulation_declaration", "emulation_repositories_from_declaration")
load("//python_wheel/private/repair:patchelf.bzl", "PATCHELF_CPUS", "patchelf_repositories", "patchelf_repository_name")
load(":compat_repo.bzl", "compat_repository")
load(":helper_deps.bzl", "helper_deps_repository")
load(":hermetic_python.bzl", "hermetic_python_repository", "python_version_spec", "sorted_versions")
load(":python_toolchain.bzl", "local_python_toolchain_repository")
load(":version_file.bzl", "VERSION_FILE_TAG_ATTRS", "VERSION_FILE_TAG_DOC", "version_file_declaration", "version_file_repository")
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
    doc = "Declares a `python_wheel_version_suffix_repository` (ML_WHEEL_* from `--repo_env`). Several modules may declare the same name: it is one repository.",
)

_version_file = tag_class(
    attrs = VERSION_FILE_TAG_ATTRS,
    doc = VERSION_FILE_TAG_DOC,
)

_emulation = tag_class(
    attrs = EMULATION_TAG_ATTRS,
    doc = "Declares qemu-aarch64-static and an arm64 Python root for `emulated_py_test` (see `emulation_repositories` and docs/emulation.md). Names resolve as for the other tags.",
)

_local_python = tag_class(
    attrs = {
        "allow_site_packages": attr.bool(doc = "Let Bazel-run programs import from the interpreter's site-packages and user site (not hermetic). Default: they see only the standard library and their Bazel dependencies."),
        "interpreter": attr.string(default = "python3", doc = "Absolute path of a CPython interpreter, or a name looked up on PATH."),
        "name": attr.string(default = "python", doc = "Name of the generated repository; register `@<name>//:all` as toolchains."),
    },
    doc = "Wraps a CPython installed on the machine as Python and python tags toolchains (see `local_python_toolchain`). For a name several modules declare, the root module's tag wins; identical tags of other modules are one repository, different ones an error.",
)

_hermetic_python = tag_class(
    attrs = {
        "allow_site_packages": attr.bool(doc = "Let Bazel-run programs import from the chosen interpreter's site-packages and user site (not hermetic). Default: they see only the standard library and their Bazel dependencies."),
        "default_version": attr.string(doc = "The version used when `--repo_env=HERMETIC_PYTHON_VERSION` is not set; one of the hub's `python_version` tags."),
        "name": attr.string(default = "python", doc = "Name of the hub repository; `use_repo` it and register `@<name>//:all` as toolchains."),
        "repo_env_overrides": attr.bool(default = True, doc = "Let `--repo_env=HERMETIC_PYTHON_VERSION` choose this hub's version and the per-build overrides (`HERMETIC_PYTHON_URL`, `_SHA256`, `_STRIP_PREFIX`, `_INTERPRETER`) replace its interpreter. `False`: the hub always gives its `default_version` as declared, whatever the build sets; for hubs of one fixed interpreter, such as those `installed_wheel_test` runs on."),
        "requirements_lock": attr.string(doc = "Label pattern of the per-version requirements lock; `{version}` becomes `3_12`, `3_13_ft`, ... e.g. `//:requirements_lock_{version}.txt`. Relative labels refer to the main repository."),
        "requirements_locks": attr.string_dict(doc = "Requirements lock label by version name; overrides `requirements_lock`."),
    },
    doc = "Declares a hermetic Python hub: `HERMETIC_PYTHON_VERSION` picks one of its `python_version` tags (see docs/hermetic-python.md). For a name several modules declare, the root module's hub wins; identical ones (same attributes and `python_version` tags) of other modules are one hub, different ones an error.",
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

def _hub_versions(module, name):
    """The encoded `python_version` tags of `module` for the hub `name`."""
    who = "ml_wheels.hermetic_python(name = %r) in %s" % (name, module.name)
    versions = {}
    for tag in module.tags.python_version:
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
    return versions

def _declarations(module_ctx):
    """Every repository the modules' tags ask for, as (module, tag, kind, attrs).

    `attrs` is what the repository is made from: two declarations of a name
    with equal kind and attrs are the same repository.
    """
    found = []
    for module in module_ctx.modules:
        for tag in module.tags.python_version:
            if tag.hub not in [hub.name for hub in module.tags.hermetic_python]:
                fail("ml_wheels.python_version(hub = %r, version = %r) in %s: that module declares no ml_wheels.hermetic_python(name = %r)" % (tag.hub, tag.version, module.name, tag.hub))
        for tag in module.tags.hermetic_python:
            versions = _hub_versions(module, tag.name)
            if tag.default_version and tag.default_version not in versions:
                fail("ml_wheels.hermetic_python(name = %r) in %s: default_version %r is not among its python_version tags (%s)" % (tag.name, module.name, tag.default_version, ", ".join(sorted_versions(versions.keys()))))
            if not tag.repo_env_overrides and not tag.default_version:
                fail("ml_wheels.hermetic_python(name = %r) in %s: repo_env_overrides = False needs a default_version: HERMETIC_PYTHON_VERSION does not choose for this hub" % (tag.name, module.name))
            found.append((module, tag, "hermetic_python", {
                "allow_site_packages": tag.allow_site_packages,
                "default_version": tag.default_version,
                "repo_env_overrides": tag.repo_env_overrides,
                "requirements_lock": tag.requirements_lock,
                "requirements_locks": tag.requirements_locks,
                "versions": versions,
            }))
        for tag in module.tags.local_python:
            found.append((module, tag, "local_python", {
                "allow_site_packages": tag.allow_site_packages,
                "interpreter": tag.interpreter,
            }))
        for tag in module.tags.version_suffix:
            found.append((module, tag, "version_suffix", {}))
        for tag in module.tags.version_file:
            found.append((module, tag, "version_file", version_file_declaration(module, tag)))
        for tag in module.tags.emulation:
            found.append((module, tag, "emulation", emulation_declaration(module, tag)))
    return found

def _describe(kind, attrs):
    """The declaration as the user wrote it, for messages."""
    fields = ["%s = %r" % (key, attrs[key]) for key in sorted(attrs.keys()) if key != "versions"]
    if "versions" in attrs:
        fields.append("python_version tags %s" % ", ".join(sorted_versions(attrs["versions"].keys())))
    return "ml_wheels.%s(%s)" % (kind, ", ".join(fields))

def resolve_repositories(declarations):
    """Decides which declaration makes each repository name.

    The rule, for every tag class that names a repository (`emulation`,
    `hermetic_python`, `local_python`, `version_file`, `version_suffix`):
    the root module's declaration of a name wins over every other module's;
    declarations of a name by other modules that are identical (same tag class, same attributes, for a hub
    the same `python_version` tags) are one repository; different ones are
    an error naming both modules. One module may declare a name only once.

    Args:
      declarations: (module, tag, kind, attrs) tuples of `_declarations`,
        where module has `name` and `is_root`.

    Returns:
      A dict from repository name to the winning (module, tag, kind, attrs).
    """
    chosen = {}
    for declaration in declarations:
        module, tag, kind, attrs = declaration
        name = tag.name
        previous = chosen.get(name)
        if not previous:
            chosen[name] = declaration
            continue
        old_module, _, old_kind, old_attrs = previous
        if old_module.name == module.name:
            fail("%s declares the ml_wheels repository %r twice (%s and %s); declare it once or give one another name" % (module.name, name, _describe(old_kind, old_attrs), _describe(kind, attrs)))
        if old_module.is_root:
            continue
        if module.is_root:
            chosen[name] = declaration
            continue
        if old_kind != kind or old_attrs != attrs:
            fail("the ml_wheels repository %r is declared differently by the modules %s (%s) and %s (%s); declare it in the root module (its declaration wins), make the two declarations identical, or give one another name" % (
                name,
                old_module.name,
                _describe(old_kind, old_attrs),
                module.name,
                _describe(kind, attrs),
            ))
    return chosen

def _create(name, kind, attrs):
    if kind == "hermetic_python":
        hermetic_python_repository(name = name, **attrs)
    elif kind == "local_python":
        local_python_toolchain_repository(name = name, **attrs)
    elif kind == "emulation":
        emulation_repositories_from_declaration(name, attrs)
    elif kind == "version_file":
        version_file_repository(name, attrs)
    else:
        python_wheel_version_suffix_repository(name = name)

def _root_direct_deps(module_ctx, declarations, chosen):
    """The repositories the root module declared: (direct deps, dev deps)."""
    direct = []
    dev = []
    for module, tag, _, _ in declarations:
        if not module.is_root or chosen[tag.name][0].name != module.name:
            continue
        if module_ctx.is_dev_dependency(tag):
            dev.append(tag.name)
        else:
            direct.append(tag.name)
    for module in module_ctx.modules:
        if module.is_root and module.name == "rules_ml_wheels":
            # Developing rules_ml_wheels itself: its MODULE.bazel uses these.
            direct.extend(["rules_ml_wheels_compat", "rules_ml_wheels_helper_deps"])
            direct.extend([libdeflate_repository_name(cpu) for cpu in LIBDEFLATE_CPUS])
            direct.extend([patchelf_repository_name(cpu) for cpu in PATCHELF_CPUS])
    return sorted(direct), sorted(dev)

def _ml_wheels_impl(module_ctx):
    declarations = _declarations(module_ctx)
    chosen = resolve_repositories(declarations)
    for name, declaration in chosen.items():
        _create(name, declaration[2], declaration[3])
    wheelhouse = ""
    for module in module_ctx.modules:
        for tag in module.tags.helper_deps:
            if module.is_root:
                wheelhouse = tag.wheelhouse

    # Toolchain repositories: tags of one name add up across modules.
    zig_toolchains = cc_repositories_from_tags(module_ctx)

    # CUDA toolkit hubs: one per name, the root module's declaration first.
    cuda_hubs = declare_cuda_toolkits(module_ctx)

    # Under bzlmod rules_python is always a dependency of rules_ml_wheels.
    compat_repository(name = "rules_ml_wheels_compat", use_rules_python = True)
    helper_deps_repository(name = "rules_ml_wheels_helper_deps", wheelhouse = wheelhouse)
    libdeflate_repositories(wheelhouse = wheelhouse)
    patchelf_repositories(wheelhouse = wheelhouse)

    # Bazel >= 6.2: a use_repo that misses or adds a repository of the root
    # module gets Bazel's fix-up warning, and `bazel mod tidy` can repair it.
    if hasattr(module_ctx, "extension_metadata"):
        direct, dev = _root_direct_deps(module_ctx, declarations, chosen)
        for module in module_ctx.modules:
            if module.is_root:
                for tag in module.tags.zig_cc + module.tags.sysroot_cc:
                    if tag.name in zig_toolchains and tag.name not in direct + dev:
                        (dev if module_ctx.is_dev_dependency(tag) else direct).append(tag.name)
                for tag in module.tags.cuda_toolkit:
                    if tag.name in cuda_hubs and tag.name not in direct + dev:
                        (dev if module_ctx.is_dev_dependency(tag) else direct).append(tag.name)
        return module_ctx.extension_metadata(
            root_module_direct_deps = direct,
            root_module_direct_dev_deps = dev,
        )
    return None

ml_wheels = module_extension(
    implementation = _ml_wheels_impl,
    tag_classes = {
        "cuda_toolkit": CUDA_TOOLKIT_TAG,
        "emulation": _emulation,
        "helper_deps": _helper_deps,
        "hermetic_python": _hermetic_python,
        "llvm": LLVM_TAG,
        "local_python": _local_python,
        "python_version": _python_version,
        "sysroot_cc": SYSROOT_CC_TAG,
        "version_file": _version_file,
        "version_suffix": _version_suffix,
        "zig_cc": ZIG_CC_TAG,
        "zig_sdk": ZIG_SDK_TAG,
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
