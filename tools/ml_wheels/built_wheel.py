"""Wheels built by someone else's code, checked and rewritten canonically.

Shared by the modes in which a project's own build writes the wheel:
``pep517`` (``python -m build`` with setuptools) and ``binary`` (the
project's own ``wheel_binary``, e.g. jaxlib's ``build_wheel.py``). The spec
stays authoritative for the name, version and tags: the built wheel's
distribution and version are checked against it (file name and METADATA),
a binary platform tag requires compiled code in it (``check_compiled``), and
it is rewritten with this library's writer (sorted entries, fixed
timestamps, regenerated WHEEL and RECORD).
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import os
import shutil
import sys
import zipfile
from collections.abc import Mapping

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ml_wheels.errors import WheelError
from ml_wheels.inputs import InputMap
from ml_wheels.pack import spec_wheel_file, write_wheel
from ml_wheels.sources import FileSource, Source, ZipMemberSource
from ml_wheels.spec import MetadataSpec, WheelSpec

# 1980-01-01, the earliest time a zip can hold.
SOURCE_DATE_EPOCH = "315532800"
_REPLACED_DIST_INFO = ("RECORD", "RECORD.jws", "RECORD.p7s", "WHEEL")


@dataclasses.dataclass(frozen=True)
class Producer:
    """Who built the wheel, in the words of the error messages.

    Attributes:
        build: The build, as a sentence subject ("the PEP 517 build").
        project: What built the distribution ("the project").
        source: What to fix when names disagree ("setup.py").
        mode: The build_mode, for the metadata refusals ("pep517").
        writer: What writes METADATA ("setup").
        where: Where metadata is declared instead ("setup.py/pyproject.toml").
        compiled_hint: How to fix a platform-tagged wheel without compiled code.
        names_file: Whether a name mismatch also names the wheel file.
    """

    build: str
    project: str
    source: str
    mode: str
    writer: str
    where: str
    compiled_hint: str
    names_file: bool = False


PEP517 = Producer(
    build="the PEP 517 build",
    project="the project",
    source="setup.py",
    mode="pep517",
    writer="setup",
    where="setup.py/pyproject.toml",
    compiled_hint="make the extension compile (setuptools skips an optional one that fails) "
    "or list the Bazel-built library in package_data",
)


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What the project's build produced.

    Attributes:
        wheel: The path of the one wheel it wrote.
        output: Its stdout and stderr, interleaved (compiler warnings included).
        producer: Who built it (for messages).
    """

    wheel: str
    output: str
    producer: Producer = PEP517


def fixed_environment(spec: WheelSpec, staging: str, path: str | None) -> dict[str, str]:
    """The environment common to every build this library runs for a project.

    Nothing of the action's environment is inherited: ``PATH`` is ``path``
    (the rule's fixed value), ``HOME`` and ``TMPDIR`` are directories of the
    staging area, the locale is ``C`` (Python in UTF-8 mode), the user site
    is off, hashing and timestamps are fixed (``PYTHONHASHSEED``,
    ``SOURCE_DATE_EPOCH``), and ML_WHEEL_DISTRIBUTION, ML_WHEEL_VERSION,
    ML_WHEEL_PYTHON_TAG, ML_WHEEL_ABI_TAG and ML_WHEEL_PLATFORM_TAG say what
    the rule declared.

    Args:
        spec: The wheel spec.
        staging: The staging directory; gets ``home/`` and ``tmp/``.
        path: ``PATH`` for the build (``None``: ``os.defpath``).
    """
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
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "ML_WHEEL_DISTRIBUTION": spec.distribution,
        "ML_WHEEL_VERSION": spec.version,
        "ML_WHEEL_PYTHON_TAG": spec.python_tag,
        "ML_WHEEL_ABI_TAG": spec.abi_tag,
        "ML_WHEEL_PLATFORM_TAG": spec.platform_tag,
    }


def reject_spec_metadata(spec: WheelSpec, producer: Producer = PEP517) -> None:
    """Refuses metadata given to the rule: the project's build writes METADATA.

    Raises:
        WheelError: Naming the first such field and where to set it instead.
    """
    mode, writer, where = producer.mode, producer.writer, producer.where
    for fld in dataclasses.fields(MetadataSpec):
        name = fld.name
        if getattr(spec.metadata, name) not in (None, "", (), {}):
            raise WheelError(
                f"metadata field {name!r} is set, but in {mode} mode the project's {writer} "
                f"writes METADATA; set it in {where} and remove it from the rule"
            )
    if any(spec.entry_points.values()):
        raise WheelError(
            f"entry_points are set, but in {mode} mode the project's {writer} writes them; "
            f"declare them in {where} and remove them from the rule"
        )


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
        f"platform_tag is {spec.platform_tag!r} but {built.producer.build}'s wheel "
        f"{os.path.basename(built.wheel)} ({_built_tags(archive, dist_info)}) holds no "
        f"compiled code: no ELF, Mach-O or PE file among its {len(files)} files (the "
        f"build's output is above); {built.producer.compiled_hint}, or "
        "leave platform_tag unset for a pure wheel"
    )


def check_identity(spec: WheelSpec, built: BuildResult, archive: zipfile.ZipFile) -> str:
    """Checks the built wheel's name and version; returns its .dist-info dir.

    Raises:
        WheelError: If the file name is not a wheel name, or the file name or
            METADATA names another distribution or version than the spec.
    """
    producer = built.producer
    base = os.path.basename(built.wheel)
    try:
        name, version, _, _ = parse_wheel_filename(base)
    except InvalidWheelFilename as exc:
        raise WheelError(
            f"{producer.build} produced an invalid wheel name {base!r}: {exc}"
        ) from None
    want_name, want_version = canonicalize_name(spec.distribution), Version(spec.version)
    if name != want_name or version != want_version:
        built_what = f"{name} {version} ({base})" if producer.names_file else f"{name} {version}"
        raise WheelError(
            f"{producer.project} built {built_what} but the rule says {want_name} "
            f"{want_version}; make {producer.source} and the rule agree on the distribution "
            "and version"
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
            f"{spec.distribution} {spec.version}; make {producer.source} and the rule agree"
        )
    return infos[0]


def _open_built(built: BuildResult) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(built.wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(
            f"{built.producer.build} wrote {os.path.basename(built.wheel)}, which is not a "
            f"readable zip archive ({exc}); fix how {built.producer.source} writes the wheel"
        ) from None


def _member_source(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, strip_runpath_dir: str | None, index: int
) -> Source:
    """The member as it is, or an ELF member unpacked to have its Bazel RUNPATH removed."""
    if strip_runpath_dir is None:
        return ZipMemberSource(archive, info.filename)
    with archive.open(info) as member:
        if member.read(4) != b"\x7fELF":
            return ZipMemberSource(archive, info.filename)
    path = os.path.join(strip_runpath_dir, str(index))
    with archive.open(info) as member, open(path, "xb") as out:
        shutil.copyfileobj(member, out, 1 << 20)
    return FileSource(path, strip_bazel_runpath=True)


def rewrite_built_wheel(
    spec: WheelSpec,
    built: BuildResult,
    output: str,
    inputs: InputMap,
    distinfo_files: Mapping[str, str],
    jobs: int | None,
    strip_runpath_dir: str | None = None,
) -> None:
    """Rewrites the built wheel with the spec's tags and this library's writer.

    Args:
        spec: The wheel spec (authoritative for name, version and tags).
        built: The wheel the project's build produced, and its output.
        output: The wheel to write.
        inputs: The staged inputs (for the payload path checks).
        distinfo_files: Extra ``<dist-info>/NAME`` -> input file.
        jobs: Worker processes.
        strip_runpath_dir: An empty directory to unpack the built ELF
            members into, so that they are written without Bazel's
            ``_solib_*`` RUNPATH/RPATH entries (as the direct writer does);
            ``None`` keeps every member as built (pep517 mode strips them
            before ``setup.py`` sees the files).

    Raises:
        WheelError: If the built wheel is not a zip, is for another
            distribution or version, has no compiled code for a platform
            tag, or has members that a wheel cannot hold.
    """
    with _open_built(built) as archive:
        old_info = check_identity(spec, built, archive)
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
            payload[arcname] = _member_source(archive, info, strip_runpath_dir, len(payload))
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
