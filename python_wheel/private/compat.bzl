"""The one place that adapts rules_ml_wheels to Bazel and rules_python versions.

Bazel 4.2.3 (WORKSPACE) has the Python rules and `PyInfo`/`CcInfo` built in.
Everything else in the library loads them from here, never directly.
"""

load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair = "py_runtime_pair")
load(
    ":builtins.bzl",
    "BUILTIN_CC_INFO",
    "BUILTIN_PY_INFO",
    "BUILTIN_PY_RUNTIME_INFO",
)

PyInfo = BUILTIN_PY_INFO
CcInfo = BUILTIN_CC_INFO
PyRuntimeInfo = BUILTIN_PY_RUNTIME_INFO

def py_binary(**kwargs):
    """Forwards to the Python binary rule in use.

    Args:
      **kwargs: the rule's attributes.
    """

    # buildifier: disable=native-py
    native.py_binary(**kwargs)

def py_library(**kwargs):
    """Forwards to the Python library rule in use.

    Args:
      **kwargs: the rule's attributes.
    """

    # buildifier: disable=native-py
    native.py_library(**kwargs)

def py_test(**kwargs):
    """Forwards to the Python test rule in use.

    Args:
      **kwargs: the rule's attributes.
    """

    # buildifier: disable=native-py
    native.py_test(**kwargs)

def py_runtime(**kwargs):
    """Forwards to the Python runtime rule in use.

    Args:
      **kwargs: the rule's attributes.
    """

    # buildifier: disable=native-py
    native.py_runtime(**kwargs)

def py_runtime_pair(**kwargs):
    """Forwards to the Python runtime pair rule in use.

    Args:
      **kwargs: the rule's attributes.
    """

    # buildifier: disable=native-py
    _py_runtime_pair(**kwargs)

PY_TOOLCHAIN_TYPE = "@bazel_tools//tools/python:toolchain_type"
