"""Public rules and macros of rules_ml_wheels.

```starlark
load("@rules_ml_wheels//python_wheel:defs.bzl", "python_wheel", "wheel_platform_tag", "wheel_sources")
```
"""

load("//python_wheel/private:abi3.bzl", _py_limited_api_defines = "py_limited_api_defines")
load("//python_wheel/private:compliance_test.bzl", _verify_manylinux_compliance_test = "verify_manylinux_compliance_test")
load("//python_wheel/private:coverage.bzl", _wheel_test_deps_coverage_test = "wheel_test_deps_coverage_test")
load("//python_wheel/private:dist.bzl", _wheel_dist = "wheel_dist", _wheel_publish = "wheel_publish")
load("//python_wheel/private:editable.bzl", _python_editable_wheel = "python_editable_wheel")
load("//python_wheel/private:installed_test.bzl", _installed_wheel_test = "installed_wheel_test")
load("//python_wheel/private:platform_tags.bzl", _platform_tag_for = "platform_tag_for", _wheel_platform_tag = "wheel_platform_tag")
load(
    "//python_wheel/private:providers.bzl",
    _PyWheelInfo = "PyWheelInfo",
    _PythonTagsInfo = "PythonTagsInfo",
    _WheelSourcesInfo = "WheelSourcesInfo",
)
load("//python_wheel/private:py_import.bzl", _py_import = "py_import")
load("//python_wheel/private:python_toolchain.bzl", _python_tags_toolchain = "python_tags_toolchain")
load("//python_wheel/private:sdist.bzl", _python_sdist = "python_sdist")
load("//python_wheel/private:size.bzl", _wheel_size_report = "wheel_size_report", _wheel_size_test = "wheel_size_test")
load(
    "//python_wheel/private:sources.bzl",
    _collect_data_files = "collect_data_files",
    _transitive_hdrs = "transitive_hdrs",
    _transitive_py_deps = "transitive_py_deps",
    _wheel_sources = "wheel_sources",
)
load("//python_wheel/private:wheel.bzl", _python_wheel = "python_wheel")
load("//python_wheel/private:wheel_dependency.bzl", _wheel_or_sources = "wheel_or_sources")
load("//python_wheel/private/cc:platform_wheel.bzl", _platform_wheel = "platform_wheel")
load("//python_wheel/private/cuda:cuda_library.bzl", _cuda_library = "cuda_library")
load("//python_wheel/private/cuda:toolkit_info.bzl", _CudaToolkitInfo = "CudaToolkitInfo", _cuda_toolkit_info = "cuda_toolkit_info")
load("//python_wheel/private/emulation:emulated_py_test.bzl", _emulated_py_test = "emulated_py_test")
load("//python_wheel/private/repair:repaired_wheel.bzl", _repaired_wheel = "repaired_wheel")

CudaToolkitInfo = _CudaToolkitInfo
PyWheelInfo = _PyWheelInfo
PythonTagsInfo = _PythonTagsInfo
WheelSourcesInfo = _WheelSourcesInfo
collect_data_files = _collect_data_files
cuda_library = _cuda_library
cuda_toolkit_info = _cuda_toolkit_info
emulated_py_test = _emulated_py_test
installed_wheel_test = _installed_wheel_test
platform_tag_for = _platform_tag_for
platform_wheel = _platform_wheel
py_import = _py_import
py_limited_api_defines = _py_limited_api_defines
python_editable_wheel = _python_editable_wheel
python_sdist = _python_sdist
python_tags_toolchain = _python_tags_toolchain
python_wheel = _python_wheel
repaired_wheel = _repaired_wheel
transitive_hdrs = _transitive_hdrs
transitive_py_deps = _transitive_py_deps
wheel_dist = _wheel_dist
wheel_platform_tag = _wheel_platform_tag
wheel_publish = _wheel_publish
wheel_sources = _wheel_sources
verify_manylinux_compliance_test = _verify_manylinux_compliance_test
wheel_size_report = _wheel_size_report
wheel_size_test = _wheel_size_test
wheel_test_deps_coverage_test = _wheel_test_deps_coverage_test
wheel_or_sources = _wheel_or_sources
