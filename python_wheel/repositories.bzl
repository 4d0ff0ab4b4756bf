"""WORKSPACE set-up of rules_ml_wheels.

```starlark
load("@rules_ml_wheels//python_wheel:repositories.bzl", "local_python_toolchain", "rules_ml_wheels_dependencies")

local_python_toolchain(name = "python")
rules_ml_wheels_dependencies()
```
"""

load("//python_wheel/private:dependencies.bzl", _rules_ml_wheels_dependencies = "rules_ml_wheels_dependencies")
load("//python_wheel/private:helper_deps.bzl", _helper_deps_repository = "helper_deps_repository")
load("//python_wheel/private:hermetic_python.bzl", _hermetic_python = "hermetic_python", _hermetic_python_repository = "hermetic_python_repository")
load("//python_wheel/private:python_toolchain.bzl", _local_python_toolchain = "local_python_toolchain")
load("//python_wheel/private:version_file.bzl", _python_wheel_version_repository = "python_wheel_version_repository")
load("//python_wheel/private:version_suffix.bzl", _python_wheel_version_suffix_repository = "python_wheel_version_suffix_repository")
load("//python_wheel/private/cc:clang_sysroot.bzl", _sysroot_cc_repositories = "sysroot_cc_repositories", _sysroot_cc_toolchains = "sysroot_cc_toolchains")
load("//python_wheel/private/cc:sysroot.bzl", _cc_sysroot = "cc_sysroot", _python_headers = "python_headers")
load("//python_wheel/private/cc:zig.bzl", _zig_cc_repositories = "zig_cc_repositories", _zig_cc_toolchains = "zig_cc_toolchains")
load("//python_wheel/private/cuda:toolkit.bzl", _cuda_toolkit = "cuda_toolkit", _cuda_toolkit_repository = "cuda_toolkit_repository")
load(
    "//python_wheel/private/emulation:repositories.bzl",
    _debian_python_root_repository = "debian_python_root_repository",
    _emulation_repositories = "emulation_repositories",
    _qemu_user_repository = "qemu_user_repository",
)

cc_sysroot = _cc_sysroot
cuda_toolkit = _cuda_toolkit
cuda_toolkit_repository = _cuda_toolkit_repository
debian_python_root_repository = _debian_python_root_repository
emulation_repositories = _emulation_repositories
helper_deps_repository = _helper_deps_repository
hermetic_python = _hermetic_python
hermetic_python_repository = _hermetic_python_repository
local_python_toolchain = _local_python_toolchain
python_headers = _python_headers
python_wheel_version_repository = _python_wheel_version_repository
python_wheel_version_suffix_repository = _python_wheel_version_suffix_repository
qemu_user_repository = _qemu_user_repository
rules_ml_wheels_dependencies = _rules_ml_wheels_dependencies
sysroot_cc_repositories = _sysroot_cc_repositories
sysroot_cc_toolchains = _sysroot_cc_toolchains
zig_cc_repositories = _zig_cc_repositories
zig_cc_toolchains = _zig_cc_toolchains
