"""Builders shared by the audit tests: small ELF files (gcc) zipped into wheels.

This module holds no tests; the other test_audit_* modules import it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Union

import pytest

REPO = Path(__file__).resolve().parents[2]
AUDIT_WHEEL = REPO / "tools" / "audit_wheel.py"
GCC = shutil.which("gcc")
requires_gcc = pytest.mark.skipif(GCC is None, reason="gcc builds the ELF files of these tests")

# A function that makes a shared object a CPython 3 extension module for the audit.
PYINIT = "int PyInit_{module}(void) {{ return 0; }}\n"


def compile_so(directory: Path, name: str, source: str, *flags: str, module: str = "") -> Path:
    """Compiles C source into a shared object; ``module`` adds ``PyInit_<module>``."""
    directory.mkdir(parents=True, exist_ok=True)
    c_file = directory / (name + ".c")
    c_file.write_text(source + (PYINIT.format(module=module) if module else ""))
    output = directory / name
    subprocess.run(
        [GCC or "gcc", "-shared", "-fPIC", "-O1", "-o", str(output), str(c_file), *flags],
        check=True,
        capture_output=True,
    )
    return output


def set_machine(path: Path, machine: int) -> Path:
    """Rewrites e_machine (little-endian ELF), e.g. 183 to make an 'aarch64' file."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, 18, machine)
    path.write_bytes(bytes(data))
    return path


def wheel_file(filename: str) -> bytes:
    """A WHEEL file whose Tag: lines are the tags of ``filename`` (expanded)."""
    parts = filename[: -len(".whl")].split("-")
    tags = [
        f"{py}-{abi}-{platform}"
        for py in parts[-3].split(".")
        for abi in parts[-2].split(".")
        for platform in parts[-1].split(".")
    ]
    lines = ["Wheel-Version: 1.0", "Generator: test", "Root-Is-Purelib: false"]
    return ("\n".join([*lines, *(f"Tag: {tag}" for tag in tags)]) + "\n").encode()


def make_wheel(
    directory: Path,
    filename: str,
    members: dict[str, Union[bytes, Path]],
    *,
    stored: bool = False,
    record: bool = True,
) -> Path:
    """Writes a wheel with these members (bytes or files) and a valid RECORD."""
    directory.mkdir(parents=True, exist_ok=True)
    dist = "-".join(filename.split("-")[:2])
    contents = {
        name: (value.read_bytes() if isinstance(value, Path) else value)
        for name, value in members.items()
    }
    contents.setdefault(
        f"{dist}.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    )
    contents.setdefault(f"{dist}.dist-info/WHEEL", wheel_file(filename))
    rows = []
    for name, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    if record:
        rows.append(f"{dist}.dist-info/RECORD,,")
        contents[f"{dist}.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    path = directory / filename
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o755 << 16
            info.compress_type = compression
            zf.writestr(info, data)
    return path


def run_audit(*args: object) -> subprocess.CompletedProcess:
    """Runs tools/audit_wheel.py as a plain script."""
    return subprocess.run(
        [sys.executable, str(AUDIT_WHEEL), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def audit_json(*args: object) -> dict:
    proc = run_audit("--json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def auditwheel_show(wheel: Path) -> dict:
    """``auditwheel show --json`` of the pinned auditwheel next to the test interpreter."""
    beside = Path(sys.executable).parent / "auditwheel"
    command = [str(beside)] if beside.exists() else [sys.executable, "-m", "auditwheel"]
    proc = subprocess.run(
        [*command, "show", "--json", "--allow-pure-python-wheel", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


AUDITWHEEL_KEYS = (
    "pure",
    "overall_tag",
    "sym_tag",
    "pyfpe",
    "ucs2",
    "unsupported_isa",
    "versioned_symbols",
    "external_libs",
    "policy_upgrades",
)


def assert_same_as_auditwheel(ours: dict, theirs: dict) -> None:
    """Every key auditwheel reports (schema 1) has the same value in our JSON."""
    for key in AUDITWHEEL_KEYS:
        if key in theirs:
            assert ours.get(key) == theirs[key], (key, ours.get(key), theirs[key])
