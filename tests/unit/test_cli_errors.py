"""Every helper CLI answers bad input with exactly one line on stderr naming the
file/field at fault, exit status 2, no traceback, and no output file left.

The table covers the errors docs/troubleshooting.md lists that other tests do
not reach through the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
SPEC = {
    "target": "//pkg:wheel",
    "distribution": "demo",
    "version": "1.0",
    "python_tag": "py3",
    "abi_tag": "none",
    "platform_tag": "any",
    "build_tag": "",
    "wheel_name": "demo-1.0-py3-none-any.whl",
    "compression_level": 6,
    "metadata": {"summary": "demo"},
    "entry_points": {},
}


def _run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    return subprocess.run(
        [sys.executable, str(TOOLS / tool), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess, prog: str, *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "b.py").write_text("B = 2\n")
    return tmp_path


def _spec(work: Path, **changes: object) -> str:
    spec = {**SPEC, **changes}
    path = work / "spec.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_tree_that_is_not_a_directory(work):
    result = _run(
        "pack_wheel.py",
        "spec",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--tree",
        "demo",
        "a.py",
        cwd=work,
    )
    _one_line_error(result, "pack_wheel", "a.py is not a directory")
    assert not (work / "o.whl").exists()


def test_tree_with_a_non_utf8_file_name(work):
    os.mkdir(work / "bad")
    with open(os.path.join(os.fsencode(work / "bad"), b"caf\xe9.py"), "wb") as f:
        f.write(b"x = 1\n")
    result = _run(
        "pack_wheel.py",
        "spec",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--tree",
        "demo",
        "bad",
        cwd=work,
    )
    _one_line_error(result, "pack_wheel", "is not valid UTF-8", "rename it")


def test_input_that_is_not_a_regular_file(work):
    result = _run(
        "pack_wheel.py",
        "spec",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--file",
        "demo/null",
        "/dev/null",
        cwd=work,
    )
    _one_line_error(result, "pack_wheel", "/dev/null is not a regular file")


def test_invalid_requirement_is_one_line(work):
    spec = _spec(work, metadata={"summary": "demo", "requires_dist": ["numpy >= = 1"]})
    result = _run("pack_wheel.py", "spec", "--spec", spec, "--output", "o.whl", cwd=work)
    _one_line_error(result, "pack_wheel", "//pkg:wheel", "'numpy >= = 1'", "PEP 508")


def test_missing_spec_field(work):
    spec = {k: v for k, v in SPEC.items() if k != "version"}
    (work / "spec.json").write_text(json.dumps(spec))
    result = _run("pack_wheel.py", "spec", "--spec", "spec.json", "--output", "o.whl", cwd=work)
    _one_line_error(result, "pack_wheel", "'version'")


def test_spec_that_is_not_json(work):
    (work / "spec.json").write_bytes(b"\xff\xfe not json")
    result = _run("pack_wheel.py", "spec", "--spec", "spec.json", "--output", "o.whl", cwd=work)
    _one_line_error(result, "pack_wheel", "spec.json")


def test_missing_description_file(work):
    spec = _spec(work, metadata={"summary": "demo", "description_file": "README.md"})
    result = _run("pack_wheel.py", "spec", "--spec", spec, "--output", "o.whl", cwd=work)
    _one_line_error(result, "pack_wheel", "README.md")
    assert not (work / "o.whl").exists()


def test_over_long_wheel_path_is_shortened(work):
    long_dest = "demo/" + "x" * 70000 + ".py"
    result = _run(
        "pack_wheel.py",
        "spec",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--file",
        long_dest,
        "a.py",
        cwd=work,
    )
    line = _one_line_error(result, "pack_wheel", "is longer than 65535 bytes")
    assert len(line) < 400


def test_missing_param_file(work):
    result = _run("pack_wheel.py", "@missing.params", cwd=work)
    _one_line_error(result, "pack_wheel", "missing.params")


def test_assemble_refuses_plain_inputs(work):
    result = _run(
        "pack_wheel.py",
        "assemble",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--file",
        "demo/a.py",
        "a.py",
        cwd=work,
    )
    _one_line_error(result, "pack_wheel", "--bundle")


def test_not_a_bundle(work):
    (work / "x.bundle").write_bytes(b"MLW")
    result = _run(
        "pack_wheel.py",
        "assemble",
        "--spec",
        _spec(work),
        "--output",
        "o.whl",
        "--bundle",
        "x.bundle",
        cwd=work,
    )
    _one_line_error(result, "pack_wheel", "x.bundle is not a compression bundle")


def test_dir_mode_on_a_file(work):
    result = _run("pack_wheel.py", "dir", "a.py", "--dest-dir", "out", cwd=work)
    _one_line_error(result, "pack_wheel", "a.py")


def test_dir_mode_without_metadata(work):
    (work / "unpacked" / "demo-1.0.dist-info").mkdir(parents=True)
    result = _run("pack_wheel.py", "dir", "unpacked", "--dest-dir", "out", cwd=work)
    _one_line_error(result, "pack_wheel", "METADATA")


def test_unpack_missing_wheel(work):
    result = _run("unpack_wheel.py", "nope.whl", "--output-dir", "out", cwd=work)
    _one_line_error(result, "unpack_wheel", "nope.whl")


def test_unpack_malformed_record_hash(work):
    with zipfile.ZipFile(work / "bad-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("bad/__init__.py", "")
        archive.writestr(
            "bad-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bad\nVersion: 1.0\n"
        )
        archive.writestr(
            "bad-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(
            "bad-1.0.dist-info/RECORD", "bad/__init__.py,md5=abc,0\nbad-1.0.dist-info/RECORD,,\n"
        )
    result = _run("unpack_wheel.py", "bad-1.0-py3-none-any.whl", "--output-dir", "out", cwd=work)
    _one_line_error(result, "unpack_wheel", "bad/__init__.py")
    # Nothing of the refused wheel is left behind.
    assert not (work / "out").exists() or not any((work / "out").rglob("*"))


def test_audit_a_directory(work):
    result = _run("audit_wheel.py", "tree", cwd=work)
    _one_line_error(result, "audit_wheel", "tree")


def test_audit_not_a_zip(work):
    (work / "fake-1.0-py3-none-any.whl").write_text("not a zip")
    result = _run("audit_wheel.py", "fake-1.0-py3-none-any.whl", cwd=work)
    _one_line_error(result, "audit_wheel", "fake-1.0-py3-none-any.whl")


def test_audit_unknown_tag(work):
    with zipfile.ZipFile(work / "pure-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("pure/__init__.py", "")
    result = _run(
        "audit_wheel.py", "--expect", "manylinux_9_99_sparc", "pure-1.0-py3-none-any.whl", cwd=work
    )
    _one_line_error(result, "audit_wheel", "manylinux_9_99_sparc")
