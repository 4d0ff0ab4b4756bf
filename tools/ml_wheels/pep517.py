"""PEP 517 mode: let setuptools build, then rewrite its wheel canonically.

For projects whose setup.py does real work (computed requirements, custom
commands), as JAX and TensorFlow have. The spec stays authoritative for the
name, version and tags; setuptools' naming is checked, never trusted. The
build runs in a fixed, minimal environment (``build_environment``), compiled
code it produces holds no staging path (``_prefix_maps``), and a binary
platform tag requires compiled code in what it built (``check_compiled``).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Collection, Mapping, Sequence

from ml_wheels.built_wheel import (
    SOURCE_DATE_EPOCH,
    BuildResult,
    check_compiled,
    fixed_environment,
    reject_spec_metadata,
    rewrite_built_wheel,
)
from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap, build_input_map, fs_path
from ml_wheels.pack import errors_for
from ml_wheels.runpath import PatchedStream, runpath_patches
from ml_wheels.spec import WheelSpec, check_spec_names, load_spec

# Re-exported: the checks and the rewrite live in ml_wheels.built_wheel,
# shared with binary mode.
__all__ = [
    "SOURCE_DATE_EPOCH",
    "BuildResult",
    "build_environment",
    "check_compiled",
    "pack_pep517",
    "rewrite_built_wheel",
    "run_build",
    "stage_tree",
    "unpack_build_env",
]
_BUILD_MODULES = ("build", "pyproject_hooks", "packaging", "setuptools")
# Needed only by some projects (wheel) or Python versions (tomli before 3.11).
_OPTIONAL_MODULES = ("wheel", "tomli")


def _module_root(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    origin = spec.origin
    # A package's origin is <root>/<module>/__init__.py; a module's <root>/<module>.py.
    levels = 2 if spec.submodule_search_locations is not None else 1
    for _ in range(levels):
        origin = os.path.dirname(origin)
    return origin


def unpack_build_env(wheels: Sequence[str], site: str) -> None:
    """Unpacks the frontend/backend wheels (build, setuptools, ...) into ``site``.

    Bazel hands them over as pinned wheel files: some (setuptools) hold file
    names that Bazel runfiles cannot carry, so they are unpacked here.
    """
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as archive:
                for name in archive.namelist():
                    if name.startswith("/") or ".." in name.split("/"):
                        raise WheelError(
                            f"build environment wheel {wheel} has the unsafe member {name!r}"
                        )
                archive.extractall(site)
        except (OSError, zipfile.BadZipFile) as exc:
            raise WheelError(f"cannot unpack build environment wheel {wheel}: {exc}") from None


def _prefix_maps(tree: str) -> list[str]:
    """Compiler flags that keep build paths out of compiled objects.

    The staged tree (a fresh temporary directory) becomes ``.``, the
    interpreter's header directories (inside Bazel's output base for a
    hermetic interpreter) become ``/python/include``. Sorted by length so
    that a nested prefix comes last and wins: GCC and Clang apply the last
    matching map (older Clang the longest, which is the same here).
    """
    maps: dict[str, str] = {}
    paths = sysconfig.get_paths()
    for key in ("include", "platinclude"):
        if paths.get(key):
            for variant in (paths[key], os.path.realpath(paths[key])):
                maps[variant] = "/python/include"
    for variant in (tree, os.path.realpath(tree)):
        maps[variant] = "."
    ordered = sorted(maps, key=lambda old: (len(old), old))
    return [shlex.quote(f"-ffile-prefix-map={old}={maps[old]}") for old in ordered]


def build_environment(
    spec: WheelSpec,
    staging: str,
    tree: str,
    site: str | None = None,
    path: str | None = None,
) -> dict[str, str]:
    """Returns the fixed, minimal environment for ``python -m build``.

    Nothing of the action's environment is inherited but ``PATH`` (which
    the rule sets to a fixed value): ``HOME`` and ``TMPDIR`` are directories
    of the staging area, the locale is ``C`` (Python in UTF-8 mode), the
    variables that make setuptools and the compiler deterministic are fixed
    (``SOURCE_DATE_EPOCH``, ``PYTHONHASHSEED``, ``CPPFLAGS`` with prefix maps,
    which setuptools appends to the interpreter's own CFLAGS), and
    ML_WHEEL_DISTRIBUTION, ML_WHEEL_VERSION, ML_WHEEL_PYTHON_TAG,
    ML_WHEEL_ABI_TAG and ML_WHEEL_PLATFORM_TAG tell setup.py what the rule
    declared. ``PYTHONPATH`` is ``site`` (the unpacked build environment
    wheels) when given, else the directories of build and its backend as
    this process imports them (plain script use).

    Args:
        spec: The wheel spec.
        staging: The staging directory; gets ``home/`` and ``tmp/``.
        tree: The staged project tree (mapped to ``.`` in debug info).
        site: The unpacked build environment wheels, if any.
        path: ``PATH`` for the build (``None``: ``os.defpath``).

    Raises:
        WheelError: If ``build``, ``pyproject_hooks``, ``packaging`` or
            ``setuptools`` is not importable.
    """
    paths = [] if site is None else [site]
    for module in () if site is not None else (*_BUILD_MODULES, *_OPTIONAL_MODULES):
        root = _module_root(module)
        if root is None and module in _BUILD_MODULES:
            raise WheelError(
                f"pep517 mode needs the Python module {module!r}; add build, pyproject_hooks, "
                "setuptools and wheel from tools/requirements_lock.txt to the packer's deps"
            )
        if root is not None and root not in paths:
            paths.append(root)
    env = fixed_environment(spec, staging, path)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["CPPFLAGS"] = " ".join(_prefix_maps(tree))
    return env


def _stage_without_bazel_runpath(path: str, dest: str) -> bool:
    """Writes ``path`` to ``dest`` without its ``_solib_*`` RUNPATH entries.

    Returns:
        False, writing nothing, when the file has no such entries (not ELF,
        or nothing to remove): the caller links it instead.
    """
    with open(path, "rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        patches = runpath_patches(raw, size)
        if not patches:
            return False
        with PatchedStream(raw, patches) as stream, open(dest, "xb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    shutil.copymode(path, dest)
    return True


def stage_tree(
    inputs: InputMap, project: Collection[str], root: str, strip_bazel_runpath: bool = True
) -> None:
    """Lays out the build tree: payload inputs as symlinks, project files copied.

    Project files are copied so that code using ``__file__`` sees the staged
    tree; payload files are symlinked to avoid copying large libraries, except
    ELF files whose RUNPATH/RPATH point into Bazel's ``_solib_*`` tree: with
    ``strip_bazel_runpath`` those are staged as copies without these entries
    (as the direct writer ships them), since setuptools copies what it finds.
    """
    for arcname, path in sorted(inputs.files.items()):
        dest = os.path.join(root, *fs_path(arcname).split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if arcname in project:
            shutil.copyfile(path, dest)
        elif not (strip_bazel_runpath and _stage_without_bazel_runpath(path, dest)):
            os.symlink(os.path.abspath(path), dest)


def run_build(tree: str, outdir: str, env: Mapping[str, str]) -> BuildResult:
    """Runs ``python -m build --wheel --no-isolation``.

    Raises:
        WheelError: If the build fails (its output is printed first) or does not
            produce exactly one wheel.
    """
    cmd = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir]
    proc = subprocess.run(
        cmd,
        cwd=tree,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        sys.stderr.write(output)
        raise WheelError(
            f"'python -m build --wheel --no-isolation' failed with exit code "
            f"{proc.returncode} (its output is above); fix the project's build"
        )
    wheels = sorted(n for n in os.listdir(outdir) if n.endswith(".whl"))
    if len(wheels) != 1:
        raise WheelError(
            f"the PEP 517 build produced {len(wheels)} wheels ({', '.join(wheels) or 'none'}); "
            "it must produce exactly one"
        )
    return BuildResult(os.path.join(outdir, wheels[0]), output)


def pack_pep517(
    spec_path: str,
    output: str,
    files: Sequence[Sequence[str]] = (),
    trees: Sequence[Sequence[str]] = (),
    project_files: Sequence[Sequence[str]] = (),
    distinfo_files: Sequence[Sequence[str]] = (),
    jobs: int | None = None,
    build_env_wheels: Sequence[str] = (),
    keep_bazel_runpath: bool = False,
) -> str:
    """PEP 517 mode: stage, build with setuptools, rewrite canonically.

    Args:
        spec_path: The JSON spec.
        output: The wheel to write.
        files: ``(tree path, input file)`` pairs.
        trees: ``(tree path prefix, input directory)`` pairs.
        project_files: ``(tree path, input file or directory)`` pairs for
            setup.py, pyproject.toml, setup.cfg, MANIFEST.in, ...
        distinfo_files: ``(name, input file)`` pairs added to the rewritten
            wheel's .dist-info (licenses); identical files the build already
            put there are fine, different ones are an error.
        jobs: Worker processes (``None``: one per CPU).
        build_env_wheels: Wheels of build, setuptools, ... to run the build
            with; when empty, the modules this process can import are used.
        keep_bazel_runpath: Stage ELF inputs with their ``_solib_*``
            RUNPATH entries as they are.

    Returns:
        The written wheel's path.
    """
    spec = load_spec(spec_path)
    with errors_for(spec.target):
        check_spec_names(spec)
        reject_spec_metadata(spec)
        inputs = build_input_map(spec.dist_info, spec.data_dir, files, trees)
        project: set[str] = set()
        for dest, src in project_files:
            project.update(inputs.add_project_file(dest, src))
        if not project:
            raise WheelError(
                "pep517 mode needs at least one --project-file (setup.py or pyproject.toml)"
            )
        with tempfile.TemporaryDirectory(prefix="ml_wheels_pep517_") as tmp:
            site = None
            if build_env_wheels:
                site = os.path.join(tmp, "site")
                unpack_build_env(build_env_wheels, site)
            tree = os.path.join(tmp, "src")
            outdir = os.path.join(tmp, "dist")
            env = build_environment(spec, tmp, tree, site, os.environ.get("PATH"))
            os.makedirs(tree)
            stage_tree(inputs, project, tree, strip_bazel_runpath=not keep_bazel_runpath)
            built = run_build(tree, outdir, env)
            extra = build_input_map(spec.dist_info, spec.data_dir, (), (), distinfo_files)
            rewrite_built_wheel(spec, built, output, inputs, extra.files, jobs)
    return output
