"""`rules_ml_wheels_dependencies()`: the library's own dependencies for WORKSPACE users."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//python_wheel/private:libdeflate.bzl", "libdeflate_repositories")
load("//python_wheel/private/repair:patchelf.bzl", "patchelf_repositories")
load(":compat_repo.bzl", "compat_repository")
load(":helper_deps.bzl", "helper_deps_repository")

# buildifier: disable=unnamed-macro
def rules_ml_wheels_dependencies(wheelhouse = None, register_toolchains = True):
    """Declares the repositories rules_ml_wheels needs, unless already declared.

    Call it after declaring your own versions of bazel_skylib or platforms (if
    any) and after `local_python_toolchain()`, whose toolchains must be
    registered first to take precedence over the fallback registered here.

    Args:
      wheelhouse: optional absolute path of a directory holding the helpers'
        locked wheels, for air-gapped builds (see docs/reference.md).
      register_toolchains: register the fallback python tags toolchain, which
        lets pure wheels build with no interpreter toolchain registered.
    """
    maybe(
        http_archive,
        name = "bazel_skylib",
        sha256 = "cd55a062e763b9349921f0f5db8c3933288dc8ba4f76dd9416aac68acee3cb94",
        urls = [
            "https://mirror.bazel.build/github.com/bazelbuild/bazel-skylib/releases/download/1.5.0/bazel-skylib-1.5.0.tar.gz",
            "https://github.com/bazelbuild/bazel-skylib/releases/download/1.5.0/bazel-skylib-1.5.0.tar.gz",
        ],
    )
    maybe(
        http_archive,
        name = "platforms",
        sha256 = "218efe8ee736d26a3572663b374a253c012b716d8af0c07e842e82f238a0a7ee",
        urls = [
            "https://mirror.bazel.build/github.com/bazelbuild/platforms/releases/download/0.0.10/platforms-0.0.10.tar.gz",
            "https://github.com/bazelbuild/platforms/releases/download/0.0.10/platforms-0.0.10.tar.gz",
        ],
    )
    maybe(
        compat_repository,
        name = "rules_ml_wheels_compat",
        # WORKSPACE projects that declare rules_python get its rules; others
        # (Bazel 4-6 without rules_python) the built-in ones.
        use_rules_python = native.existing_rule("rules_python") != None,
    )
    maybe(
        helper_deps_repository,
        name = "rules_ml_wheels_helper_deps",
        wheelhouse = wheelhouse or "",
    )

    # The wheel writer's libdeflate and repaired_wheel's patchelf, one per
    # execution CPU; only the execution platform's is fetched.
    libdeflate_repositories(wheelhouse = wheelhouse or "", declare = maybe)
    patchelf_repositories(wheelhouse = wheelhouse or "", declare = maybe)
    if register_toolchains:
        native.register_toolchains("@rules_ml_wheels//python_wheel:unconfigured_python_tags_toolchain")
