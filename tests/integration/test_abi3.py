"""abi3 wheels with real Bazel: python_wheel(py_limited_api) and the audit's abi3 check.

The c_extension example's //abi3 package builds `fastmath-...-cp310-abi3-...whl`
(the extension compiled with Py_LIMITED_API=0x030A0000, named _native.abi3.so)
and audits it. A `violation` package, added to the test's copy of the
example, builds an abi3 wheel whose extension declares and calls what the
limited API of 3.9 does not have (a private `_PyObject_*` function and
`PyUnicode_AsUTF8AndSize`, limited API since 3.10): its
verify_manylinux_compliance_test must fail, naming both symbols and the file.
One `bazel test` command (Bazel 4.2.3, WORKSPACE, the machine's python3) runs
both. The abi3 wheel is then pip-installed into a virtual environment of each
pyenv CPython from 3.10 on and imported from outside any source tree; pip
refuses it for 3.9.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT, remove_tree
from .conftest import copy_workspace
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

pytestmark = pytest.mark.integration

FORKY = REPO_ROOT / "scripts" / "forky.sh"
TARGETS = ["//abi3/...", "//violation/...", "//abi3:installed_test"]
INSTALLED_VERSIONS = ["3.10", "3.11", "3.12"]

_VIOLATION_C = r"""
#include <Python.h>

/* Hidden by Py_LIMITED_API=0x03090000, so declared by hand: the symbols are
 * still in libpython, and the link does not care. */
extern PyObject **_PyObject_GetDictPtr(PyObject *);
extern const char *PyUnicode_AsUTF8AndSize(PyObject *, Py_ssize_t *);

static PyObject *probe(PyObject *self, PyObject *arg) {
  Py_ssize_t size;
  if (_PyObject_GetDictPtr(arg) == NULL && PyUnicode_AsUTF8AndSize(arg, &size) == NULL) return NULL;
  return PyLong_FromSsize_t(size);
}

static PyMethodDef methods[] = {{"probe", probe, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bad", NULL, -1, methods};
PyMODINIT_FUNC PyInit__bad(void) { return PyModule_Create(&module); }
"""

_VIOLATION_BUILD = """
load(
    "@rules_ml_wheels//python_wheel:defs.bzl",
    "py_limited_api_defines",
    "python_wheel",
    "verify_manylinux_compliance_test",
    "wheel_platform_tag",
)

cc_binary(
    name = "violation/_bad.abi3.so",
    srcs = ["bad.c"],
    linkshared = True,
    linkstatic = True,
    local_defines = py_limited_api_defines("cp39"),
    deps = ["@python//:headers"],
)

python_wheel(
    name = "wheel",
    srcs = ["violation/_bad.abi3.so"],
    distribution = "violation",
    platform_tag = wheel_platform_tag(manylinux = "2_17"),
    py_limited_api = "cp39",
    strip_path_prefixes = ["violation"],
    version = "1.0",
)

verify_manylinux_compliance_test(
    name = "wheel_compliance_test",
    wheel = ":wheel",
    x86_64_compliance_tag = "manylinux_2_17",
)
"""


def _use_local_archives(workspace: Path) -> None:
    """Points the example's python_3_10/11/12 hubs at archives of the local pyenv CPythons.

    Offline, as a mirror would: each `(version, sha256, PBS + "...")` entry of
    WORKSPACE and MODULE.bazel gets a file:// URL and its sha256 (same
    `python/` prefix). Skips when one of the three is not installed.
    """
    installations = _pyenv_installations()
    missing = [v for v in INSTALLED_VERSIONS if v not in installations]
    if missing:
        pytest.skip(f"needs CPython {', '.join(missing)} under pyenv ($PYENV_ROOT/versions)")
    for name in ["WORKSPACE", "MODULE.bazel"]:
        path = workspace / name
        text = path.read_text()
        for version in INSTALLED_VERSIONS:
            archive = make_python_archive(version, installations[version], _cache_dir())
            text, count = re.subn(
                r'(\(\s*"' + re.escape(version) + r'",\s*)"[0-9a-f]{64}",(\s*)'
                r'(?:_?PBS \+ "[^"]+"|"file://[^"]+"),',
                lambda m, a=archive: f'{m.group(1)}"{a.sha256}",{m.group(2)}"{a.url}",',
                text,
            )
            assert count == 1, (name, version)
        path.write_text(text)


def _add_violation(workspace: Path) -> None:
    violation = workspace / "violation"
    violation.mkdir(exist_ok=True)
    (violation / "bad.c").write_text(_VIOLATION_C)
    (violation / "BUILD.bazel").write_text(_VIOLATION_BUILD)


@pytest.fixture(scope="module")
def built(make_bazel):
    bazel = make_bazel(EXAMPLES / "c_extension", "abi3", copy_as="abi3-c_extension")
    _use_local_archives(bazel.workspace)
    _add_violation(bazel.workspace)
    # The main hub's own default, named on the command line: the python_3_1X
    # hubs (repo_env_overrides = False) must not try to give "system".
    result = bazel.run(
        "test",
        *TARGETS,
        "--keep_going",
        "--symlink_prefix=/",
        "--repo_env=HERMETIC_PYTHON_VERSION=system",
        check=False,
    )
    yield bazel, result
    bazel.release()


def _check_verdicts(returncode: int, output: str, testlogs: Path) -> None:
    # 3: the build succeeded, some test failed.
    assert returncode == 3, output[-6000:]
    assert re.search(r"//abi3:wheel_compliance_test\s+PASSED", output), output[-4000:]
    assert re.search(r"//violation:wheel_compliance_test\s+FAILED", output), output[-4000:]
    good = (testlogs / "abi3" / "wheel_compliance_test" / "test.log").read_text()
    assert (
        "PASS: fastmath-0.3.0.dev0+selfbuilt-cp310-abi3-manylinux_2_17_x86_64.whl is abi3 for "
        "CPython 3.10 and newer (cp310-abi3)"
    ) in good
    # installed_wheel_test: pip-installed into a venv of each hermetic Python,
    # run from an empty directory (installed_test.py asserts it imports the
    # site-packages copy, not the sources or runfiles).
    assert re.search(r"//abi3:installed_test\s+PASSED", output), output[-4000:]
    installed = (testlogs / "abi3" / "installed_test" / "test.log").read_text()
    for version in INSTALLED_VERSIONS:
        assert re.search(
            r"ok: fastmath \S+/site-packages/fastmath/_native\.abi3\.so on Python "
            + re.escape(version)
            + r"\.\d+",
            installed,
        ), installed
    bad = (testlogs / "violation" / "wheel_compliance_test" / "test.log").read_text()
    assert "FAIL: violation-1.0-cp39-abi3-manylinux_2_17_x86_64.whl is tagged abi3" in bad, bad
    assert (
        "violation/_bad.abi3.so imports _PyObject_GetDictPtr from libpython, which is not in "
        "the limited API"
    ) in bad, bad
    assert (
        "violation/_bad.abi3.so imports PyUnicode_AsUTF8AndSize (3.10) from libpython, newer "
        "in the limited API than CPython 3.9"
    ) in bad, bad


def test_abi3_wheel_passes_and_violation_fails_naming_symbols(built):
    bazel, result = built
    testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
    _check_verdicts(result.returncode, result.stdout + result.stderr, testlogs)


def test_a_fixed_hub_needs_its_default_version(built):
    """repo_env_overrides = False without default_version: the WORKSPACE fails, naming the hub."""
    bazel, _ = built
    workspace_file = bazel.workspace / "WORKSPACE"
    original = workspace_file.read_text()
    workspace_file.write_text(
        original + '\nhermetic_python(name = "python_fixed", register = False, '
        'repo_env_overrides = False, versions = {"3.12": {"interpreter": "python3"}})\n'
    )
    try:
        result = bazel.run("query", "//abi3:wheel", check=False)
    finally:
        workspace_file.write_text(original)
    assert result.returncode != 0
    assert (
        'hermetic_python(name = "python_fixed"): repo_env_overrides = False needs a '
        "default_version: HERMETIC_PYTHON_VERSION does not choose for this hub"
    ) in result.stderr, result.stderr[-3000:]


def test_bazel7_bzlmod_abi3_wheel_passes_and_violation_fails(tmp_path_factory):
    """The same command on Bazel 7.7.1 with bzlmod (forky root, its python3)."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("abi3_bazel7")
    workspace = copy_workspace(EXAMPLES / "c_extension", workdir / "ws", bzlmod=True)
    _use_local_archives(workspace)
    _add_violation(workspace)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = "--nosandbox_debug --enable_bzlmod --symlink_prefix=/"
    script = "\n".join(
        [
            f"cd {workspace}",
            f"{bazel} test {flags} --keep_going {' '.join(TARGETS)} >bazel.log 2>&1",
            "echo $? >rc.txt",
            f"{bazel} info {flags} bazel-testlogs >testlogs.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    )
    (workdir / "run.sh").write_text(script + "\n")
    subprocess.run(
        [
            *(str(FORKY), "run", "--bind", str(workdir)),
            *("--bind", str(_cache_dir()), "--", "bash", str(workdir / "run.sh")),
        ],
        check=True,
        timeout=1200,
    )
    _check_verdicts(
        int((workspace / "rc.txt").read_text()),
        (workspace / "bazel.log").read_text(),
        Path((workspace / "testlogs.txt").read_text().strip()),
    )
    remove_tree(workdir)


@pytest.fixture(scope="module")
def abi3_wheel(built) -> Path:
    bazel, _ = built
    (wheel,) = (bazel.bin_dir() / "abi3").glob("fastmath-*-cp310-abi3-manylinux_2_17_x86_64.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "fastmath/_native.abi3.so" in names, names
    assert not [n for n in names if ".cpython-" in n], names
    return wheel


def test_pip_refuses_the_abi3_wheel_on_cpython_3_9(abi3_wheel, tmp_path):
    """The cp310-abi3 tag keeps 3.9 out (3.10 to 3.12: //abi3:installed_test above)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    old = sorted(pyenv.glob("3.9.*/bin/python3.9"))
    if not old:
        pytest.skip(f"needs a CPython 3.9 under {pyenv}")
    venv = tmp_path / "3.9"
    subprocess.run([str(old[-1]), "-m", "venv", str(venv)], check=True)
    refused = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", str(abi3_wheel)],
        env={"PATH": "/usr/bin:/bin", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0, refused.stdout
    assert "is not a supported wheel on this platform" in refused.stdout + refused.stderr
