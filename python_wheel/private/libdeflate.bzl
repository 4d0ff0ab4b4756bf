"""libdeflate, the wheel writer's compressor, from the PyPI `deflate` wheels.

`pack_wheel` compresses every member with libdeflate (`ml_wheels.deflate`).
The PyPI project `deflate` ships it as a CPython extension per CPU and
interpreter ABI. One repository per execution CPU merges that CPU's wheels
into one `deflate` package (the extension files differ by suffix:
`_deflate.cpython-310-<arch>-linux-gnu.so`, `_deflate.abi3.so`,
`_deflate.cpython-314t-<arch>-linux-gnu.so`). The writer loads libdeflate
from the one built for its interpreter (else the abi3 one) through ctypes,
without initialising it as a Python module, so every helper interpreter
works, free-threaded 3.13 included. Only the execution platform's
repository is fetched. Pinned by sha256 like the helpers' lock; the bytes of every wheel
written depend on this version, so it changes only together with the
version `ml_wheels.deflate.DEFLATE_VERSION` checks.
`--repo_env=ML_WHEELS_WHEELHOUSE=DIR` (or `wheelhouse`) takes the wheels
from a local directory instead.
"""

load("//python_wheel/private:helper_deps.bzl", "WHEELHOUSE_VAR")

DEFLATE_VERSION = "0.9.0"

_PYPI = "https://files.pythonhosted.org/packages/"

# Execution CPU -> the deflate wheels for it (https://pypi.org/project/deflate/).
DEFLATE_WHEELS = {
    "aarch64": [
        struct(
            url = _PYPI + "4f/86/9d5dc8d0d3150111b0fb2d533a0fd221dc7338f93a46357a998f5df33ffa/deflate-0.9.0-cp311-abi3-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl",
            sha256 = "64fc41f323ea4da8cbc6a9f6c7d369a5f0b6310ed2d02ce084c8718a9b78b2e9",
        ),
        struct(
            url = _PYPI + "2b/13/4a409d00dd2b6710ac49fc62a7ea373e8dea07e3e699c6c3d94c8b3ca897/deflate-0.9.0-cp310-cp310-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl",
            sha256 = "cd5d6380676125ad6b33970d2acd72ef7bd9aec3b00d7d41382166348a430ade",
        ),
        struct(
            url = _PYPI + "e6/f6/f6a704067604c6a1d5321a6a19be2bf13058eb20e24cf4f020ad99ca221e/deflate-0.9.0-cp314-cp314t-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl",
            sha256 = "ecdc01d9f2b8fac87c438e893c5421c906e5b175e781a1df03932051e88bf300",
        ),
    ],
    "x86_64": [
        struct(
            url = _PYPI + "d0/5e/315011fbd60c83f064586aae3bd5388204401252c2c26e9cb219cef001e4/deflate-0.9.0-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
            sha256 = "cfca14731727716ca0a112e26911a5a94998d31bb04eb5cc4bc268a5a308ba8a",
        ),
        struct(
            url = _PYPI + "2d/2a/c92f5cbe6b6c24992393d158e62681752ab08963a6c1c1a5c2754a83ccbe/deflate-0.9.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
            sha256 = "2386719167a0b2c483e66cb421cde1982a0238ad23e9e5fac670f58726bd0445",
        ),
        struct(
            url = _PYPI + "3a/ad/df215406e38513b42a347bb6f03e502b10276dd01127c5fb0fd8ebbb4003/deflate-0.9.0-cp314-cp314t-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
            sha256 = "30f15d51dfef483078b3075cddfb4eb554e0f8b73521647b4da8255d7cacdf05",
        ),
    ],
}

# The execution CPUs with a libdeflate repository.
LIBDEFLATE_CPUS = sorted(DEFLATE_WHEELS.keys())

def libdeflate_repository_name(cpu):
    """The name of the libdeflate repository for an execution CPU."""
    return "rules_ml_wheels_libdeflate_" + cpu

def _run(repository_ctx, command):
    result = repository_ctx.execute(command)
    if result.return_code:
        fail("%s: `%s` failed: %s" % (repository_ctx.name, " ".join(command), result.stderr))

def _libdeflate_repository_impl(repository_ctx):
    attr = repository_ctx.attr
    if len(attr.urls) != len(attr.sha256s) or not attr.urls:
        fail("%s: `urls` and `sha256s` must name the same wheels, one sha256 per URL" % repository_ctx.name)
    wheelhouse = repository_ctx.os.environ.get(WHEELHOUSE_VAR, "") or attr.wheelhouse
    package = "site_packages/deflate"
    for index, url in enumerate(attr.urls):
        filename = url.split("#")[0].split("/")[-1]
        if wheelhouse:
            local = repository_ctx.path(wheelhouse + "/" + filename)
            if not local.exists:
                fail("%s: %s is missing from the wheelhouse %r (%s); download it with `pip download --no-deps --only-binary=:all: deflate==%s --platform <manylinux tag of the CPU> --python-version <3.10, 3.11 or 3.14 with --abi cp314t> -d %s`" % (
                    repository_ctx.name,
                    filename,
                    wheelhouse,
                    WHEELHOUSE_VAR,
                    attr.version,
                    wheelhouse,
                ))
            url = "file://" + str(local)

        # The wheel is kept (for making a wheelhouse); Bazel 4 infers archive
        # types from extensions and knows no `.whl`.
        wheel_file = "wheels/" + filename
        repository_ctx.download(url = url, output = wheel_file, sha256 = attr.sha256s[index])
        archive = "wheel%d.zip" % index
        repository_ctx.symlink(wheel_file, archive)
        if index == 0:
            repository_ctx.extract(archive, output = "site_packages")
        else:
            # Only the extension module differs between the wheels of a release.
            unpacked = "variant%d" % index
            repository_ctx.extract(archive, output = unpacked)
            found = repository_ctx.execute(["find", unpacked + "/deflate", "-maxdepth", "1", "-name", "_deflate.*.so"])
            libraries = [line for line in found.stdout.strip().split("\n") if line]
            if found.return_code or not libraries:
                fail("%s: %s holds no deflate/_deflate.*.so; point `urls` at deflate %s wheels" % (repository_ctx.name, filename, attr.version))
            for library in libraries:
                _run(repository_ctx, ["mv", library, package + "/" + library.split("/")[-1]])
            _run(repository_ctx, ["rm", "-rf", unpacked])
        repository_ctx.delete(archive)
    if not repository_ctx.path(package + "/__init__.py").exists:
        fail("%s: %s is not a deflate wheel (no deflate/__init__.py)" % (repository_ctx.name, attr.urls[0]))
    repository_ctx.file("BUILD.bazel", "\n".join([
        "# Generated by rules_ml_wheels' libdeflate_repository (deflate %s)." % attr.version,
        'load("@rules_ml_wheels//python_wheel/private:compat.bzl", "py_library")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        "py_library(",
        '    name = "deflate",',
        '    srcs = glob(["site_packages/deflate/*.py"]),',
        '    data = glob(["site_packages/**"], exclude = ["site_packages/**/*.py"]),',
        '    imports = ["site_packages"],',
        ")",
        "",
    ]))
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)

libdeflate_repository = repository_rule(
    implementation = _libdeflate_repository_impl,
    attrs = {
        "sha256s": attr.string_list(mandatory = True, doc = "sha256 of each wheel, in the order of `urls`."),
        "urls": attr.string_list(mandatory = True, doc = "URLs of the deflate wheels for one CPU (PyPI or a mirror); the first is unpacked whole, the others add their extension module."),
        "version": attr.string(default = DEFLATE_VERSION, doc = "The deflate version the wheels hold."),
        "wheelhouse": attr.string(doc = "Absolute path of a directory holding the wheels (air-gapped builds); `--repo_env=ML_WHEELS_WHEELHOUSE=DIR` overrides it."),
    },
    environ = [WHEELHOUSE_VAR],
    doc = "Provides `:deflate`, a `py_library` of the PyPI `deflate` package (libdeflate) for one CPU and every supported CPython ABI.",
)

def libdeflate_repositories(wheelhouse = "", declare = None):
    """Declares one libdeflate repository per execution CPU.

    Args:
      wheelhouse: passed to each repository.
      declare: a function wrapping the repository rule (`maybe` in WORKSPACE);
        None calls the rule directly (module extensions).
    """
    for cpu, wheels in DEFLATE_WHEELS.items():
        kwargs = dict(
            name = libdeflate_repository_name(cpu),
            urls = [wheel.url for wheel in wheels],
            sha256s = [wheel.sha256 for wheel in wheels],
            wheelhouse = wheelhouse,
        )
        if declare:
            declare(libdeflate_repository, **kwargs)
        else:
            libdeflate_repository(**kwargs)
