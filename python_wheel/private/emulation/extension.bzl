"""bzlmod tags of the emulation lane, for the `ml_wheels` module extension.

python_wheel/private/extensions.bzl declares the `emulation` tag class with
these attributes and resolves its names like every other tag's (the root
module's wins; identical declarations are one repository). Users write the same names as in WORKSPACE mode:

```starlark
ml_wheels.emulation(name = "arm64_python")
use_repo(ml_wheels, "arm64_python")
```
"""

load(":pins.bzl", "ARM64_PYTHON_DEBS", "QEMU_USER_STATIC_DEB")
load(":repositories.bzl", "QEMU_BINARY", "debian_python_root_repository", "qemu_user_repository")

EMULATION_TAG_ATTRS = {
    "deb_mirrors": attr.string_list(
        default = ["https://deb.debian.org/debian"],
        doc = "Debian archives tried in order for pool paths; `--repo_env=ML_WHEELS_DEB_MIRROR` goes first.",
    ),
    "interpreter": attr.string(default = "usr/bin/python3.11", doc = "The CPython binary inside the root."),
    "name": attr.string(default = "arm64_python", doc = "The root's repository: `emulated_py_test(python = \"@<name>//:runtime\")`."),
    "packages": attr.string_dict(doc = "arm64 .debs of the root, pool path or URL -> sha256. Default: pins.bzl's ARM64_PYTHON_DEBS (CPython 3.11, Debian 12)."),
    "precompile": attr.bool(default = True, doc = "Compile the standard library's .pyc files once, when the repository is fetched."),
    "qemu_deb": attr.string_dict(doc = "One qemu-user-static .deb (amd64), `{pool path or URL: sha256}`. Default: pins.bzl's QEMU_USER_STATIC_DEB."),
    "qemu_name": attr.string(doc = "The emulator's repository. Default: `<name>_qemu`."),
}

def emulation_declaration(module, tag):
    """What an `ml_wheels.emulation` tag makes, for the extension's name resolution.

    Args:
      module: the module declaring the tag (for messages).
      tag: the tag.

    Returns:
      The attributes `emulation_repositories_from_declaration` takes; two
      equal ones make the same repositories.
    """
    qemu_deb = tag.qemu_deb or QEMU_USER_STATIC_DEB
    if len(qemu_deb) != 1:
        fail("ml_wheels.emulation(name = %r) in %s: qemu_deb must be one {pool path or URL: sha256}, got %d entries" % (tag.name, module.name, len(qemu_deb)))
    return {
        "deb_mirrors": tag.deb_mirrors,
        "interpreter": tag.interpreter,
        "packages": tag.packages or ARM64_PYTHON_DEBS,
        "precompile": tag.precompile,
        "qemu_deb": qemu_deb,
        "qemu_name": tag.qemu_name or tag.name + "_qemu",
    }

def emulation_repositories_from_declaration(name, attrs):
    """Creates the emulator and the arm64 root of one `emulation` declaration.

    Args:
      name: the root's repository name.
      attrs: the dict `emulation_declaration` returned.
    """
    deb, sha256 = attrs["qemu_deb"].items()[0]
    qemu_user_repository(name = attrs["qemu_name"], deb = deb, sha256 = sha256, deb_mirrors = attrs["deb_mirrors"])
    debian_python_root_repository(
        name = name,
        packages = attrs["packages"],
        qemu = "@%s//:unpacked/usr/bin/%s" % (attrs["qemu_name"], QEMU_BINARY),
        deb_mirrors = attrs["deb_mirrors"],
        interpreter = attrs["interpreter"],
        precompile = attrs["precompile"],
    )
