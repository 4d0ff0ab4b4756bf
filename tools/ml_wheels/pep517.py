"""PEP 517 mode: let setuptools build, then rewrite its wheel canonically.

For projects whose setup.py does real work (computed requirements, custom
commands), as JAX and TensorFlow have. The spec stays authoritative for the
name, version and tags; setuptools' naming is checked, never trusted.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Collection, Mapping, Sequence

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap, build_input_map, fs_path
from ml_wheels.pack import errors_for, spec_wheel_file, write_wheel
from ml_wheels.sources import FileSource, Source, ZipMemberSource
from ml_wheels.spec import MetadataSpec, WheelSpec, check_spec_names, load_spec

# 1980-01-01, the earliest time a zip can hold.
SOURCE_DATE_EPOCH = "315532800"
_BUILD_MODULES = ("build", "pyproject_hooks", "packaging", "setuptools")
# Needed only by some projects (wheel) or Python versions (tomli before 3.11).
_OPTIONAL_MODULES = ("wheel", "tomli")
_REPLACED_DIST_INFO = ("RECORD", "RECORD.jws", "RECORD.p7s", "WHEEL")


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


def build_environment(
    base: Mapping[str, str], spec: WheelSpec, site: str | None = None
) -> dict[str, str]:
    """Returns the environment for ``python -m build``.

    The action's environment is inherited; PYTHONPATH starts with ``site``
    (the unpacked build environment wheels) when given, else gains the
    directories of build and its backend as this process imports them (plain
    script use), the variables that make setuptools deterministic are
    fixed, and ML_WHEEL_DISTRIBUTION, ML_WHEEL_VERSION, ML_WHEEL_PYTHON_TAG,
    ML_WHEEL_ABI_TAG and ML_WHEEL_PLATFORM_TAG tell setup.py what the rule
    declared.

    Args:
        base: The environment to start from (normally ``os.environ``).
        spec: The wheel spec.

    Raises:
        WheelError: If ``build``, ``pyproject_hooks``, ``packaging`` or
            ``setuptools`` is not importable.
    """
    paths = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]
    if site is not None:
        paths.insert(0, site)
    for module in () if site is not None else (*_BUILD_MODULES, *_OPTIONAL_MODULES):
        root = _module_root(module)
        if root is None and module in _BUILD_MODULES:
            raise WheelError(
                f"pep517 mode needs the Python module {module!r}; add build, pyproject_hooks, "
                "setuptools and wheel from tools/requirements_lock.txt to the packer's deps"
            )
        if root is not None and root not in paths:
            paths.append(root)
    env = dict(base)
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH,
        PYTHONHASHSEED="0",
        LC_ALL="C.UTF-8",
        PYTHONDONTWRITEBYTECODE="1",
        ML_WHEEL_DISTRIBUTION=spec.distribution,
        ML_WHEEL_VERSION=spec.version,
        ML_WHEEL_PYTHON_TAG=spec.python_tag,
        ML_WHEEL_ABI_TAG=spec.abi_tag,
        ML_WHEEL_PLATFORM_TAG=spec.platform_tag,
    )
    return env


def _reject_spec_metadata(spec: WheelSpec) -> None:
    # The project's own build writes METADATA and entry points; values given
    # to the rule would be silently lost, so refuse them.
    for fld in dataclasses.fields(MetadataSpec):
        name = fld.name
        if getattr(spec.metadata, name) not in (None, "", (), {}):
            raise WheelError(
                f"metadata field {name!r} is set, but in pep517 mode the project's setup "
                "writes METADATA; set it in setup.py/pyproject.toml and remove it from the rule"
            )
    if any(spec.entry_points.values()):
        raise WheelError(
            "entry_points are set, but in pep517 mode the project's setup writes them; "
            "declare them in setup.py/pyproject.toml and remove them from the rule"
        )


def stage_tree(inputs: InputMap, project: Collection[str], root: str) -> None:
    """Lays out the build tree: payload inputs as symlinks, project files copied.

    Project files are copied so that code using ``__file__`` sees the staged
    tree; payload files are symlinked to avoid copying large libraries.
    """
    for arcname, path in sorted(inputs.files.items()):
        dest = os.path.join(root, *fs_path(arcname).split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if arcname in project:
            shutil.copyfile(path, dest)
        else:
            os.symlink(os.path.abspath(path), dest)


def run_build(tree: str, outdir: str, env: Mapping[str, str]) -> str:
    """Runs ``python -m build --wheel --no-isolation`` and returns the wheel path.

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
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode("utf-8", "replace"))
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
    return os.path.join(outdir, wheels[0])


def _check_identity(spec: WheelSpec, built: str, archive: zipfile.ZipFile) -> str:
    """Checks the built wheel's name and version; returns its .dist-info dir."""
    base = os.path.basename(built)
    try:
        name, version, _, _ = parse_wheel_filename(base)
    except InvalidWheelFilename as exc:
        raise WheelError(
            f"the PEP 517 build produced an invalid wheel name {base!r}: {exc}"
        ) from None
    want_name, want_version = canonicalize_name(spec.distribution), Version(spec.version)
    if name != want_name or version != want_version:
        raise WheelError(
            f"the project built {name} {version} but the rule says {want_name} {want_version}; "
            "make setup.py and the rule agree on the distribution and version"
        )
    tops = {n.split("/", 1)[0] for n in archive.namelist()}
    infos = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(infos) != 1:
        raise WheelError(f"the built wheel {base} has {len(infos)} .dist-info directories")
    try:
        raw = archive.read(f"{infos[0]}/METADATA")
    except KeyError:
        raise WheelError(f"the built wheel {base} has no {infos[0]}/METADATA") from None
    meta = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    meta_name, meta_version = str(meta.get("Name", "")), str(meta.get("Version", ""))
    try:
        same_version = Version(meta_version) == want_version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(meta_name) != want_name or not same_version:
        raise WheelError(
            f"the built METADATA says {meta_name} {meta_version} but the rule says "
            f"{spec.distribution} {spec.version}; make setup.py and the rule agree"
        )
    return infos[0]


def rewrite_built_wheel(
    spec: WheelSpec,
    built: str,
    output: str,
    inputs: InputMap,
    distinfo_files: Mapping[str, str],
    jobs: int | None,
) -> None:
    """Rewrites setuptools' wheel with the spec's tags and our writer.

    Args:
        spec: The wheel spec (authoritative for name, version and tags).
        built: The wheel the PEP 517 build produced.
        output: The wheel to write.
        inputs: The staged inputs (for the payload path checks).
        distinfo_files: Extra ``<dist-info>/NAME`` -> input file.
        jobs: Worker processes.
    """
    with zipfile.ZipFile(built) as archive:
        old_info = _check_identity(spec, built, archive)
        old_data = old_info[: -len(".dist-info")] + ".data"
        payload: dict[str, Source] = {}
        built_names: dict[str, str] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            top, _, rest = info.filename.partition("/")
            if top == old_info:
                if rest in _REPLACED_DIST_INFO:
                    continue
                arcname = f"{spec.dist_info}/{rest}"
            else:
                arcname = f"{spec.data_dir}/{rest}" if top == old_data else info.filename
                inputs.check_payload_path(arcname, "built wheel member")
            payload[arcname] = ZipMemberSource(archive, info.filename)
            built_names[arcname] = info.filename
        for arcname, path in distinfo_files.items():
            if arcname in payload:
                with open(path, "rb") as f:
                    if f.read() != archive.read(built_names[arcname]):
                        raise WheelError(
                            f"the build already wrote {arcname!r} with other content than "
                            f"{path}; drop one of them"
                        )
            payload[arcname] = FileSource(path)
        generated = {"WHEEL": spec_wheel_file(spec)}
        write_wheel(output, spec.dist_info, payload, generated, spec.compression_level, jobs)


def pack_pep517(
    spec_path: str,
    output: str,
    files: Sequence[Sequence[str]] = (),
    trees: Sequence[Sequence[str]] = (),
    project_files: Sequence[Sequence[str]] = (),
    distinfo_files: Sequence[Sequence[str]] = (),
    jobs: int | None = None,
    build_env_wheels: Sequence[str] = (),
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

    Returns:
        The written wheel's path.
    """
    spec = load_spec(spec_path)
    with errors_for(spec.target):
        check_spec_names(spec)
        _reject_spec_metadata(spec)
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
            env = build_environment(os.environ, spec, site)
            tree = os.path.join(tmp, "src")
            outdir = os.path.join(tmp, "dist")
            os.makedirs(tree)
            stage_tree(inputs, project, tree)
            built = run_build(tree, outdir, env)
            extra = build_input_map(spec.dist_info, spec.data_dir, (), (), distinfo_files)
            rewrite_built_wheel(spec, built, output, inputs, extra.files, jobs)
    return output
