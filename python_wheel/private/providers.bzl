"""Providers of rules_ml_wheels."""

PyWheelInfo = provider(
    doc = "A wheel built by `python_wheel`, with everything known about it at analysis time.",
    fields = {
        "wheel": "File: the `.whl` file.",
        "distribution": "str: the distribution name as the user wrote it (METADATA `Name`).",
        "normalized_distribution": "str: the escaped name used in the file name and `.dist-info` folder.",
        "version": "str: the full, normalized PEP 440 version (suffix included).",
        "python_tag": "str: the python tag, e.g. `py3` or `cp311`.",
        "abi_tag": "str: the ABI tag, e.g. `none`, `abi3`, `cp313t`.",
        "platform_tag": "str: the platform tag, e.g. `any` or `manylinux_2_17_x86_64`.",
        "requirement": "str: a PEP 508 requirement pinning exactly this wheel, `name==version`.",
        "contents": """struct or None: the wheel's contents as Bazel files, for consumers that
need them without unpacking the wheel (`py_import`): `files` (dict of wheel
path to File), `trees` (dict of wheel path prefix to directory File),
`dist_info` (directory File holding the `.dist-info` files, RECORD included)
and `dist_info_name`. None in `pep517` mode, where setuptools decides the
contents.""",
    },
)

PythonTagsInfo = provider(
    doc = "The CPython version a build targets, as wheel tags. Provided by the python tags toolchain.",
    fields = {
        "python_version": "str: `X.Y`, or empty when no interpreter is configured.",
        "python_tag": "str: e.g. `cp311`, or empty.",
        "abi_tag": "str: e.g. `cp311`, or `cp313t` for a free-threaded build, or empty.",
        "origin": "str: where the interpreter comes from, for error messages.",
    },
)

WheelSourcesInfo = provider(
    doc = "Files gathered from a dependency graph by the `wheel_sources` family of rules.",
    fields = {
        "files": "depset[File]: the gathered files, in the target configuration.",
    },
)
