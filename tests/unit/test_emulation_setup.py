"""scripts/emulation.sh: the test set-up's mirror of the pinned .debs.

The script reads its pins from python_wheel/private/emulation/pins.bzl (the
defaults of the repository rules); these tests check that it finds all of
them and refuses a download that does not match its pin, without network:
the "upstream" is a file:// directory made here.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "emulation.sh"
PINS = REPO / "python_wheel" / "private" / "emulation" / "pins.bzl"


def _pins_bzl() -> dict[str, str]:
    """Every pool path -> sha256 of pins.bzl, read as the Python it parses as."""
    pins: dict[str, str] = {}
    for node in ast.parse(PINS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            pins.update(ast.literal_eval(node.value))
    return pins


def _run(command: str, tmp_path: Path, upstream: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ML_WHEELS_CACHE_DIR": str(tmp_path / "cache"),
        "ML_WHEELS_DEBIAN_MIRROR": upstream.as_uri(),
    }
    return subprocess.run(
        [str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_script_reads_every_pin(tmp_path: Path) -> None:
    result = _run("pins", tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    listed = dict(line.split(" ") for line in result.stdout.splitlines())
    pins = _pins_bzl()
    assert len(pins) == 14
    assert listed == pins


def test_download_not_matching_its_pin_is_refused(tmp_path: Path) -> None:
    first = next(iter(_pins_bzl()))
    upstream = tmp_path / "upstream"
    (upstream / first).parent.mkdir(parents=True)
    (upstream / first).write_bytes(b"not the pinned package")
    result = _run("mirror", tmp_path, upstream)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        f"[emulation] error: {upstream.as_uri()}/{first} does not match its pinned sha256 "
        f"{_pins_bzl()[first]} in {PINS}; pin the archive's current version (see docs/emulation.md)"
    )
    assert not (tmp_path / "cache" / "emulation" / "debian" / first).exists()
    assert not list((tmp_path / "cache" / "emulation" / "debian").rglob("*.deb*"))
