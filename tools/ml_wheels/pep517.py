"""PEP 517 mode: let setuptools build, then rewrite its wheel canonically.

For projects whose setup.py does real work (computed requirements, custom
commands), as JAX and TensorFlow have. The spec stays authoritative for the
name, version and tags; setuptools' naming is checked, never trusted. The
build runs in a fixed, minimal environment (``build_environment``), compiled
code it produces holds no staging path (``_prefix_maps``), and a binary
platform tag requires compiled code in what it built (``check_compiled``).
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
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

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap, build_input_map, fs_path
from ml_wheels.pack import errors_for, spec_wheel_file, write_wheel
from ml_wheels.runpath import PatchedStream, runpath_patches
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
    home, tmp = os.path.join(staging, "home"), os.path.join(staging, "tmp")
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    return {
        "PATH": path or os.defpath,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C",
        "LC_ALL": "C",
        "PYTHONUTF8": "1",
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "CPPFLAGS": " ".join(_prefix_maps(tree)),
        "ML_WHEEL_DISTRIBUTION": spec.distribution,
        "ML_WHEEL_VERSION": spec.version,
        "ML_WHEEL_PYTHON_TAG": spec.python_tag,
        "ML_WHEEL_ABI_TAG": spec.abi_tag,
        "ML_WHEEL_PLATFORM_TAG": spec.platform_tag,
    }


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


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What ``python -m build`` produced.

    Attributes:
        wheel: The path of the one wheel it wrote.
        output: Its stdout and stderr, interleaved (compiler warnings included).
    """

    wheel: str
    output: str


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


# The first bytes of compiled code: ELF (Linux), Mach-O thin and fat (macOS).
_NATIVE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
# PE files (Windows) start with "MZ": too common to trust outside these names.
_PE_SUFFIXES = (".pyd", ".dll")


def _is_native(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    with archive.open(info) as member:
        head = member.read(4)
    if head in _NATIVE_MAGIC:
        return True
    return head[:2] == b"MZ" and info.filename.lower().endswith(_PE_SUFFIXES)


def _built_tags(archive: zipfile.ZipFile, dist_info: str) -> str:
    """The built WHEEL's Root-Is-Purelib and Tag lines, for messages."""
    try:
        text = archive.read(f"{dist_info}/WHEEL").decode("utf-8", "replace")
    except KeyError:
        return "no WHEEL file"
    fields = [
        line.strip() for line in text.splitlines() if line.startswith(("Root-Is-Purelib:", "Tag:"))
    ]
    return ", ".join(fields) or "no tags"


def check_compiled(
    spec: WheelSpec, built: BuildResult, archive: zipfile.ZipFile, dist_info: str
) -> None:
    """Refuses a platform-tagged wheel that holds no compiled code.

    The criterion is the built wheel's content, not its own tags: a wheel
    whose ``platform_tag`` is not ``any`` must contain at least one ELF,
    Mach-O or PE (``.pyd``/``.dll``) file. setuptools tags a wheel by whether
    ext_modules are declared, so an optional extension that failed to compile
    still gets a platform tag, and a prebuilt library shipped as package data
    gets ``py3-none-any``; neither tag tells what the wheel holds.

    Args:
        spec: The wheel spec.
        built: The build's wheel and output.
        archive: ``built.wheel``, open.
        dist_info: Its ``.dist-info`` directory.

    Raises:
        WheelError: If there is none; the build's output is printed first.
    """
    if spec.platform_tag == "any":
        return
    files = [info for info in archive.infolist() if not info.is_dir()]
    if any(_is_native(archive, info) for info in files):
        return
    sys.stderr.write(built.output)
    raise WheelError(
        f"platform_tag is {spec.platform_tag!r} but the PEP 517 build's wheel "
        f"{os.path.basename(built.wheel)} ({_built_tags(archive, dist_info)}) holds no "
        f"compiled code: no ELF, Mach-O or PE file among its {len(files)} files (the "
        "build's output is above); make the extension compile (setuptools skips an "
        "optional one that fails) or list the Bazel-built library in package_data, or "
        "leave platform_tag unset for a pure wheel"
    )


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
    built: BuildResult,
    output: str,
    inputs: InputMap,
    distinfo_files: Mapping[str, str],
    jobs: int | None,
) -> None:
    """Rewrites setuptools' wheel with the spec's tags and our writer.

    Args:
        spec: The wheel spec (authoritative for name, version and tags).
        built: The wheel the PEP 517 build produced, and its output.
        output: The wheel to write.
        inputs: The staged inputs (for the payload path checks).
        distinfo_files: Extra ``<dist-info>/NAME`` -> input file.
        jobs: Worker processes.
    """
    with zipfile.ZipFile(built.wheel) as archive:
        old_info = _check_identity(spec, built.wheel, archive)
        check_compiled(spec, built, archive, old_info)
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
            tree = os.path.join(tmp, "src")
            outdir = os.path.join(tmp, "dist")
            env = build_environment(spec, tmp, tree, site, os.environ.get("PATH"))
            os.makedirs(tree)
            stage_tree(inputs, project, tree, strip_bazel_runpath=not keep_bazel_runpath)
            built = run_build(tree, outdir, env)
            extra = build_input_map(spec.dist_info, spec.data_dir, (), (), distinfo_files)
            rewrite_built_wheel(spec, built, output, inputs, extra.files, jobs)
    return output
