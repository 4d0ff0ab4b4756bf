"""`emulated_python_runtime`: a CPython of another architecture and the emulator that runs it.

Generated into the BUILD file of `debian_python_root_repository` as
`:runtime`; `emulated_py_test(python = ...)` takes it.
"""

EmulatedPythonInfo = provider(
    doc = "A CPython in a foreign-architecture root, run by a user-mode emulator.",
    fields = {
        "emulator": "File: the emulator (`qemu-aarch64-static`), run as `emulator -L <root> <root>/<interpreter>`.",
        "interpreter": "File: the CPython binary inside the root.",
        "marker": "File: a file at the top of the root; its directory is the root.",
        "python_version": "str: `X.Y` of the interpreter.",
        "root_files": "depset of File: every file of the root (the tests' runfiles).",
    },
)

def _emulated_python_runtime_impl(ctx):
    marker = ctx.file.marker
    interpreter = ctx.file.interpreter
    root_dir = marker.dirname
    if not interpreter.path.startswith(root_dir + "/"):
        fail("%s: interpreter %s is not inside the root %s (the directory of marker %s)" % (ctx.label, interpreter.short_path, root_dir, marker.short_path))
    root_files = depset(ctx.files.root + [marker, interpreter])
    return [
        DefaultInfo(files = root_files),
        EmulatedPythonInfo(
            emulator = ctx.file.emulator,
            interpreter = interpreter,
            marker = marker,
            python_version = ctx.attr.python_version,
            root_files = root_files,
        ),
    ]

emulated_python_runtime = rule(
    implementation = _emulated_python_runtime_impl,
    attrs = {
        "emulator": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The user-mode emulator binary (`qemu-aarch64-static`) for the machine tests run on.",
        ),
        "interpreter": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The CPython binary inside the root, e.g. `root/usr/bin/python3.11`.",
        ),
        "marker": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "A file at the top of the root (`root/EMULATED_ROOT`): its directory is what the emulator gets as `-L`.",
        ),
        "python_version": attr.string(mandatory = True, doc = "`X.Y` version of the interpreter, e.g. `3.11`."),
        "root": attr.label_list(
            allow_files = True,
            doc = "Every file of the root: libraries, the standard library and its .pyc files.",
        ),
    },
    provides = [EmulatedPythonInfo],
    doc = "A CPython of another architecture in a root directory, and the emulator that runs it.",
)
