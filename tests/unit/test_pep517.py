"""PEP 517 mode end to end: setuptools builds, the packer rewrites canonically."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from ml_wheels import __version__

from .helpers import base_spec, module_root, run_pack, sha256_file, verify_record, write_spec

# The requirement is computed, as real setup.py files do.
SETUP_PY = """\
import os
from setuptools import setup

minimum = ".".join(str(part) for part in (20, 0))
setup(
    name=os.environ["ML_WHEEL_DISTRIBUTION"],
    version=os.environ.get("FORCE_VERSION", os.environ["ML_WHEEL_VERSION"]),
    packages=["tinypkg"],
    package_data={"tinypkg": ["*.so"]},
    install_requires=["packaging>=" + minimum],
    entry_points={"console_scripts": ["tiny = tinypkg:main"]},
)
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
WHEEL_NAME = "tiny_pkg-0.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def _spec(**overrides) -> dict:
    fields = {
        "target": "//tiny:wheel",
        "distribution": "tiny-pkg",
        "version": "0.1.0",
        "python_tag": "cp311",
        "abi_tag": "cp311",
        "platform_tag": "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "wheel_name": WHEEL_NAME,
    }
    fields.update(overrides)
    return base_spec(**fields)


@pytest.fixture
def tiny(tmp_path) -> Path:
    root = tmp_path / "tiny"
    (root / "tinypkg").mkdir(parents=True)
    (root / "tinypkg" / "__init__.py").write_text("def main():\n    print('tiny')\n")
    (root / "tinypkg" / "_native.so").write_bytes(b"\x7fELF pretend library")
    (root / "setup.py").write_text(SETUP_PY)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "LICENSE").write_text("MIT License\n")
    return root


def _env(**extra) -> dict[str, str]:
    # The Bazel action only has its runfiles on PYTHONPATH.
    roots = [module_root(m) for m in ("build", "pyproject_hooks", "setuptools", "packaging")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(roots)))
    env.update(extra)
    return env


def _pack(tiny: Path, spec: dict, output: Path, env=None, check=True, project=None):
    spec_path = write_spec(tiny.parent / "spec.json", spec)
    if project is None:
        project = [
            *("--project-file", "setup.py", tiny / "setup.py"),
            *("--project-file", "pyproject.toml", tiny / "pyproject.toml"),
        ]
    return run_pack(
        *("pep517", "--spec", spec_path, "--output", output, *project),
        *("--tree", "tinypkg", tiny / "tinypkg"),
        *("--distinfo-file", "licenses/LICENSE", tiny / "LICENSE"),
        *("--jobs", "1"),
        env=env or _env(),
        check=check,
    )


def test_pep517_end_to_end(tiny, tmp_path):
    first = tmp_path / "a" / WHEEL_NAME
    second = tmp_path / "b" / WHEEL_NAME
    first.parent.mkdir()
    second.parent.mkdir()
    _pack(tiny, _spec(), first)
    _pack(tiny, _spec(), second, env=_env(TZ="Asia/Tokyo", LC_ALL="C"))
    assert sha256_file(first) == sha256_file(second)
    verify_record(first)
    info = "tiny_pkg-0.1.0.dist-info"
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        metadata = zf.read(f"{info}/METADATA").decode()
        wheel_file = zf.read(f"{info}/WHEEL").decode()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        assert zf.read(f"{info}/entry_points.txt").decode().strip() == (
            "[console_scripts]\ntiny = tinypkg:main"
        )
        assert zf.read("tinypkg/_native.so") == b"\x7fELF pretend library"
    assert "tinypkg/__init__.py" in names
    assert f"{info}/licenses/LICENSE" in names
    assert names[-1] == f"{info}/RECORD"
    assert "Name: tiny-pkg\n" in metadata and "Version: 0.1.0\n" in metadata
    assert "Requires-Dist: packaging>=20.0\n" in metadata
    assert wheel_file == (
        "Wheel-Version: 1.0\n"
        f"Generator: rules_ml_wheels {__version__}\n"
        "Root-Is-Purelib: false\n"
        "Tag: cp311-cp311-manylinux_2_17_x86_64\n"
        "Tag: cp311-cp311-manylinux2014_x86_64\n"
    )
    assert modes["tinypkg/_native.so"] == 0o100755
    assert modes["tinypkg/__init__.py"] == 0o100644


def test_version_mismatch_names_both(tiny, tmp_path):
    # Project files may also come as a directory (a Bazel tree artifact).
    project_dir = tmp_path / "project_files"
    project_dir.mkdir()
    # The build sees none of the caller's variables (FORCE_VERSION), so the
    # mismatch is written into setup.py.
    setup_py = SETUP_PY.replace(
        'os.environ.get("FORCE_VERSION", os.environ["ML_WHEEL_VERSION"])', '"9.9"'
    )
    assert setup_py != SETUP_PY
    (project_dir / "setup.py").write_text(setup_py)
    (project_dir / "pyproject.toml").write_bytes((tiny / "pyproject.toml").read_bytes())
    (tiny / "setup.py").unlink()
    proc = _pack(
        tiny,
        _spec(),
        tmp_path / WHEEL_NAME,
        check=False,
        project=["--project-file", "", project_dir],
    )
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("pack_wheel: error: //tiny:wheel: ")
    assert "9.9" in message and "0.1.0" in message
    assert not (tmp_path / WHEEL_NAME).exists()


def test_build_failure_shows_output(tiny, tmp_path):
    (tiny / "setup.py").write_text("raise SystemExit('setup.py exploded on purpose')\n")
    proc = _pack(tiny, _spec(), tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert "setup.py exploded on purpose" in proc.stderr
    assert "//tiny:wheel" in proc.stderr.strip().splitlines()[-1]
    assert "Traceback (most recent call last)" not in proc.stderr.split("exploded")[-1]


def test_spec_metadata_is_refused(tiny, tmp_path):
    spec = _spec()
    spec["metadata"]["summary"] = "set in the rule"
    proc = _pack(tiny, spec, tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert "'summary'" in proc.stderr and "setup.py" in proc.stderr


def test_wheel_name_checked_before_building(tiny, tmp_path):
    spec = _spec(wheel_name="tiny_pkg-0.1.0-py3-none-any.whl")
    proc = _pack(tiny, spec, tmp_path / WHEEL_NAME, check=False)
    assert proc.returncode == 2
    assert WHEEL_NAME in proc.stderr and "tiny_pkg-0.1.0-py3-none-any.whl" in proc.stderr
    assert json.loads((tiny.parent / "spec.json").read_text())["target"] == "//tiny:wheel"


# A real extension module, compiled by setuptools inside the build.
EXTENSION_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }

static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "The answer."}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
"""
BROKEN_LINE = "#error this extension does not compile, on purpose\n"
EXTENSION_SETUP_PY = """\
import os
from setuptools import Extension, setup

setup(
    name=os.environ["ML_WHEEL_DISTRIBUTION"],
    version=os.environ["ML_WHEEL_VERSION"],
    packages=["tinypkg"],
    ext_modules=[Extension("tinypkg._speed", ["tinypkg/_speed.c"], optional=True)],
)
"""
NO_COMPILED_CODE = (
    "holds no compiled code: no ELF, Mach-O or PE file among its {count} files (the "
    "build's output is above); make the extension compile (setuptools skips an optional "
    "one that fails) or list the Bazel-built library in package_data, or leave "
    "platform_tag unset for a pure wheel"
)


def _extension_project(tiny: Path, source: str) -> None:
    """Turns the tiny project into one whose setup.py compiles ``source``."""
    (tiny / "tinypkg" / "_native.so").unlink()
    (tiny / "tinypkg" / "_speed.c").write_text(source)
    (tiny / "setup.py").write_text(EXTENSION_SETUP_PY)


def _elf_members(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return [n for n in zf.namelist() if zf.read(n)[:4] == b"\x7fELF"]


def test_extension_that_compiles_is_packed(tiny, tmp_path):
    # The control for the two tests below: the same project, compiling.
    _extension_project(tiny, EXTENSION_C)
    output = tmp_path / WHEEL_NAME
    _pack(tiny, _spec(), output)
    (member,) = _elf_members(output)
    assert member.startswith("tinypkg/_speed.") and member.endswith(".so")


def test_extension_that_fails_to_compile_fails_the_build(tiny, tmp_path):
    # setuptools skips an optional extension that fails and still tags the
    # wheel cp311-cp311-linux_x86_64: the packer must not call it manylinux.
    _extension_project(tiny, BROKEN_LINE + EXTENSION_C)
    output = tmp_path / WHEEL_NAME
    proc = _pack(tiny, _spec(), output, check=False)
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "pack_wheel: error: //tiny:wheel: platform_tag is "
        "'manylinux_2_17_x86_64.manylinux2014_x86_64' but the PEP 517 build's wheel "
        "tiny_pkg-0.1.0-cp311-cp311-linux_x86_64.whl (Root-Is-Purelib: false, "
        "Tag: cp311-cp311-linux_x86_64) "
    )
    assert message.endswith(NO_COMPILED_CODE.format(count=5))
    # The compiler's own words come first, so the cause is on screen.
    before = proc.stderr[: proc.stderr.index("pack_wheel: error:")]
    assert "this extension does not compile, on purpose" in before
    assert not output.exists()


def test_pure_build_for_a_platform_tag_fails(tiny, tmp_path):
    # A setup.py that forgot the library in package_data builds a pure wheel.
    (tiny / "setup.py").write_text(SETUP_PY.replace('package_data={"tinypkg": ["*.so"]},', ""))
    output = tmp_path / WHEEL_NAME
    proc = _pack(tiny, _spec(), output, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "pack_wheel: error: //tiny:wheel: platform_tag is "
        "'manylinux_2_17_x86_64.manylinux2014_x86_64' but the PEP 517 build's wheel "
        "tiny_pkg-0.1.0-py3-none-any.whl (Root-Is-Purelib: true, Tag: py3-none-any) "
        + NO_COMPILED_CODE.format(count=6)
    )
    assert not output.exists()


def test_pure_build_for_a_pure_wheel_is_fine(tiny, tmp_path):
    name = "tiny_pkg-0.1.0-py3-none-any.whl"
    (tiny / "setup.py").write_text(SETUP_PY.replace('package_data={"tinypkg": ["*.so"]},', ""))
    spec = _spec(python_tag="py3", abi_tag="none", platform_tag="any", wheel_name=name)
    _pack(tiny, spec, tmp_path / name)
    assert _elf_members(tmp_path / name) == []


def test_compiled_extension_is_reproducible_across_staging_dirs(tiny, tmp_path):
    # The interpreter's CFLAGS include -g: without prefix maps the random
    # staging directory lands in the extension's debug info.
    _extension_project(tiny, EXTENSION_C)
    wheels = []
    for root in ("first", "second/deeper"):
        out, tmp = tmp_path / root / "out", tmp_path / root / "tmp"
        out.mkdir(parents=True)
        tmp.mkdir()
        _pack(tiny, _spec(), out / WHEEL_NAME, env=_env(TMPDIR=str(tmp)))
        wheels.append(out / WHEEL_NAME)
    assert _elf_members(wheels[0]), "the extension was compiled"
    with zipfile.ZipFile(wheels[0]) as first, zipfile.ZipFile(wheels[1]) as second:
        for name in first.namelist():
            assert first.read(name) == second.read(name), name
    assert sha256_file(wheels[0]) == sha256_file(wheels[1])


ENV_SETUP_PY = """\
import json
import os
from setuptools import setup

with open("tinypkg/env.json", "w", encoding="utf-8") as f:
    json.dump(dict(os.environ), f)
setup(
    name=os.environ["ML_WHEEL_DISTRIBUTION"],
    version=os.environ["ML_WHEEL_VERSION"],
    packages=["tinypkg"],
    package_data={"tinypkg": ["*.so", "env.json"]},
)
"""


def test_what_setup_py_sees(tiny, tmp_path):
    (tiny / "setup.py").write_text(ENV_SETUP_PY)
    caller_tmp = tmp_path / "caller_tmp"
    caller_tmp.mkdir()
    env = _env(
        PATH="/opt/fixed/bin:/usr/bin:/bin",
        TMPDIR=str(caller_tmp),
        HOME=str(tmp_path / "caller_home"),
        CFLAGS="-O0",
        CC="false",
        FOO="from the caller",
        LANG="de_DE.UTF-8",
    )
    output = tmp_path / WHEEL_NAME
    _pack(tiny, _spec(), output, env=env)
    with zipfile.ZipFile(output) as zf:
        seen = json.loads(zf.read("tinypkg/env.json"))
    # python -m build adds the backend's name for its hook runner.
    assert sorted(seen) == [
        "CPPFLAGS",
        "HOME",
        "LANG",
        "LC_ALL",
        "ML_WHEEL_ABI_TAG",
        "ML_WHEEL_DISTRIBUTION",
        "ML_WHEEL_PLATFORM_TAG",
        "ML_WHEEL_PYTHON_TAG",
        "ML_WHEEL_VERSION",
        "PATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONNOUSERSITE",
        "PYTHONPATH",
        "PYTHONUTF8",
        "SOURCE_DATE_EPOCH",
        "TMPDIR",
        "_PYPROJECT_HOOKS_BUILD_BACKEND",
    ]
    assert seen["PATH"] == "/opt/fixed/bin:/usr/bin:/bin"
    staging = Path(seen["HOME"]).parent
    assert staging.parent == caller_tmp and staging.name.startswith("ml_wheels_pep517_")
    assert (seen["HOME"], seen["TMPDIR"]) == (str(staging / "home"), str(staging / "tmp"))
    assert (seen["LANG"], seen["LC_ALL"], seen["PYTHONUTF8"]) == ("C", "C", "1")
    assert seen["SOURCE_DATE_EPOCH"] == "315532800"
    assert f"-ffile-prefix-map={staging / 'src'}=." in seen["CPPFLAGS"].split()
    assert seen["ML_WHEEL_PLATFORM_TAG"] == "manylinux_2_17_x86_64.manylinux2014_x86_64"
    assert not caller_tmp.joinpath(staging.name).exists()
