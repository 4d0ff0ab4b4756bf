"""The user-facing errors of pep517 mode (tools/ml_wheels/pep517.py), each
asserted with its exact text.

Every expected message is the source's f-string with this test's own values
filled in. The packer runs as a real subprocess: exit status 2, exactly one
``pack_wheel: error: <message>`` line, no traceback, and neither the output
wheel, its ``.tmp`` file nor the build's temporary tree left behind.

Builds that must misbehave use an in-tree PEP 517 backend (``backend-path``)
that writes the wheels listed in a JSON file of the staged project, so each
test decides exactly what ``python -m build --no-isolation`` produces; it needs
no network and no build requirements.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from . import test_pep517
from .helpers import PACK_WHEEL, TOOLS, module_root, write_spec
from .test_cli_errors import _one_line_error, _run
from .test_pep517 import WHEEL_NAME, _env, _pack, _spec

# test_pep517's fixture (the tiny setuptools project), shared rather than copied.
tiny = test_pep517.tiny

TARGET = "//tiny:wheel"
DIST_INFO = "tiny_pkg-0.1.0.dist-info"
# The tags of what the build writes are not checked (the spec's are used).
BUILT = "tiny_pkg-0.1.0-py3-none-any.whl"
METADATA = "Metadata-Version: 2.1\nName: tiny-pkg\nVersion: 0.1.0\n"
# Enough of an ELF header for the compiled-code check of platform wheels.
PRETEND_ELF = "\x7fELF pretend library"

BACKEND_PYPROJECT = """\
[build-system]
requires = []
build-backend = "mybackend"
backend-path = ["."]
"""
# Writes every wheel of wheels.json ({file name: {member: text}}) and names
# the first one (or BUILT when there is none) as its result.
BACKEND = """\
import json
import os
import zipfile


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("wheels.json", encoding="utf-8") as f:
        wheels = json.load(f)
    for name, members in wheels.items():
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
            for member, text in members.items():
                zf.writestr(member, text)
    return next(iter(wheels), "tiny_pkg-0.1.0-py3-none-any.whl")
"""


def _exact(result: subprocess.CompletedProcess, message: str) -> None:
    """Exit status 2, no traceback, and stderr is exactly ``pack_wheel: error: <message>``."""
    line = _one_line_error(result, "pack_wheel")
    assert line == f"pack_wheel: error: {message}"
    assert result.stdout == ""


def _nothing_left(*dirs: Path) -> None:
    for d in dirs:
        assert sorted(os.listdir(d)) == [], d


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty directory for the output wheel."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A private TMPDIR (to see that the build tree is removed) and the build env."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path, _env(TMPDIR=str(path))


def _backend_project(tiny: Path, wheels: dict[str, dict[str, str]]) -> list[object]:
    """--project-file arguments for the in-tree backend writing ``wheels``."""
    (tiny / "pyproject.toml").write_text(BACKEND_PYPROJECT)
    (tiny / "mybackend.py").write_text(BACKEND)
    (tiny / "wheels.json").write_text(json.dumps(wheels))
    return [
        *("--project-file", "pyproject.toml", tiny / "pyproject.toml"),
        *("--project-file", "mybackend.py", tiny / "mybackend.py"),
        *("--project-file", "wheels.json", tiny / "wheels.json"),
    ]


def _build(
    tiny: Path,
    out: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
    wheels: dict[str, dict[str, str]],
    message: str,
) -> None:
    """Builds with the in-tree backend; checks the exact error and that nothing is left."""
    tmp, env = tmpdir_env
    result = _pack(
        tiny,
        _spec(),
        out / WHEEL_NAME,
        env=env,
        check=False,
        project=_backend_project(tiny, wheels),
    )
    _exact(result, f"{TARGET}: {message}")
    _nothing_left(out, tmp)


def _pep517_args(spec: Path, *extra: str) -> list[str]:
    """A pep517 command line with relative paths (run in the spec's directory)."""
    return ["pep517", "--spec", spec.name, "--output", f"out/{WHEEL_NAME}", *extra]


# Before building ----------------------------------------------------------------


def test_no_project_file(tiny, out):
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = _run(
        "pack_wheel.py", *_pep517_args(spec, "--tree", "tinypkg", "tiny/tinypkg"), cwd=tiny.parent
    )
    _exact(
        result,
        f"{TARGET}: pep517 mode needs at least one --project-file (setup.py or pyproject.toml)",
    )
    _nothing_left(out)


def test_project_file_directory_that_is_empty(tiny, out):
    # A tree artifact with no files adds no project file either.
    (tiny.parent / "empty").mkdir()
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = _run(
        "pack_wheel.py", *_pep517_args(spec, "--project-file", "", "empty"), cwd=tiny.parent
    )
    _exact(
        result,
        f"{TARGET}: pep517 mode needs at least one --project-file (setup.py or pyproject.toml)",
    )
    _nothing_left(out)


def test_entry_points_in_the_rule(tiny, out):
    spec = write_spec(
        tiny.parent / "spec.json",
        _spec(entry_points={"console_scripts": ["tiny = tinypkg:main"]}),
    )
    result = _run(
        "pack_wheel.py",
        *_pep517_args(spec, "--project-file", "setup.py", "tiny/setup.py"),
        cwd=tiny.parent,
    )
    _exact(
        result,
        f"{TARGET}: entry_points are set, but in pep517 mode the project's setup writes them; "
        "declare them in setup.py/pyproject.toml and remove them from the rule",
    )
    _nothing_left(out)


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize("member", ["../evil.py", "/etc/evil.py", "pkg/../../evil.py"])
def test_build_env_wheel_with_an_unsafe_member(tiny, out, member):
    _zip(tiny.parent / "good-1.0-py3-none-any.whl", {"good/__init__.py": ""})
    _zip(tiny.parent / "evil-1.0-py3-none-any.whl", {"evil/__init__.py": "", member: "x = 1\n"})
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = _run(
        "pack_wheel.py",
        *_pep517_args(
            spec,
            *("--project-file", "setup.py", "tiny/setup.py"),
            *("--build-env-wheel", "good-1.0-py3-none-any.whl"),
            *("--build-env-wheel", "evil-1.0-py3-none-any.whl"),
        ),
        cwd=tiny.parent,
    )
    _exact(
        result,
        f"{TARGET}: build environment wheel evil-1.0-py3-none-any.whl has the unsafe member "
        f"'{member}'",
    )
    _nothing_left(out)
    assert not (tiny.parent.parent / "evil.py").exists()
    assert not (tiny.parent / "evil.py").exists()


def test_build_env_wheel_that_is_not_a_zip(tiny, out):
    (tiny.parent / "setuptools-1.0-py3-none-any.whl").write_text("not a zip archive\n")
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = _run(
        "pack_wheel.py",
        *_pep517_args(
            spec,
            *("--project-file", "setup.py", "tiny/setup.py"),
            *("--build-env-wheel", "setuptools-1.0-py3-none-any.whl"),
        ),
        cwd=tiny.parent,
    )
    _exact(
        result,
        f"{TARGET}: cannot unpack build environment wheel setuptools-1.0-py3-none-any.whl: "
        "File is not a zip file",
    )
    _nothing_left(out)


def test_build_env_wheel_that_is_missing(tiny, out):
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = _run(
        "pack_wheel.py",
        *_pep517_args(
            spec,
            *("--project-file", "setup.py", "tiny/setup.py"),
            *("--build-env-wheel", "gone.whl"),
        ),
        cwd=tiny.parent,
    )
    _exact(
        result,
        f"{TARGET}: cannot unpack build environment wheel gone.whl: "
        "[Errno 2] No such file or directory: 'gone.whl'",
    )
    _nothing_left(out)


@pytest.mark.parametrize(
    ("present", "missing"),
    [(("packaging",), "build"), (("build", "pyproject_hooks", "packaging"), "setuptools")],
)
def test_build_module_not_importable(tiny, out, tmp_path, present, missing):
    # A packer run as a plain script by an interpreter that lacks the build
    # frontend/backend: -S drops site-packages, PYTHONPATH holds only copies of
    # the packages named in `present` (pack_wheel itself needs packaging).
    site = tmp_path / "site"
    site.mkdir()
    for module in present:
        shutil.copytree(Path(module_root(module)) / module, site / module)
    spec = write_spec(tiny.parent / "spec.json", _spec())
    result = subprocess.run(
        [
            *(sys.executable, "-S", str(PACK_WHEEL)),
            *_pep517_args(spec, "--project-file", "setup.py", "tiny/setup.py"),
        ],
        cwd=tiny.parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TOOLS), str(site)])},
        capture_output=True,
        text=True,
        check=False,
    )
    _exact(
        result,
        f"{TARGET}: pep517 mode needs the Python module '{missing}'; add build, "
        "pyproject_hooks, setuptools and wheel from tools/requirements_lock.txt to the "
        "packer's deps",
    )
    _nothing_left(out)


# What the build produced ---------------------------------------------------------


def test_build_produced_two_wheels(tiny, out, tmpdir_env):
    wheels = {
        BUILT: {f"{DIST_INFO}/METADATA": METADATA},
        "tiny_pkg-0.1.0-py2-none-any.whl": {f"{DIST_INFO}/METADATA": METADATA},
    }
    _build(
        tiny,
        out,
        tmpdir_env,
        wheels,
        "the PEP 517 build produced 2 wheels (tiny_pkg-0.1.0-py2-none-any.whl, "
        "tiny_pkg-0.1.0-py3-none-any.whl); it must produce exactly one",
    )


def test_build_produced_no_wheel(tiny, out, tmpdir_env):
    _build(
        tiny,
        out,
        tmpdir_env,
        {},
        "the PEP 517 build produced 0 wheels (none); it must produce exactly one",
    )


def test_build_produced_an_invalid_wheel_name(tiny, out, tmpdir_env):
    _build(
        tiny,
        out,
        tmpdir_env,
        {"tiny_pkg.whl": {f"{DIST_INFO}/METADATA": METADATA}},
        # The part after the colon is packaging's (tools/requirements_lock.txt).
        "the PEP 517 build produced an invalid wheel name 'tiny_pkg.whl': "
        "Invalid wheel filename (wrong number of parts): 'tiny_pkg'",
    )


@pytest.mark.parametrize(
    ("members", "count"),
    [
        ({"tinypkg/__init__.py": ""}, 0),
        (
            {
                f"{DIST_INFO}/METADATA": METADATA,
                "other-1.0.dist-info/METADATA": "Name: other\nVersion: 1.0\n",
            },
            2,
        ),
    ],
    ids=["none", "two"],
)
def test_built_wheel_dist_info_count(tiny, out, tmpdir_env, members, count):
    _build(
        tiny,
        out,
        tmpdir_env,
        {BUILT: members},
        f"the built wheel {BUILT} has {count} .dist-info directories",
    )


def test_built_wheel_without_metadata(tiny, out, tmpdir_env):
    members = {"tinypkg/__init__.py": "", f"{DIST_INFO}/WHEEL": "Wheel-Version: 1.0\n"}
    _build(
        tiny,
        out,
        tmpdir_env,
        {BUILT: members},
        f"the built wheel {BUILT} has no {DIST_INFO}/METADATA",
    )


def test_build_wrote_a_different_distinfo_file(tiny, out, tmpdir_env):
    # _pack adds --distinfo-file licenses/LICENSE <tiny>/LICENSE ("MIT License").
    members = {
        "tinypkg/__init__.py": "",
        "tinypkg/_native.so": PRETEND_ELF,
        f"{DIST_INFO}/METADATA": METADATA,
        f"{DIST_INFO}/licenses/LICENSE": "Apache License\n",
    }
    _build(
        tiny,
        out,
        tmpdir_env,
        {BUILT: members},
        f"the build already wrote '{DIST_INFO}/licenses/LICENSE' with other content than "
        f"{tiny / 'LICENSE'}; drop one of them",
    )


def test_build_wrote_the_same_distinfo_file(tiny, out, tmpdir_env):
    # The control for the test above: identical content is accepted, so the
    # backend's wheels are otherwise good.
    _, env = tmpdir_env
    members = {
        "tinypkg/__init__.py": "",
        "tinypkg/_native.so": PRETEND_ELF,
        f"{DIST_INFO}/METADATA": METADATA,
        f"{DIST_INFO}/licenses/LICENSE": "MIT License\n",
    }
    result = _pack(
        tiny, _spec(), out / WHEEL_NAME, env=env, project=_backend_project(tiny, {BUILT: members})
    )
    assert result.stderr == ""
    assert sorted(os.listdir(out)) == [WHEEL_NAME]
    with zipfile.ZipFile(out / WHEEL_NAME) as zf:
        assert zf.read(f"{DIST_INFO}/licenses/LICENSE") == b"MIT License\n"


@pytest.mark.parametrize(
    ("wheel_file", "claimed"),
    [
        (
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
            "Root-Is-Purelib: false, Tag: cp311-cp311-linux_x86_64",
        ),
        ("Wheel-Version: 1.0\n", "no tags"),
        (None, "no WHEEL file"),
    ],
    ids=["platform-tagged", "untagged", "no-wheel-file"],
)
def test_platform_wheel_without_compiled_code(tiny, out, tmpdir_env, wheel_file, claimed):
    # A .so that is not compiled code (no ELF, Mach-O or PE header) does not count.
    members = {
        "tinypkg/__init__.py": "",
        "tinypkg/_native.so": "not a library",
        f"{DIST_INFO}/METADATA": METADATA,
    }
    if wheel_file is not None:
        members[f"{DIST_INFO}/WHEEL"] = wheel_file
    tmp, env = tmpdir_env
    project = _backend_project(tiny, {BUILT: members})
    result = _pack(tiny, _spec(), out / WHEEL_NAME, env=env, check=False, project=project)
    # The build's output comes first (the compiler's words, for a real build).
    *build_output, line = result.stderr.strip().splitlines()
    assert build_output[-1] == f"Successfully built {BUILT}"
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert line == (
        f"pack_wheel: error: {TARGET}: platform_tag is "
        f"'manylinux_2_17_x86_64.manylinux2014_x86_64' but the PEP 517 build's wheel {BUILT} "
        f"({claimed}) holds no compiled code: no ELF, Mach-O or PE file among its "
        f"{len(members)} files (the build's output is above); make the extension compile "
        "(setuptools skips an optional one that fails) or list the Bazel-built library in "
        "package_data, or leave platform_tag unset for a pure wheel"
    )
    _nothing_left(out, tmp)
