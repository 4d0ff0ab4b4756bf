"""Loads and checks the JSON wheel spec that the Starlark rule writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_wheels.errors import WheelError
from ml_wheels.metadata import Metadata
from ml_wheels.naming import (
    data_dir,
    dist_info_dir,
    normalize_distribution,
    normalize_version,
    wheel_filename,
)

_REQUIRED = ("target", "distribution", "version", "python_tag", "abi_tag", "platform_tag")
_TOP_LEVEL = (
    *_REQUIRED,
    "build_tag",
    "wheel_name",
    "compression_level",
    "metadata",
    "entry_points",
)
_STR_FIELDS = (
    "summary",
    "description_content_type",
    "license",
    "license_expression",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "homepage",
    "requires_python",
)
_LIST_FIELDS = ("keywords", "classifiers", "requires_dist", "license_files")
_METADATA_FIELDS = (
    *_STR_FIELDS,
    *_LIST_FIELDS,
    "description_file",
    "project_urls",
    "extra_requires",
)


@dataclass(frozen=True)
class MetadataSpec:
    """The ``metadata`` object of the spec (see ``Metadata`` for meanings).

    ``license_files`` are paths below ``<dist-info>/licenses/``; each must be
    supplied as ``--distinfo-file licenses/<path> SRC``.
    """

    summary: str = ""
    description_file: str | None = None
    description_content_type: str = ""
    license: str = ""
    license_expression: str = ""
    license_files: tuple[str, ...] = ()
    author: str = ""
    author_email: str = ""
    maintainer: str = ""
    maintainer_email: str = ""
    homepage: str = ""
    keywords: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    project_urls: tuple[tuple[str, str], ...] = ()
    requires_python: str = ""
    requires_dist: tuple[str, ...] = ()
    extra_requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class WheelSpec:
    """A parsed spec file.

    Attributes:
        target: The Bazel label, used in every error message.
        distribution: Distribution name as written.
        version: Version as written (must already be canonical).
        python_tag: Compressed python tag set.
        abi_tag: Compressed ABI tag set.
        platform_tag: Compressed platform tag set.
        build_tag: Build tag or ``""``.
        wheel_name: The file name Starlark computed.
        compression_level: 0-9.
        metadata: The metadata fields.
        entry_points: ``{group: [entry, ...]}``.
    """

    target: str
    distribution: str
    version: str
    python_tag: str
    abi_tag: str
    platform_tag: str
    build_tag: str = ""
    wheel_name: str = ""
    compression_level: int = 6
    metadata: MetadataSpec = field(default_factory=MetadataSpec)
    entry_points: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def dist_info(self) -> str:
        """The ``<name>-<version>.dist-info`` directory."""
        return dist_info_dir(self.distribution, self.version)

    @property
    def data_dir(self) -> str:
        """The ``<name>-<version>.data`` directory."""
        return data_dir(self.distribution, self.version)

    def to_metadata(self, description: str = "", description_filename: str = "") -> Metadata:
        """Returns the core metadata, with the description text already read."""
        m = self.metadata
        return Metadata(
            name=self.distribution,
            version=self.version,
            summary=m.summary,
            description=description,
            description_content_type=m.description_content_type,
            description_filename=description_filename,
            homepage=m.homepage,
            author=m.author,
            author_email=m.author_email,
            maintainer=m.maintainer,
            maintainer_email=m.maintainer_email,
            license=m.license,
            license_expression=m.license_expression,
            license_files=m.license_files,
            keywords=m.keywords,
            classifiers=m.classifiers,
            project_urls=m.project_urls,
            requires_python=m.requires_python,
            requires_dist=m.requires_dist,
            extra_requires=m.extra_requires,
        )


class _Checker:
    """Type checks with messages that name the spec file and field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, expected: str, value: Any) -> WheelError:
        return WheelError(
            f"spec {self.path}: field {key!r} must be {expected}, got {value!r}; "
            "regenerate the spec with the matching rules_ml_wheels version"
        )

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(key, "a string", value)
        return value

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "a list of strings", value)
        return tuple(value)

    def object(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "an object", value)
        return value

    def known_keys(self, key: str, obj: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(obj) - set(allowed))
        if unknown:
            where = f"field {key!r}" if key else "the top level"
            raise WheelError(
                f"spec {self.path}: unknown key {unknown[0]!r} in {where}; the Starlark "
                "rule and the packer come from different rules_ml_wheels versions"
            )

    def string_lists(self, key: str, value: Any) -> dict[str, tuple[str, ...]]:
        obj = self.object(key, value)
        return {k: self.strings(f"{key}.{k}", v) for k, v in obj.items()}


def _parse_metadata(check: _Checker, raw: Any) -> MetadataSpec:
    obj = check.object("metadata", raw)
    check.known_keys("metadata", obj, _METADATA_FIELDS)
    values: dict[str, Any] = {}
    for key in _STR_FIELDS:
        if key in obj:
            values[key] = check.string(f"metadata.{key}", obj[key])
    for key in _LIST_FIELDS:
        if key in obj:
            values[key] = check.strings(f"metadata.{key}", obj[key])
    desc = obj.get("description_file")
    if desc is not None and desc != "":
        values["description_file"] = check.string("metadata.description_file", desc)
    urls = obj.get("project_urls", [])
    if not isinstance(urls, list) or not all(
        isinstance(u, list) and len(u) == 2 and all(isinstance(x, str) for x in u) for u in urls
    ):
        raise check.fail("metadata.project_urls", "a list of [label, url] pairs", urls)
    values["project_urls"] = tuple((u[0], u[1]) for u in urls)
    if "extra_requires" in obj:
        values["extra_requires"] = check.string_lists(
            "metadata.extra_requires", obj["extra_requires"]
        )
    return MetadataSpec(**values)


def parse_spec(raw: Any, path: str) -> WheelSpec:
    """Builds a ``WheelSpec`` from decoded JSON.

    Args:
        raw: The decoded JSON value.
        path: The spec's path, for error messages.

    Raises:
        WheelError: On a missing, unknown or mistyped field.
    """
    check = _Checker(path)
    obj = check.object("<top level>", raw)
    check.known_keys("", obj, _TOP_LEVEL)
    for key in _REQUIRED:
        if key not in obj:
            raise WheelError(f"spec {path}: required field {key!r} is missing")
    values: dict[str, Any] = {key: check.string(key, obj[key]) for key in _REQUIRED}
    for key in ("build_tag", "wheel_name"):
        if key in obj:
            values[key] = check.string(key, obj[key])
    if "compression_level" in obj:
        level = obj["compression_level"]
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise check.fail("compression_level", "an integer from 0 to 9", level)
        values["compression_level"] = level
    if "metadata" in obj:
        values["metadata"] = _parse_metadata(check, obj["metadata"])
    if "entry_points" in obj:
        values["entry_points"] = check.string_lists("entry_points", obj["entry_points"])
    return WheelSpec(**values)


def load_spec(path: str) -> WheelSpec:
    """Reads and parses a spec file.

    Raises:
        WheelError: If the file cannot be read, is not JSON or is malformed.
    """
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as exc:
        raise WheelError(f"cannot read spec {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WheelError(f"spec {path} is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise WheelError(
            f"spec {path} nests JSON arrays/objects too deeply; regenerate it with the rule"
        ) from None
    return parse_spec(raw, path)


def check_spec_names(spec: WheelSpec) -> str:
    """Recomputes the wheel's name and checks it against what Starlark wrote.

    Args:
        spec: The parsed spec.

    Returns:
        The wheel file name.

    Raises:
        WheelError: Naming the target, the expected and the given value, if the
            version is not canonical or ``wheel_name`` differs.
    """
    normalize_distribution(spec.distribution)
    canonical = normalize_version(spec.version)
    if canonical != spec.version:
        raise WheelError(
            f"version {spec.version!r} is not in canonical PEP 440 form; expected "
            f"{canonical!r}: pass the canonical version to the rule"
        )
    expected = wheel_filename(
        spec.distribution,
        spec.version,
        spec.python_tag,
        spec.abi_tag,
        spec.platform_tag,
        spec.build_tag or None,
    )
    if spec.wheel_name != expected:
        raise WheelError(
            f"wheel_name {spec.wheel_name!r} differs from the name computed from the spec "
            f"{expected!r}; the Starlark and Python naming disagree, report this as a bug"
        )
    return expected
