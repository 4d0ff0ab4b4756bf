"""Bazel's built-in Python and C++ providers, under names compat.bzl can re-export.

A .bzl file cannot define a global with the name of a built-in it reads
(`PyInfo = PyInfo` is an error), hence this one-line indirection.
"""

# buildifier: disable=native-cc-info
BUILTIN_CC_INFO = CcInfo

# buildifier: disable=native-py
BUILTIN_PY_INFO = PyInfo

# buildifier: disable=native-py
BUILTIN_PY_RUNTIME_INFO = PyRuntimeInfo
