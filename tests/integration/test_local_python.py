"""local_python_toolchain's fetch errors, with real Bazel.

On the pure_python example the interpreter is looked up on the repository
rules' PATH (`--repo_env=PATH=...`): a PATH without python3, or with a python3
that fails, is not CPython or is too old, must fail the fetch with one
sentence naming the repository and what to do. Generated workspaces cover an
`interpreter` attribute naming no file, and a binary wheel with no
interpreter registered."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT
from .conftest import copy_workspace, host_path

pytestmark = pytest.mark.integration

WHO = 'local_python_toolchain(name = "python")'


@pytest.fixture(scope="module")
def bazel(make_bazel, tmp_path_factory):
    """A workspace whose interpreter is `local_python_toolchain(name = "python")`."""
    workspace = _workspace(tmp_path_factory.mktemp("local-python") / "ws", WHO)
    return make_bazel(workspace, "local-python-errors", copy_as="local-python")


def _rewriting_python3(directory: Path, sed_expression: str) -> Path:
    """A python3 that runs the real one and rewrites its introspection JSON
    (absolute paths: the wrapper's PATH holds only itself)."""
    real = shutil.which("python3", path="/usr/bin:/bin")
    sed = shutil.which("sed", path="/usr/bin:/bin")
    return _python3_wrapper(directory, f"{real} \"$@\" | {sed} '{sed_expression}'")


def _python3_wrapper(directory: Path, body: str) -> Path:
    """A directory whose python3 is a shell script wrapping the real one."""
    directory.mkdir()
    script = directory / "python3"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return directory


def _fetch_error(bazel, path: Path | str) -> str:
    result = bazel.run("build", "//:wheel", f"--repo_env=PATH={path}", check=False)
    assert result.returncode != 0, result.stderr[-3000:]
    return result.stderr


def test_no_python3_on_path(bazel, tmp_path):
    stderr = _fetch_error(bazel, tmp_path / "empty")
    assert (
        f'{WHO}: "python3" is not on PATH; install Python 3 (e.g. `apt-get install python3-dev`) '
        "or set `interpreter` to an absolute path"
    ) in stderr, stderr[-3000:]


def test_python3_that_fails(bazel, tmp_path):
    path = _python3_wrapper(tmp_path / "failing", 'echo "broken interpreter" >&2; exit 3')
    stderr = _fetch_error(bazel, path)
    assert f"{WHO}: running {path / 'python3'} failed (exit 3): broken interpreter" in stderr, (
        stderr[-3000:]
    )


def test_python3_that_is_not_cpython(bazel, tmp_path):
    path = _rewriting_python3(
        tmp_path / "pypy", 's/"implementation": "cpython"/"implementation": "pypy"/'
    )
    stderr = _fetch_error(bazel, path)
    assert f"{WHO}: " in stderr and " is pypy; only CPython is supported" in stderr, stderr[-3000:]


def test_python3_older_than_3_10(bazel, tmp_path):
    path = _rewriting_python3(tmp_path / "old", 's/"version": "3\\.[0-9]*"/"version": "3.9"/')
    stderr = _fetch_error(bazel, path)
    assert (
        " is Python 3.9; rules_ml_wheels' helpers need CPython 3.10 or newer "
        "(their pinned packaging/setuptools do)"
    ) in stderr, stderr[-3000:]
    assert f"{WHO}: " in stderr


def _workspace(root: Path, interpreter_setup: str) -> Path:
    """A minimal workspace with one binary python_wheel and the given set-up."""
    root.mkdir()
    (root / "WORKSPACE").write_text(
        'workspace(name = "local_python_errors")\n'
        'local_repository(name = "rules_ml_wheels", path = "/replaced/by/override")\n'
        'load("@rules_ml_wheels//python_wheel:repositories.bzl", '
        '"local_python_toolchain", "rules_ml_wheels_dependencies")\n'
        f"{interpreter_setup}\n"
        "rules_ml_wheels_dependencies()\n"
    )
    (root / "BUILD.bazel").write_text(
        'load("@rules_ml_wheels//python_wheel:defs.bzl", "python_wheel")\n'
        "python_wheel(\n"
        '    name = "wheel",\n'
        '    distribution = "native_pkg",\n'
        '    version = "1.0",\n'
        '    platform_tag = "manylinux_2_17_x86_64",\n'
        '    srcs = ["mod.py"],\n'
        ")\n"
    )
    (root / "mod.py").write_text("X = 1\n")
    return root


def test_interpreter_attribute_that_does_not_exist(make_bazel, tmp_path):
    missing = tmp_path / "no" / "python3"
    workspace = _workspace(
        tmp_path / "ws",
        f'local_python_toolchain(name = "python", interpreter = "{missing}")',
    )
    bazel = make_bazel(workspace, "local-python-missing", copy_as="local-python-missing")
    result = bazel.run("build", "//:wheel", check=False)
    assert result.returncode != 0
    assert (
        f'{WHO}: interpreter "{missing}" does not exist; set `interpreter` to the absolute path '
        "of a python3 binary"
    ) in result.stderr, result.stderr[-3000:]
    bazel.shutdown()


def test_binary_wheel_without_an_interpreter_or_tags(make_bazel, tmp_path):
    """No interpreter registered: the fallback tags toolchain cannot derive
    cpXY tags, and the error says what to set or register."""
    workspace = _workspace(tmp_path / "ws", "# no interpreter registered")
    bazel = make_bazel(workspace, "local-python-none", copy_as="local-python-none")
    result = bazel.run("build", "//:wheel", check=False)
    assert result.returncode != 0
    assert (
        '//:wheel: platform_tag is "manylinux_2_17_x86_64" but python_tag/abi_tag are not set '
        "and the python tags toolchain (no interpreter registered) cannot derive them. "
        'Set python_tag and abi_tag (e.g. "cp311"), or register an interpreter'
    ) in result.stderr, result.stderr[-3000:]
    bazel.shutdown()


# --- tests see only what Bazel gives them ----------------------------------------

HOST_SITE = REPO_ROOT / "tests" / "fixtures" / "host_site"

# What the fixture's interpreter repositories become with each flag.
ISOLATED = {"local": [], "hermetic": ["--extra_toolchains=@hermetic//:toolchain"]}
SITE_VISIBLE = {
    "local": ["--extra_toolchains=@python_site//:toolchain"],
    "hermetic": ["--extra_toolchains=@hermetic_site//:toolchain"],
}


@dataclass(frozen=True)
class Installation:
    """A CPython installation of its own, made from the host's python3."""

    bin_dir: Path
    python3: Path
    site_packages: Path


def _host_python() -> dict:
    """The real binary, prefix and stdlib of the machine's python3 (not the test venv)."""
    python3 = shutil.which("python3", path=host_path())
    assert python3, "python3 is not on PATH"
    script = (
        "import json, os, sys, sysconfig; print(json.dumps({"
        "'binary': os.path.realpath(sys._base_executable), 'prefix': sys.base_prefix, "
        "'stdlib': sysconfig.get_paths()['stdlib'], 'include': sysconfig.get_paths()['include'], "
        "'version': '%d.%d' % sys.version_info[:2]}))"
    )
    out = subprocess.run([python3, "-I", "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _installation(root: Path, headers: bool) -> Installation:
    """A copy of the host's CPython that the machine's Python never sees.

    The binary is copied and the standard library linked entry by entry, so
    the copy has a prefix, and a site-packages, of its own (left empty
    here); its include/ is linked only with `headers`. Nothing of the
    machine's Python installation is changed.
    """
    host = _host_python()
    prefix = Path(host["prefix"])
    stdlib = Path(host["stdlib"])
    (root / "bin").mkdir(parents=True)
    python = root / "bin" / f"python{host['version']}"
    shutil.copy2(host["binary"], python)
    (root / "bin" / "python3").symlink_to(python.name)
    copy_stdlib = root / stdlib.relative_to(prefix)
    copy_stdlib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages"):
            (copy_stdlib / entry.name).symlink_to(entry)
    for entry in (prefix / "lib").iterdir():
        if not (root / "lib" / entry.name).exists():
            (root / "lib" / entry.name).symlink_to(entry)
    include = Path(host["include"])
    if headers:
        (root / include.relative_to(prefix)).parent.mkdir(parents=True)
        (root / include.relative_to(prefix)).symlink_to(include)
    out = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site_packages = Path(out.stdout.strip())
    assert site_packages.is_relative_to(root), site_packages
    return Installation(root / "bin", python, site_packages)


def _install(site_packages: Path, name: str, where: str) -> None:
    """Installs the one-module distribution `name` (what pip would leave) into a site dir."""
    (site_packages / name).mkdir(parents=True)
    (site_packages / name / "__init__.py").write_text(f"WHERE = {where!r}\n")
    dist_info = site_packages / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-1.0.dist-info/METADATA,,\n")


@pytest.fixture(scope="module")
def host_site(tmp_path_factory):
    """The host_site fixture, an interpreter with `hostsite_pkg` in its
    site-packages, and a user base with `usersite_pkg` in its user site."""
    root = tmp_path_factory.mktemp("host-site")
    installation = _installation(root / "python", headers=True)
    _install(installation.site_packages, "hostsite_pkg", "site-packages")
    user_base = root / "userbase"
    version = installation.python3.name[len("python") :]
    _install(user_base / "lib" / f"python{version}" / "site-packages", "usersite_pkg", "user site")
    return installation, user_base


@pytest.fixture(scope="module")
def host_site_bazel(make_bazel):
    return make_bazel(HOST_SITE, "host-site", copy_as="host-site")


def _host_site_flags(installation: Installation, user_base: Path) -> list[str]:
    return [
        f"--repo_env=PATH={installation.bin_dir}:/usr/bin:/bin",
        f"--test_env=PYTHONUSERBASE={user_base}",
    ]


@pytest.mark.parametrize("repository", ["local", "hermetic"])
def test_tests_do_not_see_the_interpreters_site_packages(host_site, host_site_bazel, repository):
    """By default a py_test imports neither the installation's site-packages
    nor the user site, only the standard library and its Bazel deps."""
    installation, user_base = host_site
    flags = [*_host_site_flags(installation, user_base), *ISOLATED[repository]]
    result = host_site_bazel.run(
        "test", "//:site_test", "//:user_site_test", "//:stdlib_test", *flags, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-6000:]
    assert "//:stdlib_test" in output and "PASSED" in output, output[-6000:]
    assert "ModuleNotFoundError: No module named 'hostsite_pkg'" in output, output[-6000:]
    assert "ModuleNotFoundError: No module named 'usersite_pkg'" in output, output[-6000:]


@pytest.mark.parametrize("repository", ["local", "hermetic"])
def test_allow_site_packages_keeps_them_visible(host_site, host_site_bazel, repository):
    installation, user_base = host_site
    flags = [*_host_site_flags(installation, user_base), *SITE_VISIBLE[repository]]
    host_site_bazel.run("test", "//:site_test", "//:user_site_test", "//:stdlib_test", *flags)


def test_ext_suffix_bzl(host_site, host_site_bazel):
    """@python//:ext_suffix.bzl holds the suffixes CPython itself reports."""
    installation, user_base = host_site
    flags = _host_site_flags(installation, user_base)
    host_site_bazel.run("build", "//:suffixes", *flags)
    out = subprocess.run(
        [
            str(installation.python3),
            "-c",
            "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    ext_suffix = out.stdout.strip()
    version = installation.python3.name[len("python") :].replace(".", "")
    assert ext_suffix == f".cpython-{version}-x86_64-linux-gnu.so"
    written = (host_site_bazel.bin_dir(*flags) / "suffixes.txt").read_text().split()
    assert written == [ext_suffix, ".abi3.so", ext_suffix, ".abi3.so"]


def test_extension_wheel_builds_on_the_isolated_interpreter(host_site, host_site_bazel):
    """The helpers (pack_wheel) run on the isolated interpreter; the
    extension is named with EXT_SUFFIX."""
    installation, user_base = host_site
    flags = _host_site_flags(installation, user_base)
    host_site_bazel.run("build", "//ext:wheel", *flags)
    version = installation.python3.name[len("python") :].replace(".", "")
    wheel = (
        host_site_bazel.bin_dir(*flags)
        / "ext"
        / (f"hostsite_ext-1.0-cp{version}-cp{version}-linux_x86_64.whl")
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert f"hostsite_ext/_x.cpython-{version}-x86_64-linux-gnu.so" in names, names


def test_interpreter_without_headers(host_site_bazel, tmp_path):
    """No Python.h: the extension's build fails at analysis naming the
    interpreter and the package to install, before gcc runs."""
    installation = _installation(tmp_path / "python", headers=False)
    version = installation.python3.name[len("python") :]
    result = host_site_bazel.run(
        "build",
        "//ext:wheel",
        f"--repo_env=PATH={installation.bin_dir}:/usr/bin:/bin",
        check=False,
    )
    assert result.returncode != 0
    include = installation.bin_dir.parent / "include" / f"python{version}"
    assert (f"{WHO}: the interpreter {installation.python3} (Python {version}.") in result.stderr, (
        result.stderr[-3000:]
    )
    assert (
        f"has no C headers ({include}/Python.h does not exist), so C extensions cannot be "
        "compiled for it. Install its development headers (for a distribution's Python "
        f"`apt-get install python{version}-dev` (Debian/Ubuntu); for a pyenv or source build, "
        "reinstall it, its include/ directory is missing), or set `interpreter` to a Python "
        "that has them."
    ) in result.stderr, result.stderr[-3000:]
    assert "Python.h: No such file" not in result.stderr


# --- examples/testing: pytest from pinned wheels, not from site-packages ---------


def _pinned_wheelhouse(directory: Path) -> Path:
    """The example's locked wheels, fetched by pip (hashes required), as a
    --distdir: what an air-gapped machine would mirror."""
    lock = EXAMPLES / "testing" / "requirements_lock.txt"
    subprocess.run(
        [
            *(shutil.which("python3", path=host_path()), "-m", "pip", "download", "-q"),
            *("--no-deps", "--require-hashes", "--only-binary=:all:", "--python-version=3.10"),
            *("-d", str(directory), "-r", str(lock)),
        ],
        check=True,
    )
    return directory


@pytest.mark.parametrize("variant", ["sources", "wheel"])
def test_testing_example_runs_pytest_from_pinned_wheels(make_bazel, tmp_path_factory, variant):
    """`bazel test //...` of examples/testing: the pytest file passes against
    the sources and against the wheel, with pytest unpacked from its pinned
    wheels (no repository cache: every wheel must come from the distdir)."""
    root = tmp_path_factory.getbasetemp() / "testing-wheelhouse"
    distdir = root if root.exists() else _pinned_wheelhouse(root)
    bazel = make_bazel(EXAMPLES / "testing", "testing-example", copy_as="testing")
    flags = [f"--distdir={distdir}", "--repository_cache=", "--symlink_prefix=/"]
    if variant == "wheel":
        flags.append("--@rules_ml_wheels//python_wheel:wheel_dependency=true")
    bazel.run("test", "//...", *flags)
    testlogs = Path(bazel.run("info", *flags, "bazel-testlogs").stdout.strip())
    log = (testlogs / "tests" / "calc_test" / "test.log").read_text()
    assert "4 passed" in log, log


# --- the Bazel 7.7.1 lane (bzlmod, Debian forky root) ---------------------------

FORKY = REPO_ROOT / "scripts" / "forky.sh"

# name -> (workspace, bazel arguments); each step's exit status and output are kept.
BAZEL7_HOST_SITE_STEPS = {
    "isolated-local": ["test", "//:site_test", "//:user_site_test", "//:stdlib_test"],
    "isolated-hermetic": [
        "test",
        "//:site_test",
        "//:user_site_test",
        "//:stdlib_test",
        "--extra_toolchains=@hermetic//:toolchain",
    ],
    "visible-local": [
        "test",
        "//:site_test",
        "//:user_site_test",
        "//:stdlib_test",
        "--extra_toolchains=@python_site//:toolchain",
    ],
    "visible-hermetic": [
        "test",
        "//:site_test",
        "//:user_site_test",
        "//:stdlib_test",
        "--extra_toolchains=@hermetic_site//:toolchain",
    ],
    "suffixes": ["build", "//:suffixes"],
    "extension": ["build", "//ext:wheel"],
}


@pytest.fixture(scope="module")
def bazel7_steps(host_site, tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """Bazel 7.7.1 with bzlmod, in one forky namespace: the host_site fixture
    (steps above) and examples/testing against its sources and its wheel."""
    installation, user_base = host_site
    host_prefix = Path(_host_python()["prefix"])
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("bazel7-host-site")
    distdir = _pinned_wheelhouse(workdir / "wheelhouse")
    bazel = f"bazel --output_user_root={shlex.quote(str(workdir / 'output_root'))}"
    common = "--nosandbox_debug --test_output=errors --enable_bzlmod --symlink_prefix=/"
    steps: dict[str, tuple[Path, list[str]]] = {}
    host_site_flags = _host_site_flags(installation, user_base)
    for name, args in BAZEL7_HOST_SITE_STEPS.items():
        steps[name] = (workdir / "host_site", [*args, *host_site_flags])
    testing_flags = [f"--distdir={distdir}", "--repository_cache="]
    steps["testing-sources"] = (workdir / "testing", ["test", "//...", *testing_flags])
    steps["testing-wheel"] = (
        workdir / "testing",
        ["test", "//...", *testing_flags, "--@rules_ml_wheels//python_wheel:wheel_dependency=true"],
    )
    copy_workspace(HOST_SITE, workdir / "host_site", bzlmod=True)
    copy_workspace(EXAMPLES / "testing", workdir / "testing", bzlmod=True)
    lines = []
    for name, (workspace, args) in steps.items():
        command, *rest = args
        quoted = " ".join(shlex.quote(a) for a in rest)
        log = workdir / f"{name}.log"
        lines += [
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} {command} {common} {quoted} >{log} 2>&1; echo $? >{log}.rc",
        ]
    for workspace in {workspace for workspace, _ in steps.values()}:
        lines += [
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} info --enable_bzlmod {' '.join(host_site_flags)} bazel-bin"
            " >bazel-bin.txt 2>/dev/null",
            f"{bazel} info --enable_bzlmod bazel-testlogs >bazel-testlogs.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    (workdir / "run.sh").write_text("\n".join(lines) + "\n")
    binds = [workdir, installation.bin_dir.parent, user_base, host_prefix]
    result = subprocess.run(
        [
            str(FORKY),
            "run",
            *(x for b in binds for x in ("--bind", str(b))),
            "--",
            "bash",
            str(workdir / "run.sh"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return {
        name: (
            int((workdir / f"{name}.log.rc").read_text()),
            (workdir / f"{name}.log").read_text(),
            workspace,
        )
        for name, (workspace, _) in steps.items()
    }


@pytest.mark.parametrize("repository", ["local", "hermetic"])
def test_bazel7_tests_do_not_see_site_packages(bazel7_steps, repository):
    returncode, output, _ = bazel7_steps[f"isolated-{repository}"]
    assert returncode == 3, output[-6000:]
    assert "ModuleNotFoundError: No module named 'hostsite_pkg'" in output, output[-6000:]
    assert "ModuleNotFoundError: No module named 'usersite_pkg'" in output, output[-6000:]
    assert "//:stdlib_test" in output and "PASSED" in output, output[-6000:]
    returncode, output, _ = bazel7_steps[f"visible-{repository}"]
    assert returncode == 0, output[-6000:]


def test_bazel7_ext_suffix_and_extension_wheel(bazel7_steps, host_site):
    installation, _ = host_site
    version = installation.python3.name[len("python") :].replace(".", "")
    ext_suffix = f".cpython-{version}-x86_64-linux-gnu.so"
    for step in ("suffixes", "extension"):
        returncode, output, _ = bazel7_steps[step]
        assert returncode == 0, output[-6000:]
    workspace = bazel7_steps["suffixes"][2]
    bin_dir = Path((workspace / "bazel-bin.txt").read_text().strip())
    assert (bin_dir / "suffixes.txt").read_text().split() == [ext_suffix, ".abi3.so"] * 2
    wheel = bin_dir / "ext" / f"hostsite_ext-1.0-cp{version}-cp{version}-linux_x86_64.whl"
    with zipfile.ZipFile(wheel) as archive:
        assert f"hostsite_ext/_x{ext_suffix}" in archive.namelist()


@pytest.mark.parametrize("variant", ["sources", "wheel"])
def test_bazel7_testing_example_runs_pytest(bazel7_steps, variant):
    returncode, output, _ = bazel7_steps[f"testing-{variant}"]
    assert returncode == 0, output[-6000:]
    assert "//tests:calc_test" in output and "PASSED" in output, output[-6000:]
