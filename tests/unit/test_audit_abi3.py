"""The abi3 check of audit_wheel: limited-API symbols up to the tagged version only."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

import update_abi3_symbols  # tools/ is on pytest's pythonpath
from ml_wheels.audit.abi3 import claimed_abi3
from ml_wheels.audit.abi3_symbols import ADDED, DATA

from .test_audit_helpers import audit_json, compile_so, make_wheel, requires_gcc, run_audit

# Calls each named function, so that the shared object imports it (undefined).
_CALLS = "extern void {name}(void);\nvoid call_{name}(void) {{ {name}(); }}\n"
_DATA = "extern char {name}[];\nvoid *use_{name}(void) {{ return {name}; }}\n"


def _extension(tmp_path: Path, filename: str, *, functions=(), data=(), member="") -> Path:
    source = "".join(_CALLS.format(name=n) for n in functions)
    source += "".join(_DATA.format(name=n) for n in data)
    so = compile_so(tmp_path / "so", "ext.so", source, module="_native")
    member = member or "demo/_native.abi3.so"
    return make_wheel(tmp_path / "dist", filename, {member: so, "demo/__init__.py": b""})


def test_limited_api_data_matches_cpython_docs():
    # Versions as CPython's C API documentation gives them ("Part of the Stable ABI since").
    assert ADDED["Py_IncRef"] == (3, 2)
    assert ADDED["PyUnicode_AsUTF8AndSize"] == (3, 10)
    assert ADDED["PyType_GetName"] == (3, 11)
    assert ADDED["PyType_FromMetaclass"] == (3, 12)
    assert "PyLong_Type" in DATA and "PyLong_FromLong" not in DATA
    assert "_PyObject_GetDictPtr" not in ADDED


@requires_gcc
def test_abi3_wheel_within_its_version_passes(tmp_path):
    wheel = _extension(
        tmp_path,
        "demo-1.0-cp310-abi3-linux_x86_64.whl",
        functions=["Py_IncRef", "PyUnicode_AsUTF8AndSize"],
        data=["PyLong_Type"],
    )
    proc = run_audit(wheel)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS: demo-1.0-cp310-abi3-linux_x86_64.whl is abi3 for CPython 3.10" in proc.stdout
    report = audit_json(wheel)["abi3"]
    assert report["met"] and report["baseline"] == "3.10"
    assert report["files"] == ["demo/_native.abi3.so"] and report["problems"] == []


@requires_gcc
def test_symbol_newer_than_the_tag_fails_naming_symbol_and_file(tmp_path):
    wheel = _extension(
        tmp_path,
        "demo-1.0-cp39-abi3-linux_x86_64.whl",
        functions=["Py_IncRef", "PyUnicode_AsUTF8AndSize"],
    )
    proc = run_audit(wheel)
    assert proc.returncode == 1, proc.stdout
    assert "FAIL: demo-1.0-cp39-abi3-linux_x86_64.whl is tagged abi3 for CPython 3.9" in proc.stdout
    assert (
        "demo/_native.abi3.so imports PyUnicode_AsUTF8AndSize (3.10) from libpython, newer "
        "in the limited API than CPython 3.9"
    ) in proc.stdout
    assert "Py_LIMITED_API=0x03090000" in proc.stdout
    assert 'raise the wheel\'s py_limited_api to "cp310" (CPython 3.10)' in proc.stdout
    report = audit_json(wheel)["abi3"]
    assert report["problems"] == [
        {
            "file": "demo/_native.abi3.so",
            "kind": "too_new",
            "symbol": "PyUnicode_AsUTF8AndSize",
            "added": "3.10",
        }
    ]
    # --expect (what verify_manylinux_compliance_test runs) fails on it too.
    proc = run_audit("--expect-by-arch", "x86_64=manylinux_2_17", wheel)
    assert proc.returncode == 1 and "PyUnicode_AsUTF8AndSize (3.10)" in proc.stdout


@requires_gcc
def test_private_api_fails_in_an_abi3_wheel_only(tmp_path):
    functions = ["_PyObject_GetDictPtr", "PyUnicode_AsUTF8", "Py_IncRef"]
    abi3 = _extension(tmp_path / "a", "demo-1.0-cp312-abi3-linux_x86_64.whl", functions=functions)
    proc = run_audit(abi3)
    assert proc.returncode == 1
    assert (
        "demo/_native.abi3.so imports PyUnicode_AsUTF8, _PyObject_GetDictPtr from libpython, "
        "which are not in the limited API"
    ) in proc.stdout
    kinds = {(p["symbol"], p["kind"]) for p in audit_json(abi3)["abi3"]["problems"]}
    assert kinds == {("_PyObject_GetDictPtr", "not_limited"), ("PyUnicode_AsUTF8", "not_limited")}

    # The same file in a version-specific wheel: no abi3 promise, no abi3 check.
    specific = _extension(
        tmp_path / "b",
        "demo-1.0-cp312-cp312-linux_x86_64.whl",
        functions=functions,
        member="demo/_native.cpython-312-x86_64-linux-gnu.so",
    )
    proc = run_audit(specific)
    assert proc.returncode == 0, proc.stdout
    assert "abi3" not in proc.stdout
    assert audit_json(specific)["abi3"] is None


@requires_gcc
def test_version_specific_extension_name_in_abi3_wheel_fails(tmp_path):
    wheel = _extension(
        tmp_path,
        "demo-1.0-cp310-abi3-linux_x86_64.whl",
        functions=["Py_IncRef"],
        member="demo/_native.cpython-311-x86_64-linux-gnu.so",
    )
    proc = run_audit(wheel)
    assert proc.returncode == 1
    assert (
        "demo/_native.cpython-311-x86_64-linux-gnu.so is named for one interpreter" in proc.stdout
    )


@requires_gcc
def test_abi3_with_a_non_cpython_tag_fails(tmp_path):
    wheel = _extension(tmp_path, "demo-1.0-py3-abi3-linux_x86_64.whl", functions=["Py_IncRef"])
    proc = run_audit(wheel)
    assert proc.returncode == 1
    assert "the python tag py3 is not a CPython 3 tag" in proc.stdout
    assert audit_json(wheel)["abi3"]["tag_error"].startswith("the python tag py3")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("d-1-cp310-abi3-linux_x86_64.whl", ("cp310", (3, 10), "")),
        ("d-1-cp311.cp310-abi3-linux_x86_64.whl", ("cp311.cp310", (3, 10), "")),
        ("d-1-cp311-cp311-linux_x86_64.whl", None),
        ("d-1-2-cp37-abi3-linux_x86_64.whl", ("cp37", (3, 7), "")),
    ],
)
def test_claimed_abi3(filename, expected):
    assert claimed_abi3(filename) == expected


def test_claimed_abi3_older_than_the_stable_abi():
    _, baseline, error = claimed_abi3("d-1-cp31-abi3-linux_x86_64.whl")
    assert baseline is None and "older than the stable ABI" in error


_ABI3INFO_SOURCE = """
_FUNCTIONS: Final[dict[Symbol, Function]] = {
    Symbol(name="PyB_New", visibility=None): Function(
        symbol=Symbol(name="PyB_New", visibility=None),
        added=PyVersion(major=3, minor=12),
        ifdef=None,
        abi_only=False,
    ),
    Symbol(name="PyA_Get", visibility=None): Function(
        symbol=Symbol(name="PyA_Get", visibility=None),
        added=PyVersion(major=3, minor=2),
        ifdef=None,
        abi_only=False,
    ),
}
_DATAS: Final[dict[Symbol, Data]] = {
    Symbol(name="PyA_Type", visibility=None): Data(
        symbol=Symbol(name="PyA_Type", visibility=None),
        added=PyVersion(major=3, minor=5),
        ifdef=None,
        abi_only=False,
    ),
}
"""


def test_generator_reads_abi3info_and_writes_a_sorted_module(tmp_path):
    wheel = tmp_path / "abi3info-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("abi3info/_internal.py", _ABI3INFO_SOURCE)
    out = tmp_path / "symbols.py"
    assert update_abi3_symbols.main(["--abi3info-wheel", str(wheel), "--output", str(out)]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    assert namespace["ADDED"] == {"PyA_Get": (3, 2), "PyA_Type": (3, 5), "PyB_New": (3, 12)}
    assert list(namespace["ADDED"]) == ["PyA_Get", "PyA_Type", "PyB_New"]
    assert namespace["DATA"] == frozenset({"PyA_Type"})
    assert "abi3info-1-py3-none-any.whl (sha256" in out.read_text()
    check = ["--abi3info-wheel", str(wheel), "--output", str(out), "--check"]
    assert update_abi3_symbols.main(check) == 0
    out.write_text(out.read_text().replace("(3, 12)", "(3, 11)"))
    assert update_abi3_symbols.main(check) == 1


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_generator_reads_stable_abi_toml(tmp_path):
    toml = tmp_path / "stable_abi.toml"
    toml.write_text(
        "[function.PyA_Get]\n    added = '3.2'\n"
        "[function.PyB_New]\n    added = '3.12'\n"
        "[data.PyA_Type]\n    added = '3.5'\n"
        "[struct.PyA]\n    added = '3.2'\n"
    )
    entries = update_abi3_symbols.from_stable_abi_toml(toml.read_bytes())
    assert entries == {
        "PyA_Get": ("function", 3, 2),
        "PyB_New": ("function", 3, 12),
        "PyA_Type": ("data", 3, 5),
    }
