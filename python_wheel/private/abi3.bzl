"""abi3 (CPython limited API) wheels: the `cp3X` tag, its checks and its compile define."""

# The stable ABI starts with CPython 3.2 (PEP 384).
_OLDEST_MINOR = 2
_DIGITS = "0123456789"

def limited_api_minor(tag):
    """The minor version a `cp3X` tag names, or -1 when it is not one.

    Args:
      tag: a python tag such as `cp310`.

    Returns:
      X of `cp3X` (10 for `cp310`), or -1.
    """
    if not tag.startswith("cp3") or len(tag) < 4 or len(tag) > 5:
        return -1
    for c in tag[3:].elems():
        if c not in _DIGITS:
            return -1
    if tag[3] == "0" and len(tag) > 4:
        return -1
    return int(tag[3:])

def check_abi3_tags(python_tag, interpreter_python_tag, interpreter_abi_tag, origin):
    """Why a `<python_tag>-abi3` wheel cannot be built here, or "" when it can.

    Args:
      python_tag: the wheel's python tag (the oldest CPython it supports).
      interpreter_python_tag: the python tags toolchain's python tag
        (`cp311`), empty when unknown.
      interpreter_abi_tag: the toolchain's abi tag (`cp311`, `cp313t`).
      origin: where the toolchain's interpreter comes from, for messages.

    Returns:
      The error message, or "".
    """
    minor = limited_api_minor(python_tag)
    if minor < 0:
        return (
            "abi_tag \"abi3\" needs a CPython 3 python tag naming the oldest version whose " +
            "limited API the extensions use, e.g. \"cp310\"; got %r. Set py_limited_api = \"cp310\" " +
            "(which sets both tags) instead of python_tag/abi_tag"
        ) % python_tag
    if minor < _OLDEST_MINOR:
        return "%s names CPython 3.%d, older than the stable ABI (PEP 384, CPython 3.2): use cp32 or newer" % (python_tag, minor)
    if not interpreter_python_tag:
        return ""
    if interpreter_abi_tag.endswith("t"):
        return (
            "the Python toolchain's interpreter (%s) is free-threaded (%s), which loads no abi3 " +
            "extensions: build abi3 wheels with a default (GIL) interpreter, or drop py_limited_api"
        ) % (origin, interpreter_abi_tag)
    interpreter_minor = limited_api_minor(interpreter_python_tag)
    if interpreter_minor >= 0 and minor > interpreter_minor:
        return (
            "%s-abi3 claims the limited API of CPython 3.%d, newer than the interpreter whose " +
            "headers build the extensions (%s, %s): use py_limited_api = \"%s\" or older, or " +
            "build with a newer Python (HERMETIC_PYTHON_VERSION=3.%d)"
        ) % (python_tag, minor, interpreter_python_tag, origin, interpreter_python_tag, minor)
    return ""

def _hex2(n):
    return "0123456789ABCDEF"[n // 16] + "0123456789ABCDEF"[n % 16]

def py_limited_api_defines(py_limited_api):
    """The C defines that compile an extension against the limited API of `cp3X`.

    `Py_LIMITED_API=0x030A0000` for `"cp310"`: Python.h then declares only
    what CPython 3.10's limited API has, so that calls outside it fail to
    compile (the audit of an abi3 wheel checks the result again). Put it in
    the extension's `cc_binary(defines = ...)` (or `local_defines`), next to
    `python_wheel(py_limited_api = "cp310")`, and name the binary
    `<module>` + `ABI3_SUFFIX` (`.abi3.so`, from `@python//:ext_suffix.bzl`).

    Args:
      py_limited_api: the python tag of the oldest CPython, e.g. `"cp310"`.

    Returns:
      A one-element list, `["Py_LIMITED_API=0x030A0000"]`.
    """
    minor = limited_api_minor(py_limited_api)
    if minor < _OLDEST_MINOR:
        fail("py_limited_api_defines(%r): give a CPython 3 python tag, cp32 or newer, e.g. \"cp310\"" % py_limited_api)
    return ["Py_LIMITED_API=0x03%s0000" % _hex2(minor)]
