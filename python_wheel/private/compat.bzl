"""The one place that adapts rules_ml_wheels to Bazel and rules_python versions.

Everything else in the library loads Python rules and `PyInfo`/`CcInfo` from
here, never directly. The choice between Bazel's built-ins (Bazel 4-6,
WORKSPACE without rules_python) and @rules_python (bzlmod, or WORKSPACE
projects that declare rules_python) is made once, by the generated
`@rules_ml_wheels_compat` repository (see compat_repo.bzl).
"""

load(
    "@rules_ml_wheels_compat//:defs.bzl",
    "CC_INFO",
    "PYTHON_RULES_ORIGIN",
    "PY_INFO",
    "PY_RUNTIME_INFO",
    _py_binary = "py_binary",
    _py_library = "py_library",
    _py_runtime = "py_runtime",
    _py_runtime_pair = "py_runtime_pair",
    _py_test = "py_test",
)

PyInfo = PY_INFO
CcInfo = CC_INFO
PyRuntimeInfo = PY_RUNTIME_INFO

# "native" or "rules_python", for messages and tests.
python_rules_origin = PYTHON_RULES_ORIGIN

py_binary = _py_binary
py_library = _py_library
py_test = _py_test
py_runtime = _py_runtime
py_runtime_pair = _py_runtime_pair

PY_TOOLCHAIN_TYPE = "@bazel_tools//tools/python:toolchain_type"
