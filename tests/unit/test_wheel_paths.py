"""What the writer refuses as a wheel path: what pip or our own readers would refuse (issue 10)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from ml_wheels.errors import WheelError
from ml_wheels.pack import pack_directory, write_wheel
from ml_wheels.sources import BytesSource
from ml_wheels.wheelpath import path_problem
from ml_wheels.zipwriter import validate_arcname

from .helpers import base_spec, run_pack, write_spec

DIST_INFO = "my_project-1.2.0.dist-info"
_DECOMPOSED = unicodedata.normalize("NFD", "café.py")  # "cafe" + U+0301


def _spec_error(tmp_path: Path, *args: str) -> str:
    """Runs spec mode with extra arguments; returns its one-line error."""
    (tmp_path / "f.txt").write_text("x")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    proc = run_pack("spec", "--spec", spec, "--output", tmp_path / "o.whl", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert not list(tmp_path.glob("o.whl*")), "no wheel (or temporary) is left behind"
    return line


@pytest.mark.parametrize(
    ("dest", "message"),
    [
        ("pkg/a\nb.py", "wheel path 'pkg/a\\nb.py' contains the control character '\\n'"),
        ("pkg/a\rb.py", "wheel path 'pkg/a\\rb.py' contains the control character '\\r'"),
        ("pkg/a\x01.py", "wheel path 'pkg/a\\x01.py' contains the control character '\\x01'"),
        ("pkg/a\x7f.py", "wheel path 'pkg/a\\x7f.py' contains the control character '\\x7f'"),
        ("pkg/a\u2028.py", "wheel path 'pkg/a\\u2028.py' contains the control character"),
        ("C:/pkg/a.py", "wheel path 'C:/pkg/a.py' starts with a drive letter"),
        ("c:pkg.py", "wheel path 'c:pkg.py' starts with a drive letter"),
        ("pkg/" + "x" * 256 + ".py", "has a component longer than 255 bytes"),
        ("pkg/" + "é" * 128, "has a component longer than 255 bytes"),
        (f"pkg/{_DECOMPOSED}", "is not in Unicode normal form C"),
    ],
)
def test_spec_mode_refuses_paths_pip_or_file_systems_would_change(tmp_path, dest, message):
    line = _spec_error(tmp_path, "--file", dest, str(tmp_path / "f.txt"))
    assert line.startswith("pack_wheel: error: //pkg:wheel: wheel path '"), line
    assert message in line


def test_longest_component_that_fits_is_accepted(tmp_path):
    for name in ("x" * 255, "é" * 127 + "x"):
        assert len(name.encode("utf-8")) == 255
        assert path_problem(f"pkg/{name}") == ""
        assert validate_arcname(f"pkg/{name}") == f"pkg/{name}".encode()


def test_non_nfc_message_names_the_nfc_spelling():
    with pytest.raises(WheelError) as info:
        validate_arcname(f"pkg/{_DECOMPOSED}")
    assert "(it has U+0301 COMBINING ACUTE ACCENT)" in str(info.value)
    assert str(info.value).endswith("rename it to 'pkg/café.py'")


@pytest.mark.parametrize("generated", ["RECORD", "METADATA", "WHEEL"])
def test_distinfo_file_under_a_generated_file_is_refused(tmp_path, generated):
    line = _spec_error(tmp_path, "--distinfo-file", f"{generated}/x", str(tmp_path / "f.txt"))
    assert line == (
        f"pack_wheel: error: //pkg:wheel: --distinfo-file '{generated}/x' puts a file under "
        f"'{generated}', which is written by the packer itself; remove it or give it another name"
    )


def test_payload_under_record_is_a_file_directory_conflict(tmp_path):
    # RECORD is removed from the members before they are checked, then written
    # last: "<dist-info>/RECORD/x" used to pass and make RECORD a directory too.
    payload = {f"{DIST_INFO}/RECORD/x": BytesSource(b"x")}
    generated = {"METADATA": b"Metadata-Version: 2.1\nName: my-project\nVersion: 1.2.0\n"}
    with pytest.raises(WheelError) as info:
        write_wheel(str(tmp_path / "o.whl"), DIST_INFO, payload, generated, 6, 1)
    assert str(info.value) == (
        f"wheel path '{DIST_INFO}/RECORD' is a file but '{DIST_INFO}/RECORD/x' needs it to be "
        "a directory; rename one of them"
    )
    assert not list(tmp_path.iterdir())


def test_dir_mode_refuses_record_directory(tmp_path):
    root = tmp_path / "unpacked"
    info = root / DIST_INFO
    (info / "RECORD").mkdir(parents=True)
    (info / "RECORD" / "x").write_text("x")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-project\nVersion: 1.2.0\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    with pytest.raises(WheelError, match=f"'{DIST_INFO}/RECORD' is a file but"):
        pack_directory(str(root), str(tmp_path / "dist"), jobs=1)
    assert not list((tmp_path / "dist").iterdir())


def test_dir_mode_refuses_control_character_in_a_file_name(tmp_path):
    root = tmp_path / "unpacked"
    info = root / DIST_INFO
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-project\nVersion: 1.2.0\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "a\nb.py").write_text("x = 1\n")
    with pytest.raises(
        WheelError, match=re.escape("wheel path 'pkg/a\\nb.py' contains the control")
    ):
        pack_directory(str(root), str(tmp_path / "dist"), jobs=1)
