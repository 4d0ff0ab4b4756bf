"""PEP 517 build backend shipped inside every python_sdist (standard library only).

pip (or ``python -m build``) builds the wheel from the sdist with this
backend: it packs the files listed in ``_ml_wheels_build/wheel.json`` at the
same paths as in the Bazel-built wheel, with PKG-INFO as METADATA and the
wheel's own WHEEL and entry_points.txt, so the installed metadata is the
Bazel wheel's. It needs nothing from an index (``requires = []``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

_BUILD_DIR = "_ml_wheels_build"
_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def _load(root: str) -> dict[str, Any]:
    with open(os.path.join(root, _BUILD_DIR, "wheel.json"), encoding="utf-8") as f:
        return json.load(f)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _read(root: str, path: str) -> bytes:
    with open(os.path.join(root, path), "rb") as f:
        return f.read()


def _members(root: str, spec: Mapping[str, Any]) -> list[tuple[str, bytes, bool]]:
    """(wheel path, bytes, executable) of every member but RECORD."""
    dist_info = spec["dist_info"]
    members = []
    for path in spec["files"]:
        mode = os.stat(os.path.join(root, path)).st_mode
        members.append((path, _read(root, path), bool(mode & 0o111)))
    members.append((f"{dist_info}/METADATA", _read(root, "PKG-INFO"), False))
    for name in spec["dist_info_files"]:
        members.append((f"{dist_info}/{name}", _read(root, f"{_BUILD_DIR}/{name}"), False))
    for name in spec["license_files"]:
        members.append((f"{dist_info}/licenses/{name}", _read(root, name), False))
    return sorted(members)


def write_wheel(root: str, wheel_directory: str) -> str:
    """Builds the wheel of the sdist unpacked at ``root``; returns its file name."""
    spec = _load(root)
    name = spec["wheel_name"]
    members = _members(root, spec)
    record = [_record_line(path, data) for path, data, _ in members]
    record_name = f"{spec['dist_info']}/RECORD"
    record.append(f"{record_name},,")
    members.append((record_name, ("\n".join(record) + "\n").encode(), False))
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data, executable in members:
            info = zipfile.ZipInfo(path, _DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, data)
    return name


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    """PEP 517: nothing beyond this backend."""
    return []


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """PEP 517: builds the wheel in ``wheel_directory`` from the current directory."""
    return write_wheel(os.getcwd(), wheel_directory)
