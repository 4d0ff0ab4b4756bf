"""Shared helpers for the ml_wheels unit tests (independent of the code under test)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"
PACK_WHEEL = TOOLS / "pack_wheel.py"


def base_spec(**overrides) -> dict:
    """A valid spec for a pure wheel; tests override what they need."""
    spec = {
        "target": "//pkg:wheel",
        "distribution": "My-Project",
        "version": "1.2.0",
        "python_tag": "py3",
        "abi_tag": "none",
        "platform_tag": "any",
        "build_tag": "",
        "wheel_name": "my_project-1.2.0-py3-none-any.whl",
        "compression_level": 6,
        "metadata": {
            "summary": "",
            "description_file": None,
            "description_content_type": "",
            "license": "",
            "author": "",
            "author_email": "",
            "homepage": "",
            "keywords": [],
            "classifiers": [],
            "project_urls": [],
            "requires_python": "",
            "requires_dist": [],
            "extra_requires": {},
        },
        "entry_points": {},
    }
    spec.update(overrides)
    return spec


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def run_pack(*args, env=None, cwd=None, check=True) -> subprocess.CompletedProcess:
    """Runs tools/pack_wheel.py as a plain script, the way Bazel does."""
    proc = subprocess.run(
        [sys.executable, str(PACK_WHEEL), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"pack_wheel failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify_record(wheel) -> list[list[str]]:
    """Checks RECORD against every member with hashlib; returns its rows."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (record_name,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode("utf-8"))))
        assert [r[0] for r in rows] == names, "RECORD lists members in archive order"
        for path, digest, size in rows:
            if path == record_name:
                assert (digest, size) == ("", "")
                continue
            data = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode(), path
            assert int(size) == len(data), path
    return rows


def tool_command(executable: str, module: str) -> list[str]:
    """Finds a CLI tool next to the test interpreter or on PATH, else ``python -m``."""
    beside = Path(sys.executable).parent / executable
    if beside.exists():
        return [str(beside)]
    found = shutil.which(executable)
    return [found] if found else [sys.executable, "-m", module]


def clean_pip_env() -> dict[str, str]:
    """An environment in which pip reads no config (no extra indexes/constraints)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def module_root(module: str) -> str:
    """The sys.path entry a module is imported from."""
    imported = __import__(module)
    return str(Path(imported.__file__).resolve().parents[1])


def make_project(root: Path) -> Path:
    """A small source tree: a package with a module and a data file."""
    (root / "mypkg" / "data").mkdir(parents=True)
    (root / "mypkg" / "__init__.py").write_text("VALUE = 42\n")
    (root / "mypkg" / "cli.py").write_text("def main():\n    print('hello from mypkg')\n")
    (root / "mypkg" / "data" / "table.json").write_text('{"a": 1}\n')
    return root
