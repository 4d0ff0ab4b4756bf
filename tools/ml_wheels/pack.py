"""Assembles wheels: from a spec and input files, or from an unpacked directory."""

from __future__ import annotations

import contextlib
import email.message
import email.parser
import email.policy
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

from ml_wheels.bundle import read_bundle
from ml_wheels.errors import WheelError
from ml_wheels.inputs import build_input_map, fs_path, walk_tree, wheel_text
from ml_wheels.metadata import render_entry_points, render_metadata, render_wheel
from ml_wheels.naming import (
    compress_tags,
    data_dir,
    dist_info_dir,
    normalize_distribution,
    normalize_version,
    wheel_filename,
)
from ml_wheels.pipeline import write_members
from ml_wheels.record import RecordEntry, canonical_order, render_record
from ml_wheels.sources import BytesSource, FileSource, Source
from ml_wheels.spec import WheelSpec, check_spec_names, load_spec
from ml_wheels.zipwriter import (
    ZIP64_LIMIT,
    CompressedMember,
    ZipWriter,
    atomic_output,
    check_output_path,
    create_temp_beside,
    replace_output,
)

# Signatures over the old RECORD are invalid once RECORD is regenerated.
_DROPPED_DIST_INFO = ("RECORD", "RECORD.jws", "RECORD.p7s")


@contextlib.contextmanager
def errors_for(target: str) -> Iterator[None]:
    """Prefixes every ``WheelError`` raised inside with the target's label."""
    try:
        yield
    except WheelError as exc:
        raise WheelError(f"{target}: {exc}") from None


def check_file_dir_conflicts(arcnames: Iterable[str]) -> None:
    """Rejects a path that is both a file and a directory (installers cannot unpack it).

    Raises:
        WheelError: Naming the path.
    """
    names = set(arcnames)
    for name in sorted(names):
        parts = name.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in names:
                raise WheelError(
                    f"wheel path {prefix!r} is a file but {name!r} needs it to be a "
                    "directory; rename one of them"
                )


def write_wheel(
    output: str,
    dist_info: str,
    payload: Mapping[str, Source],
    generated: Mapping[str, bytes],
    level: int,
    jobs: int | None = None,
    *,
    precompressed: Mapping[str, CompressedMember] | None = None,
    dist_info_out: str | None = None,
    zip64_threshold: int = ZIP64_LIMIT,
) -> list[RecordEntry]:
    """Writes a complete wheel atomically, RECORD included.

    Args:
        output: The wheel path; written as ``<output>.tmp`` then renamed.
        dist_info: The ``.dist-info`` directory name.
        payload: Every member to compress here, except the generated dist-info files.
        generated: Dist-info file name -> content (METADATA, WHEEL, ...).
        level: Compression level 0-9.
        jobs: Worker processes (``None``: one per CPU).
        precompressed: Members already encoded at ``level`` (from compression
            bundles); their bytes are copied as they are.
        dist_info_out: A directory to also write the wheel's ``.dist-info``
            files into (RECORD included), so ``py_import`` can present the
            wheel's contents without unpacking it.
        zip64_threshold: Only tests lower it.

    Returns:
        The RECORD entries, RECORD itself last.
    """
    precompressed = precompressed or {}
    members: dict[str, Source] = dict(payload)
    for arcname in precompressed:
        if arcname in members:
            raise WheelError(f"wheel path {arcname!r} is given twice; keep only one source")
    for name, data in generated.items():
        arcname = f"{dist_info}/{name}"
        if arcname in members:
            raise WheelError(f"wheel path {arcname!r} is generated; do not supply it")
        members[arcname] = BytesSource(data, arcname)
    record_name = f"{dist_info}/RECORD"
    members.pop(record_name, None)
    # RECORD is written last, but it is a file of the wheel like the others:
    # "<dist-info>/RECORD/x" would make installers create a directory there.
    check_file_dir_conflicts([*members, *precompressed, record_name])
    order = canonical_order([*members, *precompressed], dist_info)
    check_output_path(output)
    if dist_info_out is not None:
        check_dist_info_out(dist_info_out)
    with atomic_output(output) as fp:
        writer = ZipWriter(fp, zip64_threshold=zip64_threshold)
        # Runs of members to encode go to the (parallel) pipeline together.
        run: list[tuple[str, Source]] = []
        for arcname in order:
            if arcname in precompressed:
                if run:
                    write_members(writer, run, level, jobs)
                    run = []
                writer.write_compressed(arcname, precompressed[arcname])
            else:
                run.append((arcname, members[arcname]))
        write_members(writer, run, level, jobs)
        record = render_record(writer.records, record_name)
        write_members(writer, [(record_name, BytesSource(record, record_name))], level, 1)
        writer.close()
        # Inside the wheel's atomic_output: if these fail, no wheel is left either.
        if dist_info_out is not None:
            _write_dist_info(dist_info_out, dist_info, members, record)
    return writer.records


def check_dist_info_out(out_dir: str) -> None:
    """Refuses a ``--dist-info-out`` that exists and is not a directory, before any work.

    Raises:
        WheelError: Naming the path.
    """
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise WheelError(
            f"--dist-info-out {out_dir} exists and is not a directory; remove it or pass a "
            "directory"
        )


def _make_dirs(directory: str) -> None:
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise WheelError(
            f"cannot create directory {directory}: {exc.strerror}; remove what is in the way "
            "or choose another path"
        ) from None


def _write_dist_info(
    out_dir: str, dist_info: str, members: Mapping[str, Source], record: bytes
) -> None:
    """Writes the ``.dist-info`` members (the same bytes as in the wheel) to a directory.

    Every file is first written to an exclusively created temporary file, then
    all are renamed into place, so a failure leaves no partial file.
    """
    prefix = dist_info + "/"
    contents = {a[len(prefix) :]: members[a] for a in members if a.startswith(prefix)}
    contents["RECORD"] = BytesSource(record, prefix + "RECORD")
    staged: list[tuple[str, str]] = []
    try:
        for rel, source in sorted(contents.items()):
            path = os.path.join(out_dir, *rel.split("/"))
            _make_dirs(os.path.dirname(path))
            check_output_path(path)
            fd, tmp = create_temp_beside(path)
            staged.append((tmp, path))
            stream, _ = source.open()
            with stream, os.fdopen(fd, "wb") as out:
                while block := stream.read(1 << 20):
                    out.write(block)
        for tmp, path in staged:
            replace_output(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def read_description(path: str) -> str:
    """Reads the long description; it must be UTF-8.

    Raises:
        WheelError: Naming the file if it is unreadable or not UTF-8.
    """
    try:
        with open(fs_path(path), "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise WheelError(f"cannot read description_file {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WheelError(
            f"description_file {path} is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
        ) from None


def check_license_files(spec: WheelSpec, arcnames: Iterable[str]) -> None:
    """Checks that every ``License-File`` of the spec is in ``<dist-info>/licenses/``.

    Args:
        spec: The parsed spec.
        arcnames: The wheel paths supplied (``--distinfo-file`` ones included).

    Raises:
        WheelError: Naming the first license file that no input supplies.
    """
    prefix = f"{spec.dist_info}/licenses/"
    supplied = {a[len(prefix) :] for a in arcnames if a.startswith(prefix)}
    for path in spec.metadata.license_files:
        if path not in supplied:
            raise WheelError(
                f"metadata field License-File {path!r} names no file of the wheel; add "
                f"--distinfo-file licenses/{path} SRC (the rule's license_files does)"
            )


def spec_dist_info_files(spec: WheelSpec) -> dict[str, bytes]:
    """Renders METADATA, WHEEL and (if any) entry_points.txt for a spec."""
    desc_file = spec.metadata.description_file
    description = read_description(desc_file) if desc_file else ""
    meta = spec.to_metadata(description, os.path.basename(desc_file or ""))
    files = {
        "METADATA": render_metadata(meta).encode("utf-8"),
        "WHEEL": spec_wheel_file(spec),
    }
    entry_points = render_entry_points(spec.entry_points)
    if entry_points:
        files["entry_points.txt"] = entry_points.encode("utf-8")
    return files


def spec_wheel_file(spec: WheelSpec) -> bytes:
    """Renders the WHEEL file from the spec's tags."""
    text = render_wheel(spec.python_tag, spec.abi_tag, spec.platform_tag, spec.build_tag or None)
    return text.encode("utf-8")


def pack_spec(
    spec_path: str,
    output: str,
    files: Sequence[Sequence[str]] = (),
    trees: Sequence[Sequence[str]] = (),
    distinfo_files: Sequence[Sequence[str]] = (),
    jobs: int | None = None,
    dist_info_out: str | None = None,
    *,
    keep_bazel_runpath: bool = False,
) -> str:
    """Spec mode: builds a wheel from a spec and explicit inputs.

    Args:
        spec_path: The JSON spec.
        output: The wheel to write.
        files: ``(wheel path, input file)`` pairs.
        trees: ``(wheel path prefix, input directory)`` pairs.
        distinfo_files: ``(name under .dist-info, input file)`` pairs.
        jobs: Worker processes (``None``: one per CPU).
        dist_info_out: Also write the ``.dist-info`` files into this directory.
        keep_bazel_runpath: Ship ELF files' ``_solib_*`` RUNPATH entries as they are.

    Returns:
        The written wheel's path.
    """
    spec = load_spec(spec_path)
    with errors_for(spec.target):
        check_spec_names(spec)
        inputs = build_input_map(spec.dist_info, spec.data_dir, files, trees, distinfo_files)
        generated = spec_dist_info_files(spec)
        check_license_files(spec, inputs.files)
        strip = not keep_bazel_runpath
        payload = {
            arcname: FileSource(path, strip_bazel_runpath=strip)
            for arcname, path in inputs.files.items()
        }
        write_wheel(
            output,
            spec.dist_info,
            payload,
            generated,
            spec.compression_level,
            jobs,
            dist_info_out=dist_info_out,
        )
    return output


def assemble_spec(
    spec_path: str,
    output: str,
    bundles: Sequence[str],
    distinfo_files: Sequence[Sequence[str]] = (),
    jobs: int | None = None,
    dist_info_out: str | None = None,
) -> str:
    """Assemble mode: a wheel from a spec and compression bundles.

    Only copies the bundles' encoded bytes; the result is byte-identical to
    ``pack_spec`` over the same inputs.

    Args:
        spec_path: The JSON spec.
        output: The wheel to write.
        bundles: Files written by ``pack_wheel compress`` at the spec's level.
        distinfo_files: ``(name under .dist-info, input file)`` pairs.
        jobs: Worker processes for what is compressed here (``None``: one per CPU).

    Returns:
        The written wheel's path.
    """
    spec = load_spec(spec_path)
    with errors_for(spec.target):
        check_spec_names(spec)
        inputs = build_input_map(spec.dist_info, spec.data_dir, (), (), distinfo_files)
        precompressed: dict[str, CompressedMember] = {}
        origin: dict[str, str] = {}
        for bundle in bundles:
            for arcname, member in read_bundle(bundle, spec.compression_level).items():
                inputs.check_payload_path(arcname, f"bundle {bundle}:")
                if arcname in precompressed:
                    raise WheelError(
                        f"wheel path {arcname!r} is in two compression bundles, {origin[arcname]} "
                        f"and {bundle}; give each input one destination"
                    )
                precompressed[arcname] = member
                origin[arcname] = bundle
        generated = spec_dist_info_files(spec)
        check_license_files(spec, inputs.files)
        payload = {arcname: FileSource(path) for arcname, path in inputs.files.items()}
        write_wheel(
            output,
            spec.dist_info,
            payload,
            generated,
            spec.compression_level,
            jobs,
            precompressed=precompressed,
            dist_info_out=dist_info_out,
        )
    return output


def _parse_headers(path: str) -> email.message.Message:
    try:
        with open(path, "rb") as f:
            return email.parser.BytesParser(policy=email.policy.compat32).parse(f)
    except OSError as exc:
        raise WheelError(f"cannot read {path}: {exc.strerror}") from None


def _read_utf8(path: str) -> str:
    """Reads a text file that must be UTF-8 (a wheel's WHEEL file).

    Raises:
        WheelError: Naming the file if it is unreadable or not UTF-8.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise WheelError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WheelError(
            f"{path} is not valid UTF-8 (byte {exc.start}); save it as UTF-8 to change its "
            "Build with --build-number"
        ) from None


def _set_build(wheel_text: str, build: str) -> str:
    lines = [line for line in wheel_text.splitlines() if not line.startswith("Build:")]
    if build:
        lines.append(f"Build: {build}")
    return "\n".join(lines) + "\n"


def pack_directory(
    directory: str,
    dest_dir: str,
    level: int = 6,
    jobs: int | None = None,
    build_number: str | None = None,
) -> str:
    """Directory mode: repacks an unpacked wheel, like ``wheel pack``.

    Name and version come from METADATA, tags from WHEEL's ``Tag:`` lines
    (compressed into the file name as sorted unique sets); RECORD is
    regenerated. A non-canonical ``.dist-info``/``.data`` name that denotes the
    same distribution and version is renamed to the canonical one.

    Args:
        directory: The unpacked wheel.
        dest_dir: Where to write the wheel (created if missing).
        level: Compression level 0-9.
        jobs: Worker processes (``None``: one per CPU).
        build_number: Replaces the build tag; ``""`` removes it.

    Returns:
        The written wheel's path.
    """
    if not os.path.isdir(directory):
        raise WheelError(f"{directory} is not a directory; pass an unpacked wheel")
    tops = sorted(os.listdir(directory))
    infos = [t for t in tops if t.endswith(".dist-info") and os.path.isdir(f"{directory}/{t}")]
    if len(infos) != 1:
        found = ", ".join(infos) or "none"
        raise WheelError(
            f"{directory} must contain exactly one .dist-info directory (found: {found})"
        )
    old_info = infos[0]
    meta_path = os.path.join(directory, old_info, "METADATA")
    wheel_path = os.path.join(directory, old_info, "WHEEL")
    for required in (meta_path, wheel_path):
        if not os.path.isfile(required):
            raise WheelError(f"{required} is missing; a wheel needs METADATA and WHEEL")
    meta = _parse_headers(meta_path)
    name, version = meta.get("Name"), meta.get("Version")
    if not name or not version:
        raise WheelError(f"{meta_path} must have Name and Version fields")
    name, version = str(name).strip(), str(version).strip()
    new_info = dist_info_dir(name, version)
    old_stem = old_info[: -len(".dist-info")]
    old_name, _, old_version = old_stem.rpartition("-")
    try:
        same = normalize_distribution(old_name) == normalize_distribution(
            name
        ) and normalize_version(old_version) == normalize_version(version)
    except WheelError:
        same = False
    if not same:
        raise WheelError(
            f"{old_info} does not match METADATA Name {name!r} and Version {version!r}; "
            f"rename it to {new_info}"
        )
    wheel_info = _parse_headers(wheel_path)
    tags = [str(t) for t in wheel_info.get_all("Tag", [])]
    existing_build = wheel_info.get("Build")
    build = build_number if build_number is not None else existing_build
    build = str(build).strip() if build else ""
    py, abi, plat = compress_tags(tags)
    filename = wheel_filename(name, version, py, abi, plat, build or None)
    old_data, new_data = f"{old_stem}.data", data_dir(name, version)
    old_info_text = wheel_text(old_info, "directory")
    old_data_text = wheel_text(old_data, "directory")
    payload: dict[str, Source] = {}
    generated: dict[str, bytes] = {}
    for rel, path in walk_tree(directory, "unpacked wheel"):
        top, _, rest = rel.partition("/")
        if top == old_info_text:
            if rest in _DROPPED_DIST_INFO:
                continue
            if rest == "WHEEL" and build != (str(existing_build).strip() if existing_build else ""):
                generated["WHEEL"] = _set_build(_read_utf8(path), build).encode("utf-8")
                continue
            rel = f"{new_info}/{rest}"
        elif top == old_data_text:
            rel = f"{new_data}/{rest}"
        payload[rel] = FileSource(path)
    if os.path.lexists(dest_dir) and not os.path.isdir(dest_dir):
        raise WheelError(
            f"--dest-dir {dest_dir} exists and is not a directory; remove it or pass a directory"
        )
    _make_dirs(dest_dir)
    output = os.path.join(dest_dir, filename)
    write_wheel(output, new_info, payload, generated, level, jobs)
    return output
